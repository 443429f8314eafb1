/*
 * Object stores: a bucket of immutable objects behind one small interface.
 * Implementations: file:///DIR (a directory as a bucket) and S3 over HTTP(S),
 * path style, SigV4. Every function is safe to call from many threads at once.
 *
 * Errors are negative errno values:
 *   -ENOENT       object (or bucket) does not exist: a distinct, expected result
 *   -EACCES       credentials refused (S3 403, file permission denied)
 *   -EINVAL       bad URL or argument
 *   -ECONNREFUSED / -EHOSTUNREACH / -ETIMEDOUT   endpoint unreachable (after retries)
 *   -EIO          anything else (after retries), including a short or oversize read
 *                 and a TLS certificate that does not verify (not retried)
 */
#ifndef MCFS_OBJSTORE_H
#define MCFS_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct objstore;

struct objstore_credentials {
	const char *access_key; /* NULL: take AWS_ACCESS_KEY_ID from the environment */
	const char *secret_key; /* NULL: take AWS_SECRET_ACCESS_KEY from the environment */
	const char *region;	/* SigV4 signing region; NULL means "us-east-1" */
	const char *ca_file;	/* PEM certificates to trust for https://; NULL: AWS_CA_BUNDLE
				   from the environment, else the system's */
	bool sign_payload;	/* sign request bodies over https:// too (always over http://) */
};

/* Opens a bucket by URL: file:///DIR, http://HOST:PORT/BUCKET, https://HOST/BUCKET.
 * Does no I/O beyond what is needed to validate the URL; use objstore_check(). */
int objstore_open(const char *url, const struct objstore_credentials *cred, struct objstore **out);
void objstore_close(struct objstore *os);

/* The URL with any secret removed, for messages and logs. */
/* True for a file:// bucket: its blocks are as close as a disk cache. */
bool objstore_is_local(const struct objstore *os);
const char *objstore_describe(const struct objstore *os);

/* Verifies the bucket exists and the credentials work (a real request). */
int objstore_check(struct objstore *os);
/* Creates the bucket if it does not exist (file: mkdir -p; S3: PUT bucket). */
int objstore_create_bucket(struct objstore *os);

/* Writes an object atomically: readers see the whole object or nothing. */
int objstore_put(struct objstore *os, const char *key, const void *buf, size_t len);
/* Reads a whole object into buf (capacity cap); *len gets its size.
 * An object larger than cap is -EFBIG. */
int objstore_get(struct objstore *os, const char *key, void *buf, size_t cap, size_t *len);
/* Reads [off, off+len) of an object; *got is the number of bytes read (short at the end). */
int objstore_get_range(struct objstore *os, const char *key, uint64_t off, size_t len, void *buf,
		       size_t *got);
/* The same, and *size gets the object's whole size (to verify it against
 * what metadata says before the bytes are served). */
int objstore_get_range_sized(struct objstore *os, const char *key, uint64_t off, size_t len,
			     void *buf, size_t *got, uint64_t *size);
/* An object of a local (file://) bucket opened for reading, so that its
 * bytes can be sent from the kernel's page cache without a copy: *fd is the
 * caller's to close, *size the object's size. -EOPNOTSUPP for other stores. */
int objstore_open_read(struct objstore *os, const char *key, int *fd, uint64_t *size);
/* An object written piece by piece, in place: an unnamed file where key
 * will be (*fd the caller's), then published under key with len bytes, the
 * file's bytes past what was written reading as zeros. Only for a local
 * bucket whose writes never wait for a device (tmpfs); -EOPNOTSUPP
 * elsewhere. Publishing is atomic like a put, and may be tried again. */
int objstore_open_unnamed(struct objstore *os, const char *key, int *fd);
int objstore_publish_unnamed(struct objstore *os, const char *key, int fd, size_t len);
/* Size of an object, -ENOENT if missing. */
int objstore_head(struct objstore *os, const char *key, uint64_t *size);
/* Deletes an object; deleting a missing object succeeds. */
int objstore_delete(struct objstore *os, const char *key);

struct objstore_entry {
	const char *key;
	uint64_t size;
	time_t mtime;
};
/* Calls cb for every object whose key starts with prefix, in no set order.
 * A non-zero return from cb stops the walk and is returned. */
int objstore_list(struct objstore *os, const char *prefix,
		  int (*cb)(const struct objstore_entry *e, void *arg), void *arg);

/* Many transfers at once (libcurl multi for S3, a few threads for file://).
 * Each op gets its own result; the call returns 0 once all are done, or the first error. */
enum objstore_op_kind { OBJSTORE_PUT, OBJSTORE_GET, OBJSTORE_DELETE };
struct objstore_op {
	enum objstore_op_kind kind;
	const char *key;
	void *buf;   /* PUT: data; GET: destination */
	size_t len;  /* PUT: data length; GET: capacity */
	size_t done; /* GET: bytes read */
	int result;  /* 0 or negative errno, filled in */
};
int objstore_batch(struct objstore *os, struct objstore_op *ops, size_t n);

#endif
