/* The `mcfs` admin command: shared option handling for its subcommands. */
#ifndef MCFS_CLI_H
#define MCFS_CLI_H

#include <stdbool.h>

#include "config.h"
#include "vfs.h"

struct cli_common {
	const char *meta_url;
	const char *config_path;
	const char *region;
	/* Without --meta, take [meta] replica before [meta] url: for commands that
	 * run against the region's own metadata replica (region promote). */
	bool prefer_replica;
	struct mcfs_config cfg;
};

/* Exit codes: 0 ok, 1 failure, 2 usage error. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Loads --config (if given) and the environment, then checks --meta is set
 * (from the flag or the file). Prints the reason and returns EXIT_* on error, 0 if ok. */
int cli_load_config(struct cli_common *c);
/* Opens the volume named by c->meta_url; prints a clear error on failure. */
int cli_open_vfs(struct cli_common *c, struct vfs **out);
/* Message for a failed operation, with advice for common causes. */
void cli_error(const char *what, int err);
/* Prints s as a JSON string (quotes, escapes) on stdout. */
void cli_json_str(const char *s);

int cmd_format(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_fsck(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_region(int argc, char **argv);
int cmd_synccheck(int argc, char **argv);

#endif
