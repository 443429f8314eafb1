/*
 * An epoll event loop owned by one thread: fd watchers, one-shot timers,
 * tasks queued from the loop itself or posted from any thread, and flush
 * hooks that run once the loop has nothing left to do but sleep.
 *
 * The gateway runs one loop per core and runs every request on a coroutine
 * of its connection's loop (coro.h). Flush hooks are where output gathered
 * from many requests leaves in one system call: a Redis pipeline, the
 * replies queued on a connection.
 *
 * Only evloop_post_task(), evloop_post() and evloop_stop() may be called
 * from other threads; everything else belongs to the loop's own thread
 * (or to any thread before evloop_run() starts).
 */
#ifndef MCFS_EVLOOP_H
#define MCFS_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

/* Loops in one process at most (evloop_id() is below it). */
#define EVLOOP_MAX 64

struct evloop;

struct ev_watch;
typedef void (*ev_watch_fn)(struct ev_watch *w, uint32_t events);
/* Embedded in its owner; events are EPOLLIN/EPOLLOUT (EPOLLERR and EPOLLHUP
 * are always reported). */
struct ev_watch {
	int fd;
	uint32_t events;
	ev_watch_fn fn;
};

struct ev_timer;
typedef void (*ev_timer_fn)(struct ev_timer *t);
struct ev_timer {
	long long when_ms;
	ev_timer_fn fn;
	unsigned heap_pos; /* 0: not armed */
};

/* Runnable work: a coroutine to resume, or a function to call. */
struct ev_task;
typedef void (*ev_task_fn)(struct ev_task *task);
struct ev_task {
	ev_task_fn fn;
	struct ev_task *next;
};

struct ev_hook;
typedef void (*ev_hook_fn)(struct ev_hook *h);
struct ev_hook {
	ev_hook_fn fn;
	struct ev_hook *next;
	bool queued;
};

/* Called when the loop is destroyed, for what lives on it (connections of
 * other modules registered in its epoll set and timer heap). */
struct ev_cleanup;
typedef void (*ev_cleanup_fn)(struct ev_cleanup *c);
struct ev_cleanup {
	ev_cleanup_fn fn;
	struct ev_cleanup *prev, *next;
};

int evloop_create(struct evloop **out);
/* Frees the loop; it must not be running. Tasks still queued are dropped,
 * cleanups run. */
void evloop_destroy(struct evloop *l);
/* Runs on the calling thread until evloop_stop(). */
void evloop_run(struct evloop *l);
/* Any thread: makes evloop_run() return after its current round. */
void evloop_stop(struct evloop *l);

/* The loop running on this thread, or NULL. */
struct evloop *evloop_current(void);
/* A small number unique among the loops alive, below EVLOOP_MAX. */
unsigned evloop_id(const struct evloop *l);
long long evloop_now_ms(void);
/* Input from outside (a read that brought a client's bytes) on the loop of
 * this thread, if any: a check made since the last input was made after
 * everything this loop has received. */
void evloop_note_input(void);
/* The number of inputs noted on l so far; l's thread only. */
uint64_t evloop_input_epoch(const struct evloop *l);

int evloop_watch(struct evloop *l, struct ev_watch *w, int fd, uint32_t events, ev_watch_fn fn);
int evloop_watch_set(struct evloop *l, struct ev_watch *w, uint32_t events);
/* Stops watching; the fd is the caller's to close. On the loop's thread
 * only. An event of w still waiting in the batch being dispatched is
 * dropped, so a handler may unwatch and free another watch at once. */
void evloop_unwatch(struct evloop *l, struct ev_watch *w);

void evloop_timer_start(struct evloop *l, struct ev_timer *t, long long when_ms, ev_timer_fn fn);
void evloop_timer_stop(struct evloop *l, struct ev_timer *t);

/* Queues a task on the loop's own thread (FIFO). */
void evloop_queue_task(struct evloop *l, struct ev_task *task);
/* Queues a task from any thread and wakes the loop if it sleeps. */
void evloop_post_task(struct evloop *l, struct ev_task *task);
/* Calls fn(arg) on the loop's thread; any thread. -ENOMEM. */
int evloop_post(struct evloop *l, void (*fn)(void *), void *arg);
/* Runs h once, after the loop's runnable tasks, before it sleeps (loop thread). */
void evloop_defer(struct evloop *l, struct ev_hook *h, ev_hook_fn fn);

/* Registers c to run at evloop_destroy(); the loop thread, or while it is stopped. */
void evloop_on_destroy(struct evloop *l, struct ev_cleanup *c, ev_cleanup_fn fn);
void evloop_cancel_destroy(struct evloop *l, struct ev_cleanup *c);

#endif
