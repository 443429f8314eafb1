/*
 * The replication engine of mcfs-replicator (DESIGN.md §7): one consumer of
 * target region R's group on the change log. It copies the blocks of every
 * committed slice into R's bucket with many copies in flight, acknowledges
 * an entry only once all its blocks are verified there (a crash at any
 * moment loses nothing: unacknowledged entries are delivered again), takes
 * over the entries of silent workers, publishes lag and low watermark, and
 * applies R's deletion log.
 */
#ifndef MCFS_REPLICATOR_H
#define MCFS_REPLICATOR_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct replicator_options {
	const char *meta_url;	       /* the source primary */
	const char *meta_password;     /* NULL: from the URL, else none */
	const char *region;	       /* target region R */
	const char *consumer;	       /* this worker's name in R's group */
	const struct mcfs_config *cfg; /* S3 credentials; copied */
	unsigned transfers;	       /* block copies in flight */
	uint64_t bandwidth;	       /* bytes per second written to R; 0 = unlimited */
	uint64_t claim_after_s;	       /* entries idle this long are taken over */
	uint64_t deletion_delay_s;
	bool once; /* return once the group has nothing left and deletions are applied */
	/* Set (by a signal handler) to stop: in-flight copies finish first. */
	const volatile sig_atomic_t *stop_flag;
};

struct replicator;

int replicator_create(const struct replicator_options *o, struct replicator **out);
/* Connects, retrying as long as the metadata server cannot be reached, then
 * works until stopped (or, with once, caught up). 0 after a clean stop, or a
 * negative errno for what no retry fixes (no volume, unknown region, a
 * region without a bucket, a read-only server, refused credentials), with
 * err saying why. */
int replicator_run(struct replicator *r, char *err, size_t errlen);
void replicator_destroy(struct replicator *r);

#endif
