#include "fhandle.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FH_MAGIC0  'M'
#define FH_MAGIC1  'C'
#define FH_VERSION 1

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void fh_encode(const struct fhandle *fh, uint8_t out[FH_SIZE])
{
	out[0] = FH_MAGIC0;
	out[1] = FH_MAGIC1;
	out[2] = FH_VERSION;
	out[3] = fh->flags;
	memcpy(out + 4, fh->volume, 16);
	put_be(out + 20, fh->ino, 8);
	put_be(out + 28, fh->generation, 4);
	put_be(out + 32, fh->export_id, 4);
}

int fh_parse(const uint8_t *buf, size_t len, struct fhandle *out)
{
	if (!buf || len != FH_SIZE || buf[0] != FH_MAGIC0 || buf[1] != FH_MAGIC1 ||
	    buf[2] != FH_VERSION)
		return -EBADMSG;
	out->flags = buf[3];
	memcpy(out->volume, buf + 4, 16);
	out->ino = get_be(buf + 20, 8);
	out->generation = (uint32_t)get_be(buf + 28, 4);
	out->export_id = (uint32_t)get_be(buf + 32, 4);
	return 0;
}

int fh_decode(const uint8_t *buf, size_t len, const uint8_t volume[16], struct fhandle *out)
{
	int r = fh_parse(buf, len, out);
	if (r < 0)
		return r;
	if (memcmp(out->volume, volume, 16) != 0)
		return -ESTALE;
	return out->ino == 0 ? -EBADMSG : 0;
}

int fh_parse_uuid(const char *text, uint8_t out[16])
{
	int n = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '-')
			continue;
		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) || n == 16)
			return -EINVAL;
		char hex[3] = {p[0], p[1], 0};
		out[n++] = (uint8_t)strtoul(hex, NULL, 16);
		p++;
	}
	return n == 16 ? 0 : -EINVAL;
}
