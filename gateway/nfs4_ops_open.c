/* NFSv4 operations on opens: OPEN, OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE and
 * DELEGRETURN (RFC 7530 §16.16-19, §16.2, §16.7; RFC 8881 §18.16-18,
 * §18.2, §18.6). The state manager (nfs4_state.h) owns stateids, share
 * reservations and the grace period; this file translates the XDR and does
 * the file system part: finding or creating the file, its type and
 * permissions, truncation. Delegations are never granted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfs4_proc.h"

/* Attributes an exclusive create keeps its verifier in. */
#define VERF_TIMES (VFS_SET_ATIME | VFS_SET_MTIME | VFS_SET_ATIME_NOW | VFS_SET_MTIME_NOW)

static struct vfs *vfs_of(const struct nfs4_compound *c)
{
	return c->srv->gw->vfs;
}

static nfsstat4 no_memory(const struct nfs4_compound *c)
{
	return c->minorversion == 0 ? NFS4ERR_SERVERFAULT : NFS4ERR_DELAY;
}

/* We never grant delegations, so no stateid names one; a stateid of an
 * earlier server instance or of an expired client still gets the error
 * that tells the client so. */
static nfsstat4 deleg_stateid_status(struct nfs4_compound *c, const stateid4 *in)
{
	struct ns4_stateid s;
	nfsstat4 st = nfs4_stateid_in(c, in, &s);
	if (st != NFS4_OK)
		return st;
	if (ns4_stateid_is_anon(&s) || ns4_stateid_is_bypass(&s))
		return NFS4ERR_BAD_STATEID;
	enum ns4_status rc = ns4_test_stateid(c->srv->state, nfs4_clientid(c), &s);
	if (rc == NS4ERR_STALE_STATEID || rc == NS4ERR_EXPIRED)
		return (nfsstat4)rc;
	return NFS4ERR_BAD_STATEID;
}

/* ---- OPEN ---- */

/* What OPEN found or made, and what it reports about it. */
struct open_target {
	struct mcfs_attr obj;
	bool created;  /* by this OPEN (or its retransmission): no permission check */
	bool truncate; /* UNCHECKED4 with size 0 on an existing file */
	struct nfs4_bitmap attrset;
	bool atomic;
	uint64_t before, after; /* the directory's change attribute */
};

/* How OPEN4_CREATE asked for the file. */
struct create_how {
	createmode4 mode;
	const char *verf;	  /* EXCLUSIVE4, EXCLUSIVE4_1 */
	struct vfs_setattr sa;	  /* attributes for a new file */
	struct nfs4_bitmap attrs; /* which the client sent */
};

/* 4.1 delegation wants (RFC 8881 §18.16.3): we understand them all, and
 * answer each with "no delegation". */
static bool want_valid(uint32_t bits)
{
	const uint32_t flags = OPEN4_SHARE_ACCESS_WANT_SIGNAL_DELEG_WHEN_RESRC_AVAIL |
			       OPEN4_SHARE_ACCESS_WANT_PUSH_DELEG_WHEN_UNCONTENDED;
	if (bits & ~(flags | OPEN4_SHARE_ACCESS_WANT_DELEG_MASK))
		return false;
	switch (bits & OPEN4_SHARE_ACCESS_WANT_DELEG_MASK) {
	case OPEN4_SHARE_ACCESS_WANT_NO_PREFERENCE:
	case OPEN4_SHARE_ACCESS_WANT_READ_DELEG:
	case OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG:
	case OPEN4_SHARE_ACCESS_WANT_ANY_DELEG:
	case OPEN4_SHARE_ACCESS_WANT_NO_DELEG:
	case OPEN4_SHARE_ACCESS_WANT_CANCEL:
		return true;
	default:
		return false;
	}
}

/* Checked before anything is created. The union arms 4.1 added do not
 * exist in 4.0's XDR. */
static nfsstat4 open_check_args(const struct nfs4_compound *c, const OPEN4args *a)
{
	uint32_t access = a->share_access & OPEN4_SHARE_ACCESS_BOTH;
	uint32_t want = a->share_access & ~(uint32_t)OPEN4_SHARE_ACCESS_BOTH;
	if (access == 0 || a->share_deny > OPEN4_SHARE_DENY_BOTH)
		return NFS4ERR_INVAL;
	if (want && (c->minorversion == 0 || !want_valid(want)))
		return NFS4ERR_INVAL;
	if (c->minorversion == 0 && a->claim.claim > CLAIM_DELEGATE_PREV)
		return NFS4ERR_BADXDR;
	if (c->minorversion == 0 && a->openhow.opentype == OPEN4_CREATE &&
	    a->openhow.openflag4_u.how.mode == EXCLUSIVE4_1)
		return NFS4ERR_BADXDR;
	return NFS4_OK;
}

/* New opens wait out the grace period; reclaims happen only in it. */
static nfsstat4 open_grace(struct nfs4_compound *c, bool reclaim)
{
	bool grace = ns4_in_grace(c->srv->state);
	if (reclaim && !grace)
		return NFS4ERR_NO_GRACE;
	if (!reclaim && grace)
		return NFS4ERR_GRACE;
	return NFS4_OK;
}

/* The verifier goes into atime and mtime seconds, as NFSv3 does, so that a
 * retransmission finds "its" file; the client sets real times next. */
static void verf_times(const char *verf, struct vfs_setattr *sa)
{
	uint32_t w0, w1;
	memcpy(&w0, verf, 4);
	memcpy(&w1, verf + 4, 4);
	sa->mask = (sa->mask & ~(unsigned)VERF_TIMES) | VFS_SET_ATIME | VFS_SET_MTIME;
	sa->atime = (struct timespec){.tv_sec = w0 & 0x7fffffff};
	sa->mtime = (struct timespec){.tv_sec = w1 & 0x7fffffff};
}

static bool verf_matches(const struct mcfs_attr *a, const char *verf)
{
	struct vfs_setattr sa = {0};
	verf_times(verf, &sa);
	return a->type == MCFS_FILE && a->atime.tv_sec == sa.atime.tv_sec &&
	       a->mtime.tv_sec == sa.mtime.tv_sec;
}

static nfsstat4 parse_createhow(struct nfs4_compound *c, const createhow4 *how,
				struct create_how *ch)
{
	const fattr4 *fa;
	memset(ch, 0, sizeof(*ch));
	ch->mode = how->mode;
	switch (how->mode) {
	case UNCHECKED4:
	case GUARDED4:
		fa = &how->createhow4_u.createattrs;
		break;
	case EXCLUSIVE4:
		ch->verf = how->createhow4_u.createverf;
		return NFS4_OK;
	case EXCLUSIVE4_1:
		ch->verf = how->createhow4_u.ch_createboth.cva_verf;
		fa = &how->createhow4_u.ch_createboth.cva_attrs;
		break;
	default:
		return NFS4ERR_INVAL;
	}
	nfsstat4 st = nfs4_attr_decode(fa, NFS4_SET_CREATE, c->minorversion, &c->srv->idmap,
				       &ch->sa, &ch->attrs);
	/* The times hold the verifier: not in suppattr_exclcreat (RFC 8881
	 * §18.16.3). */
	if (st == NFS4_OK && ch->verf && (ch->sa.mask & VERF_TIMES))
		return NFS4ERR_INVAL;
	return st;
}

static void attrset_add_verf(struct nfs4_bitmap *bm)
{
	nfs4_bm_set(bm, FATTR4_TIME_ACCESS);
	nfs4_bm_set(bm, FATTR4_TIME_MODIFY);
}

/* Creates name in the current directory; then applies what vfs_create does
 * not set itself (ownership, size, times, the verifier). */
static int create_new(struct nfs4_compound *c, const char *name, const struct create_how *ch,
		      struct open_target *t)
{
	uint16_t mode = ch->sa.mask & VFS_SET_MODE ? ch->sa.mode : 0644;
	struct mcfs_attr pa;
	int e = vfs_create(vfs_of(c), &c->cfh.cred, c->cfh.ino, name, mode, VFS_CREATE_EXCL,
			   &t->obj, &pa);
	if (e < 0)
		return e;
	t->created = true;
	t->atomic = false;
	t->after = pa.change;
	t->attrset = ch->attrs;
	struct vfs_setattr sa = ch->sa;
	sa.mask &= ~(unsigned)VFS_SET_MODE;
	if (sa.mask & VFS_SET_UID && sa.uid == t->obj.uid)
		sa.mask &= ~(unsigned)VFS_SET_UID;
	if (sa.mask & VFS_SET_GID && sa.gid == t->obj.gid)
		sa.mask &= ~(unsigned)VFS_SET_GID;
	if (sa.mask & VFS_SET_SIZE && sa.size == t->obj.size)
		sa.mask &= ~(unsigned)VFS_SET_SIZE;
	if (ch->verf) {
		verf_times(ch->verf, &sa);
		attrset_add_verf(&t->attrset);
	}
	if (!sa.mask)
		return 0;
	return vfs_setattr(vfs_of(c), &c->cfh.cred, t->obj.ino, &sa, &t->obj);
}

/* OPEN4_CREATE met an existing object (RFC 8881 §18.16.3). */
static nfsstat4 create_existing(const struct create_how *ch, struct open_target *t)
{
	switch (ch->mode) {
	case GUARDED4:
		return NFS4ERR_EXIST;
	case EXCLUSIVE4:
	case EXCLUSIVE4_1:
		if (!verf_matches(&t->obj, ch->verf))
			return NFS4ERR_EXIST;
		/* Our own create, retransmitted: answer as the first time. */
		t->created = true;
		t->attrset = ch->attrs;
		attrset_add_verf(&t->attrset);
		return NFS4_OK;
	default:
		/* UNCHECKED4 ignores the attributes, but size 0 truncates. */
		t->truncate = (ch->sa.mask & VFS_SET_SIZE) && ch->sa.size == 0;
		if (t->truncate)
			nfs4_bm_set(&t->attrset, FATTR4_SIZE);
		return NFS4_OK;
	}
}

/* ch is NULL for OPEN4_NOCREATE. */
static nfsstat4 lookup_or_create(struct nfs4_compound *c, const char *name,
				 const struct create_how *ch, struct open_target *t)
{
	int e = vfs_lookup(vfs_of(c), &c->cfh.cred, c->cfh.ino, name, &t->obj);
	if (e == -ENOENT && ch) {
		nfsstat4 st = nfs4_need_writable(c);
		if (st != NFS4_OK)
			return st;
		e = create_new(c, name, ch, t);
		if (e != -EEXIST || ch->mode == GUARDED4)
			return nfs4_errno(e);
		/* Someone else made it meanwhile: it exists after all. */
		e = vfs_lookup(vfs_of(c), &c->cfh.cred, c->cfh.ino, name, &t->obj);
	}
	if (e < 0)
		return nfs4_errno(e);
	return ch ? create_existing(ch, t) : NFS4_OK;
}

/* The pseudo fs holds only directories and cannot be changed. */
static nfsstat4 open_pseudo(struct nfs4_compound *c, const char *name, const struct create_how *ch)
{
	struct np4_target tg;
	enum np4_status ps =
	    np4_lookup(c->srv->pseudo, c->cfh.node, name, strlen(name), &c->view, &tg);
	if (ps == NP4ERR_NOENT)
		return ch ? NFS4ERR_ROFS : NFS4ERR_NOENT;
	if (ps != NP4_OK)
		return (nfsstat4)ps;
	return ch && ch->mode != UNCHECKED4 ? NFS4ERR_EXIST : NFS4ERR_ISDIR;
}

/* CLAIM_NULL: the current handle is the directory, the file is named. */
static nfsstat4 open_by_name(struct nfs4_compound *c, const OPEN4args *a, struct open_target *t)
{
	char name[MCFS_NAME_MAX + 1];
	struct create_how ch;
	bool create = a->openhow.opentype == OPEN4_CREATE;
	nfsstat4 st = nfs4_need_dir(c, true);
	if (st == NFS4_OK)
		st = nfs4_component(&a->claim.open_claim4_u.file, name);
	if (st == NFS4_OK && create)
		st = parse_createhow(c, &a->openhow.openflag4_u.how, &ch);
	if (st != NFS4_OK)
		return st;
	if (c->cfh.kind == NFS4_FH_PSEUDO)
		return open_pseudo(c, name, create ? &ch : NULL);
	struct mcfs_attr *da;
	st = nfs4_fh_attr(c, &c->cfh, &da);
	if (st != NFS4_OK)
		return st;
	t->before = t->after = da->change;
	t->atomic = true; /* until we change the directory */
	return lookup_or_create(c, name, create ? &ch : NULL, t);
}

/* CLAIM_PREVIOUS, CLAIM_FH: the current handle is the file. Its directory
 * is unknown, so cinfo stays zero. */
static nfsstat4 open_by_fh(struct nfs4_compound *c, struct open_target *t)
{
	struct mcfs_attr *fa;
	nfsstat4 st = nfs4_need_volume(c, NFS4ERR_ISDIR);
	if (st == NFS4_OK)
		st = nfs4_fh_attr(c, &c->cfh, &fa);
	if (st == NFS4_OK)
		t->obj = *fa;
	return st;
}

static nfsstat4 open_target(struct nfs4_compound *c, const OPEN4args *a, struct open_target *t)
{
	const open_claim4 *cl = &a->claim;
	nfsstat4 st;
	switch (cl->claim) {
	case CLAIM_NULL:
		st = open_grace(c, false);
		return st == NFS4_OK ? open_by_name(c, a, t) : st;
	case CLAIM_PREVIOUS:
	case CLAIM_FH:
		st = open_grace(c, cl->claim == CLAIM_PREVIOUS);
		return st == NFS4_OK ? open_by_fh(c, t) : st;
	case CLAIM_DELEGATE_CUR:
		return deleg_stateid_status(c,
					    &cl->open_claim4_u.delegate_cur_info.delegate_stateid);
	case CLAIM_DELEG_CUR_FH:
		return deleg_stateid_status(c, &cl->open_claim4_u.oc_delegate_stateid);
	case CLAIM_DELEGATE_PREV:
	case CLAIM_DELEG_PREV_FH:
		return NFS4ERR_NOTSUPP; /* no delegations survive a client restart */
	default:
		return NFS4ERR_INVAL;
	}
}

/* RFC 7530 §16.16.6: SYMLINK for every other type in 4.0; 4.1 has
 * WRONG_TYPE for those that are not symbolic links. */
static nfsstat4 open_type_check(const struct nfs4_compound *c, const struct mcfs_attr *a)
{
	switch (a->type) {
	case MCFS_FILE:
		return NFS4_OK;
	case MCFS_DIR:
		return NFS4ERR_ISDIR;
	case MCFS_SYMLINK:
		return NFS4ERR_SYMLINK;
	default:
		return c->minorversion == 0 ? NFS4ERR_SYMLINK : NFS4ERR_WRONG_TYPE;
	}
}

/* The creator may open what it just made whatever the mode it gave it.
 * Execute permission allows a read open: clients read to execute. */
static nfsstat4 open_permission(struct nfs4_compound *c, uint32_t access,
				const struct open_target *t)
{
	if (t->created)
		return NFS4_OK;
	unsigned bits = vfs_mode_bits(&c->cfh.cred, &t->obj);
	if ((access & OPEN4_SHARE_ACCESS_READ) && !(bits & 5))
		return NFS4ERR_ACCESS;
	if ((access & OPEN4_SHARE_ACCESS_WRITE) && !(bits & 2))
		return NFS4ERR_ACCESS;
	return NFS4_OK;
}

static nfsstat4 open_checks(struct nfs4_compound *c, const OPEN4args *a,
			    const struct open_target *t)
{
	uint32_t access = a->share_access & OPEN4_SHARE_ACCESS_BOTH;
	nfsstat4 st = open_type_check(c, &t->obj);
	if (st == NFS4_OK && (access & OPEN4_SHARE_ACCESS_WRITE))
		st = nfs4_need_writable(c);
	if (st == NFS4_OK)
		st = open_permission(c, access, t);
	if (st == NFS4_OK && t->truncate && !(access & OPEN4_SHARE_ACCESS_WRITE))
		st = NFS4ERR_INVAL;
	return st;
}

static nfsstat4 open_state(struct nfs4_compound *c, const OPEN4args *a, const struct open_target *t,
			   struct ns4_open_res *o)
{
	struct ns4_open_args oa = {
	    .clientid = c->minorversion == 0 ? a->owner.clientid : c->clientid,
	    .owner = a->owner.owner.owner_val,
	    .owner_len = a->owner.owner.owner_len,
	    .fileid = t->obj.ino,
	    .access = a->share_access,
	    .deny = a->share_deny,
	    .reclaim = a->claim.claim == CLAIM_PREVIOUS,
	};
	enum ns4_status rc = ns4_open(c->srv->state, &oa, o);
	if (rc != NS4_OK)
		return (nfsstat4)rc;
	if (o->first_open)
		nfs4_file_opened(c, t->obj.ino);
	return NFS4_OK;
}

/* Only once the share reservation is granted: a deny-write holder must
 * not see the file cut. */
static nfsstat4 open_truncate(struct nfs4_compound *c, struct open_target *t)
{
	if (!t->truncate || t->obj.size == 0)
		return NFS4_OK;
	struct vfs_setattr sa = {.mask = VFS_SET_SIZE, .size = 0};
	return nfs4_errno(vfs_setattr(vfs_of(c), &c->cfh.cred, t->obj.ino, &sa, &t->obj));
}

static void open_delegation(const struct nfs4_compound *c, uint32_t share_access,
			    open_delegation4 *d)
{
	uint32_t want = share_access & OPEN4_SHARE_ACCESS_WANT_DELEG_MASK;
	memset(d, 0, sizeof(*d));
	d->delegation_type = OPEN_DELEGATE_NONE;
	/* A 4.1 client that states a want is told why it got none. */
	if (c->minorversion == 0 || want == OPEN4_SHARE_ACCESS_WANT_NO_PREFERENCE)
		return;
	d->delegation_type = OPEN_DELEGATE_NONE_EXT;
	open_none_delegation4 *w = &d->open_delegation4_u.od_whynone;
	if (want == OPEN4_SHARE_ACCESS_WANT_NO_DELEG)
		w->ond_why = WND4_NOT_WANTED;
	else if (want == OPEN4_SHARE_ACCESS_WANT_CANCEL)
		w->ond_why = WND4_CANCELLED;
	else
		/* None is ever granted. RFC 8881 has no reason that says so; the
		 * generic one is what Linux's nfsd gives too. */
		w->ond_why = WND4_RESOURCE;
}

/* The saved handle may cache attributes this OPEN changed (the current
 * handle is replaced anyway). */
static void forget_attrs(struct nfs4_compound *c, mcfs_ino_t ino)
{
	if (c->sfh.kind == NFS4_FH_VOLUME && c->sfh.ino == ino)
		c->sfh.attr_valid = false;
}

/* The opened file becomes the current handle. */
static nfsstat4 open_reply(struct nfs4_compound *c, const OPEN4args *a, const struct open_target *t,
			   const struct ns4_open_res *o, OPEN4resok *ok)
{
	struct nfs4_fh fh = c->cfh;
	nfsstat4 st = nfs4_fh_set_volume(c, &fh, c->cfh.exp, &t->obj);
	if (st != NFS4_OK)
		return st;
	if (t->created)
		forget_attrs(c, c->cfh.ino);
	if (t->truncate)
		forget_attrs(c, t->obj.ino);
	c->cfh = fh;
	nfs4_stateid_out(c, &o->stateid, &ok->stateid);
	ok->cinfo.atomic = t->atomic;
	ok->cinfo.before = t->before;
	ok->cinfo.after = t->after;
	ok->rflags = OPEN4_RESULT_LOCKTYPE_POSIX;
	if (c->minorversion == 0 && o->confirm)
		ok->rflags |= OPEN4_RESULT_CONFIRM;
	open_delegation(c, a->share_access, &ok->delegation);
	return NFS4_OK;
}

static nfsstat4 open_body(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const OPEN4args *a = &arg->nfs_argop4_u.opopen;
	struct open_target t;
	memset(&t, 0, sizeof(t));
	nfsstat4 st = open_check_args(c, a);
	if (st == NFS4_OK)
		st = nfs4_need_fh(c);
	if (st == NFS4_OK)
		st = open_target(c, a, &t);
	if (st == NFS4_OK)
		st = open_checks(c, a, &t);
	if (st != NFS4_OK)
		return st;
	/* Allocated before the open exists, so that nothing can fail after
	 * it but the file system. */
	bitmap4 attrset = {0};
	if (nfs4_bm_to_xdr(&t.attrset, &attrset) != NFS4_OK)
		return no_memory(c);
	OPEN4resok *ok = &res->nfs_resop4_u.opopen.OPEN4res_u.resok4;
	struct ns4_open_res o;
	st = open_state(c, a, &t, &o);
	if (st == NFS4_OK)
		st = open_truncate(c, &t);
	if (st == NFS4_OK)
		st = open_reply(c, a, &t, &o, ok);
	if (st != NFS4_OK) {
		nfs4_bm_free_xdr(&attrset);
		return st;
	}
	ok->attrset = attrset;
	return NFS4_OK;
}

/* A replayed CLAIM_NULL OPEN must leave the file as the current handle,
 * as the original did; the cached reply only holds the result. */
static void open_replay_fh(struct nfs4_compound *c, const OPEN4args *a)
{
	char name[MCFS_NAME_MAX + 1];
	struct mcfs_attr obj;
	if (a->claim.claim != CLAIM_NULL || c->cfh.kind != NFS4_FH_VOLUME)
		return;
	if (nfs4_component(&a->claim.open_claim4_u.file, name) != NFS4_OK)
		return;
	const struct export *e = c->cfh.exp;
	if (vfs_lookup(vfs_of(c), &c->cfh.cred, c->cfh.ino, name, &obj) == 0)
		(void)nfs4_fh_set_volume(c, &c->cfh, e, &obj);
}

nfsstat4 nfs4_op_open(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const OPEN4args *a = &arg->nfs_argop4_u.opopen;
	struct nfs4_seq_owner o = {
	    .clientid = a->owner.clientid,
	    .owner = a->owner.owner.owner_val,
	    .owner_len = a->owner.owner.owner_len,
	    .seqid = a->seqid,
	};
	bool replayed = false;
	nfsstat4 st = nfs4_run_seqid(c, &o, arg, res, open_body, &replayed);
	if (replayed && st == NFS4_OK)
		open_replay_fh(c, a);
	return st;
}

/* ---- OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE ---- */

/* Open stateids name volume files only: a pseudo directory has none. */
static nfsstat4 open_stateid_in(struct nfs4_compound *c, const stateid4 *in,
				struct ns4_stateid *out)
{
	nfsstat4 st = nfs4_need_volume(c, NFS4ERR_BAD_STATEID);
	return st == NFS4_OK ? nfs4_stateid_in(c, in, out) : st;
}

static nfsstat4 open_confirm_body(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const OPEN_CONFIRM4args *a = &arg->nfs_argop4_u.opopen_confirm;
	struct ns4_stateid sid, out;
	nfsstat4 st = open_stateid_in(c, &a->open_stateid, &sid);
	if (st != NFS4_OK)
		return st;
	st = (nfsstat4)ns4_open_confirm(c->srv->state, &sid, c->cfh.ino, &out);
	if (st == NFS4_OK)
		nfs4_stateid_out(
		    c, &out,
		    &res->nfs_resop4_u.opopen_confirm.OPEN_CONFIRM4res_u.resok4.open_stateid);
	return st;
}

nfsstat4 nfs4_op_open_confirm(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const OPEN_CONFIRM4args *a = &arg->nfs_argop4_u.opopen_confirm;
	struct nfs4_seq_owner o = {
	    .stateid = &a->open_stateid, .seqid = a->seqid, .open_confirm = true};
	return nfs4_run_seqid(c, &o, arg, res, open_confirm_body, NULL);
}

static nfsstat4 open_downgrade_body(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const OPEN_DOWNGRADE4args *a = &arg->nfs_argop4_u.opopen_downgrade;
	struct ns4_stateid sid, out;
	nfsstat4 st = open_stateid_in(c, &a->open_stateid, &sid);
	if (st != NFS4_OK)
		return st;
	/* Want bits are 4.1's; the state manager ignores them there. */
	if (c->minorversion == 0 && (a->share_access & ~(uint32_t)OPEN4_SHARE_ACCESS_BOTH))
		return NFS4ERR_INVAL;
	st = (nfsstat4)ns4_open_downgrade(c->srv->state, nfs4_clientid(c), &sid, c->cfh.ino,
					  a->share_access, a->share_deny, &out);
	if (st == NFS4_OK)
		nfs4_stateid_out(
		    c, &out,
		    &res->nfs_resop4_u.opopen_downgrade.OPEN_DOWNGRADE4res_u.resok4.open_stateid);
	return st;
}

nfsstat4 nfs4_op_open_downgrade(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const OPEN_DOWNGRADE4args *a = &arg->nfs_argop4_u.opopen_downgrade;
	struct nfs4_seq_owner o = {.stateid = &a->open_stateid, .seqid = a->seqid};
	return nfs4_run_seqid(c, &o, arg, res, open_downgrade_body, NULL);
}

static nfsstat4 close_body(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const CLOSE4args *a = &arg->nfs_argop4_u.opclose;
	struct ns4_stateid sid, out;
	bool last = false;
	nfsstat4 st = open_stateid_in(c, &a->open_stateid, &sid);
	if (st != NFS4_OK)
		return st;
	/* CLOSE commits what the file's writers buffered (DESIGN §9); a
	 * failure leaves the open in place for the client's retry. */
	if (c->cfh.kind == NFS4_FH_VOLUME) {
		int r = vfs_flush(vfs_of(c), c->cfh.ino);
		if (r < 0)
			return nfs4_errno(r);
	}
	st = (nfsstat4)ns4_close(c->srv->state, nfs4_clientid(c), &sid, c->cfh.ino, &out, &last);
	if (st != NFS4_OK)
		return st;
	if (last)
		nfs4_file_closed(c->srv, c->cfh.ino);
	/* 4.1: the stateid is gone; the server SHOULD answer with the
	 * invalid special stateid (RFC 8881 §18.2.4, §8.2.3). */
	if (c->minorversion >= 1) {
		out.seqid = NFS4_UINT32_MAX;
		memset(out.other, 0, sizeof(out.other));
	}
	nfs4_stateid_out(c, &out, &res->nfs_resop4_u.opclose.CLOSE4res_u.open_stateid);
	return NFS4_OK;
}

nfsstat4 nfs4_op_close(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const CLOSE4args *a = &arg->nfs_argop4_u.opclose;
	struct nfs4_seq_owner o = {.stateid = &a->open_stateid, .seqid = a->seqid};
	return nfs4_run_seqid(c, &o, arg, res, close_body, NULL);
}

/* ---- DELEGRETURN ---- */

nfsstat4 nfs4_op_delegreturn(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	nfsstat4 st = nfs4_need_fh(c);
	if (st != NFS4_OK)
		return st;
	return deleg_stateid_status(c, &arg->nfs_argop4_u.opdelegreturn.deleg_stateid);
}
