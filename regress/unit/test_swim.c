/*
 * The SWIM core driven by a simulated network in one process: up to
 * SIM_MAX members, each a real core with its own keyring, and a discrete
 * event simulation (one priority queue of packet deliveries and timer
 * ticks, in virtual milliseconds) that can lose packets, partition the
 * members and crash or restart them, all from one seed.  Every run is
 * deterministic: SWIM_SEED=<n> replays a run with another seed and
 * SWIM_TRACE=1 prints every member event.  A failing check prints the
 * replay line.
 *
 * The core is compiled into the test (it is not in libcommon).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "../../gossipd/keyring.c"
#include "../../gossipd/swim_codec.c"
#include "../../gossipd/swim.c"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define SIM_MAX		64
#define SIM_PORT	8301
#define SIM_STEP	100		/* ms between condition checks */
/*
 * How long gossip plus push-pull may take to reach every member: an
 * epidemic misses a member now and then (about once in a thousand per
 * member and message at these sizes), and push-pull repairs it within
 * an interval (60 s at 50 members).
 */
#define SIM_REPAIR	90000

enum sim_ev_kind {
	EV_TICK,
	EV_PACKET,
	EV_STREAM,		/* a push-pull arriving at `to` */
	EV_REPLY		/* its reply arriving back at `to` */
};

struct sim_ev {
	uint64_t		 at;
	uint64_t		 seq;
	enum sim_ev_kind	 kind;
	int			 to;
	int			 from;
	unsigned char		*data;
	size_t			 len;
};

struct sim_node {
	struct swim		*sw;
	struct keyring		*kr;
	char			 name[32];
	struct swim_addr	 addr;
	int			 up;
	int			 side;
	int			 deaf;		/* hears nothing */
	int			 udp_deaf;	/* hears TCP only */
	uint64_t		 tick_at;
	size_t			 ev[SWIM_EV_ACK + 1];
	uint32_t		 probe_seq;	/* of the last probe sent */
	size_t			 acks_ok;	/* timed, right payload */
	size_t			 acks_bad;
	int			 user_seen;	/* the test message */
	int			 user_pass;	/* pass it on */
	int			 direct_seen;
};

struct sim {
	struct sim_node		 nodes[SIM_MAX];
	int			 n;
	uint64_t		 now;
	uint64_t		 rng;
	uint64_t		 seed;
	int			 loss_pct;
	int			 partitioned;
	struct swim_options	 base;
	struct sim_ev		**heap;
	size_t			 nheap;
	size_t			 capheap;
	uint64_t		 evseq;
	/* Events seen anywhere, by subject (the index in its name). */
	size_t			 failed_about[SIM_MAX];
	size_t			 left_about[SIM_MAX];
	size_t			 joined_about[SIM_MAX];
	size_t			 updated_about[SIM_MAX];
	size_t			 reaped_about[SIM_MAX];
	size_t			 conflicts_about[SIM_MAX];
	uint64_t		 trace_hash;
	int			 trace;
	/* The last sealed packet delivered to node 0, for replays. */
	unsigned char		 captured[SWIM_PACKET_MAX];
	size_t			 captured_len;
};

static const char	*test_name = "";
static uint64_t		 test_seed;

static uint64_t
seed_for(uint64_t dflt)
{
	const char	*e = getenv("SWIM_SEED");

	test_seed = e != NULL ? strtoull(e, NULL, 10) : dflt;
	return test_seed;
}

/* A CHECK that also prints how to replay the run; cond is run once. */
#define SIM_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "# %s:%d: CHECK failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, "# %s: seed %llu failed; replay: "	\
		    "SWIM_SEED=%llu SWIM_TRACE=1 "			\
		    "regress/unit/test_swim\n", test_name,		\
		    (unsigned long long)test_seed,			\
		    (unsigned long long)test_seed);			\
		test_current_failed = 1;				\
	}								\
} while (0)

static uint64_t
sim_rand(struct sim *s)
{
	uint64_t	 x = s->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return s->rng = x;
}

static void
sim_addr(int i, struct swim_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->ip[0] = 10;
	a->ip[1] = ((i + 1) >> 16) & 0xff;
	a->ip[2] = ((i + 1) >> 8) & 0xff;
	a->ip[3] = (i + 1) & 0xff;
	a->port = SIM_PORT;
}

static int
sim_index(const struct sim *s, const struct swim_addr *a)
{
	int	 i;

	if (a->family != AF_INET || a->ip[0] != 10 || a->port != SIM_PORT)
		return -1;
	i = (a->ip[1] << 16 | a->ip[2] << 8 | a->ip[3]) - 1;
	return i >= 0 && i < s->n ? i : -1;
}

static int
name_index(const char *name)
{
	int	 i;

	if (name[0] != 'n' || (i = atoi(name + 1)) < 0 || i >= SIM_MAX)
		return -1;
	return i;
}

/* The event queue: a binary heap on (at, seq). */

static int
ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
heap_push(struct sim *s, struct sim_ev *e)
{
	struct sim_ev	*t;
	size_t		 i, p;

	if (s->nheap == s->capheap) {
		s->capheap = s->capheap ? s->capheap * 2 : 1024;
		if ((s->heap = reallocarray(s->heap, s->capheap,
		    sizeof(*s->heap))) == NULL)
			abort();
	}
	e->seq = s->evseq++;
	i = s->nheap++;
	s->heap[i] = e;
	while (i > 0 && ev_before(s->heap[i], s->heap[p = (i - 1) / 2])) {
		t = s->heap[p];
		s->heap[p] = s->heap[i];
		s->heap[i] = t;
		i = p;
	}
}

static struct sim_ev *
heap_pop(struct sim *s)
{
	struct sim_ev	*top, *t;
	size_t		 i = 0, l, r, m;

	if (s->nheap == 0)
		return NULL;
	top = s->heap[0];
	s->heap[0] = s->heap[--s->nheap];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < s->nheap && ev_before(s->heap[l], s->heap[m]))
			m = l;
		if (r < s->nheap && ev_before(s->heap[r], s->heap[m]))
			m = r;
		if (m == i)
			break;
		t = s->heap[m];
		s->heap[m] = s->heap[i];
		s->heap[i] = t;
		i = m;
	}
	return top;
}

static void
sim_schedule(struct sim *s, enum sim_ev_kind kind, int to, int from,
    uint64_t at, const void *data, size_t len)
{
	struct sim_ev	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		abort();
	e->kind = kind;
	e->to = to;
	e->from = from;
	e->at = at;
	if (len > 0) {
		if ((e->data = malloc(len)) == NULL)
			abort();
		memcpy(e->data, data, len);
		e->len = len;
	}
	heap_push(s, e);
}

static uint64_t
sim_latency(struct sim *s)
{
	return 1 + sim_rand(s) % 5;
}

static int
sim_cut(const struct sim *s, int a, int b)
{
	return s->partitioned && s->nodes[a].side != s->nodes[b].side;
}

/*
 * A TCP exchange under packet loss p is too late for a probe once any
 * of its four packets (SYN, SYN-ACK, request, reply) is lost: the
 * retransmission timer is a second.  So it fails with 1 - (1 - p)^4.
 */
static int
sim_stream_lost(struct sim *s, int to)
{
	double	 ok = 1.0 - s->loss_pct / 100.0;

	if (s->nodes[to].deaf)
		return 1;
	return (double)(sim_rand(s) % 1000000) / 1e6 >= ok * ok * ok * ok;
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

static const char *const ev_names[] = {
	"join", "update", "leave", "failed", "reap", "conflict", "user", "ack"
};

static void
sim_event(struct sim *s, int i, const struct swim_event *e)
{
	int	 j = name_index(e->member.name);
	size_t	 k;

	s->nodes[i].ev[e->type]++;
	/* As gossipd does: pass a user message on the first time only. */
	if (e->type == SWIM_EV_USER) {
		if (e->len == 6 && memcmp(e->data, "direct", 6) == 0)
			s->nodes[i].direct_seen++;
		if (e->len == 5 && memcmp(e->data, "hello", 5) == 0 &&
		    s->nodes[i].user_seen++ == 0)
			s->nodes[i].user_pass = 1;
		return;
	}
	s->trace_hash = mix(s->trace_hash, s->now);
	s->trace_hash = mix(s->trace_hash, (uint64_t)i << 8 | e->type);
	for (k = 0; e->member.name[k] != '\0'; k++)
		s->trace_hash = mix(s->trace_hash,
		    (unsigned char)e->member.name[k]);
	if (s->trace)
		fprintf(stderr, "# t=%llu %s: %s %s inc=%u\n",
		    (unsigned long long)s->now, s->nodes[i].name,
		    ev_names[e->type], e->member.name, e->member.incarnation);
	if (j < 0 || j == i)
		return;
	switch (e->type) {
	case SWIM_EV_JOIN:
		s->joined_about[j]++;
		break;
	case SWIM_EV_UPDATE:
		s->updated_about[j]++;
		break;
	case SWIM_EV_LEAVE:
		s->left_about[j]++;
		break;
	case SWIM_EV_FAILED:
		s->failed_about[j]++;
		break;
	case SWIM_EV_REAP:
		s->reaped_about[j]++;
		break;
	case SWIM_EV_CONFLICT:
		s->conflicts_about[j]++;
		break;
	case SWIM_EV_USER:
		break;
	case SWIM_EV_ACK:
		/* The target's payload, for the probe last sent. */
		if (e->seq == s->nodes[i].probe_seq && e->len == strlen(
		    s->nodes[j].name) && memcmp(e->data, s->nodes[j].name,
		    e->len) == 0)
			s->nodes[i].acks_ok++;
		else
			s->nodes[i].acks_bad++;
		break;
	}
}

/* Take a node's outputs onto the network, then rearm its timer. */
static void
sim_drain(struct sim *s, int i)
{
	struct sim_node		*nd = &s->nodes[i];
	struct swim_ready	 rd;
	struct swim_out		*o;
	uint64_t		 t;
	size_t			 k;
	int			 to;

	if (!nd->up)
		return;
	if (swim_has_ready(nd->sw)) {
		swim_ready(nd->sw, &rd);
		for (k = 0; k < rd.n_outs; k++) {
			o = &rd.outs[k];
			if (o->type == SWIM_OUT_REPLY) {
				to = (int)o->conn;
				if (to >= 0 && to < s->n &&
				    !sim_cut(s, i, to) && !s->nodes[to].deaf)
					sim_schedule(s, EV_REPLY, to, i,
					    s->now + sim_latency(s), o->data,
					    o->len);
				continue;
			}
			if (o->probe != 0)
				nd->probe_seq = o->probe;
			if ((to = sim_index(s, &o->to)) == -1 ||
			    sim_cut(s, i, to))
				continue;
			if (o->type == SWIM_OUT_STREAM) {
				/* The whole exchange succeeds or fails. */
				if (!sim_stream_lost(s, to))
					sim_schedule(s, EV_STREAM, to, i,
					    s->now + sim_latency(s), o->data,
					    o->len);
				continue;
			}
			if ((int)(sim_rand(s) % 100) < s->loss_pct ||
			    s->nodes[to].deaf || s->nodes[to].udp_deaf)
				continue;
			sim_schedule(s, EV_PACKET, to, i,
			    s->now + sim_latency(s), o->data, o->len);
		}
		for (k = 0; k < rd.n_events; k++)
			sim_event(s, i, &rd.events[k]);
		swim_advance(nd->sw);
	}
	if (nd->user_pass) {
		nd->user_pass = 0;
		if (swim_user_broadcast(nd->sw, "hello", 5, s->now) == -1)
			CHECK(0);
	}
	t = swim_next_timeout(nd->sw);
	if (t < s->now)
		t = s->now;
	if (t != nd->tick_at && t != UINT64_MAX) {
		nd->tick_at = t;
		sim_schedule(s, EV_TICK, i, i, t, NULL, 0);
	}
}

static void
sim_dispatch(struct sim *s, struct sim_ev *e)
{
	struct sim_node	*nd = &s->nodes[e->to];

	if (!nd->up)
		return;
	switch (e->kind) {
	case EV_TICK:
		if (e->at != nd->tick_at)
			return;		/* superseded */
		nd->tick_at = UINT64_MAX;
		swim_tick(nd->sw, s->now);
		break;
	case EV_PACKET:
		if (e->to == 0 && e->len <= sizeof(s->captured)) {
			memcpy(s->captured, e->data, e->len);
			s->captured_len = e->len;
		}
		swim_recv_packet(nd->sw, &s->nodes[e->from].addr, e->data,
		    e->len, s->now);
		break;
	case EV_STREAM:
		swim_recv_stream(nd->sw, (uint64_t)e->from,
		    &s->nodes[e->from].addr, e->data, e->len, s->now);
		break;
	case EV_REPLY:
		swim_recv_stream(nd->sw, 0, &s->nodes[e->from].addr, e->data,
		    e->len, s->now);
		break;
	}
	sim_drain(s, e->to);
}

static void
sim_run(struct sim *s, uint64_t dur)
{
	struct sim_ev	*e;
	uint64_t	 until = s->now + dur;

	while (s->nheap > 0 && s->heap[0]->at <= until) {
		e = heap_pop(s);
		s->now = e->at;
		sim_dispatch(s, e);
		free(e->data);
		free(e);
	}
	s->now = until;
}

/* Run until cond holds (checked every SIM_STEP) or max passes. */
static int
sim_run_until(struct sim *s, uint64_t max, int (*cond)(struct sim *, void *),
    void *arg, uint64_t *took)
{
	uint64_t	 start = s->now;

	while (!cond(s, arg)) {
		if (s->now - start >= max)
			return 0;
		sim_run(s, SIM_STEP);
	}
	if (took != NULL)
		*took = s->now - start;
	return 1;
}

static void
sim_init(struct sim *s, int n, uint64_t seed)
{
	int	 i;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->seed = seed;
	s->rng = seed * 0x2545f4914f6cdd1dULL + 1;
	s->trace = getenv("SWIM_TRACE") != NULL;
	swim_options_lan(&s->base);
	for (i = 0; i < n; i++) {
		snprintf(s->nodes[i].name, sizeof(s->nodes[i].name), "n%d", i);
		sim_addr(i, &s->nodes[i].addr);
		s->nodes[i].tick_at = UINT64_MAX;
	}
}

static const char *const sim_tags[] = {
	"role", "node", "dc", "dc1", "vsn", "2", "vsn_min", "2",
	"vsn_max", "3", "build", "1.16.0:deadbeef"
};

/* A new core for node i, with i's name and address. */
static void
sim_start(struct sim *s, int i, uint32_t inc)
{
	struct sim_node		*nd = &s->nodes[i];
	struct swim_options	 o = s->base;

	strlcpy(o.name, nd->name, sizeof(o.name));
	o.addr = nd->addr;
	o.tags = sim_tags;
	o.ntags = nitems(sim_tags) / 2;
	o.incarnation = inc;
	o.seed = sim_rand(s);
	o.keyring = nd->kr;
	if ((nd->sw = swim_new(&o, s->now)) == NULL)
		abort();
	nd->up = 1;
	nd->tick_at = UINT64_MAX;
	sim_drain(s, i);
}

static void
sim_crash(struct sim *s, int i)
{
	struct sim_node	*nd = &s->nodes[i];

	swim_free(nd->sw);
	nd->sw = NULL;
	nd->up = 0;
	nd->tick_at = UINT64_MAX;
}

static void
sim_join(struct sim *s, int i, int seed)
{
	CHECK(swim_join(s->nodes[i].sw, &s->nodes[seed].addr, 1, s->now) == 0);
	sim_drain(s, i);
}

static void
sim_free(struct sim *s)
{
	struct sim_ev	*e;
	int		 i;

	for (i = 0; i < s->n; i++) {
		if (s->nodes[i].up)
			sim_crash(s, i);
		keyring_free(s->nodes[i].kr);
	}
	while ((e = heap_pop(s)) != NULL) {
		free(e->data);
		free(e);
	}
	free(s->heap);
}

static void
sim_stats(struct sim *s, int i, struct swim_stats *st)
{
	swim_stats(s->nodes[i].sw, st);
}

static enum swim_status
sim_status(struct sim *s, int i, int about)
{
	struct swim_member_info	 info;

	if (swim_member_get(s->nodes[i].sw, s->nodes[about].name, &info) == -1)
		return SWIM_NONE;
	return info.status;
}

/* Every up node sees every up node alive, and nothing else. */
static int
cond_converged(struct sim *s, void *arg)
{
	struct swim_stats	 st;
	size_t			 up = 0;
	int			 i;

	for (i = 0; i < s->n; i++)
		up += s->nodes[i].up;
	for (i = 0; i < s->n; i++) {
		if (!s->nodes[i].up)
			continue;
		sim_stats(s, i, &st);
		if (st.alive != up || st.suspect != 0)
			return 0;
	}
	return 1;
}

/* Every up node other than it has node *(int *)arg in that status. */
struct status_cond {
	int			 about;
	enum swim_status	 status;
};

static int
cond_status(struct sim *s, void *arg)
{
	struct status_cond	*c = arg;
	int			 i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].up && i != c->about &&
		    sim_status(s, i, c->about) != c->status)
			return 0;
	return 1;
}

/* n members started 20 ms apart, each joining n0, run to convergence. */
static int
sim_cluster(struct sim *s, int n, uint64_t seed, uint64_t *took)
{
	uint64_t	 start;
	int		 i;

	sim_init(s, n, seed);
	start = s->now;
	for (i = 0; i < n; i++) {
		sim_start(s, i, 0);
		if (i > 0)
			sim_join(s, i, 0);
		sim_run(s, 20);
	}
	if (!sim_run_until(s, 60000, cond_converged, NULL, NULL))
		return 0;
	if (took != NULL)
		*took = s->now - start;
	return 1;
}

/* A plaintext packet of the given messages. */
static size_t
make_packet(unsigned char *buf, size_t cap, const struct swim_msg *m,
    size_t n)
{
	struct swim_wbuf	 w;
	msgpack_packer		 pk;
	size_t			 i;

	swim_wbuf_init(&w, &pk, buf + SWIM_PACKET_HDR, cap - SWIM_PACKET_HDR);
	for (i = 0; i < n; i++)
		swim_msg_pack(&pk, &m[i]);
	if (w.overflow)
		abort();
	swim_packet_header(buf, n);
	return SWIM_PACKET_HDR + w.len;
}

static void
msg_init(struct swim_msg *m, enum swim_msg_type type, uint32_t inc,
    const char *node, const char *from)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->incarnation = inc;
	strlcpy(m->node, node, sizeof(m->node));
	if (from != NULL)
		strlcpy(m->from, from, sizeof(m->from));
}

/* Tests. */

static void
test_codec(void)
{
	struct swim_msg		 m[8], back;
	struct swim_pushpull	 pp;
	msgpack_unpacked	 u;
	const msgpack_object	*objs;
	struct mpack_out	 out;
	unsigned char		 buf[4096];
	char			 tags[SWIM_TAGS_MAX], big[300];
	const char		*kv[] = { "role", "consul", "dc", "", "id",
	    "0b6b4f4c-0000-4000-8000-000000000001" };
	const char		*k, *v, *bad[] = { "a", "1", "a", "2" };
	size_t			 len, n, i, tl, off = 0;

	CHECK(swim_tags_flatten(kv, 3, tags, &tl) == 0);
	CHECK(swim_tag_next(tags, tl, &off, &k, &v) == 1);
	CHECK_STR(k, "role");
	CHECK_STR(v, "consul");
	CHECK_STR(swim_tag_get(tags, tl, "dc"), "");
	CHECK(swim_tag_get(tags, tl, "nope") == NULL);
	CHECK(swim_tags_flatten(bad, 2, tags, &tl) == -1);	/* repeated */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(!swim_name_valid(big));
	CHECK(!swim_name_valid("a\nb"));
	CHECK(!swim_name_valid(""));
	CHECK(swim_name_valid("node-1.example"));

	for (i = 0; i < nitems(m); i++)
		msg_init(&m[i], (enum swim_msg_type)(i + 1), (uint32_t)i * 7,
		    "n1", "n2");
	for (i = 0; i < nitems(m); i++) {
		m[i].seq = 1000 + (uint32_t)i;
		sim_addr(3, &m[i].addr);
	}
	m[7].type = SWIM_MSG_USER;
	m[7].user = "\x93\x01\x02\x03";
	m[7].userlen = 4;
	m[1].nack = 1;
	m[2].payload = "\x01\x02\x03";
	m[2].payloadlen = 3;
	m[5].addr.family = AF_INET6;
	m[5].addr.ip[15] = 9;
	CHECK(swim_tags_flatten(kv, 3, m[5].tags, &m[5].tagslen) == 0);
	len = make_packet(buf, sizeof(buf), m, nitems(m));
	CHECK(swim_packet_parse(&u, buf, len, &objs, &n) == 0);
	CHECK(n == nitems(m));
	for (i = 0; i < n && i < nitems(m); i++) {
		CHECK(swim_msg_unpack(&objs[i], &back) == 0);
		CHECK(back.type == m[i].type);
		switch (back.type) {
		case SWIM_MSG_PING:
			CHECK(back.seq == m[i].seq);
			CHECK_STR(back.node, "n1");
			break;
		case SWIM_MSG_INDIRECT:
			CHECK(back.nack == 1 && back.seq == m[i].seq);
			CHECK(swim_addr_eq(&back.addr, &m[i].addr));
			break;
		case SWIM_MSG_ACK:
		case SWIM_MSG_NACK:
			CHECK(back.seq == m[i].seq);
			CHECK(back.payloadlen == m[i].payloadlen &&
			    (back.payloadlen == 0 || memcmp(back.payload,
			    m[i].payload, back.payloadlen) == 0));
			break;
		case SWIM_MSG_SUSPECT:
		case SWIM_MSG_DEAD:
			CHECK(back.incarnation == m[i].incarnation);
			CHECK_STR(back.from, "n2");
			break;
		case SWIM_MSG_ALIVE:
			CHECK(swim_addr_eq(&back.addr, &m[i].addr));
			CHECK(back.tagslen == m[i].tagslen &&
			    memcmp(back.tags, m[i].tags, back.tagslen) == 0);
			break;
		case SWIM_MSG_USER:
			CHECK(back.userlen == m[i].userlen &&
			    memcmp(back.user, m[i].user, back.userlen) == 0);
			break;
		case SWIM_MSG_PUSHPULL:
			break;
		}
	}
	msgpack_unpacked_destroy(&u);

	/*
	 * An ack's third item that is not a payload we take (a string, an
	 * oversized bin) is ignored, as an older or newer peer's would be.
	 */
	for (i = 0; i < 2; i++) {
		mpack_out_init(&out);
		msgpack_pack_array(&out.pk, 3);
		msgpack_pack_uint8(&out.pk, SWIM_MSG_ACK);
		msgpack_pack_uint32(&out.pk, 77);
		if (i == 0)
			mpack_str(&out.pk, "coordinate");
		else {
			msgpack_pack_bin(&out.pk, SWIM_ACK_PAYLOAD_MAX + 1);
			msgpack_pack_bin_body(&out.pk, big, 1);
			for (n = 1; n < SWIM_ACK_PAYLOAD_MAX + 1; n++)
				msgpack_pack_bin_body(&out.pk, "x", 1);
		}
		CHECK(swim_single_parse(out.sbuf.data, out.sbuf.size,
		    &back) == 0);
		CHECK(back.type == SWIM_MSG_ACK && back.seq == 77 &&
		    back.payloadlen == 0);
		mpack_out_free(&out);
	}

	/* Push-pull. */
	mpack_out_init(&out);
	swim_pushpull_pack(&out.pk, 1, 0, "n7", 2);
	m[5].state = SWIM_STATE_DEAD;
	swim_entry_pack(&out.pk, &m[5]);
	m[5].state = SWIM_STATE_LEFT;
	swim_entry_pack(&out.pk, &m[5]);
	CHECK(swim_pushpull_parse(&u, out.sbuf.data, out.sbuf.size, &pp) == 0);
	CHECK(pp.join == 1 && pp.reply == 0 && pp.nentries == 2);
	CHECK_STR(pp.from, "n7");
	CHECK(swim_entry_unpack(&pp.entries[0], &back) == 0);
	CHECK(back.state == SWIM_STATE_DEAD);
	CHECK(swim_entry_unpack(&pp.entries[1], &back) == 0);
	CHECK(back.state == SWIM_STATE_LEFT);
	msgpack_unpacked_destroy(&u);
	mpack_out_free(&out);

	/* Bad fields are refused one by one. */
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 6);
	msgpack_pack_array(&out.pk, 3);		/* ping, name with a NUL */
	msgpack_pack_uint8(&out.pk, 1);
	msgpack_pack_uint8(&out.pk, 1);
	msgpack_pack_str_with_body(&out.pk, "a\0b", 3);
	msgpack_pack_array(&out.pk, 2);		/* ack, seq too large */
	msgpack_pack_uint8(&out.pk, 3);
	msgpack_pack_uint64(&out.pk, 1ULL << 40);
	msgpack_pack_array(&out.pk, 6);		/* alive, 5-byte ip */
	msgpack_pack_uint8(&out.pk, 6);
	msgpack_pack_uint8(&out.pk, 1);
	mpack_str(&out.pk, "n1");
	mpack_bin(&out.pk, "12345", 5);
	msgpack_pack_uint16(&out.pk, 1);
	msgpack_pack_map(&out.pk, 0);
	msgpack_pack_array(&out.pk, 6);		/* alive, port 0 */
	msgpack_pack_uint8(&out.pk, 6);
	msgpack_pack_uint8(&out.pk, 1);
	mpack_str(&out.pk, "n1");
	mpack_bin(&out.pk, "1234", 4);
	msgpack_pack_uint16(&out.pk, 0);
	msgpack_pack_map(&out.pk, 0);
	msgpack_pack_array(&out.pk, 1);		/* too short */
	msgpack_pack_uint8(&out.pk, 3);
	msgpack_pack_array(&out.pk, 2);		/* unknown type */
	msgpack_pack_uint8(&out.pk, 99);
	msgpack_pack_uint8(&out.pk, 1);
	CHECK(swim_packet_parse(&u, out.sbuf.data, out.sbuf.size, &objs,
	    &n) == 0);
	for (i = 0; i < n; i++)
		CHECK(swim_msg_unpack(&objs[i], &back) == -1);
	msgpack_unpacked_destroy(&u);
	mpack_out_free(&out);
	/* Not an array, an empty array, trailing bytes. */
	CHECK(swim_packet_parse(&u, "\x81\x01\x02", 3, &objs, &n) == -1);
	CHECK(swim_packet_parse(&u, "\x90", 1, &objs, &n) == -1);
	CHECK(swim_packet_parse(&u, "\x91\x90\x00", 3, &objs, &n) == -1);
	CHECK(swim_pushpull_parse(&u, "\x91\x90", 2, &pp) == -1);
}

static void
test_math(void)
{
	struct suspicion	 sp;
	uint64_t		 t0, t1, t2;

	/* log2 in 16.16 fixed point, to within a few ulps. */
	CHECK(log2_fix(1) == 0);
	CHECK(log2_fix(2) == 1 << SWIM_FIX);
	CHECK(log2_fix(1024) == 10 << SWIM_FIX);
	CHECK(log2_fix(3) > 103862 && log2_fix(3) < 103882);	/* 1.58496 */
	CHECK(log10_fix(1000) > 196600 && log10_fix(1000) < 196616);
	CHECK(digits(0) == 0 && digits(9) == 1 && digits(10) == 2);

	/* The suspicion timeout falls from max to min over k. */
	memset(&sp, 0, sizeof(sp));
	sp.min = 6000;
	sp.max = 36000;
	sp.k = 2;
	t0 = suspicion_timeout(&sp);
	sp.n = 1;
	t1 = suspicion_timeout(&sp);
	sp.n = 2;
	t2 = suspicion_timeout(&sp);
	CHECK(t0 == 36000);
	/* 36 - 30 log 2 / log 3 = 17.07 */
	CHECK(t1 > 6000 && t1 < 36000);
	CHECK(t1 > 17000 && t1 < 17140);
	CHECK(t2 == 6000);
	sp.k = 0;
	CHECK(suspicion_timeout(&sp) == 6000);
}

static void
test_options(void)
{
	struct swim_options	 o;
	struct swim		*sw;
	struct swim_ready	 rd;
	const char		*odd[] = { "", "x" };

	swim_options_lan(&o);
	CHECK(swim_new(&o, 0) == NULL);		/* no name */
	strlcpy(o.name, "solo", sizeof(o.name));
	CHECK(swim_new(&o, 0) == NULL);		/* no address */
	sim_addr(0, &o.addr);
	o.probe_timeout = o.probe_interval;
	CHECK(swim_new(&o, 0) == NULL);
	swim_options_lan(&o);
	strlcpy(o.name, "solo", sizeof(o.name));
	sim_addr(0, &o.addr);
	o.tags = odd;
	o.ntags = 1;				/* an empty key */
	CHECK(swim_new(&o, 0) == NULL);
	o.ntags = 0;
	CHECK((sw = swim_new(&o, 0)) != NULL);
	if (sw == NULL)
		return;
	/* Our own join event, then refusals while a ready is out. */
	CHECK(swim_has_ready(sw));
	swim_ready(sw, &rd);
	CHECK(rd.n_events == 1 && rd.events[0].type == SWIM_EV_JOIN);
	CHECK_STR(rd.events[0].member.name, "solo");
	CHECK(swim_recv_packet(sw, &o.addr, "\x91\x92\x03\x01", 4, 1) == -1);
	CHECK(swim_join(sw, &o.addr, 1, 1) == -1);
	swim_advance(sw);
	/* Alone, a leave completes at once. */
	CHECK(swim_leave(sw, 2) == 0);
	swim_ready(sw, &rd);
	CHECK(rd.n_events == 1 && rd.events[0].type == SWIM_EV_LEAVE &&
	    rd.events[0].member.status == SWIM_LEFT);
	swim_advance(sw);
	CHECK(swim_next_timeout(sw) == UINT64_MAX);
	swim_free(sw);
}

static void
test_join(void)
{
	struct sim	 s;
	uint64_t	 took = 0;
	size_t		 k;
	int		 i;

	test_name = "join";
	CHECK(sim_cluster(&s, 50, seed_for(1), &took));
	if (!test_current_failed)
		fprintf(stderr, "# join: 50 members converged in %llu ms\n",
		    (unsigned long long)took);
	/* Everyone knows everyone, with the right address and tags. */
	for (i = 0; i < s.n; i++) {
		struct swim_member_info	 info;

		CHECK(swim_member_count(s.nodes[i].sw) == 50);
		for (k = 0; k < 50; k += 7) {
			if (swim_member_get(s.nodes[i].sw, s.nodes[k].name,
			    &info) == -1) {
				CHECK(0);
				continue;
			}
			CHECK(swim_addr_eq(&info.addr, &s.nodes[k].addr));
			CHECK_STR(swim_tag_get(info.tags, info.tagslen,
			    "build"), "1.16.0:deadbeef");
		}
	}
	for (i = 0; i < s.n; i++)
		CHECK(s.failed_about[i] == 0);
	if (test_current_failed)
		SIM_CHECK(0);
	sim_free(&s);
}

/* A user message broadcast and passed on reaches every member. */
static int
all_heard(struct sim *s, void *arg)
{
	int	 i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].user_seen == 0)
			return 0;
	return 1;
}

static void
test_user(void)
{
	struct sim		 s;
	struct swim_ready	 rd;
	unsigned char		 big[SWIM_USER_MAX + 1];
	uint64_t		 took = 0, start;
	int			 i, dups = 0;

	test_name = "user";
	CHECK(sim_cluster(&s, 50, seed_for(11), &took));
	s.loss_pct = 10;
	memset(big, 'x', sizeof(big));
	CHECK(swim_user_broadcast(s.nodes[0].sw, big, sizeof(big), s.now) ==
	    -1);
	CHECK(swim_user_broadcast(s.nodes[0].sw, big, 0, s.now) == -1);
	s.nodes[0].user_seen = 1;
	CHECK(swim_user_broadcast(s.nodes[0].sw, "hello", 5, s.now) == 0);
	sim_drain(&s, 0);
	start = s.now;
	CHECK(sim_run_until(&s, 30000, all_heard, NULL, NULL));
	for (i = 1; i < s.n; i++)
		dups += s.nodes[i].user_seen - 1;
	if (!test_current_failed)
		fprintf(stderr, "# user: 50 members heard it in %llu ms "
		    "(10%% loss), %d repeats\n",
		    (unsigned long long)(s.now - start), dups);
	/* One packet straight to one member. */
	s.loss_pct = 0;
	CHECK(swim_user_send(s.nodes[3].sw, &s.nodes[7].addr, "direct", 6,
	    s.now) == 0);
	sim_drain(&s, 3);
	sim_run(&s, 1000);
	for (i = 0; i < s.n; i++)
		CHECK(s.nodes[i].direct_seen == (i == 7));
	/* Not between swim_ready() and swim_advance(). */
	CHECK(swim_user_broadcast(s.nodes[5].sw, "hello", 5, s.now) == 0);
	swim_tick(s.nodes[5].sw, s.now + 1000);
	if (swim_has_ready(s.nodes[5].sw)) {
		swim_ready(s.nodes[5].sw, &rd);
		CHECK(swim_user_broadcast(s.nodes[5].sw, "hello", 5,
		    s.now) == -1);
		swim_advance(s.nodes[5].sw);
	}
	if (test_current_failed)
		SIM_CHECK(0);
	sim_free(&s);
}

/*
 * Ack payloads (network coordinates): each member's acks carry what it
 * set, and the prober sees it with the seq of the probe it timed.
 */
static void
test_ack_payload(void)
{
	struct sim		 s;
	unsigned char		 big[SWIM_ACK_PAYLOAD_MAX + 1];
	size_t			 ok = 0, bad = 0;
	int			 i;

	test_name = "ack_payload";
	CHECK(sim_cluster(&s, 8, seed_for(21), NULL));
	memset(big, 'x', sizeof(big));
	CHECK(swim_set_ack_payload(s.nodes[0].sw, big, sizeof(big)) == -1);
	/* Before any payload: no ack events. */
	sim_run(&s, 5000);
	for (i = 0; i < s.n; i++)
		CHECK(s.nodes[i].ev[SWIM_EV_ACK] == 0);
	for (i = 0; i < s.n; i++)
		CHECK(swim_set_ack_payload(s.nodes[i].sw, s.nodes[i].name,
		    strlen(s.nodes[i].name)) == 0);
	sim_run(&s, 10000);
	for (i = 0; i < s.n; i++) {
		ok += s.nodes[i].acks_ok;
		bad += s.nodes[i].acks_bad;
		CHECK(s.nodes[i].acks_ok > 0);
	}
	CHECK(bad == 0);
	if (!test_current_failed)
		fprintf(stderr, "# ack_payload: %zu timed acks in 10 s of 8 "
		    "members\n", ok);
	/* Cleared: no more. */
	for (i = 0; i < s.n; i++) {
		CHECK(swim_set_ack_payload(s.nodes[i].sw, NULL, 0) == 0);
		s.nodes[i].ev[SWIM_EV_ACK] = 0;
	}
	sim_run(&s, 5000);
	for (i = 0; i < s.n; i++)
		CHECK(s.nodes[i].ev[SWIM_EV_ACK] == 0);
	if (test_current_failed)
		SIM_CHECK(0);
	sim_free(&s);
}

static void
test_crash(void)
{
	struct sim		 s;
	struct status_cond	 c = { 7, SWIM_FAILED };
	uint64_t		 took = 0, bound;
	int			 i;

	test_name = "crash";
	SIM_CHECK(sim_cluster(&s, 50, seed_for(2), NULL));
	sim_crash(&s, 7);
	/*
	 * The bound: two probe periods before some member probes it, the
	 * longest suspicion (6 x 4 x log10(50) s = 40.8 s), and 5 s to
	 * spread the news.
	 */
	bound = 2 * 1000 + 40800 + 5000;
	SIM_CHECK(sim_run_until(&s, bound, cond_status, &c, &took));
	fprintf(stderr, "# crash: n7 failed everywhere after %llu ms "
	    "(bound %llu)\n", (unsigned long long)took,
	    (unsigned long long)bound);
	for (i = 0; i < s.n; i++)
		if (i != 7)
			SIM_CHECK(s.failed_about[i] == 0);
	SIM_CHECK(s.failed_about[7] == 49);
	sim_free(&s);
}

static void
loss_run(int tcp_pings, uint64_t seed)
{
	struct sim		 s;
	struct swim_stats	 st;
	uint64_t		 failed = 0, refutes = 0;
	int			 i;

	SIM_CHECK(sim_cluster(&s, 50, seed_for(seed), NULL));
	/* Members restarted as they are, with the option set. */
	for (i = 0; i < s.n; i++)
		s.nodes[i].sw->opts.disable_tcp_pings = !tcp_pings;
	s.loss_pct = 10;
	sim_run(&s, 120000);
	for (i = 0; i < s.n; i++) {
		SIM_CHECK(s.failed_about[i] == 0);
		sim_stats(&s, i, &st);
		failed += st.probes_failed;
		refutes += st.refutes;
	}
	fprintf(stderr, "# loss: 10%% for 120 s, %s: %llu failed probes, "
	    "%llu refutations, no member failed\n",
	    tcp_pings ? "TCP fallback probes" : "UDP only",
	    (unsigned long long)failed, (unsigned long long)refutes);
	s.loss_pct = 0;
	SIM_CHECK(sim_run_until(&s, SIM_REPAIR, cond_converged, NULL, NULL));
	sim_free(&s);
}

static void
test_loss(void)
{
	test_name = "loss";
	loss_run(1, 3);
	loss_run(0, 16);
}

static void
test_refute(void)
{
	struct sim		 s;
	struct swim_stats	 st;
	struct swim_msg		 m;
	struct swim_member_info	 info;
	unsigned char		 buf[512];
	uint32_t		 inc;
	size_t			 len;
	uint64_t		 took = 0;
	int			 i, ok;

	test_name = "refute";
	SIM_CHECK(sim_cluster(&s, 50, seed_for(4), NULL));
	sim_stats(&s, 3, &st);
	inc = st.incarnation;
	/* n10 wrongly comes to suspect n3. */
	msg_init(&m, SWIM_MSG_SUSPECT, inc, "n3", "n10");
	len = make_packet(buf, sizeof(buf), &m, 1);
	CHECK(swim_recv_packet(s.nodes[10].sw, &s.nodes[10].addr, buf, len,
	    s.now) == 0);
	sim_drain(&s, 10);
	CHECK(swim_member_get(s.nodes[10].sw, "n3", &info) == 0 &&
	    info.suspect);
	/* n3 hears of it and refutes with a higher incarnation. */
	for (ok = 0; !ok && took < SIM_REPAIR; ) {
		sim_run(&s, SIM_STEP);
		took += SIM_STEP;
		ok = 1;
		for (i = 0; i < s.n; i++)
			if (swim_member_get(s.nodes[i].sw, "n3", &info) == -1 ||
			    info.suspect || info.incarnation <= inc)
				ok = 0;
	}
	SIM_CHECK(ok);
	sim_stats(&s, 3, &st);
	SIM_CHECK(st.refutes >= 1 && st.incarnation > inc);
	SIM_CHECK(s.failed_about[3] == 0);
	fprintf(stderr, "# refute: n3 refuted (incarnation %u -> %u), "
	    "cleared everywhere in %llu ms\n", inc, st.incarnation,
	    (unsigned long long)took);
	sim_free(&s);
}

static int
cond_split(struct sim *s, void *arg)
{
	int	 i, j;

	for (i = 0; i < s->n; i++)
		for (j = 0; j < s->n; j++)
			if (s->nodes[i].side != s->nodes[j].side &&
			    sim_status(s, i, j) != SWIM_FAILED)
				return 0;
	return 1;
}

static void
test_partition(void)
{
	struct sim	 s;
	uint64_t	 split = 0, heal = 0;
	int		 i;

	test_name = "partition";
	SIM_CHECK(sim_cluster(&s, 50, seed_for(5), NULL));
	for (i = 0; i < s.n; i++)
		s.nodes[i].side = i < 25;
	s.partitioned = 1;
	SIM_CHECK(sim_run_until(&s, 90000, cond_split, NULL, &split));
	/* Long enough that nobody gossips to the other side any more:
	 * only reconnection attempts can bring it back. */
	sim_run(&s, s.base.gossip_to_dead + 15000);
	s.partitioned = 0;
	SIM_CHECK(sim_run_until(&s, 180000, cond_converged, NULL, &heal));
	fprintf(stderr, "# partition: sides saw each other failed after "
	    "%llu ms, one view again %llu ms after the heal\n",
	    (unsigned long long)split, (unsigned long long)heal);
	sim_free(&s);
}

static void
test_leave(void)
{
	struct sim		 s;
	struct status_cond	 c = { 9, SWIM_LEFT };
	struct swim_member_info	 info;
	uint64_t		 took = 0;

	test_name = "leave";
	SIM_CHECK(sim_cluster(&s, 50, seed_for(6), NULL));
	CHECK(swim_leave(s.nodes[9].sw, s.now) == 0);
	CHECK(swim_member_get(s.nodes[9].sw, "n9", &info) == 0 &&
	    info.status == SWIM_LEAVING);
	sim_drain(&s, 9);
	/* Our own LEAVE event says the intent has been spread. */
	while (s.nodes[9].ev[SWIM_EV_LEAVE] == 0 && took < 10000) {
		sim_run(&s, 10);
		took += 10;
	}
	SIM_CHECK(s.nodes[9].ev[SWIM_EV_LEAVE] == 1);
	fprintf(stderr, "# leave: done after %llu ms\n",
	    (unsigned long long)took);
	sim_crash(&s, 9);		/* the daemon exits */
	SIM_CHECK(sim_run_until(&s, SIM_REPAIR, cond_status, &c, NULL));
	sim_run(&s, 60000);
	SIM_CHECK(cond_status(&s, &c));
	SIM_CHECK(s.failed_about[9] == 0);
	SIM_CHECK(s.left_about[9] == 49);
	sim_free(&s);
}

static int
cond_reaped(struct sim *s, void *arg)
{
	int	 about = *(int *)arg, i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].up && sim_status(s, i, about) != SWIM_NONE)
			return 0;
	return 1;
}

static void
test_reap(void)
{
	struct sim		 s;
	struct status_cond	 c = { 4, SWIM_FAILED };
	uint64_t		 took = 0;
	int			 about = 4, i;

	test_name = "reap";
	sim_init(&s, 20, seed_for(7));
	s.base.reconnect_timeout = 20000;
	for (i = 0; i < s.n; i++) {
		sim_start(&s, i, 0);
		if (i > 0)
			sim_join(&s, i, 0);
	}
	SIM_CHECK(sim_run_until(&s, SIM_REPAIR, cond_converged, NULL, NULL));
	sim_crash(&s, 4);
	SIM_CHECK(sim_run_until(&s, 60000, cond_status, &c, NULL));
	/* Still listed as failed until reconnect_timeout has passed. */
	sim_run(&s, 15000);
	SIM_CHECK(cond_status(&s, &c));
	SIM_CHECK(sim_run_until(&s, 30000, cond_reaped, &about, &took));
	SIM_CHECK(s.reaped_about[4] == 19);
	for (i = 0; i < s.n; i++)
		if (i != 4)
			SIM_CHECK(swim_member_count(s.nodes[i].sw) == 19);
	/* A force-leave moves a failed member to left everywhere. */
	sim_crash(&s, 5);
	c.about = 5;
	SIM_CHECK(sim_run_until(&s, 60000, cond_status, &c, NULL));
	SIM_CHECK(swim_force_leave(s.nodes[0].sw, "n5", s.now) == 0);
	CHECK(swim_force_leave(s.nodes[0].sw, "n6", s.now) == -1);
	sim_drain(&s, 0);
	c.status = SWIM_LEFT;
	SIM_CHECK(sim_run_until(&s, SIM_REPAIR, cond_status, &c, NULL));
	sim_free(&s);
}

static void
test_restart(void)
{
	struct sim		 s;
	struct status_cond	 c = { 6, SWIM_FAILED };
	struct swim_member_info	 info;
	uint32_t		 old;
	int			 i;

	test_name = "restart";
	SIM_CHECK(sim_cluster(&s, 50, seed_for(8), NULL));
	swim_member_get(s.nodes[0].sw, "n6", &info);
	old = info.incarnation;
	sim_crash(&s, 6);
	SIM_CHECK(sim_run_until(&s, 60000, cond_status, &c, NULL));
	/* Back with no memory of its incarnation. */
	sim_start(&s, 6, 0);
	sim_join(&s, 6, 0);
	SIM_CHECK(sim_run_until(&s, 30000, cond_converged, NULL, NULL));
	for (i = 0; i < s.n; i++) {
		SIM_CHECK(swim_member_get(s.nodes[i].sw, "n6", &info) == 0 &&
		    info.status == SWIM_ALIVE && info.incarnation > old);
	}
	SIM_CHECK(s.joined_about[6] >= 49 * 2);	/* first join and rejoin */
	sim_free(&s);
}

static void
test_conflict(void)
{
	struct sim		 s;
	struct swim_member_info	 info;
	struct sim_node		*imp;
	int			 i;

	test_name = "conflict";
	SIM_CHECK(sim_cluster(&s, 20, seed_for(9), NULL));
	/* Node 20 calls itself n5, from another address. */
	s.n = 21;
	imp = &s.nodes[20];
	strlcpy(imp->name, "n5", sizeof(imp->name));
	sim_addr(20, &imp->addr);
	sim_start(&s, 20, 0);
	sim_join(&s, 20, 0);
	sim_run(&s, 10000);
	SIM_CHECK(s.conflicts_about[5] >= 1);
	SIM_CHECK(s.nodes[0].ev[SWIM_EV_CONFLICT] >= 1);
	SIM_CHECK(s.nodes[20].ev[SWIM_EV_CONFLICT] >= 1);
	/* The member keeps its name and address everywhere. */
	for (i = 0; i < 20; i++) {
		SIM_CHECK(swim_member_get(s.nodes[i].sw, "n5", &info) == 0 &&
		    swim_addr_eq(&info.addr, &s.nodes[5].addr) &&
		    info.status == SWIM_ALIVE);
	}
	sim_free(&s);
}

static int
cond_tagged(struct sim *s, void *arg)
{
	struct swim_member_info	 info;
	const char		*v;
	int			 i;

	for (i = 0; i < s->n; i++) {
		if (swim_member_get(s->nodes[i].sw, "n4", &info) == -1 ||
		    (v = swim_tag_get(info.tags, info.tagslen, "dc")) == NULL ||
		    strcmp(v, "dc2") != 0)
			return 0;
	}
	return 1;
}

static void
test_tags(void)
{
	struct sim	 s;
	const char	*kv[] = {
		"role", "consul", "dc", "dc2", "expect", "3"
	};
	uint64_t	 took = 0;

	test_name = "tags";
	SIM_CHECK(sim_cluster(&s, 50, seed_for(10), NULL));
	CHECK(swim_set_tags(s.nodes[4].sw, kv, 3, s.now) == 0);
	sim_drain(&s, 4);
	/*
	 * Gossip reaches nearly everyone in a second; the rare member the
	 * epidemic misses learns at its next push-pull (60 s at this size).
	 */
	SIM_CHECK(sim_run_until(&s, SIM_REPAIR, cond_tagged, NULL, &took));
	SIM_CHECK(s.updated_about[4] == 49);
	fprintf(stderr, "# tags: n4's new tags everywhere in %llu ms\n",
	    (unsigned long long)took);
	sim_free(&s);
}

/* What node 0 knows, as a hash; bad input must not change it. */
static uint64_t
view_hash(struct sim *s, int i)
{
	struct swim_member_info	 info;
	size_t			 k, c;
	uint64_t		 h = 0;

	for (k = 0; k < swim_member_count(s->nodes[i].sw); k++) {
		swim_member_at(s->nodes[i].sw, k, &info);
		for (c = 0; info.name[c] != '\0'; c++)
			h = mix(h, (unsigned char)info.name[c]);
		h = mix(h, info.status);
		h = mix(h, info.suspect);
		h = mix(h, info.incarnation);
		h = mix(h, info.tagslen);
	}
	return h;
}

static const char key1[] = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=";
static const char key2[] = "H3/9gBxcKKlk1fVvOrQO9w==";

static void
test_bad_input(void)
{
	struct sim		 s;
	struct swim_stats	 a, b;
	struct swim_msg		 m[2];
	struct keyring		*other;
	struct swim		*sw;
	struct swim_ready	 rd;
	struct swim_addr	 from;
	struct swim_member_info	 info;
	struct mpack_out	 out;
	unsigned char		 buf[2048], sealed[2048];
	unsigned char		 pkt[SWIM_PACKET_MAX];
	size_t			 len, slen, plen, i, k;
	uint64_t		 h;
	int			 j;

	test_name = "bad_input";
	sim_init(&s, 10, seed_for(11));
	for (j = 0; j < s.n; j++) {
		CHECK((s.nodes[j].kr = keyring_new()) != NULL);
		CHECK(keyring_install(s.nodes[j].kr, key1) == 0);
	}
	for (j = 0; j < s.n; j++) {
		sim_start(&s, j, 0);
		if (j > 0)
			sim_join(&s, j, 0);
	}
	SIM_CHECK(sim_run_until(&s, 30000, cond_converged, NULL, NULL));
	sim_run(&s, 5000);		/* n0 has taken packets by now */
	sw = s.nodes[0].sw;
	from = s.nodes[1].addr;
	/* The last packet n0 got, sealed by a member: replaying it fails. */
	memcpy(pkt, s.captured, s.captured_len);
	plen = s.captured_len;
	CHECK(plen > KEYRING_OVERHEAD);
	h = view_hash(&s, 0);
	swim_stats(sw, &a);

	CHECK(swim_recv_packet(sw, &from, pkt, plen, s.now) == -1);
	/* Every truncation, and every single bit flipped. */
	for (i = 0; i < plen; i++)
		CHECK(swim_recv_packet(sw, &from, pkt, i, s.now) == -1);
	for (i = 0; i < plen * 8; i += 3) {
		pkt[i / 8] ^= 1 << (i % 8);
		CHECK(swim_recv_packet(sw, &from, pkt, plen, s.now) == -1);
		pkt[i / 8] ^= 1 << (i % 8);
	}
	/* Garbage. */
	for (i = 0; i < 2000; i++) {
		len = 1 + sim_rand(&s) % sizeof(buf);
		for (k = 0; k < len; k++)
			buf[k] = (unsigned char)sim_rand(&s);
		CHECK(swim_recv_packet(sw, &from, buf, len, s.now) == -1);
	}
	/* A well-formed packet, sealed with a key n0 does not have. */
	other = keyring_new();
	CHECK(keyring_install(other, key2) == 0);
	msg_init(&m[0], SWIM_MSG_DEAD, 99, "n3", "n1");
	len = make_packet(buf, sizeof(buf), m, 1);
	CHECK(keyring_seal(other, KEYRING_PACKET, buf, len, sealed,
	    sizeof(sealed), &slen) == 0);
	CHECK(swim_recv_packet(sw, &from, sealed, slen, s.now) == -1);
	/* The same, in plaintext: refused under verify_incoming. */
	CHECK(swim_recv_packet(sw, &from, buf, len, s.now) == -1);
	/* With the right key, once, then replayed. */
	CHECK(keyring_install(other, key1) == 0 &&
	    keyring_use(other, key1) == 0);
	msg_init(&m[0], SWIM_MSG_ACK, 0, "x", NULL);
	m[0].seq = 12345;
	len = make_packet(buf, sizeof(buf), m, 1);
	CHECK(keyring_seal(other, KEYRING_PACKET, buf, len, sealed,
	    sizeof(sealed), &slen) == 0);
	CHECK(swim_recv_packet(sw, &from, sealed, slen, s.now) == 0);
	CHECK(swim_recv_packet(sw, &from, sealed, slen, s.now) == -1);
	/* All or nothing: a good message, then one with a bad field. */
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	msg_init(&m[0], SWIM_MSG_ALIVE, 1, "evil", NULL);
	sim_addr(40, &m[0].addr);
	swim_msg_pack(&out.pk, &m[0]);
	msgpack_pack_array(&out.pk, 4);
	msgpack_pack_uint8(&out.pk, SWIM_MSG_SUSPECT);
	msgpack_pack_uint8(&out.pk, 1);
	mpack_str(&out.pk, "n2");
	msgpack_pack_uint8(&out.pk, 7);		/* from: not a name */
	CHECK(keyring_seal(other, KEYRING_PACKET, out.sbuf.data,
	    out.sbuf.size, sealed, sizeof(sealed), &slen) == 0);
	CHECK(swim_recv_packet(sw, &from, sealed, slen, s.now) == -1);
	mpack_out_free(&out);
	/* Streams: garbage, and a state sealed with the wrong key. */
	for (i = 0; i < 200; i++) {
		len = 1 + sim_rand(&s) % sizeof(buf);
		for (k = 0; k < len; k++)
			buf[k] = (unsigned char)sim_rand(&s);
		CHECK(swim_recv_stream(sw, 1, &from, buf, len, s.now) == -1);
	}
	CHECK(swim_recv_stream(sw, 1, &from, pkt, plen, s.now) == -1);

	swim_stats(sw, &b);
	CHECK(view_hash(&s, 0) == h);
	CHECK(swim_member_get(sw, "evil", &info) == -1);
	CHECK(b.drop_replay == a.drop_replay + 2);
	CHECK(b.drop_key > a.drop_key + plen);
	CHECK(b.drop_malformed > a.drop_malformed + 1);
	CHECK(b.drop_plaintext > a.drop_plaintext + 1000);
	/* Every input but the one good ack was dropped and counted. */
	CHECK((b.packets_recv - a.packets_recv) +
	    (b.streams_recv - a.streams_recv) ==
	    (b.drop_replay - a.drop_replay) + (b.drop_key - a.drop_key) +
	    (b.drop_malformed - a.drop_malformed) +
	    (b.drop_plaintext - a.drop_plaintext) + 1);
	/* Only the accepted ack may have produced output: nothing else. */
	if (swim_has_ready(sw)) {
		swim_ready(sw, &rd);
		CHECK(rd.n_events == 0);
		swim_advance(sw);
	}
	fprintf(stderr, "# bad input: dropped %llu malformed, %llu wrong key, "
	    "%llu replayed, %llu plaintext\n",
	    (unsigned long long)(b.drop_malformed - a.drop_malformed),
	    (unsigned long long)(b.drop_key - a.drop_key),
	    (unsigned long long)(b.drop_replay - a.drop_replay),
	    (unsigned long long)(b.drop_plaintext - a.drop_plaintext));
	/* The cluster did not notice. */
	SIM_CHECK(sim_run_until(&s, 5000, cond_converged, NULL, NULL));
	keyring_free(other);
	if (test_current_failed)
		SIM_CHECK(0);
	sim_free(&s);
}

/* A plaintext core refuses malformed MessagePack the same way. */
static void
test_bad_plaintext(void)
{
	struct swim_options	 o;
	struct swim_stats	 st;
	struct swim		*sw;
	struct swim_addr	 from;
	static const char	*const bad[] = {
		"\x91\x92\x01",			/* truncated */
		"\x91\x93\x01\x01",		/* ping without a name */
		"\xdd\xff\xff\xff\xff",		/* a huge count, no items */
		"\x91\x92\xcf\x00\x00\x00\x00\x00\x00\x00\x01\x01",
		"\x92\x92\x03\x01\x92\x06\x01",	/* alive too short */
		"\x91\x96\x06\x01\xa2n1\xc4\x04\x01\x02\x03\x04\xcd\x20\x8d"
		    "\x81\xa1k\x01",		/* a tag value not a string */
	};
	size_t			 i;

	swim_options_lan(&o);
	strlcpy(o.name, "solo", sizeof(o.name));
	sim_addr(0, &o.addr);
	sim_addr(1, &from);
	if ((sw = swim_new(&o, 0)) == NULL) {
		CHECK(0);
		return;
	}
	for (i = 0; i < nitems(bad); i++)
		CHECK(swim_recv_packet(sw, &from, bad[i], strlen(bad[i]),
		    1) == -1);
	/* A sealed packet, and no keyring to open it. */
	CHECK(swim_recv_packet(sw, &from, "\x01" "0123456789012345678901234"
	    "5678901234567890", 41, 1) == -1);
	swim_stats(sw, &st);
	CHECK(st.drop_malformed == nitems(bad));
	CHECK(st.drop_key == 1);
	CHECK(st.members == 1);
	swim_free(sw);
}

/* Plaintext to encrypted on a running cluster, then a key rotation. */
static void
test_encrypt_roll(void)
{
	struct sim		 s;
	struct swim_stats	 st;
	uint64_t		 plain = 0;
	int			 i;

	test_name = "encrypt_roll";
	sim_init(&s, 12, seed_for(12));
	for (i = 0; i < s.n; i++)
		CHECK((s.nodes[i].kr = keyring_new()) != NULL);
	for (i = 0; i < s.n; i++) {
		sim_start(&s, i, 0);
		if (i > 0)
			sim_join(&s, i, 0);
	}
	SIM_CHECK(sim_run_until(&s, 30000, cond_converged, NULL, NULL));
	/* 1: a key everywhere, verifying nothing yet. */
	for (i = 0; i < s.n; i++) {
		keyring_set_verify(s.nodes[i].kr, 0, 0);
		CHECK(keyring_install(s.nodes[i].kr, key1) == 0);
		sim_run(&s, 1000);
	}
	/* 2: seal what is sent, one member at a time. */
	for (i = 0; i < s.n; i++) {
		keyring_set_verify(s.nodes[i].kr, 0, 1);
		sim_run(&s, 1000);
	}
	/* 3: refuse plaintext. */
	for (i = 0; i < s.n; i++) {
		keyring_set_verify(s.nodes[i].kr, 1, 1);
		sim_run(&s, 1000);
	}
	sim_run(&s, 10000);
	for (i = 0; i < s.n; i++) {
		sim_stats(&s, i, &st);
		plain += st.drop_plaintext + st.drop_key;
		SIM_CHECK(s.failed_about[i] == 0);
	}
	SIM_CHECK(plain == 0);
	SIM_CHECK(cond_converged(&s, NULL));
	/* Rotation: install key2, use it, remove key1. */
	for (i = 0; i < s.n; i++)
		CHECK(keyring_install(s.nodes[i].kr, key2) == 0);
	sim_run(&s, 2000);
	for (i = 0; i < s.n; i++) {
		CHECK(keyring_use(s.nodes[i].kr, key2) == 0);
		sim_run(&s, 500);
	}
	for (i = 0; i < s.n; i++)
		CHECK(keyring_remove(s.nodes[i].kr, key1) == 0);
	sim_run(&s, 20000);
	for (i = 0; i < s.n; i++) {
		sim_stats(&s, i, &st);
		SIM_CHECK(st.drop_key == 0);
		SIM_CHECK(s.failed_about[i] == 0);
	}
	SIM_CHECK(cond_converged(&s, NULL));
	sim_free(&s);
}

/*
 * A member whose UDP is filtered but whose TCP works is not declared
 * dead: the fallback probe over TCP answers for it, both ways.
 */
static void
test_tcp_fallback(void)
{
	struct sim		 s;
	struct swim_stats	 st;
	uint64_t		 fallback = 0;
	int			 i;

	test_name = "tcp_fallback";
	SIM_CHECK(sim_cluster(&s, 20, seed_for(17), NULL));
	s.nodes[5].udp_deaf = 1;
	sim_run(&s, 60000);
	for (i = 0; i < s.n; i++) {
		SIM_CHECK(s.failed_about[i] == 0);
		sim_stats(&s, i, &st);
		fallback += st.streams_sent;
	}
	sim_stats(&s, 5, &st);
	SIM_CHECK(st.suspect == 0 && st.failed == 0);
	SIM_CHECK(cond_converged(&s, NULL));
	fprintf(stderr, "# tcp fallback: a member without UDP stays alive "
	    "(%llu stream messages in 60 s)\n", (unsigned long long)fallback);
	sim_free(&s);
}

/* A member that hears nothing grows unhealthy and probes less. */
static void
test_awareness(void)
{
	struct sim		 s;
	struct swim_stats	 st, st0;
	uint64_t		 probes;
	int			 i;

	test_name = "awareness";
	SIM_CHECK(sim_cluster(&s, 20, seed_for(13), NULL));
	sim_stats(&s, 2, &st0);
	s.nodes[2].deaf = 1;
	sim_run(&s, 30000);
	sim_stats(&s, 2, &st);
	probes = st.probes - st0.probes;
	SIM_CHECK(st.health_score >= 4);
	/* At full health it would have sent 30 probes. */
	SIM_CHECK(probes < 15);
	for (i = 0; i < s.n; i++) {
		if (i == 2)
			continue;
		sim_stats(&s, i, &st0);
		SIM_CHECK(st0.health_score <= 1);
	}
	fprintf(stderr, "# awareness: a deaf member's health score %d, "
	    "%llu probes in 30 s\n", st.health_score,
	    (unsigned long long)probes);
	sim_free(&s);
}

static void
test_determinism(void)
{
	struct sim	 s;
	uint64_t	 h[3], seed;
	int		 r;

	test_name = "determinism";
	seed = seed_for(14);
	for (r = 0; r < 3; r++) {
		SIM_CHECK(sim_cluster(&s, 20, r < 2 ? seed : seed + 1, NULL));
		s.loss_pct = 5;
		sim_crash(&s, 3);
		sim_run(&s, 20000);
		h[r] = s.trace_hash;
		sim_free(&s);
	}
	SIM_CHECK(h[0] == h[1]);
	SIM_CHECK(h[0] != h[2]);
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_codec),
		TEST_CASE(test_math),
		TEST_CASE(test_options),
		TEST_CASE(test_join),
		TEST_CASE(test_user),
		TEST_CASE(test_crash),
		TEST_CASE(test_loss),
		TEST_CASE(test_refute),
		TEST_CASE(test_partition),
		TEST_CASE(test_leave),
		TEST_CASE(test_reap),
		TEST_CASE(test_restart),
		TEST_CASE(test_conflict),
		TEST_CASE(test_tags),
		TEST_CASE(test_bad_input),
		TEST_CASE(test_bad_plaintext),
		TEST_CASE(test_encrypt_roll),
		TEST_CASE(test_tcp_fallback),
		TEST_CASE(test_awareness),
		TEST_CASE(test_determinism),
		TEST_CASE(test_ack_payload),
	};

	return test_main(cases, nitems(cases));
}
