/* Unit tests of gateway/nfs4_state*.c, nfs4_session.c and nfs4_lock.c: the
 * NFSv4 state manager, driven with an injected clock. */
#include "nfs4_state.h"
#include "cunit_main.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCH 100
#define LEASE 90

static uint64_t fake_now = 1000;

static uint64_t fake_clock(void *arg)
{
	return fake_now;
}

/* ---- persistence hooks backed by a tiny array ---- */

static struct ns4_client_rec saved[8];
static int nsaved, nremoved;

static int save_rec(void *arg, const struct ns4_client_rec *rec)
{
	if (nsaved < 8)
		saved[nsaved++] = *rec;
	return 0;
}

static int remove_rec(void *arg, const struct ns4_client_rec *rec)
{
	nremoved++;
	return 0;
}

static int load_recs(void *arg, void (*add)(void *, const struct ns4_client_rec *), void *ctx)
{
	for (int i = 0; i < nsaved; i++)
		add(ctx, &saved[i]);
	return 0;
}

static const struct ns4_hooks hooks = {NULL, save_rec, remove_rec, load_recs};

static struct ns4_mgr *mk_cfg(uint32_t epoch, const struct ns4_hooks *h, uint32_t max_locks)
{
	struct ns4_config cfg = {.boot_epoch = epoch,
				 .lease_secs = LEASE,
				 .clock = fake_clock,
				 .hooks = h,
				 .max_locks_per_file = max_locks};
	struct ns4_mgr *m = NULL;
	CU_ASSERT_FATAL(ns4_create(&cfg, &m) == 0);
	return m;
}

static struct ns4_mgr *mk(void)
{
	fake_now = 1000;
	return mk_cfg(EPOCH, NULL, 0);
}

static struct ns4_client_id cid(const char *name, uint8_t v)
{
	struct ns4_client_id c = {name, (uint32_t)strlen(name), {v}};
	return c;
}

/* A confirmed 4.0 client. */
static uint64_t c40(struct ns4_mgr *m, const char *name, uint8_t v)
{
	struct ns4_client_id c = cid(name, v);
	uint64_t id = 0;
	uint8_t conf[8];
	CU_ASSERT_EQUAL(ns4_setclientid(m, &c, "p", &id, conf), NS4_OK);
	CU_ASSERT_EQUAL(ns4_setclientid_confirm(m, id, conf, "p"), NS4_OK);
	return id;
}

static const struct ns4_chan_attrs chan = {0, 1 << 20, 1 << 20, 8192, 32, 200};

/* A confirmed 4.1 client with one session, before RECLAIM_COMPLETE. */
static uint64_t c41_reclaiming(struct ns4_mgr *m, const char *name, uint8_t sid[16])
{
	struct ns4_client_id c = cid(name, 1);
	struct ns4_exid_res er;
	struct ns4_cs_res cr;
	CU_ASSERT_EQUAL(ns4_exchange_id(m, &c, "p", 0, &er), NS4_OK);
	CU_ASSERT_EQUAL(
	    ns4_create_session(m, er.clientid, er.sequenceid, 0, &chan, &chan, "p", 7, &cr),
	    NS4_OK);
	if (sid)
		memcpy(sid, cr.sessionid, 16);
	return er.clientid;
}

/* The same with nothing to reclaim: it may take new state at once. */
static uint64_t c41(struct ns4_mgr *m, const char *name, uint8_t sid[16])
{
	uint64_t id = c41_reclaiming(m, name, sid);
	CU_ASSERT_EQUAL(ns4_reclaim_complete(m, id), NS4_OK);
	return id;
}

/* An open by owner name with a 4.1 client (no OPEN_CONFIRM dance). */
static enum ns4_status do_open(struct ns4_mgr *m, uint64_t clid, const char *owner, uint64_t file,
			       uint32_t acc, uint32_t deny, struct ns4_stateid *sid)
{
	struct ns4_open_args a = {clid, owner, (uint32_t)strlen(owner), file, acc, deny, false};
	struct ns4_open_res r;
	enum ns4_status st = ns4_open(m, &a, &r);
	if (st == NS4_OK && sid)
		*sid = r.stateid;
	return st;
}

/* ---- SETCLIENTID / SETCLIENTID_CONFIRM ---- */

static void test_setclientid_cases(void)
{
	struct ns4_mgr *m = mk();
	struct ns4_client_id c = cid("host-a", 1);
	uint64_t id, id2;
	uint8_t conf[8], conf2[8], bad[8] = {9, 9, 9};

	CU_ASSERT_EQUAL(ns4_setclientid(m, &c, "p", &id, conf), NS4_OK);
	CU_ASSERT_EQUAL((uint32_t)(id >> 32), EPOCH);
	/* Unconfirmed: RENEW does not know it yet. */
	CU_ASSERT_EQUAL(ns4_renew(m, id), NS4ERR_STALE_CLIENTID);
	CU_ASSERT_EQUAL(ns4_setclientid_confirm(m, id, bad, "p"), NS4ERR_STALE_CLIENTID);
	CU_ASSERT_EQUAL(ns4_setclientid_confirm(m, id, conf, "q"), NS4ERR_CLID_INUSE);
	CU_ASSERT_EQUAL(ns4_setclientid_confirm(m, id, conf, "p"), NS4_OK);
	/* Lost reply: the confirm is sent again. */
	CU_ASSERT_EQUAL(ns4_setclientid_confirm(m, id, conf, "p"), NS4_OK);
	CU_ASSERT_EQUAL(ns4_renew(m, id), NS4_OK);

	/* Another principal may take over a name that holds no state (a
	 * fresh unconfirmed record, superseded just below). */
	CU_ASSERT_EQUAL(ns4_setclientid(m, &c, "q", &id2, conf2), NS4_OK);

	/* Callback update: same verifier keeps the client id. */
	CU_ASSERT_EQUAL(ns4_setclientid(m, &c, "p", &id2, conf2), NS4_OK);
	CU_ASSERT_EQUAL(id2, id);
	CU_ASSERT_EQUAL(ns4_setclientid_confirm(m, id, conf2, "p"), NS4_OK);
	CU_ASSERT_EQUAL(ns4_renew(m, id), NS4_OK);

	/* Client reboot: new verifier, new id; the old state goes at confirm. */
	struct ns4_stateid sid;
	struct ns4_open_args oa = {id, "o", 1, 55, NS4_ACCESS_READ, 0, false};
	struct ns4_open_res orr;
	CU_ASSERT_EQUAL(ns4_open(m, &oa, &orr), NS4_OK);
	sid = orr.stateid;
	c.verifier[0] = 2;
	CU_ASSERT_EQUAL(ns4_setclientid(m, &c, "p", &id2, conf2), NS4_OK);
	CU_ASSERT_NOT_EQUAL(id2, id);
	CU_ASSERT_EQUAL(ns4_renew(m, id), NS4_OK); /* until confirmed */
	CU_ASSERT_EQUAL(ns4_setclientid_confirm(m, id2, conf2, "p"), NS4_OK);
	CU_ASSERT_EQUAL(ns4_renew(m, id), NS4ERR_EXPIRED);
	CU_ASSERT_EQUAL(ns4_renew(m, id2), NS4_OK);
	/* The rebooted client's old stateids are expired, not unknown. */
	CU_ASSERT_EQUAL(ns4_test_stateid(m, 0, &sid), NS4ERR_EXPIRED);
	uint64_t *files;
	size_t n = ns4_take_released(m, &files);
	CU_ASSERT(n == 1 && files[0] == 55);
	free(files);

	/* Ids from another boot are stale. */
	CU_ASSERT_EQUAL(ns4_renew(m, (uint64_t)(EPOCH - 1) << 32 | 1), NS4ERR_STALE_CLIENTID);
	CU_ASSERT_EQUAL(ns4_setclientid_confirm(m, (uint64_t)(EPOCH - 1) << 32 | 1, conf, "p"),
			NS4ERR_STALE_CLIENTID);
	ns4_destroy(m);
}

static void test_setclientid_unconfirmed_replaced(void)
{
	struct ns4_mgr *m = mk();
	struct ns4_client_id c = cid("host-b", 1);
	uint64_t id1, id2;
	uint8_t conf1[8], conf2[8];
	CU_ASSERT_EQUAL(ns4_setclientid(m, &c, "p", &id1, conf1), NS4_OK);
	CU_ASSERT_EQUAL(ns4_setclientid(m, &c, "q", &id2, conf2), NS4_OK);
	CU_ASSERT_NOT_EQUAL(id1, id2);
	CU_ASSERT_EQUAL(ns4_setclientid_confirm(m, id1, conf1, "p"), NS4ERR_STALE_CLIENTID);
	CU_ASSERT_EQUAL(ns4_setclientid_confirm(m, id2, conf2, "q"), NS4_OK);
	/* An expired record with no state may be taken over by another principal. */
	fake_now += LEASE + 1;
	CU_ASSERT_EQUAL(ns4_setclientid(m, &c, "p", &id1, conf1), NS4_OK);
	ns4_destroy(m);
}

/* ---- EXCHANGE_ID / DESTROY_CLIENTID ---- */

static void test_exchange_id_cases(void)
{
	struct ns4_mgr *m = mk();
	struct ns4_client_id c = cid("linux-41", 1);
	struct ns4_exid_res r, r2;
	struct ns4_cs_res cr;

	CU_ASSERT_EQUAL(ns4_exchange_id(m, &c, "p", NS4_EXID_CONFIRMED_R, &r), NS4ERR_INVAL);
	CU_ASSERT_EQUAL(ns4_exchange_id(m, &c, "p", NS4_EXID_UPD_CONFIRMED, &r), NS4ERR_NOENT);
	CU_ASSERT_EQUAL(ns4_exchange_id(m, &c, "p", 0, &r), NS4_OK);
	CU_ASSERT_EQUAL(r.sequenceid, 1);
	CU_ASSERT_FALSE(r.flags & NS4_EXID_CONFIRMED_R);
	/* Unconfirmed records are replaced by a new id. */
	CU_ASSERT_EQUAL(ns4_exchange_id(m, &c, "p", 0, &r2), NS4_OK);
	CU_ASSERT_NOT_EQUAL(r.clientid, r2.clientid);
	CU_ASSERT_EQUAL(ns4_create_session(m, r.clientid, 1, 0, &chan, &chan, "p", 1, &cr),
			NS4ERR_STALE_CLIENTID);
	CU_ASSERT_EQUAL(ns4_create_session(m, r2.clientid, 1, 0, &chan, &chan, "q", 1, &cr),
			NS4ERR_CLID_INUSE);
	CU_ASSERT_EQUAL(ns4_create_session(m, r2.clientid, 1, 0, &chan, &chan, "p", 1, &cr),
			NS4_OK);
	uint64_t id = r2.clientid;
	/* Before RECLAIM_COMPLETE a 4.1 client may not take new state. */
	struct ns4_stateid early;
	CU_ASSERT_EQUAL(do_open(m, id, "o", 9, NS4_ACCESS_READ, 0, &early), NS4ERR_GRACE);
	CU_ASSERT_EQUAL(ns4_reclaim_complete(m, id), NS4_OK);

	/* Confirmed, same verifier and principal: same id, CONFIRMED_R. */
	CU_ASSERT_EQUAL(ns4_exchange_id(m, &c, "p", 0, &r), NS4_OK);
	CU_ASSERT_EQUAL(r.clientid, id);
	CU_ASSERT(r.flags & NS4_EXID_CONFIRMED_R);
	CU_ASSERT_EQUAL(r.sequenceid, 2);
	CU_ASSERT_EQUAL(ns4_exchange_id(m, &c, "p", NS4_EXID_UPD_CONFIRMED, &r), NS4_OK);
	CU_ASSERT_EQUAL(r.clientid, id);
	CU_ASSERT_EQUAL(ns4_exchange_id(m, &c, "q", NS4_EXID_UPD_CONFIRMED, &r), NS4ERR_PERM);
	CU_ASSERT_EQUAL(ns4_exchange_id(m, &c, "q", 0, &r), NS4ERR_CLID_INUSE);
	struct ns4_client_id c2 = cid("linux-41", 2);
	CU_ASSERT_EQUAL(ns4_exchange_id(m, &c2, "p", NS4_EXID_UPD_CONFIRMED, &r), NS4ERR_NOT_SAME);

	/* Client restart: a new id; the old one lives until CREATE_SESSION. */
	struct ns4_stateid sid;
	CU_ASSERT_EQUAL(do_open(m, id, "o", 9, NS4_ACCESS_READ, 0, &sid), NS4_OK);
	CU_ASSERT_EQUAL(ns4_exchange_id(m, &c2, "p", 0, &r), NS4_OK);
	CU_ASSERT_NOT_EQUAL(r.clientid, id);
	CU_ASSERT_EQUAL(ns4_renew(m, id), NS4_OK);
	CU_ASSERT_EQUAL(
	    ns4_create_session(m, r.clientid, r.sequenceid, 0, &chan, &chan, "p", 1, &cr), NS4_OK);
	CU_ASSERT_EQUAL(ns4_renew(m, id), NS4ERR_STALE_CLIENTID);
	CU_ASSERT_EQUAL(ns4_test_stateid(m, 0, &sid), NS4ERR_BAD_STATEID);
	id = r.clientid;
	CU_ASSERT_EQUAL(ns4_reclaim_complete(m, id), NS4_OK);

	/* DESTROY_CLIENTID refuses while sessions or state remain. */
	CU_ASSERT_EQUAL(ns4_destroy_clientid(m, id), NS4ERR_CLIENTID_BUSY);
	CU_ASSERT_EQUAL(ns4_destroy_session(m, cr.sessionid), NS4_OK);
	CU_ASSERT_EQUAL(do_open(m, id, "o", 9, NS4_ACCESS_READ, 0, &sid), NS4_OK);
	CU_ASSERT_EQUAL(ns4_destroy_clientid(m, id), NS4ERR_CLIENTID_BUSY);
	CU_ASSERT_EQUAL(ns4_close(m, id, &sid, 9, &sid, NULL), NS4_OK);
	CU_ASSERT_EQUAL(ns4_destroy_clientid(m, id), NS4_OK);
	CU_ASSERT_EQUAL(ns4_destroy_clientid(m, id), NS4ERR_STALE_CLIENTID);
	ns4_destroy(m);
}

/* ---- sessions ---- */

static void test_create_session_sequence(void)
{
	struct ns4_mgr *m = mk();
	struct ns4_client_id c = cid("cs", 1);
	struct ns4_exid_res r;
	struct ns4_cs_res cr, cr2;
	CU_ASSERT_EQUAL(ns4_exchange_id(m, &c, "p", 0, &r), NS4_OK);
	CU_ASSERT_EQUAL(ns4_create_session(m, r.clientid, 5, 0, &chan, &chan, "p", 1, &cr),
			NS4ERR_SEQ_MISORDERED);
	CU_ASSERT_EQUAL(ns4_create_session(m, r.clientid, 1, 0, &chan, &chan, "p", 1, &cr), NS4_OK);
	CU_ASSERT_EQUAL(cr.fore.maxrequests, 64);
	CU_ASSERT_EQUAL(cr.fore.maxresponsesize_cached, 4096);
	CU_ASSERT_EQUAL(cr.fore.maxoperations, 16);
	CU_ASSERT_EQUAL(cr.fore.maxrequestsize, 1 << 20);
	/* A retransmission gets the cached answer, not a second session. */
	CU_ASSERT_EQUAL(ns4_create_session(m, r.clientid, 1, 0, &chan, &chan, "p", 1, &cr2),
			NS4_OK);
	CU_ASSERT_EQUAL(memcmp(cr.sessionid, cr2.sessionid, 16), 0);
	CU_ASSERT_EQUAL(ns4_create_session(m, r.clientid, 3, 0, &chan, &chan, "p", 1, &cr2),
			NS4ERR_SEQ_MISORDERED);
	CU_ASSERT_EQUAL(ns4_create_session(m, r.clientid, 2, 0, &chan, &chan, "p", 1, &cr2),
			NS4_OK);
	CU_ASSERT_NOT_EQUAL(memcmp(cr.sessionid, cr2.sessionid, 16), 0);
	ns4_destroy(m);
}

static enum ns4_status seq(struct ns4_mgr *m, const uint8_t *sid, uint32_t slot, uint32_t seqid,
			   bool cache, struct ns4_seq_res *res)
{
	struct ns4_seq_args a = {.seqid = seqid, .slotid = slot, .cachethis = cache, .connid = 7};
	memcpy(a.sessionid, sid, 16);
	return ns4_sequence(m, &a, res);
}

static void test_sequence_slots(void)
{
	struct ns4_mgr *m = mk();
	uint8_t sid[16];
	struct ns4_seq_res res;
	uint64_t id = c41(m, "seq", sid);

	CU_ASSERT_EQUAL(seq(m, sid, 64, 1, true, &res), NS4ERR_BADSLOT);
	CU_ASSERT_EQUAL(seq(m, sid, 0, 0, true, &res), NS4ERR_SEQ_MISORDERED);
	CU_ASSERT_EQUAL(seq(m, sid, 0, 2, true, &res), NS4ERR_SEQ_MISORDERED);
	CU_ASSERT_EQUAL(seq(m, sid, 0, 1, true, &res), NS4_OK);
	CU_ASSERT_FALSE(res.replay);
	CU_ASSERT_EQUAL(res.clientid, id);
	CU_ASSERT_EQUAL(res.highest_slotid, 63);
	CU_ASSERT_EQUAL(res.target_highest_slotid, 63);
	/* In progress: the retry waits, anything else is misordered. */
	CU_ASSERT_EQUAL(seq(m, sid, 0, 1, true, &res), NS4ERR_DELAY);
	CU_ASSERT_EQUAL(seq(m, sid, 0, 2, true, &res), NS4ERR_SEQ_MISORDERED);
	CU_ASSERT_EQUAL(ns4_sequence_done(m, sid, 0, "reply-1", 7), NS4_OK);
	CU_ASSERT_EQUAL(seq(m, sid, 0, 1, true, &res), NS4_OK);
	CU_ASSERT(res.replay && res.reply_len == 7 && memcmp(res.reply, "reply-1", 7) == 0);
	free(res.reply);
	CU_ASSERT_EQUAL(seq(m, sid, 0, 3, true, &res), NS4ERR_SEQ_MISORDERED);
	/* Uncached request: its retry cannot be answered. */
	CU_ASSERT_EQUAL(seq(m, sid, 0, 2, false, &res), NS4_OK);
	CU_ASSERT_EQUAL(ns4_sequence_done(m, sid, 0, "r2", 2), NS4_OK);
	CU_ASSERT_EQUAL(seq(m, sid, 0, 2, false, &res), NS4ERR_RETRY_UNCACHED_REP);
	/* Slots are independent; too big to cache is reported. */
	CU_ASSERT_EQUAL(seq(m, sid, 5, 1, true, &res), NS4_OK);
	char big[5000] = {0};
	CU_ASSERT_EQUAL(ns4_sequence_done(m, sid, 5, big, sizeof(big)),
			NS4ERR_REP_TOO_BIG_TO_CACHE);
	CU_ASSERT_EQUAL(seq(m, sid, 5, 1, true, &res), NS4ERR_RETRY_UNCACHED_REP);

	uint32_t dir = 0;
	CU_ASSERT_EQUAL(ns4_bind_conn(m, sid, 99, NS4_CDFS_FORE_OR_BOTH, &dir), NS4_OK);
	CU_ASSERT_EQUAL(dir, NS4_CDFS_BOTH);
	CU_ASSERT_EQUAL(ns4_bind_conn(m, sid, 99, 5, &dir), NS4ERR_INVAL);
	ns4_conn_closed(m, 99);

	CU_ASSERT_EQUAL(ns4_destroy_session(m, sid), NS4_OK);
	CU_ASSERT_EQUAL(seq(m, sid, 0, 3, true, &res), NS4ERR_BADSESSION);
	CU_ASSERT_EQUAL(ns4_destroy_session(m, sid), NS4ERR_BADSESSION);
	ns4_destroy(m);
}

/* ---- stateids ---- */

static void test_stateid_validation(void)
{
	struct ns4_mgr *m = mk();
	uint64_t id = c41(m, "sv", NULL);
	uint64_t other = c41(m, "sv2", NULL);
	struct ns4_stateid s1, s2, x;
	CU_ASSERT_EQUAL(do_open(m, id, "o", 1, NS4_ACCESS_READ, 0, &s1), NS4_OK);
	CU_ASSERT_EQUAL(s1.seqid, 1);
	CU_ASSERT_EQUAL(do_open(m, id, "o", 1, NS4_ACCESS_WRITE, 0, &s2), NS4_OK);
	CU_ASSERT_EQUAL(s2.seqid, 2);
	CU_ASSERT_EQUAL(memcmp(s1.other, s2.other, 12), 0);

	CU_ASSERT_EQUAL(ns4_test_stateid(m, id, &s2), NS4_OK);
	CU_ASSERT_EQUAL(ns4_test_stateid(m, id, &s1), NS4ERR_OLD_STATEID);
	x = s2;
	x.seqid = 3;
	CU_ASSERT_EQUAL(ns4_test_stateid(m, id, &x), NS4ERR_BAD_STATEID);
	x.seqid = 0; /* 4.1: the current one */
	CU_ASSERT_EQUAL(ns4_test_stateid(m, id, &x), NS4_OK);
	CU_ASSERT_EQUAL(ns4_test_stateid(m, other, &s2), NS4ERR_BAD_STATEID);
	x = s2;
	x.other[11] ^= 0x55;
	CU_ASSERT_EQUAL(ns4_test_stateid(m, id, &x), NS4ERR_BAD_STATEID);
	x = s2;
	x.other[3] ^= 1; /* another boot */
	CU_ASSERT_EQUAL(ns4_test_stateid(m, id, &x), NS4ERR_STALE_STATEID);

	struct ns4_stateid anon = {0}, cur = {1, {0}}, bypass;
	bypass.seqid = UINT32_MAX;
	memset(bypass.other, 0xff, 12);
	CU_ASSERT(ns4_stateid_is_anon(&anon) && ns4_stateid_is_current(&cur) &&
		  ns4_stateid_is_bypass(&bypass));
	CU_ASSERT_EQUAL(ns4_test_stateid(m, id, &anon), NS4ERR_BAD_STATEID);
	CU_ASSERT_EQUAL(ns4_test_stateid(m, id, &cur), NS4ERR_BAD_STATEID);

	struct ns4_io_check io = {s2, 1, id, NS4_ACCESS_WRITE};
	CU_ASSERT_EQUAL(ns4_check_stateid(m, &io), NS4_OK);
	io.fileid = 2;
	CU_ASSERT_EQUAL(ns4_check_stateid(m, &io), NS4ERR_BAD_STATEID);
	/* Downgrade to read: writes need another open now. */
	CU_ASSERT_EQUAL(ns4_open_downgrade(m, id, &s2, 1, NS4_ACCESS_READ, 0, &s2), NS4_OK);
	io = (struct ns4_io_check){s2, 1, id, NS4_ACCESS_WRITE};
	CU_ASSERT_EQUAL(ns4_check_stateid(m, &io), NS4ERR_OPENMODE);
	io.access = NS4_ACCESS_READ;
	CU_ASSERT_EQUAL(ns4_check_stateid(m, &io), NS4_OK);

	/* Special stateids meet deny reservations. */
	struct ns4_stateid s3;
	CU_ASSERT_EQUAL(do_open(m, other, "d", 3, NS4_ACCESS_READ, NS4_DENY_WRITE, &s3), NS4_OK);
	io = (struct ns4_io_check){anon, 3, 0, NS4_ACCESS_WRITE};
	CU_ASSERT_EQUAL(ns4_check_stateid(m, &io), NS4ERR_LOCKED);
	io.access = NS4_ACCESS_READ;
	CU_ASSERT_EQUAL(ns4_check_stateid(m, &io), NS4_OK);
	io = (struct ns4_io_check){bypass, 3, 0, NS4_ACCESS_READ};
	CU_ASSERT_EQUAL(ns4_check_stateid(m, &io), NS4_OK);
	/* Writing with the all-ones stateid counts as anonymous. */
	io.access = NS4_ACCESS_WRITE;
	CU_ASSERT_EQUAL(ns4_check_stateid(m, &io), NS4ERR_LOCKED);

	/* FREE_STATEID: not while open. */
	CU_ASSERT_EQUAL(ns4_free_stateid(m, id, &s2), NS4ERR_LOCKS_HELD);
	ns4_destroy(m);
}

static void test_stateid_expired(void)
{
	struct ns4_mgr *m = mk();
	uint64_t id = c40(m, "ex", 1);
	uint64_t keep = c40(m, "keep", 1);
	struct ns4_stateid s;
	struct ns4_open_args a = {id, "o", 1, 77, NS4_ACCESS_BOTH, 0, false};
	struct ns4_open_res r;
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4_OK);
	s = r.stateid;
	a.clientid = keep;
	a.fileid = 78;
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4_OK);
	fake_now += 60;
	CU_ASSERT_EQUAL(ns4_renew(m, keep), NS4_OK);
	CU_ASSERT_EQUAL(ns4_expire(m), 0);
	fake_now += 31;
	CU_ASSERT_EQUAL(ns4_expire(m), 1);
	CU_ASSERT_EQUAL(ns4_renew(m, id), NS4ERR_EXPIRED);
	CU_ASSERT_EQUAL(ns4_test_stateid(m, 0, &s), NS4ERR_EXPIRED);
	CU_ASSERT_EQUAL(ns4_renew(m, keep), NS4_OK);
	uint64_t *files;
	size_t n = ns4_take_released(m, &files);
	CU_ASSERT(n == 1 && files[0] == 77);
	free(files);
	/* A 4.1 client with a request in progress does not expire. */
	uint8_t sid[16];
	struct ns4_seq_res sr;
	c41(m, "busy", sid);
	CU_ASSERT_EQUAL(seq(m, sid, 0, 1, false, &sr), NS4_OK);
	fake_now += 1000;
	CU_ASSERT_EQUAL(ns4_expire(m), 1); /* only "keep" */
	CU_ASSERT_EQUAL(ns4_sequence_done(m, sid, 0, "", 0), NS4_OK);
	fake_now += LEASE;
	CU_ASSERT_EQUAL(ns4_expire(m), 1);
	ns4_destroy(m);
}

/* ---- share reservations ---- */

static void test_share_reservations(void)
{
	struct ns4_mgr *m = mk();
	uint64_t id = c41(m, "sh", NULL);
	uint64_t id2 = c41(m, "sh2", NULL);
	struct ns4_stateid a, b;
	bool last;

	CU_ASSERT_EQUAL(do_open(m, id, "A", 1, 0, 0, NULL), NS4ERR_INVAL);
	CU_ASSERT_EQUAL(do_open(m, id, "A", 1, NS4_ACCESS_READ, 4, NULL), NS4ERR_INVAL);
	CU_ASSERT_EQUAL(do_open(m, id, "A", 1, NS4_ACCESS_READ, NS4_DENY_WRITE, &a), NS4_OK);
	CU_ASSERT_EQUAL(do_open(m, id2, "B", 1, NS4_ACCESS_WRITE, 0, NULL), NS4ERR_SHARE_DENIED);
	CU_ASSERT_EQUAL(do_open(m, id, "B", 1, NS4_ACCESS_WRITE, 0, NULL), NS4ERR_SHARE_DENIED);
	CU_ASSERT_EQUAL(do_open(m, id2, "B", 1, NS4_ACCESS_READ, NS4_DENY_READ, NULL),
			NS4ERR_SHARE_DENIED);
	CU_ASSERT_EQUAL(do_open(m, id2, "B", 1, NS4_ACCESS_READ, 0, &b), NS4_OK);
	/* B's read blocks deny-read; A's own deny-write refuses A write access
	 * (RFC 7530 §9.9, as pynfs OPEN25 checks). */
	CU_ASSERT_EQUAL(do_open(m, id, "A", 1, NS4_ACCESS_READ, NS4_DENY_READ, NULL),
			NS4ERR_SHARE_DENIED);
	CU_ASSERT_EQUAL(do_open(m, id, "A", 1, NS4_ACCESS_BOTH, NS4_DENY_WRITE, NULL),
			NS4ERR_SHARE_DENIED);
	CU_ASSERT_EQUAL(do_open(m, id, "A", 1, NS4_ACCESS_READ, NS4_DENY_NONE, &a), NS4_OK);
	CU_ASSERT_EQUAL(a.seqid, 2);

	/* Downgrades: only to subsets that some OPEN used. */
	CU_ASSERT_EQUAL(ns4_open_downgrade(m, id, &a, 1, NS4_ACCESS_WRITE, 0, &a), NS4ERR_INVAL);
	CU_ASSERT_EQUAL(ns4_open_downgrade(m, id, &a, 1, NS4_ACCESS_READ, NS4_DENY_BOTH, &a),
			NS4ERR_INVAL);
	CU_ASSERT_EQUAL(ns4_open_downgrade(m, id, &a, 1, NS4_ACCESS_READ, NS4_DENY_READ, &a),
			NS4ERR_INVAL);
	CU_ASSERT_EQUAL(ns4_open_downgrade(m, id, &a, 1, NS4_ACCESS_READ, NS4_DENY_WRITE, &a),
			NS4_OK);
	CU_ASSERT_EQUAL(a.seqid, 3);
	CU_ASSERT_EQUAL(ns4_open_downgrade(m, id, &a, 1, NS4_ACCESS_BOTH, NS4_DENY_WRITE, &a),
			NS4ERR_INVAL);

	CU_ASSERT_EQUAL(ns4_close(m, id, &a, 1, &a, &last), NS4_OK);
	CU_ASSERT_FALSE(last);
	CU_ASSERT_EQUAL(do_open(m, id, "A", 1, NS4_ACCESS_WRITE, 0, NULL), NS4_OK);
	CU_ASSERT_EQUAL(ns4_close(m, id2, &b, 1, &b, &last), NS4_OK);
	CU_ASSERT_FALSE(last);
	CU_ASSERT_EQUAL(ns4_close(m, id2, &b, 1, &b, &last), NS4ERR_BAD_STATEID);
	ns4_destroy(m);
}

/* ---- byte-range locks ---- */

static enum ns4_status lock_new(struct ns4_mgr *m, uint64_t id, const struct ns4_stateid *open,
				const char *lo, int type, uint64_t off, uint64_t len,
				struct ns4_stateid *out, struct ns4_denied *d)
{
	struct ns4_lock_args a = {.clientid = id,
				  .fileid = 1,
				  .type = type,
				  .offset = off,
				  .length = len,
				  .new_lock_owner = true,
				  .stateid = *open,
				  .owner = lo,
				  .owner_len = (uint32_t)strlen(lo)};
	return ns4_lock(m, &a, out, d);
}

static enum ns4_status lock_more(struct ns4_mgr *m, uint64_t id, struct ns4_stateid *ls, int type,
				 uint64_t off, uint64_t len, struct ns4_denied *d)
{
	struct ns4_lock_args a = {.clientid = id,
				  .fileid = 1,
				  .type = type,
				  .offset = off,
				  .length = len,
				  .stateid = *ls};
	return ns4_lock(m, &a, ls, d);
}

/* LOCKT by an outsider: the held range around off, or length 0. */
static struct ns4_denied probe(struct ns4_mgr *m, uint64_t id, int type, uint64_t off)
{
	struct ns4_denied d = {0};
	if (ns4_lockt(m, id, "probe", 5, 1, type, off, 1, &d) != NS4ERR_DENIED)
		d.length = 0;
	return d;
}

static void test_locks(void)
{
	struct ns4_mgr *m = mk();
	uint64_t id = c41(m, "lk", NULL);
	uint64_t id2 = c41(m, "lk2", NULL);
	struct ns4_stateid o1, o2, l1, l2;
	struct ns4_denied d;
	CU_ASSERT_EQUAL(do_open(m, id, "o1", 1, NS4_ACCESS_BOTH, 0, &o1), NS4_OK);
	CU_ASSERT_EQUAL(do_open(m, id2, "o2", 1, NS4_ACCESS_READ, 0, &o2), NS4_OK);

	CU_ASSERT_EQUAL(lock_new(m, id, &o1, "L1", NS4_WRITE_LT, 0, 0, &l1, &d), NS4ERR_INVAL);
	CU_ASSERT_EQUAL(lock_new(m, id, &o1, "L1", NS4_WRITE_LT, 10, UINT64_MAX - 5, &l1, &d),
			NS4ERR_INVAL);
	CU_ASSERT_EQUAL(lock_new(m, id2, &o2, "L2", NS4_WRITE_LT, 0, 10, &l2, &d), NS4ERR_OPENMODE);
	CU_ASSERT_EQUAL(lock_new(m, id, &o1, "L1", NS4_WRITE_LT, 0, 10, &l1, &d), NS4_OK);
	CU_ASSERT_EQUAL(l1.seqid, 1);
	CU_ASSERT_EQUAL(lock_new(m, id2, &o2, "L2", NS4_READ_LT, 5, 10, &l2, &d), NS4ERR_DENIED);
	CU_ASSERT(d.offset == 0 && d.length == 10 && d.type == NS4_WRITE_LT && d.clientid == id &&
		  d.owner_len == 2 && memcmp(d.owner, "L1", 2) == 0);
	/* Adjacent same-type ranges merge. */
	CU_ASSERT_EQUAL(lock_more(m, id, &l1, NS4_WRITE_LT, 10, 10, &d), NS4_OK);
	CU_ASSERT_EQUAL(l1.seqid, 2);
	d = probe(m, id2, NS4_READ_LT, 15);
	CU_ASSERT(d.offset == 0 && d.length == 20);
	/* Unlocking the middle splits it. */
	CU_ASSERT_EQUAL(ns4_locku(m, id, &l1, 1, 5, 5, &l1), NS4_OK);
	d = probe(m, id2, NS4_READ_LT, 2);
	CU_ASSERT(d.offset == 0 && d.length == 5);
	d = probe(m, id2, NS4_READ_LT, 12);
	CU_ASSERT(d.offset == 10 && d.length == 10);
	CU_ASSERT_EQUAL(probe(m, id2, NS4_READ_LT, 7).length, 0);
	/* Downgrade part to read: readers may share it, writers may not. */
	CU_ASSERT_EQUAL(lock_more(m, id, &l1, NS4_READ_LT, 10, 5, &d), NS4_OK);
	CU_ASSERT_EQUAL(probe(m, id2, NS4_READ_LT, 12).length, 0);
	d = probe(m, id2, NS4_WRITE_LT, 12);
	CU_ASSERT(d.offset == 10 && d.length == 5 && d.type == NS4_READ_LT);
	CU_ASSERT_EQUAL(lock_new(m, id2, &o2, "L2", NS4_READ_LT, 12, 1, &l2, &d), NS4_OK);
	/* Upgrade blocked by the other reader, then allowed once it goes. */
	CU_ASSERT_EQUAL(lock_more(m, id, &l1, NS4_WRITE_LT, 10, 5, &d), NS4ERR_DENIED);
	CU_ASSERT(d.offset == 12 && d.length == 1 && d.clientid == id2);
	CU_ASSERT_EQUAL(ns4_release_lockowner(m, id2, "L2", 2), NS4ERR_LOCKS_HELD);
	struct ns4_stateid o2c;
	bool last;
	CU_ASSERT_EQUAL(ns4_close(m, id2, &o2, 1, &o2c, &last), NS4ERR_LOCKS_HELD);
	CU_ASSERT_EQUAL(ns4_locku(m, id2, &l2, 1, 0, NS4_LEN_EOF, &l2), NS4_OK);
	CU_ASSERT_EQUAL(ns4_release_lockowner(m, id2, "L2", 2), NS4_OK);
	CU_ASSERT_EQUAL(ns4_test_stateid(m, id2, &l2), NS4ERR_BAD_STATEID);
	CU_ASSERT_EQUAL(lock_more(m, id, &l1, NS4_WRITE_LT, 10, 5, &d), NS4_OK);
	d = probe(m, id2, NS4_READ_LT, 12);
	CU_ASSERT(d.offset == 10 && d.length == 10 && d.type == NS4_WRITE_LT);
	/* To end of file, and LOCKT by the holder itself sees no conflict. */
	CU_ASSERT_EQUAL(lock_more(m, id, &l1, NS4_WRITE_LT, 100, NS4_LEN_EOF, &d), NS4_OK);
	d = probe(m, id2, NS4_READ_LT, UINT64_MAX - 1);
	CU_ASSERT(d.offset == 100 && d.length == NS4_LEN_EOF);
	CU_ASSERT_EQUAL(ns4_lockt(m, id, "L1", 2, 1, NS4_WRITE_LT, 0, NS4_LEN_EOF, &d), NS4_OK);
	/* Old lock stateid seqid; FREE_STATEID with locks held. */
	struct ns4_stateid old = l1;
	old.seqid--;
	CU_ASSERT_EQUAL(ns4_locku(m, id, &old, 1, 0, 1, &old), NS4ERR_OLD_STATEID);
	CU_ASSERT_EQUAL(ns4_free_stateid(m, id, &l1), NS4ERR_LOCKS_HELD);
	CU_ASSERT_EQUAL(ns4_locku(m, id, &l1, 1, 0, NS4_LEN_EOF, &l1), NS4_OK);
	CU_ASSERT_EQUAL(ns4_free_stateid(m, id, &l1), NS4_OK);
	CU_ASSERT_EQUAL(ns4_close(m, id, &o1, 1, &o1, &last), NS4_OK);
	CU_ASSERT_EQUAL(ns4_close(m, id2, &o2, 1, &o2, &last), NS4_OK);
	CU_ASSERT_TRUE(last);
	ns4_destroy(m);
}

static void test_lock_limit(void)
{
	fake_now = 1000;
	struct ns4_mgr *m = mk_cfg(EPOCH, NULL, 4);
	uint64_t id = c41(m, "lim", NULL);
	struct ns4_stateid o, l;
	struct ns4_denied d;
	CU_ASSERT_EQUAL(do_open(m, id, "o", 1, NS4_ACCESS_BOTH, 0, &o), NS4_OK);
	CU_ASSERT_EQUAL(lock_new(m, id, &o, "L", NS4_WRITE_LT, 0, 1, &l, &d), NS4_OK);
	CU_ASSERT_EQUAL(lock_more(m, id, &l, NS4_WRITE_LT, 2, 1, &d), NS4_OK);
	CU_ASSERT_EQUAL(lock_more(m, id, &l, NS4_WRITE_LT, 4, 1, &d), NS4_OK);
	CU_ASSERT_EQUAL(lock_more(m, id, &l, NS4_WRITE_LT, 6, 1, &d), NS4_OK);
	CU_ASSERT_EQUAL(lock_more(m, id, &l, NS4_WRITE_LT, 8, 1, &d), NS4ERR_DENIED);
	CU_ASSERT(d.offset == 8 && d.length == 1 && d.owner_len == 0);
	/* Splitting a lock needs room too. */
	CU_ASSERT_EQUAL(lock_more(m, id, &l, NS4_READ_LT, 0, 1, &d), NS4_OK);
	CU_ASSERT_EQUAL(ns4_locku(m, id, &l, 1, 0, 1, &l), NS4_OK);
	CU_ASSERT_EQUAL(lock_more(m, id, &l, NS4_WRITE_LT, 0, 2, &d), NS4_OK);
	CU_ASSERT_EQUAL(ns4_locku(m, id, &l, 1, 0, 1, &l), NS4_OK);
	/* [1,3) [4,5) [6,7): merging costs nothing, filling gaps is fine. */
	CU_ASSERT_EQUAL(lock_more(m, id, &l, NS4_WRITE_LT, 3, 1, &d), NS4_OK);
	CU_ASSERT_EQUAL(lock_more(m, id, &l, NS4_WRITE_LT, 5, 1, &d), NS4_OK);
	CU_ASSERT_EQUAL(lock_more(m, id, &l, NS4_READ_LT, 2, 1, &d), NS4_OK);
	CU_ASSERT_EQUAL(lock_more(m, id, &l, NS4_READ_LT, 8, 1, &d), NS4_OK);
	/* Now [1,2)W [2,3)R [3,7)W [8,9)R: full. */
	uint64_t id2 = c41(m, "lim2", NULL);
	d = probe(m, id2, NS4_WRITE_LT, 2);
	CU_ASSERT(d.offset == 2 && d.length == 1 && d.type == NS4_READ_LT);
	d = probe(m, id2, NS4_READ_LT, 5);
	CU_ASSERT(d.offset == 3 && d.length == 4);
	CU_ASSERT_EQUAL(lock_more(m, id, &l, NS4_READ_LT, 4, 1, &d), NS4ERR_DENIED);
	CU_ASSERT_EQUAL(ns4_locku(m, id, &l, 1, 5, 1, &l), NS4ERR_LOCK_RANGE);
	CU_ASSERT_EQUAL(ns4_locku(m, id, &l, 1, 6, 1, &l), NS4_OK);
	ns4_destroy(m);
}

/* ---- grace ---- */

static void test_grace(void)
{
	fake_now = 1000;
	nsaved = nremoved = 0;
	struct ns4_mgr *m = mk_cfg(EPOCH, &hooks, 0);
	CU_ASSERT_FALSE(ns4_in_grace(m)); /* nothing saved: no grace */
	uint64_t id = c40(m, "old40", 1);
	uint8_t sid[16];
	c41(m, "old41", sid);
	CU_ASSERT_EQUAL(nsaved, 2);
	ns4_destroy(m);

	/* Restart: both records come back and may reclaim. */
	fake_now = 5000;
	m = mk_cfg(EPOCH + 1, &hooks, 0);
	CU_ASSERT_TRUE(ns4_in_grace(m));
	CU_ASSERT_EQUAL(ns4_renew(m, id), NS4ERR_STALE_CLIENTID);
	uint64_t id40 = c40(m, "old40", 2);
	uint64_t id41 = c41_reclaiming(m, "old41", sid);
	uint64_t fresh = c40(m, "fresh", 1);
	struct ns4_open_args a = {id40, "o", 1, 1, NS4_ACCESS_BOTH, 0, false};
	struct ns4_open_res r;
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4ERR_GRACE);
	a.reclaim = true;
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4_OK);
	a.clientid = fresh;
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4ERR_NO_GRACE);
	struct ns4_denied d;
	CU_ASSERT_EQUAL(ns4_lockt(m, id40, "x", 1, 1, NS4_READ_LT, 0, 1, &d), NS4ERR_GRACE);

	/* 4.1 reclaim, then RECLAIM_COMPLETE. */
	struct ns4_stateid s41;
	a = (struct ns4_open_args){id41, "o", 1, 2, NS4_ACCESS_BOTH, 0, true};
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4_OK);
	s41 = r.stateid;
	struct ns4_lock_args la = {.clientid = id41,
				   .fileid = 2,
				   .type = NS4_WRITE_LT,
				   .reclaim = false,
				   .offset = 0,
				   .length = 1,
				   .new_lock_owner = true,
				   .stateid = s41,
				   .owner = "L",
				   .owner_len = 1};
	struct ns4_stateid ls;
	CU_ASSERT_EQUAL(ns4_lock(m, &la, &ls, &d), NS4ERR_GRACE);
	la.reclaim = true;
	CU_ASSERT_EQUAL(ns4_lock(m, &la, &ls, &d), NS4_OK);
	CU_ASSERT_EQUAL(ns4_reclaim_complete(m, id41), NS4_OK);
	CU_ASSERT_EQUAL(ns4_reclaim_complete(m, id41), NS4ERR_COMPLETE_ALREADY);
	a.fileid = 3;
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4ERR_NO_GRACE);
	CU_ASSERT_TRUE(ns4_in_grace(m)); /* the 4.0 client may still reclaim */

	fake_now += LEASE;
	CU_ASSERT_FALSE(ns4_in_grace(m));
	a = (struct ns4_open_args){id40, "o", 1, 4, NS4_ACCESS_BOTH, 0, true};
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4ERR_NO_GRACE);
	a.reclaim = false;
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4_OK);
	fake_now += LEASE + 1;
	CU_ASSERT_EQUAL(ns4_expire(m), 3);
	CU_ASSERT_EQUAL(nremoved, 3);
	ns4_destroy(m);
}

static void test_grace_ends_on_reclaim_complete(void)
{
	fake_now = 1000;
	nsaved = 0;
	struct ns4_mgr *m = mk_cfg(EPOCH, &hooks, 0);
	c41(m, "only41", NULL);
	ns4_destroy(m);
	m = mk_cfg(EPOCH + 1, &hooks, 0);
	CU_ASSERT_TRUE(ns4_in_grace(m));
	uint64_t id = c41_reclaiming(m, "only41", NULL);
	CU_ASSERT_EQUAL(ns4_reclaim_complete(m, id), NS4_OK);
	CU_ASSERT_FALSE(ns4_in_grace(m));
	CU_ASSERT_EQUAL(do_open(m, id, "o", 1, NS4_ACCESS_READ, 0, NULL), NS4_OK);
	ns4_destroy(m);
}

/* ---- 4.0 owner seqids ---- */

static void test_seqid_replay(void)
{
	struct ns4_mgr *m = mk();
	uint64_t id = c40(m, "sq", 1);
	struct ns4_seqctx ctx;
	struct ns4_open_args a = {id, "own", 3, 1, NS4_ACCESS_READ, 0, false};
	struct ns4_open_res r;

	CU_ASSERT_EQUAL(ns4_seq_open_begin(m, id, "own", 3, 10, &ctx), NS4_OK);
	CU_ASSERT_FALSE(ctx.replay);
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4_OK);
	CU_ASSERT_TRUE(r.confirm);
	ns4_seq_end(m, &ctx, NS4_OK, "open-10", 7);
	struct ns4_stateid s = r.stateid, c;

	/* Unconfirmed: other ops refuse the stateid. */
	CU_ASSERT_EQUAL(ns4_seq_stateid_begin(m, &s, 11, false, &ctx), NS4ERR_BAD_STATEID);
	CU_ASSERT_EQUAL(ns4_seq_stateid_begin(m, &s, 12, true, &ctx), NS4ERR_BAD_SEQID);
	CU_ASSERT_EQUAL(ns4_seq_stateid_begin(m, &s, 10, true, &ctx), NS4_OK);
	CU_ASSERT(ctx.replay && ctx.reply_len == 7 && memcmp(ctx.reply, "open-10", 7) == 0);
	free(ctx.reply);
	CU_ASSERT_EQUAL(ns4_seq_stateid_begin(m, &s, 11, true, &ctx), NS4_OK);
	CU_ASSERT_FALSE(ctx.replay);
	/* While it runs, a duplicate waits. */
	struct ns4_seqctx dup;
	CU_ASSERT_EQUAL(ns4_seq_stateid_begin(m, &s, 11, true, &dup), NS4ERR_DELAY);
	CU_ASSERT_EQUAL(ns4_open_confirm(m, &s, 1, &c), NS4_OK);
	CU_ASSERT_EQUAL(c.seqid, 2);
	ns4_seq_end(m, &ctx, NS4_OK, "conf-11", 7);
	CU_ASSERT_EQUAL(ns4_open_confirm(m, &c, 1, &c), NS4ERR_BAD_STATEID);

	/* An error that does not bump: seqid 12 still expected. */
	CU_ASSERT_EQUAL(ns4_seq_stateid_begin(m, &c, 12, false, &ctx), NS4_OK);
	ns4_seq_end(m, &ctx, NS4ERR_BAD_STATEID, "x", 1);
	CU_ASSERT_EQUAL(ns4_seq_stateid_begin(m, &c, 12, false, &ctx), NS4_OK);
	bool last;
	struct ns4_stateid closed;
	CU_ASSERT_EQUAL(ns4_close(m, 0, &c, 1, &closed, &last), NS4_OK);
	CU_ASSERT_TRUE(last);
	ns4_seq_end(m, &ctx, NS4_OK, "close-12", 8);
	/* The CLOSE replays even though the stateid is gone. */
	CU_ASSERT_EQUAL(ns4_seq_stateid_begin(m, &c, 12, false, &ctx), NS4_OK);
	CU_ASSERT(ctx.replay && ctx.reply_len == 8 && memcmp(ctx.reply, "close-12", 8) == 0);
	free(ctx.reply);
	CU_ASSERT_EQUAL(ns4_test_stateid(m, 0, &closed), NS4ERR_BAD_STATEID);
	/* The owner is confirmed now: its next OPEN needs no confirm. */
	CU_ASSERT_EQUAL(ns4_seq_open_begin(m, id, "own", 3, 14, &ctx), NS4ERR_BAD_SEQID);
	CU_ASSERT_EQUAL(ns4_seq_open_begin(m, id, "own", 3, 13, &ctx), NS4_OK);
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4_OK);
	CU_ASSERT_FALSE(r.confirm);
	ns4_seq_end(m, &ctx, NS4_OK, "open-13", 7);
	ns4_destroy(m);
}

static void test_seqid_unconfirmed_owner_restarts(void)
{
	struct ns4_mgr *m = mk();
	uint64_t id = c40(m, "uc", 1);
	struct ns4_seqctx ctx;
	struct ns4_open_args a = {id, "own", 3, 1, NS4_ACCESS_READ, NS4_DENY_WRITE, false};
	struct ns4_open_res r;
	CU_ASSERT_EQUAL(ns4_seq_open_begin(m, id, "own", 3, 1, &ctx), NS4_OK);
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4_OK);
	ns4_seq_end(m, &ctx, NS4_OK, "r", 1);
	/* Never confirmed; a new OPEN with any seqid starts over. */
	CU_ASSERT_EQUAL(ns4_seq_open_begin(m, id, "own", 3, 50, &ctx), NS4_OK);
	CU_ASSERT_EQUAL(ns4_test_stateid(m, 0, &r.stateid), NS4ERR_BAD_STATEID);
	CU_ASSERT_EQUAL(ns4_open(m, &a, &r), NS4_OK);
	CU_ASSERT_TRUE(r.confirm);
	ns4_seq_end(m, &ctx, NS4_OK, "r", 1);
	ns4_destroy(m);
}

/* ---- threads ---- */

static struct ns4_mgr *tm;

static void *worker(void *arg)
{
	uint64_t id = *(uint64_t *)arg;
	for (int i = 0; i < 300; i++) {
		struct ns4_stateid s;
		bool last;
		if (do_open(tm, id, "t", (uint64_t)(i % 7), NS4_ACCESS_READ, 0, &s) == NS4_OK)
			ns4_close(tm, id, &s, (uint64_t)(i % 7), &s, &last);
		ns4_expire(tm);
	}
	return NULL;
}

static void test_threads(void)
{
	tm = mk();
	pthread_t th[4];
	uint64_t ids[4];
	char name[4][8];
	for (int i = 0; i < 4; i++) {
		snprintf(name[i], sizeof(name[i]), "t%d", i);
		ids[i] = c41(tm, name[i], NULL);
		pthread_create(&th[i], NULL, worker, &ids[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	uint64_t *files;
	size_t n = ns4_take_released(tm, &files);
	CU_ASSERT_EQUAL(n, 0);
	free(files);
	ns4_destroy(tm);
}

int main(void)
{
	static const struct test_case clients[] = {
	    {"setclientid cases", test_setclientid_cases},
	    {"setclientid unconfirmed replaced", test_setclientid_unconfirmed_replaced},
	    {"exchange_id cases", test_exchange_id_cases},
	    {NULL, NULL},
	};
	static const struct test_case sessions[] = {
	    {"create_session sequence", test_create_session_sequence},
	    {"sequence slots", test_sequence_slots},
	    {NULL, NULL},
	};
	static const struct test_case state[] = {
	    {"stateid validation", test_stateid_validation},
	    {"stateid expired", test_stateid_expired},
	    {"share reservations", test_share_reservations},
	    {"locks", test_locks},
	    {"lock limit", test_lock_limit},
	    {"grace", test_grace},
	    {"grace ends on reclaim_complete", test_grace_ends_on_reclaim_complete},
	    {"seqid replay", test_seqid_replay},
	    {"seqid unconfirmed owner", test_seqid_unconfirmed_owner_restarts},
	    {"threads", test_threads},
	    {NULL, NULL},
	};
	if (test_add_suite("nfs4 clients", NULL, NULL, clients) ||
	    test_add_suite("nfs4 sessions", NULL, NULL, sessions) ||
	    test_add_suite("nfs4 state", NULL, NULL, state))
		return 1;
	return test_run_all();
}
