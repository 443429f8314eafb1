#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "meta.h"
#include "meta_ops.h"
#include "objstore.h"
#include "region.h"
#include "units.h"
#include "volume.h"

/* Replicators publish every few seconds; older progress means none runs. */
#define REPL_STALE_MS 30000
/* A replica that does not answer in this long is shown as unreachable. */
#define REPLICA_TIMEOUT_MS 1500
#define MAX_WORKERS	   64
#define MAX_LINKS	   16

/* A region's entry of "{VOL}:replication", published by mcfs-replicator. */
struct repl_progress {
	bool wanted;	/* the region has a bucket that others' blocks must reach */
	bool published; /* an entry exists */
	long long lag_objects, lag_bytes, oldest_ms, low_watermark, updated_ms;
	long long copied_objects, copied_bytes, missing, workers;
};

/* A worker's heartbeat in "{VOL}:replicators". */
struct repl_worker {
	char region[64];
	char consumer[128];
	long long updated_ms, copied_objects, copied_bytes;
};

/* What the metadata server status talks to says of its replication. */
struct primary_view {
	bool known;
	bool replica; /* --meta named a replica, not the primary */
	long long offset;
	char replid[48];
	size_t nlinks;
	struct {
		char addr[80], state[32];
		long long offset, lag_s;
	} links[MAX_LINKS];
};

/* A region's metadata replica, asked directly. */
struct replica_view {
	bool asked;
	int error;     /* 0, or why it could not be asked */
	char why[256]; /* the connection error, when error */
	char url[160]; /* without password */
	struct region_role role;
	long long last_io_s; /* since the last byte from its primary; -1 unknown */
	char replid[48];
	long long behind; /* bytes behind the primary; -1 unknown (other stream, down) */
};

struct status {
	struct volume_settings vol;
	struct region_info regions[MCFS_MAX_REGIONS];
	size_t nregions;
	int bucket_state[MCFS_MAX_REGIONS]; /* 0 ok, else -errno from a check */
	uint64_t space, inodes;
	long long deletions, changes;
	struct {
		char id[40];
		long long age;
	} sessions[64];
	size_t nsessions;
	long long now_ms;
	struct repl_progress repl[MCFS_MAX_REGIONS];
	struct repl_worker workers[MAX_WORKERS];
	size_t nworkers;
	struct primary_view primary;
	struct replica_view replicas[MCFS_MAX_REGIONS];
};

static long long int_reply(struct meta *m, const char *fmt, const char *key)
{
	redisReply *r = NULL;
	if (meta_cmdf(m, &r, fmt, key) < 0)
		return -1;
	long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
		      : r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10)
						      : 0;
	meta_reply_free(r);
	return v;
}

static int gather(struct meta *m, struct cli_common *c, struct status *st, bool check_buckets)
{
	char name[64], key[128];
	int r = volume_find(m, name, sizeof(name));
	if (r == 0)
		r = volume_load(m, name, &st->vol);
	if (r == 0)
		r = volume_regions(m, name, st->regions, MCFS_MAX_REGIONS, &st->nregions);
	if (r < 0)
		return r;
	redisReply *u = NULL;
	if (meta_cmdf(m, &u, "HMGET %s space inodes",
		      volume_key(key, sizeof(key), name, "usage")) == 0) {
		if (u->elements == 2 && u->element[0]->type == REDIS_REPLY_STRING)
			st->space = strtoull(u->element[0]->str, NULL, 10);
		if (u->elements == 2 && u->element[1]->type == REDIS_REPLY_STRING)
			st->inodes = strtoull(u->element[1]->str, NULL, 10);
		meta_reply_free(u);
	}
	st->deletions = int_reply(m, "XLEN %s", volume_key(key, sizeof(key), name, "deletions"));
	st->changes = int_reply(m, "XLEN %s", volume_key(key, sizeof(key), name, "changes"));
	redisReply *s = NULL;
	if (meta_cmdf(m, &s, "HGETALL %s", volume_key(key, sizeof(key), name, "sessions")) == 0) {
		long long now = time(NULL);
		for (size_t i = 0; i + 1 < s->elements && st->nsessions < 64; i += 2) {
			snprintf(st->sessions[st->nsessions].id, sizeof(st->sessions[0].id), "%s",
				 s->element[i]->str);
			st->sessions[st->nsessions].age =
			    now - strtoll(s->element[i + 1]->str, NULL, 10);
			st->nsessions++;
		}
		meta_reply_free(s);
	}
	for (size_t i = 0; check_buckets && i < st->nregions; i++) {
		/* A meta-only region has no bucket of its own: nothing to check. */
		if (!st->regions[i].bucket[0]) {
			st->bucket_state[i] = 1;
			continue;
		}
		struct objstore_credentials cred = config_s3_credentials(&c->cfg);
		struct objstore *os = NULL;
		st->bucket_state[i] = objstore_open(st->regions[i].bucket, &cred, &os);
		if (st->bucket_state[i] == 0)
			st->bucket_state[i] = objstore_check(os);
		objstore_close(os);
	}
	return 0;
}

/* Now, by the metadata server's clock: replicators stamp their progress
 * with it (TIME), and change-log ids carry it, so ages need no synchronised
 * clocks. The local clock only if the server does not say. */
static long long server_ms(struct meta *m)
{
	redisReply *r = NULL;
	long long ms = -1;
	if (meta_cmdf(m, &r, "TIME") == 0) {
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING)
			ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
			     strtoll(r->element[1]->str, NULL, 10) / 1000;
		meta_reply_free(r);
	}
	if (ms < 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	return ms;
}

/* The text after "name" + eq in a list of "name<eq>value" items separated by
 * sep (INFO lines, "k=v;k=v" records); NULL if absent. */
static const char *item(const char *s, char sep, char eq, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = s; p && *p; p = strchr(p, sep), p = p ? p + 1 : NULL) {
		while (*p == '\n' || *p == '\r')
			p++;
		if (strncmp(p, name, nl) == 0 && p[nl] == eq)
			return p + nl + 1;
	}
	return NULL;
}

static long long item_num(const char *s, char sep, char eq, const char *name)
{
	const char *v = item(s, sep, eq, name);
	return v ? strtoll(v, NULL, 10) : -1;
}

static void item_str(const char *s, char sep, char eq, const char *name, char *out, size_t len)
{
	const char *v = item(s, sep, eq, name);
	size_t n = v ? strcspn(v, ",;\r\n") : 0;
	snprintf(out, len, "%.*s", (int)n, v ? v : "");
}

static void parse_progress(const char *v, struct repl_progress *p)
{
	p->published = true;
	p->lag_objects = item_num(v, ';', '=', "lag_objects");
	p->lag_bytes = item_num(v, ';', '=', "lag_bytes");
	p->oldest_ms = item_num(v, ';', '=', "oldest_ms");
	p->low_watermark = item_num(v, ';', '=', "low_watermark");
	p->updated_ms = item_num(v, ';', '=', "updated_ms");
	p->copied_objects = item_num(v, ';', '=', "copied_objects");
	p->copied_bytes = item_num(v, ';', '=', "copied_bytes");
	p->missing = item_num(v, ';', '=', "missing");
	p->workers = item_num(v, ';', '=', "workers");
}

static int region_slot(const struct status *st, const char *name, size_t len)
{
	for (size_t i = 0; i < st->nregions; i++)
		if (strlen(st->regions[i].name) == len &&
		    strncmp(st->regions[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

/* Replication concerns a region whose bucket differs from some other
 * region's: blocks written there must reach it (a meta-only region writes
 * into the source's bucket). */
static void mark_wanted(struct status *st)
{
	const char *source_bucket = "";
	for (size_t i = 0; i < st->nregions; i++)
		if (strcmp(st->regions[i].name, st->vol.source_region) == 0)
			source_bucket = st->regions[i].bucket;
	for (size_t i = 0; i < st->nregions; i++)
		for (size_t j = 0; j < st->nregions && st->regions[i].bucket[0]; j++) {
			const char *other =
			    st->regions[j].bucket[0] ? st->regions[j].bucket : source_bucket;
			if (strcmp(other, st->regions[i].bucket) != 0)
				st->repl[i].wanted = true;
		}
}

static void gather_progress(struct meta *m, struct status *st)
{
	char key[128];
	redisReply *r = NULL;
	mark_wanted(st);
	volume_key(key, sizeof(key), st->vol.name, "replication");
	if (meta_cmdf(m, &r, "HGETALL %s", key) == 0) {
		for (size_t i = 0; i + 1 < r->elements; i += 2) {
			int k = region_slot(st, r->element[i]->str, r->element[i]->len);
			if (k >= 0)
				parse_progress(r->element[i + 1]->str, &st->repl[k]);
		}
		meta_reply_free(r);
	}
	volume_key(key, sizeof(key), st->vol.name, "replicators");
	if (meta_cmdf(m, &r, "HGETALL %s", key) < 0)
		return;
	for (size_t i = 0; i + 1 < r->elements && st->nworkers < MAX_WORKERS; i += 2) {
		const char *f = r->element[i]->str, *v = r->element[i + 1]->str;
		size_t rl = strcspn(f, "/");
		struct repl_worker *w = &st->workers[st->nworkers++];
		snprintf(w->region, sizeof(w->region), "%.*s", (int)rl, f);
		snprintf(w->consumer, sizeof(w->consumer), "%s", f[rl] ? f + rl + 1 : "");
		w->updated_ms = item_num(v, ';', '=', "updated_ms");
		w->copied_objects = item_num(v, ';', '=', "copied_objects");
		w->copied_bytes = item_num(v, ';', '=', "copied_bytes");
	}
	meta_reply_free(r);
}

/* "slaveN:ip=...,port=...,state=...,offset=...,lag=..." lines of INFO. */
static void parse_links(const char *info, struct primary_view *pv)
{
	for (int i = 0; i < MAX_LINKS; i++) {
		char name[16], ip[64], line[256];
		snprintf(name, sizeof(name), "slave%d", i);
		const char *v = item(info, '\n', ':', name);
		if (!v)
			break;
		/* One line only: a field missing from it must not match the next. */
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(v, "\r\n"), v);
		item_str(line, ',', '=', "ip", ip, sizeof(ip));
		snprintf(pv->links[i].addr, sizeof(pv->links[i].addr), "%s:%lld", ip,
			 item_num(line, ',', '=', "port"));
		item_str(line, ',', '=', "state", pv->links[i].state, sizeof(pv->links[i].state));
		pv->links[i].offset = item_num(line, ',', '=', "offset");
		pv->links[i].lag_s = item_num(line, ',', '=', "lag");
		pv->nlinks++;
	}
}

static void gather_primary(struct meta *m, struct primary_view *pv)
{
	redisReply *r = NULL;
	if (meta_cmdf(m, &r, "INFO replication") < 0)
		return;
	if (r->type == REDIS_REPLY_STRING) {
		char role[16];
		item_str(r->str, '\n', ':', "role", role, sizeof(role));
		pv->known = true;
		pv->replica = strcmp(role, "slave") == 0;
		pv->offset = item_num(r->str, '\n', ':', "master_repl_offset");
		item_str(r->str, '\n', ':', "master_replid", pv->replid, sizeof(pv->replid));
		parse_links(r->str, pv);
	}
	meta_reply_free(r);
}

/* Asks one region's replica; an unreachable one is a finding, not an error. */
static void ask_replica(const char *url, const struct cli_common *c, const struct primary_view *pv,
			struct replica_view *rv)
{
	struct meta *m = NULL;
	struct meta_options mo = {.url = url,
				  .password = c->cfg.meta_password[0] ? c->cfg.meta_password : NULL,
				  .pool_size = 1,
				  .timeout_ms = REPLICA_TIMEOUT_MS,
				  .retry = {.max_attempts = 1, .base_ms = 10, .max_ms = 10}};
	rv->asked = true;
	rv->last_io_s = rv->behind = -1;
	rv->error = meta_connect(&mo, &m, rv->why, sizeof(rv->why));
	if (rv->error < 0)
		return;
	snprintf(rv->url, sizeof(rv->url), "%s", meta_describe(m));
	rv->error = region_server_role(m, &rv->role);
	if (rv->error < 0)
		snprintf(rv->why, sizeof(rv->why), "%s", strerror(-rv->error));
	redisReply *r = NULL;
	if (rv->error == 0 && meta_cmdf(m, &r, "INFO replication") == 0) {
		if (r->type == REDIS_REPLY_STRING) {
			rv->last_io_s = item_num(r->str, '\n', ':', "master_last_io_seconds_ago");
			item_str(r->str, '\n', ':', "master_replid", rv->replid,
				 sizeof(rv->replid));
		}
		meta_reply_free(r);
	}
	meta_close(m);
	/* Offsets compare only within one replication stream: the same replid. */
	if (rv->role.replica && pv->known && !pv->replica && rv->replid[0] &&
	    strcmp(rv->replid, pv->replid) == 0)
		rv->behind = pv->offset > rv->role.offset ? pv->offset - rv->role.offset : 0;
}

static void gather_replication(struct meta *m, const struct cli_common *c, struct status *st)
{
	st->now_ms = server_ms(m);
	gather_progress(m, st);
	gather_primary(m, &st->primary);
	for (size_t i = 0; i < st->nregions; i++)
		if (st->regions[i].replica[0])
			ask_replica(st->regions[i].replica, c, &st->primary, &st->replicas[i]);
}

static const char *bucket_word(int state)
{
	return state == 0	  ? "ok"
	       : state == 1	  ? "none (uses the source's)"
	       : state == -EACCES ? "access denied"
				  : strerror(-state);
}

/* Milliseconds from `then` (unix ms) to now; -1 when then is unknown. A
 * publisher's clock ahead of ours gives 0, not a negative age. */
static long long age_ms(const struct status *st, long long then)
{
	if (then <= 0)
		return -1;
	return st->now_ms > then ? st->now_ms - then : 0;
}

static const char *progress_state(const struct status *st, const struct repl_progress *p)
{
	if (!p->published)
		return "no replicator";
	long long age = age_ms(st, p->updated_ms);
	return age < 0 || age > REPL_STALE_MS ? "stale" : "ok";
}

static bool worker_live(const struct status *st, const struct repl_worker *w)
{
	long long age = age_ms(st, w->updated_ms);
	return age >= 0 && age <= REPL_STALE_MS;
}

static size_t live_workers(const struct status *st, const char *region, size_t *all)
{
	size_t live = 0;
	*all = 0;
	for (size_t i = 0; i < st->nworkers; i++) {
		if (strcmp(st->workers[i].region, region) != 0)
			continue;
		(*all)++;
		live += worker_live(st, &st->workers[i]);
	}
	return live;
}

/* ,"key":N or ,"key":null for an unknown (negative) value. */
static void json_num(const char *key, long long v)
{
	if (v < 0)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%lld", key, v);
}

static void json_workers(const struct status *st, const char *region)
{
	printf(",\"workers\":[");
	bool first = true;
	for (size_t i = 0; i < st->nworkers; i++) {
		const struct repl_worker *w = &st->workers[i];
		if (strcmp(w->region, region) != 0)
			continue;
		printf("%s{\"consumer\":", first ? "" : ",");
		cli_json_str(w->consumer);
		json_num("updated_ms", w->updated_ms);
		json_num("age_ms", age_ms(st, w->updated_ms));
		json_num("copied_objects", w->copied_objects);
		json_num("copied_bytes", w->copied_bytes);
		printf(",\"live\":%s}", worker_live(st, w) ? "true" : "false");
		first = false;
	}
	printf("]");
}

static void json_progress(const struct status *st, size_t i)
{
	const struct repl_progress *p = &st->repl[i];
	size_t all, live = live_workers(st, st->regions[i].name, &all);
	printf(",\"replication\":");
	if (!p->wanted && !p->published && !all) {
		printf("null");
		return;
	}
#define PUB(x) (p->published ? p->x : -1)
	printf("{\"state\":");
	cli_json_str(progress_state(st, p));
	printf(",\"stale\":%s", strcmp(progress_state(st, p), "ok") ? "true" : "false");
	json_num("lag_objects", PUB(lag_objects));
	json_num("lag_bytes", PUB(lag_bytes));
	json_num("oldest_ms", PUB(oldest_ms));
	json_num("oldest_age_ms", !p->published	      ? -1
				  : p->oldest_ms == 0 ? 0
						      : age_ms(st, PUB(oldest_ms)));
	json_num("low_watermark", PUB(low_watermark));
	json_num("updated_ms", PUB(updated_ms));
	json_num("update_age_ms", age_ms(st, PUB(updated_ms)));
	json_num("copied_objects", PUB(copied_objects));
	json_num("copied_bytes", PUB(copied_bytes));
	json_num("missing", PUB(missing));
	json_num("workers_reported", PUB(workers));
#undef PUB
	json_num("live_workers", (long long)live);
	json_workers(st, st->regions[i].name);
	printf("}");
}

static void json_replica(const struct replica_view *rv, const char *url)
{
	printf(",\"metadata_replica\":");
	if (!rv->asked) {
		printf("null");
		return;
	}
	printf("{\"url\":");
	cli_json_str(rv->url[0] ? rv->url : url);
	printf(",\"reachable\":%s,\"error\":", rv->error ? "false" : "true");
	if (rv->error) {
		cli_json_str(rv->why);
		printf("}");
		return;
	}
	printf("null,\"role\":\"%s\"", rv->role.replica ? "replica" : "primary");
	if (rv->role.replica) {
		char primary[300];
		snprintf(primary, sizeof(primary), "%s:%d", rv->role.primary_host,
			 rv->role.primary_port);
		printf(",\"link\":\"%s\",\"primary\":", rv->role.link_up ? "up" : "down");
		cli_json_str(primary);
	}
	json_num("offset", rv->role.offset);
	json_num("bytes_behind", rv->behind);
	json_num("last_io_s", rv->role.replica ? rv->last_io_s : -1);
	json_num("link_down_s", rv->role.replica && !rv->role.link_up ? rv->role.link_down_s : -1);
	printf("}");
}

static void json_primary(const struct primary_view *pv)
{
	printf(",\"metadata_replication\":");
	if (!pv->known) {
		printf("null");
		return;
	}
	printf("{\"role\":\"%s\"", pv->replica ? "replica" : "primary");
	json_num("offset", pv->offset);
	printf(",\"replicas\":[");
	for (size_t i = 0; i < pv->nlinks; i++) {
		printf("%s{\"addr\":", i ? "," : "");
		cli_json_str(pv->links[i].addr);
		printf(",\"state\":");
		cli_json_str(pv->links[i].state);
		json_num("offset", pv->links[i].offset);
		json_num("lag_s", pv->links[i].lag_s);
		json_num("bytes_behind", pv->links[i].offset < 0 || pv->offset < 0 ? -1
					 : pv->offset > pv->links[i].offset
					     ? pv->offset - pv->links[i].offset
					     : 0);
		printf("}");
	}
	printf("]}");
}

/* "850ms", "12s", "3m12s", "2h05m", "3d04h". */
static const char *fmt_age(long long ms, char *buf, size_t len)
{
	long long s = ms / 1000;
	if (ms < 0)
		snprintf(buf, len, "?");
	else if (ms < 1000)
		snprintf(buf, len, "%lldms", ms);
	else if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
	return buf;
}

static void human_progress(const struct status *st, size_t i)
{
	const struct repl_progress *p = &st->repl[i];
	size_t all, live = live_workers(st, st->regions[i].name, &all);
	char a[32], b[32], c[32];
	printf("  %-12s ", st->regions[i].name);
	if (!p->published) {
		printf("no replicator (no progress published); %zu live worker%s\n", live,
		       live == 1 ? "" : "s");
		return;
	}
	size_format(p->lag_bytes > 0 ? (uint64_t)p->lag_bytes : 0, a, sizeof(a));
	printf("%lld objects (%s) behind", p->lag_objects, a);
	if (p->oldest_ms > 0)
		printf(", oldest unreplicated %s old",
		       fmt_age(age_ms(st, p->oldest_ms), b, sizeof(b)));
	printf("; low watermark %lld\n", p->low_watermark);
	size_format(p->copied_bytes > 0 ? (uint64_t)p->copied_bytes : 0, a, sizeof(a));
	printf("  %-12s copied %lld objects (%s), missing everywhere %lld; updated %s ago%s; "
	       "%zu of %zu workers live\n",
	       "", p->copied_objects, a, p->missing,
	       fmt_age(age_ms(st, p->updated_ms), c, sizeof(c)),
	       strcmp(progress_state(st, p), "ok") ? " (STALE: is a replicator running?)" : "",
	       live, all);
}

static void human_replica(const struct status *st, size_t i)
{
	const struct replica_view *rv = &st->replicas[i];
	printf("  %-12s %s: ", st->regions[i].name, rv->url[0] ? rv->url : st->regions[i].replica);
	if (rv->error) {
		printf("UNREACHABLE (%s)\n", rv->why);
		return;
	}
	if (!rv->role.replica) {
		printf("a primary, not a replica (offset %lld)\n", rv->role.offset);
		return;
	}
	printf("link %s, offset %lld", rv->role.link_up ? "up" : "DOWN", rv->role.offset);
	if (rv->behind >= 0)
		printf(" (%lld bytes behind)", rv->behind);
	else
		printf(" (follows %s:%d, not this primary's stream)", rv->role.primary_host,
		       rv->role.primary_port);
	if (!rv->role.link_up && rv->role.link_down_s >= 0)
		printf(", down for %llds", rv->role.link_down_s);
	else if (rv->last_io_s >= 0)
		printf(", last I/O %llds ago", rv->last_io_s);
	printf("\n");
}

static void human_replication(const struct status *st, const char *meta)
{
	bool any = false;
	for (size_t i = 0; i < st->nregions; i++)
		any |= st->repl[i].wanted || st->repl[i].published;
	if (any)
		printf("replication: (blocks reaching each region's bucket)\n");
	for (size_t i = 0; i < st->nregions; i++)
		if (st->repl[i].wanted || st->repl[i].published)
			human_progress(st, i);
	const struct primary_view *pv = &st->primary;
	if (pv->known)
		printf("metadata replication: %s is a %s at offset %lld, %zu replica%s connected\n",
		       meta, pv->replica ? "replica" : "primary", pv->offset, pv->nlinks,
		       pv->nlinks == 1 ? "" : "s");
	for (size_t i = 0; i < pv->nlinks; i++)
		printf("  %-21s %s, offset %lld, last ack %llds ago\n", pv->links[i].addr,
		       pv->links[i].state, pv->links[i].offset, pv->links[i].lag_s);
	any = false;
	for (size_t i = 0; i < st->nregions; i++)
		any |= st->replicas[i].asked;
	if (any)
		printf("metadata replicas:\n");
	for (size_t i = 0; i < st->nregions; i++)
		if (st->replicas[i].asked)
			human_replica(st, i);
}

static void print_json(const struct status *st, const char *meta)
{
	printf("{\"volume\":{\"name\":");
	cli_json_str(st->vol.name);
	printf(",\"uuid\":\"%s\",\"format_version\":%d,\"block_size\":%u,\"chunk_size\":%u,"
	       "\"created\":%lld,\"source_region\":",
	       st->vol.uuid, st->vol.format_version, st->vol.block_size, st->vol.chunk_size,
	       (long long)st->vol.created);
	cli_json_str(st->vol.source_region);
	printf(",\"meta\":");
	cli_json_str(meta);
	printf("},\"usage\":{\"bytes\":%" PRIu64 ",\"inodes\":%" PRIu64 "},", st->space,
	       st->inodes);
	printf("\"logs\":{\"deletions_pending\":%lld,\"changes\":%lld},", st->deletions,
	       st->changes);
	printf("\"regions\":[");
	for (size_t i = 0; i < st->nregions; i++) {
		printf("%s{\"name\":", i ? "," : "");
		cli_json_str(st->regions[i].name);
		printf(",\"index\":%u,\"mode\":", st->regions[i].index);
		cli_json_str(st->regions[i].mode);
		printf(",\"bucket\":");
		cli_json_str(st->regions[i].bucket);
		printf(",\"bucket_status\":");
		cli_json_str(bucket_word(st->bucket_state[i]));
		printf(",\"replica\":");
		cli_json_str(st->regions[i].replica);
		json_progress(st, i);
		json_replica(&st->replicas[i], st->regions[i].replica);
		printf("}");
	}
	printf("],\"gateways\":[");
	for (size_t i = 0; i < st->nsessions; i++)
		printf("%s{\"session\":\"%.8s\",\"heartbeat_age_s\":%lld}", i ? "," : "",
		       st->sessions[i].id, st->sessions[i].age);
	printf("]");
	json_primary(&st->primary);
	printf("}\n");
}

static void print_human(const struct status *st, const char *meta)
{
	char used[32];
	size_format(st->space, used, sizeof(used));
	printf("volume:      %s\n", st->vol.name);
	printf("uuid:        %s\n", st->vol.uuid);
	printf("metadata:    %s\n", meta);
	printf("block size:  %u bytes (chunks of %u)\n", st->vol.block_size, st->vol.chunk_size);
	printf("usage:       %s in %" PRIu64 " inodes\n", used, st->inodes);
	printf("deletions:   %lld freed slices waiting for their delay\n", st->deletions);
	printf("regions:\n");
	for (size_t i = 0; i < st->nregions; i++)
		printf("  %-12s %-9s %s (bucket %s)%s%s\n", st->regions[i].name,
		       st->regions[i].mode, st->regions[i].bucket[0] ? st->regions[i].bucket : "-",
		       bucket_word(st->bucket_state[i]),
		       st->regions[i].replica[0] ? ", replica " : "", st->regions[i].replica);
	printf("gateways:    %zu\n", st->nsessions);
	for (size_t i = 0; i < st->nsessions; i++)
		printf("  session %.8s  last heartbeat %llds ago\n", st->sessions[i].id,
		       st->sessions[i].age);
	human_replication(st, meta);
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"meta", required_argument, 0, 'm'},   {"json", no_argument, 0, 'j'},
	    {"config", required_argument, 0, 'c'}, {"no-bucket-check", no_argument, 0, 'n'},
	    {"help", no_argument, 0, 'h'},	   {0, 0, 0, 0}};
	struct cli_common c = {0};
	bool json = false, check = true;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "m:jc:nh", opts, NULL)) != -1) {
		switch (o) {
		case 'm':
			c.meta_url = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			c.config_path = optarg;
			break;
		case 'n':
			check = false;
			break;
		case 'h':
			printf(
			    "usage: mcfs status --meta URL [--json] [--no-bucket-check] [--config "
			    "FILE]\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mcfs status: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	int r = cli_load_config(&c);
	if (r)
		return r;
	char err[512];
	struct meta *m = NULL;
	struct meta_options mo = {.url = c.meta_url,
				  .password = c.cfg.meta_password[0] ? c.cfg.meta_password : NULL,
				  .retry = {.max_attempts = 3, .base_ms = 100, .max_ms = 1000}};
	r = meta_connect(&mo, &m, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "mcfs status: %s\n", err);
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	struct status *st = calloc(1, sizeof(*st));
	r = st ? gather(m, &c, st, check) : -ENOMEM;
	if (r == 0)
		gather_replication(m, &c, st);
	if (r == -ENOENT)
		fprintf(stderr, "mcfs status: %s holds no mcfs volume; run 'mcfs format' first\n",
			meta_describe(m));
	else if (r < 0)
		cli_error("status", r);
	else if (json)
		print_json(st, meta_describe(m));
	else
		print_human(st, meta_describe(m));
	free(st);
	meta_close(m);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
