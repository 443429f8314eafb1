/* Unit tests of gateway/drc.c: the duplicate request cache. */
#include "drc.h"
#include "cunit_main.h"
#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A call from 10.0.0.<host>:<port> with the given xid and body. */
static struct drc_key key4(int host, uint16_t port, uint32_t xid, const char *body)
{
	struct drc_key k = {.xid = xid, .prog = 100003, .vers = 3, .proc = 8};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&k.peer;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	s4->sin_addr.s_addr = htonl(0x0a000000u | (uint32_t)host);
	k.peer_len = sizeof(*s4);
	k.body = body;
	k.body_len = strlen(body);
	return k;
}

static enum drc_verdict begin_expect_reply(struct drc *d, const struct drc_key *k,
					   const char *expect)
{
	void *r = NULL;
	size_t len = 0;
	enum drc_verdict v = drc_begin(d, k, &r, &len);
	if (v == DRC_REPLAY) {
		CU_ASSERT_PTR_NOT_NULL(r);
		CU_ASSERT(expect && len == strlen(expect) && memcmp(r, expect, len) == 0);
	} else {
		CU_ASSERT_PTR_NULL(r);
	}
	free(r);
	return v;
}

static void finish_str(struct drc *d, const struct drc_key *k, const char *reply)
{
	drc_finish(d, k, reply, strlen(reply));
}

static void test_execute_in_progress_replay(void)
{
	struct drc *d;
	CU_ASSERT_FATAL(drc_create(16, 60, &d) == 0);
	struct drc_key k = key4(1, 800, 42, "CREATE a");
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k, NULL), DRC_EXECUTE);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k, NULL), DRC_IN_PROGRESS);
	finish_str(d, &k, "created a");
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k, "created a"), DRC_REPLAY);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k, "created a"), DRC_REPLAY);
	/* A second finish does not replace the first answer. */
	finish_str(d, &k, "other");
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k, "created a"), DRC_REPLAY);
	drc_destroy(d);
}

static void test_same_xid_new_body(void)
{
	struct drc *d;
	CU_ASSERT_FATAL(drc_create(16, 60, &d) == 0);
	struct drc_key a = key4(1, 800, 7, "REMOVE x");
	struct drc_key b = key4(1, 800, 7, "REMOVE y");
	struct drc_key c = key4(1, 800, 7, "REMOVE x2"); /* longer */
	CU_ASSERT_EQUAL(begin_expect_reply(d, &a, NULL), DRC_EXECUTE);
	finish_str(d, &a, "removed x");
	/* The client reused the XID for another call: it is new, not a retransmit. */
	CU_ASSERT_EQUAL(begin_expect_reply(d, &b, NULL), DRC_EXECUTE);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &c, NULL), DRC_EXECUTE);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &a, "removed x"), DRC_REPLAY);
	/* Other fields of the call count too. */
	struct drc_key e = a;
	e.proc = 12;
	CU_ASSERT_EQUAL(begin_expect_reply(d, &e, NULL), DRC_EXECUTE);
	e = a;
	e.vers = 4;
	CU_ASSERT_EQUAL(begin_expect_reply(d, &e, NULL), DRC_EXECUTE);
	e = a;
	e.prog = 100005;
	CU_ASSERT_EQUAL(begin_expect_reply(d, &e, NULL), DRC_EXECUTE);
	drc_destroy(d);
}

static void test_clients_by_address_and_port(void)
{
	struct drc *d;
	CU_ASSERT_FATAL(drc_create(16, 60, &d) == 0);
	struct drc_key a = key4(1, 800, 9, "RENAME");
	CU_ASSERT_EQUAL(begin_expect_reply(d, &a, NULL), DRC_EXECUTE);
	finish_str(d, &a, "renamed");
	struct drc_key other_port = key4(1, 801, 9, "RENAME");
	struct drc_key other_host = key4(2, 800, 9, "RENAME");
	CU_ASSERT_EQUAL(begin_expect_reply(d, &other_port, NULL), DRC_EXECUTE);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &other_host, NULL), DRC_EXECUTE);

	/* Garbage in the sockaddr padding does not make a new client. */
	struct drc_key padded = a;
	memset(((struct sockaddr_in *)&padded.peer)->sin_zero, 0xab, 8);
	memset((uint8_t *)&padded.peer + sizeof(struct sockaddr_in), 0xcd,
	       sizeof(padded.peer) - sizeof(struct sockaddr_in));
	CU_ASSERT_EQUAL(begin_expect_reply(d, &padded, "renamed"), DRC_REPLAY);

	/* The same IPv4 client seen through a dual-stack socket. */
	struct drc_key mapped = a;
	memset(&mapped.peer, 0, sizeof(mapped.peer));
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&mapped.peer;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(800);
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &s6->sin6_addr);
	mapped.peer_len = sizeof(*s6);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &mapped, "renamed"), DRC_REPLAY);

	/* IPv6 clients. */
	struct drc_key v6 = mapped;
	inet_pton(AF_INET6, "2001:db8::1", &((struct sockaddr_in6 *)&v6.peer)->sin6_addr);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &v6, NULL), DRC_EXECUTE);
	finish_str(d, &v6, "six");
	CU_ASSERT_EQUAL(begin_expect_reply(d, &v6, "six"), DRC_REPLAY);
	struct drc_key v6b = v6;
	inet_pton(AF_INET6, "2001:db8::2", &((struct sockaddr_in6 *)&v6b.peer)->sin6_addr);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &v6b, NULL), DRC_EXECUTE);
	drc_destroy(d);
}

static struct drc_key numbered(uint32_t n)
{
	return key4(1, 800, n, "SETATTR");
}

static void test_lru_bound(void)
{
	struct drc *d;
	CU_ASSERT_FATAL(drc_create(4, 60, &d) == 0);
	for (uint32_t i = 1; i <= 4; i++) {
		struct drc_key k = numbered(i);
		CU_ASSERT_EQUAL(begin_expect_reply(d, &k, NULL), DRC_EXECUTE);
		finish_str(d, &k, "ok");
	}
	/* Use 1 again: now 2 is the least recently used. */
	struct drc_key k1 = numbered(1), k2 = numbered(2), k3 = numbered(3), k4 = numbered(4);
	struct drc_key k5 = numbered(5);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k1, "ok"), DRC_REPLAY);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k5, NULL), DRC_EXECUTE); /* evicts 2 */
	finish_str(d, &k5, "ok");
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k2, NULL), DRC_EXECUTE); /* evicts 3 */
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k1, "ok"), DRC_REPLAY);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k4, "ok"), DRC_REPLAY);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k5, "ok"), DRC_REPLAY);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k2, NULL), DRC_IN_PROGRESS);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k3, NULL), DRC_EXECUTE);

	/* Many more than the bound: the cache stays usable. */
	for (uint32_t i = 100; i < 1100; i++) {
		struct drc_key k = numbered(i);
		CU_ASSERT_EQUAL(begin_expect_reply(d, &k, NULL), DRC_EXECUTE);
		finish_str(d, &k, "ok");
	}
	struct drc_key last = numbered(1099), gone = numbered(1000);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &last, "ok"), DRC_REPLAY);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &gone, NULL), DRC_EXECUTE);
	drc_destroy(d);
}

struct expiry_probe {
	struct drc *d;
	struct drc_key k;
};

static bool replay_expired(void *arg)
{
	struct expiry_probe *p = arg;
	return begin_expect_reply(p->d, &p->k, "done") == DRC_EXECUTE;
}

static void test_age_expiry(void)
{
	struct expiry_probe p = {.k = key4(3, 900, 1, "LINK")};
	CU_ASSERT_FATAL(drc_create(16, 1, &p.d) == 0);
	CU_ASSERT_EQUAL(begin_expect_reply(p.d, &p.k, NULL), DRC_EXECUTE);
	long long t0 = now_ms();
	finish_str(p.d, &p.k, "done");
	CU_ASSERT_EQUAL(begin_expect_reply(p.d, &p.k, "done"), DRC_REPLAY);
	CU_ASSERT(wait_until(replay_expired, &p, 5000) == 0);
	CU_ASSERT(now_ms() - t0 >= 900);

	/* An entry still running does not age out. */
	struct drc_key run = key4(3, 900, 2, "LINK");
	CU_ASSERT_EQUAL(begin_expect_reply(p.d, &run, NULL), DRC_EXECUTE);
	struct expiry_probe q = {.d = p.d, .k = run};
	CU_ASSERT(wait_until(replay_expired, &q, 1500) == -ETIMEDOUT);
	CU_ASSERT_EQUAL(begin_expect_reply(p.d, &run, NULL), DRC_IN_PROGRESS);
	drc_destroy(p.d);
}

static void test_abandon(void)
{
	struct drc *d;
	CU_ASSERT_FATAL(drc_create(16, 60, &d) == 0);
	struct drc_key k = key4(4, 700, 5, "MKDIR");
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k, NULL), DRC_EXECUTE);
	drc_abandon(d, &k);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k, NULL), DRC_EXECUTE);
	finish_str(d, &k, "made");
	/* Abandoning a finished call changes nothing. */
	drc_abandon(d, &k);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k, "made"), DRC_REPLAY);
	/* Nor does abandoning an unknown one. */
	struct drc_key unknown = key4(4, 700, 6, "MKDIR");
	drc_abandon(d, &unknown);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &unknown, NULL), DRC_EXECUTE);
	drc_destroy(d);
}

static void test_edges(void)
{
	struct drc *d;
	CU_ASSERT(drc_create(16, 60, NULL) == -EINVAL);
	CU_ASSERT_FATAL(drc_create(0, 0, &d) == 0); /* defaults */
	/* Finished without begin (say evicted while it ran): remembered. */
	struct drc_key k = key4(5, 600, 1, "SYMLINK");
	finish_str(d, &k, "linked");
	CU_ASSERT_EQUAL(begin_expect_reply(d, &k, "linked"), DRC_REPLAY);
	/* Empty body and empty reply. */
	struct drc_key e = key4(5, 600, 2, "");
	e.body = NULL;
	CU_ASSERT_EQUAL(begin_expect_reply(d, &e, NULL), DRC_EXECUTE);
	drc_finish(d, &e, NULL, 0);
	void *r = NULL;
	size_t len = 99;
	CU_ASSERT_EQUAL(drc_begin(d, &e, &r, &len), DRC_REPLAY);
	CU_ASSERT_EQUAL(len, 0);
	free(r);
	/* A body that differs only past the first bytes is still a different call. */
	static char big1[100000], big2[100000];
	memset(big1, 'w', sizeof(big1) - 1);
	memset(big2, 'w', sizeof(big2) - 1);
	big2[sizeof(big2) - 2] = 'z';
	struct drc_key b1 = key4(5, 600, 3, big1), b2 = key4(5, 600, 3, big2);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &b1, NULL), DRC_EXECUTE);
	finish_str(d, &b1, "wrote");
	CU_ASSERT_EQUAL(begin_expect_reply(d, &b2, NULL), DRC_EXECUTE);
	CU_ASSERT_EQUAL(begin_expect_reply(d, &b1, "wrote"), DRC_REPLAY);
	/* NULL cache: everything runs. */
	CU_ASSERT_EQUAL(drc_begin(NULL, &k, &r, &len), DRC_EXECUTE);
	drc_finish(NULL, &k, "x", 1);
	drc_abandon(NULL, &k);
	drc_destroy(d);
	drc_destroy(NULL);
}

enum { MT_KEYS = 200, MT_THREADS = 8 };

struct mt {
	struct drc *d;
	atomic_uint executed[MT_KEYS];
	atomic_uint bad_replays;
};

static void *mt_worker(void *arg)
{
	struct mt *m = arg;
	for (int round = 0; round < 3; round++) {
		for (uint32_t i = 0; i < MT_KEYS; i++) {
			char body[32], want[32];
			snprintf(body, sizeof(body), "WRITE %u", i);
			snprintf(want, sizeof(want), "reply %u", i);
			struct drc_key k = key4(9, 1000, i, body);
			void *r;
			size_t len;
			enum drc_verdict v = drc_begin(m->d, &k, &r, &len);
			if (v == DRC_EXECUTE) {
				atomic_fetch_add(&m->executed[i], 1);
				drc_finish(m->d, &k, want, strlen(want));
			} else if (v == DRC_REPLAY) {
				if (len != strlen(want) || memcmp(r, want, len) != 0)
					atomic_fetch_add(&m->bad_replays, 1);
				free(r);
			}
		}
	}
	return NULL;
}

static void test_threads(void)
{
	static struct mt m;
	memset(&m, 0, sizeof(m));
	CU_ASSERT_FATAL(drc_create(MT_KEYS * 2, 60, &m.d) == 0);
	pthread_t th[MT_THREADS];
	for (int i = 0; i < MT_THREADS; i++)
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, mt_worker, &m) == 0);
	for (int i = 0; i < MT_THREADS; i++)
		pthread_join(th[i], NULL);
	/* Every call ran exactly once however its copies raced. */
	for (int i = 0; i < MT_KEYS; i++)
		CU_ASSERT_EQUAL(atomic_load(&m.executed[i]), 1);
	CU_ASSERT_EQUAL(atomic_load(&m.bad_replays), 0);
	drc_destroy(m.d);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"execute_in_progress_replay", test_execute_in_progress_replay},
	    {"same_xid_new_body", test_same_xid_new_body},
	    {"clients_by_address_and_port", test_clients_by_address_and_port},
	    {"lru_bound", test_lru_bound},
	    {"age_expiry", test_age_expiry},
	    {"abandon", test_abandon},
	    {"edges", test_edges},
	    {"threads", test_threads},
	    {NULL, NULL},
	};
	if (test_add_suite("drc", NULL, NULL, tests) != 0)
		return 1;
	return test_run_all();
}
