/* The `mcfs` command as an operator uses it, against real servers: every
 * bad input gets a clear message and the documented exit code. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "cunit_main.h"
#include "proc.h"
#include "redis.h"
#include "s3rver.h"

static struct redis_server redis;
static struct s3_server s3;
static char *tmp;
static char mcfs_bin[1024];
static char out[65536];

/* Runs mcfs with args and extra environment ("K=V" or NULL); output in `out`. */
static int run(char *const env[], const char *const args[])
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/cli-out", tmp);
	return cli_run(mcfs_bin, path, out, sizeof(out), env, args);
}

static int setup(void)
{
	const char *b = getenv("MCFS_TOP_BUILDDIR");
	snprintf(mcfs_bin, sizeof(mcfs_bin), "%s/mcfs", b ? b : ".");
	tmp = test_tmpdir("cli");
	if (!tmp || redis_server_start(&redis) < 0)
		return -1;
	if (s3_server_start(&s3, "cli-bucket") < 0)
		return -1;
	return 0;
}

static int teardown(void)
{
	s3_server_stop(&s3);
	redis_server_stop(&redis);
	if (tmp)
		rm_rf(tmp);
	free(tmp);
	return 0;
}

static void test_help_and_version(void)
{
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"--version", NULL}), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "mcfs "));
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"--help", NULL}), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "format"));
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"format", "--help", NULL}), 0);
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"frobnicate", NULL}), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "unknown command"));
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){NULL}), 2);
}

static void test_format_bad_input(void)
{
	char bucket[1100];
	snprintf(bucket, sizeof(bucket), "file://%s/b1", tmp);
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"format", "--meta", redis.url, "vol", NULL}), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "--bucket"));
	CU_ASSERT_EQUAL(
	    run(NULL, (const char *[]){"format", "--meta", redis.url, "--bucket", bucket, NULL}),
	    2);
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"format", "--meta", redis.url, "--bucket",
						   "ftp://x/y", "vol", NULL}),
			2);
	CU_ASSERT_EQUAL(
	    run(NULL, (const char *[]){"format", "--meta", redis.url, "--bucket",
				       "http://key:hunter2@127.0.0.1:1/bkt", "vol", NULL}),
	    2);
	CU_ASSERT_PTR_NULL(strstr(out, "hunter2"));
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"format", "--meta", redis.url, "--bucket",
						   bucket, "--block-size", "3M", "vol", NULL}),
			2);
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"format", "--meta", redis.url, "--bucket",
						   bucket, "Bad_Name", NULL}),
			2);
	/* Region names end up in slice records and region commands. */
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"format", "--meta", redis.url, "--bucket",
						   bucket, "--region", "US.East", "vol", NULL}),
			2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "bad region name"));
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"format", "--meta", "mysql://x", "--bucket",
						   bucket, "vol", NULL}),
			2);
	char dead[64];
	snprintf(dead, sizeof(dead), "redis://127.0.0.1:%d", free_tcp_port());
	long long t0 = now_ms();
	CU_ASSERT_EQUAL(
	    run(NULL, (const char *[]){"format", "--meta", dead, "--bucket", bucket, "vol", NULL}),
	    1);
	CU_ASSERT(now_ms() - t0 < 10000);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cannot connect"));
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"status", "--meta", dead, NULL}), 1);
}

static void test_format_status_file_bucket(void)
{
	char bucket[1100];
	snprintf(bucket, sizeof(bucket), "file://%s/b2", tmp);
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"status", "--meta", redis.url, NULL}), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "no mcfs volume"));
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"format", "--meta", redis.url, "--bucket",
						   bucket, "--region", "eu", "vol", NULL}),
			0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "formatted volume vol"));
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"format", "--meta", redis.url, "--bucket",
						   bucket, "vol", NULL}),
			1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "--force"));
	CU_ASSERT_EQUAL(
	    run(NULL, (const char *[]){"format", "--meta", redis.url, "--bucket", bucket,
				       "--region", "eu", "--force", "vol", NULL}),
	    0);
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"status", "--meta", redis.url, NULL}), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "volume:      vol"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "eu"));
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"status", "--meta", redis.url, "--json", NULL}),
			0);
	CU_ASSERT_EQUAL(out[0], '{');
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"uuid\":"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"bucket_status\":\"ok\""));
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"fsck", "--meta", redis.url, NULL}), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "clean"));
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"gc", "--meta", redis.url, NULL}), 0);
	CU_ASSERT_EQUAL(
	    run(NULL, (const char *[]){"gc", "--meta", redis.url, "--min-age", "soon", NULL}), 2);
}

static void test_s3_bucket_and_secrets(void)
{
	char meta[160];
	snprintf(meta, sizeof(meta), "%s/1", redis.url);
	char *good[] = {"AWS_ACCESS_KEY_ID=" S3RVER_ACCESS_KEY,
			"AWS_SECRET_ACCESS_KEY=" S3RVER_SECRET_KEY, NULL};
	char *bad[] = {"AWS_ACCESS_KEY_ID=" S3RVER_ACCESS_KEY,
		       "AWS_SECRET_ACCESS_KEY=wrong-secret-123", NULL};
	CU_ASSERT_EQUAL(
	    run(bad, (const char *[]){"format", "--meta", meta, "--bucket", s3.url, "s3vol", NULL}),
	    1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "access denied"));
	CU_ASSERT_PTR_NULL(strstr(out, "wrong-secret-123"));
	CU_ASSERT_EQUAL(run(good, (const char *[]){"format", "--meta", meta, "--bucket", s3.url,
						   "s3vol", NULL}),
			0);
	CU_ASSERT_EQUAL(run(good, (const char *[]){"status", "--meta", meta, "--json", NULL}), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"bucket_status\":\"ok\""));
	CU_ASSERT_PTR_NULL(strstr(out, S3RVER_SECRET_KEY "\""));
	/* the same secret from a config file: refused while others can read the file */
	char conf[1100];
	snprintf(conf, sizeof(conf), "%s/mcfs.conf", tmp);
	FILE *f = fopen(conf, "w");
	fprintf(f, "[meta]\nurl = %s\n[s3]\naccess_key = %s\nsecret_key = %s\n", meta,
		S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY);
	fclose(f);
	chmod(conf, 0644);
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"status", "--config", conf, NULL}), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "secret_key"));
	chmod(conf, 0600);
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"status", "--config", conf, NULL}), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "bucket ok"));
	CU_ASSERT_EQUAL(run(NULL, (const char *[]){"fsck", "--config", conf, NULL}), 0);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"help and version", test_help_and_version},
	    {"format: bad input", test_format_bad_input},
	    {"format and status on a file:// bucket", test_format_status_file_bucket},
	    {"S3 bucket, wrong secret, config secrets", test_s3_bucket_and_secrets},
	    {NULL, NULL}};
	if (test_add_suite("mcfs command", setup, teardown, tests) < 0)
		return 1;
	return test_run_all();
}
