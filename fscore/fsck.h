/* Whole-volume checks: metadata against itself and against the bucket
 * (fsck), and removal of objects no metadata needs (gc). The metadata walks
 * they are built on are shared with the other checks that set metadata
 * against buckets (sync_check.h). */
#ifndef MCFS_FSCK_H
#define MCFS_FSCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta.h"
#include "slice.h"

struct vfs;

struct fsck_report {
	uint64_t inodes, dirs, files, symlinks, entries;
	uint64_t slices, blocks, bytes;
	uint64_t damaged_attrs, dangling_entries, damaged_slices;
	uint64_t missing_blocks, wrong_size_blocks;
	uint64_t orphans;
};
/* Walks all metadata and lists the bucket once; problems are logged and counted. */
int fsck_run(struct vfs *v, struct fsck_report *rep);

struct gc_report {
	uint64_t objects, referenced, leaked, leaked_bytes, deleted, too_young;
	uint64_t log_deleted; /* blocks removed by applying the deletion log */
};
/* Finds objects of this volume that no slice references and that are older
 * than min_age_seconds (younger ones may belong to a write in progress);
 * deletes them when do_delete. Also applies the deletion log after its delay
 * and forgets dead sessions. */
int gc_run(struct vfs *v, uint64_t min_age_seconds, bool do_delete, struct gc_report *rep);

/* ---- shared walks */

/* A set of 64-bit ids with a value each (0 is never an id); starts zeroed. */
struct fsck_idset {
	uint64_t *slot;
	uint64_t *val;
	size_t cap, n;
};
/* Adds id or replaces its value; -ENOMEM. */
int fsck_idset_add(struct fsck_idset *s, uint64_t id, uint64_t val);
bool fsck_idset_get(const struct fsck_idset *s, uint64_t id, uint64_t *val);
/* Iteration: *pos starts at 0; false once every id was returned. */
bool fsck_idset_next(const struct fsck_idset *s, size_t *pos, uint64_t *id, uint64_t *val);
void fsck_idset_free(struct fsck_idset *s);

/* One id per block of a slice, for sets of blocks (a slice has at most
 * MCFS_CHUNK_SIZE / MCFS_MIN_BLOCK_SIZE = 1024 blocks). */
static inline uint64_t fsck_block_id(uint64_t slice_id, uint32_t index)
{
	return slice_id * 4096 + index + 1;
}

/* Calls fn for every well-formed record (id 0 holes included) of every chunk
 * of `volume`; a record that does not decode is logged and counted in
 * *damaged (may be NULL). A non-zero return from fn stops the walk. */
int fsck_walk_slices(struct meta *m, const char *volume,
		     int (*fn)(const struct slice_rec *s, void *arg), void *arg, uint64_t *damaged);
/* Calls fn for every slice waiting in the deletion log of `volume`. */
int fsck_walk_deletions(struct meta *m, const char *volume,
			int (*fn)(uint64_t id, uint32_t size, void *arg), void *arg);

#endif
