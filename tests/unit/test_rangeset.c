/* The written-ranges set of the write buffer, and the RESP formatter. */
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "rangeset.h"
#include "meta_reply.h"
#include "resp.h"

static void test_merge_out_of_order(void)
{
	struct rangeset s = {0};
	/* 1 MiB pieces arriving as 2, 0, 3, 1: touching ranges merge. */
	CU_ASSERT_EQUAL(rangeset_add(&s, 2u << 20, 3u << 20), 0);
	CU_ASSERT_EQUAL(rangeset_add(&s, 0, 1u << 20), 0);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT(!rangeset_covers(&s, 0, 3u << 20));
	CU_ASSERT_EQUAL(rangeset_add(&s, 3u << 20, 4u << 20), 0);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_EQUAL(rangeset_add(&s, 1u << 20, 2u << 20), 0);
	CU_ASSERT_EQUAL(s.n, 1);
	CU_ASSERT(rangeset_covers(&s, 0, 4u << 20));
	CU_ASSERT(!rangeset_covers(&s, 0, (4u << 20) + 1));
	rangeset_free(&s);
}

static void test_overlaps_and_gaps(void)
{
	struct rangeset s = {0};
	CU_ASSERT_EQUAL(rangeset_add(&s, 10, 20), 0);
	CU_ASSERT_EQUAL(rangeset_add(&s, 30, 40), 0);
	CU_ASSERT_EQUAL(rangeset_add(&s, 50, 60), 0);
	CU_ASSERT_EQUAL(rangeset_add(&s, 15, 35), 0); /* bridges the first two */
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_EQUAL(s.r[0].lo, 10);
	CU_ASSERT_EQUAL(s.r[0].hi, 40);
	CU_ASSERT(rangeset_covers(&s, 12, 39));
	CU_ASSERT(!rangeset_covers(&s, 39, 51));
	CU_ASSERT(!rangeset_covers(&s, 5, 11));
	CU_ASSERT(rangeset_covers(&s, 55, 55)); /* empty */
	CU_ASSERT_EQUAL(rangeset_add(&s, 0, 100), 0);
	CU_ASSERT_EQUAL(s.n, 1);
	rangeset_free(&s);
}

static void test_resp(void)
{
	char num[24];
	CU_ASSERT_EQUAL(resp_u64(num, 0), 1);
	CU_ASSERT_STRING_EQUAL(num, "0");
	CU_ASSERT_EQUAL(resp_u64(num, UINT64_MAX), 20);
	CU_ASSERT_STRING_EQUAL(num, "18446744073709551615");
	const char *argv[] = {"GET", "a\r\nb"};
	size_t lens[] = {3, 4};
	char *out = NULL;
	long n = resp_format(&out, 2, argv, lens);
	const char *want = "*2\r\n$3\r\nGET\r\n$4\r\na\r\nb\r\n";
	CU_ASSERT_EQUAL(n, (long)strlen(want));
	CU_ASSERT(out && memcmp(out, want, strlen(want)) == 0);
	free(out);
	/* Without lengths: C strings. */
	n = resp_format(&out, 2, argv, NULL);
	CU_ASSERT_EQUAL(n, (long)strlen(want));
	free(out);
	n = resp_format(&out, 0, argv, NULL);
	CU_ASSERT_EQUAL(n, 4);
	free(out);
}

/* Parses RESP with the metadata layer's reply builder, fed in pieces of n bytes. */
static redisReply *parse(const char *resp, size_t n)
{
	redisReader *rd = redisReaderCreateWithFunctions(&meta_reply_functions);
	void *reply = NULL;
	for (size_t off = 0, len = strlen(resp); off < len && !reply; off += n) {
		CU_ASSERT_FATAL(redisReaderFeed(rd, resp + off, off + n > len ? len - off : n) ==
				REDIS_OK);
		CU_ASSERT_FATAL(redisReaderGetReply(rd, &reply) == REDIS_OK);
	}
	redisReaderFree(rd);
	return reply;
}

static void test_replies(void)
{
	for (size_t piece = 1; piece <= 64; piece *= 4) {
		/* A ROLE-like reply: nested arrays, strings, integers, a nil. */
		redisReply *r = parse("*3\r\n$5\r\nslave\r\n:42\r\n*2\r\n$-1\r\n+OK\r\n", piece);
		CU_ASSERT_FATAL(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3);
		CU_ASSERT(r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len == 5 &&
			  strcmp(r->element[0]->str, "slave") == 0);
		CU_ASSERT(r->element[1]->type == REDIS_REPLY_INTEGER &&
			  r->element[1]->integer == 42);
		redisReply *in = r->element[2];
		CU_ASSERT(in->type == REDIS_REPLY_ARRAY && in->elements == 2);
		CU_ASSERT(in->element[0]->type == REDIS_REPLY_NIL);
		CU_ASSERT(in->element[1]->type == REDIS_REPLY_STATUS &&
			  strcmp(in->element[1]->str, "OK") == 0);
		meta_reply_free(r);
	}
	redisReply *e = parse("-ERR no such key\r\n", 5);
	CU_ASSERT(e && e->type == REDIS_REPLY_ERROR && strcmp(e->str, "ERR no such key") == 0);
	meta_reply_free(e);
	/* A listing's worth: thousands of elements, far past the first block. */
	enum { N = 5000 };
	char *big = malloc(N * 40 + 32), *p = big;
	p += sprintf(p, "*%d\r\n", N);
	for (int i = 0; i < N; i++)
		p += sprintf(p, "$%d\r\nname-%05d-%s\r\n", 11 + (i % 3), i, &"xyz"[3 - i % 3]);
	redisReply *r = parse(big, 4096);
	CU_ASSERT_FATAL(r && r->elements == N);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		char want[32];
		snprintf(want, sizeof(want), "name-%05d-%s", i, &"xyz"[3 - i % 3]);
		bad += strcmp(r->element[i]->str, want) != 0 || r->element[i]->len != strlen(want);
	}
	CU_ASSERT_EQUAL(bad, 0);
	meta_reply_free(r);
	free(big);
	/* A reply cut by a protocol error is freed by the reader itself. */
	redisReader *rd = redisReaderCreateWithFunctions(&meta_reply_functions);
	void *reply = NULL;
	const char *cut = "*2\r\n$1\r\na\r\n!bad\r\n";
	CU_ASSERT(redisReaderFeed(rd, cut, strlen(cut)) == REDIS_OK);
	CU_ASSERT(redisReaderGetReply(rd, &reply) == REDIS_ERR);
	redisReaderFree(rd);
	meta_reply_free(NULL);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"out-of-order pieces merge", test_merge_out_of_order},
	    {"overlaps and gaps", test_overlaps_and_gaps},
	    {"RESP commands", test_resp},
	    {"replies built in blocks", test_replies},
	    {NULL, NULL}};
	if (test_add_suite("rangeset", NULL, NULL, tests) < 0)
		return 1;
	return test_run_all();
}
