/* MOUNT version 3 (RFC 1813 Appendix I): hands out export root handles and
 * keeps the (advisory) list of who mounted what. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nfs3_proc.h"

static void peer_name(const struct nfs_req *req, char *out, size_t len)
{
	const struct sockaddr *sa = (const struct sockaddr *)&req->rq->peer;
	const void *addr = sa->sa_family == AF_INET6
			       ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
			       : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (!inet_ntop(sa->sa_family, addr, out, (socklen_t)len))
		snprintf(out, len, "unknown");
}

static void remember_mount(struct gateway *gw, const char *host, const char *path)
{
	pthread_mutex_lock(&gw->mounts_lock);
	for (struct mount_entry *m = gw->mounts; m; m = m->next)
		if (strcmp(m->host, host) == 0 && strcmp(m->path, path) == 0)
			goto out;
	struct mount_entry *m = calloc(1, sizeof(*m));
	if (m) {
		snprintf(m->host, sizeof(m->host), "%s", host);
		snprintf(m->path, sizeof(m->path), "%s", path);
		m->next = gw->mounts;
		gw->mounts = m;
	}
out:
	pthread_mutex_unlock(&gw->mounts_lock);
}

static void forget_mounts(struct gateway *gw, const char *host, const char *path)
{
	pthread_mutex_lock(&gw->mounts_lock);
	for (struct mount_entry **pp = &gw->mounts; *pp;) {
		struct mount_entry *m = *pp;
		if (strcmp(m->host, host) == 0 && (!path || strcmp(m->path, path) == 0)) {
			*pp = m->next;
			free(m);
		} else {
			pp = &m->next;
		}
	}
	pthread_mutex_unlock(&gw->mounts_lock);
}

static void mnt_null(struct nfs_req *req, void *args, void *res)
{
}

/* The export a path lies in: the longest export path that is a prefix of it
 * on a component boundary. *rest gets what is left ("" or "sub/dir"). */
static const struct export *export_for_path(const struct gateway *gw, const char *path,
					    const char **rest)
{
	const struct export *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < gw->nexports; i++) {
		const struct export *e = &gw->exports[i];
		size_t n = strlen(e->path);
		if (n == 1) { /* "/" holds everything */
			if (!best) {
				best = e;
				best_len = 0;
			}
			continue;
		}
		if (strncmp(path, e->path, n) == 0 && (path[n] == '\0' || path[n] == '/') &&
		    n > best_len) {
			best = e;
			best_len = n;
		}
	}
	if (best) {
		*rest = path + best_len;
		while (**rest == '/')
			(*rest)++;
	}
	return best;
}

/* Walks from the export root down `rest` as the (squashed) client, so that a
 * client may mount a directory inside an export, as with Linux nfsd. */
static int walk_down(struct nfs_req *req, const char *rest, struct mcfs_attr *at)
{
	int r = vfs_getattr(req->gw->vfs, req->exp->root, at);
	char copy[MNTPATHLEN + 1];
	snprintf(copy, sizeof(copy), "%s", rest);
	for (char *save = NULL, *c = strtok_r(copy, "/", &save); c && r == 0;
	     c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
			return -EINVAL;
		r = vfs_lookup(req->gw->vfs, &req->cred, at->ino, c, at);
	}
	if (r == 0 && at->type != MCFS_DIR)
		return -ENOTDIR;
	return r;
}

static mountstat3 mount_status(int err)
{
	switch (-err) {
	case ENOENT:
	case ESTALE:
		return MNT3ERR_NOENT;
	case ENOTDIR:
		return MNT3ERR_NOTDIR;
	case EACCES:
		return MNT3ERR_ACCES;
	case EINVAL:
		return MNT3ERR_INVAL;
	case ENAMETOOLONG:
		return MNT3ERR_NAMETOOLONG;
	default:
		return MNT3ERR_IO;
	}
}

/* A client's path made fit for one log line: its control bytes (a newline
 * above all) would otherwise let it write log lines of its own. */
static void log_safe(const char *in, char *out, size_t len)
{
	size_t i = 0;
	for (; in[i] && i + 1 < len; i++)
		out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	out[i] = '\0';
}

static void mnt_mnt(struct nfs_req *req, void *args, void *res)
{
	dirpath *path = args;
	mountres3 *r = res;
	struct gateway *gw = req->gw;
	/* libnfs asks for "" when the URL names a file at the top */
	const char *want = (*path)[0] ? *path : "/";
	const char *rest = "";
	const struct export *e = export_for_path(gw, want, &rest);
	char shown[201];
	log_safe(want, shown, sizeof(shown));
	if (!e || want[0] != '/') {
		log_info("MOUNT %s: no such export", shown);
		r->fhs_status = MNT3ERR_NOENT;
		return;
	}
	char host[64];
	peer_name(req, host, sizeof(host));
	if (!gateway_client_ok(req, e)) {
		log_info("MOUNT %s refused for %s", e->path, host);
		r->fhs_status = MNT3ERR_ACCES;
		return;
	}
	req->exp = e;
	const struct rpc_auth_sys *s = &req->hdr.sys;
	export_map_cred(e, req->hdr.cred_flavor == RPC_AUTH_SYS, s->uid, s->gid, s->gids, s->ngids,
			&req->cred);
	struct mcfs_attr root;
	int rc = e->root ? walk_down(req, rest, &root) : -ENOENT;
	if (rc < 0) {
		log_info("MOUNT %s for %s: %s", shown, host, strerror(-rc));
		r->fhs_status = mount_status(rc);
		return;
	}
	nfs_fh3 fh;
	int *flavors = malloc(2 * sizeof(int));
	if (!flavors || nfs3_fh_out(req, &root, &fh) < 0) {
		free(flavors);
		r->fhs_status = MNT3ERR_SERVERFAULT;
		return;
	}
	r->fhs_status = MNT3_OK;
	r->mountres3_u.mountinfo.fhandle.fhandle3_len = fh.data.data_len;
	r->mountres3_u.mountinfo.fhandle.fhandle3_val = fh.data.data_val;
	flavors[0] = RPC_AUTH_SYS;
	flavors[1] = RPC_AUTH_NONE;
	r->mountres3_u.mountinfo.auth_flavors.auth_flavors_len = 2;
	r->mountres3_u.mountinfo.auth_flavors.auth_flavors_val = flavors;
	remember_mount(gw, host, want);
}

static void mnt_dump(struct nfs_req *req, void *args, void *res)
{
	mountlist *out = res;
	struct gateway *gw = req->gw;
	pthread_mutex_lock(&gw->mounts_lock);
	mountlist *tail = out;
	for (struct mount_entry *m = gw->mounts; m; m = m->next) {
		struct mountbody *b = calloc(1, sizeof(*b));
		if (!b)
			break;
		b->ml_hostname = strdup(m->host);
		b->ml_directory = strdup(m->path);
		if (!b->ml_hostname || !b->ml_directory) {
			free(b->ml_hostname);
			free(b->ml_directory);
			free(b);
			break;
		}
		*tail = b;
		tail = &b->ml_next;
	}
	pthread_mutex_unlock(&gw->mounts_lock);
}

static void mnt_umnt(struct nfs_req *req, void *args, void *res)
{
	char host[64];
	peer_name(req, host, sizeof(host));
	forget_mounts(req->gw, host, *(dirpath *)args);
}

static void mnt_umntall(struct nfs_req *req, void *args, void *res)
{
	char host[64];
	peer_name(req, host, sizeof(host));
	forget_mounts(req->gw, host, NULL);
}

static char *net_text(const struct export_net *n)
{
	if (n->family == 0)
		return strdup("*");
	char addr[INET6_ADDRSTRLEN], out[INET6_ADDRSTRLEN + 8];
	inet_ntop(n->family, n->addr, addr, sizeof(addr));
	snprintf(out, sizeof(out), "%s/%d", addr, n->prefix);
	return strdup(out);
}

static void mnt_export(struct nfs_req *req, void *args, void *res)
{
	mntexports *out = res;
	mntexports *tail = out;
	for (size_t i = 0; i < req->gw->nexports; i++) {
		const struct export *e = &req->gw->exports[i];
		/* Only what this client may mount: clients that walk the list (libnfs
		 * mounts nested exports) must not trip over others' exports. */
		if (!gateway_client_ok(req, e))
			continue;
		struct exportnode *x = calloc(1, sizeof(*x));
		if (!x || !(x->ex_dir = strdup(e->path))) {
			free(x);
			return;
		}
		mntgroups *gt = &x->ex_groups;
		for (size_t k = 0; k < e->nnets; k++) {
			struct groupnode *g = calloc(1, sizeof(*g));
			if (!g || !(g->gr_name = net_text(&e->nets[k]))) {
				free(g);
				break;
			}
			*gt = g;
			gt = &g->gr_next;
		}
		*tail = x;
		tail = &x->ex_next;
	}
}

#define MPROC(n, fn, xa, ta, xr, tr)                                                               \
	{                                                                                          \
		n, (xdrproc_t)xa, sizeof(ta), (xdrproc_t)xr, sizeof(tr), fn, false, 0, NULL        \
	}

const struct rpc_proc mount3_procs[] = {
    MPROC("NULL", mnt_null, xdr_nothing, char, xdr_nothing, char),
    MPROC("MNT", mnt_mnt, xdr_dirpath, dirpath, xdr_mountres3, mountres3),
    {"DUMP", (xdrproc_t)xdr_nothing, 1, (xdrproc_t)xdr_mountlist, sizeof(mountlist), mnt_dump,
     false, 256 * 1024, NULL},
    MPROC("UMNT", mnt_umnt, xdr_dirpath, dirpath, xdr_nothing, char),
    MPROC("UMNTALL", mnt_umntall, xdr_nothing, char, xdr_nothing, char),
    {"EXPORT", (xdrproc_t)xdr_nothing, 1, (xdrproc_t)xdr_mntexports, sizeof(mntexports), mnt_export,
     false, 256 * 1024, NULL},
};
const unsigned mount3_nprocs = sizeof(mount3_procs) / sizeof(mount3_procs[0]);
