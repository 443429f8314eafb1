/* NFSv3 end to end: a real mcfs-gateway process on a real redis-server and
 * bucket, driven by a real NFS client (libnfs). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/time.h> /* before libnfs.h, which uses struct timeval */
#include <nfsc/libnfs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "cunit_main.h"
#include "fixture.h"
#include "gateway.h"
#include "nfs_mount.h"

static struct fixture fx;
static struct gateway_proc gw;
static char *logdir;

static const char *const gw_args[] = {
    "--export", "/:rw,no_root_squash", "--export", "/ro:ro,no_root_squash",
    "--export", "/sq:rw,root_squash",  "--export", "/priv:rw,clients=10.9.9.9",
    NULL};

static int setup(void)
{
	logdir = test_tmpdir("nfs3-logs");
	if (!logdir || fixture_start(&fx, false, 1u << 20) < 0)
		return -1;
	/* the export roots exist before the gateway starts */
	struct mcfs_attr a;
	const char *dirs[] = {"ro", "sq", "priv"};
	for (int i = 0; i < 3; i++)
		if (vfs_mkdir(fx.vfs, &ROOT_CRED, MCFS_ROOT_INO, dirs[i], 0777, &a, NULL) < 0)
			return -1;
	struct vfs_setattr sa = {.mask = VFS_SET_MODE, .mode = 0777};
	if (vfs_lookup(fx.vfs, &ROOT_CRED, MCFS_ROOT_INO, "sq", &a) < 0 ||
	    vfs_setattr(fx.vfs, &ROOT_CRED, a.ino, &sa, &a) < 0)
		return -1;
	if (gateway_start(&gw, fx.redis.url, logdir, gw_args) < 0) {
		fprintf(stderr, "cannot start mcfs-gateway (log in %s)\n", logdir);
		return -1;
	}
	return 0;
}

static int teardown(void)
{
	int st = gateway_stop(&gw);
	if (st != 0)
		fprintf(stderr, "mcfs-gateway exited with %d (log in %s)\n", st, gw.log_path);
	fixture_stop(&fx);
	if (st == 0 && logdir)
		rm_rf(logdir);
	free(logdir);
	return 0;
}

static struct nfs_context *mount_at(const char *path)
{
	char url[256];
	gateway_url(&gw, path, url, sizeof(url));
	return nfs_mount_url(url);
}

static int put_file(struct nfs_context *nfs, const char *path, uint64_t seed, uint64_t size,
		    size_t chunk)
{
	struct nfsfh *fh;
	int r = nfs_creat(nfs, path, 0644, &fh);
	if (r < 0)
		return r;
	uint8_t *buf = malloc(chunk);
	for (uint64_t off = 0; off < size && r >= 0; off += chunk) {
		size_t n = size - off < chunk ? (size_t)(size - off) : chunk;
		pattern_fill(seed, off, buf, n);
		r = nfs_pwrite(nfs, fh, off, n, buf);
		if (r >= 0 && (size_t)r != n)
			r = -EIO;
	}
	free(buf);
	if (r >= 0)
		r = nfs_fsync(nfs, fh);
	int c = nfs_close(nfs, fh);
	return r < 0 ? r : c;
}

/* Reads the file back and returns the number of mismatching chunks (-errno on error). */
static long check_file(struct nfs_context *nfs, const char *path, uint64_t seed, uint64_t size,
		       size_t chunk)
{
	struct nfsfh *fh;
	int r = nfs_open(nfs, path, O_RDONLY, &fh);
	if (r < 0)
		return r;
	uint8_t *buf = malloc(chunk);
	long bad = 0;
	for (uint64_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? (size_t)(size - off) : chunk;
		r = nfs_pread(nfs, fh, off, n, buf);
		if (r != (int)n || pattern_check(seed, off, buf, n) >= 0)
			bad++;
	}
	/* and nothing past the end */
	if (nfs_pread(nfs, fh, size, chunk, buf) != 0)
		bad++;
	free(buf);
	nfs_close(nfs, fh);
	return bad;
}

static void test_namespace(void)
{
	struct nfs_context *nfs = mount_at("/");
	CU_ASSERT_PTR_NOT_NULL_FATAL(nfs);
	CU_ASSERT_EQUAL(nfs_mkdir(nfs, "/ns"), 0);
	CU_ASSERT_EQUAL(nfs_mkdir(nfs, "/ns"), -EEXIST);
	CU_ASSERT_EQUAL(put_file(nfs, "/ns/a", 1, 10000, 4096), 0);
	struct nfs_stat_64 st;
	CU_ASSERT_EQUAL(nfs_stat64(nfs, "/ns/a", &st), 0);
	CU_ASSERT_EQUAL(st.nfs_size, 10000);
	CU_ASSERT_EQUAL(st.nfs_mode & 07777, 0644);
	CU_ASSERT(S_ISREG(st.nfs_mode));
	CU_ASSERT_EQUAL(check_file(nfs, "/ns/a", 1, 10000, 3000), 0);
	CU_ASSERT_EQUAL(nfs_rename(nfs, "/ns/a", "/ns/b"), 0);
	CU_ASSERT_EQUAL(nfs_stat64(nfs, "/ns/a", &st), -ENOENT);
	CU_ASSERT_EQUAL(nfs_link(nfs, "/ns/b", "/ns/c"), 0);
	CU_ASSERT_EQUAL(nfs_stat64(nfs, "/ns/c", &st), 0);
	CU_ASSERT_EQUAL(st.nfs_nlink, 2);
	CU_ASSERT_EQUAL(nfs_symlink(nfs, "b", "/ns/s"), 0);
	char target[64] = "";
	CU_ASSERT_EQUAL(nfs_readlink(nfs, "/ns/s", target, sizeof(target)), 0);
	CU_ASSERT_STRING_EQUAL(target, "b");
	CU_ASSERT_EQUAL(nfs_chmod(nfs, "/ns/b", 0600), 0);
	CU_ASSERT_EQUAL(nfs_chown(nfs, "/ns/b", 1234, 5678), 0);
	CU_ASSERT_EQUAL(nfs_stat64(nfs, "/ns/c", &st), 0);
	CU_ASSERT_EQUAL(st.nfs_mode & 07777, 0600);
	CU_ASSERT_EQUAL(st.nfs_uid, 1234);
	CU_ASSERT_EQUAL(st.nfs_gid, 5678);
	CU_ASSERT_EQUAL(nfs_truncate(nfs, "/ns/b", 100), 0);
	CU_ASSERT_EQUAL(nfs_stat64(nfs, "/ns/b", &st), 0);
	CU_ASSERT_EQUAL(st.nfs_size, 100);
	CU_ASSERT_EQUAL(check_file(nfs, "/ns/b", 1, 100, 100), 0);
	struct timeval tv[2] = {{1000000000, 0}, {1200000000, 0}};
	CU_ASSERT_EQUAL(nfs_utimes(nfs, "/ns/b", tv), 0);
	CU_ASSERT_EQUAL(nfs_stat64(nfs, "/ns/b", &st), 0);
	CU_ASSERT_EQUAL(st.nfs_mtime, 1200000000);
	CU_ASSERT_EQUAL(nfs_mknod(nfs, "/ns/fifo", S_IFIFO | 0600, 0), 0);
	CU_ASSERT_EQUAL(nfs_stat64(nfs, "/ns/fifo", &st), 0);
	CU_ASSERT(S_ISFIFO(st.nfs_mode));
	CU_ASSERT_EQUAL(nfs_access(nfs, "/ns/b", R_OK | W_OK), 0);
	struct nfs_statvfs_64 sv;
	CU_ASSERT_EQUAL(nfs_statvfs64(nfs, "/", &sv), 0);
	CU_ASSERT(sv.f_blocks > 0);
	CU_ASSERT_EQUAL(nfs_rmdir(nfs, "/ns"), -ENOTEMPTY);
	CU_ASSERT_EQUAL(nfs_unlink(nfs, "/ns/nope"), -ENOENT);
	const char *names[] = {"/ns/b", "/ns/c", "/ns/s", "/ns/fifo"};
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(nfs_unlink(nfs, names[i]), 0);
	CU_ASSERT_EQUAL(nfs_rmdir(nfs, "/ns"), 0);
	nfs_destroy_context(nfs);
}

static void test_big_file(void)
{
	const char *env = getenv("MCFS_NFS_BIG_MB");
	uint64_t size = (uint64_t)(env ? atoi(env) : 1024) << 20; /* 1 GiB: 16 chunks */
	size += 12345;						  /* not a multiple of anything */
	struct nfs_context *nfs = mount_at("/");
	CU_ASSERT_PTR_NOT_NULL_FATAL(nfs);
	long long t0 = now_ms();
	CU_ASSERT_EQUAL(put_file(nfs, "/big", 42, size, 1 << 20), 0);
	long long t1 = now_ms();
	CU_ASSERT_EQUAL(check_file(nfs, "/big", 42, size, 1 << 20), 0);
	long long t2 = now_ms();
	fprintf(stderr, "  [%llu MiB: write %.0f MiB/s, read %.0f MiB/s]\n",
		(unsigned long long)(size >> 20),
		(double)(size >> 20) * 1000 / (double)(t1 - t0 + 1),
		(double)(size >> 20) * 1000 / (double)(t2 - t1 + 1));
	/* a second client sees the same bytes */
	struct nfs_context *other = mount_at("/");
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	CU_ASSERT_EQUAL(check_file(other, "/big", 42, size, 1 << 20), 0);
	nfs_destroy_context(other);
	CU_ASSERT_EQUAL(nfs_unlink(nfs, "/big"), 0);
	nfs_destroy_context(nfs);
}

static void test_many_small_files(void)
{
	struct nfs_context *nfs = mount_at("/");
	CU_ASSERT_PTR_NOT_NULL_FATAL(nfs);
	CU_ASSERT_EQUAL(nfs_mkdir(nfs, "/small"), 0);
	char path[64];
	int failed = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(path, sizeof(path), "/small/f%04d", i);
		if (put_file(nfs, path, (uint64_t)i, 4096, 4096) != 0)
			failed++;
	}
	CU_ASSERT_EQUAL(failed, 0);
	struct nfsdir *d;
	CU_ASSERT_EQUAL_FATAL(nfs_opendir(nfs, "/small", &d), 0);
	int n = 0;
	for (struct nfsdirent *e; (e = nfs_readdir(nfs, d));)
		if (e->name[0] != '.')
			n++;
	nfs_closedir(nfs, d);
	CU_ASSERT_EQUAL(n, 1000);
	for (int i = 0; i < 1000; i += 97) {
		snprintf(path, sizeof(path), "/small/f%04d", i);
		CU_ASSERT_EQUAL(check_file(nfs, path, (uint64_t)i, 4096, 4096), 0);
	}
	nfs_destroy_context(nfs);
}

static void test_big_directory(void)
{
	struct nfs_context *nfs = mount_at("/");
	CU_ASSERT_PTR_NOT_NULL_FATAL(nfs);
	CU_ASSERT_EQUAL(nfs_mkdir(nfs, "/many"), 0);
	char path[64];
	const int N = 5000;
	for (int i = 0; i < N; i++) {
		struct nfsfh *fh;
		snprintf(path, sizeof(path), "/many/entry-with-a-longish-name-%05d", i);
		if (nfs_creat(nfs, path, 0644, &fh) == 0)
			nfs_close(nfs, fh);
	}
	struct nfsdir *d;
	CU_ASSERT_EQUAL_FATAL(nfs_opendir(nfs, "/many", &d), 0);
	int n = 0, dots = 0;
	char *seen = calloc(N, 1);
	for (struct nfsdirent *e; (e = nfs_readdir(nfs, d));) {
		int idx;
		if (e->name[0] == '.') {
			dots++;
			continue;
		}
		if (sscanf(e->name, "entry-with-a-longish-name-%d", &idx) == 1 && idx >= 0 &&
		    idx < N && !seen[idx]) {
			seen[idx] = 1;
			n++;
		}
	}
	nfs_closedir(nfs, d);
	free(seen);
	CU_ASSERT_EQUAL(n, N);
	CU_ASSERT_EQUAL(dots, 2);
	nfs_destroy_context(nfs);
}

static void test_export_rules(void)
{
	/* read-only export: reads work, writes are refused */
	struct nfs_context *ro = mount_at("/ro");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ro);
	struct nfsfh *fh;
	CU_ASSERT_EQUAL(nfs_creat(ro, "/x", 0644, &fh), -EROFS);
	CU_ASSERT_EQUAL(nfs_mkdir(ro, "/d"), -EROFS);
	struct nfs_stat_64 st;
	CU_ASSERT_EQUAL(nfs_stat64(ro, "/", &st), 0);
	nfs_destroy_context(ro);
	/* root is squashed to 65534 */
	struct nfs_context *sq = mount_at("/sq");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sq);
	CU_ASSERT_EQUAL(nfs_creat(sq, "/byroot", 0644, &fh), 0);
	nfs_close(sq, fh);
	CU_ASSERT_EQUAL(nfs_stat64(sq, "/byroot", &st), 0);
	CU_ASSERT_EQUAL(st.nfs_uid, 65534);
	CU_ASSERT_EQUAL(st.nfs_gid, 65534);
	nfs_destroy_context(sq);
	/* a client outside the allowed network cannot mount */
	struct nfs_context *priv = mount_at("/priv");
	CU_ASSERT_PTR_NULL(priv);
	if (priv)
		nfs_destroy_context(priv);
	/* and an export that does not exist */
	struct nfs_context *none = mount_at("/does-not-exist");
	CU_ASSERT_PTR_NULL(none);
	if (none)
		nfs_destroy_context(none);
}

/* READ data is read straight into the reply and padded there: every
 * length modulo four, at every alignment, and one megabyte plus a byte. */
static void test_unaligned_reads(void)
{
	struct nfs_context *nfs = mount_at("/");
	CU_ASSERT_PTR_NOT_NULL_FATAL(nfs);
	CU_ASSERT_EQUAL_FATAL(put_file(nfs, "/odd", 11, 103, 103), 0);
	for (size_t chunk = 1; chunk <= 5; chunk++)
		CU_ASSERT_EQUAL(check_file(nfs, "/odd", 11, 103, chunk), 0);
	CU_ASSERT_EQUAL_FATAL(put_file(nfs, "/odd-big", 12, (1 << 20) * 3 + 1, 1 << 20), 0);
	CU_ASSERT_EQUAL(check_file(nfs, "/odd-big", 12, (1 << 20) * 3 + 1, (1 << 20) - 1), 0);
	nfs_destroy_context(nfs);
}

/* Reads of whole blocks of the local bucket went out by sendfile from the
 * bucket's files (the byte-for-byte checks above covered their content):
 * the gateway counts them, and says so as it stops. */
static void test_reads_sent_from_files(void)
{
	struct nfs_context *nfs = mount_at("/");
	CU_ASSERT_PTR_NOT_NULL_FATAL(nfs);
	uint64_t size = (8u << 20) + 3;
	CU_ASSERT_EQUAL_FATAL(put_file(nfs, "/sent", 13, size, 1 << 20), 0);
	CU_ASSERT_EQUAL(check_file(nfs, "/sent", 13, size, 1 << 20), 0);
	nfs_destroy_context(nfs);
	CU_ASSERT_EQUAL_FATAL(gateway_stop(&gw), 0);
	/* Eight whole blocks and the three bytes past them, which are too few
	 * to be worth it, here and in the tests before. */
	CU_ASSERT(gateway_logged_count(&gw, "read data sent from files: ") >= 8);
	CU_ASSERT_EQUAL_FATAL(gateway_restart(&gw), 0);
}

/* Whether a thread of the gateway is named like one of its event loops. */
static bool loop_thread_named(void *arg)
{
	(void)arg;
	char path[300], comm[32];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)gw.proc.pid);
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool found = false;
	for (struct dirent *e; !found && (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)gw.proc.pid, e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		found = fgets(comm, sizeof(comm), f) && strncmp(comm, "mcfs-nfs/", 9) == 0;
		fclose(f);
	}
	closedir(d);
	return found;
}

/* The gateway's threads carry names (top -H, ps -L): its event loops among
 * them. Waited for: a gateway just restarted may answer on its port a
 * moment before its loops have named themselves. */
static void test_threads_named(void)
{
	CU_ASSERT(wait_until(loop_thread_named, NULL, 10000) == 0);
}

static void test_kill_after_commit_loses_nothing(void)
{
	struct nfs_context *nfs = mount_at("/");
	CU_ASSERT_PTR_NOT_NULL_FATAL(nfs);
	CU_ASSERT_EQUAL(put_file(nfs, "/durable", 7, 9 << 20, 1 << 20), 0); /* ends with COMMIT */
	nfs_destroy_context(nfs);
	gateway_kill(&gw);
	CU_ASSERT_EQUAL_FATAL(gateway_restart(&gw), 0);
	nfs = mount_at("/");
	CU_ASSERT_PTR_NOT_NULL_FATAL(nfs);
	CU_ASSERT_EQUAL(check_file(nfs, "/durable", 7, 9 << 20, 1 << 20), 0);
	nfs_destroy_context(nfs);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"namespace operations", test_namespace},
	    {"large file across chunks, byte for byte", test_big_file},
	    {"1000 small files", test_many_small_files},
	    {"directory of 5000 entries listed completely", test_big_directory},
	    {"export rules: ro, root_squash, clients", test_export_rules},
	    {"reads of every length and alignment", test_unaligned_reads},
	    {"whole-block reads sent from the bucket's files", test_reads_sent_from_files},
	    {"the gateway's threads are named", test_threads_named},
	    {"SIGKILL after COMMIT loses nothing", test_kill_after_commit_loses_nothing},
	    {NULL, NULL}};
	if (test_add_suite("NFSv3 through libnfs", setup, teardown, tests) < 0)
		return 1;
	return test_run_all();
}
