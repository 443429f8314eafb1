/* Runs the `mcfs` command for a CLI test, output captured. */
#ifndef MCFS_TEST_CLI_RUN_H
#define MCFS_TEST_CLI_RUN_H

#include <stddef.h>

/* Runs bin with args (NULL-terminated, argv[0] added), stdout and stderr
 * going to the file scratch and then into out (NUL-terminated, cut to
 * len - 1). Secrets of the caller's environment (S3 keys, the Redis
 * password) are cleared first, then env ("K=V", NULL-terminated, may be
 * NULL) is set. Returns the exit status, or 128 for a signal. */
int cli_run(const char *bin, const char *scratch, char *out, size_t len, char *const env[],
	    const char *const args[]);

#endif
