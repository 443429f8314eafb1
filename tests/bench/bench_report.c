#include "bench_report.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void report_init(struct report *r, const char *const labels[], int nlabels, const char *peer_label)
{
	memset(r, 0, sizeof(*r));
	r->peer = -1;
	for (int i = 0; i < nlabels && i < REPORT_MAX_LABELS; i++) {
		r->labels[r->nlabels] = labels[i];
		if (peer_label && strcmp(labels[i], peer_label) == 0)
			r->peer = r->nlabels;
		r->nlabels++;
	}
}

/* The value of " key=" in a line, copied into out; false when absent. */
static bool field(const char *line, const char *key, char *out, size_t len)
{
	char pat[40];
	snprintf(pat, sizeof(pat), " %s=", key);
	const char *p = strstr(line, pat);
	if (!p)
		return false;
	p += strlen(pat);
	size_t n = strcspn(p, " \n");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* The row of (workload, unit), added in order of first appearance. */
static int row(struct report *r, const char *workload, const char *unit)
{
	for (int i = 0; i < r->nworkloads; i++)
		if (strcmp(r->workloads[i], workload) == 0 && strcmp(r->units[i], unit) == 0)
			return i;
	if (r->nworkloads == REPORT_MAX_WORKLOADS)
		return -ENOSPC;
	int i = r->nworkloads++;
	snprintf(r->workloads[i], sizeof(r->workloads[i]), "%s", workload);
	snprintf(r->units[i], sizeof(r->units[i]), "%s", unit);
	return i;
}

static void add_result(struct report *r, int label, const char *line, int *errors)
{
	char workload[32], unit[16], value[32], errs[16] = "0";
	if (!field(line, "workload", workload, sizeof(workload)) ||
	    !field(line, "unit", unit, sizeof(unit)) || !field(line, "value", value, sizeof(value)))
		return;
	field(line, "errors", errs, sizeof(errs));
	int w = row(r, workload, unit);
	if (w < 0)
		return;
	struct report_cell *c = &r->cells[w][label];
	char *end;
	double v = strtod(value, &end);
	if (atoi(errs) != 0 || end == value) {
		c->errors++;
		(*errors)++;
	} else if (c->nvalues < REPORT_MAX_RUNS) {
		c->values[c->nvalues++] = v;
	}
}

int report_add_run(struct report *r, int label, const char *output_path)
{
	FILE *f = fopen(output_path, "r");
	if (!f)
		return -errno;
	char line[2048];
	int errors = 0, stray_errors = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "result ", 7) == 0)
			add_result(r, label, line, &errors);
		else if (strncmp(line, "error ", 6) == 0 || strstr(line, " error="))
			stray_errors++;
	}
	fclose(f);
	if (stray_errors && errors == 0)
		report_fail_run(r, label);
	return errors + stray_errors;
}

void report_fail_run(struct report *r, int label)
{
	r->failed_runs++;
	for (int w = 0; w < r->nworkloads; w++)
		r->cells[w][label].errors++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of a cell, or -1 when it has no value or any error: a figure
 * with a failed run is not reported as a speed. */
static double median(const struct report_cell *c)
{
	if (c->nvalues == 0 || c->errors)
		return -1;
	double v[REPORT_MAX_RUNS];
	memcpy(v, c->values, sizeof(double) * (size_t)c->nvalues);
	qsort(v, (size_t)c->nvalues, sizeof(double), cmp_double);
	int n = c->nvalues;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_header(const struct report *r, FILE *out)
{
	fprintf(out, "%-10s %-10s", "workload", "unit");
	for (int l = 0; l < r->nlabels; l++)
		fprintf(out, " %12s", r->labels[l]);
	for (int l = 0; l < r->nlabels; l++)
		if (r->peer >= 0 && l != r->peer)
			fprintf(out, " %10.10s/%.3s", r->labels[l], r->labels[r->peer]);
	fputc('\n', out);
}

static void print_row(const struct report *r, int w, FILE *out)
{
	fprintf(out, "%-10s %-10s", r->workloads[w], r->units[w]);
	for (int l = 0; l < r->nlabels; l++) {
		double m = median(&r->cells[w][l]);
		if (m >= 0)
			fprintf(out, " %12.1f", m);
		else
			fprintf(out, " %12s", r->cells[w][l].errors ? "ERROR" : "-");
	}
	double peer = r->peer >= 0 ? median(&r->cells[w][r->peer]) : -1;
	for (int l = 0; l < r->nlabels; l++) {
		if (r->peer < 0 || l == r->peer)
			continue;
		double m = median(&r->cells[w][l]);
		if (m >= 0 && peer > 0)
			fprintf(out, " %14.2f", m / peer);
		else
			fprintf(out, " %14s", "-");
	}
	fputc('\n', out);
}

static void print_machine_lines(const struct report *r, FILE *out)
{
	for (int w = 0; w < r->nworkloads; w++) {
		double peer = r->peer >= 0 ? median(&r->cells[w][r->peer]) : -1;
		for (int l = 0; l < r->nlabels; l++) {
			const struct report_cell *c = &r->cells[w][l];
			double m = median(c);
			fprintf(
			    out, "median label=%s workload=%s unit=%s runs=%d errors=%d value=%.1f",
			    r->labels[l], r->workloads[w], r->units[w], c->nvalues, c->errors, m);
			if (l != r->peer && m >= 0 && peer > 0)
				fprintf(out, " ratio=%.3f", m / peer);
			fputc('\n', out);
		}
	}
}

void report_print(const struct report *r, FILE *out)
{
	fputc('\n', out);
	print_header(r, out);
	for (int w = 0; w < r->nworkloads; w++)
		print_row(r, w, out);
	if (r->tcp_mib_s > 0)
		fprintf(out, "%-10s %-10s %12.1f  (iperf3, one stream: the loopback ceiling)\n",
			"tcp", "MiB/s", r->tcp_mib_s);
	fputc('\n', out);
	print_machine_lines(r, out);
	if (r->failed_runs)
		fprintf(out, "failed_runs value=%d\n", r->failed_runs);
	if (r->tcp_mib_s > 0)
		fprintf(out, "ceiling workload=tcp unit=MiB/s value=%.1f\n", r->tcp_mib_s);
}

int report_errors(const struct report *r)
{
	int n = r->failed_runs;
	for (int w = 0; w < r->nworkloads; w++)
		for (int l = 0; l < r->nlabels; l++)
			n += r->cells[w][l].errors;
	return n;
}
