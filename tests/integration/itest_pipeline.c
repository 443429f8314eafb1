/* The file system driven from coroutines of event loops, as the gateway
 * drives it: their Redis commands share one pipelined connection per loop.
 * Against a real redis-server: many coroutines at once, Redis killed and
 * restarted under them, a frozen Redis timing out, and the scripts telling
 * a retry of an applied call from a new call. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coro.h"
#include "countdown.h"
#include "cunit_main.h"
#include "evloop.h"
#include "fixture.h"
#include "fsck.h"
#include "meta.h"
#include "meta_ops.h"
#include "slice.h"
#include "vfs.h"

#define BLOCK	   (1u << 20)
#define NLOOPS	   2
#define DEADLINE_S 120

static struct fixture fx;
static struct vfs *short_timeout_vfs;
static struct evloop *loops[NLOOPS];
static pthread_t loop_threads[NLOOPS];

static void *loop_main(void *arg)
{
	evloop_run(arg);
	return NULL;
}

static int suite_start(void)
{
	if (fixture_start(&fx, false, BLOCK) < 0)
		return -1;
	for (int i = 0; i < NLOOPS; i++)
		if (evloop_create(&loops[i]) < 0 ||
		    pthread_create(&loop_threads[i], NULL, loop_main, loops[i]) != 0)
			return -1;
	return 0;
}

static int suite_stop(void)
{
	for (int i = 0; i < NLOOPS; i++) {
		evloop_stop(loops[i]);
		pthread_join(loop_threads[i], NULL);
	}
	/* A vfs (and its pipelines) goes after the loops stopped running. */
	if (short_timeout_vfs)
		vfs_close(short_timeout_vfs);
	fixture_stop(&fx);
	for (int i = 0; i < NLOOPS; i++)
		evloop_destroy(loops[i]);
	return 0;
}

/* Coroutines still running; the test thread waits for none, with a deadline. */
static struct countdown left = COUNTDOWN_INITIALIZER;

static void spawn_all(void (*fn)(void *), void **args, int n)
{
	countdown_set(&left, n);
	for (int i = 0; i < n; i++)
		CU_ASSERT_FATAL(coro_spawn(loops[i % NLOOPS], fn, args[i]) == 0);
}

static void one_done(void)
{
	countdown_one(&left);
}

static bool all_done(void)
{
	return countdown_wait(&left, DEADLINE_S * 1000);
}

static long long info_field(const char *section, const char *field)
{
	redisReply *r = redis_server_cmd(&fx.redis, "INFO %s", section);
	long long v = -1;
	if (r && r->type == REDIS_REPLY_STRING) {
		const char *p = strstr(r->str, field);
		if (p)
			v = atoll(p + strlen(field) + 1);
	}
	if (r)
		freeReplyObject(r);
	return v;
}

/* ------------------------------------------------------------ many coroutines */

struct job {
	int id;
	int rounds;
	int ok, errors;
	struct vfs *v;
};

/* Create, write, flush, look up, read back, remove: every step checked. */
static int file_round(struct vfs *v, int id, int round, uint8_t *buf, uint8_t *back)
{
	char name[64];
	snprintf(name, sizeof(name), "p-%d-%d", id, round);
	struct mcfs_attr a, b;
	int r = vfs_create(v, &ROOT_CRED, MCFS_ROOT_INO, name, 0644, 0, &a, NULL);
	if (r < 0)
		return r;
	size_t len = 8192 + (size_t)id * 17;
	pattern_fill(a.ino, 0, buf, len);
	r = vfs_write(v, &ROOT_CRED, a.ino, 0, buf, len, NULL);
	if (r == 0)
		r = vfs_flush(v, a.ino);
	if (r == 0)
		r = vfs_lookup(v, &ROOT_CRED, MCFS_ROOT_INO, name, &b);
	if (r == 0 && (b.ino != a.ino || b.size != len))
		r = -EIO;
	size_t got = 0;
	bool eof;
	if (r == 0)
		r = vfs_read(v, a.ino, 0, len, back, &got, &eof);
	if (r == 0 && (got != len || pattern_check(a.ino, 0, back, got) >= 0))
		r = -EIO;
	if (r == 0)
		r = vfs_unlink(v, &ROOT_CRED, MCFS_ROOT_INO, name, NULL);
	return r;
}

static void run_job(void *arg)
{
	struct job *j = arg;
	uint8_t *buf = malloc(16384), *back = malloc(16384);
	for (int i = 0; i < j->rounds && buf && back; i++) {
		if (file_round(j->v, j->id, i, buf, back) == 0)
			j->ok++;
		else
			j->errors++;
	}
	free(buf);
	free(back);
	one_done();
}

static bool no_coroutine_left(void *arg)
{
	(void)arg;
	return coro_live() == 0;
}

static void test_many_coroutines_share_a_pipeline(void)
{
	enum { JOBS = 80, ROUNDS = 5 };
	struct job jobs[JOBS];
	void *args[JOBS];
	long long reads0 = info_field("stats", "total_reads_processed");
	long long cmds0 = info_field("stats", "total_commands_processed");
	for (int i = 0; i < JOBS; i++) {
		jobs[i] = (struct job){.id = i, .rounds = ROUNDS, .v = fx.vfs};
		args[i] = &jobs[i];
	}
	spawn_all(run_job, args, JOBS);
	CU_ASSERT_FATAL(all_done());
	int ok = 0, errors = 0;
	for (int i = 0; i < JOBS; i++) {
		ok += jobs[i].ok;
		errors += jobs[i].errors;
	}
	CU_ASSERT_EQUAL(ok, JOBS * ROUNDS);
	CU_ASSERT_EQUAL(errors, 0);
	/* Many commands arrived per read: they were pipelined. */
	long long reads = info_field("stats", "total_reads_processed") - reads0;
	long long cmds = info_field("stats", "total_commands_processed") - cmds0;
	fprintf(stderr, "  [%lld commands in %lld reads]\n", cmds, reads);
	CU_ASSERT(reads > 0 && cmds > 2 * reads);
	/* One connection per loop on top of the plain threads' pool. */
	CU_ASSERT(info_field("clients", "connected_clients") <= 8 + NLOOPS + 1);
	/* A job says it is done just before its coroutine returns and is
	 * freed: each of them ends, soon. */
	CU_ASSERT(wait_until(no_coroutine_left, NULL, 10000) == 0);
}

/* ------------------------------------------------------------ Redis killed */

struct load {
	struct vfs *v;
	int stop;
	int files_ok, errors;
	mcfs_ino_t ok_inos[4096];
	pthread_mutex_t lock;
};

static struct load load = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void load_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint8_t *buf = malloc(65536);
	for (int i = 0; buf && !__atomic_load_n(&load.stop, __ATOMIC_ACQUIRE); i++) {
		char name[48];
		snprintf(name, sizeof(name), "k-%d-%d", id, i);
		struct mcfs_attr a;
		int r = vfs_create(load.v, &ROOT_CRED, MCFS_ROOT_INO, name, 0644, 0, &a, NULL);
		if (r == 0) {
			pattern_fill(a.ino, 0, buf, 65536);
			r = vfs_write(load.v, &ROOT_CRED, a.ino, 0, buf, 65536, NULL);
		}
		if (r == 0)
			r = vfs_flush(load.v, a.ino);
		pthread_mutex_lock(&load.lock);
		if (r == 0 && load.files_ok < 4096)
			load.ok_inos[load.files_ok++] = a.ino;
		else if (r < 0)
			load.errors++;
		pthread_mutex_unlock(&load.lock);
		if (r < 0)
			coro_sleep_ms(20);
	}
	free(buf);
	one_done();
}

static int load_ok(void)
{
	pthread_mutex_lock(&load.lock);
	int n = load.files_ok;
	pthread_mutex_unlock(&load.lock);
	return n;
}

static int progress_from;

static bool load_progressed(void *arg)
{
	(void)arg;
	return load_ok() >= progress_from + 40;
}

static bool load_failed(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&load.lock);
	bool failed = load.errors > 0;
	pthread_mutex_unlock(&load.lock);
	return failed;
}

static void test_redis_killed_under_coroutines(void)
{
	enum { WORKERS = 16 };
	void *args[WORKERS];
	load.v = fx.vfs;
	for (int i = 0; i < WORKERS; i++)
		args[i] = (void *)(intptr_t)i;
	spawn_all(load_main, args, WORKERS);
	progress_from = 0;
	CU_ASSERT_EQUAL(wait_until(load_progressed, NULL, 60000), 0);
	redis_server_kill(&fx.redis);
	CU_ASSERT_EQUAL(wait_until(load_failed, NULL, 60000), 0);
	CU_ASSERT_EQUAL(redis_server_restart(&fx.redis), 0);
	/* The loops' connections come back by themselves. */
	progress_from = load_ok();
	CU_ASSERT_EQUAL(wait_until(load_progressed, NULL, 60000), 0);
	__atomic_store_n(&load.stop, 1, __ATOMIC_RELEASE);
	CU_ASSERT_FATAL(all_done());
	CU_ASSERT_EQUAL(pattern_check_files(fx.vfs, load.ok_inos, load.files_ok, 65536), 0);
	struct fsck_report rep;
	CU_ASSERT_EQUAL(fsck_run(fx.vfs, &rep), 0);
	CU_ASSERT_EQUAL(rep.missing_blocks, 0);
	CU_ASSERT_EQUAL(rep.dangling_entries, 0);
	CU_ASSERT_EQUAL(rep.damaged_attrs, 0);
	fprintf(stderr, "  [%d files committed, %d clean errors while Redis was down]\n",
		load.files_ok, load.errors);
}

/* ------------------------------------------------------------ frozen Redis */

struct timed {
	struct vfs *v;
	int result;
	long long ms;
};

static void getattr_timed(void *arg)
{
	struct timed *t = arg;
	struct mcfs_attr a;
	long long t0 = evloop_now_ms();
	t->result = vfs_getattr(t->v, MCFS_ROOT_INO, &a);
	t->ms = evloop_now_ms() - t0;
	one_done();
}

static void test_frozen_redis_times_out(void)
{
	fx.cfg.meta_timeout_s = 1;
	CU_ASSERT_FATAL(fixture_open_vfs(&fx, &short_timeout_vfs) == 0);
	struct vfs *v = short_timeout_vfs;
	struct timed t = {.v = v};
	void *arg = &t;
	spawn_all(getattr_timed, &arg, 1);
	CU_ASSERT_FATAL(all_done());
	CU_ASSERT_EQUAL(t.result, 0);
	kill(fx.redis.proc.pid, SIGSTOP);
	spawn_all(getattr_timed, &arg, 1);
	bool done = all_done();
	kill(fx.redis.proc.pid, SIGCONT);
	CU_ASSERT_FATAL(done);
	/* Five tries of a second each, with backoff between them. */
	CU_ASSERT_EQUAL(t.result, -ETIMEDOUT);
	CU_ASSERT(t.ms >= 4000 && t.ms < 20000);
	spawn_all(getattr_timed, &arg, 1);
	CU_ASSERT_FATAL(all_done());
	CU_ASSERT_EQUAL(t.result, 0);
	fx.cfg.meta_timeout_s = 5;
}

/* ------------------------------------------------------------ retries */

static struct meta *meta;

static redisReply *script(const char *name, int argc, const char **argv, const size_t *lens)
{
	redisReply *rep = NULL;
	int r = meta_eval(meta, name, "{test}:setting", argc, argv, lens, &rep);
	CU_ASSERT_EQUAL(r, 0);
	return r == 0 ? rep : NULL;
}

static long long status_of(redisReply *rep)
{
	long long s = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 0
			  ? rep->element[0]->integer
			  : -1;
	if (rep)
		meta_reply_free(rep);
	return s;
}

/* An exclusive create of mode 0755 by root in the root directory (inode 1),
 * its inode number its order number too. */
static long long mknode(const char *opid, const char *name, const char *type, const char *ino)
{
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_str(&a, name);
	args_str(&a, "0");
	args_str(&a, "");
	uint64_t n = strtoull(ino, NULL, 10);
	args_pack_u64(&a, 1);
	args_pack_u64(&a, n);
	args_pack_u64(&a, n);
	args_pack_u32(&a, (uint32_t)atoi(type));
	args_pack_u32(&a, 0755);
	for (int i = 0; i < 4; i++)
		args_pack_u32(&a, 0); /* uid, gid, rdev */
	args_pack_u32(&a, 1);
	args_packed_end(&a);
	return status_of(script("mknode", a.n, a.v, a.len));
}

/* An unlink (or rmdir) by root in the root directory. */
static long long unlink_name(const char *opid, const char *name, const char *is_dir)
{
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_str(&a, name);
	args_str(&a, "0");
	args_pack_u64(&a, 1);
	args_pack_u32(&a, (uint32_t)atoi(is_dir));
	args_pack_u32(&a, 0);
	args_packed_end(&a);
	return status_of(script("unlink", a.n, a.v, a.len));
}

static long long commit(const char *opid, const char *ino, const uint8_t *rec, long long *nslices)
{
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_bin(&a, rec, SLICE_PACKED_LEN);
	args_pack_u64(&a, strtoull(ino, NULL, 10));
	args_pack_u64(&a, 0);	 /* chunk */
	args_pack_u64(&a, 4096); /* end */
	args_pack_u32(&a, 0);	 /* uid */
	args_pack_u32(&a, 1);	 /* writes */
	args_packed_end(&a);
	redisReply *rep = script("commit_slice", a.n, a.v, a.len);
	*nslices = rep && rep->elements > 2 ? rep->element[2]->integer : -1;
	return status_of(rep);
}

static void test_retries_recognise_their_first_try(void)
{
	char err[256];
	struct meta_options mo = {.url = fx.redis.url};
	CU_ASSERT_FATAL(meta_connect(&mo, &meta, err, sizeof(err)) == 0);
	/* A mkdir applied once: its retry (same inode number) succeeds, a new
	 * call fails, and so does a retry of another call. */
	CU_ASSERT_EQUAL(mknode("op-a", "d1", "2", "900000001"), 0);
	CU_ASSERT_EQUAL(mknode("op-a+", "d1", "2", "900000001"), 0);
	CU_ASSERT_EQUAL(mknode("op-b", "d1", "2", "900000002"), EEXIST);
	CU_ASSERT_EQUAL(mknode("op-c+", "d1", "2", "900000003"), EEXIST);
	/* An unlink: the retry of an applied one succeeds, a new one does not. */
	CU_ASSERT_EQUAL(mknode("op-d", "f1", "1", "900000004"), 0);
	CU_ASSERT_EQUAL(unlink_name("op-e", "f1", "0"), 0);
	CU_ASSERT_EQUAL(unlink_name("op-e+", "f1", "0"), 0);
	CU_ASSERT_EQUAL(unlink_name("op-f", "f1", "0"), ENOENT);
	/* A commit: its retry finds the slice and appends nothing. */
	CU_ASSERT_EQUAL(mknode("op-g", "f2", "1", "900000005"), 0);
	struct slice_rec s = {.id = 77, .size = 4096, .off = 0, .pos = 0, .len = 4096};
	uint8_t rec[SLICE_PACKED_LEN];
	slice_pack(&s, rec);
	long long n = 0;
	CU_ASSERT_EQUAL(commit("op-h", "900000005", rec, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(commit("op-h+", "900000005", rec, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	/* The remembered result of a call without its own trace (a rename):
	 * the retry answers it without renaming again. */
	const char *ren[] = {"op-i", "1", "f2", "1", "f3", "0", "0", "0"};
	CU_ASSERT_EQUAL(status_of(script("rename", 8, ren, NULL)), 0);
	ren[0] = "op-i+";
	CU_ASSERT_EQUAL(status_of(script("rename", 8, ren, NULL)), 0);
	ren[0] = "op-j";
	CU_ASSERT_EQUAL(status_of(script("rename", 8, ren, NULL)), ENOENT);
	meta_close(meta);
}

/* An argument list that overflowed is refused, never sent cut short. */
static void test_overflowed_arguments_refused(void)
{
	char err[256];
	struct meta_options mo = {.url = fx.redis.url};
	CU_ASSERT_FATAL(meta_connect(&mo, &meta, err, sizeof(err)) == 0);
	struct meta_args a;
	args_init(&a);
	for (int i = 0; i <= META_ARGS_MAX; i++)
		args_str(&a, "x");
	redisReply *rep = NULL;
	CU_ASSERT_EQUAL(meta_eval_op(meta, "mknode", "{test}:setting", a.n, a.v, a.len, &rep),
			-E2BIG);
	CU_ASSERT_PTR_NULL(rep);
	meta_close(meta);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"many coroutines share a pipelined connection per loop",
	     test_many_coroutines_share_a_pipeline},
	    {"Redis killed and restarted under coroutines: nothing lost",
	     test_redis_killed_under_coroutines},
	    {"a frozen Redis times out, then serves again", test_frozen_redis_times_out},
	    {"scripts tell a retry of an applied call from a new call",
	     test_retries_recognise_their_first_try},
	    {"an overflowed argument list is refused", test_overflowed_arguments_refused},
	    {NULL, NULL},
	};
	if (test_add_suite("metadata pipeline", suite_start, suite_stop, tests) != 0)
		return 1;
	return test_run_all();
}
