/* The NFSv4 COMPOUND procedure: decodes the operations one at a time (so
 * an unknown one is answered with NFS4ERR_OP_ILLEGAL instead of failing
 * the whole request), runs each as soon as it is decoded, stops at the
 * first failure, and enforces the minor versions' rules: which operations
 * exist, SEQUENCE first in 4.1 and later, and the session reply cache. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nfs3_proc.h" /* xdr_nothing */
#include "nfs4_proc.h"

/* An accepted RPC reply's header with an AUTH_NONE verifier. */
#define RPC_REPLY_HEADER 24

enum {
	OPF_V40_ONLY = 1, /* NOTSUPP in 4.1 and later (RFC 8881 §18) */
	OPF_SOLO = 2,	  /* 4.1: allowed without SEQUENCE, as the only operation */
};

struct op_desc {
	const char *name;
	nfs4_op_fn fn; /* NULL: NFS4ERR_NOTSUPP */
	uint8_t first_minor;
	uint8_t flags;
};

static nfsstat4 op_sequence(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res);

#define OP(num, fn, minor, flags) [num] = {#num + 3, fn, minor, flags}

static const struct op_desc ops[OP_REMOVEXATTR + 1] = {
    OP(OP_ACCESS, nfs4_op_access, 0, 0),
    OP(OP_CLOSE, nfs4_op_close, 0, 0),
    OP(OP_COMMIT, nfs4_op_commit, 0, 0),
    OP(OP_CREATE, nfs4_op_create, 0, 0),
    OP(OP_DELEGPURGE, NULL, 0, 0),
    OP(OP_DELEGRETURN, nfs4_op_delegreturn, 0, 0),
    OP(OP_GETATTR, nfs4_op_getattr, 0, 0),
    OP(OP_GETFH, nfs4_op_getfh, 0, 0),
    OP(OP_LINK, nfs4_op_link, 0, 0),
    OP(OP_LOCK, nfs4_op_lock, 0, 0),
    OP(OP_LOCKT, nfs4_op_lockt, 0, 0),
    OP(OP_LOCKU, nfs4_op_locku, 0, 0),
    OP(OP_LOOKUP, nfs4_op_lookup, 0, 0),
    OP(OP_LOOKUPP, nfs4_op_lookupp, 0, 0),
    OP(OP_NVERIFY, nfs4_op_nverify, 0, 0),
    OP(OP_OPEN, nfs4_op_open, 0, 0),
    OP(OP_OPENATTR, NULL, 0, 0),
    OP(OP_OPEN_CONFIRM, nfs4_op_open_confirm, 0, OPF_V40_ONLY),
    OP(OP_OPEN_DOWNGRADE, nfs4_op_open_downgrade, 0, 0),
    OP(OP_PUTFH, nfs4_op_putfh, 0, 0),
    OP(OP_PUTPUBFH, nfs4_op_putpubfh, 0, 0),
    OP(OP_PUTROOTFH, nfs4_op_putrootfh, 0, 0),
    OP(OP_READ, nfs4_op_read, 0, 0),
    OP(OP_READDIR, nfs4_op_readdir, 0, 0),
    OP(OP_READLINK, nfs4_op_readlink, 0, 0),
    OP(OP_REMOVE, nfs4_op_remove, 0, 0),
    OP(OP_RENAME, nfs4_op_rename, 0, 0),
    OP(OP_RENEW, nfs4_op_renew, 0, OPF_V40_ONLY),
    OP(OP_RESTOREFH, nfs4_op_restorefh, 0, 0),
    OP(OP_SAVEFH, nfs4_op_savefh, 0, 0),
    OP(OP_SECINFO, nfs4_op_secinfo, 0, 0),
    OP(OP_SETATTR, nfs4_op_setattr, 0, 0),
    OP(OP_SETCLIENTID, nfs4_op_setclientid, 0, OPF_V40_ONLY),
    OP(OP_SETCLIENTID_CONFIRM, nfs4_op_setclientid_confirm, 0, OPF_V40_ONLY),
    OP(OP_VERIFY, nfs4_op_verify, 0, 0),
    OP(OP_WRITE, nfs4_op_write, 0, 0),
    OP(OP_RELEASE_LOCKOWNER, nfs4_op_release_lockowner, 0, OPF_V40_ONLY),
    OP(OP_BACKCHANNEL_CTL, nfs4_op_backchannel_ctl, 1, 0),
    OP(OP_BIND_CONN_TO_SESSION, nfs4_op_bind_conn_to_session, 1, OPF_SOLO),
    OP(OP_EXCHANGE_ID, nfs4_op_exchange_id, 1, OPF_SOLO),
    OP(OP_CREATE_SESSION, nfs4_op_create_session, 1, OPF_SOLO),
    OP(OP_DESTROY_SESSION, nfs4_op_destroy_session, 1, OPF_SOLO),
    OP(OP_FREE_STATEID, nfs4_op_free_stateid, 1, 0),
    OP(OP_GET_DIR_DELEGATION, NULL, 1, 0),
    OP(OP_GETDEVICEINFO, NULL, 1, 0),
    OP(OP_GETDEVICELIST, NULL, 1, 0),
    OP(OP_LAYOUTCOMMIT, NULL, 1, 0),
    OP(OP_LAYOUTGET, NULL, 1, 0),
    OP(OP_LAYOUTRETURN, NULL, 1, 0),
    OP(OP_SECINFO_NO_NAME, nfs4_op_secinfo_no_name, 1, 0),
    OP(OP_SEQUENCE, op_sequence, 1, 0),
    OP(OP_SET_SSV, NULL, 1, 0),
    OP(OP_TEST_STATEID, nfs4_op_test_stateid, 1, 0),
    OP(OP_WANT_DELEGATION, NULL, 1, 0),
    OP(OP_DESTROY_CLIENTID, nfs4_op_destroy_clientid, 1, OPF_SOLO),
    OP(OP_RECLAIM_COMPLETE, nfs4_op_reclaim_complete, 1, 0),
    OP(OP_ALLOCATE, nfs4_op_allocate, 2, 0),
    OP(OP_COPY, NULL, 2, 0),
    OP(OP_COPY_NOTIFY, NULL, 2, 0),
    OP(OP_DEALLOCATE, nfs4_op_deallocate, 2, 0),
    OP(OP_IO_ADVISE, NULL, 2, 0),
    OP(OP_LAYOUTERROR, NULL, 2, 0),
    OP(OP_LAYOUTSTATS, NULL, 2, 0),
    OP(OP_OFFLOAD_CANCEL, NULL, 2, 0),
    OP(OP_OFFLOAD_STATUS, NULL, 2, 0),
    OP(OP_READ_PLUS, nfs4_op_read_plus, 2, 0),
    OP(OP_SEEK, nfs4_op_seek, 2, 0),
    OP(OP_WRITE_SAME, NULL, 2, 0),
    OP(OP_CLONE, NULL, 2, 0),
    OP(OP_GETXATTR, nfs4_op_getxattr, 2, 0),
    OP(OP_SETXATTR, nfs4_op_setxattr, 2, 0),
    OP(OP_LISTXATTRS, nfs4_op_listxattrs, 2, 0),
    OP(OP_REMOVEXATTR, nfs4_op_removexattr, 2, 0),
};

/* The operation numbers a minor version defines (RFC 7530 §16: 3..39;
 * RFC 8881: ..58; RFC 7862: ..71; RFC 8276 extends 4.2 to 75). Anything
 * else is OP_ILLEGAL. */
static const struct op_desc *op_lookup(uint32_t opnum, uint32_t minor)
{
	if (opnum >= sizeof(ops) / sizeof(ops[0]) || !ops[opnum].name)
		return NULL;
	return ops[opnum].first_minor <= minor ? &ops[opnum] : NULL;
}

/* State the compound loop keeps besides the compound context. */
struct run {
	struct nfs4_compound c;
	/* 4.1: a retransmission answered from the slot's cache. */
	void *replay;
	size_t replay_len;
	/* The operations decoded, and why decoding stopped early if it did:
	 * op number ndecoded is OP_ILLEGAL or undecodable (decode_err). */
	nfs_argop4 *args;
	uint32_t ndecoded;
	nfsstat4 decode_err;
	uint32_t bad_opnum;
	/* 4.0: the duplicate request cache entry this compound fills (when
	 * c.keeps_reply). */
	struct drc_key drc_key;
};

static nfsstat4 op_sequence(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	struct run *run = (struct run *)c; /* c is run's first member */
	SEQUENCE4args *a = &arg->nfs_argop4_u.opsequence;
	struct ns4_seq_args sa = {.seqid = a->sa_sequenceid,
				  .slotid = a->sa_slotid,
				  .highest_slotid = a->sa_highest_slotid,
				  .cachethis = a->sa_cachethis,
				  .connid = c->connid,
				  .nops = c->nops,
				  .req_len = c->req->rq->len};
	memcpy(sa.sessionid, a->sa_sessionid, NS4_SESSIONID_SIZE);
	struct ns4_seq_res sr;
	memset(&sr, 0, sizeof(sr));
	enum ns4_status st = ns4_sequence(c->srv->state, &sa, &sr);
	if (st != NS4_OK)
		return (nfsstat4)st;
	if (sr.replay) {
		run->replay = sr.reply;
		run->replay_len = sr.reply_len;
		return NFS4_OK;
	}
	/* From here on the slot is held: finish() releases it. */
	c->in_session = true;
	c->clientid = sr.clientid;
	memcpy(c->sessionid, sa.sessionid, NS4_SESSIONID_SIZE);
	c->slotid = sa.slotid;
	c->cachethis = sa.cachethis;
	c->fore = sr.fore;
	SEQUENCE4resok *ok = &res->nfs_resop4_u.opsequence.SEQUENCE4res_u.sr_resok4;
	memcpy(ok->sr_sessionid, sa.sessionid, NS4_SESSIONID_SIZE);
	ok->sr_sequenceid = sa.seqid;
	ok->sr_slotid = sa.slotid;
	ok->sr_highest_slotid = sr.highest_slotid;
	ok->sr_target_highest_slotid = sr.target_highest_slotid;
	ok->sr_status_flags = sr.status_flags;
	return NFS4_OK;
}

/* The 4.1 rules on where SEQUENCE and the session-less operations go. */
static nfsstat4 placement(const struct run *run, unsigned i, uint32_t opnum,
			  const struct op_desc *d)
{
	if (run->c.minorversion == 0)
		return NFS4_OK;
	if (opnum == OP_SEQUENCE)
		return i == 0 ? NFS4_OK : NFS4ERR_SEQUENCE_POS;
	if (i > 0 && !run->c.in_session)
		return NFS4ERR_OP_NOT_IN_SESSION;
	/* Destroying the session the compound runs in ends it (RFC 8881 §18.37.3). */
	if (i > 0 && opnum == OP_DESTROY_SESSION && i + 1 != run->c.nops)
		return NFS4ERR_NOT_ONLY_OP;
	if (i > 0)
		return NFS4_OK;
	if (!(d->flags & OPF_SOLO))
		return NFS4ERR_OP_NOT_IN_SESSION;
	return run->c.nops > 1 ? NFS4ERR_NOT_ONLY_OP : NFS4_OK;
}

static nfsstat4 run_op(struct run *run, unsigned i, uint32_t opnum, nfs_argop4 *arg,
		       nfs_resop4 *res)
{
	struct nfs4_compound *c = &run->c;
	const struct op_desc *d = op_lookup(opnum, c->minorversion);
	c->opindex = i;
	res->resop = (nfs_opnum4)opnum;
	nfsstat4 st = placement(run, i, opnum, d);
	if (st == NFS4_OK) {
		if (c->minorversion > 0 && (d->flags & OPF_V40_ONLY))
			st = NFS4ERR_NOTSUPP;
		else if (!d->fn)
			st = NFS4ERR_NOTSUPP;
		else
			st = d->fn(c, arg, res);
	}
	nfs4_set_status(res, st);
	log_debug("NFS4.%u %s xid %08x op %u/%u -> %d", c->minorversion, d->name, c->req->hdr.xid,
		  i + 1, run->c.nops, st);
	return st;
}

/* Decodes the operations up to the first that is illegal in this minor
 * version or does not decode: that one is answered, after the ones before
 * it ran, with OP_ILLEGAL or BADXDR. */
static void decode_ops(struct run *run, XDR *x)
{
	for (uint32_t i = 0; i < run->c.nops; i++) {
		u_int pos = xdr_getpos(x);
		uint32_t opnum;
		if (!xdr_uint32_t(x, &opnum)) {
			run->decode_err = NFS4ERR_BADXDR;
			run->bad_opnum = OP_ILLEGAL;
			return;
		}
		if (!op_lookup(opnum, run->c.minorversion)) {
			run->decode_err = NFS4ERR_OP_ILLEGAL;
			run->bad_opnum = OP_ILLEGAL;
			return;
		}
		xdr_setpos(x, pos);
		if (!xdr_nfs_argop4(x, &run->args[i])) {
			xdr_free((xdrproc_t)xdr_nfs_argop4, (char *)&run->args[i]);
			memset(&run->args[i], 0, sizeof(run->args[i]));
			run->decode_err = NFS4ERR_BADXDR;
			run->bad_opnum = opnum;
			return;
		}
		run->ndecoded = i + 1;
	}
}

/* Cuts the results after operation i, which fails with st instead. */
static void cut_results(COMPOUND4res *res, unsigned i, nfsstat4 st)
{
	for (unsigned k = i; k < res->resarray.resarray_len; k++) {
		nfs_resop4 *r = &res->resarray.resarray_val[k];
		nfs_opnum4 op = r->resop;
		xdr_free((xdrproc_t)xdr_nfs_resop4, (char *)r);
		memset(r, 0, sizeof(*r));
		r->resop = op;
	}
	nfs4_set_status(&res->resarray.resarray_val[i], st);
	res->resarray.resarray_len = i + 1;
	res->status = st;
}

/* The most a reply may hold, counting the whole RPC reply, and the error
 * for the operation that would pass it. In a session, the session's limits
 * (RFC 8881 §18.36.3): ca_maxresponsesize, or ca_maxresponsesize_cached
 * when the client asked for the reply to be cached. Otherwise one full READ
 * or READDIR and then some: a compound of many READs must not make the
 * gateway hold many megabytes for one request (RESOURCE in 4.0). */
static uint32_t reply_limit(const struct nfs4_compound *c, nfsstat4 *err)
{
	if (!c->in_session) {
		*err = c->minorversion == 0 ? NFS4ERR_RESOURCE : NFS4ERR_REP_TOO_BIG;
		return NFS4_MAX_IO + 64 * 1024;
	}
	*err = NFS4ERR_REP_TOO_BIG;
	if (c->cachethis && c->fore.maxresponsesize_cached < c->fore.maxresponsesize) {
		*err = NFS4ERR_REP_TOO_BIG_TO_CACHE;
		return c->fore.maxresponsesize_cached;
	}
	return c->fore.maxresponsesize;
}

/* The bytes a READ left to send from a file (nfs4_op_read), padded. */
static unsigned long file_bytes(const struct nfs_req *req)
{
	return (req->file.len + 3) & ~(size_t)3;
}

/* Runs the decoded operations until one fails or the reply outgrows its
 * limit (checked as it grows: an operation that changed something has done
 * so, as when a reply is lost); returns the last status. */
static nfsstat4 run_ops(struct run *run, COMPOUND4res *res)
{
	nfsstat4 st = NFS4_OK, err;
	unsigned long size = RPC_REPLY_HEADER + 12 + ((res->tag.compound_tag4_len + 3u) & ~3u);
	for (uint32_t i = 0; i < run->c.nops; i++) {
		nfs_resop4 *r = &res->resarray.resarray_val[i];
		res->resarray.resarray_len = i + 1;
		if (i == run->ndecoded) {
			r->resop = (nfs_opnum4)run->bad_opnum;
			nfs4_set_status(r, run->decode_err);
			return run->decode_err;
		}
		st = run_op(run, i, run->args[i].argop, &run->args[i], r);
		if (run->replay)
			break;
		size += xdr_sizeof((xdrproc_t)xdr_nfs_resop4, r) + file_bytes(run->c.req);
		if (size > reply_limit(&run->c, &err)) {
			nfs_req_drop_file(run->c.req);
			cut_results(res, i, err);
			return err;
		}
		if (st != NFS4_OK)
			break;
	}
	return st;
}

/* 4.0 has no sessions: a retransmitted CREATE, REMOVE, RENAME, LINK or
 * SETATTR must be answered from the duplicate request cache, as for v3
 * (OPEN, CLOSE and LOCK replay through their owners' seqids). */
static bool wants_drc(const struct run *run)
{
	if (run->c.minorversion != 0 || !run->c.req->gw->drc)
		return false;
	for (uint32_t i = 0; i < run->ndecoded; i++) {
		switch (run->args[i].argop) {
		case OP_CREATE:
		case OP_REMOVE:
		case OP_RENAME:
		case OP_LINK:
		case OP_SETATTR:
			return true;
		default:
			break;
		}
	}
	return false;
}

static void reply_error(struct nfs_req *req, int (*enc)(uint8_t *, size_t, uint32_t))
{
	uint8_t buf[128];
	int len = enc(buf, sizeof(buf), req->hdr.xid);
	if (len > 0)
		rpc_request_reply(req->rq, buf, (size_t)len);
	else
		rpc_request_drop(req->rq);
}

/* The reply to send: room for the record mark, the RPC header, the body. */
struct reply_room {
	uint8_t *room;
	uint8_t *msg;  /* room + RPC_REPLY_HEADROOM */
	uint8_t *body; /* msg + RPC_SUCCESS_HEADER_LEN */
};

static int reply_room_alloc(struct reply_room *r, const struct nfs_req *req, size_t body_len)
{
	r->room = malloc(RPC_REPLY_HEADROOM + RPC_SUCCESS_HEADER_LEN + body_len);
	if (!r->room)
		return -ENOMEM;
	r->msg = r->room + RPC_REPLY_HEADROOM;
	r->body = r->msg + RPC_SUCCESS_HEADER_LEN;
	int hl = rpc_encode_success_header(r->msg, RPC_SUCCESS_HEADER_LEN, req->hdr.xid);
	if (hl != RPC_SUCCESS_HEADER_LEN) {
		free(r->room);
		return -EPROTO;
	}
	return 0;
}

/* Sends the reply whose body (an encoded COMPOUND4res of len bytes) is in
 * place; records it in the duplicate request cache when the run asked for it. */
static void send_room(struct run *run, struct reply_room *r, size_t len)
{
	struct nfs_req *req = run->c.req;
	size_t total = RPC_SUCCESS_HEADER_LEN + len;
	if (run->c.keeps_reply)
		drc_finish(req->gw->drc, &run->drc_key, r->msg, total);
	rpc_request_reply_adopt(req->rq, r->room, total);
}

/* The same for a reply whose last operation is a READ with its data in a
 * file: encoded with no data, the reply ends with the data's length word,
 * which gets the real length, and the data follows from the file. Such a
 * reply is never cached (nfs4_op_read). */
static void send_room_file(struct run *run, struct reply_room *r, size_t len)
{
	struct nfs_req *req = run->c.req;
	uint32_t word = htonl((uint32_t)req->file.len);
	memcpy(r->body + len - 4, &word, 4);
	rpc_request_reply_file(req->rq, r->room, RPC_SUCCESS_HEADER_LEN + len, &req->file);
	req->file.len = 0;
}

static void fail_room(struct run *run)
{
	struct nfs_req *req = run->c.req;
	if (run->c.keeps_reply)
		drc_abandon(req->gw->drc, &run->drc_key);
	reply_error(req, rpc_encode_system_err);
}

/* Sends a body already encoded (a replayed reply). */
static void reply_body(struct run *run, const void *body, size_t len)
{
	struct reply_room r;
	if (reply_room_alloc(&r, run->c.req, len) < 0) {
		fail_room(run);
		return;
	}
	memcpy(r.body, body, len);
	send_room(run, &r, len);
}

/* Encodes res straight after the RPC header, so READ data is copied once. */
static int encode_res(COMPOUND4res *res, const struct nfs_req *req, struct reply_room *r,
		      size_t *len)
{
	unsigned long n = xdr_sizeof((xdrproc_t)xdr_COMPOUND4res, res);
	if (!n || n > UINT32_MAX - 64)
		return -EMSGSIZE;
	int e = reply_room_alloc(r, req, n);
	if (e < 0)
		return e;
	XDR x;
	xdrmem_create(&x, (char *)r->body, (u_int)n, XDR_ENCODE);
	bool ok = xdr_COMPOUND4res(&x, res);
	u_int used = xdr_getpos(&x);
	xdr_destroy(&x);
	if (!ok) {
		free(r->room);
		return -EMSGSIZE;
	}
	*len = used;
	return 0;
}

static void finish(struct run *run, COMPOUND4res *res)
{
	struct nfs4_compound *c = &run->c;
	struct reply_room room;
	size_t len = 0;
	int r = encode_res(res, c->req, &room, &len);
	if (c->in_session) {
		/* The slot is freed whatever happened; the cache keeps the reply. */
		enum ns4_status st = ns4_sequence_done(c->srv->state, c->sessionid, c->slotid,
						       r == 0 ? room.body : NULL, r == 0 ? len : 0);
		if (st != NS4_OK && c->cachethis)
			log_debug("nfs4: reply of %zu bytes not cached (%d)", len, st);
	}
	if (r < 0) {
		log_warn("nfs4: cannot encode the reply to xid %08x: %s", c->req->hdr.xid,
			 strerror(-r));
		nfs_req_drop_file(c->req);
		fail_room(run);
		return;
	}
	if (c->req->file.len)
		send_room_file(run, &room, len);
	else
		send_room(run, &room, len);
}

static bool view_allowed(const struct export *e, const struct sockaddr *peer, void *arg)
{
	return export_client_allowed(e, peer) && export_port_allowed(e, peer);
}

static void init_run(struct run *run, struct nfs_req *req, uint32_t minor)
{
	struct nfs4_compound *c = &run->c;
	c->req = req;
	c->srv = req->gw->nfs4;
	c->minorversion = minor;
	c->connid = req->rq->conn_id;
	c->view.allowed = view_allowed;
	c->view.peer = (const struct sockaddr *)&req->rq->peer;
	/* AUTH_SYS principals are uid and gid, as Linux's nfsd compares them. */
	if (req->hdr.cred_flavor == RPC_AUTH_SYS)
		snprintf(c->principal, sizeof(c->principal), "sys:%u:%u", req->hdr.sys.uid,
			 req->hdr.sys.gid);
	else
		snprintf(c->principal, sizeof(c->principal), "none");
}

/* Decodes tag, minorversion and the operation count (RFC 7530 §15.2). */
static bool decode_head(XDR *x, COMPOUND4res *res, uint32_t *minor, uint32_t *nops)
{
	return xdr_compound_tag4(x, &res->tag) && xdr_uint32_t(x, minor) && xdr_uint32_t(x, nops);
}

/* Answers from the duplicate request cache when this is a retransmission
 * (true: nothing left to do). */
static bool drc_replayed(struct run *run)
{
	struct rpc_request *rq = run->c.req->rq;
	const struct rpc_call_header *h = &run->c.req->hdr;
	run->drc_key = (struct drc_key){.peer = rq->peer,
					.peer_len = rq->peer_len,
					.xid = h->xid,
					.prog = h->prog,
					.vers = h->vers,
					.proc = h->proc,
					.body = rq->data,
					.body_len = rq->len};
	void *old = NULL;
	size_t old_len = 0;
	switch (drc_begin(run->c.req->gw->drc, &run->drc_key, &old, &old_len)) {
	case DRC_REPLAY:
		rpc_request_reply(rq, old, old_len);
		free(old);
		return true;
	case DRC_IN_PROGRESS:
		rpc_request_drop(rq);
		return true;
	default:
		run->c.keeps_reply = true;
		return false;
	}
}

static void run_free(struct run *run)
{
	for (uint32_t i = 0; i < run->ndecoded; i++)
		xdr_free((xdrproc_t)xdr_nfs_argop4, (char *)&run->args[i]);
	free(run->args);
	free(run);
}

/* Checks the header's limits; the answer goes in res->status. */
static void check_head(struct run *run, COMPOUND4res *res)
{
	uint32_t nops = run->c.nops;
	if (run->c.minorversion > NFS4_MAX_MINOR) {
		res->status = NFS4ERR_MINOR_VERS_MISMATCH;
	} else if (nops > NFS4_MAX_OPS) {
		/* 4.0 has no TOO_MANY_OPS (RFC 7530 §15.2). */
		res->status = run->c.minorversion == 0 ? NFS4ERR_RESOURCE : NFS4ERR_TOO_MANY_OPS;
	} else if (nops > 0) {
		res->resarray.resarray_val = calloc(nops, sizeof(nfs_resop4));
		run->args = calloc(nops, sizeof(nfs_argop4));
		if (!res->resarray.resarray_val || !run->args)
			res->status = NFS4ERR_DELAY;
	}
}

void nfs4_compound(struct nfs_req *req)
{
	const uint8_t *args = req->rq->data + req->hdr.args_offset;
	size_t args_len = req->rq->len - req->hdr.args_offset;
	COMPOUND4res res;
	memset(&res, 0, sizeof(res));
	XDR x;
	xdrmem_create(&x, (char *)args, (u_int)args_len, XDR_DECODE);
	uint32_t minor = 0, nops = 0;
	struct run *run = NULL;
	if (!decode_head(&x, &res, &minor, &nops) || !(run = calloc(1, sizeof(*run)))) {
		xdr_free((xdrproc_t)xdr_compound_tag4, (char *)&res.tag);
		xdr_destroy(&x);
		reply_error(req, run ? rpc_encode_garbage_args : rpc_encode_system_err);
		return;
	}
	init_run(run, req, minor);
	run->c.nops = nops;
	check_head(run, &res);
	if (res.status == NFS4_OK && nops > 0)
		decode_ops(run, &x);
	xdr_destroy(&x);
	bool answered = false;
	if (res.status == NFS4_OK && nops > 0) {
		answered = wants_drc(run) && drc_replayed(run);
		if (!answered)
			res.status = run_ops(run, &res);
	}
	if (answered) {
		/* the duplicate request cache sent the first reply again */
	} else if (run->replay) {
		reply_body(run, run->replay, run->replay_len);
		free(run->replay);
	} else {
		finish(run, &res);
	}
	xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&res);
	run_free(run);
}

static void nfs4_null(struct nfs_req *req, void *args, void *res)
{
}

const struct rpc_proc nfs4_procs[] = {
    {"NULL", (xdrproc_t)xdr_nothing, 1, (xdrproc_t)xdr_nothing, 1, nfs4_null, false, 0, NULL},
    {"COMPOUND", NULL, 0, NULL, 0, NULL, false, 0, nfs4_compound},
};
const unsigned nfs4_nprocs = sizeof(nfs4_procs) / sizeof(nfs4_procs[0]);
