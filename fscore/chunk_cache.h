/*
 * Slice lists of recently read chunks, so that a read of a file whose
 * attributes have not changed skips the LRANGE round trip.
 *
 * An entry is tagged with the file's change counter as committed when the
 * reader fetched the attributes, and the list is loaded after that, so a list
 * is never older than its tag: a reader whose attributes carry the same
 * counter may use it. Every slice commit and truncation bumps the counter.
 * Compaction does not, but it replaces slices with equal content and their
 * blocks outlive the deletion delay; entries live well within that delay.
 */
#ifndef MCFS_CHUNK_CACHE_H
#define MCFS_CHUNK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "slice.h"

struct chunk_cache;

/* max_age_ms: how long an entry may serve (0: the cache is disabled). */
int chunk_cache_create(size_t slots, long long max_age_ms, struct chunk_cache **out);
void chunk_cache_destroy(struct chunk_cache *cc);
/* 0 and a malloc'd copy of the list cached for (ino, chunk) under change, or -ENOENT. */
int chunk_cache_get(struct chunk_cache *cc, mcfs_ino_t ino, uint32_t chunk, uint64_t change,
		    struct slice_rec **recs, size_t *n);
void chunk_cache_put(struct chunk_cache *cc, mcfs_ino_t ino, uint32_t chunk, uint64_t change,
		     const struct slice_rec *recs, size_t n);
/* Forgets (ino, chunk): its list led to a block that is gone. */
void chunk_cache_drop(struct chunk_cache *cc, mcfs_ino_t ino, uint32_t chunk);

#endif
