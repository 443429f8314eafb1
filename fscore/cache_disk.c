/*
 * Disk tier of the block cache. Each block is one file, DIR/xx/<sha256 hex
 * of the key>, where xx is the first digest byte so that no directory grows
 * huge. A file holds a 24-byte header, the key and the data:
 *
 *	magic u32 | version u16 | key length u16 | data length u64 |
 *	CRC-32C of data u32 | CRC-32C of the preceding 20 bytes and the key u32
 *
 * all little-endian. The key is stored so that a digest collision, or a file
 * copied under the wrong name, is caught rather than served.
 *
 * Files are written to a temporary name in the same directory and renamed
 * into place, so a crashed process never leaves a partial file under a real
 * name. There is no fsync: after a power loss a file may still be short or
 * hold garbage, but every full read checks the checksum, and the cache is
 * not worth a disk flush per block. Temporaries left by a crash are removed
 * on open. A lock file keeps a second process from sharing the directory,
 * which would break the accounting and the temporary-file cleanup.
 *
 * The index (digest -> size, LRU position) lives in memory and is rebuilt on
 * open from a directory scan, oldest mtime first; a disk hit refreshes the
 * file's mtime so the order survives restarts. File I/O runs outside the
 * index lock; renames and unlinks run under it so that the directory and
 * the index always agree (an eviction cannot unlink a file that a racing put
 * has just renamed into place).
 */
#include "cache_impl.h"
#include "fd_io.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DISK_MAGIC	  0x4342434du /* "MCBC" read as little-endian */
#define DISK_VERSION	  1
#define DISK_HDR_SIZE	  24
#define DISK_SUBDIRS	  256
#define DISK_INDEX_SLOTS0 1024
#define DISK_VERIFY_CHUNK (256 * 1024)
#define DISK_TMP_PREFIX	  ".tmp."
#define DISK_LOCK_NAME	  "lock"
#define DIGEST_LEN	  SHA256_DIGEST_LENGTH
#define REL_PATH_LEN	  (3 + 2 * DIGEST_LEN + 1) /* "xx/" + hex + NUL */

struct disk_entry {
	struct htab_node hnode;
	struct lru_node lru;
	uint8_t digest[DIGEST_LEN];
	uint64_t size; /* whole file */
	uint64_t gen;  /* changes whenever the file under this name does */
	bool verified; /* checksum matched since the file was indexed */
};

struct disk_tier {
	pthread_mutex_t lock;
	int dirfd;
	int lockfd;
	uint64_t bound;
	uint64_t used;
	uint64_t gen_seq;
	struct htab tab;
	struct lru_node lru;
	_Atomic uint64_t evictions;
	_Atomic uint64_t tmp_seq;
};

/* What a caller learned about a key from the index, used without the lock. */
struct disk_ref {
	uint8_t digest[DIGEST_LEN];
	char rel[REL_PATH_LEN];
	uint64_t size;
	uint64_t gen;
	bool verified;
};

struct disk_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t keylen;
	uint64_t data_len;
	uint32_t data_crc;
	uint32_t hdr_crc;
};

/* ------------------------------------------------------------ CRC-32C */

static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static bool crc_hw;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_tab[0][i] = c;
	}
	for (int t = 1; t < 8; t++)
		for (int i = 0; i < 256; i++)
			crc_tab[t][i] =
			    (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
#if defined(__x86_64__) && defined(__GNUC__)
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

/* Slicing by 8; reads bytes one by one so it is endian-neutral. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	for (; len >= 8; len -= 8, p += 8) {
		uint32_t lo = crc ^ (p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				     (uint32_t)p[3] << 24);
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		      crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^ crc_tab[3][p[4]] ^
		      crc_tab[2][p[5]] ^ crc_tab[1][p[6]] ^ crc_tab[0][p[7]];
	}
	while (len--)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *buf,
							    size_t len)
{
	const unsigned char *p = buf;
	uint64_t c = ~crc;

	for (; len >= 8; len -= 8, p += 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return ~c32;
}
#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc_once, crc_init);
#if defined(__x86_64__) && defined(__GNUC__)
	if (crc_hw)
		return crc32c_hw(crc, buf, len);
#endif
	return crc32c_sw(crc, buf, len);
}

/* ------------------------------------------------------------ file format */

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Fills out[0 .. DISK_HDR_SIZE + keylen): header then key. */
static void hdr_encode(unsigned char *out, const char *key, size_t keylen, const void *data,
		       size_t len)
{
	put_le(out, DISK_MAGIC, 4);
	put_le(out + 4, DISK_VERSION, 2);
	put_le(out + 6, keylen, 2);
	put_le(out + 8, len, 8);
	put_le(out + 16, crc32c(0, data, len), 4);
	memcpy(out + DISK_HDR_SIZE, key, keylen);
	uint32_t hcrc = crc32c(0, out, 20);
	hcrc = crc32c(hcrc, out + DISK_HDR_SIZE, keylen);
	put_le(out + 20, hcrc, 4);
}

/* Checks the header and stored key in raw (DISK_HDR_SIZE + keylen bytes). */
static int hdr_decode(const unsigned char *raw, const char *key, size_t keylen, struct disk_hdr *h)
{
	h->magic = (uint32_t)get_le(raw, 4);
	h->version = (uint16_t)get_le(raw + 4, 2);
	h->keylen = (uint16_t)get_le(raw + 6, 2);
	h->data_len = get_le(raw + 8, 8);
	h->data_crc = (uint32_t)get_le(raw + 16, 4);
	h->hdr_crc = (uint32_t)get_le(raw + 20, 4);
	if (h->magic != DISK_MAGIC || h->version != DISK_VERSION || h->keylen != keylen)
		return -EBADMSG;
	uint32_t hcrc = crc32c(0, raw, 20);
	hcrc = crc32c(hcrc, raw + DISK_HDR_SIZE, keylen);
	if (hcrc != h->hdr_crc || memcmp(raw + DISK_HDR_SIZE, key, keylen) != 0)
		return -EBADMSG;
	return 0;
}

/* A short read means the file is shorter than its header says: damage. */
static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = fd_pread_upto(fd, buf, len, off);
	if (n < 0)
		return n == -EIO ? -EBADMSG : (int)n;
	return (size_t)n < len ? -EBADMSG : 0;
}

/* Reads and checks the header; the file size must match it exactly. */
static int read_header(int fd, const char *key, size_t keylen, struct disk_hdr *h)
{
	unsigned char raw[DISK_HDR_SIZE + CACHE_KEY_MAX];
	struct stat st;

	int r = pread_full(fd, raw, DISK_HDR_SIZE + keylen, 0);
	if (r != 0)
		return r;
	r = hdr_decode(raw, key, keylen, h);
	if (r != 0)
		return r;
	if (fstat(fd, &st) != 0)
		return -errno;
	if ((uint64_t)st.st_size != DISK_HDR_SIZE + keylen + h->data_len)
		return -EBADMSG;
	return 0;
}

/* ------------------------------------------------------------ index */

static uint64_t digest_hash(const uint8_t *digest)
{
	uint64_t h;
	memcpy(&h, digest, sizeof(h));
	return h;
}

/* "xx/<64 hex digits>", relative to the cache directory. */
static void digest_rel(const uint8_t *digest, char *rel)
{
	static const char hex[] = "0123456789abcdef";

	rel[0] = hex[digest[0] >> 4];
	rel[1] = hex[digest[0] & 15];
	rel[2] = '/';
	for (int i = 0; i < DIGEST_LEN; i++) {
		rel[3 + 2 * i] = hex[digest[i] >> 4];
		rel[4 + 2 * i] = hex[digest[i] & 15];
	}
	rel[REL_PATH_LEN - 1] = '\0';
}

static void key_ref(const char *key, size_t keylen, struct disk_ref *ref)
{
	SHA256((const unsigned char *)key, keylen, ref->digest);
	digest_rel(ref->digest, ref->rel);
}

static struct disk_entry *index_find(struct disk_tier *d, const uint8_t *digest)
{
	uint64_t hash = digest_hash(digest);
	for (struct htab_node *n = htab_first(&d->tab, hash); n; n = n->next) {
		struct disk_entry *e = cache_container_of(n, struct disk_entry, hnode);
		if (n->hash == hash && memcmp(e->digest, digest, DIGEST_LEN) == 0)
			return e;
	}
	return NULL;
}

static void index_add(struct disk_tier *d, struct disk_entry *e)
{
	e->hnode.hash = digest_hash(e->digest);
	e->gen = ++d->gen_seq;
	htab_insert(&d->tab, &e->hnode);
	lru_push_front(&d->lru, &e->lru);
	d->used += e->size;
}

/* Removes the entry and its file; called with the lock held. */
static void index_remove(struct disk_tier *d, struct disk_entry *e)
{
	char rel[REL_PATH_LEN];

	digest_rel(e->digest, rel);
	if (unlinkat(d->dirfd, rel, 0) != 0 && errno != ENOENT)
		log_warn("cache: cannot remove %s: %s", rel, strerror(errno));
	lru_del(&e->lru);
	htab_remove(&d->tab, &e->hnode);
	d->used -= e->size;
	free(e);
}

/* Evicts least recently used files until `need` more bytes fit. */
static void evict_for(struct disk_tier *d, uint64_t need)
{
	while (d->used + need > d->bound && !lru_empty(&d->lru)) {
		index_remove(d, cache_container_of(d->lru.prev, struct disk_entry, lru));
		atomic_fetch_add_explicit(&d->evictions, 1, memory_order_relaxed);
	}
}

static bool index_lookup(struct disk_tier *d, struct disk_ref *ref)
{
	pthread_mutex_lock(&d->lock);
	struct disk_entry *e = index_find(d, ref->digest);
	if (e) {
		lru_move_front(&d->lru, &e->lru);
		ref->size = e->size;
		ref->gen = e->gen;
		ref->verified = e->verified;
	}
	pthread_mutex_unlock(&d->lock);
	return e != NULL;
}

/* The generation check keeps a reader that saw a damaged file from deleting
 * a good one a racing put has renamed into place since. */
static void index_drop(struct disk_tier *d, const struct disk_ref *ref, const char *key)
{
	pthread_mutex_lock(&d->lock);
	struct disk_entry *e = index_find(d, ref->digest);
	if (e && e->gen == ref->gen) {
		log_warn("cache: dropping damaged disk entry for %s", key);
		index_remove(d, e);
	}
	pthread_mutex_unlock(&d->lock);
}

static void index_mark_verified(struct disk_tier *d, const struct disk_ref *ref)
{
	pthread_mutex_lock(&d->lock);
	struct disk_entry *e = index_find(d, ref->digest);
	if (e && e->gen == ref->gen)
		e->verified = true;
	pthread_mutex_unlock(&d->lock);
}

/* ------------------------------------------------------------ open/close */

struct scan_item {
	uint8_t digest[DIGEST_LEN];
	uint64_t size;
	struct timespec mtime;
};

struct scan_list {
	struct scan_item *items;
	size_t n, cap;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A cache file name: the 64 lowercase hex digits of a digest whose first
 * byte names the directory it is in. */
static bool parse_name(const char *name, int subdir, uint8_t *digest)
{
	if (strlen(name) != 2 * DIGEST_LEN)
		return false;
	for (int i = 0; i < DIGEST_LEN; i++) {
		int hi = hexval(name[2 * i]), lo = hexval(name[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		digest[i] = (uint8_t)(hi << 4 | lo);
	}
	return digest[0] == subdir;
}

static int scan_push(struct scan_list *l, const uint8_t *digest, const struct stat *st)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		struct scan_item *items = realloc(l->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		l->items = items;
		l->cap = cap;
	}
	struct scan_item *it = &l->items[l->n++];
	memcpy(it->digest, digest, DIGEST_LEN);
	it->size = (uint64_t)st->st_size;
	it->mtime = st->st_mtim;
	return 0;
}

/* Temporaries are leftovers of a crash (the lock file rules out a live
 * writer), and a file too short for a header can never be served. */
static int scan_entry(int dfd, const char *name, int subdir, struct scan_list *l)
{
	uint8_t digest[DIGEST_LEN];
	struct stat st;

	if (strncmp(name, DISK_TMP_PREFIX, strlen(DISK_TMP_PREFIX)) == 0) {
		unlinkat(dfd, name, 0);
		return 0;
	}
	if (!parse_name(name, subdir, digest))
		return 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return 0;
	if (st.st_size <= DISK_HDR_SIZE) {
		unlinkat(dfd, name, 0);
		return 0;
	}
	return scan_push(l, digest, &st);
}

static int scan_subdir(struct disk_tier *d, int subdir, struct scan_list *l)
{
	char name[3];

	snprintf(name, sizeof(name), "%02x", subdir);
	int dfd = openat(d->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		int r = -errno;
		close(dfd);
		return r;
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(dir)) != NULL)
		r = scan_entry(dfd, de->d_name, subdir, l);
	closedir(dir);
	return r;
}

static int cmp_mtime(const void *a, const void *b)
{
	const struct timespec *x = &((const struct scan_item *)a)->mtime;
	const struct timespec *y = &((const struct scan_item *)b)->mtime;
	if (x->tv_sec != y->tv_sec)
		return x->tv_sec < y->tv_sec ? -1 : 1;
	if (x->tv_nsec != y->tv_nsec)
		return x->tv_nsec < y->tv_nsec ? -1 : 1;
	return 0;
}

/* Oldest first, each pushed to the front, leaves the newest at the front. */
static int index_build(struct disk_tier *d, struct scan_list *l)
{
	if (l->n > 1)
		qsort(l->items, l->n, sizeof(*l->items), cmp_mtime);
	for (size_t i = 0; i < l->n; i++) {
		struct disk_entry *e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		memcpy(e->digest, l->items[i].digest, DIGEST_LEN);
		e->size = l->items[i].size;
		index_add(d, e);
	}
	return 0;
}

static int index_rebuild(struct disk_tier *d)
{
	struct scan_list l = {0};
	int r = 0;

	for (int i = 0; i < DISK_SUBDIRS && r == 0; i++)
		r = scan_subdir(d, i, &l);
	if (r == 0)
		r = index_build(d, &l);
	free(l.items);
	if (r == 0)
		evict_for(d, 0); /* the bound may have shrunk since last run */
	return r;
}

static int open_dirs(struct disk_tier *d, const char *dir)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	d->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0)
		return -errno;
	d->lockfd = openat(d->dirfd, DISK_LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lockfd < 0)
		return -errno;
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) != 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno; /* another cache owns it */
	for (int i = 0; i < DISK_SUBDIRS; i++) {
		char name[3];
		snprintf(name, sizeof(name), "%02x", i);
		if (mkdirat(d->dirfd, name, 0700) != 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

int disk_tier_open(const char *dir, uint64_t bound, struct disk_tier **out)
{
	struct disk_tier *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->dirfd = -1;
	d->lockfd = -1;
	d->bound = bound;
	pthread_mutex_init(&d->lock, NULL);
	lru_init(&d->lru);
	if (htab_init(&d->tab, DISK_INDEX_SLOTS0) != 0) {
		disk_tier_close(d);
		return -ENOMEM;
	}
	int r = open_dirs(d, dir);
	if (r == 0)
		r = index_rebuild(d);
	if (r != 0) {
		log_error("cache: cannot open disk cache %s: %s", dir, strerror(-r));
		disk_tier_close(d);
		return r;
	}
	log_info("cache: disk cache %s holds %zu blocks, %llu bytes", dir, d->tab.count,
		 (unsigned long long)d->used);
	*out = d;
	return 0;
}

void disk_tier_close(struct disk_tier *d)
{
	if (!d)
		return;
	while (!lru_empty(&d->lru)) {
		struct lru_node *n = d->lru.next;
		lru_del(n);
		free(cache_container_of(n, struct disk_entry, lru));
	}
	htab_free(&d->tab);
	if (d->lockfd >= 0)
		close(d->lockfd); /* releases the flock */
	if (d->dirfd >= 0)
		close(d->dirfd);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* ------------------------------------------------------------ reads */

/* Opens the file of an indexed key and checks its header. -EBADMSG: damaged
 * or missing (the index says it exists); other errors say nothing about the
 * file (say, out of descriptors) and must not drop it. */
static int open_checked(struct disk_tier *d, const struct disk_ref *ref, const char *key,
			size_t keylen, struct disk_hdr *h, int *fdp)
{
	int fd = openat(d->dirfd, ref->rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -EBADMSG : -errno; /* index says it exists */
	int r = read_header(fd, key, keylen, h);
	if (r != 0) {
		close(fd);
		return r;
	}
	*fdp = fd;
	return 0;
}

/* Turns a read result into the API's answer, dropping damaged entries. */
static int finish_read(struct disk_tier *d, const struct disk_ref *ref, const char *key, int fd,
		       int r)
{
	if (r == 0) {
		index_mark_verified(d, ref);
		futimens(fd, NULL); /* keeps the LRU order across restarts */
	}
	if (fd >= 0)
		close(fd);
	if (r == -EBADMSG)
		index_drop(d, ref, key);
	return r == 0 ? 0 : -ENOENT;
}

int disk_tier_get(struct disk_tier *d, const char *key, void *buf, size_t len)
{
	size_t keylen = strlen(key);
	struct disk_ref ref;
	struct disk_hdr h;
	int fd = -1;

	if (keylen > CACHE_KEY_MAX)
		return -ENOENT;
	key_ref(key, keylen, &ref);
	if (!index_lookup(d, &ref))
		return -ENOENT;
	int r = open_checked(d, &ref, key, keylen, &h, &fd);
	if (r == 0 && h.data_len != len)
		r = -ERANGE; /* a sound block of another size: a miss, not damage */
	if (r == 0)
		r = pread_full(fd, buf, len, DISK_HDR_SIZE + keylen);
	if (r == 0 && crc32c(0, buf, len) != h.data_crc)
		r = -EBADMSG;
	return finish_read(d, &ref, key, fd, r);
}

/* Checksums the data in chunks, without holding the whole block. */
static int verify_data(int fd, size_t keylen, const struct disk_hdr *h)
{
	size_t chunk = h->data_len < DISK_VERIFY_CHUNK ? h->data_len : DISK_VERIFY_CHUNK;
	char *buf = malloc(chunk ? chunk : 1);
	if (!buf)
		return -ENOMEM;
	uint32_t crc = 0;
	uint64_t off = 0;
	int r = 0;
	while (r == 0 && off < h->data_len) {
		size_t n = h->data_len - off < chunk ? h->data_len - off : chunk;
		r = pread_full(fd, buf, n, DISK_HDR_SIZE + keylen + off);
		crc = crc32c(crc, buf, n);
		off += n;
	}
	free(buf);
	if (r == 0 && crc != h->data_crc)
		r = -EBADMSG;
	return r;
}

/*
 * Checking the whole block on every partial read would multiply the I/O of
 * small sequential reads by the number of pieces. So the first read of a
 * file since it was indexed (by the open scan or a put) reads it all and
 * checks the checksum; the entry then remembers that, and later reads pread
 * just their range. Damage that appears after that first check goes unseen
 * until a full get or the next restart. (When the memory tier is on, cache.c
 * instead promotes the block with one verified full read.)
 */
int disk_tier_get_range(struct disk_tier *d, const char *key, size_t block_len, size_t off,
			size_t len, void *buf)
{
	size_t keylen = strlen(key);
	struct disk_ref ref;
	struct disk_hdr h;
	int fd = -1;
	int r;

	if (keylen > CACHE_KEY_MAX)
		return -ENOENT;
	key_ref(key, keylen, &ref);
	if (!index_lookup(d, &ref))
		return -ENOENT;
	if (ref.verified && ref.size == DISK_HDR_SIZE + keylen + block_len) {
		fd = openat(d->dirfd, ref.rel, O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? (errno == ENOENT ? -EBADMSG : -errno) : 0;
	} else {
		r = open_checked(d, &ref, key, keylen, &h, &fd);
		if (r == 0 && h.data_len != block_len)
			r = -ERANGE;
		if (r == 0)
			r = verify_data(fd, keylen, &h);
	}
	if (r == 0)
		r = pread_full(fd, buf, len, DISK_HDR_SIZE + keylen + off);
	return finish_read(d, &ref, key, fd, r);
}

bool disk_tier_contains(struct disk_tier *d, const char *key)
{
	size_t keylen = strlen(key);
	struct disk_ref ref;

	if (keylen > CACHE_KEY_MAX)
		return false;
	key_ref(key, keylen, &ref);
	pthread_mutex_lock(&d->lock);
	bool found = index_find(d, ref.digest) != NULL;
	pthread_mutex_unlock(&d->lock);
	return found;
}

/* ------------------------------------------------------------ writes */

static int write_tmp(struct disk_tier *d, const char *tmp, const char *key, size_t keylen,
		     const void *buf, size_t len)
{
	unsigned char hdr[DISK_HDR_SIZE + CACHE_KEY_MAX];

	hdr_encode(hdr, key, keylen, buf, len);
	int fd = openat(d->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int r = fd_write_all(fd, hdr, DISK_HDR_SIZE + keylen);
	if (r == 0)
		r = fd_write_all(fd, buf, len);
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r != 0)
		unlinkat(d->dirfd, tmp, 0);
	return r;
}

/* Renames the written file into place and indexes it, unless a racing put
 * of the same key won; returns false when the temporary is still there. */
static bool publish(struct disk_tier *d, const struct disk_ref *ref, const char *tmp,
		    struct disk_entry *e)
{
	bool done = false;

	pthread_mutex_lock(&d->lock);
	if (!index_find(d, ref->digest)) {
		evict_for(d, e->size);
		if (renameat(d->dirfd, tmp, d->dirfd, ref->rel) == 0) {
			index_add(d, e);
			done = true;
		} else {
			log_warn("cache: cannot rename %s: %s", tmp, strerror(errno));
		}
	}
	pthread_mutex_unlock(&d->lock);
	return done;
}

void disk_tier_put(struct disk_tier *d, const char *key, const void *buf, size_t len)
{
	size_t keylen = strlen(key);
	uint64_t size = DISK_HDR_SIZE + (uint64_t)keylen + len;
	struct disk_ref ref;
	char tmp[64];

	if (keylen > CACHE_KEY_MAX || size > d->bound)
		return;
	key_ref(key, keylen, &ref);
	if (index_lookup(d, &ref))
		return; /* immutable: the cached copy is as good */
	struct disk_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return;
	memcpy(e->digest, ref.digest, DIGEST_LEN);
	e->size = size;
	snprintf(tmp, sizeof(tmp), "%.2s/" DISK_TMP_PREFIX "%llx", ref.rel,
		 (unsigned long long)atomic_fetch_add(&d->tmp_seq, 1));
	int r = write_tmp(d, tmp, key, keylen, buf, len);
	if (r != 0) {
		log_debug("cache: cannot write %s: %s", tmp, strerror(-r));
		free(e);
		return;
	}
	if (!publish(d, &ref, tmp, e)) {
		unlinkat(d->dirfd, tmp, 0);
		free(e);
	}
}

void disk_tier_stats(struct disk_tier *d, uint64_t *used, uint64_t *evictions)
{
	pthread_mutex_lock(&d->lock);
	*used = d->used;
	pthread_mutex_unlock(&d->lock);
	*evictions = atomic_load(&d->evictions);
}
