/*
 * A pool of coroutines on one event loop thread, with workpool.h's shape:
 * jobs queued from any thread, a fixed number running at once. A job that
 * waits (an S3 request on the loop's libcurl multi handle, curl_loop.h; a
 * Redis command; coro_offload for a disk write) parks its coroutine, and the
 * loop runs the others meanwhile. So many transfers are in flight on one
 * thread, without a thread switch per transfer.
 */
#ifndef MCFS_COPOOL_H
#define MCFS_COPOOL_H

struct copool;

/* Starts the loop thread and `workers` coroutines (1 or more). */
int copool_create(unsigned workers, struct copool **out);
/* Queues fn(arg); any thread. -ENOMEM if it cannot. */
int copool_submit(struct copool *p, void (*fn)(void *), void *arg);
/* Runs every queued job to completion, then stops the loop thread. */
void copool_destroy(struct copool *p);

#endif
