/*
 * Sizes and durations as operators type them on command lines and in
 * mcfs.conf(5). Parsing is strict: a value that is not exactly understood is
 * refused, because a silently misread cache size or deletion delay is far
 * worse than an error at start-up.
 *
 * Sizes:     NUMBER [blanks] [UNIT], UNIT one of B, K, KB, KiB, M, MB, MiB, G,
 *            T, P, E (any case); every multiple is binary (K = 1024), since
 *            "MB" meaning 10^6 next to "MiB" would invite off-by-5% caches.
 * Durations: a bare NUMBER of seconds, or NUMBER UNIT pairs with UNIT one of
 *            s, m, h, d, w, largest first and each at most once ("1h30m").
 *            Lower case only: "M" could be read as months.
 * NUMBER may have a fractional part when the result is a whole number of
 * bytes or seconds ("1.5G", "1.5h"); "0.5" bytes is an error, not a rounding.
 */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* 10^19 is the largest power of ten a uint64_t holds. */
#define MAX_FRAC_DIGITS 19

struct decimal {
	uint64_t whole;
	uint64_t frac;	      /* the digits after the point, trailing zeros dropped */
	unsigned frac_digits; /* how many of them */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static uint64_t pow10_u64(unsigned n)
{
	uint64_t p = 1;
	while (n--)
		p *= 10;
	return p;
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* Reads DIGITS[.DIGITS] at *sp and advances *sp past it. No sign, no exponent,
 * no leading point: none of them has a use in a size or a delay. */
static int decimal_parse(const char **sp, struct decimal *d)
{
	const char *s = *sp;

	if (!is_digit(*s))
		return -EINVAL;
	d->whole = 0;
	for (; is_digit(*s); s++) {
		if (__builtin_mul_overflow(d->whole, 10, &d->whole) ||
		    __builtin_add_overflow(d->whole, (uint64_t)(*s - '0'), &d->whole))
			return -EINVAL;
	}
	d->frac = 0;
	d->frac_digits = 0;
	if (*s == '.') {
		const char *start = ++s;
		while (is_digit(*s))
			s++;
		if (s == start)
			return -EINVAL;
		const char *end = s;
		while (end > start && end[-1] == '0')
			end--;
		if (end - start > MAX_FRAC_DIGITS)
			return -EINVAL;
		for (const char *p = start; p < end; p++)
			d->frac = d->frac * 10 + (uint64_t)(*p - '0');
		d->frac_digits = (unsigned)(end - start);
	}
	*sp = s;
	return 0;
}

/* d * mult, refused unless the product is a whole number that fits. */
static int decimal_scale(const struct decimal *d, uint64_t mult, uint64_t *out)
{
	uint64_t v;

	if (__builtin_mul_overflow(d->whole, mult, &v))
		return -EINVAL;
	if (d->frac_digits) {
		/* frac * mult / 10^n is whole iff frac is a multiple of 10^n / g,
		 * g = gcd(mult, 10^n); the quotient times mult / g stays below mult,
		 * so only the final addition can overflow. */
		uint64_t p10 = pow10_u64(d->frac_digits);
		uint64_t g = gcd_u64(mult, p10);
		uint64_t den = p10 / g;

		if (d->frac % den)
			return -EINVAL;
		if (__builtin_add_overflow(v, d->frac / den * (mult / g), &v))
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Binary shift of a size unit: "" and "B" are bytes, then K M G T P E, each
 * optionally followed by "B" or "iB". */
static int size_unit_shift(const char *u, unsigned *shift)
{
	static const char letters[] = "kmgtpe";

	if (*u == '\0' || strcasecmp(u, "b") == 0) {
		*shift = 0;
		return 0;
	}
	const char *l = strchr(letters, tolower((unsigned char)*u));
	if (!l)
		return -EINVAL;
	const char *rest = u + 1;
	if (*rest && strcasecmp(rest, "b") != 0 && strcasecmp(rest, "ib") != 0)
		return -EINVAL;
	*shift = 10 * (unsigned)(l - letters + 1);
	return 0;
}

int size_parse(const char *s, uint64_t *out)
{
	struct decimal d;
	unsigned shift;
	uint64_t v;

	if (!s || !out || decimal_parse(&s, &d))
		return -EINVAL;
	/* Blanks only between number and unit, so "4.0 MiB" (size_format's
	 * output) reads back but "4 " does not. */
	if (*s == ' ') {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return -EINVAL;
	}
	if (size_unit_shift(s, &shift) || decimal_scale(&d, UINT64_C(1) << shift, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

static const struct {
	char unit;
	uint64_t seconds;
} duration_units[] = {
    {'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1},
};
#define N_DURATION_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

static int duration_unit_index(char c)
{
	for (size_t i = 0; i < N_DURATION_UNITS; i++)
		if (duration_units[i].unit == c)
			return (int)i;
	return -1;
}

int duration_parse(const char *s, uint64_t *out_seconds)
{
	struct decimal d;
	uint64_t total = 0, part;
	int prev = -1;

	if (!s || !out_seconds || decimal_parse(&s, &d))
		return -EINVAL;
	if (*s == '\0') {
		if (decimal_scale(&d, 1, &total))
			return -EINVAL;
		*out_seconds = total;
		return 0;
	}
	for (;;) {
		int u = duration_unit_index(*s);
		/* Largest unit first, each once: "30m1h" and "1h1h" are typos. */
		if (u <= prev)
			return -EINVAL;
		if (decimal_scale(&d, duration_units[u].seconds, &part) ||
		    __builtin_add_overflow(total, part, &total))
			return -EINVAL;
		prev = u;
		if (*++s == '\0')
			break;
		/* "1h30" leaves the unit of the 30 to guesswork. */
		if (decimal_parse(&s, &d) || *s == '\0')
			return -EINVAL;
	}
	*out_seconds = total;
	return 0;
}

void size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	unsigned i = 0;

	if (!buf || len == 0)
		return;
	while (i + 1 < sizeof(names) / sizeof(names[0]) && bytes >> (10 * (i + 1)))
		i++;
	if (i == 0) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return;
	}
	for (;;) {
		uint64_t unit = UINT64_C(1) << (10 * i);
		uint64_t whole = bytes >> (10 * i);
		/* rem * 10 + unit / 2 < 2^64 even for EiB (unit = 2^60). */
		uint64_t tenths = ((bytes & (unit - 1)) * 10 + unit / 2) >> (10 * i);

		if (tenths == 10) {
			whole++;
			tenths = 0;
		}
		/* 1023.96 KiB reads better as 1.0 MiB. */
		if (whole == 1024 && i + 1 < sizeof(names) / sizeof(names[0])) {
			i++;
			continue;
		}
		snprintf(buf, len, "%llu.%llu %s", (unsigned long long)whole,
			 (unsigned long long)tenths, names[i]);
		return;
	}
}
