/*
 * Starting the child commands of watch handlers and lock holders: the
 * arguments joined with spaces and run by /bin/sh -c, or run directly
 * (-shell=false), with one variable added to the environment.  A child
 * that cannot be started is reported by the parent, not by the child,
 * through a close-on-exec pipe that carries the exec error.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consulctl.h"
#include "fdio.h"

/* The arguments as one shell command line, as Consul joins them. */
char *
child_join(char **args, int nargs)
{
	FILE	*f;
	char	*s = NULL;
	size_t	 len;
	int	 i;

	if ((f = open_memstream(&s, &len)) == NULL)
		return NULL;
	for (i = 0; i < nargs; i++)
		fprintf(f, "%s%s", i > 0 ? " " : "", args[i]);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/*
 * Start the child.  stdin_fd -1 gives it /dev/null; own_group puts it
 * in a process group of its own, so that signalling the group reaches
 * whatever a shell started.  Returns its pid, or -1 with err set.
 */
pid_t
child_start(char **args, int nargs, int shell, int stdin_fd,
    const char *env_name, const char *env_value, int own_group, char *err,
    size_t errlen)
{
	char		*line = NULL, **argv;
	pid_t		 pid;
	ssize_t		 n;
	int		 p[2], fd, error;

	if (nargs < 1) {
		snprintf(err, errlen, "no command given");
		return -1;
	}
	if (shell && (line = child_join(args, nargs)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(line);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		free(line);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		signal(SIGPIPE, SIG_DFL);
		if (own_group)
			setpgid(0, 0);
		if (stdin_fd == -1)
			fd = open("/dev/null", O_RDONLY);
		else
			fd = stdin_fd;
		if (fd == -1 || (fd != STDIN_FILENO &&
		    dup2(fd, STDIN_FILENO) == -1) ||
		    setenv(env_name, env_value, 1) == -1)
			goto fail;
		if (shell)
			execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		else {
			argv = args;
			execvp(argv[0], argv);
		}
 fail:
		error = errno;
		(void)fd_write_all(p[1], &error, sizeof(error));
		_exit(127);
	}
	close(p[1]);
	free(line);
	/* Nothing comes through the pipe when the exec worked. */
	do
		n = read(p[0], &error, sizeof(error));
	while (n == -1 && errno == EINTR);
	close(p[0]);
	if (n == sizeof(error)) {
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		snprintf(err, errlen, "exec: \"%s\": %s", shell ? "/bin/sh" :
		    args[0], strerror(error));
		return -1;
	}
	/* The exec has happened, so has the child's setpgid(). */
	return pid;
}

/* How a child ended, in Go's words: "exit status 3", "signal: killed". */
void
child_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal: %s", strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "status %d", status);
}
