/* mcfs region add|list|promote: the regions of a volume (see mcfs(8)). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "meta.h"
#include "objstore.h"
#include "region.h"
#include "url.h"
#include "volume.h"

static void region_usage(FILE *out)
{
	fprintf(out,
		"usage: mcfs region add --meta URL --name NAME --mode shared|mirror|meta-only\n"
		"                       [--bucket URL] [--replica-meta URL] [--no-probe]\n"
		"                       [--config FILE]\n"
		"       mcfs region list --meta URL [--json] [--config FILE]\n"
		"       mcfs region promote --meta REPLICA-URL [--yes] [--force]\n"
		"                       [--old-source-meta URL] [--config FILE] NAME\n"
		"add:\n"
		"  --meta URL          the source's metadata primary\n"
		"  --mode MODE         shared (same area, reads the source's metadata), mirror\n"
		"                      (far, own bucket and metadata replica) or meta-only (far,\n"
		"                      metadata replica, uses the source's bucket)\n"
		"  --bucket URL        the region's bucket (shared, mirror)\n"
		"  --replica-meta URL  the region's metadata replica, redis://HOST:PORT[/DB]\n"
		"                      without a password (mirror, meta-only)\n"
		"  --no-probe          do not check the bucket and the replica now\n"
		"list:\n"
		"  --json              one JSON object\n"
		"promote (disaster recovery: a mirror region becomes the source):\n"
		"  --meta URL          the region's own metadata replica (default: [meta]\n"
		"                      replica, else [meta] url of the config file)\n"
		"  --yes               do it; without it, only show what would be done\n"
		"  --force             even if the replica still follows a live source, or\n"
		"                      --meta is not the region's recorded replica\n"
		"  --old-source-meta URL  the replica the old source will be, once back\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "mcfs region: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	region_usage(stderr);
	return EXIT_USAGE;
}

/* Connects to c->meta_url; prints why not. */
static int connect_meta(struct cli_common *c, const char *cmd, struct meta **m)
{
	char err[512];
	struct meta_options mo = {.url = c->meta_url,
				  .password = c->cfg.meta_password[0] ? c->cfg.meta_password : NULL,
				  .retry = {.max_attempts = 3, .base_ms = 100, .max_ms = 1000}};
	int r = meta_connect(&mo, m, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "mcfs region %s: %s\n", cmd, err);
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	return 0;
}

/* The volume in m and its settings; prints why not. */
static int load_volume(struct meta *m, const char *cmd, struct volume_settings *vs)
{
	char name[64];
	int r = volume_find(m, name, sizeof(name));
	if (r == 0)
		r = volume_load(m, name, vs);
	if (r == -ENOENT)
		fprintf(stderr,
			"mcfs region %s: %s holds no mcfs volume; run 'mcfs format' first\n", cmd,
			meta_describe(m));
	else if (r < 0)
		fprintf(stderr, "mcfs region %s: cannot read the volume in %s: %s\n", cmd,
			meta_describe(m), strerror(-r));
	return r;
}

static struct objstore_credentials credentials(const struct cli_common *c)
{
	return config_s3_credentials(&c->cfg);
}

/* Whether two metadata URLs name the same server (host and port, or socket). */
static bool same_server(const char *a, const char *b)
{
	struct meta_url x, y;
	char e[256];
	bool same = meta_url_parse(a, &x, e, sizeof(e)) == 0 &&
		    meta_url_parse(b, &y, e, sizeof(e)) == 0 &&
		    (x.unix_path[0]
			 ? strcmp(x.unix_path, y.unix_path) == 0
			 : !y.unix_path[0] && strcasecmp(x.host, y.host) == 0 && x.port == y.port);
	explicit_bzero(&x, sizeof(x));
	explicit_bzero(&y, sizeof(y));
	return same;
}

/* A mistyped replica URL is caught now rather than at the first failover. A
 * replica that cannot be reached or has not synced yet only warns (it may be
 * set up after the region is declared); one that holds another volume is an
 * error. */
static int check_replica(struct cli_common *c, const char *url, const struct volume_settings *vs)
{
	char err[512], name[64];
	struct meta *m = NULL;
	struct meta_options mo = {.url = url,
				  .password = c->cfg.meta_password[0] ? c->cfg.meta_password : NULL,
				  .pool_size = 1,
				  .timeout_ms = 3000,
				  .retry = {.max_attempts = 1, .base_ms = 10, .max_ms = 10}};
	if (meta_connect(&mo, &m, err, sizeof(err)) < 0) {
		fprintf(stderr,
			"mcfs region add: warning: %s; the region is added, but its "
			"gateways need that replica\n",
			err);
		return 0;
	}
	struct volume_settings rv;
	int r = volume_find(m, name, sizeof(name));
	if (r == 0)
		r = volume_load(m, name, &rv);
	if (r == 0 && strcmp(rv.uuid, vs->uuid) != 0) {
		fprintf(stderr,
			"mcfs region add: the replica %s holds another volume (%s, uuid %s), not "
			"volume %s\n",
			meta_describe(m), rv.name, rv.uuid, vs->name);
		meta_close(m);
		return -EINVAL;
	}
	struct region_role role;
	if (r < 0)
		fprintf(stderr,
			"mcfs region add: warning: the replica %s holds no copy of volume %s yet; "
			"make it a replica of the source (replicaof)\n",
			meta_describe(m), vs->name);
	else if (region_server_role(m, &role) == 0 && !role.replica)
		fprintf(stderr,
			"mcfs region add: warning: %s is not a replica (it follows no primary); "
			"make it a replica of the source (replicaof)\n",
			meta_describe(m));
	meta_close(m);
	return 0;
}

static int cmd_add(int argc, char **argv)
{
	static const struct option opts[] = {{"meta", required_argument, 0, 'm'},
					     {"name", required_argument, 0, 'n'},
					     {"mode", required_argument, 0, 'M'},
					     {"bucket", required_argument, 0, 'b'},
					     {"replica-meta", required_argument, 0, 'R'},
					     {"replica", required_argument, 0, 'R'},
					     {"no-probe", no_argument, 0, 'P'},
					     {"config", required_argument, 0, 'c'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	struct cli_common c = {0};
	struct region_add_options ro = {0};
	const char *mode = NULL;
	bool probe = true;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "m:n:M:b:R:Pc:h", opts, NULL)) != -1) {
		switch (o) {
		case 'm':
			c.meta_url = optarg;
			break;
		case 'n':
			ro.name = optarg;
			break;
		case 'M':
			mode = optarg;
			break;
		case 'b':
			ro.bucket_url = optarg;
			break;
		case 'R':
			ro.replica_url = optarg;
			break;
		case 'P':
			probe = false;
			break;
		case 'c':
			c.config_path = optarg;
			break;
		case 'h':
			region_usage(stdout);
			return EXIT_OK;
		default:
			region_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return usage_error("add: unexpected argument '%s'", argv[optind]);
	if (!ro.name)
		return usage_error("add: --name NAME is required");
	if (!mode)
		return usage_error("add: --mode is required: shared, mirror or meta-only");
	if (region_mode_parse(mode, &ro.mode) < 0)
		return usage_error("add: bad --mode '%s': use shared, mirror or meta-only", mode);
	char err[512];
	if (region_validate(&ro, err, sizeof(err)) < 0) {
		fprintf(stderr, "mcfs region add: %s\n", err);
		return EXIT_USAGE;
	}
	int r = cli_load_config(&c);
	if (r)
		return r;
	struct meta *m = NULL;
	if ((r = connect_meta(&c, "add", &m)) != 0)
		return r;
	struct volume_settings vs;
	struct objstore *store = NULL;
	struct objstore_credentials cred = credentials(&c);
	r = load_volume(m, "add", &vs);
	if (r == 0 && probe && ro.bucket_url) {
		r = objstore_open(ro.bucket_url, &cred, &store);
		if (r < 0)
			fprintf(stderr, "mcfs region add: cannot use bucket %s: %s\n",
				ro.bucket_url, strerror(-r));
	}
	if (r == 0 && probe && ro.replica_url)
		r = check_replica(&c, ro.replica_url, &vs);
	struct region_info ri;
	if (r == 0) {
		r = region_add(m, vs.name, store, &ro, &ri, err, sizeof(err));
		if (r < 0)
			fprintf(stderr, "mcfs region add: %s\n", err);
	}
	if (r == 0)
		printf("added region %s to volume %s: index %u, mode %s, bucket %s, replica %s\n",
		       ri.name, vs.name, ri.index, ri.mode,
		       ri.bucket[0] ? ri.bucket : "(the source's)",
		       ri.replica[0] ? ri.replica : "(none: the source's metadata)");
	objstore_close(store);
	meta_close(m);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {{"meta", required_argument, 0, 'm'},
					     {"json", no_argument, 0, 'j'},
					     {"config", required_argument, 0, 'c'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	struct cli_common c = {0};
	bool json = false;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "m:jc:h", opts, NULL)) != -1) {
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
		case 'h':
			region_usage(stdout);
			return EXIT_OK;
		default:
			region_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return usage_error("list: unexpected argument '%s'", argv[optind]);
	int r = cli_load_config(&c);
	if (r)
		return r;
	struct meta *m = NULL;
	if ((r = connect_meta(&c, "list", &m)) != 0)
		return r;
	struct volume_settings vs;
	struct region_info regions[MCFS_MAX_REGIONS];
	size_t n = 0;
	r = load_volume(m, "list", &vs);
	if (r == 0) {
		r = region_list(m, vs.name, regions, MCFS_MAX_REGIONS, &n);
		if (r < 0)
			cli_error("region list", r);
	}
	if (r == 0 && json) {
		printf("{\"volume\":");
		cli_json_str(vs.name);
		printf(",\"source\":");
		cli_json_str(vs.source_region);
		printf(",\"regions\":[");
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"name\":", i ? "," : "");
			cli_json_str(regions[i].name);
			printf(",\"index\":%u,\"mode\":", regions[i].index);
			cli_json_str(regions[i].mode);
			printf(",\"bucket\":");
			cli_json_str(regions[i].bucket);
			printf(",\"replica\":");
			cli_json_str(regions[i].replica);
			printf(",\"source\":%s}",
			       strcmp(regions[i].name, vs.source_region) == 0 ? "true" : "false");
		}
		printf("]}\n");
	} else if (r == 0) {
		printf("volume %s, source region %s\n", vs.name, vs.source_region);
		printf("%-22s %5s  %-9s  %-40s  %s\n", "REGION", "INDEX", "MODE", "BUCKET",
		       "REPLICA");
		for (size_t i = 0; i < n; i++) {
			char name[80];
			snprintf(name, sizeof(name), "%s%s", regions[i].name,
				 strcmp(regions[i].name, vs.source_region) == 0 ? " *" : "");
			printf("%-22s %5u  %-9s  %-40s  %s\n", name, regions[i].index,
			       regions[i].mode, regions[i].bucket[0] ? regions[i].bucket : "-",
			       regions[i].replica[0] ? regions[i].replica : "-");
		}
		printf("(* the source region)\n");
	}
	meta_close(m);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

/* Where the other replicas are to follow: the new source's recorded replica
 * URL if it is TCP, else --meta. host empty when neither is. */
static void new_primary(const struct region_info *target, const char *meta_url, char *host,
			size_t hostlen, int *port)
{
	const char *cands[] = {target->replica, meta_url};
	host[0] = '\0';
	for (size_t i = 0; i < 2 && !host[0]; i++) {
		struct meta_url mu;
		char e[256];
		if (cands[i][0] && meta_url_parse(cands[i], &mu, e, sizeof(e)) == 0 &&
		    !mu.unix_path[0]) {
			snprintf(host, hostlen, "%s", mu.host);
			*port = mu.port;
		}
		explicit_bzero(&mu, sizeof(mu));
	}
}

/* The regions whose replicas are to follow the new source: not the new
 * source itself, and not the old one, which the operator brings back by hand
 * (its unreplicated tail may be worth a look before it is discarded). */
static bool repoint_candidate(const struct region_info *r, const struct region_info *target,
			      const char *old_source, const char *meta_url)
{
	return r != target && strcmp(r->name, old_source) != 0 && r->replica[0] &&
	       !same_server(r->replica, meta_url) &&
	       !(target->replica[0] && same_server(r->replica, target->replica));
}

static void print_caveat(const char *old_source, const struct region_role *role)
{
	printf("What can be lost (Redis replication is asynchronous):\n"
	       "  - writes the old source acknowledged that had not reached this replica");
	if (role->replica && role->link_down_s >= 0)
		printf(" (the link has been down for %llds)", role->link_down_s);
	printf("\n  - while region %s's bucket stays unreachable, the blocks written there "
	       "that were not yet replicated\n",
	       old_source);
}

static int cmd_promote(int argc, char **argv)
{
	static const struct option opts[] = {{"meta", required_argument, 0, 'm'},
					     {"name", required_argument, 0, 'n'},
					     {"yes", no_argument, 0, 'y'},
					     {"force", no_argument, 0, 'f'},
					     {"old-source-meta", required_argument, 0, 'o'},
					     {"config", required_argument, 0, 'c'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	struct cli_common c = {.prefer_replica = true};
	struct promote_options po = {0};
	bool yes = false;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "m:n:yfo:c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'm':
			c.meta_url = optarg;
			break;
		case 'n':
			po.name = optarg;
			break;
		case 'y':
			yes = true;
			break;
		case 'f':
			po.force = true;
			break;
		case 'o':
			po.old_source_replica = optarg;
			break;
		case 'c':
			c.config_path = optarg;
			break;
		case 'h':
			region_usage(stdout);
			return EXIT_OK;
		default:
			region_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!po.name && optind < argc)
		po.name = argv[optind++];
	if (optind != argc)
		return usage_error("promote: unexpected argument '%s'", argv[optind]);
	if (!po.name)
		return usage_error("promote: which region? name it: mcfs region promote NAME");
	if (region_check_name(po.name) < 0)
		return usage_error("promote: bad region name '%s'", po.name);
	char err[512];
	if (po.old_source_replica &&
	    region_check_replica_url(po.old_source_replica, err, sizeof(err)) < 0) {
		fprintf(stderr, "mcfs region promote: --old-source-meta: %s\n", err);
		return EXIT_USAGE;
	}
	int r = cli_load_config(&c);
	if (r)
		return r;
	struct meta *m = NULL;
	if ((r = connect_meta(&c, "promote", &m)) != 0)
		return r;
	struct volume_settings vs;
	struct region_info regions[MCFS_MAX_REGIONS];
	struct region_role role;
	size_t n = 0;
	r = load_volume(m, "promote", &vs);
	if (r < 0)
		goto out;
	if ((r = region_list(m, vs.name, regions, MCFS_MAX_REGIONS, &n)) < 0 ||
	    (r = region_server_role(m, &role)) < 0) {
		fprintf(stderr, "mcfs region promote: cannot read %s: %s\n", meta_describe(m),
			strerror(-r));
		goto out;
	}
	r = region_promotable(vs.name, vs.source_region, regions, n, po.name, err, sizeof(err));
	bool already = r == -EALREADY;
	if (r < 0 && !already) {
		fprintf(stderr, "mcfs region promote: %s\n", err);
		goto out;
	}
	const struct region_info *target = region_find(regions, n, po.name);
	/* Promoting some other server would fork the volume: check it is the region's own. */
	if (target->replica[0] && !same_server(target->replica, c.meta_url) && !po.force) {
		fprintf(stderr,
			"mcfs region promote: --meta names %s, but region %s's metadata replica is "
			"%s; promote runs against the region's own replica (--force if both name "
			"the same server)\n",
			meta_describe(m), po.name, target->replica);
		r = -EINVAL;
		goto out;
	}
	if (already && role.replica) {
		fprintf(stderr,
			"mcfs region promote: region %s is already the source of volume %s, and %s "
			"is a replica (of %s:%d): there is nothing to promote here\n",
			po.name, vs.name, meta_describe(m), role.primary_host, role.primary_port);
		r = -EINVAL;
		goto out;
	}
	if (!already && role.replica && role.link_up && !po.force) {
		fprintf(stderr,
			"mcfs region promote: %s still follows a live primary at %s:%d: the source "
			"is not lost, and promoting now would give the volume two sources; stop "
			"the old source first (or --force)\n",
			meta_describe(m), role.primary_host, role.primary_port);
		r = -EBUSY;
		goto out;
	}
	char host[256];
	int port = 0;
	new_primary(target, c.meta_url, host, sizeof(host), &port);
	const char *old_source = vs.source_region;

	printf("%s region %s of volume %s on %s:\n", yes ? "Promoting" : "Would promote", po.name,
	       vs.name, meta_describe(m));
	if (already)
		printf("  - region %s is the source already: only re-point the other replicas\n",
		       po.name);
	else {
		if (role.replica)
			printf("  - detach it from its primary %s:%d (REPLICAOF NO ONE), at "
			       "replication offset %lld\n",
			       role.primary_host, role.primary_port, role.offset);
		printf("  - make region %s the source; region %s (the old source) becomes a "
		       "mirror\n",
		       po.name, old_source);
	}
	for (size_t i = 0; i < n; i++)
		if (host[0] && repoint_candidate(&regions[i], target, old_source, c.meta_url))
			printf("  - make region %s's replica %s follow %s:%d\n", regions[i].name,
			       regions[i].replica, host, port);
	if (!already)
		print_caveat(old_source, &role);
	if (!yes) {
		fprintf(stderr, "mcfs region promote: nothing was changed; run again with --yes "
				"to promote\n");
		r = EXIT_USAGE;
		meta_close(m);
		return r;
	}

	struct promote_result pr;
	if (!already) {
		r = region_promote(m, vs.name, &po, &pr, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "mcfs region promote: %s\n", err);
			goto out;
		}
		printf("region %s is now the source of volume %s (promotion %lld); region %s is "
		       "now a mirror\n",
		       po.name, vs.name, pr.promotions, pr.old_source);
		old_source = pr.old_source;
	}
	r = 0;
	if (!host[0] && n > 1)
		fprintf(stderr,
			"mcfs region promote: the new source is reached through a local socket; "
			"re-point the other regions' replicas by hand (REPLICAOF)\n");
	for (size_t i = 0; host[0] && i < n; i++) {
		if (!repoint_candidate(&regions[i], target, old_source, c.meta_url))
			continue;
		/* Best effort: a replica that is down now is re-pointed by hand later. */
		if (region_repoint(regions[i].replica,
				   c.cfg.meta_password[0] ? c.cfg.meta_password : NULL, host, port,
				   err, sizeof(err)) == 0)
			printf("region %s: its replica %s now follows %s:%d\n", regions[i].name,
			       regions[i].replica, host, port);
		else
			fprintf(stderr,
				"mcfs region promote: region %s: could not re-point its replica: "
				"%s; run REPLICAOF %s %d on it by hand\n",
				regions[i].name, err, host, port);
	}
	/* Gateways name the source primary in --meta: they cannot learn the new one here. */
	if (host[0] && !already)
		printf("Next: point every region's gateways at the new source (--meta, [meta] url "
		       "= redis://%s:%d); when region %s's Redis is back, make it a replica "
		       "(REPLICAOF %s %d) before any gateway uses it: that discards its "
		       "unreplicated writes.\n",
		       host, port, old_source, host, port);
out:
	meta_close(m);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_region(int argc, char **argv)
{
	if (argc < 2) {
		region_usage(stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		region_usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(sub, "add") == 0)
		return cmd_add(argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(sub, "promote") == 0)
		return cmd_promote(argc - 1, argv + 1);
	fprintf(stderr, "mcfs region: unknown subcommand '%s': use add, list or promote\n", sub);
	region_usage(stderr);
	return EXIT_USAGE;
}
