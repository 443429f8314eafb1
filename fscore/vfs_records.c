/* Small records a protocol layer keeps in the volume's metadata, so that
 * they outlive one gateway process: the NFSv4 client list, which lets a
 * restarted gateway (or its HA peer) accept reclaims. One Redis hash per
 * namespace under the volume's hash tag; keys and values are opaque. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "meta_ops.h"
#include "vfs_impl.h"

static const char *record_key(const struct vfs *v, const char *ns, char *buf, size_t len)
{
	char suffix[96];
	snprintf(suffix, sizeof(suffix), "rec:%s", ns);
	return volume_key(buf, len, v->vol.name, suffix);
}

int vfs_record_put(struct vfs *v, const char *ns, const void *key, size_t klen, const void *val,
		   size_t vlen)
{
	char hash[256];
	const char *argv[] = {"HSET", record_key(v, ns, hash, sizeof(hash)), key, val};
	size_t lens[] = {4, strlen(hash), klen, vlen};
	redisReply *r = NULL;
	int rc = meta_cmd(vfs_meta(v), &r, 4, argv, lens);
	if (r)
		meta_reply_free(r);
	return rc < 0 ? rc : 0;
}

int vfs_record_del(struct vfs *v, const char *ns, const void *key, size_t klen)
{
	char hash[256];
	const char *argv[] = {"HDEL", record_key(v, ns, hash, sizeof(hash)), key};
	size_t lens[] = {4, strlen(hash), klen};
	redisReply *r = NULL;
	int rc = meta_cmd(vfs_meta(v), &r, 3, argv, lens);
	if (r)
		meta_reply_free(r);
	return rc < 0 ? rc : 0;
}

int vfs_record_list(struct vfs *v, const char *ns, vfs_record_fn cb, void *arg)
{
	char hash[256];
	char cursor[32] = "0";
	record_key(v, ns, hash, sizeof(hash));
	/* HSCAN rather than HGETALL: the hash may be large and Redis is shared. */
	do {
		redisReply *r = NULL;
		int rc = meta_cmdf(vfs_meta(v), &r, "HSCAN %s %s COUNT 256", hash, cursor);
		if (rc < 0)
			return rc;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			meta_reply_free(r);
			return -EIO;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		const redisReply *items = r->element[1];
		for (size_t i = 0; i + 1 < items->elements; i += 2) {
			const redisReply *k = items->element[i], *val = items->element[i + 1];
			rc = cb(k->str, k->len, val->str, val->len, arg);
			if (rc != 0) {
				meta_reply_free(r);
				return rc < 0 ? rc : 0;
			}
		}
		meta_reply_free(r);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}
