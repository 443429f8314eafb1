#include "cli_run.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 38

int cli_run(const char *bin, const char *scratch, char *out, size_t len, char *const env[],
	    const char *const args[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(scratch, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		unsetenv("AWS_ACCESS_KEY_ID");
		unsetenv("AWS_SECRET_ACCESS_KEY");
		unsetenv("MCFS_META_PASSWORD");
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		const char *argv[MAX_ARGS + 2] = {"mcfs"};
		for (int i = 0; args[i] && i < MAX_ARGS; i++)
			argv[i + 1] = args[i];
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 128;
	FILE *f = fopen(scratch, "r");
	size_t n = f ? fread(out, 1, len - 1, f) : 0;
	out[n] = '\0';
	if (f)
		fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
