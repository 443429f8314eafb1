/* `mcfs region add|list|promote` as an operator runs it, against real
 * redis-servers: a primary (the source) and two replicas of it, one the
 * metadata replica of a mirror region, one of a meta-only region. The
 * disaster-recovery test kills the primary and promotes the mirror. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "cunit_main.h"
#include "json_check.h"
#include "fixture.h"
#include "proc.h"
#include "redis.h"
#include "vfs.h"

static struct redis_server primary, mirror_replica, far_replica;
static char *tmp;
static char mcfs_bin[1024];
static char out[65536];
static char b0[1100], b1[1100], b2[1100];

/* Runs mcfs with args; stdout and stderr in `out`; returns the exit status. */
static int run(const char *const args[])
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/cli-out", tmp);
	return cli_run(mcfs_bin, path, out, sizeof(out), NULL, args);
}

#define RUN(...) run((const char *const[]){__VA_ARGS__, NULL})
#define HAS(s)	 CU_ASSERT_PTR_NOT_NULL(strstr(out, s))
#define HASNT(s) CU_ASSERT_PTR_NULL(strstr(out, s))

/* The primary's writes so far are on both replicas. */
static void sync_replicas(void)
{
	CU_ASSERT_EQUAL(
	    redis_wait_replicated(primary.port, "127.0.0.1", mirror_replica.port, 10000), 0);
	CU_ASSERT_EQUAL(redis_wait_replicated(primary.port, "127.0.0.1", far_replica.port, 10000),
			0);
}

/* ROLE: "master" or "slave", and for a replica the primary's port. */
static void role_of(const struct redis_server *rs, char *role, size_t len, int *primary_port)
{
	role[0] = '\0';
	*primary_port = 0;
	redisReply *r = redis_server_cmd(rs, "ROLE");
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1) {
		snprintf(role, len, "%s", r->element[0]->str);
		if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_INTEGER)
			*primary_port = (int)r->element[2]->integer;
	}
	if (r)
		freeReplyObject(r);
}

static bool link_down(void *arg)
{
	redisReply *r = redis_server_cmd(arg, "INFO replication");
	bool down =
	    r && r->type == REDIS_REPLY_STRING && strstr(r->str, "master_link_status:down") != NULL;
	if (r)
		freeReplyObject(r);
	return down;
}

static int setup(void)
{
	const char *b = getenv("MCFS_TOP_BUILDDIR");
	snprintf(mcfs_bin, sizeof(mcfs_bin), "%s/mcfs", b ? b : ".");
	tmp = test_tmpdir("region");
	if (!tmp)
		return -1;
	snprintf(b0, sizeof(b0), "file://%s/b0", tmp);
	snprintf(b1, sizeof(b1), "file://%s/b1", tmp);
	snprintf(b2, sizeof(b2), "file://%s/b2", tmp);
	if (redis_server_start(&primary) < 0)
		return -1;
	if (redis_server_start_replica(&mirror_replica, &primary, 20000) < 0)
		return -1;
	if (redis_server_start_replica(&far_replica, &primary, 20000) < 0)
		return -1;
	return 0;
}

static int teardown(void)
{
	redis_server_stop(&far_replica);
	redis_server_stop(&mirror_replica);
	redis_server_stop(&primary);
	if (tmp)
		rm_rf(tmp);
	free(tmp);
	return 0;
}

static void test_usage(void)
{
	CU_ASSERT_EQUAL(RUN("region", "--help"), 0);
	HAS("promote");
	CU_ASSERT_EQUAL(RUN("--help"), 0);
	HAS("region");
	CU_ASSERT_EQUAL(RUN("region"), 2);
	CU_ASSERT_EQUAL(RUN("region", "frob"), 2);
	HAS("unknown subcommand");
	CU_ASSERT_EQUAL(RUN("region", "add", "--help"), 0);
	CU_ASSERT_EQUAL(RUN("region", "list", "--meta", primary.url, "extra"), 2);
	CU_ASSERT_EQUAL(RUN("region", "promote", "--meta", primary.url), 2);
	HAS("which region");
	char db3[160];
	snprintf(db3, sizeof(db3), "%s/3", primary.url);
	CU_ASSERT_EQUAL(RUN("region", "list", "--meta", db3), 1);
	HAS("no mcfs volume");
}

static void test_add_and_list(void)
{
	CU_ASSERT_EQUAL(
	    RUN("format", "--meta", primary.url, "--bucket", b0, "--region", "eu", "vol"), 0);
	CU_ASSERT_EQUAL(RUN("region", "list", "--meta", primary.url), 0);
	HAS("eu *");
	sync_replicas();
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", primary.url, "--name", "us", "--mode",
			    "mirror", "--bucket", b1, "--replica-meta", mirror_replica.url),
			0);
	HAS("added region us");
	HAS("index 1");
	HASNT("warning");
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", primary.url, "--name", "ap", "--mode",
			    "meta-only", "--replica", far_replica.url),
			0);
	HAS("index 2");
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", primary.url, "--name", "de", "--mode",
			    "shared", "--bucket", b2),
			0);
	HAS("index 3");
	CU_ASSERT_EQUAL(RUN("region", "list", "--meta", primary.url), 0);
	HAS("volume vol, source region eu");
	HAS("us ");
	HAS("mirror");
	HAS("meta-only");
	HAS("shared");
	HAS(mirror_replica.url);
	CU_ASSERT_EQUAL(RUN("region", "list", "--meta", primary.url, "--json"), 0);
	CU_ASSERT(json_ok(out));
	HAS("\"volume\":\"vol\",\"source\":\"eu\"");
	HAS("{\"name\":\"eu\",\"index\":0,\"mode\":\"source\"");
	HAS("\"source\":true");
	char want[2600];
	snprintf(want, sizeof(want),
		 "{\"name\":\"us\",\"index\":1,\"mode\":\"mirror\",\"bucket\":\"%s\","
		 "\"replica\":\"%s\",\"source\":false}",
		 b1, mirror_replica.url);
	HAS(want);
	snprintf(want, sizeof(want),
		 "{\"name\":\"ap\",\"index\":2,\"mode\":\"meta-only\",\"bucket\":\"\","
		 "\"replica\":\"%s\",\"source\":false}",
		 far_replica.url);
	HAS(want);
	HAS("{\"name\":\"de\",\"index\":3,\"mode\":\"shared\"");
	/* the replicas hold the same list, and list works on a read-only server */
	sync_replicas();
	CU_ASSERT_EQUAL(RUN("region", "list", "--meta", mirror_replica.url, "--json"), 0);
	CU_ASSERT(json_ok(out));
	HAS("\"name\":\"de\"");
	/* status shows them too; a meta-only region has no bucket to check */
	CU_ASSERT_EQUAL(RUN("status", "--meta", primary.url), 0);
	HAS("meta-only");
	HAS("(bucket none (uses the source's))");
	CU_ASSERT_EQUAL(RUN("status", "--meta", primary.url, "--json"), 0);
	CU_ASSERT(json_ok(out));
	snprintf(want, sizeof(want), "\"replica\":\"%s\"", mirror_replica.url);
	HAS(want);
}

static void test_refusals(void)
{
	char b3[1100], blocked[1100];
	snprintf(b3, sizeof(b3), "file://%s/b3", tmp);
	const char *M = primary.url;
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "Bad_Name", "--mode", "shared",
			    "--bucket", b3),
			2);
	HAS("bad region name");
	CU_ASSERT_EQUAL(
	    RUN("region", "add", "--meta", M, "--name", "-x", "--mode", "shared", "--bucket", b3),
	    2);
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name",
			    "a123456789012345678901234567890123456789012345678901234567890123",
			    "--mode", "shared", "--bucket", b3),
			2);
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--mode", "shared", "--bucket", b3), 2);
	HAS("--name");
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--bucket", b3), 2);
	HAS("--mode");
	CU_ASSERT_EQUAL(
	    RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "far", "--bucket", b3), 2);
	HAS("bad --mode 'far'");
	CU_ASSERT_EQUAL(
	    RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "source", "--bucket", b3),
	    2);
	HAS("only through 'mcfs format' or 'mcfs region promote'");
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "shared"), 2);
	HAS("needs --bucket");
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "mirror",
			    "--replica-meta", "redis://127.0.0.1:1"),
			2);
	HAS("needs --bucket");
	CU_ASSERT_EQUAL(
	    RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "mirror", "--bucket", b3),
	    2);
	HAS("needs --replica-meta");
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "meta-only"),
			2);
	HAS("needs --replica-meta");
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "meta-only",
			    "--bucket", b3, "--replica-meta", "redis://127.0.0.1:1"),
			2);
	HAS("no bucket of its own");
	/* secrets never go into metadata, nor into messages */
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "mirror",
			    "--bucket", b3, "--replica-meta", "redis://:hunter2@127.0.0.1:1"),
			2);
	HAS("password");
	HASNT("hunter2");
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "mirror",
			    "--bucket", b3, "--replica-meta", "redis://admin:hunter2@127.0.0.1:1"),
			2);
	HASNT("hunter2");
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "mirror",
			    "--bucket", b3, "--replica-meta", "http://127.0.0.1:1"),
			2);
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "shared",
			    "--bucket", "ftp://x/y"),
			2);
	char semi[1200];
	snprintf(semi, sizeof(semi), "%s;mode=source", b3);
	CU_ASSERT_EQUAL(
	    RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "shared", "--bucket", semi),
	    2);
	HAS("';'");
	/* taken name, bucket, replica */
	CU_ASSERT_EQUAL(
	    RUN("region", "add", "--meta", M, "--name", "us", "--mode", "shared", "--bucket", b3),
	    1);
	HAS("already has a region named 'us'");
	CU_ASSERT_EQUAL(
	    RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "shared", "--bucket", b1),
	    1);
	HAS("region 'us' already uses this bucket");
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "meta-only",
			    "--replica-meta", far_replica.url),
			1);
	HAS("region 'ap' already uses this replica");
	/* a bucket that cannot be written: under a regular file (refused even to root) */
	char file[1000];
	snprintf(file, sizeof(file), "%s/not-a-dir", tmp);
	FILE *f = fopen(file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	snprintf(blocked, sizeof(blocked), "file://%s/bucket", file);
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "shared",
			    "--bucket", blocked),
			1);
	HAS("is not usable");
	if (geteuid() != 0) {
		char ro[1100], rourl[1200];
		snprintf(ro, sizeof(ro), "%s/read-only", tmp);
		mkdir(ro, 0500);
		snprintf(rourl, sizeof(rourl), "file://%s", ro);
		CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode",
				    "shared", "--bucket", rourl),
				1);
		HAS("is not usable");
		chmod(ro, 0700);
	}
	/* a replica that holds another volume is a mistake worth stopping */
	char other[160];
	snprintf(other, sizeof(other), "%s/4", primary.url);
	char b9[1100];
	snprintf(b9, sizeof(b9), "file://%s/b9", tmp);
	CU_ASSERT_EQUAL(RUN("format", "--meta", other, "--bucket", b9, "other"), 0);
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "mirror",
			    "--bucket", b3, "--replica-meta", other),
			1);
	HAS("holds another volume");
	/* nothing of the above was added */
	CU_ASSERT_EQUAL(RUN("region", "list", "--meta", M), 0);
	HASNT("fr ");
	/* regions are added on the source's primary, not on a replica */
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", mirror_replica.url, "--name", "fr", "--mode",
			    "shared", "--bucket", b3),
			1);
	HAS("read-only replica");
	/* --no-probe skips the bucket check (the bucket may be set up later) */
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", M, "--name", "fr", "--mode", "shared",
			    "--bucket", blocked, "--no-probe"),
			0);
	HAS("index 4");
}

/* At most MCFS_MAX_REGIONS, in a volume of its own (database 2). */
static void test_limit(void)
{
	char meta[160], bucket[1100];
	snprintf(meta, sizeof(meta), "%s/2", primary.url);
	snprintf(bucket, sizeof(bucket), "file://%s/lim0", tmp);
	CU_ASSERT_EQUAL_FATAL(RUN("format", "--meta", meta, "--bucket", bucket, "lim"), 0);
	for (int i = 1; i < 16; i++) {
		char name[16];
		snprintf(name, sizeof(name), "r%d", i);
		snprintf(bucket, sizeof(bucket), "file://%s/lim%d", tmp, i);
		CU_ASSERT_EQUAL(RUN("region", "add", "--meta", meta, "--name", name, "--mode",
				    "shared", "--bucket", bucket, "--no-probe"),
				0);
	}
	snprintf(bucket, sizeof(bucket), "file://%s/lim16", tmp);
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", meta, "--name", "r16", "--mode", "shared",
			    "--bucket", bucket, "--no-probe"),
			1);
	HAS("16 regions, the most");
}

static void test_promote(void)
{
	const char *R = mirror_replica.url;
	char role[16];
	int pport;
	/* a file written in the source region before the disaster */
	char err[512];
	struct vfs *v = NULL;
	struct mcfs_attr a;
	struct vfs_options vo = {.meta_url = primary.url};
	CU_ASSERT_EQUAL_FATAL(vfs_open(&vo, &v, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vfs_create(v, &ROOT_CRED, 1, "before", 0644, 0, &a, NULL), 0);
	CU_ASSERT_EQUAL(vfs_write(v, &ROOT_CRED, a.ino, 0, "hello", 5, NULL), 0);
	CU_ASSERT_EQUAL(vfs_flush(v, a.ino), 0);
	CU_ASSERT_EQUAL(vfs_close(v), 0);
	sync_replicas();

	/* refused while the source is alive, or on the wrong server */
	CU_ASSERT_EQUAL(RUN("region", "promote", "--meta", R, "us", "--yes"), 1);
	HAS("still follows a live primary");
	CU_ASSERT_EQUAL(RUN("region", "promote", "--meta", far_replica.url, "us", "--yes"), 1);
	HAS("region us's metadata replica is");
	CU_ASSERT_EQUAL(RUN("region", "promote", "--meta", R, "de", "--yes"), 1);
	HAS("only a mirror region");
	CU_ASSERT_EQUAL(RUN("region", "promote", "--meta", R, "nowhere", "--yes"), 1);
	HAS("no region named 'nowhere'");
	CU_ASSERT_EQUAL(RUN("region", "promote", "--meta", R, "eu", "--yes"), 1);
	HAS("already the source");
	role_of(&mirror_replica, role, sizeof(role), &pport);
	CU_ASSERT_STRING_EQUAL(role, "slave");

	/* the source is lost */
	redis_server_kill(&primary);
	CU_ASSERT_EQUAL_FATAL(wait_until(link_down, &mirror_replica, 10000), 0);
	CU_ASSERT_EQUAL_FATAL(wait_until(link_down, &far_replica, 10000), 0);

	/* without --yes: the plan, and nothing changes */
	CU_ASSERT_EQUAL(RUN("region", "promote", "--meta", R, "us"), 2);
	HAS("REPLICAOF NO ONE");
	HAS("region eu (the old source) becomes a mirror");
	HAS("make region ap's replica");
	HAS("What can be lost");
	HAS("nothing was changed");
	role_of(&mirror_replica, role, sizeof(role), &pport);
	CU_ASSERT_STRING_EQUAL(role, "slave");

	CU_ASSERT_EQUAL(RUN("region", "promote", "--meta", R, "us", "--yes"), 0);
	HAS("region us is now the source of volume vol (promotion 1); region eu is now a mirror");
	HAS("region ap: its replica");
	HAS("What can be lost");
	role_of(&mirror_replica, role, sizeof(role), &pport);
	CU_ASSERT_STRING_EQUAL(role, "master");
	/* the meta-only region's replica now follows the new source */
	role_of(&far_replica, role, sizeof(role), &pport);
	CU_ASSERT_STRING_EQUAL(role, "slave");
	CU_ASSERT_EQUAL(pport, mirror_replica.port);
	CU_ASSERT_EQUAL(redis_server_wait_link(&far_replica, 20000), 0);

	redisReply *r = redis_server_cmd(&mirror_replica, "HMGET {vol}:setting source promotions");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL_FATAL(r->elements, 2);
	CU_ASSERT_STRING_EQUAL(r->element[0]->str ? r->element[0]->str : "(nil)", "us");
	CU_ASSERT_STRING_EQUAL(r->element[1]->str ? r->element[1]->str : "(nil)", "1");
	freeReplyObject(r);
	CU_ASSERT_EQUAL(RUN("region", "list", "--meta", R, "--json"), 0);
	CU_ASSERT(json_ok(out));
	HAS("\"source\":\"us\"");
	HAS("{\"name\":\"eu\",\"index\":0,\"mode\":\"mirror\"");
	HAS("{\"name\":\"us\",\"index\":1,\"mode\":\"source\"");
	HAS("{\"name\":\"ap\",\"index\":2,\"mode\":\"meta-only\"");
	/* the change reached the re-pointed replica */
	CU_ASSERT_EQUAL(
	    redis_wait_replicated(mirror_replica.port, "127.0.0.1", far_replica.port, 10000), 0);
	CU_ASSERT_EQUAL(RUN("region", "list", "--meta", far_replica.url), 0);
	HAS("source region us");

	/* again: idempotent, only re-points */
	CU_ASSERT_EQUAL(RUN("region", "promote", "--meta", R, "us", "--yes"), 0);
	HAS("source already");

	/* the new source serves writes: metadata and a volume opened as region us */
	CU_ASSERT_EQUAL(RUN("region", "add", "--meta", R, "--name", "sa", "--mode", "shared",
			    "--bucket", b0, "--no-probe"),
			1); /* eu's bucket is still eu's */
	vo = (struct vfs_options){.meta_url = R, .region = "us"};
	CU_ASSERT_EQUAL_FATAL(vfs_open(&vo, &v, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vfs_lookup(v, &ROOT_CRED, 1, "before", &a), 0);
	CU_ASSERT_EQUAL(a.size, 5);
	CU_ASSERT_EQUAL(vfs_create(v, &ROOT_CRED, 1, "after", 0644, 0, &a, NULL), 0);
	CU_ASSERT_EQUAL(vfs_write(v, &ROOT_CRED, a.ino, 0, "world", 5, NULL), 0);
	CU_ASSERT_EQUAL(vfs_flush(v, a.ino), 0);
	char buf[8] = {0};
	size_t got = 0;
	bool eof = false;
	CU_ASSERT_EQUAL(vfs_read(v, a.ino, 0, sizeof(buf), buf, &got, &eof), 0);
	CU_ASSERT_EQUAL(got, 5);
	CU_ASSERT_EQUAL(memcmp(buf, "world", 5), 0);
	CU_ASSERT_EQUAL(vfs_close(v), 0);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"usage and exit codes", test_usage},
	    {"add and list every mode", test_add_and_list},
	    {"add refusals", test_refusals},
	    {"region limit", test_limit},
	    {"promote a mirror after the source is lost", test_promote},
	    {NULL, NULL}};
	if (test_add_suite("mcfs region", setup, teardown, tests) < 0)
		return 1;
	return test_run_all();
}
