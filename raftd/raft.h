/*
 * The Raft core: a pure state machine in the manner of etcd's raft.  It
 * does no I/O and reads no clock: the daemon feeds it messages, ticks and
 * proposals, then takes a "ready" batch (hard state and entries to make
 * durable, messages to send, committed entries to apply), does the I/O,
 * and calls raft_advance().  Tests drive many cores in one process.
 *
 * Server ids are strings (the node id, a UUID); addresses are "ip:port"
 * and travel with the configuration so a leader can be named.
 *
 * Driving it: call raft_tick() every tick (the daemon's unit of time;
 * election_ticks and heartbeat_ticks count them), raft_step() for each
 * message from a peer and raft_propose*() for local requests.  Then,
 * while raft_has_ready(): raft_ready(); install the snapshot if any,
 * truncate and append entries and save the hard state durably; send the
 * messages; apply the committed entries; raft_advance().  Between
 * raft_ready() and raft_advance() call nothing but the getters: steps
 * and proposals are refused (-1 / 0) and ticks are held until the
 * advance.  A lone voter becomes leader on its first tick.
 */
#ifndef CONSULD_RAFT_H
#define CONSULD_RAFT_H

#include <stddef.h>
#include <stdint.h>

#define RAFT_ID_MAX		64
#define RAFT_ADDR_MAX		64

/* Bounds on what the core accepts and holds. */
#define RAFT_SERVERS_MAX	256		/* servers in a configuration */
#define RAFT_ENTRY_MAX		(16 * 1024 * 1024)	/* data of one entry */
#define RAFT_MSG_ENTRIES_MAX	4096		/* entries in one message */
#define RAFT_UNSTABLE_MAX	(64 * 1024 * 1024)	/* unwritten log data */
#define RAFT_APPLY_BYTES	(4 * 1024 * 1024)	/* committed per ready */
#define RAFT_APPLY_ENTRIES	4096			/* committed per ready */
#define RAFT_READS_MAX		1024		/* pending raft_read_index() */

enum raft_role {
	RAFT_FOLLOWER,
	RAFT_PRECANDIDATE,
	RAFT_CANDIDATE,
	RAFT_LEADER
};

enum raft_entry_type {
	RAFT_ENTRY_NORMAL,	/* a state machine command */
	RAFT_ENTRY_NOOP,	/* appended by a new leader */
	RAFT_ENTRY_CONF		/* data = raft_conf_encode() */
};

struct raft_entry {
	uint64_t		 index;
	uint64_t		 term;
	uint8_t			 type;
	void			*data;
	size_t			 len;
};

struct raft_server {
	char			 id[RAFT_ID_MAX];
	char			 addr[RAFT_ADDR_MAX];
	int			 voter;
};

struct raft_conf {
	struct raft_server	*servers;
	size_t			 n;
};

/* What must be durable before anything is sent or acknowledged. */
struct raft_hardstate {
	uint64_t		 term;
	char			 vote[RAFT_ID_MAX];	/* "" = none */
	uint64_t		 commit;
};

enum raft_msg_type {
	RAFT_MSG_PREVOTE,
	RAFT_MSG_PREVOTE_RESP,
	RAFT_MSG_VOTE,
	RAFT_MSG_VOTE_RESP,
	RAFT_MSG_APPEND,
	RAFT_MSG_APPEND_RESP,
	RAFT_MSG_SNAPSHOT,	/* the daemon streams the snapshot itself */
	RAFT_MSG_SNAPSHOT_RESP,
	RAFT_MSG_TIMEOUT_NOW,	/* leadership transfer */
	RAFT_MSG_HEARTBEAT,	/* commit, ctx; no log check */
	RAFT_MSG_HEARTBEAT_RESP,	/* ctx echoed, commit of the follower */
	RAFT_MSG_TYPE_MAX
};

struct raft_snapshot_meta {
	uint64_t		 index;
	uint64_t		 term;
	struct raft_conf	 conf;
};

struct raft_msg {
	enum raft_msg_type	 type;
	char			 from[RAFT_ID_MAX];
	char			 to[RAFT_ID_MAX];
	uint64_t		 term;
	uint64_t		 log_term;	/* of the entry before index+1 */
	uint64_t		 index;
	uint64_t		 commit;
	int			 reject;
	uint64_t		 reject_hint;
	struct raft_entry	*entries;
	size_t			 n_entries;
	struct raft_snapshot_meta snapshot;	/* RAFT_MSG_SNAPSHOT */
	uint64_t		 ctx;		/* HEARTBEAT(_RESP): read round */
	int			 transfer;	/* VOTE: leadership transfer */
};

/*
 * Read access to the durable log, provided by the daemon.  first_index
 * is the first entry still present (snapshot index + 1 after a
 * compaction); term() of the snapshot index must answer too.  A fresh
 * log has first_index 1, last_index 0 and term(0) = 0.  term() and
 * entries() return 0 or -1 (index not held, or an I/O error); entries()
 * returns an array the core gives back through free_entries().
 */
struct raft_storage {
	void			*arg;
	uint64_t		(*first_index)(void *);
	uint64_t		(*last_index)(void *);
	int			(*term)(void *, uint64_t, uint64_t *);
	/* Entries [lo, hi), at most max_bytes of data (at least one). */
	int			(*entries)(void *, uint64_t, uint64_t, size_t,
				    struct raft_entry **, size_t *);
	void			(*free_entries)(void *, struct raft_entry *,
				    size_t);
};

struct raft_options {
	char			 id[RAFT_ID_MAX];
	/* In ticks; the daemon decides how long a tick is. */
	int			 election_ticks;	/* randomized in [n, 2n) */
	int			 heartbeat_ticks;
	int			 pre_vote;
	int			 check_quorum;
	size_t			 max_append_bytes;	/* per message */
	size_t			 max_inflight;		/* pipelined appends */
	uint64_t		 seed;			/* for timeouts */
};

/*
 * The answer to raft_read_index(): serve the read once applied >= index.
 * index 0: leadership was lost before it could be confirmed; retry.
 */
struct raft_read_state {
	uint64_t		 ctx;
	uint64_t		 index;
};

/*
 * Everything in a ready belongs to the core and stays valid until
 * raft_advance(); the daemon copies what it needs to keep.  Work through
 * it in this order: install, entries, hard state (one transaction), then
 * send msgs, then apply committed, then raft_advance().
 */
struct raft_ready {
	/* Install this snapshot first: state, log base (index, term). */
	struct raft_snapshot_meta *install;
	int			 hardstate_changed;
	struct raft_hardstate	 hardstate;
	/* Append these, first dropping any stored entry >= entries[0].index. */
	struct raft_entry	*entries;
	size_t			 n_entries;
	/* Send after entries and hard state are durable. */
	struct raft_msg		*msgs;
	size_t			 n_msgs;
	/* Apply in order; committed and durable. */
	struct raft_entry	*committed;
	size_t			 n_committed;
	/* Set when the role or the known leader changed. */
	int			 soft_changed;
	enum raft_role		 role;
	char			 leader[RAFT_ID_MAX];
	/* Answers to raft_read_index(), in the order asked. */
	struct raft_read_state	*read_states;
	size_t			 n_read_states;
	/* Set when raft_config() changed (a CONF entry or a snapshot). */
	int			 conf_changed;
};

struct raft;

/*
 * conf and snapshot describe what storage holds at start-up; hs is the
 * durable hard state.  A brand new single server bootstraps by passing
 * a conf naming itself and calling raft_bootstrap() before anything else.
 *
 * Precisely: conf is the configuration of the snapshot the log starts
 * after (empty when the log starts at 1); the core reads every CONF
 * entry still in the log itself, and the last one rules.  It is copied.
 * applied is the last index the state machine holds.  A server that has
 * a snapshot calls raft_snapshot_taken() for it right after raft_new().
 * NULL on bad options or a storage that contradicts hs/applied.  Options
 * left 0 get defaults: election_ticks 10, heartbeat_ticks 1,
 * max_append_bytes 1 MiB, max_inflight 256.
 */
struct raft *raft_new(const struct raft_options *, const struct raft_storage *,
	    const struct raft_hardstate *, const struct raft_conf *,
	    uint64_t applied);
void	 raft_free(struct raft *);
int	 raft_bootstrap(struct raft *, const struct raft_conf *);
void	 raft_tick(struct raft *);
/* 0: taken (or harmlessly ignored); -1: malformed or from a stranger. */
int	 raft_step(struct raft *, const struct raft_msg *);
/* Leader only: returns the index given to the entry, 0 if not leader. */
uint64_t raft_propose(struct raft *, const void *, size_t);
int	 raft_has_ready(struct raft *);
void	 raft_ready(struct raft *, struct raft_ready *);
void	 raft_advance(struct raft *, struct raft_ready *);

/*
 * Leader only, one change (add, remove, voter flag, address) at a time
 * and only once the previous one and an entry of this term committed.
 * Returns the index of the CONF entry, 0 if refused.
 */
uint64_t raft_propose_conf(struct raft *, const struct raft_conf *);
/* Leader only: hand leadership to a voter.  -1 if not possible. */
int	 raft_transfer_leader(struct raft *, const char *);
/* The daemon has a snapshot up to meta->index <= applied; it may compact. */
int	 raft_snapshot_taken(struct raft *, const struct raft_snapshot_meta *);
/* Leader only: a raft_read_state for ctx comes in a later ready.  -1 if not. */
int	 raft_read_index(struct raft *, uint64_t);
/* The daemon could not deliver to this server; stop pipelining to it. */
void	 raft_report_unreachable(struct raft *, const char *);
/* The leader's daemon finished (ok) or gave up streaming a snapshot. */
void	 raft_report_snapshot(struct raft *, const char *, int);

enum raft_role raft_role(const struct raft *);
const char *raft_leader(const struct raft *);
uint64_t raft_term(const struct raft *);
uint64_t raft_commit_index(const struct raft *);
uint64_t raft_applied_index(const struct raft *);
uint64_t raft_last_index(const struct raft *);
const struct raft_conf *raft_config(const struct raft *);
/* Ticks since a leader was last heard from: 0 on the leader, -1 never. */
int64_t	 raft_last_contact_ticks(const struct raft *);
/* Leader only: an entry of this term is committed. */
int	 raft_committed_in_term(const struct raft *);
/* Leader only: a majority answered within ticks; see raft.c. */
int	 raft_lease_valid(const struct raft *, uint64_t);
/* Leader only: how far a server's log is known to match.  -1 if unknown. */
int	 raft_match_index(const struct raft *, const char *, uint64_t *);
/* Leader only: ticks since the server last answered (0: us). */
int	 raft_peer_heard(const struct raft *, const char *, uint64_t *);

/* encode: *buf is malloc'd, the caller frees it. */
int	 raft_conf_encode(const struct raft_conf *, void **, size_t *);
int	 raft_conf_decode(const void *, size_t, struct raft_conf *);
void	 raft_conf_free(struct raft_conf *);

#endif
