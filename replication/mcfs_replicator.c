/* mcfs-replicator: copies the blocks of a volume into one region's bucket
 * and applies that region's deletion log (see mcfs-replicator(8)). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autoconfig.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "region.h"
#include "replicator.h"
#include "units.h"

#define PROG "mcfs-replicator"

/* Set by SIGTERM/SIGINT; the engine polls it. */
static volatile sig_atomic_t stop_flag;

struct options {
	const char *region, *config_path, *meta_url, *consumer, *transfers, *bandwidth;
	const char *deletion_delay, *pid_file, *log_level;
	bool once;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " --region NAME [--config FILE] [--meta redis://HOST:PORT[/DB]]\n"
		"                       [--consumer NAME] [--transfers N] [--bandwidth SIZE]\n"
		"                       [--deletion-delay DURATION] [--once]\n"
		"                       [--pid-file FILE] [--log-level LEVEL]\n"
		"Copies new blocks of the volume into region NAME's bucket and applies its\n"
		"deletion log. --meta names the source primary. See mcfs-replicator(8).\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {{"region", required_argument, 0, 'r'},
					     {"config", required_argument, 0, 'c'},
					     {"meta", required_argument, 0, 'm'},
					     {"consumer", required_argument, 0, 'C'},
					     {"transfers", required_argument, 0, 't'},
					     {"bandwidth", required_argument, 0, 'b'},
					     {"deletion-delay", required_argument, 0, 'd'},
					     {"once", no_argument, 0, 'o'},
					     {"pid-file", required_argument, 0, 'p'},
					     {"log-level", required_argument, 0, 'L'},
					     {"help", no_argument, 0, 'h'},
					     {"version", no_argument, 0, 'V'},
					     {0, 0, 0, 0}};
	const char **dest[128] = {
	    ['r'] = &o->region,		['c'] = &o->config_path, ['m'] = &o->meta_url,
	    ['C'] = &o->consumer,	['t'] = &o->transfers,	 ['b'] = &o->bandwidth,
	    ['d'] = &o->deletion_delay, ['p'] = &o->pid_file,	 ['L'] = &o->log_level};
	int c;
	while ((c = getopt_long(argc, argv, "r:c:m:C:t:b:d:op:L:hV", opts, NULL)) != -1) {
		if (c > 0 && c < 128 && dest[c]) {
			*dest[c] = optarg;
		} else if (c == 'o') {
			o->once = true;
		} else if (c == 'h') {
			usage(stdout);
			return -1;
		} else if (c == 'V') {
			printf(PROG " %s\n", PACKAGE_VERSION);
			return -1;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return 0;
}

/* A consumer name goes into stream metadata and the "R/CONSUMER" heartbeat
 * field: printable, no blank, no '/'. */
static bool consumer_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 100)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '/')
			return false;
	return true;
}

static void default_consumer(char *buf, size_t len)
{
	char host[256] = "host";
	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "host");
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p; p++)
		if (*p <= ' ' || *p > '~' || *p == '/')
			*p = '_';
	snprintf(buf, len, "%.80s-%ld", host, (long)getpid());
}

static int parse_numbers(const struct options *o, struct mcfs_config *cfg, char *err, size_t len)
{
	if (o->transfers) {
		char *end;
		unsigned long n = strtoul(o->transfers, &end, 10);
		if (*end || end == o->transfers || n < 1 || n > 256) {
			snprintf(err, len, "bad --transfers '%s' (1 to 256)", o->transfers);
			return -EINVAL;
		}
		cfg->repl_transfers = (unsigned)n;
	}
	if (o->bandwidth && size_parse(o->bandwidth, &cfg->repl_bandwidth) < 0) {
		snprintf(err, len, "bad --bandwidth '%s' (bytes per second: 50M, 1G; 0 = no limit)",
			 o->bandwidth);
		return -EINVAL;
	}
	if (o->deletion_delay && duration_parse(o->deletion_delay, &cfg->deletion_delay_s) < 0) {
		snprintf(err, len, "bad --deletion-delay '%s' (a duration: 30s, 10m, 1h, 7d)",
			 o->deletion_delay);
		return -EINVAL;
	}
	return 0;
}

static int apply_options(const struct options *o, struct mcfs_config *cfg, char *err, size_t len)
{
	if (o->meta_url)
		snprintf(cfg->meta_url, sizeof(cfg->meta_url), "%s", o->meta_url);
	if (o->region)
		snprintf(cfg->region, sizeof(cfg->region), "%s", o->region);
	/* [gateway] pid_file is the gateway's: a shared config file must not
	 * make the replicator take it. */
	snprintf(cfg->pid_file, sizeof(cfg->pid_file), "%s", o->pid_file ? o->pid_file : "");
	if (o->log_level)
		snprintf(cfg->log_level, sizeof(cfg->log_level), "%s", o->log_level);
	if (parse_numbers(o, cfg, err, len) < 0)
		return -EINVAL;
	if (!cfg->meta_url[0]) {
		snprintf(err, len, "--meta redis://HOST:PORT[/DB] is required (or [meta] url)");
		return -EINVAL;
	}
	if (!cfg->region[0]) {
		snprintf(err, len, "--region NAME is required (or [region] name)");
		return -EINVAL;
	}
	if (region_check_name(cfg->region) < 0) {
		snprintf(err, len, "bad region name '%s'", cfg->region);
		return -EINVAL;
	}
	if (o->consumer && !consumer_ok(o->consumer)) {
		snprintf(err, len,
			 "bad --consumer '%s' (1-100 printable characters, no blank or '/')",
			 o->consumer);
		return -EINVAL;
	}
	return 0;
}

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* SA_RESTART: a signal must not fail a Redis or bucket call in progress. */
static void install_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
}

static int run(const struct mcfs_config *cfg, const struct options *o)
{
	char consumer[128], err[512] = "";
	if (o->consumer)
		snprintf(consumer, sizeof(consumer), "%s", o->consumer);
	else
		default_consumer(consumer, sizeof(consumer));
	struct replicator_options ro = {.meta_url = cfg->meta_url,
					.meta_password =
					    cfg->meta_password[0] ? cfg->meta_password : NULL,
					.region = cfg->region,
					.consumer = consumer,
					.cfg = cfg,
					.transfers = cfg->repl_transfers,
					.bandwidth = cfg->repl_bandwidth,
					.claim_after_s = cfg->repl_claim_idle_s,
					.deletion_delay_s = cfg->deletion_delay_s,
					.once = o->once,
					.stop_flag = &stop_flag};
	struct replicator *r = NULL;
	int rc = replicator_create(&ro, &r);
	if (rc == 0)
		rc = replicator_run(r, err, sizeof(err));
	if (rc < 0)
		log_error("%s", err[0] ? err : strerror(-rc));
	replicator_destroy(r);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct mcfs_config cfg;
	config_defaults(&cfg);
	char err[512];
	if (o.config_path && config_load(o.config_path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	config_apply_env(&cfg);
	enum log_level lvl = LOG_LVL_INFO;
	if (apply_options(&o, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	if (log_level_parse(cfg.log_level, &lvl) < 0) {
		fprintf(stderr, PROG ": bad log level '%s'\n", cfg.log_level);
		return 2;
	}
	log_init(PROG, lvl, cfg.log_syslog);
	if (cfg.pid_file[0] && (rc = pidfile_create(cfg.pid_file)) < 0) {
		log_error("pid file %s: %s", cfg.pid_file,
			  rc == -EEXIST ? "another replicator is running" : strerror(-rc));
		return 1;
	}
	install_signals();
	rc = run(&cfg, &o);
	pidfile_remove(cfg.pid_file);
	explicit_bzero(&cfg, sizeof(cfg));
	return rc;
}
