#include "region_stores.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct store_slot {
	bool present; /* a region with this index exists */
	bool own;     /* with a bucket of its own (not meta-only) */
	char url[512];
	struct objstore *store; /* opened on first use */
	bool failed;		/* opening failed: logged once, not retried per read */
};

/* Stores replaced by an update stay open until close: a reader may still
 * hold one, and a bucket URL changes about never. */
struct retired {
	struct objstore *store;
	struct retired *next;
};

struct region_stores {
	pthread_mutex_t lock;
	struct mcfs_config cfg;
	struct store_slot slot[MCFS_MAX_REGIONS];
	struct retired *retired;
};

int region_stores_create(const struct mcfs_config *cfg, struct region_stores **out)
{
	struct region_stores *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	pthread_mutex_init(&rs->lock, NULL);
	rs->cfg = *cfg;
	*out = rs;
	return 0;
}

void region_stores_close(struct region_stores *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < MCFS_MAX_REGIONS; i++)
		objstore_close(rs->slot[i].store);
	while (rs->retired) {
		struct retired *r = rs->retired;
		rs->retired = r->next;
		objstore_close(r->store);
		free(r);
	}
	pthread_mutex_destroy(&rs->lock);
	explicit_bzero(&rs->cfg, sizeof(rs->cfg));
	free(rs);
}

static void retire(struct region_stores *rs, struct store_slot *s)
{
	if (s->store) {
		struct retired *r = malloc(sizeof(*r));
		if (r) {
			r->store = s->store;
			r->next = rs->retired;
			rs->retired = r;
		}
		/* Without memory to remember it the store leaks: safer than closing
		 * it under a reader. */
	}
	s->store = NULL;
	s->failed = false;
}

int region_stores_update(struct region_stores *rs, const struct region_info *regions, size_t n,
			 const char *source)
{
	const char *source_bucket = "";
	for (size_t i = 0; i < n; i++)
		if (strcmp(regions[i].name, source) == 0)
			source_bucket = regions[i].bucket;
	pthread_mutex_lock(&rs->lock);
	bool present[MCFS_MAX_REGIONS] = {false};
	for (size_t i = 0; i < n; i++) {
		if (regions[i].index >= MCFS_MAX_REGIONS)
			continue;
		struct store_slot *s = &rs->slot[regions[i].index];
		const char *url = regions[i].bucket[0] ? regions[i].bucket : source_bucket;
		if (strcmp(s->url, url) != 0) {
			retire(rs, s);
			snprintf(s->url, sizeof(s->url), "%s", url);
		}
		present[regions[i].index] = true;
		s->own = regions[i].bucket[0] != '\0';
	}
	for (size_t i = 0; i < MCFS_MAX_REGIONS; i++)
		rs->slot[i].present = present[i];
	pthread_mutex_unlock(&rs->lock);
	return 0;
}

static struct objstore *open_slot(struct region_stores *rs, struct store_slot *s, uint16_t index)
{
	struct objstore_credentials cred = config_s3_credentials(&rs->cfg);
	int r = objstore_open(s->url, &cred, &s->store);
	if (r < 0) {
		log_warn("cannot open the bucket of region #%u: %s", index, strerror(-r));
		s->failed = true;
		s->store = NULL;
	}
	return s->store;
}

struct objstore *region_stores_get(struct region_stores *rs, uint16_t index)
{
	if (index >= MCFS_MAX_REGIONS)
		return NULL;
	pthread_mutex_lock(&rs->lock);
	struct store_slot *s = &rs->slot[index];
	struct objstore *os = NULL;
	if (s->present && s->url[0] && !s->failed)
		os = s->store ? s->store : open_slot(rs, s, index);
	pthread_mutex_unlock(&rs->lock);
	return os;
}

size_t region_stores_indexes(struct region_stores *rs, uint16_t *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&rs->lock);
	for (uint16_t i = 0; i < MCFS_MAX_REGIONS && n < max; i++)
		if (rs->slot[i].present && rs->slot[i].own && rs->slot[i].url[0])
			out[n++] = i;
	pthread_mutex_unlock(&rs->lock);
	return n;
}
