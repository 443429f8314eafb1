#include "dir_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"
#include "lru.h"

#define BUCKETS 1024
/* Forgets are remembered per slot of directories, so that a forget of one
 * directory turns away few readers of the others. */
#define FORGET_SLOTS 1024

struct name {
	struct name *next;
	mcfs_ino_t ino; /* 0: no such name */
	uint8_t type;
	char s[];
};

struct listing {
	struct listing *hnext;
	struct lru_node lru;
	mcfs_ino_t dir;
	long long expires_ms;
	struct dir_seg **segs; /* contiguous: each starts after the last cookie of the one before */
	size_t nsegs, cap;
	size_t entries;
	uint64_t end;	     /* the last kept entry's cookie; 0 while nothing is kept */
	bool complete;	     /* the last segment ends the directory */
	struct name **names; /* looked up: a hash of nnames in mask + 1 chains */
	size_t nnames, mask;
};

struct dir_cache {
	pthread_mutex_t lock;
	size_t max_entries, entries;
	unsigned max_age_ms;
	struct listing *buckets[BUCKETS];
	struct lru_list lru;
	/* Every forget takes the next number; a ticket is the number current
	 * when it was taken, so "forgotten since the ticket" is a comparison. */
	uint64_t seq, flushed;
	uint64_t forgotten[FORGET_SLOTS];
	struct dir_cache_stats st;
};

struct dir_seg *dir_seg_new(uint64_t after, size_t n, size_t names_len)
{
	struct dir_seg *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->e = n ? calloc(n, sizeof(*s->e)) : NULL;
	s->names = names_len ? malloc(names_len) : NULL;
	if ((n && !s->e) || (names_len && !s->names)) {
		free(s->e);
		free(s->names);
		free(s);
		return NULL;
	}
	s->refs = 1;
	s->after = after;
	s->n = n;
	return s;
}

void dir_seg_put(struct dir_seg *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free(s->e);
	free(s->names);
	free(s);
}

struct dir_cache *dir_cache_new(size_t max_entries, unsigned max_age_ms)
{
	if (!max_entries || !max_age_ms)
		return NULL;
	struct dir_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->max_entries = max_entries;
	c->max_age_ms = max_age_ms;
	c->seq = 1;
	return c;
}

static struct listing **slot_of(struct dir_cache *c, mcfs_ino_t dir)
{
	return &c->buckets[mcfs_ino_hash(dir) % BUCKETS];
}

static struct listing *find(struct dir_cache *c, mcfs_ino_t dir)
{
	struct listing *l = *slot_of(c, dir);
	while (l && l->dir != dir)
		l = l->hnext;
	return l;
}

static struct listing *listing_of(struct lru_node *n)
{
	return n ? LRU_ENTRY(n, struct listing, lru) : NULL;
}

static void drop(struct dir_cache *c, struct listing *l)
{
	struct listing **pp = slot_of(c, l->dir);
	while (*pp != l)
		pp = &(*pp)->hnext;
	*pp = l->hnext;
	lru_remove(&c->lru, &l->lru);
	for (size_t i = 0; i < l->nsegs; i++)
		dir_seg_put(l->segs[i]);
	for (size_t i = 0; l->names && i <= l->mask; i++)
		for (struct name *n = l->names[i], *next; n; n = next) {
			next = n->next;
			free(n);
		}
	c->entries -= l->entries;
	c->st.dirs--;
	free(l->names);
	free(l->segs);
	free(l);
}

void dir_cache_free(struct dir_cache *c)
{
	if (!c)
		return;
	while (c->lru.newest)
		drop(c, listing_of(c->lru.newest));
	pthread_mutex_destroy(&c->lock);
	free(c);
}

uint64_t dir_cache_ticket(struct dir_cache *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t t = c->seq;
	pthread_mutex_unlock(&c->lock);
	return t;
}

static uint64_t seg_end(const struct dir_seg *s)
{
	return s->n ? s->e[s->n - 1].cookie : s->after;
}

/* The first segment with an entry after cookie (cookie < l->end). */
static size_t seg_index(const struct listing *l, uint64_t cookie)
{
	size_t lo = 0, hi = l->nsegs - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (seg_end(l->segs[mid]) > cookie)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The first entry of s after cookie. */
static size_t entry_index(const struct dir_seg *s, uint64_t cookie)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->e[mid].cookie > cookie)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* dir's listing, unless it is too old to serve (then it goes); lock held. */
static struct listing *find_live(struct dir_cache *c, mcfs_ino_t dir)
{
	struct listing *l = find(c, dir);
	if (l && coarse_now_ms() >= l->expires_ms) {
		drop(c, l);
		c->st.expired++;
		l = NULL;
	}
	return l;
}

struct dir_seg *dir_cache_get(struct dir_cache *c, mcfs_ino_t dir, uint64_t cookie, size_t *at,
			      bool *last)
{
	pthread_mutex_lock(&c->lock);
	struct listing *l = find_live(c, dir);
	struct dir_seg *s = NULL;
	if (l && l->nsegs && cookie < l->end) {
		size_t k = seg_index(l, cookie);
		s = l->segs[k];
		*at = entry_index(s, cookie);
		*last = k == l->nsegs - 1 && l->complete;
	} else if (l && l->nsegs && l->complete) {
		s = l->segs[l->nsegs - 1]; /* at or past the end: nothing more */
		*at = s->n;
		*last = true;
	}
	if (s) {
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
		lru_touch(&c->lru, &l->lru);
		c->st.hits++;
	} else {
		c->st.misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return s;
}

/* Room for n more entries, taken from the listings used longest ago. */
static bool make_room(struct dir_cache *c, const struct listing *keep, size_t n)
{
	if (keep->entries + n > c->max_entries)
		return false;
	while (c->entries + n > c->max_entries && c->lru.oldest) {
		struct lru_node *old =
		    c->lru.oldest == &keep->lru ? keep->lru.newer : c->lru.oldest;
		struct listing *victim = listing_of(old);
		if (!victim)
			return false;
		drop(c, victim);
		c->st.evictions++;
	}
	return true;
}

static struct listing *start_listing(struct dir_cache *c, mcfs_ino_t dir)
{
	struct listing *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->dir = dir;
	l->expires_ms = coarse_now_ms() + c->max_age_ms;
	struct listing **slot = slot_of(c, dir);
	l->hnext = *slot;
	*slot = l;
	lru_add_newest(&c->lru, &l->lru);
	c->st.dirs++;
	return l;
}

static bool append(struct dir_cache *c, struct listing *l, struct dir_seg *s, bool last)
{
	if (l->nsegs == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct dir_seg **segs = realloc(l->segs, cap * sizeof(*segs));
		if (!segs)
			return false;
		l->segs = segs;
		l->cap = cap;
	}
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	l->segs[l->nsegs++] = s;
	l->entries += s->n;
	c->entries += s->n;
	l->end = seg_end(s);
	l->complete = last;
	return true;
}

static bool overtaken(const struct dir_cache *c, mcfs_ino_t dir, uint64_t ticket)
{
	return c->flushed > ticket || c->forgotten[mcfs_ino_hash(dir) % FORGET_SLOTS] > ticket;
}

void dir_cache_add(struct dir_cache *c, mcfs_ino_t dir, struct dir_seg *s, bool last,
		   uint64_t ticket)
{
	pthread_mutex_lock(&c->lock);
	struct listing *l = find(c, dir);
	bool added = false;
	if (overtaken(c, dir, ticket)) {
		c->st.refused++;
	} else if (!l && s->after == 0) {
		l = start_listing(c, dir);
		added = l && make_room(c, l, s->n) && append(c, l, s, last);
	} else if (l && !l->complete && s->after == l->end && (s->n || last)) {
		/* An empty page only says the directory ends here. */
		added = s->n == 0 ? (l->complete = true)
				  : make_room(c, l, s->n) && append(c, l, s, last);
	}
	if (l && l->nsegs == 0 && l->nnames == 0)
		drop(c, l); /* a listing that could not start */
	if (added)
		c->st.adds++;
	pthread_mutex_unlock(&c->lock);
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static struct name *find_name(const struct listing *l, const char *s)
{
	if (!l->names)
		return NULL;
	struct name *n = l->names[name_hash(s) & l->mask];
	while (n && strcmp(n->s, s) != 0)
		n = n->next;
	return n;
}

/* Room in the hash for one more name: it doubles when as full as it is wide. */
static bool names_grow(struct listing *l)
{
	if (l->names && l->nnames <= l->mask)
		return true;
	size_t width = l->names ? (l->mask + 1) * 2 : 16;
	struct name **t = calloc(width, sizeof(*t));
	if (!t)
		return false;
	for (size_t i = 0; l->names && i <= l->mask; i++)
		for (struct name *n = l->names[i], *next; n; n = next) {
			next = n->next;
			struct name **slot = &t[name_hash(n->s) & (width - 1)];
			n->next = *slot;
			*slot = n;
		}
	free(l->names);
	l->names = t;
	l->mask = width - 1;
	return true;
}

void dir_cache_put_name(struct dir_cache *c, mcfs_ino_t dir, const char *s, mcfs_ino_t ino,
			uint8_t type, uint64_t ticket)
{
	size_t len = strlen(s);
	pthread_mutex_lock(&c->lock);
	struct listing *l = find(c, dir);
	if (overtaken(c, dir, ticket)) {
		c->st.refused++;
	} else if (!l || !find_name(l, s)) {
		if (!l)
			l = start_listing(c, dir);
		struct name *n =
		    l && make_room(c, l, 1) && names_grow(l) ? malloc(sizeof(*n) + len + 1) : NULL;
		if (n) {
			n->ino = ino;
			n->type = type;
			memcpy(n->s, s, len + 1);
			struct name **slot = &l->names[name_hash(s) & l->mask];
			n->next = *slot;
			*slot = n;
			l->nnames++;
			l->entries++;
			c->entries++;
		}
		if (l && l->nsegs == 0 && l->nnames == 0)
			drop(c, l); /* a listing that could not start */
	}
	pthread_mutex_unlock(&c->lock);
}

bool dir_cache_get_name(struct dir_cache *c, mcfs_ino_t dir, const char *s, mcfs_ino_t *ino,
			uint8_t *type)
{
	pthread_mutex_lock(&c->lock);
	struct listing *l = find_live(c, dir);
	const struct name *n = l ? find_name(l, s) : NULL;
	if (n) {
		*ino = n->ino;
		*type = n->type;
		lru_touch(&c->lru, &l->lru);
		c->st.name_hits++;
	} else {
		c->st.name_misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return n != NULL;
}

void dir_cache_forget(struct dir_cache *c, mcfs_ino_t dir)
{
	pthread_mutex_lock(&c->lock);
	c->forgotten[mcfs_ino_hash(dir) % FORGET_SLOTS] = ++c->seq;
	struct listing *l = find(c, dir);
	if (l)
		drop(c, l);
	c->st.forgets++;
	pthread_mutex_unlock(&c->lock);
}

void dir_cache_forget_all(struct dir_cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->flushed = ++c->seq;
	while (c->lru.newest)
		drop(c, listing_of(c->lru.newest));
	c->st.flushes++;
	pthread_mutex_unlock(&c->lock);
}

void dir_cache_stats(struct dir_cache *c, struct dir_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	out->entries = c->entries;
	pthread_mutex_unlock(&c->lock);
}
