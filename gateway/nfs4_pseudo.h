/* NFSv4 pseudo file system (RFC 7530 §7, RFC 8881 §7): the read-only tree
 * of directories that leads from PUTROOTFH down to the export roots.
 *
 * Built once from the export list: every export path and each of its
 * prefixes is a node; a node whose path is exported is a junction, and a
 * client that may use that export crosses into the volume there. When "/"
 * is exported (and the client may use it) the root is that export's volume
 * root and no pseudo node is ever shown. A node that is a junction for an
 * export the client may not use still appears as a pseudo directory when a
 * deeper export below it is usable, so nested exports stay reachable.
 *
 * Pseudo handles share the 36-byte layout of gateway/fhandle.h ("MC",
 * version, flags, volume uuid, inode, generation, export id) with flags
 * NP4_FH_FLAG_PSEUDO, the node number as inode, generation 0 and export
 * id 0. Node numbers hash the node's path (so they survive restarts and
 * are the same on every gateway with the same exports) and have the top
 * bit set, a range no real inode uses; they double as fileids and as
 * READDIR cookies. A 63-bit hash collision is settled by salting the
 * later path, so only then can adding or removing an export renumber a
 * node (its old handle goes stale).
 *
 * No XDR and no I/O: statuses are numerically nfsstat4 values. The tree is
 * immutable once built, so lookups need no lock; reloading exports builds
 * a new tree. It keeps pointers into the export array it was built from,
 * which must outlive it.
 */
#ifndef MCFS_NFS4_PSEUDO_H
#define MCFS_NFS4_PSEUDO_H

#include "fhandle.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "attr.h"
#include "export.h"

enum np4_status {
	NP4_OK = 0,
	NP4ERR_NOENT = 2,
	NP4ERR_INVAL = 22,
	NP4ERR_ROFS = 30,
	NP4ERR_NAMETOOLONG = 63,
	NP4ERR_STALE = 70,
	NP4ERR_BADHANDLE = 10001,
	NP4ERR_BAD_COOKIE = 10003,
	NP4ERR_TOOSMALL = 10005,
};

#define NP4_FH_SIZE	   FH_SIZE
#define NP4_FH_FLAG_PSEUDO FH_FLAG_PSEUDO
#define NP4_NODE_BIT	   (UINT64_C(1) << 63)
#define NP4_NAME_MAX	   255

/* Which client is asking: allowed(export, peer, arg) says whether it may
 * use an export. A NULL view, or a NULL allowed, shows everything. */
struct np4_view {
	bool (*allowed)(const struct export *e, const struct sockaddr *peer, void *arg);
	void *arg;
	const struct sockaddr *peer;
};

enum np4_kind {
	NP4_PSEUDO, /* stay in the pseudo fs at node */
	NP4_EXPORT, /* enter export at its root inode */
	/* Only from np4_export_parent: the export lies inside another export
	 * the client uses, so ".." is the real parent directory in the
	 * volume, to be served under export. */
	NP4_VOLUME,
};

struct np4_target {
	enum np4_kind kind;
	/* NP4_PSEUDO: the node. NP4_EXPORT: the junction node, whose number is
	 * the export root's mounted_on_fileid. */
	uint64_t node;
	const struct export *export; /* NP4_EXPORT, NP4_VOLUME */
	mcfs_ino_t root;	     /* NP4_EXPORT: export->root */
};

struct np4_dirent {
	const char *name; /* points into the tree */
	uint64_t cookie;
	struct np4_target target;
};

struct np4_tree;

/* Builds the tree from n exports with normalised absolute paths. volume is
 * stamped into handles (NULL: zeros). Returns 0, -EINVAL for a path that is
 * not normalised, or -ENOMEM. A repeated path keeps its first export. */
int np4_build(const struct export *exports, size_t n, const uint8_t volume[16],
	      struct np4_tree **out);
void np4_free(struct np4_tree *t);
size_t np4_node_count(const struct np4_tree *t);

/* PUTROOTFH: the "/" export's volume root when the client may use it,
 * else the pseudo root (which then exists even if nothing is visible). */
void np4_root(const struct np4_tree *t, const struct np4_view *v, struct np4_target *out);
uint64_t np4_root_node(const struct np4_tree *t);
bool np4_is_root(const struct np4_tree *t, uint64_t node);

/* LOOKUP in a pseudo directory. NP4ERR_INVAL for an empty name, a '/' or
 * a NUL in it; NP4ERR_NAMETOOLONG beyond NP4_NAME_MAX bytes; NP4ERR_NOENT
 * for anything this client may not see (including "." and ".."); STALE
 * for an unknown node. */
enum np4_status np4_lookup(const struct np4_tree *t, uint64_t node, const char *name, size_t len,
			   const struct np4_view *v, struct np4_target *out);
/* LOOKUPP in a pseudo directory; the root's parent is the root itself. */
enum np4_status np4_lookupp(const struct np4_tree *t, uint64_t node, const struct np4_view *v,
			    struct np4_target *out);
/* LOOKUPP from the root directory of the export with this id: where the
 * client lands when it walks up out of the volume. NOENT for an unknown
 * id or an export whose parent the client may not see. */
enum np4_status np4_export_parent(const struct np4_tree *t, uint32_t export_id,
				  const struct np4_view *v, struct np4_target *out);

/* The junction node of the export with this id: its number is the
 * mounted_on_fileid of the export root. False for an unknown id. */
bool np4_export_node(const struct np4_tree *t, uint32_t export_id, uint64_t *node);

/* READDIR: up to max entries after cookie (0 starts), in ascending cookie
 * order, only those this client may see. Cookies are the entries' node
 * numbers, so a cookie stays valid across rebuilds; one whose entry has
 * gone resumes at the next. *eof is set when the listing is complete.
 * NP4ERR_BAD_COOKIE for a cookie this module never hands out,
 * NP4ERR_TOOSMALL when max is 0. */
enum np4_status np4_readdir(const struct np4_tree *t, uint64_t node, uint64_t cookie,
			    const struct np4_view *v, struct np4_dirent *out, size_t max, size_t *n,
			    bool *eof);

/* GETATTR: a read-only directory owned by root, timestamped when the tree
 * was built; change grows with every build, across restarts too. nlink
 * counts the sub-directories this client may see. */
enum np4_status np4_getattr(const struct np4_tree *t, uint64_t node, const struct np4_view *v,
			    struct mcfs_attr *out);

/* ---- handles ---- */

/* Cheap test for routing PUTFH: "MC", version and the pseudo flag. Any
 * operation that would modify a pseudo node answers NP4ERR_ROFS. */
bool np4_is_pseudo_handle(const uint8_t *buf, size_t len);
void np4_fh_encode(const uint8_t volume[16], uint64_t node, uint8_t out[NP4_FH_SIZE]);
/* Syntax only: NP4ERR_BADHANDLE for anything that is not a well-formed
 * pseudo handle, NP4ERR_STALE for one of another volume. */
enum np4_status np4_fh_decode(const uint8_t *buf, size_t len, const uint8_t volume[16],
			      uint64_t *node);
/* The handle of a node of this tree. */
void np4_node_fh(const struct np4_tree *t, uint64_t node, uint8_t out[NP4_FH_SIZE]);
/* PUTFH of a pseudo handle: decodes it and checks the node exists and the
 * client may see it (STALE otherwise, so hidden nodes look absent). */
enum np4_status np4_putfh(const struct np4_tree *t, const uint8_t *buf, size_t len,
			  const struct np4_view *v, uint64_t *node);

#endif
