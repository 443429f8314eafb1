/*
 * Reading immutable blocks (DESIGN.md §3, §7): the block cache first, then
 * the buckets in the order most likely to hold the block:
 *  - the local bucket when the slice was written here or the replicator's
 *    low watermark says it has been copied here;
 *  - otherwise the slice's origin bucket first (it surely has it), then the
 *    local bucket, then every other region's.
 * A block is checked against its expected length before it is served or
 * cached; a short or missing copy in one bucket sends the read to the next.
 */
#ifndef MCFS_READER_H
#define MCFS_READER_H

#include <stdbool.h>
#include <stdint.h>

struct vfs;

/* Bytes [off, off+len) of block `index` (block_len bytes) of slice id,
 * first written in region index `origin`. */
int reader_read_block(struct vfs *v, uint64_t slice_id, uint16_t origin, uint32_t index,
		      uint32_t block_len, uint32_t off, uint32_t len, uint8_t *dst);
/* Whether any bucket of the volume is a directory of this machine: where
 * none is, no block can be opened as a file (reader_open_block). */
bool reader_has_local_bucket(struct vfs *v);
/* A block of the local bucket opened for reading, verified against its
 * length, for bytes sent straight from the file: *fd is the caller's to
 * close. -EAGAIN where the block is read best another way (from another
 * bucket, or the local one is not a directory of this machine). */
int reader_open_block(struct vfs *v, uint64_t slice_id, uint16_t origin, uint32_t index,
		      uint32_t block_len, int *fd);
/* Fetches a block into the cache in the background, if it is not there. */
void reader_prefetch_block(struct vfs *v, uint64_t slice_id, uint16_t origin, uint32_t index,
			   uint32_t block_len);

#endif
