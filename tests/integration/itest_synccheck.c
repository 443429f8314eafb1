/* `mcfs sync-check` and the replication fields of `mcfs status`, as an
 * operator runs them: one Redis primary with a real replica (the metadata of
 * mirror region b), two file:// buckets (regions a and b), files written
 * through a vfs in region a and no replicator, so b starts empty. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_run.h"
#include "config.h"
#include "cunit_main.h"
#include "json_check.h"
#include "fixture.h"
#include "objstore.h"
#include "proc.h"
#include "redis.h"
#include "vfs.h"

static struct redis_server primary, replica;
static char *tmp;
static char mcfs_bin[1024];
static char out[65536];
static char url_a[1200], url_b[1200];
static char dir_a[1100], dir_b[1100];

static int run(const char *const args[])
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/cli-out", tmp);
	return cli_run(mcfs_bin, path, out, sizeof(out), NULL, args);
}

#define RUN(...) run((const char *const[]){__VA_ARGS__, NULL})
#define HAS(s)	 CU_ASSERT_PTR_NOT_NULL(strstr(out, s))
#define HASNT(s) CU_ASSERT_PTR_NULL(strstr(out, s))

static void cmd_ok(const struct redis_server *rs, const char *fmt, const char *a, const char *b,
		   const char *c)
{
	redisReply *r = redis_server_cmd(rs, fmt, a, b, c);
	CU_ASSERT_PTR_NOT_NULL(r);
	CU_ASSERT(r && r->type != REDIS_REPLY_ERROR);
	if (r)
		freeReplyObject(r);
}

/* A number of region `name`'s object in the last JSON output; -1 if absent.
 * Every region object has the same fields, so the first after its name is its own. */
static long long region_num(const char *name, const char *field)
{
	char pat[160];
	snprintf(pat, sizeof(pat), "{\"name\":\"%s\"", name);
	const char *p = strstr(out, pat);
	if (!p)
		return -1;
	snprintf(pat, sizeof(pat), "\"%s\":", field);
	p = strstr(p, pat);
	return p && isdigit((unsigned char)p[strlen(pat)]) ? strtoll(p + strlen(pat), NULL, 10)
							   : -1;
}

/* Runs sync-check --json with args; checks the output is JSON. */
static int sync_json(const char *a1, const char *a2, const char *a3)
{
	const char *args[] = {"sync-check", "--meta", primary.url, "--json", a1, a2, a3, NULL};
	int rc = run(args);
	/* Log lines (stderr) come first in out: the JSON is the last line. */
	const char *json = out[0] == '{' ? out : strstr(out, "\n{");
	CU_ASSERT(json && json_ok(json));
	if (!json || !json_ok(json))
		fprintf(stderr, "not JSON: %s\n", out);
	return rc;
}

/* ---- the volume */

static int write_file(struct vfs *v, const char *name, size_t size, uint64_t seed)
{
	struct mcfs_attr a;
	int r = vfs_create(v, &ROOT_CRED, MCFS_ROOT_INO, name, 0644, VFS_CREATE_EXCL, &a, NULL);
	uint8_t *buf = malloc(size);
	if (r == 0 && !buf)
		r = -ENOMEM;
	if (r == 0) {
		pattern_fill(seed, 0, buf, size);
		r = vfs_write(v, &ROOT_CRED, a.ino, 0, buf, size, NULL);
	}
	if (r == 0)
		r = vfs_flush(v, a.ino);
	free(buf);
	return r;
}

/* Region a gets three files (six 64 KiB blocks and two short ones) and a
 * fourth that is unlinked at once: its slice waits in the deletion log. */
static int write_files(void)
{
	struct mcfs_config cfg;
	config_defaults(&cfg);
	struct vfs_options o = {.meta_url = primary.url, .region = "a", .cfg = &cfg};
	struct vfs *v = NULL;
	char err[512] = "";
	int r = vfs_open(&o, &v, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vfs_open: %s\n", err);
		return r;
	}
	r = write_file(v, "big", 5 * 65536 + 1000, 1);
	if (r == 0)
		r = write_file(v, "block", 65536, 2);
	if (r == 0)
		r = write_file(v, "tiny", 1, 3);
	if (r == 0)
		r = write_file(v, "gone", 100000, 4);
	if (r == 0)
		r = vfs_unlink(v, &ROOT_CRED, MCFS_ROOT_INO, "gone", NULL);
	int c = vfs_close(v);
	return r ? r : c;
}

static int setup(void)
{
	const char *b = getenv("MCFS_TOP_BUILDDIR");
	snprintf(mcfs_bin, sizeof(mcfs_bin), "%s/mcfs", b ? b : ".");
	tmp = test_tmpdir("synccheck");
	if (!tmp)
		return -1;
	snprintf(dir_a, sizeof(dir_a), "%s/ba", tmp);
	snprintf(dir_b, sizeof(dir_b), "%s/bb", tmp);
	snprintf(url_a, sizeof(url_a), "file://%s", dir_a);
	snprintf(url_b, sizeof(url_b), "file://%s", dir_b);
	if (redis_server_start(&primary) < 0 ||
	    redis_server_start_replica(&replica, &primary, 20000) < 0)
		return -1;
	if (RUN("format", "--meta", primary.url, "--bucket", url_a, "--region", "a", "--block-size",
		"64K", "vol") != 0 ||
	    RUN("region", "add", "--meta", primary.url, "--name", "b", "--mode", "mirror",
		"--bucket", url_b, "--replica-meta", replica.url) != 0) {
		fprintf(stderr, "%s", out);
		return -1;
	}
	return write_files() < 0 ? -1 : 0;
}

static int teardown(void)
{
	redis_server_stop(&replica);
	redis_server_stop(&primary);
	if (tmp)
		rm_rf(tmp);
	free(tmp);
	return 0;
}

/* ---- bucket files */

struct find {
	uint64_t size;
	char key[512];
};

static int find_cb(const struct objstore_entry *e, void *arg)
{
	struct find *f = arg;
	if (e->size != f->size)
		return 0;
	snprintf(f->key, sizeof(f->key), "%s", e->key);
	return 1;
}

/* The key of some block of `size` bytes in the bucket at url; "" if none. */
static void find_block(const char *url, uint64_t size, char *key, size_t len)
{
	struct objstore *os = NULL;
	struct find f = {.size = size};
	if (objstore_open(url, NULL, &os) == 0)
		objstore_list(os, "vol/chunks/", find_cb, &f);
	objstore_close(os);
	snprintf(key, len, "%s", f.key);
}

static long file_size(const char *dir, const char *key)
{
	char path[1800];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static bool same_file(const char *key)
{
	char pa[1800], pb[1800], ca[70000], cb[70000];
	snprintf(pa, sizeof(pa), "%s/%s", dir_a, key);
	snprintf(pb, sizeof(pb), "%s/%s", dir_b, key);
	FILE *fa = fopen(pa, "rb"), *fb = fopen(pb, "rb");
	size_t na = fa ? fread(ca, 1, sizeof(ca), fa) : 0;
	size_t nb = fb ? fread(cb, 1, sizeof(cb), fb) : 0;
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return fa && fb && na == nb && memcmp(ca, cb, na) == 0;
}

/* ---- tests */

static void test_usage(void)
{
	CU_ASSERT_EQUAL(RUN("sync-check", "--help"), 0);
	HAS("--repair");
	CU_ASSERT_EQUAL(RUN("--help"), 0);
	HAS("sync-check");
	CU_ASSERT_EQUAL(RUN("sync-check"), 2);
	CU_ASSERT_EQUAL(RUN("sync-check", "--meta", primary.url, "extra"), 2);
	CU_ASSERT_EQUAL(RUN("sync-check", "--meta", primary.url, "--min-age", "soon"), 2);
	HAS("--min-age");
	CU_ASSERT_EQUAL(RUN("sync-check", "--meta", primary.url, "--region", "nowhere"), 2);
	HAS("nowhere");
	char dead[64];
	snprintf(dead, sizeof(dead), "redis://127.0.0.1:%d", free_tcp_port());
	CU_ASSERT_EQUAL(RUN("sync-check", "--meta", dead), 2);
	/* Deleting by a replica's possibly older view could destroy new data. */
	CU_ASSERT_EQUAL(RUN("sync-check", "--meta", replica.url, "--repair"), 2);
	HAS("replica");
}

static void test_missing_then_repair(void)
{
	CU_ASSERT_EQUAL(sync_json(NULL, NULL, NULL), 1);
	HAS("\"clean\":false");
	long long needed = region_num("a", "needed");
	CU_ASSERT_EQUAL(needed, 8); /* 6 + 1 + 1 */
	CU_ASSERT_EQUAL(region_num("a", "present"), needed);
	CU_ASSERT_EQUAL(region_num("a", "missing"), 0);
	CU_ASSERT_EQUAL(region_num("a", "extra"), 0);
	CU_ASSERT_EQUAL(region_num("a", "pending_deletion"), 2); /* "gone": 64K + 34464 */
	CU_ASSERT_EQUAL(region_num("b", "needed"), needed);
	CU_ASSERT_EQUAL(region_num("b", "missing"), needed);
	CU_ASSERT_EQUAL(region_num("b", "present"), 0);

	CU_ASSERT_EQUAL(RUN("sync-check", "--meta", primary.url), 1);
	HAS("PROBLEMS REMAIN");
	HAS("--repair");
	CU_ASSERT_EQUAL(RUN("sync-check", "--meta", primary.url, "--region", "a"), 0);
	HASNT("region b");

	CU_ASSERT_EQUAL(sync_json("--repair", NULL, NULL), 0);
	CU_ASSERT_EQUAL(region_num("b", "copied"), needed);
	CU_ASSERT_EQUAL(region_num("b", "unrecoverable"), 0);
	CU_ASSERT_EQUAL(region_num("b", "problems"), 0);
	CU_ASSERT_EQUAL(sync_json(NULL, NULL, NULL), 0);
	HAS("\"clean\":true");
	CU_ASSERT_EQUAL(region_num("b", "present"), needed);
	/* The freed slice is not copied: the deletion log frees it everywhere. */
	CU_ASSERT_EQUAL(region_num("b", "pending_deletion"), 0);
	char key[512];
	find_block(url_b, 65536, key, sizeof(key));
	CU_ASSERT(key[0] && same_file(key));
	CU_ASSERT_EQUAL(RUN("sync-check", "--meta", primary.url), 0);
	HAS("clean");
}

static void test_extra_object(void)
{
	char path[1800];
	snprintf(path, sizeof(path), "%s/vol/chunks/0/999", dir_b);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/vol/chunks/0/999/999999_0_100", dir_b);
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite(out, 1, 100, f);
	fclose(f);
	/* Just written: it may be an upload whose commit is coming. */
	CU_ASSERT_EQUAL(sync_json("--repair", NULL, NULL), 0);
	CU_ASSERT_EQUAL(region_num("b", "young"), 1);
	CU_ASSERT_EQUAL(region_num("b", "extra"), 0);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	CU_ASSERT_EQUAL(sync_json("--min-age", "0", NULL), 1);
	CU_ASSERT_EQUAL(region_num("b", "extra"), 1);
	CU_ASSERT_EQUAL(region_num("b", "extra_bytes"), 100);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	CU_ASSERT_EQUAL(sync_json("--repair", "--min-age", "0"), 0);
	CU_ASSERT_EQUAL(region_num("b", "deleted"), 1);
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	/* The deletion log's blocks are its own business, whatever their age. */
	CU_ASSERT_EQUAL(region_num("a", "pending_deletion"), 2);
	CU_ASSERT_EQUAL(region_num("a", "deleted"), 0);
}

static void test_wrong_size(void)
{
	char key[512], path[1800];
	find_block(url_b, 65536, key, sizeof(key));
	CU_ASSERT_FATAL(key[0] != '\0');
	snprintf(path, sizeof(path), "%s/%s", dir_b, key);
	CU_ASSERT_EQUAL(truncate(path, 1000), 0);
	CU_ASSERT_EQUAL(sync_json(NULL, NULL, NULL), 1);
	CU_ASSERT_EQUAL(region_num("b", "wrong_size"), 1);
	CU_ASSERT_EQUAL(region_num("b", "missing"), 0);
	CU_ASSERT_EQUAL(region_num("a", "wrong_size"), 0);
	CU_ASSERT_EQUAL(sync_json("--repair", NULL, NULL), 0);
	CU_ASSERT_EQUAL(region_num("b", "copied"), 1);
	CU_ASSERT_EQUAL(file_size(dir_b, key), 65536);
	CU_ASSERT(same_file(key));
}

static void test_lost_block(void)
{
	char key[512], pa[1800], pb[1800], saved[1800];
	find_block(url_a, 65536, key, sizeof(key));
	CU_ASSERT_FATAL(key[0] != '\0');
	snprintf(pa, sizeof(pa), "%s/%s", dir_a, key);
	snprintf(pb, sizeof(pb), "%s/%s", dir_b, key);
	snprintf(saved, sizeof(saved), "%s/saved-block", tmp);
	CU_ASSERT_EQUAL_FATAL(rename(pa, saved), 0);
	CU_ASSERT_EQUAL(unlink(pb), 0);
	/* In no bucket: repair cannot help, and says so. */
	CU_ASSERT_EQUAL(sync_json("--repair", NULL, NULL), 1);
	CU_ASSERT_EQUAL(region_num("a", "missing"), 1);
	CU_ASSERT_EQUAL(region_num("a", "unrecoverable"), 1);
	CU_ASSERT_EQUAL(region_num("b", "unrecoverable"), 1);
	CU_ASSERT_EQUAL(region_num("b", "problems"), 1);
	/* Back in one bucket: the other one gets it from there. */
	CU_ASSERT_EQUAL(rename(saved, pa), 0);
	CU_ASSERT_EQUAL(sync_json("--repair", "--region", "b"), 0);
	CU_ASSERT_EQUAL(region_num("b", "copied"), 1);
	CU_ASSERT_EQUAL(region_num("a", "needed"), -1);
	CU_ASSERT(same_file(key));
}

static void test_status_replication(void)
{
	char now[32], old[32], progress[512];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts); /* replicators publish unix time */
	long long t = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	/* No progress published yet: status says there is no replicator. */
	CU_ASSERT_EQUAL(RUN("status", "--meta", primary.url), 0);
	HAS("no replicator");
	HAS("link up");
	snprintf(progress, sizeof(progress),
		 "lag_objects=5;lag_bytes=327680;oldest_ms=%lld;low_watermark=17;updated_ms=%lld;"
		 "copied_objects=10;copied_bytes=655360;missing=1;workers=1",
		 t - 65000, t);
	cmd_ok(&primary, "HSET {vol}:replication %s %s", "b", progress, NULL);
	snprintf(now, sizeof(now), "%lld", t);
	snprintf(progress, sizeof(progress), "updated_ms=%s;copied_objects=10;copied_bytes=655360",
		 now);
	cmd_ok(&primary, "HSET {vol}:replicators %s %s", "b/worker-1", progress, NULL);
	CU_ASSERT_EQUAL(redis_wait_replicated(primary.port, "127.0.0.1", replica.port, 10000), 0);

	CU_ASSERT_EQUAL(RUN("status", "--meta", primary.url, "--json"), 0);
	CU_ASSERT(json_ok(out));
	HAS("\"bucket_status\":\"ok\""); /* the fields that were there stay */
	HAS("\"state\":\"ok\"");
	CU_ASSERT_EQUAL(region_num("b", "lag_objects"), 5);
	CU_ASSERT_EQUAL(region_num("b", "lag_bytes"), 327680);
	CU_ASSERT(region_num("b", "oldest_age_ms") >= 65000);
	CU_ASSERT_EQUAL(region_num("b", "low_watermark"), 17);
	CU_ASSERT_EQUAL(region_num("b", "missing"), 1);
	CU_ASSERT_EQUAL(region_num("b", "live_workers"), 1);
	HAS("\"consumer\":\"worker-1\"");
	/* The real replica: link up, caught up (waited for above). */
	HAS("\"reachable\":true");
	HAS("\"link\":\"up\"");
	/* 0, or a replication PING (a few bytes) the replica has not had yet */
	CU_ASSERT(region_num("b", "bytes_behind") >= 0 && region_num("b", "bytes_behind") < 100);
	CU_ASSERT(region_num("b", "last_io_s") >= 0);
	HAS("\"metadata_replication\":{\"role\":\"primary\"");
	CU_ASSERT(strstr(out, "\"state\":\"online\"") != NULL);

	/* A replicator silent for minutes is flagged. */
	snprintf(old, sizeof(old), "%lld", t - 300000);
	snprintf(progress, sizeof(progress), "lag_objects=0;lag_bytes=0;oldest_ms=0;updated_ms=%s",
		 old);
	cmd_ok(&primary, "HSET {vol}:replication %s %s", "b", progress, NULL);
	CU_ASSERT_EQUAL(RUN("status", "--meta", primary.url, "--json"), 0);
	HAS("\"state\":\"stale\"");
	CU_ASSERT_EQUAL(region_num("b", "oldest_age_ms"), 0);
	CU_ASSERT_EQUAL(RUN("status", "--meta", primary.url), 0);
	HAS("STALE");

	/* A replica nobody answers at is shown, not an error. */
	char dead[64];
	snprintf(dead, sizeof(dead), "redis://127.0.0.1:%d", free_tcp_port());
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", primary.url, "--name", "c", "--mode",
			    "meta-only", "--replica-meta", dead, "--no-probe"),
			0);
	CU_ASSERT_EQUAL(RUN("status", "--meta", primary.url, "--json"), 0);
	CU_ASSERT(json_ok(out));
	HAS("\"reachable\":false");
	CU_ASSERT_EQUAL(RUN("status", "--meta", primary.url), 0);
	HAS("UNREACHABLE");
	/* A meta-only region has no bucket to check. */
	CU_ASSERT_EQUAL(RUN("sync-check", "--meta", primary.url, "--region", "c"), 2);
	HAS("no bucket of its own");
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"usage and exit codes", test_usage},
	    {"a new region misses everything; --repair copies it", test_missing_then_repair},
	    {"an extra object: young is kept, old is deleted", test_extra_object},
	    {"a wrong-size block is found and replaced", test_wrong_size},
	    {"a block in no bucket is unrecoverable", test_lost_block},
	    {"status shows replication and replica lag", test_status_replication},
	    {NULL, NULL}};
	if (test_add_suite("sync-check and replication status", setup, teardown, tests) < 0)
		return 1;
	return test_run_all();
}
