#include <errno.h>
#include <string.h>

#include "attr.h"
#include "cunit_main.h"

static struct mcfs_attr sample(void)
{
	struct mcfs_attr a = {.ino = 42,
			      .type = MCFS_FILE,
			      .mode = 04755,
			      .uid = 1000,
			      .gid = 4294967294u,
			      .nlink = 3,
			      .size = (1ULL << 45) + 17,
			      .atime = {1700000000, 1},
			      .mtime = {-5, 999999999},
			      .ctime = {1800000000, 500},
			      .rdev_major = 8,
			      .rdev_minor = 1,
			      .change = 123456789012ULL,
			      .parent = 7,
			      .generation = 99};
	return a;
}

static void test_roundtrip(void)
{
	struct mcfs_attr a = sample(), b;
	uint8_t buf[ATTR_PACKED_LEN];
	attr_pack(&a, buf);
	CU_ASSERT_EQUAL(attr_unpack(buf, sizeof(buf), 42, &b), 0);
	CU_ASSERT_EQUAL(b.ino, a.ino);
	CU_ASSERT_EQUAL(b.type, a.type);
	CU_ASSERT_EQUAL(b.mode, a.mode);
	CU_ASSERT_EQUAL(b.uid, a.uid);
	CU_ASSERT_EQUAL(b.gid, a.gid);
	CU_ASSERT_EQUAL(b.nlink, a.nlink);
	CU_ASSERT_EQUAL(b.size, a.size);
	CU_ASSERT_EQUAL(b.atime.tv_sec, a.atime.tv_sec);
	CU_ASSERT_EQUAL(b.atime.tv_nsec, a.atime.tv_nsec);
	CU_ASSERT_EQUAL(b.mtime.tv_nsec, a.mtime.tv_nsec);
	CU_ASSERT_EQUAL(b.ctime.tv_sec, a.ctime.tv_sec);
	CU_ASSERT_EQUAL(b.rdev_major, a.rdev_major);
	CU_ASSERT_EQUAL(b.rdev_minor, a.rdev_minor);
	CU_ASSERT_EQUAL(b.change, a.change);
	CU_ASSERT_EQUAL(b.parent, a.parent);
	CU_ASSERT_EQUAL(b.generation, a.generation);
	CU_ASSERT_EQUAL(b.mtime.tv_sec, -5);
}

static void test_layout_is_little_endian(void)
{
	struct mcfs_attr a = sample();
	uint8_t buf[ATTR_PACKED_LEN];
	attr_pack(&a, buf);
	CU_ASSERT_EQUAL(buf[0], 1); /* version */
	CU_ASSERT_EQUAL(buf[1], MCFS_FILE);
	CU_ASSERT_EQUAL(buf[2], 0xed); /* 04755 low byte */
	CU_ASSERT_EQUAL(buf[3], 0x09);
	CU_ASSERT_EQUAL(buf[4], 0xe8); /* uid 1000 */
	CU_ASSERT_EQUAL(buf[5], 0x03);
}

static void test_rejects_garbage(void)
{
	struct mcfs_attr a = sample(), b;
	uint8_t buf[ATTR_PACKED_LEN];
	attr_pack(&a, buf);
	CU_ASSERT_EQUAL(attr_unpack(buf, sizeof(buf) - 1, 1, &b), -EINVAL);
	buf[0] = 2;
	CU_ASSERT_EQUAL(attr_unpack(buf, sizeof(buf), 1, &b), -EINVAL);
	buf[0] = 1;
	buf[1] = 0;
	CU_ASSERT_EQUAL(attr_unpack(buf, sizeof(buf), 1, &b), -EINVAL);
	buf[1] = 8;
	CU_ASSERT_EQUAL(attr_unpack(buf, sizeof(buf), 1, &b), -EINVAL);
}

static void test_space_used(void)
{
	struct mcfs_attr a = sample();
	a.size = 1;
	CU_ASSERT_EQUAL(attr_space_used(&a), 4096);
	a.size = 4096;
	CU_ASSERT_EQUAL(attr_space_used(&a), 4096);
	a.size = 0;
	CU_ASSERT_EQUAL(attr_space_used(&a), 0);
	a.type = MCFS_DIR;
	CU_ASSERT_EQUAL(attr_space_used(&a), 4096);
}

int main(void)
{
	static const struct test_case tests[] = {{"roundtrip", test_roundtrip},
						 {"little endian", test_layout_is_little_endian},
						 {"rejects garbage", test_rejects_garbage},
						 {"space used", test_space_used},
						 {NULL, NULL}};
	if (test_add_suite("attr", NULL, NULL, tests) < 0)
		return 1;
	return test_run_all();
}
