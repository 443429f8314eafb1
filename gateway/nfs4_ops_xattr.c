/* NFSv4.2 extended attributes (RFC 8276): GETXATTR, SETXATTR, LISTXATTRS
 * and REMOVEXATTR.
 *
 * The protocol carries only the user namespace, without its prefix: the
 * wire name "foo" is "user.foo" in the vfs, and LISTXATTRS shows the
 * "user." names alone, stripped, as Linux nfsd does. Names are opaque
 * bytes (the vfs keeps C strings, so NUL is refused).
 *
 * LISTXATTRS cookies are indexes into the names sorted bytewise: the
 * metadata store hands its names out in no stable order, and sorting keeps
 * a cookie meaning the same place while the set does not change.
 *
 * Pseudo fs directories have no extended attributes and cannot get any.
 * SETXATTR and REMOVEXATTR report change_info4 with atomic FALSE: the
 * "before" value is read separately from the change itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfs4_proc.h"

#define XATTR_PREFIX	 "user."
#define XATTR_PREFIX_LEN (sizeof(XATTR_PREFIX) - 1)
/* The vfs bounds the whole name, prefix included. */
#define XATTR_WIRE_NAME_MAX (MCFS_XATTR_NAME_MAX - XATTR_PREFIX_LEN)
/* A LISTXATTRS4resok with no names: the cookie, the array count, eof. */
#define LIST_OVERHEAD (8 + 4 + 4)

static struct vfs *vfs_of(const struct nfs4_compound *c)
{
	return c->req->gw->vfs;
}

static size_t xdr_pad(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* The vfs names a missing attribute and an oversized value with errnos
 * that mean nothing to nfs4_errno() (RFC 8276 §8.3). */
static nfsstat4 xattr_errno(int err)
{
	switch (-err) {
	case ENODATA:
		return NFS4ERR_NOXATTR;
	case E2BIG:
		return NFS4ERR_XATTR2BIG;
	default:
		return nfs4_errno(err);
	}
}

/* The vfs name of a wire name, into name[MCFS_XATTR_NAME_MAX + 1]. */
static nfsstat4 xattr_name(const xattrkey4 *in, char *name)
{
	size_t n = in->xattrkey4_len;
	if (n == 0)
		return NFS4ERR_INVAL;
	if (n > XATTR_WIRE_NAME_MAX)
		return NFS4ERR_NAMETOOLONG;
	if (memchr(in->xattrkey4_val, '\0', n))
		return NFS4ERR_INVAL;
	memcpy(name, XATTR_PREFIX, XATTR_PREFIX_LEN);
	memcpy(name + XATTR_PREFIX_LEN, in->xattrkey4_val, n);
	name[XATTR_PREFIX_LEN + n] = '\0';
	return NFS4_OK;
}

/* The current handle, with a valid name: a pseudo node answers *pseudo;
 * a volume object is checked for staleness, which the vfs xattr calls
 * (by inode number alone) would not notice. */
static nfsstat4 need_object(struct nfs4_compound *c, const xattrkey4 *key, char *name, bool *pseudo)
{
	struct mcfs_attr *a;
	nfsstat4 st = nfs4_need_fh(c);
	if (st == NFS4_OK && key)
		st = xattr_name(key, name);
	if (st != NFS4_OK)
		return st;
	*pseudo = c->cfh.kind == NFS4_FH_PSEUDO;
	return *pseudo ? NFS4_OK : nfs4_fh_attr(c, &c->cfh, &a);
}

/* ---- GETXATTR ---- */

nfsstat4 nfs4_op_getxattr(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	char name[MCFS_XATTR_NAME_MAX + 1];
	bool pseudo;
	nfsstat4 st = need_object(c, &arg->nfs_argop4_u.opgetxattr.gxa_name, name, &pseudo);
	if (st != NFS4_OK)
		return st;
	if (pseudo)
		return NFS4ERR_NOXATTR;
	/* One round trip at the largest size: probing the size first would
	 * race with a SETXATTR that grows the value. */
	char *buf = malloc(MCFS_XATTR_SIZE_MAX);
	if (!buf)
		return NFS4ERR_SERVERFAULT;
	size_t len = 0;
	int err =
	    vfs_getxattr(vfs_of(c), &c->cfh.cred, c->cfh.ino, name, buf, MCFS_XATTR_SIZE_MAX, &len);
	if (err < 0) {
		free(buf);
		return xattr_errno(err);
	}
	if (len == 0) {
		free(buf);
		buf = NULL;
	} else {
		char *fit = realloc(buf, len);
		if (fit)
			buf = fit;
	}
	xattrvalue4 *v = &res->nfs_resop4_u.opgetxattr.GETXATTR4res_u.gxr_value;
	v->xattrvalue4_len = (u_int)len;
	v->xattrvalue4_val = buf;
	return NFS4_OK;
}

/* ---- SETXATTR, REMOVEXATTR ---- */

/* The current handle may have its attributes changed; *before is its
 * change attribute now. */
static nfsstat4 change_begin(struct nfs4_compound *c, const xattrkey4 *key, char *name,
			     uint64_t *before)
{
	struct mcfs_attr *a;
	nfsstat4 st = nfs4_need_writable(c);
	if (st == NFS4_OK)
		st = xattr_name(key, name);
	if (st == NFS4_OK)
		st = nfs4_fh_attr(c, &c->cfh, &a);
	if (st == NFS4_OK)
		*before = a->change;
	return st;
}

/* The change is made: fills ci. Should the fresh attributes be out of
 * reach, the change counter the vfs bumped by one stands in for them, as
 * failing now would make a client retry a change already done. */
static void change_end(struct nfs4_compound *c, uint64_t before, change_info4 *ci)
{
	struct mcfs_attr *a;
	c->cfh.attr_valid = false;
	if (c->sfh.kind == NFS4_FH_VOLUME && c->sfh.ino == c->cfh.ino)
		c->sfh.attr_valid = false;
	ci->atomic = FALSE;
	ci->before = before;
	ci->after = nfs4_fh_attr(c, &c->cfh, &a) == NFS4_OK ? a->change : before + 1;
}

static nfsstat4 setxattr_flags(setxattr_option4 opt, unsigned *flags)
{
	switch (opt) {
	case SETXATTR4_EITHER:
		*flags = 0;
		return NFS4_OK;
	case SETXATTR4_CREATE:
		*flags = VFS_XATTR_CREATE;
		return NFS4_OK;
	case SETXATTR4_REPLACE:
		*flags = VFS_XATTR_REPLACE;
		return NFS4_OK;
	default:
		return NFS4ERR_INVAL;
	}
}

nfsstat4 nfs4_op_setxattr(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const SETXATTR4args *a = &arg->nfs_argop4_u.opsetxattr;
	char name[MCFS_XATTR_NAME_MAX + 1];
	unsigned flags = 0;
	uint64_t before = 0;
	nfsstat4 st = change_begin(c, &a->sxa_key, name, &before);
	if (st == NFS4_OK)
		st = setxattr_flags(a->sxa_option, &flags);
	if (st == NFS4_OK && a->sxa_value.xattrvalue4_len > MCFS_XATTR_SIZE_MAX)
		st = NFS4ERR_XATTR2BIG;
	if (st != NFS4_OK)
		return st;
	int err = vfs_setxattr(vfs_of(c), &c->cfh.cred, c->cfh.ino, name,
			       a->sxa_value.xattrvalue4_val, a->sxa_value.xattrvalue4_len, flags);
	if (err < 0)
		return xattr_errno(err);
	change_end(c, before, &res->nfs_resop4_u.opsetxattr.SETXATTR4res_u.sxr_info);
	return NFS4_OK;
}

nfsstat4 nfs4_op_removexattr(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	char name[MCFS_XATTR_NAME_MAX + 1];
	uint64_t before = 0;
	nfsstat4 st = change_begin(c, &arg->nfs_argop4_u.opremovexattr.rxa_name, name, &before);
	if (st != NFS4_OK)
		return st;
	int err = vfs_removexattr(vfs_of(c), &c->cfh.cred, c->cfh.ino, name);
	if (err < 0)
		return xattr_errno(err);
	change_end(c, before, &res->nfs_resop4_u.opremovexattr.REMOVEXATTR4res_u.rxr_info);
	return NFS4_OK;
}

/* ---- LISTXATTRS ---- */

/* The object's names, NUL-separated, malloc'd into *buf. */
static int list_all(struct nfs4_compound *c, char **buf, size_t *len)
{
	/* The list may grow between sizing it and fetching it. */
	for (int tries = 0; tries < 4; tries++) {
		size_t want = 0;
		int err = vfs_listxattr(vfs_of(c), &c->cfh.cred, c->cfh.ino, NULL, 0, &want);
		if (err < 0)
			return err;
		*len = 0;
		*buf = malloc(want + 1);
		if (!*buf)
			return -ENOMEM;
		if (want == 0)
			return 0;
		err = vfs_listxattr(vfs_of(c), &c->cfh.cred, c->cfh.ino, *buf, want, len);
		if (err == 0)
			return 0;
		free(*buf);
		*buf = NULL;
		if (err != -ERANGE)
			return err;
	}
	return -EAGAIN;
}

static int cmp_names(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The user names in buf, prefix stripped, sorted; they point into buf. */
static const char **user_names(char *buf, size_t len, size_t *count)
{
	size_t n = 0, cap = 0;
	for (size_t off = 0; off < len; off += strlen(buf + off) + 1)
		cap++;
	const char **names = malloc((cap ? cap : 1) * sizeof(*names));
	if (!names)
		return NULL;
	for (size_t off = 0; off < len; off += strlen(buf + off) + 1) {
		const char *s = buf + off;
		if (strncmp(s, XATTR_PREFIX, XATTR_PREFIX_LEN) == 0 && s[XATTR_PREFIX_LEN])
			names[n++] = s + XATTR_PREFIX_LEN;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	*count = n;
	return names;
}

/* How many names from `from` on fit in maxcount bytes of resok. */
static size_t list_fit(const char **names, size_t count, size_t from, uint32_t maxcount)
{
	size_t room = maxcount - LIST_OVERHEAD, n = 0;
	for (size_t i = from; i < count && n < NFS4_XATTR_LIST_MAX; i++, n++) {
		size_t need = 4 + xdr_pad(strlen(names[i]));
		if (need > room)
			break;
		room -= need;
	}
	return n;
}

/* Copies names[from, from + n) into the result; nothing on failure, as
 * xdr_free does not look into the resok of a failed result. */
static nfsstat4 list_fill(const char **names, size_t from, size_t n, LISTXATTRS4resok *ok)
{
	xattrkey4 *keys = calloc(n ? n : 1, sizeof(*keys));
	if (!keys)
		return NFS4ERR_SERVERFAULT;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[from + i]);
		keys[i].xattrkey4_val = malloc(len);
		if (!keys[i].xattrkey4_val) {
			while (i-- > 0)
				free(keys[i].xattrkey4_val);
			free(keys);
			return NFS4ERR_SERVERFAULT;
		}
		memcpy(keys[i].xattrkey4_val, names[from + i], len);
		keys[i].xattrkey4_len = (u_int)len;
	}
	ok->lxr_names.lxr_names_val = keys;
	ok->lxr_names.lxr_names_len = (u_int)n;
	return NFS4_OK;
}

/* One page of names from the cookie on (RFC 8276 §8.4). */
static nfsstat4 list_page(const char **names, size_t count, const LISTXATTRS4args *a,
			  LISTXATTRS4resok *ok)
{
	if (a->lxa_cookie > count)
		return NFS4ERR_BAD_COOKIE;
	size_t from = (size_t)a->lxa_cookie;
	size_t n = list_fit(names, count, from, a->lxa_maxcount);
	if (n == 0 && from < count)
		return NFS4ERR_TOOSMALL;
	ok->lxr_cookie = from + n;
	ok->lxr_eof = from + n == count;
	return list_fill(names, from, n, ok);
}

nfsstat4 nfs4_op_listxattrs(struct nfs4_compound *c, nfs_argop4 *arg, nfs_resop4 *res)
{
	const LISTXATTRS4args *a = &arg->nfs_argop4_u.oplistxattrs;
	LISTXATTRS4resok *ok = &res->nfs_resop4_u.oplistxattrs.LISTXATTRS4res_u.lxr_value;
	bool pseudo;
	nfsstat4 st = need_object(c, NULL, NULL, &pseudo);
	if (st != NFS4_OK)
		return st;
	if (a->lxa_maxcount < LIST_OVERHEAD)
		return NFS4ERR_TOOSMALL;
	if (pseudo)
		return list_page(NULL, 0, a, ok);
	char *buf = NULL;
	size_t len = 0, count = 0;
	int err = list_all(c, &buf, &len);
	if (err < 0)
		return err == -ENOMEM ? NFS4ERR_SERVERFAULT : xattr_errno(err);
	const char **names = user_names(buf, len, &count);
	st = names ? list_page(names, count, a, ok) : NFS4ERR_SERVERFAULT;
	free(names);
	free(buf);
	return st;
}
