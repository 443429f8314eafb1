/* Common main() for CUnit suites: runs the registry in basic mode and exits
 * non-zero when any assertion or test failed. */
#ifndef MCFS_TEST_CUNIT_MAIN_H
#define MCFS_TEST_CUNIT_MAIN_H

#include <CUnit/Basic.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

/* Adds a suite with NULL-name-terminated tests. Returns 0 or -1. */
int test_add_suite(const char *name, int (*init)(void), int (*cleanup)(void),
		   const struct test_case *tests);
/* Runs everything registered; returns the process exit code. */
int test_run_all(void);

#endif
