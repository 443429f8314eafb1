/* Bounded exponential backoff with full jitter, shared by every retry loop. */
#ifndef MCFS_RETRY_H
#define MCFS_RETRY_H

#include <stdbool.h>
#include <stdint.h>

struct retry_policy {
	unsigned max_attempts; /* total tries, including the first */
	uint32_t base_ms;      /* first backoff ceiling */
	uint32_t max_ms;       /* cap on any single backoff */
};

#define RETRY_POLICY_DEFAULT                                                                       \
	((struct retry_policy){.max_attempts = 5, .base_ms = 50, .max_ms = 2000})

/* Delay before retry number `attempt` (1 = first retry): uniform in [0, min(max,
 * base*2^(attempt-1))]. */
uint32_t retry_backoff_ms(const struct retry_policy *p, unsigned attempt);
/* Sleeps for retry_backoff_ms(); returns false once attempts are exhausted. */
bool retry_wait(const struct retry_policy *p, unsigned attempt);

#endif
