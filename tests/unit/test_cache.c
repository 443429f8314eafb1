/* Unit tests of the block cache (fscore/cache.c and its tiers). */
#include "cache.h"
#include "cache_impl.h"
#include "cunit_main.h"
#include "log.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR_SIZE 24 /* the disk file header, see cache_disk.c */

static char *base_dir;

static int suite_init(void)
{
	base_dir = test_tmpdir("cache");
	return base_dir ? 0 : -1;
}

static int suite_cleanup(void)
{
	if (base_dir)
		rm_rf(base_dir);
	free(base_dir);
	return 0;
}

/* A path under the suite's directory, unique per test; static storage. */
static const char *test_dir(const char *name)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", base_dir, name);
	return path;
}

static void fill(void *buf, size_t len, unsigned seed)
{
	unsigned char *p = buf;
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x = x * 1664525u + 1013904223u;
		p[i] = (unsigned char)(x >> 24);
	}
}

static struct block_cache *open_cache(uint64_t mem, const char *dir, uint64_t disk)
{
	struct block_cache_config cfg = {.mem_bytes = mem, .disk_dir = dir, .disk_bytes = disk};
	struct block_cache *bc = NULL;
	CU_ASSERT_FATAL(block_cache_open(&cfg, &bc) == 0);
	CU_ASSERT_FATAL(bc != NULL);
	return bc;
}

static struct block_cache_stats stats_of(struct block_cache *bc)
{
	struct block_cache_stats st;
	block_cache_stats(bc, &st);
	return st;
}

/* Where the disk tier keeps a key: DIR/xx/<sha256 hex>. */
static void disk_path(const char *dir, const char *key, char *out, size_t outlen)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];

	SHA256((const unsigned char *)key, strlen(key), d);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	snprintf(out, outlen, "%s/%.2s/%s", dir, hex, hex);
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char c;
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pread(fd, &c, 1, off) == 1);
	c ^= 0x40;
	CU_ASSERT_FATAL(pwrite(fd, &c, 1, off) == 1);
	close(fd);
}

/* Puts a block of len bytes with contents fill(seed). */
static void put_block(struct block_cache *bc, const char *key, size_t len, unsigned seed)
{
	char *buf = malloc(len ? len : 1);
	CU_ASSERT_FATAL(buf != NULL);
	fill(buf, len, seed);
	block_cache_put(bc, key, buf, len);
	free(buf);
}

/* True when key is cached with len bytes of contents fill(seed). */
static bool has_block(struct block_cache *bc, const char *key, size_t len, unsigned seed)
{
	char *want = malloc(len ? len : 1), *got = malloc(len ? len : 1);
	CU_ASSERT_FATAL(want && got);
	fill(want, len, seed);
	bool ok = block_cache_get(bc, key, got, len) == 0 && memcmp(want, got, len) == 0;
	free(want);
	free(got);
	return ok;
}

/* ------------------------------------------------------------ CRC */

static void test_crc32c(void)
{
	const char *check = "123456789";
	CU_ASSERT_EQUAL(crc32c(0, check, 9), 0xe3069283u);
	CU_ASSERT_EQUAL(crc32c_sw(0, check, 9), 0xe3069283u);
	CU_ASSERT_EQUAL(crc32c(0, NULL, 0), 0);

	unsigned char buf[1000];
	fill(buf, sizeof(buf), 7);
	for (size_t len = 0; len < sizeof(buf); len += 37) {
		uint32_t whole = crc32c_sw(0, buf, len);
		CU_ASSERT_EQUAL(crc32c(0, buf, len), whole);
		size_t cut = len / 3; /* chaining must equal one pass */
		CU_ASSERT_EQUAL(crc32c(crc32c(0, buf, cut), buf + cut, len - cut), whole);
		CU_ASSERT_EQUAL(crc32c_sw(crc32c_sw(0, buf, cut), buf + cut, len - cut), whole);
	}
}

/* ------------------------------------------------------------ memory tier */

static void test_mem_hit_miss(void)
{
	struct block_cache *bc = open_cache(1 << 20, NULL, 0);
	char buf[4096];

	CU_ASSERT_EQUAL(block_cache_get(bc, "vol/chunks/0/1/1_0_4096", buf, sizeof(buf)), -ENOENT);
	put_block(bc, "vol/chunks/0/1/1_0_4096", 4096, 1);
	CU_ASSERT_TRUE(has_block(bc, "vol/chunks/0/1/1_0_4096", 4096, 1));
	CU_ASSERT_TRUE(block_cache_contains(bc, "vol/chunks/0/1/1_0_4096"));
	CU_ASSERT_FALSE(block_cache_contains(bc, "vol/chunks/0/1/2_0_4096"));
	CU_ASSERT_EQUAL(block_cache_get(bc, "vol/chunks/0/1/2_0_4096", buf, sizeof(buf)), -ENOENT);

	put_block(bc, "vol/chunks/0/1/1_0_4096", 4096, 1); /* again: no double count */
	struct block_cache_stats st = stats_of(bc);
	CU_ASSERT_EQUAL(st.mem_hits, 1);
	CU_ASSERT_EQUAL(st.misses, 2);
	CU_ASSERT_EQUAL(st.disk_hits, 0);
	CU_ASSERT_EQUAL(st.mem_used, strlen("vol/chunks/0/1/1_0_4096") + 4096);
	CU_ASSERT_EQUAL(st.disk_used, 0);
	block_cache_close(bc);
}

static void test_mem_lru_order(void)
{
	const size_t len = 1000, cost = 3 + len; /* keys are 3 bytes */
	struct block_cache *bc = open_cache(3 * cost, NULL, 0);
	char buf[1000];

	put_block(bc, "k/a", len, 1);
	put_block(bc, "k/b", len, 2);
	put_block(bc, "k/c", len, 3);
	CU_ASSERT_EQUAL(block_cache_get(bc, "k/a", buf, len), 0); /* a is now newer than b */
	put_block(bc, "k/d", len, 4);
	CU_ASSERT_FALSE(block_cache_contains(bc, "k/b"));
	CU_ASSERT_TRUE(block_cache_contains(bc, "k/a"));
	CU_ASSERT_TRUE(block_cache_contains(bc, "k/c"));
	CU_ASSERT_TRUE(block_cache_contains(bc, "k/d"));

	CU_ASSERT_EQUAL(block_cache_get(bc, "k/c", buf, len), 0); /* order: a, d, c */
	put_block(bc, "k/e", len, 5);
	CU_ASSERT_FALSE(block_cache_contains(bc, "k/a"));
	put_block(bc, "k/f", len, 6);
	CU_ASSERT_FALSE(block_cache_contains(bc, "k/d"));
	CU_ASSERT_TRUE(has_block(bc, "k/c", len, 3));
	CU_ASSERT_TRUE(has_block(bc, "k/e", len, 5));
	CU_ASSERT_TRUE(has_block(bc, "k/f", len, 6));

	struct block_cache_stats st = stats_of(bc);
	CU_ASSERT_EQUAL(st.evictions, 3);
	CU_ASSERT_EQUAL(st.mem_used, 3 * cost);
	block_cache_close(bc);
}

static void test_mem_byte_bound(void)
{
	struct block_cache *bc = open_cache(10000, NULL, 0);

	for (unsigned i = 0; i < 200; i++) {
		char key[32];
		snprintf(key, sizeof(key), "vol/chunks/%u", i);
		put_block(bc, key, 100 + i * 13 % 900, i);
		CU_ASSERT(stats_of(bc).mem_used <= 10000);
	}
	CU_ASSERT_TRUE(has_block(bc, "vol/chunks/199", 100 + 199 * 13 % 900, 199));
	put_block(bc, "too/big", 10000, 1); /* key + data exceed the bound */
	CU_ASSERT_FALSE(block_cache_contains(bc, "too/big"));
	CU_ASSERT_TRUE(block_cache_contains(bc, "vol/chunks/199")); /* nothing evicted for it */
	block_cache_close(bc);
}

static void test_wrong_length_mem(void)
{
	struct block_cache *bc = open_cache(1 << 20, NULL, 0);
	char buf[200];

	put_block(bc, "k/len", 100, 9);
	CU_ASSERT_EQUAL(block_cache_get(bc, "k/len", buf, 99), -ENOENT);
	CU_ASSERT_EQUAL(block_cache_get(bc, "k/len", buf, 101), -ENOENT);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/len", 101, 0, 10, buf), -ENOENT);
	CU_ASSERT_TRUE(has_block(bc, "k/len", 100, 9));
	block_cache_close(bc);
}

static void test_zero_length_block(void)
{
	const char *dir = test_dir("zero");
	struct block_cache *bc = open_cache(1 << 20, dir, 1 << 20);
	char buf[1];

	block_cache_put(bc, "k/empty", buf, 0);
	CU_ASSERT_EQUAL(block_cache_get(bc, "k/empty", buf, 0), 0);
	CU_ASSERT_EQUAL(block_cache_get(bc, "k/empty", buf, 1), -ENOENT);
	block_cache_close(bc);

	bc = open_cache(0, dir, 1 << 20);
	CU_ASSERT_EQUAL(block_cache_get(bc, "k/empty", buf, 0), 0);
	CU_ASSERT_EQUAL(stats_of(bc).disk_hits, 1);
	block_cache_close(bc);
}

/* ------------------------------------------------------------ disk tier */

static void test_disk_persist(void)
{
	const char *dir = test_dir("persist");
	struct block_cache *bc = open_cache(0, dir, 1 << 20);

	for (unsigned i = 0; i < 10; i++) {
		char key[32];
		snprintf(key, sizeof(key), "vol/chunks/0/%u", i);
		put_block(bc, key, 5000 + i, i);
	}
	uint64_t used = stats_of(bc).disk_used;
	CU_ASSERT_EQUAL(used, 10 * (HDR_SIZE + 14) + 10 * 5000 + 45);
	block_cache_close(bc);

	bc = open_cache(0, dir, 1 << 20);
	CU_ASSERT_EQUAL(stats_of(bc).disk_used, used);
	for (unsigned i = 0; i < 10; i++) {
		char key[32];
		snprintf(key, sizeof(key), "vol/chunks/0/%u", i);
		CU_ASSERT_TRUE(block_cache_contains(bc, key));
		CU_ASSERT_TRUE(has_block(bc, key, 5000 + i, i));
	}
	struct block_cache_stats st = stats_of(bc);
	CU_ASSERT_EQUAL(st.disk_hits, 10);
	CU_ASSERT_EQUAL(st.mem_hits, 0);
	CU_ASSERT_EQUAL(st.mem_used, 0);
	block_cache_close(bc);
}

static void test_disk_promotes(void)
{
	const char *dir = test_dir("promote");
	struct block_cache *bc = open_cache(1 << 20, dir, 1 << 20);
	put_block(bc, "k/p", 3000, 5);
	block_cache_close(bc);

	bc = open_cache(1 << 20, dir, 1 << 20);
	CU_ASSERT_TRUE(has_block(bc, "k/p", 3000, 5));
	CU_ASSERT_TRUE(has_block(bc, "k/p", 3000, 5));
	struct block_cache_stats st = stats_of(bc);
	CU_ASSERT_EQUAL(st.disk_hits, 1);
	CU_ASSERT_EQUAL(st.mem_hits, 1);
	CU_ASSERT_EQUAL(st.mem_used, 3 + 3000);
	block_cache_close(bc);
}

static void test_disk_wrong_length(void)
{
	const char *dir = test_dir("wronglen");
	struct block_cache *bc = open_cache(0, dir, 1 << 20);
	char path[600], buf[300];

	put_block(bc, "k/w", 200, 3);
	disk_path(dir, "k/w", path, sizeof(path));
	CU_ASSERT_EQUAL(block_cache_get(bc, "k/w", buf, 199), -ENOENT);
	CU_ASSERT_EQUAL(block_cache_get(bc, "k/w", buf, 201), -ENOENT);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/w", 250, 0, 10, buf), -ENOENT);
	/* A sound file asked for with the wrong size is kept. */
	CU_ASSERT_TRUE(file_exists(path));
	CU_ASSERT_TRUE(has_block(bc, "k/w", 200, 3));
	CU_ASSERT_EQUAL(stats_of(bc).misses, 3);
	block_cache_close(bc);
}

/* Damages one byte at off of k/x's file and checks the next get drops it. */
static void check_corruption(const char *name, off_t off, bool reopen)
{
	const char *dir = test_dir(name);
	struct block_cache *bc = open_cache(0, dir, 1 << 20);
	char path[600], buf[4000];

	put_block(bc, "k/x", 4000, 11);
	put_block(bc, "k/y", 4000, 12);
	disk_path(dir, "k/x", path, sizeof(path));
	CU_ASSERT_FATAL(file_exists(path));
	if (reopen) {
		block_cache_close(bc);
		flip_byte(path, off);
		bc = open_cache(0, dir, 1 << 20);
	} else {
		flip_byte(path, off);
	}
	CU_ASSERT_EQUAL(block_cache_get(bc, "k/x", buf, sizeof(buf)), -ENOENT);
	CU_ASSERT_FALSE(file_exists(path));
	CU_ASSERT_FALSE(block_cache_contains(bc, "k/x"));
	CU_ASSERT_TRUE(has_block(bc, "k/y", 4000, 12));
	CU_ASSERT_EQUAL(stats_of(bc).disk_used, HDR_SIZE + 3 + 4000);
	block_cache_close(bc);
}

static void test_disk_corrupt_data(void)
{
	check_corruption("corrupt-data", HDR_SIZE + 3 + 1234, true);
	check_corruption("corrupt-data-live", HDR_SIZE + 3 + 3999, false);
}

static void test_disk_corrupt_header(void)
{
	check_corruption("corrupt-magic", 0, true);
	check_corruption("corrupt-len", 9, true);
	check_corruption("corrupt-crc", 17, false);
	check_corruption("corrupt-key", HDR_SIZE + 1, true);
}

static void test_disk_truncated(void)
{
	const char *dir = test_dir("truncated");
	struct block_cache *bc = open_cache(0, dir, 1 << 20);
	char path[600], path2[600], buf[4000];

	put_block(bc, "k/t", 4000, 1);
	put_block(bc, "k/tiny", 4000, 2);
	disk_path(dir, "k/t", path, sizeof(path));
	disk_path(dir, "k/tiny", path2, sizeof(path2));
	block_cache_close(bc);
	CU_ASSERT_FATAL(truncate(path, HDR_SIZE + 3 + 3999) == 0);
	CU_ASSERT_FATAL(truncate(path2, 10) == 0);

	bc = open_cache(0, dir, 1 << 20);
	CU_ASSERT_FALSE(file_exists(path2)); /* too short for a header: gone at open */
	CU_ASSERT_FALSE(block_cache_contains(bc, "k/tiny"));
	CU_ASSERT_EQUAL(block_cache_get(bc, "k/t", buf, 4000), -ENOENT);
	CU_ASSERT_FALSE(file_exists(path));
	CU_ASSERT_EQUAL(stats_of(bc).disk_used, 0);

	/* Truncated while open, asked for by range. */
	put_block(bc, "k/t", 4000, 1);
	CU_ASSERT_FATAL(truncate(path, 100) == 0);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/t", 4000, 0, 10, buf), -ENOENT);
	CU_ASSERT_FALSE(file_exists(path));
	block_cache_close(bc);
}

static void test_disk_bound(void)
{
	const char *dir = test_dir("bound");
	const uint64_t fsize = HDR_SIZE + 4 + 1000; /* keys "k/NN" */
	struct block_cache *bc = open_cache(0, dir, 5 * fsize + 10);

	for (unsigned i = 0; i < 12; i++) {
		char key[8];
		snprintf(key, sizeof(key), "k/%02u", i);
		put_block(bc, key, 1000, i);
		CU_ASSERT(stats_of(bc).disk_used <= 5 * fsize + 10);
	}
	struct block_cache_stats st = stats_of(bc);
	CU_ASSERT_EQUAL(st.disk_used, 5 * fsize);
	CU_ASSERT_EQUAL(st.evictions, 7);
	for (unsigned i = 0; i < 12; i++) {
		char key[8], path[600];
		snprintf(key, sizeof(key), "k/%02u", i);
		disk_path(dir, key, path, sizeof(path));
		CU_ASSERT_EQUAL(file_exists(path), i >= 7);
		CU_ASSERT_EQUAL(block_cache_contains(bc, key), i >= 7);
	}
	put_block(bc, "k/huge", 6 * 1000, 1); /* larger than the whole bound */
	CU_ASSERT_FALSE(block_cache_contains(bc, "k/huge"));
	CU_ASSERT_EQUAL(stats_of(bc).disk_used, 5 * fsize);
	block_cache_close(bc);

	/* A smaller bound on reopen evicts down to it. */
	bc = open_cache(0, dir, 2 * fsize);
	CU_ASSERT_EQUAL(stats_of(bc).disk_used, 2 * fsize);
	block_cache_close(bc);
}

static void set_mtime(const char *dir, const char *key, time_t sec)
{
	char path[600];
	struct timespec ts[2] = {{.tv_sec = sec}, {.tv_sec = sec}};
	disk_path(dir, key, path, sizeof(path));
	CU_ASSERT_FATAL(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

static void test_disk_lru_by_mtime(void)
{
	const char *dir = test_dir("mtime");
	const uint64_t fsize = HDR_SIZE + 3 + 500;
	struct block_cache *bc = open_cache(0, dir, 10 * fsize);

	put_block(bc, "k/a", 500, 1);
	put_block(bc, "k/b", 500, 2);
	put_block(bc, "k/c", 500, 3);
	block_cache_close(bc);
	set_mtime(dir, "k/a", 3000);
	set_mtime(dir, "k/b", 1000);
	set_mtime(dir, "k/c", 2000);

	/* b is oldest, then c: with room for three, adding d evicts b. */
	bc = open_cache(0, dir, 3 * fsize);
	put_block(bc, "k/d", 500, 4);
	CU_ASSERT_FALSE(block_cache_contains(bc, "k/b"));
	/* A hit refreshes c, so the next eviction takes a. */
	CU_ASSERT_TRUE(has_block(bc, "k/c", 500, 3));
	put_block(bc, "k/e", 500, 5);
	CU_ASSERT_FALSE(block_cache_contains(bc, "k/a"));
	CU_ASSERT_TRUE(block_cache_contains(bc, "k/c"));
	block_cache_close(bc);
}

static void test_disk_cleans_temporaries(void)
{
	const char *dir = test_dir("tmpfiles");
	char tmp[600], other[600];

	struct block_cache *bc = open_cache(0, dir, 1 << 20);
	put_block(bc, "k/keep", 100, 1);
	block_cache_close(bc);

	snprintf(tmp, sizeof(tmp), "%s/00/.tmp.1f", dir);
	snprintf(other, sizeof(other), "%s/notes.txt", dir);
	int fd = open(tmp, O_WRONLY | O_CREAT, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, "half", 4) == 4);
	close(fd);
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);

	bc = open_cache(0, dir, 1 << 20);
	CU_ASSERT_FALSE(file_exists(tmp));
	CU_ASSERT_TRUE(file_exists(other)); /* not ours: left alone */
	CU_ASSERT_TRUE(has_block(bc, "k/keep", 100, 1));
	CU_ASSERT_EQUAL(stats_of(bc).disk_used, HDR_SIZE + 6 + 100);
	block_cache_close(bc);
}

static void test_disk_dir_busy(void)
{
	const char *dir = test_dir("busy");
	struct block_cache_config cfg = {.disk_dir = dir, .disk_bytes = 1 << 20};
	struct block_cache *a = NULL, *b = NULL;

	CU_ASSERT_FATAL(block_cache_open(&cfg, &a) == 0);
	CU_ASSERT_EQUAL(block_cache_open(&cfg, &b), -EBUSY);
	CU_ASSERT_PTR_NULL(b);
	block_cache_close(a);
	CU_ASSERT_EQUAL(block_cache_open(&cfg, &b), 0);
	block_cache_close(b);
}

static void test_disk_long_key(void)
{
	const char *dir = test_dir("longkey");
	struct block_cache *bc = open_cache(1 << 20, dir, 1 << 20);
	char key[CACHE_KEY_MAX + 2];

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	put_block(bc, key, 100, 1);
	CU_ASSERT_FALSE(block_cache_contains(bc, key));
	CU_ASSERT_EQUAL(stats_of(bc).disk_used, 0);
	key[CACHE_KEY_MAX] = '\0'; /* the longest key that is cached */
	put_block(bc, key, 100, 1);
	CU_ASSERT_EQUAL(stats_of(bc).disk_used, HDR_SIZE + CACHE_KEY_MAX + 100);
	block_cache_close(bc);
	bc = open_cache(0, dir, 1 << 20);
	CU_ASSERT_TRUE(has_block(bc, key, 100, 1));
	block_cache_close(bc);
}

/* ------------------------------------------------------------ get_range */

/* Reads every edge case of a 1000-byte block k/r filled with seed 21: seven
 * hits and two misses. */
static void check_ranges(struct block_cache *bc)
{
	char want[1000], got[1000];
	fill(want, sizeof(want), 21);

	memset(got, 0, sizeof(got));
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 1000, 0, 1000, got), 0);
	CU_ASSERT_EQUAL(memcmp(got, want, 1000), 0);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 1000, 0, 1, got), 0);
	CU_ASSERT_EQUAL(got[0], want[0]);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 1000, 999, 1, got), 0);
	CU_ASSERT_EQUAL(got[0], want[999]);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 1000, 300, 400, got), 0);
	CU_ASSERT_EQUAL(memcmp(got, want + 300, 400), 0);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 1000, 1000, 0, got), 0);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 1000, 0, 0, got), 0);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 1000, 500, 0, NULL), 0);

	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 1000, 999, 2, got), -EINVAL);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 1000, 1001, 0, got), -EINVAL);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 1000, 1, SIZE_MAX, got), -EINVAL);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 999, 0, 10, got), -ENOENT);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/none", 1000, 0, 10, got), -ENOENT);
}

static void test_range_mem(void)
{
	struct block_cache *bc = open_cache(1 << 20, NULL, 0);
	put_block(bc, "k/r", 1000, 21);
	check_ranges(bc);
	CU_ASSERT_EQUAL(stats_of(bc).mem_hits, 7);
	block_cache_close(bc);
}

static void test_range_disk_only(void)
{
	const char *dir = test_dir("range-disk");
	struct block_cache *bc = open_cache(0, dir, 1 << 20);
	put_block(bc, "k/r", 1000, 21);
	check_ranges(bc); /* first read verifies, the later ones trust */
	CU_ASSERT_EQUAL(stats_of(bc).disk_hits, 7);
	block_cache_close(bc);

	bc = open_cache(0, dir, 1 << 20);
	check_ranges(bc);
	block_cache_close(bc);

	/* Damage found by the first (verifying) partial read after open. */
	char path[600], buf[10];
	disk_path(dir, "k/r", path, sizeof(path));
	flip_byte(path, HDR_SIZE + 3 + 900);
	bc = open_cache(0, dir, 1 << 20);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 1000, 0, 10, buf), -ENOENT);
	CU_ASSERT_FALSE(file_exists(path));
	block_cache_close(bc);
}

static void test_range_promotes(void)
{
	const char *dir = test_dir("range-promote");
	struct block_cache *bc = open_cache(0, dir, 1 << 20);
	put_block(bc, "k/r", 1000, 21);
	block_cache_close(bc);

	bc = open_cache(1 << 20, dir, 1 << 20);
	check_ranges(bc);
	struct block_cache_stats st = stats_of(bc);
	CU_ASSERT_EQUAL(st.disk_hits, 1);
	CU_ASSERT_EQUAL(st.mem_hits, 6);
	CU_ASSERT_EQUAL(st.misses, 2);
	CU_ASSERT_EQUAL(st.mem_used, 3 + 1000);
	block_cache_close(bc);

	/* A damaged file is not promoted. */
	char path[600], buf[10];
	disk_path(dir, "k/r", path, sizeof(path));
	flip_byte(path, HDR_SIZE + 3 + 5);
	bc = open_cache(1 << 20, dir, 1 << 20);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/r", 1000, 500, 10, buf), -ENOENT);
	CU_ASSERT_FALSE(file_exists(path));
	CU_ASSERT_EQUAL(stats_of(bc).mem_used, 0);
	block_cache_close(bc);
}

/* Blocks k/s0..k/s<n-1> of 1000 bytes, on disk only. */
static void put_disk_blocks(const char *dir, int n)
{
	struct block_cache *bc = open_cache(0, dir, 1 << 20);
	for (int i = 0; i < n; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k/s%d", i);
		put_block(bc, key, 1000, 100 + (unsigned)i);
	}
	block_cache_close(bc);
}

/* A sequential read (from offset 0) of block k/s<i>: its right bytes. */
static bool read_start(struct block_cache *bc, int i)
{
	char key[16], want[100], got[100];
	snprintf(key, sizeof(key), "k/s%d", i);
	char block[1000];
	fill(block, sizeof(block), 100 + (unsigned)i);
	memcpy(want, block, sizeof(want));
	return block_cache_get_range(bc, key, 1000, 0, sizeof(got), got) == 0 &&
	       memcmp(want, got, sizeof(got)) == 0;
}

static bool in_memory(struct block_cache *bc, const char *key)
{
	char buf[10];
	return block_cache_get_range_mem(bc, key, 1000, 0, sizeof(buf), buf) == 0;
}

/* The cache on dir with a memory tier that holds two blocks (k/m0, k/m1)
 * and is full. */
static struct block_cache *open_full_cache(const char *dir)
{
	struct block_cache *bc = open_cache(2 * (1000 + 4), dir, 1 << 20);
	put_block(bc, "k/m0", 1000, 1);
	put_block(bc, "k/m1", 1000, 2);
	return bc;
}

/* Memory holds two blocks and is full: scanning eight disk blocks twice
 * reads them all from disk and evicts nothing. */
static void test_scan_not_cycled(void)
{
	const char *dir = test_dir("scan");
	put_disk_blocks(dir, 8);
	struct block_cache *bc = open_full_cache(dir);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 8; i++)
			CU_ASSERT(read_start(bc, i));
	struct block_cache_stats st = stats_of(bc);
	CU_ASSERT_EQUAL(st.evictions, 0);
	CU_ASSERT_EQUAL(st.disk_hits, 16);
	CU_ASSERT(in_memory(bc, "k/m0"));
	CU_ASSERT(in_memory(bc, "k/m1"));
	CU_ASSERT_FALSE(in_memory(bc, "k/s0"));
	block_cache_close(bc);
}

/* With memory full, a block read from disk is passed over the first time
 * and promoted when it comes back soon; with room, it is promoted at once. */
static void test_reread_promoted(void)
{
	const char *dir = test_dir("reread");
	put_disk_blocks(dir, 2);
	struct block_cache *bc = open_full_cache(dir);
	CU_ASSERT(read_start(bc, 0));
	CU_ASSERT_FALSE(in_memory(bc, "k/s0"));
	CU_ASSERT(read_start(bc, 0));
	CU_ASSERT(in_memory(bc, "k/s0"));
	CU_ASSERT_EQUAL(stats_of(bc).evictions, 1);
	CU_ASSERT_FALSE(in_memory(bc, "k/m0")); /* the least recently used */
	block_cache_close(bc);

	bc = open_cache(2 * (1000 + 4), dir, 1 << 20);
	CU_ASSERT(read_start(bc, 1));
	CU_ASSERT(in_memory(bc, "k/s1"));
	block_cache_close(bc);
}

/* ------------------------------------------------------------ configurations */

static void test_disabled(void)
{
	struct block_cache *bc = open_cache(0, NULL, 0);
	char buf[100];

	put_block(bc, "k/a", 100, 1);
	CU_ASSERT_EQUAL(block_cache_get(bc, "k/a", buf, 100), -ENOENT);
	CU_ASSERT_EQUAL(block_cache_get_range(bc, "k/a", 100, 0, 10, buf), -ENOENT);
	CU_ASSERT_FALSE(block_cache_contains(bc, "k/a"));
	struct block_cache_stats st = stats_of(bc);
	CU_ASSERT_EQUAL(st.misses, 2);
	CU_ASSERT_EQUAL(st.mem_used + st.disk_used + st.mem_hits + st.disk_hits + st.evictions, 0);
	block_cache_close(bc);
}

static void test_mem_only_and_disk_only(void)
{
	const char *dir = test_dir("only");
	struct block_cache *bc = open_cache(1 << 20, NULL, 1 << 20);
	put_block(bc, "k/m", 100, 1);
	CU_ASSERT_EQUAL(stats_of(bc).disk_used, 0);
	block_cache_close(bc);

	bc = open_cache(0, dir, 1 << 20);
	put_block(bc, "k/d", 100, 2);
	CU_ASSERT_TRUE(has_block(bc, "k/d", 100, 2));
	struct block_cache_stats st = stats_of(bc);
	CU_ASSERT_EQUAL(st.mem_used, 0);
	CU_ASSERT_EQUAL(st.disk_hits, 1);
	block_cache_close(bc);
}

static void test_bad_args(void)
{
	struct block_cache *bc = NULL;
	struct block_cache_config cfg = {.mem_bytes = 1 << 20};
	char buf[10];

	CU_ASSERT_EQUAL(block_cache_open(NULL, &bc), -EINVAL);
	CU_ASSERT_EQUAL(block_cache_get(NULL, "k", buf, 10), -ENOENT);
	CU_ASSERT_FALSE(block_cache_contains(NULL, "k"));
	block_cache_put(NULL, "k", buf, 10);
	block_cache_close(NULL);

	cfg.disk_dir = "/proc/mcfs-cannot-exist/cache";
	cfg.disk_bytes = 1 << 20;
	CU_ASSERT(block_cache_open(&cfg, &bc) < 0);
}

/* ------------------------------------------------------------ threads */

#define NTHREADS 8
#define NKEYS	 64
#define NOPS	 3000

struct worker {
	struct block_cache *bc;
	unsigned id;
	unsigned bad;
	unsigned hits;
};

static size_t key_len(unsigned k)
{
	return 2000 + k * 97;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char *want = malloc(key_len(NKEYS)), *got = malloc(key_len(NKEYS));
	uint32_t x = w->id * 7919 + 1;

	for (unsigned i = 0; want && got && i < NOPS; i++) {
		x = x * 1664525u + 1013904223u;
		unsigned k = (x >> 8) % NKEYS, op = (x >> 20) % 4;
		size_t len = key_len(k);
		char key[64];
		snprintf(key, sizeof(key), "vol/chunks/0/%u/%u_0_%zu", k % 3, k, len);
		fill(want, len, k);
		if (op == 0) {
			block_cache_put(w->bc, key, want, len);
		} else if (op == 1) {
			size_t off = (x >> 4) % len, n = len - off < 300 ? len - off : 300;
			if (block_cache_get_range(w->bc, key, len, off, n, got) == 0) {
				w->hits++;
				w->bad += memcmp(got, want + off, n) != 0;
			}
		} else if (block_cache_get(w->bc, key, got, len) == 0) {
			w->hits++;
			w->bad += memcmp(got, want, len) != 0;
		}
	}
	w->bad += !want || !got;
	free(want);
	free(got);
	return NULL;
}

static void run_threads(struct block_cache *bc)
{
	pthread_t th[NTHREADS];
	struct worker w[NTHREADS];
	unsigned hits = 0;

	for (unsigned i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){.bc = bc, .id = i};
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
	}
	for (unsigned i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(w[i].bad, 0);
		hits += w[i].hits;
	}
	CU_ASSERT(hits > 0);
}

static void test_concurrent(void)
{
	const char *dir = test_dir("threads");
	/* Bounds that hold about a third of the keys force steady eviction. */
	struct block_cache *bc = open_cache(20 * 5000, dir, 25 * 5000);
	run_threads(bc);
	struct block_cache_stats st = stats_of(bc);
	CU_ASSERT(st.mem_used <= 20 * 5000);
	CU_ASSERT(st.disk_used <= 25 * 5000);
	CU_ASSERT(st.evictions > 0);
	block_cache_close(bc);

	/* The index rebuilt from disk must match what the run left behind. */
	bc = open_cache(0, dir, 25 * 5000);
	CU_ASSERT_EQUAL(stats_of(bc).disk_used, st.disk_used);
	run_threads(bc);
	block_cache_close(bc);
}

static void test_concurrent_mem_only(void)
{
	struct block_cache *bc = open_cache(20 * 5000, NULL, 0);
	run_threads(bc);
	CU_ASSERT(stats_of(bc).mem_used <= 20 * 5000);
	block_cache_close(bc);
}

int main(void)
{
	log_init("test_cache", LOG_LVL_WARN, false);
	static const struct test_case tests[] = {
	    {"crc32c", test_crc32c},
	    {"mem_hit_miss", test_mem_hit_miss},
	    {"mem_lru_order", test_mem_lru_order},
	    {"mem_byte_bound", test_mem_byte_bound},
	    {"wrong_length_mem", test_wrong_length_mem},
	    {"zero_length_block", test_zero_length_block},
	    {"disk_persist", test_disk_persist},
	    {"disk_promotes", test_disk_promotes},
	    {"disk_wrong_length", test_disk_wrong_length},
	    {"disk_corrupt_data", test_disk_corrupt_data},
	    {"disk_corrupt_header", test_disk_corrupt_header},
	    {"disk_truncated", test_disk_truncated},
	    {"disk_bound", test_disk_bound},
	    {"disk_lru_by_mtime", test_disk_lru_by_mtime},
	    {"disk_cleans_temporaries", test_disk_cleans_temporaries},
	    {"disk_dir_busy", test_disk_dir_busy},
	    {"disk_long_key", test_disk_long_key},
	    {"range_mem", test_range_mem},
	    {"range_disk_only", test_range_disk_only},
	    {"range_promotes", test_range_promotes},
	    {"scan_not_cycled", test_scan_not_cycled},
	    {"reread_promoted", test_reread_promoted},
	    {"disabled", test_disabled},
	    {"mem_only_and_disk_only", test_mem_only_and_disk_only},
	    {"bad_args", test_bad_args},
	    {"concurrent", test_concurrent},
	    {"concurrent_mem_only", test_concurrent_mem_only},
	    {NULL, NULL},
	};
	if (test_add_suite("cache", suite_init, suite_cleanup, tests) != 0)
		return 1;
	return test_run_all();
}
