/* NFSv4 attribute codec: the bytes are checked with a reader and writer
 * written here from RFC 4506, not with the codec's own XDR calls. */
#include <stdlib.h>
#include <string.h>

#include <rpc/xdr.h>

#include "cunit_main.h"
#include "nfs4_attr.h"

/* ---- a tiny big-endian XDR reader and writer */

struct rd {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static struct rd reader(const fattr4 *f)
{
	struct rd r = {.p = (const uint8_t *)f->attr_vals.attrlist4_val,
		       .len = f->attr_vals.attrlist4_len};
	return r;
}

static uint32_t r32(struct rd *r)
{
	if (r->pos + 4 > r->len) {
		r->bad = true;
		return 0;
	}
	const uint8_t *b = r->p + r->pos;
	r->pos += 4;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t r64(struct rd *r)
{
	uint64_t hi = r32(r);
	return hi << 32 | r32(r);
}

/* A string into buf (NUL-terminated), padding skipped. */
static void rstr(struct rd *r, char *buf, size_t size)
{
	uint32_t n = r32(r);
	if (n >= size || r->pos + n > r->len) {
		r->bad = true;
		buf[0] = '\0';
		return;
	}
	memcpy(buf, r->p + r->pos, n);
	buf[n] = '\0';
	r->pos += (n + 3) & ~3u;
}

struct wr {
	uint8_t b[1024];
	size_t n;
};

static void w32(struct wr *w, uint32_t v)
{
	w->b[w->n++] = (uint8_t)(v >> 24);
	w->b[w->n++] = (uint8_t)(v >> 16);
	w->b[w->n++] = (uint8_t)(v >> 8);
	w->b[w->n++] = (uint8_t)v;
}

static void w64(struct wr *w, uint64_t v)
{
	w32(w, (uint32_t)(v >> 32));
	w32(w, (uint32_t)v);
}

static void wstr(struct wr *w, const char *s)
{
	size_t n = strlen(s);
	w32(w, (uint32_t)n);
	memcpy(w->b + w->n, s, n);
	w->n += n;
	while (w->n % 4)
		w->b[w->n++] = 0;
}

/* ---- fixtures */

static int map_uid_to_name(void *arg, uint32_t uid, char *buf, size_t len)
{
	if (uid != 1001)
		return -1;
	snprintf(buf, len, "alice@localdomain");
	return 0;
}

static int map_gid_to_name(void *arg, uint32_t gid, char *buf, size_t len)
{
	if (gid != 50)
		return -1;
	snprintf(buf, len, "staff@localdomain");
	return 0;
}

static int map_name_to_uid(void *arg, const char *name, uint32_t *uid)
{
	if (strcmp(name, "alice@localdomain") != 0)
		return -1;
	*uid = 1001;
	return 0;
}

static int map_name_to_gid(void *arg, const char *name, uint32_t *gid)
{
	if (strcmp(name, "staff@localdomain") != 0)
		return -1;
	*gid = 50;
	return 0;
}

static const struct nfs4_idmap idmap = {
    .uid_to_name = map_uid_to_name,
    .gid_to_name = map_gid_to_name,
    .name_to_uid = map_name_to_uid,
    .name_to_gid = map_name_to_gid,
};

static const uint8_t fh_bytes[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};

static struct mcfs_attr obj;
static struct vfs_statfs sfs;

static struct nfs4_attr_ctx make_ctx(uint32_t minor)
{
	memset(&obj, 0, sizeof(obj));
	obj.ino = 0x123456789aULL;
	obj.type = MCFS_FILE;
	obj.mode = 0100644 & 07777;
	obj.uid = 1001;
	obj.gid = 1000;
	obj.nlink = 2;
	obj.size = 10000;
	obj.atime = (struct timespec){1700000000, 111};
	obj.mtime = (struct timespec){1700000001, 222};
	obj.ctime = (struct timespec){1700000002, 333};
	obj.rdev_major = 8;
	obj.rdev_minor = 1;
	obj.change = 0xabcdef0123ULL;
	sfs = (struct vfs_statfs){.total_bytes = 1000000,
				  .used_bytes = 400000,
				  .avail_bytes = 500000,
				  .total_inodes = 1000,
				  .used_inodes = 100,
				  .avail_inodes = 800};
	struct nfs4_attr_ctx c = {.attr = &obj,
				  .fh = fh_bytes,
				  .fh_len = sizeof(fh_bytes),
				  .fsid_major = 7,
				  .fsid_minor = 9,
				  .lease_time = 90,
				  .minorversion = minor,
				  .idmap = &idmap};
	return c;
}

static bitmap4 bm4(uint32_t *words, u_int n)
{
	bitmap4 b = {.bitmap4_len = n, .bitmap4_val = words};
	return b;
}

static struct nfs4_bitmap bits(const unsigned *list, size_t n)
{
	struct nfs4_bitmap bm = {{0}};
	for (size_t i = 0; i < n; i++)
		nfs4_bm_set(&bm, list[i]);
	return bm;
}

/* ---- tests */

static void test_bitmap_helpers(void)
{
	struct nfs4_bitmap a = {{0}}, b = {{0}}, c;
	CU_ASSERT(nfs4_bm_empty(&a));
	nfs4_bm_set(&a, FATTR4_TYPE);
	nfs4_bm_set(&a, FATTR4_MODE);
	nfs4_bm_set(&a, FATTR4_XATTR_SUPPORT);
	nfs4_bm_set(&a, 5000); /* out of range: ignored */
	CU_ASSERT(nfs4_bm_test(&a, FATTR4_TYPE));
	CU_ASSERT(nfs4_bm_test(&a, FATTR4_MODE));
	CU_ASSERT_FALSE(nfs4_bm_test(&a, FATTR4_SIZE));
	CU_ASSERT_FALSE(nfs4_bm_test(&a, 5000));
	CU_ASSERT_EQUAL(a.w[1], 1u << (FATTR4_MODE - 32));
	CU_ASSERT_EQUAL(nfs4_bm_words(&a), 3);
	nfs4_bm_set(&b, FATTR4_MODE);
	nfs4_bm_set(&b, FATTR4_SIZE);
	nfs4_bm_and(&c, &a, &b);
	CU_ASSERT_EQUAL(nfs4_bm_words(&c), 2);
	CU_ASSERT(nfs4_bm_test(&c, FATTR4_MODE));
	CU_ASSERT_FALSE(nfs4_bm_test(&c, FATTR4_TYPE));

	bitmap4 x;
	CU_ASSERT_EQUAL(nfs4_bm_to_xdr(&c, &x), NFS4_OK);
	CU_ASSERT_EQUAL(x.bitmap4_len, 2);
	CU_ASSERT_EQUAL(x.bitmap4_val[0], 0);
	struct nfs4_bitmap back;
	bool extra = true;
	nfs4_bm_from_xdr(&back, &x, &extra);
	CU_ASSERT_FALSE(extra);
	CU_ASSERT_EQUAL(memcmp(&back, &c, sizeof(c)), 0);
	nfs4_bm_free_xdr(&x);

	uint32_t many[6] = {1, 2, 4, 0, 8, 0};
	bitmap4 m = bm4(many, 6);
	nfs4_bm_from_xdr(&back, &m, &extra);
	CU_ASSERT(extra);
	CU_ASSERT_EQUAL(back.w[2], 4);
	many[4] = 0;
	nfs4_bm_from_xdr(&back, &m, &extra);
	CU_ASSERT_FALSE(extra);
}

/* What Linux asks after OPEN (nfs4_fattr_bitmap plus mounted_on_fileid). */
static const unsigned linux_open_attrs[] = {
    FATTR4_TYPE,	  FATTR4_CHANGE,      FATTR4_SIZE,
    FATTR4_FSID,	  FATTR4_FILEID,      FATTR4_MODE,
    FATTR4_NUMLINKS,	  FATTR4_OWNER,	      FATTR4_OWNER_GROUP,
    FATTR4_RAWDEV,	  FATTR4_SPACE_USED,  FATTR4_TIME_ACCESS,
    FATTR4_TIME_METADATA, FATTR4_TIME_MODIFY, FATTR4_MOUNTED_ON_FILEID,
};

static void check_time(struct rd *r, const struct timespec *ts)
{
	CU_ASSERT_EQUAL((int64_t)r64(r), (int64_t)ts->tv_sec);
	CU_ASSERT_EQUAL(r32(r), (uint32_t)ts->tv_nsec);
}

static void test_encode_linux_getattr(void)
{
	struct nfs4_attr_ctx c = make_ctx(2);
	struct nfs4_bitmap want = bits(linux_open_attrs, 15);
	bitmap4 req = bm4(want.w, 2);
	CU_ASSERT_FALSE(nfs4_attr_need_statfs(&req));
	fattr4 f;
	CU_ASSERT_EQUAL_FATAL(nfs4_attr_encode(&c, &req, &f), NFS4_OK);
	CU_ASSERT_EQUAL_FATAL(f.attrmask.bitmap4_len, 2);
	CU_ASSERT_EQUAL(f.attrmask.bitmap4_val[0], want.w[0]);
	CU_ASSERT_EQUAL(f.attrmask.bitmap4_val[1], want.w[1]);
	CU_ASSERT_EQUAL(want.w[0], 0x0010011a);
	CU_ASSERT_EQUAL(want.w[1], 0x00b0a23a);

	struct rd r = reader(&f);
	char s[64];
	CU_ASSERT_EQUAL(r32(&r), NF4REG);
	CU_ASSERT_EQUAL(r64(&r), 0xabcdef0123ULL);
	CU_ASSERT_EQUAL(r64(&r), 10000);
	CU_ASSERT_EQUAL(r64(&r), 7);
	CU_ASSERT_EQUAL(r64(&r), 9);
	CU_ASSERT_EQUAL(r64(&r), 0x123456789aULL);
	CU_ASSERT_EQUAL(r32(&r), 0644);
	CU_ASSERT_EQUAL(r32(&r), 2);
	rstr(&r, s, sizeof(s));
	CU_ASSERT_STRING_EQUAL(s, "alice@localdomain");
	rstr(&r, s, sizeof(s));
	CU_ASSERT_STRING_EQUAL(s, "1000"); /* no name: the number */
	CU_ASSERT_EQUAL(r32(&r), 8);
	CU_ASSERT_EQUAL(r32(&r), 1);
	CU_ASSERT_EQUAL(r64(&r), 12288); /* 10000 rounded up to 4 KiB granules */
	check_time(&r, &obj.atime);
	check_time(&r, &obj.ctime);
	check_time(&r, &obj.mtime);
	CU_ASSERT_EQUAL(r64(&r), obj.ino);
	CU_ASSERT_FALSE(r.bad);
	CU_ASSERT_EQUAL(r.pos, r.len);
	nfs4_fattr_free(&f);

	/* An export root reports the directory it is mounted on. */
	c.fs_root = true;
	c.mounted_on_fileid = 2;
	uint32_t w[2] = {0, 1u << (FATTR4_MOUNTED_ON_FILEID - 32)};
	req = bm4(w, 2);
	CU_ASSERT_EQUAL_FATAL(nfs4_attr_encode(&c, &req, &f), NFS4_OK);
	r = reader(&f);
	CU_ASSERT_EQUAL(r64(&r), 2);
	CU_ASSERT_EQUAL(r.pos, r.len);
	nfs4_fattr_free(&f);
}

static void test_encode_fixed_and_statfs(void)
{
	struct nfs4_attr_ctx c = make_ctx(0);
	static const unsigned list[] = {
	    FATTR4_FH_EXPIRE_TYPE, FATTR4_LINK_SUPPORT, FATTR4_NAMED_ATTR,  FATTR4_LEASE_TIME,
	    FATTR4_RDATTR_ERROR,   FATTR4_ACLSUPPORT,	FATTR4_FILEHANDLE,  FATTR4_FILES_AVAIL,
	    FATTR4_FILES_FREE,	   FATTR4_FILES_TOTAL,	FATTR4_MAXFILESIZE, FATTR4_MAXLINK,
	    FATTR4_MAXNAME,	   FATTR4_MAXREAD,	FATTR4_MAXWRITE,    FATTR4_SPACE_AVAIL,
	    FATTR4_SPACE_FREE,	   FATTR4_SPACE_TOTAL,	FATTR4_TIME_DELTA,
	};
	struct nfs4_bitmap want = bits(list, sizeof(list) / sizeof(list[0]));
	bitmap4 req = bm4(want.w, 3);
	CU_ASSERT(nfs4_attr_need_statfs(&req));
	fattr4 f;
	CU_ASSERT_EQUAL(nfs4_attr_encode(&c, &req, &f), NFS4ERR_SERVERFAULT);
	c.statfs = &sfs;
	CU_ASSERT_EQUAL_FATAL(nfs4_attr_encode(&c, &req, &f), NFS4_OK);
	CU_ASSERT_EQUAL(f.attrmask.bitmap4_len, 2);
	struct rd r = reader(&f);
	CU_ASSERT_EQUAL(r32(&r), FH4_PERSISTENT);
	CU_ASSERT_EQUAL(r32(&r), 1); /* link_support */
	CU_ASSERT_EQUAL(r32(&r), 0); /* named_attr */
	CU_ASSERT_EQUAL(r32(&r), 90);
	CU_ASSERT_EQUAL(r32(&r), NFS4_OK);
	CU_ASSERT_EQUAL(r32(&r), 0); /* aclsupport */
	CU_ASSERT_EQUAL(r32(&r), sizeof(fh_bytes));
	CU_ASSERT_EQUAL(memcmp(r.p + r.pos, fh_bytes, sizeof(fh_bytes)), 0);
	r.pos += sizeof(fh_bytes);
	CU_ASSERT_EQUAL(r64(&r), 800);
	CU_ASSERT_EQUAL(r64(&r), 900);
	CU_ASSERT_EQUAL(r64(&r), 1000);
	CU_ASSERT_EQUAL(r64(&r), 1ULL << 53);
	CU_ASSERT_EQUAL(r32(&r), UINT32_MAX);
	CU_ASSERT_EQUAL(r32(&r), 255);
	CU_ASSERT_EQUAL(r64(&r), 1 << 20);
	CU_ASSERT_EQUAL(r64(&r), 1 << 20);
	CU_ASSERT_EQUAL(r64(&r), 500000);
	CU_ASSERT_EQUAL(r64(&r), 600000);
	CU_ASSERT_EQUAL(r64(&r), 1000000);
	CU_ASSERT_EQUAL(r64(&r), 0);
	CU_ASSERT_EQUAL(r32(&r), 1); /* time_delta: 1 ns */
	CU_ASSERT_FALSE(r.bad);
	CU_ASSERT_EQUAL(r.pos, r.len);
	nfs4_fattr_free(&f);

	/* A missing handle is the server's fault, never a short reply. */
	c.fh = NULL;
	uint32_t w[1] = {1u << FATTR4_FILEHANDLE};
	req = bm4(w, 1);
	CU_ASSERT_EQUAL(nfs4_attr_encode(&c, &req, &f), NFS4ERR_SERVERFAULT);
}

static void check_supported_reply(uint32_t minor, unsigned words)
{
	struct nfs4_attr_ctx c = make_ctx(minor);
	uint32_t w[1] = {1u << FATTR4_SUPPORTED_ATTRS};
	bitmap4 req = bm4(w, 1);
	fattr4 f;
	CU_ASSERT_EQUAL_FATAL(nfs4_attr_encode(&c, &req, &f), NFS4_OK);
	struct nfs4_bitmap sup;
	nfs4_attr_supported(minor, &sup);
	struct rd r = reader(&f);
	CU_ASSERT_EQUAL(r32(&r), words);
	for (unsigned i = 0; i < words; i++)
		CU_ASSERT_EQUAL(r32(&r), sup.w[i]);
	CU_ASSERT_EQUAL(r.pos, r.len);
	nfs4_fattr_free(&f);
}

static void test_supported_per_version(void)
{
	struct nfs4_bitmap s0, s1, s2;
	nfs4_attr_supported(0, &s0);
	nfs4_attr_supported(1, &s1);
	nfs4_attr_supported(2, &s2);
	for (unsigned i = 0; i < sizeof(linux_open_attrs) / sizeof(linux_open_attrs[0]); i++)
		CU_ASSERT(nfs4_bm_test(&s0, linux_open_attrs[i]));
	CU_ASSERT(nfs4_bm_test(&s0, FATTR4_TIME_MODIFY_SET));
	CU_ASSERT(nfs4_bm_test(&s0, FATTR4_SUPPORTED_ATTRS));
	CU_ASSERT(nfs4_bm_test(&s0, FATTR4_FILEHANDLE));
	CU_ASSERT_FALSE(nfs4_bm_test(&s0, FATTR4_ACL));
	CU_ASSERT_FALSE(nfs4_bm_test(&s0, FATTR4_QUOTA_USED));
	CU_ASSERT_FALSE(nfs4_bm_test(&s0, FATTR4_SUPPATTR_EXCLCREAT));
	CU_ASSERT(nfs4_bm_test(&s1, FATTR4_SUPPATTR_EXCLCREAT));
	CU_ASSERT_FALSE(nfs4_bm_test(&s1, FATTR4_XATTR_SUPPORT));
	CU_ASSERT(nfs4_bm_test(&s2, FATTR4_XATTR_SUPPORT));
	CU_ASSERT_FALSE(nfs4_bm_test(&s2, FATTR4_MODE_UMASK));
	CU_ASSERT_EQUAL(nfs4_bm_words(&s0), 2);
	CU_ASSERT_EQUAL(s0.w[0], s1.w[0]);
	CU_ASSERT_EQUAL(s0.w[1], s2.w[1]);
	check_supported_reply(0, 2);
	check_supported_reply(1, 3);
	check_supported_reply(2, 3);

	/* suppattr_exclcreat: size, mode, owner, owner_group. */
	struct nfs4_attr_ctx c = make_ctx(1);
	uint32_t w[3] = {0, 0, 1u << (FATTR4_SUPPATTR_EXCLCREAT - 64)};
	bitmap4 req = bm4(w, 3);
	fattr4 f;
	CU_ASSERT_EQUAL_FATAL(nfs4_attr_encode(&c, &req, &f), NFS4_OK);
	struct rd r = reader(&f);
	CU_ASSERT_EQUAL(r32(&r), 2);
	CU_ASSERT_EQUAL(r32(&r), 1u << FATTR4_SIZE);
	CU_ASSERT_EQUAL(r32(&r), 1u << (FATTR4_MODE - 32) | 1u << (FATTR4_OWNER - 32) |
				     1u << (FATTR4_OWNER_GROUP - 32));
	CU_ASSERT_EQUAL(r.pos, r.len);
	nfs4_fattr_free(&f);
}

static void test_unsupported_dropped(void)
{
	struct nfs4_attr_ctx c = make_ctx(0);
	static const unsigned list[] = {
	    FATTR4_TYPE,       FATTR4_ACL,	     FATTR4_ARCHIVE,
	    FATTR4_QUOTA_USED, FATTR4_TIME_CREATE,   FATTR4_SUPPATTR_EXCLCREAT,
	    FATTR4_SEC_LABEL,  FATTR4_XATTR_SUPPORT, 95};
	struct nfs4_bitmap want = bits(list, sizeof(list) / sizeof(list[0]));
	bitmap4 req = bm4(want.w, 3);
	fattr4 f;
	CU_ASSERT_EQUAL_FATAL(nfs4_attr_encode(&c, &req, &f), NFS4_OK);
	CU_ASSERT_EQUAL_FATAL(f.attrmask.bitmap4_len, 1); /* trailing zero words trimmed */
	CU_ASSERT_EQUAL(f.attrmask.bitmap4_val[0], 1u << FATTR4_TYPE);
	CU_ASSERT_EQUAL(f.attr_vals.attrlist4_len, 4);
	nfs4_fattr_free(&f);

	/* Nothing supported: an empty bitmap and no values. */
	uint32_t w[2] = {1u << FATTR4_ACL, 0};
	req = bm4(w, 2);
	CU_ASSERT_EQUAL_FATAL(nfs4_attr_encode(&c, &req, &f), NFS4_OK);
	CU_ASSERT_EQUAL(f.attrmask.bitmap4_len, 0);
	CU_ASSERT_EQUAL(f.attr_vals.attrlist4_len, 0);
	nfs4_fattr_free(&f);

	/* Write-only attributes cannot be read. */
	uint32_t wo[2] = {0, 1u << (FATTR4_TIME_MODIFY_SET - 32)};
	req = bm4(wo, 2);
	CU_ASSERT_EQUAL(nfs4_attr_encode(&c, &req, &f), NFS4ERR_INVAL);
}

static void test_huge_bitmap(void)
{
	struct nfs4_attr_ctx c = make_ctx(2);
	u_int n = 4096;
	uint32_t *w = malloc(n * sizeof(*w));
	CU_ASSERT_FATAL(w != NULL);
	memset(w, 0xff, n * sizeof(*w));
	w[0] = 1u << FATTR4_TYPE;
	w[1] = 0;
	w[2] = 0;
	bitmap4 req = bm4(w, n);
	fattr4 f;
	CU_ASSERT_EQUAL_FATAL(nfs4_attr_encode(&c, &req, &f), NFS4_OK);
	CU_ASSERT_EQUAL(f.attrmask.bitmap4_len, 1);
	CU_ASSERT_EQUAL(f.attr_vals.attrlist4_len, 4);
	nfs4_fattr_free(&f);

	/* In a set request those bits name attributes whose values cannot be
	 * skipped: refused, not misparsed. */
	fattr4 in = {.attrmask = req};
	struct vfs_setattr sa;
	struct nfs4_bitmap set;
	CU_ASSERT_EQUAL(nfs4_attr_decode(&in, NFS4_SET_SETATTR, 2, &idmap, &sa, &set),
			NFS4ERR_ATTRNOTSUPP);
	/* Zero words beyond ours are harmless. */
	memset(w, 0, n * sizeof(*w));
	CU_ASSERT_EQUAL(nfs4_attr_decode(&in, NFS4_SET_SETATTR, 2, &idmap, &sa, &set), NFS4_OK);
	CU_ASSERT_EQUAL(sa.mask, 0);
	free(w);
}

static nfsstat4 decode(const struct nfs4_bitmap *bm, const struct wr *w, uint32_t minor,
		       struct vfs_setattr *sa, struct nfs4_bitmap *set)
{
	fattr4 in = {.attrmask = {.bitmap4_len = NFS4_ATTR_WORDS, .bitmap4_val = (uint32_t *)bm->w},
		     .attr_vals = {.attrlist4_len = (u_int)w->n, .attrlist4_val = (char *)w->b}};
	return nfs4_attr_decode(&in, NFS4_SET_SETATTR, minor, &idmap, sa, set);
}

static void test_decode_client_time(void)
{
	static const unsigned list[] = {FATTR4_SIZE, FATTR4_MODE, FATTR4_TIME_MODIFY_SET};
	struct nfs4_bitmap bm = bits(list, 3), set;
	struct wr w = {.n = 0};
	w64(&w, 4096);
	w32(&w, 0100755); /* the type bits are dropped */
	w32(&w, SET_TO_CLIENT_TIME4);
	w64(&w, 1600000000);
	w32(&w, 999999999);
	struct vfs_setattr sa;
	CU_ASSERT_EQUAL_FATAL(decode(&bm, &w, 0, &sa, &set), NFS4_OK);
	CU_ASSERT_EQUAL(sa.mask, VFS_SET_SIZE | VFS_SET_MODE | VFS_SET_MTIME);
	CU_ASSERT_EQUAL(sa.size, 4096);
	CU_ASSERT_EQUAL(sa.mode, 0755);
	CU_ASSERT_EQUAL(sa.mtime.tv_sec, 1600000000);
	CU_ASSERT_EQUAL(sa.mtime.tv_nsec, 999999999);
	CU_ASSERT_EQUAL(memcmp(&set, &bm, sizeof(bm)), 0);

	/* Nanoseconds past a second are invalid. */
	w.n -= 4;
	w32(&w, 1000000000);
	CU_ASSERT_EQUAL(decode(&bm, &w, 0, &sa, &set), NFS4ERR_INVAL);
	CU_ASSERT_EQUAL(sa.mask, 0);
	CU_ASSERT(nfs4_bm_empty(&set));
}

static void test_decode_server_time(void)
{
	static const unsigned list[] = {FATTR4_TIME_ACCESS_SET, FATTR4_TIME_MODIFY_SET};
	struct nfs4_bitmap bm = bits(list, 2), set;
	struct wr w = {.n = 0};
	w32(&w, SET_TO_SERVER_TIME4);
	w32(&w, SET_TO_SERVER_TIME4);
	struct vfs_setattr sa;
	CU_ASSERT_EQUAL_FATAL(decode(&bm, &w, 1, &sa, &set), NFS4_OK);
	CU_ASSERT_EQUAL(sa.mask, VFS_SET_ATIME_NOW | VFS_SET_MTIME_NOW);
	CU_ASSERT(nfs4_bm_test(&set, FATTR4_TIME_ACCESS_SET));
	CU_ASSERT(nfs4_bm_test(&set, FATTR4_TIME_MODIFY_SET));

	/* Mixed: client atime, server mtime. */
	w.n = 0;
	w32(&w, SET_TO_CLIENT_TIME4);
	w64(&w, (uint64_t)-5); /* before 1970 is a valid int64 time */
	w32(&w, 7);
	w32(&w, SET_TO_SERVER_TIME4);
	CU_ASSERT_EQUAL_FATAL(decode(&bm, &w, 1, &sa, &set), NFS4_OK);
	CU_ASSERT_EQUAL(sa.mask, VFS_SET_ATIME | VFS_SET_MTIME_NOW);
	CU_ASSERT_EQUAL(sa.atime.tv_sec, -5);
	CU_ASSERT_EQUAL(sa.atime.tv_nsec, 7);

	/* A time_how4 that does not exist is bad XDR. */
	w.n = 0;
	w32(&w, 2);
	w32(&w, SET_TO_SERVER_TIME4);
	CU_ASSERT_EQUAL(decode(&bm, &w, 1, &sa, &set), NFS4ERR_BADXDR);
}

static nfsstat4 decode_owner(const char *owner, const char *group, struct vfs_setattr *sa)
{
	struct nfs4_bitmap bm = {{0}}, set;
	struct wr w = {.n = 0};
	if (owner) {
		nfs4_bm_set(&bm, FATTR4_OWNER);
		wstr(&w, owner);
	}
	if (group) {
		nfs4_bm_set(&bm, FATTR4_OWNER_GROUP);
		wstr(&w, group);
	}
	return decode(&bm, &w, 0, sa, &set);
}

static void test_decode_owner(void)
{
	struct vfs_setattr sa;
	CU_ASSERT_EQUAL_FATAL(decode_owner("1000", "100", &sa), NFS4_OK);
	CU_ASSERT_EQUAL(sa.mask, VFS_SET_UID | VFS_SET_GID);
	CU_ASSERT_EQUAL(sa.uid, 1000);
	CU_ASSERT_EQUAL(sa.gid, 100);
	CU_ASSERT_EQUAL_FATAL(decode_owner("alice@localdomain", "staff@localdomain", &sa), NFS4_OK);
	CU_ASSERT_EQUAL(sa.uid, 1001);
	CU_ASSERT_EQUAL(sa.gid, 50);
	CU_ASSERT_EQUAL_FATAL(decode_owner("0", NULL, &sa), NFS4_OK);
	CU_ASSERT_EQUAL(sa.mask, VFS_SET_UID);
	CU_ASSERT_EQUAL(sa.uid, 0);
	CU_ASSERT_EQUAL(decode_owner("4294967295", NULL, &sa), NFS4_OK);
	CU_ASSERT_EQUAL(sa.uid, UINT32_MAX);

	CU_ASSERT_EQUAL(decode_owner("bob@localdomain", NULL, &sa), NFS4ERR_BADOWNER);
	CU_ASSERT_EQUAL(decode_owner(NULL, "alice@localdomain", &sa), NFS4ERR_BADOWNER);
	CU_ASSERT_EQUAL(decode_owner("", NULL, &sa), NFS4ERR_INVAL);
	CU_ASSERT_EQUAL(decode_owner("4294967296", NULL, &sa), NFS4ERR_BADOWNER);
	CU_ASSERT_EQUAL(decode_owner("-1", NULL, &sa), NFS4ERR_BADOWNER);
	CU_ASSERT_EQUAL(decode_owner("01000", NULL, &sa), NFS4ERR_BADOWNER);
	CU_ASSERT_EQUAL(sa.mask, 0);

	char longname[NFS4_OWNER_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT_EQUAL(decode_owner(longname, NULL, &sa), NFS4ERR_BADOWNER);

	/* An embedded NUL cannot name anyone. */
	struct nfs4_bitmap bm = {{0}}, set;
	nfs4_bm_set(&bm, FATTR4_OWNER);
	struct wr w = {.n = 0};
	wstr(&w, "1000x");
	w.b[8] = '\0';
	CU_ASSERT_EQUAL(decode(&bm, &w, 0, &sa, &set), NFS4ERR_BADOWNER);

	/* Without a name mapper only numbers work, both ways. */
	fattr4 in = {.attrmask = {.bitmap4_len = 2, .bitmap4_val = bm.w}};
	w.n = 0;
	wstr(&w, "alice@localdomain");
	in.attr_vals = (attrlist4){.attrlist4_len = (u_int)w.n, .attrlist4_val = (char *)w.b};
	CU_ASSERT_EQUAL(nfs4_attr_decode(&in, NFS4_SET_CREATE, 0, NULL, &sa, &set),
			NFS4ERR_BADOWNER);
	struct nfs4_attr_ctx c = make_ctx(0);
	c.idmap = NULL;
	bitmap4 req = bm4(bm.w, 2);
	fattr4 f;
	CU_ASSERT_EQUAL_FATAL(nfs4_attr_encode(&c, &req, &f), NFS4_OK);
	struct rd r = reader(&f);
	char s[32];
	rstr(&r, s, sizeof(s));
	CU_ASSERT_STRING_EQUAL(s, "1001");
	nfs4_fattr_free(&f);
}

static nfsstat4 decode_one(unsigned attr, uint32_t minor, const struct wr *w)
{
	struct nfs4_bitmap bm = {{0}}, set;
	struct vfs_setattr sa;
	nfs4_bm_set(&bm, attr);
	return decode(&bm, w, minor, &sa, &set);
}

static void test_decode_not_settable(void)
{
	struct wr w = {.n = 8};
	memset(w.b, 0, 8);
	/* Read-only attributes: NFS4ERR_INVAL, supported or not. */
	CU_ASSERT_EQUAL(decode_one(FATTR4_TYPE, 0, &w), NFS4ERR_INVAL);
	CU_ASSERT_EQUAL(decode_one(FATTR4_CHANGE, 0, &w), NFS4ERR_INVAL);
	CU_ASSERT_EQUAL(decode_one(FATTR4_FILEID, 0, &w), NFS4ERR_INVAL);
	CU_ASSERT_EQUAL(decode_one(FATTR4_SPACE_USED, 0, &w), NFS4ERR_INVAL);
	CU_ASSERT_EQUAL(decode_one(FATTR4_TIME_MODIFY, 0, &w), NFS4ERR_INVAL);
	CU_ASSERT_EQUAL(decode_one(FATTR4_QUOTA_USED, 0, &w), NFS4ERR_INVAL);
	CU_ASSERT_EQUAL(decode_one(FATTR4_SUPPATTR_EXCLCREAT, 1, &w), NFS4ERR_INVAL);
	/* Settable ones this server lacks, and ones the version lacks. */
	CU_ASSERT_EQUAL(decode_one(FATTR4_ACL, 0, &w), NFS4ERR_ATTRNOTSUPP);
	CU_ASSERT_EQUAL(decode_one(FATTR4_TIME_CREATE, 0, &w), NFS4ERR_ATTRNOTSUPP);
	CU_ASSERT_EQUAL(decode_one(FATTR4_HIDDEN, 0, &w), NFS4ERR_ATTRNOTSUPP);
	CU_ASSERT_EQUAL(decode_one(FATTR4_MODE_SET_MASKED, 1, &w), NFS4ERR_ATTRNOTSUPP);
	CU_ASSERT_EQUAL(decode_one(FATTR4_MODE_UMASK, 2, &w), NFS4ERR_ATTRNOTSUPP);
	CU_ASSERT_EQUAL(decode_one(FATTR4_SUPPATTR_EXCLCREAT, 0, &w), NFS4ERR_ATTRNOTSUPP);
	CU_ASSERT_EQUAL(decode_one(90, 2, &w), NFS4ERR_ATTRNOTSUPP);
}

static void test_decode_truncated(void)
{
	struct wr w = {.n = 0};
	w32(&w, 0); /* half a size */
	CU_ASSERT_EQUAL(decode_one(FATTR4_SIZE, 0, &w), NFS4ERR_BADXDR);
	w.n = 0;
	CU_ASSERT_EQUAL(decode_one(FATTR4_MODE, 0, &w), NFS4ERR_BADXDR);
	/* A string longer than what is left. */
	w32(&w, 100);
	w32(&w, 0x31303030);
	CU_ASSERT_EQUAL(decode_one(FATTR4_OWNER, 0, &w), NFS4ERR_BADXDR);
	/* A string whose padding is missing. */
	w.n = 0;
	w32(&w, 5);
	w32(&w, 0x31303030);
	w.b[w.n++] = '0';
	CU_ASSERT_EQUAL(decode_one(FATTR4_OWNER, 0, &w), NFS4ERR_BADXDR);
	/* A client time cut short. */
	w.n = 0;
	w32(&w, SET_TO_CLIENT_TIME4);
	w64(&w, 1);
	CU_ASSERT_EQUAL(decode_one(FATTR4_TIME_ACCESS_SET, 0, &w), NFS4ERR_BADXDR);
	/* Leftover bytes after the last value. */
	w.n = 0;
	w32(&w, 0644);
	w32(&w, 0);
	CU_ASSERT_EQUAL(decode_one(FATTR4_MODE, 0, &w), NFS4ERR_BADXDR);
	w.n = 4;
	CU_ASSERT_EQUAL(decode_one(FATTR4_MODE, 0, &w), NFS4_OK);
	/* A bitmap with no values but bytes anyway. */
	struct nfs4_bitmap none = {{0}}, set;
	struct vfs_setattr sa;
	CU_ASSERT_EQUAL(decode(&none, &w, 0, &sa, &set), NFS4ERR_BADXDR);
}

static nfsstat4 verify(const struct nfs4_attr_ctx *c, const struct nfs4_bitmap *bm,
		       const struct wr *w, bool *same)
{
	fattr4 in = {.attrmask = {.bitmap4_len = NFS4_ATTR_WORDS, .bitmap4_val = (uint32_t *)bm->w},
		     .attr_vals = {.attrlist4_len = (u_int)w->n, .attrlist4_val = (char *)w->b}};
	return nfs4_attr_verify(c, &in, same);
}

static void test_verify(void)
{
	struct nfs4_attr_ctx c = make_ctx(1);
	static const unsigned list[] = {FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER};
	struct nfs4_bitmap bm = bits(list, 3);
	struct wr w = {.n = 0};
	w64(&w, 10000);
	w32(&w, 0644);
	wstr(&w, "alice@localdomain");
	bool same = false;
	CU_ASSERT_EQUAL_FATAL(verify(&c, &bm, &w, &same), NFS4_OK);
	CU_ASSERT(same);

	obj.size = 10001;
	CU_ASSERT_EQUAL_FATAL(verify(&c, &bm, &w, &same), NFS4_OK);
	CU_ASSERT_FALSE(same);
	obj.size = 10000;
	/* Short and long client lists are simply not the same. */
	w.n -= 4;
	CU_ASSERT_EQUAL_FATAL(verify(&c, &bm, &w, &same), NFS4_OK);
	CU_ASSERT_FALSE(same);
	w.n += 8;
	CU_ASSERT_EQUAL_FATAL(verify(&c, &bm, &w, &same), NFS4_OK);
	CU_ASSERT_FALSE(same);

	struct nfs4_bitmap other = {{0}};
	nfs4_bm_set(&other, FATTR4_ACL);
	CU_ASSERT_EQUAL(verify(&c, &other, &w, &same), NFS4ERR_ATTRNOTSUPP);
	other = (struct nfs4_bitmap){{0}};
	nfs4_bm_set(&other, FATTR4_RDATTR_ERROR);
	CU_ASSERT_EQUAL(verify(&c, &other, &w, &same), NFS4ERR_INVAL);
	other = (struct nfs4_bitmap){{0}};
	nfs4_bm_set(&other, FATTR4_TIME_ACCESS_SET);
	CU_ASSERT_EQUAL(verify(&c, &other, &w, &same), NFS4ERR_INVAL);

	/* Round trip: what GETATTR returned verifies as the same. */
	struct nfs4_bitmap want = bits(linux_open_attrs, 15);
	bitmap4 req = bm4(want.w, 2);
	fattr4 f;
	CU_ASSERT_EQUAL_FATAL(nfs4_attr_encode(&c, &req, &f), NFS4_OK);
	CU_ASSERT_EQUAL_FATAL(nfs4_attr_verify(&c, &f, &same), NFS4_OK);
	CU_ASSERT(same);
	nfs4_fattr_free(&f);
}

/* The result goes through the rpcgen routines unchanged, and what they
 * decode from a client goes through nfs4_attr_decode. */
static void test_generated_xdr(void)
{
	struct nfs4_attr_ctx c = make_ctx(2);
	struct nfs4_bitmap want = bits(linux_open_attrs, 15);
	bitmap4 req = bm4(want.w, 2);
	fattr4 f, g;
	CU_ASSERT_EQUAL_FATAL(nfs4_attr_encode(&c, &req, &f), NFS4_OK);
	char buf[1024];
	XDR x;
	xdrmem_create(&x, buf, sizeof(buf), XDR_ENCODE);
	CU_ASSERT_FATAL(xdr_fattr4(&x, &f));
	u_int len = xdr_getpos(&x);
	xdr_destroy(&x);
	CU_ASSERT_EQUAL(len, 4 + 8 + 4 + f.attr_vals.attrlist4_len);
	memset(&g, 0, sizeof(g));
	xdrmem_create(&x, buf, len, XDR_DECODE);
	CU_ASSERT_FATAL(xdr_fattr4(&x, &g));
	xdr_destroy(&x);
	bool same = false;
	CU_ASSERT_EQUAL(nfs4_attr_verify(&c, &g, &same), NFS4_OK);
	CU_ASSERT(same);
	xdr_free((xdrproc_t)xdr_fattr4, (char *)&g);
	nfs4_fattr_free(&f);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"bitmap_helpers", test_bitmap_helpers},
	    {"encode_linux_getattr", test_encode_linux_getattr},
	    {"encode_fixed_and_statfs", test_encode_fixed_and_statfs},
	    {"supported_per_version", test_supported_per_version},
	    {"unsupported_dropped", test_unsupported_dropped},
	    {"huge_bitmap", test_huge_bitmap},
	    {"decode_client_time", test_decode_client_time},
	    {"decode_server_time", test_decode_server_time},
	    {"decode_owner", test_decode_owner},
	    {"decode_not_settable", test_decode_not_settable},
	    {"decode_truncated", test_decode_truncated},
	    {"verify", test_verify},
	    {"generated_xdr", test_generated_xdr},
	    {NULL, NULL},
	};
	if (test_add_suite("nfs4_attr", NULL, NULL, tests) < 0)
		return 1;
	return test_run_all();
}
