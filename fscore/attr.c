#include "attr.h"

#include <errno.h>
#include <string.h>

#define ATTR_VERSION 1

static uint64_t get_le(const uint8_t **p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)(*p)[i] << (8 * i);
	*p += n;
	return v;
}

static void put_le(uint8_t **p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		(*p)[i] = (uint8_t)(v >> (8 * i));
	*p += n;
}

static void get_time(const uint8_t **p, struct timespec *ts)
{
	ts->tv_sec = (time_t)(int64_t)get_le(p, 8);
	ts->tv_nsec = (long)get_le(p, 4);
}

static void put_time(uint8_t **p, const struct timespec *ts)
{
	put_le(p, (uint64_t)(int64_t)ts->tv_sec, 8);
	put_le(p, (uint64_t)ts->tv_nsec, 4);
}

int attr_unpack(const void *buf, size_t len, mcfs_ino_t ino, struct mcfs_attr *out)
{
	const uint8_t *p = buf;
	if (len != ATTR_PACKED_LEN || p[0] != ATTR_VERSION)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->ino = ino;
	p++;
	out->type = (uint8_t)get_le(&p, 1);
	out->mode = (uint16_t)get_le(&p, 2);
	out->uid = (uint32_t)get_le(&p, 4);
	out->gid = (uint32_t)get_le(&p, 4);
	out->nlink = (uint32_t)get_le(&p, 4);
	out->size = get_le(&p, 8);
	get_time(&p, &out->atime);
	get_time(&p, &out->mtime);
	get_time(&p, &out->ctime);
	out->rdev_major = (uint32_t)get_le(&p, 4);
	out->rdev_minor = (uint32_t)get_le(&p, 4);
	out->change = get_le(&p, 8);
	out->parent = get_le(&p, 8);
	out->generation = (uint32_t)get_le(&p, 4);
	if (out->type < MCFS_FILE || out->type > MCFS_SOCK)
		return -EINVAL;
	return 0;
}

void attr_pack(const struct mcfs_attr *a, uint8_t out[ATTR_PACKED_LEN])
{
	uint8_t *p = out;
	put_le(&p, ATTR_VERSION, 1);
	put_le(&p, a->type, 1);
	put_le(&p, a->mode, 2);
	put_le(&p, a->uid, 4);
	put_le(&p, a->gid, 4);
	put_le(&p, a->nlink, 4);
	put_le(&p, a->size, 8);
	put_time(&p, &a->atime);
	put_time(&p, &a->mtime);
	put_time(&p, &a->ctime);
	put_le(&p, a->rdev_major, 4);
	put_le(&p, a->rdev_minor, 4);
	put_le(&p, a->change, 8);
	put_le(&p, a->parent, 8);
	put_le(&p, a->generation, 4);
}

uint64_t attr_space_used(const struct mcfs_attr *a)
{
	if (a->type != MCFS_FILE)
		return 4096;
	return (a->size + 4095) / 4096 * 4096;
}
