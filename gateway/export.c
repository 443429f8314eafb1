#include "export.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t export_path_id(const char *path)
{
	/* FNV-1a: stable everywhere, and 0 is kept for "no export". */
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h ? h : 1;
}

static int add_net(struct export *e, const char *spec, char *err, size_t errlen)
{
	if (e->nnets == EXPORT_MAX_NETS) {
		snprintf(err, errlen, "too many client specs (at most %d)", EXPORT_MAX_NETS);
		return -EINVAL;
	}
	struct export_net *n = &e->nets[e->nnets];
	memset(n, 0, sizeof(*n));
	if (strcmp(spec, "*") == 0) {
		e->nnets++;
		return 0;
	}
	char host[256];
	const char *slash = strchr(spec, '/');
	size_t hl = slash ? (size_t)(slash - spec) : strlen(spec);
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "bad client spec '%s'", spec);
		return -EINVAL;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, n->addr) == 1) {
		n->family = AF_INET;
		n->prefix = 32;
	} else if (inet_pton(AF_INET6, host, n->addr) == 1) {
		n->family = AF_INET6;
		n->prefix = 128;
	} else if (!slash) {
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
		if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
			snprintf(err, errlen, "cannot resolve client host '%s'", host);
			return -EINVAL;
		}
		n->family = res->ai_family;
		if (res->ai_family == AF_INET) {
			memcpy(n->addr, &((struct sockaddr_in *)res->ai_addr)->sin_addr, 4);
			n->prefix = 32;
		} else {
			memcpy(n->addr, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, 16);
			n->prefix = 128;
		}
		freeaddrinfo(res);
	} else {
		snprintf(err, errlen, "bad client network '%s'", spec);
		return -EINVAL;
	}
	if (slash) {
		char *end;
		long p = strtol(slash + 1, &end, 10);
		int max = n->family == AF_INET ? 32 : 128;
		if (*end || end == slash + 1 || p < 0 || p > max) {
			snprintf(err, errlen, "bad prefix length in '%s'", spec);
			return -EINVAL;
		}
		n->prefix = (int)p;
	}
	e->nnets++;
	return 0;
}

static int parse_uint(const char *v, uint32_t *out)
{
	char *end;
	unsigned long x = strtoul(v, &end, 10);
	if (!*v || *end || x > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)x;
	return 0;
}

static int parse_option(struct export *e, char *opt, char *err, size_t errlen)
{
	char *eq = strchr(opt, '=');
	char *val = eq ? eq + 1 : NULL;
	if (eq)
		*eq = '\0';
	if (!val && strcmp(opt, "rw") == 0)
		e->read_only = false;
	else if (!val && strcmp(opt, "ro") == 0)
		e->read_only = true;
	else if (!val && strcmp(opt, "root_squash") == 0)
		e->squash = SQUASH_ROOT;
	else if (!val && strcmp(opt, "all_squash") == 0)
		e->squash = SQUASH_ALL;
	else if (!val && strcmp(opt, "no_root_squash") == 0)
		e->squash = SQUASH_NONE;
	else if (!val && strcmp(opt, "secure") == 0)
		e->secure = true;
	else if (!val && strcmp(opt, "insecure") == 0)
		e->secure = false;
	else if (val && strcmp(opt, "anonuid") == 0 && parse_uint(val, &e->anonuid) == 0)
		;
	else if (val && strcmp(opt, "anongid") == 0 && parse_uint(val, &e->anongid) == 0)
		;
	else if (val && strcmp(opt, "clients") == 0) {
		e->nnets = 0;
		for (char *save = NULL, *s = strtok_r(val, "+", &save); s;
		     s = strtok_r(NULL, "+", &save)) {
			int r = add_net(e, s, err, errlen);
			if (r < 0)
				return r;
		}
		if (e->nnets == 0) {
			snprintf(err, errlen, "clients= needs at least one client");
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen, "unknown or bad export option '%s%s%s'", opt, val ? "=" : "",
			 val ? val : "");
		return -EINVAL;
	}
	return 0;
}

/* "/a//b/" -> "/a/b"; refuses "." and ".." components. */
static int normalize_path(const char *in, size_t len, char *out, size_t cap)
{
	if (len == 0 || in[0] != '/')
		return -EINVAL;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		while (i < len && in[i] == '/')
			i++;
		size_t start = i;
		while (i < len && in[i] != '/')
			i++;
		size_t n = i - start;
		if (n == 0)
			break;
		if ((n == 1 && in[start] == '.') ||
		    (n == 2 && in[start] == '.' && in[start + 1] == '.'))
			return -EINVAL;
		if (o + 1 + n >= cap)
			return -ENAMETOOLONG;
		out[o++] = '/';
		memcpy(out + o, in + start, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

int export_parse(const char *spec, struct export *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->squash = SQUASH_ROOT;
	out->anonuid = out->anongid = 65534;
	out->nnets = 1; /* everyone, until clients= says otherwise */
	const char *colon = strchr(spec, ':');
	size_t plen = colon ? (size_t)(colon - spec) : strlen(spec);
	if (normalize_path(spec, plen, out->path, sizeof(out->path)) < 0) {
		snprintf(err, errlen, "bad export path in '%s': an absolute path without . or ..",
			 spec);
		return -EINVAL;
	}
	out->id = export_path_id(out->path);
	if (!colon || !colon[1])
		return 0;
	char opts[1024];
	if (strlen(colon + 1) >= sizeof(opts)) {
		snprintf(err, errlen, "export options too long");
		return -EINVAL;
	}
	snprintf(opts, sizeof(opts), "%s", colon + 1);
	for (char *save = NULL, *o = strtok_r(opts, ",", &save); o;
	     o = strtok_r(NULL, ",", &save)) {
		int r = parse_option(out, o, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

int export_resolve(struct export *e, struct vfs *v)
{
	static const struct mcfs_cred root = {0};
	mcfs_ino_t ino = MCFS_ROOT_INO;
	char copy[1024];
	snprintf(copy, sizeof(copy), "%s", e->path);
	for (char *save = NULL, *c = strtok_r(copy, "/", &save); c;
	     c = strtok_r(NULL, "/", &save)) {
		struct mcfs_attr a;
		int r = vfs_lookup(v, &root, ino, c, &a);
		if (r < 0)
			return r;
		if (a.type != MCFS_DIR)
			return -ENOTDIR;
		ino = a.ino;
	}
	e->root = ino;
	return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)bytes) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool export_client_allowed(const struct export *e, const struct sockaddr *peer)
{
	uint8_t addr[16];
	int family = peer->sa_family;
	if (family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)peer)->sin_addr, 4);
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)peer;
		/* An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			family = AF_INET;
			memcpy(addr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			memcpy(addr, &s6->sin6_addr, 16);
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < e->nnets; i++) {
		const struct export_net *n = &e->nets[i];
		if (n->family == 0)
			return true;
		if (n->family == family && prefix_match(addr, n->addr, n->prefix))
			return true;
	}
	return false;
}

bool export_port_allowed(const struct export *e, const struct sockaddr *peer)
{
	if (!e->secure)
		return true;
	uint16_t port = 0;
	if (peer->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)peer)->sin_port);
	else if (peer->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)peer)->sin6_port);
	return port > 0 && port < 1024;
}

void export_map_cred(const struct export *e, bool auth_sys, uint32_t uid, uint32_t gid,
		     const uint32_t *gids, uint32_t ngids, struct mcfs_cred *out)
{
	memset(out, 0, sizeof(*out));
	if (!auth_sys || e->squash == SQUASH_ALL || (uid == 0 && e->squash == SQUASH_ROOT)) {
		out->uid = e->anonuid;
		out->gid = e->anongid;
		return;
	}
	out->uid = uid;
	out->gid = gid == 0 && e->squash == SQUASH_ROOT ? e->anongid : gid;
	for (uint32_t i = 0; i < ngids && i < MCFS_MAX_GROUPS; i++) {
		/* root_squash also takes away group 0, as Linux does */
		if (gids[i] == 0 && e->squash == SQUASH_ROOT)
			continue;
		out->groups[out->ngroups++] = gids[i];
	}
}
