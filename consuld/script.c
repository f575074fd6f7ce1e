/*
 * Script checks.  The parent is the only process of the suite that may
 * exec, so it runs them; raftd and checkd only ever name them.
 *
 * raftd registers each script check with its argv (IMSG_SCRIPT_SET,
 * IMSG_SCRIPT_DEL); the parent keeps them here and has checkd schedule
 * them (IMSG_CHECK_SET and IMSG_CHECK_DEL of type script, sent on the
 * same channel as the results of runs, so checkd never sees the result
 * of a run of a check it no longer has as that of the new one).
 * checkd asks for a run by check id when one is due (IMSG_SCRIPT_RUN)
 * and gets the outcome (IMSG_SCRIPT_RESULT); its thresholds and raftd's
 * treat it like an http result.
 *
 * Who may make us run what: checkd faces the network (it parses what
 * http checks fetch) and can only name a check, never a program, so a
 * compromised checkd can at most run registered checks more often.
 * raftd holds the registrations, but what it registered is checked
 * again at every run against the configuration in force: a check from
 * the files runs only with exactly the argv the files give it, and
 * only with enable_local_script_checks or enable_script_checks; any
 * other only with enable_script_checks.  So a compromised raftd cannot
 * run programs unless the operator let the HTTP API register scripts,
 * which gives that power to every API client anyway.
 *
 * A run: fork; the child puts itself in a process group of its own,
 * takes /dev/null as stdin and one pipe as stdout and stderr, closes
 * everything else, drops to the unprivileged user (when we are root)
 * and execs.  Nothing here blocks: the pipe is read from the event
 * loop keeping the last output_max bytes, SIGCHLD reaps (see
 * children_reap()), a timer kills the whole group at the timeout.
 * When the script's own process exits, whatever it left running in its
 * group is killed too, so a check never leaves processes behind.
 * Exit 0 is passing, 1 warning, anything else critical, as in Consul.
 */
#include <sys/types.h>
#include <sys/tree.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_proto.h"
#include "config.h"
#include "consuld.h"
#include "duration.h"
#include "log.h"
#include "mpack.h"

/* Scripts running at once; more are answered critical. */
#define SCRIPT_RUNNING_MAX	256
/* Script checks the parent holds; as many as checkd runs. */
#define SCRIPT_CHECKS_MAX	CHECK_RUNNING_MAX
/* Timers beyond a year are taken as a year, as checkd does. */
#define SCRIPT_TIME_MAX_MS	(366ULL * 24 * 3600 * 1000)
#define SCRIPT_READ_CHUNK	4096

struct script_run;

/* A script check raftd registered; local: from a configuration file. */
struct script {
	RB_ENTRY(script)	 entry;
	char			*id;
	char		       **argv;		/* NULL-terminated */
	size_t			 argc;
	int			 local;
	uint64_t		 interval_ms;
	uint64_t		 timeout_ms;
	uint64_t		 output_max;
	struct script_run	*run;		/* running now, or NULL */
};

/*
 * One run: fd is the output pipe (or -1 at its end), out the last size
 * bytes written, total how many were.
 */
struct script_run {
	TAILQ_ENTRY(script_run)	 entry;
	struct parent		*p;
	struct script		*script;	/* NULL once it is gone */
	char			*id;
	uint32_t		 reqid;		/* checkd's number */
	pid_t			 pid;
	int			 fd;
	struct event		*rev;
	struct event		*timer;
	uint64_t		 timeout_ms;
	int			 timed_out;
	char			*out;
	size_t			 size;
	size_t			 len;
	uint64_t		 total;
};

RB_HEAD(script_tree, script);

static struct script_tree		 scripts = RB_INITIALIZER(&scripts);
static size_t				 nscripts;
static TAILQ_HEAD(, script_run)		 runs =
    TAILQ_HEAD_INITIALIZER(runs);
static size_t				 nruns;

static int
script_cmp(struct script *a, struct script *b)
{
	return strcmp(a->id, b->id);
}

RB_GENERATE(script_tree, script, entry, script_cmp)

static struct script *
script_find(const char *id)
{
	struct script	 key;

	key.id = (char *)id;
	return RB_FIND(script_tree, &scripts, &key);
}

static void
script_free(struct script *sc)
{
	size_t	 i;

	for (i = 0; i < sc->argc; i++)
		free(sc->argv[i]);
	free(sc->argv);
	free(sc->id);
	free(sc);
}

/* checkd, when it can be told something. */
static struct imsgev *
script_checkd(struct parent *p)
{
	struct child_proc	*cp = &p->children[PROC_CHECKD];

	if (!cp->alive || !cp->ready || cp->iev.events == 0)
		return NULL;
	return &cp->iev;
}

static void
script_send_set(struct parent *p, const struct script *sc)
{
	struct imsgev		*iev;
	struct mpack_out	 out;

	if ((iev = script_checkd(p)) == NULL)
		return;
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 6);
	mpack_kv_str(&out.pk, "id", sc->id);
	mpack_kv_uint(&out.pk, "type", CHECK_TYPE_SCRIPT);
	mpack_kv_str(&out.pk, "target", "");
	mpack_kv_uint(&out.pk, "interval_ms", sc->interval_ms);
	mpack_kv_uint(&out.pk, "timeout_ms", sc->timeout_ms);
	mpack_kv_uint(&out.pk, "output_max", sc->output_max);
	if (imsgev_compose(iev, IMSG_CHECK_SET, 0, -1, out.sbuf.data,
	    out.sbuf.size) == -1)
		fatal("script: compose");
	mpack_out_free(&out);
}

static void
script_send_del(struct parent *p, const char *id)
{
	struct imsgev		*iev;
	struct mpack_out	 out;

	if ((iev = script_checkd(p)) == NULL)
		return;
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 1);
	mpack_kv_str(&out.pk, "id", id);
	if (imsgev_compose(iev, IMSG_CHECK_DEL, 0, -1, out.sbuf.data,
	    out.sbuf.size) == -1)
		fatal("script: compose");
	mpack_out_free(&out);
}

/* checkd is ready: it learns every script check there is. */
void
script_checkd_ready(struct parent *p)
{
	struct script	*sc;

	RB_FOREACH(sc, script_tree, &scripts)
		script_send_set(p, sc);
}

/* The run of a check that changed or went: stop it, it answers alone. */
static void
script_detach(struct script *sc)
{
	struct script_run	*r = sc->run;

	if (r == NULL)
		return;
	sc->run = NULL;
	r->script = NULL;
	kill(-r->pid, SIGKILL);
	kill(r->pid, SIGKILL);
}

/* A string of at most max bytes without NUL, copied; -1 if not one. */
static int
script_str(const msgpack_object *o, size_t min, size_t max, char **out)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
	    o->via.str.size < min || o->via.str.size > max)
		return -1;
	return mpack_get_str(o, out);
}

static int
script_decode(const msgpack_object *m, struct script *sc)
{
	const msgpack_object	*a;
	uint32_t		 i;

	if (m->type != MSGPACK_OBJECT_MAP ||
	    script_str(mpack_map_get(m, "id"), 1, CHECK_ID_MAX,
	    &sc->id) == -1 ||
	    mpack_map_bool(m, "local", &sc->local) == -1 ||
	    mpack_map_uint(m, "interval_ms", &sc->interval_ms) == -1 ||
	    mpack_map_uint(m, "timeout_ms", &sc->timeout_ms) == -1 ||
	    mpack_map_uint(m, "output_max", &sc->output_max) == -1)
		return -1;
	/* What checkd insists on, so that passing it on cannot break it. */
	if (sc->interval_ms < CHECK_INTERVAL_MIN_MS || sc->timeout_ms == 0 ||
	    sc->output_max > CHECK_OUTPUT_MAX)
		return -1;
	if (sc->interval_ms > SCRIPT_TIME_MAX_MS)
		sc->interval_ms = SCRIPT_TIME_MAX_MS;
	if (sc->timeout_ms > SCRIPT_TIME_MAX_MS)
		sc->timeout_ms = SCRIPT_TIME_MAX_MS;
	if (sc->output_max == 0)
		sc->output_max = CHECK_OUTPUT_DEFAULT;
	a = mpack_map_get(m, "args");
	if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY ||
	    a->via.array.size == 0 || a->via.array.size > SCRIPT_ARGS_MAX)
		return -1;
	if ((sc->argv = calloc(a->via.array.size + 1,
	    sizeof(*sc->argv))) == NULL)
		fatal("script");
	for (i = 0; i < a->via.array.size; i++) {
		if (script_str(&a->via.array.ptr[i], 0, SCRIPT_ARG_MAX,
		    &sc->argv[i]) == -1)
			return -1;
		sc->argc++;
	}
	if (sc->argv[0][0] == '\0')
		return -1;
	return 0;
}

/* IMSG_SCRIPT_SET from raftd; -1 when malformed. */
int
script_set_msg(struct parent *p, const void *buf, size_t len)
{
	msgpack_unpacked	 u;
	struct script		*sc, *old;
	int			 rc;

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		fatal("script");
	rc = script_decode(&u.data, sc);
	msgpack_unpacked_destroy(&u);
	if (rc == -1) {
		script_free(sc);
		return -1;
	}
	if ((old = script_find(sc->id)) != NULL) {
		script_detach(old);
		RB_REMOVE(script_tree, &scripts, old);
		nscripts--;
		script_free(old);
	} else if (nscripts >= SCRIPT_CHECKS_MAX) {
		log_warnx("script: %s: already holding %d script checks, not "
		    "this one", sc->id, SCRIPT_CHECKS_MAX);
		script_free(sc);
		return 0;
	}
	RB_INSERT(script_tree, &scripts, sc);
	nscripts++;
	log_debug("script: %s: registered, %s", sc->id, sc->local ?
	    "from the configuration" : "from the API");
	script_send_set(p, sc);
	return 0;
}

/* IMSG_SCRIPT_DEL from raftd; -1 when malformed. */
int
script_del_msg(struct parent *p, const void *buf, size_t len)
{
	msgpack_unpacked	 u;
	struct script		*sc;
	char			 id[CHECK_ID_MAX + 1];

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	if (u.data.type != MSGPACK_OBJECT_MAP ||
	    mpack_copy_str(mpack_map_get(&u.data, "id"), id,
	    sizeof(id)) == -1 || id[0] == '\0') {
		msgpack_unpacked_destroy(&u);
		return -1;
	}
	msgpack_unpacked_destroy(&u);
	if ((sc = script_find(id)) == NULL)
		return 0;
	script_detach(sc);
	RB_REMOVE(script_tree, &scripts, sc);
	nscripts--;
	script_free(sc);
	script_send_del(p, id);
	return 0;
}

/* The argv the configuration in force gives check id, or NULL. */
static const struct config_strlist *
script_configured(const struct config *c, const char *id)
{
	const struct config_check	*cc;
	size_t				 i, j;

	for (i = 0; i < c->nservices; i++)
		for (j = 0; j < c->services[i].nchecks; j++) {
			cc = &c->services[i].checks[j];
			if (cc->id != NULL && strcmp(cc->id, id) == 0)
				return &cc->args;
		}
	for (i = 0; i < c->nchecks; i++) {
		cc = &c->checks[i];
		if (cc->id != NULL && strcmp(cc->id, id) == 0)
			return &cc->args;
	}
	return NULL;
}

/* NULL when the configuration in force lets sc run, else why not. */
static const char *
script_refused(const struct parent *p, const struct script *sc)
{
	const struct config		*c = p->conf;
	const struct config_strlist	*args;
	size_t				 i;

	if (!sc->local)
		return c->enable_script_checks ? NULL : "Scripts are disabled "
		    "on this agent from remote calls; to enable, configure "
		    "'enable_script_checks' to true";
	if (!c->enable_script_checks && !c->enable_local_script_checks)
		return "Scripts are disabled on this agent; to enable, "
		    "configure 'enable_script_checks' or "
		    "'enable_local_script_checks' to true";
	if ((args = script_configured(c, sc->id)) == NULL ||
	    args->n != sc->argc)
		return "script check not in the configuration files";
	for (i = 0; i < args->n; i++)
		if (strcmp(args->v[i], sc->argv[i]) != 0)
			return "script check not in the configuration files";
	return NULL;
}

static void
script_reply(struct parent *p, uint32_t reqid, const char *status,
    const char *out, size_t len)
{
	struct imsgev		*iev;
	struct mpack_out	 o;

	if ((iev = script_checkd(p)) == NULL)
		return;
	if (len > SCRIPT_RESULT_MAX)
		len = SCRIPT_RESULT_MAX;
	mpack_out_init(&o);
	msgpack_pack_map(&o.pk, 2);
	mpack_kv_str(&o.pk, "status", status);
	mpack_str(&o.pk, "output");
	msgpack_pack_str(&o.pk, len);
	msgpack_pack_str_body(&o.pk, out, len);
	if (imsgev_compose(iev, IMSG_SCRIPT_RESULT, reqid, -1, o.sbuf.data,
	    o.sbuf.size) == -1)
		fatal("script: compose");
	mpack_out_free(&o);
}

static void
script_reply_str(struct parent *p, uint32_t reqid, const char *status,
    const char *out)
{
	script_reply(p, reqid, status, out, strlen(out));
}

/*
 * The child, between fork and exec: no return.  It writes why it could
 * not exec to its output, which becomes the check's, and exits 127.
 */
static void __attribute__((noreturn))
script_child(const struct parent *p, const struct script *sc, int outfd)
{
	sigset_t	 set;
	int		 null, sig;

	/* Its own group, so that a timeout reaches all it started. */
	setpgid(0, 0);
	/* Our handlers and SIGPIPE's SIG_IGN are not the script's. */
	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	if ((null = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(null, STDIN_FILENO) == -1 ||
	    dup2(outfd, STDOUT_FILENO) == -1 ||
	    dup2(outfd, STDERR_FILENO) == -1)
		_exit(127);
	closefrom(STDERR_FILENO + 1);
	if (p->script_drop) {
		if (setgroups(1, &p->script_gid) == -1 ||
		    setresgid(p->script_gid, p->script_gid,
		    p->script_gid) == -1 ||
		    setresuid(p->script_uid, p->script_uid,
		    p->script_uid) == -1 || setuid(0) != -1 ||
		    geteuid() != p->script_uid) {
			dprintf(STDERR_FILENO, "cannot drop privileges to "
			    "%s\n", p->conf->user);
			_exit(127);
		}
	}
	if (chdir("/") == -1)
		_exit(127);
	execvp(sc->argv[0], sc->argv);
	dprintf(STDERR_FILENO, "exec %s: %s\n", sc->argv[0], strerror(errno));
	_exit(127);
}

/* Read what is there; the last r->size bytes stay.  0 at end of file. */
static int
script_read(struct script_run *r)
{
	ssize_t	 n;

	while (r->fd != -1) {
		n = read(r->fd, r->out + r->len, r->size + SCRIPT_READ_CHUNK -
		    r->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 1;
		if (n <= 0) {
			if (n == -1)
				log_warn("script: %s: read", r->id);
			event_free(r->rev);
			r->rev = NULL;
			close(r->fd);
			r->fd = -1;
			break;
		}
		r->len += n;
		r->total += n;
		if (r->len > r->size) {
			memmove(r->out, r->out + r->len - r->size, r->size);
			r->len = r->size;
		}
	}
	return 0;
}

static void
script_readable(evutil_socket_t fd, short events, void *arg)
{
	script_read(arg);
}

static void
script_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct script_run	*r = arg;

	log_warnx("script: %s: timed out, killing it", r->id);
	r->timed_out = 1;
	kill(-r->pid, SIGKILL);
	kill(r->pid, SIGKILL);
}

/* The outcome of run r, whose process ended with status. */
static void
script_finish(struct script_run *r, int status)
{
	const char	*st;
	char		 head[128], dur[DURATION_BUFSIZE], *msg;
	size_t		 hlen = 0;

	/* The head's two lines are short: the buffer holds both. */
	if (r->timed_out) {
		st = "critical";
		hlen = snprintf(head, sizeof(head), "Timed out (%s) running "
		    "check%s", duration_format((int64_t)r->timeout_ms *
		    1000000, dur, sizeof(dur)), r->len > 0 ? "\n\n" : "");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		st = "passing";
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		st = "warning";
	else
		st = "critical";
	if (r->total > r->len && hlen < sizeof(head))
		hlen += snprintf(head + hlen, sizeof(head) - hlen, "Captured "
		    "%zu of %llu bytes\n...\n", r->len,
		    (unsigned long long)r->total);
	if (hlen >= sizeof(head))
		hlen = sizeof(head) - 1;
	if ((msg = malloc(hlen + r->len + 1)) == NULL)
		fatal("script");
	memcpy(msg, head, hlen);
	if (r->len > 0)
		memcpy(msg + hlen, r->out, r->len);
	log_debug("script: %s: %s", r->id, st);
	if (r->script != NULL)
		script_reply(r->p, r->reqid, st, msg, hlen + r->len);
	free(msg);
}

static void
script_run_free(struct script_run *r)
{
	TAILQ_REMOVE(&runs, r, entry);
	nruns--;
	if (r->script != NULL)
		r->script->run = NULL;
	if (r->rev != NULL)
		event_free(r->rev);
	if (r->fd != -1)
		close(r->fd);
	if (r->timer != NULL)
		event_free(r->timer);
	free(r->out);
	free(r->id);
	free(r);
}

/*
 * pid has exited and is not reaped yet, so its process group still
 * exists: kill what is left of it, reap it, report.  0 when pid is not
 * a script's.
 */
int
script_reap(struct parent *p, pid_t pid)
{
	struct script_run	*r;
	int			 status;

	TAILQ_FOREACH(r, &runs, entry)
		if (r->pid == pid)
			break;
	if (r == NULL)
		return 0;
	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			fatal("script: waitpid");
	/*
	 * What the script wrote is in the pipe by now; what is not there
	 * yet comes from processes just killed, and is not waited for.
	 */
	(void)script_read(r);
	script_finish(r, status);
	script_run_free(r);
	return 1;
}

static void
script_start(struct parent *p, struct script *sc, uint32_t reqid)
{
	struct script_run	*r;
	struct timeval		 tv;
	sigset_t		 all, old;
	int			 pfd[2], flags;

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		log_warn("script: %s: pipe", sc->id);
		script_reply_str(p, reqid, "critical",
		    "cannot run the check: out of descriptors");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->id = strdup(sc->id)) == NULL ||
	    (r->out = malloc(sc->output_max + SCRIPT_READ_CHUNK)) == NULL)
		fatal("script");
	r->p = p;
	r->script = sc;
	r->reqid = reqid;
	r->fd = pfd[0];
	r->size = sc->output_max;
	r->timeout_ms = sc->timeout_ms;
	/*
	 * No signal may reach our handlers in the child before it has
	 * reset them: they would report it to our event loop.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	r->pid = fork();
	if (r->pid != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	switch (r->pid) {
	case -1:
		log_warn("script: %s: fork", sc->id);
		close(pfd[0]);
		close(pfd[1]);
		free(r->out);
		free(r->id);
		free(r);
		script_reply_str(p, reqid, "critical",
		    "cannot run the check: fork failed");
		return;
	case 0:
		script_child(p, sc, pfd[1]);
	}
	/* Both sides set the group, so neither waits for the other. */
	(void)setpgid(r->pid, r->pid);
	close(pfd[1]);
	if ((flags = fcntl(r->fd, F_GETFL)) == -1 ||
	    fcntl(r->fd, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("script: fcntl");
	r->rev = event_new(p->base, r->fd, EV_READ | EV_PERSIST,
	    script_readable, r);
	r->timer = evtimer_new(p->base, script_timeout, r);
	tv.tv_sec = sc->timeout_ms / 1000;
	tv.tv_usec = (sc->timeout_ms % 1000) * 1000;
	if (r->rev == NULL || r->timer == NULL ||
	    event_add(r->rev, NULL) == -1 || evtimer_add(r->timer, &tv) == -1)
		fatalx("script: cannot watch a run");
	TAILQ_INSERT_TAIL(&runs, r, entry);
	nruns++;
	sc->run = r;
	log_debug("script: %s: running %s (pid %d)", sc->id, sc->argv[0],
	    (int)r->pid);
}

/*
 * IMSG_SCRIPT_RUN from checkd; -1 when malformed.  Every other request
 * is answered, with critical and the reason when the run cannot be.
 */
int
script_run_msg(struct parent *p, uint32_t reqid, const void *buf,
    size_t len)
{
	msgpack_unpacked	 u;
	struct script		*sc;
	const char		*why;
	char			 id[CHECK_ID_MAX + 1], msg[128];

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	if (u.data.type != MSGPACK_OBJECT_MAP ||
	    mpack_copy_str(mpack_map_get(&u.data, "id"), id,
	    sizeof(id)) == -1) {
		msgpack_unpacked_destroy(&u);
		return -1;
	}
	msgpack_unpacked_destroy(&u);
	if (p->shutting_down)
		return 0;
	if ((sc = script_find(id)) == NULL) {
		/* Deleted meanwhile: checkd drops the answer. */
		script_reply_str(p, reqid, "critical",
		    "no such script check");
		return 0;
	}
	if ((why = script_refused(p, sc)) != NULL) {
		log_warnx("script: %s: not running it: %s", id, why);
		script_reply_str(p, reqid, "critical", why);
		return 0;
	}
	if (sc->run != NULL) {
		script_reply_str(p, reqid, "critical",
		    "the check's last run is still going");
		return 0;
	}
	if (nruns >= SCRIPT_RUNNING_MAX) {
		snprintf(msg, sizeof(msg), "the agent runs at most %d script "
		    "checks at once", SCRIPT_RUNNING_MAX);
		script_reply_str(p, reqid, "critical", msg);
		return 0;
	}
	script_start(p, sc, reqid);
	return 0;
}

/* At shutdown: nothing a check started outlives the agent. */
void
script_kill_all(void)
{
	struct script_run	*r;

	TAILQ_FOREACH(r, &runs, entry) {
		kill(-r->pid, SIGKILL);
		kill(r->pid, SIGKILL);
	}
}
