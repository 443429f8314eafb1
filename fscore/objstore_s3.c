/* S3 over libcurl: path-style URLs (ENDPOINT/BUCKET/KEY), SigV4 computed by
 * libcurl (CURLOPT_AWS_SIGV4) over a payload hash we compute ourselves.
 *
 * libcurl 7.88 facts this file relies on (checked against s3rver):
 *  - a user x-amz-content-sha256 header is signed and used as the payload
 *    hash; without it libcurl would sign the hash of CURLOPT_POSTFIELDS only;
 *  - the query string is signed exactly as written, not canonicalised, so
 *    every query here is built already sorted and RFC 3986 encoded;
 *  - every header in CURLOPT_HTTPHEADER is signed, including "Expect:" used
 *    to suppress a header, which then breaks the signature. Bodies therefore
 *    go through CURLOPT_POSTFIELDS with a custom PUT method, for which libcurl
 *    only asks for 100-continue above 1 MiB.
 *
 * Connections are reused through a pool of easy handles (one connection
 * cache each) and a pool of multi handles for batches; libcurl documents
 * sharing the connection cache across threads (CURL_LOCK_DATA_CONNECT) as
 * unsafe, so the share only carries DNS and TLS sessions. A request made
 * on a coroutine runs on its event loop's multi handle instead (curl_loop.h),
 * with that loop's connections; objstore.c keeps signed bodies over
 * LOOP_PUT_MAX on the blocking pool, so that hashing them never holds up a
 * loop. */
#include "objstore_s3_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "curl_loop.h"
#include "log.h"
#include "s3_proto.h"

#define CONNECT_TIMEOUT_MS 5000L
/* A transfer below 1 KiB/s for 20 s is a dead peer, not a slow one. */
#define LOW_SPEED_LIMIT 1024L
#define LOW_SPEED_TIME	20L
#define EXPECT_100_MS	300L
#define LIST_BODY_MAX	(64u << 20)
#define TOKEN_MAX	4096

/* Hashing a signed body this big takes about 0.15 ms here (SHA-256 at 1.8 GB/s). */
#define LOOP_PUT_MAX (256u << 10)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

long long s3_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- handle pools */

CURL *s3_easy_get(struct s3_store *s)
{
	CURL *c = NULL;
	pthread_mutex_lock(&s->pool_lock);
	if (s->n_easy > 0)
		c = s->easy[--s->n_easy];
	pthread_mutex_unlock(&s->pool_lock);
	return c ? c : curl_easy_init();
}

void s3_easy_put(struct s3_store *s, CURL *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&s->pool_lock);
	if (s->n_easy < EASY_POOL_MAX) {
		s->easy[s->n_easy++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (c)
		curl_easy_cleanup(c);
}

CURLM *s3_multi_get(struct s3_store *s)
{
	CURLM *m = NULL;
	pthread_mutex_lock(&s->pool_lock);
	if (s->n_multi > 0)
		m = s->multi[--s->n_multi];
	pthread_mutex_unlock(&s->pool_lock);
	if (m)
		return m;
	m = curl_multi_init();
	if (m) {
		curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)BATCH_INFLIGHT);
		curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)BATCH_INFLIGHT);
	}
	return m;
}

void s3_multi_put(struct s3_store *s, CURLM *m)
{
	pthread_mutex_lock(&s->pool_lock);
	if (s->n_multi < MULTI_POOL_MAX) {
		s->multi[s->n_multi++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (m)
		curl_multi_cleanup(m);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	pthread_mutex_lock(&((struct s3_store *)arg)->share_lock[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	pthread_mutex_unlock(&((struct s3_store *)arg)->share_lock[data]);
}

/* ---------------------------------------------------------------- requests */

static int req_header(struct s3_req *r, const char *line)
{
	struct curl_slist *l = curl_slist_append(r->hdrs, line);
	if (!l)
		return -ENOMEM;
	r->hdrs = l;
	return 0;
}

/* key NULL addresses the bucket; query must already be canonical (sorted, encoded). */
int s3_req_init(struct s3_store *s, struct s3_req *r, const char *method, const char *key,
		const char *query, const void *body, size_t body_len)
{
	char enc[3 * OBJSTORE_KEY_MAX + 1] = "";
	char line[128];

	CURL *easy = r->easy;
	memset(r, 0, offsetof(struct s3_req, err));
	r->easy = easy;
	r->method = method;
	r->key = key;
	r->body = body;
	r->body_len = body_len;
	r->discard = strcmp(method, "GET") != 0;
	if (key && s3_uri_encode(key, true, enc, sizeof(enc)) < 0)
		return -EINVAL;
	size_t need = strlen(s->bucket_url) + strlen(enc) + (query ? strlen(query) : 0) + 3;
	r->url = malloc(need);
	if (!r->url)
		return -ENOMEM;
	snprintf(r->url, need, "%s%s%s%s%s", s->bucket_url, key ? "/" : "", enc, query ? "?" : "",
		 query ? query : "");

	/* Over TLS the body needs no signature of its own (TLS authenticates
	 * every byte), and hashing it was a fifth of the gateway's CPU time
	 * per MiB uploaded: sent as UNSIGNED-PAYLOAD, as AWS's own SDKs do. */
	char sha[65] = S3_EMPTY_SHA256;
	if (body_len > 0 && !s->sign_payload)
		snprintf(sha, sizeof(sha), "%s", S3_UNSIGNED_PAYLOAD);
	else if (body_len > 0 && s3_sha256_hex(body, body_len, sha) < 0)
		return -EIO;
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", sha);
	int rc = req_header(r, line);
	if (rc == 0 && body)
		rc = req_header(r, "Content-Type: application/octet-stream");
	return rc;
}

void s3_req_free(struct s3_req *r)
{
	free(r->url);
	r->url = NULL;
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	if (r->grow) {
		free(r->dst);
		r->dst = NULL;
	}
}

static int sink_grow(struct s3_req *r, size_t need)
{
	size_t cap = r->cap ? r->cap : 64 * 1024;
	while (cap < need)
		cap *= 2;
	if (cap > LIST_BODY_MAX)
		return -EFBIG;
	char *p = realloc(r->dst, cap);
	if (!p)
		return -ENOMEM;
	r->dst = p;
	r->cap = cap;
	return 0;
}

static void sink_error(struct s3_req *r, const char *data, size_t n)
{
	size_t room = sizeof(r->err) - 1 - r->err_len;
	size_t k = n < room ? n : room;
	memcpy(r->err + r->err_len, data, k);
	r->err_len += k;
	r->err[r->err_len] = '\0';
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *r = arg;
	size_t n = size * nmemb;

	if (r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status < 200 || r->status > 299) {
		sink_error(r, data, n);
		return n;
	}
	r->received += n;
	if (r->discard)
		return n;
	if (r->received == n && !r->grow && !r->range) {
		/* Refuse an oversize object before reading any of it. */
		curl_off_t cl = -1;
		curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		if (cl > 0 && (uint64_t)cl > r->cap) {
			r->overflow = true;
			return 0;
		}
	}
	if (n > r->cap - r->len && r->grow && sink_grow(r, r->len + n) < 0) {
		r->overflow = true;
		return 0;
	}
	size_t k = n < r->cap - r->len ? n : r->cap - r->len;
	if (k < n && !r->range) {
		r->overflow = true;
		return 0;
	}
	memcpy(r->dst + r->len, data, k);
	r->len += k;
	return n;
}

/* Content-Range tells where a range answer really starts (some servers
 * send more than was asked, or ignore Range). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *r = arg;
	size_t n = size * nmemb;
	static const char name[] = "content-range: bytes ";
	unsigned long long start;

	if (n > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0 &&
	    sscanf(data + sizeof(name) - 1, "%llu-", &start) == 1 && start <= INT64_MAX)
		r->range_start = (int64_t)start;
	return n;
}

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (e == CURLE_OK)                                                                 \
			e = curl_easy_setopt(c, opt, val);                                         \
	} while (0)

/* Sets up r->easy for one attempt. */
int s3_req_prepare(struct s3_store *s, struct s3_req *r)
{
	CURL *c = r->easy;
	CURLcode e = CURLE_OK;

	r->len = 0;
	r->received = 0;
	r->range_start = -1;
	r->overflow = false;
	r->cc = CURLE_OK;
	r->status = 0;
	r->length = -1;
	r->code[0] = '\0';
	r->err_len = 0;
	r->err[0] = '\0';

	curl_easy_reset(c);
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	SET(CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_LIMIT);
	SET(CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME);
	SET(CURLOPT_EXPECT_100_TIMEOUT_MS, EXPECT_100_MS);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_SHARE, s->share);
	if (s->ca_file)
		SET(CURLOPT_CAINFO, s->ca_file);
	SET(CURLOPT_USERAGENT, "mcfs");
	SET(CURLOPT_HTTPHEADER, r->hdrs);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_PRIVATE, r);
	if (r->range) {
		SET(CURLOPT_HEADERFUNCTION, on_header);
		SET(CURLOPT_HEADERDATA, r);
	}
	if (s->access) {
		SET(CURLOPT_USERNAME, s->access);
		SET(CURLOPT_PASSWORD, s->secret);
		SET(CURLOPT_AWS_SIGV4, s->sigv4);
	}
	if (strcmp(r->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0) {
		SET(CURLOPT_CUSTOMREQUEST, "PUT");
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		SET(CURLOPT_POSTFIELDS, r->body_len ? r->body : "");
	} else if (strcmp(r->method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, r->method);
	}
	return e == CURLE_OK ? 0 : (e == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO);
}

static int transport_error(struct s3_req *r, bool *retry)
{
	long oserr = 0;

	switch (r->cc) {
	case CURLE_WRITE_ERROR:
		/* Our sink refused: an object over capacity, or a list page too big. */
		return r->overflow && !r->grow ? -EFBIG : -EIO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_COULDNT_RESOLVE_HOST:
		*retry = true;
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		*retry = true;
		curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &oserr);
		if (oserr == EHOSTUNREACH || oserr == ENETUNREACH)
			return -EHOSTUNREACH;
		return oserr == ETIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		*retry = true;
		return -ETIMEDOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		*retry = true;
		return -EIO;
	default:
		return -EIO;
	}
}

static int http_error(struct s3_req *r, bool *retry)
{
	s3_error_code(r->err, r->err_len, r->code, sizeof(r->code));
	switch (r->status) {
	case 404:
		return -ENOENT;
	case 401:
	case 403:
		return -EACCES;
	case 429:
		*retry = true;
		return -EIO;
	case 400:
		/* S3 answers 400 RequestTimeout when it gave up waiting for our body. */
		*retry = strcmp(r->code, "RequestTimeout") == 0;
		return -EIO;
	default:
		*retry = r->status >= 500;
		return -EIO;
	}
}

/* 0 or -errno for a finished attempt; *retry tells whether another may help. */
int s3_req_outcome(struct s3_req *r, bool *retry)
{
	*retry = false;
	if (r->cc != CURLE_OK)
		return transport_error(r, retry);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status < 200 || r->status > 299)
		return http_error(r, retry);
	curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->length);
	if (strcmp(r->method, "HEAD") == 0)
		return 0;
	if (r->length >= 0 && (uint64_t)r->length != r->received) {
		*retry = true; /* a short body is a broken transfer, not a short object */
		return -EIO;
	}
	return 0;
}

/* Expected answers (missing objects, statuses the caller handles) are not news. */
void s3_req_report(struct s3_store *s, const struct s3_req *r, int rc)
{
	if (rc == -ENOENT || rc == -EFBIG || r->status == 409 || r->status == 416)
		return;
	if (r->cc != CURLE_OK)
		log_warn("objstore %s: %s %s: %s (%s)", s->base.desc, r->method,
			 r->key ? r->key : "(bucket)", curl_easy_strerror(r->cc), strerror(-rc));
	else
		log_warn("objstore %s: %s %s: HTTP %ld %s", s->base.desc, r->method,
			 r->key ? r->key : "(bucket)", r->status, r->code[0] ? r->code : "");
}

/* Runs a request to completion on a pooled handle, retrying what may pass. */
static int req_perform(struct s3_store *s, struct s3_req *r)
{
	int rc;

	r->easy = s3_easy_get(s);
	if (!r->easy)
		return -ENOMEM;
	for (unsigned attempt = 1;; attempt++) {
		bool retry = false;
		rc = s3_req_prepare(s, r);
		if (rc == 0) {
			r->cc = curl_loop_perform(r->easy);
			rc = s3_req_outcome(r, &retry);
		}
		if (rc == 0 || !retry || !retry_wait(&s->retry, attempt))
			break;
		log_debug("objstore %s: %s %s: attempt %u failed (%s), retrying", s->base.desc,
			  r->method, r->key ? r->key : "(bucket)", attempt, strerror(-rc));
	}
	s3_easy_put(s, r->easy);
	r->easy = NULL;
	if (rc < 0)
		s3_req_report(s, r, rc);
	return rc;
}

/* ---------------------------------------------------------------- single operations */

int s3_put(struct objstore *os, const char *key, const void *buf, size_t len)
{
	struct s3_req r = {.easy = NULL};
	int rc = s3_req_init(to_s3(os), &r, "PUT", key, NULL, buf ? buf : "", len);
	if (rc == 0)
		rc = req_perform(to_s3(os), &r);
	s3_req_free(&r);
	return rc;
}

int s3_get(struct objstore *os, const char *key, void *buf, size_t cap, size_t *len)
{
	struct s3_req r = {.easy = NULL};
	int rc = s3_req_init(to_s3(os), &r, "GET", key, NULL, NULL, 0);
	r.dst = buf;
	r.cap = cap;
	if (rc == 0)
		rc = req_perform(to_s3(os), &r);
	if (rc == 0)
		*len = r.len;
	s3_req_free(&r);
	return rc;
}

static int s3_head(struct objstore *os, const char *key, uint64_t *size)
{
	struct s3_req r = {.easy = NULL};
	int rc = s3_req_init(to_s3(os), &r, "HEAD", key, NULL, NULL, 0);
	if (rc == 0)
		rc = req_perform(to_s3(os), &r);
	if (rc == 0 && r.length < 0)
		rc = -EIO;
	if (rc == 0)
		*size = (uint64_t)r.length;
	s3_req_free(&r);
	return rc;
}

static int s3_get_range(struct objstore *os, const char *key, uint64_t off, size_t len, void *buf,
			size_t *got)
{
	struct s3_req r = {.easy = NULL};
	char range[80];
	uint64_t size;

	/* There is no empty Range; HEAD still tells a missing object apart. */
	if (len == 0)
		return s3_head(os, key, &size);
	int rc = s3_req_init(to_s3(os), &r, "GET", key, NULL, NULL, 0);
	snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64, off, off + len - 1);
	if (rc == 0)
		rc = req_header(&r, range);
	r.dst = buf;
	r.cap = len;
	r.range = true;
	if (rc == 0)
		rc = req_perform(to_s3(os), &r);
	if (rc < 0 && r.status == 416) {
		rc = 0; /* the range starts at or past the end */
		r.len = 0;
	} else if (rc == 0 && (r.status == 206 ? r.range_start != (int64_t)off : off != 0)) {
		/* What arrived is not the asked range (s3rver sends the whole object for
		 * bytes=0-0; a 200 is the whole object). */
		log_warn("objstore %s: GET %s: range answer starts at %" PRId64 ", not %" PRIu64,
			 os->desc, key, r.status == 206 ? r.range_start : 0, off);
		rc = -EIO;
	}
	if (rc == 0)
		*got = r.len;
	s3_req_free(&r);
	return rc;
}

int s3_delete(struct objstore *os, const char *key)
{
	struct s3_req r = {.easy = NULL};
	int rc = s3_req_init(to_s3(os), &r, "DELETE", key, NULL, NULL, 0);
	if (rc == 0)
		rc = req_perform(to_s3(os), &r);
	s3_req_free(&r);
	return rc == -ENOENT ? 0 : rc;
}

/* A ListObjectsV2 query, already in SigV4 canonical order since libcurl signs it verbatim. */
static char *list_query(const char *prefix, const char *token, int max_keys)
{
	size_t cap = 3 * (strlen(prefix) + strlen(token)) + 96, n = 0;
	char *q = malloc(cap);
	int k = 0;

	if (!q)
		return NULL;
	if (*token) {
		n += (size_t)snprintf(q, cap, "continuation-token=");
		k = s3_uri_encode(token, false, q + n, cap - n);
		n += k < 0 ? 0 : (size_t)k;
		q[n++] = '&';
	}
	n += (size_t)snprintf(q + n, cap - n, "list-type=2");
	if (max_keys > 0)
		n += (size_t)snprintf(q + n, cap - n, "&max-keys=%d", max_keys);
	if (k >= 0 && *prefix) {
		n += (size_t)snprintf(q + n, cap - n, "&prefix=");
		k = s3_uri_encode(prefix, false, q + n, cap - n);
	}
	if (k < 0) {
		free(q);
		return NULL;
	}
	return q;
}

/* Fetches one page of a listing and hands its entries to cb. */
static int list_page(struct s3_store *s, const char *prefix, char *token, int max_keys,
		     int (*cb)(const struct objstore_entry *e, void *arg), void *arg, bool *more)
{
	struct s3_req r = {.easy = NULL};
	char *q = list_query(prefix, token, max_keys);
	if (!q)
		return -ENOMEM;
	int rc = s3_req_init(s, &r, "GET", NULL, q, NULL, 0);
	free(q);
	r.grow = true;
	if (rc == 0)
		rc = req_perform(s, &r);
	if (rc == 0)
		rc = s3_list_page(r.dst, r.len, cb, arg, more, token, TOKEN_MAX);
	s3_req_free(&r);
	return rc;
}

static int s3_list(struct objstore *os, const char *prefix,
		   int (*cb)(const struct objstore_entry *e, void *arg), void *arg)
{
	char *token = calloc(1, TOKEN_MAX);
	bool more = true;
	int rc = token ? 0 : -ENOMEM;

	while (rc == 0 && more)
		rc = list_page(to_s3(os), prefix, token, 0, cb, arg, &more);
	free(token);
	return rc;
}

static int ignore_entry(const struct objstore_entry *e, void *arg)
{
	return 0;
}

static int s3_check(struct objstore *os)
{
	char token[TOKEN_MAX] = "";
	bool more;
	/* Listing needs the bucket and working credentials, and reads nothing large. */
	return list_page(to_s3(os), "", token, 1, ignore_entry, NULL, &more);
}

static int s3_create_bucket(struct objstore *os)
{
	struct s3_store *s = to_s3(os);
	struct s3_req r = {.easy = NULL};
	char body[256] = "";

	/* Outside us-east-1, S3 wants the region spelled out. */
	if (strcmp(s->region, "us-east-1") != 0)
		snprintf(
		    body, sizeof(body),
		    "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		    "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>",
		    s->region);
	int rc = s3_req_init(s, &r, "PUT", NULL, NULL, body, strlen(body));
	if (rc == 0)
		rc = req_perform(s, &r);
	/* s3rver answers BucketAlreadyExists even to the owner, as S3 does to others:
	 * whether the bucket is ours to use is best asked of the bucket itself. */
	if (rc < 0 && r.status == 409)
		rc = strcmp(r.code, "BucketAlreadyOwnedByYou") == 0 ? 0 : s3_check(os);
	s3_req_free(&r);
	return rc;
}

/* ---------------------------------------------------------------- open and close */

static void s3_close(struct objstore *os)
{
	struct s3_store *s = to_s3(os);

	for (size_t i = 0; i < s->n_easy; i++)
		curl_easy_cleanup(s->easy[i]);
	for (size_t i = 0; i < s->n_multi; i++)
		curl_multi_cleanup(s->multi[i]);
	if (s->share)
		curl_share_cleanup(s->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&s->share_lock[i]);
	pthread_mutex_destroy(&s->pool_lock);
	if (s->secret) {
		explicit_bzero(s->secret, strlen(s->secret));
		free(s->secret);
	}
	free(s->access);
	free(s->region);
	free(s->ca_file);
	free(s->bucket_url);
	free(s);
}

static const struct objstore_ops s3_ops = {
    .put = s3_put,
    .get = s3_get,
    .get_range = s3_get_range,
    .head = s3_head,
    .delete = s3_delete,
    .list = s3_list,
    .batch = s3_batch,
    .check = s3_check,
    .create_bucket = s3_create_bucket,
    .close = s3_close,
};

/* Names that go into URLs and the SigV4 scope unencoded. */
static bool name_ok(const char *name, const char *extra)
{
	if (!*name)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(extra, *p)))
			return false;
	return true;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

static int s3_share_init(struct s3_store *s)
{
	s->share = curl_share_init();
	if (!s->share)
		return -ENOMEM;
	CURLSHcode e = curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, share_lock);
	if (e == CURLSHE_OK)
		e = curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	if (e == CURLSHE_OK)
		e = curl_share_setopt(s->share, CURLSHOPT_USERDATA, s);
	if (e == CURLSHE_OK)
		e = curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	if (e == CURLSHE_OK)
		e = curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return e == CURLSHE_OK ? 0 : -ENOMEM;
}

int objstore_s3_open(const struct bucket_url *u, const struct objstore_credentials *cred,
		     struct objstore **out)
{
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return -EIO;

	const char *access = nonempty(cred ? cred->access_key : NULL);
	const char *secret = nonempty(cred ? cred->secret_key : NULL);
	const char *region = nonempty(cred ? cred->region : NULL);
	if (!access)
		access = nonempty(getenv("AWS_ACCESS_KEY_ID"));
	if (!secret)
		secret = nonempty(getenv("AWS_SECRET_ACCESS_KEY"));
	if (!region)
		region = "us-east-1";
	const char *ca_file = nonempty(cred ? cred->ca_file : NULL);
	if (!ca_file)
		ca_file = nonempty(getenv("AWS_CA_BUNDLE"));
	if (!access != !secret) {
		log_error("objstore: S3 needs both an access key and a secret key, or neither");
		return -EINVAL;
	}
	if (!name_ok(region, "-") || !name_ok(u->bucket, ".-_") ||
	    (strncmp(u->endpoint, "http://", 7) != 0 && strncmp(u->endpoint, "https://", 8) != 0))
		return -EINVAL;

	struct s3_store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&s->share_lock[i], NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	s->base.ops = &s3_ops;
	s->retry = RETRY_POLICY_DEFAULT;
	snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", region);
	size_t ulen = strlen(u->endpoint) + strlen(u->bucket) + 2;
	s->bucket_url = malloc(ulen);
	s->region = strdup(region);
	s->access = access ? strdup(access) : NULL;
	s->secret = secret ? strdup(secret) : NULL;
	s->ca_file = ca_file ? strdup(ca_file) : NULL;
	s->sign_payload = strncmp(u->endpoint, "https://", 8) != 0 || (cred && cred->sign_payload);
	s->base.loop_io = true;
	s->base.loop_put_max = s->sign_payload ? LOOP_PUT_MAX : SIZE_MAX;
	if (!s->bucket_url || !s->region || (access && (!s->access || !s->secret)) ||
	    (ca_file && !s->ca_file) || s3_share_init(s) < 0) {
		s3_close(&s->base);
		return -ENOMEM;
	}
	snprintf(s->bucket_url, ulen, "%s/%s", u->endpoint, u->bucket);
	*out = &s->base;
	return 0;
}
