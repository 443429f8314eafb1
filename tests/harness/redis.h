/* A real redis-server for a test: its own directory, an ephemeral loopback
 * port, append-only with fsync on every write (what mcfs recommends). */
#ifndef MCFS_TEST_REDIS_H
#define MCFS_TEST_REDIS_H

#include "proc.h"

struct redis_server {
	struct proc proc;
	int port;
	char *dir;
	char url[128];	/* redis://127.0.0.1:PORT */
	int replica_of; /* the primary's port for a replica, else 0 */
};

int redis_server_start(struct redis_server *rs);
/* Starts a replica of primary (--replicaof) and waits, up to timeout_ms, until
 * it has synced (master_link_status:up). */
int redis_server_start_replica(struct redis_server *rs, const struct redis_server *primary,
			       int timeout_ms);
/* Waits until a replica's link to its primary is up; -ETIMEDOUT. */
int redis_server_wait_link(struct redis_server *rs, int timeout_ms);
/* Waits until the replica at replica_host:replica_port has applied what the
 * primary (on loopback) had written when called; -ETIMEDOUT. WAIT would not
 * do: it counts only its own connection's writes. And a replica is sent
 * nothing until its first acknowledgement after a sync, up to a second. */
int redis_wait_replicated(int primary_port, const char *replica_host, int replica_port,
			  int timeout_ms);
/* Restarts on the same port and directory (data survives through the AOF),
 * as it was started (a replica again follows its primary). */
int redis_server_restart(struct redis_server *rs);
/* SIGKILL: a crash, no shutdown save. */
void redis_server_kill(struct redis_server *rs);
/* Stops it and removes its directory. */
void redis_server_stop(struct redis_server *rs);

/* One command on a fresh connection (5 s timeout): the reply (freeReplyObject
 * it), or NULL when the server cannot be reached. */
struct redisReply;
struct redisReply *redis_server_cmd(const struct redis_server *rs, const char *fmt, ...);
/* How many times the server ran cmd (lower case, as INFO commandstats names
 * it: "xreadgroup") since it started or CONFIG RESETSTAT; -1 if unknown. */
long long redis_server_calls(const struct redis_server *rs, const char *cmd);
/* Zeroes those counts (CONFIG RESETSTAT): 0, or -EIO. */
int redis_server_reset_stats(const struct redis_server *rs);

#endif
