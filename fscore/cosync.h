/*
 * Locks and condition variables for code that runs both on coroutines and
 * on plain threads (coro.h). A coroutine that has to wait parks, so that
 * its loop thread serves others meanwhile; a plain thread blocks as usual.
 * Waiters are served in arrival order.
 *
 * Use these where a lock is held across a wait (a Redis command, a bucket
 * write): a plain pthread mutex held by a parked coroutine would block any
 * other coroutine of its thread that wants it, and with it the whole loop.
 */
#ifndef MCFS_COSYNC_H
#define MCFS_COSYNC_H

#include <pthread.h>
#include <stdbool.h>

struct co_waiter;

struct co_mutex {
	pthread_mutex_t guard;
	bool locked;
	struct co_waiter *head, *tail;
};
#define CO_MUTEX_INITIALIZER                                                                       \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, false, NULL, NULL                                       \
	}

void co_mutex_init(struct co_mutex *m);
void co_mutex_destroy(struct co_mutex *m);
void co_mutex_lock(struct co_mutex *m);
bool co_mutex_trylock(struct co_mutex *m);
void co_mutex_unlock(struct co_mutex *m);

/* Readers share it, writers take it alone; a waiting writer holds back
 * readers that come after it. */
struct co_rwlock {
	pthread_mutex_t guard;
	unsigned readers;
	bool writer;
	struct co_waiter *head, *tail;
};

void co_rwlock_init(struct co_rwlock *l);
void co_rwlock_destroy(struct co_rwlock *l);
void co_rwlock_rdlock(struct co_rwlock *l);
void co_rwlock_wrlock(struct co_rwlock *l);
void co_rwlock_unlock(struct co_rwlock *l);

/* A condition variable over a plain mutex that is never held across a
 * park: the waiter releases it while it waits. No spurious wake-ups, but
 * callers still re-check their predicate, as with pthread_cond_wait. */
struct co_cond {
	struct co_waiter *head, *tail;
};
#define CO_COND_INITIALIZER                                                                        \
	{                                                                                          \
		NULL, NULL                                                                         \
	}

void co_cond_wait(struct co_cond *c, pthread_mutex_t *m);
void co_cond_signal(struct co_cond *c);
void co_cond_broadcast(struct co_cond *c);

#endif
