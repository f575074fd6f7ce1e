/*
 * The Raft core driven by a simulated cluster in one process: up to
 * SIM_MAXN cores, an in-memory log store each, and a network that can
 * drop, duplicate, delay, reorder and partition messages, all from a
 * deterministic seed.  Servers crash (between readies or in the middle
 * of one) and restart from what they wrote; servers join, leave and
 * change their voting rights.  As it runs the checker asserts Election
 * Safety (one leader per term, ever), Leader Completeness for what has
 * been applied, State Machine Safety (every node applies the same entry
 * at an index, in order, once) and one vote per term; at intervals and
 * after a run it asserts Log Matching over what the servers hold, that
 * every client command acknowledged was applied exactly once wherever
 * the state machine got that far, and that a read under the leader's
 * lease sees every commit.
 *
 * test_random runs many seeds; the environment picks them (see main()),
 * and a failing seed prints the command that replays it.
 *
 * The core is compiled into the test (it is not in libcommon).
 */
#include <err.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "../../raftd/raft.c"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define SIM_MAXN	7
#define SIM_QMAX	20000
#define SIM_RETIRED_MAX	32	/* servers a run may retire for good */
#define SIM_CLIENTS	6

/* An in-memory log store, the daemon's role. */
struct mem_store {
	uint64_t		 snap_index;
	uint64_t		 snap_term;
	struct raft_entry	*ents;		/* ents[0] is snap_index + 1 */
	size_t			 n;
	size_t			 cap;
	struct raft_hardstate	 hs;
};

static uint64_t
ms_first(void *arg)
{
	struct mem_store	*s = arg;

	return s->snap_index + 1;
}

static uint64_t
ms_last(void *arg)
{
	struct mem_store	*s = arg;

	return s->snap_index + s->n;
}

static int
ms_term(void *arg, uint64_t i, uint64_t *t)
{
	struct mem_store	*s = arg;

	if (i == s->snap_index) {
		*t = s->snap_term;
		return 0;
	}
	if (i <= s->snap_index || i > s->snap_index + s->n)
		return -1;
	*t = s->ents[i - s->snap_index - 1].term;
	return 0;
}

static void
entry_copy(struct raft_entry *dst, const struct raft_entry *src)
{
	*dst = *src;
	dst->data = NULL;
	if (src->len > 0) {
		if ((dst->data = malloc(src->len)) == NULL)
			abort();
		memcpy(dst->data, src->data, src->len);
	}
}

static int
ms_entries(void *arg, uint64_t lo, uint64_t hi, size_t max,
    struct raft_entry **out, size_t *np)
{
	struct mem_store	*s = arg;
	struct raft_entry	*e;
	size_t			 n = 0, bytes = 0, i;

	if (lo <= s->snap_index || lo >= hi || hi > s->snap_index + s->n + 1)
		return -1;
	while (lo + n < hi) {
		e = &s->ents[lo + n - s->snap_index - 1];
		if (n > 0 && bytes + e->len > max)
			break;
		bytes += e->len;
		n++;
	}
	if ((*out = calloc(n, sizeof(**out))) == NULL)
		abort();
	for (i = 0; i < n; i++)
		entry_copy(&(*out)[i], &s->ents[lo + i - s->snap_index - 1]);
	*np = n;
	return 0;
}

static void
ms_free_entries(void *arg, struct raft_entry *e, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(e[i].data);
	free(e);
}

static void
ms_drop_from(struct mem_store *s, size_t k)
{
	while (s->n > k)
		free(s->ents[--s->n].data);
}

static void
ms_append(struct mem_store *s, const struct raft_entry *ents, size_t n)
{
	size_t	 i;

	CHECK(ents[0].index > s->snap_index &&
	    ents[0].index <= s->snap_index + s->n + 1);
	ms_drop_from(s, ents[0].index - s->snap_index - 1);
	if (s->n + n > s->cap) {
		s->cap = (s->n + n) * 2;
		if ((s->ents = reallocarray(s->ents, s->cap,
		    sizeof(*s->ents))) == NULL)
			abort();
	}
	for (i = 0; i < n; i++)
		entry_copy(&s->ents[s->n++], &ents[i]);
}

/* Drop everything up to index, which the snapshot covers. */
static void
ms_compact(struct mem_store *s, uint64_t index, uint64_t term)
{
	size_t	 k, i;

	if (index <= s->snap_index)
		return;
	k = index - s->snap_index;
	if (k > s->n)
		k = s->n;
	for (i = 0; i < k; i++)
		free(s->ents[i].data);
	memmove(s->ents, s->ents + k, (s->n - k) * sizeof(*s->ents));
	s->n -= k;
	s->snap_index = index;
	s->snap_term = term;
}

static void
ms_reset(struct mem_store *s, uint64_t index, uint64_t term)
{
	ms_drop_from(s, 0);
	s->snap_index = index;
	s->snap_term = term;
}

static void
ms_free(struct mem_store *s)
{
	ms_drop_from(s, 0);
	free(s->ents);
	memset(s, 0, sizeof(*s));
}

static struct raft_storage
ms_storage(struct mem_store *s)
{
	struct raft_storage	 st;

	st.arg = s;
	st.first_index = ms_first;
	st.last_index = ms_last;
	st.term = ms_term;
	st.entries = ms_entries;
	st.free_entries = ms_free_entries;
	return st;
}

static const struct raft_entry *
ms_get(const struct mem_store *s, uint64_t i)
{
	if (i <= s->snap_index || i > s->snap_index + s->n)
		return NULL;
	return &s->ents[i - s->snap_index - 1];
}

/* Hashes standing in for state machine contents. */
static uint64_t
mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

static uint64_t
entry_hash(const struct raft_entry *e)
{
	uint64_t	 h = mix(mix(mix(0, e->index), e->term), e->type);
	size_t		 i;

	for (i = 0; i < e->len; i++)
		h = mix(h, ((unsigned char *)e->data)[i]);
	return h;
}

/* The simulated cluster. */
struct sim_msg {
	struct raft_msg		 m;
	int			 from;
	int			 to;
	uint32_t		 from_life;	/* the sender's start */
	uint32_t		 to_gen;	/* the receiver's incarnation */
	uint64_t		 at;		/* held until this round */
	int			 dup;		/* a copy the network made */
	uint64_t		 snap_hash;
	uint64_t		*snap_cmds;	/* the snapshot's commands */
};

struct sim_node {
	char			 id[RAFT_ID_MAX];
	struct raft		*r;
	struct mem_store	 st;
	int			 used;		/* holds state: not a spare */
	int			 up;
	uint32_t		 gen;		/* incarnation: an id each */
	uint32_t		 life;		/* starts, ever, of the slot */
	uint64_t		 down_until;	/* round it restarts, if down */
	uint64_t		 applied;
	uint64_t		 sm_hash;
	struct raft_conf	 sm_conf;	/* as of applied */
	uint64_t		*sm_cmds;	/* client commands applied */
	uint64_t		 snap_index;
	uint64_t		 snap_term;
	uint64_t		 snap_hash;
	struct raft_conf	 snap_conf;
	uint64_t		*snap_cmds;
	uint64_t		 inst_index;	/* streamed with a snapshot */
	uint64_t		 inst_hash;
	uint64_t		*inst_cmds;
	int			 installs;
	uint64_t		 last_term;
	uint64_t		 last_commit;
	struct raft_read_state	 reads[64];
	size_t			 n_reads;
};

struct sim_commit {
	uint64_t		 term;
	uint64_t		 hash;
	uint64_t		 prefix;	/* state after applying it */
};

struct sim_leader {
	uint64_t		 term;
	int			 node;
	uint32_t		 gen;
};

enum sim_cmd_state {
	CMD_PENDING,
	CMD_ACKED,
	CMD_ABANDONED
};

/* A client command: one proposal, under an id of its own. */
struct sim_cmd {
	uint64_t		 index;		/* raft_propose() gave it */
	uint64_t		 applied_at;	/* 0: applied nowhere yet */
	uint64_t		 round;		/* proposed in */
	uint32_t		 op;		/* the client operation */
	uint32_t		 life;		/* of the proposer */
	int			 node;
	enum sim_cmd_state	 state;
};

/* A client: one operation at a time, retried under a new id. */
struct sim_client {
	int64_t			 op;		/* -1: idle */
	int64_t			 cmd;		/* -1: none in flight */
};

/* What a run exercised, summed over runs and printed by name. */
enum sim_stat {
	ST_LEADERS,
	ST_COMMITS,
	ST_READS,
	ST_LEASE_READS,
	ST_CMDS,
	ST_ACKED,
	ST_RETRIED,
	ST_DUP_OPS,		/* operations applied under two ids */
	ST_CONFS,		/* configuration changes committed */
	ST_ADDS,
	ST_REMOVES,
	ST_FLIPS,
	ST_RETIRES,
	ST_TRANSFERS,
	ST_CRASHES,
	ST_READY_CRASHES,	/* of them, in the middle of a ready */
	ST_RESTARTS,
	ST_PARTITIONS,
	ST_SNAPSHOTS,
	ST_INSTALLS,
	ST_DUPS,
	ST_DELAYED,
	ST_MAX
};

static const char *const sim_stat_names[ST_MAX] = {
	"leaders", "commits", "reads", "leasereads", "cmds", "acked",
	"retried", "dupops", "confs", "adds", "removes", "flips", "retires",
	"transfers", "crashes", "readycrashes", "restarts", "partitions",
	"snapshots", "installs", "dups", "delayed"
};

struct sim {
	struct sim_node		 nodes[SIM_MAXN];
	int			 n;
	struct raft_options	 opts;
	struct sim_msg		*q;
	size_t			 nq;
	size_t			 capq;
	struct sim_msg		*held;		/* delayed until their round */
	size_t			 nheld;
	size_t			 capheld;
	uint64_t		 now;		/* rounds so far */
	uint64_t		 rng;
	int			 drop_pct;
	int			 dup_pct;
	int			 delay_pct;
	int			 max_delay;	/* rounds */
	int			 crash_ready_pm;	/* readies in 1000 */
	int			 sm_lost_pct;	/* restarts from the snapshot */
	int			 unreachable_pct;	/* losses reported */
	int			 reorder;
	int			 cut[SIM_MAXN][SIM_MAXN];
	uint64_t		 heal_at;	/* 0: nothing to heal */
	struct sim_leader	*leaders;
	size_t			 nleaders;
	size_t			 capleaders;
	struct sim_commit	*commits;	/* [i - 1] for index i */
	size_t			 ncommits;
	size_t			 capcommits;
	uint64_t		*cterms;	/* term index i committed in */
	size_t			 ncterms;
	size_t			 capcterms;
	size_t			 delivered[RAFT_MSG_TYPE_MAX];
	int			 refused;
	int			 strangers;	/* replies to nobody allowed */
	uint64_t		 drop_appends_from;	/* entries >= it lost */
	uint64_t		 read_need[4096];	/* by read ctx */
	int			 read_node[4096];
	int			 read_done[4096];
	uint64_t		 nread;
	size_t			 reads_served;
	struct sim_cmd		*cmds;		/* by id */
	size_t			 ncmds;
	size_t			 maxcmds;
	size_t			 cmd_words;	/* of a bitmap of ids */
	uint32_t		*op_applied;	/* ids of an op applied */
	uint32_t		 nops;
	struct sim_client	 clients[SIM_CLIENTS];
	int			 nclients;
	char			 retired[SIM_RETIRED_MAX][RAFT_ID_MAX];
	int			 nretired;
	int			 trace;
	int			 min_voters;	/* bounds of membership */
	int			 max_voters;
	int			 max_members;
	size_t			 stats[ST_MAX];
};

static void	 sim_trace(struct sim *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));

static uint64_t
sim_rand(struct sim *s)
{
	uint64_t	 x = s->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return s->rng = x;
}

static int
sim_pct(struct sim *s, int pct)
{
	return (int)(sim_rand(s) % 100) < pct;
}

/* RAFT_SIM_TRACE=1: what happened in a run, one event a line. */
static void
sim_trace(struct sim *s, const char *fmt, ...)
{
	va_list	 ap;

	if (!s->trace)
		return;
	fprintf(stderr, "# %4llu ", (unsigned long long)s->now);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
sim_find(struct sim *s, const char *id)
{
	int	 i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->nodes[i].id, id) == 0)
			return i;
	return -1;
}

static int
sim_retired(struct sim *s, const char *id)
{
	int	 i;

	for (i = 0; i < s->nretired; i++)
		if (strcmp(s->retired[i], id) == 0)
			return 1;
	return 0;
}

/* Bitmaps of client command ids: what a state machine has applied. */
static int
cmds_isset(const uint64_t *b, uint64_t id)
{
	return (b[id / 64] >> (id % 64)) & 1;
}

static void
cmds_set(uint64_t *b, uint64_t id)
{
	b[id / 64] |= 1ULL << (id % 64);
}

static void
cmds_copy(const struct sim *s, uint64_t *dst, const uint64_t *src)
{
	if (s->cmd_words > 0 && dst != NULL && src != NULL)
		memcpy(dst, src, s->cmd_words * sizeof(*dst));
}

static uint64_t *
cmds_dup(const struct sim *s, const uint64_t *src)
{
	uint64_t	*b;

	if (s->cmd_words == 0 || src == NULL)
		return NULL;
	if ((b = calloc(s->cmd_words, sizeof(*b))) == NULL)
		abort();
	memcpy(b, src, s->cmd_words * sizeof(*b));
	return b;
}

static void
sim_msg_free(struct sim_msg *sm)
{
	size_t	 i;

	for (i = 0; i < sm->m.n_entries; i++)
		free(sm->m.entries[i].data);
	free(sm->m.entries);
	raft_conf_free(&sm->m.snapshot.conf);
	free(sm->snap_cmds);
	sm->snap_cmds = NULL;
}

/* A deep copy: the network keeps the message after the core let go. */
static void
sim_msg_copy(const struct sim *s, struct sim_msg *dst,
    const struct sim_msg *src)
{
	size_t	 i;

	*dst = *src;
	dst->m.entries = NULL;
	if (src->m.n_entries > 0) {
		if ((dst->m.entries = calloc(src->m.n_entries,
		    sizeof(*dst->m.entries))) == NULL)
			abort();
		for (i = 0; i < src->m.n_entries; i++)
			entry_copy(&dst->m.entries[i], &src->m.entries[i]);
	}
	conf_copy(&dst->m.snapshot.conf, &src->m.snapshot.conf);
	dst->snap_cmds = cmds_dup(s, src->snap_cmds);
}

/* A free slot at the end of a queue; the oldest is lost when full. */
static struct sim_msg *
sim_msg_slot(struct sim_msg **v, size_t *n, size_t *cap)
{
	struct sim_msg	*sm;

	if (*n == SIM_QMAX) {
		sim_msg_free(&(*v)[0]);
		memmove(*v, *v + 1, --*n * sizeof(**v));
	}
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if ((*v = reallocarray(*v, *cap, sizeof(**v))) == NULL)
			abort();
	}
	sm = &(*v)[(*n)++];
	memset(sm, 0, sizeof(*sm));
	return sm;
}

static void
sim_send(struct sim *s, int from, const struct raft_msg *m)
{
	struct sim_node	*nd = &s->nodes[from];
	struct sim_msg	*sm;
	size_t		 i;
	int		 to;

	CHECK_STR(m->from, nd->id);
	if ((to = sim_find(s, m->to)) == -1) {
		/* A server gone for good: nothing answers at its address. */
		CHECK(s->strangers || sim_retired(s, m->to));
		return;
	}
	if (s->delay_pct > 0 && sim_pct(s, s->delay_pct)) {
		sm = sim_msg_slot(&s->held, &s->nheld, &s->capheld);
		sm->at = s->now + 1 + sim_rand(s) % (uint64_t)s->max_delay;
		s->stats[ST_DELAYED]++;
	} else
		sm = sim_msg_slot(&s->q, &s->nq, &s->capq);
	sm->m = *m;
	sm->from = from;
	sm->to = to;
	sm->from_life = nd->life;
	sm->to_gen = s->nodes[to].gen;
	sm->m.entries = NULL;
	if (m->n_entries > 0) {
		if ((sm->m.entries = calloc(m->n_entries,
		    sizeof(*m->entries))) == NULL)
			abort();
		for (i = 0; i < m->n_entries; i++)
			entry_copy(&sm->m.entries[i], &m->entries[i]);
	}
	conf_copy(&sm->m.snapshot.conf, &m->snapshot.conf);
	if (m->type == RAFT_MSG_SNAPSHOT) {
		/* The daemon streams the snapshot it has on disk. */
		CHECK(m->snapshot.index == nd->snap_index);
		sm->snap_hash = nd->snap_hash;
		sm->snap_cmds = cmds_dup(s, nd->snap_cmds);
	}
}

/*
 * The term in which each index was first committed.  Only a leader moves
 * the commit index past what anyone knew (its followers learn it from
 * what it sends after this ready), so a node's term when its commit
 * index passes the highest seen is the term of that commit.
 */
static void
sim_note_commit(struct sim *s, int i)
{
	struct raft	*r = s->nodes[i].r;

	while (s->ncterms < raft_commit_index(r)) {
		if (s->ncterms == s->capcterms) {
			s->capcterms = s->capcterms ? s->capcterms * 2 : 256;
			if ((s->cterms = reallocarray(s->cterms,
			    s->capcterms, sizeof(*s->cterms))) == NULL)
				abort();
		}
		s->cterms[s->ncterms++] = raft_term(r);
	}
}

/*
 * Election Safety, and Leader Completeness for what was applied: a
 * leader holds every entry committed in an earlier term.  (A leader of
 * an older term may still win after a later commit, on votes that were
 * long on the way.)
 */
static void
sim_check_leader(struct sim *s, int i)
{
	struct sim_node		*nd = &s->nodes[i];
	const struct raft_entry	*e;
	uint64_t		 term, k;
	size_t			 j;

	if (!nd->up || raft_role(nd->r) != RAFT_LEADER)
		return;
	term = raft_term(nd->r);
	for (j = 0; j < s->nleaders; j++) {
		if (s->leaders[j].term == term) {
			CHECK(s->leaders[j].node == i &&
			    s->leaders[j].gen == nd->gen);
			return;
		}
	}
	if (s->nleaders == s->capleaders) {
		s->capleaders = s->capleaders ? s->capleaders * 2 : 16;
		if ((s->leaders = reallocarray(s->leaders, s->capleaders,
		    sizeof(*s->leaders))) == NULL)
			abort();
	}
	s->leaders[s->nleaders].term = term;
	s->leaders[s->nleaders].gen = nd->gen;
	s->leaders[s->nleaders++].node = i;
	sim_trace(s, "%s leads term %llu", nd->id, (unsigned long long)term);
	for (k = nd->st.snap_index + 1; k <= s->ncommits &&
	    k <= s->ncterms && s->cterms[k - 1] < term; k++) {
		e = ms_get(&nd->st, k);
		CHECK(e != NULL && e->term == s->commits[k - 1].term &&
		    entry_hash(e) == s->commits[k - 1].hash);
		if (e == NULL)
			break;
	}
}

/* The id of the client command an entry carries: "c", 8 hex digits. */
static uint64_t
cmd_id(const struct raft_entry *e)
{
	char			 hex[9], *end;
	unsigned long long	 v;

	if (e->type != RAFT_ENTRY_NORMAL || e->len < 9 ||
	    ((const char *)e->data)[0] != 'c')
		return UINT64_MAX;
	memcpy(hex, (const char *)e->data + 1, 8);
	hex[8] = '\0';
	v = strtoull(hex, &end, 16);
	if (*end != '\0')
		return UINT64_MAX;
	return v;
}

/*
 * A client command reaches a state machine: once there, at the index it
 * was given; acknowledged to its client if this is the server that took
 * it, still running since, and the client still waits.
 */
static void
sim_apply_cmd(struct sim *s, int i, const struct raft_entry *e)
{
	struct sim_node	*nd = &s->nodes[i];
	struct sim_cmd	*c;
	uint64_t	 id;

	if (s->cmd_words == 0 || (id = cmd_id(e)) == UINT64_MAX)
		return;
	CHECK(id < s->ncmds);
	if (id >= s->ncmds)
		return;
	c = &s->cmds[id];
	CHECK(!cmds_isset(nd->sm_cmds, id));
	cmds_set(nd->sm_cmds, id);
	CHECK(e->index == c->index);
	if (c->applied_at == 0) {
		c->applied_at = e->index;
		if (++s->op_applied[c->op] == 2)
			s->stats[ST_DUP_OPS]++;
	} else
		CHECK(c->applied_at == e->index);
	if (c->state == CMD_PENDING && c->node == i && c->life == nd->life &&
	    c->index == e->index) {
		c->state = CMD_ACKED;
		s->stats[ST_ACKED]++;
		sim_trace(s, "%s: cmd %llu acknowledged at %llu", nd->id,
		    (unsigned long long)id, (unsigned long long)e->index);
	}
}

/* State Machine Safety: in order, once, the same entry everywhere. */
static void
sim_apply(struct sim *s, int i, const struct raft_entry *e)
{
	struct sim_node		*nd = &s->nodes[i];
	struct sim_commit	*c;
	uint64_t		 h = entry_hash(e);

	CHECK(e->index == nd->applied + 1);
	nd->applied = e->index;
	nd->sm_hash = mix(nd->sm_hash, h);
	if (e->type == RAFT_ENTRY_CONF) {
		raft_conf_free(&nd->sm_conf);
		CHECK(raft_conf_decode(e->data, e->len, &nd->sm_conf) == 0);
	}
	if (e->index <= s->ncommits) {
		c = &s->commits[e->index - 1];
		CHECK(c->term == e->term && c->hash == h &&
		    c->prefix == nd->sm_hash);
		sim_apply_cmd(s, i, e);
		return;
	}
	CHECK(e->index == s->ncommits + 1);
	if (s->ncommits == s->capcommits) {
		s->capcommits = s->capcommits ? s->capcommits * 2 : 256;
		if ((s->commits = reallocarray(s->commits, s->capcommits,
		    sizeof(*s->commits))) == NULL)
			abort();
	}
	c = &s->commits[s->ncommits++];
	c->term = e->term;
	c->hash = h;
	c->prefix = nd->sm_hash;
	if (e->type == RAFT_ENTRY_CONF && e->index > 1) {
		s->stats[ST_CONFS]++;
		sim_trace(s, "configuration at %llu committed",
		    (unsigned long long)e->index);
	}
	sim_apply_cmd(s, i, e);
}

static void
sim_install(struct sim *s, int i, const struct raft_snapshot_meta *meta)
{
	struct sim_node	*nd = &s->nodes[i];

	CHECK(meta->index == nd->inst_index);
	CHECK(meta->index <= s->ncommits);
	if (meta->index <= s->ncommits)
		CHECK(s->commits[meta->index - 1].prefix == nd->inst_hash);
	ms_reset(&nd->st, meta->index, meta->term);
	nd->applied = meta->index;
	nd->sm_hash = nd->inst_hash;
	raft_conf_free(&nd->sm_conf);
	conf_copy(&nd->sm_conf, &meta->conf);
	nd->snap_index = meta->index;
	nd->snap_term = meta->term;
	nd->snap_hash = nd->inst_hash;
	raft_conf_free(&nd->snap_conf);
	conf_copy(&nd->snap_conf, &meta->conf);
	CHECK(s->cmd_words == 0 || nd->inst_cmds != NULL);
	cmds_copy(s, nd->sm_cmds, nd->inst_cmds);
	cmds_copy(s, nd->snap_cmds, nd->inst_cmds);
	nd->installs++;
	s->stats[ST_INSTALLS]++;
	sim_trace(s, "%s: installs snapshot %llu", nd->id,
	    (unsigned long long)meta->index);
}

static void	 sim_ready(struct sim *, int);

/* The highest index any server knows to be committed. */
static uint64_t
sim_known_commit(struct sim *s)
{
	uint64_t	 c = 0;
	int		 i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].last_commit > c)
			c = s->nodes[i].last_commit;
	return c;
}

/* A read index covers every write committed before it was asked. */
static void
sim_read_served(struct sim *s, int i, const struct raft_read_state *rs)
{
	struct sim_node	*nd = &s->nodes[i];

	if (nd->n_reads < nitems(nd->reads))
		nd->reads[nd->n_reads++] = *rs;
	if (rs->ctx >= s->nread)
		return;
	CHECK(!s->read_done[rs->ctx] && s->read_node[rs->ctx] == i);
	s->read_done[rs->ctx] = 1;
	if (rs->index == 0)
		return;
	CHECK(rs->index >= s->read_need[rs->ctx]);
	CHECK(rs->index <= raft_commit_index(nd->r));
	s->reads_served++;
}

static void
sim_read(struct sim *s, int i)
{
	if (i < 0 || !s->nodes[i].up || s->nread == nitems(s->read_need))
		return;
	s->read_need[s->nread] = sim_known_commit(s);
	s->read_node[s->nread] = i;
	if (raft_read_index(s->nodes[i].r, s->nread) == 0)
		s->nread++;
	sim_ready(s, i);
}

static void
sim_crash(struct sim *s, int i)
{
	uint64_t	 k;

	/* Reads pending there die with it, as the daemon's requests do. */
	for (k = 0; k < s->nread; k++)
		if (s->read_node[k] == i && !s->read_done[k])
			s->read_done[k] = 2;
	raft_free(s->nodes[i].r);
	s->nodes[i].r = NULL;
	s->nodes[i].up = 0;
}

/* A crash in a random run: the node comes back after a while. */
static void
sim_kill(struct sim *s, int i, const char *when)
{
	struct sim_node	*nd = &s->nodes[i];

	sim_crash(s, i);
	nd->down_until = s->now + 1 +
	    sim_rand(s) % (uint64_t)(3 * s->opts.election_ticks);
	s->stats[ST_CRASHES]++;
	sim_trace(s, "%s: crashes %s, back at %llu", nd->id, when,
	    (unsigned long long)nd->down_until);
}

/* Where in the daemon's loop a crash strikes. */
enum sim_crash_point {
	SIM_CRASH_NONE,
	SIM_CRASH_UNWRITTEN,	/* before the ready is written */
	SIM_CRASH_WRITTEN,	/* written; nothing sent or applied */
	SIM_CRASH_SENDING,	/* some of the messages sent */
	SIM_CRASH_APPLYING	/* all sent, some entries applied */
};

static enum sim_crash_point
sim_crash_point(struct sim *s)
{
	if (s->crash_ready_pm == 0 ||
	    sim_rand(s) % 1000 >= (uint64_t)s->crash_ready_pm)
		return SIM_CRASH_NONE;
	return SIM_CRASH_UNWRITTEN + sim_rand(s) % 4;
}

/*
 * The daemon's loop body: write the snapshot, entries and hard state in
 * one transaction, send, apply, advance.  A crash may strike at any step
 * of it; only what was written survives.
 */
static void
sim_ready(struct sim *s, int i)
{
	static const char	*when[] = { "", "before writing a ready",
				    "before sending", "while sending",
				    "while applying" };
	struct sim_node		*nd = &s->nodes[i];
	struct raft_ready	 rd;
	enum sim_crash_point	 cp;
	size_t			 k, nsend, napply;
	int			 guard = 0;

	while (nd->up && raft_has_ready(nd->r)) {
		if (++guard > 1000) {
			CHECK(guard <= 1000);
			break;
		}
		raft_ready(nd->r, &rd);
		sim_note_commit(s, i);
		if ((cp = sim_crash_point(s)) == SIM_CRASH_UNWRITTEN) {
			s->stats[ST_READY_CRASHES]++;
			sim_kill(s, i, when[cp]);
			break;
		}
		if (rd.install != NULL)
			sim_install(s, i, rd.install);
		if (rd.n_entries > 0)
			ms_append(&nd->st, rd.entries, rd.n_entries);
		if (rd.hardstate_changed) {
			CHECK(rd.hardstate.term >= nd->st.hs.term);
			CHECK(rd.hardstate.commit >= nd->st.hs.commit);
			/* One vote a term, kept across restarts. */
			if (rd.hardstate.term == nd->st.hs.term &&
			    nd->st.hs.vote[0] != '\0')
				CHECK_STR(rd.hardstate.vote, nd->st.hs.vote);
			nd->st.hs = rd.hardstate;
		}
		nsend = rd.n_msgs;
		napply = rd.n_committed;
		if (cp == SIM_CRASH_WRITTEN)
			nsend = napply = 0;
		else if (cp == SIM_CRASH_SENDING) {
			nsend = sim_rand(s) % (rd.n_msgs + 1);
			napply = 0;
		} else if (cp == SIM_CRASH_APPLYING)
			napply = sim_rand(s) % (rd.n_committed + 1);
		for (k = 0; k < nsend; k++)
			sim_send(s, i, &rd.msgs[k]);
		for (k = 0; k < napply; k++)
			sim_apply(s, i, &rd.committed[k]);
		if (cp != SIM_CRASH_NONE) {
			s->stats[ST_READY_CRASHES]++;
			sim_kill(s, i, when[cp]);
			break;
		}
		for (k = 0; k < rd.n_read_states; k++)
			sim_read_served(s, i, &rd.read_states[k]);
		raft_advance(nd->r, &rd);
		CHECK(raft_term(nd->r) >= nd->last_term);
		CHECK(raft_commit_index(nd->r) >= nd->last_commit);
		nd->last_term = raft_term(nd->r);
		nd->last_commit = raft_commit_index(nd->r);
	}
	sim_check_leader(s, i);
}

/*
 * Start a core on what node i has on disk.  A state machine that is not
 * kept on disk starts again from the snapshot, and the core hands out
 * the committed entries after it once more.
 */
static void
sim_start(struct sim *s, int i)
{
	struct sim_node		*nd = &s->nodes[i];
	struct raft_storage	 st = ms_storage(&nd->st);
	struct raft_options	 o = s->opts;
	struct raft_snapshot_meta meta;

	if (s->sm_lost_pct > 0 && sim_pct(s, s->sm_lost_pct) &&
	    nd->applied != nd->snap_index) {
		sim_trace(s, "%s: state machine back to snapshot %llu from "
		    "%llu", nd->id, (unsigned long long)nd->snap_index,
		    (unsigned long long)nd->applied);
		nd->applied = nd->snap_index;
		nd->sm_hash = nd->snap_hash;
		raft_conf_free(&nd->sm_conf);
		conf_copy(&nd->sm_conf, &nd->snap_conf);
		cmds_copy(s, nd->sm_cmds, nd->snap_cmds);
	}
	strlcpy(o.id, nd->id, sizeof(o.id));
	o.seed = sim_rand(s);
	nd->r = raft_new(&o, &st, &nd->st.hs, &nd->snap_conf, nd->applied);
	CHECK(nd->r != NULL);
	if (nd->r == NULL)
		abort();
	if (nd->snap_index > 0) {
		meta.index = nd->snap_index;
		meta.term = nd->snap_term;
		meta.conf = nd->snap_conf;
		CHECK(raft_snapshot_taken(nd->r, &meta) == 0);
	}
	nd->up = 1;
	nd->life++;
	CHECK(raft_term(nd->r) == nd->st.hs.term);
	nd->last_term = raft_term(nd->r);
	nd->last_commit = raft_commit_index(nd->r);
}

/* The options and ids of n servers; nothing started yet. */
static void
sim_setup(struct sim *s, int n, uint64_t seed)
{
	int	 i;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->rng = seed * 0x2545f4914f6cdd1dULL + 1;
	s->opts.election_ticks = 10;
	s->opts.heartbeat_ticks = 2;
	s->opts.pre_vote = 1;
	s->opts.check_quorum = 1;
	s->opts.max_append_bytes = 256;
	s->opts.max_inflight = 4;
	for (i = 0; i < n; i++) {
		snprintf(s->nodes[i].id, sizeof(s->nodes[i].id), "n%d",
		    i + 1);
		s->nodes[i].used = 1;
	}
}

/* n servers with empty disks, started. */
static void
sim_init(struct sim *s, int n, uint64_t seed)
{
	int	 i;

	sim_setup(s, n, seed);
	for (i = 0; i < n; i++)
		sim_start(s, i);
}

/* Bootstrap the first nvoters nodes with a configuration of themselves. */
static void
sim_bootstrap(struct sim *s, int nvoters)
{
	struct raft_server	 sv[SIM_MAXN];
	struct raft_conf	 c;
	int			 i;

	memset(sv, 0, sizeof(sv));
	for (i = 0; i < nvoters; i++) {
		strlcpy(sv[i].id, s->nodes[i].id, sizeof(sv[i].id));
		snprintf(sv[i].addr, sizeof(sv[i].addr), "127.0.0.%d:8300",
		    i + 1);
		sv[i].voter = 1;
	}
	c.servers = sv;
	c.n = nvoters;
	for (i = 0; i < nvoters; i++) {
		CHECK(raft_bootstrap(s->nodes[i].r, &c) == 0);
		sim_ready(s, i);
	}
}

static void
sim_free(struct sim *s)
{
	size_t	 k;
	int	 i;

	for (i = 0; i < SIM_MAXN; i++) {
		if (s->nodes[i].up)
			sim_crash(s, i);
		ms_free(&s->nodes[i].st);
		raft_conf_free(&s->nodes[i].sm_conf);
		raft_conf_free(&s->nodes[i].snap_conf);
		free(s->nodes[i].sm_cmds);
		free(s->nodes[i].snap_cmds);
		free(s->nodes[i].inst_cmds);
	}
	for (k = 0; k < s->nq; k++)
		sim_msg_free(&s->q[k]);
	for (k = 0; k < s->nheld; k++)
		sim_msg_free(&s->held[k]);
	free(s->q);
	free(s->held);
	free(s->leaders);
	free(s->commits);
	free(s->cterms);
	free(s->cmds);
	free(s->op_applied);
}

static void
sim_deliver(struct sim *s, size_t k)
{
	struct sim_msg	 sm = s->q[k], *cp;
	struct sim_node	*to = &s->nodes[sm.to], *from = &s->nodes[sm.from];
	int		 rv, report;

	memmove(s->q + k, s->q + k + 1, (s->nq - k - 1) * sizeof(*s->q));
	s->nq--;
	/* Entries from drop_appends_from on get lost; the append does not. */
	while (s->drop_appends_from > 0 && sm.m.type == RAFT_MSG_APPEND &&
	    sm.m.n_entries > 0 &&
	    sm.m.entries[sm.m.n_entries - 1].index >= s->drop_appends_from)
		free(sm.m.entries[--sm.m.n_entries].data);
	if (s->dup_pct > 0 && sim_pct(s, s->dup_pct)) {
		/* The network delivers this one again, later. */
		cp = sim_msg_slot(&s->held, &s->nheld, &s->capheld);
		sim_msg_copy(s, cp, &sm);
		cp->dup = 1;
		cp->at = s->now + sim_rand(s) % (uint64_t)s->max_delay;
		s->stats[ST_DUPS]++;
	}
	/* Only the daemon that streamed a snapshot hears how it went. */
	report = sm.m.type == RAFT_MSG_SNAPSHOT && !sm.dup && from->up &&
	    from->life == sm.from_life;
	if (!to->up || to->gen != sm.to_gen || s->cut[sm.from][sm.to] ||
	    sim_pct(s, s->drop_pct)) {
		if (report) {
			raft_report_snapshot(from->r, to->id, 0);
			sim_ready(s, sm.from);
		} else if (s->unreachable_pct > 0 && from->up &&
		    from->life == sm.from_life &&
		    sim_pct(s, s->unreachable_pct)) {
			/* The daemon's connection failed, and it says so. */
			raft_report_unreachable(from->r, to->id);
			sim_ready(s, sm.from);
		}
		sim_msg_free(&sm);
		return;
	}
	if (sm.m.type == RAFT_MSG_SNAPSHOT) {
		to->inst_index = sm.m.snapshot.index;
		to->inst_hash = sm.snap_hash;
		free(to->inst_cmds);
		to->inst_cmds = sm.snap_cmds;
		sm.snap_cmds = NULL;
		if (report) {
			raft_report_snapshot(from->r, to->id, 1);
			sim_ready(s, sm.from);
		}
	}
	s->delivered[sm.m.type]++;
	rv = raft_step(to->r, &sm.m);
	if (rv == -1) {
		/* Only a server we no longer know may be refused. */
		CHECK(conf_find(raft_config(to->r), sm.m.from) == -1);
		s->refused++;
	}
	sim_msg_free(&sm);
	sim_ready(s, sm.to);
}

static void
sim_deliver_one(struct sim *s)
{
	if (s->nq == 0)
		return;
	sim_deliver(s, s->reorder ? sim_rand(s) % s->nq : 0);
}

static void
sim_drain(struct sim *s)
{
	int	 budget = 10000;

	while (s->nq > 0 && budget-- > 0)
		sim_deliver_one(s);
	CHECK(s->nq == 0);
}

static void
sim_clear_queue(struct sim *s)
{
	while (s->nq > 0)
		sim_msg_free(&s->q[--s->nq]);
}

/* Make node i campaign now (as a transfer would) until it wins. */
static int
sim_elect(struct sim *s, int i)
{
	int	 tries;

	for (tries = 0; tries < 5; tries++) {
		if (raft_role(s->nodes[i].r) == RAFT_LEADER)
			return 1;
		campaign(s->nodes[i].r, 0, 1);
		sim_ready(s, i);
		sim_drain(s);
	}
	return raft_role(s->nodes[i].r) == RAFT_LEADER;
}

static void
sim_tick(struct sim *s, int i)
{
	if (!s->nodes[i].up)
		return;
	raft_tick(s->nodes[i].r);
	sim_ready(s, i);
}

/*
 * A new round: the messages held back for it join the queue, and a
 * partition whose time is up heals.
 */
static void
sim_release(struct sim *s)
{
	struct sim_msg	*sm;
	size_t		 k, j;

	s->now++;
	for (k = j = 0; k < s->nheld; k++) {
		if (s->held[k].at > s->now) {
			s->held[j++] = s->held[k];
			continue;
		}
		sm = sim_msg_slot(&s->q, &s->nq, &s->capq);
		*sm = s->held[k];
	}
	s->nheld = j;
	if (s->heal_at != 0 && s->now >= s->heal_at) {
		memset(s->cut, 0, sizeof(s->cut));
		s->heal_at = 0;
		sim_trace(s, "partition heals");
	}
}

/* One tick everywhere, then the network settles (or gives up). */
static void
sim_round(struct sim *s)
{
	int	 i, budget = 2000;

	sim_release(s);
	for (i = 0; i < s->n; i++)
		sim_tick(s, i);
	while (s->nq > 0 && budget-- > 0)
		sim_deliver_one(s);
}

static void
sim_rounds(struct sim *s, int n)
{
	while (n-- > 0)
		sim_round(s);
}

static int
sim_leader(struct sim *s)
{
	uint64_t	 best = 0;
	int		 i, l = -1;

	for (i = 0; i < s->n; i++) {
		if (s->nodes[i].up &&
		    raft_role(s->nodes[i].r) == RAFT_LEADER &&
		    raft_term(s->nodes[i].r) >= best) {
			best = raft_term(s->nodes[i].r);
			l = i;
		}
	}
	return l;
}

/* The network heals and stops misbehaving; nothing crashes any more. */
static void
sim_heal(struct sim *s)
{
	memset(s->cut, 0, sizeof(s->cut));
	s->heal_at = 0;
	s->drop_pct = 0;
	s->dup_pct = 0;
	s->delay_pct = 0;
	s->crash_ready_pm = 0;
}

static void
sim_isolate(struct sim *s, int i, int on)
{
	int	 j;

	for (j = 0; j < s->n; j++) {
		s->cut[i][j] = on;
		s->cut[j][i] = on;
	}
}

/* All members hold and applied the leader's whole, committed log. */
static int
sim_converged(struct sim *s)
{
	const struct raft_conf	*c;
	struct raft		*lr;
	size_t			 k;
	int			 l, j;

	if ((l = sim_leader(s)) == -1)
		return 0;
	lr = s->nodes[l].r;
	if (raft_commit_index(lr) != raft_last_index(lr) ||
	    s->nodes[l].applied != raft_commit_index(lr))
		return 0;
	c = raft_config(lr);
	for (k = 0; k < c->n; k++) {
		if ((j = sim_find(s, c->servers[k].id)) == -1 ||
		    !s->nodes[j].up)
			return 0;
		if (raft_last_index(s->nodes[j].r) != raft_last_index(lr) ||
		    s->nodes[j].applied != raft_commit_index(lr) ||
		    strcmp(raft_leader(s->nodes[j].r), s->nodes[l].id) != 0)
			return 0;
	}
	return 1;
}

static int
sim_stabilize(struct sim *s, int max_rounds)
{
	int	 i;

	sim_heal(s);
	for (i = 0; i < max_rounds; i++) {
		sim_round(s);
		if (sim_converged(s))
			return 1;
	}
	return 0;
}

/* What node i knows to be committed: its core's word, or its disk's. */
static uint64_t
sim_commit_of(struct sim *s, int i)
{
	if (s->nodes[i].up)
		return raft_commit_index(s->nodes[i].r);
	return s->nodes[i].st.hs.commit;
}

static int
entry_equal(const struct raft_entry *a, const struct raft_entry *b)
{
	return a->index == b->index && a->term == b->term &&
	    a->type == b->type && a->len == b->len &&
	    (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/*
 * Log Matching over what the servers hold on disk, up or down: where
 * two logs have an entry of the same index and term they agree on it
 * and on every entry before it, and committed prefixes are identical.
 */
static void
sim_check_logs(struct sim *s)
{
	const struct mem_store	*x, *y;
	const struct raft_entry	*a, *b;
	uint64_t		 k, lo, hi, c;
	int			 i, j, same;

	for (i = 0; i < s->n; i++) {
		for (j = i + 1; j < s->n; j++) {
			if (!s->nodes[i].used || !s->nodes[j].used)
				continue;
			x = &s->nodes[i].st;
			y = &s->nodes[j].st;
			lo = x->snap_index > y->snap_index ? x->snap_index :
			    y->snap_index;
			hi = ms_last(&s->nodes[i].st);
			if (ms_last(&s->nodes[j].st) < hi)
				hi = ms_last(&s->nodes[j].st);
			c = sim_commit_of(s, i);
			if (sim_commit_of(s, j) < c)
				c = sim_commit_of(s, j);
			CHECK(c <= hi);
			for (k = hi, same = 0; k > lo; k--) {
				a = ms_get(x, k);
				b = ms_get(y, k);
				CHECK(a != NULL && b != NULL);
				if (a == NULL || b == NULL)
					break;
				if (!same && k > c && a->term != b->term)
					continue;
				same = 1;
				CHECK(entry_equal(a, b));
				if (!entry_equal(a, b))
					break;
			}
		}
	}
}

static uint64_t
sim_propose(struct sim *s, int i, const char *payload)
{
	uint64_t	 idx;

	if (i < 0 || !s->nodes[i].up)
		return 0;
	idx = raft_propose(s->nodes[i].r, payload, strlen(payload));
	sim_ready(s, i);
	return idx;
}

/* Take a snapshot at the applied index and drop the log behind it. */
static void
sim_snapshot(struct sim *s, int i)
{
	struct sim_node			*nd;
	struct raft_snapshot_meta	 meta;
	uint64_t			 t = 0;

	if (i < 0)
		return;
	nd = &s->nodes[i];
	if (!nd->up || nd->applied <= nd->snap_index)
		return;
	CHECK(ms_term(&nd->st, nd->applied, &t) == 0);
	meta.index = nd->applied;
	meta.term = t;
	meta.conf = nd->sm_conf;
	CHECK(raft_snapshot_taken(nd->r, &meta) == 0);
	nd->snap_index = nd->applied;
	nd->snap_term = t;
	nd->snap_hash = nd->sm_hash;
	raft_conf_free(&nd->snap_conf);
	conf_copy(&nd->snap_conf, &nd->sm_conf);
	cmds_copy(s, nd->snap_cmds, nd->sm_cmds);
	ms_compact(&nd->st, nd->applied, t);
	s->stats[ST_SNAPSHOTS]++;
}

/* Whether a committed entry anywhere carries this payload prefix. */
static int
log_has_payload(const struct mem_store *st, const char *prefix)
{
	size_t	 i, len = strlen(prefix);

	for (i = 0; i < st->n; i++)
		if (st->ents[i].len >= len &&
		    memcmp(st->ents[i].data, prefix, len) == 0)
			return 1;
	return 0;
}

static size_t
count_payloads(const struct mem_store *st, const char *prefix)
{
	size_t	 i, n = 0, len = strlen(prefix);

	for (i = 0; i < st->n; i++)
		if (st->ents[i].type == RAFT_ENTRY_NORMAL &&
		    st->ents[i].len >= len &&
		    memcmp(st->ents[i].data, prefix, len) == 0)
			n++;
	return n;
}

/* Tests. */

static void
test_conf_codec(void)
{
	struct raft_server	 sv[2], bad[2];
	struct raft_conf	 c = { sv, 2 }, d, b = { bad, 2 };
	struct mpack_out	 out;
	void			*buf;
	size_t			 len;

	memset(sv, 0, sizeof(sv));
	strlcpy(sv[0].id, "a", sizeof(sv[0].id));
	strlcpy(sv[0].addr, "127.0.0.1:8300", sizeof(sv[0].addr));
	sv[0].voter = 1;
	strlcpy(sv[1].id, "b", sizeof(sv[1].id));
	strlcpy(sv[1].addr, "127.0.0.2:8300", sizeof(sv[1].addr));
	CHECK(raft_conf_encode(&c, &buf, &len) == 0);
	CHECK(raft_conf_decode(buf, len, &d) == 0);
	CHECK(d.n == 2);
	if (d.n == 2) {
		CHECK_STR(d.servers[0].id, "a");
		CHECK_STR(d.servers[1].addr, "127.0.0.2:8300");
		CHECK(d.servers[0].voter == 1 && d.servers[1].voter == 0);
	}
	raft_conf_free(&d);
	CHECK(raft_conf_decode(buf, len - 1, &d) == -1);
	CHECK(d.servers == NULL && d.n == 0);
	free(buf);
	CHECK(raft_conf_decode("\x01", 1, &d) == -1);
	CHECK(raft_conf_decode(NULL, 0, &d) == -1);

	memcpy(bad, sv, sizeof(bad));
	strlcpy(bad[1].id, "a", sizeof(bad[1].id));
	CHECK(raft_conf_encode(&b, &buf, &len) == -1);

	/* Duplicate ids, an over-long id, a missing field. */
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	msgpack_pack_map(&out.pk, 3);
	mpack_kv_str(&out.pk, "ID", "x");
	mpack_kv_str(&out.pk, "Address", "");
	mpack_kv_bool(&out.pk, "Voter", 1);
	msgpack_pack_map(&out.pk, 3);
	mpack_kv_str(&out.pk, "ID", "x");
	mpack_kv_str(&out.pk, "Address", "");
	mpack_kv_bool(&out.pk, "Voter", 1);
	CHECK(raft_conf_decode(out.sbuf.data, out.sbuf.size, &d) == -1);
	mpack_out_free(&out);

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 1);
	msgpack_pack_map(&out.pk, 3);
	mpack_kv_str(&out.pk, "ID", "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789");
	mpack_kv_str(&out.pk, "Address", "");
	mpack_kv_bool(&out.pk, "Voter", 1);
	CHECK(raft_conf_decode(out.sbuf.data, out.sbuf.size, &d) == -1);
	mpack_out_free(&out);

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 1);
	msgpack_pack_map(&out.pk, 2);
	mpack_kv_str(&out.pk, "ID", "y");
	mpack_kv_str(&out.pk, "Address", "");
	CHECK(raft_conf_decode(out.sbuf.data, out.sbuf.size, &d) == -1);
	mpack_out_free(&out);
}

/* One pass of the daemon loop for a lone server, applied into *applied. */
static size_t
lone_cycle(struct raft *r, struct mem_store *st, uint64_t *applied,
    struct raft_ready *seen)
{
	struct raft_ready	 rd;
	size_t			 k, n;

	raft_ready(r, &rd);
	if (seen != NULL)
		*seen = rd;
	if (rd.n_entries > 0)
		ms_append(st, rd.entries, rd.n_entries);
	if (rd.hardstate_changed)
		st->hs = rd.hardstate;
	CHECK(rd.n_msgs == 0);
	for (k = 0; k < rd.n_committed; k++) {
		CHECK(rd.committed[k].index == *applied + 1);
		*applied = rd.committed[k].index;
	}
	n = rd.n_committed;
	raft_advance(r, &rd);
	return n;
}

static void
test_single_server(void)
{
	struct mem_store	 st;
	struct raft_storage	 sto = ms_storage(&st);
	struct raft_options	 o;
	struct raft_server	 sv;
	struct raft_conf	 c = { &sv, 1 };
	struct raft_ready	 rd;
	struct raft		*r;
	uint64_t		 applied = 0;

	memset(&st, 0, sizeof(st));
	memset(&o, 0, sizeof(o));
	strlcpy(o.id, "s1", sizeof(o.id));
	o.election_ticks = 10;
	o.heartbeat_ticks = 1;
	o.pre_vote = o.check_quorum = 1;
	o.seed = 7;
	memset(&sv, 0, sizeof(sv));
	strlcpy(sv.id, "s1", sizeof(sv.id));
	strlcpy(sv.addr, "127.0.0.1:8300", sizeof(sv.addr));
	sv.voter = 1;

	r = raft_new(&o, &sto, NULL, NULL, 0);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(raft_bootstrap(r, &c) == 0);
	CHECK(raft_bootstrap(r, &c) == -1);
	CHECK(raft_has_ready(r));
	raft_ready(r, &rd);
	CHECK(rd.n_entries == 1 && rd.entries[0].index == 1 &&
	    rd.entries[0].term == 1 && rd.entries[0].type == RAFT_ENTRY_CONF);
	CHECK(rd.hardstate_changed && rd.hardstate.term == 1);
	CHECK(rd.conf_changed);
	ms_append(&st, rd.entries, rd.n_entries);
	st.hs = rd.hardstate;
	raft_advance(r, &rd);
	CHECK(!raft_has_ready(r));

	/* The only voter leads on the first tick. */
	raft_tick(r);
	CHECK(raft_role(r) == RAFT_LEADER && raft_term(r) == 2);
	CHECK_STR(raft_leader(r), "s1");
	CHECK(raft_last_contact_ticks(r) == 0);
	/* A read asked before this term commits waits for the noop. */
	CHECK(raft_read_index(r, 99) == 0);
	CHECK(lone_cycle(r, &st, &applied, &rd) == 0);
	CHECK(rd.soft_changed && rd.role == RAFT_LEADER);
	CHECK(rd.n_entries == 1 && rd.entries[0].type == RAFT_ENTRY_NOOP);
	CHECK(raft_commit_index(r) == 2);
	raft_ready(r, &rd);
	CHECK(rd.n_committed == 2 && rd.hardstate.commit == 2);
	CHECK(rd.n_read_states == 1 && rd.read_states[0].ctx == 99 &&
	    rd.read_states[0].index == 2);
	applied = 2;
	raft_advance(r, &rd);

	CHECK(raft_propose(r, "hello", 5) == 3);
	CHECK(lone_cycle(r, &st, &applied, NULL) == 0);
	raft_ready(r, &rd);
	CHECK(rd.n_committed == 1 && rd.committed[0].len == 5 &&
	    memcmp(rd.committed[0].data, "hello", 5) == 0);
	/* Between ready and advance the core takes nothing. */
	CHECK(raft_propose(r, "x", 1) == 0);
	CHECK(raft_read_index(r, 1) == -1);
	applied = 3;
	raft_advance(r, &rd);
	CHECK(!raft_has_ready(r));
	CHECK(raft_applied_index(r) == 3);
	CHECK(raft_read_index(r, 5) == 0);
	raft_ready(r, &rd);
	CHECK(rd.n_read_states == 1 && rd.read_states[0].index == 3);
	raft_advance(r, &rd);
	raft_free(r);

	/* A restart leads again, one term later, with the log intact. */
	r = raft_new(&o, &sto, &st.hs, NULL, applied);
	CHECK(r != NULL);
	if (r == NULL)
		goto out;
	CHECK(raft_commit_index(r) == 3 && raft_last_index(r) == 3);
	raft_tick(r);
	CHECK(raft_role(r) == RAFT_LEADER && raft_term(r) == 3);
	while (raft_has_ready(r))
		lone_cycle(r, &st, &applied, NULL);
	CHECK(raft_commit_index(r) == 4 && applied == 4);
	raft_free(r);
out:
	ms_free(&st);
}

static void
test_apply_bounded(void)
{
	struct mem_store	 st;
	struct raft_storage	 sto = ms_storage(&st);
	struct raft_options	 o;
	struct raft_server	 sv;
	struct raft_conf	 c = { &sv, 1 };
	struct raft_ready	 rd;
	struct raft		*r;
	size_t			 k, bytes, total = 0, readies = 0;
	uint64_t		 applied = 0;
	char			*big;
	int			 i;

	memset(&st, 0, sizeof(st));
	memset(&o, 0, sizeof(o));
	strlcpy(o.id, "s1", sizeof(o.id));
	memset(&sv, 0, sizeof(sv));
	strlcpy(sv.id, "s1", sizeof(sv.id));
	sv.voter = 1;
	if ((big = calloc(1, 512 * 1024)) == NULL)
		abort();
	r = raft_new(&o, &sto, NULL, NULL, 0);
	CHECK(r != NULL && raft_bootstrap(r, &c) == 0);
	if (r == NULL)
		goto out;
	raft_tick(r);
	while (raft_has_ready(r))
		lone_cycle(r, &st, &applied, NULL);
	for (i = 0; i < 20; i++)
		CHECK(raft_propose(r, big, 512 * 1024) != 0);
	lone_cycle(r, &st, &applied, NULL);
	while (raft_has_ready(r)) {
		raft_ready(r, &rd);
		bytes = 0;
		for (k = 0; k < rd.n_committed; k++) {
			CHECK(rd.committed[k].index == applied + 1);
			applied++;
			bytes += rd.committed[k].len;
		}
		CHECK(bytes <= RAFT_APPLY_BYTES);
		if (rd.n_committed > 0)
			readies++;
		total += rd.n_committed;
		raft_advance(r, &rd);
	}
	CHECK(total == 20 && readies >= 3);
	CHECK(applied == raft_commit_index(r));
	raft_free(r);
out:
	free(big);
	ms_free(&st);
}

static void
test_election(void)
{
	struct sim	 s;
	int		 l, i, round, leaders;
	uint64_t	 term;

	sim_init(&s, 3, 1);
	sim_bootstrap(&s, 3);
	for (round = 0; round < 60 && sim_leader(&s) == -1; round++)
		sim_round(&s);
	CHECK((l = sim_leader(&s)) != -1);
	CHECK(round <= 3 * s.opts.election_ticks);
	sim_rounds(&s, 50);
	CHECK(sim_leader(&s) == l);
	if (l == -1)
		goto out;
	term = raft_term(s.nodes[l].r);
	for (i = 0, leaders = 0; i < s.n; i++) {
		if (raft_role(s.nodes[i].r) == RAFT_LEADER)
			leaders++;
		CHECK(raft_term(s.nodes[i].r) == term);
		CHECK_STR(raft_leader(s.nodes[i].r), s.nodes[l].id);
	}
	CHECK(leaders == 1);
	CHECK(sim_converged(&s));
out:
	sim_free(&s);
}

static void
test_replication_lossy(void)
{
	struct sim	 s;
	char		 buf[32];
	int		 next = 0, steps, i, l;
	size_t		 committed = 0;

	sim_init(&s, 5, 2);
	sim_bootstrap(&s, 5);
	s.drop_pct = 10;
	s.reorder = 1;
	for (steps = 0; steps < 200000 && committed < 200; steps++) {
		l = sim_leader(&s);
		if (l != -1 && sim_pct(&s, 30)) {
			snprintf(buf, sizeof(buf), "p%04d", next);
			if (sim_propose(&s, l, buf) != 0)
				next++;
		}
		if (sim_pct(&s, 20))
			sim_tick(&s, sim_rand(&s) % s.n);
		else
			sim_deliver_one(&s);
		if ((l = sim_leader(&s)) != -1) {
			committed = 0;
			for (i = 0; i < (int)s.nodes[l].st.n; i++)
				if (s.nodes[l].st.ents[i].index <=
				    s.nodes[l].applied &&
				    s.nodes[l].st.ents[i].type ==
				    RAFT_ENTRY_NORMAL)
					committed++;
		}
	}
	CHECK(committed >= 200);
	CHECK(sim_stabilize(&s, 300));
	sim_check_logs(&s);
	l = sim_leader(&s);
	for (i = 0; i < s.n && l != -1; i++) {
		CHECK(s.nodes[i].applied == s.nodes[l].applied);
		CHECK(s.nodes[i].sm_hash == s.nodes[l].sm_hash);
	}
	CHECK(s.refused == 0);
	sim_free(&s);
}

static void
test_leader_partition(void)
{
	struct sim	 s;
	char		 buf[32];
	int		 l, f, l2, i, j, round;
	uint64_t	 term;

	sim_init(&s, 5, 3);
	sim_bootstrap(&s, 5);
	CHECK(sim_stabilize(&s, 100));
	if ((l = sim_leader(&s)) == -1)
		goto out;
	term = raft_term(s.nodes[l].r);
	f = (l + 1) % s.n;
	/* The old leader and one follower on one side, three on the other. */
	for (i = 0; i < s.n; i++)
		for (j = 0; j < s.n; j++)
			s.cut[i][j] = (i == l || i == f) != (j == l || j == f);
	for (i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "old%d", i);
		CHECK(sim_propose(&s, l, buf) != 0);
	}
	for (round = 0; round < 5 * s.opts.election_ticks; round++)
		sim_round(&s);
	CHECK(raft_role(s.nodes[l].r) != RAFT_LEADER);
	l2 = sim_leader(&s);
	CHECK(l2 != -1 && l2 != l && l2 != f);
	if (l2 == -1)
		goto out;
	CHECK(raft_term(s.nodes[l2].r) > term);
	for (i = 0; i < 10; i++) {
		snprintf(buf, sizeof(buf), "new%d", i);
		CHECK(sim_propose(&s, l2, buf) != 0);
	}
	sim_rounds(&s, 10);
	CHECK(count_payloads(&s.nodes[l2].st, "new") == 10);
	CHECK(log_has_payload(&s.nodes[l].st, "old"));
	CHECK(sim_stabilize(&s, 200));
	sim_check_logs(&s);
	for (i = 0; i < s.n; i++) {
		CHECK(!log_has_payload(&s.nodes[i].st, "old"));
		CHECK(count_payloads(&s.nodes[i].st, "new") == 10);
	}
out:
	sim_free(&s);
}

/*
 * Figure 8 of the Raft paper.  An entry of an older term that a later
 * leader copies onto a majority must not count as committed, because a
 * server holding a conflicting entry of a newer term can still win and
 * replace it.  Each append carries one entry here, so the test can let
 * the old entry through and hold the newer one back.
 */
static void
test_figure8(void)
{
	struct sim		 s;
	const struct raft_entry	*ea;
	int			 a = 0, b = 1, c = 2, e = 4, i;
	uint64_t		 k, term_a, term_e;

	sim_init(&s, 5, 10);
	for (i = 0; i < s.n; i++)
		sim_crash(&s, i);
	s.opts.max_append_bytes = 1;
	for (i = 0; i < s.n; i++)
		sim_start(&s, i);
	sim_bootstrap(&s, 5);
	CHECK(sim_elect(&s, a));
	sim_drain(&s);
	k = raft_last_index(s.nodes[a].r) + 1;
	term_a = raft_term(s.nodes[a].r);

	/* A's entry at k reaches B only, then A crashes. */
	sim_isolate(&s, a, 1);
	s.cut[a][b] = s.cut[b][a] = 0;
	CHECK(sim_propose(&s, a, "fig8-a") == k);
	sim_drain(&s);
	CHECK(ms_get(&s.nodes[b].st, k) != NULL);
	CHECK(ms_get(&s.nodes[c].st, k) == NULL);
	sim_crash(&s, a);

	/* E wins with C and D and crashes before its noop at k leaves. */
	sim_heal(&s);
	sim_isolate(&s, b, 1);
	campaign(s.nodes[e].r, 0, 1);
	sim_ready(&s, e);
	while (s.nq > 0 && raft_role(s.nodes[e].r) != RAFT_LEADER)
		sim_deliver_one(&s);
	CHECK(raft_role(s.nodes[e].r) == RAFT_LEADER);
	term_e = raft_term(s.nodes[e].r);
	sim_crash(&s, e);
	sim_clear_queue(&s);
	CHECK(ms_get(&s.nodes[e].st, k) != NULL &&
	    ms_get(&s.nodes[e].st, k)->term == term_e);

	/* A returns, wins a later term, copies k but not k + 1 to C. */
	sim_heal(&s);
	sim_start(&s, a);
	s.drop_appends_from = k + 1;
	CHECK(sim_elect(&s, a));
	sim_drain(&s);
	ea = ms_get(&s.nodes[c].st, k);
	CHECK(ea != NULL && ea->term == term_a);
	CHECK(raft_commit_index(s.nodes[a].r) < k);
	CHECK(s.ncommits < k);
	sim_crash(&s, a);
	s.drop_appends_from = 0;

	/* E returns and wins: its entry replaces A's everywhere. */
	sim_start(&s, e);
	CHECK(sim_elect(&s, e));
	sim_drain(&s);
	sim_start(&s, a);
	CHECK(sim_stabilize(&s, 100));
	sim_check_logs(&s);
	for (i = 0; i < s.n; i++) {
		ea = ms_get(&s.nodes[i].st, k);
		CHECK(ea != NULL && ea->term == term_e);
	}
	sim_free(&s);
}

static void
test_prevote_rejoin(void)
{
	struct sim	 s;
	int		 l, f, i;
	uint64_t	 term;

	sim_init(&s, 3, 4);
	sim_bootstrap(&s, 3);
	CHECK(sim_stabilize(&s, 100));
	if ((l = sim_leader(&s)) == -1)
		goto out;
	term = raft_term(s.nodes[l].r);
	f = (l + 1) % s.n;
	CHECK(raft_last_contact_ticks(s.nodes[f].r) <= s.opts.heartbeat_ticks);
	sim_isolate(&s, f, 1);
	sim_rounds(&s, 10 * s.opts.election_ticks);
	CHECK(raft_term(s.nodes[f].r) == term);
	CHECK(raft_role(s.nodes[f].r) != RAFT_LEADER);
	CHECK(raft_last_contact_ticks(s.nodes[f].r) >=
	    5 * s.opts.election_ticks);
	/*
	 * Back, it asks for pre-votes before the leader reaches it.  Its
	 * log is as good as theirs, so only leader stickiness refuses.
	 */
	sim_isolate(&s, f, 0);
	campaign(s.nodes[f].r, 1, 0);
	CHECK(raft_role(s.nodes[f].r) == RAFT_PRECANDIDATE);
	sim_ready(&s, f);
	sim_drain(&s);
	CHECK(raft_term(s.nodes[f].r) == term);
	sim_rounds(&s, 5 * s.opts.election_ticks);
	CHECK(sim_leader(&s) == l);
	for (i = 0; i < s.n; i++) {
		CHECK(raft_term(s.nodes[i].r) == term);
		CHECK_STR(raft_leader(s.nodes[i].r), s.nodes[l].id);
	}
	CHECK(raft_last_contact_ticks(s.nodes[f].r) <= s.opts.heartbeat_ticks);
out:
	sim_free(&s);
}

static void
test_snapshot_catchup(void)
{
	struct sim	 s;
	char		 buf[32];
	int		 l, f, i;

	sim_init(&s, 3, 5);
	sim_bootstrap(&s, 3);
	CHECK(sim_stabilize(&s, 100));
	if ((l = sim_leader(&s)) == -1)
		goto out;
	f = (l + 1) % s.n;
	sim_isolate(&s, f, 1);
	for (i = 0; i < 40; i++) {
		snprintf(buf, sizeof(buf), "e%d", i);
		CHECK(sim_propose(&s, l, buf) != 0);
		sim_round(&s);
	}
	sim_rounds(&s, 5);
	for (i = 0; i < s.n; i++)
		if (i != f)
			sim_snapshot(&s, i);
	CHECK(s.nodes[l].st.snap_index > raft_last_index(s.nodes[f].r) + 1);
	CHECK(sim_stabilize(&s, 200));
	CHECK(s.nodes[f].installs == 1);
	CHECK(s.delivered[RAFT_MSG_SNAPSHOT] >= 1);
	CHECK(s.nodes[f].applied == s.nodes[l].applied);
	CHECK(s.nodes[f].sm_hash == s.nodes[l].sm_hash);
	CHECK(count_payloads(&s.nodes[f].st, "e") == 0);
	/* The follower goes on from its snapshot like the others. */
	CHECK(sim_propose(&s, l, "after") != 0);
	CHECK(sim_stabilize(&s, 50));
	CHECK(count_payloads(&s.nodes[f].st, "after") == 1);
	sim_check_logs(&s);
out:
	sim_free(&s);
}

/* The leader's configuration with one server added, changed or removed. */
static uint64_t
propose_change(struct sim *s, int l, const char *id, int voter, int remove)
{
	const struct raft_conf	*cur = raft_config(s->nodes[l].r);
	struct raft_server	 sv[SIM_MAXN];
	struct raft_conf	 c = { sv, 0 };
	size_t			 k;
	int			 found = 0;

	for (k = 0; k < cur->n; k++) {
		if (strcmp(cur->servers[k].id, id) == 0) {
			found = 1;
			if (remove)
				continue;
			sv[c.n] = cur->servers[k];
			sv[c.n++].voter = voter;
		} else
			sv[c.n++] = cur->servers[k];
	}
	if (!found && !remove) {
		memset(&sv[c.n], 0, sizeof(sv[c.n]));
		strlcpy(sv[c.n].id, id, sizeof(sv[c.n].id));
		strlcpy(sv[c.n].addr, "127.0.0.9:8300", sizeof(sv[c.n].addr));
		sv[c.n++].voter = voter;
	}
	return raft_propose_conf(s->nodes[l].r, &c);
}

static void
test_membership(void)
{
	struct sim		 s;
	const struct raft_conf	*c;
	int			 l, i, victim, d = 3;
	uint64_t		 term, commit;

	sim_init(&s, 5, 6);
	sim_bootstrap(&s, 3);
	CHECK(sim_stabilize(&s, 100));
	if ((l = sim_leader(&s)) == -1)
		goto out;

	/* Add n4 and n5 as non-voters, one change at a time. */
	CHECK(propose_change(&s, l, s.nodes[d].id, 0, 0) != 0);
	CHECK(propose_change(&s, l, s.nodes[4].id, 0, 0) == 0);
	sim_ready(&s, l);
	CHECK(sim_stabilize(&s, 100));
	c = raft_config(s.nodes[d].r);
	CHECK(c->n == 4 && conf_find(c, s.nodes[d].id) != -1 &&
	    !conf_is_voter(c, s.nodes[d].id));
	CHECK(conf_voters(raft_config(s.nodes[l].r)) == 3);
	CHECK(s.nodes[d].applied == s.nodes[l].applied);
	if ((l = sim_leader(&s)) == -1)
		goto out;
	CHECK(propose_change(&s, l, s.nodes[4].id, 0, 0) != 0);
	sim_ready(&s, l);
	CHECK(sim_stabilize(&s, 100));
	CHECK(raft_config(s.nodes[4].r)->n == 5);
	term = raft_term(s.nodes[l].r);

	/* The leader and both non-voters are no majority of the voters. */
	if ((l = sim_leader(&s)) == -1)
		goto out;
	for (i = 0; i < 3; i++)
		if (i != l)
			sim_isolate(&s, i, 1);
	commit = raft_commit_index(s.nodes[l].r);
	CHECK(sim_propose(&s, l, "minority") != 0);
	sim_rounds(&s, 3);
	CHECK(raft_commit_index(s.nodes[l].r) == commit);
	CHECK(s.nodes[d].applied == commit && s.nodes[4].applied == commit);
	CHECK(count_payloads(&s.nodes[d].st, "minority") == 1);
	CHECK(sim_stabilize(&s, 100));
	CHECK(count_payloads(&s.nodes[d].st, "minority") == 1);
	if ((l = sim_leader(&s)) == -1)
		goto out;
	term = raft_term(s.nodes[l].r);

	/* A non-voter never campaigns, even cut off. */
	sim_isolate(&s, d, 1);
	sim_rounds(&s, 5 * s.opts.election_ticks);
	CHECK(raft_role(s.nodes[d].r) == RAFT_FOLLOWER);
	CHECK(raft_term(s.nodes[d].r) == term);
	CHECK(sim_stabilize(&s, 100));

	/* Promote it. */
	if ((l = sim_leader(&s)) == -1)
		goto out;
	CHECK(propose_change(&s, l, s.nodes[d].id, 1, 0) != 0);
	CHECK(sim_stabilize(&s, 100));
	for (i = 0; i < 4; i++)
		CHECK(conf_voters(raft_config(s.nodes[i].r)) == 4);

	/* Remove a voter that is not the leader. */
	if ((l = sim_leader(&s)) == -1)
		goto out;
	victim = (l + 1) % 4;
	CHECK(propose_change(&s, l, s.nodes[victim].id, 0, 1) != 0);
	CHECK(sim_stabilize(&s, 100));
	l = sim_leader(&s);
	CHECK(l != victim && l != -1);
	if (l == -1)
		goto out;
	CHECK(conf_find(raft_config(s.nodes[l].r), s.nodes[victim].id) == -1);
	CHECK(conf_voters(raft_config(s.nodes[l].r)) == 3);
	term = raft_term(s.nodes[l].r);
	/* The removed server cannot disturb the rest. */
	sim_rounds(&s, 5 * s.opts.election_ticks);
	CHECK(sim_leader(&s) == l && raft_term(s.nodes[l].r) == term);

	/* The leader removes itself and steps down once that commits. */
	CHECK(propose_change(&s, l, s.nodes[l].id, 0, 1) != 0);
	sim_rounds(&s, 3);
	CHECK(raft_role(s.nodes[l].r) != RAFT_LEADER);
	CHECK(sim_stabilize(&s, 100));
	i = sim_leader(&s);
	CHECK(i != -1 && i != l && i != victim);
	if (i != -1) {
		CHECK(conf_voters(raft_config(s.nodes[i].r)) == 2);
		CHECK(sim_propose(&s, i, "still") != 0);
		CHECK(sim_stabilize(&s, 100));
	}
	sim_check_logs(&s);
out:
	sim_free(&s);
}

static void
test_transfer(void)
{
	struct sim	 s;
	int		 l, t, pass;
	uint64_t	 term;

	sim_init(&s, 3, 7);
	sim_bootstrap(&s, 3);
	CHECK(sim_stabilize(&s, 100));
	if ((l = sim_leader(&s)) == -1)
		goto out;
	t = (l + 1) % s.n;
	term = raft_term(s.nodes[l].r);
	CHECK(raft_transfer_leader(s.nodes[l].r, s.nodes[l].id) == -1);
	CHECK(raft_transfer_leader(s.nodes[l].r, "nobody") == -1);
	CHECK(raft_transfer_leader(s.nodes[t].r, s.nodes[l].id) == -1);
	CHECK(raft_transfer_leader(s.nodes[l].r, s.nodes[t].id) == 0);
	/* No proposals while leadership moves. */
	CHECK(raft_propose(s.nodes[l].r, "x", 1) == 0);
	sim_ready(&s, l);
	/* No ticks: only messages move leadership. */
	for (pass = 0; pass < 10 && s.nq > 0; pass++)
		sim_deliver_one(&s);
	while (s.nq > 0)
		sim_deliver_one(&s);
	CHECK(sim_leader(&s) == t);
	CHECK(raft_term(s.nodes[t].r) == term + 1);
	CHECK(raft_role(s.nodes[l].r) == RAFT_FOLLOWER);
	CHECK(sim_stabilize(&s, 50));
	CHECK(sim_leader(&s) == t);
out:
	sim_free(&s);
}

static void
test_read_index(void)
{
	struct sim	 s;
	int		 l, f;
	uint64_t	 commit;

	sim_init(&s, 3, 8);
	sim_bootstrap(&s, 3);
	CHECK(sim_stabilize(&s, 100));
	if ((l = sim_leader(&s)) == -1)
		goto out;
	f = (l + 1) % s.n;
	CHECK(raft_read_index(s.nodes[f].r, 1) == -1);
	commit = raft_commit_index(s.nodes[l].r);
	CHECK(raft_read_index(s.nodes[l].r, 42) == 0);
	sim_ready(&s, l);
	/* Nothing until a quorum answers the heartbeat round. */
	CHECK(s.nodes[l].n_reads == 0);
	while (s.nq > 0)
		sim_deliver_one(&s);
	CHECK(s.nodes[l].n_reads == 1);
	CHECK(s.nodes[l].reads[0].ctx == 42 &&
	    s.nodes[l].reads[0].index == commit);

	/* A leader cut off never answers, and says so when it steps down. */
	sim_isolate(&s, l, 1);
	CHECK(raft_read_index(s.nodes[l].r, 43) == 0);
	sim_ready(&s, l);
	sim_rounds(&s, 3 * s.opts.election_ticks);
	CHECK(raft_role(s.nodes[l].r) != RAFT_LEADER);
	CHECK(s.nodes[l].n_reads == 2);
	CHECK(s.nodes[l].reads[1].ctx == 43 && s.nodes[l].reads[1].index == 0);
out:
	sim_free(&s);
}

static int
step_msg(struct sim *s, int i, enum raft_msg_type type, const char *from,
    uint64_t term, uint64_t index, uint64_t log_term)
{
	struct raft_msg	 m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	strlcpy(m.from, from, sizeof(m.from));
	strlcpy(m.to, s->nodes[i].id, sizeof(m.to));
	m.term = term;
	m.index = index;
	m.log_term = log_term;
	return raft_step(s->nodes[i].r, &m);
}

static void
test_malformed(void)
{
	struct sim		 s;
	struct raft_msg		 m;
	struct raft_entry	 e[2];
	struct raft_server	 sv[2];
	struct raft_storage	 sto;
	struct raft_options	 o;
	struct raft		*fr, *lr;
	const char		*lid;
	uint64_t		 term, last, lt;
	int			 l, f;

	sim_init(&s, 3, 9);
	sim_bootstrap(&s, 3);
	CHECK(sim_stabilize(&s, 100));
	if ((l = sim_leader(&s)) == -1)
		goto out;
	f = (l + 1) % s.n;
	fr = s.nodes[f].r;
	lr = s.nodes[l].r;
	lid = s.nodes[l].id;
	term = raft_term(lr);
	last = raft_last_index(fr);
	lt = log_last_term(fr);

	CHECK(raft_step(fr, NULL) == -1);
	CHECK(step_msg(&s, f, RAFT_MSG_TYPE_MAX, lid, term, 0, 0) == -1);
	CHECK(step_msg(&s, f, (enum raft_msg_type)-1, lid, term, 0, 0) == -1);
	CHECK(step_msg(&s, f, RAFT_MSG_HEARTBEAT, "", term, 0, 0) == -1);
	CHECK(step_msg(&s, f, RAFT_MSG_HEARTBEAT, s.nodes[f].id, term, 0,
	    0) == -1);
	CHECK(step_msg(&s, f, RAFT_MSG_HEARTBEAT, lid, UINT64_MAX, 0,
	    0) == -1);
	CHECK(step_msg(&s, f, RAFT_MSG_VOTE, lid, term, 0, term + 1) == -1);

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_HEARTBEAT;
	strlcpy(m.from, lid, sizeof(m.from));
	strlcpy(m.to, "elsewhere", sizeof(m.to));
	m.term = term;
	CHECK(raft_step(fr, &m) == -1);
	memset(m.to, 'x', sizeof(m.to));
	CHECK(raft_step(fr, &m) == -1);

	/* Appends whose entries do not follow, or lie. */
	memset(e, 0, sizeof(e));
	strlcpy(m.to, s.nodes[f].id, sizeof(m.to));
	m.type = RAFT_MSG_APPEND;
	m.index = last;
	m.log_term = lt;
	m.entries = e;
	m.n_entries = 2;
	e[0].index = last + 1;
	e[0].term = term;
	e[1].index = last + 3;
	e[1].term = term;
	CHECK(raft_step(fr, &m) == -1);
	e[1].index = last + 2;
	e[1].term = term + 1;
	CHECK(raft_step(fr, &m) == -1);
	e[1].term = term;
	e[1].len = 5;
	CHECK(raft_step(fr, &m) == -1);
	e[1].len = 0;
	e[1].type = 9;
	CHECK(raft_step(fr, &m) == -1);
	e[1].type = RAFT_ENTRY_CONF;
	e[1].data = "junk";
	e[1].len = 4;
	CHECK(raft_step(fr, &m) == -1);
	CHECK(raft_last_index(fr) == last);
	m.entries = NULL;
	CHECK(raft_step(fr, &m) == -1);
	m.entries = e;
	m.n_entries = RAFT_MSG_ENTRIES_MAX + 1;
	CHECK(raft_step(fr, &m) == -1);
	m.n_entries = 1;
	m.index = UINT64_MAX - 1;
	CHECK(raft_step(fr, &m) == -1);
	m.n_entries = 0;
	m.entries = NULL;
	m.index = last;
	m.log_term = term + 1;
	CHECK(raft_step(fr, &m) == -1);

	/* A snapshot with a broken configuration. */
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_SNAPSHOT;
	strlcpy(m.from, lid, sizeof(m.from));
	strlcpy(m.to, s.nodes[f].id, sizeof(m.to));
	m.term = term;
	m.snapshot.index = last + 100;
	m.snapshot.term = term;
	memset(sv, 0, sizeof(sv));
	strlcpy(sv[0].id, "a", sizeof(sv[0].id));
	strlcpy(sv[1].id, "a", sizeof(sv[1].id));
	m.snapshot.conf.servers = sv;
	m.snapshot.conf.n = 2;
	CHECK(raft_step(fr, &m) == -1);
	m.snapshot.conf.n = 1;
	m.snapshot.term = term + 1;
	CHECK(raft_step(fr, &m) == -1);

	/* At the leader: strangers and claims past its log. */
	CHECK(step_msg(&s, l, RAFT_MSG_APPEND_RESP, "stranger", term, 0,
	    0) == -1);
	CHECK(step_msg(&s, l, RAFT_MSG_APPEND_RESP, s.nodes[f].id, term,
	    raft_last_index(lr) + 100, 0) == -1);
	CHECK(step_msg(&s, l, RAFT_MSG_SNAPSHOT_RESP, s.nodes[f].id, term,
	    raft_last_index(lr) + 1, 0) == -1);
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_HEARTBEAT_RESP;
	strlcpy(m.from, s.nodes[f].id, sizeof(m.from));
	strlcpy(m.to, lid, sizeof(m.to));
	m.term = term;
	m.ctx = UINT64_MAX;
	CHECK(raft_step(lr, &m) == -1);
	m.ctx = 0;
	m.commit = raft_last_index(lr) + 1;
	CHECK(raft_step(lr, &m) == -1);
	m.type = RAFT_MSG_APPEND;
	m.commit = 0;
	CHECK(raft_step(lr, &m) == -1);

	/* While the leader is heard from, a stranger cannot move our term. */
	s.strangers = 1;
	CHECK(step_msg(&s, f, RAFT_MSG_VOTE, "stranger", term + 5,
	    last + 100, term) == 0);
	CHECK(raft_term(fr) == term && raft_term(lr) == term);
	CHECK(raft_role(lr) == RAFT_LEADER);
	sim_ready(&s, f);
	sim_ready(&s, l);
	while (s.nq > 0)
		sim_deliver_one(&s);
	CHECK(sim_stabilize(&s, 20));
	CHECK(raft_term(lr) == term);

	/* Options and storage that make no sense. */
	sto = ms_storage(&s.nodes[0].st);
	memset(&o, 0, sizeof(o));
	strlcpy(o.id, "z", sizeof(o.id));
	o.election_ticks = 5;
	o.heartbeat_ticks = 5;
	CHECK(raft_new(&o, &sto, NULL, NULL, 0) == NULL);
	o.heartbeat_ticks = 1;
	o.id[0] = '\0';
	CHECK(raft_new(&o, &sto, NULL, NULL, 0) == NULL);
	strlcpy(o.id, "z", sizeof(o.id));
	sto.term = NULL;
	CHECK(raft_new(&o, &sto, NULL, NULL, 0) == NULL);
	sto = ms_storage(&s.nodes[0].st);
	CHECK(raft_new(&o, &sto, NULL, NULL,
	    raft_last_index(s.nodes[0].r) + 1) == NULL);
out:
	sim_free(&s);
}

/*
 * A voter whose configuration lags must still vote for a candidate that
 * a newer configuration made a voter; refusing deadlocked a soak run
 * (n=3, seed 288 at 800 rounds) where the lagging voter was needed.
 */
static void
test_vote_lagging_conf(void)
{
	struct sim		 s;
	struct raft		*fr;
	const struct raft_msg	*m;
	size_t			 k;
	int			 l, f, granted = 0;

	sim_init(&s, 3, 11);
	sim_bootstrap(&s, 3);
	CHECK(sim_stabilize(&s, 100));
	if ((l = sim_leader(&s)) == -1)
		goto out;
	f = (l + 1) % s.n;
	fr = s.nodes[f].r;
	sim_crash(&s, l);
	/* The leader is gone and its lease over. */
	become_follower(fr, raft_term(fr), NULL);
	CHECK(step_msg(&s, f, RAFT_MSG_PREVOTE, "n9", raft_term(fr) + 1,
	    raft_last_index(fr), log_last_term(fr)) == 0);
	CHECK(step_msg(&s, f, RAFT_MSG_VOTE, "n9", raft_term(fr) + 1,
	    raft_last_index(fr), log_last_term(fr)) == 0);
	for (k = 0; k < fr->n_msgs; k++) {
		m = &fr->msgs[k];
		if (strcmp(m->to, "n9") == 0 && !m->reject &&
		    (m->type == RAFT_MSG_PREVOTE_RESP ||
		    m->type == RAFT_MSG_VOTE_RESP))
			granted++;
	}
	CHECK(granted == 2);
	CHECK_STR(fr->vote, "n9");
	s.strangers = 1;
	sim_ready(&s, f);
out:
	sim_free(&s);
}

/*
 * The randomized runs.  Each seed draws its own fault rates and load,
 * then runs rounds of ticks on every server with faults in between:
 * loss, duplication, delay and reordering of messages; partitions of
 * random shapes that heal; crashes between readies and in the middle of
 * one, after which a server has only what it wrote (and its state
 * machine, sometimes, only as of its snapshot); snapshots with
 * compaction; servers added (fresh ones catch up, from a snapshot when
 * the log is gone), removed (the leader too) and flipped between voter
 * and non-voter, one change at a time; leadership transfers; ReadIndex
 * and reads under a lease; and clients whose commands carry ids of
 * their own, are acknowledged once the server that took one applied it
 * at the index it gave, and are sent again under a new id when that
 * takes too long.
 */
#define SIM_SEEDS		150	/* per cluster size */
#define SIM_SEEDS_VALGRIND	75
#define SIM_ROUNDS		400
#define SIM_ROUNDS_MAX		100000

/* Which seeds test_random runs; main() reads them from the environment. */
static struct {
	const char	*argv0;
	uint64_t	 seed_start;
	uint64_t	 seeds;
	int		 rounds;
	int		 sizes[2];
	int		 nsizes;
	int		 trace;
	int		 stats;
	int		 valgrind;
} sim_cfg;

/* A random used slot: up (1), down (0) or either (-1); -1 if none. */
static int
sim_pick(struct sim *s, int up)
{
	int	 c[SIM_MAXN], n = 0, i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].used && (up == -1 || s->nodes[i].up == up))
			c[n++] = i;
	if (n == 0)
		return -1;
	return c[sim_rand(s) % (uint64_t)n];
}

/* A used slot whose server is not in configuration c; -1 if none. */
static int
sim_outsider(struct sim *s, const struct raft_conf *c)
{
	int	 o[SIM_MAXN], n = 0, i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].used && conf_find(c, s->nodes[i].id) == -1)
			o[n++] = i;
	if (n == 0)
		return -1;
	return o[sim_rand(s) % (uint64_t)n];
}

/* A new server, empty, under an id never used before; -1 if no room. */
static int
sim_spawn(struct sim *s)
{
	struct sim_node	*nd;
	int		 i, j;

	for (i = 0; i < s->n && s->nodes[i].used; i++)
		;
	if (i == s->n)
		return -1;
	nd = &s->nodes[i];
	if (nd->gen == 0)
		snprintf(nd->id, sizeof(nd->id), "n%d", i + 1);
	else
		snprintf(nd->id, sizeof(nd->id), "n%d.%u", i + 1, nd->gen);
	nd->used = 1;
	for (j = 0; j < SIM_MAXN; j++)
		s->cut[i][j] = s->cut[j][i] = 0;
	sim_start(s, i);
	sim_trace(s, "%s: starts empty", nd->id);
	return i;
}

/*
 * A server out of the configuration goes for good: its disk is wiped
 * and its id never used again, so that its slot can take a new server.
 */
static void
sim_retire(struct sim *s, int i)
{
	struct sim_node	*nd = &s->nodes[i];

	sim_trace(s, "%s: retires", nd->id);
	if (nd->up)
		sim_crash(s, i);
	strlcpy(s->retired[s->nretired++], nd->id, sizeof(s->retired[0]));
	ms_free(&nd->st);
	raft_conf_free(&nd->sm_conf);
	raft_conf_free(&nd->snap_conf);
	free(nd->inst_cmds);
	nd->inst_cmds = NULL;
	memset(nd->sm_cmds, 0, s->cmd_words * sizeof(*nd->sm_cmds));
	memset(nd->snap_cmds, 0, s->cmd_words * sizeof(*nd->snap_cmds));
	nd->id[0] = '\0';
	nd->used = 0;
	nd->gen++;
	nd->applied = nd->sm_hash = 0;
	nd->snap_index = nd->snap_term = nd->snap_hash = 0;
	nd->inst_index = nd->inst_hash = 0;
	nd->installs = 0;
	nd->last_term = nd->last_commit = 0;
	nd->n_reads = 0;
	s->stats[ST_RETIRES]++;
}

/* One configuration change through the leader, if it takes one now. */
static void
sim_membership(struct sim *s)
{
	const struct raft_conf	*c;
	struct raft		*lr;
	const char		*what;
	char			 id[RAFT_ID_MAX];
	size_t			 nv, k;
	uint64_t		 idx;
	int			 l, i, voter = 0, remove = 0;
	enum sim_stat		 st;

	if ((l = sim_leader(s)) == -1)
		return;
	lr = s->nodes[l].r;
	c = raft_config(lr);
	nv = conf_voters(c);
	switch (sim_rand(s) % 4) {
	case 0:
		if (c->n >= (size_t)s->max_members)
			return;
		/* A server that was there before, or a new one. */
		i = sim_pct(s, 50) ? sim_outsider(s, c) : -1;
		if (i == -1 && (i = sim_spawn(s)) == -1 &&
		    (i = sim_outsider(s, c)) == -1)
			return;
		voter = nv < (size_t)s->max_voters && sim_pct(s, 50);
		strlcpy(id, s->nodes[i].id, sizeof(id));
		what = voter ? "add voter" : "add non-voter";
		st = ST_ADDS;
		break;
	case 1:
		/* The leader itself, often. */
		if (lr->self != -1 && sim_pct(s, 30))
			k = (size_t)lr->self;
		else
			k = sim_rand(s) % c->n;
		if (c->servers[k].voter && nv <= (size_t)s->min_voters)
			return;
		strlcpy(id, c->servers[k].id, sizeof(id));
		remove = 1;
		what = "remove";
		st = ST_REMOVES;
		break;
	case 2:
		k = sim_rand(s) % c->n;
		voter = !c->servers[k].voter;
		if (voter ? nv >= (size_t)s->max_voters :
		    nv <= (size_t)s->min_voters)
			return;
		strlcpy(id, c->servers[k].id, sizeof(id));
		what = voter ? "promote" : "demote";
		st = ST_FLIPS;
		break;
	default:
		/*
		 * Only once the leader's configuration is final: then no
		 * configuration that names the server can come into force.
		 */
		if (!lr->commit_in_term || lr->cur_index > lr->commit ||
		    s->nretired == SIM_RETIRED_MAX ||
		    (i = sim_outsider(s, c)) == -1)
			return;
		sim_retire(s, i);
		return;
	}
	if ((idx = propose_change(s, l, id, voter, remove)) == 0)
		return;
	s->stats[st]++;
	sim_trace(s, "%s: proposes to %s %s at %llu", s->nodes[l].id, what,
	    id, (unsigned long long)idx);
	sim_ready(s, l);
}

/* The network falls apart for a while, in one of several shapes. */
static void
sim_partition(struct sim *s)
{
	static const char *const shapes[] = { "leader alone",
			    "leader in a minority", "leader in a majority",
			    "random halves", "halves and a bridge",
			    "one-way links" };
	char		 desc[256];
	int		 v[SIM_MAXN], side[SIM_MAXN], m = 0, i, j, l, k, kmax;
	int		 shape, bridge = -1, t;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].used)
			v[m++] = i;
	if (m < 2)
		return;
	for (i = m - 1; i > 0; i--) {
		j = (int)(sim_rand(s) % (uint64_t)(i + 1));
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
	/* The leader first, so that shapes can place it. */
	if ((l = sim_leader(s)) != -1) {
		for (i = 0; i < m; i++) {
			if (v[i] == l) {
				v[i] = v[0];
				v[0] = l;
			}
		}
	}
	memset(side, 0, sizeof(side));
	kmax = (m - 1) / 2 > 0 ? (m - 1) / 2 : 1;
	k = 1 + (int)(sim_rand(s) % (uint64_t)kmax);	/* a minority */
	shape = (int)(sim_rand(s) % nitems(shapes));
	switch (shape) {
	case 0:
		side[v[0]] = 1;
		break;
	case 1:
	case 4:
		for (i = 0; i < k; i++)
			side[v[i]] = 1;
		if (shape == 4)
			bridge = v[m - 1];
		break;
	case 2:
		for (i = 0; i < m - k; i++)
			side[v[i]] = 1;
		break;
	case 3:
		for (i = 0; i < m; i++)
			side[v[i]] = (int)(sim_rand(s) % 2);
		break;
	}
	memset(s->cut, 0, sizeof(s->cut));
	for (i = 0; i < m; i++) {
		for (j = 0; j < m; j++) {
			if (i == j)
				continue;
			if (shape == 5)
				s->cut[v[i]][v[j]] = sim_pct(s, 30);
			else
				s->cut[v[i]][v[j]] = side[v[i]] !=
				    side[v[j]] && v[i] != bridge &&
				    v[j] != bridge;
		}
	}
	s->heal_at = s->now + 3 +
	    sim_rand(s) % (uint64_t)(4 * s->opts.election_ticks);
	s->stats[ST_PARTITIONS]++;
	if (!s->trace)
		return;
	desc[0] = '\0';
	for (i = 0; i < m; i++) {
		for (j = 0; j < m; j++) {
			if (i != j && s->cut[v[i]][v[j]]) {
				strlcat(desc, " ", sizeof(desc));
				strlcat(desc, s->nodes[v[i]].id, sizeof(desc));
				strlcat(desc, "-x>", sizeof(desc));
				strlcat(desc, s->nodes[v[j]].id, sizeof(desc));
			}
		}
	}
	sim_trace(s, "partition, %s, until %llu:%s", shapes[shape],
	    (unsigned long long)s->heal_at, desc);
}

/* Partitions, broken links, crashes; and restarts when their time comes. */
static void
sim_faults(struct sim *s)
{
	int	 i, j, l;

	if (s->heal_at == 0 && sim_pct(s, 4))
		sim_partition(s);
	if (sim_pct(s, 2) && (i = sim_pick(s, -1)) != -1 &&
	    (j = sim_pick(s, -1)) != -1 && i != j) {
		/* A link that fails one way only. */
		s->cut[i][j] = 1;
		if (s->heal_at == 0)
			s->heal_at = s->now + 3 + sim_rand(s) %
			    (uint64_t)(2 * s->opts.election_ticks);
		sim_trace(s, "link %s -x> %s", s->nodes[i].id,
		    s->nodes[j].id);
	}
	if (sim_pct(s, 2) && (i = sim_pick(s, 1)) != -1)
		sim_kill(s, i, "between readies");
	if (sim_pct(s, 1) && (l = sim_leader(s)) != -1)
		sim_kill(s, l, "while leading");
	for (i = 0; i < s->n; i++) {
		if (!s->nodes[i].used || s->nodes[i].up ||
		    s->now < s->nodes[i].down_until)
			continue;
		sim_start(s, i);
		s->stats[ST_RESTARTS]++;
		sim_trace(s, "%s: restarts at term %llu, log to %llu, "
		    "applied %llu", s->nodes[i].id,
		    (unsigned long long)raft_term(s->nodes[i].r),
		    (unsigned long long)raft_last_index(s->nodes[i].r),
		    (unsigned long long)s->nodes[i].applied);
	}
}

/* Where a client sends a command: the leader, or one that thinks so. */
static int
sim_pick_leader(struct sim *s)
{
	int	 c[SIM_MAXN], n = 0, i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].up &&
		    raft_role(s->nodes[i].r) == RAFT_LEADER)
			c[n++] = i;
	if (n == 0)
		return -1;
	if (n == 1 || sim_pct(s, 80))
		return sim_leader(s);
	return c[sim_rand(s) % (uint64_t)n];
}

/*
 * raftd answers a default read from the leader's state machine at once
 * while raft_lease_valid() holds for half an election timeout (node.c).
 * Such a read must see every write committed anywhere so far, whichever
 * server believes it leads.
 */
static void
sim_check_leases(struct sim *s)
{
	struct sim_node	*nd;
	uint64_t	 known = sim_known_commit(s);
	int		 i;

	if (s->ncommits > known)
		known = s->ncommits;
	for (i = 0; i < s->n; i++) {
		nd = &s->nodes[i];
		if (!nd->up || !raft_lease_valid(nd->r,
		    (uint64_t)s->opts.election_ticks / 2))
			continue;
		s->stats[ST_LEASE_READS]++;
		CHECK(nd->applied >= known);
		if (nd->applied < known)
			fprintf(stderr, "# round %llu: %s reads under its "
			    "lease in term %llu at %llu, but %llu is "
			    "committed\n", (unsigned long long)s->now, nd->id,
			    (unsigned long long)raft_term(nd->r),
			    (unsigned long long)nd->applied,
			    (unsigned long long)known);
	}
}

/* What an operator and the daemons do: changes, transfers, snapshots. */
static void
sim_admin(struct sim *s)
{
	const char	*to;
	int		 l, j, voter, rv;

	if (sim_pct(s, 3))
		sim_membership(s);
	if (sim_pct(s, 2) && (l = sim_leader(s)) != -1 &&
	    (j = sim_pick(s, -1)) != -1 && j != l) {
		to = s->nodes[j].id;
		voter = conf_is_voter(raft_config(s->nodes[l].r), to);
		rv = raft_transfer_leader(s->nodes[l].r, to);
		/* Leadership goes to voters only. */
		CHECK(rv == -1 || voter);
		if (rv == 0) {
			s->stats[ST_TRANSFERS]++;
			sim_trace(s, "%s: hands leadership to %s",
			    s->nodes[l].id, to);
		}
		sim_ready(s, l);
	}
	if (sim_pct(s, 10))
		sim_read(s, sim_leader(s));
	if (sim_pct(s, 5))
		sim_snapshot(s, sim_pick(s, 1));
}

static void
sim_client_propose(struct sim *s, struct sim_client *cl)
{
	struct sim_cmd	*c;
	char		 buf[64];
	uint64_t	 id = s->ncmds, idx;
	size_t		 len, fill;
	int		 l;

	if (id == s->maxcmds || (l = sim_pick_leader(s)) == -1)
		return;
	len = (size_t)snprintf(buf, sizeof(buf), "c%08llx",
	    (unsigned long long)id);
	/* Commands of many sizes fill appends differently. */
	fill = sim_rand(s) % 32;
	memset(buf + len, 'a' + (int)(cl->op % 26), fill);
	len += fill;
	if ((idx = raft_propose(s->nodes[l].r, buf, len)) == 0)
		return;
	c = &s->cmds[s->ncmds++];
	c->index = idx;
	c->applied_at = 0;
	c->round = s->now;
	c->op = (uint32_t)cl->op;
	c->life = s->nodes[l].life;
	c->node = l;
	c->state = CMD_PENDING;
	cl->cmd = (int64_t)id;
	sim_trace(s, "%s: takes cmd %llu (op %u) at %llu, term %llu",
	    s->nodes[l].id, (unsigned long long)id, c->op,
	    (unsigned long long)idx,
	    (unsigned long long)raft_term(s->nodes[l].r));
	sim_ready(s, l);
}

/*
 * Each client waits for its command to be acknowledged.  When that takes
 * too long, or the server that took it went down, the client gives up
 * on the id and sends the operation again under a new one, so the
 * operation may be applied twice, but never an id.
 */
static void
sim_clients(struct sim *s)
{
	struct sim_client	*cl;
	struct sim_cmd		*c;
	struct sim_node		*p;
	uint64_t		 timeout = 3 * (uint64_t)s->opts.election_ticks;
	int			 k;

	for (k = 0; k < s->nclients; k++) {
		cl = &s->clients[k];
		if (cl->cmd != -1) {
			c = &s->cmds[cl->cmd];
			p = &s->nodes[c->node];
			if (c->state == CMD_ACKED)
				cl->cmd = cl->op = -1;
			else if (s->now - c->round > timeout || !p->up ||
			    p->life != c->life) {
				c->state = CMD_ABANDONED;
				cl->cmd = -1;
				s->stats[ST_RETRIED]++;
				sim_trace(s, "client %d: gives up on cmd %lld",
				    k, (long long)(c - s->cmds));
			}
		}
		if (cl->op == -1 && s->ncmds < s->maxcmds && sim_pct(s, 70))
			cl->op = s->nops++;
		if (cl->op != -1 && cl->cmd == -1)
			sim_client_propose(s, cl);
	}
}

/*
 * Every command applied anywhere, acknowledged or not, was applied once
 * by every state machine that got as far as its index; an acknowledged
 * one was applied where it was proposed.
 */
static void
sim_check_cmds(struct sim *s)
{
	const struct sim_cmd	*c;
	size_t			 x;
	int			 i;

	for (x = 0; x < s->ncmds; x++) {
		c = &s->cmds[x];
		if (c->state == CMD_ACKED)
			CHECK(c->applied_at == c->index);
		if (c->applied_at == 0)
			continue;
		for (i = 0; i < s->n; i++)
			if (s->nodes[i].used &&
			    s->nodes[i].applied >= c->applied_at)
				CHECK(cmds_isset(s->nodes[i].sm_cmds, x));
	}
}

/* The seed's own mix of faults and load. */
static void
sim_draw(struct sim *s, int n, int rounds)
{
	int	 i;

	s->reorder = 1;
	s->drop_pct = (int)(sim_rand(s) % 25);
	s->dup_pct = (int)(sim_rand(s) % 10);
	s->delay_pct = (int)(sim_rand(s) % 30);
	s->max_delay = 1 + (int)(sim_rand(s) %
	    (uint64_t)(3 * s->opts.election_ticks));
	s->crash_ready_pm = (int)(sim_rand(s) % 3);
	s->sm_lost_pct = (int)(sim_rand(s) % 101);
	s->unreachable_pct = (int)(sim_rand(s) % 50);
	s->min_voters = n < 5 ? 2 : 3;
	s->max_voters = n + 1;
	s->max_members = n + 2 < SIM_MAXN ? n + 2 : SIM_MAXN;
	s->nclients = 1 + (int)(sim_rand(s) % SIM_CLIENTS);
	for (i = 0; i < SIM_CLIENTS; i++)
		s->clients[i].op = s->clients[i].cmd = -1;
	/* A client proposes once a round at most. */
	s->maxcmds = (size_t)rounds * (size_t)s->nclients;
	s->cmd_words = (s->maxcmds + 63) / 64;
	if ((s->cmds = calloc(s->maxcmds, sizeof(*s->cmds))) == NULL ||
	    (s->op_applied = calloc(s->maxcmds + SIM_CLIENTS,
	    sizeof(*s->op_applied))) == NULL)
		abort();
	for (i = 0; i < SIM_MAXN; i++) {
		if ((s->nodes[i].sm_cmds = calloc(s->cmd_words,
		    sizeof(uint64_t))) == NULL ||
		    (s->nodes[i].snap_cmds = calloc(s->cmd_words,
		    sizeof(uint64_t))) == NULL)
			abort();
	}
	sim_trace(s, "drop %d%% dup %d%% delay %d%% (up to %d rounds) "
	    "unreachable %d%% crash in ready %d/1000 state machine lost %d%% "
	    "clients %d", s->drop_pct, s->dup_pct, s->delay_pct,
	    s->max_delay, s->unreachable_pct, s->crash_ready_pm,
	    s->sm_lost_pct, s->nclients);
}

/* One seed; 1 if a check failed, and then the way to replay it. */
static int
random_run(int n, uint64_t seed, int rounds, size_t *tot)
{
	struct sim	 s;
	size_t		 deliver, k;
	int		 round, i, failed, before = test_current_failed;

	test_current_failed = 0;
	sim_setup(&s, n, seed);
	s.trace = sim_cfg.trace;
	/* Flow control and heartbeats of the seed's own. */
	s.opts.heartbeat_ticks = 1 + (int)(sim_rand(&s) % 3);
	s.opts.max_append_bytes = (size_t)64 << (sim_rand(&s) % 5);
	s.opts.max_inflight = 1 + (size_t)(sim_rand(&s) % 8);
	sim_trace(&s, "run n=%d seed=%llu rounds=%d: heartbeat %d ticks, "
	    "appends of %zu bytes, %zu in flight", n,
	    (unsigned long long)seed, rounds, s.opts.heartbeat_ticks,
	    s.opts.max_append_bytes, s.opts.max_inflight);
	for (i = 0; i < n; i++)
		sim_start(&s, i);
	sim_bootstrap(&s, n);
	s.n = SIM_MAXN;
	sim_draw(&s, n, rounds);
	for (round = 0; round < rounds && !test_current_failed; round++) {
		sim_release(&s);
		sim_faults(&s);
		sim_admin(&s);
		sim_clients(&s);
		for (i = 0; i < s.n; i++)
			sim_tick(&s, i);
		deliver = s.nq / 2 + 1 + sim_rand(&s) % (s.nq + 1);
		while (deliver-- > 0 && s.nq > 0)
			sim_deliver_one(&s);
		sim_check_leases(&s);
		if (round % 32 == 31)
			sim_check_logs(&s);
	}
	if (!test_current_failed) {
		sim_trace(&s, "faults end");
		for (i = 0; i < s.n; i++)
			if (s.nodes[i].used && !s.nodes[i].up)
				sim_start(&s, i);
		CHECK(sim_stabilize(&s, 600));
		sim_rounds(&s, 2 * s.opts.election_ticks);
		sim_check_logs(&s);
		sim_check_cmds(&s);
		for (k = 0; k < s.nread; k++)
			CHECK(s.read_done[k] != 0);
	}
	s.stats[ST_LEADERS] = s.nleaders;
	s.stats[ST_COMMITS] = s.ncommits;
	s.stats[ST_READS] = s.reads_served;
	s.stats[ST_CMDS] = s.ncmds;
	for (k = 0; k < ST_MAX; k++)
		tot[k] += s.stats[k];
	/* RAFT_STATS=1 shows how much each run exercised. */
	if (sim_cfg.stats) {
		fprintf(stderr, "# n=%d seed=%llu", n,
		    (unsigned long long)seed);
		for (k = 0; k < ST_MAX; k++)
			fprintf(stderr, " %s=%zu", sim_stat_names[k],
			    s.stats[k]);
		fputc('\n', stderr);
	}
	if ((failed = test_current_failed))
		fprintf(stderr, "# replay: RAFT_SIM_SEED=%llu RAFT_SIM_N=%d "
		    "RAFT_SIM_ROUNDS=%d %s\n", (unsigned long long)seed, n,
		    rounds, sim_cfg.argv0);
	test_current_failed = before || failed;
	sim_free(&s);
	return failed;
}

static void
test_random(void)
{
	struct timespec	 t0, t1;
	size_t		 tot[ST_MAX], k;
	uint64_t	 runs;
	int		 size, failed;

	if (sim_cfg.valgrind)
		printf("# under valgrind: %llu seeds per cluster size\n",
		    (unsigned long long)sim_cfg.seeds);
	for (size = 0; size < sim_cfg.nsizes; size++) {
		memset(tot, 0, sizeof(tot));
		failed = 0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (runs = 0; runs < sim_cfg.seeds; runs++)
			failed += random_run(sim_cfg.sizes[size],
			    sim_cfg.seed_start + runs, sim_cfg.rounds, tot);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("# sim: n=%d seeds=%llu first=%llu rounds=%d failed=%d",
		    sim_cfg.sizes[size], (unsigned long long)runs,
		    (unsigned long long)sim_cfg.seed_start, sim_cfg.rounds,
		    failed);
		for (k = 0; k < ST_MAX; k++)
			printf(" %s=%zu", sim_stat_names[k], tot[k]);
		printf(" secs=%.2f\n", (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		fflush(stdout);
		/* The faults must not have kept the clusters from working. */
		if (runs >= 20 && sim_cfg.rounds >= SIM_ROUNDS) {
			CHECK(tot[ST_LEADERS] >= 3 * runs);
			CHECK(tot[ST_COMMITS] >= 50 * runs);
			CHECK(tot[ST_ACKED] >= 20 * runs);
			CHECK(tot[ST_READS] >= 3 * runs);
			CHECK(tot[ST_CONFS] >= runs);
			CHECK(tot[ST_INSTALLS] >= runs / 2);
		}
	}
}

/*
 * The environment picks test_random's seeds: RAFT_SIM_SEEDS of them per
 * cluster size from RAFT_SIM_SEED_START, for RAFT_SIM_N servers (3 or 5;
 * both when unset), RAFT_SIM_ROUNDS rounds each.  RAFT_SIM_SEED=S runs
 * seed S alone, and RAFT_SIM_TRACE=1 prints what happens in a run.
 * Under valgrind, unless RAFT_SIM_SEEDS says otherwise, fewer seeds.
 */
static uint64_t
env_num(const char *name, long long lo, long long hi, uint64_t def)
{
	const char	*v = getenv(name), *errstr;
	long long	 n;

	if (v == NULL || *v == '\0')
		return def;
	n = strtonum(v, lo, hi, &errstr);
	if (errstr != NULL)
		errx(2, "%s=%s: %s", name, v, errstr);
	return (uint64_t)n;
}

static void
sim_config(const char *argv0)
{
	const char	*v, *pre = getenv("LD_PRELOAD");
	int		 n;

	sim_cfg.argv0 = argv0;
	sim_cfg.valgrind = pre != NULL && strstr(pre, "vgpreload") != NULL &&
	    getenv("RAFT_SIM_SEEDS") == NULL;
	sim_cfg.seeds = env_num("RAFT_SIM_SEEDS", 1, 100000000,
	    sim_cfg.valgrind ? SIM_SEEDS_VALGRIND : SIM_SEEDS);
	sim_cfg.seed_start = env_num("RAFT_SIM_SEED_START", 0, INT64_MAX, 1);
	sim_cfg.rounds = (int)env_num("RAFT_SIM_ROUNDS", 1, SIM_ROUNDS_MAX,
	    SIM_ROUNDS);
	if ((v = getenv("RAFT_SIM_SEED")) != NULL && *v != '\0') {
		sim_cfg.seed_start = env_num("RAFT_SIM_SEED", 0, INT64_MAX, 1);
		sim_cfg.seeds = 1;
		sim_cfg.valgrind = 0;
	}
	if ((n = (int)env_num("RAFT_SIM_N", 3, 5, 0)) == 4)
		errx(2, "RAFT_SIM_N=4: 3 or 5");
	if (n != 0) {
		sim_cfg.sizes[0] = n;
		sim_cfg.nsizes = 1;
	} else {
		sim_cfg.sizes[0] = 3;
		sim_cfg.sizes[1] = 5;
		sim_cfg.nsizes = 2;
	}
	v = getenv("RAFT_SIM_TRACE");
	sim_cfg.trace = v != NULL && *v != '\0' && strcmp(v, "0") != 0;
	sim_cfg.stats = getenv("RAFT_STATS") != NULL;
}

int
main(int argc, char *argv[])
{
	static const struct test_case cases[] = {
		TEST_CASE(test_conf_codec),
		TEST_CASE(test_single_server),
		TEST_CASE(test_apply_bounded),
		TEST_CASE(test_election),
		TEST_CASE(test_replication_lossy),
		TEST_CASE(test_leader_partition),
		TEST_CASE(test_figure8),
		TEST_CASE(test_prevote_rejoin),
		TEST_CASE(test_snapshot_catchup),
		TEST_CASE(test_membership),
		TEST_CASE(test_transfer),
		TEST_CASE(test_read_index),
		TEST_CASE(test_malformed),
		TEST_CASE(test_vote_lagging_conf),
		TEST_CASE(test_random),
	};

	sim_config(argc > 0 ? argv[0] : "test_raft");
	return test_main(cases, nitems(cases));
}
