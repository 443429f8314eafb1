/* A fixed pool of worker threads running queued jobs; used for parallel
 * block uploads, readahead and background maintenance. */
#ifndef MCFS_WORKPOOL_H
#define MCFS_WORKPOOL_H

#include <pthread.h>
#include <stddef.h>

struct workpool;
typedef void (*workpool_fn)(void *arg);

int workpool_create(unsigned nthreads, struct workpool **out);
/* Queues fn(arg); -ENOMEM if it cannot. */
int workpool_submit(struct workpool *wp, workpool_fn fn, void *arg);
/* Runs every queued job to completion, then stops the threads. */
void workpool_destroy(struct workpool *wp);

/* A countdown latch so a caller can wait for a group of its jobs. */
struct workgroup {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned pending;
	int first_error;
};
void workgroup_init(struct workgroup *g);
void workgroup_add(struct workgroup *g, unsigned n);
void workgroup_done(struct workgroup *g, int result);
/* Waits for every job added; returns the first non-zero result. */
int workgroup_wait(struct workgroup *g);
void workgroup_destroy(struct workgroup *g);

#endif
