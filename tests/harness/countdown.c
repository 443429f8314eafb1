#include "countdown.h"
#include "deadline.h"

#include <errno.h>
#include <time.h>

void countdown_set(struct countdown *c, int n)
{
	pthread_mutex_lock(&c->lock);
	c->left = n;
	pthread_mutex_unlock(&c->lock);
}

void countdown_one(struct countdown *c)
{
	pthread_mutex_lock(&c->lock);
	if (--c->left == 0)
		pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

bool countdown_wait(struct countdown *c, int timeout_ms)
{
	struct timespec until = deadline_after_ms(CLOCK_REALTIME, timeout_ms);
	pthread_mutex_lock(&c->lock);
	int r = 0;
	while (c->left > 0 && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&c->cond, &c->lock, &until);
	bool ok = c->left == 0;
	pthread_mutex_unlock(&c->lock);
	return ok;
}
