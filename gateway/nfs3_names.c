/* NFSv3 procedures on names: LOOKUP, READLINK and everything that changes
 * the tree. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nfs3_proc.h"

void nfs3_lookup(struct nfs_req *req, void *args, void *res)
{
	LOOKUP3args *a = args;
	LOOKUP3res *r = res;
	mcfs_ino_t dir;
	struct mcfs_attr at, da;
	r->status = nfs3_fh_in_lazy(req, &a->what.dir, &dir, false);
	if (r->status == NFS3_OK)
		r->status = nfs3_name_ok(a->what.name);
	if (r->status != NFS3_OK)
		return;
	int e;
	bool have_dir = false;
	if (strcmp(a->what.name, "..") == 0 && dir == req->exp->root) {
		e = vfs_getattr(req->gw->vfs, dir, &at); /* never above the export */
		da = at;
		have_dir = e == 0;
	} else {
		e = vfs_lookup_in(req->gw->vfs, &req->cred, dir, a->what.name, &at, &da, &have_dir);
	}
	if (e == 0 && !have_dir)
		have_dir = vfs_getattr(req->gw->vfs, dir, &da) == 0;
	r->status = nfs3_errno(e);
	if (e < 0) {
		nfs3_post_op(req->gw, have_dir ? &da : NULL,
			     &r->LOOKUP3res_u.resfail.dir_attributes);
		return;
	}
	LOOKUP3resok *ok = &r->LOOKUP3res_u.resok;
	if (nfs3_fh_out(req, &at, &ok->object) < 0) {
		r->status = NFS3ERR_SERVERFAULT;
		return;
	}
	nfs3_post_op(req->gw, &at, &ok->obj_attributes);
	nfs3_post_op(req->gw, have_dir ? &da : NULL, &ok->dir_attributes);
}

void nfs3_readlink(struct nfs_req *req, void *args, void *res)
{
	READLINK3args *a = args;
	READLINK3res *r = res;
	mcfs_ino_t ino;
	r->status = nfs3_fh_in(req, &a->symlink, &ino, NULL);
	if (r->status != NFS3_OK)
		return;
	char *target = malloc(MCFS_SYMLINK_MAX + 1);
	int e = target ? vfs_readlink(req->gw->vfs, ino, target, MCFS_SYMLINK_MAX + 1) : -ENOMEM;
	r->status = nfs3_errno(e);
	nfs3_post_op_ino(req, ino, &r->READLINK3res_u.resok.symlink_attributes);
	if (e < 0) {
		free(target);
		return;
	}
	r->READLINK3res_u.resok.data = target;
}

/* The directory handle (of a writable export) and the name of a change. */
static nfsstat3 where_in(struct nfs_req *req, const diropargs3 *where, mcfs_ino_t *dir)
{
	nfsstat3 st = nfs3_fh_in_lazy(req, &where->dir, dir, true);
	return st == NFS3_OK ? nfs3_name_ok(where->name) : st;
}

/* Shared tail of CREATE, MKDIR, SYMLINK and MKNOD. */
static void creation_result(struct nfs_req *req, int e, const struct mcfs_attr *obj,
			    const struct mcfs_attr *dir_after, mcfs_ino_t dir, CREATE3res *r)
{
	r->status = nfs3_errno(e);
	if (e < 0) {
		struct mcfs_attr da;
		bool have = vfs_getattr(req->gw->vfs, dir, &da) == 0;
		nfs3_wcc(req->gw, NULL, have ? &da : NULL, &r->CREATE3res_u.resfail.dir_wcc);
		return;
	}
	CREATE3resok *ok = &r->CREATE3res_u.resok;
	ok->obj.handle_follows = nfs3_fh_out(req, obj, &ok->obj.post_op_fh3_u.handle) == 0;
	nfs3_post_op(req->gw, obj, &ok->obj_attributes);
	nfs3_wcc(req->gw, NULL, dir_after, &ok->dir_wcc);
}

/* Applies what vfs_create does not set itself (ownership, size, times). */
static int apply_rest(struct nfs_req *req, const sattr3 *s, struct mcfs_attr *obj)
{
	struct vfs_setattr sa;
	int e = nfs3_sattr(s, &sa);
	if (e < 0)
		return e;
	sa.mask &= ~(unsigned)VFS_SET_MODE;
	if (sa.mask & VFS_SET_UID && sa.uid == obj->uid)
		sa.mask &= ~(unsigned)VFS_SET_UID;
	if (sa.mask & VFS_SET_GID && sa.gid == obj->gid)
		sa.mask &= ~(unsigned)VFS_SET_GID;
	if (sa.mask & VFS_SET_SIZE && sa.size == obj->size)
		sa.mask &= ~(unsigned)VFS_SET_SIZE;
	if (!sa.mask)
		return 0;
	return vfs_setattr(req->gw->vfs, &req->cred, obj->ino, &sa, obj);
}

static uint16_t mode_of(const sattr3 *s, uint16_t dflt)
{
	return s->mode.set_it ? (uint16_t)(s->mode.set_mode3_u.mode & 07777) : dflt;
}

/* EXCLUSIVE create keeps the client's verifier in atime and mtime seconds,
 * so that a retransmission finds "its" file (the client sets real times next). */
static void verf_times(const createverf3 verf, struct vfs_setattr *sa)
{
	uint32_t w0, w1;
	memcpy(&w0, verf, 4);
	memcpy(&w1, verf + 4, 4);
	memset(sa, 0, sizeof(*sa));
	sa->mask = VFS_SET_ATIME | VFS_SET_MTIME;
	sa->atime.tv_sec = w0 & 0x7fffffff;
	sa->mtime.tv_sec = w1 & 0x7fffffff;
}

static int create_exclusive(struct nfs_req *req, mcfs_ino_t dir, const char *name,
			    const createverf3 verf, struct mcfs_attr *obj, struct mcfs_attr *pa)
{
	struct vfs_setattr sa;
	verf_times(verf, &sa);
	int e = vfs_create(req->gw->vfs, &req->cred, dir, name, 0644, VFS_CREATE_EXCL, obj, pa);
	if (e == 0)
		return vfs_setattr(req->gw->vfs, &req->cred, obj->ino, &sa, obj);
	if (e != -EEXIST)
		return e;
	/* A retransmission of our own create succeeds with the same file. */
	if (vfs_lookup(req->gw->vfs, &req->cred, dir, name, obj) == 0 && obj->type == MCFS_FILE &&
	    obj->atime.tv_sec == sa.atime.tv_sec && obj->mtime.tv_sec == sa.mtime.tv_sec)
		return vfs_getattr(req->gw->vfs, dir, pa);
	return -EEXIST;
}

void nfs3_create(struct nfs_req *req, void *args, void *res)
{
	CREATE3args *a = args;
	CREATE3res *r = res;
	mcfs_ino_t dir;
	r->status = where_in(req, &a->where, &dir);
	if (r->status != NFS3_OK)
		return;
	struct mcfs_attr obj, pa;
	int e;
	if (a->how.mode == EXCLUSIVE) {
		e = create_exclusive(req, dir, a->where.name, a->how.createhow3_u.verf, &obj, &pa);
	} else {
		const sattr3 *s = &a->how.createhow3_u.obj_attributes;
		unsigned flags = a->how.mode == GUARDED ? VFS_CREATE_EXCL : 0;
		e = vfs_create(req->gw->vfs, &req->cred, dir, a->where.name, mode_of(s, 0644),
			       flags, &obj, &pa);
		if (e == 0)
			e = apply_rest(req, s, &obj);
	}
	creation_result(req, e, &obj, &pa, dir, r);
}

void nfs3_mkdir(struct nfs_req *req, void *args, void *res)
{
	MKDIR3args *a = args;
	CREATE3res *r = res;
	mcfs_ino_t dir;
	r->status = where_in(req, &a->where, &dir);
	if (r->status != NFS3_OK)
		return;
	struct mcfs_attr obj, pa;
	int e = vfs_mkdir(req->gw->vfs, &req->cred, dir, a->where.name,
			  mode_of(&a->attributes, 0755), &obj, &pa);
	if (e == 0)
		e = apply_rest(req, &a->attributes, &obj);
	creation_result(req, e, &obj, &pa, dir, r);
}

void nfs3_symlink(struct nfs_req *req, void *args, void *res)
{
	SYMLINK3args *a = args;
	CREATE3res *r = res;
	mcfs_ino_t dir;
	r->status = where_in(req, &a->where, &dir);
	if (r->status != NFS3_OK)
		return;
	struct mcfs_attr obj, pa;
	int e = vfs_symlink(req->gw->vfs, &req->cred, dir, a->where.name, a->symlink.symlink_data,
			    &obj, &pa);
	creation_result(req, e, &obj, &pa, dir, r);
}

void nfs3_mknod(struct nfs_req *req, void *args, void *res)
{
	MKNOD3args *a = args;
	CREATE3res *r = res;
	mcfs_ino_t dir;
	r->status = where_in(req, &a->where, &dir);
	if (r->status != NFS3_OK)
		return;
	enum mcfs_ftype type;
	const sattr3 *s;
	uint32_t major = 0, minor = 0;
	switch (a->what.type) {
	case NF3CHR:
	case NF3BLK:
		type = a->what.type == NF3CHR ? MCFS_CHR : MCFS_BLK;
		s = &a->what.mknoddata3_u.device.dev_attributes;
		major = a->what.mknoddata3_u.device.spec.specdata1;
		minor = a->what.mknoddata3_u.device.spec.specdata2;
		break;
	case NF3SOCK:
	case NF3FIFO:
		type = a->what.type == NF3SOCK ? MCFS_SOCK : MCFS_FIFO;
		s = &a->what.mknoddata3_u.pipe_attributes;
		break;
	default:
		r->status = NFS3ERR_BADTYPE;
		return;
	}
	struct mcfs_attr obj, pa;
	int e = vfs_mknod(req->gw->vfs, &req->cred, dir, a->where.name, type, mode_of(s, 0644),
			  major, minor, &obj, &pa);
	if (e == 0)
		e = apply_rest(req, s, &obj);
	creation_result(req, e, &obj, &pa, dir, r);
}

static void remove_common(struct nfs_req *req, REMOVE3args *a, REMOVE3res *r, bool is_dir)
{
	mcfs_ino_t dir;
	r->status = where_in(req, &a->object, &dir);
	if (r->status != NFS3_OK)
		return;
	struct mcfs_attr pa;
	int e = is_dir ? vfs_rmdir(req->gw->vfs, &req->cred, dir, a->object.name, &pa)
		       : vfs_unlink(req->gw->vfs, &req->cred, dir, a->object.name, &pa);
	r->status = nfs3_errno(e);
	if (e < 0 && vfs_getattr(req->gw->vfs, dir, &pa) < 0) {
		nfs3_wcc(req->gw, NULL, NULL, &r->REMOVE3res_u.resfail.dir_wcc);
		return;
	}
	nfs3_wcc(req->gw, NULL, &pa, &r->REMOVE3res_u.resok.dir_wcc);
}

void nfs3_remove(struct nfs_req *req, void *args, void *res)
{
	remove_common(req, args, res, false);
}

void nfs3_rmdir(struct nfs_req *req, void *args, void *res)
{
	remove_common(req, args, res, true);
}

void nfs3_rename(struct nfs_req *req, void *args, void *res)
{
	RENAME3args *a = args;
	RENAME3res *r = res;
	mcfs_ino_t from, to;
	r->status = nfs3_fh_in_lazy(req, &a->from.dir, &from, true);
	const struct export *from_exp = req->exp;
	if (r->status == NFS3_OK)
		r->status = nfs3_fh_in_lazy(req, &a->to.dir, &to, true);
	if (r->status == NFS3_OK && req->exp != from_exp)
		r->status = NFS3ERR_XDEV;
	if (r->status == NFS3_OK)
		r->status = nfs3_name_ok(a->from.name);
	if (r->status == NFS3_OK)
		r->status = nfs3_name_ok(a->to.name);
	if (r->status != NFS3_OK)
		return;
	struct mcfs_attr fa, ta;
	int e =
	    vfs_rename(req->gw->vfs, &req->cred, from, a->from.name, to, a->to.name, 0, &fa, &ta);
	r->status = nfs3_errno(e);
	if (e < 0) {
		bool hf = vfs_getattr(req->gw->vfs, from, &fa) == 0;
		bool ht = vfs_getattr(req->gw->vfs, to, &ta) == 0;
		nfs3_wcc(req->gw, NULL, hf ? &fa : NULL, &r->RENAME3res_u.resfail.fromdir_wcc);
		nfs3_wcc(req->gw, NULL, ht ? &ta : NULL, &r->RENAME3res_u.resfail.todir_wcc);
		return;
	}
	nfs3_wcc(req->gw, NULL, &fa, &r->RENAME3res_u.resok.fromdir_wcc);
	nfs3_wcc(req->gw, NULL, &ta, &r->RENAME3res_u.resok.todir_wcc);
}

void nfs3_link(struct nfs_req *req, void *args, void *res)
{
	LINK3args *a = args;
	LINK3res *r = res;
	mcfs_ino_t file, dir;
	r->status = nfs3_fh_in_lazy(req, &a->file, &file, true);
	const struct export *file_exp = req->exp;
	if (r->status == NFS3_OK)
		r->status = nfs3_fh_in_lazy(req, &a->link.dir, &dir, true);
	if (r->status == NFS3_OK && req->exp != file_exp)
		r->status = NFS3ERR_XDEV;
	if (r->status == NFS3_OK)
		r->status = nfs3_name_ok(a->link.name);
	if (r->status != NFS3_OK)
		return;
	struct mcfs_attr fa, da;
	int e = vfs_link(req->gw->vfs, &req->cred, file, dir, a->link.name, &fa, &da);
	r->status = nfs3_errno(e);
	bool hf = e == 0 || vfs_getattr(req->gw->vfs, file, &fa) == 0;
	bool hd = e == 0 || vfs_getattr(req->gw->vfs, dir, &da) == 0;
	nfs3_post_op(req->gw, hf ? &fa : NULL, &r->LINK3res_u.resok.file_attributes);
	nfs3_wcc(req->gw, NULL, hd ? &da : NULL, &r->LINK3res_u.resok.linkdir_wcc);
}
