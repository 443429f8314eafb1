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

static void add_result(struct report *r, int label, int run, const char *line, int *errors)
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
		c->run_of[c->nvalues] = run;
		c->values[c->nvalues++] = v;
		char cpu[32];
		if (field(line, "server_cpu_us", cpu, sizeof(cpu)) && c->ncpu < REPORT_MAX_RUNS) {
			double u = strtod(cpu, &end);
			if (end != cpu && u >= 0)
				c->cpu_us[c->ncpu++] = u;
		}
	}
}

int report_add_run(struct report *r, int label, int run, const char *output_path)
{
	FILE *f = fopen(output_path, "r");
	if (!f)
		return -errno;
	char line[2048];
	int errors = 0, stray_errors = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "result ", 7) == 0)
			add_result(r, label, run, line, &errors);
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

static double median_of(const double *values, int n)
{
	double v[REPORT_MAX_RUNS];
	memcpy(v, values, sizeof(double) * (size_t)n);
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The median of a cell, or -1 when it has no value or any error: a figure
 * with a failed run is not reported as a speed. */
static double median(const struct report_cell *c)
{
	if (c->nvalues == 0 || c->errors)
		return -1;
	return median_of(c->values, c->nvalues);
}

/* The median CPU time per unit, or -1: unknown for some run, or a failed one. */
static double median_cpu(const struct report_cell *c)
{
	if (c->ncpu == 0 || c->ncpu != c->nvalues || c->errors)
		return -1;
	return median_of(c->cpu_us, c->ncpu);
}

/* The value a cell measured in round run, or -1. */
static double value_in_round(const struct report_cell *c, int run)
{
	for (int i = 0; i < c->nvalues; i++)
		if (c->run_of[i] == run)
			return c->values[i];
	return -1;
}

int report_rounds_ahead(const struct report *r, int w, int label, int *ahead)
{
	*ahead = 0;
	if (r->peer < 0 || label == r->peer || w < 0 || w >= r->nworkloads)
		return 0;
	const struct report_cell *c = &r->cells[w][label], *p = &r->cells[w][r->peer];
	int paired = 0;
	for (int i = 0; i < c->nvalues; i++) {
		double peer = value_in_round(p, c->run_of[i]);
		if (peer < 0)
			continue;
		paired++;
		if (c->values[i] > peer)
			(*ahead)++;
	}
	return paired;
}

static void print_header(const struct report *r, FILE *out)
{
	fprintf(out, "%-10s %-10s", "workload", "unit");
	for (int l = 0; l < r->nlabels; l++)
		fprintf(out, " %12s", r->labels[l]);
	for (int l = 0; l < r->nlabels; l++)
		if (r->peer >= 0 && l != r->peer)
			fprintf(out, " %11.11s/%.3s", r->labels[l], r->labels[r->peer]);
	fputc('\n', out);
}

/* One row of medians and ratios; of the figures, or of the CPU time per
 * unit (unit_label in place of the figure's unit, two decimals). */
static void print_row(const struct report *r, int w, double (*med)(const struct report_cell *),
		      const char *unit_label, FILE *out)
{
	fprintf(out, "%-10s %-10s", r->workloads[w], unit_label ? unit_label : r->units[w]);
	for (int l = 0; l < r->nlabels; l++) {
		double m = med(&r->cells[w][l]);
		if (m >= 0)
			fprintf(out, unit_label ? " %12.2f" : " %12.1f", m);
		else
			fprintf(out, " %12s", r->cells[w][l].errors ? "ERROR" : "-");
	}
	double peer = r->peer >= 0 ? med(&r->cells[w][r->peer]) : -1;
	for (int l = 0; l < r->nlabels; l++) {
		if (r->peer < 0 || l == r->peer)
			continue;
		double m = med(&r->cells[w][l]);
		if (m >= 0 && peer > 0)
			fprintf(out, " %15.2f", m / peer);
		else
			fprintf(out, " %15s", "-");
	}
	fputc('\n', out);
}

/* What a unit of each figure is, for the CPU table. */
static const char *cpu_unit(const char *figure_unit)
{
	static const struct {
		const char *figure, *cpu;
	} UNITS[] = {{"MiB/s", "us/MiB"},
		     {"ops/s", "us/op"},
		     {"files/s", "us/file"},
		     {"entries/s", "us/entry"}};
	for (size_t i = 0; i < sizeof(UNITS) / sizeof(UNITS[0]); i++)
		if (strcmp(figure_unit, UNITS[i].figure) == 0)
			return UNITS[i].cpu;
	return "us/unit";
}

static bool any_cpu(const struct report *r)
{
	for (int w = 0; w < r->nworkloads; w++)
		for (int l = 0; l < r->nlabels; l++)
			if (median_cpu(&r->cells[w][l]) >= 0)
				return true;
	return false;
}

/* Whether any round paired a target with the peer. */
static bool any_rounds(const struct report *r)
{
	int ahead;
	for (int w = 0; w < r->nworkloads; w++)
		for (int l = 0; l < r->nlabels; l++)
			if (report_rounds_ahead(r, w, l, &ahead) > 0)
				return true;
	return false;
}

/* Medians can hide a lead that swings from round to round on a shared
 * machine: this table counts the rounds each target led in. */
static void print_rounds(const struct report *r, FILE *out)
{
	if (!any_rounds(r))
		return;
	fprintf(out,
		"\nRounds in which each target was ahead of %s (each run against %s's\n"
		"run of the same round):\n",
		r->labels[r->peer], r->labels[r->peer]);
	fprintf(out, "%-10s %-10s", "workload", "unit");
	for (int l = 0; l < r->nlabels; l++)
		if (l != r->peer)
			fprintf(out, " %12s", r->labels[l]);
	fputc('\n', out);
	for (int w = 0; w < r->nworkloads; w++) {
		fprintf(out, "%-10s %-10s", r->workloads[w], "rounds");
		for (int l = 0; l < r->nlabels; l++) {
			if (l == r->peer)
				continue;
			int ahead, paired = report_rounds_ahead(r, w, l, &ahead);
			char cell[24] = "-";
			if (paired > 0)
				snprintf(cell, sizeof(cell), "%d/%d", ahead, paired);
			fprintf(out, " %12s", cell);
		}
		fputc('\n', out);
	}
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
			double cpu = median_cpu(c);
			if (cpu >= 0)
				fprintf(out, " server_cpu_us=%.2f", cpu);
			int ahead, paired = report_rounds_ahead(r, w, l, &ahead);
			if (m >= 0 && paired > 0)
				fprintf(out, " ahead=%d/%d", ahead, paired);
			fputc('\n', out);
		}
	}
}

void report_print(const struct report *r, FILE *out)
{
	fputc('\n', out);
	print_header(r, out);
	for (int w = 0; w < r->nworkloads; w++)
		print_row(r, w, median, NULL, out);
	if (r->tcp_mib_s > 0)
		fprintf(out, "%-10s %-10s %12.1f  (iperf3, one stream: the loopback ceiling)\n",
			"tcp", "MiB/s", r->tcp_mib_s);
	print_rounds(r, out);
	if (any_cpu(r)) {
		fputs("\nServer CPU time per unit of each figure, lower is better (mcfs: the\n"
		      "gateway and Redis, and for mcfs-mirror also the Redis replica and the\n"
		      "two replicators; ganesha: its daemon):\n",
		      out);
		print_header(r, out);
		for (int w = 0; w < r->nworkloads; w++)
			print_row(r, w, median_cpu, cpu_unit(r->units[w]), out);
	}
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
