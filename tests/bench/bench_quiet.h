/* Waiting for the machine to go quiet before a timed run: a target's
 * background work after its own run (replication, deferred deletion, a
 * flush) must not fall into the next target's timed interval, where it
 * would slow that target down and be charged to no one. */
#ifndef MCFS_BENCH_QUIET_H
#define MCFS_BENCH_QUIET_H

#include <signal.h>
#include <stdbool.h>

/* Polls the machine's CPU time (/proc/stat, all processes) until a window
 * of QUIET_WINDOW_MS has kept less than a tenth of one core busy, for at
 * most max_ms or until *stop. 0 when quiet (*waited_ms: how long it took),
 * -ETIMEDOUT, -EINTR, or -errno when /proc/stat cannot be read. */
int bench_wait_quiet(unsigned max_ms, const volatile sig_atomic_t *stop, long long *waited_ms);

#endif
