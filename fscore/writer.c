#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cosync.h"
#include "fd_io.h"
#include "layout.h"
#include "log.h"
#include "meta_ops.h"
#include "rangeset.h"
#include "slice.h"
#include "vfs_impl.h"

/* More pending slices than this (random small writes) forces a flush. */
#define WRITER_MAX_SLICES 256
/*
 * Parallel writes of a sequential stream reach the server out of order (the
 * kernel client keeps many in flight, over several connections). A write that
 * lands at most this far past the furthest byte of the chunk's open slice
 * joins it, leaving a gap that the late writes fill; a write further away
 * starts a new slice. Gaps still open at flush are filled from the file's
 * current content, so this also bounds what a flush may have to read.
 */
#define WRITER_GAP_WINDOW (32u << 20)
/* A block holding this much gets its whole size at once (block_reserve). */
#define WRITER_STREAM_BYTES (1u << 20)
/* Random writes inside the window must not make a slice a sieve. */
#define WRITER_MAX_RANGES 64

enum block_state { BLOCK_FILLING, BLOCK_UPLOADING, BLOCK_UPLOADED, BLOCK_FAILED };

/*
 * A block's written bytes are in memory (buf), or, for a stream into a
 * bucket in memory (tmpfs), in the unnamed file that becomes the block's
 * object (fd): each write goes straight into it, with no copy in memory and
 * no buffer to fault in, and the upload is a link.
 */
struct pending_block {
	uint8_t *buf; /* freed once uploaded: reads then go through the cache */
	int fd;	      /* -1, or the block's unnamed file; closed once published */
	uint32_t cap; /* bytes held (allocated, or a whole block in a file) */
	enum block_state state;
	int error;
};

/*
 * A slice being written: its object starts at pos (block-aligned in the
 * chunk, so that writes arriving out of order within the first block still
 * fit) and ends at hi, the furthest byte written. filled says which bytes
 * of [0, hi) hold written data.
 */
struct pending_slice {
	uint32_t chunk, pos, hi, max_len;
	uint64_t id;
	bool closed;
	unsigned writes;
	uint32_t nblocks;
	struct pending_block *blocks;
	struct rangeset filled;
	struct pending_slice *next;
};

struct writer {
	struct vfs *v;
	mcfs_ino_t ino;
	struct pending_slice *head, *tail;
	unsigned nslices, writes;
	uint64_t end;
	pthread_mutex_t lock; /* block states, shared with upload jobs; never held across a wait */
	struct co_cond cond;  /* inflight reached 0; the flusher may be a coroutine */
	unsigned inflight;
};

struct upload_job {
	struct writer *w;
	struct pending_slice *s;
	uint32_t index, len;
};

/* Whether the block's bytes are still held here (not yet released after
 * its upload). */
static bool block_held(const struct pending_block *b)
{
	return b->buf || b->fd >= 0;
}

/* Bytes of a block's file; past its end nothing was written yet, which
 * reads as zeros, as the published object will. */
static int block_file_read(int fd, uint8_t *p, size_t n, uint64_t off)
{
	ssize_t got = fd_pread_upto(fd, p, n, off);
	if (got < 0)
		return (int)got;
	memset(p + got, 0, n - (size_t)got);
	return 0;
}

struct writer *writer_new(struct vfs *v, mcfs_ino_t ino)
{
	struct writer *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->v = v;
	w->ino = ino;
	pthread_mutex_init(&w->lock, NULL);
	w->cond = (struct co_cond)CO_COND_INITIALIZER;
	return w;
}

static void release_buf(struct writer *w, struct pending_block *b)
{
	if (block_held(b)) {
		free(b->buf);
		b->buf = NULL;
		if (b->fd >= 0)
			close(b->fd);
		b->fd = -1;
		__atomic_sub_fetch(&w->v->buffered_bytes, b->cap, __ATOMIC_RELAXED);
		b->cap = 0;
	}
}

static void slice_free(struct writer *w, struct pending_slice *s)
{
	for (uint32_t i = 0; i < s->nblocks; i++)
		release_buf(w, &s->blocks[i]);
	rangeset_free(&s->filled);
	free(s->blocks);
	free(s);
}

static void wait_uploads(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	while (w->inflight)
		co_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	wait_uploads(w);
	while (w->head) {
		struct pending_slice *s = w->head;
		w->head = s->next;
		slice_free(w, s);
	}
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static void upload_block(void *arg)
{
	struct upload_job *j = arg;
	struct writer *w = j->w;
	struct vfs *v = w->v;
	struct pending_block *b = &j->s->blocks[j->index];
	char key[256];
	layout_block_key(key, sizeof(key), w->v->vol.name, j->s->id, j->index, j->len);
	int r = b->fd >= 0 ? objstore_publish_unnamed(w->v->store, key, b->fd, j->len)
			   : objstore_put(w->v->store, key, b->buf, j->len);
	uint8_t *adopted = NULL;
	pthread_mutex_lock(&w->lock);
	if (r == 0) {
		b->state = BLOCK_UPLOADED;
		/* The cache takes the buffer as it is: written data is often
		 * read back soon, and copying 4 MiB per block would cost more
		 * than the upload. A local bucket needs no copy in memory: the
		 * kernel's page cache holds its files already. */
		if (w->v->cache && !objstore_is_local(w->v->store)) {
			adopted = b->buf;
			b->buf = NULL;
			__atomic_sub_fetch(&w->v->buffered_bytes, b->cap, __ATOMIC_RELAXED);
			b->cap = 0;
		}
		release_buf(w, b);
	} else {
		b->state = BLOCK_FAILED;
		b->error = r;
		log_warn("upload of %s failed: %s", key, strerror(-r));
	}
	if (--w->inflight == 0)
		co_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	/* w may be gone once inflight dropped: only v (which outlives it) from here. */
	if (adopted)
		block_cache_adopt(v->cache, key, adopted, j->len, true);
	free(j);
}

/* Hands block i (len bytes) to the pool; runs it here when asked to (the
 * caller would only wait for it) or when the pool cannot take it. */
static void start_upload(struct writer *w, struct pending_slice *s, uint32_t i, uint32_t len,
			 bool here)
{
	struct upload_job *j = malloc(sizeof(*j));
	pthread_mutex_lock(&w->lock);
	if (!j) {
		/* Left for the next flush to retry. */
		s->blocks[i].state = BLOCK_FAILED;
		s->blocks[i].error = -ENOMEM;
		pthread_mutex_unlock(&w->lock);
		return;
	}
	s->blocks[i].state = BLOCK_UPLOADING;
	w->inflight++;
	pthread_mutex_unlock(&w->lock);
	*j = (struct upload_job){w, s, i, len};
	if (here || workpool_submit(w->v->io_pool, upload_block, j) < 0)
		upload_block(j);
}

static struct pending_slice *slice_new(struct writer *w, uint32_t chunk, uint32_t pos)
{
	struct pending_slice *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->chunk = chunk;
	s->pos = pos;
	s->max_len = MCFS_CHUNK_SIZE - pos;
	s->nblocks = layout_block_count(s->max_len, w->v->vol.block_size);
	s->blocks = calloc(s->nblocks, sizeof(*s->blocks));
	if (!s->blocks || vfs_next_slice_id(w->v, &s->id) < 0) {
		free(s->blocks);
		free(s);
		return NULL;
	}
	for (uint32_t i = 0; i < s->nblocks; i++)
		s->blocks[i].fd = -1;
	if (w->tail)
		w->tail->next = s;
	else
		w->head = s;
	w->tail = s;
	w->nslices++;
	return s;
}

/* A stream's block in a bucket in memory goes into the file that becomes
 * its object; -EOPNOTSUPP where that cannot be. */
static int block_open_file(struct writer *w, struct pending_slice *s, uint32_t i)
{
	struct pending_block *b = &s->blocks[i];
	uint32_t bs = w->v->vol.block_size;
	char key[256];
	/* The key names the directory; the block's final length does not matter here. */
	layout_block_key(key, sizeof(key), w->v->vol.name, s->id, i, bs);
	int r = objstore_open_unnamed(w->v->store, key, &b->fd);
	if (r < 0) {
		b->fd = -1;
		return r;
	}
	b->cap = bs;
	__atomic_add_fetch(&w->v->buffered_bytes, bs, __ATOMIC_RELAXED);
	return 0;
}

/* Makes room for need bytes: small files stay small; a block that already
 * takes a large write is a stream's, and gets all its room at once rather
 * than being copied over and over while it doubles. */
static int block_reserve(struct writer *w, struct pending_slice *s, uint32_t i, uint32_t need)
{
	struct pending_block *b = &s->blocks[i];
	uint32_t bs = w->v->vol.block_size;
	if (need <= b->cap)
		return 0;
	if (!b->buf && need >= WRITER_STREAM_BYTES && block_open_file(w, s, i) == 0)
		return 0;
	uint32_t cap = b->cap ? 2 * b->cap : 4096;
	while (cap < need)
		cap *= 2;
	if (need >= WRITER_STREAM_BYTES)
		cap = bs;
	if (cap > bs)
		cap = bs;
	uint8_t *buf = realloc(b->buf, cap);
	if (!buf)
		return -ENOMEM;
	__atomic_add_fetch(&w->v->buffered_bytes, cap - b->cap, __ATOMIC_RELAXED);
	b->buf = buf;
	b->cap = cap;
	return 0;
}

/* Copies data into the slice at slice offset so; the blocks touched must be FILLING. */
static int slice_copy_in(struct writer *w, struct pending_slice *s, uint32_t so, const uint8_t *src,
			 uint32_t n)
{
	uint32_t bs = w->v->vol.block_size;
	while (n > 0) {
		uint32_t i = so / bs, bo = so % bs;
		struct pending_block *b = &s->blocks[i];
		uint32_t take = bs - bo < n ? bs - bo : n;
		int r = block_reserve(w, s, i, bo + take);
		if (r < 0)
			return r;
		if (b->fd >= 0)
			r = fd_pwrite_all(b->fd, src, take, bo);
		else
			memcpy(b->buf + bo, src, take);
		if (r < 0)
			return r;
		so += take;
		src += take;
		n -= take;
	}
	return 0;
}

/* True when [so, so+n) of s lies in blocks still being filled. */
static bool blocks_writable(const struct writer *w, const struct pending_slice *s, uint32_t so,
			    uint32_t n)
{
	uint32_t bs = w->v->vol.block_size;
	for (uint32_t i = so / bs; i <= (so + n - 1) / bs; i++)
		if (s->blocks[i].state != BLOCK_FILLING)
			return false;
	return true;
}

/* Uploads the blocks of [so, so+n) that are now written from end to end. */
static void upload_full_blocks(struct writer *w, struct pending_slice *s, uint32_t so, uint32_t n)
{
	uint32_t bs = w->v->vol.block_size;
	for (uint32_t i = so / bs; i <= (so + n - 1) / bs; i++)
		if (s->blocks[i].state == BLOCK_FILLING && block_held(&s->blocks[i]) &&
		    rangeset_covers(&s->filled, i * bs, (i + 1) * bs))
			start_upload(w, s, i, bs, false);
}

static int slice_write(struct writer *w, struct pending_slice *s, uint32_t so, const uint8_t *buf,
		       uint32_t n)
{
	int r = slice_copy_in(w, s, so, buf, n);
	if (r == 0)
		r = rangeset_add(&s->filled, so, so + n);
	if (r < 0)
		return r;
	if (so + n > s->hi)
		s->hi = so + n;
	s->writes++;
	upload_full_blocks(w, s, so, n);
	return 0;
}

/* The newest slice of a chunk: the only one a write may go into, since it
 * shadows every older one. */
static struct pending_slice *chunk_tail(const struct writer *w, uint32_t chunk)
{
	struct pending_slice *found = NULL;
	for (struct pending_slice *s = w->head; s; s = s->next)
		if (s->chunk == chunk)
			found = s;
	return found;
}

static bool slice_takes(const struct writer *w, const struct pending_slice *s, uint32_t pos,
			uint32_t n)
{
	if (!s || s->closed || pos < s->pos)
		return false;
	uint32_t so = pos - s->pos;
	return so + n <= s->max_len && so <= s->hi + WRITER_GAP_WINDOW &&
	       s->filled.n < WRITER_MAX_RANGES && blocks_writable(w, s, so, n);
}

/* One write that stays inside one chunk. */
static int write_in_chunk(struct writer *w, uint32_t chunk, uint32_t pos, const uint8_t *buf,
			  uint32_t n)
{
	struct pending_slice *s = chunk_tail(w, chunk);
	if (!slice_takes(w, s, pos, n)) {
		if (s)
			s->closed = true;
		s = slice_new(w, chunk, pos - pos % w->v->vol.block_size);
		if (!s)
			return -ENOMEM;
	}
	return slice_write(w, s, pos - s->pos, buf, n);
}

int writer_write(struct writer *w, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (off + len < off || off + len > MCFS_MAX_FILE_SIZE)
		return -EFBIG;
	while (len > 0) {
		uint32_t chunk = (uint32_t)layout_chunk_index(off);
		uint32_t pos = layout_chunk_offset(off);
		uint32_t n = MCFS_CHUNK_SIZE - pos < len ? MCFS_CHUNK_SIZE - pos : (uint32_t)len;
		int r = write_in_chunk(w, chunk, pos, p, n);
		if (r < 0)
			return r;
		off += n;
		p += n;
		len -= n;
		if (off > w->end)
			w->end = off;
	}
	w->writes++;
	return w->nslices > WRITER_MAX_SLICES ? 1 : 0;
}

/* Copies the written bytes of slice s that fall in [off, off+len) of the
 * file over buf. */
static int overlay_slice(struct writer *w, struct pending_slice *s, uint64_t off, size_t len,
			 uint8_t *buf)
{
	uint32_t bs = w->v->vol.block_size;
	uint64_t base = (uint64_t)s->chunk * MCFS_CHUNK_SIZE + s->pos;
	for (uint32_t k = 0; k < s->filled.n; k++) {
		uint64_t lo = base + s->filled.r[k].lo, hi = base + s->filled.r[k].hi;
		if (lo < off)
			lo = off;
		if (hi > off + len)
			hi = off + len;
		while (lo < hi) {
			uint32_t so = (uint32_t)(lo - base);
			uint32_t i = so / bs, bo = so % bs;
			uint32_t take = bs - bo < hi - lo ? bs - bo : (uint32_t)(hi - lo);
			/* Under the lock: an upload may release the block meanwhile. */
			pthread_mutex_lock(&w->lock);
			const struct pending_block *b = &s->blocks[i];
			bool held = block_held(b);
			int r = 0;
			if (b->buf)
				memcpy(buf + (lo - off), b->buf + bo, take);
			else if (b->fd >= 0)
				r = block_file_read(b->fd, buf + (lo - off), take, bo);
			pthread_mutex_unlock(&w->lock);
			/* Uploaded and released: only whole blocks are uploaded before a flush. */
			if (!held)
				r = reader_read_block(w->v, s->id, w->v->data_origin, i, bs, bo,
						      take, buf + (lo - off));
			if (r < 0)
				return r;
			lo += take;
		}
	}
	return 0;
}

/* Overlays the slices from the head up to (not including) stop. */
static int overlay_until(struct writer *w, const struct pending_slice *stop, uint64_t off,
			 size_t len, uint8_t *buf)
{
	for (struct pending_slice *s = w->head; s && s != stop; s = s->next) {
		int r = overlay_slice(w, s, off, len, buf);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Fills the slice bytes [lo, hi), a gap no write covered, with what the file
 * holds there now: committed data under the older pending slices. */
static int fill_gap(struct writer *w, struct pending_slice *s, const struct slice_rec *recs,
		    size_t nrec, uint32_t lo, uint32_t hi)
{
	uint32_t bs = w->v->vol.block_size;
	uint8_t *tmp = malloc(hi - lo);
	if (!tmp)
		return -ENOMEM;
	int r = vfs_read_chunk_range(w->v, recs, nrec, s->pos + lo, hi - lo, tmp);
	if (r == 0)
		r = overlay_until(w, s, (uint64_t)s->chunk * MCFS_CHUNK_SIZE + s->pos + lo, hi - lo,
				  tmp);
	for (uint32_t so = lo; r == 0 && so < hi;) {
		uint32_t take = bs - so % bs < hi - so ? bs - so % bs : hi - so;
		r = slice_copy_in(w, s, so, tmp + (so - lo), take);
		so += take;
	}
	free(tmp);
	return r == 0 ? rangeset_add(&s->filled, lo, hi) : r;
}

/* Makes the written part of the slice one range, so that it commits as one record. */
static int fill_gaps(struct writer *w, struct pending_slice *s)
{
	if (s->filled.n <= 1)
		return 0;
	struct slice_rec *recs = NULL;
	size_t nrec = 0;
	int r = vfs_load_chunk(w->v, w->ino, s->chunk, &recs, &nrec);
	while (r == 0 && s->filled.n > 1)
		r = fill_gap(w, s, recs, nrec, s->filled.r[0].hi, s->filled.r[1].lo);
	free(recs);
	return r;
}

/* Uploads every block not uploaded yet (the partial tail, failed ones),
 * then waits. The object is [0, hi): bytes before the first written one are
 * zeroed, never sent as stale memory. */
static int finish_uploads(struct writer *w, struct pending_slice *s)
{
	uint32_t bs = w->v->vol.block_size;
	s->closed = true;
	int r = fill_gaps(w, s);
	if (r < 0)
		return r;
	uint32_t lo = s->filled.n ? s->filled.r[0].lo : 0;
	if (lo > 0 && s->blocks[0].state == BLOCK_FILLING && s->blocks[0].buf)
		memset(s->blocks[0].buf, 0, lo);
	uint32_t nb = layout_block_count(s->hi, bs);
	for (uint32_t i = 0; i < nb; i++) {
		struct pending_block *b = &s->blocks[i];
		if (b->state == BLOCK_FILLING || b->state == BLOCK_FAILED)
			start_upload(w, s, i, layout_block_len(s->hi, bs, i), i == nb - 1);
	}
	wait_uploads(w);
	for (uint32_t i = 0; i < s->nblocks && (uint64_t)i * bs < s->hi; i++)
		if (s->blocks[i].state != BLOCK_UPLOADED)
			return s->blocks[i].error ? s->blocks[i].error : -EIO;
	return 0;
}

static int commit_slice(struct writer *w, struct pending_slice *s, uint32_t uid,
			struct mcfs_attr *attr)
{
	uint32_t lo = s->filled.n ? s->filled.r[0].lo : 0;
	struct slice_rec rec = {.id = s->id,
				.size = s->hi,
				.off = lo,
				.pos = s->pos + lo,
				.len = s->hi - lo,
				.origin = w->v->data_origin};
	uint8_t packed[SLICE_PACKED_LEN];
	slice_pack(&rec, packed);
	char opid[33];
	meta_new_opid(opid);
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_bin(&a, packed, sizeof(packed));
	args_pack_u64(&a, w->ino);
	args_pack_u64(&a, s->chunk);
	args_pack_u64(&a, (uint64_t)s->chunk * MCFS_CHUNK_SIZE + s->pos + s->hi);
	args_pack_u32(&a, uid);
	args_pack_u32(&a, s->writes);
	args_packed_end(&a);
	redisReply *rep = NULL;
	struct attrs_watch watch;
	int r = vfs_eval_op_watching(w->v, "commit_slice", w->ino, &a, &watch, &rep);
	if (r < 0) {
		vfs_attrs_forget(w->v, w->ino);
		return r;
	}
	r = reply_status(rep);
	int64_t nslices = 0;
	struct mcfs_attr left;
	if (r == 0)
		r = reply_attr(rep, 1, w->ino, &left);
	/* The script read them back, so that Redis reports their next change. */
	if (r == 0)
		vfs_attrs_changed_to(w->v, &left, &watch);
	else
		vfs_attrs_forget(w->v, w->ino);
	if (r == 0 && attr)
		*attr = left;
	if (r == 0 && reply_int(rep, 2, &nslices) == 0 &&
	    nslices > (int64_t)w->v->cfg.compact_slices)
		vfs_queue_compaction(w->v, w->ino, s->chunk);
	meta_reply_free(rep);
	return r;
}

int writer_flush(struct writer *w, uint32_t uid, struct mcfs_attr *attr)
{
	while (w->head) {
		struct pending_slice *s = w->head;
		/* A slice whose only write failed holds nothing to commit. */
		int r = s->filled.n ? finish_uploads(w, s) : 0;
		if (r == 0 && s->filled.n)
			r = commit_slice(w, s, uid, attr);
		if (r < 0)
			return r;
		w->head = s->next;
		if (!w->head)
			w->tail = NULL;
		w->nslices--;
		w->writes -= s->writes < w->writes ? s->writes : w->writes;
		slice_free(w, s);
	}
	w->end = 0;
	w->writes = 0;
	return 0;
}

int writer_overlay(struct writer *w, uint64_t off, size_t len, uint8_t *buf)
{
	return overlay_until(w, NULL, off, len, buf);
}

uint64_t writer_end(const struct writer *w)
{
	return w->end;
}

unsigned writer_pending_writes(const struct writer *w)
{
	return w->writes;
}

int writer_empty(const struct writer *w)
{
	return w->head == NULL;
}
