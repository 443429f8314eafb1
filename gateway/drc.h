/*
 * Duplicate request cache for non-idempotent procedures (CREATE, REMOVE,
 * RENAME, ...): a retransmitted request must get the reply of the first
 * execution, not be executed again. Keyed by client address (and port),
 * XID, program, version, procedure and a checksum of the request body.
 * Bounded in entries (LRU) and in age. Thread-safe.
 */
#ifndef MCFS_GATEWAY_DRC_H
#define MCFS_GATEWAY_DRC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct drc;

struct drc_key {
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint32_t xid, prog, vers, proc;
	/* The whole request message: its checksum tells a new call reusing an XID. */
	const void *body;
	size_t body_len;
};

enum drc_verdict {
	DRC_EXECUTE,	 /* new: run it, then call drc_finish() (or drc_abandon()) */
	DRC_IN_PROGRESS, /* the first copy is still running: drop this one */
	DRC_REPLAY,	 /* done before: send *reply (malloc'd copy, caller frees) */
};

int drc_create(size_t max_entries, unsigned max_age_s, struct drc **out);
void drc_destroy(struct drc *d);
enum drc_verdict drc_begin(struct drc *d, const struct drc_key *k, void **reply, size_t *reply_len);
/* Records the reply for a request that drc_begin() said to execute. */
void drc_finish(struct drc *d, const struct drc_key *k, const void *reply, size_t reply_len);
/* Forgets a request that drc_begin() said to execute but that got no reply. */
void drc_abandon(struct drc *d, const struct drc_key *k);

#endif
