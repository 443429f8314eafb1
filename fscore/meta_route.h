/*
 * Where a gateway sends its metadata commands (DESIGN.md §3 and §6).
 *
 * Changes always go to the source primary. In a mirror or meta-only region
 * reads go to the local Redis replica, except when that would show an older
 * view than this process has seen:
 *  - read-your-writes: every command on the primary reports the primary's
 *    replication offset (meta_track_offset); until the replica has applied
 *    the highest such offset, reads go to the primary;
 *  - bounded staleness: a monitor thread samples both offsets a few times a
 *    second and estimates how far, in time, the replica is behind; past
 *    max_lag (or with its link down, or unreachable) reads go to the primary.
 *
 * After a promotion (`mcfs region promote`) the source moves: the monitor
 * notices the volume's promotion count change and re-points the primary at
 * the new source region's metadata endpoint. Connections replaced this way
 * stay open until close, so a caller holding one is never left dangling.
 */
#ifndef MCFS_META_ROUTE_H
#define MCFS_META_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta.h"

struct meta_route;

struct meta_route_options {
	const char *primary_url;
	const char *replica_url; /* NULL or "": read from the primary too */
	const char *password;	 /* for both servers; NULL: from the URLs */
	const char *volume;	 /* to follow promotions; NULL: never */
	uint64_t max_lag_ms;	 /* 0: no bound */
	unsigned timeout_ms;	 /* per command on the primary; 0: 5000 */
	/* Client-side caching (meta_tracking_enable) on every server reads go
	 * to, and on the source a promotion moves to; track_fn also hears
	 * "everything" (NULL) when the source moves. NULL: none. */
	meta_invalidate_fn track_fn;
	void *track_arg;
};

int meta_route_open(const struct meta_route_options *o, struct meta_route **out, char *err,
		    size_t errlen);
void meta_route_close(struct meta_route *r);

/* The source primary: for every change. */
struct meta *meta_route_primary(struct meta_route *r);

/* The server to read from now (see above). */
struct meta *meta_route_reader(struct meta_route *r);

/* A read on the replica failed for want of the server: reads go to the
 * primary until the monitor sees the replica answer again. */
void meta_route_replica_failed(struct meta_route *r);

/* With client-side caching: every change report that reached this process,
 * from every server read from, has been handed on (meta_tracking_settled). */
bool meta_route_reports_settled(struct meta_route *r);

/* True for errors that say the server could not be reached (not the
 * command's own failure). */
bool meta_route_unreachable(int err);

struct meta_route_stats {
	bool has_replica;
	bool replica_usable;	   /* reachable, linked, within max_lag */
	long long lag_ms;	   /* estimated replica lag; -1 unknown */
	long long behind_bytes;	   /* primary offset - replica offset at the last sample */
	uint64_t replica_reads;	   /* reads served by the replica */
	uint64_t primary_reads;	   /* reads sent to the primary instead */
	uint64_t primary_switches; /* promotions followed */
};
void meta_route_stats(struct meta_route *r, struct meta_route_stats *out);

#endif
