/*
 * The file system API the gateway calls. It knows nothing of NFS: inodes,
 * attributes, names, byte ranges, credentials. All functions are thread-safe
 * and return 0 or a negative errno (ENOENT, EEXIST, ENOTDIR, EISDIR,
 * ENOTEMPTY, EACCES, EPERM, EINVAL, ENAMETOOLONG, ESTALE for an inode that
 * no longer exists, EIO / ECONNREFUSED / ETIMEDOUT when metadata or a bucket
 * cannot be reached, ...).
 *
 * Writes are buffered per file and made durable by vfs_flush() (or when a
 * block fills up); reads through the same vfs always see buffered data.
 */
#ifndef MCFS_VFS_H
#define MCFS_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"
#include "attr_cache.h"
#include "dir_cache.h"
#include "config.h"

#define MCFS_NAME_MAX	    255
#define MCFS_SYMLINK_MAX    4095
#define MCFS_MAX_GROUPS	    32
#define MCFS_XATTR_NAME_MAX 255
#define MCFS_XATTR_SIZE_MAX 65536
/* Largest file size: the metadata scripts compute in Lua doubles. */
#define MCFS_MAX_FILE_SIZE (1ULL << 53)

struct vfs;

struct mcfs_cred {
	uint32_t uid, gid;
	uint32_t ngroups;
	uint32_t groups[MCFS_MAX_GROUPS];
};

struct vfs_options {
	const char *meta_url;
	const char *meta_password;
	const char *region;	       /* NULL: the volume's source region */
	const struct mcfs_config *cfg; /* S3 keys, cache, data settings; NULL for defaults */
	bool background;	       /* run compaction and deferred deletion threads */
	/* Keep attributes and listings Redis reports changes of ([cache]
	 * attributes, directories): for a gateway, whose requests run on
	 * coroutines (only they are tracked). */
	bool cache_attributes;
};

int vfs_open(const struct vfs_options *opt, struct vfs **out, char *err, size_t errlen);
/* The attribute cache's counters (all 0 when it is off). */
void vfs_attr_cache_stats(struct vfs *v, struct attr_cache_stats *out);
/* The listing cache's counters (all 0 when it is off). */
void vfs_dir_cache_stats(struct vfs *v, struct dir_cache_stats *out);
/* Flushes every buffered write, stops background work, releases everything. */
int vfs_close(struct vfs *v);

struct vfs_volume_info {
	char name[64];
	char uuid[37];
	uint32_t block_size;
	uint32_t chunk_size;
};
void vfs_volume_info(const struct vfs *v, struct vfs_volume_info *out);

/* Where reads were served from, for tests and status: blocks from the
 * cache, the local bucket, other regions' buckets; metadata reads from the
 * local replica or the source, and the replica's estimated lag. */
struct vfs_route_info {
	char region[64];
	char mode[16];
	uint64_t blocks_cached, blocks_local, blocks_remote;
	bool has_replica, replica_usable;
	long long replica_lag_ms; /* -1: unknown */
	uint64_t replica_reads, primary_reads, primary_switches;
	uint64_t low_watermark;
};
void vfs_route_info(struct vfs *v, struct vfs_route_info *out);

/* ---- names and attributes */
int vfs_getattr(struct vfs *v, mcfs_ino_t ino, struct mcfs_attr *out);
int vfs_lookup(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
	       struct mcfs_attr *out);
/* vfs_lookup that also gives the directory's attributes when the lookup
 * read them (*have_dir), failed lookups included: one round trip for both. */
int vfs_lookup_in(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
		  struct mcfs_attr *out, struct mcfs_attr *dir_out, bool *have_dir);

enum {
	VFS_SET_MODE = 1,
	VFS_SET_UID = 2,
	VFS_SET_GID = 4,
	VFS_SET_SIZE = 8,
	VFS_SET_ATIME = 16,
	VFS_SET_MTIME = 32,
	VFS_SET_ATIME_NOW = 64,
	VFS_SET_MTIME_NOW = 128,
	VFS_SET_GUARD_CTIME = 256, /* fail with -EAGAIN unless ctime equals guard_ctime */
};
struct vfs_setattr {
	unsigned mask;
	uint16_t mode;
	uint32_t uid, gid;
	uint64_t size;
	struct timespec atime, mtime, guard_ctime;
};
int vfs_setattr(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino,
		const struct vfs_setattr *sa, struct mcfs_attr *out);

/* Creation: `out` gets the new inode's attributes; `parent_out` (optional)
 * the parent's after the change. VFS_CREATE_EXCL fails with -EEXIST if the
 * name exists; without it an existing regular file is returned as is. */
enum { VFS_CREATE_EXCL = 1 };
int vfs_create(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
	       uint16_t mode, unsigned flags, struct mcfs_attr *out, struct mcfs_attr *parent_out);
int vfs_mkdir(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
	      uint16_t mode, struct mcfs_attr *out, struct mcfs_attr *parent_out);
int vfs_mknod(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
	      enum mcfs_ftype type, uint16_t mode, uint32_t rdev_major, uint32_t rdev_minor,
	      struct mcfs_attr *out, struct mcfs_attr *parent_out);
int vfs_symlink(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
		const char *target, struct mcfs_attr *out, struct mcfs_attr *parent_out);
/* Copies the target (NUL-terminated) into buf. */
int vfs_readlink(struct vfs *v, mcfs_ino_t ino, char *buf, size_t len);
int vfs_link(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, mcfs_ino_t dir,
	     const char *name, struct mcfs_attr *out, struct mcfs_attr *parent_out);
int vfs_unlink(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
	       struct mcfs_attr *parent_out);
int vfs_rmdir(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, const char *name,
	      struct mcfs_attr *parent_out);
enum { VFS_RENAME_NOREPLACE = 1 };
int vfs_rename(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t src_dir, const char *src_name,
	       mcfs_ino_t dst_dir, const char *dst_name, unsigned flags,
	       struct mcfs_attr *src_dir_out, struct mcfs_attr *dst_dir_out);

/* Directory listing. Cookies are opaque, > 0, and stay valid while the
 * directory changes: entries added later have larger cookies, removed ones
 * are skipped. "." and ".." are not listed (the protocol layer adds them).
 * cb returns non-zero to stop early (that entry is not consumed). */
struct vfs_dirent {
	const char *name;
	mcfs_ino_t ino;
	uint8_t type;
	uint64_t cookie;
	const struct mcfs_attr *attr; /* with want_attrs, else NULL */
};
int vfs_readdir(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t dir, uint64_t cookie,
		bool want_attrs, int (*cb)(const struct vfs_dirent *e, void *arg), void *arg,
		bool *eof);
/* The same, for a caller that has just read the directory's attributes and
 * knows it takes at most `want` entries (0: no idea), so that no more are
 * read from the metadata server than it can use. */
int vfs_readdir_known(struct vfs *v, const struct mcfs_cred *c, const struct mcfs_attr *dir_attr,
		      uint64_t cookie, bool want_attrs, size_t want,
		      int (*cb)(const struct vfs_dirent *e, void *arg), void *arg, bool *eof);

/* ---- data */
/* Opening tells the volume a file is in use, so unlinking it keeps the data
 * until the last vfs_release(). Reads and writes do not require it. */
int vfs_open_file(struct vfs *v, mcfs_ino_t ino);
int vfs_release(struct vfs *v, mcfs_ino_t ino);
/* Reads up to len bytes; *got is what was read (short only at end of file). */
int vfs_read(struct vfs *v, mcfs_ino_t ino, uint64_t off, size_t len, void *buf, size_t *got,
	     bool *eof);
/* The same, with the file's attributes the caller has just read (from
 * vfs_getattr, pending writes merged): saves a metadata round trip. */
int vfs_read_known(struct vfs *v, const struct mcfs_attr *known, uint64_t off, size_t len,
		   void *buf, size_t *got, bool *eof);
/* Where a read's bytes lie whole in one file of this machine: a block of a
 * local (file://) bucket, verified against its length. */
struct vfs_file_range {
	int fd; /* the caller's to close */
	uint64_t off;
	size_t len;
	bool eof;
};
/* vfs_read_known without the copy: the bytes of [off, off+len) (fewer at
 * the end of the file) as a range of one open file, for sendfile(2).
 * -EAGAIN when they are not (held in several blocks or slices, in a remote
 * bucket, buffered, a hole, or past the end); the caller then reads them
 * with vfs_read_known, which also reports any error properly. */
int vfs_read_known_file(struct vfs *v, const struct mcfs_attr *known, uint64_t off, size_t len,
			struct vfs_file_range *out);
/* Buffers a write (durable after vfs_flush). `c` is used to clear suid bits. */
int vfs_write(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, uint64_t off,
	      const void *buf, size_t len, struct mcfs_attr *out);
/* The same, with the attributes the caller has just read (see vfs_read_known).
 * *out is known with the size and times of this write; its change counter is
 * known's (NFSv3 has none; NFSv4 callers use vfs_write). */
int vfs_write_known(struct vfs *v, const struct mcfs_cred *c, const struct mcfs_attr *known,
		    uint64_t off, const void *buf, size_t len, struct mcfs_attr *out);
/* Uploads and commits everything buffered for ino: after it returns 0 the
 * data is in the bucket and in metadata. */
int vfs_flush(struct vfs *v, mcfs_ino_t ino);
/* vfs_flush, then the attributes: those the commit returned, or a getattr
 * when nothing was buffered. */
int vfs_flush_getattr(struct vfs *v, mcfs_ino_t ino, struct mcfs_attr *out);
int vfs_flush_all(struct vfs *v);

/* ---- misc */
struct vfs_statfs {
	uint64_t total_bytes, used_bytes, avail_bytes;
	uint64_t total_inodes, used_inodes, avail_inodes;
};
int vfs_statfs(struct vfs *v, struct vfs_statfs *out);
/* The rwx bits (4 read, 2 write, 1 execute/search) that mode, owner and group
 * give c on an object; root gets all but execute of a file with no x bit. */
unsigned vfs_mode_bits(const struct mcfs_cred *c, const struct mcfs_attr *a);
/* mask: 4 read, 2 write, 1 execute/search; -EACCES if not all allowed. */
int vfs_access(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, unsigned mask);

int vfs_getxattr(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, const char *name,
		 void *buf, size_t len, size_t *out_len);
enum { VFS_XATTR_CREATE = 1, VFS_XATTR_REPLACE = 2 };
int vfs_setxattr(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, const char *name,
		 const void *value, size_t len, unsigned flags);
/* Names, each NUL-terminated, one after another; *out_len is the total. */
int vfs_listxattr(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, char *buf, size_t len,
		  size_t *out_len);
int vfs_removexattr(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, const char *name);

/* ---- records: small opaque key/value pairs a protocol layer keeps in the
 * volume's metadata under a namespace (e.g. NFSv4 client records). */
typedef int (*vfs_record_fn)(const void *key, size_t klen, const void *val, size_t vlen, void *arg);
int vfs_record_put(struct vfs *v, const char *ns, const void *key, size_t klen, const void *val,
		   size_t vlen);
int vfs_record_del(struct vfs *v, const char *ns, const void *key, size_t klen);
/* Calls cb for every record (non-zero from cb stops; negative is returned). */
int vfs_record_list(struct vfs *v, const char *ns, vfs_record_fn cb, void *arg);

/* Background maintenance, also callable directly (tests, `mcfs gc`):
 * compacts fragmented chunks of ino (all files when 0) and applies the
 * deletion log entries older than the delay. Returns what it did or -errno. */
int vfs_compact_file(struct vfs *v, mcfs_ino_t ino);
int vfs_apply_deletions(struct vfs *v, uint64_t delay_seconds, uint64_t *deleted);

#endif
