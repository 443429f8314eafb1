/* objstore_batch() for S3: up to BATCH_INFLIGHT transfers at once on a curl
 * multi handle. Each op retries on its own schedule (retry.h backoff), so a
 * slow or failing op never holds back the others. */
#include "objstore_s3_impl.h"

#include <errno.h>
#include <stdlib.h>

struct xfer {
	struct s3_req req; /* first: CURLINFO_PRIVATE points here */
	size_t op;	   /* SIZE_MAX while idle */
};

struct batch {
	struct s3_store *s;
	struct objstore_op *ops;
	size_t n, next, left; /* next: first op never started; left: ops without a result */
	unsigned *tries;
	long long *due;	 /* when a failed op may be tried again */
	size_t *waiting; /* ops waiting for their retry */
	size_t n_waiting;
	CURLM *m;
	struct xfer *x;
	size_t nx;
};

static void op_complete(struct batch *b, size_t i, struct s3_req *r, int rc)
{
	struct objstore_op *op = &b->ops[i];

	if (op->kind == OBJSTORE_DELETE && rc == -ENOENT)
		rc = 0;
	if (op->kind == OBJSTORE_GET && rc == 0)
		op->done = r->len;
	if (rc < 0)
		s3_req_report(b->s, r, rc);
	op->result = rc;
	b->left--;
}

/* The next op to start: a retry whose backoff has passed, else a new one. */
static bool batch_pick(struct batch *b, size_t *i)
{
	long long now = s3_mono_ms();

	for (size_t k = 0; k < b->n_waiting; k++) {
		if (b->due[b->waiting[k]] <= now) {
			*i = b->waiting[k];
			b->waiting[k] = b->waiting[--b->n_waiting];
			return true;
		}
	}
	while (b->next < b->n) {
		size_t k = b->next++;
		if (b->ops[k].result == 0) {
			*i = k;
			return true;
		}
	}
	return false;
}

static void batch_start(struct batch *b, struct xfer *x, size_t i)
{
	static const char *const method[] = {
	    [OBJSTORE_PUT] = "PUT", [OBJSTORE_GET] = "GET", [OBJSTORE_DELETE] = "DELETE"};
	struct objstore_op *op = &b->ops[i];
	bool put = op->kind == OBJSTORE_PUT;

	/* The slot keeps its easy handle across ops; s3_req_init() leaves it be. */
	int rc = s3_req_init(b->s, &x->req, method[op->kind], op->key, NULL,
			     put ? (op->buf ? op->buf : "") : NULL, put ? op->len : 0);
	if (op->kind == OBJSTORE_GET) {
		x->req.dst = op->buf;
		x->req.cap = op->len;
	}
	if (rc == 0)
		rc = s3_req_prepare(b->s, &x->req);
	if (rc == 0 && curl_multi_add_handle(b->m, x->req.easy) != CURLM_OK)
		rc = -ENOMEM;
	if (rc < 0) {
		op_complete(b, i, &x->req, rc);
		s3_req_free(&x->req);
		return;
	}
	x->op = i;
}

static void batch_finish(struct batch *b, struct xfer *x, CURLcode cc)
{
	size_t i = x->op;
	bool retry;

	curl_multi_remove_handle(b->m, x->req.easy);
	x->req.cc = cc;
	int rc = s3_req_outcome(&x->req, &retry);
	b->tries[i]++;
	if (rc < 0 && retry && b->tries[i] < b->s->retry.max_attempts) {
		b->due[i] = s3_mono_ms() + retry_backoff_ms(&b->s->retry, b->tries[i]);
		b->waiting[b->n_waiting++] = i;
	} else {
		op_complete(b, i, &x->req, rc);
	}
	s3_req_free(&x->req);
	x->op = SIZE_MAX;
}

/* How long to wait for network activity before the next retry is due. */
static int batch_timeout(const struct batch *b)
{
	long long now = s3_mono_ms(), wait = 1000;
	for (size_t k = 0; k < b->n_waiting; k++) {
		long long d = b->due[b->waiting[k]] - now;
		if (d < wait)
			wait = d < 0 ? 0 : d;
	}
	return (int)wait;
}

static int batch_run(struct batch *b)
{
	while (b->left > 0) {
		for (size_t k = 0; k < b->nx; k++) {
			size_t i;
			if (b->x[k].op == SIZE_MAX && batch_pick(b, &i))
				batch_start(b, &b->x[k], i);
		}
		int running = 0, queued;
		if (curl_multi_perform(b->m, &running) != CURLM_OK)
			return -EIO;
		bool finished = false;
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(b->m, &queued)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct s3_req *r = NULL;
			CURLcode cc = msg->data.result;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
			batch_finish(b, (struct xfer *)r, cc);
			finished = true;
		}
		/* A slot just freed up: refill it before sleeping. */
		if (b->left == 0 || finished)
			continue;
		if (curl_multi_poll(b->m, NULL, 0, batch_timeout(b), NULL) != CURLM_OK)
			return -EIO;
	}
	return 0;
}

/* After a multi failure: every op still open gets the error. */
static void batch_abort(struct batch *b, int rc)
{
	for (size_t k = 0; k < b->nx; k++) {
		if (b->x[k].op == SIZE_MAX)
			continue;
		curl_multi_remove_handle(b->m, b->x[k].req.easy);
		b->ops[b->x[k].op].result = rc;
		s3_req_free(&b->x[k].req);
		b->x[k].op = SIZE_MAX;
	}
	for (size_t k = 0; k < b->n_waiting; k++)
		b->ops[b->waiting[k]].result = rc;
	for (; b->next < b->n; b->next++)
		if (b->ops[b->next].result == 0)
			b->ops[b->next].result = rc;
}

static int batch_sequential(struct objstore *os, struct objstore_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct objstore_op *op = &ops[i];
		if (op->result < 0)
			continue;
		if (op->kind == OBJSTORE_PUT)
			op->result = s3_put(os, op->key, op->buf, op->len);
		else if (op->kind == OBJSTORE_GET)
			op->result = s3_get(os, op->key, op->buf, op->len, &op->done);
		else
			op->result = s3_delete(os, op->key);
	}
	return objstore_batch_result(ops, n);
}

static void batch_release(struct batch *b)
{
	for (size_t k = 0; b->x && k < b->nx; k++)
		s3_easy_put(b->s, b->x[k].req.easy);
	if (b->m)
		s3_multi_put(b->s, b->m);
	free(b->x);
	free(b->tries);
	free(b->due);
	free(b->waiting);
}

int s3_batch(struct objstore *os, struct objstore_op *ops, size_t n)
{
	struct s3_store *s = to_s3(os);
	struct batch b = {.s = s, .ops = ops, .n = n};

	b.nx = n < BATCH_INFLIGHT ? n : BATCH_INFLIGHT;
	b.tries = calloc(n, sizeof(*b.tries));
	b.due = calloc(n, sizeof(*b.due));
	b.waiting = calloc(n, sizeof(*b.waiting));
	b.x = calloc(b.nx, sizeof(*b.x));
	b.m = s3_multi_get(s);
	bool ok = b.tries && b.due && b.waiting && b.x && b.m;
	for (size_t k = 0; ok && k < b.nx; k++) {
		b.x[k].op = SIZE_MAX;
		b.x[k].req.easy = s3_easy_get(s);
		ok = b.x[k].req.easy != NULL;
	}
	if (!ok) {
		/* Short of memory for the parallel path: the slow one still works. */
		batch_release(&b);
		return batch_sequential(os, ops, n);
	}
	for (size_t i = 0; i < n; i++)
		b.left += ops[i].result == 0;
	int rc = batch_run(&b);
	if (rc < 0)
		batch_abort(&b, rc);
	batch_release(&b);
	return objstore_batch_result(ops, n);
}
