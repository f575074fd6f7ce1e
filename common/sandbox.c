/*
 * chroot + privilege drop + seccomp.  The filter's default action traps:
 * a SIGSYS handler writes the offending system call's number to stderr
 * (a pipe the parent reads, see log.c), then dies of SIGSYS, so the
 * parent can say which call killed which process.  The lists below are
 * the whole of what each process may do after start-up; a call missing
 * here shows up as such a line in the log, never as silent misbehaviour.
 */
#include <sys/types.h>
#include <sys/ioctl.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

/* Everything a libevent loop with imsg channels and malloc needs. */
static const int sandbox_base[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(close), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(mprotect), SCMP_SYS(futex),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(tgkill),
	SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(getrandom), SCMP_SYS(sysinfo), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(restart_syscall),
#ifdef SANITIZE
	/* ASan/UBSan reports and their exit path. */
	SCMP_SYS(openat), SCMP_SYS(readlink), SCMP_SYS(sched_yield),
	SCMP_SYS(sigaltstack), SCMP_SYS(prctl), SCMP_SYS(prlimit64),
	SCMP_SYS(getrlimit), SCMP_SYS(mincore), SCMP_SYS(getppid),
	SCMP_SYS(lseek), SCMP_SYS(pread64), SCMP_SYS(uname),
#endif
	-1
};

/* Serving connections on sockets the parent opened. */
static const int sandbox_server[] = {
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(shutdown),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
	-1
};

/* dnsd reads and answers UDP queries in batches. */
static const int sandbox_dns[] = {
	SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg), -1
};

/* Opening connections of its own (RPC, gossip push-pull, checks). */
static const int sandbox_client[] = {
	SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(bind), -1
};

/* raftd's files in data_dir: the node id now, Berkeley DB later. */
static const int sandbox_files[] = {
	SCMP_SYS(openat), SCMP_SYS(lseek), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(ftruncate), SCMP_SYS(rename), SCMP_SYS(renameat),
	SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(mkdir),
	SCMP_SYS(getdents64), SCMP_SYS(umask), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(flock), SCMP_SYS(sched_yield),
	SCMP_SYS(getcwd),
	-1
};

static void
sandbox_sigsys(int sig, siginfo_t *info, void *ctx)
{
	char		 msg[80] = "<4>" SANDBOX_VIOLATION;
	char		 num[16];
	size_t		 len = strlen(msg), i = sizeof(num);
	unsigned int	 nr = (unsigned int)info->si_syscall;
	struct sigaction sa;

	do {
		num[--i] = '0' + nr % 10;
		nr /= 10;
	} while (nr > 0 && i > 0);
	memcpy(msg + len, num + i, sizeof(num) - i);
	len += sizeof(num) - i;
	msg[len++] = '\n';
	(void)write(STDERR_FILENO, msg, len);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGSYS, &sa, NULL);
	raise(SIGSYS);
}

static void
sandbox_allow(scmp_filter_ctx ctx, const int *list)
{
	for (; *list != -1; list++) {
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, *list, 0) < 0)
			fatalx("sandbox: cannot allow syscall %d", *list);
	}
}

void
sandbox_filter(enum proc_id id)
{
	scmp_filter_ctx		 ctx;
	struct sigaction	 sa;
	int			 rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("sandbox: sigaction");

	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		fatalx("sandbox: seccomp_init failed");
	sandbox_allow(ctx, sandbox_base);
	/* libevent asks how much a socket holds; nothing else. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, FIONREAD)) < 0)
		fatalx("sandbox: cannot allow ioctl");

	switch (id) {
	case PROC_RAFTD:
		sandbox_allow(ctx, sandbox_server);
		sandbox_allow(ctx, sandbox_client);
		sandbox_allow(ctx, sandbox_files);
		break;
	case PROC_DNSD:
		sandbox_allow(ctx, sandbox_dns);
		/* FALLTHROUGH */
	case PROC_GOSSIPD:
	case PROC_CHECKD:
		sandbox_allow(ctx, sandbox_server);
		sandbox_allow(ctx, sandbox_client);
		break;
	case PROC_APID:
		sandbox_allow(ctx, sandbox_server);
		break;
	default:
		fatalx("sandbox: no filter for process %d", id);
	}

	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("sandbox: seccomp_load: %s", strerror(-rc));
	seccomp_release(ctx);
}

/*
 * Enter the sandbox.  As root: chroot to root, drop to user.  Not as
 * root (development, tests) there is nothing to drop; the parent has
 * said so once.  The filter goes on in both cases.
 */
void
sandbox_enter(enum proc_id id, const char *root, const char *user)
{
	struct passwd	*pw;
	uid_t		 uid;
	gid_t		 gid;

	if (geteuid() == 0) {
		if ((pw = getpwnam(user)) == NULL)
			fatalx("sandbox: unknown user %s", user);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if (chroot(root) == -1)
			fatal("sandbox: chroot %s", root);
		if (chdir("/") == -1)
			fatal("sandbox: chdir /");
		if (setgroups(1, &gid) == -1 ||
		    setresgid(gid, gid, gid) == -1 ||
		    setresuid(uid, uid, uid) == -1)
			fatal("sandbox: cannot drop privileges to %s", user);
		if (setuid(0) != -1 || geteuid() != uid)
			fatalx("sandbox: privileges were not dropped");
		log_debug("sandbox: chrooted to %s as %s", root, user);
	}
	sandbox_filter(id);
}
