/* NFS-Ganesha from Debian as the benchmarks' peer: FSAL VFS over a directory
 * on tmpfs, an ordinary process on loopback ports.
 *
 * Ganesha will not start without registering with rpcbind. When no rpcbind
 * answers on /run/rpcbind.sock, one is started in a private network namespace
 * (`unshare --net rpcbind -f`): Ganesha reaches it through the unix socket,
 * and nothing is registered with the host's network. */
#ifndef MCFS_BENCH_GANESHA_H
#define MCFS_BENCH_GANESHA_H

#include <stddef.h>

#include "proc.h"

struct ganesha {
	struct proc proc;
	struct proc rpcbind; /* pid 0 when a system rpcbind was already there */
	int nfs_port;
	int mnt_port;
	char dir[512];	  /* configuration, logs, recovery */
	char export[512]; /* the exported directory, on tmpfs */
};

/* Starts it with its files under work_dir and the export under export_root
 * (a tmpfs). Returns -ENOENT when ganesha.nfsd or its VFS FSAL is missing. */
int ganesha_start(struct ganesha *g, const char *work_dir, const char *export_root);
/* Stops Ganesha, then the rpcbind it started, by PID. */
void ganesha_stop(struct ganesha *g);
/* nfs://127.0.0.1/EXPORT?nfsport=P&mountport=M&version=3 */
void ganesha_url(const struct ganesha *g, char *out, size_t len);

#endif
