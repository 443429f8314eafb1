/*
 * Coroutines on event loops (evloop.h).
 *
 * The file system is written as straight-line code that waits: for Redis,
 * for a bucket, for a lock. On a plain thread those waits block the thread,
 * as always. On a coroutine they park it instead, and the loop runs other
 * requests meanwhile; whatever those requests send to Redis in the same
 * round leaves in one write (meta.c). That is what lets one thread per core
 * serve many requests without a thread switch per wait.
 *
 * Rules for code that may run on a coroutine:
 *  - a wait is a park (coro_park, coro_sleep_ms, the locks of cosync.h,
 *    a Redis command, coro_offload); a plain pthread mutex must never be
 *    held across one, or another coroutine of the same thread that wants it
 *    would block the thread for good;
 *  - calls that may block for long (disk writes with fsync, HTTP) go
 *    through coro_offload().
 *
 * Context switches are Boost.Context's fcontext (a few instructions, no
 * system call); stacks are mmap'd with a guard page and reused.
 */
#ifndef MCFS_CORO_H
#define MCFS_CORO_H

#include <stdbool.h>

#include "evloop.h"

struct coro;

/* Starts fn(arg) on a new coroutine of loop l; any thread. -ENOMEM. */
int coro_spawn(struct evloop *l, void (*fn)(void *), void *arg);
/* The coroutine running on this thread, or NULL. */
struct coro *coro_self(void);
/* Suspends the running coroutine until coro_wake(). Every park is ended by
 * exactly one wake, which may come before the park (it then returns at once). */
void coro_park(void);
/* Makes a parked coroutine runnable on its loop; any thread. */
void coro_wake(struct coro *co);
/* Lets the loop's other runnable work go first. */
void coro_yield(void);
/* Parks a coroutine for ms; sleeps a plain thread. */
void coro_sleep_ms(unsigned ms);

/* Runs fn(arg) where blocking is allowed: on the blocking pool while a
 * coroutine parks, or right here on a plain thread. */
void coro_offload(void (*fn)(void *), void *arg);
/* Threads of the blocking pool (default 32); takes effect before its first use. */
void coro_offload_threads(unsigned n);

/* Coroutines alive (started, not finished), for tests and shutdown. */
unsigned long coro_live(void);

#endif
