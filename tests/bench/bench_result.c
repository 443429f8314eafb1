/* Figures: latencies are kept as one 32-bit microsecond count per request in
 * an array sized before the run, so recording one costs a store; sorting and
 * percentiles happen after the timed interval. */
#include "bench_result.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int lat_reserve(struct bench_result *r, size_t n)
{
	if (n <= r->cap)
		return 0;
	uint32_t *l = realloc(r->lat, n * sizeof(*l));
	if (!l)
		return -ENOMEM;
	r->lat = l;
	r->cap = n;
	return 0;
}

int result_begin(struct bench_result *r, size_t expected_ops)
{
	r->amount = 0;
	r->ops = r->bytes = r->entries = 0;
	r->t_start = r->t_end = r->extra_ns = 0;
	r->cpu_start = r->cpu_ns = -1;
	r->nlat = 0;
	return lat_reserve(r, expected_ops ? expected_ops : 64);
}

void result_lat(struct bench_result *r, uint64_t ns)
{
	if (r->nlat == r->cap && lat_reserve(r, r->cap ? r->cap * 2 : 1024) < 0) {
		result_error(r, "out of memory for latencies");
		return;
	}
	uint64_t us = ns / 1000;
	r->lat[r->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void verror(struct bench_result *r, const char *fmt, va_list ap)
{
	if (r->errors++ == 0)
		vsnprintf(r->error, sizeof(r->error), fmt, ap);
}

void result_error(struct bench_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(r, fmt, ap);
	va_end(ap);
	if (r->errors == 1)
		fprintf(stderr, "nfsbench: %s: %s\n", r->name ? r->name : "setup", r->error);
}

void bench_fail(struct bench *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(b->cur, fmt, ap);
	va_end(ap);
	if (b->cur->errors == 1)
		fprintf(stderr, "nfsbench: %s: %s\n", b->cur->name ? b->cur->name : "setup",
			b->cur->error);
	b->stop = true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least permille/1000 of all at or below it. */
static uint32_t rank(const struct bench_result *r, unsigned permille)
{
	if (r->nlat == 0)
		return 0;
	size_t k = (r->nlat * permille + 999) / 1000;
	return r->lat[k ? k - 1 : 0];
}

void result_finish(struct bench_result *r)
{
	qsort(r->lat, r->nlat, sizeof(*r->lat), cmp_u32);
	r->p50 = rank(r, 500);
	r->p90 = rank(r, 900);
	r->p99 = rank(r, 990);
	r->p999 = rank(r, 999);
	r->max = r->nlat ? r->lat[r->nlat - 1] : 0;
}

/* The message as one quoted field: no quotes or line breaks inside. */
static void print_error(FILE *out, const char *msg)
{
	fputs(" error=\"", out);
	for (const char *p = msg; *p; p++)
		fputc(*p == '"' ? '\'' : (*p == '\n' || *p == '\r') ? ' ' : *p, out);
	fputc('"', out);
}

void result_print(FILE *out, const char *label, const struct bench_result *r, bool all_lat)
{
	double secs = r->t_end > r->t_start ? (double)(r->t_end - r->t_start) / 1e9 : 0;
	fprintf(out, "result label=%s workload=%s", label, r->name);
	if (r->errors || !r->ran || secs <= 0)
		fprintf(out, " value=error");
	else
		fprintf(out, " value=%.1f", r->amount / secs);
	fprintf(out, " unit=%s ops=%" PRIu64 " seconds=%.3f errors=%" PRIu64 " p50_us=%u p99_us=%u",
		r->unit, r->ops, secs, r->errors, r->p50, r->p99);
	if (all_lat)
		fprintf(out, " p90_us=%u p999_us=%u max_us=%u", r->p90, r->p999, r->max);
	if (r->bytes && strcmp(r->unit, "MiB/s") != 0 && secs > 0 && !r->errors)
		fprintf(out, " mib_s=%.1f", (double)r->bytes / (1 << 20) / secs);
	if (r->entries)
		fprintf(out, " entries=%" PRIu64, r->entries);
	if (r->extra_ns)
		fprintf(out, " commit_us=%" PRIu64, r->extra_ns / 1000);
	/* Per unit of the figure (a MiB, an op, a file, an entry), and how many
	 * cores' worth the server used meanwhile. */
	if (r->cpu_ns >= 0 && r->amount > 0 && secs > 0 && !r->errors)
		fprintf(out, " server_cpu_us=%.2f server_cores=%.2f",
			(double)r->cpu_ns / 1000 / r->amount, (double)r->cpu_ns / 1e9 / secs);
	if (r->errors)
		print_error(out, r->error);
	else if (!r->ran)
		print_error(out, "did not run");
	fputc('\n', out);
}

void result_free(struct bench_result *r)
{
	free(r->lat);
	r->lat = NULL;
	r->nlat = r->cap = 0;
}
