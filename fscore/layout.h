/* The data layout contract (DESIGN.md §4): chunks, slices, blocks, object keys. */
#ifndef MCFS_LAYOUT_H
#define MCFS_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define MCFS_CHUNK_SIZE		(64u << 20)
#define MCFS_DEFAULT_BLOCK_SIZE (4u << 20)
#define MCFS_MIN_BLOCK_SIZE	(64u << 10)
#define MCFS_MAX_BLOCK_SIZE	(16u << 20)

static inline uint64_t layout_chunk_index(uint64_t off)
{
	return off / MCFS_CHUNK_SIZE;
}

static inline uint32_t layout_chunk_offset(uint64_t off)
{
	return (uint32_t)(off % MCFS_CHUNK_SIZE);
}

/* Number of blocks a slice of slice_size bytes is stored as. */
static inline uint32_t layout_block_count(uint32_t slice_size, uint32_t block_size)
{
	return (slice_size + block_size - 1) / block_size;
}

/* Length of block `index` of a slice (the last one may be short). */
static inline uint32_t layout_block_len(uint32_t slice_size, uint32_t block_size, uint32_t index)
{
	uint64_t start = (uint64_t)index * block_size;
	if (start >= slice_size)
		return 0;
	uint64_t left = slice_size - start;
	return left < block_size ? (uint32_t)left : block_size;
}

/* "<volume>/chunks/<id/1e6>/<id/1e3>/<id>_<index>_<len>"; returns the length
 * written or -ENAMETOOLONG. */
int layout_block_key(char *buf, size_t buflen, const char *volume, uint64_t slice_id,
		     uint32_t index, uint32_t block_len);
/* Parses a block key back; -EINVAL if it is not one of this volume's. */
int layout_parse_block_key(const char *key, const char *volume, uint64_t *slice_id, uint32_t *index,
			   uint32_t *block_len);
/* Valid block sizes: a power of two between 64 KiB and 16 MiB that divides the chunk. */
int layout_check_block_size(uint64_t block_size);
/* Volume names: 1-63 of [a-z0-9-], starting with a letter or digit. */
int layout_check_volume_name(const char *name);

#endif
