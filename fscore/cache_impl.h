/*
 * Internals of the block cache (cache.c): the memory tier (cache_mem.c), the
 * disk tier (cache_disk.c) and the small intrusive containers both share.
 * Not for use outside the cache and its unit test.
 */
#ifndef MCFS_CACHE_IMPL_H
#define MCFS_CACHE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Longer keys are not cached: the disk header stores the length in 16 bits,
 * and real object keys are far shorter. */
#define CACHE_KEY_MAX 1024

#define cache_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Circular doubly linked list with a sentinel: next is the most recently
 * used end, prev the least recently used one. */
struct lru_node {
	struct lru_node *prev, *next;
};

static inline void lru_init(struct lru_node *head)
{
	head->prev = head;
	head->next = head;
}

static inline bool lru_empty(const struct lru_node *head)
{
	return head->next == head;
}

static inline void lru_del(struct lru_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n;
	n->next = n;
}

static inline void lru_push_front(struct lru_node *head, struct lru_node *n)
{
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

static inline void lru_move_front(struct lru_node *head, struct lru_node *n)
{
	lru_del(n);
	lru_push_front(head, n);
}

/* Chained hash table; callers walk a chain from htab_first() comparing their
 * own keys, so the table knows nothing about what it holds. */
struct htab_node {
	struct htab_node *next;
	uint64_t hash;
};

struct htab {
	struct htab_node **slots;
	size_t mask;
	size_t count;
};

static inline int htab_init(struct htab *t, size_t nslots)
{
	t->slots = calloc(nslots, sizeof(*t->slots));
	if (!t->slots)
		return -1;
	t->mask = nslots - 1;
	t->count = 0;
	return 0;
}

static inline void htab_free(struct htab *t)
{
	free(t->slots);
	t->slots = NULL;
}

static inline struct htab_node *htab_first(const struct htab *t, uint64_t hash)
{
	return t->slots[hash & t->mask];
}

/* Doubling is best effort: without memory the chains just get longer. */
static inline void htab_grow(struct htab *t)
{
	size_t n = (t->mask + 1) * 2;
	struct htab_node **slots = calloc(n, sizeof(*slots));
	if (!slots)
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		struct htab_node *e = t->slots[i];
		while (e) {
			struct htab_node *next = e->next;
			e->next = slots[e->hash & (n - 1)];
			slots[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(t->slots);
	t->slots = slots;
	t->mask = n - 1;
}

static inline void htab_insert(struct htab *t, struct htab_node *n)
{
	if (t->count > t->mask)
		htab_grow(t);
	struct htab_node **slot = &t->slots[n->hash & t->mask];
	n->next = *slot;
	*slot = n;
	t->count++;
}

static inline void htab_remove(struct htab *t, struct htab_node *n)
{
	for (struct htab_node **p = &t->slots[n->hash & t->mask]; *p; p = &(*p)->next) {
		if (*p == n) {
			*p = n->next;
			t->count--;
			return;
		}
	}
}

/* Memory tier: sharded hash tables with one global LRU order. */
struct mem_tier;

int mem_tier_create(uint64_t bound, struct mem_tier **out);
void mem_tier_destroy(struct mem_tier *m);
/* Copies [off, off+len) of the block when it is cached with size block_len. */
int mem_tier_get(struct mem_tier *m, const char *key, size_t block_len, size_t off, size_t len,
		 void *buf);
void mem_tier_put(struct mem_tier *m, const char *key, const void *buf, size_t len);
/* Like mem_tier_put, but takes buf (malloc'd) instead of copying it; frees it
 * when it is not kept. */
void mem_tier_adopt(struct mem_tier *m, const char *key, void *buf, size_t len);
bool mem_tier_contains(struct mem_tier *m, const char *key);
/* True when a block of this size could be held at all. */
bool mem_tier_fits(const struct mem_tier *m, const char *key, size_t len);
/* True when it could be held now without evicting anything. */
bool mem_tier_has_room(struct mem_tier *m, const char *key, size_t len);
/* The tiers' hash of a key. */
uint64_t cache_key_hash(const char *key, size_t len);
void mem_tier_stats(struct mem_tier *m, uint64_t *used, uint64_t *evictions);

/* Disk tier: one checksummed file per block under a directory. */
struct disk_tier;

int disk_tier_open(const char *dir, uint64_t bound, struct disk_tier **out);
void disk_tier_close(struct disk_tier *d);
/* Full read, always verified against the file's checksum. */
int disk_tier_get(struct disk_tier *d, const char *key, void *buf, size_t len);
/* Partial read: the whole file is verified once, later reads trust it. */
int disk_tier_get_range(struct disk_tier *d, const char *key, size_t block_len, size_t off,
			size_t len, void *buf);
void disk_tier_put(struct disk_tier *d, const char *key, const void *buf, size_t len);
bool disk_tier_contains(struct disk_tier *d, const char *key);
void disk_tier_stats(struct disk_tier *d, uint64_t *used, uint64_t *evictions);

/* CRC-32C (Castagnoli); crc32c() picks the SSE4.2 instruction when the CPU
 * has it, crc32c_sw() is the portable table version (exposed for tests). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
