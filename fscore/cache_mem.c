/*
 * Memory tier of the block cache. Entries live in 16 shards picked by key
 * hash so concurrent readers of different blocks rarely share a lock. The
 * byte bound and the LRU order are global, though: every entry carries a
 * tick from one counter, and eviction removes the entry with the smallest
 * tick among the shards' tails. Per-shard bounds would be simpler but would
 * refuse 4 MiB blocks in a modest cache and waste space when keys hash
 * unevenly. Eviction costs one short lock per shard, which is little next
 * to copying the block that caused it.
 */
#include "cache_impl.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define MEM_SHARDS	 16
#define MEM_SHARD_SLOTS0 64

struct mem_entry {
	struct htab_node hnode;
	struct lru_node lru;
	uint64_t tick;
	size_t len;
	size_t keylen;
	char *data; /* right after the key, or a buffer the tier adopted */
	char key[]; /* NUL-terminated key, then (unless adopted) len bytes of data */
};

struct mem_shard {
	pthread_mutex_t lock;
	struct htab tab;
	struct lru_node lru;
};

struct mem_tier {
	uint64_t bound;
	_Atomic uint64_t used;
	_Atomic uint64_t tick;
	_Atomic uint64_t evictions;
	struct mem_shard shards[MEM_SHARDS];
};

/* FNV-1a, then a finalizer: the shard comes from the top bits, which plain
 * FNV leaves poorly mixed for keys that differ only at the end. */
uint64_t cache_key_hash(const char *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static struct mem_shard *shard_of(struct mem_tier *m, uint64_t hash)
{
	return &m->shards[hash >> 60];
}

static char *entry_data(struct mem_entry *e)
{
	return e->data;
}

static void entry_free(struct mem_entry *e)
{
	if (e->data != e->key + e->keylen + 1)
		free(e->data);
	free(e);
}

static uint64_t entry_cost(size_t keylen, size_t len)
{
	return (uint64_t)keylen + len;
}

static struct mem_entry *shard_find(struct mem_shard *s, uint64_t hash, const char *key,
				    size_t keylen)
{
	for (struct htab_node *n = htab_first(&s->tab, hash); n; n = n->next) {
		struct mem_entry *e = cache_container_of(n, struct mem_entry, hnode);
		if (n->hash == hash && e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
			return e;
	}
	return NULL;
}

int mem_tier_create(uint64_t bound, struct mem_tier **out)
{
	struct mem_tier *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->bound = bound;
	for (int i = 0; i < MEM_SHARDS; i++) {
		struct mem_shard *s = &m->shards[i];
		if (htab_init(&s->tab, MEM_SHARD_SLOTS0) != 0) {
			while (i-- > 0)
				htab_free(&m->shards[i].tab);
			free(m);
			return -ENOMEM;
		}
		pthread_mutex_init(&s->lock, NULL);
		lru_init(&s->lru);
	}
	*out = m;
	return 0;
}

void mem_tier_destroy(struct mem_tier *m)
{
	if (!m)
		return;
	for (int i = 0; i < MEM_SHARDS; i++) {
		struct mem_shard *s = &m->shards[i];
		while (!lru_empty(&s->lru)) {
			struct lru_node *n = s->lru.next;
			lru_del(n);
			entry_free(cache_container_of(n, struct mem_entry, lru));
		}
		htab_free(&s->tab);
		pthread_mutex_destroy(&s->lock);
	}
	free(m);
}

bool mem_tier_fits(const struct mem_tier *m, const char *key, size_t len)
{
	size_t keylen = strlen(key);
	return m && keylen <= CACHE_KEY_MAX && entry_cost(keylen, len) <= m->bound;
}

bool mem_tier_has_room(struct mem_tier *m, const char *key, size_t len)
{
	uint64_t cost = entry_cost(strlen(key), len);
	return cost <= m->bound && atomic_load(&m->used) <= m->bound - cost;
}

int mem_tier_get(struct mem_tier *m, const char *key, size_t block_len, size_t off, size_t len,
		 void *buf)
{
	size_t keylen = strlen(key);
	uint64_t hash = cache_key_hash(key, keylen);
	struct mem_shard *s = shard_of(m, hash);
	int r = -ENOENT;

	/* Copying under the shard lock keeps entries free of reference
	 * counts; other shards stay available meanwhile. */
	pthread_mutex_lock(&s->lock);
	struct mem_entry *e = shard_find(s, hash, key, keylen);
	if (e && e->len == block_len) {
		e->tick = atomic_fetch_add_explicit(&m->tick, 1, memory_order_relaxed);
		lru_move_front(&s->lru, &e->lru);
		if (len)
			memcpy(buf, entry_data(e) + off, len);
		r = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

bool mem_tier_contains(struct mem_tier *m, const char *key)
{
	size_t keylen = strlen(key);
	uint64_t hash = cache_key_hash(key, keylen);
	struct mem_shard *s = shard_of(m, hash);

	pthread_mutex_lock(&s->lock);
	bool found = shard_find(s, hash, key, keylen) != NULL;
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* The shard whose least recently used entry is oldest, or -1 when empty. */
static int oldest_shard(struct mem_tier *m)
{
	int victim = -1;
	uint64_t oldest = UINT64_MAX;

	for (int i = 0; i < MEM_SHARDS; i++) {
		struct mem_shard *s = &m->shards[i];
		pthread_mutex_lock(&s->lock);
		if (!lru_empty(&s->lru)) {
			struct mem_entry *e =
			    cache_container_of(s->lru.prev, struct mem_entry, lru);
			if (e->tick < oldest) {
				oldest = e->tick;
				victim = i;
			}
		}
		pthread_mutex_unlock(&s->lock);
	}
	return victim;
}

/* Never holds two shard locks at once, so it cannot deadlock; a racing get
 * may refresh the chosen tail first, and then its successor goes instead,
 * which is close enough to LRU. */
static bool evict_one(struct mem_tier *m)
{
	int i = oldest_shard(m);
	if (i < 0)
		return false;
	struct mem_shard *s = &m->shards[i];
	struct mem_entry *e = NULL;

	pthread_mutex_lock(&s->lock);
	if (!lru_empty(&s->lru)) {
		e = cache_container_of(s->lru.prev, struct mem_entry, lru);
		lru_del(&e->lru);
		htab_remove(&s->tab, &e->hnode);
		atomic_fetch_sub(&m->used, entry_cost(e->keylen, e->len));
	}
	pthread_mutex_unlock(&s->lock);
	if (!e)
		return true; /* emptied meanwhile; look again */
	entry_free(e);
	atomic_fetch_add_explicit(&m->evictions, 1, memory_order_relaxed);
	return true;
}

/* adopt: the entry takes buf (malloc'd) instead of copying it. */
static struct mem_entry *entry_new(const char *key, size_t keylen, uint64_t hash, const void *buf,
				   size_t len, bool adopt)
{
	size_t room = adopt ? 0 : len;
	if (room > SIZE_MAX - sizeof(struct mem_entry) - keylen - 1)
		return NULL;
	struct mem_entry *e = malloc(sizeof(*e) + keylen + 1 + room);
	if (!e)
		return NULL;
	e->hnode.hash = hash;
	e->len = len;
	e->keylen = keylen;
	memcpy(e->key, key, keylen + 1);
	e->data = adopt ? (char *)buf : e->key + keylen + 1;
	if (!adopt && len)
		memcpy(e->data, buf, len);
	return e;
}

static void put_entry(struct mem_tier *m, const char *key, const void *buf, size_t len, bool adopt)
{
	if (!mem_tier_fits(m, key, len)) {
		if (adopt)
			free((void *)buf);
		return;
	}
	size_t keylen = strlen(key);
	uint64_t hash = cache_key_hash(key, keylen);
	struct mem_shard *s = shard_of(m, hash);

	/* Allocate and copy outside the lock; a duplicate is thrown away,
	 * since blocks are immutable and the cached copy is as good. */
	struct mem_entry *e = entry_new(key, keylen, hash, buf, len, adopt);
	if (!e) {
		log_debug("cache: no memory to cache %s", key);
		if (adopt)
			free((void *)buf);
		return;
	}
	pthread_mutex_lock(&s->lock);
	struct mem_entry *old = shard_find(s, hash, key, keylen);
	if (old) {
		old->tick = atomic_fetch_add_explicit(&m->tick, 1, memory_order_relaxed);
		lru_move_front(&s->lru, &old->lru);
	} else {
		e->tick = atomic_fetch_add_explicit(&m->tick, 1, memory_order_relaxed);
		htab_insert(&s->tab, &e->hnode);
		lru_push_front(&s->lru, &e->lru);
		atomic_fetch_add(&m->used, entry_cost(keylen, len));
	}
	pthread_mutex_unlock(&s->lock);
	if (old) {
		entry_free(e);
		return;
	}
	/* The new entry has the newest tick, so older ones go first. */
	while (atomic_load(&m->used) > m->bound && evict_one(m))
		;
}

void mem_tier_put(struct mem_tier *m, const char *key, const void *buf, size_t len)
{
	put_entry(m, key, buf, len, false);
}

void mem_tier_adopt(struct mem_tier *m, const char *key, void *buf, size_t len)
{
	put_entry(m, key, buf, len, true);
}

void mem_tier_stats(struct mem_tier *m, uint64_t *used, uint64_t *evictions)
{
	*used = atomic_load(&m->used);
	*evictions = atomic_load(&m->evictions);
}
