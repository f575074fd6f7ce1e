/*
 * The shell around the Raft core: ticks, proposals, and the group
 * commit.  Everything that happens in one event-loop turn (proposals
 * from apid, later messages from peers) is handed to the core, and at
 * the end of the turn one Berkeley DB transaction makes the new log
 * entries and hard state durable and applies what the core says is
 * committed, with one fsync.  Only then are answers sent.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "raftd.h"

#define NODE_TICK_MS		100
#define NODE_CHECKPOINT_SEC	30

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
		free(pw);
	}
}

static void
node_flush(evutil_socket_t fd, short events, void *arg)
{
	struct raftd		*r = arg;
	struct raft_ready	 rd;
	DB_TXN			*txn;
	size_t			 i;
	int			 sync;

	r->flush_scheduled = 0;
	while (raft_has_ready(r->raft)) {
		raft_ready(r->raft, &rd);
		/* Snapshots from a leader arrive with the multi-server issue. */
		if (rd.install != NULL)
			fatalx("node: installing a snapshot from a leader is "
			    "not supported yet");
		txn = store_begin(&r->store);
		sync = rd.hardstate_changed || rd.n_entries > 0;
		if (rd.hardstate_changed &&
		    store_hardstate_save(&r->store, txn, &rd.hardstate) == -1)
			fatalx("node: cannot save the hard state");
		if (store_log_append(&r->store, txn, rd.entries,
		    rd.n_entries) == -1)
			fatalx("node: cannot append to the log");
		for (i = 0; i < rd.n_committed; i++) {
			if (fsm_apply(r, txn, &rd.committed[i]) == -1)
				fatalx("node: cannot apply entry %llu",
				    (unsigned long long)rd.committed[i].index);
			r->applied = rd.committed[i].index;
		}
		if (rd.n_committed > 0 && store_put_u64(&r->store,
		    r->store.stable, txn, "applied", r->applied) == -1)
			fatalx("node: cannot record the applied index");
		if (store_commit(&r->store, txn, sync) == -1)
			fatalx("node: commit failed");
		/* Durable: now the world may hear of it. */
		fsm_deliver(r);
		watch_deliver(r);
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
		raft_advance(r->raft, &rd);
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

	raft_tick(r->raft);
	ticks++;
	if (ticks % (NODE_CHECKPOINT_SEC * 1000 / NODE_TICK_MS) == 0)
		store_checkpoint(&r->store);
	every_ms = r->child->conf->raft_snapshot_interval / 1000000;
	if (every_ms <= 0)
		every_ms = 30 * 1000;
	if (ticks % (every_ms < NODE_TICK_MS ? 1 : every_ms / NODE_TICK_MS) ==
	    0)
		snapshot_maybe_compact(r);
	if (raft_has_ready(r->raft))
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
	    c->server &&
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

	r->flush_ev = event_new(r->child->base, -1, 0, node_flush, r);
	r->tick_ev = event_new(r->child->base, -1, EV_PERSIST, node_tick, r);
	if (r->flush_ev == NULL || r->tick_ev == NULL ||
	    event_priority_set(r->flush_ev, 2) == -1 ||
	    event_add(r->tick_ev, &tv) == -1)
		fatalx("node: cannot set up events");
	node_schedule_flush(r);
}
