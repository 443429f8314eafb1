/* NFSv4 state manager: setup, client records (RFC 7530 §16.33-34, RFC 8881
 * §18.35, §18.50), leases, grace and persistence hooks. */
#include "nfs4_state_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- small helpers ---- */

int ns4_htab_init(struct ns4_htab *t, size_t want)
{
	size_t n = 16;
	while (n < want)
		n <<= 1;
	t->b = calloc(n, sizeof(*t->b));
	t->mask = n - 1;
	return t->b ? 0 : -ENOMEM;
}

void ns4_htab_fini(struct ns4_htab *t)
{
	free(t->b);
	t->b = NULL;
}

static size_t hslot(const struct ns4_htab *t, uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & t->mask;
}

struct ns4_hnode *ns4_htab_find(const struct ns4_htab *t, uint64_t key)
{
	struct ns4_hnode *n;
	for (n = t->b[hslot(t, key)]; n; n = n->next)
		if (n->key == key)
			return n;
	return NULL;
}

void ns4_htab_add(struct ns4_htab *t, struct ns4_hnode *n)
{
	struct ns4_hnode **b = &t->b[hslot(t, n->key)];
	n->next = *b;
	*b = n;
}

void ns4_htab_del(struct ns4_htab *t, struct ns4_hnode *n)
{
	struct ns4_hnode **p;
	for (p = &t->b[hslot(t, n->key)]; *p; p = &(*p)->next) {
		if (*p == n) {
			*p = n->next;
			return;
		}
	}
}

static uint64_t mono_clock(void *arg)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

uint64_t ns4_now(struct ns4_mgr *m)
{
	return m->cfg.clock(m->cfg.clock_arg);
}

bool ns4_bytes_eq(const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

const char *ns4_princ(const char *p)
{
	return p ? p : "";
}

static bool princ_eq(const struct ns4_client *clp, const char *p)
{
	return strncmp(clp->principal, ns4_princ(p), NS4_PRINCIPAL_MAX) == 0;
}

void ns4_renew_client(struct ns4_mgr *m, struct ns4_client *clp)
{
	clp->renewed = ns4_now(m);
}

void ns4_released_push(struct ns4_mgr *m, uint64_t fileid)
{
	if (m->nreleased == m->released_cap) {
		size_t cap = m->released_cap ? m->released_cap * 2 : 64;
		uint64_t *p = realloc(m->released, cap * sizeof(*p));
		if (!p)
			return; /* the caller loses a hint, not correctness */
		m->released = p;
		m->released_cap = cap;
	}
	m->released[m->nreleased++] = fileid;
}

/* 4.1 has no NFS4ERR_RESOURCE (RFC 8881 §15.1.1.4): ask for a retry. */
enum ns4_status ns4_no_resource(const struct ns4_client *clp)
{
	return clp && clp->minor > 0 ? NS4ERR_DELAY : NS4ERR_RESOURCE;
}

/* ---- grace ---- */

static void grace_update(struct ns4_mgr *m)
{
	if (m->grace && (ns4_now(m) >= m->grace_end || m->reclaim_pending == 0))
		m->grace = false;
}

bool ns4_in_grace(struct ns4_mgr *m)
{
	co_mutex_lock(&m->mu);
	grace_update(m);
	bool g = m->grace;
	co_mutex_unlock(&m->mu);
	return g;
}

enum ns4_status ns4_grace_check(struct ns4_mgr *m, struct ns4_client *clp, bool reclaim)
{
	grace_update(m);
	/* A 4.1 client reclaims first and says RECLAIM_COMPLETE before it
	 * takes new state (RFC 8881 §18.51.3), even with nothing to reclaim. */
	if (!reclaim && clp && clp->minor > 0 && !clp->reclaim_done)
		return NS4ERR_GRACE;
	if (!reclaim)
		return m->grace ? NS4ERR_GRACE : NS4_OK;
	if (!m->grace || !clp->may_reclaim || clp->reclaim_done)
		return NS4ERR_NO_GRACE;
	return NS4_OK;
}

/* ---- setup ---- */

static void load_one(void *ctx, const struct ns4_client_rec *rec)
{
	struct ns4_mgr *m = ctx;
	if (m->nloaded >= m->cfg.max_clients || rec->owner_len > NS4_OWNER_MAX)
		return;
	m->loaded[m->nloaded] = *rec;
	m->loaded[m->nloaded].principal[NS4_PRINCIPAL_MAX - 1] = '\0';
	m->nloaded++;
}

static void config_defaults(struct ns4_config *c)
{
#define DEF(f, v)                                                                                  \
	do {                                                                                       \
		if (!c->f)                                                                         \
			c->f = v;                                                                  \
	} while (0)
	DEF(boot_epoch, (uint32_t)time(NULL));
	DEF(lease_secs, 90);
	DEF(grace_secs, c->lease_secs);
	DEF(max_clients, 4096);
	DEF(max_states_per_client, 4096);
	DEF(max_owners_per_client, 4096);
	DEF(max_locks_per_file, 1024);
	DEF(max_sessions_per_client, 8);
	DEF(max_slots, 64);
	DEF(max_req_size, (1u << 20) + 4096);
	DEF(max_resp_size, (1u << 20) + 4096);
	DEF(max_resp_cached, 4096);
	DEF(max_ops, 16);
	DEF(max_owner_reply, 4096);
	DEF(clock, mono_clock);
#undef DEF
}

static int tables_init(struct ns4_mgr *m)
{
	if (ns4_htab_init(&m->stids, 4096) || ns4_htab_init(&m->owners, 4096) ||
	    ns4_htab_init(&m->files, 4096) || ns4_htab_init(&m->sessions, 1024))
		return -ENOMEM;
	return 0;
}

static void tables_fini(struct ns4_mgr *m)
{
	ns4_htab_fini(&m->stids);
	ns4_htab_fini(&m->owners);
	ns4_htab_fini(&m->files);
	ns4_htab_fini(&m->sessions);
}

int ns4_create(const struct ns4_config *cfg, struct ns4_mgr **out)
{
	struct ns4_mgr *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	if (cfg)
		m->cfg = *cfg;
	config_defaults(&m->cfg);
	m->epoch = m->cfg.boot_epoch;
	m->loaded = calloc(m->cfg.max_clients, sizeof(*m->loaded));
	if (!m->loaded || tables_init(m)) {
		tables_fini(m);
		free(m->loaded);
		free(m);
		return -ENOMEM;
	}
	co_mutex_init(&m->mu);
	const struct ns4_hooks *h = m->cfg.hooks;
	if (h && h->load_clients && h->load_clients(h->arg, load_one, m) < 0)
		m->nloaded = 0;
	/* Nobody can reclaim without saved records: skip the grace period. */
	m->reclaim_pending = m->nloaded;
	m->grace = m->nloaded > 0;
	m->grace_end = ns4_now(m) + m->cfg.grace_secs;
	*out = m;
	return 0;
}

void ns4_destroy(struct ns4_mgr *m)
{
	if (!m)
		return;
	while (m->clients)
		ns4_client_free(m, m->clients);
	tables_fini(m);
	free(m->loaded);
	free(m->released);
	co_mutex_destroy(&m->mu);
	free(m);
}

uint32_t ns4_lease_secs(const struct ns4_mgr *m)
{
	return m->cfg.lease_secs;
}

/* ---- client records ---- */

static bool id_is_ours(const struct ns4_mgr *m, uint64_t id)
{
	return (uint32_t)(id >> 32) == m->epoch;
}

bool ns4_recently_expired(const struct ns4_mgr *m, uint32_t ctr)
{
	for (unsigned i = 0; i < NS4_EXPIRED_RING; i++)
		if (m->expired[i] == ctr)
			return true;
	return false;
}

struct ns4_client *ns4_client_by_id(struct ns4_mgr *m, uint64_t clientid, bool confirmed)
{
	struct ns4_client *c;
	for (c = m->clients; c; c = c->next)
		if (c->clientid == clientid && c->confirmed == confirmed)
			return c;
	return NULL;
}

static struct ns4_client *client_by_name(struct ns4_mgr *m, const struct ns4_client_id *cid,
					 bool confirmed)
{
	struct ns4_client *c;
	for (c = m->clients; c; c = c->next)
		if (c->confirmed == confirmed &&
		    ns4_bytes_eq(c->owner, c->owner_len, cid->owner, cid->owner_len))
			return c;
	return NULL;
}

enum ns4_status ns4_client_get(struct ns4_mgr *m, uint64_t clientid, struct ns4_client **out)
{
	if (!id_is_ours(m, clientid))
		return NS4ERR_STALE_CLIENTID;
	struct ns4_client *clp = ns4_client_by_id(m, clientid, true);
	if (!clp)
		return ns4_recently_expired(m, (uint32_t)clientid) ? NS4ERR_EXPIRED
								   : NS4ERR_STALE_CLIENTID;
	ns4_renew_client(m, clp);
	*out = clp;
	return NS4_OK;
}

static void client_rec(const struct ns4_client *clp, struct ns4_client_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	memcpy(rec->owner, clp->owner, clp->owner_len);
	rec->owner_len = clp->owner_len;
	memcpy(rec->principal, clp->principal, sizeof(rec->principal));
	rec->minorversion = clp->minor;
}

static void persist(struct ns4_mgr *m, const struct ns4_client *clp, bool save)
{
	const struct ns4_hooks *h = m->cfg.hooks;
	int (*fn)(void *, const struct ns4_client_rec *) =
	    h ? (save ? h->save_client : h->remove_client) : NULL;
	if (!fn)
		return;
	struct ns4_client_rec *rec = malloc(sizeof(*rec));
	if (!rec)
		return;
	client_rec(clp, rec);
	fn(h->arg, rec);
	free(rec);
}

static bool was_loaded(const struct ns4_mgr *m, const struct ns4_client *clp)
{
	for (uint32_t i = 0; i < m->nloaded; i++)
		if (ns4_bytes_eq(m->loaded[i].owner, m->loaded[i].owner_len, clp->owner,
				 clp->owner_len))
			return true;
	return false;
}

void ns4_client_confirmed(struct ns4_mgr *m, struct ns4_client *clp)
{
	clp->confirmed = true;
	grace_update(m);
	clp->may_reclaim = m->grace && was_loaded(m, clp);
	ns4_renew_client(m, clp);
	persist(m, clp, true);
}

static struct ns4_client *client_new(struct ns4_mgr *m, const struct ns4_client_id *cid,
				     const char *principal, uint32_t minor, uint64_t clientid)
{
	if (m->nclients >= m->cfg.max_clients || cid->owner_len > NS4_OWNER_MAX)
		return NULL;
	struct ns4_client *clp = calloc(1, sizeof(*clp));
	if (!clp)
		return NULL;
	clp->owner = malloc(cid->owner_len ? cid->owner_len : 1);
	if (!clp->owner) {
		free(clp);
		return NULL;
	}
	memcpy(clp->owner, cid->owner, cid->owner_len);
	clp->owner_len = cid->owner_len;
	memcpy(clp->verifier, cid->verifier, NS4_VERIFIER_SIZE);
	strncpy(clp->principal, ns4_princ(principal), NS4_PRINCIPAL_MAX - 1);
	clp->minor = minor;
	if (!clientid) {
		if (++m->client_ctr == 0)
			m->client_ctr = 1;
		clientid = (uint64_t)m->epoch << 32 | m->client_ctr;
	}
	clp->clientid = clientid;
	/* The confirm verifier only has to differ between SETCLIENTIDs. */
	uint64_t v = clientid ^ ((uint64_t)++m->owner_ctr << 17) ^ ns4_now(m);
	memcpy(clp->confirm, &v, sizeof(v));
	clp->cs_seq = 1;
	clp->renewed = ns4_now(m);
	clp->next = m->clients;
	m->clients = clp;
	m->nclients++;
	return clp;
}

void ns4_client_free(struct ns4_mgr *m, struct ns4_client *clp)
{
	struct ns4_client **p;
	for (p = &m->clients; *p; p = &(*p)->next) {
		if (*p == clp) {
			*p = clp->next;
			m->nclients--;
			break;
		}
	}
	while (clp->sessions)
		ns4_session_free(m, clp->sessions);
	ns4_client_release_state(m, clp);
	free(clp->owner);
	free(clp);
}

/* A confirmed record is "in use" while it holds state or a live lease: a
 * different principal may then not take over its name. */
/* Another principal may take over a client name whose record holds no
 * state (RFC 7530 §16.33.5, RFC 8881 §18.35.5 case 3), as Linux's nfsd
 * decides: an unexpired lease alone does not keep the name. */
static bool client_in_use(struct ns4_mgr *m, const struct ns4_client *clp)
{
	return clp->nstates || clp->nsessions;
}

/* ---- NFSv4.0 SETCLIENTID / SETCLIENTID_CONFIRM ---- */

enum ns4_status ns4_setclientid(struct ns4_mgr *m, const struct ns4_client_id *cid,
				const char *principal, uint64_t *clientid,
				uint8_t confirm[NS4_VERIFIER_SIZE])
{
	enum ns4_status st = NS4_OK;
	if (cid->owner_len > NS4_OWNER_MAX)
		return NS4ERR_INVAL;
	co_mutex_lock(&m->mu);
	struct ns4_client *conf = client_by_name(m, cid, true);
	struct ns4_client *unconf = client_by_name(m, cid, false);
	if (conf && !princ_eq(conf, principal) && client_in_use(m, conf)) {
		st = NS4ERR_CLID_INUSE;
		goto out;
	}
	/* Any earlier unconfirmed record of this name is superseded. */
	if (unconf)
		ns4_client_free(m, unconf);
	uint64_t id = 0;
	/* Same verifier and principal: a callback update keeps the id. */
	if (conf && princ_eq(conf, principal) &&
	    memcmp(conf->verifier, cid->verifier, NS4_VERIFIER_SIZE) == 0)
		id = conf->clientid;
	struct ns4_client *clp = client_new(m, cid, principal, 0, id);
	if (!clp) {
		st = NS4ERR_RESOURCE;
		goto out;
	}
	*clientid = clp->clientid;
	memcpy(confirm, clp->confirm, NS4_VERIFIER_SIZE);
out:
	co_mutex_unlock(&m->mu);
	return st;
}

static enum ns4_status confirm_locked(struct ns4_mgr *m, uint64_t clientid,
				      const uint8_t confirm[NS4_VERIFIER_SIZE],
				      const char *principal)
{
	if (!id_is_ours(m, clientid))
		return NS4ERR_STALE_CLIENTID;
	struct ns4_client *unconf = ns4_client_by_id(m, clientid, false);
	struct ns4_client *conf = ns4_client_by_id(m, clientid, true);
	if (unconf && memcmp(unconf->confirm, confirm, NS4_VERIFIER_SIZE) == 0) {
		if (!princ_eq(unconf, principal))
			return NS4ERR_CLID_INUSE;
		if (conf) {
			/* Callback update: the confirmed record lives on. */
			memcpy(conf->confirm, unconf->confirm, NS4_VERIFIER_SIZE);
			ns4_client_free(m, unconf);
			ns4_renew_client(m, conf);
			return NS4_OK;
		}
		struct ns4_client_id cid = {unconf->owner, unconf->owner_len, {0}};
		struct ns4_client *old = client_by_name(m, &cid, true);
		/* The client rebooted: its old incarnation's state goes, and
		 * its stateids are answered EXPIRED from now on. */
		if (old) {
			m->expired[m->expired_pos++ % NS4_EXPIRED_RING] = (uint32_t)old->clientid;
			ns4_client_free(m, old);
		}
		ns4_client_confirmed(m, unconf);
		return NS4_OK;
	}
	if (conf && memcmp(conf->confirm, confirm, NS4_VERIFIER_SIZE) == 0) {
		/* A retransmitted confirm whose first reply was lost. */
		if (!princ_eq(conf, principal))
			return NS4ERR_CLID_INUSE;
		ns4_renew_client(m, conf);
		return NS4_OK;
	}
	return NS4ERR_STALE_CLIENTID;
}

enum ns4_status ns4_setclientid_confirm(struct ns4_mgr *m, uint64_t clientid,
					const uint8_t confirm[NS4_VERIFIER_SIZE],
					const char *principal)
{
	co_mutex_lock(&m->mu);
	enum ns4_status st = confirm_locked(m, clientid, confirm, principal);
	co_mutex_unlock(&m->mu);
	return st;
}

enum ns4_status ns4_renew(struct ns4_mgr *m, uint64_t clientid)
{
	struct ns4_client *clp;
	co_mutex_lock(&m->mu);
	enum ns4_status st = ns4_client_get(m, clientid, &clp);
	co_mutex_unlock(&m->mu);
	return st;
}

/* ---- NFSv4.1 EXCHANGE_ID / DESTROY_CLIENTID / RECLAIM_COMPLETE ---- */

static void exid_existing(const struct ns4_client *clp, struct ns4_exid_res *res)
{
	res->clientid = clp->clientid;
	res->sequenceid = clp->cs_seq;
	res->flags = NS4_EXID_USE_NON_PNFS | NS4_EXID_CONFIRMED_R;
}

static enum ns4_status exid_locked(struct ns4_mgr *m, const struct ns4_client_id *cid,
				   const char *principal, uint32_t flags, struct ns4_exid_res *res)
{
	struct ns4_client *conf = client_by_name(m, cid, true);
	struct ns4_client *unconf = client_by_name(m, cid, false);
	bool same_princ = conf && princ_eq(conf, principal);
	bool same_verf = conf && memcmp(conf->verifier, cid->verifier, NS4_VERIFIER_SIZE) == 0;

	if (flags & NS4_EXID_UPD_CONFIRMED) {
		if (!conf)
			return NS4ERR_NOENT;
		if (!same_princ)
			return NS4ERR_PERM;
		if (!same_verf)
			return NS4ERR_NOT_SAME;
		ns4_renew_client(m, conf);
		exid_existing(conf, res);
		return NS4_OK;
	}
	if (conf && !same_princ && client_in_use(m, conf))
		return NS4ERR_CLID_INUSE;
	if (conf && same_princ && same_verf) {
		ns4_renew_client(m, conf);
		exid_existing(conf, res);
		return NS4_OK;
	}
	/* New client, restart (verifier changed) or a stale record of another
	 * principal: a fresh unconfirmed record that CREATE_SESSION confirms,
	 * replacing a restarted client's confirmed one only then. Another
	 * principal's record holds no state (checked above) and goes now
	 * (RFC 8881 §18.35.5 case 3, as Linux's nfsd does). */
	if (unconf)
		ns4_client_free(m, unconf);
	if (conf && !same_princ)
		ns4_client_free(m, conf);
	struct ns4_client *clp = client_new(m, cid, principal, 1, 0);
	if (!clp)
		return NS4ERR_DELAY;
	res->clientid = clp->clientid;
	res->sequenceid = clp->cs_seq;
	res->flags = NS4_EXID_USE_NON_PNFS;
	return NS4_OK;
}

enum ns4_status ns4_exchange_id(struct ns4_mgr *m, const struct ns4_client_id *cid,
				const char *principal, uint32_t flags, struct ns4_exid_res *res)
{
	if ((flags & ~NS4_EXID_CLIENT_FLAGS) || cid->owner_len > NS4_OWNER_MAX)
		return NS4ERR_INVAL;
	co_mutex_lock(&m->mu);
	enum ns4_status st = exid_locked(m, cid, principal, flags, res);
	co_mutex_unlock(&m->mu);
	return st;
}

enum ns4_status ns4_destroy_clientid(struct ns4_mgr *m, uint64_t clientid)
{
	enum ns4_status st = NS4_OK;
	co_mutex_lock(&m->mu);
	struct ns4_client *clp = NULL;
	if (id_is_ours(m, clientid)) {
		clp = ns4_client_by_id(m, clientid, true);
		if (!clp)
			clp = ns4_client_by_id(m, clientid, false);
	}
	if (!clp)
		st = NS4ERR_STALE_CLIENTID;
	else if (clp->nsessions || clp->nstates)
		st = NS4ERR_CLIENTID_BUSY;
	else {
		if (clp->confirmed)
			persist(m, clp, false);
		ns4_client_free(m, clp);
	}
	co_mutex_unlock(&m->mu);
	return st;
}

enum ns4_status ns4_reclaim_complete(struct ns4_mgr *m, uint64_t clientid)
{
	struct ns4_client *clp;
	co_mutex_lock(&m->mu);
	enum ns4_status st = ns4_client_get(m, clientid, &clp);
	if (st == NS4_OK && clp->reclaim_done)
		st = NS4ERR_COMPLETE_ALREADY;
	if (st == NS4_OK) {
		clp->reclaim_done = true;
		if (clp->may_reclaim && m->reclaim_pending)
			m->reclaim_pending--;
		grace_update(m);
	}
	co_mutex_unlock(&m->mu);
	return st;
}

/* ---- leases ---- */

unsigned ns4_expire(struct ns4_mgr *m)
{
	unsigned n = 0;
	co_mutex_lock(&m->mu);
	uint64_t now = ns4_now(m);
	struct ns4_client *clp = m->clients, *next;
	for (; clp; clp = next) {
		next = clp->next;
		if (clp->busy_slots || now < clp->renewed + m->cfg.lease_secs)
			continue;
		if (clp->confirmed) {
			/* Remember it so its stateids answer EXPIRED, not BAD. */
			m->expired[m->expired_pos++ % NS4_EXPIRED_RING] = (uint32_t)clp->clientid;
			persist(m, clp, false);
			n++;
		}
		ns4_client_free(m, clp);
	}
	grace_update(m);
	co_mutex_unlock(&m->mu);
	return n;
}

size_t ns4_take_released(struct ns4_mgr *m, uint64_t **fileids)
{
	co_mutex_lock(&m->mu);
	size_t n = m->nreleased;
	*fileids = m->released;
	m->released = NULL;
	m->nreleased = m->released_cap = 0;
	co_mutex_unlock(&m->mu);
	return n;
}
