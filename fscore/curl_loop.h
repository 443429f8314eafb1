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

/* Runs easy to its end and returns its result as curl_easy_perform()
 * would. On a coroutine (coro.h) the transfer runs on the coroutine's event
 * loop while the coroutine parks; elsewhere this is curl_easy_perform().
 * The handle's CURLOPT_PRIVATE is left alone. */
CURLcode curl_loop_perform(CURL *easy);

/* Transfers run on event loops since the process started (for tests and
 * statistics). */
unsigned long curl_loop_transfers(void);

#endif
