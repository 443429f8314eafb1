/* NFSv4 attribute codec: see nfs4_attr.h. Values are XDR-encoded one by one
 * with xdrmem in ascending attribute order, which is what fattr4's
 * attrlist4 is on the wire (RFC 8881 §5). */
#include "nfs4_attr.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rpc/xdr.h>

#define DEFAULT_MAXRW	    (1u << 20)
#define DEFAULT_MAXNAME	    255
#define DEFAULT_MAXFILESIZE (1ull << 53)

/* Attribute classes, as the protocol defines them (independent of what this
 * server supports): the decoder tells a read-only attribute in a set
 * request (NFS4ERR_INVAL) from a settable one it lacks (ATTRNOTSUPP). */
enum {
	A_RO = 1,     /* get only */
	A_RW = 2,     /* get and set */
	A_WO = 4,     /* set only: time_access_set, time_modify_set */
	A_STATFS = 8, /* value comes from ctx->statfs */
};

typedef bool_t (*attr_enc_fn)(XDR *x, const struct nfs4_attr_ctx *c);

struct attr_desc {
	uint8_t minver; /* first minor version that has it */
	uint8_t flags;
	bool supported;
	attr_enc_fn enc; /* NULL for write-only ones */
};

/* ---- bitmaps */

void nfs4_bm_set(struct nfs4_bitmap *bm, unsigned attr)
{
	if (attr < NFS4_ATTR_MAX)
		bm->w[attr / 32] |= 1u << (attr % 32);
}

bool nfs4_bm_test(const struct nfs4_bitmap *bm, unsigned attr)
{
	return attr < NFS4_ATTR_MAX && (bm->w[attr / 32] >> (attr % 32)) & 1;
}

void nfs4_bm_and(struct nfs4_bitmap *out, const struct nfs4_bitmap *a, const struct nfs4_bitmap *b)
{
	for (unsigned i = 0; i < NFS4_ATTR_WORDS; i++)
		out->w[i] = a->w[i] & b->w[i];
}

bool nfs4_bm_empty(const struct nfs4_bitmap *bm)
{
	return nfs4_bm_words(bm) == 0;
}

unsigned nfs4_bm_words(const struct nfs4_bitmap *bm)
{
	unsigned n = NFS4_ATTR_WORDS;
	while (n > 0 && bm->w[n - 1] == 0)
		n--;
	return n;
}

void nfs4_bm_from_xdr(struct nfs4_bitmap *bm, const bitmap4 *in, bool *extra)
{
	bool more = false;
	memset(bm, 0, sizeof(*bm));
	for (u_int i = 0; in && i < in->bitmap4_len; i++) {
		if (i < NFS4_ATTR_WORDS)
			bm->w[i] = in->bitmap4_val[i];
		else if (in->bitmap4_val[i])
			more = true;
	}
	if (extra)
		*extra = more;
}

nfsstat4 nfs4_bm_to_xdr(const struct nfs4_bitmap *bm, bitmap4 *out)
{
	unsigned n = nfs4_bm_words(bm);
	/* Never a NULL array: some callers hand the result straight to XDR. */
	out->bitmap4_val = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!out->bitmap4_val) {
		out->bitmap4_len = 0;
		return NFS4ERR_SERVERFAULT;
	}
	memcpy(out->bitmap4_val, bm->w, n * sizeof(uint32_t));
	out->bitmap4_len = n;
	return NFS4_OK;
}

void nfs4_bm_free_xdr(bitmap4 *bm)
{
	free(bm->bitmap4_val);
	bm->bitmap4_val = NULL;
	bm->bitmap4_len = 0;
}

/* ---- value encoders */

static bool_t put_u32(XDR *x, uint32_t v)
{
	return xdr_uint32_t(x, &v);
}

static bool_t put_u64(XDR *x, uint64_t v)
{
	return xdr_uint64_t(x, &v);
}

static bool_t put_bool(XDR *x, bool v)
{
	bool_t b = v ? TRUE : FALSE;
	return xdr_bool(x, &b);
}

static bool_t put_bitmap(XDR *x, const struct nfs4_bitmap *bm)
{
	unsigned n = nfs4_bm_words(bm);
	if (!put_u32(x, n))
		return FALSE;
	for (unsigned i = 0; i < n; i++)
		if (!put_u32(x, bm->w[i]))
			return FALSE;
	return TRUE;
}

static bool_t put_time(XDR *x, const struct timespec *ts)
{
	int64_t s = ts->tv_sec;
	return xdr_int64_t(x, &s) && put_u32(x, (uint32_t)ts->tv_nsec);
}

static bool_t put_string(XDR *x, const char *s)
{
	char *p = (char *)s;
	u_int len = (u_int)strlen(s);
	return xdr_bytes(x, &p, &len, NFS4_OWNER_MAX);
}

static uint64_t or_default(uint64_t v, uint64_t def)
{
	return v ? v : def;
}

static nfs_ftype4 ftype4(uint8_t t)
{
	switch (t) {
	case MCFS_DIR:
		return NF4DIR;
	case MCFS_SYMLINK:
		return NF4LNK;
	case MCFS_CHR:
		return NF4CHR;
	case MCFS_BLK:
		return NF4BLK;
	case MCFS_FIFO:
		return NF4FIFO;
	case MCFS_SOCK:
		return NF4SOCK;
	default:
		return NF4REG;
	}
}

static bool_t enc_supported(XDR *x, const struct nfs4_attr_ctx *c)
{
	struct nfs4_bitmap bm;
	nfs4_attr_supported(c->minorversion, &bm);
	return put_bitmap(x, &bm);
}

static bool_t enc_type(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u32(x, ftype4(c->attr->type));
}

static bool_t enc_fh_expire(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u32(x, FH4_PERSISTENT); /* handles are inode + generation */
}

static bool_t enc_change(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, c->attr->change);
}

static bool_t enc_size(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, c->attr->size);
}

static bool_t enc_true(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_bool(x, true);
}

static bool_t enc_false(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_bool(x, false);
}

static bool_t enc_fsid(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, c->fsid_major) && put_u64(x, c->fsid_minor);
}

static bool_t enc_lease(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u32(x, c->lease_time);
}

static bool_t enc_rdattr_error(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u32(x, (uint32_t)c->rdattr_error);
}

static bool_t enc_zero32(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u32(x, 0); /* aclsupport: no ACL types */
}

static bool_t enc_filehandle(XDR *x, const struct nfs4_attr_ctx *c)
{
	if (!c->fh || c->fh_len == 0 || c->fh_len > NFS4_FHSIZE)
		return FALSE;
	char *p = (char *)c->fh;
	u_int len = (u_int)c->fh_len;
	return xdr_bytes(x, &p, &len, NFS4_FHSIZE);
}

static bool_t enc_fileid(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, c->attr->ino);
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static bool_t enc_files_avail(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, c->statfs->avail_inodes);
}

static bool_t enc_files_free(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, sub_sat(c->statfs->total_inodes, c->statfs->used_inodes));
}

static bool_t enc_files_total(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, c->statfs->total_inodes);
}

static bool_t enc_maxfilesize(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, or_default(c->maxfilesize, DEFAULT_MAXFILESIZE));
}

static bool_t enc_maxlink(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u32(x, (uint32_t)or_default(c->maxlink, UINT32_MAX));
}

static bool_t enc_maxname(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u32(x, (uint32_t)or_default(c->maxname, DEFAULT_MAXNAME));
}

static bool_t enc_maxread(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, or_default(c->maxread, DEFAULT_MAXRW));
}

static bool_t enc_maxwrite(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, or_default(c->maxwrite, DEFAULT_MAXRW));
}

static bool_t enc_mode(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u32(x, c->attr->mode & 07777);
}

static bool_t enc_numlinks(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u32(x, c->attr->nlink);
}

typedef int (*id_to_name_fn)(void *arg, uint32_t id, char *buf, size_t len);

/* An id without a name goes out as its decimal form, which Linux clients
 * map back to the same number. */
static bool_t put_owner(XDR *x, id_to_name_fn fn, void *arg, uint32_t id)
{
	char name[NFS4_OWNER_MAX + 1];
	if (!fn || fn(arg, id, name, sizeof(name)) != 0 || name[0] == '\0' ||
	    strnlen(name, sizeof(name)) == sizeof(name))
		snprintf(name, sizeof(name), "%" PRIu32, id);
	return put_string(x, name);
}

static bool_t enc_owner(XDR *x, const struct nfs4_attr_ctx *c)
{
	const struct nfs4_idmap *m = c->idmap;
	return put_owner(x, m ? m->uid_to_name : NULL, m ? m->arg : NULL, c->attr->uid);
}

static bool_t enc_owner_group(XDR *x, const struct nfs4_attr_ctx *c)
{
	const struct nfs4_idmap *m = c->idmap;
	return put_owner(x, m ? m->gid_to_name : NULL, m ? m->arg : NULL, c->attr->gid);
}

static bool_t enc_rawdev(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u32(x, c->attr->rdev_major) && put_u32(x, c->attr->rdev_minor);
}

static bool_t enc_space_avail(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, c->statfs->avail_bytes);
}

static bool_t enc_space_free(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, sub_sat(c->statfs->total_bytes, c->statfs->used_bytes));
}

static bool_t enc_space_total(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, c->statfs->total_bytes);
}

static bool_t enc_space_used(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, attr_space_used(c->attr));
}

static bool_t enc_atime(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_time(x, &c->attr->atime);
}

static bool_t enc_time_delta(XDR *x, const struct nfs4_attr_ctx *c)
{
	static const struct timespec ns = {0, 1}; /* times are kept to the nanosecond */
	return put_time(x, &ns);
}

static bool_t enc_ctime(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_time(x, &c->attr->ctime);
}

static bool_t enc_mtime(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_time(x, &c->attr->mtime);
}

static bool_t enc_mounted_on(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_u64(x, c->fs_root ? c->mounted_on_fileid : c->attr->ino);
}

/* What an EXCLUSIVE4_1 OPEN may set alongside the verifier: not the times,
 * which are where the verifier is kept. */
static void exclcreat_attrs(struct nfs4_bitmap *bm)
{
	memset(bm, 0, sizeof(*bm));
	nfs4_bm_set(bm, FATTR4_SIZE);
	nfs4_bm_set(bm, FATTR4_MODE);
	nfs4_bm_set(bm, FATTR4_OWNER);
	nfs4_bm_set(bm, FATTR4_OWNER_GROUP);
}

static bool_t enc_exclcreat(XDR *x, const struct nfs4_attr_ctx *c)
{
	struct nfs4_bitmap bm;
	exclcreat_attrs(&bm);
	return put_bitmap(x, &bm);
}

static bool_t enc_xattr_support(XDR *x, const struct nfs4_attr_ctx *c)
{
	return put_bool(x, c->xattr_support);
}

/* ---- the attribute table */

#define SUP(v, f, fn)                                                                              \
	{                                                                                          \
		.minver = (v), .flags = (f), .supported = true, .enc = (fn)                        \
	}
#define NOSUP(v, f)                                                                                \
	{                                                                                          \
		.minver = (v), .flags = (f)                                                        \
	}

static const struct attr_desc attrs[NFS4_ATTR_MAX] = {
    [FATTR4_SUPPORTED_ATTRS] = SUP(0, A_RO, enc_supported),
    [FATTR4_TYPE] = SUP(0, A_RO, enc_type),
    [FATTR4_FH_EXPIRE_TYPE] = SUP(0, A_RO, enc_fh_expire),
    [FATTR4_CHANGE] = SUP(0, A_RO, enc_change),
    [FATTR4_SIZE] = SUP(0, A_RW, enc_size),
    [FATTR4_LINK_SUPPORT] = SUP(0, A_RO, enc_true),
    [FATTR4_SYMLINK_SUPPORT] = SUP(0, A_RO, enc_true),
    [FATTR4_NAMED_ATTR] = SUP(0, A_RO, enc_false),
    [FATTR4_FSID] = SUP(0, A_RO, enc_fsid),
    [FATTR4_UNIQUE_HANDLES] = SUP(0, A_RO, enc_true),
    [FATTR4_LEASE_TIME] = SUP(0, A_RO, enc_lease),
    [FATTR4_RDATTR_ERROR] = SUP(0, A_RO, enc_rdattr_error),
    [FATTR4_ACL] = NOSUP(0, A_RW),
    [FATTR4_ACLSUPPORT] = SUP(0, A_RO, enc_zero32),
    [FATTR4_ARCHIVE] = NOSUP(0, A_RW),
    [FATTR4_CANSETTIME] = SUP(0, A_RO, enc_true),
    [FATTR4_CASE_INSENSITIVE] = SUP(0, A_RO, enc_false),
    [FATTR4_CASE_PRESERVING] = SUP(0, A_RO, enc_true),
    [FATTR4_CHOWN_RESTRICTED] = SUP(0, A_RO, enc_true),
    [FATTR4_FILEHANDLE] = SUP(0, A_RO, enc_filehandle),
    [FATTR4_FILEID] = SUP(0, A_RO, enc_fileid),
    [FATTR4_FILES_AVAIL] = SUP(0, A_RO | A_STATFS, enc_files_avail),
    [FATTR4_FILES_FREE] = SUP(0, A_RO | A_STATFS, enc_files_free),
    [FATTR4_FILES_TOTAL] = SUP(0, A_RO | A_STATFS, enc_files_total),
    [FATTR4_FS_LOCATIONS] = NOSUP(0, A_RO),
    [FATTR4_HIDDEN] = NOSUP(0, A_RW),
    [FATTR4_HOMOGENEOUS] = SUP(0, A_RO, enc_true),
    [FATTR4_MAXFILESIZE] = SUP(0, A_RO, enc_maxfilesize),
    [FATTR4_MAXLINK] = SUP(0, A_RO, enc_maxlink),
    [FATTR4_MAXNAME] = SUP(0, A_RO, enc_maxname),
    [FATTR4_MAXREAD] = SUP(0, A_RO, enc_maxread),
    [FATTR4_MAXWRITE] = SUP(0, A_RO, enc_maxwrite),
    [FATTR4_MIMETYPE] = NOSUP(0, A_RW),
    [FATTR4_MODE] = SUP(0, A_RW, enc_mode),
    [FATTR4_NO_TRUNC] = SUP(0, A_RO, enc_true),
    [FATTR4_NUMLINKS] = SUP(0, A_RO, enc_numlinks),
    [FATTR4_OWNER] = SUP(0, A_RW, enc_owner),
    [FATTR4_OWNER_GROUP] = SUP(0, A_RW, enc_owner_group),
    [FATTR4_QUOTA_AVAIL_HARD] = NOSUP(0, A_RO),
    [FATTR4_QUOTA_AVAIL_SOFT] = NOSUP(0, A_RO),
    [FATTR4_QUOTA_USED] = NOSUP(0, A_RO),
    [FATTR4_RAWDEV] = SUP(0, A_RO, enc_rawdev),
    [FATTR4_SPACE_AVAIL] = SUP(0, A_RO | A_STATFS, enc_space_avail),
    [FATTR4_SPACE_FREE] = SUP(0, A_RO | A_STATFS, enc_space_free),
    [FATTR4_SPACE_TOTAL] = SUP(0, A_RO | A_STATFS, enc_space_total),
    [FATTR4_SPACE_USED] = SUP(0, A_RO, enc_space_used),
    [FATTR4_SYSTEM] = NOSUP(0, A_RW),
    [FATTR4_TIME_ACCESS] = SUP(0, A_RO, enc_atime),
    [FATTR4_TIME_ACCESS_SET] = SUP(0, A_WO, NULL),
    [FATTR4_TIME_BACKUP] = NOSUP(0, A_RW),
    [FATTR4_TIME_CREATE] = NOSUP(0, A_RW),
    [FATTR4_TIME_DELTA] = SUP(0, A_RO, enc_time_delta),
    [FATTR4_TIME_METADATA] = SUP(0, A_RO, enc_ctime),
    [FATTR4_TIME_MODIFY] = SUP(0, A_RO, enc_mtime),
    [FATTR4_TIME_MODIFY_SET] = SUP(0, A_WO, NULL),
    [FATTR4_MOUNTED_ON_FILEID] = SUP(0, A_RO, enc_mounted_on),
    /* NFSv4.1 (RFC 8881) */
    [FATTR4_DIR_NOTIF_DELAY] = NOSUP(1, A_RO),
    [FATTR4_DIRENT_NOTIF_DELAY] = NOSUP(1, A_RO),
    [FATTR4_DACL] = NOSUP(1, A_RW),
    [FATTR4_SACL] = NOSUP(1, A_RW),
    [FATTR4_CHANGE_POLICY] = NOSUP(1, A_RO),
    [FATTR4_FS_STATUS] = NOSUP(1, A_RO),
    [FATTR4_FS_LAYOUT_TYPES] = NOSUP(1, A_RO),
    [FATTR4_LAYOUT_HINT] = NOSUP(1, A_WO),
    [FATTR4_LAYOUT_TYPES] = NOSUP(1, A_RO),
    [FATTR4_LAYOUT_BLKSIZE] = NOSUP(1, A_RO),
    [FATTR4_LAYOUT_ALIGNMENT] = NOSUP(1, A_RO),
    [FATTR4_FS_LOCATIONS_INFO] = NOSUP(1, A_RO),
    [FATTR4_MDSTHRESHOLD] = NOSUP(1, A_RO),
    [FATTR4_RETENTION_GET] = NOSUP(1, A_RO),
    [FATTR4_RETENTION_SET] = NOSUP(1, A_WO),
    [FATTR4_RETENTEVT_GET] = NOSUP(1, A_RO),
    [FATTR4_RETENTEVT_SET] = NOSUP(1, A_WO),
    [FATTR4_RETENTION_HOLD] = NOSUP(1, A_RW),
    [FATTR4_MODE_SET_MASKED] = NOSUP(1, A_WO),
    [FATTR4_SUPPATTR_EXCLCREAT] = SUP(1, A_RO, enc_exclcreat),
    [FATTR4_FS_CHARSET_CAP] = NOSUP(1, A_RO),
    /* NFSv4.2 (RFC 7862, 8275, 8276) */
    [FATTR4_CLONE_BLKSIZE] = NOSUP(2, A_RO),
    [FATTR4_SPACE_FREED] = NOSUP(2, A_RO),
    [FATTR4_CHANGE_ATTR_TYPE] = NOSUP(2, A_RO),
    [FATTR4_SEC_LABEL] = NOSUP(2, A_RW),
    [FATTR4_MODE_UMASK] = NOSUP(2, A_WO),
    [FATTR4_XATTR_SUPPORT] = SUP(2, A_RO, enc_xattr_support),
};

/* The attribute as the minor version in use knows it, or NULL when that
 * version does not define it. */
static const struct attr_desc *attr_get(unsigned a, uint32_t minorversion)
{
	if (a >= NFS4_ATTR_MAX || attrs[a].flags == 0 || attrs[a].minver > minorversion)
		return NULL;
	return &attrs[a];
}

static bool attr_supported(unsigned a, uint32_t minorversion)
{
	const struct attr_desc *d = attr_get(a, minorversion);
	return d && d->supported;
}

void nfs4_attr_supported(uint32_t minorversion, struct nfs4_bitmap *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned a = 0; a < NFS4_ATTR_MAX; a++)
		if (attr_supported(a, minorversion))
			nfs4_bm_set(out, a);
}

bool nfs4_attr_need_statfs(const bitmap4 *req)
{
	struct nfs4_bitmap bm;
	nfs4_bm_from_xdr(&bm, req, NULL);
	for (unsigned a = 0; a < NFS4_ATTR_MAX; a++)
		if (nfs4_bm_test(&bm, a) && (attrs[a].flags & A_STATFS))
			return true;
	return false;
}

/* ---- encoding */

/* Upper bound of the values of every supported attribute but the file
 * handle: 50-odd values of at most 16 bytes, two owner strings, two
 * bitmaps. Checked by xdrmem anyway; a miss is a SERVERFAULT, not an
 * overflow. */
#define VALUES_MAX (60 * 16 + 2 * (4 + NFS4_OWNER_MAX + 3) + 2 * 16)

/* Checks a request against the table: write-only attributes cannot be
 * read (GETATTR in RFC 7530/8881: NFS4ERR_INVAL) and statfs-backed ones need
 * ctx->statfs. */
static nfsstat4 check_readable(const struct nfs4_attr_ctx *ctx, const struct nfs4_bitmap *bm)
{
	for (unsigned a = 0; a < NFS4_ATTR_MAX; a++) {
		if (!nfs4_bm_test(bm, a))
			continue;
		if (attrs[a].flags & A_WO)
			return NFS4ERR_INVAL;
		if ((attrs[a].flags & A_STATFS) && !ctx->statfs)
			return NFS4ERR_SERVERFAULT;
	}
	return NFS4_OK;
}

/* Encodes the values of bm (all supported, none write-only) into a new
 * buffer. */
static nfsstat4 encode_values(const struct nfs4_attr_ctx *ctx, const struct nfs4_bitmap *bm,
			      char **buf, u_int *len)
{
	size_t cap = VALUES_MAX + 4 + ctx->fh_len + 3;
	char *p = malloc(cap);
	if (!p)
		return NFS4ERR_SERVERFAULT;
	XDR x;
	xdrmem_create(&x, p, (u_int)cap, XDR_ENCODE);
	for (unsigned a = 0; a < NFS4_ATTR_MAX; a++) {
		if (nfs4_bm_test(bm, a) && !attrs[a].enc(&x, ctx)) {
			xdr_destroy(&x);
			free(p);
			return NFS4ERR_SERVERFAULT;
		}
	}
	*len = xdr_getpos(&x);
	xdr_destroy(&x);
	/* READDIR keeps many of these around: give back the slack. */
	char *shrunk = realloc(p, *len ? *len : 1);
	*buf = shrunk ? shrunk : p;
	return NFS4_OK;
}

nfsstat4 nfs4_attr_encode(const struct nfs4_attr_ctx *ctx, const bitmap4 *req, fattr4 *out)
{
	struct nfs4_bitmap want, sup, bm;
	memset(out, 0, sizeof(*out));
	nfs4_bm_from_xdr(&want, req, NULL);
	nfs4_attr_supported(ctx->minorversion, &sup);
	nfs4_bm_and(&bm, &want, &sup);
	nfsstat4 st = check_readable(ctx, &bm);
	if (st != NFS4_OK)
		return st;
	st = encode_values(ctx, &bm, &out->attr_vals.attrlist4_val, &out->attr_vals.attrlist4_len);
	if (st != NFS4_OK)
		return st;
	st = nfs4_bm_to_xdr(&bm, &out->attrmask);
	if (st != NFS4_OK)
		nfs4_fattr_free(out);
	return st;
}

void nfs4_fattr_free(fattr4 *f)
{
	nfs4_bm_free_xdr(&f->attrmask);
	free(f->attr_vals.attrlist4_val);
	f->attr_vals.attrlist4_val = NULL;
	f->attr_vals.attrlist4_len = 0;
}

/* ---- VERIFY / NVERIFY */

nfsstat4 nfs4_attr_verify(const struct nfs4_attr_ctx *ctx, const fattr4 *client, bool *same)
{
	struct nfs4_bitmap bm;
	bool extra;
	nfs4_bm_from_xdr(&bm, &client->attrmask, &extra);
	if (extra)
		return NFS4ERR_ATTRNOTSUPP;
	for (unsigned a = 0; a < NFS4_ATTR_MAX; a++) {
		if (!nfs4_bm_test(&bm, a))
			continue;
		if (!attr_supported(a, ctx->minorversion))
			return NFS4ERR_ATTRNOTSUPP;
		/* RFC 8881 §18.31.3: rdattr_error has no place in a comparison. */
		if (a == FATTR4_RDATTR_ERROR)
			return NFS4ERR_INVAL;
	}
	nfsstat4 st = check_readable(ctx, &bm);
	if (st != NFS4_OK)
		return st;
	char *buf;
	u_int len;
	st = encode_values(ctx, &bm, &buf, &len);
	if (st != NFS4_OK)
		return st;
	*same = len == client->attr_vals.attrlist4_len &&
		(len == 0 || memcmp(buf, client->attr_vals.attrlist4_val, len) == 0);
	free(buf);
	return NFS4_OK;
}

/* ---- decoding (SETATTR, CREATE, OPEN) */

/* Settable attributes this server applies. */
static bool settable(unsigned a)
{
	switch (a) {
	case FATTR4_SIZE:
	case FATTR4_MODE:
	case FATTR4_OWNER:
	case FATTR4_OWNER_GROUP:
	case FATTR4_TIME_ACCESS_SET:
	case FATTR4_TIME_MODIFY_SET:
		return true;
	default:
		return false;
	}
}

/* The error for a bitmap before any value is read: the values of an
 * attribute we do not know cannot even be skipped. */
static nfsstat4 check_settable(const struct nfs4_bitmap *bm, uint32_t minorversion)
{
	for (unsigned a = 0; a < NFS4_ATTR_MAX; a++) {
		if (!nfs4_bm_test(bm, a))
			continue;
		const struct attr_desc *d = attr_get(a, minorversion);
		if (!d)
			return NFS4ERR_ATTRNOTSUPP;
		if (d->flags & A_RO)
			return NFS4ERR_INVAL;
		if (!d->supported || !settable(a))
			return NFS4ERR_ATTRNOTSUPP;
	}
	return NFS4_OK;
}

struct dec {
	XDR x;
	u_int len;
	const struct nfs4_idmap *idmap;
};

static u_int dec_left(struct dec *d)
{
	u_int pos = xdr_getpos(&d->x);
	return pos < d->len ? d->len - pos : 0;
}

/* "1000" as uid/gid 1000: what Linux clients send with id mapping off.
 * No sign, no leading zeros (they would not round-trip), fits 32 bits. */
static bool parse_numeric_id(const char *s, uint32_t *id)
{
	if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0'))
		return false;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*id = (uint32_t)v;
	return true;
}

typedef int (*name_to_id_fn)(void *arg, const char *name, uint32_t *id);

static nfsstat4 get_owner(struct dec *d, bool group, uint32_t *id)
{
	uint32_t n;
	if (!xdr_uint32_t(&d->x, &n) || n > dec_left(d))
		return NFS4ERR_BADXDR;
	if (n == 0)
		return NFS4ERR_INVAL; /* an empty utf8string (RFC 7530 §12.7) */
	if (n > NFS4_OWNER_MAX)
		return NFS4ERR_BADOWNER;
	char name[NFS4_OWNER_MAX + 1];
	if (!xdr_opaque(&d->x, name, n))
		return NFS4ERR_BADXDR;
	name[n] = '\0';
	if (strlen(name) != n)
		return NFS4ERR_BADOWNER; /* an embedded NUL */
	if (parse_numeric_id(name, id))
		return NFS4_OK;
	const struct nfs4_idmap *m = d->idmap;
	name_to_id_fn fn = m ? (group ? m->name_to_gid : m->name_to_uid) : NULL;
	if (fn && fn(m->arg, name, id) == 0)
		return NFS4_OK;
	return NFS4ERR_BADOWNER;
}

/* settime4: returns the VFS_SET_* bit to add through *flag. */
static nfsstat4 get_settime(struct dec *d, struct timespec *ts, unsigned now_flag,
			    unsigned set_flag, unsigned *flag)
{
	uint32_t how;
	if (!xdr_uint32_t(&d->x, &how))
		return NFS4ERR_BADXDR;
	if (how == SET_TO_SERVER_TIME4) {
		*flag = now_flag;
		return NFS4_OK;
	}
	if (how != SET_TO_CLIENT_TIME4)
		return NFS4ERR_BADXDR; /* not a time_how4 */
	int64_t s;
	uint32_t ns;
	if (!xdr_int64_t(&d->x, &s) || !xdr_uint32_t(&d->x, &ns))
		return NFS4ERR_BADXDR;
	if (ns >= 1000000000u)
		return NFS4ERR_INVAL; /* RFC 8881 §3.3.1 */
	ts->tv_sec = (time_t)s;
	ts->tv_nsec = (long)ns;
	*flag = set_flag;
	return NFS4_OK;
}

static nfsstat4 get_one(struct dec *d, unsigned a, struct vfs_setattr *sa)
{
	unsigned flag = 0;
	nfsstat4 st = NFS4_OK;
	switch (a) {
	case FATTR4_SIZE:
		if (!xdr_uint64_t(&d->x, &sa->size))
			return NFS4ERR_BADXDR;
		flag = VFS_SET_SIZE;
		break;
	case FATTR4_MODE: {
		uint32_t m;
		if (!xdr_uint32_t(&d->x, &m))
			return NFS4ERR_BADXDR;
		sa->mode = (uint16_t)(m & 07777); /* the file type is not the client's to set */
		flag = VFS_SET_MODE;
		break;
	}
	case FATTR4_OWNER:
		st = get_owner(d, false, &sa->uid);
		flag = VFS_SET_UID;
		break;
	case FATTR4_OWNER_GROUP:
		st = get_owner(d, true, &sa->gid);
		flag = VFS_SET_GID;
		break;
	case FATTR4_TIME_ACCESS_SET:
		st = get_settime(d, &sa->atime, VFS_SET_ATIME_NOW, VFS_SET_ATIME, &flag);
		break;
	case FATTR4_TIME_MODIFY_SET:
		st = get_settime(d, &sa->mtime, VFS_SET_MTIME_NOW, VFS_SET_MTIME, &flag);
		break;
	default:
		return NFS4ERR_ATTRNOTSUPP; /* check_settable lets none through */
	}
	if (st == NFS4_OK)
		sa->mask |= flag;
	return st;
}

nfsstat4 nfs4_attr_decode(const fattr4 *in, enum nfs4_set_purpose purpose, uint32_t minorversion,
			  const struct nfs4_idmap *idmap, struct vfs_setattr *sa,
			  struct nfs4_bitmap *attrsset)
{
	struct nfs4_bitmap bm;
	bool extra;
	memset(sa, 0, sizeof(*sa));
	memset(attrsset, 0, sizeof(*attrsset));
	nfs4_bm_from_xdr(&bm, &in->attrmask, &extra);
	if (extra)
		return NFS4ERR_ATTRNOTSUPP;
	nfsstat4 st = check_settable(&bm, minorversion);
	if (st != NFS4_OK)
		return st;
	struct dec d = {.len = in->attr_vals.attrlist4_len, .idmap = idmap};
	xdrmem_create(&d.x, in->attr_vals.attrlist4_val, d.len, XDR_DECODE);
	for (unsigned a = 0; a < NFS4_ATTR_MAX && st == NFS4_OK; a++)
		if (nfs4_bm_test(&bm, a))
			st = get_one(&d, a, sa);
	/* Bytes left over mean the client and we disagree on the layout. */
	if (st == NFS4_OK && xdr_getpos(&d.x) != d.len)
		st = NFS4ERR_BADXDR;
	xdr_destroy(&d.x);
	if (st != NFS4_OK) {
		memset(sa, 0, sizeof(*sa));
		return st;
	}
	*attrsset = bm;
	return NFS4_OK;
}
