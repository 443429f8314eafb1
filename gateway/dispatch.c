/* From a raw RPC message to a reply: program, version and procedure
 * dispatch, argument decoding, the duplicate request cache, and encoding. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nfs3_proc.h"

#define SMALL_REPLY 8192

const struct export *gateway_export_by_id(const struct gateway *gw, uint32_t id)
{
	for (size_t i = 0; i < gw->nexports; i++)
		if (gw->exports[i].id == id)
			return &gw->exports[i];
	return NULL;
}

const struct export *gateway_export_by_path(const struct gateway *gw, const char *path)
{
	if (!path[0])
		path = "/"; /* libnfs asks for "" when the URL names a file at the top */
	uint32_t id = export_path_id(path);
	for (size_t i = 0; i < gw->nexports; i++)
		if (gw->exports[i].id == id && strcmp(gw->exports[i].path, path) == 0)
			return &gw->exports[i];
	/* "/data/" and "/data" name the same export */
	size_t n = strlen(path);
	if (n > 1 && path[n - 1] == '/') {
		for (size_t i = 0; i < gw->nexports; i++)
			if (strlen(gw->exports[i].path) == n - 1 &&
			    strncmp(gw->exports[i].path, path, n - 1) == 0)
				return &gw->exports[i];
	}
	return NULL;
}

bool gateway_client_ok(const struct nfs_req *req, const struct export *e)
{
	const struct sockaddr *peer = (const struct sockaddr *)&req->rq->peer;
	return export_client_allowed(e, peer) && export_port_allowed(e, peer);
}

static void reply_small(struct rpc_request *rq, int len, const uint8_t *buf)
{
	if (len > 0)
		rpc_request_reply(rq, buf, (size_t)len);
	else
		rpc_request_drop(rq);
}

static const struct {
	uint32_t prog, vers;
	const struct rpc_proc *procs;
	const unsigned *nprocs;
} programs[] = {
    {NFS_PROGRAM, NFS_V3, nfs3_procs, &nfs3_nprocs},
    {NFS_PROGRAM, NFS_V4, nfs4_procs, &nfs4_nprocs},
    {MOUNT_PROGRAM, MOUNT_V3, mount3_procs, &mount3_nprocs},
};

static bool version_served(const struct nfs_req *req, size_t i)
{
	return programs[i].prog != NFS_PROGRAM || programs[i].vers != NFS_V4 || req->gw->nfs4;
}

/* Picks the procedure, or answers the error itself and returns NULL. */
static const struct rpc_proc *find_proc(struct nfs_req *req)
{
	uint8_t buf[128];
	uint32_t xid = req->hdr.xid, low = UINT32_MAX, high = 0;
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		if (programs[i].prog != req->hdr.prog || !version_served(req, i))
			continue;
		uint32_t v = programs[i].vers;
		low = v < low ? v : low;
		high = v > high ? v : high;
		if (req->hdr.vers != v)
			continue;
		if (req->hdr.proc >= *programs[i].nprocs) {
			reply_small(req->rq, rpc_encode_proc_unavail(buf, sizeof(buf), xid), buf);
			return NULL;
		}
		return &programs[i].procs[req->hdr.proc];
	}
	if (high)
		reply_small(req->rq, rpc_encode_prog_mismatch(buf, sizeof(buf), xid, low, high),
			    buf);
	else
		reply_small(req->rq, rpc_encode_prog_unavail(buf, sizeof(buf), xid), buf);
	return NULL;
}

/* Answers header-level problems; returns false when the request is finished. */
static bool header_ok(struct nfs_req *req)
{
	uint8_t buf[128];
	enum rpc_decode_result d = rpc_decode_call(req->rq->data, req->rq->len, &req->hdr);
	switch (d) {
	case RPC_DECODE_OK:
		return true;
	case RPC_DECODE_RPC_MISMATCH:
		reply_small(req->rq, rpc_encode_rpc_mismatch(buf, sizeof(buf), req->hdr.xid), buf);
		return false;
	case RPC_DECODE_BAD_CRED:
		reply_small(req->rq, rpc_encode_auth_error(buf, sizeof(buf), req->hdr.xid, 1), buf);
		return false;
	case RPC_DECODE_WEAK_AUTH:
		reply_small(req->rq, rpc_encode_auth_error(buf, sizeof(buf), req->hdr.xid, 5), buf);
		return false;
	default:
		rpc_request_drop(req->rq); /* not even a call: nothing to answer */
		return false;
	}
}

static void run_proc(struct nfs_req *req, const struct rpc_proc *p)
{
	struct rpc_request *rq = req->rq;
	if (p->raw) {
		p->raw(req);
		return;
	}
	void *args = calloc(1, p->args_size);
	void *res = calloc(1, p->res_size);
	size_t cap = p->reply_cap ? p->reply_cap : SMALL_REPLY;
	/* The transport takes the buffer as it is, room for its record mark included. */
	uint8_t *room = malloc(RPC_REPLY_HEADROOM + cap);
	uint8_t *buf = room ? room + RPC_REPLY_HEADROOM : NULL;
	if (!args || !res || !buf) {
		uint8_t small[128];
		free(args);
		free(res);
		free(room);
		reply_small(rq, rpc_encode_system_err(small, sizeof(small), req->hdr.xid), small);
		return;
	}
	if (!rpc_decode_args(rq->data, rq->len, &req->hdr, p->xdr_args, args)) {
		reply_small(rq, rpc_encode_garbage_args(buf, cap, req->hdr.xid), buf);
		free(args);
		free(res);
		free(room);
		return;
	}
	struct drc_key key = {.peer = rq->peer,
			      .peer_len = rq->peer_len,
			      .xid = req->hdr.xid,
			      .prog = req->hdr.prog,
			      .vers = req->hdr.vers,
			      .proc = req->hdr.proc,
			      .body = rq->data,
			      .body_len = rq->len};
	bool cached = p->non_idempotent && req->gw->drc;
	void *old = NULL;
	size_t old_len = 0;
	enum drc_verdict v = cached ? drc_begin(req->gw->drc, &key, &old, &old_len) : DRC_EXECUTE;
	if (v == DRC_REPLAY) {
		rpc_request_reply(rq, old, old_len);
		free(old);
	} else if (v == DRC_IN_PROGRESS) {
		rpc_request_drop(rq);
	} else {
		req->results = buf + RPC_SUCCESS_HEADER_LEN;
		req->results_cap = cap - RPC_SUCCESS_HEADER_LEN;
		p->fn(req, args, res);
		/* every result starts with its status word */
		log_debug("%s %s xid %08x -> status %d",
			  req->hdr.prog == NFS_PROGRAM ? "NFS" : "MOUNT", p->name, req->hdr.xid,
			  p->res_size >= sizeof(int) ? *(int *)res : 0);
		int len = rpc_encode_results(buf, cap, req->hdr.xid, p->xdr_res, res);
		/* The cache keeps whole replies only: procedures it answers
		 * again never end theirs with a file. */
		if (req->file.len && (len < 0 || cached)) {
			nfs_req_drop_file(req);
			if (cached)
				log_error("%s: a reply from a file cannot be cached", p->name);
			len = -1;
		}
		if (len < 0) {
			log_warn("reply to %s does not fit in %zu bytes", p->name, cap);
			len = rpc_encode_system_err(buf, cap, req->hdr.xid);
		}
		if (cached) {
			if (len > 0)
				drc_finish(req->gw->drc, &key, buf, (size_t)len);
			else
				drc_abandon(req->gw->drc, &key);
		}
		if (len > 0 && req->file.len) {
			rpc_request_reply_file(rq, room, (size_t)len, &req->file);
			room = NULL;
		} else if (len > 0) {
			rpc_request_reply_adopt(rq, room, (size_t)len);
			room = NULL;
		} else {
			rpc_request_drop(rq);
		}
	}
	xdr_free(p->xdr_res, res);
	rpc_free_args(p->xdr_args, args);
	free(args);
	free(res);
	free(room);
}

void gateway_handle(struct rpc_request *rq, void *arg)
{
	struct nfs_req req = {.gw = arg, .rq = rq, .file = {.fd = -1}};
	if (!header_ok(&req))
		return;
	const struct rpc_proc *p = find_proc(&req);
	if (p)
		run_proc(&req, p);
}
