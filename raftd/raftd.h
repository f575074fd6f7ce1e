/*
 * raftd: Raft and the state machine.  raftd.c starts the process and
 * dispatches imsgs; node.c drives the Raft core and commits its output
 * to the store once per event-loop turn; fsm.c applies committed
 * commands; kv.c answers KV requests; watch.c parks blocking queries;
 * gossip.c relays gossip operations and keeps the keyring files;
 * events.c keeps the user events; readindex.c holds reads until the
 * leader has confirmed it still leads; coord.c keeps this agent's
 * network coordinates, sends the LAN one to the servers and, on the
 * leader, batches everyone's into the catalog (coord_state.c).
 */
#ifndef CONSULD_RAFTD_H
#define CONSULD_RAFTD_H

#include <sys/queue.h>
#include <sys/tree.h>

#include <event2/event.h>

#include "acl_codec.h"
#include "imsg.h"
#include "imsg_types.h"
#include "kv_codec.h"
#include "kv_state.h"
#include "proc.h"
#include "raft.h"
#include "store.h"

#define NODE_ID_FILE	"node-id"

/* What a log entry's command is: the first element of its array. */
enum fsm_command {
	FSM_KV_TXN = 1,
	FSM_CATALOG		/* [2, bin: the IMSG_CAT_WRITE payload] */
};

/* A write waiting for its entry to be committed and applied. */
struct pending_write {
	RB_ENTRY(pending_write)	 entry;
	uint64_t		 index;
	struct imsgev		*iev;
	uint32_t		 reqid;
	char			*token;		/* results filtered for it */
};
RB_HEAD(pending_tree, pending_write);
int	pending_cmp(struct pending_write *, struct pending_write *);
RB_PROTOTYPE(pending_tree, pending_write, entry, pending_cmp)

/* A parsed KV read. */
struct kv_read {
	char			*key;
	size_t			 keylen;
	enum kv_read_mode	 mode;
	char			*sep;
	uint64_t		 min_index;
	uint64_t		 wait_ms;
	int			 consistency;	/* enum kv_consistency */
	uint64_t		 max_stale_ms;	/* 0: any */
	char			*token;		/* the caller's secret */
};

struct watch {
	TAILQ_ENTRY(watch)	 entry;
	struct kv_read		 read;
	struct imsgev		*iev;
	uint32_t		 reqid;
	struct event		*timer;
	int			 fired;
};
TAILQ_HEAD(watch_list, watch);

struct raftd {
	struct child		*child;
	struct store		 store;
	struct raft_storage	 storage;
	struct raft		*raft;
	char			 self_addr[RAFT_ADDR_MAX];
	struct event		*tick_ev;
	struct event		*flush_ev;
	int			 flush_scheduled;
	struct pending_tree	 pending;
	struct watch_list	 watches;
	int			 nfired;
	uint64_t		 applied;
	enum raft_role		 role;
	char			 leader[RAFT_ID_MAX];
	DB_TXN			*restore_txn;
	/* A leader's snapshot, checked, for the core to install. */
	void			*incoming;
	size_t			 incoming_len;
	uint64_t		 incoming_index;
	uint64_t		 incoming_term;
	/* Peers a ready's messages could not go to (node.c). */
	struct {
		char		 id[RAFT_ID_MAX];
		int		 snapshot;
	}			 failed[16];
	size_t			 nfailed;
	int			 bootstrapped;
	/* A batch applied a catalog change: catalog.c wakes its watches. */
	int			 cat_changed;
	/* Set while readindex.c hands back a read the leader confirmed. */
	int			 read_confirmed;
	/* CLOCK_MONOTONIC ms of the last tick (node.c). */
	uint64_t		 tick_ms;
	int			 election_ticks;
	int			 heartbeat_ticks;
	/* A ready that could not be made durable (disk full): node.c. */
	int			 stalled;
	struct raft_ready	 stalled_rd;
	uint64_t		 stall_logged;
	/* bootstrap_expect: asking the others for their Raft state. */
	struct {
		int		 asking;
		size_t		 asked;
		size_t		 answered;
		int		 existing;
		int		 ticks;	/* seconds since asked */
		struct raft_conf conf;
	}			 expect;
};

extern struct child	 raftd_child;
extern struct raftd	 raftd;
extern char		*raftd_node_id;

/* nodeid.c */
char	*node_id_load(const char *);
int	 node_id_valid(const char *);

/* agent.c */
void	 agent_self_request(struct imsgev *, struct imsg *);
void	 status_leader_request(struct imsgev *, struct imsg *);
void	 status_peers_request(struct imsgev *, struct imsg *);

/* members.c */
void	 member_update(struct imsgev *, struct imsg *);
void	 members_request(struct imsgev *, struct imsg *);
void	 members_walk(uint8_t, void (*)(void *, const char *, const char *,
	    uint64_t, uint64_t, const msgpack_object *), void *);

/* snapshot.c: sending to and installing from a leader */
#define SNAPSHOT_INSTALL_MAX	(1024ull * 1024 * 1024)
int	 snapshot_read_file(uint64_t, uint64_t, void **, size_t *);
void	 snapshot_install(struct raftd *, const struct raft_snapshot_meta *,
	    const void *, size_t);

/* hold.c */
int	 hold_request(struct imsgev *, struct imsg *);
int	 hold_retry(struct imsgev *, struct imsg *, uint64_t);
uint64_t hold_deadline(void);
void	 hold_release(void);
void	 hold_cancel(struct imsgev *, uint32_t);
int	 hold_token(struct imsgev *, struct imsg *, const unsigned char *);
void	 hold_token_release(const unsigned char *);
int	 hold_token_settled(void);

/* operator.c */
#define RAFT_OP_REMOVE		1
#define RAFT_OP_TRANSFER	2
struct raft_op {
	int			 op;
	char			 id[RAFT_ID_MAX];
	char			 addr[RAFT_ADDR_MAX];
	char			 token[ACL_STR_MAX + 1];	/* "": none */
};
void	 raft_conf_request(struct imsgev *, struct imsg *);
void	 raft_conf_error(struct imsgev *, uint32_t, const char *);
int	 raft_op_parse(const void *, size_t, struct raft_op *);
void	 raft_op_request(struct imsgev *, struct imsg *);
void	 raft_op_answer(struct imsgev *, uint32_t, const char *,
	    const char *);
void	 raft_op_progress(struct raftd *);
void	 raft_op_cancel(struct imsgev *, uint32_t);

/* autopilot.c */
void	 autopilot_check(struct raftd *, uint64_t);

/* rpc.c */
struct rpc_fwd;
struct rpc_conn {
	TAILQ_ENTRY(rpc_conn)	 entry;
	struct bufferevent	*bev;
	int			 out;		/* ours, to a server */
	int			 hello;		/* the peer's arrived */
	int			 connected;	/* out: connect() succeeded */
	int			 wan;		/* in: from another datacenter */
	int			 client_only;	/* in: its certificate names no server */
	int			 answered;	/* a frame has come in */
	time_t			 born;		/* CLOCK_MONOTONIC seconds */
	char			 peer[RAFT_ID_MAX];
	char			 addr[RAFT_ADDR_MAX];
	char			 label[RAFT_ADDR_MAX];	/* for logs */
	/* A snapshot the peer is sending us, as it arrives. */
	unsigned char		*snap;
	size_t			 snap_len;
	size_t			 snap_have;
	uint64_t		 snap_index;
	uint64_t		 snap_term;
};
void	 rpc_start(int);
void	 rpc_tls_load(struct child *);
int	 rpc_send(const struct raft_msg *);
int	 rpc_send_snapshot(const struct raft_msg *, const void *, size_t);
struct rpc_conn *rpc_conn_to(const char *);
struct rpc_conn *rpc_conn_to_dc(const char *, const char *);
void	 rpc_conn_fail(struct rpc_conn *, const char *);
int	 rpc_backlogged(struct rpc_conn *);
int	 rpc_ask_state(const char *);
void	 rpc_send_fwd(struct rpc_conn *, int, const struct rpc_fwd *);

/* forward.c */
void	 forward_init(struct child *);
int	 forward_request(struct imsgev *, struct imsg *, int, int);
void	 forward_fail(struct imsgev *, uint32_t, uint32_t, const char *);
void	 forward_cancel(struct imsgev *, uint32_t);
int	 forward_reply(struct rpc_conn *, const struct rpc_fwd *);
int	 forward_serve(struct rpc_conn *, const struct rpc_fwd *);
int	 forward_serve_cancel(struct rpc_conn *, const struct rpc_fwd *);
void	 forward_conn_gone(struct rpc_conn *);
void	 dc_request(struct imsgev *, struct imsg *);
uint32_t dc_request_type(const void *, size_t);
void	 request_dispatch(struct imsgev *, struct imsg *);

/* A server of this datacenter, as gossip shows it. */
struct member_server {
	const char		*name;
	char			 id[RAFT_ID_MAX];
	char			 addr[RAFT_ADDR_MAX];	/* its RPC address */
	uint64_t		 status;		/* 1 alive .. 4 failed */
	int			 expect;		/* bootstrap_expect */
};
void	 members_servers(void (*)(void *, const struct member_server *),
	    void *);
int	 members_server_addr(const char *, char *, size_t);

/* serf_snapshot.c */
void	 serf_snapshot_changed(uint8_t, int, uint64_t);
void	 serf_snapshot_rejoin(struct child *);

/* node.c */
#define NODE_NO_SPACE	"failed to persist the Raft log: no space left on device"
void	 node_start(struct raftd *);
void	 node_schedule_flush(struct raftd *);
void	 node_expect_check(struct raftd *);
uint64_t node_last_contact_ms(struct raftd *);
void	 node_expect_answer(struct raftd *, const char *, int, uint64_t,
	    char (*)[RAFT_ID_MAX], size_t);
int	 node_is_leader(struct raftd *);
int	 node_read_lease(struct raftd *);
uint64_t node_tick_ms(void);
uint64_t node_now_ms(void);
uint64_t node_heartbeat_ms(struct raftd *);
const char *node_leader_addr(struct raftd *);
uint64_t node_propose(struct raftd *, const void *, size_t);

/* fsm.c */
int	 fsm_apply(struct raftd *, DB_TXN *, const struct raft_entry *);
void	 fsm_deliver(struct raftd *);
void	 fsm_discard(struct raftd *, const char *);
int	 fsm_encode_kv_txn(struct kv_op *, size_t, void **, size_t *);

/* kv.c */
void	 kv_read_request(struct imsgev *, struct imsg *);
void	 kv_write_request(struct imsgev *, struct imsg *);
void	 kv_answer(struct imsgev *, uint32_t, struct kv_read *);
void	 kv_read_free(struct kv_read *);
int	 kv_read_parse(const void *, size_t, struct kv_read *);
int	 kv_write_decode(const void *, size_t, struct kv_op **, uint32_t *,
	    char *, size_t);
void	 kv_ops_free(struct kv_op *, uint32_t);
void	 read_end(struct imsgev *, uint32_t, uint64_t, int, const char *);
int	 acl_anonymous(const char *);
void	 read_end_acl(struct imsgev *, uint32_t, uint64_t, int, int, int);
void	 read_end_served(struct imsgev *, uint32_t, uint64_t, int,
	    const char *, int);
int	 read_route(struct imsgev *, struct imsg *, int, uint64_t, int);
void	 kv_write_error(struct imsgev *, uint32_t, const char *);

/* snapshot.c */
int	 snapshot_build(struct raftd *, struct snapshot_writer *, uint64_t *,
	    uint64_t *);
void	 snapshot_maybe_compact(struct raftd *);
const char *snapshot_restore(struct raftd *, const void *, size_t);
void	 snapshot_request(struct imsgev *, struct imsg *);
void	 snapshot_data(struct imsgev *, struct imsg *);
void	 snapshot_restore_request(struct imsgev *, struct imsg *);

/* gossip.c */
void	 gossip_relay_request(struct imsgev *, struct imsg *);
void	 gossip_relay_result(struct imsgev *, struct imsg *);
void	 keyring_send_init(struct child *);
int	 keyring_in_use(uint8_t);
void	 keyring_save(struct imsgev *, struct imsg *);

/* events.c */
void	 user_event_arrived(struct imsgev *, struct imsg *);
void	 user_event_list_request(struct imsgev *, struct imsg *);
void	 user_event_cancel(struct imsgev *, uint32_t);

/* catalog.c */
struct cat_read_args {
	int			 query;		/* enum cat_query */
	char			 arg[1024 + 1];	/* CAT_STR_MAX */
	char			 token[1024 + 1];	/* the caller's secret */
	uint64_t		 min_index;
	uint64_t		 wait_ms;
	int			 consistency;
	uint64_t		 max_stale_ms;
};
int	 cat_read_parse(const void *, size_t, struct cat_read_args *);
void	 cat_read_pack(msgpack_packer *, int, const char *, uint64_t,
	    uint64_t, int, uint64_t, const char *);
int	 cat_write_parse(const void *, size_t, int *);
int	 cat_write_token(const void *, size_t, char *, size_t);
void	 cat_read_request(struct imsgev *, struct imsg *);
void	 cat_write_request(struct imsgev *, struct imsg *);
int	 cat_apply(struct raftd *, DB_TXN *, uint64_t, const msgpack_object *,
	    struct kv_txn_result *);
void	 cat_watch_deliver(struct raftd *);
uint64_t cat_propose(struct raftd *, int, const struct mpack_out *);

/* local.c */
struct agent_service;
struct agent_check;
void	 local_start(void);
void	 local_reload(void);
void	 local_request(struct imsgev *, struct imsg *);
void	 local_check_result(struct imsgev *, struct imsg *);
void	 local_tick(void);
uint64_t local_state_version(void);
void	 local_services(void (*)(void *, const struct agent_service *),
	    void *);
void	 local_checks(void (*)(void *, const struct agent_check *), void *);
const char *local_service_token(const char *);
const char *local_check_token(const char *);

/* session.c */
struct cat_session;
void	 session_start(void);
void	 session_created(const struct cat_session *);
void	 session_gone(void *, const char *);
uint64_t session_renew(const struct cat_session *);
void	 session_lock_delay(void *, const char *, size_t, uint64_t);
int	 session_lock_delayed(const char *, size_t);
void	 session_reset(void);

/* dnsfeed.c */
void	 dnsfeed_init(struct child *);
void	 dnsfeed_start(struct child *);
void	 dnsfeed_token_changed(void);

/* dnsremote.c */
void	 dnsremote_init(struct child *);
void	 dnsremote_request(struct imsgev *, struct imsg *);

/* antientropy.c */
void	 ae_init(struct child *);
void	 ae_start(struct child *);
void	 ae_schedule(void);

/* coord.c */
struct coord;
void	 coord_sync_init(struct child *);
void	 coord_sync_start(struct child *);
void	 coord_gossip(struct imsgev *, struct imsg *);
void	 coord_member_gone(uint8_t, const char *);
void	 coord_batch_request(struct imsgev *, struct imsg *);
/* Our coordinate in a pool (0 LAN, 1 WAN). */
const struct coord *coord_self(int);
/* A WAN member's latest coordinate: 0, or -1 if none is known. */
int	 coord_wan_get(const char *, struct coord *);

/* acl.c */
int	 acl_query_is(int);
int	 acl_item_valid(const msgpack_object *, int);
uint64_t acl_query_index(int);
int	 acl_read(int, const char *, const char *,
	    void (*)(void *, struct mpack_out *), void *, int *);
int	 acl_write_prepare(const void *, size_t, struct mpack_out *, char *,
	    size_t);
int	 acl_check_query(int, const char *, char *, size_t);
struct acl_authz;
int	 acl_enabled(void);
uint64_t acl_wall_ns(void);
int	 acl_authz_get(const char *, const struct acl_authz **, char *,
	    size_t);
int	 acl_authz_local(const char *, const struct acl_authz **, char *,
	    size_t);
int	 acl_check_write(const void *, size_t, const char *, char *, size_t);
const char *acl_dns_token(void);
void	 acl_leader_check(struct raftd *);
void	 acl_check_arg(const char *, const char *, char *, size_t);
int	 acl_write_global(const void *, size_t);
void	 acl_write_to_primary(struct imsgev *, struct imsg *);

/* acl_replicate.c: what GET /v1/acl/replication shows. */
struct acl_repl_status {
	int		 enabled;
	int		 running;
	char		 source_dc[64];
	char		 type[16];	/* "policies", "tokens" */
	uint64_t	 index;		/* policies */
	uint64_t	 role_index;
	uint64_t	 token_index;
	uint64_t	 last_success;	/* unix ns, 0 never */
	uint64_t	 last_error;
	char		 last_error_msg[192];
};
void	 acl_replication_init(struct child *);
void	 acl_replication_tick(struct raftd *);
void	 acl_replication_status(struct acl_repl_status *);

/* acl_agent.c: resolution for the agent's endpoints (authz NULL: err) */
typedef void (*acl_resolved_fn)(void *, const struct acl_authz *,
    const char *);
void	 acl_agent_init(struct child *);
void	 acl_resolve_async(const char *, acl_resolved_fn, void *);
void	 acl_authz_request(struct imsgev *, struct imsg *);
int	 acl_resolve_emit(const char *, const char *,
	    void (*)(void *, struct mpack_out *), void *, int *);
int	 acl_remote_mode(void);
int	 acl_remote_cached(const char *, const struct acl_authz **);
int	 acl_remote_wait(const char *, struct imsgev *, struct imsg *);

/* acl_tokens.c: the agent's tokens, as configured or set by the API */
const char *acl_token(const char *);
const char *acl_token_agent(void);
void	 acl_tokens_load(struct child *);
void	 acl_token_set_request(struct imsgev *, struct imsg *);

/* reconcile.c */
void	 reconcile_check(struct raftd *);
void	 cat_watch_wake_all(void);
void	 cat_watch_cancel(struct imsgev *, uint32_t);

/* readindex.c */
int	 readindex_wait(struct raftd *, struct imsgev *, struct imsg *);
void	 readindex_states(const struct raft_read_state *, size_t);
void	 readindex_release(struct raftd *);
void	 readindex_cancel(struct imsgev *, uint32_t);

/* watch.c */
void	 watch_add(struct raftd *, struct imsgev *, uint32_t,
	    struct kv_read *);
void	 watch_cancel(struct raftd *, struct imsgev *, uint32_t);
void	 watch_kv_changed(void *, const char *, size_t);
void	 watch_deliver(struct raftd *);

/* query_acl.c */
struct cat_pquery;
int	 query_acl_check_write(int, const msgpack_object *, const char *,
	    char *, size_t);
int	 query_acl_readable(const struct acl_authz *, struct cat_pquery *);

#endif
