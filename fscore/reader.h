/* Reading immutable blocks: the block cache first, then the bucket; a block
 * is checked against its expected length before it is served or cached. */
#ifndef MCFS_READER_H
#define MCFS_READER_H

#include <stdint.h>

struct vfs;

/* Bytes [off, off+len) of block `index` (block_len bytes) of slice id. */
int reader_read_block(struct vfs *v, uint64_t slice_id, uint32_t index, uint32_t block_len,
		      uint32_t off, uint32_t len, uint8_t *dst);
/* Fetches a block into the cache in the background, if it is not there. */
void reader_prefetch_block(struct vfs *v, uint64_t slice_id, uint32_t index, uint32_t block_len);

#endif
