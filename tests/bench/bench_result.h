/* The figures of mcfs-nfsbench: per workload the counts, the timed interval,
 * the latency of every request and the first error, printed on stdout as one
 * key=value line per figure for the orchestrator to parse:
 *   result label=L workload=W value=V unit=U ops=N seconds=S errors=E p50_us=P p99_us=Q ...
 * A figure with any error has value=error and ends with error="what went
 * wrong", so a broken server never shows a number. */
#ifndef MCFS_BENCH_RESULT_H
#define MCFS_BENCH_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bench;

struct bench_result {
	const char *name;
	const char *unit;  /* of the figure: MiB/s, ops/s, files/s, entries/s */
	bool selected;	   /* asked for: printed */
	bool ran;	   /* the timed part ran (perhaps with errors) */
	double amount;	   /* what the figure counts per second (MiB, ops, files, entries) */
	uint64_t ops;	   /* requests (or files) the latencies describe */
	uint64_t bytes;	   /* of data moved, printed as mib_s when the figure is not MiB/s */
	uint64_t entries;  /* directory entries seen (readdir) */
	uint64_t t_start;  /* ns: first request sent */
	uint64_t t_end;	   /* ns: last reply received */
	uint64_t extra_ns; /* seqwrite: the COMMIT's latency */
	int64_t cpu_start; /* ns: the server's CPU time at t_start */
	int64_t cpu_ns;	   /* the server's CPU time from t_start to t_end; -1 unknown */
	uint64_t errors;
	char error[256]; /* the first one */
	uint32_t *lat;	 /* us, one per op, sorted by result_finish */
	size_t nlat, cap;
	uint32_t p50, p90, p99, p999, max;
};

uint64_t now_ns(void);

/* Clears the counts and makes room for expected_ops latencies (more grow the
 * array). 0 or -ENOMEM. */
int result_begin(struct bench_result *r, size_t expected_ops);
void result_lat(struct bench_result *r, uint64_t ns);
void result_error(struct bench_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sorts the latencies and takes the percentiles. */
void result_finish(struct bench_result *r);
void result_print(FILE *out, const char *label, const struct bench_result *r, bool all_lat);
void result_free(struct bench_result *r);

/* An error of the running requests: counted in b->cur, said on stderr the
 * first time, and no further request is started (b->stop). */
void bench_fail(struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
