/* The small-file workloads of mcfs-nfsbench, on o.files files f000000... in
 * the run's directory: create (CREATE GUARDED then a 4 KiB FILE_SYNC WRITE
 * of the file's pattern: one file, two RPCs), stat (LOOKUP by name, the
 * attributes checked), readdir (every connection lists the whole directory
 * with READDIRPLUS, each listing checked for exactly the files) and remove.
 * Each fills b->res[its workload]; 0 or negative errno. */
#ifndef MCFS_BENCH_META_H
#define MCFS_BENCH_META_H

#include "bench.h"

int meta_create(struct bench *b);
int meta_stat(struct bench *b);
int meta_readdir(struct bench *b);
/* timed: the remove workload; otherwise the cleanup of what is left,
 * errors in b->cur. */
int meta_remove(struct bench *b, bool timed);

/* Untimed: reads back every 97th small file and checks its content, so a
 * server that loses small writes does not look fast. Errors count against
 * create. */
int meta_verify(struct bench *b);

#endif
