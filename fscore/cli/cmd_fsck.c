#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fsck.h"
#include "units.h"

static int parse_common(int argc, char **argv, struct cli_common *c, const char *extra,
			const struct option *more, int (*on_extra)(int o, void *arg), void *arg,
			const char *usage)
{
	struct option opts[8] = {{"meta", required_argument, 0, 'm'},
				 {"config", required_argument, 0, 'c'},
				 {"region", required_argument, 0, 'r'},
				 {"help", no_argument, 0, 'h'}};
	size_t n = 4;
	for (; more && more[n - 4].name && n < 7; n++)
		opts[n] = more[n - 4];
	memset(&opts[n], 0, sizeof(opts[n]));
	char shorts[32];
	snprintf(shorts, sizeof(shorts), "m:c:r:h%s", extra);
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		switch (o) {
		case 'm':
			c->meta_url = optarg;
			break;
		case 'c':
			c->config_path = optarg;
			break;
		case 'r':
			c->region = optarg;
			break;
		case 'h':
			printf("%s", usage);
			return -1;
		default:
			if (!on_extra || on_extra(o, arg) != 0) {
				fprintf(stderr, "%s", usage);
				return EXIT_USAGE;
			}
		}
	}
	if (optind != argc) {
		fprintf(stderr, "unexpected argument '%s'\n%s", argv[optind], usage);
		return EXIT_USAGE;
	}
	return cli_load_config(c);
}

int cmd_fsck(int argc, char **argv)
{
	struct cli_common c = {0};
	int r = parse_common(argc, argv, &c, "", NULL, NULL, NULL,
			     "usage: mcfs fsck --meta URL [--region NAME] [--config FILE]\n");
	if (r)
		return r < 0 ? EXIT_OK : r;
	struct vfs *v = NULL;
	if (cli_open_vfs(&c, &v) < 0)
		return EXIT_FAIL;
	struct fsck_report rep;
	r = fsck_run(v, &rep);
	vfs_close(v);
	if (r < 0) {
		cli_error("fsck", r);
		return EXIT_FAIL;
	}
	uint64_t problems = rep.damaged_attrs + rep.dangling_entries + rep.damaged_slices +
			    rep.missing_blocks + rep.wrong_size_blocks;
	printf("inodes %" PRIu64 " (dirs %" PRIu64 ", files %" PRIu64 ", symlinks %" PRIu64
	       "), entries %" PRIu64 "\n",
	       rep.inodes, rep.dirs, rep.files, rep.symlinks, rep.entries);
	printf("slices %" PRIu64 ", blocks %" PRIu64 ", bytes %" PRIu64 ", open-unlinked %" PRIu64
	       "\n",
	       rep.slices, rep.blocks, rep.bytes, rep.orphans);
	printf("damaged attributes %" PRIu64 ", dangling entries %" PRIu64
	       ", damaged slice records %" PRIu64 ", missing blocks %" PRIu64
	       ", wrong-size blocks %" PRIu64 "\n",
	       rep.damaged_attrs, rep.dangling_entries, rep.damaged_slices, rep.missing_blocks,
	       rep.wrong_size_blocks);
	printf("%s\n", problems ? "PROBLEMS FOUND" : "clean");
	return problems ? EXIT_FAIL : EXIT_OK;
}

struct gc_args {
	bool do_delete;
	uint64_t min_age;
	int bad;
};

static int gc_extra(int o, void *arg)
{
	struct gc_args *g = arg;
	if (o == 'd') {
		g->do_delete = true;
		return 0;
	}
	if (o == 'a') {
		if (duration_parse(optarg, &g->min_age) < 0) {
			fprintf(stderr, "mcfs gc: bad --min-age '%s'\n", optarg);
			return 1;
		}
		return 0;
	}
	return 1;
}

int cmd_gc(int argc, char **argv)
{
	static const struct option more[] = {
	    {"delete", no_argument, 0, 'd'}, {"min-age", required_argument, 0, 'a'}, {0, 0, 0, 0}};
	struct cli_common c = {0};
	struct gc_args g = {.min_age = 3600};
	int r = parse_common(argc, argv, &c, "da:", more, gc_extra, &g,
			     "usage: mcfs gc --meta URL [--delete] [--min-age 1h] [--region NAME] "
			     "[--config FILE]\n");
	if (r)
		return r < 0 ? EXIT_OK : r;
	struct vfs *v = NULL;
	if (cli_open_vfs(&c, &v) < 0)
		return EXIT_FAIL;
	struct gc_report rep;
	r = gc_run(v, g.min_age, g.do_delete, &rep);
	vfs_close(v);
	if (r < 0) {
		cli_error("gc", r);
		return EXIT_FAIL;
	}
	printf("objects %" PRIu64 ", referenced %" PRIu64 ", leaked %" PRIu64 " (%" PRIu64
	       " bytes), too young to judge %" PRIu64 ", deleted %" PRIu64
	       ", deletion-log blocks applied %" PRIu64 "\n",
	       rep.objects, rep.referenced, rep.leaked, rep.leaked_bytes, rep.too_young,
	       rep.deleted, rep.log_deleted);
	if (rep.leaked && !g.do_delete)
		printf("run again with --delete to remove the leaked objects\n");
	return EXIT_OK;
}
