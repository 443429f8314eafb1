/* Big-file workloads. A WRITE's payload is made in its slot's buffer just
 * before sending (libnfs copies it into the RPC then), and a READ's reply is
 * checked where libnfs decoded it, so no payload is copied by us. */
#include "bench_data.h"

#include <inttypes.h>
#include <stdio.h>

#include "bench_conn.h"
#include "bench_ops.h"

#define MIB (1024.0 * 1024.0)

/* xorshift64*: the random offsets, reproducible from the seed. */
static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

static uint64_t io_spans(const struct bench *b)
{
	return (b->o.file_size + b->io_size - 1) / b->io_size;
}

static void write_check(struct bench_slot *s, const WRITE3resok *ok)
{
	struct bench_job *j = &s->b->job;
	if (ok->count != s->len) {
		bench_fail(s->b, "WRITE at %" PRIu64 ": %u bytes written of %u", s->off, ok->count,
			   s->len);
	} else if (!j->have_verf) {
		memcpy(j->verf, ok->verf, sizeof(j->verf));
		j->have_verf = true;
	} else if (memcmp(j->verf, ok->verf, sizeof(j->verf)) != 0) {
		bench_fail(s->b,
			   "WRITE at %" PRIu64 ": the write verifier changed (server restart?)",
			   s->off);
	}
}

static void seqwrite_done(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	WRITE3res *res = data;
	if (slot_rpc_ok(s, status, data, "WRITE at") && slot_nfs_ok(s, res->status, "WRITE at"))
		write_check(s, &res->WRITE3res_u.resok);
	slot_done(s);
}

static int seqwrite_issue(struct bench *b, struct bench_slot *s)
{
	struct bench_job *j = &b->job;
	if (j->next >= j->total)
		return 0;
	uint64_t off = j->next++ * b->io_size, left = b->o.file_size - off;
	uint32_t len = left < b->io_size ? (uint32_t)left : b->io_size;
	pattern_fill(&b->pat, j->seed, off, s->buf, len);
	WRITE3args a;
	a.file = bench_fh3(&b->big);
	a.offset = off;
	a.count = len;
	a.stable = UNSTABLE;
	a.data.data_len = len;
	a.data.data_val = s->buf;
	slot_begin(s, off);
	s->off = off;
	s->len = len;
	if (rpc_nfs3_write_async(s->c->rpc, seqwrite_done, &a, s) != 0)
		return slot_send_failed(s, "WRITE at");
	return 1;
}

/* The COMMIT that ends seqwrite; its verifier must be the WRITEs'. */
static int seqwrite_commit(struct bench *b, struct bench_result *r)
{
	struct bench_commit c = {{0}, 0};
	int rc = ops_commit(b, &b->big, &c);
	r->extra_ns = c.ns;
	if (rc == 0 && memcmp(c.verf, b->job.verf, sizeof(c.verf)) != 0) {
		bench_fail(b, "COMMIT: the verifier differs from the WRITEs' (server restart?)");
		rc = -EIO;
	}
	return rc;
}

int data_seqwrite(struct bench *b)
{
	struct bench_result *r = &b->res[WL_SEQWRITE];
	b->cur = r;
	if (result_begin(r, io_spans(b)) < 0) {
		result_error(r, "out of memory");
		return -ENOMEM;
	}
	int rc = ops_create(b, &b->dir, BENCH_BIG_NAME, &b->big);
	if (rc < 0)
		return rc;
	bench_job_reset(&b->job, io_spans(b));
	b->job.seed = pattern_seed(b->o.seed, 0);
	bench_interval_start(b, r);
	rc = conn_run(b, seqwrite_issue);
	if (rc == 0)
		rc = seqwrite_commit(b, r);
	bench_interval_end(b, r);
	r->ran = true;
	r->ops = r->nlat;
	r->bytes = b->o.file_size;
	r->amount = (double)r->bytes / MIB;
	return rc;
}

static void read_check(struct bench_slot *s, const READ3resok *ok)
{
	struct bench *b = s->b;
	bool eof = s->off + s->len >= s->fsize;
	if (ok->count != s->len || ok->data.data_len != s->len) {
		bench_fail(b, "READ at %" PRIu64 ": %u bytes of %u", s->off, ok->count, s->len);
		return;
	}
	if (!ok->eof != !eof) {
		bench_fail(b, "READ at %" PRIu64 ": eof %s", s->off,
			   ok->eof ? "too early" : "missing");
		return;
	}
	ssize_t bad = pattern_check(&b->pat, s->seed, s->off, ok->data.data_val, s->len);
	if (bad < 0)
		return;
	bench_fail(b, "READ %s at %" PRIu64 ": wrong data at byte %" PRIu64,
		   s->name ? s->name : BENCH_BIG_NAME, s->off, s->off + (uint64_t)bad);
	struct bench_result *producer = &b->res[b->job.producer];
	if (producer != b->cur)
		result_error(producer, "data read back is wrong (%s)", b->cur->error);
}

static void read_done(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct bench_slot *s = priv;
	READ3res *res = data;
	if (slot_rpc_ok(s, status, data, "READ at") && slot_nfs_ok(s, res->status, "READ at"))
		read_check(s, &res->READ3res_u.resok);
	slot_done(s);
}

int data_read_send(struct bench_slot *s, const struct bench_fh *fh, uint64_t off, uint32_t len,
		   uint64_t seed, uint64_t fsize, int64_t file)
{
	READ3args a;
	a.file = bench_fh3(fh);
	a.offset = off;
	a.count = len;
	slot_begin(s, file >= 0 ? (uint64_t)file : off);
	if (file >= 0)
		slot_name(s, (uint64_t)file);
	s->off = off;
	s->len = len;
	s->seed = seed;
	s->fsize = fsize;
	if (rpc_nfs3_read_async(s->c->rpc, read_done, &a, s) != 0)
		return slot_send_failed(s, "READ at");
	return 1;
}

static int seqread_issue(struct bench *b, struct bench_slot *s)
{
	struct bench_job *j = &b->job;
	if (j->next >= j->total && !bench_job_another_pass(b))
		return 0;
	uint64_t off = j->next++ % j->pass * b->io_size, left = b->o.file_size - off;
	uint32_t len = left < b->io_size ? (uint32_t)left : b->io_size;
	return data_read_send(s, &b->big, off, len, j->seed, b->o.file_size, -1);
}

int data_seqread(struct bench *b)
{
	struct bench_result *r = &b->res[WL_SEQREAD];
	if (result_begin(r, io_spans(b)) < 0) {
		result_error(r, "out of memory");
		return -ENOMEM;
	}
	bench_job_reset(&b->job, io_spans(b));
	b->job.seed = pattern_seed(b->o.seed, 0);
	b->job.producer = WL_SEQWRITE;
	int rc = conn_run_timed(b, r, seqread_issue);
	r->ops = r->nlat;
	r->bytes = b->o.file_size * b->job.passes;
	r->amount = (double)r->bytes / MIB;
	return rc;
}

static int randread_issue(struct bench *b, struct bench_slot *s)
{
	struct bench_job *j = &b->job;
	if (j->next >= j->total && !bench_job_another_pass(b))
		return 0;
	j->next++;
	uint64_t off = rng_next(&j->rng) % (b->o.file_size / BENCH_SMALL) * BENCH_SMALL;
	return data_read_send(s, &b->big, off, BENCH_SMALL, j->seed, b->o.file_size, -1);
}

int data_randread(struct bench *b)
{
	struct bench_result *r = &b->res[WL_RANDREAD];
	if (result_begin(r, b->o.rand_ops) < 0) {
		result_error(r, "out of memory");
		return -ENOMEM;
	}
	bench_job_reset(&b->job, b->o.rand_ops);
	b->job.seed = pattern_seed(b->o.seed, 0);
	b->job.rng = b->o.seed | 1;
	b->job.producer = WL_SEQWRITE;
	int rc = conn_run_timed(b, r, randread_issue);
	r->ops = r->nlat;
	r->bytes = r->ops * BENCH_SMALL;
	r->amount = (double)r->ops;
	return rc;
}

static int verify_issue(struct bench *b, struct bench_slot *s)
{
	struct bench_job *j = &b->job;
	if (j->next >= j->total)
		return 0;
	uint64_t span = j->next++ * b->io_size, left = b->o.file_size - span;
	uint64_t blocks = (left < b->io_size ? left : b->io_size) / BENCH_SMALL;
	uint64_t off = span + rng_next(&j->rng) % blocks * BENCH_SMALL;
	return data_read_send(s, &b->big, off, BENCH_SMALL, j->seed, b->o.file_size, -1);
}

int data_check_run(struct bench *b, struct bench_result *r, bench_issue_fn issue)
{
	struct bench_result check = {.name = "verify", .unit = ""};
	b->cur = &check;
	int rc = conn_run(b, issue);
	if (check.errors)
		result_error(r, "verify: %s", check.error);
	result_free(&check);
	b->cur = &b->setup;
	return rc;
}

int data_verify(struct bench *b)
{
	bench_job_reset(&b->job, io_spans(b));
	b->job.seed = pattern_seed(b->o.seed, 0);
	b->job.rng = (b->o.seed ^ 0x5eed) | 1;
	b->job.producer = WL_SEQWRITE;
	return data_check_run(b, &b->res[WL_SEQWRITE], verify_issue);
}
