/*
 * Catalog requests from apid, or forwarded by another agent: writes
 * (register, deregister) go through Raft on the leader as KV writes do
 * and are answered once applied; reads are served with the same
 * consistency modes, forwarding and holding as KV reads (kv.c), and a
 * read whose index has not passed the client's ?index waits here until
 * a committed catalog change moves it, or its wait runs out.
 */
#include <stdlib.h>
#include <string.h>

#include "acl_resolve.h"
#include "acl_rules.h"
#include "acl_state.h"
#include "catalog_state.h"
#include "config.h"
#include "coord_state.h"
#include "dns_proto.h"
#include "log.h"
#include "raftd.h"
#include "query_state.h"
#include "session_state.h"

#define CAT_WAIT_MAX_MS		(1200u * 1000)
#define CAT_WATCH_MAX		65536
/* Instances of one node in the DNS view: what one imsg holds. */
#define CAT_DNS_INSTANCES_MAX	4096

struct cat_read {
	int			 query;		/* enum cat_query */
	char			*arg;
	uint64_t		 min_index;
	uint64_t		 wait_ms;
	int			 consistency;
	uint64_t		 max_stale_ms;
	char			*token;		/* the caller's secret */
};

struct cat_watch {
	TAILQ_ENTRY(cat_watch)	 entry;
	struct cat_read		 read;
	struct imsgev		*iev;
	uint32_t		 reqid;
	struct event		*timer;
};

static TAILQ_HEAD(, cat_watch)	 cat_watches =
    TAILQ_HEAD_INITIALIZER(cat_watches);
static size_t			 ncat_watches;

static void
cat_read_free(struct cat_read *rd)
{
	free(rd->arg);
	if (rd->token != NULL) {
		explicit_bzero(rd->token, strlen(rd->token));
		free(rd->token);
	}
	memset(rd, 0, sizeof(*rd));
}

/*
 * A catalog read as cat_read_parse() takes it: query, arg, min_index,
 * wait_ms, consistency, max_stale_ms and the token it is read under.
 * The caller wipes the buffer (it holds the token).
 */
void
cat_read_pack(msgpack_packer *pk, int query, const char *arg,
    uint64_t min_index, uint64_t wait_ms, int consistency,
    uint64_t max_stale_ms, const char *token)
{
	msgpack_pack_array(pk, 7);
	msgpack_pack_uint8(pk, query);
	mpack_str(pk, arg);
	msgpack_pack_uint64(pk, min_index);
	msgpack_pack_uint64(pk, wait_ms);
	msgpack_pack_uint8(pk, consistency);
	msgpack_pack_uint64(pk, max_stale_ms);
	mpack_str(pk, token);
}

int
cat_read_parse(const void *buf, size_t len, struct cat_read_args *out)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	uint64_t		 q, cons;
	char			 arg[CAT_STR_MAX + 1];
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	a = u.data.via.array.ptr;
	/* A seventh element is the caller's token (ACL endpoints). */
	if (u.data.type != MSGPACK_OBJECT_ARRAY ||
	    (u.data.via.array.size != 6 && u.data.via.array.size != 7))
		goto done;
	if (u.data.via.array.size == 7 && mpack_copy_str(&a[6], out->token,
	    sizeof(out->token)) == -1)
		goto done;
	if (mpack_get_uint(&a[0], &q) == -1 || q >= CAT_Q_MAX ||
	    mpack_copy_str(&a[1], arg, sizeof(arg)) == -1 ||
	    mpack_get_uint(&a[2], &out->min_index) == -1 ||
	    mpack_get_uint(&a[3], &out->wait_ms) == -1 ||
	    out->wait_ms > CAT_WAIT_MAX_MS ||
	    mpack_get_uint(&a[4], &cons) == -1 || cons > KV_CONS_CONSISTENT ||
	    mpack_get_uint(&a[5], &out->max_stale_ms) == -1)
		goto done;
	/* Every query but these names a node, a service, a state or ID. */
	if ((q != CAT_Q_NODES && q != CAT_Q_SERVICES &&
	    q != CAT_Q_SESSION_LIST && q != CAT_Q_DNS_VIEW &&
	    q != CAT_Q_DATACENTERS && q != CAT_Q_PQUERY_LIST &&
	    q != CAT_Q_INSTANCES && q != CAT_Q_COORD_NODES &&
	    q != CAT_Q_COORD_DCS && q != CAT_Q_HEALTH_DUMP &&
	    q != CAT_Q_ACL_TOKENS && q != CAT_Q_ACL_POLICIES &&
	    q != CAT_Q_ACL_ROLES && q != CAT_Q_PQUERY_ALL &&
	    q != CAT_Q_ACL_REPLICATION) ==
	    (arg[0] == '\0'))
		goto done;
	/* A renewal goes to the leader and answers at once. */
	if (q == CAT_Q_SESSION_RENEW && (cons != KV_CONS_DEFAULT ||
	    out->min_index != 0))
		goto done;
	/* An ACL check is answered at once by any server. */
	if (q == CAT_Q_ACL_CHECK && (cons != KV_CONS_STALE ||
	    out->min_index != 0))
		goto done;
	/* From gossip: any server answers, at once. */
	if (q == CAT_Q_DC_KNOWN && (cons != KV_CONS_STALE ||
	    out->min_index != 0 || !dc_name_valid(arg)))
		goto done;
	out->query = q;
	out->consistency = cons;
	strlcpy(out->arg, arg, sizeof(out->arg));
	rc = 0;
 done:
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* The index a query blocks on. */
static uint64_t
cat_query_index(const struct cat_read *rd)
{
	uint64_t	 a, b;

	if (acl_query_is(rd->query))
		return acl_query_index(rd->query);
	switch (rd->query) {
	case CAT_Q_NODES:
		return cat_state_index(&raftd.store, "nodes");
	case CAT_Q_SERVICES:
	case CAT_Q_INSTANCES:
		/* The same index with a ?filter as without. */
		return cat_state_index(&raftd.store, "services");
	case CAT_Q_SERVICE:
	case CAT_Q_HEALTH_CHECKS:
	case CAT_Q_HEALTH_SERVICE:
		return cat_state_service_index(&raftd.store, rd->arg);
	case CAT_Q_HEALTH_STATE:
		return cat_state_index(&raftd.store, "checks");
	case CAT_Q_SESSION_INFO:
	case CAT_Q_SESSION_NODE:
	case CAT_Q_SESSION_LIST:
	case CAT_Q_SESSION_RENEW:
		return cat_state_index(&raftd.store, SESSIONS_TABLE);
	case CAT_Q_HEALTH_NODE:
		a = cat_state_index(&raftd.store, "nodes");
		b = cat_state_index(&raftd.store, "checks");
		return a > b ? a : b;
	case CAT_Q_DATACENTERS:
	case CAT_Q_COORD_DCS:
	case CAT_Q_DC_KNOWN:
		return 1;	/* from gossip: nothing to block on */
	case CAT_Q_ACL_CHECK:
		return acl_query_index(CAT_Q_ACL_TOKENS);
	case CAT_Q_PQUERY_LIST:
	case CAT_Q_PQUERY_GET:
	case CAT_Q_PQUERY_LOOKUP:
	case CAT_Q_PQUERY_ALL:
		return cat_state_index(&raftd.store, PQUERIES_TABLE);
	case CAT_Q_COORD_NODES:
	case CAT_Q_COORD_NODE:
		return cat_state_index(&raftd.store, COORDS_TABLE);
	case CAT_Q_HEALTH_DUMP:
	case CAT_Q_DNS_SERVICE:
	case CAT_Q_DNS_NODE:
	case CAT_Q_DNS_QUERY:
		a = cat_state_index(&raftd.store, "nodes");
		b = cat_state_index(&raftd.store, "services");
		a = a > b ? a : b;
		b = cat_state_index(&raftd.store, "checks");
		return a > b ? a : b;
	case CAT_Q_DNS_VIEW:
		a = cat_state_index(&raftd.store, "nodes");
		b = cat_state_index(&raftd.store, "services");
		a = a > b ? a : b;
		b = cat_state_index(&raftd.store, "checks");
		a = a > b ? a : b;
		b = cat_state_index(&raftd.store, PQUERIES_TABLE);
		a = a > b ? a : b;
		/* Filtered by the DNS token: a change of rights shows. */
		if (acl_enabled()) {
			b = acl_epoch(&raftd.store);
			a = a > b ? a : b;
		}
		return a;
	default:
		a = cat_state_index(&raftd.store, "nodes");
		b = cat_state_index(&raftd.store, "services");
		return a > b ? a : b;
	}
}

struct cat_emit {
	struct imsgev		*iev;
	uint32_t		 reqid;
	size_t			 n;
	/* CAT_Q_SERVICES: the name being gathered and its tags. */
	char			*name;
	char		       **tags;
	size_t			 ntags;
	struct cat_node		 node;		/* CAT_Q_SERVICE */
	int			 have_node;
	const char		*state;		/* CAT_Q_HEALTH_STATE */
	/* CAT_Q_HEALTH_SERVICE: the node's checks, then an instance's. */
	struct cat_check	*checks;
	size_t			 nchecks;
	size_t			 nnode_checks;
	const char		*service_id;
	const struct cat_node	*dump_node;	/* CAT_Q_HEALTH_DUMP */
	/* CAT_Q_DNS_VIEW: the node's instances as they are packed. */
	struct mpack_out	*dns_out;
	size_t			 dns_n;
	const struct acl_authz	*authz;		/* NULL: no filtering */
	int			 filtered;	/* something was hidden */
};

/*
 * With ACLs on, whether the reader may see what is on node (node read)
 * and belongs to service (service read); NULL or "" asks nothing.
 */
static int
cat_visible(struct cat_emit *e, const char *node, const char *service)
{
	if (e->authz == NULL)
		return 1;
	if ((node != NULL && !acl_allowed(e->authz, ACL_RES_NODE, node,
	    ACL_LEVEL_READ)) || (service != NULL && *service != '\0' &&
	    !acl_allowed(e->authz, ACL_RES_SERVICE, service,
	    ACL_LEVEL_READ))) {
		e->filtered = 1;
		return 0;
	}
	return 1;
}

static int	gather_check(void *, const struct cat_check *);

/* The checks of the node itself (no service). */
static int
gather_node_check(void *arg, const struct cat_check *c)
{
	if (c->service_id != NULL)
		return 0;
	return gather_check(arg, c);
}

static void
emit(struct cat_emit *e, struct mpack_out *out)
{
	if (out->sbuf.size <= IMSG_MAX_DATA) {
		if (imsgev_compose(e->iev, IMSG_CAT_ITEM, e->reqid, -1,
		    out->sbuf.data, out->sbuf.size) == -1)
			fatal("catalog: compose");
		e->n++;
	}
	mpack_out_free(out);
}

/* For readers elsewhere (acl.c) that pack their own items. */
static void
emit_packed(void *arg, struct mpack_out *out)
{
	emit(arg, out);
}

static int
emit_node(void *arg, const struct cat_node *n)
{
	struct mpack_out	 out;

	if (!cat_visible(arg, n->node, NULL))
		return 0;
	mpack_out_init(&out);
	cat_node_pack(&out.pk, n);
	emit(arg, &out);
	return 0;
}

static int
emit_check(void *arg, const struct cat_check *c)
{
	struct cat_emit		*e = arg;
	struct mpack_out	 out;

	if (e->state != NULL && strcmp(e->state, "any") != 0 &&
	    strcmp(e->state, c->status) != 0)
		return 0;
	if (!cat_visible(e, c->node, c->service_name))
		return 0;
	mpack_out_init(&out);
	cat_check_pack(&out.pk, c);
	emit(e, &out);
	return 0;
}

/* Gather checks into e->checks (CAT_Q_HEALTH_SERVICE). */
static int
gather_check(void *arg, const struct cat_check *c)
{
	struct cat_emit		*e = arg;
	struct cat_check	*n;

	if (e->service_id != NULL && (c->service_id == NULL ||
	    strcmp(c->service_id, e->service_id) != 0))
		return 0;
	if (e->nchecks >= CAT_LIST_MAX)
		return 0;
	if ((n = reallocarray(e->checks, e->nchecks + 1,
	    sizeof(*n))) == NULL)
		fatal("catalog");
	e->checks = n;
	/* Through the codec: the walk frees its copy. */
	{
		struct mpack_out	 out;
		msgpack_unpacked	 u;

		mpack_out_init(&out);
		cat_check_pack(&out.pk, c);
		if (mpack_parse(&u, out.sbuf.data, out.sbuf.size) == -1 ||
		    cat_check_unpack(&u.data, &e->checks[e->nchecks]) == -1)
			fatalx("catalog: cannot copy a check");
		msgpack_unpacked_destroy(&u);
		mpack_out_free(&out);
	}
	e->nchecks++;
	return 0;
}

static void
checks_clear(struct cat_emit *e, size_t from)
{
	size_t	 i;

	for (i = from; i < e->nchecks; i++)
		cat_check_free(&e->checks[i]);
	e->nchecks = from;
}

/* CAT_Q_HEALTH_SERVICE: each instance, its node, and their checks. */
static int
emit_health(void *arg, const struct cat_service *s)
{
	struct cat_emit		*e = arg;
	struct mpack_out	 out;
	size_t			 i, nnode;
	int			 rc;

	if (!cat_visible(e, s->node, s->service))
		return 0;
	if (!e->have_node || strcmp(e->node.node, s->node) != 0) {
		cat_node_free(&e->node);
		checks_clear(e, 0);
		e->have_node = 0;
		if ((rc = cat_state_node(&raftd.store, s->node,
		    &e->node)) == -1)
			return -1;
		if (rc == 1)
			return 0;
		e->have_node = 1;
		/* The node's own checks, kept for each of its instances. */
		e->service_id = NULL;
		if (cat_state_node_checks(&raftd.store, s->node,
		    gather_node_check, e) == -1)
			return -1;
		e->nnode_checks = e->nchecks;
	}
	nnode = e->nnode_checks;
	checks_clear(e, nnode);
	e->service_id = s->id;
	if (cat_state_node_checks(&raftd.store, s->node, gather_check,
	    e) == -1)
		return -1;
	e->service_id = NULL;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	cat_node_pack(&out.pk, &e->node);
	cat_service_pack(&out.pk, s);
	msgpack_pack_array(&out.pk, e->nchecks);
	for (i = 0; i < e->nchecks; i++)
		cat_check_pack(&out.pk, &e->checks[i]);
	emit(e, &out);
	return 0;
}

/*
 * CAT_Q_HEALTH_DUMP: node by node, each instance with the node's checks
 * and its own, as CAT_Q_HEALTH_SERVICE packs them; one walk of a node's
 * checks serves all its instances.
 */
static int
dump_service(void *arg, const struct cat_service *s)
{
	struct cat_emit		*e = arg;
	struct mpack_out	 out;
	size_t			 i, n = 0;

	if (!cat_visible(e, e->dump_node->node, s->service))
		return 0;
	for (i = 0; i < e->nchecks; i++)
		if (e->checks[i].service_id == NULL ||
		    strcmp(e->checks[i].service_id, s->id) == 0)
			n++;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	cat_node_pack(&out.pk, e->dump_node);
	cat_service_pack(&out.pk, s);
	msgpack_pack_array(&out.pk, n);
	for (i = 0; i < e->nchecks; i++)
		if (e->checks[i].service_id == NULL ||
		    strcmp(e->checks[i].service_id, s->id) == 0)
			cat_check_pack(&out.pk, &e->checks[i]);
	emit(e, &out);
	return 0;
}

static int
dump_node(void *arg, const struct cat_node *n)
{
	struct cat_emit		*e = arg;
	int			 rc;

	checks_clear(e, 0);
	e->service_id = NULL;
	e->dump_node = n;
	rc = cat_state_node_checks(&raftd.store, n->node, gather_check, e);
	if (rc == 0)
		rc = cat_state_node_services(&raftd.store, n->node,
		    dump_service, e);
	e->dump_node = NULL;
	return rc;
}

/*
 * The datacenters of the WAN pool's alive servers, distinct, with the
 * median of the estimated round-trip times from us to their servers
 * (-1 when no coordinate of theirs is known yet).
 */
#define DC_MAX		256
#define DC_SERVERS_MAX	64

struct dc_list {
	char		 dcs[DC_MAX][64];
	double		 rtt[DC_MAX];
	double		 samples[DC_MAX][DC_SERVERS_MAX];
	size_t		 nsamples[DC_MAX];
	size_t		 n;
	const char	*dc;		/* dc_servers(): the one wanted */
	struct cat_emit	*e;
	struct mpack_out *out;
	size_t		 nout;
};

/* A WAN member that is an alive server: its datacenter, or NULL. */
static const char *
wan_server_dc(const char *name, uint64_t status, const msgpack_object *tags,
    char *dc, size_t dclen)
{
	char	 role[16];

	if (status != 1 || mpack_copy_str(mpack_map_get(tags, "role"), role,
	    sizeof(role)) == -1 || strcmp(role, "consul") != 0 ||
	    mpack_copy_str(mpack_map_get(tags, "dc"), dc, dclen) == -1 ||
	    !dc_name_valid(dc))
		return NULL;
	return dc;
}

/* A WAN member's coordinate (ours from our own pool); -1 if none. */
static int
wan_coord(const char *name, struct coord *c)
{
	struct config	*conf = raftd_child.conf;
	size_t		 n = strlen(conf->node_name);

	if (strncmp(name, conf->node_name, n) == 0 && name[n] == '.' &&
	    strcmp(name + n + 1, conf->datacenter) == 0) {
		*c = *coord_self(1);
		return 0;
	}
	return coord_wan_get(name, c);
}

static void
dc_member(void *arg, const char *name, const char *ip, uint64_t port,
    uint64_t status, const msgpack_object *tags)
{
	struct dc_list	*l = arg;
	struct coord	 c;
	char		 dc[64];
	size_t		 i;

	if (wan_server_dc(name, status, tags, dc, sizeof(dc)) == NULL)
		return;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->dcs[i], dc) == 0)
			break;
	if (i == l->n) {
		if (l->n == DC_MAX)
			return;
		strlcpy(l->dcs[l->n++], dc, sizeof(l->dcs[0]));
	}
	if (l->nsamples[i] < DC_SERVERS_MAX && wan_coord(name, &c) == 0)
		l->samples[i][l->nsamples[i]++] = coord_rtt(coord_self(1), &c);
}

static int
dbl_cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct dc_order {
	const char	*name;
	double		 rtt;
};

/* By estimated RTT; those with none after, by name. */
static int
dc_cmp(const void *a, const void *b)
{
	const struct dc_order	*x = a, *y = b;

	if ((x->rtt < 0) != (y->rtt < 0))
		return x->rtt < 0 ? 1 : -1;
	if (x->rtt != y->rtt)
		return x->rtt < y->rtt ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* This datacenter first, then the others by RTT (by name without). */
static struct dc_list *
dc_list_build(void)
{
	struct dc_list	*l;
	struct dc_order	 order[DC_MAX];
	char		 names[DC_MAX][64];
	size_t		 i;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("catalog");
	strlcpy(l->dcs[0], raftd_child.conf->datacenter, sizeof(l->dcs[0]));
	l->n = 1;
	members_walk(1, dc_member, l);
	for (i = 0; i < l->n; i++) {
		l->rtt[i] = -1;
		if (l->nsamples[i] > 0) {
			qsort(l->samples[i], l->nsamples[i], sizeof(double),
			    dbl_cmp);
			l->rtt[i] = l->samples[i][l->nsamples[i] / 2];
		}
		memcpy(names[i], l->dcs[i], sizeof(names[i]));
		order[i].name = names[i];
		order[i].rtt = l->rtt[i];
	}
	if (l->n > 1)
		qsort(&order[1], l->n - 1, sizeof(order[0]), dc_cmp);
	for (i = 0; i < l->n; i++) {
		strlcpy(l->dcs[i], order[i].name, sizeof(l->dcs[0]));
		l->rtt[i] = order[i].rtt;
	}
	return l;
}

/* CAT_Q_DATACENTERS. */
static void
emit_datacenters(struct cat_emit *e)
{
	struct dc_list		*l = dc_list_build();
	struct mpack_out	 out;
	size_t			 i;

	for (i = 0; i < l->n; i++) {
		mpack_out_init(&out);
		mpack_str(&out.pk, l->dcs[i]);
		emit(e, &out);
	}
	free(l);
}

/* Count, then pack, the servers of l->dc with a coordinate. */
static void
dc_server(void *arg, const char *name, const char *ip, uint64_t port,
    uint64_t status, const msgpack_object *tags)
{
	struct dc_list	*l = arg;
	struct coord	 c;
	char		 dc[64], shortname[CAT_STR_MAX + 1];
	size_t		 n;

	if (wan_server_dc(name, status, tags, dc, sizeof(dc)) == NULL ||
	    strcmp(dc, l->dc) != 0 || wan_coord(name, &c) == -1)
		return;
	if (l->out == NULL) {
		l->nout++;
		return;
	}
	/* Consul names them without the ".<dc>" of the WAN pool. */
	strlcpy(shortname, name, sizeof(shortname));
	n = strlen(shortname);
	if (n > strlen(dc) + 1 && shortname[n - strlen(dc) - 1] == '.' &&
	    strcmp(shortname + n - strlen(dc), dc) == 0)
		shortname[n - strlen(dc) - 1] = '\0';
	msgpack_pack_array(&l->out->pk, 2);
	mpack_str(&l->out->pk, shortname);
	coord_pack(&l->out->pk, &c);
}

/* CAT_Q_COORD_DCS: [dc, [[server, coordinate]...]], in that order. */
static void
emit_coord_dcs(struct cat_emit *e)
{
	struct dc_list		*l = dc_list_build();
	struct mpack_out	 out;
	size_t			 i;

	for (i = 0; i < l->n; i++) {
		l->dc = l->dcs[i];
		l->out = NULL;
		l->nout = 0;
		members_walk(1, dc_server, l);
		mpack_out_init(&out);
		msgpack_pack_array(&out.pk, 2);
		mpack_str(&out.pk, l->dcs[i]);
		msgpack_pack_array(&out.pk, l->nout);
		l->out = &out;
		members_walk(1, dc_server, l);
		emit(e, &out);
	}
	free(l);
}

/* CAT_Q_COORD_NODES, CAT_Q_COORD_NODE: [node, segment, coordinate]. */
static int
emit_coord(void *arg, const char *node, const char *segment,
    const struct coord *c)
{
	struct mpack_out	 out;

	if (!cat_visible(arg, node, NULL))
		return 0;
	mpack_out_init(&out);
	coord_entry_pack(&out.pk, node, segment, c);
	emit(arg, &out);
	return 0;
}

/* The worse of two statuses. */
static const char *
status_worse(const char *a, const char *b)
{
	if (strcmp(a, CAT_CRITICAL) == 0 || strcmp(b, CAT_CRITICAL) == 0)
		return CAT_CRITICAL;
	if (strcmp(a, CAT_WARNING) == 0 || strcmp(b, CAT_WARNING) == 0)
		return CAT_WARNING;
	return CAT_PASSING;
}

/* The worst status of the gathered checks of one service ("": node's). */
static const char *
checks_status(const struct cat_emit *e, const char *sid)
{
	const char	*st = CAT_PASSING;
	size_t		 i;

	for (i = 0; i < e->nchecks; i++) {
		if ((sid == NULL) != (e->checks[i].service_id == NULL) ||
		    (sid != NULL && strcmp(sid, e->checks[i].service_id) != 0))
			continue;
		st = status_worse(st, e->checks[i].status);
	}
	return st;
}

static int
gather_dns_service(void *arg, const struct cat_service *s)
{
	struct cat_emit		*e = arg;
	struct mpack_out	*out = e->dns_out;

	if (e->dns_n >= CAT_DNS_INSTANCES_MAX ||
	    !cat_visible(e, NULL, s->service))
		return 0;
	msgpack_pack_array(&out->pk, 2);
	cat_service_pack(&out->pk, s);
	mpack_str(&out->pk, status_worse(e->state,
	    checks_status(e, s->id)));
	e->dns_n++;
	return 0;
}

static int
count_service(void *arg, const struct cat_service *s)
{
	(*(size_t *)arg)++;
	return 0;
}

/*
 * CAT_Q_DNS_VIEW: [node, node status, [[service, status]...]] for each
 * node, then ["q", prepared query] for each query.
 */
static int
emit_dns_node(void *arg, const struct cat_node *n)
{
	struct cat_emit		*e = arg;
	struct mpack_out	 out, svcs;
	size_t			 nsvc = 0;

	/* Hidden from the DNS token: the node and all on it. */
	if (!cat_visible(e, n->node, NULL))
		return 0;
	checks_clear(e, 0);
	e->service_id = NULL;
	if (cat_state_node_checks(&raftd.store, n->node, gather_check,
	    e) == -1 ||
	    cat_state_node_services(&raftd.store, n->node, count_service,
	    &nsvc) == -1)
		return -1;
	e->state = checks_status(e, NULL);
	mpack_out_init(&svcs);
	e->dns_out = &svcs;
	e->dns_n = 0;
	if (cat_state_node_services(&raftd.store, n->node,
	    gather_dns_service, e) == -1) {
		mpack_out_free(&svcs);
		return -1;
	}
	if (e->dns_n >= CAT_DNS_INSTANCES_MAX && e->dns_n < nsvc)
		log_warnx("catalog: node %s: %zu of its %zu instances in the "
		    "DNS view", n->node, e->dns_n, nsvc);
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	cat_node_pack(&out.pk, n);
	mpack_str(&out.pk, e->state);
	msgpack_pack_array(&out.pk, e->dns_n);
	msgpack_sbuffer_write(&out.sbuf, svcs.sbuf.data, svcs.sbuf.size);
	mpack_out_free(&svcs);
	e->state = NULL;
	emit(e, &out);
	return 0;
}

/*
 * CAT_Q_DNS_VIEW, after the nodes: ["q", packed cat_pquery], its token
 * only marked (dnsd asks for what a query with a token may read).
 */
static int
emit_dns_query(void *arg, const struct cat_pquery *q)
{
	struct mpack_out	 out;
	struct cat_pquery	 c = *q;

	c.token = q->token != NULL && *q->token != '\0' ?
	    (char *)DNS_QUERY_HAS_TOKEN : NULL;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	mpack_str(&out.pk, "q");
	cat_pquery_pack(&out.pk, &c);
	emit(arg, &out);
	return 0;
}

/*
 * A prepared query as stored; for CAT_Q_PQUERY_LIST and _GET, only what
 * the reader may read, its token hidden unless it may see tokens.
 */
static int
emit_pquery(void *arg, const struct cat_pquery *q)
{
	struct cat_emit		*e = arg;
	struct mpack_out	 out;
	struct cat_pquery	 c;

	if (e->authz != NULL) {
		memset(&c, 0, sizeof(c));
		c.id = q->id;
		c.name = q->name;
		c.session = q->session;
		c.def = q->def;
		c.create_index = q->create_index;
		c.modify_index = q->modify_index;
		if (q->token != NULL && (c.token = strdup(q->token)) == NULL)
			fatal("catalog");
		if (query_acl_readable(e->authz, &c)) {
			mpack_out_init(&out);
			cat_pquery_pack(&out.pk, &c);
			emit(e, &out);
		} else
			e->filtered = 1;
		if (c.token != NULL)
			explicit_bzero(c.token, strlen(c.token));
		free(c.token);
		return 0;
	}
	mpack_out_init(&out);
	cat_pquery_pack(&out.pk, q);
	emit(arg, &out);
	return 0;
}

static int
emit_session(void *arg, const struct cat_session *se)
{
	struct cat_emit		*e = arg;
	struct mpack_out	 out;

	/* With ACLs on: session read on the session's node. */
	if (e->authz != NULL && !acl_allowed(e->authz, ACL_RES_SESSION,
	    se->node, ACL_LEVEL_READ)) {
		e->filtered = 1;
		return 0;
	}
	mpack_out_init(&out);
	cat_session_pack(&out.pk, se);
	emit(arg, &out);
	return 0;
}

/* CAT_Q_NODE: [0, node] first, then [1, service] for each. */
static void
emit_tagged_node(struct cat_emit *e, const struct cat_node *n)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	msgpack_pack_uint8(&out.pk, 0);
	cat_node_pack(&out.pk, n);
	emit(e, &out);
}

static int
emit_tagged_service(void *arg, const struct cat_service *s)
{
	struct mpack_out	 out;

	if (!cat_visible(arg, NULL, s->service))
		return 0;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	msgpack_pack_uint8(&out.pk, 1);
	cat_service_pack(&out.pk, s);
	emit(arg, &out);
	return 0;
}

static void
services_flush(struct cat_emit *e)
{
	struct mpack_out	 out;
	size_t			 i;

	if (e->name == NULL)
		return;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	mpack_str(&out.pk, e->name);
	msgpack_pack_array(&out.pk, e->ntags);
	for (i = 0; i < e->ntags; i++) {
		mpack_str(&out.pk, e->tags[i]);
		free(e->tags[i]);
	}
	emit(e, &out);
	free(e->tags);
	free(e->name);
	e->tags = NULL;
	e->ntags = 0;
	e->name = NULL;
}

/* Instances come by name: gather each name's tags, once each. */
static int
gather_service(void *arg, const struct cat_service *s)
{
	struct cat_emit	*e = arg;
	char		**t;
	size_t		 i, j;

	if (!cat_visible(e, NULL, s->service))
		return 0;
	if (e->name != NULL && strcmp(e->name, s->service) != 0)
		services_flush(e);
	if (e->name == NULL && (e->name = strdup(s->service)) == NULL)
		fatal("catalog");
	for (i = 0; i < s->ntags; i++) {
		for (j = 0; j < e->ntags; j++)
			if (strcmp(e->tags[j], s->tags[i]) == 0)
				break;
		if (j < e->ntags || e->ntags >= CAT_LIST_MAX)
			continue;
		if ((t = reallocarray(e->tags, e->ntags + 1,
		    sizeof(*t))) == NULL)
			fatal("catalog");
		e->tags = t;
		if ((e->tags[e->ntags] = strdup(s->tags[i])) == NULL)
			fatal("catalog");
		e->ntags++;
	}
	return 0;
}

/* CAT_Q_SERVICE: each instance with its node. */
static int
emit_instance(void *arg, const struct cat_service *s)
{
	struct cat_emit		*e = arg;
	struct mpack_out	 out;
	int			 rc;

	if (!cat_visible(e, s->node, s->service))
		return 0;
	if (!e->have_node || strcmp(e->node.node, s->node) != 0) {
		cat_node_free(&e->node);
		e->have_node = 0;
		if ((rc = cat_state_node(&raftd.store, s->node,
		    &e->node)) == -1)
			return -1;
		if (rc == 1)
			return 0;	/* cannot be: skip it */
		e->have_node = 1;
	}
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	cat_node_pack(&out.pk, &e->node);
	cat_service_pack(&out.pk, s);
	emit(e, &out);
	return 0;
}

/* The nodes of a service's instances, each once (CAT_Q_DNS_SERVICE). */
struct node_names {
	char			**v;
	size_t			 n;
};

static int
gather_node_name(void *arg, const struct cat_service *s)
{
	struct node_names	*nn = arg;
	char			**p;
	size_t			 i;

	for (i = 0; i < nn->n; i++)
		if (strcmp(nn->v[i], s->node) == 0)
			return 0;
	if (nn->n >= CAT_LIST_MAX)
		return 0;
	if ((p = reallocarray(nn->v, nn->n + 1, sizeof(*p))) == NULL)
		fatal("catalog");
	nn->v = p;
	if ((nn->v[nn->n] = strdup(s->node)) == NULL)
		fatal("catalog");
	nn->n++;
	return 0;
}

/* CAT_Q_DNS_SERVICE and CAT_Q_DNS_NODE: view items of a few nodes. */
static int
emit_dns_nodes(struct cat_emit *e, const struct cat_read *rd, int *found)
{
	struct node_names	 nn;
	struct cat_node		 n;
	struct cat_service	 key;
	size_t			 i;
	int			 rc = 0;

	memset(&nn, 0, sizeof(nn));
	memset(&key, 0, sizeof(key));
	key.node = rd->arg;
	if (rd->query == CAT_Q_DNS_NODE)
		gather_node_name(&nn, &key);
	else
		rc = cat_state_service_instances(&raftd.store, rd->arg,
		    gather_node_name, &nn);
	for (i = 0; rc == 0 && i < nn.n; i++) {
		if ((rc = cat_state_node(&raftd.store, nn.v[i], &n)) == 1) {
			rc = 0;
			continue;
		}
		if (rc == 0) {
			rc = emit_dns_node(e, &n);
			cat_node_free(&n);
		}
	}
	for (i = 0; i < nn.n; i++)
		free(nn.v[i]);
	free(nn.v);
	checks_clear(e, 0);
	free(e->checks);
	*found = e->n > 0 || rd->query != CAT_Q_DNS_NODE;
	return rc;
}

/*
 * CAT_Q_DNS_QUERY: the authorizer of the query's Token, else of the
 * reader's token (a query gone since).
 */
static int
dns_query_authz(struct cat_read *rd, const struct acl_authz **out,
    char *err, size_t errlen)
{
	struct cat_pquery	 pq;
	char			 id[CAT_STR_MAX + 1];
	size_t			 n = strcspn(rd->arg, "/");
	int			 rc;

	if (n >= sizeof(id))
		return acl_authz_get(rd->token, out, err, errlen);
	memcpy(id, rd->arg, n);
	id[n] = '\0';
	if ((rc = query_state_get(&raftd.store, NULL, id, &pq)) == -1)
		fatalx("catalog: cannot read the prepared queries");
	if (rc == 1 || pq.token == NULL || *pq.token == '\0') {
		if (rc == 0)
			cat_pquery_free(&pq);
		return acl_authz_get(rd->token, out, err, errlen);
	}
	rc = acl_authz_get(pq.token, out, err, errlen);
	cat_pquery_free(&pq);
	return rc;
}

/*
 * The catalog, health, session and coordinate reads that ACLs filter:
 * with ACLs on, the reader's authorizer (0 and *out; 1 with err for an
 * unknown token); *out stays NULL for the other reads.
 */
static int
cat_read_authz(struct cat_read *rd, const struct acl_authz **out,
    char *err, size_t errlen)
{
	*out = NULL;
	if (!acl_enabled())
		return 0;
	switch (rd->query) {
	case CAT_Q_NODES:
	case CAT_Q_NODE:
	case CAT_Q_SERVICES:
	case CAT_Q_SERVICE:
	case CAT_Q_INSTANCES:
	case CAT_Q_HEALTH_NODE:
	case CAT_Q_HEALTH_CHECKS:
	case CAT_Q_HEALTH_STATE:
	case CAT_Q_HEALTH_SERVICE:
	case CAT_Q_HEALTH_DUMP:
	case CAT_Q_SESSION_INFO:
	case CAT_Q_SESSION_RENEW:
	case CAT_Q_SESSION_NODE:
	case CAT_Q_SESSION_LIST:
	case CAT_Q_COORD_NODES:
	case CAT_Q_COORD_NODE:
	case CAT_Q_PQUERY_LIST:
	case CAT_Q_PQUERY_GET:
	case CAT_Q_DNS_VIEW:
	case CAT_Q_DNS_SERVICE:
	case CAT_Q_DNS_NODE:
		return acl_authz_get(rd->token, out, err, errlen);
	case CAT_Q_DNS_QUERY:
		return dns_query_authz(rd, out, err, errlen);
	default:
		return 0;
	}
}

/* CAT_Q_DC_KNOWN: a server of the datacenter, in any state. */
struct dc_known {
	const char	*dc;
	int		 seen;
};

static void
dc_known_member(void *arg, const char *name, const char *ip, uint64_t port,
    uint64_t status, const msgpack_object *tags)
{
	struct dc_known	*k = arg;
	char		 role[16], dc[64];

	if (mpack_copy_str(mpack_map_get(tags, "role"), role,
	    sizeof(role)) == 0 && strcmp(role, "consul") == 0 &&
	    mpack_copy_str(mpack_map_get(tags, "dc"), dc, sizeof(dc)) == 0 &&
	    strcmp(dc, k->dc) == 0)
		k->seen = 1;
}

static void
cat_answer(struct imsgev *iev, uint32_t reqid, struct cat_read *rd)
{
	struct cat_emit		 e;
	struct cat_node		 n;
	struct cat_session	 se;
	struct cat_pquery	 pq;
	struct dc_known		 dk;
	struct cat_read		 svc_rd;
	uint64_t		 index = cat_query_index(rd);
	char			 err[ACL_DENIED_MAX];
	int			 rc = 0, found = 1;

	memset(&e, 0, sizeof(e));
	e.iev = iev;
	e.reqid = reqid;
	if (cat_read_authz(rd, &e.authz, err, sizeof(err)) != 0) {
		read_end_served(iev, reqid, index, 0, err, rd->consistency);
		return;
	}
	if (rd->query == CAT_Q_ACL_CHECK) {
		acl_check_arg(rd->token, rd->arg, err, sizeof(err));
		read_end_served(iev, reqid, index, 1, err, rd->consistency);
		return;
	}
	if (acl_query_is(rd->query))
		rc = acl_read(rd->query, rd->arg, rd->token, emit_packed, &e,
		    &found);
	else if (rd->query == CAT_Q_ACL_RESOLVE)
		rc = acl_resolve_emit(rd->token, rd->arg, emit_packed, &e,
		    &found);
	else switch (rd->query) {
	case CAT_Q_NODES:
		rc = cat_state_nodes(&raftd.store, emit_node, &e);
		break;
	case CAT_Q_SERVICES:
		rc = cat_state_services(&raftd.store, gather_service, &e);
		services_flush(&e);
		break;
	case CAT_Q_SERVICE:
		rc = cat_state_service_instances(&raftd.store, rd->arg,
		    emit_instance, &e);
		cat_node_free(&e.node);
		break;
	case CAT_Q_INSTANCES:
		rc = cat_state_services(&raftd.store, emit_instance, &e);
		cat_node_free(&e.node);
		break;
	case CAT_Q_HEALTH_NODE:
		rc = cat_state_node_checks(&raftd.store, rd->arg, emit_check,
		    &e);
		break;
	case CAT_Q_HEALTH_CHECKS:
		rc = cat_state_service_checks(&raftd.store, rd->arg,
		    emit_check, &e);
		break;
	case CAT_Q_HEALTH_STATE:
		e.state = rd->arg;
		rc = cat_state_checks(&raftd.store, emit_check, &e);
		break;
	case CAT_Q_HEALTH_SERVICE:
		rc = cat_state_service_instances(&raftd.store, rd->arg,
		    emit_health, &e);
		checks_clear(&e, 0);
		free(e.checks);
		cat_node_free(&e.node);
		break;
	case CAT_Q_HEALTH_DUMP:
		rc = cat_state_nodes(&raftd.store, dump_node, &e);
		checks_clear(&e, 0);
		free(e.checks);
		break;
	case CAT_Q_SESSION_INFO:
	case CAT_Q_SESSION_RENEW:
		if ((rc = session_state_get(&raftd.store, NULL, rd->arg,
		    &se)) == 1) {
			found = 0;
			rc = 0;
			break;
		}
		if (rc == -1)
			break;
		/* A renewal needs session write on the session's node. */
		if (rd->query == CAT_Q_SESSION_RENEW && e.authz != NULL &&
		    !acl_allowed(e.authz, ACL_RES_SESSION, se.node,
		    ACL_LEVEL_WRITE)) {
			acl_denied(err, sizeof(err), e.authz,
			    ACL_RES_SESSION, se.node, ACL_LEVEL_WRITE);
			cat_session_free(&se);
			read_end_served(iev, reqid, index, 0, err,
			    rd->consistency);
			return;
		}
		if (rd->query == CAT_Q_SESSION_RENEW)
			session_renew(&se);
		emit_session(&e, &se);
		cat_session_free(&se);
		break;
	case CAT_Q_SESSION_NODE:
		rc = session_state_node(&raftd.store, rd->arg, emit_session,
		    &e);
		break;
	case CAT_Q_SESSION_LIST:
		rc = session_state_list(&raftd.store, emit_session, &e);
		break;
	case CAT_Q_DATACENTERS:
		emit_datacenters(&e);
		break;
	case CAT_Q_PQUERY_LIST:
	case CAT_Q_PQUERY_ALL:
		rc = query_state_list(&raftd.store, emit_pquery, &e);
		break;
	case CAT_Q_PQUERY_GET:
	case CAT_Q_PQUERY_LOOKUP:
		rc = rd->query == CAT_Q_PQUERY_GET ?
		    query_state_get(&raftd.store, NULL, rd->arg, &pq) :
		    query_state_lookup(&raftd.store, rd->arg, &pq);
		if (rc == 1) {
			found = 0;
			rc = 0;
		} else if (rc == 0) {
			emit_pquery(&e, &pq);
			cat_pquery_free(&pq);
			/* One the reader may not read: Consul's 403. */
			if (e.filtered && e.n == 0) {
				read_end_served(iev, reqid, index, 0,
				    "Permission denied", rd->consistency);
				return;
			}
		}
		break;
	case CAT_Q_COORD_DCS:
		emit_coord_dcs(&e);
		break;
	case CAT_Q_COORD_NODES:
		rc = coord_state_walk(&raftd.store, NULL, emit_coord, &e);
		break;
	case CAT_Q_COORD_NODE:
		rc = coord_state_walk(&raftd.store, rd->arg, emit_coord, &e);
		found = e.n > 0;
		break;
	case CAT_Q_DNS_SERVICE:
	case CAT_Q_DNS_NODE:
		rc = emit_dns_nodes(&e, rd, &found);
		break;
	case CAT_Q_DNS_QUERY:
		/* "<id>/<service>": the service, as the authorizer says. */
		svc_rd = *rd;
		svc_rd.query = CAT_Q_DNS_SERVICE;
		svc_rd.arg = rd->arg + strcspn(rd->arg, "/");
		if (*svc_rd.arg == '/')
			svc_rd.arg++;
		rc = emit_dns_nodes(&e, &svc_rd, &found);
		break;
	case CAT_Q_DC_KNOWN:
		memset(&dk, 0, sizeof(dk));
		dk.dc = rd->arg;
		members_walk(1, dc_known_member, &dk);
		found = dk.seen ||
		    strcmp(rd->arg, raftd_child.conf->datacenter) == 0;
		break;
	case CAT_Q_DNS_VIEW:
		rc = cat_state_nodes(&raftd.store, emit_dns_node, &e);
		checks_clear(&e, 0);
		free(e.checks);
		if (rc == 0)
			rc = query_state_list(&raftd.store, emit_dns_query,
			    &e);
		break;
	case CAT_Q_NODE:
		if ((rc = cat_state_node(&raftd.store, rd->arg, &n)) == 1) {
			found = 0;
			rc = 0;
			break;
		}
		if (rc == -1)
			break;
		if (!cat_visible(&e, n.node, NULL)) {
			cat_node_free(&n);
			found = 0;
			break;
		}
		emit_tagged_node(&e, &n);
		cat_node_free(&n);
		rc = cat_state_node_services(&raftd.store, rd->arg,
		    emit_tagged_service, &e);
		break;
	}
	if (rc == -1)
		fatalx("catalog: cannot read the catalog");
	read_end_acl(iev, reqid, index, found, rd->consistency,
	    e.filtered && !acl_anonymous(rd->token));
}

static void
cat_watch_free(struct cat_watch *w)
{
	TAILQ_REMOVE(&cat_watches, w, entry);
	ncat_watches--;
	event_free(w->timer);
	cat_read_free(&w->read);
	free(w);
}

static void
cat_watch_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct cat_watch	*w = arg;

	cat_answer(w->iev, w->reqid, &w->read);
	cat_watch_free(w);
}

static int
cat_watch_add(struct imsgev *iev, uint32_t reqid, struct cat_read *rd)
{
	struct cat_watch	*w;
	struct timeval		 tv;
	uint64_t		 ms = rd->wait_ms;

	if (ncat_watches >= CAT_WATCH_MAX)
		return -1;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("catalog");
	w->read = *rd;
	memset(rd, 0, sizeof(*rd));
	w->iev = iev;
	w->reqid = reqid;
	if (ms / 16 > 0)
		ms += arc4random_uniform(ms / 16 > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)(ms / 16));
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if ((w->timer = evtimer_new(raftd_child.base, cat_watch_timeout,
	    w)) == NULL || evtimer_add(w->timer, &tv) == -1)
		fatalx("catalog: cannot arm timer");
	TAILQ_INSERT_TAIL(&cat_watches, w, entry);
	ncat_watches++;
	return 0;
}

/* After a durable batch that changed the catalog: wake who may go. */
void
cat_watch_deliver(struct raftd *r)
{
	struct cat_watch	*w, *next;

	if (!r->cat_changed)
		return;
	r->cat_changed = 0;
	for (w = TAILQ_FIRST(&cat_watches); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (cat_query_index(&w->read) <= w->read.min_index)
			continue;
		cat_answer(w->iev, w->reqid, &w->read);
		cat_watch_free(w);
	}
}

/* A restore replaced the state: every query answers anew. */
void
cat_watch_wake_all(void)
{
	struct cat_watch	*w;

	while ((w = TAILQ_FIRST(&cat_watches)) != NULL) {
		cat_answer(w->iev, w->reqid, &w->read);
		cat_watch_free(w);
	}
}

/* The client went away: answer now, as watch.c does. */
void
cat_watch_cancel(struct imsgev *iev, uint32_t reqid)
{
	struct cat_watch	*w;

	TAILQ_FOREACH(w, &cat_watches, entry)
		if (w->iev == iev && w->reqid == reqid) {
			cat_answer(w->iev, w->reqid, &w->read);
			cat_watch_free(w);
			return;
		}
}

void
cat_read_request(struct imsgev *iev, struct imsg *imsg)
{
	struct cat_read_args	 a;
	struct cat_read		 rd;
	char			 err[ACL_DENIED_MAX];

	if (cat_read_parse(imsg->data, imsg->len, &a) == -1)
		fatalx("catalog: malformed read request from %s", iev->name);
	if (!read_route(iev, imsg, a.consistency, a.max_stale_ms, a.query))
		return;
	if (acl_remote_wait(a.token, iev, imsg)) {
		explicit_bzero(a.token, sizeof(a.token));
		return;
	}
	if (acl_query_is(a.query) && acl_check_query(a.query, a.token, err,
	    sizeof(err)) != 0) {
		explicit_bzero(a.token, sizeof(a.token));
		read_end_served(iev, imsg->hdr.peerid, 1, 0, err,
		    a.consistency);
		return;
	}
	memset(&rd, 0, sizeof(rd));
	rd.query = a.query;
	if ((rd.token = strdup(a.token)) == NULL)
		fatal("catalog");
	explicit_bzero(a.token, sizeof(a.token));
	rd.min_index = a.min_index;
	rd.wait_ms = a.wait_ms;
	rd.consistency = a.consistency;
	rd.max_stale_ms = a.max_stale_ms;
	if ((rd.arg = strdup(a.arg)) == NULL)
		fatal("catalog");
	if (rd.min_index > 0 && cat_query_index(&rd) <= rd.min_index &&
	    cat_watch_add(iev, imsg->hdr.peerid, &rd) == 0)
		return;		/* the watch owns rd now */
	cat_answer(iev, imsg->hdr.peerid, &rd);
	cat_read_free(&rd);
}

/* A batch of coordinate updates: bounded, every entry valid. */
static int
coord_batch_valid(const msgpack_object *b)
{
	char		 node[CAT_STR_MAX + 1], seg[CAT_STR_MAX + 1];
	struct coord	 c;
	uint32_t	 i;

	if (b->type != MSGPACK_OBJECT_ARRAY || b->via.array.size == 0 ||
	    b->via.array.size > COORD_BATCH_MAX)
		return 0;
	for (i = 0; i < b->via.array.size; i++)
		if (coord_entry_unpack(&b->via.array.ptr[i], node,
		    sizeof(node), seg, sizeof(seg), &c) == -1)
			return 0;
	return 1;
}

/* [op, packed record]; -1 if it does not decode. */
int
cat_write_parse(const void *buf, size_t len, int *op)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct cat_register	 reg;
	struct cat_deregister	 dereg;
	struct cat_session	 se;
	struct cat_pquery	 pq;
	char			 id[CAT_STR_MAX + 1];
	uint64_t		 o;
	int			 rc = -1;

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	a = u.data.via.array.ptr;
	/* A third element is the caller's token (ACL writes, registrations). */
	if (u.data.type != MSGPACK_OBJECT_ARRAY ||
	    (u.data.via.array.size != 2 && u.data.via.array.size != 3) ||
	    mpack_get_uint(&a[0], &o) == -1)
		goto done;
	if (u.data.via.array.size == 3 && ((o != CAT_WRITE_ACL &&
	    o != CAT_WRITE_REGISTER && o != CAT_WRITE_DEREGISTER &&
	    o != CAT_WRITE_SESSION_CREATE &&
	    o != CAT_WRITE_SESSION_DESTROY && o != CAT_WRITE_COORD_BATCH &&
	    o != CAT_WRITE_PQUERY_SET && o != CAT_WRITE_PQUERY_DELETE) ||
	    a[2].type != MSGPACK_OBJECT_STR || a[2].via.str.size > CAT_STR_MAX))
		goto done;
	if (o == CAT_WRITE_REGISTER && cat_register_unpack(&a[1], &reg) == 0) {
		cat_register_free(&reg);
		rc = 0;
	} else if (o == CAT_WRITE_DEREGISTER &&
	    cat_deregister_unpack(&a[1], &dereg) == 0) {
		cat_deregister_free(&dereg);
		rc = 0;
	} else if (o == CAT_WRITE_SESSION_CREATE &&
	    cat_session_unpack(&a[1], &se) == 0) {
		cat_session_free(&se);
		rc = 0;
	} else if ((o == CAT_WRITE_SESSION_DESTROY ||
	    o == CAT_WRITE_PQUERY_DELETE) &&
	    mpack_copy_str(&a[1], id, sizeof(id)) == 0 && id[0] != '\0')
		rc = 0;
	else if (o == CAT_WRITE_PQUERY_SET && a[1].type ==
	    MSGPACK_OBJECT_ARRAY && a[1].via.array.size == 2 &&
	    a[1].via.array.ptr[0].type == MSGPACK_OBJECT_BOOLEAN &&
	    cat_pquery_unpack(&a[1].via.array.ptr[1], &pq) == 0) {
		cat_pquery_free(&pq);
		rc = 0;
	}
	else if (o == CAT_WRITE_COORD_BATCH && coord_batch_valid(&a[1]))
		rc = 0;
	else if (o == CAT_WRITE_ACL && acl_cmd_check(&a[1]) == 0)
		rc = 0;
	*op = (int)o;
 done:
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* The token of an ACL write, "" for none; 0, or -1 if malformed. */
int
cat_write_token(const void *buf, size_t len, char *tok, size_t toklen)
{
	msgpack_unpacked	 u;
	int			 rc = 0;

	tok[0] = '\0';
	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	if (u.data.type == MSGPACK_OBJECT_ARRAY &&
	    u.data.via.array.size == 3)
		rc = mpack_copy_str(&u.data.via.array.ptr[2], tok, toklen);
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* The command is [FSM_CATALOG, an IMSG_CAT_WRITE payload]. */
static uint64_t
cat_propose_raw(struct raftd *r, const void *buf, size_t len)
{
	struct mpack_out	 out;
	uint64_t		 idx;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	msgpack_pack_uint8(&out.pk, FSM_CATALOG);
	msgpack_pack_bin(&out.pk, len);
	msgpack_pack_bin_body(&out.pk, buf, len);
	idx = node_propose(r, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	return idx;
}

/* Leader only: propose [op, rec] as a catalog write; its index or 0. */
uint64_t
cat_propose(struct raftd *r, int op, const struct mpack_out *rec)
{
	struct mpack_out	 out;
	uint64_t		 idx;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	msgpack_pack_uint8(&out.pk, op);
	msgpack_sbuffer_write(&out.sbuf, rec->sbuf.data, rec->sbuf.size);
	idx = cat_propose_raw(r, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	return idx;
}

/* The name of a node's service with the ID wanted. */
struct svc_name {
	const char	*id;
	char		*name;
};

static int
svc_name_cb(void *arg, const struct cat_service *s)
{
	struct svc_name	*sn = arg;

	if (sn->name == NULL && strcmp(s->id, sn->id) == 0 &&
	    (sn->name = strdup(s->service)) == NULL)
		fatal("catalog");
	return 0;
}

static int
node_exists(const char *name)
{
	struct cat_node	 n;
	int		 rc;

	if ((rc = cat_state_node(&raftd.store, name, &n)) == -1)
		fatalx("catalog: cannot read");
	if (rc == 0)
		cat_node_free(&n);
	return rc == 0;
}

/* A node check's service ID (the check's ID in, the service's out). */
static int
chk_svc_cb(void *arg, const struct cat_check *c)
{
	struct svc_name	*sn = arg;

	if (sn->name == NULL && strcmp(c->check_id, sn->id) == 0 &&
	    c->service_id != NULL && *c->service_id != '\0' &&
	    (sn->name = strdup(c->service_id)) == NULL)
		fatal("catalog");
	return 0;
}

/* Node write on the node, service write on the service and checks'. */
static int
register_allowed(const struct acl_authz *az, const struct cat_register *reg,
    char *err, size_t errlen)
{
	const char	*svc;
	size_t		 i;

	/*
	 * Node write, unless the node exists and stays as it is
	 * (SkipNodeUpdate, as anti-entropy sends it).
	 */
	if (!(reg->skip_node_update && node_exists(reg->node.node)) &&
	    !acl_allowed(az, ACL_RES_NODE, reg->node.node, ACL_LEVEL_WRITE)) {
		acl_denied(err, errlen, az, ACL_RES_NODE, reg->node.node,
		    ACL_LEVEL_WRITE);
		return 0;
	}
	for (i = 0; i <= reg->nchecks; i++) {
		if (i == 0)
			svc = reg->service != NULL ? reg->service->service :
			    NULL;
		else
			svc = reg->checks[i - 1].service_name;
		if (svc == NULL || (i > 0 && *svc == '\0') || acl_allowed(az,
		    ACL_RES_SERVICE, svc, ACL_LEVEL_WRITE))
			continue;
		acl_denied(err, errlen, az, ACL_RES_SERVICE, svc,
		    ACL_LEVEL_WRITE);
		return 0;
	}
	return 1;
}

/*
 * Session write on the node of the session made (or destroyed: an
 * unknown session needs nothing, its destruction does nothing).
 */
static int
session_write_allowed(const struct acl_authz *az, uint64_t op,
    const msgpack_object *rec, char *err, size_t errlen)
{
	struct cat_session	 se;
	char			 id[CAT_STR_MAX + 1];
	int			 rc, ok;

	if (op == CAT_WRITE_SESSION_CREATE) {
		if (cat_session_unpack(rec, &se) == -1)
			fatalx("catalog: malformed session");
	} else {
		if (mpack_copy_str(rec, id, sizeof(id)) == -1)
			fatalx("catalog: malformed session destroy");
		if ((rc = session_state_get(&raftd.store, NULL, id,
		    &se)) == -1)
			fatalx("catalog: cannot read the sessions");
		if (rc == 1)
			return 1;
	}
	ok = acl_allowed(az, ACL_RES_SESSION, se.node, ACL_LEVEL_WRITE);
	if (!ok)
		acl_denied(err, errlen, az, ACL_RES_SESSION, se.node,
		    ACL_LEVEL_WRITE);
	cat_session_free(&se);
	return ok;
}

/*
 * A registration, deregistration or session write: with ACLs on, the
 * caller needs node write on the node and service write on the service
 * (and on the services of the checks); a session write, session write
 * on the session's node.  One without a token element is the anonymous
 * token's.  0 with *out the payload without its token (the caller frees
 * it), or 1 with err.
 */
static int
cat_register_check(const void *buf, size_t len, const char *secret,
    struct mpack_out *out, char *err, size_t errlen)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	const struct acl_authz	*az = NULL;
	struct cat_register	 reg;
	struct cat_deregister	 dereg;
	struct svc_name		 sn;
	uint64_t		 op;
	int			 ok = 1;

	if (mpack_parse(&u, buf, len) == -1)
		fatalx("catalog: malformed registration");
	a = u.data.via.array.ptr;
	if (mpack_get_uint(&a[0], &op) == -1)
		fatalx("catalog: malformed registration");
	if (acl_enabled()) {
		if (acl_authz_get(secret, &az, err, errlen) != 0) {
			msgpack_unpacked_destroy(&u);
			return 1;
		}
		if (op == CAT_WRITE_SESSION_CREATE ||
		    op == CAT_WRITE_SESSION_DESTROY)
			ok = session_write_allowed(az, op, &a[1], err,
			    errlen);
		else if (op == CAT_WRITE_REGISTER) {
			if (cat_register_unpack(&a[1], &reg) == -1)
				fatalx("catalog: malformed registration");
			ok = register_allowed(az, &reg, err, errlen);
			cat_register_free(&reg);
		} else {
			if (cat_deregister_unpack(&a[1], &dereg) == -1)
				fatalx("catalog: malformed deregistration");
			/*
			 * As Consul: a service needs service:write on its
			 * name, a check that of its service (node:write
			 * for a node check), the node node:write.
			 */
			memset(&sn, 0, sizeof(sn));
			if (dereg.check_id != NULL &&
			    *dereg.check_id != '\0' &&
			    (dereg.service_id == NULL ||
			    *dereg.service_id == '\0')) {
				sn.id = dereg.check_id;
				if (cat_state_node_checks(&raftd.store,
				    dereg.node, chk_svc_cb, &sn) == -1)
					fatalx("catalog: cannot read");
				sn.id = sn.name;
				sn.name = NULL;
			} else
				sn.id = dereg.service_id;
			if (sn.id != NULL && *sn.id != '\0' &&
			    cat_state_node_services(&raftd.store,
			    dereg.node, svc_name_cb, &sn) == -1)
				fatalx("catalog: cannot read");
			if (sn.name != NULL) {
				ok = acl_allowed(az, ACL_RES_SERVICE, sn.name,
				    ACL_LEVEL_WRITE);
				if (!ok)
					acl_denied(err, errlen, az,
					    ACL_RES_SERVICE, sn.name,
					    ACL_LEVEL_WRITE);
			} else {
				ok = acl_allowed(az, ACL_RES_NODE, dereg.node,
				    ACL_LEVEL_WRITE);
				if (!ok)
					acl_denied(err, errlen, az,
					    ACL_RES_NODE, dereg.node,
					    ACL_LEVEL_WRITE);
			}
			if (sn.id != dereg.service_id)
				free((char *)sn.id);
			free(sn.name);
			cat_deregister_free(&dereg);
		}
		if (!ok) {
			msgpack_unpacked_destroy(&u);
			return 1;
		}
	}
	mpack_out_init(out);
	msgpack_pack_array(&out->pk, 2);
	msgpack_pack_object(&out->pk, a[0]);
	msgpack_pack_object(&out->pk, a[1]);
	msgpack_unpacked_destroy(&u);
	return 0;
}

/*
 * A prepared query write with the caller's token: 0 with *out the
 * write without its token (the caller frees it), or 1 with err.
 */
static int
cat_pquery_check(const void *buf, size_t len, const char *secret,
    struct mpack_out *out, char *err, size_t errlen)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	uint64_t		 op;
	int			 rc;

	if (mpack_parse(&u, buf, len) == -1)
		fatalx("catalog: malformed prepared query write");
	a = u.data.via.array.ptr;
	if (mpack_get_uint(&a[0], &op) == -1)
		fatalx("catalog: malformed prepared query write");
	if ((rc = query_acl_check_write((int)op, &a[1], secret, err,
	    errlen)) == 0) {
		mpack_out_init(out);
		msgpack_pack_array(&out->pk, 2);
		msgpack_pack_uint8(&out->pk, (uint8_t)op);
		msgpack_pack_object(&out->pk, a[1]);
	}
	msgpack_unpacked_destroy(&u);
	return rc;
}

typedef int (*write_check_fn)(const void *, size_t, const char *,
    struct mpack_out *, char *, size_t);

/* The check of a write that carries the caller's token, or NULL. */
static write_check_fn
write_check_of(int op)
{
	switch (op) {
	case CAT_WRITE_REGISTER:
	case CAT_WRITE_DEREGISTER:
	case CAT_WRITE_SESSION_CREATE:
	case CAT_WRITE_SESSION_DESTROY:
		return cat_register_check;
	case CAT_WRITE_PQUERY_SET:
	case CAT_WRITE_PQUERY_DELETE:
		return cat_pquery_check;
	default:
		return NULL;
	}
}

void
cat_write_request(struct imsgev *iev, struct imsg *imsg)
{
	struct pending_write	*pw;
	struct mpack_out	 acl_out;
	write_check_fn		 check;
	char			 err[KV_ERR_MAX], tok[CAT_STR_MAX + 1];
	uint64_t		 idx;
	int			 op, rc;

	if (cat_write_parse(imsg->data, imsg->len, &op) == -1)
		fatalx("catalog: malformed write request from %s", iev->name);
	/* A secondary datacenter's ACL writes go to the primary. */
	if (op == CAT_WRITE_ACL && acl_enabled() &&
	    raftd_child.conf->primary_datacenter != NULL &&
	    strcmp(raftd_child.conf->primary_datacenter,
	    raftd_child.conf->datacenter) != 0 &&
	    acl_write_global(imsg->data, imsg->len)) {
		acl_write_to_primary(iev, imsg);
		return;
	}
	if (forward_request(iev, imsg, 0, -1))
		return;
	if (!node_is_leader(&raftd)) {
		if (hold_request(iev, imsg) == -1)
			kv_write_error(iev, imsg->hdr.peerid,
			    "No cluster leader");
		return;
	}
	/* A token of the primary's: asked there first (acl_agent.c). */
	if (cat_write_token(imsg->data, imsg->len, tok, sizeof(tok)) == 0) {
		rc = acl_remote_wait(tok, iev, imsg);
		explicit_bzero(tok, sizeof(tok));
		if (rc)
			return;
	}
	/* Coordinates are batched: see coord.c. */
	if (op == CAT_WRITE_COORD_BATCH) {
		coord_batch_request(iev, imsg);
		return;
	}
	if (op == CAT_WRITE_ACL) {
		if (cat_write_token(imsg->data, imsg->len, tok,
		    sizeof(tok)) == -1)
			fatalx("catalog: malformed ACL write from %s",
			    iev->name);
		rc = acl_check_write(imsg->data, imsg->len, tok, err,
		    sizeof(err));
		explicit_bzero(tok, sizeof(tok));
		if (rc != 0) {
			kv_write_error(iev, imsg->hdr.peerid, err);
			return;
		}
		if ((rc = acl_write_prepare(imsg->data, imsg->len, &acl_out,
		    err, sizeof(err))) == -1)
			fatalx("catalog: malformed ACL write from %s",
			    iev->name);
		if (rc == 1) {
			kv_write_error(iev, imsg->hdr.peerid, err);
			return;
		}
		idx = cat_propose_raw(&raftd, acl_out.sbuf.data,
		    acl_out.sbuf.size);
		mpack_out_free(&acl_out);
	} else if ((check = write_check_of(op)) != NULL) {
		/* The token is checked, and left out of the log. */
		if (cat_write_token(imsg->data, imsg->len, tok,
		    sizeof(tok)) == -1)
			fatalx("catalog: malformed write from %s", iev->name);
		rc = check(imsg->data, imsg->len, tok, &acl_out, err,
		    sizeof(err));
		explicit_bzero(tok, sizeof(tok));
		if (rc != 0) {
			kv_write_error(iev, imsg->hdr.peerid, err);
			return;
		}
		idx = cat_propose_raw(&raftd, acl_out.sbuf.data,
		    acl_out.sbuf.size);
		mpack_out_free(&acl_out);
	} else
		idx = cat_propose_raw(&raftd, imsg->data, imsg->len);
	if (idx == 0) {
		kv_write_error(iev, imsg->hdr.peerid, raftd.stalled ?
		    NODE_NO_SPACE : "No cluster leader");
		return;
	}
	if ((pw = calloc(1, sizeof(*pw))) == NULL)
		fatal("catalog");
	pw->index = idx;
	pw->iev = iev;
	pw->reqid = imsg->hdr.peerid;
	RB_INSERT(pending_tree, &raftd.pending, pw);
}

/*
 * Apply a committed FSM_CATALOG command: 0 with res telling the writer
 * whether it was done, -1 if the store failed.  A command that does not
 * decode was accepted by a leader that checked it: every server refuses
 * it the same way.
 */
int
cat_apply(struct raftd *r, DB_TXN *txn, uint64_t index,
    const msgpack_object *cmd, struct kv_txn_result *res)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct cat_register	 reg;
	struct cat_deregister	 dereg;
	struct cat_session	 se;
	struct session_effects	 fx = { watch_kv_changed, session_lock_delay,
				    session_gone, r };
	struct cat_pquery	 pq;
	char			 id[CAT_STR_MAX + 1];
	uint64_t		 op;
	int			 rc = 1;

	memset(res, 0, sizeof(*res));
	strlcpy(res->err, "malformed catalog command", sizeof(res->err));
	if (cmd->type != MSGPACK_OBJECT_BIN ||
	    mpack_parse(&u, cmd->via.bin.ptr, cmd->via.bin.size) == -1)
		return 0;
	a = u.data.via.array.ptr;
	if (u.data.type == MSGPACK_OBJECT_ARRAY &&
	    u.data.via.array.size == 2 && mpack_get_uint(&a[0], &op) == 0) {
		if (op == CAT_WRITE_REGISTER &&
		    cat_register_unpack(&a[1], &reg) == 0) {
			rc = cat_state_register(&r->store, txn, index, &reg,
			    res->err, sizeof(res->err));
			if (rc == 0)
				rc = session_state_node_changed(&r->store,
				    txn, index, reg.node.node, &fx);
			cat_register_free(&reg);
		} else if (op == CAT_WRITE_DEREGISTER &&
		    cat_deregister_unpack(&a[1], &dereg) == 0) {
			rc = cat_state_deregister(&r->store, txn, index,
			    &dereg, res->err, sizeof(res->err));
			if (rc == 0)
				rc = session_state_node_changed(&r->store,
				    txn, index, dereg.node, &fx);
			/* The node went: its coordinates with it. */
			if (rc == 0 && (dereg.service_id == NULL ||
			    *dereg.service_id == '\0') &&
			    (dereg.check_id == NULL ||
			    *dereg.check_id == '\0'))
				rc = coord_state_node_gone(&r->store, txn,
				    index, dereg.node);
			cat_deregister_free(&dereg);
		} else if (op == CAT_WRITE_SESSION_CREATE &&
		    cat_session_unpack(&a[1], &se) == 0) {
			rc = session_state_create(&r->store, txn, index, &se,
			    res->err, sizeof(res->err));
			if (rc == 0)
				session_created(&se);
			cat_session_free(&se);
		} else if (op == CAT_WRITE_SESSION_DESTROY &&
		    mpack_copy_str(&a[1], id, sizeof(id)) == 0)
			rc = session_state_destroy(&r->store, txn, index, id,
			    &fx);
		else if (op == CAT_WRITE_PQUERY_DELETE &&
		    mpack_copy_str(&a[1], id, sizeof(id)) == 0)
			rc = query_state_delete(&r->store, txn, index, id);
		else if (op == CAT_WRITE_PQUERY_SET &&
		    a[1].type == MSGPACK_OBJECT_ARRAY &&
		    a[1].via.array.size == 2 &&
		    a[1].via.array.ptr[0].type == MSGPACK_OBJECT_BOOLEAN &&
		    cat_pquery_unpack(&a[1].via.array.ptr[1], &pq) == 0) {
			rc = query_state_set(&r->store, txn, index, &pq,
			    a[1].via.array.ptr[0].via.boolean, res->err,
			    sizeof(res->err));
			cat_pquery_free(&pq);
		}
		else if (op == CAT_WRITE_COORD_BATCH)
			rc = coord_state_batch(&r->store, txn, index, &a[1]);
		else if (op == CAT_WRITE_ACL) {
			rc = acl_state_apply(&r->store, txn, index, &a[1],
			    res->err, sizeof(res->err));
			if (rc == 2)
				rc = 1;
		}
	}
	msgpack_unpacked_destroy(&u);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		res->ok = 1;
		res->err[0] = '\0';
		r->cat_changed = 1;
	}
	return 0;
}
