/* The pattern: see bench_pattern.h. Reply data from libnfs sits wherever the
 * RPC header left it (4-byte aligned), so words are moved with memcpy, which
 * compiles to plain loads and stores. */
#include "bench_pattern.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Words compared before looking at the accumulated difference: a branch per
 * block rather than per word lets the compiler vectorise the loop. */
#define CHECK_BLOCK 64

/* splitmix64's finaliser: every input bit moves every output bit. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

int pattern_init(struct pattern *p, uint64_t run_seed)
{
	p->base = malloc(PATTERN_SPAN);
	if (!p->base)
		return -ENOMEM;
	for (uint64_t i = 0; i < PATTERN_WORDS; i++)
		p->base[i] = mix64(run_seed ^ mix64(i));
	return 0;
}

void pattern_free(struct pattern *p)
{
	free(p->base);
	p->base = NULL;
}

uint64_t pattern_seed(uint64_t run_seed, uint64_t stream)
{
	return mix64(run_seed + mix64(stream + 0x51ed));
}

static uint64_t span_key(uint64_t seed, uint64_t span)
{
	return mix64(seed ^ mix64(span));
}

void pattern_fill(const struct pattern *p, uint64_t seed, uint64_t off, void *buf, size_t len)
{
	unsigned char *dst = buf;
	while (len > 0) {
		size_t in = off % PATTERN_SPAN;
		size_t n = len < PATTERN_SPAN - in ? len : PATTERN_SPAN - in;
		uint64_t key = span_key(seed, off / PATTERN_SPAN);
		const uint64_t *src = p->base + in / 8;
		for (size_t i = 0; i < n / 8; i++) {
			uint64_t w = src[i] ^ key;
			memcpy(dst + 8 * i, &w, 8);
		}
		dst += n;
		off += n;
		len -= n;
	}
}

/* The first wrong byte among the words of a block known to differ. */
static size_t first_wrong(const unsigned char *got, const uint64_t *src, uint64_t key, size_t words)
{
	for (size_t i = 0; i < words; i++) {
		unsigned char want[8];
		uint64_t w = src[i] ^ key;
		memcpy(want, &w, 8);
		for (size_t k = 0; k < 8; k++)
			if (got[8 * i + k] != want[k])
				return 8 * i + k;
	}
	return 0;
}

/* Checks n bytes that lie within one span; -1 or the first wrong byte. */
static ssize_t check_span(const struct pattern *p, uint64_t seed, uint64_t off,
			  const unsigned char *got, size_t n)
{
	uint64_t key = span_key(seed, off / PATTERN_SPAN);
	const uint64_t *src = p->base + (off % PATTERN_SPAN) / 8;
	size_t words = n / 8;
	for (size_t i = 0; i < words; i += CHECK_BLOCK) {
		size_t m = words - i < CHECK_BLOCK ? words - i : CHECK_BLOCK;
		uint64_t diff = 0;
		for (size_t k = 0; k < m; k++) {
			uint64_t w;
			memcpy(&w, got + 8 * (i + k), 8);
			diff |= w ^ src[i + k] ^ key;
		}
		if (diff)
			return (ssize_t)(8 * i + first_wrong(got + 8 * i, src + i, key, m));
	}
	return -1;
}

ssize_t pattern_check(const struct pattern *p, uint64_t seed, uint64_t off, const void *buf,
		      size_t len)
{
	const unsigned char *got = buf;
	size_t done = 0;
	while (done < len) {
		size_t in = off % PATTERN_SPAN;
		size_t n = len - done < PATTERN_SPAN - in ? len - done : PATTERN_SPAN - in;
		ssize_t bad = check_span(p, seed, off, got + done, n);
		if (bad >= 0)
			return (ssize_t)done + bad;
		done += n;
		off += n;
	}
	return -1;
}
