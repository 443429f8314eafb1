#include "redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int launch(struct redis_server *rs)
{
	char port[16], primary[16], log_path[600];
	snprintf(port, sizeof(port), "%d", rs->port);
	snprintf(primary, sizeof(primary), "%d", rs->replica_of);
	snprintf(log_path, sizeof(log_path), "%s/redis.log", rs->dir);
	char *argv[24] = {"redis-server",
			  "--port",
			  port,
			  "--bind",
			  "127.0.0.1",
			  "--dir",
			  rs->dir,
			  "--appendonly",
			  "yes",
			  "--appendfsync",
			  "always",
			  "--save",
			  "",
			  "--protected-mode",
			  "no",
			  NULL};
	size_t n = 0;
	while (argv[n])
		n++;
	/* A primary otherwise waits 5 s for more replicas before a full sync. */
	argv[n++] = "--repl-diskless-sync-delay";
	argv[n++] = "0";
	if (rs->replica_of) {
		argv[n++] = "--replicaof";
		argv[n++] = "127.0.0.1";
		argv[n++] = primary;
	}
	int r = proc_spawn(&rs->proc, "redis-server", argv, log_path);
	if (r < 0)
		return r;
	r = wait_tcp_port(rs->port, 10000);
	if (r < 0 || !proc_alive(&rs->proc)) {
		proc_stop(&rs->proc, 1000);
		return r < 0 ? r : -EADDRINUSE;
	}
	return 0;
}

static int start(struct redis_server *rs, int replica_of)
{
	memset(rs, 0, sizeof(*rs));
	rs->replica_of = replica_of;
	rs->dir = test_tmpdir("redis");
	if (!rs->dir)
		return -errno;
	/* The port may be taken between probe and bind: try a few. */
	int r = -EADDRINUSE;
	for (int attempt = 0; attempt < 5 && r < 0; attempt++) {
		rs->port = free_tcp_port();
		if (rs->port < 0)
			return rs->port;
		r = launch(rs);
	}
	if (r == 0)
		snprintf(rs->url, sizeof(rs->url), "redis://127.0.0.1:%d", rs->port);
	return r;
}

int redis_server_start(struct redis_server *rs)
{
	return start(rs, 0);
}

static bool link_up(void *arg)
{
	struct redis_server *rs = arg;
	struct timeval tv = {.tv_sec = 1};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", rs->port, tv);
	bool up = false;
	if (c && !c->err) {
		redisReply *r = redisCommand(c, "INFO replication");
		up = r && r->type == REDIS_REPLY_STRING &&
		     strstr(r->str, "master_link_status:up") != NULL;
		if (r)
			freeReplyObject(r);
	}
	if (c)
		redisFree(c);
	return up;
}

int redis_server_wait_link(struct redis_server *rs, int timeout_ms)
{
	return wait_until(link_up, rs, timeout_ms);
}

int redis_server_start_replica(struct redis_server *rs, const struct redis_server *primary,
			       int timeout_ms)
{
	int r = start(rs, primary->port);
	if (r == 0)
		r = redis_server_wait_link(rs, timeout_ms);
	return r;
}

int redis_server_restart(struct redis_server *rs)
{
	proc_stop(&rs->proc, 10000);
	return launch(rs);
}

void redis_server_kill(struct redis_server *rs)
{
	proc_kill(&rs->proc, SIGKILL);
}

void redis_server_stop(struct redis_server *rs)
{
	proc_stop(&rs->proc, 10000);
	if (rs->dir) {
		rm_rf(rs->dir);
		free(rs->dir);
		rs->dir = NULL;
	}
}

redisReply *redis_server_cmd(const struct redis_server *rs, const char *fmt, ...)
{
	struct timeval tv = {.tv_sec = 5};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", rs->port, tv);
	if (!c || c->err) {
		if (c)
			redisFree(c);
		return NULL;
	}
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	return r;
}

/* The replication offset ROLE reports at host:port: a primary's own, a
 * replica's applied one; -1 if unknown. */
static long long role_offset(const char *host, int port)
{
	struct timeval tv = {.tv_sec = 5};
	redisContext *c = redisConnectWithTimeout(host, port, tv);
	redisReply *r = c && !c->err ? redisCommand(c, "ROLE") : NULL;
	long long off = -1;
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
		const redisReply *e = r->elements >= 5 ? r->element[4] : r->element[1];
		if (e->type == REDIS_REPLY_INTEGER)
			off = e->integer;
	}
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return off;
}

struct caught_up {
	const char *host;
	int port;
	long long offset;
};

static bool caught_up(void *arg)
{
	struct caught_up *c = arg;
	return role_offset(c->host, c->port) >= c->offset;
}

int redis_wait_replicated(int primary_port, const char *replica_host, int replica_port,
			  int timeout_ms)
{
	struct caught_up c = {replica_host, replica_port, role_offset("127.0.0.1", primary_port)};
	if (c.offset < 0)
		return -ECONNREFUSED;
	return wait_until(caught_up, &c, timeout_ms);
}

long long redis_server_calls(const struct redis_server *rs, const char *cmd)
{
	redisReply *r = redis_server_cmd(rs, "INFO commandstats");
	long long calls = -1;
	char field[64];
	snprintf(field, sizeof(field), "cmdstat_%s:calls=", cmd);
	const char *at = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, field) : NULL;
	if (at)
		calls = atoll(at + strlen(field));
	if (r)
		freeReplyObject(r);
	return calls;
}

int redis_server_reset_stats(const struct redis_server *rs)
{
	redisReply *r = redis_server_cmd(rs, "CONFIG RESETSTAT");
	int rc = r && r->type == REDIS_REPLY_STATUS ? 0 : -EIO;
	if (r)
		freeReplyObject(r);
	return rc;
}
