#include "reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "log.h"
#include "vfs_impl.h"

/* Fetches a whole block from the bucket into buf (block_len bytes), verified. */
static int fetch_block(struct vfs *v, const char *key, uint32_t block_len, uint8_t *buf)
{
	size_t got = 0;
	int r = objstore_get(v->store, key, buf, block_len, &got);
	if (r == -EFBIG || (r == 0 && got != block_len)) {
		log_error("block %s has the wrong size (want %u bytes): not served", key, block_len);
		return -EIO;
	}
	if (r == -ENOENT) {
		log_error("block %s is missing from %s", key, objstore_describe(v->store));
		return -EIO;
	}
	if (r == 0 && v->cache)
		block_cache_put(v->cache, key, buf, block_len);
	return r;
}

int reader_read_block(struct vfs *v, uint64_t slice_id, uint32_t index, uint32_t block_len,
		      uint32_t off, uint32_t len, uint8_t *dst)
{
	if ((uint64_t)off + len > block_len)
		return -EINVAL;
	char key[256];
	layout_block_key(key, sizeof(key), v->vol.name, slice_id, index, block_len);
	if (v->cache && block_cache_get_range(v->cache, key, block_len, off, len, dst) == 0)
		return 0;
	if (off == 0 && len == block_len)
		return fetch_block(v, key, block_len, dst);
	/* Fetch the whole block: the rest is likely read next and goes to the cache. */
	uint8_t *buf = malloc(block_len);
	if (!buf)
		return -ENOMEM;
	int r = fetch_block(v, key, block_len, buf);
	if (r == 0)
		memcpy(dst, buf + off, len);
	free(buf);
	return r;
}

struct prefetch_job {
	struct vfs *v;
	char key[256];
	uint32_t block_len;
};

static void prefetch_run(void *arg)
{
	struct prefetch_job *j = arg;
	if (!block_cache_contains(j->v->cache, j->key)) {
		uint8_t *buf = malloc(j->block_len);
		if (buf)
			fetch_block(j->v, j->key, j->block_len, buf);
		free(buf);
	}
	free(j);
}

void reader_prefetch_block(struct vfs *v, uint64_t slice_id, uint32_t index, uint32_t block_len)
{
	if (!v->cache)
		return;
	struct prefetch_job *j = malloc(sizeof(*j));
	if (!j)
		return;
	j->v = v;
	j->block_len = block_len;
	layout_block_key(j->key, sizeof(j->key), v->vol.name, slice_id, index, block_len);
	if (block_cache_contains(v->cache, j->key) || workpool_submit(v->io_pool, prefetch_run, j) < 0)
		free(j);
}
