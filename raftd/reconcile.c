/*
 * The leader keeps the catalog in step with gossip, as Consul's leader
 * does (serfHealth): every member of the LAN pool is a node of the
 * catalog with its address and a "serfHealth" check, passing while the
 * member is alive and critical once it failed; a member that left, or
 * was reaped, is deregistered.  Servers also carry the "consul"
 * service on their RPC port.  Nodes registered through the API (they
 * have no serfHealth check) are left alone.
 *
 * Every second, once what it proposed last is applied, the leader
 * compares and proposes a registration or deregistration for each
 * difference, at most RECONCILE_MAX at a time; unchanged records cost
 * nothing (the state keeps them as they are).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_state.h"
#include "config.h"
#include "log.h"
#include "raftd.h"

#define RECONCILE_MAX		32
#define SERF_CHECK_ID		"serfHealth"
#define SERF_CHECK_NAME		"Serf Health Status"
#define SERF_ALIVE_OUTPUT	"Agent alive and reachable"
#define SERF_FAILED_OUTPUT	"Agent not live or unreachable"

static uint64_t	 reconcile_pending;	/* last index proposed */

struct rc_pass {
	struct raftd	*r;
	int		 proposed;
};

static void
propose(struct rc_pass *p, int op, struct mpack_out *rec)
{
	uint64_t	 idx;

	if ((idx = cat_propose(p->r, op, rec)) != 0) {
		reconcile_pending = idx;
		p->proposed++;
	}
}

/* Whether the node's serfHealth check has this status. */
struct serf_find {
	const char	*status;
	int		 match;
	int		 found;
};

static int
serf_check_cb(void *arg, const struct cat_check *c)
{
	struct serf_find	*f = arg;

	if (strcmp(c->check_id, SERF_CHECK_ID) == 0) {
		f->found = 1;
		f->match = f->status == NULL ||
		    strcmp(c->status, f->status) == 0;
		return -1;
	}
	return 0;
}

struct consul_find {
	uint64_t	 port;
	int		 match;
};

static int
consul_service_cb(void *arg, const struct cat_service *s)
{
	struct consul_find	*f = arg;

	if (strcmp(s->id, "consul") == 0) {
		f->match = s->port == f->port;
		return -1;
	}
	return 0;
}

/* Whether the catalog already says what the member does. */
static int
node_up_to_date(const char *name, const char *ip, const char *id,
    const char *status, uint64_t server_port)
{
	struct cat_node		 n;
	struct serf_find	 sf;
	struct consul_find	 cf;
	int			 ok;

	if (cat_state_node(&raftd.store, name, &n) != 0)
		return 0;
	ok = strcmp(n.address, ip) == 0 &&
	    strcmp(n.id != NULL ? n.id : "", id) == 0;
	cat_node_free(&n);
	if (!ok)
		return 0;
	memset(&sf, 0, sizeof(sf));
	sf.status = status;
	if (cat_state_node_checks(&raftd.store, name, serf_check_cb,
	    &sf) == -1 || !sf.found || !sf.match)
		return 0;
	if (server_port == 0)
		return 1;
	memset(&cf, 0, sizeof(cf));
	cf.port = server_port;
	if (cat_state_node_services(&raftd.store, name, consul_service_cb,
	    &cf) == -1)
		return 0;
	return cf.match;
}

static void
register_member(struct rc_pass *p, const char *name, const char *ip,
    const char *id, const char *status, uint64_t server_port)
{
	struct cat_register	 reg;
	struct cat_service	 svc;
	struct cat_check	 chk;
	struct cat_kv		 tagged[4], meta;
	struct mpack_out	 out;

	memset(&reg, 0, sizeof(reg));
	reg.node.node = (char *)name;
	reg.node.id = *id != '\0' ? (char *)id : NULL;
	reg.node.address = (char *)ip;
	reg.node.datacenter = raftd_child.conf->datacenter;
	tagged[0].key = "lan";
	tagged[1].key = strchr(ip, ':') != NULL ? "lan_ipv6" : "lan_ipv4";
	tagged[2].key = "wan";
	tagged[3].key = strchr(ip, ':') != NULL ? "wan_ipv6" : "wan_ipv4";
	tagged[0].value = tagged[1].value = tagged[2].value =
	    tagged[3].value = (char *)ip;
	reg.node.tagged = tagged;
	reg.node.ntagged = 4;
	meta.key = "consul-network-segment";
	meta.value = "";
	reg.node.meta = &meta;
	reg.node.nmeta = 1;
	if (server_port != 0) {
		memset(&svc, 0, sizeof(svc));
		svc.node = (char *)name;
		svc.id = "consul";
		svc.service = "consul";
		svc.port = server_port;
		svc.weight_passing = 1;
		svc.weight_warning = 1;
		reg.service = &svc;
	}
	memset(&chk, 0, sizeof(chk));
	chk.node = (char *)name;
	chk.check_id = SERF_CHECK_ID;
	chk.name = SERF_CHECK_NAME;
	chk.status = (char *)status;
	chk.output = strcmp(status, CAT_PASSING) == 0 ? SERF_ALIVE_OUTPUT :
	    SERF_FAILED_OUTPUT;
	reg.checks = &chk;
	reg.nchecks = 1;
	mpack_out_init(&out);
	cat_register_pack(&out.pk, &reg);
	propose(p, CAT_WRITE_REGISTER, &out);
	mpack_out_free(&out);
}

static void
deregister_node(struct rc_pass *p, const char *name)
{
	struct cat_deregister	 d;
	struct mpack_out	 out;

	memset(&d, 0, sizeof(d));
	d.node = (char *)name;
	mpack_out_init(&out);
	cat_deregister_pack(&out.pk, &d);
	propose(p, CAT_WRITE_DEREGISTER, &out);
	mpack_out_free(&out);
	log_info("reconcile: deregistering node %s", name);
}

static void
reconcile_member(void *arg, const char *name, const char *ip, uint64_t port,
    uint64_t status, const msgpack_object *tags)
{
	struct rc_pass	*p = arg;
	char		 id[64], role[16], dc[128], rport[8];
	uint64_t	 server_port = 0;
	const char	*want;
	struct cat_node	 n;

	if (p->proposed >= RECONCILE_MAX)
		return;
	if (mpack_copy_str(mpack_map_get(tags, "dc"), dc, sizeof(dc)) == 0 &&
	    strcmp(dc, raftd_child.conf->datacenter) != 0)
		return;
	if (mpack_copy_str(mpack_map_get(tags, "id"), id, sizeof(id)) == -1)
		id[0] = '\0';
	if (mpack_copy_str(mpack_map_get(tags, "role"), role,
	    sizeof(role)) == 0 && strcmp(role, "consul") == 0 &&
	    mpack_copy_str(mpack_map_get(tags, "port"), rport,
	    sizeof(rport)) == 0)
		server_port = strtoull(rport, NULL, 10);
	if (server_port > 65535)
		server_port = 0;
	if (status == 3) {
		/* Left: out of the catalog. */
		if (cat_state_node(&raftd.store, name, &n) == 0) {
			cat_node_free(&n);
			deregister_node(p, name);
		}
		return;
	}
	want = status == 4 ? CAT_CRITICAL : CAT_PASSING;
	if (!node_up_to_date(name, ip, id, want, server_port))
		register_member(p, name, ip, id, want, server_port);
}

/* Nodes with a serfHealth check that gossip no longer knows: reaped. */
struct reap_walk {
	struct rc_pass	*p;
	char		*names[RECONCILE_MAX];
	size_t		 n;
};

struct member_find {
	const char	*name;
	int		 found;
};

static void
member_find_cb(void *arg, const char *name, const char *ip, uint64_t port,
    uint64_t status, const msgpack_object *tags)
{
	struct member_find	*f = arg;

	if (strcmp(name, f->name) == 0)
		f->found = 1;
}

static int
reap_node_cb(void *arg, const struct cat_node *n)
{
	struct reap_walk	*w = arg;
	struct member_find	 mf;
	struct serf_find	 sf;

	if (w->n + (size_t)w->p->proposed >= RECONCILE_MAX)
		return -1;
	memset(&mf, 0, sizeof(mf));
	mf.name = n->node;
	members_walk(0, member_find_cb, &mf);
	if (mf.found)
		return 0;
	memset(&sf, 0, sizeof(sf));
	if (cat_state_node_checks(&raftd.store, n->node, serf_check_cb,
	    &sf) == -1 || !sf.found)
		return 0;
	if ((w->names[w->n] = strdup(n->node)) == NULL)
		fatal("reconcile");
	w->n++;
	return 0;
}

/* Called every second by node.c. */
void
reconcile_check(struct raftd *r)
{
	struct rc_pass		 p;
	struct reap_walk	 w;
	size_t			 i;

	if (!node_is_leader(r) || r->stalled ||
	    !raft_committed_in_term(r->raft) ||
	    r->applied < raft_commit_index(r->raft) ||
	    r->applied < reconcile_pending)
		return;
	memset(&p, 0, sizeof(p));
	p.r = r;
	members_walk(0, reconcile_member, &p);
	memset(&w, 0, sizeof(w));
	w.p = &p;
	if (cat_state_nodes(&r->store, reap_node_cb, &w) == -1)
		log_warnx("reconcile: cannot walk the catalog");
	for (i = 0; i < w.n; i++) {
		deregister_node(&p, w.names[i]);
		free(w.names[i]);
	}
}
