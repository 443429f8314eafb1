#include "copool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "coro.h"
#include "evloop.h"
#include "thread_name.h"

struct copool_job {
	struct copool_job *next;
	void (*fn)(void *);
	void *arg;
};

struct copool {
	struct evloop *l;
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t lock; /* the queue, the idle workers, stopping, live */
	struct copool_job *head, *tail;
	struct coro **idle; /* workers parked for want of a job */
	unsigned nidle, live;
	bool stopping;
};

/* Takes the next job, or parks until there is one; NULL once stopping with
 * nothing left. */
static struct copool_job *next_job(struct copool *p)
{
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct copool_job *j = p->head;
		if (j) {
			p->head = j->next;
			if (!p->head)
				p->tail = NULL;
			pthread_mutex_unlock(&p->lock);
			return j;
		}
		if (p->stopping)
			break;
		p->idle[p->nidle++] = coro_self();
		pthread_mutex_unlock(&p->lock);
		coro_park(); /* woken by exactly one submit or destroy */
		pthread_mutex_lock(&p->lock);
	}
	bool last = --p->live == 0;
	pthread_mutex_unlock(&p->lock);
	if (last)
		evloop_stop(p->l);
	return NULL;
}

static void worker(void *arg)
{
	struct copool *p = arg;
	struct copool_job *j;
	while ((j = next_job(p)) != NULL) {
		j->fn(j->arg);
		free(j);
	}
}

static void *loop_main(void *arg)
{
	thread_name("mcfs-copy-loop");
	evloop_run(((struct copool *)arg)->l);
	return NULL;
}

static void pool_free(struct copool *p)
{
	if (p->l)
		evloop_destroy(p->l);
	pthread_mutex_destroy(&p->lock);
	free(p->idle);
	free(p);
}

int copool_create(unsigned workers, struct copool **out)
{
	if (workers == 0)
		return -EINVAL;
	struct copool *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	p->idle = calloc(workers, sizeof(*p->idle));
	int rc = p->idle ? evloop_create(&p->l) : -ENOMEM;
	for (unsigned i = 0; rc == 0 && i < workers; i++) {
		rc = coro_spawn(p->l, worker, p);
		if (rc == 0)
			p->live++;
	}
	if (rc == 0) {
		rc = -pthread_create(&p->thread, NULL, loop_main, p);
		p->thread_started = rc == 0;
	}
	if (rc < 0) {
		copool_destroy(p);
		return rc;
	}
	*out = p;
	return 0;
}

int copool_submit(struct copool *p, void (*fn)(void *), void *arg)
{
	struct copool_job *j = malloc(sizeof(*j));
	if (!j)
		return -ENOMEM;
	*j = (struct copool_job){.fn = fn, .arg = arg};
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	struct coro *co = p->nidle ? p->idle[--p->nidle] : NULL;
	pthread_mutex_unlock(&p->lock);
	if (co)
		coro_wake(co);
	return 0;
}

void copool_destroy(struct copool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	while (p->nidle > 0)
		coro_wake(p->idle[--p->nidle]);
	pthread_mutex_unlock(&p->lock);
	/* The last worker to see the queue empty stops the loop. A pool
	 * whose thread never started runs its loop here: its workers, which
	 * never ran, see the stop at once and end, and their coroutines are
	 * freed (a loop destroyed with them queued would keep their stacks). */
	if (p->thread_started)
		pthread_join(p->thread, NULL);
	else if (p->live > 0)
		evloop_run(p->l);
	pool_free(p);
}
