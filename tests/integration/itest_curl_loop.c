/* S3 requests made on coroutines run on their event loop's libcurl multi
 * handle (fscore/curl_loop.c), against a real s3rver: many at once on two
 * loops with every byte checked, a signed big body kept on the blocking
 * pool, a server outage answered as a clean error and then recovered from,
 * loops destroyed with their connections still open, and the same over
 * TLS. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coro.h"
#include "countdown.h"
#include "cunit_main.h"
#include "fixture.h"
#include "curl_loop.h"
#include "evloop.h"
#include "objstore.h"
#include "proc.h"
#include "s3rver.h"

#define BUCKET	    "loop-test"
#define NLOOPS	    2
#define WORKERS	    32		/* coroutines at once, over both loops */
#define SMALL	    (4096 + 17) /* a PUT small enough for the loop */
#define BIG	    (1u << 20)	/* a signed PUT too big for it */
#define STEPS	    6		/* requests of one small round trip */
#define DEADLINE_MS 60000

struct loop_thread {
	struct evloop *l;
	pthread_t th;
};

static struct s3_server srv;
static bool srv_running;
static struct objstore *store;
static struct loop_thread loops[NLOOPS];
static struct countdown done = COUNTDOWN_INITIALIZER;

static void *loop_main(void *arg)
{
	evloop_run(((struct loop_thread *)arg)->l);
	return NULL;
}

static int loops_start(void)
{
	for (int i = 0; i < NLOOPS; i++) {
		if (evloop_create(&loops[i].l) < 0 ||
		    pthread_create(&loops[i].th, NULL, loop_main, &loops[i]) != 0)
			return -1;
	}
	return 0;
}

static void loops_stop(void)
{
	for (int i = 0; i < NLOOPS; i++) {
		if (!loops[i].l)
			continue;
		evloop_stop(loops[i].l);
		pthread_join(loops[i].th, NULL);
		evloop_destroy(loops[i].l);
		loops[i].l = NULL;
	}
}

static int start_on(bool tls)
{
	if ((tls ? s3_server_start_tls(&srv, BUCKET) : s3_server_start(&srv, BUCKET)) < 0)
		return -1;
	srv_running = true;
	const struct objstore_credentials cred = {.access_key = S3RVER_ACCESS_KEY,
						  .secret_key = S3RVER_SECRET_KEY,
						  .ca_file = tls ? srv.ca_file : NULL};
	if (objstore_open(srv.url, &cred, &store) != 0 || objstore_check(store) != 0)
		return -1;
	return loops_start();
}

static int suite_start(void)
{
	return start_on(false);
}

static int tls_suite_start(void)
{
	return start_on(true);
}

static int suite_stop(void)
{
	loops_stop();
	objstore_close(store);
	store = NULL;
	if (srv_running)
		s3_server_stop(&srv);
	srv_running = false;
	return 0;
}

/* One coroutine's work; results are checked on the test thread, which alone
 * may use CUnit. */
struct job {
	void (*fn)(struct job *);
	unsigned seed;
	int failed_step; /* 0: all went as expected */
	int rc;
	unsigned long loop_transfers; /* counted around the job's own requests */
};

static void job_main(void *arg)
{
	struct job *j = arg;
	j->fn(j);
	countdown_one(&done);
}

/* Runs jobs on coroutines spread over the loops; false when one did not end in time. */
static bool run_jobs(struct job *jobs, int n)
{
	countdown_set(&done, n);
	for (int i = 0; i < n; i++)
		if (coro_spawn(loops[i % NLOOPS].l, job_main, &jobs[i]) != 0)
			countdown_one(&done);
	return countdown_wait(&done, DEADLINE_MS);
}

#define STEP(j, n, expr)                                                                           \
	do {                                                                                       \
		if (!(expr)) {                                                                     \
			(j)->failed_step = (n);                                                    \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* PUT, HEAD, GET, ranged GET, DELETE, GET of what is gone. */
static void small_round_trip(struct job *j)
{
	unsigned char in[SMALL], out[SMALL + 16];
	char key[48];
	size_t got = 0;
	uint64_t size = 0;
	snprintf(key, sizeof(key), "small/%u", j->seed);
	pattern_fill(j->seed, 0, in, sizeof(in));
	STEP(j, 1, objstore_put(store, key, in, sizeof(in)) == 0);
	STEP(j, 2, objstore_head(store, key, &size) == 0 && size == SMALL);
	STEP(j, 3, objstore_get(store, key, out, sizeof(out), &got) == 0 && got == SMALL);
	STEP(j, 4, memcmp(in, out, SMALL) == 0);
	STEP(j, 5, objstore_get_range(store, key, 100, 1000, out, &got) == 0 && got == 1000);
	STEP(j, 6, memcmp(in + 100, out, 1000) == 0);
	STEP(j, 7, objstore_delete(store, key) == 0);
	STEP(j, 8, objstore_get(store, key, out, sizeof(out), &got) == -ENOENT);
}

static void t_many_small_on_loops(void)
{
	static struct job jobs[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		jobs[i] = (struct job){.fn = small_round_trip, .seed = (unsigned)i + 1};
	unsigned long before = curl_loop_transfers();
	CU_ASSERT_FATAL(run_jobs(jobs, WORKERS));
	for (int i = 0; i < WORKERS; i++)
		CU_ASSERT_EQUAL(jobs[i].failed_step, 0);
	/* Every request went on a loop, none through the blocking pool. */
	CU_ASSERT_EQUAL(curl_loop_transfers() - before, (unsigned long)WORKERS * STEPS);
}

static void big_put(struct job *j)
{
	unsigned char *in = malloc(BIG), *out = malloc(BIG);
	size_t got = 0;
	if (!in || !out) {
		j->failed_step = 99;
	} else {
		pattern_fill(j->seed, 0, in, BIG);
		unsigned long before = curl_loop_transfers();
		j->rc = objstore_put(store, "big/obj", in, BIG);
		j->loop_transfers = curl_loop_transfers() - before;
		if (j->rc == 0 && (objstore_get(store, "big/obj", out, BIG, &got) != 0 ||
				   got != BIG || memcmp(in, out, BIG) != 0))
			j->failed_step = 1;
	}
	free(in);
	free(out);
}

/* Over http the body is signed, so hashing 1 MiB stays off the loop. */
static void t_big_signed_put_on_pool(void)
{
	struct job j = {.fn = big_put, .seed = 5};
	CU_ASSERT_FATAL(run_jobs(&j, 1));
	CU_ASSERT_EQUAL(j.rc, 0);
	CU_ASSERT_EQUAL(j.loop_transfers, 0);
	CU_ASSERT_EQUAL(j.failed_step, 0);
}

static bool unreachable(int rc)
{
	return rc == -ECONNREFUSED || rc == -EHOSTUNREACH || rc == -ETIMEDOUT;
}

static void put_small(struct job *j)
{
	unsigned char in[SMALL];
	pattern_fill(j->seed, 0, in, sizeof(in));
	j->rc = objstore_put(store, "outage/obj", in, sizeof(in));
}

/* Over TLS bodies go unsigned, so even a 1 MiB PUT runs on the loop: the
 * handshakes and records pass through the loop's multi handle too. */
static void t_tls_on_loops(void)
{
	static struct job jobs[8];
	for (int i = 0; i < 8; i++)
		jobs[i] = (struct job){.fn = small_round_trip, .seed = (unsigned)i + 100};
	unsigned long before = curl_loop_transfers();
	CU_ASSERT_FATAL(run_jobs(jobs, 8));
	for (int i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(jobs[i].failed_step, 0);
	CU_ASSERT_EQUAL(curl_loop_transfers() - before, 8ul * STEPS);

	struct job big = {.fn = big_put, .seed = 6};
	CU_ASSERT_FATAL(run_jobs(&big, 1));
	CU_ASSERT_EQUAL(big.rc, 0);
	CU_ASSERT_EQUAL(big.loop_transfers, 1);
	CU_ASSERT_EQUAL(big.failed_step, 0);
}

/* Retries on a loop park the coroutine (bounded backoff), then give up
 * with a clean error; the loop recovers once the server is back. */
static void t_outage_on_loop(void)
{
	struct job jobs[4];
	for (int i = 0; i < 4; i++)
		jobs[i] = (struct job){.fn = put_small, .seed = 9};
	CU_ASSERT_EQUAL_FATAL(s3_server_pause(&srv), 0);
	long long t0 = now_ms();
	CU_ASSERT_FATAL(run_jobs(jobs, 4));
	for (int i = 0; i < 4; i++)
		CU_ASSERT(unreachable(jobs[i].rc));
	CU_ASSERT(now_ms() - t0 < 15000);
	CU_ASSERT_EQUAL_FATAL(s3_server_resume(&srv), 0);
	CU_ASSERT_FATAL(run_jobs(jobs, 4));
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(jobs[i].rc, 0);
}

/* Loops go away with idle connections in their caches, and new ones start
 * afresh (AddressSanitizer reports what a destroy left behind). */
static void t_loops_restarted(void)
{
	loops_stop();
	CU_ASSERT_EQUAL_FATAL(loops_start(), 0);
	struct job j = {.fn = small_round_trip, .seed = 77};
	CU_ASSERT_FATAL(run_jobs(&j, 1));
	CU_ASSERT_EQUAL(j.failed_step, 0);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"32 coroutines' requests on two loops", t_many_small_on_loops},
	    {"a signed 1 MiB body is hashed on the pool", t_big_signed_put_on_pool},
	    {"server stopped: clean error, then recovered", t_outage_on_loop},
	    {"loops destroyed and started again", t_loops_restarted},
	    {NULL, NULL}};
	static const struct test_case tls_tests[] = {
	    {"requests over TLS on two loops, a 1 MiB body too", t_tls_on_loops}, {NULL, NULL}};
	if (test_add_suite("S3 requests on event loops (s3rver)", suite_start, suite_stop, tests) <
		0 ||
	    test_add_suite("S3 requests on event loops (s3rver over TLS)", tls_suite_start,
			   suite_stop, tls_tests) < 0)
		return 1;
	return test_run_all();
}
