/* A real S3 server for a test (@20minutes/s3rver from npm, which verifies
 * SigV4 signatures), on an ephemeral loopback port, with one bucket. */
#ifndef MCFS_TEST_S3RVER_H
#define MCFS_TEST_S3RVER_H

#include <stdbool.h>

#include "proc.h"

#define S3RVER_ACCESS_KEY "S3RVER"
#define S3RVER_SECRET_KEY "S3RVER"

struct s3_server {
	struct proc proc;
	int port;
	char *dir;
	char bucket[64];
	char url[256]; /* http://127.0.0.1:PORT/BUCKET, https:// with TLS */
	bool tls;
	char ca_file[512]; /* with TLS: the self-signed certificate clients must trust */
};

/* Starts s3rver with `bucket` created. Finds the launcher through
 * $MCFS_TOP_SRCDIR (tests/harness/s3rver-run.js) and the package under
 * tests/.tools/node_modules (installed by contrib/install-deps.sh).
 * Returns -ENOENT when node or the package is missing. */
int s3_server_start(struct s3_server *s, const char *bucket);
/* The same over HTTPS, with a fresh self-signed certificate for 127.0.0.1
 * (made with the openssl command) in s->ca_file. */
int s3_server_start_tls(struct s3_server *s, const char *bucket);
/* Stops the process but keeps its data; s3_server_resume() brings it back on the same port. */
int s3_server_pause(struct s3_server *s);
int s3_server_resume(struct s3_server *s);
void s3_server_stop(struct s3_server *s);

#endif
