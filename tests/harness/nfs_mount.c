#include "nfs_mount.h"

#include <stdio.h>
#include <sys/time.h> /* before libnfs.h, which uses struct timeval */
#include <nfsc/libnfs.h>

struct nfs_context *nfs_mount_url(const char *url)
{
	struct nfs_context *nfs = nfs_init_context();
	if (!nfs) {
		fprintf(stderr, "mount %s: no memory for a libnfs context\n", url);
		return NULL;
	}
	struct nfs_url *u = nfs_parse_url_dir(nfs, url);
	if (!u || nfs_mount(nfs, u->server, u->path) != 0) {
		fprintf(stderr, "mount %s: %s\n", url, nfs_get_error(nfs));
		if (u)
			nfs_destroy_url(u);
		nfs_destroy_context(nfs);
		return NULL;
	}
	nfs_destroy_url(u);
	return nfs;
}
