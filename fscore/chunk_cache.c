#include "chunk_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOCK_STRIPES 64
/* Longer lists are not worth keeping: the chunk is due for compaction. */
#define MAX_CACHED_RECS 64

struct chunk_entry {
	mcfs_ino_t ino; /* 0: empty */
	uint32_t chunk;
	uint64_t change;
	long long born_ms;
	size_t n;
	struct slice_rec *recs;
};

struct chunk_cache {
	size_t nslots;
	long long max_age_ms;
	struct chunk_entry *slots;
	pthread_mutex_t locks[LOCK_STRIPES];
};

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int chunk_cache_create(size_t slots, long long max_age_ms, struct chunk_cache **out)
{
	*out = NULL;
	if (max_age_ms <= 0 || slots == 0)
		return 0;
	struct chunk_cache *cc = calloc(1, sizeof(*cc));
	if (!cc)
		return -ENOMEM;
	cc->slots = calloc(slots, sizeof(*cc->slots));
	if (!cc->slots) {
		free(cc);
		return -ENOMEM;
	}
	cc->nslots = slots;
	cc->max_age_ms = max_age_ms;
	for (int i = 0; i < LOCK_STRIPES; i++)
		pthread_mutex_init(&cc->locks[i], NULL);
	*out = cc;
	return 0;
}

void chunk_cache_destroy(struct chunk_cache *cc)
{
	if (!cc)
		return;
	for (size_t i = 0; i < cc->nslots; i++)
		free(cc->slots[i].recs);
	for (int i = 0; i < LOCK_STRIPES; i++)
		pthread_mutex_destroy(&cc->locks[i]);
	free(cc->slots);
	free(cc);
}

static size_t slot_of(const struct chunk_cache *cc, mcfs_ino_t ino, uint32_t chunk)
{
	uint64_t h = (ino * 0x9e3779b97f4a7c15ULL) ^ (chunk * 0xc2b2ae3d27d4eb4fULL);
	h ^= h >> 31;
	return (size_t)(h % cc->nslots);
}

static pthread_mutex_t *lock_of(struct chunk_cache *cc, size_t slot)
{
	return &cc->locks[slot % LOCK_STRIPES];
}

int chunk_cache_get(struct chunk_cache *cc, mcfs_ino_t ino, uint32_t chunk, uint64_t change,
		    struct slice_rec **recs, size_t *n)
{
	if (!cc)
		return -ENOENT;
	size_t s = slot_of(cc, ino, chunk);
	int r = -ENOENT;
	pthread_mutex_lock(lock_of(cc, s));
	struct chunk_entry *e = &cc->slots[s];
	if (e->ino == ino && e->chunk == chunk && e->change == change &&
	    mono_ms() - e->born_ms < cc->max_age_ms) {
		*recs = malloc((e->n ? e->n : 1) * sizeof(**recs));
		if (*recs) {
			if (e->n)
				memcpy(*recs, e->recs, e->n * sizeof(**recs));
			*n = e->n;
			r = 0;
		}
	}
	pthread_mutex_unlock(lock_of(cc, s));
	return r;
}

void chunk_cache_put(struct chunk_cache *cc, mcfs_ino_t ino, uint32_t chunk, uint64_t change,
		     const struct slice_rec *recs, size_t n)
{
	if (!cc || ino == 0 || n > MAX_CACHED_RECS)
		return;
	struct slice_rec *copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy)
		return;
	if (n)
		memcpy(copy, recs, n * sizeof(*copy));
	size_t s = slot_of(cc, ino, chunk);
	pthread_mutex_lock(lock_of(cc, s));
	struct chunk_entry *e = &cc->slots[s];
	struct slice_rec *old = e->recs;
	*e = (struct chunk_entry){ino, chunk, change, mono_ms(), n, copy};
	pthread_mutex_unlock(lock_of(cc, s));
	free(old);
}

void chunk_cache_drop(struct chunk_cache *cc, mcfs_ino_t ino, uint32_t chunk)
{
	if (!cc)
		return;
	size_t s = slot_of(cc, ino, chunk);
	pthread_mutex_lock(lock_of(cc, s));
	struct chunk_entry *e = &cc->slots[s];
	if (e->ino == ino && e->chunk == chunk)
		e->ino = 0;
	pthread_mutex_unlock(lock_of(cc, s));
}
