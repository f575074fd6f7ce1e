/*
 * The ACL API, /v1/acl, with Consul's JSON:
 *
 *   PUT    /v1/acl/bootstrap            the first management token
 *   PUT    /v1/acl/token                create (IDs given or made)
 *   GET|PUT|DELETE /v1/acl/token/<accessor>
 *   GET    /v1/acl/token/self           the request's own token
 *   GET    /v1/acl/tokens               ?policy=<id>, ?role=<id>
 *   PUT    /v1/acl/policy               create
 *   GET|PUT|DELETE /v1/acl/policy/<id>, GET /v1/acl/policy/name/<name>
 *   GET    /v1/acl/policies             without their Rules
 *   PUT    /v1/acl/role                 create
 *   GET|PUT|DELETE /v1/acl/role/<id>, GET /v1/acl/role/name/<name>
 *   GET    /v1/acl/roles
 *   GET    /v1/acl/replication          this datacenter's replication
 *
 * Objects are raftd's (acl_state.h); links to policies and roles go by
 * ID or by Name, and the leader turns names into IDs.  A write answers
 * with the object as stored, read back once the write is applied.
 * Rules are parsed here, so that a bad one is refused with the line
 * and column of the error before it reaches the log.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "acl_codec.h"
#include "acl_rules.h"
#include "apid.h"
#include "catalog.h"
#include "config.h"
#include "duration.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"

#define ACL_PREFIX	"/v1/acl/"
#define ACL_BODY_MAX	(128 * 1024)
#define ACL_UUID_LEN	36
#define ACL_NAME_MAX	128

/* The ops of raftd/acl_state.h's commands that apid sends. */
enum {
	OP_BOOTSTRAP = 2,
	OP_TOKEN_SET,
	OP_TOKEN_DELETE,
	OP_POLICY_SET,
	OP_POLICY_DELETE,
	OP_ROLE_SET,
	OP_ROLE_DELETE
};

/* A decode error: its HTTP status and text. */
struct aerr {
	int		 code;
	char		 text[ACL_RULES_ERR_MAX + 128];
};

static int	afail(struct aerr *, int, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));

static int
afail(struct aerr *e, int code, const char *fmt, ...)
{
	va_list	 ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return -1;
}

/* What a write does once applied: read this back, or answer true. */
static const char *acl_request_secret_raw(struct evhttp_request *,
		    struct query *);

struct acl_then {
	int		 query;		/* CAT_Q_ACL_*, or -1: true */
	char		 arg[ACL_STR_MAX + 1];
	int		 bootstrap;	/* add the legacy "ID" */
	char		 token[ACL_STR_MAX + 1];	/* to read it with */
	int		 global;	/* the primary datacenter's */
	char		 dc[64];	/* where it was applied */
};

/*
 * The secret of the request's token: ?token=, X-Consul-Token,
 * Authorization: Bearer, else the agent's default token; "" for none
 * (anonymous).  One longer than any token can be, which raftd would
 * take for a malformed request, becomes one no token has.
 */
const char *
acl_request_secret(struct evhttp_request *req, struct query *q)
{
	const char	*v = acl_request_secret_raw(req, q);

	return strlen(v) > ACL_STR_MAX ? "\x01" : v;
}

static const char *
acl_request_secret_raw(struct evhttp_request *req, struct query *q)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	const char		*v;

	if (q != NULL && (v = query_get(q, "token")) != NULL && *v != '\0')
		return v;
	if ((v = evhttp_find_header(h, "X-Consul-Token")) != NULL &&
	    *v != '\0')
		return v;
	if ((v = evhttp_find_header(h, "Authorization")) != NULL &&
	    strncasecmp(v, "Bearer ", 7) == 0) {
		v += 7;
		while (*v == ' ')
			v++;
		if (*v != '\0')
			return v;
	}
	return acl_agent_default_token();
}

static int
uuid_valid(const char *s)
{
	size_t	 i;

	if (strlen(s) != ACL_UUID_LEN)
		return 0;
	for (i = 0; i < ACL_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* Consul's policy and role names: letters, digits, '-' and '_'. */
static int
name_valid(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > ACL_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return 0;
	return 1;
}

/* Service and node identity names: lower case, digits, '-', '_'. */
static int
ident_name_valid(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > 256)
		return 0;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return 0;
	return isalnum((unsigned char)s[0]) &&
	    isalnum((unsigned char)s[n - 1]);
}

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* RFC 3339 with nanoseconds in UTC, as Go prints a time.Time. */
static json_t *
time_json(uint64_t ns)
{
	struct tm	 tm;
	time_t		 t = ns / 1000000000ull;
	char		 buf[64], frac[16];
	size_t		 n;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(frac, sizeof(frac), ".%09llu",
	    (unsigned long long)(ns % 1000000000ull));
	for (n = strlen(frac); n > 1 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	if (n > 1)
		strlcat(buf, frac, sizeof(buf));
	strlcat(buf, "Z", sizeof(buf));
	return json_string(buf);
}

/* "2006-01-02T15:04:05[.frac](Z|+hh:mm|-hh:mm)" -> unix ns; -1 bad. */
static int
time_parse(const char *s, uint64_t *out)
{
	struct tm	 tm;
	const char	*p;
	uint64_t	 frac = 0, scale = 1000000000ull;
	long		 off = 0;
	time_t		 t;
	int		 hh, mm;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++)
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
	}
	if (*p == 'Z' && p[1] == '\0')
		off = 0;
	else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh,
	    &mm) == 2 && strlen(p) == 6)
		off = (*p == '+' ? 1 : -1) * (hh * 3600L + mm * 60L);
	else
		return -1;
	if ((t = timegm(&tm)) == (time_t)-1 || t - off < 0)
		return -1;
	*out = (uint64_t)(t - off) * 1000000000ull + frac;
	return 0;
}

/* Base64 of a BLAKE2b digest of the record as packed without indexes. */
static char *
hash_of(const struct mpack_out *rec)
{
	unsigned char	 d[32];
	char		 b64[sodium_base64_ENCODED_LEN(32,
			    sodium_base64_VARIANT_ORIGINAL)];

	crypto_generichash(d, sizeof(d), (const unsigned char *)
	    rec->sbuf.data, rec->sbuf.size, NULL, 0);
	sodium_bin2base64(b64, sizeof(b64), d, sizeof(d),
	    sodium_base64_VARIANT_ORIGINAL);
	return strdup(b64);
}

/* JSON out. */

/* [[id, name]...] from raftd as [{"ID", "Name"}...]. */
static json_t *
links_json(const msgpack_object *o)
{
	json_t		*a = json_array();
	char		 id[ACL_STR_MAX + 1], name[ACL_STR_MAX + 1];
	uint32_t	 i;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		fatalx("acl: malformed links from raftd");
	for (i = 0; i < o->via.array.size; i++) {
		if (o->via.array.ptr[i].type != MSGPACK_OBJECT_ARRAY ||
		    o->via.array.ptr[i].via.array.size != 2 ||
		    mpack_copy_str(&o->via.array.ptr[i].via.array.ptr[0], id,
		    sizeof(id)) == -1 ||
		    mpack_copy_str(&o->via.array.ptr[i].via.array.ptr[1],
		    name, sizeof(name)) == -1)
			fatalx("acl: malformed link from raftd");
		json_array_append_new(a, json_pack("{s:s,s:s}", "ID", id,
		    "Name", name));
	}
	return a;
}

static void
idents_json(json_t *o, const struct acl_svc_ident *si, size_t nsi,
    const struct acl_node_ident *ni, size_t nni)
{
	json_t	*a, *x;
	size_t	 i;

	a = json_array();
	for (i = 0; i < nsi; i++) {
		x = json_pack("{s:s}", "ServiceName", si[i].name);
		if (si[i].ndcs > 0)
			json_object_set_new(x, "Datacenters",
			    strs_json(si[i].dcs, si[i].ndcs));
		json_array_append_new(a, x);
	}
	json_object_set_new(o, "ServiceIdentities", a);
	a = json_array();
	for (i = 0; i < nni; i++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "NodeName",
		    ni[i].name, "Datacenter", ni[i].dc ? ni[i].dc : ""));
	json_object_set_new(o, "NodeIdentities", a);
}

static json_t *
token_json(const struct acl_token *t, const msgpack_object *pl,
    const msgpack_object *rl)
{
	json_t	*o;
	char	 ttl[DURATION_BUFSIZE];

	o = json_pack("{s:s,s:s,s:s}", "AccessorID", t->accessor,
	    "SecretID", t->secret ? t->secret : "",
	    "Description", t->description ? t->description : "");
	json_object_set_new(o, "Policies", links_json(pl));
	json_object_set_new(o, "Roles", links_json(rl));
	idents_json(o, t->svc_idents, t->nsvc_idents, t->node_idents,
	    t->nnode_idents);
	json_object_set_new(o, "Local", json_boolean(t->local));
	if (t->expiration_time != 0)
		json_object_set_new(o, "ExpirationTime",
		    time_json(t->expiration_time));
	if (t->expiration_ttl != 0)
		json_object_set_new(o, "ExpirationTTL", json_string(
		    duration_format(t->expiration_ttl, ttl, sizeof(ttl))));
	json_object_set_new(o, "CreateTime", time_json(t->create_time));
	json_object_set_new(o, "Hash", json_string(t->hash ? t->hash : ""));
	json_object_set_new(o, "CreateIndex",
	    json_integer((json_int_t)t->create_index));
	json_object_set_new(o, "ModifyIndex",
	    json_integer((json_int_t)t->modify_index));
	return o;
}

static json_t *
policy_json(const struct acl_policy *p, int rules)
{
	json_t	*o;

	o = json_pack("{s:s,s:s,s:s}", "ID", p->id, "Name", p->name,
	    "Description", p->description ? p->description : "");
	if (rules)
		json_object_set_new(o, "Rules",
		    json_string(p->rules ? p->rules : ""));
	if (p->ndcs > 0)
		json_object_set_new(o, "Datacenters",
		    strs_json(p->dcs, p->ndcs));
	json_object_set_new(o, "Hash", json_string(p->hash ? p->hash : ""));
	json_object_set_new(o, "CreateIndex",
	    json_integer((json_int_t)p->create_index));
	json_object_set_new(o, "ModifyIndex",
	    json_integer((json_int_t)p->modify_index));
	return o;
}

static json_t *
role_json(const struct acl_role *r, const msgpack_object *pl)
{
	json_t	*o;

	o = json_pack("{s:s,s:s,s:s}", "ID", r->id, "Name", r->name,
	    "Description", r->description ? r->description : "");
	json_object_set_new(o, "Policies", links_json(pl));
	idents_json(o, r->svc_idents, r->nsvc_idents, r->node_idents,
	    r->nnode_idents);
	json_object_set_new(o, "Hash", json_string(r->hash ? r->hash : ""));
	json_object_set_new(o, "CreateIndex",
	    json_integer((json_int_t)r->create_index));
	json_object_set_new(o, "ModifyIndex",
	    json_integer((json_int_t)r->modify_index));
	return o;
}

/* JSON in. */

static int
get_str(json_t *o, const char *name, size_t max, const char **out,
    struct aerr *e)
{
	json_t	*v = json_member_ci(o, name);

	*out = "";
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) > max)
		return afail(e, 400, "Request decode failed: %s must be a "
		    "string of at most %zu bytes", name, max);
	*out = json_string_value(v);
	return 0;
}

/* A list of strings, copied into *out (NULL when empty). */
static int
get_strs(json_t *o, const char *name, char ***out, size_t *n,
    struct aerr *e)
{
	json_t	*v = json_member_ci(o, name), *x;
	size_t	 i;

	*out = NULL;
	*n = 0;
	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > ACL_LIST_MAX)
		return afail(e, 400, "Request decode failed: %s must be a "
		    "list of strings", name);
	json_array_foreach(v, i, x)
		if (!json_is_string(x) ||
		    strlen(json_string_value(x)) > ACL_STR_MAX)
			return afail(e, 400, "Request decode failed: %s must "
			    "be a list of strings", name);
	if (json_array_size(v) == 0)
		return 0;
	if ((*out = calloc(json_array_size(v), sizeof(**out))) == NULL)
		return afail(e, 500, "out of memory");
	json_array_foreach(v, i, x) {
		if (((*out)[i] = strdup(json_string_value(x))) == NULL)
			return afail(e, 500, "out of memory");
		(*n)++;
	}
	return 0;
}

static int
push(char ***v, size_t *n, const char *s, struct aerr *e)
{
	char	**nv;

	if ((nv = reallocarray(*v, *n + 1, sizeof(*nv))) == NULL)
		return afail(e, 500, "out of memory");
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return afail(e, 500, "out of memory");
	(*n)++;
	return 0;
}

/* Policies or Roles: [{"ID": id} or {"Name": name}...]. */
static int
get_links(json_t *o, const char *what, char ***ids, size_t *nids,
    char ***names, size_t *nnames, struct aerr *e)
{
	json_t		*v = json_member_ci(o, what), *x;
	const char	*id, *name;
	size_t		 i;

	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > ACL_LIST_MAX)
		return afail(e, 400, "Request decode failed: %s must be a "
		    "list of objects", what);
	json_array_foreach(v, i, x) {
		if (!json_is_object(x))
			return afail(e, 400, "Request decode failed: %s must "
			    "be a list of objects", what);
		if (get_str(x, "ID", ACL_STR_MAX, &id, e) == -1 ||
		    get_str(x, "Name", ACL_STR_MAX, &name, e) == -1)
			return -1;
		if (*id != '\0') {
			if (push(ids, nids, id, e) == -1)
				return -1;
		} else if (*name != '\0') {
			if (push(names, nnames, name, e) == -1)
				return -1;
		} else
			return afail(e, 400, "%s links need an ID or a Name",
			    what);
	}
	return 0;
}

static int
get_idents(json_t *o, struct acl_svc_ident **si, size_t *nsi,
    struct acl_node_ident **ni, size_t *nni, struct aerr *e)
{
	json_t		*v, *x;
	const char	*name, *dc;
	size_t		 i, n;

	v = json_member_ci(o, "ServiceIdentities");
	if (v != NULL && (!json_is_array(v) ||
	    json_array_size(v) > ACL_LIST_MAX))
		return afail(e, 400, "Request decode failed: "
		    "ServiceIdentities must be a list of objects");
	if (v != NULL && (n = json_array_size(v)) > 0) {
		if ((*si = calloc(n, sizeof(**si))) == NULL)
			return afail(e, 500, "out of memory");
		json_array_foreach(v, i, x) {
			if (get_str(x, "ServiceName", ACL_STR_MAX, &name,
			    e) == -1)
				return -1;
			if (!ident_name_valid(name))
				return afail(e, 400, "Service identity "
				    "\"%.64s\" has an invalid name. Only "
				    "lowercase alphanumeric characters, '-' "
				    "and '_' are allowed", name);
			if (((*si)[i].name = strdup(name)) == NULL)
				return afail(e, 500, "out of memory");
			(*nsi)++;
			if (get_strs(x, "Datacenters", &(*si)[i].dcs,
			    &(*si)[i].ndcs, e) == -1)
				return -1;
		}
	}
	v = json_member_ci(o, "NodeIdentities");
	if (v != NULL && (!json_is_array(v) ||
	    json_array_size(v) > ACL_LIST_MAX))
		return afail(e, 400, "Request decode failed: "
		    "NodeIdentities must be a list of objects");
	if (v != NULL && (n = json_array_size(v)) > 0) {
		if ((*ni = calloc(n, sizeof(**ni))) == NULL)
			return afail(e, 500, "out of memory");
		json_array_foreach(v, i, x) {
			if (get_str(x, "NodeName", ACL_STR_MAX, &name,
			    e) == -1 ||
			    get_str(x, "Datacenter", ACL_STR_MAX, &dc,
			    e) == -1)
				return -1;
			if (!ident_name_valid(name))
				return afail(e, 400, "Node identity "
				    "\"%.64s\" has an invalid name. Only "
				    "lowercase alphanumeric characters, '-' "
				    "and '_' are allowed", name);
			if (*dc == '\0')
				return afail(e, 400, "Node identity \"%.64s\" "
				    "requires a Datacenter", name);
			if (((*ni)[i].name = strdup(name)) == NULL ||
			    ((*ni)[i].dc = strdup(dc)) == NULL)
				return afail(e, 500, "out of memory");
			(*nni)++;
		}
	}
	return 0;
}

/*
 * A token expires between acl.token_min_expiration_ttl (1 minute) and
 * acl.token_max_expiration_ttl (24 hours) after it is made.
 */
static int
expiry_bounded(const struct acl_token *t, struct aerr *e)
{
	const struct config	*c = apid_child.conf;
	char			 bound[DURATION_BUFSIZE], was[DURATION_BUFSIZE];
	int64_t			 in;

	if (t->expiration_time == 0)
		return 0;
	in = (int64_t)(t->expiration_time - t->create_time);
	if (in > c->acl.token_max_expiration_ttl)
		return afail(e, 400, "Invalid Token: ExpirationTime cannot be "
		    "more than %s in the future (was %s)", duration_format(
		    c->acl.token_max_expiration_ttl, bound, sizeof(bound)),
		    duration_format(in, was, sizeof(was)));
	if (in < c->acl.token_min_expiration_ttl)
		return afail(e, 400, "Invalid Token: ExpirationTime cannot be "
		    "less than %s in the future (was %s)", duration_format(
		    c->acl.token_min_expiration_ttl, bound, sizeof(bound)),
		    duration_format(in, was, sizeof(was)));
	return 0;
}

/*
 * A token from a create (id NULL) or an update body.  IDs given must
 * be UUIDs; a create without them gets new ones.
 */
static int
token_decode(json_t *o, const char *id, struct acl_token *t, struct aerr *e)
{
	const char	*acc, *sec, *desc, *exp, *ttl;
	char		 buf[ACL_UUID_LEN + 1];
	json_t		*v;
	int64_t		 ns;

	memset(t, 0, sizeof(*t));
	if (get_str(o, "AccessorID", ACL_STR_MAX, &acc, e) == -1 ||
	    get_str(o, "SecretID", ACL_STR_MAX, &sec, e) == -1 ||
	    get_str(o, "Description", ACL_DESC_MAX, &desc, e) == -1 ||
	    get_str(o, "ExpirationTime", 64, &exp, e) == -1 ||
	    get_str(o, "ExpirationTTL", 64, &ttl, e) == -1)
		return -1;
	if (id != NULL) {
		if (*acc != '\0' && strcmp(acc, id) != 0)
			return afail(e, 400, "Token Accessor ID in URL and "
			    "payload do not match");
		acc = id;
	}
	if (*acc != '\0' && !uuid_valid(acc))
		return afail(e, 400, "Invalid Token: AccessorID is not a "
		    "valid UUID");
	if (*sec != '\0' && !uuid_valid(sec))
		return afail(e, 400, "Invalid Token: SecretID is not a "
		    "valid UUID");
	if (id == NULL && *acc == '\0') {
		uuid_v4(buf, sizeof(buf));
		acc = buf;
	}
	if ((t->accessor = strdup(acc)) == NULL)
		return afail(e, 500, "out of memory");
	if (id == NULL && *sec == '\0') {
		uuid_v4(buf, sizeof(buf));
		sec = buf;
	}
	if ((t->secret = strdup(sec)) == NULL ||
	    (t->description = strdup(desc)) == NULL)
		return afail(e, 500, "out of memory");
	if (get_links(o, "Policies", &t->policies, &t->npolicies,
	    &t->policy_names, &t->npolicy_names, e) == -1 ||
	    get_links(o, "Roles", &t->roles, &t->nroles, &t->role_names,
	    &t->nrole_names, e) == -1 ||
	    get_idents(o, &t->svc_idents, &t->nsvc_idents, &t->node_idents,
	    &t->nnode_idents, e) == -1)
		return -1;
	if ((v = json_member_ci(o, "Local")) != NULL) {
		if (!json_is_boolean(v))
			return afail(e, 400, "Request decode failed: Local "
			    "must be a bool");
		t->local = json_is_true(v);
	}
	t->create_time = now_ns();
	if (*ttl != '\0') {
		if (duration_parse(ttl, &ns) == -1 || ns <= 0)
			return afail(e, 400, "Invalid Token: ExpirationTTL "
			    "must be a positive duration");
		t->expiration_ttl = ns;
		t->expiration_time = t->create_time + ns;
	}
	if (*exp != '\0') {
		if (*ttl != '\0')
			return afail(e, 400, "Invalid Token: Expiration TTL "
			    "and Expiration Time cannot both be set");
		if (time_parse(exp, &t->expiration_time) == -1)
			return afail(e, 400, "Invalid Token: ExpirationTime "
			    "must be an RFC 3339 time");
		if (t->expiration_time <= t->create_time)
			return afail(e, 400, "Invalid Token: ExpirationTime "
			    "cannot be in the past");
	}
	/* An update keeps the expiry the token has: only a create. */
	return id == NULL ? expiry_bounded(t, e) : 0;
}

static int
policy_decode(json_t *o, const char *id, struct acl_policy *p,
    struct aerr *e)
{
	struct acl_rules	*rules;
	const char		*pid, *name, *desc, *text;
	char			 buf[ACL_UUID_LEN + 1], err[ACL_RULES_ERR_MAX];
	int			 rc;

	memset(p, 0, sizeof(*p));
	if (get_str(o, "ID", ACL_STR_MAX, &pid, e) == -1 ||
	    get_str(o, "Name", ACL_STR_MAX, &name, e) == -1 ||
	    get_str(o, "Description", ACL_DESC_MAX, &desc, e) == -1 ||
	    get_str(o, "Rules", ACL_POLICY_RULES_MAX, &text, e) == -1)
		return -1;
	if (id != NULL) {
		if (*pid != '\0' && strcmp(pid, id) != 0)
			return afail(e, 400, "Policy ID in URL and payload "
			    "do not match");
		pid = id;
	} else if (*pid != '\0')
		return afail(e, 400, "Invalid Policy: cannot specify an ID "
		    "when creating a policy");
	if (*name == '\0')
		return afail(e, 400, "Invalid Policy: no Name is set");
	if (!name_valid(name))
		return afail(e, 400, "Invalid Policy: invalid Name. Only "
		    "alphanumeric characters, '-' and '_' are allowed");
	if ((rules = acl_rules_new()) == NULL)
		return afail(e, 500, "out of memory");
	rc = acl_rules_parse(rules, text, strlen(text), err, sizeof(err));
	acl_rules_free(rules);
	if (rc == -1)
		return afail(e, 400, "Invalid Policy: Failed to parse ACL "
		    "rules: %s", err);
	if (id == NULL) {
		uuid_v4(buf, sizeof(buf));
		pid = buf;
	}
	if ((p->id = strdup(pid)) == NULL || (p->name = strdup(name)) ==
	    NULL || (p->description = strdup(desc)) == NULL ||
	    (p->rules = strdup(text)) == NULL)
		return afail(e, 500, "out of memory");
	return get_strs(o, "Datacenters", &p->dcs, &p->ndcs, e);
}

static int
role_decode(json_t *o, const char *id, struct acl_role *r, struct aerr *e)
{
	const char	*rid, *name, *desc;
	char		 buf[ACL_UUID_LEN + 1];

	memset(r, 0, sizeof(*r));
	if (get_str(o, "ID", ACL_STR_MAX, &rid, e) == -1 ||
	    get_str(o, "Name", ACL_STR_MAX, &name, e) == -1 ||
	    get_str(o, "Description", ACL_DESC_MAX, &desc, e) == -1)
		return -1;
	if (id != NULL) {
		if (*rid != '\0' && strcmp(rid, id) != 0)
			return afail(e, 400, "Role ID in URL and payload do "
			    "not match");
		rid = id;
	} else if (*rid != '\0')
		return afail(e, 400, "Invalid Role: cannot specify an ID "
		    "when creating a role");
	if (*name == '\0')
		return afail(e, 400, "Invalid Role: no Name is set");
	if (!name_valid(name))
		return afail(e, 400, "Invalid Role: invalid Name. Only "
		    "alphanumeric characters, '-' and '_' are allowed");
	if (id == NULL) {
		uuid_v4(buf, sizeof(buf));
		rid = buf;
	}
	if ((r->id = strdup(rid)) == NULL || (r->name = strdup(name)) ==
	    NULL || (r->description = strdup(desc)) == NULL)
		return afail(e, 500, "out of memory");
	return get_links(o, "Policies", &r->policies, &r->npolicies,
	    &r->policy_names, &r->npolicy_names, e) == -1 ||
	    get_idents(o, &r->svc_idents, &r->nsvc_idents, &r->node_idents,
	    &r->nnode_idents, e) == -1 ? -1 : 0;
}

/* Reads. */

struct acl_list {
	int		 rules;		/* policies: with Rules */
	const char	*policy;	/* tokens: ?policy */
	const char	*role;		/* ?role */
	char		 filter[ACL_STR_MAX + 1];
	int		 by_role;
	int		 single;
	int		 bootstrap;
	char		 dc[64];	/* where to read; "" as routed */
};

static int
links_have(const msgpack_object *o, const char *id)
{
	uint32_t	 i;
	char		 buf[ACL_STR_MAX + 1];

	for (i = 0; i < o->via.array.size; i++)
		if (mpack_copy_str(&o->via.array.ptr[i].via.array.ptr[0],
		    buf, sizeof(buf)) == 0 && strcmp(buf, id) == 0)
			return 1;
	return 0;
}

/* A time of the replication status: Go's zero time when never. */
static json_t *
repl_time_json(uint64_t ns)
{
	return ns == 0 ? json_string("0001-01-01T00:00:00Z") : time_json(ns);
}

/*
 * GET /v1/acl/replication from raftd's [enabled, running, source dc,
 * type, index, role index, token index, last success, last error,
 * message]; NULL if malformed.
 */
static json_t *
replication_json(const msgpack_object *o)
{
	const msgpack_object	*a = o->via.array.ptr;
	char			 dc[64], type[16], msg[192];
	uint64_t		 v[5];
	int			 en, run, i;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 10 ||
	    mpack_get_bool(&a[0], &en) == -1 ||
	    mpack_get_bool(&a[1], &run) == -1 ||
	    mpack_copy_str(&a[2], dc, sizeof(dc)) == -1 ||
	    mpack_copy_str(&a[3], type, sizeof(type)) == -1 ||
	    mpack_copy_str(&a[9], msg, sizeof(msg)) == -1)
		return NULL;
	for (i = 0; i < 5; i++)
		if (mpack_get_uint(&a[4 + i], &v[i]) == -1)
			return NULL;
	return json_pack("{s:b, s:b, s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:s}",
	    "Enabled", en, "Running", run, "SourceDatacenter", dc,
	    "ReplicationType", type, "ReplicatedIndex", (json_int_t)v[0],
	    "ReplicatedRoleIndex", (json_int_t)v[1],
	    "ReplicatedTokenIndex", (json_int_t)v[2],
	    "LastSuccess", repl_time_json(v[3]),
	    "LastError", repl_time_json(v[4]), "LastErrorMessage", msg);
}

static void
acl_item(struct request *r, struct imsg *imsg)
{
	struct acl_list		*l = r->ctx;
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct acl_token	 t;
	struct acl_policy	 p;
	struct acl_role		 ro;
	json_t			*o = NULL;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1)
		fatalx("acl: malformed item from raftd");
	a = u.data.via.array.ptr;
	switch (r->mode) {
	case CAT_Q_ACL_TOKEN:
	case CAT_Q_ACL_TOKEN_SECRET:
	case CAT_Q_ACL_TOKENS:
		if (u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != 3 ||
		    acl_token_unpack(&a[0], &t) == -1 ||
		    a[1].type != MSGPACK_OBJECT_ARRAY ||
		    a[2].type != MSGPACK_OBJECT_ARRAY)
			fatalx("acl: malformed token from raftd");
		if (l->filter[0] == '\0' ||
		    links_have(l->by_role ? &a[2] : &a[1], l->filter)) {
			o = token_json(&t, &a[1], &a[2]);
			if (l->bootstrap)
				json_object_set_new(o, "ID",
				    json_string(t.secret));
		}
		acl_token_free(&t);
		break;
	case CAT_Q_ACL_POLICY:
	case CAT_Q_ACL_POLICY_NAME:
	case CAT_Q_ACL_POLICIES:
		if (acl_policy_unpack(&u.data, &p) == -1)
			fatalx("acl: malformed policy from raftd");
		o = policy_json(&p, l->rules);
		acl_policy_free(&p);
		break;
	case CAT_Q_ACL_REPLICATION:
		if ((o = replication_json(&u.data)) == NULL)
			fatalx("acl: malformed replication status from raftd");
		break;
	default:
		if (u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != 2 ||
		    acl_role_unpack(&a[0], &ro) == -1 ||
		    a[1].type != MSGPACK_OBJECT_ARRAY)
			fatalx("acl: malformed role from raftd");
		o = role_json(&ro, &a[1]);
		acl_role_free(&ro);
		break;
	}
	msgpack_unpacked_destroy(&u);
	if (o != NULL)
		json_array_append_new(r->items, o);
}

static void
acl_read_done(struct request *r, struct imsg *imsg)
{
	struct acl_list		*l = r->ctx;
	struct imsg_read_end	 end;

	read_end_get(imsg, &end);
	http_read_headers(r->req, &end);
	if (acl_denial(end.error))
		http_error(r->req, 403, end.error);
	else if (end.error[0] != '\0')
		http_error(r->req, 500, end.error);
	else if (!l->single)
		http_reply_json(r->req, json_incref(r->items), r->pretty);
	else if (json_array_size(r->items) == 0 &&
	    (r->mode == CAT_Q_ACL_ROLE || r->mode == CAT_Q_ACL_ROLE_NAME)) {
		/* Consul: an unknown role is a 404 with no body. */
		evhttp_send_reply(r->req, 404, NULL, NULL);
	} else if (json_array_size(r->items) == 0)
		/* An unknown token or policy: Consul's ACL-not-found. */
		http_error(r->req, 403, "ACL not found");
	else
		http_reply_json(r->req, json_incref(json_array_get(r->items,
		    0)), r->pretty);
}

static void
send_read(struct evhttp_request *req, struct query *q, int query,
    const char *arg, const char *token, const struct acl_list *lin)
{
	struct mpack_out	 out;
	struct request		*r;
	struct acl_list		*l;
	const char		*err;
	uint64_t		 min_index = 0, wait_ms = 0, max_stale_ms = 0;
	int			 cons = KV_CONS_DEFAULT;

	if (q != NULL && ((err = query_consistency(q, &cons,
	    &max_stale_ms)) != NULL || (err = query_blocking(q, &min_index,
	    &wait_ms)) != NULL)) {
		http_error(req, 400, err);
		return;
	}
	if ((l = malloc(sizeof(*l))) == NULL ||
	    (r = request_new(req, acl_read_done)) == NULL) {
		free(l);
		http_error(req, 500, "out of memory");
		return;
	}
	*l = *lin;
	if (l->dc[0] != '\0')
		strlcpy(r->dc, l->dc, sizeof(r->dc));
	r->ctx = l;
	r->ctx_free = free;
	if ((r->items = json_array()) == NULL) {
		request_free(r);
		http_error(req, 500, "out of memory");
		return;
	}
	r->item = acl_item;
	r->mode = query;
	/* cat_read_send()'s message with the caller's token after it. */
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 7);
	msgpack_pack_uint8(&out.pk, query);
	mpack_str(&out.pk, arg);
	msgpack_pack_uint64(&out.pk, min_index);
	msgpack_pack_uint64(&out.pk, wait_ms);
	msgpack_pack_uint8(&out.pk, cons);
	msgpack_pack_uint64(&out.pk, max_stale_ms);
	mpack_str(&out.pk, token);
	request_send(r, IMSG_CAT_READ, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	if (min_index > 0)
		request_blocking(r);
}

/* Writes. */

static void
write_done(struct request *r, struct imsg *imsg)
{
	struct acl_then		*then = r->ctx;
	struct acl_list		 l;
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	char			 err[512], msg[600];
	int			 ok, code;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size != 6 ||
	    mpack_get_bool(&u.data.via.array.ptr[0], &ok) == -1)
		fatalx("acl: malformed write result from raftd");
	a = u.data.via.array.ptr;
	if (ok) {
		msgpack_unpacked_destroy(&u);
		if (then->query == -1) {
			http_reply_text(r->req, 200, "application/json",
			    "true", 4);
			return;
		}
		memset(&l, 0, sizeof(l));
		l.single = 1;
		l.rules = 1;
		l.bootstrap = then->bootstrap;
		strlcpy(l.dc, then->dc, sizeof(l.dc));
		send_read(r->req, NULL, then->query, then->arg, then->token,
		    &l);
		return;
	}
	if ((mpack_copy_str(&a[1], err, sizeof(err)) == -1 ||
	    err[0] == '\0') && mpack_copy_str(&a[4], err, sizeof(err)) == -1)
		strlcpy(err, "ACL write failed", sizeof(err));
	msgpack_unpacked_destroy(&u);
	code = 400;
	if (strncmp(err, "No cluster leader", 17) == 0 ||
	    strncmp(err, "rpc error", 9) == 0 ||
	    strcmp(err, "No path to datacenter") == 0 ||
	    strcmp(err, "No known Consul servers") == 0)
		code = 500;
	if (acl_denial(err))
		code = 403;
	if (strncmp(err, "ACL bootstrap no longer allowed", 31) == 0) {
		snprintf(msg, sizeof(msg), "Permission denied: %s", err);
		http_error(r->req, 403, msg);
		return;
	}
	http_error(r->req, code, err);
}

/* cmd is [op, arg, n]; then says what to answer once it is applied. */
static void
send_write(struct evhttp_request *req, const struct mpack_out *cmd,
    const struct acl_then *then, const char *token)
{
	const struct config	*c = apid_child.conf;
	struct request		*r;
	struct acl_then		*t;
	struct mpack_out	 out;

	if ((t = malloc(sizeof(*t))) == NULL ||
	    (r = request_new(req, write_done)) == NULL) {
		free(t);
		http_error(req, 500, "out of memory");
		return;
	}
	*t = *then;
	/*
	 * A global object written in a secondary datacenter is the
	 * primary's (raftd sends it there): read it back from there.
	 */
	strlcpy(t->dc, r->dc, sizeof(t->dc));
	if (t->global && c->primary_datacenter != NULL &&
	    strcmp(c->primary_datacenter, t->dc[0] != '\0' ? t->dc :
	    c->datacenter) != 0)
		strlcpy(t->dc, c->primary_datacenter, sizeof(t->dc));
	r->ctx = t;
	r->ctx_free = free;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	msgpack_pack_uint8(&out.pk, CAT_WRITE_ACL);
	msgpack_sbuffer_write(&out.sbuf, cmd->sbuf.data, cmd->sbuf.size);
	mpack_str(&out.pk, token);
	request_send(r, IMSG_CAT_WRITE, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

static void
write_delete(struct evhttp_request *req, int op, const char *id,
    const char *token)
{
	struct mpack_out	 cmd;
	struct acl_then		 then;

	memset(&then, 0, sizeof(then));
	then.query = -1;

	mpack_out_init(&cmd);
	msgpack_pack_array(&cmd.pk, 3);
	msgpack_pack_uint8(&cmd.pk, op);
	mpack_str(&cmd.pk, id);
	msgpack_pack_uint64(&cmd.pk, 0);
	send_write(req, &cmd, &then, token);
	mpack_out_free(&cmd);
}

/* Hash, then write a token; it is read back once applied. */
static void
token_send(struct evhttp_request *req, struct acl_token *t, int bootstrap,
    const char *token)
{
	struct acl_then		 then;
	struct mpack_out	 cmd, h;

	mpack_out_init(&h);
	acl_token_pack(&h.pk, t);
	t->hash = hash_of(&h);
	mpack_out_free(&h);
	mpack_out_init(&cmd);
	msgpack_pack_array(&cmd.pk, 3);
	msgpack_pack_uint8(&cmd.pk, bootstrap ? OP_BOOTSTRAP : OP_TOKEN_SET);
	acl_token_pack(&cmd.pk, t);
	msgpack_pack_uint64(&cmd.pk, 0);
	memset(&then, 0, sizeof(then));
	then.query = CAT_Q_ACL_TOKEN;
	then.bootstrap = bootstrap;
	then.global = !t->local;
	strlcpy(then.arg, t->accessor, sizeof(then.arg));
	/* A bootstrap token reads itself back: it is management. */
	strlcpy(then.token, bootstrap ? t->secret : token, sizeof(then.token));
	send_write(req, &cmd, &then, token);
	explicit_bzero(then.token, sizeof(then.token));
	mpack_out_free(&cmd);
}

static void
token_write(struct evhttp_request *req, const char *id, int bootstrap,
    const char *token)
{
	struct acl_token	 t;
	struct aerr		 e;
	json_t			*o;
	char			*mgmt[] = { (char *)ACL_GLOBAL_MANAGEMENT_ID };

	memset(&e, 0, sizeof(e));
	memset(&t, 0, sizeof(t));
	if ((o = http_body_object(req, ACL_BODY_MAX, 1)) == NULL)
		return;
	if (bootstrap) {
		json_decref(o);
		o = json_pack("{s:s}", "Description",
		    "Bootstrap Token (Global Management)");
	}
	if (token_decode(o, id, &t, &e) == -1) {
		json_decref(o);
		acl_token_free(&t);
		http_error(req, e.code, e.text);
		return;
	}
	json_decref(o);
	if (bootstrap) {
		t.policies = NULL;
		t.npolicies = 0;
		if (push(&t.policies, &t.npolicies, mgmt[0], &e) == -1) {
			acl_token_free(&t);
			http_error(req, e.code, e.text);
			return;
		}
	}
	token_send(req, &t, bootstrap, token);
	acl_token_free(&t);
}

/*
 * PUT /v1/acl/token/<accessor>/clone: the token is read (with the
 * caller's token, which needs acl:read), then written anew with new
 * IDs, the same links, and the Description of the body if it has one.
 */
struct acl_clone {
	char		 accessor[ACL_STR_MAX + 1];
	char		*description;	/* NULL: the token's */
	char		 token[ACL_STR_MAX + 1];
	struct acl_token t;
	int		 found;
};

static void
clone_free(void *arg)
{
	struct acl_clone	*c = arg;

	free(c->description);
	if (c->found)
		acl_token_free(&c->t);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

static void
clone_item(struct request *r, struct imsg *imsg)
{
	struct acl_clone	*c = r->ctx;
	msgpack_unpacked	 u;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size != 3)
		fatalx("acl: malformed token from raftd");
	if (!c->found) {
		if (acl_token_unpack(&u.data.via.array.ptr[0], &c->t) == -1)
			fatalx("acl: malformed token from raftd");
		c->found = 1;
	}
	msgpack_unpacked_destroy(&u);
}

static void
clone_done(struct request *r, struct imsg *imsg)
{
	struct acl_clone	*c = r->ctx;
	struct imsg_read_end	 end;
	struct acl_token	 t;
	char			 acc[ACL_UUID_LEN + 1], sec[ACL_UUID_LEN + 1];

	read_end_get(imsg, &end);
	if (strcmp(end.error, "Permission denied") == 0 ||
	    strcmp(end.error, "ACL not found") == 0) {
		http_error(r->req, 403, end.error);
		return;
	}
	if (end.error[0] != '\0') {
		http_error(r->req, 500, end.error);
		return;
	}
	if (!c->found) {
		http_error(r->req, 403, "ACL not found");
		return;
	}
	uuid_v4(acc, sizeof(acc));
	uuid_v4(sec, sizeof(sec));
	t = c->t;
	t.accessor = acc;
	t.secret = sec;
	if (c->description != NULL)
		t.description = c->description;
	t.create_time = now_ns();
	t.hash = NULL;
	t.create_index = t.modify_index = 0;
	token_send(r->req, &t, 0, c->token);
	free(t.hash);
	explicit_bzero(sec, sizeof(sec));
}

static void
token_clone(struct evhttp_request *req, struct query *q, const char *id,
    const char *token)
{
	struct request		*r;
	struct acl_clone	*c;
	struct mpack_out	 out;
	struct aerr		 e;
	const char		*desc = "";
	json_t			*o = NULL;

	memset(&e, 0, sizeof(e));
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > 0) {
		if ((o = http_body_object(req, ACL_BODY_MAX, 1)) == NULL)
			return;
		if (get_str(o, "Description", ACL_DESC_MAX, &desc, &e) == -1) {
			json_decref(o);
			http_error(req, e.code, e.text);
			return;
		}
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (*desc != '\0' && (c->description = strdup(desc)) == NULL) ||
	    (r = request_new(req, clone_done)) == NULL) {
		if (c != NULL)
			clone_free(c);
		json_decref(o);
		http_error(req, 500, "out of memory");
		return;
	}
	json_decref(o);
	strlcpy(c->accessor, id, sizeof(c->accessor));
	strlcpy(c->token, token, sizeof(c->token));
	r->ctx = c;
	r->ctx_free = clone_free;
	r->item = clone_item;
	r->mode = CAT_Q_ACL_TOKEN;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 7);
	msgpack_pack_uint8(&out.pk, CAT_Q_ACL_TOKEN);
	mpack_str(&out.pk, id);
	msgpack_pack_uint64(&out.pk, 0);
	msgpack_pack_uint64(&out.pk, 0);
	msgpack_pack_uint8(&out.pk, query_get(q, "stale") != NULL ?
	    KV_CONS_STALE : KV_CONS_DEFAULT);
	msgpack_pack_uint64(&out.pk, 0);
	mpack_str(&out.pk, token);
	request_send(r, IMSG_CAT_READ, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

static void
policy_write(struct evhttp_request *req, const char *id, const char *token)
{
	struct acl_policy	 p;
	struct acl_then		 then;
	struct mpack_out	 cmd, h;
	struct aerr		 e;
	json_t			*o;

	memset(&e, 0, sizeof(e));
	memset(&p, 0, sizeof(p));
	if ((o = http_body_object(req, ACL_BODY_MAX, 1)) == NULL)
		return;
	if (policy_decode(o, id, &p, &e) == -1) {
		json_decref(o);
		acl_policy_free(&p);
		http_error(req, e.code, e.text);
		return;
	}
	json_decref(o);
	mpack_out_init(&h);
	acl_policy_pack(&h.pk, &p);
	p.hash = hash_of(&h);
	mpack_out_free(&h);
	mpack_out_init(&cmd);
	msgpack_pack_array(&cmd.pk, 3);
	msgpack_pack_uint8(&cmd.pk, OP_POLICY_SET);
	acl_policy_pack(&cmd.pk, &p);
	msgpack_pack_uint64(&cmd.pk, 0);
	memset(&then, 0, sizeof(then));
	then.query = CAT_Q_ACL_POLICY;
	then.global = 1;
	strlcpy(then.arg, p.id, sizeof(then.arg));
	strlcpy(then.token, token, sizeof(then.token));
	send_write(req, &cmd, &then, token);
	explicit_bzero(then.token, sizeof(then.token));
	mpack_out_free(&cmd);
	acl_policy_free(&p);
}

static void
role_write(struct evhttp_request *req, const char *id, const char *token)
{
	struct acl_role		 r;
	struct acl_then		 then;
	struct mpack_out	 cmd, h;
	struct aerr		 e;
	json_t			*o;

	memset(&e, 0, sizeof(e));
	memset(&r, 0, sizeof(r));
	if ((o = http_body_object(req, ACL_BODY_MAX, 1)) == NULL)
		return;
	if (role_decode(o, id, &r, &e) == -1) {
		json_decref(o);
		acl_role_free(&r);
		http_error(req, e.code, e.text);
		return;
	}
	json_decref(o);
	mpack_out_init(&h);
	acl_role_pack(&h.pk, &r);
	r.hash = hash_of(&h);
	mpack_out_free(&h);
	mpack_out_init(&cmd);
	msgpack_pack_array(&cmd.pk, 3);
	msgpack_pack_uint8(&cmd.pk, OP_ROLE_SET);
	acl_role_pack(&cmd.pk, &r);
	msgpack_pack_uint64(&cmd.pk, 0);
	memset(&then, 0, sizeof(then));
	then.query = CAT_Q_ACL_ROLE;
	then.global = 1;
	strlcpy(then.arg, r.id, sizeof(then.arg));
	strlcpy(then.token, token, sizeof(then.token));
	send_write(req, &cmd, &then, token);
	explicit_bzero(then.token, sizeof(then.token));
	mpack_out_free(&cmd);
	acl_role_free(&r);
}

/* Routing. */

/* GET|PUT|DELETE of one object of a kind, by ID or by name/. */
static void
acl_object(struct evhttp_request *req, struct query *q, int kind,
    const char *rest)
{
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct acl_list		 l;
	const char		*secret;
	char			 id[ACL_STR_MAX + 1];
	size_t			 n;
	int			 byname = strncmp(rest, "name/", 5) == 0;

	memset(&l, 0, sizeof(l));
	l.single = 1;
	l.rules = 1;
	/* No token is the anonymous one. */
	secret = acl_request_secret(req, q);
	if (*secret == '\0')
		secret = ACL_ANONYMOUS_SECRET;
	if (*rest == '\0' || strlen(rest) > ACL_STR_MAX ||
	    (byname && rest[5] == '\0')) {
		http_error(req, 400, "Missing ID or name in the URL path");
		return;
	}
	if (byname) {
		if (cmd != EVHTTP_REQ_GET || kind == CAT_Q_ACL_TOKEN)
			http_error(req, 405, "method not allowed");
		else
			send_read(req, q, kind + 1, rest + 5, secret, &l);
		return;
	}
	if (kind == CAT_Q_ACL_TOKEN && (n = strlen(rest)) > 6 &&
	    strcmp(rest + n - 6, "/clone") == 0 &&
	    memchr(rest, '/', n - 6) == NULL) {
		if (cmd != EVHTTP_REQ_PUT) {
			http_error(req, 405, "method not allowed");
			return;
		}
		strlcpy(id, rest, n - 6 + 1);
		token_clone(req, q, id, secret);
		return;
	}
	if (strchr(rest, '/') != NULL) {
		http_error(req, 404, "Invalid URL path: not an ACL endpoint");
		return;
	}
	if (kind == CAT_Q_ACL_TOKEN && strcmp(rest, "self") == 0 &&
	    cmd != EVHTTP_REQ_GET) {
		http_error(req, 405, "method not allowed");
		return;
	}
	if (cmd == EVHTTP_REQ_GET) {
		if (kind == CAT_Q_ACL_TOKEN && strcmp(rest, "self") == 0) {
			send_read(req, q, CAT_Q_ACL_TOKEN_SECRET, secret,
			    secret, &l);
			return;
		}
		send_read(req, q, kind, rest, secret, &l);
	} else if (cmd == EVHTTP_REQ_PUT) {
		if (kind == CAT_Q_ACL_TOKEN)
			token_write(req, rest, 0, secret);
		else if (kind == CAT_Q_ACL_POLICY)
			policy_write(req, rest, secret);
		else
			role_write(req, rest, secret);
	} else if (cmd == EVHTTP_REQ_DELETE)
		write_delete(req, kind == CAT_Q_ACL_TOKEN ? OP_TOKEN_DELETE :
		    kind == CAT_Q_ACL_POLICY ? OP_POLICY_DELETE :
		    OP_ROLE_DELETE, rest, secret);
	else
		http_error(req, 405, "method not allowed");
}

void
acl_handler(struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	const char		*p = path + strlen(ACL_PREFIX), *v, *secret;
	struct acl_list		 l;
	struct query		 q;

	if (!apid_child.conf->acl.enabled) {
		http_error(req, 401, "ACL support disabled");
		return;
	}
	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	memset(&l, 0, sizeof(l));
	secret = acl_request_secret(req, &q);
	if (*secret == '\0')
		secret = ACL_ANONYMOUS_SECRET;
	if (strcmp(p, "replication") == 0) {
		l.single = 1;
		if (cmd == EVHTTP_REQ_GET)
			send_read(req, &q, CAT_Q_ACL_REPLICATION, "", secret,
			    &l);
		else
			http_error(req, 405, "method not allowed");
	} else if (strcmp(p, "bootstrap") == 0) {
		if (cmd == EVHTTP_REQ_PUT)
			token_write(req, NULL, 1, secret);
		else
			http_error(req, 405, "method not allowed");
	} else if (strcmp(p, "tokens") == 0 || strcmp(p, "policies") == 0 ||
	    strcmp(p, "roles") == 0) {
		if (cmd != EVHTTP_REQ_GET) {
			http_error(req, 405, "method not allowed");
			goto done;
		}
		if (*p == 't') {
			if ((v = query_get(&q, "role")) != NULL) {
				l.by_role = 1;
				strlcpy(l.filter, v, sizeof(l.filter));
			}
			if ((v = query_get(&q, "policy")) != NULL) {
				l.by_role = 0;
				strlcpy(l.filter, v, sizeof(l.filter));
			}
		}
		send_read(req, &q, *p == 't' ? CAT_Q_ACL_TOKENS :
		    *p == 'p' ? CAT_Q_ACL_POLICIES : CAT_Q_ACL_ROLES, "",
		    secret, &l);
	} else if (strcmp(p, "token") == 0 || strcmp(p, "policy") == 0 ||
	    strcmp(p, "role") == 0) {
		if (cmd != EVHTTP_REQ_PUT) {
			http_error(req, 405, "method not allowed");
			goto done;
		}
		if (*p == 't')
			token_write(req, NULL, 0, secret);
		else if (*p == 'p')
			policy_write(req, NULL, secret);
		else
			role_write(req, NULL, secret);
	} else if (strncmp(p, "token/", 6) == 0)
		acl_object(req, &q, CAT_Q_ACL_TOKEN, p + 6);
	else if (strncmp(p, "policy/", 7) == 0)
		acl_object(req, &q, CAT_Q_ACL_POLICY, p + 7);
	else if (strncmp(p, "role/", 5) == 0)
		acl_object(req, &q, CAT_Q_ACL_ROLE, p + 5);
	else
		http_error(req, 404, "Invalid URL path: not a recognized "
		    "HTTP API endpoint");
 done:
	query_free(&q);
}
