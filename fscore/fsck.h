/* Whole-volume checks: metadata against itself and against the bucket
 * (fsck), and removal of objects no metadata needs (gc). */
#ifndef MCFS_FSCK_H
#define MCFS_FSCK_H

#include <stdbool.h>
#include <stdint.h>

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

#endif
