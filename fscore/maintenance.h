/* Background upkeep of a volume: compaction of fragmented chunks, deferred
 * deletion of freed slices, and forgetting dead gateway sessions. */
#ifndef MCFS_MAINTENANCE_H
#define MCFS_MAINTENANCE_H

#include <stdint.h>

#include "attr.h"
#include "objstore.h"

struct vfs;

/* Rewrites a chunk with more than one slice as a single slice and swaps it in
 * atomically (if nothing changed meanwhile). Returns 1 if compacted, 0 if
 * there was nothing to do or it lost a race, or a negative errno. */
int maintenance_compact_chunk(struct vfs *v, mcfs_ino_t ino, uint32_t chunk);
/* Deletes from this region's bucket the blocks of slices freed at least
 * delay_seconds ago, advancing this region's cursor in the deletion log:
 * deletion_log_apply() for the vfs's region, bucket and session. */
int maintenance_apply_deletions(struct vfs *v, uint64_t delay_seconds, uint64_t *deleted);
/* Reaps sessions whose heartbeat is older than max_age_seconds. */
int maintenance_reap_sessions(struct vfs *v, uint64_t max_age_seconds);

/* Puts (buf: the slice's bytes) or deletes (buf NULL) every block of slice id
 * of size bytes, in one batch. */
int slice_blocks_batch(struct objstore *os, const char *volume, uint32_t block_size,
		       enum objstore_op_kind kind, uint64_t id, uint32_t size, const uint8_t *buf);

#endif
