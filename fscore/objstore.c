/* objstore_open() and the public wrappers: argument checks happen here once,
 * so backends only deal with well-formed requests. */
#include "objstore_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coro.h"
#include "log.h"

bool objstore_key_valid(const char *key)
{
	if (!key)
		return false;
	size_t len = strnlen(key, OBJSTORE_KEY_MAX + 1);
	if (len == 0 || len > OBJSTORE_KEY_MAX)
		return false;
	const char *seg = key;
	for (const char *p = key;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '/' || c == '\0') {
			size_t sl = (size_t)(p - seg);
			if (sl == 0 || (sl == 1 && seg[0] == '.') ||
			    (sl == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			if (c == '\0')
				return true;
			seg = p + 1;
		} else if (c < 0x20 || c == 0x7f) {
			return false;
		}
	}
}

/* A prefix may end anywhere, but the directories it names must be keys. */
static bool prefix_valid(const char *prefix)
{
	size_t len = strnlen(prefix, OBJSTORE_KEY_MAX + 1);
	if (len > OBJSTORE_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)prefix[i] < 0x20 || prefix[i] == 0x7f)
			return false;
	const char *slash = strrchr(prefix, '/');
	if (!slash)
		return true;
	char dir[OBJSTORE_KEY_MAX + 1];
	memcpy(dir, prefix, (size_t)(slash - prefix));
	dir[slash - prefix] = '\0';
	return objstore_key_valid(dir);
}

int objstore_batch_result(const struct objstore_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ops[i].result < 0)
			return ops[i].result;
	return 0;
}

/* endpoint without any user:password@ part. */
static void describe(struct objstore *os, const struct bucket_url *u)
{
	if (u->kind == BUCKET_FILE) {
		snprintf(os->desc, sizeof(os->desc), "file://%s", u->path);
		return;
	}
	const char *host = strstr(u->endpoint, "://");
	host = host ? host + 3 : u->endpoint;
	const char *at = strchr(host, '@');
	const char *rest = at ? at + 1 : host;
	snprintf(os->desc, sizeof(os->desc), "%.*s%s/%s", (int)(host - u->endpoint), u->endpoint,
		 rest, u->bucket);
}

int objstore_open(const char *url, const struct objstore_credentials *cred, struct objstore **out)
{
	struct bucket_url u;
	char err[256] = "";
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!url)
		return -EINVAL;
	r = bucket_url_parse(url, &u, err, sizeof(err));
	if (r < 0) {
		log_debug("objstore: bad bucket URL: %s", err);
		return -EINVAL;
	}
	switch (u.kind) {
	case BUCKET_FILE:
		r = objstore_file_open(&u, out);
		break;
	case BUCKET_S3:
		r = objstore_s3_open(&u, cred, out);
		break;
	default:
		r = -EINVAL;
	}
	if (r == 0)
		describe(*out, &u);
	return r;
}

void objstore_close(struct objstore *os)
{
	if (os)
		os->ops->close(os);
}

bool objstore_is_local(const struct objstore *os)
{
	return os && os->local;
}

const char *objstore_describe(const struct objstore *os)
{
	return os ? os->desc : "(none)";
}

/*
 * On a coroutine, a call that may block (anything over HTTP, a write that
 * syncs to disk) runs on the blocking pool while the coroutine parks. Reads
 * of a local directory run in place: a pread of a page-cached file costs
 * less than the two thread switches; so do writes to one in memory (tmpfs).
 */
enum call_kind {
	CALL_PUT,
	CALL_GET,
	CALL_RANGE,
	CALL_RANGE_SIZED,
	CALL_HEAD,
	CALL_DELETE,
	CALL_LIST,
	CALL_BATCH,
	CALL_CHECK,
	CALL_CREATE
};

struct call {
	enum call_kind kind;
	struct objstore *os;
	const char *key;
	const void *data;
	void *buf;
	size_t len, cap, n;
	uint64_t off;
	size_t *out;
	uint64_t *size;
	int (*cb)(const struct objstore_entry *e, void *arg);
	void *cb_arg;
	struct objstore_op *ops;
	int r;
};

static void call_run(void *arg)
{
	struct call *c = arg;
	const struct objstore_ops *o = c->os->ops;
	switch (c->kind) {
	case CALL_PUT:
		c->r = o->put(c->os, c->key, c->data, c->len);
		break;
	case CALL_GET:
		c->r = o->get(c->os, c->key, c->buf, c->cap, c->out);
		break;
	case CALL_RANGE:
		c->r = o->get_range(c->os, c->key, c->off, c->len, c->buf, c->out);
		break;
	case CALL_RANGE_SIZED:
		if (o->get_range_sized) {
			c->r = o->get_range_sized(c->os, c->key, c->off, c->len, c->buf, c->out,
						  c->size);
			break;
		}
		c->r = o->head(c->os, c->key, c->size);
		if (c->r == 0)
			c->r = o->get_range(c->os, c->key, c->off, c->len, c->buf, c->out);
		break;
	case CALL_HEAD:
		c->r = o->head(c->os, c->key, c->size);
		break;
	case CALL_DELETE:
		c->r = o->delete (c->os, c->key);
		break;
	case CALL_LIST:
		c->r = o->list(c->os, c->key, c->cb, c->cb_arg);
		break;
	case CALL_BATCH:
		c->r = o->batch(c->os, c->ops, c->n);
		break;
	case CALL_CHECK:
		c->r = o->check(c->os);
		break;
	case CALL_CREATE:
		c->r = o->create_bucket(c->os);
		break;
	}
}

static int call(struct call *c)
{
	bool reading = c->kind == CALL_GET || c->kind == CALL_RANGE ||
		       c->kind == CALL_RANGE_SIZED || c->kind == CALL_HEAD;
	bool writing = c->kind == CALL_PUT || c->kind == CALL_DELETE;
	bool quick = c->os->local && (reading || (writing && c->os->quick_writes));
	bool on_loop = c->os->loop_io && coro_self() &&
		       (reading || c->kind == CALL_DELETE ||
			(c->kind == CALL_PUT && c->len <= c->os->loop_put_max));
	if (quick || on_loop)
		call_run(c);
	else
		coro_offload(call_run, c);
	return c->r;
}

int objstore_check(struct objstore *os)
{
	return os ? call(&(struct call){.kind = CALL_CHECK, .os = os}) : -EINVAL;
}

int objstore_create_bucket(struct objstore *os)
{
	return os ? call(&(struct call){.kind = CALL_CREATE, .os = os}) : -EINVAL;
}

int objstore_put(struct objstore *os, const char *key, const void *buf, size_t len)
{
	if (!os || !objstore_key_valid(key) || (len && !buf))
		return -EINVAL;
	return call(
	    &(struct call){.kind = CALL_PUT, .os = os, .key = key, .data = buf, .len = len});
}

int objstore_get(struct objstore *os, const char *key, void *buf, size_t cap, size_t *len)
{
	if (!len)
		return -EINVAL;
	*len = 0;
	if (!os || !objstore_key_valid(key) || (cap && !buf))
		return -EINVAL;
	return call(&(struct call){
	    .kind = CALL_GET, .os = os, .key = key, .buf = buf, .cap = cap, .out = len});
}

int objstore_get_range(struct objstore *os, const char *key, uint64_t off, size_t len, void *buf,
		       size_t *got)
{
	if (!got)
		return -EINVAL;
	*got = 0;
	if (!os || !objstore_key_valid(key) || (len && !buf) || off > INT64_MAX ||
	    len > (uint64_t)INT64_MAX - off)
		return -EINVAL;
	return call(&(struct call){.kind = CALL_RANGE,
				   .os = os,
				   .key = key,
				   .off = off,
				   .len = len,
				   .buf = buf,
				   .out = got});
}

/* Never offloaded: opening a local file is as quick as the pread it replaces. */
int objstore_open_read(struct objstore *os, const char *key, int *fd, uint64_t *size)
{
	if (!os || !fd || !size || !objstore_key_valid(key))
		return -EINVAL;
	if (!os->ops->open_read)
		return -EOPNOTSUPP;
	return os->ops->open_read(os, key, fd, size);
}

/* Never offloaded either: only stores whose writes never wait offer them. */
int objstore_open_unnamed(struct objstore *os, const char *key, int *fd)
{
	if (!os || !fd || !objstore_key_valid(key))
		return -EINVAL;
	if (!os->ops->open_unnamed || !os->quick_writes)
		return -EOPNOTSUPP;
	return os->ops->open_unnamed(os, key, fd);
}

int objstore_publish_unnamed(struct objstore *os, const char *key, int fd, size_t len)
{
	if (!os || fd < 0 || !objstore_key_valid(key))
		return -EINVAL;
	if (!os->ops->publish_unnamed)
		return -EOPNOTSUPP;
	return os->ops->publish_unnamed(os, key, fd, len);
}

int objstore_get_range_sized(struct objstore *os, const char *key, uint64_t off, size_t len,
			     void *buf, size_t *got, uint64_t *size)
{
	if (!got || !size)
		return -EINVAL;
	*got = 0;
	*size = 0;
	if (!os || !objstore_key_valid(key) || (len && !buf) || off > INT64_MAX ||
	    len > (uint64_t)INT64_MAX - off)
		return -EINVAL;
	return call(&(struct call){.kind = CALL_RANGE_SIZED,
				   .os = os,
				   .key = key,
				   .off = off,
				   .len = len,
				   .buf = buf,
				   .out = got,
				   .size = size});
}

int objstore_head(struct objstore *os, const char *key, uint64_t *size)
{
	if (!os || !objstore_key_valid(key) || !size)
		return -EINVAL;
	return call(&(struct call){.kind = CALL_HEAD, .os = os, .key = key, .size = size});
}

int objstore_delete(struct objstore *os, const char *key)
{
	if (!os || !objstore_key_valid(key))
		return -EINVAL;
	return call(&(struct call){.kind = CALL_DELETE, .os = os, .key = key});
}

int objstore_list(struct objstore *os, const char *prefix,
		  int (*cb)(const struct objstore_entry *e, void *arg), void *arg)
{
	if (!prefix)
		prefix = "";
	if (!os || !cb || !prefix_valid(prefix))
		return -EINVAL;
	return call(
	    &(struct call){.kind = CALL_LIST, .os = os, .key = prefix, .cb = cb, .cb_arg = arg});
}

static bool op_valid(const struct objstore_op *op)
{
	switch (op->kind) {
	case OBJSTORE_PUT:
	case OBJSTORE_GET:
		return objstore_key_valid(op->key) && (op->len == 0 || op->buf);
	case OBJSTORE_DELETE:
		return objstore_key_valid(op->key);
	}
	return false;
}

int objstore_batch(struct objstore *os, struct objstore_op *ops, size_t n)
{
	if (!os || (n && !ops))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		ops[i].done = 0;
		ops[i].result = op_valid(&ops[i]) ? 0 : -EINVAL;
	}
	if (n == 0)
		return 0;
	return call(&(struct call){.kind = CALL_BATCH, .os = os, .ops = ops, .n = n});
}
