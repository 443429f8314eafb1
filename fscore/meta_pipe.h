/*
 * One pipelined Redis connection per event loop, for the coroutines of that
 * loop (meta.c routes their commands here). Every command a round of the
 * loop produces leaves in one write, and every reply that has arrived is
 * read in one: with many requests in flight this replaces a system call
 * pair and a thread switch per command by a few per round, on both sides.
 *
 * Replies are matched to commands by order, so a connection that fails or
 * times out fails every command still waiting on it; the caller retries
 * (mutating scripts carry operation ids and run once).
 */
#ifndef MCFS_META_PIPE_H
#define MCFS_META_PIPE_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "evloop.h"

struct meta_pipe;

/* Opens a connected, authenticated socket (may block: runs on the
 * blocking pool). Returns 0 and the fd, or a negative errno. */
typedef int (*meta_pipe_connect_fn)(void *arg, int *fd);

struct meta_pipe *meta_pipe_new(struct evloop *l, meta_pipe_connect_fn connect, void *arg,
				unsigned timeout_ms);
/* fn(arg) runs on the loop's thread whenever the connection is lost (what
 * the server kept for it, such as key tracking, is gone with it). */
void meta_pipe_on_fail(struct meta_pipe *p, void (*fn)(void *arg), void *arg);
/* fn(arg, reply) runs on the loop's thread with the reply to each ROLE the
 * pipe sends for meta_pipe_call_offset, before the calls it answers for
 * return. */
void meta_pipe_on_offset(struct meta_pipe *p, void (*fn)(void *arg, const redisReply *role),
			 void *arg);
/* Closes it; its loop must not be running (or be gone). */
void meta_pipe_free(struct meta_pipe *p);

/* On a coroutine of the pipe's loop: sends the nbufs pieces of already
 * formatted commands, parks until `want` replies have come, and stores them
 * in replies[] (the caller frees them). Returns 0, or the connection's
 * negative errno (-ETIMEDOUT after the timeout, -ECONNRESET, ...) with no
 * reply. */
int meta_pipe_call(struct meta_pipe *p, const char *const *bufs, const size_t *lens, int nbufs,
		   int want, redisReply **replies);
/* meta_pipe_call for a command after which the caller needs the server's
 * replication offset (read-your-writes through a replica): one ROLE goes
 * out after the last such command of the loop's round, for all of them,
 * where a ROLE behind each cost the primary a command per write; its reply
 * goes to the meta_pipe_on_offset function before any of them returns.
 * The ROLE's failure fails them all. */
int meta_pipe_call_offset(struct meta_pipe *p, const char *const *bufs, const size_t *lens,
			  int nbufs, int want, redisReply **replies);

#endif
