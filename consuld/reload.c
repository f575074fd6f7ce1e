/*
 * Reloading the configuration, on SIGHUP or PUT /v1/agent/reload: the
 * parent reads the same files, directories and flags again and, if they
 * are free of errors, keeps what cannot change under a running suite
 * and sends the new configuration to every child.  Each child says when
 * it has applied it (IMSG_CTL_RELOAD_DONE); the API's request is
 * answered only then, so that what the new files register is in place
 * when the caller looks.  A configuration with errors keeps the running
 * one, and the request is answered at once with the first error.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "consuld.h"
#include "log.h"
#include "mpack.h"

/* API reloads waiting for the children at once; more are refused. */
#define RELOAD_WAIT_MAX		64

struct reload_wait {
	TAILQ_ENTRY(reload_wait) entry;
	uint32_t		 reqid;		/* apid's request */
	uint64_t		 want[PROC_MAX];	/* reloads_done */
};

static TAILQ_HEAD(, reload_wait) waits = TAILQ_HEAD_INITIALIZER(waits);
static size_t			 nwaits;

/* The first error of the configuration being read, for the API. */
static char			 reload_error[512];

static void
reload_report(int warning, const char *msg)
{
	if (warning) {
		log_warnx("%s", msg);
		return;
	}
	log_errorx("%s", msg);
	if (reload_error[0] == '\0')
		strlcpy(reload_error, msg, sizeof(reload_error));
}

static void
keep_str(char **new, char *const *old, const char *key)
{
	if ((*new == NULL) == (*old == NULL) &&
	    (*new == NULL || strcmp(*new, *old) == 0))
		return;
	log_warnx("agent: reload: \"%s\" changed, it takes effect after a "
	    "restart", key);
	free(*new);
	*new = NULL;
	if (*old != NULL && (*new = strdup(*old)) == NULL)
		fatal(NULL);
}

static void
keep_int(int *new, const int *old, const char *key)
{
	if (*new == *old)
		return;
	log_warnx("agent: reload: \"%s\" changed, it takes effect after a "
	    "restart", key);
	*new = *old;
}

/*
 * What the sockets, the sandbox and the identity were built from cannot
 * change under a running suite: a reload keeps the running values, and
 * says so, rather than report settings that are not in force.
 */
static void
keep_restart_only(struct config *new, const struct config *old)
{
	keep_str(&new->datacenter, &old->datacenter, "datacenter");
	keep_str(&new->node_name, &old->node_name, "node_name");
	keep_str(&new->node_id, &old->node_id, "node_id");
	keep_str(&new->data_dir, &old->data_dir, "data_dir");
	keep_str(&new->user, &old->user, "user");
	keep_str(&new->pid_file, &old->pid_file, "pid_file");
	keep_str(&new->bind_addr, &old->bind_addr, "bind_addr");
	keep_str(&new->client_addr, &old->client_addr, "client_addr");
	keep_str(&new->advertise_addr, &old->advertise_addr,
	    "advertise_addr");
	keep_str(&new->addresses.http, &old->addresses.http,
	    "addresses.http");
	keep_str(&new->addresses.dns, &old->addresses.dns, "addresses.dns");
	keep_str(&new->addresses.https, &old->addresses.https,
	    "addresses.https");
	keep_int(&new->server, &old->server, "server");
	keep_int(&new->bootstrap, &old->bootstrap, "bootstrap");
	keep_int(&new->bootstrap_expect, &old->bootstrap_expect,
	    "bootstrap_expect");
	keep_int(&new->ports.http, &old->ports.http, "ports.http");
	keep_int(&new->ports.dns, &old->ports.dns, "ports.dns");
	keep_int(&new->ports.https, &old->ports.https, "ports.https");
	keep_int(&new->ports.serf_lan, &old->ports.serf_lan,
	    "ports.serf_lan");
	keep_int(&new->ports.serf_wan, &old->ports.serf_wan,
	    "ports.serf_wan");
	keep_int(&new->ports.server, &old->ports.server, "ports.server");
}

/*
 * New certificates and keys take effect for new connections; a file
 * that cannot be used keeps the material in use, and the log says why.
 */
static void
reload_tls(struct parent *p, struct config *conf)
{
	struct tls_material	 m;
	char			 err[1024];

	if (tls_material_read(conf, &m, err, sizeof(err)) == -1) {
		log_warnx("tls: reload: %s; keeping the certificates in use",
		    err);
		return;
	}
	tls_material_clear(&p->tls);
	p->tls = m;
}

/*
 * Read the configuration again (why: what asked, for the log) and send
 * it to the children.  -1 when it has errors; err, if not NULL, then
 * says the first.
 */
int
parent_reload(struct parent *p, const char *why, char *err, size_t errlen)
{
	struct config	*conf;

	log_info("agent: %s, reloading configuration", why);
	sd_notify_state("RELOADING=1");
	reload_error[0] = '\0';
	config_set_reporter(reload_report);
	conf = parent_load_config(&p->opts);
	config_set_reporter(NULL);
	if (conf == NULL) {
		log_warnx("agent: reload failed, keeping the running "
		    "configuration");
		if (err != NULL)
			snprintf(err, errlen, "Failed to reload configs: %s",
			    reload_error[0] != '\0' ? reload_error :
			    "the configuration has errors");
		sd_notify_state("READY=1");
		return -1;
	}
	parent_complete_config(p, conf);
	keep_restart_only(conf, p->conf);
	reload_tls(p, conf);
	config_free(p->conf);
	p->conf = conf;
	log_setlevel(conf->log_level);
	children_send_reload(p);
	sd_notify_state("READY=1");
	return 0;
}

static void
reload_answer(struct parent *p, uint32_t reqid, const char *error)
{
	struct child_proc	*cp = &p->children[PROC_APID];
	struct mpack_out	 out;

	if (!cp->alive || cp->iev.events == 0)
		return;
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 1);
	mpack_kv_str(&out.pk, "error", error);
	if (imsgev_compose(&cp->iev, IMSG_AGENT_RELOADED, reqid, -1,
	    out.sbuf.data, out.sbuf.size) == -1)
		fatal("reload: compose");
	mpack_out_free(&out);
}

/* Answer the requests whose reload every living child has applied. */
static void
reload_check(struct parent *p)
{
	struct reload_wait	*w, *next;
	struct child_proc	*cp;
	int			 i, done;

	for (w = TAILQ_FIRST(&waits); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		done = 1;
		for (i = 1; i < PROC_MAX; i++) {
			cp = &p->children[i];
			if (cp->alive && cp->iev.events != 0 &&
			    cp->reloads_done < w->want[i])
				done = 0;
		}
		if (!done)
			continue;
		reload_answer(p, w->reqid, "");
		TAILQ_REMOVE(&waits, w, entry);
		nwaits--;
		free(w);
	}
}

/* IMSG_AGENT_RELOAD from apid: PUT /v1/agent/reload. */
void
reload_request(struct parent *p, uint32_t reqid)
{
	struct reload_wait	*w;
	char			 err[640];
	int			 i;

	if (p->shutting_down) {
		reload_answer(p, reqid, "Agent is shutting down");
		return;
	}
	/* A child still starting must not get a reload before its start. */
	for (i = 1; i < PROC_MAX; i++)
		if (!p->children[i].ready) {
			reload_answer(p, reqid, "Agent is still starting");
			return;
		}
	if (nwaits >= RELOAD_WAIT_MAX) {
		reload_answer(p, reqid, "Too many reloads in progress");
		return;
	}
	if (parent_reload(p, "reload through the API", err,
	    sizeof(err)) == -1) {
		reload_answer(p, reqid, err);
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal(NULL);
	w->reqid = reqid;
	for (i = 1; i < PROC_MAX; i++)
		w->want[i] = p->children[i].reloads_sent;
	TAILQ_INSERT_TAIL(&waits, w, entry);
	nwaits++;
}

/* IMSG_CTL_RELOAD_DONE from cp; -1 if it had no reload to apply. */
int
reload_done(struct parent *p, struct child_proc *cp)
{
	if (cp->reloads_done >= cp->reloads_sent)
		return -1;
	cp->reloads_done++;
	reload_check(p);
	return 0;
}
