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

/* ---- a set of 64-bit ids (open addressing; 0 is never a slice id) */
struct idset {
	uint64_t *slot;
	uint32_t *aux; /* a value per id: the block length or slice size */
	size_t cap, n;
};

static int idset_grow(struct idset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	uint64_t *slot = calloc(cap, sizeof(*slot));
	uint32_t *aux = calloc(cap, sizeof(*aux));
	if (!slot || !aux) {
		free(slot);
		free(aux);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->slot[i])
			continue;
		size_t j = (size_t)(s->slot[i] * 0x9e3779b97f4a7c15ULL) & (cap - 1);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = s->slot[i];
		aux[j] = s->aux[i];
	}
	free(s->slot);
	free(s->aux);
	s->slot = slot;
	s->aux = aux;
	s->cap = cap;
	return 0;
}

static int idset_add(struct idset *s, uint64_t id, uint32_t aux)
{
	if ((s->n + 1) * 2 > s->cap && idset_grow(s) < 0)
		return -ENOMEM;
	size_t j = (size_t)(id * 0x9e3779b97f4a7c15ULL) & (s->cap - 1);
	while (s->slot[j] && s->slot[j] != id)
		j = (j + 1) & (s->cap - 1);
	if (!s->slot[j])
		s->n++;
	s->slot[j] = id;
	s->aux[j] = aux;
	return 0;
}

static bool idset_get(const struct idset *s, uint64_t id, uint32_t *aux)
{
	if (!s->cap)
		return false;
	size_t j = (size_t)(id * 0x9e3779b97f4a7c15ULL) & (s->cap - 1);
	while (s->slot[j]) {
		if (s->slot[j] == id) {
			if (aux)
				*aux = s->aux[j];
			return true;
		}
		j = (j + 1) & (s->cap - 1);
	}
	return false;
}

static void idset_free(struct idset *s)
{
	free(s->slot);
	free(s->aux);
}

/* Calls fn for each key matching "{VOL}:<pattern>". */
static int scan_keys(struct vfs *v, const char *pattern,
		     int (*fn)(struct vfs *v, const char *key, size_t len, void *arg), void *arg)
{
	char match[160], cursor[32] = "0";
	volume_key(match, sizeof(match), v->vol.name, pattern);
	do {
		redisReply *r = NULL;
		int rc = meta_cmdf(v->meta, &r, "SCAN %s MATCH %s COUNT 1000", cursor, match);
		if (rc < 0)
			return rc;
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements && rc == 0; i++)
			rc = fn(v, r->element[1]->element[i]->str, r->element[1]->element[i]->len, arg);
		freeReplyObject(r);
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
	struct idset *slices; /* slice id -> size */
	uint64_t damaged, records;
};

static int collect_chunk(struct vfs *v, const char *key, size_t len, void *arg)
{
	struct slice_walk *w = arg;
	redisReply *r = NULL;
	int rc = meta_cmdf(v->meta, &r, "LRANGE %b 0 -1", key, len);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < r->elements && rc == 0; i++) {
		struct slice_rec s;
		if (slice_unpack(r->element[i]->str, r->element[i]->len, &s) < 0 ||
		    slice_check(&s, MCFS_CHUNK_SIZE) < 0) {
			log_error("fsck: %s: damaged slice record %zu", key, i);
			w->damaged++;
			continue;
		}
		w->records++;
		if (s.id)
			rc = idset_add(w->slices, s.id, s.size);
	}
	freeReplyObject(r);
	return rc;
}

struct inode_walk {
	struct fsck_report *rep;
};

static int check_dir_entries(struct vfs *v, mcfs_ino_t dir, struct fsck_report *rep)
{
	char suffix[40], key[128];
	snprintf(suffix, sizeof(suffix), "d:%llu", (unsigned long long)dir);
	redisReply *r = NULL;
	int rc = meta_cmdf(v->meta, &r, "HGETALL %s", volume_key(key, sizeof(key), v->vol.name, suffix));
	if (rc < 0)
		return rc;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		rep->entries++;
		const redisReply *e = r->element[i + 1];
		if (e->len != 9) {
			rep->dangling_entries++;
			continue;
		}
		uint64_t ino = 0;
		for (int b = 0; b < 8; b++)
			ino |= (uint64_t)(unsigned char)e->str[b] << (8 * b);
		struct mcfs_attr a;
		if (vfs_getattr_committed(v, ino, &a) < 0) {
			log_error("fsck: directory %llu: entry '%s' points to missing inode %llu",
				  (unsigned long long)dir, r->element[i]->str, (unsigned long long)ino);
			rep->dangling_entries++;
		}
	}
	freeReplyObject(r);
	return 0;
}

static int check_inode(struct vfs *v, const char *key, size_t len, void *arg)
{
	struct fsck_report *rep = arg;
	(void)len;
	mcfs_ino_t ino = key_tail_id(key);
	struct mcfs_attr a;
	rep->inodes++;
	int r = vfs_getattr_committed(v, ino, &a);
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
		return check_dir_entries(v, ino, rep);
	}
	if (a.type == MCFS_FILE)
		rep->files++;
	else if (a.type == MCFS_SYMLINK)
		rep->symlinks++;
	return 0;
}

struct bucket_walk {
	struct vfs *v;
	struct idset *slices;   /* referenced: id -> slice size */
	struct idset *seen;     /* blocks seen: (id*4096+index) -> length */
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
		return idset_add(w->seen, id * 4096 + index + 1, len);
	w->gc->objects++;
	uint32_t size;
	if (idset_get(w->slices, id, &size) &&
	    layout_block_len(size, w->v->vol.block_size, index) == len) {
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

static int check_blocks(struct vfs *v, struct idset *slices, struct idset *seen,
			struct fsck_report *rep)
{
	uint32_t bs = v->vol.block_size;
	for (size_t i = 0; i < slices->cap; i++) {
		if (!slices->slot[i])
			continue;
		uint64_t id = slices->slot[i];
		uint32_t size = slices->aux[i];
		rep->slices++;
		rep->bytes += size;
		for (uint32_t b = 0; b < layout_block_count(size, bs); b++) {
			uint32_t want = layout_block_len(size, bs, b), got;
			rep->blocks++;
			if (!idset_get(seen, id * 4096 + b + 1, &got)) {
				log_error("fsck: block %u of slice %llu is missing from the bucket", b,
					  (unsigned long long)id);
				rep->missing_blocks++;
			} else if (got != want) {
				rep->wrong_size_blocks++;
			}
		}
	}
	return 0;
}

static int collect_slices(struct vfs *v, struct idset *slices, uint64_t *damaged)
{
	struct slice_walk sw = {.slices = slices};
	int r = scan_keys(v, "c:*", collect_chunk, &sw);
	if (damaged)
		*damaged = sw.damaged;
	return r;
}

int fsck_run(struct vfs *v, struct fsck_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	int r = vfs_flush_all(v);
	if (r < 0)
		return r;
	r = scan_keys(v, "i:*", check_inode, rep);
	if (r < 0)
		return r;
	struct idset slices = {0}, seen = {0};
	r = collect_slices(v, &slices, &rep->damaged_slices);
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "%s/chunks/", v->vol.name);
	struct bucket_walk bw = {.v = v, .seen = &seen};
	if (r == 0)
		r = objstore_list(v->store, prefix, visit_object, &bw);
	if (r == 0)
		r = check_blocks(v, &slices, &seen, rep);
	idset_free(&slices);
	idset_free(&seen);
	return r;
}

/* Slices waiting in the deletion log are freed on their own schedule (the
 * delay protects readers elsewhere): gc leaves them to it. */
static int collect_pending_deletions(struct vfs *v, struct idset *slices)
{
	char stream[128], from[64] = "-";
	volume_key(stream, sizeof(stream), v->vol.name, "deletions");
	for (;;) {
		redisReply *page = NULL;
		int r = meta_cmdf(v->meta, &page, "XRANGE %s %s + COUNT 1000", stream, from);
		if (r < 0)
			return r;
		size_t n = page->elements;
		for (size_t i = 0; i < n && r == 0; i++) {
			redisReply *f = page->element[i]->element[1];
			uint64_t id = 0;
			uint32_t size = 0;
			for (size_t k = 0; k + 1 < f->elements; k += 2) {
				if (strcmp(f->element[k]->str, "id") == 0)
					id = strtoull(f->element[k + 1]->str, NULL, 10);
				else if (strcmp(f->element[k]->str, "size") == 0)
					size = (uint32_t)strtoul(f->element[k + 1]->str, NULL, 10);
			}
			if (id)
				r = idset_add(slices, id, size);
			snprintf(from, sizeof(from), "(%s", page->element[i]->element[0]->str);
		}
		freeReplyObject(page);
		if (r < 0 || n < 1000)
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
	struct idset slices = {0};
	r = collect_slices(v, &slices, NULL);
	if (r == 0)
		r = collect_pending_deletions(v, &slices);
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "%s/chunks/", v->vol.name);
	struct bucket_walk bw = {.v = v, .slices = &slices, .gc = rep, .min_age = min_age_seconds,
				 .do_delete = do_delete};
	if (r == 0)
		r = objstore_list(v->store, prefix, visit_object, &bw);
	idset_free(&slices);
	return r;
}
