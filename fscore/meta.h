/*
 * The Redis connection layer of the metadata engine: a small pool of hiredis
 * connections, reconnect with bounded backoff, and Lua scripts called by
 * name (EVALSHA, reloaded after a server restart). Thread-safe.
 *
 * Errors: -ECONNREFUSED / -ETIMEDOUT / -EHOSTUNREACH (server unreachable
 * after retries), -EACCES (authentication), -EROFS (a read-only replica),
 * -EIO (an error reply; logged), -ENOMEM.
 */
#ifndef MCFS_META_H
#define MCFS_META_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "meta_reply.h"
#include "retry.h"

struct meta_script {
	const char *name;
	const char *source;
};
/* Every script of fscore/lua, terminated by {NULL, NULL} (generated), for
 * EVAL; and all of them as one library of Redis functions, each named
 * NAME_TAG (FCALL), which calls use where the server has functions. */
extern const struct meta_script meta_scripts[];
extern const char meta_library[];
extern const char meta_library_tag[];

struct meta_options {
	const char *url;      /* redis://HOST:PORT[/DB] */
	const char *password; /* NULL: from the URL, else none */
	unsigned pool_size;   /* connections; 0 = 8 */
	unsigned timeout_ms;  /* connect and per-command timeout; 0 = 5000 */
	struct retry_policy retry;
};

struct meta;

int meta_connect(const struct meta_options *opt, struct meta **out, char *err, size_t errlen);
void meta_close(struct meta *m);
/* The URL without any password. */
const char *meta_describe(const struct meta *m);

/* A command as an argument vector (binary safe). The reply is the caller's to
 * meta_reply_free(); an error reply becomes a negative errno and no reply. */
int meta_cmd(struct meta *m, redisReply **reply, int argc, const char **argv, const size_t *lens);
/* printf-style convenience for simple commands (hiredis format rules). */
int meta_cmdf(struct meta *m, redisReply **reply, const char *fmt, ...);
/* A command already in the Redis protocol (redisFormatCommand). */
int meta_cmd_formatted(struct meta *m, redisReply **reply, const char *cmd, size_t len);
/* Runs script `name` with KEYS[1] = key and ARGV = argv. */
int meta_eval(struct meta *m, const char *name, const char *key, int argc, const char **argv,
	      const size_t *lens, redisReply **reply);
/* The same for a script that changes something, ARGV[1] being its operation
 * id: a call tried again (after a lost connection: the first try may have
 * been applied) gets a '+' after the id, so that the script knows to look
 * for what an earlier try did, and only then. */
int meta_eval_op(struct meta *m, const char *name, const char *key, int argc, const char **argv,
		 const size_t *lens, redisReply **reply);

/* Read-your-writes through replicas: once enabled, every command on m is
 * followed, in the same round trip, by ROLE, and m remembers the highest
 * replication offset the server reported after it. A replica that has
 * applied that offset holds everything this process changed. */
void meta_track_offset(struct meta *m);
long long meta_written_offset(const struct meta *m);

/* What ROLE says about this server: its replication offset (a replica: the
 * primary's offset it has applied; -1 while it syncs), whether it is a
 * replica, and whether its link to the primary is up. One attempt. */
struct meta_role {
	long long offset;
	bool replica;
	bool link_up;
};
int meta_role(struct meta *m, struct meta_role *out);

/* Client-side caching (Redis CLIENT TRACKING, RESP2 with a redirect): once
 * enabled, a listener connection receives Redis's reports of changed keys
 * and hands each to fn (a NULL key: anything may have changed, e.g. a
 * connection that carried tracking broke). The *_track calls below then ask
 * Redis to report the next change of what the command reads, and set
 * *tracked when it will: only on a coroutine's pipeline, with the listener
 * up. What a command reads is its keys; for a script, Redis 7 tracks the
 * keys it declares (KEYS) and reads, not the ones it builds. Changes made by
 * the same connection are not reported to it (NOLOOP): the caller forgets
 * what its own changes touched. Call before the loops start using m. */
typedef void (*meta_invalidate_fn)(void *arg, const char *key, size_t len);
int meta_tracking_enable(struct meta *m, meta_invalidate_fn fn, void *arg);
/* Every report that reached this process has been handed to fn
 * (meta_listen_settled): what is cached may be served. */
bool meta_tracking_settled(struct meta *m);
int meta_cmd_track(struct meta *m, redisReply **reply, int argc, const char **argv,
		   const size_t *lens, bool *tracked);
/* meta_eval of a read-only script with watch declared as KEYS[2], a key
 * it reads, so that Redis tracks it. */
int meta_eval_track(struct meta *m, const char *name, const char *key, const char *watch, int argc,
		    const char **argv, const size_t *lens, bool *tracked, redisReply **reply);
/* meta_eval_op with watch declared as KEYS[2]: the key the script reads
 * back, so that Redis tracks it. */
int meta_eval_op_track(struct meta *m, const char *name, const char *key, const char *watch,
		       int argc, const char **argv, const size_t *lens, bool *tracked,
		       redisReply **reply);

/* A fresh id for a mutating script (so a retried call is applied once). */
void meta_new_opid(char out[33]);

#endif
