/*
 * Internals shared by transport.c (listening sockets, loops, start/stop),
 * transport_conn.c (TCP connections: record marking, replies, send queue)
 * and transport_req.c (requests on coroutines, UDP).
 *
 * Threads and ownership:
 *  - The transport runs one event loop per thread (struct rpc_loop, on
 *    fscore's evloop). Loop 0 owns the listening socket and the UDP socket;
 *    each accepted connection is handed to one loop, round robin, and from
 *    then on only that loop reads it, registers it with epoll or closes it.
 *  - Every request runs on a coroutine of its connection's loop. Its reply
 *    is queued on the connection and sent, with the others of the same round,
 *    by the loop's flush hook: one sendmsg per connection per round.
 *  - A reply from another thread (a handler may hand its request on) is
 *    queued the same way under conn->lock, and the loop is asked to send it
 *    by putting the connection on its kick list.
 *  - A connection is freed on its last reference: one held by its loop
 *    while it is open, one per request in flight, one while it is kicked or
 *    waiting for the flush hook.
 */
#ifndef MCFS_GATEWAY_TRANSPORT_IMPL_H
#define MCFS_GATEWAY_TRANSPORT_IMPL_H

#include "transport.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "evloop.h"

#define RPC_DEFAULT_MAX_RECORD	 (1024 * 1024 + 64 * 1024)
#define RPC_DEFAULT_MAX_INFLIGHT 64
#define RPC_DEFAULT_MAX_CONNS	 4096
#define RPC_UDP_MAX_DATAGRAM	 65536
/* All UDP clients share one socket, so they share one bound on requests in flight. */
#define RPC_UDP_MAX_INFLIGHT 1024
/* Stop reading a connection while this much of its replies is still unsent. */
#define RPC_OUT_PAUSE_BYTES (2u * 1024 * 1024)
/* A client that lets this much pile up is not reading: close it. */
#define RPC_OUT_MAX_BYTES (32u * 1024 * 1024)
/* Queued replies that make no progress for this long (or idle_timeout_s if
 * shorter): close the connection. */
#define RPC_OUT_STALL_MS (60 * 1000)
/* Empty non-last fragments carry nothing; a few are tolerated per record. */
#define RPC_MAX_EMPTY_FRAGMENTS 64
/* One read into the loop's buffer; also the most a paused connection holds unparsed. */
#define RPC_READ_CHUNK (256 * 1024)
/* Reads per readiness event before the loop moves on to other connections. */
#define RPC_READS_PER_EVENT 4
/* Larger records make no sense for NFS and would overflow the size arithmetic. */
#define RPC_MAX_RECORD_LIMIT 0x7fffffffu
/* How long stop() waits for requests in flight before closing regardless. */
#define RPC_STOP_DRAIN_MS (30 * 1000)
/* Loops at most (one per core is the default). */
#define RPC_MAX_LOOPS 64

/* Reply bytes not sent yet: a copy, a buffer the transport adopted, or a
 * range of an open file (data NULL, fd >= 0: len bytes from file_off). */
struct out_chunk {
	struct out_chunk *next;
	uint8_t *data; /* record mark and message */
	size_t len, off;
	void *owned; /* freed once sent; NULL when data is inline */
	int fd;	     /* closed once sent; -1 for bytes in memory */
	uint64_t file_off;
	uint8_t inline_data[];
};

struct rpc_loop;

struct rpc_conn {
	struct ev_watch watch; /* first */
	struct rpc_transport *t;
	struct rpc_loop *loop;
	atomic_uint refs;
	bool udp;
	uint64_t id; /* 0 for the UDP socket */

	/* Its loop's thread only. */
	struct rpc_conn *prev, *next; /* open connections of the loop */
	bool open;		      /* registered with the loop (not yet closed) */
	uint8_t hdr[4];		      /* record mark being read */
	unsigned hdr_have;
	uint32_t frag_left;
	bool frag_last;
	unsigned empty_frags;
	uint8_t *rec; /* record being reassembled */
	size_t rec_len, rec_cap;
	uint8_t *pend; /* read but not parsed while the connection is paused */
	size_t pend_len, pend_off;
	long long last_rx_ms;
	struct sockaddr_storage peer, local;
	socklen_t peer_len, local_len;
	bool flush_queued; /* on the loop's flush list (holds a reference) */
	struct rpc_conn *flush_next;

	/* Under lock (its loop may read fields only it writes without it). */
	pthread_mutex_t lock;
	int fd;	     /* -1 once closed */
	bool dead;   /* closed by the loop: replies are discarded */
	bool doomed; /* a reply asks the loop to close it */
	bool eof;    /* the peer shut its side: close once answered */
	bool paused; /* reads stopped for back-pressure; a reply should kick */
	unsigned inflight;
	struct out_chunk *out_head, *out_tail;
	size_t out_bytes;
	long long out_progress_ms; /* last time the queue moved (or started) */

	/* Under loop->kick_lock. */
	bool kicked;
	struct rpc_conn *kick_next;
};

/* A request as the transport keeps it; handlers see only .req. */
struct rpc_item {
	struct rpc_request req; /* first */
	uint8_t *buf;		/* owns req.data */
	size_t ctl_len;		/* UDP: source-address control message for the reply */
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
};

struct rpc_loop {
	struct rpc_transport *t;
	struct evloop *ev;
	unsigned index;
	pthread_t thread;
	bool started;
	/* Connections handed to this loop and not closed yet (any thread). */
	atomic_uint assigned;

	/* Loop thread only. */
	struct rpc_conn *conns;
	unsigned nconns;
	uint8_t *rbuf;		     /* RPC_READ_CHUNK */
	struct rpc_conn *flush_head; /* connections with replies to send this round */
	struct ev_hook flush_hook;
	struct ev_timer scan_timer;
	bool stop_seen, drain_reported;

	pthread_mutex_t kick_lock;
	struct rpc_conn *kick_head;
	bool kick_posted;
	struct ev_task kick_task;
};

struct rpc_transport {
	struct rpc_transport_config cfg; /* defaults filled in */
	rpc_handler_fn handler;
	void *handler_arg;
	uint16_t port;

	int lfd;
	struct ev_watch listen_watch;
	struct ev_timer accept_timer; /* accepting paused after EMFILE and such */
	struct rpc_conn *udp;	      /* NULL without UDP; on loop 0 */
	bool udp_pktinfo; /* bound to a wildcard: learn and reuse each datagram's destination */
	uint8_t *ubuf;	  /* RPC_UDP_MAX_DATAGRAM + 1, loop 0 */
	unsigned next_loop;
	atomic_uint total_conns;
	long long log_refuse_ms, log_oversize_ms, log_bad_ms;

	unsigned nloops;
	struct rpc_loop loops[RPC_MAX_LOOPS];

	atomic_bool stopping; /* stop reading and accepting; close connections once answered */
	atomic_bool aborting; /* the drain deadline passed: drop queued requests unanswered */

	/* Requests not yet released, and loops that have closed all their connections. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long live;
	unsigned drained;

	struct {
		atomic_uint_fast64_t next_conn_id;
		atomic_uint_fast64_t conns_accepted, conns_open, requests, replies, dropped,
		    oversize, bad_records, file_replies, file_bytes;
	} st;
};

long long rpc_now_ms(void);
/* True at most once per second per *last: keeps a flood of bad clients out of the log. */
bool rpc_log_ratelimit(long long *last);
/* Asks c's loop to look at c again (send, epoll interest, close, resume reading). */
void rpc_conn_kick(struct rpc_conn *c);
void rpc_conn_put(struct rpc_conn *c);
/* A request read from c owning buf; NULL without memory (buf is then not freed). */
struct rpc_item *rpc_item_new(struct rpc_conn *c, uint8_t *buf, size_t len,
			      const struct sockaddr_storage *peer, socklen_t peer_len,
			      const struct sockaddr_storage *local);
/* Starts the handler on a coroutine of the request's loop. */
void rpc_item_start(struct rpc_item *it);
/* Whether another request may be read now (conn->lock held). */
bool rpc_conn_may_read_locked(const struct rpc_conn *c);
/* One request of c is answered or dropped (conn->lock held); true: kick the loop. */
bool rpc_conn_done_locked(struct rpc_conn *c);
/* "addr:port" for logs. */
void rpc_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);
void rpc_item_release(struct rpc_item *it);
/* The loop thread of c is the calling thread. */
bool rpc_conn_on_own_loop(const struct rpc_conn *c);
/* Queues c for the loop's flush hook (its loop thread). */
void rpc_conn_flush_later(struct rpc_conn *c);
/* Tells stop() once the stopping loop has closed its last connection. */
void rpc_loop_report_drained(struct rpc_loop *l);

/* transport_req.c */
/* Reads datagrams until the socket is empty, the bound on requests is hit, or enough for now. */
void rpc_udp_read(struct rpc_transport *t);
/* Sets the UDP socket's epoll interest from its state. */
void rpc_udp_update(struct rpc_transport *t);

/* transport_conn.c: TCP connections, on their loop's thread unless noted. */
int rpc_conn_open(struct rpc_loop *l, int fd, const struct sockaddr_storage *peer,
		  socklen_t peer_len);
void rpc_conn_close(struct rpc_conn *c, const char *why);
void rpc_conn_update(struct rpc_conn *c);
/* Sends what the queue holds, as far as the socket takes it. */
void rpc_conn_flush(struct rpc_conn *c);
/* Closes connections idle or stalled for too long. */
void rpc_conn_scan(struct rpc_loop *l, long long now);
/* Any thread: queues one reply (copied, or buf adopted when owned). */
int rpc_conn_send_reply(struct rpc_conn *c, const void *msg, size_t len, void *owned);
/* The same for a reply whose message is followed by flen bytes of fd from
 * off (and the XDR padding after them); owned and fd are taken even on error. */
int rpc_conn_send_reply_file(struct rpc_conn *c, const void *msg, size_t len, void *owned,
			     const struct rpc_file_range *file);

#endif
