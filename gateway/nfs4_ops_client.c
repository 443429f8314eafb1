/* NFSv4 client ids, sessions and stateid tests: the 4.0 SETCLIENTID family
 * (RFC 7530 §16.33-34, §16.27) and the 4.1 EXCHANGE_ID, session and
 * TEST_STATEID/FREE_STATEID operations (RFC 8881 §18.35-51).
 *
 * The rules live in the state manager (nfs4_state.h); these functions only
 * translate arguments and results. The gateway offers no delegations and
 * makes no callbacks, so callback addresses, programs and security
 * parameters are accepted and ignored.
 */
#include <stdlib.h>
#include <string.h>

#include "nfs4_proc.h"

#define CS_FLAGS_KNOWN                                                                             \
	(CREATE_SESSION4_FLAG_PERSIST | CREATE_SESSION4_FLAG_CONN_BACK_CHAN |                      \
	 CREATE_SESSION4_FLAG_CONN_RDMA)

/* The smallest messages a channel must carry (RFC 8881 §18.36.3 answers
 * NFS4ERR_TOOSMALL below them): an AUTH_NONE RPC call header of 40 bytes,
 * or reply header of 24, around a compound holding only SEQUENCE (12 + 36
 * bytes in, 12 + 44 out) or CB_SEQUENCE (16 + 40 in, 12 + 40 out). */
#define FORE_MIN_REQ  88
#define FORE_MIN_RESP 80
#define BACK_MIN_REQ  96
#define BACK_MIN_RESP 76

#define IMPL_DOMAIN "mcfs.dev"
#define IMPL_NAME   "mcfs-gateway"

static void client_id_in(const verifier4 verf, const char *id, u_int len, struct ns4_client_id *out)
{
	out->owner = id;
	out->owner_len = len;
	memcpy(out->verifier, verf, NS4_VERIFIER_SIZE);
}

/* ---- NFSv4.0 ---- */

/* CLID_INUSE names the address the other principal uses; we keep none. */
static nfsstat4 clid_inuse(clientaddr4 *addr)
{
	addr->na_r_netid = strdup("tcp");
	addr->na_r_addr = strdup("0.0.0.0.0.0");
	if (addr->na_r_netid && addr->na_r_addr)
		return NFS4ERR_CLID_INUSE;
	free(addr->na_r_netid);
	free(addr->na_r_addr);
	addr->na_r_netid = addr->na_r_addr = NULL;
	return NFS4ERR_SERVERFAULT;
}

nfsstat4 nfs4_op_setclientid(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	SETCLIENTID4args *a = &arg->nfs_argop4_u.opsetclientid;
	SETCLIENTID4res *r = &res->nfs_resop4_u.opsetclientid;
	struct ns4_client_id cid;
	client_id_in(a->client.verifier, a->client.id.id_val, a->client.id.id_len, &cid);
	uint64_t clientid;
	uint8_t confirm[NS4_VERIFIER_SIZE];
	nfsstat4 st =
	    (nfsstat4)ns4_setclientid(c->srv->state, &cid, c->principal, &clientid, confirm);
	if (st == NFS4ERR_CLID_INUSE)
		return clid_inuse(&r->SETCLIENTID4res_u.client_using);
	if (st != NFS4_OK)
		return st;
	r->SETCLIENTID4res_u.resok4.clientid = clientid;
	memcpy(r->SETCLIENTID4res_u.resok4.setclientid_confirm, confirm, NS4_VERIFIER_SIZE);
	return NFS4_OK;
}

nfsstat4 nfs4_op_setclientid_confirm(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	SETCLIENTID_CONFIRM4args *a = &arg->nfs_argop4_u.opsetclientid_confirm;
	return (nfsstat4)ns4_setclientid_confirm(
	    c->srv->state, a->clientid, (const uint8_t *)a->setclientid_confirm, c->principal);
}

nfsstat4 nfs4_op_renew(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	return (nfsstat4)ns4_renew(c->srv->state, arg->nfs_argop4_u.oprenew.clientid);
}

/* ---- EXCHANGE_ID ---- */

static nfsstat4 exid_protect(const state_protect4_a *p)
{
	switch (p->spa_how) {
	case SP4_NONE:
		return NFS4_OK;
	case SP4_MACH_CRED:
		/* Needs RPCSEC_GSS with integrity; the gateway speaks AUTH_SYS. */
		return NFS4ERR_INVAL;
	case SP4_SSV:
		/* No SSV support: none of the offered algorithms is usable. */
		return NFS4ERR_ENCR_ALG_UNSUPP;
	default:
		return NFS4ERR_INVAL;
	}
}

static char *dup_bytes(const void *p, size_t n)
{
	char *d = malloc(n ? n : 1);
	if (d)
		memcpy(d, p, n);
	return d;
}

static bool utf8_set(utf8string *s, const char *text)
{
	s->utf8string_len = (u_int)strlen(text);
	s->utf8string_val = dup_bytes(text, s->utf8string_len);
	return s->utf8string_val != NULL;
}

/* What identifies this server: the volume (major id, scope) and this
 * gateway of it (minor id), so clients see gateways of one volume as
 * trunking candidates sharing one scope. */
static nfsstat4 exid_server_info(const struct nfs4_server *srv, EXCHANGE_ID4resok *ok)
{
	size_t n = strnlen(srv->server_owner, sizeof(srv->server_owner));
	ok->eir_server_owner.so_minor_id = srv->server_minor_id;
	ok->eir_server_owner.so_major_id.so_major_id_val = dup_bytes(srv->server_owner, n);
	ok->eir_server_owner.so_major_id.so_major_id_len = (u_int)n;
	ok->eir_server_scope.eir_server_scope_val = dup_bytes(srv->server_owner, n);
	ok->eir_server_scope.eir_server_scope_len = (u_int)n;
	nfs_impl_id4 *id = calloc(1, sizeof(*id));
	ok->eir_server_impl_id.eir_server_impl_id_val = id;
	bool good = id && ok->eir_server_owner.so_major_id.so_major_id_val &&
		    ok->eir_server_scope.eir_server_scope_val;
	if (id) {
		ok->eir_server_impl_id.eir_server_impl_id_len = 1;
		good = utf8_set(&id->nii_domain, IMPL_DOMAIN) && good;
		good = utf8_set(&id->nii_name, IMPL_NAME) && good;
	}
	if (good)
		return NFS4_OK;
	xdr_free((xdrproc_t)xdr_EXCHANGE_ID4resok, (char *)ok);
	memset(ok, 0, sizeof(*ok));
	return NFS4ERR_DELAY;
}

nfsstat4 nfs4_op_exchange_id(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	EXCHANGE_ID4args *a = &arg->nfs_argop4_u.opexchange_id;
	EXCHANGE_ID4resok *ok = &res->nfs_resop4_u.opexchange_id.EXCHANGE_ID4res_u.eir_resok4;
	nfsstat4 st = exid_protect(&a->eia_state_protect);
	if (st != NFS4_OK)
		return st;
	/* Everything that can fail for want of memory comes before the state
	 * manager records the client. */
	st = exid_server_info(c->srv, ok);
	if (st != NFS4_OK)
		return st;
	struct ns4_client_id cid;
	client_id_in(a->eia_clientowner.co_verifier, a->eia_clientowner.co_ownerid.co_ownerid_val,
		     a->eia_clientowner.co_ownerid.co_ownerid_len, &cid);
	struct ns4_exid_res r;
	st = (nfsstat4)ns4_exchange_id(c->srv->state, &cid, c->principal, a->eia_flags, &r);
	if (st != NFS4_OK) {
		xdr_free((xdrproc_t)xdr_EXCHANGE_ID4resok, (char *)ok);
		memset(ok, 0, sizeof(*ok));
		return st;
	}
	ok->eir_clientid = r.clientid;
	ok->eir_sequenceid = r.sequenceid;
	/* No pNFS: every client is an ordinary one whatever it asked for. */
	ok->eir_flags = r.flags | EXCHGID4_FLAG_USE_NON_PNFS;
	ok->eir_state_protect.spr_how = SP4_NONE;
	return NFS4_OK;
}

/* ---- sessions ---- */

static void chan_in(const channel_attrs4 *in, struct ns4_chan_attrs *out)
{
	out->headerpadsize = in->ca_headerpadsize;
	out->maxrequestsize = in->ca_maxrequestsize;
	out->maxresponsesize = in->ca_maxresponsesize;
	out->maxresponsesize_cached = in->ca_maxresponsesize_cached;
	out->maxoperations = in->ca_maxoperations;
	out->maxrequests = in->ca_maxrequests;
}

/* No RDMA: ca_rdma_ird stays empty. */
static void chan_out(const struct ns4_chan_attrs *in, channel_attrs4 *out)
{
	out->ca_headerpadsize = in->headerpadsize;
	out->ca_maxrequestsize = in->maxrequestsize;
	out->ca_maxresponsesize = in->maxresponsesize;
	out->ca_maxresponsesize_cached = in->maxresponsesize_cached;
	out->ca_maxoperations = in->maxoperations;
	out->ca_maxrequests = in->maxrequests;
}

static nfsstat4 cs_check(const CREATE_SESSION4args *a)
{
	const channel_attrs4 *f = &a->csa_fore_chan_attrs, *b = &a->csa_back_chan_attrs;
	if (a->csa_flags & ~(uint32_t)CS_FLAGS_KNOWN)
		return NFS4ERR_INVAL;
	if (f->ca_maxrequestsize < FORE_MIN_REQ || f->ca_maxresponsesize < FORE_MIN_RESP)
		return NFS4ERR_TOOSMALL;
	if (b->ca_maxrequestsize < BACK_MIN_REQ || b->ca_maxresponsesize < BACK_MIN_RESP)
		return NFS4ERR_TOOSMALL;
	return NFS4_OK;
}

nfsstat4 nfs4_op_create_session(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	CREATE_SESSION4args *a = &arg->nfs_argop4_u.opcreate_session;
	CREATE_SESSION4resok *ok =
	    &res->nfs_resop4_u.opcreate_session.CREATE_SESSION4res_u.csr_resok4;
	nfsstat4 st = cs_check(a);
	if (st != NFS4_OK)
		return st;
	struct ns4_chan_attrs fore, back;
	chan_in(&a->csa_fore_chan_attrs, &fore);
	chan_in(&a->csa_back_chan_attrs, &back);
	/* Neither a persistent reply cache nor RDMA: only the back channel
	 * request survives. */
	uint32_t flags = a->csa_flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN;
	struct ns4_cs_res r;
	st = (nfsstat4)ns4_create_session(c->srv->state, a->csa_clientid, a->csa_sequence, flags,
					  &fore, &back, c->principal, c->connid, &r);
	if (st != NFS4_OK)
		return st;
	memcpy(ok->csr_sessionid, r.sessionid, NFS4_SESSIONID_SIZE);
	ok->csr_sequence = r.sequence;
	ok->csr_flags = r.flags;
	chan_out(&r.fore, &ok->csr_fore_chan_attrs);
	chan_out(&r.back, &ok->csr_back_chan_attrs);
	return NFS4_OK;
}

nfsstat4 nfs4_op_destroy_session(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	DESTROY_SESSION4args *a = &arg->nfs_argop4_u.opdestroy_session;
	return (nfsstat4)ns4_destroy_session(c->srv->state, (const uint8_t *)a->dsa_sessionid);
}

nfsstat4 nfs4_op_bind_conn_to_session(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	BIND_CONN_TO_SESSION4args *a = &arg->nfs_argop4_u.opbind_conn_to_session;
	BIND_CONN_TO_SESSION4resok *ok =
	    &res->nfs_resop4_u.opbind_conn_to_session.BIND_CONN_TO_SESSION4res_u.bctsr_resok4;
	uint32_t dir = 0;
	nfsstat4 st = (nfsstat4)ns4_bind_conn(c->srv->state, (const uint8_t *)a->bctsa_sessid,
					      c->connid, (uint32_t)a->bctsa_dir, &dir);
	if (st != NFS4_OK)
		return st;
	memcpy(ok->bctsr_sessid, a->bctsa_sessid, NFS4_SESSIONID_SIZE);
	ok->bctsr_dir = (channel_dir_from_server4)dir;
	ok->bctsr_use_conn_in_rdma_mode = FALSE;
	return NFS4_OK;
}

nfsstat4 nfs4_op_destroy_clientid(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	uint64_t clientid = arg->nfs_argop4_u.opdestroy_clientid.dca_clientid;
	return (nfsstat4)ns4_destroy_clientid(c->srv->state, clientid);
}

nfsstat4 nfs4_op_reclaim_complete(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	/* The one-fs form ends reclaims on a file system that moved between
	 * servers (RFC 8881 §18.51.3); ours never move and reclaims are not
	 * tracked per file system, so it changes nothing, as in Linux nfsd. */
	if (arg->nfs_argop4_u.opreclaim_complete.rca_one_fs)
		return nfs4_need_fh(c);
	return (nfsstat4)ns4_reclaim_complete(c->srv->state, c->clientid);
}

/* ---- stateids ---- */

static bool stateid_special(const struct ns4_stateid *s)
{
	return ns4_stateid_is_anon(s) || ns4_stateid_is_bypass(s) || ns4_stateid_is_current(s);
}

nfsstat4 nfs4_op_test_stateid(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	TEST_STATEID4args *a = &arg->nfs_argop4_u.optest_stateid;
	TEST_STATEID4resok *ok = &res->nfs_resop4_u.optest_stateid.TEST_STATEID4res_u.tsr_resok4;
	u_int n = a->ts_stateids.ts_stateids_len;
	nfsstat4 *codes = calloc(n ? n : 1, sizeof(*codes));
	if (!codes)
		return NFS4ERR_DELAY;
	for (u_int i = 0; i < n; i++) {
		const stateid4 *in = &a->ts_stateids.ts_stateids_val[i];
		struct ns4_stateid s = {.seqid = in->seqid};
		memcpy(s.other, in->other, NS4_OTHER_SIZE);
		/* Special stateids name no state to test (RFC 8881 §18.48.3). */
		codes[i] = stateid_special(&s)
			       ? NFS4ERR_BAD_STATEID
			       : (nfsstat4)ns4_test_stateid(c->srv->state, nfs4_clientid(c), &s);
	}
	ok->tsr_status_codes.tsr_status_codes_val = codes;
	ok->tsr_status_codes.tsr_status_codes_len = n;
	return NFS4_OK;
}

nfsstat4 nfs4_op_free_stateid(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	struct ns4_stateid s;
	nfsstat4 st = nfs4_stateid_in(c, &arg->nfs_argop4_u.opfree_stateid.fsa_stateid, &s);
	if (st != NFS4_OK)
		return st;
	if (stateid_special(&s))
		return NFS4ERR_BAD_STATEID;
	return (nfsstat4)ns4_free_stateid(c->srv->state, nfs4_clientid(c), &s);
}

nfsstat4 nfs4_op_backchannel_ctl(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	/* No callbacks are ever made: the new program and security
	 * parameters have nothing to change. */
	return NFS4_OK;
}
