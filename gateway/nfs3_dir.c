/* READDIR and READDIRPLUS. Cookies 1 and 2 are "." and ".."; the volume's
 * own cookies are larger and stay valid while the directory changes, so the
 * cookie verifier is constant. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfs3_proc.h"

#define COOKIE_DOT    1
#define COOKIE_DOTDOT 2
/* status, post_op_attr, cookieverf, the list end and eof */
#define READDIR_OVERHEAD (4 + 88 + 8 + 8)
/* rpcgen's encoder walks the entry list recursively: keep the depth modest. */
#define READDIR_MAX_ENTRIES 4096

struct dir_fill {
	struct nfs_req *req;
	bool plus;
	size_t used, budget;	     /* bytes of the reply (maxcount / count) */
	size_t dir_used, dir_budget; /* READDIRPLUS dircount: the entry3-like part */
	unsigned count;
	entry3 **tail3;
	entryplus3 **tailp;
	int error;
};

static size_t xdr_pad(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Adds one entry if it fits; returns 1 to stop (full), 0 to go on. */
static int add_entry(struct dir_fill *f, const char *name, mcfs_ino_t ino, uint64_t cookie,
		     const struct mcfs_attr *attr)
{
	size_t base = 8 + 4 + xdr_pad(strlen(name)) + 8 + 4;
	size_t size = base + (f->plus ? 4 + 84 + 4 + 4 + FH_SIZE : 0);
	if (f->used + size > f->budget || (f->plus && f->dir_used + base > f->dir_budget) ||
	    f->count >= READDIR_MAX_ENTRIES)
		return 1;
	/* entry3 and entryplus3 begin alike; only the plus entry has more. */
	void *e = calloc(1, f->plus ? sizeof(entryplus3) : sizeof(entry3));
	char *copy = strdup(name);
	if (!e || !copy) {
		free(e);
		free(copy);
		f->error = -ENOMEM;
		return 1;
	}
	if (f->plus) {
		entryplus3 *p = e;
		p->fileid = ino;
		p->name = copy;
		p->cookie = cookie;
		if (attr) {
			nfs3_post_op(f->req->gw, attr, &p->name_attributes);
			p->name_handle.handle_follows =
			    nfs3_fh_out(f->req, attr, &p->name_handle.post_op_fh3_u.handle) == 0;
		}
		*f->tailp = p;
		f->tailp = &p->nextentry;
	} else {
		entry3 *p = e;
		p->fileid = ino;
		p->name = copy;
		p->cookie = cookie;
		*f->tail3 = p;
		f->tail3 = &p->nextentry;
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
	int r = vfs_readdir_known(gw->vfs, &f->req->cred, da, from, f->plus, on_entry, f, eof);
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

/* READDIR and READDIRPLUS differ only in their limits and entry type. */
static void list_dir(struct nfs_req *req, const nfs_fh3 *fh, cookie3 cookie, size_t max,
		     size_t dircount, bool plus, nfsstat3 *status, post_op_attr *dir_attributes,
		     cookieverf3 verf, void **entries, bool_t *eof_out)
{
	mcfs_ino_t dir;
	struct mcfs_attr da;
	*status = open_dir(req, fh, &dir, &da);
	if (*status != NFS3_OK)
		return;
	if (max > NFS3_MAX_IO)
		max = NFS3_MAX_IO;
	struct dir_fill f = {.req = req,
			     .plus = plus,
			     .budget = max > READDIR_OVERHEAD ? max - READDIR_OVERHEAD : 0,
			     .dir_budget = dircount ? dircount : SIZE_MAX,
			     .tail3 = (entry3 **)entries,
			     .tailp = (entryplus3 **)entries};
	bool eof;
	int e = fill(&f, dir, &da, cookie, &eof);
	nfs3_post_op(req->gw, &da, dir_attributes);
	if (e < 0)
		*status = nfs3_errno(e);
	else if (f.count == 0 && !eof)
		*status = NFS3ERR_TOOSMALL;
	*eof_out = eof;
	memset(verf, 0, NFS3_COOKIEVERFSIZE);
}

void nfs3_readdir(struct nfs_req *req, void *args, void *res)
{
	READDIR3args *a = args;
	READDIR3res *r = res;
	READDIR3resok *ok = &r->READDIR3res_u.resok;
	list_dir(req, &a->dir, a->cookie, a->count, 0, false, &r->status, &ok->dir_attributes,
		 ok->cookieverf, (void **)&ok->reply.entries, &ok->reply.eof);
}

void nfs3_readdirplus(struct nfs_req *req, void *args, void *res)
{
	READDIRPLUS3args *a = args;
	READDIRPLUS3res *r = res;
	READDIRPLUS3resok *ok = &r->READDIRPLUS3res_u.resok;
	list_dir(req, &a->dir, a->cookie, a->maxcount, a->dircount, true, &r->status,
		 &ok->dir_attributes, ok->cookieverf, (void **)&ok->reply.entries, &ok->reply.eof);
}
