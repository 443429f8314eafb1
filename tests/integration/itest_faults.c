/* Faults on the real servers: Redis killed and restarted in the middle of a
 * workload, a dead Redis, a Redis that lost or refuses mcfs's functions, a
 * wrong S3 secret, an S3 server that goes away. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cunit_main.h"
#include "fixture.h"
#include "fsck.h"
#include "layout.h"
#include "meta.h"
#include "vfs.h"

#define BLOCK (1u << 20)

static struct fixture fx;

static int start_file(void)
{
	return fixture_start(&fx, false, BLOCK) < 0 ? -1 : 0;
}

static int start_s3(void)
{
	return fixture_start(&fx, true, BLOCK) < 0 ? -1 : 0;
}

static int stop(void)
{
	fixture_stop(&fx);
	return 0;
}

struct workload {
	struct vfs *v;
	int stop;
	int files_ok, errors;
	mcfs_ino_t ok_inos[4096];
};

/* Creates files, writes 200 KiB each and flushes, until told to stop. Files
 * whose every step succeeded are remembered; errors must be clean. */
static void *workload_main(void *p)
{
	struct workload *w = p;
	uint8_t *buf = malloc(200000);
	for (int i = 0; !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) && w->files_ok < 4096; i++) {
		char name[32];
		snprintf(name, sizeof(name), "w-%d", i);
		struct mcfs_attr a;
		int r = vfs_create(w->v, &ROOT_CRED, MCFS_ROOT_INO, name, 0644, 0, &a, NULL);
		if (r == 0) {
			pattern_fill(a.ino, 0, buf, 200000);
			r = vfs_write(w->v, &ROOT_CRED, a.ino, 0, buf, 200000, NULL);
		}
		if (r == 0)
			r = vfs_flush(w->v, a.ino);
		if (r == 0) {
			w->ok_inos[w->files_ok] = a.ino;
			__atomic_add_fetch(&w->files_ok, 1, __ATOMIC_RELEASE);
		} else {
			__atomic_add_fetch(&w->errors, 1, __ATOMIC_RELEASE);
		}
	}
	free(buf);
	return NULL;
}

static bool workload_progressed(void *arg)
{
	struct workload *w = arg;
	return __atomic_load_n(&w->files_ok, __ATOMIC_ACQUIRE) >= 20;
}

static bool workload_failed(void *arg)
{
	struct workload *w = arg;
	return __atomic_load_n(&w->errors, __ATOMIC_ACQUIRE) > 0;
}

static int resume_base;

static bool workload_resumed(void *arg)
{
	struct workload *w = arg;
	return __atomic_load_n(&w->files_ok, __ATOMIC_ACQUIRE) >= resume_base + 20;
}

static void test_redis_killed_and_restarted(void)
{
	struct workload w = {.v = fx.vfs};
	pthread_t th;
	pthread_create(&th, NULL, workload_main, &w);
	CU_ASSERT_EQUAL(wait_until(workload_progressed, &w, 60000), 0);
	redis_server_kill(&fx.redis); /* SIGKILL: no shutdown, no save */
	CU_ASSERT_EQUAL(wait_until(workload_failed, &w, 60000), 0);
	CU_ASSERT_EQUAL(redis_server_restart(&fx.redis), 0);
	/* the same vfs reconnects by itself and carries on */
	resume_base = __atomic_load_n(&w.files_ok, __ATOMIC_ACQUIRE);
	CU_ASSERT_EQUAL(wait_until(workload_resumed, &w, 60000), 0);
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	/* every file acknowledged as flushed is intact, byte for byte */
	CU_ASSERT_EQUAL(pattern_check_files(fx.vfs, w.ok_inos, w.files_ok, 200000), 0);
	struct fsck_report rep;
	CU_ASSERT_EQUAL(fsck_run(fx.vfs, &rep), 0);
	CU_ASSERT_EQUAL(rep.missing_blocks, 0);
	CU_ASSERT_EQUAL(rep.dangling_entries, 0);
	CU_ASSERT_EQUAL(rep.damaged_attrs, 0);
	fprintf(stderr, "  [%d files committed, %d clean errors while Redis was down]\n",
		w.files_ok, w.errors);
}

static void test_dead_redis_is_a_prompt_clear_error(void)
{
	int port = free_tcp_port();
	char url[64], err[512] = "";
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
	struct vfs_options o = {.meta_url = url, .cfg = &fx.cfg};
	struct vfs *v = NULL;
	long long t0 = now_ms();
	int r = vfs_open(&o, &v, err, sizeof(err));
	long long took = now_ms() - t0;
	CU_ASSERT_EQUAL(r, -ECONNREFUSED);
	CU_ASSERT(took < 5000);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot connect"));
	/* and an open vfs whose Redis dies answers with an error, not a hang */
	redis_server_kill(&fx.redis);
	struct mcfs_attr a;
	t0 = now_ms();
	r = vfs_getattr(fx.vfs, MCFS_ROOT_INO, &a);
	took = now_ms() - t0;
	CU_ASSERT(r == -ECONNREFUSED || r == -ECONNRESET);
	CU_ASSERT(took < 15000);
	CU_ASSERT_EQUAL(redis_server_restart(&fx.redis), 0);
	CU_ASSERT_EQUAL(vfs_getattr(fx.vfs, MCFS_ROOT_INO, &a), 0);
}

/* Creates a file, writes and commits its data, looks it up and removes it:
 * every script of a file's life. */
static void file_life(const char *name)
{
	struct mcfs_attr a;
	CU_ASSERT_EQUAL_FATAL(
	    vfs_create(fx.vfs, &ROOT_CRED, MCFS_ROOT_INO, name, 0644, 0, &a, NULL), 0);
	CU_ASSERT_EQUAL(vfs_write(fx.vfs, &ROOT_CRED, a.ino, 0, "data", 4, NULL), 0);
	CU_ASSERT_EQUAL(vfs_flush(fx.vfs, a.ino), 0);
	CU_ASSERT_EQUAL(vfs_lookup(fx.vfs, &ROOT_CRED, MCFS_ROOT_INO, name, &a), 0);
	CU_ASSERT_EQUAL(a.size, 4);
	CU_ASSERT_EQUAL(vfs_unlink(fx.vfs, &ROOT_CRED, MCFS_ROOT_INO, name, NULL), 0);
	CU_ASSERT_EQUAL(vfs_lookup(fx.vfs, &ROOT_CRED, MCFS_ROOT_INO, name, &a), -ENOENT);
}

/* Whether the server holds this build's library of functions. */
static bool library_loaded(void)
{
	char lib[64];
	snprintf(lib, sizeof(lib), "mcfs_%s", meta_library_tag);
	redisReply *r = redis_server_cmd(&fx.redis, "FUNCTION LIST LIBRARYNAME %s", lib);
	bool found = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1;
	if (r)
		freeReplyObject(r);
	return found;
}

static long long calls_of(const char *command)
{
	redisReply *r = redis_server_cmd(&fx.redis, "INFO commandstats");
	char key[64];
	snprintf(key, sizeof(key), "cmdstat_%s:calls=", command);
	const char *at = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, key) : NULL;
	long long n = at ? atoll(at + strlen(key)) : 0;
	if (r)
		freeReplyObject(r);
	return n;
}

static void cmd_ok(const char *cmd)
{
	redisReply *r = redis_server_cmd(&fx.redis, cmd);
	CU_ASSERT(r && r->type != REDIS_REPLY_ERROR);
	if (r)
		freeReplyObject(r);
}

/* A server that lost its functions and scripts (FUNCTION FLUSH, or a
 * failover to a server without them) gets the library again. */
static void test_functions_lost_are_loaded_again(void)
{
	file_life("fn-before");
	CU_ASSERT(library_loaded());
	cmd_ok("FUNCTION FLUSH");
	cmd_ok("SCRIPT FLUSH");
	CU_ASSERT(!library_loaded());
	cmd_ok("CONFIG RESETSTAT");
	file_life("fn-after");
	CU_ASSERT(library_loaded());
	CU_ASSERT(calls_of("fcall") >= 3);
	CU_ASSERT_EQUAL(calls_of("evalsha"), 0);
}

/* A server that will not load the library (here its ACL denies FUNCTION)
 * runs the same scripts by EVAL. Last of its suite: the volume stays on
 * EVAL from then on. */
static void test_functions_refused_run_by_eval(void)
{
	cmd_ok("FUNCTION FLUSH");
	cmd_ok("ACL SETUSER default -function");
	cmd_ok("CONFIG RESETSTAT");
	file_life("eval-1");
	file_life("eval-2");
	CU_ASSERT(!library_loaded());
	CU_ASSERT(calls_of("evalsha") >= 6);
	cmd_ok("ACL SETUSER default +@all");
	struct fsck_report rep;
	CU_ASSERT_EQUAL(fsck_run(fx.vfs, &rep), 0);
	CU_ASSERT_EQUAL(rep.dangling_entries, 0);
	CU_ASSERT_EQUAL(rep.damaged_attrs, 0);
}

static void test_wrong_s3_secret_refused(void)
{
	struct mcfs_config bad = fx.cfg;
	snprintf(bad.s3_secret_key, sizeof(bad.s3_secret_key), "not-the-secret");
	struct vfs_options o = {.meta_url = fx.redis.url, .cfg = &bad};
	struct vfs *v = NULL;
	char err[512] = "";
	long long t0 = now_ms();
	int r = vfs_open(&o, &v, err, sizeof(err));
	CU_ASSERT_EQUAL(r, -EACCES);
	CU_ASSERT(now_ms() - t0 < 5000); /* a 403 is not retried */
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "access denied"));
	CU_ASSERT_PTR_NULL(strstr(err, "not-the-secret"));
}

static void test_s3_outage_is_retried_or_reported(void)
{
	mcfs_ino_t ino;
	struct mcfs_attr a;
	CU_ASSERT_EQUAL_FATAL(
	    vfs_create(fx.vfs, &ROOT_CRED, MCFS_ROOT_INO, "outage", 0644, 0, &a, NULL), 0);
	ino = a.ino;
	/* Not a whole number of blocks: the tail is uploaded only by the flush. */
	const size_t size = 3 * BLOCK + 1000;
	uint8_t *buf = malloc(size);
	pattern_fill(77, 0, buf, size);
	CU_ASSERT_EQUAL(vfs_write(fx.vfs, &ROOT_CRED, ino, 0, buf, size, NULL), 0);
	CU_ASSERT_EQUAL(s3_server_pause(&fx.s3), 0);
	long long t0 = now_ms();
	int r = vfs_flush(fx.vfs, ino);
	CU_ASSERT(r < 0); /* the bucket is down: a clean error after bounded retries */
	CU_ASSERT(now_ms() - t0 < 60000);
	CU_ASSERT_EQUAL(s3_server_resume(&fx.s3), 0);
	CU_ASSERT_EQUAL(vfs_flush(fx.vfs, ino), 0); /* nothing was lost: flushed now */
	size_t got;
	bool eof;
	memset(buf, 0, size);
	CU_ASSERT_EQUAL(vfs_read(fx.vfs, ino, 0, size, buf, &got, &eof), 0);
	CU_ASSERT_EQUAL(got, size);
	CU_ASSERT_EQUAL(pattern_check(77, 0, buf, got), -1);
	free(buf);
}

int main(void)
{
	static const struct test_case file_tests[] = {
	    {"redis killed and restarted mid-run", test_redis_killed_and_restarted},
	    {"dead redis: prompt clear error", test_dead_redis_is_a_prompt_clear_error},
	    {"functions lost: loaded again", test_functions_lost_are_loaded_again},
	    {"functions refused: scripts by EVAL", test_functions_refused_run_by_eval},
	    {NULL, NULL}};
	static const struct test_case s3_tests[] = {
	    {"wrong S3 secret refused", test_wrong_s3_secret_refused},
	    {"S3 outage: clean error, then flushed", test_s3_outage_is_retried_or_reported},
	    {"redis killed and restarted mid-run (S3)", test_redis_killed_and_restarted},
	    {NULL, NULL}};
	if (test_add_suite("faults, file:// bucket", start_file, stop, file_tests) < 0 ||
	    test_add_suite("faults, s3rver bucket", start_s3, stop, s3_tests) < 0)
		return 1;
	return test_run_all();
}
