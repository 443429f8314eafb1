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
 *
 * A page is kept in the listing cache (dir_cache.h) when Redis tracks both
 * reads and every name had its entry, and the next listing of the
 * directory is answered from there; the entries' attributes come from the
 * attribute cache, and only those not in it are read, with one MGET whose
 * answers are kept too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "meta_ops.h"
#include "resp.h"
#include "dir_cache.h"
#include "vfs_impl.h"

#define READDIR_PAGE 256
#define COOKIE_GONE  UINT64_MAX

struct page {
	redisReply *names;   /* names, in cookie order */
	redisReply *entries; /* packed <I8 ino, B type[, I8 cookie]> per name, or nil */
	size_t n;	     /* names in this page */
	bool more;	     /* the set holds more after it */
	bool tracked;	     /* Redis tracks both reads for this gateway */
	bool scored;	     /* some cookies came from the order set (ZMSCORE) */
	uint64_t cookie[READDIR_PAGE];
};

static void page_free(struct page *pg)
{
	if (pg->names)
		meta_reply_free(pg->names);
	if (pg->entries)
		meta_reply_free(pg->entries);
}

/* The flag a tracked read fills in, when listings are kept. */
static bool *watch(const struct vfs *v, bool *flag)
{
	*flag = false;
	return v->dirs ? flag : NULL;
}

/* Up to size names after cookie; a page holds one less, the last one only
 * tells that there are more. */
static int read_names(struct vfs *v, mcfs_ino_t dir, uint64_t cookie, size_t size, struct page *pg,
		      bool *tracked)
{
	char key[128], from[24], count[24];
	from[0] = '(';
	const char *argv[7] = {"ZRANGEBYSCORE", key, from, "+inf", "LIMIT", "0", count};
	size_t lens[7] = {13, vfs_ino_key(v, key, "o:", dir), 1 + resp_u64(from + 1, cookie), 4, 5,
			  1,  resp_u64(count, size)};
	int r = vfs_read_cmd_argv_track(v, &pg->names, 7, argv, lens, watch(v, tracked));
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
		     size_t *lens, size_t n, redisReply **out, bool *tracked)
{
	size_t head = key ? 2 : 1;
	args[0] = cmd;
	lens[0] = strlen(cmd);
	if (key) {
		args[1] = key;
		lens[1] = strlen(key);
	}
	int r = vfs_read_cmd_argv_track(v, out, (int)(head + n), args, lens, tracked);
	if (r == 0 && ((*out)->type != REDIS_REPLY_ARRAY || (*out)->elements != n))
		r = -EIO;
	return r;
}

static uint64_t le64(const char *p)
{
	uint64_t x = 0;
	for (int b = 7; b >= 0; b--)
		x = x << 8 | (uint8_t)p[b];
	return x;
}

/* The inode number and type of the page's i-th entry; false when gone. */
static bool entry_of(const struct page *pg, size_t i, mcfs_ino_t *ino, uint8_t *type)
{
	const redisReply *e = pg->entries->element[i];
	if (e->type != REDIS_REPLY_STRING || (e->len != 9 && e->len != 17))
		return false;
	*ino = (mcfs_ino_t)le64(e->str);
	*type = (uint8_t)e->str[8];
	return true;
}

static int read_entries(struct vfs *v, mcfs_ino_t dir, struct page *pg, const char **args,
			size_t *lens, bool *tracked)
{
	char key[128];
	vfs_ino_key(v, key, "d:", dir);
	for (size_t i = 0; i < pg->n; i++) {
		args[2 + i] = pg->names->element[i]->str;
		lens[2 + i] = pg->names->element[i]->len;
	}
	return read_many(v, "HMGET", key, args, lens, pg->n, &pg->entries, watch(v, tracked));
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
	pg->scored = true;
	char key[128];
	vfs_ino_key(v, key, "o:", dir);
	redisReply *scores = NULL;
	int r = read_many(v, "ZMSCORE", key, args, lens, missing, &scores, NULL);
	for (size_t k = 0; r == 0 && k < missing; k++) {
		const redisReply *s = scores->element[k];
		/* Gone from the order set too: skipped, and no cookie to resume from. */
		pg->cookie[at[k]] =
		    s->type == REDIS_REPLY_STRING ? strtoull(s->str, NULL, 10) : COOKIE_GONE;
	}
	meta_reply_free(scores);
	return r;
}

static int read_page(struct vfs *v, mcfs_ino_t dir, uint64_t cookie, size_t size, struct page *pg)
{
	memset(pg, 0, sizeof(*pg));
	bool names_tracked, entries_tracked = false;
	int r = read_names(v, dir, cookie, size, pg, &names_tracked);
	if (r < 0 || pg->n == 0) {
		pg->tracked = names_tracked;
		return r;
	}
	const char **args = malloc((pg->n + 2) * sizeof(*args));
	size_t *lens = malloc((pg->n + 2) * sizeof(*lens));
	r = args && lens ? read_entries(v, dir, pg, args, lens, &entries_tracked) : -ENOMEM;
	if (r == 0)
		r = read_cookies(v, dir, pg, args, lens);
	free(args);
	free(lens);
	pg->tracked = names_tracked && entries_tracked;
	return r;
}

/* The page's names that have their entry, as a segment starting after
 * cookie; *resume is where the next page starts (past names removed
 * meanwhile too). *whole: every name had its entry and its cookie. */
static struct dir_seg *page_to_seg(const struct page *pg, uint64_t cookie, uint64_t *resume,
				   bool *whole)
{
	size_t n = 0, names_len = 0;
	*resume = cookie;
	for (size_t i = 0; i < pg->n; i++) {
		mcfs_ino_t ino;
		uint8_t type;
		if (pg->cookie[i] != COOKIE_GONE)
			*resume = pg->cookie[i];
		if (pg->cookie[i] != COOKIE_GONE && entry_of(pg, i, &ino, &type)) {
			n++;
			names_len += pg->names->element[i]->len + 1;
		}
	}
	*whole = n == pg->n;
	struct dir_seg *s = dir_seg_new(cookie, n, names_len);
	if (!s)
		return NULL;
	char *name = s->names;
	size_t k = 0;
	for (size_t i = 0; i < pg->n; i++) {
		struct dir_seg_entry *e = &s->e[k];
		if (pg->cookie[i] == COOKIE_GONE || !entry_of(pg, i, &e->ino, &e->type))
			continue;
		size_t len = pg->names->element[i]->len;
		memcpy(name, pg->names->element[i]->str, len);
		name[len] = '\0';
		e->name = name;
		e->cookie = pg->cookie[i];
		name += len + 1;
		k++;
	}
	return s;
}

/* The entries after cookie, from the listing cache or read: a segment (a
 * reference) and the index of the first one in it; *last: the directory
 * ends with it; *resume: where the listing goes on after it. */
static int next_segment(struct vfs *v, mcfs_ino_t dir, uint64_t cookie, size_t size,
			struct dir_seg **out, size_t *at, bool *last, uint64_t *resume)
{
	if (v->dirs && meta_route_reports_settled(v->route) &&
	    (*out = dir_cache_get(v->dirs, dir, cookie, at, last)) != NULL) {
		const struct dir_seg *s = *out;
		*resume = s->n ? s->e[s->n - 1].cookie : cookie;
		return 0;
	}
	uint64_t ticket = v->dirs ? dir_cache_ticket(v->dirs) : 0;
	struct page pg;
	int r = read_page(v, dir, cookie, size, &pg);
	bool whole = false;
	*out = r == 0 ? page_to_seg(&pg, cookie, resume, &whole) : NULL;
	if (r == 0 && !*out)
		r = -ENOMEM;
	*at = 0;
	*last = !pg.more;
	if (r == 0 && v->dirs && pg.tracked && whole && !pg.scored)
		dir_cache_add(v->dirs, dir, *out, *last, ticket);
	page_free(&pg);
	return r;
}

/* One tracked MGET for the entries of [at, n) of s whose kept[] is empty
 * (ino 0): what it finds fills kept and the attribute cache. */
static int read_missing_attrs(struct vfs *v, const struct dir_seg *s, size_t at,
			      struct mcfs_attr *kept, size_t missing)
{
	size_t n = s->n - at;
	char(*keys)[128] = malloc(missing * sizeof(*keys));
	const char **args = malloc((missing + 1) * sizeof(*args));
	size_t *lens = malloc((missing + 1) * sizeof(*lens));
	int r = keys && args && lens ? 0 : -ENOMEM;
	for (size_t i = 0, k = 0; r == 0 && i < n; i++) {
		if (kept[i].ino)
			continue;
		args[1 + k] = keys[k];
		lens[1 + k] = vfs_ino_key(v, keys[k], "i:", s->e[at + i].ino);
		k++;
	}
	redisReply *attrs = NULL;
	struct attrs_watch w;
	if (r == 0)
		r = read_many(v, "MGET", NULL, args, lens, missing, &attrs, vfs_attrs_watch(v, &w));
	for (size_t i = 0, k = 0; r == 0 && i < n; i++) {
		if (kept[i].ino)
			continue;
		const redisReply *a = attrs->element[k++];
		if (a->type == REDIS_REPLY_STRING &&
		    attr_unpack(a->str, a->len, s->e[at + i].ino, &kept[i]) == 0)
			vfs_attrs_read(v, &kept[i], &w);
		else
			kept[i].ino = 0; /* the inode went away */
	}
	if (attrs)
		meta_reply_free(attrs);
	free(keys);
	free(args);
	free(lens);
	return r;
}

/* The attributes of entries [at, n) of s: from the attribute cache, the
 * others read so that the next listing finds them cached. kept[i - at].ino
 * is 0 for an entry whose inode went away. */
static int read_attrs(struct vfs *v, const struct dir_seg *s, size_t at, struct mcfs_attr *kept)
{
	bool cached = vfs_attrs_servable(v); /* checked once for the page */
	size_t missing = 0;
	for (size_t i = 0; i < s->n - at; i++) {
		if (cached && attr_cache_get(v->attrs, s->e[at + i].ino, &kept[i]))
			continue;
		kept[i].ino = 0;
		missing++;
	}
	return missing ? read_missing_attrs(v, s, at, kept, missing) : 0;
}

/* Hands entries [at, n) of s to cb; 1 when cb asked to stop. */
static int deliver(struct vfs *v, const struct dir_seg *s, size_t at, struct mcfs_attr *attrs,
		   int (*cb)(const struct vfs_dirent *e, void *arg), void *arg, uint64_t *cookie)
{
	for (size_t i = at; i < s->n; i++) {
		const struct dir_seg_entry *e = &s->e[i];
		struct vfs_dirent de = {
		    .name = e->name, .ino = e->ino, .type = e->type, .cookie = e->cookie};
		struct mcfs_attr *a = attrs ? &attrs[i - at] : NULL;
		if (a && a->ino) {
			vfs_merge_pending(v, a);
			de.attr = a;
		}
		if (cb(&de, arg))
			return 1;
		*cookie = e->cookie;
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
	*eof = false;
	for (;;) {
		/* A name more than wanted tells whether the listing goes on. */
		size_t size = want && want < READDIR_PAGE ? want + 1 : READDIR_PAGE;
		struct dir_seg *s = NULL;
		size_t at = 0;
		bool last = false;
		uint64_t resume = cookie;
		int r = next_segment(v, da->ino, cookie, size, &s, &at, &last, &resume);
		struct mcfs_attr *attrs = NULL;
		if (r == 0 && want_attrs && at < s->n) {
			attrs = malloc((s->n - at) * sizeof(*attrs));
			r = attrs ? read_attrs(v, s, at, attrs) : -ENOMEM;
		}
		int stop = r == 0 ? deliver(v, s, at, attrs, cb, arg, &cookie) : 0;
		free(attrs);
		dir_seg_put(s);
		if (r < 0 || stop)
			return r;
		if (last) {
			*eof = true;
			return 0;
		}
		cookie = resume;
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
