#include "cosync.h"

#include <stddef.h>

#include "coro.h"
#include "evloop.h"
#include "log.h"

/* Lives on the waiter's stack until it is granted what it waits for. */
struct co_waiter {
	struct co_waiter *next;
	struct coro *co; /* NULL: a plain thread, waiting on cond */
	pthread_cond_t cond;
	bool granted;
	bool writer;
};

static void enqueue(struct co_waiter **head, struct co_waiter **tail, struct co_waiter *w)
{
	w->next = NULL;
	if (*tail)
		(*tail)->next = w;
	else
		*head = w;
	*tail = w;
}

static struct co_waiter *dequeue(struct co_waiter **head, struct co_waiter **tail)
{
	struct co_waiter *w = *head;
	if (w) {
		*head = w->next;
		if (!*head)
			*tail = NULL;
	}
	return w;
}

/* Hands w what it waits for (the guard of its queue held). */
static void grant(struct co_waiter *w)
{
	w->granted = true;
	if (w->co)
		coro_wake(w->co);
	else
		pthread_cond_signal(&w->cond);
}

/* Waits until granted; guard is held on entry and released on return. */
static void wait_granted(struct co_waiter *w, pthread_mutex_t *guard)
{
	if (w->co) {
		pthread_mutex_unlock(guard);
		coro_park();
		return;
	}
	while (!w->granted)
		pthread_cond_wait(&w->cond, guard);
	pthread_mutex_unlock(guard);
	pthread_cond_destroy(&w->cond);
}

static void waiter_init(struct co_waiter *w, bool writer)
{
	w->co = coro_self();
	w->granted = false;
	w->writer = writer;
	if (!w->co) {
		/* Blocking a loop thread outside a coroutine deadlocks it if the
		 * holder is one of its own parked coroutines. */
		if (evloop_current())
			log_error("cosync: an event loop blocks on a lock outside a coroutine");
		pthread_cond_init(&w->cond, NULL);
	}
}

/* ------------------------------------------------------------ mutex */

void co_mutex_init(struct co_mutex *m)
{
	pthread_mutex_init(&m->guard, NULL);
	m->locked = false;
	m->head = m->tail = NULL;
}

void co_mutex_destroy(struct co_mutex *m)
{
	pthread_mutex_destroy(&m->guard);
}

void co_mutex_lock(struct co_mutex *m)
{
	pthread_mutex_lock(&m->guard);
	if (!m->locked) {
		m->locked = true;
		pthread_mutex_unlock(&m->guard);
		return;
	}
	struct co_waiter w;
	waiter_init(&w, true);
	enqueue(&m->head, &m->tail, &w);
	/* The unlocker passes the lock on: it stays locked for us. */
	wait_granted(&w, &m->guard);
}

bool co_mutex_trylock(struct co_mutex *m)
{
	pthread_mutex_lock(&m->guard);
	bool got = !m->locked;
	m->locked = true;
	pthread_mutex_unlock(&m->guard);
	return got;
}

void co_mutex_unlock(struct co_mutex *m)
{
	pthread_mutex_lock(&m->guard);
	struct co_waiter *w = dequeue(&m->head, &m->tail);
	if (w)
		grant(w);
	else
		m->locked = false;
	pthread_mutex_unlock(&m->guard);
}

/* ------------------------------------------------------------ rwlock */

void co_rwlock_init(struct co_rwlock *l)
{
	pthread_mutex_init(&l->guard, NULL);
	l->readers = 0;
	l->writer = false;
	l->head = l->tail = NULL;
}

void co_rwlock_destroy(struct co_rwlock *l)
{
	pthread_mutex_destroy(&l->guard);
}

void co_rwlock_rdlock(struct co_rwlock *l)
{
	pthread_mutex_lock(&l->guard);
	if (!l->writer && !l->head) {
		l->readers++;
		pthread_mutex_unlock(&l->guard);
		return;
	}
	struct co_waiter w;
	waiter_init(&w, false);
	enqueue(&l->head, &l->tail, &w);
	wait_granted(&w, &l->guard);
}

void co_rwlock_wrlock(struct co_rwlock *l)
{
	pthread_mutex_lock(&l->guard);
	if (!l->writer && l->readers == 0 && !l->head) {
		l->writer = true;
		pthread_mutex_unlock(&l->guard);
		return;
	}
	struct co_waiter w;
	waiter_init(&w, true);
	enqueue(&l->head, &l->tail, &w);
	wait_granted(&w, &l->guard);
}

void co_rwlock_unlock(struct co_rwlock *l)
{
	pthread_mutex_lock(&l->guard);
	if (l->writer)
		l->writer = false;
	else if (l->readers > 0)
		l->readers--;
	if (l->head && l->head->writer) {
		if (l->readers == 0) {
			l->writer = true;
			grant(dequeue(&l->head, &l->tail));
		}
	} else {
		/* Every reader at the head of the queue, up to the next writer. */
		while (l->head && !l->head->writer) {
			l->readers++;
			grant(dequeue(&l->head, &l->tail));
		}
	}
	pthread_mutex_unlock(&l->guard);
}

/* ------------------------------------------------------------ cond */

void co_cond_wait(struct co_cond *c, pthread_mutex_t *m)
{
	struct co_waiter w;
	waiter_init(&w, false);
	enqueue(&c->head, &c->tail, &w);
	wait_granted(&w, m);
	pthread_mutex_lock(m);
}

void co_cond_signal(struct co_cond *c)
{
	struct co_waiter *w = dequeue(&c->head, &c->tail);
	if (w)
		grant(w);
}

void co_cond_broadcast(struct co_cond *c)
{
	struct co_waiter *w;
	while ((w = dequeue(&c->head, &c->tail)))
		grant(w);
}
