/*
 * A mirror region across a simulated WAN. Region b lives in its own network
 * namespace: its Redis replica and its gateway run there, and everything
 * they send to the source's Redis crosses a delaying relay (25 ms each way
 * for the gateway, 100 ms for the replication stream, so that the replica
 * visibly trails what the gateway wrote). This kernel has no sch_netem, so
 * the delay is the relay's (tests/harness/delay_relay.h).
 *
 * Asserted: read-your-writes through the mirror's gateway. Printed, not
 * asserted: LOOKUP+GETATTR latency in the mirror (local replica) against a
 * create there (one round trip to the source).
 */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <nfsc/libnfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_run.h"
#include "cunit_main.h"
#include "delay_relay.h"
#include "netns.h"
#include "proc.h"
#include "redis.h"
#include "nfs_mount.h"

#define GW_DELAY_MS   25
#define REPL_DELAY_MS 100

static struct redis_server primary;
static struct netns ns;
static bool have_ns;
static struct delay_relay *gw_link, *repl_link;
static struct proc replica, gateway;
static int replica_port, gateway_port;
static char *tmp;
static char out[16384];

static int spawn_in_ns(struct proc *p, const char *name, char *const argv[], const char *log)
{
	char *full[48];
	if (netns_exec_argv(&ns, argv, full, 48) < 0)
		return -E2BIG;
	return proc_spawn(p, name, full, log);
}

static bool replica_linked(void *arg)
{
	(void)arg;
	struct timeval tv = {.tv_sec = 2};
	redisContext *c = redisConnectWithTimeout(ns.ns_addr, replica_port, tv);
	bool up = false;
	if (c && !c->err) {
		redisReply *r = redisCommand(c, "INFO replication");
		up = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "master_link_status:up");
		if (r)
			freeReplyObject(r);
	}
	if (c)
		redisFree(c);
	return up;
}

static int start_replica(void)
{
	char port[16], rport[16], dir[600], log[600];
	replica_port = free_tcp_port();
	snprintf(port, sizeof(port), "%d", replica_port);
	snprintf(rport, sizeof(rport), "%d", delay_relay_port(repl_link));
	snprintf(dir, sizeof(dir), "%s/replica", tmp);
	snprintf(log, sizeof(log), "%s/replica.log", tmp);
	mkdir(dir, 0700);
	char *argv[] = {"redis-server", "--port",      port,	     "--bind", ns.ns_addr,
			"--dir",	dir,	       "--save",     "",       "--appendonly",
			"no",		"--replicaof", ns.host_addr, rport,    "--protected-mode",
			"no",		NULL};
	if (spawn_in_ns(&replica, "redis-replica", argv, log) < 0)
		return -1;
	return wait_until(replica_linked, NULL, 30000);
}

static int write_conf(char *path, size_t len)
{
	snprintf(path, len, "%s/b.conf", tmp);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "[meta]\nurl = redis://%s:%d\nreplica = redis://%s:%d\n", ns.host_addr,
		delay_relay_port(gw_link), ns.ns_addr, replica_port);
	fprintf(f, "[region]\nname = b\n");
	fclose(f);
	return 0;
}

static int start_gateway(void)
{
	const char *b = getenv("MCFS_TOP_BUILDDIR");
	char bin[600], conf[600], listen[64], log[600];
	snprintf(bin, sizeof(bin), "%s/mcfs-gateway", b ? b : ".");
	if (write_conf(conf, sizeof(conf)) < 0)
		return -1;
	gateway_port = free_tcp_port();
	snprintf(listen, sizeof(listen), "%s:%d", ns.ns_addr, gateway_port);
	snprintf(log, sizeof(log), "%s/gateway-b.log", tmp);
	char *argv[] = {bin,	"--foreground", "--no-rpcbind",	       "--config", conf, "--listen",
			listen, "--export",	"/:rw,no_root_squash", NULL};
	if (spawn_in_ns(&gateway, "mcfs-gateway", argv, log) < 0)
		return -1;
	long long until = now_ms() + 30000;
	while (now_ms() < until) {
		struct nfs_context *nfs = nfs_init_context();
		char url[128];
		snprintf(url, sizeof(url), "nfs://%s/?nfsport=%d&mountport=%d&version=3",
			 ns.ns_addr, gateway_port, gateway_port);
		struct nfs_url *u = nfs_parse_url_dir(nfs, url);
		int rc = u ? nfs_mount(nfs, u->server, u->path) : -1;
		if (u)
			nfs_destroy_url(u);
		nfs_destroy_context(nfs);
		if (rc == 0)
			return 0;
		if (!proc_alive(&gateway))
			return -1;
		usleep(50000); /* polling for readiness, with a deadline */
	}
	return -1;
}

static int setup(void)
{
	tmp = test_tmpdir("wan");
	if (!tmp || redis_server_start(&primary) < 0)
		return -1;
	int r = netns_create(&ns);
	if (r == -EPERM) {
		fprintf(stderr, "network namespaces are not available here: WAN test skipped\n");
		return 0;
	}
	if (r < 0)
		return -1;
	have_ns = true;
	if (delay_relay_start(&gw_link, ns.host_addr, "127.0.0.1", primary.port, GW_DELAY_MS) < 0 ||
	    delay_relay_start(&repl_link, ns.host_addr, "127.0.0.1", primary.port, REPL_DELAY_MS) <
		0 ||
	    start_replica() < 0)
		return -1;
	const char *b = getenv("MCFS_TOP_BUILDDIR");
	char mcfs[600], scratch[600], ba[600], bb[600], replica_url[128];
	snprintf(mcfs, sizeof(mcfs), "%s/mcfs", b ? b : ".");
	snprintf(scratch, sizeof(scratch), "%s/cli", tmp);
	snprintf(ba, sizeof(ba), "file://%s/bucket-a", tmp);
	snprintf(bb, sizeof(bb), "file://%s/bucket-b", tmp);
	snprintf(replica_url, sizeof(replica_url), "redis://%s:%d", ns.ns_addr, replica_port);
	if (cli_run(mcfs, scratch, out, sizeof(out), NULL,
		    (const char *const[]){"format", "--meta", primary.url, "--bucket", ba,
					  "--region", "a", "test", NULL}) != 0 ||
	    cli_run(mcfs, scratch, out, sizeof(out), NULL,
		    (const char *const[]){"region", "add", "--meta", primary.url, "--name", "b",
					  "--mode", "mirror", "--bucket", bb, "--replica-meta",
					  replica_url, NULL}) != 0) {
		fprintf(stderr, "%s\n", out);
		return -1;
	}
	return start_gateway();
}

static int teardown(void)
{
	if (gateway.pid > 0)
		proc_stop(&gateway, 10000);
	if (replica.pid > 0)
		proc_stop(&replica, 10000);
	delay_relay_stop(gw_link);
	delay_relay_stop(repl_link);
	if (have_ns)
		netns_destroy(&ns);
	redis_server_stop(&primary);
	if (tmp && !getenv("MCFS_KEEP_TMP")) {
		rm_rf(tmp);
		free(tmp);
	}
	return 0;
}

static struct nfs_context *mount_b(void)
{
	char url[128];
	snprintf(url, sizeof(url), "nfs://%s/?nfsport=%d&mountport=%d&version=3", ns.ns_addr,
		 gateway_port, gateway_port);
	return nfs_mount_url(url);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static double median_ms(long long *us, int n)
{
	qsort(us, (size_t)n, sizeof(*us), cmp_ll);
	return us[n / 2] / 1000.0;
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Every change is visible to the next request through the same gateway,
 * although the replica it reads from is 100 ms behind. */
static void test_read_your_writes(void)
{
	if (!have_ns)
		return;
	struct nfs_context *nfs = mount_b();
	CU_ASSERT_PTR_NOT_NULL_FATAL(nfs);
	int ok = 0;
	for (int i = 0; i < 20; i++) {
		char dir[64], file[96], data[64];
		snprintf(dir, sizeof(dir), "/d%d", i);
		snprintf(file, sizeof(file), "%s/f", dir);
		int n = snprintf(data, sizeof(data), "version %d", i);
		struct nfsfh *fh = NULL;
		struct nfs_stat_64 st;
		if (nfs_mkdir(nfs, dir) != 0 || nfs_creat(nfs, file, 0644, &fh) != 0)
			continue;
		int w = nfs_pwrite(nfs, fh, 0, (uint64_t)n, data);
		nfs_close(nfs, fh);
		char back[64] = {0};
		fh = NULL;
		if (w == n && nfs_stat64(nfs, file, &st) == 0 && st.nfs_size == (uint64_t)n &&
		    nfs_open(nfs, file, O_RDONLY, &fh) == 0 &&
		    nfs_pread(nfs, fh, 0, 64, back) == n && memcmp(back, data, (size_t)n) == 0)
			ok++;
		else
			fprintf(stderr, "read-your-writes failed at %d\n", i);
		if (fh)
			nfs_close(nfs, fh);
	}
	CU_ASSERT_EQUAL(ok, 20);
	nfs_destroy_context(nfs);
}

static void test_latencies(void)
{
	if (!have_ns)
		return;
	struct nfs_context *nfs = mount_b();
	CU_ASSERT_PTR_NOT_NULL_FATAL(nfs);
	/* Now a realistic link: the replication stream as fast as the gateway's. */
	delay_relay_set_delay(repl_link, GW_DELAY_MS);
	enum { N = 30 };
	long long create_us[N], stat_us[N];
	int nc = 0, ns_ok = 0;
	for (int i = 0; i < N; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/lat%d", i);
		struct nfsfh *fh = NULL;
		long long t = now_us();
		if (nfs_creat(nfs, path, 0644, &fh) == 0) {
			create_us[nc++] = now_us() - t;
			nfs_close(nfs, fh);
		}
	}
	/* Once the replica has caught up, lookups are local. */
	CU_ASSERT_EQUAL(redis_wait_replicated(primary.port, ns.ns_addr, replica_port, 10000), 0);
	struct nfs_stat_64 st;
	for (int i = 0; i < N; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/lat%d", i);
		long long t = now_us();
		if (nfs_stat64(nfs, path, &st) == 0)
			stat_us[ns_ok++] = now_us() - t;
	}
	CU_ASSERT_EQUAL(nc, N);
	CU_ASSERT_EQUAL(ns_ok, N);
	if (nc == N && ns_ok == N)
		printf(
		    "\nwan: RTT to the source %d ms; in the mirror: LOOKUP+GETATTR median %.2f ms, "
		    "create median %.2f ms\n",
		    2 * GW_DELAY_MS, median_ms(stat_us, N), median_ms(create_us, N));
	nfs_destroy_context(nfs);
}

/* The mirror's gateway learns the source's replication offset after its
 * writes from one ROLE per round of its event loop, sent after the round's
 * last write, not from a ROLE behind each: with 16 requests in flight over
 * the WAN, rounds carry several writes. (read-your-writes, above, checks
 * that the offset is still learnt before a write is answered.) */
static void test_writes_share_role(void)
{
	if (!have_ns)
		return;
	CU_ASSERT_EQUAL_FATAL(redis_server_reset_stats(&primary), 0);
	char url[160], bin[600], log[700];
	snprintf(url, sizeof(url), "nfs://%s/?nfsport=%d&mountport=%d&version=3", ns.ns_addr,
		 gateway_port, gateway_port);
	const char *b = getenv("MCFS_TOP_BUILDDIR");
	snprintf(bin, sizeof(bin), "%s/tests/bench/mcfs-nfsbench", b ? b : ".");
	snprintf(log, sizeof(log), "%s/nfsbench.log", tmp);
	char *argv[] = {bin,	   "--url", url,       "--workloads", "create", "--files",   "200",
			"--conns", "1",	    "--depth", "16",	      "--dir",	"rolecheck", NULL};
	struct proc p;
	CU_ASSERT_EQUAL_FATAL(proc_spawn(&p, "mcfs-nfsbench", argv, log), 0);
	CU_ASSERT_EQUAL(proc_wait(&p, 120000), 0);
	long long writes = redis_server_calls(&primary, "fcall"),
		  roles = redis_server_calls(&primary, "role");
	fprintf(stderr, "%lld metadata scripts, %lld ROLE\n", writes, roles);
	CU_ASSERT(writes >= 600); /* 200 creates, commits and removes */
	CU_ASSERT(roles > 0);
	CU_ASSERT(roles * 4 <= writes * 3);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"read-your-writes through a mirror gateway", test_read_your_writes},
	    {"mirror latencies (printed)", test_latencies},
	    {"writes in flight together share one ROLE", test_writes_share_role},
	    {NULL, NULL}};
	if (test_add_suite("wan", setup, teardown, tests) < 0)
		return 1;
	return test_run_all();
}
