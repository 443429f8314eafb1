/* mcfs-bench: runs the load generator (mcfs-nfsbench) against mcfs on a
 * file:// bucket, mcfs on an s3rver bucket and NFS-Ganesha, all started here
 * on loopback with their data on tmpfs, in alternating order over several
 * runs, and prints the medians side by side with the ratios to Ganesha and
 * the loopback TCP ceiling. See README.md, "Performance". */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_quiet.h"
#include "bench_report.h"
#include "bench_targets.h"
#include "proc.h"
#include "s3rver.h"

#define MAX_TARGETS	     REPORT_MAX_LABELS
#define MAX_PASS_ARGS	     24
#define GENERATOR_TIMEOUT_MS (30 * 60 * 1000)
#define WAIT_SLICE_MS	     200
/* The longest wait for the machine to settle before a run, by default. */
#define QUIET_MAX_MS (60 * 1000)

struct bench {
	int runs;
	bool keep;
	bool tcp;
	bool warmup;
	int settle_max_ms; /* 0: start each run without waiting for the machine */
	const char *tmpfs;
	char work_dir[512];
	char builddir[PATH_MAX];
	int ntargets;
	struct bench_target targets[MAX_TARGETS];
	/* Options handed to every mcfs-nfsbench run. */
	const char *pass[MAX_PASS_ARGS];
	int npass;
	struct report report;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mcfs-bench [--runs N] [--targets mcfs-file,mcfs-s3,mcfs-mirror,ganesha]\n"
		"                  [--file-size SIZE] [--files N] [--rand-ops N]\n"
		"                  [--conns N] [--depth N] [--workloads LIST] [--min-time SECS]\n"
		"                  [--quick] [--no-tcp] [--no-warmup] [--tmpfs DIR]\n"
		"                  [--settle-max SECS] [--keep]\n"
		"Starts each target on loopback (data on tmpfs), runs mcfs-nfsbench against\n"
		"them in turn, alternating, and prints medians and ratios to Ganesha.\n");
}

static int add_targets(struct bench *b, const char *list)
{
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", list);
	b->ntargets = 0;
	for (char *save, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (b->ntargets == MAX_TARGETS ||
		    bench_target_init(&b->targets[b->ntargets], tok) < 0) {
			fprintf(stderr, "mcfs-bench: unknown or too many targets: %s\n", list);
			return -EINVAL;
		}
		b->ntargets++;
	}
	return b->ntargets ? 0 : -EINVAL;
}

static void pass_option(struct bench *b, const char *name, const char *value)
{
	if (b->npass + 2 < MAX_PASS_ARGS) {
		b->pass[b->npass++] = name;
		b->pass[b->npass++] = value;
	}
}

static int parse_options(struct bench *b, int argc, char **argv)
{
	static const struct option opts[] = {{"runs", required_argument, NULL, 'r'},
					     {"targets", required_argument, NULL, 't'},
					     {"file-size", required_argument, NULL, 's'},
					     {"files", required_argument, NULL, 'n'},
					     {"rand-ops", required_argument, NULL, 'o'},
					     {"conns", required_argument, NULL, 'c'},
					     {"depth", required_argument, NULL, 'd'},
					     {"workloads", required_argument, NULL, 'w'},
					     {"min-time", required_argument, NULL, 'M'},
					     {"quick", no_argument, NULL, 'q'},
					     {"no-tcp", no_argument, NULL, 'T'},
					     {"no-warmup", no_argument, NULL, 'W'},
					     {"tmpfs", required_argument, NULL, 'm'},
					     {"keep", no_argument, NULL, 'k'},
					     {"settle-max", required_argument, NULL, 'S'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	static char names[MAX_PASS_ARGS][24];
	int c, idx = 0;
	while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		switch (c) {
		case 'r':
			b->runs = atoi(optarg);
			break;
		case 't':
			if (add_targets(b, optarg) < 0)
				return -EINVAL;
			break;
		case 'q': /* a smoke run: small sizes, one round */
			b->runs = 1;
			pass_option(b, "--file-size", "64M");
			pass_option(b, "--files", "1000");
			pass_option(b, "--rand-ops", "5000");
			pass_option(b, "--min-time", "0");
			break;
		case 'T':
			b->tcp = false;
			break;
		case 'W':
			b->warmup = false;
			break;
		case 'm':
			b->tmpfs = optarg;
			break;
		case 'k':
			b->keep = true;
			break;
		case 'S':
			b->settle_max_ms = atoi(optarg) * 1000;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case '?':
			usage(stderr);
			return -EINVAL;
		default: /* the generator's own options, passed on as given */
			snprintf(names[b->npass], sizeof(names[0]), "--%s", opts[idx].name);
			pass_option(b, names[b->npass], optarg);
			break;
		}
	}
	if (optind != argc || b->runs < 1 || b->runs > REPORT_MAX_RUNS || b->settle_max_ms < 0) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* The build tree: $MCFS_TOP_BUILDDIR, else two levels above this program. */
static int find_builddir(struct bench *b, const char *argv0)
{
	const char *env = getenv("MCFS_TOP_BUILDDIR");
	if (env) {
		snprintf(b->builddir, sizeof(b->builddir), "%s", env);
		return 0;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "mcfs-bench: cannot find the build tree from %s\n", argv0);
		return -ENOENT;
	}
	self[n] = '\0';
	snprintf(b->builddir, sizeof(b->builddir), "%s", dirname(dirname(dirname(self))));
	return setenv("MCFS_TOP_BUILDDIR", b->builddir, 1) == 0 ? 0 : -errno;
}

/* Everything the servers write goes to tmpfs, so that no target waits on the
 * disk and the peer's FSAL VFS and mcfs's file:// bucket stand on equal ground. */
static int make_work_dir(struct bench *b)
{
	snprintf(b->work_dir, sizeof(b->work_dir), "%s/mcfs-bench-XXXXXX", b->tmpfs);
	if (!mkdtemp(b->work_dir)) {
		fprintf(stderr, "mcfs-bench: cannot create a directory in %s: %s\n", b->tmpfs,
			strerror(errno));
		return -errno;
	}
	setenv("TMPDIR", b->work_dir, 1);
	/* s3rver's fixed test keys, for the s3 target's format and gateway. */
	setenv("AWS_ACCESS_KEY_ID", S3RVER_ACCESS_KEY, 1);
	setenv("AWS_SECRET_ACCESS_KEY", S3RVER_SECRET_KEY, 1);
	return 0;
}

/* The loopback TCP ceiling: one iperf3 stream for 3 s, in MiB/s. */
static double measure_tcp(const struct bench *b)
{
	char log[600], out[600], port_s[16];
	snprintf(log, sizeof(log), "%s/iperf3-server.log", b->work_dir);
	snprintf(out, sizeof(out), "%s/iperf3.json", b->work_dir);
	int port = free_tcp_port();
	if (port < 0)
		return 0;
	snprintf(port_s, sizeof(port_s), "%d", port);
	char *server_argv[] = {"iperf3", "-s", "-B", "127.0.0.1", "-p", port_s, NULL};
	char *client_argv[] = {"iperf3", "-c", "127.0.0.1", "-p", port_s, "-t", "3", "-J", NULL};
	struct proc server, client;
	double mib_s = 0;
	if (proc_spawn(&server, "iperf3 -s", server_argv, log) < 0)
		return 0;
	if (wait_tcp_port(port, 10000) == 0 &&
	    proc_spawn(&client, "iperf3 -c", client_argv, out) == 0 &&
	    proc_wait(&client, 30000) == 0) {
		FILE *f = fopen(out, "r");
		char line[512];
		bool in_received = false;
		while (f && fgets(line, sizeof(line), f)) {
			if (strstr(line, "\"sum_received\""))
				in_received = true;
			char *p = strstr(line, "\"bits_per_second\":");
			if (in_received && p) {
				mib_s = strtod(p + 18, NULL) / 8 / (1 << 20);
				break;
			}
		}
		if (f)
			fclose(f);
	}
	proc_stop(&server, 5000);
	if (mib_s == 0)
		fprintf(stderr, "mcfs-bench: no loopback TCP figure (is iperf3 installed?)\n");
	return mib_s;
}

/* Runs mcfs-nfsbench with argv, output to out: its exit status, or -errno. */
static int run_generator_process(const char *const argv[], const char *out)
{
	struct proc p;
	int status = proc_spawn(&p, "mcfs-nfsbench", (char *const *)argv, out);
	if (status < 0)
		return status;
	/* In slices, so that an interrupt stops the run at once rather than
	 * when the run ends (the generator is in a process group of its own,
	 * out of reach of the terminal's ^C). */
	for (int waited = 0; waited < GENERATOR_TIMEOUT_MS && !interrupted;
	     waited += WAIT_SLICE_MS) {
		status = proc_wait(&p, WAIT_SLICE_MS);
		if (status != -ETIMEDOUT)
			return status;
	}
	proc_stop(&p, 5000);
	return interrupted ? -EINTR : -ETIMEDOUT;
}

/* One run of the generator against one target; its output goes to the report. */
static int run_generator(struct bench *b, int target, int run)
{
	struct bench_target *t = &b->targets[target];
	char bin[PATH_MAX + 64], out[700], dir[32], pids[64];
	snprintf(bin, sizeof(bin), "%s/tests/bench/mcfs-nfsbench", b->builddir);
	snprintf(out, sizeof(out), "%s/%s-run%d.out", b->work_dir, t->label, run + 1);
	bench_target_pids(t, pids, sizeof(pids));
	snprintf(dir, sizeof(dir), "bench-run%d", run + 1);
	const char *argv[MAX_PASS_ARGS + 12];
	int n = 0;
	argv[n++] = bin;
	argv[n++] = "--url";
	argv[n++] = t->url;
	argv[n++] = "--label";
	argv[n++] = t->label;
	argv[n++] = "--dir";
	argv[n++] = dir;
	argv[n++] = "--cpu-of";
	argv[n++] = pids;
	for (int i = 0; i < b->npass; i++)
		argv[n++] = b->pass[i];
	argv[n] = NULL;
	fprintf(stderr, "mcfs-bench: run %d/%d: %s ...", run + 1, b->runs, t->label);
	long long waited = 0;
	int quiet = b->settle_max_ms > 0
			? bench_wait_quiet((unsigned)b->settle_max_ms, &interrupted, &waited)
			: 0;
	if (quiet == -EINTR) {
		fprintf(stderr, " interrupted\n");
		return quiet;
	}
	if (quiet < 0)
		fprintf(stderr, " (the machine stayed busy for %d s: running anyway)",
			b->settle_max_ms / 1000);
	else if (waited >= 1000)
		fprintf(stderr, " (settled in %.1f s)", (double)waited / 1000);
	long long start = now_ms();
	int status = run_generator_process(argv, out);
	if (status == -EINTR) {
		fprintf(stderr, " interrupted\n");
		return status;
	}
	int errors = report_add_run(&b->report, target, run, out);
	if (status != 0 && errors <= 0)
		report_fail_run(&b->report, target);
	fprintf(stderr, " %.1f s%s\n", (double)(now_ms() - start) / 1000,
		status != 0 || errors ? " FAILED (see the output below)" : "");
	if (status != 0 || errors) {
		char cmd[800];
		snprintf(cmd, sizeof(cmd), "tail -n 20 '%s' >&2", out);
		if (system(cmd) != 0)
			fprintf(stderr, "mcfs-bench: see %s\n", out);
	}
	return status != 0 || errors ? -EIO : 0;
}

/* One small untimed run before each timed one: every server's first run
 * pays for its caches, thread pools and tmpfs pages coming into being,
 * which is not what the figures are about. Its data checks still count. */
static int warm_up(struct bench *b, int target)
{
	struct bench_target *t = &b->targets[target];
	char bin[PATH_MAX + 64], out[700];
	snprintf(bin, sizeof(bin), "%s/tests/bench/mcfs-nfsbench", b->builddir);
	snprintf(out, sizeof(out), "%s/%s-warmup.out", b->work_dir, t->label);
	const char *argv[] = {bin,     "--url",	       t->url,	      "--label", t->label,
			      "--dir", "bench-warmup", "--file-size", "64M",	 "--files",
			      "1000",  "--rand-ops",   "2000",	      NULL};
	int status = run_generator_process(argv, out);
	if (status != 0)
		fprintf(stderr, "mcfs-bench: the warm-up run against %s failed (see %s)\n",
			t->label, out);
	return status == 0 ? 0 : -EIO;
}

/* One run of one target on servers started for it alone, in a directory of
 * their own that goes with them: files a target kept on tmpfs from earlier
 * runs (a removed file's blocks wait for the deletion delay) made the later
 * runs of every target slower, and unevenly (Ganesha's 512 MiB write took
 * three times the CPU per MiB by the second round). Then the untimed
 * warm-up, and the timed run once the machine has settled. */
static int run_fresh(struct bench *b, int target, int run)
{
	struct bench_target *t = &b->targets[target];
	const char *label = t->label;
	char dir[700];
	snprintf(dir, sizeof(dir), "%s/%s-run%d", b->work_dir, label, run + 1);
	bench_target_init(t, label);
	int r = mkdir(dir, 0700) < 0 ? -errno : bench_target_start(t, dir);
	if (r < 0) {
		fprintf(stderr, "mcfs-bench: cannot start %s: %s\n", label, strerror(-r));
	} else {
		if (b->warmup && warm_up(b, target) < 0)
			b->report.failed_runs++;
		run_generator(b, target, run);
	}
	bench_target_stop(t);
	if (!b->keep)
		rm_rf(dir);
	return r;
}

/* Round r starts with target r mod n, so that no target always runs first. */
static int run_rounds(struct bench *b)
{
	for (int run = 0; run < b->runs && !interrupted; run++)
		for (int k = 0; k < b->ntargets && !interrupted; k++)
			if (run_fresh(b, (run + k) % b->ntargets, run) < 0)
				return -EIO;
	return 0;
}

static void stop_all(struct bench *b)
{
	for (int i = 0; i < b->ntargets; i++)
		bench_target_stop(&b->targets[i]);
	if (b->work_dir[0] && !b->keep)
		rm_rf(b->work_dir);
	else if (b->work_dir[0])
		fprintf(stderr, "mcfs-bench: kept %s\n", b->work_dir);
}

static void print_setup(const struct bench *b)
{
	printf("mcfs-bench: %d run(s) per target, alternating; %ld CPU(s); figures are medians\n",
	       b->runs, sysconf(_SC_NPROCESSORS_ONLN));
	printf("generator options:");
	for (int i = 0; i < b->npass; i++)
		printf(" %s", b->pass[i]);
	printf("%s\n", b->npass ? "" : " (defaults)");
}

int main(int argc, char **argv)
{
	static struct bench b = {.runs = 3,
				 .tcp = true,
				 .warmup = true,
				 .settle_max_ms = QUIET_MAX_MS,
				 .tmpfs = "/dev/shm"};
	/* Every figure over about a second or more (the generator's defaults
	 * give some well under a tenth of one); options given later override these. */
	pass_option(&b, "--min-time", "1");
	pass_option(&b, "--file-size", "512M");
	pass_option(&b, "--files", "20000");
	if (add_targets(&b, "mcfs-file,mcfs-s3,mcfs-mirror,ganesha") < 0 ||
	    parse_options(&b, argc, argv) < 0)
		return 2;
	if (find_builddir(&b, argv[0]) < 0 || make_work_dir(&b) < 0)
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	const char *labels[MAX_TARGETS];
	for (int i = 0; i < b.ntargets; i++)
		labels[i] = b.targets[i].label;
	report_init(&b.report, labels, b.ntargets, "ganesha");
	if (b.tcp)
		b.report.tcp_mib_s = measure_tcp(&b);
	int status = 1;
	if (run_rounds(&b) == 0) {
		print_setup(&b);
		report_print(&b.report, stdout);
		status = interrupted || report_errors(&b.report) ? 1 : 0;
	}
	stop_all(&b);
	return status;
}
