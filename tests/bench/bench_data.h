/* The big-file workloads of mcfs-nfsbench: seqwrite (UNSTABLE WRITEs of
 * b->io_size handed out from a shared counter to all connections, then a
 * COMMIT, inside the timing), seqread (the whole file, every byte checked)
 * and randread (4 KiB at random aligned offsets, every byte checked). Each
 * fills b->res[its workload]; 0 or negative errno. */
#ifndef MCFS_BENCH_DATA_H
#define MCFS_BENCH_DATA_H

#include "bench.h"

int data_seqwrite(struct bench *b);
int data_seqread(struct bench *b);
int data_randread(struct bench *b);

/* Untimed: one 4 KiB READ in every io_size span of the big file, checked;
 * for runs without seqread, so a server that loses writes still shows.
 * Errors count against seqwrite. */
int data_verify(struct bench *b);

struct bench_slot;
/* Sends a READ of len bytes at off of fh, to be checked against the pattern
 * of seed and for eof at fsize. file >= 0 names a small file in messages.
 * As an issue function returns: 1, or negative errno. */
int data_read_send(struct bench_slot *s, const struct bench_fh *fh, uint64_t off, uint32_t len,
		   uint64_t seed, uint64_t fsize, int64_t file);

/* An untimed run of issue whose errors also count against r. */
int data_check_run(struct bench *b, struct bench_result *r, bench_issue_fn issue);

#endif
