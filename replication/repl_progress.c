/* Lag, low watermark and their publication; see repl_progress.h. */
#include "repl_progress.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "meta_ops.h"
#include "repl_stream.h"

/* A heartbeat older than this does not count as a live worker... */
#define FRESH_MS 5000
/* ...and one older than this is forgotten. */
#define STALE_MS (3600 * 1000)

struct group_info {
	long long pending;
	char last_delivered[REPL_ID_LEN];
	long long undelivered; /* -1: the server does not know */
};

struct scan {
	uint32_t block_size;
	uint64_t entries, objects, bytes;
	uint64_t min_slice; /* UINT64_MAX: none seen */
	long long oldest_ms;
};

/* In a script: no error reply (which would be logged) for a missing log. */
static int group_info(struct meta *m, const char *key, const char *group, struct group_info *g)
{
	redisReply *r = NULL;
	int rc = meta_cmdf(m, &r, "EVAL %s 1 %s %s",
			   "if redis.call('EXISTS', KEYS[1]) == 0 then return false end "
			   "for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do "
			   "local f = {} for i = 1, #g, 2 do f[g[i]] = g[i + 1] end "
			   "if f['name'] == ARGV[1] then "
			   "return {f['pending'], f['last-delivered-id'], f['lag'] or -1} end "
			   "end return false",
			   key, group);
	if (rc < 0)
		return rc;
	rc = -ENOENT;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		g->pending = r->element[0]->integer;
		snprintf(g->last_delivered, sizeof(g->last_delivered), "%s", r->element[1]->str);
		g->undelivered = r->element[2]->integer;
		rc = 0;
	}
	meta_reply_free(r);
	return rc;
}

static void count_entry(struct scan *s, const struct repl_entry *e)
{
	if (s->oldest_ms == 0 || repl_id_ms(e->sid) < s->oldest_ms)
		s->oldest_ms = repl_id_ms(e->sid);
	s->entries++;
	if (!e->valid) {
		s->objects++;
		return;
	}
	s->objects += layout_block_count(e->size, s->block_size);
	s->bytes += e->size;
	if (e->slice < s->min_slice)
		s->min_slice = e->slice;
}

/* The undelivered tail: everything after the group's last delivered id. */
static int scan_tail(struct meta *m, const char *key, const struct group_info *g, struct scan *s,
		     uint64_t *scanned)
{
	redisReply *r = NULL;
	int rc =
	    meta_cmdf(m, &r, "XRANGE %s (%s + COUNT %d", key, g->last_delivered, REPL_LAG_SCAN);
	if (rc < 0)
		return rc;
	*scanned = 0;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		struct repl_entry e;
		if (repl_entry_parse(r->element[i], &e)) {
			count_entry(s, &e);
			(*scanned)++;
		}
	}
	meta_reply_free(r);
	return 0;
}

/* The ids pending in the group, oldest first (the caller frees the reply). */
static int pending_ids(struct meta *m, const char *key, const char *group, redisReply **out)
{
	int rc = meta_cmdf(m, out, "XPENDING %s %s - + %d", key, group, REPL_LAG_SCAN);
	if (rc == 0 && (*out)->type != REDIS_REPLY_ARRAY) {
		meta_reply_free(*out);
		return -EIO;
	}
	return rc;
}

static const char *pending_id(const redisReply *p, size_t i)
{
	const redisReply *e = p->element[i];
	if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return "0-0";
	return e->element[0]->str;
}

/* Pending entries: the log from the oldest pending id to the last delivered
 * one, keeping those still pending (a merge of two ordered lists). */
static int scan_pending(struct meta *m, const char *key, const char *group,
			const struct group_info *g, struct scan *s, uint64_t *matched)
{
	*matched = 0;
	redisReply *p = NULL;
	int rc = pending_ids(m, key, group, &p);
	if (rc < 0 || p->elements == 0) {
		if (rc == 0)
			meta_reply_free(p);
		return rc;
	}
	s->oldest_ms = repl_id_ms(pending_id(p, 0));
	redisReply *r = NULL;
	rc = meta_cmdf(m, &r, "XRANGE %s %s %s COUNT %d", key, pending_id(p, 0), g->last_delivered,
		       REPL_LAG_SCAN);
	for (size_t i = 0, k = 0; rc == 0 && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		struct repl_entry e;
		if (!repl_entry_parse(r->element[i], &e))
			continue;
		while (k < p->elements && repl_id_cmp(pending_id(p, k), e.sid) < 0)
			k++;
		if (k < p->elements && repl_id_cmp(pending_id(p, k), e.sid) == 0) {
			count_entry(s, &e);
			(*matched)++;
		}
	}
	if (rc == 0)
		meta_reply_free(r);
	meta_reply_free(p);
	return rc;
}

static int next_slice_id(struct meta *m, const char *volume, uint64_t *out)
{
	char key[192];
	redisReply *r = NULL;
	int rc = meta_cmdf(m, &r, "HGET %s slice", volume_key(key, sizeof(key), volume, "counter"));
	if (rc < 0)
		return rc;
	*out = (r->type == REDIS_REPLY_STRING ? strtoull(r->str, NULL, 10) : 0) + 1;
	meta_reply_free(r);
	return 0;
}

/* Entries beyond the scan are counted as the average scanned one. */
static void extrapolate(struct repl_lag *out, const struct scan *s, uint64_t unseen)
{
	if (unseen == 0)
		return;
	if (s->entries == 0) {
		out->objects += unseen;
		return;
	}
	out->objects += unseen * s->objects / s->entries;
	out->bytes += unseen * (s->bytes / s->entries);
}

int repl_lag_compute(struct meta *m, const char *volume, const char *group, uint32_t block_size,
		     struct repl_lag *out)
{
	char key[192];
	volume_key(key, sizeof(key), volume, "changes");
	struct group_info g;
	int rc = group_info(m, key, group, &g);
	struct scan s = {.block_size = block_size, .min_slice = UINT64_MAX};
	uint64_t matched = 0, tail = 0;
	if (rc == 0 && g.pending > 0)
		rc = scan_pending(m, key, group, &g, &s, &matched);
	if (rc == 0)
		rc = scan_tail(m, key, &g, &s, &tail);
	if (rc < 0)
		return rc;
	/* The server's count only where the scan stopped short: it is not
	 * always exact (trimmed logs), and a whole scan is. */
	uint64_t undelivered = tail;
	if (tail == REPL_LAG_SCAN && g.undelivered > (long long)tail)
		undelivered = (uint64_t)g.undelivered;
	uint64_t pending = (uint64_t)g.pending;
	*out = (struct repl_lag){.entries = pending + undelivered,
				 .objects = s.objects,
				 .bytes = s.bytes,
				 .oldest_ms = s.oldest_ms};
	extrapolate(out, &s, (pending > matched ? pending - matched : 0) + (undelivered - tail));
	if (s.min_slice != UINT64_MAX) {
		out->low_watermark = s.min_slice;
		return 0;
	}
	return next_slice_id(m, volume, &out->low_watermark);
}

static const char publish_script[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local prefix = ARGV[1] .. '/' "
    "redis.call('HSET', KEYS[2], prefix .. ARGV[2], string.format("
    "'updated_ms=%d;copied_objects=%s;copied_bytes=%s', now, ARGV[10], ARGV[11])) "
    "local workers = 0 local hb = redis.call('HGETALL', KEYS[2]) "
    "for i = 1, #hb, 2 do if string.sub(hb[i], 1, #prefix) == prefix then "
    "local u = tonumber(string.match(hb[i + 1], 'updated_ms=(%d+)')) or 0 "
    "if now - u <= tonumber(ARGV[12]) then workers = workers + 1 "
    "elseif now - u > tonumber(ARGV[13]) then redis.call('HDEL', KEYS[2], hb[i]) end "
    "end end "
    "local old = ';' .. (redis.call('HGET', KEYS[1], ARGV[1]) or '') "
    "local function total(k, add) "
    "return (tonumber(string.match(old, ';' .. k .. '=(%d+)')) or 0) + tonumber(add) end "
    "redis.call('HSET', KEYS[1], ARGV[1], string.format("
    "'lag_objects=%s;lag_bytes=%s;oldest_ms=%s;low_watermark=%s;updated_ms=%d;"
    "copied_objects=%d;copied_bytes=%d;missing=%d;workers=%d', "
    "ARGV[3], ARGV[4], ARGV[5], ARGV[6], now, total('copied_objects', ARGV[7]), "
    "total('copied_bytes', ARGV[8]), total('missing', ARGV[9]), workers)) "
    "return workers";

int repl_progress_publish(struct meta *m, const struct repl_publication *p)
{
	char progress[192], beats[192];
	volume_key(progress, sizeof(progress), p->volume, "replication");
	volume_key(beats, sizeof(beats), p->volume, "replicators");
	const struct repl_lag *l = p->lag;
	redisReply *r = NULL;
	int rc = meta_cmdf(
	    m, &r, "EVAL %s 2 %s %s %s %s %llu %llu %lld %llu %llu %llu %llu %llu %llu %d %d",
	    publish_script, progress, beats, p->region, p->consumer, (unsigned long long)l->objects,
	    (unsigned long long)l->bytes, l->oldest_ms, (unsigned long long)l->low_watermark,
	    (unsigned long long)p->added.objects, (unsigned long long)p->added.bytes,
	    (unsigned long long)p->added.missing, (unsigned long long)p->mine.objects,
	    (unsigned long long)p->mine.bytes, FRESH_MS, STALE_MS);
	if (rc == 0)
		meta_reply_free(r);
	return rc;
}
