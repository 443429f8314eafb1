#include "redis.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int launch(struct redis_server *rs)
{
	char port[16], log_path[600];
	snprintf(port, sizeof(port), "%d", rs->port);
	snprintf(log_path, sizeof(log_path), "%s/redis.log", rs->dir);
	char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", rs->dir,
			"--appendonly", "yes", "--appendfsync", "always", "--save", "",
			"--protected-mode", "no", NULL};
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

int redis_server_start(struct redis_server *rs)
{
	memset(rs, 0, sizeof(*rs));
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
