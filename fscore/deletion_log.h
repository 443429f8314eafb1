/*
 * Applying the deletion log (DESIGN.md §4): freed slices wait in the stream
 * "{VOL}:deletions" for the configured delay; then each region with a bucket
 * of its own removes their blocks from that bucket and advances its cursor
 * "{VOL}:delcursor:R". Entries every such region has applied are trimmed.
 *
 * Used by the gateway (through maintenance_apply_deletions) and by
 * mcfs-replicator, which have no vfs in common: everything it needs is
 * passed in. A lease "{VOL}:lease:deleter:R" keeps two processes from
 * working the same region's log at once.
 */
#ifndef MCFS_DELETION_LOG_H
#define MCFS_DELETION_LOG_H

#include <stdint.h>

#include "meta.h"
#include "objstore.h"

/* Deletes from `store` (region `region`'s bucket) the blocks of slices freed
 * at least delay_s ago, in log order, advancing the region's cursor.
 *
 * When the consumer group `region` exists on "{VOL}:changes", entries newer
 * than the oldest change-log entry that group has not acknowledged are left
 * for later: a copy still to come would otherwise recreate a deleted block
 * as an orphan.
 *
 * lease_owner identifies the caller (unique per process). Another holder of
 * the lease is not an error: 0 is returned with nothing done. *deleted gets
 * the number of log entries (slices) applied. 0 or a negative errno. */
int deletion_log_apply(struct meta *m, const char *volume, const char *region,
		       struct objstore *store, uint32_t block_size, const char *lease_owner,
		       uint64_t delay_s, uint64_t *deleted);

#endif
