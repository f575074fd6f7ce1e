/*
 * The HTTP server: libevent's evhttp on the sockets the parent opened,
 * bounded headers and bodies, timeouts for slow clients, one routing
 * table, Consul's error conventions (a status and a one-line text/plain
 * reason), and the table of requests waiting for raftd.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>

#include <tls.h>

#include "apid.h"
#include "config.h"
#include "duration.h"
#include "imsg_types.h"
#include "log.h"
#include "snapshot_format.h"
#include "tlsconf.h"

#define HTTP_MAX_HEADERS	(1024 * 1024)
/*
 * One bound for every route (evhttp 2.1 has no per-route one): the
 * largest snapshot restore.  Routes check their own, smaller limits.
 */
#define HTTP_MAX_BODY		SNAPSHOT_UPLOAD_MAX

#define ALL_METHODS	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | \
	EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | \
	EVHTTP_REQ_PATCH)

static const struct route routes[] = {
	{ "/v1/agent/self",	EVHTTP_REQ_GET,	agent_self },
	{ "/v1/agent/members",	EVHTTP_REQ_GET,	agent_members },
	{ "/v1/agent/join/",	EVHTTP_REQ_PUT,	agent_join },
	{ "/v1/agent/leave",	EVHTTP_REQ_PUT,	agent_leave },
	{ "/v1/agent/reload",	EVHTTP_REQ_PUT,	agent_reload },
	{ "/v1/agent/force-leave/", EVHTTP_REQ_PUT, agent_force_leave },
	{ "/v1/agent/services",	EVHTTP_REQ_GET,	agent_local_handler },
	{ "/v1/agent/service/",	EVHTTP_REQ_GET | EVHTTP_REQ_PUT,
				agent_local_handler },
	{ "/v1/agent/checks",	EVHTTP_REQ_GET,	agent_local_handler },
	{ "/v1/agent/check/",	EVHTTP_REQ_PUT,	agent_local_handler },
	{ "/v1/agent/maintenance", EVHTTP_REQ_PUT, agent_local_handler },
	{ "/v1/agent/token/",	EVHTTP_REQ_PUT,	agent_token_handler },
	{ "/v1/event/fire/",	EVHTTP_REQ_PUT,	user_event_fire },
	{ "/v1/event/list",	EVHTTP_REQ_GET,	user_event_list },
	{ "/v1/operator/raft/configuration", EVHTTP_REQ_GET,
				operator_raft_configuration },
	{ "/v1/operator/raft/peer", EVHTTP_REQ_DELETE, operator_raft_peer },
	{ "/v1/operator/raft/transfer-leader", EVHTTP_REQ_POST,
				operator_raft_transfer_leader },
	{ "/v1/operator/autopilot/health", EVHTTP_REQ_GET,
				operator_autopilot_health },
	{ "/v1/operator/keyring", EVHTTP_REQ_GET | EVHTTP_REQ_POST |
				EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE,
				operator_keyring },
	{ "/v1/catalog/",	EVHTTP_REQ_GET | EVHTTP_REQ_PUT,
				catalog_handler },
	{ "/v1/health/",	EVHTTP_REQ_GET,	health_handler },
	{ "/v1/coordinate/",	EVHTTP_REQ_GET | EVHTTP_REQ_PUT,
	    coordinate_handler },
	{ "/v1/session/",	EVHTTP_REQ_GET | EVHTTP_REQ_PUT,
	    session_handler },
	{ "/v1/query",		EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT, query_handler },
	{ "/v1/query/",		EVHTTP_REQ_GET | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE, query_handler },
	{ "/v1/status/leader",	EVHTTP_REQ_GET,	status_leader },
	{ "/v1/status/peers",	EVHTTP_REQ_GET,	status_peers },
	{ "/v1/txn",		EVHTTP_REQ_PUT,	txn_handler },
	{ "/v1/snapshot",	EVHTTP_REQ_GET | EVHTTP_REQ_PUT,
				snapshot_handler },
	{ "/v1/kv/",		EVHTTP_REQ_GET | EVHTTP_REQ_PUT |
				EVHTTP_REQ_DELETE, kv_handler },
	{ "/v1/acl/",		EVHTTP_REQ_GET | EVHTTP_REQ_PUT |
				EVHTTP_REQ_DELETE, acl_handler },
	{ "/v1/internal/ui/",	EVHTTP_REQ_GET,	ui_internal_handler },
};

RB_HEAD(request_tree, request);
static int	request_cmp(struct request *, struct request *);
RB_GENERATE(request_tree, request, entry, request_cmp)

static struct request_tree	 requests = RB_INITIALIZER(&requests);
static uint32_t			 request_next_id = 1;
static struct evhttp		*http;
static struct evhttp		*https;		/* NULL: no HTTPS port */
static struct tlsbev_server_ctx *https_tls;	/* its server context */
/* ?dc of the request being routed: request_new() copies it. */
static char			 request_dc[64];

static int
request_cmp(struct request *a, struct request *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

static void
http_common_headers(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	const struct config	*c = apid_child.conf;

	/* Consul's "allow" when ACLs are off, else acl.default_policy. */
	evhttp_add_header(h, "X-Consul-Default-ACL-Policy", c->acl.enabled &&
	    c->acl.default_policy != NULL ? c->acl.default_policy : "allow");
}

/* An error, with the common headers when common is set. */
static void
http_error_reply(struct evhttp_request *req, int code, const char *reason,
    int common)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("http: evbuffer_new");
	if (common)
		http_common_headers(req);
	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	if (reason != NULL && *reason != '\0')
		evbuffer_add_printf(buf, "%s", reason);
	evhttp_send_reply(req, code, NULL, buf);
	evbuffer_free(buf);
}

void
http_error(struct evhttp_request *req, int code, const char *reason)
{
	http_error_reply(req, code, reason, 1);
}

/* ?pretty, or always in -dev as Consul does. */
int
http_pretty(struct evhttp_request *req)
{
	struct query	 q;
	int		 pretty;

	if (apid_child.conf->dev)
		return 1;
	if (query_parse(req, &q) == -1)
		return 0;
	pretty = query_has(&q, "pretty");
	query_free(&q);
	return pretty;
}

/*
 * jansson's integers are signed, while Consul's Flags are a uint64 that
 * lock helpers fill to the top bit.  Such values are built as their
 * two's complement and turned back here.  A real "Flags" key is the only
 * place the sequence can appear: inside a string the quotes are escaped.
 */
static void
json_add_fixing_flags(struct evbuffer *buf, const char *text)
{
	const char		*p = text, *hit, *num;
	char			*end, out[32];
	unsigned long long	 v;

	while ((hit = strstr(p, "\"Flags\":")) != NULL) {
		num = hit + 8;
		while (*num == ' ')
			num++;
		if (*num != '-') {
			evbuffer_add(buf, p, num - p);
			p = num;
			continue;
		}
		evbuffer_add(buf, p, num - p);
		v = strtoull(num + 1, &end, 10);
		snprintf(out, sizeof(out), "%llu", 0ULL - v);
		evbuffer_add(buf, out, strlen(out));
		p = end;
	}
	evbuffer_add(buf, p, strlen(p));
}

/* Send a JSON document, which this call consumes. */
void
http_reply_json(struct evhttp_request *req, json_t *doc, int pretty)
{
	http_reply_json_status(req, 200, doc, pretty);
}

/* The same with another status, such as /v1/txn's 409. */
void
http_reply_json_status(struct evhttp_request *req, int code, json_t *doc,
    int pretty)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf;
	char			*text;

	text = json_dumps(doc, pretty ? JSON_INDENT(4) | JSON_ENCODE_ANY :
	    JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(doc);
	if (text == NULL) {
		http_error(req, 500, "cannot encode JSON");
		return;
	}
	if ((buf = evbuffer_new()) == NULL)
		fatalx("http: evbuffer_new");
	json_add_fixing_flags(buf, text);
	if (pretty)
		evbuffer_add(buf, "\n", 1);
	free(text);
	http_common_headers(req);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_send_reply(req, code, NULL, buf);
	evbuffer_free(buf);
}

struct request *
request_new(struct evhttp_request *req, request_done_fn done)
{
	struct request	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->req = req;
	r->done = done;
	r->pretty = http_pretty(req);
	strlcpy(r->dc, request_dc, sizeof(r->dc));
	do {
		r->id = request_next_id++;
	} while (r->id == 0 || RB_FIND(request_tree, &requests, r) != NULL);
	RB_INSERT(request_tree, &requests, r);
	return r;
}

/*
 * To raftd; a request for another datacenter goes inside an
 * IMSG_DC_REQ, when it is of a kind that may be forwarded.
 */
void
request_send(struct request *r, uint32_t type, const void *data, size_t len)
{
	struct mpack_out	 out;

	if (r->dc[0] != '\0' && (type == IMSG_KV_READ ||
	    type == IMSG_KV_WRITE || type == IMSG_CAT_READ ||
	    type == IMSG_CAT_WRITE || type == IMSG_RAFT_CONF_REQ ||
	    type == IMSG_STATUS_LEADER_REQ || type == IMSG_STATUS_PEERS_REQ)) {
		mpack_out_init(&out);
		msgpack_pack_array(&out.pk, 3);
		mpack_str(&out.pk, r->dc);
		msgpack_pack_uint32(&out.pk, type);
		mpack_bin(&out.pk, data, len);
		if (imsgev_compose(&apid_child.peers[PROC_RAFTD], IMSG_DC_REQ,
		    r->id, -1, out.sbuf.data, out.sbuf.size) == -1)
			fatal("http: compose");
		mpack_out_free(&out);
		return;
	}
	if (imsgev_compose(&apid_child.peers[PROC_RAFTD], type, r->id, -1,
	    data, len) == -1)
		fatal("http: compose");
}

static struct request *
request_find(uint32_t id)
{
	struct request	 key, *r;

	key.id = id;
	if ((r = RB_FIND(request_tree, &requests, &key)) == NULL)
		fatalx("http: raftd answered unknown request %u", id);
	return r;
}

void
request_free(struct request *r)
{
	if (r->items != NULL)
		json_decref(r->items);
	if (r->rawbuf != NULL)
		evbuffer_free(r->rawbuf);
	if (r->reply != NULL)
		json_decref(r->reply);
	if (r->ctx != NULL && r->ctx_free != NULL)
		r->ctx_free(r->ctx);
	free(r);
}

/* One streamed result of request imsg->hdr.peerid. */
void
request_item(struct imsg *imsg)
{
	struct request	*r = request_find(imsg->hdr.peerid);

	if (r->item == NULL)
		fatalx("http: unexpected result for request %u", r->id);
	r->item(r, imsg);
}

/*
 * raftd answered request imsg->hdr.peerid.  When the client is gone,
 * evhttp still holds the request for us: replying frees it.
 */
void
request_answered(struct imsg *imsg)
{
	struct request	*r = request_find(imsg->hdr.peerid);

	RB_REMOVE(request_tree, &requests, r);
	if (r->blocking && !r->gone)
		evhttp_connection_set_closecb(
		    evhttp_request_get_connection(r->req), NULL, NULL);
	if (r->gone)
		evhttp_send_reply(r->req, 500, NULL, NULL);
	else
		r->done(r, imsg);
	request_free(r);
}

/* A parked query's client closed the connection: let raftd forget it. */
static void
request_client_gone(struct evhttp_connection *evcon, void *arg)
{
	struct request	*r = arg;

	r->gone = 1;
	request_send(r, IMSG_REQ_CANCEL, NULL, 0);
}

/* Watch for the client going away while raftd holds the query. */
void
request_blocking(struct request *r)
{
	struct evhttp_connection *evcon;

	if ((evcon = evhttp_request_get_connection(r->req)) == NULL)
		return;
	r->blocking = 1;
	evhttp_connection_set_closecb(evcon, request_client_gone, r);
}

/*
 * Go's url.ParseQuery, which Consul uses: pairs split on '&', a name
 * alone ("?recurse") is present with an empty value, '+' is a space,
 * %XX is decoded, and a decoded value may hold any byte but NUL (a
 * ?filter may span lines).  evhttp's own parser refuses a name alone,
 * and evhttp_add_header() a line break, so the pairs go in directly;
 * evhttp_clear_headers() frees them as it frees its own.
 */
int
query_parse(struct evhttp_request *req, struct query *q)
{
	struct evkeyval	*kv;
	const char	*qs;
	char		*copy, *s, *pair, *eq, *name, *value;
	size_t		 nlen, vlen;
	int		 rc = 0;

	TAILQ_INIT(&q->params);
	qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (qs == NULL || *qs == '\0')
		return 0;
	if ((copy = strdup(qs)) == NULL)
		return -1;
	s = copy;
	while (rc == 0 && (pair = strsep(&s, "&")) != NULL) {
		if (*pair == '\0')
			continue;
		if ((eq = strchr(pair, '=')) != NULL)
			*eq++ = '\0';
		name = evhttp_uridecode(pair, 1, &nlen);
		value = evhttp_uridecode(eq ? eq : "", 1, &vlen);
		if (name == NULL || value == NULL || nlen != strlen(name) ||
		    vlen != strlen(value) ||
		    (kv = calloc(1, sizeof(*kv))) == NULL) {
			free(name);
			free(value);
			rc = -1;
			continue;
		}
		kv->key = name;
		kv->value = value;
		TAILQ_INSERT_TAIL(&q->params, kv, next);
	}
	free(copy);
	if (rc == -1)
		evhttp_clear_headers(&q->params);
	return rc;
}

void
query_free(struct query *q)
{
	evhttp_clear_headers(&q->params);
}

const char *
query_get(struct query *q, const char *name)
{
	return evhttp_find_header(&q->params, name);
}

/* Consul's boolean parameters count by presence: ?x, ?x=, ?x=1. */
int
query_has(struct query *q, const char *name)
{
	return query_get(q, name) != NULL;
}

/* 0 absent, 1 present and parsed, -1 present and not a number. */
int
query_u64(struct query *q, const char *name, uint64_t *out)
{
	const char		*v = query_get(q, name);
	char			*end;
	unsigned long long	 n;

	if (v == NULL)
		return 0;
	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (*end != '\0' || errno == ERANGE)
		return -1;
	*out = n;
	return 1;
}

/*
 * ?index and ?wait of a blocking query; returns an error text for a 400
 * or NULL.  wait defaults to default_query_time, is capped at
 * max_query_time, and only matters with an index.
 */
const char *
query_blocking(struct query *q, uint64_t *index, uint64_t *wait_ms)
{
	struct config	*c = apid_child.conf;
	const char	*w;
	int64_t		 ns, max;

	*index = 0;
	*wait_ms = 0;
	if (query_u64(q, "index", index) == -1)
		return "Invalid index";
	ns = c->default_query_time > 0 ? c->default_query_time :
	    300 * 1000000000LL;
	max = c->max_query_time > 0 ? c->max_query_time : 600 * 1000000000LL;
	if ((w = query_get(q, "wait")) != NULL) {
		if (duration_parse(w, &ns) == -1 || ns < 0)
			return "Invalid wait time";
	}
	if (ns > max)
		ns = max;
	*wait_ms = ns / 1000000;
	return NULL;
}

/*
 * ?stale / ?consistent / ?max_stale: *cons is a kv_consistency; a
 * max_stale implies ?stale, as in Consul.  An error text for a 400, or
 * NULL.  max_stale_ms may be NULL where it does not apply.
 */
const char *
query_consistency(struct query *q, int *cons, uint64_t *max_stale_ms)
{
	const char	*v;
	int64_t		 ns = 0;
	int		 stale, consistent;

	stale = query_has(q, "stale");
	consistent = query_has(q, "consistent");
	if ((v = query_get(q, "max_stale")) != NULL) {
		if (duration_parse(v, &ns) == -1 || ns < 0)
			return "Invalid max_stale value";
		if (ns > 0)
			stale = 1;
	}
	if (max_stale_ms != NULL)
		*max_stale_ms = (uint64_t)ns / 1000000;
	if (stale && consistent)
		return "Cannot specify ?stale with ?consistent, conflicting "
		    "semantics.";
	*cons = stale ? KV_CONS_STALE : consistent ? KV_CONS_CONSISTENT :
	    KV_CONS_DEFAULT;
	return NULL;
}

/* The end of a read from raftd, checked; error is a C string after. */
void
read_end_get(struct imsg *imsg, struct imsg_read_end *end)
{
	imsg_need_len(imsg, sizeof(*end), "raftd");
	memcpy(end, imsg->data, sizeof(*end));
	end->error[sizeof(end->error) - 1] = '\0';
}

void
http_read_headers(struct evhttp_request *req, const struct imsg_read_end *e)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	char			 buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)e->index);
	evhttp_add_header(h, "X-Consul-Index", buf);
	evhttp_add_header(h, "X-Consul-KnownLeader", e->known_leader ?
	    "true" : "false");
	snprintf(buf, sizeof(buf), "%llu",
	    (unsigned long long)e->last_contact_ms);
	evhttp_add_header(h, "X-Consul-LastContact", buf);
	evhttp_add_header(h, "X-Consul-Effective-Consistency",
	    e->consistency == KV_CONS_STALE ? "stale" :
	    e->consistency == KV_CONS_CONSISTENT ? "consistent" : "leader");
	if (e->filtered)
		evhttp_add_header(h, "X-Consul-Results-Filtered-By-ACLs",
		    "true");
}

/* A body sent as it is, with its own content type. */
void
http_reply_text(struct evhttp_request *req, int code, const char *type,
    const void *body, size_t len)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("http: evbuffer_new");
	if (len > 0)
		evbuffer_add(buf, body, len);
	http_common_headers(req);
	if (type != NULL)
		evhttp_add_header(h, "Content-Type", type);
	evhttp_send_reply(req, code, NULL, buf);
	evbuffer_free(buf);
}

static int
path_is_printable(const char *path)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)path; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static void
method_not_allowed(struct evhttp_request *req, const struct route *rt)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	char			 allow[64], reason[64];
	const char		*m;

	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:	m = "GET"; break;
	case EVHTTP_REQ_POST:	m = "POST"; break;
	case EVHTTP_REQ_HEAD:	m = "HEAD"; break;
	case EVHTTP_REQ_PUT:	m = "PUT"; break;
	case EVHTTP_REQ_DELETE:	m = "DELETE"; break;
	case EVHTTP_REQ_PATCH:	m = "PATCH"; break;
	default:		m = "OPTIONS"; break;
	}
	snprintf(allow, sizeof(allow), "OPTIONS%s%s%s%s",
	    rt->methods & EVHTTP_REQ_GET ? ",GET" : "",
	    rt->methods & EVHTTP_REQ_PUT ? ",PUT" : "",
	    rt->methods & EVHTTP_REQ_POST ? ",POST" : "",
	    rt->methods & EVHTTP_REQ_DELETE ? ",DELETE" : "");
	evhttp_add_header(h, "Allow", allow);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_OPTIONS) {
		http_common_headers(req);
		evhttp_send_reply(req, 200, "OK", NULL);
		return;
	}
	snprintf(reason, sizeof(reason), "method %s not allowed", m);
	http_error(req, 405, reason);
}

/*
 * ?dc= (or ?datacenter=) naming another datacenter: the requests of the
 * endpoints that forward go there (request_send() wraps them); the
 * agent's own endpoints ignore it, as Consul's do, and the others can
 * only answer for this datacenter.  0 to go on, -1 when answered.
 */
static int
route_dc(struct evhttp_request *req, const char *path)
{
	static const char	*fwd[] = { "/v1/kv/", "/v1/txn", "/v1/catalog/",
				    "/v1/health/", "/v1/session/",
				    "/v1/operator/raft/", "/v1/status/",
				    "/v1/query", "/v1/coordinate/",
				    "/v1/internal/ui/", "/v1/acl/" };
	struct query		 q;
	const char		*dc, *field = "dc";
	char			 lc[sizeof(request_dc)];
	size_t			 i;

	request_dc[0] = '\0';
	if (strncmp(path, "/v1/agent/", 10) == 0 ||
	    strcmp(path, "/v1/catalog/datacenters") == 0 ||
	    strcmp(path, "/v1/coordinate/datacenters") == 0 ||
	    query_parse(req, &q) == -1)
		return 0;	/* a bad query string: the handler says so */
	if ((dc = query_get(&q, "dc")) == NULL) {
		dc = query_get(&q, "datacenter");
		field = "datacenter";
	}
	if (dc == NULL || *dc == '\0') {
		query_free(&q);
		return 0;
	}
	for (i = 0; dc[i] != '\0' && i < sizeof(lc) - 1; i++)
		lc[i] = dc[i] >= 'A' && dc[i] <= 'Z' ? dc[i] - 'A' + 'a' :
		    dc[i];
	lc[i] = '\0';
	if (dc[i] != '\0' || !dc_name_valid(lc)) {
		query_free(&q);
		http_error(req, 400, strcmp(field, "dc") == 0 ?
		    "Bad request: invalid datacenter name in ?dc" :
		    "Bad request: invalid datacenter name in ?datacenter");
		return -1;
	}
	query_free(&q);
	if (strcmp(lc, apid_child.conf->datacenter) == 0)
		return 0;
	for (i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		if (strncmp(path, fwd[i], strlen(fwd[i])) == 0) {
			strlcpy(request_dc, lc, sizeof(request_dc));
			return 0;
		}
	http_error(req, 500, "No path to datacenter");
	return -1;
}

/* A route held back by acl_gate(): run it, for datacenter dc ("": ours). */
void
http_route_resume(struct evhttp_request *req, const char *path,
    const char *dc, route_handler_fn handler)
{
	strlcpy(request_dc, dc, sizeof(request_dc));
	handler(req, path);
	request_dc[0] = '\0';
}

static void
http_route(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const struct route	*rt;
	const char		*raw;
	char			*path;
	size_t			 i, len, rlen;

	raw = evhttp_uri_get_path(uri);
	if (raw == NULL || *raw == '\0')
		raw = "/";
	if ((path = evhttp_uridecode(raw, 0, &len)) == NULL) {
		http_error(req, 500, "out of memory");
		return;
	}
	/* An encoded NUL would end the string early: len tells. */
	if (len != strlen(path) || !path_is_printable(path)) {
		http_error(req, 400, "Bad request: invalid characters in "
		    "the URL path");
		goto done;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		rt = &routes[i];
		rlen = strlen(rt->path);
		if (rt->path[rlen - 1] == '/' ? strncmp(rt->path, path,
		    rlen) != 0 : strcmp(rt->path, path) != 0)
			continue;
		if ((evhttp_request_get_command(req) & rt->methods) == 0)
			method_not_allowed(req, rt);
		else if (route_dc(req, path) == 0) {
			if (!acl_gate(req, path, rt->handler))
				rt->handler(req, path);
			request_dc[0] = '\0';
		}
		goto done;
	}
	if (ui_route(req, path))
		goto done;
	if (strcmp(path, "/") == 0) {
		http_error(req, 200, "Consul Agent: UI disabled. To enable, "
		    "set ui_config.enabled=true in the agent configuration "
		    "and restart.");
	} else if (strstr(path, "/v1/") != NULL)	/* as Consul: bare */
		http_error_reply(req, 404, "Invalid URL path: not a "
		    "recognized HTTP API endpoint", 0);
	else
		http_error_reply(req, 404, "Invalid URL path: if attempting "
		    "to use the HTTP API, ensure the path starts with '/v1/'",
		    0);
 done:
	free(path);
}

/*
 * evhttp has one timeout for a connection's reads and writes, and it
 * must not cut a blocking query that waits max_query_time plus jitter,
 * nor an event listing, which waits up to EVENT_WAIT_MAX_MS whatever
 * max_query_time says.
 */
static int
http_timeout(const struct config *c)
{
	int64_t	 max = c->max_query_time > 0 ? c->max_query_time :
		    600 * 1000000000LL;

	if (max < EVENT_WAIT_MAX_MS * 1000000LL)
		max = EVENT_WAIT_MAX_MS * 1000000LL;
	return max / 1000000000LL * 17 / 16 + 30;
}

static struct evhttp *
http_server(struct child *c)
{
	struct evhttp	*h;

	if ((h = evhttp_new(c->base)) == NULL)
		fatalx("http: evhttp_new failed");
	evhttp_set_max_headers_size(h, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(h, HTTP_MAX_BODY);
	evhttp_set_timeout(h, http_timeout(c->conf));
	evhttp_set_allowed_methods(h, ALL_METHODS);
	evhttp_set_gencb(h, http_route, NULL);
	return h;
}

/* Each HTTPS connection: TLS under evhttp, with the context in force. */
static struct bufferevent *
https_bev(struct event_base *base, void *arg)
{
	struct timeval	 tv = { 5, 0 };
	int64_t		 ns = apid_child.conf->limits.https_handshake_timeout;

	if (ns > 0) {
		tv.tv_sec = ns / 1000000000;
		tv.tv_usec = ns % 1000000000 / 1000;
	}
	return tlsbev_server(base, https_tls, -1, TLSBEV_LOG, &tv);
}

/*
 * The HTTPS server context from the material the parent sent last; a
 * reload that libtls refuses keeps the one in force.
 */
void
https_tls_load(struct child *c)
{
	struct tls_material	*m;
	struct tls_config	*cfg;
	struct tls		*srv = NULL;
	char			 err[512];

	if ((m = proc_child_take_tls(c)) == NULL)
		return;
	if (!tls_files_have_cert(&m->https))
		goto done;
	if ((cfg = tlsconf_server(&c->conf->tls.https, &m->https, err,
	    sizeof(err))) != NULL) {
		if ((srv = tls_server()) == NULL)
			fatalx("http: tls_server");
		if (tls_configure(srv, cfg) == -1) {
			snprintf(err, sizeof(err), "%s", tls_error(srv));
			tls_free(srv);
			srv = NULL;
		}
		tls_config_free(cfg);
	}
	if (srv == NULL) {
		if (https_tls == NULL)
			fatalx("http: tls: %s", err);
		log_warnx("http: tls: reload: %s; keeping the certificates in "
		    "use", err);
		goto done;
	}
	tlsbev_server_retire(https_tls);
	https_tls = tlsbev_server_ctx(srv);
 done:
	tls_material_clear(m);
	free(m);
}

void
http_start(struct child *c)
{
	int	 fd, n = 0, ns = 0;

	http = http_server(c);
	while ((fd = proc_child_socket(c, SOCKET_HTTP)) != -1) {
		if (evhttp_accept_socket_with_handle(http, fd) == NULL)
			fatalx("http: cannot serve socket %d", fd);
		n++;
	}
	https_tls_load(c);
	while ((fd = proc_child_socket(c, SOCKET_HTTPS)) != -1) {
		if (https_tls == NULL)
			fatalx("http: an HTTPS socket, and no certificate");
		if (https == NULL) {
			https = http_server(c);
			evhttp_set_bevcb(https, https_bev, NULL);
		}
		if (evhttp_accept_socket_with_handle(https, fd) == NULL)
			fatalx("http: cannot serve socket %d", fd);
		ns++;
	}
	if (n == 0)
		log_info("http: no HTTP listener (ports.http disabled)");
	if (ns > 0)
		log_info("http: https on %d socket%s%s", ns, ns > 1 ? "s" : "",
		    c->conf->tls.https.verify_incoming == 1 ?
		    ", client certificates required" : "");
}
