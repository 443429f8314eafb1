/*
 * NFS file handles: {volume uuid, inode, generation} plus the id of the
 * export the handle was issued under (a hash of the export path, the same on
 * every gateway that exports that path). Opaque to clients, stable across
 * restarts and gateways, 36 bytes.
 */
#ifndef MCFS_GATEWAY_FHANDLE_H
#define MCFS_GATEWAY_FHANDLE_H

#include <stddef.h>
#include <stdint.h>

#include "attr.h"

#define FH_SIZE 36

/* flags: 0 for a handle of the volume; FH_FLAG_PSEUDO for a node of the
 * NFSv4 pseudo file system (inode = pseudo node number). */
#define FH_FLAG_PSEUDO 0x01

struct fhandle {
	uint8_t flags;
	uint8_t volume[16];
	mcfs_ino_t ino;
	uint32_t generation;
	uint32_t export_id;
};

/* Writes the wire form: "MC", version, flags, uuid, inode, generation, export id. */
void fh_encode(const struct fhandle *fh, uint8_t out[FH_SIZE]);
/* Parses the wire form without judging it: 0, or -EBADMSG for garbage
 * (wrong size, magic or version). */
int fh_parse(const uint8_t *buf, size_t len, struct fhandle *out);
/* Returns 0, -EBADMSG for garbage (wrong size, magic or version: BADHANDLE),
 * or -ESTALE when the handle is well formed but of another volume. */
int fh_decode(const uint8_t *buf, size_t len, const uint8_t volume[16], struct fhandle *out);
/* Parses a textual uuid into 16 bytes; -EINVAL if malformed. */
int fh_parse_uuid(const char *text, uint8_t out[16]);

#endif
