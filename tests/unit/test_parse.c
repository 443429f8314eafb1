/*
 * Sizes, durations, metadata and bucket URLs, and mcfs.conf(5) files: tables
 * of inputs that must be read exactly, and of inputs that must be refused.
 */
#include <stddef.h>

#include "cunit_main.h"
#include "proc.h"

#include "config.h"
#include "units.h"
#include "url.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KiB	      (UINT64_C(1) << 10)
#define MiB	      (UINT64_C(1) << 20)
#define GiB	      (UINT64_C(1) << 30)
#define TiB	      (UINT64_C(1) << 40)

/* CU_ASSERT names only the expression; a table test must also say which row. */
#define EXPECT(cond, ...)                                                                          \
	do {                                                                                       \
		bool ok_ = (cond);                                                                 \
		if (!ok_) {                                                                        \
			fprintf(stderr, "\n    %s:%d: %s: ", __FILE__, __LINE__, #cond);           \
			fprintf(stderr, __VA_ARGS__);                                              \
		}                                                                                  \
		CU_ASSERT(ok_);                                                                    \
	} while (0)

#define SECRET "TOPSECRET"

/* ------------------------------------------------------------------ sizes */

static const struct {
	const char *in;
	uint64_t want;
} size_good[] = {
    {"0", 0},
    {"1", 1},
    {"512", 512},
    {"512B", 512},
    {"512b", 512},
    {"4k", 4 * KiB},
    {"64K", 64 * KiB},
    {"64KB", 64 * KiB},
    {"64KiB", 64 * KiB},
    {"4M", 4 * MiB},
    {"4m", 4 * MiB},
    {"4MiB", 4 * MiB},
    {"4mib", 4 * MiB},
    {"4MB", 4 * MiB},
    {"4 M", 4 * MiB},
    {"4.0 MiB", 4 * MiB},
    {"1G", GiB},
    {"10G", 10 * GiB},
    {"1T", TiB},
    {"2P", 2 * 1024 * TiB},
    {"1E", UINT64_C(1) << 60},
    {"15E", UINT64_C(15) << 60},
    {"1.5G", GiB + GiB / 2},
    {"1.5K", 1536},
    {"0.5K", 512},
    {"1.25k", 1280},
    {"0.001953125K", 2},
    {"1.500000000000000000000000000G", GiB + GiB / 2},
    {"007M", 7 * MiB},
    {"18446744073709551615", UINT64_MAX},
    {"17179869183G", UINT64_C(17179869183) << 30},
};

static const char *const size_bad[] = {
    "",
    "-1",
    "+1",
    "-4M",
    " 4M",
    "4M ",
    "4 ",
    "M",
    "K4",
    "4X",
    "4MM",
    "4Mi",
    "4MiBB",
    "4iB",
    "4BB",
    "1.1K",
    "0.5",
    "1.5",
    ".5G",
    "5.G",
    "1..5M",
    "1.5.0M",
    "4,5M",
    "1e3",
    "0x10",
    "4M\n",
    "4\tM",
    "16E",
    "18446744073709551616",
    "99999999999999999999999",
    "17179869184G",
    "1.00000000000000000001K",
    "4 MiB x",
};

static void test_size_parse_good(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(size_good); i++) {
		uint64_t v = 12345;
		int rc = size_parse(size_good[i].in, &v);
		EXPECT(rc == 0 && v == size_good[i].want, "'%s' -> rc %d, %" PRIu64 "\n",
		       size_good[i].in, rc, v);
	}
}

static void test_size_parse_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(size_bad); i++) {
		uint64_t v = 12345;
		int rc = size_parse(size_bad[i], &v);
		EXPECT(rc == -EINVAL && v == 12345, "'%s' -> rc %d, %" PRIu64 "\n", size_bad[i], rc,
		       v);
	}
	uint64_t v;
	CU_ASSERT_EQUAL(size_parse(NULL, &v), -EINVAL);
	CU_ASSERT_EQUAL(size_parse("4M", NULL), -EINVAL);
}

static const struct {
	uint64_t in;
	const char *want;
} format_cases[] = {
    {0, "0 B"},
    {1, "1 B"},
    {1023, "1023 B"},
    {1024, "1.0 KiB"},
    {1536, "1.5 KiB"},
    {1100, "1.1 KiB"},
    {4 * MiB, "4.0 MiB"},
    {4 * MiB + 100 * KiB, "4.1 MiB"},
    {MiB - 1, "1.0 MiB"},
    {10 * GiB, "10.0 GiB"},
    {256 * MiB, "256.0 MiB"},
    {TiB + TiB / 4, "1.3 TiB"},
    {TiB + TiB / 5, "1.2 TiB"},
    {UINT64_C(1) << 60, "1.0 EiB"},
    {UINT64_MAX, "16.0 EiB"},
};

static void test_size_format(void)
{
	char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(format_cases); i++) {
		size_format(format_cases[i].in, buf, sizeof(buf));
		EXPECT(strcmp(buf, format_cases[i].want) == 0, "%" PRIu64 " -> '%s', want '%s'\n",
		       format_cases[i].in, buf, format_cases[i].want);
	}
	/* Truncates within the buffer, like snprintf. */
	char small[4] = "xxx";
	size_format(4 * MiB, small, sizeof(small));
	CU_ASSERT_STRING_EQUAL(small, "4.0");
	size_format(4 * MiB, small, 0);
	CU_ASSERT_STRING_EQUAL(small, "4.0");
	size_format(4 * MiB, NULL, 10);

	/* What it prints, size_parse reads back. */
	uint64_t v;
	size_format(4 * MiB, buf, sizeof(buf));
	CU_ASSERT_EQUAL(size_parse(buf, &v), 0);
	CU_ASSERT_EQUAL(v, 4 * MiB);
}

/* -------------------------------------------------------------- durations */

static const struct {
	const char *in;
	uint64_t want;
} duration_good[] = {
    {"0", 0},
    {"90", 90},
    {"007", 7},
    {"30s", 30},
    {"5m", 300},
    {"2h", 7200},
    {"1d", 86400},
    {"1w", 604800},
    {"0s", 0},
    {"1h30m", 5400},
    {"1d2h3m4s", 93784},
    {"2w1d", 15 * 86400},
    {"1h0m", 3600},
    {"1.5h", 5400},
    {"0.5m", 30},
    {"1.5d", 129600},
    {"18446744073709551615", UINT64_MAX},
    {"18446744073709551615s", UINT64_MAX},
};

static const char *const duration_bad[] = {
    "",
    "s",
    "h1",
    "-5s",
    "+5s",
    " 5s",
    "5s ",
    "5 s",
    "5x",
    "5S",
    "5M",
    "5H",
    "5ms",
    "5sec",
    "1h30",
    "30m1h",
    "1h1h",
    "1h-30m",
    "1h 30m",
    "1.5",
    "1.5s",
    "0.01m",
    ".5h",
    "5.h",
    "1y",
    "18446744073709551616",
    "30500568904944w",
    "18446744073709551615s1s",
};

static void test_duration_parse_good(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(duration_good); i++) {
		uint64_t v = 12345;
		int rc = duration_parse(duration_good[i].in, &v);
		EXPECT(rc == 0 && v == duration_good[i].want, "'%s' -> rc %d, %" PRIu64 "\n",
		       duration_good[i].in, rc, v);
	}
}

static void test_duration_parse_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(duration_bad); i++) {
		uint64_t v = 12345;
		int rc = duration_parse(duration_bad[i], &v);
		EXPECT(rc == -EINVAL && v == 12345, "'%s' -> rc %d, %" PRIu64 "\n", duration_bad[i],
		       rc, v);
	}
	uint64_t v;
	CU_ASSERT_EQUAL(duration_parse(NULL, &v), -EINVAL);
	CU_ASSERT_EQUAL(duration_parse("1h", NULL), -EINVAL);
}

/* ------------------------------------------------------------- meta URLs */

static const struct {
	const char *in;
	const char *host;
	int port, db;
	const char *user, *password, *unix_path;
} meta_good[] = {
    {"redis://localhost", "localhost", 6379, 0, "", "", ""},
    {"redis://localhost/", "localhost", 6379, 0, "", "", ""},
    {"redis://127.0.0.1:6380", "127.0.0.1", 6380, 0, "", "", ""},
    {"redis://host:6379/3", "host", 6379, 3, "", "", ""},
    {"redis://host/2", "host", 6379, 2, "", "", ""},
    {"redis://my-host.example.com:1/15", "my-host.example.com", 1, 15, "", "", ""},
    {"redis://h_1:65535/2147483647", "h_1", 65535, 2147483647, "", "", ""},
    {"REDIS://Host:7000", "Host", 7000, 0, "", "", ""},
    {"redis://:secret@host:7000/1", "host", 7000, 1, "", "secret", ""},
    {"redis://alice:s3cret@host", "host", 6379, 0, "alice", "s3cret", ""},
    {"redis://alice@host", "host", 6379, 0, "alice", "", ""},
    {"redis://:@host", "host", 6379, 0, "", "", ""},
    {"redis://:p%40ss%2Fw0rd%25@host", "host", 6379, 0, "", "p@ss/w0rd%", ""},
    {"redis://b%6Fb:x@host", "host", 6379, 0, "bob", "x", ""},
    {"redis://:pa/ss@host/4", "host", 6379, 4, "", "pa/ss", ""},
    {"redis://:a@b?c#d:e@host", "host", 6379, 0, "", "a@b?c#d:e", ""},
    {"redis://[::1]:6379/0", "::1", 6379, 0, "", "", ""},
    {"redis://[::1]", "::1", 6379, 0, "", "", ""},
    {"redis://:pw@[2001:db8::1]:7000/5", "2001:db8::1", 7000, 5, "", "pw", ""},
    {"redis://[::ffff:10.0.0.1]/1", "::ffff:10.0.0.1", 6379, 1, "", "", ""},
    {"redis+unix:///run/redis/redis.sock", "", 0, 0, "", "", "/run/redis/redis.sock"},
    {"redis+unix:///run/redis.sock?db=5", "", 0, 5, "", "", "/run/redis.sock"},
    {"unix:///tmp/r.sock", "", 0, 0, "", "", "/tmp/r.sock"},
    {"redis+unix://:pw@/run/redis.sock?db=2", "", 0, 2, "", "pw", "/run/redis.sock"},
    {"redis+unix://u:p%3F@/s", "", 0, 0, "u", "p?", "/s"},
};

static const char *const meta_bad[] = {
    "",
    "localhost",
    "localhost:6379",
    "http://host",
    "rediss://host",
    "redis:/host",
    "redis//host",
    "redis://",
    "redis://:6379",
    "redis:///0",
    "redis://host:",
    "redis://host:0",
    "redis://host:65536",
    "redis://host:99999999999",
    "redis://host:12ab",
    "redis://host:-1",
    "redis://host:+80",
    "redis://host/abc",
    "redis://host/1/2",
    "redis://host/-1",
    "redis://host/+1",
    "redis://host/2147483648",
    "redis://host?db=1",
    "redis://host/0?x",
    "redis://host#frag",
    "redis://ho st",
    "redis://ho%73t",
    "redis://host\n",
    "redis://[::1",
    "redis://[]:6379",
    "redis://[zz::1]:6379",
    "redis://[::1]x",
    "redis://[::1]:",
    "redis://:pw%zz@host",
    "redis://:pw%4@host",
    "redis://:pw%@host",
    "redis://:pw%00@host",
    "redis://:pw\x01@host",
    "redis://us/er:pw@host",
    "redis://host/0?foo@bar",
    "redis+unix://relative.sock",
    "redis+unix://",
    "redis+unix:///",
    "redis+unix:///run/r.sock?db=x",
    "redis+unix:///run/r.sock?db=",
    "redis+unix:///run/r.sock?foo=1",
    "redis+unix:///run/r.sock?db=1&x=2",
    "redis+unix:///run/r#sock",
};

static void test_meta_url_good(void)
{
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(meta_good); i++) {
		struct meta_url u;
		int rc = meta_url_parse(meta_good[i].in, &u, err, sizeof(err));
		EXPECT(rc == 0, "'%s': %s\n", meta_good[i].in, err);
		if (rc)
			continue;
		EXPECT(strcmp(u.host, meta_good[i].host) == 0, "'%s': host '%s'\n", meta_good[i].in,
		       u.host);
		EXPECT(u.port == meta_good[i].port, "'%s': port %d\n", meta_good[i].in, u.port);
		EXPECT(u.db == meta_good[i].db, "'%s': db %d\n", meta_good[i].in, u.db);
		EXPECT(strcmp(u.user, meta_good[i].user) == 0, "'%s': user '%s'\n", meta_good[i].in,
		       u.user);
		EXPECT(strcmp(u.password, meta_good[i].password) == 0, "'%s': password '%s'\n",
		       meta_good[i].in, u.password);
		EXPECT(strcmp(u.unix_path, meta_good[i].unix_path) == 0, "'%s': unix_path '%s'\n",
		       meta_good[i].in, u.unix_path);
	}
}

static void test_meta_url_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(meta_bad); i++) {
		struct meta_url u;
		char err[256] = "";
		int rc = meta_url_parse(meta_bad[i], &u, err, sizeof(err));
		EXPECT(rc == -EINVAL && err[0], "'%s' -> rc %d\n", meta_bad[i], rc);
		EXPECT(!u.password[0] && !u.host[0], "'%s' left fields set\n", meta_bad[i]);
	}
	struct meta_url u;
	CU_ASSERT_EQUAL(meta_url_parse(NULL, &u, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(meta_url_parse("redis://h", NULL, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(meta_url_parse("bad", &u, NULL, 0), -EINVAL);
	char tiny[8];
	CU_ASSERT_EQUAL(meta_url_parse("bad", &u, tiny, sizeof(tiny)), -EINVAL);
	CU_ASSERT_EQUAL(strlen(tiny), sizeof(tiny) - 1);
}

static void test_meta_url_limits(void)
{
	char url[1024], err[256];
	struct meta_url u;

	/* A socket path must fit sun_path (108 bytes with its NUL). */
	snprintf(url, sizeof(url), "redis+unix:///%0106d", 0);
	CU_ASSERT_EQUAL(meta_url_parse(url, &u, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(strlen(u.unix_path), 107);
	snprintf(url, sizeof(url), "redis+unix:///%0107d", 0);
	CU_ASSERT_EQUAL(meta_url_parse(url, &u, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "too long"));

	/* host[256], password[256], user[128]: filled to the brim, then one over. */
	snprintf(url, sizeof(url), "redis://%s", "h");
	memset(url + 8, 'h', 255);
	url[8 + 255] = '\0';
	CU_ASSERT_EQUAL(meta_url_parse(url, &u, err, sizeof(err)), 0);
	strcat(url, "h");
	CU_ASSERT_EQUAL(meta_url_parse(url, &u, err, sizeof(err)), -EINVAL);

	strcpy(url, "redis://:");
	memset(url + 9, 'p', 255);
	strcpy(url + 9 + 255, "@host");
	CU_ASSERT_EQUAL(meta_url_parse(url, &u, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(strlen(u.password), 255);
	strcpy(url, "redis://:");
	memset(url + 9, 'p', 256);
	strcpy(url + 9 + 256, "@host");
	CU_ASSERT_EQUAL(meta_url_parse(url, &u, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "password is too long"));
	CU_ASSERT_PTR_NULL(strstr(err, "ppp"));

	strcpy(url, "redis://");
	memset(url + 8, 'u', 128);
	strcpy(url + 8 + 128, ":pw@host");
	CU_ASSERT_EQUAL(meta_url_parse(url, &u, err, sizeof(err)), -EINVAL);
	url[8 + 127] = ':';
	CU_ASSERT_EQUAL(meta_url_parse(url, &u, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(strlen(u.user), 127);
}

/* Whatever is wrong, the message must not show the password. */
static const char *const meta_secret_bad[] = {
    "redis://:" SECRET "@",
    "redis://:" SECRET "%zz@host",
    "redis://:" SECRET "%00@host",
    "redis://:" SECRET "@host:99999",
    "redis://:" SECRET "@host/x",
    "redis://:" SECRET "@ho st",
    "redis://:" SECRET "@host?db=1",
    "redis://user:" SECRET "@[::1",
    "redis://host:" SECRET,
    "redis://" SECRET "host/0?x",
    "rediss://:" SECRET "@host",
    "redis+unix://:" SECRET "@/s?db=" SECRET,
    "redis+unix://:" SECRET "@relative",
    SECRET "://host",
    "redis:" SECRET,
};

static void test_meta_url_no_secret_in_errors(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(meta_secret_bad); i++) {
		struct meta_url u;
		char err[512] = "";
		int rc = meta_url_parse(meta_secret_bad[i], &u, err, sizeof(err));
		EXPECT(rc == -EINVAL && err[0], "'%s' -> rc %d\n", meta_secret_bad[i], rc);
		EXPECT(!strstr(err, SECRET) && !strstr(err, "TOPSEC"), "'%s' -> '%s'\n",
		       meta_secret_bad[i], err);
	}
}

/* ----------------------------------------------------------- bucket URLs */

static const struct {
	const char *in;
	enum bucket_kind kind;
	const char *path;
	bool tls;
	const char *endpoint, *bucket;
} bucket_good[] = {
    {"file:///tmp/bucket", BUCKET_FILE, "/tmp/bucket", false, "", ""},
    {"file:///tmp/bucket/", BUCKET_FILE, "/tmp/bucket", false, "", ""},
    {"file:///tmp/bucket///", BUCKET_FILE, "/tmp/bucket", false, "", ""},
    {"FILE:///srv/b", BUCKET_FILE, "/srv/b", false, "", ""},
    {"file:///my dir/a%20b", BUCKET_FILE, "/my dir/a%20b", false, "", ""},
    {"http://127.0.0.1:9000/mybucket", BUCKET_S3, "", false, "http://127.0.0.1:9000", "mybucket"},
    {"http://localhost:4569/test-bucket/", BUCKET_S3, "", false, "http://localhost:4569",
     "test-bucket"},
    {"https://s3.amazonaws.com/my.bucket-1", BUCKET_S3, "", true, "https://s3.amazonaws.com",
     "my.bucket-1"},
    {"https://s3.eu-west-1.amazonaws.com:443/abc", BUCKET_S3, "", true,
     "https://s3.eu-west-1.amazonaws.com:443", "abc"},
    {"HTTPS://Minio.Local/abc", BUCKET_S3, "", true, "https://Minio.Local", "abc"},
    {"http://[::1]:9000/abc", BUCKET_S3, "", false, "http://[::1]:9000", "abc"},
    {"http://[fd00::2]/abc", BUCKET_S3, "", false, "http://[fd00::2]", "abc"},
    {"http://h/0123456789012345678901234567890123456789012345678901234567890bc", BUCKET_S3, "",
     false, "http://h", "0123456789012345678901234567890123456789012345678901234567890bc"},
    {"http://h/a-b", BUCKET_S3, "", false, "http://h", "a-b"},
    {"http://h/1.2.3", BUCKET_S3, "", false, "http://h", "1.2.3"},
    {"http://h/xn-abc", BUCKET_S3, "", false, "http://h", "xn-abc"},
};

static const struct {
	const char *in;
	const char *why; /* a piece of the expected message */
} bucket_bad[] = {
    {"", "empty"},
    {"/tmp/bucket", "file:///DIR"},
    {"tmp/bucket", "must be"},
    {"file://tmp/bucket", "absolute path"},
    {"file://localhost/tmp/bucket", "absolute path"},
    {"file:/tmp/bucket", "must be"},
    {"file:relative", "must be"},
    {"file:///", "root directory"},
    {"file:////", "root directory"},
    {"file:///tmp/b?x=1", "query"},
    {"file:///tmp/b#f", "query"},
    {"file:///tmp/b\tc", "control"},
    {"ftp://host/b", "must be"},
    {"s3://bucket", "s3:// is not supported"},
    {"gs://bucket", "must be"},
    {"http://host", "must name a bucket"},
    {"http://host/", "must name a bucket"},
    {"http://host:9000", "must name a bucket"},
    {"http:///bucket", "missing host"},
    {"http://:9000/bucket", "missing host"},
    {"http://host/bucket/key", "nothing may follow"},
    {"http://host/bucket/prefix/", "nothing may follow"},
    {"http://host/bucket//", "nothing may follow"},
    {"http://host//bucket", "must name a bucket"},
    {"http://host/bucket?x=1", "query"},
    {"http://host/bucket?", "query"},
    {"http://host/bucket#f", "query"},
    {"http://AKIA:" SECRET "@host/bucket", "AWS_ACCESS_KEY_ID"},
    {"http://AKIA@host/bucket", "config file"},
    {"https://AKIA:se/cr@et@host/bucket", "credentials"},
    {"http://host:0/bkt", "port"},
    {"http://host:70000/bkt", "port"},
    {"http://host:x/bkt", "port"},
    {"http://host:/bkt", "port"},
    {"http://ho_st!/bkt", "host"},
    {"http://[::1/bkt", "IPv6"},
    {"http://[1.2.3.4]/bkt", "IPv6"},
    {"http://h/ab", "3 to 63"},
    {"http://h/0123456789012345678901234567890123456789012345678901234567890bcd", "3 to 63"},
    {"http://h/My-Bucket", "lower-case"},
    {"http://h/my_bucket", "lower-case"},
    {"http://h/abc def", "lower-case"},
    {"http://h/-abc", "begin and end"},
    {"http://h/abc-", "begin and end"},
    {"http://h/.abc", "begin and end"},
    {"http://h/abc.", "begin and end"},
    {"http://h/a..b", "two dots"},
    {"http://h/192.168.1.1", "IP address"},
    {"http://h/xn--abc", "prefix"},
    {"http://h/sthree-abc", "prefix"},
    {"http://h/sthree-configurator", "prefix"},
    {"http://h/amzn-s3-demo-bucket", "prefix"},
    {"http://h/abc-s3alias", "suffix"},
    {"http://h/abc--ol-s3", "suffix"},
    {"http://h/abc.mrap", "suffix"},
    {"http://h/abc--x-s3", "suffix"},
    {"http://h/abc--table-s3", "suffix"},
};

static void test_bucket_url_good(void)
{
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(bucket_good); i++) {
		struct bucket_url b;
		int rc = bucket_url_parse(bucket_good[i].in, &b, err, sizeof(err));
		EXPECT(rc == 0, "'%s': %s\n", bucket_good[i].in, err);
		if (rc)
			continue;
		EXPECT(b.kind == bucket_good[i].kind, "'%s': kind %d\n", bucket_good[i].in, b.kind);
		EXPECT(strcmp(b.path, bucket_good[i].path) == 0, "'%s': path '%s'\n",
		       bucket_good[i].in, b.path);
		EXPECT(b.tls == bucket_good[i].tls, "'%s': tls %d\n", bucket_good[i].in, b.tls);
		EXPECT(strcmp(b.endpoint, bucket_good[i].endpoint) == 0, "'%s': endpoint '%s'\n",
		       bucket_good[i].in, b.endpoint);
		EXPECT(strcmp(b.bucket, bucket_good[i].bucket) == 0, "'%s': bucket '%s'\n",
		       bucket_good[i].in, b.bucket);
	}
}

static void test_bucket_url_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bucket_bad); i++) {
		struct bucket_url b;
		char err[512] = "";
		int rc = bucket_url_parse(bucket_bad[i].in, &b, err, sizeof(err));
		EXPECT(rc == -EINVAL, "'%s' -> rc %d\n", bucket_bad[i].in, rc);
		EXPECT(strstr(err, bucket_bad[i].why) != NULL, "'%s' -> '%s', want '%s'\n",
		       bucket_bad[i].in, err, bucket_bad[i].why);
		EXPECT(!strstr(err, SECRET) && !strstr(err, "cr@et"), "'%s' -> '%s'\n",
		       bucket_bad[i].in, err);
		EXPECT(!b.bucket[0] && !b.path[0] && !b.endpoint[0], "'%s' left fields set\n",
		       bucket_bad[i].in);
	}
	struct bucket_url b;
	CU_ASSERT_EQUAL(bucket_url_parse(NULL, &b, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(bucket_url_parse("file:///x", NULL, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(bucket_url_parse("bad", &b, NULL, 0), -EINVAL);
}

static void test_bucket_url_limits(void)
{
	char url[1200], err[256];
	struct bucket_url b;

	/* path[1024]: 1023 bytes fit. */
	strcpy(url, "file://");
	memset(url + 7, 'd', 1023);
	url[7] = '/';
	url[7 + 1023] = '\0';
	CU_ASSERT_EQUAL(bucket_url_parse(url, &b, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(strlen(b.path), 1023);
	strcat(url, "d");
	CU_ASSERT_EQUAL(bucket_url_parse(url, &b, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "too long"));

	/* The longest host still leaves room for scheme and port in endpoint[512]. */
	strcpy(url, "https://");
	memset(url + 8, 'h', 255);
	strcpy(url + 8 + 255, ":65535/abc");
	CU_ASSERT_EQUAL(bucket_url_parse(url, &b, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(strlen(b.endpoint), 8 + 255 + 6);
}

/* ---------------------------------------------------------------- config */

static char *tmpdir;

static int config_suite_init(void)
{
	tmpdir = test_tmpdir("parse");
	return tmpdir ? 0 : -1;
}

static int config_suite_cleanup(void)
{
	if (tmpdir) {
		rm_rf(tmpdir);
		free(tmpdir);
	}
	return 0;
}

/* Writes len bytes to tmpdir/name with exactly `mode` (umask aside). */
static void write_file(char *path, size_t cap, const char *name, mode_t mode, const char *text,
		       size_t len)
{
	snprintf(path, cap, "%s/%s", tmpdir, name);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, len) == (ssize_t)len);
	CU_ASSERT_FATAL(fchmod(fd, mode) == 0);
	close(fd);
}

static void write_conf(char *path, size_t cap, mode_t mode, const char *text)
{
	write_file(path, cap, "mcfs.conf", mode, text, strlen(text));
}

static void test_config_defaults(void)
{
	struct mcfs_config c;

	memset(&c, 0x5a, sizeof(c));
	config_defaults(&c);
	CU_ASSERT_STRING_EQUAL(c.meta_url, "");
	CU_ASSERT_STRING_EQUAL(c.meta_password, "");
	CU_ASSERT_STRING_EQUAL(c.replica_url, "");
	CU_ASSERT_STRING_EQUAL(c.region, "");
	CU_ASSERT_STRING_EQUAL(c.s3_access_key, "");
	CU_ASSERT_STRING_EQUAL(c.s3_secret_key, "");
	CU_ASSERT_STRING_EQUAL(c.s3_region, "us-east-1");
	CU_ASSERT_STRING_EQUAL(c.s3_ca_file, "");
	CU_ASSERT_FALSE(c.s3_sign_payload);
	CU_ASSERT_STRING_EQUAL(c.cache_dir, "");
	CU_ASSERT_EQUAL(c.cache_size, 10 * GiB);
	CU_ASSERT_EQUAL(c.cache_mem, 256 * MiB);
	CU_ASSERT_EQUAL(c.readahead_blocks, 4);
	CU_ASSERT_EQUAL(c.deletion_delay_s, 3600);
	CU_ASSERT_EQUAL(c.upload_threads, 16);
	CU_ASSERT_EQUAL(c.write_buffer, 256 * MiB);
	CU_ASSERT_EQUAL(c.compact_slices, 20);
	CU_ASSERT_STRING_EQUAL(c.log_level, "info");
	CU_ASSERT_FALSE(c.log_syslog);
	CU_ASSERT_STRING_EQUAL(c.listen, "0.0.0.0:2049");
	CU_ASSERT_STRING_EQUAL(c.pid_file, "");
	CU_ASSERT_EQUAL(c.threads, 0);
	CU_ASSERT_EQUAL(c.nexports, 0);
}

static const char good_conf[] = "; every key, as an operator would write them\n"
				"# both comment styles\n"
				"\n"
				"[meta]\n"
				"url = redis://10.0.0.1:6379/2\n"
				"password = hunter2;x\n"
				"replica = redis://127.0.0.1:6380\n"
				"\n"
				"[region]\n"
				"name = aws-us-east-1\n"
				"\n"
				"[s3]\n"
				"access_key = AKIAEXAMPLE\n"
				"secret_key = wJalr/XUtnFEMI+K7MDENG\n"
				"signing_region = eu-west-1\n"
				"ca_file = /etc/ssl/private-ca.pem\n"
				"sign_payload = yes\n"
				"\n"
				"[cache]\n"
				"    dir = /var/cache/mcfs\n"
				"\tsize = 100G ; inline comment\n"
				"memory=1G\n"
				"readahead : 8\n"
				"\n"
				"[data]\n"
				"deletion_delay = 2h\n"
				"upload_threads = 32\n"
				"write_buffer = 512 MiB\n"
				"compact_slices = 50\n"
				"\n"
				"[Log]\n"
				"Level = DEBUG\n"
				"syslog = yes\n"
				"\n"
				"[gateway]\n"
				"listen = [::1]:12049\n"
				"pid_file = /run/mcfs-gateway.pid\n"
				"threads = 8\n"
				"export = /\n"
				"export = /data:ro\n";

static void test_config_good_file(void)
{
	char path[1024], err[512] = "";
	struct mcfs_config c;

	write_conf(path, sizeof(path), 0600, good_conf);
	config_defaults(&c);
	int rc = config_load(path, &c, err, sizeof(err));
	EXPECT(rc == 0, "%s\n", err);
	CU_ASSERT_STRING_EQUAL(c.meta_url, "redis://10.0.0.1:6379/2");
	CU_ASSERT_STRING_EQUAL(c.meta_password, "hunter2;x");
	CU_ASSERT_STRING_EQUAL(c.replica_url, "redis://127.0.0.1:6380");
	CU_ASSERT_STRING_EQUAL(c.region, "aws-us-east-1");
	CU_ASSERT_STRING_EQUAL(c.s3_access_key, "AKIAEXAMPLE");
	CU_ASSERT_STRING_EQUAL(c.s3_secret_key, "wJalr/XUtnFEMI+K7MDENG");
	CU_ASSERT_STRING_EQUAL(c.s3_region, "eu-west-1");
	CU_ASSERT_STRING_EQUAL(c.s3_ca_file, "/etc/ssl/private-ca.pem");
	CU_ASSERT_TRUE(c.s3_sign_payload);
	struct objstore_credentials cred = config_s3_credentials(&c);
	CU_ASSERT_STRING_EQUAL(cred.access_key, "AKIAEXAMPLE");
	CU_ASSERT_STRING_EQUAL(cred.region, "eu-west-1");
	CU_ASSERT_STRING_EQUAL(cred.ca_file, "/etc/ssl/private-ca.pem");
	CU_ASSERT_TRUE(cred.sign_payload);
	CU_ASSERT_STRING_EQUAL(c.cache_dir, "/var/cache/mcfs");
	CU_ASSERT_EQUAL(c.cache_size, 100 * GiB);
	CU_ASSERT_EQUAL(c.cache_mem, GiB);
	CU_ASSERT_EQUAL(c.readahead_blocks, 8);
	CU_ASSERT_EQUAL(c.deletion_delay_s, 7200);
	CU_ASSERT_EQUAL(c.upload_threads, 32);
	CU_ASSERT_EQUAL(c.write_buffer, 512 * MiB);
	CU_ASSERT_EQUAL(c.compact_slices, 50);
	CU_ASSERT_STRING_EQUAL(c.log_level, "debug");
	CU_ASSERT_TRUE(c.log_syslog);
	CU_ASSERT_STRING_EQUAL(c.listen, "[::1]:12049");
	CU_ASSERT_STRING_EQUAL(c.pid_file, "/run/mcfs-gateway.pid");
	CU_ASSERT_EQUAL(c.threads, 8);
	CU_ASSERT_EQUAL(c.nexports, 2);
	CU_ASSERT_STRING_EQUAL(c.exports[0], "/");
	CU_ASSERT_STRING_EQUAL(c.exports[1], "/data:ro");

	/* Read-only for the owner is private too. */
	CU_ASSERT_EQUAL(chmod(path, 0400), 0);
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), 0);
}

static void test_config_small_files(void)
{
	static const struct {
		const char *text;
		const char *field; /* checked with the value below */
		const char *want;
	} cases[] = {
	    {"", "log", "info"},
	    {"; nothing but a comment\n", "log", "info"},
	    {"[cache]\r\nsize = 2G\r\n[log]\r\nlevel = warn\r\n", "log", "warn"},
	    {"[log]\nlevel = error", "log", "error"},
	    {"\xEF\xBB\xBF[log]\nlevel = warn\n", "log", "warn"},
	    {"[log]\nlevel = info\n[log]\nsyslog = on\n", "log", "info"},
	    {"[log]\nsyslog = TRUE\n", "syslog", "1"},
	    {"[log]\nsyslog = off\n", "syslog", "0"},
	    {"[log]\nsyslog = 0\n", "syslog", "0"},
	    {"[meta]\nurl =\n", "url", ""},
	    {"[meta]\nurl = redis+unix:///run/redis.sock?db=1\n", "url",
	     "redis+unix:///run/redis.sock?db=1"},
	    {"[region]\nname = gcp_eu.west-4\n", "region", "gcp_eu.west-4"},
	    {"[gateway]\nlisten = localhost:2049\n", "listen", "localhost:2049"},
	    {"[gateway]\nlisten = 127.0.0.1:1\n", "listen", "127.0.0.1:1"},
	    {"[cache]\nsize = 0\n", "cache_size", "0"},
	    {"[data]\ndeletion_delay = 0\n", "delay", "0"},
	    {"[data]\ndeletion_delay = 3650d\n", "delay", "315360000"},
	    {"[gateway]\nthreads = 64\n", "threads", "64"},
	};
	char path[1024], err[512], got[600];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mcfs_config c;
		config_defaults(&c);
		write_conf(path, sizeof(path), 0644, cases[i].text);
		err[0] = '\0';
		int rc = config_load(path, &c, err, sizeof(err));
		EXPECT(rc == 0, "case %zu: %s\n", i, err);
		const char *f = cases[i].field;
		if (strcmp(f, "log") == 0)
			snprintf(got, sizeof(got), "%s", c.log_level);
		else if (strcmp(f, "syslog") == 0)
			snprintf(got, sizeof(got), "%d", c.log_syslog);
		else if (strcmp(f, "url") == 0)
			snprintf(got, sizeof(got), "%s", c.meta_url);
		else if (strcmp(f, "region") == 0)
			snprintf(got, sizeof(got), "%s", c.region);
		else if (strcmp(f, "listen") == 0)
			snprintf(got, sizeof(got), "%s", c.listen);
		else if (strcmp(f, "cache_size") == 0)
			snprintf(got, sizeof(got), "%" PRIu64, c.cache_size);
		else if (strcmp(f, "delay") == 0)
			snprintf(got, sizeof(got), "%" PRIu64, c.deletion_delay_s);
		else
			snprintf(got, sizeof(got), "%u", c.threads);
		EXPECT(strcmp(got, cases[i].want) == 0, "case %zu: %s = '%s'\n", i, f, got);
	}
}

static char long_line_conf[600];
static char long_value_conf[600];
static char long_secret_conf[600];

static void build_long_confs(void)
{
	char v[400];

	memset(v, 'x', 300);
	v[300] = '\0';
	snprintf(long_line_conf, sizeof(long_line_conf), "[cache]\n; %s\nbogus = 1\n", v);
	/* region is char[64]: 64 characters do not fit. */
	memset(v, 'r', 64);
	v[64] = '\0';
	snprintf(long_value_conf, sizeof(long_value_conf), "[region]\nname = %s\n", v);
	memset(v, 's', 300);
	v[300] = '\0';
	snprintf(long_secret_conf, sizeof(long_secret_conf), "[s3]\nsecret_key = %s\n", v);
}

static const struct {
	const char *text;
	int line;
	const char *why;
} bad_confs[] = {
    {"[meta]\nurl = redis://h\n[cache]\nbogus = 1\n", 4, "unknown key 'bogus' in [cache]"},
    {"[caches]\nsize = 1G\n", 1, "unknown section [caches]"},
    {"[meta]\nurl = redis://h\n[nosuch]\n", 3, "unknown section [nosuch]"},
    {"[ meta ]\nurl = redis://h\n", 1, "unknown section"},
    {"size = 1G\n", 1, "before any [section]"},
    {"[cache]\nsize 1G\n", 2, "syntax error"},
    {"[cache\nsize = 1G\n", 1, "syntax error"},
    {"[cache]\n= 1G\n", 2, "unknown key"},
    {"[cache]\nsize = 1Q\n", 2, "[cache] size: '1Q' is not a size"},
    {"[cache]\nsize =\n", 2, "is not a size"},
    {"[cache]\nsize = 10G # disk\n", 2, "is not a size"},
    {"[cache]\nmemory = -1\n", 2, "is not a size"},
    {"[cache]\nreadahead = -1\n", 2, "whole number"},
    {"[cache]\nreadahead = 0x10\n", 2, "whole number"},
    {"[cache]\nreadahead = 99999999999999999999\n", 2, "whole number"},
    {"[cache]\nreadahead = 257\n", 2, "from 0 to 256"},
    {"[cache]\ndir = relative/dir\n", 2, "not an absolute path"},
    {"[data]\ndeletion_delay = 1y\n", 2, "is not a duration"},
    {"[data]\ndeletion_delay = 3651d\n", 2, "seconds"},
    {"[data]\nupload_threads = 0\n", 2, "from 1 to 1024"},
    {"[data]\nwrite_buffer = 512K\n", 2, "at least 1.0 MiB"},
    {"[data]\ncompact_slices = 1\n", 2, "from 2 to 10000"},
    {"[log]\nlevel = verbose\n", 2, "error, warn, info, debug"},
    {"[log]\nlevel = informationalxxxx\n", 2, "error, warn, info, debug"},
    {"[log]\nsyslog = maybe\n", 2, "yes or no"},
    {"[gateway]\nlisten = 2049\n", 2, "ADDR:PORT"},
    {"[gateway]\nlisten = :2049\n", 2, "ADDR:PORT"},
    {"[gateway]\nlisten = 0.0.0.0:70000\n", 2, "ADDR:PORT"},
    {"[gateway]\nlisten = 0.0.0.0:0\n", 2, "ADDR:PORT"},
    {"[gateway]\nlisten = 0.0.0.0:20x\n", 2, "ADDR:PORT"},
    {"[gateway]\nlisten = [::1:2049\n", 2, "ADDR:PORT"},
    {"[gateway]\nlisten = [zz]:2049\n", 2, "ADDR:PORT"},
    {"[gateway]\nlisten = ::1:2049\n", 2, "ADDR:PORT"},
    {"[gateway]\nthreads = 4x\n", 2, "whole number"},
    {"[gateway]\nthreads = 65\n", 2, "from 0 to 64"},
    {"[gateway]\nblocking_threads = 0\n", 2, "from 1 to 1024"},
    {"[gateway]\nexport = data\n", 2, "path in the volume"},
    {"[gateway]\nexport =\n", 2, "path in the volume"},
    {"[gateway]\npid_file = run/x.pid\n", 2, "absolute"},
    {"[meta]\nurl = http://x\n", 2, "[meta] url: metadata URL must be"},
    {"[meta]\nreplica = redis://h:0\n", 2, "[meta] replica: metadata URL: invalid port"},
    {"[meta]\nurl = redis://:" SECRET "@host:0\n", 2, "invalid port"},
    {"[region]\nname = us east\n", 2, "may hold only"},
    {"[s3]\nsigning_region =\n", 2, "a value is required"},
    {"[s3]\nsigning_region = eu/west\n", 2, "may hold only"},
    {"[s3]\nca_file = ca.pem\n", 2, "absolute"},
    {"[s3]\nsign_payload = sometimes\n", 2, "[s3] sign_payload"},
    {"[s3]\naccess_key = AK\x01IA\n", 2, "control character"},
    {"[cache]\nsize = 1G\nsize = 2G\n", 3, "[cache] size: given twice"},
    {"[log]\nlevel = info\n\n\n[log]\nlevel = warn\n", 6, "given twice"},
    {"[meta]\nurl = redis://h\n    url = redis://h2\n", 3, "given twice"},
    {"[cache]\nsize = 1G\n  bogus = 2\n", 3, "unknown key 'bogus'"},
    {"[cache]\nsize = 1G\n[cache]\nbogus = 2\nsize = 1Q\n", 4, "unknown key"},
    {long_line_conf, 2, "line is too long"},
    {long_value_conf, 2, "[region] name: value is too long (at most 63 bytes)"},
    {long_secret_conf, 2, "line is too long"},
};

static void test_config_bad_files(void)
{
	char path[1024], err[512], prefix[1100];
	struct mcfs_config c, before;

	build_long_confs();
	for (size_t i = 0; i < ARRAY_SIZE(bad_confs); i++) {
		config_defaults(&c);
		before = c;
		write_conf(path, sizeof(path), 0600, bad_confs[i].text);
		err[0] = '\0';
		int rc = config_load(path, &c, err, sizeof(err));
		EXPECT(rc == -EINVAL, "case %zu: rc %d\n", i, rc);
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, bad_confs[i].line);
		EXPECT(strncmp(err, prefix, strlen(prefix)) == 0, "case %zu: '%s', want line %d\n",
		       i, err, bad_confs[i].line);
		EXPECT(strstr(err, bad_confs[i].why) != NULL, "case %zu: '%s', want '%s'\n", i, err,
		       bad_confs[i].why);
		EXPECT(!strstr(err, SECRET) && !strstr(err, "sssss"), "case %zu: '%s'\n", i, err);
		/* Nothing of a bad file takes effect. */
		EXPECT(memcmp(&c, &before, sizeof(c)) == 0, "case %zu changed the config\n", i);
	}
}

static void test_config_nul_byte(void)
{
	static const char text[] = "[log]\nlevel = info\nsyslog = yes\0no\n";
	char path[1024], err[512];
	struct mcfs_config c;

	write_file(path, sizeof(path), "nul.conf", 0600, text, sizeof(text) - 1);
	config_defaults(&c);
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":3: NUL byte"));
}

static const struct {
	const char *text;
	mode_t mode;
	int want;
	const char *secret; /* named in the message */
} mode_cases[] = {
    {"[meta]\npassword = " SECRET "\n", 0644, -EACCES, "[meta] password"},
    {"[meta]\npassword = " SECRET "\n", 0640, -EACCES, "[meta] password"},
    {"[meta]\npassword = " SECRET "\n", 0604, -EACCES, "[meta] password"},
    {"[meta]\npassword = " SECRET "\n", 0600, 0, NULL},
    {"[meta]\npassword = " SECRET "\n", 0400, 0, NULL},
    {"[meta]\npassword = " SECRET "\n", 0620, 0, NULL},
    {"[s3]\naccess_key = AKIA\nsecret_key = " SECRET "\n", 0644, -EACCES, "[s3] secret_key"},
    {"[s3]\naccess_key = AKIA\nsecret_key = " SECRET "\n", 0600, 0, NULL},
    {"[meta]\nurl = redis://:" SECRET "@host\n", 0644, -EACCES, "password in [meta] url"},
    {"[meta]\nreplica = redis://u:" SECRET "@host\n", 0644, -EACCES, "password in [meta] replica"},
    {"[meta]\nurl = redis+unix://:" SECRET "@/s\n", 0644, -EACCES, "password in [meta] url"},
    /* No secret: anyone may read it. */
    {"[s3]\naccess_key = AKIA\n", 0644, 0, NULL},
    {"[meta]\npassword =\n[s3]\nsecret_key =\n", 0644, 0, NULL},
    {"[meta]\nurl = redis://user@host\n", 0644, 0, NULL},
    {"[meta]\nurl = redis://:@host\n", 0644, 0, NULL},
    {"[cache]\nsize = 1G\n", 0666, 0, NULL},
};

static void test_config_secret_modes(void)
{
	char path[1024], err[512];
	struct mcfs_config c, before;

	for (size_t i = 0; i < ARRAY_SIZE(mode_cases); i++) {
		config_defaults(&c);
		before = c;
		write_conf(path, sizeof(path), mode_cases[i].mode, mode_cases[i].text);
		err[0] = '\0';
		int rc = config_load(path, &c, err, sizeof(err));
		EXPECT(rc == mode_cases[i].want, "case %zu: rc %d: %s\n", i, rc, err);
		EXPECT(!strstr(err, SECRET), "case %zu: '%s'\n", i, err);
		if (mode_cases[i].want == 0)
			continue;
		EXPECT(strncmp(err, path, strlen(path)) == 0 && strstr(err, "chmod 600") &&
			   strstr(err, mode_cases[i].secret),
		       "case %zu: '%s'\n", i, err);
		EXPECT(memcmp(&c, &before, sizeof(c)) == 0, "case %zu changed the config\n", i);
	}
}

static void test_config_file_errors(void)
{
	char path[1024], err[512];
	struct mcfs_config c;

	config_defaults(&c);
	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "does-not-exist.conf"));
	CU_ASSERT_EQUAL(config_load(tmpdir, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "directory"));
	/* No message buffer: still a clean error. */
	CU_ASSERT_EQUAL(config_load(path, &c, NULL, 0), -ENOENT);
}

static void test_config_exports(void)
{
	char path[1024], err[512], text[32 * 32 + 64], *p;
	struct mcfs_config c;

	config_defaults(&c);
	write_conf(path, sizeof(path), 0644,
		   "[gateway]\nexport = /a\nexport = /b:rw,no_root_squash\n");
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.nexports, 2);
	CU_ASSERT_STRING_EQUAL(c.exports[0], "/a");
	CU_ASSERT_STRING_EQUAL(c.exports[1], "/b:rw,no_root_squash");

	/* A later file's exports replace the list... */
	write_conf(path, sizeof(path), 0644, "[gateway]\nexport = /c\n");
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.nexports, 1);
	CU_ASSERT_STRING_EQUAL(c.exports[0], "/c");
	/* ...a file without any leaves it alone. */
	write_conf(path, sizeof(path), 0644, "[gateway]\nthreads = 2\n");
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.nexports, 1);
	CU_ASSERT_EQUAL(c.threads, 2);

	p = text + sprintf(text, "[gateway]\n");
	for (int i = 0; i < CONFIG_MAX_EXPORTS; i++)
		p += sprintf(p, "export = /e%d\n", i);
	write_conf(path, sizeof(path), 0644, text);
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.nexports, CONFIG_MAX_EXPORTS);
	CU_ASSERT_STRING_EQUAL(c.exports[CONFIG_MAX_EXPORTS - 1], "/e31");

	sprintf(p, "export = /one-too-many\n");
	write_conf(path, sizeof(path), 0644, text);
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":34: [gateway] export: too many exports"));
}

static void test_config_layered(void)
{
	char path[1024], err[512];
	struct mcfs_config c;

	config_defaults(&c);
	write_conf(path, sizeof(path), 0600,
		   "[meta]\nurl = redis://a\n[cache]\nsize = 1G\nmemory = 2G\n");
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), 0);
	/* Loading reads over what is there: only the keys given change. */
	write_conf(path, sizeof(path), 0600, "[cache]\nsize = 3G\n");
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.meta_url, "redis://a");
	CU_ASSERT_EQUAL(c.cache_size, 3 * GiB);
	CU_ASSERT_EQUAL(c.cache_mem, 2 * GiB);
	CU_ASSERT_EQUAL(c.upload_threads, 16);
}

static const char *const env_vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
				       "MCFS_META_PASSWORD"};

static void clear_env(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(env_vars); i++)
		unsetenv(env_vars[i]);
}

static void test_config_env(void)
{
	struct mcfs_config c;
	char long_value[400];

	clear_env();
	config_defaults(&c);
	config_apply_env(&c);
	CU_ASSERT_STRING_EQUAL(c.s3_access_key, "");
	CU_ASSERT_STRING_EQUAL(c.s3_secret_key, "");
	CU_ASSERT_STRING_EQUAL(c.meta_password, "");
	CU_ASSERT_STRING_EQUAL(c.s3_region, "us-east-1");

	/* Empty fields are filled, and AWS_REGION beats the built-in default. */
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	setenv("AWS_REGION", "ap-south-1", 1);
	setenv("MCFS_META_PASSWORD", "envpass", 1);
	config_defaults(&c);
	config_apply_env(&c);
	CU_ASSERT_STRING_EQUAL(c.s3_access_key, "AKIAENV");
	CU_ASSERT_STRING_EQUAL(c.s3_secret_key, "envsecret");
	CU_ASSERT_STRING_EQUAL(c.meta_password, "envpass");
	CU_ASSERT_STRING_EQUAL(c.s3_region, "ap-south-1");

	/* What the file set stays; each field on its own. */
	char path[1024], err[512];
	config_defaults(&c);
	write_conf(path, sizeof(path), 0644,
		   "[s3]\naccess_key = AKIAFILE\nsigning_region = eu-1\n");
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), 0);
	config_apply_env(&c);
	CU_ASSERT_STRING_EQUAL(c.s3_access_key, "AKIAFILE");
	CU_ASSERT_STRING_EQUAL(c.s3_secret_key, "envsecret");
	CU_ASSERT_STRING_EQUAL(c.meta_password, "envpass");
	CU_ASSERT_STRING_EQUAL(c.s3_region, "eu-1");

	config_defaults(&c);
	write_conf(path, sizeof(path), 0600,
		   "[meta]\npassword = filepass\n[s3]\nsecret_key = fs\n");
	CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), 0);
	config_apply_env(&c);
	CU_ASSERT_STRING_EQUAL(c.meta_password, "filepass");
	CU_ASSERT_STRING_EQUAL(c.s3_secret_key, "fs");
	CU_ASSERT_STRING_EQUAL(c.s3_access_key, "AKIAENV");

	/* Too long, empty or malformed: ignored, never cut. */
	memset(long_value, 'k', 300);
	long_value[300] = '\0';
	setenv("AWS_SECRET_ACCESS_KEY", long_value, 1);
	setenv("MCFS_META_PASSWORD", "", 1);
	setenv("AWS_REGION", "eu west\n", 1);
	config_defaults(&c);
	config_apply_env(&c);
	CU_ASSERT_STRING_EQUAL(c.s3_secret_key, "");
	CU_ASSERT_STRING_EQUAL(c.meta_password, "");
	CU_ASSERT_STRING_EQUAL(c.s3_region, "us-east-1");
	long_value[255] = '\0';
	setenv("AWS_SECRET_ACCESS_KEY", long_value, 1);
	config_apply_env(&c);
	CU_ASSERT_EQUAL(strlen(c.s3_secret_key), 255);
	clear_env();
}

int main(void)
{
	static const struct test_case units_tests[] = {
	    {"size_parse accepts", test_size_parse_good},
	    {"size_parse refuses", test_size_parse_bad},
	    {"size_format", test_size_format},
	    {"duration_parse accepts", test_duration_parse_good},
	    {"duration_parse refuses", test_duration_parse_bad},
	    {NULL, NULL},
	};
	static const struct test_case url_tests[] = {
	    {"meta URLs accepted", test_meta_url_good},
	    {"meta URLs refused", test_meta_url_bad},
	    {"meta URL length limits", test_meta_url_limits},
	    {"meta URL errors hide the password", test_meta_url_no_secret_in_errors},
	    {"bucket URLs accepted", test_bucket_url_good},
	    {"bucket URLs refused", test_bucket_url_bad},
	    {"bucket URL length limits", test_bucket_url_limits},
	    {NULL, NULL},
	};
	static const struct test_case config_tests[] = {
	    {"defaults", test_config_defaults},
	    {"every key", test_config_good_file},
	    {"small good files", test_config_small_files},
	    {"bad files name the line", test_config_bad_files},
	    {"NUL byte", test_config_nul_byte},
	    {"secrets need a private file", test_config_secret_modes},
	    {"missing file, directory", test_config_file_errors},
	    {"repeated export", test_config_exports},
	    {"files layer", test_config_layered},
	    {"environment", test_config_env},
	    {NULL, NULL},
	};

	if (test_add_suite("units", NULL, NULL, units_tests) ||
	    test_add_suite("url", NULL, NULL, url_tests) ||
	    test_add_suite("config", config_suite_init, config_suite_cleanup, config_tests)) {
		fprintf(stderr, "cannot register the suites\n");
		return 1;
	}
	return test_run_all();
}
