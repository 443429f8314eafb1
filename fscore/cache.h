/*
 * Block cache: immutable blocks keyed by their object key, so an entry never
 * needs invalidation. A memory tier (LRU, byte bound) and an optional disk
 * tier (directory, byte bound, LRU eviction, survives restarts, each file
 * checked against its recorded size and checksum before it is served).
 * Safe for concurrent use.
 */
#ifndef MCFS_CACHE_H
#define MCFS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct block_cache;

struct block_cache_config {
	uint64_t mem_bytes;   /* 0 disables the memory tier */
	const char *disk_dir; /* NULL disables the disk tier */
	uint64_t disk_bytes;  /* bound of the disk tier */
};

struct block_cache_stats {
	uint64_t mem_hits, disk_hits, misses;
	uint64_t mem_used, disk_used;
	uint64_t evictions;
};

int block_cache_open(const struct block_cache_config *cfg, struct block_cache **out);
void block_cache_close(struct block_cache *bc);

/* Copies a cached block into buf when it is cached with exactly `len` bytes:
 * returns 0 on a hit, -ENOENT on a miss (or a damaged disk entry, which is dropped). */
int block_cache_get(struct block_cache *bc, const char *key, void *buf, size_t len);
/* Reads part of a cached block: [off, off+len) of a block of total size block_len. */
int block_cache_get_range(struct block_cache *bc, const char *key, size_t block_len, size_t off,
			  size_t len, void *buf);
/* The same from the memory tier alone: never touches the disk. */
int block_cache_get_range_mem(struct block_cache *bc, const char *key, size_t block_len, size_t off,
			      size_t len, void *buf);
/* Adds a block (copies it). Failure to cache is not an error for callers. */
void block_cache_put(struct block_cache *bc, const char *key, const void *buf, size_t len);
/* Adds a block to the memory tier only. */
void block_cache_put_mem(struct block_cache *bc, const char *key, const void *buf, size_t len);
/* Adds a block without copying it: the cache takes buf (malloc'd) and frees
 * it when done. to_disk: also write it to the disk tier (pointless when the
 * block's own bucket is a local directory, which is as close). */
void block_cache_adopt(struct block_cache *bc, const char *key, void *buf, size_t len,
		       bool to_disk);
/* True when the block is in either tier (no copy). */
int block_cache_contains(struct block_cache *bc, const char *key);
void block_cache_stats(struct block_cache *bc, struct block_cache_stats *out);

#endif
