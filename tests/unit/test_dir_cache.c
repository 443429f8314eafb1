/* The listing cache's rules: a listing is kept from the directory's start
 * in contiguous pages, answers any cookie inside it, ends where the
 * directory ends, and goes out on a change, overtaken reads staying out. */
#include <stdio.h>
#include <string.h>

#include "cunit_main.h"
#include "dir_cache.h"
#include "proc.h"

/* A page of n entries after cookie `after`: cookies after+step, after+2*step...,
 * named "e<cookie>", inode 1000 + cookie. */
static struct dir_seg *page(uint64_t after, size_t n, uint64_t step)
{
	struct dir_seg *s = dir_seg_new(after, n, n * 24);
	if (!s)
		return NULL;
	char *p = s->names;
	for (size_t i = 0; i < n; i++) {
		uint64_t ck = after + (i + 1) * step;
		s->e[i].cookie = ck;
		s->e[i].ino = 1000 + ck;
		s->e[i].type = 1;
		s->e[i].name = p;
		p += snprintf(p, 24, "e%llu", (unsigned long long)ck) + 1;
	}
	return s;
}

static void add(struct dir_cache *c, mcfs_ino_t dir, uint64_t after, size_t n, bool last)
{
	struct dir_seg *s = page(after, n, 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	dir_cache_add(c, dir, s, last, dir_cache_ticket(c));
	dir_seg_put(s);
}

/* The cookie of the first entry the cache gives after cookie; 0 for a miss,
 * UINT64_MAX for "nothing more: the directory ends". */
static uint64_t first_after(struct dir_cache *c, mcfs_ino_t dir, uint64_t cookie, bool *last)
{
	size_t at = 0;
	struct dir_seg *s = dir_cache_get(c, dir, cookie, &at, last);
	if (!s)
		return 0;
	uint64_t ck = at < s->n ? s->e[at].cookie : UINT64_MAX;
	if (at < s->n)
		CU_ASSERT_EQUAL(s->e[at].ino, 1000 + ck);
	dir_seg_put(s);
	return ck;
}

static void test_kept_from_the_start(void)
{
	struct dir_cache *c = dir_cache_new(1000, 60000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	bool last;
	/* A page from the middle starts nothing: what is before it is unknown. */
	add(c, 5, 100, 10, false);
	CU_ASSERT_EQUAL(first_after(c, 5, 100, &last), 0);
	add(c, 5, 0, 10, false); /* cookies 10..100 */
	CU_ASSERT_EQUAL(first_after(c, 5, 0, &last), 10);
	CU_ASSERT_FALSE(last);
	CU_ASSERT_EQUAL(first_after(c, 5, 35, &last), 40); /* any cookie inside */
	CU_ASSERT_EQUAL(first_after(c, 5, 100, &last), 0); /* beyond what is kept */
	/* A page that does not continue it is not kept (a gap). */
	add(c, 5, 120, 10, true);
	CU_ASSERT_EQUAL(first_after(c, 5, 100, &last), 0);
	add(c, 5, 100, 10, true); /* 110..200, the end */
	CU_ASSERT_EQUAL(first_after(c, 5, 100, &last), 110);
	CU_ASSERT_TRUE(last);
	CU_ASSERT_EQUAL(first_after(c, 5, 95, &last), 100);
	CU_ASSERT_FALSE(last);
	CU_ASSERT_EQUAL(first_after(c, 5, 200, &last), UINT64_MAX);
	CU_ASSERT_TRUE(last);
	CU_ASSERT_EQUAL(first_after(c, 5, 5000, &last), UINT64_MAX);
	CU_ASSERT_EQUAL(first_after(c, 6, 0, &last), 0); /* another directory */
	struct dir_cache_stats st;
	dir_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.dirs, 1);
	CU_ASSERT_EQUAL(st.entries, 20);
	dir_cache_free(c);
}

static void test_empty_directory(void)
{
	struct dir_cache *c = dir_cache_new(1000, 60000);
	bool last = false;
	add(c, 9, 0, 0, true);
	CU_ASSERT_EQUAL(first_after(c, 9, 0, &last), UINT64_MAX);
	CU_ASSERT_TRUE(last);
	/* An empty page that ends a kept listing ends it. */
	add(c, 10, 0, 3, false);
	add(c, 10, 30, 0, true);
	CU_ASSERT_EQUAL(first_after(c, 10, 30, &last), UINT64_MAX);
	CU_ASSERT_TRUE(last);
	dir_cache_free(c);
}

/* Pages read before a change must not get in after the change was forgotten. */
static void test_overtaken_pages_are_refused(void)
{
	struct dir_cache *c = dir_cache_new(1000, 60000);
	bool last;
	struct dir_seg *s = page(0, 5, 10);
	uint64_t t = dir_cache_ticket(c);
	dir_cache_forget(c, 5); /* reported while the page was on its way */
	dir_cache_add(c, 5, s, true, t);
	CU_ASSERT_EQUAL(first_after(c, 5, 0, &last), 0);
	t = dir_cache_ticket(c);
	dir_cache_forget_all(c);
	dir_cache_add(c, 5, s, true, t);
	CU_ASSERT_EQUAL(first_after(c, 5, 0, &last), 0);
	dir_cache_add(c, 5, s, true, dir_cache_ticket(c));
	CU_ASSERT_EQUAL(first_after(c, 5, 0, &last), 10);
	/* A later page of a listing that was forgotten meanwhile starts nothing. */
	struct dir_seg *more = page(50, 5, 10);
	t = dir_cache_ticket(c);
	dir_cache_forget(c, 5);
	dir_cache_add(c, 5, more, true, t);
	CU_ASSERT_EQUAL(first_after(c, 5, 0, &last), 0);
	CU_ASSERT_EQUAL(first_after(c, 5, 50, &last), 0);
	dir_seg_put(more);
	dir_seg_put(s);
	dir_cache_free(c);
}

static void test_forget(void)
{
	struct dir_cache *c = dir_cache_new(1000, 60000);
	bool last;
	add(c, 5, 0, 5, true);
	add(c, 6, 0, 5, true);
	/* A segment a reader holds outlives its listing. */
	size_t at;
	struct dir_seg *held = dir_cache_get(c, 5, 0, &at, &last);
	CU_ASSERT_PTR_NOT_NULL_FATAL(held);
	dir_cache_forget(c, 5);
	CU_ASSERT_EQUAL(first_after(c, 5, 0, &last), 0);
	CU_ASSERT_EQUAL(first_after(c, 6, 0, &last), 10);
	CU_ASSERT_STRING_EQUAL(held->e[4].name, "e50");
	dir_seg_put(held);
	dir_cache_forget_all(c);
	CU_ASSERT_EQUAL(first_after(c, 6, 0, &last), 0);
	struct dir_cache_stats st;
	dir_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.dirs, 0);
	CU_ASSERT_EQUAL(st.entries, 0);
	dir_cache_free(c);
}

static void test_bound(void)
{
	struct dir_cache *c = dir_cache_new(25, 60000);
	bool last;
	add(c, 1, 0, 10, true);
	add(c, 2, 0, 10, true);
	CU_ASSERT_EQUAL(first_after(c, 1, 0, &last), 10); /* 1 is now the newest */
	add(c, 3, 0, 10, true);				  /* 2 makes room */
	CU_ASSERT_EQUAL(first_after(c, 2, 0, &last), 0);
	CU_ASSERT_EQUAL(first_after(c, 1, 0, &last), 10);
	CU_ASSERT_EQUAL(first_after(c, 3, 0, &last), 10);
	/* A directory larger than the bound keeps what fits, and no more. */
	add(c, 4, 0, 20, false);
	add(c, 4, 200, 20, true);
	CU_ASSERT_EQUAL(first_after(c, 4, 0, &last), 10);
	CU_ASSERT_EQUAL(first_after(c, 4, 200, &last), 0);
	struct dir_cache_stats st;
	dir_cache_stats(c, &st);
	CU_ASSERT(st.entries <= 25);
	CU_ASSERT(st.evictions >= 2);
	dir_cache_free(c);
}

static void test_age_bound(void)
{
	struct dir_cache *c = dir_cache_new(100, 50);
	bool last;
	long long start = now_ms();
	add(c, 1, 0, 3, true);
	CU_ASSERT_EQUAL(first_after(c, 1, 0, &last), 10);
	bool gone = false;
	while (!gone && now_ms() - start < 5000)
		gone = first_after(c, 1, 0, &last) == 0;
	CU_ASSERT_TRUE(gone);
	CU_ASSERT(now_ms() - start >= 40); /* the coarse clock ticks in ~4 ms steps */
	dir_cache_free(c);
}

static void test_names(void)
{
	struct dir_cache *c = dir_cache_new(3, 60000);
	mcfs_ino_t ino = 99;
	uint8_t type = 9;
	CU_ASSERT_FALSE(dir_cache_get_name(c, 5, "a", &ino, &type));
	dir_cache_put_name(c, 5, "a", 70, 1, dir_cache_ticket(c));
	dir_cache_put_name(c, 5, "gone", 0, 0, dir_cache_ticket(c)); /* known absent */
	CU_ASSERT_TRUE(dir_cache_get_name(c, 5, "a", &ino, &type));
	CU_ASSERT_EQUAL(ino, 70);
	CU_ASSERT_EQUAL(type, 1);
	CU_ASSERT_TRUE(dir_cache_get_name(c, 5, "gone", &ino, &type));
	CU_ASSERT_EQUAL(ino, 0);
	CU_ASSERT_FALSE(dir_cache_get_name(c, 6, "a", &ino, &type));
	/* Overtaken: looked up before a change whose forget came first. */
	uint64_t t = dir_cache_ticket(c);
	dir_cache_forget(c, 5);
	CU_ASSERT_FALSE(dir_cache_get_name(c, 5, "a", &ino, &type));
	dir_cache_put_name(c, 5, "a", 70, 1, t);
	CU_ASSERT_FALSE(dir_cache_get_name(c, 5, "a", &ino, &type));
	/* Names count against the bound with the listings' entries. */
	for (int i = 0; i < 5; i++) {
		char n[8];
		snprintf(n, sizeof(n), "n%d", i);
		dir_cache_put_name(c, 7, n, 100 + (mcfs_ino_t)i, 1, dir_cache_ticket(c));
	}
	struct dir_cache_stats st;
	dir_cache_stats(c, &st);
	CU_ASSERT(st.entries <= 3);
	/* Many names in one directory: its table grows and finds them all. */
	dir_cache_free(c);
	c = dir_cache_new(10000, 60000);
	for (int i = 0; i < 1000; i++) {
		char n[8];
		snprintf(n, sizeof(n), "m%d", i);
		dir_cache_put_name(c, 8, n, 1000 + (mcfs_ino_t)i, 1, dir_cache_ticket(c));
	}
	bool all = true;
	for (int i = 0; i < 1000; i++) {
		char n[8];
		snprintf(n, sizeof(n), "m%d", i);
		all =
		    all && dir_cache_get_name(c, 8, n, &ino, &type) && ino == 1000 + (mcfs_ino_t)i;
	}
	CU_ASSERT_TRUE(all);
	/* A listing may follow names into the same directory, and go with them. */
	add(c, 8, 0, 5, true);
	bool last;
	CU_ASSERT_EQUAL(first_after(c, 8, 0, &last), 10);
	dir_cache_forget_all(c);
	CU_ASSERT_FALSE(dir_cache_get_name(c, 8, "m1", &ino, &type));
	CU_ASSERT_EQUAL(first_after(c, 8, 0, &last), 0);
	dir_cache_free(c);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"kept from the start, contiguous", test_kept_from_the_start},
	    {"an empty directory, and an empty last page", test_empty_directory},
	    {"pages overtaken by a change are refused", test_overtaken_pages_are_refused},
	    {"forget one, forget all", test_forget},
	    {"bounded, least recently used go first", test_bound},
	    {"listings age out", test_age_bound},
	    {"names looked up", test_names},
	    {NULL, NULL},
	};
	if (test_add_suite("dir_cache", NULL, NULL, tests) < 0)
		return 1;
	return test_run_all();
}
