/* Parsing of the URLs the command line takes: metadata (redis://) and buckets. */
#ifndef MCFS_URL_H
#define MCFS_URL_H

#include <stdbool.h>
#include <stddef.h>

struct meta_url {
	char host[256];
	int port;	    /* default 6379 */
	int db;		    /* default 0 */
	char password[256]; /* from redis://:PASS@HOST or redis://USER:PASS@HOST; never log */
	char user[128];
	char unix_path[256]; /* redis+unix:///path/to/sock (host empty then) */
};

enum bucket_kind { BUCKET_FILE, BUCKET_S3 };
struct bucket_url {
	enum bucket_kind kind;
	char path[1024];    /* file: absolute directory */
	bool tls;	    /* https */
	char endpoint[512]; /* s3: scheme://host[:port] */
	char bucket[256];   /* s3: bucket name */
};

/* Each returns 0 or -EINVAL; errbuf gets a human message on failure. */
int meta_url_parse(const char *url, struct meta_url *out, char *errbuf, size_t errlen);
int bucket_url_parse(const char *url, struct bucket_url *out, char *errbuf, size_t errlen);

#endif
