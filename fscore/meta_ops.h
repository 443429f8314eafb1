/* Helpers shared by the modules that call metadata scripts: argument
 * building, reply decoding, and the key names of a volume. */
#ifndef MCFS_META_OPS_H
#define MCFS_META_OPS_H

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "attr.h"
#include "vfs.h"

/* An argument vector of at most 16 strings with their own storage for
 * numbers, and for one argument of numbers packed little-endian. */
#define META_ARGS_MAX	   16
#define META_ARGS_OVERFLOW (-1)
struct meta_args {
	int n; /* META_ARGS_OVERFLOW once more were added than fit */
	const char *v[META_ARGS_MAX];
	size_t len[META_ARGS_MAX];
	char num[META_ARGS_MAX][24];
	uint8_t packed[96];
	size_t packed_len;
};
void args_init(struct meta_args *a);
void args_str(struct meta_args *a, const char *s);
void args_bin(struct meta_args *a, const void *p, size_t len);
void args_u64(struct meta_args *a, uint64_t x);
void args_i64(struct meta_args *a, int64_t x);
/* Numbers packed into one argument (struct.unpack "<I8" and "<I4" in the
 * script), added by args_packed_end: a hot script then makes no string
 * into a number and Redis no string per number. */
void args_pack_u64(struct meta_args *a, uint64_t x);
void args_pack_u32(struct meta_args *a, uint32_t x);
void args_packed_end(struct meta_args *a);
/* "gid,gid,..." (primary group first), for the scripts' permission checks. */
void args_gids(struct meta_args *a, const struct mcfs_cred *c, char *gids_buf, size_t gids_len);
/* "uid" and "gid,gid,..." (primary group first). */
void args_cred(struct meta_args *a, const struct mcfs_cred *c, char *gids_buf, size_t gids_len);

/* Status of a script reply: element 0 as a negative errno (0 on success);
 * -EIO for a malformed reply. */
int reply_status(const redisReply *r);
/* Element i as an integer / as a packed attribute. */
int reply_int(const redisReply *r, size_t i, int64_t *out);
int reply_attr(const redisReply *r, size_t i, mcfs_ino_t ino, struct mcfs_attr *out);

/* Fills "{VOL}:<suffix>" into buf; returns buf. */
const char *volume_key(char *buf, size_t len, const char *volume, const char *suffix);

#endif
