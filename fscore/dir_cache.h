/*
 * Directory listings a gateway has read, kept for as long as Redis has
 * promised to report the next change of the directory (client-side caching,
 * as for attributes: attr_cache.h). A listing is kept as the pages it was
 * read in (segments), in cookie order from the directory's start, so that a
 * READDIR at any cookie inside what is kept is answered from memory, the
 * way a client that lists a directory again asks for it. Names looked up in
 * it are kept too (found or not), so that a LOOKUP needs no round trip.
 *
 * The rules are those of the attribute cache: only tracked answers go in;
 * every change Redis reports, every change this gateway makes, and
 * everything when a report may have been lost, take the directory out; a
 * reader takes a ticket before its reads, and what it read is turned away
 * when the directory was forgotten after the ticket; a listing serves no
 * longer than max_age. Bounded by the number of entries kept.
 *
 * Thread-safe (one lock; segments are immutable and reference counted, so
 * a reader encodes from one without holding it).
 */
#ifndef MCFS_DIR_CACHE_H
#define MCFS_DIR_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"

struct dir_cache;

struct dir_seg_entry {
	uint64_t cookie;
	mcfs_ino_t ino;
	uint8_t type;
	const char *name; /* NUL-terminated, inside the segment */
};

/* Entries after cookie `after`, in cookie order. Immutable once added. */
struct dir_seg {
	unsigned refs; /* atomic */
	uint64_t after;
	size_t n;
	struct dir_seg_entry *e;
	char *names;
};

/* A segment of n entries whose names take names_len bytes in all (NULs
 * included), to be filled in by the caller; NULL on ENOMEM. */
struct dir_seg *dir_seg_new(uint64_t after, size_t n, size_t names_len);
void dir_seg_put(struct dir_seg *s);

struct dir_cache_stats {
	uint64_t hits, misses, adds, refused, forgets, flushes, evictions, expired;
	uint64_t name_hits, name_misses;
	uint64_t dirs, entries;
};

/* max_entries > 0; max_age_ms > 0. NULL on ENOMEM. */
struct dir_cache *dir_cache_new(size_t max_entries, unsigned max_age_ms);
void dir_cache_free(struct dir_cache *c);

/* Take before sending the reads whose answer may be added. */
uint64_t dir_cache_ticket(struct dir_cache *c);
/* The kept segment holding the entries of dir after cookie, from index *at
 * on (a reference: dir_seg_put it); *last: the directory ends with it.
 * NULL when cookie is beyond what is kept. */
struct dir_seg *dir_cache_get(struct dir_cache *c, mcfs_ino_t dir, uint64_t cookie, size_t *at,
			      bool *last);
/* A page read from Redis, tracked, starting after s->after; last: the
 * directory ends with it. Kept (the cache takes a reference) when it
 * continues what is kept of dir, or starts it at cookie 0, and nothing of
 * dir was forgotten since ticket. */
void dir_cache_add(struct dir_cache *c, mcfs_ino_t dir, struct dir_seg *s, bool last,
		   uint64_t ticket);
/* A name looked up in dir (a tracked read): its inode and type, or ino 0
 * for "no such name". Kept unless dir was forgotten since ticket. */
void dir_cache_put_name(struct dir_cache *c, mcfs_ino_t dir, const char *name, mcfs_ino_t ino,
			uint8_t type, uint64_t ticket);
/* Whether the name is known in dir: *ino (0: no such name) and *type. */
bool dir_cache_get_name(struct dir_cache *c, mcfs_ino_t dir, const char *name, mcfs_ino_t *ino,
			uint8_t *type);
/* dir's entries changed (or may have). */
void dir_cache_forget(struct dir_cache *c, mcfs_ino_t dir);
/* Anything may have changed. */
void dir_cache_forget_all(struct dir_cache *c);
void dir_cache_stats(struct dir_cache *c, struct dir_cache_stats *out);

#endif
