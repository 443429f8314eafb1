/* The delay relay: each connection is one thread polling both sockets, with
 * a queue of timestamped chunks per direction. A chunk is sent when it is
 * due, not after the previous one's delay, so back-to-back traffic keeps
 * its pace. Threads are woken (eventfd) to see stop, pause and cut. */
#include "delay_relay.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF	   65536
#define READS_PER_WAKE	   16
#define CONNECT_TIMEOUT_MS 5000

enum chunk_kind { CH_DATA, CH_EOF, CH_RESET };

struct chunk {
	struct chunk *next;
	int64_t due_us;
	enum chunk_kind kind;
	size_t len, off;
	char data[];
};

/* Bytes read from one socket, waiting to be written to the other. */
struct queue {
	struct chunk *head, *tail;
	size_t bytes;
	bool src_done; /* EOF or error read: read no more */
	bool dst_shut; /* the EOF was delivered (shutdown SHUT_WR) */
};

struct conn {
	struct delay_relay *relay;
	struct conn *next;
	pthread_t tid;
	int fd[2];	   /* 0: the accepted client, 1: the target */
	struct queue q[2]; /* q[d]: read from fd[d], for fd[1 - d] */
	int wake;
	unsigned cut_gen;
	bool done;
	char buf[READ_BUF];
};

struct delay_relay {
	int listen_fd, port, wake;
	struct sockaddr_storage target;
	socklen_t target_len;
	pthread_t acceptor;
	pthread_mutex_t lock; /* conns, active, accepted, done flags */
	struct conn *conns;
	int active;
	long accepted;
	atomic_uint delay_ms;
	atomic_uint cut_gen;
	atomic_bool paused, stopping;
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void kick(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof(one));
	(void)n;
}

static void drain(int fd)
{
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));
	(void)n;
}

static void wake_all(struct delay_relay *r)
{
	kick(r->wake);
	pthread_mutex_lock(&r->lock);
	for (struct conn *c = r->conns; c; c = c->next)
		kick(c->wake);
	pthread_mutex_unlock(&r->lock);
}

static void set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Closes with RST instead of FIN, so the peer sees a broken link. */
static void close_reset(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* ---------------------------------------------------------------- queues */

static int enqueue(struct queue *q, enum chunk_kind kind, const char *data, size_t len,
		   int64_t due_us)
{
	struct chunk *ch = malloc(sizeof(*ch) + len);
	if (!ch)
		return -ENOMEM;
	*ch = (struct chunk){.due_us = due_us, .kind = kind, .len = len};
	if (len)
		memcpy(ch->data, data, len);
	if (q->tail)
		q->tail->next = ch;
	else
		q->head = ch;
	q->tail = ch;
	q->bytes += len;
	return 0;
}

static void pop(struct queue *q)
{
	struct chunk *ch = q->head;
	q->head = ch->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= ch->len;
	free(ch);
}

static void queue_clear(struct queue *q)
{
	while (q->head)
		pop(q);
}

/* Sends what is due in direction d. 0 (done, or the socket is full), or
 * -errno to abort the connection. */
static int deliver(struct conn *c, int d, int64_t now)
{
	struct queue *q = &c->q[d];
	int dst = c->fd[1 - d];
	while (q->head && q->head->due_us <= now) {
		struct chunk *ch = q->head;
		if (ch->kind == CH_RESET)
			return -ECONNRESET;
		if (ch->kind == CH_EOF) {
			shutdown(dst, SHUT_WR);
			q->dst_shut = true;
		} else {
			ssize_t n = send(dst, ch->data + ch->off, ch->len - ch->off, MSG_NOSIGNAL);
			if (n < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
					   ? 0
					   : -errno;
			ch->off += (size_t)n;
			if (ch->off < ch->len)
				return 0;
		}
		pop(q);
	}
	return 0;
}

/* Reads what fd[d] has now; each read becomes one chunk, due delay_ms later. */
static int receive(struct conn *c, int d)
{
	struct queue *q = &c->q[d];
	for (int i = 0; i < READS_PER_WAKE && !q->src_done && q->bytes < RELAY_QUEUE_MAX; i++) {
		ssize_t n = recv(c->fd[d], c->buf, sizeof(c->buf), 0);
		int64_t due = mono_us() + (int64_t)atomic_load(&c->relay->delay_ms) * 1000;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		enum chunk_kind kind = n > 0 ? CH_DATA : n == 0 ? CH_EOF : CH_RESET;
		if (kind != CH_DATA)
			q->src_done = true;
		if (enqueue(q, kind, c->buf, n > 0 ? (size_t)n : 0, due) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---------------------------------------------------------------- connections */

/* Poll events for both sockets; returns when the next chunk falls due
 * (INT64_MAX: nothing scheduled). */
static int64_t set_events(struct conn *c, bool paused, int64_t now, struct pollfd pfd[3])
{
	int64_t next = INT64_MAX;
	for (int d = 0; d < 2; d++) {
		const struct queue *in = &c->q[d], *out = &c->q[1 - d];
		short ev = 0;
		if (!paused && !in->src_done && in->bytes < RELAY_QUEUE_MAX)
			ev |= POLLIN;
		if (!paused && out->head && out->head->due_us <= now)
			ev |= POLLOUT;
		else if (!paused && out->head && out->head->due_us < next)
			next = out->head->due_us;
		/* A socket we want nothing from may sit in POLLHUP: leave it out. */
		pfd[d] = (struct pollfd){.fd = ev ? c->fd[d] : -1, .events = ev};
	}
	pfd[2] = (struct pollfd){.fd = c->wake, .events = POLLIN};
	return next;
}

static int wait_events(struct conn *c, struct pollfd pfd[3], int64_t next, int64_t now)
{
	struct timespec ts, *tp = NULL;
	if (next != INT64_MAX) {
		int64_t us = next > now ? next - now : 0;
		ts = (struct timespec){.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
		tp = &ts;
	}
	if (ppoll(pfd, 3, tp, NULL) < 0 && errno != EINTR)
		return -errno;
	if (pfd[2].revents)
		drain(c->wake);
	return 0;
}

/* Forwards until both directions are closed (0) or something breaks (<0). */
static int conn_loop(struct conn *c)
{
	struct delay_relay *r = c->relay;
	for (;;) {
		if (atomic_load(&r->stopping) || atomic_load(&r->cut_gen) != c->cut_gen)
			return -ECONNABORTED;
		bool paused = atomic_load(&r->paused);
		int64_t now = mono_us();
		for (int d = 0; d < 2 && !paused; d++) {
			int e = deliver(c, d, now);
			if (e < 0)
				return e;
		}
		if (c->q[0].dst_shut && c->q[1].dst_shut)
			return 0;
		struct pollfd pfd[3];
		int64_t next = set_events(c, paused, now, pfd);
		int e = wait_events(c, pfd, next, now);
		for (int d = 0; d < 2 && e == 0; d++)
			if (pfd[d].revents && (pfd[d].events & POLLIN))
				e = receive(c, d);
		if (e < 0)
			return e;
	}
}

static int await_connect(struct conn *c, int fd)
{
	struct delay_relay *r = c->relay;
	int64_t deadline = mono_us() + (int64_t)CONNECT_TIMEOUT_MS * 1000;
	for (;;) {
		if (atomic_load(&r->stopping) || atomic_load(&r->cut_gen) != c->cut_gen)
			return -ECONNABORTED;
		int64_t left = deadline - mono_us();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd[2] = {{.fd = fd, .events = POLLOUT},
					{.fd = c->wake, .events = POLLIN}};
		if (poll(pfd, 2, (int)(left / 1000) + 1) < 0 && errno != EINTR)
			return -errno;
		if (pfd[1].revents)
			drain(c->wake);
		if (pfd[0].revents) {
			int err = 0;
			socklen_t len = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				return -errno;
			return -err;
		}
	}
}

static int connect_target(struct conn *c)
{
	struct delay_relay *r = c->relay;
	int fd = socket(r->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	c->fd[1] = fd;
	set_nodelay(fd);
	if (connect(fd, (struct sockaddr *)&r->target, r->target_len) == 0)
		return 0;
	return errno == EINPROGRESS ? await_connect(c, fd) : -errno;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	int r = connect_target(c);
	if (r == 0)
		r = conn_loop(c);
	for (int d = 0; d < 2; d++) {
		if (c->fd[d] < 0)
			continue;
		if (r < 0)
			close_reset(c->fd[d]);
		else
			close(c->fd[d]);
		c->fd[d] = -1;
		queue_clear(&c->q[d]);
	}
	pthread_mutex_lock(&c->relay->lock);
	c->done = true;
	c->relay->active--;
	kick(c->relay->wake); /* the acceptor joins it */
	pthread_mutex_unlock(&c->relay->lock);
	return NULL;
}

static void conn_free(struct conn *c)
{
	pthread_join(c->tid, NULL);
	close(c->wake);
	free(c);
}

/* Takes over fd: starts its thread, or closes it. */
static void conn_start(struct delay_relay *r, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c || (c->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		free(c);
		close_reset(fd);
		return;
	}
	c->relay = r;
	c->fd[0] = fd;
	c->fd[1] = -1;
	set_nodelay(fd);
	pthread_mutex_lock(&r->lock);
	c->cut_gen = atomic_load(&r->cut_gen);
	if (pthread_create(&c->tid, NULL, conn_main, c) != 0) {
		pthread_mutex_unlock(&r->lock);
		close(c->wake);
		free(c);
		close_reset(fd);
		return;
	}
	c->next = r->conns;
	r->conns = c;
	r->active++;
	r->accepted++;
	pthread_mutex_unlock(&r->lock);
}

/* Joins and frees finished connections. */
static void reap_done(struct delay_relay *r)
{
	struct conn *done = NULL;
	pthread_mutex_lock(&r->lock);
	for (struct conn **pp = &r->conns; *pp;) {
		struct conn *c = *pp;
		if (c->done) {
			*pp = c->next;
			c->next = done;
			done = c;
		} else {
			pp = &c->next;
		}
	}
	pthread_mutex_unlock(&r->lock);
	while (done) {
		struct conn *c = done;
		done = c->next;
		conn_free(c);
	}
}

static void *accept_main(void *arg)
{
	struct delay_relay *r = arg;
	while (!atomic_load(&r->stopping)) {
		struct pollfd pfd[2] = {{.fd = r->listen_fd, .events = POLLIN},
					{.fd = r->wake, .events = POLLIN}};
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			drain(r->wake);
		reap_done(r);
		if (!(pfd[0].revents & POLLIN) || atomic_load(&r->stopping))
			continue;
		int fd = accept4(r->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			conn_start(r, fd);
	}
	return NULL;
}

/* ---------------------------------------------------------------- the relay */

static int resolve(const char *host, int port, int flags, struct sockaddr_storage *ss,
		   socklen_t *len)
{
	char service[16];
	snprintf(service, sizeof(service), "%d", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = flags | AI_NUMERICSERV};
	struct addrinfo *res;
	if (getaddrinfo(host, service, &hints, &res) != 0 || !res)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int open_listener(struct delay_relay *r, const char *listen_addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int e = resolve(listen_addr, 0, AI_PASSIVE | AI_NUMERICHOST, &ss, &len);
	if (e < 0)
		return e;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r->listen_fd = fd;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	r->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static void relay_free(struct delay_relay *r)
{
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	if (r->wake >= 0)
		close(r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int delay_relay_start(struct delay_relay **out, const char *listen_addr, const char *target_addr,
		      int target_port, unsigned delay_ms)
{
	*out = NULL;
	struct delay_relay *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->listen_fd = r->wake = -1;
	pthread_mutex_init(&r->lock, NULL);
	atomic_init(&r->delay_ms, delay_ms);
	atomic_init(&r->cut_gen, 0);
	atomic_init(&r->paused, false);
	atomic_init(&r->stopping, false);
	int e = resolve(target_addr, target_port, 0, &r->target, &r->target_len);
	if (e == 0)
		e = open_listener(r, listen_addr);
	if (e == 0 && (r->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		e = -errno;
	if (e == 0)
		e = -pthread_create(&r->acceptor, NULL, accept_main, r);
	if (e < 0) {
		relay_free(r);
		return e;
	}
	*out = r;
	return 0;
}

int delay_relay_port(const struct delay_relay *r)
{
	return r->port;
}

void delay_relay_set_delay(struct delay_relay *r, unsigned delay_ms)
{
	atomic_store(&r->delay_ms, delay_ms);
}

void delay_relay_set_paused(struct delay_relay *r, bool paused)
{
	atomic_store(&r->paused, paused);
	wake_all(r);
}

void delay_relay_cut(struct delay_relay *r)
{
	atomic_fetch_add(&r->cut_gen, 1);
	wake_all(r);
}

int delay_relay_connections(struct delay_relay *r)
{
	pthread_mutex_lock(&r->lock);
	int n = r->active;
	pthread_mutex_unlock(&r->lock);
	return n;
}

long delay_relay_accepted(struct delay_relay *r)
{
	pthread_mutex_lock(&r->lock);
	long n = r->accepted;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void delay_relay_stop(struct delay_relay *r)
{
	if (!r)
		return;
	atomic_store(&r->stopping, true);
	wake_all(r);
	pthread_join(r->acceptor, NULL);
	/* The acceptor is gone: nobody else walks the list now. */
	while (r->conns) {
		struct conn *c = r->conns;
		r->conns = c->next;
		conn_free(c);
	}
	relay_free(r);
}
