#include "maintenance.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deletion_log.h"
#include "layout.h"
#include "log.h"
#include "meta_ops.h"
#include "vfs_impl.h"

/* Runs one operation on every block of slice id (size bytes), all at once:
 * PUT takes the blocks from buf, DELETE needs no buffer. */
int slice_blocks_batch(struct objstore *os, const char *volume, uint32_t bs,
		       enum objstore_op_kind kind, uint64_t id, uint32_t size, const uint8_t *buf)
{
	uint32_t n = layout_block_count(size, bs);
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
		layout_block_key(keys[i], sizeof(keys[i]), volume, id, i, len);
		ops[i] = (struct objstore_op){.kind = kind,
					      .key = keys[i],
					      .buf = buf ? (void *)(buf + (size_t)i * bs) : NULL,
					      .len = buf ? len : 0};
	}
	int r = objstore_batch(os, ops, n);
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
	struct slice_rec out = {
	    .pos = 0, .len = end, .off = 0, .size = end, .origin = v->data_origin};
	if (r == 0)
		r = vfs_next_slice_id(v, &out.id);
	if (r == 0)
		r = slice_blocks_batch(v->store, v->vol.name, v->vol.block_size, OBJSTORE_PUT,
				       out.id, end, buf);
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
	r = meta_eval_op(vfs_meta(v), "compact", v->setting_key, a.n, a.v, a.len, &rep);
	free(expect);
	free(recs);
	if (r < 0)
		return r;
	r = reply_status(rep);
	meta_reply_free(rep);
	if (r == -EAGAIN)
		return 0;
	if (r == 0)
		log_debug("compacted inode %llu chunk %u: %zu slices into one",
			  (unsigned long long)ino, chunk, n);
	return r < 0 ? r : 1;
}

int maintenance_apply_deletions(struct vfs *v, uint64_t delay_seconds, uint64_t *deleted)
{
	return deletion_log_apply(vfs_meta(v), v->vol.name, v->region.name, v->store,
				  v->vol.block_size, v->session, delay_seconds, deleted);
}

int maintenance_reap_sessions(struct vfs *v, uint64_t max_age_seconds)
{
	char key[128];
	redisReply *all = NULL;
	int r = meta_cmdf(vfs_meta(v), &all, "HGETALL %s",
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
		if (meta_eval(vfs_meta(v), "session_reap", v->setting_key, a.n, a.v, a.len, &rep) ==
		    0) {
			meta_reply_free(rep);
			reaped++;
			log_info("forgot dead session %.8s", sess);
		}
	}
	meta_reply_free(all);
	return reaped;
}
