/* Helpers the NFSv4 operations share: errors, the current file handle,
 * names, attribute encoding, stateids and 4.0 seqid replies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nfs4_proc.h"

nfsstat4 nfs4_errno(int err)
{
	switch (-err) {
	case 0:
		return NFS4_OK;
	case EPERM:
		return NFS4ERR_PERM;
	case ENOENT:
		return NFS4ERR_NOENT;
	case EACCES:
		return NFS4ERR_ACCESS;
	case EEXIST:
		return NFS4ERR_EXIST;
	case EXDEV:
		return NFS4ERR_XDEV;
	case ENOTDIR:
		return NFS4ERR_NOTDIR;
	case EISDIR:
		return NFS4ERR_ISDIR;
	case EINVAL:
	case ERANGE:
		return NFS4ERR_INVAL;
	case EFBIG:
		return NFS4ERR_FBIG;
	case ENOSPC:
		return NFS4ERR_NOSPC;
	case EROFS:
		return NFS4ERR_ROFS;
	case EMLINK:
		return NFS4ERR_MLINK;
	case ENAMETOOLONG:
		return NFS4ERR_NAMETOOLONG;
	case ENOTEMPTY:
		return NFS4ERR_NOTEMPTY;
	case EDQUOT:
		return NFS4ERR_DQUOT;
	case ESTALE:
		return NFS4ERR_STALE;
	case EBADMSG:
		return NFS4ERR_BADHANDLE;
	case ENOTSUP:
		return NFS4ERR_NOTSUPP;
	case ENXIO:
		return NFS4ERR_NXIO;
	case ELOOP:
		return NFS4ERR_SYMLINK;
	/* Metadata or a bucket briefly unreachable: the client retries later. */
	case EAGAIN:
	case ECONNREFUSED:
	case ECONNRESET:
	case ETIMEDOUT:
	case EHOSTUNREACH:
	case ENOMEM:
		return NFS4ERR_DELAY;
	case EIO:
		return NFS4ERR_IO;
	default:
		return NFS4ERR_SERVERFAULT;
	}
}

/* ---- the current file handle ---- */

nfsstat4 nfs4_need_fh(const struct nfs4_compound *c)
{
	return c->cfh.kind == NFS4_FH_NONE ? NFS4ERR_NOFILEHANDLE : NFS4_OK;
}

nfsstat4 nfs4_need_volume(const struct nfs4_compound *c, nfsstat4 if_pseudo)
{
	if (c->cfh.kind == NFS4_FH_NONE)
		return NFS4ERR_NOFILEHANDLE;
	return c->cfh.kind == NFS4_FH_PSEUDO ? if_pseudo : NFS4_OK;
}

nfsstat4 nfs4_need_writable(const struct nfs4_compound *c)
{
	nfsstat4 st = nfs4_need_volume(c, NFS4ERR_ROFS);
	if (st == NFS4_OK && c->cfh.exp->read_only)
		return NFS4ERR_ROFS;
	return st;
}

nfsstat4 nfs4_fh_attr(struct nfs4_compound *c, struct nfs4_fh *fh, struct mcfs_attr **out)
{
	if (fh->kind == NFS4_FH_NONE)
		return NFS4ERR_NOFILEHANDLE;
	if (!fh->attr_valid) {
		int r;
		if (fh->kind == NFS4_FH_PSEUDO)
			r = -(int)np4_getattr(c->srv->pseudo, fh->node, &c->view, &fh->attr);
		else
			r = vfs_getattr(c->req->gw->vfs, fh->ino, &fh->attr);
		if (r == 0 && fh->kind == NFS4_FH_VOLUME && fh->attr.generation != fh->generation)
			r = -ESTALE;
		if (r < 0)
			return fh->kind == NFS4_FH_PSEUDO ? (nfsstat4)-r : nfs4_errno(r);
		fh->attr_valid = true;
	}
	*out = &fh->attr;
	return NFS4_OK;
}

nfsstat4 nfs4_need_dir(struct nfs4_compound *c, bool symlink_err)
{
	struct mcfs_attr *a;
	nfsstat4 st = nfs4_fh_attr(c, &c->cfh, &a);
	if (st != NFS4_OK)
		return st;
	if (a->type == MCFS_DIR)
		return NFS4_OK;
	return symlink_err && a->type == MCFS_SYMLINK ? NFS4ERR_SYMLINK : NFS4ERR_NOTDIR;
}

nfsstat4 nfs4_fh_set_volume(struct nfs4_compound *c, struct nfs4_fh *fh, const struct export *e,
			    const struct mcfs_attr *a)
{
	const struct sockaddr *peer = (const struct sockaddr *)&c->req->rq->peer;
	if (!export_client_allowed(e, peer) || !export_port_allowed(e, peer))
		return NFS4ERR_ACCESS;
	const struct rpc_auth_sys *s = &c->req->hdr.sys;
	fh->kind = NFS4_FH_VOLUME;
	fh->node = 0;
	fh->ino = a->ino;
	fh->generation = a->generation;
	fh->exp = e;
	export_map_cred(e, c->req->hdr.cred_flavor == RPC_AUTH_SYS, s->uid, s->gid, s->gids,
			s->ngids, &fh->cred);
	fh->attr = *a;
	fh->attr_valid = true;
	/* The NFSv3 helpers and logs look at the request's export. */
	c->req->exp = e;
	c->req->cred = fh->cred;
	return NFS4_OK;
}

void nfs4_fh_set_pseudo(struct nfs4_fh *fh, uint64_t node)
{
	memset(fh, 0, sizeof(*fh));
	fh->kind = NFS4_FH_PSEUDO;
	fh->node = node;
	/* Pseudo directories are world-readable; nobody writes them. */
	fh->cred.uid = fh->cred.gid = 65534;
}

nfsstat4 nfs4_fh_set_target(struct nfs4_compound *c, struct nfs4_fh *fh, const struct np4_target *t)
{
	struct mcfs_attr a;
	int r;
	switch (t->kind) {
	case NP4_PSEUDO:
		nfs4_fh_set_pseudo(fh, t->node);
		return NFS4_OK;
	case NP4_EXPORT:
		r = vfs_getattr(c->req->gw->vfs, t->root, &a);
		break;
	case NP4_VOLUME:
		/* Leaving an export upward into one that encloses it: the real
		 * parent directory, served under the enclosing export. */
		if (c->cfh.kind != NFS4_FH_VOLUME)
			return NFS4ERR_SERVERFAULT;
		r = vfs_lookup(c->req->gw->vfs, &c->cfh.cred, c->cfh.ino, "..", &a);
		break;
	default:
		return NFS4ERR_SERVERFAULT;
	}
	if (r < 0)
		return nfs4_errno(r);
	return nfs4_fh_set_volume(c, fh, t->export, &a);
}

nfsstat4 nfs4_fh_from_wire(struct nfs4_compound *c, const nfs_fh4 *in, struct nfs4_fh *out)
{
	const uint8_t *buf = (const uint8_t *)in->nfs_fh4_val;
	size_t len = in->nfs_fh4_len;
	struct gateway *gw = c->req->gw;
	if (np4_is_pseudo_handle(buf, len)) {
		uint64_t node;
		enum np4_status ps = np4_putfh(c->srv->pseudo, buf, len, &c->view, &node);
		if (ps != NP4_OK)
			return (nfsstat4)ps;
		nfs4_fh_set_pseudo(out, node);
		return NFS4_OK;
	}
	struct fhandle h;
	int r = fh_decode(buf, len, gw->volume_uuid, &h);
	if (r < 0)
		return r == -ESTALE ? NFS4ERR_STALE : NFS4ERR_BADHANDLE;
	const struct export *e = gateway_export_by_id(gw, h.export_id);
	if (!e)
		return NFS4ERR_STALE;
	struct mcfs_attr a;
	r = vfs_getattr(gw->vfs, h.ino, &a);
	if (r == -ESTALE || r == -ENOENT || (r == 0 && a.generation != h.generation))
		return NFS4ERR_STALE;
	if (r < 0)
		return nfs4_errno(r);
	return nfs4_fh_set_volume(c, out, e, &a);
}

static void fh_bytes(const struct nfs4_compound *c, const struct nfs4_fh *fh, uint8_t out[FH_SIZE])
{
	if (fh->kind == NFS4_FH_PSEUDO) {
		np4_node_fh(c->srv->pseudo, fh->node, out);
		return;
	}
	struct fhandle h = {
	    .ino = fh->ino, .generation = fh->generation, .export_id = fh->exp ? fh->exp->id : 0};
	memcpy(h.volume, c->req->gw->volume_uuid, 16);
	fh_encode(&h, out);
}

nfsstat4 nfs4_fh_to_wire(const struct nfs4_compound *c, const struct nfs4_fh *fh, nfs_fh4 *out)
{
	if (fh->kind == NFS4_FH_NONE)
		return NFS4ERR_NOFILEHANDLE;
	out->nfs_fh4_val = malloc(FH_SIZE);
	if (!out->nfs_fh4_val)
		return NFS4ERR_DELAY;
	fh_bytes(c, fh, (uint8_t *)out->nfs_fh4_val);
	out->nfs_fh4_len = FH_SIZE;
	return NFS4_OK;
}

/* ---- names ---- */

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t b = s[i];
		size_t len;
		uint32_t cp;
		if (b < 0x80) {
			i++;
			continue;
		} else if ((b & 0xe0) == 0xc0) {
			len = 2;
			cp = b & 0x1f;
		} else if ((b & 0xf0) == 0xe0) {
			len = 3;
			cp = b & 0x0f;
		} else if ((b & 0xf8) == 0xf0) {
			len = 4;
			cp = b & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

nfsstat4 nfs4_component(const component4 *in, char *name)
{
	size_t n = in->utf8string_len;
	const char *s = in->utf8string_val;
	if (n == 0)
		return NFS4ERR_INVAL;
	if (n > MCFS_NAME_MAX)
		return NFS4ERR_NAMETOOLONG;
	if (!utf8_valid((const uint8_t *)s, n))
		return NFS4ERR_INVAL;
	if (memchr(s, '/', n) || memchr(s, '\0', n))
		return NFS4ERR_BADNAME;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return NFS4ERR_BADNAME;
	memcpy(name, s, n);
	name[n] = '\0';
	return NFS4_OK;
}

/* ---- attributes ---- */

nfsstat4 nfs4_attr_ctx_for(struct nfs4_compound *c, struct nfs4_fh *fh, const bitmap4 *req,
			   struct vfs_statfs *statfs, uint8_t fhbuf[FH_SIZE],
			   struct nfs4_attr_ctx *ctx)
{
	struct mcfs_attr *a;
	nfsstat4 st = nfs4_fh_attr(c, fh, &a);
	if (st != NFS4_OK)
		return st;
	memset(ctx, 0, sizeof(*ctx));
	ctx->attr = a;
	fh_bytes(c, fh, fhbuf);
	ctx->fh = fhbuf;
	ctx->fh_len = FH_SIZE;
	/* Each export is a file system of its own to the client (fsid minor =
	 * export id); the pseudo tree is another (minor 0). */
	ctx->fsid_major = c->req->gw->fsid;
	ctx->fsid_minor = fh->kind == NFS4_FH_VOLUME ? fh->exp->id : 0;
	ctx->mounted_on_fileid = fh->kind == NFS4_FH_PSEUDO ? fh->node : a->ino;
	if (fh->kind == NFS4_FH_VOLUME && fh->ino == fh->exp->root) {
		uint64_t node;
		ctx->fs_root = true;
		if (np4_export_node(c->srv->pseudo, fh->exp->id, &node))
			ctx->mounted_on_fileid = node;
	}
	if (fh->kind == NFS4_FH_PSEUDO)
		ctx->fs_root = np4_is_root(c->srv->pseudo, fh->node);
	ctx->lease_time = c->srv->lease_secs;
	ctx->minorversion = c->minorversion;
	ctx->maxread = ctx->maxwrite = NFS4_MAX_IO;
	ctx->maxname = MCFS_NAME_MAX;
	ctx->maxfilesize = MCFS_MAX_FILE_SIZE;
	ctx->idmap = &c->srv->idmap;
	ctx->xattr_support = c->minorversion >= 2;
	if (req && nfs4_attr_need_statfs(req)) {
		int r = vfs_statfs(c->req->gw->vfs, statfs);
		if (r < 0)
			return nfs4_errno(r);
		ctx->statfs = statfs;
	}
	return NFS4_OK;
}

nfsstat4 nfs4_encode_attrs(struct nfs4_compound *c, struct nfs4_fh *fh, const bitmap4 *req,
			   fattr4 *out)
{
	struct vfs_statfs sf;
	uint8_t fhbuf[FH_SIZE];
	struct nfs4_attr_ctx ctx;
	nfsstat4 st = nfs4_attr_ctx_for(c, fh, req, &sf, fhbuf, &ctx);
	if (st != NFS4_OK)
		return st;
	return nfs4_attr_encode(&ctx, req, out);
}

/* ---- stateids ---- */

static bool stateid_is_current(const stateid4 *s)
{
	static const char zero[NS4_OTHER_SIZE];
	return s->seqid == 1 && memcmp(s->other, zero, NS4_OTHER_SIZE) == 0;
}

nfsstat4 nfs4_stateid_in(const struct nfs4_compound *c, const stateid4 *in, struct ns4_stateid *out)
{
	if (c->minorversion > 0 && stateid_is_current(in)) {
		if (!c->cur_stateid_valid)
			return NFS4ERR_BAD_STATEID;
		*out = c->cur_stateid;
		return NFS4_OK;
	}
	out->seqid = in->seqid;
	memcpy(out->other, in->other, NS4_OTHER_SIZE);
	return NFS4_OK;
}

void nfs4_stateid_out(struct nfs4_compound *c, const struct ns4_stateid *in, stateid4 *out)
{
	out->seqid = in->seqid;
	memcpy(out->other, in->other, NS4_OTHER_SIZE);
	c->cur_stateid = *in;
	c->cur_stateid_valid = true;
}

uint64_t nfs4_clientid(const struct nfs4_compound *c)
{
	return c->in_session ? c->clientid : 0;
}

/* ---- 4.0 seqid replies ---- */

void nfs4_set_status(nfs_resop4 *res, nfsstat4 st)
{
	/* Every XXX4res in the union begins with its status. */
	memcpy(&res->nfs_resop4_u, &st, sizeof(st));
}

nfsstat4 nfs4_seq_replay(struct nfs4_compound *c, struct ns4_seqctx *ctx, nfs_resop4 *res)
{
	nfsstat4 st = NFS4ERR_SERVERFAULT;
	if (ctx->reply) {
		XDR x;
		nfs_opnum4 op = res->resop;
		xdrmem_create(&x, ctx->reply, (u_int)ctx->reply_len, XDR_DECODE);
		memset(res, 0, sizeof(*res));
		if (xdr_nfs_resop4(&x, res) && res->resop == op) {
			memcpy(&st, &res->nfs_resop4_u, sizeof(st));
		} else {
			xdr_free((xdrproc_t)xdr_nfs_resop4, (char *)res);
			memset(res, 0, sizeof(*res));
			res->resop = op;
		}
		xdr_destroy(&x);
	}
	free(ctx->reply);
	ctx->reply = NULL;
	return st;
}

void nfs4_seq_record(struct nfs4_compound *c, struct ns4_seqctx *ctx, nfsstat4 st, nfs_resop4 *res)
{
	if (c->minorversion > 0)
		return;
	nfs4_set_status(res, st);
	unsigned long len = xdr_sizeof((xdrproc_t)xdr_nfs_resop4, res);
	void *buf = len ? malloc(len) : NULL;
	if (buf) {
		XDR x;
		xdrmem_create(&x, buf, (u_int)len, XDR_ENCODE);
		if (!xdr_nfs_resop4(&x, res))
			len = 0;
		xdr_destroy(&x);
	}
	/* Without a copy the seqid still advances; a retransmission then gets
	 * SERVERFAULT from the replay rather than a second execution. */
	ns4_seq_end(c->srv->state, ctx, (enum ns4_status)st, buf, buf ? len : 0);
	free(buf);
}

nfsstat4 nfs4_run_seqid(struct nfs4_compound *c, const struct nfs4_seq_owner *o, nfs_argop4 *arg,
			nfs_resop4 *res, nfs4_op_fn body, bool *replayed)
{
	if (c->minorversion >= 1)
		return body(c, arg, res);
	struct ns4_seqctx ctx;
	enum ns4_status rc;
	if (o->stateid) {
		struct ns4_stateid sid;
		nfsstat4 st = nfs4_stateid_in(c, o->stateid, &sid);
		if (st != NFS4_OK)
			return st;
		rc = ns4_seq_stateid_begin(c->srv->state, &sid, o->seqid, o->open_confirm, &ctx);
	} else {
		rc = ns4_seq_open_begin(c->srv->state, o->clientid, o->owner, o->owner_len,
					o->seqid, &ctx);
	}
	if (rc != NS4_OK)
		return (nfsstat4)rc;
	if (ctx.replay) {
		if (replayed)
			*replayed = true;
		return nfs4_seq_replay(c, &ctx, res);
	}
	nfsstat4 st = body(c, arg, res);
	nfs4_seq_record(c, &ctx, st, res);
	return st;
}

/* ---- opens that keep unlinked files ---- */

void nfs4_file_opened(struct nfs4_compound *c, mcfs_ino_t ino)
{
	int r = vfs_open_file(c->req->gw->vfs, ino);
	if (r < 0)
		log_warn("nfs4: cannot record open of inode %llu: %s", (unsigned long long)ino,
			 strerror(-r));
}

void nfs4_file_closed(struct nfs4_server *srv, mcfs_ino_t ino)
{
	int r = vfs_release(srv->gw->vfs, ino);
	if (r < 0 && r != -EBADF)
		log_warn("nfs4: release of inode %llu: %s", (unsigned long long)ino, strerror(-r));
}
