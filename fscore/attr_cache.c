#include "attr_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "deadline.h"
#include "lru.h"

/* Enough that loops on different inodes rarely meet on a lock. */
#define SHARDS 256

struct entry {
	struct entry *hnext; /* hash chain */
	struct lru_node lru;
	long long expires_ms;
	struct mcfs_attr attr;
};

struct shard {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t mask; /* buckets - 1 */
	size_t n, max;
	struct lru_list lru;
	uint64_t forgotten; /* the sequence number of the last forget that concerned this shard */
};

struct attr_cache {
	unsigned max_age_ms;
	/* Every forget takes the next number; a ticket is the number current
	 * when it was taken, so "forgotten since the ticket" is a comparison. */
	uint64_t seq;		    /* atomic */
	uint64_t flushed;	    /* atomic: the number of the last forget_all */
	struct attr_cache_stats st; /* atomic fields */
	struct shard shards[SHARDS];
};

static struct shard *shard_of(struct attr_cache *c, mcfs_ino_t ino)
{
	return &c->shards[mcfs_ino_hash(ino) % SHARDS];
}

static struct entry **slot_of(struct shard *s, mcfs_ino_t ino)
{
	return &s->buckets[(mcfs_ino_hash(ino) / SHARDS) & s->mask];
}

static void stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

struct attr_cache *attr_cache_new(size_t max_entries, unsigned max_age_ms)
{
	if (!max_entries || !max_age_ms)
		return NULL;
	struct attr_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->max_age_ms = max_age_ms;
	c->seq = 1;
	size_t per = (max_entries + SHARDS - 1) / SHARDS;
	size_t nb = 1;
	while (nb < per)
		nb <<= 1;
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &c->shards[i];
		pthread_mutex_init(&s->lock, NULL);
		s->max = per;
		s->mask = nb - 1;
		s->buckets = calloc(nb, sizeof(*s->buckets));
		if (!s->buckets) {
			attr_cache_free(c);
			return NULL;
		}
	}
	return c;
}

static struct entry *oldest(const struct shard *s)
{
	return s->lru.oldest ? LRU_ENTRY(s->lru.oldest, struct entry, lru) : NULL;
}

static void remove_entry(struct shard *s, struct entry *e)
{
	struct entry **pp = slot_of(s, e->attr.ino);
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_remove(&s->lru, &e->lru);
	s->n--;
	free(e);
}

static struct entry *find(struct shard *s, mcfs_ino_t ino)
{
	for (struct entry *e = *slot_of(s, ino); e; e = e->hnext)
		if (e->attr.ino == ino)
			return e;
	return NULL;
}

static void clear_shard(struct shard *s)
{
	while (s->lru.oldest)
		remove_entry(s, oldest(s));
}

void attr_cache_free(struct attr_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &c->shards[i];
		if (s->buckets)
			clear_shard(s);
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(c);
}

uint64_t attr_cache_ticket(struct attr_cache *c)
{
	return __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
}

bool attr_cache_get(struct attr_cache *c, mcfs_ino_t ino, struct mcfs_attr *out)
{
	struct shard *s = shard_of(c, ino);
	bool hit = false;
	pthread_mutex_lock(&s->lock);
	struct entry *e = find(s, ino);
	if (e && e->expires_ms <= coarse_now_ms()) {
		remove_entry(s, e);
		stat_add(&c->st.expired, 1);
		e = NULL;
	}
	if (e) {
		*out = e->attr;
		lru_touch(&s->lru, &e->lru);
		hit = true;
	}
	pthread_mutex_unlock(&s->lock);
	stat_add(hit ? &c->st.hits : &c->st.misses, 1);
	return hit;
}

/* Shard locked. Whether an answer read after ticket is still current. */
static bool current(struct attr_cache *c, const struct shard *s, uint64_t ticket)
{
	return s->forgotten <= ticket && __atomic_load_n(&c->flushed, __ATOMIC_ACQUIRE) <= ticket;
}

/* Shard locked: stores a copy of a (replacing any entry of its inode). */
static void store(struct attr_cache *c, struct shard *s, const struct mcfs_attr *a)
{
	struct entry *e = find(s, a->ino);
	if (e) {
		lru_remove(&s->lru, &e->lru);
	} else {
		if (s->n >= s->max && s->lru.oldest) {
			remove_entry(s, oldest(s));
			stat_add(&c->st.evictions, 1);
		}
		e = malloc(sizeof(*e));
		if (!e)
			return;
		struct entry **slot = slot_of(s, a->ino);
		e->hnext = *slot;
		*slot = e;
		s->n++;
	}
	e->attr = *a;
	e->attr.pending = false;
	e->expires_ms = coarse_now_ms() + c->max_age_ms;
	lru_add_newest(&s->lru, &e->lru);
}

void attr_cache_put(struct attr_cache *c, const struct mcfs_attr *a, uint64_t ticket)
{
	struct shard *s = shard_of(c, a->ino);
	pthread_mutex_lock(&s->lock);
	bool ok = current(c, s, ticket);
	if (ok)
		store(c, s, a);
	pthread_mutex_unlock(&s->lock);
	stat_add(ok ? &c->st.puts : &c->st.refused, 1);
}

/* Shard locked: a forget of something in s, numbered. */
static void mark_forgotten(struct attr_cache *c, struct shard *s)
{
	s->forgotten = __atomic_add_fetch(&c->seq, 1, __ATOMIC_ACQ_REL);
}

void attr_cache_update(struct attr_cache *c, const struct mcfs_attr *a, uint64_t ticket)
{
	struct shard *s = shard_of(c, a->ino);
	pthread_mutex_lock(&s->lock);
	bool ok = current(c, s, ticket);
	mark_forgotten(c, s);
	if (ok) {
		store(c, s, a);
	} else {
		struct entry *e = find(s, a->ino);
		if (e)
			remove_entry(s, e);
	}
	pthread_mutex_unlock(&s->lock);
	stat_add(ok ? &c->st.puts : &c->st.refused, 1);
}

void attr_cache_forget(struct attr_cache *c, mcfs_ino_t ino)
{
	struct shard *s = shard_of(c, ino);
	pthread_mutex_lock(&s->lock);
	mark_forgotten(c, s);
	struct entry *e = find(s, ino);
	if (e)
		remove_entry(s, e);
	pthread_mutex_unlock(&s->lock);
	stat_add(&c->st.forgets, 1);
}

void attr_cache_forget_all(struct attr_cache *c)
{
	/* Numbered first: a put that looks after this sees it, whichever shard. */
	__atomic_store_n(&c->flushed, __atomic_add_fetch(&c->seq, 1, __ATOMIC_ACQ_REL),
			 __ATOMIC_RELEASE);
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		clear_shard(s);
		pthread_mutex_unlock(&s->lock);
	}
	stat_add(&c->st.flushes, 1);
}

void attr_cache_stats(struct attr_cache *c, struct attr_cache_stats *out)
{
	out->hits = __atomic_load_n(&c->st.hits, __ATOMIC_RELAXED);
	out->misses = __atomic_load_n(&c->st.misses, __ATOMIC_RELAXED);
	out->puts = __atomic_load_n(&c->st.puts, __ATOMIC_RELAXED);
	out->refused = __atomic_load_n(&c->st.refused, __ATOMIC_RELAXED);
	out->forgets = __atomic_load_n(&c->st.forgets, __ATOMIC_RELAXED);
	out->flushes = __atomic_load_n(&c->st.flushes, __ATOMIC_RELAXED);
	out->evictions = __atomic_load_n(&c->st.evictions, __ATOMIC_RELAXED);
	out->expired = __atomic_load_n(&c->st.expired, __ATOMIC_RELAXED);
	out->entries = 0;
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		out->entries += c->shards[i].n;
		pthread_mutex_unlock(&c->shards[i].lock);
	}
}
