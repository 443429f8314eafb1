/* The servers a benchmark run compares: mcfs on a file:// bucket, mcfs on an
 * s3rver bucket, mcfs through a mirror region's gateway (bench_mirror.h), and
 * NFS-Ganesha; each started afresh for every run, on loopback, with its data
 * on tmpfs, and stopped by PID. */
#ifndef MCFS_BENCH_TARGETS_H
#define MCFS_BENCH_TARGETS_H

#include <stdbool.h>
#include <stddef.h>

#include "bench_ganesha.h"
#include "bench_mirror.h"
#include "gateway.h"
#include "redis.h"
#include "s3rver.h"

enum bench_kind { BENCH_MCFS_FILE, BENCH_MCFS_S3, BENCH_MCFS_MIRROR, BENCH_GANESHA };

struct bench_target {
	const char *label; /* as printed: mcfs-file, mcfs-s3, mcfs-mirror, ganesha */
	enum bench_kind kind;
	bool started;
	char url[600]; /* where the load generator mounts it */
	struct redis_server redis;
	struct s3_server s3;
	struct gateway_proc gateway;
	struct bench_mirror mirror;
	struct ganesha ganesha;
};

/* The label's target, or -EINVAL for an unknown label. */
int bench_target_init(struct bench_target *t, const char *label);
/* Starts its servers with their files under work_dir (on tmpfs). */
int bench_target_start(struct bench_target *t, const char *work_dir);
void bench_target_stop(struct bench_target *t);
/* The PIDs whose CPU time is the server's, as "PID,PID": the gateway and
 * Redis for mcfs (not s3rver, which stands in for the cloud's S3), and for
 * the mirror also its Redis replica and both replicators; the daemon for
 * Ganesha (not rpcbind). */
void bench_target_pids(const struct bench_target *t, char *out, size_t len);
/* Runs `mcfs ARGS...` (NULL-terminated), its output in dir/what.log. */
int bench_mcfs_cli(const char *dir, const char *what, char *const args[]);

#endif
