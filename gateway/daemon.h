/* Becoming a daemon without losing start-up errors: the parent waits until
 * the child says it is serving (or why it could not) and exits accordingly. */
#ifndef MCFS_GATEWAY_DAEMON_H
#define MCFS_GATEWAY_DAEMON_H

#include <stdbool.h>

/* Forks; returns in the child (detached, stdio on /dev/null). The parent
 * never returns: it exits 0 once daemon_ready(true) is called, 1 otherwise. */
int daemon_detach(void);
/* Tells a waiting parent how start-up went (no-op in the foreground). */
void daemon_ready(bool ok, const char *message);
/* Writes the pid file exclusively; -EEXIST if another live process holds it. */
int pidfile_create(const char *path);
void pidfile_remove(const char *path);

#endif
