/*
 * Three regions on one machine, all real processes: a Redis primary (the
 * source region a), a Redis replica for the mirror region b, buckets
 * file:// (a, b) and s3rver (c, a shared region), a gateway per region and
 * a replicator per region. NFS traffic goes through libnfs; where a read
 * was served from is checked with an in-process vfs's counters.
 *
 * The tests run in order and build on each other: the volume grows, the
 * replicators are stopped, killed and restarted, s3rver is paused, and the
 * last test loses the source region and promotes the mirror.
 */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <nfsc/libnfs.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_run.h"
#include "cunit_main.h"
#include "fixture.h"
#include "gateway.h"
#include "objstore.h"
#include "proc.h"
#include "redis.h"
#include "s3rver.h"
#include "vfs.h"
#include "nfs_mount.h"

#define BLOCK		 (256 * 1024)
#define DELETION_DELAY_S 3

enum { RA, RB, RC, NREGIONS };
static const char *const names[NREGIONS] = {"a", "b", "c"};

static struct redis_server primary, replica_b;
static struct s3_server s3;
static char *tmp;
static char bucket_url[NREGIONS][600];
static struct objstore *bucket[NREGIONS];
static char conf[NREGIONS][600];
static struct gateway_proc gw[NREGIONS];
static struct proc repl[NREGIONS];
static bool s3_ok;
static char mcfs_bin[1024], repl_bin[1024];
static char out[65536];

static int run_mcfs(const char *const args[])
{
	char path[700];
	snprintf(path, sizeof(path), "%s/cli-out", tmp);
	char *const env[] = {"AWS_ACCESS_KEY_ID=" S3RVER_ACCESS_KEY,
			     "AWS_SECRET_ACCESS_KEY=" S3RVER_SECRET_KEY, NULL};
	return cli_run(mcfs_bin, path, out, sizeof(out), env, args);
}
#define MCFS(...) run_mcfs((const char *const[]){__VA_ARGS__, NULL})

static void write_conf(int r, const char *replica)
{
	snprintf(conf[r], sizeof(conf[r]), "%s/%s.conf", tmp, names[r]);
	FILE *f = fopen(conf[r], "w");
	if (!f)
		return;
	fprintf(f, "[meta]\nurl = %s\n", primary.url);
	if (replica)
		fprintf(f, "replica = %s\nmax_replica_lag = 5s\n", replica);
	fprintf(f, "[region]\nname = %s\n", names[r]);
	fprintf(f, "[s3]\naccess_key = %s\nsecret_key = %s\n", S3RVER_ACCESS_KEY,
		S3RVER_SECRET_KEY);
	fprintf(f, "[data]\ndeletion_delay = %ds\n", DELETION_DELAY_S);
	fprintf(f, "[replication]\nclaim_after = 5s\n");
	fclose(f);
	chmod(conf[r], 0600);
}

static int start_replicator(int r, const char *bandwidth)
{
	char log[700];
	snprintf(log, sizeof(log), "%s/replicator-%s.log", tmp, names[r]);
	char *argv[] = {repl_bin,
			"--config",
			conf[r],
			"--region",
			(char *)names[r],
			"--bandwidth",
			(char *)(bandwidth ? bandwidth : "0"),
			NULL};
	return proc_spawn(&repl[r], "mcfs-replicator", argv, log);
}

static int start_gateway(int r)
{
	static const char *extra[NREGIONS][5];
	extra[r][0] = "--config";
	extra[r][1] = conf[r];
	extra[r][2] = "--export";
	extra[r][3] = "/:rw,no_root_squash";
	extra[r][4] = NULL;
	return gateway_start(&gw[r], primary.url, tmp, extra[r]);
}

static int setup(void)
{
	tmp = test_tmpdir("multiregion");
	const char *b = getenv("MCFS_TOP_BUILDDIR");
	snprintf(mcfs_bin, sizeof(mcfs_bin), "%s/mcfs", b ? b : ".");
	snprintf(repl_bin, sizeof(repl_bin), "%s/mcfs-replicator", b ? b : ".");
	if (!tmp || redis_server_start(&primary) < 0 ||
	    redis_server_start_replica(&replica_b, &primary, 20000) < 0)
		return -1;
	s3_ok = s3_server_start(&s3, "mcfs-c") == 0;
	if (!s3_ok) {
		fprintf(stderr, "s3rver is not installed: contrib/install-deps.sh --test\n");
		return -1;
	}
	for (int r = RA; r <= RB; r++) {
		snprintf(bucket_url[r], sizeof(bucket_url[r]), "file://%s/bucket-%s", tmp,
			 names[r]);
		char dir[700];
		snprintf(dir, sizeof(dir), "%s/bucket-%s", tmp, names[r]);
		mkdir(dir, 0700);
	}
	snprintf(bucket_url[RC], sizeof(bucket_url[RC]), "%s", s3.url);
	struct objstore_credentials cred = {.access_key = S3RVER_ACCESS_KEY,
					    .secret_key = S3RVER_SECRET_KEY};
	for (int r = 0; r < NREGIONS; r++)
		if (objstore_open(bucket_url[r], &cred, &bucket[r]) < 0)
			return -1;
	char bs[16];
	snprintf(bs, sizeof(bs), "%d", BLOCK);
	if (MCFS("format", "--meta", primary.url, "--bucket", bucket_url[RA], "--region", "a",
		 "--block-size", bs, "test") != 0 ||
	    MCFS("region", "add", "--meta", primary.url, "--name", "b", "--mode", "mirror",
		 "--bucket", bucket_url[RB], "--replica-meta", replica_b.url) != 0 ||
	    MCFS("region", "add", "--meta", primary.url, "--name", "c", "--mode", "shared",
		 "--bucket", bucket_url[RC]) != 0) {
		fprintf(stderr, "setting up the regions failed: %s\n", out);
		return -1;
	}
	write_conf(RA, NULL);
	write_conf(RB, replica_b.url);
	write_conf(RC, NULL);
	for (int r = 0; r < NREGIONS; r++)
		if (start_gateway(r) < 0)
			return -1;
	return 0;
}

static int teardown(void)
{
	for (int r = 0; r < NREGIONS; r++) {
		if (repl[r].pid > 0)
			proc_stop(&repl[r], 10000);
		if (gw[r].proc.pid > 0)
			gateway_stop(&gw[r]);
		objstore_close(bucket[r]);
	}
	redis_server_stop(&replica_b);
	redis_server_stop(&primary);
	if (s3_ok)
		s3_server_stop(&s3);
	if (tmp && !getenv("MCFS_KEEP_TMP")) {
		rm_rf(tmp);
		free(tmp);
	}
	return 0;
}

/* ---- NFS through a region's gateway */

static struct nfs_context *mount_region(int r)
{
	char url[256];
	gateway_url(&gw[r], "/", url, sizeof(url));
	return nfs_mount_url(url);
}

static int nfs_put(int r, const char *path, uint64_t seed, size_t len)
{
	struct nfs_context *nfs = mount_region(r);
	if (!nfs)
		return -EIO;
	struct nfsfh *fh = NULL;
	int rc = nfs_creat(nfs, path, 0644, &fh);
	uint8_t *buf = malloc(65536);
	for (size_t off = 0; rc == 0 && off < len; off += 65536) {
		size_t n = len - off < 65536 ? len - off : 65536;
		pattern_fill(seed, off, buf, n);
		rc = nfs_pwrite(nfs, fh, off, n, buf) == (int)n ? 0 : -EIO;
	}
	if (fh && nfs_fsync(nfs, fh) != 0)
		rc = -EIO;
	if (fh)
		nfs_close(nfs, fh);
	free(buf);
	nfs_destroy_context(nfs);
	return rc;
}

/* 0 when the file reads back as the pattern, byte for byte. */
static int nfs_check(int r, const char *path, uint64_t seed, size_t len)
{
	struct nfs_context *nfs = mount_region(r);
	if (!nfs)
		return -EIO;
	struct nfsfh *fh = NULL;
	int rc = nfs_open(nfs, path, O_RDONLY, &fh);
	uint8_t *buf = malloc(65536);
	for (size_t off = 0; rc == 0 && off < len; off += 65536) {
		size_t n = len - off < 65536 ? len - off : 65536;
		int got = nfs_pread(nfs, fh, off, n, buf);
		if (got != (int)n || pattern_check(seed, off, buf, n) >= 0)
			rc = -EIO;
	}
	if (fh)
		nfs_close(nfs, fh);
	free(buf);
	nfs_destroy_context(nfs);
	return rc;
}

/* ---- buckets */

static int count_cb(const struct objstore_entry *e, void *arg)
{
	(void)e;
	(*(size_t *)arg)++;
	return 0;
}

static size_t objects(int r)
{
	size_t n = 0;
	objstore_list(bucket[r], "test/chunks/", count_cb, &n);
	return n;
}

struct same_arg {
	int a, b;
};

static bool same_count(void *arg)
{
	struct same_arg *s = arg;
	return objects(s->a) == objects(s->b);
}

/* Waits until region b's bucket holds as many blocks as region a's. */
static int wait_replicated(int a, int b, int timeout_ms)
{
	struct same_arg s = {a, b};
	return wait_until(same_count, &s, timeout_ms);
}

/* The replicator of a region has acknowledged everything and published it
 * (the low watermark with it). */
static bool caught_up(void *arg)
{
	const char *name = arg;
	struct timeval tv = {.tv_sec = 5};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", primary.port, tv);
	redisReply *r = c && !c->err ? redisCommand(c, "HGET {test}:replication %s", name) : NULL;
	bool ok = r && r->type == REDIS_REPLY_STRING && strncmp(r->str, "lag_objects=0;", 14) == 0;
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return ok;
}

/* An in-process vfs of a region, with no block cache worth the name, so
 * its counters say which bucket each block came from. */
static struct vfs *open_region_vfs(int r)
{
	struct mcfs_config cfg;
	config_defaults(&cfg);
	char err[512];
	if (config_load(conf[r], &cfg, err, sizeof(err)) < 0)
		return NULL;
	struct vfs_options vo = {.meta_url = primary.url, .region = names[r], .cfg = &cfg};
	struct vfs *v = NULL;
	if (vfs_open(&vo, &v, err, sizeof(err)) < 0)
		fprintf(stderr, "vfs_open %s: %s\n", names[r], err);
	return v;
}

static int vfs_read_file(struct vfs *v, const char *name, uint64_t seed, size_t len)
{
	struct mcfs_attr a;
	int rc = vfs_lookup(v, &ROOT_CRED, 1, name, &a);
	if (rc < 0)
		return rc;
	uint8_t *buf = malloc(len);
	size_t got = 0;
	bool eof;
	rc = vfs_read(v, a.ino, 0, len, buf, &got, &eof);
	if (rc == 0 && (got != len || pattern_check(seed, 0, buf, len) >= 0))
		rc = -EIO;
	free(buf);
	return rc;
}

/* ---- the cases */

static void test_source_write_read_in_mirror(void)
{
	CU_ASSERT_EQUAL_FATAL(nfs_put(RA, "/a1", 1, 3 * BLOCK + 100), 0);
	/* No replicator yet: the mirror reads from the origin bucket. */
	CU_ASSERT_EQUAL(objects(RB), 0);
	CU_ASSERT_EQUAL(nfs_check(RB, "/a1", 1, 3 * BLOCK + 100), 0);
	struct vfs *v = open_region_vfs(RB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(vfs_read_file(v, "a1", 1, 3 * BLOCK + 100), 0);
	struct vfs_route_info ri;
	vfs_route_info(v, &ri);
	CU_ASSERT(ri.blocks_remote >= 4);
	CU_ASSERT_EQUAL(ri.blocks_local, 0);
	CU_ASSERT(ri.has_replica);
	vfs_close(v);

	for (int r = 0; r < NREGIONS; r++)
		CU_ASSERT_EQUAL_FATAL(start_replicator(r, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(wait_replicated(RA, RB, 30000), 0);
	CU_ASSERT_EQUAL_FATAL(wait_replicated(RA, RC, 30000), 0);
	/* Replicated: the mirror now reads its own bucket. The low watermark
	 * tells it so before it pays a miss anywhere. */
	CU_ASSERT_EQUAL(wait_until(caught_up, (void *)"b", 30000), 0);
	v = open_region_vfs(RB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(vfs_read_file(v, "a1", 1, 3 * BLOCK + 100), 0);
	vfs_route_info(v, &ri);
	CU_ASSERT(ri.blocks_local >= 4);
	vfs_close(v);
}

static void test_mirror_write(void)
{
	size_t before_a = objects(RA);
	CU_ASSERT_EQUAL_FATAL(nfs_put(RB, "/b1", 2, 2 * BLOCK), 0);
	/* The blocks went to b's bucket, the metadata to the source: a reads it at once. */
	CU_ASSERT_EQUAL(nfs_check(RA, "/b1", 2, 2 * BLOCK), 0);
	CU_ASSERT_EQUAL(wait_replicated(RB, RA, 30000), 0);
	CU_ASSERT_EQUAL(objects(RA), before_a + 2);
	CU_ASSERT_EQUAL(nfs_put(RC, "/c1", 3, BLOCK + 1), 0);
	CU_ASSERT_EQUAL(nfs_check(RB, "/c1", 3, BLOCK + 1), 0);
	CU_ASSERT_EQUAL(wait_replicated(RC, RA, 30000), 0);
	CU_ASSERT_EQUAL(wait_replicated(RC, RB, 30000), 0);
}

static void test_reads_while_replicator_down(void)
{
	CU_ASSERT_EQUAL(proc_stop(&repl[RB], 10000), 0);
	size_t before = objects(RB);
	CU_ASSERT_EQUAL_FATAL(nfs_put(RA, "/a2", 4, 2 * BLOCK), 0);
	CU_ASSERT_EQUAL(nfs_check(RB, "/a2", 4, 2 * BLOCK), 0);
	CU_ASSERT_EQUAL(objects(RB), before);
	CU_ASSERT_EQUAL(start_replicator(RB, NULL), 0);
	CU_ASSERT_EQUAL(wait_replicated(RA, RB, 30000), 0);
}

static bool c_has_all(void *arg)
{
	(void)arg;
	return objects(RC) == objects(RA);
}

static void test_s3_outage(void)
{
	CU_ASSERT_EQUAL_FATAL(s3_server_pause(&s3), 0);
	CU_ASSERT_EQUAL(nfs_put(RA, "/a3", 5, 2 * BLOCK), 0);
	/* b is unaffected while c's bucket is down; c's replicator retries. */
	CU_ASSERT_EQUAL(wait_replicated(RA, RB, 30000), 0);
	CU_ASSERT_EQUAL_FATAL(s3_server_resume(&s3), 0);
	CU_ASSERT_EQUAL(wait_until(c_has_all, NULL, 60000), 0);
	CU_ASSERT_EQUAL(nfs_check(RC, "/a3", 5, 2 * BLOCK), 0);
}

static bool some_copied(void *arg)
{
	size_t *before = arg;
	return objects(RB) > *before;
}

static void test_replicator_killed_mid_copy(void)
{
	CU_ASSERT_EQUAL(proc_stop(&repl[RB], 10000), 0);
	/* Slowly, so that the kill lands in the middle of the file. */
	CU_ASSERT_EQUAL_FATAL(start_replicator(RB, "1M"), 0);
	size_t before = objects(RB);
	CU_ASSERT_EQUAL_FATAL(nfs_put(RA, "/big", 6, 24 * BLOCK), 0);
	CU_ASSERT_EQUAL(wait_until(some_copied, &before, 30000), 0);
	proc_kill(&repl[RB], SIGKILL);
	CU_ASSERT(objects(RB) < objects(RA));
	CU_ASSERT_EQUAL(start_replicator(RB, NULL), 0);
	CU_ASSERT_EQUAL(wait_replicated(RA, RB, 60000), 0);
	struct vfs *v = open_region_vfs(RB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(vfs_read_file(v, "big", 6, 24 * BLOCK), 0);
	vfs_close(v);
}

/* Lag objects region b's replicator publishes; -1 if none. */
static long lag_objects(const char *name)
{
	struct timeval tv = {.tv_sec = 5};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", primary.port, tv);
	redisReply *r = c && !c->err ? redisCommand(c, "HGET {test}:replication %s", name) : NULL;
	long n = r && r->type == REDIS_REPLY_STRING ? strtol(r->str + 12, NULL, 10) : -1;
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return n;
}

/* Printed, not asserted: how fast a 32 MiB file reaches the mirror's
 * bucket after its COMMIT, and the largest lag published meanwhile. */
static void test_replication_throughput(void)
{
	enum { BLOCKS = 128 };
	size_t before = objects(RB);
	long long t0 = now_ms();
	CU_ASSERT_EQUAL_FATAL(nfs_put(RA, "/bulk", 8, BLOCKS * (size_t)BLOCK), 0);
	long long t1 = now_ms(), deadline = t1 + 60000;
	long max_lag = 0;
	while (objects(RB) < before + BLOCKS && now_ms() < deadline) {
		long l = lag_objects("b");
		max_lag = l > max_lag ? l : max_lag;
	}
	long long t2 = now_ms();
	CU_ASSERT_EQUAL(objects(RB), before + BLOCKS);
	/* The next test counts objects: let every region settle first. */
	CU_ASSERT_EQUAL(wait_replicated(RA, RC, 60000), 0);
	double mib = BLOCKS * (double)BLOCK / (1 << 20);
	printf("\nreplication: %.0f MiB written through the source gateway in %lld ms; in the "
	       "mirror's bucket %lld ms after the COMMIT (%.1f MiB/s from the first write), "
	       "largest published lag %ld blocks\n",
	       mib, t1 - t0, t2 - t1, mib * 1000.0 / (double)(t2 - t0 > 0 ? t2 - t0 : 1), max_lag);
}

struct fewer_arg {
	int r;
	size_t than;
};

static bool fewer(void *arg)
{
	struct fewer_arg *f = arg;
	return objects(f->r) < f->than;
}

static void test_deletions_after_delay(void)
{
	size_t before[NREGIONS];
	for (int r = 0; r < NREGIONS; r++)
		before[r] = objects(r);
	struct nfs_context *nfs = mount_region(RB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(nfs);
	long long t0 = now_ms();
	CU_ASSERT_EQUAL(nfs_unlink(nfs, "/a2"), 0);
	nfs_destroy_context(nfs);
	for (int r = 0; r < NREGIONS; r++) {
		struct fewer_arg f = {r, before[r]};
		CU_ASSERT_EQUAL(wait_until(fewer, &f, 60000), 0);
		long long waited = now_ms() - t0;
		/* Not before the delay: readers elsewhere may still use an older view. */
		CU_ASSERT(waited >= DELETION_DELAY_S * 1000);
	}
}

/* Every bucket holds exactly the blocks metadata needs, byte for byte. */
static int compare_cb(const struct objstore_entry *e, void *arg)
{
	int *bad = arg;
	uint8_t *x = malloc(BLOCK), *y = malloc(BLOCK);
	size_t lx = 0, ly = 0;
	for (int r = RB; r < NREGIONS; r++) {
		if (objstore_get(bucket[RA], e->key, x, BLOCK, &lx) < 0 ||
		    objstore_get(bucket[r], e->key, y, BLOCK, &ly) < 0 || lx != ly ||
		    memcmp(x, y, lx) != 0) {
			fprintf(stderr, "%s differs in region %s\n", e->key, names[r]);
			(*bad)++;
		}
	}
	free(x);
	free(y);
	return 0;
}

static void test_buckets_exact(void)
{
	CU_ASSERT_EQUAL(wait_replicated(RA, RB, 30000), 0);
	CU_ASSERT_EQUAL(wait_replicated(RA, RC, 30000), 0);
	CU_ASSERT_EQUAL(
	    MCFS("sync-check", "--meta", primary.url, "--config", conf[RA], "--min-age", "0"), 0);
	if (strstr(out, "missing") && !strstr(out, "0 missing"))
		fprintf(stderr, "%s\n", out);
	int bad = 0;
	objstore_list(bucket[RA], "test/chunks/", compare_cb, &bad);
	CU_ASSERT_EQUAL(bad, 0);
}

/* A meta-only region has no bucket: its writes go to the source's, and its
 * metadata reads to its own replica. */
static void test_meta_only_region(void)
{
	static struct redis_server replica_d;
	CU_ASSERT_EQUAL_FATAL(redis_server_start_replica(&replica_d, &primary, 20000), 0);
	int added = MCFS("region", "add", "--meta", primary.url, "--name", "d", "--mode",
			 "meta-only", "--replica-meta", replica_d.url);
	if (added != 0)
		fprintf(stderr, "%s\n", out);
	CU_ASSERT_EQUAL_FATAL(added, 0);
	struct mcfs_config cfg;
	config_defaults(&cfg);
	char err[512];
	struct vfs_options vo = {.meta_url = primary.url, .region = "d", .cfg = &cfg};
	struct vfs *v = NULL;
	CU_ASSERT_EQUAL_FATAL(vfs_open(&vo, &v, err, sizeof(err)), 0);
	size_t before = objects(RA), before_b = objects(RB);
	struct mcfs_attr a;
	uint8_t buf[BLOCK];
	pattern_fill(9, 0, buf, sizeof(buf));
	CU_ASSERT_EQUAL(vfs_create(v, &ROOT_CRED, 1, "d1", 0644, 0, &a, NULL), 0);
	CU_ASSERT_EQUAL(vfs_write(v, &ROOT_CRED, a.ino, 0, buf, sizeof(buf), NULL), 0);
	CU_ASSERT_EQUAL(vfs_flush(v, a.ino), 0);
	CU_ASSERT_EQUAL(objects(RA), before + 1);
	CU_ASSERT_EQUAL(vfs_read_file(v, "d1", 9, BLOCK), 0);
	struct vfs_route_info ri;
	vfs_route_info(v, &ri);
	CU_ASSERT(ri.has_replica);
	vfs_close(v);
	/* Its origin is the source: nothing for b to fetch from elsewhere. */
	CU_ASSERT_EQUAL(wait_replicated(RA, RB, 30000), 0);
	CU_ASSERT_EQUAL(objects(RB), before_b + 1);
	/* Killed, not stopped: a fresh replica refuses SIGTERM while it writes its first AOF. */
	redis_server_kill(&replica_d);
	redis_server_stop(&replica_d);
}

/* The source region is lost: its Redis and gateway die; the mirror is
 * promoted and its gateway goes on, read-write. */
static bool gateway_b_writes(void *arg)
{
	(void)arg;
	return nfs_put(RB, "/after-dr", 7, BLOCK + 7) == 0;
}

static void test_disaster_recovery(void)
{
	CU_ASSERT_EQUAL(proc_stop(&repl[RA], 10000), 0);
	CU_ASSERT_EQUAL(proc_stop(&repl[RC], 10000), 0);
	gateway_kill(&gw[RA]);
	redis_server_kill(&primary);
	CU_ASSERT_EQUAL(MCFS("region", "promote", "--meta", replica_b.url, "--yes", "b"), 0);
	/* The gateway learns of the promotion from its replica within seconds. */
	CU_ASSERT_EQUAL(wait_until(gateway_b_writes, NULL, 30000), 0);
	CU_ASSERT_EQUAL(nfs_check(RB, "/after-dr", 7, BLOCK + 7), 0);
	CU_ASSERT_EQUAL(nfs_check(RB, "/a1", 1, 3 * BLOCK + 100), 0);
	CU_ASSERT_EQUAL(nfs_check(RB, "/big", 6, 24 * BLOCK), 0);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"source write, mirror read (fallback, then local)", test_source_write_read_in_mirror},
	    {"mirror and shared writes reach every region", test_mirror_write},
	    {"reads while a replicator is down", test_reads_while_replicator_down},
	    {"an S3 outage is retried", test_s3_outage},
	    {"replicator killed mid-copy loses nothing", test_replicator_killed_mid_copy},
	    {"replication throughput (printed)", test_replication_throughput},
	    {"deletions propagate after the delay", test_deletions_after_delay},
	    {"buckets hold exactly what metadata needs", test_buckets_exact},
	    {"a meta-only region writes into the source's bucket", test_meta_only_region},
	    {"disaster recovery: promote the mirror", test_disaster_recovery},
	    {NULL, NULL}};
	if (test_add_suite("multi-region", setup, teardown, tests) < 0)
		return 1;
	return test_run_all();
}
