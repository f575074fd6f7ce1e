/*
 * What the HTTP API asks of gossip, relayed by raftd (IMSG_GOSSIP_REQ,
 * see imsg_types.h for the encodings): join an address, leave, force a
 * failed member out, fire a user event, and keyring operations.  Each
 * is answered with one IMSG_GOSSIP_RESULT, at once or when the network
 * has said how it went.  The parent asks for a leave on shutdown.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gossipd.h"
#include "log.h"
#include "mpack.h"

enum op_kind {
	OP_JOIN,
	OP_LEAVE,
	OP_KEYRING
};

struct op {
	TAILQ_ENTRY(op)		 entry;
	enum op_kind		 kind;
	uint32_t		 req;		/* apid's, as peerid */
	int			 starting;	/* still being set up */
	int			 pending;	/* answers awaited */
	/* join */
	char			 addr[64];
	int			 joined;
	/* keyring */
	int			 write;
	struct keyop_result	 res[POOL_MAX];
};

static TAILQ_HEAD(, op)	 ops = TAILQ_HEAD_INITIALIZER(ops);
static int		 left_told;	/* the parent knows */

static struct op *
op_new(enum op_kind kind, uint32_t req)
{
	struct op	*op;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		fatal("gossip");
	op->kind = kind;
	op->req = req;
	op->starting = 1;
	TAILQ_INSERT_TAIL(&ops, op, entry);
	return op;
}

static void
op_free(struct op *op)
{
	int	 i;

	TAILQ_REMOVE(&ops, op, entry);
	for (i = 0; i < POOL_MAX; i++)
		keyop_result_free(&op->res[i]);
	free(op);
}

static void
result_send(uint32_t req, struct mpack_out *out)
{
	if (imsgev_compose(&gossipd_child.peers[PROC_RAFTD],
	    IMSG_GOSSIP_RESULT, req, -1, out->sbuf.data, out->sbuf.size) == -1)
		fatal("gossip: compose");
	mpack_out_free(out);
}

/* {"error": err}, and "bad": true for the caller's mistakes. */
static void
reply_error(uint32_t req, const char *err, int bad)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, bad ? 2 : 1);
	mpack_kv_str(&out.pk, "error", err);
	if (bad)
		mpack_kv_bool(&out.pk, "bad", 1);
	result_send(req, &out);
}

static struct pool *
pool_of(int wan, uint32_t req)
{
	struct pool	*p = &pools[wan ? POOL_WAN : POOL_LAN];

	if (p->sw == NULL) {
		reply_error(req, wan ? "The WAN pool exists on servers only" :
		    "The agent is not serving gossip yet", 1);
		return NULL;
	}
	if (p->left) {
		reply_error(req, "The agent has left", 0);
		return NULL;
	}
	return p;
}

/* Join. */

static void
join_reply(struct op *op)
{
	struct mpack_out	 out;
	char			 err[160];

	if (op->joined)
		err[0] = '\0';
	else
		snprintf(err, sizeof(err), "Failed to join %s: no answer "
		    "to the state exchange", op->addr);
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 2);
	mpack_kv_uint(&out.pk, "n", op->joined ? 1 : 0);
	mpack_kv_str(&out.pk, "error", err);
	result_send(op->req, &out);
	op_free(op);
}

/* The push-pull of a join was answered (ok) or failed. */
void
ops_join_done(struct op *op, int ok)
{
	op->joined = ok;
	op->pending = 0;
	if (!op->starting)
		join_reply(op);
}

static void
op_join(uint32_t req, const char *addr, int wan)
{
	struct swim_addr	 a;
	struct pool		*p;
	struct op		*op;
	char			 err[160];

	if ((p = pool_of(wan, req)) == NULL)
		return;
	if (addr_parse(addr, wan ? 8302 : 8301, &a) == -1) {
		snprintf(err, sizeof(err), "Failed to join %s: an IP address "
		    "is needed, host names are not resolved", addr);
		reply_error(req, err, 1);
		return;
	}
	op = op_new(OP_JOIN, req);
	strlcpy(op->addr, addr, sizeof(op->addr));
	op->pending = 1;
	p->joining = op;
	if (swim_join(p->sw, &a, 1, now_ms()) == -1)
		op->pending = 0;
	pool_flush(p);
	op->starting = 0;
	if (p->joining == op) {		/* no exchange was started */
		p->joining = NULL;
		op->pending = 0;
	}
	if (op->pending == 0)
		join_reply(op);
}

/* Leave. */

static int
all_left(void)
{
	int	 i;

	for (i = 0; i < POOL_MAX; i++)
		if (pools[i].sw != NULL && !pools[i].left)
			return 0;
	return 1;
}

/* Once every pool is left, answer the leaves and tell the parent. */
static void
leave_check(void)
{
	struct op	*op, *next;

	if (!all_left())
		return;
	for (op = TAILQ_FIRST(&ops); op != NULL; op = next) {
		next = TAILQ_NEXT(op, entry);
		if (op->kind != OP_LEAVE || op->starting)
			continue;
		reply_error(op->req, "", 0);
		op_free(op);
	}
	if (!left_told) {
		left_told = 1;
		if (imsgev_compose(&gossipd_child.parent, IMSG_CTL_LEFT, 0, -1,
		    NULL, 0) == -1)
			fatal("gossip: compose");
	}
}

void
ops_pool_left(struct pool *p)
{
	log_info("gossip: %s: left the pool", p->label);
	leave_check();
}

/* Leave every pool; req 0: the parent asked. */
static void
op_leave(uint32_t req)
{
	struct op	*op = NULL;
	int		 i;

	if (req != 0)
		op = op_new(OP_LEAVE, req);
	log_info("gossip: leaving gracefully");
	for (i = 0; i < POOL_MAX; i++) {
		if (pools[i].sw == NULL || pools[i].left)
			continue;
		if (swim_leave(pools[i].sw, now_ms()) == 0)
			pool_flush(&pools[i]);
	}
	if (op != NULL)
		op->starting = 0;
	/* Nothing to leave, or done at once (no one else there). */
	leave_check();
}

void
ops_leave(void)
{
	op_leave(0);
}

/* Force-leave. */

static void
op_force_leave(uint32_t req, const char *node, int prune, int wan)
{
	struct swim_member_info	 m;
	struct pool		*p;
	char			 err[SWIM_NAME_MAX + 64];

	if ((p = pool_of(wan, req)) == NULL)
		return;
	if (swim_member_get(p->sw, node, &m) == -1) {
		snprintf(err, sizeof(err), "agent: No node found with name "
		    "'%s'", node);
		reply_error(req, err, 0);
		return;
	}
	/* An alive member would refute it at once: as Serf, a no-op. */
	if (m.status == SWIM_FAILED) {
		log_info("gossip: %s: forcing %s out", p->label, node);
		(void)swim_force_leave(p->sw, node, now_ms());
		pool_flush(p);
	}
	if (prune && m.status != SWIM_ALIVE && serf_prune(p, node) == 0)
		log_info("gossip: %s: %s pruned", p->label, node);
	reply_error(req, "", 0);
}

/* Events. */

static void
op_event(uint32_t req, const msgpack_object *o)
{
	const msgpack_object	*pl;
	const char		*filters[SERF_FILTERS];
	char			*id = NULL, *name = NULL, *f[SERF_FILTERS];
	char			 err[128];
	struct pool		*p;
	int			 i;

	memset(f, 0, sizeof(f));
	pl = mpack_map_get(o, "payload");
	if (mpack_map_str(o, "id", &id) == -1 || id == NULL ||
	    mpack_map_str(o, "name", &name) == -1 || name == NULL ||
	    mpack_map_str(o, "node", &f[0]) == -1 ||
	    mpack_map_str(o, "service", &f[1]) == -1 ||
	    mpack_map_str(o, "tag", &f[2]) == -1 || pl == NULL ||
	    (pl->type != MSGPACK_OBJECT_NIL && pl->type != MSGPACK_OBJECT_BIN))
		fatalx("gossip: malformed event request");
	for (i = 0; i < SERF_FILTERS; i++)
		filters[i] = f[i] != NULL ? f[i] : "";
	if ((p = pool_of(0, req)) != NULL) {
		err[0] = '\0';
		(void)serf_event_fire(p, id, name,
		    pl->type == MSGPACK_OBJECT_BIN ? pl->via.bin.ptr : NULL,
		    pl->type == MSGPACK_OBJECT_BIN ? pl->via.bin.size : 0,
		    pl->type == MSGPACK_OBJECT_BIN, filters, err, sizeof(err));
		reply_error(req, err, 0);
	}
	free(id);
	free(name);
	for (i = 0; i < SERF_FILTERS; i++)
		free(f[i]);
}

/* Keyring. */

static void
pack_counts(msgpack_packer *pk, const char *name,
    const struct keyop_result *r, int primary)
{
	size_t	 i, n = 0;

	for (i = 0; i < r->nkeys; i++)
		if ((primary ? r->keys[i].primary : r->keys[i].n) > 0)
			n++;
	mpack_str(pk, name);
	msgpack_pack_map(pk, n);
	for (i = 0; i < r->nkeys; i++) {
		if ((primary ? r->keys[i].primary : r->keys[i].n) == 0)
			continue;
		mpack_str(pk, r->keys[i].key);
		msgpack_pack_uint64(pk, primary ? r->keys[i].primary :
		    r->keys[i].n);
	}
}

static void
keyring_reply(struct op *op)
{
	struct mpack_out	 out;
	struct keyop_result	*r;
	char			 err[256] = "", perr[160];
	const int		 order[POOL_MAX] = { POOL_WAN, POOL_LAN };
	size_t			 i, n = 0;
	int			 k;

	for (k = 0; k < POOL_MAX; k++)
		if (op->res[k].pool != NULL)
			n++;
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 2);
	mpack_str(&out.pk, "pools");
	msgpack_pack_array(&out.pk, n);
	for (k = 0; k < POOL_MAX; k++) {
		r = &op->res[order[k]];
		if (r->pool == NULL)
			continue;
		if (r->error[0] != '\0')
			strlcpy(perr, r->error, sizeof(perr));
		else if (r->num_err > 0)
			snprintf(perr, sizeof(perr), "%zu/%zu nodes reported "
			    "failure", r->num_err, r->num_nodes);
		else
			perr[0] = '\0';
		if (perr[0] != '\0' && (op->write || r->error[0] != '\0') &&
		    err[0] == '\0')
			snprintf(err, sizeof(err), "%s: %s", r->pool->kind ==
			    POOL_WAN ? "WAN" : "LAN", perr);
		msgpack_pack_map(&out.pk, 9);
		mpack_kv_bool(&out.pk, "wan", r->pool->kind == POOL_WAN);
		mpack_kv_str(&out.pk, "dc", gossipd_child.conf->datacenter);
		pack_counts(&out.pk, "keys", r, 0);
		pack_counts(&out.pk, "primary", r, 1);
		mpack_kv_uint(&out.pk, "num_nodes", r->num_nodes);
		mpack_kv_uint(&out.pk, "num_resp", r->num_resp);
		mpack_kv_uint(&out.pk, "num_err", r->num_err);
		mpack_str(&out.pk, "messages");
		msgpack_pack_map(&out.pk, r->nmsgs);
		for (i = 0; i < r->nmsgs; i++)
			mpack_kv_str(&out.pk, r->msgs[i].node, r->msgs[i].msg);
		mpack_kv_str(&out.pk, "error", perr);
	}
	mpack_kv_str(&out.pk, "error", err);
	result_send(op->req, &out);
	op_free(op);
}

static void
keyring_done(struct op *op, struct keyop_result *r)
{
	struct keyop_result	*slot = &op->res[r->pool->kind];

	*slot = *r;
	/* The arrays are ours now. */
	r->keys = NULL;
	r->msgs = NULL;
	r->nkeys = r->nmsgs = 0;
	if (--op->pending == 0 && !op->starting)
		keyring_reply(op);
}

/* -local-only: this agent's own keyrings, no query. */
static void
keyring_local_result(struct pool *p, struct keyop_result *r)
{
	struct key_count	*k;
	size_t			 i, n;

	memset(r, 0, sizeof(*r));
	r->pool = p;
	r->num_nodes = r->num_resp = 1;
	if (p->kr == NULL) {
		snprintf(r->error, sizeof(r->error), "Gossip encryption is "
		    "not enabled on this agent (%s pool)", p->label);
		return;
	}
	n = keyring_count(p->kr);
	if ((r->keys = calloc(n ? n : 1, sizeof(*r->keys))) == NULL)
		fatal("gossip");
	for (i = 0; i < n; i++) {
		k = &r->keys[r->nkeys];
		if (keyring_key(p->kr, i, k->key, sizeof(k->key)) == -1)
			continue;
		k->n = 1;
		k->primary = i == 0;
		r->nkeys++;
	}
}

static void
op_keyring(uint32_t req, const msgpack_object *o)
{
	struct op	*op;
	char		*action = NULL, *key = NULL;
	uint64_t	 relay = 0;
	int		 local = 0, i;

	if (mpack_map_str(o, "action", &action) == -1 || action == NULL ||
	    mpack_map_str(o, "key", &key) == -1 ||
	    (mpack_map_get(o, "local_only") != NULL &&
	    mpack_map_bool(o, "local_only", &local) == -1) ||
	    (mpack_map_get(o, "relay_factor") != NULL &&
	    mpack_map_uint(o, "relay_factor", &relay) == -1))
		fatalx("gossip: malformed keyring request");
	if (relay > 5)
		relay = 5;
	if (pool_of(0, req) == NULL)
		goto done;
	op = op_new(OP_KEYRING, req);
	op->write = strcmp(action, "list") != 0;
	/* A client's LAN query brings the servers' WAN answers too. */
	for (i = 0; i < POOL_MAX; i++)
		if (pools[i].sw != NULL || (local == 0 || op->write))
			op->pending++;
	for (i = 0; i < POOL_MAX; i++) {
		if (pools[i].sw == NULL)
			continue;
		if (local && !op->write) {
			keyring_local_result(&pools[i], &op->res[i]);
			op->pending--;
		} else
			serf_keyring_query(&pools[i], action,
			    key != NULL ? key : "", (unsigned int)relay, op,
			    keyring_done);
	}
	op->starting = 0;
	if (op->pending == 0)
		keyring_reply(op);
 done:
	free(action);
	free(key);
}

void
ops_request(struct imsgev *iev, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*o;
	char			*op = NULL, *s = NULL;
	uint32_t		 req = imsg->hdr.peerid;
	int			 wan = 0, prune = 0;

	if (imsg->len == 0 || imsg->len > IMSG_GOSSIP_MAX ||
	    mpack_parse(&u, imsg->data, imsg->len) == -1)
		fatalx("gossip: malformed request from %s", iev->name);
	o = &u.data;
	if (o->type != MSGPACK_OBJECT_MAP ||
	    mpack_map_str(o, "op", &op) == -1 || op == NULL ||
	    (mpack_map_get(o, "wan") != NULL &&
	    mpack_map_bool(o, "wan", &wan) == -1) ||
	    (mpack_map_get(o, "prune") != NULL &&
	    mpack_map_bool(o, "prune", &prune) == -1))
		fatalx("gossip: malformed request from %s", iev->name);
	if (strcmp(op, "join") == 0) {
		if (mpack_map_str(o, "addr", &s) == -1 || s == NULL)
			fatalx("gossip: join without an address");
		op_join(req, s, wan);
	} else if (strcmp(op, "leave") == 0)
		op_leave(req);
	else if (strcmp(op, "force-leave") == 0) {
		if (mpack_map_str(o, "node", &s) == -1 || s == NULL)
			fatalx("gossip: force-leave without a node");
		op_force_leave(req, s, prune, wan);
	} else if (strcmp(op, "event") == 0)
		op_event(req, o);
	else if (strcmp(op, "keyring") == 0)
		op_keyring(req, o);
	else
		fatalx("gossip: unknown operation \"%s\" from %s", op,
		    iev->name);
	free(op);
	free(s);
	msgpack_unpacked_destroy(&u);
}
