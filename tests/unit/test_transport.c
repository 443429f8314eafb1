/*
 * Unit tests of the gateway's RPC transport: a server on loopback whose
 * handler echoes, driven with plain sockets. What the handler does is chosen
 * by the first bytes of each request:
 *   "HOLD" keep it until the test answers it (out of order, back-pressure)
 *   "SLOW" answer after SLOW_MS (the handler's coroutine sleeps)
 *   "BIG-" answer with BIG_REPLY bytes
 *   "FILE" echo, followed by FILE_LEN bytes of a file (sendfile)
 *   "FCUT" the same with a range that runs past the file's end
 *   anything else: echo.
 */
#include "transport.h"
#include "coro.h"
#include "cunit_main.h"
#include "log.h"
#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD     256
#define SLOW_MS	     150
#define BIG_REPLY    (4u * 1024 * 1024)
#define IO_TIMEOUT_S 10
/* Over the socket buffers, so that sendfile stops part way; odd, so the
 * transport pads it. */
#define FILE_LEN (3u * 1024 * 1024 + 1)
#define FILE_OFF 5

struct server {
	struct rpc_transport *t;
	uint16_t port;
	atomic_uint handled;
	atomic_uint reply_failures;
	pthread_mutex_t lock;
	struct rpc_request *held[MAX_HELD];
	unsigned nheld;
	struct sockaddr_storage last_local;
};

static struct server srv = {.lock = PTHREAD_MUTEX_INITIALIZER};
static uint8_t *big_reply;
static int reply_file = -1; /* FILE_OFF + FILE_LEN bytes of file_byte() */

static uint8_t file_byte(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static bool has_prefix(const struct rpc_request *req, const char *p)
{
	size_t n = strlen(p);
	return req->len >= n && memcmp(req->data, p, n) == 0;
}

static void reply_checked(struct rpc_request *req, const void *msg, size_t len)
{
	if (rpc_request_reply(req, msg, len) < 0)
		atomic_fetch_add(&srv.reply_failures, 1);
}

/* Echoes req, then file_len bytes of reply_file from FILE_OFF. */
static void reply_with_file(struct rpc_request *req, size_t file_len)
{
	CU_ASSERT(rpc_request_can_send_file(req));
	uint8_t *buf = malloc(RPC_REPLY_HEADROOM + req->len);
	struct rpc_file_range f = {.fd = dup(reply_file), .off = FILE_OFF, .len = file_len};
	if (buf)
		memcpy(buf + RPC_REPLY_HEADROOM, req->data, req->len);
	if (rpc_request_reply_file(req, buf, req->len, &f) < 0)
		atomic_fetch_add(&srv.reply_failures, 1);
}

static void handler(struct rpc_request *req, void *arg)
{
	struct server *s = arg;

	pthread_mutex_lock(&s->lock);
	s->last_local = req->local;
	if (has_prefix(req, "HOLD") && s->nheld < MAX_HELD) {
		s->held[s->nheld++] = req;
		pthread_mutex_unlock(&s->lock);
		atomic_fetch_add(&s->handled, 1);
		return;
	}
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&s->handled, 1);
	if (has_prefix(req, "SLOW"))
		coro_sleep_ms(SLOW_MS);
	if (has_prefix(req, "BIG-"))
		reply_checked(req, big_reply, BIG_REPLY);
	else if (has_prefix(req, "FILE") || has_prefix(req, "FCUT"))
		reply_with_file(req, has_prefix(req, "FCUT") ? FILE_LEN + 4096 : FILE_LEN);
	else
		reply_checked(req, req->data, req->len);
}

/* Echoes the held request whose body is `body` (or any one when NULL); returns its reply status. */
static int release_held(const char *body)
{
	struct rpc_request *req = NULL;

	pthread_mutex_lock(&srv.lock);
	for (unsigned i = 0; i < srv.nheld; i++) {
		struct rpc_request *r = srv.held[i];
		if (!body || (r->len == strlen(body) && memcmp(r->data, body, r->len) == 0)) {
			req = r;
			srv.held[i] = srv.held[--srv.nheld];
			break;
		}
	}
	pthread_mutex_unlock(&srv.lock);
	if (!req)
		return -ENOENT;
	return rpc_request_reply(req, req->data, req->len);
}

static unsigned held_count(void)
{
	pthread_mutex_lock(&srv.lock);
	unsigned n = srv.nheld;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static void server_start_cfg(struct rpc_transport_config *cfg)
{
	if (!cfg->listen_addr)
		cfg->listen_addr = "127.0.0.1";
	if (!cfg->loops)
		cfg->loops = 4;
	atomic_store(&srv.handled, 0);
	atomic_store(&srv.reply_failures, 0);
	srv.nheld = 0;
	CU_ASSERT_FATAL(rpc_transport_start(cfg, handler, &srv, &srv.t) == 0);
	srv.port = rpc_transport_port(srv.t);
	CU_ASSERT_FATAL(srv.port != 0);
}

static void server_start(void)
{
	struct rpc_transport_config cfg = {0};
	server_start_cfg(&cfg);
}

static void server_stop(void)
{
	while (held_count() > 0)
		release_held(NULL);
	rpc_transport_stop(srv.t);
	srv.t = NULL;
}

static struct rpc_transport_stats stats(void)
{
	struct rpc_transport_stats st;
	rpc_transport_stats(srv.t, &st);
	return st;
}

/* ------------------------------------------------------------ client side */

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int make_addr(const char *ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static int connect_to(const char *ip, uint16_t port, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	if (make_addr(ip, port, &ss, &len) < 0)
		return -1;
	int fd = socket(ss.ss_family, type, 0);
	if (fd < 0)
		return -1;
	set_timeouts(fd);
	if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
		close(fd);
		return -1;
	}
	if (type == SOCK_STREAM) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}

static int tcp_client(void)
{
	int fd = connect_to("127.0.0.1", srv.port, SOCK_STREAM);
	CU_ASSERT_FATAL(fd >= 0);
	return fd;
}

static int send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void put_mark(uint8_t *p, bool last, uint32_t len)
{
	uint32_t v = (last ? 0x80000000u : 0) | len;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int send_frag(int fd, bool last, const void *data, size_t len)
{
	uint8_t mark[4];
	put_mark(mark, last, (uint32_t)len);
	if (send_all(fd, mark, 4) < 0)
		return -1;
	return len ? send_all(fd, data, len) : 0;
}

static int send_record(int fd, const void *data, size_t len)
{
	return send_frag(fd, true, data, len);
}

static int send_str(int fd, const char *s)
{
	return send_record(fd, s, strlen(s));
}

/* Appends one record to buf at *off. */
static void append_record(uint8_t *buf, size_t *off, const void *data, size_t len)
{
	put_mark(buf + *off, true, (uint32_t)len);
	memcpy(buf + *off + 4, data, len);
	*off += 4 + len;
}

static int recv_exact(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one whole record into buf; returns its length or -1. */
static long recv_record(int fd, uint8_t *buf, size_t cap)
{
	size_t len = 0;
	for (;;) {
		uint8_t mark[4];
		if (recv_exact(fd, mark, 4) < 0)
			return -1;
		uint32_t v = (uint32_t)mark[0] << 24 | (uint32_t)mark[1] << 16 |
			     (uint32_t)mark[2] << 8 | mark[3];
		uint32_t flen = v & 0x7fffffffu;
		if (len + flen > cap || recv_exact(fd, buf + len, flen) < 0)
			return -1;
		len += flen;
		if (v & 0x80000000u)
			return (long)len;
	}
}

static bool recv_str(int fd, const char *expect)
{
	char buf[4096];
	long n = recv_record(fd, (uint8_t *)buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = 0;
	return strcmp(buf, expect) == 0;
}

/* True when the server closed fd (EOF or reset) before the I/O timeout. */
static bool closed_by_server(int fd)
{
	uint8_t buf[65536];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			return true;
		if (n < 0)
			return errno == ECONNRESET;
	}
}

static bool echo_works(void)
{
	int fd = tcp_client();
	bool ok = send_str(fd, "still serving") == 0 && recv_str(fd, "still serving");
	close(fd);
	return ok;
}

/* ------------------------------------------------------------ wait conditions */

static bool handled_reaches(void *arg)
{
	return atomic_load(&srv.handled) >= *(unsigned *)arg;
}

static bool held_reaches(void *arg)
{
	return held_count() >= *(unsigned *)arg;
}

static bool conns_open_is(void *arg)
{
	return stats().conns_open == *(uint64_t *)arg;
}

static bool replies_reach(void *arg)
{
	return stats().replies >= *(uint64_t *)arg;
}

static bool answered_reach(void *arg)
{
	struct rpc_transport_stats st = stats();
	return st.replies + st.dropped >= *(uint64_t *)arg;
}

static bool wait_handled(unsigned n)
{
	return wait_until(handled_reaches, &n, 10000) == 0;
}

static bool wait_held(unsigned n)
{
	return wait_until(held_reaches, &n, 10000) == 0;
}

static bool wait_conns_open(uint64_t n, int timeout_ms)
{
	return wait_until(conns_open_is, &n, timeout_ms) == 0;
}

/* ------------------------------------------------------------ tests */

static int open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void make_reply_file(void)
{
	char path[] = "/tmp/mcfs-test-transport-XXXXXX";
	reply_file = mkstemp(path);
	CU_ASSERT_FATAL(reply_file >= 0);
	unlink(path);
	uint8_t *b = malloc(FILE_OFF + FILE_LEN);
	CU_ASSERT_FATAL(b != NULL);
	for (size_t i = 0; i < FILE_OFF + FILE_LEN; i++)
		b[i] = file_byte(i);
	CU_ASSERT_FATAL(write(reply_file, b, FILE_OFF + FILE_LEN) == FILE_OFF + FILE_LEN);
	free(b);
}

/* A reply of msg, FILE_LEN bytes of the file and three zero bytes of padding. */
static bool recv_file_reply(int fd, const char *msg, uint8_t *buf, size_t cap)
{
	size_t mlen = strlen(msg), pad = (4 - FILE_LEN % 4) % 4;
	long n = recv_record(fd, buf, cap);
	if (n != (long)(mlen + FILE_LEN + pad) || memcmp(buf, msg, mlen) != 0)
		return false;
	for (size_t i = 0; i < FILE_LEN; i++)
		if (buf[mlen + i] != file_byte(FILE_OFF + i))
			return false;
	for (size_t i = 0; i < pad; i++)
		if (buf[mlen + FILE_LEN + i] != 0)
			return false;
	return true;
}

/* Replies that end with a file range, between ordinary ones on the same
 * connection, in order and whole; the files are closed once sent. */
static void test_file_replies(void)
{
	make_reply_file();
	int fds_before = open_fds();
	server_start();
	int fd = tcp_client();
	uint8_t req[256];
	size_t off = 0;
	append_record(req, &off, "FILE-1", 6);
	append_record(req, &off, "echo-2", 6);
	append_record(req, &off, "FILE-3", 6);
	append_record(req, &off, "FILE-4", 6);
	append_record(req, &off, "echo-5", 6);
	CU_ASSERT_FATAL(send_all(fd, req, off) == 0);
	size_t cap = FILE_LEN + 64;
	uint8_t *buf = malloc(cap);
	CU_ASSERT_FATAL(buf != NULL);
	/* Read slowly at first, so the server meets a full socket mid-file. */
	uint64_t five = 5;
	CU_ASSERT(wait_until(answered_reach, &five, 10000) == 0);
	CU_ASSERT(recv_file_reply(fd, "FILE-1", buf, cap));
	CU_ASSERT(recv_str(fd, "echo-2"));
	CU_ASSERT(recv_file_reply(fd, "FILE-3", buf, cap));
	CU_ASSERT(recv_file_reply(fd, "FILE-4", buf, cap));
	CU_ASSERT(recv_str(fd, "echo-5"));
	CU_ASSERT_EQUAL(atomic_load(&srv.reply_failures), 0);
	close(fd);
	server_stop();
	free(buf);
	CU_ASSERT_EQUAL(open_fds(), fds_before);
	close(reply_file);
	reply_file = -1;
}

/* A file shorter than its range: the record cannot be completed, so the
 * connection is closed instead of the client waiting for bytes or reading
 * the next reply as the rest of this one. Its file is closed too. */
static void test_file_reply_cut(void)
{
	make_reply_file();
	int fds_before = open_fds();
	server_start();
	int fd = tcp_client();
	CU_ASSERT(send_str(fd, "FCUT") == 0);
	CU_ASSERT(closed_by_server(fd));
	close(fd);
	CU_ASSERT(echo_works());
	server_stop();
	CU_ASSERT_EQUAL(open_fds(), fds_before);
	close(reply_file);
	reply_file = -1;
}

static void test_single_request(void)
{
	server_start();
	int fd = tcp_client();
	CU_ASSERT(send_str(fd, "hello") == 0);
	CU_ASSERT(recv_str(fd, "hello"));
	uint64_t one = 1;
	CU_ASSERT(wait_until(replies_reach, &one, 5000) == 0);
	struct rpc_transport_stats st = stats();
	CU_ASSERT_EQUAL(st.requests, 1);
	CU_ASSERT_EQUAL(st.conns_accepted, 1);
	CU_ASSERT_EQUAL(st.conns_open, 1);
	CU_ASSERT_EQUAL(st.dropped, 0);
	close(fd);
	CU_ASSERT(wait_conns_open(0, 5000));
	server_stop();
}

static void test_fragments(void)
{
	server_start();
	int fd = tcp_client();
	/* Three fragments and an empty one, fed a byte at a time: partial reads everywhere. */
	uint8_t buf[64];
	size_t off = 0;
	put_mark(buf + off, false, 4);
	memcpy(buf + off + 4, "abcd", 4);
	off += 8;
	put_mark(buf + off, false, 0);
	off += 4;
	put_mark(buf + off, false, 5);
	memcpy(buf + off + 4, "efghi", 5);
	off += 9;
	put_mark(buf + off, true, 3);
	memcpy(buf + off + 4, "jkl", 3);
	off += 7;
	for (size_t i = 0; i < off; i++)
		CU_ASSERT_FATAL(send_all(fd, buf + i, 1) == 0);
	CU_ASSERT(recv_str(fd, "abcdefghijkl"));
	/* The same at once, twice in one write. */
	uint8_t two[128];
	memcpy(two, buf, off);
	memcpy(two + off, buf, off);
	CU_ASSERT(send_all(fd, two, 2 * off) == 0);
	CU_ASSERT(recv_str(fd, "abcdefghijkl"));
	CU_ASSERT(recv_str(fd, "abcdefghijkl"));
	close(fd);
	server_stop();
}

static void test_pipelined(void)
{
	enum { N = 200 };
	server_start();
	int fd = tcp_client();
	uint8_t *buf = malloc(N * 400);
	size_t off = 0;
	for (int i = 0; i < N; i++) {
		char body[400];
		int n = snprintf(body, sizeof(body), "req-%03d-", i);
		size_t pad = (size_t)(i * 7) % 300;
		memset(body + n, 'a' + i % 26, pad);
		append_record(buf, &off, body, (size_t)n + pad);
	}
	CU_ASSERT_FATAL(send_all(fd, buf, off) == 0);
	bool seen[N] = {false};
	int got = 0;
	for (int i = 0; i < N; i++) {
		uint8_t r[400];
		long n = recv_record(fd, r, sizeof(r));
		int id;
		if (n < 8 || sscanf((char *)r, "req-%03d-", &id) != 1 || id < 0 || id >= N)
			break;
		size_t pad = (size_t)(id * 7) % 300;
		CU_ASSERT_EQUAL((size_t)n, 8 + pad);
		CU_ASSERT(!seen[id]);
		seen[id] = true;
		got++;
	}
	CU_ASSERT_EQUAL(got, N);
	free(buf);
	close(fd);
	server_stop();
}

/* Record i: its number, then bytes that depend on i and the position. */
static size_t make_body(uint32_t i, unsigned seed, uint8_t *buf)
{
	size_t len = 4 + (size_t)(rand_r(&seed) % 3000);
	memcpy(buf, &i, 4);
	for (size_t j = 4; j < len; j++)
		buf[j] = (uint8_t)(i * 131 + j * 7);
	return len;
}

static void test_random_fragmentation(void)
{
	enum { N = 300 };
	server_start();
	int fd = tcp_client();
	uint8_t *stream = malloc(N * 3100 * 2);
	size_t off = 0;
	unsigned seed = 4242;
	uint8_t body[3100];
	for (uint32_t i = 0; i < N; i++) {
		size_t len = make_body(i, i, body);
		/* 1 to 4 fragments, some of them empty. */
		int nfrag = 1 + rand_r(&seed) % 4;
		size_t pos = 0;
		for (int f = 0; f < nfrag; f++) {
			bool last = f == nfrag - 1;
			size_t n = last ? len - pos : (size_t)rand_r(&seed) % (len - pos + 1);
			if (!last && rand_r(&seed) % 5 == 0)
				n = 0;
			put_mark(stream + off, last, (uint32_t)n);
			memcpy(stream + off + 4, body + pos, n);
			off += 4 + n;
			pos += n;
		}
	}
	/* Sent in odd-sized pieces so marks and bodies straddle reads. */
	for (size_t pos = 0; pos < off;) {
		size_t n = 1 + (size_t)rand_r(&seed) % 5000;
		if (n > off - pos)
			n = off - pos;
		CU_ASSERT_FATAL(send_all(fd, stream + pos, n) == 0);
		pos += n;
	}
	bool seen[N] = {false};
	int good = 0;
	for (int k = 0; k < N; k++) {
		uint8_t r[3100], want[3100];
		long n = recv_record(fd, r, sizeof(r));
		uint32_t i;
		if (n < 4)
			break;
		memcpy(&i, r, 4);
		if (i >= N || seen[i])
			break;
		seen[i] = true;
		size_t len = make_body(i, i, want);
		if ((size_t)n == len && memcmp(r, want, len) == 0)
			good++;
	}
	CU_ASSERT_EQUAL(good, N);
	CU_ASSERT_EQUAL(stats().bad_records, 0);
	free(stream);
	close(fd);
	server_stop();
}

static void test_large_records(void)
{
	enum { N = 4, LEN = 1024 * 1024 };
	server_start();
	int fd = tcp_client();
	uint8_t *rec = malloc(LEN);
	uint8_t *got = malloc(LEN);
	for (size_t i = 0; i < LEN; i++)
		rec[i] = (uint8_t)(i * 31 + i / 4096);
	/* Sent in 16 fragments each; not read until all are sent, so replies queue up. */
	for (int r = 0; r < N; r++) {
		rec[0] = (uint8_t)r;
		for (int f = 0; f < 16; f++)
			CU_ASSERT_FATAL(send_frag(fd, f == 15, rec + f * (LEN / 16), LEN / 16) ==
					0);
	}
	unsigned seen = 0;
	for (int r = 0; r < N; r++) {
		CU_ASSERT_FATAL(recv_record(fd, got, LEN) == LEN);
		CU_ASSERT(memcmp(got + 1, rec + 1, LEN - 1) == 0);
		seen |= 1u << got[0];
	}
	CU_ASSERT_EQUAL(seen, (1u << N) - 1);
	free(rec);
	free(got);
	close(fd);
	server_stop();
}

static void test_out_of_order(void)
{
	server_start();
	int fd = tcp_client();
	char body[5][16];
	for (int i = 0; i < 5; i++) {
		snprintf(body[i], sizeof(body[i]), "HOLD-%d", i);
		CU_ASSERT_FATAL(send_str(fd, body[i]) == 0);
	}
	CU_ASSERT_FATAL(wait_held(5));
	for (int i = 4; i >= 0; i--)
		CU_ASSERT(release_held(body[i]) == 0);
	for (int i = 4; i >= 0; i--)
		CU_ASSERT(recv_str(fd, body[i]));
	close(fd);
	server_stop();
}

static void test_oversize(void)
{
	struct rpc_transport_config cfg = {.max_record = 1024};
	server_start_cfg(&cfg);
	int good = tcp_client();
	uint8_t data[2048];
	memset(data, 'x', sizeof(data));

	/* Exactly the limit is fine. */
	CU_ASSERT(send_record(good, data, 1024) == 0);
	uint8_t r[2048];
	CU_ASSERT(recv_record(good, r, sizeof(r)) == 1024);

	int bad = tcp_client();
	CU_ASSERT(send_record(bad, data, 2048) == 0 || true); /* may fail once closed */
	CU_ASSERT(closed_by_server(bad));
	close(bad);

	/* Two fragments that only together are too big. */
	bad = tcp_client();
	CU_ASSERT(send_frag(bad, false, data, 600) == 0);
	send_frag(bad, true, data, 600);
	CU_ASSERT(closed_by_server(bad));
	close(bad);

	CU_ASSERT_EQUAL(stats().oversize, 2);
	CU_ASSERT(send_str(good, "after") == 0);
	CU_ASSERT(recv_str(good, "after"));
	CU_ASSERT(echo_works());
	close(good);
	server_stop();
}

static void test_garbage_and_half_records(void)
{
	struct rpc_transport_config cfg = {.loops = 1, .max_record = 64 * 1024};
	server_start_cfg(&cfg);

	/* Random bytes, then gone. */
	int fd = tcp_client();
	uint8_t junk[8192];
	unsigned seed = 12345;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(rand_r(&seed) >> 7);
	send_all(fd, junk, sizeof(junk));
	close(fd);

	/* Half a record, then gone. */
	fd = tcp_client();
	uint8_t half[4 + 50];
	put_mark(half, true, 100);
	memset(half + 4, 'h', 50);
	CU_ASSERT(send_all(fd, half, sizeof(half)) == 0);
	close(fd);

	/* Half a record, then silence: must not hold the only worker. */
	int silent = tcp_client();
	CU_ASSERT(send_all(silent, half, sizeof(half)) == 0);
	int partial_mark = tcp_client();
	CU_ASSERT(send_all(partial_mark, half, 2) == 0);

	CU_ASSERT(echo_works());
	CU_ASSERT(wait_conns_open(2, 5000));
	CU_ASSERT(stats().bad_records >= 1);
	close(silent);
	close(partial_mark);
	CU_ASSERT(wait_conns_open(0, 5000));
	CU_ASSERT(stats().bad_records >= 3);
	server_stop();
}

static void test_empty_fragment_storm(void)
{
	server_start();
	int fd = tcp_client();
	enum { N = 10000 };
	uint8_t *buf = calloc(N, 4);
	for (int i = 0; i < N; i++)
		put_mark(buf + 4 * i, false, 0);
	send_all(fd, buf, N * 4); /* may fail once the server closes */
	CU_ASSERT(closed_by_server(fd));
	close(fd);
	free(buf);
	CU_ASSERT(stats().bad_records >= 1);
	CU_ASSERT(echo_works());
	server_stop();
}

static void test_many_connections(void)
{
	enum { N = 50 };
	server_start();
	int fds[N];
	char body[N][32];
	for (int i = 0; i < N; i++) {
		fds[i] = tcp_client();
		snprintf(body[i], sizeof(body[i]), "conn-%d", i);
	}
	for (int i = 0; i < N; i++)
		CU_ASSERT(send_str(fds[i], body[i]) == 0);
	for (int i = N - 1; i >= 0; i--)
		CU_ASSERT(recv_str(fds[i], body[i]));
	CU_ASSERT_EQUAL(stats().conns_open, N);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	CU_ASSERT(wait_conns_open(0, 5000));
	server_stop();
}

static void test_backpressure(void)
{
	enum { N = 8 };
	struct rpc_transport_config cfg = {.max_inflight = 4};
	server_start_cfg(&cfg);
	int fd = tcp_client();
	uint8_t buf[N * 32];
	size_t off = 0;
	char body[N][16];
	for (int i = 0; i < N; i++) {
		snprintf(body[i], sizeof(body[i]), "HOLD-%d", i);
		append_record(buf, &off, body[i], strlen(body[i]));
	}
	/* One write: the server reads all eight at once but may start only four. */
	CU_ASSERT_FATAL(send_all(fd, buf, off) == 0);
	CU_ASSERT_FATAL(wait_handled(4));
	unsigned five = 5;
	CU_ASSERT(wait_until(handled_reaches, &five, 300) == -ETIMEDOUT);
	CU_ASSERT_EQUAL(atomic_load(&srv.handled), 4);

	CU_ASSERT(release_held(NULL) == 0);
	CU_ASSERT(wait_handled(5));
	unsigned six = 6;
	CU_ASSERT(wait_until(handled_reaches, &six, 100) == -ETIMEDOUT);

	for (unsigned done = 1; done < N; done++) {
		CU_ASSERT_FATAL(wait_held(1));
		CU_ASSERT(release_held(NULL) == 0);
	}
	bool seen[N] = {false};
	for (int i = 0; i < N; i++) {
		char r[32];
		long n = recv_record(fd, (uint8_t *)r, sizeof(r) - 1);
		CU_ASSERT_FATAL(n > 5);
		r[n] = 0;
		int id = atoi(r + 5);
		CU_ASSERT(id >= 0 && id < N && !seen[id]);
		seen[id] = true;
	}
	CU_ASSERT_EQUAL(atomic_load(&srv.handled), N);
	close(fd);
	server_stop();
}

static int udp_client(const char *ip, uint16_t port)
{
	int fd = connect_to(ip, port, SOCK_DGRAM);
	CU_ASSERT_FATAL(fd >= 0);
	return fd;
}

static bool udp_echo(int fd, const void *msg, size_t len)
{
	static uint8_t r[70000];
	if (send(fd, msg, len, 0) != (ssize_t)len)
		return false;
	ssize_t n = recv(fd, r, sizeof(r), 0);
	return n == (ssize_t)len && memcmp(r, msg, len) == 0;
}

static void test_udp(void)
{
	struct rpc_transport_config cfg = {.udp = true};
	server_start_cfg(&cfg);
	int u = udp_client("127.0.0.1", srv.port);
	CU_ASSERT(udp_echo(u, "ping", 4));
	static uint8_t big[60000];
	memset(big, 'u', sizeof(big));
	CU_ASSERT(udp_echo(u, big, sizeof(big)));
	/* TCP on the same port at the same time. */
	CU_ASSERT(echo_works());
	CU_ASSERT(udp_echo(u, "pong", 4));
	close(u);
	CU_ASSERT_EQUAL(stats().requests, 4);
	server_stop();

	/* A datagram over max_record is dropped, not answered. */
	cfg = (struct rpc_transport_config){.udp = true, .max_record = 1024};
	server_start_cfg(&cfg);
	u = udp_client("127.0.0.1", srv.port);
	CU_ASSERT(send(u, big, 2000, 0) == 2000);
	CU_ASSERT(udp_echo(u, "after", 5)); /* the first reply to arrive is this one */
	CU_ASSERT_EQUAL(stats().oversize, 1);
	close(u);
	server_stop();
}

static void test_udp_wildcard_source(void)
{
	/* Bound to any address: the reply must come from the address the client used
	 * (a connected UDP socket only accepts that), and the handler sees it. */
	struct rpc_transport_config cfg = {.udp = true, .listen_addr = "0.0.0.0"};
	server_start_cfg(&cfg);
	int u = udp_client("127.0.0.1", srv.port);
	CU_ASSERT(udp_echo(u, "where", 5));
	pthread_mutex_lock(&srv.lock);
	struct sockaddr_in l = *(struct sockaddr_in *)&srv.last_local;
	pthread_mutex_unlock(&srv.lock);
	CU_ASSERT_EQUAL(l.sin_family, AF_INET);
	CU_ASSERT_EQUAL(ntohl(l.sin_addr.s_addr), INADDR_LOOPBACK);
	CU_ASSERT_EQUAL(ntohs(l.sin_port), srv.port);
	close(u);
	server_stop();
}

static void test_ipv6(void)
{
	struct rpc_transport_config cfg = {.udp = true, .listen_addr = "::1", .loops = 2};
	struct rpc_transport *t;
	int rc = rpc_transport_start(&cfg, handler, &srv, &t);
	if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT) {
		fprintf(stderr, "(no IPv6 loopback, skipped) ");
		return;
	}
	CU_ASSERT_FATAL(rc == 0);
	srv.t = t;
	srv.port = rpc_transport_port(t);
	int fd = connect_to("::1", srv.port, SOCK_STREAM);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(send_str(fd, "six") == 0);
	CU_ASSERT(recv_str(fd, "six"));
	close(fd);
	int u = udp_client("::1", srv.port);
	CU_ASSERT(udp_echo(u, "udp6", 4));
	close(u);
	server_stop();

	/* "::" also takes IPv4 (mapped), and answers UDP from the right address. */
	cfg.listen_addr = "::";
	server_start_cfg(&cfg);
	u = udp_client("127.0.0.1", srv.port);
	CU_ASSERT(udp_echo(u, "mapped", 6));
	close(u);
	u = udp_client("::1", srv.port);
	CU_ASSERT(udp_echo(u, "v6 any", 6));
	close(u);
	fd = connect_to("127.0.0.1", srv.port, SOCK_STREAM);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(send_str(fd, "four") == 0);
	CU_ASSERT(recv_str(fd, "four"));
	close(fd);
	server_stop();
}

static void *stop_thread(void *arg)
{
	rpc_transport_stop(arg);
	return NULL;
}

static bool connect_refused(void *arg)
{
	int fd = connect_to("127.0.0.1", *(uint16_t *)arg, SOCK_STREAM);
	if (fd < 0)
		return true;
	close(fd);
	return false;
}

static void test_stop_completes_inflight(void)
{
	server_start();
	int fd = tcp_client();
	CU_ASSERT(send_str(fd, "HOLD-a") == 0);
	CU_ASSERT(send_str(fd, "HOLD-b") == 0);
	CU_ASSERT(send_str(fd, "SLOW-c") == 0);
	CU_ASSERT_FATAL(wait_handled(3));
	CU_ASSERT_FATAL(wait_held(2));

	pthread_t th;
	long long t0 = now_ms();
	CU_ASSERT_FATAL(pthread_create(&th, NULL, stop_thread, srv.t) == 0);
	uint16_t port = srv.port;
	CU_ASSERT(wait_until(connect_refused, &port, 5000) == 0);
	CU_ASSERT(release_held("HOLD-b") == 0);
	CU_ASSERT(release_held("HOLD-a") == 0);
	pthread_join(th, NULL);
	CU_ASSERT(now_ms() - t0 < 10000);
	srv.t = NULL;
	/* All three answered, then the connection closed. */
	char r[64];
	int got = 0;
	for (int i = 0; i < 3; i++) {
		long n = recv_record(fd, (uint8_t *)r, sizeof(r) - 1);
		if (n > 0)
			got++;
	}
	CU_ASSERT_EQUAL(got, 3);
	CU_ASSERT(closed_by_server(fd));
	close(fd);
	CU_ASSERT_EQUAL(atomic_load(&srv.reply_failures), 0);

	/* Stop with idle clients and nothing in flight is quick. */
	server_start();
	int idle1 = tcp_client(), idle2 = tcp_client();
	CU_ASSERT(send_str(idle1, "x") == 0);
	CU_ASSERT(recv_str(idle1, "x"));
	t0 = now_ms();
	rpc_transport_stop(srv.t);
	srv.t = NULL;
	CU_ASSERT(now_ms() - t0 < 2000);
	CU_ASSERT(closed_by_server(idle1));
	CU_ASSERT(closed_by_server(idle2));
	close(idle1);
	close(idle2);
}

static void test_peer_reset_inflight(void)
{
	server_start();
	int fd = tcp_client();
	for (int i = 0; i < 3; i++) {
		char b[16];
		snprintf(b, sizeof(b), "HOLD-%d", i);
		CU_ASSERT(send_str(fd, b) == 0);
	}
	CU_ASSERT_FATAL(wait_held(3));
	/* Abortive close: the server sees a reset, not a FIN. */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	CU_ASSERT(wait_conns_open(0, 5000));
	for (int i = 0; i < 3; i++)
		CU_ASSERT(release_held(NULL) < 0);
	CU_ASSERT_EQUAL(stats().dropped, 3);
	CU_ASSERT(echo_works());
	server_stop();
}

static void test_peer_close_inflight(void)
{
	server_start();
	int fd = tcp_client();
	for (int i = 0; i < 3; i++) {
		char b[16];
		snprintf(b, sizeof(b), "HOLD-%d", i);
		CU_ASSERT(send_str(fd, b) == 0);
	}
	CU_ASSERT(send_str(fd, "SLOW-x") == 0);
	CU_ASSERT_FATAL(wait_held(3));
	close(fd);
	/* Answers to a client that left: sent into the void or dropped, never a crash. */
	for (int i = 0; i < 3; i++)
		release_held(NULL);
	uint64_t four = 4;
	CU_ASSERT(wait_until(answered_reach, &four, 5000) == 0);
	CU_ASSERT(wait_conns_open(0, 5000));
	CU_ASSERT(echo_works());
	server_stop();
}

static void test_half_close(void)
{
	server_start();
	int fd = tcp_client();
	CU_ASSERT(send_str(fd, "SLOW-1") == 0);
	CU_ASSERT(send_str(fd, "SLOW-2") == 0);
	CU_ASSERT(send_str(fd, "three") == 0);
	shutdown(fd, SHUT_WR);
	char r[64];
	for (int i = 0; i < 3; i++)
		CU_ASSERT(recv_record(fd, (uint8_t *)r, sizeof(r)) > 0);
	CU_ASSERT(closed_by_server(fd));
	close(fd);
	CU_ASSERT(wait_conns_open(0, 5000));
	server_stop();
}

static void test_max_conns(void)
{
	struct rpc_transport_config cfg = {.max_conns = 2};
	server_start_cfg(&cfg);
	int a = tcp_client(), b = tcp_client();
	CU_ASSERT(send_str(a, "a") == 0 && recv_str(a, "a"));
	CU_ASSERT(send_str(b, "b") == 0 && recv_str(b, "b"));
	int c = tcp_client();
	CU_ASSERT(closed_by_server(c));
	close(c);
	close(a);
	CU_ASSERT(wait_conns_open(1, 5000));
	CU_ASSERT(echo_works());
	close(b);
	server_stop();
}

static void test_idle_timeout(void)
{
	struct rpc_transport_config cfg = {.idle_timeout_s = 1};
	server_start_cfg(&cfg);
	int fd = tcp_client();
	uint8_t half[4 + 10];
	put_mark(half, true, 100);
	memset(half + 4, 'i', 10);
	CU_ASSERT(send_all(fd, half, sizeof(half)) == 0);
	long long t0 = now_ms();
	CU_ASSERT(closed_by_server(fd));
	CU_ASSERT(now_ms() - t0 < 5000);
	close(fd);
	/* A request in flight is not idleness. */
	fd = tcp_client();
	CU_ASSERT(send_str(fd, "HOLD-idle") == 0);
	CU_ASSERT_FATAL(wait_held(1));
	uint64_t zero = 0;
	CU_ASSERT(wait_until(conns_open_is, &zero, 2500) == -ETIMEDOUT);
	CU_ASSERT(release_held(NULL) == 0);
	CU_ASSERT(recv_str(fd, "HOLD-idle"));
	close(fd);
	server_stop();
}

static int release_held_big(void)
{
	struct rpc_request *req = NULL;
	pthread_mutex_lock(&srv.lock);
	if (srv.nheld > 0)
		req = srv.held[--srv.nheld];
	pthread_mutex_unlock(&srv.lock);
	return req ? rpc_request_reply(req, big_reply, BIG_REPLY) : -ENOENT;
}

static int small_rcvbuf_client(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(fd >= 0);
	int rcv = 64 * 1024;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	set_timeouts(fd);
	struct sockaddr_storage ss;
	socklen_t len = 0;
	make_addr("127.0.0.1", srv.port, &ss, &len);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&ss, len) == 0);
	return fd;
}

static void test_client_not_reading(void)
{
	enum { N = 16 };
	server_start();
	int fd = small_rcvbuf_client();
	for (int i = 0; i < N; i++)
		CU_ASSERT_FATAL(send_str(fd, "HOLD-big") == 0);
	CU_ASSERT_FATAL(wait_held(N));
	/* 64 MiB of replies it never reads: past the bound on queued bytes, it is closed. */
	int failed = 0;
	for (int i = 0; i < N; i++)
		if (release_held_big() < 0)
			failed++;
	CU_ASSERT(failed > 0);
	CU_ASSERT(wait_conns_open(0, 5000));
	CU_ASSERT_EQUAL(stats().dropped, (uint64_t)failed);
	CU_ASSERT(echo_works());
	close(fd);
	server_stop();
}

static void test_client_stalled(void)
{
	/* Less than the bound, but nothing moves for idle_timeout_s: closed too. */
	struct rpc_transport_config cfg = {.idle_timeout_s = 1};
	server_start_cfg(&cfg);
	int fd = small_rcvbuf_client();
	CU_ASSERT_FATAL(send_str(fd, "BIG-1") == 0);
	CU_ASSERT_FATAL(wait_handled(1));
	long long t0 = now_ms();
	CU_ASSERT(wait_conns_open(0, 10000));
	CU_ASSERT(now_ms() - t0 < 5000);
	close(fd);
	server_stop();
}

static void test_start_errors(void)
{
	struct rpc_transport *t = NULL, *t2 = NULL;
	struct rpc_transport_config cfg = {.listen_addr = "not-an-address"};
	CU_ASSERT(rpc_transport_start(&cfg, handler, &srv, &t) == -EINVAL);
	CU_ASSERT(rpc_transport_start(NULL, handler, &srv, &t) == -EINVAL);
	cfg.listen_addr = "127.0.0.1";
	CU_ASSERT(rpc_transport_start(&cfg, NULL, &srv, &t) == -EINVAL);
	CU_ASSERT_FATAL(rpc_transport_start(&cfg, handler, &srv, &t) == 0);
	cfg.port = rpc_transport_port(t);
	CU_ASSERT(rpc_transport_start(&cfg, handler, &srv, &t2) == -EADDRINUSE);
	rpc_transport_stop(t);
	rpc_transport_stop(NULL);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"single_request", test_single_request},
	    {"fragments", test_fragments},
	    {"pipelined", test_pipelined},
	    {"random_fragmentation", test_random_fragmentation},
	    {"large_records", test_large_records},
	    {"out_of_order", test_out_of_order},
	    {"oversize", test_oversize},
	    {"garbage_and_half_records", test_garbage_and_half_records},
	    {"empty_fragment_storm", test_empty_fragment_storm},
	    {"many_connections", test_many_connections},
	    {"backpressure", test_backpressure},
	    {"udp", test_udp},
	    {"udp_wildcard_source", test_udp_wildcard_source},
	    {"ipv6", test_ipv6},
	    {"stop_completes_inflight", test_stop_completes_inflight},
	    {"peer_reset_inflight", test_peer_reset_inflight},
	    {"peer_close_inflight", test_peer_close_inflight},
	    {"half_close", test_half_close},
	    {"max_conns", test_max_conns},
	    {"idle_timeout", test_idle_timeout},
	    {"client_not_reading", test_client_not_reading},
	    {"client_stalled", test_client_stalled},
	    {"start_errors", test_start_errors},
	    {"file_replies", test_file_replies},
	    {"file_reply_cut", test_file_reply_cut},
	    {NULL, NULL},
	};
	log_init("test_transport", LOG_LVL_ERROR, false);
	big_reply = calloc(1, BIG_REPLY);
	if (!big_reply || test_add_suite("transport", NULL, NULL, tests) != 0)
		return 1;
	int rc = test_run_all();
	free(big_reply);
	return rc;
}
