/*
 * The /v1/session/ endpoints, with Consul's JSON:
 *
 *   PUT /v1/session/create          {"ID": uuid}
 *   PUT /v1/session/destroy/<id>    true (also for an unknown ID)
 *   PUT /v1/session/renew/<id>      [Session], 404 when it is gone
 *   GET /v1/session/info/<id>       [Session] or []
 *   GET /v1/session/node/<node>     the node's sessions
 *   GET /v1/session/list            every session
 *
 * Creation and destruction go through Raft as catalog writes; the
 * leader keeps the TTL timers, so a renewal is a read the leader
 * answers.  Reads block on ?index and take the consistency modes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "apid.h"
#include "catalog.h"
#include "config.h"
#include "duration.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"

#define SESSION_PREFIX		"/v1/session/"
#define SESSION_BODY_MAX	(64 * 1024)
#define SESSION_TTL_MAX		(24LL * 3600 * DURATION_SEC)
#define SESSION_LOCK_DELAY	(15LL * DURATION_SEC)
#define SESSION_ID_MAX		36

/* Consul's Session. */
static json_t *
session_json(const struct cat_session *se)
{
	json_t	*o, *nc, *sc = json_null();
	size_t	 i;

	nc = se->nnode_checks > 0 ? strs_json(se->node_checks,
	    se->nnode_checks) : json_null();
	if (se->nservice_checks > 0) {
		sc = json_array();
		for (i = 0; i < se->nservice_checks; i++)
			json_array_append_new(sc, json_pack("{s:s, s:s}",
			    "ID", se->service_checks[i], "Namespace", ""));
	}
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:I, s:I}",
	    "ID", se->id,
	    "Name", se->name != NULL ? se->name : "",
	    "Node", se->node,
	    "LockDelay", (json_int_t)se->lock_delay,
	    "Behavior", se->behavior,
	    "TTL", se->ttl != NULL ? se->ttl : "",
	    "NodeChecks", nc,
	    "ServiceChecks", sc,
	    "CreateIndex", (json_int_t)se->create_index,
	    "ModifyIndex", (json_int_t)se->modify_index);
	return o;
}

/* A string member, or NULL when absent or null; -1 if not a string. */
static int
member_str(json_t *o, const char *name, const char **out)
{
	json_t	*v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) > CAT_STR_MAX)
		return -1;
	*out = json_string_value(v);
	return 0;
}

/* An array of check IDs (strings, or {"ID": ...} objects). */
static int
member_checks(json_t *o, const char *name, int objects, char ***out,
    size_t *n, int *given)
{
	json_t		*v = json_object_get(o, name), *e, *id;
	size_t		 i;

	*given = v != NULL && !json_is_null(v);
	if (!*given)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > CAT_LIST_MAX)
		return -1;
	json_array_foreach(v, i, e) {
		id = objects ? json_object_get(e, "ID") : e;
		if (objects && !json_is_object(e))
			return -1;
		if (id == NULL || !json_is_string(id) ||
		    *json_string_value(id) == '\0' ||
		    strlen(json_string_value(id)) > CAT_STR_MAX)
			return -1;
		if ((*out = reallocarray(*out, *n + 1, sizeof(**out))) ==
		    NULL || ((*out)[*n] = strdup(json_string_value(id))) ==
		    NULL)
			return -1;
		(*n)++;
	}
	return 0;
}

/*
 * LockDelay: a duration string, or a number read as seconds below 1000
 * and as nanoseconds from there, as Consul does.  -1 if neither.
 */
static int
lock_delay(json_t *o, uint64_t *ns)
{
	json_t	*v = json_object_get(o, "LockDelay");
	int64_t	 d;
	double	 f;

	*ns = SESSION_LOCK_DELAY;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		if (duration_parse(json_string_value(v), &d) == -1 || d < 0)
			return -1;
		*ns = d;
		return 0;
	}
	if (!json_is_number(v) || (f = json_number_value(v)) < 0 ||
	    f > 9.2e18)
		return -1;
	*ns = f < 1000 ? (uint64_t)(f * DURATION_SEC) : (uint64_t)f;
	return 0;
}

/*
 * The body of /v1/session/create as a session, or an HTTP status (400
 * bad body, 500 a refused setting, as Consul) with err set.
 */
static int
decode_create(json_t *o, struct cat_session *se, char *err, size_t errlen)
{
	struct config	*c = apid_child.conf;
	const char	*node, *name, *behavior, *ttl;
	int64_t		 ns, min;
	int		 given_nc, given_c, given_sc;
	char		 a[32], b[32];

	memset(se, 0, sizeof(*se));
	if (member_str(o, "Node", &node) == -1 ||
	    member_str(o, "Name", &name) == -1 ||
	    member_str(o, "Behavior", &behavior) == -1 ||
	    member_str(o, "TTL", &ttl) == -1) {
		snprintf(err, errlen, "Request decode failed: Node, Name, "
		    "Behavior and TTL are strings");
		return 400;
	}
	if (lock_delay(o, &se->lock_delay) == -1) {
		snprintf(err, errlen, "Request decode failed: invalid "
		    "LockDelay");
		return 400;
	}
	if (member_checks(o, "NodeChecks", 0, &se->node_checks,
	    &se->nnode_checks, &given_nc) == -1 ||
	    member_checks(o, "Checks", 0, &se->node_checks,
	    &se->nnode_checks, &given_c) == -1 ||
	    member_checks(o, "ServiceChecks", 1, &se->service_checks,
	    &se->nservice_checks, &given_sc) == -1) {
		snprintf(err, errlen, "Request decode failed: invalid "
		    "NodeChecks, Checks or ServiceChecks");
		return 400;
	}
	/* No checks named at all: the node's serfHealth. */
	if (!given_nc && !given_c && !given_sc) {
		if ((se->node_checks = calloc(1, sizeof(char *))) == NULL ||
		    (se->node_checks[0] = strdup("serfHealth")) == NULL)
			goto nomem;
		se->nnode_checks = 1;
	}
	if (behavior == NULL || *behavior == '\0')
		behavior = "release";
	if (strcmp(behavior, "release") != 0 &&
	    strcmp(behavior, "delete") != 0) {
		snprintf(err, errlen, "Invalid Behavior setting '%.64s'",
		    behavior);
		return 500;
	}
	if (ttl != NULL && *ttl != '\0') {
		if (duration_parse(ttl, &ns) == -1 || ns < 0) {
			snprintf(err, errlen, "Session TTL '%.64s' invalid",
			    ttl);
			return 500;
		}
		min = c->session_ttl_min > 0 ? c->session_ttl_min :
		    10 * DURATION_SEC;
		if (ns != 0 && (ns < min || ns > SESSION_TTL_MAX)) {
			snprintf(err, errlen, "Invalid Session TTL '%lld', "
			    "must be between [%s=%s]", (long long)ns,
			    duration_format(min, a, sizeof(a)),
			    duration_format(SESSION_TTL_MAX, b, sizeof(b)));
			return 500;
		}
	}
	if ((se->id = malloc(SESSION_ID_MAX + 1)) == NULL)
		goto nomem;
	uuid_v4(se->id, SESSION_ID_MAX + 1);
	if ((se->node = strdup(node != NULL && *node != '\0' ? node :
	    c->node_name)) == NULL ||
	    (se->behavior = strdup(behavior)) == NULL ||
	    (se->ttl = strdup(ttl != NULL ? ttl : "")) == NULL ||
	    (name != NULL && (se->name = strdup(name)) == NULL))
		goto nomem;
	return 0;
 nomem:
	snprintf(err, errlen, "out of memory");
	return 500;
}

static void
session_create(struct evhttp_request *req)
{
	struct cat_session	 se;
	struct mpack_out	 rec;
	json_t			*o;
	char			 err[256];
	int			 code;

	if ((o = http_body_object(req, SESSION_BODY_MAX, 1)) == NULL)
		return;
	code = decode_create(o, &se, err, sizeof(err));
	json_decref(o);
	if (code != 0) {
		cat_session_free(&se);
		http_error(req, code, err);
		return;
	}
	mpack_out_init(&rec);
	cat_session_pack(&rec.pk, &se);
	cat_write_send(req, CAT_WRITE_SESSION_CREATE, &rec, se.id, 0);
	mpack_out_free(&rec);
	cat_session_free(&se);
}

static void
session_destroy(struct evhttp_request *req, const char *id)
{
	struct mpack_out	 rec;

	mpack_out_init(&rec);
	mpack_str(&rec.pk, id);
	cat_write_send(req, CAT_WRITE_SESSION_DESTROY, &rec, NULL, 0);
	mpack_out_free(&rec);
}

static void
session_item(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	struct cat_session	 se;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    cat_session_unpack(&u.data, &se) == -1)
		fatalx("session: malformed session from raftd");
	msgpack_unpacked_destroy(&u);
	json_array_append_new(r->items, session_json(&se));
	cat_session_free(&se);
}

static void
read_done(struct request *r, struct imsg *imsg)
{
	struct imsg_read_end	 end;
	char			 err[128];

	read_end_get(imsg, &end);
	http_read_headers(r->req, &end);
	if (end.error[0] != '\0')
		http_error(r->req, acl_denial(end.error) ? 403 : 500,
		    end.error);
	else if (r->mode == CAT_Q_SESSION_RENEW &&
	    json_array_size(r->items) == 0) {
		snprintf(err, sizeof(err), "Session id '%.40s' not found",
		    (char *)r->ctx);
		http_error(r->req, 404, err);
	} else
		http_reply_json(r->req, json_incref(r->items), r->pretty);
}

static void
session_read(struct evhttp_request *req, struct query *q, int query,
    const char *arg)
{
	struct request		*r;
	const char		*err;
	uint64_t		 min_index = 0, wait_ms = 0, max_stale_ms = 0;
	int			 cons = KV_CONS_DEFAULT;

	if (query != CAT_Q_SESSION_RENEW &&
	    ((err = query_consistency(q, &cons, &max_stale_ms)) != NULL ||
	    (err = query_blocking(q, &min_index, &wait_ms)) != NULL)) {
		http_error(req, 400, err);
		return;
	}
	if (strlen(arg) > CAT_STR_MAX) {
		http_error(req, 400, "Bad request: name too long");
		return;
	}
	if ((r = request_new(req, read_done)) == NULL ||
	    (r->items = json_array()) == NULL ||
	    (r->ctx = strdup(arg)) == NULL) {
		if (r != NULL)
			request_free(r);
		http_error(req, 500, "out of memory");
		return;
	}
	r->ctx_free = free;
	r->mode = query;
	r->item = session_item;
	cat_read_send(r, query, arg, min_index, wait_ms, cons, max_stale_ms);
}

/* The ID or node after a prefix: "" answers 400. */
static const char *
path_arg(const char *p, const char *prefix)
{
	size_t	 n = strlen(prefix);

	return strncmp(p, prefix, n) == 0 ? p + n : NULL;
}

void
session_handler(struct evhttp_request *req, const char *path)
{
	struct query	 q;
	const char	*p = path + strlen(SESSION_PREFIX), *arg;
	int		 put = evhttp_request_get_command(req) ==
			    EVHTTP_REQ_PUT;

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	if (strcmp(p, "create") == 0 && put)
		session_create(req);
	else if ((arg = path_arg(p, "destroy/")) != NULL && put) {
		if (*arg == '\0')
			http_error(req, 400, "Missing session");
		else
			session_destroy(req, arg);
	} else if ((arg = path_arg(p, "renew/")) != NULL && put) {
		if (*arg == '\0')
			http_error(req, 400, "Missing session");
		else
			session_read(req, &q, CAT_Q_SESSION_RENEW, arg);
	} else if ((arg = path_arg(p, "info/")) != NULL && !put) {
		if (*arg == '\0')
			http_error(req, 400, "Missing session");
		else
			session_read(req, &q, CAT_Q_SESSION_INFO, arg);
	} else if ((arg = path_arg(p, "node/")) != NULL && !put) {
		if (*arg == '\0')
			http_error(req, 400, "Missing node name");
		else
			session_read(req, &q, CAT_Q_SESSION_NODE, arg);
	} else if (strcmp(p, "list") == 0 && !put)
		session_read(req, &q, CAT_Q_SESSION_LIST, "");
	else if (strcmp(p, "create") == 0 || strncmp(p, "destroy/", 8) == 0 ||
	    strncmp(p, "renew/", 6) == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "PUT");
		http_error(req, 405, "method not allowed");
	} else if (strncmp(p, "info/", 5) == 0 || strncmp(p, "node/", 5) == 0 ||
	    strcmp(p, "list") == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET");
		http_error(req, 405, "method not allowed");
	} else
		http_error(req, 404, "Invalid URL path: not a session "
		    "endpoint");
	query_free(&q);
}
