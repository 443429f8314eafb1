/* Whether the CLI's --json output is one complete, well-formed JSON value. */
#ifndef MCFS_TEST_JSON_CHECK_H
#define MCFS_TEST_JSON_CHECK_H

#include <stdbool.h>

bool json_ok(const char *s);

#endif
