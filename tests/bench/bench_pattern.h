/* Verifiable file contents for mcfs-nfsbench. The 8-byte word at offset o of
 * a file with seed s is base[(o / 8) % PATTERN_WORDS] ^ key(s, o / PATTERN_SPAN):
 * base is one table of random words made once per run, key a 64-bit mix of
 * the seed and the span number. Writing a MiB is then one XOR pass over the
 * table and checking it one compare pass, cheap enough for a client that
 * shares its two cores with the server; yet data from another offset, span
 * or file, zeros or a stale copy all differ in (almost) every word. */
#ifndef MCFS_BENCH_PATTERN_H
#define MCFS_BENCH_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PATTERN_SPAN  (1u << 20)
#define PATTERN_WORDS (PATTERN_SPAN / 8)

struct pattern {
	uint64_t *base; /* PATTERN_WORDS words */
};

/* 0 or -ENOMEM. */
int pattern_init(struct pattern *p, uint64_t run_seed);
void pattern_free(struct pattern *p);

/* The seed of the file numbered stream (0: the big file, 1 + i: small file i). */
uint64_t pattern_seed(uint64_t run_seed, uint64_t stream);

/* off and len are multiples of 8. */
void pattern_fill(const struct pattern *p, uint64_t seed, uint64_t off, void *buf, size_t len);

/* The index in buf of the first byte that is not the pattern's, or -1 when
 * all len bytes are right. off and len are multiples of 8. */
ssize_t pattern_check(const struct pattern *p, uint64_t seed, uint64_t off, const void *buf,
		      size_t len);

#endif
