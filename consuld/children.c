/*
 * The children: where their programs are, fork+exec with the parent
 * channel on a fixed descriptor, the start-up handshake (config, sockets,
 * start), relaying their stderr into our log, and what happens when one
 * dies: the parent says which and why, and takes the whole suite down.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "consuld.h"
#include "log.h"
#include "mpack.h"
#include "sandbox.h"

/* Start order: the state first, the edges last. */
static const enum proc_id child_order[] = {
	PROC_RAFTD, PROC_GOSSIPD, PROC_CHECKD, PROC_DNSD, PROC_APID
};
#define NCHILDREN	(sizeof(child_order) / sizeof(child_order[0]))

static void	child_dispatch(struct imsgev *, struct imsg *);
static void	child_closed(struct imsgev *);
static void	child_broken(struct imsgev *, const char *);
static void	child_stderr(evutil_socket_t, short, void *);

/*
 * In the build tree the children sit beside us (../raftd/raftd);
 * installed, they are in LIBEXECDIR.
 */
const char *
children_path(const char *name)
{
	static char	 path[PATH_MAX];
	char		 self[PATH_MAX], *slash;
	ssize_t		 n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		if (snprintf(path, sizeof(path), "%s/../%s/%s", self, name,
		    name) < (int)sizeof(path) && access(path, X_OK) == 0)
			return path;
	}
	snprintf(path, sizeof(path), "%s/%s", LIBEXECDIR, name);
	return path;
}

static enum proc_id
socket_owner(enum imsg_socket_kind kind)
{
	switch (kind) {
	case SOCKET_HTTP:
	case SOCKET_HTTPS:
		return PROC_APID;
	case SOCKET_DNS_UDP:
	case SOCKET_DNS_TCP:
		return PROC_DNSD;
	case SOCKET_SERF_LAN_UDP:
	case SOCKET_SERF_LAN_TCP:
	case SOCKET_SERF_WAN_UDP:
	case SOCKET_SERF_WAN_TCP:
		return PROC_GOSSIPD;
	case SOCKET_SERVER_RPC:
		return PROC_RAFTD;
	default:
		fatalx("children: socket kind %d has no owner", kind);
	}
}

static void
send_socket(struct imsgbuf *ibuf, enum imsg_socket_kind kind,
    enum proc_id peer, int fd)
{
	struct imsg_socket	 s;

	memset(&s, 0, sizeof(s));
	s.kind = kind;
	s.peer = peer;
	if (imsg_compose(ibuf, IMSG_CTL_SOCKET, 0, 0, fd, &s, sizeof(s)) == -1)
		fatal("children: compose");
}

static pid_t
child_exec(struct child_proc *cp, int chanfd, int errfd)
{
	const char	*path = children_path(cp->name);
	char		*argv[3];
	pid_t		 pid;
	int		 devnull;

	switch (pid = fork()) {
	case -1:
		fatal("children: fork");
	case 0:
		break;
	default:
		return pid;
	}

	/* In the child: stdin/stdout to /dev/null, stderr to our pipe. */
	if ((devnull = open("/dev/null", O_RDWR)) == -1 ||
	    dup2(devnull, STDIN_FILENO) == -1 ||
	    dup2(devnull, STDOUT_FILENO) == -1 ||
	    dup2(errfd, STDERR_FILENO) == -1 ||
	    dup2(chanfd, PROC_PARENT_FD) == -1)
		_exit(127);
	closefrom(PROC_PARENT_FD + 1);
	signal(SIGPIPE, SIG_DFL);
	argv[0] = (char *)cp->name;
	argv[1] = PROC_CHILD_FLAG;
	argv[2] = NULL;
	execv(path, argv);
	dprintf(STDERR_FILENO, "<4>cannot exec %s: %s\n", path,
	    strerror(errno));
	_exit(127);
}

void
children_start(struct parent *p)
{
	struct mpack_out	 out;
	struct child_proc	*cp;
	int			 peer[PROC_MAX][PROC_MAX];
	int			 sp[2], chan[2], errp[2];
	size_t			 i, k;
	int			 a, b, flags;

	for (a = 0; a < PROC_MAX; a++)
		for (b = 0; b < PROC_MAX; b++)
			peer[a][b] = -1;
	/* One socketpair per pair of children that talk. */
	for (a = 1; a < PROC_MAX; a++) {
		for (b = a + 1; b < PROC_MAX; b++) {
			if (!proc_channel_between(a, b))
				continue;
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			    sp) == -1)
				fatal("children: socketpair");
			peer[a][b] = sp[0];
			peer[b][a] = sp[1];
		}
	}

	mpack_out_init(&out);
	if (config_pack(p->conf, &out) == -1)
		fatalx("children: cannot pack the configuration");

	for (i = 0; i < NCHILDREN; i++) {
		cp = &p->children[child_order[i]];
		cp->id = child_order[i];
		cp->name = proc_names[cp->id];
		cp->violation = -1;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    chan) == -1)
			fatal("children: socketpair");
		if (pipe2(errp, O_CLOEXEC) == -1)
			fatal("children: pipe");

		cp->pid = child_exec(cp, chan[1], errp[1]);
		cp->alive = 1;
		close(chan[1]);
		close(errp[1]);
		cp->errfd = errp[0];
		if ((flags = fcntl(cp->errfd, F_GETFL)) == -1 ||
		    fcntl(cp->errfd, F_SETFL, flags | O_NONBLOCK) == -1)
			fatal("children: fcntl");
		cp->errev = event_new(p->base, cp->errfd, EV_READ | EV_PERSIST,
		    child_stderr, cp);
		if (cp->errev == NULL || event_add(cp->errev, NULL) == -1)
			fatalx("children: event_new failed");

		/* The hand-over, on the still blocking channel. */
		imsgbuf_init(&cp->iev.ibuf, chan[0]);
		if (imsg_compose(&cp->iev.ibuf, IMSG_CTL_CONFIG, 0, 0, -1,
		    out.sbuf.data, out.sbuf.size) == -1)
			fatal("children: compose");
		if (cp->id == PROC_RAFTD || cp->id == PROC_APID)
			children_send_tls(p, &cp->iev.ibuf, NULL);
		for (b = 1; b < PROC_MAX; b++) {
			if (peer[cp->id][b] == -1)
				continue;
			send_socket(&cp->iev.ibuf, SOCKET_PEER, b,
			    peer[cp->id][b]);
			peer[cp->id][b] = -1;
		}
		for (k = 0; k < p->nlisteners; k++) {
			if (p->listeners[k].fd == -1 ||
			    socket_owner(p->listeners[k].kind) != cp->id)
				continue;
			send_socket(&cp->iev.ibuf, p->listeners[k].kind,
			    PROC_PARENT, p->listeners[k].fd);
			p->listeners[k].fd = -1;
		}
		if (imsg_compose(&cp->iev.ibuf, IMSG_CTL_START, 0, 0, -1,
		    NULL, 0) == -1)
			fatal("children: compose");
		if (imsgbuf_flush(&cp->iev.ibuf) == -1)
			fatal("children: hand-over to %s", cp->name);
		imsgbuf_clear(&cp->iev.ibuf);

		imsgev_init(&cp->iev, p->base, chan[0], cp->name,
		    child_dispatch, p);
		cp->iev.closed = child_closed;
		cp->iev.broken = child_broken;
		log_debug("children: started %s (pid %d)", cp->name,
		    (int)cp->pid);
	}
	mpack_out_free(&out);
}

static struct child_proc *
child_of(struct parent *p, struct imsgev *iev)
{
	int	 i;

	for (i = 1; i < PROC_MAX; i++)
		if (&p->children[i].iev == iev)
			return &p->children[i];
	fatalx("children: unknown channel");
}

static void
child_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct parent		*p = iev->arg;
	struct child_proc	*cp = child_of(p, iev);

	switch (imsg->hdr.type) {
	case IMSG_CTL_READY:
		if (!imsg_len_is(imsg, 0) || cp->ready) {
			child_broken(iev, "bad ready message");
			return;
		}
		cp->ready = 1;
		if (cp->id == PROC_CHECKD)
			script_checkd_ready(p);
		parent_child_ready(p);
		break;
	case IMSG_CTL_LEFT:
		if (cp->id != PROC_GOSSIPD || !imsg_len_is(imsg, 0)) {
			child_broken(iev, "bad leave message");
			return;
		}
		parent_left(p);
		break;
	case IMSG_CTL_RELOAD_DONE:
		if (!imsg_len_is(imsg, 0) || reload_done(p, cp) == -1)
			child_broken(iev, "bad reload message");
		break;
	case IMSG_AGENT_RELOAD:
		if (cp->id != PROC_APID || !imsg_len_is(imsg, 0)) {
			child_broken(iev, "bad reload request");
			return;
		}
		reload_request(p, imsg->hdr.peerid);
		break;
	/* Script checks: raftd registers them, checkd asks for runs. */
	case IMSG_SCRIPT_SET:
		if (cp->id != PROC_RAFTD ||
		    script_set_msg(p, imsg->data, imsg->len) == -1)
			child_broken(iev, "bad script check");
		break;
	case IMSG_SCRIPT_DEL:
		if (cp->id != PROC_RAFTD ||
		    script_del_msg(p, imsg->data, imsg->len) == -1)
			child_broken(iev, "bad script check deletion");
		break;
	case IMSG_SCRIPT_RUN:
		if (cp->id != PROC_CHECKD || script_run_msg(p,
		    imsg->hdr.peerid, imsg->data, imsg->len) == -1)
			child_broken(iev, "bad script run");
		break;
	default:
		child_broken(iev, "unexpected message type");
		break;
	}
}

/* The channel is gone: the child is dying; reaping says why. */
static void
child_closed(struct imsgev *iev)
{
	imsgev_clear(iev);
}

/*
 * A child that sends what it must not is broken or compromised: it is
 * never obeyed, it is killed, and the suite goes down with it.
 */
static void
child_broken(struct imsgev *iev, const char *why)
{
	struct parent		*p = iev->arg;
	struct child_proc	*cp = child_of(p, iev);

	log_errorx("children: %s from %s (pid %d), killing it", why,
	    cp->name, (int)cp->pid);
	imsgev_clear(iev);
	kill(cp->pid, SIGKILL);
	parent_shutdown(p, 1);
}

static void
child_relay_lines(struct child_proc *cp, int flush)
{
	char	*nl, *line = cp->errbuf;
	size_t	 left = cp->errlen;
	int	 nr;

	while ((nl = memchr(line, '\n', left)) != NULL) {
		*nl = '\0';
		if (strncmp(line + (line[0] == '<' ? 3 : 0),
		    SANDBOX_VIOLATION, strlen(SANDBOX_VIOLATION)) == 0) {
			nr = atoi(strrchr(line, ' ') + 1);
			cp->violation = nr;
		}
		log_relay_line(cp->name, line);
		left -= nl + 1 - line;
		line = nl + 1;
	}
	if (left == sizeof(cp->errbuf) || (flush && left > 0)) {
		/* An overlong or unterminated line goes out as it is. */
		line[left == sizeof(cp->errbuf) ? left - 1 : left] = '\0';
		log_relay_line(cp->name, line);
		left = 0;
	}
	memmove(cp->errbuf, line, left);
	cp->errlen = left;
}

/* Read what the child wrote; returns 0 at end of file. */
static int
child_read_stderr(struct child_proc *cp)
{
	ssize_t	 n;

	for (;;) {
		n = read(cp->errfd, cp->errbuf + cp->errlen,
		    sizeof(cp->errbuf) - cp->errlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 1;
		if (n <= 0) {
			child_relay_lines(cp, 1);
			event_free(cp->errev);
			cp->errev = NULL;
			close(cp->errfd);
			cp->errfd = -1;
			return 0;
		}
		cp->errlen += n;
		child_relay_lines(cp, 0);
	}
}

static void
child_stderr(evutil_socket_t fd, short events, void *arg)
{
	child_read_stderr(arg);
}

static void
child_report_death(struct parent *p, struct child_proc *cp, int status)
{
	const char	*name;
	char		*sys;
	int		 sig;

	if (WIFEXITED(status)) {
		if (p->shutting_down && WEXITSTATUS(status) == 0)
			log_debug("children: %s (pid %d) exited", cp->name,
			    (int)cp->pid);
		else
			log_warnx("children: %s (pid %d) exited with "
			    "status %d", cp->name, (int)cp->pid,
			    WEXITSTATUS(status));
		return;
	}
	sig = WTERMSIG(status);
	if (sig == SIGSYS && cp->violation != -1) {
		sys = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
		    cp->violation);
		log_errorx("children: %s (pid %d) killed by the sandbox: "
		    "syscall %d (%s)", cp->name, (int)cp->pid, cp->violation,
		    sys ? sys : "unknown");
		free(sys);
		return;
	}
	name = strsignal(sig);
	log_warnx("children: %s (pid %d) terminated by signal %d (%s)",
	    cp->name, (int)cp->pid, sig, name ? name : "?");
}

/*
 * SIGCHLD: the children, and the script checks' processes.  Each is
 * looked at before it is reaped, so that a script's process group still
 * exists when what is left of it is killed (script.c).
 */
void
children_reap(struct parent *p)
{
	struct child_proc	*cp;
	siginfo_t		 si;
	pid_t			 pid;
	int			 status, i;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((pid = si.si_pid) == 0)
			break;
		if (script_reap(p, pid))
			continue;
		if (waitpid(pid, &status, 0) == -1) {
			if (errno == EINTR)
				continue;
			fatal("children: waitpid");
		}
		cp = NULL;
		for (i = 1; i < PROC_MAX; i++)
			if (p->children[i].alive && p->children[i].pid == pid)
				cp = &p->children[i];
		if (cp == NULL)
			continue;
		cp->alive = 0;
		while (cp->errfd != -1 && child_read_stderr(cp))
			;
		if (cp->iev.events != 0)
			imsgev_clear(&cp->iev);
		child_report_death(p, cp, status);
		if (!p->shutting_down) {
			log_errorx("agent: %s died, shutting down",
			    cp->name);
			parent_shutdown(p, 1);
		}
	}
	if (p->shutting_down && !children_alive(p))
		event_base_loopbreak(p->base);
}

int
children_alive(struct parent *p)
{
	int	 i, n = 0;

	for (i = 1; i < PROC_MAX; i++)
		n += p->children[i].alive;
	return n;
}

void
children_signal(struct parent *p, int sig)
{
	int	 i;

	/* Script checks end with the agent, whatever the signal. */
	script_kill_all();
	for (i = 1; i < PROC_MAX; i++)
		if (p->children[i].alive)
			kill(p->children[i].pid, sig);
}

/*
 * The TLS material, on the blocking start-up channel (ibuf) or the
 * running one (iev); the packed copy of the key is wiped at once.
 */
void
children_send_tls(struct parent *p, struct imsgbuf *ibuf, struct imsgev *iev)
{
	struct mpack_out	 out;
	int			 rc;

	mpack_out_init(&out);
	tls_material_pack(&p->tls, &out);
	if (ibuf != NULL)
		rc = imsg_compose(ibuf, IMSG_CTL_TLS, 0, 0, -1, out.sbuf.data,
		    out.sbuf.size);
	else
		rc = imsgev_compose(iev, IMSG_CTL_TLS, 0, -1, out.sbuf.data,
		    out.sbuf.size);
	if (rc == -1)
		fatal("children: compose");
	explicit_bzero(out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

void
children_send_reload(struct parent *p)
{
	struct mpack_out	 out;
	int			 i;

	mpack_out_init(&out);
	if (config_pack(p->conf, &out) == -1)
		fatalx("children: cannot pack the configuration");
	for (i = 1; i < PROC_MAX; i++) {
		if (!p->children[i].alive || p->children[i].iev.events == 0)
			continue;
		if (i == PROC_RAFTD || i == PROC_APID)
			children_send_tls(p, NULL, &p->children[i].iev);
		if (imsgev_compose(&p->children[i].iev, IMSG_CTL_RELOAD, 0,
		    -1, out.sbuf.data, out.sbuf.size) == -1)
			fatal("children: compose");
		p->children[i].reloads_sent++;
	}
	mpack_out_free(&out);
}

/*
 * Ask gossipd to leave every pool; -1 when it cannot be asked (not
 * started yet, or gone), and then there is nothing to leave.
 */
int
children_send_leave(struct parent *p)
{
	struct child_proc	*cp = &p->children[PROC_GOSSIPD];

	if (!cp->alive || !cp->ready || cp->iev.events == 0)
		return -1;
	if (imsgev_compose(&cp->iev, IMSG_CTL_LEAVE, 0, -1, NULL, 0) == -1)
		fatal("children: compose");
	return 0;
}
