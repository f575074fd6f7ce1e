/*
 * The seccomp filter: a process inside it can do what its list allows,
 * and a call outside the list kills it with SIGSYS after it has written
 * the syscall's number where the parent reads it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "test.h"

/* Run fn in a child inside proc's filter; stderr captured into out. */
static int
run_sandboxed(enum proc_id proc, void (*fn)(void), char *out, size_t outlen)
{
	pid_t	 pid;
	int	 p[2], status;
	ssize_t	 n;
	size_t	 got = 0;

	if (pipe(p) == -1)
		abort();
	if ((pid = fork()) == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		log_init(LOG_DEST_PARENT, "test");
		sandbox_filter(proc);
		fn();
		_exit(0);
	}
	close(p[1]);
	while (got < outlen - 1 &&
	    (n = read(p[0], out + got, outlen - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return status;
}

static void
allowed_calls(void)
{
	char	*p = malloc(100000);

	free(p);
	if (write(STDERR_FILENO, "fine\n", 5) != 5)
		_exit(3);
	(void)getpid();
}

static void
forbidden_socket(void)
{
	(void)socket(AF_INET, SOCK_STREAM, 0);
	_exit(0);
}

static void
forbidden_chdir(void)
{
	(void)syscall(SYS_chdir, "/");
	_exit(0);
}

static void
test_allowed(void)
{
	char	 out[256];
	int	 status;

	status = run_sandboxed(PROC_APID, allowed_calls, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(strstr(out, "fine") != NULL);
}

static void
test_socket_killed_in_apid(void)
{
	char	 out[256], want[64];
	int	 status;

	status = run_sandboxed(PROC_APID, forbidden_socket, out, sizeof(out));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
	snprintf(want, sizeof(want), SANDBOX_VIOLATION "%d", SYS_socket);
	CHECK(strstr(out, want) != NULL);
}

static void
test_socket_allowed_in_checkd(void)
{
	char	 out[256];
	int	 status;

	status = run_sandboxed(PROC_CHECKD, forbidden_socket, out,
	    sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
test_chdir_killed_in_dnsd(void)
{
	char	 out[256], want[64];
	int	 status;

	status = run_sandboxed(PROC_DNSD, forbidden_chdir, out, sizeof(out));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
	snprintf(want, sizeof(want), SANDBOX_VIOLATION "%d", SYS_chdir);
	CHECK(strstr(out, want) != NULL);
}

int
main(void)
{
	const struct test_case	 cases[] = {
		TEST_CASE(test_allowed),
		TEST_CASE(test_socket_killed_in_apid),
		TEST_CASE(test_socket_allowed_in_checkd),
		TEST_CASE(test_chdir_killed_in_dnsd),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
