/* NFSv4 attribute codec (RFC 7530 §5, RFC 8881 §5, RFC 7862/8276 for 4.2):
 * struct mcfs_attr and friends to fattr4 for GETATTR/READDIR, fattr4 to
 * struct vfs_setattr for SETATTR/CREATE/OPEN, and the VERIFY/NVERIFY
 * comparison. Everything returns nfsstat4 values; nothing here touches the
 * vfs, so the caller gathers what the requested bitmap needs first. */
#ifndef MCFS_NFS4_ATTR_H
#define MCFS_NFS4_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "nfs4.h"
#include "vfs.h"

/* Attributes 0..95: the highest defined one is xattr_support (82). Words a
 * client sends beyond these are ignored in requests. */
#define NFS4_ATTR_WORDS 3
#define NFS4_ATTR_MAX	(NFS4_ATTR_WORDS * 32)

struct nfs4_bitmap {
	uint32_t w[NFS4_ATTR_WORDS];
};

void nfs4_bm_set(struct nfs4_bitmap *bm, unsigned attr);
bool nfs4_bm_test(const struct nfs4_bitmap *bm, unsigned attr);
void nfs4_bm_and(struct nfs4_bitmap *out, const struct nfs4_bitmap *a, const struct nfs4_bitmap *b);
bool nfs4_bm_empty(const struct nfs4_bitmap *bm);
/* Words needed on the wire: trailing zero words are trimmed. */
unsigned nfs4_bm_words(const struct nfs4_bitmap *bm);
/* Keeps the first NFS4_ATTR_WORDS words; *extra says whether a bit was set
 * beyond them (NULL when the caller does not care). */
void nfs4_bm_from_xdr(struct nfs4_bitmap *bm, const bitmap4 *in, bool *extra);
/* Allocates out->bitmap4_val (freed by xdr_free or nfs4_bm_free_xdr).
 * Returns NFS4_OK or NFS4ERR_SERVERFAULT on allocation failure. */
nfsstat4 nfs4_bm_to_xdr(const struct nfs4_bitmap *bm, bitmap4 *out);
void nfs4_bm_free_xdr(bitmap4 *bm);

/* Attributes that GETATTR can return or SETATTR can set for a minor
 * version (0, 1, 2): the supported_attrs value. */
void nfs4_attr_supported(uint32_t minorversion, struct nfs4_bitmap *out);

/* owner/owner_group names. The forward maps write "name@domain" and return
 * 0, or non-zero when the id has no name (the codec then sends the id as a
 * decimal string). The reverse maps return 0 or non-zero when unknown;
 * decimal strings ("1000") never reach them. Any pointer may be NULL. */
struct nfs4_idmap {
	int (*uid_to_name)(void *arg, uint32_t uid, char *buf, size_t len);
	int (*gid_to_name)(void *arg, uint32_t gid, char *buf, size_t len);
	int (*name_to_uid)(void *arg, const char *name, uint32_t *uid);
	int (*name_to_gid)(void *arg, const char *name, uint32_t *gid);
	void *arg;
};

/* Longest owner string accepted or produced (bytes, without the NUL). */
#define NFS4_OWNER_MAX 255

/* What the encoder needs about one object. Zero limits take the defaults. */
struct nfs4_attr_ctx {
	const struct mcfs_attr *attr;
	const uint8_t *fh; /* the object's file handle, for the filehandle attribute */
	size_t fh_len;
	uint64_t fsid_major, fsid_minor;
	/* An export root is a file system root for the client: its
	 * mounted_on_fileid is the fileid of the directory it is mounted on
	 * in the pseudo file system rather than its own. */
	bool fs_root;
	uint64_t mounted_on_fileid;
	uint32_t lease_time; /* seconds */
	uint32_t minorversion;
	/* Required when the request asks for space or files attributes
	 * (nfs4_attr_need_statfs); NULL otherwise. */
	const struct vfs_statfs *statfs;
	uint64_t maxread, maxwrite; /* default 1 MiB */
	uint32_t maxname;	    /* default 255 */
	uint32_t maxlink;	    /* default UINT32_MAX */
	uint64_t maxfilesize;	    /* default 2^53 */
	bool xattr_support;	    /* 4.2 xattr_support value */
	nfsstat4 rdattr_error;	    /* READDIR: the error for this entry, else NFS4_OK */
	const struct nfs4_idmap *idmap;
};

/* Whether the requested bitmap asks for statfs-backed attributes. */
bool nfs4_attr_need_statfs(const bitmap4 *req);

/* GETATTR/READDIR: the returned bitmap is request AND supported, the values
 * in ascending attribute order. out's buffers are allocated (xdr_free with
 * xdr_fattr4, or nfs4_fattr_free). NFS4ERR_INVAL when a write-only
 * attribute is requested; NFS4ERR_SERVERFAULT when statfs is missing or
 * memory runs out. */
nfsstat4 nfs4_attr_encode(const struct nfs4_attr_ctx *ctx, const bitmap4 *req, fattr4 *out);
void nfs4_fattr_free(fattr4 *f);

/* Which operation a fattr4 to decode came with: SETATTR, or an object
 * creation (CREATE, OPEN createattrs); they accept the same attributes
 * today, the distinction is for mode_umask and exclusive creation later. */
enum nfs4_set_purpose {
	NFS4_SET_SETATTR,
	NFS4_SET_CREATE,
};

/* SETATTR/CREATE/OPEN: fills *sa (mask and values; nothing else touched
 * beyond zeroing it) and *attrsset with the attributes it carries.
 * Errors: NFS4ERR_ATTRNOTSUPP for a settable attribute this server does not
 * support or an unknown one, NFS4ERR_INVAL for a read-only attribute or a
 * bad time, NFS4ERR_BADXDR for a short or overlong attrlist,
 * NFS4ERR_BADOWNER for an owner or group that cannot be mapped. */
nfsstat4 nfs4_attr_decode(const fattr4 *in, enum nfs4_set_purpose purpose, uint32_t minorversion,
			  const struct nfs4_idmap *idmap, struct vfs_setattr *sa,
			  struct nfs4_bitmap *attrsset);

/* VERIFY/NVERIFY: *same tells whether the server's values for the client's
 * bitmap encode to exactly the client's attrlist. Errors:
 * NFS4ERR_ATTRNOTSUPP for an unsupported attribute, NFS4ERR_INVAL for
 * rdattr_error or a write-only attribute, plus those of nfs4_attr_encode.
 * VERIFY maps !*same to NFS4ERR_NOT_SAME, NVERIFY *same to NFS4ERR_SAME. */
nfsstat4 nfs4_attr_verify(const struct nfs4_attr_ctx *ctx, const fattr4 *client, bool *same);

#endif
