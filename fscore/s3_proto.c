#include "s3_proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

/* S3 allows 1024 bytes of UTF-8 in a key; anything longer is not a key. */
#define S3_KEY_MAX 1024

int s3_sha256_hex(const void *buf, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(len ? buf : "", len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -EIO;
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
	return 0;
}

static bool uri_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int s3_uri_encode(const char *in, bool keep_slash, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (uri_unreserved(*p) || (keep_slash && *p == '/')) {
			if (n + 1 >= cap)
				return -ENAMETOOLONG;
			out[n++] = (char)*p;
			continue;
		}
		if (n + 3 >= cap)
			return -ENAMETOOLONG;
		out[n++] = '%';
		out[n++] = hex[*p >> 4];
		out[n++] = hex[*p & 0xf];
	}
	if (n >= cap)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return (int)n;
}

/* Where the closing </tag> of an element whose content starts at body is. */
static const char *xml_close_tag(const char *body, const char *end, const char *tag, size_t tlen)
{
	const char *p = body;
	while (p < end) {
		const char *close = memmem(p, (size_t)(end - p), "</", 2);
		if (!close)
			return NULL;
		if ((size_t)(end - close) >= tlen + 3 && memcmp(close + 2, tag, tlen) == 0 &&
		    close[2 + tlen] == '>')
			return close;
		p = close + 2;
	}
	return NULL;
}

bool s3_xml_element(const char **cur, const char *end, const char *tag, const char **val,
		    size_t *vlen)
{
	size_t tlen = strlen(tag);
	const char *p = *cur;

	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (!lt || (size_t)(end - lt) < tlen + 2)
			return false;
		const char *name = lt + 1;
		p = name;
		/* "<Key" must not match "<KeyCount>". */
		if (memcmp(name, tag, tlen) != 0)
			continue;
		char c = name[tlen];
		if (c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			continue;
		const char *gt = memchr(name + tlen, '>', (size_t)(end - (name + tlen)));
		if (!gt)
			return false;
		if (gt[-1] == '/') {
			*val = gt + 1;
			*vlen = 0;
			*cur = gt + 1;
			return true;
		}
		const char *close = xml_close_tag(gt + 1, end, tag, tlen);
		if (!close)
			return false;
		*val = gt + 1;
		*vlen = (size_t)(close - (gt + 1));
		*cur = close + tlen + 3;
		return true;
	}
	return false;
}

/* Appends code point cp as UTF-8; 0 on success. */
static int utf8_put(uint32_t cp, char *out, size_t cap, size_t *n)
{
	unsigned char b[4];
	size_t k;

	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return -EINVAL;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (*n + k >= cap)
		return -ENAMETOOLONG;
	memcpy(out + *n, b, k);
	*n += k;
	return 0;
}

/* Decodes one entity body (between '&' and ';') into out. */
static int xml_entity(const char *ent, size_t len, char *out, size_t cap, size_t *n)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};

	if (len >= 2 && ent[0] == '#') {
		bool hex = ent[1] == 'x' || ent[1] == 'X';
		size_t i = hex ? 2 : 1;
		uint32_t cp = 0;
		if (i == len)
			return -EINVAL;
		for (; i < len; i++) {
			char c = ent[i];
			uint32_t d;
			if (c >= '0' && c <= '9')
				d = (uint32_t)(c - '0');
			else if (hex && c >= 'a' && c <= 'f')
				d = (uint32_t)(c - 'a' + 10);
			else if (hex && c >= 'A' && c <= 'F')
				d = (uint32_t)(c - 'A' + 10);
			else
				return -EINVAL;
			cp = cp * (hex ? 16 : 10) + d;
			if (cp > 0x10ffff)
				return -EINVAL;
		}
		return utf8_put(cp, out, cap, n);
	}
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		if (strlen(named[i].name) == len && memcmp(ent, named[i].name, len) == 0) {
			if (*n + 1 >= cap)
				return -ENAMETOOLONG;
			out[(*n)++] = named[i].c;
			return 0;
		}
	}
	return -EINVAL;
}

int s3_xml_text(const char *in, size_t len, char *out, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '<')
			return -EINVAL; /* markup (CDATA, nested elements) is not text */
		if (in[i] != '&') {
			if (n + 1 >= cap)
				return -ENAMETOOLONG;
			out[n++] = in[i];
			continue;
		}
		const char *semi = memchr(in + i + 1, ';', len - i - 1);
		/* Entities are short; a far ';' means a stray '&'. */
		if (!semi || semi - (in + i) > 12)
			return -EINVAL;
		int r = xml_entity(in + i + 1, (size_t)(semi - (in + i + 1)), out, cap, &n);
		if (r < 0)
			return r;
		i = (size_t)(semi - in);
	}
	out[n] = '\0';
	return (int)n;
}

void s3_error_code(const char *xml, size_t len, char *code, size_t cap)
{
	const char *cur = xml, *val;
	size_t vlen;

	if (cap == 0)
		return;
	code[0] = '\0';
	if (!xml || !s3_xml_element(&cur, xml + len, "Code", &val, &vlen))
		return;
	if (s3_xml_text(val, vlen, code, cap) < 0)
		code[0] = '\0';
}

/* "2024-05-01T12:34:56.000Z" to a time_t; 0 when it does not parse. */
static time_t parse_time(const char *s, size_t len)
{
	char buf[40];
	struct tm tm = {0};

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	return t == (time_t)-1 ? 0 : t;
}

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -EIO;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EIO;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EIO;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* One <Contents> element to an entry and a callback. */
static int list_entry(const char *c, size_t clen,
		      int (*cb)(const struct objstore_entry *e, void *arg), void *arg)
{
	char key[S3_KEY_MAX + 1];
	const char *cur, *val, *end = c + clen;
	size_t vlen;
	struct objstore_entry e = {.key = key};

	cur = c;
	if (!s3_xml_element(&cur, end, "Key", &val, &vlen) ||
	    s3_xml_text(val, vlen, key, sizeof(key)) <= 0)
		return -EIO;
	cur = c;
	if (!s3_xml_element(&cur, end, "Size", &val, &vlen) || parse_u64(val, vlen, &e.size) < 0)
		return -EIO;
	cur = c;
	if (s3_xml_element(&cur, end, "LastModified", &val, &vlen))
		e.mtime = parse_time(val, vlen);
	return cb(&e, arg);
}

int s3_list_page(const char *xml, size_t len, int (*cb)(const struct objstore_entry *e, void *arg),
		 void *arg, bool *truncated, char *token, size_t token_cap)
{
	const char *end = xml + len, *cur = xml, *val;
	size_t vlen;

	cur = xml;
	if (!s3_xml_element(&cur, end, "ListBucketResult", &val, &vlen))
		return -EIO;
	/* Keys are entity-encoded, so no key can fake the top-level elements. */
	const char *body = val, *body_end = val + vlen;

	*truncated = false;
	cur = body;
	if (s3_xml_element(&cur, body_end, "IsTruncated", &val, &vlen))
		*truncated = vlen == 4 && memcmp(val, "true", 4) == 0;
	if (*truncated) {
		cur = body;
		/* Without a token the next page would be this one again, forever. */
		if (!s3_xml_element(&cur, body_end, "NextContinuationToken", &val, &vlen) ||
		    s3_xml_text(val, vlen, token, token_cap) <= 0)
			return -EIO;
	}
	cur = body;
	while (s3_xml_element(&cur, body_end, "Contents", &val, &vlen)) {
		int r = list_entry(val, vlen, cb, arg);
		if (r != 0)
			return r;
	}
	return 0;
}
