/*
 * Duplicate request cache: a hash table of entries threaded on an LRU list,
 * under one mutex. Hashing (including the checksum of the whole request)
 * and copying replies in are done outside the lock.
 */
#include "drc.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lru.h"

#define DRC_DEFAULT_ENTRIES 4096
#define DRC_DEFAULT_AGE_S   120
#define DRC_MAX_ENTRIES	    (1u << 24)

#define HASH_K1 0x9e3779b97f4a7c15ULL
#define HASH_K2 0xd6e8feb86659fd93ULL

/* A peer address reduced to what identifies it (sockaddr padding is not). */
struct drc_addr {
	uint16_t family;
	uint16_t port;
	uint32_t scope;
	uint8_t addr[16];
};

/* Everything that tells one call from another, with its hash. */
struct drc_ident {
	struct drc_addr addr;
	uint32_t xid, prog, vers, proc;
	uint64_t sum;
	size_t body_len;
	uint64_t hash;
};

struct drc_entry {
	struct drc_entry *hnext;
	struct lru_node lru;
	struct drc_ident id;
	bool done;
	long long stamp_ms; /* when it finished (age counts from there) */
	void *reply;
	size_t reply_len;
};

struct drc {
	pthread_mutex_t lock;
	size_t max_entries, count;
	size_t mask; /* buckets - 1 */
	long long max_age_ms;
	struct drc_entry **buckets;
	struct lru_list lru;
};

static long long drc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 32;
	h *= HASH_K2;
	h ^= h >> 29;
	h *= HASH_K2;
	h ^= h >> 32;
	return h;
}

/* A word at a time: this runs over every WRITE payload that goes through the cache. */
static uint64_t body_sum(const void *body, size_t len)
{
	const uint8_t *p = body;
	uint64_t h = HASH_K1 ^ (uint64_t)len;
	uint64_t w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = rotl64((h ^ w) * HASH_K2, 27) * HASH_K1;
	}
	w = 0;
	memcpy(&w, p, len);
	h = rotl64((h ^ w ^ ((uint64_t)len << 56)) * HASH_K2, 27) * HASH_K1;
	return mix64(h);
}

static void addr_normalize(const struct sockaddr_storage *ss, socklen_t len, struct drc_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		a->family = AF_INET;
		a->port = s4->sin_port;
		memcpy(a->addr, &s4->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		a->port = s6->sin6_port;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			/* The same IPv4 client, whichever socket it reached. */
			a->family = AF_INET;
			memcpy(a->addr, &s6->sin6_addr.s6_addr[12], 4);
		} else {
			a->family = AF_INET6;
			a->scope = s6->sin6_scope_id;
			memcpy(a->addr, &s6->sin6_addr, 16);
		}
	} else {
		a->family = ss->ss_family;
		size_t n = len > sizeof(sa_family_t) ? len - sizeof(sa_family_t) : 0;
		if (n > sizeof(a->addr))
			n = sizeof(a->addr);
		memcpy(a->addr, (const uint8_t *)ss + sizeof(sa_family_t), n);
	}
}

static void ident_make(const struct drc_key *k, struct drc_ident *id)
{
	uint64_t w[2];

	addr_normalize(&k->peer, k->peer_len, &id->addr);
	id->xid = k->xid;
	id->prog = k->prog;
	id->vers = k->vers;
	id->proc = k->proc;
	id->body_len = k->body ? k->body_len : 0;
	id->sum = body_sum(k->body ? k->body : "", id->body_len);

	uint64_t h = mix64(id->sum ^ ((uint64_t)id->xid << 32 | id->proc));
	h = mix64(h ^ ((uint64_t)id->prog << 32 | id->vers));
	h = mix64(
	    h ^ ((uint64_t)id->addr.family << 48 | (uint64_t)id->addr.port << 32 | id->addr.scope));
	memcpy(w, id->addr.addr, sizeof(w));
	h = mix64(h ^ w[0]);
	id->hash = mix64(h ^ w[1]);
}

static bool ident_eq(const struct drc_ident *a, const struct drc_ident *b)
{
	return a->hash == b->hash && a->xid == b->xid && a->proc == b->proc && a->prog == b->prog &&
	       a->vers == b->vers && a->sum == b->sum && a->body_len == b->body_len &&
	       memcmp(&a->addr, &b->addr, sizeof(a->addr)) == 0;
}

int drc_create(size_t max_entries, unsigned max_age_s, struct drc **out)
{
	if (!out)
		return -EINVAL;
	if (max_entries == 0)
		max_entries = DRC_DEFAULT_ENTRIES;
	if (max_entries > DRC_MAX_ENTRIES)
		max_entries = DRC_MAX_ENTRIES;
	size_t nb = 16;
	while (nb < max_entries)
		nb <<= 1;

	struct drc *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->buckets = calloc(nb, sizeof(*d->buckets));
	if (!d->buckets) {
		free(d);
		return -ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->mask = nb - 1;
	d->max_entries = max_entries;
	d->max_age_ms = (long long)(max_age_s ? max_age_s : DRC_DEFAULT_AGE_S) * 1000;
	*out = d;
	return 0;
}

static void entry_free(struct drc_entry *e)
{
	free(e->reply);
	free(e);
}

static struct drc_entry *coldest(const struct drc *d)
{
	return LRU_ENTRY(d->lru.oldest, struct drc_entry, lru);
}

void drc_destroy(struct drc *d)
{
	if (!d)
		return;
	while (d->lru.oldest) {
		struct drc_entry *e = coldest(d);
		lru_remove(&d->lru, &e->lru);
		entry_free(e);
	}
	pthread_mutex_destroy(&d->lock);
	free(d->buckets);
	free(d);
}

static struct drc_entry *find_locked(struct drc *d, const struct drc_ident *id)
{
	for (struct drc_entry *e = d->buckets[id->hash & d->mask]; e; e = e->hnext)
		if (ident_eq(&e->id, id))
			return e;
	return NULL;
}

static void insert_locked(struct drc *d, struct drc_entry *e)
{
	struct drc_entry **b = &d->buckets[e->id.hash & d->mask];
	e->hnext = *b;
	*b = e;
	lru_add_newest(&d->lru, &e->lru);
	d->count++;
}

static void remove_locked(struct drc *d, struct drc_entry *e)
{
	struct drc_entry **pp = &d->buckets[e->id.hash & d->mask];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_remove(&d->lru, &e->lru);
	d->count--;
	entry_free(e);
}

static bool expired(const struct drc *d, const struct drc_entry *e, long long now)
{
	return e->done && now - e->stamp_ms >= d->max_age_ms;
}

/* Drops old answers from the cold end, then the coldest entries until one more fits. */
static void make_room_locked(struct drc *d, long long now)
{
	while (d->lru.oldest && expired(d, coldest(d), now))
		remove_locked(d, coldest(d));
	while (d->count >= d->max_entries && d->lru.oldest)
		remove_locked(d, coldest(d));
}

enum drc_verdict drc_begin(struct drc *d, const struct drc_key *k, void **reply, size_t *reply_len)
{
	struct drc_ident id;

	if (reply)
		*reply = NULL;
	if (reply_len)
		*reply_len = 0;
	if (!d || !k)
		return DRC_EXECUTE;
	ident_make(k, &id);
	/* Allocated before locking; freed if the call turns out to be known. */
	struct drc_entry *fresh = calloc(1, sizeof(*fresh));
	long long now = drc_now_ms();

	pthread_mutex_lock(&d->lock);
	struct drc_entry *e = find_locked(d, &id);
	if (e && expired(d, e, now)) {
		remove_locked(d, e);
		e = NULL;
	}
	if (e) {
		enum drc_verdict v = DRC_IN_PROGRESS;
		void *copy =
		    e->done && reply && reply_len ? malloc(e->reply_len ? e->reply_len : 1) : NULL;
		/* No copy: drop the duplicate; the client retries, nothing runs twice. */
		if (copy) {
			memcpy(copy, e->reply, e->reply_len);
			*reply = copy;
			*reply_len = e->reply_len;
			lru_touch(&d->lru, &e->lru);
			v = DRC_REPLAY;
		}
		pthread_mutex_unlock(&d->lock);
		free(fresh);
		return v;
	}
	if (fresh) {
		make_room_locked(d, now);
		fresh->id = id;
		fresh->stamp_ms = now;
		insert_locked(d, fresh);
	}
	pthread_mutex_unlock(&d->lock);
	return DRC_EXECUTE;
}

void drc_finish(struct drc *d, const struct drc_key *k, const void *reply, size_t reply_len)
{
	struct drc_ident id;

	if (!d || !k || (!reply && reply_len))
		return;
	ident_make(k, &id);
	void *copy = malloc(reply_len ? reply_len : 1);
	if (copy && reply_len)
		memcpy(copy, reply, reply_len);
	long long now = drc_now_ms();

	pthread_mutex_lock(&d->lock);
	struct drc_entry *e = find_locked(d, &id);
	if (e && e->done) {
		/* Finished twice: the first answer stands. */
		free(copy);
	} else if (!copy) {
		/* Cannot keep the answer: forget the call rather than stall its retries. */
		if (e)
			remove_locked(d, e);
	} else {
		if (!e) {
			/* Evicted while it ran: remember it anyway, it is the newest. */
			e = calloc(1, sizeof(*e));
			if (e) {
				make_room_locked(d, now);
				e->id = id;
				insert_locked(d, e);
			}
		}
		if (e) {
			e->reply = copy;
			e->reply_len = reply_len;
			e->done = true;
			e->stamp_ms = now;
			lru_touch(&d->lru, &e->lru);
		} else {
			free(copy);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

void drc_abandon(struct drc *d, const struct drc_key *k)
{
	struct drc_ident id;

	if (!d || !k)
		return;
	ident_make(k, &id);
	pthread_mutex_lock(&d->lock);
	struct drc_entry *e = find_locked(d, &id);
	if (e && !e->done)
		remove_locked(d, e);
	pthread_mutex_unlock(&d->lock);
}
