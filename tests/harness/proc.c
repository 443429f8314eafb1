#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int proc_spawn(struct proc *p, const char *name, char *const argv[], const char *log_path)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (log_path)
		snprintf(p->log_path, sizeof(p->log_path), "%s", log_path);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* The child must not outlive a crashed test. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int fd =
		    open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			close(devnull);
		}
		setpgid(0, 0);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	p->pid = pid;
	return 0;
}

static int reap(struct proc *p, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		int status;
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid) {
			p->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (r < 0) {
			p->pid = 0;
			return -errno;
		}
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		pause_ms(5);
	}
}

int proc_wait(struct proc *p, int timeout_ms)
{
	if (p->pid <= 0)
		return -ECHILD;
	return reap(p, timeout_ms);
}

int proc_stop(struct proc *p, int timeout_ms)
{
	if (p->pid <= 0)
		return 0;
	kill(p->pid, SIGTERM);
	int r = reap(p, timeout_ms);
	if (r == -ETIMEDOUT) {
		kill(p->pid, SIGKILL);
		r = reap(p, 10000);
	}
	return r;
}

void proc_kill(struct proc *p, int sig)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, sig);
	if (sig == SIGKILL || sig == SIGTERM)
		reap(p, 10000);
}

bool proc_alive(struct proc *p)
{
	if (p->pid <= 0)
		return false;
	int status;
	pid_t r = waitpid(p->pid, &status, WNOHANG);
	if (r == p->pid) {
		p->pid = 0;
		return false;
	}
	return true;
}

int free_tcp_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int port = -EADDRNOTAVAIL;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

int wait_tcp_port(int port, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	do {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return -errno;
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (r == 0)
			return 0;
		pause_ms(10);
	} while (now_ms() < deadline);
	return -ETIMEDOUT;
}

int wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	do {
		if (cond(arg))
			return 0;
		pause_ms(5);
	} while (now_ms() < deadline);
	return cond(arg) ? 0 : -ETIMEDOUT;
}

char *test_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof(tmpl), "%s/mcfs-%s-XXXXXX", base && *base ? base : "/tmp", tag);
	char *dir = mkdtemp(tmpl);
	return dir ? strdup(dir) : NULL;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int rm_rf(const char *path)
{
	if (!path || strlen(path) < 6 || strcmp(path, "/") == 0)
		return -EINVAL;
	return nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -errno;
}
