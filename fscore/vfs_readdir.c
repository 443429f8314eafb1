/*
 * Directory listings, a page at a time, with three plain reads: the page of
 * names in creation order (ZRANGEBYSCORE on the order set, whose scores are
 * the cookies), their entries (HMGET on the directory hash, each holding its
 * cookie too) and, for READDIRPLUS, their attributes (MGET). The cookies come
 * from the entries because Redis formats scores as floats, which took three
 * quarters of its time for a page; entries made before they held their
 * cookie (9 bytes) have theirs asked for with ZMSCORE. A Lua script did the same in one
 * round trip but spent about 10 us per entry in the interpreter, which made
 * the metadata server the bound of every listing.
 *
 * The three reads are not one snapshot; neither is any NFS listing. A name
 * removed between them is left out, and an entry whose inode went away is
 * listed without attributes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "meta_ops.h"
#include "resp.h"
#include "vfs_impl.h"

#define READDIR_PAGE 256
#define COOKIE_GONE  UINT64_MAX

struct page {
	redisReply *names;	/* names, in cookie order */
	redisReply *entries;	/* packed <I8 ino, B type[, I8 cookie]> per name, or nil */
	redisReply *attrs;	/* packed attributes per entry not in the cache, or nil */
	struct mcfs_attr *kept; /* per name: attributes from the cache (ino 0: none) */
	size_t n;		/* names in this page */
	bool more;		/* the set holds more after it */
	uint64_t cookie[READDIR_PAGE];
};

static void page_free(struct page *pg)
{
	if (pg->names)
		meta_reply_free(pg->names);
	if (pg->entries)
		meta_reply_free(pg->entries);
	if (pg->attrs)
		meta_reply_free(pg->attrs);
	free(pg->kept);
}

/* Up to size names after cookie; a page holds one less, the last one only
 * tells that there are more. */
static int read_names(struct vfs *v, mcfs_ino_t dir, uint64_t cookie, size_t size, struct page *pg)
{
	char key[128], from[24], count[24];
	from[0] = '(';
	const char *argv[7] = {"ZRANGEBYSCORE", key, from, "+inf", "LIMIT", "0", count};
	size_t lens[7] = {13, vfs_ino_key(v, key, "o:", dir), 1 + resp_u64(from + 1, cookie), 4, 5,
			  1,  resp_u64(count, size)};
	int r = vfs_read_cmd_argv(v, &pg->names, 7, argv, lens);
	if (r < 0)
		return r;
	if (pg->names->type != REDIS_REPLY_ARRAY)
		return -EIO;
	size_t found = pg->names->elements;
	pg->more = found >= size;
	pg->n = pg->more ? size - 1 : found;
	return 0;
}

/* A command with a fixed head (cmd, and key unless NULL) and n more
 * arguments; the reply must be an array of one element per argument. */
static int read_many(struct vfs *v, const char *cmd, const char *key, const char **args,
		     size_t *lens, size_t n, redisReply **out)
{
	size_t head = key ? 2 : 1;
	args[0] = cmd;
	lens[0] = strlen(cmd);
	if (key) {
		args[1] = key;
		lens[1] = strlen(key);
	}
	int r = vfs_read_cmd_argv(v, out, (int)(head + n), args, lens);
	if (r == 0 && ((*out)->type != REDIS_REPLY_ARRAY || (*out)->elements != n))
		r = -EIO;
	return r;
}

/* The inode number and type of the page's i-th entry; false when gone. */
static bool entry_of(const struct page *pg, size_t i, mcfs_ino_t *ino, uint8_t *type)
{
	const redisReply *e = pg->entries->element[i];
	if (e->type != REDIS_REPLY_STRING || (e->len != 9 && e->len != 17))
		return false;
	uint64_t x = 0;
	for (int b = 7; b >= 0; b--)
		x = x << 8 | (uint8_t)e->str[b];
	*ino = (mcfs_ino_t)x;
	*type = (uint8_t)e->str[8];
	return true;
}

static int read_entries(struct vfs *v, mcfs_ino_t dir, struct page *pg, const char **args,
			size_t *lens)
{
	char key[128];
	vfs_ino_key(v, key, "d:", dir);
	for (size_t i = 0; i < pg->n; i++) {
		args[2 + i] = pg->names->element[i]->str;
		lens[2 + i] = pg->names->element[i]->len;
	}
	return read_many(v, "HMGET", key, args, lens, pg->n, &pg->entries);
}

static uint64_t le64(const char *p)
{
	uint64_t x = 0;
	for (int b = 7; b >= 0; b--)
		x = x << 8 | (uint8_t)p[b];
	return x;
}

/* Each name's cookie: from its entry, or from the order set for entries
 * without one (older ones, and names removed since the page was read). */
static int read_cookies(struct vfs *v, mcfs_ino_t dir, struct page *pg, const char **args,
			size_t *lens)
{
	size_t missing = 0, at[READDIR_PAGE];
	for (size_t i = 0; i < pg->n; i++) {
		const redisReply *e = pg->entries->element[i];
		if (e->type == REDIS_REPLY_STRING && e->len == 17) {
			pg->cookie[i] = le64(e->str + 9);
			continue;
		}
		args[2 + missing] = pg->names->element[i]->str;
		lens[2 + missing] = pg->names->element[i]->len;
		at[missing++] = i;
	}
	if (missing == 0)
		return 0;
	char key[128];
	vfs_ino_key(v, key, "o:", dir);
	redisReply *scores = NULL;
	int r = read_many(v, "ZMSCORE", key, args, lens, missing, &scores);
	for (size_t k = 0; r == 0 && k < missing; k++) {
		const redisReply *s = scores->element[k];
		/* Gone from the order set too: skipped, and no cookie to resume from. */
		pg->cookie[at[k]] =
		    s->type == REDIS_REPLY_STRING ? strtoull(s->str, NULL, 10) : COOKIE_GONE;
	}
	meta_reply_free(scores);
	return r;
}

/* Keeps the attributes MGET found in the cache, when Redis tracks them. */
static void keep_attrs(struct vfs *v, const struct page *pg, const int *attr_at,
		       const struct attrs_watch *w)
{
	for (size_t i = 0; w->tracked && i < pg->n; i++) {
		mcfs_ino_t ino;
		uint8_t type;
		if (attr_at[i] < 0 || !entry_of(pg, i, &ino, &type))
			continue;
		const redisReply *a = pg->attrs->element[attr_at[i]];
		struct mcfs_attr ea;
		if (a->type == REDIS_REPLY_STRING && attr_unpack(a->str, a->len, ino, &ea) == 0)
			vfs_attrs_read(v, &ea, w);
	}
}

/* The found entries' attributes: from the attribute cache, the others
 * with one MGET, tracked so that the next listing finds them cached.
 * attr_at[i] is entry i's index in pg->attrs, or -1 (cached or gone). */
static int read_attrs(struct vfs *v, struct page *pg, const char **args, size_t *lens, int *attr_at)
{
	char(*keys)[128] = malloc(pg->n * sizeof(*keys));
	pg->kept = calloc(pg->n, sizeof(*pg->kept));
	if (!keys || !pg->kept) {
		free(keys);
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < pg->n; i++) {
		mcfs_ino_t ino;
		uint8_t type;
		attr_at[i] = -1;
		if (!entry_of(pg, i, &ino, &type) || vfs_attrs_get(v, ino, &pg->kept[i]))
			continue;
		pg->kept[i].ino = 0;
		args[1 + k] = keys[k];
		lens[1 + k] = vfs_ino_key(v, keys[k], "i:", ino);
		attr_at[i] = (int)k++;
	}
	struct attrs_watch w;
	int r = 0;
	if (k) {
		args[0] = "MGET";
		lens[0] = 4;
		r = vfs_read_cmd_argv_track(v, &pg->attrs, (int)(1 + k), args, lens,
					    vfs_attrs_watch(v, &w));
		if (r == 0 && (pg->attrs->type != REDIS_REPLY_ARRAY || pg->attrs->elements != k))
			r = -EIO;
		if (r == 0)
			keep_attrs(v, pg, attr_at, &w);
	}
	free(keys);
	return r;
}

static int read_page(struct vfs *v, mcfs_ino_t dir, uint64_t cookie, bool plus, size_t size,
		     struct page *pg, int *attr_at)
{
	memset(pg, 0, sizeof(*pg));
	int r = read_names(v, dir, cookie, size, pg);
	if (r < 0 || pg->n == 0)
		return r;
	const char **args = malloc((pg->n + 2) * sizeof(*args));
	size_t *lens = malloc((pg->n + 2) * sizeof(*lens));
	r = args && lens ? read_entries(v, dir, pg, args, lens) : -ENOMEM;
	if (r == 0)
		r = read_cookies(v, dir, pg, args, lens);
	if (r == 0 && plus)
		r = read_attrs(v, pg, args, lens, attr_at);
	free(args);
	free(lens);
	return r;
}

/* Hands the page's entries to cb; 1 when cb asked to stop. */
static int deliver(struct vfs *v, struct page *pg, const int *attr_at, bool plus,
		   int (*cb)(const struct vfs_dirent *e, void *arg), void *arg, uint64_t *cookie)
{
	for (size_t i = 0; i < pg->n; i++) {
		uint64_t ck = pg->cookie[i];
		struct vfs_dirent de = {.name = pg->names->element[i]->str, .cookie = ck};
		struct mcfs_attr ea;
		if (!entry_of(pg, i, &de.ino, &de.type)) {
			if (ck != COOKIE_GONE)
				*cookie = ck; /* removed meanwhile: not listed */
			continue;
		}
		const redisReply *a =
		    plus && attr_at[i] >= 0 ? pg->attrs->element[attr_at[i]] : NULL;
		if (plus && pg->kept[i].ino) {
			ea = pg->kept[i];
			vfs_merge_pending(v, &ea);
			de.attr = &ea;
		} else if (a && a->type == REDIS_REPLY_STRING &&
			   attr_unpack(a->str, a->len, de.ino, &ea) == 0) {
			vfs_merge_pending(v, &ea);
			de.attr = &ea;
		}
		if (cb(&de, arg))
			return 1;
		*cookie = ck;
	}
	return 0;
}

int vfs_readdir_known(struct vfs *v, const struct mcfs_cred *c, const struct mcfs_attr *da,
		      uint64_t cookie, bool want_attrs, size_t want,
		      int (*cb)(const struct vfs_dirent *e, void *arg), void *arg, bool *eof)
{
	if (da->type != MCFS_DIR)
		return -ENOTDIR;
	if (!(vfs_mode_bits(c, da) & 4))
		return -EACCES;
	int attr_at[READDIR_PAGE];
	*eof = false;
	for (;;) {
		struct page pg;
		/* A name more than wanted tells whether the listing goes on. */
		size_t size = want && want < READDIR_PAGE ? want + 1 : READDIR_PAGE;
		int r = read_page(v, da->ino, cookie, want_attrs, size, &pg, attr_at);
		int stop = r == 0 ? deliver(v, &pg, attr_at, want_attrs, cb, arg, &cookie) : 0;
		bool more = pg.more;
		page_free(&pg);
		if (r < 0 || stop)
			return r;
		if (!more) {
			*eof = true;
			return 0;
		}
	}
}

int vfs_readdir(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, uint64_t cookie,
		bool want_attrs, int (*cb)(const struct vfs_dirent *e, void *arg), void *arg,
		bool *eof)
{
	struct mcfs_attr da;
	int r = vfs_getattr_committed(v, dir, &da);
	if (r < 0)
		return r;
	return vfs_readdir_known(v, c, &da, cookie, want_attrs, 0, cb, arg, eof);
}
