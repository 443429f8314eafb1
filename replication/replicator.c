/* The replication engine: start-up, the main loop and its timers, the
 * deletion thread; see replicator.h. Copies themselves are in repl_work.c. */
#include "replicator.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deletion_log.h"
#include "log.h"
#include "region.h"
#include "replicator_impl.h"
#include "thread_name.h"

#define PROGRESS_MS	 1000
#define PROGRESS_SOON_MS 200
#define REGIONS_MS	 30000
#define REAP_MS		 60000
#define DELETIONS_MS	 2000
#define READ_BLOCK_MS	 500
/* After a read of new entries that did not fill its room, the next waits
 * this long, so that entries arriving one by one are read (and acknowledged)
 * in batches rather than a read per entry or two: a read costs the source
 * primary, which serves every region, several times what one entry does.
 * It adds at most this much to the replication lag. */
#define READ_GATHER_MS 10
/* A consumer with nothing pending, silent this long, is a dead worker's. */
#define DEAD_CONSUMER_MS (3600 * 1000)

static const struct retry_policy fault_retry = {
    .max_attempts = 1000, .base_ms = 200, .max_ms = 10000};

int replicator_create(const struct replicator_options *o, struct replicator **out)
{
	struct replicator *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	snprintf(r->meta_url, sizeof(r->meta_url), "%s", o->meta_url);
	snprintf(r->meta_password, sizeof(r->meta_password), "%s",
		 o->meta_password ? o->meta_password : "");
	snprintf(r->region, sizeof(r->region), "%s", o->region);
	snprintf(r->consumer, sizeof(r->consumer), "%s", o->consumer);
	r->cfg = *o->cfg;
	r->transfers = o->transfers ? o->transfers : 16;
	r->bandwidth = o->bandwidth;
	r->claim_after_s = o->claim_after_s ? o->claim_after_s : 60;
	r->deletion_delay_s = o->deletion_delay_s;
	r->once = o->once;
	r->stop_flag = o->stop_flag;
	r->cap = (size_t)r->transfers * 4;
	snprintf(r->claim_cursor, sizeof(r->claim_cursor), "0-0");
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	pthread_cond_init(&r->stop_cond, NULL);
	repl_limit_init(&r->limit, r->bandwidth);
	*out = r;
	return 0;
}

static bool stop_requested(struct replicator *r)
{
	pthread_mutex_lock(&r->lock);
	if (r->stop_flag && *r->stop_flag && !r->stopping) {
		r->stopping = true;
		pthread_cond_broadcast(&r->cond);
		pthread_cond_broadcast(&r->stop_cond);
	}
	bool stop = r->stopping;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

/* Sleeps ms unless a stop comes first; false then. */
static bool pause_unless_stopped(struct replicator *r, uint32_t ms)
{
	long long until = repl_mono_ms() + ms;
	while (!stop_requested(r)) {
		long long left = until - repl_mono_ms();
		if (left <= 0)
			return true;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (left > 100 ? 100 : left) * 1000000L};
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Faults a later attempt may not meet: the server or the network. */
static bool transient(int rc)
{
	return rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -EHOSTUNREACH ||
	       rc == -ECONNRESET || rc == -ENETUNREACH || rc == -EAGAIN || rc == -EIO ||
	       rc == -EPIPE || rc == -ENOTCONN;
}

static int find_target(struct replicator *r, char *err, size_t errlen)
{
	const struct region_info *t = region_find(r->regions, r->nregions, r->region);
	if (!t) {
		snprintf(err, errlen, "volume %s has no region named '%s' (see mcfs region list)",
			 r->vol.name, r->region);
		return -ENOENT;
	}
	if (!t->bucket[0]) {
		snprintf(err, errlen, "region %s is meta-only: it has no bucket to replicate into",
			 r->region);
		return -EINVAL;
	}
	r->target = t->index;
	return 0;
}

static int load_volume(struct replicator *r, char *err, size_t errlen)
{
	char name[64];
	int rc = volume_find(r->meta, name, sizeof(name));
	if (rc == -ENOENT)
		snprintf(err, errlen, "no mcfs volume in %s", meta_describe(r->meta));
	if (rc == 0)
		rc = volume_load(r->meta, name, &r->vol);
	if (rc == 0)
		rc = volume_regions(r->meta, r->vol.name, r->regions, MCFS_MAX_REGIONS,
				    &r->nregions);
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "cannot read volume settings from %s: %s",
			 meta_describe(r->meta), strerror(-rc));
	if (rc == 0)
		rc = find_target(r, err, errlen);
	return rc;
}

/* One attempt at everything start-up needs from the metadata server. */
static int connect_once(struct replicator *r, char *err, size_t errlen)
{
	err[0] = '\0';
	if (!r->meta) {
		struct meta_options mo = {
		    .url = r->meta_url, .password = r->meta_password[0] ? r->meta_password : NULL};
		int rc = meta_connect(&mo, &r->meta, err, errlen);
		if (rc < 0)
			return rc;
	}
	int rc = load_volume(r, err, errlen);
	if (rc < 0)
		return rc;
	repl_stream_init(&r->stream, r->meta, r->vol.name, r->region, r->consumer);
	rc = repl_stream_create_group(&r->stream);
	if (rc == -EROFS)
		snprintf(err, errlen,
			 "%s is a read-only replica: --meta must name the source "
			 "primary",
			 meta_describe(r->meta));
	else if (rc < 0)
		snprintf(err, errlen, "cannot create consumer group %s: %s", r->region,
			 strerror(-rc));
	return rc;
}

static int connect_all(struct replicator *r, char *err, size_t errlen)
{
	for (unsigned attempt = 1;; attempt++) {
		int rc = connect_once(r, err, errlen);
		if (rc == 0 || !transient(rc))
			return rc;
		if (attempt == 1 || attempt % 10 == 0)
			log_warn("%s; retrying", err);
		if (!pause_unless_stopped(r, retry_backoff_ms(&fault_retry, attempt)))
			return 1;
	}
}

static void *deleter_main(void *arg);

static int build(struct replicator *r)
{
	int rc = region_stores_create(&r->cfg, &r->stores);
	if (rc < 0)
		return rc;
	region_stores_update(r->stores, r->regions, r->nregions, r->vol.source_region);
	r->copier =
	    (struct repl_copier){.stores = r->stores,
				 .target = r->target,
				 .limit = &r->limit,
				 .retry = {.max_attempts = 3, .base_ms = 200, .max_ms = 2000}};
	r->inflight = calloc(r->cap, sizeof(*r->inflight));
	r->batch = calloc(r->cap, sizeof(*r->batch));
	r->ids = calloc(r->cap, sizeof(*r->ids));
	if (!r->inflight || !r->batch || !r->ids)
		return -ENOMEM;
	rc = copool_create(r->transfers, &r->pool);
	if (rc < 0)
		return rc;
	/* A restart under the same consumer name finds its own pending entries. */
	r->pending_scan = true;
	snprintf(r->pending_cursor, sizeof(r->pending_cursor), "0");
	if (!r->once) {
		rc = -pthread_create(&r->deleter, NULL, deleter_main, r);
		r->deleter_started = rc == 0;
	}
	return rc;
}

static void refresh_regions(struct replicator *r)
{
	struct region_info regions[MCFS_MAX_REGIONS];
	size_t n = 0;
	if (volume_regions(r->meta, r->vol.name, regions, MCFS_MAX_REGIONS, &n) < 0)
		return;
	memcpy(r->regions, regions, n * sizeof(regions[0]));
	r->nregions = n;
	region_stores_update(r->stores, r->regions, r->nregions, r->vol.source_region);
}

static void apply_deletions(struct replicator *r)
{
	struct objstore *store = region_stores_get(r->stores, r->target);
	uint64_t n = 0;
	if (store &&
	    deletion_log_apply(r->meta, r->vol.name, r->region, store, r->vol.block_size,
			       r->consumer, r->deletion_delay_s, &n) == 0 &&
	    n)
		log_info("removed the blocks of %" PRIu64 " freed slices from region %s", n,
			 r->region);
}

static void *deleter_main(void *arg)
{
	thread_name("mcfs-deleter");
	struct replicator *r = arg;
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += DELETIONS_MS / 1000;
		pthread_mutex_lock(&r->lock);
		int w = 0;
		while (!r->stopping && w != ETIMEDOUT)
			w = pthread_cond_timedwait(&r->stop_cond, &r->lock, &until);
		bool stop = r->stopping;
		pthread_mutex_unlock(&r->lock);
		if (stop)
			return NULL;
		apply_deletions(r);
	}
}

static int publish(struct replicator *r, struct repl_lag *lag_out)
{
	struct repl_lag lag;
	int rc = repl_lag_compute(r->meta, r->vol.name, r->region, r->vol.block_size, &lag);
	if (rc == -ENOENT)
		r->need_group = true;
	if (rc < 0)
		return rc;
	struct repl_totals now;
	work_totals(r, &now);
	struct repl_publication p = {.volume = r->vol.name,
				     .region = r->region,
				     .consumer = r->consumer,
				     .lag = &lag,
				     .added = {.objects = now.objects - r->published.objects,
					       .bytes = now.bytes - r->published.bytes,
					       .missing = now.missing - r->published.missing},
				     .mine = now};
	rc = repl_progress_publish(r->meta, &p);
	if (rc == 0)
		r->published = now;
	if (lag_out)
		*lag_out = lag;
	return rc;
}

/* Entries of workers silent for claim_after: a crashed replicator's. */
static void claim(struct replicator *r)
{
	size_t room = r->cap - r->ninflight, n = 0;
	if (room == 0)
		return;
	int rc = repl_stream_claim(&r->stream, r->claim_after_s * 1000, r->claim_cursor, room,
				   r->batch, &n);
	if (rc < 0)
		log_debug("cannot claim idle entries: %s", strerror(-rc));
	if (rc < 0 || n == 0)
		return;
	log_info("took over %zu change-log entries idle for %" PRIu64 "s or more", n,
		 r->claim_after_s);
	work_accept(r, r->batch, n);
}

static void periodic(struct replicator *r, long long now)
{
	/* While the change log cannot be read the rest would fail as well. */
	if (r->read_faults)
		return;
	/* Sooner after acknowledgements: gateways read the low watermark to
	 * know which slices are local. */
	if (now >= r->next_progress ||
	    (r->acked && now >= r->next_progress - PROGRESS_MS + PROGRESS_SOON_MS)) {
		r->acked = false;
		publish(r, NULL);
		r->next_progress = now + PROGRESS_MS;
	}
	if (now >= r->next_claim) {
		/* Renew our own slow entries first, so that we do not claim them. */
		work_touch(r, now);
		claim(r);
		long long every = (long long)r->claim_after_s * 1000 / 2;
		r->next_claim = now + (every < 5000 ? every : 5000);
	}
	if (now >= r->next_reap) {
		repl_stream_reap_consumers(&r->stream, false, DEAD_CONSUMER_MS);
		r->next_reap = now + REAP_MS;
	}
	if (now >= r->next_regions) {
		if (r->next_regions)
			refresh_regions(r);
		r->next_regions = now + REGIONS_MS;
	}
}

static void read_fault(struct replicator *r, int rc, long long now)
{
	if (r->read_faults++ == 0)
		log_warn("cannot read the change log: %s; retrying", strerror(-rc));
	if (rc == -EIO)
		r->need_group = true; /* e.g. NOGROUP: the log was removed */
	r->read_retry_at = now + retry_backoff_ms(&fault_retry, r->read_faults);
}

/* Reads entries to work on: own pending ones when their retry is due, else
 * new ones. The number read, or -1 after a fault. */
static int fill(struct replicator *r, long long now, bool *blocked)
{
	*blocked = false;
	size_t room = r->cap - r->ninflight, n = 0;
	if (room == 0 || now < r->read_retry_at)
		return 0;
	bool scan = r->pending_scan && now >= r->pending_at;
	if (!scan && now < r->next_read_at)
		return 0;
	if (r->need_group && repl_stream_create_group(&r->stream) == 0)
		r->need_group = false;
	int block = !scan && r->ninflight == 0 ? READ_BLOCK_MS : 0;
	int rc =
	    repl_stream_read(&r->stream, scan ? r->pending_cursor : ">", room, block, r->batch, &n);
	if (rc < 0) {
		read_fault(r, rc, now);
		return -1;
	}
	if (r->read_faults) {
		log_info("change log readable again");
		r->read_faults = 0;
	}
	*blocked = block > 0;
	/* Timed from the reply: a blocking read may have waited long. --once
	 * reads a backlog, in full batches, and must see an empty read to end. */
	if (!scan && !r->once && n < room)
		r->next_read_at = repl_mono_ms() + READ_GATHER_MS;
	if (scan && n == 0)
		r->pending_scan = false;
	else if (scan)
		snprintf(r->pending_cursor, sizeof(r->pending_cursor), "%s", r->batch[n - 1].sid);
	work_accept(r, r->batch, n);
	return (int)n;
}

/* --once: the group has nothing pending or undelivered. */
static bool caught_up(struct replicator *r)
{
	struct repl_lag lag;
	return publish(r, &lag) == 0 && lag.entries == 0;
}

/* How long the main loop may wait for a copy to finish before it reads again. */
static int wait_ms(const struct replicator *r, long long now)
{
	long long ms = r->ninflight ? 50 : 100;
	if (r->next_read_at > now && r->next_read_at - now < ms)
		ms = r->next_read_at - now;
	return (int)ms;
}

static void work_loop(struct replicator *r)
{
	for (;;) {
		work_reap(r);
		if (stop_requested(r)) {
			if (r->ninflight == 0)
				return;
			work_wait(r, 200);
			continue;
		}
		long long now = repl_mono_ms();
		periodic(r, now);
		bool blocked;
		int got = fill(r, now, &blocked);
		if (got == 0 && r->ninflight == 0 && r->once && caught_up(r))
			return;
		if (got <= 0 && !blocked)
			work_wait(r, wait_ms(r, now));
	}
}

static void stop_deleter(struct replicator *r)
{
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_broadcast(&r->cond);
	pthread_cond_broadcast(&r->stop_cond);
	pthread_mutex_unlock(&r->lock);
	if (r->deleter_started)
		pthread_join(r->deleter, NULL);
	r->deleter_started = false;
}

static void finish(struct replicator *r)
{
	stop_deleter(r);
	if (r->once)
		apply_deletions(r);
	publish(r, NULL);
	repl_stream_reap_consumers(&r->stream, true, DEAD_CONSUMER_MS);
	struct repl_totals t;
	work_totals(r, &t);
	log_info("stopped: %" PRIu64 " blocks (%" PRIu64 " bytes) copied into region %s, %" PRIu64
		 " found in no bucket",
		 t.objects, t.bytes, r->region, t.missing);
}

int replicator_run(struct replicator *r, char *err, size_t errlen)
{
	int rc = connect_all(r, err, errlen);
	if (rc == 1)
		return 0; /* stopped while waiting for the server */
	if (rc < 0)
		return rc;
	rc = build(r);
	if (rc < 0) {
		snprintf(err, errlen, "cannot start: %s", strerror(-rc));
		return rc;
	}
	log_info("replicating volume %s into region %s as %s (%u transfers%s)", r->vol.name,
		 r->region, r->consumer, r->transfers, r->bandwidth ? ", bandwidth limited" : "");
	work_loop(r);
	finish(r);
	return 0;
}

void replicator_destroy(struct replicator *r)
{
	if (!r)
		return;
	stop_deleter(r);
	/* Runs what is queued to completion: every task is then finished. */
	if (r->pool)
		copool_destroy(r->pool);
	for (size_t i = 0; r->inflight && i < r->ninflight; i++)
		free(r->inflight[i]);
	free(r->inflight);
	free(r->batch);
	free(r->ids);
	region_stores_close(r->stores);
	meta_close(r->meta);
	repl_limit_destroy(&r->limit);
	pthread_cond_destroy(&r->stop_cond);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	explicit_bzero(r->meta_password, sizeof(r->meta_password));
	explicit_bzero(&r->cfg, sizeof(r->cfg));
	free(r);
}
