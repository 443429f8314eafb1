/* fsck and gc (fsck.h), and the metadata walks they share with sync-check. */
#include "fsck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layout.h"
#include "log.h"
#include "maintenance.h"
#include "meta_ops.h"
#include "vfs_impl.h"

/* ---- a set of 64-bit ids (open addressing; 0 is never an id) */

static size_t idset_home(uint64_t id, size_t cap)
{
	return (size_t)(id * 0x9e3779b97f4a7c15ULL) & (cap - 1);
}

static int idset_grow(struct fsck_idset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	uint64_t *slot = calloc(cap, sizeof(*slot));
	uint64_t *val = calloc(cap, sizeof(*val));
	if (!slot || !val) {
		free(slot);
		free(val);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->slot[i])
			continue;
		size_t j = idset_home(s->slot[i], cap);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = s->slot[i];
		val[j] = s->val[i];
	}
	free(s->slot);
	free(s->val);
	s->slot = slot;
	s->val = val;
	s->cap = cap;
	return 0;
}

int fsck_idset_add(struct fsck_idset *s, uint64_t id, uint64_t val)
{
	if ((s->n + 1) * 2 > s->cap && idset_grow(s) < 0)
		return -ENOMEM;
	size_t j = idset_home(id, s->cap);
	while (s->slot[j] && s->slot[j] != id)
		j = (j + 1) & (s->cap - 1);
	if (!s->slot[j])
		s->n++;
	s->slot[j] = id;
	s->val[j] = val;
	return 0;
}

bool fsck_idset_get(const struct fsck_idset *s, uint64_t id, uint64_t *val)
{
	if (!s->cap)
		return false;
	size_t j = idset_home(id, s->cap);
	while (s->slot[j]) {
		if (s->slot[j] == id) {
			if (val)
				*val = s->val[j];
			return true;
		}
		j = (j + 1) & (s->cap - 1);
	}
	return false;
}

bool fsck_idset_next(const struct fsck_idset *s, size_t *pos, uint64_t *id, uint64_t *val)
{
	for (; *pos < s->cap; (*pos)++) {
		if (!s->slot[*pos])
			continue;
		*id = s->slot[*pos];
		if (val)
			*val = s->val[*pos];
		(*pos)++;
		return true;
	}
	return false;
}

void fsck_idset_free(struct fsck_idset *s)
{
	free(s->slot);
	free(s->val);
	memset(s, 0, sizeof(*s));
}

/* Calls fn for each key matching "{VOL}:<pattern>". */
static int scan_keys(struct meta *m, const char *volume, const char *pattern,
		     int (*fn)(const char *key, size_t len, void *arg), void *arg)
{
	char match[160], cursor[32] = "0";
	volume_key(match, sizeof(match), volume, pattern);
	do {
		redisReply *r = NULL;
		int rc = meta_cmdf(m, &r, "SCAN %s MATCH %s COUNT 1000", cursor, match);
		if (rc < 0)
			return rc;
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements && rc == 0; i++)
			rc =
			    fn(r->element[1]->element[i]->str, r->element[1]->element[i]->len, arg);
		meta_reply_free(r);
		if (rc < 0)
			return rc;
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

/* The id after the last ':' of a key. */
static uint64_t key_tail_id(const char *key)
{
	const char *c = strrchr(key, ':');
	return c ? strtoull(c + 1, NULL, 10) : 0;
}

struct slice_walk {
	struct meta *m;
	int (*fn)(const struct slice_rec *s, void *arg);
	void *arg;
	uint64_t damaged;
};

static int walk_chunk(const char *key, size_t len, void *arg)
{
	struct slice_walk *w = arg;
	redisReply *r = NULL;
	int rc = meta_cmdf(w->m, &r, "LRANGE %b 0 -1", key, len);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < r->elements && rc == 0; i++) {
		struct slice_rec s;
		if (slice_unpack(r->element[i]->str, r->element[i]->len, &s) < 0 ||
		    slice_check(&s, MCFS_CHUNK_SIZE) < 0) {
			log_error("%s: damaged slice record %zu", key, i);
			w->damaged++;
			continue;
		}
		rc = w->fn(&s, w->arg);
	}
	meta_reply_free(r);
	return rc;
}

int fsck_walk_slices(struct meta *m, const char *volume,
		     int (*fn)(const struct slice_rec *s, void *arg), void *arg, uint64_t *damaged)
{
	struct slice_walk w = {.m = m, .fn = fn, .arg = arg};
	int r = scan_keys(m, volume, "c:*", walk_chunk, &w);
	if (damaged)
		*damaged = w.damaged;
	return r;
}

struct inode_walk {
	struct vfs *v;
	struct fsck_report *rep;
};

static int check_dir_entries(struct vfs *v, mcfs_ino_t dir, struct fsck_report *rep)
{
	char suffix[40], key[128];
	snprintf(suffix, sizeof(suffix), "d:%llu", (unsigned long long)dir);
	redisReply *r = NULL;
	int rc = meta_cmdf(vfs_meta(v), &r, "HGETALL %s",
			   volume_key(key, sizeof(key), v->vol.name, suffix));
	if (rc < 0)
		return rc;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		rep->entries++;
		const redisReply *e = r->element[i + 1];
		if (e->len != 9 && e->len != 17) {
			rep->dangling_entries++;
			continue;
		}
		uint64_t ino = 0;
		for (int b = 0; b < 8; b++)
			ino |= (uint64_t)(unsigned char)e->str[b] << (8 * b);
		struct mcfs_attr a;
		if (vfs_getattr_committed(v, ino, &a) < 0) {
			log_error("fsck: directory %llu: entry '%s' points to missing inode %llu",
				  (unsigned long long)dir, r->element[i]->str,
				  (unsigned long long)ino);
			rep->dangling_entries++;
		}
	}
	meta_reply_free(r);
	return 0;
}

static int check_inode(const char *key, size_t len, void *arg)
{
	struct inode_walk *w = arg;
	struct fsck_report *rep = w->rep;
	(void)len;
	mcfs_ino_t ino = key_tail_id(key);
	struct mcfs_attr a;
	rep->inodes++;
	int r = vfs_getattr_committed(w->v, ino, &a);
	if (r == -EIO) {
		rep->damaged_attrs++;
		return 0;
	}
	if (r < 0)
		return r == -ESTALE ? 0 : r; /* removed while we walked */
	if (a.nlink == 0)
		rep->orphans++;
	if (a.type == MCFS_DIR) {
		rep->dirs++;
		return check_dir_entries(w->v, ino, rep);
	}
	if (a.type == MCFS_FILE)
		rep->files++;
	else if (a.type == MCFS_SYMLINK)
		rep->symlinks++;
	return 0;
}

struct bucket_walk {
	struct vfs *v;
	struct fsck_idset *slices; /* referenced: id -> slice size */
	struct fsck_idset *seen;   /* blocks seen: fsck_block_id() -> length */
	struct gc_report *gc;
	uint64_t min_age;
	bool do_delete;
};

static int visit_object(const struct objstore_entry *e, void *arg)
{
	struct bucket_walk *w = arg;
	uint64_t id;
	uint32_t index, len;
	if (layout_parse_block_key(e->key, w->v->vol.name, &id, &index, &len) < 0)
		return 0; /* not a block of ours */
	if (w->seen)
		return fsck_idset_add(w->seen, fsck_block_id(id, index), len);
	w->gc->objects++;
	uint64_t size;
	if (fsck_idset_get(w->slices, id, &size) &&
	    layout_block_len((uint32_t)size, w->v->vol.block_size, index) == len) {
		w->gc->referenced++;
		return 0;
	}
	if ((uint64_t)(time(NULL) - e->mtime) < w->min_age) {
		w->gc->too_young++;
		return 0;
	}
	w->gc->leaked++;
	w->gc->leaked_bytes += e->size;
	if (w->do_delete && objstore_delete(w->v->store, e->key) == 0)
		w->gc->deleted++;
	return 0;
}

static int check_blocks(struct vfs *v, struct fsck_idset *slices, struct fsck_idset *seen,
			struct fsck_report *rep)
{
	uint32_t bs = v->vol.block_size;
	uint64_t id, size;
	for (size_t pos = 0; fsck_idset_next(slices, &pos, &id, &size);) {
		rep->slices++;
		rep->bytes += size;
		for (uint32_t b = 0; b < layout_block_count((uint32_t)size, bs); b++) {
			uint64_t want = layout_block_len((uint32_t)size, bs, b), got;
			rep->blocks++;
			if (!fsck_idset_get(seen, fsck_block_id(id, b), &got)) {
				log_error("fsck: block %u of slice %llu is missing from the bucket",
					  b, (unsigned long long)id);
				rep->missing_blocks++;
			} else if (got != want) {
				rep->wrong_size_blocks++;
			}
		}
	}
	return 0;
}

static int add_slice(const struct slice_rec *s, void *arg)
{
	return s->id ? fsck_idset_add(arg, s->id, s->size) : 0;
}

static int add_deleted(uint64_t id, uint32_t size, void *arg)
{
	return fsck_idset_add(arg, id, size);
}

int fsck_run(struct vfs *v, struct fsck_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	int r = vfs_flush_all(v);
	if (r < 0)
		return r;
	struct inode_walk iw = {.v = v, .rep = rep};
	r = scan_keys(vfs_meta(v), v->vol.name, "i:*", check_inode, &iw);
	if (r < 0)
		return r;
	struct fsck_idset slices = {0}, seen = {0};
	r = fsck_walk_slices(vfs_meta(v), v->vol.name, add_slice, &slices, &rep->damaged_slices);
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "%s/chunks/", v->vol.name);
	struct bucket_walk bw = {.v = v, .seen = &seen};
	if (r == 0)
		r = objstore_list(v->store, prefix, visit_object, &bw);
	if (r == 0)
		r = check_blocks(v, &slices, &seen, rep);
	fsck_idset_free(&slices);
	fsck_idset_free(&seen);
	return r;
}

/* The "id" and "size" fields of a deletion log entry; 0 if absent. */
static void deletion_fields(const redisReply *f, uint64_t *id, uint32_t *size)
{
	*id = 0;
	*size = 0;
	for (size_t k = 0; k + 1 < f->elements; k += 2) {
		if (strcmp(f->element[k]->str, "id") == 0)
			*id = strtoull(f->element[k + 1]->str, NULL, 10);
		else if (strcmp(f->element[k]->str, "size") == 0)
			*size = (uint32_t)strtoul(f->element[k + 1]->str, NULL, 10);
	}
}

int fsck_walk_deletions(struct meta *m, const char *volume,
			int (*fn)(uint64_t id, uint32_t size, void *arg), void *arg)
{
	char stream[128], from[64] = "-";
	volume_key(stream, sizeof(stream), volume, "deletions");
	for (;;) {
		redisReply *page = NULL;
		int r = meta_cmdf(m, &page, "XRANGE %s %s + COUNT 1000", stream, from);
		if (r < 0)
			return r;
		size_t n = page->elements;
		for (size_t i = 0; i < n && r == 0; i++) {
			uint64_t id;
			uint32_t size;
			deletion_fields(page->element[i]->element[1], &id, &size);
			if (id)
				r = fn(id, size, arg);
			snprintf(from, sizeof(from), "(%s", page->element[i]->element[0]->str);
		}
		meta_reply_free(page);
		if (r != 0 || n < 1000)
			return r;
	}
}

int gc_run(struct vfs *v, uint64_t min_age_seconds, bool do_delete, struct gc_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	maintenance_reap_sessions(v, 60);
	int r = 0;
	if (do_delete)
		r = maintenance_apply_deletions(v, v->cfg.deletion_delay_s, &rep->log_deleted);
	if (r < 0)
		return r;
	struct fsck_idset slices = {0};
	r = fsck_walk_slices(vfs_meta(v), v->vol.name, add_slice, &slices, NULL);
	/* Slices waiting in the deletion log are freed on their own schedule (the
	 * delay protects readers elsewhere): gc leaves them to it. */
	if (r == 0)
		r = fsck_walk_deletions(vfs_meta(v), v->vol.name, add_deleted, &slices);
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "%s/chunks/", v->vol.name);
	struct bucket_walk bw = {.v = v,
				 .slices = &slices,
				 .gc = rep,
				 .min_age = min_age_seconds,
				 .do_delete = do_delete};
	if (r == 0)
		r = objstore_list(v->store, prefix, visit_object, &bw);
	fsck_idset_free(&slices);
	return r;
}
