/*
 * The agent's local state, as Consul's agent keeps it: the services and
 * checks of this node, from the configuration and from
 * /v1/agent/service/register and /v1/agent/check/register, with the
 * status of each check as this agent sees it.  API-registered ones are
 * kept in data_dir/agent/local.state (rewritten whole, atomically, on a
 * change), so a restart keeps them; configured ones come back from the
 * configuration.  antientropy.c makes the catalog say the same.
 *
 * Where status comes from: TTL checks from pass/warn/fail/update (and
 * go critical when not updated within their TTL); http, tcp and script
 * checks from checkd's probes (script checks are registered with the
 * parent, which execs them when checkd says they are due), through
 * success_before_passing and failures_before_warning/critical; a
 * reload makes the configured ones those of the new files; maintenance
 * checks are critical
 * while set.  A service whose check stayed critical for longer than its
 * deregister_critical_service_after is deregistered.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl_codec.h"
#include "acl_rules.h"
#include "agent_codec.h"
#include "check_proto.h"
#include "config.h"
#include "duration.h"
#include "fdio.h"
#include "log.h"
#include "raftd.h"

#define LOCAL_DIR		"agent"
#define LOCAL_FILE		LOCAL_DIR "/local.state"
#define LOCAL_FILE_MAX		(16 * 1024 * 1024)
#define LOCAL_SERVICES_MAX	4096
#define LOCAL_CHECKS_MAX	8192
#define NODE_MAINT_ID		"_node_maintenance"
#define SVC_MAINT_PREFIX	"_service_maintenance:"

struct local_svc {
	TAILQ_ENTRY(local_svc)	 entry;
	struct agent_service	 a;
	char			*token;		/* registered with, or NULL */
};

struct local_chk {
	TAILQ_ENTRY(local_chk)	 entry;
	struct agent_check	 a;
	struct event		*ttl_ev;
	int64_t			 successes;
	int64_t			 failures;
	uint64_t		 critical_since;	/* node_now_ms(), 0 */
	char			*token;		/* registered with, or NULL */
};

static TAILQ_HEAD(, local_svc)	 lsvcs = TAILQ_HEAD_INITIALIZER(lsvcs);
static TAILQ_HEAD(, local_chk)	 lchks = TAILQ_HEAD_INITIALIZER(lchks);
static size_t			 nlsvcs, nlchks;
static uint64_t			 local_version;	/* bumped on any change */

static void	local_changed(int);

static void
token_free(char **t)
{
	if (*t != NULL)
		freezero(*t, strlen(*t));
	*t = NULL;
}

/* "" (the anonymous token or no token) is kept as NULL. */
static void
token_set(char **t, const char *v)
{
	token_free(t);
	if (v != NULL && *v != '\0' && (*t = strdup(v)) == NULL)
		fatal("local");
}

uint64_t
local_state_version(void)
{
	return local_version;
}

static struct local_svc *
svc_find(const char *id)
{
	struct local_svc	*s;

	TAILQ_FOREACH(s, &lsvcs, entry)
		if (strcmp(s->a.s.id, id) == 0)
			return s;
	return NULL;
}

static struct local_chk *
chk_find(const char *id)
{
	struct local_chk	*c;

	TAILQ_FOREACH(c, &lchks, entry)
		if (strcmp(c->a.c.check_id, id) == 0)
			return c;
	return NULL;
}

/* The token a service or check was registered with, or NULL. */
const char *
local_service_token(const char *id)
{
	struct local_svc	*s = svc_find(id);

	return s != NULL ? s->token : NULL;
}

const char *
local_check_token(const char *id)
{
	struct local_chk	*c = chk_find(id);

	return c != NULL ? c->token : NULL;
}

/* Walks for antientropy.c and the agent endpoints. */
void
local_services(void (*fn)(void *, const struct agent_service *), void *arg)
{
	struct local_svc	*s;

	TAILQ_FOREACH(s, &lsvcs, entry)
		fn(arg, &s->a);
}

void
local_checks(void (*fn)(void *, const struct agent_check *), void *arg)
{
	struct local_chk	*c;

	TAILQ_FOREACH(c, &lchks, entry)
		fn(arg, &c->a);
}

static int
replace_str(char **dst, const char *src)
{
	char	*n = NULL;

	if (src != NULL && (n = strdup(src)) == NULL)
		fatal("local");
	free(*dst);
	*dst = n;
	return 0;
}

/* Set a check's status and output; 1 if that changed anything. */
static int
chk_set(struct local_chk *c, const char *status, const char *output)
{
	int	 changed;

	changed = strcmp(c->a.c.status, status) != 0 ||
	    strcmp(c->a.c.output != NULL ? c->a.c.output : "",
	    output != NULL ? output : "") != 0;
	if (strcmp(c->a.c.status, status) != 0)
		c->critical_since = strcmp(status, CAT_CRITICAL) == 0 ?
		    node_now_ms() : 0;
	replace_str(&c->a.c.status, status);
	replace_str(&c->a.c.output, output);
	return changed;
}

#define TTL_EXPIRED	"TTL expired"

static char	*xstrdup(const char *);

static void
ttl_expired(evutil_socket_t fd, short events, void *arg)
{
	struct local_chk	*c = arg;
	const char		*last = c->a.c.output;
	char			*out;

	/* Consul's text, with the last output the check was given. */
	if (last == NULL || *last == '\0')
		out = xstrdup(TTL_EXPIRED);
	else if (strncmp(last, TTL_EXPIRED, strlen(TTL_EXPIRED)) == 0)
		out = xstrdup(last);	/* expired before a restart */
	else if (asprintf(&out, "%s (last output before timeout follows): "
	    "%.*s", TTL_EXPIRED, CAT_OUTPUT_MAX - 64, last) == -1)
		fatal("local");
	if (chk_set(c, CAT_CRITICAL, out)) {
		log_info("local: check %s: TTL expired", c->a.c.check_id);
		local_changed(0);
	}
	free(out);
}

static void
ttl_arm(struct local_chk *c)
{
	struct timeval	 tv;

	if (c->a.kind != AGENT_CHECK_TTL || c->a.ttl_ms <= 0)
		return;
	if (c->ttl_ev == NULL && (c->ttl_ev = evtimer_new(raftd_child.base,
	    ttl_expired, c)) == NULL)
		fatalx("local: evtimer");
	tv.tv_sec = c->a.ttl_ms / 1000;
	tv.tv_usec = (c->a.ttl_ms % 1000) * 1000;
	if (evtimer_add(c->ttl_ev, &tv) == -1)
		fatalx("local: evtimer_add");
}

/* The bytes of output a check keeps: check_output_max_size. */
static uint64_t
output_max(void)
{
	int	 n = raftd_child.conf->check_output_max_size;

	if (n <= 0)
		return CHECK_OUTPUT_DEFAULT;
	return n > CHECK_OUTPUT_MAX ? CHECK_OUTPUT_MAX : (uint64_t)n;
}

/*
 * A script check goes to the parent, the only process that may exec;
 * it has checkd schedule it and runs it when checkd says it is due.
 * Consul raises a script check's interval to at least a second.
 */
static void
parent_script_set(const struct local_chk *c)
{
	struct mpack_out	 out;
	size_t			 i;

	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 6);
	mpack_kv_str(&out.pk, "id", c->a.c.check_id);
	mpack_str(&out.pk, "args");
	msgpack_pack_array(&out.pk, c->a.nargs);
	for (i = 0; i < c->a.nargs; i++)
		mpack_str(&out.pk, c->a.args[i]);
	mpack_kv_bool(&out.pk, "local", c->a.from_config);
	mpack_kv_uint(&out.pk, "interval_ms", c->a.interval_ms < 1000 ?
	    1000 : c->a.interval_ms);
	mpack_kv_uint(&out.pk, "timeout_ms", c->a.timeout_ms > 0 ?
	    c->a.timeout_ms : CHECK_TIMEOUT_DEFAULT_MS);
	mpack_kv_uint(&out.pk, "output_max", output_max());
	if (imsgev_compose(&raftd_child.parent, IMSG_SCRIPT_SET, 0, -1,
	    out.sbuf.data, out.sbuf.size) == -1)
		fatal("local: compose");
	mpack_out_free(&out);
}

/* Tell checkd (or the parent, for scripts) to run a check. */
static void
checkd_set(const struct local_chk *c)
{
	struct mpack_out	 out;
	size_t			 i;

	if (c->a.kind == AGENT_CHECK_SCRIPT) {
		parent_script_set(c);
		return;
	}
	if (c->a.kind != AGENT_CHECK_HTTP && c->a.kind != AGENT_CHECK_TCP)
		return;
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 10);
	mpack_kv_str(&out.pk, "id", c->a.c.check_id);
	mpack_kv_uint(&out.pk, "type", c->a.kind == AGENT_CHECK_HTTP ?
	    CHECK_TYPE_HTTP : CHECK_TYPE_TCP);
	mpack_kv_str(&out.pk, "target", c->a.kind == AGENT_CHECK_HTTP ?
	    c->a.c.http : c->a.c.tcp);
	mpack_kv_str(&out.pk, "method", c->a.method != NULL ? c->a.method :
	    "");
	mpack_str(&out.pk, "headers");
	msgpack_pack_array(&out.pk, c->a.nheaders);
	for (i = 0; i < c->a.nheaders; i++) {
		msgpack_pack_array(&out.pk, 2);
		mpack_str(&out.pk, c->a.headers[i].key);
		mpack_str(&out.pk, c->a.headers[i].value);
	}
	mpack_str(&out.pk, "body");
	mpack_str(&out.pk, c->a.body);
	mpack_kv_bool(&out.pk, "tls_skip_verify", c->a.tls_skip_verify);
	mpack_kv_uint(&out.pk, "interval_ms", c->a.interval_ms <
	    CHECK_INTERVAL_MIN_MS ? CHECK_INTERVAL_MIN_MS : c->a.interval_ms);
	mpack_kv_uint(&out.pk, "timeout_ms", c->a.timeout_ms > 0 ?
	    c->a.timeout_ms : CHECK_TIMEOUT_DEFAULT_MS);
	mpack_kv_uint(&out.pk, "output_max", output_max());
	if (imsgev_compose(&raftd_child.peers[PROC_CHECKD], IMSG_CHECK_SET, 0,
	    -1, out.sbuf.data, out.sbuf.size) == -1)
		fatal("local: compose");
	mpack_out_free(&out);
}

static void
checkd_del(const struct local_chk *c)
{
	struct mpack_out	 out;
	int			 script = c->a.kind == AGENT_CHECK_SCRIPT;

	if (!script && c->a.kind != AGENT_CHECK_HTTP &&
	    c->a.kind != AGENT_CHECK_TCP)
		return;
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 1);
	mpack_kv_str(&out.pk, "id", c->a.c.check_id);
	if (imsgev_compose(script ? &raftd_child.parent :
	    &raftd_child.peers[PROC_CHECKD], script ? IMSG_SCRIPT_DEL :
	    IMSG_CHECK_DEL, 0, -1, out.sbuf.data, out.sbuf.size) == -1)
		fatal("local: compose");
	mpack_out_free(&out);
}

static void
chk_free(struct local_chk *c)
{
	TAILQ_REMOVE(&lchks, c, entry);
	nlchks--;
	checkd_del(c);
	if (c->ttl_ev != NULL)
		event_free(c->ttl_ev);
	agent_check_free(&c->a);
	token_free(&c->token);
	free(c);
}

/* Takes a; the check replaces one of the same id (status kept). */
static void
chk_add(struct agent_check *a)
{
	struct local_chk	*c, *old;

	if ((old = chk_find(a->c.check_id)) != NULL) {
		/* As Consul: a re-registered check keeps its status. */
		if (old->a.kind == a->kind && a->kind != AGENT_CHECK_MAINT) {
			replace_str(&a->c.status, old->a.c.status);
			replace_str(&a->c.output, old->a.c.output);
		}
		chk_free(old);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("local");
	c->a = *a;
	memset(a, 0, sizeof(*a));
	if (strcmp(c->a.c.status, CAT_CRITICAL) == 0)
		c->critical_since = node_now_ms();
	TAILQ_INSERT_TAIL(&lchks, c, entry);
	nlchks++;
	ttl_arm(c);
	checkd_set(c);
}

static void
svc_free(struct local_svc *s)
{
	TAILQ_REMOVE(&lsvcs, s, entry);
	nlsvcs--;
	agent_service_free(&s->a);
	token_free(&s->token);
	free(s);
}

/* Remove a service with its checks. */
static void
svc_remove(struct local_svc *s)
{
	struct local_chk	*c, *next;

	for (c = TAILQ_FIRST(&lchks); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->a.c.service_id != NULL &&
		    strcmp(c->a.c.service_id, s->a.s.id) == 0)
			chk_free(c);
	}
	svc_free(s);
}

/* Persistence of what the API registered. */

static void
local_save(void)
{
	struct mpack_out	 out;
	struct local_svc	*s;
	struct local_chk	*c;
	size_t			 n;
	char			 tmp[] = LOCAL_FILE ".tmp";
	int			 fd, dfd;

	if (mkdir(LOCAL_DIR, 0700) == -1 && errno != EEXIST) {
		log_warn("local: mkdir %s", LOCAL_DIR);
		return;
	}
	mpack_out_init(&out);
	/* [services, checks, {service ID: token}, {check ID: token}] */
	msgpack_pack_array(&out.pk, 4);
	n = 0;
	TAILQ_FOREACH(s, &lsvcs, entry)
		n += !s->a.from_config;
	msgpack_pack_array(&out.pk, n);
	TAILQ_FOREACH(s, &lsvcs, entry)
		if (!s->a.from_config)
			agent_service_pack(&out.pk, &s->a);
	n = 0;
	TAILQ_FOREACH(c, &lchks, entry)
		n += !c->a.from_config;
	msgpack_pack_array(&out.pk, n);
	TAILQ_FOREACH(c, &lchks, entry)
		if (!c->a.from_config)
			agent_check_pack(&out.pk, &c->a);
	n = 0;
	TAILQ_FOREACH(s, &lsvcs, entry)
		n += s->token != NULL;
	msgpack_pack_map(&out.pk, n);
	TAILQ_FOREACH(s, &lsvcs, entry)
		if (s->token != NULL) {
			mpack_str(&out.pk, s->a.s.id);
			mpack_str(&out.pk, s->token);
		}
	n = 0;
	TAILQ_FOREACH(c, &lchks, entry)
		n += c->token != NULL;
	msgpack_pack_map(&out.pk, n);
	TAILQ_FOREACH(c, &lchks, entry)
		if (c->token != NULL) {
			mpack_str(&out.pk, c->a.c.check_id);
			mpack_str(&out.pk, c->token);
		}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || fd_write_all(fd, out.sbuf.data,
	    out.sbuf.size) == -1 || fsync(fd) == -1 || close(fd) == -1 ||
	    rename(tmp, LOCAL_FILE) == -1) {
		log_warn("local: cannot write %s", LOCAL_FILE);
		explicit_bzero(out.sbuf.data, out.sbuf.size);
		mpack_out_free(&out);
		return;
	}
	if ((dfd = open(LOCAL_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	explicit_bzero(out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

/* The whole file, at most max bytes; -1 with errno. */
static int
read_all(int fd, size_t max, unsigned char **bufp, size_t *lenp)
{
	unsigned char	*buf;
	size_t		 len = 0;
	ssize_t		 r;

	if ((buf = malloc(max)) == NULL)
		return -1;
	while ((r = read(fd, buf + len, max - len)) > 0)
		if ((len += (size_t)r) == max) {
			free(buf);
			errno = EFBIG;
			return -1;
		}
	if (r == -1) {
		free(buf);
		return -1;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

static void
load_tokens(const msgpack_object *m, int checks)
{
	struct local_svc	*s;
	struct local_chk	*c;
	char			 id[CAT_STR_MAX + 1], tok[ACL_STR_MAX + 1];
	uint32_t		 i;

	for (i = 0; i < m->via.map.size; i++) {
		if (mpack_copy_str(&m->via.map.ptr[i].key, id,
		    sizeof(id)) == -1 || mpack_copy_str(&m->via.map.ptr[i].val,
		    tok, sizeof(tok)) == -1)
			continue;
		if (checks && (c = chk_find(id)) != NULL)
			token_set(&c->token, tok);
		else if (!checks && (s = svc_find(id)) != NULL)
			token_set(&s->token, tok);
	}
	explicit_bzero(tok, sizeof(tok));
}

static void
local_load(void)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct agent_service	 as;
	struct agent_check	 ac;
	struct local_svc	*s;
	unsigned char		*buf;
	size_t			 len;
	uint32_t		 i;
	int			 fd;

	if ((fd = open(LOCAL_FILE, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("local: %s", LOCAL_FILE);
		return;
	}
	if (read_all(fd, LOCAL_FILE_MAX, &buf, &len) == -1) {
		log_warn("local: cannot read %s", LOCAL_FILE);
		close(fd);
		return;
	}
	close(fd);
	/* Files from before tokens were kept have two elements. */
	if (mpack_parse(&u, buf, len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY ||
	    (u.data.via.array.size != 2 && u.data.via.array.size != 4) ||
	    u.data.via.array.ptr[0].type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.ptr[1].type != MSGPACK_OBJECT_ARRAY ||
	    (u.data.via.array.size == 4 &&
	    (u.data.via.array.ptr[2].type != MSGPACK_OBJECT_MAP ||
	    u.data.via.array.ptr[3].type != MSGPACK_OBJECT_MAP))) {
		log_warnx("local: %s is damaged; ignoring it", LOCAL_FILE);
		free(buf);
		return;
	}
	a = u.data.via.array.ptr;
	for (i = 0; i < a[0].via.array.size; i++) {
		if (agent_service_unpack(&a[0].via.array.ptr[i], &as) == -1 ||
		    svc_find(as.s.id) != NULL || nlsvcs >= LOCAL_SERVICES_MAX) {
			agent_service_free(&as);
			continue;
		}
		if ((s = calloc(1, sizeof(*s))) == NULL)
			fatal("local");
		s->a = as;
		TAILQ_INSERT_TAIL(&lsvcs, s, entry);
		nlsvcs++;
	}
	for (i = 0; i < a[1].via.array.size; i++) {
		if (agent_check_unpack(&a[1].via.array.ptr[i], &ac) == -1 ||
		    chk_find(ac.c.check_id) != NULL ||
		    nlchks >= LOCAL_CHECKS_MAX) {
			agent_check_free(&ac);
			continue;
		}
		if (ac.kind == AGENT_CHECK_SCRIPT &&
		    !raftd_child.conf->enable_script_checks) {
			log_warnx("local: check %s: script checks from the "
			    "API are not enabled, not restoring it",
			    ac.c.check_id);
			agent_check_free(&ac);
			continue;
		}
		chk_add(&ac);
	}
	if (u.data.via.array.size == 4) {
		load_tokens(&a[2], 0);
		load_tokens(&a[3], 1);
	}
	msgpack_unpacked_destroy(&u);
	explicit_bzero(buf, len);
	free(buf);
}

/* The configuration's services and checks. */

static void
strs_copy(char ***dst, size_t *n, const struct config_strlist *l)
{
	size_t	 i;

	*dst = NULL;
	*n = 0;
	if (l->n == 0)
		return;
	if ((*dst = calloc(l->n, sizeof(**dst))) == NULL)
		fatal("local");
	for (i = 0; i < l->n; i++)
		if (((*dst)[i] = strdup(l->v[i])) == NULL)
			fatal("local");
	*n = l->n;
}

static char *
xstrdup(const char *s)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		fatal("local");
	return d;
}

/* A configured check as the agent runs it; -1 if it cannot run. */
static int
check_from_config(const struct config *c, const struct config_check *cc,
    const char *sid, struct agent_check *a)
{
	char		 dur[32];
	size_t		 i, n;

	memset(a, 0, sizeof(*a));
	a->from_config = 1;
	a->c.node = xstrdup(c->node_name);
	a->c.check_id = xstrdup(cc->id);
	a->c.name = xstrdup(cc->name);
	a->c.notes = xstrdup(cc->notes);
	a->c.service_id = xstrdup(sid != NULL ? sid : cc->service_id);
	a->c.status = xstrdup(cc->status != NULL && *cc->status != '\0' ?
	    cc->status : CAT_CRITICAL);
	a->interval_ms = cc->interval / 1000000;
	a->timeout_ms = cc->timeout / 1000000;
	if (cc->interval > 0)
		a->c.interval = xstrdup(duration_format(cc->interval, dur,
		    sizeof(dur)));
	if (cc->timeout > 0)
		a->c.timeout = xstrdup(duration_format(cc->timeout, dur,
		    sizeof(dur)));
	a->ttl_ms = cc->ttl / 1000000;
	a->dereg_after_ms = cc->deregister_critical_service_after / 1000000;
	a->success_before_passing = cc->success_before_passing;
	a->failures_before_warning = cc->failures_before_warning < 0 ? 0 :
	    cc->failures_before_warning;
	a->failures_before_critical = cc->failures_before_critical;
	a->tls_skip_verify = cc->tls_skip_verify;
	a->method = xstrdup(cc->method);
	a->body = xstrdup(cc->body);
	if (cc->http != NULL) {
		a->kind = AGENT_CHECK_HTTP;
		a->c.http = xstrdup(cc->http);
		a->c.type = xstrdup("http");
	} else if (cc->tcp != NULL) {
		a->kind = AGENT_CHECK_TCP;
		a->c.tcp = xstrdup(cc->tcp);
		a->c.type = xstrdup("tcp");
	} else if (cc->ttl > 0) {
		a->kind = AGENT_CHECK_TTL;
		a->c.type = xstrdup("ttl");
	} else if (cc->args.n > 0) {
		/*
		 * config.c refused these unless scripts are enabled, and
		 * made a "script" into args.
		 */
		a->kind = AGENT_CHECK_SCRIPT;
		a->c.type = xstrdup("script");
		strs_copy(&a->args, &a->nargs, &cc->args);
	} else
		return -1;
	for (n = 0, i = 0; i < cc->nheader; i++)
		n += cc->header[i].vals.n;
	if (n > 0 && (a->headers = calloc(n, sizeof(*a->headers))) == NULL)
		fatal("local");
	for (i = 0; i < cc->nheader; i++) {
		size_t	 j;

		for (j = 0; j < cc->header[i].vals.n; j++) {
			a->headers[a->nheaders].key = xstrdup(cc->header[i].key);
			a->headers[a->nheaders].value =
			    xstrdup(cc->header[i].vals.v[j]);
			a->nheaders++;
		}
	}
	if (a->c.check_id == NULL || a->c.name == NULL)
		return -1;
	return 0;
}

static void
svc_from_config(const struct config *c, const struct config_service *cs,
    struct agent_service *as)
{
	size_t	 j;

	memset(as, 0, sizeof(*as));
	as->from_config = 1;
	as->s.node = xstrdup(c->node_name);
	as->s.id = xstrdup(cs->id);
	as->s.service = xstrdup(cs->name);
	as->s.kind = xstrdup(cs->kind);
	as->s.address = xstrdup(cs->address);
	as->s.port = cs->port > 0 ? (uint64_t)cs->port : 0;
	strs_copy(&as->s.tags, &as->s.ntags, &cs->tags);
	if (cs->meta.n > 0 && (as->s.meta = calloc(cs->meta.n,
	    sizeof(*as->s.meta))) == NULL)
		fatal("local");
	for (j = 0; j < cs->meta.n; j++) {
		as->s.meta[j].key = xstrdup(cs->meta.v[j].key);
		as->s.meta[j].value = xstrdup(cs->meta.v[j].val);
	}
	as->s.nmeta = cs->meta.n;
	as->s.weight_passing = cs->weights.passing > 0 ?
	    cs->weights.passing : 1;
	as->s.weight_warning = cs->weights.warning > 0 ?
	    cs->weights.warning : 1;
	as->s.enable_tag_override = cs->enable_tag_override;
}

/* Whether two checks are defined alike, whatever their status. */
static int
chk_same(const struct agent_check *a, const struct agent_check *b)
{
	struct agent_check	 x = *a, y = *b;
	struct mpack_out	 px, py;
	int			 same;

	x.c.status = y.c.status = NULL;
	x.c.output = y.c.output = NULL;
	mpack_out_init(&px);
	mpack_out_init(&py);
	agent_check_pack(&px.pk, &x);
	agent_check_pack(&py.pk, &y);
	same = px.sbuf.size == py.sbuf.size &&
	    memcmp(px.sbuf.data, py.sbuf.data, px.sbuf.size) == 0;
	mpack_out_free(&px);
	mpack_out_free(&py);
	return same;
}

/*
 * One check of the files: added, or replacing the one of its id (which
 * keeps its status if it is of the same kind); one defined as before is
 * left alone, so a reload does not restart its probe.  One that cannot
 * run here is left out, and a check of that id from earlier files goes.
 */
static void
config_check_add(const struct config *c, const struct config_check *cc,
    const char *sid, const char *what)
{
	struct agent_check	 ac;
	struct local_chk	*old;

	old = cc->id != NULL ? chk_find(cc->id) : NULL;
	if (check_from_config(c, cc, sid, &ac) == -1) {
		log_warnx("local: %s cannot run here", what);
		if (old != NULL && old->a.from_config)
			chk_free(old);
		agent_check_free(&ac);
		return;
	}
	if (old != NULL && old->a.from_config && chk_same(&old->a, &ac)) {
		agent_check_free(&ac);
		return;
	}
	chk_add(&ac);
}

/*
 * The services and checks of the files, as Consul loads them: one of
 * the same id as one the API registered replaces it.
 */
static void
local_load_config(const struct config *c)
{
	struct config_service	*cs;
	struct agent_service	 as;
	struct local_svc	*s;
	char			 what[CAT_STR_MAX + 64];
	size_t			 i, j;

	for (i = 0; i < c->nservices; i++) {
		cs = &c->services[i];
		if (cs->id == NULL || cs->name == NULL)
			continue;
		svc_from_config(c, cs, &as);
		if ((s = svc_find(cs->id)) != NULL)
			agent_service_free(&s->a);
		else {
			if ((s = calloc(1, sizeof(*s))) == NULL)
				fatal("local");
			TAILQ_INSERT_TAIL(&lsvcs, s, entry);
			nlsvcs++;
		}
		s->a = as;
		for (j = 0; j < cs->nchecks; j++) {
			snprintf(what, sizeof(what), "service %s: check %zu",
			    cs->id, j + 1);
			config_check_add(c, &cs->checks[j], cs->id, what);
		}
	}
	for (i = 0; i < c->nchecks; i++) {
		snprintf(what, sizeof(what), "check %zu", i + 1);
		config_check_add(c, &c->checks[i], NULL, what);
	}
}

static int
config_has_service(const struct config *c, const char *id)
{
	size_t	 i;

	for (i = 0; i < c->nservices; i++)
		if (c->services[i].id != NULL &&
		    strcmp(c->services[i].id, id) == 0)
			return 1;
	return 0;
}

static int
config_has_check(const struct config *c, const char *id)
{
	size_t	 i, j;

	for (i = 0; i < c->nservices; i++)
		for (j = 0; j < c->services[i].nchecks; j++)
			if (c->services[i].checks[j].id != NULL &&
			    strcmp(c->services[i].checks[j].id, id) == 0)
				return 1;
	for (i = 0; i < c->nchecks; i++)
		if (c->checks[i].id != NULL && strcmp(c->checks[i].id, id) == 0)
			return 1;
	return 0;
}

void
local_start(void)
{
	local_load_config(raftd_child.conf);
	local_load();
	local_changed(0);
}

/*
 * A reload (SIGHUP or PUT /v1/agent/reload), raftd_child.conf the new
 * configuration: what the files no longer have goes (a service with
 * all its checks), what they have is added or updated, and what the
 * API registered stays, but for script checks the API may no longer
 * register, which go as they would at a restart.
 */
void
local_reload(void)
{
	const struct config	*c = raftd_child.conf;
	struct local_svc	*s, *snext;
	struct local_chk	*k, *knext;

	for (s = TAILQ_FIRST(&lsvcs); s != NULL; s = snext) {
		snext = TAILQ_NEXT(s, entry);
		if (s->a.from_config && !config_has_service(c, s->a.s.id)) {
			log_info("local: service %s: no longer configured",
			    s->a.s.id);
			svc_remove(s);
		}
	}
	for (k = TAILQ_FIRST(&lchks); k != NULL; k = knext) {
		knext = TAILQ_NEXT(k, entry);
		if (k->a.from_config && !config_has_check(c, k->a.c.check_id)) {
			log_info("local: check %s: no longer configured",
			    k->a.c.check_id);
			chk_free(k);
		} else if (!k->a.from_config &&
		    k->a.kind == AGENT_CHECK_SCRIPT &&
		    !c->enable_script_checks) {
			log_warnx("local: check %s: script checks from the "
			    "API are no longer enabled, removing it",
			    k->a.c.check_id);
			chk_free(k);
		}
	}
	local_load_config(c);
	local_changed(1);
}

/* Requests from apid. */

static void
answer(struct imsgev *iev, uint32_t reqid, int code, const char *error,
    struct mpack_out *data)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 3);
	mpack_kv_uint(&out.pk, "code", (uint64_t)code);
	mpack_kv_str(&out.pk, "error", error != NULL ? error : "");
	mpack_str(&out.pk, "data");
	if (data != NULL)
		msgpack_sbuffer_write(&out.sbuf, data->sbuf.data,
		    data->sbuf.size);
	else
		msgpack_pack_nil(&out.pk);
	if (out.sbuf.size > IMSG_MAX_DATA) {
		mpack_out_free(&out);
		answer(iev, reqid, 500, "answer too large", NULL);
		return;
	}
	if (imsgev_compose(iev, IMSG_LOCAL_RESULT, reqid, -1, out.sbuf.data,
	    out.sbuf.size) == -1)
		fatal("local: compose");
	mpack_out_free(&out);
}

/* A check may run on this agent; NULL, or why not (with its code). */
static const char *
check_allowed(const struct agent_check *a, int *code)
{
	struct config	*c = raftd_child.conf;

	/*
	 * A script check through the API runs any program the caller
	 * names: remote code execution, unless the operator asked for it.
	 */
	*code = 400;
	if (a->kind == AGENT_CHECK_SCRIPT && !c->enable_script_checks)
		return "Scripts are disabled on this agent from remote calls; "
		    "to enable, configure 'enable_script_checks' to true";
	if ((a->kind == AGENT_CHECK_HTTP || a->kind == AGENT_CHECK_TCP ||
	    a->kind == AGENT_CHECK_SCRIPT) && a->interval_ms < 1000)
		return "Interval must be > 1s";
	return NULL;
}

/* Consul's detailed 403 of the last check allowed() refused. */
static char	 deny_why[ACL_DENIED_MAX];

static int
allowed(const struct acl_authz *az, enum acl_resource res, const char *name,
    enum acl_level level)
{
	if (acl_allowed(az, res, name, level))
		return 1;
	acl_denied(deny_why, sizeof(deny_why), az, res, name, level);
	return 0;
}

/*
 * Whether a check's registration or change is allowed: service:write
 * on its service's name, node:write on this node for a node check, and
 * node:write too for a script check, which runs a program here.
 */
static int
chk_write_allowed(const struct acl_authz *az, const char *sid, int kind)
{
	const char		*node = raftd_child.conf->node_name;
	struct local_svc	*s;

	if (kind == AGENT_CHECK_SCRIPT && !allowed(az, ACL_RES_NODE,
	    node, ACL_LEVEL_WRITE))
		return 0;
	if (sid != NULL && *sid != '\0')
		return (s = svc_find(sid)) == NULL ||
		    allowed(az, ACL_RES_SERVICE, s->a.s.service,
		    ACL_LEVEL_WRITE);
	return allowed(az, ACL_RES_NODE, node, ACL_LEVEL_WRITE);
}

static void
req_service_register(struct imsgev *iev, uint32_t reqid,
    const msgpack_object *a, uint32_t n, const struct acl_authz *az,
    const char *token)
{
	struct agent_service	 as;
	struct agent_check	*acs = NULL;
	struct local_svc	*s;
	struct local_chk	*c, *next;
	const char		*why;
	char			 cid[CAT_STR_MAX + 1];
	uint32_t		 i, nc;
	int			 replace, code, keep;

	if (n != 4 || agent_service_unpack(&a[1], &as) == -1 ||
	    a[2].type != MSGPACK_OBJECT_ARRAY ||
	    (nc = a[2].via.array.size) > CAT_LIST_MAX ||
	    mpack_get_bool(&a[3], &replace) == -1)
		fatalx("local: malformed service registration");
	if (nc > 0 && (acs = calloc(nc, sizeof(*acs))) == NULL)
		fatal("local");
	for (i = 0; i < nc; i++)
		if (agent_check_unpack(&a[2].via.array.ptr[i], &acs[i]) == -1)
			fatalx("local: malformed check in a registration");
	for (i = 0; i < nc; i++)
		if ((why = check_allowed(&acs[i], &code)) != NULL) {
			answer(iev, reqid, code, why, NULL);
			goto done;
		}
	/* service:write on the name, and on the old name if it changes. */
	if (!allowed(az, ACL_RES_SERVICE, as.s.service,
	    ACL_LEVEL_WRITE) || ((s = svc_find(as.s.id)) != NULL &&
	    !allowed(az, ACL_RES_SERVICE, s->a.s.service,
	    ACL_LEVEL_WRITE))) {
		answer(iev, reqid, 403, deny_why, NULL);
		goto done;
	}
	for (i = 0; i < nc; i++)
		if (acs[i].kind == AGENT_CHECK_SCRIPT &&
		    !chk_write_allowed(az, NULL, acs[i].kind)) {
			answer(iev, reqid, 403, deny_why, NULL);
			goto done;
		}
	if ((s = svc_find(as.s.id)) == NULL && nlsvcs >= LOCAL_SERVICES_MAX) {
		answer(iev, reqid, 500, "too many services", NULL);
		goto done;
	}
	if (s != NULL) {
		agent_service_free(&s->a);
		s->a = as;
	} else {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			fatal("local");
		s->a = as;
		TAILQ_INSERT_TAIL(&lsvcs, s, entry);
		nlsvcs++;
	}
	memset(&as, 0, sizeof(as));
	token_set(&s->token, token);
	/* ?replace-existing-checks: checks not given again go. */
	if (replace)
		for (c = TAILQ_FIRST(&lchks); c != NULL; c = next) {
			next = TAILQ_NEXT(c, entry);
			if (c->a.c.service_id == NULL ||
			    strcmp(c->a.c.service_id, s->a.s.id) != 0)
				continue;
			for (keep = 0, i = 0; i < nc; i++)
				if (strcmp(acs[i].c.check_id,
				    c->a.c.check_id) == 0)
					keep = 1;
			if (!keep)
				chk_free(c);
		}
	for (i = 0; i < nc; i++) {
		snprintf(cid, sizeof(cid), "%s", acs[i].c.check_id);
		chk_add(&acs[i]);
		if ((c = chk_find(cid)) != NULL)
			token_set(&c->token, token);
	}
	local_changed(1);
	answer(iev, reqid, 200, NULL, NULL);
 done:
	for (i = 0; i < nc; i++)
		agent_check_free(&acs[i]);
	free(acs);
	agent_service_free(&as);
}

static void
req_check_register(struct imsgev *iev, uint32_t reqid,
    const msgpack_object *a, uint32_t n, const struct acl_authz *az,
    const char *token)
{
	struct agent_check	 ac;
	struct local_chk	*c;
	const char		*why;
	char			 err[CAT_STR_MAX + 64], cid[CAT_STR_MAX + 1];
	int			 code;

	if (n != 2 || agent_check_unpack(&a[1], &ac) == -1)
		fatalx("local: malformed check registration");
	if ((why = check_allowed(&ac, &code)) != NULL)
		answer(iev, reqid, code, why, NULL);
	else if (ac.c.service_id != NULL && svc_find(ac.c.service_id) ==
	    NULL) {
		snprintf(err, sizeof(err), "ServiceID \"%s\" does not exist",
		    ac.c.service_id);
		answer(iev, reqid, 404, err, NULL);
	} else if (!chk_write_allowed(az, ac.c.service_id, ac.kind) ||
	    ((c = chk_find(ac.c.check_id)) != NULL &&
	    !chk_write_allowed(az, c->a.c.service_id, c->a.kind)))
		answer(iev, reqid, 403, deny_why, NULL);
	else if (chk_find(ac.c.check_id) == NULL &&
	    nlchks >= LOCAL_CHECKS_MAX)
		answer(iev, reqid, 500, "too many checks", NULL);
	else {
		snprintf(cid, sizeof(cid), "%s", ac.c.check_id);
		chk_add(&ac);
		if ((c = chk_find(cid)) != NULL)
			token_set(&c->token, token);
		local_changed(1);
		answer(iev, reqid, 200, NULL, NULL);
	}
	agent_check_free(&ac);
}

/* The service's name for a check's ServiceName, filled on the way out. */
static void
pack_check(msgpack_packer *pk, const struct local_chk *c)
{
	struct agent_check	 a = c->a;
	struct local_svc	*s;

	if (a.c.service_id != NULL && (s = svc_find(a.c.service_id)) != NULL) {
		a.c.service_name = s->a.s.service;
		a.c.service_tags = s->a.s.tags;
		a.c.nservice_tags = s->a.s.ntags;
	}
	agent_check_pack(pk, &a);
}

static void
maint_set(const char *id, const char *sid, int enable, const char *reason)
{
	struct agent_check	 ac;
	struct local_chk	*c;

	if (!enable) {
		if ((c = chk_find(id)) != NULL)
			chk_free(c);
		return;
	}
	memset(&ac, 0, sizeof(ac));
	ac.kind = AGENT_CHECK_MAINT;
	ac.c.node = xstrdup(raftd_child.conf->node_name);
	ac.c.check_id = xstrdup(id);
	ac.c.name = xstrdup(sid != NULL ? "Service Maintenance Mode" :
	    "Node Maintenance Mode");
	ac.c.notes = xstrdup(reason != NULL && *reason != '\0' ? reason :
	    "Maintenance mode is enabled for this node via the API");
	if (sid != NULL && (reason == NULL || *reason == '\0'))
		replace_str(&ac.c.notes, "Maintenance mode is enabled for "
		    "this service via the API");
	ac.c.status = xstrdup(CAT_CRITICAL);
	ac.c.service_id = xstrdup(sid);
	ac.c.type = xstrdup("maintenance");
	chk_add(&ac);
	agent_check_free(&ac);
}

/* Whether the token may read a check: as its service, or the node. */
static int
chk_read_allowed(const struct acl_authz *az, const struct local_chk *c)
{
	struct local_svc	*s;

	if (c->a.c.service_id != NULL &&
	    (s = svc_find(c->a.c.service_id)) != NULL)
		return allowed(az, ACL_RES_SERVICE, s->a.s.service,
		    ACL_LEVEL_READ);
	return allowed(az, ACL_RES_NODE, raftd_child.conf->node_name,
	    ACL_LEVEL_READ);
}

/* The lists, with only what the token may read; one service by ID. */
static void
req_list(struct imsgev *iev, uint32_t reqid, uint64_t op,
    const msgpack_object *a, uint32_t n, const struct acl_authz *az)
{
	struct mpack_out	 data;
	struct local_svc	*s;
	struct local_chk	*c;
	char			 id[CAT_STR_MAX + 1];
	size_t			 k = 0;

	if (n == 2) {
		if (op != LOCAL_SERVICES || mpack_copy_str(&a[1], id,
		    sizeof(id)) == -1)
			fatalx("local: malformed service read");
		if ((s = svc_find(id)) != NULL && !allowed(az,
		    ACL_RES_SERVICE, s->a.s.service, ACL_LEVEL_READ)) {
			answer(iev, reqid, 403, deny_why, NULL);
			return;
		}
		mpack_out_init(&data);
		msgpack_pack_array(&data.pk, s != NULL);
		if (s != NULL)
			agent_service_pack(&data.pk, &s->a);
		answer(iev, reqid, 200, NULL, &data);
		mpack_out_free(&data);
		return;
	}
	if (n != 1)
		fatalx("local: malformed list request");
	mpack_out_init(&data);
	if (op == LOCAL_SERVICES) {
		TAILQ_FOREACH(s, &lsvcs, entry)
			k += allowed(az, ACL_RES_SERVICE, s->a.s.service,
			    ACL_LEVEL_READ);
		msgpack_pack_array(&data.pk, k);
		TAILQ_FOREACH(s, &lsvcs, entry)
			if (allowed(az, ACL_RES_SERVICE, s->a.s.service,
			    ACL_LEVEL_READ))
				agent_service_pack(&data.pk, &s->a);
	} else {
		TAILQ_FOREACH(c, &lchks, entry)
			k += chk_read_allowed(az, c);
		msgpack_pack_array(&data.pk, k);
		TAILQ_FOREACH(c, &lchks, entry)
			if (chk_read_allowed(az, c))
				pack_check(&data.pk, c);
	}
	answer(iev, reqid, 200, NULL, &data);
	mpack_out_free(&data);
}

/* A request whose token is resolved: az says what it may do. */
static void
local_do(struct imsgev *iev, uint32_t reqid, const void *buf, size_t len,
    const struct acl_authz *az, const char *token)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct local_svc	*s;
	struct local_chk	*c;
	char			 id[CAT_STR_MAX + 1], status[16];
	char			 err[CAT_STR_MAX + 128], *output = NULL;
	char			 reason[CAT_NOTES_MAX + 1];
	char			 mid[CAT_STR_MAX + 32];
	uint64_t		 op;
	uint32_t		 n;
	int			 enable;

	if (mpack_parse(&u, buf, len) == -1)
		fatalx("local: malformed request");
	/* The last element is the caller's token, resolved already. */
	n = u.data.via.array.size - 1;
	a = u.data.via.array.ptr;
	(void)mpack_get_uint(&a[0], &op);
	switch (op) {
	case LOCAL_SERVICES:
	case LOCAL_CHECKS:
		req_list(iev, reqid, op, a, n, az);
		break;
	case LOCAL_SERVICE_REGISTER:
		req_service_register(iev, reqid, a, n, az, token);
		break;
	case LOCAL_CHECK_REGISTER:
		req_check_register(iev, reqid, a, n, az, token);
		break;
	case LOCAL_SERVICE_DEREGISTER:
	case LOCAL_CHECK_DEREGISTER:
		if (n != 2 || mpack_copy_str(&a[1], id, sizeof(id)) == -1)
			fatalx("local: malformed deregistration");
		if ((op == LOCAL_SERVICE_DEREGISTER &&
		    (s = svc_find(id)) != NULL && !allowed(az,
		    ACL_RES_SERVICE, s->a.s.service, ACL_LEVEL_WRITE)) ||
		    (op == LOCAL_CHECK_DEREGISTER &&
		    (c = chk_find(id)) != NULL &&
		    !chk_write_allowed(az, c->a.c.service_id, 0))) {
			answer(iev, reqid, 403, deny_why, NULL);
			break;
		}
		if (op == LOCAL_SERVICE_DEREGISTER &&
		    (s = svc_find(id)) != NULL) {
			svc_remove(s);
			snprintf(mid, sizeof(mid), SVC_MAINT_PREFIX "%s", id);
			maint_set(mid, NULL, 0, NULL);
		} else if (op == LOCAL_CHECK_DEREGISTER &&
		    (c = chk_find(id)) != NULL)
			chk_free(c);
		else {
			snprintf(err, sizeof(err), op ==
			    LOCAL_SERVICE_DEREGISTER ? "Unknown service ID "
			    "\"%s\". Ensure that the service ID is passed, not "
			    "the service name." : "Unknown check ID \"%s\". "
			    "Ensure that the check ID is passed, not the check "
			    "name.", id);
			answer(iev, reqid, 404, err, NULL);
			break;
		}
		local_changed(1);
		answer(iev, reqid, 200, NULL, NULL);
		break;
	case LOCAL_CHECK_UPDATE:
		if (n != 4 || mpack_copy_str(&a[1], id, sizeof(id)) == -1 ||
		    mpack_copy_str(&a[2], status, sizeof(status)) == -1 ||
		    !cat_status_valid(status) ||
		    (a[3].type != MSGPACK_OBJECT_NIL &&
		    mpack_get_str(&a[3], &output) == -1))
			fatalx("local: malformed check update");
		if ((c = chk_find(id)) != NULL &&
		    !chk_write_allowed(az, c->a.c.service_id, 0)) {
			answer(iev, reqid, 403, deny_why, NULL);
			free(output);
			break;
		}
		if (c == NULL || c->a.kind != AGENT_CHECK_TTL) {
			snprintf(err, sizeof(err), "CheckID \"%s\" does not "
			    "have associated TTL", id);
			answer(iev, reqid, c == NULL ? 404 : 500,
			    err, NULL);
			free(output);
			break;
		}
		if (output != NULL && strlen(output) > CHECK_OUTPUT_DEFAULT)
			output[CHECK_OUTPUT_DEFAULT] = '\0';
		if (chk_set(c, status, output))
			local_changed(0);
		ttl_arm(c);
		free(output);
		answer(iev, reqid, 200, NULL, NULL);
		break;
	case LOCAL_SERVICE_MAINT:
	case LOCAL_NODE_MAINT:
		if (n != 4 || mpack_copy_str(&a[1], id, sizeof(id)) == -1 ||
		    mpack_get_bool(&a[2], &enable) == -1 ||
		    mpack_copy_str(&a[3], reason, sizeof(reason)) == -1)
			fatalx("local: malformed maintenance request");
		if ((op == LOCAL_NODE_MAINT && !allowed(az, ACL_RES_NODE,
		    raftd_child.conf->node_name, ACL_LEVEL_WRITE)) ||
		    (op == LOCAL_SERVICE_MAINT && (s = svc_find(id)) != NULL &&
		    !allowed(az, ACL_RES_SERVICE, s->a.s.service,
		    ACL_LEVEL_WRITE))) {
			answer(iev, reqid, 403, deny_why, NULL);
			break;
		}
		if (op == LOCAL_SERVICE_MAINT) {
			if (svc_find(id) == NULL) {
				snprintf(err, sizeof(err), "Unknown service ID "
				    "\"%s\"", id);
				answer(iev, reqid, 404, err, NULL);
				break;
			}
			snprintf(mid, sizeof(mid), SVC_MAINT_PREFIX "%s", id);
			maint_set(mid, id, enable, reason);
		} else
			maint_set(NODE_MAINT_ID, NULL, enable, reason);
		local_changed(1);
		answer(iev, reqid, 200, NULL, NULL);
		break;
	}
	msgpack_unpacked_destroy(&u);
}

/* A request waiting for its token to be resolved. */
struct local_ask {
	struct imsgev	*iev;
	uint32_t	 reqid;
	void		*buf;
	size_t		 len;
	char		*token;
};

static void
local_resolved(void *arg, const struct acl_authz *az, const char *err)
{
	struct local_ask	*q = arg;

	if (az == NULL)
		answer(q->iev, q->reqid, 403, err, NULL);
	else
		local_do(q->iev, q->reqid, q->buf, q->len, az, q->token);
	freezero(q->buf, q->len);
	freezero(q->token, strlen(q->token));
	free(q);
}

/*
 * From apid: [op, ..., token].  The token is resolved first (on a
 * client agent maybe by a server), then the request is done with what
 * it allows.
 */
void
local_request(struct imsgev *iev, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct local_ask	*q;
	uint64_t		 op;
	uint32_t		 n;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY ||
	    (n = u.data.via.array.size) < 2 ||
	    mpack_get_uint(&u.data.via.array.ptr[0], &op) == -1 ||
	    op < LOCAL_SERVICES || op > LOCAL_NODE_MAINT)
		fatalx("local: malformed request from %s", iev->name);
	a = u.data.via.array.ptr;
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->buf = malloc(imsg->len)) == NULL)
		fatal("local");
	if (mpack_get_str(&a[n - 1], &q->token) == -1 || q->token == NULL ||
	    strlen(q->token) > ACL_STR_MAX)
		fatalx("local: malformed token from %s", iev->name);
	msgpack_unpacked_destroy(&u);
	memcpy(q->buf, imsg->data, imsg->len);
	q->len = imsg->len;
	q->iev = iev;
	q->reqid = imsg->hdr.peerid;
	acl_resolve_async(q->token, local_resolved, q);
}

/* checkd's result for an http, tcp or script check. */
void
local_check_result(struct imsgev *iev, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	struct local_chk	*c;
	char			 id[CAT_STR_MAX + 1], status[16], *output = NULL;
	const char		*want;
	size_t			 n;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_MAP ||
	    mpack_copy_str(mpack_map_get(&u.data, "id"), id,
	    sizeof(id)) == -1 ||
	    mpack_copy_str(mpack_map_get(&u.data, "status"), status,
	    sizeof(status)) == -1 || !cat_status_valid(status) ||
	    mpack_map_str(&u.data, "output", &output) == -1)
		fatalx("local: malformed check result from %s", iev->name);
	msgpack_unpacked_destroy(&u);
	if ((c = chk_find(id)) == NULL ||
	    (c->a.kind != AGENT_CHECK_HTTP && c->a.kind != AGENT_CHECK_TCP &&
	    c->a.kind != AGENT_CHECK_SCRIPT)) {
		free(output);
		return;		/* deregistered meanwhile */
	}
	/*
	 * What the catalog holds of an output (check_output_max_size and a
	 * check's own words may come to more), cut before a character.
	 */
	if (output != NULL && (n = strlen(output)) > CAT_OUTPUT_MAX) {
		n = CAT_OUTPUT_MAX;
		while (n > 0 && (output[n] & 0xc0) == 0x80)
			n--;
		output[n] = '\0';
	}
	/* Consul's thresholds: consecutive results before a change. */
	want = NULL;
	if (strcmp(status, CAT_PASSING) == 0) {
		c->failures = 0;
		if (++c->successes >= c->a.success_before_passing)
			want = CAT_PASSING;
	} else {
		c->successes = 0;
		c->failures++;
		if (c->failures >= c->a.failures_before_critical)
			want = status;
		else if (c->a.failures_before_warning > 0 &&
		    c->failures >= c->a.failures_before_warning)
			want = CAT_WARNING;
	}
	if (want != NULL && chk_set(c, want, output))
		local_changed(0);
	free(output);
}

/* Every second: deregister services critical for too long. */
void
local_tick(void)
{
	struct local_chk	*c;
	struct local_svc	*s;
	uint64_t		 now = node_now_ms();

	TAILQ_FOREACH(c, &lchks, entry) {
		if (c->a.dereg_after_ms <= 0 || c->critical_since == 0 ||
		    c->a.c.service_id == NULL ||
		    now - c->critical_since < (uint64_t)c->a.dereg_after_ms)
			continue;
		if ((s = svc_find(c->a.c.service_id)) == NULL)
			continue;
		log_info("local: service %s critical for longer than its "
		    "deregister_critical_service_after: deregistering it",
		    s->a.s.id);
		svc_remove(s);
		local_changed(1);
		return;		/* the list changed; the rest next time */
	}
}

/* Something changed: save it (if it was the API's) and sync. */
static void
local_changed(int save)
{
	local_version++;
	if (save)
		local_save();
	ae_schedule();
}
