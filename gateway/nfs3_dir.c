/* READDIR and READDIRPLUS. Cookies 1 and 2 are "." and ".."; the volume's
 * own cookies are larger and stay valid while the directory changes, so the
 * cookie verifier is constant.
 *
 * The entries are encoded (XDR) into one buffer as they are listed, and the
 * reply copies that buffer after the fixed part: rpcgen's encoder would want
 * a linked list with two allocations per entry, walked recursively, and it
 * cost a fifth of a listing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfs3_proc.h"

#define COOKIE_DOT    1
#define COOKIE_DOTDOT 2
/* status, post_op_attr, cookieverf, the list end and eof */
#define READDIR_OVERHEAD (4 + 88 + 8 + 8)
/* An entry's XDR with a one-byte name: the least that each one takes of
 * the reply (READDIR) and of dircount (the entry3 part of READDIRPLUS). */
#define ENTRY_MIN      (8 + 4 + 4 + 8 + 4)
#define ENTRY_PLUS_MIN (ENTRY_MIN + 4 + 84 + 4 + 4 + FH_SIZE)
/* One entry of either kind at most: the fixed fields, the longest name, and
 * for READDIRPLUS the attributes and the handle. */
#define ENTRY_MAX (4 + 8 + 4 + 256 + 8 + 4 + 84 + 4 + 4 + 64)

struct dir_fill {
	struct nfs_req *req;
	bool plus;
	size_t used, budget;	     /* bytes of the reply (maxcount / count) */
	size_t dir_used, dir_budget; /* READDIRPLUS dircount: the entry3-like part */
	unsigned count;
	XDR xdrs; /* over buf */
	char *buf;
	int error;
};

static size_t xdr_pad(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static bool encode_entry(struct dir_fill *f, const char *name, mcfs_ino_t ino, uint64_t cookie,
			 const struct mcfs_attr *attr)
{
	XDR *x = &f->xdrs;
	bool_t more = TRUE;
	uint64_t id = ino;
	char *n = (char *)name;
	if (!xdr_bool(x, &more) || !xdr_uint64_t(x, &id) || !xdr_string(x, &n, MCFS_NAME_MAX) ||
	    !xdr_uint64_t(x, &cookie))
		return false;
	if (!f->plus)
		return true;
	post_op_attr pa;
	nfs3_post_op(f->req->gw, attr, &pa);
	post_op_fh3 ph = {.handle_follows = FALSE};
	uint8_t fh[FH_SIZE];
	if (attr) {
		struct fhandle h = {.ino = attr->ino,
				    .generation = attr->generation,
				    .export_id = f->req->exp ? f->req->exp->id : 0};
		memcpy(h.volume, f->req->gw->volume_uuid, 16);
		fh_encode(&h, fh);
		ph.handle_follows = TRUE;
		ph.post_op_fh3_u.handle.data.data_val = (char *)fh;
		ph.post_op_fh3_u.handle.data.data_len = FH_SIZE;
	}
	return xdr_post_op_attr(x, &pa) && xdr_post_op_fh3(x, &ph);
}

/* Adds one entry if it fits; returns 1 to stop (full), 0 to go on. */
static int add_entry(struct dir_fill *f, const char *name, mcfs_ino_t ino, uint64_t cookie,
		     const struct mcfs_attr *attr)
{
	size_t base = 8 + 4 + xdr_pad(strlen(name)) + 8 + 4;
	size_t size = base + (f->plus ? 4 + 84 + 4 + 4 + FH_SIZE : 0);
	if (f->used + size > f->budget || (f->plus && f->dir_used + base > f->dir_budget))
		return 1;
	if (!encode_entry(f, name, ino, cookie, attr)) {
		f->error = -ENAMETOOLONG;
		return 1;
	}
	f->used += size;
	f->dir_used += base;
	f->count++;
	return 0;
}

static int on_entry(const struct vfs_dirent *de, void *arg)
{
	return add_entry(arg, de->name, de->ino, de->cookie, de->attr);
}

/* Lists from cookie into f; *eof when the directory is exhausted. */
static int fill(struct dir_fill *f, mcfs_ino_t dir, const struct mcfs_attr *da, uint64_t cookie,
		bool *eof)
{
	struct gateway *gw = f->req->gw;
	*eof = false;
	if (cookie < COOKIE_DOT && add_entry(f, ".", dir, COOKIE_DOT, f->plus ? da : NULL))
		return f->error;
	if (cookie < COOKIE_DOTDOT) {
		/* ".." of an export root is itself: clients must not climb out. */
		mcfs_ino_t up = dir == f->req->exp->root ? dir : da->parent;
		struct mcfs_attr ua;
		bool have = !f->plus || vfs_getattr(gw->vfs, up, &ua) == 0;
		if (add_entry(f, "..", up, COOKIE_DOTDOT, f->plus && have ? &ua : NULL))
			return f->error;
	}
	uint64_t from = cookie <= COOKIE_DOTDOT ? 0 : cookie;
	/* At most this many can fit: no need to read more from the server. */
	size_t want = f->budget / (f->plus ? ENTRY_PLUS_MIN : ENTRY_MIN) + 1;
	if (f->plus && f->dir_budget / ENTRY_MIN + 1 < want)
		want = f->dir_budget / ENTRY_MIN + 1;
	int r =
	    vfs_readdir_known(gw->vfs, &f->req->cred, da, from, f->plus, want, on_entry, f, eof);
	return r < 0 ? r : f->error;
}

static nfsstat3 open_dir(struct nfs_req *req, const nfs_fh3 *fh, mcfs_ino_t *dir,
			 struct mcfs_attr *da)
{
	nfsstat3 st = nfs3_fh_in(req, fh, dir, da);
	if (st != NFS3_OK)
		return st;
	return da->type == MCFS_DIR ? NFS3_OK : NFS3ERR_NOTDIR;
}

/* READDIR and READDIRPLUS differ only in their limits and entry encoding. */
static void list_dir(struct nfs_req *req, const nfs_fh3 *fh, cookie3 cookie, size_t max,
		     size_t dircount, bool plus, struct nfs3_dirlist *out)
{
	mcfs_ino_t dir;
	struct mcfs_attr da;
	out->status = open_dir(req, fh, &dir, &da);
	if (out->status != NFS3_OK)
		return;
	if (max > NFS3_MAX_IO)
		max = NFS3_MAX_IO;
	size_t budget = max > READDIR_OVERHEAD ? max - READDIR_OVERHEAD : 0;
	struct dir_fill f = {.req = req,
			     .plus = plus,
			     .budget = budget,
			     .dir_budget = dircount ? dircount : SIZE_MAX,
			     /* the estimate in add_entry is the exact size but for
			      * absent attributes and handles: never more */
			     .buf = malloc(budget + ENTRY_MAX)};
	int e = f.buf ? 0 : -ENOMEM;
	bool eof = false;
	if (f.buf) {
		xdrmem_create(&f.xdrs, f.buf, (u_int)(budget + ENTRY_MAX), XDR_ENCODE);
		e = fill(&f, dir, &da, cookie, &eof);
		out->entries_len = xdr_getpos(&f.xdrs);
		xdr_destroy(&f.xdrs);
	}
	nfs3_post_op(req->gw, &da, &out->dir_attributes);
	if (e < 0)
		out->status = nfs3_errno(e);
	else if (f.count == 0 && !eof)
		out->status = NFS3ERR_TOOSMALL;
	if (out->status == NFS3_OK) {
		out->entries = f.buf;
		f.buf = NULL;
	} else {
		out->entries_len = 0;
	}
	free(f.buf);
	out->eof = eof;
}

/* Both results: the status, the directory's attributes, the verifier, the
 * entries as encoded while listing, the end of the list and eof. */
bool_t xdr_nfs3_dirlist(XDR *xdrs, struct nfs3_dirlist *r)
{
	if (xdrs->x_op == XDR_FREE) {
		free(r->entries);
		r->entries = NULL;
		return TRUE;
	}
	if (xdrs->x_op != XDR_ENCODE)
		return FALSE;
	nfsstat3 st = r->status;
	if (!xdr_nfsstat3(xdrs, &st) || !xdr_post_op_attr(xdrs, &r->dir_attributes))
		return FALSE;
	if (st != NFS3_OK)
		return TRUE;
	char verf[NFS3_COOKIEVERFSIZE] = {0};
	bool_t end = FALSE, eof = r->eof;
	return xdr_opaque(xdrs, verf, sizeof(verf)) &&
	       (r->entries_len == 0 || XDR_PUTBYTES(xdrs, r->entries, (u_int)r->entries_len)) &&
	       xdr_bool(xdrs, &end) && xdr_bool(xdrs, &eof);
}

void nfs3_readdir(struct nfs_req *req, void *args, void *res)
{
	READDIR3args *a = args;
	list_dir(req, &a->dir, a->cookie, a->count, 0, false, res);
}

void nfs3_readdirplus(struct nfs_req *req, void *args, void *res)
{
	READDIRPLUS3args *a = args;
	list_dir(req, &a->dir, a->cookie, a->maxcount, a->dircount, true, res);
}
