#include "layout.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int layout_block_key(char *buf, size_t buflen, const char *volume, uint64_t slice_id,
		     uint32_t index, uint32_t block_len)
{
	int n = snprintf(buf, buflen, "%s/chunks/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "_%u_%u", volume,
			 slice_id / 1000000, slice_id / 1000, slice_id, index, block_len);
	if (n < 0 || (size_t)n >= buflen)
		return -ENAMETOOLONG;
	return n;
}

int layout_parse_block_key(const char *key, const char *volume, uint64_t *slice_id, uint32_t *index,
			   uint32_t *block_len)
{
	size_t vlen = strlen(volume);
	if (strncmp(key, volume, vlen) != 0 || strncmp(key + vlen, "/chunks/", 8) != 0)
		return -EINVAL;
	uint64_t d1, d2, id;
	uint32_t idx, len;
	int consumed = 0;
	if (sscanf(key + vlen + 8, "%" SCNu64 "/%" SCNu64 "/%" SCNu64 "_%u_%u%n", &d1, &d2, &id,
		   &idx, &len, &consumed) != 5 ||
	    key[vlen + 8 + (size_t)consumed] != '\0')
		return -EINVAL;
	if (d1 != id / 1000000 || d2 != id / 1000 || len == 0)
		return -EINVAL;
	char again[512];
	/* Reject non-canonical spellings (leading zeros, '+'), which no writer makes. */
	if (layout_block_key(again, sizeof(again), volume, id, idx, len) < 0 || strcmp(again, key))
		return -EINVAL;
	*slice_id = id;
	*index = idx;
	*block_len = len;
	return 0;
}

int layout_check_block_size(uint64_t block_size)
{
	if (block_size < MCFS_MIN_BLOCK_SIZE || block_size > MCFS_MAX_BLOCK_SIZE)
		return -EINVAL;
	if (block_size & (block_size - 1))
		return -EINVAL;
	return MCFS_CHUNK_SIZE % block_size == 0 ? 0 : -EINVAL;
}

int layout_check_volume_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 63 || name[0] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(islower(c) || isdigit(c) || c == '-'))
			return -EINVAL;
	}
	return 0;
}
