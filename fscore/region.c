#include "region.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "meta_ops.h"
#include "url.h"

static const char *const mode_names[] = {
    [REGION_SOURCE] = "source",
    [REGION_SHARED] = "shared",
    [REGION_MIRROR] = "mirror",
    [REGION_META_ONLY] = "meta-only",
};

int region_mode_parse(const char *s, enum region_mode *out)
{
	for (size_t i = 0; s && i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*out = (enum region_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *region_mode_name(enum region_mode m)
{
	return (unsigned)m < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[m] : "?";
}

/* The same rule as volume names: safe in keys, URLs, file names and on a
 * command line (no leading '-' that getopt would take for a flag). */
int region_check_name(const char *name)
{
	return name ? layout_check_volume_name(name) : -EINVAL;
}

int region_check_replica_url(const char *url, char *err, size_t errlen)
{
	struct meta_url mu;
	int r = meta_url_parse(url, &mu, err, errlen);
	if (r < 0)
		return r;
	bool secret = mu.password[0] != '\0';
	explicit_bzero(&mu, sizeof(mu));
	/* A password in the URL would be copied to every replica of the volume. */
	if (secret) {
		snprintf(err, errlen,
			 "the replica URL carries a password, and secrets never go into the "
			 "volume's metadata: drop it from the URL and set [meta] password in the "
			 "config file (mode 0600) or MCFS_META_PASSWORD");
		return -EINVAL;
	}
	if (strchr(url, ';')) {
		snprintf(err, errlen,
			 "the replica URL may not hold ';' (it separates the fields "
			 "of a region record)");
		return -EINVAL;
	}
	return 0;
}

int region_validate(const struct region_add_options *o, char *err, size_t errlen)
{
	if (region_check_name(o->name) < 0) {
		snprintf(
		    err, errlen,
		    "bad region name '%s': use 1-63 of a-z, 0-9 and '-', not starting with '-'",
		    o->name ? o->name : "");
		return -EINVAL;
	}
	bool has_bucket = o->bucket_url && *o->bucket_url;
	bool has_replica = o->replica_url && *o->replica_url;
	const char *mode = region_mode_name(o->mode);
	switch (o->mode) {
	case REGION_SOURCE:
		snprintf(err, errlen,
			 "a region becomes the source only through 'mcfs format' or 'mcfs region "
			 "promote'; add it as shared, mirror or meta-only");
		return -EINVAL;
	case REGION_SHARED:
	case REGION_MIRROR:
		if (!has_bucket) {
			snprintf(err, errlen,
				 "a %s region needs --bucket URL (a bucket of its own)", mode);
			return -EINVAL;
		}
		break;
	case REGION_META_ONLY:
		if (has_bucket) {
			snprintf(err, errlen,
				 "a meta-only region has no bucket of its own (it reads and writes "
				 "the source region's bucket): drop --bucket");
			return -EINVAL;
		}
		break;
	default:
		snprintf(err, errlen, "unknown region mode");
		return -EINVAL;
	}
	if ((o->mode == REGION_MIRROR || o->mode == REGION_META_ONLY) && !has_replica) {
		snprintf(err, errlen,
			 "a %s region needs --replica-meta redis://HOST:PORT[/DB], its local "
			 "metadata replica",
			 mode);
		return -EINVAL;
	}
	if (has_bucket) {
		struct bucket_url bu;
		if (bucket_url_parse(o->bucket_url, &bu, err, errlen) < 0)
			return -EINVAL;
		if (strchr(o->bucket_url, ';')) {
			snprintf(err, errlen,
				 "bucket URL: ';' is not allowed (it separates the "
				 "fields of a region record)");
			return -EINVAL;
		}
	}
	if (has_replica && region_check_replica_url(o->replica_url, err, errlen) < 0)
		return -EINVAL;
	return 0;
}

int region_add(struct meta *m, const char *volume, struct objstore *store,
	       const struct region_add_options *o, struct region_info *out, char *err,
	       size_t errlen)
{
	int r = region_validate(o, err, errlen);
	if (r < 0)
		return r;
	if (store) {
		r = volume_probe_bucket(store, volume, err, errlen);
		if (r < 0)
			return r;
	}
	char key[128], opid[33];
	meta_new_opid(opid);
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_str(&a, o->name);
	args_u64(&a, MCFS_MAX_REGIONS);
	args_str(&a, region_mode_name(o->mode));
	args_str(&a, o->bucket_url ? o->bucket_url : "");
	args_str(&a, o->replica_url ? o->replica_url : "");
	redisReply *rep = NULL;
	r = meta_eval_op(m, "region_add", volume_key(key, sizeof(key), volume, "setting"), a.n, a.v,
			 a.len, &rep);
	if (r == 0)
		r = reply_status(rep);
	int64_t index = 0;
	if (r == 0 && reply_int(rep, 1, &index) < 0)
		r = -EIO;
	if (r == -EEXIST && rep->elements >= 3 && rep->element[1]->type == REDIS_REPLY_STRING &&
	    rep->element[2]->type == REDIS_REPLY_STRING) {
		const char *what = rep->element[1]->str, *other = rep->element[2]->str;
		if (strcmp(what, "name") == 0)
			snprintf(err, errlen, "volume %s already has a region named '%s'", volume,
				 other);
		else
			snprintf(err, errlen,
				 "region '%s' already uses this %s; each region needs "
				 "its own",
				 other, what);
	} else if (r == -ENOSPC) {
		snprintf(err, errlen, "volume %s already has %d regions, the most it may have",
			 volume, MCFS_MAX_REGIONS);
	} else if (r == -ENOENT) {
		snprintf(err, errlen, "%s holds no volume '%s'", meta_describe(m), volume);
	} else if (r == -EROFS) {
		snprintf(err, errlen,
			 "%s is a read-only replica; add regions on the source's primary",
			 meta_describe(m));
	} else if (r < 0) {
		snprintf(err, errlen, "cannot add the region in %s: %s", meta_describe(m),
			 strerror(-r));
	}
	if (rep)
		meta_reply_free(rep);
	if (r < 0)
		return r;
	if (out) {
		memset(out, 0, sizeof(*out));
		snprintf(out->name, sizeof(out->name), "%s", o->name);
		out->index = (uint16_t)index;
		snprintf(out->mode, sizeof(out->mode), "%s", region_mode_name(o->mode));
		snprintf(out->bucket, sizeof(out->bucket), "%s",
			 o->bucket_url ? o->bucket_url : "");
		snprintf(out->replica, sizeof(out->replica), "%s",
			 o->replica_url ? o->replica_url : "");
	}
	return 0;
}

static int by_index(const void *a, const void *b)
{
	const struct region_info *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

int region_list(struct meta *m, const char *volume, struct region_info *out, size_t max, size_t *n)
{
	int r = volume_regions(m, volume, out, max, n);
	if (r == 0)
		qsort(out, *n, sizeof(*out), by_index);
	return r;
}

const struct region_info *region_find(const struct region_info *r, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0)
			return &r[i];
	return NULL;
}

/* A number after "field:" in an INFO text; -1 if absent. */
static long long info_field(const char *info, const char *field)
{
	size_t fl = strlen(field);
	for (const char *p = info; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, field, fl) == 0 && p[fl] == ':')
			return strtoll(p + fl + 1, NULL, 10);
	return -1;
}

int region_server_role(struct meta *m, struct region_role *out)
{
	memset(out, 0, sizeof(*out));
	out->link_down_s = -1;
	redisReply *r = NULL;
	int rc = meta_cmdf(m, &r, "ROLE");
	if (rc < 0)
		return rc;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING) {
		meta_reply_free(r);
		return -EIO;
	}
	const char *role = r->element[0]->str;
	if (strcmp(role, "slave") == 0 && r->elements >= 5) {
		out->replica = true;
		if (r->element[1]->type == REDIS_REPLY_STRING)
			snprintf(out->primary_host, sizeof(out->primary_host), "%s",
				 r->element[1]->str);
		if (r->element[2]->type == REDIS_REPLY_INTEGER)
			out->primary_port = (int)r->element[2]->integer;
		out->link_up = r->element[3]->type == REDIS_REPLY_STRING &&
			       strcmp(r->element[3]->str, "connected") == 0;
		if (r->element[4]->type == REDIS_REPLY_INTEGER)
			out->offset = r->element[4]->integer;
	} else if (strcmp(role, "master") == 0) {
		if (r->elements >= 2 && r->element[1]->type == REDIS_REPLY_INTEGER)
			out->offset = r->element[1]->integer;
	} else {
		/* A sentinel holds no data; anything else we do not know. */
		meta_reply_free(r);
		return -EINVAL;
	}
	meta_reply_free(r);
	if (!out->replica)
		return 0;
	/* ROLE says -1 while the link is down; INFO still has what was applied, and
	 * how long the source has been out of reach, which bounds what may be lost. */
	if (meta_cmdf(m, &r, "INFO replication") == 0) {
		if (r->type == REDIS_REPLY_STRING) {
			long long off = info_field(r->str, "slave_repl_offset");
			if (off >= 0)
				out->offset = off;
			if (!out->link_up)
				out->link_down_s =
				    info_field(r->str, "master_link_down_since_seconds");
		}
		meta_reply_free(r);
	}
	return 0;
}

int region_promotable(const char *volume, const char *source, const struct region_info *r, size_t n,
		      const char *name, char *err, size_t errlen)
{
	const struct region_info *ri = region_find(r, n, name);
	if (!ri) {
		snprintf(err, errlen, "volume %s has no region named '%s'", volume, name);
		return -ENOENT;
	}
	if (strcmp(source, name) == 0) {
		snprintf(err, errlen, "region %s is already the source of volume %s", name, volume);
		return -EALREADY;
	}
	if (strcmp(ri->mode, "mirror") != 0 || !ri->bucket[0]) {
		snprintf(err, errlen,
			 "region %s is %s: only a mirror region, which keeps both the data (its "
			 "bucket) and the metadata (its replica), can become the source",
			 name, ri->mode);
		return -EINVAL;
	}
	return 0;
}

int region_promote(struct meta *m, const char *volume, const struct promote_options *o,
		   struct promote_result *out, char *err, size_t errlen)
{
	const char *name = o->name, *old_source_replica = o->old_source_replica;
	memset(out, 0, sizeof(*out));
	struct volume_settings vs;
	struct region_info regions[MCFS_MAX_REGIONS];
	size_t n = 0;
	int r = volume_load(m, volume, &vs);
	if (r == 0)
		r = region_list(m, volume, regions, MCFS_MAX_REGIONS, &n);
	if (r < 0) {
		snprintf(err, errlen, "cannot read volume %s in %s: %s", volume, meta_describe(m),
			 strerror(-r));
		return r;
	}
	r = region_promotable(volume, vs.source_region, regions, n, name, err, errlen);
	if (r == -EALREADY)
		snprintf(out->old_source, sizeof(out->old_source), "%s", name);
	if (r < 0)
		return r;
	if (old_source_replica && *old_source_replica &&
	    region_check_replica_url(old_source_replica, err, errlen) < 0)
		return -EINVAL;
	struct region_role role;
	r = region_server_role(m, &role);
	if (r < 0) {
		snprintf(err, errlen, "cannot ask %s for its replication role: %s",
			 meta_describe(m), strerror(-r));
		return r;
	}
	if (role.replica && role.link_up && !o->force) {
		snprintf(err, errlen,
			 "%s still follows a live primary at %s:%d: the source is not lost, and "
			 "promoting now would give the volume two sources; stop the old source "
			 "first, or force it",
			 meta_describe(m), role.primary_host, role.primary_port);
		return -EBUSY;
	}
	if (role.replica) {
		redisReply *rep = NULL;
		r = meta_cmdf(m, &rep, "REPLICAOF NO ONE");
		if (rep)
			meta_reply_free(rep);
		if (r < 0) {
			snprintf(err, errlen, "cannot detach %s from its primary: %s",
				 meta_describe(m), strerror(-r));
			return r;
		}
		out->detached = true;
	}
	char key[128], opid[33];
	meta_new_opid(opid);
	struct meta_args a;
	args_init(&a);
	args_str(&a, opid);
	args_str(&a, name);
	args_str(&a, old_source_replica ? old_source_replica : "");
	redisReply *rep = NULL;
	r = meta_eval_op(m, "region_promote", volume_key(key, sizeof(key), volume, "setting"), a.n,
			 a.v, a.len, &rep);
	if (r == 0)
		r = reply_status(rep);
	if (r == 0 && rep->elements >= 3 && rep->element[1]->type == REDIS_REPLY_STRING) {
		snprintf(out->old_source, sizeof(out->old_source), "%s", rep->element[1]->str);
		int64_t count = 0;
		if (reply_int(rep, 2, &count) == 0)
			out->promotions = count;
	} else if (r == 0) {
		r = -EIO;
	}
	if (rep)
		meta_reply_free(rep);
	if (r == -EALREADY)
		snprintf(err, errlen, "region %s is already the source of volume %s", name, volume);
	else if (r < 0)
		snprintf(err, errlen, "cannot update volume %s in %s: %s%s", volume,
			 meta_describe(m), strerror(-r),
			 out->detached ? " (the server is already detached from its primary; "
					 "run the promotion again)"
				       : "");
	return r;
}

int region_repoint(const char *replica_url, const char *password, const char *host, int port,
		   char *err, size_t errlen)
{
	struct meta *m = NULL;
	/* Best effort over possibly dead servers: one try, a short timeout. */
	struct meta_options mo = {.url = replica_url,
				  .password = password,
				  .pool_size = 1,
				  .timeout_ms = 3000,
				  .retry = {.max_attempts = 1, .base_ms = 10, .max_ms = 10}};
	int r = meta_connect(&mo, &m, err, errlen);
	if (r < 0)
		return r;
	char p[16];
	snprintf(p, sizeof(p), "%d", port);
	redisReply *rep = NULL;
	r = meta_cmdf(m, &rep, "REPLICAOF %s %s", host, p);
	if (rep)
		meta_reply_free(rep);
	if (r < 0)
		snprintf(err, errlen, "%s refused REPLICAOF: %s", meta_describe(m), strerror(-r));
	meta_close(m);
	return r;
}
