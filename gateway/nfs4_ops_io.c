/* NFSv4 data operations: READ, WRITE, COMMIT (RFC 7530, 8881) and the 4.2
 * additions SEEK, ALLOCATE, DEALLOCATE and READ_PLUS (RFC 7862).
 *
 * Write stability follows NFSv3 (nfs3_data.c): UNSTABLE writes stay in the
 * vfs buffers until COMMIT, DATA_SYNC and FILE_SYNC ones are flushed before
 * the reply, and the write verifier changes on every gateway start.
 *
 * The vfs keeps no map of holes that is cheap to consult, so every file is
 * reported as one data extent followed by the virtual hole at end of file.
 */
#include <stdlib.h>
#include <string.h>

#include "nfs4_proc.h"

/* The largest file we let a WRITE create (as NFSv3 and maxfilesize say). */
/* vfs_mode_bits: read, write, execute. */
#define MODE_R 4u
#define MODE_W 2u
#define MODE_X 1u

/* The current handle must be a regular file of a volume. Pseudo nodes are
 * all directories. */
static nfsstat4 io_file(struct nfs4_compound *c, struct mcfs_attr **a)
{
	nfsstat4 st = nfs4_need_volume(c, NFS4ERR_ISDIR);
	if (st == NFS4_OK)
		st = nfs4_fh_attr(c, &c->cfh, a);
	if (st != NFS4_OK)
		return st;
	if ((*a)->type == MCFS_FILE)
		return NFS4_OK;
	return (*a)->type == MCFS_DIR ? NFS4ERR_ISDIR : NFS4ERR_INVAL;
}

/* The stateid must allow `access` to the current file: an open or lock
 * stateid of the right mode, or a special one no deny reservation blocks. */
static nfsstat4 io_stateid(struct nfs4_compound *c, const stateid4 *in, uint32_t access)
{
	struct ns4_io_check chk = {
	    .fileid = c->cfh.ino,
	    .clientid = nfs4_clientid(c),
	    .access = access,
	};
	nfsstat4 st = nfs4_stateid_in(c, in, &chk.stateid);
	if (st != NFS4_OK)
		return st;
	return (nfsstat4)ns4_check_stateid(c->srv->state, &chk);
}

/* Stateids are not bound to a principal, so the caller's own permission is
 * checked on every READ. The owner may read whatever the mode says now (as
 * the vfs lets the owner write); execute permission is enough to read, since
 * clients read files in order to execute them. */
static nfsstat4 may_read(const struct nfs4_compound *c, const struct mcfs_attr *a)
{
	const struct mcfs_cred *cr = &c->cfh.cred;
	if (cr->uid == a->uid || (vfs_mode_bits(cr, a) & (MODE_R | MODE_X)))
		return NFS4_OK;
	return NFS4ERR_ACCESS;
}

/* The same rule vfs_write applies, for writes that never reach it. */
static nfsstat4 may_write(const struct nfs4_compound *c, const struct mcfs_attr *a)
{
	const struct mcfs_cred *cr = &c->cfh.cred;
	if (cr->uid == a->uid || (vfs_mode_bits(cr, a) & MODE_W))
		return NFS4_OK;
	return NFS4ERR_ACCESS;
}

/* Whether the current file may be read with stateid sid; *a: its attributes. */
static nfsstat4 read_check(struct nfs4_compound *c, const stateid4 *sid, struct mcfs_attr **a)
{
	nfsstat4 st = io_file(c, a);
	if (st == NFS4_OK)
		st = io_stateid(c, sid, NS4_ACCESS_READ);
	if (st == NFS4_OK)
		st = may_read(c, *a);
	return st;
}

/* READ and READ_PLUS: up to NFS4_MAX_IO bytes into a malloc'd buffer. */
static nfsstat4 read_data(struct nfs4_compound *c, const stateid4 *sid, uint64_t off,
			  uint32_t count, char **buf, size_t *got, bool *eof)
{
	struct mcfs_attr *a;
	nfsstat4 st = read_check(c, sid, &a);
	if (st != NFS4_OK)
		return st;
	size_t n = count > NFS4_MAX_IO ? NFS4_MAX_IO : count;
	*buf = malloc(n ? n : 1);
	if (!*buf)
		return NFS4ERR_DELAY;
	*eof = false;
	int e = vfs_read(c->req->gw->vfs, c->cfh.ino, off, n, *buf, got, eof);
	if (e < 0) {
		free(*buf);
		*buf = NULL;
		return nfs4_errno(e);
	}
	return NFS4_OK;
}

/* A READ that ends the compound, in a reply no cache keeps, may leave its
 * data in the bucket's file: the reply is sent with the data's length put
 * in and the bytes following from the file (nfs4_compound.c). Anything
 * else, errors included, is for the copying path. */
static bool read_from_file(struct nfs4_compound *c, const READ4args *a, READ4resok *ok)
{
	size_t n = a->count > NFS4_MAX_IO ? NFS4_MAX_IO : a->count;
	if (c->opindex + 1 != c->nops || c->cachethis || c->keeps_reply ||
	    !nfs_req_file_ok(c->req, n))
		return false;
	struct mcfs_attr *at;
	struct vfs_file_range fr;
	if (read_check(c, &a->stateid, &at) != NFS4_OK ||
	    vfs_read_known_file(c->req->gw->vfs, at, a->offset, n, &fr) < 0)
		return false;
	c->req->file = (struct rpc_file_range){.fd = fr.fd, .off = fr.off, .len = fr.len};
	ok->eof = fr.eof;
	ok->data.data_val = NULL;
	ok->data.data_len = 0;
	return true;
}

nfsstat4 nfs4_op_read(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	READ4args *a = &arg->nfs_argop4_u.opread;
	READ4resok *ok = &res->nfs_resop4_u.opread.READ4res_u.resok4;
	if (read_from_file(c, a, ok))
		return NFS4_OK;
	char *buf;
	size_t got;
	bool eof;
	nfsstat4 st = read_data(c, &a->stateid, a->offset, a->count, &buf, &got, &eof);
	if (st != NFS4_OK)
		return st;
	ok->eof = eof;
	ok->data.data_val = buf;
	ok->data.data_len = (u_int)got;
	return NFS4_OK;
}

/* Makes what vfs_write buffered durable when the client asked for it. */
static nfsstat4 write_stable(struct nfs4_compound *c, stable_how4 how, stable_how4 *committed)
{
	*committed = UNSTABLE4;
	if (how == UNSTABLE4)
		return NFS4_OK;
	int e = vfs_flush(c->req->gw->vfs, c->cfh.ino);
	c->cfh.attr_valid = false;
	if (e < 0)
		return nfs4_errno(e);
	/* Data and metadata are committed together: DATA_SYNC is FILE_SYNC. */
	*committed = FILE_SYNC4;
	return NFS4_OK;
}

nfsstat4 nfs4_op_write(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	WRITE4args *a = &arg->nfs_argop4_u.opwrite;
	WRITE4resok *ok = &res->nfs_resop4_u.opwrite.WRITE4res_u.resok4;
	struct mcfs_attr *at;
	nfsstat4 st = io_file(c, &at);
	if (st == NFS4_OK)
		st = nfs4_need_writable(c);
	if (st == NFS4_OK)
		st = io_stateid(c, &a->stateid, NS4_ACCESS_WRITE);
	if (st != NFS4_OK)
		return st;
	/* A longer request is written in part: the client sends the rest. */
	size_t len = a->data.data_len > NFS4_MAX_IO ? NFS4_MAX_IO : a->data.data_len;
	if (a->offset > MCFS_MAX_FILE_SIZE || len > MCFS_MAX_FILE_SIZE - a->offset)
		return NFS4ERR_FBIG;
	if (len == 0) {
		/* "Succeeds subject to permission checking" (RFC 7530
		 * §16.36.4); bypassing the vfs leaves mtime alone. No data is
		 * as stable as the client asked. */
		st = may_write(c, at);
		ok->committed = a->stable == UNSTABLE4 ? UNSTABLE4 : FILE_SYNC4;
	} else {
		struct mcfs_attr after;
		int e = vfs_write(c->req->gw->vfs, &c->cfh.cred, c->cfh.ino, a->offset,
				  a->data.data_val, len, &after);
		c->cfh.attr_valid = false;
		if (e < 0)
			return nfs4_errno(e);
		c->cfh.attr = after;
		c->cfh.attr_valid = true;
		st = write_stable(c, a->stable, &ok->committed);
	}
	if (st != NFS4_OK)
		return st;
	ok->count = (count4)len;
	memcpy(ok->writeverf, c->req->gw->write_verf, NFS4_VERIFIER_SIZE);
	return NFS4_OK;
}

nfsstat4 nfs4_op_commit(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	COMMIT4resok *ok = &res->nfs_resop4_u.opcommit.COMMIT4res_u.resok4;
	struct mcfs_attr *a;
	nfsstat4 st = io_file(c, &a);
	if (st != NFS4_OK)
		return st;
	/* The whole file is flushed: the range is only a hint. */
	int e = vfs_flush(c->req->gw->vfs, c->cfh.ino);
	c->cfh.attr_valid = false;
	if (e < 0)
		return nfs4_errno(e);
	memcpy(ok->writeverf, c->req->gw->write_verf, NFS4_VERIFIER_SIZE);
	return NFS4_OK;
}

nfsstat4 nfs4_op_seek(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	SEEK4args *a = &arg->nfs_argop4_u.opseek;
	seek_res4 *ok = &res->nfs_resop4_u.opseek.SEEK4res_u.resok4;
	struct mcfs_attr *at;
	nfsstat4 st = io_file(c, &at);
	if (st == NFS4_OK)
		st = io_stateid(c, &a->sa_stateid, NS4_ACCESS_READ);
	if (st != NFS4_OK)
		return st;
	if (a->sa_what != NFS4_CONTENT_DATA && a->sa_what != NFS4_CONTENT_HOLE)
		return NFS4ERR_UNION_NOTSUPP;
	if (a->sa_offset >= at->size)
		return NFS4ERR_NXIO;
	/* All data up to the size, then the hole every file ends with. */
	ok->sr_offset = a->sa_what == NFS4_CONTENT_DATA ? a->sa_offset : at->size;
	ok->sr_eof = ok->sr_offset >= at->size;
	return NFS4_OK;
}

/* Buckets have no free space to run out of, so there is nothing to
 * reserve: ALLOCATE only extends a file that the range goes past, as
 * RFC 7862 §15.1.3 asks, and holes read as zeros. */
nfsstat4 nfs4_op_allocate(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	ALLOCATE4args *a = &arg->nfs_argop4_u.opallocate;
	struct mcfs_attr *at;
	nfsstat4 st = io_file(c, &at);
	if (st == NFS4_OK)
		st = nfs4_need_writable(c);
	if (st == NFS4_OK)
		st = io_stateid(c, &a->aa_stateid, NS4_ACCESS_WRITE);
	if (st == NFS4_OK)
		st = may_write(c, at);
	if (st != NFS4_OK)
		return st;
	if (a->aa_length == 0)
		return NFS4ERR_INVAL;
	if (a->aa_offset > MCFS_MAX_FILE_SIZE || a->aa_length > MCFS_MAX_FILE_SIZE - a->aa_offset)
		return NFS4ERR_FBIG;
	uint64_t end = a->aa_offset + a->aa_length;
	if (end <= at->size)
		return NFS4_OK;
	struct vfs_setattr sa = {.mask = VFS_SET_SIZE, .size = end};
	int r = vfs_setattr(c->req->gw->vfs, &c->cfh.cred, c->cfh.ino, &sa, &c->cfh.attr);
	c->cfh.attr_valid = r == 0;
	return nfs4_errno(r);
}

/* Punching holes would need a hole slice over a range; the RFC lets a
 * server without it answer NOTSUPP, after the handle checks. */
nfsstat4 nfs4_op_deallocate(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	struct mcfs_attr *a;
	nfsstat4 st = io_file(c, &a);
	if (st == NFS4_OK)
		st = nfs4_need_writable(c);
	return st == NFS4_OK ? NFS4ERR_NOTSUPP : st;
}

nfsstat4 nfs4_op_read_plus(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	READ_PLUS4args *a = &arg->nfs_argop4_u.opread_plus;
	read_plus_res4 *ok = &res->nfs_resop4_u.opread_plus.READ_PLUS4res_u.rp_resok4;
	char *buf;
	size_t got;
	bool eof;
	nfsstat4 st = read_data(c, &a->rpa_stateid, a->rpa_offset, a->rpa_count, &buf, &got, &eof);
	if (st != NFS4_OK)
		return st;
	ok->rpr_eof = eof;
	if (got == 0) {
		free(buf);
		return NFS4_OK;
	}
	/* Holes are not known (see the top of the file): one data segment. */
	read_plus_content *rc = calloc(1, sizeof(*rc));
	if (!rc) {
		free(buf);
		return NFS4ERR_DELAY;
	}
	rc->rpc_content = NFS4_CONTENT_DATA;
	rc->read_plus_content_u.rpc_data.d_offset = a->rpa_offset;
	rc->read_plus_content_u.rpc_data.d_data.d_data_val = buf;
	rc->read_plus_content_u.rpc_data.d_data.d_data_len = (u_int)got;
	ok->rpr_contents.rpr_contents_val = rc;
	ok->rpr_contents.rpr_contents_len = 1;
	return NFS4_OK;
}
