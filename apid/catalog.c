/*
 * The /v1/catalog/ endpoints, with Consul's JSON:
 *
 *   PUT /v1/catalog/register, /v1/catalog/deregister
 *   GET /v1/catalog/datacenters, /nodes, /services, /service/<name>,
 *       /node/<node>, /node-services/<node>
 *
 * Bodies are decoded as Go's encoding/json does for Consul's structs
 * (field names match whatever their case); what raftd gets is checked
 * and in catalog_codec's form.  Reads block on ?index and honour the
 * consistency modes like KV reads; ?tag (repeatable, all must match),
 * ?node-meta=key:value (repeatable, all must match) and ?filter (see
 * filter.c) are applied here, to each element as it will be sent, and
 * ?near puts the named node's elements first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "apid.h"
#include "catalog.h"
#include "config.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"
#include "near.h"

#define CAT_BODY_MAX		(1024 * 1024)

/* A field of a JSON object, its name matched without regard to case. */
static json_t *
jget(json_t *o, const char *name)
{
	const char	*k;
	json_t		*v;

	if (!json_is_object(o))
		return NULL;
	if ((v = json_object_get(o, name)) != NULL)
		return v;
	json_object_foreach(o, k, v)
		if (strcasecmp(k, name) == 0)
			return v;
	return NULL;
}

/*
 * A string field: 0 with *out (NULL if absent or null), -1 with err set
 * when it is not a string or too long.
 */
static int
jstr(json_t *o, const char *name, size_t max, char **out, char *err,
    size_t errlen)
{
	json_t	*v = jget(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "Request decode failed: invalid %s",
		    name);
		return -1;
	}
	if ((*out = strdup(json_string_value(v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
jstrs(json_t *o, const char *name, char ***out, size_t *n, char *err,
    size_t errlen)
{
	json_t	*v = jget(o, name), *e;
	size_t	 i;

	*out = NULL;
	*n = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > CAT_LIST_MAX)
		goto bad;
	if (json_array_size(v) == 0)
		return 0;
	if ((*out = calloc(json_array_size(v), sizeof(**out))) == NULL)
		goto bad;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) > CAT_STR_MAX ||
		    strlen(json_string_value(e)) != json_string_length(e) ||
		    ((*out)[i] = strdup(json_string_value(e))) == NULL)
			goto bad;
		(*n)++;
	}
	return 0;
 bad:
	snprintf(err, errlen, "Request decode failed: invalid %s", name);
	return -1;
}

/* A map of string to string. */
static int
jkvs(json_t *o, const char *name, struct cat_kv **out, size_t *n, char *err,
    size_t errlen)
{
	json_t		*v = jget(o, name), *e;
	const char	*k;

	*out = NULL;
	*n = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v) || json_object_size(v) > CAT_LIST_MAX)
		goto bad;
	if (json_object_size(v) == 0)
		return 0;
	if ((*out = calloc(json_object_size(v), sizeof(**out))) == NULL)
		goto bad;
	json_object_foreach(v, k, e) {
		if (!json_is_string(e) || strlen(k) > CAT_STR_MAX ||
		    json_string_length(e) > CAT_STR_MAX ||
		    strlen(json_string_value(e)) != json_string_length(e) ||
		    ((*out)[*n].key = strdup(k)) == NULL ||
		    ((*out)[*n].value = strdup(json_string_value(e))) == NULL)
			goto bad;
		(*n)++;
	}
	return 0;
 bad:
	snprintf(err, errlen, "Request decode failed: invalid %s", name);
	return -1;
}

static int
jint(json_t *o, const char *name, int64_t lo, int64_t hi, int64_t *out,
    char *err, size_t errlen)
{
	json_t	*v = jget(o, name);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi) {
		snprintf(err, errlen, "Request decode failed: invalid %s",
		    name);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int
decode_node(json_t *o, struct cat_node *n, char *err, size_t errlen)
{
	if (jstr(o, "Node", CAT_STR_MAX, &n->node, err, errlen) == -1 ||
	    jstr(o, "ID", CAT_STR_MAX, &n->id, err, errlen) == -1 ||
	    jstr(o, "Address", CAT_STR_MAX, &n->address, err, errlen) == -1 ||
	    jkvs(o, "TaggedAddresses", &n->tagged, &n->ntagged, err,
	    errlen) == -1 ||
	    jkvs(o, "NodeMeta", &n->meta, &n->nmeta, err, errlen) == -1)
		return -1;
	if (n->node == NULL || *n->node == '\0' || n->address == NULL ||
	    *n->address == '\0') {
		snprintf(err, errlen, "Must provide node and address");
		return -1;
	}
	if ((n->datacenter = strdup(apid_child.conf->datacenter)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
decode_service(json_t *o, const char *node, struct cat_service *s,
    char *err, size_t errlen)
{
	json_t		*ta, *e, *w;
	const char	*k;
	int64_t		 port = 0, wp = 1, ww = 1;

	if (jstr(o, "ID", CAT_STR_MAX, &s->id, err, errlen) == -1 ||
	    jstr(o, "Service", CAT_STR_MAX, &s->service, err, errlen) == -1 ||
	    jstr(o, "Kind", CAT_STR_MAX, &s->kind, err, errlen) == -1 ||
	    jstr(o, "Address", CAT_STR_MAX, &s->address, err, errlen) == -1 ||
	    jstrs(o, "Tags", &s->tags, &s->ntags, err, errlen) == -1 ||
	    jkvs(o, "Meta", &s->meta, &s->nmeta, err, errlen) == -1 ||
	    jint(o, "Port", 0, 65535, &port, err, errlen) == -1)
		return -1;
	if ((w = jget(o, "Weights")) != NULL && !json_is_null(w) &&
	    (jint(w, "Passing", 1, INT32_MAX, &wp, err, errlen) == -1 ||
	    jint(w, "Warning", 0, INT32_MAX, &ww, err, errlen) == -1))
		return -1;
	s->port = (uint64_t)port;
	s->weight_passing = wp;
	s->weight_warning = ww;
	if ((e = jget(o, "EnableTagOverride")) != NULL && json_is_true(e))
		s->enable_tag_override = 1;
	if ((ta = jget(o, "TaggedAddresses")) != NULL && !json_is_null(ta)) {
		if (!json_is_object(ta) ||
		    json_object_size(ta) > CAT_LIST_MAX ||
		    (s->tagged = calloc(json_object_size(ta) + 1,
		    sizeof(*s->tagged))) == NULL) {
			snprintf(err, errlen, "Request decode failed: invalid "
			    "TaggedAddresses");
			return -1;
		}
		json_object_foreach(ta, k, e) {
			if (strlen(k) > CAT_STR_MAX ||
			    (s->tagged[s->ntagged].name = strdup(k)) == NULL ||
			    jstr(e, "Address", CAT_STR_MAX,
			    &s->tagged[s->ntagged].address, err, errlen) == -1 ||
			    jint(e, "Port", 0, 65535, &port, err,
			    errlen) == -1) {
				s->ntagged++;
				return -1;
			}
			s->tagged[s->ntagged++].port = (uint64_t)port;
		}
	}
	if (s->service == NULL || *s->service == '\0') {
		snprintf(err, errlen, "Must provide service name");
		return -1;
	}
	if ((s->id == NULL || *s->id == '\0')) {
		free(s->id);
		s->id = strdup(s->service);
	}
	if ((s->node = strdup(node)) == NULL || s->id == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
decode_check(json_t *o, const char *node, struct cat_check *c, char *err,
    size_t errlen)
{
	json_t	*def;

	if (jstr(o, "CheckID", CAT_STR_MAX, &c->check_id, err, errlen) == -1 ||
	    jstr(o, "Name", CAT_STR_MAX, &c->name, err, errlen) == -1 ||
	    jstr(o, "Status", CAT_STR_MAX, &c->status, err, errlen) == -1 ||
	    jstr(o, "Notes", CAT_NOTES_MAX, &c->notes, err, errlen) == -1 ||
	    jstr(o, "Output", CAT_OUTPUT_MAX, &c->output, err, errlen) == -1 ||
	    jstr(o, "ServiceID", CAT_STR_MAX, &c->service_id, err,
	    errlen) == -1 ||
	    jstr(o, "Type", CAT_STR_MAX, &c->type, err, errlen) == -1)
		return -1;
	if ((def = jget(o, "Definition")) != NULL && !json_is_null(def) &&
	    (jstr(def, "HTTP", CAT_STR_MAX, &c->http, err, errlen) == -1 ||
	    jstr(def, "TCP", CAT_STR_MAX, &c->tcp, err, errlen) == -1 ||
	    jstr(def, "Interval", CAT_STR_MAX, &c->interval, err,
	    errlen) == -1 ||
	    jstr(def, "Timeout", CAT_STR_MAX, &c->timeout, err, errlen) == -1))
		return -1;
	if (c->name == NULL || *c->name == '\0') {
		snprintf(err, errlen, "Missing check name");
		return -1;
	}
	if (c->check_id == NULL || *c->check_id == '\0') {
		free(c->check_id);
		c->check_id = strdup(c->name);
	}
	if (c->status == NULL || *c->status == '\0') {
		free(c->status);
		c->status = strdup(CAT_CRITICAL);
	} else if (!cat_status_valid(c->status)) {
		snprintf(err, errlen, "Bad check status");
		return -1;
	}
	if (c->service_id != NULL && *c->service_id == '\0') {
		free(c->service_id);
		c->service_id = NULL;
	}
	if ((c->node = strdup(node)) == NULL || c->check_id == NULL ||
	    c->status == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
decode_register(json_t *o, struct cat_register *reg, char *err,
    size_t errlen)
{
	json_t	*svc, *chk, *chks, *e;
	size_t	 i, n;

	if (decode_node(o, &reg->node, err, errlen) == -1)
		return -1;
	reg->skip_node_update = json_is_true(jget(o, "SkipNodeUpdate"));
	if ((svc = jget(o, "Service")) != NULL && !json_is_null(svc)) {
		if (!json_is_object(svc) ||
		    (reg->service = calloc(1, sizeof(*reg->service))) == NULL) {
			snprintf(err, errlen, "Request decode failed: invalid "
			    "Service");
			return -1;
		}
		if (decode_service(svc, reg->node.node, reg->service, err,
		    errlen) == -1)
			return -1;
	}
	chk = jget(o, "Check");
	chks = jget(o, "Checks");
	n = (chk != NULL && !json_is_null(chk)) +
	    (json_is_array(chks) ? json_array_size(chks) : 0);
	if ((chks != NULL && !json_is_null(chks) && !json_is_array(chks)) ||
	    (chk != NULL && !json_is_null(chk) && !json_is_object(chk)) ||
	    n > CAT_LIST_MAX) {
		snprintf(err, errlen, "Request decode failed: invalid Checks");
		return -1;
	}
	if (n == 0)
		return 0;
	if ((reg->checks = calloc(n, sizeof(*reg->checks))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (chk != NULL && !json_is_null(chk) &&
	    decode_check(chk, reg->node.node, &reg->checks[reg->nchecks++],
	    err, errlen) == -1)
		return -1;
	if (json_is_array(chks))
		json_array_foreach(chks, i, e) {
			if (!json_is_object(e)) {
				snprintf(err, errlen, "Request decode failed: "
				    "invalid Checks");
				return -1;
			}
			if (decode_check(e, reg->node.node,
			    &reg->checks[reg->nchecks++], err, errlen) == -1)
				return -1;
		}
	return 0;
}

static void
catalog_register(struct evhttp_request *req)
{
	struct cat_register	 reg;
	struct mpack_out	 out;
	json_t			*o;
	char			 err[256];

	if ((o = http_body_object(req, CAT_BODY_MAX, 0)) == NULL)
		return;
	memset(&reg, 0, sizeof(reg));
	if (decode_register(o, &reg, err, sizeof(err)) == -1)
		http_error(req, 400, err);
	else {
		mpack_out_init(&out);
		cat_register_pack(&out.pk, &reg);
		cat_write_send(req, CAT_WRITE_REGISTER, &out, NULL, 0);
		mpack_out_free(&out);
	}
	cat_register_free(&reg);
	json_decref(o);
}

static void
catalog_deregister(struct evhttp_request *req)
{
	struct cat_deregister	 d;
	struct mpack_out	 out;
	json_t			*o;
	char			 err[256];

	if ((o = http_body_object(req, CAT_BODY_MAX, 0)) == NULL)
		return;
	memset(&d, 0, sizeof(d));
	if (jstr(o, "Node", CAT_STR_MAX, &d.node, err, sizeof(err)) == -1 ||
	    jstr(o, "ServiceID", CAT_STR_MAX, &d.service_id, err,
	    sizeof(err)) == -1 ||
	    jstr(o, "CheckID", CAT_STR_MAX, &d.check_id, err,
	    sizeof(err)) == -1)
		http_error(req, 400, err);
	else if (d.node == NULL || *d.node == '\0')
		http_error(req, 400, "Must provide node");
	else if (d.service_id != NULL && *d.service_id != '\0' &&
	    d.check_id != NULL && *d.check_id != '\0')
		http_error(req, 400, "Must provide either ServiceID or "
		    "CheckID, not both");
	else {
		if (d.service_id != NULL && *d.service_id == '\0') {
			free(d.service_id);
			d.service_id = NULL;
		}
		if (d.check_id != NULL && *d.check_id == '\0') {
			free(d.check_id);
			d.check_id = NULL;
		}
		mpack_out_init(&out);
		cat_deregister_pack(&out.pk, &d);
		cat_write_send(req, CAT_WRITE_DEREGISTER, &out, NULL, 0);
		mpack_out_free(&out);
	}
	cat_deregister_free(&d);
	json_decref(o);
}

/* JSON shapes. */

static json_t *
kvs_json(const struct cat_kv *kv, size_t n)
{
	json_t	*o = json_object();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_object_set_new(o, kv[i].key, json_string(kv[i].value));
	return o;
}

json_t *
strs_json(char **s, size_t n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(s[i]));
	return a;
}

json_t *
node_json(const struct cat_node *n)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I}",
	    "ID", n->id != NULL ? n->id : "",
	    "Node", n->node,
	    "Address", n->address,
	    "Datacenter", n->datacenter != NULL ? n->datacenter :
	    apid_child.conf->datacenter,
	    "TaggedAddresses", kvs_json(n->tagged, n->ntagged),
	    "Meta", kvs_json(n->meta, n->nmeta),
	    "CreateIndex", (json_int_t)n->create_index,
	    "ModifyIndex", (json_int_t)n->modify_index);
}

static json_t *
taddrs_json(const struct cat_service *s)
{
	json_t	*o = json_object();
	size_t	 i;

	for (i = 0; i < s->ntagged; i++)
		json_object_set_new(o, s->tagged[i].name, json_pack(
		    "{s:s, s:I}", "Address", s->tagged[i].address ?
		    s->tagged[i].address : "", "Port",
		    (json_int_t)s->tagged[i].port));
	return o;
}

static json_t *
weights_json(const struct cat_service *s)
{
	return json_pack("{s:I, s:I}", "Passing",
	    (json_int_t)s->weight_passing, "Warning",
	    (json_int_t)s->weight_warning);
}

static json_t *
proxy_json(void)
{
	return json_pack("{s:s, s:{}, s:{}}", "Mode", "", "MeshGateway",
	    "Expose");
}

/* Consul's NodeService (catalog/node, health/service). */
json_t *
node_service_json(const struct cat_service *s)
{
	json_t	*o;

	o = json_pack("{s:s, s:s, s:s, s:o}",
	    "ID", s->id, "Service", s->service,
	    "Address", s->address != NULL ? s->address : "",
	    "Tags", strs_json(s->tags, s->ntags));
	if (o == NULL)
		return NULL;
	if (s->kind != NULL && *s->kind != '\0')
		json_object_set_new(o, "Kind", json_string(s->kind));
	if (s->ntagged > 0)
		json_object_set_new(o, "TaggedAddresses", taddrs_json(s));
	json_object_set_new(o, "Meta", kvs_json(s->meta, s->nmeta));
	if (s->port != 0)
		json_object_set_new(o, "Port",
		    json_integer((json_int_t)s->port));
	json_object_set_new(o, "Weights", weights_json(s));
	json_object_set_new(o, "EnableTagOverride",
	    json_boolean(s->enable_tag_override));
	json_object_set_new(o, "Proxy", proxy_json());
	json_object_set_new(o, "Connect", json_object());
	json_object_set_new(o, "PeerName", json_string(""));
	json_object_set_new(o, "CreateIndex",
	    json_integer((json_int_t)s->create_index));
	json_object_set_new(o, "ModifyIndex",
	    json_integer((json_int_t)s->modify_index));
	return o;
}

/* Consul's CatalogService: flat. */
static json_t *
catalog_service_json(const struct cat_node *n, const struct cat_service *s)
{
	json_t	*o;

	o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:o, "
	    "s:s}",
	    "ID", n->id != NULL ? n->id : "",
	    "Node", n->node,
	    "Address", n->address,
	    "Datacenter", n->datacenter != NULL ? n->datacenter :
	    apid_child.conf->datacenter,
	    "TaggedAddresses", kvs_json(n->tagged, n->ntagged),
	    "NodeMeta", kvs_json(n->meta, n->nmeta),
	    "ServiceKind", s->kind != NULL ? s->kind : "",
	    "ServiceID", s->id,
	    "ServiceName", s->service,
	    "ServiceTags", strs_json(s->tags, s->ntags),
	    "ServiceAddress", s->address != NULL ? s->address : "");
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "ServiceTaggedAddresses", taddrs_json(s));
	json_object_set_new(o, "ServiceWeights", weights_json(s));
	json_object_set_new(o, "ServiceMeta", kvs_json(s->meta, s->nmeta));
	json_object_set_new(o, "ServicePort",
	    json_integer((json_int_t)s->port));
	json_object_set_new(o, "ServiceSocketPath", json_string(""));
	json_object_set_new(o, "ServiceEnableTagOverride",
	    json_boolean(s->enable_tag_override));
	json_object_set_new(o, "ServiceProxy", proxy_json());
	json_object_set_new(o, "ServiceConnect", json_object());
	json_object_set_new(o, "ServiceLocality", json_null());
	json_object_set_new(o, "CreateIndex",
	    json_integer((json_int_t)s->create_index));
	json_object_set_new(o, "ModifyIndex",
	    json_integer((json_int_t)s->modify_index));
	return o;
}

/* Reads. */

static void
filters_free(struct cat_filters *f)
{
	size_t	 i;

	for (i = 0; i < f->ntags; i++)
		free(f->tags[i]);
	for (i = 0; i < f->nmeta; i++) {
		free(f->meta_k[i]);
		free(f->meta_v[i]);
	}
	memset(f, 0, sizeof(*f));
}

/*
 * ?tag and ?node-meta, repeatable, copied (the query is gone before the
 * answer comes); -1 with err on a bad one.
 */
static int
filters_parse(struct query *q, struct cat_filters *f, const char **err)
{
	struct evkeyval	*kv;
	const char	*colon;

	memset(f, 0, sizeof(*f));
	TAILQ_FOREACH(kv, &q->params, next) {
		if (strcmp(kv->key, "tag") == 0) {
			if (f->ntags == CAT_FILTERS_MAX ||
			    (f->tags[f->ntags] = strdup(kv->value)) == NULL)
				goto many;
			f->ntags++;
		} else if (strcmp(kv->key, "node-meta") == 0) {
			if (f->nmeta == CAT_FILTERS_MAX)
				goto many;
			if ((colon = strchr(kv->value, ':')) == NULL) {
				filters_free(f);
				*err = "Invalid node-meta: must be key:value";
				return -1;
			}
			if ((f->meta_k[f->nmeta] = strndup(kv->value,
			    colon - kv->value)) == NULL)
				goto many;
			if ((f->meta_v[f->nmeta] = strdup(colon + 1)) == NULL) {
				free(f->meta_k[f->nmeta]);
				goto many;
			}
			f->nmeta++;
		}
	}
	return 0;
 many:
	filters_free(f);
	*err = "Too many filters";
	return -1;
}

int
node_matches(const struct cat_filters *f, const struct cat_node *n)
{
	size_t	 i, j;

	for (i = 0; i < f->nmeta; i++) {
		for (j = 0; j < n->nmeta; j++)
			if (strcmp(n->meta[j].key, f->meta_k[i]) == 0 &&
			    strcmp(n->meta[j].value, f->meta_v[i]) == 0)
				break;
		if (j == n->nmeta)
			return 0;
	}
	return 1;
}

int
service_matches(const struct cat_filters *f, const struct cat_service *s)
{
	size_t	 i, j;

	/* Consul matches tags without regard to case. */
	for (i = 0; i < f->ntags; i++) {
		for (j = 0; j < s->ntags; j++)
			if (strcasecmp(s->tags[j], f->tags[i]) == 0)
				break;
		if (j == s->ntags)
			return 0;
	}
	return 1;
}

/*
 * catalog/services with ?filter or ?node-meta: Consul applies them to
 * each instance (a CatalogService) and lists the names and the union of
 * the tags of the instances that match.
 */
static void
services_add(json_t *reply, const struct cat_service *s)
{
	json_t	*tags, *t;
	size_t	 i, j;

	if ((tags = json_object_get(reply, s->service)) == NULL) {
		if ((tags = json_array()) == NULL ||
		    json_object_set_new(reply, s->service, tags) == -1)
			fatalx("catalog: out of memory");
	}
	for (i = 0; i < s->ntags; i++) {
		json_array_foreach(tags, j, t)
			if (strcmp(json_string_value(t), s->tags[i]) == 0)
				break;
		if (j == json_array_size(tags) &&
		    json_array_append_new(tags, json_string(s->tags[i])) == -1)
			fatalx("catalog: out of memory");
	}
}

/*
 * A built element that ?filter drops: freed, and NULL.  Once the filter
 * has spent its budget, every element is dropped and the answer is an
 * error.
 */
static json_t *
filtered(struct cat_req *cr, json_t *j)
{
	int	 rc;

	if (j == NULL || cr->filter == NULL)
		return j;
	if (cr->costly || (rc = filter_match(cr->filter, j)) == -1) {
		cr->costly = 1;
		rc = 0;
	}
	if (rc == 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static void
cat_item(struct request *r, struct imsg *imsg)
{
	struct cat_req		*cr = r->ctx;
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct cat_node		 n;
	struct cat_service	 s;
	json_t			*tags, *j = NULL;
	char			*name;
	uint32_t		 i;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1)
		fatalx("catalog: malformed item from raftd");
	a = u.data.via.array.ptr;
	switch (cr->query) {
	case CAT_Q_DATACENTERS:
		if (u.data.type != MSGPACK_OBJECT_STR)
			fatalx("catalog: malformed datacenter from raftd");
		j = json_stringn(u.data.via.str.ptr, u.data.via.str.size);
		break;
	case CAT_Q_NODES:
		if (cat_node_unpack(&u.data, &n) == -1)
			fatalx("catalog: malformed node from raftd");
		if (node_matches(&cr->f, &n))
			j = node_json(&n);
		cat_node_free(&n);
		break;
	case CAT_Q_SERVICES:
		if (u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != 2 ||
		    mpack_get_str(&a[0], &name) == -1 || name == NULL ||
		    a[1].type != MSGPACK_OBJECT_ARRAY)
			fatalx("catalog: malformed services from raftd");
		tags = json_array();
		for (i = 0; i < a[1].via.array.size; i++) {
			if (a[1].via.array.ptr[i].type != MSGPACK_OBJECT_STR)
				fatalx("catalog: malformed tag from raftd");
			json_array_append_new(tags, json_stringn(
			    a[1].via.array.ptr[i].via.str.ptr,
			    a[1].via.array.ptr[i].via.str.size));
		}
		json_object_set_new(r->reply, name, tags);
		free(name);
		break;
	case CAT_Q_SERVICE:
		if (u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != 2 ||
		    cat_node_unpack(&a[0], &n) == -1)
			fatalx("catalog: malformed instance from raftd");
		if (cat_service_unpack(&a[1], &s) == -1)
			fatalx("catalog: malformed instance from raftd");
		if (node_matches(&cr->f, &n) && service_matches(&cr->f, &s))
			j = catalog_service_json(&n, &s);
		cat_node_free(&n);
		cat_service_free(&s);
		break;
	case CAT_Q_INSTANCES:
		if (u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != 2 ||
		    cat_node_unpack(&a[0], &n) == -1)
			fatalx("catalog: malformed instance from raftd");
		if (cat_service_unpack(&a[1], &s) == -1)
			fatalx("catalog: malformed instance from raftd");
		if (node_matches(&cr->f, &n) && (j = filtered(cr,
		    catalog_service_json(&n, &s))) != NULL)
			services_add(r->reply, &s);
		json_decref(j);
		j = NULL;
		cat_node_free(&n);
		cat_service_free(&s);
		break;
	case CAT_Q_NODE:
		if (u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != 2 ||
		    a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			fatalx("catalog: malformed node item from raftd");
		if (a[0].via.u64 == 0) {
			if (cat_node_unpack(&a[1], &n) == -1)
				fatalx("catalog: malformed node from raftd");
			json_decref(cr->node);
			cr->node = node_json(&n);
			cat_node_free(&n);
		} else {
			if (cat_service_unpack(&a[1], &s) == -1)
				fatalx("catalog: malformed service from "
				    "raftd");
			/* ?filter applies to each of the node's services. */
			j = filtered(cr, node_service_json(&s));
			if (j != NULL && cr->list)
				json_array_append_new(r->items, j);
			else if (j != NULL)
				json_object_set_new(r->reply, s.id, j);
			j = NULL;
			cat_service_free(&s);
		}
		break;
	default:
		j = health_item(cr, &u.data);
		break;
	}
	msgpack_unpacked_destroy(&u);
	if ((j = filtered(cr, j)) != NULL)
		json_array_append_new(r->items, j);
}

static void
cat_req_free(struct cat_req *cr)
{
	filters_free(&cr->f);
	filter_free(cr->filter);
	free(cr->near);
	json_decref(cr->node);
	free(cr);
}

/* A list waiting for the coordinates to sort it by (?near). */
struct near_wait {
	json_t		*items;
	char		*node;
	const char	*key_path;
	int		 pretty;
};

static void
near_ready(struct evhttp_request *req, void *arg,
    const struct near_coords *nc)
{
	struct near_wait	*w = arg;

	if (nc != NULL)
		near_sort(w->items, w->key_path, w->node, nc);
	http_reply_json(req, w->items, w->pretty);
	free(w->node);
	free(w);
}

/* The client went away before the coordinates came. */
static void
near_wait_free(void *arg)
{
	struct near_wait	*w = arg;

	json_decref(w->items);
	free(w->node);
	free(w);
}

/* Where an element of a query's list names its node. */
static const char *
near_key_path(int query)
{
	return query == CAT_Q_HEALTH_SERVICE ? "Node.Node" : "Node";
}

/* 0: the answer is on its way, sorted; -1: answer unsorted now. */
static int
near_start(struct request *r, struct cat_req *cr)
{
	struct near_wait	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->node = strdup(cr->near)) == NULL) {
		free(w);
		return -1;
	}
	w->items = json_incref(r->items);
	w->key_path = near_key_path(cr->query);
	w->pretty = r->pretty;
	if (near_fetch(r->req, r->dc, cr->consistency, near_ready,
	    near_wait_free, w) == -1) {
		json_decref(w->items);
		free(w->node);
		free(w);
		return -1;
	}
	return 0;
}

static void
cat_read_done(struct request *r, struct imsg *imsg)
{
	struct cat_req		*cr = r->ctx;
	struct imsg_read_end	 end;
	json_t			*doc;

	read_end_get(imsg, &end);
	http_read_headers(r->req, &end);
	if (end.error[0] != '\0') {
		http_error(r->req, acl_denial(end.error) ? 403 : 500,
		    end.error);
		goto done;
	}
	if (cr->costly) {
		http_error(r->req, 400, FILTER_COSTLY);
		goto done;
	}
	switch (cr->query) {
	case CAT_Q_SERVICES:
	case CAT_Q_INSTANCES:
		doc = json_incref(r->reply);
		break;
	case CAT_Q_NODE:
		if (!end.found || cr->node == NULL)
			doc = json_null();
		else
			doc = json_pack("{s:O, s:O}", "Node", cr->node,
			    "Services", cr->list ? r->items : r->reply);
		break;
	default:
		if (cr->near != NULL && json_array_size(r->items) > 1 &&
		    near_start(r, cr) == 0)
			goto done;
		doc = json_incref(r->items);
	}
	http_reply_json(r->req, doc, r->pretty);
 done:
	cat_req_free(cr);
	r->ctx = NULL;
}

/*
 * ?filter for elements described by schema: 0 with *out, NULL when the
 * parameter is absent or empty (Consul's "no filter"), or -1 after
 * answering 400 with the reason.
 */
int
query_filter(struct evhttp_request *req, struct query *q,
    const struct filter_field *schema, struct filter **out)
{
	const char	*expr = query_get(q, "filter");
	char		 err[FILTER_ERR_MAX];

	*out = NULL;
	if (expr == NULL || *expr == '\0')
		return 0;
	if ((*out = filter_parse(expr, schema, err, sizeof(err))) == NULL) {
		http_error(req, 400, err);
		return -1;
	}
	return 0;
}

/* What ?filter sees of a query's elements. */
static const struct filter_field *
query_schema(int query)
{
	switch (query) {
	case CAT_Q_NODES:
		return &filter_node;
	case CAT_Q_SERVICES:
	case CAT_Q_SERVICE:
		return &filter_catalog_service;
	case CAT_Q_NODE:
		return &filter_node_service;
	case CAT_Q_HEALTH_SERVICE:
		return &filter_service_entry;
	default:
		return &filter_check;
	}
}

void
cat_read(struct evhttp_request *req, struct query *q, int query,
    const char *arg, int list)
{
	cat_read_passing(req, q, query, arg, list, 0);
}

void
cat_read_passing(struct evhttp_request *req, struct query *q, int query,
    const char *arg, int list, int passing)
{
	struct request		*r;
	struct cat_req		*cr;
	const char		*err, *near;
	uint64_t		 min_index, wait_ms, max_stale_ms;
	int			 cons;

	if ((err = query_consistency(q, &cons, &max_stale_ms)) != NULL ||
	    (err = query_blocking(q, &min_index, &wait_ms)) != NULL) {
		http_error(req, 400, err);
		return;
	}
	if (strlen(arg) > CAT_STR_MAX) {
		http_error(req, 400, "Bad request: name too long");
		return;
	}
	if ((cr = calloc(1, sizeof(*cr))) == NULL) {
		http_error(req, 500, "out of memory");
		return;
	}
	cr->query = query;
	cr->list = list;
	cr->passing = passing;
	cr->consistency = cons;
	/* ?near, where the answer is a list of nodes' things. */
	if ((near = query_get(q, "near")) != NULL && *near != '\0' &&
	    query != CAT_Q_SERVICES && query != CAT_Q_NODE &&
	    query != CAT_Q_HEALTH_NODE && query != CAT_Q_DATACENTERS &&
	    (cr->near = strdup(strcmp(near, "_agent") == 0 ?
	    apid_child.conf->node_name : near)) == NULL) {
		free(cr);
		http_error(req, 500, "out of memory");
		return;
	}
	if (filters_parse(q, &cr->f, &err) == -1) {
		cat_req_free(cr);
		http_error(req, 400, err);
		return;
	}
	if (query_filter(req, q, query_schema(query), &cr->filter) == -1) {
		cat_req_free(cr);
		return;
	}
	/* Filtered service names need the instances behind them. */
	if (query == CAT_Q_SERVICES && (cr->filter != NULL || cr->f.nmeta > 0))
		cr->query = query = CAT_Q_INSTANCES;
	if ((r = request_new(req, cat_read_done)) == NULL ||
	    (r->items = json_array()) == NULL ||
	    (r->reply = json_object()) == NULL) {
		if (r != NULL)
			request_free(r);
		cat_req_free(cr);
		http_error(req, 500, "out of memory");
		return;
	}
	r->ctx = cr;
	r->ctx_free = (void (*)(void *))cat_req_free;
	r->item = cat_item;
	cat_read_send(r, query, arg, min_index, wait_ms, cons, max_stale_ms);
}

#define CAT_PREFIX	"/v1/catalog/"

void
catalog_handler(struct evhttp_request *req, const char *path)
{
	struct query		 q;
	const char		*p = path + strlen(CAT_PREFIX);
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	if (strcmp(p, "register") == 0 || strcmp(p, "deregister") == 0) {
		if (cmd != EVHTTP_REQ_PUT) {
			http_error(req, 405, "method not allowed");
			goto done;
		}
		if (p[0] == 'r')
			catalog_register(req);
		else
			catalog_deregister(req);
		goto done;
	}
	if (cmd != EVHTTP_REQ_GET) {
		http_error(req, 405, "method not allowed");
		goto done;
	}
	if (strcmp(p, "datacenters") == 0)
		cat_read(req, &q, CAT_Q_DATACENTERS, "", 0);
	else if (strcmp(p, "nodes") == 0)
		cat_read(req, &q, CAT_Q_NODES, "", 0);
	else if (strcmp(p, "services") == 0)
		cat_read(req, &q, CAT_Q_SERVICES, "", 0);
	else if (strncmp(p, "service/", 8) == 0 && p[8] != '\0')
		cat_read(req, &q, CAT_Q_SERVICE, p + 8, 0);
	else if (strncmp(p, "node/", 5) == 0 && p[5] != '\0')
		cat_read(req, &q, CAT_Q_NODE, p + 5, 0);
	else if (strncmp(p, "node-services/", 14) == 0 && p[14] != '\0')
		cat_read(req, &q, CAT_Q_NODE, p + 14, 1);
	else if (strcmp(p, "service/") == 0)
		http_error(req, 400, "Missing service name");
	else if (strcmp(p, "node/") == 0 || strcmp(p, "node-services/") == 0)
		http_error(req, 400, "Missing node name");
	else
		http_error(req, 404, "Invalid URL path: not a catalog endpoint");
 done:
	query_free(&q);
}
