/* NFSv4 state manager: 4.1 sessions (RFC 8881 §2.10, §18.34, §18.36-37,
 * §18.46). The slot table is the exactly-once layer: one in-flight request
 * per slot, the last reply kept for retries. */
#include "nfs4_state_int.h"

#include <stdlib.h>
#include <string.h>

#define CS_FLAG_CONN_BACK_CHAN 0x2u

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static uint64_t sid_key(const uint8_t id[NS4_SESSIONID_SIZE])
{
	uint64_t v = 0;
	for (int i = 8; i < 16; i++)
		v = v << 8 | id[i];
	return v;
}

static struct ns4_session *session_find(struct ns4_mgr *m, const uint8_t id[NS4_SESSIONID_SIZE])
{
	struct ns4_hnode *n = ns4_htab_find(&m->sessions, sid_key(id));
	struct ns4_session *ses = n ? ns4_entry(n, struct ns4_session, h) : NULL;
	return ses && memcmp(ses->id, id, NS4_SESSIONID_SIZE) == 0 ? ses : NULL;
}

void ns4_session_free(struct ns4_mgr *m, struct ns4_session *ses)
{
	struct ns4_client *clp = ses->clp;
	struct ns4_session **p;
	for (p = &clp->sessions; *p; p = &(*p)->next) {
		if (*p == ses) {
			*p = ses->next;
			break;
		}
	}
	clp->nsessions--;
	ns4_htab_del(&m->sessions, &ses->h);
	for (uint32_t i = 0; i < ses->fore.maxrequests; i++) {
		if (ses->slots[i].in_use)
			clp->busy_slots--;
		free(ses->slots[i].reply);
	}
	free(ses->slots);
	free(ses);
}

static void conn_bind(struct ns4_session *ses, uint64_t connid, uint32_t dir)
{
	for (uint32_t i = 0; i < ses->nconns; i++) {
		if (ses->conns[i] == connid) {
			ses->conn_dir[i] = (uint8_t)dir;
			return;
		}
	}
	/* Full: forget the oldest binding; dead connections would pin it. */
	if (ses->nconns == NS4_MAX_CONNS) {
		memmove(ses->conns, ses->conns + 1, (NS4_MAX_CONNS - 1) * sizeof(ses->conns[0]));
		memmove(ses->conn_dir, ses->conn_dir + 1, NS4_MAX_CONNS - 1);
		ses->nconns--;
	}
	ses->conns[ses->nconns] = connid;
	ses->conn_dir[ses->nconns++] = (uint8_t)dir;
}

static bool conn_bound(const struct ns4_session *ses, uint64_t connid)
{
	for (uint32_t i = 0; i < ses->nconns; i++)
		if (ses->conns[i] == connid)
			return true;
	return false;
}

static bool has_back_conn(const struct ns4_session *ses)
{
	for (uint32_t i = 0; i < ses->nconns; i++)
		if (ses->conn_dir[i] & NS4_CDFS_BACK)
			return true;
	return false;
}

/* ---- CREATE_SESSION ---- */

static void negotiate(const struct ns4_config *cfg, const struct ns4_chan_attrs *in,
		      struct ns4_chan_attrs *out)
{
	out->headerpadsize = 0;
	out->maxrequestsize = min_u32(in->maxrequestsize, cfg->max_req_size);
	out->maxresponsesize = min_u32(in->maxresponsesize, cfg->max_resp_size);
	out->maxresponsesize_cached = min_u32(in->maxresponsesize_cached, cfg->max_resp_cached);
	out->maxoperations = min_u32(in->maxoperations, cfg->max_ops);
	out->maxrequests = min_u32(in->maxrequests ? in->maxrequests : 1, cfg->max_slots);
}

static struct ns4_client *cs_client(struct ns4_mgr *m, uint64_t clientid)
{
	if ((uint32_t)(clientid >> 32) != m->epoch)
		return NULL;
	struct ns4_client *clp = ns4_client_by_id(m, clientid, true);
	if (!clp)
		clp = ns4_client_by_id(m, clientid, false);
	return clp && clp->minor > 0 ? clp : NULL;
}

static struct ns4_session *session_new(struct ns4_mgr *m, struct ns4_client *clp,
				       const struct ns4_chan_attrs *fore)
{
	struct ns4_session *ses = calloc(1, sizeof(*ses));
	if (!ses)
		return NULL;
	negotiate(&m->cfg, fore, &ses->fore);
	ses->slots = calloc(ses->fore.maxrequests, sizeof(*ses->slots));
	if (!ses->slots) {
		free(ses);
		return NULL;
	}
	ses->clp = clp;
	uint64_t ctr = ++m->session_ctr;
	for (int i = 0; i < 8; i++) {
		ses->id[i] = (uint8_t)(clp->clientid >> (56 - 8 * i));
		ses->id[8 + i] = (uint8_t)(ctr >> (56 - 8 * i));
	}
	ses->h.key = ctr;
	ns4_htab_add(&m->sessions, &ses->h);
	ses->next = clp->sessions;
	clp->sessions = ses;
	clp->nsessions++;
	return ses;
}

/* The first CREATE_SESSION confirms the client; a restarted client's
 * previous incarnation, with all its state, goes then (RFC 8881 §18.35.5). */
static void cs_confirm(struct ns4_mgr *m, struct ns4_client *clp)
{
	struct ns4_client *c;
	for (c = m->clients; c; c = c->next) {
		if (c != clp && c->confirmed &&
		    ns4_bytes_eq(c->owner, c->owner_len, clp->owner, clp->owner_len)) {
			ns4_client_free(m, c);
			break;
		}
	}
	ns4_client_confirmed(m, clp);
}

static enum ns4_status cs_locked(struct ns4_mgr *m, uint64_t clientid, uint32_t sequence,
				 uint32_t flags, const struct ns4_chan_attrs *fore,
				 const struct ns4_chan_attrs *back, const char *principal,
				 uint64_t connid, struct ns4_cs_res *res)
{
	struct ns4_client *clp = cs_client(m, clientid);
	if (!clp)
		return NS4ERR_STALE_CLIENTID;
	/* Only the principal that created an unconfirmed record may confirm
	 * it; with SP4_NONE any principal may add sessions to a confirmed one
	 * (RFC 8881 §18.36.4). */
	if (!clp->confirmed &&
	    strncmp(clp->principal, ns4_princ(principal), NS4_PRINCIPAL_MAX) != 0)
		return NS4ERR_CLID_INUSE;
	if (clp->cs_cached && sequence == clp->cs_seq - 1) {
		*res = clp->cs_res; /* a retransmission: same answer */
		return clp->cs_status;
	}
	if (sequence != clp->cs_seq)
		return NS4ERR_SEQ_MISORDERED;
	if (clp->nsessions >= m->cfg.max_sessions_per_client)
		return NS4ERR_NOSPC;
	struct ns4_session *ses = session_new(m, clp, fore);
	if (!ses)
		return NS4ERR_DELAY;
	if (!clp->confirmed)
		cs_confirm(m, clp);
	ns4_renew_client(m, clp);
	/* No persistent reply cache, no RDMA; the back channel is recorded. */
	ses->back_chan = flags & CS_FLAG_CONN_BACK_CHAN;
	conn_bind(ses, connid, ses->back_chan ? NS4_CDFS_BOTH : NS4_CDFS_FORE);
	memset(res, 0, sizeof(*res));
	memcpy(res->sessionid, ses->id, NS4_SESSIONID_SIZE);
	res->sequence = sequence;
	res->flags = flags & CS_FLAG_CONN_BACK_CHAN;
	res->fore = ses->fore;
	res->back = *back;
	res->back.maxrequests = min_u32(back->maxrequests ? back->maxrequests : 1, 1);
	clp->cs_seq++;
	clp->cs_cached = true;
	clp->cs_status = NS4_OK;
	clp->cs_res = *res;
	return NS4_OK;
}

enum ns4_status ns4_create_session(struct ns4_mgr *m, uint64_t clientid, uint32_t sequence,
				   uint32_t flags, const struct ns4_chan_attrs *fore,
				   const struct ns4_chan_attrs *back, const char *principal,
				   uint64_t connid, struct ns4_cs_res *res)
{
	co_mutex_lock(&m->mu);
	enum ns4_status rc =
	    cs_locked(m, clientid, sequence, flags, fore, back, principal, connid, res);
	co_mutex_unlock(&m->mu);
	return rc;
}

/* ---- SEQUENCE ---- */

static enum ns4_status slot_retry(struct ns4_slot *slot, struct ns4_seq_res *res)
{
	if (slot->seqid == 0)
		return NS4ERR_SEQ_MISORDERED; /* slots start at 0, first use is 1 */
	if (!slot->has_reply)
		return NS4ERR_RETRY_UNCACHED_REP;
	res->reply = malloc(slot->len ? slot->len : 1);
	if (!res->reply)
		return NS4ERR_DELAY;
	memcpy(res->reply, slot->reply, slot->len);
	res->reply_len = slot->len;
	res->replay = true;
	return NS4_OK;
}

static enum ns4_status seq_locked(struct ns4_mgr *m, const struct ns4_seq_args *a,
				  struct ns4_seq_res *res)
{
	struct ns4_session *ses = session_find(m, a->sessionid);
	if (!ses)
		return NS4ERR_BADSESSION;
	if (a->slotid >= ses->fore.maxrequests)
		return NS4ERR_BADSLOT;
	if (a->nops > ses->fore.maxoperations)
		return NS4ERR_TOO_MANY_OPS;
	if (a->req_len > ses->fore.maxrequestsize)
		return NS4ERR_REQ_TOO_BIG;
	struct ns4_slot *slot = &ses->slots[a->slotid];
	if (slot->in_use)
		return a->seqid == slot->seqid ? NS4ERR_DELAY : NS4ERR_SEQ_MISORDERED;
	enum ns4_status rc = NS4_OK;
	if (a->seqid == slot->seqid) {
		rc = slot_retry(slot, res);
	} else if (a->seqid == slot->seqid + 1) {
		slot->seqid = a->seqid;
		slot->in_use = true;
		slot->cachethis = a->cachethis;
		slot->has_reply = false;
		free(slot->reply);
		slot->reply = NULL;
		ses->clp->busy_slots++;
	} else {
		rc = NS4ERR_SEQ_MISORDERED;
	}
	if (rc != NS4_OK)
		return rc;
	/* SP4_NONE: a connection is bound by simply being used. */
	if (!conn_bound(ses, a->connid))
		conn_bind(ses, a->connid, NS4_CDFS_FORE);
	ns4_renew_client(m, ses->clp);
	res->clientid = ses->clp->clientid;
	res->highest_slotid = ses->fore.maxrequests - 1;
	res->target_highest_slotid = ses->fore.maxrequests - 1;
	res->status_flags = ses->back_chan && !has_back_conn(ses) ? NS4_SEQ4_CB_PATH_DOWN : 0;
	res->fore = ses->fore;
	return NS4_OK;
}

enum ns4_status ns4_sequence(struct ns4_mgr *m, const struct ns4_seq_args *a,
			     struct ns4_seq_res *res)
{
	memset(res, 0, sizeof(*res));
	co_mutex_lock(&m->mu);
	enum ns4_status rc = seq_locked(m, a, res);
	co_mutex_unlock(&m->mu);
	return rc;
}

static enum ns4_status done_locked(struct ns4_mgr *m, const uint8_t sid[NS4_SESSIONID_SIZE],
				   uint32_t slotid, const void *reply, size_t len)
{
	struct ns4_session *ses = session_find(m, sid);
	if (!ses)
		return NS4ERR_BADSESSION; /* destroyed by its own compound */
	if (slotid >= ses->fore.maxrequests || !ses->slots[slotid].in_use)
		return NS4ERR_BADSLOT;
	struct ns4_slot *slot = &ses->slots[slotid];
	slot->in_use = false;
	ses->clp->busy_slots--;
	ns4_renew_client(m, ses->clp);
	if (!slot->cachethis)
		return NS4_OK;
	if (len > ses->fore.maxresponsesize_cached)
		return NS4ERR_REP_TOO_BIG_TO_CACHE;
	slot->reply = malloc(len ? len : 1);
	if (!slot->reply)
		return NS4ERR_DELAY;
	memcpy(slot->reply, reply, len);
	slot->len = len;
	slot->has_reply = true;
	return NS4_OK;
}

enum ns4_status ns4_sequence_done(struct ns4_mgr *m, const uint8_t sessionid[NS4_SESSIONID_SIZE],
				  uint32_t slotid, const void *reply, size_t len)
{
	co_mutex_lock(&m->mu);
	enum ns4_status rc = done_locked(m, sessionid, slotid, reply, len);
	co_mutex_unlock(&m->mu);
	return rc;
}

/* ---- DESTROY_SESSION, BIND_CONN_TO_SESSION ---- */

enum ns4_status ns4_destroy_session(struct ns4_mgr *m, const uint8_t sessionid[NS4_SESSIONID_SIZE])
{
	co_mutex_lock(&m->mu);
	struct ns4_session *ses = session_find(m, sessionid);
	if (ses) {
		ns4_renew_client(m, ses->clp);
		ns4_session_free(m, ses);
	}
	co_mutex_unlock(&m->mu);
	return ses ? NS4_OK : NS4ERR_BADSESSION;
}

static uint32_t bind_dir(uint32_t dir)
{
	switch (dir) {
	case NS4_CDFS_FORE:
	case NS4_CDFS_BACK:
		return dir;
	case NS4_CDFS_FORE_OR_BOTH:
	case NS4_CDFS_BACK_OR_BOTH:
		return NS4_CDFS_BOTH;
	default:
		return 0;
	}
}

enum ns4_status ns4_bind_conn(struct ns4_mgr *m, const uint8_t sessionid[NS4_SESSIONID_SIZE],
			      uint64_t connid, uint32_t dir, uint32_t *dir_out)
{
	uint32_t d = bind_dir(dir);
	if (!d)
		return NS4ERR_INVAL;
	co_mutex_lock(&m->mu);
	struct ns4_session *ses = session_find(m, sessionid);
	if (ses) {
		conn_bind(ses, connid, d);
		ns4_renew_client(m, ses->clp);
		*dir_out = d;
	}
	co_mutex_unlock(&m->mu);
	return ses ? NS4_OK : NS4ERR_BADSESSION;
}

void ns4_conn_closed(struct ns4_mgr *m, uint64_t connid)
{
	co_mutex_lock(&m->mu);
	for (struct ns4_client *clp = m->clients; clp; clp = clp->next) {
		for (struct ns4_session *ses = clp->sessions; ses; ses = ses->next) {
			for (uint32_t i = 0; i < ses->nconns; i++) {
				if (ses->conns[i] != connid)
					continue;
				ses->nconns--;
				ses->conns[i] = ses->conns[ses->nconns];
				ses->conn_dir[i] = ses->conn_dir[ses->nconns];
				break;
			}
		}
	}
	co_mutex_unlock(&m->mu);
}
