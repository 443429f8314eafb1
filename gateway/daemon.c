#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int ready_fd = -1;

int daemon_detach(void)
{
	int p[2];
	if (pipe(p) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		char msg[512];
		ssize_t n, total = 0;
		while ((n = read(p[0], msg + total, sizeof(msg) - 1 - (size_t)total)) > 0)
			total += n;
		msg[total > 0 ? total : 0] = '\0';
		if (total > 0 && msg[0] == '+')
			_exit(0);
		fprintf(stderr, "mcfs-gateway: %s\n", total > 1 ? msg + 1 : "failed to start");
		_exit(1);
	}
	close(p[0]);
	ready_fd = p[1];
	setsid();
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (chdir("/") < 0)
		return -errno;
	return 0;
}

void daemon_ready(bool ok, const char *message)
{
	if (ready_fd < 0)
		return;
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%c%s", ok ? '+' : '-', message ? message : "");
	if (n > 0 && write(ready_fd, buf, (size_t)n) < 0) {
		/* the parent is gone; nothing to tell */
	}
	close(ready_fd);
	ready_fd = -1;
}

int pidfile_create(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 && errno == EEXIST) {
		/* A stale file from a crash is fine to take over. */
		FILE *f = fopen(path, "r");
		long pid = 0;
		if (f) {
			if (fscanf(f, "%ld", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		if (pid > 0 && kill((pid_t)pid, 0) == 0)
			return -EEXIST;
		unlink(path);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	}
	if (fd < 0)
		return -errno;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	ssize_t w = write(fd, buf, (size_t)n);
	close(fd);
	return w == n ? 0 : -EIO;
}

void pidfile_remove(const char *path)
{
	if (path && *path)
		unlink(path);
}
