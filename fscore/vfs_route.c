/* Which metadata server a vfs reads from and writes to, and which buckets
 * it reads data from (DESIGN.md §3: the per-mode table). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "meta_ops.h"
#include "vfs_impl.h"

struct meta *vfs_meta(struct vfs *v)
{
	return meta_route_primary(v->route);
}

static bool reads_replica(const struct region_info *r)
{
	return strcmp(r->mode, "mirror") == 0 || strcmp(r->mode, "meta-only") == 0;
}

/* Runs a read on the chosen server; a replica that cannot be reached is
 * marked down and the read goes to the primary at once. */
static int routed(struct vfs *v, int (*run)(struct meta *m, void *arg), void *arg)
{
	struct meta *m = meta_route_reader(v->route);
	int r = run(m, arg);
	if (r < 0 && m != vfs_meta(v) && meta_route_unreachable(r)) {
		meta_route_replica_failed(v->route);
		r = run(vfs_meta(v), arg);
	}
	return r;
}

struct formatted_cmd {
	const char *cmd;
	size_t len;
	redisReply **reply;
};

static int run_formatted(struct meta *m, void *arg)
{
	struct formatted_cmd *c = arg;
	return meta_cmd_formatted(m, c->reply, c->cmd, c->len);
}

int vfs_read_cmdf(struct vfs *v, redisReply **reply, const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	va_start(ap, fmt);
	int len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -ENOMEM;
	struct formatted_cmd c = {cmd, (size_t)len, reply};
	int r = routed(v, run_formatted, &c);
	redisFreeCommand(cmd);
	return r;
}

struct argv_cmd {
	int argc;
	const char *const *argv;
	const size_t *lens;
	redisReply **reply;
	bool *tracked;
};

static int run_argv(struct meta *m, void *arg)
{
	struct argv_cmd *c = arg;
	return meta_cmd_track(m, c->reply, c->argc, (const char **)c->argv, c->lens, c->tracked);
}

int vfs_read_cmd_argv_track(struct vfs *v, redisReply **reply, int argc, const char *const *argv,
			    const size_t *lens, bool *tracked)
{
	struct argv_cmd c = {argc, argv, lens, reply, tracked};
	return routed(v, run_argv, &c);
}

int vfs_read_cmd_argv(struct vfs *v, redisReply **reply, int argc, const char *const *argv,
		      const size_t *lens)
{
	return vfs_read_cmd_argv_track(v, reply, argc, argv, lens, NULL);
}

struct script_call {
	const char *script, *key, *watch;
	int argc;
	const char **argv;
	const size_t *lens;
	redisReply **reply;
	bool *tracked;
};

static int run_script(struct meta *m, void *arg)
{
	struct script_call *s = arg;
	if (s->watch)
		return meta_eval_track(m, s->script, s->key, s->watch, s->argc, s->argv, s->lens,
				       s->tracked, s->reply);
	return meta_eval(m, s->script, s->key, s->argc, s->argv, s->lens, s->reply);
}

int vfs_read_eval(struct vfs *v, const char *script, int argc, const char **argv,
		  const size_t *lens, redisReply **reply)
{
	struct script_call s = {script, v->setting_key, NULL, argc, argv, lens, reply, NULL};
	return routed(v, run_script, &s);
}

int vfs_read_eval_track(struct vfs *v, const char *script, const char *watch, int argc,
			const char **argv, const size_t *lens, bool *tracked, redisReply **reply)
{
	struct script_call s = {script, v->setting_key, watch, argc, argv, lens, reply, tracked};
	return routed(v, run_script, &s);
}

/* A meta-only region writes into the source's bucket and records the
 * source as the origin: its blocks are where every reader looks first. */
static int open_stores(struct vfs *v, char *err, size_t errlen)
{
	struct region_info regions[MCFS_MAX_REGIONS];
	size_t n = 0;
	int r = volume_regions(vfs_meta(v), v->vol.name, regions, MCFS_MAX_REGIONS, &n);
	if (r == 0)
		r = region_stores_create(&v->cfg, &v->stores);
	if (r == 0)
		r = region_stores_update(v->stores, regions, n, v->vol.source_region);
	if (r < 0) {
		snprintf(err, errlen, "cannot set up the buckets of volume %s: %s", v->vol.name,
			 strerror(-r));
		return r;
	}
	v->data_origin = v->region.index;
	if (!v->region.bucket[0]) {
		const struct region_info *src = NULL;
		for (size_t i = 0; i < n; i++)
			if (strcmp(regions[i].name, v->vol.source_region) == 0)
				src = &regions[i];
		if (src)
			v->data_origin = src->index;
	}
	v->store = region_stores_get(v->stores, v->region.index);
	if (!v->store) {
		snprintf(err, errlen, "region %s has no usable bucket", v->region.name);
		return -EINVAL;
	}
	r = objstore_check(v->store);
	if (r < 0)
		snprintf(err, errlen, "bucket %s: %s", objstore_describe(v->store),
			 r == -EACCES ? "access denied (check the S3 credentials)" : strerror(-r));
	return r;
}

int vfs_route_open(struct vfs *v, const char *meta_url, const char *password, char *err,
		   size_t errlen)
{
	const char *replica = NULL;
	if (reads_replica(&v->region))
		replica = v->cfg.replica_url[0] ? v->cfg.replica_url : v->region.replica;
	if (reads_replica(&v->region) && (!replica || !replica[0]))
		log_warn("region %s is a %s region without a metadata replica: reading from the "
			 "source",
			 v->region.name, v->region.mode);
	struct meta_route_options o = {
	    .primary_url = meta_url,
	    .replica_url = replica,
	    .password = password,
	    .volume = v->vol.name,
	    .max_lag_ms = v->cfg.max_replica_lag_s * 1000,
	    .timeout_ms = (unsigned)(v->cfg.meta_timeout_s * 1000),
	    .track_fn = v->attrs ? vfs_cached_key_changed : NULL,
	    .track_arg = v,
	};
	int r = meta_route_open(&o, &v->route, err, errlen);
	if (r < 0)
		return r;
	r = open_stores(v, err, errlen);
	if (r == 0)
		vfs_refresh_low_watermark(v);
	return r;
}

void vfs_route_close(struct vfs *v)
{
	meta_route_close(v->route);
	region_stores_close(v->stores);
}

void vfs_refresh_low_watermark(struct vfs *v)
{
	char key[128];
	redisReply *r = NULL;
	if (vfs_read_cmdf(v, &r, "HGET %s %s",
			  volume_key(key, sizeof(key), v->vol.name, "replication"),
			  v->region.name) < 0)
		return;
	uint64_t w = 0;
	if (r->type == REDIS_REPLY_STRING) {
		const char *p = strstr(r->str, "low_watermark=");
		if (p)
			w = strtoull(p + strlen("low_watermark="), NULL, 10);
	}
	meta_reply_free(r);
	__atomic_store_n(&v->low_watermark, w, __ATOMIC_RELEASE);
}

void vfs_route_info(struct vfs *v, struct vfs_route_info *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->region, sizeof(out->region), "%s", v->region.name);
	snprintf(out->mode, sizeof(out->mode), "%s", v->region.mode);
	out->blocks_cached = __atomic_load_n(&v->reads_cached, __ATOMIC_RELAXED);
	out->blocks_local = __atomic_load_n(&v->reads_local, __ATOMIC_RELAXED);
	out->blocks_remote = __atomic_load_n(&v->reads_remote, __ATOMIC_RELAXED);
	out->low_watermark = __atomic_load_n(&v->low_watermark, __ATOMIC_RELAXED);
	struct meta_route_stats st;
	meta_route_stats(v->route, &st);
	out->has_replica = st.has_replica;
	out->replica_usable = st.replica_usable;
	out->replica_lag_ms = st.lag_ms;
	out->replica_reads = st.replica_reads;
	out->primary_reads = st.primary_reads;
	out->primary_switches = st.primary_switches;
}
