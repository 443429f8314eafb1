#include "nfs4_pseudo.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* Salting past this many collisions would mean a broken hash, not bad luck. */
#define MAX_REHASH 64

struct np4_node {
	char *path;
	const char *name; /* last component of path; "" for the root */
	uint64_t number;
	uint32_t salt;
	size_t parent;		     /* the root is its own parent */
	size_t end;		     /* the subtree is [index, end) in path order */
	const struct export *export; /* a junction; NULL otherwise */
	size_t kids, nkids;	     /* children: t->kids[kids .. kids + nkids) */
};

struct np4_tree {
	struct np4_node *nodes; /* path order, '/' sorting first: subtrees are contiguous */
	size_t n;
	size_t *by_number;
	size_t *kids; /* grouped by parent, each group by number */
	uint8_t volume[16];
	struct timespec built;
	uint64_t change;
};

/* ---- paths ---- */

static bool component_ok(const char *c, size_t len)
{
	if (len == 0 || len > NP4_NAME_MAX)
		return false;
	return !(len == 1 && c[0] == '.') && !(len == 2 && c[0] == '.' && c[1] == '.');
}

/* The tree trusts export_parse's normalisation, but checks it rather than
 * build nodes with empty or dot names. */
static bool path_ok(const char *p, size_t cap)
{
	size_t len = strnlen(p, cap);
	if (len == cap || p[0] != '/')
		return false;
	if (len == 1)
		return true;
	const char *c = p + 1;
	for (;;) {
		const char *slash = strchr(c, '/');
		size_t clen = slash ? (size_t)(slash - c) : strlen(c);
		if (!component_ok(c, clen))
			return false;
		if (!slash)
			return true;
		c = slash + 1;
	}
}

/* Byte order with '/' below every other byte, so that "/a/b" sorts right
 * after "/a" and before "/a-b": every subtree is then one contiguous run. */
static int path_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = *a == '/' ? 1 : (unsigned char)*a + 1;
		int cb = *b == '/' ? 1 : (unsigned char)*b + 1;
		if (!*a)
			ca = 0;
		if (!*b)
			cb = 0;
		if (ca != cb || !ca)
			return ca - cb;
	}
}

static int path_qcmp(const void *a, const void *b)
{
	return path_cmp(*(char *const *)a, *(char *const *)b);
}

static bool is_ancestor(const char *a, const char *b)
{
	size_t la = strlen(a);
	if (la == 1)
		return b[1] != '\0';
	return strncmp(a, b, la) == 0 && b[la] == '/';
}

/* ---- numbers ---- */

static uint64_t fnv64(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * UINT64_C(1099511628211);
	return h;
}

static uint64_t node_number(const char *path, uint32_t salt)
{
	uint64_t h = fnv64(UINT64_C(14695981039346656037), path, strlen(path));
	if (salt) {
		uint8_t s[4] = {(uint8_t)(salt >> 24), (uint8_t)(salt >> 16), (uint8_t)(salt >> 8),
				(uint8_t)salt};
		h = fnv64(h, s, sizeof(s));
	}
	return h | NP4_NODE_BIT;
}

/* ---- building ---- */

static size_t count_components(const char *p)
{
	size_t n = 0;
	for (; *p; p++)
		n += *p == '/';
	return n;
}

static int push_path(char **paths, size_t *n, const char *p, size_t len)
{
	char *s = strndup(p, len);
	if (!s)
		return -ENOMEM;
	paths[(*n)++] = s;
	return 0;
}

/* Every export path and each of its prefixes, root included. */
static int collect_paths(const struct export *ex, size_t nex, char **paths, size_t *n)
{
	if (push_path(paths, n, "/", 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < nex; i++) {
		const char *p = ex[i].path;
		if (p[1] == '\0')
			continue;
		for (size_t j = 1;; j++) {
			if (p[j] != '/' && p[j] != '\0')
				continue;
			if (push_path(paths, n, p, j) < 0)
				return -ENOMEM;
			if (!p[j])
				break;
		}
	}
	return 0;
}

static size_t dedupe_paths(char **paths, size_t n)
{
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (out && strcmp(paths[out - 1], paths[i]) == 0) {
			free(paths[i]);
			continue;
		}
		paths[out++] = paths[i];
	}
	return out;
}

/* Parents by a stack of open ancestors: path order visits a node right
 * after its ancestors. Subtree ends are then folded up from the leaves. */
static void link_parents(struct np4_tree *t)
{
	/* A 1024-byte path has at most 512 components, plus the root. */
	size_t stack[sizeof(((struct export *)0)->path) / 2 + 1], depth = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct np4_node *nd = &t->nodes[i];
		nd->end = i + 1;
		while (depth && !is_ancestor(t->nodes[stack[depth - 1]].path, nd->path))
			depth--;
		nd->parent = depth ? stack[depth - 1] : 0;
		const char *slash = strrchr(nd->path, '/');
		nd->name = slash + 1;
		if (depth < sizeof(stack) / sizeof(stack[0]))
			stack[depth++] = i;
	}
	for (size_t i = t->n; i-- > 1;) {
		struct np4_node *p = &t->nodes[t->nodes[i].parent];
		if (p->end < t->nodes[i].end)
			p->end = t->nodes[i].end;
	}
}

static ssize_t find_path(const struct np4_tree *t, const char *path)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = path_cmp(t->nodes[mid].path, path);
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void attach_exports(struct np4_tree *t, const struct export *ex, size_t nex)
{
	for (size_t i = 0; i < nex; i++) {
		ssize_t k = find_path(t, ex[i].path);
		if (k >= 0 && !t->nodes[k].export)
			t->nodes[k].export = &ex[i];
	}
}

static int number_cmp(const void *a, const void *b, void *arg)
{
	const struct np4_tree *t = arg;
	const struct np4_node *x = &t->nodes[*(const size_t *)a];
	const struct np4_node *y = &t->nodes[*(const size_t *)b];
	if (x->number != y->number)
		return x->number < y->number ? -1 : 1;
	return path_cmp(x->path, y->path);
}

static int kid_cmp(const void *a, const void *b, void *arg)
{
	const struct np4_tree *t = arg;
	size_t px = t->nodes[*(const size_t *)a].parent;
	size_t py = t->nodes[*(const size_t *)b].parent;
	if (px != py)
		return px < py ? -1 : 1;
	return number_cmp(a, b, arg);
}

/* Collisions are resolved by salting the later path (in path order), so
 * the same export list always yields the same numbers. */
static int assign_numbers(struct np4_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		t->by_number[i] = i;
		t->nodes[i].number = node_number(t->nodes[i].path, 0);
	}
	for (int round = 0; round < MAX_REHASH; round++) {
		bool clash = false;
		qsort_r(t->by_number, t->n, sizeof(size_t), number_cmp, t);
		for (size_t i = 1; i < t->n; i++) {
			struct np4_node *nd = &t->nodes[t->by_number[i]];
			if (nd->number != t->nodes[t->by_number[i - 1]].number)
				continue;
			nd->number = node_number(nd->path, ++nd->salt);
			clash = true;
		}
		if (!clash)
			return 0;
	}
	return -EOVERFLOW;
}

static void group_kids(struct np4_tree *t)
{
	size_t nk = 0;
	for (size_t i = 1; i < t->n; i++)
		t->kids[nk++] = i;
	qsort_r(t->kids, nk, sizeof(size_t), kid_cmp, t);
	for (size_t k = 0; k < nk; k++) {
		struct np4_node *p = &t->nodes[t->nodes[t->kids[k]].parent];
		if (!p->nkids)
			p->kids = k;
		p->nkids++;
	}
}

/* change must grow across restarts too, or a client could keep a stale
 * listing of a pseudo directory: nanoseconds of wall time, forced up by
 * one when builds come faster than the clock ticks. */
static uint64_t next_change(const struct timespec *now)
{
	static _Atomic uint64_t last;
	uint64_t want = (uint64_t)now->tv_sec * 1000000000u + (uint64_t)now->tv_nsec;
	uint64_t prev = atomic_load(&last), next;
	do {
		next = want > prev ? want : prev + 1;
	} while (!atomic_compare_exchange_weak(&last, &prev, next));
	return next;
}

static int fill_tree(struct np4_tree *t, const struct export *ex, size_t nex)
{
	size_t cap = 1;
	for (size_t i = 0; i < nex; i++) {
		if (!path_ok(ex[i].path, sizeof(ex[i].path)))
			return -EINVAL;
		cap += count_components(ex[i].path);
	}
	char **paths = calloc(cap, sizeof(*paths));
	if (!paths)
		return -ENOMEM;
	size_t n = 0;
	int r = collect_paths(ex, nex, paths, &n);
	if (r == 0) {
		qsort(paths, n, sizeof(*paths), path_qcmp);
		n = dedupe_paths(paths, n);
		t->nodes = calloc(n, sizeof(*t->nodes));
		t->by_number = calloc(n, sizeof(size_t));
		t->kids = calloc(n, sizeof(size_t));
		r = t->nodes && t->by_number && t->kids ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (r == 0)
			t->nodes[i].path = paths[i];
		else
			free(paths[i]);
	}
	free(paths);
	if (r < 0)
		return r;
	t->n = n;
	link_parents(t);
	attach_exports(t, ex, nex);
	r = assign_numbers(t);
	if (r == 0)
		group_kids(t);
	return r;
}

void np4_free(struct np4_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->nodes[i].path);
	free(t->nodes);
	free(t->by_number);
	free(t->kids);
	free(t);
}

int np4_build(const struct export *exports, size_t n, const uint8_t volume[16],
	      struct np4_tree **out)
{
	struct np4_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (volume)
		memcpy(t->volume, volume, sizeof(t->volume));
	clock_gettime(CLOCK_REALTIME, &t->built);
	t->change = next_change(&t->built);
	int r = fill_tree(t, exports, n);
	if (r < 0) {
		np4_free(t);
		return r;
	}
	*out = t;
	return 0;
}

size_t np4_node_count(const struct np4_tree *t)
{
	return t->n;
}

/* ---- queries ---- */

static ssize_t find_node(const struct np4_tree *t, uint64_t number)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t m = t->nodes[t->by_number[mid]].number;
		if (m == number)
			return (ssize_t)t->by_number[mid];
		if (m < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static bool may_use(const struct np4_view *v, const struct export *e)
{
	return !v || !v->allowed || v->allowed(e, v->peer, v->arg);
}

/* A node shows when some export in its subtree is usable by the client. */
static bool visible(const struct np4_tree *t, size_t i, const struct np4_view *v)
{
	for (size_t j = i; j < t->nodes[i].end; j++)
		if (t->nodes[j].export && may_use(v, t->nodes[j].export))
			return true;
	return false;
}

static bool usable_junction(const struct np4_tree *t, size_t i, const struct np4_view *v)
{
	return t->nodes[i].export && may_use(v, t->nodes[i].export);
}

/* Where arriving at node i takes this client; false if it may not see it.
 * The root is always reachable, if only as an empty directory. */
static bool classify(const struct np4_tree *t, size_t i, const struct np4_view *v,
		     struct np4_target *out)
{
	const struct np4_node *nd = &t->nodes[i];
	memset(out, 0, sizeof(*out));
	out->node = nd->number;
	if (usable_junction(t, i, v)) {
		out->kind = NP4_EXPORT;
		out->export = nd->export;
		out->root = nd->export->root;
		return true;
	}
	out->kind = NP4_PSEUDO;
	return i == 0 || visible(t, i, v);
}

void np4_root(const struct np4_tree *t, const struct np4_view *v, struct np4_target *out)
{
	classify(t, 0, v, out);
}

uint64_t np4_root_node(const struct np4_tree *t)
{
	return t->nodes[0].number;
}

bool np4_is_root(const struct np4_tree *t, uint64_t node)
{
	return node == t->nodes[0].number;
}

static enum np4_status check_name(const char *name, size_t len)
{
	if (len > NP4_NAME_MAX)
		return NP4ERR_NAMETOOLONG;
	if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
		return NP4ERR_INVAL;
	return NP4_OK;
}

enum np4_status np4_lookup(const struct np4_tree *t, uint64_t node, const char *name, size_t len,
			   const struct np4_view *v, struct np4_target *out)
{
	enum np4_status st = check_name(name, len);
	if (st != NP4_OK)
		return st;
	ssize_t i = find_node(t, node);
	if (i < 0)
		return NP4ERR_STALE;
	const struct np4_node *nd = &t->nodes[i];
	for (size_t k = 0; k < nd->nkids; k++) {
		size_t c = t->kids[nd->kids + k];
		const char *cn = t->nodes[c].name;
		if (strlen(cn) == len && memcmp(cn, name, len) == 0)
			return classify(t, c, v, out) ? NP4_OK : NP4ERR_NOENT;
	}
	return NP4ERR_NOENT;
}

enum np4_status np4_lookupp(const struct np4_tree *t, uint64_t node, const struct np4_view *v,
			    struct np4_target *out)
{
	ssize_t i = find_node(t, node);
	if (i < 0)
		return NP4ERR_STALE;
	return classify(t, t->nodes[i].parent, v, out) ? NP4_OK : NP4ERR_NOENT;
}

static ssize_t find_export(const struct np4_tree *t, uint32_t export_id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->nodes[i].export && t->nodes[i].export->id == export_id)
			return (ssize_t)i;
	return -1;
}

/* Above the parent, the nearest export the client uses: the export root
 * is then a plain directory of that export's part of the volume. */
static const struct export *enclosing_export(const struct np4_tree *t, size_t p,
					     const struct np4_view *v)
{
	while (p != 0) {
		p = t->nodes[p].parent;
		if (usable_junction(t, p, v))
			return t->nodes[p].export;
	}
	return NULL;
}

enum np4_status np4_export_parent(const struct np4_tree *t, uint32_t export_id,
				  const struct np4_view *v, struct np4_target *out)
{
	ssize_t i = find_export(t, export_id);
	if (i < 0)
		return NP4ERR_NOENT;
	size_t p = t->nodes[i].parent;
	if (!usable_junction(t, p, v)) {
		const struct export *e = enclosing_export(t, p, v);
		if (e) {
			memset(out, 0, sizeof(*out));
			out->kind = NP4_VOLUME;
			out->export = e;
			return NP4_OK;
		}
	}
	return classify(t, p, v, out) ? NP4_OK : NP4ERR_NOENT;
}

bool np4_export_node(const struct np4_tree *t, uint32_t export_id, uint64_t *node)
{
	ssize_t i = find_export(t, export_id);
	if (i < 0)
		return false;
	*node = t->nodes[i].number;
	return true;
}

/* The first child whose number (= cookie) is above cookie. */
static size_t first_after(const struct np4_tree *t, const struct np4_node *nd, uint64_t cookie)
{
	size_t lo = 0, hi = nd->nkids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->nodes[t->kids[nd->kids + mid]].number <= cookie)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

enum np4_status np4_readdir(const struct np4_tree *t, uint64_t node, uint64_t cookie,
			    const struct np4_view *v, struct np4_dirent *out, size_t max, size_t *n,
			    bool *eof)
{
	*n = 0;
	*eof = false;
	ssize_t i = find_node(t, node);
	if (i < 0)
		return NP4ERR_STALE;
	if (cookie != 0 && !(cookie & NP4_NODE_BIT))
		return NP4ERR_BAD_COOKIE;
	if (max == 0)
		return NP4ERR_TOOSMALL;
	const struct np4_node *nd = &t->nodes[i];
	for (size_t k = first_after(t, nd, cookie); k < nd->nkids; k++) {
		size_t c = t->kids[nd->kids + k];
		struct np4_target tg;
		if (!classify(t, c, v, &tg))
			continue;
		/* Full, but only say so if something visible is left. */
		if (*n == max)
			return NP4_OK;
		out[*n].name = t->nodes[c].name;
		out[*n].cookie = t->nodes[c].number;
		out[*n].target = tg;
		(*n)++;
	}
	*eof = true;
	return NP4_OK;
}

enum np4_status np4_getattr(const struct np4_tree *t, uint64_t node, const struct np4_view *v,
			    struct mcfs_attr *out)
{
	ssize_t i = find_node(t, node);
	if (i < 0)
		return NP4ERR_STALE;
	const struct np4_node *nd = &t->nodes[i];
	uint32_t subdirs = 0;
	for (size_t k = 0; k < nd->nkids; k++)
		subdirs += visible(t, t->kids[nd->kids + k], v);
	memset(out, 0, sizeof(*out));
	out->ino = nd->number;
	out->type = MCFS_DIR;
	out->mode = 0555;
	out->nlink = 2 + subdirs;
	out->size = 4096;
	out->atime = out->mtime = out->ctime = t->built;
	out->change = t->change;
	out->parent = t->nodes[nd->parent].number;
	return NP4_OK;
}

/* ---- handles: the volume's handle layout, with the pseudo flag ---- */

bool np4_is_pseudo_handle(const uint8_t *buf, size_t len)
{
	struct fhandle h;
	return fh_parse(buf, len, &h) == 0 && h.flags == FH_FLAG_PSEUDO;
}

void np4_fh_encode(const uint8_t volume[16], uint64_t node, uint8_t out[NP4_FH_SIZE])
{
	struct fhandle h = {.flags = FH_FLAG_PSEUDO, .ino = node}; /* no generation, no export */
	memcpy(h.volume, volume, 16);
	fh_encode(&h, out);
}

enum np4_status np4_fh_decode(const uint8_t *buf, size_t len, const uint8_t volume[16],
			      uint64_t *node)
{
	struct fhandle h;
	if (fh_parse(buf, len, &h) < 0 || h.flags != FH_FLAG_PSEUDO || !(h.ino & NP4_NODE_BIT) ||
	    h.generation != 0 || h.export_id != 0)
		return NP4ERR_BADHANDLE;
	if (memcmp(h.volume, volume, 16) != 0)
		return NP4ERR_STALE;
	*node = h.ino;
	return NP4_OK;
}

void np4_node_fh(const struct np4_tree *t, uint64_t node, uint8_t out[NP4_FH_SIZE])
{
	np4_fh_encode(t->volume, node, out);
}

enum np4_status np4_putfh(const struct np4_tree *t, const uint8_t *buf, size_t len,
			  const struct np4_view *v, uint64_t *node)
{
	uint64_t nr;
	enum np4_status st = np4_fh_decode(buf, len, t->volume, &nr);
	if (st != NP4_OK)
		return st;
	ssize_t i = find_node(t, nr);
	if (i < 0 || (i != 0 && !visible(t, (size_t)i, v)))
		return NP4ERR_STALE;
	*node = nr;
	return NP4_OK;
}
