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

#include "catalog_state.h"
#include "config.h"
#include "log.h"
#include "raftd.h"

#define CAT_WAIT_MAX_MS		(1200u * 1000)
#define CAT_WATCH_MAX		65536

struct cat_read {
	int			 query;		/* enum cat_query */
	char			*arg;
	uint64_t		 min_index;
	uint64_t		 wait_ms;
	int			 consistency;
	uint64_t		 max_stale_ms;
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
	memset(rd, 0, sizeof(*rd));
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
	if (u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 6)
		goto done;
	if (mpack_get_uint(&a[0], &q) == -1 || q >= CAT_Q_MAX ||
	    mpack_copy_str(&a[1], arg, sizeof(arg)) == -1 ||
	    mpack_get_uint(&a[2], &out->min_index) == -1 ||
	    mpack_get_uint(&a[3], &out->wait_ms) == -1 ||
	    out->wait_ms > CAT_WAIT_MAX_MS ||
	    mpack_get_uint(&a[4], &cons) == -1 || cons > KV_CONS_CONSISTENT ||
	    mpack_get_uint(&a[5], &out->max_stale_ms) == -1)
		goto done;
	/* Every query but three names a node, a service or a state. */
	if ((q != CAT_Q_NODES && q != CAT_Q_SERVICES &&
	    q != CAT_Q_INSTANCES) == (arg[0] == '\0'))
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
	case CAT_Q_HEALTH_NODE:
		a = cat_state_index(&raftd.store, "nodes");
		b = cat_state_index(&raftd.store, "checks");
		return a > b ? a : b;
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
};

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

static int
emit_node(void *arg, const struct cat_node *n)
{
	struct mpack_out	 out;

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

static void
cat_answer(struct imsgev *iev, uint32_t reqid, struct cat_read *rd)
{
	struct cat_emit		 e;
	struct cat_node		 n;
	uint64_t		 index = cat_query_index(rd);
	int			 rc = 0, found = 1;

	memset(&e, 0, sizeof(e));
	e.iev = iev;
	e.reqid = reqid;
	switch (rd->query) {
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
	case CAT_Q_NODE:
		if ((rc = cat_state_node(&raftd.store, rd->arg, &n)) == 1) {
			found = 0;
			rc = 0;
			break;
		}
		if (rc == -1)
			break;
		emit_tagged_node(&e, &n);
		cat_node_free(&n);
		rc = cat_state_node_services(&raftd.store, rd->arg,
		    emit_tagged_service, &e);
		break;
	}
	if (rc == -1)
		fatalx("catalog: cannot read the catalog");
	read_end_served(iev, reqid, index, found, NULL, rd->consistency);
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

	if (cat_read_parse(imsg->data, imsg->len, &a) == -1)
		fatalx("catalog: malformed read request from %s", iev->name);
	if (!read_route(iev, imsg, a.consistency, a.max_stale_ms, a.query))
		return;
	memset(&rd, 0, sizeof(rd));
	rd.query = a.query;
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

/* [op, packed record]; -1 if it does not decode. */
int
cat_write_parse(const void *buf, size_t len, int *op)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct cat_register	 reg;
	struct cat_deregister	 dereg;
	uint64_t		 o;
	int			 rc = -1;

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	a = u.data.via.array.ptr;
	if (u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size != 2 || mpack_get_uint(&a[0], &o) == -1)
		goto done;
	if (o == CAT_WRITE_REGISTER && cat_register_unpack(&a[1], &reg) == 0) {
		cat_register_free(&reg);
		rc = 0;
	} else if (o == CAT_WRITE_DEREGISTER &&
	    cat_deregister_unpack(&a[1], &dereg) == 0) {
		cat_deregister_free(&dereg);
		rc = 0;
	}
	*op = (int)o;
 done:
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

void
cat_write_request(struct imsgev *iev, struct imsg *imsg)
{
	struct pending_write	*pw;
	uint64_t		 idx;
	int			 op;

	if (cat_write_parse(imsg->data, imsg->len, &op) == -1)
		fatalx("catalog: malformed write request from %s", iev->name);
	if (forward_request(iev, imsg, 0, -1))
		return;
	if (!node_is_leader(&raftd)) {
		if (hold_request(iev, imsg) == -1)
			kv_write_error(iev, imsg->hdr.peerid,
			    "No cluster leader");
		return;
	}
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
			cat_register_free(&reg);
		} else if (op == CAT_WRITE_DEREGISTER &&
		    cat_deregister_unpack(&a[1], &dereg) == 0) {
			rc = cat_state_deregister(&r->store, txn, index,
			    &dereg, res->err, sizeof(res->err));
			cat_deregister_free(&dereg);
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
