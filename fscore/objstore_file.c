/* A directory as a bucket. Keys map to paths below the root, '/' to
 * subdirectories. A put becomes visible by rename(2) of a fully written and
 * fsync'ed temporary file, so readers see whole objects only and an
 * acknowledged put survives a crash. On tmpfs (memory, gone at reboot)
 * there is nothing to sync and no fsync is made. Empty directories are left in place
 * after deletes: removing them would race with puts creating files there. */
#include "objstore_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "fd_io.h"
#include "log.h"
#include "lru.h"
#include "thread_name.h"

/* Temporary files start with this; no key segment may, and list skips them. */
#define TMP_PREFIX     ".mcfs-tmp."
#define TMP_PREFIX_LEN (sizeof(TMP_PREFIX) - 1)
/* Local I/O: a few threads are enough to overlap the fsyncs. */
#define BATCH_THREADS 8
/* No put takes a day; a temporary file that old is litter from a crash. */
#define TMP_STALE_SECONDS (24 * 3600)

/*
 * Open objects kept for reads. Objects never change once written, so an
 * open descriptor stays right for as long as it is kept, and a random read
 * costs one pread instead of an open, a stat and a close. Entries are
 * closed FD_MAX_AGE_MS after they were opened, so that an object deleted by
 * another process is neither readable nor holding its space for longer;
 * this store's own deletes drop theirs at once. HEAD always asks the file
 * system.
 */
#define FD_CACHE_MAX  256
#define FD_HASH	      512
#define FD_MAX_AGE_MS 2000

struct open_obj {
	struct open_obj *hnext; /* hash chain */
	struct lru_node lru;
	int fd;
	unsigned refs;
	bool dropped; /* deleted: close once the last reader is done */
	uint64_t size;
	long long opened_ms;
	char key[];
};

struct fd_cache {
	pthread_mutex_t lock;
	struct open_obj *hash[FD_HASH];
	struct lru_list lru;
	unsigned n;
};

struct file_store {
	struct objstore base;
	char root[PATH_MAX];
	long pid;	 /* names this process's temporary files */
	bool memory;	 /* tmpfs or ramfs: nothing to fsync, no write ever waits for a disk */
	bool no_tmpfile; /* atomic: O_TMPFILE or linking it by descriptor is refused here */
	struct fd_cache fds;
};

static struct file_store *to_fs(struct objstore *os)
{
	return (struct file_store *)os;
}

/* Errors the header does not name collapse to -EIO; a full disk stays visible. */
static int map_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return -ENOENT;
	case EACCES:
	case EPERM:
		return -EACCES;
	case ENOSPC:
	case EDQUOT:
	case EROFS:
	case ENOMEM:
		return -e;
	case ENAMETOOLONG:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static bool key_reserved(const char *key)
{
	for (const char *seg = key; seg; seg = strchr(seg, '/')) {
		if (*seg == '/')
			seg++;
		if (strncmp(seg, TMP_PREFIX, TMP_PREFIX_LEN) == 0)
			return true;
	}
	return false;
}

static int key_path(struct file_store *fs, const char *key, char *path, size_t cap)
{
	if (key_reserved(key))
		return -EINVAL;
	int n = snprintf(path, cap, "%s/%s", fs->root, key);
	return n < 0 || (size_t)n >= cap ? -EINVAL : 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* Creates the missing directories of path (up to, excluding, its last
 * component), each made durable in its parent so a later acknowledged put
 * cannot lose its directory in a crash. */
static int mkdir_parents(const char *path, size_t keep)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (size_t i = keep + 1; i < len; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) == 0) {
			char *slash = strrchr(buf, '/');
			if (slash && slash != buf) {
				*slash = '\0';
				int r = fsync_dir(buf);
				*slash = '/';
				if (r < 0)
					return r;
			}
		} else if (errno != EEXIST) {
			return -errno;
		}
		buf[i] = '/';
	}
	return 0;
}

/* Reads exactly len bytes at off; -EIO if the file is shorter. */
static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = fd_pread_upto(fd, buf, len, (uint64_t)off);
	return n < 0 ? (int)n : (size_t)n < len ? -EIO : 0;
}

/* Opens a new temporary file next to path; tmp receives its name. */
static int open_tmp(struct file_store *fs, const char *path, char *tmp, size_t cap)
{
	static unsigned long counter;
	const char *slash = strrchr(path, '/');
	int dirlen = (int)(slash - path);

	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
		int len =
		    snprintf(tmp, cap, "%.*s/" TMP_PREFIX "%ld.%lu", dirlen, path, fs->pid, n);
		if (len < 0 || (size_t)len >= cap)
			return -ENAMETOOLONG;
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

static int write_tmp(struct file_store *fs, int fd, const void *buf, size_t len)
{
	int r = fd_write_all(fd, buf, len);
	if (r == 0 && !fs->memory && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static void fd_forget(struct fd_cache *c, const char *key);

/* An unnamed file in the directory of path: its descriptor, -ENOENT when
 * the directory is missing, -EOPNOTSUPP where the file system makes none
 * (remembered), or -errno. */
static int open_unnamed_in(struct file_store *fs, char *path, int access)
{
	char *slash = strrchr(path, '/');
	*slash = '\0';
	int fd = open(path, O_TMPFILE | access | O_CLOEXEC, 0644);
	*slash = '/';
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	__atomic_store_n(&fs->no_tmpfile, true, __ATOMIC_RELAXED);
	return -EOPNOTSUPP;
}

/* Links an unnamed file under path: 0, -errno, or 1 when the bytes must go
 * the ordinary way, because the name exists (a put again must replace it)
 * or linking by descriptor is not allowed here (remembered). */
static int link_unnamed(struct file_store *fs, int fd, const char *path)
{
	if (linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0)
		return 0;
	int e = errno;
	if (e == EPERM || e == ENOENT)
		__atomic_store_n(&fs->no_tmpfile, true, __ATOMIC_RELAXED);
	return e == EEXIST || e == EPERM || e == ENOENT ? 1 : -e;
}

/*
 * A put through an unnamed file (O_TMPFILE) that is linked under its name
 * once written: atomic like the rename, one name lookup less, and a crash
 * leaves no temporary behind. Linking by descriptor takes
 * CAP_DAC_READ_SEARCH; without it (or on a file system without O_TMPFILE),
 * or when the name exists already (a put again must replace), this returns
 * 1 and the caller goes the temporary-and-rename way.
 */
static int put_unnamed(struct file_store *fs, char *path, const void *buf, size_t len)
{
	if (__atomic_load_n(&fs->no_tmpfile, __ATOMIC_RELAXED))
		return 1;
	int fd = open_unnamed_in(fs, path, O_WRONLY);
	/* A missing directory is made on the other way. */
	if (fd == -ENOENT || fd == -EOPNOTSUPP)
		return 1;
	if (fd < 0)
		return fd;
	int r = fd_write_all(fd, buf, len);
	if (r == 0 && !fs->memory && fsync(fd) < 0)
		r = -errno;
	if (r == 0)
		r = link_unnamed(fs, fd, path);
	close(fd);
	return r;
}

/* The end of a put: the error reported, or the new name made durable. */
static int put_done(struct file_store *fs, const char *key, char *path, int r)
{
	if (r < 0) {
		log_warn("objstore %s: put %s: %s", fs->base.desc, key, strerror(-r));
		return map_errno(-r);
	}
	if (fs->memory)
		return 0;
	*strrchr(path, '/') = '\0';
	r = fsync_dir(path);
	return r < 0 ? map_errno(-r) : 0;
}

static int file_put(struct objstore *os, const char *key, const void *buf, size_t len)
{
	struct file_store *fs = to_fs(os);
	char path[PATH_MAX], tmp[PATH_MAX];
	int r = key_path(fs, key, path, sizeof(path));
	if (r < 0)
		return r;

	r = put_unnamed(fs, path, buf, len);
	if (r <= 0)
		return put_done(fs, key, path, r);
	int fd = open_tmp(fs, path, tmp, sizeof(tmp));
	/* Missing directories are made on demand; a concurrent put may make them too. */
	for (int attempt = 0; fd == -ENOENT && attempt < 3; attempt++) {
		r = mkdir_parents(path, strlen(fs->root));
		if (r < 0)
			return map_errno(-r);
		fd = open_tmp(fs, path, tmp, sizeof(tmp));
	}
	if (fd < 0)
		return map_errno(-fd);

	r = write_tmp(fs, fd, buf, len);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	/* Objects are written once, but a repair may put one again. */
	fd_forget(&fs->fds, key);
	if (r < 0)
		unlink(tmp);
	return put_done(fs, key, path, r);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned key_hash(const char *key)
{
	unsigned h = 2166136261u;
	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % FD_HASH;
}

static struct open_obj *obj_of(struct lru_node *n)
{
	return LRU_ENTRY(n, struct open_obj, lru);
}

/* Takes o out of the cache (lock held); it is closed now or by its last reader. */
static void fd_drop_locked(struct fd_cache *c, struct open_obj *o)
{
	struct open_obj **pp = &c->hash[key_hash(o->key)];
	while (*pp && *pp != o)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = o->hnext;
	lru_remove(&c->lru, &o->lru);
	c->n--;
	o->dropped = true;
	if (o->refs == 0) {
		close(o->fd);
		free(o);
	}
}

static struct open_obj *fd_lookup_locked(struct fd_cache *c, const char *key)
{
	for (struct open_obj *o = c->hash[key_hash(key)]; o; o = o->hnext)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

/* Closes the least recently used entries over the bound (lock held). */
static void fd_trim_locked(struct fd_cache *c)
{
	while (c->lru.oldest && c->n > FD_CACHE_MAX)
		fd_drop_locked(c, obj_of(c->lru.oldest));
}

static void fd_release(struct fd_cache *c, struct open_obj *o)
{
	pthread_mutex_lock(&c->lock);
	if (--o->refs == 0 && o->dropped) {
		close(o->fd);
		free(o);
	}
	pthread_mutex_unlock(&c->lock);
}

static void fd_forget(struct fd_cache *c, const char *key)
{
	pthread_mutex_lock(&c->lock);
	struct open_obj *o = fd_lookup_locked(c, key);
	if (o)
		fd_drop_locked(c, o);
	pthread_mutex_unlock(&c->lock);
}

static void fd_cache_destroy(struct fd_cache *c)
{
	while (c->lru.newest)
		fd_drop_locked(c, obj_of(c->lru.newest));
	pthread_mutex_destroy(&c->lock);
}

static int open_object(struct file_store *fs, const char *key, struct stat *st);

/* An open object with a reference, from the cache or opened now. */
static int fd_acquire(struct file_store *fs, const char *key, struct open_obj **out)
{
	struct fd_cache *c = &fs->fds;
	long long now = now_ms();
	pthread_mutex_lock(&c->lock);
	struct open_obj *o = fd_lookup_locked(c, key);
	if (o && now - o->opened_ms > FD_MAX_AGE_MS) {
		fd_drop_locked(c, o);
		o = NULL;
	}
	if (o) {
		o->refs++;
		lru_touch(&c->lru, &o->lru);
	}
	pthread_mutex_unlock(&c->lock);
	if (o) {
		*out = o;
		return 0;
	}
	struct stat st;
	int fd = open_object(fs, key, &st);
	if (fd < 0)
		return fd;
	size_t klen = strlen(key);
	o = malloc(sizeof(*o) + klen + 1);
	if (!o) {
		close(fd);
		return -ENOMEM;
	}
	*o = (struct open_obj){.fd = fd, .refs = 1, .size = (uint64_t)st.st_size, .opened_ms = now};
	memcpy(o->key, key, klen + 1);
	pthread_mutex_lock(&c->lock);
	struct open_obj *raced = fd_lookup_locked(c, key);
	if (raced) {
		/* Another reader opened it meanwhile: use theirs. */
		raced->refs++;
		pthread_mutex_unlock(&c->lock);
		close(fd);
		free(o);
		*out = raced;
		return 0;
	}
	unsigned h = key_hash(key);
	o->hnext = c->hash[h];
	c->hash[h] = o;
	lru_add_newest(&c->lru, &o->lru);
	c->n++;
	fd_trim_locked(c);
	pthread_mutex_unlock(&c->lock);
	*out = o;
	return 0;
}

/* Opens an object for reading; directories are not objects. */
static int open_object(struct file_store *fs, const char *key, struct stat *st)
{
	char path[PATH_MAX];
	int r = key_path(fs, key, path, sizeof(path));
	if (r < 0)
		return r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return map_errno(errno);
	if (fstat(fd, st) < 0)
		r = map_errno(errno);
	else if (!S_ISREG(st->st_mode))
		r = -ENOENT;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int file_get(struct objstore *os, const char *key, void *buf, size_t cap, size_t *len)
{
	struct file_store *fs = to_fs(os);
	struct open_obj *o;
	int r = fd_acquire(fs, key, &o);
	if (r < 0)
		return r;
	size_t size = (size_t)o->size;
	r = size > cap ? -EFBIG : pread_all(o->fd, buf, size, 0);
	fd_release(&fs->fds, o);
	if (r == 0)
		*len = size;
	return r == -EFBIG || r == -EIO ? r : (r < 0 ? map_errno(-r) : 0);
}

static int file_get_range_sized(struct objstore *os, const char *key, uint64_t off, size_t len,
				void *buf, size_t *got, uint64_t *size)
{
	struct file_store *fs = to_fs(os);
	struct open_obj *o;
	int r = fd_acquire(fs, key, &o);
	if (r < 0)
		return r;
	*size = o->size;
	size_t n = off >= o->size ? 0 : (o->size - off < len ? (size_t)(o->size - off) : len);
	r = pread_all(o->fd, buf, n, (off_t)off);
	fd_release(&fs->fds, o);
	if (r == 0)
		*got = n;
	return r == -EIO ? r : (r < 0 ? map_errno(-r) : 0);
}

/* An unnamed file in the directory the key's object goes in (made if
 * missing); in memory only, where a write never waits for a disk. */
static int file_open_unnamed(struct objstore *os, const char *key, int *fd)
{
	struct file_store *fs = to_fs(os);
	char path[PATH_MAX];
	int r = key_path(fs, key, path, sizeof(path));
	if (r < 0)
		return r;
	if (!fs->memory || __atomic_load_n(&fs->no_tmpfile, __ATOMIC_RELAXED))
		return -EOPNOTSUPP;
	for (int attempt = 0; attempt < 3; attempt++) {
		r = open_unnamed_in(fs, path, O_RDWR);
		if (r >= 0) {
			*fd = r;
			return 0;
		}
		if (r != -ENOENT)
			break;
		r = mkdir_parents(path, strlen(fs->root));
		if (r < 0)
			return map_errno(-r);
	}
	return r == -EOPNOTSUPP ? r : map_errno(-r);
}

/* Where the file cannot be linked by descriptor (no CAP_DAC_READ_SEARCH):
 * its bytes, read back, are put the ordinary way. */
static int put_from_file(struct objstore *os, const char *key, int fd, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	int r = pread_all(fd, buf, len, 0);
	if (r == 0)
		r = file_put(os, key, buf, len);
	free(buf);
	return r;
}

static int file_publish_unnamed(struct objstore *os, const char *key, int fd, size_t len)
{
	struct file_store *fs = to_fs(os);
	char path[PATH_MAX];
	int r = key_path(fs, key, path, sizeof(path));
	if (r < 0)
		return r;
	if (ftruncate(fd, (off_t)len) < 0)
		return map_errno(errno);
	/* A file linked once cannot be linked again: published again, it is
	 * put the ordinary way too. */
	r = link_unnamed(fs, fd, path);
	fd_forget(&fs->fds, key);
	if (r == 1)
		return put_from_file(os, key, fd, len);
	return put_done(fs, key, path, r);
}

/* A descriptor of its own (from the cache's), so that the caller may keep
 * it while the cache closes its entry. */
static int file_open_read(struct objstore *os, const char *key, int *fd, uint64_t *size)
{
	struct file_store *fs = to_fs(os);
	struct open_obj *o;
	int r = fd_acquire(fs, key, &o);
	if (r < 0)
		return r;
	*size = o->size;
	*fd = fcntl(o->fd, F_DUPFD_CLOEXEC, 0);
	r = *fd < 0 ? map_errno(errno) : 0;
	fd_release(&fs->fds, o);
	return r;
}

static int file_get_range(struct objstore *os, const char *key, uint64_t off, size_t len, void *buf,
			  size_t *got)
{
	uint64_t size;
	return file_get_range_sized(os, key, off, len, buf, got, &size);
}

static int file_head(struct objstore *os, const char *key, uint64_t *size)
{
	char path[PATH_MAX];
	struct stat st;
	int r = key_path(to_fs(os), key, path, sizeof(path));
	if (r < 0)
		return r;
	if (stat(path, &st) < 0)
		return map_errno(errno);
	if (!S_ISREG(st.st_mode))
		return -ENOENT;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int file_delete(struct objstore *os, const char *key)
{
	char path[PATH_MAX];
	int r = key_path(to_fs(os), key, path, sizeof(path));
	if (r < 0)
		return r;
	fd_forget(&to_fs(os)->fds, key);
	/* A key naming a directory is no object: deleting it is deleting nothing. */
	if (unlink(path) < 0 && errno != ENOENT && errno != ENOTDIR && errno != EISDIR)
		return map_errno(errno);
	return 0;
}

struct walk {
	const char *prefix;
	size_t prefix_len;
	int (*cb)(const struct objstore_entry *e, void *arg);
	void *arg;
	char key[OBJSTORE_KEY_MAX + NAME_MAX + 2];
};

/* Whether a directory key "d/" can hold keys starting with the prefix. */
static bool dir_matches(const struct walk *w, size_t dirlen)
{
	size_t n = dirlen < w->prefix_len ? dirlen : w->prefix_len;
	return memcmp(w->key, w->prefix, n) == 0;
}

static int walk_dir(struct walk *w, int dfd, size_t keylen);

static int walk_entry(struct walk *w, int dfd, const char *name, size_t keylen)
{
	size_t nlen = strlen(name);
	struct stat st;

	if (keylen + nlen + 1 > OBJSTORE_KEY_MAX)
		return 0; /* not something put() could have made */
	memcpy(w->key + keylen, name, nlen + 1);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : map_errno(errno); /* deleted meanwhile: fine */
	if (S_ISDIR(st.st_mode)) {
		w->key[keylen + nlen] = '/';
		w->key[keylen + nlen + 1] = '\0';
		if (!dir_matches(w, keylen + nlen + 1))
			return 0;
		int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return errno == ENOENT ? 0 : map_errno(errno);
		return walk_dir(w, sub, keylen + nlen + 1);
	}
	if (!S_ISREG(st.st_mode) || strncmp(w->key, w->prefix, w->prefix_len) != 0)
		return 0;
	struct objstore_entry e = {
	    .key = w->key, .size = (uint64_t)st.st_size, .mtime = st.st_mtim.tv_sec};
	return w->cb(&e, w->arg);
}

/* A temporary file this old was left by a crash mid-put: nobody will rename it. */
static void reap_stale_tmp(int dfd, const char *name)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    st.st_mtime < time(NULL) - TMP_STALE_SECONDS)
		unlinkat(dfd, name, 0);
}

/* Walks an open directory (consumed) whose key prefix is w->key[0..keylen). */
static int walk_dir(struct walk *w, int dfd, size_t keylen)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int r = map_errno(errno);
		close(dfd);
		return r;
	}
	int r = 0;
	struct dirent *de;
	errno = 0;
	while (r == 0 && (de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (strncmp(name, TMP_PREFIX, TMP_PREFIX_LEN) == 0) {
			reap_stale_tmp(dirfd(d), name);
			continue;
		}
		r = walk_entry(w, dirfd(d), name, keylen);
		errno = 0;
	}
	if (r == 0 && errno != 0)
		r = map_errno(errno);
	closedir(d);
	return r;
}

static int file_list(struct objstore *os, const char *prefix,
		     int (*cb)(const struct objstore_entry *e, void *arg), void *arg)
{
	struct file_store *fs = to_fs(os);
	struct walk w = {.prefix = prefix, .prefix_len = strlen(prefix), .cb = cb, .arg = arg};
	char path[PATH_MAX];

	int root = open(fs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return map_errno(errno);
	/* Start in the deepest directory the prefix names, not at the root. */
	const char *slash = strrchr(prefix, '/');
	size_t dirlen = slash ? (size_t)(slash - prefix) + 1 : 0;
	memcpy(w.key, prefix, dirlen);
	w.key[dirlen] = '\0';
	int dfd = root;
	if (dirlen > 0) {
		snprintf(path, sizeof(path), "%.*s", (int)dirlen - 1, prefix);
		dfd = openat(root, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int e = errno;
		close(root);
		if (dfd < 0)
			return e == ENOENT || e == ENOTDIR ? 0 : map_errno(e);
	}
	return walk_dir(&w, dfd, dirlen);
}

static int run_op(struct objstore *os, struct objstore_op *op)
{
	switch (op->kind) {
	case OBJSTORE_PUT:
		return file_put(os, op->key, op->buf, op->len);
	case OBJSTORE_GET:
		return file_get(os, op->key, op->buf, op->len, &op->done);
	case OBJSTORE_DELETE:
		return file_delete(os, op->key);
	}
	return -EINVAL;
}

struct batch {
	struct objstore *os;
	struct objstore_op *ops;
	size_t n;
	size_t next;
};

static void *batch_worker(void *arg)
{
	thread_name("mcfs-batch");
	struct batch *b = arg;
	for (;;) {
		size_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
		if (i >= b->n)
			return NULL;
		if (b->ops[i].result == 0)
			b->ops[i].result = run_op(b->os, &b->ops[i]);
	}
}

static int file_batch(struct objstore *os, struct objstore_op *ops, size_t n)
{
	struct batch b = {.os = os, .ops = ops, .n = n};
	pthread_t tids[BATCH_THREADS - 1];
	size_t want = n < BATCH_THREADS ? n - 1 : BATCH_THREADS - 1, started = 0;

	/* The caller works too, so a failed pthread_create only costs speed. */
	while (started < want && pthread_create(&tids[started], NULL, batch_worker, &b) == 0)
		started++;
	batch_worker(&b);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	return objstore_batch_result(ops, n);
}

static int file_check(struct objstore *os)
{
	struct file_store *fs = to_fs(os);
	struct stat st;

	if (stat(fs->root, &st) < 0)
		return map_errno(errno);
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (faccessat(AT_FDCWD, fs->root, R_OK | W_OK | X_OK, AT_EACCESS) < 0)
		return map_errno(errno);
	return 0;
}

static int file_create_bucket(struct objstore *os)
{
	struct file_store *fs = to_fs(os);
	char path[PATH_MAX];

	/* mkdir_parents() makes everything before the last '/'. */
	int n = snprintf(path, sizeof(path), "%s/", fs->root);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -EINVAL;
	int r = mkdir_parents(path, 0);
	if (r < 0)
		return map_errno(-r);
	return file_check(os);
}

static void file_close(struct objstore *os)
{
	fd_cache_destroy(&to_fs(os)->fds);
	free(to_fs(os));
}

static const struct objstore_ops file_ops = {
    .put = file_put,
    .get = file_get,
    .get_range = file_get_range,
    .get_range_sized = file_get_range_sized,
    .open_read = file_open_read,
    .open_unnamed = file_open_unnamed,
    .publish_unnamed = file_publish_unnamed,
    .head = file_head,
    .delete = file_delete,
    .list = file_list,
    .batch = file_batch,
    .check = file_check,
    .create_bucket = file_create_bucket,
    .close = file_close,
};

int objstore_file_open(const struct bucket_url *u, struct objstore **out)
{
	size_t len = strlen(u->path);

	/* The root must be absolute; a relative one would depend on the cwd. */
	if (len == 0 || u->path[0] != '/' || len >= PATH_MAX - OBJSTORE_KEY_MAX - 2)
		return -EINVAL;
	struct file_store *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	memcpy(fs->root, u->path, len + 1);
	while (len > 1 && fs->root[len - 1] == '/')
		fs->root[--len] = '\0';
	fs->base.ops = &file_ops;
	fs->base.local = true;
	fs->pid = (long)getpid();
	pthread_mutex_init(&fs->fds.lock, NULL);
	struct statfs sf;
	fs->memory =
	    statfs(fs->root, &sf) == 0 && (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC);
	/* In memory a write is as quick as a read: no thread switch for it. */
	fs->base.quick_writes = fs->memory;
	*out = &fs->base;
	return 0;
}
