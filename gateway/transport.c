/*
 * RPC transport: listening sockets, the epoll event loop, start and stop.
 * TCP connections are in transport_conn.c, requests, workers and UDP in
 * transport_req.c; the threading rules are in transport_impl.h.
 */
#include "transport_impl.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS	  1024
#define EPOLL_BATCH	  64
#define ACCEPTS_PER_EVENT 64
#define KICKS_PER_ROUND	  4096
#define SCAN_INTERVAL_MS  1000
/* After EMFILE and the like, the listening socket stays readable: back off. */
#define ACCEPT_BACKOFF_MS 100

long long rpc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

void rpc_wake(struct rpc_transport *t)
{
	uint64_t one = 1;
	/* EAGAIN means the counter is already non-zero: the loop wakes anyway. */
	ssize_t r = write(t->wakefd, &one, sizeof(one));
	(void)r;
}

void rpc_conn_kick(struct rpc_conn *c)
{
	struct rpc_transport *t = c->t;
	bool wake = false;

	pthread_mutex_lock(&t->kick_lock);
	if (!c->kicked) {
		c->kicked = true;
		atomic_fetch_add(&c->refs, 1);
		c->kick_next = t->kick_head;
		t->kick_head = c;
		wake = true;
	}
	pthread_mutex_unlock(&t->kick_lock);
	if (wake)
		rpc_wake(t);
}

void rpc_conn_put(struct rpc_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	struct out_chunk *o = c->out_head;
	while (o) {
		struct out_chunk *next = o->next;
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

/* ------------------------------------------------------------ event loop */

static void accept_pause(struct rpc_transport *t)
{
	struct epoll_event ev = {.events = 0, .data.ptr = &t->listen_src};
	epoll_ctl(t->epfd, EPOLL_CTL_MOD, t->lfd, &ev);
	t->accept_resume_ms = rpc_now_ms() + ACCEPT_BACKOFF_MS;
}

static void loop_accept(struct rpc_transport *t)
{
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
		if (t->nconns >= t->cfg.max_conns) {
			if (rpc_log_ratelimit(&t->log_refuse_ms))
				log_warn("refusing a connection: %u connections open (max_conns)",
					 t->nconns);
			close(fd);
			continue;
		}
		int rc = rpc_conn_open(t, fd, &ss, sl);
		if (rc < 0) {
			if (rpc_log_ratelimit(&t->log_refuse_ms))
				log_warn("dropping a new connection: %s", strerror(-rc));
			close(fd);
		}
	}
}

static void loop_kicks(struct rpc_transport *t)
{
	for (int i = 0; i < KICKS_PER_ROUND; i++) {
		pthread_mutex_lock(&t->kick_lock);
		struct rpc_conn *c = t->kick_head;
		if (c) {
			t->kick_head = c->kick_next;
			c->kicked = false;
		}
		pthread_mutex_unlock(&t->kick_lock);
		if (!c)
			return;
		if (c->udp)
			rpc_udp_update(t);
		else
			rpc_conn_update(c);
		rpc_conn_put(c);
	}
	rpc_wake(t); /* more left: let socket events in first */
}

static void loop_begin_stop(struct rpc_transport *t)
{
	struct rpc_conn *next;

	t->stop_seen = true;
	if (t->lfd >= 0) {
		epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->lfd, NULL);
		close(t->lfd);
		t->lfd = -1;
	}
	rpc_udp_update(t);
	for (struct rpc_conn *c = t->conns; c; c = next) {
		next = c->next;
		rpc_conn_update(c);
	}
}

static void loop_timers(struct rpc_transport *t, long long now)
{
	if (t->accept_resume_ms && now >= t->accept_resume_ms) {
		t->accept_resume_ms = 0;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &t->listen_src};
		if (t->lfd >= 0)
			epoll_ctl(t->epfd, EPOLL_CTL_MOD, t->lfd, &ev);
	}
	if (now >= t->next_scan_ms) {
		rpc_conn_scan(t, now);
		t->next_scan_ms = now + SCAN_INTERVAL_MS;
	}
	if (t->stop_seen && t->nconns == 0 && !t->drained) {
		pthread_mutex_lock(&t->lock);
		t->drained = true;
		pthread_cond_broadcast(&t->cond);
		pthread_mutex_unlock(&t->lock);
	}
}

static int loop_timeout(struct rpc_transport *t, long long now)
{
	long long ms = t->next_scan_ms - now;
	if (t->accept_resume_ms && t->accept_resume_ms - now < ms)
		ms = t->accept_resume_ms - now;
	return ms < 0 ? 0 : (int)ms;
}

static void loop_event(struct rpc_transport *t, struct epoll_event *ev, bool *woken)
{
	struct ev_src *src = ev->data.ptr;

	switch (src->kind) {
	case EV_LISTEN:
		loop_accept(t);
		break;
	case EV_UDP:
		rpc_udp_read(t);
		break;
	case EV_WAKE: {
		uint64_t v;
		ssize_t r = read(t->wakefd, &v, sizeof(v));
		(void)r;
		*woken = true;
		break;
	}
	case EV_CONN: {
		struct rpc_conn *c = (struct rpc_conn *)src;
		atomic_fetch_add(&c->refs, 1); /* closing it must not free it under us */
		rpc_conn_on_event(c, ev->events);
		rpc_conn_put(c);
		break;
	}
	}
}

static void loop_teardown(struct rpc_transport *t)
{
	while (t->conns)
		rpc_conn_close(t->conns, "transport stopped");
	if (t->lfd >= 0) {
		close(t->lfd);
		t->lfd = -1;
	}
	if (t->udp) {
		struct rpc_conn *u = t->udp;
		pthread_mutex_lock(&u->lock);
		int fd = u->fd;
		u->fd = -1;
		u->dead = true;
		pthread_mutex_unlock(&u->lock);
		close(fd);
	}
}

static void *loop_main(void *arg)
{
	struct rpc_transport *t = arg;
	struct epoll_event evs[EPOLL_BATCH];

	t->next_scan_ms = rpc_now_ms() + SCAN_INTERVAL_MS;
	while (!atomic_load(&t->exiting)) {
		int n = epoll_wait(t->epfd, evs, EPOLL_BATCH, loop_timeout(t, rpc_now_ms()));
		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			break;
		}
		bool woken = false;
		for (int i = 0; i < n; i++)
			loop_event(t, &evs[i], &woken);
		/* After the batch: a kick may close (and free) a connection still in evs. */
		if (woken)
			loop_kicks(t);
		if (atomic_load(&t->stopping) && !t->stop_seen)
			loop_begin_stop(t);
		loop_timers(t, rpc_now_ms());
	}
	loop_teardown(t);
	return NULL;
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
	u->src.kind = EV_UDP;
	u->t = t;
	u->udp = true;
	u->fd = fd;
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

static int epoll_add(struct rpc_transport *t, int fd, struct ev_src *src)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = src};
	return epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

static int setup_loop(struct rpc_transport *t)
{
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->epfd < 0 || t->wakefd < 0)
		return -errno;
	t->rbuf = malloc(RPC_READ_CHUNK);
	t->ubuf = malloc(RPC_UDP_MAX_DATAGRAM + 1);
	if (!t->rbuf || !t->ubuf)
		return -ENOMEM;
	t->listen_src.kind = EV_LISTEN;
	t->wake_src.kind = EV_WAKE;
	int rc = epoll_add(t, t->wakefd, &t->wake_src);
	if (rc == 0)
		rc = epoll_add(t, t->lfd, &t->listen_src);
	if (rc == 0 && t->udp) {
		rc = epoll_add(t, t->udp->fd, &t->udp->src);
		t->udp->ev_mask = EPOLLIN;
	}
	return rc;
}

static void fill_defaults(struct rpc_transport_config *c)
{
	if (c->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		c->workers = n > 2 ? (unsigned)n * 2 : 4;
	}
	if (c->workers > MAX_WORKERS)
		c->workers = MAX_WORKERS;
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
	t->workers = calloc(t->cfg.workers, sizeof(*t->workers));
	if (!t->workers)
		return -ENOMEM;
	for (unsigned i = 0; i < t->cfg.workers; i++) {
		int rc = pthread_create(&t->workers[i], NULL, rpc_worker_main, t);
		if (rc != 0)
			return -rc;
		t->nworkers = i + 1;
	}
	int rc = pthread_create(&t->loop_thread, NULL, loop_main, t);
	if (rc != 0)
		return -rc;
	t->loop_started = true;
	return 0;
}

static void stop_workers(struct rpc_transport *t)
{
	pthread_mutex_lock(&t->wq_lock);
	t->wq_stop = true;
	pthread_cond_broadcast(&t->wq_cond);
	pthread_mutex_unlock(&t->wq_lock);
	for (unsigned i = 0; i < t->nworkers; i++)
		pthread_join(t->workers[i], NULL);
	t->nworkers = 0;
}

/* Frees what start() built; every thread is stopped and no request is live. */
static void transport_free(struct rpc_transport *t)
{
	/* Kicks that arrived after the loop exited still hold references. */
	while (t->kick_head) {
		struct rpc_conn *c = t->kick_head;
		t->kick_head = c->kick_next;
		rpc_conn_put(c);
	}
	if (t->udp) {
		if (t->udp->fd >= 0)
			close(t->udp->fd);
		rpc_conn_put(t->udp);
	}
	if (t->lfd >= 0)
		close(t->lfd);
	if (t->wakefd >= 0)
		close(t->wakefd);
	if (t->epfd >= 0)
		close(t->epfd);
	free(t->rbuf);
	free(t->ubuf);
	free(t->workers);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->wq_cond);
	pthread_mutex_destroy(&t->wq_lock);
	pthread_mutex_destroy(&t->kick_lock);
	free(t);
}

static struct rpc_transport *transport_alloc(const struct rpc_transport_config *cfg)
{
	struct rpc_transport *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *cfg;
	fill_defaults(&t->cfg);
	t->epfd = t->wakefd = t->lfd = -1;
	pthread_mutex_init(&t->kick_lock, NULL);
	pthread_mutex_init(&t->wq_lock, NULL);
	pthread_cond_init(&t->wq_cond, NULL);
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&t->stopping, false);
	atomic_init(&t->exiting, false);
	atomic_init(&t->aborting, false);
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
		rc = setup_loop(t);
	if (rc == 0)
		rc = start_threads(t);
	if (rc < 0) {
		if (t->loop_started) {
			atomic_store(&t->exiting, true);
			rpc_wake(t);
			pthread_join(t->loop_thread, NULL);
		}
		stop_workers(t);
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
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		long long left = deadline_ms - ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		if (left <= 0)
			return false;
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&t->cond, &t->lock, &ts);
	}
	return true;
}

static bool quiet(struct rpc_transport *t)
{
	return t->drained && t->live == 0;
}

static bool no_live(struct rpc_transport *t)
{
	return t->live == 0;
}

void rpc_transport_stop(struct rpc_transport *t)
{
	if (!t)
		return;
	atomic_store(&t->stopping, true);
	rpc_wake(t);
	pthread_mutex_lock(&t->lock);
	bool ok = wait_until_locked(t, quiet, rpc_now_ms() + RPC_STOP_DRAIN_MS);
	unsigned long live = t->live;
	pthread_mutex_unlock(&t->lock);
	if (!ok) {
		log_warn("transport stop: %lu requests still unanswered after %d s, closing anyway",
			 live, RPC_STOP_DRAIN_MS / 1000);
		atomic_store(&t->aborting, true);
	}
	atomic_store(&t->exiting, true);
	rpc_wake(t);
	pthread_join(t->loop_thread, NULL);
	stop_workers(t);

	/* A handler may have handed its request to another thread: it is still ours to free. */
	pthread_mutex_lock(&t->lock);
	while (!wait_until_locked(t, no_live, rpc_now_ms() + RPC_STOP_DRAIN_MS))
		log_warn("transport stop: waiting for %lu requests to be released", t->live);
	pthread_mutex_unlock(&t->lock);
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
}
