/* Copying blocks between region buckets; see repl_copy.h. */
#include "repl_copy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "region.h"

static const struct region_info *by_index(const struct region_info *r, size_t n, uint16_t index)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].index == index)
			return &r[i];
	return NULL;
}

/* The URL of the bucket holding a region's blocks. */
static const char *bucket_of(const struct region_info *r, size_t n, const char *source,
			     const struct region_info *region)
{
	if (region->bucket[0])
		return region->bucket;
	const struct region_info *s = region_find(r, n, source);
	return s ? s->bucket : "";
}

static bool listed(const struct region_info *r, size_t n, const struct repl_plan *p,
		   const char *url)
{
	for (size_t i = 0; i < p->nsources; i++) {
		const struct region_info *s = by_index(r, n, p->sources[i]);
		if (s && strcmp(s->bucket, url) == 0)
			return true;
	}
	return false;
}

int repl_plan_sources(const struct region_info *regions, size_t n, const char *source_region,
		      uint16_t origin, uint16_t target, struct repl_plan *out)
{
	out->nsources = 0;
	const struct region_info *t = by_index(regions, n, target);
	if (!t || !t->bucket[0])
		return -EINVAL;
	const struct region_info *o = by_index(regions, n, origin);
	const char *origin_url = o ? bucket_of(regions, n, source_region, o) : "";
	if (o && strcmp(origin_url, t->bucket) == 0)
		return 1;
	if (o && origin_url[0])
		out->sources[out->nsources++] = o->index;
	for (size_t i = 0; i < n && out->nsources < MCFS_MAX_REGIONS; i++) {
		const struct region_info *r = &regions[i];
		if (!r->bucket[0] || r->index == target || strcmp(r->bucket, t->bucket) == 0 ||
		    strcmp(r->bucket, origin_url) == 0 || listed(regions, n, out, r->bucket))
			continue;
		out->sources[out->nsources++] = r->index;
	}
	return 0;
}

/* Reads the block whole from the first source that has it. 0 with the data
 * in buf, REPL_MISSING when no source has it, or the error that kept some
 * source from answering (the block may be there). */
static int fetch(const struct repl_copier *c, const struct repl_plan *plan, const char *key,
		 uint32_t len, void *buf)
{
	int fault = 0;
	for (size_t i = 0; i < plan->nsources; i++) {
		struct objstore *src = region_stores_get(c->stores, plan->sources[i]);
		if (!src) {
			fault = -EHOSTUNREACH;
			continue;
		}
		size_t got = 0;
		int r = objstore_get(src, key, buf, len, &got);
		if (r == 0 && got == len)
			return 0;
		if (r == 0 || r == -EFBIG)
			log_warn("block %s has the wrong size in %s: not copied from there", key,
				 objstore_describe(src));
		else if (r != -ENOENT)
			fault = r;
	}
	return fault ? fault : REPL_MISSING;
}

static int copy_once(const struct repl_copier *c, struct objstore *dst,
		     const struct repl_plan *plan, const char *key, uint32_t len, bool ask_first)
{
	uint64_t have = 0;
	int r = ask_first ? objstore_head(dst, key, &have) : -ENOENT;
	if (r == 0 && have == len)
		return REPL_PRESENT;
	if (r < 0 && r != -ENOENT)
		return r;
	void *buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	r = fetch(c, plan, key, len, buf);
	if (r == 0) {
		repl_limit_take(c->limit, len);
		r = objstore_put(dst, key, buf, len);
	}
	free(buf);
	if (r != 0)
		return r;
	/* Acknowledged only once the target answers with the whole block. */
	r = objstore_head(dst, key, &have);
	if (r == 0 && have != len)
		r = -EIO;
	return r < 0 ? r : REPL_COPIED;
}

int repl_copy_block(const struct repl_copier *c, const struct repl_plan *plan, const char *key,
		    uint32_t len, bool may_be_there)
{
	struct objstore *dst = region_stores_get(c->stores, c->target);
	if (!dst)
		return -EHOSTUNREACH;
	int r;
	for (unsigned attempt = 1;; attempt++) {
		r = copy_once(c, dst, plan, key, len, may_be_there || attempt > 1);
		if (r >= 0 || r == -ENOMEM || !retry_wait(&c->retry, attempt))
			break;
		log_debug("copy of %s: %s (attempt %u)", key, strerror(-r), attempt);
	}
	return r;
}
