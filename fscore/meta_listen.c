#include "meta_listen.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "evloop.h"
#include "log.h"
#include "retry.h"
#include "thread_name.h"

/* Silence this long and the connection is asked whether it is alive. */
#define IDLE_PING_MS 1000

static const char PING_CMD[] = "*1\r\n$4\r\nPING\r\n";

struct meta_listen {
	meta_listen_connect_fn connect;
	void *connect_arg;
	meta_listen_fn fn;
	void *fn_arg;
	unsigned timeout_ms;
	uint64_t id; /* atomic */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	int fd;		 /* the current socket (-1), under lock so that stop can shut it */
	int live_fd;	 /* atomic: the socket while reports are trusted, else -1 */
	int busy;	 /* atomic: reports read from the socket and not yet handed on */
	unsigned lost;	 /* atomic: bumped every time reports stop being trusted */
	uint64_t serial; /* unique among all listeners this process starts */
};

/* The last check an event loop's thread made that found everything handed
 * on. Until the loop reads more client input it still holds: every request
 * the loop has arrived before it, so an answer given now is one that check
 * would have allowed (a report arriving since is of a change made while the
 * request was being served, which may go either way). It spares a poll(2)
 * per cached answer. */
struct settled_memo {
	uint64_t serial;
	const struct evloop *loop;
	uint64_t input_epoch;
	unsigned lost;
	int fd;
};
static __thread struct settled_memo memo;

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t meta_listen_id(const struct meta_listen *ls)
{
	return ls ? __atomic_load_n(&ls->id, __ATOMIC_ACQUIRE) : 0;
}

bool meta_listen_settled(struct meta_listen *ls)
{
	if (!ls)
		return false;
	int fd = __atomic_load_n(&ls->live_fd, __ATOMIC_SEQ_CST);
	if (fd < 0)
		return false;
	unsigned lost = __atomic_load_n(&ls->lost, __ATOMIC_SEQ_CST);
	const struct evloop *loop = evloop_current();
	uint64_t epoch = loop ? evloop_input_epoch(loop) : 0;
	if (loop && memo.serial == ls->serial && memo.loop == loop && memo.input_epoch == epoch &&
	    memo.lost == lost && memo.fd == fd)
		return true;
	if (__atomic_load_n(&ls->busy, __ATOMIC_SEQ_CST))
		return false;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 0) != 0)
		return false; /* reports waiting (or the socket in trouble) */
	if (__atomic_load_n(&ls->busy, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&ls->lost, __ATOMIC_SEQ_CST) != lost)
		return false;
	if (loop)
		memo = (struct settled_memo){.serial = ls->serial,
					     .loop = loop,
					     .input_epoch = epoch,
					     .lost = lost,
					     .fd = fd};
	return true;
}

static bool stopping(struct meta_listen *ls)
{
	pthread_mutex_lock(&ls->lock);
	bool s = ls->stop;
	pthread_mutex_unlock(&ls->lock);
	return s;
}

/* Waits ms or until stop; true when stopping. */
static bool wait_or_stop(struct meta_listen *ls, unsigned ms)
{
	struct timespec until = deadline_after_ms(CLOCK_REALTIME, ms);
	pthread_mutex_lock(&ls->lock);
	while (!ls->stop && pthread_cond_timedwait(&ls->cond, &ls->lock, &until) == 0)
		;
	bool s = ls->stop;
	pthread_mutex_unlock(&ls->lock);
	return s;
}

static bool is_str(const redisReply *r, const char *s)
{
	return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
	       r->len == strlen(s) && strncasecmp(r->str, s, r->len) == 0;
}

/* One message: an invalidation (keys, or nil for all), a PING's answer, or
 * the subscription's confirmation. Returns whether it was understood. */
static bool handle(struct meta_listen *ls, const redisReply *r, bool *pong)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
		return false;
	if (is_str(r->element[0], "pong")) {
		*pong = true;
		return true;
	}
	if (is_str(r->element[0], "subscribe"))
		return true;
	if (!is_str(r->element[0], "message") || r->elements != 3)
		return false;
	const redisReply *keys = r->element[2];
	if (keys->type == REDIS_REPLY_NIL) {
		ls->fn(ls->fn_arg, NULL, 0); /* the server flushed its data or tracking table */
		return true;
	}
	if (keys->type != REDIS_REPLY_ARRAY)
		return false;
	for (size_t i = 0; i < keys->elements; i++)
		if (keys->element[i]->type == REDIS_REPLY_STRING)
			ls->fn(ls->fn_arg, keys->element[i]->str, keys->element[i]->len);
	return true;
}

/* Reads reports until the connection breaks, is silent past the timeout
 * after a PING, or the listener stops. */
static void listen_on(struct meta_listen *ls, int fd)
{
	redisReader *rd = redisReaderCreate();
	if (!rd)
		return;
	long long last_heard = mono_ms(), ping_sent = 0;
	char buf[16384];
	for (;;) {
		long long now = mono_ms();
		if (ping_sent && now - ping_sent > (long long)ls->timeout_ms) {
			log_warn("redis: no answer on the change-report connection for %u ms; "
				 "reconnecting",
				 ls->timeout_ms);
			break;
		}
		if (!ping_sent && now - last_heard >= IDLE_PING_MS) {
			if (send(fd, PING_CMD, sizeof(PING_CMD) - 1, MSG_NOSIGNAL) < 0)
				break;
			ping_sent = now;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, IDLE_PING_MS / 4);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0)
			continue;
		/* Busy from before the bytes leave the socket until they are handed on. */
		__atomic_store_n(&ls->busy, 1, __ATOMIC_SEQ_CST);
		ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
			__atomic_store_n(&ls->busy, 0, __ATOMIC_SEQ_CST);
			continue;
		}
		if (got <= 0 || redisReaderFeed(rd, buf, (size_t)got) != REDIS_OK)
			break;
		last_heard = mono_ms();
		bool broken = false;
		for (;;) {
			void *reply = NULL;
			if (redisReaderGetReply(rd, &reply) != REDIS_OK) {
				broken = true;
				break;
			}
			if (!reply)
				break;
			bool pong = false;
			if (!handle(ls, reply, &pong))
				log_warn(
				    "redis: unexpected message on the change-report connection");
			if (pong)
				ping_sent = 0;
			freeReplyObject(reply);
		}
		if (broken)
			break;
		__atomic_store_n(&ls->busy, 0, __ATOMIC_SEQ_CST);
	}
	redisReaderFree(rd);
}

static void *listen_main(void *arg)
{
	thread_name("mcfs-invalidate");
	struct meta_listen *ls = arg;
	const struct retry_policy backoff = {
	    .max_attempts = 1000000, .base_ms = 100, .max_ms = 5000};
	unsigned failures = 0;
	while (!stopping(ls)) {
		int fd = -1;
		uint64_t id = 0;
		int r = ls->connect(ls->connect_arg, &fd, &id);
		if (r < 0) {
			if (failures++ == 0)
				log_warn("redis: cannot open the change-report connection: %s; "
					 "attributes are not cached until it opens",
					 strerror(-r));
			if (wait_or_stop(ls, retry_backoff_ms(&backoff, failures)))
				break;
			continue;
		}
		pthread_mutex_lock(&ls->lock);
		bool stop = ls->stop;
		if (!stop)
			ls->fd = fd;
		pthread_mutex_unlock(&ls->lock);
		if (stop) {
			close(fd);
			break;
		}
		if (failures)
			log_info("redis: change-report connection open again");
		failures = 0;
		__atomic_store_n(&ls->busy, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&ls->live_fd, fd, __ATOMIC_SEQ_CST);
		__atomic_store_n(&ls->id, id, __ATOMIC_RELEASE);
		listen_on(ls, fd);
		/* Reports may have been missed from here on: nothing tracked can be trusted. */
		__atomic_add_fetch(&ls->lost, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&ls->live_fd, -1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&ls->id, 0, __ATOMIC_RELEASE);
		ls->fn(ls->fn_arg, NULL, 0);
		pthread_mutex_lock(&ls->lock);
		ls->fd = -1;
		pthread_mutex_unlock(&ls->lock);
		close(fd);
		if (!stopping(ls))
			log_warn("redis: the change-report connection broke; reconnecting");
		failures = 1;
		if (wait_or_stop(ls, retry_backoff_ms(&backoff, 1)))
			break;
	}
	return NULL;
}

struct meta_listen *meta_listen_start(meta_listen_connect_fn connect, void *connect_arg,
				      meta_listen_fn fn, void *fn_arg, unsigned timeout_ms)
{
	struct meta_listen *ls = calloc(1, sizeof(*ls));
	if (!ls)
		return NULL;
	ls->connect = connect;
	ls->connect_arg = connect_arg;
	ls->fn = fn;
	ls->fn_arg = fn_arg;
	ls->timeout_ms = timeout_ms ? timeout_ms : 5000;
	ls->fd = -1;
	ls->live_fd = -1;
	static uint64_t serials;
	ls->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
	pthread_mutex_init(&ls->lock, NULL);
	pthread_cond_init(&ls->cond, NULL);
	if (pthread_create(&ls->thread, NULL, listen_main, ls) != 0) {
		pthread_cond_destroy(&ls->cond);
		pthread_mutex_destroy(&ls->lock);
		free(ls);
		return NULL;
	}
	return ls;
}

void meta_listen_stop(struct meta_listen *ls)
{
	if (!ls)
		return;
	pthread_mutex_lock(&ls->lock);
	ls->stop = true;
	if (ls->fd >= 0)
		shutdown(ls->fd, SHUT_RDWR); /* wakes the poll; the thread closes it */
	pthread_cond_signal(&ls->cond);
	pthread_mutex_unlock(&ls->lock);
	pthread_join(ls->thread, NULL);
	pthread_cond_destroy(&ls->cond);
	pthread_mutex_destroy(&ls->lock);
	free(ls);
}
