/*
 * ONC RPC message layer: call headers built byte by byte, replies checked
 * against libtirpc's own xdr_replymsg so that our wire format is the
 * standard one and not merely self-consistent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "rpc.h"
#include "rpc_msg.h"

#define NFS_PROG   100003
#define NFS_VERS   3
#define XID	   0x1234abcdu
#define HDR_FIXED  24 /* xid, mtype, rpcvers, prog, vers, proc */
#define FLAVOR_BAD 0xdeadbeefu

/* A message under construction; big enough for any header plus arguments. */
struct mbuf {
	uint8_t b[4096];
	size_t n;
};

static void put32(struct mbuf *m, uint32_t v)
{
	CU_ASSERT_FATAL(m->n + 4 <= sizeof(m->b));
	m->b[m->n++] = (uint8_t)(v >> 24);
	m->b[m->n++] = (uint8_t)(v >> 16);
	m->b[m->n++] = (uint8_t)(v >> 8);
	m->b[m->n++] = (uint8_t)v;
}

/* Raw bytes plus XDR padding to a multiple of four, no length word. */
static void put_raw(struct mbuf *m, const void *p, size_t n)
{
	CU_ASSERT_FATAL(m->n + n + 3 <= sizeof(m->b));
	if (n)
		memcpy(m->b + m->n, p, n);
	m->n += n;
	while (m->n % 4)
		m->b[m->n++] = 0;
}

/* Variable-length opaque or string: length word then padded bytes. */
static void put_opaque(struct mbuf *m, const void *p, size_t n)
{
	put32(m, (uint32_t)n);
	put_raw(m, p, n);
}

static void put_auth(struct mbuf *m, uint32_t flavor, const struct mbuf *body)
{
	put32(m, flavor);
	put_opaque(m, body ? body->b : NULL, body ? body->n : 0);
}

static void put_header(struct mbuf *m, uint32_t xid, uint32_t rpcvers)
{
	m->n = 0;
	put32(m, xid);
	put32(m, 0); /* CALL */
	put32(m, rpcvers);
	put32(m, NFS_PROG);
	put32(m, NFS_VERS);
	put32(m, 7); /* WRITE, for instance */
}

static void authsys_body(struct mbuf *m, const char *machine, uint32_t ngids)
{
	m->n = 0;
	put32(m, 0x5eed);
	put_opaque(m, machine, strlen(machine));
	put32(m, 1000);
	put32(m, 100);
	put32(m, ngids);
	for (uint32_t i = 0; i < ngids; i++)
		put32(m, 2000 + i);
}

/* A complete call with the given credential and an empty AUTH_NONE verifier. */
static void build_call(struct mbuf *m, uint32_t flavor, const struct mbuf *cred)
{
	put_header(m, XID, 2);
	put_auth(m, flavor, cred);
	put_auth(m, 0, NULL);
}

static void build_sys_call(struct mbuf *m, const char *machine, uint32_t ngids)
{
	struct mbuf cred;

	authsys_body(&cred, machine, ngids);
	build_call(m, RPC_AUTH_SYS, &cred);
}

static enum rpc_decode_result decode(const struct mbuf *m, struct rpc_call_header *hdr)
{
	return rpc_decode_call(m->b, m->n, hdr);
}

static void test_auth_none(void)
{
	struct rpc_call_header hdr;
	struct mbuf m;

	build_call(&m, RPC_AUTH_NONE, NULL);
	CU_ASSERT_EQUAL_FATAL(decode(&m, &hdr), RPC_DECODE_OK);
	CU_ASSERT_EQUAL(hdr.xid, XID);
	CU_ASSERT_EQUAL(hdr.prog, NFS_PROG);
	CU_ASSERT_EQUAL(hdr.vers, NFS_VERS);
	CU_ASSERT_EQUAL(hdr.proc, 7);
	CU_ASSERT_EQUAL(hdr.cred_flavor, RPC_AUTH_NONE);
	CU_ASSERT_EQUAL(hdr.args_offset, m.n);
	CU_ASSERT_EQUAL(hdr.args_offset, 40);
}

/* RFC 5531 leaves the AUTH_NONE body undefined, so any bounded body will do. */
static void test_auth_none_with_body(void)
{
	struct rpc_call_header hdr;
	struct mbuf body = {.n = 12}, m;

	memset(body.b, 0x55, body.n);
	build_call(&m, RPC_AUTH_NONE, &body);
	CU_ASSERT_EQUAL_FATAL(decode(&m, &hdr), RPC_DECODE_OK);
	CU_ASSERT_EQUAL(hdr.args_offset, m.n);
}

static void test_auth_sys_16_gids(void)
{
	struct rpc_call_header hdr;
	struct mbuf m;

	build_sys_call(&m, "client.example.org", 16);
	CU_ASSERT_EQUAL_FATAL(decode(&m, &hdr), RPC_DECODE_OK);
	CU_ASSERT_EQUAL(hdr.xid, XID);
	CU_ASSERT_EQUAL(hdr.cred_flavor, RPC_AUTH_SYS);
	CU_ASSERT_EQUAL(hdr.sys.stamp, 0x5eed);
	CU_ASSERT_STRING_EQUAL(hdr.sys.machine, "client.example.org");
	CU_ASSERT_EQUAL(hdr.sys.uid, 1000);
	CU_ASSERT_EQUAL(hdr.sys.gid, 100);
	CU_ASSERT_EQUAL_FATAL(hdr.sys.ngids, 16);
	for (uint32_t i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(hdr.sys.gids[i], 2000 + i);
	CU_ASSERT_EQUAL(hdr.args_offset, m.n);
}

static void test_auth_sys_no_gids_empty_name(void)
{
	struct rpc_call_header hdr;
	struct mbuf m;

	build_sys_call(&m, "", 0);
	CU_ASSERT_EQUAL_FATAL(decode(&m, &hdr), RPC_DECODE_OK);
	CU_ASSERT_STRING_EQUAL(hdr.sys.machine, "");
	CU_ASSERT_EQUAL(hdr.sys.ngids, 0);
}

static void test_auth_sys_17_gids(void)
{
	struct rpc_call_header hdr;
	struct mbuf m;

	build_sys_call(&m, "c", 17);
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_BAD_CRED);
	CU_ASSERT_EQUAL(hdr.xid, XID);
	CU_ASSERT_EQUAL(hdr.proc, 7);
}

static void test_auth_sys_huge_gid_count(void)
{
	struct rpc_call_header hdr;
	struct mbuf cred, m;

	authsys_body(&cred, "c", 0);
	cred.n -= 4;
	put32(&cred, 0xffffffffu);
	build_call(&m, RPC_AUTH_SYS, &cred);
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_BAD_CRED);
}

static void test_auth_sys_machinename(void)
{
	struct rpc_call_header hdr;
	char name[257];
	struct mbuf m;

	memset(name, 'a', sizeof(name) - 1);
	name[255] = '\0';
	build_sys_call(&m, name, 2);
	CU_ASSERT_EQUAL_FATAL(decode(&m, &hdr), RPC_DECODE_OK);
	CU_ASSERT_EQUAL(strlen(hdr.sys.machine), 255);

	name[255] = 'a';
	name[256] = '\0';
	build_sys_call(&m, name, 2);
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_BAD_CRED);
}

/* The declared body length covers more than the credential: junk inside the body. */
static void test_cred_len_longer(void)
{
	struct rpc_call_header hdr;
	struct mbuf cred, m;

	authsys_body(&cred, "host", 1);
	put32(&cred, 0);
	put32(&cred, 0);
	build_call(&m, RPC_AUTH_SYS, &cred);
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_BAD_CRED);
}

/* The declared length stops inside the credential, the rest of it is absent. */
static void test_cred_len_shorter(void)
{
	struct rpc_call_header hdr;
	struct mbuf cred, m;

	authsys_body(&cred, "host", 1);
	cred.n -= 4;
	build_call(&m, RPC_AUTH_SYS, &cred);
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_BAD_CRED);
}

/* The declared length stops inside the credential, the rest spills into the verifier. */
static void test_cred_len_shorter_spilling(void)
{
	struct rpc_call_header hdr;
	struct mbuf cred, m;

	authsys_body(&cred, "host", 1);
	put_header(&m, XID, 2);
	put32(&m, RPC_AUTH_SYS);
	put32(&m, (uint32_t)cred.n - 4);
	put_raw(&m, cred.b, cred.n);
	put_auth(&m, 0, NULL);
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_BAD_CRED);
}

/* A length that is not a multiple of 4 can never match XDR contents. */
static void test_cred_len_unaligned(void)
{
	struct rpc_call_header hdr;
	struct mbuf cred, m;

	authsys_body(&cred, "host", 1);
	put_header(&m, XID, 2);
	put32(&m, RPC_AUTH_SYS);
	put32(&m, (uint32_t)cred.n + 1);
	put_raw(&m, cred.b, cred.n + 1);
	put_auth(&m, 0, NULL);
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_BAD_CRED);
}

static void test_auth_body_limits(void)
{
	struct rpc_call_header hdr;
	struct mbuf body = {.n = 400}, m;

	memset(body.b, 0, 401);
	build_call(&m, RPC_AUTH_NONE, &body);
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_OK);
	body.n = 401;
	build_call(&m, RPC_AUTH_NONE, &body);
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_BAD_CRED);

	/* Same limits for the verifier, whose contents are otherwise ignored. */
	body.n = 400;
	put_header(&m, XID, 2);
	put_auth(&m, RPC_AUTH_NONE, NULL);
	put_auth(&m, RPC5531_RPCSEC_GSS, &body);
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_OK);
	CU_ASSERT_EQUAL(hdr.args_offset, m.n);
	body.n = 401;
	put_header(&m, XID, 2);
	put_auth(&m, RPC_AUTH_NONE, NULL);
	put_auth(&m, RPC_AUTH_NONE, &body);
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_BAD_CRED);

	/* A length word near 2^32 must fail cleanly, not wrap. */
	put_header(&m, XID, 2);
	put32(&m, RPC_AUTH_NONE);
	put32(&m, 0xfffffffcu);
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_BAD_CRED);
}

static void test_rpcvers_mismatch(void)
{
	struct rpc_call_header hdr;
	struct mbuf m;

	build_call(&m, RPC_AUTH_NONE, NULL);
	m.b[11] = 3;
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_RPC_MISMATCH);
	CU_ASSERT_EQUAL(hdr.xid, XID);

	/* Nothing after rpcvers is needed to answer it. */
	CU_ASSERT_EQUAL(rpc_decode_call(m.b, 12, &hdr), RPC_DECODE_RPC_MISMATCH);
	CU_ASSERT_EQUAL(hdr.xid, XID);
	m.b[11] = 1;
	CU_ASSERT_EQUAL(rpc_decode_call(m.b, 12, &hdr), RPC_DECODE_RPC_MISMATCH);
}

static void test_not_a_call(void)
{
	struct rpc_call_header hdr;
	struct mbuf m;

	build_call(&m, RPC_AUTH_NONE, NULL);
	m.b[7] = 1; /* REPLY */
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_GARBAGE);
	CU_ASSERT_EQUAL(hdr.xid, XID);
	m.b[7] = 2; /* no such msg_type */
	CU_ASSERT_EQUAL(decode(&m, &hdr), RPC_DECODE_GARBAGE);

	/* A real reply from our own encoder. */
	int n = rpc_encode_success_header(m.b, sizeof(m.b), XID);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(rpc_decode_call(m.b, (size_t)n, &hdr), RPC_DECODE_GARBAGE);

	CU_ASSERT_EQUAL(rpc_decode_call(NULL, 0, &hdr), RPC_DECODE_GARBAGE);
	CU_ASSERT_EQUAL(hdr.xid, 0);
}

static void check_truncations(const struct mbuf *m)
{
	struct rpc_call_header hdr;
	int ok = 1;

	for (size_t len = 0; len < m->n; len++) {
		/* A copy of exactly len bytes, so ASan sees any read past the end. */
		uint8_t *cut = malloc(len ? len : 1);
		CU_ASSERT_FATAL(cut != NULL);
		memcpy(cut, m->b, len);
		enum rpc_decode_result r = rpc_decode_call(cut, len, &hdr);
		enum rpc_decode_result want =
		    len < HDR_FIXED ? RPC_DECODE_GARBAGE : RPC_DECODE_BAD_CRED;
		if (r != want || (len >= 4 && hdr.xid != XID))
			ok = 0;
		free(cut);
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(decode(m, &hdr), RPC_DECODE_OK);
}

static void test_truncated_everywhere(void)
{
	struct mbuf body = {.n = 8}, m;

	build_sys_call(&m, "truncated.example", 16);
	check_truncations(&m);
	build_call(&m, RPC_AUTH_NONE, NULL);
	check_truncations(&m);
	memset(body.b, 1, body.n);
	put_header(&m, XID, 2);
	put_auth(&m, RPC_AUTH_NONE, &body);
	put_auth(&m, RPC_AUTH_NONE, &body);
	check_truncations(&m);
}

static void test_flavors(void)
{
	static const struct {
		uint32_t flavor;
		enum rpc_decode_result want;
	} cases[] = {
	    {RPC5531_AUTH_SHORT, RPC_DECODE_BAD_CRED},
	    {RPC5531_AUTH_DH, RPC_DECODE_WEAK_AUTH},
	    {4, RPC_DECODE_WEAK_AUTH},
	    {5, RPC_DECODE_BAD_CRED},
	    {RPC5531_RPCSEC_GSS, RPC_DECODE_WEAK_AUTH},
	    {7, RPC_DECODE_WEAK_AUTH},
	    {8, RPC_DECODE_BAD_CRED},
	    {390003, RPC_DECODE_BAD_CRED},
	    {FLAVOR_BAD, RPC_DECODE_BAD_CRED},
	};
	struct rpc_call_header hdr;
	struct mbuf body = {.n = 20}, m;

	memset(body.b, 0xa5, body.n);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		build_call(&m, cases[i].flavor, &body);
		CU_ASSERT_EQUAL(decode(&m, &hdr), cases[i].want);
		CU_ASSERT_EQUAL(hdr.cred_flavor, cases[i].flavor);
		CU_ASSERT_EQUAL(hdr.xid, XID);
		CU_ASSERT_EQUAL(hdr.proc, 7);
	}
}

/* xdrmem has separate paths for aligned and unaligned buffers. */
static void test_unaligned_buffer(void)
{
	struct rpc_call_header hdr;
	struct mbuf m;
	uint8_t *odd = malloc(sizeof(m.b) + 1);

	CU_ASSERT_FATAL(odd != NULL);
	build_sys_call(&m, "odd", 3);
	memcpy(odd + 1, m.b, m.n);
	CU_ASSERT_EQUAL(rpc_decode_call(odd + 1, m.n, &hdr), RPC_DECODE_OK);
	CU_ASSERT_STRING_EQUAL(hdr.sys.machine, "odd");
	CU_ASSERT_EQUAL(hdr.sys.gids[2], 2002);
	free(odd);
}

/* ---------------------------------------------------------------- arguments */

static void test_args(void)
{
	struct rpc5531_authsys_parms args;
	struct rpc_call_header hdr;
	struct mbuf m, a;

	build_call(&m, RPC_AUTH_NONE, NULL);
	authsys_body(&a, "args.example", 5);
	put_raw(&m, a.b, a.n);
	CU_ASSERT_EQUAL_FATAL(decode(&m, &hdr), RPC_DECODE_OK);
	memset(&args, 0, sizeof(args));
	CU_ASSERT_FATAL(
	    rpc_decode_args(m.b, m.n, &hdr, (xdrproc_t)xdr_rpc5531_authsys_parms, &args));
	CU_ASSERT_STRING_EQUAL(args.machinename, "args.example");
	CU_ASSERT_EQUAL_FATAL(args.gids.gids_len, 5);
	CU_ASSERT_EQUAL(args.gids.gids_val[4], 2004);
	rpc_free_args((xdrproc_t)xdr_rpc5531_authsys_parms, &args);

	/* Trailing bytes are tolerated. */
	put32(&m, 0);
	memset(&args, 0, sizeof(args));
	CU_ASSERT(rpc_decode_args(m.b, m.n, &hdr, (xdrproc_t)xdr_rpc5531_authsys_parms, &args));
	rpc_free_args((xdrproc_t)xdr_rpc5531_authsys_parms, &args);

	/* An offset past the end (a header from another message) is refused. */
	memset(&args, 0, sizeof(args));
	CU_ASSERT_FALSE(
	    rpc_decode_args(m.b, hdr.args_offset - 1, &hdr, (xdrproc_t)xdr_u_int, &args.stamp));
}

/* Every cut of the arguments fails, and frees what it had allocated (LeakSanitizer). */
static void test_args_truncated(void)
{
	struct rpc5531_authsys_parms args;
	struct rpc_call_header hdr;
	struct mbuf m, a;
	int ok = 1;

	build_call(&m, RPC_AUTH_NONE, NULL);
	authsys_body(&a, "truncated.args.example", 16);
	put_raw(&m, a.b, a.n);
	CU_ASSERT_EQUAL_FATAL(decode(&m, &hdr), RPC_DECODE_OK);
	for (size_t len = hdr.args_offset; len < m.n; len++) {
		uint8_t *cut = malloc(len);
		CU_ASSERT_FATAL(cut != NULL);
		memcpy(cut, m.b, len);
		memset(&args, 0, sizeof(args));
		if (rpc_decode_args(cut, len, &hdr, (xdrproc_t)xdr_rpc5531_authsys_parms, &args))
			ok = 0;
		free(cut);
	}
	CU_ASSERT(ok);
}

/* Over-limit counts in the arguments fail before anything is allocated for them. */
static void test_args_over_limit(void)
{
	struct rpc5531_authsys_parms args;
	struct rpc_call_header hdr;
	struct mbuf m, a;

	build_call(&m, RPC_AUTH_NONE, NULL);
	authsys_body(&a, "x", 17);
	put_raw(&m, a.b, a.n);
	CU_ASSERT_EQUAL_FATAL(decode(&m, &hdr), RPC_DECODE_OK);
	memset(&args, 0, sizeof(args));
	CU_ASSERT_FALSE(
	    rpc_decode_args(m.b, m.n, &hdr, (xdrproc_t)xdr_rpc5531_authsys_parms, &args));
}

/* ---------------------------------------------------------------- replies */

/* xdr_void takes no arguments at all, which the xdrproc_t cast warns about. */
static bool_t xdr_nothing(XDR *xdrs, void *p)
{
	return TRUE;
}

/* Decodes buf with libtirpc's xdr_replymsg; results, if any, go through proc. */
static bool tirpc_decode(const uint8_t *buf, int len, struct rpc_msg *msg, xdrproc_t proc,
			 void *where)
{
	XDR xdrs;
	bool ok;

	CU_ASSERT_FATAL(len > 0);
	memset(msg, 0, sizeof(*msg));
	msg->acpted_rply.ar_verf = _null_auth;
	msg->acpted_rply.ar_results.proc = proc ? proc : (xdrproc_t)xdr_nothing;
	msg->acpted_rply.ar_results.where = where;
	xdrmem_create(&xdrs, (char *)buf, (u_int)len, XDR_DECODE);
	ok = xdr_replymsg(&xdrs, msg);
	/* The reply must be exactly what libtirpc consumes. */
	ok = ok && xdr_getpos(&xdrs) == (u_int)len;
	xdr_destroy(&xdrs);
	return ok;
}

/* libtirpc's encoding of the same reply, to compare bytes. */
static int tirpc_encode(uint8_t *buf, size_t cap, struct rpc_msg *msg)
{
	XDR xdrs;
	int len;

	xdrmem_create(&xdrs, (char *)buf, (u_int)cap, XDR_ENCODE);
	len = xdr_replymsg(&xdrs, msg) ? (int)xdr_getpos(&xdrs) : -1;
	xdr_destroy(&xdrs);
	return len;
}

static void check_same_as_tirpc(const uint8_t *ours, int len, struct rpc_msg *msg)
{
	uint8_t theirs[512];

	/* msg is as tirpc_decode left it: results, if any, go through xdr_nothing. */
	CU_ASSERT_EQUAL_FATAL(tirpc_encode(theirs, sizeof(theirs), msg), len);
	CU_ASSERT(memcmp(ours, theirs, (size_t)len) == 0);
}

/* Every capacity short of the full length is refused. */
static void check_enospc(int (*enc)(uint8_t *, size_t, uint32_t), int full)
{
	uint8_t buf[512];
	int ok = 1;

	for (int cap = 0; cap < full; cap++)
		if (enc(buf, (size_t)cap, XID) != -ENOSPC)
			ok = 0;
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(enc(buf, (size_t)full, XID), full);
}

static void check_accepted(int (*enc)(uint8_t *, size_t, uint32_t), enum accept_stat want)
{
	uint8_t buf[512];
	struct rpc_msg msg;
	int n = enc(buf, sizeof(buf), XID);

	CU_ASSERT_EQUAL_FATAL(n, 24);
	CU_ASSERT_FATAL(tirpc_decode(buf, n, &msg, NULL, NULL));
	CU_ASSERT_EQUAL(msg.rm_xid, XID);
	CU_ASSERT_EQUAL(msg.rm_direction, REPLY);
	CU_ASSERT_EQUAL(msg.rm_reply.rp_stat, MSG_ACCEPTED);
	CU_ASSERT_EQUAL(msg.acpted_rply.ar_verf.oa_flavor, AUTH_NONE);
	CU_ASSERT_EQUAL(msg.acpted_rply.ar_verf.oa_length, 0);
	CU_ASSERT_EQUAL(msg.acpted_rply.ar_stat, want);
	check_same_as_tirpc(buf, n, &msg);
	check_enospc(enc, n);
}

static void test_reply_accepted(void)
{
	check_accepted(rpc_encode_success_header, SUCCESS);
	check_accepted(rpc_encode_prog_unavail, PROG_UNAVAIL);
	check_accepted(rpc_encode_proc_unavail, PROC_UNAVAIL);
	check_accepted(rpc_encode_garbage_args, GARBAGE_ARGS);
	check_accepted(rpc_encode_system_err, SYSTEM_ERR);
}

static void test_reply_prog_mismatch(void)
{
	uint8_t buf[512];
	struct rpc_msg msg;
	int n = rpc_encode_prog_mismatch(buf, sizeof(buf), XID, 2, 4);

	CU_ASSERT_EQUAL_FATAL(n, 32);
	CU_ASSERT_FATAL(tirpc_decode(buf, n, &msg, NULL, NULL));
	CU_ASSERT_EQUAL(msg.rm_xid, XID);
	CU_ASSERT_EQUAL(msg.rm_reply.rp_stat, MSG_ACCEPTED);
	CU_ASSERT_EQUAL(msg.acpted_rply.ar_stat, PROG_MISMATCH);
	CU_ASSERT_EQUAL(msg.acpted_rply.ar_vers.low, 2);
	CU_ASSERT_EQUAL(msg.acpted_rply.ar_vers.high, 4);
	check_same_as_tirpc(buf, n, &msg);
	CU_ASSERT_EQUAL(rpc_encode_prog_mismatch(buf, 31, XID, 2, 4), -ENOSPC);
}

static void test_reply_rpc_mismatch(void)
{
	uint8_t buf[512];
	struct rpc_msg msg;
	int n = rpc_encode_rpc_mismatch(buf, sizeof(buf), XID);

	CU_ASSERT_EQUAL_FATAL(n, 24);
	CU_ASSERT_FATAL(tirpc_decode(buf, n, &msg, NULL, NULL));
	CU_ASSERT_EQUAL(msg.rm_xid, XID);
	CU_ASSERT_EQUAL(msg.rm_direction, REPLY);
	CU_ASSERT_EQUAL(msg.rm_reply.rp_stat, MSG_DENIED);
	CU_ASSERT_EQUAL(msg.rjcted_rply.rj_stat, RPC_MISMATCH);
	CU_ASSERT_EQUAL(msg.rjcted_rply.rj_vers.low, 2);
	CU_ASSERT_EQUAL(msg.rjcted_rply.rj_vers.high, 2);
	check_same_as_tirpc(buf, n, &msg);
	check_enospc(rpc_encode_rpc_mismatch, n);
}

static void test_reply_auth_error(void)
{
	for (uint32_t why = AUTH_BADCRED; why <= AUTH_TOOWEAK; why++) {
		uint8_t buf[512];
		struct rpc_msg msg;
		int n = rpc_encode_auth_error(buf, sizeof(buf), XID, why);

		CU_ASSERT_EQUAL_FATAL(n, 20);
		CU_ASSERT_FATAL(tirpc_decode(buf, n, &msg, NULL, NULL));
		CU_ASSERT_EQUAL(msg.rm_xid, XID);
		CU_ASSERT_EQUAL(msg.rm_reply.rp_stat, MSG_DENIED);
		CU_ASSERT_EQUAL(msg.rjcted_rply.rj_stat, AUTH_ERROR);
		CU_ASSERT_EQUAL(msg.rjcted_rply.rj_why, why);
		check_same_as_tirpc(buf, n, &msg);
		CU_ASSERT_EQUAL(rpc_encode_auth_error(buf, 19, XID, why), -ENOSPC);
	}
}

static void test_reply_results(void)
{
	struct rpc5531_authsys_parms res, back;
	uint32_t gids[3] = {7, 8, 9};
	uint8_t buf[512];
	struct rpc_msg msg;
	int n;

	memset(&res, 0, sizeof(res));
	res.stamp = 1;
	res.machinename = "results";
	res.uid = 2;
	res.gid = 3;
	res.gids.gids_len = 3;
	res.gids.gids_val = gids;
	n = rpc_encode_results(buf, sizeof(buf), XID, (xdrproc_t)xdr_rpc5531_authsys_parms, &res);
	CU_ASSERT_EQUAL_FATAL(n, 24 + 4 + 12 + 4 + 4 + 4 + 12);
	memset(&back, 0, sizeof(back));
	CU_ASSERT_FATAL(tirpc_decode(buf, n, &msg, (xdrproc_t)xdr_rpc5531_authsys_parms, &back));
	CU_ASSERT_EQUAL(msg.rm_xid, XID);
	CU_ASSERT_EQUAL(msg.acpted_rply.ar_stat, SUCCESS);
	CU_ASSERT_STRING_EQUAL(back.machinename, "results");
	CU_ASSERT_EQUAL(back.gids.gids_len, 3);
	xdr_free((xdrproc_t)xdr_rpc5531_authsys_parms, &back);

	/* The results start right after the success header. */
	CU_ASSERT_EQUAL(rpc_encode_success_header(buf, sizeof(buf), XID), RPC_SUCCESS_HEADER_LEN);
	CU_ASSERT_EQUAL(buf[27], 1); /* stamp */

	for (int cap = 0; cap < n; cap++)
		if (rpc_encode_results(buf, (size_t)cap, XID, (xdrproc_t)xdr_rpc5531_authsys_parms,
				       &res) != -ENOSPC)
			CU_FAIL("short buffer accepted");

	/* Results over their own XDR limits are refused too. */
	res.gids.gids_len = 17;
	CU_ASSERT_EQUAL(
	    rpc_encode_results(buf, sizeof(buf), XID, (xdrproc_t)xdr_rpc5531_authsys_parms, &res),
	    -ENOSPC);
}

static void test_reply_for_decode_error(void)
{
	uint8_t buf[512];
	struct rpc_msg msg;
	int n;

	CU_ASSERT_EQUAL(rpc_encode_decode_error(buf, sizeof(buf), XID, RPC_DECODE_GARBAGE), 0);
	CU_ASSERT_EQUAL(rpc_encode_decode_error(buf, sizeof(buf), XID, RPC_DECODE_OK), -EINVAL);

	n = rpc_encode_decode_error(buf, sizeof(buf), XID, RPC_DECODE_RPC_MISMATCH);
	CU_ASSERT_FATAL(tirpc_decode(buf, n, &msg, NULL, NULL));
	CU_ASSERT_EQUAL(msg.rjcted_rply.rj_stat, RPC_MISMATCH);

	n = rpc_encode_decode_error(buf, sizeof(buf), XID, RPC_DECODE_BAD_CRED);
	CU_ASSERT_FATAL(tirpc_decode(buf, n, &msg, NULL, NULL));
	CU_ASSERT_EQUAL(msg.rjcted_rply.rj_stat, AUTH_ERROR);
	CU_ASSERT_EQUAL(msg.rjcted_rply.rj_why, AUTH_BADCRED);

	n = rpc_encode_decode_error(buf, sizeof(buf), XID, RPC_DECODE_WEAK_AUTH);
	CU_ASSERT_FATAL(tirpc_decode(buf, n, &msg, NULL, NULL));
	CU_ASSERT_EQUAL(msg.rjcted_rply.rj_why, AUTH_TOOWEAK);

	CU_ASSERT_EQUAL(rpc_encode_decode_error(buf, 8, XID, RPC_DECODE_BAD_CRED), -ENOSPC);
}

/* Our decoder must accept what libtirpc's client side sends. */
static void test_tirpc_call_roundtrip(void)
{
	struct rpc_call_header hdr;
	struct rpc_msg call;
	uint8_t buf[1024];
	gid_t gids[16];
	AUTH *auth;
	XDR xdrs;

	for (int i = 0; i < 16; i++)
		gids[i] = 3000 + i;
	auth = authunix_create("tirpc.example", 1234, 5678, 16, gids);
	CU_ASSERT_FATAL(auth != NULL);
	memset(&call, 0, sizeof(call));
	call.rm_xid = XID;
	call.rm_direction = CALL;
	call.rm_call.cb_rpcvers = RPC_MSG_VERSION;
	call.rm_call.cb_prog = NFS_PROG;
	call.rm_call.cb_vers = NFS_VERS;
	call.rm_call.cb_proc = 1;
	call.rm_call.cb_cred = auth->ah_cred;
	call.rm_call.cb_verf = auth->ah_verf;
	xdrmem_create(&xdrs, (char *)buf, sizeof(buf), XDR_ENCODE);
	CU_ASSERT_FATAL(xdr_callmsg(&xdrs, &call));
	u_int n = xdr_getpos(&xdrs);
	xdr_destroy(&xdrs);
	auth_destroy(auth);

	CU_ASSERT_EQUAL_FATAL(rpc_decode_call(buf, n, &hdr), RPC_DECODE_OK);
	CU_ASSERT_EQUAL(hdr.xid, XID);
	CU_ASSERT_EQUAL(hdr.proc, 1);
	CU_ASSERT_STRING_EQUAL(hdr.sys.machine, "tirpc.example");
	CU_ASSERT_EQUAL(hdr.sys.uid, 1234);
	CU_ASSERT_EQUAL(hdr.sys.gid, 5678);
	CU_ASSERT_EQUAL(hdr.sys.ngids, 16);
	CU_ASSERT_EQUAL(hdr.sys.gids[15], 3015);
	CU_ASSERT_EQUAL(hdr.args_offset, n);
}

int main(void)
{
	static const struct test_case call_tests[] = {
	    {"auth_none", test_auth_none},
	    {"auth_none_with_body", test_auth_none_with_body},
	    {"auth_sys_16_gids", test_auth_sys_16_gids},
	    {"auth_sys_no_gids_empty_name", test_auth_sys_no_gids_empty_name},
	    {"auth_sys_17_gids", test_auth_sys_17_gids},
	    {"auth_sys_huge_gid_count", test_auth_sys_huge_gid_count},
	    {"auth_sys_machinename", test_auth_sys_machinename},
	    {"cred_len_longer", test_cred_len_longer},
	    {"cred_len_shorter", test_cred_len_shorter},
	    {"cred_len_shorter_spilling", test_cred_len_shorter_spilling},
	    {"cred_len_unaligned", test_cred_len_unaligned},
	    {"auth_body_limits", test_auth_body_limits},
	    {"rpcvers_mismatch", test_rpcvers_mismatch},
	    {"not_a_call", test_not_a_call},
	    {"truncated_everywhere", test_truncated_everywhere},
	    {"flavors", test_flavors},
	    {"unaligned_buffer", test_unaligned_buffer},
	    {"tirpc_call_roundtrip", test_tirpc_call_roundtrip},
	    {NULL, NULL},
	};
	static const struct test_case args_tests[] = {
	    {"args", test_args},
	    {"args_truncated", test_args_truncated},
	    {"args_over_limit", test_args_over_limit},
	    {NULL, NULL},
	};
	static const struct test_case reply_tests[] = {
	    {"accepted", test_reply_accepted},
	    {"prog_mismatch", test_reply_prog_mismatch},
	    {"rpc_mismatch", test_reply_rpc_mismatch},
	    {"auth_error", test_reply_auth_error},
	    {"results", test_reply_results},
	    {"for_decode_error", test_reply_for_decode_error},
	    {NULL, NULL},
	};

	if (test_add_suite("rpc_call", NULL, NULL, call_tests) ||
	    test_add_suite("rpc_args", NULL, NULL, args_tests) ||
	    test_add_suite("rpc_reply", NULL, NULL, reply_tests))
		return 1;
	return test_run_all();
}
