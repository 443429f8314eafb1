/*
 * Internals shared by transport.c (sockets, event loop, start/stop),
 * transport_req.c (requests, workers, UDP) and transport_conn.c (TCP
 * connections: record marking, replies, send queue).
 *
 * Threads and ownership:
 *  - The event loop owns every fd, the epoll set, the connection list and
 *    the read-side state of each connection. Only it calls epoll_ctl() and
 *    close().
 *  - Workers run handlers and send replies. A reply touches a connection
 *    only under conn->lock, and asks the loop for anything else (EPOLLOUT,
 *    resuming reads, closing) by putting the connection on the kick list
 *    and writing the eventfd.
 *  - A connection is freed on its last reference: one held by the loop
 *    while it is open, one per request in flight, one while it is kicked.
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
#define RPC_READ_CHUNK (64 * 1024)
/* Reads per readiness event before the loop moves on to other connections. */
#define RPC_READS_PER_EVENT 4
/* Larger records make no sense for NFS and would overflow the size arithmetic. */
#define RPC_MAX_RECORD_LIMIT 0x7fffffffu
/* How long stop() waits for requests in flight before closing regardless. */
#define RPC_STOP_DRAIN_MS (30 * 1000)

enum ev_kind { EV_LISTEN, EV_UDP, EV_WAKE, EV_CONN };

/* First member of anything registered with epoll (epoll_event.data.ptr). */
struct ev_src {
	enum ev_kind kind;
};

/* Reply bytes the socket did not take yet. */
struct out_chunk {
	struct out_chunk *next;
	size_t len, off;
	uint8_t data[];
};

struct rpc_conn {
	struct ev_src src; /* first */
	struct rpc_transport *t;
	atomic_uint refs;
	bool udp;
	uint64_t id; /* 0 for the UDP socket */

	/* Event-loop thread only. */
	struct rpc_conn *prev, *next; /* open connections */
	uint32_t ev_mask;	      /* what epoll currently watches */
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

	/* Under lock (the loop may read fields only it writes without it). */
	pthread_mutex_t lock;
	int fd;	     /* -1 once closed */
	bool dead;   /* closed by the loop: replies are discarded */
	bool doomed; /* a worker asks the loop to close it */
	bool eof;    /* the peer shut its side: close once answered */
	bool paused; /* reads stopped for back-pressure; a reply should kick */
	unsigned inflight;
	struct out_chunk *out_head, *out_tail;
	size_t out_bytes;
	long long out_progress_ms; /* last time the queue moved (or started) */

	/* Under t->kick_lock. */
	bool kicked;
	struct rpc_conn *kick_next;
};

/* A request as the transport keeps it; handlers see only .req. */
struct rpc_item {
	struct rpc_request req; /* first */
	struct rpc_item *next;	/* work queue */
	uint8_t *buf;		/* owns req.data */
	size_t ctl_len;		/* UDP: source-address control message for the reply */
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
};

struct rpc_transport {
	struct rpc_transport_config cfg; /* defaults filled in */
	rpc_handler_fn handler;
	void *handler_arg;
	uint16_t port;

	int epfd, wakefd, lfd;
	struct ev_src listen_src, wake_src;
	struct rpc_conn *udp; /* NULL without UDP */
	bool udp_pktinfo;     /* bound to a wildcard: learn and reuse each datagram's destination */
	pthread_t loop_thread;
	bool loop_started;
	atomic_bool stopping; /* stop reading and accepting; close connections once answered */
	atomic_bool exiting;  /* the loop closes everything and returns */
	atomic_bool aborting; /* the drain deadline passed: drop queued requests unanswered */

	/* Event-loop thread only. */
	struct rpc_conn *conns;
	unsigned nconns;
	bool stop_seen;
	long long accept_resume_ms; /* non-zero: accepting paused after EMFILE and such */
	long long next_scan_ms;
	long long log_refuse_ms, log_oversize_ms, log_bad_ms;
	uint8_t *rbuf; /* RPC_READ_CHUNK */
	uint8_t *ubuf; /* RPC_UDP_MAX_DATAGRAM + 1 */

	pthread_mutex_t kick_lock;
	struct rpc_conn *kick_head;

	/* Work queue. */
	pthread_mutex_t wq_lock;
	pthread_cond_t wq_cond;
	struct rpc_item *wq_head, *wq_tail;
	bool wq_stop;
	unsigned nworkers;
	pthread_t *workers;

	/* Requests not yet released, and the loop's report that all connections closed. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long live;
	bool drained;

	struct {
		atomic_uint_fast64_t next_conn_id;
		atomic_uint_fast64_t conns_accepted, conns_open, requests, replies, dropped,
		    oversize, bad_records;
	} st;
};

long long rpc_now_ms(void);
/* True at most once per second per *last: keeps a flood of bad clients out of the log. */
bool rpc_log_ratelimit(long long *last);
void rpc_wake(struct rpc_transport *t);
/* Asks the loop to look at c again (epoll interest, close, resume reading). */
void rpc_conn_kick(struct rpc_conn *c);
void rpc_conn_put(struct rpc_conn *c);
/* A request read from c owning buf; NULL without memory (buf is then not freed). */
struct rpc_item *rpc_item_new(struct rpc_conn *c, uint8_t *buf, size_t len,
			      const struct sockaddr_storage *peer, socklen_t peer_len,
			      const struct sockaddr_storage *local);
/* Hands the request to the workers. */
void rpc_item_queue(struct rpc_item *it);
/* Whether another request may be read now (conn->lock held). */
bool rpc_conn_may_read_locked(const struct rpc_conn *c);
/* One request of c is answered or dropped (conn->lock held); true: kick the loop. */
bool rpc_conn_done_locked(struct rpc_conn *c);
/* "addr:port" for logs. */
void rpc_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);
void rpc_item_release(struct rpc_item *it);

/* transport_req.c */
void *rpc_worker_main(void *arg);
/* Reads datagrams until the socket is empty, the bound on requests is hit, or enough for now. */
void rpc_udp_read(struct rpc_transport *t);
/* Sets the UDP socket's epoll interest from its state. */
void rpc_udp_update(struct rpc_transport *t);

/* transport_conn.c: TCP connections, on the loop thread unless noted. */
int rpc_conn_open(struct rpc_transport *t, int fd, const struct sockaddr_storage *peer,
		  socklen_t peer_len);
void rpc_conn_close(struct rpc_conn *c, const char *why);
void rpc_conn_on_event(struct rpc_conn *c, uint32_t events);
void rpc_conn_update(struct rpc_conn *c);
/* Closes connections idle or stalled for too long. */
void rpc_conn_scan(struct rpc_transport *t, long long now);
/* Any thread: sends or queues one reply; the caller releases the item. */
int rpc_conn_send_reply(struct rpc_conn *c, const void *msg, size_t len);

#endif
