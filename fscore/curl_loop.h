/*
 * HTTP transfers on the event loop of the calling coroutine (coro.h).
 *
 * Each loop that asks gets one libcurl multi handle, driven by its epoll set
 * and timer heap (the multi socket API). A coroutine hands it a prepared easy
 * handle and parks; the loop runs the transfer between its other work and
 * wakes the coroutine when it ends. Compared with curl_easy_perform() on the
 * blocking pool, a request costs no thread switches: the pool's hand-off and
 * wake-up were most of the CPU of a small object's PUT.
 *
 * Work that is heavy for a loop (hashing a big body for a signature) stays on
 * the blocking pool; the caller decides (objstore.c).
 */
#ifndef MCFS_CURL_LOOP_H
#define MCFS_CURL_LOOP_H

#include <curl/curl.h>
#include <stdbool.h>

/* True on a coroutine of an event loop, where curl_loop_perform() may run. */
bool curl_loop_usable(void);

/* Runs easy to its end on this coroutine's loop, parking meanwhile, and
 * returns its result as curl_easy_perform() would. Callers check
 * curl_loop_usable() first; elsewhere this is curl_easy_perform(). The
 * handle's CURLOPT_PRIVATE is left alone. */
CURLcode curl_loop_perform(CURL *easy);

/* Transfers run on event loops since the process started (for tests and
 * statistics). */
unsigned long curl_loop_transfers(void);

#endif
