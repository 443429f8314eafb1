#include "reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coro.h"
#include "layout.h"
#include "log.h"
#include "vfs_impl.h"

/* Reads a whole block from one bucket into buf, verified against its length. */
static int fetch_from(struct objstore *os, const char *key, uint32_t block_len, uint8_t *buf)
{
	size_t got = 0;
	int r = objstore_get(os, key, buf, block_len, &got);
	if (r == -EFBIG || (r == 0 && got != block_len)) {
		log_error("block %s in %s has the wrong size (want %u bytes): not served", key,
			  objstore_describe(os), block_len);
		return -EIO;
	}
	return r;
}

/* The buckets to try, best first, without repeats (a meta-only region's
 * "local" bucket is the source's). */
static size_t bucket_order(struct vfs *v, uint64_t slice_id, uint16_t origin, struct objstore **out,
			   size_t max)
{
	struct objstore *origin_store = region_stores_get(v->stores, origin);
	bool local_first = origin == v->data_origin ||
			   slice_id < __atomic_load_n(&v->low_watermark, __ATOMIC_ACQUIRE);
	struct objstore *cand[2 + MCFS_MAX_REGIONS];
	size_t nc = 0;
	cand[nc++] = local_first ? v->store : origin_store;
	cand[nc++] = local_first ? origin_store : v->store;
	uint16_t idx[MCFS_MAX_REGIONS];
	size_t ni = region_stores_indexes(v->stores, idx, MCFS_MAX_REGIONS);
	for (size_t i = 0; i < ni; i++)
		cand[nc++] = region_stores_get(v->stores, idx[i]);
	size_t n = 0;
	for (size_t i = 0; i < nc && n < max; i++) {
		bool seen = !cand[i];
		for (size_t k = 0; k < n && !seen; k++)
			seen = out[k] == cand[i];
		if (!seen)
			out[n++] = cand[i];
	}
	return n;
}

/* Fetches a whole block into buf from the first bucket that has it intact;
 * *from is that bucket. */
static int fetch_block(struct vfs *v, uint64_t slice_id, uint16_t origin, const char *key,
		       uint32_t block_len, uint8_t *buf, struct objstore **from)
{
	struct objstore *order[2 + MCFS_MAX_REGIONS];
	size_t n = bucket_order(v, slice_id, origin, order, sizeof(order) / sizeof(order[0]));
	int r = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		r = fetch_from(order[i], key, block_len, buf);
		if (r == 0) {
			__atomic_add_fetch(order[i] == v->store ? &v->reads_local
								: &v->reads_remote,
					   1, __ATOMIC_RELAXED);
			*from = order[i];
			return 0;
		}
		if (r != -ENOENT && r != -EIO)
			log_warn("block %s: %s: %s; trying the next bucket", key,
				 objstore_describe(order[i]), strerror(-r));
	}
	log_error("block %s is in none of the volume's buckets (%zu tried)", key, n);
	return -EIO;
}

/* Caches a block fetched from os. owned: the cache takes buf (no copy). A
 * local bucket's blocks stay out of the disk tier, which is no closer. */
static void cache_block(struct vfs *v, struct objstore *os, const char *key, uint8_t *buf,
			uint32_t block_len, bool owned)
{
	bool to_disk = !objstore_is_local(os);
	if (!v->cache) {
		if (owned)
			free(buf);
	} else if (owned) {
		block_cache_adopt(v->cache, key, buf, block_len, to_disk);
	} else if (to_disk) {
		block_cache_put(v->cache, key, buf, block_len);
	} else {
		block_cache_put_mem(v->cache, key, buf, block_len);
	}
}

/* Reads from a local (file://) bucket take just their range, after checking
 * the object's size, and stay out of the block cache: the kernel's page
 * cache holds the bucket's files already, and reading and caching 4 MiB to
 * serve a random 4 KiB read costs more than the bucket's own pread. */
static int read_local_range(struct vfs *v, uint64_t slice_id, uint16_t origin, const char *key,
			    uint32_t block_len, uint32_t off, uint32_t len, uint8_t *dst)
{
	struct objstore *first = NULL;
	if (bucket_order(v, slice_id, origin, &first, 1) != 1 || !objstore_is_local(first))
		return -ENOENT;
	uint64_t size = 0;
	size_t got = 0;
	int r = objstore_get_range_sized(first, key, off, len, dst, &got, &size);
	if (r == 0 && size != block_len)
		r = -EIO; /* the whole-block path reports it and tries elsewhere */
	if (r == 0 && got != len)
		r = -EIO;
	if (r == 0)
		__atomic_add_fetch(first == v->store ? &v->reads_local : &v->reads_remote, 1,
				   __ATOMIC_RELAXED);
	return r;
}

bool reader_has_local_bucket(struct vfs *v)
{
	if (objstore_is_local(v->store))
		return true;
	uint16_t idx[MCFS_MAX_REGIONS];
	size_t n = region_stores_indexes(v->stores, idx, MCFS_MAX_REGIONS);
	for (size_t i = 0; i < n; i++)
		if (objstore_is_local(region_stores_get(v->stores, idx[i])))
			return true;
	return false;
}

int reader_open_block(struct vfs *v, uint64_t slice_id, uint16_t origin, uint32_t index,
		      uint32_t block_len, int *fd)
{
	struct objstore *first = NULL;
	if (bucket_order(v, slice_id, origin, &first, 1) != 1 || !objstore_is_local(first))
		return -EAGAIN;
	char key[256];
	layout_block_key(key, sizeof(key), v->vol.name, slice_id, index, block_len);
	uint64_t size = 0;
	int r = objstore_open_read(first, key, fd, &size);
	if (r == -EOPNOTSUPP)
		return -EAGAIN;
	if (r == 0 && size != block_len) {
		close(*fd);
		r = -EIO; /* the copying path reports it and tries the other buckets */
	}
	if (r == 0)
		__atomic_add_fetch(first == v->store ? &v->reads_local : &v->reads_remote, 1,
				   __ATOMIC_RELAXED);
	return r;
}

/* What a read that missed memory does: the disk tier, then the buckets;
 * blocking work, for the blocking pool when it comes from a coroutine. */
struct slow_read {
	struct vfs *v;
	uint64_t slice_id;
	uint16_t origin;
	const char *key;
	uint32_t block_len, off, len;
	uint8_t *dst;
	int r;
};

static void read_slow(void *arg)
{
	struct slow_read *s = arg;
	struct vfs *v = s->v;
	if (v->cache &&
	    block_cache_get_range(v->cache, s->key, s->block_len, s->off, s->len, s->dst) == 0) {
		__atomic_add_fetch(&v->reads_cached, 1, __ATOMIC_RELAXED);
		s->r = 0;
		return;
	}
	struct objstore *from = NULL;
	if (s->off == 0 && s->len == s->block_len) {
		s->r = fetch_block(v, s->slice_id, s->origin, s->key, s->block_len, s->dst, &from);
		if (s->r == 0)
			cache_block(v, from, s->key, s->dst, s->block_len, false);
		return;
	}
	/* Fetch the whole block: the rest is likely read next, from the cache. */
	uint8_t *buf = malloc(s->block_len);
	if (!buf) {
		s->r = -ENOMEM;
		return;
	}
	s->r = fetch_block(v, s->slice_id, s->origin, s->key, s->block_len, buf, &from);
	if (s->r < 0) {
		free(buf);
		return;
	}
	memcpy(s->dst, buf + s->off, s->len);
	cache_block(v, from, s->key, buf, s->block_len, true);
}

int reader_read_block(struct vfs *v, uint64_t slice_id, uint16_t origin, uint32_t index,
		      uint32_t block_len, uint32_t off, uint32_t len, uint8_t *dst)
{
	if ((uint64_t)off + len > block_len)
		return -EINVAL;
	char key[256];
	layout_block_key(key, sizeof(key), v->vol.name, slice_id, index, block_len);
	if (v->cache && block_cache_get_range_mem(v->cache, key, block_len, off, len, dst) == 0) {
		__atomic_add_fetch(&v->reads_cached, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (read_local_range(v, slice_id, origin, key, block_len, off, len, dst) == 0)
		return 0;
	struct slow_read s = {.v = v,
			      .slice_id = slice_id,
			      .origin = origin,
			      .key = key,
			      .block_len = block_len,
			      .off = off,
			      .len = len,
			      .dst = dst};
	coro_offload(read_slow, &s);
	return s.r;
}

struct prefetch_job {
	struct vfs *v;
	uint64_t slice_id;
	uint16_t origin;
	char key[256];
	uint32_t block_len;
};

static void prefetch_run(void *arg)
{
	struct prefetch_job *j = arg;
	if (!block_cache_contains(j->v->cache, j->key)) {
		uint8_t *buf = malloc(j->block_len);
		struct objstore *from = NULL;
		if (buf && fetch_block(j->v, j->slice_id, j->origin, j->key, j->block_len, buf,
				       &from) == 0)
			cache_block(j->v, from, j->key, buf, j->block_len, true);
		else
			free(buf);
	}
	free(j);
}

void reader_prefetch_block(struct vfs *v, uint64_t slice_id, uint16_t origin, uint32_t index,
			   uint32_t block_len)
{
	struct objstore *first = NULL;
	if (!v->cache ||
	    (bucket_order(v, slice_id, origin, &first, 1) == 1 && objstore_is_local(first)))
		return; /* a local bucket is read in place when it is time */
	struct prefetch_job *j = malloc(sizeof(*j));
	if (!j)
		return;
	j->v = v;
	j->slice_id = slice_id;
	j->origin = origin;
	j->block_len = block_len;
	layout_block_key(j->key, sizeof(j->key), v->vol.name, slice_id, index, block_len);
	if (block_cache_contains(v->cache, j->key) ||
	    workpool_submit(v->io_pool, prefetch_run, j) < 0)
		free(j);
}
