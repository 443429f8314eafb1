/* A TCP relay that adds a fixed one-way delay, for simulating a WAN link
 * between regions where the kernel has no netem: it listens on an ephemeral
 * port of a local address and, for every accepted connection, connects to
 * the target and forwards both directions, each chunk of bytes leaving
 * delay_ms after it arrived. Bytes that arrive together leave together, so
 * the delay costs latency, not throughput (up to RELAY_QUEUE_MAX bytes in
 * flight per direction; beyond that the relay stops reading, and TCP pushes
 * back). A 25 ms relay gives a ~50 ms round trip.
 *
 * Ordering is preserved; a half-close (FIN) reaches the other side after the
 * data before it, delayed like data; a reset or error on one side resets the
 * other. The TCP handshake itself is not delayed: the relay accepts at once,
 * so connect() returns immediately and the first request pays the delay.
 *
 * Runs in threads of the test process: one accepting, one per connection. */
#ifndef MCFS_TEST_DELAY_RELAY_H
#define MCFS_TEST_DELAY_RELAY_H

#include <stdbool.h>

#define RELAY_QUEUE_MAX (16u << 20)

struct delay_relay;

/* Listens on listen_addr (numeric IPv4/IPv6, e.g. a netns host end or
 * "127.0.0.1") at an ephemeral port and forwards to target_addr:target_port.
 * Returns 0 or -errno. */
int delay_relay_start(struct delay_relay **out, const char *listen_addr, const char *target_addr,
		      int target_port, unsigned delay_ms);
/* The port it listens on. */
int delay_relay_port(const struct delay_relay *r);
/* Changes the one-way delay of bytes received from now on. */
void delay_relay_set_delay(struct delay_relay *r, unsigned delay_ms);
/* A partition: while paused nothing is read or delivered (queued bytes wait,
 * senders see TCP back-pressure; new connections are accepted and connected
 * but carry nothing). Unpausing delivers whatever is overdue at once. */
void delay_relay_set_paused(struct delay_relay *r, bool paused);
/* Resets every current connection (both sides see ECONNRESET), as a link
 * failure would; the relay keeps accepting new ones. */
void delay_relay_cut(struct delay_relay *r);
/* Connections currently open (accepted and not yet finished). */
int delay_relay_connections(struct delay_relay *r);
/* Connections accepted since start. */
long delay_relay_accepted(struct delay_relay *r);
/* Closes the listener and every connection, joins all threads, frees r.
 * NULL is fine. */
void delay_relay_stop(struct delay_relay *r);

#endif
