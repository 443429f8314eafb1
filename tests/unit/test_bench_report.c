/* The benchmark's report: medians, ratios against the peer, and the rounds
 * each target led in, from the load generator's result lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_report.h"
#include "cunit_main.h"

static const char *const LABELS[] = {"mcfs", "ganesha"};

/* Writes one generator output with a create figure (and errors) to a file
 * of its own and adds it as round run of label. */
static int add_run(struct report *r, int label, int run, double files_s, int errors)
{
	char path[] = "/tmp/mcfs-test-report-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(path);
		return -1;
	}
	fprintf(f, "nfsbench: create...\n");
	fprintf(f,
		"result label=%s workload=create value=%.1f unit=files/s ops=100 errors=%d "
		"server_cpu_us=%.2f\n",
		LABELS[label], files_s, errors, 100.0 + run);
	fclose(f);
	int n = report_add_run(r, label, run, path);
	unlink(path);
	return n;
}

struct run_spec {
	int label, run;
	double files_s;
	int errors;
};

/* A report against ganesha with these runs added, each in turn. */
static void report_of(struct report *r, const struct run_spec *runs, int n)
{
	report_init(r, LABELS, 2, "ganesha");
	for (int i = 0; i < n; i++)
		CU_ASSERT_EQUAL(
		    add_run(r, runs[i].label, runs[i].run, runs[i].files_s, runs[i].errors),
		    runs[i].errors ? 1 : 0);
}

/* The report as text. */
static char *printed(const struct report *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	report_print(r, f);
	fclose(f);
	return text;
}

static void test_medians_ratios_and_rounds(void)
{
	static struct report r;
	/* mcfs leads in the median (110 against 100) but in 2 rounds of 3 only. */
	static const struct run_spec runs[] = {{0, 0, 90, 0},  {1, 0, 100, 0}, {0, 1, 110, 0},
					       {1, 1, 100, 0}, {0, 2, 120, 0}, {1, 2, 105, 0}};
	report_of(&r, runs, 6);
	int ahead = -1;
	CU_ASSERT_EQUAL(report_rounds_ahead(&r, 0, 0, &ahead), 3);
	CU_ASSERT_EQUAL(ahead, 2);
	CU_ASSERT_EQUAL(report_rounds_ahead(&r, 0, 1, &ahead), 0); /* the peer itself */
	CU_ASSERT_EQUAL(report_errors(&r), 0);
	char *text = printed(&r);
	CU_ASSERT_FATAL(text != NULL);
	CU_ASSERT(strstr(text, "median label=mcfs workload=create unit=files/s runs=3 errors=0 "
			       "value=110.0 ratio=1.100 server_cpu_us=101.00 ahead=2/3\n") != NULL);
	CU_ASSERT(strstr(text, "median label=ganesha workload=create unit=files/s runs=3 errors=0 "
			       "value=100.0 server_cpu_us=101.00\n") != NULL);
	CU_ASSERT(strstr(text, "Rounds in which each target was ahead of ganesha") != NULL);
	CU_ASSERT(strstr(text, "create     rounds              2/3\n") != NULL);
	free(text);
}

/* A round that failed for one side pairs with nothing: the others still
 * pair by round, not by position. */
static void test_rounds_pair_by_round(void)
{
	static struct report r;
	static const struct run_spec runs[] = {
	    {0, 0, 200, 0}, {1, 1, 150, 0}, {0, 1, 100, 0}, {1, 2, 500, 0}, {0, 2, 400, 0}};
	report_of(&r, runs, 5);
	int ahead = -1;
	/* Round 0 has no peer run; round 1: 100 < 150; round 2: 400 < 500.
	 * Paired by position, 200 would have met 150 and led. */
	CU_ASSERT_EQUAL(report_rounds_ahead(&r, 0, 0, &ahead), 2);
	CU_ASSERT_EQUAL(ahead, 0);
}

/* A figure with an error is no speed: no median, no ratio, no rounds. */
static void test_errors_void_the_figure(void)
{
	static struct report r;
	static const struct run_spec runs[] = {
	    {0, 0, 500, 0}, {1, 0, 100, 0}, {0, 1, 900, 3}, {1, 1, 100, 0}};
	report_of(&r, runs, 4);
	CU_ASSERT_EQUAL(report_errors(&r), 1);
	char *text = printed(&r);
	CU_ASSERT_FATAL(text != NULL);
	CU_ASSERT(strstr(text, "ERROR") != NULL);
	CU_ASSERT(strstr(text, "median label=mcfs workload=create unit=files/s runs=1 errors=1 "
			       "value=-1.0\n") != NULL);
	free(text);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"medians, ratios and rounds ahead", test_medians_ratios_and_rounds},
	    {"rounds pair by round", test_rounds_pair_by_round},
	    {"errors void the figure", test_errors_void_the_figure},
	    {NULL, NULL}};
	if (test_add_suite("bench_report", NULL, NULL, tests) < 0)
		return 1;
	return test_run_all();
}
