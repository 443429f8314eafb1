/* NFSv4 state manager: owners, stateids, 4.0 owner seqids and share
 * reservations (RFC 7530 §9.1, §16.16-19; RFC 8881 §8.2, §18.16-18). */
#include "nfs4_state_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- files ---- */

struct ns4_file *ns4_file_get(struct ns4_mgr *m, uint64_t fileid, bool create)
{
	struct ns4_hnode *n = ns4_htab_find(&m->files, fileid);
	if (n || !create)
		return n ? ns4_entry(n, struct ns4_file, h) : NULL;
	struct ns4_file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->h.key = fileid;
	ns4_htab_add(&m->files, &f->h);
	return f;
}

void ns4_file_put(struct ns4_mgr *m, struct ns4_file *f)
{
	if (f && !f->stids && !f->locks) {
		ns4_htab_del(&m->files, &f->h);
		free(f);
	}
}

/* ---- owners ---- */

struct ns4_owner *ns4_owner_find(struct ns4_client *clp, bool is_lock, const void *name,
				 uint32_t len)
{
	struct ns4_owner *oo;
	for (oo = clp->owners; oo; oo = oo->next)
		if (oo->is_lock == is_lock && ns4_bytes_eq(oo->name, oo->len, name, len))
			return oo;
	return NULL;
}

/* At the limit, an owner holding nothing may be forgotten: at worst its
 * client sees NFS4ERR_BAD_SEQID once and starts a new owner. */
static bool owner_evict_idle(struct ns4_mgr *m, struct ns4_client *clp)
{
	struct ns4_owner *oo;
	for (oo = clp->owners; oo; oo = oo->next) {
		if (!oo->stids && !oo->closed && !oo->busy) {
			ns4_owner_free(m, oo);
			return true;
		}
	}
	return false;
}

struct ns4_owner *ns4_owner_new(struct ns4_mgr *m, struct ns4_client *clp, bool is_lock,
				const void *name, uint32_t len)
{
	if (len > NS4_OWNER_MAX)
		return NULL;
	if (clp->nowners >= m->cfg.max_owners_per_client && !owner_evict_idle(m, clp))
		return NULL;
	struct ns4_owner *oo = calloc(1, sizeof(*oo) + len);
	if (!oo)
		return NULL;
	memcpy(oo->name, name, len);
	oo->len = len;
	oo->is_lock = is_lock;
	oo->clp = clp;
	oo->h.key = ++m->owner_ctr;
	ns4_htab_add(&m->owners, &oo->h);
	oo->next = clp->owners;
	clp->owners = oo;
	clp->nowners++;
	return oo;
}

void ns4_owner_free(struct ns4_mgr *m, struct ns4_owner *oo)
{
	struct ns4_client *clp = oo->clp;
	while (oo->stids)
		ns4_stid_free(m, oo->stids, true);
	struct ns4_owner **p;
	for (p = &clp->owners; *p; p = &(*p)->next) {
		if (*p == oo) {
			*p = oo->next;
			break;
		}
	}
	clp->nowners--;
	ns4_htab_del(&m->owners, &oo->h);
	free(oo->reply);
	free(oo);
}

void ns4_client_release_state(struct ns4_mgr *m, struct ns4_client *clp)
{
	/* Lock-owners first: their stateids hang off the opens. */
	struct ns4_owner *oo, *next;
	for (oo = clp->owners; oo; oo = next) {
		next = oo->next;
		if (oo->is_lock)
			ns4_owner_free(m, oo);
	}
	while (clp->owners)
		ns4_owner_free(m, clp->owners);
}

/* ---- stateids ---- */

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void ns4_stid_encode(const struct ns4_mgr *m, const struct ns4_stid *s, struct ns4_stateid *out)
{
	out->seqid = s->seqid;
	put_be(out->other, m->epoch, 4);
	put_be(out->other + 4, s->h.key, 8);
}

static bool other_is(const struct ns4_stateid *s, uint8_t b)
{
	for (int i = 0; i < NS4_OTHER_SIZE; i++)
		if (s->other[i] != b)
			return false;
	return true;
}

bool ns4_stateid_is_anon(const struct ns4_stateid *s)
{
	return s->seqid == 0 && other_is(s, 0);
}

bool ns4_stateid_is_bypass(const struct ns4_stateid *s)
{
	return s->seqid == UINT32_MAX && other_is(s, 0xff);
}

bool ns4_stateid_is_current(const struct ns4_stateid *s)
{
	return s->seqid == 1 && other_is(s, 0);
}

struct ns4_stid *ns4_stid_new(struct ns4_mgr *m, struct ns4_owner *oo, struct ns4_file *f,
			      bool is_lock)
{
	struct ns4_client *clp = oo->clp;
	if (clp->nstates >= m->cfg.max_states_per_client)
		return NULL;
	struct ns4_stid *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	uint64_t key;
	do {
		if (++clp->state_ctr == 0)
			clp->state_ctr = 1;
		key = (uint64_t)(uint32_t)clp->clientid << 32 | clp->state_ctr;
	} while (ns4_htab_find(&m->stids, key));
	s->h.key = key;
	s->is_lock = is_lock;
	s->seqid = 1;
	s->owner = oo;
	s->file = f;
	ns4_htab_add(&m->stids, &s->h);
	s->onext = oo->stids;
	oo->stids = s;
	s->fnext = f->stids;
	f->stids = s;
	if (!is_lock)
		f->nopens++;
	clp->nstates++;
	return s;
}

/* Takes an open off its file; the file goes when nothing else holds it. */
static void stid_detach_file(struct ns4_mgr *m, struct ns4_stid *s, bool report)
{
	struct ns4_file *f = s->file;
	if (!f)
		return;
	struct ns4_stid **p;
	for (p = &f->stids; *p; p = &(*p)->fnext) {
		if (*p == s) {
			*p = s->fnext;
			break;
		}
	}
	if (!s->is_lock && --f->nopens == 0 && report)
		ns4_released_push(m, f->h.key);
	s->file = NULL;
	ns4_file_put(m, f);
}

/* Frees the lock stateids an open spawned; the caller checked for locks. */
static void free_children(struct ns4_mgr *m, struct ns4_stid *open)
{
	struct ns4_stid *l;
	bool again = open->file != NULL;
	while (again) {
		again = false;
		for (l = open->file->stids; l; l = l->fnext) {
			if (l->is_lock && l->open == open) {
				ns4_stid_free(m, l, false);
				again = true;
				break;
			}
		}
	}
}

void ns4_stid_free(struct ns4_mgr *m, struct ns4_stid *s, bool report)
{
	struct ns4_owner *oo = s->owner;
	if (s->is_lock)
		ns4_locks_drop(m, s);
	else
		free_children(m, s);
	struct ns4_stid **p;
	for (p = &oo->stids; *p; p = &(*p)->onext) {
		if (*p == s) {
			*p = s->onext;
			break;
		}
	}
	if (oo->closed == s)
		oo->closed = NULL;
	stid_detach_file(m, s, report);
	ns4_htab_del(&m->stids, &s->h);
	oo->clp->nstates--;
	free(s);
}

/* Resolves the "other" field only: no seqid or ownership checks. */
static enum ns4_status stid_find(struct ns4_mgr *m, const struct ns4_stateid *s,
				 struct ns4_stid **out)
{
	if (other_is(s, 0) || other_is(s, 0xff))
		return NS4ERR_BAD_STATEID;
	if ((uint32_t)get_be(s->other, 4) != m->epoch)
		return NS4ERR_STALE_STATEID;
	uint64_t key = get_be(s->other + 4, 8);
	struct ns4_hnode *n = ns4_htab_find(&m->stids, key);
	if (!n)
		return ns4_recently_expired(m, (uint32_t)(key >> 32)) ? NS4ERR_EXPIRED
								      : NS4ERR_BAD_STATEID;
	*out = ns4_entry(n, struct ns4_stid, h);
	return NS4_OK;
}

enum ns4_status ns4_stid_lookup(struct ns4_mgr *m, const struct ns4_stateid *s, uint64_t clientid,
				struct ns4_stid **out)
{
	struct ns4_stid *st;
	enum ns4_status rc = stid_find(m, s, &st);
	if (rc != NS4_OK)
		return rc;
	struct ns4_client *clp = st->owner->clp;
	if (st->closed || (clientid && clp->clientid != clientid))
		return NS4ERR_BAD_STATEID;
	/* 4.1: seqid 0 means "whatever is current" (RFC 8881 §8.2.2). */
	if (!(s->seqid == 0 && clp->minor > 0)) {
		if (s->seqid > st->seqid)
			return NS4ERR_BAD_STATEID;
		if (s->seqid < st->seqid)
			return NS4ERR_OLD_STATEID;
	}
	ns4_renew_client(m, clp);
	*out = st;
	return NS4_OK;
}

static enum ns4_status open_lookup(struct ns4_mgr *m, uint64_t clientid,
				   const struct ns4_stateid *s, uint64_t fileid,
				   struct ns4_stid **out)
{
	enum ns4_status rc = ns4_stid_lookup(m, s, clientid, out);
	if (rc != NS4_OK)
		return rc;
	if ((*out)->is_lock || !(*out)->file || (*out)->file->h.key != fileid)
		return NS4ERR_BAD_STATEID;
	return NS4_OK;
}

/* ---- 4.0 owner seqids (RFC 7530 §9.1.7) ---- */

/* Errors that leave the owner's seqid alone (RFC 7530 §9.1.7). */
static bool seq_no_bump(enum ns4_status st)
{
	switch (st) {
	case NS4ERR_STALE_CLIENTID:
	case NS4ERR_STALE_STATEID:
	case NS4ERR_BAD_STATEID:
	case NS4ERR_BAD_SEQID:
	case NS4ERR_BADXDR:
	case NS4ERR_RESOURCE:
	case NS4ERR_NOFILEHANDLE:
	case NS4ERR_MOVED:
		return true;
	default:
		return false;
	}
}

static enum ns4_status seq_check(struct ns4_mgr *m, struct ns4_owner *oo, uint32_t seqid,
				 struct ns4_seqctx *ctx)
{
	if (oo->busy || !oo->seq_valid)
		return NS4ERR_DELAY; /* the original is still executing */
	if (seqid == oo->seqid) {
		/* An uncacheable reply cannot be replayed; BAD_SEQID makes the
		 * client start a new owner rather than loop. */
		if (!oo->reply_valid)
			return NS4ERR_BAD_SEQID;
		ctx->reply = malloc(oo->reply_len ? oo->reply_len : 1);
		if (!ctx->reply)
			return NS4ERR_RESOURCE;
		memcpy(ctx->reply, oo->reply, oo->reply_len);
		ctx->reply_len = oo->reply_len;
		ctx->replay = true;
		return NS4_OK;
	}
	if (seqid != oo->seqid + 1)
		return NS4ERR_BAD_SEQID;
	/* The seqid moved on: the last CLOSE can no longer be replayed. */
	if (oo->closed)
		ns4_stid_free(m, oo->closed, false);
	oo->busy = true;
	ctx->owner_id = oo->h.key;
	return NS4_OK;
}

static void seqctx_init(struct ns4_seqctx *ctx, uint32_t seqid)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->seqid = seqid;
}

enum ns4_status ns4_seq_open_begin(struct ns4_mgr *m, uint64_t clientid, const void *owner,
				   uint32_t owner_len, uint32_t seqid, struct ns4_seqctx *ctx)
{
	struct ns4_client *clp;
	seqctx_init(ctx, seqid);
	ctx->clientid = clientid;
	ctx->owner = owner;
	ctx->owner_len = owner_len;
	co_mutex_lock(&m->mu);
	enum ns4_status rc = ns4_client_get(m, clientid, &clp);
	struct ns4_owner *oo = rc == NS4_OK ? ns4_owner_find(clp, false, owner, owner_len) : NULL;
	/* An OPEN on a never-confirmed owner, other than a retransmission,
	 * starts it afresh and drops its unconfirmed opens (RFC 7530
	 * §16.18.5); its old seqid does not bind the client. */
	if (oo && !oo->confirmed && !oo->busy && oo->seq_valid &&
	    !(seqid == oo->seqid && oo->reply_valid)) {
		ns4_owner_free(m, oo);
		oo = NULL;
	}
	if (oo)
		rc = seq_check(m, oo, seqid, ctx);
	co_mutex_unlock(&m->mu);
	return rc;
}

enum ns4_status ns4_seq_stateid_begin(struct ns4_mgr *m, const struct ns4_stateid *s,
				      uint32_t seqid, bool open_confirm, struct ns4_seqctx *ctx)
{
	struct ns4_stid *st;
	seqctx_init(ctx, seqid);
	co_mutex_lock(&m->mu);
	enum ns4_status rc = stid_find(m, s, &st);
	if (rc == NS4_OK) {
		struct ns4_owner *oo = st->owner;
		ns4_renew_client(m, oo->clp);
		if (!oo->confirmed && !open_confirm)
			rc = NS4ERR_BAD_STATEID;
		else
			rc = seq_check(m, oo, seqid, ctx);
	}
	co_mutex_unlock(&m->mu);
	return rc;
}

static struct ns4_owner *seq_owner(struct ns4_mgr *m, const struct ns4_seqctx *ctx)
{
	if (ctx->owner_id) {
		struct ns4_hnode *n = ns4_htab_find(&m->owners, ctx->owner_id);
		return n ? ns4_entry(n, struct ns4_owner, h) : NULL;
	}
	struct ns4_client *clp = ctx->clientid ? ns4_client_by_id(m, ctx->clientid, true) : NULL;
	return clp ? ns4_owner_find(clp, false, ctx->owner, ctx->owner_len) : NULL;
}

void ns4_seq_end(struct ns4_mgr *m, const struct ns4_seqctx *ctx, enum ns4_status status,
		 const void *reply, size_t len)
{
	if (ctx->replay)
		return;
	co_mutex_lock(&m->mu);
	struct ns4_owner *oo = seq_owner(m, ctx);
	if (!oo)
		goto out;
	if (ctx->owner_id)
		oo->busy = false;
	if (seq_no_bump(status))
		goto out;
	oo->seqid = ctx->seqid;
	oo->seq_valid = true;
	free(oo->reply);
	oo->reply = NULL;
	oo->reply_valid = false;
	if (len <= m->cfg.max_owner_reply) {
		oo->reply = malloc(len ? len : 1);
		if (oo->reply) {
			memcpy(oo->reply, reply, len);
			oo->reply_len = len;
			oo->reply_valid = true;
		}
	}
out:
	co_mutex_unlock(&m->mu);
}

/* ---- opens ---- */

static bool share_valid(uint32_t access, uint32_t deny)
{
	return access >= 1 && access <= NS4_ACCESS_BOTH && deny <= NS4_DENY_BOTH;
}

static struct ns4_stid *open_of(struct ns4_owner *oo, struct ns4_file *f)
{
	struct ns4_stid *s;
	for (s = oo ? oo->stids : NULL; s; s = s->onext)
		if (!s->is_lock && s->file == f)
			return s;
	return NULL;
}

/* Another owner's reservation that the requested one conflicts with. */
/* The access an OPEN asks for meets every deny reservation, the owner's
 * own included (RFC 7530 §9.9: an upgrade is refused what the owner itself
 * denies); the deny it asks for meets the other opens' access. */
static bool share_conflict(struct ns4_file *f, const struct ns4_stid *self, uint32_t access,
			   uint32_t deny)
{
	struct ns4_stid *s;
	for (s = f->stids; s; s = s->fnext) {
		if (s->is_lock)
			continue;
		if ((access & s->deny) || (s != self && (deny & s->access)))
			return true;
	}
	return false;
}

static enum ns4_status open_locked(struct ns4_mgr *m, const struct ns4_open_args *a,
				   uint32_t access, struct ns4_open_res *res)
{
	struct ns4_client *clp;
	enum ns4_status rc = ns4_client_get(m, a->clientid, &clp);
	if (rc == NS4_OK)
		rc = ns4_grace_check(m, clp, a->reclaim);
	if (rc != NS4_OK)
		return rc;
	struct ns4_owner *oo = ns4_owner_find(clp, false, a->owner, a->owner_len);
	bool new_owner = !oo;
	struct ns4_file *f = ns4_file_get(m, a->fileid, true);
	if (!f)
		return ns4_no_resource(clp);
	struct ns4_stid *s = open_of(oo, f);
	uint32_t nacc = access | (s ? s->access : 0);
	uint32_t ndeny = a->deny | (s ? s->deny : 0);
	if (share_conflict(f, s, access, a->deny)) {
		ns4_file_put(m, f);
		return NS4ERR_SHARE_DENIED;
	}
	if (new_owner)
		oo = ns4_owner_new(m, clp, false, a->owner, a->owner_len);
	bool fresh = false;
	if (oo && !s) {
		s = ns4_stid_new(m, oo, f, false);
		fresh = s != NULL;
	} else if (s)
		s->seqid++;
	if (!s) {
		if (oo && new_owner)
			ns4_owner_free(m, oo);
		ns4_file_put(m, f);
		return ns4_no_resource(clp);
	}
	if (new_owner) {
		/* 4.0 owners start unconfirmed with their seqid set at end; a
		 * reclaim re-establishes an owner that was confirmed before. */
		oo->confirmed = clp->minor > 0 || a->reclaim;
		oo->seq_valid = clp->minor > 0;
	}
	s->access = nacc;
	s->deny = ndeny;
	s->access_bmap |= (uint8_t)(1u << access);
	s->deny_bmap |= (uint8_t)(1u << a->deny);
	res->confirm = !oo->confirmed;
	res->first_open = fresh && f->nopens == 1;
	ns4_stid_encode(m, s, &res->stateid);
	return NS4_OK;
}

enum ns4_status ns4_open(struct ns4_mgr *m, const struct ns4_open_args *a, struct ns4_open_res *res)
{
	uint32_t access = a->access & ~NS4_ACCESS_WANT_MASK;
	if (!share_valid(access, a->deny))
		return NS4ERR_INVAL;
	if (a->owner_len > NS4_OWNER_MAX)
		return NS4ERR_BADXDR;
	co_mutex_lock(&m->mu);
	enum ns4_status rc = open_locked(m, a, access, res);
	co_mutex_unlock(&m->mu);
	return rc;
}

enum ns4_status ns4_open_confirm(struct ns4_mgr *m, const struct ns4_stateid *s, uint64_t fileid,
				 struct ns4_stateid *out)
{
	struct ns4_stid *st;
	co_mutex_lock(&m->mu);
	enum ns4_status rc = open_lookup(m, 0, s, fileid, &st);
	if (rc == NS4_OK && (st->owner->confirmed || st->owner->clp->minor > 0))
		rc = NS4ERR_BAD_STATEID;
	if (rc == NS4_OK) {
		st->owner->confirmed = true;
		st->seqid++;
		ns4_stid_encode(m, st, out);
	}
	co_mutex_unlock(&m->mu);
	return rc;
}

/* Keeps only the modes still within the new share. */
static uint8_t bmap_trim(uint8_t bmap, uint32_t keep)
{
	for (uint32_t i = 0; i < 4; i++)
		if (i & ~keep)
			bmap &= (uint8_t) ~(1u << i);
	return bmap;
}

static enum ns4_status downgrade_locked(struct ns4_mgr *m, uint64_t clientid,
					const struct ns4_stateid *s, uint64_t fileid,
					uint32_t access, uint32_t deny, struct ns4_stateid *out)
{
	struct ns4_stid *st;
	enum ns4_status rc = open_lookup(m, clientid, s, fileid, &st);
	if (rc != NS4_OK)
		return rc;
	if (!st->owner->confirmed)
		return NS4ERR_BAD_STATEID;
	/* Only to a subset, and only to modes some OPEN actually asked for
	 * (RFC 7530 §16.19.4). */
	if ((access & ~st->access) || (deny & ~st->deny))
		return NS4ERR_INVAL;
	if (!(st->access_bmap & (1u << access)) || !(st->deny_bmap & (1u << deny)))
		return NS4ERR_INVAL;
	st->access = access;
	st->deny = deny;
	st->access_bmap = bmap_trim(st->access_bmap, access);
	st->deny_bmap = bmap_trim(st->deny_bmap, deny);
	st->seqid++;
	ns4_stid_encode(m, st, out);
	return NS4_OK;
}

enum ns4_status ns4_open_downgrade(struct ns4_mgr *m, uint64_t clientid,
				   const struct ns4_stateid *s, uint64_t fileid, uint32_t access,
				   uint32_t deny, struct ns4_stateid *out)
{
	access &= ~NS4_ACCESS_WANT_MASK;
	if (!share_valid(access, deny))
		return NS4ERR_INVAL;
	co_mutex_lock(&m->mu);
	enum ns4_status rc = downgrade_locked(m, clientid, s, fileid, access, deny, out);
	co_mutex_unlock(&m->mu);
	return rc;
}

static enum ns4_status close_locked(struct ns4_mgr *m, uint64_t clientid,
				    const struct ns4_stateid *s, uint64_t fileid,
				    struct ns4_stateid *out, bool *last_close)
{
	struct ns4_stid *st, *l;
	enum ns4_status rc = open_lookup(m, clientid, s, fileid, &st);
	if (rc != NS4_OK)
		return rc;
	if (!st->owner->confirmed)
		return NS4ERR_BAD_STATEID;
	/* 4.1 refuses to drop locks with the open (RFC 8881 §18.2.3); a 4.0
	 * CLOSE releases them, as RFC 7530 §16.2.4 allows and Linux does. */
	for (l = st->file->stids; l && st->owner->clp->minor > 0; l = l->fnext)
		if (l->is_lock && l->open == st && l->nlocks)
			return NS4ERR_LOCKS_HELD;
	free_children(m, st);
	st->seqid++;
	ns4_stid_encode(m, st, out);
	struct ns4_file *f = st->file;
	*last_close = f->nopens == 1;
	stid_detach_file(m, st, false);
	struct ns4_owner *oo = st->owner;
	if (oo->clp->minor == 0) {
		if (oo->closed)
			ns4_stid_free(m, oo->closed, false);
		st->closed = true;
		oo->closed = st;
	} else {
		ns4_stid_free(m, st, false);
	}
	return NS4_OK;
}

enum ns4_status ns4_close(struct ns4_mgr *m, uint64_t clientid, const struct ns4_stateid *s,
			  uint64_t fileid, struct ns4_stateid *out, bool *last_close)
{
	bool dummy;
	co_mutex_lock(&m->mu);
	enum ns4_status rc =
	    close_locked(m, clientid, s, fileid, out, last_close ? last_close : &dummy);
	co_mutex_unlock(&m->mu);
	return rc;
}

/* ---- stateid checks for I/O, TEST_STATEID, FREE_STATEID ---- */

static enum ns4_status special_check(struct ns4_mgr *m, const struct ns4_io_check *c)
{
	/* The all-ones stateid bypasses deny reservations for reads only; a
	 * write with it counts as anonymous (RFC 7530 §9.1.4.3). */
	if (ns4_stateid_is_bypass(&c->stateid) && !(c->access & NS4_ACCESS_WRITE))
		return NS4_OK;
	struct ns4_file *f = ns4_file_get(m, c->fileid, false);
	struct ns4_stid *s;
	/* The anonymous stateid still honours deny reservations. */
	for (s = f ? f->stids : NULL; s; s = s->fnext)
		if (!s->is_lock && (s->deny & c->access))
			return NS4ERR_LOCKED;
	return NS4_OK;
}

static enum ns4_status check_locked(struct ns4_mgr *m, const struct ns4_io_check *c)
{
	if (ns4_stateid_is_anon(&c->stateid) || ns4_stateid_is_bypass(&c->stateid))
		return special_check(m, c);
	struct ns4_stid *st;
	enum ns4_status rc = ns4_stid_lookup(m, &c->stateid, c->clientid, &st);
	if (rc != NS4_OK)
		return rc;
	if (!st->file || st->file->h.key != c->fileid || !st->owner->confirmed)
		return NS4ERR_BAD_STATEID;
	const struct ns4_stid *open = st->is_lock ? st->open : st;
	uint32_t have = open ? open->access : 0;
	/* READ is allowed on write-only opens: clients read to fill pages. */
	if ((c->access & NS4_ACCESS_WRITE) && !(have & NS4_ACCESS_WRITE))
		return NS4ERR_OPENMODE;
	if ((c->access & NS4_ACCESS_READ) && !have)
		return NS4ERR_OPENMODE;
	return NS4_OK;
}

enum ns4_status ns4_check_stateid(struct ns4_mgr *m, const struct ns4_io_check *c)
{
	co_mutex_lock(&m->mu);
	enum ns4_status rc = check_locked(m, c);
	co_mutex_unlock(&m->mu);
	return rc;
}

enum ns4_status ns4_test_stateid(struct ns4_mgr *m, uint64_t clientid, const struct ns4_stateid *s)
{
	struct ns4_stid *st;
	co_mutex_lock(&m->mu);
	enum ns4_status rc = ns4_stid_lookup(m, s, clientid, &st);
	co_mutex_unlock(&m->mu);
	return rc;
}

enum ns4_status ns4_free_stateid(struct ns4_mgr *m, uint64_t clientid, const struct ns4_stateid *s)
{
	struct ns4_stid *st;
	co_mutex_lock(&m->mu);
	enum ns4_status rc = ns4_stid_lookup(m, s, clientid, &st);
	if (rc == NS4_OK && (!st->is_lock || st->nlocks))
		rc = NS4ERR_LOCKS_HELD;
	if (rc == NS4_OK)
		ns4_stid_free(m, st, false);
	co_mutex_unlock(&m->mu);
	return rc;
}
