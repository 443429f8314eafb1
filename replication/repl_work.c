/* Copies in flight: one task per change-log entry, one job per block on
 * the copy pool (coroutines on one event loop, copool.h, so that S3 copies
 * run on the loop's libcurl multi handle, many at once on one thread); an
 * entry is acknowledged only when every block is in the target. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"
#include "layout.h"
#include "log.h"
#include "replicator_impl.h"

long long repl_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void block_done(struct repl_task *t, uint32_t len, int result)
{
	struct replicator *r = t->r;
	pthread_mutex_lock(&r->lock);
	if (result == REPL_COPIED) {
		r->totals.objects++;
		r->totals.bytes += len;
	} else if (result == REPL_MISSING) {
		r->totals.missing++;
	} else if (result < 0 && t->error == 0) {
		t->error = result;
	}
	if (--t->remaining == 0) {
		t->next = r->done;
		r->done = t;
		pthread_cond_broadcast(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
}

/* A bundle is submitted at this many blocks or bytes: enough to make the
 * switch to a worker rare, few enough that bundles still run side by side. */
#define BUNDLE_JOBS  16
#define BUNDLE_BYTES (1u << 20)

static void copy_one(struct repl_job *j)
{
	struct repl_task *t = j->task;
	struct replicator *r = t->r;
	uint32_t len = j->len;
	pthread_mutex_lock(&r->lock);
	bool stopping = r->stopping;
	pthread_mutex_unlock(&r->lock);
	/* Copies not begun when a stop comes stay pending: the next worker
	 * (or this one restarted) does them, and the stop is quick. */
	if (stopping) {
		block_done(t, len, -ECANCELED);
		return;
	}
	char key[256];
	int res = layout_block_key(key, sizeof(key), r->vol.name, t->e.slice, j->index, len);
	if (res >= 0)
		res = repl_copy_block(&r->copier, &t->plan, key, len, t->e.redelivered);
	if (res == REPL_MISSING)
		log_warn("block %s of slice %" PRIu64 " is in no bucket: freed meanwhile, or "
			 "lost (mcfs sync-check reports it)",
			 key, t->e.slice);
	block_done(t, len, res);
}

static void copy_job(void *arg)
{
	for (struct repl_job *j = arg, *next; j; j = next) {
		next = j->next; /* j may be freed once its block is done */
		copy_one(j);
	}
}

static void submit(struct replicator *r, struct repl_job *j)
{
	if (copool_submit(r->pool, copy_job, j) == 0)
		return;
	for (struct repl_job *next; j; j = next) {
		next = j->next;
		block_done(j->task, 0, -ENOMEM);
	}
}

static void bundle_flush(struct replicator *r)
{
	struct repl_job *b = r->bundle;
	r->bundle = r->bundle_tail = NULL;
	r->bundle_jobs = 0;
	r->bundle_bytes = 0;
	if (b)
		submit(r, b);
}

static void bundle_add(struct replicator *r, struct repl_job *j)
{
	if (r->bundle_tail)
		r->bundle_tail->next = j;
	else
		r->bundle = j;
	r->bundle_tail = j;
	r->bundle_bytes += j->len;
	if (++r->bundle_jobs >= BUNDLE_JOBS || r->bundle_bytes >= BUNDLE_BYTES)
		bundle_flush(r);
}

/* Copies between buckets on this machine are system calls, not waits on a
 * network: running them one after another on a worker costs nothing. */
static bool copies_local(struct replicator *r, const struct repl_plan *plan)
{
	struct objstore *dst = region_stores_get(r->stores, r->target);
	struct objstore *src =
	    plan->nsources ? region_stores_get(r->stores, plan->sources[0]) : NULL;
	return dst && src && objstore_is_local(dst) && objstore_is_local(src);
}

static int task_start(struct replicator *r, const struct repl_entry *e,
		      const struct repl_plan *plan)
{
	uint32_t blocks = layout_block_count(e->size, r->vol.block_size);
	struct repl_task *t = calloc(1, sizeof(*t) + blocks * sizeof(struct repl_job));
	if (!t)
		return -ENOMEM;
	*t = (struct repl_task){.r = r,
				.e = *e,
				.plan = *plan,
				.blocks = blocks,
				.remaining = blocks,
				.touched_ms = repl_mono_ms()};
	r->inflight[r->ninflight++] = t;
	bool local = copies_local(r, plan);
	for (uint32_t i = 0; i < blocks; i++) {
		t->jobs[i] = (struct repl_job){
		    .task = t, .index = i, .len = layout_block_len(e->size, r->vol.block_size, i)};
		if (local)
			bundle_add(r, &t->jobs[i]);
		else
			submit(r, &t->jobs[i]);
	}
	return 0;
}

static bool in_flight(const struct replicator *r, const char *sid)
{
	for (size_t i = 0; i < r->ninflight; i++)
		if (strcmp(r->inflight[i]->e.sid, sid) == 0)
			return true;
	return false;
}

static void ack(struct replicator *r, const char *const *ids, size_t n)
{
	int rc = repl_stream_ack(&r->stream, ids, n);
	r->acked |= rc == 0;
	if (rc < 0) {
		/* Copied but not acknowledged: read again later, found present, acknowledged. */
		log_warn("cannot acknowledge %zu entries: %s; retried later", n, strerror(-rc));
		work_retry_later(r);
	}
}

/* What to do with one entry: 1 acknowledge now, 0 started, <0 left pending. */
static int accept_one(struct replicator *r, const struct repl_entry *e)
{
	if (!e->valid) {
		log_warn("change-log entry %s is unreadable (trimmed?): skipped", e->sid);
		return 1;
	}
	struct repl_plan plan;
	int p = repl_plan_sources(r->regions, r->nregions, r->vol.source_region, e->origin,
				  r->target, &plan);
	if (p == 1)
		return 1; /* written into this very bucket */
	if (p < 0)
		return p;
	return task_start(r, e, &plan);
}

size_t work_accept(struct replicator *r, const struct repl_entry *e, size_t n)
{
	const char **acks = r->ids;
	size_t nack = 0, taken = 0;
	for (size_t i = 0; i < n && r->ninflight < r->cap; i++) {
		if (in_flight(r, e[i].sid))
			continue;
		int rc = accept_one(r, &e[i]);
		if (rc == 1)
			acks[nack++] = e[i].sid;
		else if (rc < 0)
			work_retry_later(r);
		taken++;
	}
	bundle_flush(r);
	if (nack)
		ack(r, acks, nack);
	return taken;
}

static void forget(struct replicator *r, struct repl_task *t)
{
	for (size_t i = 0; i < r->ninflight; i++)
		if (r->inflight[i] == t) {
			r->inflight[i] = r->inflight[--r->ninflight];
			return;
		}
}

/* Logged once until copies succeed again: a bucket that is down fails every
 * entry, again at every retry. */
static void note_failure(struct replicator *r, const struct repl_task *t)
{
	if (t->error == -ECANCELED)
		return;
	if (!r->failing)
		log_warn("slice %" PRIu64 " (entry %s) not copied: %s; left pending, retried "
			 "later (more such failures are logged at debug level)",
			 t->e.slice, t->e.sid, strerror(-t->error));
	else
		log_debug("slice %" PRIu64 " (entry %s) not copied: %s", t->e.slice, t->e.sid,
			  strerror(-t->error));
	r->failing = true;
}

void work_reap(struct replicator *r)
{
	pthread_mutex_lock(&r->lock);
	struct repl_task *list = r->done;
	r->done = NULL;
	pthread_mutex_unlock(&r->lock);
	const char **acks = r->ids;
	size_t nack = 0, failed = 0, left = 0;
	for (struct repl_task *t = list; t; t = t->next) {
		forget(r, t);
		if (t->error == 0) {
			acks[nack++] = t->e.sid;
			continue;
		}
		failed++;
		left += t->error == -ECANCELED;
		note_failure(r, t);
	}
	if (nack)
		ack(r, acks, nack);
	if (left)
		log_info("stopping: %zu entries not begun are left pending", left);
	if (failed) {
		work_retry_later(r);
	} else if (nack) {
		if (r->failing) {
			log_info("copies into region %s succeed again", r->region);
			r->pending_at = 0; /* the fault is over: retry the rest now */
		}
		r->failing = false;
		r->fail_rounds = 0;
	}
	while (list) {
		struct repl_task *t = list;
		list = t->next;
		free(t);
	}
}

void work_wait(struct replicator *r, int ms)
{
	struct timespec until = deadline_after_ms(CLOCK_REALTIME, ms);
	pthread_mutex_lock(&r->lock);
	if (!r->done)
		pthread_cond_timedwait(&r->cond, &r->lock, &until);
	pthread_mutex_unlock(&r->lock);
}

void work_touch(struct replicator *r, long long now)
{
	long long every = (long long)r->claim_after_s * 1000 / 3;
	const char **ids = r->ids;
	size_t n = 0;
	for (size_t i = 0; i < r->ninflight; i++)
		if (now - r->inflight[i]->touched_ms >= every) {
			ids[n++] = r->inflight[i]->e.sid;
			r->inflight[i]->touched_ms = now;
		}
	if (n && repl_stream_touch(&r->stream, ids, n) < 0)
		log_debug("could not renew %zu entries in flight", n);
}

void work_retry_later(struct replicator *r)
{
	static const struct retry_policy pending_retry = {
	    .max_attempts = 1000, .base_ms = 1000, .max_ms = 60000};
	long long now = repl_mono_ms();
	if (r->pending_scan && r->pending_at > now)
		return; /* one is scheduled: the failures of one round back off once */
	if (r->fail_rounds < 16)
		r->fail_rounds++;
	r->pending_scan = true;
	snprintf(r->pending_cursor, sizeof(r->pending_cursor), "0");
	r->pending_at = now + retry_backoff_ms(&pending_retry, r->fail_rounds);
}

void work_totals(struct replicator *r, struct repl_totals *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->totals;
	pthread_mutex_unlock(&r->lock);
}
