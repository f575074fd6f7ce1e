/*
 * The agent's own services and checks (never forwarded):
 *
 *   GET /v1/agent/services, /v1/agent/service/<id>, /v1/agent/checks
 *       (the lists take ?filter)
 *   PUT /v1/agent/service/register[?replace-existing-checks]
 *   PUT /v1/agent/service/deregister/<id>
 *   PUT /v1/agent/check/register, /v1/agent/check/deregister/<id>
 *   PUT /v1/agent/check/pass|warn|fail/<id>[?note=], check/update/<id>
 *   PUT /v1/agent/service/maintenance/<id>?enable=&reason=
 *   PUT /v1/agent/maintenance?enable=&reason=
 *
 * Bodies are decoded as Consul's agent does: field names in any case,
 * its few snake_case aliases, unknown fields refused, durations as a Go
 * duration string or nanoseconds.  raftd (local.c) keeps the state.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "agent_codec.h"
#include "apid.h"
#include "catalog.h"
#include "config.h"
#include "duration.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"

#define AGENT_BODY_MAX		(1024 * 1024)

struct jerr {
	char	 text[512];
	int	 code;
};

static int
fail(struct jerr *e, int code, const char *fmt, const char *arg)
{
	e->code = code;
	snprintf(e->text, sizeof(e->text), fmt, arg != NULL ? arg : "");
	return -1;
}

/* A field by any of its names, without regard to case. */
static json_t *
field(json_t *o, const char *const *names)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach(o, k, v)
		for (i = 0; names[i] != NULL; i++)
			if (strcasecmp(k, names[i]) == 0)
				return json_is_null(v) ? NULL : v;
	return NULL;
}

/* Refuse fields outside names, as Go's DisallowUnknownFields. */
static int
known_fields(json_t *o, const char *const *names, struct jerr *e)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach(o, k, v) {
		for (i = 0; names[i] != NULL; i++)
			if (strcasecmp(k, names[i]) == 0)
				break;
		if (names[i] == NULL)
			return fail(e, 400, "Request decode failed: json: "
			    "unknown field \"%s\"", k);
	}
	return 0;
}

static int
get_str(json_t *o, const char *const *names, size_t max, char **out,
    struct jerr *e)
{
	json_t	*v = field(o, names);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return fail(e, 400, "Request decode failed: invalid %s",
		    names[0]);
	if ((*out = strdup(json_string_value(v))) == NULL)
		return fail(e, 500, "out of memory%s", NULL);
	return 0;
}

/* A Go duration string or a number of nanoseconds, as ms. */
static int
get_dur(json_t *o, const char *const *names, int64_t *ms, char **text,
    struct jerr *e)
{
	json_t	*v = field(o, names);
	int64_t	 ns;
	char	 buf[32];

	*ms = 0;
	if (text != NULL)
		*text = NULL;
	if (v == NULL)
		return 0;
	if (json_is_integer(v))
		ns = json_integer_value(v);
	else if (!json_is_string(v) ||
	    duration_parse(json_string_value(v), &ns) == -1)
		return fail(e, 400, "Request decode failed: invalid duration "
		    "for %s", names[0]);
	if (ns < 0)
		return fail(e, 400, "Request decode failed: negative %s",
		    names[0]);
	*ms = ns / 1000000;
	if (text != NULL && ns > 0 &&
	    (*text = strdup(duration_format(ns, buf, sizeof(buf)))) == NULL)
		return fail(e, 500, "out of memory%s", NULL);
	return 0;
}

static int
get_int(json_t *o, const char *const *names, int64_t lo, int64_t hi,
    int64_t *out, struct jerr *e)
{
	json_t	*v = field(o, names);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi)
		return fail(e, 400, "Request decode failed: invalid %s",
		    names[0]);
	*out = json_integer_value(v);
	return 0;
}

static int
get_strs(json_t *o, const char *const *names, char ***out, size_t *n,
    struct jerr *e)
{
	json_t	*v = field(o, names), *s;
	size_t	 i;

	*out = NULL;
	*n = 0;
	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > CAT_LIST_MAX)
		return fail(e, 400, "Request decode failed: invalid %s",
		    names[0]);
	if (json_array_size(v) == 0)
		return 0;
	if ((*out = calloc(json_array_size(v), sizeof(**out))) == NULL)
		return fail(e, 500, "out of memory%s", NULL);
	json_array_foreach(v, i, s) {
		if (!json_is_string(s) || json_string_length(s) > CAT_STR_MAX ||
		    strlen(json_string_value(s)) != json_string_length(s))
			return fail(e, 400, "Request decode failed: invalid "
			    "%s", names[0]);
		if (((*out)[i] = strdup(json_string_value(s))) == NULL)
			return fail(e, 500, "out of memory%s", NULL);
		(*n)++;
	}
	return 0;
}

static int
get_map(json_t *o, const char *const *names, struct cat_kv **out, size_t *n,
    struct jerr *e)
{
	json_t		*v = field(o, names), *s;
	const char	*k;

	*out = NULL;
	*n = 0;
	if (v == NULL)
		return 0;
	if (!json_is_object(v) || json_object_size(v) > CAT_LIST_MAX)
		return fail(e, 400, "Request decode failed: invalid %s",
		    names[0]);
	if (json_object_size(v) == 0)
		return 0;
	if ((*out = calloc(json_object_size(v), sizeof(**out))) == NULL)
		return fail(e, 500, "out of memory%s", NULL);
	json_object_foreach(v, k, s) {
		if (!json_is_string(s) || strlen(k) > CAT_STR_MAX ||
		    json_string_length(s) > CAT_STR_MAX ||
		    strlen(json_string_value(s)) != json_string_length(s))
			return fail(e, 400, "Request decode failed: invalid "
			    "%s", names[0]);
		if (((*out)[*n].key = strdup(k)) == NULL ||
		    ((*out)[*n].value = strdup(json_string_value(s))) == NULL)
			return fail(e, 500, "out of memory%s", NULL);
		(*n)++;
	}
	return 0;
}

#define N(...)	((const char *const []){ __VA_ARGS__, NULL })

static const char *const check_fields[] = {
	"Name", "ID", "CheckID", "Notes", "Status", "ServiceID", "service_id",
	"HTTP", "Method", "Header", "Body", "TCP", "TTL", "Interval",
	"Timeout", "DeregisterCriticalServiceAfter",
	"deregister_critical_service_after", "TLSSkipVerify",
	"tls_skip_verify", "TLSServerName", "tls_server_name", "Args",
	"ScriptArgs", "args", "script_args", "SuccessBeforePassing",
	"FailuresBeforeWarning", "FailuresBeforeCritical", "OutputMaxSize",
	"DisableRedirects", "Token", "Namespace", "Partition", NULL
};

/*
 * A check definition.  in_service: embedded in a service registration
 * (its CheckID and Name default from the service; idx counts them).
 */
static int
decode_check(json_t *o, const char *sid, const char *sname, int idx,
    int nchecks, struct agent_check *a, struct jerr *e)
{
	struct config	*c = apid_child.conf;
	json_t		*h, *vals, *s;
	const char	*k;
	char		 buf[CAT_STR_MAX + 64];
	size_t		 i, n;

	memset(a, 0, sizeof(*a));
	if (!json_is_object(o))
		return fail(e, 400, "Request decode failed: invalid check%s",
		    NULL);
	if (known_fields(o, check_fields, e) == -1 ||
	    get_str(o, N("Name"), CAT_STR_MAX, &a->c.name, e) == -1 ||
	    get_str(o, sid != NULL ? N("CheckID", "ID") : N("ID", "CheckID"),
	    CAT_STR_MAX, &a->c.check_id, e) == -1 ||
	    get_str(o, N("Notes"), CAT_NOTES_MAX, &a->c.notes, e) == -1 ||
	    get_str(o, N("Status"), 16, &a->c.status, e) == -1 ||
	    get_str(o, N("ServiceID", "service_id"), CAT_STR_MAX,
	    &a->c.service_id, e) == -1 ||
	    get_str(o, N("HTTP"), CAT_STR_MAX, &a->c.http, e) == -1 ||
	    get_str(o, N("Method"), 32, &a->method, e) == -1 ||
	    get_str(o, N("Body"), CAT_OUTPUT_MAX, &a->body, e) == -1 ||
	    get_str(o, N("TCP"), CAT_STR_MAX, &a->c.tcp, e) == -1 ||
	    get_dur(o, N("TTL"), &a->ttl_ms, NULL, e) == -1 ||
	    get_dur(o, N("Interval"), &a->interval_ms, &a->c.interval,
	    e) == -1 ||
	    get_dur(o, N("Timeout"), &a->timeout_ms, &a->c.timeout, e) == -1 ||
	    get_dur(o, N("DeregisterCriticalServiceAfter",
	    "deregister_critical_service_after"), &a->dereg_after_ms, NULL,
	    e) == -1 ||
	    get_strs(o, N("Args", "ScriptArgs", "args", "script_args"),
	    &a->args, &a->nargs, e) == -1 ||
	    get_int(o, N("SuccessBeforePassing"), 0, 1 << 20,
	    &a->success_before_passing, e) == -1 ||
	    get_int(o, N("FailuresBeforeWarning"), 0, 1 << 20,
	    &a->failures_before_warning, e) == -1 ||
	    get_int(o, N("FailuresBeforeCritical"), 0, 1 << 20,
	    &a->failures_before_critical, e) == -1)
		return -1;
	a->tls_skip_verify = json_is_true(field(o, N("TLSSkipVerify",
	    "tls_skip_verify")));
	if ((h = field(o, N("Header"))) != NULL) {
		if (!json_is_object(h))
			return fail(e, 400, "Request decode failed: invalid "
			    "Header%s", NULL);
		n = 0;
		json_object_foreach(h, k, vals)
			n += json_is_array(vals) ? json_array_size(vals) : 1;
		if (n > CAT_LIST_MAX || (n > 0 && (a->headers = calloc(n,
		    sizeof(*a->headers))) == NULL))
			return fail(e, 400, "Request decode failed: invalid "
			    "Header%s", NULL);
		json_object_foreach(h, k, vals) {
			if (!json_is_array(vals))
				return fail(e, 400, "Request decode failed: "
				    "invalid Header%s", NULL);
			json_array_foreach(vals, i, s) {
				if (!json_is_string(s) ||
				    strlen(k) > CAT_STR_MAX ||
				    json_string_length(s) > CAT_STR_MAX)
					return fail(e, 400, "Request decode "
					    "failed: invalid Header%s", NULL);
				a->headers[a->nheaders].key = strdup(k);
				a->headers[a->nheaders].value =
				    strdup(json_string_value(s));
				if (a->headers[a->nheaders].key == NULL ||
				    a->headers[a->nheaders++].value == NULL)
					return fail(e, 500, "out of memory%s",
					    NULL);
			}
		}
	}
	/* Defaults, as Consul's. */
	if (sid != NULL) {
		if (a->c.check_id == NULL) {
			if (nchecks > 1)
				snprintf(buf, sizeof(buf), "service:%s:%d",
				    sid, idx + 1);
			else
				snprintf(buf, sizeof(buf), "service:%s", sid);
			a->c.check_id = strdup(buf);
		}
		if (a->c.name == NULL) {
			snprintf(buf, sizeof(buf), "Service '%s' check", sname);
			a->c.name = strdup(buf);
		}
		free(a->c.service_id);
		a->c.service_id = strdup(sid);
	} else {
		if (a->c.name == NULL || *a->c.name == '\0')
			return fail(e, 400, "Missing check name%s", NULL);
		if (a->c.check_id == NULL)
			a->c.check_id = strdup(a->c.name);
	}
	if (a->c.check_id == NULL || a->c.name == NULL)
		return fail(e, 500, "out of memory%s", NULL);
	if (strlen(a->c.check_id) > CAT_STR_MAX ||
	    strlen(a->c.name) > CAT_STR_MAX)
		return fail(e, 400, "Invalid check: CheckID or Name too "
		    "long%s", NULL);
	if (a->c.status == NULL || *a->c.status == '\0') {
		free(a->c.status);
		a->c.status = strdup(CAT_CRITICAL);
	} else if (!cat_status_valid(a->c.status))
		return fail(e, 400, "Bad check status%s", NULL);
	if (a->ttl_ms > 0 && a->interval_ms > 0)
		return fail(e, 400, "Invalid check: Interval and TTL cannot "
		    "both be specified%s", NULL);
	if ((a->c.http != NULL) + (a->c.tcp != NULL) + (a->ttl_ms > 0) +
	    (a->nargs > 0) > 1)
		return fail(e, 400, "Invalid check: only one of HTTP, TCP, TTL "
		    "or Args may be given%s", NULL);
	if (a->c.http != NULL) {
		a->kind = AGENT_CHECK_HTTP;
		a->c.type = strdup("http");
	} else if (a->c.tcp != NULL) {
		a->kind = AGENT_CHECK_TCP;
		a->c.type = strdup("tcp");
	} else if (a->ttl_ms > 0) {
		a->kind = AGENT_CHECK_TTL;
		a->c.type = strdup("ttl");
	} else if (a->nargs > 0) {
		a->kind = AGENT_CHECK_SCRIPT;
		a->c.type = strdup("script");
	} else
		return fail(e, 400, "Invalid check: one of HTTP, TCP, TTL or "
		    "Args must be given%s", NULL);
	if (a->kind != AGENT_CHECK_TTL && a->interval_ms <= 0)
		return fail(e, 400, "Invalid check: Interval must be > 0 for "
		    "%s checks", a->c.type);
	if ((a->c.node = strdup(c->node_name)) == NULL || a->c.type == NULL ||
	    a->c.status == NULL)
		return fail(e, 500, "out of memory%s", NULL);
	return 0;
}

static const char *const service_fields[] = {
	"Name", "ID", "Tags", "Address", "TaggedAddresses", "tagged_addresses",
	"Meta", "Port", "Kind", "Weights", "EnableTagOverride",
	"enable_tag_override", "Check", "Checks", "Connect", "Proxy", "Token",
	"SocketPath", "Namespace", "Partition", "Locality", NULL
};

static int
address_unspecified(const char *a)
{
	return a != NULL && (strcmp(a, "0.0.0.0") == 0 ||
	    strcmp(a, "::") == 0 || strcmp(a, "[::]") == 0);
}

static int
decode_service(json_t *o, struct agent_service *s, struct agent_check **acs,
    size_t *nacs, struct jerr *e)
{
	struct config	*c = apid_child.conf;
	json_t		*w, *chk, *chks, *v;
	int64_t		 port = 0, wp = 1, ww = 1;
	size_t		 i, n;

	memset(s, 0, sizeof(*s));
	*acs = NULL;
	*nacs = 0;
	if (known_fields(o, service_fields, e) == -1 ||
	    get_str(o, N("Name"), CAT_STR_MAX, &s->s.service, e) == -1 ||
	    get_str(o, N("ID"), CAT_STR_MAX, &s->s.id, e) == -1 ||
	    get_str(o, N("Address"), CAT_STR_MAX, &s->s.address, e) == -1 ||
	    get_str(o, N("Kind"), CAT_STR_MAX, &s->s.kind, e) == -1 ||
	    get_strs(o, N("Tags"), &s->s.tags, &s->s.ntags, e) == -1 ||
	    get_map(o, N("Meta"), &s->s.meta, &s->s.nmeta, e) == -1 ||
	    get_int(o, N("Port"), 0, 65535, &port, e) == -1)
		return -1;
	if ((w = field(o, N("Weights"))) != NULL &&
	    (!json_is_object(w) ||
	    get_int(w, N("Passing"), 1, INT32_MAX, &wp, e) == -1 ||
	    get_int(w, N("Warning"), 0, INT32_MAX, &ww, e) == -1))
		return fail(e, 400, "Invalid Weights: Passing must be greater "
		    "than 0%s", NULL);
	if (s->s.service == NULL || *s->s.service == '\0')
		return fail(e, 400, "Missing service name%s", NULL);
	if (address_unspecified(s->s.address))
		return fail(e, 400, "Invalid service address%s", NULL);
	if (s->s.id == NULL || *s->s.id == '\0') {
		free(s->s.id);
		s->s.id = strdup(s->s.service);
	}
	s->s.port = (uint64_t)port;
	s->s.weight_passing = wp;
	s->s.weight_warning = ww;
	s->s.enable_tag_override = json_is_true(field(o,
	    N("EnableTagOverride", "enable_tag_override")));
	if ((s->s.node = strdup(c->node_name)) == NULL || s->s.id == NULL)
		return fail(e, 500, "out of memory%s", NULL);
	chk = field(o, N("Check"));
	chks = field(o, N("Checks"));
	if (chks != NULL && (!json_is_array(chks) ||
	    json_array_size(chks) > CAT_LIST_MAX - 1))
		return fail(e, 400, "Request decode failed: invalid Checks%s",
		    NULL);
	n = (chk != NULL) + (chks != NULL ? json_array_size(chks) : 0);
	if (n == 0)
		return 0;
	if ((*acs = calloc(n, sizeof(**acs))) == NULL)
		return fail(e, 500, "out of memory%s", NULL);
	if (chk != NULL) {
		if (decode_check(chk, s->s.id, s->s.service, 0, (int)n,
		    &(*acs)[0], e) == -1) {
			(*nacs)++;
			return -1;
		}
		(*nacs)++;
	}
	if (chks != NULL)
		json_array_foreach(chks, i, v) {
			if (decode_check(v, s->s.id, s->s.service,
			    (int)*nacs, (int)n, &(*acs)[*nacs], e) == -1) {
				(*nacs)++;
				return -1;
			}
			(*nacs)++;
		}
	return 0;
}

/* Answers. */

static void
result_done(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	uint64_t		 code;
	char			 err[1024];

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_MAP ||
	    mpack_map_uint(&u.data, "code", &code) == -1 ||
	    mpack_copy_str(mpack_map_get(&u.data, "error"), err,
	    sizeof(err)) == -1)
		fatalx("agent: malformed answer from raftd");
	msgpack_unpacked_destroy(&u);
	if (code != 200)
		http_error(r->req, (int)code, err);
	else
		http_reply_text(r->req, 200, NULL, NULL, 0);
}

/* AgentService, as /v1/agent/services shows it. */
static json_t *
agent_service_json(const struct cat_service *s)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	json_t		*o, *ta;
	size_t		 i;

	o = json_pack("{s:s, s:s, s:o}", "ID", s->id, "Service", s->service,
	    "Tags", strs_json(s->tags, s->ntags));
	if (o == NULL)
		return NULL;
	if (s->kind != NULL && *s->kind != '\0')
		json_object_set_new(o, "Kind", json_string(s->kind));
	ta = json_object();
	for (i = 0; i < s->ntagged; i++)
		json_object_set_new(ta, s->tagged[i].name, json_pack(
		    "{s:s, s:I}", "Address", s->tagged[i].address ?
		    s->tagged[i].address : "", "Port",
		    (json_int_t)s->tagged[i].port));
	/* An IP literal address: Consul's agent adds lan/wan tags. */
	if (s->address != NULL && inet_pton(AF_INET, s->address, &a4) == 1) {
		json_object_set_new(ta, "lan_ipv4", json_pack("{s:s, s:I}",
		    "Address", s->address, "Port", (json_int_t)s->port));
		json_object_set_new(ta, "wan_ipv4", json_pack("{s:s, s:I}",
		    "Address", s->address, "Port", (json_int_t)s->port));
	} else if (s->address != NULL &&
	    inet_pton(AF_INET6, s->address, &a6) == 1) {
		json_object_set_new(ta, "lan_ipv6", json_pack("{s:s, s:I}",
		    "Address", s->address, "Port", (json_int_t)s->port));
		json_object_set_new(ta, "wan_ipv6", json_pack("{s:s, s:I}",
		    "Address", s->address, "Port", (json_int_t)s->port));
	}
	if (json_object_size(ta) > 0)
		json_object_set_new(o, "TaggedAddresses", ta);
	else
		json_decref(ta);
	json_object_set_new(o, "Meta", json_object());
	for (i = 0; i < s->nmeta; i++)
		json_object_set_new(json_object_get(o, "Meta"),
		    s->meta[i].key, json_string(s->meta[i].value));
	json_object_set_new(o, "Port", json_integer((json_int_t)s->port));
	json_object_set_new(o, "Address", json_string(s->address != NULL ?
	    s->address : ""));
	json_object_set_new(o, "Weights", json_pack("{s:I, s:I}", "Passing",
	    (json_int_t)s->weight_passing, "Warning",
	    (json_int_t)s->weight_warning));
	json_object_set_new(o, "EnableTagOverride",
	    json_boolean(s->enable_tag_override));
	json_object_set_new(o, "Datacenter",
	    json_string(apid_child.conf->datacenter));
	return o;
}

static json_t *
agent_check_json(const struct agent_check *a)
{
	const struct cat_check	*c = &a->c;
	json_t			*def;

	def = json_object();
	if (c->http != NULL)
		json_object_set_new(def, "HTTP", json_string(c->http));
	if (c->tcp != NULL)
		json_object_set_new(def, "TCP", json_string(c->tcp));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, "
	    "s:s, s:s, s:s, s:i, s:o, s:i, s:i}",
	    "Node", c->node,
	    "CheckID", c->check_id,
	    "Name", c->name,
	    "Status", c->status,
	    "Notes", c->notes != NULL ? c->notes : "",
	    "Output", c->output != NULL ? c->output : "",
	    "ServiceID", c->service_id != NULL ? c->service_id : "",
	    "ServiceName", c->service_name != NULL ? c->service_name : "",
	    "ServiceTags", strs_json(c->service_tags, c->nservice_tags),
	    "Type", c->type != NULL ? c->type : "",
	    "Interval", c->interval != NULL ? c->interval : "",
	    "Timeout", c->timeout != NULL ? c->timeout : "",
	    "ExposedPort", 0,
	    "Definition", def,
	    "CreateIndex", 0,
	    "ModifyIndex", 0);
}

struct list_ctx {
	int		 checks;
	char		*id;		/* GET /v1/agent/service/<id> */
	struct filter	*filter;	/* ?filter on each value */
	int		 costly;	/* it ran out of budget */
};

/* Into the answer, unless ?filter drops it. */
static void
list_add(struct list_ctx *lc, json_t *doc, const char *key, json_t *v)
{
	int	 rc = 1;

	if (v != NULL && lc->filter != NULL && (lc->costly ||
	    (rc = filter_match(lc->filter, v)) == -1)) {
		lc->costly = 1;
		rc = 0;
	}
	if (rc == 0)
		json_decref(v);
	else
		json_object_set_new(doc, key, v);
}

static void
list_done(struct request *r, struct imsg *imsg)
{
	struct list_ctx		*lc = r->ctx;
	msgpack_unpacked	 u;
	const msgpack_object	*d;
	struct agent_service	 s;
	struct agent_check	 c;
	json_t			*doc, *found = NULL;
	uint64_t		 code;
	char			 err[256];
	uint32_t		 i;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_MAP ||
	    mpack_map_uint(&u.data, "code", &code) == -1)
		fatalx("agent: malformed list from raftd");
	/* Refused (ACLs): no data. */
	if (code != 200) {
		if (mpack_copy_str(mpack_map_get(&u.data, "error"), err,
		    sizeof(err)) == -1)
			fatalx("agent: malformed list from raftd");
		msgpack_unpacked_destroy(&u);
		http_error(r->req, (int)code, err);
		return;
	}
	if ((d = mpack_map_get(&u.data, "data")) == NULL ||
	    d->type != MSGPACK_OBJECT_ARRAY)
		fatalx("agent: malformed list from raftd");
	doc = json_object();
	for (i = 0; i < d->via.array.size; i++) {
		if (lc->checks) {
			if (agent_check_unpack(&d->via.array.ptr[i], &c) == -1)
				fatalx("agent: malformed check from raftd");
			list_add(lc, doc, c.c.check_id, agent_check_json(&c));
			agent_check_free(&c);
		} else {
			if (agent_service_unpack(&d->via.array.ptr[i],
			    &s) == -1)
				fatalx("agent: malformed service from raftd");
			if (lc->id != NULL && strcmp(s.s.id, lc->id) == 0)
				found = agent_service_json(&s.s);
			list_add(lc, doc, s.s.id, agent_service_json(&s.s));
			agent_service_free(&s);
		}
	}
	msgpack_unpacked_destroy(&u);
	if (lc->costly) {
		json_decref(doc);
		http_error(r->req, 400, FILTER_COSTLY);
		return;
	}
	if (lc->id != NULL) {
		json_decref(doc);
		if (found == NULL) {
			http_error(r->req, 404, "unknown service ID");
			return;
		}
		doc = found;
	}
	http_reply_json(r->req, doc, r->pretty);
}

static void
list_ctx_free(void *arg)
{
	struct list_ctx	*lc = arg;

	filter_free(lc->filter);
	free(lc->id);
	free(lc);
}

/*
 * To raftd, with the caller's token as the last element: raftd checks
 * it (and a registration keeps it, for anti-entropy's writes).
 */
static void
send_local(struct evhttp_request *req, struct mpack_out *out,
    request_done_fn done, struct list_ctx *lc)
{
	struct request		*r;
	struct mpack_out	 full;
	struct query		 q;
	msgpack_unpacked	 u;
	uint32_t		 i;

	if (query_parse(req, &q) == -1) {
		if (lc != NULL)
			list_ctx_free(lc);
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	if ((r = request_new(req, done)) == NULL) {
		query_free(&q);
		if (lc != NULL)
			list_ctx_free(lc);
		http_error(req, 500, "out of memory");
		return;
	}
	r->ctx = lc;
	r->ctx_free = list_ctx_free;
	if (mpack_parse(&u, out->sbuf.data, out->sbuf.size) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY)
		fatalx("agent: cannot build a local request");
	mpack_out_init(&full);
	msgpack_pack_array(&full.pk, u.data.via.array.size + 1);
	for (i = 0; i < u.data.via.array.size; i++)
		msgpack_pack_object(&full.pk, u.data.via.array.ptr[i]);
	mpack_str(&full.pk, acl_request_secret(req, &q));
	msgpack_unpacked_destroy(&u);
	query_free(&q);
	request_send(r, IMSG_LOCAL_REQ, full.sbuf.data, full.sbuf.size);
	explicit_bzero(full.sbuf.data, full.sbuf.size);
	mpack_out_free(&full);
}

static void
simple_op(struct evhttp_request *req, int op, const char *id)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	msgpack_pack_uint8(&out.pk, op);
	mpack_str(&out.pk, id);
	send_local(req, &out, result_done, NULL);
	mpack_out_free(&out);
}

static void
list(struct evhttp_request *req, struct query *q, int op, const char *id)
{
	struct mpack_out	 out;
	struct list_ctx		*lc;

	if ((lc = calloc(1, sizeof(*lc))) == NULL ||
	    (id != NULL && (lc->id = strdup(id)) == NULL)) {
		free(lc);
		http_error(req, 500, "out of memory");
		return;
	}
	lc->checks = op == LOCAL_CHECKS;
	/* ?filter: on each value of the map; not on a single service. */
	if (id == NULL && query_filter(req, q, lc->checks ? &filter_check :
	    &filter_agent_service, &lc->filter) == -1) {
		list_ctx_free(lc);
		return;
	}
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, id != NULL ? 2 : 1);
	msgpack_pack_uint8(&out.pk, op);
	if (id != NULL)
		mpack_str(&out.pk, id);
	send_local(req, &out, list_done, lc);
	mpack_out_free(&out);
}

static json_t *
body_json(struct evhttp_request *req, struct jerr *e)
{
	struct evbuffer	*body = evhttp_request_get_input_buffer(req);
	size_t		 len = evbuffer_get_length(body);
	json_error_t	 jerr;
	json_t		*o;
	const char	*text;

	if (len > AGENT_BODY_MAX) {
		fail(e, 413, "Request body too large%s", NULL);
		return NULL;
	}
	if (len == 0 || (text = (const char *)evbuffer_pullup(body,
	    -1)) == NULL) {
		fail(e, 400, "Request decode failed: EOF%s", NULL);
		return NULL;
	}
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_object(o)) {
		fail(e, 400, "Request decode failed: %s", o == NULL ?
		    jerr.text : "not an object");
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
service_register(struct evhttp_request *req, struct query *q)
{
	struct agent_service	 s;
	struct agent_check	*acs = NULL;
	struct mpack_out	 out;
	struct jerr		 e;
	json_t			*o;
	size_t			 i, n = 0;

	memset(&e, 0, sizeof(e));
	memset(&s, 0, sizeof(s));
	if ((o = body_json(req, &e)) == NULL) {
		http_error(req, e.code, e.text);
		return;
	}
	if (decode_service(o, &s, &acs, &n, &e) == -1)
		http_error(req, e.code, e.text);
	else {
		mpack_out_init(&out);
		msgpack_pack_array(&out.pk, 4);
		msgpack_pack_uint8(&out.pk, LOCAL_SERVICE_REGISTER);
		agent_service_pack(&out.pk, &s);
		msgpack_pack_array(&out.pk, n);
		for (i = 0; i < n; i++)
			agent_check_pack(&out.pk, &acs[i]);
		if (query_has(q, "replace-existing-checks"))
			msgpack_pack_true(&out.pk);
		else
			msgpack_pack_false(&out.pk);
		send_local(req, &out, result_done, NULL);
		mpack_out_free(&out);
	}
	for (i = 0; i < n; i++)
		agent_check_free(&acs[i]);
	free(acs);
	agent_service_free(&s);
	json_decref(o);
}

static void
check_register(struct evhttp_request *req)
{
	struct agent_check	 a;
	struct mpack_out	 out;
	struct jerr		 e;
	json_t			*o;

	memset(&e, 0, sizeof(e));
	if ((o = body_json(req, &e)) == NULL) {
		http_error(req, e.code, e.text);
		return;
	}
	if (decode_check(o, NULL, NULL, 0, 1, &a, &e) == -1)
		http_error(req, e.code, e.text);
	else {
		mpack_out_init(&out);
		msgpack_pack_array(&out.pk, 2);
		msgpack_pack_uint8(&out.pk, LOCAL_CHECK_REGISTER);
		agent_check_pack(&out.pk, &a);
		send_local(req, &out, result_done, NULL);
		mpack_out_free(&out);
	}
	agent_check_free(&a);
	json_decref(o);
}

static void
check_update(struct evhttp_request *req, const char *id, const char *status,
    const char *output)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 4);
	msgpack_pack_uint8(&out.pk, LOCAL_CHECK_UPDATE);
	mpack_str(&out.pk, id);
	mpack_str(&out.pk, status);
	mpack_str(&out.pk, output);
	send_local(req, &out, result_done, NULL);
	mpack_out_free(&out);
}

/* PUT /v1/agent/check/update/<id>: {"Status", "Output"}. */
static void
check_update_body(struct evhttp_request *req, const char *id)
{
	struct jerr	 e;
	json_t		*o, *st, *out;
	char		 msg[128];

	memset(&e, 0, sizeof(e));
	if ((o = body_json(req, &e)) == NULL) {
		http_error(req, e.code, e.text);
		return;
	}
	st = field(o, N("Status"));
	out = field(o, N("Output"));
	if (known_fields(o, N("Status", "Output"), &e) == -1)
		http_error(req, e.code, e.text);
	else if (!json_is_string(st) ||
	    !cat_status_valid(json_string_value(st))) {
		snprintf(msg, sizeof(msg), "Invalid check status: '%.64s'",
		    json_is_string(st) ? json_string_value(st) : "");
		http_error(req, 400, msg);
	} else if (out != NULL && (!json_is_string(out) ||
	    json_string_length(out) > CAT_OUTPUT_MAX))
		http_error(req, 400, "Request decode failed: invalid Output");
	else
		check_update(req, id, json_string_value(st),
		    out != NULL ? json_string_value(out) : NULL);
	json_decref(o);
}

static void
maintenance(struct evhttp_request *req, struct query *q, int op,
    const char *id)
{
	struct mpack_out	 out;
	const char		*en = query_get(q, "enable");
	const char		*reason = query_get(q, "reason");
	int			 enable;

	if (en == NULL) {
		http_error(req, 400, "Missing value for enable");
		return;
	}
	if (strcmp(en, "true") == 0 || strcmp(en, "1") == 0)
		enable = 1;
	else if (strcmp(en, "false") == 0 || strcmp(en, "0") == 0)
		enable = 0;
	else {
		http_error(req, 400, "Invalid value for enable");
		return;
	}
	if (reason != NULL && strlen(reason) > CAT_NOTES_MAX) {
		http_error(req, 400, "reason too long");
		return;
	}
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 4);
	msgpack_pack_uint8(&out.pk, op);
	mpack_str(&out.pk, id);
	if (enable)
		msgpack_pack_true(&out.pk);
	else
		msgpack_pack_false(&out.pk);
	mpack_str(&out.pk, reason != NULL ? reason : "");
	send_local(req, &out, result_done, NULL);
	mpack_out_free(&out);
}

#define AGENT_PREFIX	"/v1/agent/"

/* Everything under /v1/agent/ that is about services and checks. */
void
agent_local_handler(struct evhttp_request *req, const char *path)
{
	struct query		 q;
	const char		*p = path + strlen(AGENT_PREFIX), *id;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	int			 get = cmd == EVHTTP_REQ_GET;

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	if (strcmp(p, "services") == 0 && get)
		list(req, &q, LOCAL_SERVICES, NULL);
	else if (strcmp(p, "checks") == 0 && get)
		list(req, &q, LOCAL_CHECKS, NULL);
	else if (strncmp(p, "service/register", 16) == 0 && p[16] == '\0' &&
	    !get)
		service_register(req, &q);
	else if (strncmp(p, "service/deregister/", 19) == 0 && p[19] != '\0' &&
	    !get)
		simple_op(req, LOCAL_SERVICE_DEREGISTER, p + 19);
	else if (strncmp(p, "service/maintenance/", 20) == 0 &&
	    p[20] != '\0' && !get)
		maintenance(req, &q, LOCAL_SERVICE_MAINT, p + 20);
	else if (strncmp(p, "service/", 8) == 0 && p[8] != '\0' && get)
		list(req, &q, LOCAL_SERVICES, p + 8);
	else if (strcmp(p, "maintenance") == 0 && !get)
		maintenance(req, &q, LOCAL_NODE_MAINT, "");
	else if (strcmp(p, "check/register") == 0 && !get)
		check_register(req);
	else if (strncmp(p, "check/deregister/", 17) == 0 && p[17] != '\0' &&
	    !get)
		simple_op(req, LOCAL_CHECK_DEREGISTER, p + 17);
	else if ((strncmp(p, "check/pass/", 11) == 0 ||
	    strncmp(p, "check/warn/", 11) == 0 ||
	    strncmp(p, "check/fail/", 11) == 0) && p[11] != '\0' && !get) {
		id = p + 11;
		check_update(req, id, p[6] == 'p' ? CAT_PASSING :
		    p[6] == 'w' ? CAT_WARNING : CAT_CRITICAL,
		    query_get(&q, "note"));
	} else if (strncmp(p, "check/update/", 13) == 0 && p[13] != '\0' &&
	    !get)
		check_update_body(req, p + 13);
	else
		http_error(req, get ? 404 : 405, get ? "Invalid URL path" :
		    "method not allowed");
	query_free(&q);
}
