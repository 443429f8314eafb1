#include "workpool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "thread_name.h"

struct job {
	struct job *next;
	workpool_fn fn;
	void *arg;
};

struct workpool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *head, *tail;
	bool stopping;
	unsigned nthreads;
	pthread_t threads[];
};

static void *worker_main(void *arg)
{
	thread_name("mcfs-pool");
	struct workpool *wp = arg;
	pthread_mutex_lock(&wp->lock);
	for (;;) {
		while (!wp->head && !wp->stopping)
			pthread_cond_wait(&wp->wake, &wp->lock);
		struct job *j = wp->head;
		if (!j)
			break; /* stopping and drained */
		wp->head = j->next;
		if (!wp->head)
			wp->tail = NULL;
		pthread_mutex_unlock(&wp->lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&wp->lock);
	}
	pthread_mutex_unlock(&wp->lock);
	return NULL;
}

int workpool_create(unsigned nthreads, struct workpool **out)
{
	if (nthreads == 0)
		nthreads = 1;
	struct workpool *wp = calloc(1, sizeof(*wp) + nthreads * sizeof(pthread_t));
	if (!wp)
		return -ENOMEM;
	pthread_mutex_init(&wp->lock, NULL);
	pthread_cond_init(&wp->wake, NULL);
	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_create(&wp->threads[i], NULL, worker_main, wp) != 0) {
			wp->nthreads = i;
			workpool_destroy(wp);
			return -EAGAIN;
		}
		wp->nthreads = i + 1;
	}
	*out = wp;
	return 0;
}

int workpool_submit(struct workpool *wp, workpool_fn fn, void *arg)
{
	struct job *j = malloc(sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&wp->lock);
	if (wp->tail)
		wp->tail->next = j;
	else
		wp->head = j;
	wp->tail = j;
	pthread_cond_signal(&wp->wake);
	pthread_mutex_unlock(&wp->lock);
	return 0;
}

void workpool_destroy(struct workpool *wp)
{
	if (!wp)
		return;
	pthread_mutex_lock(&wp->lock);
	wp->stopping = true;
	pthread_cond_broadcast(&wp->wake);
	pthread_mutex_unlock(&wp->lock);
	for (unsigned i = 0; i < wp->nthreads; i++)
		pthread_join(wp->threads[i], NULL);
	pthread_cond_destroy(&wp->wake);
	pthread_mutex_destroy(&wp->lock);
	free(wp);
}

void workgroup_init(struct workgroup *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->pending = 0;
	g->first_error = 0;
}

void workgroup_add(struct workgroup *g, unsigned n)
{
	pthread_mutex_lock(&g->lock);
	g->pending += n;
	pthread_mutex_unlock(&g->lock);
}

void workgroup_done(struct workgroup *g, int result)
{
	pthread_mutex_lock(&g->lock);
	if (result != 0 && g->first_error == 0)
		g->first_error = result;
	if (--g->pending == 0)
		pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

int workgroup_wait(struct workgroup *g)
{
	pthread_mutex_lock(&g->lock);
	while (g->pending > 0)
		pthread_cond_wait(&g->cond, &g->lock);
	int r = g->first_error;
	pthread_mutex_unlock(&g->lock);
	return r;
}

void workgroup_destroy(struct workgroup *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}
