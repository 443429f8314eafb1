/* Helpers shared by the NFSv3 procedures: handles, attributes, errors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nfs3_proc.h"

bool_t xdr_nothing(XDR *xdrs, void *ptr)
{
	return TRUE;
}

nfsstat3 nfs3_errno(int err)
{
	switch (-err) {
	case 0:
		return NFS3_OK;
	case EPERM:
		return NFS3ERR_PERM;
	case ENOENT:
		return NFS3ERR_NOENT;
	case EACCES:
		return NFS3ERR_ACCES;
	case EEXIST:
		return NFS3ERR_EXIST;
	case EXDEV:
		return NFS3ERR_XDEV;
	case ENOTDIR:
		return NFS3ERR_NOTDIR;
	case EISDIR:
		return NFS3ERR_ISDIR;
	case EINVAL:
	case ERANGE:
		return NFS3ERR_INVAL;
	case EFBIG:
		return NFS3ERR_FBIG;
	case ENOSPC:
		return NFS3ERR_NOSPC;
	case EROFS:
		return NFS3ERR_ROFS;
	case EMLINK:
		return NFS3ERR_MLINK;
	case ENAMETOOLONG:
		return NFS3ERR_NAMETOOLONG;
	case ENOTEMPTY:
		return NFS3ERR_NOTEMPTY;
	case EDQUOT:
		return NFS3ERR_DQUOT;
	case ESTALE:
		return NFS3ERR_STALE;
	case EBADMSG:
		return NFS3ERR_BADHANDLE;
	case ENOTSUP:
		return NFS3ERR_NOTSUPP;
	case EAGAIN:
		return NFS3ERR_NOT_SYNC; /* the SETATTR guard */
	/* Metadata or bucket briefly unreachable: the client should retry later. */
	case ECONNREFUSED:
	case ECONNRESET:
	case ETIMEDOUT:
	case EHOSTUNREACH:
	case ENOMEM:
		return NFS3ERR_JUKEBOX;
	case EIO:
		return NFS3ERR_IO;
	default:
		return NFS3ERR_SERVERFAULT;
	}
}

static nfsstat3 check_export(struct nfs_req *req, const struct export *e)
{
	if (!e)
		return NFS3ERR_STALE; /* issued under an export this gateway no longer has */
	if (!gateway_client_ok(req, e))
		return NFS3ERR_ACCES;
	req->exp = e;
	const struct rpc_auth_sys *s = &req->hdr.sys;
	export_map_cred(e, req->hdr.cred_flavor == RPC_AUTH_SYS, s->uid, s->gid, s->gids, s->ngids,
			&req->cred);
	return NFS3_OK;
}

static nfsstat3 decode_handle(struct nfs_req *req, const nfs_fh3 *fh, struct fhandle *h)
{
	int r = fh_decode((const uint8_t *)fh->data.data_val, fh->data.data_len,
			  req->gw->volume_uuid, h);
	if (r < 0)
		return r == -ESTALE ? NFS3ERR_STALE : NFS3ERR_BADHANDLE;
	return check_export(req, gateway_export_by_id(req->gw, h->export_id));
}

nfsstat3 nfs3_fh_in_lazy(struct nfs_req *req, const nfs_fh3 *fh, mcfs_ino_t *ino, bool write)
{
	struct fhandle h;
	nfsstat3 st = decode_handle(req, fh, &h);
	if (st == NFS3_OK && write && req->exp->read_only)
		st = NFS3ERR_ROFS;
	if (st == NFS3_OK)
		*ino = h.ino;
	return st;
}

nfsstat3 nfs3_fh_in(struct nfs_req *req, const nfs_fh3 *fh, mcfs_ino_t *ino, struct mcfs_attr *attr)
{
	struct fhandle h;
	nfsstat3 st = decode_handle(req, fh, &h);
	if (st != NFS3_OK)
		return st;
	struct mcfs_attr a;
	int r = vfs_getattr(req->gw->vfs, h.ino, &a);
	if (r == -ESTALE || (r == 0 && a.generation != h.generation))
		return NFS3ERR_STALE;
	if (r < 0)
		return nfs3_errno(r);
	*ino = h.ino;
	if (attr)
		*attr = a;
	return NFS3_OK;
}

nfsstat3 nfs3_fh_in_write(struct nfs_req *req, const nfs_fh3 *fh, mcfs_ino_t *ino,
			  struct mcfs_attr *attr)
{
	nfsstat3 st = nfs3_fh_in(req, fh, ino, attr);
	if (st == NFS3_OK && req->exp->read_only)
		return NFS3ERR_ROFS;
	return st;
}

int nfs3_fh_out(struct nfs_req *req, const struct mcfs_attr *a, nfs_fh3 *out)
{
	struct fhandle h = {
	    .ino = a->ino, .generation = a->generation, .export_id = req->exp ? req->exp->id : 0};
	memcpy(h.volume, req->gw->volume_uuid, 16);
	out->data.data_val = malloc(FH_SIZE);
	if (!out->data.data_val)
		return -ENOMEM;
	fh_encode(&h, (uint8_t *)out->data.data_val);
	out->data.data_len = FH_SIZE;
	return 0;
}

static ftype3 ftype_of(uint8_t t)
{
	switch (t) {
	case MCFS_DIR:
		return NF3DIR;
	case MCFS_SYMLINK:
		return NF3LNK;
	case MCFS_CHR:
		return NF3CHR;
	case MCFS_BLK:
		return NF3BLK;
	case MCFS_FIFO:
		return NF3FIFO;
	case MCFS_SOCK:
		return NF3SOCK;
	default:
		return NF3REG;
	}
}

static nfstime3 time3(const struct timespec *ts)
{
	nfstime3 t = {.seconds = (uint32)ts->tv_sec, .nseconds = (uint32)ts->tv_nsec};
	return t;
}

void nfs3_fattr(const struct gateway *gw, const struct mcfs_attr *a, fattr3 *out)
{
	out->type = ftype_of(a->type);
	out->mode = a->mode & 07777;
	out->nlink = a->nlink;
	out->uid = a->uid;
	out->gid = a->gid;
	out->size = a->size;
	out->used = attr_space_used(a);
	out->rdev.specdata1 = a->rdev_major;
	out->rdev.specdata2 = a->rdev_minor;
	out->fsid = gw->fsid;
	out->fileid = a->ino;
	out->atime = time3(&a->atime);
	out->mtime = time3(&a->mtime);
	out->ctime = time3(&a->ctime);
}

void nfs3_post_op(const struct gateway *gw, const struct mcfs_attr *a, post_op_attr *out)
{
	out->attributes_follow = a != NULL;
	if (a)
		nfs3_fattr(gw, a, &out->post_op_attr_u.attributes);
}

void nfs3_post_op_ino(struct nfs_req *req, mcfs_ino_t ino, post_op_attr *out)
{
	struct mcfs_attr a;
	nfs3_post_op(req->gw, vfs_getattr(req->gw->vfs, ino, &a) == 0 ? &a : NULL, out);
}

void nfs3_wcc(const struct gateway *gw, const struct mcfs_attr *before,
	      const struct mcfs_attr *after, wcc_data *out)
{
	out->before.attributes_follow = before != NULL;
	if (before) {
		wcc_attr *w = &out->before.pre_op_attr_u.attributes;
		w->size = before->size;
		w->mtime = time3(&before->mtime);
		w->ctime = time3(&before->ctime);
	}
	nfs3_post_op(gw, after, &out->after);
}

int nfs3_sattr(const sattr3 *in, struct vfs_setattr *out)
{
	memset(out, 0, sizeof(*out));
	if (in->mode.set_it) {
		out->mask |= VFS_SET_MODE;
		out->mode = (uint16_t)(in->mode.set_mode3_u.mode & 07777);
	}
	if (in->uid.set_it) {
		out->mask |= VFS_SET_UID;
		out->uid = in->uid.set_uid3_u.uid;
	}
	if (in->gid.set_it) {
		out->mask |= VFS_SET_GID;
		out->gid = in->gid.set_gid3_u.gid;
	}
	if (in->size.set_it) {
		/* Past this the metadata would store another size than asked for. */
		if (in->size.set_size3_u.size > NFS3_MAX_FILESIZE)
			return -EFBIG;
		out->mask |= VFS_SET_SIZE;
		out->size = in->size.set_size3_u.size;
	}
	if (in->atime.set_it == SET_TO_SERVER_TIME) {
		out->mask |= VFS_SET_ATIME_NOW;
	} else if (in->atime.set_it == SET_TO_CLIENT_TIME) {
		out->mask |= VFS_SET_ATIME;
		out->atime.tv_sec = in->atime.set_atime_u.atime.seconds;
		out->atime.tv_nsec = in->atime.set_atime_u.atime.nseconds;
		if (out->atime.tv_nsec >= 1000000000)
			return -EINVAL;
	}
	if (in->mtime.set_it == SET_TO_SERVER_TIME) {
		out->mask |= VFS_SET_MTIME_NOW;
	} else if (in->mtime.set_it == SET_TO_CLIENT_TIME) {
		out->mask |= VFS_SET_MTIME;
		out->mtime.tv_sec = in->mtime.set_mtime_u.mtime.seconds;
		out->mtime.tv_nsec = in->mtime.set_mtime_u.mtime.nseconds;
		if (out->mtime.tv_nsec >= 1000000000)
			return -EINVAL;
	}
	return 0;
}

nfsstat3 nfs3_name_ok(const char *name)
{
	if (!name || !*name)
		return NFS3ERR_INVAL;
	size_t n = strnlen(name, MCFS_NAME_MAX + 1);
	if (n > MCFS_NAME_MAX)
		return NFS3ERR_NAMETOOLONG;
	if (memchr(name, '/', n))
		return NFS3ERR_INVAL;
	return NFS3_OK;
}
