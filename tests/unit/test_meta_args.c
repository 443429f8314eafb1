/* Argument lists of the metadata scripts: what does not fit is never sent
 * short, it marks the whole list as overflowed. */
#include <string.h>

#include "cunit_main.h"
#include "meta_ops.h"

static uint64_t packed_u64(const struct meta_args *a, size_t at)
{
	uint64_t x = 0;
	for (size_t i = 0; i < 8; i++)
		x |= (uint64_t)a->packed[at + i] << (8 * i);
	return x;
}

static void test_packs_little_endian(void)
{
	struct meta_args a;
	args_init(&a);
	args_str(&a, "op");
	args_pack_u64(&a, 0x0102030405060708ull);
	args_pack_u32(&a, 0xa0b0c0d0u);
	args_packed_end(&a);
	CU_ASSERT_EQUAL(a.n, 2);
	CU_ASSERT_EQUAL(a.len[0], 2);
	CU_ASSERT_EQUAL(a.len[1], 12);
	CU_ASSERT_EQUAL(packed_u64(&a, 0), 0x0102030405060708ull);
	CU_ASSERT_EQUAL(a.packed[8], 0xd0);
	CU_ASSERT_EQUAL(a.packed[11], 0xa0);
}

static void test_numbers_as_decimal(void)
{
	struct meta_args a;
	args_init(&a);
	args_u64(&a, 18446744073709551615ull);
	args_i64(&a, -42);
	CU_ASSERT_EQUAL(a.n, 2);
	CU_ASSERT_EQUAL(a.len[0], strlen("18446744073709551615"));
	CU_ASSERT_NSTRING_EQUAL(a.v[0], "18446744073709551615", a.len[0]);
	CU_ASSERT_NSTRING_EQUAL(a.v[1], "-42", a.len[1]);
}

static void test_too_many_arguments(void)
{
	struct meta_args a;
	args_init(&a);
	for (int i = 0; i < META_ARGS_MAX; i++)
		args_str(&a, "x");
	CU_ASSERT_EQUAL(a.n, META_ARGS_MAX);
	args_u64(&a, 1);
	CU_ASSERT_EQUAL(a.n, META_ARGS_OVERFLOW);
	/* Nothing added later makes the list look whole again. */
	args_str(&a, "y");
	args_i64(&a, 2);
	args_packed_end(&a);
	CU_ASSERT_EQUAL(a.n, META_ARGS_OVERFLOW);
}

static void test_too_many_packed_numbers(void)
{
	struct meta_args a;
	args_init(&a);
	args_str(&a, "op");
	size_t fits = sizeof(a.packed) / 8;
	for (size_t i = 0; i < fits; i++)
		args_pack_u64(&a, i);
	CU_ASSERT_EQUAL(a.n, 1);
	args_pack_u32(&a, 7);
	CU_ASSERT_EQUAL(a.n, META_ARGS_OVERFLOW);
	args_packed_end(&a);
	CU_ASSERT_EQUAL(a.n, META_ARGS_OVERFLOW);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"packs little-endian", test_packs_little_endian},
	    {"numbers as decimal", test_numbers_as_decimal},
	    {"too many arguments", test_too_many_arguments},
	    {"too many packed numbers", test_too_many_packed_numbers},
	    {NULL, NULL}};
	if (test_add_suite("meta_args", NULL, NULL, tests) < 0)
		return 1;
	return test_run_all();
}
