/* Internals shared by the vfs modules; not for the gateway. */
#ifndef MCFS_VFS_IMPL_H
#define MCFS_VFS_IMPL_H

#include <pthread.h>
#include <stdbool.h>

#include "attr_cache.h"
#include "cache.h"
#include "cosync.h"
#include "chunk_cache.h"
#include "dir_cache.h"
#include "config.h"
#include "meta.h"
#include "objstore.h"
#include "slice.h"
#include "vfs.h"
#include "volume.h"
#include "workpool.h"
#include "reader.h"
#include "meta_route.h"
#include "region_stores.h"

#define VFS_FILE_BUCKETS 1024

struct writer;

/* A range of a volume counter this gateway hands out (vfs_take_id). */
struct id_range {
	struct co_mutex lock; /* held across the Redis call that takes a new range */
	const char *field;    /* of "{VOL}:counter" */
	uint64_t next, end;
};

/* Per-inode state of files this process reads, writes or holds open. */
struct vfs_file {
	mcfs_ino_t ino;
	unsigned users;		     /* callers inside vfs functions, plus one per open */
	unsigned opens;		     /* vfs_open_file() count */
	struct co_rwlock lock;	     /* readers share it; writes and flushes take it alone */
	struct writer *writer;	     /* buffered writes, NULL when clean */
	uint32_t writer_uid;	     /* who wrote last (a non-root write clears suid/sgid) */
	struct timespec dirty_mtime; /* time of the last buffered write */
	uint64_t next_seq_off;	     /* readahead: where a sequential read would continue */
	unsigned seq_reads;
	struct vfs_file *next;
};

struct vfs {
	struct meta_route *route;     /* the source primary, and the local replica to read from */
	struct region_stores *stores; /* every region's bucket, for reads that fall back */
	struct objstore *store;	      /* where this gateway writes blocks (owned by stores) */
	uint16_t data_origin;	      /* the region index recorded in the slices written here */
	uint64_t low_watermark;	      /* atomic: slices below are believed in the local bucket */
	uint64_t reads_cached, reads_local, reads_remote; /* atomic: blocks read, by where from */
	struct block_cache *cache;
	struct chunk_cache *chunks; /* slice lists of recent reads; NULL: off */
	struct attr_cache *attrs;   /* attributes Redis tracks for us; NULL: off */
	struct dir_cache *dirs;	    /* listings Redis tracks for us; NULL: off */
	struct workpool *io_pool;   /* block uploads and readahead */
	struct volume_settings vol;
	struct region_info region;
	char setting_key[96]; /* "{VOL}:setting": KEYS[1] of every script */
	char key_prefix[80];  /* "{VOL}:", for keys built on every request */
	size_t key_prefix_len;
	char session[33];
	struct mcfs_config cfg;

	pthread_mutex_t files_lock;
	struct vfs_file *files[VFS_FILE_BUCKETS];

	/* Slice ids, inode numbers and directory order numbers are taken from
	 * their volume counters in ranges, to save a command per use. */
	struct id_range slice_ids, inode_ids, order_ids;

	uint64_t buffered_bytes; /* atomic: write buffers in memory */
	unsigned writers; /* atomic: files with buffered writes (a listing skips merging at 0) */

	pthread_t bg_thread;
	bool bg_started, bg_stop;
	pthread_mutex_t bg_lock;
	pthread_cond_t bg_cond;
	/* chunks waiting for compaction: a small ring */
	struct {
		mcfs_ino_t ino;
		uint32_t chunk;
	} compact_queue[256];
	unsigned compact_head, compact_tail;
};

/* vfs_route.c: which metadata server and which bucket */
/* The source primary: every change goes there. */
struct meta *vfs_meta(struct vfs *v);
/* Reads, from the local replica when it is fresh enough (meta_route.h). */
int vfs_read_cmdf(struct vfs *v, redisReply **reply, const char *fmt, ...);
/* The same with arguments as an argv (binary-safe with lens). */
int vfs_read_cmd_argv(struct vfs *v, redisReply **reply, int argc, const char *const *argv,
		      const size_t *lens);
/* A read-only script, routed like vfs_read_cmdf. */
int vfs_read_eval(struct vfs *v, const char *script, int argc, const char **argv,
		  const size_t *lens, redisReply **reply);
/* vfs_read_eval with watch declared as KEYS[2] (meta_eval_track); tracked may be NULL. */
int vfs_read_eval_track(struct vfs *v, const char *script, const char *watch, int argc,
			const char **argv, const size_t *lens, bool *tracked, redisReply **reply);
/* vfs_read_cmd_argv with *tracked as meta_cmd_track has it (tracked may be NULL). */
int vfs_read_cmd_argv_track(struct vfs *v, redisReply **reply, int argc, const char *const *argv,
			    const size_t *lens, bool *tracked);
/* Opens the metadata route and the buckets for region v->region. */
int vfs_route_open(struct vfs *v, const char *meta_url, const char *password, char *err,
		   size_t errlen);
void vfs_route_close(struct vfs *v);
/* Re-reads the replicator's low watermark for this region. */
void vfs_refresh_low_watermark(struct vfs *v);

struct meta_args;

/* vfs_attrs.c: the attribute cache (attr_cache.h), all no-ops when it is off */
/* Redis reports a changed key (meta_invalidate_fn; arg is the vfs): an
 * inode's attributes, or a directory's entries. */
void vfs_cached_key_changed(void *arg, const char *key, size_t len);
/* This process changed dir's entries (created, removed or renamed a name),
 * and so its attributes: both are forgotten. Also for an inode removed. */
void vfs_dir_changed(struct vfs *v, mcfs_ino_t dir);
/* A command whose answer may be kept: the ticket taken before it was sent,
 * and whether Redis tracks what it read. */
struct attrs_watch {
	uint64_t ticket;
	bool tracked;
};
/* Starts w before the command; returns the flag to hand to a *_track call
 * (NULL when nothing is cached). */
bool *vfs_attrs_watch(struct vfs *v, struct attrs_watch *w);
/* A mutating script that reads ino's attributes back (declared as KEYS[2],
 * meta_eval_op_track), with w started. */
int vfs_eval_op_watching(struct vfs *v, const char *script, mcfs_ino_t ino, struct meta_args *a,
			 struct attrs_watch *w, redisReply **rep);
/* Attributes a watched read found. */
void vfs_attrs_read(struct vfs *v, const struct mcfs_attr *a, const struct attrs_watch *w);
/* Attributes this process's watched change left. */
void vfs_attrs_changed_to(struct vfs *v, const struct mcfs_attr *a, const struct attrs_watch *w);
/* ino was changed here (or may have been). */
void vfs_attrs_forget(struct vfs *v, mcfs_ino_t ino);
/* Whether cached attributes may be served now: every report that reached
 * this process has been read. A batch checks once and reads the cache. */
bool vfs_attrs_servable(struct vfs *v);
bool vfs_attrs_get(struct vfs *v, mcfs_ino_t ino, struct mcfs_attr *out);

/* vfs.c */
/* "{VOL}:<kind><ino>" into out (at least 128 bytes), e.g. kind "i:": its length.
 * The hot paths build keys this way: snprintf cost a tenth of a listing. */
size_t vfs_ino_key(const struct vfs *v, char *out, const char *kind, uint64_t ino);
struct vfs_file *vfs_file_get(struct vfs *v, mcfs_ino_t ino); /* NULL on ENOMEM */
void vfs_file_put(struct vfs *v, struct vfs_file *f);
/* Existing state only (no allocation); NULL if none. Caller must put. */
struct vfs_file *vfs_file_find(struct vfs *v, mcfs_ino_t ino);
int vfs_next_slice_id(struct vfs *v, uint64_t *id);
/* The next number of a counter range, taking a new range when it runs out. */
int vfs_take_id(struct vfs *v, struct id_range *r, uint64_t *id);
void vfs_queue_compaction(struct vfs *v, mcfs_ino_t ino, uint32_t chunk);
/* Raw committed attributes, without buffered writes merged in. */
int vfs_getattr_committed(struct vfs *v, mcfs_ino_t ino, struct mcfs_attr *out);

/* vfs_namespace.c */
bool vfs_name_ok(const char *name);

/* vfs_data.c */
/* Merges buffered writes (size, mtime, change) into committed attributes. */
void vfs_merge_pending(struct vfs *v, struct mcfs_attr *a);
/* Slice records of one chunk, in order. *recs is malloc'd. */
int vfs_load_chunk(struct vfs *v, mcfs_ino_t ino, uint32_t chunk, struct slice_rec **recs,
		   size_t *n);
/* Assembles committed data of [off, off+len) within one chunk into buf. */
int vfs_read_chunk_range(struct vfs *v, const struct slice_rec *recs, size_t n, uint32_t pos,
			 uint32_t len, uint8_t *buf);

#endif
