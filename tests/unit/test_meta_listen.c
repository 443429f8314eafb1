/* Unit tests of fscore/meta_listen.c without a Redis: the test plays the
 * server on the other end of a socket pair, so it decides when a report
 * arrives and how long handling it takes. What is pinned down is when a
 * cached answer may be given (meta_listen_settled): never while a report
 * that arrived before the request is unread or being handled, and on an
 * event loop, not again after new client input until a fresh check. */
#include "deadline.h"
#include "evloop.h"
#include "meta_listen.h"
#include "countdown.h"
#include "cunit_main.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEADLINE_MS 10000
#define CLIENT_ID   42

/* The server's end, and what the listener's callback has seen. */
static struct {
	int server_fd, client_fd; /* client_fd: handed out by the first connect only */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned reports, flushes;
	bool blocking, released; /* a "block" report waits for release */
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static int connect_once(void *arg, int *fd, uint64_t *client_id)
{
	(void)arg;
	pthread_mutex_lock(&srv.lock);
	int mine = srv.client_fd;
	srv.client_fd = -1;
	pthread_mutex_unlock(&srv.lock);
	if (mine < 0)
		return -ECONNREFUSED; /* the "server" is gone for good */
	*fd = mine;
	*client_id = CLIENT_ID;
	return 0;
}

static void on_report(void *arg, const char *key, size_t len)
{
	(void)arg;
	pthread_mutex_lock(&srv.lock);
	if (!key) {
		srv.flushes++;
	} else {
		srv.reports++;
		if (len == 5 && memcmp(key, "block", 5) == 0) {
			srv.blocking = true;
			pthread_cond_broadcast(&srv.cond);
			while (!srv.released)
				pthread_cond_wait(&srv.cond, &srv.lock);
			srv.blocking = false;
		}
	}
	pthread_cond_broadcast(&srv.cond);
	pthread_mutex_unlock(&srv.lock);
}

static struct meta_listen *start(void)
{
	int sv[2];
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	srv.client_fd = sv[0];
	srv.server_fd = sv[1];
	srv.reports = srv.flushes = 0;
	srv.blocking = srv.released = false;
	struct meta_listen *ls = meta_listen_start(connect_once, NULL, on_report, NULL, 60000);
	CU_ASSERT_FATAL(ls != NULL);
	return ls;
}

/* Lets a blocked "block" report (and any later one) through. */
static void release_handler(void)
{
	pthread_mutex_lock(&srv.lock);
	srv.released = true;
	pthread_cond_broadcast(&srv.cond);
	pthread_mutex_unlock(&srv.lock);
}

static void stop(struct meta_listen *ls)
{
	release_handler();
	meta_listen_stop(ls);
	if (srv.server_fd >= 0)
		close(srv.server_fd);
	srv.server_fd = -1;
}

static void send_report(const char *key)
{
	char msg[256];
	int n =
	    snprintf(msg, sizeof(msg),
		     "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$%zu\r\n%s\r\n",
		     strlen(key), key);
	CU_ASSERT_FATAL(write(srv.server_fd, msg, (size_t)n) == n);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until pred(ls) holds; false at the deadline. */
static bool wait_for(bool (*pred)(struct meta_listen *), struct meta_listen *ls)
{
	long long until = now_ms() + DEADLINE_MS;
	while (!pred(ls)) {
		if (now_ms() > until)
			return false;
		pthread_mutex_lock(&srv.lock);
		struct timespec ts = deadline_after_ms(CLOCK_REALTIME, 10);
		pthread_cond_timedwait(&srv.cond, &srv.lock, &ts);
		pthread_mutex_unlock(&srv.lock);
	}
	return true;
}

static unsigned reports_seen(void)
{
	pthread_mutex_lock(&srv.lock);
	unsigned n = srv.reports;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static bool subscribed(struct meta_listen *ls)
{
	return meta_listen_id(ls) == CLIENT_ID;
}

static bool settled(struct meta_listen *ls)
{
	return meta_listen_settled(ls);
}

static bool handler_blocked(struct meta_listen *ls)
{
	(void)ls;
	pthread_mutex_lock(&srv.lock);
	bool b = srv.blocking;
	pthread_mutex_unlock(&srv.lock);
	return b;
}

static bool flushed(struct meta_listen *ls)
{
	pthread_mutex_lock(&srv.lock);
	bool f = srv.flushes > 0;
	pthread_mutex_unlock(&srv.lock);
	return f && meta_listen_id(ls) == 0;
}

/* ---- an event loop on a thread of its own, asked to check from there */

static struct {
	struct evloop *l;
	pthread_t th;
	struct countdown done;
	struct meta_listen *ls;
	bool note_input, answer;
} loop = {.done = COUNTDOWN_INITIALIZER};

static void *loop_main(void *arg)
{
	(void)arg;
	evloop_run(loop.l);
	return NULL;
}

static void check_on_loop(void *arg)
{
	(void)arg;
	if (loop.note_input)
		evloop_note_input();
	loop.answer = meta_listen_settled(loop.ls);
	countdown_one(&loop.done);
}

/* meta_listen_settled as the loop's thread sees it, after a client read
 * when note_input. */
static bool settled_on_loop(struct meta_listen *ls, bool note_input)
{
	loop.ls = ls;
	loop.note_input = note_input;
	countdown_set(&loop.done, 1);
	CU_ASSERT_FATAL(evloop_post(loop.l, check_on_loop, NULL) == 0);
	CU_ASSERT_FATAL(countdown_wait(&loop.done, DEADLINE_MS));
	return loop.answer;
}

static bool settled_after_input(struct meta_listen *ls)
{
	return settled_on_loop(ls, true);
}

static int loop_up(void)
{
	if (evloop_create(&loop.l) < 0)
		return -1;
	return pthread_create(&loop.th, NULL, loop_main, NULL) == 0 ? 0 : -1;
}

static int loop_down(void)
{
	evloop_stop(loop.l);
	pthread_join(loop.th, NULL);
	evloop_destroy(loop.l);
	return 0;
}

/* ---- tests */

static void test_reports_handled_before_answers(void)
{
	struct meta_listen *ls = start();
	CU_ASSERT_FATAL(wait_for(subscribed, ls));
	CU_ASSERT(meta_listen_settled(ls));

	send_report("a");
	CU_ASSERT(wait_for(settled, ls));
	CU_ASSERT_EQUAL(reports_seen(), 1);

	/* A report being handled: no cached answer until it is done. */
	send_report("block");
	CU_ASSERT_FATAL(wait_for(handler_blocked, ls));
	CU_ASSERT_FALSE(meta_listen_settled(ls));
	/* And one that waits unread behind it. */
	send_report("b");
	CU_ASSERT_FALSE(meta_listen_settled(ls));
	release_handler();
	CU_ASSERT(wait_for(settled, ls));
	CU_ASSERT_EQUAL(reports_seen(), 3);
	stop(ls);
}

static void test_loop_checks_again_after_input(void)
{
	struct meta_listen *ls = start();
	CU_ASSERT_FATAL(wait_for(subscribed, ls));
	CU_ASSERT(settled_on_loop(ls, true));

	send_report("block");
	CU_ASSERT_FATAL(wait_for(handler_blocked, ls));
	/* No input since the last check: every request the loop holds arrived
	 * before that check, which found nothing pending. */
	CU_ASSERT(settled_on_loop(ls, false));
	/* A request read now arrived after the report: it must wait for it. */
	CU_ASSERT_FALSE(settled_on_loop(ls, true));
	CU_ASSERT_FALSE(settled_on_loop(ls, false));
	/* Plain threads always look. */
	CU_ASSERT_FALSE(meta_listen_settled(ls));

	release_handler();
	CU_ASSERT(wait_for(settled_after_input, ls));
	stop(ls);
}

static void test_lost_connection_forgets_everything(void)
{
	struct meta_listen *ls = start();
	CU_ASSERT_FATAL(wait_for(subscribed, ls));
	CU_ASSERT(settled_on_loop(ls, true));

	close(srv.server_fd); /* the server goes away and stays away */
	srv.server_fd = -1;
	CU_ASSERT(wait_for(flushed, ls));
	CU_ASSERT_FALSE(meta_listen_settled(ls));
	/* Even with no input since its last check, a loop answers from memory
	 * no more. */
	CU_ASSERT_FALSE(settled_on_loop(ls, false));
	stop(ls);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"reports are handled before answers", test_reports_handled_before_answers},
	    {"a loop checks again after client input", test_loop_checks_again_after_input},
	    {"a lost connection forgets everything", test_lost_connection_forgets_everything},
	    {NULL, NULL},
	};
	if (test_add_suite("meta_listen", loop_up, loop_down, tests) < 0)
		return 1;
	return test_run_all();
}
