/* Names and attributes: everything that changes the tree is one script. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "log.h"
#include "meta_ops.h"
#include "vfs_impl.h"

bool vfs_name_ok(const char *name)
{
	size_t n = strnlen(name, MCFS_NAME_MAX + 1);
	return n > 0 && n <= MCFS_NAME_MAX && !memchr(name, '/', n);
}

static bool is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

static int name_check(const char *name)
{
	if (strnlen(name, MCFS_NAME_MAX + 1) > MCFS_NAME_MAX)
		return -ENAMETOOLONG;
	return vfs_name_ok(name) ? 0 : -EINVAL;
}

/* Lookups may be served by the local replica (listings too: vfs_readdir.c);
 * every other script changes something and runs on the source. */
static bool read_only_script(const char *script)
{
	return strcmp(script, "lookup") == 0;
}

/* A script's call result r, and its reply's status: the reply is kept
 * only when both say success. */
static int status_of(int r, redisReply **rep)
{
	if (r < 0)
		return r;
	r = reply_status(*rep);
	if (r < 0) {
		meta_reply_free(*rep);
		*rep = NULL;
	}
	return r;
}

static int eval(struct vfs *v, const char *script, struct meta_args *a, redisReply **rep)
{
	return status_of(
	    read_only_script(script)
		? vfs_read_eval(v, script, a->n, a->v, a->len, rep)
		: meta_eval_op(vfs_meta(v), script, v->setting_key, a->n, a->v, a->len, rep),
	    rep);
}

int vfs_getattr_committed(struct vfs *v, mcfs_ino_t ino, struct mcfs_attr *out)
{
	if (vfs_attrs_get(v, ino, out))
		return 0;
	char key[128];
	const char *argv[2] = {"GET", key};
	size_t lens[2] = {3, vfs_ino_key(v, key, "i:", ino)};
	redisReply *r = NULL;
	struct attrs_watch w;
	int rc = vfs_read_cmd_argv_track(v, &r, 2, argv, lens, vfs_attrs_watch(v, &w));
	if (rc < 0)
		return rc;
	if (r->type != REDIS_REPLY_STRING) {
		meta_reply_free(r);
		return -ESTALE;
	}
	rc = attr_unpack(r->str, r->len, ino, out);
	meta_reply_free(r);
	if (rc < 0) {
		log_error("inode %llu has damaged attributes", (unsigned long long)ino);
		return -EIO;
	}
	vfs_attrs_read(v, out, &w);
	return 0;
}

int vfs_getattr(struct vfs *v, mcfs_ino_t ino, struct mcfs_attr *out)
{
	int r = vfs_getattr_committed(v, ino, out);
	if (r == 0)
		vfs_merge_pending(v, out);
	return r;
}

int vfs_lookup(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
	       struct mcfs_attr *out)
{
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		struct mcfs_attr d;
		int r = vfs_getattr(v, dir, &d);
		if (r < 0)
			return r;
		if (d.type != MCFS_DIR)
			return -ENOTDIR;
		if (name[1] == '\0') {
			*out = d;
			return 0;
		}
		return vfs_getattr(v, d.parent, out);
	}
	struct mcfs_attr da;
	bool have_dir;
	return vfs_lookup_in(v, c, dir, name, out, &da, &have_dir);
}

/* A lookup answered from memory: the name from the listing cache, the
 * directory's and the inode's attributes from the attribute cache (or a
 * tracked GET that fills it). Returns 1 when the name is not cached. */
static int lookup_cached(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
			 struct mcfs_attr *out, struct mcfs_attr *dir_out, bool *have_dir)
{
	mcfs_ino_t ino;
	uint8_t type;
	if (!v->dirs || !meta_route_reports_settled(v->route) ||
	    !dir_cache_get_name(v->dirs, dir, name, &ino, &type))
		return 1;
	int r = vfs_getattr_committed(v, dir, dir_out);
	if (r < 0)
		return r;
	*have_dir = true;
	if (dir_out->type != MCFS_DIR)
		return -ENOTDIR;
	if (!(vfs_mode_bits(c, dir_out) & 1))
		return -EACCES;
	if (!ino)
		return -ENOENT;
	/* Gone since (a report on its way): the script tells what is there now. */
	return vfs_getattr_committed(v, ino, out) == 0 ? 0 : 1;
}

int vfs_lookup_in(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
		  struct mcfs_attr *out, struct mcfs_attr *dir_out, bool *have_dir)
{
	*have_dir = false;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return vfs_lookup(v, c, dir, name, out);
	int r = name_check(name);
	if (r < 0)
		return r;
	r = lookup_cached(v, c, dir, name, out, dir_out, have_dir);
	if (r <= 0) {
		if (r == 0)
			vfs_merge_pending(v, out);
		return r;
	}
	*have_dir = false;
	char gids[400], watch[128];
	struct meta_args a;
	args_init(&a);
	args_u64(&a, dir);
	args_str(&a, name);
	args_cred(&a, c, gids, sizeof(gids));
	redisReply *rep = NULL;
	/* Redis tracks the directory's entries (the script reads the key it
	 * declares), so that the answer, found or not, can be kept. The
	 * directory's attributes are not tracked: every create in it would
	 * then cost a report. */
	vfs_ino_key(v, watch, "d:", dir);
	bool tracked = false;
	uint64_t ticket = v->dirs ? dir_cache_ticket(v->dirs) : 0;
	r = vfs_read_eval_track(v, "lookup", watch, a.n, a.v, a.len, v->dirs ? &tracked : NULL,
				&rep);
	if (r < 0)
		return r;
	r = reply_status(rep);
	/* The script answers with the directory's attributes, found or not. */
	if ((r == 0 || r == -ENOENT) && reply_attr(rep, 3, dir, dir_out) == 0)
		*have_dir = true;
	int64_t ino;
	if (r == 0)
		r = reply_int(rep, 1, &ino);
	if (r == 0)
		r = reply_attr(rep, 2, (mcfs_ino_t)ino, out);
	meta_reply_free(rep);
	if (tracked && (r == 0 || r == -ENOENT))
		dir_cache_put_name(v->dirs, dir, name, r == 0 ? out->ino : 0,
				   r == 0 ? out->type : 0, ticket);
	if (r == 0)
		vfs_merge_pending(v, out);
	return r;
}

int vfs_setattr(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino,
		const struct vfs_setattr *sa, struct mcfs_attr *out)
{
	if ((sa->mask & VFS_SET_SIZE) && sa->size > MCFS_MAX_FILE_SIZE)
		return -EFBIG;
	/* Buffered writes land first, so a truncate cuts what the caller wrote before it. */
	if (sa->mask & VFS_SET_SIZE) {
		int r = vfs_flush(v, ino);
		if (r < 0)
			return r;
	}
	char opid[33], gids[400];
	meta_new_opid(opid);
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_u64(&a, ino);
	args_u64(&a, sa->mask);
	args_u64(&a, sa->mode);
	args_u64(&a, sa->uid);
	args_u64(&a, sa->gid);
	args_u64(&a, sa->size);
	args_i64(&a, sa->atime.tv_sec);
	args_i64(&a, sa->atime.tv_nsec);
	args_i64(&a, sa->mtime.tv_sec);
	args_i64(&a, sa->mtime.tv_nsec);
	args_cred(&a, c, gids, sizeof(gids));
	args_i64(&a, sa->guard_ctime.tv_sec);
	args_i64(&a, sa->guard_ctime.tv_nsec);
	redisReply *rep = NULL;
	struct attrs_watch w;
	int r = status_of(vfs_eval_op_watching(v, "setattr", ino, &a, &w, &rep), &rep);
	if (r < 0) {
		vfs_attrs_forget(v, ino);
		return r;
	}
	r = reply_attr(rep, 1, ino, out);
	meta_reply_free(rep);
	if (r == 0)
		vfs_attrs_changed_to(v, out, &w); /* the script read them back */
	else
		vfs_attrs_forget(v, ino);
	if (r == 0)
		vfs_merge_pending(v, out);
	return r;
}

static int mknode(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
		  enum mcfs_ftype type, uint16_t mode, uint32_t rmaj, uint32_t rmin,
		  const char *target, bool excl, struct mcfs_attr *out, struct mcfs_attr *pout)
{
	if (is_dot(name))
		return -EEXIST;
	int r = name_check(name);
	if (r < 0)
		return r;
	uint64_t ino_new, order;
	r = vfs_take_id(v, &v->inode_ids, &ino_new);
	if (r == 0)
		r = vfs_take_id(v, &v->order_ids, &order);
	if (r < 0)
		return r;
	char opid[33], gids[400];
	meta_new_opid(opid);
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_str(&a, name);
	args_gids(&a, c, gids, sizeof(gids));
	args_str(&a, target ? target : "");
	args_pack_u64(&a, dir);
	args_pack_u64(&a, ino_new);
	args_pack_u64(&a, order);
	args_pack_u32(&a, type);
	args_pack_u32(&a, mode & 07777);
	args_pack_u32(&a, c->uid);
	args_pack_u32(&a, c->gid);
	args_pack_u32(&a, rmaj);
	args_pack_u32(&a, rmin);
	args_pack_u32(&a, excl);
	args_packed_end(&a);
	redisReply *rep = NULL;
	struct attrs_watch w;
	r = vfs_eval_op_watching(v, "mknode", ino_new, &a, &w, &rep);
	vfs_dir_changed(v, dir);
	if (r < 0)
		return r;
	r = reply_status(rep);
	int64_t ino = 0;
	if (r == 0 && reply_int(rep, 1, &ino) == 0) {
		r = reply_attr(rep, 2, (mcfs_ino_t)ino, out);
		/* The script read the new inode back; a file found existing is
		 * another key, not tracked. */
		if (r == 0) {
			w.tracked = w.tracked && out->ino == ino_new;
			vfs_attrs_changed_to(v, out, &w);
		}
		if (r == 0 && pout)
			r = reply_attr(rep, 3, dir, pout);
	}
	meta_reply_free(rep);
	if (r == 0)
		vfs_merge_pending(v, out);
	return r;
}

int vfs_create(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
	       uint16_t mode, unsigned flags, struct mcfs_attr *out, struct mcfs_attr *parent_out)
{
	return mknode(v, c, dir, name, MCFS_FILE, mode, 0, 0, NULL, flags & VFS_CREATE_EXCL, out,
		      parent_out);
}

int vfs_mkdir(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
	      uint16_t mode, struct mcfs_attr *out, struct mcfs_attr *parent_out)
{
	return mknode(v, c, dir, name, MCFS_DIR, mode, 0, 0, NULL, true, out, parent_out);
}

int vfs_mknod(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
	      enum mcfs_ftype type, uint16_t mode, uint32_t rdev_major, uint32_t rdev_minor,
	      struct mcfs_attr *out, struct mcfs_attr *parent_out)
{
	if (type != MCFS_CHR && type != MCFS_BLK && type != MCFS_FIFO && type != MCFS_SOCK)
		return -EINVAL;
	return mknode(v, c, dir, name, type, mode, rdev_major, rdev_minor, NULL, true, out,
		      parent_out);
}

int vfs_symlink(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
		const char *target, struct mcfs_attr *out, struct mcfs_attr *parent_out)
{
	size_t n = strnlen(target, MCFS_SYMLINK_MAX + 1);
	if (n == 0)
		return -ENOENT;
	if (n > MCFS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	return mknode(v, c, dir, name, MCFS_SYMLINK, 0777, 0, 0, target, true, out, parent_out);
}

int vfs_readlink(struct vfs *v, mcfs_ino_t ino, char *buf, size_t len)
{
	char key[128], suffix[40];
	snprintf(suffix, sizeof(suffix), "s:%llu", (unsigned long long)ino);
	redisReply *r = NULL;
	int rc = vfs_read_cmdf(v, &r, "GET %s", volume_key(key, sizeof(key), v->vol.name, suffix));
	if (rc < 0)
		return rc;
	if (r->type != REDIS_REPLY_STRING) {
		meta_reply_free(r);
		struct mcfs_attr a;
		rc = vfs_getattr_committed(v, ino, &a);
		return rc < 0 ? rc : -EINVAL; /* exists but is no symlink */
	}
	if ((size_t)r->len >= len) {
		meta_reply_free(r);
		return -ENAMETOOLONG;
	}
	memcpy(buf, r->str, r->len);
	buf[r->len] = '\0';
	meta_reply_free(r);
	return 0;
}

int vfs_link(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, mcfs_ino_t dir,
	     const char *name, struct mcfs_attr *out, struct mcfs_attr *parent_out)
{
	if (is_dot(name))
		return -EEXIST;
	int r = name_check(name);
	if (r < 0)
		return r;
	char opid[33], gids[400];
	meta_new_opid(opid);
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_u64(&a, ino);
	args_u64(&a, dir);
	args_str(&a, name);
	args_cred(&a, c, gids, sizeof(gids));
	redisReply *rep = NULL;
	r = eval(v, "link", &a, &rep);
	vfs_attrs_forget(v, ino);
	vfs_dir_changed(v, dir);
	if (r < 0)
		return r;
	r = reply_attr(rep, 1, ino, out);
	if (r == 0 && parent_out)
		r = reply_attr(rep, 2, dir, parent_out);
	meta_reply_free(rep);
	if (r == 0)
		vfs_merge_pending(v, out);
	return r;
}

static int remove_name(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
		       bool is_dir, struct mcfs_attr *parent_out)
{
	if (is_dot(name))
		return is_dir && name[1] == '.' ? -ENOTEMPTY : -EINVAL;
	int r = name_check(name);
	if (r < 0)
		return r;
	char opid[33], gids[400];
	meta_new_opid(opid);
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_str(&a, name);
	args_gids(&a, c, gids, sizeof(gids));
	args_pack_u64(&a, dir);
	args_pack_u32(&a, is_dir);
	args_pack_u32(&a, c->uid);
	args_packed_end(&a);
	redisReply *rep = NULL;
	r = eval(v, "unlink", &a, &rep);
	vfs_dir_changed(v, dir);
	if (r < 0)
		return r;
	int64_t victim;
	if (reply_int(rep, 2, &victim) == 0) {
		vfs_dir_changed(v, (mcfs_ino_t)victim); /* perhaps a directory */
	}
	if (parent_out)
		r = reply_attr(rep, 1, dir, parent_out);
	meta_reply_free(rep);
	return r;
}

int vfs_unlink(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
	       struct mcfs_attr *parent_out)
{
	return remove_name(v, c, dir, name, false, parent_out);
}

int vfs_rmdir(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
	      struct mcfs_attr *parent_out)
{
	return remove_name(v, c, dir, name, true, parent_out);
}

int vfs_rename(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t src_dir, const char *src_name,
	       mcfs_ino_t dst_dir, const char *dst_name, unsigned flags,
	       struct mcfs_attr *src_dir_out, struct mcfs_attr *dst_dir_out)
{
	if (is_dot(src_name) || is_dot(dst_name))
		return -EINVAL;
	int r = name_check(src_name);
	if (r == 0)
		r = name_check(dst_name);
	if (r < 0)
		return r;
	char opid[33], gids[400];
	meta_new_opid(opid);
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_u64(&a, src_dir);
	args_str(&a, src_name);
	args_u64(&a, dst_dir);
	args_str(&a, dst_name);
	args_cred(&a, c, gids, sizeof(gids));
	args_str(&a, flags & VFS_RENAME_NOREPLACE ? "1" : "0");
	redisReply *rep = NULL;
	r = eval(v, "rename", &a, &rep);
	vfs_dir_changed(v, src_dir);
	vfs_dir_changed(v, dst_dir);
	if (r < 0)
		return r;
	int64_t moved, replaced;
	if (reply_int(rep, 3, &moved) == 0)
		vfs_attrs_forget(v, (mcfs_ino_t)moved);
	if (reply_int(rep, 5, &replaced) == 0) {
		vfs_dir_changed(v, (mcfs_ino_t)replaced);
	}
	if (src_dir_out)
		r = reply_attr(rep, 1, src_dir, src_dir_out);
	if (r == 0 && dst_dir_out)
		r = reply_attr(rep, 2, dst_dir, dst_dir_out);
	meta_reply_free(rep);
	return r;
}

int vfs_statfs(struct vfs *v, struct vfs_statfs *out)
{
	char key[128];
	redisReply *r = NULL;
	int rc = vfs_read_cmdf(v, &r, "HMGET %s space inodes",
			       volume_key(key, sizeof(key), v->vol.name, "usage"));
	if (rc < 0)
		return rc;
	uint64_t used = 0, inodes = 0;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		if (r->element[0]->type == REDIS_REPLY_STRING)
			used = strtoull(r->element[0]->str, NULL, 10);
		if (r->element[1]->type == REDIS_REPLY_STRING)
			inodes = strtoull(r->element[1]->str, NULL, 10);
	}
	meta_reply_free(r);
	/* A bucket has no fixed size: report a large, steady capacity (1 PiB, 1e12 inodes). */
	const uint64_t capacity = 1ULL << 50, max_inodes = 1000000000000ULL;
	out->total_bytes = capacity > used ? capacity : used;
	out->used_bytes = used;
	out->avail_bytes = out->total_bytes - used;
	out->total_inodes = max_inodes > inodes ? max_inodes : inodes;
	out->used_inodes = inodes;
	out->avail_inodes = out->total_inodes - inodes;
	return 0;
}

static bool cred_has_group(const struct mcfs_cred *c, uint32_t gid)
{
	if (c->gid == gid)
		return true;
	for (uint32_t i = 0; i < c->ngroups && i < MCFS_MAX_GROUPS; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

unsigned vfs_mode_bits(const struct mcfs_cred *c, const struct mcfs_attr *a)
{
	if (c->uid == 0)
		return a->type == MCFS_DIR || (a->mode & 0111) ? 7 : 6;
	if (a->uid == c->uid)
		return (a->mode >> 6) & 7;
	if (cred_has_group(c, a->gid))
		return (a->mode >> 3) & 7;
	return a->mode & 7;
}

int vfs_access(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, unsigned mask)
{
	struct mcfs_attr a;
	int r = vfs_getattr_committed(v, ino, &a);
	if (r < 0)
		return r;
	mask &= 7;
	return (vfs_mode_bits(c, &a) & mask) == mask ? 0 : -EACCES;
}

/* ---- extended attributes */

static int xattr_name_check(const char *name)
{
	size_t n = strnlen(name, MCFS_XATTR_NAME_MAX + 1);
	if (n == 0)
		return -EINVAL;
	return n > MCFS_XATTR_NAME_MAX ? -ERANGE : 0;
}

int vfs_getxattr(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, const char *name,
		 void *buf, size_t len, size_t *out_len)
{
	int r = xattr_name_check(name);
	if (r == 0)
		r = vfs_access(v, c, ino, 4);
	if (r < 0)
		return r;
	char key[128], suffix[40];
	snprintf(suffix, sizeof(suffix), "x:%llu", (unsigned long long)ino);
	redisReply *rep = NULL;
	r = vfs_read_cmdf(v, &rep, "HGET %s %s", volume_key(key, sizeof(key), v->vol.name, suffix),
			  name);
	if (r < 0)
		return r;
	if (rep->type != REDIS_REPLY_STRING) {
		meta_reply_free(rep);
		return -ENODATA;
	}
	*out_len = rep->len;
	if (buf && len) {
		if ((size_t)rep->len > len)
			r = -ERANGE;
		else
			memcpy(buf, rep->str, rep->len);
	}
	meta_reply_free(rep);
	return r;
}

int vfs_setxattr(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, const char *name,
		 const void *value, size_t len, unsigned flags)
{
	int r = xattr_name_check(name);
	if (r < 0)
		return r;
	if (len > MCFS_XATTR_SIZE_MAX)
		return -E2BIG;
	char opid[33], gids[400];
	meta_new_opid(opid);
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_u64(&a, ino);
	args_str(&a, name);
	args_bin(&a, value ? value : "", len);
	args_u64(&a, flags & 3);
	args_cred(&a, c, gids, sizeof(gids));
	redisReply *rep = NULL;
	r = eval(v, "xattr_set", &a, &rep);
	vfs_attrs_forget(v, ino); /* its ctime */
	if (rep)
		meta_reply_free(rep);
	return r;
}

int vfs_listxattr(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, char *buf, size_t len,
		  size_t *out_len)
{
	int r = vfs_access(v, c, ino, 4);
	if (r < 0)
		return r;
	char key[128], suffix[40];
	snprintf(suffix, sizeof(suffix), "x:%llu", (unsigned long long)ino);
	redisReply *rep = NULL;
	r = vfs_read_cmdf(v, &rep, "HKEYS %s", volume_key(key, sizeof(key), v->vol.name, suffix));
	if (r < 0)
		return r;
	size_t total = 0;
	for (size_t i = 0; i < rep->elements; i++)
		total += rep->element[i]->len + 1;
	*out_len = total;
	if (buf && len) {
		if (total > len) {
			r = -ERANGE;
		} else {
			size_t off = 0;
			for (size_t i = 0; i < rep->elements; i++) {
				memcpy(buf + off, rep->element[i]->str, rep->element[i]->len + 1);
				off += rep->element[i]->len + 1;
			}
		}
	}
	meta_reply_free(rep);
	return r;
}

int vfs_removexattr(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, const char *name)
{
	int r = xattr_name_check(name);
	if (r < 0)
		return r;
	char opid[33], gids[400];
	meta_new_opid(opid);
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_u64(&a, ino);
	args_str(&a, name);
	args_cred(&a, c, gids, sizeof(gids));
	redisReply *rep = NULL;
	r = eval(v, "xattr_remove", &a, &rep);
	vfs_attrs_forget(v, ino);
	if (rep)
		meta_reply_free(rep);
	return r;
}
