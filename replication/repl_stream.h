/*
 * The change log "{VOL}:changes" as seen by one consumer of a target
 * region's group (DESIGN.md §7): reading new and own pending entries,
 * claiming those of silent consumers, acknowledging copied ones.
 * Delivery is at least once: an entry stays pending until acknowledged.
 */
#ifndef MCFS_REPL_STREAM_H
#define MCFS_REPL_STREAM_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta.h"

#define REPL_ID_LEN 48

/* One change-log entry: a committed slice. */
struct repl_entry {
	char sid[REPL_ID_LEN]; /* stream entry id */
	bool valid;	       /* false: trimmed from the stream or malformed */
	uint64_t slice;
	uint32_t size;
	uint16_t origin;  /* region index whose bucket got the blocks first */
	bool redelivered; /* read before (own pending, or claimed): it may be copied already */
};

struct repl_stream {
	struct meta *m;
	char key[192];
	char group[64];
	char consumer[128];
};

void repl_stream_init(struct repl_stream *s, struct meta *m, const char *volume, const char *group,
		      const char *consumer);
/* Creates the group at the start of the log (and the log) if missing. */
int repl_stream_create_group(struct repl_stream *s);
/* XREADGROUP from `from` (">" for new entries, an id for own pending ones
 * after it), at most max entries, waiting up to block_ms (0: not at all)
 * for new ones. */
int repl_stream_read(struct repl_stream *s, const char *from, size_t max, int block_ms,
		     struct repl_entry *out, size_t *n);
/* Takes over entries idle for min_idle_ms from any consumer, scanning from
 * *cursor (updated; "0-0" once the scan wrapped). */
int repl_stream_claim(struct repl_stream *s, uint64_t min_idle_ms, char cursor[REPL_ID_LEN],
		      size_t max, struct repl_entry *out, size_t *n);
/* Resets the idle time of entries still being worked on, so that no other
 * consumer claims them from under a slow copy. */
int repl_stream_touch(struct repl_stream *s, const char *const *ids, size_t n);
int repl_stream_ack(struct repl_stream *s, const char *const *ids, size_t n);
/* Drops consumers without pending entries that are this one (on exit) or
 * idle longer than max_idle_ms (dead workers whose entries were claimed). */
int repl_stream_reap_consumers(struct repl_stream *s, bool self, uint64_t max_idle_ms);

/* Parses one [id, [field, value...]] element; false if it is not one. */
bool repl_entry_parse(const redisReply *e, struct repl_entry *out);
/* The millisecond part of a stream id. */
long long repl_id_ms(const char *id);
/* Compares two stream ids in stream order. */
int repl_id_cmp(const char *a, const char *b);

#endif
