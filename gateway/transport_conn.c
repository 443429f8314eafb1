/*
 * TCP connections of the RPC transport: record marking (RFC 5531 §11) on the
 * read side; on the write side a queue of replies that the loop's flush hook
 * sends, all of a round in one sendmsg. Bulk read data can stay in its file
 * and go out by sendfile(2) between the messages around it.
 */
#include "transport_impl.h"
#include "coro.h"
#include "log.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#define RM_LAST 0x80000000u
#define RM_LEN	0x7fffffffu

/* Enough iovecs to drain a round of small replies in one call. */
#define OUT_IOV_MAX 64
/* Past this much of one record, believe its mark and take room for all of it. */
#define REC_TRUST_BYTES (64u * 1024)

static void conn_describe(const struct rpc_conn *c, char *buf, size_t len)
{
	rpc_addr_str(&c->peer, buf, len);
}

bool rpc_conn_on_own_loop(const struct rpc_conn *c)
{
	return evloop_current() == c->loop->ev;
}

static void conn_on_event(struct ev_watch *w, uint32_t events);

int rpc_conn_open(struct rpc_loop *l, int fd, const struct sockaddr_storage *peer,
		  socklen_t peer_len)
{
	struct rpc_transport *t = l->t;
	struct rpc_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->t = t;
	c->loop = l;
	atomic_init(&c->refs, 1);
	c->id = atomic_fetch_add(&t->st.next_conn_id, 1) + 1;
	c->fd = fd;
	pthread_mutex_init(&c->lock, NULL);
	c->peer = *peer;
	c->peer_len = peer_len;
	c->local_len = sizeof(c->local);
	if (getsockname(fd, (struct sockaddr *)&c->local, &c->local_len) != 0)
		c->local_len = 0;

	int one = 1;
	/* Replies are whole messages: waiting to coalesce them only adds latency. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Finds clients that vanished without a FIN while we wait on them. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));

	int r = evloop_watch(l->ev, &c->watch, fd, EPOLLIN, conn_on_event);
	if (r < 0) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return r;
	}
	c->open = true;
	c->last_rx_ms = rpc_now_ms();
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	l->nconns++;
	atomic_fetch_add(&t->st.conns_accepted, 1);
	atomic_fetch_add(&t->st.conns_open, 1);
	return 0;
}

static void out_chunk_free(struct out_chunk *o)
{
	if (o->fd >= 0)
		close(o->fd);
	free(o->owned);
	free(o);
}

static void out_free_all(struct rpc_conn *c)
{
	struct out_chunk *o = c->out_head;
	while (o) {
		struct out_chunk *next = o->next;
		out_chunk_free(o);
		o = next;
	}
	c->out_head = c->out_tail = NULL;
	c->out_bytes = 0;
}

struct closed_note {
	struct rpc_transport *t;
	void (*fn)(uint64_t conn_id, void *arg);
	uint64_t conn_id;
	void *arg;
};

static void run_closed_note(void *arg)
{
	struct closed_note *n = arg;
	struct rpc_transport *t = n->t;
	n->fn(n->conn_id, n->arg);
	free(n);
	/* stop() waits for these as for requests. */
	pthread_mutex_lock(&t->lock);
	if (--t->live == 0)
		pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

/* State bound to the connection is let go on a coroutine: it takes locks
 * that a parked request may hold. */
static void tell_closed(struct rpc_conn *c)
{
	struct rpc_transport *t = c->t;
	if (!t->cfg.conn_closed || atomic_load(&t->aborting))
		return;
	struct closed_note *n = malloc(sizeof(*n));
	if (!n)
		return;
	*n = (struct closed_note){
	    .t = t, .fn = t->cfg.conn_closed, .conn_id = c->id, .arg = t->handler_arg};
	pthread_mutex_lock(&t->lock);
	t->live++;
	pthread_mutex_unlock(&t->lock);
	if (coro_spawn(c->loop->ev, run_closed_note, n) < 0) {
		free(n);
		pthread_mutex_lock(&t->lock);
		if (--t->live == 0)
			pthread_cond_broadcast(&t->cond);
		pthread_mutex_unlock(&t->lock);
	}
}

void rpc_conn_close(struct rpc_conn *c, const char *why)
{
	struct rpc_transport *t = c->t;
	struct rpc_loop *l = c->loop;
	char who[INET6_ADDRSTRLEN + 16];

	if (!c->open)
		return;
	if (log_get_level() >= LOG_LVL_DEBUG) {
		conn_describe(c, who, sizeof(who));
		log_debug("closing connection from %s: %s", who, why);
	}
	pthread_mutex_lock(&c->lock);
	int fd = c->fd;
	c->fd = -1;
	c->dead = true;
	out_free_all(c);
	pthread_mutex_unlock(&c->lock);
	/* Replies check dead under the lock, so none can write to a reused fd number. */
	evloop_unwatch(l->ev, &c->watch);
	close(fd);
	c->open = false;

	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	l->nconns--;
	atomic_fetch_sub(&l->assigned, 1);
	atomic_fetch_sub(&t->total_conns, 1);
	atomic_fetch_sub(&t->st.conns_open, 1);
	tell_closed(c);
	free(c->rec);
	c->rec = NULL;
	free(c->pend);
	c->pend = NULL;
	rpc_loop_report_drained(l);
	rpc_conn_put(c);
}

static bool conn_may_read(struct rpc_conn *c)
{
	pthread_mutex_lock(&c->lock);
	bool ok = rpc_conn_may_read_locked(c);
	pthread_mutex_unlock(&c->lock);
	return ok;
}

/* A record mark was read: check it against the limits. Returns -1 when closed. */
static int conn_start_fragment(struct rpc_conn *c)
{
	struct rpc_transport *t = c->t;
	uint32_t v = (uint32_t)c->hdr[0] << 24 | (uint32_t)c->hdr[1] << 16 |
		     (uint32_t)c->hdr[2] << 8 | c->hdr[3];
	uint32_t len = v & RM_LEN;
	char who[INET6_ADDRSTRLEN + 16];

	if (len > t->cfg.max_record - c->rec_len) {
		atomic_fetch_add(&t->st.oversize, 1);
		if (rpc_log_ratelimit(&t->log_oversize_ms)) {
			conn_describe(c, who, sizeof(who));
			log_warn("closing connection from %s: record of more than %zu bytes", who,
				 t->cfg.max_record);
		}
		rpc_conn_close(c, "oversize record");
		return -1;
	}
	if (len == 0 && !(v & RM_LAST) && ++c->empty_frags > RPC_MAX_EMPTY_FRAGMENTS) {
		atomic_fetch_add(&t->st.bad_records, 1);
		if (rpc_log_ratelimit(&t->log_bad_ms)) {
			conn_describe(c, who, sizeof(who));
			log_warn("closing connection from %s: too many empty fragments", who);
		}
		rpc_conn_close(c, "empty fragments");
		return -1;
	}
	c->frag_left = len;
	c->frag_last = v & RM_LAST;
	return 0;
}

/* Room for n more bytes of the record. Grows with what arrives, not with
 * what the mark claims, until enough has arrived to make the claim
 * credible: a 1 MiB WRITE is then not copied over and over while it grows. */
static int conn_reserve(struct rpc_conn *c, size_t n)
{
	if (c->rec_len + n <= c->rec_cap)
		return 0;
	size_t cap = c->rec_cap ? c->rec_cap * 2 : 4096;
	if (c->rec_len >= REC_TRUST_BYTES && cap < c->rec_len + n + c->frag_left)
		cap = c->rec_len + n + c->frag_left;
	if (cap < c->rec_len + n)
		cap = c->rec_len + n;
	if (cap > c->t->cfg.max_record)
		cap = c->t->cfg.max_record;
	uint8_t *r = realloc(c->rec, cap);
	if (!r)
		return -ENOMEM;
	c->rec = r;
	c->rec_cap = cap;
	return 0;
}

static int conn_append(struct rpc_conn *c, const uint8_t *p, size_t n)
{
	if (conn_reserve(c, n) < 0)
		return -ENOMEM;
	memcpy(c->rec + c->rec_len, p, n);
	c->rec_len += n;
	return 0;
}

static void conn_finish_record(struct rpc_conn *c)
{
	struct rpc_transport *t = c->t;
	uint8_t *buf = c->rec;
	size_t len = c->rec_len;

	c->rec = NULL;
	c->rec_len = c->rec_cap = 0;
	c->empty_frags = 0;
	if (len == 0) {
		/* Not an RPC message, but harmless: skip it. */
		atomic_fetch_add(&t->st.bad_records, 1);
		return;
	}
	struct rpc_item *it = rpc_item_new(c, buf, len, &c->peer, c->peer_len, &c->local);
	if (!it) {
		/* The client will retransmit; the stream itself is still in step. */
		free(buf);
		atomic_fetch_add(&t->st.dropped, 1);
		return;
	}
	rpc_item_start(it);
}

/* A fragment is complete; false when the connection may not read more now. */
static bool conn_end_fragment(struct rpc_conn *c)
{
	c->hdr_have = 0;
	if (!c->frag_last)
		return true;
	conn_finish_record(c);
	return conn_may_read(c);
}

/*
 * Parses n bytes of the stream. Stops after a record that brings the
 * connection to its bound on requests in flight. Returns the bytes consumed,
 * or -1 when the connection was closed.
 */
static ssize_t conn_parse(struct rpc_conn *c, const uint8_t *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		if (c->hdr_have < 4) {
			size_t take = 4 - c->hdr_have;
			if (take > n - off)
				take = n - off;
			memcpy(c->hdr + c->hdr_have, buf + off, take);
			c->hdr_have += take;
			off += take;
			if (c->hdr_have < 4)
				break;
			if (conn_start_fragment(c) < 0)
				return -1;
		} else {
			size_t take = c->frag_left;
			if (take > n - off)
				take = n - off;
			c->frag_left -= take;
			if (conn_append(c, buf + off, take) < 0) {
				log_warn("out of memory reassembling a record");
				rpc_conn_close(c, "out of memory");
				return -1;
			}
			off += take;
		}
		if (c->frag_left > 0)
			continue;
		if (!conn_end_fragment(c))
			break;
	}
	return (ssize_t)off;
}

/* Keeps what a paused connection read but may not parse yet. */
static int conn_save_pending(struct rpc_conn *c, const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, p, n);
	free(c->pend);
	c->pend = copy;
	c->pend_len = n;
	c->pend_off = 0;
	return 0;
}

/* Feeds bytes to the parser, keeping the unparsed rest. Returns -1 when closed. */
static int conn_feed(struct rpc_conn *c, const uint8_t *buf, size_t n)
{
	ssize_t used = conn_parse(c, buf, n);
	if (used < 0)
		return -1;
	if ((size_t)used < n && conn_save_pending(c, buf + used, n - (size_t)used) < 0) {
		rpc_conn_close(c, "out of memory");
		return -1;
	}
	return 0;
}

static void conn_on_eof(struct rpc_conn *c)
{
	if (c->hdr_have || c->rec_len || c->empty_frags) {
		/* The client went away in the middle of a record. */
		atomic_fetch_add(&c->t->st.bad_records, 1);
		free(c->rec);
		c->rec = NULL;
		c->rec_len = c->rec_cap = 0;
		c->hdr_have = 0;
	}
	pthread_mutex_lock(&c->lock);
	c->eof = true;
	pthread_mutex_unlock(&c->lock);
}

/* The rest of a large fragment goes straight into the record: no copy
 * through the loop's buffer. Returns the bytes read, or 0 to read as usual. */
static ssize_t conn_read_direct(struct rpc_conn *c, bool *again)
{
	*again = false;
	if (c->hdr_have < 4 || c->frag_left < REC_TRUST_BYTES || c->pend ||
	    conn_reserve(c, c->frag_left) < 0)
		return 0;
	ssize_t n = recv(c->fd, c->rec + c->rec_len, c->frag_left, 0);
	if (n <= 0)
		return n;
	evloop_note_input();
	c->last_rx_ms = rpc_now_ms();
	c->rec_len += (size_t)n;
	c->frag_left -= (uint32_t)n;
	if (c->frag_left == 0)
		*again = conn_end_fragment(c);
	else
		*again = false; /* the socket is empty for now */
	return n;
}

/* Returns -1 when the connection was closed. */
static int conn_read(struct rpc_conn *c)
{
	uint8_t *rbuf = c->loop->rbuf;

	for (int i = 0; i < RPC_READS_PER_EVENT; i++) {
		bool again;
		ssize_t n = conn_read_direct(c, &again);
		if (n > 0) {
			if (again)
				continue;
			return 0;
		}
		if (n == 0)
			n = recv(c->fd, rbuf, RPC_READ_CHUNK, 0);
		if (n > 0) {
			evloop_note_input();
			c->last_rx_ms = rpc_now_ms();
			if (conn_feed(c, rbuf, (size_t)n) < 0)
				return -1;
			if (c->pend || (size_t)n < RPC_READ_CHUNK)
				return 0;
			continue;
		}
		if (n == 0) {
			conn_on_eof(c);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		rpc_conn_close(c, "read error");
		return -1;
	}
	return 0;
}

/* Takes w sent bytes off the head of the queue (lock held). */
static void out_consume_locked(struct rpc_conn *c, size_t w)
{
	c->out_progress_ms = rpc_now_ms();
	c->out_bytes -= w;
	while (w > 0) {
		struct out_chunk *o = c->out_head;
		size_t avail = o->len - o->off;
		if (w < avail) {
			o->off += w;
			break;
		}
		w -= avail;
		c->out_head = o->next;
		out_chunk_free(o);
	}
	if (!c->out_head)
		c->out_tail = NULL;
}

/* Sends from the file range at the head; how much, or -1 with errno. */
static ssize_t out_send_file(struct rpc_conn *c, const struct out_chunk *o)
{
	off_t off = (off_t)(o->file_off + o->off);
	ssize_t w = sendfile(c->fd, o->fd, &off, o->len - o->off);
	if (w == 0) {
		/* The file is shorter than when the read was planned: the record
		 * cannot be completed, and the stream cannot go on without it. */
		errno = EIO;
		return -1;
	}
	return w;
}

/* Sends the memory chunks at the head, up to a file range; how much, or -1
 * with errno. MSG_MORE before a file range keeps a reply's header and its
 * data in the same segments. */
static ssize_t out_send_memory(struct rpc_conn *c, size_t *total)
{
	struct iovec iov[OUT_IOV_MAX];
	int n = 0;
	bool file_next = false;
	*total = 0;
	for (struct out_chunk *o = c->out_head; o && n < OUT_IOV_MAX; o = o->next, n++) {
		if (o->fd >= 0) {
			file_next = true;
			break;
		}
		iov[n].iov_base = o->data + o->off;
		iov[n].iov_len = o->len - o->off;
		*total += iov[n].iov_len;
	}
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
	return sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL | (file_next ? MSG_MORE : 0));
}

/* Writes as much of the queue as the socket takes (lock held). */
static void out_push_locked(struct rpc_conn *c)
{
	while (c->out_head && !c->dead) {
		size_t total;
		ssize_t w;
		if (c->out_head->fd >= 0) {
			total = c->out_head->len - c->out_head->off;
			w = out_send_file(c, c->out_head);
		} else {
			w = out_send_memory(c, &total);
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->doomed = true;
			return;
		}
		out_consume_locked(c, (size_t)w);
		if ((size_t)w < total)
			return;
	}
}

void rpc_conn_flush(struct rpc_conn *c)
{
	pthread_mutex_lock(&c->lock);
	out_push_locked(c);
	pthread_mutex_unlock(&c->lock);
}

static void conn_on_event(struct ev_watch *w, uint32_t events)
{
	struct rpc_conn *c = (struct rpc_conn *)w;
	atomic_fetch_add(&c->refs, 1); /* closing it must not free it under us */
	if (events & (EPOLLERR | EPOLLHUP)) {
		/* Reset or fully closed: nothing more can be read or sent. */
		rpc_conn_close(c, "hang-up");
	} else {
		if (events & EPOLLOUT)
			rpc_conn_flush(c);
		if (!(events & EPOLLIN) || conn_read(c) == 0)
			rpc_conn_update(c);
	}
	rpc_conn_put(c);
}

/* Parses what was held back while the connection was paused. Returns -1 when closed. */
static int conn_resume_pending(struct rpc_conn *c)
{
	ssize_t used = conn_parse(c, c->pend + c->pend_off, c->pend_len - c->pend_off);
	if (used < 0)
		return -1;
	c->pend_off += (size_t)used;
	if (c->pend_off == c->pend_len) {
		free(c->pend);
		c->pend = NULL;
		c->pend_len = c->pend_off = 0;
	}
	return 0;
}

void rpc_conn_update(struct rpc_conn *c)
{
	struct rpc_transport *t = c->t;
	bool stopping = atomic_load(&t->stopping);
	bool doomed, idle, want_in, want_out;

	/* Held-back bytes first: replies may have made room for them. */
	for (;;) {
		if (!c->open)
			return;
		pthread_mutex_lock(&c->lock);
		doomed = c->doomed;
		idle = c->inflight == 0 && !c->out_head;
		bool can = rpc_conn_may_read_locked(c);
		want_in = can && !c->eof && !stopping;
		want_out = c->out_head != NULL;
		if (!can && !c->eof && !stopping)
			c->paused = true;
		pthread_mutex_unlock(&c->lock);
		if (doomed || !want_in || !c->pend)
			break;
		if (conn_resume_pending(c) < 0)
			return;
	}
	if (doomed) {
		rpc_conn_close(c, "write failed or replies piled up");
		return;
	}
	if ((c->eof || stopping) && idle) {
		rpc_conn_close(c, c->eof ? "closed by peer" : "transport stopping");
		return;
	}
	uint32_t mask = (want_in ? EPOLLIN : 0) | (want_out ? EPOLLOUT : 0);
	if (evloop_watch_set(c->loop->ev, &c->watch, mask) < 0)
		rpc_conn_close(c, "epoll_ctl failed");
}

void rpc_conn_scan(struct rpc_loop *l, long long now)
{
	struct rpc_transport *t = l->t;
	long long idle_ms = (long long)t->cfg.idle_timeout_s * 1000;
	long long stall_ms = idle_ms > 0 && idle_ms < RPC_OUT_STALL_MS ? idle_ms : RPC_OUT_STALL_MS;
	struct rpc_conn *next;

	for (struct rpc_conn *c = l->conns; c; c = next) {
		next = c->next;
		pthread_mutex_lock(&c->lock);
		bool busy = c->inflight > 0 || c->out_head;
		bool stalled = c->out_head && now - c->out_progress_ms >= stall_ms;
		pthread_mutex_unlock(&c->lock);
		if (stalled)
			rpc_conn_close(c, "client does not read its replies");
		else if (idle_ms > 0 && !busy && now - c->last_rx_ms >= idle_ms)
			rpc_conn_close(c, "idle");
	}
}

static void out_append_locked(struct rpc_conn *c, struct out_chunk *o)
{
	if (!c->out_head)
		c->out_progress_ms = rpc_now_ms();
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	c->out_bytes += o->len;
}

/* Queues mark+msg: adopting owned (whose RPC_REPLY_HEADROOM bytes before
 * msg take the mark), or copying (lock held). The record is msg and the
 * record - len bytes queued after it. */
static int out_queue_locked(struct rpc_conn *c, const void *msg, size_t len, size_t record,
			    void *owned)
{
	uint32_t v = RM_LAST | (uint32_t)record;
	uint8_t mark[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	struct out_chunk *o = malloc(sizeof(*o) + (owned ? 0 : len + 4));
	if (!o)
		return -ENOMEM;
	o->next = NULL;
	o->len = len + 4;
	o->off = 0;
	o->owned = owned;
	o->fd = -1;
	if (owned) {
		o->data = (uint8_t *)msg - 4;
		memcpy(o->data, mark, 4);
	} else {
		o->data = o->inline_data;
		memcpy(o->data, mark, 4);
		if (len)
			memcpy(o->data + 4, msg, len);
	}
	out_append_locked(c, o);
	return 0;
}

/* Queues a reply: mark and msg (adopting owned, or copied), then, when
 * range is given, the file range and its padding (lock held). On success
 * owned, range and pad belong to the queue. */
static int send_locked(struct rpc_conn *c, const void *msg, size_t len, void *owned,
		       struct out_chunk *range, struct out_chunk *pad)
{
	size_t record = len + (range ? range->len : 0) + (pad ? pad->len : 0);
	if (record > RM_LEN || (!msg && len))
		return -EINVAL;
	if (c->dead || c->doomed)
		return -EPIPE;
	if (c->out_bytes + record + 4 > RPC_OUT_MAX_BYTES) {
		c->doomed = true;
		return -ENOBUFS;
	}
	int rc = out_queue_locked(c, msg, len, record, owned);
	if (rc < 0) {
		c->doomed = true; /* the stream lost a record: it cannot go on */
		return rc;
	}
	if (range)
		out_append_locked(c, range);
	if (pad)
		out_append_locked(c, pad);
	return 0;
}

int rpc_conn_send_reply(struct rpc_conn *c, const void *msg, size_t len, void *owned)
{
	pthread_mutex_lock(&c->lock);
	int rc = send_locked(c, msg, len, owned, NULL, NULL);
	if (rc == 0)
		owned = NULL;
	rpc_conn_done_locked(c);
	pthread_mutex_unlock(&c->lock);
	free(owned);
	/* The loop sends it with the rest of the round, and looks at the
	 * connection again (resume reading, close once answered). */
	rpc_conn_kick(c);
	return rc;
}

/* The file range of a reply and the zero bytes that pad it to four, as two
 * chunks (the second NULL when no padding is due). */
static int file_chunks_new(const struct rpc_file_range *file, struct out_chunk **range,
			   struct out_chunk **pad)
{
	size_t npad = (4 - file->len % 4) % 4;
	*range = malloc(sizeof(**range));
	*pad = npad ? calloc(1, sizeof(**pad) + npad) : NULL;
	if (!*range || (npad && !*pad)) {
		free(*range);
		free(*pad);
		return -ENOMEM;
	}
	**range = (struct out_chunk){.len = file->len, .fd = file->fd, .file_off = file->off};
	if (*pad) {
		(*pad)->data = (*pad)->inline_data;
		(*pad)->len = npad;
		(*pad)->fd = -1;
	}
	return 0;
}

int rpc_conn_send_reply_file(struct rpc_conn *c, const void *msg, size_t len, void *owned,
			     const struct rpc_file_range *file)
{
	struct out_chunk *range = NULL, *pad = NULL;
	int rc = file->len ? file_chunks_new(file, &range, &pad) : 0;

	pthread_mutex_lock(&c->lock);
	if (rc == 0 && owned)
		rc = send_locked(c, msg, len, owned, range, pad);
	else
		rc = rc < 0 ? rc : -EINVAL;
	/* A reply that cannot go leaves the stream a record short. */
	if (rc == -EINVAL || rc == -ENOMEM)
		c->doomed = true;
	bool fd_queued = rc == 0 && range;
	if (rc == 0)
		owned = range = pad = NULL;
	rpc_conn_done_locked(c);
	pthread_mutex_unlock(&c->lock);
	free(owned);
	free(range);
	free(pad);
	if (!fd_queued)
		close(file->fd);
	rpc_conn_kick(c);
	return rc;
}
