/* Absolute deadlines for timed waits (pthread_cond_timedwait, whose
 * condition variable decides the clock). */
#ifndef MCFS_DEADLINE_H
#define MCFS_DEADLINE_H

#include <time.h>

/* ms milliseconds from now on clock. */
struct timespec deadline_after_ms(clockid_t clock, long long ms);
/* Monotonic milliseconds at the coarse clock's resolution (a few ms), which
 * costs no system call: for the age bounds of cache entries. */
long long coarse_now_ms(void);

#endif
