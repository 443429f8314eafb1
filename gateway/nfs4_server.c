/* The NFSv4 server of a gateway: the state manager with its client records
 * kept in the volume's metadata (so a restarted gateway, or the HA peer
 * that takes over its address, lets those clients reclaim during grace),
 * the pseudo file system, id mapping, and the lease reaper. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "nfs4_proc.h"
#include "thread_name.h"

/* Client records live in "{VOL}:rec:nfs4-clients:<recovery id>". */
#define RECORD_NS_PREFIX "nfs4-clients:"
#define RECORD_VERSION	 1
#define REAP_INTERVAL_S	 2

/* Key: minor version byte then the client owner; value: version byte then
 * the principal. */
static size_t record_key(const struct ns4_client_rec *rec, uint8_t *key)
{
	key[0] = (uint8_t)rec->minorversion;
	memcpy(key + 1, rec->owner, rec->owner_len);
	return 1 + rec->owner_len;
}

static int save_client(void *arg, const struct ns4_client_rec *rec)
{
	struct nfs4_server *srv = arg;
	uint8_t key[1 + NS4_OWNER_MAX];
	uint8_t val[1 + NS4_PRINCIPAL_MAX];
	size_t plen = strnlen(rec->principal, NS4_PRINCIPAL_MAX);
	val[0] = RECORD_VERSION;
	memcpy(val + 1, rec->principal, plen);
	int rc =
	    vfs_record_put(srv->gw->vfs, srv->record_ns, key, record_key(rec, key), val, 1 + plen);
	if (rc < 0)
		log_warn("nfs4: cannot save a client record: %s", strerror(-rc));
	return rc;
}

static int remove_client(void *arg, const struct ns4_client_rec *rec)
{
	struct nfs4_server *srv = arg;
	uint8_t key[1 + NS4_OWNER_MAX];
	int rc = vfs_record_del(srv->gw->vfs, srv->record_ns, key, record_key(rec, key));
	if (rc < 0)
		log_warn("nfs4: cannot remove a client record: %s", strerror(-rc));
	return rc;
}

struct load_ctx {
	void (*add)(void *ctx, const struct ns4_client_rec *rec);
	void *ctx;
	unsigned n;
};

static int load_one(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct load_ctx *l = arg;
	const uint8_t *k = key, *v = val;
	if (klen < 2 || klen > 1 + NS4_OWNER_MAX || vlen < 1 || vlen > NS4_PRINCIPAL_MAX ||
	    v[0] != RECORD_VERSION)
		return 0; /* not ours to understand: skip, never fail the start */
	struct ns4_client_rec *rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	rec->minorversion = k[0];
	rec->owner_len = (uint32_t)(klen - 1);
	memcpy(rec->owner, k + 1, rec->owner_len);
	memcpy(rec->principal, v + 1, vlen - 1);
	l->add(l->ctx, rec);
	l->n++;
	free(rec);
	return 0;
}

static int load_clients(void *arg, void (*add)(void *ctx, const struct ns4_client_rec *rec),
			void *ctx)
{
	struct nfs4_server *srv = arg;
	struct load_ctx l = {.add = add, .ctx = ctx};
	int rc = vfs_record_list(srv->gw->vfs, srv->record_ns, load_one, &l);
	if (rc < 0)
		log_warn("nfs4: cannot load client records: %s", strerror(-rc));
	else if (l.n)
		log_info("nfs4: %u clients of an earlier run may reclaim their state", l.n);
	return rc;
}

/* ---- boot epoch: in every stateid and client id, so that those of an
 * earlier run are recognised as stale. Seconds since the epoch, but always
 * above the last run's, which is kept with the client records: a restart
 * within the same second must not revive old stateids. */

#define EPOCH_NS "nfs4-epoch"

struct epoch_find {
	const char *rid;
	uint32_t last;
};

static int epoch_one(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct epoch_find *f = arg;
	char buf[16];
	if (klen == strlen(f->rid) && memcmp(key, f->rid, klen) == 0 && vlen < sizeof(buf)) {
		memcpy(buf, val, vlen);
		buf[vlen] = '\0';
		f->last = (uint32_t)strtoul(buf, NULL, 10);
	}
	return 0;
}

static int next_epoch(struct nfs4_server *srv, const char *rid, uint32_t *out)
{
	struct epoch_find f = {.rid = rid};
	int r = vfs_record_list(srv->gw->vfs, EPOCH_NS, epoch_one, &f);
	if (r < 0)
		return r;
	uint32_t now = (uint32_t)time(NULL);
	*out = now > f.last ? now : f.last + 1;
	char val[16];
	int n = snprintf(val, sizeof(val), "%u", *out);
	return vfs_record_put(srv->gw->vfs, EPOCH_NS, rid, strlen(rid), val, (size_t)n);
}

/* ---- id mapping: "name@domain" both ways, numbers when there is no name */

static const char *strip_domain(const struct nfs4_server *srv, const char *name, char *buf,
				size_t len)
{
	const char *at = strchr(name, '@');
	if (!at)
		return name;
	if (strcasecmp(at + 1, srv->domain) != 0 || (size_t)(at - name) >= len)
		return NULL;
	memcpy(buf, name, (size_t)(at - name));
	buf[at - name] = '\0';
	return buf;
}

static int uid_to_name(void *arg, uint32_t uid, char *buf, size_t len)
{
	struct nfs4_server *srv = arg;
	struct passwd pw, *res = NULL;
	char tmp[1024];
	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) != 0 || !res)
		return -1;
	int n = snprintf(buf, len, "%s@%s", pw.pw_name, srv->domain);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

static int gid_to_name(void *arg, uint32_t gid, char *buf, size_t len)
{
	struct nfs4_server *srv = arg;
	struct group gr, *res = NULL;
	char tmp[4096];
	if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &res) != 0 || !res)
		return -1;
	int n = snprintf(buf, len, "%s@%s", gr.gr_name, srv->domain);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

static int name_to_uid(void *arg, const char *name, uint32_t *uid)
{
	struct nfs4_server *srv = arg;
	char user[256], tmp[1024];
	struct passwd pw, *res = NULL;
	const char *u = strip_domain(srv, name, user, sizeof(user));
	if (!u || getpwnam_r(u, &pw, tmp, sizeof(tmp), &res) != 0 || !res)
		return -1;
	*uid = pw.pw_uid;
	return 0;
}

static int name_to_gid(void *arg, const char *name, uint32_t *gid)
{
	struct nfs4_server *srv = arg;
	char group[256], tmp[4096];
	struct group gr, *res = NULL;
	const char *g = strip_domain(srv, name, group, sizeof(group));
	if (!g || getgrnam_r(g, &gr, tmp, sizeof(tmp), &res) != 0 || !res)
		return -1;
	*gid = gr.gr_gid;
	return 0;
}

/* ---- the lease reaper */

static void release_files(struct nfs4_server *srv)
{
	uint64_t *ids = NULL;
	size_t n = ns4_take_released(srv->state, &ids);
	for (size_t i = 0; i < n; i++)
		nfs4_file_closed(srv, ids[i]);
	free(ids);
}

static void *reaper_main(void *arg)
{
	thread_name("mcfs-nfs4-reap");
	struct nfs4_server *srv = arg;
	pthread_mutex_lock(&srv->reaper_lock);
	while (!srv->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += REAP_INTERVAL_S;
		pthread_cond_timedwait(&srv->reaper_cond, &srv->reaper_lock, &until);
		if (srv->stopping)
			break;
		pthread_mutex_unlock(&srv->reaper_lock);
		unsigned n = ns4_expire(srv->state);
		if (n)
			log_info("nfs4: %u clients' leases expired; their state is released", n);
		release_files(srv);
		pthread_mutex_lock(&srv->reaper_lock);
	}
	pthread_mutex_unlock(&srv->reaper_lock);
	return NULL;
}

static int start_reaper(struct nfs4_server *srv)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->reaper_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&srv->reaper_lock, NULL);
	int r = pthread_create(&srv->reaper, NULL, reaper_main, srv);
	if (r != 0)
		return -r;
	srv->reaper_running = true;
	return 0;
}

/* ---- start and stop */

static uint64_t fnv64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

static void init_identity(struct nfs4_server *srv, const struct nfs4_server_options *opt)
{
	const uint8_t *u = srv->gw->volume_uuid;
	for (int i = 0; i < 16; i++)
		snprintf(srv->server_owner + 2 * i, 3, "%02x", u[i]);
	/* Gateways serving one address (an HA pair) share the recovery id,
	 * so clients see one server that restarted, and reclaim. */
	const char *rid = opt->recovery_id && opt->recovery_id[0] ? opt->recovery_id : "default";
	snprintf(srv->record_ns, sizeof(srv->record_ns), RECORD_NS_PREFIX "%s", rid);
	srv->hooks = (struct ns4_hooks){.arg = srv,
					.save_client = save_client,
					.remove_client = remove_client,
					.load_clients = load_clients};
	srv->server_minor_id = fnv64(rid);
	snprintf(srv->domain, sizeof(srv->domain), "%s",
		 opt->domain && opt->domain[0] ? opt->domain : "localdomain");
	srv->idmap = (struct nfs4_idmap){.uid_to_name = opt->idmap_names ? uid_to_name : NULL,
					 .gid_to_name = opt->idmap_names ? gid_to_name : NULL,
					 .name_to_uid = name_to_uid,
					 .name_to_gid = name_to_gid,
					 .arg = srv};
}

int nfs4_server_start(struct gateway *gw, const struct nfs4_server_options *opt)
{
	struct nfs4_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->gw = gw;
	srv->lease_secs = opt->lease_secs ? opt->lease_secs : 90;
	init_identity(srv, opt);
	uint32_t epoch = 0;
	int r = next_epoch(
	    srv, opt->recovery_id && opt->recovery_id[0] ? opt->recovery_id : "default", &epoch);
	if (r == 0)
		r = np4_build(gw->exports, gw->nexports, gw->volume_uuid, &srv->pseudo);
	struct ns4_config cfg = {.boot_epoch = epoch,
				 .lease_secs = srv->lease_secs,
				 .grace_secs = opt->grace_secs ? opt->grace_secs : srv->lease_secs,
				 .max_ops = NFS4_MAX_OPS,
				 .max_req_size = NFS4_MAX_IO + 64 * 1024,
				 .max_resp_size = NFS4_MAX_IO + 64 * 1024,
				 .hooks = &srv->hooks};
	if (r == 0)
		r = ns4_create(&cfg, &srv->state);
	if (r == 0)
		r = start_reaper(srv);
	if (r < 0) {
		if (srv->state)
			ns4_destroy(srv->state);
		np4_free(srv->pseudo);
		free(srv);
		return r;
	}
	gw->nfs4 = srv;
	log_info("nfs4: lease %u s, %s", srv->lease_secs,
		 ns4_in_grace(srv->state) ? "in grace for reclaims" : "no grace needed");
	return 0;
}

void nfs4_server_stop(struct gateway *gw)
{
	struct nfs4_server *srv = gw->nfs4;
	if (!srv)
		return;
	if (srv->reaper_running) {
		pthread_mutex_lock(&srv->reaper_lock);
		srv->stopping = true;
		pthread_cond_signal(&srv->reaper_cond);
		pthread_mutex_unlock(&srv->reaper_lock);
		pthread_join(srv->reaper, NULL);
	}
	gw->nfs4 = NULL;
	ns4_destroy(srv->state);
	np4_free(srv->pseudo);
	free(srv);
}

void nfs4_conn_closed(uint64_t conn_id, void *arg)
{
	struct gateway *gw = arg;
	if (gw->nfs4)
		ns4_conn_closed(gw->nfs4->state, conn_id);
}
