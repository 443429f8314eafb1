#include "gateway.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int launch(struct gateway_proc *g)
{
	const char *b = getenv("MCFS_TOP_BUILDDIR");
	char bin[1024], listen[64];
	snprintf(bin, sizeof(bin), "%s/mcfs-gateway", b ? b : ".");
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", g->port);
	char *argv[GATEWAY_MAX_ARGS + 12];
	int n = 0;
	argv[n++] = bin;
	argv[n++] = "--foreground";
	argv[n++] = "--no-rpcbind";
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--meta";
	argv[n++] = g->meta_url;
	for (int i = 0; i < g->nextra; i++)
		argv[n++] = (char *)g->extra[i];
	argv[n] = NULL;
	int r = proc_spawn(&g->proc, "mcfs-gateway", argv, g->log_path);
	if (r < 0)
		return r;
	r = wait_tcp_port(g->port, 30000);
	if (r < 0 || !proc_alive(&g->proc)) {
		proc_stop(&g->proc, 5000);
		return r < 0 ? r : -ECHILD;
	}
	return 0;
}

int gateway_start(struct gateway_proc *g, const char *meta_url, const char *log_dir,
		  const char *const extra[])
{
	memset(g, 0, sizeof(*g));
	snprintf(g->meta_url, sizeof(g->meta_url), "%s", meta_url);
	for (int i = 0; extra && extra[i] && i < GATEWAY_MAX_ARGS; i++)
		g->extra[g->nextra++] = extra[i];
	int r = -EADDRINUSE;
	for (int attempt = 0; attempt < 3 && r < 0; attempt++) {
		g->port = free_tcp_port();
		snprintf(g->log_path, sizeof(g->log_path), "%s/gateway-%d.log", log_dir, g->port);
		r = launch(g);
	}
	return r;
}

int gateway_restart(struct gateway_proc *g)
{
	return launch(g);
}

int gateway_stop(struct gateway_proc *g)
{
	return proc_stop(&g->proc, 60000);
}

void gateway_kill(struct gateway_proc *g)
{
	proc_kill(&g->proc, SIGKILL);
}

void gateway_url(const struct gateway_proc *g, const char *path, char *out, size_t len)
{
	snprintf(out, len, "nfs://127.0.0.1%s?nfsport=%d&mountport=%d&version=3", path, g->port,
		 g->port);
}

unsigned long long gateway_logged_count(const struct gateway_proc *g, const char *what)
{
	FILE *f = fopen(g->log_path, "r");
	if (!f)
		return 0;
	char line[512];
	unsigned long long n = 0;
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, what);
		if (p)
			n = strtoull(p + strlen(what), NULL, 10);
	}
	fclose(f);
	return n;
}
