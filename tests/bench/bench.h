/* mcfs-nfsbench: the run's one context, passed to every module. It holds
 * the options, the connections, the handles of what the run created (the
 * directory, the big file, the small files), the results, and the state of
 * the workload that is running, so the libnfs callbacks (which get only a
 * slot) can reach all of it through slot->b and nothing is global. */
#ifndef MCFS_BENCH_H
#define MCFS_BENCH_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h> /* before libnfs.h, which uses struct timeval */
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs.h>

#include "bench_cpu.h"
#include "bench_pattern.h"
#include "bench_result.h"

#define BENCH_IO_MAX	(1u << 20) /* READ/WRITE size of the sequential workloads */
#define BENCH_SMALL	4096	   /* size of a small file, and of a random read */
#define BENCH_CONNS_MAX 64
#define BENCH_DEPTH_MAX 256
#define BENCH_FILES_MAX 999999 /* names are f + 6 digits */
#define BENCH_BIG_NAME	"bigfile"

enum bench_wl {
	WL_SEQWRITE,
	WL_SEQREAD,
	WL_RANDREAD,
	WL_CREATE,
	WL_STAT,
	WL_READDIR,
	WL_REMOVE,
	WL_COUNT
};

struct bench_opts {
	const char *url;
	const char *label;
	const char *dir;
	int conns;
	int depth;
	int timeout_s;
	uint64_t file_size;
	uint32_t files;
	uint64_t rand_ops;
	unsigned workloads; /* bit (1u << enum bench_wl) per selected workload */
	uint64_t seed;
	uint64_t min_time_ns; /* read workloads repeat whole passes until this long */
	bool lat;
	struct cpu_pids cpu; /* --cpu-of: the server's processes */
};

struct bench_fh {
	uint32_t len; /* 0: no such object (not created, or removed) */
	bool maybe;   /* a CREATE went out: the file may exist, handle or not */
	char data[NFS3_FHSIZE];
};

/* One connection's READDIRPLUS chain in the readdir workload. */
struct bench_listing {
	cookie3 cookie;
	cookieverf3 verf;
	uint8_t *seen;	  /* a bit per small file */
	uint64_t entries; /* small files seen in this pass */
	uint64_t listed;  /* small files seen in the passes before */
	unsigned others;  /* bits: ".", "..", the big file (each may be listed once) */
	bool busy, eof;
};

/* What the running workload hands out and checks against. */
struct bench_job {
	uint64_t next;		/* next item (request number, file number) to start */
	uint64_t total;		/* items in all (passes times pass) */
	uint64_t pass;		/* items in one pass over the data */
	uint64_t passes;	/* started */
	uint64_t stride;	/* between items, for the sampled checks */
	uint64_t rng;		/* random offsets */
	uint64_t seed;		/* pattern seed of the big file */
	enum bench_wl producer; /* whose data a failed content check blames too */
	writeverf3 verf;	/* the first WRITE's verifier */
	bool have_verf;
	struct bench_listing *lists; /* readdir: one per connection */
};

struct bench;
struct bench_conn;
struct bench_slot;

/* Starts a workload's next request on the free slot s: 1 when started, 0
 * when there is nothing to start now, negative errno when it failed. */
typedef int (*bench_issue_fn)(struct bench *b, struct bench_slot *s);

struct bench {
	struct bench_opts o;
	char *server;	   /* from the URL */
	char *export_path; /* from the URL */
	struct bench_conn *conns;
	int alive; /* connections not lost */
	struct pattern pat;
	uint32_t io_size; /* BENCH_IO_MAX, or less if the server says so */
	struct bench_fh root, dir, big;
	struct bench_fh *small; /* o.files of them */
	bool small_verified;	/* the read-back check of the small files ran */
	struct bench_job job;
	struct bench_result res[WL_COUNT];
	struct bench_result setup; /* errors of the untimed steps around the workloads */
	struct bench_result *cur;  /* where the running requests' errors and latencies go */
	bool stop;		   /* an error was seen: start nothing more */
	uint64_t next_tick;	   /* when to let libnfs scan for timeouts again */
};

/* The fh as libnfs wants it in arguments (pointing into f, not copied). */
static inline nfs_fh3 bench_fh3(const struct bench_fh *f)
{
	nfs_fh3 h;
	h.data.data_len = f->len;
	h.data.data_val = (char *)f->data;
	return h;
}

static inline void bench_job_reset(struct bench_job *j, uint64_t total)
{
	j->next = 0;
	j->total = j->pass = total;
	j->passes = 1;
	j->stride = 1;
	j->have_verf = false;
}

/* Whether a workload that may repeat (--min-time) goes on: its timed
 * interval has not lasted min_time yet. A short interval is at the mercy of
 * one scheduling hiccup of a shared machine. */
static inline bool bench_wants_more(const struct bench *b)
{
	return b->o.min_time_ns && !b->stop && now_ns() - b->cur->t_start < b->o.min_time_ns;
}

/* One more pass of the job, if the workload goes on. */
static inline bool bench_job_another_pass(struct bench *b)
{
	struct bench_job *j = &b->job;
	if (!bench_wants_more(b))
		return false;
	j->total += j->pass;
	j->passes++;
	return true;
}

/* The timed interval of a figure: its clock, and the server's CPU time when
 * its processes were named (--cpu-of). */
static inline void bench_interval_start(struct bench *b, struct bench_result *r)
{
	r->cpu_start = cpu_pids_ns(&b->o.cpu);
	r->t_start = now_ns();
}

static inline void bench_interval_end(struct bench *b, struct bench_result *r)
{
	r->t_end = now_ns();
	int64_t cpu = cpu_pids_ns(&b->o.cpu);
	r->cpu_ns = r->cpu_start >= 0 && cpu >= r->cpu_start ? cpu - r->cpu_start : -1;
}

/* Keeps a handle from a reply; -EPROTO if it cannot be an NFSv3 handle. */
static inline int bench_fh_set(struct bench_fh *f, const nfs_fh3 *h)
{
	if (h->data.data_len == 0 || h->data.data_len > NFS3_FHSIZE)
		return -EPROTO;
	memcpy(f->data, h->data.data_val, h->data.data_len);
	f->len = h->data.data_len;
	return 0;
}

#endif
