/* mcfs-nfsbench: an NFSv3 load generator, to compare NFS servers (the mcfs
 * gateway, NFS-Ganesha, any other) on the same workloads. It is a pure NFS
 * client (libnfs), not linked with mcfs. Everything happens in a fresh
 * directory it makes under the export's root and removes at the end.
 *
 * stdout carries only the figures, one "result key=value ..." line each (see
 * bench_result.h); progress and diagnostics go to stderr. The exit status is
 * 0 only when every figure is good and the cleanup worked: 1 otherwise, 2
 * for a bad command line. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bench.h"
#include "bench_conn.h"
#include "bench_data.h"
#include "bench_meta.h"
#include "bench_ops.h"

static const char *const wl_names[WL_COUNT] = {"seqwrite", "seqread", "randread", "create",
					       "stat",	   "readdir", "remove"};
static const char *const wl_units[WL_COUNT] = {"MiB/s", "MiB/s",     "ops/s", "files/s",
					       "ops/s", "entries/s", "ops/s"};
/* What a workload works on, made first (untimed) when not asked for. */
static const int wl_needs[WL_COUNT] = {-1,	  WL_SEQWRITE, WL_SEQWRITE, -1,
				       WL_CREATE, WL_CREATE,   WL_CREATE};

static const struct option long_opts[] = {{"url", required_argument, NULL, 'u'},
					  {"label", required_argument, NULL, 'l'},
					  {"dir", required_argument, NULL, 'd'},
					  {"conns", required_argument, NULL, 'c'},
					  {"depth", required_argument, NULL, 'q'},
					  {"file-size", required_argument, NULL, 's'},
					  {"files", required_argument, NULL, 'n'},
					  {"rand-ops", required_argument, NULL, 'r'},
					  {"workloads", required_argument, NULL, 'w'},
					  {"timeout", required_argument, NULL, 't'},
					  {"seed", required_argument, NULL, 'S'},
					  {"min-time", required_argument, NULL, 'm'},
					  {"lat", no_argument, NULL, 'L'},
					  {"cpu-of", required_argument, NULL, 'C'},
					  {"help", no_argument, NULL, 'h'},
					  {NULL, 0, NULL, 0}};

static void usage(FILE *out)
{
	fputs("usage: mcfs-nfsbench --url 'nfs://HOST/EXPORT?nfsport=P&mountport=P&version=3'\n"
	      "         [--label NAME] [--dir NAME] [--conns N] [--depth N]\n"
	      "         [--file-size SIZE] [--files N] [--rand-ops N]\n"
	      "         [--workloads all|seqwrite,seqread,randread,create,stat,readdir,remove]\n"
	      "         [--timeout SECS] [--seed N] [--min-time SECS] [--lat]\n"
	      "         [--cpu-of PID[,PID...]]\n"
	      "  --label      names the server in the result lines (default nfs)\n"
	      "  --dir        fresh directory under the export root (default nfsbench-PID)\n"
	      "  --conns      TCP connections (default 4); --depth requests in flight on each (4)\n"
	      "  --file-size  of the big file, a multiple of 4K (default 256M)\n"
	      "  --files      small files (default 5000); --rand-ops 4K random reads (20000)\n"
	      "  --timeout    seconds an RPC may take (default 60)\n"
	      "  --min-time   seqread, randread, stat and readdir repeat whole passes\n"
	      "               until they have run this long (default 0: one pass)\n"
	      "  --lat        also p90, p99.9 and max latencies\n"
	      "  --cpu-of     the server's processes (on this machine): each figure also\n"
	      "               gives the CPU time they used per unit (server_cpu_us) and\n"
	      "               the cores they kept busy (server_cores)\n",
	      out);
}

/* A decimal number in [min, max]. */
static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || *end || errno || *s == '-' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "512M", "1G", "64KiB", "4096": binary multiples. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno || *s == '-')
		return -EINVAL;
	const char *units = "KMGT", *u = *end ? strchr(units, *end & ~0x20) : NULL;
	int shift = u ? 10 * (int)(u - units + 1) : 0;
	if (u)
		end++;
	if (u && (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0))
		end += strlen(end);
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_workloads(const char *s, unsigned *out)
{
	*out = 0;
	char *copy = strdup(s), *save = NULL;
	if (!copy)
		return -ENOMEM;
	int rc = 0;
	for (char *t = strtok_r(copy, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
		int w = 0;
		while (w < WL_COUNT && strcmp(t, wl_names[w]) != 0)
			w++;
		if (strcmp(t, "all") == 0)
			*out |= (1u << WL_COUNT) - 1;
		else if (w < WL_COUNT)
			*out |= 1u << w;
		else
			rc = -EINVAL;
	}
	free(copy);
	return rc == 0 && *out == 0 ? -EINVAL : rc;
}

static int parse_opt(struct bench_opts *o, int c, const char *arg)
{
	uint64_t v = 0;
	int rc = 0;
	switch (c) {
	case 'u':
		o->url = arg;
		break;
	case 'l':
		o->label = arg;
		break;
	case 'd':
		o->dir = arg;
		break;
	case 'c':
		rc = parse_uint(arg, 1, BENCH_CONNS_MAX, &v);
		o->conns = (int)v;
		break;
	case 'q':
		rc = parse_uint(arg, 1, BENCH_DEPTH_MAX, &v);
		o->depth = (int)v;
		break;
	case 's':
		rc = parse_size(arg, &o->file_size);
		break;
	case 'n':
		rc = parse_uint(arg, 1, BENCH_FILES_MAX, &v);
		o->files = (uint32_t)v;
		break;
	case 'r':
		rc = parse_uint(arg, 1, UINT32_MAX, &o->rand_ops);
		break;
	case 'w':
		rc = parse_workloads(arg, &o->workloads);
		break;
	case 't':
		rc = parse_uint(arg, 1, 3600, &v);
		o->timeout_s = (int)v;
		break;
	case 'S':
		rc = parse_uint(arg, 0, UINT64_MAX, &o->seed);
		break;
	case 'L':
		o->lat = true;
		break;
	case 'C':
		rc = cpu_pids_parse(&o->cpu, arg);
		break;
	case 'm':
		rc = parse_uint(arg, 0, 3600, &v);
		o->min_time_ns = v * 1000000000ull;
		break;
	default:
		rc = -EINVAL;
	}
	return rc;
}

static int check_opts(const struct bench_opts *o)
{
	const char *why = NULL;
	if (!o->url)
		why = "--url is needed";
	else if (o->file_size < BENCH_SMALL || o->file_size % BENCH_SMALL)
		why = "--file-size must be a multiple of 4K";
	else if (o->conns * o->depth > 1024)
		why = "--conns times --depth must be at most 1024";
	else if (!o->dir[0] || strchr(o->dir, '/') || strcmp(o->dir, ".") == 0 ||
		 strcmp(o->dir, "..") == 0)
		why = "--dir must be a plain name";
	if (why)
		fprintf(stderr, "mcfs-nfsbench: %s\n", why);
	return why ? -EINVAL : 0;
}

/* 0, 1 for --help, or -EINVAL. */
static int parse_args(struct bench_opts *o, int argc, char **argv)
{
	int c, idx = 0;
	while ((c = getopt_long(argc, argv, "", long_opts, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (parse_opt(o, c, optarg) < 0) {
			if (c != '?')
				fprintf(stderr, "mcfs-nfsbench: bad value '%s' for --%s\n", optarg,
					long_opts[idx].name);
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return -EINVAL;
	}
	return check_opts(o);
}

static int setup(struct bench *b)
{
	b->cur = &b->setup;
	if (pattern_init(&b->pat, b->o.seed) < 0 ||
	    !(b->small = calloc(b->o.files, sizeof(*b->small)))) {
		result_error(&b->setup, "out of memory");
		return -ENOMEM;
	}
	int rc = conn_open_all(b);
	if (rc < 0) {
		result_error(&b->setup, "cannot use %s: %s", b->o.url, strerror(-rc));
		return rc;
	}
	return ops_mkdir(b, &b->root, b->o.dir, &b->dir);
}

/* Once, before the small files go: read some back. */
static void verify_small(struct bench *b)
{
	if (b->small_verified || !b->res[WL_CREATE].ran)
		return;
	b->small_verified = true;
	meta_verify(b);
}

static int run_workload(struct bench *b, int w)
{
	switch (w) {
	case WL_SEQWRITE:
		return data_seqwrite(b);
	case WL_SEQREAD:
		return data_seqread(b);
	case WL_RANDREAD:
		return data_randread(b);
	case WL_CREATE:
		return meta_create(b);
	case WL_STAT:
		return meta_stat(b);
	case WL_READDIR:
		return meta_readdir(b);
	default:
		return meta_remove(b, true);
	}
}

static void run_one(struct bench *b, int w)
{
	struct bench_result *r = &b->res[w];
	int need = wl_needs[w];
	if (w == WL_REMOVE)
		verify_small(b);
	if (need >= 0 && (b->res[need].errors || !b->res[need].ran)) {
		result_error(r, "not run: %s failed", wl_names[need]);
		return;
	}
	fprintf(stderr, "nfsbench: %s%s...\n", r->name, r->selected ? "" : " (untimed)");
	run_workload(b, w);
	result_finish(r);
	double secs = r->t_end > r->t_start ? (double)(r->t_end - r->t_start) / 1e9 : 0;
	fprintf(stderr, "nfsbench: %s: %" PRIu64 " ops in %.3f s, %" PRIu64 " errors\n", r->name,
		r->ops, secs, r->errors);
}

static void run_plan(struct bench *b)
{
	unsigned want = b->o.workloads;
	for (int w = 0; w < WL_COUNT; w++)
		if ((want & (1u << w)) && wl_needs[w] >= 0)
			want |= 1u << wl_needs[w];
	for (int w = 0; w < WL_COUNT; w++)
		if (want & (1u << w))
			run_one(b, w);
}

/* Removes what the run made, after the last checks of its data. */
static void cleanup(struct bench *b)
{
	bool small_left = false;
	for (uint32_t i = 0; b->small && i < b->o.files; i++)
		small_left |= b->small[i].len > 0 || b->small[i].maybe;
	if (small_left) {
		verify_small(b);
		b->cur = &b->setup;
		meta_remove(b, false);
	}
	const struct bench_result *sw = &b->res[WL_SEQWRITE];
	if (b->big.len && sw->ran && !sw->errors && !b->res[WL_SEQREAD].ran)
		data_verify(b);
	b->cur = &b->setup;
	if (b->big.len && ops_remove(b, &b->dir, BENCH_BIG_NAME) == 0)
		b->big.len = 0;
	if (b->dir.len && ops_rmdir(b, &b->root, b->o.dir) == 0)
		b->dir.len = 0;
}

/* Prints the figures asked for; 1 if any is bad or anything else failed. */
static int report(struct bench *b)
{
	int status = b->setup.errors ? 1 : 0;
	for (int w = 0; w < WL_COUNT; w++) {
		struct bench_result *r = &b->res[w];
		if (!r->selected)
			continue;
		if (!r->ran && !r->errors)
			result_error(r, "not run: %s", b->setup.errors ? b->setup.error : "?");
		result_print(stdout, b->o.label, r, b->o.lat);
		status |= r->errors || !r->ran;
	}
	fflush(stdout);
	return status;
}

static void init(struct bench *b)
{
	memset(b, 0, sizeof(*b));
	b->o.label = "nfs";
	b->o.conns = 4;
	b->o.depth = 4;
	b->o.timeout_s = 60;
	b->o.file_size = 256ull << 20;
	b->o.files = 5000;
	b->o.rand_ops = 20000;
	b->o.workloads = (1u << WL_COUNT) - 1;
	b->o.seed = now_ns() ^ ((uint64_t)getpid() << 40);
	b->setup.name = "setup";
	b->setup.unit = "";
	for (int w = 0; w < WL_COUNT; w++) {
		b->res[w].name = wl_names[w];
		b->res[w].unit = wl_units[w];
	}
}

static void finish(struct bench *b)
{
	b->cur = &b->setup;
	conn_close_all(b);
	for (int w = 0; w < WL_COUNT; w++)
		result_free(&b->res[w]);
	result_free(&b->setup);
	pattern_free(&b->pat);
	free(b->small);
	free(b->server);
	free(b->export_path);
}

int main(int argc, char **argv)
{
	struct bench b;
	char dir[64];
	init(&b);
	snprintf(dir, sizeof(dir), "nfsbench-%d", (int)getpid());
	b.o.dir = dir;
	int rc = parse_args(&b.o, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	for (int w = 0; w < WL_COUNT; w++)
		b.res[w].selected = (b.o.workloads >> w) & 1;
	fprintf(stderr, "nfsbench: %s, %d connections x %d deep, seed %" PRIu64 "\n", b.o.url,
		b.o.conns, b.o.depth, b.o.seed);
	if (setup(&b) == 0)
		run_plan(&b);
	cleanup(&b);
	int status = report(&b);
	finish(&b);
	return status;
}
