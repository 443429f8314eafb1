/* A libnfs context mounted on an nfs:// URL, for the suites that drive a
 * gateway with libnfs's synchronous API. */
#ifndef MCFS_TEST_NFS_MOUNT_H
#define MCFS_TEST_NFS_MOUNT_H

struct nfs_context;

/* The mounted context, or NULL with the reason on stderr. */
struct nfs_context *nfs_mount_url(const char *url);

#endif
