/*
 * TCP connections of the RPC transport: record marking (RFC 5531 §11) on the
 * read side, and replies from any thread on the write side.
 */
#include "transport_impl.h"
#include "log.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#define RM_LAST 0x80000000u
#define RM_LEN	0x7fffffffu

/* Enough iovecs to drain a queue of small replies in one call. */
#define OUT_IOV_MAX 32

static void conn_describe(const struct rpc_conn *c, char *buf, size_t len)
{
	rpc_addr_str(&c->peer, buf, len);
}

int rpc_conn_open(struct rpc_transport *t, int fd, const struct sockaddr_storage *peer,
		  socklen_t peer_len)
{
	struct rpc_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->src.kind = EV_CONN;
	c->t = t;
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

	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->src};
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int err = -errno;
		pthread_mutex_destroy(&c->lock);
		free(c);
		return err;
	}
	c->ev_mask = EPOLLIN;
	c->last_rx_ms = rpc_now_ms();
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	t->nconns++;
	atomic_fetch_add(&t->st.conns_accepted, 1);
	atomic_fetch_add(&t->st.conns_open, 1);
	return 0;
}

static void out_free_all(struct rpc_conn *c)
{
	struct out_chunk *o = c->out_head;
	while (o) {
		struct out_chunk *next = o->next;
		free(o);
		o = next;
	}
	c->out_head = c->out_tail = NULL;
	c->out_bytes = 0;
}

void rpc_conn_close(struct rpc_conn *c, const char *why)
{
	struct rpc_transport *t = c->t;
	char who[INET6_ADDRSTRLEN + 16];

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
	/* Workers check dead under the lock, so none can write to a reused fd number. */
	epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);

	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	t->nconns--;
	atomic_fetch_sub(&t->st.conns_open, 1);
	if (t->cfg.conn_closed)
		t->cfg.conn_closed(c->id, t->handler_arg);
	free(c->rec);
	c->rec = NULL;
	free(c->pend);
	c->pend = NULL;
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

static int conn_append(struct rpc_conn *c, const uint8_t *p, size_t n)
{
	if (c->rec_len + n > c->rec_cap) {
		/* Grow with what arrives, not with what the mark claims. */
		size_t cap = c->rec_cap ? c->rec_cap * 2 : 4096;
		if (cap < c->rec_len + n)
			cap = c->rec_len + n;
		if (cap > c->t->cfg.max_record)
			cap = c->t->cfg.max_record;
		uint8_t *r = realloc(c->rec, cap);
		if (!r)
			return -ENOMEM;
		c->rec = r;
		c->rec_cap = cap;
	}
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
	rpc_item_queue(it);
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
			if (conn_append(c, buf + off, take) < 0) {
				log_warn("out of memory reassembling a record");
				rpc_conn_close(c, "out of memory");
				return -1;
			}
			c->frag_left -= take;
			off += take;
		}
		if (c->frag_left > 0)
			continue;
		c->hdr_have = 0;
		if (!c->frag_last)
			continue;
		conn_finish_record(c);
		if (!conn_may_read(c))
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

/* Returns -1 when the connection was closed. */
static int conn_read(struct rpc_conn *c)
{
	struct rpc_transport *t = c->t;

	for (int i = 0; i < RPC_READS_PER_EVENT; i++) {
		ssize_t n = recv(c->fd, t->rbuf, RPC_READ_CHUNK, 0);
		if (n > 0) {
			c->last_rx_ms = rpc_now_ms();
			if (conn_feed(c, t->rbuf, (size_t)n) < 0)
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

/* Writes as much of the queue as the socket takes (lock held). */
static void out_push_locked(struct rpc_conn *c)
{
	while (c->out_head) {
		struct iovec iov[OUT_IOV_MAX];
		size_t total = 0;
		int n = 0;
		for (struct out_chunk *o = c->out_head; o && n < OUT_IOV_MAX; o = o->next, n++) {
			iov[n].iov_base = o->data + o->off;
			iov[n].iov_len = o->len - o->off;
			total += iov[n].iov_len;
		}
		struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		ssize_t w = sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->doomed = true;
			return;
		}
		c->out_progress_ms = rpc_now_ms();
		c->out_bytes -= (size_t)w;
		size_t left = (size_t)w;
		while (left > 0) {
			struct out_chunk *o = c->out_head;
			size_t avail = o->len - o->off;
			if (left < avail) {
				o->off += left;
				break;
			}
			left -= avail;
			c->out_head = o->next;
			free(o);
		}
		if (!c->out_head)
			c->out_tail = NULL;
		if ((size_t)w < total)
			return;
	}
}

void rpc_conn_on_event(struct rpc_conn *c, uint32_t events)
{
	if (events & (EPOLLERR | EPOLLHUP)) {
		/* Reset or fully closed: nothing more can be read or sent. */
		rpc_conn_close(c, "hang-up");
		return;
	}
	if (events & EPOLLOUT) {
		pthread_mutex_lock(&c->lock);
		out_push_locked(c);
		pthread_mutex_unlock(&c->lock);
	}
	if ((events & EPOLLIN) && conn_read(c) < 0)
		return;
	rpc_conn_update(c);
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
		if (c->dead)
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
	if (mask == c->ev_mask)
		return;
	struct epoll_event ev = {.events = mask, .data.ptr = &c->src};
	if (epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
		rpc_conn_close(c, "epoll_ctl failed");
		return;
	}
	c->ev_mask = mask;
}

void rpc_conn_scan(struct rpc_transport *t, long long now)
{
	long long idle_ms = (long long)t->cfg.idle_timeout_s * 1000;
	long long stall_ms = idle_ms > 0 && idle_ms < RPC_OUT_STALL_MS ? idle_ms : RPC_OUT_STALL_MS;
	struct rpc_conn *next;

	for (struct rpc_conn *c = t->conns; c; c = next) {
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

/* Queues what the socket did not take of mark+msg (lock held). */
static int out_queue_locked(struct rpc_conn *c, const uint8_t *mark, const void *msg, size_t len,
			    size_t sent)
{
	size_t total = len + 4;
	struct out_chunk *o = malloc(sizeof(*o) + total - sent);
	if (!o)
		return -ENOMEM;
	o->next = NULL;
	o->len = total - sent;
	o->off = 0;
	size_t mark_left = sent < 4 ? 4 - sent : 0;
	memcpy(o->data, mark + (4 - mark_left), mark_left);
	size_t msg_off = sent > 4 ? sent - 4 : 0;
	if (len > msg_off)
		memcpy(o->data + mark_left, (const uint8_t *)msg + msg_off, len - msg_off);
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	c->out_bytes += o->len;
	return 0;
}

/* Tries the socket directly, then queues the rest (lock held). Sets *kick
 * when the loop has to take over. */
static int conn_send_locked(struct rpc_conn *c, const void *msg, size_t len, bool *kick)
{
	uint32_t v = RM_LAST | (uint32_t)len;
	uint8_t mark[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	size_t sent = 0;

	if (c->dead || c->doomed)
		return -EPIPE;
	if (c->out_bytes + len + 4 > RPC_OUT_MAX_BYTES) {
		c->doomed = true;
		*kick = true;
		return -ENOBUFS;
	}
	if (!c->out_head) {
		struct iovec iov[2] = {{mark, 4}, {(void *)msg, len}};
		struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
		ssize_t w;
		do
			w = sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			int err = -errno;
			c->doomed = true;
			*kick = true;
			return err;
		}
		sent = w < 0 ? 0 : (size_t)w;
		if (sent == len + 4)
			return 0;
		c->out_progress_ms = rpc_now_ms();
		*kick = true; /* the loop must watch EPOLLOUT */
	}
	if (out_queue_locked(c, mark, msg, len, sent) < 0) {
		/* Part of the record may be on the wire: the stream cannot continue. */
		c->doomed = true;
		*kick = true;
		return -ENOMEM;
	}
	return 0;
}

int rpc_conn_send_reply(struct rpc_conn *c, const void *msg, size_t len)
{
	bool kick = false;
	int rc = -EINVAL;

	pthread_mutex_lock(&c->lock);
	if (len <= RM_LEN && (msg || !len))
		rc = conn_send_locked(c, msg, len, &kick);
	if (rpc_conn_done_locked(c))
		kick = true;
	pthread_mutex_unlock(&c->lock);
	if (kick)
		rpc_conn_kick(c);
	return rc;
}
