/*
 * The shell around the Raft core: ticks, proposals, and the group
 * commit.  Everything that happens in one event-loop turn (proposals
 * from apid, later messages from peers) is handed to the core, and at
 * the end of the turn one Berkeley DB transaction makes the new log
 * entries and hard state durable and applies what the core says is
 * committed, with one fsync.  Only then are answers sent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "raftd.h"

#define NODE_TICK_MS		100
#define NODE_CHECKPOINT_SEC	30
/* Ticks a late timer may catch up at once (a paused process, say). */
#define NODE_CATCHUP_TICKS	100

int
pending_cmp(struct pending_write *a, struct pending_write *b)
{
	return a->index < b->index ? -1 : a->index > b->index;
}
RB_GENERATE(pending_tree, pending_write, entry, pending_cmp)

int
node_is_leader(struct raftd *r)
{
	return r->raft != NULL && raft_role(r->raft) == RAFT_LEADER;
}

uint64_t
node_now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The leader may answer a default read without a round of heartbeats:
 * a majority answered within half an election timeout (they will vote
 * for no one else for a whole one), an entry of this term is committed
 * (our state holds everything committed before), and our ticks are not
 * behind the clock (a process that was stopped has not yet noticed how
 * much time went by).
 */
int
node_read_lease(struct raftd *r)
{
	uint64_t	 now = node_now_ms();

	if (!node_is_leader(r) || r->stalled ||
	    (now > r->tick_ms && now - r->tick_ms > 2 * NODE_TICK_MS))
		return 0;
	return raft_lease_valid(r->raft, r->election_ticks / 2);
}

uint64_t
node_tick_ms(void)
{
	return NODE_TICK_MS;
}

uint64_t
node_heartbeat_ms(struct raftd *r)
{
	return (uint64_t)r->heartbeat_ticks * NODE_TICK_MS;
}

/* The leader's RPC address, "" when none is known. */
const char *
node_leader_addr(struct raftd *r)
{
	const struct raft_conf	*conf;
	const char		*id;
	size_t			 i;

	if (r->raft == NULL || *(id = raft_leader(r->raft)) == '\0')
		return "";
	conf = raft_config(r->raft);
	for (i = 0; i < conf->n; i++)
		if (strcmp(conf->servers[i].id, id) == 0)
			return conf->servers[i].addr;
	return "";
}

/* X-Consul-LastContact: ms since the leader was last heard from. */
uint64_t
node_last_contact_ms(struct raftd *r)
{
	int64_t	 t;

	if (r->raft == NULL || (t = raft_last_contact_ticks(r->raft)) <= 0)
		return 0;
	return (uint64_t)t * NODE_TICK_MS;
}

/* Leader only: the entry's index, or 0. */
uint64_t
node_propose(struct raftd *r, const void *data, size_t len)
{
	uint64_t	 idx;

	if (!node_is_leader(r))
		return 0;
	if ((idx = raft_propose(r->raft, data, len)) != 0)
		node_schedule_flush(r);
	return idx;
}

/*
 * Writes that can no longer be committed by us: the entry was not
 * committed while we led, and the next leader may or may not keep it.
 */
static void
node_fail_pending(struct raftd *r, const char *why)
{
	struct pending_write	*pw;

	while ((pw = RB_MIN(pending_tree, &r->pending)) != NULL) {
		RB_REMOVE(pending_tree, &r->pending, pw);
		kv_write_error(pw->iev, pw->reqid, why);
		if (pw->token != NULL) {
			explicit_bzero(pw->token, strlen(pw->token));
			free(pw->token);
		}
		free(pw);
	}
}

/*
 * Peers a message could not go to; the core hears of them after the
 * ready (it takes no reports in between).  A snapshot goes as its
 * file's bytes, then the message; one that cannot be sent is reported
 * failed, and the core tries again later.
 */
static void
node_send(struct raftd *r, const struct raft_msg *m)
{
	void	*buf;
	size_t	 i, len;
	int	 failed;

	if (m->type == RAFT_MSG_SNAPSHOT) {
		failed = 2;
		if (snapshot_read_file(m->snapshot.index, m->snapshot.term,
		    &buf, &len) == 0) {
			if (rpc_send_snapshot(m, buf, len) == 0)
				failed = 0;
			free(buf);
		} else
			log_warnx("raft: no file for the snapshot of index "
			    "%llu that %s needs",
			    (unsigned long long)m->snapshot.index, m->to);
	} else
		failed = rpc_send(m) == -1;
	if (!failed)
		return;
	for (i = 0; i < r->nfailed; i++)
		if (strcmp(r->failed[i].id, m->to) == 0)
			return;
	if (r->nfailed == sizeof(r->failed) / sizeof(r->failed[0]))
		return;
	strlcpy(r->failed[r->nfailed].id, m->to, sizeof(r->failed[0].id));
	r->failed[r->nfailed].snapshot = failed == 2;
	r->nfailed++;
}

static void
node_report_failed(struct raftd *r)
{
	size_t	 i;

	for (i = 0; i < r->nfailed; i++) {
		if (r->failed[i].snapshot)
			raft_report_snapshot(r->raft, r->failed[i].id, 0);
		else
			raft_report_unreachable(r->raft, r->failed[i].id);
	}
	r->nfailed = 0;
}

/*
 * Make a ready durable and apply what it commits, in one transaction;
 * 0 once committed.  A write that fails for want of space (ENOSPC,
 * EDQUOT) returns -1 with everything as it was before: the core stays
 * in this ready, sending nothing, taking no message and so casting no
 * vote, until node_tick() tries again.  Any other store error is fatal:
 * after a failed fsync nothing can be trusted to be on disk.
 */
static int
node_persist(struct raftd *r, struct raft_ready *rd)
{
	DB_TXN		*txn;
	uint64_t	 applied = r->applied, first = r->store.first_index;
	uint64_t	 last = r->store.last_index;
	size_t		 i;
	int		 sync, committing = 0;
	const char	*what;

	store_errno = 0;
	txn = store_begin(&r->store);
	sync = rd->hardstate_changed || rd->n_entries > 0;
	what = "save the hard state";
	if (rd->hardstate_changed &&
	    store_hardstate_save(&r->store, txn, &rd->hardstate) == -1)
		goto fail;
	what = "append to the log";
	if (store_log_append(&r->store, txn, rd->entries,
	    rd->n_entries) == -1)
		goto fail;
	what = "apply a committed entry";
	for (i = 0; i < rd->n_committed; i++) {
		if (fsm_apply(r, txn, &rd->committed[i]) == -1) {
			if (store_errno == 0)
				fatalx("node: cannot apply entry %llu",
				    (unsigned long long)rd->committed[i].index);
			goto fail;
		}
		r->applied = rd->committed[i].index;
	}
	what = "record the applied index";
	if (rd->n_committed > 0 && store_put_u64(&r->store,
	    r->store.stable, txn, "applied", r->applied) == -1)
		goto fail;
	what = "commit";
	committing = 1;
	if (store_commit(&r->store, txn, sync) == -1)
		goto fail;
	if (r->stalled) {
		log_info("node: the Raft log is written again");
		r->stalled = 0;
	}
	return 0;
 fail:
	if (!committing)
		store_abort(txn);	/* a failed commit aborted it */
	if (store_errno != ENOSPC && store_errno != EDQUOT)
		fatalx("node: cannot %s: %s", what, store_errno != 0 ?
		    db_strerror(store_errno) : "store error");
	r->applied = applied;
	r->store.first_index = first;
	r->store.last_index = last;
	fsm_discard(r, NODE_NO_SPACE);
	node_fail_pending(r, NODE_NO_SPACE);
	if (!r->stalled || node_now_ms() - r->stall_logged >= 10000) {
		log_warnx("node: cannot %s: %s; Raft waits until there is "
		    "room", what, db_strerror(store_errno));
		r->stall_logged = node_now_ms();
	}
	r->stalled = 1;
	return -1;
}

static void
node_flush(evutil_socket_t fd, short events, void *arg)
{
	struct raftd		*r = arg;
	struct raft_ready	 rd;
	size_t			 i;
	int			 release;

	r->flush_scheduled = 0;
	if (r->raft == NULL)
		return;		/* a client agent */
	while (r->stalled || raft_has_ready(r->raft)) {
		if (r->stalled)
			rd = r->stalled_rd;
		else
			raft_ready(r->raft, &rd);
		/* rpc.c steps a snapshot only once its bytes are here. */
		if (rd.install != NULL && r->incoming != NULL) {
			if (r->incoming_index != rd.install->index ||
			    r->incoming_term != rd.install->term)
				fatalx("node: no data for the snapshot of "
				    "index %llu", (unsigned long long)
				    rd.install->index);
			snapshot_install(r, rd.install, r->incoming,
			    r->incoming_len);
			free(r->incoming);
			r->incoming = NULL;
		} else if (rd.install != NULL && !r->stalled)
			fatalx("node: no data for the snapshot of index %llu",
			    (unsigned long long)rd.install->index);
		if (node_persist(r, &rd) == -1) {
			r->stalled_rd = rd;
			return;
		}
		/* Durable: now the world may hear of it. */
		for (i = 0; i < rd.n_msgs; i++)
			node_send(r, &rd.msgs[i]);
		fsm_deliver(r);
		watch_deliver(r);
		cat_watch_deliver(r);
		if (rd.soft_changed) {
			if (rd.role != r->role || strcmp(rd.leader,
			    r->leader) != 0)
				log_info("raft: %s, leader %s",
				    rd.role == RAFT_LEADER ? "leader" :
				    rd.role == RAFT_FOLLOWER ? "follower" :
				    "candidate",
				    *rd.leader ? rd.leader : "unknown");
			if (r->role == RAFT_LEADER && rd.role != RAFT_LEADER)
				node_fail_pending(r,
				    "leadership lost while committing log");
			r->role = rd.role;
			strlcpy(r->leader, rd.leader, sizeof(r->leader));
		}
		readindex_states(rd.read_states, rd.n_read_states);
		/* Held for want of a leader: there is one now. */
		release = rd.soft_changed && *r->leader != '\0';
		raft_advance(r->raft, &rd);
		node_report_failed(r);
		readindex_release(r);
		raft_op_progress(r);
		if (release)
			hold_release();
	}
}

void
node_schedule_flush(struct raftd *r)
{
	if (r->flush_scheduled)
		return;
	r->flush_scheduled = 1;
	event_active(r->flush_ev, EV_TIMEOUT, 0);
}

static void
node_tick(evutil_socket_t fd, short events, void *arg)
{
	struct raftd	*r = arg;
	static int	 ticks;
	int64_t		 every_ms;
	uint64_t	 now = node_now_ms(), n;

	/*
	 * One core tick per NODE_TICK_MS of the monotonic clock, however
	 * late this timer ran: a leader that was stopped for a while must
	 * see its followers' silence at once, and step down.
	 */
	n = now > r->tick_ms ? (now - r->tick_ms) / NODE_TICK_MS : 0;
	if (n == 0)
		n = 1;
	if (n > NODE_CATCHUP_TICKS)
		n = NODE_CATCHUP_TICKS;
	r->tick_ms += n * NODE_TICK_MS;
	if (r->tick_ms > now || now - r->tick_ms > NODE_TICK_MS)
		r->tick_ms = now;
	while (n-- > 0)
		raft_tick(r->raft);
	ticks++;
	if (r->stalled) {
		/* Nothing else until the log is written; try each second. */
		if (ticks % (1000 / NODE_TICK_MS) == 0)
			node_schedule_flush(r);
		return;
	}
	if (ticks % (NODE_CHECKPOINT_SEC * 1000 / NODE_TICK_MS) == 0)
		store_checkpoint(&r->store);
	every_ms = r->child->conf->raft_snapshot_interval / 1000000;
	if (every_ms <= 0)
		every_ms = 30 * 1000;
	if (ticks % (every_ms < NODE_TICK_MS ? 1 : every_ms / NODE_TICK_MS) ==
	    0)
		snapshot_maybe_compact(r);
	if (ticks % (1000 / NODE_TICK_MS) == 0) {
		autopilot_check(r, 1000);
		reconcile_check(r);
		acl_leader_check(r);
		acl_replication_tick(r);
		/* Answers that do not come in 3 s: ask again. */
		if (r->expect.asking && ++r->expect.ticks >= 3)
			r->expect.asking = 0;
		node_expect_check(r);
	}
	if (raft_has_ready(r->raft))
		node_schedule_flush(r);
}

struct expect_scan {
	struct raft_server	 servers[RAFT_SERVERS_MAX];
	size_t			 n;
	int			 conflict;
};

static void
expect_server(void *arg, const struct member_server *m)
{
	struct expect_scan	*e = arg;
	struct config		*c = raftd_child.conf;
	struct raft_server	*s;

	if (m->status != 1 || e->n == RAFT_SERVERS_MAX)
		return;
	if (m->expect != c->bootstrap_expect) {
		if (!e->conflict)
			log_warnx("raft: server %s does not expect %d servers "
			    "as this one does; not bootstrapping", m->name,
			    c->bootstrap_expect);
		e->conflict = 1;
		return;
	}
	s = &e->servers[e->n++];
	strlcpy(s->id, m->id, sizeof(s->id));
	strlcpy(s->addr, m->addr, sizeof(s->addr));
	s->voter = 1;
}

static int
server_cmp(const void *a, const void *b)
{
	return strcmp(((const struct raft_server *)a)->id,
	    ((const struct raft_server *)b)->id);
}

/*
 * bootstrap_expect, as Consul: once gossip shows that many alive servers
 * of this datacenter, all expecting as many, a server with no Raft
 * state bootstraps with them as the voters.  Every one of them does the
 * same with the same servers, so their first configurations agree.
 * More servers than expected: the ones with the lowest ids, so that
 * every server picks the same.
 */
void
node_expect_check(struct raftd *r)
{
	struct config		*c = r->child->conf;
	struct expect_scan	*e;
	struct raft_conf	 conf;

	size_t			 i;

	if (!c->server || c->bootstrap || c->dev || c->bootstrap_expect < 2 ||
	    r->raft == NULL || r->bootstrapped || r->expect.asking ||
	    raft_config(r->raft)->n > 0 || r->store.last_index > 0)
		return;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		fatal("node");
	members_servers(expect_server, e);
	if (e->conflict || e->n < (size_t)c->bootstrap_expect)
		goto done;
	qsort(e->servers, e->n, sizeof(e->servers[0]), server_cmp);
	conf.servers = e->servers;
	conf.n = c->bootstrap_expect;
	for (i = 0; i < conf.n; i++)
		if (strcmp(conf.servers[i].id, raftd_node_id) == 0)
			break;
	if (i == conf.n)
		goto done;	/* not one of them: wait to be added */
	/*
	 * As Consul, first ask each of them whether it has Raft state: a
	 * server joining an existing cluster must wait for its leader to
	 * add it, not start another.
	 */
	raft_conf_free(&r->expect.conf);
	if ((r->expect.conf.servers = calloc(conf.n,
	    sizeof(*conf.servers))) == NULL)
		fatal("node");
	memcpy(r->expect.conf.servers, conf.servers,
	    conf.n * sizeof(*conf.servers));
	r->expect.conf.n = conf.n;
	r->expect.asked = r->expect.answered = 0;
	r->expect.existing = 0;
	for (i = 0; i < conf.n; i++) {
		if (strcmp(conf.servers[i].id, raftd_node_id) == 0)
			continue;
		if (rpc_ask_state(conf.servers[i].addr) == -1)
			goto done;
		r->expect.asked++;
	}
	r->expect.asking = 1;
	r->expect.ticks = 0;
 done:
	free(e);
}

/*
 * A server answered whether it has Raft state.  One that bootstrapped
 * the very cluster we are about to (only the first entry, naming the
 * same servers) counts as none: it asked before we had state.
 */
void
node_expect_answer(struct raftd *r, const char *addr, int has_state,
    uint64_t last, char (*ids)[RAFT_ID_MAX], size_t nids)
{
	size_t	 i, j;

	if (!r->expect.asking)
		return;
	if (has_state && last <= 1 && nids == r->expect.conf.n) {
		for (i = 0; i < nids; i++) {
			for (j = 0; j < nids; j++)
				if (strcmp(ids[i],
				    r->expect.conf.servers[j].id) == 0)
					break;
			if (j == nids)
				break;
		}
		if (i == nids)
			has_state = 0;
	}
	if (has_state && !r->expect.existing) {
		log_info("raft: server %s already has Raft state: waiting to "
		    "be added to its cluster instead of bootstrapping", addr);
		r->expect.existing = 1;
	}
	if (++r->expect.answered < r->expect.asked)
		return;
	r->expect.asking = 0;
	/* A cluster exists: as Consul, bootstrap mode is over for good. */
	if (r->expect.existing) {
		r->bootstrapped = 1;
		return;
	}
	if (raft_config(r->raft)->n > 0 || r->store.last_index > 0)
		return;
	/*
	 * A server that bootstrapped the same cluster first may already
	 * have asked for our vote (slower answers, as over TLS, make that
	 * likelier): its leader will send us the first entry.
	 */
	if (raft_term(r->raft) > 0) {
		log_info("raft: another server of the cluster started first, "
		    "in term %llu: not bootstrapping",
		    (unsigned long long)raft_term(r->raft));
		r->bootstrapped = 1;
		return;
	}
	if (raft_bootstrap(r->raft, &r->expect.conf) == -1)
		fatalx("node: bootstrap failed");
	r->bootstrapped = 1;
	log_info("raft: bootstrapping a new cluster of %zu servers "
	    "(bootstrap_expect)", r->expect.conf.n);
	node_schedule_flush(r);
}

/*
 * Open the log and state, build the core from what is durable, and
 * bootstrap a brand new single server (-bootstrap, -dev).
 */
void
node_start(struct raftd *r)
{
	struct config		*c = r->child->conf;
	struct raft_options	 opts;
	struct raft_hardstate	 hs;
	struct raft_conf	 conf;
	struct raft_server	 self;
	struct raft_snapshot_meta meta;
	struct timeval		 tv = { 0, NODE_TICK_MS * 1000 };
	uint64_t		 seed;
	int			 mult;

	RB_INIT(&r->pending);
	TAILQ_INIT(&r->watches);
	r->flush_ev = event_new(r->child->base, -1, 0, node_flush, r);
	if (r->flush_ev == NULL || event_priority_set(r->flush_ev, 2) == -1)
		fatalx("node: cannot set up events");
	/* A client agent holds no Raft state: servers answer for it. */
	if (!c->server) {
		log_debug("raft: a client agent: requests go to the servers");
		return;
	}
	if (store_open(&r->store, STORE_DIR) == -1)
		fatalx("node: cannot open the store in %s", STORE_DIR);
	/* The core reads the CONF entries of the log itself. */
	if (store_hardstate_load(&r->store, &hs) == -1 ||
	    store_snapshot_conf(&r->store, &conf) == -1 ||
	    store_get_u64(&r->store, r->store.stable, NULL, "applied",
	    &r->applied) == -1)
		fatalx("node: cannot read the raft state");
	r->storage = store_raft_storage;
	r->storage.arg = &r->store;

	memset(&opts, 0, sizeof(opts));
	strlcpy(opts.id, raftd_node_id, sizeof(opts.id));
	/* Consul's timings scale with raft_multiplier (1 in -dev). */
	mult = c->dev ? 1 : c->performance.raft_multiplier;
	if (mult < 1 || mult > 10)
		mult = 5;
	opts.election_ticks = 10 * mult;
	r->election_ticks = opts.election_ticks;
	r->heartbeat_ticks = opts.heartbeat_ticks;
	r->tick_ms = node_now_ms();
	opts.heartbeat_ticks = mult;
	opts.pre_vote = 1;
	opts.check_quorum = 1;
	opts.max_append_bytes = 1024 * 1024;
	opts.max_inflight = 64;
	arc4random_buf(&seed, sizeof(seed));
	opts.seed = seed;

	r->raft = raft_new(&opts, &r->storage, &hs, &conf, r->applied);
	if (r->raft == NULL)
		fatalx("node: cannot start raft");
	if (r->store.snap_index > 0) {
		memset(&meta, 0, sizeof(meta));
		meta.index = r->store.snap_index;
		meta.term = r->store.snap_term;
		meta.conf = conf;
		if (raft_snapshot_taken(r->raft, &meta) == -1)
			fatalx("node: raft refused the snapshot at %llu",
			    (unsigned long long)meta.index);
	}
	if (raft_config(r->raft)->n == 0 && r->store.last_index == 0 &&
	    (c->bootstrap || c->dev)) {
		memset(&self, 0, sizeof(self));
		strlcpy(self.id, raftd_node_id, sizeof(self.id));
		strlcpy(self.addr, r->self_addr, sizeof(self.addr));
		self.voter = 1;
		conf.servers = &self;
		conf.n = 1;
		if (raft_bootstrap(r->raft, &conf) == -1)
			fatalx("node: bootstrap failed");
		log_info("raft: bootstrapped a new single-server cluster");
		conf.servers = NULL;
		conf.n = 0;
	}
	raft_conf_free(&conf);

	r->tick_ev = event_new(r->child->base, -1, EV_PERSIST, node_tick, r);
	if (r->tick_ev == NULL || event_add(r->tick_ev, &tv) == -1)
		fatalx("node: cannot set up events");
	node_schedule_flush(r);
}
