/* mcfs: administration of mcfs volumes (see mcfs(8)). */
#include <stdio.h>
#include <string.h>

#include "autoconfig.h"
#include "cli.h"
#include "log.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"format", cmd_format, "create a volume in a metadata database and a bucket"},
    {"region", cmd_region, "add, list and promote the regions of a volume"},
    {"status", cmd_status, "show a volume, its usage, gateways and regions"},
    {"fsck", cmd_fsck, "check metadata against itself and the bucket"},
    {"gc", cmd_gc, "find (and with --delete remove) objects no file needs"},
    {"sync-check", cmd_synccheck, "compare every region's bucket with metadata (--repair)"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: mcfs COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'mcfs COMMAND --help' shows a command's options; see mcfs(8) and "
		     "mcfs.conf(5).\n");
}

int main(int argc, char **argv)
{
	log_init("mcfs", LOG_LVL_WARN, false);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("mcfs %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "mcfs: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
