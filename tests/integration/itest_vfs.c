/* The file system API end to end on a real redis-server and a real bucket
 * (a directory, then s3rver): namespace rules, data byte for byte across
 * block and chunk boundaries, overwrites, truncates, links, open-unlinked
 * files, concurrency, compaction, deferred deletion, fsck. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "fixture.h"
#include "fsck.h"
#include "layout.h"
#include "objstore.h"
#include "vfs_impl.h"
#include "vfs.h"

#define BLOCK (1u << 20)

static struct fixture fx;
static struct vfs *V;

static int start_file(void)
{
	if (fixture_start(&fx, false, BLOCK) < 0)
		return -1;
	V = fx.vfs;
	return 0;
}

static int start_s3(void)
{
	if (fixture_start(&fx, true, BLOCK) < 0)
		return -1;
	V = fx.vfs;
	return 0;
}

static int stop(void)
{
	fixture_stop(&fx);
	return 0;
}

static mcfs_ino_t mkfile(mcfs_ino_t dir, const char *name)
{
	struct mcfs_attr a;
	int r = vfs_create(V, &ROOT_CRED, dir, name, 0644, VFS_CREATE_EXCL, &a, NULL);
	CU_ASSERT_EQUAL(r, 0);
	return r == 0 ? a.ino : 0;
}

static mcfs_ino_t mkdirat(mcfs_ino_t dir, const char *name)
{
	struct mcfs_attr a;
	int r = vfs_mkdir(V, &ROOT_CRED, dir, name, 0755, &a, NULL);
	CU_ASSERT_EQUAL(r, 0);
	return r == 0 ? a.ino : 0;
}

static int write_pattern(mcfs_ino_t ino, uint64_t seed, uint64_t off, uint64_t len, size_t step)
{
	uint8_t *buf = malloc(step);
	int r = 0;
	for (uint64_t done = 0; done < len && r == 0; done += step) {
		size_t n = len - done < step ? (size_t)(len - done) : step;
		pattern_fill(seed, off + done, buf, n);
		r = vfs_write(V, &ROOT_CRED, ino, off + done, buf, n, NULL);
	}
	free(buf);
	return r;
}

/* Reads [off, off+len) and checks it against the pattern; returns mismatches. */
static long check_pattern(mcfs_ino_t ino, uint64_t seed, uint64_t off, uint64_t len, size_t step)
{
	uint8_t *buf = malloc(step);
	long bad = 0;
	for (uint64_t done = 0; done < len; done += step) {
		size_t n = len - done < step ? (size_t)(len - done) : step, got = 0;
		bool eof;
		int r = vfs_read(V, ino, off + done, n, buf, &got, &eof);
		if (r != 0 || got != n || pattern_check(seed, off + done, buf, n) >= 0) {
			bad++;
			if (bad < 3)
				fprintf(stderr, "mismatch at %llu (r=%d got=%zu)\n",
					(unsigned long long)(off + done), r, got);
		}
	}
	free(buf);
	return bad;
}

/* ---- namespace */

static void test_create_lookup_getattr(void)
{
	mcfs_ino_t d = mkdirat(MCFS_ROOT_INO, "ns");
	struct mcfs_attr a, p;
	CU_ASSERT_EQUAL(vfs_create(V, &ROOT_CRED, d, "f", 0640, VFS_CREATE_EXCL, &a, &p), 0);
	CU_ASSERT_EQUAL(a.type, MCFS_FILE);
	CU_ASSERT_EQUAL(a.mode, 0640);
	CU_ASSERT_EQUAL(a.nlink, 1);
	CU_ASSERT_EQUAL(p.ino, d);
	struct mcfs_attr b;
	CU_ASSERT_EQUAL(vfs_create(V, &ROOT_CRED, d, "f", 0640, VFS_CREATE_EXCL, &b, NULL),
			-EEXIST);
	CU_ASSERT_EQUAL(vfs_create(V, &ROOT_CRED, d, "f", 0600, 0, &b, NULL), 0);
	CU_ASSERT_EQUAL(b.ino, a.ino);
	CU_ASSERT_EQUAL(vfs_lookup(V, &ROOT_CRED, d, "f", &b), 0);
	CU_ASSERT_EQUAL(b.ino, a.ino);
	CU_ASSERT_EQUAL(vfs_lookup(V, &ROOT_CRED, d, "missing", &b), -ENOENT);
	CU_ASSERT_EQUAL(vfs_lookup(V, &ROOT_CRED, d, "..", &b), 0);
	CU_ASSERT_EQUAL(b.ino, MCFS_ROOT_INO);
	CU_ASSERT_EQUAL(vfs_lookup(V, &ROOT_CRED, a.ino, "x", &b), -ENOTDIR);
	char longname[300];
	memset(longname, 'n', 299);
	longname[299] = '\0';
	CU_ASSERT_EQUAL(vfs_create(V, &ROOT_CRED, d, longname, 0644, 0, &b, NULL), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(vfs_create(V, &ROOT_CRED, d, "a/b", 0644, 0, &b, NULL), -EINVAL);
	CU_ASSERT_EQUAL(vfs_getattr(V, 987654321, &b), -ESTALE);
	struct mcfs_attr root;
	CU_ASSERT_EQUAL(vfs_getattr(V, MCFS_ROOT_INO, &root), 0);
	CU_ASSERT_EQUAL(root.nlink, 3); /* ".", "..", and "ns" */
}

static void test_symlink_mknod(void)
{
	mcfs_ino_t d = mkdirat(MCFS_ROOT_INO, "links");
	struct mcfs_attr a;
	CU_ASSERT_EQUAL(vfs_symlink(V, &ROOT_CRED, d, "s", "../some/where", &a, NULL), 0);
	CU_ASSERT_EQUAL(a.type, MCFS_SYMLINK);
	CU_ASSERT_EQUAL(a.size, 13);
	char target[64];
	CU_ASSERT_EQUAL(vfs_readlink(V, a.ino, target, sizeof(target)), 0);
	CU_ASSERT_STRING_EQUAL(target, "../some/where");
	CU_ASSERT_EQUAL(vfs_readlink(V, a.ino, target, 4), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(vfs_readlink(V, d, target, sizeof(target)), -EINVAL);
	CU_ASSERT_EQUAL(vfs_mknod(V, &ROOT_CRED, d, "null", MCFS_CHR, 0666, 1, 3, &a, NULL), 0);
	CU_ASSERT_EQUAL(a.rdev_major, 1);
	CU_ASSERT_EQUAL(a.rdev_minor, 3);
	CU_ASSERT_EQUAL(vfs_mknod(V, &ROOT_CRED, d, "fifo", MCFS_FIFO, 0600, 0, 0, &a, NULL), 0);
	CU_ASSERT_EQUAL(vfs_mknod(V, &ROOT_CRED, d, "bad", MCFS_DIR, 0600, 0, 0, &a, NULL),
			-EINVAL);
}

static void test_link_unlink_rmdir(void)
{
	mcfs_ino_t d = mkdirat(MCFS_ROOT_INO, "lk");
	mcfs_ino_t f = mkfile(d, "orig");
	CU_ASSERT_EQUAL(write_pattern(f, 7, 0, 3 * BLOCK + 5, 65536), 0);
	CU_ASSERT_EQUAL(vfs_flush(V, f), 0);
	struct mcfs_attr a;
	CU_ASSERT_EQUAL(vfs_link(V, &ROOT_CRED, f, d, "second", &a, NULL), 0);
	CU_ASSERT_EQUAL(a.nlink, 2);
	CU_ASSERT_EQUAL(vfs_link(V, &ROOT_CRED, d, d, "dirlink", &a, NULL), -EPERM);
	CU_ASSERT_EQUAL(vfs_unlink(V, &ROOT_CRED, d, "orig", NULL), 0);
	CU_ASSERT_EQUAL(vfs_lookup(V, &ROOT_CRED, d, "second", &a), 0);
	CU_ASSERT_EQUAL(a.nlink, 1);
	CU_ASSERT_EQUAL(check_pattern(f, 7, 0, 3 * BLOCK + 5, BLOCK), 0);
	mcfs_ino_t sub = mkdirat(d, "sub");
	mkfile(sub, "x");
	CU_ASSERT_EQUAL(vfs_rmdir(V, &ROOT_CRED, d, "sub", NULL), -ENOTEMPTY);
	CU_ASSERT_EQUAL(vfs_unlink(V, &ROOT_CRED, d, "sub", NULL), -EISDIR);
	CU_ASSERT_EQUAL(vfs_rmdir(V, &ROOT_CRED, d, "second", NULL), -ENOTDIR);
	CU_ASSERT_EQUAL(vfs_unlink(V, &ROOT_CRED, sub, "x", NULL), 0);
	struct mcfs_attr pd;
	CU_ASSERT_EQUAL(vfs_getattr(V, d, &pd), 0);
	uint32_t links = pd.nlink;
	CU_ASSERT_EQUAL(vfs_rmdir(V, &ROOT_CRED, d, "sub", &pd), 0);
	CU_ASSERT_EQUAL(pd.nlink, links - 1);
	CU_ASSERT_EQUAL(vfs_getattr(V, sub, &a), -ESTALE);
	CU_ASSERT_EQUAL(vfs_unlink(V, &ROOT_CRED, d, "second", NULL), 0);
	CU_ASSERT_EQUAL(vfs_getattr(V, f, &a), -ESTALE);
}

static void test_rename_rules(void)
{
	mcfs_ino_t d = mkdirat(MCFS_ROOT_INO, "rn");
	mcfs_ino_t a1 = mkfile(d, "a");
	mcfs_ino_t b1 = mkfile(d, "b");
	struct mcfs_attr x;
	/* over an existing file: the target is replaced and freed */
	CU_ASSERT_EQUAL(vfs_rename(V, &ROOT_CRED, d, "a", d, "b", 0, NULL, NULL), 0);
	CU_ASSERT_EQUAL(vfs_lookup(V, &ROOT_CRED, d, "b", &x), 0);
	CU_ASSERT_EQUAL(x.ino, a1);
	CU_ASSERT_EQUAL(vfs_getattr(V, b1, &x), -ESTALE);
	CU_ASSERT_EQUAL(vfs_lookup(V, &ROOT_CRED, d, "a", &x), -ENOENT);
	mcfs_ino_t dir1 = mkdirat(d, "dir1");
	mcfs_ino_t dir2 = mkdirat(d, "dir2");
	mkfile(dir2, "inside");
	CU_ASSERT_EQUAL(vfs_rename(V, &ROOT_CRED, d, "b", d, "dir1", 0, NULL, NULL), -EISDIR);
	CU_ASSERT_EQUAL(vfs_rename(V, &ROOT_CRED, d, "dir1", d, "b", 0, NULL, NULL), -ENOTDIR);
	CU_ASSERT_EQUAL(vfs_rename(V, &ROOT_CRED, d, "dir1", d, "dir2", 0, NULL, NULL), -ENOTEMPTY);
	CU_ASSERT_EQUAL(vfs_rename(V, &ROOT_CRED, d, "dir2", dir2, "loop", 0, NULL, NULL), -EINVAL);
	mcfs_ino_t deep = mkdirat(dir2, "deep");
	CU_ASSERT_EQUAL(vfs_rename(V, &ROOT_CRED, d, "dir2", deep, "loop", 0, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(vfs_rename(V, &ROOT_CRED, d, "b", d, "c", VFS_RENAME_NOREPLACE, NULL, NULL),
			0);
	mkfile(d, "e");
	CU_ASSERT_EQUAL(vfs_rename(V, &ROOT_CRED, d, "c", d, "e", VFS_RENAME_NOREPLACE, NULL, NULL),
			-EEXIST);
	/* directory moves keep parent link counts right */
	struct mcfs_attr before1, before2, after1, after2;
	vfs_getattr(V, dir1, &before1);
	vfs_getattr(V, dir2, &before2);
	CU_ASSERT_EQUAL(vfs_rename(V, &ROOT_CRED, dir2, "deep", dir1, "moved", 0, &after2, &after1),
			0);
	CU_ASSERT_EQUAL(after1.nlink, before1.nlink + 1);
	CU_ASSERT_EQUAL(after2.nlink, before2.nlink - 1);
	CU_ASSERT_EQUAL(vfs_lookup(V, &ROOT_CRED, dir1, "moved", &x), 0);
	CU_ASSERT_EQUAL(x.parent, dir1);
	/* an empty directory may replace an empty directory */
	mkdirat(d, "empty");
	CU_ASSERT_EQUAL(vfs_rename(V, &ROOT_CRED, dir1, "moved", d, "empty", 0, NULL, NULL), 0);
	/* same file under two names: nothing happens */
	CU_ASSERT_EQUAL(vfs_link(V, &ROOT_CRED, a1, d, "alias", &x, NULL), 0);
	CU_ASSERT_EQUAL(vfs_rename(V, &ROOT_CRED, d, "c", d, "alias", 0, NULL, NULL), 0);
	CU_ASSERT_EQUAL(vfs_lookup(V, &ROOT_CRED, d, "c", &x), 0);
	CU_ASSERT_EQUAL(vfs_rename(V, &ROOT_CRED, d, ".", d, "z", 0, NULL, NULL), -EINVAL);
}

struct collect {
	char **names;
	uint64_t *cookies;
	size_t n, cap, stop_after;
};

static int collect_cb(const struct vfs_dirent *e, void *arg)
{
	struct collect *c = arg;
	if (c->stop_after && c->n >= c->stop_after)
		return 1;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->names = realloc(c->names, c->cap * sizeof(char *));
		c->cookies = realloc(c->cookies, c->cap * sizeof(uint64_t));
	}
	c->names[c->n] = strdup(e->name);
	c->cookies[c->n] = e->cookie;
	c->n++;
	return 0;
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->names[i]);
	free(c->names);
	free(c->cookies);
	memset(c, 0, sizeof(*c));
}

static void test_readdir_large_and_stable(void)
{
	mcfs_ino_t d = mkdirat(MCFS_ROOT_INO, "big");
	const int N = 3000;
	char name[32];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "file-%05d", i);
		struct mcfs_attr a;
		CU_ASSERT_EQUAL_FATAL(vfs_create(V, &ROOT_CRED, d, name, 0644, 0, &a, NULL), 0);
	}
	struct collect all = {0};
	bool eof = false;
	CU_ASSERT_EQUAL(vfs_readdir(V, &ROOT_CRED, d, 0, true, collect_cb, &all, &eof), 0);
	CU_ASSERT(eof);
	CU_ASSERT_EQUAL(all.n, (size_t)N);
	collect_free(&all);
	/* Read half, change the directory, go on from the cookie. */
	struct collect first = {.stop_after = N / 2};
	CU_ASSERT_EQUAL(vfs_readdir(V, &ROOT_CRED, d, 0, false, collect_cb, &first, &eof), 0);
	CU_ASSERT_FALSE(eof);
	CU_ASSERT_EQUAL(first.n, (size_t)N / 2);
	uint64_t cookie = first.cookies[first.n - 1];
	CU_ASSERT_EQUAL(vfs_unlink(V, &ROOT_CRED, d, first.names[10], NULL), 0);
	snprintf(name, sizeof(name), "file-%05d", N - 1);
	CU_ASSERT_EQUAL(vfs_unlink(V, &ROOT_CRED, d, name, NULL), 0);
	struct mcfs_attr a;
	CU_ASSERT_EQUAL(vfs_create(V, &ROOT_CRED, d, "late-arrival", 0644, 0, &a, NULL), 0);
	struct collect rest = {0};
	CU_ASSERT_EQUAL(vfs_readdir(V, &ROOT_CRED, d, cookie, false, collect_cb, &rest, &eof), 0);
	CU_ASSERT(eof);
	/* every survivor after the cookie once, the removed one not, the new one yes */
	CU_ASSERT_EQUAL(rest.n, (size_t)(N - N / 2 - 1 + 1));
	int seen_late = 0, seen_removed = 0, dup = 0;
	for (size_t i = 0; i < rest.n; i++) {
		if (strcmp(rest.names[i], "late-arrival") == 0)
			seen_late = 1;
		if (strcmp(rest.names[i], name) == 0)
			seen_removed = 1;
		for (size_t k = 0; k < first.n; k++)
			if (strcmp(rest.names[i], first.names[k]) == 0)
				dup = 1;
	}
	CU_ASSERT(seen_late);
	CU_ASSERT_FALSE(seen_removed);
	CU_ASSERT_FALSE(dup);
	collect_free(&first);
	collect_free(&rest);
	CU_ASSERT_EQUAL(vfs_readdir(V, &ROOT_CRED, 424242424, 0, false, collect_cb, &rest, &eof),
			-ESTALE);
}

/* Entries made before an entry held its cookie (9 bytes, the cookie only
 * in the order set) list with the right cookies, mixed with new ones. */
static void test_readdir_older_entries(void)
{
	mcfs_ino_t d = mkdirat(MCFS_ROOT_INO, "mixed");
	const int N = 600;
	char name[32];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "m-%04d", i);
		struct mcfs_attr a;
		CU_ASSERT_EQUAL_FATAL(vfs_create(V, &ROOT_CRED, d, name, 0644, 0, &a, NULL), 0);
		if (i % 3 == 0) {
			/* the older layout: <inode, type> without the cookie */
			redisReply *r = redis_server_cmd(&fx.redis, "HGET {test}:d:%llu %s",
							 (unsigned long long)d, name);
			CU_ASSERT_FATAL(r && r->type == REDIS_REPLY_STRING && r->len == 17);
			redisReply *w =
			    redis_server_cmd(&fx.redis, "HSET {test}:d:%llu %s %b",
					     (unsigned long long)d, name, r->str, (size_t)9);
			freeReplyObject(r);
			CU_ASSERT(w && w->type == REDIS_REPLY_INTEGER);
			if (w)
				freeReplyObject(w);
		}
	}
	struct collect all = {0};
	bool eof = false;
	CU_ASSERT_EQUAL(vfs_readdir(V, &ROOT_CRED, d, 0, true, collect_cb, &all, &eof), 0);
	CU_ASSERT(eof);
	CU_ASSERT_EQUAL_FATAL(all.n, (size_t)N);
	int order = 0;
	for (size_t i = 0; i < all.n; i++) {
		snprintf(name, sizeof(name), "m-%04zu", i);
		order +=
		    strcmp(all.names[i], name) != 0 || (i && all.cookies[i] <= all.cookies[i - 1]);
		redisReply *s = redis_server_cmd(&fx.redis, "ZSCORE {test}:o:%llu %s",
						 (unsigned long long)d, all.names[i]);
		order += !s || s->type != REDIS_REPLY_STRING ||
			 strtoull(s->str, NULL, 10) != all.cookies[i];
		if (s)
			freeReplyObject(s);
	}
	CU_ASSERT_EQUAL(order, 0);
	/* and a listing resumed from any of them goes on right after it */
	struct collect rest = {0};
	CU_ASSERT_EQUAL(
	    vfs_readdir(V, &ROOT_CRED, d, all.cookies[299], false, collect_cb, &rest, &eof), 0);
	CU_ASSERT_EQUAL(rest.n, (size_t)N - 300);
	CU_ASSERT(rest.n && strcmp(rest.names[0], "m-0300") == 0);
	collect_free(&rest);
	collect_free(&all);
}

/* ---- data */

static void test_large_file_across_chunks(void)
{
	mcfs_ino_t f = mkfile(MCFS_ROOT_INO, "large");
	const uint64_t size = MCFS_CHUNK_SIZE + 5 * BLOCK + 12345; /* crosses a chunk boundary */
	CU_ASSERT_EQUAL(write_pattern(f, 1, 0, size, 1 << 20), 0);
	struct mcfs_attr a;
	CU_ASSERT_EQUAL(vfs_getattr(V, f, &a), 0);
	CU_ASSERT_EQUAL(a.size, size); /* buffered writes show in the size */
	CU_ASSERT_EQUAL(check_pattern(f, 1, 0, size, 1 << 20), 0); /* read before flush */
	CU_ASSERT_EQUAL(vfs_flush(V, f), 0);
	CU_ASSERT_EQUAL(check_pattern(f, 1, 0, size, 1 << 20), 0);
	/* odd-sized reads straddling block and chunk edges */
	CU_ASSERT_EQUAL(check_pattern(f, 1, MCFS_CHUNK_SIZE - 777, 5000, 5000), 0);
	CU_ASSERT_EQUAL(check_pattern(f, 1, BLOCK - 1, 3, 3), 0);
	/* a second vfs (another gateway) sees exactly the same bytes */
	struct vfs *other = NULL;
	CU_ASSERT_EQUAL_FATAL(fixture_open_vfs(&fx, &other), 0);
	struct vfs *mine = V;
	V = other;
	CU_ASSERT_EQUAL(check_pattern(f, 1, 0, size, 4 << 20), 0);
	V = mine;
	vfs_close(other);
	/* read at and past the end */
	uint8_t buf[16];
	size_t got;
	bool eof;
	CU_ASSERT_EQUAL(vfs_read(V, f, size, 16, buf, &got, &eof), 0);
	CU_ASSERT_EQUAL(got, 0);
	CU_ASSERT(eof);
	CU_ASSERT_EQUAL(vfs_read(V, f, size - 4, 16, buf, &got, &eof), 0);
	CU_ASSERT_EQUAL(got, 4);
	CU_ASSERT(eof);
	CU_ASSERT_EQUAL(vfs_read(V, MCFS_ROOT_INO, 0, 16, buf, &got, &eof), -EISDIR);
}

static void test_overwrites(void)
{
	mcfs_ino_t f = mkfile(MCFS_ROOT_INO, "over");
	CU_ASSERT_EQUAL(write_pattern(f, 2, 0, 3 * BLOCK, 1 << 20), 0);
	CU_ASSERT_EQUAL(vfs_flush(V, f), 0);
	/* overwrite an unaligned middle range with another pattern, buffered */
	uint64_t off = BLOCK - 1000, len = BLOCK + 2000;
	CU_ASSERT_EQUAL(write_pattern(f, 3, off, len, 4096), 0);
	for (int round = 0; round < 2; round++) {
		CU_ASSERT_EQUAL(check_pattern(f, 2, 0, off, 4096), 0);
		CU_ASSERT_EQUAL(check_pattern(f, 3, off, len, 4096), 0);
		CU_ASSERT_EQUAL(check_pattern(f, 2, off + len, 3 * BLOCK - off - len, 4096), 0);
		CU_ASSERT_EQUAL(vfs_flush(V, f), 0); /* and the same after the commit */
	}
	/* rewriting inside the still-buffered tail, then reading it */
	CU_ASSERT_EQUAL(write_pattern(f, 4, 100, 50, 50), 0);
	CU_ASSERT_EQUAL(write_pattern(f, 5, 120, 10, 10), 0);
	CU_ASSERT_EQUAL(check_pattern(f, 4, 100, 20, 20), 0);
	CU_ASSERT_EQUAL(check_pattern(f, 5, 120, 10, 10), 0);
	CU_ASSERT_EQUAL(check_pattern(f, 4, 130, 20, 20), 0);
	CU_ASSERT_EQUAL(vfs_flush(V, f), 0);
	CU_ASSERT_EQUAL(check_pattern(f, 5, 120, 10, 10), 0);
	CU_ASSERT_EQUAL(check_pattern(f, 4, 130, 20, 20), 0);
}

/* Parallel writes of a sequential stream arrive out of order: they gather
 * into one slice, and a gap left at the flush keeps the file's old bytes. */
static void test_out_of_order_writes(void)
{
	mcfs_ino_t f = mkfile(MCFS_ROOT_INO, "ooo");
	CU_ASSERT_EQUAL(write_pattern(f, 6, 0, 4 * BLOCK, 1 << 20), 0);
	CU_ASSERT_EQUAL(vfs_flush(V, f), 0);
	struct slice_rec *recs = NULL;
	size_t before = 0, after = 0;
	CU_ASSERT_EQUAL(vfs_load_chunk(V, f, 0, &recs, &before), 0);
	free(recs);
	const uint64_t piece = 64 << 10, start = BLOCK / 2 + 100;
	const unsigned npieces = (unsigned)((2 * BLOCK) / piece), gap = npieces / 3;
	uint8_t *buf = malloc(piece);
	/* A fixed shuffle: stride 7 over a count that is not a multiple of it. */
	for (unsigned k = 0, i = 0; k < npieces; k++, i = (i + 7) % npieces) {
		if (i == gap)
			continue;
		pattern_fill(7, start + i * piece, buf, piece);
		CU_ASSERT_EQUAL(vfs_write(V, &ROOT_CRED, f, start + i * piece, buf, piece, NULL),
				0);
	}
	free(buf);
	uint64_t gap_off = start + gap * piece, end = start + npieces * piece;
	for (int round = 0; round < 2; round++) {
		CU_ASSERT_EQUAL(check_pattern(f, 6, 0, start, 4096), 0);
		CU_ASSERT_EQUAL(check_pattern(f, 7, start, gap_off - start, 4096), 0);
		CU_ASSERT_EQUAL(check_pattern(f, 6, gap_off, piece, 4096), 0);
		CU_ASSERT_EQUAL(check_pattern(f, 7, gap_off + piece, end - gap_off - piece, 4096),
				0);
		CU_ASSERT_EQUAL(check_pattern(f, 6, end, 4 * BLOCK - end, 4096), 0);
		CU_ASSERT_EQUAL(vfs_flush(V, f), 0); /* and the same after the commit */
	}
	CU_ASSERT_EQUAL(vfs_load_chunk(V, f, 0, &recs, &after), 0);
	free(recs);
	if (after != before + 1)
		fprintf(stderr, "records before %zu after %zu\n", before, after);
	CU_ASSERT_EQUAL(after, before + 1);
}

/* A gateway keeps the slice lists of what it read; a write through another
 * gateway changes the file's change counter, and the next read sees it. */
static void test_chunk_cache_sees_other_writers(void)
{
	struct vfs *other = NULL;
	CU_ASSERT_EQUAL_FATAL(fixture_open_vfs(&fx, &other), 0);
	mcfs_ino_t f = mkfile(MCFS_ROOT_INO, "seen");
	CU_ASSERT_EQUAL(write_pattern(f, 8, 0, 2 * BLOCK, 1 << 20), 0);
	CU_ASSERT_EQUAL(vfs_flush(V, f), 0);
	CU_ASSERT_EQUAL(check_pattern(f, 8, 0, 2 * BLOCK, 65536), 0);
	uint8_t *buf = malloc(BLOCK);
	pattern_fill(9, BLOCK / 2, buf, BLOCK);
	CU_ASSERT_EQUAL(vfs_write(other, &ROOT_CRED, f, BLOCK / 2, buf, BLOCK, NULL), 0);
	CU_ASSERT_EQUAL(vfs_flush(other, f), 0);
	free(buf);
	CU_ASSERT_EQUAL(check_pattern(f, 8, 0, BLOCK / 2, 65536), 0);
	CU_ASSERT_EQUAL(check_pattern(f, 9, BLOCK / 2, BLOCK, 65536), 0);
	CU_ASSERT_EQUAL(check_pattern(f, 8, BLOCK + BLOCK / 2, BLOCK / 2, 65536), 0);
	vfs_close(other);
}

static void test_truncate(void)
{
	mcfs_ino_t f = mkfile(MCFS_ROOT_INO, "trunc");
	CU_ASSERT_EQUAL(write_pattern(f, 6, 0, 2 * BLOCK + 100, 1 << 20), 0);
	struct vfs_setattr sa = {.mask = VFS_SET_SIZE, .size = BLOCK + 10};
	struct mcfs_attr a;
	CU_ASSERT_EQUAL(vfs_setattr(V, &ROOT_CRED, f, &sa, &a), 0); /* flushes first */
	CU_ASSERT_EQUAL(a.size, BLOCK + 10);
	sa.size = 3 * BLOCK;
	CU_ASSERT_EQUAL(vfs_setattr(V, &ROOT_CRED, f, &sa, &a), 0);
	CU_ASSERT_EQUAL(check_pattern(f, 6, 0, BLOCK + 10, 65536), 0);
	uint8_t *buf = malloc(3 * BLOCK);
	size_t got;
	bool eof;
	CU_ASSERT_EQUAL(vfs_read(V, f, BLOCK + 10, 2 * BLOCK - 10, buf, &got, &eof), 0);
	CU_ASSERT_EQUAL(got, 2 * BLOCK - 10);
	size_t nonzero = 0;
	for (size_t i = 0; i < got; i++)
		nonzero += buf[i] != 0;
	CU_ASSERT_EQUAL(nonzero, 0); /* the old tail does not come back */
	free(buf);
	/* across chunks: a chunk beyond the end is freed, and then reads as zeros */
	mcfs_ino_t g = mkfile(MCFS_ROOT_INO, "trunc2");
	CU_ASSERT_EQUAL(write_pattern(g, 8, MCFS_CHUNK_SIZE - 10, 20, 20), 0);
	sa.size = 100;
	CU_ASSERT_EQUAL(vfs_setattr(V, &ROOT_CRED, g, &sa, &a), 0);
	sa.size = MCFS_CHUNK_SIZE + 100;
	CU_ASSERT_EQUAL(vfs_setattr(V, &ROOT_CRED, g, &sa, &a), 0);
	uint8_t tail[20];
	CU_ASSERT_EQUAL(vfs_read(V, g, MCFS_CHUNK_SIZE - 10, 20, tail, &got, &eof), 0);
	CU_ASSERT_EQUAL(got, 20);
	uint8_t zeros[20] = {0};
	CU_ASSERT_EQUAL(memcmp(tail, zeros, 20), 0);
	sa.size = 0;
	CU_ASSERT_EQUAL(vfs_setattr(V, &ROOT_CRED, g, &sa, &a), 0);
	CU_ASSERT_EQUAL(a.size, 0);
	sa.size = 10;
	CU_ASSERT_EQUAL(vfs_setattr(V, &ROOT_CRED, MCFS_ROOT_INO, &sa, &a), -EISDIR);
	/* a huge sparse file costs its chunks, not its size, to cut and to free */
	mcfs_ino_t sparse = mkfile(MCFS_ROOT_INO, "sparse");
	CU_ASSERT_EQUAL(write_pattern(sparse, 11, 1ULL << 50, 10, 10), 0);
	CU_ASSERT_EQUAL(vfs_flush(V, sparse), 0);
	long long t0 = now_ms();
	sa.size = 5;
	CU_ASSERT_EQUAL(vfs_setattr(V, &ROOT_CRED, sparse, &sa, &a), 0);
	sa.size = 1ULL << 52;
	CU_ASSERT_EQUAL(vfs_setattr(V, &ROOT_CRED, sparse, &sa, &a), 0);
	CU_ASSERT_EQUAL(vfs_unlink(V, &ROOT_CRED, MCFS_ROOT_INO, "sparse", NULL), 0);
	CU_ASSERT(now_ms() - t0 < 2000);
}

static void test_setattr_and_guard(void)
{
	mcfs_ino_t f = mkfile(MCFS_ROOT_INO, "attrs");
	struct mcfs_attr a, b;
	struct vfs_setattr sa = {.mask = VFS_SET_MODE | VFS_SET_UID | VFS_SET_GID,
				 .mode = 0600,
				 .uid = 1000,
				 .gid = 1000};
	CU_ASSERT_EQUAL(vfs_setattr(V, &ROOT_CRED, f, &sa, &a), 0);
	CU_ASSERT_EQUAL(a.mode, 0600);
	CU_ASSERT_EQUAL(a.uid, 1000);
	sa = (struct vfs_setattr){.mask = VFS_SET_MTIME | VFS_SET_ATIME,
				  .mtime = {1000000000, 5},
				  .atime = {1100000000, 6}};
	CU_ASSERT_EQUAL(vfs_setattr(V, &USER_CRED, f, &sa, &b), 0);
	CU_ASSERT_EQUAL(b.mtime.tv_sec, 1000000000);
	CU_ASSERT_EQUAL(b.mtime.tv_nsec, 5);
	CU_ASSERT(b.change > a.change);
	/* guard: fails unless ctime still matches */
	sa = (struct vfs_setattr){
	    .mask = VFS_SET_MODE | VFS_SET_GUARD_CTIME, .mode = 0644, .guard_ctime = a.ctime};
	CU_ASSERT_EQUAL(vfs_setattr(V, &USER_CRED, f, &sa, &a), -EAGAIN);
	sa.guard_ctime = b.ctime;
	CU_ASSERT_EQUAL(vfs_setattr(V, &USER_CRED, f, &sa, &a), 0);
	/* others may not chown or chmod */
	struct mcfs_cred other = {.uid = 2000, .gid = 2000};
	sa = (struct vfs_setattr){.mask = VFS_SET_MODE, .mode = 0777};
	CU_ASSERT_EQUAL(vfs_setattr(V, &other, f, &sa, &a), -EPERM);
	sa = (struct vfs_setattr){.mask = VFS_SET_UID, .uid = 2000};
	CU_ASSERT_EQUAL(vfs_setattr(V, &USER_CRED, f, &sa, &a), -EPERM);
}

static void test_permissions(void)
{
	mcfs_ino_t d = mkdirat(MCFS_ROOT_INO, "perm"); /* root-owned 0755 */
	struct mcfs_attr a;
	CU_ASSERT_EQUAL(vfs_create(V, &USER_CRED, d, "x", 0644, 0, &a, NULL), -EACCES);
	CU_ASSERT_EQUAL(vfs_access(V, &USER_CRED, d, 5), 0);
	CU_ASSERT_EQUAL(vfs_access(V, &USER_CRED, d, 2), -EACCES);
	struct vfs_setattr sa = {.mask = VFS_SET_MODE, .mode = 01777};
	CU_ASSERT_EQUAL(vfs_setattr(V, &ROOT_CRED, d, &sa, &a), 0);
	CU_ASSERT_EQUAL(vfs_create(V, &USER_CRED, d, "mine", 0644, 0, &a, NULL), 0);
	CU_ASSERT_EQUAL(a.uid, USER_CRED.uid);
	struct mcfs_cred other = {.uid = 2000, .gid = 2000};
	CU_ASSERT_EQUAL(vfs_unlink(V, &other, d, "mine", NULL), -EACCES); /* sticky */
	CU_ASSERT_EQUAL(vfs_write(V, &other, a.ino, 0, "x", 1, NULL), -EACCES);
	CU_ASSERT_EQUAL(vfs_unlink(V, &USER_CRED, d, "mine", NULL), 0);
}

static void test_xattrs(void)
{
	mcfs_ino_t f = mkfile(MCFS_ROOT_INO, "xa");
	CU_ASSERT_EQUAL(vfs_setxattr(V, &ROOT_CRED, f, "user.a", "hello", 5, 0), 0);
	CU_ASSERT_EQUAL(vfs_setxattr(V, &ROOT_CRED, f, "user.b", "\0bin\0", 5, VFS_XATTR_CREATE),
			0);
	CU_ASSERT_EQUAL(vfs_setxattr(V, &ROOT_CRED, f, "user.b", "x", 1, VFS_XATTR_CREATE),
			-EEXIST);
	CU_ASSERT_EQUAL(vfs_setxattr(V, &ROOT_CRED, f, "user.c", "x", 1, VFS_XATTR_REPLACE),
			-ENODATA);
	char buf[64];
	size_t n;
	CU_ASSERT_EQUAL(vfs_getxattr(V, &ROOT_CRED, f, "user.b", buf, sizeof(buf), &n), 0);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(memcmp(buf, "\0bin\0", 5), 0);
	CU_ASSERT_EQUAL(vfs_getxattr(V, &ROOT_CRED, f, "user.a", buf, 2, &n), -ERANGE);
	CU_ASSERT_EQUAL(vfs_listxattr(V, &ROOT_CRED, f, buf, sizeof(buf), &n), 0);
	CU_ASSERT_EQUAL(n, 14);
	CU_ASSERT_EQUAL(vfs_removexattr(V, &ROOT_CRED, f, "user.a"), 0);
	CU_ASSERT_EQUAL(vfs_removexattr(V, &ROOT_CRED, f, "user.a"), -ENODATA);
	CU_ASSERT_EQUAL(vfs_getxattr(V, &ROOT_CRED, f, "user.a", buf, sizeof(buf), &n), -ENODATA);
}

static int count_objects_cb(const struct objstore_entry *e, void *arg)
{
	(void)e;
	(*(size_t *)arg)++;
	return 0;
}

static size_t bucket_objects(void)
{
	struct objstore_credentials cred = {.access_key = fx.cfg.s3_access_key,
					    .secret_key = fx.cfg.s3_secret_key};
	struct objstore *os = NULL;
	size_t n = 0;
	if (objstore_open(fx.bucket_url, &cred, &os) == 0) {
		objstore_list(os, "test/chunks/", count_objects_cb, &n);
		objstore_close(os);
	}
	return n;
}

static void test_unlink_open_file_and_deferred_delete(void)
{
	uint64_t applied = 0;
	CU_ASSERT_EQUAL(vfs_apply_deletions(V, 0, &applied), 0); /* start from a clean log */
	size_t before = bucket_objects();
	mcfs_ino_t f = mkfile(MCFS_ROOT_INO, "held");
	CU_ASSERT_EQUAL(write_pattern(f, 9, 0, 2 * BLOCK, 1 << 20), 0);
	CU_ASSERT_EQUAL(vfs_open_file(V, f), 0);
	CU_ASSERT_EQUAL(vfs_flush(V, f), 0);
	CU_ASSERT_EQUAL(bucket_objects(), before + 2);
	CU_ASSERT_EQUAL(vfs_unlink(V, &ROOT_CRED, MCFS_ROOT_INO, "held", NULL), 0);
	struct mcfs_attr a;
	CU_ASSERT_EQUAL(vfs_lookup(V, &ROOT_CRED, MCFS_ROOT_INO, "held", &a), -ENOENT);
	CU_ASSERT_EQUAL(vfs_getattr(V, f, &a), 0); /* still there while open */
	CU_ASSERT_EQUAL(a.nlink, 0);
	CU_ASSERT_EQUAL(check_pattern(f, 9, 0, 2 * BLOCK, 1 << 20), 0);
	CU_ASSERT_EQUAL(vfs_release(V, f), 0);
	CU_ASSERT_EQUAL(vfs_getattr(V, f, &a), -ESTALE);
	/* freed, but the blocks stay until the delay has passed */
	CU_ASSERT_EQUAL(vfs_apply_deletions(V, 3600, &applied), 0);
	CU_ASSERT_EQUAL(applied, 0);
	CU_ASSERT_EQUAL(bucket_objects(), before + 2);
	CU_ASSERT_EQUAL(vfs_apply_deletions(V, 0, &applied), 0);
	CU_ASSERT(applied >= 1);
	CU_ASSERT_EQUAL(bucket_objects(), before);
}

/* Data still buffered for a file removed since (an NFS client wrote, then
 * unlinked it): nothing can read it any more, so flushing everything at
 * shutdown is not a failure. */
static void test_flush_all_after_removal(void)
{
	mcfs_ino_t f = mkfile(MCFS_ROOT_INO, "written-then-removed");
	CU_ASSERT_EQUAL(vfs_write(V, &ROOT_CRED, f, 0, "buffered", 8, NULL), 0);
	CU_ASSERT_EQUAL(vfs_unlink(V, &ROOT_CRED, MCFS_ROOT_INO, "written-then-removed", NULL), 0);
	mcfs_ino_t g = mkfile(MCFS_ROOT_INO, "written-and-kept");
	CU_ASSERT_EQUAL(vfs_write(V, &ROOT_CRED, g, 0, "kept", 4, NULL), 0);
	CU_ASSERT_EQUAL(vfs_flush_all(V), 0);
	struct mcfs_attr a;
	CU_ASSERT_EQUAL(vfs_getattr(V, g, &a), 0);
	CU_ASSERT_EQUAL(a.size, 4);
	CU_ASSERT_EQUAL(vfs_getattr(V, f, &a), -ESTALE);
	/* and the removed file's data is not kept to be flushed again */
	CU_ASSERT_EQUAL(vfs_write(V, &ROOT_CRED, g, 4, "more", 4, NULL), 0);
	CU_ASSERT_EQUAL(vfs_unlink(V, &ROOT_CRED, MCFS_ROOT_INO, "written-and-kept", NULL), 0);
	CU_ASSERT_EQUAL(vfs_flush(V, g), -ESTALE);
	CU_ASSERT_EQUAL(vfs_flush(V, g), 0);
}

struct writer_arg {
	mcfs_ino_t ino;
	uint64_t seed, off, len;
	int result;
};

static void *writer_thread(void *p)
{
	struct writer_arg *w = p;
	w->result = write_pattern(w->ino, w->seed, w->off, w->len, 100000);
	if (w->result == 0)
		w->result = vfs_flush(V, w->ino);
	return NULL;
}

static void test_concurrent_writers(void)
{
	enum { N = 6 };
	pthread_t th[N];
	struct writer_arg w[N];
	mcfs_ino_t shared = mkfile(MCFS_ROOT_INO, "shared");
	for (int i = 0; i < N; i++) {
		char name[16];
		snprintf(name, sizeof(name), "conc-%d", i);
		/* half write their own file, half disjoint ranges of one file */
		w[i] = (struct writer_arg){.ino = i % 2 ? shared : mkfile(MCFS_ROOT_INO, name),
					   .seed = i % 2 ? 100 : 200 + (uint64_t)i,
					   .off = i % 2 ? (uint64_t)i * 3 * BLOCK : 0,
					   .len = 3 * BLOCK - 7};
		pthread_create(&th[i], NULL, writer_thread, &w[i]);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(w[i].result, 0);
	}
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL(check_pattern(w[i].ino, w[i].seed, w[i].off, w[i].len, 1 << 20), 0);
}

static void test_compaction(void)
{
	mcfs_ino_t f = mkfile(MCFS_ROOT_INO, "fragmented");
	/* 30 separate commits into one chunk, overlapping */
	for (int i = 0; i < 30; i++) {
		CU_ASSERT_EQUAL(
		    write_pattern(f, 300 + (uint64_t)i, (uint64_t)i * 40000, 100000, 100000), 0);
		CU_ASSERT_EQUAL(vfs_flush(V, f), 0);
	}
	uint8_t *expect = malloc(29 * 40000 + 100000);
	for (int i = 0; i < 30; i++)
		pattern_fill(300 + (uint64_t)i, (uint64_t)i * 40000, expect + i * 40000, 100000);
	CU_ASSERT(vfs_compact_file(V, f) >= 0);
	uint8_t *got = malloc(29 * 40000 + 100000);
	size_t n;
	bool eof;
	CU_ASSERT_EQUAL(vfs_read(V, f, 0, 29 * 40000 + 100000, got, &n, &eof), 0);
	CU_ASSERT_EQUAL(n, 29 * 40000 + 100000);
	CU_ASSERT_EQUAL(memcmp(got, expect, n), 0);
	CU_ASSERT_EQUAL(vfs_compact_file(V, f), 0); /* one slice left: nothing to do */
	free(got);
	free(expect);
}

static void test_statfs_and_fsck(void)
{
	struct vfs_statfs st;
	CU_ASSERT_EQUAL(vfs_statfs(V, &st), 0);
	CU_ASSERT(st.used_inodes > 10);
	CU_ASSERT(st.used_bytes >= MCFS_CHUNK_SIZE);
	CU_ASSERT(st.total_bytes > st.used_bytes);
	struct fsck_report rep;
	CU_ASSERT_EQUAL(fsck_run(V, &rep), 0);
	CU_ASSERT_EQUAL(rep.missing_blocks, 0);
	CU_ASSERT_EQUAL(rep.dangling_entries, 0);
	CU_ASSERT_EQUAL(rep.damaged_attrs, 0);
	CU_ASSERT_EQUAL(rep.damaged_slices, 0);
	CU_ASSERT(rep.files > 3000);
	struct gc_report g;
	CU_ASSERT_EQUAL(gc_run(V, 0, false, &g), 0);
	CU_ASSERT(g.referenced > 0);
}

static const struct test_case tests[] = {
    {"create, lookup, getattr", test_create_lookup_getattr},
    {"symlink and mknod", test_symlink_mknod},
    {"link, unlink, rmdir", test_link_unlink_rmdir},
    {"rename rules", test_rename_rules},
    {"readdir: 3000 entries, stable cookies", test_readdir_large_and_stable},
    {"readdir: entries of the older layout", test_readdir_older_entries},
    {"large file across chunks", test_large_file_across_chunks},
    {"overwrites", test_overwrites},
    {"out-of-order writes gather into one slice", test_out_of_order_writes},
    {"another gateway's write is seen past the chunk cache", test_chunk_cache_sees_other_writers},
    {"truncate", test_truncate},
    {"setattr and guard", test_setattr_and_guard},
    {"permissions", test_permissions},
    {"xattrs", test_xattrs},
    {"unlink of an open file, deferred deletion", test_unlink_open_file_and_deferred_delete},
    {"flush of everything after a removal", test_flush_all_after_removal},
    {"concurrent writers", test_concurrent_writers},
    {"compaction", test_compaction},
    {"statfs, fsck, gc", test_statfs_and_fsck},
    {NULL, NULL},
};

int main(void)
{
	if (test_add_suite("vfs on a file:// bucket", start_file, stop, tests) < 0 ||
	    test_add_suite("vfs on an s3rver bucket", start_s3, stop, tests) < 0)
		return 1;
	return test_run_all();
}
