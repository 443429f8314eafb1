/* Inside the object store layer: the backend vtable and the common base that
 * every backend embeds as its first member. Not for users of objstore.h. */
#ifndef MCFS_OBJSTORE_IMPL_H
#define MCFS_OBJSTORE_IMPL_H

#include <stdbool.h>

#include "objstore.h"
#include "url.h"

/* The longest key accepted (S3's own limit). */
#define OBJSTORE_KEY_MAX 1024

/* Backends get arguments the public wrappers already checked: a non-NULL
 * store, a well-formed key (objstore_key_valid), buffers present when their
 * length is non-zero. */
struct objstore_ops {
	int (*put)(struct objstore *os, const char *key, const void *buf, size_t len);
	int (*get)(struct objstore *os, const char *key, void *buf, size_t cap, size_t *len);
	int (*get_range)(struct objstore *os, const char *key, uint64_t off, size_t len, void *buf,
			 size_t *got);
	/* NULL: head, then get_range. */
	int (*get_range_sized)(struct objstore *os, const char *key, uint64_t off, size_t len,
			       void *buf, size_t *got, uint64_t *size);
	/* NULL where objects are not files of this machine. */
	int (*open_read)(struct objstore *os, const char *key, int *fd, uint64_t *size);
	/* NULL, or -EOPNOTSUPP, where objects cannot be written in place. */
	int (*open_unnamed)(struct objstore *os, const char *key, int *fd);
	int (*publish_unnamed)(struct objstore *os, const char *key, int fd, size_t len);
	int (*head)(struct objstore *os, const char *key, uint64_t *size);
	int (*delete)(struct objstore *os, const char *key);
	/* prefix is never NULL ("" lists everything). */
	int (*list)(struct objstore *os, const char *prefix,
		    int (*cb)(const struct objstore_entry *e, void *arg), void *arg);
	/* Ops whose result is already negative on entry were refused by the
	 * wrapper and must be left alone; all others start with result 0. */
	int (*batch)(struct objstore *os, struct objstore_op *ops, size_t n);
	int (*check)(struct objstore *os);
	int (*create_bucket)(struct objstore *os);
	void (*close)(struct objstore *os);
};

struct objstore {
	const struct objstore_ops *ops;
	bool local;	   /* a directory on this machine (file://) */
	bool quick_writes; /* writes never wait for a device: no need to offload them */
	/* Its requests can run on the calling coroutine's event loop (curl_loop.h)
	 * instead of the blocking pool, except PUTs of bodies over loop_put_max,
	 * whose signature would hash the body on the loop. */
	bool loop_io;
	size_t loop_put_max;
	char desc[1100]; /* objstore_describe(): never holds a secret */
};

/* Backend constructors, given an already parsed URL. They leave desc to objstore_open(). */
int objstore_file_open(const struct bucket_url *u, struct objstore **out);
int objstore_s3_open(const struct bucket_url *u, const struct objstore_credentials *cred,
		     struct objstore **out);

/* True for keys every backend can store: 1..OBJSTORE_KEY_MAX bytes, no control
 * characters, no empty, "." or ".." path segments (so a key can never escape a
 * file:// bucket). */
bool objstore_key_valid(const char *key);

/* What objstore_batch() returns once every op has its result: 0, or the
 * result of the first failed op (in array order, so the answer is stable). */
int objstore_batch_result(const struct objstore_op *ops, size_t n);

#endif
