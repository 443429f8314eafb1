/* The gateway's attribute cache against real processes: two gateways on one
 * redis-server, and a third party changing metadata directly. Whatever
 * changes a file, the other gateway's GETATTR must show it: at once for its
 * own changes, within moments for anyone else's (the cache would otherwise
 * serve for its 60 s age bound, which these deadlines are far below). Also
 * with the connection that carries Redis's reports killed, and with the
 * connections whose reads Redis tracks killed. */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <sys/time.h> /* before libnfs.h, which uses struct timeval */
#include <nfsc/libnfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cunit_main.h"
#include "fixture.h"
#include "gateway.h"
#include "nfs_mount.h"

#define SEEN_WITHIN_MS 5000

static struct fixture fx;
static struct gateway_proc gw_a, gw_b;
static char *logdir;
static struct nfs_context *nfs_a, *nfs_b;

static const char *const gw_args[] = {"--export", "/:rw,no_root_squash", NULL};

static struct nfs_context *mount_on(struct gateway_proc *g)
{
	char url[256];
	gateway_url(g, "/", url, sizeof(url));
	return nfs_mount_url(url);
}

static int setup(void)
{
	logdir = test_tmpdir("attrcache-logs");
	if (!logdir || fixture_start(&fx, false, 1u << 20) < 0)
		return -1;
	if (gateway_start(&gw_a, fx.redis.url, logdir, gw_args) < 0 ||
	    gateway_start(&gw_b, fx.redis.url, logdir, gw_args) < 0) {
		fprintf(stderr, "cannot start mcfs-gateway (logs in %s)\n", logdir);
		return -1;
	}
	nfs_a = mount_on(&gw_a);
	nfs_b = mount_on(&gw_b);
	return nfs_a && nfs_b ? 0 : -1;
}

static int teardown(void)
{
	if (nfs_a)
		nfs_destroy_context(nfs_a);
	if (nfs_b)
		nfs_destroy_context(nfs_b);
	int sa = gateway_stop(&gw_a), sb = gateway_stop(&gw_b);
	if (sa != 0 || sb != 0)
		fprintf(stderr, "mcfs-gateway exited with %d/%d (logs in %s)\n", sa, sb, logdir);
	fixture_stop(&fx);
	if (sa == 0 && sb == 0 && logdir)
		rm_rf(logdir);
	free(logdir);
	return 0;
}

/* GETATTR through gateway A on an open handle until mode is as wanted. */
struct want_mode {
	struct nfsfh *fh;
	unsigned mode;
	int polls;
};

static bool mode_is(void *arg)
{
	struct want_mode *w = arg;
	struct nfs_stat_64 st;
	w->polls++;
	return nfs_fstat64(nfs_a, w->fh, &st) == 0 && (st.nfs_mode & 07777) == w->mode;
}

static int seen_mode(struct nfsfh *fh, unsigned mode)
{
	struct want_mode w = {fh, mode, 0};
	int r = wait_until(mode_is, &w, SEEN_WITHIN_MS);
	if (r == 0 && w.polls > 1)
		fprintf(stderr, "(mode %o seen after %d GETATTRs)\n", mode, w.polls);
	return r;
}

static uint64_t size_of(struct nfs_context *nfs, struct nfsfh *fh)
{
	struct nfs_stat_64 st;
	return nfs_fstat64(nfs, fh, &st) == 0 ? st.nfs_size : UINT64_MAX;
}

static struct nfsfh *create_on(struct nfs_context *nfs, const char *path)
{
	struct nfsfh *fh = NULL;
	if (nfs_creat(nfs, path, 0644, &fh) != 0)
		return NULL;
	return fh;
}

static void test_change_through_the_other_gateway(void)
{
	struct nfsfh *fa = create_on(nfs_a, "/f1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fa);
	CU_ASSERT_EQUAL(seen_mode(fa, 0644), 0); /* now cached on A */
	CU_ASSERT_EQUAL(nfs_chmod(nfs_b, "/f1", 0600), 0);
	CU_ASSERT_EQUAL(seen_mode(fa, 0600), 0);

	/* New data through B: A's size, and the bytes A reads, follow. */
	struct nfsfh *fb = NULL;
	CU_ASSERT_EQUAL_FATAL(nfs_open(nfs_b, "/f1", O_RDWR, &fb), 0);
	uint8_t buf[4096], back[4096];
	pattern_fill(41, 0, buf, sizeof(buf));
	CU_ASSERT_EQUAL(nfs_pwrite(nfs_b, fb, 0, sizeof(buf), buf), (int)sizeof(buf));
	CU_ASSERT_EQUAL(nfs_fsync(nfs_b, fb), 0);
	long long deadline = now_ms() + SEEN_WITHIN_MS;
	while (size_of(nfs_a, fa) != sizeof(buf) && now_ms() < deadline)
		;
	CU_ASSERT_EQUAL(size_of(nfs_a, fa), sizeof(buf));
	CU_ASSERT_EQUAL(nfs_pread(nfs_a, fa, 0, sizeof(back), back), (int)sizeof(back));
	CU_ASSERT_EQUAL(pattern_check(41, 0, back, sizeof(back)), -1);
	/* ...and again, over the data A has just read (its slice list is cached too). */
	pattern_fill(42, 0, buf, sizeof(buf));
	CU_ASSERT_EQUAL(nfs_pwrite(nfs_b, fb, 0, sizeof(buf), buf), (int)sizeof(buf));
	CU_ASSERT_EQUAL(nfs_fsync(nfs_b, fb), 0);
	deadline = now_ms() + SEEN_WITHIN_MS;
	bool fresh = false;
	while (!fresh && now_ms() < deadline)
		fresh = nfs_pread(nfs_a, fa, 0, sizeof(back), back) == (int)sizeof(back) &&
			pattern_check(42, 0, back, sizeof(back)) == -1;
	CU_ASSERT_TRUE(fresh);
	nfs_close(nfs_b, fb);
	nfs_close(nfs_a, fa);
}

/* A chmod that no gateway makes: a vfs of this process, on plain threads. */
static int chmod_elsewhere(const char *name, unsigned mode)
{
	struct mcfs_attr a;
	int r = vfs_lookup(fx.vfs, &ROOT_CRED, MCFS_ROOT_INO, name, &a);
	if (r < 0)
		return r;
	struct vfs_setattr sa = {.mask = VFS_SET_MODE, .mode = mode};
	return vfs_setattr(fx.vfs, &ROOT_CRED, a.ino, &sa, &a);
}

/* A change that no gateway made (here: a vfs of this process, on plain threads). */
static void test_change_made_elsewhere(void)
{
	struct nfsfh *fa = create_on(nfs_a, "/f2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fa);
	CU_ASSERT_EQUAL(seen_mode(fa, 0644), 0);
	CU_ASSERT_EQUAL(chmod_elsewhere("f2", 0640), 0);
	CU_ASSERT_EQUAL(seen_mode(fa, 0640), 0);
	nfs_close(nfs_a, fa);
}

static uint32_t nlink_of(struct nfsfh *fh, int *err)
{
	struct nfs_stat_64 st;
	*err = nfs_fstat64(nfs_a, fh, &st);
	return *err == 0 ? (uint32_t)st.nfs_nlink : 0;
}

/* Redis does not report a gateway's own changes back to it: the gateway
 * must know what each of them touched. Seen at once, no waiting. */
static void test_own_changes_seen_at_once(void)
{
	struct nfsfh *g = create_on(nfs_a, "/g");
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	int err;
	CU_ASSERT_EQUAL(nlink_of(g, &err), 1);
	CU_ASSERT_EQUAL(nfs_link(nfs_a, "/g", "/g2"), 0);
	CU_ASSERT_EQUAL(nlink_of(g, &err), 2);
	CU_ASSERT_EQUAL(nfs_unlink(nfs_a, "/g2"), 0);
	CU_ASSERT_EQUAL(nlink_of(g, &err), 1);
	CU_ASSERT_EQUAL(nfs_chmod(nfs_a, "/g", 0604), 0);
	struct nfs_stat_64 st;
	CU_ASSERT_EQUAL(nfs_fstat64(nfs_a, g, &st), 0);
	CU_ASSERT_EQUAL(st.nfs_mode & 07777, 0604);
	/* Written and committed here: size and mtime at once. */
	uint8_t buf[1000];
	pattern_fill(43, 0, buf, sizeof(buf));
	CU_ASSERT_EQUAL(nfs_pwrite(nfs_a, g, 0, sizeof(buf), buf), (int)sizeof(buf));
	CU_ASSERT_EQUAL(nfs_fsync(nfs_a, g), 0);
	CU_ASSERT_EQUAL(size_of(nfs_a, g), sizeof(buf));
	/* Renamed over: the file replaced is gone for good. */
	struct nfsfh *h = create_on(nfs_a, "/h");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(nfs_rename(nfs_a, "/h", "/g"), 0);
	nlink_of(g, &err);
	CU_ASSERT_EQUAL(err, -ESTALE);
	CU_ASSERT_EQUAL(nlink_of(h, &err), 1);
	CU_ASSERT_EQUAL(err, 0);
	/* Removed: gone as well. */
	CU_ASSERT_EQUAL(nfs_unlink(nfs_a, "/g"), 0);
	nlink_of(h, &err);
	CU_ASSERT_EQUAL(err, -ESTALE);
	nfs_close(nfs_a, g);
	nfs_close(nfs_a, h);
}

static long long clients_of_type(const char *type)
{
	redisReply *r = redis_server_cmd(&fx.redis, "CLIENT LIST TYPE %s", type);
	long long n = -1;
	if (r && r->type == REDIS_REPLY_STRING) {
		n = 0;
		for (const char *p = r->str; (p = strstr(p, "id=")); p += 3)
			n++;
	}
	if (r)
		freeReplyObject(r);
	return n;
}

static bool both_listening(void *arg)
{
	(void)arg;
	return clients_of_type("pubsub") == 2;
}

static void kill_clients(const char *type)
{
	redisReply *r = redis_server_cmd(&fx.redis, "CLIENT KILL TYPE %s", type);
	CU_ASSERT_PTR_NOT_NULL(r);
	if (r) {
		CU_ASSERT_EQUAL(r->type, REDIS_REPLY_INTEGER);
		freeReplyObject(r);
	}
}

/* Without the report connection nothing can be trusted: a change made
 * while it is down, or right after it comes back, is seen. */
static void test_report_connection_killed(void)
{
	struct nfsfh *fa = create_on(nfs_a, "/f3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fa);
	CU_ASSERT_EQUAL(wait_until(both_listening, NULL, SEEN_WITHIN_MS), 0);
	CU_ASSERT_EQUAL(seen_mode(fa, 0644), 0);
	kill_clients("pubsub");
	CU_ASSERT_EQUAL(nfs_chmod(nfs_b, "/f3", 0600), 0);
	CU_ASSERT_EQUAL(seen_mode(fa, 0600), 0);
	CU_ASSERT_EQUAL(wait_until(both_listening, NULL, 10000), 0);
	CU_ASSERT_EQUAL(seen_mode(fa, 0600), 0); /* cached again, tracked by the new one */
	CU_ASSERT_EQUAL(nfs_chmod(nfs_b, "/f3", 0606), 0);
	CU_ASSERT_EQUAL(seen_mode(fa, 0606), 0);
	nfs_close(nfs_a, fa);
}

/* Redis forgets what a connection read when it closes: everything read
 * through it must be forgotten too. */
static void test_tracked_connections_killed(void)
{
	struct nfsfh *fa = create_on(nfs_a, "/f4");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fa);
	CU_ASSERT_EQUAL(seen_mode(fa, 0644), 0);
	kill_clients("normal");
	CU_ASSERT_EQUAL(chmod_elsewhere("f4", 0700), 0);
	CU_ASSERT_EQUAL(seen_mode(fa, 0700), 0);
	nfs_close(nfs_a, fa);
}

/* The mode a READDIRPLUS listing of dir through gateway A gives name; -1 if
 * it is not listed, -2 if the listing failed. */
static int listed_mode(const char *dir, const char *name)
{
	struct nfsdir *d = NULL;
	nfs_set_dircache(nfs_a, 0); /* libnfs's own would answer from its last listing */
	if (nfs_opendir(nfs_a, dir, &d) != 0)
		return -2;
	int mode = -1;
	for (struct nfsdirent *e; (e = nfs_readdir(nfs_a, d)) != NULL;)
		if (strcmp(e->name, name) == 0)
			mode = (int)(e->mode & 07777);
	nfs_closedir(nfs_a, d);
	return mode;
}

struct want_listed {
	const char *dir, *name;
	int mode;
};

static bool listed_as(void *arg)
{
	struct want_listed *w = arg;
	return listed_mode(w->dir, w->name) == w->mode;
}

/* A listing keeps its entries' attributes in the cache (the next listing
 * and GETATTRs take them from there): a change through the other gateway
 * reaches both. */
static void test_listed_attributes_follow_changes(void)
{
	/* Made through B, so that A knows them only from its listing. */
	CU_ASSERT_EQUAL_FATAL(nfs_mkdir(nfs_b, "/d6"), 0);
	const char *const paths[3] = {"/d6/g0", "/d6/g1", "/d6/g2"};
	for (int i = 0; i < 3; i++) {
		struct nfsfh *fb = create_on(nfs_b, paths[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(fb);
		nfs_close(nfs_b, fb);
	}
	CU_ASSERT_EQUAL(listed_mode("/d6", "g1"), 0644);
	CU_ASSERT_EQUAL(listed_mode("/d6", "g1"), 0644); /* from the cache now */
	CU_ASSERT_EQUAL(nfs_chmod(nfs_b, "/d6/g1", 0600), 0);
	struct want_listed w = {"/d6", "g1", 0600};
	CU_ASSERT_EQUAL(wait_until(listed_as, &w, SEEN_WITHIN_MS), 0);
	struct nfsfh *fa = NULL;
	CU_ASSERT_EQUAL_FATAL(nfs_open(nfs_a, "/d6/g2", O_RDONLY, &fa), 0);
	CU_ASSERT_EQUAL(listed_mode("/d6", "g2"), 0644);
	CU_ASSERT_EQUAL(nfs_chmod(nfs_b, "/d6/g2", 0640), 0);
	CU_ASSERT_EQUAL(seen_mode(fa, 0640), 0);
	w = (struct want_listed){"/d6", "g2", 0640};
	CU_ASSERT_EQUAL(wait_until(listed_as, &w, SEEN_WITHIN_MS), 0);
	nfs_close(nfs_a, fa);
}

static bool listed(void *arg)
{
	struct want_listed *w = arg;
	return listed_mode(w->dir, w->name) >= 0;
}

static bool not_listed(void *arg)
{
	struct want_listed *w = arg;
	return listed_mode(w->dir, w->name) == -1;
}

static void make_on(struct nfs_context *nfs, const char *path)
{
	struct nfsfh *fh = create_on(nfs, path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fh);
	nfs_close(nfs, fh);
}

/* Listings are kept too: names added and removed through the other gateway
 * reach A's next listings, and A's own changes are in its very next one. */
static void test_listing_follows_changes(void)
{
	CU_ASSERT_EQUAL_FATAL(nfs_mkdir(nfs_a, "/d7"), 0);
	make_on(nfs_b, "/d7/a");
	CU_ASSERT_EQUAL(listed_mode("/d7", "a"), 0644);
	CU_ASSERT_EQUAL(listed_mode("/d7", "a"), 0644); /* from the cache now */
	make_on(nfs_b, "/d7/b");
	struct want_listed w = {"/d7", "b", 0};
	CU_ASSERT_EQUAL(wait_until(listed, &w, SEEN_WITHIN_MS), 0);
	CU_ASSERT_EQUAL(nfs_unlink(nfs_b, "/d7/a"), 0);
	w.name = "a";
	CU_ASSERT_EQUAL(wait_until(not_listed, &w, SEEN_WITHIN_MS), 0);

	/* Own changes: no waiting. */
	CU_ASSERT_EQUAL_FATAL(nfs_mkdir(nfs_a, "/d8"), 0);
	CU_ASSERT_EQUAL(listed_mode("/d8", "c"), -1);
	make_on(nfs_a, "/d7/c");
	CU_ASSERT_EQUAL(listed_mode("/d7", "c"), 0644);
	CU_ASSERT_EQUAL(nfs_rename(nfs_a, "/d7/c", "/d8/c"), 0);
	CU_ASSERT_EQUAL(listed_mode("/d7", "c"), -1);
	CU_ASSERT_EQUAL(listed_mode("/d8", "c"), 0644);
	CU_ASSERT_EQUAL(nfs_unlink(nfs_a, "/d7/b"), 0);
	CU_ASSERT_EQUAL(listed_mode("/d7", "b"), -1);
	CU_ASSERT_EQUAL(nfs_link(nfs_a, "/d8/c", "/d7/c2"), 0);
	CU_ASSERT_EQUAL(listed_mode("/d7", "c2"), 0644);
	CU_ASSERT_EQUAL(nfs_mkdir(nfs_a, "/d8/sub"), 0);
	CU_ASSERT_EQUAL(listed_mode("/d8", "sub") >= 0, 1);
	CU_ASSERT_EQUAL(nfs_rmdir(nfs_a, "/d8/sub"), 0);
	CU_ASSERT_EQUAL(listed_mode("/d8", "sub"), -1);
}

static int lookup_on_a(const char *path)
{
	struct nfs_stat_64 st;
	return nfs_stat64(nfs_a, path, &st);
}

static bool found_on_a(void *arg)
{
	return lookup_on_a(arg) == 0;
}

static bool missing_on_a(void *arg)
{
	return lookup_on_a(arg) == -ENOENT;
}

static bool denied_on_a(void *arg)
{
	return lookup_on_a(arg) == -EACCES;
}

/* Names looked up are kept, found or not: names made, removed and renamed
 * through the other gateway reach A's lookups, A's own at once. */
static void test_lookups_follow_changes(void)
{
	CU_ASSERT_EQUAL_FATAL(nfs_mkdir(nfs_a, "/d9"), 0);
	make_on(nfs_b, "/d9/x");
	for (int i = 0; i < 2; i++) { /* the second from memory */
		CU_ASSERT_EQUAL(lookup_on_a("/d9/x"), 0);
		CU_ASSERT_EQUAL(lookup_on_a("/d9/y"), -ENOENT);
	}
	make_on(nfs_b, "/d9/y");
	CU_ASSERT_EQUAL(wait_until(found_on_a, "/d9/y", SEEN_WITHIN_MS), 0);
	CU_ASSERT_EQUAL(nfs_rename(nfs_b, "/d9/x", "/d9/z"), 0);
	CU_ASSERT_EQUAL(wait_until(missing_on_a, "/d9/x", SEEN_WITHIN_MS), 0);
	CU_ASSERT_EQUAL(lookup_on_a("/d9/z"), 0);

	CU_ASSERT_EQUAL(lookup_on_a("/d9/w"), -ENOENT);
	make_on(nfs_a, "/d9/w");
	CU_ASSERT_EQUAL(lookup_on_a("/d9/w"), 0);
	CU_ASSERT_EQUAL(nfs_unlink(nfs_a, "/d9/w"), 0);
	CU_ASSERT_EQUAL(lookup_on_a("/d9/w"), -ENOENT);
	CU_ASSERT_EQUAL(nfs_rename(nfs_a, "/d9/z", "/d9/w"), 0);
	CU_ASSERT_EQUAL(lookup_on_a("/d9/z"), -ENOENT);
	CU_ASSERT_EQUAL(lookup_on_a("/d9/w"), 0);
	/* Search permission is checked against the directory as it is now. */
	nfs_set_uid(nfs_a, 1000);
	nfs_set_gid(nfs_a, 1000);
	CU_ASSERT_EQUAL(lookup_on_a("/d9/w"), 0);
	CU_ASSERT_EQUAL(lookup_on_a("/d9/w"), 0);
	CU_ASSERT_EQUAL(nfs_chmod(nfs_b, "/d9", 0700), 0);
	CU_ASSERT_EQUAL(wait_until(denied_on_a, "/d9/w", SEEN_WITHIN_MS), 0);
	nfs_set_uid(nfs_a, 0);
	nfs_set_gid(nfs_a, 0);
}

/* And the cache did serve: the gateway says so as it stops. */
static void test_cache_served(void)
{
	struct nfsfh *fa = create_on(nfs_a, "/f5");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fa);
	struct nfs_stat_64 st;
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(nfs_fstat64(nfs_a, fa, &st), 0);
	nfs_close(nfs_a, fa);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(listed_mode("/", "f5"), 0644);
	nfs_destroy_context(nfs_a);
	nfs_a = NULL;
	CU_ASSERT_EQUAL_FATAL(gateway_stop(&gw_a), 0);
	CU_ASSERT(gateway_logged_count(&gw_a, "attribute cache: ") >= 100);
	CU_ASSERT(gateway_logged_count(&gw_a, "listing cache: ") >= 2);
	CU_ASSERT_EQUAL(gateway_restart(&gw_a), 0);
	nfs_a = mount_on(&gw_a);
	CU_ASSERT_PTR_NOT_NULL(nfs_a);
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"a change through the other gateway is seen", test_change_through_the_other_gateway},
	    {"a change made outside any gateway is seen", test_change_made_elsewhere},
	    {"a gateway's own changes are seen at once", test_own_changes_seen_at_once},
	    {"the report connection killed", test_report_connection_killed},
	    {"the tracked connections killed", test_tracked_connections_killed},
	    {"a listing's attributes follow changes", test_listed_attributes_follow_changes},
	    {"a listing follows changes", test_listing_follows_changes},
	    {"lookups follow changes", test_lookups_follow_changes},
	    {"the cache serves", test_cache_served},
	    {NULL, NULL},
	};
	if (test_add_suite("attribute cache", setup, teardown, tests) < 0)
		return 1;
	return test_run_all();
}
