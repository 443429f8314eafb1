/* The written-ranges set of the write buffer, and the RESP formatter. */
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "rangeset.h"
#include "resp.h"

static void test_merge_out_of_order(void)
{
	struct rangeset s = {0};
	/* 1 MiB pieces arriving as 2, 0, 3, 1: touching ranges merge. */
	CU_ASSERT_EQUAL(rangeset_add(&s, 2u << 20, 3u << 20), 0);
	CU_ASSERT_EQUAL(rangeset_add(&s, 0, 1u << 20), 0);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT(!rangeset_covers(&s, 0, 3u << 20));
	CU_ASSERT_EQUAL(rangeset_add(&s, 3u << 20, 4u << 20), 0);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_EQUAL(rangeset_add(&s, 1u << 20, 2u << 20), 0);
	CU_ASSERT_EQUAL(s.n, 1);
	CU_ASSERT(rangeset_covers(&s, 0, 4u << 20));
	CU_ASSERT(!rangeset_covers(&s, 0, (4u << 20) + 1));
	rangeset_free(&s);
}

static void test_overlaps_and_gaps(void)
{
	struct rangeset s = {0};
	CU_ASSERT_EQUAL(rangeset_add(&s, 10, 20), 0);
	CU_ASSERT_EQUAL(rangeset_add(&s, 30, 40), 0);
	CU_ASSERT_EQUAL(rangeset_add(&s, 50, 60), 0);
	CU_ASSERT_EQUAL(rangeset_add(&s, 15, 35), 0); /* bridges the first two */
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_EQUAL(s.r[0].lo, 10);
	CU_ASSERT_EQUAL(s.r[0].hi, 40);
	CU_ASSERT(rangeset_covers(&s, 12, 39));
	CU_ASSERT(!rangeset_covers(&s, 39, 51));
	CU_ASSERT(!rangeset_covers(&s, 5, 11));
	CU_ASSERT(rangeset_covers(&s, 55, 55)); /* empty */
	CU_ASSERT_EQUAL(rangeset_add(&s, 0, 100), 0);
	CU_ASSERT_EQUAL(s.n, 1);
	rangeset_free(&s);
}

static void test_resp(void)
{
	char num[24];
	CU_ASSERT_EQUAL(resp_u64(num, 0), 1);
	CU_ASSERT_STRING_EQUAL(num, "0");
	CU_ASSERT_EQUAL(resp_u64(num, UINT64_MAX), 20);
	CU_ASSERT_STRING_EQUAL(num, "18446744073709551615");
	const char *argv[] = {"GET", "a\r\nb"};
	size_t lens[] = {3, 4};
	char *out = NULL;
	long n = resp_format(&out, 2, argv, lens);
	const char *want = "*2\r\n$3\r\nGET\r\n$4\r\na\r\nb\r\n";
	CU_ASSERT_EQUAL(n, (long)strlen(want));
	CU_ASSERT(out && memcmp(out, want, strlen(want)) == 0);
	free(out);
	/* Without lengths: C strings. */
	n = resp_format(&out, 2, argv, NULL);
	CU_ASSERT_EQUAL(n, (long)strlen(want));
	free(out);
	n = resp_format(&out, 0, argv, NULL);
	CU_ASSERT_EQUAL(n, 4);
	free(out);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"out-of-order pieces merge", test_merge_out_of_order},
	    {"overlaps and gaps", test_overlaps_and_gaps},
	    {"RESP commands", test_resp},
	    {NULL, NULL}};
	if (test_add_suite("rangeset", NULL, NULL, tests) < 0)
		return 1;
	return test_run_all();
}
