/* One-off NFSv3 requests of mcfs-nfsbench, outside the timed loops: making
 * and removing the run's directory and big file, the COMMIT that ends
 * seqwrite, a LOOKUP for a server that creates without returning a handle.
 * Each sends one request on a spare slot and waits for it; errors land in
 * b->cur. All return 0 or negative errno. */
#ifndef MCFS_BENCH_OPS_H
#define MCFS_BENCH_OPS_H

#include "bench.h"

struct bench_commit {
	writeverf3 verf;
	uint64_t ns; /* latency */
};

/* MKDIR name in dir, failing if it exists. */
int ops_mkdir(struct bench *b, const struct bench_fh *dir, const char *name, struct bench_fh *out);
/* CREATE GUARDED, mode 0644. */
int ops_create(struct bench *b, const struct bench_fh *dir, const char *name, struct bench_fh *out);
int ops_lookup(struct bench *b, const struct bench_fh *dir, const char *name, struct bench_fh *out);
/* COMMIT of the whole file. */
int ops_commit(struct bench *b, const struct bench_fh *fh, struct bench_commit *out);
int ops_remove(struct bench *b, const struct bench_fh *dir, const char *name);
int ops_rmdir(struct bench *b, const struct bench_fh *dir, const char *name);

/* The arguments of a CREATE GUARDED, mode 0644 (name is not copied). */
void ops_create_args(CREATE3args *a, const struct bench_fh *dir, char *name);

#endif
