#include "volume.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "log.h"
#include "meta_ops.h"

int volume_find(struct meta *m, char *name, size_t len)
{
	redisReply *r = NULL;
	int rc = meta_cmdf(m, &r, "GET %s", VOLUME_POINTER_KEY);
	if (rc < 0)
		return rc;
	if (r->type != REDIS_REPLY_STRING) {
		meta_reply_free(r);
		return -ENOENT;
	}
	snprintf(name, len, "%s", r->str);
	meta_reply_free(r);
	return layout_check_volume_name(name) == 0 ? 0 : -EIO;
}

static const char *field(const redisReply *r, const char *name)
{
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[i]->str, name) == 0 &&
		    r->element[i + 1]->type == REDIS_REPLY_STRING)
			return r->element[i + 1]->str;
	return NULL;
}

int volume_load(struct meta *m, const char *name, struct volume_settings *out)
{
	char key[128];
	redisReply *r = NULL;
	int rc = meta_cmdf(m, &r, "HGETALL %s", volume_key(key, sizeof(key), name, "setting"));
	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	const char *uuid = r->type == REDIS_REPLY_ARRAY ? field(r, "uuid") : NULL;
	const char *bs = uuid ? field(r, "block_size") : NULL;
	const char *cs = uuid ? field(r, "chunk_size") : NULL;
	const char *src = uuid ? field(r, "source") : NULL;
	const char *ver = uuid ? field(r, "format_version") : NULL;
	const char *created = uuid ? field(r, "created") : NULL;
	if (!uuid || !bs || !cs || !src || !ver) {
		meta_reply_free(r);
		return -ENOENT;
	}
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->uuid, sizeof(out->uuid), "%s", uuid);
	snprintf(out->source_region, sizeof(out->source_region), "%s", src);
	out->block_size = (uint32_t)strtoul(bs, NULL, 10);
	out->chunk_size = (uint32_t)strtoul(cs, NULL, 10);
	out->format_version = atoi(ver);
	out->created = created ? strtoll(created, NULL, 10) : 0;
	meta_reply_free(r);
	if (out->format_version != 1) {
		log_error("volume %s has format version %d; this mcfs knows version 1", name,
			  out->format_version);
		return -EPROTONOSUPPORT;
	}
	if (layout_check_block_size(out->block_size) < 0 || out->chunk_size != MCFS_CHUNK_SIZE)
		return -EIO;
	return 0;
}

/* "index=0;mode=source;bucket=URL[;replica=URL]": fields are matched whole, one
 * per ';'-separated part, so a URL holding "mode=" cannot be taken for a field
 * (region add refuses URLs with ';'). Unknown fields are skipped, for records
 * written by a newer mcfs. */
static int parse_region(const char *name, const char *spec, struct region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	snprintf(ri->name, sizeof(ri->name), "%s", name);
	bool have_index = false, have_mode = false;
	for (const char *p = spec; *p;) {
		size_t len = strcspn(p, ";");
		const char *eq = memchr(p, '=', len);
		if (eq) {
			size_t kl = (size_t)(eq - p);
			int vl = (int)(len - kl - 1);
			const char *v = eq + 1;
			if (kl == 5 && memcmp(p, "index", 5) == 0) {
				ri->index = (uint16_t)atoi(v);
				have_index = true;
			} else if (kl == 4 && memcmp(p, "mode", 4) == 0) {
				snprintf(ri->mode, sizeof(ri->mode), "%.*s", vl, v);
				have_mode = true;
			} else if (kl == 6 && memcmp(p, "bucket", 6) == 0) {
				snprintf(ri->bucket, sizeof(ri->bucket), "%.*s", vl, v);
			} else if (kl == 7 && memcmp(p, "replica", 7) == 0) {
				snprintf(ri->replica, sizeof(ri->replica), "%.*s", vl, v);
			}
		}
		p += len;
		if (*p == ';')
			p++;
	}
	return have_index && have_mode ? 0 : -EIO;
}

int volume_regions(struct meta *m, const char *name, struct region_info *out, size_t max, size_t *n)
{
	char key[128];
	redisReply *r = NULL;
	int rc = meta_cmdf(m, &r, "HGETALL %s", volume_key(key, sizeof(key), name, "regions"));
	if (rc < 0)
		return rc;
	*n = 0;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements && *n < max;
	     i += 2) {
		if (parse_region(r->element[i]->str, r->element[i + 1]->str, &out[*n]) == 0)
			(*n)++;
	}
	meta_reply_free(r);
	return 0;
}

static void new_uuid(char out[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof(b)) != 1) {
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char)rand();
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

/* A bucket that cannot take a write and give it back is no place for a volume. */
int volume_probe_bucket(struct objstore *store, const char *volume, char *err, size_t errlen)
{
	char key[128];
	snprintf(key, sizeof(key), "%s/.mcfs-probe", volume);
	static const char probe[] = "mcfs bucket probe";
	char back[sizeof(probe)];
	size_t got = 0;
	int r = objstore_create_bucket(store);
	if (r == 0)
		r = objstore_put(store, key, probe, sizeof(probe));
	if (r == 0)
		r = objstore_get(store, key, back, sizeof(back), &got);
	if (r == 0 && (got != sizeof(probe) || memcmp(back, probe, got) != 0))
		r = -EIO;
	if (r == 0)
		r = objstore_delete(store, key);
	if (r < 0)
		snprintf(err, errlen, "bucket %s is not usable: %s", objstore_describe(store),
			 r == -EACCES ? "access denied (check the S3 credentials)" : strerror(-r));
	return r;
}

/* Removes every key of a volume (format --force), in SCAN-sized steps. */
static int wipe_volume(struct meta *m, const char *name)
{
	char pattern[128], cursor[32] = "0";
	snprintf(pattern, sizeof(pattern), "{%s}:*", name);
	do {
		redisReply *r = NULL;
		int rc = meta_cmdf(m, &r, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
		if (rc < 0)
			return rc;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			meta_reply_free(r);
			return -EIO;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		redisReply *keys = r->element[1];
		for (size_t i = 0; i < keys->elements; i++) {
			redisReply *d = NULL;
			rc = meta_cmdf(m, &d, "UNLINK %b", keys->element[i]->str,
				       (size_t)keys->element[i]->len);
			if (d)
				meta_reply_free(d);
			if (rc < 0) {
				meta_reply_free(r);
				return rc;
			}
		}
		meta_reply_free(r);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

int volume_format(struct meta *m, struct objstore *store, const struct format_options *o,
		  struct volume_settings *out, char *err, size_t errlen)
{
	const char *region = o->region && *o->region ? o->region : "default";
	if (layout_check_volume_name(o->name) < 0) {
		snprintf(err, errlen, "bad volume name '%s': use 1-63 of a-z, 0-9 and '-'",
			 o->name);
		return -EINVAL;
	}
	if (layout_check_block_size(o->block_size) < 0) {
		snprintf(err, errlen, "bad block size %u: a power of two from 64K to 16M",
			 o->block_size);
		return -EINVAL;
	}
	char existing[64];
	int r = volume_find(m, existing, sizeof(existing));
	if (r == 0 && !o->force) {
		snprintf(err, errlen,
			 "this metadata database already holds volume '%s'; use --force to "
			 "replace it (its data becomes garbage)",
			 existing);
		return -EEXIST;
	}
	if (r < 0 && r != -ENOENT) {
		snprintf(err, errlen, "cannot read metadata at %s: %s", meta_describe(m),
			 strerror(-r));
		return r;
	}
	r = volume_probe_bucket(store, o->name, err, errlen);
	if (r < 0)
		return r;
	if (o->force) {
		if (existing[0] && volume_find(m, existing, sizeof(existing)) == 0)
			r = wipe_volume(m, existing);
		if (r == 0)
			r = wipe_volume(m, o->name);
		if (r < 0) {
			snprintf(err, errlen, "cannot remove the old volume: %s", strerror(-r));
			return r;
		}
	}
	char uuid[37], key[128];
	new_uuid(uuid);
	struct meta_args a;
	args_init(&a);
	args_str(&a, o->name);
	args_str(&a, uuid);
	args_u64(&a, o->block_size);
	args_str(&a, region);
	args_str(&a, o->bucket_url);
	args_str(&a, o->force ? "1" : "0");
	args_u64(&a, 0);
	args_u64(&a, 0);
	args_u64(&a, 0755);
	redisReply *rep = NULL;
	r = meta_eval(m, "format", volume_key(key, sizeof(key), o->name, "setting"), a.n, a.v,
		      a.len, &rep);
	if (r == 0) {
		r = reply_status(rep);
		meta_reply_free(rep);
	}
	if (r == 0) {
		redisReply *set = NULL;
		r = meta_cmdf(m, &set, "SET %s %s", VOLUME_POINTER_KEY, o->name);
		if (set)
			meta_reply_free(set);
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot create the volume in %s: %s", meta_describe(m),
			 r == -EEXIST ? "it exists" : strerror(-r));
		return r;
	}
	return volume_load(m, o->name, out);
}
