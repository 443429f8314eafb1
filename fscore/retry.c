#include "retry.h"

#include <stdlib.h>
#include <time.h>

#include "coro.h"

static uint32_t jitter_random(void)
{
	/* Thread-local xorshift: jitter needs spread, not cryptographic quality. */
	static __thread uint64_t state;
	if (state == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		state = ((uint64_t)ts.tv_nsec << 17) ^ (uint64_t)(uintptr_t)&state ^
			(uint64_t)ts.tv_sec;
		if (state == 0)
			state = 0x9e3779b97f4a7c15ULL;
	}
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (uint32_t)(state >> 11);
}

uint32_t retry_backoff_ms(const struct retry_policy *p, unsigned attempt)
{
	if (attempt == 0)
		return 0;
	uint64_t ceiling = p->base_ms;
	for (unsigned i = 1; i < attempt && ceiling < p->max_ms; i++)
		ceiling *= 2;
	if (ceiling > p->max_ms)
		ceiling = p->max_ms;
	return (uint32_t)(jitter_random() % (ceiling + 1));
}

bool retry_wait(const struct retry_policy *p, unsigned attempt)
{
	if (attempt >= p->max_attempts)
		return false;
	/* A coroutine parks meanwhile, so its loop serves others. */
	coro_sleep_ms(retry_backoff_ms(p, attempt));
	return true;
}
