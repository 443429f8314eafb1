/*
 * Slice records of a chunk and how a read range is assembled from them.
 * A record says: bytes [off, off+len) of slice `id` (an object of `size`
 * bytes stored as blocks) appear at [pos, pos+len) of the chunk. Records are
 * kept in write order; a later one shadows earlier ones where they overlap.
 * id 0 is a hole (reads as zeros), used by truncate.
 */
#ifndef MCFS_SLICE_H
#define MCFS_SLICE_H

#include <stddef.h>
#include <stdint.h>

struct slice_rec {
	uint64_t id;
	uint32_t size; /* whole slice object */
	uint32_t off;  /* where this record starts inside the slice */
	uint32_t pos;  /* where it lands in the chunk */
	uint32_t len;
	uint16_t origin; /* region index where its blocks were first written */
};

#define SLICE_PACKED_LEN 26

void slice_pack(const struct slice_rec *s, uint8_t out[SLICE_PACKED_LEN]);
int slice_unpack(const void *buf, size_t len, struct slice_rec *out);

/* A piece of the assembled range: chunk bytes [pos, pos+len) come from
 * slice id at slice offset off (id 0: zeros). */
struct slice_seg {
	uint32_t pos, len;
	uint64_t id;
	uint32_t size, off;
	uint16_t origin;
};

/*
 * Resolves [start, start+len) of a chunk from its records. *segs gets a
 * malloc'd array, in position order, that covers the range exactly.
 * Returns the number of segments or -ENOMEM / -EINVAL.
 */
int slice_resolve(const struct slice_rec *recs, size_t n, uint32_t start, uint32_t len,
		  struct slice_seg **segs);

/* A record is well formed: inside the chunk and inside its slice. */
int slice_check(const struct slice_rec *s, uint32_t chunk_size);

#endif
