#include "bench_cpu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cpu_pids_parse(struct cpu_pids *p, const char *list)
{
	p->n = 0;
	const char *s = list;
	while (*s) {
		char *end;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (end == s || errno || v <= 0 || (pid_t)v != v || p->n == CPU_PIDS_MAX ||
		    (*end && *end != ','))
			return -EINVAL;
		p->pid[p->n++] = (pid_t)v;
		s = *end ? end + 1 : end;
		if (*end && !*s)
			return -EINVAL; /* a trailing comma */
	}
	return p->n ? 0 : -EINVAL;
}

/* utime + stime of /proc/PID/stat, in ticks; -1 when unreadable. The name
 * in parentheses may hold spaces and parentheses: fields count from the
 * last ')'. */
static long long process_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	unsigned long long utime, stime;
	/* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
			 &stime) != 2)
		return -1;
	return (long long)(utime + stime);
}

static int64_t process_ticks_ns(pid_t pid)
{
	long hz = sysconf(_SC_CLK_TCK);
	long long ticks = process_ticks(pid);
	return hz > 0 && ticks >= 0 ? (int64_t)(ticks * (1000000000LL / hz)) : -1;
}

/* The process's CPU clock: ns, every thread it has had, the exited ones too. */
static int64_t process_ns(pid_t pid)
{
	clockid_t clock;
	struct timespec ts;
	if (clock_getcpuclockid(pid, &clock) != 0 || clock_gettime(clock, &ts) != 0)
		return process_ticks_ns(pid);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cpu_pids_ns(const struct cpu_pids *p)
{
	if (p->n == 0)
		return -1;
	int64_t sum = 0;
	for (int i = 0; i < p->n; i++) {
		int64_t ns = process_ns(p->pid[i]);
		if (ns < 0)
			return -1;
		sum += ns;
	}
	return sum;
}
