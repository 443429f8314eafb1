/* A real mcfs-gateway process for a test, on an ephemeral loopback port. */
#ifndef MCFS_TEST_GATEWAY_H
#define MCFS_TEST_GATEWAY_H

#include "proc.h"

#define GATEWAY_MAX_ARGS 24

struct gateway_proc {
	struct proc proc;
	int port;
	char log_path[600];
	char meta_url[256];
	const char *extra[GATEWAY_MAX_ARGS];
	int nextra;
};

/* Starts $MCFS_TOP_BUILDDIR/mcfs-gateway in the foreground with --no-rpcbind,
 * --listen 127.0.0.1:<free port>, --meta meta_url and the NULL-terminated
 * extra arguments (kept by pointer); logs go to log_dir/gateway-PORT.log. */
int gateway_start(struct gateway_proc *g, const char *meta_url, const char *log_dir,
		  const char *const extra[]);
/* Starts it again on the same port with the same arguments. */
int gateway_restart(struct gateway_proc *g);
/* SIGTERM and wait: returns the exit status. */
int gateway_stop(struct gateway_proc *g);
/* SIGKILL: a crash. */
void gateway_kill(struct gateway_proc *g);
/* What the gateway last logged after `what` (its stop counts, say): the
 * number that follows, or 0. */
unsigned long long gateway_logged_count(const struct gateway_proc *g, const char *what);
/* "nfs://127.0.0.1<path>?nfsport=P&mountport=P&version=3" */
void gateway_url(const struct gateway_proc *g, const char *path, char *out, size_t len);

#endif
