/* The CPU time of the server's processes, read before and after a timed
 * interval: what a server spends per operation, beside how fast it answers.
 * Two servers can answer at the same speed while one does half the work, and
 * on a small machine shared with the client that work is what the other
 * processes lose. */
#ifndef MCFS_BENCH_CPU_H
#define MCFS_BENCH_CPU_H

#include <stdint.h>
#include <sys/types.h>

#define CPU_PIDS_MAX 8

struct cpu_pids {
	int n;
	pid_t pid[CPU_PIDS_MAX];
};

/* "PID[,PID...]": 0, or -EINVAL. */
int cpu_pids_parse(struct cpu_pids *p, const char *list);
/* The CPU time the processes have used so far, in ns: their CPU clocks
 * (clock_getcpuclockid), which count every thread they have had; where
 * those cannot be read, user and system time from /proc/PID/stat, in clock
 * ticks. -1 when there are none or one cannot be read (it has exited). */
int64_t cpu_pids_ns(const struct cpu_pids *p);

#endif
