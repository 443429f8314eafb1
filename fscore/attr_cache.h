/*
 * Inode attributes a gateway has read, kept for as long as Redis has
 * promised to report their next change (client-side caching with CLIENT
 * TRACKING: meta.h, meta_tracking_enable). A GETATTR, an ACCESS, the
 * attribute check before every READ and WRITE are then answered here
 * instead of costing a round trip.
 *
 * What may go in, and when it must go out:
 *  - only answers of commands Redis tracks for this gateway (the caller
 *    knows: meta_cmd_track and friends say so);
 *  - every change Redis reports, every change this gateway makes itself,
 *    and everything at once when a report may have been lost (the
 *    connection that carries them or a tracked one broke);
 *  - an answer overtaken by a change must not get in after the change was
 *    forgotten: a reader takes a ticket before it sends its command, and a
 *    put is refused when anything the inode could be concerned by was
 *    forgotten after the ticket;
 *  - and, whatever happens, an entry serves no longer than max_age.
 *
 * Thread-safe: shards, each with its own lock, hash and LRU list.
 */
#ifndef MCFS_ATTR_CACHE_H
#define MCFS_ATTR_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"

struct attr_cache;

struct attr_cache_stats {
	uint64_t hits, misses;
	uint64_t puts, refused; /* answers taken, and turned away as overtaken */
	uint64_t forgets, flushes, evictions, expired;
	uint64_t entries;
};

/* max_entries > 0; max_age_ms > 0. NULL on ENOMEM. */
struct attr_cache *attr_cache_new(size_t max_entries, unsigned max_age_ms);
void attr_cache_free(struct attr_cache *c);

/* Take before sending the command whose answer may be put. */
uint64_t attr_cache_ticket(struct attr_cache *c);
/* A copy of the entry of ino, if there is one young enough. */
bool attr_cache_get(struct attr_cache *c, mcfs_ino_t ino, struct mcfs_attr *out);
/* A tracked answer: kept unless something was forgotten since ticket. */
void attr_cache_put(struct attr_cache *c, const struct mcfs_attr *a, uint64_t ticket);
/* A change this gateway made, with the attributes it left (tracked): answers
 * read before it are turned away, and a is kept unless something was
 * forgotten since ticket. */
void attr_cache_update(struct attr_cache *c, const struct mcfs_attr *a, uint64_t ticket);
/* ino changed (or may have). */
void attr_cache_forget(struct attr_cache *c, mcfs_ino_t ino);
/* Anything may have changed. */
void attr_cache_forget_all(struct attr_cache *c);
void attr_cache_stats(struct attr_cache *c, struct attr_cache_stats *out);

#endif
