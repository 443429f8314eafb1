/* Unit tests of fscore/evloop.c, coro.c and cosync.c: the event loop's
 * tasks, timers and hooks, coroutines parking and waking across threads,
 * the blocking pool, and the locks shared by coroutines and threads. */
#include "copool.h"
#include "coro.h"
#include "cosync.h"
#include "evloop.h"
#include "countdown.h"
#include "cunit_main.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define DEADLINE_MS 20000

struct loop_thread {
	struct evloop *l;
	pthread_t th;
};

static void *loop_main(void *arg)
{
	evloop_run(((struct loop_thread *)arg)->l);
	return NULL;
}

static void loop_start(struct loop_thread *lt)
{
	CU_ASSERT_FATAL(evloop_create(&lt->l) == 0);
	CU_ASSERT_FATAL(pthread_create(&lt->th, NULL, loop_main, lt) == 0);
}

static void loop_stop(struct loop_thread *lt)
{
	evloop_stop(lt->l);
	pthread_join(lt->th, NULL);
	evloop_destroy(lt->l);
}

/* What the test thread waits for. */
static struct countdown done = COUNTDOWN_INITIALIZER;

static void done_expect(int n)
{
	countdown_set(&done, n);
}

static void done_one(void)
{
	countdown_one(&done);
}

static bool done_wait(void)
{
	return countdown_wait(&done, DEADLINE_MS);
}

/* ------------------------------------------------------------ evloop */

static int order[8], norder;

static void record(void *arg)
{
	order[norder++] = (int)(intptr_t)arg;
	done_one();
}

static void test_post_runs_in_order(void)
{
	struct loop_thread lt;
	loop_start(&lt);
	norder = 0;
	done_expect(5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT(evloop_post(lt.l, record, (void *)(intptr_t)i) == 0);
	CU_ASSERT(done_wait());
	loop_stop(&lt);
	CU_ASSERT_EQUAL(norder, 5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(order[i], i);
}

struct timer_case {
	struct ev_timer t;
	int tag;
};

static void timer_fired(struct ev_timer *t)
{
	record((void *)(intptr_t)((struct timer_case *)t)->tag);
}

static struct timer_case timers[4];
static struct ev_timer cancelled;

static void arm_timers(void *arg)
{
	struct evloop *l = arg;
	long long now = evloop_now_ms();
	int delays[4] = {40, 10, 30, 20};
	for (int i = 0; i < 4; i++) {
		timers[i].tag = delays[i];
		evloop_timer_start(l, &timers[i].t, now + delays[i], timer_fired);
	}
	memset(&cancelled, 0, sizeof(cancelled));
	evloop_timer_start(l, &cancelled, now + 5, timer_fired);
	evloop_timer_stop(l, &cancelled);
}

static void test_timers_fire_in_order(void)
{
	struct loop_thread lt;
	loop_start(&lt);
	norder = 0;
	done_expect(4);
	CU_ASSERT(evloop_post(lt.l, arm_timers, lt.l) == 0);
	CU_ASSERT(done_wait());
	loop_stop(&lt);
	CU_ASSERT_EQUAL(norder, 4);
	CU_ASSERT(order[0] == 10 && order[1] == 20 && order[2] == 30 && order[3] == 40);
}

static struct ev_hook hook;
static int hook_runs, tasks_before_hook;

static void hook_fn(struct ev_hook *h)
{
	(void)h;
	hook_runs++;
	tasks_before_hook = norder;
	done_one();
}

static void defer_twice(void *arg)
{
	struct evloop *l = arg;
	evloop_defer(l, &hook, hook_fn);
	evloop_defer(l, &hook, hook_fn); /* once per round */
	for (int i = 0; i < 3; i++)
		evloop_post(l, record, (void *)(intptr_t)i);
}

static void test_hooks_run_after_tasks(void)
{
	struct loop_thread lt;
	loop_start(&lt);
	norder = 0;
	hook_runs = 0;
	done_expect(4);
	CU_ASSERT(evloop_post(lt.l, defer_twice, lt.l) == 0);
	CU_ASSERT(done_wait());
	loop_stop(&lt);
	CU_ASSERT_EQUAL(hook_runs, 1);
	CU_ASSERT_EQUAL(tasks_before_hook, 3);
}

/* Three readable pipes come back from one epoll_wait; whichever handler
 * runs first unwatches all three, so the other two must not run, as
 * libcurl closes and frees sockets of its multi handle from one socket's
 * callback. */
#define NPIPES 3
static struct ev_watch pipe_watch[NPIPES];
static int pipe_fds[NPIPES][2];
static int pipe_handler_runs;

static void unwatch_all_pipes(struct ev_watch *w, uint32_t events)
{
	(void)w;
	(void)events;
	pipe_handler_runs++;
	for (int i = 0; i < NPIPES; i++)
		evloop_unwatch(evloop_current(), &pipe_watch[i]);
	done_one();
}

static void watch_pipes(void *arg)
{
	struct evloop *l = arg;
	for (int i = 0; i < NPIPES; i++)
		CU_ASSERT(evloop_watch(l, &pipe_watch[i], pipe_fds[i][0], EPOLLIN,
				       unwatch_all_pipes) == 0);
}

static void test_unwatch_drops_pending_events(void)
{
	struct loop_thread lt;
	loop_start(&lt);
	for (int i = 0; i < NPIPES; i++) {
		CU_ASSERT_FATAL(pipe(pipe_fds[i]) == 0);
		CU_ASSERT_FATAL(write(pipe_fds[i][1], "x", 1) == 1);
	}
	pipe_handler_runs = 0;
	done_expect(1);
	CU_ASSERT(evloop_post(lt.l, watch_pipes, lt.l) == 0);
	CU_ASSERT(done_wait());
	/* A task runs after the batch is dispatched. */
	norder = 0;
	done_expect(1);
	CU_ASSERT(evloop_post(lt.l, record, (void *)(intptr_t)7) == 0);
	CU_ASSERT(done_wait());
	loop_stop(&lt);
	CU_ASSERT_EQUAL(pipe_handler_runs, 1);
	for (int i = 0; i < NPIPES; i++) {
		close(pipe_fds[i][0]);
		close(pipe_fds[i][1]);
	}
}

/* ------------------------------------------------------------ coroutines */

struct pingpong {
	pthread_mutex_t lock;
	struct co_cond cond;
	int turn, rounds;
	int trace[64], ntrace;
};

struct player {
	struct pingpong *pp;
	int me;
};

static void play(void *arg)
{
	struct player *p = arg;
	struct pingpong *pp = p->pp;
	pthread_mutex_lock(&pp->lock);
	for (int i = 0; i < pp->rounds; i++) {
		while (pp->turn != p->me)
			co_cond_wait(&pp->cond, &pp->lock);
		pp->trace[pp->ntrace++] = p->me;
		pp->turn = 1 - p->me;
		co_cond_broadcast(&pp->cond);
	}
	pthread_mutex_unlock(&pp->lock);
	done_one();
}

/* Two coroutines, on one loop or on two, taking turns. */
static void pingpong_on(struct evloop *a, struct evloop *b)
{
	struct pingpong pp = {.lock = PTHREAD_MUTEX_INITIALIZER, .rounds = 20};
	struct player p0 = {&pp, 0}, p1 = {&pp, 1};
	done_expect(2);
	CU_ASSERT_FATAL(coro_spawn(a, play, &p1) == 0);
	CU_ASSERT_FATAL(coro_spawn(b, play, &p0) == 0);
	CU_ASSERT(done_wait());
	CU_ASSERT_EQUAL(pp.ntrace, 40);
	for (int i = 0; i < pp.ntrace; i++)
		CU_ASSERT_EQUAL(pp.trace[i], i % 2);
}

static void test_pingpong_one_loop(void)
{
	struct loop_thread lt;
	loop_start(&lt);
	pingpong_on(lt.l, lt.l);
	loop_stop(&lt);
}

static void test_pingpong_two_loops(void)
{
	struct loop_thread a, b;
	loop_start(&a);
	loop_start(&b);
	pingpong_on(a.l, b.l);
	loop_stop(&a);
	loop_stop(&b);
}

static void *play_thread(void *arg)
{
	play(arg);
	return NULL;
}

static void test_pingpong_with_thread(void)
{
	struct loop_thread lt;
	loop_start(&lt);
	struct pingpong pp = {.lock = PTHREAD_MUTEX_INITIALIZER, .rounds = 20};
	struct player p0 = {&pp, 0}, p1 = {&pp, 1};
	done_expect(2);
	pthread_t th;
	CU_ASSERT_FATAL(coro_spawn(lt.l, play, &p1) == 0);
	CU_ASSERT_FATAL(pthread_create(&th, NULL, play_thread, &p0) == 0);
	CU_ASSERT(done_wait());
	pthread_join(th, NULL);
	loop_stop(&lt);
	CU_ASSERT_EQUAL(pp.ntrace, 40);
	for (int i = 0; i < pp.ntrace; i++)
		CU_ASSERT_EQUAL(pp.trace[i], i % 2);
}

/* ------------------------------------------------------------ mutex */

struct shared_counter {
	struct co_mutex mu;
	atomic_int inside;
	int count, overlaps;
};

static void bump_many(struct shared_counter *sc, int n)
{
	for (int i = 0; i < n; i++) {
		co_mutex_lock(&sc->mu);
		if (atomic_fetch_add(&sc->inside, 1) != 0)
			sc->overlaps++;
		int v = sc->count;
		/* A park inside the critical section: the lock must hold across it. */
		if (i % 3 == 0)
			coro_yield();
		sc->count = v + 1;
		atomic_fetch_sub(&sc->inside, 1);
		co_mutex_unlock(&sc->mu);
	}
}

static struct shared_counter counter;

static void bump_co(void *arg)
{
	(void)arg;
	bump_many(&counter, 200);
	done_one();
}

static void *bump_thread(void *arg)
{
	bump_co(arg);
	return NULL;
}

static void test_mutex_coroutines_and_threads(void)
{
	struct loop_thread a, b;
	loop_start(&a);
	loop_start(&b);
	co_mutex_init(&counter.mu);
	counter.count = counter.overlaps = 0;
	atomic_store(&counter.inside, 0);
	enum { PER_LOOP = 20, THREADS = 3 };
	done_expect(2 * PER_LOOP + THREADS);
	for (int i = 0; i < PER_LOOP; i++) {
		CU_ASSERT_FATAL(coro_spawn(a.l, bump_co, NULL) == 0);
		CU_ASSERT_FATAL(coro_spawn(b.l, bump_co, NULL) == 0);
	}
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, bump_thread, NULL) == 0);
	CU_ASSERT(done_wait());
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	loop_stop(&a);
	loop_stop(&b);
	CU_ASSERT_EQUAL(counter.count, (2 * PER_LOOP + THREADS) * 200);
	CU_ASSERT_EQUAL(counter.overlaps, 0);
	CU_ASSERT(co_mutex_trylock(&counter.mu));
	CU_ASSERT(!co_mutex_trylock(&counter.mu));
	co_mutex_unlock(&counter.mu);
	co_mutex_destroy(&counter.mu);
}

/* ------------------------------------------------------------ rwlock */

static struct co_rwlock rw;
static atomic_int readers_in, writers_in, max_readers, rw_bad;

static void rw_worker(void *arg)
{
	bool writer = (intptr_t)arg != 0;
	for (int i = 0; i < 50; i++) {
		if (writer) {
			co_rwlock_wrlock(&rw);
			if (atomic_fetch_add(&writers_in, 1) != 0 || atomic_load(&readers_in) != 0)
				atomic_fetch_add(&rw_bad, 1);
			coro_yield();
			atomic_fetch_sub(&writers_in, 1);
		} else {
			co_rwlock_rdlock(&rw);
			int now = atomic_fetch_add(&readers_in, 1) + 1;
			if (atomic_load(&writers_in) != 0)
				atomic_fetch_add(&rw_bad, 1);
			int m = atomic_load(&max_readers);
			while (now > m && !atomic_compare_exchange_weak(&max_readers, &m, now))
				;
			coro_yield();
			atomic_fetch_sub(&readers_in, 1);
		}
		co_rwlock_unlock(&rw);
	}
	done_one();
}

static void test_rwlock(void)
{
	struct loop_thread a, b;
	loop_start(&a);
	loop_start(&b);
	co_rwlock_init(&rw);
	atomic_store(&readers_in, 0);
	atomic_store(&writers_in, 0);
	atomic_store(&max_readers, 0);
	atomic_store(&rw_bad, 0);
	done_expect(24);
	for (int i = 0; i < 12; i++) {
		CU_ASSERT_FATAL(coro_spawn(a.l, rw_worker, (void *)(intptr_t)(i % 4 == 0)) == 0);
		CU_ASSERT_FATAL(coro_spawn(b.l, rw_worker, (void *)(intptr_t)(i % 4 == 1)) == 0);
	}
	CU_ASSERT(done_wait());
	loop_stop(&a);
	loop_stop(&b);
	CU_ASSERT_EQUAL(atomic_load(&rw_bad), 0);
	CU_ASSERT(atomic_load(&max_readers) > 1); /* readers did share it */
	co_rwlock_destroy(&rw);
}

/* ------------------------------------------------------------ sleep, offload */

static long long slept_ms;

static void sleeper(void *arg)
{
	(void)arg;
	long long t0 = evloop_now_ms();
	coro_sleep_ms(50);
	slept_ms = evloop_now_ms() - t0;
	done_one();
}

static void test_sleep(void)
{
	struct loop_thread lt;
	loop_start(&lt);
	done_expect(1);
	CU_ASSERT_FATAL(coro_spawn(lt.l, sleeper, NULL) == 0);
	CU_ASSERT(done_wait());
	loop_stop(&lt);
	CU_ASSERT(slept_ms >= 49);
}

struct offload_case {
	pthread_t loop_thread, ran_on;
	int value;
};

static void blocking_work(void *arg)
{
	struct offload_case *c = arg;
	c->ran_on = pthread_self();
	usleep(20000);
	c->value = 42;
}

static void offloader(void *arg)
{
	struct offload_case *c = arg;
	c->loop_thread = pthread_self();
	coro_offload(blocking_work, c);
	done_one();
}

static int ticks;
static void ticker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++) {
		ticks++;
		coro_sleep_ms(1);
	}
	done_one();
}

static void test_offload_runs_elsewhere(void)
{
	struct loop_thread lt;
	loop_start(&lt);
	struct offload_case c = {.value = 0};
	ticks = 0;
	done_expect(2);
	CU_ASSERT_FATAL(coro_spawn(lt.l, offloader, &c) == 0);
	/* The loop keeps serving others while the blocking work runs. */
	CU_ASSERT_FATAL(coro_spawn(lt.l, ticker, NULL) == 0);
	CU_ASSERT(done_wait());
	loop_stop(&lt);
	CU_ASSERT_EQUAL(c.value, 42);
	CU_ASSERT(!pthread_equal(c.ran_on, c.loop_thread));
	CU_ASSERT_EQUAL(ticks, 5);
	/* On a plain thread it simply runs here. */
	struct offload_case d = {.value = 0};
	coro_offload(blocking_work, &d);
	CU_ASSERT(pthread_equal(d.ran_on, pthread_self()));
	CU_ASSERT_EQUAL(coro_self(), NULL);
}

/* Many short-lived coroutines: stacks are reused, none is left behind. */
static void nothing(void *arg)
{
	(void)arg;
	coro_yield();
	done_one();
}

static void test_many_coroutines(void)
{
	struct loop_thread lt;
	loop_start(&lt);
	enum { N = 5000 };
	done_expect(N);
	for (int i = 0; i < N; i++)
		CU_ASSERT_FATAL(coro_spawn(lt.l, nothing, NULL) == 0);
	CU_ASSERT(done_wait());
	loop_stop(&lt);
	CU_ASSERT_EQUAL(coro_live(), 0);
}

/* ------------------------------------------------------------ copool */

static atomic_int pool_running, pool_peak, pool_ran, pool_refused;

static void pool_job(void *arg)
{
	(void)arg;
	int now = atomic_fetch_add(&pool_running, 1) + 1;
	int peak = atomic_load(&pool_peak);
	while (now > peak && !atomic_compare_exchange_weak(&pool_peak, &peak, now))
		;
	coro_sleep_ms(2); /* parks: the pool's other workers run meanwhile */
	atomic_fetch_sub(&pool_running, 1);
	atomic_fetch_add(&pool_ran, 1);
}

static void *pool_submitter(void *arg)
{
	for (int i = 0; i < 20; i++)
		if (copool_submit(arg, pool_job, NULL) != 0)
			atomic_fetch_add(&pool_refused, 1); /* CUnit is for the test thread only */
	return NULL;
}

/* Jobs from several threads, at most `workers` at once, every one of them
 * run by the time destroy returns. */
static void test_copool_bounds_and_drains(void)
{
	struct copool *p = NULL;
	atomic_store(&pool_running, 0);
	atomic_store(&pool_peak, 0);
	atomic_store(&pool_ran, 0);
	atomic_store(&pool_refused, 0);
	CU_ASSERT_EQUAL_FATAL(copool_create(3, &p), 0);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, pool_submitter, p) == 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	copool_destroy(p);
	CU_ASSERT_EQUAL(atomic_load(&pool_refused), 0);
	CU_ASSERT_EQUAL(atomic_load(&pool_ran), 60);
	CU_ASSERT_EQUAL(atomic_load(&pool_peak), 3);
	CU_ASSERT_EQUAL(copool_create(0, &p), -EINVAL);
}

/* An idle pool stops at once. */
static void test_copool_idle_destroy(void)
{
	struct copool *p = NULL;
	CU_ASSERT_EQUAL_FATAL(copool_create(4, &p), 0);
	copool_destroy(p);
}

/* Thread creation refused on demand, as when a process is out of threads:
 * this definition comes before the C library's for every caller here. */
static atomic_bool refuse_threads;

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	static create_fn real;
	if (atomic_load(&refuse_threads))
		return EAGAIN;
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
	return real ? real(t, attr, fn, arg) : ENOSYS;
}

/* A pool whose thread cannot start is not made, and leaves none of its
 * coroutines behind. */
static void test_copool_thread_refused(void)
{
	unsigned long live = coro_live();
	struct copool *p = NULL;
	atomic_store(&refuse_threads, true);
	int r = copool_create(4, &p);
	atomic_store(&refuse_threads, false);
	CU_ASSERT_EQUAL(r, -EAGAIN);
	CU_ASSERT_EQUAL(coro_live(), live);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"post_runs_in_order", test_post_runs_in_order},
	    {"timers_fire_in_order", test_timers_fire_in_order},
	    {"hooks_run_after_tasks", test_hooks_run_after_tasks},
	    {"unwatch_drops_pending_events", test_unwatch_drops_pending_events},
	    {"pingpong_one_loop", test_pingpong_one_loop},
	    {"pingpong_two_loops", test_pingpong_two_loops},
	    {"pingpong_with_thread", test_pingpong_with_thread},
	    {"mutex_coroutines_and_threads", test_mutex_coroutines_and_threads},
	    {"rwlock", test_rwlock},
	    {"sleep", test_sleep},
	    {"offload_runs_elsewhere", test_offload_runs_elsewhere},
	    {"many_coroutines", test_many_coroutines},
	    {"copool_bounds_and_drains", test_copool_bounds_and_drains},
	    {"copool_idle_destroy", test_copool_idle_destroy},
	    {"copool_thread_refused", test_copool_thread_refused},
	    {NULL, NULL},
	};
	if (test_add_suite("coro", NULL, NULL, tests) != 0)
		return 1;
	return test_run_all();
}
