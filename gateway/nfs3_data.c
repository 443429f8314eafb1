/* READ, WRITE and COMMIT. UNSTABLE writes are buffered by the vfs and made
 * durable by COMMIT; FILE_SYNC and DATA_SYNC writes are committed before
 * the reply. The write verifier changes on every gateway start, so a client
 * whose UNSTABLE data died with a gateway sees it and writes again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nfs3_proc.h"

/* Where READ3resok's data lands in the encoded results: status, post_op_attr
 * with attributes (nfs3_read always sends them), count, eof, data length. */
#define READ3_DATA_OFFSET (4 + 4 + 84 + 4 + 4 + 4)

/* READ3res whose data was read straight into the reply (nfs_results_area):
 * encoding only steps over it, where xdr_bytes would copy up to a megabyte.
 * Data found elsewhere (a header of another length) is moved into place.
 * No data (NULL) with a length: the bytes follow from a file (req->file),
 * so the encoding ends with their length. */
bool_t xdr_READ3res_inplace(XDR *xdrs, READ3res *r)
{
	if (xdrs->x_op == XDR_FREE) {
		if (r->status == NFS3_OK)
			r->READ3res_u.resok.data.data_val = NULL; /* inside the reply */
		return xdr_READ3res(xdrs, r);
	}
	if (xdrs->x_op != XDR_ENCODE || r->status != NFS3_OK)
		return xdr_READ3res(xdrs, r);
	READ3resok *ok = &r->READ3res_u.resok;
	u_int len = ok->data.data_len;
	if (!xdr_nfsstat3(xdrs, &r->status) || !xdr_post_op_attr(xdrs, &ok->file_attributes) ||
	    !xdr_count3(xdrs, &ok->count) || !xdr_bool(xdrs, &ok->eof) || !xdr_u_int(xdrs, &len))
		return FALSE;
	if (len && !ok->data.data_val)
		return TRUE;
	u_int padded = (len + 3) & ~3u;
	char *p = padded ? (char *)xdr_inline(xdrs, (int)padded) : NULL;
	if (padded && !p)
		return FALSE;
	if (len && p != ok->data.data_val)
		memmove(p, ok->data.data_val, len);
	if (padded > len)
		memset(p + len, 0, padded - len);
	return TRUE;
}

void nfs3_read(struct nfs_req *req, void *args, void *res)
{
	READ3args *a = args;
	READ3res *r = res;
	mcfs_ino_t ino;
	struct mcfs_attr at;
	r->status = nfs3_fh_in(req, &a->file, &ino, &at);
	if (r->status != NFS3_OK)
		return;
	int e = 0;
	if (at.type != MCFS_FILE)
		e = at.type == MCFS_DIR ? -EISDIR : -EINVAL;
	/* The owner may always read (the client checked the open); others need r. */
	if (e == 0 && req->cred.uid != at.uid && !(vfs_mode_bits(&req->cred, &at) & 4))
		e = -EACCES;
	READ3resok *ok = &r->READ3res_u.resok;
	size_t count = a->count > NFS3_MAX_IO ? NFS3_MAX_IO : a->count;
	char *buf = NULL;
	size_t got = 0;
	bool eof = false;
	struct vfs_file_range fr;
	if (e == 0 && nfs_req_file_ok(req, count) &&
	    vfs_read_known_file(req->gw->vfs, &at, a->offset, count, &fr) == 0) {
		req->file = (struct rpc_file_range){.fd = fr.fd, .off = fr.off, .len = fr.len};
		got = fr.len;
		eof = fr.eof;
	} else if (e == 0) {
		buf = nfs_results_area(req, READ3_DATA_OFFSET, count);
		e = buf ? vfs_read_known(req->gw->vfs, &at, a->offset, count, buf, &got, &eof)
			: -EIO;
	}
	r->status = nfs3_errno(e);
	if (e < 0) {
		nfs3_post_op(req->gw, NULL, &r->READ3res_u.resfail.file_attributes);
		return;
	}
	nfs3_post_op(req->gw, &at, &ok->file_attributes);
	ok->count = (count3)got;
	ok->eof = eof;
	ok->data.data_val = buf;
	ok->data.data_len = (u_int)got;
}

/* WRITE3args with the data left where it arrived: data.data_val points into
 * the request, which outlives the call, instead of a copy XDR would make. */
bool_t xdr_WRITE3args_inplace(XDR *xdrs, WRITE3args *a)
{
	if (!xdr_nfs_fh3(xdrs, &a->file) || !xdr_offset3(xdrs, &a->offset) ||
	    !xdr_count3(xdrs, &a->count) || !xdr_stable_how(xdrs, &a->stable))
		return FALSE;
	if (xdrs->x_op == XDR_FREE) {
		a->data.data_val = NULL; /* not ours */
		a->data.data_len = 0;
		return TRUE;
	}
	if (xdrs->x_op != XDR_DECODE)
		return xdr_bytes(xdrs, &a->data.data_val, &a->data.data_len, NFS3_MAXDATA);
	u_int len;
	if (!xdr_u_int(xdrs, &len) || len > NFS3_MAXDATA)
		return FALSE;
	/* The opaque is padded to four bytes; a short message fails here. */
	char *p = len ? (char *)xdr_inline(xdrs, (int)((len + 3) & ~3u)) : NULL;
	if (len && !p)
		return FALSE;
	a->data.data_val = p;
	a->data.data_len = len;
	return TRUE;
}

void nfs3_write(struct nfs_req *req, void *args, void *res)
{
	WRITE3args *a = args;
	WRITE3res *r = res;
	mcfs_ino_t ino;
	struct mcfs_attr before, after;
	r->status = nfs3_fh_in_write(req, &a->file, &ino, &before);
	if (r->status != NFS3_OK)
		return;
	if (a->data.data_len < a->count || a->count > NFS3_MAX_IO) {
		r->status = NFS3ERR_INVAL;
		return;
	}
	int e = vfs_write_known(req->gw->vfs, &req->cred, &before, a->offset, a->data.data_val,
				a->count, &after);
	bool sync = a->stable != UNSTABLE;
	if (e == 0 && sync)
		e = vfs_flush_getattr(req->gw->vfs, ino, &after);
	r->status = nfs3_errno(e);
	if (e < 0) {
		nfs3_wcc(req->gw, NULL, NULL, &r->WRITE3res_u.resfail.file_wcc);
		return;
	}
	WRITE3resok *ok = &r->WRITE3res_u.resok;
	nfs3_wcc(req->gw, &before, &after, &ok->file_wcc);
	ok->count = a->count;
	ok->committed = sync ? FILE_SYNC : UNSTABLE;
	memcpy(ok->verf, req->gw->write_verf, sizeof(ok->verf));
}

void nfs3_commit(struct nfs_req *req, void *args, void *res)
{
	COMMIT3args *a = args;
	COMMIT3res *r = res;
	mcfs_ino_t ino;
	r->status = nfs3_fh_in_lazy(req, &a->file, &ino, true);
	if (r->status != NFS3_OK)
		return;
	struct mcfs_attr at;
	int e = vfs_flush_getattr(req->gw->vfs, ino, &at);
	r->status = nfs3_errno(e);
	if (e < 0) {
		log_warn("COMMIT of inode %llu failed: %s", (unsigned long long)ino, strerror(-e));
		nfs3_wcc(req->gw, NULL, NULL, &r->COMMIT3res_u.resfail.file_wcc);
		return;
	}
	nfs3_wcc(req->gw, NULL, &at, &r->COMMIT3res_u.resok.file_wcc);
	memcpy(r->COMMIT3res_u.resok.verf, req->gw->write_verf, NFS3_WRITEVERFSIZE);
}
