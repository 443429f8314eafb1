/* Connections, slots and the poll loop. libnfs 4.0 keeps the mount's root
 * handle to itself, so the root handle comes from our own MOUNT3 MNT call on
 * a separate RPC connection (to the URL's mountport, or via the portmapper
 * like libnfs). libnfs times requests out itself (nfs_set_timeout, checked
 * whenever rpc_service runs, which the loop makes happen every TICK_MS); the
 * loop also gives up on a connection whose oldest request is well past the
 * timeout, so a stuck server can never hang the run. */
#include "bench_conn.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nfsc/libnfs-raw-mount.h>

#define TICK_MS 100
#define NS_S	1000000000ull

struct mnt_call {
	bool done;
	int err;
	struct bench_fh *fh;
	char why[200];
};

/* The numeric value of ?key=N or &key=N in the URL, or 0. */
static int url_param(const char *url, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = strchr(url, '?'); p; p = strchr(p + 1, '&'))
		if (strncmp(p + 1, key, kl) == 0 && p[1 + kl] == '=')
			return atoi(p + 2 + kl);
	return 0;
}

static void mnt_connected(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct mnt_call *m = priv;
	m->done = true;
	if (status != RPC_STATUS_SUCCESS) {
		m->err = -ECONNREFUSED;
		snprintf(m->why, sizeof(m->why), "connect: %s", data ? (char *)data : "failed");
	}
}

static void mnt_reply(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct mnt_call *m = priv;
	mountres3 *res = data;
	m->done = true;
	m->err = -EIO;
	if (status != RPC_STATUS_SUCCESS) {
		snprintf(m->why, sizeof(m->why), "MNT: %s",
			 status == RPC_STATUS_ERROR && data ? (char *)data : "no reply");
		return;
	}
	if (res->fhs_status != MNT3_OK) {
		snprintf(m->why, sizeof(m->why), "MNT: %s", mountstat3_to_str(res->fhs_status));
		return;
	}
	nfs_fh3 h;
	h.data.data_len = res->mountres3_u.mountinfo.fhandle.fhandle3_len;
	h.data.data_val = res->mountres3_u.mountinfo.fhandle.fhandle3_val;
	if (bench_fh_set(m->fh, &h) < 0)
		snprintf(m->why, sizeof(m->why), "MNT: a handle of %u bytes", h.data.data_len);
	else
		m->err = 0;
}

/* Services one RPC connection until the call in m is answered. */
static int mnt_wait(struct rpc_context *rpc, struct mnt_call *m, uint64_t deadline)
{
	m->done = false;
	while (!m->done) {
		struct pollfd p = {.fd = rpc_get_fd(rpc), .events = rpc_which_events(rpc)};
		if (poll(&p, 1, TICK_MS) < 0 && errno != EINTR)
			return -errno;
		if (rpc_service(rpc, p.revents) < 0 && !m->done) {
			snprintf(m->why, sizeof(m->why), "%s", rpc_get_error(rpc));
			return -EIO;
		}
		if (!m->done && now_ns() > deadline) {
			snprintf(m->why, sizeof(m->why), "no answer");
			return -ETIMEDOUT;
		}
	}
	return m->err;
}

static int conn_root_fh(struct bench *b)
{
	struct rpc_context *rpc = rpc_init_context();
	if (!rpc)
		return -ENOMEM;
	struct mnt_call m = {.fh = &b->root};
	uint64_t deadline = now_ns() + (uint64_t)b->o.timeout_s * NS_S;
	int port = url_param(b->o.url, "mountport");
	int r = port > 0 ? rpc_connect_async(rpc, b->server, port, mnt_connected, &m)
			 : rpc_connect_program_async(rpc, b->server, MOUNT_PROGRAM, MOUNT_V3,
						     mnt_connected, &m);
	r = r == 0 ? mnt_wait(rpc, &m, deadline) : -EIO;
	if (r == 0)
		r = rpc_mount3_mnt_async(rpc, mnt_reply, b->export_path, &m) == 0
			? mnt_wait(rpc, &m, deadline)
			: -EIO;
	if (r < 0)
		fprintf(stderr, "nfsbench: root handle of %s:%s: %s\n", b->server, b->export_path,
			m.why[0] ? m.why : rpc_get_error(rpc));
	rpc_destroy_context(rpc);
	return r;
}

static int conn_mount(struct bench *b, struct bench_conn *c)
{
	c->nfs = nfs_init_context();
	if (!c->nfs)
		return -ENOMEM;
	struct nfs_url *u = nfs_parse_url_dir(c->nfs, b->o.url);
	if (!u || !u->server) {
		fprintf(stderr, "nfsbench: %s: %s\n", b->o.url,
			u ? "no server in the URL" : nfs_get_error(c->nfs));
		if (u)
			nfs_destroy_url(u);
		return -EINVAL;
	}
	const char *path = u->path ? u->path : "/";
	/* A reconnect would resend requests, perhaps to a restarted server:
	 * better to fail the figure. */
	nfs_set_autoreconnect(c->nfs, 0);
	nfs_set_timeout(c->nfs, b->o.timeout_s * 1000);
	int r = 0;
	if (!b->server && (!(b->server = strdup(u->server)) || !(b->export_path = strdup(path))))
		r = -ENOMEM;
	if (r == 0 && nfs_mount(c->nfs, u->server, path) != 0) {
		fprintf(stderr, "nfsbench: mount %s: %s\n", b->o.url, nfs_get_error(c->nfs));
		r = -EIO;
	}
	nfs_destroy_url(u);
	c->rpc = r == 0 ? nfs_get_rpc_context(c->nfs) : NULL;
	return r;
}

static int conn_slots(struct bench *b, struct bench_conn *c)
{
	c->slots = calloc(b->o.depth, sizeof(*c->slots));
	if (!c->slots)
		return -ENOMEM;
	for (int i = 0; i < b->o.depth; i++) {
		c->slots[i].b = b;
		c->slots[i].c = c;
		c->slots[i].buf = malloc(BENCH_IO_MAX);
		if (!c->slots[i].buf)
			return -ENOMEM;
	}
	return 0;
}

int conn_open_all(struct bench *b)
{
	b->conns = calloc(b->o.conns, sizeof(*b->conns));
	if (!b->conns)
		return -ENOMEM;
	for (int i = 0; i < b->o.conns; i++) {
		struct bench_conn *c = &b->conns[i];
		c->index = i;
		int r = conn_mount(b, c);
		if (r == 0)
			r = conn_slots(b, c);
		if (r < 0) {
			for (int k = 0; k < b->o.conns; k++)
				b->conns[k].dead = true;
			b->alive = 0;
			return r;
		}
		b->alive++;
	}
	uint64_t io = BENCH_IO_MAX, rmax = nfs_get_readmax(b->conns[0].nfs),
		 wmax = nfs_get_writemax(b->conns[0].nfs);
	io = rmax && rmax < io ? rmax : io;
	io = wmax && wmax < io ? wmax : io;
	b->io_size = (uint32_t)(io / BENCH_SMALL * BENCH_SMALL);
	if (b->io_size < BENCH_SMALL) {
		fprintf(stderr, "nfsbench: the server takes only %" PRIu64 " bytes per I/O\n", io);
		return -EINVAL;
	}
	if (b->io_size != BENCH_IO_MAX)
		fprintf(stderr, "nfsbench: I/O size %u (the server's limit)\n", b->io_size);
	return conn_root_fh(b);
}

void conn_close_all(struct bench *b)
{
	if (!b->conns)
		return;
	/* Callbacks of requests still queued run here (cancelled): the slots
	 * must outlive the contexts. */
	for (int i = 0; i < b->o.conns; i++)
		if (b->conns[i].nfs)
			nfs_destroy_context(b->conns[i].nfs);
	for (int i = 0; i < b->o.conns; i++) {
		struct bench_conn *c = &b->conns[i];
		for (int k = 0; c->slots && k < b->o.depth; k++)
			free(c->slots[k].buf);
		free(c->slots);
	}
	free(b->conns);
	b->conns = NULL;
}

/* Gives up on a connection: libnfs fails what it still holds through the
 * callbacks; a slot it did not call back is freed by hand. */
static void conn_lose(struct bench *b, struct bench_conn *c, const char *why)
{
	fprintf(stderr, "nfsbench: connection %d lost: %s\n", c->index, why ? why : "?");
	bench_fail(b, "connection %d lost: %s", c->index, why ? why : "?");
	c->dead = true;
	b->alive--;
	rpc_disconnect(c->rpc, "connection given up");
	for (int i = 0; i < b->o.depth; i++)
		slot_end(&c->slots[i]);
}

/* Starts what can be started; returns the requests in flight. */
static int conn_fill(struct bench *b, bench_issue_fn issue)
{
	int busy = 0;
	for (int i = 0; i < b->o.conns; i++) {
		struct bench_conn *c = &b->conns[i];
		for (int k = 0; issue && !c->dead && k < b->o.depth && !b->stop; k++)
			if (!c->slots[k].busy && issue(b, &c->slots[k]) <= 0)
				break;
		busy += c->inflight;
	}
	return busy;
}

static void conn_poll(struct bench *b)
{
	struct pollfd pfd[BENCH_CONNS_MAX];
	for (int i = 0; i < b->o.conns; i++) {
		struct bench_conn *c = &b->conns[i];
		pfd[i].fd = c->dead ? -1 : rpc_get_fd(c->rpc);
		pfd[i].events = c->dead ? 0 : (short)rpc_which_events(c->rpc);
		pfd[i].revents = 0;
	}
	int err = poll(pfd, b->o.conns, TICK_MS) < 0 && errno != EINTR ? errno : 0;
	uint64_t now = now_ns();
	bool tick = now >= b->next_tick;
	if (tick)
		b->next_tick = now + TICK_MS * 1000000ull;
	for (int i = 0; i < b->o.conns; i++) {
		struct bench_conn *c = &b->conns[i];
		if (c->dead)
			continue;
		if (err)
			conn_lose(b, c, strerror(err));
		else if ((pfd[i].revents || tick) && rpc_service(c->rpc, pfd[i].revents) < 0)
			conn_lose(b, c, rpc_get_error(c->rpc));
		else if (c->timed_out)
			conn_lose(b, c, "a request timed out");
	}
}

/* The backstop for libnfs's own timeout. */
static void conn_reap(struct bench *b)
{
	uint64_t limit = (uint64_t)(b->o.timeout_s + 2) * NS_S, now = now_ns();
	for (int i = 0; i < b->o.conns; i++) {
		struct bench_conn *c = &b->conns[i];
		for (int k = 0; !c->dead && k < b->o.depth; k++) {
			if (c->slots[k].busy && now - c->slots[k].t0 > limit) {
				char why[64];
				snprintf(why, sizeof(why), "no reply in %d s", b->o.timeout_s);
				conn_lose(b, c, why);
			}
		}
	}
}

int conn_run(struct bench *b, bench_issue_fn issue)
{
	uint64_t errors = b->cur->errors;
	b->stop = false;
	if (b->alive == 0) {
		bench_fail(b, "no connection left to the server");
		return -ENOTCONN;
	}
	while (conn_fill(b, issue) > 0) {
		conn_poll(b);
		conn_reap(b);
	}
	return b->cur->errors > errors ? -EIO : 0;
}

int conn_run_timed(struct bench *b, struct bench_result *r, bench_issue_fn issue)
{
	b->cur = r;
	bench_interval_start(b, r);
	int rc = conn_run(b, issue);
	bench_interval_end(b, r);
	r->ran = true;
	return rc;
}

struct bench_slot *conn_spare_slot(struct bench *b)
{
	for (int i = 0; b->conns && i < b->o.conns; i++)
		for (int k = 0; !b->conns[i].dead && k < b->o.depth; k++)
			if (!b->conns[i].slots[k].busy)
				return &b->conns[i].slots[k];
	return NULL;
}

void slot_begin(struct bench_slot *s, uint64_t arg)
{
	s->busy = true;
	s->arg = arg;
	s->name = NULL;
	s->c->inflight++;
	s->t0 = now_ns();
}

uint64_t slot_end(struct bench_slot *s)
{
	if (!s->busy)
		return 0;
	s->busy = false;
	s->c->inflight--;
	return now_ns() - s->t0;
}

void slot_done(struct bench_slot *s)
{
	if (s->busy)
		result_lat(s->b->cur, slot_end(s));
}

void slot_name(struct bench_slot *s, uint64_t i)
{
	snprintf(s->fname, sizeof(s->fname), "f%06u", (unsigned)i);
	s->name = s->fname;
}

/* A message about the slot's request: "what name: why" or "what arg: why". */
static void slot_fail(struct bench_slot *s, const char *what, const char *why)
{
	if (s->name)
		bench_fail(s->b, "%s %s: %s", what, s->name, why);
	else
		bench_fail(s->b, "%s %" PRIu64 ": %s", what, s->arg, why);
}

int slot_send_failed(struct bench_slot *s, const char *what)
{
	char why[200];
	snprintf(why, sizeof(why), "not sent: %s", rpc_get_error(s->c->rpc));
	slot_fail(s, what, why);
	slot_end(s);
	return -EIO;
}

bool slot_rpc_ok(struct bench_slot *s, int status, void *data, const char *what)
{
	if (!s->busy)
		return false;
	if (status == RPC_STATUS_SUCCESS)
		return true;
	/* Its reply may still come, or the server is stuck: either way the
	 * connection is no good for later requests. Lost after rpc_service
	 * returns, not in libnfs's timeout scan that called us. */
	if (status == RPC_STATUS_TIMEOUT)
		s->c->timed_out = true;
	const char *why = status == RPC_STATUS_TIMEOUT	? "timed out"
			  : status == RPC_STATUS_CANCEL ? "cancelled"
			  : data			? (const char *)data
							: "RPC failed";
	slot_fail(s, what, why);
	return false;
}

bool slot_nfs_ok(struct bench_slot *s, int nfsstat, const char *what)
{
	if (nfsstat == NFS3_OK)
		return true;
	slot_fail(s, what, nfsstat3_to_str(nfsstat));
	return false;
}
