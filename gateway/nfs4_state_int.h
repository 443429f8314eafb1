/* Internals shared by nfs4_state.c, nfs4_state_open.c, nfs4_lock.c and
 * nfs4_session.c. Everything here runs with ns4_mgr.mu held. */
#ifndef MCFS_NFS4_STATE_INT_H
#define MCFS_NFS4_STATE_INT_H

#include "nfs4_state.h"

#include <pthread.h>

#include "cosync.h"

#define NS4_EXPIRED_RING 1024
#define NS4_MAX_CONNS	 16

/* Intrusive chained hash on a 64-bit key; the bucket count is fixed at
 * creation from the configured limits, so it never grows with input. */
struct ns4_hnode {
	struct ns4_hnode *next;
	uint64_t key;
};

struct ns4_htab {
	struct ns4_hnode **b;
	size_t mask;
};

int ns4_htab_init(struct ns4_htab *t, size_t want);
void ns4_htab_fini(struct ns4_htab *t);
struct ns4_hnode *ns4_htab_find(const struct ns4_htab *t, uint64_t key);
void ns4_htab_add(struct ns4_htab *t, struct ns4_hnode *n);
void ns4_htab_del(struct ns4_htab *t, struct ns4_hnode *n);

#define ns4_entry(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

struct ns4_session;
struct ns4_owner;
struct ns4_stid;
struct ns4_file;

struct ns4_client {
	struct ns4_client *next;
	uint64_t clientid;
	uint8_t verifier[NS4_VERIFIER_SIZE];
	uint8_t confirm[NS4_VERIFIER_SIZE];
	uint8_t *owner;
	uint32_t owner_len;
	char principal[NS4_PRINCIPAL_MAX];
	uint32_t minor;
	bool confirmed;
	bool may_reclaim;  /* an earlier boot saved it: reclaims allowed */
	bool reclaim_done; /* RECLAIM_COMPLETE seen */
	uint64_t renewed;
	/* 4.1 CREATE_SESSION sequencing and its one-entry reply cache. */
	uint32_t cs_seq;
	bool cs_cached;
	enum ns4_status cs_status;
	struct ns4_cs_res cs_res;
	struct ns4_session *sessions;
	uint32_t nsessions;
	struct ns4_owner *owners;
	uint32_t nowners;
	uint32_t nstates;
	uint32_t state_ctr;
	uint32_t busy_slots; /* requests in progress keep the lease alive */
};

struct ns4_owner {
	struct ns4_hnode h; /* key: owner id */
	struct ns4_owner *next;
	struct ns4_client *clp;
	bool is_lock;
	bool confirmed;
	bool busy; /* a 4.0 seqid op is between begin and end */
	bool seq_valid;
	uint32_t seqid;
	bool reply_valid;
	void *reply;
	size_t reply_len;
	struct ns4_stid *stids;
	struct ns4_stid *closed; /* 4.0: kept so a CLOSE can be replayed */
	uint32_t len;
	uint8_t name[];
};

struct ns4_stid {
	struct ns4_hnode h; /* key: client counter << 32 | state counter */
	struct ns4_stid *onext;
	struct ns4_stid *fnext;
	bool is_lock;
	bool closed;
	uint32_t seqid;
	struct ns4_owner *owner;
	struct ns4_file *file;
	uint32_t access, deny;
	uint8_t access_bmap, deny_bmap; /* modes opened with, for downgrade */
	struct ns4_stid *open;		/* lock stateids: the open they came from */
	uint32_t nlocks;
};

struct ns4_lock {
	struct ns4_lock *next;
	struct ns4_stid *lst;
	uint64_t first, last; /* inclusive */
	int type;
};

struct ns4_file {
	struct ns4_hnode h; /* key: file id */
	struct ns4_stid *stids;
	struct ns4_lock *locks;
	uint32_t nlocks;
	uint32_t nopens;
};

struct ns4_slot {
	uint32_t seqid;
	bool in_use;
	bool cachethis;
	bool has_reply;
	void *reply;
	size_t len;
};

struct ns4_session {
	struct ns4_hnode h; /* key: bytes 8..15 of the id */
	struct ns4_session *next;
	struct ns4_client *clp;
	uint8_t id[NS4_SESSIONID_SIZE];
	struct ns4_chan_attrs fore;
	struct ns4_slot *slots;
	uint64_t conns[NS4_MAX_CONNS];
	uint8_t conn_dir[NS4_MAX_CONNS];
	uint32_t nconns;
	bool back_chan; /* the client asked for a back channel */
};

struct ns4_mgr {
	struct co_mutex mu; /* held across client record writes to Redis */
	struct ns4_config cfg;
	uint32_t epoch;
	uint64_t grace_end;
	bool grace;
	uint32_t reclaim_pending; /* loaded owners not yet RECLAIM_COMPLETE */
	struct ns4_client *clients;
	uint32_t nclients;
	uint32_t client_ctr;
	uint64_t owner_ctr;
	uint64_t session_ctr;
	struct ns4_htab stids, owners, files, sessions;
	uint32_t expired[NS4_EXPIRED_RING];
	uint32_t expired_pos;
	struct ns4_client_rec *loaded; /* records from earlier boots */
	uint32_t nloaded;
	uint64_t *released;
	size_t nreleased, released_cap;
};

uint64_t ns4_now(struct ns4_mgr *m);
bool ns4_recently_expired(const struct ns4_mgr *m, uint32_t ctr);
bool ns4_bytes_eq(const void *a, uint32_t alen, const void *b, uint32_t blen);
const char *ns4_princ(const char *p);
void ns4_renew_client(struct ns4_mgr *m, struct ns4_client *clp);
/* Confirmed client by id: NS4_OK, STALE_CLIENTID or EXPIRED. Renews. */
enum ns4_status ns4_client_get(struct ns4_mgr *m, uint64_t clientid, struct ns4_client **out);
struct ns4_client *ns4_client_by_id(struct ns4_mgr *m, uint64_t clientid, bool confirmed);
void ns4_client_confirmed(struct ns4_mgr *m, struct ns4_client *clp);
void ns4_client_free(struct ns4_mgr *m, struct ns4_client *clp);
void ns4_released_push(struct ns4_mgr *m, uint64_t fileid);
/* NS4ERR_GRACE / NO_GRACE / OK for a (non-)reclaiming op of clp. */
enum ns4_status ns4_grace_check(struct ns4_mgr *m, struct ns4_client *clp, bool reclaim);
enum ns4_status ns4_no_resource(const struct ns4_client *clp);

/* nfs4_state_open.c */
void ns4_owner_free(struct ns4_mgr *m, struct ns4_owner *oo);
/* report: tell the caller (ns4_take_released) if the file's last open went. */
void ns4_stid_free(struct ns4_mgr *m, struct ns4_stid *s, bool report);
struct ns4_owner *ns4_owner_find(struct ns4_client *clp, bool is_lock, const void *name,
				 uint32_t len);
struct ns4_owner *ns4_owner_new(struct ns4_mgr *m, struct ns4_client *clp, bool is_lock,
				const void *name, uint32_t len);
struct ns4_stid *ns4_stid_new(struct ns4_mgr *m, struct ns4_owner *oo, struct ns4_file *f,
			      bool is_lock);
struct ns4_file *ns4_file_get(struct ns4_mgr *m, uint64_t fileid, bool create);
void ns4_file_put(struct ns4_mgr *m, struct ns4_file *f);
void ns4_client_release_state(struct ns4_mgr *m, struct ns4_client *clp);
/* Finds a stateid of the right kind, checks seqid and ownership. */
enum ns4_status ns4_stid_lookup(struct ns4_mgr *m, const struct ns4_stateid *s, uint64_t clientid,
				struct ns4_stid **out);
void ns4_stid_encode(const struct ns4_mgr *m, const struct ns4_stid *s, struct ns4_stateid *out);

/* nfs4_lock.c */
void ns4_locks_drop(struct ns4_mgr *m, struct ns4_stid *lst);

/* nfs4_session.c */
void ns4_session_free(struct ns4_mgr *m, struct ns4_session *ses);

#endif
