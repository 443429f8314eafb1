#include "curl_loop.h"

#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "coro.h"
#include "evloop.h"
#include "log.h"

/* Connections a loop keeps open for reuse once their transfers end. */
#define IDLE_CONNECTIONS 64

/* A transfer in flight; on its parked coroutine's stack until the wake. */
struct xfer {
	struct xfer *next;
	CURL *easy;
	struct coro *co;
	CURLcode cc;
};

struct curl_loop;

/* A socket libcurl asked the loop to watch. */
struct sock {
	struct ev_watch watch; /* first: the watch callback gets this */
	struct curl_loop *cl;
};

struct curl_loop {
	struct evloop *l;
	CURLM *multi;
	struct ev_timer timer; /* libcurl's one timeout */
	struct ev_cleanup cleanup;
	struct xfer *xfers;
};

/* Each slot belongs to the thread running loop number i, which alone
 * creates, uses and (on destroy) clears it. */
static struct curl_loop *by_loop[EVLOOP_MAX];
static unsigned long transfers; /* atomic */

/* Hands every finished transfer back to its coroutine. */
static void reap(struct curl_loop *cl)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(cl->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg is invalid once its handle leaves the multi. */
		CURL *easy = msg->easy_handle;
		CURLcode cc = msg->data.result;
		curl_multi_remove_handle(cl->multi, easy);
		struct xfer **pp = &cl->xfers;
		while (*pp && (*pp)->easy != easy)
			pp = &(*pp)->next;
		struct xfer *x = *pp;
		if (!x)
			continue;
		*pp = x->next;
		x->cc = cc;
		coro_wake(x->co);
	}
}

static void on_ready(struct ev_watch *w, uint32_t events)
{
	struct sock *s = (struct sock *)w;
	struct curl_loop *cl = s->cl; /* s may be freed inside socket_action */
	int fd = w->fd;
	int mask = 0;
	if (events & EPOLLIN)
		mask |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		mask |= CURL_CSELECT_ERR;
	int running;
	curl_multi_socket_action(cl->multi, fd, mask, &running);
	reap(cl);
}

static void on_timeout(struct ev_timer *t)
{
	struct curl_loop *cl = (struct curl_loop *)((char *)t - offsetof(struct curl_loop, timer));
	int running;
	curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	reap(cl);
}

/* libcurl's CURLMOPT_SOCKETFUNCTION: what to wait for on a socket. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	(void)easy;
	struct curl_loop *cl = userp;
	struct sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			evloop_unwatch(cl->l, &s->watch);
			curl_multi_assign(cl->multi, fd, NULL);
			free(s);
		}
		return 0;
	}
	uint32_t events = 0;
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (s)
		return evloop_watch_set(cl->l, &s->watch, events) < 0 ? -1 : 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->cl = cl;
	if (evloop_watch(cl->l, &s->watch, fd, events, on_ready) < 0) {
		free(s);
		return -1;
	}
	curl_multi_assign(cl->multi, fd, s);
	return 0;
}

/* libcurl's CURLMOPT_TIMERFUNCTION. The timer fires from the loop, never
 * from inside this callback, as libcurl requires. */
static int on_timer_change(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct curl_loop *cl = userp;
	if (timeout_ms < 0)
		evloop_timer_stop(cl->l, &cl->timer);
	else
		evloop_timer_start(cl->l, &cl->timer, evloop_now_ms() + timeout_ms, on_timeout);
	return 0;
}

/* The loop goes away: so do its transfers' handles and its connections.
 * Its coroutines are gone by then (the loop stopped). */
static void on_destroy(struct ev_cleanup *c)
{
	struct curl_loop *cl =
	    (struct curl_loop *)((char *)c - offsetof(struct curl_loop, cleanup));
	for (struct xfer *x = cl->xfers; x; x = x->next)
		curl_multi_remove_handle(cl->multi, x->easy);
	curl_multi_cleanup(cl->multi);
	evloop_timer_stop(cl->l, &cl->timer);
	by_loop[evloop_id(cl->l)] = NULL;
	free(cl);
}

static struct curl_loop *loop_get(struct evloop *l)
{
	unsigned id = evloop_id(l);
	if (by_loop[id])
		return by_loop[id];
	struct curl_loop *cl = calloc(1, sizeof(*cl));
	if (!cl)
		return NULL;
	cl->l = l;
	cl->multi = curl_multi_init();
	if (!cl->multi) {
		free(cl);
		return NULL;
	}
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
	curl_multi_setopt(cl->multi, CURLMOPT_MAXCONNECTS, (long)IDLE_CONNECTIONS);
	evloop_on_destroy(l, &cl->cleanup, on_destroy);
	by_loop[id] = cl;
	return cl;
}

CURLcode curl_loop_perform(CURL *easy)
{
	/* A coroutine always runs on its loop's thread. */
	struct curl_loop *cl = coro_self() ? loop_get(evloop_current()) : NULL;
	if (!cl)
		return curl_easy_perform(easy);
	struct xfer x = {.easy = easy, .co = coro_self(), .cc = CURLE_OK};
	CURLMcode mc = curl_multi_add_handle(cl->multi, easy);
	if (mc != CURLM_OK) {
		log_warn("curl_loop: adding a transfer: %s", curl_multi_strerror(mc));
		return mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
	}
	x.next = cl->xfers;
	cl->xfers = &x;
	__atomic_add_fetch(&transfers, 1, __ATOMIC_RELAXED);
	coro_park();
	return x.cc;
}

unsigned long curl_loop_transfers(void)
{
	return __atomic_load_n(&transfers, __ATOMIC_RELAXED);
}
