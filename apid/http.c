/*
 * The HTTP server: libevent's evhttp on the sockets the parent opened,
 * bounded headers and bodies, timeouts for slow clients, one routing
 * table, Consul's error conventions (a status and a one-line text/plain
 * reason), and the table of requests waiting for raftd.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "apid.h"
#include "config.h"
#include "imsg_types.h"
#include "log.h"

#define HTTP_MAX_HEADERS	(1024 * 1024)
#define HTTP_MAX_BODY		(1024 * 1024)
#define HTTP_TIMEOUT_SEC	600

#define ALL_METHODS	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | \
	EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | \
	EVHTTP_REQ_PATCH)

static const struct route routes[] = {
	{ "/v1/agent/self",	EVHTTP_REQ_GET,	agent_self },
	{ "/v1/status/leader",	EVHTTP_REQ_GET,	status_leader },
};

RB_HEAD(request_tree, request);
static int	request_cmp(struct request *, struct request *);
RB_GENERATE(request_tree, request, entry, request_cmp)

static struct request_tree	 requests = RB_INITIALIZER(&requests);
static uint32_t			 request_next_id = 1;
static struct evhttp		*http;

static int
request_cmp(struct request *a, struct request *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

static void
http_common_headers(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "X-Consul-Default-ACL-Policy", "allow");
}

void
http_error(struct evhttp_request *req, int code, const char *reason)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("http: evbuffer_new");
	http_common_headers(req);
	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	if (reason != NULL && *reason != '\0')
		evbuffer_add_printf(buf, "%s", reason);
	evhttp_send_reply(req, code, NULL, buf);
	evbuffer_free(buf);
}

/* ?pretty, or always in -dev as Consul does. */
int
http_pretty(struct evhttp_request *req)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*q = evhttp_uri_get_query(uri);
	struct evkeyvalq	 params;
	int			 pretty;

	if (apid_child.conf->dev)
		return 1;
	if (q == NULL)
		return 0;
	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(q, &params) == -1)
		return 0;
	pretty = evhttp_find_header(&params, "pretty") != NULL;
	evhttp_clear_headers(&params);
	return pretty;
}

/* Send a JSON document, which this call consumes. */
void
http_reply_json(struct evhttp_request *req, json_t *doc, int pretty)
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
	evbuffer_add(buf, text, strlen(text));
	if (pretty)
		evbuffer_add(buf, "\n", 1);
	free(text);
	http_common_headers(req);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_send_reply(req, 200, "OK", buf);
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
	do {
		r->id = request_next_id++;
	} while (r->id == 0 || RB_FIND(request_tree, &requests, r) != NULL);
	RB_INSERT(request_tree, &requests, r);
	return r;
}

void
request_send(struct request *r, uint32_t type, const void *data, size_t len)
{
	if (imsgev_compose(&apid_child.peers[PROC_RAFTD], type, r->id, -1,
	    data, len) == -1)
		fatal("http: compose");
}

/* raftd answered request imsg->hdr.peerid. */
void
request_answered(struct imsg *imsg)
{
	struct request	 key, *r;

	key.id = imsg->hdr.peerid;
	if ((r = RB_FIND(request_tree, &requests, &key)) == NULL)
		fatalx("http: raftd answered unknown request %u", key.id);
	RB_REMOVE(request_tree, &requests, r);
	r->done(r, imsg);
	free(r);
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

static void
http_route(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const struct route	*rt;
	const char		*raw;
	char			*path;
	size_t			 i, len;

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
		if (strcmp(rt->path, path) != 0)
			continue;
		if ((evhttp_request_get_command(req) & rt->methods) == 0)
			method_not_allowed(req, rt);
		else
			rt->handler(req, path);
		goto done;
	}
	if (strcmp(path, "/") == 0) {
		http_error(req, 200, "Consul Agent: UI disabled. To enable, "
		    "set ui_config.enabled=true in the agent configuration "
		    "and restart.");
	} else if (strstr(path, "/v1/") != NULL)
		http_error(req, 404, "Invalid URL path: not a recognized "
		    "HTTP API endpoint");
	else
		http_error(req, 404, "Invalid URL path: if attempting to use "
		    "the HTTP API, ensure the path starts with '/v1/'");
 done:
	free(path);
}

void
http_start(struct child *c)
{
	int	 fd, n = 0;

	if ((http = evhttp_new(c->base)) == NULL)
		fatalx("http: evhttp_new failed");
	evhttp_set_max_headers_size(http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http, HTTP_MAX_BODY);
	evhttp_set_timeout(http, HTTP_TIMEOUT_SEC);
	evhttp_set_allowed_methods(http, ALL_METHODS);
	evhttp_set_gencb(http, http_route, NULL);
	while ((fd = proc_child_socket(c, SOCKET_HTTP)) != -1) {
		if (evhttp_accept_socket_with_handle(http, fd) == NULL)
			fatalx("http: cannot serve socket %d", fd);
		n++;
	}
	if (n == 0)
		log_info("http: no HTTP listener (ports.http disabled)");
}
