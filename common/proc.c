/*
 * Start-up and run loop shared by the five children.  A child is exec'd
 * by the parent with the channel on PROC_PARENT_FD; it reads its config
 * and descriptors synchronously until IMSG_CTL_START, then the child's
 * own main opens what it needs, calls sandbox_enter() and proc_child_run().
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mpack.h"
#include "proc.h"
#include "tlsconf.h"

static void	proc_child_signals(struct child *);
static void	proc_child_signal(evutil_socket_t, short, void *);

const char *const proc_names[PROC_MAX] = {
	[PROC_PARENT] = "consuld",
	[PROC_RAFTD] = "raftd",
	[PROC_GOSSIPD] = "gossipd",
	[PROC_APID] = "apid",
	[PROC_DNSD] = "dnsd",
	[PROC_CHECKD] = "checkd",
};

/*
 * raftd holds the state, so every other child has a channel to it; the
 * parent has one to every child.  No other pair talks.
 */
int
proc_channel_between(enum proc_id a, enum proc_id b)
{
	if (a == b)
		return 0;
	if (a == PROC_PARENT || b == PROC_PARENT)
		return 1;
	return a == PROC_RAFTD || b == PROC_RAFTD;
}

static void
proc_child_check_started(const char *name, int argc, char **argv)
{
	struct stat	 sb;

	if (argc != 2 || strcmp(argv[1], PROC_CHILD_FLAG) != 0 ||
	    fstat(PROC_PARENT_FD, &sb) == -1 || !S_ISSOCK(sb.st_mode)) {
		fprintf(stderr, "%s: this program is started by consuld(8), "
		    "not by hand\n", name);
		exit(1);
	}
}

static void
proc_child_take_socket(struct child *c, struct imsg *imsg)
{
	struct imsg_socket	 s;

	imsg_need_len(imsg, sizeof(s), "parent");
	memcpy(&s, imsg->data, sizeof(s));
	if (imsg->fd == -1 || s.kind >= SOCKET_KIND_MAX)
		fatalx("proc: bad socket message from parent");
	if (s.kind == SOCKET_PEER) {
		if (s.peer >= PROC_MAX || !proc_channel_between(c->id, s.peer) ||
		    c->peer_fds[s.peer] != -1)
			fatalx("proc: bad peer %u from parent", s.peer);
		c->peer_fds[s.peer] = imsg->fd;
	} else {
		if (c->nsockets >= PROC_MAX_SOCKETS)
			fatalx("proc: too many sockets from parent");
		c->sockets[c->nsockets].kind = s.kind;
		c->sockets[c->nsockets].fd = imsg->fd;
		c->nsockets++;
	}
	imsg->fd = -1;
}

/* IMSG_CTL_TLS: kept until the child takes it; the message is wiped. */
static void
proc_child_tls(struct child *c, struct imsg *imsg)
{
	struct tls_material	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		fatal("proc");
	if (tls_material_unpack(imsg->data, imsg->len, m) == -1)
		fatalx("proc: malformed tls material from parent");
	explicit_bzero(imsg->data, imsg->len);
	if (c->tls != NULL) {
		tls_material_clear(c->tls);
		free(c->tls);
	}
	c->tls = m;
}

/* The TLS material the parent sent last, or NULL; the caller frees it. */
struct tls_material *
proc_child_take_tls(struct child *c)
{
	struct tls_material	*m = c->tls;

	c->tls = NULL;
	return m;
}

/*
 * The child's half of the start-up handshake: blocking reads on the
 * parent channel until IMSG_CTL_START.
 */
void
proc_child_start(struct child *c, enum proc_id id, int argc, char **argv)
{
	struct imsgbuf	 ibuf;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 i, r, started = 0;

	memset(c, 0, sizeof(*c));
	c->id = id;
	c->name = proc_names[id];
	for (i = 0; i < PROC_MAX; i++)
		c->peer_fds[i] = -1;
	proc_child_check_started(c->name, argc, argv);
	log_init(LOG_DEST_PARENT, c->name);

	imsgbuf_init(&ibuf, PROC_PARENT_FD);
	while (!started) {
		n = imsgbuf_read(&ibuf);
		if (n == -1 && errno != EAGAIN)
			fatal("proc: read from parent");
		if (n == 0)
			fatalx("proc: parent closed the channel");
		while (!started && (r = imsg_get(&ibuf, &imsg)) != 0) {
			if (r == -1)
				fatalx("proc: malformed message from parent");
			switch (imsg.hdr.type) {
			case IMSG_CTL_CONFIG:
				if (c->conf != NULL)
					fatalx("proc: config sent twice");
				c->conf = config_unpack(imsg.data, imsg.len);
				if (c->conf == NULL)
					fatalx("proc: malformed config from "
					    "parent");
				log_setlevel(c->conf->log_level);
				break;
			case IMSG_CTL_SOCKET:
				proc_child_take_socket(c, &imsg);
				break;
			case IMSG_CTL_TLS:
				proc_child_tls(c, &imsg);
				break;
			case IMSG_CTL_START:
				imsg_need_len(&imsg, 0, "parent");
				started = 1;
				break;
			default:
				fatalx("proc: unexpected type %u from parent "
				    "during start-up", imsg.hdr.type);
			}
			if (imsg.fd != -1)
				close(imsg.fd);
			imsg_free(&imsg);
		}
	}
	if (c->conf == NULL)
		fatalx("proc: started without a config");
	if (ibuf.rlen != 0 || ibuf.nfds != 0)
		fatalx("proc: parent sent more than the start-up");
	imsgbuf_clear(&ibuf);

	/* Time zone files cannot be read inside the sandbox. */
	tzset();
	if ((c->base = event_base_new()) == NULL)
		fatalx("proc: event_base_new failed");
	/* 0 urgent, 1 default, 2 end of turn (raftd's group commit). */
	if (event_base_priority_init(c->base, 3) == -1)
		fatalx("proc: event_base_priority_init failed");
	proc_child_signals(c);
}

/* The listening socket of a kind the parent passed, or -1. */
int
proc_child_socket(struct child *c, enum imsg_socket_kind kind)
{
	int	 i, fd;

	for (i = 0; i < c->nsockets; i++) {
		if (c->sockets[i].kind == kind && c->sockets[i].fd != -1) {
			fd = c->sockets[i].fd;
			c->sockets[i].fd = -1;
			return fd;
		}
	}
	return -1;
}

/*
 * A sibling that goes away is dying, and the parent is already taking
 * the suite down: leave quietly instead of adding a second error.
 */
static void
proc_child_peer_closed(struct imsgev *iev)
{
	struct child	*c = iev->arg;

	log_debug("proc: %s closed its channel, exiting", iev->name);
	imsgev_clear(iev);
	proc_child_shutdown(c);
}

void
proc_child_peer(struct child *c, enum proc_id peer, imsgev_dispatch_fn fn)
{
	if (c->peer_fds[peer] == -1)
		fatalx("proc: no channel to %s", proc_names[peer]);
	imsgev_init(&c->peers[peer], c->base, c->peer_fds[peer],
	    proc_names[peer], fn, c);
	c->peers[peer].closed = proc_child_peer_closed;
}

static void
proc_child_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	struct child	*c = iev->arg;
	struct config	*conf, *old;

	switch (imsg->hdr.type) {
	case IMSG_CTL_TLS:
		proc_child_tls(c, imsg);
		break;
	case IMSG_CTL_RELOAD:
		if ((conf = config_unpack(imsg->data, imsg->len)) == NULL)
			fatalx("proc: malformed config from parent");
		log_setlevel(conf->log_level);
		old = c->conf;
		c->conf = conf;
		if (c->reload != NULL)
			c->reload(c, old);
		config_free(old);
		log_info("reload: configuration reloaded");
		/* What the reload made us send is queued before this. */
		if (imsgev_compose(&c->parent, IMSG_CTL_RELOAD_DONE, 0, -1,
		    NULL, 0) == -1)
			fatal("proc: compose");
		break;
	default:
		if (c->parent_msg == NULL)
			fatalx("proc: unexpected type %u from parent",
			    imsg->hdr.type);
		c->parent_msg(c, imsg);
	}
}

static void
proc_child_parent_closed(struct imsgev *iev)
{
	struct child	*c = iev->arg;

	log_debug("proc: parent went away, exiting");
	proc_child_shutdown(c);
}

static void
proc_child_signal(evutil_socket_t sig, short events, void *arg)
{
	struct child	*c = arg;

	log_debug("proc: %s, exiting", strsignal(sig));
	proc_child_shutdown(c);
}

void
proc_child_shutdown(struct child *c)
{
	event_base_loopbreak(c->base);
}

/*
 * Signals need sigaction and an internal socketpair in libevent, which
 * the sandbox no longer allows, so they are set up during start-up.
 * SIGINT and SIGHUP belong to the parent: on a terminal they reach the
 * whole process group, and the parent decides what happens.
 */
static void
proc_child_signals(struct child *c)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	c->sigev[0] = evsignal_new(c->base, SIGTERM, proc_child_signal, c);
	if (c->sigev[0] == NULL || event_add(c->sigev[0], NULL) == -1)
		fatalx("proc: cannot watch SIGTERM");
}

/*
 * The channel to the parent, for a child that has something to send it
 * before it runs (raftd's script checks); proc_child_run() opens it
 * otherwise.  Nothing is read from it before proc_child_run().
 */
void
proc_child_parent(struct child *c)
{
	if (c->parent_open)
		return;
	imsgev_init(&c->parent, c->base, PROC_PARENT_FD, "parent",
	    proc_child_dispatch_parent, c);
	c->parent.closed = proc_child_parent_closed;
	c->parent_open = 1;
}

/* Sandboxed and ready: tell the parent, then serve until told to stop. */
void
proc_child_run(struct child *c)
{
	proc_child_parent(c);
	if (imsgev_compose(&c->parent, IMSG_CTL_READY, 0, -1, NULL, 0) == -1)
		fatal("proc: compose");
	event_base_dispatch(c->base);
}
