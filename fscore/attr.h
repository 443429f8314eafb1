/* Inode attributes and their packed form in metadata (little endian, the
 * same layout the Lua scripts use: ATTR_FMT in lua/_common.lua). */
#ifndef MCFS_ATTR_H
#define MCFS_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum mcfs_ftype {
	MCFS_FILE = 1,
	MCFS_DIR = 2,
	MCFS_SYMLINK = 3,
	MCFS_CHR = 4,
	MCFS_BLK = 5,
	MCFS_FIFO = 6,
	MCFS_SOCK = 7,
};

typedef uint64_t mcfs_ino_t;
#define MCFS_ROOT_INO 1

/* For hash tables of inodes: numbers are handed out in ranges, so the low
 * bits alone would crowd a few buckets; a multiplicative hash spreads them. */
static inline uint64_t mcfs_ino_hash(mcfs_ino_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

struct mcfs_attr {
	mcfs_ino_t ino;
	uint8_t type;  /* enum mcfs_ftype */
	uint16_t mode; /* permission bits with suid/sgid/sticky (07777) */
	uint32_t uid, gid, nlink;
	uint64_t size;
	struct timespec atime, mtime, ctime;
	uint32_t rdev_major, rdev_minor;
	uint64_t change;   /* bumps on every change: NFSv4's change attribute */
	mcfs_ino_t parent; /* directories: the parent; others: the first parent */
	uint32_t generation;
	bool pending; /* not stored: writes buffered in this gateway are merged in */
};

#define ATTR_PACKED_LEN 88

/* Returns 0, or -EINVAL when buf is not a packed attribute of a known version. */
int attr_unpack(const void *buf, size_t len, mcfs_ino_t ino, struct mcfs_attr *out);
void attr_pack(const struct mcfs_attr *a, uint8_t out[ATTR_PACKED_LEN]);
/* Bytes the file occupies for statfs/space_used (4 KiB granules). */
uint64_t attr_space_used(const struct mcfs_attr *a);

#endif
