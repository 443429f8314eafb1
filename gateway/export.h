/*
 * Exports: which part of the volume is served, to whom, and how.
 *   PATH[:OPTION,OPTION...]
 * options: rw | ro, root_squash | all_squash | no_root_squash, anonuid=N,
 * anongid=N, secure | insecure, clients=SPEC+SPEC+... where SPEC is an
 * address, a CIDR network (10.0.0.0/8, fd00::/8), a host name (resolved at
 * start), or * for everyone. Defaults: rw, root_squash, anonuid=anongid=65534,
 * insecure, clients=*.
 * Checked on every request, not only at MOUNT.
 */
#ifndef MCFS_GATEWAY_EXPORT_H
#define MCFS_GATEWAY_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "vfs.h"

#define EXPORT_MAX_NETS 32

enum export_squash { SQUASH_ROOT, SQUASH_ALL, SQUASH_NONE };

struct export_net {
	int family; /* AF_INET or AF_INET6; 0 = everyone */
	uint8_t addr[16];
	int prefix;
};

/* clang-format reads "export" as C++'s keyword and breaks the line. */
// clang-format off
struct export {
	// clang-format on
	char path[1024];
	uint32_t id; /* hash of the path: the same on every gateway */
	mcfs_ino_t root;
	bool read_only;
	enum export_squash squash;
	uint32_t anonuid, anongid;
	bool secure;
	struct export_net nets[EXPORT_MAX_NETS];
	size_t nnets;
};

/* Parses one export spec. Returns 0 or -EINVAL with a message. */
int export_parse(const char *spec, struct export *out, char *err, size_t errlen);
/* Finds the export root inode by walking the path as root. */
int export_resolve(struct export *e, struct vfs *v);
bool export_client_allowed(const struct export *e, const struct sockaddr *peer);
/* The secure option: the request must come from a port below 1024. */
bool export_port_allowed(const struct export *e, const struct sockaddr *peer);
/* Applies squashing to the credentials a client sent. */
void export_map_cred(const struct export *e, bool auth_sys, uint32_t uid, uint32_t gid,
		     const uint32_t *gids, uint32_t ngids, struct mcfs_cred *out);
uint32_t export_path_id(const char *path);

#endif
