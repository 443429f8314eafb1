/* NFSv3 attribute and file system procedures. */
#include <errno.h>
#include <string.h>

#include "layout.h"
#include "nfs3_proc.h"

void nfs3_null(struct nfs_req *req, void *args, void *res)
{
}

void nfs3_getattr(struct nfs_req *req, void *args, void *res)
{
	GETATTR3args *a = args;
	GETATTR3res *r = res;
	mcfs_ino_t ino;
	struct mcfs_attr at;
	r->status = nfs3_fh_in(req, &a->object, &ino, &at);
	if (r->status == NFS3_OK)
		nfs3_fattr(req->gw, &at, &r->GETATTR3res_u.resok.obj_attributes);
}

void nfs3_setattr(struct nfs_req *req, void *args, void *res)
{
	SETATTR3args *a = args;
	SETATTR3res *r = res;
	wcc_data *wcc = &r->SETATTR3res_u.resok.obj_wcc; /* same place in resfail */
	mcfs_ino_t ino;
	struct mcfs_attr before, after;
	r->status = nfs3_fh_in_write(req, &a->object, &ino, &before);
	if (r->status != NFS3_OK)
		return;
	struct vfs_setattr sa;
	int e = nfs3_sattr(&a->new_attributes, &sa);
	if (e == 0 && a->guard.check) {
		sa.mask |= VFS_SET_GUARD_CTIME;
		sa.guard_ctime.tv_sec = a->guard.sattrguard3_u.obj_ctime.seconds;
		sa.guard_ctime.tv_nsec = a->guard.sattrguard3_u.obj_ctime.nseconds;
	}
	if (e == 0)
		e = vfs_setattr(req->gw->vfs, &req->cred, ino, &sa, &after);
	r->status = nfs3_errno(e);
	if (e == 0) {
		nfs3_wcc(req->gw, &before, &after, wcc);
	} else {
		struct mcfs_attr now;
		bool have = vfs_getattr(req->gw->vfs, ino, &now) == 0;
		nfs3_wcc(req->gw, NULL, have ? &now : NULL, wcc);
	}
}

/* What the caller may do with an object, from its mode bits (RFC 1813 §3.3.4). */
static uint32 access_bits(const struct nfs_req *req, const struct mcfs_attr *a, uint32 want)
{
	unsigned perm = vfs_mode_bits(&req->cred, a);
	uint32 got = 0;
	if (perm & 4)
		got |= ACCESS3_READ;
	if (perm & 2)
		got |= ACCESS3_MODIFY | ACCESS3_EXTEND | (a->type == MCFS_DIR ? ACCESS3_DELETE : 0);
	if (perm & 1)
		got |= a->type == MCFS_DIR ? ACCESS3_LOOKUP : ACCESS3_EXECUTE;
	if (req->exp->read_only)
		got &= ~(uint32)(ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE);
	return got & want;
}

void nfs3_access(struct nfs_req *req, void *args, void *res)
{
	ACCESS3args *a = args;
	ACCESS3res *r = res;
	mcfs_ino_t ino;
	struct mcfs_attr at;
	r->status = nfs3_fh_in(req, &a->object, &ino, &at);
	if (r->status != NFS3_OK)
		return;
	nfs3_post_op(req->gw, &at, &r->ACCESS3res_u.resok.obj_attributes);
	r->ACCESS3res_u.resok.access = access_bits(req, &at, a->access);
}

void nfs3_fsstat(struct nfs_req *req, void *args, void *res)
{
	FSSTAT3args *a = args;
	FSSTAT3res *r = res;
	mcfs_ino_t ino;
	r->status = nfs3_fh_in(req, &a->fsroot, &ino, NULL);
	if (r->status != NFS3_OK)
		return;
	struct vfs_statfs st;
	int e = vfs_statfs(req->gw->vfs, &st);
	r->status = nfs3_errno(e);
	if (e < 0)
		return;
	FSSTAT3resok *ok = &r->FSSTAT3res_u.resok;
	nfs3_post_op_ino(req, ino, &ok->obj_attributes);
	ok->tbytes = st.total_bytes;
	ok->fbytes = st.avail_bytes;
	ok->abytes = st.avail_bytes;
	ok->tfiles = st.total_inodes;
	ok->ffiles = st.avail_inodes;
	ok->afiles = st.avail_inodes;
	ok->invarsec = 0;
}

void nfs3_fsinfo(struct nfs_req *req, void *args, void *res)
{
	FSINFO3args *a = args;
	FSINFO3res *r = res;
	mcfs_ino_t ino;
	r->status = nfs3_fh_in(req, &a->fsroot, &ino, NULL);
	if (r->status != NFS3_OK)
		return;
	FSINFO3resok *ok = &r->FSINFO3res_u.resok;
	nfs3_post_op_ino(req, ino, &ok->obj_attributes);
	ok->rtmax = ok->rtpref = NFS3_MAX_IO;
	ok->wtmax = ok->wtpref = NFS3_MAX_IO;
	ok->rtmult = ok->wtmult = 4096;
	ok->dtpref = 64 * 1024;
	ok->maxfilesize = NFS3_MAX_FILESIZE;
	ok->time_delta.seconds = 0;
	ok->time_delta.nseconds = 1;
	ok->properties = FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME;
}

void nfs3_pathconf(struct nfs_req *req, void *args, void *res)
{
	PATHCONF3args *a = args;
	PATHCONF3res *r = res;
	mcfs_ino_t ino;
	r->status = nfs3_fh_in(req, &a->object, &ino, NULL);
	if (r->status != NFS3_OK)
		return;
	PATHCONF3resok *ok = &r->PATHCONF3res_u.resok;
	nfs3_post_op_ino(req, ino, &ok->obj_attributes);
	ok->linkmax = 65000;
	ok->name_max = MCFS_NAME_MAX;
	ok->no_trunc = TRUE;
	ok->chown_restricted = TRUE;
	ok->case_insensitive = FALSE;
	ok->case_preserving = TRUE;
}
