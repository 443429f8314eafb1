/* A formatted volume on real servers for integration tests: a redis-server,
 * a bucket (a temp directory, or s3rver), and an open vfs. */
#ifndef MCFS_TEST_FIXTURE_H
#define MCFS_TEST_FIXTURE_H

#include <stdbool.h>

#include "config.h"
#include "redis.h"
#include "s3rver.h"
#include "vfs.h"

struct fixture {
	struct redis_server redis;
	struct s3_server s3;
	bool use_s3;
	char *bucket_dir;
	char bucket_url[512];
	struct mcfs_config cfg;
	struct vfs *vfs;
};

/* Starts the servers and formats volume "test" (block size in bytes). */
int fixture_start(struct fixture *fx, bool use_s3, uint32_t block_size);
/* Opens (another) vfs on the fixture's volume. */
int fixture_open_vfs(struct fixture *fx, struct vfs **out);
void fixture_stop(struct fixture *fx);

/* Root credentials and an ordinary user's. */
extern const struct mcfs_cred ROOT_CRED;
extern const struct mcfs_cred USER_CRED;

/* Deterministic test data: byte at file offset off of stream `seed`. */
static inline uint8_t pattern_byte(uint64_t seed, uint64_t off)
{
	uint64_t x = (off / 8) * 0x9e3779b97f4a7c15ULL ^ seed * 0xd1b54a32d192ed03ULL;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 32;
	return (uint8_t)(x >> (8 * (off % 8)));
}
void pattern_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len);
/* Index of the first mismatching byte, or -1 if buf matches. */
long pattern_check(uint64_t seed, uint64_t off, const uint8_t *buf, size_t len);
/* Reads n files of len bytes written with pattern_fill(ino, 0, ...): how
 * many are not intact (each one named on stderr). */
int pattern_check_files(struct vfs *v, const mcfs_ino_t *inos, int n, size_t len);

#endif
