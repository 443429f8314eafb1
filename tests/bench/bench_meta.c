/* Small-file workloads. A create is a chain on one slot: CREATE, (LOOKUP if
 * the server returned no handle,) WRITE; the slot's latency covers it all.
 * The handles are kept in b->small for the read-back check and cleanup: a
 * file exists (for us) while its handle is kept. */
#include "bench_meta.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_conn.h"
#include "bench_data.h"
#include "bench_ops.h"

#define VERIFY_STRIDE 97
#define DIRCOUNT      8192
#define MAXCOUNT      65536

static uint64_t small_seed(const struct bench *b, uint64_t i)
{
	return pattern_seed(b->o.seed, i + 1);
}

static void small_written(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	WRITE3res *res = data;
	if (slot_rpc_ok(s, status, data, "WRITE") && slot_nfs_ok(s, res->status, "WRITE")) {
		const WRITE3resok *ok = &res->WRITE3res_u.resok;
		if (ok->count != BENCH_SMALL)
			bench_fail(s->b, "WRITE %s: %u bytes written of %u", s->name, ok->count,
				   BENCH_SMALL);
		else if (ok->committed != FILE_SYNC)
			bench_fail(s->b, "WRITE %s: FILE_SYNC asked, %d committed", s->name,
				   (int)ok->committed);
	}
	slot_done(s);
}

static void small_write(struct bench_slot *s)
{
	struct bench *b = s->b;
	pattern_fill(&b->pat, small_seed(b, s->arg), 0, s->buf, BENCH_SMALL);
	WRITE3args a;
	a.file = bench_fh3(&b->small[s->arg]);
	a.offset = 0;
	a.count = BENCH_SMALL;
	a.stable = FILE_SYNC;
	a.data.data_len = BENCH_SMALL;
	a.data.data_val = s->buf;
	if (rpc_nfs3_write_async(s->c->rpc, small_written, &a, s) != 0)
		slot_send_failed(s, "WRITE");
}

static void small_found(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	LOOKUP3res *res = data;
	if (!slot_rpc_ok(s, status, data, "LOOKUP") || !slot_nfs_ok(s, res->status, "LOOKUP")) {
		slot_done(s);
	} else if (bench_fh_set(&s->b->small[s->arg], &res->LOOKUP3res_u.resok.object) < 0) {
		bench_fail(s->b, "LOOKUP %s: bad handle", s->name);
		slot_done(s);
	} else {
		small_write(s);
	}
}

/* CREATE answered without a handle: what a client does then. */
static void small_lookup(struct bench_slot *s)
{
	LOOKUP3args a;
	a.what.dir = bench_fh3(&s->b->dir);
	a.what.name = s->fname;
	if (rpc_nfs3_lookup_async(s->c->rpc, small_found, &a, s) != 0)
		slot_send_failed(s, "LOOKUP");
}

static void small_created(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	CREATE3res *res = data;
	if (!slot_rpc_ok(s, status, data, "CREATE") || !slot_nfs_ok(s, res->status, "CREATE")) {
		slot_done(s);
		return;
	}
	const post_op_fh3 *h = &res->CREATE3res_u.resok.obj;
	if (!h->handle_follows)
		small_lookup(s);
	else if (bench_fh_set(&s->b->small[s->arg], &h->post_op_fh3_u.handle) == 0)
		small_write(s);
	else {
		bench_fail(s->b, "CREATE %s: bad handle", s->name);
		slot_done(s);
	}
}

static int create_issue(struct bench *b, struct bench_slot *s)
{
	struct bench_job *j = &b->job;
	if (j->next >= j->total)
		return 0;
	slot_begin(s, j->next++);
	slot_name(s, s->arg);
	b->small[s->arg].maybe = true;
	CREATE3args a;
	ops_create_args(&a, &b->dir, s->fname);
	if (rpc_nfs3_create_async(s->c->rpc, small_created, &a, s) != 0)
		return slot_send_failed(s, "CREATE");
	return 1;
}

int meta_create(struct bench *b)
{
	struct bench_result *r = &b->res[WL_CREATE];
	if (result_begin(r, b->o.files) < 0) {
		result_error(r, "out of memory");
		return -ENOMEM;
	}
	bench_job_reset(&b->job, b->o.files);
	int rc = conn_run_timed(b, r, create_issue);
	r->ops = r->nlat;
	r->bytes = (uint64_t)b->o.files * BENCH_SMALL;
	r->amount = (double)r->ops;
	return rc;
}

static void stat_done(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	LOOKUP3res *res = data;
	if (slot_rpc_ok(s, status, data, "LOOKUP") && slot_nfs_ok(s, res->status, "LOOKUP")) {
		const post_op_attr *pa = &res->LOOKUP3res_u.resok.obj_attributes;
		const fattr3 *a = &pa->post_op_attr_u.attributes;
		if (!pa->attributes_follow)
			bench_fail(s->b, "LOOKUP %s: no attributes", s->name);
		else if (a->type != NF3REG || a->size != BENCH_SMALL)
			bench_fail(s->b, "LOOKUP %s: type %d size %" PRIu64 ", not a file of %u",
				   s->name, (int)a->type, (uint64_t)a->size, BENCH_SMALL);
	}
	slot_done(s);
}

static int stat_issue(struct bench *b, struct bench_slot *s)
{
	struct bench_job *j = &b->job;
	if (j->next >= j->total && !bench_job_another_pass(b))
		return 0;
	slot_begin(s, j->next++ % j->pass);
	slot_name(s, s->arg);
	LOOKUP3args a;
	a.what.dir = bench_fh3(&b->dir);
	a.what.name = s->fname;
	if (rpc_nfs3_lookup_async(s->c->rpc, stat_done, &a, s) != 0)
		return slot_send_failed(s, "LOOKUP");
	return 1;
}

int meta_stat(struct bench *b)
{
	struct bench_result *r = &b->res[WL_STAT];
	if (result_begin(r, b->o.files) < 0) {
		result_error(r, "out of memory");
		return -ENOMEM;
	}
	bench_job_reset(&b->job, b->o.files);
	int rc = conn_run_timed(b, r, stat_issue);
	r->ops = r->nlat;
	r->amount = (double)r->ops;
	return rc;
}

static int remove_issue(struct bench *b, struct bench_slot *s);

int meta_remove(struct bench *b, bool timed)
{
	struct bench_result *r = &b->res[WL_REMOVE];
	bench_job_reset(&b->job, b->o.files);
	if (!timed)
		return conn_run(b, remove_issue);
	if (result_begin(r, b->o.files) < 0) {
		result_error(r, "out of memory");
		return -ENOMEM;
	}
	int rc = conn_run_timed(b, r, remove_issue);
	r->ops = r->nlat;
	r->amount = (double)r->ops;
	return rc;
}

static void removed(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	REMOVE3res *res = data;
	if (!slot_rpc_ok(s, status, data, "REMOVE")) {
		slot_done(s);
		return;
	}
	struct bench_fh *f = &s->b->small[s->arg];
	/* A file whose CREATE got no answer may never have been made. */
	if ((res->status == NFS3ERR_NOENT && f->len == 0) ||
	    slot_nfs_ok(s, res->status, "REMOVE")) {
		f->len = 0;
		f->maybe = false;
	}
	slot_done(s);
}

static int remove_issue(struct bench *b, struct bench_slot *s)
{
	struct bench_job *j = &b->job;
	while (j->next < j->total && b->small[j->next].len == 0 && !b->small[j->next].maybe)
		j->next++;
	if (j->next >= j->total)
		return 0;
	slot_begin(s, j->next++);
	slot_name(s, s->arg);
	REMOVE3args a;
	a.object.dir = bench_fh3(&b->dir);
	a.object.name = s->fname;
	if (rpc_nfs3_remove_async(s->c->rpc, removed, &a, s) != 0)
		return slot_send_failed(s, "REMOVE");
	return 1;
}

static int verify_issue(struct bench *b, struct bench_slot *s)
{
	struct bench_job *j = &b->job;
	while (j->next < j->total && b->small[j->next].len == 0)
		j->next += j->stride;
	if (j->next >= j->total)
		return 0;
	uint64_t i = j->next;
	j->next += j->stride;
	return data_read_send(s, &b->small[i], 0, BENCH_SMALL, small_seed(b, i), BENCH_SMALL,
			      (int64_t)i);
}

int meta_verify(struct bench *b)
{
	bench_job_reset(&b->job, b->o.files);
	b->job.stride = VERIFY_STRIDE;
	b->job.producer = WL_CREATE;
	return data_check_run(b, &b->res[WL_CREATE], verify_issue);
}

/* Bit of a name a listing may hold besides the small files, or 0. */
static unsigned other_bit(const char *name)
{
	if (strcmp(name, ".") == 0)
		return 1;
	if (strcmp(name, "..") == 0)
		return 2;
	return strcmp(name, BENCH_BIG_NAME) == 0 ? 4 : 0;
}

/* The number of a small file's name (f + 6 digits), or -1. */
static long small_index(const char *name, uint32_t files)
{
	if (name[0] != 'f' || strlen(name) != 7)
		return -1;
	long i = 0;
	for (int k = 1; k < 7; k++) {
		if (!isdigit((unsigned char)name[k]))
			return -1;
		i = i * 10 + (name[k] - '0');
	}
	return i < (long)files ? i : -1;
}

static bool listing_take(struct bench_slot *s, struct bench_listing *l, const char *name)
{
	unsigned bit = other_bit(name);
	long i = bit ? -1 : small_index(name, s->b->o.files);
	if (!bit && i < 0) {
		bench_fail(s->b, "READDIRPLUS on connection %d: unexpected entry '%s'", s->c->index,
			   name);
		return false;
	}
	bool twice = bit ? (l->others & bit) != 0 : (l->seen[i / 8] >> (i % 8)) & 1;
	if (twice) {
		bench_fail(s->b, "READDIRPLUS on connection %d: '%s' listed twice", s->c->index,
			   name);
		return false;
	}
	if (bit) {
		l->others |= bit;
	} else {
		l->seen[i / 8] |= (uint8_t)(1u << (i % 8));
		l->entries++;
	}
	return true;
}

static void listing_reply(struct bench_slot *s, struct bench_listing *l,
			  const READDIRPLUS3resok *ok)
{
	const void *p = ok->reply.entries;
	if (!p && !ok->reply.eof) {
		bench_fail(s->b, "READDIRPLUS at cookie %" PRIu64 ": no entries and no eof",
			   s->arg);
		return;
	}
	while (p) {
		/* libnfs 4.0 decodes entries 4-byte aligned: copied before use */
		entryplus3 e;
		memcpy(&e, p, sizeof(e));
		if (!listing_take(s, l, e.name))
			return;
		l->cookie = e.cookie;
		p = e.nextentry;
	}
	memcpy(l->verf, ok->cookieverf, sizeof(l->verf));
	l->eof = ok->reply.eof;
	if (l->eof && l->entries != s->b->o.files)
		bench_fail(s->b, "listing on connection %d: %" PRIu64 " files of %u", s->c->index,
			   l->entries, s->b->o.files);
}

static void listed(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	READDIRPLUS3res *res = data;
	if (!s->busy)
		return; /* given up on; the listings may be gone */
	struct bench_listing *l = &s->b->job.lists[s->c->index];
	l->busy = false;
	if (slot_rpc_ok(s, status, data, "READDIRPLUS at cookie") &&
	    slot_nfs_ok(s, res->status, "READDIRPLUS at cookie"))
		listing_reply(s, l, &res->READDIRPLUS3res_u.resok);
	slot_done(s);
}

/* A complete listing starts again from the top (--min-time). */
static bool listing_another_pass(struct bench *b, struct bench_listing *l)
{
	if (!bench_wants_more(b))
		return false;
	l->listed += l->entries;
	l->entries = 0;
	l->cookie = 0;
	memset(l->verf, 0, sizeof(l->verf));
	memset(l->seen, 0, (b->o.files + 7) / 8);
	l->others = 0;
	l->eof = false;
	return true;
}

/* One chain per connection: nothing to start while its request is out. */
static int readdir_issue(struct bench *b, struct bench_slot *s)
{
	struct bench_listing *l = &b->job.lists[s->c->index];
	if (l->busy || (l->eof && !listing_another_pass(b, l)))
		return 0;
	READDIRPLUS3args a;
	a.dir = bench_fh3(&b->dir);
	a.cookie = l->cookie;
	memcpy(a.cookieverf, l->verf, sizeof(a.cookieverf));
	a.dircount = DIRCOUNT;
	a.maxcount = MAXCOUNT;
	slot_begin(s, l->cookie);
	l->busy = true;
	if (rpc_nfs3_readdirplus_async(s->c->rpc, listed, &a, s) != 0) {
		l->busy = false;
		return slot_send_failed(s, "READDIRPLUS at cookie");
	}
	return 1;
}

static void listings_free(struct bench *b)
{
	for (int i = 0; b->job.lists && i < b->o.conns; i++)
		free(b->job.lists[i].seen);
	free(b->job.lists);
	b->job.lists = NULL;
}

static int listings_alloc(struct bench *b)
{
	b->job.lists = calloc(b->o.conns, sizeof(*b->job.lists));
	if (!b->job.lists)
		return -ENOMEM;
	for (int i = 0; i < b->o.conns; i++)
		if (!(b->job.lists[i].seen = calloc((b->o.files + 7) / 8, 1)))
			return -ENOMEM;
	return 0;
}

/* After the run: every live connection's listing got to eof. */
static void listings_sum(struct bench *b, struct bench_result *r)
{
	for (int i = 0; i < b->o.conns; i++) {
		struct bench_listing *l = &b->job.lists[i];
		r->entries += l->listed + l->entries;
		if (!l->eof && !b->conns[i].dead && !r->errors)
			result_error(r, "listing on connection %d did not finish", i);
	}
}

int meta_readdir(struct bench *b)
{
	struct bench_result *r = &b->res[WL_READDIR];
	int rc = listings_alloc(b);
	if (rc == 0)
		rc = result_begin(r, 64);
	if (rc < 0) {
		result_error(r, "out of memory");
		listings_free(b);
		return rc;
	}
	bench_job_reset(&b->job, 0);
	rc = conn_run_timed(b, r, readdir_issue);
	listings_sum(b, r);
	r->ops = r->nlat;
	r->amount = (double)r->entries;
	listings_free(b);
	return rc;
}
