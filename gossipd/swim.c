/*
 * The SWIM core: failure detection by probes (direct, then indirect
 * through k members), dissemination by piggy-backing on every packet and
 * by periodic gossip, full-state push-pull over TCP, and the Lifeguard
 * refinements memberlist uses: local health awareness (a node that
 * misses acks and nacks probes less often and waits longer), suspicion
 * timeouts that shrink with independent confirmations, and the buddy
 * system (a suspect hears about it in the ping itself).  On top sits the
 * member life cycle Serf adds: failed and left members kept until
 * reconnect_timeout, reconnection attempts to failed members (which is
 * how a healed partition finds itself again), graceful leave and name
 * conflicts.  swim.h is the contract with the daemon.
 *
 * Incarnation numbers order what is said about a member: alive at i
 * overrides suspect or dead at j < i, and suspect or dead at i overrides
 * alive at i.  Only a member raises its own incarnation, to refute.
 *
 * Memory is bounded by the options: max_members members, queue_max
 * broadcasts, SWIM_RELAYS indirect probes in flight for others, and the
 * outputs the daemon has not taken yet (SWIM_OUT_BYTES).
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keyring.h"
#include "log.h"
#include "mpack.h"
#include "swim.h"
#include "swim_codec.h"

#define SWIM_CONFIRM_MAX	16	/* independent suspicions counted */
#define SWIM_RELAYS		64	/* probes we relay at once */
#define SWIM_TRANSMIT_MAX	64	/* ceiling of the retransmit limit */
#define SWIM_OUT_BYTES		(256 * 1024 * 1024)
#define SWIM_OUTS_MAX		65536
#define SWIM_PICK_MAX		16	/* gossip, indirect fan-out */
#define SWIM_FILL_MISSES	16	/* misfits before a packet is full */
#define SWIM_DECODED		8	/* messages kept decoded */
#define SWIM_PACKET_MIN		1200
#define SWIM_REAP_INTERVAL	15000
#define SWIM_FIX		16	/* fractional bits of fixed point */
#define SWIM_STREAM_TIMEOUT	10000	/* a push-pull exchange, as Consul */

struct member;

/* A message waiting to be piggy-backed, in bucket bq[transmits]. */
struct bcast {
	TAILQ_ENTRY(bcast)	 entry;
	struct member		*m;		/* what it is about */
	unsigned int		 transmits;
	size_t			 len;
	unsigned char		 data[];
};
TAILQ_HEAD(bcast_list, bcast);

struct suspicion {
	TAILQ_ENTRY(suspicion)	 entry;
	struct member		*m;
	uint64_t		 start;
	uint64_t		 min;
	uint64_t		 max;
	uint64_t		 deadline;
	uint64_t		 reannounce;	/* 0 once done */
	char			 accuser[SWIM_NAME_MAX];
	int			 k;		/* confirmations wanted */
	int			 n;		/* confirmations so far */
	uint64_t		 from[SWIM_CONFIRM_MAX]; /* hashes */
	size_t			 nfrom;
};
TAILQ_HEAD(suspicion_list, suspicion);

struct member {
	struct member		*hnext;		/* hash chain */
	char			*name;
	char			*tags;
	size_t			 tagslen;
	struct swim_addr	 addr;
	uint32_t		 incarnation;
	enum swim_state		 state;
	uint64_t		 since;
	size_t			 idx;		/* in mv[] */
	struct suspicion	*susp;
	struct bcast		*bcast;
};

/* An indirect probe we run for another member. */
struct relay {
	int			 used;
	int			 nack;
	uint32_t		 seq;		/* our ping to the target */
	uint32_t		 their;		/* the requester's */
	struct swim_addr	 requester;
	uint64_t		 deadline;
};

struct probe {
	int			 active;
	int			 indirect_sent;
	int			 expected_nacks;
	int			 nacks;
	struct member		*target;
	uint32_t		 seq;
	uint64_t		 direct_deadline;
};

enum pick_kind {
	PICK_GOSSIP,		/* alive, suspect or recently dead */
	PICK_ALIVE		/* alive only */
};

struct swim {
	struct swim_options	 opts;
	struct keyring		*kr;
	uint64_t		 rng;
	uint64_t		 now;

	struct member		**htab;		/* by name (SipHash) */
	size_t			 hsize;		/* a power of 2 */
	unsigned char		 hkey[crypto_shorthash_KEYBYTES];
	struct member		**mv;		/* all, in probe order */
	size_t			 nmv;
	size_t			 capmv;
	size_t			 probe_idx;
	struct member		*self;
	size_t			 n_alive;	/* or suspect; us too */
	size_t			 n_suspect;
	size_t			 n_dead;
	size_t			 n_left;

	struct bcast_list	 bq[SWIM_TRANSMIT_MAX];
	size_t			 nbcast;
	struct suspicion_list	 suspicions;
	struct relay		 relays[SWIM_RELAYS];
	struct probe		 probe;
	uint32_t		 seq;
	int			 awareness;

	uint64_t		 next_probe;
	uint64_t		 next_gossip;
	uint64_t		 next_pushpull;
	uint64_t		 next_reconnect;
	uint64_t		 next_reap;
	uint64_t		 leave_deadline;
	int			 leaving;
	int			 left;

	/* Outputs and events until swim_advance(); data in the arena. */
	unsigned char		*arena;
	size_t			 arena_len;
	size_t			 arena_cap;
	struct swim_out		*outs;
	size_t			*out_off;
	size_t			 n_outs;
	size_t			 cap_outs;
	struct swim_event	*evs;
	size_t			*ev_off;	/* name, tags */
	size_t			 n_evs;
	size_t			 cap_evs;
	int			 in_ready;

	unsigned char		*pkt;		/* being built */
	unsigned char		*rbuf;		/* being read */
	unsigned char		*enc;		/* a broadcast, encoded */
	struct swim_msg		 msg;		/* decode scratch */
	struct swim_msg		*dec;		/* [SWIM_DECODED] */
	struct swim_msg		 out_msg;	/* encode scratch */
	unsigned char		 ack_payload[SWIM_ACK_PAYLOAD_MAX];
	size_t			 ack_payloadlen;
	struct swim_stats	 st;
};

static void *
swim_calloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n ? n : 1, size)) == NULL)
		fatal("swim");
	return p;
}

static void *
swim_reallocarray(void *p, size_t n, size_t size)
{
	if ((p = reallocarray(p, n ? n : 1, size)) == NULL)
		fatal("swim");
	return p;
}

static char *
swim_memdup(const void *s, size_t len)
{
	char	*p;

	p = swim_calloc(1, len + 1);
	if (len > 0)
		memcpy(p, s, len);
	return p;
}

/* splitmix64, from the seed in the options. */
static uint64_t
swim_rand(struct swim *sw)
{
	uint64_t	 z;

	sw->rng += 0x9e3779b97f4a7c15ULL;
	z = sw->rng;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
swim_rand_n(struct swim *sw, uint64_t n)
{
	return n == 0 ? 0 : swim_rand(sw) % n;
}

static uint64_t
name_hash(const char *s)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/*
 * log2(x) in fixed point with SWIM_FIX fractional bits, x >= 1, by the
 * digit-by-digit squaring method; the core links no libm.
 */
static uint64_t
log2_fix(uint64_t x)
{
	uint64_t	 r, y;
	int		 b, i;

	if (x <= 1)
		return 0;
	b = 63 - __builtin_clzll(x);
	r = (uint64_t)b << SWIM_FIX;
	/* y = x / 2^b, in [1, 2) with 30 fractional bits */
	y = b >= 30 ? x >> (b - 30) : x << (30 - b);
	for (i = SWIM_FIX - 1; i >= 0; i--) {
		y = (y * y) >> 30;
		if (y >= 2ULL << 30) {
			y >>= 1;
			r |= 1ULL << i;
		}
	}
	return r;
}

/* log10(x) = log2(x) * log10(2) */
static uint64_t
log10_fix(uint64_t x)
{
	return log2_fix(x) * 19728 >> SWIM_FIX;
}

/* ceil(log10(n + 1)): the number of decimal digits of n. */
static unsigned int
digits(size_t n)
{
	unsigned int	 d = 0;

	for (; n > 0; n /= 10)
		d++;
	return d;
}

int
swim_addr_eq(const struct swim_addr *a, const struct swim_addr *b)
{
	size_t	 len = a->family == AF_INET6 ? 16 : 4;

	return a->family == b->family && a->port == b->port &&
	    memcmp(a->ip, b->ip, len) == 0;
}

static int
addr_valid(const struct swim_addr *a)
{
	return (a->family == AF_INET || a->family == AF_INET6) &&
	    a->port != 0;
}

/* Tags. */

int
swim_tag_next(const char *t, size_t len, size_t *off, const char **k,
    const char **v)
{
	size_t	 kl, vl;

	if (t == NULL || *off >= len)
		return 0;
	kl = strnlen(t + *off, len - *off);
	if (kl + 1 >= len - *off)
		return 0;
	vl = strnlen(t + *off + kl + 1, len - *off - kl - 1);
	if (vl + kl + 2 > len - *off)
		return 0;
	*k = t + *off;
	*v = t + *off + kl + 1;
	*off += kl + vl + 2;
	return 1;
}

const char *
swim_tag_get(const char *t, size_t len, const char *key)
{
	const char	*k, *v;
	size_t		 off = 0;

	while (swim_tag_next(t, len, &off, &k, &v))
		if (strcmp(k, key) == 0)
			return v;
	return NULL;
}

static int
tags_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/*
 * The member table: a hash table by name, keyed so that names chosen by
 * a peer cannot pile up in one chain, and an array in probe order.
 */

static size_t
member_bucket(const struct swim *sw, const char *name)
{
	uint64_t	 h;

	crypto_shorthash((unsigned char *)&h, (const unsigned char *)name,
	    strlen(name), sw->hkey);
	return (size_t)(h & (sw->hsize - 1));
}

static struct member *
member_find(const struct swim *sw, const char *name)
{
	struct member	*m;

	for (m = sw->htab[member_bucket(sw, name)]; m != NULL; m = m->hnext)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

static void
member_hash_insert(struct swim *sw, struct member *m)
{
	size_t	 b = member_bucket(sw, m->name);

	m->hnext = sw->htab[b];
	sw->htab[b] = m;
}

static void
member_hash_remove(struct swim *sw, struct member *m)
{
	struct member	**p;

	for (p = &sw->htab[member_bucket(sw, m->name)]; *p != NULL;
	    p = &(*p)->hnext) {
		if (*p == m) {
			*p = m->hnext;
			return;
		}
	}
}

/* Keep chains short: twice the buckets once members outnumber them. */
static void
member_hash_grow(struct swim *sw)
{
	size_t	 i;

	if (sw->nmv < sw->hsize)
		return;
	free(sw->htab);
	sw->hsize *= 2;
	sw->htab = swim_calloc(sw->hsize, sizeof(*sw->htab));
	for (i = 0; i < sw->nmv; i++)
		member_hash_insert(sw, sw->mv[i]);
}

static void
count_state(struct swim *sw, enum swim_state state, int delta)
{
	switch (state) {
	case SWIM_STATE_SUSPECT:
		sw->n_suspect += delta;
		/* FALLTHROUGH */
	case SWIM_STATE_ALIVE:
		sw->n_alive += delta;
		break;
	case SWIM_STATE_DEAD:
		sw->n_dead += delta;
		break;
	case SWIM_STATE_LEFT:
		sw->n_left += delta;
		break;
	}
}

static void
set_state(struct swim *sw, struct member *m, enum swim_state state,
    uint64_t now)
{
	if (m->state == state)
		return;
	count_state(sw, m->state, -1);
	count_state(sw, state, 1);
	m->state = state;
	m->since = now;
}

static void
set_tags(struct member *m, const char *tags, size_t len)
{
	if (tags_eq(m->tags, m->tagslen, tags, len))
		return;
	free(m->tags);
	m->tags = swim_memdup(tags, len);
	m->tagslen = len;
}

static struct member *
member_add(struct swim *sw, const char *name, const struct swim_addr *addr,
    uint32_t inc, const char *tags, size_t tagslen, uint64_t now)
{
	struct member	*m, *o;
	size_t		 j;

	m = swim_calloc(1, sizeof(*m));
	m->name = swim_memdup(name, strlen(name));
	m->tags = swim_memdup(tags, tagslen);
	m->tagslen = tagslen;
	m->addr = *addr;
	m->incarnation = inc;
	m->state = SWIM_STATE_ALIVE;
	m->since = now;
	member_hash_insert(sw, m);
	if (sw->nmv == sw->capmv) {
		sw->capmv = sw->capmv ? sw->capmv * 2 : 64;
		sw->mv = swim_reallocarray(sw->mv, sw->capmv, sizeof(*sw->mv));
	}
	/* At a random place, so that no member is always probed last. */
	j = swim_rand_n(sw, sw->nmv + 1);
	o = j < sw->nmv ? sw->mv[j] : NULL;
	if (o != NULL) {
		o->idx = sw->nmv;
		sw->mv[sw->nmv] = o;
	}
	m->idx = j;
	sw->mv[j] = m;
	sw->nmv++;
	member_hash_grow(sw);
	count_state(sw, m->state, 1);
	return m;
}

static void
bcast_free(struct swim *sw, struct bcast *b)
{
	TAILQ_REMOVE(&sw->bq[b->transmits], b, entry);
	if (b->m != NULL)
		b->m->bcast = NULL;
	free(b);
	sw->nbcast--;
}

static void
suspicion_free(struct swim *sw, struct member *m)
{
	if (m->susp == NULL)
		return;
	TAILQ_REMOVE(&sw->suspicions, m->susp, entry);
	free(m->susp);
	m->susp = NULL;
}

static void
member_remove(struct swim *sw, struct member *m)
{
	struct member	*last;

	suspicion_free(sw, m);
	if (m->bcast != NULL)
		bcast_free(sw, m->bcast);
	if (sw->probe.target == m) {
		sw->probe.active = 0;
		sw->probe.target = NULL;
	}
	member_hash_remove(sw, m);
	last = sw->mv[--sw->nmv];
	sw->mv[m->idx] = last;
	last->idx = m->idx;
	count_state(sw, m->state, -1);
	free(m->name);
	free(m->tags);
	free(m);
}

static enum swim_status
member_status(const struct swim *sw, const struct member *m)
{
	if (m == sw->self && sw->leaving)
		return sw->left ? SWIM_LEFT : SWIM_LEAVING;
	switch (m->state) {
	case SWIM_STATE_ALIVE:
	case SWIM_STATE_SUSPECT:
		return SWIM_ALIVE;
	case SWIM_STATE_DEAD:
		return SWIM_FAILED;
	case SWIM_STATE_LEFT:
		return SWIM_LEFT;
	}
	return SWIM_NONE;
}

static void
member_info(const struct swim *sw, const struct member *m,
    struct swim_member_info *info)
{
	info->name = m->name;
	info->addr = m->addr;
	info->tags = m->tags;
	info->tagslen = m->tagslen;
	info->status = member_status(sw, m);
	info->suspect = m->state == SWIM_STATE_SUSPECT;
	info->incarnation = m->incarnation;
	info->since = m->since;
}

/* The state of a member as it is told to others. */
static enum swim_state
member_wire_state(const struct swim *sw, const struct member *m)
{
	if (m == sw->self && sw->leaving)
		return SWIM_STATE_LEFT;
	return m->state;
}

/* Outputs and events, in the arena until swim_advance(). */

static unsigned char *
arena_grow(struct swim *sw, size_t len)
{
	size_t	 cap;

	if (sw->arena_len + len > sw->arena_cap) {
		cap = sw->arena_cap ? sw->arena_cap : 16384;
		while (cap < sw->arena_len + len)
			cap *= 2;
		sw->arena = swim_reallocarray(sw->arena, cap, 1);
		sw->arena_cap = cap;
	}
	return sw->arena + sw->arena_len;
}

/* Event strings; events are never dropped, so this is not bounded. */
static size_t
arena_copy(struct swim *sw, const void *p, size_t len)
{
	unsigned char	*d;
	size_t		 off = sw->arena_len;

	d = arena_grow(sw, len + 1);
	if (len > 0)
		memcpy(d, p, len);
	d[len] = '\0';
	sw->arena_len += len + 1;
	return off;
}

static struct swim_out *
out_add(struct swim *sw, enum swim_out_type type, size_t len)
{
	struct swim_out	*o;

	if (sw->n_outs == sw->cap_outs) {
		sw->cap_outs = sw->cap_outs ? sw->cap_outs * 2 : 64;
		sw->outs = swim_reallocarray(sw->outs, sw->cap_outs,
		    sizeof(*sw->outs));
		sw->out_off = swim_reallocarray(sw->out_off, sw->cap_outs,
		    sizeof(*sw->out_off));
	}
	o = &sw->outs[sw->n_outs];
	memset(o, 0, sizeof(*o));
	o->type = type;
	o->len = len;
	sw->out_off[sw->n_outs++] = sw->arena_len;
	sw->arena_len += len;
	return o;
}

/* Wrap (seal) a message into the arena as an output. */
static struct swim_out *
emit(struct swim *sw, enum swim_out_type type, enum keyring_chan chan,
    const void *msg, size_t len)
{
	unsigned char	*d;
	size_t		 wlen;

	if (sw->n_outs >= SWIM_OUTS_MAX ||
	    len + KEYRING_OVERHEAD > SWIM_OUT_BYTES - sw->arena_len) {
		sw->st.drop_outputs++;
		return NULL;
	}
	d = arena_grow(sw, len + KEYRING_OVERHEAD);
	if (keyring_wrap(sw->kr, chan, msg, len, d, len + KEYRING_OVERHEAD,
	    &wlen) != KEYRING_OK)
		fatalx("swim: cannot seal a message");
	return out_add(sw, type, wlen);
}

/* A new event, zeroed; its strings follow in ev_off. */
static struct swim_event *
ev_new(struct swim *sw)
{
	struct swim_event	*e;

	if (sw->n_evs == sw->cap_evs) {
		sw->cap_evs = sw->cap_evs ? sw->cap_evs * 2 : 64;
		sw->evs = swim_reallocarray(sw->evs, sw->cap_evs,
		    sizeof(*sw->evs));
		sw->ev_off = swim_reallocarray(sw->ev_off, sw->cap_evs,
		    2 * sizeof(*sw->ev_off));
	}
	e = &sw->evs[sw->n_evs];
	memset(e, 0, sizeof(*e));
	return e;
}

static void
emit_event(struct swim *sw, enum swim_event_type type, struct member *m,
    const struct swim_addr *other)
{
	struct swim_event	*e;

	e = ev_new(sw);
	e->type = type;
	member_info(sw, m, &e->member);
	if (other != NULL)
		e->other = *other;
	sw->ev_off[2 * sw->n_evs] = arena_copy(sw, m->name, strlen(m->name));
	sw->ev_off[2 * sw->n_evs + 1] = arena_copy(sw, m->tags, m->tagslen);
	sw->n_evs++;
}

/* A user message as an event: its bytes where an event keeps tags. */
static void
emit_user(struct swim *sw, const struct swim_addr *from, const void *data,
    size_t len)
{
	struct swim_event	*e;

	e = ev_new(sw);
	e->type = SWIM_EV_USER;
	e->other = *from;
	e->len = len;
	sw->ev_off[2 * sw->n_evs] = arena_copy(sw, "", 0);
	sw->ev_off[2 * sw->n_evs + 1] = arena_copy(sw, data, len);
	sw->n_evs++;
}

/* Our probe's ack with the target's payload, where USER keeps its bytes. */
static void
emit_ack(struct swim *sw, struct member *m, uint32_t seq, const void *data,
    size_t len)
{
	struct swim_event	*e;

	e = ev_new(sw);
	e->type = SWIM_EV_ACK;
	member_info(sw, m, &e->member);
	e->seq = seq;
	e->len = len;
	sw->ev_off[2 * sw->n_evs] = arena_copy(sw, m->name, strlen(m->name));
	sw->ev_off[2 * sw->n_evs + 1] = arena_copy(sw, data, len);
	sw->n_evs++;
}

/*
 * Broadcasts.  A member has at most one message queued about it: a newer
 * one replaces it.  The queue is bucketed by transmit count so that the
 * least sent go first, newest first within a bucket.  Each member passes
 * a message on retransmit_mult * ceil(log10(n + 1)) times: an epidemic
 * needs on the order of log n rounds to reach n members.
 */

static unsigned int
retransmit_limit(const struct swim *sw)
{
	unsigned int	 l;

	l = (unsigned int)sw->opts.retransmit_mult * digits(sw->n_alive);
	if (l < 1)
		l = 1;
	return l < SWIM_TRANSMIT_MAX ? l : SWIM_TRANSMIT_MAX;
}

static size_t
packet_room(const struct swim *sw)
{
	return sw->opts.packet_size - KEYRING_OVERHEAD - SWIM_PACKET_HDR;
}

/* One message into buf; -1 if it does not fit in cap. */
static int
msg_encode(struct swim *sw, const struct swim_msg *m, unsigned char *buf,
    size_t cap, size_t *len)
{
	struct swim_wbuf	 w;
	msgpack_packer		 pk;

	swim_wbuf_init(&w, &pk, buf, cap);
	swim_msg_pack(&pk, m);
	*len = w.len;
	return w.overflow ? -1 : 0;
}

/* About member m (one at a time), or a user message (m NULL). */
static int
bcast_queue(struct swim *sw, struct member *m, const struct swim_msg *msg)
{
	struct bcast	*b;
	size_t		 len;
	int		 i;

	if (m != NULL && m->bcast != NULL)
		bcast_free(sw, m->bcast);
	/* Too large for our packets: push-pull will carry it instead. */
	if (msg_encode(sw, msg, sw->enc, packet_room(sw), &len) == -1)
		return -1;
	if (sw->nbcast >= sw->opts.queue_max) {
		/* Drop the oldest of the most sent. */
		for (i = SWIM_TRANSMIT_MAX - 1; i >= 0; i--)
			if (!TAILQ_EMPTY(&sw->bq[i]))
				break;
		bcast_free(sw, TAILQ_LAST(&sw->bq[i], bcast_list));
		sw->st.drop_broadcasts++;
	}
	b = swim_calloc(1, sizeof(*b) + len);
	b->m = m;
	b->len = len;
	memcpy(b->data, sw->enc, len);
	TAILQ_INSERT_HEAD(&sw->bq[0], b, entry);
	if (m != NULL)
		m->bcast = b;
	sw->nbcast++;
	return 0;
}

/*
 * Fill buf with queued broadcasts that fit; returns how many.  What is
 * taken moves up a bucket afterwards, so one packet never carries a
 * message twice; past the limit it is dropped.  Once a few have not fit
 * the packet counts as full: searching a long queue for a small enough
 * message would cost more than the bytes are worth.
 */
static size_t
bcast_fill(struct swim *sw, unsigned char *buf, size_t cap, size_t *used)
{
	struct bcast	*b, *taken[SWIM_PACKET_MSGS_MAX];
	unsigned int	 limit, t, misses = 0;
	size_t		 n = 0, i, off = 0;

	*used = 0;
	limit = retransmit_limit(sw);
	for (t = limit; t < SWIM_TRANSMIT_MAX; t++)
		while ((b = TAILQ_FIRST(&sw->bq[t])) != NULL)
			bcast_free(sw, b);
	for (t = 0; t < limit && misses < SWIM_FILL_MISSES; t++) {
		TAILQ_FOREACH(b, &sw->bq[t], entry) {
			if (n == SWIM_PACKET_MSGS_MAX ||
			    misses == SWIM_FILL_MISSES)
				break;
			if (b->len > cap - off) {
				misses++;
				continue;
			}
			memcpy(buf + off, b->data, b->len);
			off += b->len;
			taken[n++] = b;
		}
	}
	for (i = 0; i < n; i++) {
		b = taken[i];
		if (b->transmits + 1 >= limit) {
			bcast_free(sw, b);
			continue;
		}
		TAILQ_REMOVE(&sw->bq[b->transmits], b, entry);
		b->transmits++;
		TAILQ_INSERT_HEAD(&sw->bq[b->transmits], b, entry);
	}
	*used = off;
	return n;
}

/*
 * Send a packet: the primary message (and the buddy-system suspect, when
 * given), then as many broadcasts as fit.  Without a primary, nothing is
 * sent unless there is a broadcast.
 */
static struct swim_out *
send_packet(struct swim *sw, const struct swim_addr *to,
    const struct swim_msg *primary, const struct swim_msg *extra)
{
	struct swim_wbuf	 w;
	struct swim_out		*o;
	msgpack_packer		 pk;
	size_t			 n = 0, nb, used, room = packet_room(sw);

	swim_wbuf_init(&w, &pk, sw->pkt + SWIM_PACKET_HDR, room);
	if (primary != NULL) {
		swim_msg_pack(&pk, primary);
		n++;
	}
	if (extra != NULL) {
		swim_msg_pack(&pk, extra);
		n++;
	}
	if (w.overflow)
		fatalx("swim: message larger than a packet");
	nb = bcast_fill(sw, sw->pkt + SWIM_PACKET_HDR + w.len, room - w.len,
	    &used);
	if (n + nb == 0)
		return NULL;
	swim_packet_header(sw->pkt, n + nb);
	o = emit(sw, SWIM_OUT_PACKET, KEYRING_PACKET, sw->pkt,
	    SWIM_PACKET_HDR + w.len + used);
	if (o == NULL)
		return NULL;
	o->to = *to;
	sw->st.packets_sent++;
	sw->st.bytes_sent += o->len;
	return o;
}

static void
msg_about(struct swim_msg *msg, enum swim_msg_type type,
    const struct member *m, const char *from)
{
	memset(msg, 0, offsetof(struct swim_msg, tags));
	msg->type = type;
	msg->incarnation = m->incarnation;
	strlcpy(msg->node, m->name, sizeof(msg->node));
	if (from != NULL)
		strlcpy(msg->from, from, sizeof(msg->from));
	msg->addr = m->addr;
	msg->tagslen = 0;
	if (type == SWIM_MSG_ALIVE) {
		memcpy(msg->tags, m->tags, m->tagslen);
		msg->tagslen = m->tagslen;
	}
}

static void
broadcast(struct swim *sw, struct member *m, enum swim_msg_type type,
    const char *from)
{
	msg_about(&sw->out_msg, type, m, from);
	(void)bcast_queue(sw, m, &sw->out_msg);
}

/* One message alone on a stream: the fallback probe and its ack. */
static void
stream_msg(struct swim *sw, enum swim_out_type type,
    const struct swim_addr *to, uint64_t conn, const struct swim_msg *m)
{
	struct swim_out	*o;
	size_t		 len;

	if (msg_encode(sw, m, sw->pkt, SWIM_PACKET_MAX, &len) == -1)
		fatalx("swim: stream message too large");
	if ((o = emit(sw, type, KEYRING_STREAM, sw->pkt, len)) == NULL)
		return;
	if (to != NULL)
		o->to = *to;
	o->conn = conn;
	/* A fallback probe is worth nothing after its period. */
	if (type == SWIM_OUT_STREAM)
		o->deadline = sw->next_probe;
	sw->st.streams_sent++;
	sw->st.stream_bytes_sent += o->len;
}

/* Push-pull: our whole state, self first. */

static void
stream_out(struct swim *sw, enum swim_out_type type,
    const struct swim_addr *to, uint64_t conn, int join)
{
	struct mpack_out	 ents, msg;
	struct swim_out		*o;
	struct member		*m;
	size_t			 i, n = 0;

	mpack_out_init(&ents);
	for (i = 0; i <= sw->nmv; i++) {
		m = i == 0 ? sw->self : sw->mv[i - 1];
		if (i > 0 && m == sw->self)
			continue;
		msg_about(&sw->out_msg, SWIM_MSG_ALIVE, m, NULL);
		sw->out_msg.state = member_wire_state(sw, m);
		swim_entry_pack(&ents.pk, &sw->out_msg);
		n++;
		/* A state too large for a frame is cut short. */
		if (ents.sbuf.size > SWIM_STREAM_MAX - 64 * 1024)
			break;
	}
	mpack_out_init(&msg);
	swim_pushpull_pack(&msg.pk, join, type == SWIM_OUT_REPLY,
	    sw->self->name, n);
	msgpack_sbuffer_write(&msg.sbuf, ents.sbuf.data, ents.sbuf.size);
	o = emit(sw, type, KEYRING_STREAM, msg.sbuf.data, msg.sbuf.size);
	if (o != NULL) {
		o->to = *to;
		o->conn = conn;
		o->join = join;
		if (type == SWIM_OUT_STREAM)
			o->deadline = sw->now + SWIM_STREAM_TIMEOUT;
		sw->st.streams_sent++;
		sw->st.stream_bytes_sent += o->len;
	}
	mpack_out_free(&ents);
	mpack_out_free(&msg);
}

/* Picking members at random. */

static int
pick_ok(const struct swim *sw, const struct member *m, enum pick_kind kind,
    const struct member *exclude, uint64_t now)
{
	if (m == sw->self || m == exclude)
		return 0;
	switch (m->state) {
	case SWIM_STATE_ALIVE:
		return 1;
	case SWIM_STATE_SUSPECT:
		return kind == PICK_GOSSIP;
	case SWIM_STATE_DEAD:
		/* Tell the recently dead, who may be alive and refute. */
		return kind == PICK_GOSSIP &&
		    now - m->since < sw->opts.gossip_to_dead;
	case SWIM_STATE_LEFT:
		return 0;
	}
	return 0;
}

static int
picked(struct member **out, size_t n, const struct member *m)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (out[i] == m)
			return 1;
	return 0;
}

static size_t
pick_members(struct swim *sw, struct member **out, size_t k,
    enum pick_kind kind, const struct member *exclude, uint64_t now)
{
	struct member	*m;
	size_t		 n = 0, tries, i, start;

	if (sw->nmv == 0 || k == 0)
		return 0;
	/* Random draws first: cheap when most members qualify. */
	for (tries = 0; n < k && tries < 3 * k + 8; tries++) {
		m = sw->mv[swim_rand_n(sw, sw->nmv)];
		if (pick_ok(sw, m, kind, exclude, now) && !picked(out, n, m))
			out[n++] = m;
	}
	if (n == k)
		return n;
	start = swim_rand_n(sw, sw->nmv);
	for (i = 0; i < sw->nmv && n < k; i++) {
		m = sw->mv[(start + i) % sw->nmv];
		if (pick_ok(sw, m, kind, exclude, now) && !picked(out, n, m))
			out[n++] = m;
	}
	return n;
}

/* Local health awareness: 0 is healthy, awareness_max - 1 the worst. */
static void
awareness_apply(struct swim *sw, int delta)
{
	sw->awareness += delta;
	if (sw->awareness < 0)
		sw->awareness = 0;
	if (sw->awareness > sw->opts.awareness_max - 1)
		sw->awareness = sw->opts.awareness_max - 1;
}

static uint64_t
awareness_scale(const struct swim *sw, uint64_t t)
{
	return t * (uint64_t)(sw->awareness + 1);
}

/*
 * Suspicion.  The timeout starts at max and falls towards min as
 * independent members confirm, following log(n + 1) / log(k + 1): with k
 * confirmations it reaches min.  min grows with log10 of the cluster
 * size, since dissemination takes that long.
 */

static uint64_t
suspicion_timeout(const struct suspicion *s)
{
	uint64_t	 frac, cut, t;

	if (s->k < 1)
		return s->min;
	frac = (log2_fix((uint64_t)s->n + 1) << SWIM_FIX) /
	    log2_fix((uint64_t)s->k + 1);
	cut = ((s->max - s->min) * frac) >> SWIM_FIX;
	t = s->max > cut ? s->max - cut : 0;
	return t < s->min ? s->min : t;
}

static void
suspicion_start(struct swim *sw, struct member *m, const char *from,
    uint64_t now)
{
	struct suspicion	*s;
	uint64_t		 scale;
	int			 k;

	suspicion_free(sw, m);
	s = swim_calloc(1, sizeof(*s));
	s->m = m;
	s->start = now;
	/* Us and the suspect cannot confirm. */
	k = sw->opts.suspicion_mult - 2;
	if ((int64_t)sw->n_alive - 2 < k)
		k = 0;
	if (k > SWIM_CONFIRM_MAX - 1)
		k = SWIM_CONFIRM_MAX - 1;
	s->k = k;
	scale = log10_fix(sw->n_alive);
	if (scale < 1ULL << SWIM_FIX)
		scale = 1ULL << SWIM_FIX;
	s->min = ((uint64_t)sw->opts.suspicion_mult * scale *
	    sw->opts.probe_interval) >> SWIM_FIX;
	s->max = (uint64_t)sw->opts.suspicion_max_mult * s->min;
	s->from[s->nfrom++] = name_hash(from);
	strlcpy(s->accuser, from, sizeof(s->accuser));
	s->deadline = now + suspicion_timeout(s);
	s->reannounce = now + (s->deadline - now) / 2;
	TAILQ_INSERT_TAIL(&sw->suspicions, s, entry);
	m->susp = s;
	sw->st.suspicions++;
}

/* 1 if from is a new, counted confirmation. */
static int
suspicion_confirm(struct suspicion *s, const char *from)
{
	uint64_t	 h = name_hash(from);
	size_t		 i;

	if (s->n >= s->k)
		return 0;
	for (i = 0; i < s->nfrom; i++)
		if (s->from[i] == h)
			return 0;
	s->from[s->nfrom++] = h;
	s->n++;
	s->deadline = s->start + suspicion_timeout(s);
	if (s->reannounce != 0)
		s->reannounce = s->start + (s->deadline - s->start) / 2;
	return 1;
}

/*
 * Halfway through, say it once more (unless something newer about the
 * member is queued).  A member that missed the refutation everyone else
 * heard holds a suspicion nobody repeats, and would declare a live
 * member dead alone; this gives those who know better a message to
 * correct (see correct_stale()).  Where the suspicion is shared, the
 * repeat confirms nothing, since the accuser is the same one.
 */
static void
suspicion_reannounce(struct swim *sw, struct suspicion *s)
{
	s->reannounce = 0;
	if (s->m->bcast == NULL)
		broadcast(sw, s->m, SWIM_MSG_SUSPECT, s->accuser);
}

/* State changes, from any source: packet, push-pull or our own probes. */

static void
refute(struct swim *sw, uint32_t inc)
{
	struct member	*self = sw->self;

	if (inc >= self->incarnation) {
		if (inc == UINT32_MAX)
			return;		/* cannot go higher */
		self->incarnation = inc + 1;
	}
	broadcast(sw, self, SWIM_MSG_ALIVE, NULL);
	awareness_apply(sw, 1);
	sw->st.refutes++;
}

static void
handle_alive(struct swim *sw, const struct swim_msg *a, uint64_t now)
{
	struct member		*m;
	enum swim_state		 prev;
	int			 moved, changed;

	if ((m = member_find(sw, a->node)) == NULL) {
		if (sw->nmv >= sw->opts.max_members) {
			sw->st.drop_members++;
			return;
		}
		m = member_add(sw, a->node, &a->addr, a->incarnation, a->tags,
		    a->tagslen, now);
		broadcast(sw, m, SWIM_MSG_ALIVE, NULL);
		emit_event(sw, SWIM_EV_JOIN, m, NULL);
		return;
	}
	moved = !swim_addr_eq(&m->addr, &a->addr);
	if (moved) {
		/* A name may move to a new address once its owner is gone. */
		if (m == sw->self || !(m->state == SWIM_STATE_LEFT ||
		    (m->state == SWIM_STATE_DEAD &&
		    now - m->since >= sw->opts.dead_reclaim))) {
			sw->st.conflicts++;
			emit_event(sw, SWIM_EV_CONFLICT, m, &a->addr);
			return;
		}
	}
	if (m == sw->self) {
		if (sw->leaving || a->incarnation < m->incarnation ||
		    (a->incarnation == m->incarnation &&
		    tags_eq(a->tags, a->tagslen, m->tags, m->tagslen)))
			return;
		/* An older life of ours, or an impostor: say who we are. */
		refute(sw, a->incarnation);
		return;
	}
	if (a->incarnation <= m->incarnation && !moved)
		return;
	prev = m->state;
	changed = moved || !tags_eq(a->tags, a->tagslen, m->tags, m->tagslen);
	suspicion_free(sw, m);
	m->incarnation = a->incarnation;
	m->addr = a->addr;
	set_tags(m, a->tags, a->tagslen);
	set_state(sw, m, SWIM_STATE_ALIVE, now);
	broadcast(sw, m, SWIM_MSG_ALIVE, NULL);
	if (prev == SWIM_STATE_DEAD || prev == SWIM_STATE_LEFT)
		emit_event(sw, SWIM_EV_JOIN, m, NULL);
	else if (changed)
		emit_event(sw, SWIM_EV_UPDATE, m, NULL);
}

static void
handle_suspect(struct swim *sw, uint32_t inc, const char *node,
    const char *from, uint64_t now)
{
	struct member	*m;

	if ((m = member_find(sw, node)) == NULL || inc < m->incarnation ||
	    m->state == SWIM_STATE_DEAD || m->state == SWIM_STATE_LEFT)
		return;
	if (m == sw->self) {
		if (!sw->leaving)
			refute(sw, inc);
		return;
	}
	if (m->state == SWIM_STATE_SUSPECT && m->susp != NULL &&
	    inc == m->incarnation) {
		/* Pass new confirmations on, so others shorten theirs. */
		if (suspicion_confirm(m->susp, from))
			broadcast(sw, m, SWIM_MSG_SUSPECT, from);
		return;
	}
	/*
	 * A new suspicion, or one of a later incarnation: the member has
	 * refuted the old one, which must not be confirmed by the new.
	 */
	m->incarnation = inc;
	set_state(sw, m, SWIM_STATE_SUSPECT, now);
	suspicion_start(sw, m, from, now);
	broadcast(sw, m, SWIM_MSG_SUSPECT, from);
}

static void
handle_dead(struct swim *sw, uint32_t inc, const char *node,
    const char *from, uint64_t now)
{
	struct member	*m;
	int		 leave = strcmp(node, from) == 0;

	if ((m = member_find(sw, node)) == NULL || inc < m->incarnation ||
	    m->state == SWIM_STATE_LEFT)
		return;
	if (m->state == SWIM_STATE_DEAD) {
		/* A failed member may still be said to have left. */
		if (!leave)
			return;
		set_state(sw, m, SWIM_STATE_LEFT, now);
		broadcast(sw, m, SWIM_MSG_DEAD, m->name);
		emit_event(sw, SWIM_EV_LEAVE, m, NULL);
		return;
	}
	if (m == sw->self) {
		if (!sw->leaving)
			refute(sw, inc);
		return;
	}
	suspicion_free(sw, m);
	m->incarnation = inc;
	set_state(sw, m, leave ? SWIM_STATE_LEFT : SWIM_STATE_DEAD, now);
	broadcast(sw, m, SWIM_MSG_DEAD, from);
	emit_event(sw, leave ? SWIM_EV_LEAVE : SWIM_EV_FAILED, m, NULL);
}

/* Probing. */

static void
probe_start(struct swim *sw, uint64_t now)
{
	struct swim_msg	 suspect;
	struct swim_out	*o;
	struct member	*m = NULL, *c, *t;
	size_t		 tries, j;

	sw->next_probe = now + awareness_scale(sw, sw->opts.probe_interval);
	for (tries = 0; tries < sw->nmv && m == NULL; tries++) {
		if (sw->probe_idx >= sw->nmv) {
			/* A new random order for every round. */
			for (j = sw->nmv; j > 1; j--) {
				c = sw->mv[j - 1];
				t = sw->mv[swim_rand_n(sw, j)];
				sw->mv[j - 1] = t;
				sw->mv[t->idx] = c;
				c->idx = t->idx;
				t->idx = j - 1;
			}
			sw->probe_idx = 0;
		}
		c = sw->mv[sw->probe_idx++];
		if (c != sw->self && (c->state == SWIM_STATE_ALIVE ||
		    c->state == SWIM_STATE_SUSPECT))
			m = c;
	}
	if (m == NULL)
		return;
	memset(&sw->probe, 0, sizeof(sw->probe));
	sw->probe.active = 1;
	sw->probe.target = m;
	sw->probe.seq = ++sw->seq;
	sw->probe.direct_deadline = now + sw->opts.probe_timeout;
	memset(&sw->out_msg, 0, offsetof(struct swim_msg, tags));
	sw->out_msg.type = SWIM_MSG_PING;
	sw->out_msg.seq = sw->probe.seq;
	strlcpy(sw->out_msg.node, m->name, sizeof(sw->out_msg.node));
	sw->out_msg.tagslen = 0;
	/* Buddy system: a suspect learns it is one from the probe itself. */
	if (m->state == SWIM_STATE_SUSPECT && m->susp != NULL) {
		msg_about(&suspect, SWIM_MSG_SUSPECT, m, sw->self->name);
		o = send_packet(sw, &m->addr, &sw->out_msg, &suspect);
	} else
		o = send_packet(sw, &m->addr, &sw->out_msg, NULL);
	if (o != NULL)
		o->probe = sw->probe.seq;
	sw->st.probes++;
}

static void
probe_indirect(struct swim *sw)
{
	struct member	*via[SWIM_PICK_MAX], *t = sw->probe.target;
	size_t		 n, i;

	sw->probe.indirect_sent = 1;
	n = pick_members(sw, via, (size_t)sw->opts.indirect_checks,
	    PICK_ALIVE, t, sw->now);
	memset(&sw->out_msg, 0, offsetof(struct swim_msg, tags));
	sw->out_msg.type = SWIM_MSG_INDIRECT;
	sw->out_msg.seq = sw->probe.seq;
	strlcpy(sw->out_msg.node, t->name, sizeof(sw->out_msg.node));
	sw->out_msg.addr = t->addr;
	sw->out_msg.nack = 1;
	sw->out_msg.tagslen = 0;
	for (i = 0; i < n; i++)
		send_packet(sw, &via[i]->addr, &sw->out_msg, NULL);
	sw->probe.expected_nacks = (int)n;
	/*
	 * And straight to the target over TCP, as memberlist does: a host
	 * whose UDP is lossy or filtered is not declared dead for it.
	 */
	if (!sw->opts.disable_tcp_pings) {
		memset(&sw->out_msg, 0, offsetof(struct swim_msg, tags));
		sw->out_msg.type = SWIM_MSG_PING;
		sw->out_msg.seq = sw->probe.seq;
		strlcpy(sw->out_msg.node, t->name, sizeof(sw->out_msg.node));
		sw->out_msg.tagslen = 0;
		stream_msg(sw, SWIM_OUT_STREAM, &t->addr, 0, &sw->out_msg);
	}
}

/*
 * No ack by the end of the period.  Missing nacks count against our own
 * health: the relays are presumed alive, so if they could not reach us
 * either, the fault is likelier ours than the target's.
 */
static void
probe_fail(struct swim *sw, uint64_t now)
{
	struct member	*t = sw->probe.target;
	int		 delta;

	sw->probe.active = 0;
	sw->st.probes_failed++;
	if (sw->probe.expected_nacks > 0)
		delta = sw->probe.expected_nacks - sw->probe.nacks;
	else
		delta = 1;
	awareness_apply(sw, delta > 0 ? delta : 0);
	if (t != NULL && (t->state == SWIM_STATE_ALIVE ||
	    t->state == SWIM_STATE_SUSPECT))
		handle_suspect(sw, t->incarnation, t->name, sw->self->name,
		    now);
}

static void
send_seq(struct swim *sw, enum swim_msg_type type, uint32_t seq,
    const struct swim_addr *to)
{
	memset(&sw->out_msg, 0, offsetof(struct swim_msg, tags));
	sw->out_msg.type = type;
	sw->out_msg.seq = seq;
	sw->out_msg.tagslen = 0;
	send_packet(sw, to, &sw->out_msg, NULL);
}

static void
relay_start(struct swim *sw, const struct swim_addr *from,
    const struct swim_msg *req, uint64_t now)
{
	struct relay	*r = NULL;
	size_t		 i;

	for (i = 0; i < SWIM_RELAYS && r == NULL; i++)
		if (!sw->relays[i].used)
			r = &sw->relays[i];
	if (r == NULL) {
		sw->st.drop_relays++;
		return;
	}
	r->used = 1;
	r->nack = req->nack;
	r->seq = ++sw->seq;
	r->their = req->seq;
	r->requester = *from;
	r->deadline = now + sw->opts.probe_timeout;
	memset(&sw->out_msg, 0, offsetof(struct swim_msg, tags));
	sw->out_msg.type = SWIM_MSG_PING;
	sw->out_msg.seq = r->seq;
	strlcpy(sw->out_msg.node, req->node, sizeof(sw->out_msg.node));
	sw->out_msg.tagslen = 0;
	send_packet(sw, &req->addr, &sw->out_msg, NULL);
}

/* Our ack to a probe of us, with the payload set for acks. */
static void
send_ack(struct swim *sw, enum swim_out_type type, uint32_t seq,
    const struct swim_addr *to, uint64_t conn)
{
	memset(&sw->out_msg, 0, offsetof(struct swim_msg, tags));
	sw->out_msg.type = SWIM_MSG_ACK;
	sw->out_msg.seq = seq;
	sw->out_msg.payload = sw->ack_payload;
	sw->out_msg.payloadlen = sw->ack_payloadlen;
	sw->out_msg.tagslen = 0;
	if (type == SWIM_OUT_PACKET)
		send_packet(sw, to, &sw->out_msg, NULL);
	else
		stream_msg(sw, type, NULL, conn, &sw->out_msg);
}

/*
 * An ack, with the payload it carried (UDP only; NULL otherwise).  Only
 * the direct answer of the target itself, before the probe went
 * indirect, times a round trip: a relay's ack carries no payload, and
 * a late one says more about the queue it sat in than the path.
 */
static void
handle_ack(struct swim *sw, uint32_t seq, const void *payload, size_t len)
{
	struct relay	*r;
	size_t		 i;

	if (sw->probe.active && seq == sw->probe.seq) {
		/* Any answer, direct, relayed or over TCP, says we work. */
		awareness_apply(sw, -1);
		sw->probe.active = 0;
		if (payload != NULL && len > 0 && !sw->probe.indirect_sent &&
		    sw->probe.target != NULL)
			emit_ack(sw, sw->probe.target, seq, payload, len);
		return;
	}
	for (i = 0; i < SWIM_RELAYS; i++) {
		r = &sw->relays[i];
		if (r->used && r->seq == seq) {
			r->used = 0;
			send_seq(sw, SWIM_MSG_ACK, r->their, &r->requester);
			return;
		}
	}
}

/*
 * A suspect or dead message behind what we know: its sender missed a
 * refutation, a leave or a death that everyone else heard.  A suspicion
 * nobody else shares would run out on it alone and declare a live (or
 * departed) member failed, since the rest ignore an old accusation.
 * Honest members pass on only what they took, so the sender is the one
 * behind: tell it directly what we hold.
 */
static void
correct_stale(struct swim *sw, const struct swim_addr *from,
    const struct swim_msg *m)
{
	struct member	*t;

	if ((t = member_find(sw, m->node)) == NULL)
		return;
	switch (t->state) {
	case SWIM_STATE_ALIVE:
		if (m->incarnation >= t->incarnation ||
		    (t == sw->self && sw->leaving))
			return;
		msg_about(&sw->out_msg, SWIM_MSG_ALIVE, t, NULL);
		break;
	case SWIM_STATE_DEAD:
	case SWIM_STATE_LEFT:
		if (m->type != SWIM_MSG_SUSPECT ||
		    m->incarnation > t->incarnation)
			return;
		msg_about(&sw->out_msg, SWIM_MSG_DEAD, t,
		    t->state == SWIM_STATE_LEFT ? t->name : sw->self->name);
		break;
	default:
		return;
	}
	send_packet(sw, from, &sw->out_msg, NULL);
	sw->st.corrections++;
}

static void
handle_msg(struct swim *sw, const struct swim_addr *from,
    const struct swim_msg *m, uint64_t now)
{
	switch (m->type) {
	case SWIM_MSG_PING:
		if (strcmp(m->node, sw->self->name) != 0) {
			sw->st.drop_misdirected++;
			return;
		}
		send_ack(sw, SWIM_OUT_PACKET, m->seq, from, 0);
		break;
	case SWIM_MSG_INDIRECT:
		relay_start(sw, from, m, now);
		break;
	case SWIM_MSG_ACK:
		handle_ack(sw, m->seq, m->payload, m->payloadlen);
		break;
	case SWIM_MSG_NACK:
		if (sw->probe.active && m->seq == sw->probe.seq)
			sw->probe.nacks++;
		break;
	case SWIM_MSG_SUSPECT:
		correct_stale(sw, from, m);
		handle_suspect(sw, m->incarnation, m->node, m->from, now);
		break;
	case SWIM_MSG_ALIVE:
		handle_alive(sw, m, now);
		break;
	case SWIM_MSG_DEAD:
		correct_stale(sw, from, m);
		handle_dead(sw, m->incarnation, m->node, m->from, now);
		break;
	case SWIM_MSG_USER:
		emit_user(sw, from, m->user, m->userlen);
		break;
	case SWIM_MSG_PUSHPULL:
		break;
	}
}

/* Periodic work. */

static uint64_t
pushpull_interval(const struct swim *sw)
{
	uint64_t	 mult = 1, l;

	/* Beyond 32 members, one more interval per doubling. */
	if (sw->n_alive > 32) {
		l = log2_fix(sw->n_alive) - (5ULL << SWIM_FIX);
		mult = ((l + (1ULL << SWIM_FIX) - 1) >> SWIM_FIX) + 1;
	}
	return sw->opts.push_pull_interval * mult;
}

static void
gossip(struct swim *sw, uint64_t now)
{
	struct member	*to[SWIM_PICK_MAX];
	size_t		 n, i;

	if (sw->nbcast == 0)
		return;
	n = pick_members(sw, to, (size_t)sw->opts.gossip_nodes, PICK_GOSSIP,
	    NULL, now);
	for (i = 0; i < n && sw->nbcast > 0; i++)
		send_packet(sw, &to[i]->addr, NULL, NULL);
}

static void
pushpull(struct swim *sw, uint64_t now)
{
	struct member	*to;

	if (pick_members(sw, &to, 1, PICK_ALIVE, NULL, now) == 1)
		stream_out(sw, SWIM_OUT_STREAM, &to->addr, 0, 0);
}

/*
 * Try a failed member now and then, with probability failed / alive as
 * Serf does: after a partition heals, this is how each side finds the
 * other, since nobody probes or gossips to the dead.
 */
static void
reconnect(struct swim *sw)
{
	struct member	*m;
	size_t		 i, r;

	if (sw->n_dead == 0 ||
	    swim_rand_n(sw, sw->n_alive) >= sw->n_dead)
		return;
	r = swim_rand_n(sw, sw->n_dead);
	for (i = 0; i < sw->nmv; i++) {
		m = sw->mv[i];
		if (m->state == SWIM_STATE_DEAD && r-- == 0) {
			stream_out(sw, SWIM_OUT_STREAM, &m->addr, 0, 0);
			return;
		}
	}
}

static uint64_t
reap_interval(const struct swim *sw)
{
	uint64_t	 t = sw->opts.reconnect_timeout / 4;

	if (t > SWIM_REAP_INTERVAL)
		t = SWIM_REAP_INTERVAL;
	return t < 100 ? 100 : t;
}

static void
reap(struct swim *sw, uint64_t now)
{
	struct member	*m;
	size_t		 i;

	for (i = sw->nmv; i > 0; i--) {
		m = sw->mv[i - 1];
		if (m == sw->self || (m->state != SWIM_STATE_DEAD &&
		    m->state != SWIM_STATE_LEFT) ||
		    now - m->since < sw->opts.reconnect_timeout)
			continue;
		emit_event(sw, SWIM_EV_REAP, m, NULL);
		member_remove(sw, m);
	}
}

static void
leave_complete(struct swim *sw)
{
	sw->left = 1;
	emit_event(sw, SWIM_EV_LEAVE, sw->self, NULL);
}

void
swim_tick(struct swim *sw, uint64_t now)
{
	struct suspicion	*s, *next;
	struct relay		*r;
	struct member		*m;
	size_t			 i;

	if (sw->in_ready || sw->left)
		return;
	if (now < sw->now)
		now = sw->now;
	sw->now = now;
	if (sw->probe.active && !sw->probe.indirect_sent &&
	    now >= sw->probe.direct_deadline)
		probe_indirect(sw);
	if (now >= sw->next_probe) {
		if (sw->probe.active)
			probe_fail(sw, now);
		if (sw->leaving)
			sw->next_probe = now + sw->opts.probe_interval;
		else
			probe_start(sw, now);
	}
	for (i = 0; i < SWIM_RELAYS; i++) {
		r = &sw->relays[i];
		if (r->used && now >= r->deadline) {
			r->used = 0;
			if (r->nack)
				send_seq(sw, SWIM_MSG_NACK, r->their,
				    &r->requester);
		}
	}
	/* Declaring one dead frees only its own suspicion. */
	for (s = TAILQ_FIRST(&sw->suspicions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->reannounce != 0 && now >= s->reannounce &&
		    now < s->deadline) {
			suspicion_reannounce(sw, s);
			continue;
		}
		if (now < s->deadline)
			continue;
		m = s->m;
		suspicion_free(sw, m);
		handle_dead(sw, m->incarnation, m->name, sw->self->name, now);
	}
	if (now >= sw->next_gossip) {
		sw->next_gossip = now + sw->opts.gossip_interval;
		gossip(sw, now);
	}
	if (now >= sw->next_pushpull) {
		sw->next_pushpull = now + pushpull_interval(sw);
		if (!sw->leaving)
			pushpull(sw, now);
	}
	if (now >= sw->next_reconnect) {
		sw->next_reconnect = now + sw->opts.reconnect_interval;
		if (!sw->leaving)
			reconnect(sw);
	}
	if (now >= sw->next_reap) {
		sw->next_reap = now + reap_interval(sw);
		reap(sw, now);
	}
	if (sw->leaving && (sw->self->bcast == NULL ||
	    now >= sw->leave_deadline || sw->n_alive <= 1))
		leave_complete(sw);
}

uint64_t
swim_next_timeout(const struct swim *sw)
{
	const struct suspicion	*s;
	uint64_t		 t;
	size_t			 i;

	if (sw->left)
		return UINT64_MAX;
	t = sw->next_probe;
	if (sw->probe.active && !sw->probe.indirect_sent &&
	    sw->probe.direct_deadline < t)
		t = sw->probe.direct_deadline;
	if (sw->next_gossip < t)
		t = sw->next_gossip;
	if (sw->next_pushpull < t)
		t = sw->next_pushpull;
	if (sw->next_reconnect < t)
		t = sw->next_reconnect;
	if (sw->next_reap < t)
		t = sw->next_reap;
	if (sw->leaving && sw->leave_deadline < t)
		t = sw->leave_deadline;
	TAILQ_FOREACH(s, &sw->suspicions, entry) {
		if (s->deadline < t)
			t = s->deadline;
		if (s->reannounce != 0 && s->reannounce < t)
			t = s->reannounce;
	}
	for (i = 0; i < SWIM_RELAYS; i++)
		if (sw->relays[i].used && sw->relays[i].deadline < t)
			t = sw->relays[i].deadline;
	return t;
}

/* Inputs. */

static int
unwrap(struct swim *sw, enum keyring_chan chan, const void *buf, size_t len,
    void *out, size_t size, size_t *outlen)
{
	switch (keyring_unwrap(sw->kr, chan, buf, len, out, size, outlen)) {
	case KEYRING_OK:
		return 0;
	case KEYRING_EKEY:
		sw->st.drop_key++;
		break;
	case KEYRING_EREPLAY:
		sw->st.drop_replay++;
		break;
	case KEYRING_EPLAIN:
		sw->st.drop_plaintext++;
		break;
	default:
		sw->st.drop_malformed++;
		break;
	}
	return -1;
}

int
swim_recv_packet(struct swim *sw, const struct swim_addr *from,
    const void *buf, size_t len, uint64_t now)
{
	msgpack_unpacked	 u;
	const msgpack_object	*msgs;
	struct swim_msg		*m;
	size_t			 n, i, plen;

	if (sw->in_ready || sw->left) {
		sw->st.drop_refused++;
		return -1;
	}
	if (now < sw->now)
		now = sw->now;
	sw->now = now;
	sw->st.packets_recv++;
	sw->st.bytes_recv += len;
	if (from == NULL || !addr_valid(from) || buf == NULL) {
		sw->st.drop_malformed++;
		return -1;
	}
	if (len > SWIM_PACKET_MAX) {
		sw->st.drop_oversize++;
		return -1;
	}
	if (unwrap(sw, KEYRING_PACKET, buf, len, sw->rbuf, SWIM_PACKET_MAX,
	    &plen) == -1)
		return -1;
	if (swim_packet_parse(&u, sw->rbuf, plen, &msgs, &n) == -1) {
		sw->st.drop_malformed++;
		return -1;
	}
	/*
	 * All or nothing: check every message before acting on any.  The
	 * first few stay decoded; a packet of many small ones is decoded
	 * twice rather than holding room for SWIM_PACKET_MSGS_MAX.
	 */
	for (i = 0; i < n; i++) {
		m = i < SWIM_DECODED ? &sw->dec[i] : &sw->msg;
		if (swim_msg_unpack(&msgs[i], m) == -1) {
			msgpack_unpacked_destroy(&u);
			sw->st.drop_malformed++;
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		m = &sw->dec[i];
		if (i >= SWIM_DECODED) {
			m = &sw->msg;
			if (swim_msg_unpack(&msgs[i], m) == -1)
				continue;
		}
		handle_msg(sw, from, m, now);
	}
	msgpack_unpacked_destroy(&u);
	return 0;
}

static void
merge_entry(struct swim *sw, const struct swim_msg *e, const char *from,
    uint64_t now)
{
	switch (e->state) {
	case SWIM_STATE_ALIVE:
		handle_alive(sw, e, now);
		break;
	case SWIM_STATE_SUSPECT:
	case SWIM_STATE_DEAD:
		/* Second-hand death is only a suspicion here: it can be
		 * refuted, and a partition heals through it. */
		handle_suspect(sw, e->incarnation, e->node, from, now);
		break;
	case SWIM_STATE_LEFT:
		handle_dead(sw, e->incarnation, e->node, e->node, now);
		break;
	}
}

/* A push-pull: merge the peer's state, and answer with ours. */
static int
recv_pushpull(struct swim *sw, uint64_t conn, const struct swim_addr *from,
    const void *buf, size_t len, uint64_t now)
{
	msgpack_unpacked	 u;
	struct swim_pushpull	 pp;
	size_t			 i;

	if (swim_pushpull_parse(&u, buf, len, &pp) == -1)
		return -1;
	for (i = 0; i < pp.nentries; i++) {
		if (swim_entry_unpack(&pp.entries[i], &sw->msg) == -1) {
			msgpack_unpacked_destroy(&u);
			return -1;
		}
	}
	for (i = 0; i < pp.nentries; i++)
		if (swim_entry_unpack(&pp.entries[i], &sw->msg) == 0)
			merge_entry(sw, &sw->msg, pp.from, now);
	/* Merged first, so the reply carries any refutation of ours. */
	if (!pp.reply)
		stream_out(sw, SWIM_OUT_REPLY, from, conn, pp.join);
	msgpack_unpacked_destroy(&u);
	return 0;
}

/* A probe over TCP (answered with an ack), or the ack to ours. */
static int
recv_stream_probe(struct swim *sw, uint64_t conn, const void *buf,
    size_t len)
{
	if (swim_single_parse(buf, len, &sw->msg) == -1)
		return -1;
	if (sw->msg.type == SWIM_MSG_ACK) {
		handle_ack(sw, sw->msg.seq, NULL, 0);
		return 0;
	}
	if (sw->msg.type != SWIM_MSG_PING)
		return -1;
	if (strcmp(sw->msg.node, sw->self->name) != 0) {
		sw->st.drop_misdirected++;
		return 0;
	}
	send_ack(sw, SWIM_OUT_REPLY, sw->msg.seq, NULL, conn);
	return 0;
}

int
swim_recv_stream(struct swim *sw, uint64_t conn, const struct swim_addr *from,
    const void *buf, size_t len, uint64_t now)
{
	unsigned char	*plain;
	size_t		 plen;
	int		 rc;

	if (sw->in_ready || sw->left) {
		sw->st.drop_refused++;
		return -1;
	}
	if (now < sw->now)
		now = sw->now;
	sw->now = now;
	sw->st.streams_recv++;
	sw->st.stream_bytes_recv += len;
	if (from == NULL || !addr_valid(from) || buf == NULL || len == 0) {
		sw->st.drop_malformed++;
		return -1;
	}
	if (len > SWIM_STREAM_MAX) {
		sw->st.drop_oversize++;
		return -1;
	}
	plain = swim_calloc(1, len);
	if (unwrap(sw, KEYRING_STREAM, buf, len, plain, len, &plen) == -1) {
		free(plain);
		return -1;
	}
	switch (swim_stream_type(plain, plen)) {
	case SWIM_MSG_PUSHPULL:
		rc = recv_pushpull(sw, conn, from, plain, plen, now);
		break;
	case SWIM_MSG_PING:
	case SWIM_MSG_ACK:
		rc = recv_stream_probe(sw, conn, plain, plen);
		break;
	default:
		rc = -1;
		break;
	}
	if (rc == -1)
		sw->st.drop_malformed++;
	free(plain);
	return rc;
}

/* Local requests. */

int
swim_join(struct swim *sw, const struct swim_addr *addrs, size_t n,
    uint64_t now)
{
	size_t	 i;

	if (sw->in_ready || sw->leaving || (n > 0 && addrs == NULL))
		return -1;
	if (now > sw->now)
		sw->now = now;
	for (i = 0; i < n; i++)
		if (addr_valid(&addrs[i]))
			stream_out(sw, SWIM_OUT_STREAM, &addrs[i], 0, 1);
	return 0;
}

int
swim_leave(struct swim *sw, uint64_t now)
{
	struct member	*self = sw->self;

	if (sw->in_ready)
		return -1;
	if (sw->leaving)
		return 0;
	if (now > sw->now)
		sw->now = now;
	sw->leaving = 1;
	if (self->incarnation < UINT32_MAX)
		self->incarnation++;
	/* Dead, said by the member itself, means it left. */
	broadcast(sw, self, SWIM_MSG_DEAD, self->name);
	sw->leave_deadline = sw->now + sw->opts.leave_timeout;
	if (sw->n_alive <= 1)
		leave_complete(sw);
	return 0;
}

int
swim_prune(struct swim *sw, const char *name, uint64_t now)
{
	struct member	*m;

	if (sw->in_ready || name == NULL ||
	    (m = member_find(sw, name)) == NULL || m == sw->self ||
	    (m->state != SWIM_STATE_DEAD && m->state != SWIM_STATE_LEFT))
		return -1;
	if (now > sw->now)
		sw->now = now;
	emit_event(sw, SWIM_EV_REAP, m, NULL);
	member_remove(sw, m);
	return 0;
}

const char *
swim_self_name(const struct swim *sw)
{
	return sw->self->name;
}

int
swim_force_leave(struct swim *sw, const char *name, uint64_t now)
{
	struct member	*m;

	if (sw->in_ready || name == NULL ||
	    (m = member_find(sw, name)) == NULL ||
	    m->state != SWIM_STATE_DEAD)
		return -1;
	if (now > sw->now)
		sw->now = now;
	handle_dead(sw, m->incarnation, m->name, m->name, sw->now);
	return 0;
}

/* Our alive message must fit a packet on its own. */
static int
user_msg(struct swim *sw, const void *data, size_t len, uint64_t now)
{
	if (sw->in_ready || sw->leaving || data == NULL || len == 0 ||
	    len > SWIM_USER_MAX)
		return -1;
	if (now > sw->now)
		sw->now = now;
	memset(&sw->out_msg, 0, offsetof(struct swim_msg, tags));
	sw->out_msg.type = SWIM_MSG_USER;
	sw->out_msg.user = data;
	sw->out_msg.userlen = len;
	return 0;
}

int
swim_user_broadcast(struct swim *sw, const void *data, size_t len,
    uint64_t now)
{
	if (user_msg(sw, data, len, now) == -1)
		return -1;
	return bcast_queue(sw, NULL, &sw->out_msg);
}

int
swim_user_send(struct swim *sw, const struct swim_addr *to, const void *data,
    size_t len, uint64_t now)
{
	struct swim_msg	 msg;

	if (to == NULL || !addr_valid(to) ||
	    user_msg(sw, data, len, now) == -1)
		return -1;
	msg = sw->out_msg;
	if (msg_encode(sw, &msg, sw->enc, packet_room(sw), &len) == -1)
		return -1;
	send_packet(sw, to, &msg, NULL);
	return 0;
}

static int
self_alive_fits(struct swim *sw, const char *tags, size_t tagslen)
{
	size_t		 len;

	msg_about(&sw->out_msg, SWIM_MSG_ALIVE, sw->self, NULL);
	memcpy(sw->out_msg.tags, tags, tagslen);
	sw->out_msg.tagslen = tagslen;
	return msg_encode(sw, &sw->out_msg, sw->enc, packet_room(sw),
	    &len) == 0;
}

int
swim_set_ack_payload(struct swim *sw, const void *data, size_t len)
{
	if (len > SWIM_ACK_PAYLOAD_MAX || (len > 0 && data == NULL))
		return -1;
	if (len > 0)
		memcpy(sw->ack_payload, data, len);
	sw->ack_payloadlen = len;
	return 0;
}

int
swim_set_tags(struct swim *sw, const char *const *kv, size_t npairs,
    uint64_t now)
{
	char	 tags[SWIM_TAGS_MAX];
	size_t	 len;

	if (sw->in_ready || sw->leaving ||
	    swim_tags_flatten(kv, npairs, tags, &len) == -1 ||
	    !self_alive_fits(sw, tags, len) ||
	    sw->self->incarnation == UINT32_MAX)
		return -1;
	if (now > sw->now)
		sw->now = now;
	set_tags(sw->self, tags, len);
	sw->self->incarnation++;
	broadcast(sw, sw->self, SWIM_MSG_ALIVE, NULL);
	return 0;
}

/* Ready and advance. */

int
swim_has_ready(const struct swim *sw)
{
	return sw->n_outs > 0 || sw->n_evs > 0;
}

void
swim_ready(struct swim *sw, struct swim_ready *rd)
{
	size_t	 i;

	for (i = 0; i < sw->n_outs; i++)
		sw->outs[i].data = sw->arena + sw->out_off[i];
	for (i = 0; i < sw->n_evs; i++) {
		sw->evs[i].member.name = (const char *)sw->arena +
		    sw->ev_off[2 * i];
		sw->evs[i].member.tags = (const char *)sw->arena +
		    sw->ev_off[2 * i + 1];
		if (sw->evs[i].type == SWIM_EV_USER ||
		    sw->evs[i].type == SWIM_EV_ACK) {
			sw->evs[i].data = sw->evs[i].member.tags;
			sw->evs[i].member.tags = "";
			sw->evs[i].member.tagslen = 0;
		}
	}
	rd->outs = sw->outs;
	rd->n_outs = sw->n_outs;
	rd->events = sw->evs;
	rd->n_events = sw->n_evs;
	sw->in_ready = 1;
}

void
swim_advance(struct swim *sw)
{
	sw->n_outs = 0;
	sw->n_evs = 0;
	sw->arena_len = 0;
	sw->in_ready = 0;
	/* Give back what a large push-pull made the arena grow to. */
	if (sw->arena_cap > 1024 * 1024) {
		free(sw->arena);
		sw->arena = NULL;
		sw->arena_cap = 0;
	}
}

/* Getters. */

size_t
swim_member_count(const struct swim *sw)
{
	return sw->nmv;
}

int
swim_member_at(const struct swim *sw, size_t i,
    struct swim_member_info *info)
{
	if (i >= sw->nmv)
		return -1;
	member_info(sw, sw->mv[i], info);
	return 0;
}

int
swim_member_get(const struct swim *sw, const char *name,
    struct swim_member_info *info)
{
	const struct member	*m;

	if (name == NULL || (m = member_find(sw, name)) == NULL)
		return -1;
	member_info(sw, m, info);
	return 0;
}

void
swim_stats(const struct swim *sw, struct swim_stats *st)
{
	*st = sw->st;
	st->members = sw->nmv;
	st->alive = sw->n_alive;
	st->suspect = sw->n_suspect;
	st->failed = sw->n_dead;
	st->left = sw->n_left;
	st->queued = sw->nbcast;
	st->health_score = sw->awareness;
	st->incarnation = sw->self->incarnation;
}

/* Creation. */

static void
options_common(struct swim_options *o)
{
	memset(o, 0, sizeof(*o));
	o->indirect_checks = 3;
	o->suspicion_max_mult = 6;
	o->awareness_max = 8;
	o->retransmit_mult = 4;
	o->reconnect_interval = 30000;
	o->reconnect_timeout = 72ULL * 3600 * 1000;
	o->dead_reclaim = 30000;
	o->leave_timeout = 5000;
	o->packet_size = 1400;
	o->max_members = 65536;
	o->queue_max = 4096;
}

void
swim_options_lan(struct swim_options *o)
{
	options_common(o);
	o->probe_interval = 1000;
	o->probe_timeout = 500;
	o->suspicion_mult = 4;
	o->gossip_interval = 200;
	o->gossip_nodes = 3;
	o->gossip_to_dead = 30000;
	o->push_pull_interval = 30000;
}

void
swim_options_wan(struct swim_options *o)
{
	options_common(o);
	o->probe_interval = 5000;
	o->probe_timeout = 3000;
	o->suspicion_mult = 6;
	o->gossip_interval = 500;
	o->gossip_nodes = 4;
	o->gossip_to_dead = 60000;
	o->push_pull_interval = 60000;
}

static const char *
options_check(const struct swim_options *o)
{
	if (!swim_name_valid(o->name))
		return "bad node name";
	if (!addr_valid(&o->addr))
		return "bad address";
	if (o->probe_interval == 0 || o->probe_timeout == 0 ||
	    o->probe_timeout >= o->probe_interval)
		return "probe_timeout must be below probe_interval";
	if (o->gossip_interval == 0 || o->push_pull_interval == 0 ||
	    o->reconnect_interval == 0 || o->reconnect_timeout == 0)
		return "intervals must be positive";
	if (o->suspicion_mult < 1 || o->suspicion_mult > 64 ||
	    o->suspicion_max_mult < 1 || o->suspicion_max_mult > 64)
		return "suspicion multipliers out of range";
	if (o->gossip_nodes < 1 || o->gossip_nodes > SWIM_PICK_MAX ||
	    o->indirect_checks < 0 || o->indirect_checks > SWIM_PICK_MAX)
		return "gossip_nodes or indirect_checks out of range";
	if (o->retransmit_mult < 1 || o->retransmit_mult > 16 ||
	    o->awareness_max < 1 || o->awareness_max > 64)
		return "retransmit_mult or awareness_max out of range";
	if (o->packet_size < SWIM_PACKET_MIN ||
	    o->packet_size > SWIM_PACKET_MAX)
		return "packet_size out of range";
	if (o->max_members < 1 || o->max_members > SWIM_MEMBERS_MAX ||
	    o->queue_max < 1)
		return "max_members or queue_max out of range";
	return NULL;
}

struct swim *
swim_new(const struct swim_options *opts, uint64_t now)
{
	struct swim	*sw;
	const char	*why;
	char		 tags[SWIM_TAGS_MAX];
	size_t		 tagslen, i;

	if (sodium_init() < 0)
		fatalx("swim: libsodium cannot start");
	if ((why = options_check(opts)) != NULL) {
		log_debug("swim: %s", why);
		return NULL;
	}
	if (swim_tags_flatten(opts->tags, opts->ntags, tags, &tagslen) == -1) {
		log_debug("swim: bad tags");
		return NULL;
	}
	sw = swim_calloc(1, sizeof(*sw));
	sw->opts = *opts;
	sw->opts.tags = NULL;
	sw->opts.ntags = 0;
	sw->kr = opts->keyring;
	sw->rng = opts->seed * 0x2545f4914f6cdd1dULL + 1;
	sw->now = now;
	sw->hsize = 64;
	sw->htab = swim_calloc(sw->hsize, sizeof(*sw->htab));
	for (i = 0; i < sizeof(sw->hkey); i++)
		sw->hkey[i] = (unsigned char)swim_rand(sw);
	for (i = 0; i < SWIM_TRANSMIT_MAX; i++)
		TAILQ_INIT(&sw->bq[i]);
	TAILQ_INIT(&sw->suspicions);
	sw->pkt = swim_calloc(1, SWIM_PACKET_MAX);
	sw->rbuf = swim_calloc(1, SWIM_PACKET_MAX);
	sw->dec = swim_calloc(SWIM_DECODED, sizeof(*sw->dec));
	sw->enc = swim_calloc(1, opts->packet_size);
	sw->self = member_add(sw, opts->name, &opts->addr, opts->incarnation,
	    tags, tagslen, now);
	if (!self_alive_fits(sw, tags, tagslen)) {
		log_debug("swim: tags too large for a packet");
		swim_free(sw);
		return NULL;
	}
	/* Spread the timers so that members started together do not beat
	 * in step. */
	sw->next_probe = now + swim_rand_n(sw, opts->probe_interval);
	sw->next_gossip = now + swim_rand_n(sw, opts->gossip_interval);
	sw->next_pushpull = now + opts->push_pull_interval / 2 +
	    swim_rand_n(sw, opts->push_pull_interval);
	sw->next_reconnect = now + opts->reconnect_interval / 2 +
	    swim_rand_n(sw, opts->reconnect_interval);
	sw->next_reap = now + reap_interval(sw);
	emit_event(sw, SWIM_EV_JOIN, sw->self, NULL);
	return sw;
}

void
swim_free(struct swim *sw)
{
	size_t	 i;

	if (sw == NULL)
		return;
	while (sw->nmv > 0)
		member_remove(sw, sw->mv[sw->nmv - 1]);
	for (i = 0; i < SWIM_TRANSMIT_MAX; i++)
		while (!TAILQ_EMPTY(&sw->bq[i]))
			bcast_free(sw, TAILQ_FIRST(&sw->bq[i]));
	free(sw->mv);
	free(sw->htab);
	free(sw->arena);
	free(sw->outs);
	free(sw->out_off);
	free(sw->evs);
	free(sw->ev_off);
	free(sw->pkt);
	free(sw->rbuf);
	free(sw->dec);
	free(sw->enc);
	free(sw);
}
