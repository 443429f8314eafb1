/* NFSv4 byte-range lock operations: LOCK, LOCKT, LOCKU and
 * RELEASE_LOCKOWNER (RFC 7530 §16.10-12, §16.37; RFC 8881 §18.10-12). The
 * state manager (nfs4_lock.c) keeps the locks, checks ranges and owners
 * and applies the grace period; this file translates the XDR and checks
 * the current file handle. Locks are advisory and live only in the state
 * manager: the file system never sees them.
 */
#include <stdlib.h>
#include <string.h>

#include "nfs4_proc.h"

/* Locks are on regular files only. A wrong type is INVAL in 4.0 and
 * WRONG_TYPE from 4.1 on (RFC 8881 §15.1.2.9). */
static nfsstat4 need_lockable(struct nfs4_compound *c)
{
	struct mcfs_attr *a;
	nfsstat4 st = nfs4_need_volume(c, NFS4ERR_ISDIR);
	if (st == NFS4_OK)
		st = nfs4_fh_attr(c, &c->cfh, &a);
	if (st != NFS4_OK)
		return st;
	if (a->type == MCFS_FILE)
		return NFS4_OK;
	if (a->type == MCFS_DIR)
		return NFS4ERR_ISDIR;
	return c->minorversion == 0 ? NFS4ERR_INVAL : NFS4ERR_WRONG_TYPE;
}

/* LOCK4denied for the conflicting lock; the owner is copied out. */
static nfsstat4 denied_out(const struct nfs4_compound *c, const struct ns4_denied *d,
			   LOCK4denied *out)
{
	memset(out, 0, sizeof(*out));
	if (d->owner_len) {
		out->owner.owner.owner_val = malloc(d->owner_len);
		if (!out->owner.owner.owner_val)
			return c->minorversion == 0 ? NFS4ERR_SERVERFAULT : NFS4ERR_DELAY;
		memcpy(out->owner.owner.owner_val, d->owner, d->owner_len);
		out->owner.owner.owner_len = d->owner_len;
	}
	out->offset = d->offset;
	out->length = d->length;
	out->locktype = (nfs_lock_type4)d->type;
	out->owner.clientid = d->clientid;
	return NFS4ERR_DENIED;
}

/* 4.0 names the client of a new lock-owner in lock_owner4; in 4.1 the
 * session does and the argument's clientid is ignored. */
static void lock_args(const struct nfs4_compound *c, const LOCK4args *a, struct ns4_lock_args *la,
		      const stateid4 **stateid)
{
	memset(la, 0, sizeof(*la));
	la->clientid = nfs4_clientid(c);
	la->fileid = c->cfh.ino;
	la->type = (int)a->locktype;
	la->reclaim = a->reclaim;
	la->offset = a->offset;
	la->length = a->length;
	la->new_lock_owner = a->locker.new_lock_owner;
	if (!la->new_lock_owner) {
		*stateid = &a->locker.locker4_u.lock_owner.lock_stateid;
		return;
	}
	const open_to_lock_owner4 *o = &a->locker.locker4_u.open_owner;
	*stateid = &o->open_stateid;
	la->lock_seqid = o->lock_seqid;
	la->owner = o->lock_owner.owner.owner_val;
	la->owner_len = o->lock_owner.owner.owner_len;
	/* Checked against the open stateid's client by the state manager, for
	 * which 0 means "no check": no client has id 0 or all ones. */
	if (c->minorversion == 0)
		la->clientid = o->lock_owner.clientid ? o->lock_owner.clientid : UINT64_MAX;
}

static nfsstat4 lock_body(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const LOCK4args *a = &arg->nfs_argop4_u.oplock;
	struct ns4_lock_args la;
	const stateid4 *in;
	nfsstat4 st = need_lockable(c);
	if (st != NFS4_OK)
		return st;
	lock_args(c, a, &la, &in);
	st = nfs4_stateid_in(c, in, &la.stateid);
	if (st != NFS4_OK)
		return st;
	struct ns4_stateid out;
	struct ns4_denied d;
	enum ns4_status rc = ns4_lock(c->srv->state, &la, &out, &d);
	LOCK4res *r = &res->nfs_resop4_u.oplock;
	if (rc == NS4ERR_DENIED)
		return denied_out(c, &d, &r->LOCK4res_u.denied);
	if (rc == NS4_OK)
		nfs4_stateid_out(c, &out, &r->LOCK4res_u.resok4.lock_stateid);
	return (nfsstat4)rc;
}

nfsstat4 nfs4_op_lock(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const locker4 *l = &arg->nfs_argop4_u.oplock.locker;
	struct nfs4_seq_owner o = {0};
	if (l->new_lock_owner) {
		o.stateid = &l->locker4_u.open_owner.open_stateid;
		o.seqid = l->locker4_u.open_owner.open_seqid;
	} else {
		o.stateid = &l->locker4_u.lock_owner.lock_stateid;
		o.seqid = l->locker4_u.lock_owner.lock_seqid;
	}
	return nfs4_run_seqid(c, &o, arg, res, lock_body, NULL);
}

nfsstat4 nfs4_op_lockt(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const LOCKT4args *a = &arg->nfs_argop4_u.oplockt;
	nfsstat4 st = need_lockable(c);
	if (st != NFS4_OK)
		return st;
	/* No stateid here: the owner names its client (4.1: the session). */
	uint64_t clientid = c->minorversion == 0 ? a->owner.clientid : c->clientid;
	struct ns4_denied d;
	enum ns4_status rc =
	    ns4_lockt(c->srv->state, clientid, a->owner.owner.owner_val, a->owner.owner.owner_len,
		      c->cfh.ino, (int)a->locktype, a->offset, a->length, &d);
	if (rc == NS4ERR_DENIED)
		return denied_out(c, &d, &res->nfs_resop4_u.oplockt.LOCKT4res_u.denied);
	return (nfsstat4)rc;
}

static nfsstat4 locku_body(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const LOCKU4args *a = &arg->nfs_argop4_u.oplocku;
	struct ns4_stateid sid, out;
	nfsstat4 st = need_lockable(c);
	if (st == NFS4_OK)
		st = nfs4_stateid_in(c, &a->lock_stateid, &sid);
	if (st != NFS4_OK)
		return st;
	st = (nfsstat4)ns4_locku(c->srv->state, nfs4_clientid(c), &sid, c->cfh.ino, a->offset,
				 a->length, &out);
	if (st == NFS4_OK)
		nfs4_stateid_out(c, &out, &res->nfs_resop4_u.oplocku.LOCKU4res_u.lock_stateid);
	return st;
}

nfsstat4 nfs4_op_locku(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const LOCKU4args *a = &arg->nfs_argop4_u.oplocku;
	struct nfs4_seq_owner o = {.stateid = &a->lock_stateid, .seqid = a->seqid};
	return nfs4_run_seqid(c, &o, arg, res, locku_body, NULL);
}

/* 4.0 only (4.1 frees lock stateids with FREE_STATEID); needs no handle. */
nfsstat4 nfs4_op_release_lockowner(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const lock_owner4 *lo = &arg->nfs_argop4_u.oprelease_lockowner.lock_owner;
	uint64_t clientid = c->minorversion == 0 ? lo->clientid : c->clientid;
	return (nfsstat4)ns4_release_lockowner(c->srv->state, clientid, lo->owner.owner_val,
					       lo->owner.owner_len);
}
