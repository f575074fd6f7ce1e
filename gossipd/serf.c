/*
 * Events, queries and prunes over a gossip pool, as Serf runs them on
 * memberlist, carried in the SWIM core's user messages (serf_codec.h).
 *
 * Events and queries spread as an epidemic: each member passes a message
 * on the first time it sees it and ignores repeats, which it tells by a
 * keyed hash of the message bytes kept in a ring (SEEN_MAX: far more
 * than can be in flight within the few seconds a message circulates).
 * A query's answers go straight back to its origin over UDP (and through
 * relay_factor other members as well, for a lossy path); the origin
 * counts them until every member alive when it asked has answered or
 * its timeout passes, Serf's gossip_interval * 16 * log10(N + 1).
 *
 * The one query there is is the keyring's: list, install, use or remove
 * a key on every member of the pool.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "gossipd.h"
#include "log.h"
#include "mpack.h"
#include "swim_codec.h"

#define SEEN_MAX		4096
#define QUERY_TIMEOUT_MULT	16
#define RELAY_MAX		5
#define KEYRING_QUERY		"_keyring"

struct query {
	TAILQ_ENTRY(query)	 entry;
	struct pool		*pool;
	uint32_t		 qid;
	int			 write;		/* not a list */
	struct op		*op;
	keyring_done_cb		 done;
	struct event		*timer;
	char			**from;		/* who answered */
	size_t			 nfrom;
	struct keyop_result	 res;
	int			 with_wan;	/* a client asks servers */
	struct keyop_result	 wres;		/* their WAN pool */
};

static uint64_t		 seen[SEEN_MAX];
static size_t		 seen_next;
static unsigned char	 seen_key[crypto_shorthash_KEYBYTES];
static int		 seen_keyed;

/* 1 if this pool saw the message before; it is remembered now. */
static int
seen_before(struct pool *p, const void *buf, size_t len)
{
	unsigned char	 h[crypto_shorthash_BYTES];
	uint64_t	 v;
	size_t		 i;

	if (!seen_keyed) {
		randombytes_buf(seen_key, sizeof(seen_key));
		seen_keyed = 1;
	}
	crypto_shorthash(h, buf, len, seen_key);
	memcpy(&v, h, sizeof(v));
	v ^= (uint64_t)p->kind;
	if (v == 0)
		v = 1;
	for (i = 0; i < SEEN_MAX; i++)
		if (seen[i] == v)
			return 1;
	seen[seen_next] = v;
	seen_next = (seen_next + 1) % SEEN_MAX;
	return 0;
}

/* Lamport: a message from time t moves our clock past it. */
static void
witness(struct pool *p, uint64_t t)
{
	if (t >= p->clock && t < UINT64_MAX)
		p->clock = t + 1;
}

static void
pass_on(struct pool *p, const void *buf, size_t len)
{
	if (swim_user_broadcast(p->sw, buf, len, now_ms()) == -1)
		log_debug("gossip: %s: cannot pass a message on", p->label);
}

/* Every event, ours too, goes to raftd, which filters and keeps it. */
static void
event_deliver(const struct serf_msg *m)
{
	struct mpack_out	 out;
	int			 i;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 7);
	mpack_str(&out.pk, m->id);
	mpack_str(&out.pk, m->name);
	if (m->has_payload)
		mpack_bin(&out.pk, m->payload, m->payloadlen);
	else
		msgpack_pack_nil(&out.pk);
	for (i = 0; i < SERF_FILTERS; i++)
		mpack_str(&out.pk, m->filter[i]);
	msgpack_pack_uint64(&out.pk, m->ltime);
	if (imsgev_compose(&gossipd_child.peers[PROC_RAFTD], IMSG_USER_EVENT,
	    0, -1, out.sbuf.data, out.sbuf.size) == -1)
		fatal("gossip: compose");
	mpack_out_free(&out);
}

int
serf_event_fire(struct pool *p, const char *id, const char *name,
    const void *payload, size_t len, int has_payload,
    const char *const *filters, char *err, size_t errlen)
{
	struct serf_msg	 m;
	unsigned char	 buf[SWIM_USER_MAX];
	size_t		 n;
	int		 i;

	memset(&m, 0, sizeof(m));
	m.type = SERF_EVENT;
	m.ltime = p->clock;
	if (strlcpy(m.id, id, sizeof(m.id)) >= sizeof(m.id) ||
	    strlcpy(m.name, name, sizeof(m.name)) >= sizeof(m.name)) {
		snprintf(err, errlen, "User event name or ID too long");
		return -1;
	}
	for (i = 0; i < SERF_FILTERS; i++)
		if (strlcpy(m.filter[i], filters[i], sizeof(m.filter[i])) >=
		    sizeof(m.filter[i])) {
			snprintf(err, errlen, "User event filter too long");
			return -1;
		}
	m.payload = payload;
	m.payloadlen = len;
	m.has_payload = has_payload;
	if (serf_msg_pack(&m, buf, sizeof(buf), &n) == -1) {
		snprintf(err, errlen, "User event exceeds sane size limit");
		return -1;
	}
	if (swim_user_broadcast(p->sw, buf, n, now_ms()) == -1) {
		snprintf(err, errlen, "the agent is leaving");
		return -1;
	}
	p->clock++;
	(void)seen_before(p, buf, n);
	event_deliver(&m);
	pool_flush(p);
	return 0;
}

int
serf_prune(struct pool *p, const char *node)
{
	struct serf_msg	 m;
	unsigned char	 buf[SWIM_USER_MAX];
	size_t		 n;

	memset(&m, 0, sizeof(m));
	m.type = SERF_PRUNE;
	m.ltime = p->clock++;
	strlcpy(m.node, node, sizeof(m.node));
	if (serf_msg_pack(&m, buf, sizeof(buf), &n) == -1 ||
	    swim_prune(p->sw, node, now_ms()) == -1)
		return -1;
	(void)seen_before(p, buf, n);
	pass_on(p, buf, n);
	pool_flush(p);
	return 0;
}

/* Keyring queries. */

void
keyop_result_free(struct keyop_result *r)
{
	free(r->keys);
	free(r->msgs);
	r->keys = NULL;
	r->msgs = NULL;
	r->nkeys = r->nmsgs = 0;
}

static void
result_msg(struct keyop_result *r, const char *node, const char *msg)
{
	struct node_msg	*nm;

	nm = reallocarray(r->msgs, r->nmsgs + 1, sizeof(*r->msgs));
	if (nm == NULL)
		fatal("gossip");
	r->msgs = nm;
	nm = &r->msgs[r->nmsgs++];
	strlcpy(nm->node, node, sizeof(nm->node));
	strlcpy(nm->msg, msg, sizeof(nm->msg));
}

static void
result_key(struct keyop_result *r, const char *key, int primary)
{
	struct key_count	*k;
	size_t			 i;

	for (i = 0; i < r->nkeys; i++)
		if (strcmp(r->keys[i].key, key) == 0)
			break;
	if (i == r->nkeys) {
		k = reallocarray(r->keys, r->nkeys + 1, sizeof(*r->keys));
		if (k == NULL)
			fatal("gossip");
		r->keys = k;
		memset(&k[i], 0, sizeof(k[i]));
		strlcpy(k[i].key, key, sizeof(k[i].key));
		r->nkeys++;
	}
	if (primary)
		r->keys[i].primary++;
	else
		r->keys[i].n++;
}

static void
query_free(struct query *q)
{
	size_t	 i;

	TAILQ_REMOVE(&q->pool->queries, q, entry);
	if (q->timer != NULL)
		event_free(q->timer);
	for (i = 0; i < q->nfrom; i++)
		free(q->from[i]);
	free(q->from);
	keyop_result_free(&q->res);
	keyop_result_free(&q->wres);
	free(q);
}

/* The answers are in, or the time is up: hand them over. */
static void
query_finish(struct query *q)
{
	struct keyop_result	 res[2];
	struct op		*op = q->op;
	keyring_done_cb		 done = q->done;
	int			 i, n = q->with_wan ? 2 : 1;

	res[0] = q->res;
	res[1] = q->wres;
	for (i = 0; i < n; i++) {
		if (res[i].num_resp >= res[i].num_nodes)
			continue;
		log_info("gossip: %s: keyring query answered by %zu of %zu "
		    "members", i == 0 ? q->pool->label : "wan (via lan)",
		    res[i].num_resp, res[i].num_nodes);
		if (q->write)
			res[i].num_err += res[i].num_nodes - res[i].num_resp;
	}
	/* The results' arrays go to the callback. */
	memset(&q->res, 0, sizeof(q->res));
	memset(&q->wres, 0, sizeof(q->wres));
	query_free(q);
	for (i = 0; i < n; i++) {
		done(op, &res[i]);
		keyop_result_free(&res[i]);
	}
}

static void
query_timeout(evutil_socket_t fd, short events, void *arg)
{
	query_finish(arg);
}

/* A pool's part of an answer, [error, [keys...], primary], counted. */
static int
result_add(struct keyop_result *r, const char *node,
    const msgpack_object *o)
{
	const msgpack_object	*a = o->via.array.ptr;
	char			 key[KEYRING_B64_MAX], primary[KEYRING_B64_MAX];
	char			 err[128];
	uint32_t		 i;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3 ||
	    mpack_copy_str(&a[0], err, sizeof(err)) == -1 ||
	    a[1].type != MSGPACK_OBJECT_ARRAY ||
	    a[1].via.array.size > KEYRING_KEYS_MAX ||
	    mpack_copy_str(&a[2], primary, sizeof(primary)) == -1)
		return -1;
	for (i = 0; i < a[1].via.array.size; i++)
		if (mpack_copy_str(&a[1].via.array.ptr[i], key,
		    sizeof(key)) == -1 || key[0] == '\0')
			return -1;
	r->num_resp++;
	if (err[0] != '\0') {
		r->num_err++;
		result_msg(r, node, err);
	}
	for (i = 0; i < a[1].via.array.size; i++) {
		(void)mpack_copy_str(&a[1].via.array.ptr[i], key, sizeof(key));
		result_key(r, key, 0);
	}
	if (primary[0] != '\0')
		result_key(r, primary, 1);
	return 0;
}

/*
 * One member's answer: its pool's part, then, when the query asked a
 * client's LAN pool to reach the WAN too, a server's WAN part.
 */
static void
query_answer(struct query *q, const char *node, const void *buf, size_t len)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	char			**from;
	size_t			 i;

	for (i = 0; i < q->nfrom; i++)
		if (strcmp(q->from[i], node) == 0)
			return;		/* relayed, or repeated */
	if (mpack_parse(&u, buf, len) == -1)
		return;
	a = u.data.via.array.ptr;
	if (u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size < 1 || result_add(&q->res, node, &a[0]) == -1)
		goto done;
	if (q->with_wan && u.data.via.array.size >= 2)
		(void)result_add(&q->wres, node, &a[1]);
	from = reallocarray(q->from, q->nfrom + 1, sizeof(*q->from));
	if (from == NULL || (from[q->nfrom] = strdup(node)) == NULL)
		fatal("gossip");
	q->from = from;
	q->nfrom++;
 done:
	msgpack_unpacked_destroy(&u);
	if (q->res.num_resp >= q->res.num_nodes &&
	    q->wres.num_resp >= q->wres.num_nodes)
		query_finish(q);
}

/* Do a keyring operation here; "" or why it failed. */
static const char *
keyring_apply(struct pool *p, const char *action, const char *key)
{
	char		 k[KEYRING_B64_MAX];
	const char	*err = "";

	if (p->kr == NULL)
		return "Gossip encryption is not enabled on this agent";
	if (strcmp(action, "install") == 0) {
		if (keyring_install(p->kr, key) != KEYRING_OK)
			return "Invalid key, or the keyring is full";
	} else if (strcmp(action, "use") == 0) {
		if (keyring_use(p->kr, key) != KEYRING_OK)
			return "Requested key is not in the keyring";
	} else if (strcmp(action, "remove") == 0) {
		if (keyring_count(p->kr) > 0 &&
		    keyring_key(p->kr, 0, k, sizeof(k)) == 0 &&
		    strcmp(k, key) == 0)
			return "Removing the primary key is not allowed";
		if (keyring_remove(p->kr, key) != KEYRING_OK)
			return "Requested key is not in the keyring";
	} else if (strcmp(action, "list") == 0)
		return err;
	else
		return "Unknown keyring operation";
	keyring_changed(p);
	return err;
}

/* [error, [keys...], primary]; no keys when there was an error. */
static void
keyring_pack(msgpack_packer *pk, struct pool *p, const char *err)
{
	char	 k[KEYRING_B64_MAX];
	size_t	 i, n = 0;

	if (p->kr != NULL && *err == '\0')
		n = keyring_count(p->kr);
	msgpack_pack_array(pk, 3);
	mpack_str(pk, err);
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		mpack_str(pk, keyring_key(p->kr, i, k, sizeof(k)) == 0 ? k : "?");
	if (n > 0 && keyring_key(p->kr, 0, k, sizeof(k)) == 0)
		mpack_str(pk, k);
	else
		mpack_str(pk, "");
}

/* The answer to a keyring query, for this pool and maybe our WAN too. */
static size_t
keyring_local(struct pool *p, const char *action, const char *key,
    int with_wan, unsigned char *buf, size_t cap)
{
	struct swim_wbuf	 w;
	msgpack_packer		 pk;
	struct pool		*wan = &pools[POOL_WAN];
	const char		*err, *werr = NULL;

	err = keyring_apply(p, action, key);
	if (with_wan && p->kind == POOL_LAN && wan->sw != NULL)
		werr = keyring_apply(wan, action, key);
	swim_wbuf_init(&w, &pk, buf, cap);
	msgpack_pack_array(&pk, werr != NULL ? 2 : 1);
	keyring_pack(&pk, p, err);
	if (werr != NULL)
		keyring_pack(&pk, wan, werr);
	if (!w.overflow)
		return w.len;
	/* More keys than fit in a packet: say so instead. */
	err = "Too many keys to report in one answer";
	swim_wbuf_init(&w, &pk, buf, cap);
	msgpack_pack_array(&pk, 1);
	keyring_pack(&pk, p, err);
	return w.len;
}

static void
answer_send(struct pool *p, const struct serf_msg *q, const void *resp,
    size_t resplen, unsigned int relay)
{
	struct serf_msg		 m;
	struct swim_member_info	 info;
	unsigned char		 buf[SWIM_USER_MAX], rbuf[SWIM_USER_MAX];
	size_t			 n, rn, i, count, start, sent = 0;

	memset(&m, 0, sizeof(m));
	m.type = SERF_RESPONSE;
	m.ltime = p->clock;
	m.qid = q->qid;
	strlcpy(m.node, swim_self_name(p->sw), sizeof(m.node));
	m.payload = resp;
	m.payloadlen = resplen;
	if (serf_msg_pack(&m, buf, sizeof(buf), &n) == -1)
		return;
	(void)swim_user_send(p->sw, &q->addr, buf, n, now_ms());
	/* The same answer through a few others, when asked. */
	memset(&m, 0, sizeof(m));
	m.type = SERF_RELAY;
	m.addr = q->addr;
	m.payload = buf;
	m.payloadlen = n;
	if (relay == 0 || serf_msg_pack(&m, rbuf, sizeof(rbuf), &rn) == -1)
		return;
	count = swim_member_count(p->sw);
	start = count > 0 ? arc4random_uniform(count) : 0;
	for (i = 0; i < count && sent < relay; i++) {
		if (swim_member_at(p->sw, (start + i) % count, &info) == -1 ||
		    info.status != SWIM_ALIVE ||
		    strcmp(info.name, swim_self_name(p->sw)) == 0 ||
		    strcmp(info.name, q->node) == 0)
			continue;
		(void)swim_user_send(p->sw, &info.addr, rbuf, rn, now_ms());
		sent++;
	}
}

static struct query *
query_find(struct pool *p, uint32_t qid)
{
	struct query	*q;

	TAILQ_FOREACH(q, &p->queries, entry)
		if (q->qid == qid)
			return q;
	return NULL;
}

/*
 * A query reached us: [action, key, relay_factor, with_wan] for the
 * keyring.  with_wan: a client asks, which is in no WAN pool; a server
 * does the same to its WAN keyring and answers for both.  (Consul's
 * clients ask a server over RPC, which reaches every datacenter.)
 */
static void
query_handle(struct pool *p, const struct serf_msg *m)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	unsigned char		 resp[SWIM_USER_MAX];
	char			 action[16], key[KEYRING_B64_MAX];
	struct query		*q;
	size_t			 n;
	uint64_t		 relay;
	int			 with_wan = 0;

	if (strcmp(m->name, KEYRING_QUERY) != 0) {
		log_debug("gossip: %s: unknown query %s", p->label, m->name);
		return;
	}
	if (mpack_parse(&u, m->payload, m->payloadlen) == -1)
		return;
	a = u.data.via.array.ptr;
	if (u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size < 3 ||
	    mpack_copy_str(&a[0], action, sizeof(action)) == -1 ||
	    mpack_copy_str(&a[1], key, sizeof(key)) == -1 ||
	    mpack_get_uint(&a[2], &relay) == -1 || relay > RELAY_MAX ||
	    (u.data.via.array.size > 3 &&
	    mpack_get_bool(&a[3], &with_wan) == -1)) {
		msgpack_unpacked_destroy(&u);
		return;
	}
	msgpack_unpacked_destroy(&u);

	log_info("gossip: %s: keyring %s asked by %s", p->label, action,
	    m->node);
	n = keyring_local(p, action, key, with_wan, resp, sizeof(resp));
	if (strcmp(m->node, swim_self_name(p->sw)) == 0) {
		if ((q = query_find(p, m->qid)) != NULL)
			query_answer(q, m->node, resp, n);
		return;
	}
	answer_send(p, m, resp, n, (unsigned int)relay);
}

/* The servers a client's keyring query reaches through the LAN. */
static size_t
alive_servers(struct pool *p)
{
	struct swim_member_info	 m;
	const char		*role;
	size_t			 i, n = 0;

	for (i = 0; i < swim_member_count(p->sw); i++) {
		if (swim_member_at(p->sw, i, &m) == -1 ||
		    m.status != SWIM_ALIVE)
			continue;
		role = swim_tag_get(m.tags, m.tagslen, "role");
		if (role != NULL && strcmp(role, "consul") == 0)
			n++;
	}
	return n;
}

void
serf_keyring_query(struct pool *p, const char *action, const char *key,
    unsigned int relay, struct op *op, keyring_done_cb done)
{
	struct swim_options	 o;
	struct swim_stats	 st;
	struct serf_msg		 m;
	struct query		*q;
	struct swim_wbuf	 w;
	msgpack_packer		 pk;
	struct timeval		 tv;
	unsigned char		 payload[128], buf[SWIM_USER_MAX];
	uint64_t		 timeout, digits, n;
	size_t			 len;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("gossip");
	q->pool = p;
	q->op = op;
	q->done = done;
	q->res.pool = p;
	q->write = strcmp(action, "list") != 0;
	q->with_wan = p->kind == POOL_LAN && pools[POOL_WAN].sw == NULL;
	q->wres.pool = &pools[POOL_WAN];
	TAILQ_INSERT_TAIL(&p->queries, q, entry);
	if (p->kr == NULL) {
		snprintf(q->res.error, sizeof(q->res.error), "Gossip "
		    "encryption is not enabled on this agent (%s pool)",
		    p->label);
		strlcpy(q->wres.error, q->res.error, sizeof(q->wres.error));
		query_finish(q);
		return;
	}
	swim_stats(p->sw, &st);
	q->res.num_nodes = st.alive;
	if (q->with_wan)
		q->wres.num_nodes = alive_servers(p);
	do {
		q->qid = ++p->next_qid;
	} while (q->qid == 0 || query_find(p, q->qid) != q);

	swim_wbuf_init(&w, &pk, payload, sizeof(payload));
	msgpack_pack_array(&pk, 4);
	mpack_str(&pk, action);
	mpack_str(&pk, key);
	msgpack_pack_uint32(&pk, relay);
	if (q->with_wan)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	memset(&m, 0, sizeof(m));
	m.type = SERF_QUERY;
	m.ltime = p->clock++;
	m.qid = q->qid;
	strlcpy(m.node, swim_self_name(p->sw), sizeof(m.node));
	if (addr_parse(gossipd_child.conf->advertise_addr, 0, &m.addr) == -1)
		fatalx("gossip: advertise address is not an IP address");
	m.addr.port = p->kind == POOL_LAN ?
	    gossipd_child.conf->ports.serf_lan :
	    gossipd_child.conf->ports.serf_wan;
	strlcpy(m.name, KEYRING_QUERY, sizeof(m.name));
	m.payload = payload;
	m.payloadlen = w.len;
	if (p->kind == POOL_LAN)
		swim_options_lan(&o);
	else
		swim_options_wan(&o);
	for (digits = 1, n = st.alive + 1; n >= 10; n /= 10)
		digits++;
	timeout = o.gossip_interval * QUERY_TIMEOUT_MULT * digits;
	m.timeout_ms = (uint32_t)timeout;
	if (w.overflow || serf_msg_pack(&m, buf, sizeof(buf), &len) == -1 ||
	    swim_user_broadcast(p->sw, buf, len, now_ms()) == -1) {
		snprintf(q->res.error, sizeof(q->res.error), "cannot ask the "
		    "%s pool: the agent is leaving", p->label);
		query_finish(q);
		return;
	}
	(void)seen_before(p, buf, len);
	tv.tv_sec = timeout / 1000;
	tv.tv_usec = (timeout % 1000) * 1000;
	if ((q->timer = evtimer_new(gossipd_child.base, query_timeout,
	    q)) == NULL || evtimer_add(q->timer, &tv) == -1)
		fatalx("gossip: evtimer");
	/* We are a member too: answer our own query. */
	query_handle(p, &m);
	pool_flush(p);
}

void
serf_recv(struct pool *p, const struct swim_addr *from, const void *buf,
    size_t len)
{
	msgpack_unpacked	 u;
	struct serf_msg		 m;
	struct query		*q;

	if (serf_msg_unpack(&u, buf, len, &m) == -1) {
		log_debug("gossip: %s: malformed user message", p->label);
		return;
	}
	switch (m.type) {
	case SERF_EVENT:
		if (seen_before(p, buf, len))
			break;
		witness(p, m.ltime);
		pass_on(p, buf, len);
		event_deliver(&m);
		break;
	case SERF_QUERY:
		if (seen_before(p, buf, len))
			break;
		witness(p, m.ltime);
		pass_on(p, buf, len);
		query_handle(p, &m);
		break;
	case SERF_RESPONSE:
		witness(p, m.ltime);
		if ((q = query_find(p, m.qid)) != NULL)
			query_answer(q, m.node, m.payload, m.payloadlen);
		break;
	case SERF_RELAY:
		/* Only answers are relayed, to keep this from being used
		 * to bounce anything else anywhere. */
		if (m.payloadlen > 1 &&
		    ((const unsigned char *)m.payload)[0] == 0x95 &&
		    ((const unsigned char *)m.payload)[1] == SERF_RESPONSE)
			(void)swim_user_send(p->sw, &m.addr, m.payload,
			    m.payloadlen, now_ms());
		break;
	case SERF_PRUNE:
		if (seen_before(p, buf, len))
			break;
		witness(p, m.ltime);
		pass_on(p, buf, len);
		if (swim_prune(p->sw, m.node, now_ms()) == 0)
			log_info("gossip: %s: %s pruned", p->label, m.node);
		break;
	}
	msgpack_unpacked_destroy(&u);
}
