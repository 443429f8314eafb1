#include "maintenance.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layout.h"
#include "log.h"
#include "meta_ops.h"
#include "vfs_impl.h"

/* Runs one operation on every block of slice id (size bytes), all at once:
 * PUT takes the blocks from buf, DELETE needs no buffer. */
static int slice_blocks_batch(struct vfs *v, enum objstore_op_kind kind, uint64_t id,
			      uint32_t size, const uint8_t *buf)
{
	uint32_t bs = v->vol.block_size, n = layout_block_count(size, bs);
	if (n == 0)
		return 0;
	struct objstore_op *ops = calloc(n, sizeof(*ops));
	char(*keys)[256] = calloc(n, sizeof(*keys));
	if (!ops || !keys) {
		free(ops);
		free(keys);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = layout_block_len(size, bs, i);
		layout_block_key(keys[i], sizeof(keys[i]), v->vol.name, id, i, len);
		ops[i] = (struct objstore_op){.kind = kind,
					      .key = keys[i],
					      .buf = buf ? (void *)(buf + (size_t)i * bs) : NULL,
					      .len = buf ? len : 0};
	}
	int r = objstore_batch(v->store, ops, n);
	free(ops);
	free(keys);
	return r;
}

int maintenance_compact_chunk(struct vfs *v, mcfs_ino_t ino, uint32_t chunk)
{
	struct slice_rec *recs = NULL;
	size_t n = 0;
	int r = vfs_load_chunk(v, ino, chunk, &recs, &n);
	if (r < 0 || n < 2) {
		free(recs);
		return r;
	}
	uint32_t end = 0;
	for (size_t i = 0; i < n; i++)
		if (recs[i].pos + recs[i].len > end)
			end = recs[i].pos + recs[i].len;
	uint8_t *buf = malloc(end ? end : 1);
	if (!buf) {
		free(recs);
		return -ENOMEM;
	}
	r = vfs_read_chunk_range(v, recs, n, 0, end, buf);
	struct slice_rec out = {.pos = 0, .len = end, .off = 0, .size = end,
				.origin = v->region.index};
	if (r == 0)
		r = vfs_next_slice_id(v, &out.id);
	if (r == 0)
		r = slice_blocks_batch(v, OBJSTORE_PUT, out.id, end, buf);
	free(buf);
	/* The records exactly as stored, to detect a concurrent change. */
	uint8_t *expect = malloc(n * SLICE_PACKED_LEN);
	if (r == 0 && !expect)
		r = -ENOMEM;
	if (r < 0) {
		free(expect);
		free(recs);
		return r;
	}
	for (size_t i = 0; i < n; i++)
		slice_pack(&recs[i], expect + i * SLICE_PACKED_LEN);
	uint8_t packed[SLICE_PACKED_LEN];
	slice_pack(&out, packed);
	char opid[33];
	meta_new_opid(opid);
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_u64(&a, ino);
	args_u64(&a, chunk);
	args_u64(&a, n);
	args_bin(&a, expect, n * SLICE_PACKED_LEN);
	args_bin(&a, packed, sizeof(packed));
	redisReply *rep = NULL;
	r = meta_eval(v->meta, "compact", v->setting_key, a.n, a.v, a.len, &rep);
	free(expect);
	free(recs);
	if (r < 0)
		return r;
	r = reply_status(rep);
	freeReplyObject(rep);
	if (r == -EAGAIN)
		return 0;
	if (r == 0)
		log_debug("compacted inode %llu chunk %u: %zu slices into one",
			  (unsigned long long)ino, chunk, n);
	return r < 0 ? r : 1;
}

static const char *entry_field(const redisReply *fields, const char *name)
{
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		if (strcmp(fields->element[i]->str, name) == 0)
			return fields->element[i + 1]->str;
	return NULL;
}

/* Takes a short lease so that one process at a time works a region's log. */
static int take_lease(struct vfs *v, const char *name, int seconds)
{
	char key[128], suffix[128];
	snprintf(suffix, sizeof(suffix), "lease:%s:%s", name, v->region.name);
	redisReply *r = NULL;
	int rc = meta_cmdf(v->meta, &r, "SET %s %s NX EX %d",
			   volume_key(key, sizeof(key), v->vol.name, suffix), v->session, seconds);
	if (rc < 0)
		return rc;
	int got = r->type == REDIS_REPLY_STATUS;
	freeReplyObject(r);
	return got ? 0 : -EBUSY;
}

static void drop_lease(struct vfs *v, const char *name)
{
	char key[128], suffix[128];
	snprintf(suffix, sizeof(suffix), "lease:%s:%s", name, v->region.name);
	redisReply *r = NULL;
	/* Only ours: compare-and-delete in one step. */
	if (meta_cmdf(v->meta, &r,
		      "EVAL %s 1 %s %s",
		      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
		      volume_key(key, sizeof(key), v->vol.name, suffix), v->session) == 0)
		freeReplyObject(r);
}

int maintenance_apply_deletions(struct vfs *v, uint64_t delay_seconds, uint64_t *deleted)
{
	*deleted = 0;
	int r = take_lease(v, "deleter", 300);
	if (r < 0)
		return r == -EBUSY ? 0 : r;
	char stream[128], cursor_key[128], suffix[128];
	volume_key(stream, sizeof(stream), v->vol.name, "deletions");
	snprintf(suffix, sizeof(suffix), "delcursor:%s", v->region.name);
	volume_key(cursor_key, sizeof(cursor_key), v->vol.name, suffix);
	char cursor[64] = "0";
	redisReply *c = NULL;
	r = meta_cmdf(v->meta, &c, "GET %s", cursor_key);
	if (r < 0)
		goto out;
	if (c->type == REDIS_REPLY_STRING)
		snprintf(cursor, sizeof(cursor), "%s", c->str);
	freeReplyObject(c);
	/* Only entries older than the delay: stream ids begin with their time in ms. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long long upto = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 -
			 (long long)delay_seconds * 1000;
	for (;;) {
		redisReply *page = NULL;
		r = meta_cmdf(v->meta, &page, "XRANGE %s (%s %lld COUNT 200", stream, cursor, upto);
		if (r < 0)
			goto out;
		size_t n = page->type == REDIS_REPLY_ARRAY ? page->elements : 0;
		for (size_t i = 0; i < n && r == 0; i++) {
			redisReply *e = page->element[i];
			const char *id = entry_field(e->element[1], "id");
			const char *size = entry_field(e->element[1], "size");
			if (id && size)
				r = slice_blocks_batch(v, OBJSTORE_DELETE, strtoull(id, NULL, 10),
						       (uint32_t)strtoul(size, NULL, 10), NULL);
			if (r == 0) {
				snprintf(cursor, sizeof(cursor), "%s", e->element[0]->str);
				(*deleted)++;
			}
		}
		freeReplyObject(page);
		redisReply *s = NULL;
		if (meta_cmdf(v->meta, &s, "SET %s %s", cursor_key, cursor) == 0)
			freeReplyObject(s);
		if (r < 0 || n < 200)
			break;
	}
	if (r == 0) {
		/* Entries every region has applied are of no further use. */
		redisReply *t = NULL;
		if (meta_cmdf(v->meta, &t,
			      "EVAL %s 2 %s %s",
			      "local regions = redis.call('HKEYS', KEYS[2]) local min = nil "
			      "for _, name in ipairs(regions) do "
			      "local c = redis.call('GET', string.sub(KEYS[1], 1, -10) .. 'delcursor:' .. name) "
			      "if not c then return 0 end "
			      "if min == nil or tonumber(string.match(c, '^(%d+)')) < tonumber(string.match(min, '^(%d+)')) then min = c end end "
			      "if min then return redis.call('XTRIM', KEYS[1], 'MINID', min) end return 0",
			      stream, volume_key(suffix, sizeof(suffix), v->vol.name, "regions")) == 0)
			freeReplyObject(t);
	}
out:
	drop_lease(v, "deleter");
	if (r < 0)
		log_warn("deferred deletion in region %s stopped: %s", v->region.name, strerror(-r));
	return r;
}

int maintenance_reap_sessions(struct vfs *v, uint64_t max_age_seconds)
{
	char key[128];
	redisReply *all = NULL;
	int r = meta_cmdf(v->meta, &all, "HGETALL %s",
			  volume_key(key, sizeof(key), v->vol.name, "sessions"));
	if (r < 0)
		return r;
	long long now = (long long)time(NULL);
	int reaped = 0;
	for (size_t i = 0; all->type == REDIS_REPLY_ARRAY && i + 1 < all->elements; i += 2) {
		const char *sess = all->element[i]->str;
		long long beat = strtoll(all->element[i + 1]->str, NULL, 10);
		if (strcmp(sess, v->session) == 0 || now - beat < (long long)max_age_seconds)
			continue;
		struct meta_args a;
		args_init(&a);
		args_str(&a, sess);
		redisReply *rep = NULL;
		if (meta_eval(v->meta, "session_reap", v->setting_key, a.n, a.v, a.len, &rep) == 0) {
			freeReplyObject(rep);
			reaped++;
			log_info("forgot dead session %.8s", sess);
		}
	}
	freeReplyObject(all);
	return reaped;
}
