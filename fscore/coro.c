#include "coro.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "thread_name.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define CORO_ASAN 1
/* Instrumented frames are several times larger. */
#define CORO_STACK_SIZE (1024u * 1024)
#else
#define CORO_ASAN	0
#define CORO_STACK_SIZE (256u * 1024)
#endif
/* Stacks kept for reuse; more are unmapped on exit. */
#define STACK_CACHE_MAX 1024

/* Boost.Context's C entry points (boost/context/detail/fcontext.hpp). */
typedef void *fcontext_t;
typedef struct {
	fcontext_t fctx;
	void *data;
} transfer_t;
extern transfer_t jump_fcontext(fcontext_t const to, void *vp);
extern fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

struct coro {
	struct ev_task task; /* first: runs resume() */
	struct evloop *loop;
	fcontext_t ctx; /* where the coroutine continues */
	void (*fn)(void *);
	void *arg;
	bool done;
	bool wake_pending; /* woken while still running: the next park returns at once */
	uint8_t *map;	   /* guard page, stack, then this struct */
	size_t map_len;
	uint8_t *stack_lo;
	size_t stack_len;
	struct coro *next_free;
	struct ev_timer sleep_timer;
#if CORO_ASAN
	void *fake_stack;
#endif
};

/* What a loop thread needs while one of its coroutines runs. */
struct sched {
	struct coro *current;
	fcontext_t loop_ctx;
#if CORO_ASAN
	void *fake_stack;
	const void *stack_lo;
	size_t stack_len;
#endif
};

static __thread struct sched tl_sched;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct coro *cache_head;
static unsigned cache_count;
static unsigned long live_count;

unsigned long coro_live(void)
{
	return __atomic_load_n(&live_count, __ATOMIC_RELAXED);
}

struct coro *coro_self(void)
{
	return tl_sched.current;
}

/* ------------------------------------------------------------ stacks */

static struct coro *coro_alloc(void)
{
	pthread_mutex_lock(&cache_lock);
	struct coro *co = cache_head;
	if (co) {
		cache_head = co->next_free;
		cache_count--;
	}
	pthread_mutex_unlock(&cache_lock);
	if (co)
		return co;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t tail = (sizeof(struct coro) + page - 1) / page * page;
	size_t len = page + CORO_STACK_SIZE + tail;
	/* Stacks are mostly untouched: no reservation for the whole length. */
	uint8_t *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	/* A stack overflow hits the guard page instead of someone's data. */
	if (mprotect(map, page, PROT_NONE) != 0) {
		munmap(map, len);
		return NULL;
	}
	co = (struct coro *)(map + page + CORO_STACK_SIZE);
	co->map = map;
	co->map_len = len;
	co->stack_lo = map + page;
	co->stack_len = CORO_STACK_SIZE;
	return co;
}

static void coro_release(struct coro *co)
{
	pthread_mutex_lock(&cache_lock);
	if (cache_count < STACK_CACHE_MAX) {
		co->next_free = cache_head;
		cache_head = co;
		cache_count++;
		co = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
	if (co)
		munmap(co->map, co->map_len);
}

/* ------------------------------------------------------------ switching */

static void switch_to_loop(struct coro *co)
{
	struct sched *s = &tl_sched;
#if CORO_ASAN
	__sanitizer_start_switch_fiber(co->done ? NULL : &co->fake_stack, s->stack_lo,
				       s->stack_len);
#endif
	transfer_t t = jump_fcontext(s->loop_ctx, co);
	/* Resumed, maybe by another round of the same loop thread. */
	s = &tl_sched;
	s->loop_ctx = t.fctx;
#if CORO_ASAN
	__sanitizer_finish_switch_fiber(co->fake_stack, &s->stack_lo, &s->stack_len);
#endif
}

static void coro_entry(transfer_t t)
{
	struct coro *co = t.data;
	struct sched *s = &tl_sched;
	s->loop_ctx = t.fctx;
#if CORO_ASAN
	__sanitizer_finish_switch_fiber(NULL, &s->stack_lo, &s->stack_len);
#endif
	co->fn(co->arg);
	co->done = true;
	switch_to_loop(co);
	/* A finished coroutine is never resumed. */
	__builtin_unreachable();
}

static void resume(struct ev_task *task)
{
	struct coro *co = (struct coro *)task;
	struct sched *s = &tl_sched;
	s->current = co;
#if CORO_ASAN
	__sanitizer_start_switch_fiber(&s->fake_stack, co->stack_lo, co->stack_len);
#endif
	transfer_t t = jump_fcontext(co->ctx, co);
#if CORO_ASAN
	__sanitizer_finish_switch_fiber(s->fake_stack, NULL, NULL);
#endif
	s->current = NULL;
	co->ctx = t.fctx;
	if (co->done) {
		__atomic_sub_fetch(&live_count, 1, __ATOMIC_RELAXED);
		coro_release(co);
	}
}

int coro_spawn(struct evloop *l, void (*fn)(void *), void *arg)
{
	struct coro *co = coro_alloc();
	if (!co)
		return -ENOMEM;
	uint8_t *map = co->map, *lo = co->stack_lo;
	size_t map_len = co->map_len, stack_len = co->stack_len;
	*co = (struct coro){.task.fn = resume,
			    .loop = l,
			    .fn = fn,
			    .arg = arg,
			    .map = map,
			    .map_len = map_len,
			    .stack_lo = lo,
			    .stack_len = stack_len};
#if CORO_ASAN
	/* A reused stack may still carry the poison of its last frames. */
	ASAN_UNPOISON_MEMORY_REGION(lo, stack_len);
#endif
	co->ctx = make_fcontext(lo + stack_len, stack_len, coro_entry);
	__atomic_add_fetch(&live_count, 1, __ATOMIC_RELAXED);
	evloop_post_task(l, &co->task);
	return 0;
}

void coro_park(void)
{
	struct coro *co = tl_sched.current;
	if (!co) {
		log_error("coro_park outside a coroutine");
		return;
	}
	if (co->wake_pending) {
		co->wake_pending = false;
		return;
	}
	switch_to_loop(co);
}

void coro_wake(struct coro *co)
{
	if (co == tl_sched.current) {
		co->wake_pending = true;
		return;
	}
	/* Another thread's wake is queued remotely and runs only once the loop
	 * is back from the coroutine, so it can never resume one still running. */
	evloop_post_task(co->loop, &co->task);
}

void coro_yield(void)
{
	struct coro *co = tl_sched.current;
	if (!co)
		return;
	evloop_queue_task(co->loop, &co->task);
	switch_to_loop(co);
}

static void sleep_done(struct ev_timer *t)
{
	struct coro *co = (struct coro *)((uint8_t *)t - offsetof(struct coro, sleep_timer));
	coro_wake(co);
}

void coro_sleep_ms(unsigned ms)
{
	struct coro *co = tl_sched.current;
	if (!co) {
		struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) != 0)
			;
		return;
	}
	evloop_timer_start(co->loop, &co->sleep_timer, evloop_now_ms() + ms, sleep_done);
	coro_park();
}

/* ------------------------------------------------------------ blocking pool */

struct offload_job {
	struct offload_job *next;
	void (*fn)(void *);
	void *arg;
	struct coro *co;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static struct offload_job *pool_head, *pool_tail;
static unsigned pool_threads = 32, pool_started;

void coro_offload_threads(unsigned n)
{
	pthread_mutex_lock(&pool_lock);
	if (n > 0)
		pool_threads = n;
	pthread_mutex_unlock(&pool_lock);
}

static void *pool_main(void *unused)
{
	thread_name("mcfs-blocking");
	(void)unused;
	pthread_mutex_lock(&pool_lock);
	for (;;) {
		while (!pool_head)
			pthread_cond_wait(&pool_cond, &pool_lock);
		struct offload_job *j = pool_head;
		pool_head = j->next;
		if (!pool_head)
			pool_tail = NULL;
		pthread_mutex_unlock(&pool_lock);
		j->fn(j->arg);
		coro_wake(j->co);
		pthread_mutex_lock(&pool_lock);
	}
	return NULL;
}

/* Starts the pool's threads on first use (pool_lock held). They live as long
 * as the process, blocked on the queue when idle. */
static bool pool_ready_locked(void)
{
	while (pool_started < pool_threads) {
		pthread_t th;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		int r = pthread_create(&th, &attr, pool_main, NULL);
		pthread_attr_destroy(&attr);
		if (r != 0)
			break;
		pool_started++;
	}
	return pool_started > 0;
}

void coro_offload(void (*fn)(void *), void *arg)
{
	struct coro *co = tl_sched.current;
	if (!co) {
		fn(arg);
		return;
	}
	/* On the parked coroutine's stack: valid until the wake. */
	struct offload_job j = {.fn = fn, .arg = arg, .co = co};
	pthread_mutex_lock(&pool_lock);
	if (!pool_ready_locked()) {
		pthread_mutex_unlock(&pool_lock);
		log_warn("no thread for blocking work: running it on the event loop");
		fn(arg);
		return;
	}
	if (pool_tail)
		pool_tail->next = &j;
	else
		pool_head = &j;
	pool_tail = &j;
	pthread_cond_signal(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
	coro_park();
}
