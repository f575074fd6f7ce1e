/*
 * Prepared queries, /v1/query, with Consul's JSON:
 *
 *   POST   /v1/query                 {"ID": uuid}
 *   GET    /v1/query                 every query
 *   GET    /v1/query/<id>            [query], 404 when none
 *   PUT    /v1/query/<id>            replace its definition
 *   DELETE /v1/query/<id>
 *   GET    /v1/query/<id|name>/execute   healthy instances, failing over
 *                                    to other datacenters when none
 *   GET    /v1/query/<id|name>/explain   the query as it would run
 *
 * raftd keeps each query's definition as the JSON made here
 * (decode_query()); the ID, name, session and indexes are raftd's.  A
 * name that is no query's may match a template: the query with the
 * longest name that prefixes it and a Template.Type of
 * "name_prefix_match" or "regexp".  Execution reads the service's
 * health like /v1/health/service does, here or, in turn, in each
 * failover datacenter (over ?dc forwarding), and filters it by the
 * query: never critical instances, OnlyPassing drops warning ones too,
 * Tags ("!tag" excludes), NodeMeta and ServiceMeta.
 *
 * With ACLs on, raftd checks writes (query:write on the name, old and
 * new), filters reads (query:read) and hides each query's Token from
 * all but ACL writers.  A query runs under its Token when it has one,
 * else under the caller's: what it returns is what that token may read
 * of the service (raftd filters the health read).
 */
#include <sys/types.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "apid.h"
#include "catalog.h"
#include "config.h"
#include "duration.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"
#include "near.h"

#define QUERY_PREFIX		"/v1/query"
#define QUERY_BODY_MAX		(64 * 1024)
#define QUERY_FAILOVER_MAX	32
#define QUERY_ID_MAX		36
#define QUERY_TOKEN_HIDDEN	"<hidden>"

/* A decode error: its HTTP status and text. */
struct qerr {
	int		 code;
	char		 text[256];
};

static int	qfail(struct qerr *, int, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));

static int
qfail(struct qerr *e, int code, const char *fmt, ...)
{
	va_list	 ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return -1;
}

/* Only the keys given may be in o. */
static int
keys_known(json_t *o, const char *where, const char **keys, struct qerr *e)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach(o, k, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcasecmp(k, keys[i]) == 0)
				break;
		if (keys[i] == NULL)
			return qfail(e, 400, "Request decode failed: unknown "
			    "field \"%.64s\" in %s", k, where);
	}
	return 0;
}

static int
get_str(json_t *o, const char *name, const char **out, struct qerr *e)
{
	json_t	*v = json_member_ci(o, name);

	*out = "";
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) > 1024)
		return qfail(e, 400, "Request decode failed: %s must be a "
		    "string", name);
	*out = json_string_value(v);
	return 0;
}

static json_t *
get_strs(json_t *o, const char *name, struct qerr *e)
{
	json_t	*v = json_member_ci(o, name), *x;
	size_t	 i;

	if (v == NULL)
		return json_array();
	if (!json_is_array(v) || json_array_size(v) > 256)
		goto bad;
	json_array_foreach(v, i, x)
		if (!json_is_string(x))
			goto bad;
	return json_deep_copy(v);
 bad:
	qfail(e, 400, "Request decode failed: %s must be a list of strings",
	    name);
	return NULL;
}

static json_t *
get_map(json_t *o, const char *name, struct qerr *e)
{
	json_t		*v = json_member_ci(o, name), *x;
	const char	*k;

	if (v == NULL)
		return json_object();
	if (!json_is_object(v) || json_object_size(v) > 256)
		goto bad;
	json_object_foreach(v, k, x)
		if (!json_is_string(x))
			goto bad;
	return json_deep_copy(v);
 bad:
	qfail(e, 400, "Request decode failed: %s must be a map of strings",
	    name);
	return NULL;
}

/*
 * The body of a create or update as the query's definition (Service,
 * DNS, Template, in Consul's shape with every default filled), and its
 * name and session.  NULL with e set when it is not one.
 */
static json_t *
decode_query(json_t *o, const char **name, const char **session,
    const char **token, struct qerr *e)
{
	static const char *top[] = { "ID", "Name", "Session", "Token",
	    "Service", "DNS", "Template", "CreateIndex", "ModifyIndex", NULL };
	static const char *svc_keys[] = { "Service", "Failover", "OnlyPassing",
	    "Near", "Tags", "NodeMeta", "ServiceMeta", "IgnoreCheckIDs",
	    "Connect", "Peer", "Namespace", "Partition", NULL };
	static const char *fo_keys[] = { "NearestN", "Datacenters",
	    "Targets", NULL };
	json_t		*svc, *fo, *dns, *tpl, *v, *x, *tags = NULL,
			*nmeta = NULL, *smeta = NULL, *dcs = NULL, *def;
	const char	*service, *near, *ttl, *ttype, *re;
	json_int_t	 nearest = 0;
	int64_t		 ns;
	regex_t		 rx;
	size_t		 i;
	int		 only_passing = 0, remove_empty = 0;
	char		 buf[256];

	if (keys_known(o, "the query", top, e) == -1 ||
	    get_str(o, "Name", name, e) == -1 ||
	    get_str(o, "Session", session, e) == -1 ||
	    get_str(o, "Token", token, e) == -1)
		return NULL;
	if (strlen(*token) > CAT_STR_MAX) {
		qfail(e, 400, "Token is too long");
		return NULL;
	}
	svc = json_member_ci(o, "Service");
	if (svc != NULL && (!json_is_object(svc) ||
	    keys_known(svc, "Service", svc_keys, e) == -1)) {
		if (e->code == 0)
			qfail(e, 400, "Request decode failed: Service must be "
			    "an object");
		return NULL;
	}
	if (get_str(svc, "Service", &service, e) == -1 ||
	    get_str(svc, "Near", &near, e) == -1)
		return NULL;
	if (*service == '\0') {
		qfail(e, 400, "Must provide a Service name to query");
		return NULL;
	}
	if ((v = json_member_ci(svc, "OnlyPassing")) != NULL) {
		if (!json_is_boolean(v)) {
			qfail(e, 400, "Request decode failed: OnlyPassing "
			    "must be a bool");
			return NULL;
		}
		only_passing = json_is_true(v);
	}
	fo = json_member_ci(svc, "Failover");
	if (fo != NULL && (!json_is_object(fo) ||
	    keys_known(fo, "Failover", fo_keys, e) == -1)) {
		if (e->code == 0)
			qfail(e, 400, "Request decode failed: Failover must "
			    "be an object");
		return NULL;
	}
	if ((v = json_member_ci(fo, "NearestN")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > QUERY_FAILOVER_MAX) {
			qfail(e, 400, "Bad NearestN, must be >= 0 and <= %d",
			    QUERY_FAILOVER_MAX);
			return NULL;
		}
		nearest = json_integer_value(v);
	}
	if ((dcs = get_strs(fo, "Datacenters", e)) == NULL)
		return NULL;
	json_array_foreach(dcs, i, x) {
		strlcpy(buf, json_string_value(x), sizeof(buf));
		if (!dc_name_valid(buf) || i >= QUERY_FAILOVER_MAX) {
			qfail(e, 400, "Bad Failover datacenter '%.64s'", buf);
			goto fail;
		}
	}
	if ((tags = get_strs(svc, "Tags", e)) == NULL ||
	    (nmeta = get_map(svc, "NodeMeta", e)) == NULL ||
	    (smeta = get_map(svc, "ServiceMeta", e)) == NULL)
		goto fail;
	dns = json_member_ci(o, "DNS");
	if (get_str(dns, "TTL", &ttl, e) == -1)
		goto fail;
	if (*ttl != '\0' && (duration_parse(ttl, &ns) == -1 || ns < 0)) {
		qfail(e, 400, "Bad DNS TTL '%.64s'", ttl);
		goto fail;
	}
	tpl = json_member_ci(o, "Template");
	if (get_str(tpl, "Type", &ttype, e) == -1 ||
	    get_str(tpl, "Regexp", &re, e) == -1)
		goto fail;
	if ((v = json_member_ci(tpl, "RemoveEmptyTags")) != NULL)
		remove_empty = json_is_true(v);
	if (*ttype != '\0' && strcmp(ttype, "name_prefix_match") != 0 &&
	    strcmp(ttype, "regexp") != 0) {
		qfail(e, 400, "Bad Template.Type '%.64s'", ttype);
		goto fail;
	}
	if (strcmp(ttype, "regexp") == 0) {
		if (regcomp(&rx, re, REG_EXTENDED) != 0) {
			qfail(e, 400, "Bad Regexp: '%.64s' does not compile",
			    re);
			goto fail;
		}
		regfree(&rx);
	}
	if (*ttype != '\0' && **name == '\0') {
		qfail(e, 400, "Must provide a Name for a template");
		goto fail;
	}
	def = json_pack("{s:{s:s, s:s, s:b}, s:{s:s, s:{s:I, s:o}, s:b, "
	    "s:s, s:o, s:o, s:o, s:n, s:{s:b}}, s:{s:s}}",
	    "Template", "Type", ttype, "Regexp", re, "RemoveEmptyTags",
	    remove_empty,
	    "Service", "Service", service, "Failover", "NearestN", nearest,
	    "Datacenters", dcs, "OnlyPassing", only_passing, "Near", near,
	    "Tags", tags, "NodeMeta", nmeta, "ServiceMeta", smeta,
	    "IgnoreCheckIDs", "Connect", "Enabled", 0,
	    "DNS", "TTL", ttl);
	if (def == NULL)
		qfail(e, 500, "out of memory");
	return def;
 fail:
	json_decref(dcs);
	json_decref(tags);
	json_decref(nmeta);
	json_decref(smeta);
	return NULL;
}

/* A stored query as Consul shows it. */
static json_t *
query_json(const struct cat_pquery *q)
{
	json_error_t	 jerr;
	json_t		*def;

	if ((def = json_loads(q->def, 0, &jerr)) == NULL ||
	    !json_is_object(def)) {
		json_decref(def);
		log_warnx("query: %s: a stored definition that is no JSON "
		    "object", q->id);
		def = json_object();
	}
	json_object_set_new(def, "ID", json_string(q->id));
	json_object_set_new(def, "Name", json_string(q->name != NULL ?
	    q->name : ""));
	json_object_set_new(def, "Session", json_string(q->session != NULL ?
	    q->session : ""));
	json_object_set_new(def, "Token", json_string(q->token != NULL ?
	    q->token : ""));
	json_object_set_new(def, "CreateIndex",
	    json_integer((json_int_t)q->create_index));
	json_object_set_new(def, "ModifyIndex",
	    json_integer((json_int_t)q->modify_index));
	return def;
}

static void
query_set(struct evhttp_request *req, const char *id, int update)
{
	struct cat_pquery	 q;
	struct mpack_out	 rec;
	struct qerr		 e;
	const char		*name, *session, *token;
	json_t			*o, *def;
	char			 newid[QUERY_ID_MAX + 1];

	memset(&e, 0, sizeof(e));
	if ((o = http_body_object(req, QUERY_BODY_MAX, 0)) == NULL)
		return;
	if ((def = decode_query(o, &name, &session, &token, &e)) == NULL) {
		json_decref(o);
		http_error(req, e.code, e.text);
		return;
	}
	if (id == NULL) {
		uuid_v4(newid, sizeof(newid));
		id = newid;
	}
	memset(&q, 0, sizeof(q));
	q.id = (char *)id;
	q.name = (char *)name;
	q.session = (char *)session;
	q.token = (char *)token;
	q.def = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(def);
	if (q.def == NULL || strlen(q.def) > CAT_PQUERY_DEF_MAX) {
		free(q.def);
		json_decref(o);
		http_error(req, 400, "Prepared query is too large");
		return;
	}
	mpack_out_init(&rec);
	msgpack_pack_array(&rec.pk, 2);
	if (update)
		msgpack_pack_true(&rec.pk);
	else
		msgpack_pack_false(&rec.pk);
	cat_pquery_pack(&rec.pk, &q);
	cat_write_send(req, CAT_WRITE_PQUERY_SET, &rec, update ? NULL : id,
	    CAT_WRITE_EMPTY | CAT_WRITE_REFUSAL_400);
	mpack_out_free(&rec);
	free(q.def);
	json_decref(o);
}

static void
query_delete(struct evhttp_request *req, const char *id)
{
	struct mpack_out	 rec;

	mpack_out_init(&rec);
	mpack_str(&rec.pk, id);
	cat_write_send(req, CAT_WRITE_PQUERY_DELETE, &rec, NULL,
	    CAT_WRITE_EMPTY | CAT_WRITE_REFUSAL_400);
	mpack_out_free(&rec);
}

/* Reads. */

/* A catalog read of query (arg) whose items and end go to item, done. */
static struct request *
send_read_as(struct evhttp_request *req, struct query *q, const char *token,
    int query, const char *arg, request_done_fn item, request_done_fn done,
    const char *dc)
{
	struct request		*r;
	const char		*err;
	uint64_t		 min_index = 0, wait_ms = 0, max_stale_ms = 0;
	int			 cons = KV_CONS_DEFAULT;

	if ((err = query_consistency(q, &cons, &max_stale_ms)) != NULL ||
	    (query == CAT_Q_PQUERY_LIST &&
	    (err = query_blocking(q, &min_index, &wait_ms)) != NULL)) {
		http_error(req, 400, err);
		return NULL;
	}
	if ((r = request_new(req, done)) == NULL ||
	    (r->items = json_array()) == NULL) {
		if (r != NULL)
			request_free(r);
		http_error(req, 500, "out of memory");
		return NULL;
	}
	if (dc != NULL)
		strlcpy(r->dc, dc, sizeof(r->dc));
	r->item = item;
	r->mode = query;
	cat_read_send_as(r, token, query, arg, min_index, wait_ms, cons,
	    max_stale_ms);
	return r;
}

/* Under the caller's token. */
static struct request *
send_read(struct evhttp_request *req, struct query *q, int query,
    const char *arg, request_done_fn item, request_done_fn done,
    const char *dc)
{
	return send_read_as(req, q, NULL, query, arg, item, done, dc);
}

static void
pquery_item(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	struct cat_pquery	 q;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    cat_pquery_unpack(&u.data, &q) == -1)
		fatalx("query: malformed prepared query from raftd");
	msgpack_unpacked_destroy(&u);
	json_array_append_new(r->items, query_json(&q));
	cat_pquery_free(&q);
}

static void
list_done(struct request *r, struct imsg *imsg)
{
	struct imsg_read_end	 end;

	read_end_get(imsg, &end);
	http_read_headers(r->req, &end);
	if (end.error[0] != '\0')
		http_error(r->req, acl_denial(end.error) ? 403 : 500,
		    end.error);
	else if (r->mode == CAT_Q_PQUERY_GET && json_array_size(r->items) == 0)
		http_error(r->req, 404, "Query not found");
	else
		http_reply_json(r->req, json_incref(r->items), r->pretty);
}

/* Execution: the query, then each datacenter's health in turn. */
struct exec {
	struct query	 q;		/* of the HTTP request */
	char		*idname;
	int		 explain;
	json_t		*query;		/* the query as it runs */
	json_t		*dcs;		/* the datacenters to try */
	size_t		 next;		/* in dcs */
	size_t		 failovers;
	uint64_t	 limit;
	char		 home[64];	/* ?dc: where the query lives */
	char		*near;		/* ?near or Service.Near, resolved */
	json_t		*nodes;		/* the answer, being sorted */
	int		 pretty;
};

static void
exec_free(void *arg)
{
	struct exec	*x = arg;

	query_free(&x->q);
	free(x->idname);
	json_decref(x->query);
	json_decref(x->dcs);
	json_decref(x->nodes);
	free(x->near);
	free(x);
}

/* Replace ${name.full}, ${name.prefix}, ${name.suffix}, ${match(N)}. */
static char *
interpolate(const char *s, const char *full, const char *prefix,
    const char *str, const regmatch_t *m, size_t nm)
{
	char		*out;
	size_t		 len = 0, cap = strlen(s) + 1, n, k;
	const char	*v;
	char		 key[32];

	if ((out = malloc(cap)) == NULL)
		return NULL;
	while (*s != '\0') {
		v = NULL;
		n = 0;
		if (strncmp(s, "${name.full}", 12) == 0) {
			v = full;
			n = 12;
		} else if (strncmp(s, "${name.prefix}", 14) == 0) {
			v = prefix;
			n = 14;
		} else if (strncmp(s, "${name.suffix}", 14) == 0) {
			v = full + strlen(prefix);
			n = 14;
		} else if (strncmp(s, "${match(", 8) == 0 &&
		    s[8] >= '0' && s[8] <= '9' && strncmp(s + 9, ")}", 2) == 0) {
			k = s[8] - '0';
			n = 11;
			v = "";
			if (k < nm && m[k].rm_so >= 0) {
				snprintf(key, sizeof(key), "%.*s",
				    (int)(m[k].rm_eo - m[k].rm_so),
				    str + m[k].rm_so);
				v = key;
			}
		}
		if (v == NULL) {
			v = s;
			n = 1;
			k = 1;
		} else
			k = strlen(v);
		if (len + k + 1 > cap) {
			cap = (len + k + 1) * 2;
			if ((out = realloc(out, cap)) == NULL)
				return NULL;
		}
		memcpy(out + len, v, k);
		len += k;
		s += n;
	}
	out[len] = '\0';
	return out;
}

/* A template's query for the name asked: its strings interpolated. */
static void
template_apply(json_t *query, const char *asked)
{
	json_t		*svc = json_object_get(query, "Service"), *tags, *t, *nt;
	json_t		*tpl = json_object_get(query, "Template");
	const char	*prefix = json_string_value(json_object_get(query,
			    "Name"));
	const char	*type = json_string_value(json_object_get(tpl,
			    "Type"));
	regmatch_t	 m[10];
	regex_t		 rx;
	size_t		 nm = 0, i;
	char		*v;
	int		 drop = json_is_true(json_object_get(tpl,
			    "RemoveEmptyTags"));

	if (prefix == NULL)
		prefix = "";
	if (type != NULL && strcmp(type, "regexp") == 0 &&
	    regcomp(&rx, json_string_value(json_object_get(tpl, "Regexp")),
	    REG_EXTENDED) == 0) {
		if (regexec(&rx, asked, 10, m, 0) == 0)
			nm = 10;
		regfree(&rx);
	}
	if ((v = interpolate(json_string_value(json_object_get(svc,
	    "Service")), asked, prefix, asked, m, nm)) != NULL) {
		json_object_set_new(svc, "Service", json_string(v));
		free(v);
	}
	tags = json_object_get(svc, "Tags");
	nt = json_array();
	json_array_foreach(tags, i, t) {
		if ((v = interpolate(json_string_value(t), asked, prefix,
		    asked, m, nm)) == NULL)
			continue;
		if (!drop || *v != '\0')
			json_array_append_new(nt, json_string(v));
		free(v);
	}
	json_object_set_new(svc, "Tags", nt);
}

static int
has_tag(json_t *tags, const char *tag)
{
	json_t	*t;
	size_t	 i;

	json_array_foreach(tags, i, t)
		if (json_is_string(t) && strcasecmp(json_string_value(t),
		    tag) == 0)
			return 1;
	return 0;
}

static int
meta_has(json_t *meta, json_t *want)
{
	const char	*k;
	json_t		*v, *have;

	json_object_foreach(want, k, v) {
		have = json_object_get(meta, k);
		if (!json_is_string(have) || strcmp(json_string_value(have),
		    json_string_value(v)) != 0)
			return 0;
	}
	return 1;
}

/* Whether a ServiceEntry passes the query's filters. */
static int
entry_ok(json_t *svcq, json_t *entry)
{
	json_t		*checks = json_object_get(entry, "Checks"), *c, *t;
	json_t		*service = json_object_get(entry, "Service");
	const char	*st, *tag;
	size_t		 i;
	int		 only = json_is_true(json_object_get(svcq,
			    "OnlyPassing"));

	json_array_foreach(checks, i, c) {
		st = json_string_value(json_object_get(c, "Status"));
		if (st == NULL || strcmp(st, "critical") == 0 ||
		    (only && strcmp(st, "warning") == 0))
			return 0;
	}
	json_array_foreach(json_object_get(svcq, "Tags"), i, t) {
		tag = json_string_value(t);
		if (tag == NULL || *tag == '\0')
			continue;
		if (*tag == '!' ? has_tag(json_object_get(service, "Tags"),
		    tag + 1) : !has_tag(json_object_get(service, "Tags"), tag))
			return 0;
	}
	return meta_has(json_object_get(json_object_get(entry, "Node"),
	    "Meta"), json_object_get(svcq, "NodeMeta")) &&
	    meta_has(json_object_get(service, "Meta"),
	    json_object_get(svcq, "ServiceMeta"));
}

static void	exec_health(struct evhttp_request *, struct exec *);

static void
health_entry(struct request *r, struct imsg *imsg)
{
	struct cat_req		 cr;
	msgpack_unpacked	 u;
	json_t			*j;

	memset(&cr, 0, sizeof(cr));
	cr.query = CAT_Q_HEALTH_SERVICE;
	if (mpack_parse(&u, imsg->data, imsg->len) == -1)
		fatalx("query: malformed health entry from raftd");
	if ((j = health_item(&cr, &u.data)) != NULL)
		json_array_append_new(r->items, j);
	msgpack_unpacked_destroy(&u);
}

/* The answer, sorted by distance from x->near when nc is given. */
static void
exec_reply(struct evhttp_request *req, struct exec *x, const char *dc,
    const struct near_coords *nc)
{
	json_t	*svcq = json_object_get(x->query, "Service"), *doc;

	if (nc != NULL)
		near_sort(x->nodes, "Node.Node", x->near, nc);
	while (x->limit > 0 && json_array_size(x->nodes) > x->limit)
		json_array_remove(x->nodes, json_array_size(x->nodes) - 1);
	doc = json_pack("{s:O, s:O, s:{s:O}, s:s, s:I}",
	    "Service", json_object_get(svcq, "Service"),
	    "Nodes", x->nodes,
	    "DNS", "TTL", json_object_get(json_object_get(x->query, "DNS"),
	    "TTL"),
	    "Datacenter", dc,
	    "Failovers", (json_int_t)x->failovers);
	http_reply_json(req, doc, x->pretty);
	exec_free(x);
}

static void
exec_near_ready(struct evhttp_request *req, void *arg,
    const struct near_coords *nc)
{
	struct exec	*x = arg;

	exec_reply(req, x, x->home[0] != '\0' ? x->home :
	    apid_child.conf->datacenter, nc);
}

/* The health of the service in one datacenter is in. */
static void
health_done(struct request *r, struct imsg *imsg)
{
	struct exec		*x = r->ctx;
	struct imsg_read_end	 end;
	json_t			*nodes, *e, *svcq;
	const char		*dc;
	size_t			 i, n, j;

	read_end_get(imsg, &end);
	svcq = json_object_get(x->query, "Service");
	nodes = json_array();
	json_array_foreach(r->items, i, e)
		if (entry_ok(svcq, e))
			json_array_append(nodes, e);
	/* Shuffled, as Consul does without ?near. */
	for (n = json_array_size(nodes); n > 1; n--) {
		j = arc4random_uniform(n);
		e = json_incref(json_array_get(nodes, j));
		json_array_set(nodes, j, json_array_get(nodes, n - 1));
		json_array_set_new(nodes, n - 1, e);
	}
	dc = r->dc[0] != '\0' ? r->dc : apid_child.conf->datacenter;
	if (json_array_size(nodes) == 0 && x->next < json_array_size(x->dcs)) {
		json_decref(nodes);
		/* This one failed (or had none): the next datacenter. */
		r->ctx = NULL;
		exec_health(r->req, x);
		return;
	}
	if (end.error[0] != '\0' && json_array_size(nodes) == 0 &&
	    x->failovers == 0) {
		json_decref(nodes);
		http_error(r->req, 500, end.error);
		exec_free(x);
		r->ctx = NULL;
		return;
	}
	http_read_headers(r->req, &end);
	x->nodes = nodes;
	x->pretty = r->pretty;
	r->ctx = NULL;
	/*
	 * Near sorts the answer of the query's own datacenter; another's
	 * has no such node, and stays shuffled, as in Consul.
	 */
	if (x->near != NULL && x->failovers == 0 &&
	    json_array_size(nodes) > 1 && near_fetch(r->req, r->dc,
	    KV_CONS_DEFAULT, exec_near_ready, exec_free, x) == 0)
		return;
	exec_reply(r->req, x, dc, NULL);
}

/* Ask the next datacenter for the service's health. */
static void
exec_health(struct evhttp_request *req, struct exec *x)
{
	struct request	*r;
	const char	*dc = NULL, *svc;

	dc = json_string_value(json_array_get(x->dcs, x->next));
	if (x->next > 0)
		x->failovers++;
	x->next++;
	if (dc != NULL && strcmp(dc, apid_child.conf->datacenter) == 0)
		dc = NULL;
	svc = json_string_value(json_object_get(json_object_get(x->query,
	    "Service"), "Service"));
	/* The query's own token, if it has one, else the caller's. */
	if ((r = send_read_as(req, &x->q, json_string_value(
	    json_object_get(x->query, "Token")), CAT_Q_HEALTH_SERVICE, svc,
	    health_entry, health_done, dc)) == NULL) {
		exec_free(x);
		return;
	}
	r->ctx = x;
	r->ctx_free = exec_free;
}

/*
 * The datacenters to ask: this one, then the NearestN others nearest
 * first (from sorted, catalog/datacenters' order, when given), then
 * Failover.Datacenters in order; each once.
 */
static void
exec_plan(struct evhttp_request *req, struct exec *x, json_t *sorted)
{
	json_t		*fo, *d;
	json_int_t	 nearest;
	size_t		 i;

	fo = json_object_get(json_object_get(x->query, "Service"),
	    "Failover");
	nearest = json_integer_value(json_object_get(fo, "NearestN"));
	x->dcs = json_array();
	json_array_append_new(x->dcs, json_string(x->home[0] != '\0' ?
	    x->home : apid_child.conf->datacenter));
	json_array_foreach(sorted, i, d) {
		if ((json_int_t)json_array_size(x->dcs) > nearest)
			break;
		if (json_is_string(d) && !has_tag(x->dcs,
		    json_string_value(d)) && strcmp(json_string_value(d),
		    apid_child.conf->datacenter) != 0)
			json_array_append(x->dcs, d);
	}
	json_array_foreach(json_object_get(fo, "Datacenters"), i, d)
		if (json_is_string(d) && !has_tag(x->dcs,
		    json_string_value(d)))
			json_array_append(x->dcs, d);
	exec_health(req, x);
}

static void
dc_item(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	char			 dc[CAT_STR_MAX + 1];

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    mpack_copy_str(&u.data, dc, sizeof(dc)) == -1)
		fatalx("query: malformed datacenter from raftd");
	msgpack_unpacked_destroy(&u);
	json_array_append_new(r->items, json_string(dc));
}

/* catalog/datacenters is in: NearestN takes from it. */
static void
dcs_done(struct request *r, struct imsg *imsg)
{
	struct exec		*x = r->ctx;
	struct imsg_read_end	 end;

	read_end_get(imsg, &end);
	r->ctx = NULL;
	exec_plan(r->req, x, end.error[0] == '\0' ? r->items : NULL);
}

/*
 * The query as the caller may read it is in (raftd checked query read
 * and hid its Token unless the caller may see tokens): explain it.
 */
static void
explain_done(struct request *r, struct imsg *imsg)
{
	struct exec		*x = r->ctx;
	struct imsg_read_end	 end;
	json_t			*tok;

	read_end_get(imsg, &end);
	if (end.error[0] != '\0') {
		http_error(r->req, acl_denial(end.error) ? 403 : 500,
		    end.error);
		return;
	}
	if (json_array_size(r->items) == 0) {
		http_error(r->req, 404, "Query not found");
		return;
	}
	tok = json_object_get(json_array_get(r->items, 0), "Token");
	json_object_set_new(x->query, "Token", tok != NULL ?
	    json_incref(tok) : json_string(""));
	http_reply_json(r->req, json_pack("{s:O}", "Query", x->query),
	    r->pretty);
}

/* The query to run is known: explain it, or run it. */
static void
exec_start(struct evhttp_request *req, struct exec *x, int pretty)
{
	struct request	*r;
	json_t		*svc = json_object_get(x->query, "Service");
	const char	*near, *id;

	if (x->explain) {
		/* As the caller may read it: query read, Token hidden. */
		id = json_string_value(json_object_get(x->query, "ID"));
		if (id == NULL || *id == '\0') {
			http_error(req, 500, "a query without an ID");
			exec_free(x);
			return;
		}
		if ((r = send_read(req, &x->q, CAT_Q_PQUERY_GET, id,
		    pquery_item, explain_done, x->home[0] != '\0' ?
		    x->home : NULL)) == NULL) {
			exec_free(x);
			return;
		}
		r->ctx = x;
		r->ctx_free = exec_free;
		return;
	}
	/* ?near of the request wins over the query's Near. */
	if ((near = query_get(&x->q, "near")) == NULL || *near == '\0')
		near = json_string_value(json_object_get(svc, "Near"));
	if (near != NULL && *near != '\0' && (x->near = strdup(strcmp(near,
	    "_agent") == 0 ? apid_child.conf->node_name : near)) == NULL) {
		http_error(req, 500, "out of memory");
		exec_free(x);
		return;
	}
	if (json_integer_value(json_object_get(json_object_get(svc,
	    "Failover"), "NearestN")) <= 0) {
		exec_plan(req, x, NULL);
		return;
	}
	if ((r = send_read(req, &x->q, CAT_Q_DATACENTERS, "", dc_item,
	    dcs_done, NULL)) == NULL) {
		exec_free(x);
		return;
	}
	r->ctx = x;
	r->ctx_free = exec_free;
}

/* The longest-named template whose name prefixes (or regexp) the name. */
static void
templates_done(struct request *r, struct imsg *imsg)
{
	struct exec		*x = r->ctx;
	struct imsg_read_end	 end;
	json_t			*q, *best = NULL;
	const char		*name, *type;
	size_t			 i, bestlen = 0;

	read_end_get(imsg, &end);
	if (end.error[0] != '\0') {
		http_error(r->req, 500, end.error);
		return;
	}
	json_array_foreach(r->items, i, q) {
		name = json_string_value(json_object_get(q, "Name"));
		type = json_string_value(json_object_get(json_object_get(q,
		    "Template"), "Type"));
		if (name == NULL || type == NULL || *type == '\0' ||
		    strncmp(x->idname, name, strlen(name)) != 0)
			continue;
		if (best == NULL || strlen(name) > bestlen) {
			best = q;
			bestlen = strlen(name);
		}
	}
	if (best == NULL) {
		http_error(r->req, 404, "Query not found");
		return;
	}
	x->query = json_deep_copy(best);
	template_apply(x->query, x->idname);
	r->ctx = NULL;
	exec_start(r->req, x, r->pretty);
}

static void
lookup_done(struct request *r, struct imsg *imsg)
{
	struct exec		*x = r->ctx;
	struct imsg_read_end	 end;
	struct request		*nr;
	const char		*type;

	read_end_get(imsg, &end);
	if (end.error[0] != '\0') {
		http_error(r->req, 500, end.error);
		return;
	}
	if (json_array_size(r->items) == 0) {
		/* No such ID or name: a template may match it. */
		if ((nr = send_read(r->req, &x->q, CAT_Q_PQUERY_ALL, "",
		    pquery_item, templates_done, r->dc)) == NULL)
			return;
		nr->ctx = x;
		nr->ctx_free = exec_free;
		r->ctx = NULL;
		return;
	}
	x->query = json_incref(json_array_get(r->items, 0));
	type = json_string_value(json_object_get(json_object_get(x->query,
	    "Template"), "Type"));
	if (type != NULL && *type != '\0')
		template_apply(x->query, x->idname);
	r->ctx = NULL;
	exec_start(r->req, x, r->pretty);
}

static void
query_exec(struct evhttp_request *req, struct query *q, const char *idname,
    int explain)
{
	struct exec	*x;
	struct request	*r;

	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->idname = strdup(idname)) == NULL) {
		free(x);
		http_error(req, 500, "out of memory");
		return;
	}
	x->explain = explain;
	if (query_parse(req, &x->q) == -1 ||
	    query_u64(&x->q, "limit", &x->limit) == -1) {
		free(x->idname);
		free(x);
		http_error(req, 400, "Bad request: bad ?limit");
		return;
	}
	if ((r = send_read(req, &x->q, CAT_Q_PQUERY_LOOKUP, idname,
	    pquery_item, lookup_done, NULL)) == NULL) {
		exec_free(x);
		return;
	}
	strlcpy(x->home, r->dc, sizeof(x->home));
	r->ctx = x;
	r->ctx_free = exec_free;
}

void
query_handler(struct evhttp_request *req, const char *path)
{
	struct query		 q;
	const char		*p = path + strlen(QUERY_PREFIX), *s;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	char			 id[CAT_STR_MAX + 1];

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	if (*p == '\0' || strcmp(p, "/") == 0) {
		if (cmd == EVHTTP_REQ_POST || cmd == EVHTTP_REQ_PUT)
			query_set(req, NULL, 0);
		else if (cmd == EVHTTP_REQ_GET)
			send_read(req, &q, CAT_Q_PQUERY_LIST, "", pquery_item,
			    list_done, NULL);
		else
			http_error(req, 405, "method not allowed");
		goto done;
	}
	p++;		/* the '/' */
	if (strlen(p) > CAT_STR_MAX) {
		http_error(req, 400, "Bad request: query ID too long");
		goto done;
	}
	strlcpy(id, p, sizeof(id));
	if ((s = strchr(p, '/')) != NULL) {
		id[s - p] = '\0';
		if (cmd != EVHTTP_REQ_GET)
			http_error(req, 405, "method not allowed");
		else if (strcmp(s, "/execute") == 0 && *id != '\0')
			query_exec(req, &q, id, 0);
		else if (strcmp(s, "/explain") == 0 && *id != '\0')
			query_exec(req, &q, id, 1);
		else
			http_error(req, 404, "Invalid URL path: not a "
			    "prepared query endpoint");
		goto done;
	}
	if (cmd == EVHTTP_REQ_GET)
		send_read(req, &q, CAT_Q_PQUERY_GET, id, pquery_item,
		    list_done, NULL);
	else if (cmd == EVHTTP_REQ_PUT)
		query_set(req, id, 1);
	else if (cmd == EVHTTP_REQ_DELETE)
		query_delete(req, id);
	else
		http_error(req, 405, "method not allowed");
 done:
	query_free(&q);
}
