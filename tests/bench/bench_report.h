/* Figures from the load generator's `result` lines, per target and workload
 * over several runs, reduced to medians and ratios against the peer. */
#ifndef MCFS_BENCH_REPORT_H
#define MCFS_BENCH_REPORT_H

#include <stdio.h>

#define REPORT_MAX_LABELS    4
#define REPORT_MAX_WORKLOADS 16
#define REPORT_MAX_RUNS	     32

struct report_cell {
	double values[REPORT_MAX_RUNS];
	int run_of[REPORT_MAX_RUNS]; /* the round each value was measured in */
	int nvalues;
	int errors;
	double cpu_us[REPORT_MAX_RUNS]; /* the server's CPU time per unit, where known */
	int ncpu;
};

struct report {
	int nlabels;
	const char *labels[REPORT_MAX_LABELS];
	int peer; /* index of the label ratios are taken against, or -1 */
	int nworkloads;
	char workloads[REPORT_MAX_WORKLOADS][32];
	char units[REPORT_MAX_WORKLOADS][16];
	struct report_cell cells[REPORT_MAX_WORKLOADS][REPORT_MAX_LABELS];
	double tcp_mib_s; /* the loopback ceiling, 0 when unmeasured */
	int failed_runs;  /* runs whose generator failed as a whole */
};

/* peer_label: the label ratios are computed against (may be absent). */
void report_init(struct report *r, const char *const labels[], int nlabels, const char *peer_label);
/* Adds the output of the load generator for labels[label] in round run
 * (0-based). Lines that report an error count against their workload (or
 * every workload of the run when they name none). Returns the number of
 * errors seen, or -errno. */
int report_add_run(struct report *r, int label, int run, const char *output_path);
/* Marks every workload of one run as failed (the generator died). */
void report_fail_run(struct report *r, int label);
/* The side-by-side table of medians and ratios, the table of the servers'
 * CPU time per unit where it was measured, then one machine-readable line
 * per figure. */
void report_print(const struct report *r, FILE *out);
/* Of the rounds in which both labels[label] and the peer measured workload
 * row w, how many there were (the return value) and in how many the label's
 * figure was the higher (*ahead): a lead that holds round by round, not
 * only in the medians. 0 without a peer, or for the peer itself. */
int report_rounds_ahead(const struct report *r, int w, int label, int *ahead);
/* Whether any figure had an error. */
int report_errors(const struct report *r);

#endif
