/* NFSv4 operations on directories: READDIR, CREATE, REMOVE, RENAME and LINK
 * (RFC 7530 §16, RFC 8881 §18).
 *
 * READDIR lists pseudo directories from the pseudo fs (cookies are node
 * numbers, whose top bit keeps them clear of the reserved 0, 1 and 2) and
 * volume directories from the vfs, whose cookies are shifted up by two on
 * the wire for the same reason. The cookie verifier is the directory's
 * inode (or node) number: cookies of either source stay valid while the
 * directory changes, so it never has to change.
 *
 * The changing operations report change_info4 with atomic FALSE: the
 * "before" value is read separately from the change itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfs4_proc.h"

/* Cookies 1 and 2 are reserved; vfs cookies travel shifted past them. */
#define COOKIE_SHIFT 2
/* A READDIR4resok with no entries: cookieverf, the list end, eof. */
#define READDIR_OVERHEAD (NFS4_VERIFIER_SIZE + 4 + 4)
/* rpcgen's encoder and xdr_free walk the entry list recursively. */
#define READDIR_MAX_ENTRIES 4096
#define PSEUDO_BATCH	    32

static struct vfs *vfs_of(const struct nfs4_compound *c)
{
	return c->req->gw->vfs;
}

static size_t xdr_pad(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* ---- shared by the changing operations */

/* Gives every handle of the compound that names a->ino these fresh
 * attributes (SAVEFH of a directory is common before RENAME and LINK). */
static void note_attrs(struct nfs4_compound *c, const struct mcfs_attr *a)
{
	struct nfs4_fh *fhs[] = {&c->cfh, &c->sfh};
	for (size_t i = 0; i < sizeof(fhs) / sizeof(fhs[0]); i++) {
		if (fhs[i]->kind == NFS4_FH_VOLUME && fhs[i]->ino == a->ino) {
			fhs[i]->attr = *a;
			fhs[i]->attr_valid = true;
		}
	}
}

static void set_cinfo(change_info4 *ci, uint64_t before, const struct mcfs_attr *after)
{
	ci->atomic = FALSE;
	ci->before = before;
	ci->after = after->change;
}

/* fh's change attribute before an operation changes it. */
static nfsstat4 change_before(struct nfs4_compound *c, struct nfs4_fh *fh, uint64_t *before)
{
	struct mcfs_attr *a;
	nfsstat4 st = nfs4_fh_attr(c, fh, &a);
	if (st == NFS4_OK)
		*before = a->change;
	return st;
}

/* The current handle must be a directory that may change. */
static nfsstat4 need_dir_writable(struct nfs4_compound *c)
{
	nfsstat4 st = nfs4_need_fh(c);
	if (st == NFS4_OK)
		st = nfs4_need_dir(c, false);
	if (st == NFS4_OK)
		st = nfs4_need_writable(c);
	return st;
}

/* For the saved handle, as nfs4_need_dir does for the current one. */
static nfsstat4 saved_need_dir(struct nfs4_compound *c)
{
	struct mcfs_attr *a;
	nfsstat4 st = nfs4_fh_attr(c, &c->sfh, &a);
	if (st != NFS4_OK)
		return st;
	return a->type == MCFS_DIR ? NFS4_OK : NFS4ERR_NOTDIR;
}

/* Saved and current handle must be objects of one file system: RENAME
 * and LINK cannot cross exports, nor leave or enter the pseudo fs. */
static nfsstat4 same_fs(const struct nfs4_compound *c)
{
	if (c->sfh.kind != c->cfh.kind || c->sfh.exp != c->cfh.exp)
		return NFS4ERR_XDEV;
	return NFS4_OK;
}

/* ---- READDIR */

struct rd_fill {
	struct nfs4_compound *c;
	const bitmap4 *req;
	bool want_rderr;
	size_t used, budget;	     /* the reply's bytes (maxcount) */
	size_t dir_used, dir_budget; /* names and cookies (dircount; 0: no limit) */
	unsigned count;
	entry4 **tail;
	nfsstat4 status; /* why the listing stopped early, if it failed */
};

static void rd_free(entry4 *e)
{
	while (e) {
		entry4 *next = e->nextentry;
		nfs4_fattr_free(&e->attrs);
		free(e->name.utf8string_val);
		free(e);
		e = next;
	}
}

static size_t fattr_size(const fattr4 *f)
{
	return 4 + 4 * (size_t)f->attrmask.bitmap4_len + 4 + xdr_pad(f->attr_vals.attrlist4_len);
}

/* An entry whose attributes could not be had: only rdattr_error. */
static nfsstat4 rderr_attrs(const struct nfs4_compound *c, nfsstat4 err, fattr4 *out)
{
	struct nfs4_bitmap bm = {{0}};
	nfs4_bm_set(&bm, FATTR4_RDATTR_ERROR);
	bitmap4 req;
	nfsstat4 st = nfs4_bm_to_xdr(&bm, &req);
	if (st != NFS4_OK)
		return st;
	struct mcfs_attr none = {0};
	struct nfs4_attr_ctx ctx = {
	    .attr = &none, .minorversion = c->minorversion, .rdattr_error = err};
	st = nfs4_attr_encode(&ctx, &req, out);
	nfs4_bm_free_xdr(&req);
	return st;
}

/* An entry's attributes; err says that they could not be fetched. */
static nfsstat4 rd_attrs(struct rd_fill *f, struct nfs4_fh *fh, nfsstat4 err, fattr4 *out)
{
	if (err == NFS4_OK) {
		err = nfs4_encode_attrs(f->c, fh, f->req, out);
		/* The request itself was checked up front: what fails now is
		 * this entry's business, but running out of memory is not. */
		if (err == NFS4_OK || err == NFS4ERR_SERVERFAULT || err == NFS4ERR_DELAY)
			return err;
		nfs4_fattr_free(out);
	}
	if (!f->want_rderr)
		return err;
	return rderr_attrs(f->c, err, out);
}

/* Adds one entry if it fits: 0 to go on, 1 to stop (the listing is full,
 * or f->status says what went wrong). */
static int rd_add(struct rd_fill *f, const char *name, uint64_t cookie, struct nfs4_fh *fh,
		  nfsstat4 err)
{
	size_t len = strlen(name);
	size_t dirpart = 8 + 4 + xdr_pad(len);
	if (f->count >= READDIR_MAX_ENTRIES)
		return 1;
	/* dircount is only a hint: never let it starve the first entry. */
	if (f->count && f->dir_budget && f->dir_used + dirpart > f->dir_budget)
		return 1;
	entry4 *e = calloc(1, sizeof(*e));
	char *copy = malloc(len ? len : 1);
	if (!e || !copy) {
		free(e);
		free(copy);
		f->status = NFS4ERR_SERVERFAULT;
		return 1;
	}
	memcpy(copy, name, len);
	e->name.utf8string_val = copy;
	e->name.utf8string_len = (u_int)len;
	e->cookie = cookie;
	nfsstat4 st = rd_attrs(f, fh, err, &e->attrs);
	size_t size = 4 + dirpart + fattr_size(&e->attrs);
	if (st != NFS4_OK || f->used + size > f->budget) {
		f->status = st;
		rd_free(e);
		return 1;
	}
	*f->tail = e;
	f->tail = &e->nextentry;
	f->used += size;
	f->dir_used += dirpart;
	f->count++;
	return 0;
}

static int rd_vfs_entry(const struct vfs_dirent *de, void *arg)
{
	struct rd_fill *f = arg;
	struct nfs4_fh fh;
	memset(&fh, 0, sizeof(fh));
	fh.kind = NFS4_FH_VOLUME;
	fh.exp = f->c->cfh.exp;
	fh.cred = f->c->cfh.cred;
	fh.ino = de->ino;
	nfsstat4 err = NFS4_OK;
	if (de->attr)
		fh.attr = *de->attr;
	else /* the entry's inode could not be read with the page: try once more */
		err = nfs4_errno(vfs_getattr(vfs_of(f->c), de->ino, &fh.attr));
	fh.attr_valid = err == NFS4_OK;
	fh.generation = fh.attr.generation;
	return rd_add(f, de->name, de->cookie + COOKIE_SHIFT, &fh, err);
}

static nfsstat4 rd_volume(struct rd_fill *f, uint64_t cookie, bool *eof)
{
	struct nfs4_compound *c = f->c;
	uint64_t from = cookie ? cookie - COOKIE_SHIFT : 0;
	struct mcfs_attr *da;
	nfsstat4 st = nfs4_fh_attr(c, &c->cfh, &da);
	if (st != NFS4_OK)
		return st;
	/* At most this many fit (an entry takes 32 bytes at least, 16 of
	 * dircount): no need to read more from the server. */
	size_t want = f->budget / 32 + 1;
	if (f->dir_budget && f->dir_budget / 16 + 1 < want)
		want = f->dir_budget / 16 + 1;
	int e =
	    vfs_readdir_known(vfs_of(c), &c->cfh.cred, da, from, true, want, rd_vfs_entry, f, eof);
	if (e < 0)
		return nfs4_errno(e);
	return f->status;
}

/* An export junction shows the export root, as LOOKUP would enter it. */
static int rd_pseudo_entry(struct rd_fill *f, const struct np4_dirent *d)
{
	struct nfs4_fh fh;
	memset(&fh, 0, sizeof(fh));
	nfsstat4 err = nfs4_fh_set_target(f->c, &fh, &d->target);
	struct mcfs_attr *a;
	if (err == NFS4_OK)
		err = nfs4_fh_attr(f->c, &fh, &a);
	return rd_add(f, d->name, d->cookie, &fh, err);
}

static nfsstat4 rd_pseudo(struct rd_fill *f, uint64_t cookie, bool *eof)
{
	struct nfs4_compound *c = f->c;
	struct np4_dirent ents[PSEUDO_BATCH];
	*eof = false;
	for (;;) {
		size_t n = 0;
		bool end = false;
		enum np4_status s = np4_readdir(c->srv->pseudo, c->cfh.node, cookie, &c->view, ents,
						PSEUDO_BATCH, &n, &end);
		if (s != NP4_OK)
			return (nfsstat4)s;
		for (size_t i = 0; i < n; i++) {
			if (rd_pseudo_entry(f, &ents[i]))
				return f->status;
			cookie = ents[i].cookie;
		}
		if (end || n == 0) {
			*eof = true;
			return NFS4_OK;
		}
	}
}

static void dir_verifier(const struct nfs4_compound *c, verifier4 out)
{
	uint64_t v = c->cfh.kind == NFS4_FH_PSEUDO ? c->cfh.node : c->cfh.ino;
	for (int i = NFS4_VERIFIER_SIZE - 1; i >= 0; i--, v >>= 8)
		out[i] = (char)(v & 0xff);
}

/* Write-only attributes cannot be read (NFS4ERR_INVAL) even when the
 * directory turns out empty: try the request on a made-up object once.
 * Only that answer counts; the entries meet any other trouble themselves. */
static nfsstat4 rd_check_request(const struct nfs4_compound *c, const bitmap4 *req)
{
	static const uint8_t fh[FH_SIZE];
	struct mcfs_attr none = {0};
	struct vfs_statfs sf = {0};
	struct nfs4_attr_ctx ctx = {.attr = &none,
				    .fh = fh,
				    .fh_len = sizeof(fh),
				    .statfs = &sf,
				    .minorversion = c->minorversion};
	fattr4 probe;
	nfsstat4 st = nfs4_attr_encode(&ctx, req, &probe);
	if (st == NFS4_OK)
		nfs4_fattr_free(&probe);
	return st == NFS4ERR_INVAL ? st : NFS4_OK;
}

static nfsstat4 rd_check_args(const struct nfs4_compound *c, const READDIR4args *a)
{
	if (a->cookie == 1 || a->cookie == 2)
		return NFS4ERR_BAD_COOKIE;
	if (a->cookie != 0) {
		static const verifier4 zero;
		verifier4 ours;
		dir_verifier(c, ours);
		if (memcmp(a->cookieverf, zero, sizeof(zero)) != 0 &&
		    memcmp(a->cookieverf, ours, sizeof(ours)) != 0)
			return NFS4ERR_NOT_SAME;
	}
	if (a->maxcount < READDIR_OVERHEAD)
		return NFS4ERR_TOOSMALL;
	return rd_check_request(c, &a->attr_request);
}

static bool wants_rderr(const bitmap4 *req)
{
	struct nfs4_bitmap bm;
	nfs4_bm_from_xdr(&bm, req, NULL);
	return nfs4_bm_test(&bm, FATTR4_RDATTR_ERROR);
}

nfsstat4 nfs4_op_readdir(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	READDIR4args *a = &arg->nfs_argop4_u.opreaddir;
	READDIR4resok *ok = &res->nfs_resop4_u.opreaddir.READDIR4res_u.resok4;
	nfsstat4 st = nfs4_need_fh(c);
	if (st == NFS4_OK)
		st = nfs4_need_dir(c, false);
	if (st == NFS4_OK)
		st = rd_check_args(c, a);
	if (st != NFS4_OK)
		return st;
	size_t max = a->maxcount < NFS4_MAX_IO ? a->maxcount : NFS4_MAX_IO;
	struct rd_fill f = {.c = c,
			    .req = &a->attr_request,
			    .want_rderr = wants_rderr(&a->attr_request),
			    .budget = max - READDIR_OVERHEAD,
			    .dir_budget = a->dircount,
			    .tail = &ok->reply.entries};
	bool eof = false;
	if (c->cfh.kind == NFS4_FH_PSEUDO)
		st = rd_pseudo(&f, a->cookie, &eof);
	else
		st = rd_volume(&f, a->cookie, &eof);
	if (st == NFS4_OK && f.count == 0 && !eof)
		st = NFS4ERR_TOOSMALL;
	if (st != NFS4_OK) {
		/* The dispatcher frees only a successful result's payload. */
		rd_free(ok->reply.entries);
		ok->reply.entries = NULL;
		return st;
	}
	ok->reply.eof = eof;
	dir_verifier(c, ok->cookieverf);
	return NFS4_OK;
}

/* ---- CREATE */

static nfsstat4 create_type(nfs_ftype4 t, enum mcfs_ftype *out)
{
	switch (t) {
	case NF4DIR:
		*out = MCFS_DIR;
		return NFS4_OK;
	case NF4LNK:
		*out = MCFS_SYMLINK;
		return NFS4_OK;
	case NF4BLK:
		*out = MCFS_BLK;
		return NFS4_OK;
	case NF4CHR:
		*out = MCFS_CHR;
		return NFS4_OK;
	case NF4SOCK:
		*out = MCFS_SOCK;
		return NFS4_OK;
	case NF4FIFO:
		*out = MCFS_FIFO;
		return NFS4_OK;
	default: /* regular files come from OPEN; named attributes are not supported */
		return NFS4ERR_BADTYPE;
	}
}

/* The symlink target as a C string (malloc'd). */
static nfsstat4 link_target(const linktext4 *in, char **out)
{
	if (in->linktext4_len == 0)
		return NFS4ERR_INVAL;
	if (in->linktext4_len > MCFS_SYMLINK_MAX)
		return NFS4ERR_NAMETOOLONG;
	if (memchr(in->linktext4_val, '\0', in->linktext4_len))
		return NFS4ERR_INVAL;
	char *s = malloc(in->linktext4_len + 1);
	if (!s)
		return NFS4ERR_SERVERFAULT;
	memcpy(s, in->linktext4_val, in->linktext4_len);
	s[in->linktext4_len] = '\0';
	*out = s;
	return NFS4_OK;
}

static uint16_t mode_of(const struct vfs_setattr *sa, uint16_t dflt)
{
	return sa->mask & VFS_SET_MODE ? (uint16_t)(sa->mode & 07777) : dflt;
}

/* A CREATE checked and ready to run. */
struct create_req {
	enum mcfs_ftype type;
	char name[MCFS_NAME_MAX + 1];
	char *target; /* symbolic links (malloc'd) */
	uint32_t major, minor;
	struct vfs_setattr sa;
	struct nfs4_bitmap set; /* the attributes createattrs carries */
};

static nfsstat4 create_what(const createtype4 *t, struct create_req *r)
{
	nfsstat4 st = create_type(t->type, &r->type);
	if (st != NFS4_OK)
		return st;
	if (r->type == MCFS_SYMLINK)
		return link_target(&t->createtype4_u.linkdata, &r->target);
	if (r->type == MCFS_BLK || r->type == MCFS_CHR) {
		r->major = t->createtype4_u.devdata.specdata1;
		r->minor = t->createtype4_u.devdata.specdata2;
	}
	return NFS4_OK;
}

/* Checks everything about a CREATE that can be checked before acting
 * (r->target, once set, is the caller's to free). */
static nfsstat4 create_args(struct nfs4_compound *c, const CREATE4args *a, struct create_req *r)
{
	nfsstat4 st = need_dir_writable(c);
	if (st == NFS4_OK)
		st = create_what(&a->objtype, r);
	if (st == NFS4_OK)
		st = nfs4_component(&a->objname, r->name);
	if (st == NFS4_OK)
		st = nfs4_attr_decode(&a->createattrs, NFS4_SET_CREATE, c->minorversion,
				      &c->srv->idmap, &r->sa, &r->set);
	/* Only regular files have a size, and CREATE never makes one. */
	if (st == NFS4_OK && r->sa.mask & VFS_SET_SIZE)
		st = NFS4ERR_INVAL;
	return st;
}

static int make_object(struct nfs4_compound *c, const struct create_req *r, struct mcfs_attr *obj,
		       struct mcfs_attr *pa)
{
	struct vfs *v = vfs_of(c);
	const struct mcfs_cred *cred = &c->cfh.cred;
	mcfs_ino_t dir = c->cfh.ino;
	switch (r->type) {
	case MCFS_DIR:
		return vfs_mkdir(v, cred, dir, r->name, mode_of(&r->sa, 0755), obj, pa);
	case MCFS_SYMLINK:
		return vfs_symlink(v, cred, dir, r->name, r->target, obj, pa);
	default:
		return vfs_mknod(v, cred, dir, r->name, r->type, mode_of(&r->sa, 0644), r->major,
				 r->minor, obj, pa);
	}
}

/* Applies what creation did not set itself (ownership, times). */
static int apply_rest(struct nfs4_compound *c, const struct vfs_setattr *in, struct mcfs_attr *obj)
{
	struct vfs_setattr sa = *in;
	sa.mask &= ~(unsigned)VFS_SET_MODE;
	if (sa.mask & VFS_SET_UID && sa.uid == obj->uid)
		sa.mask &= ~(unsigned)VFS_SET_UID;
	if (sa.mask & VFS_SET_GID && sa.gid == obj->gid)
		sa.mask &= ~(unsigned)VFS_SET_GID;
	if (!sa.mask)
		return 0;
	return vfs_setattr(vfs_of(c), &c->cfh.cred, obj->ino, &sa, obj);
}

/* Makes the object with all its creation attributes, or nothing: one whose
 * attributes cannot be applied (say a chown the caller may not do) is
 * taken back. */
static int create_object(struct nfs4_compound *c, const struct create_req *r, struct mcfs_attr *obj,
			 struct mcfs_attr *pa)
{
	int e = make_object(c, r, obj, pa);
	if (e < 0)
		return e;
	e = apply_rest(c, &r->sa, obj);
	if (e == 0)
		return 0;
	if (r->type == MCFS_DIR)
		vfs_rmdir(vfs_of(c), &c->cfh.cred, c->cfh.ino, r->name, NULL);
	else
		vfs_unlink(vfs_of(c), &c->cfh.cred, c->cfh.ino, r->name, NULL);
	c->cfh.attr_valid = false;
	return e;
}

nfsstat4 nfs4_op_create(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	CREATE4args *a = &arg->nfs_argop4_u.opcreate;
	CREATE4resok *ok = &res->nfs_resop4_u.opcreate.CREATE4res_u.resok4;
	struct create_req r = {.target = NULL};
	uint64_t before;
	struct mcfs_attr obj, pa;
	nfsstat4 st = create_args(c, a, &r);
	if (st == NFS4_OK)
		st = change_before(c, &c->cfh, &before);
	if (st == NFS4_OK)
		st = nfs4_errno(create_object(c, &r, &obj, &pa));
	free(r.target);
	if (st != NFS4_OK)
		return st;
	note_attrs(c, &pa);
	/* A symbolic link's mode means nothing and was not applied. */
	if (r.type == MCFS_SYMLINK)
		r.set.w[FATTR4_MODE / 32] &= ~(UINT32_C(1) << (FATTR4_MODE % 32));
	const struct export *exp = c->cfh.exp;
	st = nfs4_fh_set_volume(c, &c->cfh, exp, &obj);
	if (st == NFS4_OK)
		st = nfs4_bm_to_xdr(&r.set, &ok->attrset);
	if (st != NFS4_OK)
		return st;
	/* The new current handle carries no stateid (RFC 8881 §16.2.3.1.2). */
	c->cur_stateid_valid = false;
	set_cinfo(&ok->cinfo, before, &pa);
	return NFS4_OK;
}

/* ---- REMOVE */

nfsstat4 nfs4_op_remove(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	REMOVE4args *a = &arg->nfs_argop4_u.opremove;
	REMOVE4resok *ok = &res->nfs_resop4_u.opremove.REMOVE4res_u.resok4;
	char name[MCFS_NAME_MAX + 1];
	uint64_t before;
	nfsstat4 st = need_dir_writable(c);
	if (st == NFS4_OK)
		st = nfs4_component(&a->target, name);
	if (st == NFS4_OK)
		st = change_before(c, &c->cfh, &before);
	if (st != NFS4_OK)
		return st;
	struct mcfs_attr pa;
	int e = vfs_unlink(vfs_of(c), &c->cfh.cred, c->cfh.ino, name, &pa);
	if (e == -EISDIR) /* REMOVE takes directories too */
		e = vfs_rmdir(vfs_of(c), &c->cfh.cred, c->cfh.ino, name, &pa);
	if (e < 0)
		return nfs4_errno(e);
	/* The saved handle may be what was removed: its link count changed. */
	if (c->sfh.kind == NFS4_FH_VOLUME && c->sfh.ino != c->cfh.ino)
		c->sfh.attr_valid = false;
	note_attrs(c, &pa);
	set_cinfo(&ok->cinfo, before, &pa);
	return NFS4_OK;
}

/* ---- RENAME */

/* RFC 7530 §16.26 / RFC 8881 §18.26.3: a target of the other kind, or a
 * directory that is not empty, is NFS4ERR_EXIST. */
static nfsstat4 rename_errno(int e)
{
	switch (-e) {
	case ENOTEMPTY:
	case EISDIR:
	case ENOTDIR: /* both directories were checked: the target is not one */
		return NFS4ERR_EXIST;
	default:
		return nfs4_errno(e);
	}
}

static nfsstat4 rename_args(struct nfs4_compound *c, const RENAME4args *a, char *from, char *to)
{
	nfsstat4 st = nfs4_need_fh(c);
	if (st == NFS4_OK && c->sfh.kind == NFS4_FH_NONE)
		st = NFS4ERR_NOFILEHANDLE;
	if (st == NFS4_OK)
		st = saved_need_dir(c);
	if (st == NFS4_OK)
		st = nfs4_need_dir(c, false);
	if (st == NFS4_OK)
		st = same_fs(c);
	if (st == NFS4_OK)
		st = nfs4_need_writable(c);
	if (st == NFS4_OK)
		st = nfs4_component(&a->oldname, from);
	if (st == NFS4_OK)
		st = nfs4_component(&a->newname, to);
	return st;
}

nfsstat4 nfs4_op_rename(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	RENAME4args *a = &arg->nfs_argop4_u.oprename;
	RENAME4resok *ok = &res->nfs_resop4_u.oprename.RENAME4res_u.resok4;
	char from[MCFS_NAME_MAX + 1], to[MCFS_NAME_MAX + 1];
	uint64_t sbefore, tbefore;
	nfsstat4 st = rename_args(c, a, from, to);
	if (st == NFS4_OK)
		st = change_before(c, &c->sfh, &sbefore);
	if (st == NFS4_OK)
		st = change_before(c, &c->cfh, &tbefore);
	if (st != NFS4_OK)
		return st;
	struct mcfs_attr sa, ta;
	int e = vfs_rename(vfs_of(c), &c->cfh.cred, c->sfh.ino, from, c->cfh.ino, to, 0, &sa, &ta);
	if (e < 0)
		return rename_errno(e);
	note_attrs(c, &sa);
	note_attrs(c, &ta);
	set_cinfo(&ok->source_cinfo, sbefore, &sa);
	set_cinfo(&ok->target_cinfo, tbefore, &ta);
	return NFS4_OK;
}

/* ---- LINK */

static nfsstat4 link_args(struct nfs4_compound *c, const LINK4args *a, char *name)
{
	nfsstat4 st = nfs4_need_fh(c);
	if (st == NFS4_OK && c->sfh.kind == NFS4_FH_NONE)
		st = NFS4ERR_NOFILEHANDLE;
	if (st == NFS4_OK)
		st = nfs4_need_dir(c, false);
	if (st == NFS4_OK) {
		struct mcfs_attr *fa;
		st = nfs4_fh_attr(c, &c->sfh, &fa);
		if (st == NFS4_OK && fa->type == MCFS_DIR)
			st = NFS4ERR_ISDIR;
	}
	if (st == NFS4_OK)
		st = same_fs(c);
	if (st == NFS4_OK)
		st = nfs4_need_writable(c);
	if (st == NFS4_OK)
		st = nfs4_component(&a->newname, name);
	return st;
}

nfsstat4 nfs4_op_link(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	LINK4args *a = &arg->nfs_argop4_u.oplink;
	LINK4resok *ok = &res->nfs_resop4_u.oplink.LINK4res_u.resok4;
	char name[MCFS_NAME_MAX + 1];
	uint64_t before;
	nfsstat4 st = link_args(c, a, name);
	if (st == NFS4_OK)
		st = change_before(c, &c->cfh, &before);
	if (st != NFS4_OK)
		return st;
	struct mcfs_attr fa, pa;
	int e = vfs_link(vfs_of(c), &c->cfh.cred, c->sfh.ino, c->cfh.ino, name, &fa, &pa);
	if (e < 0)
		return nfs4_errno(e);
	note_attrs(c, &fa);
	note_attrs(c, &pa);
	set_cinfo(&ok->cinfo, before, &pa);
	return NFS4_OK;
}
