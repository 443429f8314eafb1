/* The reconcile scan of regions' buckets against metadata (sync_check.h). */
#include "sync_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsck.h"
#include "layout.h"
#include "log.h"
#include "workpool.h"

/* A live slice's value in the set: its size, and its origin above. */
#define LIVE_VAL(size, origin) ((uint64_t)(size) | (uint64_t)(origin) << 32)
#define LIVE_SIZE(v)	       ((uint32_t)(v))
#define LIVE_ORIGIN(v)	       ((uint16_t)((v) >> 32))

#define DELETE_BATCH 256

/* What metadata says, read once for every region. */
struct meta_view {
	struct fsck_idset live;	   /* slices chunks reference: id -> LIVE_VAL */
	struct fsck_idset pending; /* slices in the deletion log */
};

static int add_live(const struct slice_rec *s, void *arg)
{
	return s->id ? fsck_idset_add(arg, s->id, LIVE_VAL(s->size, s->origin)) : 0;
}

static int add_pending(uint64_t id, uint32_t size, void *arg)
{
	(void)size;
	return fsck_idset_add(arg, id, 0);
}

/* Chunks first, then the deletion log: a slice freed between the two reads
 * is then in the log, never in neither. */
static int load_view(struct meta *m, const struct volume_settings *vol, struct meta_view *mv,
		     struct sync_check_report *rep)
{
	int r = fsck_walk_slices(m, vol->name, add_live, &mv->live, &rep->damaged_records);
	if (r == 0)
		r = fsck_walk_deletions(m, vol->name, add_pending, &mv->pending);
	if (r < 0)
		return r;
	uint64_t id, val;
	for (size_t pos = 0; fsck_idset_next(&mv->live, &pos, &id, &val);) {
		rep->slices++;
		rep->bytes += LIVE_SIZE(val);
		rep->blocks += layout_block_count(LIVE_SIZE(val), vol->block_size);
	}
	return 0;
}

/* ---- listing one bucket */

struct scan {
	const struct volume_settings *vol;
	const struct meta_view *mv;
	struct sync_check_region *out;
	struct fsck_idset seen; /* needed blocks listed: fsck_block_id() -> object size */
	char **extra;		/* keys to delete (repair only) */
	size_t nextra, extra_cap;
	bool keep_extra;
	uint64_t min_age;
	time_t now;
};

static int keep_key(struct scan *s, const char *key)
{
	if (s->nextra == s->extra_cap) {
		size_t cap = s->extra_cap ? s->extra_cap * 2 : 256;
		char **e = realloc(s->extra, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		s->extra = e;
		s->extra_cap = cap;
	}
	if (!(s->extra[s->nextra] = strdup(key)))
		return -ENOMEM;
	s->nextra++;
	return 0;
}

/* Whether block `index` of `len` bytes is one that live slice id needs. */
static bool block_needed(const struct scan *s, uint64_t id, uint32_t index, uint32_t len)
{
	uint64_t val;
	if (!fsck_idset_get(&s->mv->live, id, &val))
		return false;
	uint32_t size = LIVE_SIZE(val);
	return index < layout_block_count(size, s->vol->block_size) &&
	       layout_block_len(size, s->vol->block_size, index) == len;
}

static int visit(const struct objstore_entry *e, void *arg)
{
	struct scan *s = arg;
	uint64_t id;
	uint32_t index, len;
	if (layout_parse_block_key(e->key, s->vol->name, &id, &index, &len) < 0) {
		s->out->foreign++;
		return 0;
	}
	if (block_needed(s, id, index, len))
		return fsck_idset_add(&s->seen, fsck_block_id(id, index), e->size);
	if (fsck_idset_get(&s->mv->pending, id, NULL)) {
		s->out->pending++;
		return 0;
	}
	/* A clock ahead of the bucket's makes objects look older: min_age
	 * should leave room for that. */
	if (e->mtime > s->now || (uint64_t)(s->now - e->mtime) < s->min_age) {
		s->out->young++;
		return 0;
	}
	s->out->extra++;
	s->out->extra_bytes += e->size;
	return s->keep_extra ? keep_key(s, e->key) : 0;
}

static void scan_free(struct scan *s)
{
	for (size_t i = 0; i < s->nextra; i++)
		free(s->extra[i]);
	free(s->extra);
	fsck_idset_free(&s->seen);
}

/* ---- copying blocks in */

struct copy_ctx {
	struct region_stores *rs;
	const char *volume;
	struct objstore *target;
	const char *url[MCFS_MAX_REGIONS]; /* bucket URL of each region index; NULL: none */
	uint16_t target_index;
	struct workgroup wg;
};

struct copy_job {
	struct copy_ctx *ctx;
	uint64_t id;
	uint32_t index, len;
	uint16_t origin;
	int result; /* 0 copied, -ENOENT in no bucket with its size, else a failure */
};

/* Reads the block from region `from` into buf: 0, -ENOENT (absent or another
 * size there: useless either way) or a bucket failure. */
static int fetch_from(struct copy_job *j, uint16_t from, const char *key, void *buf)
{
	struct objstore *os = region_stores_get(j->ctx->rs, from);
	if (!os)
		return -EIO;
	size_t got = 0;
	int r = objstore_get(os, key, buf, j->len, &got);
	if (r == -EFBIG || (r == 0 && got != j->len)) {
		log_warn("sync-check: %s has another size in %s", key, objstore_describe(os));
		return -ENOENT;
	}
	return r;
}

/* Whether region `from` is a place to look: a bucket other than the target's
 * and than those tried already (two regions may share one). */
static bool worth_trying(const struct copy_ctx *c, uint16_t from, const char **tried, size_t n)
{
	const char *u = c->url[from];
	if (!u || !u[0] || strcmp(u, c->url[c->target_index]) == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(u, tried[i]) == 0)
			return false;
	return true;
}

/* The origin first: its bucket surely got the block; then every other. */
static int fetch_any(struct copy_job *j, const char *key, void *buf)
{
	const char *tried[MCFS_MAX_REGIONS + 1];
	size_t ntried = 0;
	int failure = 0;
	for (int k = -1; k < MCFS_MAX_REGIONS; k++) {
		uint16_t from = k < 0 ? j->origin : (uint16_t)k;
		if (from >= MCFS_MAX_REGIONS || (k >= 0 && from == j->origin) ||
		    !worth_trying(j->ctx, from, tried, ntried))
			continue;
		tried[ntried++] = j->ctx->url[from];
		int r = fetch_from(j, from, key, buf);
		if (r == 0)
			return 0;
		if (r != -ENOENT)
			failure = r;
	}
	/* A bucket that failed may have it: the block is not proven lost. */
	return failure ? failure : -ENOENT;
}

static void copy_block(void *arg)
{
	struct copy_job *j = arg;
	char key[512];
	void *buf = malloc(j->len);
	int r = buf ? 0 : -ENOMEM;
	if (r == 0 &&
	    layout_block_key(key, sizeof(key), j->ctx->volume, j->id, j->index, j->len) < 0)
		r = -ENAMETOOLONG;
	if (r == 0)
		r = fetch_any(j, key, buf);
	if (r == 0)
		r = objstore_put(j->ctx->target, key, buf, j->len);
	if (r == -ENOENT)
		log_error("sync-check: %s is in no bucket with its size %u: the files that need "
			  "it cannot be read there",
			  key, j->len);
	else if (r < 0)
		log_warn("sync-check: cannot copy %s: %s", key, strerror(-r));
	free(buf);
	j->result = r;
	workgroup_done(&j->ctx->wg, 0);
}

/* ---- comparing */

static int add_job(struct copy_job **jobs, size_t *n, size_t *cap, const struct copy_job *j)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		struct copy_job *nj = realloc(*jobs, c * sizeof(*nj));
		if (!nj)
			return -ENOMEM;
		*jobs = nj;
		*cap = c;
	}
	(*jobs)[(*n)++] = *j;
	return 0;
}

/* Counts needed blocks as present, missing or wrong-size; with jobs, queues a
 * copy for each one not right. */
static int find_gaps(struct scan *s, struct copy_ctx *ctx, struct copy_job **jobs, size_t *n)
{
	uint32_t bs = s->vol->block_size;
	size_t cap = 0;
	uint64_t id, val;
	for (size_t pos = 0; fsck_idset_next(&s->mv->live, &pos, &id, &val);) {
		uint32_t size = LIVE_SIZE(val);
		for (uint32_t b = 0; b < layout_block_count(size, bs); b++) {
			uint32_t want = layout_block_len(size, bs, b);
			uint64_t got;
			s->out->needed++;
			bool there = fsck_idset_get(&s->seen, fsck_block_id(id, b), &got);
			if (there && got == want) {
				s->out->present++;
				continue;
			}
			if (there)
				s->out->wrong_size++;
			else
				s->out->missing++;
			struct copy_job j = {.ctx = ctx,
					     .id = id,
					     .index = b,
					     .len = want,
					     .origin = LIVE_ORIGIN(val)};
			if (jobs && add_job(jobs, n, &cap, &j) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int run_copies(struct copy_ctx *ctx, struct copy_job *jobs, size_t n, unsigned threads,
		      struct sync_check_region *out)
{
	struct workpool *wp = NULL;
	int r = workpool_create(threads ? threads : 8, &wp);
	if (r < 0)
		return r;
	workgroup_init(&ctx->wg);
	for (size_t i = 0; i < n; i++) {
		workgroup_add(&ctx->wg, 1);
		if (workpool_submit(wp, copy_block, &jobs[i]) < 0)
			copy_block(&jobs[i]); /* no memory to queue it: do it here */
	}
	workgroup_wait(&ctx->wg);
	workpool_destroy(wp);
	workgroup_destroy(&ctx->wg);
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].result == 0)
			out->copied++;
		else if (jobs[i].result == -ENOENT)
			out->unrecoverable++;
		else
			out->copy_failed++;
	}
	return 0;
}

static void delete_extra(struct objstore *os, struct scan *s)
{
	struct objstore_op ops[DELETE_BATCH];
	for (size_t i = 0; i < s->nextra; i += DELETE_BATCH) {
		size_t k = s->nextra - i < DELETE_BATCH ? s->nextra - i : DELETE_BATCH;
		for (size_t j = 0; j < k; j++)
			ops[j] =
			    (struct objstore_op){.kind = OBJSTORE_DELETE, .key = s->extra[i + j]};
		objstore_batch(os, ops, k);
		for (size_t j = 0; j < k; j++) {
			if (ops[j].result == 0) {
				s->out->deleted++;
				continue;
			}
			log_warn("sync-check: cannot delete %s: %s", ops[j].key,
				 strerror(-ops[j].result));
			s->out->delete_failed++;
		}
	}
}

/* ---- one region */

static void fill_urls(struct copy_ctx *c, const struct region_info *regions, size_t n,
		      const char *source)
{
	const char *source_bucket = "";
	for (size_t i = 0; i < n; i++)
		if (strcmp(regions[i].name, source) == 0)
			source_bucket = regions[i].bucket;
	for (size_t i = 0; i < n; i++)
		if (regions[i].index < MCFS_MAX_REGIONS)
			c->url[regions[i].index] =
			    regions[i].bucket[0] ? regions[i].bucket : source_bucket;
}

static int repair_region(struct scan *s, struct copy_ctx *ctx, unsigned transfers)
{
	struct copy_job *jobs = NULL;
	size_t n = 0;
	int r = find_gaps(s, ctx, &jobs, &n);
	if (r == 0 && n)
		r = run_copies(ctx, jobs, n, transfers, s->out);
	free(jobs);
	if (r == 0)
		delete_extra(ctx->target, s);
	return r;
}

static int check_region(struct copy_ctx *ctx, const struct meta_view *mv,
			const struct volume_settings *vol, const struct sync_check_options *o,
			struct sync_check_region *out)
{
	struct scan s = {.vol = vol,
			 .mv = mv,
			 .out = out,
			 .keep_extra = o->repair,
			 .min_age = o->min_age_s,
			 .now = time(NULL)};
	ctx->target = region_stores_get(ctx->rs, out->index);
	if (!ctx->target) {
		out->error = -EIO;
		return 0;
	}
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "%s/chunks/", vol->name);
	int r = objstore_list(ctx->target, prefix, visit, &s);
	if (r < 0 && r != -ENOMEM) {
		log_error("sync-check: cannot list %s: %s", objstore_describe(ctx->target),
			  strerror(-r));
		out->error = r;
		r = 0;
	} else if (r == 0) {
		r = o->repair ? repair_region(&s, ctx, o->transfers)
			      : find_gaps(&s, ctx, NULL, NULL);
	}
	scan_free(&s);
	return r;
}

uint64_t sync_check_problems(const struct sync_check_region *r)
{
	uint64_t bad = r->missing + r->wrong_size;
	uint64_t left = bad > r->copied ? bad - r->copied : 0;
	left += r->extra > r->deleted ? r->extra - r->deleted : 0;
	return left + (r->error ? 1 : 0);
}

/* Fills rep->region with the regions to check. */
static int pick_regions(const struct region_info *regions, size_t n, const char *only,
			struct sync_check_report *rep, char *err, size_t errlen)
{
	for (size_t i = 0; i < n && rep->nregions < MCFS_MAX_REGIONS; i++) {
		const struct region_info *ri = &regions[i];
		if (only && strcmp(ri->name, only) != 0)
			continue;
		if (only && !ri->bucket[0]) {
			snprintf(err, errlen,
				 "region %s has no bucket of its own: its blocks are in the "
				 "source region's bucket",
				 only);
			return -EINVAL;
		}
		if (!ri->bucket[0] || ri->index >= MCFS_MAX_REGIONS)
			continue;
		struct sync_check_region *out = &rep->region[rep->nregions++];
		snprintf(out->name, sizeof(out->name), "%s", ri->name);
		snprintf(out->bucket, sizeof(out->bucket), "%s", ri->bucket);
		out->index = ri->index;
	}
	if (only && rep->nregions == 0) {
		snprintf(err, errlen, "the volume has no region named '%s'", only);
		return -ENOENT;
	}
	return 0;
}

int sync_check_run(struct meta *m, const struct volume_settings *vol,
		   const struct region_info *regions, size_t n, struct region_stores *rs,
		   const struct sync_check_options *o, struct sync_check_report *rep, char *err,
		   size_t errlen)
{
	memset(rep, 0, sizeof(*rep));
	int r = pick_regions(regions, n, o->region, rep, err, errlen);
	if (r == 0)
		r = region_stores_update(rs, regions, n, vol->source_region);
	if (r < 0)
		return r;
	struct meta_view mv = {0};
	r = load_view(m, vol, &mv, rep);
	if (r < 0)
		snprintf(err, errlen, "cannot read the volume's slices from %s: %s",
			 meta_describe(m), strerror(-r));
	struct copy_ctx ctx = {.rs = rs, .volume = vol->name};
	fill_urls(&ctx, regions, n, vol->source_region);
	for (size_t i = 0; r == 0 && i < rep->nregions; i++) {
		ctx.target_index = rep->region[i].index;
		r = check_region(&ctx, &mv, vol, o, &rep->region[i]);
		if (r < 0)
			snprintf(err, errlen, "region %s: %s", rep->region[i].name, strerror(-r));
	}
	fsck_idset_free(&mv.live);
	fsck_idset_free(&mv.pending);
	return r;
}
