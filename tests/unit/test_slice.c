#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "layout.h"
#include "slice.h"

static struct slice_rec rec(uint64_t id, uint32_t pos, uint32_t len)
{
	struct slice_rec r = {.id = id, .size = len, .off = 0, .pos = pos, .len = len, .origin = 0};
	return r;
}

/* Reference model: paint a byte map of slice ids and offsets. */
static void model(const struct slice_rec *recs, size_t n, uint32_t start, uint32_t len,
		  uint64_t *ids, uint32_t *offs)
{
	for (uint32_t i = 0; i < len; i++) {
		ids[i] = 0;
		offs[i] = 0;
	}
	for (size_t k = 0; k < n; k++)
		for (uint32_t p = recs[k].pos; p < recs[k].pos + recs[k].len; p++)
			if (p >= start && p < start + len) {
				ids[p - start] = recs[k].id;
				offs[p - start] = recs[k].off + (p - recs[k].pos);
			}
}

static void check_against_model(const struct slice_rec *recs, size_t n, uint32_t start,
				uint32_t len)
{
	uint64_t *ids = malloc(len * sizeof(*ids));
	uint32_t *offs = malloc(len * sizeof(*offs));
	model(recs, n, start, len, ids, offs);
	struct slice_seg *segs = NULL;
	int ns = slice_resolve(recs, n, start, len, &segs);
	CU_ASSERT_FATAL(ns >= 0);
	uint32_t covered = start;
	int ok = 1;
	for (int i = 0; i < ns; i++) {
		if (segs[i].pos != covered)
			ok = 0;
		for (uint32_t b = 0; b < segs[i].len && ok; b++) {
			uint32_t p = segs[i].pos + b - start;
			if (ids[p] != segs[i].id || (segs[i].id && offs[p] != segs[i].off + b))
				ok = 0;
		}
		if (i > 0 && segs[i - 1].id == segs[i].id && segs[i].id == 0)
			ok = 0; /* holes must be merged */
		covered = segs[i].pos + segs[i].len;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(covered, start + len);
	free(segs);
	free(ids);
	free(offs);
}

static void test_single(void)
{
	struct slice_rec r[] = {rec(1, 0, 100)};
	struct slice_seg *s;
	CU_ASSERT_EQUAL(slice_resolve(r, 1, 0, 100, &s), 1);
	CU_ASSERT_EQUAL(s[0].id, 1);
	CU_ASSERT_EQUAL(s[0].len, 100);
	free(s);
}

static void test_holes(void)
{
	struct slice_rec r[] = {rec(1, 10, 10), rec(2, 30, 10)};
	struct slice_seg *s;
	int n = slice_resolve(r, 2, 0, 50, &s);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(s[0].id, 0);
	CU_ASSERT_EQUAL(s[0].len, 10);
	CU_ASSERT_EQUAL(s[1].id, 1);
	CU_ASSERT_EQUAL(s[2].id, 0);
	CU_ASSERT_EQUAL(s[3].id, 2);
	CU_ASSERT_EQUAL(s[4].id, 0);
	CU_ASSERT_EQUAL(s[4].pos, 40);
	free(s);
}

static void test_overwrite_middle(void)
{
	struct slice_rec r[] = {rec(1, 0, 100), rec(2, 40, 20)};
	struct slice_seg *s;
	int n = slice_resolve(r, 2, 0, 100, &s);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(s[0].id, 1);
	CU_ASSERT_EQUAL(s[0].len, 40);
	CU_ASSERT_EQUAL(s[1].id, 2);
	CU_ASSERT_EQUAL(s[1].off, 0);
	CU_ASSERT_EQUAL(s[2].id, 1);
	CU_ASSERT_EQUAL(s[2].pos, 60);
	CU_ASSERT_EQUAL(s[2].off, 60);
	free(s);
}

static void test_later_wins_and_earlier_hidden(void)
{
	struct slice_rec r[] = {rec(1, 20, 10), rec(2, 0, 100)};
	check_against_model(r, 2, 0, 100);
	struct slice_seg *s;
	CU_ASSERT_EQUAL(slice_resolve(r, 2, 0, 100, &s), 1);
	CU_ASSERT_EQUAL(s[0].id, 2);
	free(s);
}

static void test_truncate_hole(void)
{
	/* data, then a truncate hole over its tail */
	struct slice_rec r[] = {rec(1, 0, 100), {.id = 0, .pos = 50, .len = 50}};
	struct slice_seg *s;
	CU_ASSERT_EQUAL(slice_resolve(r, 2, 0, 100, &s), 2);
	CU_ASSERT_EQUAL(s[1].id, 0);
	CU_ASSERT_EQUAL(s[1].pos, 50);
	free(s);
}

static void test_subrange_offsets(void)
{
	struct slice_rec r[] = {{.id = 7, .size = 1000, .off = 100, .pos = 10, .len = 500}};
	struct slice_seg *s;
	CU_ASSERT_EQUAL(slice_resolve(r, 1, 200, 50, &s), 1);
	CU_ASSERT_EQUAL(s[0].off, 100 + 190);
	CU_ASSERT_EQUAL(s[0].pos, 200);
	free(s);
}

static void test_random_against_model(void)
{
	srand(12345);
	for (int round = 0; round < 300; round++) {
		struct slice_rec r[24];
		size_t n = (size_t)(rand() % 24);
		for (size_t i = 0; i < n; i++) {
			uint32_t pos = (uint32_t)(rand() % 900), len = 1 + (uint32_t)(rand() % 200);
			r[i] = rec(i % 5 == 4 ? 0 : i + 1, pos, len);
			r[i].off = (uint32_t)(rand() % 50);
			r[i].size = r[i].off + len;
		}
		uint32_t start = (uint32_t)(rand() % 500), len = 1 + (uint32_t)(rand() % 600);
		check_against_model(r, n, start, len);
	}
}

static void test_pack_roundtrip(void)
{
	struct slice_rec a = {.id = 0x0102030405060708ULL,
			      .size = 4194304,
			      .off = 17,
			      .pos = 67108863,
			      .len = 1,
			      .origin = 3},
			 b;
	uint8_t buf[SLICE_PACKED_LEN];
	slice_pack(&a, buf);
	CU_ASSERT_EQUAL(buf[0], 0x08);
	CU_ASSERT_EQUAL(slice_unpack(buf, sizeof(buf), &b), 0);
	CU_ASSERT_EQUAL(a.id, b.id);
	CU_ASSERT_EQUAL(a.size, b.size);
	CU_ASSERT_EQUAL(a.off, b.off);
	CU_ASSERT_EQUAL(a.pos, b.pos);
	CU_ASSERT_EQUAL(a.len, b.len);
	CU_ASSERT_EQUAL(a.origin, b.origin);
	CU_ASSERT_EQUAL(slice_unpack(buf, sizeof(buf) - 1, &b), -EINVAL);
}

static void test_check(void)
{
	struct slice_rec good = rec(1, 0, 10);
	CU_ASSERT_EQUAL(slice_check(&good, MCFS_CHUNK_SIZE), 0);
	struct slice_rec past_chunk = rec(1, MCFS_CHUNK_SIZE - 5, 10);
	CU_ASSERT_EQUAL(slice_check(&past_chunk, MCFS_CHUNK_SIZE), -EINVAL);
	struct slice_rec past_slice = {.id = 1, .size = 10, .off = 5, .pos = 0, .len = 10};
	CU_ASSERT_EQUAL(slice_check(&past_slice, MCFS_CHUNK_SIZE), -EINVAL);
	struct slice_rec empty = rec(1, 0, 0);
	CU_ASSERT_EQUAL(slice_check(&empty, MCFS_CHUNK_SIZE), -EINVAL);
}

int main(void)
{
	static const struct test_case tests[] = {{"single", test_single},
						 {"holes", test_holes},
						 {"overwrite middle", test_overwrite_middle},
						 {"later wins", test_later_wins_and_earlier_hidden},
						 {"truncate hole", test_truncate_hole},
						 {"sub-range offsets", test_subrange_offsets},
						 {"random vs model", test_random_against_model},
						 {"pack roundtrip", test_pack_roundtrip},
						 {"record check", test_check},
						 {NULL, NULL}};
	if (test_add_suite("slice", NULL, NULL, tests) < 0)
		return 1;
	return test_run_all();
}
