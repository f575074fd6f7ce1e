/*
 * The /v1/health/ endpoints, from the catalog, with Consul's JSON:
 *
 *   GET /v1/health/node/<node>        the node's checks
 *   GET /v1/health/checks/<service>   the checks of a service's instances
 *   GET /v1/health/service/<service>  ServiceEntry per instance: its node,
 *                                     itself and its checks (the node's
 *                                     and its own); ?passing drops an
 *                                     instance with any check not passing
 *   GET /v1/health/state/<state>      checks in any|passing|warning|critical
 *
 * All block on ?index and take ?tag / ?node-meta where Consul does.
 */
#include <string.h>

#include "apid.h"
#include "catalog.h"
#include "config.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"

#define HEALTH_PREFIX	"/v1/health/"

static const char *
str(const char *s)
{
	return s != NULL ? s : "";
}

/* Consul's HealthCheck. */
static json_t *
check_json(const struct cat_check *c)
{
	json_t	*o, *def;

	def = json_object();
	if (c->http != NULL)
		json_object_set_new(def, "HTTP", json_string(c->http));
	if (c->tcp != NULL)
		json_object_set_new(def, "TCP", json_string(c->tcp));
	if (json_object_size(def) > 0) {
		json_object_set_new(def, "Interval",
		    json_string(str(c->interval)));
		json_object_set_new(def, "Timeout",
		    json_string(str(c->timeout)));
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, "
	    "s:s, s:s, s:i, s:o}",
	    "Node", c->node,
	    "CheckID", c->check_id,
	    "Name", c->name,
	    "Status", c->status,
	    "Notes", str(c->notes),
	    "Output", str(c->output),
	    "ServiceID", str(c->service_id),
	    "ServiceName", str(c->service_name),
	    "ServiceTags", strs_json(c->service_tags, c->nservice_tags),
	    "Type", str(c->type),
	    "Interval", str(c->interval),
	    "Timeout", str(c->timeout),
	    "ExposedPort", 0,
	    "Definition", def);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "CreateIndex",
	    json_integer((json_int_t)c->create_index));
	json_object_set_new(o, "ModifyIndex",
	    json_integer((json_int_t)c->modify_index));
	return o;
}

json_t *
health_item(struct cat_req *cr, const msgpack_object *o)
{
	const msgpack_object	*a = o->via.array.ptr;
	struct cat_check	 c;
	struct cat_node		 n;
	struct cat_service	 s;
	json_t			*checks, *j = NULL;
	uint32_t		 i;
	int			 passing = 1;

	if (cr->query != CAT_Q_HEALTH_SERVICE) {
		if (cat_check_unpack(o, &c) == -1)
			fatalx("health: malformed check from raftd");
		j = check_json(&c);
		cat_check_free(&c);
		return j;
	}
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3 ||
	    a[2].type != MSGPACK_OBJECT_ARRAY ||
	    cat_node_unpack(&a[0], &n) == -1)
		fatalx("health: malformed entry from raftd");
	if (cat_service_unpack(&a[1], &s) == -1)
		fatalx("health: malformed service from raftd");
	checks = json_array();
	for (i = 0; i < a[2].via.array.size; i++) {
		if (cat_check_unpack(&a[2].via.array.ptr[i], &c) == -1)
			fatalx("health: malformed check from raftd");
		if (strcmp(c.status, CAT_PASSING) != 0)
			passing = 0;
		json_array_append_new(checks, check_json(&c));
		cat_check_free(&c);
	}
	if ((!cr->passing || passing) && node_matches(&cr->f, &n) &&
	    service_matches(&cr->f, &s))
		j = json_pack("{s:o, s:o, s:o}", "Node", node_json(&n),
		    "Service", node_service_json(&s), "Checks", checks);
	else
		json_decref(checks);
	cat_node_free(&n);
	cat_service_free(&s);
	return j;
}

/* ?passing, ?passing=true|1: yes; =false|0: no. */
static int
passing_param(struct query *q, int *out)
{
	const char	*v = query_get(q, "passing");

	*out = 0;
	if (v == NULL)
		return 0;
	if (*v == '\0' || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "false") != 0 && strcmp(v, "0") != 0)
		return -1;
	return 0;
}

void
health_handler(struct evhttp_request *req, const char *path)
{
	struct query	 q;
	const char	*p = path + strlen(HEALTH_PREFIX);
	int		 passing;

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	if (strncmp(p, "node/", 5) == 0 && p[5] != '\0')
		cat_read(req, &q, CAT_Q_HEALTH_NODE, p + 5, 0);
	else if (strncmp(p, "checks/", 7) == 0 && p[7] != '\0')
		cat_read(req, &q, CAT_Q_HEALTH_CHECKS, p + 7, 0);
	else if (strncmp(p, "service/", 8) == 0 && p[8] != '\0') {
		if (passing_param(&q, &passing) == -1)
			http_error(req, 400, "Invalid value for ?passing");
		else
			cat_read_passing(req, &q, CAT_Q_HEALTH_SERVICE, p + 8,
			    0, passing);
	} else if (strncmp(p, "state/", 6) == 0 && p[6] != '\0')
		cat_read(req, &q, CAT_Q_HEALTH_STATE, p + 6, 0);
	else if (strcmp(p, "state/") == 0 || strcmp(p, "state") == 0)
		http_error(req, 400, "Missing check state");
	else if (strcmp(p, "node/") == 0)
		http_error(req, 400, "Missing node name");
	else if (strcmp(p, "checks/") == 0 || strcmp(p, "service/") == 0)
		http_error(req, 400, "Missing service name");
	else
		http_error(req, 404, "Invalid URL path: not a health endpoint");
	query_free(&q);
}
