/*
 * Block cache front: looks in memory, then on disk, and promotes disk hits
 * into memory. Writes go to both tiers (write-through), since a block is
 * usually put right after it was fetched from or uploaded to the object
 * store and is likely to be read again. The tiers live in cache_mem.c and
 * cache_disk.c.
 *
 * A sequential read of a file larger than the memory tier (a training
 * epoch over a data set) would move every block from disk into memory and
 * evict another for it, each pass, and find none of them there the next
 * time. So a disk hit is promoted only while memory has room to spare, or
 * when the same block was read from disk a short while before (2Q's "A1out"
 * list, here a ring of recently passed-over keys): a block that comes back
 * within half the memory tier's worth of blocks is worth a place, a scan's
 * blocks are read from the disk tier where they are.
 */
#include "cache.h"
#include "cache_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The ring of passed-over keys: half as many as 4 MiB blocks the memory
 * tier holds, within these bounds. */
#define PASSED_MIN   4
#define PASSED_MAX   4096
#define PASSED_BLOCK (8ULL << 20)

struct block_cache {
	struct mem_tier *mem;	/* NULL when disabled */
	struct disk_tier *disk; /* NULL when disabled */
	_Atomic uint64_t mem_hits;
	_Atomic uint64_t disk_hits;
	_Atomic uint64_t misses;
	pthread_mutex_t passed_lock;
	uint64_t *passed; /* key hashes, 0 for an empty slot */
	unsigned npassed, passed_next;
};

static void count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* A zero disk bound could hold nothing, so it disables the tier instead of
 * scanning the directory only to empty it. */
int block_cache_open(const struct block_cache_config *cfg, struct block_cache **out)
{
	if (!cfg || !out)
		return -EINVAL;
	struct block_cache *bc = calloc(1, sizeof(*bc));
	if (!bc)
		return -ENOMEM;
	int r = 0;
	pthread_mutex_init(&bc->passed_lock, NULL);
	if (cfg->mem_bytes > 0) {
		uint64_t n = cfg->mem_bytes / PASSED_BLOCK;
		bc->npassed = n < PASSED_MIN   ? PASSED_MIN
			      : n > PASSED_MAX ? PASSED_MAX
					       : (unsigned)n;
		bc->passed = calloc(bc->npassed, sizeof(*bc->passed));
		r = bc->passed ? mem_tier_create(cfg->mem_bytes, &bc->mem) : -ENOMEM;
	}
	if (r == 0 && cfg->disk_dir && cfg->disk_bytes > 0)
		r = disk_tier_open(cfg->disk_dir, cfg->disk_bytes, &bc->disk);
	if (r != 0) {
		block_cache_close(bc);
		return r;
	}
	*out = bc;
	return 0;
}

void block_cache_close(struct block_cache *bc)
{
	if (!bc)
		return;
	mem_tier_destroy(bc->mem);
	disk_tier_close(bc->disk);
	pthread_mutex_destroy(&bc->passed_lock);
	free(bc->passed);
	free(bc);
}

static bool usable(const struct block_cache *bc, const char *key)
{
	return bc && key && *key;
}

int block_cache_get(struct block_cache *bc, const char *key, void *buf, size_t len)
{
	if (!usable(bc, key))
		return -ENOENT;
	if (bc->mem && mem_tier_get(bc->mem, key, len, 0, len, buf) == 0) {
		count(&bc->mem_hits);
		return 0;
	}
	if (bc->disk && disk_tier_get(bc->disk, key, buf, len) == 0) {
		count(&bc->disk_hits);
		if (bc->mem)
			mem_tier_put(bc->mem, key, buf, len);
		return 0;
	}
	count(&bc->misses);
	return -ENOENT;
}

/* Whether a block passed over for promotion came back: true once per pass
 * (the slot is emptied); otherwise it is remembered, in place of the oldest. */
static bool came_back(struct block_cache *bc, const char *key)
{
	uint64_t h = cache_key_hash(key, strlen(key));
	h += h == 0; /* 0 marks an empty slot */
	pthread_mutex_lock(&bc->passed_lock);
	for (unsigned i = 0; i < bc->npassed; i++) {
		if (bc->passed[i] == h) {
			bc->passed[i] = 0;
			pthread_mutex_unlock(&bc->passed_lock);
			return true;
		}
	}
	bc->passed[bc->passed_next] = h;
	bc->passed_next = (bc->passed_next + 1) % bc->npassed;
	pthread_mutex_unlock(&bc->passed_lock);
	return false;
}

/* Whether a block read from disk from its start earns a place in memory
 * (see the top of this file). */
static bool promote(struct block_cache *bc, const char *key, size_t block_len)
{
	if (!bc->mem || !mem_tier_fits(bc->mem, key, block_len))
		return false;
	return mem_tier_has_room(bc->mem, key, block_len) || came_back(bc, key);
}

/* A partial read usually comes first of several sequential ones from the
 * same block, so when the block earns a place in memory one verified full
 * read that promotes it serves all the others; otherwise the disk tier reads
 * only the range (after checking the whole file once, see cache_disk.c). */
static int range_from_disk(struct block_cache *bc, const char *key, size_t block_len, size_t off,
			   size_t len, void *buf)
{
	/* Only a read from the start of a block looks like the first of a
	 * sequential run; random reads take just their range. */
	if (off == 0 && promote(bc, key, block_len)) {
		char *block = malloc(block_len ? block_len : 1);
		if (block) {
			int r = disk_tier_get(bc->disk, key, block, block_len);
			if (r < 0) {
				free(block);
				return r;
			}
			if (len)
				memcpy(buf, block + off, len);
			/* The memory tier takes the block as read: a second
			 * copy of 4 MiB, into pages faulted in anew, cost a
			 * sequential read from the disk tier a tenth of its CPU. */
			mem_tier_adopt(bc->mem, key, block, block_len);
			return 0;
		}
	}
	return disk_tier_get_range(bc->disk, key, block_len, off, len, buf);
}

int block_cache_get_range(struct block_cache *bc, const char *key, size_t block_len, size_t off,
			  size_t len, void *buf)
{
	if (off > block_len || len > block_len - off)
		return -EINVAL;
	if (!usable(bc, key))
		return -ENOENT;
	if (bc->mem && mem_tier_get(bc->mem, key, block_len, off, len, buf) == 0) {
		count(&bc->mem_hits);
		return 0;
	}
	if (bc->disk && range_from_disk(bc, key, block_len, off, len, buf) == 0) {
		count(&bc->disk_hits);
		return 0;
	}
	count(&bc->misses);
	return -ENOENT;
}

int block_cache_get_range_mem(struct block_cache *bc, const char *key, size_t block_len, size_t off,
			      size_t len, void *buf)
{
	if (off > block_len || len > block_len - off)
		return -EINVAL;
	if (!usable(bc, key) || !bc->mem ||
	    mem_tier_get(bc->mem, key, block_len, off, len, buf) != 0)
		return -ENOENT;
	count(&bc->mem_hits);
	return 0;
}

void block_cache_put(struct block_cache *bc, const char *key, const void *buf, size_t len)
{
	if (!usable(bc, key))
		return;
	if (bc->mem)
		mem_tier_put(bc->mem, key, buf, len);
	if (bc->disk)
		disk_tier_put(bc->disk, key, buf, len);
}

void block_cache_put_mem(struct block_cache *bc, const char *key, const void *buf, size_t len)
{
	if (usable(bc, key) && bc->mem)
		mem_tier_put(bc->mem, key, buf, len);
}

void block_cache_adopt(struct block_cache *bc, const char *key, void *buf, size_t len, bool to_disk)
{
	if (!usable(bc, key)) {
		free(buf);
		return;
	}
	if (to_disk && bc->disk)
		disk_tier_put(bc->disk, key, buf, len);
	if (bc->mem)
		mem_tier_adopt(bc->mem, key, buf, len);
	else
		free(buf);
}

int block_cache_contains(struct block_cache *bc, const char *key)
{
	if (!usable(bc, key))
		return 0;
	return (bc->mem && mem_tier_contains(bc->mem, key)) ||
	       (bc->disk && disk_tier_contains(bc->disk, key));
}

void block_cache_stats(struct block_cache *bc, struct block_cache_stats *out)
{
	uint64_t used, evicted;

	memset(out, 0, sizeof(*out));
	if (!bc)
		return;
	out->mem_hits = atomic_load(&bc->mem_hits);
	out->disk_hits = atomic_load(&bc->disk_hits);
	out->misses = atomic_load(&bc->misses);
	if (bc->mem) {
		mem_tier_stats(bc->mem, &used, &evicted);
		out->mem_used = used;
		out->evictions += evicted;
	}
	if (bc->disk) {
		disk_tier_stats(bc->disk, &used, &evicted);
		out->disk_used = used;
		out->evictions += evicted;
	}
}
