#include "rangeset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Index of the first range that ends at or after lo (n when none). */
static uint32_t first_reaching(const struct rangeset *s, uint32_t lo)
{
	uint32_t a = 0, b = s->n;
	while (a < b) {
		uint32_t m = a + (b - a) / 2;
		if (s->r[m].hi < lo)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

int rangeset_add(struct rangeset *s, uint32_t lo, uint32_t hi)
{
	if (lo >= hi)
		return 0;
	uint32_t i = first_reaching(s, lo);
	/* Ranges i..j-1 touch or overlap [lo, hi): they merge into one. */
	uint32_t j = i;
	while (j < s->n && s->r[j].lo <= hi)
		j++;
	if (j > i) {
		if (s->r[i].lo < lo)
			lo = s->r[i].lo;
		if (s->r[j - 1].hi > hi)
			hi = s->r[j - 1].hi;
		s->r[i] = (struct range){lo, hi};
		memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(*s->r));
		s->n -= j - i - 1;
		return 0;
	}
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? 2 * s->cap : 4;
		struct range *r = realloc(s->r, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		s->r = r;
		s->cap = cap;
	}
	memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
	s->r[i] = (struct range){lo, hi};
	s->n++;
	return 0;
}

bool rangeset_covers(const struct rangeset *s, uint32_t lo, uint32_t hi)
{
	if (lo >= hi)
		return true;
	uint32_t i = first_reaching(s, lo + 1);
	return i < s->n && s->r[i].lo <= lo && s->r[i].hi >= hi;
}

void rangeset_free(struct rangeset *s)
{
	free(s->r);
	*s = (struct rangeset){0};
}
