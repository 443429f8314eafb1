#include "meta.h"

#include <errno.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coro.h"
#include "evloop.h"
#include "log.h"
#include "meta_listen.h"
#include "meta_pipe.h"
#include "meta_reply.h"
#include "resp.h"
#include "url.h"

static const char ROLE_CMD[] = "*1\r\n$4\r\nROLE\r\n";

struct meta_conn {
	pthread_mutex_t lock;
	redisContext *ctx;
	unsigned gen; /* the pool's generation when it connected */
};

struct meta {
	struct meta_url url;
	char describe[300];
	char password[256];
	unsigned timeout_ms;
	struct retry_policy retry;
	unsigned nconns;
	unsigned next;
	/* Bumped when a connection breaks: the server may have restarted, and
	 * the pool's other idle connections are then as dead. Each is opened
	 * anew before its next use instead of costing a try of its own. */
	unsigned gen;
	bool track_offset;
	long long written_offset; /* atomic: highest ROLE offset seen after a command */
	char (*shas)[41];	  /* per script, same order as meta_scripts */
	char (*fnames)[96];	  /* per script: its function, NAME_TAG */
	size_t nscripts;
	/* atomic: scripts run by EVAL, not as the function library (the server
	 * has no functions, or is a replica without the library, or refused to
	 * load it). */
	bool eval_only;
	/* Coroutines pipeline their commands on their loop's connection. */
	struct meta_pipe *pipes[EVLOOP_MAX];
	/* Client-side caching (meta_tracking_enable): the listener's client id
	 * each loop's pipe redirects its tracking to (0: none yet, or lost). */
	meta_invalidate_fn track_fn;
	void *track_arg;
	struct meta_listen *listener;
	bool tracking_unsupported; /* atomic: the server refused CLIENT TRACKING */
	uint64_t pipe_track_id[EVLOOP_MAX];
	struct pipe_hook {
		struct meta *m;
		unsigned id;
	} pipe_hooks[EVLOOP_MAX];
	struct meta_conn conns[];
};

static void sha1_hex(const char *s, char out[41])
{
	unsigned char d[SHA_DIGEST_LENGTH];
	SHA1((const unsigned char *)s, strlen(s), d);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static int errno_of_ctx(const redisContext *c)
{
	switch (c->err) {
	case REDIS_ERR_IO:
		if (c->errstr[0] && strstr(c->errstr, "refused"))
			return -ECONNREFUSED;
		/* hiredis 0.14 reports a command timeout as EAGAIN on the socket. */
		if (c->errstr[0] &&
		    (strstr(c->errstr, "timed out") || strstr(c->errstr, "Timeout") ||
		     strstr(c->errstr, "temporarily unavailable")))
			return -ETIMEDOUT;
		if (c->errstr[0] && strstr(c->errstr, "unreachable"))
			return -EHOSTUNREACH;
		return -ECONNREFUSED;
	case REDIS_ERR_EOF:
		return -ECONNRESET;
	case REDIS_ERR_OOM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Maps an error reply; LOADING is transient (a restarted server replaying its log). */
static int errno_of_reply(const redisReply *r, int *transient)
{
	*transient = 0;
	if (strncmp(r->str, "LOADING", 7) == 0 || strncmp(r->str, "BUSY", 4) == 0 ||
	    strncmp(r->str, "MASTERDOWN", 10) == 0 || strncmp(r->str, "TRYAGAIN", 8) == 0) {
		*transient = 1;
		return -EAGAIN;
	}
	if (strncmp(r->str, "NOAUTH", 6) == 0 || strncmp(r->str, "WRONGPASS", 9) == 0)
		return -EACCES;
	if (strncmp(r->str, "READONLY", 8) == 0)
		return -EROFS;
	if (strncmp(r->str, "NOSCRIPT", 8) == 0 || strcmp(r->str, "ERR Function not found") == 0)
		return -ENOEXEC;
	if (strncmp(r->str, "ERR Library '", 13) == 0 && strstr(r->str, "already exists"))
		return -EEXIST;
	if (strncmp(r->str, "ERR unknown command", 19) == 0)
		return -ENOSYS;
	if (strncmp(r->str, "OOM", 3) == 0)
		return -ENOSPC;
	return -EIO;
}

static int conn_open(struct meta *m, struct meta_conn *c)
{
	struct timeval tv = {.tv_sec = m->timeout_ms / 1000,
			     .tv_usec = (long)(m->timeout_ms % 1000) * 1000};
	redisContext *ctx = m->url.unix_path[0]
				? redisConnectUnixWithTimeout(m->url.unix_path, tv)
				: redisConnectWithTimeout(m->url.host, m->url.port, tv);
	if (!ctx)
		return -ENOMEM;
	if (ctx->err) {
		int r = errno_of_ctx(ctx);
		redisFree(ctx);
		return r;
	}
	redisSetTimeout(ctx, tv);
	/* TCP only: on a unix socket hiredis's TCP_KEEPIDLE fails and leaves the
	 * context in error, so that every command after it fails. */
	if (!m->url.unix_path[0])
		redisEnableKeepAlive(ctx);
	redisReply *rep = NULL;
	if (m->password[0]) {
		rep = m->url.user[0] ? redisCommand(ctx, "AUTH %s %s", m->url.user, m->password)
				     : redisCommand(ctx, "AUTH %s", m->password);
		int bad = !rep || rep->type == REDIS_REPLY_ERROR;
		if (rep)
			freeReplyObject(rep);
		if (bad) {
			redisFree(ctx);
			return -EACCES;
		}
	}
	if (m->url.db) {
		rep = redisCommand(ctx, "SELECT %d", m->url.db);
		int bad = !rep || rep->type == REDIS_REPLY_ERROR;
		if (rep)
			freeReplyObject(rep);
		if (bad) {
			redisFree(ctx);
			return -EINVAL;
		}
	}
	/* Every reply from here on is built the metadata layer's way. */
	ctx->reader->fn = &meta_reply_functions;
	c->ctx = ctx;
	return 0;
}

static void conn_drop(struct meta_conn *c)
{
	if (c->ctx) {
		redisFree(c->ctx);
		c->ctx = NULL;
	}
}

int meta_connect(const struct meta_options *opt, struct meta **out, char *err, size_t errlen)
{
	unsigned n = opt->pool_size ? opt->pool_size : 8;
	struct meta *m = calloc(1, sizeof(*m) + n * sizeof(struct meta_conn));
	if (!m)
		return -ENOMEM;
	int r = meta_url_parse(opt->url, &m->url, err, errlen);
	if (r < 0) {
		free(m);
		return r;
	}
	if (opt->password && opt->password[0])
		snprintf(m->password, sizeof(m->password), "%s", opt->password);
	else
		snprintf(m->password, sizeof(m->password), "%s", m->url.password);
	if (m->url.unix_path[0])
		snprintf(m->describe, sizeof(m->describe), "redis+unix://%s", m->url.unix_path);
	else
		snprintf(m->describe, sizeof(m->describe), "redis://%s:%d/%d", m->url.host,
			 m->url.port, m->url.db);
	m->timeout_ms = opt->timeout_ms ? opt->timeout_ms : 5000;
	m->retry = opt->retry.max_attempts ? opt->retry : RETRY_POLICY_DEFAULT;
	m->nconns = n;
	for (unsigned i = 0; i < n; i++)
		pthread_mutex_init(&m->conns[i].lock, NULL);
	while (meta_scripts[m->nscripts].name)
		m->nscripts++;
	m->shas = calloc(m->nscripts ? m->nscripts : 1, sizeof(*m->shas));
	m->fnames = calloc(m->nscripts ? m->nscripts : 1, sizeof(*m->fnames));
	if (!m->shas || !m->fnames) {
		meta_close(m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->nscripts; i++) {
		sha1_hex(meta_scripts[i].source, m->shas[i]);
		snprintf(m->fnames[i], sizeof(m->fnames[i]), "%s_%s", meta_scripts[i].name,
			 meta_library_tag);
	}
	/* One connection now, so a wrong address or password fails here, clearly. */
	r = conn_open(m, &m->conns[0]);
	if (r < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", m->describe,
			 r == -EACCES ? "authentication failed" : strerror(-r));
		meta_close(m);
		return r;
	}
	*out = m;
	return 0;
}

void meta_close(struct meta *m)
{
	if (!m)
		return;
	meta_listen_stop(m->listener);
	m->track_fn = NULL;
	for (unsigned i = 0; i < EVLOOP_MAX; i++)
		meta_pipe_free(m->pipes[i]);
	for (unsigned i = 0; i < m->nconns; i++) {
		conn_drop(&m->conns[i]);
		pthread_mutex_destroy(&m->conns[i].lock);
	}
	free(m->shas);
	free(m->fnames);
	memset(m->password, 0, sizeof(m->password));
	free(m);
}

const char *meta_describe(const struct meta *m)
{
	return m->describe;
}

static struct meta_conn *conn_acquire(struct meta *m)
{
	unsigned i = __atomic_fetch_add(&m->next, 1, __ATOMIC_RELAXED) % m->nconns;
	/* Prefer an idle connection; block on our turn's one if all are busy. */
	for (unsigned k = 0; k < m->nconns; k++) {
		struct meta_conn *c = &m->conns[(i + k) % m->nconns];
		if (pthread_mutex_trylock(&c->lock) == 0)
			return c;
	}
	pthread_mutex_lock(&m->conns[i].lock);
	return &m->conns[i];
}

static long long role_offset(const redisReply *r, bool *replica, bool *link_up)
{
	*replica = false;
	*link_up = false;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return -1;
	if (strcmp(r->element[0]->str, "master") == 0)
		return r->element[1]->type == REDIS_REPLY_INTEGER ? r->element[1]->integer : -1;
	*replica = true;
	if (r->elements < 5 || r->element[3]->type != REDIS_REPLY_STRING ||
	    r->element[4]->type != REDIS_REPLY_INTEGER)
		return -1;
	*link_up = strcmp(r->element[3]->str, "connected") == 0;
	return r->element[4]->integer;
}

/* Raises written_offset from a ROLE reply sent behind commands. */
static void note_role(struct meta *m, const redisReply *rep)
{
	bool replica, link_up;
	long long off = role_offset(rep, &replica, &link_up);
	long long cur = __atomic_load_n(&m->written_offset, __ATOMIC_RELAXED);
	while (off > cur && !__atomic_compare_exchange_n(&m->written_offset, &cur, off, false,
							 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

/* Reads the ROLE reply pipelined behind a command. */
static int note_offset(struct meta *m, struct meta_conn *c)
{
	redisReply *rep = NULL;
	if (redisGetReply(c->ctx, (void **)&rep) != REDIS_OK || !rep)
		return -EIO;
	note_role(m, rep);
	meta_reply_free(rep);
	return 0;
}

void meta_track_offset(struct meta *m)
{
	m->track_offset = true;
}

long long meta_written_offset(const struct meta *m)
{
	return __atomic_load_n(&m->written_offset, __ATOMIC_ACQUIRE);
}

/* An error reply becomes a negative errno (and is freed); *retry tells
 * whether trying again may help. */
static int check_reply(redisReply *rep, redisReply **reply, int *retry)
{
	if (rep->type == REDIS_REPLY_ERROR) {
		int transient;
		int r = errno_of_reply(rep, &transient);
		/* (not the answers of the scripts' loading, handled where asked) */
		if (r != -ENOEXEC && r != -EEXIST && r != -ENOSYS && !transient)
			log_warn("redis: %s", rep->str);
		meta_reply_free(rep);
		*retry = transient;
		return r;
	}
	*reply = rep;
	return 0;
}

/* Opens a connection for a loop's pipeline (on the blocking pool). */
static int pipe_connect(void *arg, int *fd)
{
	struct meta *m = arg;
	struct meta_conn c = {.ctx = NULL};
	int r = conn_open(m, &c);
	if (r == 0)
		*fd = redisFreeKeepFd(c.ctx);
	return r;
}

/* A pipe's connection is gone, and with it what Redis tracked for it: no
 * change of what it read would be reported any more. */
static void pipe_lost(void *arg)
{
	struct pipe_hook *h = arg;
	struct meta *m = h->m;
	if (m->pipe_track_id[h->id] == 0)
		return;
	m->pipe_track_id[h->id] = 0;
	if (m->track_fn)
		m->track_fn(m->track_arg, NULL, 0);
}

static void pipe_offset(void *arg, const redisReply *role)
{
	note_role(arg, role);
}

static struct meta_pipe *loop_pipe(struct meta *m, struct evloop *l)
{
	unsigned id = evloop_id(l);
	if (!m->pipes[id]) {
		m->pipes[id] = meta_pipe_new(l, pipe_connect, m, m->timeout_ms);
		if (!m->pipes[id])
			return NULL;
		m->pipe_hooks[id] = (struct pipe_hook){.m = m, .id = id};
		meta_pipe_on_fail(m->pipes[id], pipe_lost, &m->pipe_hooks[id]);
		meta_pipe_on_offset(m->pipes[id], pipe_offset, m);
	}
	return m->pipes[id];
}

static const char CACHING_CMD[] = "*3\r\n$6\r\nCLIENT\r\n$7\r\nCACHING\r\n$3\r\nYES\r\n";

static bool is_ok(const redisReply *rep)
{
	return rep && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "OK") == 0;
}

/* Checks the answer to CLIENT TRACKING sent ahead of a command. */
static bool tracking_accepted(struct meta *m, unsigned id, redisReply *rep)
{
	bool ok = is_ok(rep);
	if (!ok) {
		const char *why = rep && rep->type == REDIS_REPLY_ERROR ? rep->str : "no answer";
		/* A server without it (before Redis 6) says so for good; anything
		 * else (a listener that reconnected meanwhile) passes. */
		if (strcasestr(why, "unknown") &&
		    !__atomic_exchange_n(&m->tracking_unsupported, true, __ATOMIC_ACQ_REL))
			log_warn("redis %s has no client-side caching (%s): attributes are not "
				 "cached",
				 m->describe, why);
		m->pipe_track_id[id] = 0;
		/* Commands sent behind it were taken as tracked. */
		m->track_fn(m->track_arg, NULL, 0);
	}
	meta_reply_free(rep);
	return ok;
}

/* One attempt on the pipeline of the calling coroutine's loop. With
 * tracked, Redis is asked to report the next change of the keys this command
 * reads (tracking is on in OPTIN mode, once per connection and listener,
 * and CLIENT CACHING YES picks the command: the others cost Redis nothing),
 * and *tracked says whether it will. */
static int attempt_pipe(struct meta *m, const char *cmd, size_t len, bool role, bool *tracked,
			redisReply **reply, int *retry)
{
	*retry = 0;
	struct evloop *l = evloop_current();
	unsigned id = evloop_id(l);
	struct meta_pipe *p = loop_pipe(m, l);
	if (!p)
		return -ENOMEM;
	uint64_t lid = 0;
	if (tracked && m->track_fn && !__atomic_load_n(&m->tracking_unsupported, __ATOMIC_ACQUIRE))
		lid = meta_listen_id(m->listener);
	char track_cmd[112];
	const char *bufs[4];
	size_t lens[4];
	int n = 0;
	bool sends_track = false;
	if (lid && m->pipe_track_id[id] != lid) {
		char idbuf[24];
		int il = snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)lid);
		int tl = snprintf(track_cmd, sizeof(track_cmd),
				  "*7\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\nON\r\n"
				  "$8\r\nREDIRECT\r\n$%d\r\n%s\r\n$6\r\nNOLOOP\r\n"
				  "$5\r\nOPTIN\r\n",
				  il, idbuf);
		bufs[n] = track_cmd;
		lens[n++] = (size_t)tl;
		m->pipe_track_id[id] = lid;
		sends_track = true;
	}
	bool caching = lid && m->pipe_track_id[id] == lid;
	if (caching) {
		bufs[n] = CACHING_CMD;
		lens[n++] = sizeof(CACHING_CMD) - 1;
	}
	if (tracked)
		*tracked = caching;
	bufs[n] = cmd;
	lens[n++] = len;
	redisReply *reps[4] = {NULL, NULL, NULL, NULL};
	/* The primary's offset after it, for reads through a replica: noted
	 * by pipe_offset before the call returns. */
	int r = role ? meta_pipe_call_offset(p, bufs, lens, n, n, reps)
		     : meta_pipe_call(p, bufs, lens, n, n, reps);
	if (r < 0) {
		*retry = r != -EACCES && r != -EINVAL;
		if (tracked)
			*tracked = false;
		return r;
	}
	int k = 0;
	if (sends_track && !tracking_accepted(m, id, reps[k++]))
		*tracked = false;
	if (caching) {
		if (!is_ok(reps[k]))
			*tracked = false;
		meta_reply_free(reps[k++]);
	}
	return check_reply(reps[k], reply, retry);
}

/* One attempt of a pre-formatted command on one connection. Returns 0 with a
 * reply, or a negative errno and sets *retry when trying again (after
 * reconnecting) may help. */
static int attempt(struct meta *m, struct meta_conn *c, const char *cmd, size_t len, bool role,
		   redisReply **reply, int *retry)
{
	*retry = 0;
	unsigned gen = __atomic_load_n(&m->gen, __ATOMIC_ACQUIRE);
	if (c->ctx && c->gen != gen)
		conn_drop(c);
	if (!c->ctx) {
		int r = conn_open(m, c);
		if (r < 0) {
			*retry = r != -EACCES;
			return r;
		}
		c->gen = gen;
	}
	redisReply *rep = NULL;
	if (redisAppendFormattedCommand(c->ctx, cmd, len) != REDIS_OK ||
	    (role && redisAppendCommand(c->ctx, "ROLE") != REDIS_OK) ||
	    redisGetReply(c->ctx, (void **)&rep) != REDIS_OK || !rep) {
		int r = errno_of_ctx(c->ctx);
		conn_drop(c);
		__atomic_add_fetch(&m->gen, 1, __ATOMIC_RELEASE);
		*retry = 1;
		return r;
	}
	if (role && note_offset(m, c) < 0) {
		/* The command ran but its ROLE was lost: the connection is unusable. */
		conn_drop(c);
	}
	return check_reply(rep, reply, retry);
}

/* One attempt: on a coroutine through its loop's pipeline, else on a
 * connection of the pool (never tracked). */
static int attempt_any(struct meta *m, const char *cmd, size_t len, bool role, bool *tracked,
		       redisReply **reply, int *retry)
{
	if (coro_self() && evloop_current())
		return attempt_pipe(m, cmd, len, role, tracked, reply, retry);
	if (tracked)
		*tracked = false;
	struct meta_conn *c = conn_acquire(m);
	int r = attempt(m, c, cmd, len, role, reply, retry);
	pthread_mutex_unlock(&c->lock);
	return r;
}

int meta_role(struct meta *m, struct meta_role *out)
{
	redisReply *rep = NULL;
	int retry;
	int r = attempt_any(m, ROLE_CMD, sizeof(ROLE_CMD) - 1, false, NULL, &rep, &retry);
	if (r < 0)
		return r;
	out->offset = role_offset(rep, &out->replica, &out->link_up);
	if (!out->replica)
		out->link_up = true;
	meta_reply_free(rep);
	return 0;
}

struct script_call;
static long format_call(const struct script_call *c, bool retried, char **out);

/* Runs a formatted command with bounded retries. A change (op) is sent from
 * its second try on as op's retried form, formatted only then. */
static int run_retried(struct meta *m, const char *cmd, size_t len, const struct script_call *op,
		       bool *tracked, redisReply **reply)
{
	char *again = NULL;
	int r, retry = 0;
	for (unsigned n = 1;; n++) {
		if (n == 2 && op) {
			long again_len = format_call(op, true, &again);
			if (again_len < 0) {
				r = -ENOMEM;
				retry = 0;
				break;
			}
			cmd = again;
			len = (size_t)again_len;
		}
		r = attempt_any(m, cmd, len, m->track_offset, tracked, reply, &retry);
		/* A retried change may answer what its first try left, since changed:
		 * not something to cache. */
		if (r == 0 && tracked && again)
			*tracked = false;
		if (r == 0 || !retry || !retry_wait(&m->retry, n))
			break;
	}
	free(again);
	if (r < 0 && retry) {
		log_warn("metadata server %s: %s (gave up after %u attempts)", m->describe,
			 strerror(-r), m->retry.max_attempts);
		return r == -EAGAIN ? -ETIMEDOUT : r;
	}
	return r;
}

static int run_formatted(struct meta *m, const char *cmd, size_t len, bool *tracked,
			 redisReply **reply)
{
	return run_retried(m, cmd, len, NULL, tracked, reply);
}

int meta_cmd_formatted(struct meta *m, redisReply **reply, const char *cmd, size_t len)
{
	return run_formatted(m, cmd, len, NULL, reply);
}

int meta_cmd_track(struct meta *m, redisReply **reply, int argc, const char **argv,
		   const size_t *lens, bool *tracked)
{
	char *cmd;
	long len = resp_format(&cmd, argc, argv, lens);
	if (len < 0)
		return -ENOMEM;
	int r = run_formatted(m, cmd, (size_t)len, tracked, reply);
	free(cmd);
	return r;
}

int meta_cmd(struct meta *m, redisReply **reply, int argc, const char **argv, const size_t *lens)
{
	return meta_cmd_track(m, reply, argc, argv, lens, NULL);
}

int meta_cmdf(struct meta *m, redisReply **reply, const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	va_start(ap, fmt);
	int len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -ENOMEM;
	int r = run_formatted(m, cmd, (size_t)len, NULL, reply);
	redisFreeCommand(cmd);
	return r;
}

static int script_index(const struct meta *m, const char *name)
{
	for (size_t i = 0; i < m->nscripts; i++)
		if (strcmp(meta_scripts[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* A call of script si with KEYS[1..nkeys] and ARGV[1..argc]; op: a change
 * whose ARGV[1] is its operation id. */
struct script_call {
	struct meta *m;
	int si;
	bool by_eval, op;
	int nkeys;
	const char *const *keys;
	int argc;
	const char **argv;
	const size_t *lens;
};

/* Arguments a call formats without allocating its vectors: every script's
 * call has fewer. */
#define CALL_ARGS_ON_STACK 24

/* The call as a formatted command: FCALL of its function in the library, or
 * EVALSHA. With retried, the operation id gets a '+' that tells the script
 * a try may have run before. */
static long format_call(const struct script_call *c, bool retried, char **out)
{
	int head = 3 + c->nkeys, total = head + c->argc;
	const char *av_stack[CALL_ARGS_ON_STACK];
	size_t al_stack[CALL_ARGS_ON_STACK];
	bool on_stack = total <= CALL_ARGS_ON_STACK;
	const char **av = on_stack ? av_stack : malloc((size_t)total * sizeof(*av));
	size_t *al = on_stack ? al_stack : malloc((size_t)total * sizeof(*al));
	char *first = NULL, nkeys[12];
	long len = -1;
	if (av && al) {
		av[0] = c->by_eval ? "EVALSHA" : "FCALL";
		av[1] = c->by_eval ? c->m->shas[c->si] : c->m->fnames[c->si];
		al[0] = strlen(av[0]);
		al[1] = strlen(av[1]);
		al[2] = (size_t)snprintf(nkeys, sizeof(nkeys), "%d", c->nkeys);
		av[2] = nkeys;
		for (int i = 0; i < c->nkeys; i++) {
			av[3 + i] = c->keys[i];
			al[3 + i] = strlen(c->keys[i]);
		}
		for (int i = 0; i < c->argc; i++) {
			av[head + i] = c->argv[i];
			al[head + i] = c->lens ? c->lens[i] : strlen(c->argv[i]);
		}
		if (retried && c->argc > 0 && (first = malloc(al[head] + 2))) {
			memcpy(first, c->argv[0], al[head]);
			first[al[head]] = '+';
			av[head] = first;
			al[head]++;
		}
		if (!retried || first)
			len = resp_format(out, total, av, al);
	}
	free(first);
	if (!on_stack) {
		free(av);
		free(al);
	}
	return len;
}

static void use_eval(struct meta *m, const char *why)
{
	if (!__atomic_exchange_n(&m->eval_only, true, __ATOMIC_ACQ_REL))
		log_info("metadata server %s: %s; scripts run by EVAL", m->describe, why);
}

/* After FCALL found no function: loads the library, unless the server
 * cannot keep it. Returns 0 when FCALL may be tried again, 1 when scripts
 * are to run by EVAL from now on, or a negative errno. */
static int load_library(struct meta *m)
{
	struct meta_role role;
	int r = meta_role(m, &role);
	if (r < 0)
		return r;
	if (role.replica) {
		/* It only gets functions from its primary (an older mcfs's
		 * library, or none yet); its scripts here only read. */
		use_eval(m, "a replica without this version's functions");
		return 1;
	}
	redisReply *rep = NULL;
	r = meta_cmdf(m, &rep, "FUNCTION LOAD %s", meta_library);
	if (rep)
		meta_reply_free(rep);
	if (r == 0 || r == -EEXIST) /* (another gateway loaded it meanwhile) */
		return 0;
	if (r == -EIO || r == -EACCES || r == -ENOSPC || r == -ENOSYS || r == -EROFS) {
		use_eval(m, "it did not load mcfs's function library");
		return 1;
	}
	return r;
}

static int load_script(struct meta *m, int si)
{
	redisReply *loaded = NULL;
	int r = meta_cmdf(m, &loaded, "SCRIPT LOAD %s", meta_scripts[si].source);
	if (loaded)
		meta_reply_free(loaded);
	return r;
}

/* One send of a script's call. A call sent again after the server lacked
 * the script (its tries may have crossed a restart that applied one) goes
 * with the retried operation id, and what it read is not to be cached. */
static int send_call(const struct script_call *c, bool resend, bool *tracked, redisReply **reply)
{
	char *cmd = NULL;
	long len = format_call(c, resend && c->op, &cmd);
	int r;
	if (len < 0)
		r = -ENOMEM;
	else if (!resend)
		r = run_retried(c->m, cmd, (size_t)len, c->op ? c : NULL, tracked, reply);
	else
		r = run_formatted(c->m, cmd, (size_t)len, c->op ? NULL : tracked, reply);
	if (resend && c->op && tracked)
		*tracked = false;
	free(cmd);
	return r;
}

/* A script's call, as a function of the library where the server has it. A
 * server that lost its functions or scripts (a restart without them, a
 * failover, FUNCTION FLUSH) gets them again, and the call is repeated. */
static int eval_script(struct meta *m, const char *name, int nkeys, const char *const *keys,
		       int argc, const char **argv, const size_t *lens, bool op, bool *tracked,
		       redisReply **reply)
{
	struct script_call c = {.m = m,
				.si = script_index(m, name),
				.by_eval = __atomic_load_n(&m->eval_only, __ATOMIC_ACQUIRE),
				.op = op,
				.nkeys = nkeys,
				.keys = keys,
				.argc = argc,
				.argv = argv,
				.lens = lens};
	if (c.si < 0 || nkeys < 1)
		return -EINVAL;
	if (argc < 0)
		return -E2BIG; /* an argument list that overflowed (meta_ops.h) */
	bool resend = false, library_loaded = false, script_loaded = false;
	for (;;) {
		int r = send_call(&c, resend, tracked, reply);
		if (r == -ENOSYS && !c.by_eval) {
			use_eval(m, "it has no Redis functions (before Redis 7)");
			c.by_eval = true;
		} else if (r == -ENOEXEC && !c.by_eval && !library_loaded) {
			library_loaded = true;
			r = load_library(m);
			c.by_eval = r == 1;
		} else if (r == -ENOEXEC && c.by_eval && !script_loaded) {
			script_loaded = true;
			r = load_script(m, c.si);
		} else {
			return r;
		}
		if (r < 0)
			return r;
		resend = true;
	}
}

int meta_eval(struct meta *m, const char *name, const char *key, int argc, const char **argv,
	      const size_t *lens, redisReply **reply)
{
	return eval_script(m, name, 1, &key, argc, argv, lens, false, NULL, reply);
}

int meta_eval_op(struct meta *m, const char *name, const char *key, int argc, const char **argv,
		 const size_t *lens, redisReply **reply)
{
	return eval_script(m, name, 1, &key, argc, argv, lens, true, NULL, reply);
}

int meta_eval_track(struct meta *m, const char *name, const char *key, const char *watch, int argc,
		    const char **argv, const size_t *lens, bool *tracked, redisReply **reply)
{
	const char *keys[2] = {key, watch};
	return eval_script(m, name, 2, keys, argc, argv, lens, false, tracked, reply);
}

int meta_eval_op_track(struct meta *m, const char *name, const char *key, const char *watch,
		       int argc, const char **argv, const size_t *lens, bool *tracked,
		       redisReply **reply)
{
	const char *keys[2] = {key, watch};
	return eval_script(m, name, 2, keys, argc, argv, lens, true, tracked, reply);
}

/* The listener's connection: a pool connection's handshake, then its id and
 * the subscription the reports arrive on. */
static int listen_connect(void *arg, int *fd, uint64_t *client_id)
{
	struct meta *m = arg;
	struct meta_conn c = {.ctx = NULL};
	int r = conn_open(m, &c);
	if (r < 0)
		return r;
	redisReply *rep = redisCommand(c.ctx, "CLIENT ID");
	if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0)
		*client_id = (uint64_t)rep->integer;
	else
		r = -EPROTO;
	if (rep)
		meta_reply_free(rep);
	rep = r == 0 ? redisCommand(c.ctx, "SUBSCRIBE __redis__:invalidate") : NULL;
	if (r == 0 && (!rep || rep->type != REDIS_REPLY_ARRAY))
		r = rep ? -EPROTO : errno_of_ctx(c.ctx);
	if (rep)
		meta_reply_free(rep);
	if (r < 0) {
		conn_drop(&c);
		return r;
	}
	/* Nothing can follow the confirmation yet: no one redirects here before *client_id is out.
	 */
	*fd = redisFreeKeepFd(c.ctx);
	return 0;
}

bool meta_tracking_settled(struct meta *m)
{
	return meta_listen_settled(m->listener);
}

int meta_tracking_enable(struct meta *m, meta_invalidate_fn fn, void *arg)
{
	if (m->listener)
		return 0;
	m->track_fn = fn;
	m->track_arg = arg;
	m->listener = meta_listen_start(listen_connect, m, fn, arg, m->timeout_ms);
	if (!m->listener) {
		m->track_fn = NULL;
		return -EAGAIN;
	}
	return 0;
}

/* Operation ids: 64 random bits drawn once per process, then a counter.
 * Unique across gateways and restarts, and cheap: drawing 128 random bits
 * and printing them took a quarter of a metadata operation's instructions. */
static uint64_t opid_prefix;
static uint64_t opid_seq;
static pthread_once_t opid_once = PTHREAD_ONCE_INIT;

static void opid_init(void)
{
	if (RAND_bytes((unsigned char *)&opid_prefix, sizeof(opid_prefix)) != 1) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		opid_prefix = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
			      (uint64_t)getpid() << 40;
	}
}

static void hex64(char *out, uint64_t x)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--, x >>= 4)
		out[i] = digits[x & 15];
}

void meta_new_opid(char out[33])
{
	pthread_once(&opid_once, opid_init);
	hex64(out, opid_prefix);
	hex64(out + 16, __atomic_add_fetch(&opid_seq, 1, __ATOMIC_RELAXED));
	out[32] = '\0';
}
