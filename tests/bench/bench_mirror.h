/* The multi-region part of the mcfs-mirror target: the volume is formatted in
 * a source region "a" (the primary Redis, bucket-a), and the benchmark runs
 * against the gateway of a mirror region "b" (its own Redis replica and
 * bucket-b), which reads locally and forwards metadata changes to the
 * source, while a replicator per region copies new blocks both ways. */
#ifndef MCFS_BENCH_MIRROR_H
#define MCFS_BENCH_MIRROR_H

#include <stddef.h>

#include "proc.h"
#include "redis.h"

struct bench_mirror {
	struct redis_server replica; /* region b's metadata replica */
	struct proc replicator[2];   /* into bucket-a, into bucket-b */
	char conf[2][700];	     /* each region's mcfs.conf(5); [1] is the gateway's */
};

/* After `mcfs format --region a` on the primary: starts the replica, adds
 * region b (`mcfs region add --mode mirror`), writes both regions' config
 * files under dir and starts the replicators. */
int bench_mirror_add(struct bench_mirror *m, const struct redis_server *primary, const char *dir);
void bench_mirror_stop(struct bench_mirror *m);
/* ",PID,PID,PID": the replica and the replicators, for the CPU figures. */
void bench_mirror_pids(const struct bench_mirror *m, char *out, size_t len);

#endif
