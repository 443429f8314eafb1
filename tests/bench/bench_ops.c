/* One-off requests: each callback leaves its result where slot->out points;
 * conn_run(b, NULL) waits for it. */
#include "bench_ops.h"

#include <stdio.h>

#include "bench_conn.h"

/* A spare slot, busy and named after the object, or NULL (error recorded). */
static struct bench_slot *oneoff_slot(struct bench *b, const char *name, void *out)
{
	struct bench_slot *s = conn_spare_slot(b);
	if (!s) {
		bench_fail(b, "%s: no connection left to the server", name);
		return NULL;
	}
	slot_begin(s, 0);
	s->name = name;
	s->out = out;
	return s;
}

/* Waits for the one-off request just sent (sent: the async call's result). */
static int oneoff_wait(struct bench *b, struct bench_slot *s, int sent, const char *what)
{
	if (sent != 0)
		return slot_send_failed(s, what);
	return conn_run(b, NULL);
}

/* Keeps a post_op_fh3 when there is one; without, *out stays empty. */
static void keep_fh(struct bench_slot *s, const post_op_fh3 *h, const char *what)
{
	struct bench_fh *out = s->out;
	out->len = 0;
	if (h->handle_follows && bench_fh_set(out, &h->post_op_fh3_u.handle) < 0)
		bench_fail(s->b, "%s %s: bad handle (%u bytes)", what, s->name,
			   h->post_op_fh3_u.handle.data.data_len);
}

static void mkdir_done(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	MKDIR3res *res = data;
	if (slot_rpc_ok(s, status, data, "MKDIR") && slot_nfs_ok(s, res->status, "MKDIR"))
		keep_fh(s, &res->MKDIR3res_u.resok.obj, "MKDIR");
	slot_end(s);
}

static void lookup_done(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	LOOKUP3res *res = data;
	struct bench_fh *out = s->out;
	if (slot_rpc_ok(s, status, data, "LOOKUP") && slot_nfs_ok(s, res->status, "LOOKUP") &&
	    bench_fh_set(out, &res->LOOKUP3res_u.resok.object) < 0)
		bench_fail(s->b, "LOOKUP %s: bad handle", s->name);
	slot_end(s);
}

int ops_lookup(struct bench *b, const struct bench_fh *dir, const char *name, struct bench_fh *out)
{
	struct bench_slot *s = oneoff_slot(b, name, out);
	if (!s)
		return -ENOTCONN;
	LOOKUP3args a;
	a.what.dir = bench_fh3(dir);
	a.what.name = (char *)name;
	return oneoff_wait(b, s, rpc_nfs3_lookup_async(s->c->rpc, lookup_done, &a, s), "LOOKUP");
}

int ops_mkdir(struct bench *b, const struct bench_fh *dir, const char *name, struct bench_fh *out)
{
	struct bench_slot *s = oneoff_slot(b, name, out);
	if (!s)
		return -ENOTCONN;
	MKDIR3args a;
	memset(&a, 0, sizeof(a));
	a.where.dir = bench_fh3(dir);
	a.where.name = (char *)name;
	a.attributes.mode.set_it = 1;
	a.attributes.mode.set_mode3_u.mode = 0755;
	int r = oneoff_wait(b, s, rpc_nfs3_mkdir_async(s->c->rpc, mkdir_done, &a, s), "MKDIR");
	return r == 0 && out->len == 0 ? ops_lookup(b, dir, name, out) : r;
}

void ops_create_args(CREATE3args *a, const struct bench_fh *dir, char *name)
{
	memset(a, 0, sizeof(*a));
	a->where.dir = bench_fh3(dir);
	a->where.name = name;
	a->how.mode = GUARDED;
	a->how.createhow3_u.g_obj_attributes.mode.set_it = 1;
	a->how.createhow3_u.g_obj_attributes.mode.set_mode3_u.mode = 0644;
}

static void create_done(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	CREATE3res *res = data;
	if (slot_rpc_ok(s, status, data, "CREATE") && slot_nfs_ok(s, res->status, "CREATE"))
		keep_fh(s, &res->CREATE3res_u.resok.obj, "CREATE");
	slot_end(s);
}

int ops_create(struct bench *b, const struct bench_fh *dir, const char *name, struct bench_fh *out)
{
	struct bench_slot *s = oneoff_slot(b, name, out);
	if (!s)
		return -ENOTCONN;
	CREATE3args a;
	ops_create_args(&a, dir, (char *)name);
	int r = oneoff_wait(b, s, rpc_nfs3_create_async(s->c->rpc, create_done, &a, s), "CREATE");
	return r == 0 && out->len == 0 ? ops_lookup(b, dir, name, out) : r;
}

static void commit_done(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	COMMIT3res *res = data;
	struct bench_commit *out = s->out;
	if (slot_rpc_ok(s, status, data, "COMMIT") && slot_nfs_ok(s, res->status, "COMMIT"))
		memcpy(out->verf, res->COMMIT3res_u.resok.verf, sizeof(out->verf));
	out->ns = slot_end(s);
}

int ops_commit(struct bench *b, const struct bench_fh *fh, struct bench_commit *out)
{
	struct bench_slot *s = oneoff_slot(b, BENCH_BIG_NAME, out);
	if (!s)
		return -ENOTCONN;
	COMMIT3args a;
	a.file = bench_fh3(fh);
	a.offset = 0;
	a.count = 0; /* to the end of the file */
	return oneoff_wait(b, s, rpc_nfs3_commit_async(s->c->rpc, commit_done, &a, s), "COMMIT");
}

static void remove_done(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	REMOVE3res *res = data;
	if (slot_rpc_ok(s, status, data, "REMOVE"))
		slot_nfs_ok(s, res->status, "REMOVE");
	slot_end(s);
}

int ops_remove(struct bench *b, const struct bench_fh *dir, const char *name)
{
	struct bench_slot *s = oneoff_slot(b, name, NULL);
	if (!s)
		return -ENOTCONN;
	REMOVE3args a;
	a.object.dir = bench_fh3(dir);
	a.object.name = (char *)name;
	return oneoff_wait(b, s, rpc_nfs3_remove_async(s->c->rpc, remove_done, &a, s), "REMOVE");
}

static void rmdir_done(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	RMDIR3res *res = data;
	if (slot_rpc_ok(s, status, data, "RMDIR"))
		slot_nfs_ok(s, res->status, "RMDIR");
	slot_end(s);
}

int ops_rmdir(struct bench *b, const struct bench_fh *dir, const char *name)
{
	struct bench_slot *s = oneoff_slot(b, name, NULL);
	if (!s)
		return -ENOTCONN;
	RMDIR3args a;
	a.object.dir = bench_fh3(dir);
	a.object.name = (char *)name;
	return oneoff_wait(b, s, rpc_nfs3_rmdir_async(s->c->rpc, rmdir_done, &a, s), "RMDIR");
}
