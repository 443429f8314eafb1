/*
 * RPC transport: listening sockets, the event loops (one thread each),
 * handing connections to loops, the per-loop flush of replies, start and
 * stop. TCP connections are in transport_conn.c, requests and UDP in
 * transport_req.c; the threading rules are in transport_impl.h.
 */
#include "transport_impl.h"
#include "coro.h"
#include "deadline.h"
#include "log.h"
#include "thread_name.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define ACCEPTS_PER_EVENT 64
#define SCAN_INTERVAL_MS  1000
/* After EMFILE and the like, the listening socket stays readable: back off. */
#define ACCEPT_BACKOFF_MS 100

long long rpc_now_ms(void)
{
	return evloop_now_ms();
}

bool rpc_log_ratelimit(long long *last)
{
	long long now = rpc_now_ms();
	if (*last && now - *last < 1000)
		return false;
	*last = now;
	return true;
}

void rpc_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "(family %d)", ss->ss_family);
	}
}

void rpc_conn_put(struct rpc_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	struct out_chunk *o = c->out_head;
	while (o) {
		struct out_chunk *next = o->next;
		free(o->owned);
		free(o);
		o = next;
	}
	free(c->rec);
	free(c->pend);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool rpc_conn_may_read_locked(const struct rpc_conn *c)
{
	unsigned limit = c->udp ? RPC_UDP_MAX_INFLIGHT : c->t->cfg.max_inflight;
	return c->inflight < limit && c->out_bytes <= RPC_OUT_PAUSE_BYTES;
}

bool rpc_conn_done_locked(struct rpc_conn *c)
{
	c->inflight--;
	if (c->dead)
		return false;
	if (c->paused && rpc_conn_may_read_locked(c)) {
		c->paused = false;
		return true;
	}
	return c->inflight == 0 && (c->eof || atomic_load(&c->t->stopping));
}

/* ------------------------------------------------------------ flushing, kicks */

/* A connection's turn after the round: send its replies, then look at it
 * again (resume reading, close when answered). */
static void conn_revisit(struct rpc_conn *c)
{
	if (c->udp) {
		rpc_udp_update(c->t);
		return;
	}
	if (!c->open)
		return;
	rpc_conn_flush(c);
	rpc_conn_update(c);
}

static void loop_flush(struct ev_hook *h)
{
	struct rpc_loop *l = (struct rpc_loop *)((char *)h - offsetof(struct rpc_loop, flush_hook));
	while (l->flush_head) {
		struct rpc_conn *c = l->flush_head;
		l->flush_head = c->flush_next;
		c->flush_queued = false;
		conn_revisit(c);
		rpc_conn_put(c);
	}
}

void rpc_conn_flush_later(struct rpc_conn *c)
{
	struct rpc_loop *l = c->loop;
	if (c->flush_queued)
		return;
	c->flush_queued = true;
	atomic_fetch_add(&c->refs, 1);
	c->flush_next = l->flush_head;
	l->flush_head = c;
	evloop_defer(l->ev, &l->flush_hook, loop_flush);
}

static void loop_kicks(struct ev_task *task)
{
	struct rpc_loop *l =
	    (struct rpc_loop *)((char *)task - offsetof(struct rpc_loop, kick_task));
	for (;;) {
		pthread_mutex_lock(&l->kick_lock);
		struct rpc_conn *c = l->kick_head;
		if (c) {
			l->kick_head = c->kick_next;
			c->kicked = false;
		} else {
			l->kick_posted = false;
		}
		pthread_mutex_unlock(&l->kick_lock);
		if (!c)
			return;
		conn_revisit(c);
		rpc_conn_put(c);
	}
}

void rpc_conn_kick(struct rpc_conn *c)
{
	if (rpc_conn_on_own_loop(c)) {
		rpc_conn_flush_later(c);
		return;
	}
	struct rpc_loop *l = c->loop;
	bool post = false;
	pthread_mutex_lock(&l->kick_lock);
	if (!c->kicked) {
		c->kicked = true;
		atomic_fetch_add(&c->refs, 1);
		c->kick_next = l->kick_head;
		l->kick_head = c;
	}
	if (!l->kick_posted)
		post = l->kick_posted = true;
	pthread_mutex_unlock(&l->kick_lock);
	if (post)
		evloop_post_task(l->ev, &l->kick_task);
}

/* ------------------------------------------------------------ accepting */

struct handoff {
	struct rpc_loop *l;
	int fd;
	struct sockaddr_storage ss;
	socklen_t sl;
};

static void open_on_loop(void *arg)
{
	struct handoff *h = arg;
	struct rpc_transport *t = h->l->t;
	int rc = atomic_load(&t->stopping) ? -ESHUTDOWN : rpc_conn_open(h->l, h->fd, &h->ss, h->sl);
	if (rc < 0) {
		if (rc != -ESHUTDOWN && rpc_log_ratelimit(&t->log_refuse_ms))
			log_warn("dropping a new connection: %s", strerror(-rc));
		close(h->fd);
		atomic_fetch_sub(&h->l->assigned, 1);
		atomic_fetch_sub(&t->total_conns, 1);
	}
	free(h);
}

static void on_accept_resume(struct ev_timer *tm)
{
	struct rpc_transport *t =
	    (struct rpc_transport *)((char *)tm - offsetof(struct rpc_transport, accept_timer));
	if (t->lfd >= 0)
		evloop_watch_set(t->loops[0].ev, &t->listen_watch, EPOLLIN);
}

static void accept_pause(struct rpc_transport *t)
{
	evloop_watch_set(t->loops[0].ev, &t->listen_watch, 0);
	evloop_timer_start(t->loops[0].ev, &t->accept_timer, rpc_now_ms() + ACCEPT_BACKOFF_MS,
			   on_accept_resume);
}

/* The loop with the fewest connections, ties taken in turn. Plain round robin
 * would put every NFS connection of a client on one loop of two, since each
 * follows a short-lived MOUNT connection. */
static struct rpc_loop *pick_loop(struct rpc_transport *t)
{
	unsigned start = t->next_loop++ % t->nloops;
	struct rpc_loop *best = &t->loops[start];
	unsigned least = atomic_load(&best->assigned);
	for (unsigned i = 1; i < t->nloops && least > 0; i++) {
		struct rpc_loop *l = &t->loops[(start + i) % t->nloops];
		unsigned n = atomic_load(&l->assigned);
		if (n < least) {
			best = l;
			least = n;
		}
	}
	atomic_fetch_add(&best->assigned, 1);
	return best;
}

static void hand_over(struct rpc_transport *t, int fd, const struct sockaddr_storage *ss,
		      socklen_t sl)
{
	struct rpc_loop *l = pick_loop(t);
	struct handoff *h = malloc(sizeof(*h));
	if (h) {
		*h = (struct handoff){.l = l, .fd = fd, .ss = *ss, .sl = sl};
		if (l == &t->loops[0]) {
			open_on_loop(h);
			return;
		}
		if (evloop_post(l->ev, open_on_loop, h) == 0)
			return;
		free(h);
	}
	close(fd);
	atomic_fetch_sub(&l->assigned, 1);
	atomic_fetch_sub(&t->total_conns, 1);
}

static void on_listen(struct ev_watch *w, uint32_t events)
{
	struct rpc_transport *t =
	    (struct rpc_transport *)((char *)w - offsetof(struct rpc_transport, listen_watch));
	(void)events;
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(t->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (rpc_log_ratelimit(&t->log_refuse_ms))
				log_warn("accept failed: %s", strerror(errno));
			accept_pause(t);
			return;
		}
		if (atomic_load(&t->total_conns) >= t->cfg.max_conns) {
			if (rpc_log_ratelimit(&t->log_refuse_ms))
				log_warn("refusing a connection: %u connections open (max_conns)",
					 atomic_load(&t->total_conns));
			close(fd);
			continue;
		}
		atomic_fetch_add(&t->total_conns, 1);
		hand_over(t, fd, &ss, sl);
	}
}

static void on_udp(struct ev_watch *w, uint32_t events)
{
	(void)events;
	rpc_udp_read(((struct rpc_conn *)w)->t);
}

/* ------------------------------------------------------------ loops */

void rpc_loop_report_drained(struct rpc_loop *l)
{
	struct rpc_transport *t = l->t;
	if (!l->stop_seen || l->drain_reported || l->nconns > 0)
		return;
	l->drain_reported = true;
	pthread_mutex_lock(&t->lock);
	t->drained++;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

static void on_scan(struct ev_timer *tm)
{
	struct rpc_loop *l =
	    (struct rpc_loop *)((char *)tm - offsetof(struct rpc_loop, scan_timer));
	long long now = rpc_now_ms();
	rpc_conn_scan(l, now);
	rpc_loop_report_drained(l);
	evloop_timer_start(l->ev, &l->scan_timer, now + SCAN_INTERVAL_MS, on_scan);
}

static void begin_stop(void *arg)
{
	struct rpc_loop *l = arg;
	struct rpc_transport *t = l->t;
	struct rpc_conn *next;

	l->stop_seen = true;
	if (l->index == 0) {
		if (t->lfd >= 0) {
			evloop_unwatch(l->ev, &t->listen_watch);
			evloop_timer_stop(l->ev, &t->accept_timer);
			close(t->lfd);
			t->lfd = -1;
		}
		rpc_udp_update(t);
	}
	for (struct rpc_conn *c = l->conns; c; c = next) {
		next = c->next;
		atomic_fetch_add(&c->refs, 1);
		rpc_conn_update(c);
		rpc_conn_put(c);
	}
	rpc_loop_report_drained(l);
}

static void *loop_main(void *arg)
{
	struct rpc_loop *l = arg;
	char name[16];
	snprintf(name, sizeof(name), "mcfs-nfs/%u", l->index);
	thread_name(name);
	evloop_timer_start(l->ev, &l->scan_timer, rpc_now_ms() + SCAN_INTERVAL_MS, on_scan);
	evloop_run(l->ev);
	return NULL;
}

/* After the threads are gone: closes what is left, telling nobody. */
static void loop_teardown(struct rpc_loop *l)
{
	while (l->conns)
		rpc_conn_close(l->conns, "transport stopped");
	while (l->flush_head) {
		struct rpc_conn *c = l->flush_head;
		l->flush_head = c->flush_next;
		rpc_conn_put(c);
	}
	while (l->kick_head) {
		struct rpc_conn *c = l->kick_head;
		l->kick_head = c->kick_next;
		rpc_conn_put(c);
	}
}

/* ------------------------------------------------------------ setup */

static int resolve(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE,
				 .ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;

	if (getaddrinfo(addr, "0", &hints, &ai) != 0 || !ai)
		return -EINVAL;
	if (ai->ai_addrlen > sizeof(*ss)) {
		freeaddrinfo(ai);
		return -EINVAL;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int bound_socket(const struct sockaddr_storage *ss, socklen_t len, int type)
{
	int fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) != 0 ||
	    (type == SOCK_STREAM && listen(fd, SOMAXCONN) != 0)) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int udp_open(struct rpc_transport *t, int fd, const struct sockaddr_storage *ss,
		    socklen_t len)
{
	struct rpc_conn *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->t = t;
	u->loop = &t->loops[0];
	u->udp = true;
	u->fd = fd;
	u->watch.fd = -1;
	atomic_init(&u->refs, 1);
	pthread_mutex_init(&u->lock, NULL);
	u->local = *ss;
	u->local_len = len;
	t->udp = u;
	if (is_wildcard(ss)) {
		int one = 1;
		int rc = ss->ss_family == AF_INET
			     ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))
			     : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		t->udp_pktinfo = rc == 0;
	}
	return 0;
}

/* Binds TCP (and UDP on the same port); with port 0, retries until both are free. */
static int open_listeners(struct rpc_transport *t)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = resolve(t->cfg.listen_addr ? t->cfg.listen_addr : "0.0.0.0", &ss, &len);
	if (rc < 0)
		return rc;

	for (int attempt = 0; attempt < (t->cfg.port ? 1 : 32); attempt++) {
		set_port(&ss, t->cfg.port);
		int lfd = bound_socket(&ss, len, SOCK_STREAM);
		if (lfd < 0)
			return lfd;
		struct sockaddr_storage b;
		socklen_t blen = sizeof(b);
		getsockname(lfd, (struct sockaddr *)&b, &blen);
		t->port = ntohs(b.ss_family == AF_INET ? ((struct sockaddr_in *)&b)->sin_port
						       : ((struct sockaddr_in6 *)&b)->sin6_port);
		if (!t->cfg.udp) {
			t->lfd = lfd;
			return 0;
		}
		set_port(&ss, t->port);
		int ufd = bound_socket(&ss, len, SOCK_DGRAM);
		if (ufd >= 0) {
			t->lfd = lfd;
			rc = udp_open(t, ufd, &ss, len);
			if (rc < 0)
				close(ufd);
			return rc;
		}
		close(lfd);
		if (ufd != -EADDRINUSE)
			return ufd;
	}
	return -EADDRINUSE;
}

static int setup_loop(struct rpc_transport *t, unsigned i)
{
	struct rpc_loop *l = &t->loops[i];
	l->t = t;
	l->index = i;
	atomic_init(&l->assigned, 0);
	pthread_mutex_init(&l->kick_lock, NULL);
	l->kick_task.fn = loop_kicks;
	l->rbuf = malloc(RPC_READ_CHUNK);
	if (!l->rbuf)
		return -ENOMEM;
	return evloop_create(&l->ev);
}

static int setup_loops(struct rpc_transport *t)
{
	for (unsigned i = 0; i < t->nloops; i++) {
		int rc = setup_loop(t, i);
		if (rc < 0)
			return rc;
	}
	t->ubuf = malloc(RPC_UDP_MAX_DATAGRAM + 1);
	if (!t->ubuf)
		return -ENOMEM;
	int rc = evloop_watch(t->loops[0].ev, &t->listen_watch, t->lfd, EPOLLIN, on_listen);
	if (rc == 0 && t->udp)
		rc = evloop_watch(t->loops[0].ev, &t->udp->watch, t->udp->fd, EPOLLIN, on_udp);
	return rc;
}

static void fill_defaults(struct rpc_transport_config *c)
{
	if (c->loops == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		c->loops = n > 0 ? (unsigned)n : 1;
	}
	if (c->loops > RPC_MAX_LOOPS)
		c->loops = RPC_MAX_LOOPS;
	if (c->max_record == 0)
		c->max_record = RPC_DEFAULT_MAX_RECORD;
	if (c->max_record > RPC_MAX_RECORD_LIMIT)
		c->max_record = RPC_MAX_RECORD_LIMIT;
	if (c->max_inflight == 0)
		c->max_inflight = RPC_DEFAULT_MAX_INFLIGHT;
	if (c->max_conns == 0)
		c->max_conns = RPC_DEFAULT_MAX_CONNS;
}

static int start_threads(struct rpc_transport *t)
{
	for (unsigned i = 0; i < t->nloops; i++) {
		struct rpc_loop *l = &t->loops[i];
		int rc = pthread_create(&l->thread, NULL, loop_main, l);
		if (rc != 0)
			return -rc;
		l->started = true;
	}
	return 0;
}

static void stop_threads(struct rpc_transport *t)
{
	for (unsigned i = 0; i < t->nloops; i++) {
		struct rpc_loop *l = &t->loops[i];
		if (!l->started)
			continue;
		evloop_stop(l->ev);
		pthread_join(l->thread, NULL);
		l->started = false;
	}
}

/* Frees what start() built; every thread is stopped and no request is live. */
static void transport_free(struct rpc_transport *t)
{
	for (unsigned i = 0; i < t->nloops; i++) {
		struct rpc_loop *l = &t->loops[i];
		loop_teardown(l);
		if (l->ev)
			evloop_destroy(l->ev);
		free(l->rbuf);
		pthread_mutex_destroy(&l->kick_lock);
	}
	if (t->udp) {
		if (t->udp->fd >= 0)
			close(t->udp->fd);
		rpc_conn_put(t->udp);
	}
	if (t->lfd >= 0)
		close(t->lfd);
	free(t->ubuf);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct rpc_transport *transport_alloc(const struct rpc_transport_config *cfg)
{
	struct rpc_transport *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *cfg;
	fill_defaults(&t->cfg);
	t->nloops = t->cfg.loops;
	t->lfd = -1;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&t->stopping, false);
	atomic_init(&t->aborting, false);
	atomic_init(&t->total_conns, 0);
	return t;
}

int rpc_transport_start(const struct rpc_transport_config *cfg, rpc_handler_fn handler, void *arg,
			struct rpc_transport **out)
{
	if (!cfg || !handler || !out)
		return -EINVAL;
	struct rpc_transport *t = transport_alloc(cfg);
	if (!t)
		return -ENOMEM;
	t->handler = handler;
	t->handler_arg = arg;
	int rc = open_listeners(t);
	t->cfg.listen_addr = NULL; /* the caller's string need not outlive start() */
	if (rc == 0)
		rc = setup_loops(t);
	if (rc == 0)
		rc = start_threads(t);
	if (rc < 0) {
		stop_threads(t);
		transport_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

uint16_t rpc_transport_port(const struct rpc_transport *t)
{
	return t ? t->port : 0;
}

/* Waits until cond holds or the deadline passes (t->lock held). */
static bool wait_until_locked(struct rpc_transport *t, bool (*cond)(struct rpc_transport *),
			      long long deadline_ms)
{
	while (!cond(t)) {
		long long left = deadline_ms - rpc_now_ms();
		if (left <= 0)
			return false;
		struct timespec ts = deadline_after_ms(CLOCK_MONOTONIC, left);
		pthread_cond_timedwait(&t->cond, &t->lock, &ts);
	}
	return true;
}

static bool quiet(struct rpc_transport *t)
{
	return t->drained == t->nloops && t->live == 0;
}

void rpc_transport_stop(struct rpc_transport *t)
{
	if (!t)
		return;
	atomic_store(&t->stopping, true);
	for (unsigned i = 0; i < t->nloops; i++) {
		while (evloop_post(t->loops[i].ev, begin_stop, &t->loops[i]) < 0)
			usleep(1000); /* no memory for the message: try again */
	}
	pthread_mutex_lock(&t->lock);
	bool ok = wait_until_locked(t, quiet, rpc_now_ms() + RPC_STOP_DRAIN_MS);
	unsigned long live = t->live;
	pthread_mutex_unlock(&t->lock);
	if (!ok) {
		log_warn("transport stop: %lu requests still unanswered after %d s, closing anyway",
			 live, RPC_STOP_DRAIN_MS / 1000);
		atomic_store(&t->aborting, true);
	}
	stop_threads(t);
	pthread_mutex_lock(&t->lock);
	live = t->live;
	pthread_mutex_unlock(&t->lock);
	if (live > 0) {
		/* Parked requests may still be woken onto these loops: leave
		 * them allocated rather than free memory something may touch. */
		log_warn("transport stop: %lu requests never finished; their memory is left", live);
		return;
	}
	transport_free(t);
}

void rpc_transport_stats(struct rpc_transport *t, struct rpc_transport_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!t)
		return;
	out->conns_accepted = atomic_load(&t->st.conns_accepted);
	out->conns_open = atomic_load(&t->st.conns_open);
	out->requests = atomic_load(&t->st.requests);
	out->replies = atomic_load(&t->st.replies);
	out->dropped = atomic_load(&t->st.dropped);
	out->oversize = atomic_load(&t->st.oversize);
	out->bad_records = atomic_load(&t->st.bad_records);
	out->file_replies = atomic_load(&t->st.file_replies);
	out->file_bytes = atomic_load(&t->st.file_bytes);
}
