/* NFSv4 state manager: byte-range locks (RFC 7530 §9.2, §16.10-12, §16.37;
 * RFC 8881 §9, §18.10-12). Each file keeps one list of locks; an
 * owner's locks on a file are disjoint and same-type neighbours are merged,
 * so a LOCK or LOCKU touches at most two neighbours and splits at most one
 * lock. */
#include "nfs4_state_int.h"

#include <stdlib.h>
#include <string.h>

static int lock_type(int type)
{
	switch (type) {
	case NS4_READ_LT:
	case NS4_READW_LT:
		return NS4_READ_LT;
	case NS4_WRITE_LT:
	case NS4_WRITEW_LT:
		return NS4_WRITE_LT;
	default:
		return 0;
	}
}

/* Inclusive last byte; all-ones length means "to the end of file". */
static enum ns4_status lock_range(uint64_t off, uint64_t len, uint64_t *last)
{
	if (len == 0)
		return NS4ERR_INVAL;
	if (len == NS4_LEN_EOF) {
		*last = UINT64_MAX;
		return NS4_OK;
	}
	if (len - 1 > UINT64_MAX - off)
		return NS4ERR_INVAL;
	*last = off + len - 1;
	return NS4_OK;
}

static struct ns4_lock *find_conflict(struct ns4_file *f, const struct ns4_owner *lo, int type,
				      uint64_t first, uint64_t last)
{
	struct ns4_lock *lk;
	for (lk = f ? f->locks : NULL; lk; lk = lk->next) {
		if (lk->lst->owner == lo || lk->last < first || lk->first > last)
			continue;
		if (type == NS4_WRITE_LT || lk->type == NS4_WRITE_LT)
			return lk;
	}
	return NULL;
}

static void fill_denied(const struct ns4_lock *lk, struct ns4_denied *d)
{
	const struct ns4_owner *oo = lk->lst->owner;
	d->offset = lk->first;
	d->length = lk->last == UINT64_MAX ? NS4_LEN_EOF : lk->last - lk->first + 1;
	d->type = lk->type;
	d->clientid = oo->clp->clientid;
	memcpy(d->owner, oo->name, oo->len);
	d->owner_len = oo->len;
}

static void unlink_lock(struct ns4_file *f, struct ns4_lock **p)
{
	struct ns4_lock *lk = *p;
	*p = lk->next;
	f->nlocks--;
	lk->lst->nlocks--;
	free(lk);
}

/* Removes [first, last] from lst's locks; *spare pays for a split. */
static void carve(struct ns4_file *f, struct ns4_stid *lst, uint64_t first, uint64_t last,
		  struct ns4_lock **spare)
{
	struct ns4_lock **p = &f->locks;
	while (*p) {
		struct ns4_lock *lk = *p;
		if (lk->lst != lst || lk->last < first || lk->first > last) {
			p = &lk->next;
			continue;
		}
		if (lk->first >= first && lk->last <= last) {
			unlink_lock(f, p);
			continue;
		}
		if (lk->first < first && lk->last > last) {
			struct ns4_lock *tail = *spare;
			*spare = NULL;
			*tail = (struct ns4_lock){lk->next, lst, last + 1, lk->last, lk->type};
			lk->last = first - 1;
			lk->next = tail;
			f->nlocks++;
			lst->nlocks++;
			p = &tail->next;
			continue;
		}
		if (lk->first < first)
			lk->last = first - 1;
		else
			lk->first = last + 1;
		p = &lk->next;
	}
}

static bool adjacent(const struct ns4_lock *a, const struct ns4_lock *b)
{
	return (a->last != UINT64_MAX && a->last + 1 == b->first) ||
	       (b->last != UINT64_MAX && b->last + 1 == a->first);
}

/* How many entries lock_apply would add (negative: remove) to the list. */
static int lock_delta(const struct ns4_file *f, const struct ns4_stid *lst, int type,
		      uint64_t first, uint64_t last)
{
	const struct ns4_lock *lk;
	const struct ns4_lock nl = {NULL, NULL, first, last, type};
	int delta = 1;
	for (lk = f->locks; lst && lk; lk = lk->next) {
		if (lk->lst != lst)
			continue;
		bool same = lk->type == type;
		if (lk->last < first || lk->first > last)
			delta -= same && adjacent(lk, &nl); /* merges */
		else if (lk->first >= first && lk->last <= last)
			delta--; /* swallowed */
		else if (lk->first < first && lk->last > last)
			delta += same ? -1 : 1; /* absorbs the new one, or splits */
		else
			delta -= same; /* trimmed, then merged if same type */
	}
	return delta;
}

/* Replaces whatever lst held over the range by one lock of type, merged
 * with same-type neighbours: upgrades, downgrades and extensions alike. */
static void lock_apply(struct ns4_file *f, struct ns4_stid *lst, struct ns4_lock *nl,
		       struct ns4_lock **spare)
{
	carve(f, lst, nl->first, nl->last, spare);
	struct ns4_lock **p = &f->locks;
	while (*p) {
		struct ns4_lock *lk = *p;
		if (lk->lst == lst && lk->type == nl->type && adjacent(lk, nl)) {
			if (lk->first < nl->first)
				nl->first = lk->first;
			if (lk->last > nl->last)
				nl->last = lk->last;
			unlink_lock(f, p);
			continue;
		}
		p = &lk->next;
	}
	nl->lst = lst;
	nl->next = f->locks;
	f->locks = nl;
	f->nlocks++;
	lst->nlocks++;
}

void ns4_locks_drop(struct ns4_mgr *m, struct ns4_stid *lst)
{
	struct ns4_file *f = lst->file;
	struct ns4_lock **p = f ? &f->locks : NULL;
	while (p && *p) {
		if ((*p)->lst == lst)
			unlink_lock(f, p);
		else
			p = &(*p)->next;
	}
}

struct lock_ctx {
	struct ns4_client *clp;
	struct ns4_stid *open;
	struct ns4_stid *lst; /* NULL: to be created */
	struct ns4_owner *lo; /* NULL: to be created */
};

static enum ns4_status lock_resolve(struct ns4_mgr *m, const struct ns4_lock_args *a,
				    struct lock_ctx *c)
{
	struct ns4_stid *st;
	enum ns4_status rc = ns4_stid_lookup(m, &a->stateid, a->clientid, &st);
	if (rc != NS4_OK)
		return rc;
	if (!st->file || st->file->h.key != a->fileid || st->is_lock != !a->new_lock_owner ||
	    !st->owner->confirmed)
		return NS4ERR_BAD_STATEID;
	c->clp = st->owner->clp;
	if (!a->new_lock_owner) {
		c->lst = st;
		c->open = st->open;
		c->lo = st->owner;
		return c->open ? NS4_OK : NS4ERR_BAD_STATEID;
	}
	if (a->owner_len > NS4_OWNER_MAX)
		return NS4ERR_BADXDR;
	c->open = st;
	c->lo = ns4_owner_find(c->clp, true, a->owner, a->owner_len);
	/* A "new" lock-owner we already know just reuses its stateid. */
	for (struct ns4_stid *s = c->lo ? c->lo->stids : NULL; s; s = s->onext)
		if (s->file == st->file)
			c->lst = s;
	return NS4_OK;
}

/* Creates the lock-owner and lock stateid a first LOCK needs. */
static enum ns4_status lock_instantiate(struct ns4_mgr *m, const struct ns4_lock_args *a,
					struct lock_ctx *c)
{
	bool new_lo = !c->lo;
	if (new_lo) {
		c->lo = ns4_owner_new(m, c->clp, true, a->owner, a->owner_len);
		if (!c->lo)
			return ns4_no_resource(c->clp);
		c->lo->confirmed = true;
		c->lo->seq_valid = true;
		c->lo->seqid = a->lock_seqid;
	}
	if (!c->lst) {
		c->lst = ns4_stid_new(m, c->lo, c->open->file, true);
		if (!c->lst) {
			if (new_lo)
				ns4_owner_free(m, c->lo);
			return ns4_no_resource(c->clp);
		}
		c->lst->open = c->open;
		c->lst->seqid = 0; /* bumped to 1 below */
	}
	return NS4_OK;
}

static enum ns4_status lock_locked(struct ns4_mgr *m, const struct ns4_lock_args *a, int type,
				   uint64_t last, struct ns4_lock **mem, struct ns4_stateid *out,
				   struct ns4_denied *denied)
{
	struct lock_ctx c = {0};
	enum ns4_status rc = lock_resolve(m, a, &c);
	if (rc == NS4_OK)
		rc = ns4_grace_check(m, c.clp, a->reclaim);
	if (rc != NS4_OK)
		return rc;
	if (type == NS4_WRITE_LT && !(c.open->access & NS4_ACCESS_WRITE))
		return NS4ERR_OPENMODE;
	struct ns4_file *f = c.open->file;
	struct ns4_lock *lk = find_conflict(f, c.lo, type, a->offset, last);
	if (lk) {
		fill_denied(lk, denied);
		return NS4ERR_DENIED;
	}
	/* Bounded per file: the caller sees contention, not a failure. */
	int delta = lock_delta(f, c.lst, type, a->offset, last);
	if (delta > 0 && f->nlocks + (uint32_t)delta > m->cfg.max_locks_per_file) {
		memset(denied, 0, sizeof(*denied));
		denied->offset = a->offset;
		denied->length = a->length;
		denied->type = type;
		return NS4ERR_DENIED;
	}
	rc = lock_instantiate(m, a, &c);
	if (rc != NS4_OK)
		return rc;
	*mem[0] = (struct ns4_lock){NULL, c.lst, a->offset, last, type};
	lock_apply(f, c.lst, mem[0], &mem[1]);
	mem[0] = NULL;
	c.lst->seqid++;
	ns4_stid_encode(m, c.lst, out);
	return NS4_OK;
}

enum ns4_status ns4_lock(struct ns4_mgr *m, const struct ns4_lock_args *a, struct ns4_stateid *out,
			 struct ns4_denied *denied)
{
	uint64_t last;
	int type = lock_type(a->type);
	if (!type)
		return NS4ERR_INVAL;
	enum ns4_status rc = lock_range(a->offset, a->length, &last);
	if (rc != NS4_OK)
		return rc;
	/* Allocated up front so nothing fails half-way through a change. */
	struct ns4_lock *mem[2] = {malloc(sizeof(struct ns4_lock)),
				   malloc(sizeof(struct ns4_lock))};
	if (!mem[0] || !mem[1]) {
		rc = NS4ERR_SERVERFAULT;
	} else {
		co_mutex_lock(&m->mu);
		rc = lock_locked(m, a, type, last, mem, out, denied);
		co_mutex_unlock(&m->mu);
	}
	free(mem[0]);
	free(mem[1]);
	return rc;
}

static bool would_split(const struct ns4_file *f, const struct ns4_stid *lst, uint64_t first,
			uint64_t last)
{
	const struct ns4_lock *lk;
	for (lk = f->locks; lk; lk = lk->next)
		if (lk->lst == lst && lk->first < first && lk->last > last)
			return true;
	return false;
}

static enum ns4_status locku_locked(struct ns4_mgr *m, uint64_t clientid,
				    const struct ns4_stateid *s, uint64_t fileid, uint64_t first,
				    uint64_t last, struct ns4_lock **spare, struct ns4_stateid *out)
{
	struct ns4_stid *lst;
	enum ns4_status rc = ns4_stid_lookup(m, s, clientid, &lst);
	if (rc != NS4_OK)
		return rc;
	if (!lst->is_lock || !lst->file || lst->file->h.key != fileid)
		return NS4ERR_BAD_STATEID;
	struct ns4_file *f = lst->file;
	/* Punching holes forever would grow the list without bound. */
	if (would_split(f, lst, first, last) && f->nlocks >= m->cfg.max_locks_per_file)
		return NS4ERR_LOCK_RANGE;
	carve(f, lst, first, last, spare);
	lst->seqid++;
	ns4_stid_encode(m, lst, out);
	return NS4_OK;
}

enum ns4_status ns4_locku(struct ns4_mgr *m, uint64_t clientid, const struct ns4_stateid *s,
			  uint64_t fileid, uint64_t offset, uint64_t length,
			  struct ns4_stateid *out)
{
	uint64_t last;
	enum ns4_status rc = lock_range(offset, length, &last);
	if (rc != NS4_OK)
		return rc;
	struct ns4_lock *spare = malloc(sizeof(*spare));
	if (!spare)
		return NS4ERR_SERVERFAULT;
	co_mutex_lock(&m->mu);
	rc = locku_locked(m, clientid, s, fileid, offset, last, &spare, out);
	co_mutex_unlock(&m->mu);
	free(spare);
	return rc;
}

enum ns4_status ns4_lockt(struct ns4_mgr *m, uint64_t clientid, const void *owner,
			  uint32_t owner_len, uint64_t fileid, int type, uint64_t offset,
			  uint64_t length, struct ns4_denied *denied)
{
	uint64_t last;
	type = lock_type(type);
	if (!type)
		return NS4ERR_INVAL;
	enum ns4_status rc = lock_range(offset, length, &last);
	if (rc != NS4_OK)
		return rc;
	struct ns4_client *clp;
	co_mutex_lock(&m->mu);
	rc = ns4_client_get(m, clientid, &clp);
	if (rc == NS4_OK)
		rc = ns4_grace_check(m, clp, false);
	if (rc == NS4_OK) {
		struct ns4_owner *lo = ns4_owner_find(clp, true, owner, owner_len);
		struct ns4_lock *lk =
		    find_conflict(ns4_file_get(m, fileid, false), lo, type, offset, last);
		if (lk) {
			fill_denied(lk, denied);
			rc = NS4ERR_DENIED;
		}
	}
	co_mutex_unlock(&m->mu);
	return rc;
}

enum ns4_status ns4_release_lockowner(struct ns4_mgr *m, uint64_t clientid, const void *owner,
				      uint32_t owner_len)
{
	struct ns4_client *clp;
	co_mutex_lock(&m->mu);
	enum ns4_status rc = ns4_client_get(m, clientid, &clp);
	struct ns4_owner *lo = rc == NS4_OK ? ns4_owner_find(clp, true, owner, owner_len) : NULL;
	for (struct ns4_stid *s = lo ? lo->stids : NULL; s; s = s->onext)
		if (s->nlocks)
			rc = NS4ERR_LOCKS_HELD;
	if (lo && rc == NS4_OK)
		ns4_owner_free(m, lo);
	co_mutex_unlock(&m->mu);
	return rc;
}
