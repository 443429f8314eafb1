/*
 * ONC RPC v2 message layer (RFC 5531) on top of the rpcgen routines of
 * xdr/rpc_msg.x and libtirpc's memory streams.
 *
 * Authentication policy, modelled on Linux nfsd:
 *  - AUTH_NONE is accepted whatever its body: RFC 5531 section 10.1 leaves
 *    that body undefined (nfsd insists on an empty one; we need not).
 *  - AUTH_SYS must decode completely and fill its declared length exactly,
 *    within the RFC limits (machinename<255>, gids<16>), else AUTH_BADCRED.
 *  - A real flavor that we do not accept (AUTH_DH, AUTH_KERB4, RPCSEC_GSS,
 *    AUTH_TLS) gets AUTH_TOOWEAK, as nfsd answers for a flavor the export
 *    does not allow: it tells the client to retry with another flavor.
 *  - Anything else, including AUTH_SHORT (we never hand out a shorthand, so
 *    a client has no business sending one) and garbage numbers, gets
 *    AUTH_BADCRED, as nfsd answers for a flavor it has no handler for.
 *  - The verifier of a call carries nothing for AUTH_NONE and AUTH_SYS, so
 *    its flavor and body are ignored; it must still decode, because the
 *    procedure arguments only start after it.
 */
#include "rpc.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "rpc_msg.h"

/* Flavor numbers from the IANA RPC registry that we know but do not take. */
#define FLAVOR_AUTH_KERB4 4
#define FLAVOR_AUTH_TLS	  7

/*
 * Credential bodies are decoded into caller-owned storage: an XDR routine
 * only allocates when the destination pointer is NULL, so pointing it at
 * these arrays means a hostile header costs no allocation at all. That is
 * only safe while the arrays are as large as the limits in rpc_msg.x.
 */
_Static_assert(sizeof(((struct rpc_auth_sys *)0)->machine) >= RPC5531_MAX_MACHINE_NAME + 1,
	       "machine[] must hold machinename<RPC5531_MAX_MACHINE_NAME> and its NUL");
_Static_assert(RPC_AUTH_SYS_MAX_GIDS >= RPC5531_MAX_GIDS,
	       "gids[] must hold gids<RPC5531_MAX_GIDS>");
_Static_assert(RPC_AUTH_NONE == RPC5531_AUTH_NONE && RPC_AUTH_SYS == RPC5531_AUTH_SYS,
	       "rpc.h flavors must match the wire values");

/* xdrmem streams take a u_int size and replies return their length as an int. */
static u_int stream_len(size_t len)
{
	return len > INT_MAX ? INT_MAX : (u_int)len;
}

static bool decode_opaque_auth(XDR *xdrs, struct rpc5531_opaque_auth *auth,
			       char body[RPC5531_MAX_AUTH_BYTES])
{
	memset(auth, 0, sizeof(*auth));
	auth->body.body_val = body;
	return xdr_rpc5531_opaque_auth(xdrs, auth);
}

static enum rpc_decode_result decode_auth_sys(const struct rpc5531_opaque_auth *cred,
					      struct rpc_auth_sys *sys)
{
	struct rpc5531_authsys_parms parms;
	XDR xdrs;
	bool ok;

	memset(&parms, 0, sizeof(parms));
	parms.machinename = sys->machine;
	parms.gids.gids_val = sys->gids;
	xdrmem_create(&xdrs, cred->body.body_val, cred->body.body_len, XDR_DECODE);
	ok = xdr_rpc5531_authsys_parms(&xdrs, &parms);
	/* Bytes left over mean the declared length lies about the contents. */
	ok = ok && xdr_getpos(&xdrs) == cred->body.body_len;
	xdr_destroy(&xdrs);
	if (!ok) {
		memset(sys, 0, sizeof(*sys));
		return RPC_DECODE_BAD_CRED;
	}
	sys->stamp = parms.stamp;
	sys->uid = parms.uid;
	sys->gid = parms.gid;
	sys->ngids = parms.gids.gids_len;
	return RPC_DECODE_OK;
}

enum rpc_decode_result rpc_decode_call(const uint8_t *msg, size_t len, struct rpc_call_header *hdr)
{
	char cred_body[RPC5531_MAX_AUTH_BYTES], verf_body[RPC5531_MAX_AUTH_BYTES];
	struct rpc5531_opaque_auth cred, verf;
	enum rpc_decode_result res = RPC_DECODE_GARBAGE;
	rpc5531_msg_type mtype;
	u_int xid, rpcvers, prog, vers, proc;
	XDR xdrs;

	memset(hdr, 0, sizeof(*hdr));
	xdrmem_create(&xdrs, (char *)msg, stream_len(len), XDR_DECODE);
	if (!xdr_u_int(&xdrs, &xid))
		goto out;
	hdr->xid = xid;
	if (!xdr_rpc5531_msg_type(&xdrs, &mtype) || mtype != RPC5531_CALL)
		goto out;
	if (!xdr_u_int(&xdrs, &rpcvers))
		goto out;
	/*
	 * Checked before the rest is read: a call of another RPC version
	 * need not look like ours beyond this point, and still deserves an
	 * answer naming the version we speak.
	 */
	if (rpcvers != RPC5531_RPCVERS) {
		res = RPC_DECODE_RPC_MISMATCH;
		goto out;
	}
	if (!xdr_u_int(&xdrs, &prog) || !xdr_u_int(&xdrs, &vers) || !xdr_u_int(&xdrs, &proc))
		goto out;
	hdr->prog = prog;
	hdr->vers = vers;
	hdr->proc = proc;

	/* From here on the call is identified, so a bad one is answered, not dropped. */
	res = RPC_DECODE_BAD_CRED;
	if (!decode_opaque_auth(&xdrs, &cred, cred_body))
		goto out;
	hdr->cred_flavor = cred.flavor;
	if (!decode_opaque_auth(&xdrs, &verf, verf_body))
		goto out;
	hdr->args_offset = xdr_getpos(&xdrs);

	switch (hdr->cred_flavor) {
	case RPC5531_AUTH_NONE:
		res = RPC_DECODE_OK;
		break;
	case RPC5531_AUTH_SYS:
		res = decode_auth_sys(&cred, &hdr->sys);
		break;
	case RPC5531_AUTH_DH:
	case FLAVOR_AUTH_KERB4:
	case RPC5531_RPCSEC_GSS:
	case FLAVOR_AUTH_TLS:
		res = RPC_DECODE_WEAK_AUTH;
		break;
	default:
		res = RPC_DECODE_BAD_CRED;
		break;
	}
out:
	xdr_destroy(&xdrs);
	return res;
}

static void init_reply(struct rpc5531_msg *m, uint32_t xid, rpc5531_reply_stat stat)
{
	memset(m, 0, sizeof(*m));
	m->xid = xid;
	m->body.mtype = RPC5531_REPLY;
	m->body.rpc5531_msg_body_u.rbody.stat = stat;
}

/* An accepted reply always carries an empty AUTH_NONE verifier: we run no flavor that has one. */
static struct rpc5531_reply_data *init_accepted(struct rpc5531_msg *m, uint32_t xid,
						rpc5531_accept_stat stat)
{
	struct rpc5531_accepted_reply *ar;

	init_reply(m, xid, RPC5531_MSG_ACCEPTED);
	ar = &m->body.rpc5531_msg_body_u.rbody.rpc5531_reply_body_u.areply;
	ar->verf.flavor = RPC5531_AUTH_NONE;
	ar->reply_data.stat = stat;
	return &ar->reply_data;
}

static struct rpc5531_rejected_reply *init_rejected(struct rpc5531_msg *m, uint32_t xid,
						    rpc5531_reject_stat stat)
{
	struct rpc5531_rejected_reply *rr;

	init_reply(m, xid, RPC5531_MSG_DENIED);
	rr = &m->body.rpc5531_msg_body_u.rbody.rpc5531_reply_body_u.rreply;
	rr->stat = stat;
	return rr;
}

/*
 * A memory stream fails for one reason on encode, running out of room,
 * unless results break their own XDR limits (a string over its bound), which
 * is as unanswerable as a too-small buffer and reported the same way.
 */
static int encode_reply(uint8_t *buf, size_t cap, struct rpc5531_msg *m, xdrproc_t results,
			void *res)
{
	XDR xdrs;
	bool ok;
	int len;

	xdrmem_create(&xdrs, (char *)buf, stream_len(cap), XDR_ENCODE);
	ok = xdr_rpc5531_msg(&xdrs, m);
	if (ok && results)
		ok = results(&xdrs, res);
	len = (int)xdr_getpos(&xdrs);
	xdr_destroy(&xdrs);
	return ok ? len : -ENOSPC;
}

static int encode_accepted(uint8_t *buf, size_t cap, uint32_t xid, rpc5531_accept_stat stat)
{
	struct rpc5531_msg m;

	init_accepted(&m, xid, stat);
	return encode_reply(buf, cap, &m, NULL, NULL);
}

int rpc_encode_success_header(uint8_t *buf, size_t cap, uint32_t xid)
{
	return encode_accepted(buf, cap, xid, RPC5531_SUCCESS);
}

int rpc_encode_prog_unavail(uint8_t *buf, size_t cap, uint32_t xid)
{
	return encode_accepted(buf, cap, xid, RPC5531_PROG_UNAVAIL);
}

int rpc_encode_prog_mismatch(uint8_t *buf, size_t cap, uint32_t xid, uint32_t low, uint32_t high)
{
	struct rpc5531_msg m;
	struct rpc5531_reply_data *rd = init_accepted(&m, xid, RPC5531_PROG_MISMATCH);

	rd->rpc5531_reply_data_u.mismatch_info.low = low;
	rd->rpc5531_reply_data_u.mismatch_info.high = high;
	return encode_reply(buf, cap, &m, NULL, NULL);
}

int rpc_encode_proc_unavail(uint8_t *buf, size_t cap, uint32_t xid)
{
	return encode_accepted(buf, cap, xid, RPC5531_PROC_UNAVAIL);
}

int rpc_encode_garbage_args(uint8_t *buf, size_t cap, uint32_t xid)
{
	return encode_accepted(buf, cap, xid, RPC5531_GARBAGE_ARGS);
}

int rpc_encode_system_err(uint8_t *buf, size_t cap, uint32_t xid)
{
	return encode_accepted(buf, cap, xid, RPC5531_SYSTEM_ERR);
}

int rpc_encode_rpc_mismatch(uint8_t *buf, size_t cap, uint32_t xid)
{
	struct rpc5531_msg m;
	struct rpc5531_rejected_reply *rr = init_rejected(&m, xid, RPC5531_RPC_MISMATCH);

	rr->rpc5531_rejected_reply_u.mismatch_info.low = RPC5531_RPCVERS;
	rr->rpc5531_rejected_reply_u.mismatch_info.high = RPC5531_RPCVERS;
	return encode_reply(buf, cap, &m, NULL, NULL);
}

int rpc_encode_auth_error(uint8_t *buf, size_t cap, uint32_t xid, uint32_t why)
{
	struct rpc5531_msg m;
	struct rpc5531_rejected_reply *rr = init_rejected(&m, xid, RPC5531_AUTH_ERROR);

	rr->rpc5531_rejected_reply_u.why = (rpc5531_auth_stat)why;
	return encode_reply(buf, cap, &m, NULL, NULL);
}

int rpc_encode_decode_error(uint8_t *buf, size_t cap, uint32_t xid, enum rpc_decode_result res)
{
	switch (res) {
	case RPC_DECODE_GARBAGE:
		return 0;
	case RPC_DECODE_RPC_MISMATCH:
		return rpc_encode_rpc_mismatch(buf, cap, xid);
	case RPC_DECODE_BAD_CRED:
		return rpc_encode_auth_error(buf, cap, xid, RPC5531_AUTH_BADCRED);
	case RPC_DECODE_WEAK_AUTH:
		return rpc_encode_auth_error(buf, cap, xid, RPC5531_AUTH_TOOWEAK);
	case RPC_DECODE_OK:
		break;
	}
	return -EINVAL;
}

bool rpc_decode_args(const uint8_t *msg, size_t len, const struct rpc_call_header *hdr,
		     xdrproc_t proc, void *args)
{
	XDR xdrs;
	bool ok;

	if (hdr->args_offset > len)
		return false;
	xdrmem_create(&xdrs, (char *)msg + hdr->args_offset, stream_len(len - hdr->args_offset),
		      XDR_DECODE);
	ok = proc(&xdrs, args);
	xdr_destroy(&xdrs);
	/* Whatever the routine allocated before it failed is reachable from args. */
	if (!ok)
		xdr_free(proc, args);
	return ok;
}

void rpc_free_args(xdrproc_t proc, void *args)
{
	xdr_free(proc, args);
}

int rpc_encode_results(uint8_t *buf, size_t cap, uint32_t xid, xdrproc_t proc, void *results)
{
	struct rpc5531_msg m;

	init_accepted(&m, xid, RPC5531_SUCCESS);
	return encode_reply(buf, cap, &m, proc, results);
}
