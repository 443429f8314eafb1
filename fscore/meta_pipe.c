#include "meta_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coro.h"
#include "log.h"
#include "meta_reply.h"

/* One recv() into the reader at most this much. */
#define READ_CHUNK (64 * 1024)
/* Replies handed to one request at most. */
#define MAX_WANT 4

static const char ROLE_CMD[] = "*1\r\n$4\r\nROLE\r\n";

enum pipe_state { PIPE_CLOSED, PIPE_CONNECTING, PIPE_READY };

struct pipe_req {
	struct pipe_req *next;
	struct coro *co;
	int want, got;
	redisReply **replies;
	int err;
	long long deadline_ms;
	/* A command whose caller needs the replication offset after it: once
	 * answered it waits, off the queue, for the ROLE sent after its round. */
	bool needs_offset, answered;
	struct pipe_req *next_waiter;
	/* That ROLE (allocated by the pipe, no coroutine waits on it): the
	 * commands it answers for. */
	bool is_role;
	struct pipe_req *waiters;
	redisReply *role_reply;
};

struct meta_pipe {
	struct evloop *loop; /* NULL once the loop is gone */
	meta_pipe_connect_fn connect;
	void *connect_arg;
	unsigned timeout_ms;
	enum pipe_state state;
	unsigned gen; /* bumped by every failure: a connect started before it is stale */
	int fd;
	struct ev_watch watch;
	struct ev_hook flush_hook;
	struct ev_timer timer;
	struct ev_cleanup cleanup;
	redisReader *reader;
	char *out;
	size_t out_len, out_cap, out_off;
	struct pipe_req *head, *tail;
	/* Commands that need the offset, queued since the last ROLE. */
	struct pipe_req *offset_head, *offset_tail;
	void (*fail_fn)(void *arg);
	void *fail_arg;
	void (*offset_fn)(void *arg, const redisReply *role);
	void *offset_arg;
};

static void on_timer(struct ev_timer *t);

static void pipe_close_fd(struct meta_pipe *p)
{
	if (p->fd < 0)
		return;
	if (p->loop)
		evloop_unwatch(p->loop, &p->watch);
	close(p->fd);
	p->fd = -1;
}

/* A request gets err instead of its replies: its command may or may not
 * have run, and the caller tries again (mutating scripts run once). */
static void req_fail(struct pipe_req *r, int err)
{
	for (int i = 0; i < r->got; i++) {
		meta_reply_free(r->replies[i]);
		r->replies[i] = NULL;
	}
	r->got = 0;
	r->err = err;
	coro_wake(r->co);
}

/* The connection is lost: every request waiting on it gets err. */
static void pipe_fail(struct meta_pipe *p, int err)
{
	if (p->fail_fn && p->state != PIPE_CLOSED)
		p->fail_fn(p->fail_arg);
	pipe_close_fd(p);
	p->state = PIPE_CLOSED;
	p->gen++;
	p->out_len = p->out_off = 0;
	if (p->reader) {
		redisReaderFree(p->reader);
		p->reader = NULL;
	}
	if (p->loop)
		evloop_timer_stop(p->loop, &p->timer);
	/* Answered but with no ROLE queued yet: on no queue but this one (a
	 * round always queues its ROLE before it reads replies; kept safe). */
	for (struct pipe_req *w = p->offset_head; w; w = w->next_waiter)
		if (w->answered)
			req_fail(w, err);
	p->offset_head = p->offset_tail = NULL;
	struct pipe_req *r = p->head;
	p->head = p->tail = NULL;
	while (r) {
		struct pipe_req *next = r->next;
		if (r->is_role) {
			/* Those still unanswered were failed above, in queue order. */
			for (struct pipe_req *w = r->waiters; w; w = w->next_waiter)
				if (w->answered)
					req_fail(w, err);
			meta_reply_free(r->role_reply);
			free(r);
		} else {
			req_fail(r, err);
		}
		r = next;
	}
}

static void loop_gone(struct ev_cleanup *c)
{
	struct meta_pipe *p = (struct meta_pipe *)((char *)c - offsetof(struct meta_pipe, cleanup));
	pipe_fail(p, -ESHUTDOWN);
	p->loop = NULL;
}

struct meta_pipe *meta_pipe_new(struct evloop *l, meta_pipe_connect_fn connect, void *arg,
				unsigned timeout_ms)
{
	struct meta_pipe *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->loop = l;
	p->connect = connect;
	p->connect_arg = arg;
	p->timeout_ms = timeout_ms;
	p->fd = -1;
	p->watch.fd = -1;
	evloop_on_destroy(l, &p->cleanup, loop_gone);
	return p;
}

void meta_pipe_on_fail(struct meta_pipe *p, void (*fn)(void *arg), void *arg)
{
	p->fail_fn = fn;
	p->fail_arg = arg;
}

void meta_pipe_on_offset(struct meta_pipe *p, void (*fn)(void *arg, const redisReply *role),
			 void *arg)
{
	p->offset_fn = fn;
	p->offset_arg = arg;
}

void meta_pipe_free(struct meta_pipe *p)
{
	if (!p)
		return;
	if (p->loop)
		evloop_cancel_destroy(p->loop, &p->cleanup);
	pipe_fail(p, -ESHUTDOWN);
	free(p->out);
	free(p);
}

/* ------------------------------------------------------------ output */

static int out_append(struct meta_pipe *p, const char *buf, size_t len)
{
	if (p->out_len + len > p->out_cap) {
		size_t cap = p->out_cap ? p->out_cap : 16384;
		while (cap < p->out_len + len)
			cap *= 2;
		char *o = realloc(p->out, cap);
		if (!o)
			return -ENOMEM;
		p->out = o;
		p->out_cap = cap;
	}
	memcpy(p->out + p->out_len, buf, len);
	p->out_len += len;
	return 0;
}

static void pipe_flush(struct meta_pipe *p)
{
	if (p->state != PIPE_READY)
		return;
	while (p->out_off < p->out_len) {
		ssize_t n = send(p->fd, p->out + p->out_off, p->out_len - p->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (evloop_watch_set(p->loop, &p->watch, EPOLLIN | EPOLLOUT) < 0)
				pipe_fail(p, -EIO);
			return;
		}
		pipe_fail(p, n < 0 ? -errno : -ECONNRESET);
		return;
	}
	p->out_len = p->out_off = 0;
	if (evloop_watch_set(p->loop, &p->watch, EPOLLIN) < 0)
		pipe_fail(p, -EIO);
}

static void queue_req(struct meta_pipe *p, struct pipe_req *r)
{
	if (p->tail)
		p->tail->next = r;
	else
		p->head = r;
	p->tail = r;
	if (p->timer.heap_pos == 0)
		evloop_timer_start(p->loop, &p->timer, r->deadline_ms, on_timer);
}

/* One ROLE after the round's last command that needs the offset, for all
 * of them: its reply is the primary's offset after every one of them. */
static void queue_offset_read(struct meta_pipe *p)
{
	if (!p->offset_head || p->state == PIPE_CLOSED)
		return;
	struct pipe_req *role = calloc(1, sizeof(*role));
	if (!role || out_append(p, ROLE_CMD, sizeof(ROLE_CMD) - 1) < 0) {
		free(role);
		pipe_fail(p, -ENOMEM); /* their commands went out without it */
		return;
	}
	role->is_role = true;
	role->want = 1;
	role->replies = &role->role_reply;
	role->deadline_ms = evloop_now_ms() + p->timeout_ms;
	role->waiters = p->offset_head;
	p->offset_head = p->offset_tail = NULL;
	queue_req(p, role);
}

static void flush_hook(struct ev_hook *h)
{
	struct meta_pipe *p =
	    (struct meta_pipe *)((char *)h - offsetof(struct meta_pipe, flush_hook));
	queue_offset_read(p);
	pipe_flush(p);
}

/* ------------------------------------------------------------ input */

/* A round's ROLE came back: the offset is noted before any command it
 * answers for returns, so a read that follows one sees it. */
static void offset_read(struct meta_pipe *p, struct pipe_req *role)
{
	if (p->offset_fn)
		p->offset_fn(p->offset_arg, role->role_reply);
	meta_reply_free(role->role_reply);
	for (struct pipe_req *w = role->waiters; w; w = w->next_waiter)
		coro_wake(w->co);
	free(role);
}

/* Hands the replies read so far to the requests in order. */
static void pipe_deliver(struct meta_pipe *p)
{
	for (;;) {
		void *reply = NULL;
		if (redisReaderGetReply(p->reader, &reply) != REDIS_OK) {
			log_warn("redis: unreadable reply: %s", p->reader->errstr);
			pipe_fail(p, -EIO);
			return;
		}
		if (!reply)
			return;
		struct pipe_req *r = p->head;
		if (!r) {
			/* A reply nobody asked for: the stream is out of step. */
			meta_reply_free(reply);
			log_warn("redis: unexpected reply; reconnecting");
			pipe_fail(p, -EIO);
			return;
		}
		r->replies[r->got++] = reply;
		if (r->got == r->want) {
			p->head = r->next;
			if (!p->head)
				p->tail = NULL;
			if (r->is_role)
				offset_read(p, r);
			else if (r->needs_offset)
				r->answered = true; /* woken with its round's ROLE */
			else
				coro_wake(r->co);
		}
	}
}

static void pipe_read(struct meta_pipe *p)
{
	char buf[READ_CHUNK];
	for (;;) {
		ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			if (redisReaderFeed(p->reader, buf, (size_t)n) != REDIS_OK) {
				pipe_fail(p, -ENOMEM);
				return;
			}
			pipe_deliver(p);
			if (p->state != PIPE_READY || (size_t)n < sizeof(buf))
				return;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		pipe_fail(p, n == 0 ? -ECONNRESET : -errno);
		return;
	}
}

static void on_io(struct ev_watch *w, uint32_t events)
{
	struct meta_pipe *p = (struct meta_pipe *)((char *)w - offsetof(struct meta_pipe, watch));
	if (events & EPOLLOUT)
		pipe_flush(p);
	if (p->state == PIPE_READY && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		pipe_read(p);
}

/* ------------------------------------------------------------ timeouts */

static void on_timer(struct ev_timer *t)
{
	struct meta_pipe *p = (struct meta_pipe *)((char *)t - offsetof(struct meta_pipe, timer));
	if (!p->head)
		return;
	if (p->head->deadline_ms <= evloop_now_ms()) {
		log_warn("redis: no reply for %u ms; reconnecting", p->timeout_ms);
		pipe_fail(p, -ETIMEDOUT);
		return;
	}
	/* The oldest request is the head: its deadline is the next to come. */
	evloop_timer_start(p->loop, &p->timer, p->head->deadline_ms, on_timer);
}

/* ------------------------------------------------------------ connecting */

struct connect_job {
	struct meta_pipe *p;
	int fd, r;
};

static void run_connect(void *arg)
{
	struct connect_job *j = arg;
	j->r = j->p->connect(j->p->connect_arg, &j->fd);
}

/* Runs on the coroutine that found the pipe closed; others queue meanwhile. */
static void pipe_connect(struct meta_pipe *p)
{
	p->state = PIPE_CONNECTING;
	unsigned gen = p->gen;
	struct connect_job j = {.p = p, .fd = -1};
	coro_offload(run_connect, &j);
	if (!p->loop || p->gen != gen) {
		/* Failed (timed out, loop gone) while connecting: every waiter has its answer. */
		if (j.fd >= 0)
			close(j.fd);
		return;
	}
	if (j.r == 0) {
		int fl = fcntl(j.fd, F_GETFL);
		p->reader = redisReaderCreateWithFunctions(&meta_reply_functions);
		if (fl < 0 || fcntl(j.fd, F_SETFL, fl | O_NONBLOCK) < 0 || !p->reader)
			j.r = -ENOMEM;
		else
			j.r = evloop_watch(p->loop, &p->watch, j.fd, EPOLLIN, on_io);
	}
	if (j.r < 0) {
		if (j.fd >= 0)
			close(j.fd);
		pipe_fail(p, j.r);
		return;
	}
	p->fd = j.fd;
	p->state = PIPE_READY;
	evloop_defer(p->loop, &p->flush_hook, flush_hook);
}

static int pipe_call(struct meta_pipe *p, const char *const *bufs, const size_t *lens, int nbufs,
		     int want, redisReply **replies, bool needs_offset)
{
	if (!p->loop || want < 1 || want > MAX_WANT)
		return -EINVAL;
	size_t undo = p->out_len;
	for (int i = 0; i < nbufs; i++) {
		if (out_append(p, bufs[i], lens[i]) < 0) {
			p->out_len = undo;
			return -ENOMEM;
		}
	}
	struct pipe_req r = {.co = coro_self(),
			     .want = want,
			     .replies = replies,
			     .deadline_ms = evloop_now_ms() + p->timeout_ms,
			     .needs_offset = needs_offset};
	queue_req(p, &r);
	if (needs_offset) {
		if (p->offset_tail)
			p->offset_tail->next_waiter = &r;
		else
			p->offset_head = &r;
		p->offset_tail = &r;
	}
	if (p->state == PIPE_CLOSED)
		pipe_connect(p);
	else if (p->state == PIPE_READY)
		evloop_defer(p->loop, &p->flush_hook, flush_hook);
	coro_park();
	return r.err;
}

int meta_pipe_call(struct meta_pipe *p, const char *const *bufs, const size_t *lens, int nbufs,
		   int want, redisReply **replies)
{
	return pipe_call(p, bufs, lens, nbufs, want, replies, false);
}

int meta_pipe_call_offset(struct meta_pipe *p, const char *const *bufs, const size_t *lens,
			  int nbufs, int want, redisReply **replies)
{
	return pipe_call(p, bufs, lens, nbufs, want, replies, true);
}
