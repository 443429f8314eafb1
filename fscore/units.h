/* Human sizes and durations: "4M", "64MiB", "1G", "512k"; "30s", "5m", "2h", "1d". */
#ifndef MCFS_UNITS_H
#define MCFS_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Binary multiples (K = 1024). Returns 0 or -EINVAL (garbage, overflow, negative). */
int size_parse(const char *s, uint64_t *out);
/* Seconds; a bare number is seconds. Returns 0 or -EINVAL. */
int duration_parse(const char *s, uint64_t *out_seconds);
/* "4.0 MiB" style, for messages. */
void size_format(uint64_t bytes, char *buf, size_t len);

#endif
