/*
 * The Raft core of raftd: elections with pre-vote and check-quorum, log
 * replication with per-follower flow control (probe, replicate and
 * snapshot states, a window of inflight appends), single-server
 * membership changes, leadership transfer, snapshots and ReadIndex.  It
 * does no I/O and reads no clock; raft.h is the contract with the daemon.
 * The shape follows etcd's raft (Ready/Advance), written afresh.
 *
 * The log is what the daemon's storage holds below u_offset followed by
 * an unstable tail of entries accepted here but not yet written.
 * raft_ready() hands the tail out and raft_advance() forgets it, because
 * by then storage holds it.  Between the two nothing may change the
 * core, so every pointer in a ready stays valid until the advance.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mpack.h"
#include "raft.h"

/* Uncommitted CONF entries a log may hold (one per leader, in practice). */
#define RAFT_CONF_PENDING_MAX	16
#define RAFT_CONF_BYTES_MAX	(RAFT_SERVERS_MAX * 256)
#define RAFT_INFLIGHT_MAX	4096
#define RAFT_DEFERRED_TICKS_MAX	1024

enum raft_pr_state {
	PR_PROBE,		/* one append at a time until a match is found */
	PR_REPLICATE,		/* pipelined, up to max_inflight appends */
	PR_SNAPSHOT		/* waiting for a snapshot to be installed */
};

/* A ring of the last index of each append not yet acknowledged. */
struct raft_inflights {
	uint64_t		*buf;
	size_t			 cap;
	size_t			 start;
	size_t			 count;
};

#define RAFT_HB_RING		64	/* heartbeat rounds remembered */

/* What a leader knows of one server; also a candidate's vote tally. */
struct raft_progress {
	uint64_t		 match;
	uint64_t		 next;
	uint64_t		 pending_snapshot;
	uint64_t		 read_ack;	/* highest read round confirmed */
	enum raft_pr_state	 state;
	int			 probe_sent;
	int			 recent_active;
	uint64_t		 last_heard;	/* r->ticks of its last answer */
	/* r->ticks when the newest heartbeat it answered was sent. */
	uint64_t		 lease_tick;
#define RAFT_NO_LEASE		UINT64_MAX
	int			 vote;		/* 1 granted, -1 refused, 0 not yet */
	struct raft_inflights	 infl;
};

struct raft_conf_rec {
	uint64_t		 index;
	struct raft_conf	 conf;
};

struct raft_read {
	uint64_t		 ctx;
	uint64_t		 seq;
	uint64_t		 index;		/* 0 until known */
};

struct raft {
	struct raft_options	 opts;
	struct raft_storage	 st;

	uint64_t		 term;
	char			 vote[RAFT_ID_MAX];
	uint64_t		 commit;
	struct raft_hardstate	 prev_hs;

	enum raft_role		 role;
	char			 leader[RAFT_ID_MAX];
	enum raft_role		 prev_role;
	char			 prev_leader[RAFT_ID_MAX];

	uint64_t		 u_offset;
	struct raft_entry	*u_ents;
	size_t			 u_n;
	size_t			 u_cap;
	size_t			 u_bytes;
	struct raft_snapshot_meta *u_snap;	/* received, to install */
	uint64_t		 applied;
	struct raft_snapshot_meta snap;		/* newest local snapshot */

	/*
	 * The configuration is the last CONF entry in the log.  conf_base is
	 * committed; confs[] are the later ones, which a truncation of the
	 * log can still take back.  cur is a copy of the one in effect, and
	 * prs runs parallel to cur.servers.
	 */
	struct raft_conf_rec	 conf_base;
	struct raft_conf_rec	 confs[RAFT_CONF_PENDING_MAX];
	size_t			 n_confs;
	struct raft_conf	 cur;
	uint64_t		 cur_index;
	struct raft_progress	*prs;
	int			 self;		/* index in cur, -1 if absent */
	int			 conf_changed;

	int			 election_elapsed;
	int			 heartbeat_elapsed;
	int			 timeout;	/* randomized election timeout */
	uint64_t		 contact_elapsed;
	uint64_t		 ticks;		/* ever, for last_heard */
	uint64_t		 rng;

	char			 transferee[RAFT_ID_MAX];
	int			 transfer_elapsed;
	int			 commit_in_term;
	int			 bcast_pending;
	int			 heartbeat_pending;
	uint64_t		 read_seq;
	/* When each of the last heartbeat rounds went out, by read_seq. */
	uint64_t		 hb_sent[RAFT_HB_RING];
	uint64_t		 hb_seq[RAFT_HB_RING];
	int			 lease_void;	/* a transfer began this term */
	struct raft_read	*reads;
	size_t			 reads_head;
	size_t			 n_reads;

	struct raft_msg		*msgs;
	size_t			 n_msgs;
	size_t			 cap_msgs;
	struct raft_read_state	*rstates;
	size_t			 n_rstates;
	size_t			 cap_rstates;

	/* What the last raft_ready() handed out, released by raft_advance(). */
	int			 in_ready;
	int			 deferred_ticks;
	size_t			 rd_n_ents;
	struct raft_entry	*rd_committed;
	uint64_t		 rd_applied;
	struct raft_msg		*rd_msgs;
	size_t			 rd_n_msgs;
	struct raft_read_state	*rd_rstates;
	int			 rd_hs_changed;
	struct raft_hardstate	 rd_hs;
};

static void	 become_follower(struct raft *, uint64_t, const char *);
static int	 maybe_send_append(struct raft *, struct raft_progress *, int);

static void *
raft_calloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n ? n : 1, size)) == NULL)
		fatal("raft");
	return p;
}

static void *
raft_reallocarray(void *p, size_t n, size_t size)
{
	if ((p = reallocarray(p, n ? n : 1, size)) == NULL)
		fatal("raft");
	return p;
}

static int
str_valid(const char *s, size_t max)
{
	return memchr(s, '\0', max) != NULL;
}

/* splitmix64: a deterministic stream for the election timeouts. */
static uint64_t
raft_rand(struct raft *r)
{
	uint64_t	 z;

	r->rng += 0x9e3779b97f4a7c15ULL;
	z = r->rng;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
reset_timeout(struct raft *r)
{
	r->timeout = r->opts.election_ticks +
	    (int)(raft_rand(r) % (uint64_t)r->opts.election_ticks);
}

/* Configurations. */

static int
conf_valid(const struct raft_conf *c)
{
	size_t	 i, j;

	if (c->n > RAFT_SERVERS_MAX || (c->n > 0 && c->servers == NULL))
		return 0;
	for (i = 0; i < c->n; i++) {
		if (!str_valid(c->servers[i].id, RAFT_ID_MAX) ||
		    c->servers[i].id[0] == '\0' ||
		    !str_valid(c->servers[i].addr, RAFT_ADDR_MAX))
			return 0;
		for (j = 0; j < i; j++)
			if (strcmp(c->servers[i].id, c->servers[j].id) == 0)
				return 0;
	}
	return 1;
}

static void
conf_copy(struct raft_conf *dst, const struct raft_conf *src)
{
	size_t	 i;

	dst->n = src->n;
	dst->servers = raft_calloc(src->n, sizeof(*dst->servers));
	for (i = 0; i < src->n; i++) {
		dst->servers[i] = src->servers[i];
		dst->servers[i].voter = src->servers[i].voter != 0;
	}
}

void
raft_conf_free(struct raft_conf *c)
{
	if (c == NULL)
		return;
	free(c->servers);
	c->servers = NULL;
	c->n = 0;
}

static int
conf_find(const struct raft_conf *c, const char *id)
{
	size_t	 i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->servers[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int
conf_is_voter(const struct raft_conf *c, const char *id)
{
	int	 i;

	return (i = conf_find(c, id)) != -1 && c->servers[i].voter;
}

static size_t
conf_voters(const struct raft_conf *c)
{
	size_t	 i, n = 0;

	for (i = 0; i < c->n; i++)
		if (c->servers[i].voter)
			n++;
	return n;
}

/* How many single-server changes lead from a to b. */
static size_t
conf_changes(const struct raft_conf *a, const struct raft_conf *b)
{
	size_t	 i, n = 0;
	int	 j;

	for (i = 0; i < b->n; i++) {
		if ((j = conf_find(a, b->servers[i].id)) == -1)
			n++;
		else if (!a->servers[j].voter != !b->servers[i].voter ||
		    strcmp(a->servers[j].addr, b->servers[i].addr) != 0)
			n++;
	}
	for (i = 0; i < a->n; i++)
		if (conf_find(b, a->servers[i].id) == -1)
			n++;
	return n;
}

/* [{"ID": str, "Address": str, "Voter": bool}, ...] */
int
raft_conf_encode(const struct raft_conf *c, void **buf, size_t *len)
{
	struct mpack_out	 out;
	size_t			 i;

	*buf = NULL;
	*len = 0;
	if (!conf_valid(c))
		return -1;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, c->n);
	for (i = 0; i < c->n; i++) {
		msgpack_pack_map(&out.pk, 3);
		mpack_kv_str(&out.pk, "ID", c->servers[i].id);
		mpack_kv_str(&out.pk, "Address", c->servers[i].addr);
		mpack_kv_bool(&out.pk, "Voter", c->servers[i].voter);
	}
	*len = out.sbuf.size;
	*buf = msgpack_sbuffer_release(&out.sbuf);
	mpack_out_free(&out);
	if (*buf == NULL) {
		*len = 0;
		return -1;
	}
	return 0;
}

int
raft_conf_decode(const void *buf, size_t len, struct raft_conf *c)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a, *o;
	struct raft_server	*s;
	size_t			 i;
	int			 voter;

	c->servers = NULL;
	c->n = 0;
	if (buf == NULL || len == 0 || len > RAFT_CONF_BYTES_MAX)
		return -1;
	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	a = &u.data;
	if (a->type != MSGPACK_OBJECT_ARRAY ||
	    a->via.array.size > RAFT_SERVERS_MAX)
		goto fail;
	c->servers = raft_calloc(a->via.array.size, sizeof(*c->servers));
	c->n = a->via.array.size;
	for (i = 0; i < c->n; i++) {
		o = &a->via.array.ptr[i];
		s = &c->servers[i];
		if (o->type != MSGPACK_OBJECT_MAP ||
		    mpack_copy_str(mpack_map_get(o, "ID"), s->id,
		    sizeof(s->id)) == -1 ||
		    mpack_copy_str(mpack_map_get(o, "Address"), s->addr,
		    sizeof(s->addr)) == -1 ||
		    mpack_map_bool(o, "Voter", &voter) == -1)
			goto fail;
		s->voter = voter != 0;
	}
	if (!conf_valid(c))
		goto fail;
	msgpack_unpacked_destroy(&u);
	return 0;
fail:
	msgpack_unpacked_destroy(&u);
	raft_conf_free(c);
	return -1;
}

/* The log. */

static uint64_t
log_first_index(const struct raft *r)
{
	if (r->u_snap != NULL)
		return r->u_snap->index + 1;
	return r->st.first_index(r->st.arg);
}

static uint64_t
log_last_index(const struct raft *r)
{
	return r->u_offset + r->u_n - 1;
}

static int
log_term(const struct raft *r, uint64_t i, uint64_t *term)
{
	uint64_t	 first;

	*term = 0;
	if (r->u_snap != NULL && i == r->u_snap->index) {
		*term = r->u_snap->term;
		return 0;
	}
	if (i >= r->u_offset) {
		if (i - r->u_offset >= r->u_n)
			return -1;
		*term = r->u_ents[i - r->u_offset].term;
		return 0;
	}
	/* Storage is being replaced by the snapshot. */
	if (r->u_snap != NULL)
		return -1;
	first = r->st.first_index(r->st.arg);
	if (i == 0 && first == 1)
		return 0;
	if (i + 1 < first)
		return -1;
	return r->st.term(r->st.arg, i, term);
}

static uint64_t
log_last_term(const struct raft *r)
{
	uint64_t	 t;

	(void)log_term(r, log_last_index(r), &t);
	return t;
}

static int
log_match_term(const struct raft *r, uint64_t i, uint64_t term)
{
	uint64_t	 t;

	return log_term(r, i, &t) == 0 && t == term;
}

static int
log_up_to_date(const struct raft *r, uint64_t term, uint64_t index)
{
	uint64_t	 lt = log_last_term(r);

	return term > lt || (term == lt && index >= log_last_index(r));
}

/*
 * Copies of the entries [lo, hi), at most max_bytes of data but at least
 * one entry, in one allocation the caller frees.  -1 when lo is no longer
 * in the log or storage fails.
 */
static int
log_slice(struct raft *r, uint64_t lo, uint64_t hi, size_t max_bytes,
    size_t max_n, struct raft_entry **out, size_t *np)
{
	struct raft_entry	*se = NULL, *ents, *src;
	size_t			 sn = 0, ns = 0, n = 0, bytes = 0, i;
	uint64_t		 shi;
	char			*p;

	*out = NULL;
	*np = 0;
	if (lo >= hi)
		return 0;
	if (lo < log_first_index(r) || hi > log_last_index(r) + 1)
		return -1;
	if (hi - lo > max_n)
		hi = lo + max_n;
	if (lo < r->u_offset) {
		shi = hi < r->u_offset ? hi : r->u_offset;
		if (r->st.entries(r->st.arg, lo, shi, max_bytes, &se, &sn) ==
		    -1)
			return -1;
		if (sn == 0 || sn > shi - lo)
			goto bad;
		for (i = 0; i < sn; i++) {
			if (se[i].index != lo + i || se[i].len > RAFT_ENTRY_MAX ||
			    (se[i].len > 0 && se[i].data == NULL))
				goto bad;
			if (i > 0 && bytes + se[i].len > max_bytes)
				break;
			bytes += se[i].len;
		}
		ns = n = i;
	}
	/* Go on into the tail only if storage gave everything asked. */
	if (lo + n >= r->u_offset && (n == 0 || bytes < max_bytes)) {
		for (i = lo + n - r->u_offset; i < r->u_n &&
		    r->u_offset + i < hi; i++) {
			if (n > 0 && bytes + r->u_ents[i].len > max_bytes)
				break;
			bytes += r->u_ents[i].len;
			n++;
		}
	}
	ents = raft_calloc(1, n * sizeof(*ents) + bytes);
	p = (char *)(ents + n);
	for (i = 0; i < n; i++) {
		if (i < ns)
			src = &se[i];
		else
			src = &r->u_ents[lo + i - r->u_offset];
		ents[i] = *src;
		ents[i].data = NULL;
		if (src->len > 0) {
			ents[i].data = p;
			memcpy(p, src->data, src->len);
			p += src->len;
		}
	}
	if (se != NULL)
		r->st.free_entries(r->st.arg, se, sn);
	*out = ents;
	*np = n;
	return 0;
bad:
	r->st.free_entries(r->st.arg, se, sn);
	return -1;
}

static void
unstable_clear(struct raft *r)
{
	size_t	 i;

	for (i = 0; i < r->u_n; i++)
		free(r->u_ents[i].data);
	r->u_n = 0;
	r->u_bytes = 0;
}

static void
snapshot_meta_free(struct raft_snapshot_meta *m)
{
	raft_conf_free(&m->conf);
	m->index = m->term = 0;
}

static void
snapshot_meta_copy(struct raft_snapshot_meta *dst,
    const struct raft_snapshot_meta *src)
{
	dst->index = src->index;
	dst->term = src->term;
	conf_copy(&dst->conf, &src->conf);
}

/* Configuration tracking. */

static void
inflights_reset(struct raft_inflights *in)
{
	in->start = in->count = 0;
}

static void
progress_init(struct raft *r, struct raft_progress *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->next = log_last_index(r) + 1;
	pr->state = PR_PROBE;
	pr->lease_tick = RAFT_NO_LEASE;
	pr->infl.cap = r->opts.max_inflight;
	pr->infl.buf = raft_calloc(pr->infl.cap, sizeof(*pr->infl.buf));
}

/* Make cur the given configuration, keeping what is known of servers. */
static void
progress_rebuild(struct raft *r, const struct raft_conf *nc)
{
	struct raft_progress	*prs;
	size_t			 i;
	int			 j;

	prs = raft_calloc(nc->n, sizeof(*prs));
	for (i = 0; i < nc->n; i++) {
		if ((j = conf_find(&r->cur, nc->servers[i].id)) != -1) {
			prs[i] = r->prs[j];
			r->prs[j].infl.buf = NULL;
		} else
			progress_init(r, &prs[i]);
	}
	for (i = 0; i < r->cur.n; i++)
		free(r->prs[i].infl.buf);
	free(r->prs);
	r->prs = prs;
	raft_conf_free(&r->cur);
	conf_copy(&r->cur, nc);
	r->self = conf_find(&r->cur, r->opts.id);
	if (r->transferee[0] != '\0' &&
	    !conf_is_voter(&r->cur, r->transferee))
		r->transferee[0] = '\0';
}

static int
conf_equal(const struct raft_conf *a, const struct raft_conf *b)
{
	return a->n == b->n && conf_changes(a, b) == 0;
}

static void
conf_refresh(struct raft *r)
{
	struct raft_conf_rec	*eff;

	eff = r->n_confs > 0 ? &r->confs[r->n_confs - 1] : &r->conf_base;
	r->cur_index = eff->index;
	if (r->prs != NULL && conf_equal(&r->cur, &eff->conf))
		return;
	progress_rebuild(r, &eff->conf);
	r->conf_changed = 1;
}

/* Entries up to commit are final, so are the configurations in them. */
static void
conf_fold(struct raft *r)
{
	while (r->n_confs > 0 && r->confs[0].index <= r->commit) {
		raft_conf_free(&r->conf_base.conf);
		r->conf_base = r->confs[0];
		memmove(&r->confs[0], &r->confs[1],
		    (r->n_confs - 1) * sizeof(r->confs[0]));
		r->n_confs--;
	}
}

static void
commit_to(struct raft *r, uint64_t index)
{
	if (index <= r->commit)
		return;
	r->commit = index;
	conf_fold(r);
}

/*
 * Append entries to the log, first dropping any entry at or after the
 * first of them.  All or nothing: -1 leaves the log as it was.
 */
static int
log_append(struct raft *r, const struct raft_entry *ents, size_t n)
{
	struct raft_conf	 nc[RAFT_CONF_PENDING_MAX];
	uint64_t		 nci[RAFT_CONF_PENDING_MAX];
	uint64_t		 first;
	size_t			 keep, nnew = 0, i, bytes = 0;
	struct raft_entry	*e;

	if (n == 0)
		return 0;
	first = ents[0].index;
	if (first <= r->commit || first > log_last_index(r) + 1)
		return -1;
	for (keep = 0; keep < r->n_confs && r->confs[keep].index < first;
	    keep++)
		;
	for (i = 0; i < n; i++) {
		bytes += ents[i].len;
		if (ents[i].type != RAFT_ENTRY_CONF)
			continue;
		if (keep + nnew == RAFT_CONF_PENDING_MAX ||
		    raft_conf_decode(ents[i].data, ents[i].len,
		    &nc[nnew]) == -1)
			goto fail;
		nci[nnew++] = ents[i].index;
	}
	if (bytes > RAFT_UNSTABLE_MAX - r->u_bytes)
		goto fail;

	if (first < r->u_offset) {
		unstable_clear(r);
		r->u_offset = first;
	} else if (first < r->u_offset + r->u_n) {
		for (i = first - r->u_offset; i < r->u_n; i++) {
			r->u_bytes -= r->u_ents[i].len;
			free(r->u_ents[i].data);
		}
		r->u_n = first - r->u_offset;
	}
	if (r->u_n + n > r->u_cap) {
		r->u_cap = r->u_n + n < 64 ? 64 : (r->u_n + n) * 2;
		r->u_ents = raft_reallocarray(r->u_ents, r->u_cap,
		    sizeof(*r->u_ents));
	}
	for (i = 0; i < n; i++) {
		e = &r->u_ents[r->u_n++];
		*e = ents[i];
		e->data = NULL;
		if (ents[i].len > 0) {
			e->data = raft_calloc(1, ents[i].len);
			memcpy(e->data, ents[i].data, ents[i].len);
		}
	}
	r->u_bytes += bytes;

	while (r->n_confs > keep)
		raft_conf_free(&r->confs[--r->n_confs].conf);
	for (i = 0; i < nnew; i++) {
		r->confs[r->n_confs].index = nci[i];
		r->confs[r->n_confs++].conf = nc[i];
	}
	conf_refresh(r);
	return 0;
fail:
	for (i = 0; i < nnew; i++)
		raft_conf_free(&nc[i]);
	return -1;
}

/* Outputs. */

static struct raft_msg *
msg_new(struct raft *r, enum raft_msg_type type, const char *to)
{
	struct raft_msg	*m;

	if (r->n_msgs == r->cap_msgs) {
		r->cap_msgs = r->cap_msgs ? r->cap_msgs * 2 : 16;
		r->msgs = raft_reallocarray(r->msgs, r->cap_msgs,
		    sizeof(*r->msgs));
	}
	m = &r->msgs[r->n_msgs++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	strlcpy(m->from, r->opts.id, sizeof(m->from));
	strlcpy(m->to, to, sizeof(m->to));
	m->term = r->term;
	return m;
}

static void
msgs_free(struct raft_msg *msgs, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(msgs[i].entries);
		raft_conf_free(&msgs[i].snapshot.conf);
	}
	free(msgs);
}

static void
read_state_add(struct raft *r, uint64_t ctx, uint64_t index)
{
	if (r->n_rstates == r->cap_rstates) {
		r->cap_rstates = r->cap_rstates ? r->cap_rstates * 2 : 16;
		r->rstates = raft_reallocarray(r->rstates, r->cap_rstates,
		    sizeof(*r->rstates));
	}
	r->rstates[r->n_rstates].ctx = ctx;
	r->rstates[r->n_rstates++].index = index;
}

/* Progress and flow control. */

static int
progress_paused(const struct raft_progress *pr)
{
	switch (pr->state) {
	case PR_PROBE:
		return pr->probe_sent;
	case PR_REPLICATE:
		return pr->infl.count == pr->infl.cap;
	default:
		return 1;
	}
}

static void
progress_probe(struct raft_progress *pr)
{
	if (pr->state == PR_SNAPSHOT) {
		pr->next = pr->match + 1;
		if (pr->pending_snapshot + 1 > pr->next)
			pr->next = pr->pending_snapshot + 1;
		pr->pending_snapshot = 0;
	} else
		pr->next = pr->match + 1;
	pr->state = PR_PROBE;
	pr->probe_sent = 0;
	inflights_reset(&pr->infl);
}

static void
progress_replicate(struct raft_progress *pr)
{
	pr->state = PR_REPLICATE;
	pr->next = pr->match + 1;
	pr->probe_sent = 0;
	inflights_reset(&pr->infl);
}

static int
progress_update(struct raft_progress *pr, uint64_t index)
{
	int	 updated = 0;

	if (pr->match < index) {
		pr->match = index;
		pr->probe_sent = 0;
		updated = 1;
	}
	if (pr->next < index + 1)
		pr->next = index + 1;
	return updated;
}

/* An append after `rejected' failed; hint is where the logs may agree. */
static int
progress_decr(struct raft_progress *pr, uint64_t rejected, uint64_t hint)
{
	uint64_t	 next;

	if (pr->state == PR_REPLICATE) {
		if (rejected <= pr->match)
			return 0;
		pr->next = pr->match + 1;
		return 1;
	}
	if (pr->state != PR_PROBE || pr->next - 1 != rejected)
		return 0;
	next = hint + 1 < rejected ? hint + 1 : rejected;
	if (next < pr->match + 1)
		next = pr->match + 1;
	pr->next = next;
	pr->probe_sent = 0;
	return 1;
}

static void
inflights_add(struct raft_inflights *in, uint64_t last)
{
	in->buf[(in->start + in->count) % in->cap] = last;
	in->count++;
}

static void
inflights_free_le(struct raft_inflights *in, uint64_t index)
{
	while (in->count > 0 && in->buf[in->start] <= index) {
		in->start = (in->start + 1) % in->cap;
		in->count--;
	}
}

static void
inflights_free_first(struct raft_inflights *in)
{
	if (in->count > 0) {
		in->start = (in->start + 1) % in->cap;
		in->count--;
	}
}

static struct raft_progress *
progress_find(struct raft *r, const char *id)
{
	int	 i;

	if ((i = conf_find(&r->cur, id)) == -1)
		return NULL;
	return &r->prs[i];
}

static int
promotable(const struct raft *r)
{
	return r->self != -1 && r->cur.servers[r->self].voter;
}

static uint64_t
quorum_value(uint64_t *v, size_t n)
{
	size_t		 i, j;
	uint64_t	 x;

	/* Descending; the value a majority has reached is at n / 2. */
	for (i = 1; i < n; i++) {
		x = v[i];
		for (j = i; j > 0 && v[j - 1] < x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	return v[n / 2];
}

/* Sending. */

static int
send_snapshot(struct raft *r, struct raft_progress *pr, const char *to)
{
	struct raft_msg	*m;

	if (r->snap.index == 0 || r->snap.index + 1 < log_first_index(r))
		return 0;
	m = msg_new(r, RAFT_MSG_SNAPSHOT, to);
	snapshot_meta_copy(&m->snapshot, &r->snap);
	pr->state = PR_SNAPSHOT;
	pr->pending_snapshot = r->snap.index;
	pr->probe_sent = 0;
	inflights_reset(&pr->infl);
	return 1;
}

/* Send what pr lacks, if its flow control allows.  1 if sent. */
static int
maybe_send_append(struct raft *r, struct raft_progress *pr, int if_empty)
{
	const char		*to = r->cur.servers[pr - r->prs].id;
	struct raft_entry	*ents = NULL;
	struct raft_msg		*m;
	size_t			 n = 0;
	uint64_t		 prev_term, last;

	if (progress_paused(pr))
		return 0;
	last = log_last_index(r);
	if (log_term(r, pr->next - 1, &prev_term) == -1)
		return send_snapshot(r, pr, to);
	if (pr->next <= last && log_slice(r, pr->next, last + 1,
	    r->opts.max_append_bytes, RAFT_MSG_ENTRIES_MAX, &ents, &n) == -1)
		return send_snapshot(r, pr, to);
	if (n == 0 && !if_empty)
		return 0;
	m = msg_new(r, RAFT_MSG_APPEND, to);
	m->index = pr->next - 1;
	m->log_term = prev_term;
	m->entries = ents;
	m->n_entries = n;
	m->commit = r->commit;
	if (pr->state == PR_REPLICATE && n > 0) {
		pr->next = ents[n - 1].index + 1;
		inflights_add(&pr->infl, ents[n - 1].index);
	} else if (pr->state == PR_PROBE)
		pr->probe_sent = 1;
	return 1;
}

static void
bcast_append(struct raft *r, int if_empty)
{
	size_t	 i;

	for (i = 0; i < r->cur.n; i++)
		if ((int)i != r->self)
			maybe_send_append(r, &r->prs[i], if_empty);
}

static void
bcast_heartbeat(struct raft *r)
{
	struct raft_msg	*m;
	size_t		 i;

	/*
	 * Each round has a read_seq of its own, echoed in the answers: a
	 * read registered before it is confirmed by them, and the lease
	 * counts from when the round went out, not from when an answer
	 * (perhaps a late one) came in.
	 */
	r->read_seq++;
	r->hb_seq[r->read_seq % RAFT_HB_RING] = r->read_seq;
	r->hb_sent[r->read_seq % RAFT_HB_RING] = r->ticks;
	for (i = 0; i < r->cur.n; i++) {
		if ((int)i == r->self)
			continue;
		m = msg_new(r, RAFT_MSG_HEARTBEAT, r->cur.servers[i].id);
		m->commit = r->prs[i].match < r->commit ? r->prs[i].match :
		    r->commit;
		m->ctx = r->read_seq;
	}
}

static void
send_timeout_now(struct raft *r, const char *to)
{
	/* Its votes ignore leases: ours is void for the rest of the term. */
	r->lease_void = 1;
	msg_new(r, RAFT_MSG_TIMEOUT_NOW, to);
}

/* Read index. */

static void
reads_release(struct raft *r)
{
	uint64_t		 acks[RAFT_SERVERS_MAX], confirmed;
	struct raft_read	*rd;
	size_t			 i, n = 0;

	if (r->n_reads == 0)
		return;
	for (i = 0; i < r->cur.n; i++) {
		if (!r->cur.servers[i].voter)
			continue;
		acks[n++] = (int)i == r->self ? r->read_seq :
		    r->prs[i].read_ack;
	}
	if (n == 0)
		return;
	confirmed = quorum_value(acks, n);
	while (r->n_reads > 0) {
		rd = &r->reads[r->reads_head];
		if (rd->seq > confirmed || rd->index == 0)
			break;
		read_state_add(r, rd->ctx, rd->index);
		r->reads_head = (r->reads_head + 1) % RAFT_READS_MAX;
		r->n_reads--;
	}
}

static void
reads_fail(struct raft *r)
{
	while (r->n_reads > 0) {
		read_state_add(r, r->reads[r->reads_head].ctx, 0);
		r->reads_head = (r->reads_head + 1) % RAFT_READS_MAX;
		r->n_reads--;
	}
}

/* Roles. */

static void
leave_leader(struct raft *r)
{
	if (r->role != RAFT_LEADER)
		return;
	reads_fail(r);
	r->transferee[0] = '\0';
	r->bcast_pending = 0;
	r->heartbeat_pending = 0;
}

static void
reset_votes(struct raft *r)
{
	size_t	 i;

	for (i = 0; i < r->cur.n; i++)
		r->prs[i].vote = 0;
}

static void
become_follower(struct raft *r, uint64_t term, const char *lead)
{
	leave_leader(r);
	if (term != r->term) {
		r->term = term;
		r->vote[0] = '\0';
	}
	r->role = RAFT_FOLLOWER;
	strlcpy(r->leader, lead != NULL ? lead : "", sizeof(r->leader));
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	reset_timeout(r);
}

static void
become_leader(struct raft *r)
{
	struct raft_entry	 noop;
	struct raft_progress	*pr;
	size_t			 i;

	r->role = RAFT_LEADER;
	strlcpy(r->leader, r->opts.id, sizeof(r->leader));
	r->transferee[0] = '\0';
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	r->commit_in_term = 0;
	r->contact_elapsed = 0;
	for (i = 0; i < r->cur.n; i++) {
		pr = &r->prs[i];
		pr->match = 0;
		pr->next = log_last_index(r) + 1;
		pr->state = PR_PROBE;
		pr->probe_sent = 0;
		pr->pending_snapshot = 0;
		pr->recent_active = 0;
		pr->last_heard = r->ticks;
		pr->lease_tick = RAFT_NO_LEASE;
		pr->read_ack = 0;
		inflights_reset(&pr->infl);
	}
	r->lease_void = 0;
	memset(r->hb_seq, 0, sizeof(r->hb_seq));
	if (r->self != -1) {
		/* Only what is durable counts towards commit. */
		r->prs[r->self].match = r->u_offset - 1;
		r->prs[r->self].recent_active = 1;
	}
	memset(&noop, 0, sizeof(noop));
	noop.index = log_last_index(r) + 1;
	noop.term = r->term;
	noop.type = RAFT_ENTRY_NOOP;
	if (log_append(r, &noop, 1) == -1)
		fatalx("raft: cannot append the leader's noop entry");
	r->bcast_pending = 1;
}

/* 1 won, -1 lost, 0 undecided. */
static int
tally(struct raft *r)
{
	size_t	 i, voters = 0, yes = 0, no = 0;

	for (i = 0; i < r->cur.n; i++) {
		if (!r->cur.servers[i].voter)
			continue;
		voters++;
		if (r->prs[i].vote > 0)
			yes++;
		else if (r->prs[i].vote < 0)
			no++;
	}
	if (yes >= voters / 2 + 1)
		return 1;
	if (no > voters - (voters / 2 + 1))
		return -1;
	return 0;
}

static void
campaign(struct raft *r, int pre, int transfer)
{
	struct raft_msg	*m;
	uint64_t	 vterm;
	size_t		 i;

	if (!promotable(r) || r->term >= UINT64_MAX - 2)
		return;
	leave_leader(r);
	if (pre) {
		r->role = RAFT_PRECANDIDATE;
		vterm = r->term + 1;
	} else {
		r->role = RAFT_CANDIDATE;
		r->term++;
		strlcpy(r->vote, r->opts.id, sizeof(r->vote));
		vterm = r->term;
	}
	r->leader[0] = '\0';
	r->election_elapsed = 0;
	reset_timeout(r);
	reset_votes(r);
	r->prs[r->self].vote = 1;
	if (tally(r) == 1) {
		if (pre)
			campaign(r, 0, transfer);
		else
			become_leader(r);
		return;
	}
	for (i = 0; i < r->cur.n; i++) {
		if ((int)i == r->self || !r->cur.servers[i].voter)
			continue;
		m = msg_new(r, pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE,
		    r->cur.servers[i].id);
		m->term = vterm;
		m->index = log_last_index(r);
		m->log_term = log_last_term(r);
		m->transfer = transfer;
	}
}

/*
 * Advance commit to what a majority of voters hold, counting only an
 * entry of this term (Raft §5.4.2).  A leader no longer among the voters
 * leaves once the configuration saying so is committed.
 */
static void
leader_commit(struct raft *r)
{
	uint64_t	 v[RAFT_SERVERS_MAX], mci, t;
	size_t		 i, n = 0;

	for (i = 0; i < r->cur.n; i++)
		if (r->cur.servers[i].voter)
			v[n++] = r->prs[i].match;
	if (n == 0)
		return;
	mci = quorum_value(v, n);
	if (mci <= r->commit || log_term(r, mci, &t) == -1 || t != r->term)
		return;
	commit_to(r, mci);
	if (!r->commit_in_term) {
		r->commit_in_term = 1;
		for (i = 0; i < r->n_reads; i++)
			r->reads[(r->reads_head + i) % RAFT_READS_MAX].index =
			    r->commit;
	}
	reads_release(r);
	r->bcast_pending = 1;
	if (!promotable(r) && r->commit >= r->cur_index) {
		bcast_append(r, 1);
		for (i = 0; i < r->cur.n; i++) {
			if (r->cur.servers[i].voter &&
			    r->prs[i].match == log_last_index(r)) {
				send_timeout_now(r, r->cur.servers[i].id);
				break;
			}
		}
		become_follower(r, r->term, NULL);
	}
}

static int
quorum_active(struct raft *r)
{
	size_t	 i, voters = 0, active = 0;

	for (i = 0; i < r->cur.n; i++) {
		if (r->cur.servers[i].voter) {
			voters++;
			if ((int)i == r->self || r->prs[i].recent_active)
				active++;
		}
		if ((int)i != r->self)
			r->prs[i].recent_active = 0;
	}
	return active >= voters / 2 + 1;
}

/* Message handling. */

static int
msg_check(const struct raft *r, const struct raft_msg *m)
{
	const struct raft_entry	*e;
	uint64_t		 prev;
	size_t			 i;

	if (m == NULL || (unsigned int)m->type >= RAFT_MSG_TYPE_MAX)
		return -1;
	if (!str_valid(m->from, RAFT_ID_MAX) || m->from[0] == '\0' ||
	    !str_valid(m->to, RAFT_ID_MAX) ||
	    strcmp(m->to, r->opts.id) != 0 ||
	    strcmp(m->from, r->opts.id) == 0)
		return -1;
	if (m->term == UINT64_MAX)
		return -1;
	if (m->n_entries > 0 && (m->type != RAFT_MSG_APPEND ||
	    m->entries == NULL || m->n_entries > RAFT_MSG_ENTRIES_MAX))
		return -1;
	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		if (m->log_term > m->term)
			return -1;
		break;
	case RAFT_MSG_APPEND:
		if (m->log_term > m->term ||
		    m->index > UINT64_MAX - 1 - m->n_entries)
			return -1;
		prev = m->log_term;
		for (i = 0; i < m->n_entries; i++) {
			e = &m->entries[i];
			if (e->index != m->index + 1 + i || e->term < prev ||
			    e->term > m->term || e->type > RAFT_ENTRY_CONF ||
			    e->len > RAFT_ENTRY_MAX ||
			    (e->len > 0 && e->data == NULL))
				return -1;
			prev = e->term;
		}
		break;
	case RAFT_MSG_SNAPSHOT:
		if (m->snapshot.index == 0 || m->snapshot.term == 0 ||
		    m->snapshot.term > m->term ||
		    !conf_valid(&m->snapshot.conf))
			return -1;
		break;
	case RAFT_MSG_APPEND_RESP:
		if (m->reject && m->reject_hint > m->index)
			return -1;
		break;
	default:
		break;
	}
	return 0;
}

static void
vote_request(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg	*resp;
	int		 pre = m->type == RAFT_MSG_PREVOTE, can;

	can = strcmp(r->vote, m->from) == 0 ||
	    (r->vote[0] == '\0' && r->leader[0] == '\0') ||
	    (pre && m->term > r->term);
	resp = msg_new(r, pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP,
	    m->from);
	if (can && log_up_to_date(r, m->log_term, m->index)) {
		resp->term = m->term;
		if (!pre) {
			r->election_elapsed = 0;
			strlcpy(r->vote, m->from, sizeof(r->vote));
		}
	} else
		resp->reject = 1;
}

/* Walk back from index to the last entry whose term is <= term. */
static uint64_t
find_conflict_by_term(const struct raft *r, uint64_t index, uint64_t term)
{
	uint64_t	 t;

	if (index > log_last_index(r))
		index = log_last_index(r);
	while (index > 0) {
		if (log_term(r, index, &t) == -1 || t <= term)
			break;
		index--;
	}
	return index;
}

static int
follower_append(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg	*resp;
	uint64_t	 last_new, hint, t;
	size_t		 i;

	if (m->index < r->commit) {
		resp = msg_new(r, RAFT_MSG_APPEND_RESP, m->from);
		resp->index = r->commit;
		return 0;
	}
	if (!log_match_term(r, m->index, m->log_term)) {
		hint = find_conflict_by_term(r, m->index, m->log_term);
		(void)log_term(r, hint, &t);
		resp = msg_new(r, RAFT_MSG_APPEND_RESP, m->from);
		resp->reject = 1;
		resp->index = m->index;
		resp->reject_hint = hint;
		resp->log_term = t;
		return 0;
	}
	last_new = m->index + m->n_entries;
	for (i = 0; i < m->n_entries; i++)
		if (!log_match_term(r, m->entries[i].index,
		    m->entries[i].term))
			break;
	if (i < m->n_entries &&
	    log_append(r, &m->entries[i], m->n_entries - i) == -1)
		return -1;
	commit_to(r, m->commit < last_new ? m->commit : last_new);
	resp = msg_new(r, RAFT_MSG_APPEND_RESP, m->from);
	resp->index = last_new;
	return 0;
}

static void
follower_heartbeat(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg	*resp;

	/* The leader sends at most what it knows we hold; trust no more. */
	if (m->commit <= log_last_index(r))
		commit_to(r, m->commit);
	resp = msg_new(r, RAFT_MSG_HEARTBEAT_RESP, m->from);
	resp->ctx = m->ctx;
	resp->commit = r->commit;
}

static void
follower_snapshot(struct raft *r, const struct raft_msg *m)
{
	const struct raft_snapshot_meta	*meta = &m->snapshot;
	struct raft_msg			*resp;
	size_t				 i;

	if (meta->index > r->commit) {
		if (log_match_term(r, meta->index, meta->term))
			commit_to(r, meta->index);
		else {
			/* Throw the log away; it restarts after meta. */
			unstable_clear(r);
			if (r->u_snap == NULL)
				r->u_snap = raft_calloc(1, sizeof(*r->u_snap));
			else
				snapshot_meta_free(r->u_snap);
			snapshot_meta_copy(r->u_snap, meta);
			r->u_offset = meta->index + 1;
			r->commit = meta->index;
			for (i = 0; i < r->n_confs; i++)
				raft_conf_free(&r->confs[i].conf);
			r->n_confs = 0;
			raft_conf_free(&r->conf_base.conf);
			conf_copy(&r->conf_base.conf, &meta->conf);
			r->conf_base.index = meta->index;
			conf_refresh(r);
			snapshot_meta_free(&r->snap);
			snapshot_meta_copy(&r->snap, meta);
		}
	}
	resp = msg_new(r, RAFT_MSG_SNAPSHOT_RESP, m->from);
	resp->index = r->commit;
}

static int
step_follower(struct raft *r, const struct raft_msg *m)
{
	switch (m->type) {
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
		r->election_elapsed = 0;
		r->contact_elapsed = 0;
		strlcpy(r->leader, m->from, sizeof(r->leader));
		if (m->type == RAFT_MSG_APPEND)
			return follower_append(r, m);
		if (m->type == RAFT_MSG_HEARTBEAT)
			follower_heartbeat(r, m);
		else
			follower_snapshot(r, m);
		return 0;
	case RAFT_MSG_TIMEOUT_NOW:
		campaign(r, 0, 1);
		return 0;
	default:
		return 0;
	}
}

static int
step_candidate(struct raft *r, const struct raft_msg *m)
{
	struct raft_progress	*pr;
	int			 res;

	switch (m->type) {
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
		become_follower(r, r->term, m->from);
		return step_follower(r, m);
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		if ((m->type == RAFT_MSG_PREVOTE_RESP) !=
		    (r->role == RAFT_PRECANDIDATE))
			return 0;
		if ((pr = progress_find(r, m->from)) == NULL ||
		    !conf_is_voter(&r->cur, m->from))
			return 0;
		if (pr->vote == 0)
			pr->vote = m->reject ? -1 : 1;
		if ((res = tally(r)) == 1) {
			if (r->role == RAFT_PRECANDIDATE)
				campaign(r, 0, 0);
			else
				become_leader(r);
		} else if (res == -1)
			become_follower(r, r->term, NULL);
		return 0;
	default:
		return 0;
	}
}

static int
leader_append_resp(struct raft *r, struct raft_progress *pr,
    const struct raft_msg *m)
{
	uint64_t	 last = log_last_index(r), hint;
	const char	*id = m->from;

	if (m->index > last)
		return -1;
	pr->recent_active = 1;
	if (m->reject) {
		hint = m->reject_hint;
		if (m->log_term > 0)
			hint = find_conflict_by_term(r, hint, m->log_term);
		if (progress_decr(pr, m->index, hint)) {
			if (pr->state == PR_REPLICATE)
				progress_probe(pr);
			maybe_send_append(r, pr, 1);
		}
		return 0;
	}
	if (progress_update(pr, m->index) ||
	    (pr->state == PR_PROBE && pr->match == m->index)) {
		switch (pr->state) {
		case PR_PROBE:
			progress_replicate(pr);
			break;
		case PR_SNAPSHOT:
			if (pr->match >= pr->pending_snapshot) {
				progress_probe(pr);
				progress_replicate(pr);
			}
			break;
		case PR_REPLICATE:
			inflights_free_le(&pr->infl, m->index);
			break;
		}
		leader_commit(r);
		if (r->role != RAFT_LEADER)
			return 0;
		while (maybe_send_append(r, pr, 0))
			;
		if (strcmp(r->transferee, id) == 0 && pr->match == last)
			send_timeout_now(r, id);
	}
	return 0;
}

static int
leader_heartbeat_resp(struct raft *r, struct raft_progress *pr,
    const struct raft_msg *m)
{
	if (m->ctx > r->read_seq || m->commit > log_last_index(r))
		return -1;
	pr->recent_active = 1;
	pr->probe_sent = 0;
	if (pr->state == PR_SNAPSHOT && m->commit >= pr->pending_snapshot) {
		/* The snapshot response was lost, but it was installed. */
		if (m->commit > pr->match)
			pr->match = m->commit;
		progress_probe(pr);
	}
	if (pr->state == PR_REPLICATE && progress_paused(pr))
		inflights_free_first(&pr->infl);
	if (pr->match < log_last_index(r))
		maybe_send_append(r, pr, 1);
	if (m->ctx > 0 && r->hb_seq[m->ctx % RAFT_HB_RING] == m->ctx &&
	    (pr->lease_tick == RAFT_NO_LEASE ||
	    r->hb_sent[m->ctx % RAFT_HB_RING] > pr->lease_tick))
		pr->lease_tick = r->hb_sent[m->ctx % RAFT_HB_RING];
	if (m->ctx > pr->read_ack) {
		pr->read_ack = m->ctx;
		reads_release(r);
	}
	return 0;
}

static int
leader_snapshot_resp(struct raft *r, struct raft_progress *pr,
    const struct raft_msg *m)
{
	if (m->index > log_last_index(r))
		return -1;
	pr->recent_active = 1;
	progress_update(pr, m->index);
	if (pr->state == PR_SNAPSHOT)
		progress_probe(pr);
	leader_commit(r);
	if (r->role == RAFT_LEADER)
		maybe_send_append(r, pr, 0);
	return 0;
}

static int
step_leader(struct raft *r, const struct raft_msg *m)
{
	struct raft_progress	*pr;

	switch (m->type) {
	case RAFT_MSG_APPEND_RESP:
	case RAFT_MSG_HEARTBEAT_RESP:
	case RAFT_MSG_SNAPSHOT_RESP:
		if ((pr = progress_find(r, m->from)) == NULL)
			return -1;
		pr->last_heard = r->ticks;
		if (m->type == RAFT_MSG_APPEND_RESP)
			return leader_append_resp(r, pr, m);
		if (m->type == RAFT_MSG_HEARTBEAT_RESP)
			return leader_heartbeat_resp(r, pr, m);
		return leader_snapshot_resp(r, pr, m);
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
		/* Another leader in our own term: the sender is broken. */
		return -1;
	default:
		return 0;
	}
}

/*
 * Whether we refuse to vote (but in a leadership transfer): a leader
 * was heard from within an election timeout, or we started less than
 * one ago (we may have answered a leader just before a restart, and
 * its lease counts on us).
 */
static int
in_lease(const struct raft *r)
{
	if (r->ticks < (uint64_t)r->opts.election_ticks)
		return 1;
	return r->leader[0] != '\0' &&
	    (r->role == RAFT_LEADER ||
	    r->election_elapsed < r->opts.election_ticks);
}

int
raft_step(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg	*resp;
	int		 vote;

	if (r->in_ready || msg_check(r, m) == -1)
		return -1;
	/*
	 * Requests are answered whatever our configuration says: it may lag
	 * behind the one that made the sender a voter (Raft thesis 4.1).
	 * Removed servers are kept at bay by pre-vote and the lease below.
	 */
	vote = m->type == RAFT_MSG_PREVOTE || m->type == RAFT_MSG_VOTE;
	if (m->term > r->term) {
		/* Leader stickiness: a live leader is not to be deposed. */
		if (vote && !m->transfer && in_lease(r))
			return 0;
		if (m->type == RAFT_MSG_PREVOTE ||
		    (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject))
			;	/* pre-votes never move our term */
		else if (m->type == RAFT_MSG_APPEND ||
		    m->type == RAFT_MSG_HEARTBEAT ||
		    m->type == RAFT_MSG_SNAPSHOT)
			become_follower(r, m->term, m->from);
		else
			become_follower(r, m->term, NULL);
	} else if (m->term < r->term) {
		/* Tell a stale leader or candidate about our term. */
		if (m->type == RAFT_MSG_APPEND ||
		    m->type == RAFT_MSG_HEARTBEAT)
			msg_new(r, RAFT_MSG_APPEND_RESP, m->from);
		else if (vote) {
			resp = msg_new(r, m->type == RAFT_MSG_PREVOTE ?
			    RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP,
			    m->from);
			resp->reject = 1;
		}
		return 0;
	}

	if (vote) {
		vote_request(r, m);
		return 0;
	}
	switch (r->role) {
	case RAFT_LEADER:
		return step_leader(r, m);
	case RAFT_CANDIDATE:
	case RAFT_PRECANDIDATE:
		return step_candidate(r, m);
	default:
		return step_follower(r, m);
	}
}

/* Ticks. */

static void
tick_election(struct raft *r)
{
	int	 timeout = r->timeout;

	if (r->election_elapsed < INT32_MAX)
		r->election_elapsed++;
	if (!promotable(r))
		return;
	/* The only voter needs nobody's consent: lead at once. */
	if (r->cur.n > 0 && conf_voters(&r->cur) == 1)
		timeout = 1;
	if (r->election_elapsed >= timeout) {
		r->election_elapsed = 0;
		campaign(r, r->opts.pre_vote, 0);
	}
}

static void
tick_leader(struct raft *r)
{
	r->heartbeat_elapsed++;
	r->election_elapsed++;
	if (r->transferee[0] != '\0' &&
	    ++r->transfer_elapsed >= r->opts.election_ticks)
		r->transferee[0] = '\0';
	if (r->election_elapsed >= r->opts.election_ticks) {
		r->election_elapsed = 0;
		if (r->opts.check_quorum && !quorum_active(r)) {
			become_follower(r, r->term, NULL);
			return;
		}
	}
	if (r->heartbeat_elapsed >= r->opts.heartbeat_ticks) {
		r->heartbeat_elapsed = 0;
		bcast_heartbeat(r);
	}
}

void
raft_tick(struct raft *r)
{
	if (r->in_ready) {
		if (r->deferred_ticks < RAFT_DEFERRED_TICKS_MAX)
			r->deferred_ticks++;
		return;
	}
	r->ticks++;
	/* UINT64_MAX: no leader heard from since start-up. */
	if (r->contact_elapsed < UINT64_MAX - 1)
		r->contact_elapsed++;
	if (r->role == RAFT_LEADER)
		tick_leader(r);
	else
		tick_election(r);
}

/* Ready and advance. */

static int
hardstate_changed(const struct raft *r)
{
	return r->term != r->prev_hs.term || r->commit != r->prev_hs.commit ||
	    strcmp(r->vote, r->prev_hs.vote) != 0;
}

static int
committed_ready(const struct raft *r)
{
	return r->u_snap == NULL && r->applied < r->commit;
}

int
raft_has_ready(struct raft *r)
{
	if (r->in_ready)
		return 0;
	return hardstate_changed(r) || r->u_n > 0 || r->n_msgs > 0 ||
	    r->u_snap != NULL || r->n_rstates > 0 || r->conf_changed ||
	    r->role != r->prev_role ||
	    strcmp(r->leader, r->prev_leader) != 0 ||
	    (r->role == RAFT_LEADER &&
	    (r->bcast_pending || r->heartbeat_pending)) ||
	    committed_ready(r);
}

void
raft_ready(struct raft *r, struct raft_ready *rd)
{
	struct raft_entry	*ents;
	size_t			 n;

	memset(rd, 0, sizeof(*rd));
	rd->role = r->role;
	strlcpy(rd->leader, r->leader, sizeof(rd->leader));
	if (r->in_ready)
		return;
	if (r->role == RAFT_LEADER) {
		if (r->bcast_pending)
			bcast_append(r, 1);
		if (r->heartbeat_pending)
			bcast_heartbeat(r);
		r->bcast_pending = r->heartbeat_pending = 0;
	}
	rd->install = r->u_snap;
	if ((r->rd_hs_changed = hardstate_changed(r))) {
		rd->hardstate_changed = 1;
		rd->hardstate.term = r->term;
		strlcpy(rd->hardstate.vote, r->vote,
		    sizeof(rd->hardstate.vote));
		rd->hardstate.commit = r->commit;
		r->rd_hs = rd->hardstate;
	}
	rd->entries = r->u_n > 0 ? r->u_ents : NULL;
	rd->n_entries = r->u_n;
	r->rd_n_ents = r->u_n;

	rd->msgs = r->rd_msgs = r->msgs;
	rd->n_msgs = r->rd_n_msgs = r->n_msgs;
	r->msgs = NULL;
	r->n_msgs = r->cap_msgs = 0;

	r->rd_committed = NULL;
	r->rd_applied = r->applied;
	if (committed_ready(r)) {
		/* Storage must hold everything after applied. */
		if (log_slice(r, r->applied + 1, r->commit + 1,
		    RAFT_APPLY_BYTES, RAFT_APPLY_ENTRIES, &ents, &n) == -1 ||
		    n == 0)
			fatalx("raft: cannot read committed entry %llu",
			    (unsigned long long)r->applied + 1);
		rd->committed = r->rd_committed = ents;
		rd->n_committed = n;
		r->rd_applied = ents[n - 1].index;
	}

	rd->read_states = r->rd_rstates = r->rstates;
	rd->n_read_states = r->n_rstates;
	r->rstates = NULL;
	r->n_rstates = r->cap_rstates = 0;

	rd->soft_changed = r->role != r->prev_role ||
	    strcmp(r->leader, r->prev_leader) != 0;
	r->prev_role = r->role;
	strlcpy(r->prev_leader, r->leader, sizeof(r->prev_leader));
	rd->conf_changed = r->conf_changed;
	r->conf_changed = 0;
	r->in_ready = 1;
}

void
raft_advance(struct raft *r, struct raft_ready *rd)
{
	size_t	 i, n;

	if (!r->in_ready)
		return;
	r->in_ready = 0;
	if (r->u_snap != NULL) {
		if (r->applied < r->u_snap->index)
			r->applied = r->u_snap->index;
		snapshot_meta_free(r->u_snap);
		free(r->u_snap);
		r->u_snap = NULL;
	}
	/* Storage now holds the entries handed out. */
	if ((n = r->rd_n_ents) > 0) {
		for (i = 0; i < n; i++) {
			r->u_bytes -= r->u_ents[i].len;
			free(r->u_ents[i].data);
		}
		memmove(r->u_ents, r->u_ents + n,
		    (r->u_n - n) * sizeof(*r->u_ents));
		r->u_n -= n;
		r->u_offset += n;
		r->rd_n_ents = 0;
	}
	if (r->rd_hs_changed)
		r->prev_hs = r->rd_hs;
	r->rd_hs_changed = 0;
	if (r->rd_applied > r->applied)
		r->applied = r->rd_applied;
	free(r->rd_committed);
	r->rd_committed = NULL;
	msgs_free(r->rd_msgs, r->rd_n_msgs);
	r->rd_msgs = NULL;
	r->rd_n_msgs = 0;
	free(r->rd_rstates);
	r->rd_rstates = NULL;
	if (rd != NULL)
		memset(rd, 0, sizeof(*rd));

	if (r->role == RAFT_LEADER && r->self != -1) {
		if (r->prs[r->self].match < r->u_offset - 1)
			r->prs[r->self].match = r->u_offset - 1;
		leader_commit(r);
	}
	while (r->deferred_ticks > 0) {
		r->deferred_ticks--;
		raft_tick(r);
	}
}

/* Life cycle. */

static uint64_t
fnv1a(const char *s)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/*
 * Read the CONF entries of the log.  Those up to commit fold into the
 * base as they are found, so only the uncommitted ones stay pending.
 */
static int
load_confs(struct raft *r)
{
	struct raft_entry	*ents;
	struct raft_conf	 c;
	uint64_t		 lo = log_first_index(r), last = log_last_index(r);
	size_t			 i, n;

	while (lo <= last) {
		if (log_slice(r, lo, last + 1, RAFT_APPLY_BYTES,
		    RAFT_APPLY_ENTRIES, &ents, &n) == -1 || n == 0)
			return -1;
		for (i = 0; i < n; i++) {
			if (ents[i].type != RAFT_ENTRY_CONF)
				continue;
			if (r->n_confs == RAFT_CONF_PENDING_MAX ||
			    raft_conf_decode(ents[i].data, ents[i].len,
			    &c) == -1) {
				free(ents);
				return -1;
			}
			r->confs[r->n_confs].index = ents[i].index;
			r->confs[r->n_confs++].conf = c;
			conf_fold(r);
		}
		lo = ents[n - 1].index + 1;
		free(ents);
	}
	return 0;
}

struct raft *
raft_new(const struct raft_options *opts, const struct raft_storage *st,
    const struct raft_hardstate *hs, const struct raft_conf *conf,
    uint64_t applied)
{
	struct raft	*r;
	uint64_t	 first, last;

	if (opts == NULL || st == NULL || !str_valid(opts->id, RAFT_ID_MAX) ||
	    opts->id[0] == '\0' || st->first_index == NULL ||
	    st->last_index == NULL || st->term == NULL ||
	    st->entries == NULL || st->free_entries == NULL)
		return NULL;
	if (hs != NULL && !str_valid(hs->vote, RAFT_ID_MAX))
		return NULL;
	if (conf != NULL && !conf_valid(conf))
		return NULL;

	r = raft_calloc(1, sizeof(*r));
	r->opts = *opts;
	if (r->opts.election_ticks <= 0)
		r->opts.election_ticks = 10;
	if (r->opts.heartbeat_ticks <= 0)
		r->opts.heartbeat_ticks = 1;
	if (r->opts.max_append_bytes == 0)
		r->opts.max_append_bytes = 1024 * 1024;
	if (r->opts.max_inflight == 0)
		r->opts.max_inflight = 256;
	if (r->opts.max_inflight > RAFT_INFLIGHT_MAX)
		r->opts.max_inflight = RAFT_INFLIGHT_MAX;
	if (r->opts.heartbeat_ticks >= r->opts.election_ticks ||
	    r->opts.election_ticks > INT32_MAX / 2)
		goto fail;
	r->st = *st;
	r->rng = opts->seed ^ fnv1a(opts->id);
	r->self = -1;

	first = st->first_index(st->arg);
	last = st->last_index(st->arg);
	if (first == 0 || last + 1 < first || last == UINT64_MAX)
		goto fail;
	r->u_offset = last + 1;
	if (hs != NULL) {
		r->term = hs->term;
		strlcpy(r->vote, hs->vote, sizeof(r->vote));
		r->commit = hs->commit;
		r->prev_hs = *hs;
	}
	if (r->term == UINT64_MAX || applied + 1 < first || applied > last)
		goto fail;
	if (r->commit < applied)
		r->commit = applied;
	if (r->commit > last)
		goto fail;
	r->applied = applied;

	if (conf != NULL)
		conf_copy(&r->conf_base.conf, conf);
	r->conf_base.index = first - 1;
	if (load_confs(r) == -1)
		goto fail;
	conf_refresh(r);
	r->conf_changed = 0;
	r->reads = raft_calloc(RAFT_READS_MAX, sizeof(*r->reads));
	r->role = r->prev_role = RAFT_FOLLOWER;
	r->contact_elapsed = UINT64_MAX;
	reset_timeout(r);
	return r;
fail:
	raft_free(r);
	return NULL;
}

void
raft_free(struct raft *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	unstable_clear(r);
	free(r->u_ents);
	if (r->u_snap != NULL) {
		snapshot_meta_free(r->u_snap);
		free(r->u_snap);
	}
	snapshot_meta_free(&r->snap);
	raft_conf_free(&r->conf_base.conf);
	for (i = 0; i < r->n_confs; i++)
		raft_conf_free(&r->confs[i].conf);
	for (i = 0; i < r->cur.n; i++)
		free(r->prs[i].infl.buf);
	free(r->prs);
	raft_conf_free(&r->cur);
	free(r->reads);
	msgs_free(r->msgs, r->n_msgs);
	msgs_free(r->rd_msgs, r->rd_n_msgs);
	free(r->rstates);
	free(r->rd_rstates);
	free(r->rd_committed);
	free(r);
}

/*
 * A fresh server writes the configuration as entry 1 of term 1.  Servers
 * bootstrapped with the same configuration hold identical logs, so any
 * of them may win the first election.
 */
int
raft_bootstrap(struct raft *r, const struct raft_conf *conf)
{
	struct raft_entry	 e;
	void			*buf;
	size_t			 len;
	int			 rv;

	if (r->in_ready || r->term != 0 || r->vote[0] != '\0' ||
	    log_last_index(r) != 0 || log_first_index(r) != 1 ||
	    conf == NULL || !conf_valid(conf) ||
	    !conf_is_voter(conf, r->opts.id))
		return -1;
	if (raft_conf_encode(conf, &buf, &len) == -1)
		return -1;
	memset(&e, 0, sizeof(e));
	e.index = 1;
	e.term = 1;
	e.type = RAFT_ENTRY_CONF;
	e.data = buf;
	e.len = len;
	if ((rv = log_append(r, &e, 1)) == 0)
		r->term = 1;
	free(buf);
	return rv;
}

static uint64_t
leader_append(struct raft *r, uint8_t type, const void *data, size_t len)
{
	struct raft_entry	 e;

	if (r->in_ready || r->role != RAFT_LEADER ||
	    r->transferee[0] != '\0' || len > RAFT_ENTRY_MAX ||
	    (len > 0 && data == NULL) || len > RAFT_UNSTABLE_MAX - r->u_bytes)
		return 0;
	memset(&e, 0, sizeof(e));
	e.index = log_last_index(r) + 1;
	e.term = r->term;
	e.type = type;
	e.data = (void *)(uintptr_t)data;
	e.len = len;
	if (log_append(r, &e, 1) == -1)
		return 0;
	r->bcast_pending = 1;
	return e.index;
}

uint64_t
raft_propose(struct raft *r, const void *data, size_t len)
{
	return leader_append(r, RAFT_ENTRY_NORMAL, data, len);
}

uint64_t
raft_propose_conf(struct raft *r, const struct raft_conf *conf)
{
	void		*buf;
	size_t		 len;
	uint64_t	 index;

	/* One change at a time, and never before this term's first commit. */
	if (r->role != RAFT_LEADER || !r->commit_in_term ||
	    r->cur_index > r->commit || conf == NULL || !conf_valid(conf) ||
	    conf_changes(&r->cur, conf) != 1 || conf_voters(conf) == 0)
		return 0;
	if (raft_conf_encode(conf, &buf, &len) == -1)
		return 0;
	index = leader_append(r, RAFT_ENTRY_CONF, buf, len);
	free(buf);
	return index;
}

int
raft_transfer_leader(struct raft *r, const char *to)
{
	struct raft_progress	*pr;

	if (r->in_ready || r->role != RAFT_LEADER || to == NULL ||
	    strcmp(to, r->opts.id) == 0 || !conf_is_voter(&r->cur, to) ||
	    (pr = progress_find(r, to)) == NULL)
		return -1;
	if (strcmp(r->transferee, to) == 0)
		return 0;
	strlcpy(r->transferee, to, sizeof(r->transferee));
	r->transfer_elapsed = 0;
	if (pr->match == log_last_index(r))
		send_timeout_now(r, to);
	else
		maybe_send_append(r, pr, 1);
	return 0;
}

int
raft_snapshot_taken(struct raft *r, const struct raft_snapshot_meta *meta)
{
	uint64_t	 t;

	if (r->in_ready || meta == NULL || meta->index == 0 ||
	    meta->index > r->applied || meta->index < r->snap.index ||
	    !conf_valid(&meta->conf))
		return -1;
	if (log_term(r, meta->index, &t) == 0 && t != meta->term)
		return -1;
	snapshot_meta_free(&r->snap);
	snapshot_meta_copy(&r->snap, meta);
	return 0;
}

int
raft_read_index(struct raft *r, uint64_t ctx)
{
	struct raft_read	*rd;

	if (r->in_ready || r->role != RAFT_LEADER ||
	    r->n_reads == RAFT_READS_MAX)
		return -1;
	rd = &r->reads[(r->reads_head + r->n_reads++) % RAFT_READS_MAX];
	rd->ctx = ctx;
	rd->seq = ++r->read_seq;
	/* Until this term commits, our commit index may be behind. */
	rd->index = r->commit_in_term ? r->commit : 0;
	r->heartbeat_pending = 1;
	reads_release(r);
	return 0;
}

void
raft_report_unreachable(struct raft *r, const char *id)
{
	struct raft_progress	*pr;

	if (r->in_ready || r->role != RAFT_LEADER || id == NULL ||
	    (pr = progress_find(r, id)) == NULL)
		return;
	if (pr->state == PR_REPLICATE)
		progress_probe(pr);
}

void
raft_report_snapshot(struct raft *r, const char *id, int ok)
{
	struct raft_progress	*pr;

	if (r->in_ready || r->role != RAFT_LEADER || id == NULL ||
	    (pr = progress_find(r, id)) == NULL || pr->state != PR_SNAPSHOT)
		return;
	if (!ok)
		pr->pending_snapshot = 0;
	progress_probe(pr);
	/* Wait for the follower to answer before probing again. */
	pr->probe_sent = 1;
}

/* Getters. */

enum raft_role
raft_role(const struct raft *r)
{
	return r->role;
}

const char *
raft_leader(const struct raft *r)
{
	return r->leader;
}

uint64_t
raft_term(const struct raft *r)
{
	return r->term;
}

uint64_t
raft_commit_index(const struct raft *r)
{
	return r->commit;
}

uint64_t
raft_applied_index(const struct raft *r)
{
	return r->applied;
}

uint64_t
raft_last_index(const struct raft *r)
{
	return log_last_index(r);
}

const struct raft_conf *
raft_config(const struct raft *r)
{
	return &r->cur;
}

int64_t
raft_last_contact_ticks(const struct raft *r)
{
	if (r->role == RAFT_LEADER)
		return 0;
	if (r->contact_elapsed == UINT64_MAX)
		return -1;
	return r->contact_elapsed > INT64_MAX ? INT64_MAX :
	    (int64_t)r->contact_elapsed;
}

int
raft_peer_heard(const struct raft *r, const char *id, uint64_t *ago)
{
	int	 i;

	if (r->role != RAFT_LEADER || id == NULL ||
	    (i = conf_find(&r->cur, id)) == -1)
		return -1;
	*ago = i == r->self ? 0 : r->ticks - r->prs[i].last_heard;
	return 0;
}

/*
 * Leader only: a majority of voters (us included) answered a heartbeat
 * sent within the last `ticks` ticks, an entry of this term is
 * committed, and no leadership transfer began this term.  A follower
 * that heard from us will not vote for anyone else for an election
 * timeout (in_lease(); nor will one that just started), so for ticks
 * well under that no other leader can exist: a read may be served
 * without a round of heartbeats.
 */
/* Leader only: an entry of this term is committed. */
int
raft_committed_in_term(const struct raft *r)
{
	return r->role == RAFT_LEADER && r->commit_in_term;
}

int
raft_lease_valid(const struct raft *r, uint64_t ticks)
{
	const struct raft_progress	*pr;
	size_t				 i, voters = 0, heard = 0;

	if (r->role != RAFT_LEADER || !r->commit_in_term ||
	    r->transferee[0] != '\0' || r->lease_void)
		return 0;
	for (i = 0; i < r->cur.n; i++) {
		if (!r->cur.servers[i].voter)
			continue;
		voters++;
		pr = &r->prs[i];
		if ((int)i == r->self || (pr->lease_tick != RAFT_NO_LEASE &&
		    r->ticks - pr->lease_tick <= ticks))
			heard++;
	}
	return voters > 0 && heard > voters / 2;
}

int
raft_match_index(const struct raft *r, const char *id, uint64_t *match)
{
	int	 i;

	if (r->role != RAFT_LEADER || id == NULL ||
	    (i = conf_find(&r->cur, id)) == -1)
		return -1;
	*match = r->prs[i].match;
	return 0;
}
