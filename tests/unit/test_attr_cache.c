/* The attribute cache's rules: what gets in, what is turned away as
 * overtaken by a change, what goes out, and its bounds. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "attr_cache.h"
#include "cunit_main.h"

static struct mcfs_attr attr_of(mcfs_ino_t ino, uint16_t mode)
{
	struct mcfs_attr a;
	memset(&a, 0, sizeof(a));
	a.ino = ino;
	a.type = MCFS_FILE;
	a.mode = mode;
	a.nlink = 1;
	return a;
}

static void test_put_and_get(void)
{
	struct attr_cache *c = attr_cache_new(1000, 60000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	struct mcfs_attr a = attr_of(7, 0644), out;
	CU_ASSERT_FALSE(attr_cache_get(c, 7, &out));
	attr_cache_put(c, &a, attr_cache_ticket(c));
	CU_ASSERT_TRUE(attr_cache_get(c, 7, &out));
	CU_ASSERT_EQUAL(out.ino, 7);
	CU_ASSERT_EQUAL(out.mode, 0644);
	CU_ASSERT_FALSE(attr_cache_get(c, 8, &out));
	/* Buffered-write merging is the reader's business, never cached. */
	a.pending = true;
	attr_cache_put(c, &a, attr_cache_ticket(c));
	CU_ASSERT_TRUE(attr_cache_get(c, 7, &out));
	CU_ASSERT_FALSE(out.pending);
	struct attr_cache_stats st;
	attr_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.hits, 2);
	CU_ASSERT_EQUAL(st.misses, 2);
	CU_ASSERT_EQUAL(st.entries, 1);
	attr_cache_free(c);
}

/* An answer read before a change must not get in after the change was forgotten. */
static void test_overtaken_answers_are_refused(void)
{
	struct attr_cache *c = attr_cache_new(1000, 60000);
	struct mcfs_attr old = attr_of(7, 0644), out;
	uint64_t t = attr_cache_ticket(c);
	attr_cache_forget(c, 7); /* the change is reported while the read is on its way */
	attr_cache_put(c, &old, t);
	CU_ASSERT_FALSE(attr_cache_get(c, 7, &out));
	/* Anything forgotten at once counts for every inode. */
	t = attr_cache_ticket(c);
	attr_cache_forget_all(c);
	attr_cache_put(c, &old, t);
	CU_ASSERT_FALSE(attr_cache_get(c, 7, &out));
	/* A ticket taken after the forget is good. */
	t = attr_cache_ticket(c);
	attr_cache_put(c, &old, t);
	CU_ASSERT_TRUE(attr_cache_get(c, 7, &out));
	struct attr_cache_stats st;
	attr_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.refused, 2);
	attr_cache_free(c);
}

/* This process's own change replaces the entry and turns away answers
 * that were read before it. */
static void test_own_change_replaces(void)
{
	struct attr_cache *c = attr_cache_new(1000, 60000);
	struct mcfs_attr before = attr_of(9, 0644), after = attr_of(9, 0600), out;
	uint64_t read_ticket = attr_cache_ticket(c); /* a read of "before" leaves */
	uint64_t change_ticket = attr_cache_ticket(c);
	attr_cache_update(c, &after, change_ticket);
	attr_cache_put(c, &before, read_ticket); /* ...and comes back late */
	CU_ASSERT_TRUE(attr_cache_get(c, 9, &out));
	CU_ASSERT_EQUAL(out.mode, 0600);
	/* A change whose own ticket was overtaken leaves nothing behind. */
	uint64_t t = attr_cache_ticket(c);
	attr_cache_forget(c, 9);
	attr_cache_update(c, &before, t);
	CU_ASSERT_FALSE(attr_cache_get(c, 9, &out));
	attr_cache_free(c);
}

static void test_forget(void)
{
	struct attr_cache *c = attr_cache_new(1000, 60000);
	struct mcfs_attr out;
	for (mcfs_ino_t i = 1; i <= 100; i++) {
		struct mcfs_attr a = attr_of(i, 0644);
		attr_cache_put(c, &a, attr_cache_ticket(c));
	}
	attr_cache_forget(c, 50);
	CU_ASSERT_FALSE(attr_cache_get(c, 50, &out));
	CU_ASSERT_TRUE(attr_cache_get(c, 51, &out));
	attr_cache_forget_all(c);
	int left = 0;
	for (mcfs_ino_t i = 1; i <= 100; i++)
		left += attr_cache_get(c, i, &out);
	CU_ASSERT_EQUAL(left, 0);
	attr_cache_free(c);
}

/* Bounded: the least recently used go first. */
static void test_bound_and_lru(void)
{
	const size_t max = 1024;
	struct attr_cache *c = attr_cache_new(max, 60000);
	struct mcfs_attr out;
	for (mcfs_ino_t i = 1; i <= 20 * max; i++) {
		struct mcfs_attr a = attr_of(i, 0644);
		attr_cache_put(c, &a, attr_cache_ticket(c));
		/* inode 1 is used all the time */
		CU_ASSERT_TRUE(attr_cache_get(c, 1, &out));
	}
	struct attr_cache_stats st;
	attr_cache_stats(c, &st);
	/* Shards round up: the bound is max plus one entry per shard at most. */
	CU_ASSERT(st.entries <= max + 256);
	CU_ASSERT(st.entries >= max / 2);
	CU_ASSERT(st.evictions > 0);
	CU_ASSERT_TRUE(attr_cache_get(c, 1, &out));
	CU_ASSERT_TRUE(attr_cache_get(c, 20 * max, &out));
	attr_cache_free(c);
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An entry serves no longer than its age bound, reported change or not. */
static void test_age_bound(void)
{
	struct attr_cache *c = attr_cache_new(100, 50);
	struct mcfs_attr a = attr_of(3, 0644), out;
	long long start = mono_ms();
	attr_cache_put(c, &a, attr_cache_ticket(c));
	CU_ASSERT_TRUE(attr_cache_get(c, 3, &out));
	bool gone = false;
	while (!gone && mono_ms() - start < 5000)
		gone = !attr_cache_get(c, 3, &out);
	CU_ASSERT_TRUE(gone);
	CU_ASSERT(mono_ms() - start >= 40); /* the coarse clock ticks in ~4 ms steps */
	attr_cache_free(c);
}

/* Forgets racing puts from other threads: whatever the interleaving, an
 * answer older than the last forget of its inode is never served. */
struct race {
	struct attr_cache *c;
	unsigned version; /* atomic: bumped before each forget */
	bool stop;	  /* atomic */
	unsigned stale;	  /* answers served older than the version at the time */
};

static void *race_reader(void *arg)
{
	struct race *r = arg;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		uint64_t t = attr_cache_ticket(r->c);
		/* "Reading Redis": the version now is what the answer holds. */
		unsigned v = __atomic_load_n(&r->version, __ATOMIC_ACQUIRE);
		struct mcfs_attr a = attr_of(42, 0644);
		a.change = v;
		attr_cache_put(r->c, &a, t);
		struct mcfs_attr out;
		unsigned now = __atomic_load_n(&r->version, __ATOMIC_ACQUIRE);
		if (attr_cache_get(r->c, 42, &out) && out.change + 1 < now)
			__atomic_add_fetch(&r->stale, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_forgets_race_puts(void)
{
	struct race r = {.c = attr_cache_new(100, 60000)};
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, race_reader, &r) == 0);
	for (int i = 0; i < 200000; i++) {
		/* The change lands (version), then its report arrives (forget). */
		__atomic_add_fetch(&r.version, 1, __ATOMIC_ACQ_REL);
		attr_cache_forget(r.c, 42);
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(r.stale, 0);
	attr_cache_free(r.c);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"put and get", test_put_and_get},
	    {"answers overtaken by a change are refused", test_overtaken_answers_are_refused},
	    {"an own change replaces the entry", test_own_change_replaces},
	    {"forget one, forget all", test_forget},
	    {"bounded, least recently used go first", test_bound_and_lru},
	    {"entries age out", test_age_bound},
	    {"forgets racing puts never leave a stale entry", test_forgets_race_puts},
	    {NULL, NULL},
	};
	if (test_add_suite("attr_cache", NULL, NULL, tests) < 0)
		return 1;
	return test_run_all();
}
