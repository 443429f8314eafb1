/* The gateway's attribute and listing caches (attr_cache.h, dir_cache.h)
 * and what keeps them true: Redis's reports of changed keys, and this
 * process's own changes, which Redis does not report back to the
 * connection that made them. */
#include <string.h>

#include "meta_ops.h"
#include "vfs_impl.h"

void vfs_cached_key_changed(void *arg, const char *key, size_t len)
{
	struct vfs *v = arg;
	if (!key) {
		attr_cache_forget_all(v->attrs);
		if (v->dirs)
			dir_cache_forget_all(v->dirs);
		return;
	}
	/* "{VOL}:i:<ino>" holds an inode's attributes; "{VOL}:d:<ino>" and
	 * "{VOL}:o:<ino>" a directory's entries and their order. Other keys
	 * hold nothing cached. */
	size_t pl = v->key_prefix_len;
	if (len <= pl + 2 || memcmp(key, v->key_prefix, pl) != 0 || key[pl + 1] != ':')
		return;
	char kind = key[pl];
	if (kind != 'i' && kind != 'd' && kind != 'o')
		return;
	mcfs_ino_t ino = 0;
	for (size_t i = pl + 2; i < len; i++) {
		if (key[i] < '0' || key[i] > '9')
			return;
		ino = ino * 10 + (mcfs_ino_t)(key[i] - '0');
	}
	if (kind == 'i')
		attr_cache_forget(v->attrs, ino);
	else if (v->dirs)
		dir_cache_forget(v->dirs, ino);
}

void vfs_dir_changed(struct vfs *v, mcfs_ino_t dir)
{
	vfs_attrs_forget(v, dir);
	if (v->dirs && dir)
		dir_cache_forget(v->dirs, dir);
}

bool *vfs_attrs_watch(struct vfs *v, struct attrs_watch *w)
{
	w->tracked = false;
	w->ticket = v->attrs ? attr_cache_ticket(v->attrs) : 0;
	return v->attrs ? &w->tracked : NULL;
}

int vfs_eval_op_watching(struct vfs *v, const char *script, mcfs_ino_t ino, struct meta_args *a,
			 struct attrs_watch *w, redisReply **rep)
{
	char key[128];
	vfs_ino_key(v, key, "i:", ino);
	bool *tracked = vfs_attrs_watch(v, w);
	return meta_eval_op_track(vfs_meta(v), script, v->setting_key, key, a->n, a->v, a->len,
				  tracked, rep);
}

void vfs_attrs_read(struct vfs *v, const struct mcfs_attr *a, const struct attrs_watch *w)
{
	if (v->attrs && w->tracked)
		attr_cache_put(v->attrs, a, w->ticket);
}

void vfs_attrs_changed_to(struct vfs *v, const struct mcfs_attr *a, const struct attrs_watch *w)
{
	if (!v->attrs)
		return;
	if (w->tracked)
		attr_cache_update(v->attrs, a, w->ticket);
	else
		attr_cache_forget(v->attrs, a->ino);
}

void vfs_attrs_forget(struct vfs *v, mcfs_ino_t ino)
{
	if (v->attrs && ino)
		attr_cache_forget(v->attrs, ino);
}

bool vfs_attrs_servable(struct vfs *v)
{
	/* Settled first: a report that arrives after it is of a change
	 * concurrent with this read, which may then be answered from before. */
	return v->attrs && meta_route_reports_settled(v->route);
}

bool vfs_attrs_get(struct vfs *v, mcfs_ino_t ino, struct mcfs_attr *out)
{
	return vfs_attrs_servable(v) && attr_cache_get(v->attrs, ino, out);
}

void vfs_attr_cache_stats(struct vfs *v, struct attr_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (v->attrs)
		attr_cache_stats(v->attrs, out);
}

void vfs_dir_cache_stats(struct vfs *v, struct dir_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (v->dirs)
		dir_cache_stats(v->dirs, out);
}
