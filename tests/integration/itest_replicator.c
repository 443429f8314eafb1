/* mcfs-replicator as a real process against one redis-server and two
 * directory buckets: region "a" (the source, where a vfs writes files) and
 * its mirror "b" (the replicator's target). Blocks arrive byte for byte,
 * progress is published, a SIGKILL mid-copy loses nothing, two workers share
 * the log, and a deletion waits both for its delay and for its copy. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "cunit_main.h"
#include "deletion_log.h"
#include "fixture.h"
#include "layout.h"
#include "meta.h"
#include "objstore.h"
#include "proc.h"
#include "redis.h"
#include "region.h"
#include "vfs.h"
#include "volume.h"

#define VOL	 "vol"
#define BLOCK	 (64u << 10)
#define MAX_KEYS 4096

static struct redis_server redis;
static char *tmp;
static char bin[1024], url_a[1100], url_b[1100], conf[1100];
static struct objstore *store_a, *store_b;
static struct meta *meta;
static struct vfs *V;
static struct mcfs_config cfg;
static char out[16384];

struct keyset {
	size_t n;
	char key[MAX_KEYS][128];
	uint64_t size[MAX_KEYS];
};
static struct keyset all_a, before, after;

/* ---- helpers: redis, buckets, files, processes */

static long long cmd_int(const char *fmt, ...)
{
	struct timeval tv = {.tv_sec = 5};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", redis.port, tv);
	if (!c || c->err) {
		if (c)
			redisFree(c);
		return -1;
	}
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	long long v = -1;
	if (r && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r && r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	else if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
		 r->element[0]->type == REDIS_REPLY_INTEGER)
		v = r->element[0]->integer; /* XPENDING summary: the count */
	if (r)
		freeReplyObject(r);
	return v;
}

/* A hash field "k=v;k=v" into buf; false if absent. */
static bool hash_field(const char *hash, const char *field, char *buf, size_t len)
{
	redisReply *r = redis_server_cmd(&redis, "HGET {" VOL "}:%s %s", hash, field);
	bool ok = r && r->type == REDIS_REPLY_STRING;
	if (ok)
		snprintf(buf, len, "%s", r->str);
	if (r)
		freeReplyObject(r);
	return ok;
}

static long long kv(const char *s, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "%s=", key);
	for (const char *p = s; (p = strstr(p, pat)) != NULL; p++)
		if (p == s || p[-1] == ';')
			return strtoll(p + strlen(pat), NULL, 10);
	return -1;
}

static int collect(const struct objstore_entry *e, void *arg)
{
	struct keyset *ks = arg;
	if (ks->n == MAX_KEYS)
		return -ENOSPC;
	snprintf(ks->key[ks->n], sizeof(ks->key[0]), "%s", e->key);
	ks->size[ks->n++] = e->size;
	return 0;
}

static void list_a(struct keyset *ks)
{
	ks->n = 0;
	CU_ASSERT_EQUAL(objstore_list(store_a, VOL "/chunks/", collect, ks), 0);
}

static bool in_set(const struct keyset *ks, const char *key)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->key[i], key) == 0)
			return true;
	return false;
}

/* The keys of `after` that are not in `before`. */
static void difference(const struct keyset *a, const struct keyset *b, struct keyset *d)
{
	d->n = 0;
	for (size_t i = 0; i < a->n; i++)
		if (!in_set(b, a->key[i])) {
			memcpy(d->key[d->n], a->key[i], sizeof(d->key[0]));
			d->size[d->n++] = a->size[i];
		}
}

static bool in_b(const char *key, uint64_t size)
{
	uint64_t have = 0;
	return objstore_head(store_b, key, &have) == 0 && have == size;
}

static size_t missing_in_b(const struct keyset *ks)
{
	size_t n = 0;
	for (size_t i = 0; i < ks->n; i++)
		n += !in_b(ks->key[i], ks->size[i]);
	return n;
}

static size_t present_in_b(const struct keyset *ks)
{
	return ks->n - missing_in_b(ks);
}

/* Every block of a is in b with the same bytes. */
static bool same_bytes(void)
{
	list_a(&all_a);
	static uint8_t x[BLOCK], y[BLOCK];
	for (size_t i = 0; i < all_a.n; i++) {
		size_t lx = 0, ly = 0;
		if (objstore_get(store_a, all_a.key[i], x, sizeof(x), &lx) < 0 ||
		    objstore_get(store_b, all_a.key[i], y, sizeof(y), &ly) < 0 || lx != ly ||
		    memcmp(x, y, lx) != 0) {
			fprintf(stderr, "block %s differs in b\n", all_a.key[i]);
			return false;
		}
	}
	return all_a.n > 0;
}

static void write_file(const char *name, uint64_t seed, size_t size)
{
	struct mcfs_attr a;
	CU_ASSERT_EQUAL_FATAL(vfs_create(V, &ROOT_CRED, MCFS_ROOT_INO, name, 0644, 0, &a, NULL), 0);
	static uint8_t buf[1 << 20];
	for (size_t off = 0; off < size;) {
		size_t n = size - off < sizeof(buf) ? size - off : sizeof(buf);
		pattern_fill(seed, off, buf, n);
		CU_ASSERT_EQUAL_FATAL(vfs_write(V, &ROOT_CRED, a.ino, off, buf, n, NULL), 0);
		off += n;
	}
	CU_ASSERT_EQUAL_FATAL(vfs_flush(V, a.ino), 0);
}

/* Writes count files and leaves their blocks in `after`. */
static void write_files(const char *prefix, size_t count, size_t size)
{
	list_a(&before);
	for (size_t i = 0; i < count; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s%zu", prefix, i);
		write_file(name, 1000 + i, size);
	}
	struct keyset now;
	list_a(&now);
	difference(&now, &before, &after);
}

static void remove_file(const char *name)
{
	CU_ASSERT_EQUAL(vfs_unlink(V, &ROOT_CRED, MCFS_ROOT_INO, name, NULL), 0);
}

/* Starts the replicator for region b as consumer name, logging to a file. */
static int spawn(struct proc *p, const char *name, const char *const extra[])
{
	char log_path[1200];
	snprintf(log_path, sizeof(log_path), "%s/%s.log", tmp, name);
	const char *argv[32] = {bin,  "--meta",	    redis.url, "--region",    "b",    "--config",
				conf, "--consumer", name,      "--log-level", "debug"};
	int n = 11;
	for (int i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	return proc_spawn(p, name, (char *const *)argv, log_path);
}

/* Runs it to its end (for --once); the exit status, or -1 on timeout. */
static int run_to_end(const char *name, const char *const extra[], int timeout_ms)
{
	struct proc p;
	if (spawn(&p, name, extra) < 0)
		return -1;
	long long deadline = now_ms() + timeout_ms;
	while (now_ms() < deadline) {
		int st;
		if (waitpid(p.pid, &st, WNOHANG) == p.pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(20000);
	}
	proc_kill(&p, SIGKILL);
	return -1;
}

/* Waits with a deadline, polling at a pace kind to the buckets. */
static bool poll_until(bool (*cond)(void *), void *arg, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	do {
		if (cond(arg))
			return true;
		usleep(20000);
	} while (now_ms() < deadline);
	return cond(arg);
}

static bool none_missing(void *arg)
{
	return missing_in_b(arg) == 0;
}

static bool none_present(void *arg)
{
	return present_in_b(arg) == 0;
}

static size_t kill_threshold;
static bool some_copied(void *arg)
{
	return present_in_b(arg) >= kill_threshold;
}

static int expect_workers;
/* The published progress says b is caught up (with expect_workers live). */
static bool caught_up(void *arg)
{
	char v[512];
	if (!hash_field("replication", "b", v, sizeof(v)))
		return false;
	return kv(v, "lag_objects") == 0 && kv(v, "lag_bytes") == 0 && kv(v, "oldest_ms") == 0 &&
	       (expect_workers == 0 || kv(v, "workers") == expect_workers);
}

/* ---- setup */

static int format_volume(void)
{
	char err[512];
	struct meta_options mo = {.url = redis.url};
	struct objstore_credentials cred = {0};
	if (meta_connect(&mo, &meta, err, sizeof(err)) < 0 ||
	    objstore_open(url_a, &cred, &store_a) < 0 || objstore_open(url_b, &cred, &store_b) < 0)
		return -1;
	struct format_options fo = {
	    .name = VOL, .bucket_url = url_a, .region = "a", .block_size = BLOCK};
	struct volume_settings vs;
	if (volume_format(meta, store_a, &fo, &vs, err, sizeof(err)) < 0)
		return fprintf(stderr, "format: %s\n", err), -1;
	/* Each region needs a replica URL of its own; nothing reads them here. */
	char replica_b[160], replica_c[160];
	snprintf(replica_b, sizeof(replica_b), "%s/1", redis.url);
	snprintf(replica_c, sizeof(replica_c), "%s/2", redis.url);
	struct region_add_options b = {
	    .name = "b", .mode = REGION_MIRROR, .bucket_url = url_b, .replica_url = replica_b};
	struct region_add_options c = {
	    .name = "c", .mode = REGION_META_ONLY, .replica_url = replica_c};
	if (region_add(meta, VOL, store_b, &b, NULL, err, sizeof(err)) < 0 ||
	    region_add(meta, VOL, NULL, &c, NULL, err, sizeof(err)) < 0)
		return fprintf(stderr, "region add: %s\n", err), -1;
	return 0;
}

static int setup(void)
{
	const char *b = getenv("MCFS_TOP_BUILDDIR");
	snprintf(bin, sizeof(bin), "%s/mcfs-replicator", b ? b : ".");
	tmp = test_tmpdir("repl");
	if (!tmp || redis_server_start(&redis) < 0)
		return -1;
	snprintf(url_a, sizeof(url_a), "file://%s/a", tmp);
	snprintf(url_b, sizeof(url_b), "file://%s/b", tmp);
	snprintf(conf, sizeof(conf), "%s/mcfs.conf", tmp);
	FILE *f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f, "[replication]\nclaim_after = 5s\n[data]\ndeletion_delay = 1h\n");
	fclose(f);
	chmod(conf, 0600);
	if (format_volume() < 0)
		return -1;
	config_defaults(&cfg);
	cfg.deletion_delay_s = 3600;
	cfg.cache_mem = 16 << 20;
	char err[512];
	struct vfs_options vo = {.meta_url = redis.url, .region = "a", .cfg = &cfg};
	if (vfs_open(&vo, &V, err, sizeof(err)) < 0)
		return fprintf(stderr, "vfs_open: %s\n", err), -1;
	return 0;
}

static int teardown(void)
{
	if (V)
		vfs_close(V);
	objstore_close(store_a);
	objstore_close(store_b);
	meta_close(meta);
	redis_server_stop(&redis);
	if (tmp && CU_get_number_of_failures() == 0 && !getenv("MCFS_KEEP_TMP"))
		rm_rf(tmp);
	else if (tmp)
		fprintf(stderr, "replicator logs kept in %s\n", tmp);
	free(tmp);
	return 0;
}

/* ---- tests */

static int run_cli(const char *const args[])
{
	char scratch[1200];
	snprintf(scratch, sizeof(scratch), "%s/cli-out", tmp);
	return cli_run(bin, scratch, out, sizeof(out), NULL, args);
}
#define RUN(...) run_cli((const char *const[]){__VA_ARGS__, NULL})

static void test_usage(void)
{
	CU_ASSERT_EQUAL(RUN("--help"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "--region"));
	CU_ASSERT_EQUAL(RUN("--version"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "mcfs-replicator"));
	CU_ASSERT_EQUAL(RUN("--bogus"), 2);
	CU_ASSERT_EQUAL(RUN("--meta", redis.url), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "--region"));
	CU_ASSERT_EQUAL(RUN("--meta", redis.url, "--region", "b", "--transfers", "0"), 2);
	CU_ASSERT_EQUAL(RUN("--meta", redis.url, "--region", "b", "--bandwidth", "lots"), 2);
	CU_ASSERT_EQUAL(RUN("--meta", redis.url, "--region", "b", "--consumer", "x/y"), 2);
	CU_ASSERT_EQUAL(RUN("--meta", redis.url, "--region", "B_b"), 2);
	CU_ASSERT_EQUAL(RUN("--region", "b", "--config", "/nonexistent/mcfs.conf"), 2);
	CU_ASSERT_EQUAL(RUN("--meta", redis.url, "--region", "zz", "--once"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "no region named 'zz'"));
	CU_ASSERT_EQUAL(RUN("--meta", redis.url, "--region", "c", "--once"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "meta-only"));
}

static void test_once(void)
{
	write_file("one", 1, 1);
	write_file("block", 2, BLOCK);
	write_file("three", 3, 3 * BLOCK + 17);
	write_file("big", 4, (1 << 20) + 3);
	list_a(&all_a);
	CU_ASSERT_EQUAL(missing_in_b(&all_a), all_a.n);
	CU_ASSERT_EQUAL(run_to_end("once1", (const char *const[]){"--once", NULL}, 20000), 0);
	CU_ASSERT_EQUAL(missing_in_b(&all_a), 0);
	CU_ASSERT(same_bytes());

	/* Published as caught up, with what was copied. */
	char v[512];
	CU_ASSERT_FATAL(hash_field("replication", "b", v, sizeof(v)));
	CU_ASSERT_EQUAL(kv(v, "lag_objects"), 0);
	CU_ASSERT_EQUAL(kv(v, "lag_bytes"), 0);
	CU_ASSERT_EQUAL(kv(v, "oldest_ms"), 0);
	CU_ASSERT_EQUAL(kv(v, "missing"), 0);
	CU_ASSERT_EQUAL(kv(v, "copied_objects"), (long long)all_a.n);
	long long bytes = 0;
	for (size_t i = 0; i < all_a.n; i++)
		bytes += (long long)all_a.size[i];
	CU_ASSERT_EQUAL(kv(v, "copied_bytes"), bytes);
	CU_ASSERT_EQUAL(kv(v, "low_watermark"), cmd_int("HGET {" VOL "}:counter slice") + 1);
	CU_ASSERT(kv(v, "updated_ms") > 0);
	CU_ASSERT(hash_field("replicators", "b/once1", v, sizeof(v)));
	CU_ASSERT_EQUAL(kv(v, "copied_objects"), (long long)all_a.n);
	CU_ASSERT_EQUAL(cmd_int("XPENDING {" VOL "}:changes b"), 0);

	/* Again: everything is there already, nothing is copied twice. */
	CU_ASSERT_EQUAL(run_to_end("once2", (const char *const[]){"--once", NULL}, 20000), 0);
	CU_ASSERT_FATAL(hash_field("replication", "b", v, sizeof(v)));
	CU_ASSERT_EQUAL(kv(v, "copied_objects"), (long long)all_a.n);
}

static void test_kill_restart(void)
{
	write_files("k", 24, 4 * BLOCK);
	CU_ASSERT_EQUAL_FATAL(after.n, 96);
	struct proc k1, k2;
	const char *slow[] = {"--bandwidth", "1M", "--transfers", "4", NULL};
	CU_ASSERT_EQUAL_FATAL(spawn(&k1, "k1", slow), 0);
	kill_threshold = 8;
	CU_ASSERT(poll_until(some_copied, &after, 10000));
	proc_kill(&k1, SIGKILL);
	CU_ASSERT(missing_in_b(&after) > 0); /* it died mid-copy */
	CU_ASSERT(cmd_int("XPENDING {" VOL "}:changes b") > 0);

	/* Another worker takes over k1's entries once they are idle for
	 * claim_after (5s), and reads the rest. */
	CU_ASSERT_EQUAL_FATAL(spawn(&k2, "k2", NULL), 0);
	CU_ASSERT(poll_until(none_missing, &after, 25000));
	CU_ASSERT(same_bytes());
	expect_workers = 1;
	CU_ASSERT(poll_until(caught_up, NULL, 10000));
	CU_ASSERT_EQUAL(proc_stop(&k2, 10000), 0);
	CU_ASSERT_EQUAL(cmd_int("XPENDING {" VOL "}:changes b"), 0);
}

static void test_two_workers(void)
{
	write_files("w", 40, 2 * BLOCK);
	CU_ASSERT_EQUAL_FATAL(after.n, 80);
	struct proc w1, w2;
	const char *slow[] = {"--bandwidth", "2M", "--transfers", "2", NULL};
	CU_ASSERT_EQUAL_FATAL(spawn(&w1, "w1", slow), 0);
	CU_ASSERT_EQUAL_FATAL(spawn(&w2, "w2", slow), 0);
	CU_ASSERT(poll_until(none_missing, &after, 20000));
	CU_ASSERT(same_bytes());
	expect_workers = 2;
	CU_ASSERT(poll_until(caught_up, NULL, 10000));
	char v1[256] = "", v2[256] = "";
	CU_ASSERT(hash_field("replicators", "b/w1", v1, sizeof(v1)));
	CU_ASSERT(hash_field("replicators", "b/w2", v2, sizeof(v2)));
	CU_ASSERT(kv(v1, "copied_objects") > 0);
	CU_ASSERT(kv(v2, "copied_objects") > 0);
	CU_ASSERT(kv(v1, "copied_objects") + kv(v2, "copied_objects") >= 80);
	CU_ASSERT_EQUAL(proc_stop(&w1, 10000), 0);
	CU_ASSERT_EQUAL(proc_stop(&w2, 10000), 0);
}

/* A slice freed before its copy: its deletion must wait for the copy, or
 * the copy would bring the block back as an orphan. */
static ino_t inode_in_b(const char *key)
{
	char path[1400];
	struct stat st;
	snprintf(path, sizeof(path), "%s/b/%s", tmp, key);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* The slice id of the next new change-log entry, handed to consumer `name`
 * and left pending, as by a worker that died before acknowledging it. */
static uint64_t deliver_one(const char *name)
{
	redisReply *r = redis_server_cmd(
	    &redis, "XREADGROUP GROUP b %s COUNT 1 STREAMS {" VOL "}:changes >", name);
	uint64_t slice = 0;
	/* [[key, [[id, [field, value, ...]]]]] */
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->elements == 2) {
		const redisReply *e = r->element[0]->element[1];
		const redisReply *f = e->elements == 1 ? e->element[0]->element[1] : NULL;
		for (size_t i = 0; f && i + 1 < f->elements; i += 2)
			if (strcmp(f->element[i]->str, "id") == 0)
				slice = strtoull(f->element[i + 1]->str, NULL, 10);
	}
	if (r)
		freeReplyObject(r);
	return slice;
}

/* A first delivery writes its blocks without asking the target whether they
 * are there (a request saved per block); a redelivered entry asks, and
 * leaves a block that is there alone. Told apart by the block files' inodes:
 * a write replaces the file. */
static void test_first_delivery_writes_without_asking(void)
{
	write_files("ask", 2, BLOCK);
	CU_ASSERT_EQUAL_FATAL(after.n, 2);
	/* Both blocks in b already, as `mcfs sync-check --repair` may put them. */
	static uint8_t buf[BLOCK];
	ino_t ino[2];
	for (int i = 0; i < 2; i++) {
		size_t got = 0;
		CU_ASSERT_EQUAL_FATAL(objstore_get(store_a, after.key[i], buf, sizeof(buf), &got),
				      0);
		CU_ASSERT_EQUAL_FATAL(objstore_put(store_b, after.key[i], buf, got), 0);
		ino[i] = inode_in_b(after.key[i]);
		CU_ASSERT_FATAL(ino[i] != 0);
	}
	uint64_t pending = deliver_one("asker");
	CU_ASSERT_FATAL(pending > 0);
	CU_ASSERT_EQUAL(cmd_int("XPENDING {" VOL "}:changes b"), 1);
	CU_ASSERT_EQUAL(run_to_end("asker", (const char *const[]){"--once", NULL}, 20000), 0);
	CU_ASSERT_EQUAL(cmd_int("XPENDING {" VOL "}:changes b"), 0);
	CU_ASSERT_EQUAL(missing_in_b(&after), 0);
	CU_ASSERT(same_bytes());
	for (int i = 0; i < 2; i++) {
		uint64_t slice = 0;
		uint32_t index = 0, len = 0;
		CU_ASSERT_EQUAL_FATAL(
		    layout_parse_block_key(after.key[i], VOL, &slice, &index, &len), 0);
		if (slice == pending) {
			CU_ASSERT_EQUAL(inode_in_b(after.key[i]), ino[i]); /* asked, found */
		} else {
			CU_ASSERT_NOT_EQUAL(inode_in_b(after.key[i]), ino[i]); /* written */
		}
	}
}

static void test_deletion_waits_for_copy(void)
{
	write_files("g", 1, 3 * BLOCK);
	CU_ASSERT_EQUAL_FATAL(after.n, 3);
	remove_file("g0");
	uint64_t n = 99;
	CU_ASSERT_EQUAL(deletion_log_apply(meta, VOL, "b", store_b, BLOCK, "itest", 0, &n), 0);
	CU_ASSERT_EQUAL(n, 0); /* its change is not acknowledged yet */
	CU_ASSERT_EQUAL(
	    run_to_end("g", (const char *const[]){"--once", "--deletion-delay", "0", NULL}, 20000),
	    0);
	CU_ASSERT_EQUAL(present_in_b(&after), 0);
	list_a(&all_a);
	CU_ASSERT(in_set(&all_a, after.key[0])); /* region a has no deleter here */
}

static void test_deletion_delay(void)
{
	struct proc d;
	CU_ASSERT_EQUAL_FATAL(
	    spawn(&d, "d1", (const char *const[]){"--deletion-delay", "3s", NULL}), 0);
	write_files("h", 1, 2 * BLOCK);
	CU_ASSERT_EQUAL_FATAL(after.n, 2);
	CU_ASSERT(poll_until(none_missing, &after, 10000));
	long long t0 = now_ms();
	remove_file("h0");
	CU_ASSERT(poll_until(none_present, &after, 15000));
	CU_ASSERT(now_ms() - t0 >= 2900);
	CU_ASSERT_EQUAL(proc_stop(&d, 10000), 0);

	/* Once region a applies the log too, it is trimmed: the meta-only region
	 * c, with no bucket and no cursor, does not hold it back. */
	uint64_t n = 0;
	CU_ASSERT_EQUAL(deletion_log_apply(meta, VOL, "a", store_a, BLOCK, "itest", 0, &n), 0);
	CU_ASSERT(n >= 2); /* g0 and h0, one slice or more each */
	CU_ASSERT_EQUAL(cmd_int("XLEN {" VOL "}:deletions"), 1);
	list_a(&all_a);
	CU_ASSERT(!in_set(&all_a, after.key[0]));
}

/* Entries that arrive one by one while a worker runs are read in batches:
 * after a read that does not fill its room, the next waits READ_GATHER_MS
 * (10 ms), so a worker reads at most about once per 10 ms, however fast
 * entries come. Without that wait it reads once per entry or two. */
static void test_trickle_read_in_batches(void)
{
	enum { FILES = 300, ROOM = 16 * 4 };
	CU_ASSERT_EQUAL_FATAL(redis_server_reset_stats(&redis), 0);
	long long t0 = now_ms();
	struct proc g;
	CU_ASSERT_EQUAL_FATAL(spawn(&g, "g1", NULL), 0);
	write_files("t", FILES, 1);
	CU_ASSERT_EQUAL_FATAL(after.n, FILES);
	CU_ASSERT(poll_until(none_missing, &after, 20000));
	CU_ASSERT_EQUAL(proc_stop(&g, 10000), 0);
	long long elapsed = now_ms() - t0;
	long long reads = redis_server_calls(&redis, "xreadgroup");
	fprintf(stderr, "%d entries in %lld ms: %lld reads\n", FILES, elapsed, reads);
	CU_ASSERT(reads > 0);
	CU_ASSERT(reads <= elapsed / 10 + FILES / ROOM + 3);
	CU_ASSERT(same_bytes());
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"flags, config and start-up errors", test_usage},
	    {"--once copies every block byte for byte and publishes lag 0", test_once},
	    {"SIGKILL mid-copy, then another worker: nothing lost", test_kill_restart},
	    {"two workers share the log", test_two_workers},
	    {"entries arriving one by one are read in batches", test_trickle_read_in_batches},
	    {"a first delivery writes without asking, a redelivery asks first",
	     test_first_delivery_writes_without_asking},
	    {"a deletion waits for the copy of its slice", test_deletion_waits_for_copy},
	    {"a deletion waits for its delay; meta-only regions do not block trimming",
	     test_deletion_delay},
	    {NULL, NULL}};
	if (test_add_suite("replicator", setup, teardown, tests) < 0)
		return 1;
	return test_run_all();
}
