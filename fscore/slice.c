#include "slice.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void slice_pack(const struct slice_rec *s, uint8_t out[SLICE_PACKED_LEN])
{
	put_le(out, s->id, 8);
	put_le(out + 8, s->size, 4);
	put_le(out + 12, s->off, 4);
	put_le(out + 16, s->pos, 4);
	put_le(out + 20, s->len, 4);
	put_le(out + 24, s->origin, 2);
}

int slice_unpack(const void *buf, size_t len, struct slice_rec *out)
{
	const uint8_t *p = buf;
	if (len != SLICE_PACKED_LEN)
		return -EINVAL;
	out->id = get_le(p, 8);
	out->size = (uint32_t)get_le(p + 8, 4);
	out->off = (uint32_t)get_le(p + 12, 4);
	out->pos = (uint32_t)get_le(p + 16, 4);
	out->len = (uint32_t)get_le(p + 20, 4);
	out->origin = (uint16_t)get_le(p + 24, 2);
	return 0;
}

int slice_check(const struct slice_rec *s, uint32_t chunk_size)
{
	if (s->len == 0 || (uint64_t)s->pos + s->len > chunk_size)
		return -EINVAL;
	if (s->id != 0 && (uint64_t)s->off + s->len > s->size)
		return -EINVAL;
	return 0;
}

/* Segment list with room to grow: painting a record can split one segment
 * into three, so it grows by at most two per record. */
struct seg_list {
	struct slice_seg *v;
	size_t n, cap;
};

static int seg_reserve(struct seg_list *l, size_t extra)
{
	if (l->n + extra <= l->cap)
		return 0;
	size_t cap = l->cap ? l->cap * 2 : 16;
	while (cap < l->n + extra)
		cap *= 2;
	struct slice_seg *v = realloc(l->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	l->cap = cap;
	return 0;
}

/* The part of seg that lies in [from, to), or len 0 if none. */
static struct slice_seg seg_clip(const struct slice_seg *seg, uint32_t from, uint32_t to)
{
	struct slice_seg r = *seg;
	uint32_t lo = seg->pos > from ? seg->pos : from;
	uint32_t hi = seg->pos + seg->len < to ? seg->pos + seg->len : to;
	if (hi <= lo) {
		r.len = 0;
		return r;
	}
	if (r.id)
		r.off += lo - seg->pos;
	r.pos = lo;
	r.len = hi - lo;
	return r;
}

/* Paints one record over the list (later wins), keeping it ordered and exact. */
static int seg_paint(struct seg_list *l, const struct slice_seg *top)
{
	struct slice_seg *out = malloc((l->n + 2) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	size_t k = 0;
	uint32_t top_end = top->pos + top->len;
	int placed = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct slice_seg *s = &l->v[i];
		struct slice_seg before = seg_clip(s, 0, top->pos);
		struct slice_seg after = seg_clip(s, top_end, UINT32_MAX);
		if (before.len)
			out[k++] = before;
		if (!placed && s->pos + s->len > top->pos) {
			out[k++] = *top;
			placed = 1;
		}
		if (after.len)
			out[k++] = after;
	}
	if (!placed)
		out[k++] = *top;
	free(l->v);
	l->v = out;
	l->n = k;
	l->cap = k;
	return 0;
}

int slice_resolve(const struct slice_rec *recs, size_t n, uint32_t start, uint32_t len,
		  struct slice_seg **segs)
{
	if ((uint64_t)start + len > UINT32_MAX)
		return -EINVAL;
	struct seg_list l = {0};
	struct slice_seg hole = {.pos = start, .len = len};
	if (len == 0) {
		*segs = NULL;
		return 0;
	}
	if (seg_reserve(&l, 1) < 0)
		return -ENOMEM;
	l.v[l.n++] = hole;
	for (size_t i = 0; i < n; i++) {
		struct slice_seg full = {.pos = recs[i].pos,
					 .len = recs[i].len,
					 .id = recs[i].id,
					 .size = recs[i].size,
					 .off = recs[i].off,
					 .origin = recs[i].origin};
		struct slice_seg top = seg_clip(&full, start, start + len);
		if (!top.len)
			continue;
		if (seg_paint(&l, &top) < 0) {
			free(l.v);
			return -ENOMEM;
		}
	}
	/* Merge neighbouring holes and contiguous pieces of the same slice. */
	size_t k = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct slice_seg *prev = k ? &l.v[k - 1] : NULL;
		struct slice_seg *cur = &l.v[i];
		if (prev && prev->id == cur->id && prev->pos + prev->len == cur->pos &&
		    (cur->id == 0 || prev->off + prev->len == cur->off)) {
			prev->len += cur->len;
			continue;
		}
		l.v[k++] = *cur;
	}
	*segs = l.v;
	return (int)k;
}
