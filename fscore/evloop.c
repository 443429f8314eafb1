#include "evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define EPOLL_BATCH 128
/* Tasks run between two looks at the sockets, so that I/O is not starved. */
#define TASKS_PER_ROUND 1024

struct evloop {
	int epfd, wakefd;
	unsigned id;
	atomic_bool stop;
	/* True while the loop is about to sleep or sleeps in epoll_wait: a
	 * poster then has to write the eventfd. */
	atomic_bool sleeping;

	struct ev_task *head, *tail; /* runnable, loop thread only */

	pthread_mutex_t remote_lock; /* tasks posted by other threads */
	struct ev_task *remote_head, *remote_tail;

	struct ev_hook *hooks;
	struct ev_cleanup *cleanups;

	struct ev_timer **heap; /* 1-based min-heap on when_ms */
	unsigned nheap, heap_cap;

	uint64_t input_epoch; /* loop thread only */

	/* The events being dispatched and the next one to go. A handler may
	 * unwatch (and free) another watch whose event is still pending in the
	 * batch, as libcurl does with the sockets of one multi handle. */
	struct epoll_event *batch;
	int batch_next, batch_len;
};

/* Stands in a batch for the event of a watch that went away. */
static char unwatched_mark;

static __thread struct evloop *tl_loop;

static pthread_mutex_t ids_lock = PTHREAD_MUTEX_INITIALIZER;
static bool ids_used[EVLOOP_MAX];

long long evloop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int take_id(unsigned *out)
{
	pthread_mutex_lock(&ids_lock);
	for (unsigned i = 0; i < EVLOOP_MAX; i++) {
		if (!ids_used[i]) {
			ids_used[i] = true;
			pthread_mutex_unlock(&ids_lock);
			*out = i;
			return 0;
		}
	}
	pthread_mutex_unlock(&ids_lock);
	return -EMFILE;
}

static void give_id(unsigned id)
{
	pthread_mutex_lock(&ids_lock);
	ids_used[id] = false;
	pthread_mutex_unlock(&ids_lock);
}

int evloop_create(struct evloop **out)
{
	struct evloop *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	int r = take_id(&l->id);
	if (r < 0) {
		free(l);
		return r;
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	/* data.ptr NULL marks the wake-up eventfd. */
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (l->epfd < 0 || l->wakefd < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) != 0) {
		r = -errno;
		if (l->epfd >= 0)
			close(l->epfd);
		if (l->wakefd >= 0)
			close(l->wakefd);
		give_id(l->id);
		free(l);
		return r;
	}
	pthread_mutex_init(&l->remote_lock, NULL);
	atomic_init(&l->stop, false);
	atomic_init(&l->sleeping, false);
	*out = l;
	return 0;
}

void evloop_destroy(struct evloop *l)
{
	if (!l)
		return;
	while (l->cleanups) {
		struct ev_cleanup *c = l->cleanups;
		evloop_cancel_destroy(l, c);
		c->fn(c);
	}
	close(l->epfd);
	close(l->wakefd);
	pthread_mutex_destroy(&l->remote_lock);
	free(l->heap);
	give_id(l->id);
	free(l);
}

struct evloop *evloop_current(void)
{
	return tl_loop;
}

unsigned evloop_id(const struct evloop *l)
{
	return l->id;
}

void evloop_note_input(void)
{
	if (tl_loop)
		tl_loop->input_epoch++;
}

uint64_t evloop_input_epoch(const struct evloop *l)
{
	return l->input_epoch;
}

/* ------------------------------------------------------------ watchers */

int evloop_watch(struct evloop *l, struct ev_watch *w, int fd, uint32_t events, ev_watch_fn fn)
{
	w->fd = fd;
	w->events = events;
	w->fn = fn;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int evloop_watch_set(struct evloop *l, struct ev_watch *w, uint32_t events)
{
	if (events == w->events)
		return 0;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) != 0)
		return -errno;
	w->events = events;
	return 0;
}

void evloop_unwatch(struct evloop *l, struct ev_watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->fd = -1;
	for (int i = l->batch_next; i < l->batch_len; i++)
		if (l->batch[i].data.ptr == w)
			l->batch[i].data.ptr = &unwatched_mark;
}

/* ------------------------------------------------------------ timers */

static void heap_set(struct evloop *l, unsigned pos, struct ev_timer *t)
{
	l->heap[pos] = t;
	t->heap_pos = pos;
}

static void heap_up(struct evloop *l, unsigned pos)
{
	struct ev_timer *t = l->heap[pos];
	while (pos > 1 && l->heap[pos / 2]->when_ms > t->when_ms) {
		heap_set(l, pos, l->heap[pos / 2]);
		pos /= 2;
	}
	heap_set(l, pos, t);
}

static void heap_down(struct evloop *l, unsigned pos)
{
	struct ev_timer *t = l->heap[pos];
	for (;;) {
		unsigned c = pos * 2;
		if (c > l->nheap)
			break;
		if (c + 1 <= l->nheap && l->heap[c + 1]->when_ms < l->heap[c]->when_ms)
			c++;
		if (l->heap[c]->when_ms >= t->when_ms)
			break;
		heap_set(l, pos, l->heap[c]);
		pos = c;
	}
	heap_set(l, pos, t);
}

void evloop_timer_stop(struct evloop *l, struct ev_timer *t)
{
	unsigned pos = t->heap_pos;
	if (pos == 0)
		return;
	t->heap_pos = 0;
	struct ev_timer *last = l->heap[l->nheap--];
	if (pos > l->nheap)
		return;
	heap_set(l, pos, last);
	heap_up(l, pos);
	heap_down(l, last->heap_pos);
}

void evloop_timer_start(struct evloop *l, struct ev_timer *t, long long when_ms, ev_timer_fn fn)
{
	evloop_timer_stop(l, t);
	t->when_ms = when_ms;
	t->fn = fn;
	if (l->nheap + 1 >= l->heap_cap) {
		unsigned cap = l->heap_cap ? l->heap_cap * 2 : 64;
		struct ev_timer **h = realloc(l->heap, cap * sizeof(*h));
		if (!h) {
			/* Cannot happen in practice; a timer that never fires would hang its owner.
			 */
			log_error("evloop: out of memory arming a timer; firing it now");
			fn(t);
			return;
		}
		l->heap = h;
		l->heap_cap = cap;
	}
	l->nheap++;
	heap_set(l, l->nheap, t);
	heap_up(l, l->nheap);
}

static void fire_timers(struct evloop *l)
{
	if (l->nheap == 0)
		return;
	long long now = evloop_now_ms();
	while (l->nheap && l->heap[1]->when_ms <= now) {
		struct ev_timer *t = l->heap[1];
		evloop_timer_stop(l, t);
		t->fn(t);
	}
}

static int sleep_ms(struct evloop *l)
{
	if (l->nheap == 0)
		return -1;
	long long left = l->heap[1]->when_ms - evloop_now_ms();
	if (left <= 0)
		return 0;
	return left > 60000 ? 60000 : (int)left;
}

/* ------------------------------------------------------------ tasks */

void evloop_queue_task(struct evloop *l, struct ev_task *task)
{
	task->next = NULL;
	if (l->tail)
		l->tail->next = task;
	else
		l->head = task;
	l->tail = task;
}

static void wake(struct evloop *l)
{
	if (atomic_exchange(&l->sleeping, false)) {
		uint64_t one = 1;
		/* EAGAIN: the counter is already non-zero, the loop wakes anyway. */
		ssize_t r = write(l->wakefd, &one, sizeof(one));
		(void)r;
	}
}

void evloop_post_task(struct evloop *l, struct ev_task *task)
{
	if (tl_loop == l) {
		evloop_queue_task(l, task);
		return;
	}
	task->next = NULL;
	pthread_mutex_lock(&l->remote_lock);
	if (l->remote_tail)
		l->remote_tail->next = task;
	else
		l->remote_head = task;
	l->remote_tail = task;
	pthread_mutex_unlock(&l->remote_lock);
	wake(l);
}

struct posted_call {
	struct ev_task task; /* first */
	void (*fn)(void *);
	void *arg;
};

static void run_posted_call(struct ev_task *task)
{
	struct posted_call *c = (struct posted_call *)task;
	c->fn(c->arg);
	free(c);
}

int evloop_post(struct evloop *l, void (*fn)(void *), void *arg)
{
	struct posted_call *c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->task.fn = run_posted_call;
	c->fn = fn;
	c->arg = arg;
	evloop_post_task(l, &c->task);
	return 0;
}

void evloop_stop(struct evloop *l)
{
	atomic_store(&l->stop, true);
	uint64_t one = 1;
	ssize_t r = write(l->wakefd, &one, sizeof(one));
	(void)r;
}

static void take_remote(struct evloop *l)
{
	pthread_mutex_lock(&l->remote_lock);
	struct ev_task *h = l->remote_head, *t = l->remote_tail;
	l->remote_head = l->remote_tail = NULL;
	pthread_mutex_unlock(&l->remote_lock);
	if (!h)
		return;
	if (l->tail)
		l->tail->next = h;
	else
		l->head = h;
	l->tail = t;
}

static bool remote_pending(struct evloop *l)
{
	pthread_mutex_lock(&l->remote_lock);
	bool any = l->remote_head != NULL;
	pthread_mutex_unlock(&l->remote_lock);
	return any;
}

/* Runs queued tasks; true when some are left for the next round. */
static bool run_tasks(struct evloop *l)
{
	take_remote(l);
	for (unsigned n = 0; n < TASKS_PER_ROUND; n++) {
		struct ev_task *task = l->head;
		if (!task) {
			take_remote(l);
			task = l->head;
			if (!task)
				return false;
		}
		l->head = task->next;
		if (!l->head)
			l->tail = NULL;
		task->fn(task);
	}
	return l->head != NULL;
}

void evloop_defer(struct evloop *l, struct ev_hook *h, ev_hook_fn fn)
{
	if (h->queued)
		return;
	h->fn = fn;
	h->queued = true;
	h->next = l->hooks;
	l->hooks = h;
}

static void run_hooks(struct evloop *l)
{
	while (l->hooks) {
		struct ev_hook *h = l->hooks;
		l->hooks = h->next;
		h->queued = false;
		h->fn(h);
	}
}

void evloop_on_destroy(struct evloop *l, struct ev_cleanup *c, ev_cleanup_fn fn)
{
	c->fn = fn;
	c->prev = NULL;
	c->next = l->cleanups;
	if (l->cleanups)
		l->cleanups->prev = c;
	l->cleanups = c;
}

void evloop_cancel_destroy(struct evloop *l, struct ev_cleanup *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (l->cleanups == c)
		l->cleanups = c->next;
	else
		return; /* not registered */
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* ------------------------------------------------------------ the loop */

static void dispatch(struct evloop *l, struct epoll_event *evs, int n)
{
	l->batch = evs;
	l->batch_len = n;
	for (l->batch_next = 0; l->batch_next < n;) {
		struct epoll_event *ev = &evs[l->batch_next++];
		struct ev_watch *w = ev->data.ptr;
		if (w == (void *)&unwatched_mark)
			continue;
		if (!w) {
			uint64_t v;
			ssize_t r = read(l->wakefd, &v, sizeof(v));
			(void)r;
			continue;
		}
		w->fn(w, ev->events);
	}
	l->batch = NULL;
	l->batch_next = l->batch_len = 0;
}

void evloop_run(struct evloop *l)
{
	struct epoll_event evs[EPOLL_BATCH];
	struct evloop *outer = tl_loop;
	tl_loop = l;
	while (!atomic_load(&l->stop)) {
		bool more = run_tasks(l);
		run_hooks(l);
		int timeout = 0;
		if (!more && !l->head) {
			timeout = sleep_ms(l);
			atomic_store(&l->sleeping, true);
			if (remote_pending(l) || atomic_load(&l->stop))
				timeout = 0;
		}
		int n = epoll_wait(l->epfd, evs, EPOLL_BATCH, timeout);
		atomic_store(&l->sleeping, false);
		if (n < 0 && errno != EINTR) {
			log_error("evloop: epoll_wait: %s", strerror(errno));
			break;
		}
		if (n > 0)
			dispatch(l, evs, n);
		fire_timers(l);
	}
	atomic_store(&l->stop, false);
	tl_loop = outer;
}
