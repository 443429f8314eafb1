/* `mcfs sync-check`: each region's bucket against metadata, and repairs
 * (sync_check.h does the work; this is options and output). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "meta.h"
#include "region.h"
#include "region_stores.h"
#include "sync_check.h"
#include "units.h"
#include "volume.h"

#define SYNC_USAGE                                                                                 \
	"usage: mcfs sync-check --meta URL [--repair] [--region NAME] [--min-age DURATION]\n"      \
	"                       [--json] [--config FILE]\n"

struct sync_args {
	struct cli_common c;
	const char *min_age;
	/* Only the flag, not the config's [region] name: that says where this
	 * host is, not which regions to check. */
	const char *region;
	bool repair, json;
};

/* 0 to go on, -1 after --help, else an exit code. */
static int parse_args(int argc, char **argv, struct sync_args *a)
{
	static const struct option opts[] = {
	    {"meta", required_argument, 0, 'm'},   {"config", required_argument, 0, 'c'},
	    {"region", required_argument, 0, 'r'}, {"min-age", required_argument, 0, 'a'},
	    {"repair", no_argument, 0, 'R'},	   {"json", no_argument, 0, 'j'},
	    {"help", no_argument, 0, 'h'},	   {0, 0, 0, 0}};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "m:c:r:a:Rjh", opts, NULL)) != -1) {
		switch (o) {
		case 'm':
			a->c.meta_url = optarg;
			break;
		case 'c':
			a->c.config_path = optarg;
			break;
		case 'r':
			a->region = optarg;
			break;
		case 'a':
			a->min_age = optarg;
			break;
		case 'R':
			a->repair = true;
			break;
		case 'j':
			a->json = true;
			break;
		case 'h':
			printf(SYNC_USAGE);
			return -1;
		default:
			fprintf(stderr, SYNC_USAGE);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mcfs sync-check: unexpected argument '%s'\n%s", argv[optind],
			SYNC_USAGE);
		return EXIT_USAGE;
	}
	return 0;
}

/* Deleting what a lagging replica does not know of yet would destroy new data. */
static int refuse_replica(struct meta *m)
{
	struct region_role role;
	if (region_server_role(m, &role) == 0 && role.replica) {
		fprintf(stderr,
			"mcfs sync-check: %s is a replica; --repair needs the source's primary "
			"(a replica's lagging view makes new blocks look unreferenced)\n",
			meta_describe(m));
		return -EROFS;
	}
	return 0;
}

/* Opens the volume's metadata; prints why not. */
static int open_volume(struct sync_args *a, struct meta **m, struct volume_settings *vol,
		       struct region_info *regions, size_t *n)
{
	char err[512];
	struct meta_options mo = {.url = a->c.meta_url,
				  .password =
				      a->c.cfg.meta_password[0] ? a->c.cfg.meta_password : NULL,
				  .retry = {.max_attempts = 3, .base_ms = 100, .max_ms = 1000}};
	int r = meta_connect(&mo, m, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "mcfs sync-check: %s\n", err);
		return r;
	}
	if (a->repair && (r = refuse_replica(*m)) < 0)
		return r;
	char name[64];
	r = volume_find(*m, name, sizeof(name));
	if (r == -ENOENT)
		fprintf(stderr, "mcfs sync-check: %s holds no mcfs volume\n", meta_describe(*m));
	if (r == 0)
		r = volume_load(*m, name, vol);
	if (r == 0)
		r = volume_regions(*m, name, regions, MCFS_MAX_REGIONS, n);
	if (r < 0 && r != -ENOENT)
		cli_error("sync-check", r);
	return r;
}

static void print_region_json(const struct sync_check_region *g)
{
	printf("{\"name\":");
	cli_json_str(g->name);
	printf(",\"index\":%u,\"bucket\":", g->index);
	cli_json_str(g->bucket);
	printf(",\"error\":");
	if (g->error)
		cli_json_str(strerror(-g->error));
	else
		printf("null");
	printf(",\"needed\":%" PRIu64 ",\"present\":%" PRIu64 ",\"missing\":%" PRIu64
	       ",\"wrong_size\":%" PRIu64 ",\"extra\":%" PRIu64 ",\"extra_bytes\":%" PRIu64
	       ",\"young\":%" PRIu64 ",\"pending_deletion\":%" PRIu64 ",\"foreign\":%" PRIu64,
	       g->needed, g->present, g->missing, g->wrong_size, g->extra, g->extra_bytes, g->young,
	       g->pending, g->foreign);
	printf(",\"copied\":%" PRIu64 ",\"unrecoverable\":%" PRIu64 ",\"copy_failed\":%" PRIu64
	       ",\"deleted\":%" PRIu64 ",\"delete_failed\":%" PRIu64 ",\"problems\":%" PRIu64
	       ",\"clean\":%s}",
	       g->copied, g->unrecoverable, g->copy_failed, g->deleted, g->delete_failed,
	       sync_check_problems(g), sync_check_problems(g) ? "false" : "true");
}

static void print_json(const struct sync_check_report *rep, const char *volume,
		       const struct sync_args *a, uint64_t min_age, bool clean)
{
	printf("{\"volume\":");
	cli_json_str(volume);
	printf(",\"slices\":%" PRIu64 ",\"blocks\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"damaged_records\":%" PRIu64 ",\"repair\":%s,\"min_age_s\":%" PRIu64
	       ",\"regions\":[",
	       rep->slices, rep->blocks, rep->bytes, rep->damaged_records,
	       a->repair ? "true" : "false", min_age);
	for (size_t i = 0; i < rep->nregions; i++) {
		printf("%s", i ? "," : "");
		print_region_json(&rep->region[i]);
	}
	printf("],\"clean\":%s}\n", clean ? "true" : "false");
}

static void print_region_text(const struct sync_check_region *g, bool repair)
{
	uint64_t left = sync_check_problems(g);
	char extra[32];
	size_format(g->extra_bytes, extra, sizeof(extra));
	printf("region %s (%s): %s\n", g->name, g->bucket,
	       g->error ? "CANNOT LIST"
	       : left	? "PROBLEMS"
			: "in sync");
	if (g->error) {
		printf("  listing failed: %s\n", strerror(-g->error));
		return;
	}
	printf("  blocks needed %" PRIu64 ": present %" PRIu64 ", missing %" PRIu64
	       ", wrong size %" PRIu64 "\n",
	       g->needed, g->present, g->missing, g->wrong_size);
	printf("  objects nothing needs: extra %" PRIu64 " (%s), young %" PRIu64
	       " (kept), in the deletion log %" PRIu64 ", not block keys %" PRIu64 "\n",
	       g->extra, extra, g->young, g->pending, g->foreign);
	if (repair)
		printf("  repair: copied %" PRIu64 ", in no bucket %" PRIu64
		       ", copy failed %" PRIu64 "; deleted %" PRIu64 ", delete failed %" PRIu64
		       "\n",
		       g->copied, g->unrecoverable, g->copy_failed, g->deleted, g->delete_failed);
	else if (left)
		printf("  run again with --repair to copy the missing blocks in and delete the "
		       "extra objects\n");
}

static void print_text(const struct sync_check_report *rep, const char *volume,
		       const struct sync_args *a, uint64_t min_age, bool clean)
{
	char bytes[32], age[32];
	size_format(rep->bytes, bytes, sizeof(bytes));
	snprintf(age, sizeof(age), "%" PRIu64 "s", min_age);
	printf("volume %s: %" PRIu64 " slices, %" PRIu64 " blocks, %s referenced", volume,
	       rep->slices, rep->blocks, bytes);
	if (rep->damaged_records)
		printf(", %" PRIu64 " damaged slice records (see mcfs fsck)", rep->damaged_records);
	printf("; objects younger than %s are not judged\n", age);
	for (size_t i = 0; i < rep->nregions; i++)
		print_region_text(&rep->region[i], a->repair);
	printf("%s\n", clean ? "clean" : "PROBLEMS REMAIN");
}

/* Exit status of a finished check. */
static int verdict(const struct sync_check_report *rep, bool *clean)
{
	bool unlisted = false;
	*clean = rep->damaged_records == 0;
	for (size_t i = 0; i < rep->nregions; i++) {
		unlisted |= rep->region[i].error != 0;
		*clean &= sync_check_problems(&rep->region[i]) == 0;
	}
	return unlisted ? EXIT_USAGE : *clean ? EXIT_OK : EXIT_FAIL;
}

static int check(struct sync_args *a, struct meta *m, const struct volume_settings *vol,
		 const struct region_info *regions, size_t n, uint64_t min_age)
{
	struct region_stores *rs = NULL;
	struct sync_check_report *rep = calloc(1, sizeof(*rep));
	int r = rep ? region_stores_create(&a->c.cfg, &rs) : -ENOMEM;
	char err[512] = "";
	struct sync_check_options o = {.region = a->region,
				       .min_age_s = min_age,
				       .repair = a->repair,
				       .transfers = a->c.cfg.repl_transfers};
	if (r == 0)
		r = sync_check_run(m, vol, regions, n, rs, &o, rep, err, sizeof(err));
	region_stores_close(rs);
	if (r < 0) {
		fprintf(stderr, "mcfs sync-check: %s\n", err[0] ? err : strerror(-r));
		free(rep);
		return EXIT_USAGE;
	}
	bool clean;
	int code = verdict(rep, &clean);
	if (a->json)
		print_json(rep, vol->name, a, min_age, clean);
	else
		print_text(rep, vol->name, a, min_age, clean);
	free(rep);
	return code;
}

int cmd_synccheck(int argc, char **argv)
{
	struct sync_args a = {0};
	int r = parse_args(argc, argv, &a);
	if (r)
		return r < 0 ? EXIT_OK : r;
	if ((r = cli_load_config(&a.c)) != 0)
		return r;
	uint64_t min_age = a.c.cfg.deletion_delay_s;
	if (a.min_age && duration_parse(a.min_age, &min_age) < 0) {
		fprintf(stderr, "mcfs sync-check: bad --min-age '%s'\n", a.min_age);
		return EXIT_USAGE;
	}
	struct meta *m = NULL;
	struct volume_settings vol;
	struct region_info *regions = calloc(MCFS_MAX_REGIONS, sizeof(*regions));
	size_t n = 0;
	r = regions ? open_volume(&a, &m, &vol, regions, &n) : -ENOMEM;
	int code = r < 0 ? EXIT_USAGE : check(&a, m, &vol, regions, n, min_age);
	meta_close(m);
	free(regions);
	return code;
}
