/* Child processes for integration tests: started on loopback, stopped by PID,
 * and killed by the kernel if the test itself dies (PR_SET_PDEATHSIG). */
#ifndef MCFS_TEST_PROC_H
#define MCFS_TEST_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct proc {
	pid_t pid;
	char name[64];
	char log_path[512];
};

/* Starts argv[0] (looked up in PATH) with stdout+stderr to log_path (NULL: /dev/null). */
int proc_spawn(struct proc *p, const char *name, char *const argv[], const char *log_path);
/* Waits for it to exit on its own: its exit status (128 + signal when killed),
 * or -ETIMEDOUT (it is still running). */
int proc_wait(struct proc *p, int timeout_ms);
/* SIGTERM, then SIGKILL after timeout_ms; reaps. Returns the exit status or -errno. */
int proc_stop(struct proc *p, int timeout_ms);
/* Sends sig and reaps (for SIGKILL). */
void proc_kill(struct proc *p, int sig);
bool proc_alive(struct proc *p);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int free_tcp_port(void);
/* Polls until something accepts on 127.0.0.1:port, or the deadline passes (-ETIMEDOUT). */
int wait_tcp_port(int port, int timeout_ms);
/* Polls cond(arg) every few ms until true or the deadline passes. */
int wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms);

/* A fresh directory under $TMPDIR (or /tmp); caller frees. */
char *test_tmpdir(const char *tag);
/* Removes a tree; for test directories only. */
int rm_rf(const char *path);
/* Monotonic milliseconds. */
long long now_ms(void);

#endif
