#include "bench_targets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
	const char *label;
	enum bench_kind kind;
} KNOWN[] = {
    {"mcfs-file", BENCH_MCFS_FILE},
    {"mcfs-s3", BENCH_MCFS_S3},
    {"mcfs-mirror", BENCH_MCFS_MIRROR},
    {"ganesha", BENCH_GANESHA},
};

int bench_target_init(struct bench_target *t, const char *label)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < sizeof(KNOWN) / sizeof(KNOWN[0]); i++) {
		if (strcmp(KNOWN[i].label, label) == 0) {
			t->label = KNOWN[i].label;
			t->kind = KNOWN[i].kind;
			return 0;
		}
	}
	return -EINVAL;
}

int bench_mcfs_cli(const char *dir, const char *what, char *const args[])
{
	const char *b = getenv("MCFS_TOP_BUILDDIR");
	char bin[1024], log[700];
	snprintf(bin, sizeof(bin), "%s/mcfs", b ? b : ".");
	snprintf(log, sizeof(log), "%s/%s.log", dir, what);
	char *argv[24] = {bin};
	int n = 1;
	while (args[n - 1] && n < 23) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	struct proc p;
	int r = proc_spawn(&p, "mcfs", argv, log);
	if (r == 0)
		r = proc_wait(&p, 60000);
	if (r != 0) {
		fprintf(stderr, "bench: mcfs %s failed (see %s)\n", what, log);
		proc_stop(&p, 1000);
		return r < 0 ? r : -EIO;
	}
	return 0;
}

/* `mcfs format`, as an operator would run it; the mirror target's volume
 * starts in region a. */
static int format_volume(const struct bench_target *t, const char *bucket_url, const char *dir)
{
	char *argv[9] = {"format", "--meta", (char *)t->redis.url, "--bucket", (char *)bucket_url};
	int n = 5;
	if (t->kind == BENCH_MCFS_MIRROR) {
		argv[n++] = "--region";
		argv[n++] = "a";
	}
	argv[n++] = "bench";
	argv[n] = NULL;
	return bench_mcfs_cli(dir, "format", argv);
}

static int start_mcfs(struct bench_target *t, const char *work_dir)
{
	char dir[600], bucket[700], cache[700];
	snprintf(dir, sizeof(dir), "%s/%s", work_dir, t->label);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	if (mkdir(dir, 0700) < 0)
		return -errno;
	int r = redis_server_start(&t->redis);
	if (r < 0)
		return r;
	if (t->kind == BENCH_MCFS_S3) {
		r = s3_server_start(&t->s3, "mcfs-bench");
		if (r < 0)
			return r;
		snprintf(bucket, sizeof(bucket), "%s", t->s3.url);
	} else {
		snprintf(bucket, sizeof(bucket), "%s/bucket", dir);
		if (mkdir(bucket, 0700) < 0)
			return -errno;
		snprintf(bucket, sizeof(bucket), "file://%s/bucket", dir);
	}
	r = format_volume(t, bucket, dir);
	if (r == 0 && t->kind == BENCH_MCFS_MIRROR)
		r = bench_mirror_add(&t->mirror, &t->redis, dir);
	if (r < 0)
		return r;
	/* A local cache directory as a GPU node's gateway would have (here on
	 * tmpfs, as Ganesha's export is). The mirror's gateway is region b's. */
	const char *args[9] = {"--export", "/:rw,no_root_squash", "--cache-dir",
			       cache,	   "--cache-size",	  "4G"};
	int n = 6;
	if (t->kind == BENCH_MCFS_MIRROR) {
		args[n++] = "--config";
		args[n++] = t->mirror.conf[1];
	}
	args[n] = NULL;
	r = gateway_start(&t->gateway, t->redis.url, dir, args);
	if (r < 0) {
		fprintf(stderr, "bench: mcfs-gateway did not start (see %s)\n",
			t->gateway.log_path);
		return r;
	}
	gateway_url(&t->gateway, "/", t->url, sizeof(t->url));
	return 0;
}

int bench_target_start(struct bench_target *t, const char *work_dir)
{
	int r;
	t->started = true;
	if (t->kind == BENCH_GANESHA) {
		r = ganesha_start(&t->ganesha, work_dir, work_dir);
		if (r == 0)
			ganesha_url(&t->ganesha, t->url, sizeof(t->url));
	} else {
		r = start_mcfs(t, work_dir);
	}
	if (r < 0)
		bench_target_stop(t);
	return r;
}

void bench_target_pids(const struct bench_target *t, char *out, size_t len)
{
	if (t->kind == BENCH_GANESHA)
		snprintf(out, len, "%d", (int)t->ganesha.proc.pid);
	else
		snprintf(out, len, "%d,%d", (int)t->gateway.proc.pid, (int)t->redis.proc.pid);
	size_t used = strlen(out);
	if (t->kind == BENCH_MCFS_MIRROR && used < len)
		bench_mirror_pids(&t->mirror, out + used, len - used);
}

void bench_target_stop(struct bench_target *t)
{
	if (!t->started)
		return;
	t->started = false;
	if (t->kind == BENCH_GANESHA) {
		ganesha_stop(&t->ganesha);
		return;
	}
	gateway_stop(&t->gateway);
	if (t->kind == BENCH_MCFS_MIRROR)
		bench_mirror_stop(&t->mirror);
	if (t->kind == BENCH_MCFS_S3 && t->s3.proc.pid > 0)
		s3_server_stop(&t->s3);
	if (t->redis.proc.pid > 0)
		redis_server_stop(&t->redis);
}
