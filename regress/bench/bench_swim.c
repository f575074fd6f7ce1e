/*
 * The SWIM core at scale, in a simulated network in one process (virtual
 * time, 1-5 ms latency, LAN defaults, Consul-like tags).  Prints numbers;
 * asserts nothing.  For 100, 300 and 1,000 members:
 *   - cold start: all members start within one second, each joining one
 *     of the first three; time until every member sees every other alive;
 *   - dissemination: one more member joins the converged cluster; time
 *     until all know it;
 *   - failure detection: a member crashes; time until the first and
 *     until the last member declares it failed (three crashes, averaged);
 *   - steady-state traffic, UDP and TCP, in bytes per member per second;
 * and, for 100 members, false positives under 5% and 20% packet loss,
 * with the TCP fallback probe (Consul's default) and without it.  Loss
 * applies to each UDP packet; a TCP exchange fails as a whole with the
 * chance that any of its four packets is lost.
 *
 * 10,000 members are not simulated: every member holds every other, so
 * a one-process simulation needs 10^8 member records (15 GB and more).
 * Their figures are extrapolated from the measured sizes, on the curve
 * a + b log10(N) that SWIM's dissemination and suspicion timeouts follow,
 * and are labelled as such.  BENCH_QUICK=1 runs only the 100-member part.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../gossipd/keyring.c"
#include "../../gossipd/swim_codec.c"
#include "../../gossipd/swim.c"

#define PORT		8301
#define STEP		100

enum ev_kind {
	EV_TICK,
	EV_PACKET,
	EV_STREAM,
	EV_REPLY
};

struct ev {
	uint64_t		 at;
	uint64_t		 seq;
	enum ev_kind		 kind;
	int			 to;
	int			 from;
	unsigned char		*data;
	size_t			 len;
};

struct node {
	struct swim		*sw;
	struct swim_addr	 addr;
	int			 up;
	uint64_t		 tick_at;
};

struct sim {
	struct node		*nodes;
	int			 n;
	int			 cap;
	uint64_t		 now;
	uint64_t		 rng;
	int			 loss_pct;
	struct ev		**heap;
	size_t			 nheap;
	size_t			 capheap;
	uint64_t		 evseq;
	/* What is being watched. */
	int			 victim;
	int			 first_failed;	/* declarations about victim */
	uint64_t		 first_failed_at;
	size_t			 failed_about_victim;
	size_t			 false_failed;	/* about members still up */
	uint64_t		 udp_bytes;
	uint64_t		 udp_packets;
	uint64_t		 tcp_bytes;
};

static const char *const tags[] = {
	"role", "node", "dc", "dc1", "segment", "", "id",
	"5e0e3a5e-5f1a-4c4b-9d5e-0f0e1d2c3b4a", "vsn", "2", "vsn_min", "2",
	"vsn_max", "3", "build", "1.16.0:deadbeef"
};

static uint64_t
rnd(struct sim *s)
{
	uint64_t	 x = s->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return s->rng = x;
}

static double
wall(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
before(const struct ev *a, const struct ev *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
push(struct sim *s, struct ev *e)
{
	struct ev	*t;
	size_t		 i, p;

	if (s->nheap == s->capheap) {
		s->capheap = s->capheap ? s->capheap * 2 : 4096;
		if ((s->heap = reallocarray(s->heap, s->capheap,
		    sizeof(*s->heap))) == NULL)
			abort();
	}
	e->seq = s->evseq++;
	i = s->nheap++;
	s->heap[i] = e;
	while (i > 0 && before(s->heap[i], s->heap[p = (i - 1) / 2])) {
		t = s->heap[p];
		s->heap[p] = s->heap[i];
		s->heap[i] = t;
		i = p;
	}
}

static struct ev *
pop(struct sim *s)
{
	struct ev	*top, *t;
	size_t		 i = 0, l, r, m;

	if (s->nheap == 0)
		return NULL;
	top = s->heap[0];
	s->heap[0] = s->heap[--s->nheap];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < s->nheap && before(s->heap[l], s->heap[m]))
			m = l;
		if (r < s->nheap && before(s->heap[r], s->heap[m]))
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
schedule(struct sim *s, enum ev_kind kind, int to, int from, uint64_t at,
    const void *data, size_t len)
{
	struct ev	*e;

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
	push(s, e);
}

static void
addr_of(int i, struct swim_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->ip[0] = 10;
	a->ip[1] = ((i + 1) >> 16) & 0xff;
	a->ip[2] = ((i + 1) >> 8) & 0xff;
	a->ip[3] = (i + 1) & 0xff;
	a->port = PORT;
}

static int
index_of(const struct sim *s, const struct swim_addr *a)
{
	int	 i;

	i = (a->ip[1] << 16 | a->ip[2] << 8 | a->ip[3]) - 1;
	return i >= 0 && i < s->n ? i : -1;
}

static uint64_t
latency(struct sim *s)
{
	return 1 + rnd(s) % 5;
}

/* A TCP exchange fails if any of its four packets is lost (see
 * test_swim.c): it would be retransmitted too late for a probe. */
static int
stream_lost(struct sim *s)
{
	double	 ok = 1.0 - s->loss_pct / 100.0;

	return (double)(rnd(s) % 1000000) / 1e6 >= ok * ok * ok * ok;
}

static void
on_event(struct sim *s, int i, const struct swim_event *e)
{
	int	 about = atoi(e->member.name + 1);

	if (e->type != SWIM_EV_FAILED)
		return;
	if (about == s->victim) {
		if (s->failed_about_victim++ == 0)
			s->first_failed_at = s->now;
	} else if (about >= 0 && about < s->n && s->nodes[about].up)
		s->false_failed++;
}

static void
drain(struct sim *s, int i)
{
	struct node		*nd = &s->nodes[i];
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
				s->tcp_bytes += o->len;
				schedule(s, EV_REPLY, (int)o->conn, i,
				    s->now + latency(s), o->data, o->len);
				continue;
			}
			if ((to = index_of(s, &o->to)) == -1)
				continue;
			if (o->type == SWIM_OUT_STREAM) {
				s->tcp_bytes += o->len;
				if (!stream_lost(s))
					schedule(s, EV_STREAM, to, i,
					    s->now + latency(s), o->data,
					    o->len);
				continue;
			}
			s->udp_bytes += o->len;
			s->udp_packets++;
			if ((int)(rnd(s) % 100) < s->loss_pct)
				continue;
			schedule(s, EV_PACKET, to, i, s->now + latency(s),
			    o->data, o->len);
		}
		for (k = 0; k < rd.n_events; k++)
			on_event(s, i, &rd.events[k]);
		swim_advance(nd->sw);
	}
	t = swim_next_timeout(nd->sw);
	if (t < s->now)
		t = s->now;
	if (t != nd->tick_at && t != UINT64_MAX) {
		nd->tick_at = t;
		schedule(s, EV_TICK, i, i, t, NULL, 0);
	}
}

static void
run(struct sim *s, uint64_t dur)
{
	struct ev	*e;
	struct node	*nd;
	uint64_t	 until = s->now + dur;

	while (s->nheap > 0 && s->heap[0]->at <= until) {
		e = pop(s);
		s->now = e->at;
		nd = &s->nodes[e->to];
		if (nd->up) {
			switch (e->kind) {
			case EV_TICK:
				if (e->at == nd->tick_at) {
					nd->tick_at = UINT64_MAX;
					swim_tick(nd->sw, s->now);
				}
				break;
			case EV_PACKET:
				swim_recv_packet(nd->sw,
				    &s->nodes[e->from].addr, e->data, e->len,
				    s->now);
				break;
			case EV_STREAM:
				swim_recv_stream(nd->sw, (uint64_t)e->from,
				    &s->nodes[e->from].addr, e->data, e->len,
				    s->now);
				break;
			case EV_REPLY:
				swim_recv_stream(nd->sw, 0,
				    &s->nodes[e->from].addr, e->data, e->len,
				    s->now);
				break;
			}
			drain(s, e->to);
		}
		free(e->data);
		free(e);
	}
	s->now = until;
}

static int	 udp_only;

static void
start(struct sim *s, int i)
{
	struct swim_options	 o;
	struct node		*nd;

	if (i >= s->cap) {
		s->cap = s->cap ? s->cap * 2 : 128;
		if ((s->nodes = reallocarray(s->nodes, s->cap,
		    sizeof(*s->nodes))) == NULL)
			abort();
	}
	if (i >= s->n)
		s->n = i + 1;
	nd = &s->nodes[i];
	memset(nd, 0, sizeof(*nd));
	addr_of(i, &nd->addr);
	swim_options_lan(&o);
	snprintf(o.name, sizeof(o.name), "n%d", i);
	o.addr = nd->addr;
	o.tags = tags;
	o.ntags = sizeof(tags) / sizeof(tags[0]) / 2;
	o.seed = rnd(s);
	o.disable_tcp_pings = udp_only;
	if ((nd->sw = swim_new(&o, s->now)) == NULL)
		abort();
	nd->up = 1;
	nd->tick_at = UINT64_MAX;
	drain(s, i);
}

static void
join(struct sim *s, int i, int seed)
{
	swim_join(s->nodes[i].sw, &s->nodes[seed].addr, 1, s->now);
	drain(s, i);
}

static void
crash(struct sim *s, int i)
{
	swim_free(s->nodes[i].sw);
	s->nodes[i].sw = NULL;
	s->nodes[i].up = 0;
}

static void
sim_free(struct sim *s)
{
	struct ev	*e;
	int		 i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].up)
			crash(s, i);
	while ((e = pop(s)) != NULL) {
		free(e->data);
		free(e);
	}
	free(s->heap);
	free(s->nodes);
}

static int
converged(struct sim *s)
{
	struct swim_stats	 st;
	size_t			 up = 0;
	int			 i;

	for (i = 0; i < s->n; i++)
		up += s->nodes[i].up;
	for (i = 0; i < s->n; i++) {
		if (!s->nodes[i].up)
			continue;
		swim_stats(s->nodes[i].sw, &st);
		if (st.alive != up || st.suspect != 0)
			return 0;
	}
	return 1;
}

static int
knows(struct sim *s, int about)
{
	struct swim_member_info	 info;
	char			 name[32];
	int			 i;

	snprintf(name, sizeof(name), "n%d", about);
	for (i = 0; i < s->n; i++)
		if (s->nodes[i].up && i != about &&
		    swim_member_get(s->nodes[i].sw, name, &info) == -1)
			return 0;
	return 1;
}

static size_t
queued(struct sim *s)
{
	struct swim_stats	 st;
	size_t			 q = 0;
	int			 i;

	for (i = 0; i < s->n; i++) {
		if (!s->nodes[i].up)
			continue;
		swim_stats(s->nodes[i].sw, &st);
		q += st.queued;
	}
	return q;
}

struct result {
	int			 n;
	double			 cold;		/* s; < 0: did not converge */
	double			 dissem;
	double			 suspect_first;
	double			 detect_first;
	double			 detect_all;
	double			 udp_bps;	/* per member, payload */
	double			 udp_pps;
	double			 tcp_bps;
	double			 wall;
};

/* Does any member suspect (or already declare failed) the victim? */
static int
suspected(struct sim *s)
{
	struct swim_member_info	 info;
	char			 name[32];
	int			 i;

	snprintf(name, sizeof(name), "n%d", s->victim);
	for (i = 0; i < s->n; i++)
		if (s->nodes[i].up &&
		    swim_member_get(s->nodes[i].sw, name, &info) == 0 &&
		    (info.suspect || info.status == SWIM_FAILED))
			return 1;
	return 0;
}

static void
measure(int n, uint64_t seed, struct result *r)
{
	struct sim	 s;
	uint64_t	 t0, window;
	double		 w0 = wall(), sums = 0, sumf = 0, suma = 0;
	uint64_t	 ts;
	size_t		 up;
	int		 i, k, crashes = 3;

	memset(&s, 0, sizeof(s));
	memset(r, 0, sizeof(*r));
	r->n = n;
	s.rng = seed * 0x2545f4914f6cdd1dULL + 1;
	s.victim = -1;
	/* Cold start: n members within the first second. */
	for (i = 0; i < n; i++) {
		start(&s, i);
		if (i > 0)
			join(&s, i, (int)(rnd(&s) % (uint64_t)(i < 3 ? i : 3)));
		run(&s, 1000 / (uint64_t)n + (i % 2));
	}
	while (!converged(&s) && s.now < 600000)
		run(&s, STEP);
	r->cold = converged(&s) ? s.now / 1000.0 : -1;
	/* Quiet: no broadcast left in any queue. */
	while (queued(&s) > 0 && s.now < 900000)
		run(&s, 1000);
	/* Steady-state traffic over one push-pull period at this size. */
	window = pushpull_interval(s.nodes[0].sw);
	if (window < 60000)
		window = 60000;
	s.udp_bytes = s.udp_packets = s.tcp_bytes = 0;
	run(&s, window);
	r->udp_bps = (double)s.udp_bytes / n / (window / 1000.0);
	r->udp_pps = (double)s.udp_packets / n / (window / 1000.0);
	r->tcp_bps = (double)s.tcp_bytes / n / (window / 1000.0);
	/* One more member joins the converged cluster. */
	start(&s, n);
	join(&s, n, (int)(rnd(&s) % (uint64_t)n));
	for (t0 = s.now; !knows(&s, n) && s.now - t0 < 120000; )
		run(&s, 10);
	r->dissem = (s.now - t0) / 1000.0;
	run(&s, 10000);
	/* Crashes, one at a time. */
	for (k = 0; k < crashes; k++) {
		s.victim = 1 + (int)(rnd(&s) % (uint64_t)(n - 1));
		s.failed_about_victim = 0;
		crash(&s, s.victim);
		for (up = 0, i = 0; i < s.n; i++)
			up += s.nodes[i].up;
		t0 = s.now;
		for (ts = 0; s.failed_about_victim < up &&
		    s.now - t0 < 300000; ) {
			run(&s, 10);
			if (ts == 0 && suspected(&s))
				ts = s.now;
		}
		sums += (ts - t0) / 1000.0;
		sumf += (s.first_failed_at - t0) / 1000.0;
		suma += (s.now - t0) / 1000.0;
		run(&s, 5000);
	}
	r->suspect_first = sums / crashes;
	r->detect_first = sumf / crashes;
	r->detect_all = suma / crashes;
	r->wall = wall() - w0;
	sim_free(&s);
}

static void
false_positives(int n, int loss, uint64_t seconds, uint64_t seed)
{
	struct sim		 s;
	struct swim_stats	 st;
	uint64_t		 probes = 0, failed = 0, susp = 0;
	int			 i;

	memset(&s, 0, sizeof(s));
	s.rng = seed * 0x2545f4914f6cdd1dULL + 1;
	s.victim = -1;
	for (i = 0; i < n; i++) {
		start(&s, i);
		if (i > 0)
			join(&s, i, 0);
		run(&s, 10);
	}
	while (!converged(&s) && s.now < 120000)
		run(&s, STEP);
	for (i = 0; i < n; i++) {
		swim_stats(s.nodes[i].sw, &st);
		probes -= st.probes;
		failed -= st.probes_failed;
		susp -= st.suspicions;
	}
	s.loss_pct = loss;
	run(&s, seconds * 1000);
	for (i = 0; i < n; i++) {
		swim_stats(s.nodes[i].sw, &st);
		probes += st.probes;
		failed += st.probes_failed;
		susp += st.suspicions;
	}
	printf("swim loss %2d%%, %s, %d members, %llu s: %5.2f%% of "
	    "probes failed, %llu suspicions, %zu false failure declarations "
	    "(%.3f per member-hour)\n", loss,
	    udp_only ? "UDP probes only   " : "TCP fallback probe", n,
	    (unsigned long long)seconds, 100.0 * failed / probes,
	    (unsigned long long)(susp / (uint64_t)n), s.false_failed,
	    s.false_failed / (double)n / (seconds / 3600.0));
	sim_free(&s);
}

/* a + b log10(N) through the measured points, least squares. */
static double
predict(const struct result *r, size_t nr, size_t off, double at)
{
	double	 sx = 0, sy = 0, sxx = 0, sxy = 0, x, y, b, a;
	size_t	 i;

	for (i = 0; i < nr; i++) {
		x = log10(r[i].n);
		y = *(const double *)((const char *)&r[i] + off);
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
	}
	b = (nr * sxy - sx * sy) / (nr * sxx - sx * sx);
	a = (sy - b * sx) / nr;
	return a + b * log10(at);
}

static void
print_result(const struct result *r)
{
	printf("swim %5d members: cold start converged in %5.1f s; a join "
	    "reached all in %4.2f s\n", r->n, r->cold, r->dissem);
	printf("swim %5d members: a crash suspected after %4.1f s, declared "
	    "failed after %4.1f s, by all after %4.1f s\n", r->n,
	    r->suspect_first, r->detect_first, r->detect_all);
	printf("swim %5d members: steady traffic per member %4.0f B/s UDP "
	    "payload in %.2f packets/s (%4.0f B/s with IPv4+UDP headers) "
	    "+ %5.0f B/s TCP push-pull (%.1f s wall)\n", r->n, r->udp_bps,
	    r->udp_pps, r->udp_bps + 28 * r->udp_pps, r->tcp_bps, r->wall);
}

int
main(void)
{
	struct result	 r[3];
	static const int sizes[] = { 100, 300, 1000 };
	size_t		 nr = 0, i;
	double		 tcp;
	int		 quick = getenv("BENCH_QUICK") != NULL;

	for (i = 0; i < (quick ? 1 : 3); i++) {
		measure(sizes[i], 42 + i, &r[nr]);
		print_result(&r[nr++]);
		fflush(stdout);
	}
	if (nr == 3) {
		/* TCP grows as N / push-pull interval; 1,000's per entry. */
		tcp = r[2].tcp_bps / 1000 * 10000 *
		    (30.0 * 6) / (30.0 * 10);
		printf("swim 10000 members (extrapolated, not simulated): "
		    "a join reaches all in ~%.2f s; a crash declared failed "
		    "by all after ~%.1f s; per member ~%.0f B/s UDP + "
		    "~%.0f B/s TCP\n",
		    predict(r, nr, offsetof(struct result, dissem), 10000),
		    predict(r, nr, offsetof(struct result, detect_all), 10000),
		    r[2].udp_bps, tcp);
	}
	for (udp_only = 0; udp_only < 2; udp_only++) {
		false_positives(100, 5, quick ? 120 : 600, 7);
		false_positives(100, 20, quick ? 120 : 600, 8);
	}
	return 0;
}
