/* The NFS gateway's shared state and the per-request context the protocol
 * modules (MOUNT v3, NFSv3) work with. */
#ifndef MCFS_GATEWAY_GATEWAY_H
#define MCFS_GATEWAY_GATEWAY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "drc.h"
#include "export.h"
#include "fhandle.h"
#include "rpc.h"
#include "transport.h"
#include "vfs.h"

#define NFS_PROGRAM   100003
#define MOUNT_PROGRAM 100005
#define NFS_V3	      3
#define NFS_V4	      4
#define MOUNT_V3      3

/* Largest READ/WRITE payload we offer (FSINFO rtmax/wtmax). */
#define NFS3_MAX_IO (1u << 20)

struct mount_entry {
	char host[256];
	char path[1024];
	struct mount_entry *next;
};

struct nfs4_server;

struct gateway {
	struct vfs *vfs;
	uint8_t volume_uuid[16];
	uint64_t fsid;
	struct export *exports;
	size_t nexports;
	uint8_t write_verf[8]; /* changes on every start: clients resend UNSTABLE data */
	struct drc *drc;
	pthread_mutex_t mounts_lock;
	struct mount_entry *mounts;
	struct nfs4_server *nfs4; /* NULL until nfs4_server_start */
};

/* One request being served. */
struct nfs_req {
	struct gateway *gw;
	struct rpc_request *rq;
	struct rpc_call_header hdr;
	const struct export *exp; /* set once a handle has been accepted */
	struct mcfs_cred cred;	  /* the caller, squashed per that export */
	/* Where the results will be encoded (after the RPC reply header), so a
	 * procedure can put bulk data there at once instead of having it copied. */
	uint8_t *results;
	size_t results_cap;
	/* Bytes that end the reply from a file (file.len 0: none): a procedure
	 * sets it, encodes everything before them, and the dispatcher sends
	 * them by sendfile(2) (nfs_req_file_ok). */
	struct rpc_file_range file;
};

/* Reads at least this long are sent from the bucket's file when they can
 * be: below it, the extra system calls cost more than the copy saved. */
#define NFS_FILE_REPLY_MIN (64 * 1024)

/* Gives up the bytes a procedure meant to send from a file. */
static inline void nfs_req_drop_file(struct nfs_req *req)
{
	if (req->file.len) {
		close(req->file.fd);
		req->file.len = 0;
	}
}

/* Whether a read of len bytes may be answered from a file (req->file). */
static inline bool nfs_req_file_ok(const struct nfs_req *req, size_t len)
{
	return len >= NFS_FILE_REPLY_MIN && rpc_request_can_send_file(req->rq);
}

/* Room at offset off of the encoded results for len bytes, or NULL. */
static inline void *nfs_results_area(const struct nfs_req *req, size_t off, size_t len)
{
	if (!req->results || off > req->results_cap || len > req->results_cap - off)
		return NULL;
	return req->results + off;
}

/* A procedure: decode args, run, encode results. fn fills res (zeroed). */
struct rpc_proc {
	const char *name;
	xdrproc_t xdr_args;
	size_t args_size;
	xdrproc_t xdr_res;
	size_t res_size;
	void (*fn)(struct nfs_req *req, void *args, void *res);
	bool non_idempotent; /* answered from the duplicate request cache on retransmission */
	size_t reply_cap;    /* room for the encoded reply; 0 = computed by the dispatcher */
	/* Instead of all the above: a procedure that decodes and answers the
	 * request itself (NFSv4 COMPOUND decodes one operation at a time). */
	void (*raw)(struct nfs_req *req);
};

extern const struct rpc_proc nfs4_procs[];
extern const unsigned nfs4_nprocs;

/* The transport's request handler (dispatch.c). */
void gateway_handle(struct rpc_request *rq, void *arg);

/* Finds an export by id / path. */
const struct export *gateway_export_by_id(const struct gateway *gw, uint32_t id);
const struct export *gateway_export_by_path(const struct gateway *gw, const char *path);
/* Checks client address and port against an export. */
bool gateway_client_ok(const struct nfs_req *req, const struct export *e);

#endif
