/*
 * Copying one block into the target region's bucket: skip it if it is there
 * with the right size (asked only when it may be: a redelivered entry, or a
 * try after a failed one), else read it from the first bucket that has it
 * whole (the origin region's first), write it, and check it arrived.
 */
#ifndef MCFS_REPL_COPY_H
#define MCFS_REPL_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "region_stores.h"
#include "repl_limit.h"
#include "retry.h"
#include "volume.h"

enum repl_copy_result {
	REPL_COPIED = 0,  /* written and verified */
	REPL_PRESENT = 1, /* already there */
	REPL_MISSING = 2, /* in no bucket at all */
};

/* Where the blocks of one slice are read from, best first. */
struct repl_plan {
	uint16_t sources[MCFS_MAX_REGIONS];
	size_t nsources;
};

/* The buckets to read a slice of region `origin` from when copying into
 * region `target` (indexes into the region list): the origin's bucket
 * (the source's for a meta-only origin, or every bucket for an unknown
 * origin), then every other region's bucket; never one with the target's
 * URL. Returns 1 when the origin's bucket is the target's own, so there is
 * nothing to copy; else 0. */
int repl_plan_sources(const struct region_info *regions, size_t n, const char *source_region,
		      uint16_t origin, uint16_t target, struct repl_plan *out);

struct repl_copier {
	struct region_stores *stores;
	uint16_t target;
	struct repl_limit *limit;
	struct retry_policy retry; /* per block, before the entry is left pending */
};

/* Copies block key (len bytes). may_be_there: the entry was delivered
 * before, so the block may be in the target already; a first delivery's is
 * written without asking first, which saves a request per block (a block
 * there after all, put by a repair, is the same bytes: blocks never change).
 * A repl_copy_result, or a negative errno when some bucket could not be
 * reached even after retries. */
int repl_copy_block(const struct repl_copier *c, const struct repl_plan *plan, const char *key,
		    uint32_t len, bool may_be_there);

#endif
