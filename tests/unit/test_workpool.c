/* Unit tests of fscore/workpool.c: the thread pool and the workgroup latch. */
#include "workpool.h"
#include "cunit_main.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* A job that counts itself and reports `result` to its group. */
struct count_job {
	atomic_uint *counter;
	struct workgroup *group;
	int result;
};

static void count_fn(void *arg)
{
	struct count_job *j = arg;
	atomic_fetch_add(j->counter, 1);
	if (j->group)
		workgroup_done(j->group, j->result);
}

static void test_many_jobs_run(void)
{
	enum { N = 20000 };
	struct workpool *wp = NULL;
	struct workgroup g;
	atomic_uint counter = 0;
	struct count_job *jobs = calloc(N, sizeof(*jobs));

	CU_ASSERT_FATAL(jobs != NULL);
	CU_ASSERT_FATAL(workpool_create(4, &wp) == 0);
	workgroup_init(&g);
	workgroup_add(&g, N);
	for (int i = 0; i < N; i++) {
		jobs[i] = (struct count_job){.counter = &counter, .group = &g};
		CU_ASSERT_FATAL(workpool_submit(wp, count_fn, &jobs[i]) == 0);
	}
	CU_ASSERT_EQUAL(workgroup_wait(&g), 0);
	CU_ASSERT_EQUAL(atomic_load(&counter), N);
	workgroup_destroy(&g);
	workpool_destroy(wp);
	free(jobs);
}

static void test_zero_threads_means_one(void)
{
	struct workpool *wp = NULL;
	struct workgroup g;
	atomic_uint counter = 0;
	struct count_job j = {.counter = &counter, .group = &g};

	CU_ASSERT_FATAL(workpool_create(0, &wp) == 0);
	workgroup_init(&g);
	workgroup_add(&g, 1);
	CU_ASSERT_FATAL(workpool_submit(wp, count_fn, &j) == 0);
	CU_ASSERT_EQUAL(workgroup_wait(&g), 0);
	CU_ASSERT_EQUAL(atomic_load(&counter), 1);
	workgroup_destroy(&g);
	workpool_destroy(wp);
}

static void test_empty_group(void)
{
	struct workgroup g;
	workgroup_init(&g);
	CU_ASSERT_EQUAL(workgroup_wait(&g), 0);
	workgroup_destroy(&g);
}

/* One worker runs jobs in submission order, so "first" is well defined. */
static void test_group_first_error(void)
{
	enum { N = 100 };
	struct workpool *wp = NULL;
	struct workgroup g;
	atomic_uint counter = 0;
	struct count_job jobs[N];

	CU_ASSERT_FATAL(workpool_create(1, &wp) == 0);
	workgroup_init(&g);
	workgroup_add(&g, N);
	for (int i = 0; i < N; i++) {
		int r = i == 30 ? -EIO : i == 50 ? -ENOSPC : 0;
		jobs[i] = (struct count_job){.counter = &counter, .group = &g, .result = r};
		CU_ASSERT_FATAL(workpool_submit(wp, count_fn, &jobs[i]) == 0);
	}
	CU_ASSERT_EQUAL(workgroup_wait(&g), -EIO);
	CU_ASSERT_EQUAL(atomic_load(&counter), N); /* an error does not cut the wait short */
	workgroup_destroy(&g);
	workpool_destroy(wp);
}

/* With many workers the order is free, but some error must come back and
 * every job must have finished first. */
static void test_group_error_parallel(void)
{
	enum { N = 5000 };
	struct workpool *wp = NULL;
	struct workgroup g;
	atomic_uint counter = 0;
	struct count_job *jobs = calloc(N, sizeof(*jobs));

	CU_ASSERT_FATAL(jobs != NULL);
	CU_ASSERT_FATAL(workpool_create(8, &wp) == 0);
	workgroup_init(&g);
	workgroup_add(&g, N);
	for (int i = 0; i < N; i++) {
		int r = i % 1000 == 999 ? -(1000 + i) : 0;
		jobs[i] = (struct count_job){.counter = &counter, .group = &g, .result = r};
		CU_ASSERT_FATAL(workpool_submit(wp, count_fn, &jobs[i]) == 0);
	}
	int r = workgroup_wait(&g);
	CU_ASSERT(r <= -1999 && r >= -5999 && (-r - 1000) % 1000 == 999);
	CU_ASSERT_EQUAL(atomic_load(&counter), N);
	workgroup_destroy(&g);
	workpool_destroy(wp);
	free(jobs);
}

/* Holds a worker until the gate opens. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
};

static void gate_fn(void *arg)
{
	struct gate *g = arg;
	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void *opener_main(void *arg)
{
	struct gate *g = arg;
	sleep_ms(50); /* long enough for destroy to be waiting */
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

static void test_destroy_drains(void)
{
	enum { N = 1000 };
	struct workpool *wp = NULL;
	struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
	atomic_uint counter = 0;
	struct count_job j = {.counter = &counter};
	pthread_t opener;

	CU_ASSERT_FATAL(workpool_create(2, &wp) == 0);
	/* Both workers block, so every counting job is still queued when
	 * destroy starts. */
	CU_ASSERT_FATAL(workpool_submit(wp, gate_fn, &gate) == 0);
	CU_ASSERT_FATAL(workpool_submit(wp, gate_fn, &gate) == 0);
	for (int i = 0; i < N; i++)
		CU_ASSERT_FATAL(workpool_submit(wp, count_fn, &j) == 0);
	CU_ASSERT_EQUAL(atomic_load(&counter), 0);
	CU_ASSERT_FATAL(pthread_create(&opener, NULL, opener_main, &gate) == 0);
	workpool_destroy(wp);
	CU_ASSERT_EQUAL(atomic_load(&counter), N);
	pthread_join(opener, NULL);
}

/* A job may queue a follow-up while the pool is being destroyed; the chain
 * still runs to the end because workers stop only on an empty queue. */
struct chain {
	struct workpool *wp;
	atomic_uint ran;
	unsigned len;
};

static void chain_fn(void *arg)
{
	struct chain *c = arg;
	if (atomic_fetch_add(&c->ran, 1) + 1 < c->len)
		workpool_submit(c->wp, chain_fn, c);
}

static void test_destroy_runs_followups(void)
{
	struct chain c = {.len = 200};

	CU_ASSERT_FATAL(workpool_create(3, &c.wp) == 0);
	CU_ASSERT_FATAL(workpool_submit(c.wp, chain_fn, &c) == 0);
	workpool_destroy(c.wp);
	CU_ASSERT_EQUAL(atomic_load(&c.ran), 200);
}

static void test_destroy_idle_and_null(void)
{
	struct workpool *wp = NULL;
	CU_ASSERT_FATAL(workpool_create(4, &wp) == 0);
	workpool_destroy(wp); /* no jobs: threads must still wake and exit */
	workpool_destroy(NULL);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"many_jobs_run", test_many_jobs_run},
	    {"zero_threads_means_one", test_zero_threads_means_one},
	    {"empty_group", test_empty_group},
	    {"group_first_error", test_group_first_error},
	    {"group_error_parallel", test_group_error_parallel},
	    {"destroy_drains", test_destroy_drains},
	    {"destroy_runs_followups", test_destroy_runs_followups},
	    {"destroy_idle_and_null", test_destroy_idle_and_null},
	    {NULL, NULL},
	};
	if (test_add_suite("workpool", NULL, NULL, tests) != 0)
		return 1;
	return test_run_all();
}
