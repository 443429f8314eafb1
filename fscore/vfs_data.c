/* File data: reads assembled from slices and buffered writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layout.h"
#include "log.h"
#include "meta_ops.h"
#include "resp.h"
#include "vfs_impl.h"
#include "writer.h"

int vfs_load_chunk(struct vfs *v, mcfs_ino_t ino, uint32_t chunk, struct slice_rec **recs,
		   size_t *n)
{
	char key[160];
	size_t klen = vfs_ino_key(v, key, "c:", ino);
	key[klen++] = ':';
	klen += resp_u64(key + klen, chunk);
	const char *argv[4] = {"LRANGE", key, "0", "-1"};
	size_t lens[4] = {6, klen, 1, 2};
	redisReply *r = NULL;
	int rc = vfs_read_cmd_argv(v, &r, 4, argv, lens);
	if (rc < 0)
		return rc;
	*recs = NULL;
	*n = 0;
	if (r->type != REDIS_REPLY_ARRAY) {
		meta_reply_free(r);
		return -EIO;
	}
	if (r->elements) {
		*recs = malloc(r->elements * sizeof(**recs));
		if (!*recs) {
			meta_reply_free(r);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *e = r->element[i];
		struct slice_rec *s = &(*recs)[*n];
		if (e->type != REDIS_REPLY_STRING || slice_unpack(e->str, e->len, s) < 0 ||
		    slice_check(s, MCFS_CHUNK_SIZE) < 0) {
			log_error("inode %llu chunk %u: damaged slice record %zu skipped",
				  (unsigned long long)ino, chunk, i);
			continue;
		}
		(*n)++;
	}
	meta_reply_free(r);
	return 0;
}

/* Reads slice bytes [off, off+len) of one segment, block by block. */
static int read_segment(struct vfs *v, const struct slice_seg *seg, uint8_t *dst)
{
	if (seg->id == 0) {
		memset(dst, 0, seg->len);
		return 0;
	}
	uint32_t bs = v->vol.block_size;
	uint32_t so = seg->off, left = seg->len;
	while (left > 0) {
		uint32_t idx = so / bs, bo = so % bs;
		uint32_t blen = layout_block_len(seg->size, bs, idx);
		uint32_t take = blen - bo < left ? blen - bo : left;
		int r = reader_read_block(v, seg->id, seg->origin, idx, blen, bo, take, dst);
		if (r < 0)
			return r;
		so += take;
		dst += take;
		left -= take;
	}
	return 0;
}

int vfs_read_chunk_range(struct vfs *v, const struct slice_rec *recs, size_t n, uint32_t pos,
			 uint32_t len, uint8_t *buf)
{
	struct slice_seg *segs = NULL;
	int nseg = slice_resolve(recs, n, pos, len, &segs);
	if (nseg < 0)
		return nseg;
	int r = 0;
	for (int i = 0; i < nseg && r == 0; i++)
		r = read_segment(v, &segs[i], buf + (segs[i].pos - pos));
	free(segs);
	return r;
}

/* Queues the blocks behind a sequential read so the next reads hit the cache. */
static void readahead(struct vfs *v, const struct slice_rec *recs, size_t n, uint32_t from)
{
	uint64_t span = (uint64_t)v->cfg.readahead_blocks * v->vol.block_size;
	if (span == 0 || from >= MCFS_CHUNK_SIZE)
		return;
	uint32_t len = (uint32_t)(MCFS_CHUNK_SIZE - from < span ? MCFS_CHUNK_SIZE - from : span);
	struct slice_seg *segs = NULL;
	int nseg = slice_resolve(recs, n, from, len, &segs);
	uint32_t bs = v->vol.block_size;
	for (int i = 0; i < nseg; i++) {
		if (segs[i].id == 0)
			continue;
		uint32_t first = segs[i].off / bs, last = (segs[i].off + segs[i].len - 1) / bs;
		for (uint32_t b = first; b <= last; b++)
			reader_prefetch_block(v, segs[i].id, segs[i].origin, b,
					      layout_block_len(segs[i].size, bs, b));
	}
	free(segs);
}

/* A chunk's slice list. With a tag (the committed change counter the
 * caller's attributes carry), it may come from the chunk cache (*cached,
 * when asked). */
static int chunk_slices(struct vfs *v, mcfs_ino_t ino, uint32_t chunk, const uint64_t *tag,
			struct slice_rec **recs, size_t *nrec, bool *cached)
{
	bool hit = tag && chunk_cache_get(v->chunks, ino, chunk, *tag, recs, nrec) == 0;
	int r = hit ? 0 : vfs_load_chunk(v, ino, chunk, recs, nrec);
	if (r == 0 && !hit && tag)
		chunk_cache_put(v->chunks, ino, chunk, *tag, *recs, *nrec);
	if (cached)
		*cached = hit;
	return r;
}

/* One chunk's part of a read; a cached slice list that leads to a missing
 * block is dropped and read again. */
static int read_chunk(struct vfs *v, struct vfs_file *f, uint32_t chunk, uint32_t pos, uint32_t n,
		      uint8_t *buf, const uint64_t *tag, bool sequential)
{
	struct slice_rec *recs = NULL;
	size_t nrec = 0;
	bool cached;
	int r = chunk_slices(v, f->ino, chunk, tag, &recs, &nrec, &cached);
	if (r == 0)
		r = vfs_read_chunk_range(v, recs, nrec, pos, n, buf);
	if (r < 0 && cached) {
		chunk_cache_drop(v->chunks, f->ino, chunk);
		free(recs);
		return read_chunk(v, f, chunk, pos, n, buf, NULL, sequential);
	}
	if (r == 0 && sequential)
		readahead(v, recs, nrec, pos + n);
	free(recs);
	return r;
}

/* Whether a read at off goes on from where the file's last read ended
 * (readahead then fetches what follows). */
static bool continues_run(struct vfs_file *f, uint64_t off)
{
	return off > 0 && __atomic_load_n(&f->next_seq_off, __ATOMIC_RELAXED) == off;
}

static int read_committed(struct vfs *v, struct vfs_file *f, uint64_t off, size_t len, uint8_t *buf,
			  const uint64_t *tag)
{
	bool sequential = continues_run(f, off);
	while (len > 0) {
		uint32_t chunk = (uint32_t)layout_chunk_index(off);
		uint32_t pos = layout_chunk_offset(off);
		uint32_t n = MCFS_CHUNK_SIZE - pos < len ? MCFS_CHUNK_SIZE - pos : (uint32_t)len;
		int r = read_chunk(v, f, chunk, pos, n, buf, tag, sequential);
		if (r < 0)
			return r;
		off += n;
		buf += n;
		len -= n;
	}
	__atomic_store_n(&f->next_seq_off, off, __ATOMIC_RELAXED);
	return 0;
}

/* Reads with the attributes a: the size is the larger of a's and what is
 * buffered now (a's may predate a flush). */
static int read_locked(struct vfs *v, struct vfs_file *f, const struct mcfs_attr *a, uint64_t off,
		       size_t len, void *buf, size_t *got, bool *eof)
{
	if (a->type != MCFS_FILE)
		return a->type == MCFS_DIR ? -EISDIR : -EINVAL;
	uint64_t size = a->size;
	if (f->writer && writer_end(f->writer) > size)
		size = writer_end(f->writer);
	if (off >= size) {
		*eof = true;
		return 0;
	}
	size_t n = size - off < len ? (size_t)(size - off) : len;
	/* Attributes with buffered writes merged in do not name a committed state. */
	int r = read_committed(v, f, off, n, buf, a->pending ? NULL : &a->change);
	if (r == 0 && f->writer)
		r = writer_overlay(f->writer, off, n, buf);
	if (r == 0) {
		*got = n;
		*eof = off + n >= size;
	}
	return r;
}

/* The one block segment [pos, pos+n) of a chunk lies in, opened. */
static int chunk_range_file(struct vfs *v, const struct slice_rec *recs, size_t nrec, uint32_t pos,
			    uint32_t n, struct vfs_file_range *out)
{
	struct slice_seg *segs = NULL;
	int nseg = slice_resolve(recs, nrec, pos, n, &segs);
	if (nseg < 0)
		return nseg;
	int r = -EAGAIN;
	uint32_t bs = v->vol.block_size;
	if (nseg == 1 && segs[0].id != 0) {
		const struct slice_seg *s = &segs[0];
		uint32_t idx = s->off / bs, bo = s->off % bs;
		uint32_t blen = layout_block_len(s->size, bs, idx);
		if ((uint64_t)bo + n <= blen)
			r = reader_open_block(v, s->id, s->origin, idx, blen, &out->fd);
		if (r == 0)
			out->off = bo;
	}
	free(segs);
	return r;
}

static int range_file_locked(struct vfs *v, struct vfs_file *f, const struct mcfs_attr *a,
			     uint64_t off, size_t len, struct vfs_file_range *out)
{
	/* Without a local bucket the slice list would be read for nothing
	 * before the copying path reads it again. */
	if (a->type != MCFS_FILE || f->writer || off >= a->size || len == 0 ||
	    !reader_has_local_bucket(v))
		return -EAGAIN;
	size_t n = a->size - off < len ? (size_t)(a->size - off) : len;
	uint32_t chunk = (uint32_t)layout_chunk_index(off);
	uint32_t pos = layout_chunk_offset(off);
	if ((uint64_t)pos + n > MCFS_CHUNK_SIZE)
		return -EAGAIN;
	struct slice_rec *recs = NULL;
	size_t nrec = 0;
	int r = chunk_slices(v, f->ino, chunk, a->pending ? NULL : &a->change, &recs, &nrec, NULL);
	if (r == 0)
		r = chunk_range_file(v, recs, nrec, pos, (uint32_t)n, out);
	if (r == 0) {
		out->len = n;
		out->eof = off + n >= a->size;
		if (continues_run(f, off))
			readahead(v, recs, nrec, pos + (uint32_t)n);
		__atomic_store_n(&f->next_seq_off, off + n, __ATOMIC_RELAXED);
	}
	free(recs);
	return r;
}

int vfs_read_known_file(struct vfs *v, const struct mcfs_attr *known, uint64_t off, size_t len,
			struct vfs_file_range *out)
{
	struct vfs_file *f = vfs_file_get(v, known->ino);
	if (!f)
		return -ENOMEM;
	co_rwlock_rdlock(&f->lock);
	int r = range_file_locked(v, f, known, off, len, out);
	co_rwlock_unlock(&f->lock);
	vfs_file_put(v, f);
	return r;
}

static int read_file(struct vfs *v, mcfs_ino_t ino, const struct mcfs_attr *known, uint64_t off,
		     size_t len, void *buf, size_t *got, bool *eof)
{
	*got = 0;
	struct vfs_file *f = vfs_file_get(v, ino);
	if (!f)
		return -ENOMEM;
	co_rwlock_rdlock(&f->lock);
	struct mcfs_attr a;
	int r = known ? 0 : vfs_getattr_committed(v, ino, &a);
	if (r == 0)
		r = read_locked(v, f, known ? known : &a, off, len, buf, got, eof);
	co_rwlock_unlock(&f->lock);
	vfs_file_put(v, f);
	return r;
}

int vfs_read(struct vfs *v, mcfs_ino_t ino, uint64_t off, size_t len, void *buf, size_t *got,
	     bool *eof)
{
	return read_file(v, ino, NULL, off, len, buf, got, eof);
}

int vfs_read_known(struct vfs *v, const struct mcfs_attr *known, uint64_t off, size_t len,
		   void *buf, size_t *got, bool *eof)
{
	return read_file(v, known->ino, known, off, len, buf, got, eof);
}

static bool may_write(const struct mcfs_cred *c, const struct mcfs_attr *a)
{
	/* the owner may write whatever the mode says now, as NFS servers allow */
	return c->uid == a->uid || (vfs_mode_bits(c, a) & 2);
}

static int flush_locked(struct vfs *v, struct vfs_file *f, struct mcfs_attr *attr)
{
	if (!f->writer)
		return 0;
	int r = writer_flush(f->writer, f->writer_uid, attr);
	/* -ESTALE: the file was removed since; its data can never be read, so
	 * it is dropped rather than kept (and uploaded again) until shutdown. */
	if (r == 0 || r == -ESTALE) {
		writer_free(f->writer);
		f->writer = NULL;
		__atomic_sub_fetch(&v->writers, 1, __ATOMIC_RELEASE);
	}
	return r;
}

int vfs_write_known(struct vfs *v, const struct mcfs_cred *c, const struct mcfs_attr *a,
		    uint64_t off, const void *buf, size_t len, struct mcfs_attr *out)
{
	if (a->type != MCFS_FILE)
		return a->type == MCFS_DIR ? -EISDIR : -EINVAL;
	if (!may_write(c, a))
		return -EACCES;
	struct vfs_file *f = vfs_file_get(v, a->ino);
	if (!f)
		return -ENOMEM;
	int r = 0;
	co_rwlock_wrlock(&f->lock);
	if (!f->writer && (f->writer = writer_new(v, a->ino)) != NULL)
		__atomic_add_fetch(&v->writers, 1, __ATOMIC_ACQUIRE);
	if (!f->writer) {
		r = -ENOMEM;
	} else if (len > 0) {
		r = writer_write(f->writer, off, buf, len);
		clock_gettime(CLOCK_REALTIME, &f->dirty_mtime);
		if (c->uid != 0)
			f->writer_uid = c->uid;
		/* Too many pieces, or too much memory held: make it durable now. */
		bool over =
		    __atomic_load_n(&v->buffered_bytes, __ATOMIC_RELAXED) > v->cfg.write_buffer;
		if (r > 0 || (r == 0 && over))
			r = flush_locked(v, f, NULL);
	}
	if (r == 0 && out) {
		*out = *a;
		if (f->writer && writer_end(f->writer) > out->size)
			out->size = writer_end(f->writer);
		out->mtime = out->ctime = f->dirty_mtime;
	}
	co_rwlock_unlock(&f->lock);
	vfs_file_put(v, f);
	return r;
}

int vfs_write(struct vfs *v, const struct mcfs_cred *c, mcfs_ino_t ino, uint64_t off,
	      const void *buf, size_t len, struct mcfs_attr *out)
{
	struct mcfs_attr a;
	int r = vfs_getattr_committed(v, ino, &a);
	if (r == 0)
		r = vfs_write_known(v, c, &a, off, buf, len, NULL);
	if (r == 0 && out) {
		*out = a;
		vfs_merge_pending(v, out);
	}
	return r;
}

int vfs_flush(struct vfs *v, mcfs_ino_t ino)
{
	struct vfs_file *f = vfs_file_find(v, ino);
	if (!f)
		return 0;
	co_rwlock_wrlock(&f->lock);
	int r = flush_locked(v, f, NULL);
	co_rwlock_unlock(&f->lock);
	vfs_file_put(v, f);
	return r;
}

int vfs_flush_getattr(struct vfs *v, mcfs_ino_t ino, struct mcfs_attr *out)
{
	struct vfs_file *f = vfs_file_find(v, ino);
	bool have = false;
	int r = 0;
	if (f) {
		co_rwlock_wrlock(&f->lock);
		/* The commit script answers with the attributes it left. */
		out->ino = 0;
		r = flush_locked(v, f, out);
		have = r == 0 && out->ino == ino;
		co_rwlock_unlock(&f->lock);
		vfs_file_put(v, f);
	}
	if (r == 0 && !have)
		r = vfs_getattr(v, ino, out);
	return r;
}

int vfs_flush_all(struct vfs *v)
{
	size_t cap = 64, n = 0;
	mcfs_ino_t *inos = malloc(cap * sizeof(*inos));
	if (!inos)
		return -ENOMEM;
	pthread_mutex_lock(&v->files_lock);
	for (size_t b = 0; b < VFS_FILE_BUCKETS; b++) {
		for (struct vfs_file *f = v->files[b]; f; f = f->next) {
			if (!f->writer)
				continue;
			if (n == cap) {
				mcfs_ino_t *more = realloc(inos, 2 * cap * sizeof(*inos));
				if (!more)
					break;
				inos = more;
				cap *= 2;
			}
			inos[n++] = f->ino;
		}
	}
	pthread_mutex_unlock(&v->files_lock);
	int first = 0;
	for (size_t i = 0; i < n; i++) {
		int r = vfs_flush(v, inos[i]);
		/* A file removed since it was written: nobody can read its data
		 * any more, and its blocks went to the deletion log. */
		if (r < 0 && r != -ESTALE && first == 0)
			first = r;
	}
	free(inos);
	return first;
}

void vfs_merge_pending(struct vfs *v, struct mcfs_attr *a)
{
	if (a->type != MCFS_FILE || __atomic_load_n(&v->writers, __ATOMIC_ACQUIRE) == 0)
		return;
	struct vfs_file *f = vfs_file_find(v, a->ino);
	if (!f)
		return;
	co_rwlock_rdlock(&f->lock);
	if (f->writer && !writer_empty(f->writer)) {
		a->pending = true;
		uint64_t end = writer_end(f->writer);
		if (end > a->size)
			a->size = end;
		a->change += writer_pending_writes(f->writer);
		if (f->dirty_mtime.tv_sec > a->mtime.tv_sec ||
		    (f->dirty_mtime.tv_sec == a->mtime.tv_sec &&
		     f->dirty_mtime.tv_nsec > a->mtime.tv_nsec)) {
			a->mtime = f->dirty_mtime;
			a->ctime = f->dirty_mtime;
		}
	}
	co_rwlock_unlock(&f->lock);
	vfs_file_put(v, f);
}

static int track_open(struct vfs *v, mcfs_ino_t ino, bool opening)
{
	struct meta_args a;
	args_init(&a);
	args_u64(&a, ino);
	args_str(&a, v->session);
	args_str(&a, opening ? "1" : "0");
	redisReply *rep = NULL;
	int r = meta_eval(vfs_meta(v), "open_track", v->setting_key, a.n, a.v, a.len, &rep);
	if (!opening)
		vfs_attrs_forget(v, ino); /* the last close of an unlinked file frees it */
	if (r == 0) {
		r = reply_status(rep);
		meta_reply_free(rep);
	}
	return r;
}

int vfs_open_file(struct vfs *v, mcfs_ino_t ino)
{
	struct vfs_file *f = vfs_file_get(v, ino);
	if (!f)
		return -ENOMEM;
	co_rwlock_wrlock(&f->lock);
	int r = 0;
	if (f->opens == 0)
		r = track_open(v, ino, true);
	if (r == 0)
		f->opens++;
	co_rwlock_unlock(&f->lock);
	if (r < 0)
		vfs_file_put(v, f);
	/* On success the reference stays until vfs_release(). */
	return r;
}

int vfs_release(struct vfs *v, mcfs_ino_t ino)
{
	struct vfs_file *f = vfs_file_find(v, ino);
	if (!f)
		return -EBADF;
	co_rwlock_wrlock(&f->lock);
	int r = 0;
	if (f->opens == 0) {
		r = -EBADF;
	} else {
		r = flush_locked(v, f, NULL);
		if (--f->opens == 0) {
			int t = track_open(v, ino, false);
			if (r == 0)
				r = t;
		}
	}
	bool drop_open_ref = r != -EBADF;
	co_rwlock_unlock(&f->lock);
	vfs_file_put(v, f);
	if (drop_open_ref)
		vfs_file_put(v, f);
	return r;
}
