/*
 * How far a target region is behind, and publishing it (DESIGN.md §7):
 * "{VOL}:replication" field R holds the region's lag, low watermark and
 * cumulative totals; "{VOL}:replicators" field "R/CONSUMER" each worker's
 * heartbeat. `mcfs status` and the gateways read them.
 */
#ifndef MCFS_REPL_PROGRESS_H
#define MCFS_REPL_PROGRESS_H

#include <stdint.h>

#include "meta.h"

/* Change-log entries scanned at most per computation; beyond them the lag
 * is extrapolated from the average entry. */
#define REPL_LAG_SCAN 10000

struct repl_lag {
	uint64_t entries; /* change-log entries not acknowledged by the group */
	uint64_t objects; /* their blocks */
	uint64_t bytes;
	long long oldest_ms;	/* unix ms of the oldest of them, 0 if none */
	uint64_t low_watermark; /* slices with a smaller id are believed present */
};

/* Computes the lag of group `group` on "{VOL}:changes". -ENOENT if the group
 * does not exist. */
int repl_lag_compute(struct meta *m, const char *volume, const char *group, uint32_t block_size,
		     struct repl_lag *out);

struct repl_totals {
	uint64_t objects, bytes, missing;
};

struct repl_publication {
	const char *volume, *region, *consumer;
	const struct repl_lag *lag;
	struct repl_totals added; /* since the last publication: added to the region's totals */
	struct repl_totals mine;  /* this worker's totals since it started */
};

/* Writes the region's progress and this worker's heartbeat in one step; the
 * worker count is the heartbeats of the region fresher than a few seconds,
 * and heartbeats silent for an hour are dropped. */
int repl_progress_publish(struct meta *m, const struct repl_publication *p);

#endif
