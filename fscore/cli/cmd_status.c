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
#include "units.h"
#include "volume.h"

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
};

static long long int_reply(struct meta *m, const char *fmt, const char *key)
{
	redisReply *r = NULL;
	if (meta_cmdf(m, &r, fmt, key) < 0)
		return -1;
	long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
		      : r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10)
						      : 0;
	freeReplyObject(r);
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
		freeReplyObject(u);
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
		freeReplyObject(s);
	}
	for (size_t i = 0; check_buckets && i < st->nregions; i++) {
		/* A meta-only region has no bucket of its own: nothing to check. */
		if (!st->regions[i].bucket[0]) {
			st->bucket_state[i] = 1;
			continue;
		}
		struct objstore_credentials cred = {
		    .access_key = c->cfg.s3_access_key[0] ? c->cfg.s3_access_key : NULL,
		    .secret_key = c->cfg.s3_secret_key[0] ? c->cfg.s3_secret_key : NULL,
		    .region = c->cfg.s3_region[0] ? c->cfg.s3_region : NULL,
		};
		struct objstore *os = NULL;
		st->bucket_state[i] = objstore_open(st->regions[i].bucket, &cred, &os);
		if (st->bucket_state[i] == 0)
			st->bucket_state[i] = objstore_check(os);
		objstore_close(os);
	}
	return 0;
}

static const char *bucket_word(int state)
{
	return state == 0	  ? "ok"
	       : state == 1	  ? "none (uses the source's)"
	       : state == -EACCES ? "access denied"
				  : strerror(-state);
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
		printf("}");
	}
	printf("],\"gateways\":[");
	for (size_t i = 0; i < st->nsessions; i++)
		printf("%s{\"session\":\"%.8s\",\"heartbeat_age_s\":%lld}", i ? "," : "",
		       st->sessions[i].id, st->sessions[i].age);
	printf("]}\n");
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
