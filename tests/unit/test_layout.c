#include <errno.h>
#include <string.h>

#include "cunit_main.h"
#include "layout.h"

static void test_block_key(void)
{
	char key[256];
	CU_ASSERT(layout_block_key(key, sizeof(key), "vol", 1234567, 3, 4194304) > 0);
	CU_ASSERT_STRING_EQUAL(key, "vol/chunks/1/1234/1234567_3_4194304");
	CU_ASSERT(layout_block_key(key, sizeof(key), "v", 5, 0, 10) > 0);
	CU_ASSERT_STRING_EQUAL(key, "v/chunks/0/0/5_0_10");
	CU_ASSERT_EQUAL(layout_block_key(key, 8, "vol", 1, 0, 1), -ENAMETOOLONG);
}

static void test_parse_key(void)
{
	uint64_t id;
	uint32_t idx, len;
	CU_ASSERT_EQUAL(
	    layout_parse_block_key("vol/chunks/1/1234/1234567_3_4194304", "vol", &id, &idx, &len),
	    0);
	CU_ASSERT_EQUAL(id, 1234567);
	CU_ASSERT_EQUAL(idx, 3);
	CU_ASSERT_EQUAL(len, 4194304);
	const char *bad[] = {"vol/chunks/1/1234/1234567_3",
			     "other/chunks/0/0/5_0_10",
			     "vol/chunks/0/0/5_0_10x",
			     "vol/chunks/9/0/5_0_10",
			     "vol/chunks/0/0/05_0_10",
			     "vol/chunks/0/0/5_0_0",
			     "vol/volume.json",
			     "vol/chunks/0/0/5_-1_10"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(layout_parse_block_key(bad[i], "vol", &id, &idx, &len), -EINVAL);
}

static void test_block_math(void)
{
	uint32_t bs = 4u << 20;
	CU_ASSERT_EQUAL(layout_block_count(0, bs), 0);
	CU_ASSERT_EQUAL(layout_block_count(1, bs), 1);
	CU_ASSERT_EQUAL(layout_block_count(bs, bs), 1);
	CU_ASSERT_EQUAL(layout_block_count(bs + 1, bs), 2);
	CU_ASSERT_EQUAL(layout_block_count(MCFS_CHUNK_SIZE, bs), 16);
	CU_ASSERT_EQUAL(layout_block_len(bs + 1, bs, 0), bs);
	CU_ASSERT_EQUAL(layout_block_len(bs + 1, bs, 1), 1);
	CU_ASSERT_EQUAL(layout_block_len(bs + 1, bs, 2), 0);
	CU_ASSERT_EQUAL(layout_chunk_index(MCFS_CHUNK_SIZE - 1), 0);
	CU_ASSERT_EQUAL(layout_chunk_index(MCFS_CHUNK_SIZE), 1);
	CU_ASSERT_EQUAL(layout_chunk_offset(3ULL * MCFS_CHUNK_SIZE + 7), 7);
}

static void test_block_size_rules(void)
{
	CU_ASSERT_EQUAL(layout_check_block_size(4u << 20), 0);
	CU_ASSERT_EQUAL(layout_check_block_size(64u << 10), 0);
	CU_ASSERT_EQUAL(layout_check_block_size(16u << 20), 0);
	CU_ASSERT_EQUAL(layout_check_block_size(32u << 10), -EINVAL);
	CU_ASSERT_EQUAL(layout_check_block_size(32u << 20), -EINVAL);
	CU_ASSERT_EQUAL(layout_check_block_size(3u << 20), -EINVAL);
	CU_ASSERT_EQUAL(layout_check_block_size(0), -EINVAL);
}

static void test_volume_names(void)
{
	CU_ASSERT_EQUAL(layout_check_volume_name("data-1"), 0);
	CU_ASSERT_EQUAL(layout_check_volume_name("a"), 0);
	CU_ASSERT_EQUAL(layout_check_volume_name(""), -EINVAL);
	CU_ASSERT_EQUAL(layout_check_volume_name("-x"), -EINVAL);
	CU_ASSERT_EQUAL(layout_check_volume_name("Upper"), -EINVAL);
	CU_ASSERT_EQUAL(layout_check_volume_name("a/b"), -EINVAL);
	CU_ASSERT_EQUAL(layout_check_volume_name("{x}"), -EINVAL);
	char longname[80];
	memset(longname, 'a', 64);
	longname[64] = '\0';
	CU_ASSERT_EQUAL(layout_check_volume_name(longname), -EINVAL);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"block key", test_block_key},	 {"parse key", test_parse_key},
	    {"block math", test_block_math},	 {"block size rules", test_block_size_rules},
	    {"volume names", test_volume_names}, {NULL, NULL}};
	if (test_add_suite("layout", NULL, NULL, tests) < 0)
		return 1;
	return test_run_all();
}
