/* Internals shared by the modules of the replication engine. */
#ifndef MCFS_REPLICATOR_IMPL_H
#define MCFS_REPLICATOR_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "copool.h"
#include "meta.h"
#include "region_stores.h"
#include "repl_copy.h"
#include "repl_limit.h"
#include "repl_progress.h"
#include "repl_stream.h"
#include "replicator.h"
#include "volume.h"

struct repl_task;

/* One block of a task. Blocks between local buckets go to the copy pool in
 * bundles (next), since a hand-off per copy cost more than the copy. */
struct repl_job {
	struct repl_task *task;
	uint32_t index;
	uint32_t len;	       /* the block's length */
	struct repl_job *next; /* the rest of its bundle */
};

/* One change-log entry being copied. */
struct repl_task {
	struct replicator *r;
	struct repl_entry e;
	struct repl_plan plan;
	uint32_t blocks;
	uint32_t remaining;	/* under r->lock */
	int error;		/* first failed block's, under r->lock */
	long long touched_ms;	/* when its idle time in the group was last reset */
	struct repl_task *next; /* in r->done */
	struct repl_job jobs[];
};

struct replicator {
	char meta_url[512], meta_password[256], region[64], consumer[128];
	struct mcfs_config cfg;
	unsigned transfers;
	uint64_t bandwidth, claim_after_s, deletion_delay_s;
	bool once;
	const volatile sig_atomic_t *stop_flag;

	struct meta *meta;
	struct volume_settings vol;
	struct region_info regions[MCFS_MAX_REGIONS];
	size_t nregions;
	uint16_t target;
	struct region_stores *stores;
	struct repl_stream stream;
	struct repl_limit limit;
	struct repl_copier copier;
	struct copool *pool;

	/* Owned by the main thread. */
	struct repl_task **inflight;
	size_t ninflight, cap;
	struct repl_job *bundle, *bundle_tail; /* not yet submitted */
	unsigned bundle_jobs;
	uint64_t bundle_bytes;
	struct repl_entry *batch; /* cap entries read at once */
	const char **ids;	  /* cap entry ids: scratch for one command */
	bool pending_scan;	  /* own pending entries are to be read again */
	char pending_cursor[REPL_ID_LEN];
	long long pending_at;
	unsigned fail_rounds;
	bool failing; /* copies fail (logged once) */
	char claim_cursor[REPL_ID_LEN];
	long long next_progress, next_claim, next_regions, next_reap, read_retry_at;
	long long next_read_at; /* new entries are not read before (READ_GATHER_MS) */
	unsigned read_faults;
	bool acked; /* entries acknowledged since the last publication */
	bool need_group;
	struct repl_totals published;

	pthread_mutex_t lock;
	pthread_cond_t cond;	   /* a task finished, or stopping */
	pthread_cond_t stop_cond;  /* stopping (for the deletion thread) */
	struct repl_task *done;	   /* finished tasks */
	struct repl_totals totals; /* this worker's, since start */
	bool stopping;
	pthread_t deleter;
	bool deleter_started;
};

/* repl_work.c: entries in, copies out. */
/* Starts copying entries (skipping those already in flight); acknowledges at
 * once those with nothing to copy. Returns how many were taken. */
size_t work_accept(struct replicator *r, const struct repl_entry *e, size_t n);
/* Acknowledges finished entries; failed ones stay pending for a later retry. */
void work_reap(struct replicator *r);
/* Waits up to ms for a copy to finish (or a stop). */
void work_wait(struct replicator *r, int ms);
/* Keeps other workers from claiming entries of slow copies still running. */
void work_touch(struct replicator *r, long long now);
/* Schedules reading own pending entries again after a backoff. */
void work_retry_later(struct replicator *r);
void work_totals(struct replicator *r, struct repl_totals *out);

long long repl_mono_ms(void);

#endif
