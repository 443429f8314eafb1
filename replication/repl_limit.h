/* A token bucket on the bytes the replicator writes to the target bucket,
 * shared by every copy in flight, so `bandwidth` bounds the sum of them. */
#ifndef MCFS_REPL_LIMIT_H
#define MCFS_REPL_LIMIT_H

#include <pthread.h>
#include <stdint.h>

struct repl_limit {
	pthread_mutex_t lock;
	uint64_t rate;	   /* bytes per second; 0 = unlimited */
	double tokens;	   /* may go negative: a debt later callers wait out */
	double burst;	   /* at most one second of rate saved up */
	long long last_ns; /* monotonic time of the last refill */
};

void repl_limit_init(struct repl_limit *l, uint64_t bytes_per_second);
void repl_limit_destroy(struct repl_limit *l);
/* Takes n bytes from the bucket, waiting as long as the rate demands (a
 * coroutine parks, a plain thread sleeps; to the millisecond).
 * Callers queue fairly by the debt: each waits for what came before it. */
void repl_limit_take(struct repl_limit *l, uint64_t n);
/* The delay in ns that taking n bytes at time now_ns would cost (and takes
 * them); the arithmetic of repl_limit_take, without the sleep. */
long long repl_limit_charge(struct repl_limit *l, uint64_t n, long long now_ns);

#endif
