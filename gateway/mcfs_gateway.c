/* mcfs-gateway: serves an mcfs volume over NFSv3, NFSv4 and MOUNT v3 on one port
 * (see mcfs-gateway(8)). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <rpc/pmap_clnt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "autoconfig.h"
#include "config.h"
#include "coro.h"
#include "daemon.h"
#include "gateway.h"
#include "log.h"
#include "nfs4_proc.h"
#include "units.h"

struct options {
	const char *meta_url, *region, *listen, *config_path, *pid_file, *replica, *max_lag;
	const char *exports[CONFIG_MAX_EXPORTS];
	unsigned nexports;
	const char *cache_dir, *cache_size, *log_level, *lease_time, *grace_time;
	bool foreground, syslog, no_rpcbind;
	unsigned threads;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mcfs-gateway --meta redis://HOST:PORT[/DB] [--region NAME]\n"
		"                    [--replica redis://HOST:PORT[/DB]] [--max-replica-lag SECS]\n"
		"                    [--listen ADDR:PORT] [--export PATH[:OPTIONS]]...\n"
		"                    [--cache-dir DIR --cache-size SIZE] [--config FILE]\n"
		"                    [--foreground] [--pid-file FILE] [--log-level LEVEL]\n"
		"                    [--syslog] [--threads N] [--no-rpcbind]\n"
		"                    [--lease-time SECS] [--grace-time SECS]\n"
		"export options: rw|ro, root_squash|all_squash|no_root_squash, anonuid=N,\n"
		"  anongid=N, secure|insecure, clients=SPEC+SPEC (address, CIDR, host or *)\n"
		"See mcfs-gateway(8).\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {{"meta", required_argument, 0, 'm'},
					     {"region", required_argument, 0, 'r'},
					     {"listen", required_argument, 0, 'l'},
					     {"export", required_argument, 0, 'e'},
					     {"cache-dir", required_argument, 0, 'C'},
					     {"cache-size", required_argument, 0, 'S'},
					     {"config", required_argument, 0, 'c'},
					     {"foreground", no_argument, 0, 'f'},
					     {"pid-file", required_argument, 0, 'p'},
					     {"log-level", required_argument, 0, 'L'},
					     {"syslog", no_argument, 0, 's'},
					     {"threads", required_argument, 0, 't'},
					     {"no-rpcbind", no_argument, 0, 'N'},
					     {"help", no_argument, 0, 'h'},
					     {"version", no_argument, 0, 'V'},
					     {"lease-time", required_argument, 0, 'T'},
					     {"grace-time", required_argument, 0, 'G'},
					     {"replica", required_argument, 0, 'R'},
					     {"max-replica-lag", required_argument, 0, 'M'},
					     {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "m:r:l:e:C:S:c:fp:L:st:NhVT:G:R:M:", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'm':
			o->meta_url = optarg;
			break;
		case 'r':
			o->region = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 'e':
			if (o->nexports == CONFIG_MAX_EXPORTS) {
				fprintf(stderr, "mcfs-gateway: at most %d exports\n",
					CONFIG_MAX_EXPORTS);
				return 2;
			}
			o->exports[o->nexports++] = optarg;
			break;
		case 'C':
			o->cache_dir = optarg;
			break;
		case 'S':
			o->cache_size = optarg;
			break;
		case 'c':
			o->config_path = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'p':
			o->pid_file = optarg;
			break;
		case 'L':
			o->log_level = optarg;
			break;
		case 's':
			o->syslog = true;
			break;
		case 't':
			o->threads = (unsigned)atoi(optarg);
			break;
		case 'N':
			o->no_rpcbind = true;
			break;
		case 'T':
			o->lease_time = optarg;
			break;
		case 'G':
			o->grace_time = optarg;
			break;
		case 'R':
			o->replica = optarg;
			break;
		case 'M':
			o->max_lag = optarg;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case 'V':
			printf("mcfs-gateway %s\n", PACKAGE_VERSION);
			return -1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mcfs-gateway: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return 0;
}

/* "ADDR:PORT", "[v6]:PORT", or "ADDR" (port 2049). */
static int parse_listen(const char *s, char *addr, size_t len, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	const char *host = s;
	size_t hl = strlen(s);
	*port = 2049;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close)
			return -EINVAL;
		host = s + 1;
		hl = (size_t)(close - host);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] && !colon)
			return -EINVAL;
	} else if (colon && strchr(s, ':') != colon) {
		colon = NULL; /* a bare IPv6 address */
	} else if (colon) {
		hl = (size_t)(colon - s);
	}
	if (colon) {
		char *end;
		long p = strtol(colon + 1, &end, 10);
		if (*end || p <= 0 || p > 65535)
			return -EINVAL;
		*port = (uint16_t)p;
	}
	if (hl == 0 || hl >= len)
		return -EINVAL;
	memcpy(addr, host, hl);
	addr[hl] = '\0';
	unsigned char probe[16];
	if (inet_pton(AF_INET, addr, probe) != 1 && inet_pton(AF_INET6, addr, probe) != 1)
		return -EINVAL;
	return 0;
}

static int apply_options(const struct options *o, struct mcfs_config *cfg, char *err, size_t len)
{
	if (o->meta_url)
		snprintf(cfg->meta_url, sizeof(cfg->meta_url), "%s", o->meta_url);
	if (o->region)
		snprintf(cfg->region, sizeof(cfg->region), "%s", o->region);
	if (o->replica)
		snprintf(cfg->replica_url, sizeof(cfg->replica_url), "%s", o->replica);
	if (o->max_lag && (duration_parse(o->max_lag, &cfg->max_replica_lag_s) < 0 ||
			   cfg->max_replica_lag_s > 3600)) {
		snprintf(err, len, "bad --max-replica-lag '%s' (0 to 1h)", o->max_lag);
		return -EINVAL;
	}
	if (o->listen)
		snprintf(cfg->listen, sizeof(cfg->listen), "%s", o->listen);
	if (o->pid_file)
		snprintf(cfg->pid_file, sizeof(cfg->pid_file), "%s", o->pid_file);
	if (o->cache_dir)
		snprintf(cfg->cache_dir, sizeof(cfg->cache_dir), "%s", o->cache_dir);
	if (o->log_level)
		snprintf(cfg->log_level, sizeof(cfg->log_level), "%s", o->log_level);
	if (o->syslog)
		cfg->log_syslog = true;
	if (o->threads) {
		if (o->threads > 64) {
			snprintf(err, len, "bad --threads %u: 1 to 64 event loops", o->threads);
			return -EINVAL;
		}
		cfg->threads = o->threads;
	}
	if (o->cache_size && size_parse(o->cache_size, &cfg->cache_size) < 0) {
		snprintf(err, len, "bad --cache-size '%s'", o->cache_size);
		return -EINVAL;
	}
	if (o->lease_time && (duration_parse(o->lease_time, &cfg->nfs4_lease_s) < 0 ||
			      cfg->nfs4_lease_s < 10 || cfg->nfs4_lease_s > 3600)) {
		snprintf(err, len, "bad --lease-time '%s' (10s to 1h)", o->lease_time);
		return -EINVAL;
	}
	if (o->grace_time &&
	    (duration_parse(o->grace_time, &cfg->nfs4_grace_s) < 0 || cfg->nfs4_grace_s > 3600)) {
		snprintf(err, len, "bad --grace-time '%s' (0 to 1h)", o->grace_time);
		return -EINVAL;
	}
	if (o->nexports) {
		cfg->nexports = o->nexports;
		for (unsigned i = 0; i < o->nexports; i++)
			snprintf(cfg->exports[i], sizeof(cfg->exports[i]), "%s", o->exports[i]);
	}
	if (!cfg->meta_url[0]) {
		snprintf(err, len, "--meta redis://HOST:PORT[/DB] is required (or [meta] url)");
		return -EINVAL;
	}
	return 0;
}

static struct gateway gw;
static struct rpc_transport *transport;

static int setup_exports(const struct mcfs_config *cfg, char *err, size_t len)
{
	size_t n = cfg->nexports ? cfg->nexports : 1;
	gw.exports = calloc(n, sizeof(*gw.exports));
	if (!gw.exports)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *spec = cfg->nexports ? cfg->exports[i] : "/";
		int r = export_parse(spec, &gw.exports[i], err, len);
		if (r < 0)
			return r;
		for (size_t k = 0; k < i; k++)
			if (gw.exports[k].id == gw.exports[i].id) {
				snprintf(err, len, "export %.300s is given twice",
					 gw.exports[i].path);
				return -EINVAL;
			}
		gw.nexports++;
	}
	return 0;
}

static void resolve_exports(void)
{
	for (size_t i = 0; i < gw.nexports; i++) {
		int r = export_resolve(&gw.exports[i], gw.vfs);
		if (r < 0)
			log_warn("export %s: %s (MOUNT will fail until it exists)",
				 gw.exports[i].path, strerror(-r));
	}
}

static void init_identity(void)
{
	struct vfs_volume_info vi;
	vfs_volume_info(gw.vfs, &vi);
	fh_parse_uuid(vi.uuid, gw.volume_uuid);
	uint64_t a = 0, b = 0;
	memcpy(&a, gw.volume_uuid, 8);
	memcpy(&b, gw.volume_uuid + 8, 8);
	gw.fsid = a ^ b;
	if (RAND_bytes(gw.write_verf, sizeof(gw.write_verf)) != 1) {
		uint64_t t = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
		memcpy(gw.write_verf, &t, sizeof(t));
	}
}

static void rpcbind_register(uint16_t port, bool on)
{
	static const unsigned long progs[][2] = {
	    {NFS_PROGRAM, NFS_V3}, {NFS_PROGRAM, NFS_V4}, {MOUNT_PROGRAM, MOUNT_V3}};
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (on) {
			pmap_set(progs[i][0], progs[i][1], IPPROTO_TCP, port);
			pmap_set(progs[i][0], progs[i][1], IPPROTO_UDP, port);
		} else {
			pmap_unset(progs[i][0], progs[i][1]);
		}
	}
}

/* rpcbind is optional: only talk to it when something listens on port 111. */
static bool rpcbind_present(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(111),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int serve(const struct mcfs_config *cfg, bool use_rpcbind)
{
	char err[512] = "", addr[128];
	uint16_t port;
	if (parse_listen(cfg->listen, addr, sizeof(addr), &port) < 0) {
		snprintf(err, sizeof(err), "bad listen address '%.200s': use ADDR:PORT",
			 cfg->listen);
		daemon_ready(false, err);
		log_error("%s", err);
		return 2;
	}
	struct vfs_options vo = {.meta_url = cfg->meta_url,
				 .meta_password = cfg->meta_password[0] ? cfg->meta_password : NULL,
				 .region = cfg->region[0] ? cfg->region : NULL,
				 .cfg = cfg,
				 .background = true,
				 .cache_attributes = true};
	coro_offload_threads(cfg->blocking_threads);
	int r = vfs_open(&vo, &gw.vfs, err, sizeof(err));
	if (r == 0) {
		init_identity();
		resolve_exports();
		r = drc_create(16384, 600, &gw.drc);
	}
	if (r == 0) {
		/* By default the recovery id is the address served: an HA peer
		 * that takes the floating address over takes the clients too. */
		struct nfs4_server_options no = {
		    .lease_secs = (uint32_t)cfg->nfs4_lease_s,
		    .grace_secs = (uint32_t)cfg->nfs4_grace_s,
		    .domain = cfg->nfs4_domain,
		    .idmap_names = cfg->nfs4_idmap_names,
		    .recovery_id = cfg->nfs4_recovery[0] ? cfg->nfs4_recovery : cfg->listen};
		r = nfs4_server_start(&gw, &no);
		if (r < 0)
			snprintf(err, sizeof(err), "cannot start NFSv4: %s", strerror(-r));
	}
	struct rpc_transport_config tc = {.listen_addr = addr,
					  .port = port,
					  .udp = true,
					  .loops = cfg->threads,
					  .conn_closed = nfs4_conn_closed};
	if (r == 0) {
		r = rpc_transport_start(&tc, gateway_handle, &gw, &transport);
		if (r < 0)
			snprintf(err, sizeof(err), "cannot listen on %.200s: %s", cfg->listen,
				 strerror(-r));
	}
	if (r < 0) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-r));
		daemon_ready(false, err);
		log_error("%s", err);
		nfs4_server_stop(&gw);
		vfs_close(gw.vfs);
		return 1;
	}
	if (use_rpcbind)
		rpcbind_register(rpc_transport_port(transport), true);
	log_info("serving volume on %s port %u (NFSv3, NFSv4.0-4.2, MOUNT v3; TCP and UDP)", addr,
		 rpc_transport_port(transport));
	daemon_ready(true, NULL);
	return 0;
}

static int wait_for_signal(const sigset_t *set)
{
	for (;;) {
		int sig = 0;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: nothing to reload yet");
			continue;
		}
		return sig;
	}
}

static int shutdown_gateway(bool use_rpcbind)
{
	if (use_rpcbind)
		rpcbind_register(0, false);
	struct rpc_transport_stats ts;
	rpc_transport_stats(transport, &ts);
	rpc_transport_stop(transport);
	nfs4_server_stop(&gw);
	log_info("replies before the stop: %llu sent, %llu dropped; read data sent from files: "
		 "%llu replies, %llu MiB",
		 (unsigned long long)ts.replies, (unsigned long long)ts.dropped,
		 (unsigned long long)ts.file_replies, (unsigned long long)(ts.file_bytes >> 20));
	struct attr_cache_stats ac;
	vfs_attr_cache_stats(gw.vfs, &ac);
	log_info("attribute cache: %llu hits, %llu misses, %llu kept, %llu turned away, %llu "
		 "changes heard or made, %llu flushes",
		 (unsigned long long)ac.hits, (unsigned long long)ac.misses,
		 (unsigned long long)ac.puts, (unsigned long long)ac.refused,
		 (unsigned long long)ac.forgets, (unsigned long long)ac.flushes);
	struct dir_cache_stats dc;
	vfs_dir_cache_stats(gw.vfs, &dc);
	log_info("listing cache: %llu hits, %llu misses, %llu pages kept, %llu turned away, %llu "
		 "changes heard or made, %llu evictions",
		 (unsigned long long)dc.hits, (unsigned long long)dc.misses,
		 (unsigned long long)dc.adds, (unsigned long long)dc.refused,
		 (unsigned long long)dc.forgets, (unsigned long long)dc.evictions);
	/* Buffered UNSTABLE data goes to the bucket before we exit. */
	int r = vfs_close(gw.vfs);
	if (r < 0)
		log_error("some buffered data could not be flushed: %s", strerror(-r));
	drc_destroy(gw.drc);
	free(gw.exports);
	while (gw.mounts) {
		struct mount_entry *m = gw.mounts;
		gw.mounts = m->next;
		free(m);
	}
	return r < 0 ? 1 : 0;
}

/* Request and block buffers (up to a block, 4 MiB) come and go all the time:
 * kept in the heap and reused instead of returned to the kernel and faulted
 * in again (mmap, trim), which cost a third of a small write in profiles.
 * For glibc's allocator, used where jemalloc is not (sanitizer builds). */
static void tune_malloc(void)
{
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_ARENA_MAX, 4);
}

int main(int argc, char **argv)
{
	tune_malloc();
	struct options o = {0};
	int r = parse_args(argc, argv, &o);
	if (r)
		return r < 0 ? 0 : r;
	struct mcfs_config cfg;
	config_defaults(&cfg);
	char err[512];
	if (o.config_path && config_load(o.config_path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "mcfs-gateway: %s\n", err);
		return 2;
	}
	config_apply_env(&cfg);
	if (apply_options(&o, &cfg, err, sizeof(err)) < 0 ||
	    setup_exports(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "mcfs-gateway: %s\n", err);
		return 2;
	}
	enum log_level lvl = LOG_LVL_INFO;
	if (log_level_parse(cfg.log_level, &lvl) < 0) {
		fprintf(stderr, "mcfs-gateway: bad log level '%s'\n", cfg.log_level);
		return 2;
	}
	if (!o.foreground && daemon_detach() < 0) {
		fprintf(stderr, "mcfs-gateway: cannot detach: %s\n", strerror(errno));
		return 1;
	}
	log_init("mcfs-gateway", lvl, cfg.log_syslog || !o.foreground);
	if (cfg.pid_file[0] && (r = pidfile_create(cfg.pid_file)) < 0) {
		snprintf(err, sizeof(err), "pid file %.300s: %s", cfg.pid_file,
			 r == -EEXIST ? "another gateway is running" : strerror(-r));
		daemon_ready(false, err);
		log_error("%s", err);
		return 1;
	}
	/* Signals go to the main thread only, which waits for them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	bool use_rpcbind = !o.no_rpcbind && rpcbind_present();
	r = serve(&cfg, use_rpcbind);
	if (r == 0) {
		int sig = wait_for_signal(&set);
		log_info("signal %d: flushing and stopping", sig);
		r = shutdown_gateway(use_rpcbind);
	}
	pidfile_remove(cfg.pid_file);
	return r;
}
