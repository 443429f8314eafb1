/*
 * mcfs.conf(5): INI settings read with inih.
 *
 * inih is fed through our own line reader so that:
 *  - a line longer than inih's buffer is an error at its own line number
 *    (inih would split it and parse the tail as a line of its own);
 *  - leading blanks are dropped, so an indented "key = value" is a key and
 *    not, as inih would have it, a continuation of the previous value;
 *  - the line number is known while the handler runs (Debian builds inih
 *    without INI_HANDLER_LINENO).
 * The file is parsed into a copy of the caller's settings, which are replaced
 * only when the whole file is good: a half-read file never takes effect.
 */
#include "config.h"

#include "log.h"
#include "units.h"
#include "url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define DEFAULT_S3_REGION "us-east-1"
#define GiB		  (UINT64_C(1) << 30)
#define MiB		  (UINT64_C(1) << 20)

void config_defaults(struct mcfs_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->s3_region, DEFAULT_S3_REGION);
	cfg->cache_size = 10 * GiB;
	cfg->cache_mem = 256 * MiB;
	cfg->readahead_blocks = 4;
	cfg->attr_cache_entries = 131072;
	cfg->attr_cache_age_s = 60;
	cfg->dir_cache_entries = 262144;
	cfg->deletion_delay_s = 3600;
	cfg->upload_threads = 16;
	cfg->max_replica_lag_s = 10;
	cfg->meta_timeout_s = 5;
	cfg->repl_transfers = 16;
	cfg->repl_claim_idle_s = 60;
	cfg->write_buffer = 256 * MiB;
	cfg->compact_slices = 20;
	strcpy(cfg->log_level, "info");
	cfg->log_syslog = false;
	strcpy(cfg->listen, "0.0.0.0:2049");
	cfg->threads = 0;
	cfg->blocking_threads = 32;
	cfg->nfs4_lease_s = 90;
	cfg->nfs4_grace_s = 0;
	strcpy(cfg->nfs4_domain, "localdomain");
	cfg->nfs4_idmap_names = false;
}

enum key_kind {
	K_TEXT,	    /* any printable text */
	K_SECRET,   /* text never echoed; makes the file's mode matter */
	K_META_URL, /* checked with meta_url_parse(); a password in it is a secret */
	K_NAME,	    /* [A-Za-z0-9._-] */
	K_PATH,	    /* absolute path */
	K_LISTEN,   /* ADDR:PORT */
	K_EXPORT,   /* PATH[:OPTIONS], repeatable */
	K_LEVEL,    /* log level name */
	K_BOOL,
	K_SIZE,	    /* uint64_t bytes */
	K_DURATION, /* uint64_t seconds */
	K_UINT,	    /* unsigned */
};

struct key_desc {
	const char *section;
	const char *name;
	enum key_kind kind;
	size_t off;	   /* of the field in struct mcfs_config */
	size_t size;	   /* of the field */
	uint64_t min, max; /* numbers: range; text: min length */
};

#define FIELD(f) offsetof(struct mcfs_config, f), sizeof(((struct mcfs_config *)0)->f)
#define KEY(sec, name, kind, f, min, max)                                                          \
	{                                                                                          \
		sec, name, kind, FIELD(f), min, max                                                \
	}

static const struct key_desc keys[] = {
    KEY("meta", "url", K_META_URL, meta_url, 0, 0),
    KEY("meta", "password", K_SECRET, meta_password, 0, 0),
    KEY("meta", "replica", K_META_URL, replica_url, 0, 0),
    KEY("meta", "max_replica_lag", K_DURATION, max_replica_lag_s, 0, 3600),
    KEY("meta", "timeout", K_DURATION, meta_timeout_s, 1, 300),
    KEY("region", "name", K_NAME, region, 0, 0),
    KEY("s3", "access_key", K_TEXT, s3_access_key, 0, 0),
    KEY("s3", "secret_key", K_SECRET, s3_secret_key, 0, 0),
    KEY("s3", "signing_region", K_NAME, s3_region, 1, 0),
    KEY("s3", "ca_file", K_PATH, s3_ca_file, 0, 0),
    KEY("s3", "sign_payload", K_BOOL, s3_sign_payload, 0, 0),
    KEY("cache", "dir", K_PATH, cache_dir, 0, 0),
    KEY("cache", "size", K_SIZE, cache_size, 0, UINT64_MAX),
    KEY("cache", "memory", K_SIZE, cache_mem, 0, UINT64_MAX),
    KEY("cache", "readahead", K_UINT, readahead_blocks, 0, 256),
    KEY("cache", "attributes", K_UINT, attr_cache_entries, 0, 100000000),
    KEY("cache", "attribute_age", K_DURATION, attr_cache_age_s, 1, 3600),
    KEY("cache", "directories", K_UINT, dir_cache_entries, 0, 100000000),
    KEY("data", "deletion_delay", K_DURATION, deletion_delay_s, 0, 3650 * 86400),
    KEY("data", "upload_threads", K_UINT, upload_threads, 1, 1024),
    KEY("data", "write_buffer", K_SIZE, write_buffer, MiB, UINT64_MAX),
    KEY("data", "compact_slices", K_UINT, compact_slices, 2, 10000),
    KEY("replication", "transfers", K_UINT, repl_transfers, 1, 256),
    KEY("replication", "bandwidth", K_SIZE, repl_bandwidth, 0, UINT64_MAX),
    KEY("replication", "claim_after", K_DURATION, repl_claim_idle_s, 5, 86400),
    KEY("log", "level", K_LEVEL, log_level, 0, 0),
    KEY("log", "syslog", K_BOOL, log_syslog, 0, 0),
    KEY("gateway", "listen", K_LISTEN, listen, 0, 0),
    KEY("gateway", "pid_file", K_PATH, pid_file, 0, 0),
    KEY("gateway", "threads", K_UINT, threads, 0, 64),
    KEY("gateway", "blocking_threads", K_UINT, blocking_threads, 1, 1024),
    KEY("gateway", "export", K_EXPORT, exports, 0, 0),
    KEY("nfs4", "lease_time", K_DURATION, nfs4_lease_s, 10, 3600),
    KEY("nfs4", "grace_time", K_DURATION, nfs4_grace_s, 0, 3600),
    KEY("nfs4", "domain", K_NAME, nfs4_domain, 1, 0),
    KEY("nfs4", "idmap_names", K_BOOL, nfs4_idmap_names, 0, 0),
    KEY("nfs4", "recovery_id", K_NAME, nfs4_recovery, 1, 0),
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= 64, "load_ctx.seen is a 64-bit mask");

static const char *const sections[] = {"meta", "region",  "s3",	  "cache",	"data",
				       "log",  "gateway", "nfs4", "replication"};

struct load_ctx {
	const char *path;
	FILE *file;
	struct mcfs_config cfg; /* filled here, copied out when the file is good */
	int lineno;
	int err_line; /* first error found by us (0: none) */
	char err[512];
	uint64_t seen;		       /* keys given so far, to refuse repeats */
	bool exports_given;	       /* the file's exports replace earlier ones */
	const struct key_desc *secret; /* first key holding a secret, for the mode message */
	int secret_line;
	char *line;
	size_t line_cap;
};

static void load_error(struct load_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keeps the first error only: later ones are often its echoes. */
static void load_error(struct load_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ctx->err_line)
		return;
	ctx->err_line = ctx->lineno;
	n = snprintf(ctx->err, sizeof(ctx->err), "%s:%d: ", ctx->path, ctx->lineno);
	if (n < 0 || (size_t)n >= sizeof(ctx->err))
		return;
	va_start(ap, fmt);
	vsnprintf(ctx->err + n, sizeof(ctx->err) - (size_t)n, fmt, ap);
	va_end(ap);
}

static bool known_section(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strlen(sections[i]) == len && strncasecmp(sections[i], name, len) == 0)
			return true;
	return false;
}

/* inih's reader: one call per line of the file, fgets-like. */
static char *read_line(char *buf, int cap, void *stream)
{
	struct load_ctx *ctx = stream;
	ssize_t n = getline(&ctx->line, &ctx->line_cap, ctx->file);
	const char *s;
	size_t len;

	if (n < 0)
		return NULL;
	ctx->lineno++;
	s = ctx->line;
	while (*s == ' ' || *s == '\t')
		s++;
	len = (size_t)n - (size_t)(s - ctx->line);
	if (strlen(s) != len) {
		load_error(ctx, "NUL byte in line");
		s = "\n";
	} else if (len + 1 > (size_t)cap) {
		load_error(ctx, "line is too long (at most %d characters)", cap - 2);
		s = "\n";
	} else if (*s == '[') {
		const char *close = strchr(s, ']');
		/* inih never calls back for a section without keys; a misspelt
		 * one should not go unnoticed either. */
		if (close && !known_section(s + 1, (size_t)(close - s - 1)))
			load_error(ctx, "unknown section [%.*s]", (int)(close - s - 1), s + 1);
	}
	len = strlen(s);
	memcpy(buf, s, len + 1);
	return buf;
}

static const struct key_desc *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcasecmp(keys[i].section, section) == 0 &&
		    strcasecmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static bool has_control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* "[sec] key: " prefix for value errors. */
#define KFMT	 "[%s] %s: "
#define KARGS(k) (k)->section, (k)->name

static int set_text(struct load_ctx *ctx, const struct key_desc *k, const char *v)
{
	size_t len = strlen(v);

	if (len >= k->size) {
		load_error(ctx, KFMT "value is too long (at most %zu bytes)", KARGS(k),
			   k->size - 1);
		return -EINVAL;
	}
	if (len < k->min) {
		load_error(ctx, KFMT "a value is required", KARGS(k));
		return -EINVAL;
	}
	if (has_control_char(v)) {
		load_error(ctx, KFMT "control character in the value", KARGS(k));
		return -EINVAL;
	}
	memcpy((char *)&ctx->cfg + k->off, v, len + 1);
	return 0;
}

static void note_secret(struct load_ctx *ctx, const struct key_desc *k)
{
	if (!ctx->secret) {
		ctx->secret = k;
		ctx->secret_line = ctx->lineno;
	}
}

static int set_secret(struct load_ctx *ctx, const struct key_desc *k, const char *v)
{
	int rc = set_text(ctx, k, v);

	if (rc == 0 && *v)
		note_secret(ctx, k);
	return rc;
}

static int set_meta_url(struct load_ctx *ctx, const struct key_desc *k, const char *v)
{
	struct meta_url u;
	char err[256];
	int rc = set_text(ctx, k, v);

	if (rc || !*v)
		return rc;
	rc = meta_url_parse(v, &u, err, sizeof(err));
	if (rc)
		load_error(ctx, KFMT "%s", KARGS(k), err);
	else if (u.password[0])
		note_secret(ctx, k);
	explicit_bzero(&u, sizeof(u));
	return rc;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

static int set_name(struct load_ctx *ctx, const struct key_desc *k, const char *v)
{
	for (const char *p = v; *p; p++) {
		if (!is_name_char(*p)) {
			load_error(ctx,
				   KFMT "'%.64s' may hold only letters, digits, '.', '_' and '-'",
				   KARGS(k), v);
			return -EINVAL;
		}
	}
	return set_text(ctx, k, v);
}

static int set_path(struct load_ctx *ctx, const struct key_desc *k, const char *v)
{
	/* Daemons change directory to /, so a relative path would move. */
	if (*v && *v != '/') {
		load_error(ctx, KFMT "'%.64s' is not an absolute path", KARGS(k), v);
		return -EINVAL;
	}
	return set_text(ctx, k, v);
}

/* ADDR:PORT, ADDR an IPv4 address, a host name or a bracketed IPv6 address. */
static bool listen_valid(const char *v)
{
	const char *colon = strrchr(v, ':');
	char host[128], *end;
	size_t hlen;
	long port;

	if (!colon || colon == v || colon[1] < '0' || colon[1] > '9')
		return false;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return false;
	hlen = (size_t)(colon - v);
	if (hlen >= sizeof(host))
		return false;
	if (v[0] == '[') {
		struct in6_addr a6;
		if (hlen < 3 || colon[-1] != ']')
			return false;
		memcpy(host, v + 1, hlen - 2);
		host[hlen - 2] = '\0';
		return inet_pton(AF_INET6, host, &a6) == 1;
	}
	for (size_t i = 0; i < hlen; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '.' && v[i] != '-')
			return false;
	return true;
}

static int set_listen(struct load_ctx *ctx, const struct key_desc *k, const char *v)
{
	if (!listen_valid(v)) {
		load_error(ctx, KFMT "'%.64s' is not ADDR:PORT (e.g. 0.0.0.0:2049, [::]:2049)",
			   KARGS(k), v);
		return -EINVAL;
	}
	return set_text(ctx, k, v);
}

static int add_export(struct load_ctx *ctx, const struct key_desc *k, const char *v)
{
	struct mcfs_config *c = &ctx->cfg;
	size_t len = strlen(v);

	if (!ctx->exports_given) {
		ctx->exports_given = true;
		c->nexports = 0;
	}
	if (*v != '/') {
		load_error(ctx, KFMT "'%.64s' does not start with a path in the volume (/...)",
			   KARGS(k), v);
		return -EINVAL;
	}
	if (len >= sizeof(c->exports[0])) {
		load_error(ctx, KFMT "value is too long (at most %zu bytes)", KARGS(k),
			   sizeof(c->exports[0]) - 1);
		return -EINVAL;
	}
	if (has_control_char(v)) {
		load_error(ctx, KFMT "control character in the value", KARGS(k));
		return -EINVAL;
	}
	if (c->nexports >= CONFIG_MAX_EXPORTS) {
		load_error(ctx, KFMT "too many exports (at most %d)", KARGS(k), CONFIG_MAX_EXPORTS);
		return -EINVAL;
	}
	memcpy(c->exports[c->nexports++], v, len + 1);
	return 0;
}

static int set_level(struct load_ctx *ctx, const struct key_desc *k, const char *v)
{
	enum log_level level;
	char lower[sizeof(ctx->cfg.log_level)];
	size_t i;

	if (strlen(v) >= sizeof(lower) || log_level_parse(v, &level)) {
		load_error(ctx, KFMT "'%.64s' is not one of error, warn, info, debug", KARGS(k), v);
		return -EINVAL;
	}
	for (i = 0; v[i]; i++)
		lower[i] = (char)tolower((unsigned char)v[i]);
	lower[i] = '\0';
	return set_text(ctx, k, lower);
}

static int set_bool(struct load_ctx *ctx, const struct key_desc *k, const char *v)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	bool *field = (bool *)((char *)&ctx->cfg + k->off);

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*field = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*field = false;
			return 0;
		}
	}
	load_error(ctx, KFMT "'%.64s' is not yes or no", KARGS(k), v);
	return -EINVAL;
}

static int check_range(struct load_ctx *ctx, const struct key_desc *k, uint64_t v)
{
	char lo[32], hi[32];

	if (v >= k->min && v <= k->max)
		return 0;
	if (k->kind == K_SIZE) {
		size_format(k->min, lo, sizeof(lo));
		size_format(k->max, hi, sizeof(hi));
		if (k->max == UINT64_MAX)
			load_error(ctx, KFMT "must be at least %s", KARGS(k), lo);
		else
			load_error(ctx, KFMT "must be from %s to %s", KARGS(k), lo, hi);
	} else {
		load_error(ctx, KFMT "must be from %llu to %llu%s", KARGS(k),
			   (unsigned long long)k->min, (unsigned long long)k->max,
			   k->kind == K_DURATION ? " seconds" : "");
	}
	return -EINVAL;
}

/* Plain decimal digits: no sign, no blanks, no 0x. */
static int uint_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || __builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static int set_number(struct load_ctx *ctx, const struct key_desc *k, const char *v)
{
	void *field = (char *)&ctx->cfg + k->off;
	uint64_t n;

	switch (k->kind) {
	case K_SIZE:
		if (size_parse(v, &n)) {
			load_error(ctx, KFMT "'%.64s' is not a size (e.g. 512M, 10G, 1.5T)",
				   KARGS(k), v);
			return -EINVAL;
		}
		break;
	case K_DURATION:
		if (duration_parse(v, &n)) {
			load_error(ctx,
				   KFMT "'%.64s' is not a duration (e.g. 90, 30s, 15m, 1h30m, 2d)",
				   KARGS(k), v);
			return -EINVAL;
		}
		break;
	default:
		if (uint_parse(v, &n)) {
			load_error(ctx, KFMT "'%.64s' is not a whole number", KARGS(k), v);
			return -EINVAL;
		}
		break;
	}
	if (check_range(ctx, k, n))
		return -EINVAL;
	if (k->size == sizeof(uint64_t))
		*(uint64_t *)field = n;
	else
		*(unsigned *)field = (unsigned)n;
	return 0;
}

static int set_value(struct load_ctx *ctx, const struct key_desc *k, const char *v)
{
	switch (k->kind) {
	case K_TEXT:
		return set_text(ctx, k, v);
	case K_SECRET:
		return set_secret(ctx, k, v);
	case K_META_URL:
		return set_meta_url(ctx, k, v);
	case K_NAME:
		return set_name(ctx, k, v);
	case K_PATH:
		return set_path(ctx, k, v);
	case K_LISTEN:
		return set_listen(ctx, k, v);
	case K_EXPORT:
		return add_export(ctx, k, v);
	case K_LEVEL:
		return set_level(ctx, k, v);
	case K_BOOL:
		return set_bool(ctx, k, v);
	case K_SIZE:
	case K_DURATION:
	case K_UINT:
		return set_number(ctx, k, v);
	}
	return -EINVAL;
}

/* inih's handler: nonzero means the line was fine. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	const struct key_desc *k;
	uint64_t bit;

	if (!*section) {
		load_error(ctx, "'%.64s' comes before any [section]", name);
		return 0;
	}
	if (!known_section(section, strlen(section))) {
		load_error(ctx, "unknown section [%.64s]", section);
		return 0;
	}
	k = find_key(section, name);
	if (!k) {
		load_error(ctx, "unknown key '%.64s' in [%s]", name, section);
		return 0;
	}
	bit = UINT64_C(1) << (k - keys);
	if (k->kind != K_EXPORT && (ctx->seen & bit)) {
		load_error(ctx, KFMT "given twice", KARGS(k));
		return 0;
	}
	ctx->seen |= bit;
	return set_value(ctx, k, value) == 0;
}

static void format_error(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void format_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errbuf || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* Settles the outcome of a parse: inih's syntax errors, ours, read errors, and
 * the rule that secrets need a private file. */
static int load_result(struct load_ctx *ctx, int ini_rc, const struct stat *st, char *errbuf,
		       size_t errlen)
{
	if (ferror(ctx->file)) {
		format_error(errbuf, errlen, "%s: read error", ctx->path);
		return -EIO;
	}
	if (ini_rc < 0) {
		format_error(errbuf, errlen, "%s: out of memory", ctx->path);
		return -ENOMEM;
	}
	/* inih reports the first bad line, ours included; if that is not one
	 * of ours, it is a line inih could not make sense of. */
	if (ini_rc > 0 && (!ctx->err_line || ini_rc < ctx->err_line)) {
		format_error(errbuf, errlen,
			     "%s:%d: syntax error (expected [section], key = value or a comment)",
			     ctx->path, ini_rc);
		return -EINVAL;
	}
	if (ctx->err_line) {
		format_error(errbuf, errlen, "%s", ctx->err);
		return -EINVAL;
	}
	if (ctx->secret && (st->st_mode & (S_IRGRP | S_IROTH))) {
		format_error(errbuf, errlen,
			     "%s: holds a secret (%s[%s] %s, line %d) but its mode %04o lets group "
			     "or others read it; run chmod 600 on it, or pass the secret in the "
			     "environment instead",
			     ctx->path, ctx->secret->kind == K_META_URL ? "a password in " : "",
			     ctx->secret->section, ctx->secret->name, ctx->secret_line,
			     (unsigned)(st->st_mode & 07777));
		return -EACCES;
	}
	return 0;
}

int config_load(const char *path, struct mcfs_config *cfg, char *errbuf, size_t errlen)
{
	struct load_ctx *ctx;
	struct stat st;
	FILE *f;
	int rc;

	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		format_error(errbuf, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fileno(f), &st) != 0) {
		rc = -errno;
		format_error(errbuf, errlen, "%s: %s", path, strerror(-rc));
		fclose(f);
		return rc;
	}
	if (S_ISDIR(st.st_mode)) {
		format_error(errbuf, errlen, "%s: is a directory", path);
		fclose(f);
		return -EINVAL;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		fclose(f);
		format_error(errbuf, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	ctx->path = path;
	ctx->file = f;
	ctx->cfg = *cfg;
	rc = ini_parse_stream(read_line, ctx, on_key, ctx);
	rc = load_result(ctx, rc, &st, errbuf, errlen);
	if (rc == 0)
		*cfg = ctx->cfg;
	fclose(f);
	if (ctx->line) {
		explicit_bzero(ctx->line, ctx->line_cap);
		free(ctx->line);
	}
	explicit_bzero(ctx, sizeof(*ctx));
	free(ctx);
	return rc;
}

/* Copies $var into an empty field (any field when replace); a value that is
 * too long or not valid is ignored, loudly, rather than cut or passed on. */
static void env_fill(char *field, size_t size, const char *var, bool replace,
		     bool (*valid)(const char *))
{
	const char *v = getenv(var);
	size_t len;

	if ((field[0] && !replace) || !v || !*v)
		return;
	len = strlen(v);
	if (len >= size) {
		log_warn("%s is longer than %zu bytes; ignored", var, size - 1);
		return;
	}
	if (valid && !valid(v)) {
		log_warn("%s holds characters that are not allowed there; ignored", var);
		return;
	}
	memcpy(field, v, len + 1);
}

static bool is_name(const char *s)
{
	for (; *s; s++)
		if (!is_name_char(*s))
			return false;
	return true;
}

void config_apply_env(struct mcfs_config *cfg)
{
	env_fill(cfg->s3_access_key, sizeof(cfg->s3_access_key), "AWS_ACCESS_KEY_ID", false, NULL);
	env_fill(cfg->s3_secret_key, sizeof(cfg->s3_secret_key), "AWS_SECRET_ACCESS_KEY", false,
		 NULL);
	env_fill(cfg->meta_password, sizeof(cfg->meta_password), "MCFS_META_PASSWORD", false, NULL);
	/* The built-in default is no choice of the file's, so AWS_REGION beats it;
	 * the struct cannot tell a default from an explicit "us-east-1". */
	env_fill(cfg->s3_region, sizeof(cfg->s3_region), "AWS_REGION",
		 strcmp(cfg->s3_region, DEFAULT_S3_REGION) == 0, is_name);
}

struct objstore_credentials config_s3_credentials(const struct mcfs_config *cfg)
{
	return (struct objstore_credentials){
	    .access_key = cfg->s3_access_key[0] ? cfg->s3_access_key : NULL,
	    .secret_key = cfg->s3_secret_key[0] ? cfg->s3_secret_key : NULL,
	    .region = cfg->s3_region[0] ? cfg->s3_region : NULL,
	    .ca_file = cfg->s3_ca_file[0] ? cfg->s3_ca_file : NULL,
	    .sign_payload = cfg->s3_sign_payload,
	};
}
