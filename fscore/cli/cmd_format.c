#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "layout.h"
#include "meta.h"
#include "objstore.h"
#include "region.h"
#include "units.h"
#include "url.h"
#include "volume.h"

static void format_usage(FILE *out)
{
	fprintf(out,
		"usage: mcfs format --meta redis://HOST:PORT[/DB] --bucket URL [--region NAME]\n"
		"                   [--block-size 4M] [--force] [--config FILE] VOLUME\n"
		"  --bucket URL      file:///DIR, http://HOST:PORT/BUCKET or https://HOST/BUCKET\n"
		"  --region NAME     name of this (source) region, default 'default'\n"
		"  --block-size SIZE object size of data blocks, 64K..16M, a power of two\n"
		"  --force           replace a volume already in this database\n");
}

static int parse_args(int argc, char **argv, struct cli_common *c, struct format_options *fo)
{
	static const struct option opts[] = {
	    {"meta", required_argument, 0, 'm'},   {"bucket", required_argument, 0, 'b'},
	    {"region", required_argument, 0, 'r'}, {"block-size", required_argument, 0, 's'},
	    {"force", no_argument, 0, 'f'},	   {"config", required_argument, 0, 'c'},
	    {"help", no_argument, 0, 'h'},	   {0, 0, 0, 0}};
	int o;
	uint64_t bs;
	optind = 1;
	while ((o = getopt_long(argc, argv, "m:b:r:s:fc:h", opts, NULL)) != -1) {
		switch (o) {
		case 'm':
			c->meta_url = optarg;
			break;
		case 'b':
			fo->bucket_url = optarg;
			break;
		case 'r':
			fo->region = optarg;
			c->region = optarg;
			break;
		case 's':
			if (size_parse(optarg, &bs) < 0 || layout_check_block_size(bs) < 0) {
				fprintf(stderr,
					"mcfs format: bad --block-size '%s': a power of two "
					"from 64K to 16M\n",
					optarg);
				return EXIT_USAGE;
			}
			fo->block_size = (uint32_t)bs;
			break;
		case 'f':
			fo->force = true;
			break;
		case 'c':
			c->config_path = optarg;
			break;
		case 'h':
			format_usage(stdout);
			return -1;
		default:
			format_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !fo->bucket_url) {
		fprintf(stderr, "mcfs format: %s\n",
			optind == argc	  ? "the VOLUME name is missing"
			: !fo->bucket_url ? "--bucket URL is required"
					  : "too many arguments");
		format_usage(stderr);
		return EXIT_USAGE;
	}
	fo->name = argv[optind];
	return 0;
}

int cmd_format(int argc, char **argv)
{
	struct cli_common c = {0};
	struct format_options fo = {.block_size = MCFS_DEFAULT_BLOCK_SIZE};
	int r = parse_args(argc, argv, &c, &fo);
	if (r)
		return r < 0 ? EXIT_OK : r;
	if ((r = cli_load_config(&c)) != 0)
		return r;
	if (!fo.region && c.region)
		fo.region = c.region;
	char err[512];
	struct bucket_url bu;
	if (bucket_url_parse(fo.bucket_url, &bu, err, sizeof(err)) < 0) {
		fprintf(stderr, "mcfs format: %s\n", err);
		return EXIT_USAGE;
	}
	if (fo.region && region_check_name(fo.region) < 0) {
		fprintf(stderr,
			"mcfs format: bad region name '%s': use 1-63 of a-z, 0-9 and '-', not "
			"starting with '-'\n",
			fo.region);
		return EXIT_USAGE;
	}
	if (strchr(fo.bucket_url, ';')) {
		/* ';' separates the fields of a region record. */
		fprintf(stderr, "mcfs format: a bucket URL may not contain ';'\n");
		return EXIT_USAGE;
	}
	if (layout_check_volume_name(fo.name) < 0) {
		fprintf(stderr, "mcfs format: bad volume name '%s': use 1-63 of a-z, 0-9 and '-'\n",
			fo.name);
		return EXIT_USAGE;
	}
	struct meta *m = NULL;
	struct meta_options mo = {.url = c.meta_url,
				  .password = c.cfg.meta_password[0] ? c.cfg.meta_password : NULL,
				  .retry = {.max_attempts = 3, .base_ms = 100, .max_ms = 1000}};
	r = meta_connect(&mo, &m, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "mcfs format: %s\n", err);
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	struct objstore_credentials cred = config_s3_credentials(&c.cfg);
	struct objstore *store = NULL;
	r = objstore_open(fo.bucket_url, &cred, &store);
	if (r < 0) {
		fprintf(stderr, "mcfs format: cannot use bucket %s: %s\n", fo.bucket_url,
			strerror(-r));
		meta_close(m);
		return EXIT_FAIL;
	}
	struct volume_settings vs;
	r = volume_format(m, store, &fo, &vs, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "mcfs format: %s\n", err);
	} else {
		printf("formatted volume %s (uuid %s, block size %u, region %s, bucket %s)\n",
		       vs.name, vs.uuid, vs.block_size, vs.source_region, objstore_describe(store));
	}
	objstore_close(store);
	meta_close(m);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
