#include "bench_quiet.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define QUIET_WINDOW_MS 500
/* Busy time allowed in a quiet window, in thousandths of one core: idle
 * servers still tick (Redis's timer, a replicator's blocking read). */
#define QUIET_PERMILLE 100

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CPU time spent in all processes and the kernel for them, in ticks: user,
 * nice, system, irq and softirq of /proc/stat's first line. Time stolen by
 * the hypervisor is not this machine's work. */
static int busy_ticks(unsigned long long *out)
{
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return -errno;
	unsigned long long user, nice, sys, idle, iowait, irq, softirq;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle,
		       &iowait, &irq, &softirq);
	fclose(f);
	if (n != 7)
		return -EIO;
	*out = user + nice + sys + irq + softirq;
	return 0;
}

int bench_wait_quiet(unsigned max_ms, const volatile sig_atomic_t *stop, long long *waited_ms)
{
	long long start = now_ms();
	long hz = sysconf(_SC_CLK_TCK);
	/* The most busy ticks a quiet window may hold. */
	unsigned long long allowed =
	    (unsigned long long)(hz > 0 ? hz : 100) * QUIET_WINDOW_MS * QUIET_PERMILLE / 1000000;
	unsigned long long before, after;
	int r = busy_ticks(&before);
	while (r == 0) {
		if (*stop)
			return -EINTR;
		struct timespec window = {.tv_nsec = QUIET_WINDOW_MS * 1000000L};
		nanosleep(&window, NULL);
		r = busy_ticks(&after);
		if (r < 0)
			break;
		if (after - before <= allowed) {
			*waited_ms = now_ms() - start;
			return 0;
		}
		if (now_ms() - start >= (long long)max_ms)
			return -ETIMEDOUT;
		before = after;
	}
	return r;
}
