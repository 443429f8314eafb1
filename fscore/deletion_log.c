/* Applying the deletion log to one region's bucket; see deletion_log.h. */
#include "deletion_log.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layout.h"
#include "log.h"
#include "maintenance.h"
#include "meta_ops.h"

#define LEASE_SECONDS 300
#define PAGE_ENTRIES  200

struct dlog {
	struct meta *m;
	const char *volume, *region, *owner;
	struct objstore *store;
	uint32_t block_size;
	char stream[192], cursor_key[192], lease_key[192];
	char cursor[64]; /* last applied entry id */
};

static int lease_take(struct dlog *d)
{
	redisReply *r = NULL;
	int rc = meta_cmdf(d->m, &r, "SET %s %s NX EX %d", d->lease_key, d->owner, LEASE_SECONDS);
	if (rc < 0)
		return rc;
	bool got = r->type == REDIS_REPLY_STATUS;
	meta_reply_free(r);
	return got ? 0 : -EBUSY;
}

/* A long pass keeps its lease; false once it is someone else's. */
static bool lease_renew(struct dlog *d)
{
	redisReply *r = NULL;
	if (meta_cmdf(d->m, &r, "EVAL %s 1 %s %s %d",
		      "if redis.call('GET', KEYS[1]) == ARGV[1] then "
		      "return redis.call('EXPIRE', KEYS[1], ARGV[2]) end return 0",
		      d->lease_key, d->owner, LEASE_SECONDS) < 0)
		return false;
	bool ours = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	meta_reply_free(r);
	return ours;
}

static void lease_drop(struct dlog *d)
{
	redisReply *r = NULL;
	/* Only ours: compare-and-delete in one step. */
	if (meta_cmdf(d->m, &r, "EVAL %s 1 %s %s",
		      "if redis.call('GET', KEYS[1]) == ARGV[1] then "
		      "return redis.call('DEL', KEYS[1]) end return 0",
		      d->lease_key, d->owner) == 0)
		meta_reply_free(r);
}

static int cursor_load(struct dlog *d)
{
	redisReply *c = NULL;
	int r = meta_cmdf(d->m, &c, "GET %s", d->cursor_key);
	if (r < 0)
		return r;
	snprintf(d->cursor, sizeof(d->cursor), "%s", c->type == REDIS_REPLY_STRING ? c->str : "0");
	meta_reply_free(c);
	return 0;
}

static void cursor_save(struct dlog *d)
{
	redisReply *s = NULL;
	if (meta_cmdf(d->m, &s, "SET %s %s", d->cursor_key, d->cursor) == 0)
		meta_reply_free(s);
}

/* The oldest change-log entry group ARGV[1] has not acknowledged (pending,
 * else the first undelivered one), else the server's time as an id: a change
 * appended from now on is newer than it. nil when there is no such group. */
static const char guard_script[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return false end "
    "for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do "
    "local f = {} for i = 1, #g, 2 do f[g[i]] = g[i + 1] end "
    "if f['name'] == ARGV[1] then "
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1]) "
    "if p[1] > 0 then return p[2] end "
    "local n = redis.call('XRANGE', KEYS[1], '(' .. f['last-delivered-id'], '+', 'COUNT', 1) "
    "if #n > 0 then return n[1][1] end "
    "local t = redis.call('TIME') "
    "return string.format('%d-0', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) "
    "end end return false";

/* The last millisecond of deletion entries that may be applied without
 * racing a copy into this region; LLONG_MAX when nothing copies into it. */
static int copy_guard(struct dlog *d, long long *limit_ms)
{
	char changes[192];
	volume_key(changes, sizeof(changes), d->volume, "changes");
	redisReply *r = NULL;
	int rc = meta_cmdf(d->m, &r, "EVAL %s 1 %s %s", guard_script, changes, d->region);
	if (rc < 0)
		return rc;
	*limit_ms = LLONG_MAX;
	if (r->type == REDIS_REPLY_STRING)
		*limit_ms = strtoll(r->str, NULL, 10) - 1;
	meta_reply_free(r);
	return 0;
}

static int delete_slice(struct dlog *d, uint64_t id, uint32_t size)
{
	return slice_blocks_batch(d->store, d->volume, d->block_size, OBJSTORE_DELETE, id, size,
				  NULL);
}

static const char *entry_field(const redisReply *fields, const char *name)
{
	if (!fields || fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		if (fields->element[i]->type == REDIS_REPLY_STRING &&
		    fields->element[i + 1]->type == REDIS_REPLY_STRING &&
		    strcmp(fields->element[i]->str, name) == 0)
			return fields->element[i + 1]->str;
	return NULL;
}

/* Applies up to one page of entries up to upto_ms; *n gets the page size. */
static int apply_page(struct dlog *d, long long upto_ms, uint64_t *deleted, size_t *n)
{
	redisReply *page = NULL;
	int r = meta_cmdf(d->m, &page, "XRANGE %s (%s %lld COUNT %d", d->stream, d->cursor, upto_ms,
			  PAGE_ENTRIES);
	if (r < 0)
		return r;
	*n = page->type == REDIS_REPLY_ARRAY ? page->elements : 0;
	for (size_t i = 0; i < *n && r == 0; i++) {
		redisReply *e = page->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
			continue;
		const char *id = entry_field(e->element[1], "id");
		const char *size = entry_field(e->element[1], "size");
		if (id && size)
			r = delete_slice(d, strtoull(id, NULL, 10),
					 (uint32_t)strtoul(size, NULL, 10));
		if (r == 0) {
			snprintf(d->cursor, sizeof(d->cursor), "%s", e->element[0]->str);
			(*deleted)++;
		}
	}
	meta_reply_free(page);
	cursor_save(d);
	return r;
}

/* Entries every region with a bucket of its own has applied are of no
 * further use. A meta-only region has no bucket and no cursor: it must not
 * hold the log back. */
static const char trim_script[] =
    "local recs = redis.call('HGETALL', KEYS[2]) local min, mms, mseq = nil, 0, 0 "
    "for i = 1, #recs, 2 do "
    "local b = string.match(';' .. recs[i + 1] .. ';', ';bucket=([^;]*);') "
    "if b and b ~= '' then "
    "local c = redis.call('GET', ARGV[1] .. recs[i]) "
    "if not c then return 0 end "
    "local ms, seq = string.match(c, '^(%d+)-?(%d*)$') "
    "if not ms then return 0 end "
    "ms, seq = tonumber(ms), tonumber(seq) or 0 "
    "if min == nil or ms < mms or (ms == mms and seq < mseq) then min, mms, mseq = c, ms, seq end "
    "end end "
    "if min then return redis.call('XTRIM', KEYS[1], 'MINID', min) end return 0";

static void trim_log(struct dlog *d)
{
	char regions[192], prefix[192];
	volume_key(regions, sizeof(regions), d->volume, "regions");
	volume_key(prefix, sizeof(prefix), d->volume, "delcursor:");
	redisReply *t = NULL;
	if (meta_cmdf(d->m, &t, "EVAL %s 2 %s %s %s", trim_script, d->stream, regions, prefix) == 0)
		meta_reply_free(t);
}

static long long now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int apply_all(struct dlog *d, uint64_t delay_s, uint64_t *deleted)
{
	int r = cursor_load(d);
	long long limit = LLONG_MAX;
	if (r == 0)
		r = copy_guard(d, &limit);
	if (r < 0)
		return r;
	/* Stream ids begin with their time in ms: only entries older than the delay. */
	long long upto = now_ms() - (long long)delay_s * 1000;
	if (limit < upto)
		upto = limit;
	if (upto < 0)
		return 0;
	for (;;) {
		size_t n = 0;
		r = apply_page(d, upto, deleted, &n);
		if (r < 0 || n < PAGE_ENTRIES || !lease_renew(d))
			break;
	}
	if (r == 0)
		trim_log(d);
	return r;
}

int deletion_log_apply(struct meta *m, const char *volume, const char *region,
		       struct objstore *store, uint32_t block_size, const char *lease_owner,
		       uint64_t delay_s, uint64_t *deleted)
{
	*deleted = 0;
	struct dlog d = {.m = m,
			 .volume = volume,
			 .region = region,
			 .owner = lease_owner,
			 .store = store,
			 .block_size = block_size};
	char suffix[128];
	volume_key(d.stream, sizeof(d.stream), volume, "deletions");
	snprintf(suffix, sizeof(suffix), "delcursor:%s", region);
	volume_key(d.cursor_key, sizeof(d.cursor_key), volume, suffix);
	snprintf(suffix, sizeof(suffix), "lease:deleter:%s", region);
	volume_key(d.lease_key, sizeof(d.lease_key), volume, suffix);
	int r = lease_take(&d);
	if (r < 0)
		return r == -EBUSY ? 0 : r;
	r = apply_all(&d, delay_s, deleted);
	lease_drop(&d);
	if (r < 0)
		log_warn("deferred deletion in region %s stopped: %s", region, strerror(-r));
	return r;
}
