/*
 * Redis commands in RESP, formatted straight into one buffer. hiredis's own
 * formatter goes through sprintf for every length, which showed up as a
 * sixth of the gateway's instructions per metadata operation.
 */
#ifndef MCFS_RESP_H
#define MCFS_RESP_H

#include <stddef.h>
#include <stdint.h>

/* Decimal digits of x into out (at least 21 bytes), NUL-terminated; returns the length. */
size_t resp_u64(char *out, uint64_t x);
/* The command argv[0..argc) as one RESP array (lens NULL: C strings); *out
 * is malloc'd (free()).
 * Returns its length, or -ENOMEM. */
long resp_format(char **out, int argc, const char *const *argv, const size_t *lens);

#endif
