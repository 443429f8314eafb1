/* NFSv4.0/4.1 state manager: client records, sessions, stateids, share
 * reservations, byte-range locks, leases and the grace period.
 *
 * Pure logic plus one mutex; no XDR, no I/O. Types are its own so it builds
 * and tests without rpcgen output:
 *  - enum ns4_status is numerically identical to nfsstat4 (cast freely);
 *  - struct ns4_stateid has the layout of stateid4 (seqid, other[12]),
 *    seqid in host order as the XDR routines leave it;
 *  - files are named by the caller's 64-bit file id (inode number).
 * Owners and principals are opaque byte strings the caller supplies; the
 * principal is whatever string identifies the RPC credential (e.g.
 * "sys:0@host"), compared bytewise.
 *
 * Every entry point takes the manager's mutex; none calls back into the
 * caller except the persistence hooks, which run under that mutex and
 * must not call into this module.
 */
#ifndef MCFS_NFS4_STATE_H
#define MCFS_NFS4_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS4_OWNER_MAX	   1024 /* NFS4_OPAQUE_LIMIT */
#define NS4_PRINCIPAL_MAX  256
#define NS4_VERIFIER_SIZE  8
#define NS4_OTHER_SIZE	   12
#define NS4_SESSIONID_SIZE 16

enum ns4_status {
	NS4_OK = 0,
	NS4ERR_PERM = 1,
	NS4ERR_NOENT = 2,
	NS4ERR_INVAL = 22,
	NS4ERR_NOSPC = 28,
	NS4ERR_SERVERFAULT = 10006,
	NS4ERR_DELAY = 10008,
	NS4ERR_DENIED = 10010,
	NS4ERR_EXPIRED = 10011,
	NS4ERR_LOCKED = 10012,
	NS4ERR_GRACE = 10013,
	NS4ERR_SHARE_DENIED = 10015,
	NS4ERR_CLID_INUSE = 10017,
	NS4ERR_RESOURCE = 10018,
	NS4ERR_MOVED = 10019,
	NS4ERR_NOFILEHANDLE = 10020,
	NS4ERR_STALE_CLIENTID = 10022,
	NS4ERR_STALE_STATEID = 10023,
	NS4ERR_OLD_STATEID = 10024,
	NS4ERR_BAD_STATEID = 10025,
	NS4ERR_BAD_SEQID = 10026,
	NS4ERR_NOT_SAME = 10027,
	NS4ERR_LOCK_RANGE = 10028,
	NS4ERR_NO_GRACE = 10033,
	NS4ERR_BADXDR = 10036,
	NS4ERR_LOCKS_HELD = 10037,
	NS4ERR_OPENMODE = 10038,
	NS4ERR_BADSESSION = 10052,
	NS4ERR_BADSLOT = 10053,
	NS4ERR_COMPLETE_ALREADY = 10054,
	NS4ERR_SEQ_MISORDERED = 10063,
	NS4ERR_REQ_TOO_BIG = 10065,
	NS4ERR_REP_TOO_BIG_TO_CACHE = 10067,
	NS4ERR_RETRY_UNCACHED_REP = 10068,
	NS4ERR_TOO_MANY_OPS = 10070,
	NS4ERR_CLIENTID_BUSY = 10074,
};

/* Wire constants this module interprets (values from RFC 7530/8881). */
#define NS4_ACCESS_READ	       0x1u
#define NS4_ACCESS_WRITE       0x2u
#define NS4_ACCESS_BOTH	       0x3u
#define NS4_ACCESS_WANT_MASK   0xffff00u /* 4.1 delegation wants: ignored */
#define NS4_DENY_NONE	       0x0u
#define NS4_DENY_READ	       0x1u
#define NS4_DENY_WRITE	       0x2u
#define NS4_DENY_BOTH	       0x3u
#define NS4_READ_LT	       1
#define NS4_WRITE_LT	       2
#define NS4_READW_LT	       3
#define NS4_WRITEW_LT	       4
#define NS4_LEN_EOF	       UINT64_MAX
#define NS4_EXID_UPD_CONFIRMED 0x40000000u
#define NS4_EXID_CONFIRMED_R   0x80000000u
#define NS4_EXID_USE_NON_PNFS  0x00010000u
#define NS4_EXID_CLIENT_FLAGS  0x40070103u /* flags a client may send */
#define NS4_CDFS_FORE	       0x1u
#define NS4_CDFS_BACK	       0x2u
#define NS4_CDFS_BOTH	       0x3u
#define NS4_CDFS_FORE_OR_BOTH  0x3u
#define NS4_CDFS_BACK_OR_BOTH  0x7u
#define NS4_SEQ4_CB_PATH_DOWN  0x1u

struct ns4_stateid {
	uint32_t seqid;
	uint8_t other[NS4_OTHER_SIZE];
};

/* A client record as persisted: enough to let the client reclaim after a
 * restart or fail-over. */
struct ns4_client_rec {
	uint8_t owner[NS4_OWNER_MAX];
	uint32_t owner_len;
	char principal[NS4_PRINCIPAL_MAX];
	uint32_t minorversion;
};

struct ns4_hooks {
	void *arg;
	int (*save_client)(void *arg, const struct ns4_client_rec *rec);
	int (*remove_client)(void *arg, const struct ns4_client_rec *rec);
	/* Calls add(ctx, rec) once per record an earlier boot saved. */
	int (*load_clients)(void *arg, void (*add)(void *ctx, const struct ns4_client_rec *rec),
			    void *ctx);
};

/* Zero fields take the defaults noted. */
struct ns4_config {
	uint32_t boot_epoch;		  /* 0: time(NULL); must differ per boot */
	uint32_t lease_secs;		  /* 90 */
	uint32_t grace_secs;		  /* lease_secs */
	uint32_t max_clients;		  /* 4096 */
	uint32_t max_states_per_client;	  /* 4096 open + lock stateids */
	uint32_t max_owners_per_client;	  /* 4096 */
	uint32_t max_locks_per_file;	  /* 1024 */
	uint32_t max_sessions_per_client; /* 8 */
	uint32_t max_slots;		  /* 64 */
	uint32_t max_req_size;		  /* 1 MiB + 4 KiB */
	uint32_t max_resp_size;		  /* 1 MiB + 4 KiB */
	uint32_t max_resp_cached;	  /* 4 KiB per slot */
	uint32_t max_ops;		  /* 16 */
	uint32_t max_owner_reply;	  /* 4 KiB: cached 4.0 seqid replies */
	/* Seconds on any monotonic scale; NULL: CLOCK_MONOTONIC. */
	uint64_t (*clock)(void *arg);
	void *clock_arg;
	const struct ns4_hooks *hooks; /* NULL: memory only */
};

struct ns4_mgr;

int ns4_create(const struct ns4_config *cfg, struct ns4_mgr **out);
void ns4_destroy(struct ns4_mgr *m);
uint32_t ns4_lease_secs(const struct ns4_mgr *m);
bool ns4_in_grace(struct ns4_mgr *m);

/* ---- clients ---- */

struct ns4_client_id {
	const void *owner; /* nfs_client_id4.id / client_owner4.co_ownerid */
	uint32_t owner_len;
	uint8_t verifier[NS4_VERIFIER_SIZE];
};

enum ns4_status ns4_setclientid(struct ns4_mgr *m, const struct ns4_client_id *cid,
				const char *principal, uint64_t *clientid,
				uint8_t confirm[NS4_VERIFIER_SIZE]);
enum ns4_status ns4_setclientid_confirm(struct ns4_mgr *m, uint64_t clientid,
					const uint8_t confirm[NS4_VERIFIER_SIZE],
					const char *principal);
enum ns4_status ns4_renew(struct ns4_mgr *m, uint64_t clientid);

struct ns4_exid_res {
	uint64_t clientid;
	uint32_t sequenceid;
	uint32_t flags;
};
enum ns4_status ns4_exchange_id(struct ns4_mgr *m, const struct ns4_client_id *cid,
				const char *principal, uint32_t flags, struct ns4_exid_res *res);
enum ns4_status ns4_destroy_clientid(struct ns4_mgr *m, uint64_t clientid);
enum ns4_status ns4_reclaim_complete(struct ns4_mgr *m, uint64_t clientid);

/* Expires clients whose lease ran out, releasing their state; call it
 * every few seconds. Returns how many clients were expired. */
unsigned ns4_expire(struct ns4_mgr *m);
/* Hands over (malloc'd, caller frees) the ids of files whose last open
 * went away other than by the caller's own CLOSE: expiry, client restart,
 * unconfirmed-owner replacement. Lets the caller drop unlinked files. */
size_t ns4_take_released(struct ns4_mgr *m, uint64_t **fileids);

/* ---- sessions (4.1) ---- */

struct ns4_chan_attrs {
	uint32_t headerpadsize;
	uint32_t maxrequestsize;
	uint32_t maxresponsesize;
	uint32_t maxresponsesize_cached;
	uint32_t maxoperations;
	uint32_t maxrequests;
};

struct ns4_cs_res {
	uint8_t sessionid[NS4_SESSIONID_SIZE];
	uint32_t sequence;
	uint32_t flags;
	struct ns4_chan_attrs fore;
	struct ns4_chan_attrs back;
};

enum ns4_status ns4_create_session(struct ns4_mgr *m, uint64_t clientid, uint32_t sequence,
				   uint32_t flags, const struct ns4_chan_attrs *fore,
				   const struct ns4_chan_attrs *back, const char *principal,
				   uint64_t connid, struct ns4_cs_res *res);

struct ns4_seq_args {
	uint8_t sessionid[NS4_SESSIONID_SIZE];
	uint32_t seqid;
	uint32_t slotid;
	uint32_t highest_slotid;
	bool cachethis;
	uint64_t connid;
	/* Checked against the session's limits before the slot is taken, so
	 * that a refused request does not use up its sequence id. */
	uint32_t nops;
	size_t req_len;
};

struct ns4_seq_res {
	uint64_t clientid;
	uint32_t highest_slotid;
	uint32_t target_highest_slotid;
	uint32_t status_flags;
	struct ns4_chan_attrs fore; /* the session's negotiated fore channel */
	/* On a retry, the reply stored for the slot (malloc'd, caller frees). */
	bool replay;
	void *reply;
	size_t reply_len;
};

/* NS4_OK without replay: execute the compound, then call
 * ns4_sequence_done for the same slot whatever the outcome. */
enum ns4_status ns4_sequence(struct ns4_mgr *m, const struct ns4_seq_args *a,
			     struct ns4_seq_res *res);
/* Frees the slot; keeps reply for retries when the request asked for
 * caching. NS4ERR_REP_TOO_BIG_TO_CACHE when it does not fit. */
enum ns4_status ns4_sequence_done(struct ns4_mgr *m, const uint8_t sessionid[NS4_SESSIONID_SIZE],
				  uint32_t slotid, const void *reply, size_t len);
enum ns4_status ns4_destroy_session(struct ns4_mgr *m, const uint8_t sessionid[NS4_SESSIONID_SIZE]);
enum ns4_status ns4_bind_conn(struct ns4_mgr *m, const uint8_t sessionid[NS4_SESSIONID_SIZE],
			      uint64_t connid, uint32_t dir, uint32_t *dir_out);
/* The transport lost a connection: unbind it everywhere. */
void ns4_conn_closed(struct ns4_mgr *m, uint64_t connid);

/* ---- stateids ---- */

bool ns4_stateid_is_anon(const struct ns4_stateid *s);
bool ns4_stateid_is_bypass(const struct ns4_stateid *s);
bool ns4_stateid_is_current(const struct ns4_stateid *s);

struct ns4_io_check {
	struct ns4_stateid stateid; /* the current stateid already substituted */
	uint64_t fileid;
	uint64_t clientid; /* 4.1: the session's client; 0 for 4.0 */
	uint32_t access;   /* NS4_ACCESS_READ or _WRITE the op needs; 0: none */
};
/* For READ/WRITE/SETATTR(size): NS4ERR_OPENMODE when the open lacks the
 * access, NS4ERR_LOCKED when a special stateid meets a deny reservation. */
enum ns4_status ns4_check_stateid(struct ns4_mgr *m, const struct ns4_io_check *c);
enum ns4_status ns4_test_stateid(struct ns4_mgr *m, uint64_t clientid, const struct ns4_stateid *s);
enum ns4_status ns4_free_stateid(struct ns4_mgr *m, uint64_t clientid, const struct ns4_stateid *s);

/* ---- 4.0 owner seqids ----
 * OPEN, OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE, LOCK and LOCKU from 4.0
 * clients: ns4_seq_*_begin, then (unless replay or error) the operation,
 * then ns4_seq_end with its status and encoded reply. 4.1 clients skip
 * this: their seqids are ignored (RFC 8881 §8.13). */
struct ns4_seqctx {
	uint64_t owner_id; /* 0: a new open-owner, resolved by name at end */
	uint64_t clientid;
	const void *owner;
	uint32_t owner_len;
	uint32_t seqid;
	bool replay;
	void *reply; /* on replay: malloc'd copy, caller frees */
	size_t reply_len;
};
enum ns4_status ns4_seq_open_begin(struct ns4_mgr *m, uint64_t clientid, const void *owner,
				   uint32_t owner_len, uint32_t seqid, struct ns4_seqctx *ctx);
/* For ops naming the owner by a stateid: an open stateid for CLOSE,
 * OPEN_CONFIRM, OPEN_DOWNGRADE and LOCK with a new lock-owner; a lock
 * stateid for LOCKU and LOCK with an existing one. */
enum ns4_status ns4_seq_stateid_begin(struct ns4_mgr *m, const struct ns4_stateid *s,
				      uint32_t seqid, bool open_confirm, struct ns4_seqctx *ctx);
void ns4_seq_end(struct ns4_mgr *m, const struct ns4_seqctx *ctx, enum ns4_status status,
		 const void *reply, size_t len);

/* ---- opens and share reservations ---- */

struct ns4_open_args {
	uint64_t clientid;
	const void *owner;
	uint32_t owner_len;
	uint64_t fileid;
	uint32_t access;
	uint32_t deny;
	bool reclaim; /* CLAIM_PREVIOUS */
};
struct ns4_open_res {
	struct ns4_stateid stateid;
	bool confirm;	 /* 4.0: OPEN4_RESULT_CONFIRM, OPEN_CONFIRM needed */
	bool first_open; /* the file had no open before this one */
};
enum ns4_status ns4_open(struct ns4_mgr *m, const struct ns4_open_args *a,
			 struct ns4_open_res *res);
enum ns4_status ns4_open_confirm(struct ns4_mgr *m, const struct ns4_stateid *s, uint64_t fileid,
				 struct ns4_stateid *out);
enum ns4_status ns4_open_downgrade(struct ns4_mgr *m, uint64_t clientid,
				   const struct ns4_stateid *s, uint64_t fileid, uint32_t access,
				   uint32_t deny, struct ns4_stateid *out);
/* last_close: no opens remain on the file (drop it if unlinked). */
enum ns4_status ns4_close(struct ns4_mgr *m, uint64_t clientid, const struct ns4_stateid *s,
			  uint64_t fileid, struct ns4_stateid *out, bool *last_close);

/* ---- byte-range locks ---- */

struct ns4_denied {
	uint64_t offset;
	uint64_t length;
	int type;
	uint64_t clientid;
	uint8_t owner[NS4_OWNER_MAX];
	uint32_t owner_len;
};

struct ns4_lock_args {
	uint64_t clientid; /* 4.1: the session's client; 0 for 4.0 */
	uint64_t fileid;
	int type;
	bool reclaim;
	uint64_t offset;
	uint64_t length;
	bool new_lock_owner;
	struct ns4_stateid stateid; /* open stateid if new_lock_owner, else lock */
	uint32_t lock_seqid;	    /* new_lock_owner: the lock-owner's first seqid */
	const void *owner;	    /* new_lock_owner: lock_owner4 */
	uint32_t owner_len;
};
enum ns4_status ns4_lock(struct ns4_mgr *m, const struct ns4_lock_args *a, struct ns4_stateid *out,
			 struct ns4_denied *denied);
enum ns4_status ns4_locku(struct ns4_mgr *m, uint64_t clientid, const struct ns4_stateid *s,
			  uint64_t fileid, uint64_t offset, uint64_t length,
			  struct ns4_stateid *out);
enum ns4_status ns4_lockt(struct ns4_mgr *m, uint64_t clientid, const void *owner,
			  uint32_t owner_len, uint64_t fileid, int type, uint64_t offset,
			  uint64_t length, struct ns4_denied *denied);
enum ns4_status ns4_release_lockowner(struct ns4_mgr *m, uint64_t clientid, const void *owner,
				      uint32_t owner_len);

#endif
