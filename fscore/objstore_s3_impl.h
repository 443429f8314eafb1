/* Inside the S3 backend: the store, one request, and the request engine that
 * objstore_s3.c (single requests) and objstore_s3_batch.c (curl multi) share. */
#ifndef MCFS_OBJSTORE_S3_IMPL_H
#define MCFS_OBJSTORE_S3_IMPL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "objstore_impl.h"
#include "retry.h"

#define EASY_POOL_MAX  64
#define MULTI_POOL_MAX 4
#define BATCH_INFLIGHT 32
#define ERR_BODY_MAX   2048

struct s3_store {
	struct objstore base;
	char *bucket_url; /* ENDPOINT/BUCKET */
	char *access;	  /* NULL: unsigned (anonymous) requests */
	char *secret;	  /* never logged */
	char *region;
	char *ca_file;	   /* NULL: the system's certificates */
	bool sign_payload; /* false only over https: TLS protects the body */
	char sigv4[128];
	struct retry_policy retry;
	CURLSH *share;
	pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	CURL *easy[EASY_POOL_MAX];
	size_t n_easy;
	CURLM *multi[MULTI_POOL_MAX];
	size_t n_multi;
};

/* One S3 request, reusable across attempts. */
struct s3_req {
	CURL *easy;
	const char *method;
	const char *key; /* for messages; NULL for bucket requests */
	char *url;
	struct curl_slist *hdrs;
	const void *body;
	size_t body_len;
	/* 2xx body sink: a caller buffer, or one of ours that grows (list). */
	char *dst;
	size_t cap, len;
	bool grow;    /* dst is ours and grows */
	bool discard; /* a body nobody asked for (PUT, DELETE): counted, not kept */
	bool range;   /* a Range GET: bytes past cap are dropped, not an error */
	bool overflow;
	/* outcome of the last attempt */
	CURLcode cc;
	long status;
	curl_off_t length;   /* Content-Length, -1 when absent */
	size_t received;     /* 2xx body bytes that arrived */
	int64_t range_start; /* from Content-Range, -1 when absent */
	char code[64];	     /* S3 error code */
	char err[ERR_BODY_MAX];
	size_t err_len;
};

static inline struct s3_store *to_s3(struct objstore *os)
{
	return (struct s3_store *)os;
}

long long s3_mono_ms(void);

CURL *s3_easy_get(struct s3_store *s);
void s3_easy_put(struct s3_store *s, CURL *c);
CURLM *s3_multi_get(struct s3_store *s);
void s3_multi_put(struct s3_store *s, CURLM *m);

/* key NULL addresses the bucket; query must already be canonical (sorted,
 * encoded). r->easy is left alone. */
int s3_req_init(struct s3_store *s, struct s3_req *r, const char *method, const char *key,
		const char *query, const void *body, size_t body_len);
void s3_req_free(struct s3_req *r);
/* Sets up r->easy for one attempt. */
int s3_req_prepare(struct s3_store *s, struct s3_req *r);
/* 0 or -errno for a finished attempt; *retry tells whether another may help. */
int s3_req_outcome(struct s3_req *r, bool *retry);
/* Logs a final failure, unless it is an answer callers expect. */
void s3_req_report(struct s3_store *s, const struct s3_req *r, int rc);

/* Single operations, also the batch's fallback. */
int s3_put(struct objstore *os, const char *key, const void *buf, size_t len);
int s3_get(struct objstore *os, const char *key, void *buf, size_t cap, size_t *len);
int s3_delete(struct objstore *os, const char *key);
int s3_batch(struct objstore *os, struct objstore_op *ops, size_t n);

#endif
