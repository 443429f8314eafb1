#include "resp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t resp_u64(char *out, uint64_t x)
{
	char tmp[21];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + x % 10);
		x /= 10;
	} while (x);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

/* "<c><n>\r\n" at p; returns the end. */
static char *header(char *p, char c, uint64_t n)
{
	*p++ = c;
	p += resp_u64(p, n);
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

long resp_format(char **out, int argc, const char *const *argv, const size_t *lens)
{
	/* Each header is at most 1 + 20 digits + CRLF. */
	size_t total = 23;
	for (int i = 0; i < argc; i++)
		total += 23 + (lens ? lens[i] : strlen(argv[i])) + 2;
	char *buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	char *p = header(buf, '*', (uint64_t)argc);
	for (int i = 0; i < argc; i++) {
		size_t len = lens ? lens[i] : strlen(argv[i]);
		p = header(p, '$', len);
		memcpy(p, argv[i], len);
		p += len;
		*p++ = '\r';
		*p++ = '\n';
	}
	*out = buf;
	return (long)(p - buf);
}
