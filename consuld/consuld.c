/*
 * consuld, the parent process.  It reads the configuration, opens every
 * listening socket, prepares data_dir, starts the five children with
 * their descriptors and channels, relays SIGHUP as a reload (reload.c)
 * and SIGTERM or SIGINT as a clean shutdown, after a graceful leave of
 * the cluster when the configuration asks for one, and runs script
 * checks (script.c).  When any child dies the parent
 * says which and why and takes the suite down: nothing is left
 * half-alive, and the service manager restarts the whole.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <ftw.h>
#include <ifaddrs.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "consuld.h"
#include "log.h"
#include "version.h"

/* Children that ignore SIGTERM this long are killed. */
#define SHUTDOWN_GRACE_SEC	5
/* A leave on a signal: gossipd's 5 s leave timeout and a margin. */
#define LEAVE_TIMEOUT_SEC	6
/* After a leave asked through the API: time for apid to answer it. */
#define LEFT_DELAY_MSEC		300

static struct parent	 parent;

static void
configtest_report(int warning, const char *msg)
{
	fprintf(stderr, "%s%s\n", warning ? "warning: " : "", msg);
}

/* Files and directories in command-line order, then the flags. */
struct config *
parent_load_config(const struct options *o)
{
	struct config	*conf;
	size_t		 i;
	int		 rc = 0;

	if ((conf = config_new(o->dev)) == NULL)
		return NULL;
	for (i = 0; i < o->nsources && rc == 0; i++) {
		if (o->sources[i].kind == SOURCE_FILE)
			rc = config_load_file(conf, o->sources[i].path);
		else
			rc = config_load_dir(conf, o->sources[i].path);
	}
	for (i = 0; i < o->nsettings && rc == 0; i++)
		rc = config_set(conf, o->settings[i].key, o->settings[i].value,
		    o->settings[i].origin);
	if (rc == 0)
		rc = config_finalize(conf);
	if (rc != 0) {
		config_free(conf);
		return NULL;
	}
	return conf;
}

/* A private IPv4 address of this host, as Consul picks for 0.0.0.0. */
static char *
private_ipv4(void)
{
	struct ifaddrs		*ifa, *i;
	struct sockaddr_in	*sin;
	char			 buf[INET_ADDRSTRLEN], *found = NULL;
	uint32_t		 a;
	int			 n = 0;

	if (getifaddrs(&ifa) == -1)
		fatal("getifaddrs");
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		sin = (struct sockaddr_in *)i->ifa_addr;
		a = ntohl(sin->sin_addr.s_addr);
		if ((a >> 24) != 10 && (a >> 20) != 0xac1 &&
		    (a >> 16) != 0xc0a8 && (a >> 22) != 0x191)
			continue;	/* 10/8 172.16/12 192.168/16 100.64/10 */
		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		if (found != NULL && strcmp(found, buf) == 0)
			continue;
		n++;
		free(found);
		if ((found = strdup(buf)) == NULL)
			fatal(NULL);
	}
	freeifaddrs(ifa);
	if (n > 1)
		fatalx("config: multiple private IPv4 addresses found; "
		    "configure one with \"bind_addr\" or \"advertise_addr\"");
	if (n == 0)
		fatalx("config: no private IPv4 address found; "
		    "configure \"bind_addr\" or \"advertise_addr\"");
	return found;
}

/* What the parent fills in before a config goes to the children. */
void
parent_complete_config(struct parent *p, struct config *conf)
{
	char	*abs;

	if (p->dev_dir != NULL) {
		free(conf->data_dir);
		if ((conf->data_dir = strdup(p->dev_dir)) == NULL)
			fatal(NULL);
	} else if (conf->data_dir != NULL && conf->data_dir[0] != '/') {
		abs = absolute_path(conf->data_dir);
		free(conf->data_dir);
		conf->data_dir = abs;
	}
	if (conf->pid_file != NULL && conf->pid_file[0] != '\0' &&
	    conf->pid_file[0] != '/') {
		abs = absolute_path(conf->pid_file);
		free(conf->pid_file);
		conf->pid_file = abs;
	}
	if (conf->advertise_addr == NULL || conf->advertise_addr[0] == '\0') {
		free(conf->advertise_addr);
		if (strcmp(conf->bind_addr, "0.0.0.0") == 0 ||
		    strcmp(conf->bind_addr, "::") == 0)
			conf->advertise_addr = private_ipv4();
		else if ((conf->advertise_addr = strdup(conf->bind_addr)) ==
		    NULL)
			fatal(NULL);
	}
	resolve_joins(conf);
}

static int
remove_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	if (remove(path) == -1)
		log_warn("agent: remove %s", path);
	return 0;
}

static void
prepare_dirs(struct parent *p, struct passwd *pw)
{
	struct stat	 sb;
	struct dirent	*de;
	DIR		*d;
	char		 tmpl[] = "/tmp/consuld-dev.XXXXXX";
	const char	*dir;

	if (p->opts.dev) {
		if (mkdtemp(tmpl) == NULL)
			fatal("agent: mkdtemp");
		if ((p->dev_dir = strdup(tmpl)) == NULL)
			fatal(NULL);
		if (pw != NULL && chown(tmpl, pw->pw_uid, pw->pw_gid) == -1)
			fatal("agent: chown %s", tmpl);
		log_info("agent: dev mode, data in %s (removed at exit)",
		    tmpl);
	}

	dir = p->dev_dir ? p->dev_dir : p->conf->data_dir;
	if (stat(dir, &sb) == -1) {
		if (errno != ENOENT)
			fatal("agent: data_dir %s", dir);
		if (mkdir(dir, 0700) == -1)
			fatal("agent: mkdir %s", dir);
		if (pw != NULL && chown(dir, pw->pw_uid, pw->pw_gid) == -1)
			fatal("agent: chown %s", dir);
		log_info("agent: created data_dir %s", dir);
	} else if (!S_ISDIR(sb.st_mode))
		fatalx("agent: data_dir %s is not a directory", dir);
	else if (pw != NULL && sb.st_uid != pw->pw_uid)
		fatalx("agent: data_dir %s belongs to uid %u, not to %s "
		    "(chown -R %s %s)", dir, (unsigned)sb.st_uid, pw->pw_name,
		    pw->pw_name, dir);

	if (pw == NULL)
		return;
	/* The empty root of the children that need no files. */
	if (mkdir("/run/consuld", 0755) == -1 && errno != EEXIST)
		fatal("agent: mkdir /run/consuld");
	if (mkdir(PROC_EMPTY_DIR, 0755) == -1 && errno != EEXIST)
		fatal("agent: mkdir %s", PROC_EMPTY_DIR);
	if (stat(PROC_EMPTY_DIR, &sb) == -1)
		fatal("agent: %s", PROC_EMPTY_DIR);
	if (sb.st_uid != 0 || (sb.st_mode & 022) != 0)
		fatalx("agent: %s must belong to root and not be "
		    "writable by others", PROC_EMPTY_DIR);
	if ((d = opendir(PROC_EMPTY_DIR)) == NULL)
		fatal("agent: %s", PROC_EMPTY_DIR);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			fatalx("agent: %s is not empty", PROC_EMPTY_DIR);
	closedir(d);
}

static void
write_pid_file(const char *path)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		fatal("agent: pid_file %s", path);
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) == EOF)
		fatal("agent: pid_file %s", path);
}

static void
print_banner(struct config *c)
{
	fprintf(stderr, "==> Starting Consul agent...\n"
	    "               Version: '%s'\n"
	    "             Node name: '%s'\n"
	    "            Datacenter: '%s' (Segment: '%s')\n"
	    "                Server: %s (Bootstrap: %s)\n"
	    "           Client Addr: [%s] (HTTP: %d, HTTPS: %d, DNS: %d)\n"
	    "          Cluster Addr: %s (LAN: %d, WAN: %d)\n\n"
	    "==> Log data will now stream in as it occurs:\n\n",
	    CONSULD_VERSION, c->node_name, c->datacenter,
	    c->server ? "<all>" : "", c->server ? "true" : "false",
	    c->bootstrap ? "true" : "false", c->client_addr, c->ports.http,
	    c->ports.https, c->ports.dns, c->advertise_addr,
	    c->ports.serf_lan, c->ports.serf_wan);
}

void
parent_child_ready(struct parent *p)
{
	int	 i;

	for (i = 1; i < PROC_MAX; i++)
		if (!p->children[i].ready)
			return;
	log_info("agent: running: node %s, datacenter %s, %s",
	    p->conf->node_name, p->conf->datacenter,
	    p->conf->server ? "server" : "client");
	sd_notify_state("READY=1");
}

static void
kill_stragglers(evutil_socket_t fd, short events, void *arg)
{
	struct parent	*p = arg;

	log_warnx("agent: children still running after %d seconds, "
	    "killing them", SHUTDOWN_GRACE_SEC);
	children_signal(p, SIGKILL);
}

void
parent_shutdown(struct parent *p, int code)
{
	struct timeval	 tv = { SHUTDOWN_GRACE_SEC, 0 };

	if (code > p->exit_code)
		p->exit_code = code;
	if (p->shutting_down)
		return;
	p->shutting_down = 1;
	if (p->leavetimer != NULL)
		evtimer_del(p->leavetimer);
	sd_notify_state("STOPPING=1");
	children_signal(p, SIGTERM);
	p->killtimer = evtimer_new(p->base, kill_stragglers, p);
	if (p->killtimer == NULL || evtimer_add(p->killtimer, &tv) == -1)
		fatalx("agent: evtimer");
	if (!children_alive(p))
		event_base_loopbreak(p->base);
}

static void
leave_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct parent	*p = arg;

	if (p->leave == LEAVE_ASKED)
		log_warnx("agent: leave not complete after %d seconds, "
		    "shutting down", LEAVE_TIMEOUT_SEC);
	parent_shutdown(p, 0);
}

static void
leave_timer_arm(struct parent *p, const struct timeval *tv)
{
	if (p->leavetimer == NULL &&
	    (p->leavetimer = evtimer_new(p->base, leave_timeout, p)) == NULL)
		fatalx("agent: evtimer");
	if (evtimer_add(p->leavetimer, tv) == -1)
		fatalx("agent: evtimer");
}

/*
 * gossipd left every pool, on our signal or on PUT /v1/agent/leave:
 * the agent's work is over.  After the API's leave apid still has to
 * answer the request, so the shutdown waits a little.
 */
void
parent_left(struct parent *p)
{
	struct timeval	 tv = { 0, LEFT_DELAY_MSEC * 1000 };

	if (p->shutting_down || p->leave == LEAVE_DONE)
		return;
	log_info("agent: graceful leave complete, shutting down");
	if (p->leave == LEAVE_ASKED) {
		parent_shutdown(p, 0);
		return;
	}
	p->leave = LEAVE_DONE;
	leave_timer_arm(p, &tv);
}

/*
 * SIGTERM leaves the cluster first with leave_on_terminate, SIGINT
 * unless skip_leave_on_interrupt (config_finalize() gave both Consul's
 * defaults for servers and clients).  A second signal does not wait.
 */
static void
parent_terminate(struct parent *p, int sig)
{
	struct timeval	 tv = { LEAVE_TIMEOUT_SEC, 0 };
	const char	*name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
	int		 leave;

	if (p->shutting_down)
		return;
	leave = sig == SIGTERM ? p->conf->leave_on_terminate :
	    !p->conf->skip_leave_on_interrupt;
	if (p->leave == LEAVE_NONE && leave && children_send_leave(p) == 0) {
		log_info("agent: %s, leaving the cluster", name);
		p->leave = LEAVE_ASKED;
		leave_timer_arm(p, &tv);
		return;
	}
	log_info("agent: %s, shutting down", name);
	parent_shutdown(p, 0);
}

static void
parent_signal(evutil_socket_t sig, short events, void *arg)
{
	struct parent	*p = arg;

	switch (sig) {
	case SIGHUP:
		if (!p->shutting_down)
			(void)parent_reload(p, "SIGHUP", NULL, 0);
		break;
	case SIGTERM:
	case SIGINT:
		parent_terminate(p, sig);
		break;
	case SIGCHLD:
		children_reap(p);
		break;
	}
}

int
main(int argc, char *argv[])
{
	struct parent	*p = &parent;
	struct passwd	*pw = NULL;
	struct event	*sigev[4];
	const int	 sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD };
	const char	*path;
	char		 tlserr[1024];
	size_t		 i;

	flags_parse(&p->opts, argc, argv);
	log_init(LOG_DEST_STDERR, "consuld");

	if (p->opts.configtest) {
		config_set_reporter(configtest_report);
		if ((p->conf = parent_load_config(&p->opts)) == NULL)
			exit(1);
		if (tls_material_read(p->conf, &p->tls, tlserr,
		    sizeof(tlserr)) == -1) {
			fprintf(stderr, "config: %s\n", tlserr);
			exit(1);
		}
		tls_material_clear(&p->tls);
		fprintf(stderr, "configuration OK\n");
		config_free(p->conf);
		exit(0);
	}
	if ((p->conf = parent_load_config(&p->opts)) == NULL)
		errx(1, "configuration has errors, nothing started");
	/* Read as root, before any child exists or chroots. */
	if (tls_material_read(p->conf, &p->tls, tlserr, sizeof(tlserr)) == -1)
		errx(1, "config: %s; nothing started", tlserr);
	log_setlevel(p->conf->log_level);

	for (i = PROC_RAFTD; i < PROC_MAX; i++) {
		path = children_path(proc_names[i]);
		if (access(path, X_OK) == -1)
			err(1, "%s", path);
	}
	if (geteuid() == 0) {
		if ((pw = getpwnam(p->conf->user)) == NULL)
			errx(1, "user %s does not exist: create it (make "
			    "install does) or set \"user\"", p->conf->user);
		/* Script checks run as the children do. */
		p->script_drop = 1;
		p->script_uid = pw->pw_uid;
		p->script_gid = pw->pw_gid;
	} else
		log_warnx("agent: not running as root: children run "
		    "without chroot and privilege drop, seccomp still on");

	prepare_dirs(p, pw);
	parent_complete_config(p, p->conf);
	listeners_open(p);

	if (!p->opts.foreground) {
		if (daemon(0, 0) == -1)
			fatal("agent: daemon");
		log_init(LOG_DEST_SYSLOG, "consuld");
	} else
		print_banner(p->conf);
	if (p->conf->pid_file != NULL && p->conf->pid_file[0] != '\0')
		write_pid_file(p->conf->pid_file);

	signal(SIGPIPE, SIG_IGN);
	if ((p->base = event_base_new()) == NULL)
		fatalx("agent: event_base_new failed");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigev[i] = evsignal_new(p->base, sigs[i], parent_signal, p);
		if (sigev[i] == NULL || event_add(sigev[i], NULL) == -1)
			fatalx("agent: cannot watch signal %d", sigs[i]);
	}

	children_start(p);
	event_base_dispatch(p->base);

	listeners_close(p);
	if (p->dev_dir != NULL)
		nftw(p->dev_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (p->conf->pid_file != NULL && p->conf->pid_file[0] != '\0')
		unlink(p->conf->pid_file);
	log_info("agent: stopped");
	exit(p->exit_code);
}
