/*
 * The buckets of every region of a volume, opened on demand with this
 * machine's S3 credentials ([s3] of mcfs.conf or the environment). Readers
 * falling back across regions and the replicator copying between them both
 * need "the bucket of region N"; this is the one place that opens them.
 *
 * A meta-only region has no bucket of its own: it maps to the source's.
 * Thread-safe; a store returned stays valid until region_stores_close().
 */
#ifndef MCFS_REGION_STORES_H
#define MCFS_REGION_STORES_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "objstore.h"
#include "volume.h"

struct region_stores;

/* cfg supplies the credentials; it is copied. */
int region_stores_create(const struct mcfs_config *cfg, struct region_stores **out);
void region_stores_close(struct region_stores *rs);

/* Takes the volume's region list (again after a region add or a promotion);
 * source is the volume's source region name. Stores already open for an
 * unchanged bucket URL are kept. */
int region_stores_update(struct region_stores *rs, const struct region_info *regions, size_t n,
			 const char *source);

/* The bucket holding region `index`'s blocks, opened on first use; NULL if
 * there is no such region or its bucket cannot be opened (logged once). */
struct objstore *region_stores_get(struct region_stores *rs, uint16_t index);

/* The region indexes that have a bucket of their own, in index order. */
size_t region_stores_indexes(struct region_stores *rs, uint16_t *out, size_t max);

#endif
