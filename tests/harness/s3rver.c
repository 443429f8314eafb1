#include "s3rver.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LAUNCHER    "tests/harness/s3rver-run.js"
#define PACKAGE_DIR "tests/.tools/node_modules/@20minutes/s3rver"
/* node needs a moment to load koa and friends; a loaded CI box, several. */
#define START_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS	 10000

static bool is_file(const char *path)
{
	return access(path, R_OK) == 0;
}

/* $MCFS_TOP_SRCDIR, else the nearest directory above the cwd holding the launcher. */
static int find_top_srcdir(char *out, size_t cap)
{
	char path[PATH_MAX + 64];
	const char *env = getenv("MCFS_TOP_SRCDIR");

	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return 0;
	}
	if (!getcwd(out, cap))
		return -errno;
	for (;;) {
		snprintf(path, sizeof(path), "%s/%s", out, LAUNCHER);
		if (is_file(path))
			return 0;
		char *slash = strrchr(out, '/');
		if (!slash || slash == out)
			return -ENOENT;
		*slash = '\0';
	}
}

static bool node_in_path(void)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (!path)
		return false;
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");
		snprintf(buf, sizeof(buf), "%.*s/node", (int)n, p);
		if (access(buf, X_OK) == 0)
			return true;
		p += n;
		if (*p == ':')
			p++;
	}
	return false;
}

/* The TLS key, beside the certificate (s->ca_file) in the server's directory. */
static void key_path(const struct s3_server *s, char *out, size_t len)
{
	snprintf(out, len, "%s/key.pem", s->dir);
}

static int launch(struct s3_server *s, const char *top)
{
	char port[16], launcher[PATH_MAX], pkg[PATH_MAX], data[PATH_MAX], log_path[PATH_MAX];

	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(launcher, sizeof(launcher), "%s/%s", top, LAUNCHER);
	snprintf(pkg, sizeof(pkg), "%s/%s", top, PACKAGE_DIR);
	snprintf(data, sizeof(data), "%s/data", s->dir);
	snprintf(log_path, sizeof(log_path), "%s/s3rver.log", s->dir);
	char key[PATH_MAX];
	key_path(s, key, sizeof(key));
	/* s3rver makes ListObjectsV2 continuation tokens with DES, which the
	 * OpenSSL 3 inside node >= 17 only offers from its legacy provider. */
	char *argv[] = {"node",	    "--openssl-legacy-provider",
			launcher,   "--port",
			port,	    "--directory",
			data,	    "--bucket",
			s->bucket,  "--package",
			pkg,	    s->tls ? "--key" : NULL, /* plain HTTP: the list ends here */
			key,	    "--cert",
			s->ca_file, NULL};
	int r = proc_spawn(&s->proc, "s3rver", argv, log_path);
	if (r < 0)
		return r;
	r = wait_tcp_port(s->port, START_TIMEOUT_MS);
	if (r < 0 || !proc_alive(&s->proc)) {
		proc_stop(&s->proc, 1000);
		return r < 0 ? r : -EADDRINUSE;
	}
	return 0;
}

static int resolve_top(char *top, size_t cap)
{
	char path[PATH_MAX + 64];
	int r = find_top_srcdir(top, cap);

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s/lib/s3rver.js", top, PACKAGE_DIR);
	if (!is_file(path) || !node_in_path()) {
		fprintf(stderr, "s3rver: node or %s missing (run contrib/install-deps.sh --test)\n",
			PACKAGE_DIR);
		return -ENOENT;
	}
	return 0;
}

/* A key and a self-signed certificate for 127.0.0.1, valid for a day. */
static int make_certificate(struct s3_server *s)
{
	char key[PATH_MAX], log_path[PATH_MAX], subject_alt[] = "subjectAltName=IP:127.0.0.1";
	key_path(s, key, sizeof(key));
	snprintf(s->ca_file, sizeof(s->ca_file), "%s/cert.pem", s->dir);
	snprintf(log_path, sizeof(log_path), "%s/openssl.log", s->dir);
	char *argv[] = {"openssl",   "req",	"-x509", "-newkey",	  "rsa:2048",
			"-nodes",    "-keyout", key,	 "-out",	  s->ca_file,
			"-days",     "1",	"-subj", "/CN=127.0.0.1", "-addext",
			subject_alt, NULL};
	struct proc p;
	int r = proc_spawn(&p, "openssl", argv, log_path);
	if (r == 0)
		r = proc_wait(&p, 60000);
	if (r == -ETIMEDOUT)
		proc_stop(&p, 1000);
	if (r != 0 || !is_file(s->ca_file)) {
		fprintf(stderr, "s3rver: no certificate from openssl (see %s)\n", log_path);
		return r < 0 ? r : -EIO;
	}
	return 0;
}

static int start(struct s3_server *s, const char *bucket, bool tls)
{
	char top[PATH_MAX];

	memset(s, 0, sizeof(*s));
	if (strlen(bucket) >= sizeof(s->bucket))
		return -EINVAL;
	snprintf(s->bucket, sizeof(s->bucket), "%s", bucket);
	s->tls = tls;
	int r = resolve_top(top, sizeof(top));
	if (r < 0)
		return r;
	s->dir = test_tmpdir("s3rver");
	if (!s->dir)
		return -errno;
	if (tls && (r = make_certificate(s)) < 0) {
		s3_server_stop(s);
		return r;
	}
	/* The port may be taken between probe and bind: try a few. */
	r = -EADDRINUSE;
	for (int attempt = 0; attempt < 5 && r < 0; attempt++) {
		s->port = free_tcp_port();
		r = s->port < 0 ? s->port : launch(s, top);
	}
	if (r < 0) {
		s3_server_stop(s);
		return r;
	}
	snprintf(s->url, sizeof(s->url), "%s://127.0.0.1:%d/%s", tls ? "https" : "http", s->port,
		 s->bucket);
	return 0;
}

int s3_server_start(struct s3_server *s, const char *bucket)
{
	return start(s, bucket, false);
}

int s3_server_start_tls(struct s3_server *s, const char *bucket)
{
	return start(s, bucket, true);
}

int s3_server_pause(struct s3_server *s)
{
	int r = proc_stop(&s->proc, STOP_TIMEOUT_MS);
	return r < 0 ? r : 0;
}

int s3_server_resume(struct s3_server *s)
{
	char top[PATH_MAX];
	int r = resolve_top(top, sizeof(top));
	return r < 0 ? r : launch(s, top);
}

void s3_server_stop(struct s3_server *s)
{
	proc_stop(&s->proc, STOP_TIMEOUT_MS);
	if (s->dir) {
		rm_rf(s->dir);
		free(s->dir);
		s->dir = NULL;
	}
}
