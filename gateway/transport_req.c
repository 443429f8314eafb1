/*
 * Requests of the RPC transport: each runs on a coroutine of its
 * connection's loop; replies and drops from any thread; and the UDP socket
 * (one datagram, one request), which lives on loop 0.
 */
#include "transport_impl.h"
#include "coro.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Largest UDP payload over IPv4 (65535 - IP and UDP headers). */
#define UDP_MAX_REPLY	    65507
#define DATAGRAMS_PER_EVENT 64

struct rpc_item *rpc_item_new(struct rpc_conn *c, uint8_t *buf, size_t len,
			      const struct sockaddr_storage *peer, socklen_t peer_len,
			      const struct sockaddr_storage *local)
{
	struct rpc_item *it = malloc(sizeof(*it));
	if (!it)
		return NULL;
	it->buf = buf;
	it->ctl_len = 0;
	it->req.conn = c;
	it->req.conn_id = c->id;
	it->req.data = buf;
	it->req.len = len;
	it->req.udp = c->udp;
	memcpy(&it->req.peer, peer, sizeof(*peer));
	it->req.peer_len = peer_len;
	memcpy(&it->req.local, local, sizeof(*local));
	return it;
}

static void run_item(void *arg)
{
	struct rpc_item *it = arg;
	struct rpc_transport *t = it->req.conn->t;
	if (atomic_load(&t->aborting))
		rpc_request_drop(&it->req);
	else
		t->handler(&it->req, t->handler_arg);
}

void rpc_item_start(struct rpc_item *it)
{
	struct rpc_conn *c = it->req.conn;
	struct rpc_transport *t = c->t;

	atomic_fetch_add(&c->refs, 1);
	pthread_mutex_lock(&c->lock);
	c->inflight++;
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_lock(&t->lock);
	t->live++;
	pthread_mutex_unlock(&t->lock);
	atomic_fetch_add(&t->st.requests, 1);
	if (coro_spawn(c->loop->ev, run_item, it) < 0) {
		/* No memory for a stack: like a lost datagram, the client retransmits. */
		rpc_request_drop(&it->req);
	}
}

void rpc_item_release(struct rpc_item *it)
{
	struct rpc_conn *c = it->req.conn;
	struct rpc_transport *t = c->t;

	free(it->buf);
	free(it);
	rpc_conn_put(c);
	/* Last touch of t: stop() frees it once live is 0 under this lock. */
	pthread_mutex_lock(&t->lock);
	if (--t->live == 0)
		pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

static int udp_send_locked(struct rpc_conn *u, struct rpc_item *it, const void *msg, size_t len)
{
	struct iovec iov = {(void *)msg, len};
	struct msghdr m = {
	    .msg_name = &it->req.peer,
	    .msg_namelen = it->req.peer_len,
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = it->ctl_len ? it->ctl.b : NULL,
	    .msg_controllen = it->ctl_len,
	};
	ssize_t w;

	if (u->dead)
		return -EPIPE;
	do
		w = sendmsg(u->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0 && errno == EINVAL && it->ctl_len) {
		/* The kernel refused our source address: any source beats no reply. */
		m.msg_control = NULL;
		m.msg_controllen = 0;
		w = sendmsg(u->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	/* EAGAIN included: a UDP client retransmits, a handler must not wait. */
	return w < 0 ? -errno : 0;
}

static int udp_reply(struct rpc_item *it, const void *msg, size_t len)
{
	struct rpc_conn *u = it->req.conn;
	int rc = -EMSGSIZE;

	if (!msg && len)
		rc = -EINVAL;
	pthread_mutex_lock(&u->lock);
	if (len <= UDP_MAX_REPLY && (msg || !len))
		rc = udp_send_locked(u, it, msg, len);
	bool kick = rpc_conn_done_locked(u);
	pthread_mutex_unlock(&u->lock);
	if (kick)
		rpc_conn_kick(u);
	return rc;
}

static int reply(struct rpc_request *req, const void *msg, size_t len, void *owned)
{
	struct rpc_item *it = (struct rpc_item *)req;
	struct rpc_transport *t = req->conn->t;
	int rc;

	if (req->conn->udp) {
		rc = udp_reply(it, msg, len);
		free(owned);
	} else {
		rc = rpc_conn_send_reply(req->conn, msg, len, owned);
	}
	atomic_fetch_add(rc == 0 ? &t->st.replies : &t->st.dropped, 1);
	rpc_item_release(it);
	return rc;
}

int rpc_request_reply(struct rpc_request *req, const void *msg, size_t len)
{
	if (!req)
		return -EINVAL;
	return reply(req, msg, len, NULL);
}

int rpc_request_reply_adopt(struct rpc_request *req, void *buf, size_t len)
{
	if (!req || !buf) {
		free(buf);
		return -EINVAL;
	}
	return reply(req, (uint8_t *)buf + RPC_REPLY_HEADROOM, len, buf);
}

int rpc_request_reply_file(struct rpc_request *req, void *buf, size_t len,
			   const struct rpc_file_range *file)
{
	if (!req || !buf || !file || req->udp) {
		free(buf);
		if (file)
			close(file->fd);
		if (req)
			rpc_request_drop(req);
		return -EINVAL;
	}
	struct rpc_transport *t = req->conn->t;
	size_t flen = file->len;
	int rc = rpc_conn_send_reply_file(req->conn, (uint8_t *)buf + RPC_REPLY_HEADROOM, len, buf,
					  file);
	atomic_fetch_add(rc == 0 ? &t->st.replies : &t->st.dropped, 1);
	if (rc == 0) {
		atomic_fetch_add(&t->st.file_replies, 1);
		atomic_fetch_add(&t->st.file_bytes, flen);
	}
	rpc_item_release((struct rpc_item *)req);
	return rc;
}

void rpc_request_drop(struct rpc_request *req)
{
	if (!req)
		return;
	struct rpc_conn *c = req->conn;
	pthread_mutex_lock(&c->lock);
	bool kick = rpc_conn_done_locked(c);
	pthread_mutex_unlock(&c->lock);
	if (kick)
		rpc_conn_kick(c);
	atomic_fetch_add(&c->t->st.dropped, 1);
	rpc_item_release((struct rpc_item *)req);
}

/* ------------------------------------------------------------ UDP */

void rpc_udp_update(struct rpc_transport *t)
{
	struct rpc_conn *u = t->udp;

	if (!u || u->dead)
		return;
	pthread_mutex_lock(&u->lock);
	bool can = rpc_conn_may_read_locked(u);
	if (!can)
		u->paused = true;
	pthread_mutex_unlock(&u->lock);
	uint32_t mask = can && !atomic_load(&t->stopping) ? EPOLLIN : 0;
	evloop_watch_set(t->loops[0].ev, &u->watch, mask);
}

/* Where a datagram was sent to, and the control message that answers from there. */
static void udp_take_pktinfo(struct rpc_transport *t, struct msghdr *m, struct rpc_item *it)
{
	uint16_t port = htons(t->port);

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			struct sockaddr_in *l = (struct sockaddr_in *)&it->req.local;
			*l = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = port};
			l->sin_addr = pi.ipi_addr;
			struct in_pktinfo out = {.ipi_spec_dst = pi.ipi_addr};
			struct cmsghdr *oc = &it->ctl.align;
			oc->cmsg_level = IPPROTO_IP;
			oc->cmsg_type = IP_PKTINFO;
			oc->cmsg_len = CMSG_LEN(sizeof(out));
			memcpy(CMSG_DATA(oc), &out, sizeof(out));
			it->ctl_len = CMSG_SPACE(sizeof(out));
			return;
		}
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			struct sockaddr_in6 *l = (struct sockaddr_in6 *)&it->req.local;
			*l = (struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_port = port};
			l->sin6_addr = pi.ipi6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
				l->sin6_scope_id = (uint32_t)pi.ipi6_ifindex;
			struct cmsghdr *oc = &it->ctl.align;
			oc->cmsg_level = IPPROTO_IPV6;
			oc->cmsg_type = IPV6_PKTINFO;
			oc->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(oc), &pi, sizeof(pi));
			it->ctl_len = CMSG_SPACE(sizeof(pi));
			return;
		}
	}
}

/* One datagram into a request. Returns false when the socket has no more. */
static bool udp_read_one(struct rpc_transport *t)
{
	struct rpc_conn *u = t->udp;
	struct sockaddr_storage peer;
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			  CMSG_SPACE(sizeof(struct in_pktinfo))];
	} ctl;
	struct iovec iov = {t->ubuf, RPC_UDP_MAX_DATAGRAM + 1};
	struct msghdr m = {.msg_name = &peer,
			   .msg_namelen = sizeof(peer),
			   .msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = ctl.b,
			   .msg_controllen = sizeof(ctl.b)};

	ssize_t n = recvmsg(u->fd, &m, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EINTR)
			return true;
		if (errno != EAGAIN && errno != EWOULDBLOCK && rpc_log_ratelimit(&t->log_bad_ms))
			log_warn("UDP receive failed: %s", strerror(errno));
		return false;
	}
	evloop_note_input();
	if ((m.msg_flags & MSG_TRUNC) || (size_t)n > RPC_UDP_MAX_DATAGRAM ||
	    (size_t)n > t->cfg.max_record) {
		atomic_fetch_add(&t->st.oversize, 1);
		return true;
	}
	if (n == 0) {
		atomic_fetch_add(&t->st.bad_records, 1);
		return true;
	}
	uint8_t *buf = malloc((size_t)n);
	struct rpc_item *it =
	    buf ? rpc_item_new(u, buf, (size_t)n, &peer, m.msg_namelen, &u->local) : NULL;
	if (!it) {
		free(buf);
		atomic_fetch_add(&t->st.dropped, 1);
		return true;
	}
	memcpy(buf, t->ubuf, (size_t)n);
	if (t->udp_pktinfo)
		udp_take_pktinfo(t, &m, it);
	rpc_item_start(it);
	return true;
}

void rpc_udp_read(struct rpc_transport *t)
{
	struct rpc_conn *u = t->udp;

	for (int i = 0; i < DATAGRAMS_PER_EVENT; i++) {
		pthread_mutex_lock(&u->lock);
		bool can = rpc_conn_may_read_locked(u);
		pthread_mutex_unlock(&u->lock);
		if (!can || atomic_load(&t->stopping))
			break;
		if (!udp_read_one(t))
			return;
	}
	rpc_udp_update(t);
}
