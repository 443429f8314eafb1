/* A network namespace joined to the root namespace by a veth pair, so a test
 * can put a "region" behind its own interface: processes started inside reach
 * the root namespace only through the host end's address, where a
 * delay_relay can add WAN latency.
 *
 * Needs root (CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2's `ip`. Cleanup is
 * netns_destroy(); if the test dies first, the namespace (a bind mount under
 * /run/netns) and the veth outlive it. That is best effort: every
 * netns_create() first removes namespaces "mcfs-PID-N" whose PID no longer
 * exists, with their veths. */
#ifndef MCFS_TEST_NETNS_H
#define MCFS_TEST_NETNS_H

#include <stddef.h>

struct netns {
	char name[32];	    /* "mcfs-PID-N", as `ip netns` knows it */
	char host_if[16];   /* the veth end in the root namespace */
	char ns_if[16];	    /* the veth end inside ("wan0") */
	char host_addr[16]; /* dotted quad of the host end, in a /30 of 10.200.0.0/16 */
	char ns_addr[16];   /* the address inside, same /30 */
	char ip_path[64];   /* the `ip` binary used, for netns_exec_argv */
};

/* Creates the namespace and the veth pair, both ends up with their /30
 * addresses, lo up inside, and a default route inside via the host end (so
 * the namespace also reaches other local addresses of the root namespace,
 * e.g. the host ends of other namespaces). Returns 0; -EPERM when namespaces
 * cannot be used here (not root, no `ip`, `ip netns add` refused: skip the
 * test); -EADDRINUSE when no free /30 was found; -EIO when a later step
 * failed (everything already made is removed again). */
int netns_create(struct netns *ns);

/* Deletes the veth and the namespace. Idempotent; safe on a zeroed struct or
 * after a failed netns_create. Processes still running inside keep the
 * namespace itself alive until they exit, so stop them first. */
void netns_destroy(struct netns *ns);

/* Fills out with {ip, "netns", "exec", NAME, argv..., NULL} for proc_spawn.
 * The strings are borrowed from ns and argv. Returns the element count
 * without the NULL, or -E2BIG when out (max entries) is too small. */
int netns_exec_argv(const struct netns *ns, char *const argv[], char **out, size_t max);

#endif
