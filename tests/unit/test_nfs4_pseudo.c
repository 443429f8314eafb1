/* Unit tests of gateway/nfs4_pseudo.c: the NFSv4 pseudo file system built
 * from export lists, walked the way a client walks it. */
#include "nfs4_pseudo.h"
#include "fhandle.h"
#include "cunit_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t vol[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

#define MAXEX 8
static struct export ex[MAXEX];
static struct np4_tree *tree;

/* Ids are arbitrary here; root inodes are 100 * (index + 1). */
static void set_exports(const char *const *paths, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memset(&ex[i], 0, sizeof(ex[i]));
		snprintf(ex[i].path, sizeof(ex[i].path), "%s", paths[i]);
		ex[i].id = 1000 + (uint32_t)i;
		ex[i].root = 100 * (i + 1);
	}
}

static struct np4_tree *mk(const char *const *paths, size_t n)
{
	set_exports(paths, n);
	struct np4_tree *t = NULL;
	CU_ASSERT_FATAL(np4_build(ex, n, vol, &t) == 0);
	CU_ASSERT_FATAL(t != NULL);
	return t;
}

static const char *const three[] = {"/data", "/scratch/team", "/scratch/other"};

static int teardown(void)
{
	np4_free(tree);
	tree = NULL;
	return 0;
}

/* ---- a client predicate: hides exports whose path is in deny[] */

static const char *deny[4];

static bool allow_fn(const struct export *e, const struct sockaddr *peer, void *arg)
{
	for (size_t i = 0; i < 4 && deny[i]; i++)
		if (strcmp(deny[i], e->path) == 0)
			return false;
	return true;
}

static const struct np4_view view = {allow_fn, NULL, NULL};

static void set_deny(const char *a, const char *b)
{
	memset(deny, 0, sizeof(deny));
	deny[0] = a;
	deny[1] = b;
}

/* ---- helpers */

static struct np4_target look(uint64_t node, const char *name, const struct np4_view *v)
{
	struct np4_target tg;
	memset(&tg, 0xee, sizeof(tg));
	CU_ASSERT_EQUAL_FATAL(np4_lookup(tree, node, name, strlen(name), v, &tg), NP4_OK);
	return tg;
}

static enum np4_status look_st(uint64_t node, const char *name)
{
	struct np4_target tg;
	return np4_lookup(tree, node, name, strlen(name), NULL, &tg);
}

static size_t list(uint64_t node, const struct np4_view *v, struct np4_dirent *d, size_t max)
{
	size_t n = 99;
	bool eof = false;
	CU_ASSERT_EQUAL(np4_readdir(tree, node, 0, v, d, max, &n, &eof), NP4_OK);
	CU_ASSERT_TRUE(eof);
	return n;
}

static bool listed(const struct np4_dirent *d, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].name, name) == 0)
			return true;
	return false;
}

/* CU_ASSERT_TRUE takes an int: a bare 64-bit mask would truncate to 0. */
static bool reserved(uint64_t fileid)
{
	return (fileid & NP4_NODE_BIT) != 0;
}

/* ---- tests */

static void test_root_export(void)
{
	static const char *const root[] = {"/"};
	tree = mk(root, 1);
	CU_ASSERT_EQUAL(np4_node_count(tree), 1);
	struct np4_target tg;
	np4_root(tree, NULL, &tg);
	CU_ASSERT_EQUAL(tg.kind, NP4_EXPORT);
	CU_ASSERT_PTR_EQUAL(tg.export, &ex[0]);
	CU_ASSERT_EQUAL(tg.root, 100);
	/* Walking up out of the volume root stays there. */
	CU_ASSERT_EQUAL(np4_export_parent(tree, ex[0].id, NULL, &tg), NP4_OK);
	CU_ASSERT_EQUAL(tg.kind, NP4_EXPORT);
	CU_ASSERT_EQUAL(tg.root, 100);
	CU_ASSERT_EQUAL(np4_export_parent(tree, 4242, NULL, &tg), NP4ERR_NOENT);
	teardown();
}

static void test_shape(void)
{
	tree = mk(three, 3);
	CU_ASSERT_EQUAL(np4_node_count(tree), 5);
	struct np4_target root;
	np4_root(tree, NULL, &root);
	CU_ASSERT_EQUAL(root.kind, NP4_PSEUDO);
	CU_ASSERT_EQUAL(root.node, np4_root_node(tree));
	CU_ASSERT_TRUE(np4_is_root(tree, root.node));

	struct np4_dirent d[8];
	size_t n = list(root.node, NULL, d, 8);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_TRUE(listed(d, n, "data"));
	CU_ASSERT_TRUE(listed(d, n, "scratch"));
	CU_ASSERT_TRUE(d[0].cookie < d[1].cookie);
	for (size_t i = 0; i < n; i++) {
		bool is_data = strcmp(d[i].name, "data") == 0;
		CU_ASSERT_EQUAL(d[i].target.kind, is_data ? NP4_EXPORT : NP4_PSEUDO);
		if (is_data)
			CU_ASSERT_EQUAL(d[i].target.root, 100);
	}

	struct np4_target s = look(root.node, "scratch", NULL);
	n = list(s.node, NULL, d, 8);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_TRUE(listed(d, n, "team"));
	CU_ASSERT_TRUE(listed(d, n, "other"));
	CU_ASSERT_EQUAL(d[0].target.kind, NP4_EXPORT);
	CU_ASSERT_EQUAL(d[1].target.kind, NP4_EXPORT);
	teardown();
}

static void test_walk(void)
{
	tree = mk(three, 3);
	uint64_t root = np4_root_node(tree);
	struct np4_target s = look(root, "scratch", NULL);
	CU_ASSERT_EQUAL(s.kind, NP4_PSEUDO);
	CU_ASSERT_NOT_EQUAL(s.node, root);

	struct np4_target team = look(s.node, "team", NULL);
	CU_ASSERT_EQUAL(team.kind, NP4_EXPORT);
	CU_ASSERT_PTR_EQUAL(team.export, &ex[1]);
	CU_ASSERT_EQUAL(team.root, 200);
	CU_ASSERT_TRUE(reserved(team.node)); /* mounted_on_fileid */
	struct np4_target other = look(s.node, "other", NULL);
	CU_ASSERT_PTR_EQUAL(other.export, &ex[2]);
	CU_ASSERT_EQUAL(other.root, 300);
	struct np4_target data = look(root, "data", NULL);
	CU_ASSERT_PTR_EQUAL(data.export, &ex[0]);
	CU_ASSERT_EQUAL(data.root, 100);

	struct np4_target up;
	CU_ASSERT_EQUAL(np4_lookupp(tree, s.node, NULL, &up), NP4_OK);
	CU_ASSERT_EQUAL(up.kind, NP4_PSEUDO);
	CU_ASSERT_EQUAL(up.node, root);
	CU_ASSERT_EQUAL(np4_lookupp(tree, root, NULL, &up), NP4_OK);
	CU_ASSERT_EQUAL(up.node, root);

	/* Out of the volume again from the export roots. */
	CU_ASSERT_EQUAL(np4_export_parent(tree, ex[1].id, NULL, &up), NP4_OK);
	CU_ASSERT_EQUAL(up.kind, NP4_PSEUDO);
	CU_ASSERT_EQUAL(up.node, s.node);
	CU_ASSERT_EQUAL(np4_export_parent(tree, ex[0].id, NULL, &up), NP4_OK);
	CU_ASSERT_EQUAL(up.node, root);

	CU_ASSERT_EQUAL(look_st(root, "nope"), NP4ERR_NOENT);
	CU_ASSERT_EQUAL(look_st(root, "team"), NP4ERR_NOENT);
	CU_ASSERT_EQUAL(look_st(root, "."), NP4ERR_NOENT);
	CU_ASSERT_EQUAL(look_st(root, ".."), NP4ERR_NOENT);
	CU_ASSERT_EQUAL(look_st(root, "dat"), NP4ERR_NOENT);
	CU_ASSERT_EQUAL(look_st(root, "datas"), NP4ERR_NOENT);
	CU_ASSERT_EQUAL(look_st(12345, "data"), NP4ERR_STALE);
	CU_ASSERT_EQUAL(np4_lookupp(tree, 12345, NULL, &up), NP4ERR_STALE);
	teardown();
}

static void test_names(void)
{
	tree = mk(three, 3);
	uint64_t root = np4_root_node(tree);
	char name[300];
	memset(name, 'a', sizeof(name));
	struct np4_target tg;
	CU_ASSERT_EQUAL(np4_lookup(tree, root, name, 256, NULL, &tg), NP4ERR_NAMETOOLONG);
	CU_ASSERT_EQUAL(np4_lookup(tree, root, name, 255, NULL, &tg), NP4ERR_NOENT);
	CU_ASSERT_EQUAL(np4_lookup(tree, root, name, 300, NULL, &tg), NP4ERR_NAMETOOLONG);
	CU_ASSERT_EQUAL(np4_lookup(tree, root, "", 0, NULL, &tg), NP4ERR_INVAL);
	CU_ASSERT_EQUAL(look_st(root, "scratch/team"), NP4ERR_INVAL);
	CU_ASSERT_EQUAL(look_st(root, "/"), NP4ERR_INVAL);
	/* Counted strings from the wire may carry a NUL. */
	CU_ASSERT_EQUAL(np4_lookup(tree, root, "data\0x", 6, NULL, &tg), NP4ERR_INVAL);
	CU_ASSERT_EQUAL(np4_lookup(tree, root, "data", 4, NULL, &tg), NP4_OK);
	teardown();
}

static void test_handles(void)
{
	tree = mk(three, 3);
	uint64_t root = np4_root_node(tree);
	struct np4_target s = look(root, "scratch", NULL);
	uint8_t fh[NP4_FH_SIZE];
	np4_node_fh(tree, s.node, fh);
	CU_ASSERT_TRUE(np4_is_pseudo_handle(fh, sizeof(fh)));
	CU_ASSERT_EQUAL(fh[0], 'M');
	CU_ASSERT_EQUAL(fh[1], 'C');
	CU_ASSERT_EQUAL(fh[3], NP4_FH_FLAG_PSEUDO);
	CU_ASSERT_EQUAL(memcmp(fh + 4, vol, 16), 0);
	uint64_t node = 0;
	CU_ASSERT_EQUAL(np4_fh_decode(fh, sizeof(fh), vol, &node), NP4_OK);
	CU_ASSERT_EQUAL(node, s.node);
	node = 0;
	CU_ASSERT_EQUAL(np4_putfh(tree, fh, sizeof(fh), NULL, &node), NP4_OK);
	CU_ASSERT_EQUAL(node, s.node);

	/* The same layout as a normal handle: fh_decode parses it, and the
	 * flags byte alone tells them apart. */
	struct fhandle f;
	CU_ASSERT_EQUAL(fh_decode(fh, sizeof(fh), vol, &f), 0);
	CU_ASSERT_EQUAL(f.ino, s.node);
	CU_ASSERT_EQUAL(f.export_id, 0);
	uint8_t real[FH_SIZE];
	struct fhandle rf = {.ino = 200, .generation = 1, .export_id = ex[1].id};
	memcpy(rf.volume, vol, 16);
	fh_encode(&rf, real);
	CU_ASSERT_FALSE(np4_is_pseudo_handle(real, sizeof(real)));
	CU_ASSERT_EQUAL(np4_putfh(tree, real, sizeof(real), NULL, &node), NP4ERR_BADHANDLE);
	teardown();
}

static void test_stable_across_rebuild(void)
{
	tree = mk(three, 3);
	uint64_t root = np4_root_node(tree);
	uint64_t scratch = look(root, "scratch", NULL).node;
	uint64_t team = look(scratch, "team", NULL).node;
	uint8_t fh[NP4_FH_SIZE];
	np4_node_fh(tree, scratch, fh);
	struct np4_dirent d1[8], d2[8];
	size_t n1 = list(root, NULL, d1, 8);
	char names[8][16]; /* d1's names point into the tree about to go */
	for (size_t i = 0; i < n1; i++)
		snprintf(names[i], sizeof(names[i]), "%s", d1[i].name);
	teardown();

	/* A restart, with the exports listed in another order. */
	static const char *const shuffled[] = {"/scratch/other", "/data", "/scratch/team"};
	tree = mk(shuffled, 3);
	CU_ASSERT_EQUAL(np4_root_node(tree), root);
	CU_ASSERT_EQUAL(look(root, "scratch", NULL).node, scratch);
	CU_ASSERT_EQUAL(look(scratch, "team", NULL).node, team);
	uint64_t node = 0;
	CU_ASSERT_EQUAL(np4_putfh(tree, fh, sizeof(fh), NULL, &node), NP4_OK);
	CU_ASSERT_EQUAL(node, scratch);
	size_t n2 = list(root, NULL, d2, 8);
	CU_ASSERT_EQUAL_FATAL(n1, n2);
	for (size_t i = 0; i < n1; i++) {
		CU_ASSERT_STRING_EQUAL(names[i], d2[i].name);
		CU_ASSERT_EQUAL(d1[i].cookie, d2[i].cookie);
	}
	teardown();

	/* Removing an export leaves the others' numbers alone; its own
	 * handle goes stale. */
	static const char *const fewer[] = {"/data"};
	tree = mk(fewer, 1);
	CU_ASSERT_EQUAL(np4_root_node(tree), root);
	CU_ASSERT_EQUAL(np4_putfh(tree, fh, sizeof(fh), NULL, &node), NP4ERR_STALE);
	teardown();
}

static void test_client_filter(void)
{
	tree = mk(three, 3);
	uint64_t root = np4_root_node(tree);
	uint64_t scratch = look(root, "scratch", NULL).node;
	uint64_t other = look(scratch, "other", NULL).node;
	set_deny("/scratch/other", NULL);

	struct np4_dirent d[8];
	size_t n = list(scratch, &view, d, 8);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(d[0].name, "team");
	CU_ASSERT_EQUAL(list(root, &view, d, 8), 2);
	struct np4_target tg;
	CU_ASSERT_EQUAL(np4_lookup(tree, scratch, "other", 5, &view, &tg), NP4ERR_NOENT);
	CU_ASSERT_EQUAL(np4_lookup(tree, scratch, "team", 4, &view, &tg), NP4_OK);
	/* A guessed handle for the hidden node looks absent. */
	uint8_t fh[NP4_FH_SIZE];
	uint64_t node;
	np4_node_fh(tree, other, fh);
	CU_ASSERT_EQUAL(np4_putfh(tree, fh, sizeof(fh), &view, &node), NP4ERR_STALE);

	/* With both team and other hidden, scratch disappears altogether. */
	set_deny("/scratch/other", "/scratch/team");
	n = list(root, &view, d, 8);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(d[0].name, "data");
	CU_ASSERT_EQUAL(np4_lookup(tree, root, "scratch", 7, &view, &tg), NP4ERR_NOENT);
	np4_node_fh(tree, scratch, fh);
	CU_ASSERT_EQUAL(np4_putfh(tree, fh, sizeof(fh), &view, &node), NP4ERR_STALE);
	struct mcfs_attr a;
	CU_ASSERT_EQUAL(np4_getattr(tree, root, &view, &a), NP4_OK);
	CU_ASSERT_EQUAL(a.nlink, 3);

	/* Nothing allowed: an empty root, still reachable. */
	set_deny("/scratch/other", "/scratch/team");
	deny[2] = "/data";
	CU_ASSERT_EQUAL(list(root, &view, d, 8), 0);
	np4_node_fh(tree, root, fh);
	CU_ASSERT_EQUAL(np4_putfh(tree, fh, sizeof(fh), &view, &node), NP4_OK);
	set_deny(NULL, NULL);
	teardown();
}

static void test_cookies(void)
{
	tree = mk(three, 3);
	uint64_t root = np4_root_node(tree);
	struct np4_dirent all[8], d[1];
	size_t n = list(root, NULL, all, 8);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	bool eof = true;
	CU_ASSERT_EQUAL(np4_readdir(tree, root, 0, NULL, d, 1, &n, &eof), NP4_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_FALSE(eof);
	CU_ASSERT_EQUAL(d[0].cookie, all[0].cookie);
	CU_ASSERT_TRUE(d[0].cookie > 2); /* 1 and 2 are reserved */
	CU_ASSERT_EQUAL(np4_readdir(tree, root, d[0].cookie, NULL, d, 1, &n, &eof), NP4_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_TRUE(eof);
	CU_ASSERT_STRING_EQUAL(d[0].name, all[1].name);
	CU_ASSERT_EQUAL(np4_readdir(tree, root, all[1].cookie, NULL, d, 1, &n, &eof), NP4_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_TRUE(eof);

	/* Hiding the last entry makes the first page the whole listing. */
	const char *last = strcmp(all[1].name, "data") == 0 ? "/data" : NULL;
	if (last) {
		set_deny(last, NULL);
	} else {
		set_deny("/scratch/team", "/scratch/other");
	}
	CU_ASSERT_EQUAL(np4_readdir(tree, root, 0, &view, d, 1, &n, &eof), NP4_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_TRUE(eof);
	set_deny(NULL, NULL);

	CU_ASSERT_EQUAL(np4_readdir(tree, root, 1, NULL, d, 1, &n, &eof), NP4ERR_BAD_COOKIE);
	CU_ASSERT_EQUAL(np4_readdir(tree, root, 2, NULL, d, 1, &n, &eof), NP4ERR_BAD_COOKIE);
	CU_ASSERT_EQUAL(np4_readdir(tree, root, 77, NULL, d, 1, &n, &eof), NP4ERR_BAD_COOKIE);
	CU_ASSERT_EQUAL(np4_readdir(tree, root, 0, NULL, d, 0, &n, &eof), NP4ERR_TOOSMALL);
	CU_ASSERT_EQUAL(np4_readdir(tree, 5, 0, NULL, d, 1, &n, &eof), NP4ERR_STALE);
	/* A cookie whose entry went away resumes at the next one. */
	CU_ASSERT_EQUAL(np4_readdir(tree, root, all[0].cookie + 1, NULL, d, 1, &n, &eof), NP4_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(d[0].cookie, all[1].cookie);
	teardown();
}

static void garbage_is(const uint8_t *buf, size_t len, enum np4_status want)
{
	uint64_t node = 0;
	CU_ASSERT_EQUAL(np4_putfh(tree, buf, len, NULL, &node), want);
	CU_ASSERT_EQUAL(node, 0);
}

static void test_garbage_handles(void)
{
	tree = mk(three, 3);
	uint8_t good[NP4_FH_SIZE], b[64];
	np4_node_fh(tree, np4_root_node(tree), good);
	memcpy(b, good, sizeof(good));
	garbage_is(b, 0, NP4ERR_BADHANDLE);
	garbage_is(NULL, 0, NP4ERR_BADHANDLE);
	garbage_is(b, 35, NP4ERR_BADHANDLE);
	garbage_is(b, 37, NP4ERR_BADHANDLE);
	static const size_t pos[] = {0, 1, 2, 3, 20, 31, 35};
	for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		memcpy(b, good, sizeof(good));
		b[pos[i]] ^= 0x80; /* 20: the node bit */
		garbage_is(b, NP4_FH_SIZE, NP4ERR_BADHANDLE);
	}
	memcpy(b, good, sizeof(good));
	b[3] = 0x03; /* unknown flags */
	garbage_is(b, NP4_FH_SIZE, NP4ERR_BADHANDLE);
	memcpy(b, good, sizeof(good));
	b[7] ^= 1; /* another volume */
	garbage_is(b, NP4_FH_SIZE, NP4ERR_STALE);
	memcpy(b, good, sizeof(good));
	b[27] ^= 1; /* a node number nobody has */
	garbage_is(b, NP4_FH_SIZE, NP4ERR_STALE);

	srand(7);
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)rand() % 40;
		for (size_t j = 0; j < len; j++)
			b[j] = (uint8_t)rand();
		if (i & 1 && len >= 4) {
			memcpy(b, good, 4); /* get past the cheap checks */
			len = NP4_FH_SIZE;
		}
		uint64_t node = 0;
		enum np4_status st = np4_putfh(tree, b, len, NULL, &node);
		CU_ASSERT_TRUE(st == NP4ERR_BADHANDLE || st == NP4ERR_STALE);
	}
	teardown();
}

static void test_attrs(void)
{
	tree = mk(three, 3);
	uint64_t root = np4_root_node(tree);
	uint64_t scratch = look(root, "scratch", NULL).node;
	struct mcfs_attr a, b;
	CU_ASSERT_EQUAL(np4_getattr(tree, root, NULL, &a), NP4_OK);
	CU_ASSERT_EQUAL(a.ino, root);
	CU_ASSERT_TRUE(reserved(a.ino));
	CU_ASSERT_EQUAL(a.type, MCFS_DIR);
	CU_ASSERT_EQUAL(a.mode, 0555);
	CU_ASSERT_EQUAL(a.nlink, 4);
	CU_ASSERT_EQUAL(a.uid, 0);
	CU_ASSERT_EQUAL(a.gid, 0);
	CU_ASSERT_EQUAL(a.size, 4096);
	CU_ASSERT_EQUAL(a.parent, root);
	CU_ASSERT_TRUE(a.mtime.tv_sec > 0);
	CU_ASSERT_EQUAL(np4_getattr(tree, scratch, NULL, &b), NP4_OK);
	CU_ASSERT_EQUAL(b.ino, scratch);
	CU_ASSERT_TRUE(reserved(b.ino));
	CU_ASSERT_EQUAL(b.parent, root);
	CU_ASSERT_EQUAL(b.nlink, 4);
	CU_ASSERT_EQUAL(b.change, a.change);
	CU_ASSERT_EQUAL(b.mtime.tv_sec, a.mtime.tv_sec);
	CU_ASSERT_EQUAL(b.mtime.tv_nsec, a.mtime.tv_nsec);
	CU_ASSERT_EQUAL(b.ctime.tv_nsec, a.atime.tv_nsec);
	CU_ASSERT_EQUAL(np4_getattr(tree, 9, NULL, &b), NP4ERR_STALE);
	uint64_t change = a.change;
	teardown();
	tree = mk(three, 3);
	CU_ASSERT_EQUAL(np4_getattr(tree, root, NULL, &a), NP4_OK);
	CU_ASSERT_TRUE(a.change > change);
	teardown();
}

static void test_bad_paths(void)
{
	static const char *const bad[] = {"data", "/a//b", "/a/", "/a/./b", "/a/..", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_exports(&bad[i], 1);
		struct np4_tree *t = NULL;
		CU_ASSERT_EQUAL(np4_build(ex, 1, vol, &t), -EINVAL);
		CU_ASSERT_PTR_NULL(t);
	}
	char longname[300];
	memset(longname, 'x', sizeof(longname));
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	const char *lp[] = {longname};
	set_exports(lp, 1);
	struct np4_tree *t = NULL;
	CU_ASSERT_EQUAL(np4_build(ex, 1, vol, &t), -EINVAL);
	/* No exports at all: just an empty root. */
	CU_ASSERT_EQUAL(np4_build(ex, 0, NULL, &t), 0);
	CU_ASSERT_EQUAL(np4_node_count(t), 1);
	np4_free(t);
}

static void test_nested_exports(void)
{
	static const char *const nested[] = {"/data", "/data/x/sub", "/data-b"};
	tree = mk(nested, 3);
	uint64_t root = np4_root_node(tree);
	struct np4_target tg;

	/* A client of sub only sees data as a pseudo directory. */
	set_deny("/data", "/data-b");
	struct np4_dirent d[8];
	CU_ASSERT_EQUAL_FATAL(list(root, &view, d, 8), 1);
	CU_ASSERT_STRING_EQUAL(d[0].name, "data");
	struct np4_target data = look(root, "data", &view);
	CU_ASSERT_EQUAL(data.kind, NP4_PSEUDO);
	struct np4_target x = look(data.node, "x", &view);
	struct np4_target sub = look(x.node, "sub", &view);
	CU_ASSERT_EQUAL(sub.kind, NP4_EXPORT);
	CU_ASSERT_EQUAL(sub.root, 200);
	CU_ASSERT_EQUAL(np4_export_parent(tree, ex[1].id, &view, &tg), NP4_OK);
	CU_ASSERT_EQUAL(tg.kind, NP4_PSEUDO);
	CU_ASSERT_EQUAL(tg.node, x.node);

	/* A client of data-b only: '/' sorting first keeps data's subtree
	 * apart from data-b. */
	set_deny("/data", "/data/x/sub");
	CU_ASSERT_EQUAL_FATAL(list(root, &view, d, 8), 1);
	CU_ASSERT_STRING_EQUAL(d[0].name, "data-b");
	CU_ASSERT_EQUAL(np4_lookup(tree, root, "data", 4, &view, &tg), NP4ERR_NOENT);

	/* A client of data enters the volume at data, and going up from sub
	 * stays in the volume under data. */
	set_deny(NULL, NULL);
	CU_ASSERT_EQUAL(look(root, "data", &view).kind, NP4_EXPORT);
	CU_ASSERT_EQUAL(np4_export_parent(tree, ex[1].id, &view, &tg), NP4_OK);
	CU_ASSERT_EQUAL(tg.kind, NP4_VOLUME);
	CU_ASSERT_PTR_EQUAL(tg.export, &ex[0]);
	teardown();

	static const char *const direct[] = {"/data", "/data/sub"};
	tree = mk(direct, 2);
	CU_ASSERT_EQUAL(np4_export_parent(tree, ex[1].id, NULL, &tg), NP4_OK);
	CU_ASSERT_EQUAL(tg.kind, NP4_EXPORT);
	CU_ASSERT_EQUAL(tg.root, 100);
	teardown();
}

static void test_root_and_others(void)
{
	static const char *const both[] = {"/", "/data", "/data"};
	tree = mk(both, 3);
	struct np4_target tg;
	np4_root(tree, NULL, &tg);
	CU_ASSERT_EQUAL(tg.kind, NP4_EXPORT);
	CU_ASSERT_EQUAL(tg.root, 100);
	/* A client barred from "/" gets a pseudo root leading to /data; the
	 * repeated path keeps its first export. */
	set_deny("/", NULL);
	np4_root(tree, &view, &tg);
	CU_ASSERT_EQUAL(tg.kind, NP4_PSEUDO);
	struct np4_target data = look(tg.node, "data", &view);
	CU_ASSERT_PTR_EQUAL(data.export, &ex[1]);
	CU_ASSERT_EQUAL(np4_export_parent(tree, ex[1].id, &view, &tg), NP4_OK);
	CU_ASSERT_EQUAL(tg.kind, NP4_PSEUDO);
	CU_ASSERT_TRUE(np4_is_root(tree, tg.node));
	set_deny(NULL, NULL);
	/* Everyone else is in the volume, so up from /data is the real "..". */
	CU_ASSERT_EQUAL(np4_export_parent(tree, ex[1].id, NULL, &tg), NP4_OK);
	CU_ASSERT_EQUAL(tg.kind, NP4_EXPORT);
	CU_ASSERT_EQUAL(tg.root, 100);
	teardown();
}

int main(void)
{
	static const struct test_case tests[] = {
	    {"root_export", test_root_export},
	    {"shape", test_shape},
	    {"walk", test_walk},
	    {"names", test_names},
	    {"handles", test_handles},
	    {"stable_across_rebuild", test_stable_across_rebuild},
	    {"client_filter", test_client_filter},
	    {"cookies", test_cookies},
	    {"garbage_handles", test_garbage_handles},
	    {"attrs", test_attrs},
	    {"bad_paths", test_bad_paths},
	    {"nested_exports", test_nested_exports},
	    {"root_and_others", test_root_and_others},
	    {NULL, NULL},
	};
	if (test_add_suite("nfs4_pseudo", NULL, teardown, tests) < 0)
		return 1;
	return test_run_all();
}
