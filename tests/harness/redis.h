/* A real redis-server for a test: its own directory, an ephemeral loopback
 * port, append-only with fsync on every write (what mcfs recommends). */
#ifndef MCFS_TEST_REDIS_H
#define MCFS_TEST_REDIS_H

#include "proc.h"

struct redis_server {
	struct proc proc;
	int port;
	char *dir;
	char url[128]; /* redis://127.0.0.1:PORT */
};

int redis_server_start(struct redis_server *rs);
/* Restarts on the same port and directory (data survives through the AOF). */
int redis_server_restart(struct redis_server *rs);
/* SIGKILL: a crash, no shutdown save. */
void redis_server_kill(struct redis_server *rs);
/* Stops it and removes its directory. */
void redis_server_stop(struct redis_server *rs);

#endif
