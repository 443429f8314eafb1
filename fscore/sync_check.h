/*
 * The reconcile scan behind `mcfs sync-check` (DESIGN.md §7): each region's
 * bucket listed against metadata. The change log drives replication; this is
 * the safety net for what it missed (an entry trimmed before a region was
 * added, a bucket restored from an old backup, an object removed by hand).
 *
 * Needed: every block of every slice a chunk's slice list references.
 * Extra: an object under "VOL/chunks/" that no such slice needs and that is
 * not waiting in the deletion log (that log frees it on its own schedule).
 * An extra object younger than min_age is only counted: it may belong to an
 * upload whose commit has not happened yet.
 *
 * Repair copies a missing (or wrong-size) block from another region's bucket
 * that has it with the right size, the slice's origin first, and deletes the
 * extra objects old enough. Blocks are immutable, so copying one that the
 * replicator copies at the same time is harmless.
 */
#ifndef MCFS_SYNC_CHECK_H
#define MCFS_SYNC_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta.h"
#include "region_stores.h"
#include "volume.h"

struct sync_check_options {
	const char *region; /* NULL: every region with a bucket of its own */
	uint64_t min_age_s; /* unreferenced objects younger than this are left alone */
	bool repair;
	unsigned transfers; /* copies in flight; 0 means 8 */
};

struct sync_check_region {
	char name[64];
	uint16_t index;
	char bucket[512];
	int error;		     /* 0, or why the bucket could not be listed (negative errno) */
	uint64_t needed;	     /* blocks that referenced slices need */
	uint64_t present;	     /* ... found with the right size */
	uint64_t missing;	     /* ... absent */
	uint64_t wrong_size;	     /* ... there, with another size */
	uint64_t extra, extra_bytes; /* objects nothing needs, older than min_age */
	uint64_t young;		     /* objects nothing needs, younger: left alone */
	uint64_t pending;	     /* blocks of slices in the deletion log: left to it */
	uint64_t foreign;	     /* keys under "VOL/chunks/" that are no block key */
	/* with repair */
	uint64_t copied;	/* missing or wrong-size blocks copied in */
	uint64_t unrecoverable; /* ... in no other bucket with the right size */
	uint64_t copy_failed;	/* ... a bucket failed (worth another run) */
	uint64_t deleted, delete_failed;
};

struct sync_check_report {
	uint64_t slices, blocks, bytes; /* referenced by metadata */
	uint64_t damaged_records;	/* slice records that do not decode */
	size_t nregions;
	struct sync_check_region region[MCFS_MAX_REGIONS];
};

/* Problems a region still has after the run: blocks neither present nor
 * copied, extra objects not deleted, a bucket that could not be listed. */
uint64_t sync_check_problems(const struct sync_check_region *r);

/*
 * Checks (and repairs) the regions of volume `vol` whose records are
 * regions[0..n). rs supplies the buckets; it is updated with regions here.
 * Per-region bucket failures go into the report; the return value is 0,
 * -ENOENT (no region o->region), -EINVAL (it has no bucket of its own), or a
 * metadata error. err says why on failure.
 */
int sync_check_run(struct meta *m, const struct volume_settings *vol,
		   const struct region_info *regions, size_t n, struct region_stores *rs,
		   const struct sync_check_options *o, struct sync_check_report *rep, char *err,
		   size_t errlen);

#endif
