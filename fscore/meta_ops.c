#include "meta_ops.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

void args_init(struct meta_args *a)
{
	a->n = 0;
	a->packed_len = 0;
}

/* A list that outgrew its arrays is not sent short: it keeps n at
 * META_ARGS_OVERFLOW, which every eval refuses (-E2BIG). */
static bool args_room(struct meta_args *a)
{
	if (a->n >= 0 && a->n < META_ARGS_MAX)
		return true;
	a->n = META_ARGS_OVERFLOW;
	return false;
}

void args_bin(struct meta_args *a, const void *p, size_t len)
{
	if (!args_room(a))
		return;
	a->v[a->n] = p;
	a->len[a->n] = len;
	a->n++;
}

void args_str(struct meta_args *a, const char *s)
{
	args_bin(a, s, strlen(s));
}

void args_u64(struct meta_args *a, uint64_t x)
{
	if (!args_room(a))
		return;
	size_t n = resp_u64(a->num[a->n], x);
	args_bin(a, a->num[a->n], n);
}

static void pack_le(struct meta_args *a, uint64_t x, size_t n)
{
	if (a->packed_len + n > sizeof(a->packed)) {
		a->n = META_ARGS_OVERFLOW;
		return;
	}
	for (size_t i = 0; i < n; i++)
		a->packed[a->packed_len++] = (uint8_t)(x >> (8 * i));
}

void args_pack_u64(struct meta_args *a, uint64_t x)
{
	pack_le(a, x, 8);
}

void args_pack_u32(struct meta_args *a, uint32_t x)
{
	pack_le(a, x, 4);
}

void args_packed_end(struct meta_args *a)
{
	args_bin(a, a->packed, a->packed_len);
}

void args_i64(struct meta_args *a, int64_t x)
{
	if (!args_room(a))
		return;
	snprintf(a->num[a->n], sizeof(a->num[0]), "%" PRId64, x);
	args_str(a, a->num[a->n]);
}

void args_gids(struct meta_args *a, const struct mcfs_cred *c, char *gids_buf, size_t gids_len)
{
	size_t off = (size_t)snprintf(gids_buf, gids_len, "%u", c->gid);
	for (uint32_t i = 0; i < c->ngroups && i < MCFS_MAX_GROUPS && off < gids_len; i++)
		off += (size_t)snprintf(gids_buf + off, gids_len - off, ",%u", c->groups[i]);
	args_str(a, gids_buf);
}

void args_cred(struct meta_args *a, const struct mcfs_cred *c, char *gids_buf, size_t gids_len)
{
	args_u64(a, c->uid);
	args_gids(a, c, gids_buf, gids_len);
}

int reply_status(const redisReply *r)
{
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER)
		return -EIO;
	long long s = r->element[0]->integer;
	if (s < 0 || s > 4095)
		return -EIO;
	return -(int)s;
}

int reply_int(const redisReply *r, size_t i, int64_t *out)
{
	if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
		return -EIO;
	const redisReply *e = r->element[i];
	if (e->type == REDIS_REPLY_INTEGER) {
		*out = e->integer;
		return 0;
	}
	if (e->type == REDIS_REPLY_STRING) {
		char *end;
		errno = 0;
		long long v = strtoll(e->str, &end, 10);
		if (errno || *end)
			return -EIO;
		*out = v;
		return 0;
	}
	return -EIO;
}

int reply_attr(const redisReply *r, size_t i, mcfs_ino_t ino, struct mcfs_attr *out)
{
	if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
		return -EIO;
	const redisReply *e = r->element[i];
	if (e->type != REDIS_REPLY_STRING)
		return -EIO;
	return attr_unpack(e->str, e->len, ino, out) < 0 ? -EIO : 0;
}

const char *volume_key(char *buf, size_t len, const char *volume, const char *suffix)
{
	snprintf(buf, len, "{%s}:%s", volume, suffix);
	return buf;
}
