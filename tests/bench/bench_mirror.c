#include "bench_mirror.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_targets.h"

static const char *const REGION[2] = {"a", "b"};

static int write_conf(struct bench_mirror *m, int r, const struct redis_server *primary,
		      const char *dir)
{
	snprintf(m->conf[r], sizeof(m->conf[r]), "%s/region-%s.conf", dir, REGION[r]);
	FILE *f = fopen(m->conf[r], "w");
	if (!f)
		return -errno;
	fprintf(f, "[meta]\nurl = %s\n", primary->url);
	if (r == 1)
		fprintf(f, "replica = %s\n", m->replica.url);
	fprintf(f, "[region]\nname = %s\n", REGION[r]);
	return fclose(f) == 0 ? 0 : -errno;
}

static int start_replicator(struct bench_mirror *m, int r, const char *dir)
{
	char log[800];
	snprintf(log, sizeof(log), "%s/replicator-%s.log", dir, REGION[r]);
	char bin[1024];
	const char *b = getenv("MCFS_TOP_BUILDDIR");
	snprintf(bin, sizeof(bin), "%s/mcfs-replicator", b ? b : ".");
	char *argv[] = {bin, "--config", m->conf[r], "--region", (char *)REGION[r], NULL};
	return proc_spawn(&m->replicator[r], "mcfs-replicator", argv, log);
}

int bench_mirror_add(struct bench_mirror *m, const struct redis_server *primary, const char *dir)
{
	char bucket[700], bucket_url[720];
	snprintf(bucket, sizeof(bucket), "%s/bucket-b", dir);
	if (mkdir(bucket, 0700) < 0)
		return -errno;
	snprintf(bucket_url, sizeof(bucket_url), "file://%s", bucket);
	int r = redis_server_start_replica(&m->replica, primary, 20000);
	if (r < 0) {
		fprintf(stderr, "bench: the mirror region's Redis replica did not sync\n");
		return r;
	}
	char *add[] = {"region",   "add",      "--meta",	 (char *)primary->url,
		       "--name",   "b",	       "--mode",	 "mirror",
		       "--bucket", bucket_url, "--replica-meta", (char *)m->replica.url,
		       NULL};
	r = bench_mcfs_cli(dir, "region-add", add);
	for (int i = 0; i < 2 && r == 0; i++)
		r = write_conf(m, i, primary, dir);
	for (int i = 0; i < 2 && r == 0; i++)
		r = start_replicator(m, i, dir);
	return r;
}

void bench_mirror_stop(struct bench_mirror *m)
{
	for (int i = 0; i < 2; i++)
		if (m->replicator[i].pid > 0)
			proc_stop(&m->replicator[i], 10000);
	if (m->replica.proc.pid > 0)
		redis_server_stop(&m->replica);
}

void bench_mirror_pids(const struct bench_mirror *m, char *out, size_t len)
{
	const pid_t pids[] = {m->replica.proc.pid, m->replicator[0].pid, m->replicator[1].pid};
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]) && used < len; i++)
		if (pids[i] > 0)
			used += (size_t)snprintf(out + used, len - used, ",%d", (int)pids[i]);
}
