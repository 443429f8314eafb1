/* A count of things still running that a test thread waits on, with a
 * deadline: coroutines and threads report in, the test never sleeps. */
#ifndef MCFS_TEST_COUNTDOWN_H
#define MCFS_TEST_COUNTDOWN_H

#include <pthread.h>
#include <stdbool.h>

struct countdown {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int left;
};
#define COUNTDOWN_INITIALIZER                                                                      \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0                             \
	}

void countdown_set(struct countdown *c, int n);
void countdown_one(struct countdown *c);
/* True when the count reached 0 within timeout_ms. */
bool countdown_wait(struct countdown *c, int timeout_ms);

#endif
