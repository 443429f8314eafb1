#include "bench_ganesha.h"

#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define RPCBIND_SOCKET	 "/run/rpcbind.sock"
#define GANESHA_BIN	 "/usr/bin/ganesha.nfsd"
#define RPCBIND_BIN	 "/usr/sbin/rpcbind"
#define START_TIMEOUT_MS 30000

static bool rpcbind_answers(void *unused)
{
	(void)unused;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", RPCBIND_SOCKET);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int start_rpcbind(struct ganesha *g)
{
	if (rpcbind_answers(NULL))
		return 0;
	if (access(RPCBIND_BIN, X_OK) != 0) {
		fprintf(stderr, "bench: %s is missing (contrib/install-deps.sh --bench)\n",
			RPCBIND_BIN);
		return -ENOENT;
	}
	char log[600];
	snprintf(log, sizeof(log), "%s/rpcbind.log", g->dir);
	/* unshare execs rpcbind in place, so the PID is rpcbind's own. */
	char *argv[] = {"unshare", "--net", RPCBIND_BIN, "-f", NULL};
	int r = proc_spawn(&g->rpcbind, "rpcbind", argv, log);
	if (r < 0)
		return r;
	r = wait_until(rpcbind_answers, NULL, START_TIMEOUT_MS);
	if (r < 0)
		fprintf(stderr, "bench: rpcbind did not come up (see %s)\n", log);
	return r;
}

static bool have_fsal_vfs(void)
{
	glob_t gl;
	bool found = glob("/usr/lib/*/ganesha/libfsalvfs.so", 0, NULL, &gl) == 0;
	globfree(&gl);
	return found;
}

static int write_config(const struct ganesha *g, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	/* Debian's defaults otherwise: only what a loopback benchmark needs. */
	fprintf(f,
		"NFS_CORE_PARAM {\n"
		"\tNFS_Port = %d;\n\tMNT_Port = %d;\n"
		"\tEnable_NLM = false;\n\tEnable_RQUOTA = false;\n"
		"\tProtocols = 3, 4;\n\tBind_addr = 127.0.0.1;\n}\n"
		"NFS_KRB5 { Active_krb5 = false; }\n"
		"NFSV4 { Graceless = true; RecoveryBackend = fs; RecoveryRoot = %s/recovery; }\n"
		"EXPORT {\n\tExport_Id = 1;\n\tPath = %s;\n\tPseudo = /bench;\n"
		"\tAccess_Type = RW;\n\tSquash = No_Root_Squash;\n\tProtocols = 3, 4;\n"
		"\tTransports = TCP;\n\tSecType = sys;\n\tFSAL { Name = VFS; }\n}\n"
		"LOG { Default_Log_Level = WARN; }\n",
		g->nfs_port, g->mnt_port, g->dir, g->export);
	return fclose(f) == 0 ? 0 : -errno;
}

static int start_daemon(struct ganesha *g)
{
	char conf[600], log[600], pid[600], out[600];
	snprintf(conf, sizeof(conf), "%s/ganesha.conf", g->dir);
	snprintf(log, sizeof(log), "%s/ganesha.log", g->dir);
	snprintf(pid, sizeof(pid), "%s/ganesha.pid", g->dir);
	snprintf(out, sizeof(out), "%s/ganesha.out", g->dir);
	int r = write_config(g, conf);
	if (r < 0)
		return r;
	char *argv[] = {GANESHA_BIN, "-F", "-L", log,	     "-f", conf,
			"-p",	     pid,  "-N", "NIV_WARN", NULL};
	r = proc_spawn(&g->proc, "ganesha.nfsd", argv, out);
	if (r < 0)
		return r;
	r = wait_tcp_port(g->nfs_port, START_TIMEOUT_MS);
	if (r == 0)
		r = wait_tcp_port(g->mnt_port, START_TIMEOUT_MS);
	if (r < 0)
		fprintf(stderr, "bench: ganesha.nfsd did not come up (see %s)\n", log);
	return r;
}

static int make_dirs(struct ganesha *g, const char *work_dir, const char *export_root)
{
	snprintf(g->dir, sizeof(g->dir), "%s/ganesha", work_dir);
	snprintf(g->export, sizeof(g->export), "%s/ganesha-export", export_root);
	char recovery[600];
	snprintf(recovery, sizeof(recovery), "%s/recovery", g->dir);
	if (mkdir(g->dir, 0700) < 0 || mkdir(recovery, 0700) < 0 || mkdir(g->export, 0755) < 0)
		return -errno;
	return 0;
}

int ganesha_start(struct ganesha *g, const char *work_dir, const char *export_root)
{
	memset(g, 0, sizeof(*g));
	if (access(GANESHA_BIN, X_OK) != 0 || !have_fsal_vfs()) {
		fprintf(stderr, "bench: NFS-Ganesha with FSAL VFS is missing "
				"(contrib/install-deps.sh --bench installs it)\n");
		return -ENOENT;
	}
	int r = make_dirs(g, work_dir, export_root);
	if (r < 0)
		return r;
	g->nfs_port = free_tcp_port();
	g->mnt_port = free_tcp_port();
	if (g->nfs_port < 0 || g->mnt_port < 0 || g->nfs_port == g->mnt_port)
		return -EADDRNOTAVAIL;
	r = start_rpcbind(g);
	if (r == 0)
		r = start_daemon(g);
	if (r < 0)
		ganesha_stop(g);
	return r;
}

void ganesha_stop(struct ganesha *g)
{
	/* Ganesha unregisters from rpcbind on the way out: rpcbind goes last. */
	proc_stop(&g->proc, 20000);
	proc_stop(&g->rpcbind, 5000);
}

void ganesha_url(const struct ganesha *g, char *out, size_t len)
{
	snprintf(out, len, "nfs://127.0.0.1%s?nfsport=%d&mountport=%d&version=3", g->export,
		 g->nfs_port, g->mnt_port);
}
