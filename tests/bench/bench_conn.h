/* Connections and the event loop of mcfs-nfsbench. Each connection is its own
 * nfs_context (its own TCP connection), mounted with libnfs's sync API so the
 * URL's ports, version and credentials are libnfs's business; requests then
 * go through its raw rpc_context. One thread polls all the sockets and keeps
 * depth requests in flight on each connection.
 *
 * A slot is one request in flight: its start time, what it is about, and a
 * payload buffer reused from request to request, so nothing is allocated per
 * request by us. A workload's issue function fills a free slot and sends; its
 * libnfs callback checks the reply and ends the slot (slot_end). */
#ifndef MCFS_BENCH_CONN_H
#define MCFS_BENCH_CONN_H

#include "bench.h"

struct bench_slot {
	struct bench *b;
	struct bench_conn *c;
	uint64_t t0;	  /* ns, when the request (or its first RPC) was sent */
	uint64_t arg;	  /* offset, or file number: what error messages name */
	uint64_t off;	  /* offset read or written */
	uint64_t seed;	  /* pattern seed of the data read or written */
	uint64_t fsize;	  /* size of the file read, to judge eof */
	uint32_t len;	  /* bytes asked for */
	char *buf;	  /* BENCH_IO_MAX bytes of write payload */
	void *out;	  /* where a one-off request leaves its result */
	const char *name; /* names the object in messages instead of arg */
	char fname[16];	  /* a small file's name */
	bool busy;
};

struct bench_conn {
	struct nfs_context *nfs;
	struct rpc_context *rpc;
	struct bench_slot *slots; /* depth of them */
	int index;
	int inflight;
	bool timed_out; /* a request got no reply in time: lose the connection */
	bool dead;
};

/* Mounts o.conns connections and fetches the export's root handle.
 * 0 or negative errno (said on stderr). */
int conn_open_all(struct bench *b);
void conn_close_all(struct bench *b);

/* Runs until issue has nothing more to start and no request is in flight
 * (issue NULL: only waits for those in flight). Errors land in b->cur; the
 * first one stops further starts. 0, or -EIO when this run saw errors. */
int conn_run(struct bench *b, bench_issue_fn issue);

/* conn_run as the timed part of r: b->cur = r, from the first request sent
 * to the last reply received. */
int conn_run_timed(struct bench *b, struct bench_result *r, bench_issue_fn issue);

/* A free slot on the first live connection, for one-off requests; NULL if
 * every connection is lost. */
struct bench_slot *conn_spare_slot(struct bench *b);

/* Marks the slot busy from now; clears its name. */
void slot_begin(struct bench_slot *s, uint64_t arg);
/* Frees the slot; returns the request's latency in ns (0 if it was already
 * given up on). */
uint64_t slot_end(struct bench_slot *s);
/* slot_end, and the latency recorded in b->cur unless the slot was given up on. */
void slot_done(struct bench_slot *s);
/* Names the slot after small file i (fname, name). */
void slot_name(struct bench_slot *s, uint64_t i);
/* For an RPC that could not be queued: says why (what names the request) and
 * frees the slot. Returns -EIO, for issue functions to return. */
int slot_send_failed(struct bench_slot *s, const char *what);

/* The checks every callback starts with. slot_rpc_ok: false (and the error
 * recorded) if the RPC got no reply; false and nothing recorded for a slot
 * already given up on. slot_nfs_ok: false (and the error recorded) unless the
 * reply's status is NFS3_OK. what names the request in messages, followed by
 * slot->name or else slot->arg ("WRITE at" 4096). */
bool slot_rpc_ok(struct bench_slot *s, int status, void *data, const char *what);
bool slot_nfs_ok(struct bench_slot *s, int nfsstat, const char *what);

#endif
