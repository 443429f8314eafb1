/* The NFS gateway's shared state and the per-request context the protocol
 * modules (MOUNT v3, NFSv3) work with. */
#ifndef MCFS_GATEWAY_GATEWAY_H
#define MCFS_GATEWAY_GATEWAY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "drc.h"
#include "export.h"
#include "fhandle.h"
#include "rpc.h"
#include "transport.h"
#include "vfs.h"

#define NFS_PROGRAM 100003
#define MOUNT_PROGRAM 100005
#define NFS_V3 3
#define MOUNT_V3 3

/* Largest READ/WRITE payload we offer (FSINFO rtmax/wtmax). */
#define NFS3_MAX_IO (1u << 20)

struct mount_entry {
	char host[256];
	char path[1024];
	struct mount_entry *next;
};

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
};

/* One request being served. */
struct nfs_req {
	struct gateway *gw;
	struct rpc_request *rq;
	struct rpc_call_header hdr;
	const struct export *exp; /* set once a handle has been accepted */
	struct mcfs_cred cred;    /* the caller, squashed per that export */
};

/* The transport's request handler (dispatch.c). */
void gateway_handle(struct rpc_request *rq, void *arg);

/* Finds an export by id / path. */
const struct export *gateway_export_by_id(const struct gateway *gw, uint32_t id);
const struct export *gateway_export_by_path(const struct gateway *gw, const char *path);
/* Checks client address and port against an export. */
bool gateway_client_ok(const struct nfs_req *req, const struct export *e);

#endif
