/*
 * Directory listings, a page at a time, with three plain reads: the page of
 * names in creation order (ZRANGEBYSCORE on the order set, whose scores are
 * the cookies), their entries (HMGET on the directory hash) and, for
 * READDIRPLUS, their attributes (MGET). A Lua script did the same in one
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

struct page {
	redisReply *names;   /* name, score, name, score... */
	redisReply *entries; /* packed <I8 ino, B type> per name, or nil */
	redisReply *attrs;   /* packed attributes per found entry, or nil */
	size_t n;	     /* names in this page */
	bool more;	     /* the set holds more after it */
};

static void page_free(struct page *pg)
{
	if (pg->names)
		meta_reply_free(pg->names);
	if (pg->entries)
		meta_reply_free(pg->entries);
	if (pg->attrs)
		meta_reply_free(pg->attrs);
}

static int read_names(struct vfs *v, mcfs_ino_t dir, uint64_t cookie, struct page *pg)
{
	char key[128], from[24], count[24];
	from[0] = '(';
	const char *argv[8] = {"ZRANGEBYSCORE", key,	 from, "+inf",
			       "WITHSCORES",	"LIMIT", "0",  count};
	size_t lens[8] = {
	    13, vfs_ino_key(v, key, "o:", dir),	  1 + resp_u64(from + 1, cookie), 4, 10, 5,
	    1,	resp_u64(count, READDIR_PAGE + 1)};
	int r = vfs_read_cmd_argv(v, &pg->names, 8, argv, lens);
	if (r < 0)
		return r;
	if (pg->names->type != REDIS_REPLY_ARRAY || pg->names->elements % 2)
		return -EIO;
	size_t found = pg->names->elements / 2;
	pg->more = found > READDIR_PAGE;
	pg->n = pg->more ? READDIR_PAGE : found;
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
	if (e->type != REDIS_REPLY_STRING || e->len != 9)
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
		args[2 + i] = pg->names->element[2 * i]->str;
		lens[2 + i] = pg->names->element[2 * i]->len;
	}
	return read_many(v, "HMGET", key, args, lens, pg->n, &pg->entries);
}

/* MGET of the found entries' inodes; attr_at[i] is entry i's index in
 * pg->attrs, or -1. */
static int read_attrs(struct vfs *v, struct page *pg, const char **args, size_t *lens, int *attr_at)
{
	char(*keys)[128] = malloc(pg->n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < pg->n; i++) {
		mcfs_ino_t ino;
		uint8_t type;
		attr_at[i] = -1;
		if (!entry_of(pg, i, &ino, &type))
			continue;
		args[1 + k] = keys[k];
		lens[1 + k] = vfs_ino_key(v, keys[k], "i:", ino);
		attr_at[i] = (int)k++;
	}
	int r = k ? read_many(v, "MGET", NULL, args, lens, k, &pg->attrs) : 0;
	free(keys);
	return r;
}

static int read_page(struct vfs *v, mcfs_ino_t dir, uint64_t cookie, bool plus, struct page *pg,
		     int *attr_at)
{
	memset(pg, 0, sizeof(*pg));
	int r = read_names(v, dir, cookie, pg);
	if (r < 0 || pg->n == 0)
		return r;
	const char **args = malloc((pg->n + 2) * sizeof(*args));
	size_t *lens = malloc((pg->n + 2) * sizeof(*lens));
	r = args && lens ? read_entries(v, dir, pg, args, lens) : -ENOMEM;
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
		const redisReply *score = pg->names->element[2 * i + 1];
		uint64_t ck = strtoull(score->str, NULL, 10);
		struct vfs_dirent de = {.name = pg->names->element[2 * i]->str, .cookie = ck};
		struct mcfs_attr ea;
		if (!entry_of(pg, i, &de.ino, &de.type)) {
			*cookie = ck; /* removed meanwhile: not listed */
			continue;
		}
		const redisReply *a =
		    plus && attr_at[i] >= 0 ? pg->attrs->element[attr_at[i]] : NULL;
		if (a && a->type == REDIS_REPLY_STRING &&
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
		      uint64_t cookie, bool want_attrs,
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
		int r = read_page(v, da->ino, cookie, want_attrs, &pg, attr_at);
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
	return vfs_readdir_known(v, c, &da, cookie, want_attrs, cb, arg, eof);
}
