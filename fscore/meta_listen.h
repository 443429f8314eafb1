/*
 * The connection on which Redis reports changes of keys this process has
 * read (client-side caching in the RESP2 style: data connections turn on
 * CLIENT TRACKING ... REDIRECT <this connection's client id>, and this one
 * is subscribed to __redis__:invalidate).
 *
 * It runs on a thread of its own and reconnects with bounded backoff. While
 * it is down, or from the moment it cannot be sure it heard everything
 * (the connection broke, or a PING went unanswered for the timeout), its
 * owner is told "everything" (a NULL key) and meta_listen_id() is 0, so
 * that nothing read meanwhile is taken as tracked.
 */
#ifndef MCFS_META_LISTEN_H
#define MCFS_META_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct meta_listen;

/* Blocking: a connected, authenticated socket, subscribed to the reports,
 * and its client id. 0 or a negative errno. */
typedef int (*meta_listen_connect_fn)(void *arg, int *fd, uint64_t *client_id);
/* A changed key (binary, not terminated), or NULL: anything may have changed. */
typedef void (*meta_listen_fn)(void *arg, const char *key, size_t len);

/* Starts the thread; NULL if it cannot. timeout_ms bounds a PING's answer. */
struct meta_listen *meta_listen_start(meta_listen_connect_fn connect, void *connect_arg,
				      meta_listen_fn fn, void *fn_arg, unsigned timeout_ms);
/* The client id reports go to while subscribed, else 0. Any thread. */
uint64_t meta_listen_id(const struct meta_listen *ls);
/* Whether every report that reached this process has been handed on: the
 * connection is up, nothing waits on its socket, nothing is being handled.
 * A cached answer is served only then, so that a change whose report has
 * arrived is never answered from before it, however late the thread runs.
 * Any thread; one poll(2), which an event loop's thread skips while it
 * has read no client input since its last check found everything settled. */
bool meta_listen_settled(struct meta_listen *ls);
/* Stops the thread and frees it. */
void meta_listen_stop(struct meta_listen *ls);

#endif
