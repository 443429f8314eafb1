/* Network namespaces for WAN tests, driven through iproute2's `ip` (the
 * netlink requests it makes are long; the test pays a few forks instead). */
#include "netns.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NETNS_DIR  "/run/netns"
#define NS_IF_NAME "wan0"
#define MAX_INDEX  1000
/* 10.200.0.0/16 holds 16384 /30 blocks. */
#define WAN_NET	   0x0ac80000u
#define WAN_BLOCKS 16384u

static int find_ip(char *out, size_t len)
{
	static const char *const paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (access(paths[i], X_OK) == 0) {
			snprintf(out, len, "%s", paths[i]);
			return 0;
		}
	}
	return -EPERM;
}

/* Runs argv (argv[0] an absolute path) and waits. quiet: its output goes to
 * /dev/null, for commands expected to fail (cleanup of what may be gone). */
static int run_cmd(const char *const argv[], int quiet)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Only async-signal-safe calls: the test may have threads. */
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			if (quiet) {
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
			}
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

#define IP(ip_path, quiet, ...) run_cmd((const char *const[]){ip_path, __VA_ARGS__, NULL}, quiet)

static void host_if_name(char *out, size_t len, int pid, int index)
{
	/* IFNAMSIZ is 16: "mcv" + 7-digit pid + "x" + 3 digits fits. */
	snprintf(out, len, "mcv%dx%d", pid, index);
}

static void remove_pair(const char *ip_path, const char *name, const char *host_if)
{
	/* The veth first: a process still inside would keep the namespace, and
	 * with it the pair, alive after `ip netns del`. */
	if (host_if[0])
		IP(ip_path, 1, "link", "del", host_if);
	if (name[0])
		IP(ip_path, 1, "netns", "del", name);
}

/* Removes what dead test processes left behind. A reused PID hides its
 * leftovers until that process is gone too: best effort, as documented. */
static void sweep_stale(const char *ip_path)
{
	DIR *d = opendir(NETNS_DIR);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int pid, index, end = 0;
		if (sscanf(de->d_name, "mcfs-%d-%d%n", &pid, &index, &end) != 2 ||
		    de->d_name[end] != '\0' || pid <= 0 || pid == getpid())
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		char host_if[16];
		host_if_name(host_if, sizeof(host_if), pid, index);
		remove_pair(ip_path, de->d_name, host_if);
	}
	closedir(d);
}

/* The first free "mcfs-PID-N" (no global counter: the directory is the state). */
static int pick_name(struct netns *ns)
{
	int pid = (int)getpid();
	for (int index = 0; index < MAX_INDEX; index++) {
		char path[64];
		snprintf(ns->name, sizeof(ns->name), "mcfs-%d-%d", pid, index);
		snprintf(path, sizeof(path), NETNS_DIR "/%s", ns->name);
		if (access(path, F_OK) != 0 && errno == ENOENT) {
			host_if_name(ns->host_if, sizeof(ns->host_if), pid, index);
			return 0;
		}
	}
	ns->name[0] = '\0';
	return -EMFILE;
}

static int block_taken(const struct ifaddrs *list, uint32_t base)
{
	for (const struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET)
			continue;
		uint32_t a = ntohl(((const struct sockaddr_in *)ifa->ifa_addr)->sin_addr.s_addr);
		if ((a & ~3u) == base)
			return 1;
	}
	return 0;
}

static void format_addr(char *out, size_t len, uint32_t host_order)
{
	struct in_addr in = {.s_addr = htonl(host_order)};
	inet_ntop(AF_INET, &in, out, (socklen_t)len);
}

/* A /30 no local interface uses, starting from a PID-derived block so that
 * concurrent test processes rarely even probe the same one. */
static int pick_subnet(struct netns *ns)
{
	struct ifaddrs *list;
	if (getifaddrs(&list) < 0)
		return -errno;
	uint32_t start = ((uint32_t)getpid() * 2654435761u) >> 18;
	int r = -EADDRINUSE;
	for (uint32_t i = 0; i < WAN_BLOCKS; i++) {
		uint32_t block = (start + i) % WAN_BLOCKS;
		uint32_t base = WAN_NET + block * 4;
		if (block == 0 || block_taken(list, base))
			continue;
		format_addr(ns->host_addr, sizeof(ns->host_addr), base + 1);
		format_addr(ns->ns_addr, sizeof(ns->ns_addr), base + 2);
		r = 0;
		break;
	}
	freeifaddrs(list);
	return r;
}

static int configure_pair(const struct netns *ns)
{
	const char *ip = ns->ip_path;
	char host_cidr[24], ns_cidr[24];
	snprintf(host_cidr, sizeof(host_cidr), "%s/30", ns->host_addr);
	snprintf(ns_cidr, sizeof(ns_cidr), "%s/30", ns->ns_addr);
	/* A veth of this name is a leftover of a dead process with our PID. */
	IP(ip, 1, "link", "del", ns->host_if);
	if (IP(ip, 0, "link", "add", ns->host_if, "type", "veth", "peer", "name", ns->ns_if,
	       "netns", ns->name) < 0 ||
	    IP(ip, 0, "addr", "add", host_cidr, "dev", ns->host_if) < 0 ||
	    IP(ip, 0, "link", "set", ns->host_if, "up") < 0 ||
	    IP(ip, 0, "-n", ns->name, "addr", "add", ns_cidr, "dev", ns->ns_if) < 0 ||
	    IP(ip, 0, "-n", ns->name, "link", "set", ns->ns_if, "up") < 0 ||
	    IP(ip, 0, "-n", ns->name, "link", "set", "lo", "up") < 0 ||
	    IP(ip, 0, "-n", ns->name, "route", "add", "default", "via", ns->host_addr) < 0)
		return -EIO;
	return 0;
}

int netns_create(struct netns *ns)
{
	memset(ns, 0, sizeof(*ns));
	if (geteuid() != 0 || find_ip(ns->ip_path, sizeof(ns->ip_path)) < 0)
		return -EPERM;
	sweep_stale(ns->ip_path);
	int r = pick_name(ns);
	if (r < 0)
		return r;
	snprintf(ns->ns_if, sizeof(ns->ns_if), NS_IF_NAME);
	if (IP(ns->ip_path, 0, "netns", "add", ns->name) < 0) {
		ns->name[0] = ns->host_if[0] = '\0';
		return -EPERM;
	}
	r = pick_subnet(ns);
	if (r == 0)
		r = configure_pair(ns);
	if (r < 0)
		netns_destroy(ns);
	return r;
}

void netns_destroy(struct netns *ns)
{
	if (!ns->name[0] && !ns->host_if[0])
		return;
	if (ns->ip_path[0] || find_ip(ns->ip_path, sizeof(ns->ip_path)) == 0)
		remove_pair(ns->ip_path, ns->name, ns->host_if);
	ns->name[0] = ns->host_if[0] = '\0';
}

int netns_exec_argv(const struct netns *ns, char *const argv[], char **out, size_t max)
{
	size_t n = 0;
	while (argv[n])
		n++;
	if (n + 5 > max)
		return -E2BIG;
	out[0] = (char *)ns->ip_path;
	out[1] = "netns";
	out[2] = "exec";
	out[3] = (char *)ns->name;
	for (size_t i = 0; i < n; i++)
		out[4 + i] = argv[i];
	out[4 + n] = NULL;
	return (int)(n + 4);
}
