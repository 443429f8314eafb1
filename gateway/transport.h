/*
 * The RPC transport of the gateway: one event loop per core owns its share
 * of the sockets (TCP with record marking, and UDP), and runs each request
 * on a coroutine (fscore's coro.h), so that a request waiting for Redis or a
 * bucket parks instead of holding a thread. Replies may go out in any order
 * (clients match them by XID); those of one round leave in one send.
 * Each connection has a bound on requests in flight (back-pressure: the loop
 * stops reading a connection that is at its bound) and on record size.
 *
 * libtirpc's svc_run is single-threaded and not safe to share between
 * threads, so this is written directly on sockets.
 */
#ifndef MCFS_GATEWAY_TRANSPORT_H
#define MCFS_GATEWAY_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rpc_transport;
struct rpc_conn;

/* One request: a whole RPC message (record marks removed). */
struct rpc_request {
	struct rpc_conn *conn; /* opaque; pass back to rpc_request_reply() */
	uint64_t conn_id;      /* unique for the transport's life; 0 for UDP */
	const uint8_t *data;
	size_t len;
	struct sockaddr_storage peer; /* the client's address and source port */
	socklen_t peer_len;
	struct sockaddr_storage local; /* the address the client connected to */
	bool udp;
};

/* Called on a coroutine of an event loop for every request. It must end with
 * exactly one call to rpc_request_reply(), rpc_request_reply_adopt() or
 * rpc_request_drop(); the request (and its data) stays valid until then. It
 * may wait (coroutines park), but must not block its thread: see coro.h. */
typedef void (*rpc_handler_fn)(struct rpc_request *req, void *arg);

struct rpc_transport_config {
	const char *listen_addr; /* numeric IPv4/IPv6 address, e.g. "127.0.0.1" or "::" */
	uint16_t port;		 /* 0: pick a free one (see rpc_transport_port) */
	bool udp;		 /* also serve UDP on the same port */
	unsigned loops;		 /* event loop threads; 0: one per core */
	size_t max_record;	 /* largest request accepted; default 1 MiB + 64 KiB */
	unsigned max_inflight;	 /* per connection; default 64 */
	unsigned max_conns;	 /* default 4096 */
	unsigned idle_timeout_s; /* close idle TCP connections; 0 = never (default 0) */
	/* Told (on a coroutine) when a TCP connection closes, so that state
	 * bound to it (NFSv4.1 sessions) can let go. May be NULL. */
	void (*conn_closed)(uint64_t conn_id, void *arg);
};

int rpc_transport_start(const struct rpc_transport_config *cfg, rpc_handler_fn handler, void *arg,
			struct rpc_transport **out);
/* The bound port (useful when cfg->port was 0). */
uint16_t rpc_transport_port(const struct rpc_transport *t);
/* Stops accepting, waits for requests in flight to be answered, closes all. */
void rpc_transport_stop(struct rpc_transport *t);

/* Sends a reply (a whole RPC message; the record mark is added here) and
 * releases the request. Safe from any thread. The buffer is copied or
 * consumed before return. Returns 0 or -errno (the connection is gone: the
 * reply is dropped, which is what a client that went away expects). */
int rpc_request_reply(struct rpc_request *req, const void *msg, size_t len);
/* Room the caller leaves before the message in rpc_request_reply_adopt(). */
#define RPC_REPLY_HEADROOM 4
/* The same, without a copy: the message is at buf + RPC_REPLY_HEADROOM, len
 * bytes, and buf (malloc'd) is the transport's from now on, even on error. */
int rpc_request_reply_adopt(struct rpc_request *req, void *buf, size_t len);
/* Bytes of an open file that end a reply: sent by sendfile(2), so the
 * kernel hands the file's pages to the socket without a copy in user space. */
struct rpc_file_range {
	int fd;
	uint64_t off;
	size_t len;
};
/* Whether req's connection can take rpc_request_reply_file() (TCP can, UDP not). */
static inline bool rpc_request_can_send_file(const struct rpc_request *req)
{
	return req && !req->udp;
}
/* rpc_request_reply_adopt() for a message that ends where the bytes of an
 * XDR opaque of file->len bytes begin: they follow from the file, and the
 * padding after them is added here. The transport owns buf and file->fd
 * from now on, even on error. */
int rpc_request_reply_file(struct rpc_request *req, void *buf, size_t len,
			   const struct rpc_file_range *file);
/* Releases the request without answering (e.g. a duplicate still in progress). */
void rpc_request_drop(struct rpc_request *req);

struct rpc_transport_stats {
	uint64_t conns_accepted, conns_open, requests, replies, dropped, oversize, bad_records;
	/* Replies that ended with bytes of a file, and how many of those. */
	uint64_t file_replies, file_bytes;
};
void rpc_transport_stats(struct rpc_transport *t, struct rpc_transport_stats *out);

#endif
