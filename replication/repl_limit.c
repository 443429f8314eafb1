/* Bandwidth limit of the replicator; see repl_limit.h. */
#include "repl_limit.h"

#include <time.h>

#include "coro.h"

void repl_limit_init(struct repl_limit *l, uint64_t bytes_per_second)
{
	pthread_mutex_init(&l->lock, NULL);
	l->rate = bytes_per_second;
	l->burst = (double)bytes_per_second;
	l->tokens = l->burst;
	l->last_ns = -1;
}

void repl_limit_destroy(struct repl_limit *l)
{
	pthread_mutex_destroy(&l->lock);
}

long long repl_limit_charge(struct repl_limit *l, uint64_t n, long long now_ns)
{
	if (l->rate == 0)
		return 0;
	pthread_mutex_lock(&l->lock);
	if (l->last_ns >= 0 && now_ns > l->last_ns) {
		l->tokens += (double)(now_ns - l->last_ns) * (double)l->rate / 1e9;
		if (l->tokens > l->burst)
			l->tokens = l->burst;
	}
	if (now_ns > l->last_ns)
		l->last_ns = now_ns;
	l->tokens -= (double)n;
	double debt = l->tokens < 0 ? -l->tokens : 0;
	pthread_mutex_unlock(&l->lock);
	return (long long)(debt * 1e9 / (double)l->rate);
}

void repl_limit_take(struct repl_limit *l, uint64_t n)
{
	if (l->rate == 0)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long wait =
	    repl_limit_charge(l, n, (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
	/* On a coroutine the wait parks it, and its loop copies meanwhile. */
	if (wait > 0)
		coro_sleep_ms((unsigned)((wait + 999999) / 1000000));
}
