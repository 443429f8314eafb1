/*
 * A small set of byte ranges [lo, hi) within one 32-bit space: which parts of
 * a pending slice have been written. Kept sorted, disjoint and with touching
 * ranges merged, so a sequential writer whose requests arrive slightly out of
 * order holds a handful of ranges that collapse into one.
 */
#ifndef MCFS_RANGESET_H
#define MCFS_RANGESET_H

#include <stdbool.h>
#include <stdint.h>

struct range {
	uint32_t lo, hi;
};

struct rangeset {
	struct range *r;
	uint32_t n, cap;
};

/* Adds [lo, hi); 0 or -ENOMEM (the set is unchanged then). */
int rangeset_add(struct rangeset *s, uint32_t lo, uint32_t hi);
/* True when every byte of [lo, hi) is in the set. */
bool rangeset_covers(const struct rangeset *s, uint32_t lo, uint32_t hi);
void rangeset_free(struct rangeset *s);

#endif
