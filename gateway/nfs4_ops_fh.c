/* NFSv4 operations on file handles, names and attributes (RFC 7530 §16,
 * RFC 8881 §18): PUTFH, PUTROOTFH, PUTPUBFH, GETFH, SAVEFH, RESTOREFH,
 * LOOKUP, LOOKUPP, GETATTR, SETATTR, ACCESS, VERIFY, NVERIFY, READLINK,
 * SECINFO and SECINFO_NO_NAME.
 *
 * The current handle is either a node of the read-only pseudo file system
 * or a volume object served under an export; every operation here works on
 * both, walking between them through the pseudo tree's targets.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfs4_proc.h"

static struct vfs *fh_vfs(const struct nfs4_compound *c)
{
	return c->srv->gw->vfs;
}

/* An operation that replaces the current handle without producing a
 * stateid leaves no current stateid behind (RFC 8881 §16.2.3.1.2), so a
 * later "current stateid" cannot name state of another file. */
static void fh_replaced(struct nfs4_compound *c)
{
	c->cur_stateid_valid = false;
}

/* ---- PUTFH, PUTROOTFH, PUTPUBFH, GETFH, SAVEFH, RESTOREFH ---- */

nfsstat4 nfs4_op_putfh(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	struct nfs4_fh fh;
	memset(&fh, 0, sizeof(fh));
	nfsstat4 st = nfs4_fh_from_wire(c, &arg->nfs_argop4_u.opputfh.object, &fh);
	if (st != NFS4_OK)
		return st;
	c->cfh = fh;
	fh_replaced(c);
	return NFS4_OK;
}

nfsstat4 nfs4_op_putrootfh(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	struct np4_target t;
	struct nfs4_fh fh;
	memset(&fh, 0, sizeof(fh));
	np4_root(c->srv->pseudo, &c->view, &t);
	nfsstat4 st = nfs4_fh_set_target(c, &fh, &t);
	if (st != NFS4_OK)
		return st;
	c->cfh = fh;
	fh_replaced(c);
	return NFS4_OK;
}

/* The public handle is the root: nothing is published outside the exports. */
nfsstat4 nfs4_op_putpubfh(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	return nfs4_op_putrootfh(c, arg, res);
}

nfsstat4 nfs4_op_getfh(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	nfsstat4 st = nfs4_need_fh(c);
	if (st != NFS4_OK)
		return st;
	return nfs4_fh_to_wire(c, &c->cfh, &res->nfs_resop4_u.opgetfh.GETFH4res_u.resok4.object);
}

nfsstat4 nfs4_op_savefh(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	nfsstat4 st = nfs4_need_fh(c);
	if (st != NFS4_OK)
		return st;
	c->sfh = c->cfh;
	c->saved_stateid = c->cur_stateid;
	c->saved_stateid_valid = c->cur_stateid_valid;
	return NFS4_OK;
}

nfsstat4 nfs4_op_restorefh(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	if (c->sfh.kind == NFS4_FH_NONE)
		return NFS4ERR_RESTOREFH;
	c->cfh = c->sfh;
	c->cur_stateid = c->saved_stateid;
	c->cur_stateid_valid = c->saved_stateid_valid;
	return NFS4_OK;
}

/* ---- LOOKUP, LOOKUPP ---- */

/* What a name in the current directory is: a pseudo target, or (in a
 * volume directory) the object's attributes. The vfs checks search
 * permission on the directory. */
static nfsstat4 find_name(struct nfs4_compound *c, const component4 *in, bool symlink_err,
			  struct np4_target *t, struct mcfs_attr *at)
{
	char name[MCFS_NAME_MAX + 1];
	nfsstat4 st = nfs4_need_fh(c);
	if (st == NFS4_OK && c->cfh.kind == NFS4_FH_VOLUME)
		st = nfs4_need_dir(c, symlink_err);
	if (st == NFS4_OK)
		st = nfs4_component(in, name);
	if (st != NFS4_OK)
		return st;
	if (c->cfh.kind == NFS4_FH_PSEUDO)
		return (nfsstat4)np4_lookup(c->srv->pseudo, c->cfh.node, name, strlen(name),
					    &c->view, t);
	return nfs4_errno(vfs_lookup(fh_vfs(c), &c->cfh.cred, c->cfh.ino, name, at));
}

nfsstat4 nfs4_op_lookup(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	struct np4_target t;
	struct mcfs_attr at;
	nfsstat4 st = find_name(c, &arg->nfs_argop4_u.oplookup.objname, true, &t, &at);
	if (st != NFS4_OK)
		return st;
	if (c->cfh.kind == NFS4_FH_PSEUDO)
		st = nfs4_fh_set_target(c, &c->cfh, &t);
	else
		st = nfs4_fh_set_volume(c, &c->cfh, c->cfh.exp, &at);
	if (st == NFS4_OK)
		fh_replaced(c);
	return st;
}

/* ".." of the current volume directory, served under export e. */
static nfsstat4 volume_dotdot(struct nfs4_compound *c, const struct export *e)
{
	struct mcfs_attr at;
	int err = vfs_lookup(fh_vfs(c), &c->cfh.cred, c->cfh.ino, "..", &at);
	if (err < 0)
		return nfs4_errno(err);
	return nfs4_fh_set_volume(c, &c->cfh, e, &at);
}

/* Whether export e is what PUTROOTFH gives this client: its root is then
 * the top of the client's tree. */
static bool is_root_export(const struct nfs4_compound *c, const struct export *e)
{
	struct np4_target r;
	np4_root(c->srv->pseudo, &c->view, &r);
	return r.kind == NP4_EXPORT && r.export && r.export->id == e->id;
}

/* Leaving an export at its root goes back into the pseudo tree, into the
 * export it is mounted in, or nowhere at the top (RFC 7530 §16.14). */
static nfsstat4 export_root_parent(struct nfs4_compound *c)
{
	const struct export *e = c->cfh.exp;
	if (is_root_export(c, e))
		return NFS4ERR_NOENT;
	struct np4_target t;
	enum np4_status ps = np4_export_parent(c->srv->pseudo, e->id, &c->view, &t);
	if (ps != NP4_OK)
		return (nfsstat4)ps;
	if (t.kind == NP4_VOLUME)
		return volume_dotdot(c, t.export);
	return nfs4_fh_set_target(c, &c->cfh, &t);
}

static nfsstat4 pseudo_parent(struct nfs4_compound *c)
{
	if (np4_is_root(c->srv->pseudo, c->cfh.node))
		return NFS4ERR_NOENT;
	struct np4_target t;
	enum np4_status ps = np4_lookupp(c->srv->pseudo, c->cfh.node, &c->view, &t);
	if (ps != NP4_OK)
		return (nfsstat4)ps;
	return nfs4_fh_set_target(c, &c->cfh, &t);
}

/* Replaces the current handle by its parent directory. 4.0 answers NOTDIR
 * for any non-directory; 4.1 tells a symbolic link apart (pynfs LKPP1a). */
static nfsstat4 to_parent(struct nfs4_compound *c)
{
	nfsstat4 st = nfs4_need_fh(c);
	if (st != NFS4_OK)
		return st;
	if (c->cfh.kind == NFS4_FH_PSEUDO)
		return pseudo_parent(c);
	st = nfs4_need_dir(c, c->minorversion >= 1);
	if (st != NFS4_OK)
		return st;
	if (c->cfh.ino == c->cfh.exp->root)
		return export_root_parent(c);
	return volume_dotdot(c, c->cfh.exp);
}

nfsstat4 nfs4_op_lookupp(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	nfsstat4 st = to_parent(c);
	if (st == NFS4_OK)
		fh_replaced(c);
	return st;
}

/* ---- GETATTR, SETATTR, VERIFY, NVERIFY ---- */

nfsstat4 nfs4_op_getattr(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	struct mcfs_attr *a;
	nfsstat4 st = nfs4_need_fh(c);
	if (st == NFS4_OK)
		st = nfs4_fh_attr(c, &c->cfh, &a);
	if (st != NFS4_OK)
		return st;
	return nfs4_encode_attrs(c, &c->cfh, &arg->nfs_argop4_u.opgetattr.attr_request,
				 &res->nfs_resop4_u.opgetattr.GETATTR4res_u.resok4.obj_attributes);
}

/* A size change rewrites data, so it needs what a WRITE would: a regular
 * file and a stateid that allows writing (RFC 8881 §18.30.4). */
static nfsstat4 setattr_size_ok(struct nfs4_compound *c, const stateid4 *sid)
{
	struct mcfs_attr *a;
	nfsstat4 st = nfs4_fh_attr(c, &c->cfh, &a);
	if (st != NFS4_OK)
		return st;
	if (a->type == MCFS_DIR)
		return NFS4ERR_ISDIR;
	if (a->type != MCFS_FILE)
		return NFS4ERR_INVAL;
	struct ns4_io_check chk = {
	    .fileid = c->cfh.ino,
	    .clientid = nfs4_clientid(c),
	    .access = NS4_ACCESS_WRITE,
	};
	st = nfs4_stateid_in(c, sid, &chk.stateid);
	if (st != NFS4_OK)
		return st;
	return (nfsstat4)ns4_check_stateid(c->srv->state, &chk);
}

/* attrsset stays empty on failure: a SETATTR that fails sets nothing. */
nfsstat4 nfs4_op_setattr(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	SETATTR4args *a = &arg->nfs_argop4_u.opsetattr;
	struct vfs_setattr sa;
	struct nfs4_bitmap set;
	nfsstat4 st = nfs4_need_writable(c);
	if (st == NFS4_OK)
		st = nfs4_attr_decode(&a->obj_attributes, NFS4_SET_SETATTR, c->minorversion,
				      &c->srv->idmap, &sa, &set);
	if (st == NFS4_OK && (sa.mask & VFS_SET_SIZE))
		st = setattr_size_ok(c, &a->stateid);
	if (st != NFS4_OK)
		return st;
	struct mcfs_attr after;
	int err = vfs_setattr(fh_vfs(c), &c->cfh.cred, c->cfh.ino, &sa, &after);
	if (err < 0) {
		c->cfh.attr_valid = false; /* a partial change cannot be ruled out */
		return nfs4_errno(err);
	}
	c->cfh.attr = after;
	c->cfh.attr_valid = true;
	return nfs4_bm_to_xdr(&set, &res->nfs_resop4_u.opsetattr.attrsset);
}

/* Whether the server's values for the client's attributes equal the
 * client's. */
static nfsstat4 compare_attrs(struct nfs4_compound *c, const fattr4 *client, bool *same)
{
	struct mcfs_attr *a;
	nfsstat4 st = nfs4_need_fh(c);
	if (st == NFS4_OK)
		st = nfs4_fh_attr(c, &c->cfh, &a);
	if (st != NFS4_OK)
		return st;
	struct vfs_statfs sf;
	uint8_t fhbuf[FH_SIZE];
	struct nfs4_attr_ctx ctx;
	st = nfs4_attr_ctx_for(c, &c->cfh, &client->attrmask, &sf, fhbuf, &ctx);
	if (st != NFS4_OK)
		return st;
	return nfs4_attr_verify(&ctx, client, same);
}

nfsstat4 nfs4_op_verify(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	bool same = false;
	nfsstat4 st = compare_attrs(c, &arg->nfs_argop4_u.opverify.obj_attributes, &same);
	if (st != NFS4_OK)
		return st;
	return same ? NFS4_OK : NFS4ERR_NOT_SAME;
}

nfsstat4 nfs4_op_nverify(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	bool same = true;
	nfsstat4 st = compare_attrs(c, &arg->nfs_argop4_u.opnverify.obj_attributes, &same);
	if (st != NFS4_OK)
		return st;
	return same ? NFS4ERR_SAME : NFS4_OK;
}

/* ---- ACCESS ---- */

#define ACCESS4_DIR_BITS                                                                           \
	(ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_MODIFY | ACCESS4_EXTEND | ACCESS4_DELETE)
#define ACCESS4_NONDIR_BITS (ACCESS4_READ | ACCESS4_MODIFY | ACCESS4_EXTEND | ACCESS4_EXECUTE)
#define ACCESS4_CHANGE_BITS (ACCESS4_MODIFY | ACCESS4_EXTEND | ACCESS4_DELETE | ACCESS4_XAWRITE)
/* RFC 8276: extended attributes, 4.2 and later, for every kind of object. */
#define ACCESS4_XATTR_BITS (ACCESS4_XAREAD | ACCESS4_XAWRITE | ACCESS4_XALIST)

/* What the mode bits grant the caller, in ACCESS4 terms (as nfs3_access).
 * Extended attributes follow what the vfs enforces: reading and listing
 * them takes read permission, changing them write permission or owning
 * the object. */
static uint32_t access_granted(const struct nfs4_compound *c, const struct mcfs_attr *a)
{
	unsigned perm = vfs_mode_bits(&c->cfh.cred, a);
	bool dir = a->type == MCFS_DIR;
	uint32_t got = 0;
	if (perm & 4)
		got |= ACCESS4_READ | ACCESS4_XAREAD | ACCESS4_XALIST;
	if (perm & 2)
		got |= ACCESS4_MODIFY | ACCESS4_EXTEND | (dir ? ACCESS4_DELETE : 0);
	if ((perm & 2) || c->cfh.cred.uid == a->uid)
		got |= ACCESS4_XAWRITE;
	if (perm & 1)
		got |= dir ? ACCESS4_LOOKUP : ACCESS4_EXECUTE;
	if (c->cfh.exp->read_only)
		got &= ~(uint32_t)ACCESS4_CHANGE_BITS;
	return got;
}

/* supported holds the requested bits that mean something for this kind
 * of object (LOOKUP and DELETE for directories, EXECUTE for the rest,
 * RFC 8881 §18.1.4; the xattr ones from 4.2 on); unknown bits are simply
 * not supported. */
nfsstat4 nfs4_op_access(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	ACCESS4resok *ok = &res->nfs_resop4_u.opaccess.ACCESS4res_u.resok4;
	uint32_t want = arg->nfs_argop4_u.opaccess.access;
	struct mcfs_attr *a;
	nfsstat4 st = nfs4_need_fh(c);
	if (st == NFS4_OK)
		st = nfs4_fh_attr(c, &c->cfh, &a);
	if (st != NFS4_OK)
		return st;
	/* The pseudo fs is read-only and open to every client that sees it;
	 * its directories have no extended attributes to read, but may be
	 * asked for them (and list none). */
	uint32_t got = c->cfh.kind == NFS4_FH_PSEUDO
			   ? ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_XAREAD | ACCESS4_XALIST
			   : access_granted(c, a);
	uint32_t known = a->type == MCFS_DIR ? ACCESS4_DIR_BITS : ACCESS4_NONDIR_BITS;
	if (c->minorversion >= 2)
		known |= ACCESS4_XATTR_BITS;
	ok->supported = want & known;
	ok->access = got & ok->supported;
	return NFS4_OK;
}

/* ---- READLINK ---- */

nfsstat4 nfs4_op_readlink(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	struct mcfs_attr *a;
	nfsstat4 st = nfs4_need_volume(c, NFS4ERR_INVAL);
	if (st == NFS4_OK)
		st = nfs4_fh_attr(c, &c->cfh, &a);
	if (st != NFS4_OK)
		return st;
	if (a->type != MCFS_SYMLINK)
		return NFS4ERR_INVAL; /* RFC 7530 §16.25.4, directories included */
	char *target = malloc(MCFS_SYMLINK_MAX + 1);
	if (!target)
		return NFS4ERR_SERVERFAULT;
	int err = vfs_readlink(fh_vfs(c), c->cfh.ino, target, MCFS_SYMLINK_MAX + 1);
	if (err < 0) {
		free(target);
		return nfs4_errno(err);
	}
	linktext4 *link = &res->nfs_resop4_u.opreadlink.READLINK4res_u.resok4.link;
	link->linktext4_len = (u_int)strlen(target);
	link->linktext4_val = target;
	return NFS4_OK;
}

/* ---- SECINFO, SECINFO_NO_NAME ---- */

/* The one flavor every export accepts: AUTH_SYS. In 4.1 and later the
 * operation consumes the current handle (RFC 8881 §2.6.3.1.1.8), so a
 * client cannot go on with a handle whose security it just asked about. */
static nfsstat4 secinfo_answer(struct nfs4_compound *c, SECINFO4res *r)
{
	secinfo4 *flavors = calloc(1, sizeof(*flavors));
	if (!flavors)
		return NFS4ERR_SERVERFAULT;
	flavors[0].flavor = NFS4_FLAVOR_AUTH_SYS;
	r->SECINFO4res_u.resok4.SECINFO4resok_len = 1;
	r->SECINFO4res_u.resok4.SECINFO4resok_val = flavors;
	if (c->minorversion >= 1)
		c->cfh.kind = NFS4_FH_NONE;
	return NFS4_OK;
}

nfsstat4 nfs4_op_secinfo(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	struct np4_target t;
	struct mcfs_attr at;
	nfsstat4 st = find_name(c, &arg->nfs_argop4_u.opsecinfo.name, false, &t, &at);
	if (st != NFS4_OK)
		return st;
	return secinfo_answer(c, &res->nfs_resop4_u.opsecinfo);
}

nfsstat4 nfs4_op_secinfo_no_name(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	nfsstat4 st;
	switch (arg->nfs_argop4_u.opsecinfo_no_name) {
	case SECINFO_STYLE4_CURRENT_FH:
		st = nfs4_need_fh(c);
		break;
	case SECINFO_STYLE4_PARENT:
		/* The handle is consumed on success, so walking it up is free. */
		st = to_parent(c);
		break;
	default:
		st = NFS4ERR_INVAL;
		break;
	}
	if (st != NFS4_OK)
		return st;
	return secinfo_answer(c, &res->nfs_resop4_u.opsecinfo_no_name);
}
