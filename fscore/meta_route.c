#include "meta_route.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"
#include "log.h"
#include "meta_ops.h"
#include "volume.h"
#include "thread_name.h"

#define SAMPLE_PERIOD_MS   200
#define SAMPLES		   128 /* ~25 s of history at SAMPLE_PERIOD_MS */
#define PROMOTION_CHECK_MS 2000
#define REPLICA_TIMEOUT_MS 1000

/* The primary's offset at a moment: the replica is at least as fresh as
 * that moment once it has applied the offset. */
struct offset_sample {
	long long at_ms;
	long long offset;
};

struct old_meta {
	struct meta *m;
	struct old_meta *next;
};

struct meta_route {
	struct meta *primary; /* atomic: replaced when a promotion is followed */
	struct meta *replica;
	char password[256];
	char volume[64];
	uint64_t max_lag_ms;
	long long promotions;

	/* written by the monitor, read by every reader (atomics) */
	long long replica_offset;
	bool replica_usable;
	long long lag_ms;
	long long behind_bytes;
	uint64_t replica_reads, primary_reads, switches;

	struct offset_sample samples[SAMPLES];
	unsigned nsamples, next_sample;
	struct old_meta *retired;

	pthread_t monitor;
	bool monitor_started;
	unsigned timeout_ms; /* of commands on the primary */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stop;
	meta_invalidate_fn track_fn; /* client-side caching, on every server read from */
	void *track_arg;
};

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool meta_route_unreachable(int err)
{
	return err == -ECONNREFUSED || err == -ETIMEDOUT || err == -EHOSTUNREACH ||
	       err == -ECONNRESET || err == -EAGAIN;
}

struct meta *meta_route_primary(struct meta_route *r)
{
	return __atomic_load_n(&r->primary, __ATOMIC_ACQUIRE);
}

static void raise_replica_offset(struct meta_route *r, long long off)
{
	long long cur = __atomic_load_n(&r->replica_offset, __ATOMIC_RELAXED);
	while (off > cur && !__atomic_compare_exchange_n(&r->replica_offset, &cur, off, false,
							 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

/* Whether the replica holds everything this process wrote: asks it once
 * (a local round trip) when the last known offset is not enough. */
static bool replica_has_our_writes(struct meta_route *r)
{
	long long need = meta_written_offset(meta_route_primary(r));
	if (need <= __atomic_load_n(&r->replica_offset, __ATOMIC_ACQUIRE))
		return true;
	struct meta_role role;
	int rc = meta_role(r->replica, &role);
	if (rc < 0) {
		if (meta_route_unreachable(rc))
			meta_route_replica_failed(r);
		return false;
	}
	raise_replica_offset(r, role.offset);
	return role.link_up && role.offset >= need;
}

struct meta *meta_route_reader(struct meta_route *r)
{
	if (r->replica && __atomic_load_n(&r->replica_usable, __ATOMIC_ACQUIRE) &&
	    replica_has_our_writes(r)) {
		__atomic_add_fetch(&r->replica_reads, 1, __ATOMIC_RELAXED);
		return r->replica;
	}
	if (r->replica)
		__atomic_add_fetch(&r->primary_reads, 1, __ATOMIC_RELAXED);
	return meta_route_primary(r);
}

void meta_route_replica_failed(struct meta_route *r)
{
	if (__atomic_exchange_n(&r->replica_usable, false, __ATOMIC_ACQ_REL))
		log_warn(
		    "metadata replica %s unreachable: reading from the source until it answers",
		    meta_describe(r->replica));
}

void meta_route_stats(struct meta_route *r, struct meta_route_stats *out)
{
	out->has_replica = r->replica != NULL;
	out->replica_usable = __atomic_load_n(&r->replica_usable, __ATOMIC_ACQUIRE);
	out->lag_ms = __atomic_load_n(&r->lag_ms, __ATOMIC_ACQUIRE);
	out->behind_bytes = __atomic_load_n(&r->behind_bytes, __ATOMIC_ACQUIRE);
	out->replica_reads = __atomic_load_n(&r->replica_reads, __ATOMIC_RELAXED);
	out->primary_reads = __atomic_load_n(&r->primary_reads, __ATOMIC_RELAXED);
	out->primary_switches = __atomic_load_n(&r->switches, __ATOMIC_RELAXED);
}

/* How long ago the primary first passed the replica's offset: the age of
 * the oldest change the replica has not applied (0 if it has them all). */
static long long estimate_lag(const struct meta_route *r, long long replica_off, long long now)
{
	long long first_ahead = -1;
	for (unsigned k = 0; k < r->nsamples; k++) {
		unsigned i = (r->next_sample + SAMPLES - r->nsamples + k) % SAMPLES;
		if (r->samples[i].offset > replica_off) {
			first_ahead = r->samples[i].at_ms;
			break;
		}
	}
	if (first_ahead < 0)
		return 0;
	return now - first_ahead;
}

static void sample_once(struct meta_route *r)
{
	struct meta_role p, q;
	long long now = mono_ms();
	bool have_p = meta_role(meta_route_primary(r), &p) == 0 && p.offset >= 0;
	if (have_p) {
		r->samples[r->next_sample] = (struct offset_sample){now, p.offset};
		r->next_sample = (r->next_sample + 1) % SAMPLES;
		if (r->nsamples < SAMPLES)
			r->nsamples++;
	}
	int rc = meta_role(r->replica, &q);
	bool usable = rc == 0 && q.link_up && q.offset >= 0;
	long long lag = -1;
	if (usable) {
		raise_replica_offset(r, q.offset);
		lag = estimate_lag(r, q.offset, now);
		if (have_p)
			__atomic_store_n(&r->behind_bytes,
					 p.offset > q.offset ? p.offset - q.offset : 0,
					 __ATOMIC_RELEASE);
		if (r->max_lag_ms && lag > (long long)r->max_lag_ms)
			usable = false;
	}
	__atomic_store_n(&r->lag_ms, lag, __ATOMIC_RELEASE);
	bool was = __atomic_exchange_n(&r->replica_usable, usable, __ATOMIC_ACQ_REL);
	if (was != usable)
		log_info("metadata replica %s: %s (lag %lld ms)", meta_describe(r->replica),
			 usable ? "reading from it" : "behind or down, reading from the source",
			 lag);
}

static long long read_promotions(struct meta *m, const char *volume)
{
	char key[128];
	redisReply *rep = NULL;
	if (meta_cmdf(m, &rep, "HGET %s promotions",
		      volume_key(key, sizeof(key), volume, "setting")) < 0)
		return -1;
	long long n = rep->type == REDIS_REPLY_STRING ? strtoll(rep->str, NULL, 10) : 0;
	meta_reply_free(rep);
	return n;
}

/* The new source's metadata endpoint becomes the primary. */
static void switch_primary(struct meta_route *r, struct meta *from)
{
	struct volume_settings vs;
	struct region_info regions[MCFS_MAX_REGIONS];
	size_t n = 0;
	if (volume_load(from, r->volume, &vs) < 0 ||
	    volume_regions(from, r->volume, regions, MCFS_MAX_REGIONS, &n) < 0)
		return;
	const char *url = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(regions[i].name, vs.source_region) == 0 && regions[i].replica[0])
			url = regions[i].replica;
	struct old_meta *old = malloc(sizeof(*old));
	struct meta *next = NULL;
	char err[256];
	struct meta_options mo = {.url = url,
				  .password = r->password[0] ? r->password : NULL,
				  .timeout_ms = r->timeout_ms};
	if (!url || !old || meta_connect(&mo, &next, err, sizeof(err)) < 0) {
		log_warn("the source moved to region %s, whose metadata endpoint %s: keeping the "
			 "old one",
			 vs.source_region, url ? "cannot be reached yet" : "is not recorded");
		free(old);
		return;
	}
	meta_track_offset(next);
	if (r->track_fn)
		meta_tracking_enable(next, r->track_fn, r->track_arg);
	old->m = __atomic_exchange_n(&r->primary, next, __ATOMIC_ACQ_REL);
	/* What was read from the old source is no longer watched. */
	if (r->track_fn)
		r->track_fn(r->track_arg, NULL, 0);
	old->next = r->retired;
	r->retired = old;
	r->nsamples = 0;
	__atomic_add_fetch(&r->switches, 1, __ATOMIC_RELAXED);
	log_warn("volume %s was promoted: region %s is the source, metadata writes go to %s",
		 r->volume, vs.source_region, meta_describe(next));
}

static void check_promotion(struct meta_route *r)
{
	struct meta *m = r->replica ? r->replica : meta_route_primary(r);
	long long n = read_promotions(m, r->volume);
	if (n < 0 || n == r->promotions)
		return;
	r->promotions = n;
	switch_primary(r, m);
}

static bool wait_stop(struct meta_route *r, unsigned ms)
{
	struct timespec until = deadline_after_ms(CLOCK_REALTIME, ms);
	pthread_mutex_lock(&r->stop_lock);
	while (!r->stop && pthread_cond_timedwait(&r->stop_cond, &r->stop_lock, &until) == 0)
		;
	bool stop = r->stop;
	pthread_mutex_unlock(&r->stop_lock);
	return stop;
}

static void *monitor_main(void *arg)
{
	thread_name("mcfs-route");
	struct meta_route *r = arg;
	long long next_promotion_check = 0;
	do {
		if (r->replica)
			sample_once(r);
		if (r->volume[0] && mono_ms() >= next_promotion_check) {
			check_promotion(r);
			next_promotion_check = mono_ms() + PROMOTION_CHECK_MS;
		}
	} while (!wait_stop(r, SAMPLE_PERIOD_MS));
	return NULL;
}

static int open_replica(struct meta_route *r, const char *url, char *err, size_t errlen)
{
	struct meta_options mo = {
	    .url = url,
	    .password = r->password[0] ? r->password : NULL,
	    .timeout_ms = REPLICA_TIMEOUT_MS,
	    /* A replica that does not answer at once is skipped, not waited for. */
	    .retry = {.max_attempts = 1, .base_ms = 1, .max_ms = 1},
	};
	int rc = meta_connect(&mo, &r->replica, err, errlen);
	if (rc < 0)
		return rc;
	struct meta_role role;
	if (meta_role(r->replica, &role) == 0 && role.replica && role.link_up) {
		__atomic_store_n(&r->replica_usable, true, __ATOMIC_RELEASE);
		r->replica_offset = role.offset;
	}
	return 0;
}

int meta_route_open(const struct meta_route_options *o, struct meta_route **out, char *err,
		    size_t errlen)
{
	struct meta_route *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->stop_lock, NULL);
	pthread_cond_init(&r->stop_cond, NULL);
	r->max_lag_ms = o->max_lag_ms;
	r->lag_ms = -1;
	if (o->password)
		snprintf(r->password, sizeof(r->password), "%s", o->password);
	if (o->volume)
		snprintf(r->volume, sizeof(r->volume), "%s", o->volume);
	r->timeout_ms = o->timeout_ms;
	struct meta_options mo = {
	    .url = o->primary_url, .password = o->password, .timeout_ms = o->timeout_ms};
	int rc = meta_connect(&mo, &r->primary, err, errlen);
	if (rc == 0 && o->replica_url && o->replica_url[0]) {
		meta_track_offset(r->primary);
		rc = open_replica(r, o->replica_url, err, errlen);
	}
	r->track_fn = o->track_fn;
	r->track_arg = o->track_arg;
	if (rc == 0 && r->track_fn)
		rc = meta_tracking_enable(r->primary, r->track_fn, r->track_arg);
	if (rc == 0 && r->track_fn && r->replica)
		rc = meta_tracking_enable(r->replica, r->track_fn, r->track_arg);
	if (rc == 0 && r->volume[0])
		r->promotions = read_promotions(r->primary, r->volume);
	if (rc == 0 && (r->replica || r->volume[0])) {
		if (pthread_create(&r->monitor, NULL, monitor_main, r) != 0)
			rc = -EAGAIN;
		else
			r->monitor_started = true;
	}
	if (rc < 0) {
		meta_route_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

bool meta_route_reports_settled(struct meta_route *r)
{
	return meta_tracking_settled(meta_route_primary(r)) &&
	       (!r->replica || meta_tracking_settled(r->replica));
}

void meta_route_close(struct meta_route *r)
{
	if (!r)
		return;
	if (r->monitor_started) {
		pthread_mutex_lock(&r->stop_lock);
		r->stop = true;
		pthread_cond_signal(&r->stop_cond);
		pthread_mutex_unlock(&r->stop_lock);
		pthread_join(r->monitor, NULL);
	}
	meta_close(r->primary);
	meta_close(r->replica);
	while (r->retired) {
		struct old_meta *o = r->retired;
		r->retired = o->next;
		meta_close(o->m);
		free(o);
	}
	pthread_cond_destroy(&r->stop_cond);
	pthread_mutex_destroy(&r->stop_lock);
	explicit_bzero(r->password, sizeof(r->password));
	free(r);
}
