#include "cunit_main.h"

#include <stdio.h>
#include <stdlib.h>

int test_add_suite(const char *name, int (*init)(void), int (*cleanup)(void),
		   const struct test_case *tests)
{
	if (CU_get_registry() == NULL && CU_initialize_registry() != CUE_SUCCESS)
		return -1;
	CU_pSuite suite = CU_add_suite(name, init, cleanup);
	if (!suite)
		return -1;
	for (const struct test_case *t = tests; t->name; t++)
		if (!CU_add_test(suite, t->name, t->fn))
			return -1;
	return 0;
}

int test_run_all(void)
{
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
			  CU_get_number_of_suites_failed();
	unsigned ran = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if (ran == 0) {
		fprintf(stderr, "no test ran\n");
		return 1;
	}
	return failed ? 1 : 0;
}
