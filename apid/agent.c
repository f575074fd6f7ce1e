/*
 * The /v1/agent/ endpoints: the local agent.  GET /v1/agent/self asks
 * raftd, which owns the agent's identity (the node id persisted in
 * data_dir), and shapes the answer as Consul does: Config, DebugConfig,
 * Coord, Member, Stats, Meta.  PUT /v1/agent/reload asks the parent,
 * which owns the configuration.
 */
#include <sys/utsname.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl_rules.h"
#include "apid.h"
#include "config.h"
#include "coordinate_json.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"
#include "version.h"

/* What raftd tells us about the agent. */
struct agent_facts {
	char		*node_id;
	char		*node_name;
	char		*datacenter;
	char		*primary_datacenter;
	char		*advertise_addr;
	int		 server;
	int		 bootstrap;
	int64_t		 bootstrap_expect;
	int64_t		 serf_lan_port;
	int64_t		 serf_wan_port;
	int64_t		 server_port;
	int		 leader_known;
	char		*leader_addr;
	int		 leader;
	struct coord	 coord;		/* ours, LAN */
	json_t		*stats;		/* more Stats sections, from raftd */
};

static void
facts_free(struct agent_facts *f)
{
	free(f->node_id);
	free(f->node_name);
	free(f->datacenter);
	free(f->primary_datacenter);
	free(f->advertise_addr);
	free(f->leader_addr);
	json_decref(f->stats);
}

/* A map of string to string, as a JSON object; NULL if it is not one. */
static json_t *
str_object(const msgpack_object *o)
{
	json_t		*j;
	char		 k[64], v[64];
	uint32_t	 i;

	if (o == NULL || o->type != MSGPACK_OBJECT_MAP ||
	    o->via.map.size > 64 || (j = json_object()) == NULL)
		return NULL;
	for (i = 0; i < o->via.map.size; i++) {
		if (mpack_copy_str(&o->via.map.ptr[i].key, k,
		    sizeof(k)) == -1 ||
		    mpack_copy_str(&o->via.map.ptr[i].val, v,
		    sizeof(v)) == -1) {
			json_decref(j);
			return NULL;
		}
		json_object_set_new(j, k, json_string(v));
	}
	return j;
}

/* {section: {key: value}}, all strings; -1 if it is not that. */
static int
stats_parse(const msgpack_object *o, json_t **out)
{
	json_t		*j, *sec;
	char		 k[64];
	uint32_t	 i;

	*out = NULL;
	if (o == NULL || o->type != MSGPACK_OBJECT_MAP ||
	    o->via.map.size > 16 || (j = json_object()) == NULL)
		return -1;
	for (i = 0; i < o->via.map.size; i++) {
		if (mpack_copy_str(&o->via.map.ptr[i].key, k,
		    sizeof(k)) == -1 ||
		    (sec = str_object(&o->via.map.ptr[i].val)) == NULL) {
			json_decref(j);
			return -1;
		}
		json_object_set_new(j, k, sec);
	}
	*out = j;
	return 0;
}

static int
facts_parse(struct agent_facts *f, const void *buf, size_t len)
{
	msgpack_unpacked	 u;
	const msgpack_object	*m;
	int			 rc = -1;

	memset(f, 0, sizeof(*f));
	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	m = &u.data;
	if (mpack_map_str(m, "node_id", &f->node_id) == -1 ||
	    mpack_map_str(m, "node_name", &f->node_name) == -1 ||
	    mpack_map_str(m, "datacenter", &f->datacenter) == -1 ||
	    mpack_map_str(m, "primary_datacenter",
	    &f->primary_datacenter) == -1 ||
	    mpack_map_str(m, "advertise_addr", &f->advertise_addr) == -1 ||
	    mpack_map_bool(m, "server", &f->server) == -1 ||
	    mpack_map_bool(m, "bootstrap", &f->bootstrap) == -1 ||
	    mpack_map_int(m, "bootstrap_expect", &f->bootstrap_expect) == -1 ||
	    mpack_map_int(m, "serf_lan_port", &f->serf_lan_port) == -1 ||
	    mpack_map_int(m, "serf_wan_port", &f->serf_wan_port) == -1 ||
	    mpack_map_int(m, "server_port", &f->server_port) == -1 ||
	    mpack_map_bool(m, "leader_known", &f->leader_known) == -1 ||
	    mpack_map_str(m, "leader_addr", &f->leader_addr) == -1 ||
	    mpack_map_bool(m, "leader", &f->leader) == -1)
		goto done;
	if (f->node_id == NULL || f->node_name == NULL ||
	    f->datacenter == NULL || f->advertise_addr == NULL)
		goto done;
	if (stats_parse(mpack_map_get(m, "stats"), &f->stats) == -1)
		goto done;
	if (mpack_map_get(m, "coord") == NULL ||
	    coord_unpack(mpack_map_get(m, "coord"), &f->coord) == -1)
		goto done;
	rc = 0;
 done:
	msgpack_unpacked_destroy(&u);
	if (rc == -1)
		facts_free(f);
	return rc;
}

static json_t *
str_map(const struct agent_facts *f)
{
	json_t	*m = json_object();
	char	 buf[32];

	json_object_set_new(m, "acls",
	    json_string(apid_child.conf->acl.enabled ? "1" : "0"));
	json_object_set_new(m, "build",
	    json_string(CONSUL_COMPAT_VERSION ":" CONSULD_REVISION));
	json_object_set_new(m, "dc", json_string(f->datacenter));
	json_object_set_new(m, "id", json_string(f->node_id));
	json_object_set_new(m, "role", json_string(f->server ? "consul" :
	    "node"));
	json_object_set_new(m, "segment", json_string(""));
	json_object_set_new(m, "vsn", json_string("2"));
	json_object_set_new(m, "vsn_max", json_string("3"));
	json_object_set_new(m, "vsn_min", json_string("2"));
	if (f->server) {
		snprintf(buf, sizeof(buf), "%lld", (long long)f->server_port);
		json_object_set_new(m, "port", json_string(buf));
		json_object_set_new(m, "raft_vsn", json_string("3"));
		if (f->bootstrap)
			json_object_set_new(m, "bootstrap", json_string("1"));
		else if (f->bootstrap_expect > 0) {
			snprintf(buf, sizeof(buf), "%lld",
			    (long long)f->bootstrap_expect);
			json_object_set_new(m, "expect", json_string(buf));
		}
		snprintf(buf, sizeof(buf), "%lld",
		    (long long)f->serf_wan_port);
		json_object_set_new(m, "wan_join_port", json_string(buf));
	}
	return m;
}

static json_t *
member(const struct agent_facts *f)
{
	return json_pack("{s:s, s:s, s:I, s:o, s:i, s:i, s:i, s:i, s:i, "
	    "s:i, s:i}",
	    "Name", f->node_name,
	    "Addr", f->advertise_addr,
	    "Port", (json_int_t)f->serf_lan_port,
	    "Tags", str_map(f),
	    "Status", 1,
	    "ProtocolMin", 1, "ProtocolMax", 5, "ProtocolCur", 2,
	    "DelegateMin", 2, "DelegateMax", 5, "DelegateCur", 4);
}

/* The host's facts, read before the sandbox forbids uname(2). */
static struct utsname	 host_uname;
static char		 host_cpus[16];

void
agent_init(void)
{
	if (uname(&host_uname) == -1)
		memset(&host_uname, 0, sizeof(host_uname));
	snprintf(host_cpus, sizeof(host_cpus), "%ld",
	    sysconf(_SC_NPROCESSORS_ONLN));
}

static json_t *
stats(const struct agent_facts *f)
{
	json_t	*s;

	s = json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, "
	    "s:{s:s, s:s, s:s}}",
	    "build",
	    "prerelease", "",
	    "revision", CONSULD_REVISION,
	    "version", CONSUL_COMPAT_VERSION,
	    "consul",
	    "bootstrap", f->bootstrap ? "true" : "false",
	    "known_datacenters", "1",
	    "leader", f->leader ? "true" : "false",
	    "leader_addr", f->leader_addr ? f->leader_addr : "",
	    "server", f->server ? "true" : "false",
	    "runtime",
	    "arch", host_uname.machine,
	    "cpu_count", host_cpus,
	    "os", host_uname.sysname);
	if (s != NULL && f->stats != NULL)
		json_object_update(s, f->stats);
	return s;
}

static json_t *
debug_config(const struct agent_facts *f)
{
	struct config	*c = apid_child.conf;

	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:s, s:s, "
	    "s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s}",
	    "Datacenter", f->datacenter,
	    "PrimaryDatacenter", f->primary_datacenter ?
	    f->primary_datacenter : f->datacenter,
	    "NodeName", f->node_name,
	    "NodeID", f->node_id,
	    "ServerMode", f->server,
	    "Bootstrap", f->bootstrap,
	    "BootstrapExpect", (json_int_t)f->bootstrap_expect,
	    "DataDir", c->data_dir ? c->data_dir : "",
	    "BindAddr", c->bind_addr ? c->bind_addr : "",
	    "AdvertiseAddrLAN", f->advertise_addr,
	    "HTTPPort", c->ports.http,
	    "HTTPSPort", c->ports.https,
	    "DNSPort", c->ports.dns,
	    "SerfPortLAN", c->ports.serf_lan,
	    "SerfPortWAN", c->ports.serf_wan,
	    "ServerPort", c->ports.server,
	    "LogLevel", log_level_name(c->log_level));
}

static void
agent_self_done(struct request *r, struct imsg *imsg)
{
	struct agent_facts	 f;
	json_t			*doc;

	if (facts_parse(&f, imsg->data, imsg->len) == -1)
		fatalx("agent: malformed agent facts from raftd");
	doc = json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s}, "
	    "s:o, s:o, s:o, s:o, s:{}}",
	    "Config",
	    "Datacenter", f.datacenter,
	    "PrimaryDatacenter", f.primary_datacenter ?
	    f.primary_datacenter : f.datacenter,
	    "NodeName", f.node_name,
	    "NodeID", f.node_id,
	    "Revision", CONSULD_REVISION,
	    "Server", f.server,
	    "Version", CONSUL_COMPAT_VERSION,
	    "BuildDate", CONSULD_BUILD_DATE,
	    "DebugConfig", debug_config(&f),
	    "Coord", coord_json(&f.coord),
	    "Member", member(&f),
	    "Stats", stats(&f),
	    "Meta");
	facts_free(&f);
	if (doc == NULL) {
		http_error(r->req, 500, "cannot build agent document");
		return;
	}
	http_reply_json(r->req, doc, r->pretty);
}

static void
agent_self_run(struct evhttp_request *req, const char *path,
    struct acl_authz *a)
{
	struct request	*r;

	if ((r = request_new(req, agent_self_done)) == NULL) {
		http_error(req, 500, "out of memory");
		return;
	}
	request_send(r, IMSG_AGENT_SELF_REQ, NULL, 0);
}

/* GET /v1/agent/self: agent:read on this agent. */
void
agent_self(struct evhttp_request *req, const char *path)
{
	acl_agent_gate(req, path, ACL_RES_AGENT, apid_child.conf->node_name,
	    ACL_LEVEL_READ, agent_self_run);
}

/* One IMSG_MEMBER record from raftd as Consul's AgentMember. */
static void
member_item(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a, *kv;
	json_t			*tags, *m;
	uint64_t		 port, status;
	char			*name = NULL, *ip = NULL;
	uint32_t		 i;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 6)
		fatalx("agent: malformed member from raftd");
	a = u.data.via.array.ptr;
	if (mpack_get_str(&a[1], &name) == -1 || name == NULL ||
	    mpack_get_str(&a[2], &ip) == -1 || ip == NULL ||
	    mpack_get_uint(&a[3], &port) == -1 ||
	    a[4].type != MSGPACK_OBJECT_MAP ||
	    mpack_get_uint(&a[5], &status) == -1)
		fatalx("agent: malformed member from raftd");
	/* With ACLs, only the members the token may read (node:read). */
	if (!acl_agent_allowed(r->ctx, ACL_RES_NODE, name, ACL_LEVEL_READ)) {
		free(name);
		free(ip);
		msgpack_unpacked_destroy(&u);
		return;
	}
	tags = json_object();
	for (i = 0; i < a[4].via.map.size; i++) {
		kv = &a[4].via.map.ptr[i].key;
		json_object_setn_new(tags, kv->via.str.ptr, kv->via.str.size,
		    json_stringn(a[4].via.map.ptr[i].val.via.str.ptr,
		    a[4].via.map.ptr[i].val.via.str.size));
	}
	m = json_pack("{s:s, s:s, s:I, s:o, s:I, s:i, s:i, s:i, s:i, s:i, "
	    "s:i}", "Name", name, "Addr", ip, "Port", (json_int_t)port,
	    "Tags", tags, "Status", (json_int_t)status,
	    "ProtocolMin", 1, "ProtocolMax", 5, "ProtocolCur", 2,
	    "DelegateMin", 2, "DelegateMax", 5, "DelegateCur", 4);
	if (m != NULL)
		json_array_append_new(r->items, m);
	free(name);
	free(ip);
	msgpack_unpacked_destroy(&u);
}

static void
members_done(struct request *r, struct imsg *imsg)
{
	struct imsg_read_end	 end;

	read_end_get(imsg, &end);
	if (end.error[0] != '\0') {
		http_error(r->req, 500, end.error);
		return;
	}
	http_reply_json(r->req, json_incref(r->items), r->pretty);
}

static void
authz_free(void *arg)
{
	struct acl_authz	*a = arg;

	acl_rules_free(a->rules);
	free(a);
}

/* GET /v1/agent/members?wan: the gossip pool as this agent sees it. */
static void
agent_members_run(struct evhttp_request *req, const char *path,
    struct acl_authz *az)
{
	struct request		*r;
	struct acl_authz	*keep = NULL;
	struct query		 q;
	uint8_t			 wan;

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	wan = query_has(&q, "wan");
	query_free(&q);
	if ((r = request_new(req, members_done)) == NULL ||
	    (r->items = json_array()) == NULL) {
		if (r != NULL)
			request_free(r);
		http_error(req, 500, "out of memory");
		return;
	}
	r->item = member_item;
	if (az != NULL) {
		if ((keep = malloc(sizeof(*keep))) == NULL)
			fatal("agent");
		*keep = *az;
		az->rules = NULL;	/* the request keeps them */
		r->ctx = keep;
		r->ctx_free = authz_free;
	}
	request_send(r, IMSG_MEMBERS_REQ, &wan, sizeof(wan));
}

void
agent_members(struct evhttp_request *req, const char *path)
{
	acl_agent_gate(req, path, ACL_RES_MAX, NULL, ACL_LEVEL_READ,
	    agent_members_run);
}

/* The parent's answer: "" when the configuration was reloaded. */
static void
reload_done(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	char			*error = NULL;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1)
		fatalx("agent: malformed reload answer from parent");
	if (u.data.type != MSGPACK_OBJECT_MAP ||
	    mpack_map_str(&u.data, "error", &error) == -1 || error == NULL)
		fatalx("agent: malformed reload answer from parent");
	msgpack_unpacked_destroy(&u);
	if (*error != '\0')
		http_error(r->req, 500, error);
	else
		http_reply_text(r->req, 200, NULL, NULL, 0);
	free(error);
}

/*
 * PUT /v1/agent/reload: the parent reads the configuration again, as on
 * SIGHUP, and answers once every child has applied it.
 */
static void
agent_reload_run(struct evhttp_request *req, const char *path,
    struct acl_authz *a)
{
	struct request	*r;

	if ((r = request_new(req, reload_done)) == NULL) {
		http_error(req, 500, "out of memory");
		return;
	}
	if (imsgev_compose(&apid_child.parent, IMSG_AGENT_RELOAD, r->id, -1,
	    NULL, 0) == -1)
		fatal("agent: compose");
}

/* PUT /v1/agent/reload: agent:write on this agent. */
void
agent_reload(struct evhttp_request *req, const char *path)
{
	acl_agent_gate(req, path, ACL_RES_AGENT, apid_child.conf->node_name,
	    ACL_LEVEL_WRITE, agent_reload_run);
}
