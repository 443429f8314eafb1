/*
 * Metadata and bucket URLs from the command line and mcfs.conf(5).
 *
 * Metadata (Redis):
 *   redis://[[USER][:PASSWORD]@]HOST[:PORT][/DB]
 *   redis+unix://[[USER][:PASSWORD]@]/ABS/PATH/TO/SOCKET[?db=N]   (also unix://)
 * HOST is a name, an IPv4 address or a bracketed IPv6 address; PORT defaults
 * to 6379 and DB to 0. USER and PASSWORD are percent-decoded; PASSWORD may
 * also hold '/', '?', '#', ':' and '@' unescaped, since only the last '@'
 * ends it. The scheme is case-insensitive. rediss:// (TLS) is refused.
 *
 * Buckets:
 *   file:///ABS/DIR                    a local directory
 *   http[s]://HOST[:PORT]/BUCKET[/]    S3, path style
 * Credentials, key prefixes, queries and fragments are refused.
 *
 * Error messages never quote any part of a metadata URL (a mistyped one may
 * carry a password anywhere), and quote only the bucket name of a bucket URL.
 */
/* url.h uses size_t without including its header. */
#include <stddef.h>

#include "url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#define REDIS_DEFAULT_PORT 6379
#define SUN_PATH_MAX	   (sizeof(((struct sockaddr_un *)0)->sun_path))

static int url_error(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int url_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
	if (errbuf && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* If url starts with "SCHEME://" (any case), points *rest after it. */
static bool scheme_is(const char *url, const char *scheme, const char **rest)
{
	size_t n = strlen(scheme);

	if (strncasecmp(url, scheme, n) != 0 || strncmp(url + n, "://", 3) != 0)
		return false;
	*rest = url + n + 3;
	return true;
}

static bool has_control_char(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes len bytes of s into out (NUL-terminated). A decoded NUL would cut
 * the value short behind our back, so it is refused like a bad escape. */
static int percent_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			if (len - i < 3)
				return -EINVAL;
			int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* USER[:PASSWORD], the part of a metadata URL before its '@'. */
static int userinfo_parse(const char *s, size_t len, struct meta_url *out, char *errbuf,
			  size_t errlen)
{
	const char *colon = memchr(s, ':', len);
	size_t ulen = colon ? (size_t)(colon - s) : len;
	int rc;

	if (has_control_char(s, len))
		return url_error(errbuf, errlen,
				 "metadata URL: control character in the user name or password");
	/* Such a "user name" is more likely a stray '@' further on than a name. */
	if (strcspn(s, "/?#[]") < ulen)
		return url_error(
		    errbuf, errlen,
		    "metadata URL: invalid character in the user name (percent-encode it)");
	rc = percent_decode(s, ulen, out->user, sizeof(out->user));
	if (rc == -ENAMETOOLONG)
		return url_error(errbuf, errlen,
				 "metadata URL: user name is too long (at most %zu bytes)",
				 sizeof(out->user) - 1);
	if (rc)
		return url_error(errbuf, errlen,
				 "metadata URL: invalid percent-encoding in the user name");
	if (!colon)
		return 0;
	rc = percent_decode(colon + 1, len - ulen - 1, out->password, sizeof(out->password));
	if (rc == -ENAMETOOLONG)
		return url_error(errbuf, errlen,
				 "metadata URL: password is too long (at most %zu bytes)",
				 sizeof(out->password) - 1);
	if (rc)
		return url_error(
		    errbuf, errlen,
		    "metadata URL: invalid percent-encoding in the password (write '%%' as %%25)");
	return 0;
}

static bool is_host_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

/* Digits only, 1-65535. */
static int port_parse(const char *s, size_t len, int *port)
{
	int v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
		if (v > 65535)
			return -EINVAL;
	}
	if (v == 0)
		return -EINVAL;
	*port = v;
	return 0;
}

/* HOST[:PORT] or [IPV6][:PORT], len bytes of s; host gets no brackets. *port is
 * left alone when none is given. */
static int hostport_parse(const char *s, size_t len, char *host, size_t hostcap, bool *v6,
			  int *port, const char *what, char *errbuf, size_t errlen)
{
	const char *end = s + len, *p;
	size_t hlen;

	*v6 = s < end && *s == '[';
	if (*v6) {
		const char *close = memchr(s, ']', len);
		struct in6_addr a;

		if (!close)
			return url_error(errbuf, errlen, "%s: missing ']' after the IPv6 address",
					 what);
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= hostcap)
			return url_error(errbuf, errlen, "%s: invalid IPv6 address", what);
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &a) != 1)
			return url_error(errbuf, errlen, "%s: invalid IPv6 address", what);
		p = close + 1;
		if (p < end && *p != ':')
			return url_error(errbuf, errlen,
					 "%s: unexpected character after the IPv6 address", what);
	} else {
		p = memchr(s, ':', len);
		if (!p)
			p = end;
		hlen = (size_t)(p - s);
		if (hlen == 0)
			return url_error(errbuf, errlen, "%s: missing host", what);
		if (hlen >= hostcap)
			return url_error(errbuf, errlen,
					 "%s: host name is too long (at most %zu bytes)", what,
					 hostcap - 1);
		for (size_t i = 0; i < hlen; i++)
			if (!is_host_char(s[i]))
				return url_error(errbuf, errlen,
						 "%s: invalid character in the host name", what);
		memcpy(host, s, hlen);
		host[hlen] = '\0';
	}
	if (p < end && port_parse(p + 1, (size_t)(end - p - 1), port))
		return url_error(errbuf, errlen, "%s: invalid port (a number from 1 to 65535)",
				 what);
	return 0;
}

/* Digits only, 0..INT_MAX. */
static int db_parse(const char *s, int *db, char *errbuf, size_t errlen)
{
	long long v = 0;

	if (*s == '\0')
		goto bad;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			goto bad;
		v = v * 10 + (*s - '0');
		if (v > INT32_MAX)
			goto bad;
	}
	*db = (int)v;
	return 0;
bad:
	return url_error(errbuf, errlen, "metadata URL: the database must be a number from 0 to %d",
			 INT32_MAX);
}

static int redis_tcp_parse(const char *rest, struct meta_url *out, char *errbuf, size_t errlen)
{
	const char *at = strrchr(rest, '@');
	const char *hp = rest, *slash;
	bool v6;
	int rc;

	if (at) {
		rc = userinfo_parse(rest, (size_t)(at - rest), out, errbuf, errlen);
		if (rc)
			return rc;
		hp = at + 1;
	}
	if (strpbrk(hp, "?#"))
		return url_error(errbuf, errlen,
				 "metadata URL: query strings and fragments are not supported; "
				 "use redis://HOST[:PORT][/DB]");
	slash = strchr(hp, '/');
	out->port = REDIS_DEFAULT_PORT;
	rc = hostport_parse(hp, slash ? (size_t)(slash - hp) : strlen(hp), out->host,
			    sizeof(out->host), &v6, &out->port, "metadata URL", errbuf, errlen);
	if (rc)
		return rc;
	/* "redis://HOST/" is database 0, as in redis-cli. */
	if (slash && slash[1])
		return db_parse(slash + 1, &out->db, errbuf, errlen);
	return 0;
}

static int redis_unix_parse(const char *rest, struct meta_url *out, char *errbuf, size_t errlen)
{
	const char *path = rest, *q;
	size_t plen;
	int rc;

	if (*rest != '/') {
		const char *at = strstr(rest, "@/");
		if (!at)
			return url_error(errbuf, errlen,
					 "metadata URL: redis+unix takes an absolute socket path: "
					 "redis+unix:///PATH/TO/SOCKET[?db=N]");
		rc = userinfo_parse(rest, (size_t)(at - rest), out, errbuf, errlen);
		if (rc)
			return rc;
		path = at + 1;
	}
	q = strchr(path, '?');
	plen = q ? (size_t)(q - path) : strlen(path);
	if (plen <= 1)
		return url_error(errbuf, errlen, "metadata URL: missing socket path");
	if (plen >= SUN_PATH_MAX || plen >= sizeof(out->unix_path))
		return url_error(errbuf, errlen,
				 "metadata URL: socket path is too long (at most %zu bytes)",
				 SUN_PATH_MAX - 1);
	if (has_control_char(path, plen) || memchr(path, '#', plen))
		return url_error(errbuf, errlen,
				 "metadata URL: invalid character in the socket path");
	memcpy(out->unix_path, path, plen);
	out->unix_path[plen] = '\0';
	out->port = 0;
	if (!q)
		return 0;
	if (strncmp(q + 1, "db=", 3) != 0)
		return url_error(errbuf, errlen,
				 "metadata URL: the only parameter redis+unix takes is ?db=N");
	return db_parse(q + 4, &out->db, errbuf, errlen);
}

int meta_url_parse(const char *url, struct meta_url *out, char *errbuf, size_t errlen)
{
	const char *rest;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!url || !*url)
		rc = url_error(errbuf, errlen,
			       "metadata URL is empty; expected redis://HOST[:PORT][/DB]");
	else if (scheme_is(url, "redis", &rest))
		rc = redis_tcp_parse(rest, out, errbuf, errlen);
	else if (scheme_is(url, "redis+unix", &rest) || scheme_is(url, "unix", &rest))
		rc = redis_unix_parse(rest, out, errbuf, errlen);
	else if (scheme_is(url, "rediss", &rest))
		rc = url_error(errbuf, errlen,
			       "metadata URL: rediss:// (TLS) is not supported; "
			       "use redis:// or redis+unix://");
	else
		rc = url_error(errbuf, errlen,
			       "metadata URL must be redis://HOST[:PORT][/DB] or "
			       "redis+unix:///PATH/TO/SOCKET[?db=N]");
	/* Leave no half-parsed password behind. */
	if (rc)
		explicit_bzero(out, sizeof(*out));
	return rc;
}

static bool has_affix(const char *name, size_t len, const char *affix, bool prefix)
{
	size_t n = strlen(affix);

	if (n > len)
		return false;
	return memcmp(prefix ? name : name + len - n, affix, n) == 0;
}

/* Why name breaks the S3 bucket naming rules, or NULL. */
static const char *bucket_name_problem(const char *name, size_t len)
{
	static const char *const prefixes[] = {"xn--", "sthree-", "amzn-s3-demo-"};
	static const char *const suffixes[] = {"-s3alias", "--ol-s3", ".mrap", "--x-s3",
					       "--table-s3"};
	char buf[64];
	struct in_addr a;

	if (len < 3 || len > 63)
		return "must be 3 to 63 characters long";
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
		    name[i] != '.' && name[i] != '-')
			return "may hold only lower-case letters, digits, '.' and '-'";
	if (!isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[len - 1]))
		return "must begin and end with a letter or a digit";
	if (memmem(name, len, "..", 2))
		return "must not hold two dots in a row";
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a) == 1)
		return "must not look like an IP address";
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (has_affix(name, len, prefixes[i], true))
			return "starts with a prefix that S3 reserves";
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (has_affix(name, len, suffixes[i], false))
			return "ends with a suffix that S3 reserves";
	return NULL;
}

static bool is_printable_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static int bucket_file_parse(const char *rest, struct bucket_url *out, char *errbuf, size_t errlen)
{
	size_t len = strlen(rest);

	if (*rest != '/')
		return url_error(
		    errbuf, errlen,
		    "bucket URL: a file URL takes an absolute path and no host: file:///DIR");
	while (len > 1 && rest[len - 1] == '/')
		len--;
	if (len == 1)
		return url_error(
		    errbuf, errlen,
		    "bucket URL: file:/// is the root directory; name a directory of its "
		    "own, e.g. file:///var/lib/mcfs/bucket");
	/* Paths are taken literally, so these can only be a mistaken query or fragment. */
	if (memchr(rest, '?', len) || memchr(rest, '#', len))
		return url_error(errbuf, errlen,
				 "bucket URL: a file URL takes no query or fragment");
	if (has_control_char(rest, len))
		return url_error(errbuf, errlen, "bucket URL: control character in the path");
	if (len >= sizeof(out->path))
		return url_error(errbuf, errlen, "bucket URL: path is too long (at most %zu bytes)",
				 sizeof(out->path) - 1);
	memcpy(out->path, rest, len);
	out->path[len] = '\0';
	out->kind = BUCKET_FILE;
	return 0;
}

static int bucket_s3_parse(const char *scheme, const char *rest, struct bucket_url *out,
			   char *errbuf, size_t errlen)
{
	const char *slash, *name, *why;
	char host[256];
	size_t nlen;
	int port = 0;
	bool v6;
	int rc;

	/* Anywhere, since an unescaped '/' in a secret moves the '@' past the host. */
	if (strchr(rest, '@'))
		return url_error(errbuf, errlen,
				 "bucket URL: credentials do not belong in a URL; put them in the "
				 "config file ([s3] access_key and secret_key, mode 0600) or in "
				 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
	if (strpbrk(rest, "?#"))
		return url_error(errbuf, errlen,
				 "bucket URL: query strings and fragments are not supported");
	slash = strchr(rest, '/');
	rc = hostport_parse(rest, slash ? (size_t)(slash - rest) : strlen(rest), host, sizeof(host),
			    &v6, &port, "bucket URL", errbuf, errlen);
	if (rc)
		return rc;
	name = slash ? slash + 1 : "";
	nlen = strcspn(name, "/");
	if (nlen == 0)
		return url_error(errbuf, errlen,
				 "bucket URL must name a bucket: %s://HOST[:PORT]/BUCKET", scheme);
	if (name[nlen] == '/' && name[nlen + 1] != '\0')
		return url_error(errbuf, errlen,
				 "bucket URL: nothing may follow the bucket name "
				 "(key prefixes are not supported)");
	why = bucket_name_problem(name, nlen);
	if (why && is_printable_ascii(name, nlen))
		return url_error(errbuf, errlen, "bucket URL: invalid bucket name '%.*s': it %s",
				 (int)(nlen > 64 ? 64 : nlen), name, why);
	if (why)
		return url_error(errbuf, errlen, "bucket URL: invalid bucket name: it %s", why);
	memcpy(out->bucket, name, nlen);
	out->bucket[nlen] = '\0';
	rc = snprintf(out->endpoint, sizeof(out->endpoint), "%s://%s%s%s", scheme, v6 ? "[" : "",
		      host, v6 ? "]" : "");
	if (port)
		snprintf(out->endpoint + rc, sizeof(out->endpoint) - (size_t)rc, ":%d", port);
	out->kind = BUCKET_S3;
	out->tls = strcmp(scheme, "https") == 0;
	return 0;
}

int bucket_url_parse(const char *url, struct bucket_url *out, char *errbuf, size_t errlen)
{
	const char *rest;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!url || !*url)
		rc = url_error(errbuf, errlen, "bucket URL is empty");
	else if (scheme_is(url, "file", &rest))
		rc = bucket_file_parse(rest, out, errbuf, errlen);
	else if (scheme_is(url, "http", &rest))
		rc = bucket_s3_parse("http", rest, out, errbuf, errlen);
	else if (scheme_is(url, "https", &rest))
		rc = bucket_s3_parse("https", rest, out, errbuf, errlen);
	else if (scheme_is(url, "s3", &rest))
		rc = url_error(errbuf, errlen,
			       "bucket URL: s3:// is not supported; name the endpoint, path style: "
			       "https://HOST[:PORT]/BUCKET");
	else if (*url == '/')
		rc = url_error(errbuf, errlen,
			       "bucket URL: a bare path is not a URL; write file:///DIR");
	else
		rc = url_error(errbuf, errlen,
			       "bucket URL must be file:///DIR, http://HOST[:PORT]/BUCKET or "
			       "https://HOST[:PORT]/BUCKET");
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}
