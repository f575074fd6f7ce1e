/*
 * Every message that crosses between consuld's processes, one enum.
 * Each entry says its payload and direction; receivers check the length
 * of every message against what is written here before they use it.
 */
#ifndef CONSULD_IMSG_TYPES_H
#define CONSULD_IMSG_TYPES_H

#include <stdint.h>

enum imsg_type {
	IMSG_NONE,

	/* parent -> child: msgpack config (config_pack). */
	IMSG_CTL_CONFIG,
	/* parent -> child: a descriptor; struct imsg_socket. */
	IMSG_CTL_SOCKET,
	/* parent -> child: nothing more to hand over; no payload. */
	IMSG_CTL_START,
	/* child -> parent: sandboxed and serving; no payload. */
	IMSG_CTL_READY,
	/* parent -> child: SIGHUP; msgpack config of the reload. */
	IMSG_CTL_RELOAD,

	/* apid -> raftd: GET /v1/agent/self; peerid = request; none. */
	IMSG_AGENT_SELF_REQ,
	/* raftd -> apid: msgpack map of agent facts; peerid = request. */
	IMSG_AGENT_SELF,
	/* apid -> raftd: GET /v1/status/leader; peerid = request; none. */
	IMSG_STATUS_LEADER_REQ,
	/* raftd -> apid: struct imsg_status_leader; peerid = request. */
	IMSG_STATUS_LEADER,

	/*
	 * apid -> raftd: a KV read; peerid = request; msgpack
	 * [key, mode (enum kv_read_mode), separator|nil, min_index,
	 * wait_ms, consistency (enum kv_consistency), max_stale_ms].  Answered by IMSG_KV_ITEMs and one
	 * IMSG_READ_END, possibly after blocking.
	 */
	IMSG_KV_READ,
	/* raftd -> apid: one result: a packed kv_pair, or a key (keys). */
	IMSG_KV_ITEM,
	/* raftd -> apid: end of a read; struct imsg_read_end. */
	IMSG_READ_END,
	/* apid -> raftd: KV operations, msgpack array of kv_op. */
	IMSG_KV_WRITE,
	/*
	 * raftd -> apid: outcome of a write, msgpack [ok, error|nil,
	 * index, failed_op, what|nil, [[pair, with_value]...]].
	 */
	IMSG_WRITE_RESULT,
	/* apid -> raftd: the client of a parked read went away; none. */
	IMSG_REQ_CANCEL,
	/*
	 * apid -> raftd: GET /v1/snapshot; uint8_t stale.  Answered by
	 * IMSG_SNAPSHOT_DATA chunks and an IMSG_READ_END.
	 */
	IMSG_SNAPSHOT_SAVE,
	/* either way: a chunk of snapshot bytes; peerid = request. */
	IMSG_SNAPSHOT_DATA,
	/* apid -> raftd: the upload is whole, restore it; none. */
	IMSG_SNAPSHOT_RESTORE,
	/* raftd -> gossipd: the node id, NUL-terminated; once, at start. */
	IMSG_NODE_ID,
	/*
	 * gossipd -> raftd: a member changed; msgpack [pool (0 LAN, 1 WAN),
	 * name, ip, port, {tags}, status (1 alive .. 4 failed, 0 reaped)].
	 */
	IMSG_MEMBER,
	/* apid -> raftd: GET /v1/agent/members; uint8_t wan.  Answered by
	 * IMSG_MEMBER items (same encoding) and an IMSG_READ_END. */
	IMSG_MEMBERS_REQ,
	/* apid -> raftd: GET /v1/status/peers; none. */
	IMSG_STATUS_PEERS_REQ,
	/* raftd -> apid: msgpack array of "ip:port" strings. */
	IMSG_STATUS_PEERS,

	/*
	 * Gossip operations asked through the HTTP API.  apid -> raftd ->
	 * gossipd, relayed unchanged by raftd (which checks only the
	 * length, at most IMSG_GOSSIP_MAX); peerid = apid's request.  A
	 * msgpack map with string keys; "op" says which:
	 *   {"op":"join", "addr":"ip[:port]", "wan":bool}
	 *	-> {"n":joined (0|1), "error":str}
	 *	   answered once the push-pull reply arrived or failed.
	 *   {"op":"leave"}
	 *	-> {"error":str} once every pool has left; gossipd then
	 *	   sends IMSG_CTL_LEFT to the parent, which shuts down.
	 *   {"op":"force-leave", "node":str, "prune":bool, "wan":bool}
	 *	-> {"error":str}  ("" when done; an unknown node is an error)
	 *   {"op":"event", "id":str (uuid), "name":str, "payload":bin|nil,
	 *    "node":str, "service":str, "tag":str}
	 *	-> {"error":str}  broadcast on the LAN pool
	 *   {"op":"keyring", "action":"list"|"install"|"use"|"remove",
	 *    "key":str, "local_only":bool, "relay_factor":uint}
	 *	-> {"error":str, "pools":[{"wan":bool, "dc":str,
	 *	    "keys":{key:count}, "primary":{key:count},
	 *	    "num_nodes":uint, "num_resp":uint, "num_err":uint,
	 *	    "messages":{node:str}, "error":str}...]}
	 * The answer is IMSG_GOSSIP_RESULT, gossipd -> raftd -> apid, same
	 * peerid.  "error" non-empty means the operation failed (HTTP 500
	 * with that text, 400 when "bad":true is also set).  apid words a
	 * keyring write whose pools report failures as Consul does, from
	 * the pools' "error" and "messages"; a list shows them per pool.
	 */
	IMSG_GOSSIP_REQ,
	IMSG_GOSSIP_RESULT,
	/*
	 * gossipd -> raftd: a user event arrived (ours too), once each;
	 * msgpack [id, name, payload (bin|nil), node_filter,
	 * service_filter, tag_filter, ltime].  raftd applies the filters
	 * and keeps the last EVENT_RING_MAX for /v1/event/list.
	 */
	IMSG_USER_EVENT,
	/*
	 * raftd -> gossipd, at start before IMSG_NODE_ID, once per pool:
	 * msgpack [pool (0 LAN, 1 WAN), contents of serf/local.keyring
	 * (LAN) or serf/remote.keyring (WAN) as bin, or nil: no file].
	 */
	IMSG_KEYRING_INIT,
	/*
	 * gossipd -> raftd: the pool's keyring changed (or was created
	 * from `encrypt`); msgpack [pool, JSON file contents as bin].
	 * raftd writes it atomically (temporary file, rename).
	 */
	IMSG_KEYRING_SAVE,
	/*
	 * raftd -> gossipd, at start before IMSG_NODE_ID, at most once per
	 * pool: msgpack [pool, ["ip:port"...]], the members of the gossip
	 * snapshot to join again.
	 */
	IMSG_GOSSIP_REJOIN,
	/* parent -> gossipd: leave every pool gracefully; none. */
	IMSG_CTL_LEAVE,
	/* gossipd -> parent: the leave is complete; none. */
	IMSG_CTL_LEFT,
	/*
	 * apid -> raftd: GET /v1/event/list; msgpack [name|"", node,
	 * service, tag (filters, "" for none), index, wait_ms, the
	 * caller's secret (ACLs: only events it may read)].  Answered
	 * by IMSG_USER_EVENT items (the encoding above) and an
	 * IMSG_READ_END whose index is the list's, maybe after blocking.
	 */
	IMSG_EVENT_LIST_REQ,
	/*
	 * apid -> raftd: GET /v1/operator/raft/configuration; uint8_t
	 * stale.  Forwarded like a read.  Answered by IMSG_RAFT_CONF:
	 * msgpack {"error": str, "index": uint, "term": uint, "servers":
	 * [[id, node, address, leader (bool), voter (bool), last log
	 * index (0 unknown), ms since last heard (-1 unknown), serf status
	 * name, healthy (bool), healthy/unhealthy since (unix s, 0
	 * unknown)]...]}; /v1/operator/autopilot/health reads it too.
	 */
	IMSG_RAFT_CONF_REQ,
	IMSG_RAFT_CONF,
	/*
	 * apid -> raftd: DELETE /v1/operator/raft/peer, POST
	 * /v1/operator/raft/transfer-leader; msgpack [op (1 remove, 2
	 * transfer), id, address] ("" for what is not given).  Run on the
	 * leader.  Answered by IMSG_RAFT_OP: msgpack {"error": str, "id":
	 * str} (the removed server, or the new leader).
	 */
	IMSG_RAFT_OP_REQ,
	IMSG_RAFT_OP,

	/*
	 * apid -> raftd: PUT /v1/catalog/register and deregister; msgpack
	 * [op (enum cat_write_op), packed cat_register or cat_deregister].
	 * Run on the leader through Raft like a KV write and answered by
	 * IMSG_WRITE_RESULT (ok, or false with the reason).
	 */
	IMSG_CAT_WRITE,
	/*
	 * apid -> raftd: a catalog read; msgpack [query (enum cat_query),
	 * argument (str: node or service name, "" if none), min_index,
	 * wait_ms, consistency, max_stale_ms].  Answered by IMSG_CAT_ITEMs
	 * (their shape by query, see enum cat_query) and one
	 * IMSG_READ_END (found = 0: no such node), maybe after blocking.
	 */
	IMSG_CAT_READ,
	IMSG_CAT_ITEM,

	/*
	 * apid -> raftd: the agent's own services and checks; msgpack
	 * [op (enum local_op), ..., the caller's token] (see raftd/local.c;
	 * the token is the last element of every request, "" for none; a
	 * LOCAL_SERVICES may name one service: [op, id, token]).  Answered by
	 * IMSG_LOCAL_RESULT: msgpack {"code": HTTP status, "error": str,
	 * "data": nil | [agent_service...] | [agent_check...]}.
	 */
	IMSG_LOCAL_REQ,
	IMSG_LOCAL_RESULT,

	/* raftd <-> checkd, see check_proto.h. */
	IMSG_CHECK_SET,
	IMSG_CHECK_DEL,
	IMSG_CHECK_RESULT,

	/*
	 * apid -> raftd: a request for another datacenter (?dc=); msgpack
	 * [datacenter, type, bin: the request's own payload].  Answered as
	 * that type's request is.  Also forwarded, as is, from a client
	 * agent to a server of its own datacenter.
	 */
	IMSG_DC_REQ,

	/* raftd -> dnsd: the health view, see dns_proto.h. */
	IMSG_DNS_BEGIN,
	IMSG_DNS_NODE,
	IMSG_DNS_NODE_DEL,
	IMSG_DNS_END,
	IMSG_DNS_QUERY,
	IMSG_DNS_QUERY_DEL,

	/*
	 * Script checks, see check_proto.h: raftd registers them with the
	 * parent (IMSG_SCRIPT_SET, IMSG_SCRIPT_DEL), the parent has checkd
	 * schedule them (IMSG_CHECK_SET and IMSG_CHECK_DEL, parent ->
	 * checkd), checkd asks for a run when one is due
	 * (IMSG_SCRIPT_RUN) and the parent answers with its outcome
	 * (IMSG_SCRIPT_RESULT).
	 */
	IMSG_SCRIPT_SET,
	IMSG_SCRIPT_DEL,
	IMSG_SCRIPT_RUN,
	IMSG_SCRIPT_RESULT,

	/*
	 * apid -> parent: PUT /v1/agent/reload; peerid = request; none.
	 * Answered by IMSG_AGENT_RELOADED, msgpack {"error": str} ("" when
	 * the configuration was reloaded), once every child has applied it.
	 */
	IMSG_AGENT_RELOAD,
	IMSG_AGENT_RELOADED,
	/* child -> parent: an IMSG_CTL_RELOAD was applied; none. */
	IMSG_CTL_RELOAD_DONE,

	/*
	 * Network coordinates.  gossipd -> raftd, after each probe a peer
	 * answered with its coordinate: msgpack [pool (0 LAN, 1 WAN), our
	 * coordinate in that pool, peer name, the peer's coordinate], each
	 * coordinate as coord_pack() encodes it (common/coordinate.h).
	 */
	IMSG_COORD_GOSSIP,

	/*
	 * parent -> raftd and apid, before IMSG_CTL_START and before each
	 * IMSG_CTL_RELOAD: the TLS files' bytes, msgpack [rpc, https], each
	 * [ca, cert, key] as bin, empty when not set (tls_material_pack).
	 * The receiver wipes the key once libtls holds it.
	 */
	IMSG_CTL_TLS,

	/*
	 * DNS names of another datacenter, see dns_proto.h.  dnsd ->
	 * raftd: peerid = dnsd's request; msgpack [datacenter, kind (enum
	 * dns_remote_kind), name].  raftd -> dnsd, same peerid: the
	 * IMSG_CAT_ITEMs of the read, as IMSG_DNS_REMOTE_ITEMs, then one
	 * IMSG_DNS_REMOTE_END: msgpack [outcome (enum dns_remote_outcome),
	 * error str].
	 */
	IMSG_DNS_REMOTE_REQ,
	IMSG_DNS_REMOTE_ITEM,
	IMSG_DNS_REMOTE_END,

	/*
	 * apid -> raftd: the authorizer of a secret, for the agent's own
	 * endpoints; peerid = request; the secret's bytes (none: the
	 * anonymous token), at most ACL_STR_MAX.  Answered by IMSG_ACL_AUTHZ:
	 * msgpack [found (bool), packed acl_authz | nil] (acl_codec.h);
	 * not found is "ACL not found".  A client agent asks a server and
	 * caches the answer (raftd/acl_agent.c).
	 */
	IMSG_ACL_AUTHZ_REQ,
	IMSG_ACL_AUTHZ,
	/*
	 * apid -> raftd: PUT /v1/agent/token/<kind>; msgpack [kind, token].
	 * raftd takes it (and saves it with enable_token_persistence) and
	 * answers IMSG_AGENT_TOKEN with msgpack {"error": str}.  raftd ->
	 * apid, at start, peerid 0: the persisted tokens, msgpack [[kind,
	 * token]...], answered by nothing.
	 */
	IMSG_AGENT_TOKEN_SET,
	IMSG_AGENT_TOKEN,

	IMSG_TYPE_MAX
};

#define IMSG_GOSSIP_MAX		(64 * 1024)
/* Coordinate updates in one CAT_WRITE_COORD_BATCH. */
#define COORD_BATCH_MAX		512
#define EVENT_RING_MAX		256	/* user events kept by an agent */
/* The default and longest wait of a blocking /v1/event/list. */
#define EVENT_WAIT_MAX_MS	(600 * 1000)

enum local_op {
	LOCAL_SERVICES = 1,		/* [op] */
	LOCAL_CHECKS,			/* [op] */
	LOCAL_SERVICE_REGISTER,		/* [op, service, [checks], replace] */
	LOCAL_SERVICE_DEREGISTER,	/* [op, id] */
	LOCAL_CHECK_REGISTER,		/* [op, check] */
	LOCAL_CHECK_DEREGISTER,		/* [op, id] */
	LOCAL_CHECK_UPDATE,		/* [op, id, status, output|nil] */
	LOCAL_SERVICE_MAINT,		/* [op, id, enable, reason] */
	LOCAL_NODE_MAINT		/* [op, "", enable, reason] */
};

enum cat_write_op {
	CAT_WRITE_REGISTER = 1,
	CAT_WRITE_DEREGISTER,
	CAT_WRITE_SESSION_CREATE,	/* packed cat_session */
	CAT_WRITE_SESSION_DESTROY,	/* the session ID (str) */
	CAT_WRITE_PQUERY_SET,		/* packed cat_pquery */
	CAT_WRITE_PQUERY_DELETE,	/* the query ID (str) */
	/*
	 * [[node, segment, coordinate]...], at most COORD_BATCH_MAX: from
	 * an agent or PUT /v1/coordinate/update, queued by the leader and
	 * applied in one Raft entry per interval (raftd/coord.c).  Nodes
	 * not in the catalog are skipped.
	 */
	CAT_WRITE_COORD_BATCH,
	/*
	 * An ACL change, raftd/acl_state.h's [op, arg, n].  The leader
	 * puts the reset index of data_dir/acl-bootstrap-reset into the n
	 * of a bootstrap, and proposes the built-ins itself.
	 */
	CAT_WRITE_ACL
};

/* Catalog reads, and the IMSG_CAT_ITEMs each answers with. */
enum cat_query {
	CAT_Q_NODES,		/* packed cat_node, by name */
	CAT_Q_SERVICES,		/* [name, [tags...]], by name */
	CAT_Q_SERVICE,		/* [packed cat_node, packed cat_service] */
	CAT_Q_NODE,		/* [0, packed cat_node], then [1, service]s */
	CAT_Q_HEALTH_NODE,	/* packed cat_check: the node's checks */
	CAT_Q_HEALTH_CHECKS,	/* packed cat_check: a service's checks */
	CAT_Q_HEALTH_SERVICE,	/* [node, service, [checks: node's, its]] */
	CAT_Q_HEALTH_STATE,	/* packed cat_check in that state ("any") */
	CAT_Q_SESSION_INFO,	/* packed cat_session: the one with that ID */
	CAT_Q_SESSION_NODE,	/* packed cat_session: the node's */
	CAT_Q_SESSION_LIST,	/* packed cat_session: all, by ID */
	/*
	 * The leader restarts the session's TTL and answers with it, as
	 * CAT_Q_SESSION_INFO; never stale, never blocking.
	 */
	CAT_Q_SESSION_RENEW,
	/* Each node with its health and instances: an IMSG_DNS_NODE. */
	CAT_Q_DNS_VIEW,
	/* str: the datacenters known, this one first (WAN gossip). */
	CAT_Q_DATACENTERS,
	/* packed cat_pquery: every prepared query; the one with that ID;
	 * the one with that ID or name. */
	CAT_Q_PQUERY_LIST,
	CAT_Q_PQUERY_GET,
	CAT_Q_PQUERY_LOOKUP,
	CAT_Q_INSTANCES,	/* [packed cat_node, packed cat_service]: every
				   instance, by service name */
	/* [node, segment, coordinate]: every node's LAN coordinate. */
	CAT_Q_COORD_NODES,
	/* [node, segment, coordinate]: the named node's (none: not found). */
	CAT_Q_COORD_NODE,
	/*
	 * [datacenter, [[server, coordinate]...]]: the WAN coordinates of
	 * the servers of each datacenter, from this server's WAN pool.
	 */
	CAT_Q_COORD_DCS,
	/*
	 * [node, service, [checks: node's, its]]: every instance, node by
	 * node, as CAT_Q_HEALTH_SERVICE gives one service's (the web UI's
	 * service summaries).
	 */
	CAT_Q_HEALTH_DUMP,
	/*
	 * As CAT_Q_DNS_VIEW, for another datacenter's DNS names: each node
	 * with an instance of the service named; the node named.
	 */
	CAT_Q_DNS_SERVICE,
	CAT_Q_DNS_NODE,
	/*
	 * No items; found = 1 if WAN gossip knows a server (alive or not)
	 * of the datacenter named.  Answered by any server.
	 */
	CAT_Q_DC_KNOWN,
	/*
	 * ACL objects.  A token is [packed acl_token, [[policy ID, name]
	 * ...], [[role ID, name]...]] (links to what is gone left out),
	 * a role [packed acl_role, [[policy ID, name]...]], a policy a
	 * packed acl_policy.  One by AccessorID, by SecretID, or all;
	 * a policy or role by ID, by name, or all.
	 */
	CAT_Q_ACL_TOKEN,
	CAT_Q_ACL_TOKEN_SECRET,
	CAT_Q_ACL_TOKENS,
	CAT_Q_ACL_POLICY,
	CAT_Q_ACL_POLICY_NAME,
	CAT_Q_ACL_POLICIES,
	CAT_Q_ACL_ROLE,
	CAT_Q_ACL_ROLE_NAME,
	CAT_Q_ACL_ROLES,
	/*
	 * No items; the read's error is "" when the token grants the right
	 * named by the argument, "<resource> <level> <name>" (numbers of
	 * enum acl_resource and enum acl_level, then the name, maybe ""),
	 * else the 403 text: apid's check before an endpoint that needs
	 * one right (event fire, operator, keyring, snapshot).  Stale: any
	 * server answers.
	 */
	CAT_Q_ACL_CHECK,
	/*
	 * Every prepared query, tokens included, for running them (a
	 * template's match, DNS); CAT_Q_PQUERY_LIST is what the caller may
	 * read, tokens hidden from all but ACL writers.
	 */
	CAT_Q_PQUERY_ALL,
	/*
	 * As CAT_Q_DNS_SERVICE, arg "<query ID>/<service>": the service as
	 * that prepared query's Token (else the reader's) may read it.
	 */
	CAT_Q_DNS_QUERY,
	/*
	 * [enabled, running, source dc, type, index, role index, token
	 * index, last success ns, last error ns, last error message]: the
	 * ACL replication of this datacenter's leader.
	 */
	CAT_Q_ACL_REPLICATION,
	/*
	 * A client agent resolving the secret in the read's token element
	 * (argument "-"): one [packed acl_authz] item, or found = 0 when no
	 * token has that secret ("ACL not found").
	 */
	CAT_Q_ACL_RESOLVE,
	CAT_Q_MAX
};

enum kv_read_mode {
	KV_READ_SINGLE,
	KV_READ_RECURSE,
	KV_READ_KEYS
};

/* How a read is served: ?stale, default (leader) or ?consistent. */
enum kv_consistency {
	KV_CONS_DEFAULT,
	KV_CONS_STALE,
	KV_CONS_CONSISTENT
};

/* The metadata of every read answer: X-Consul-* and errors. */
struct imsg_read_end {
	uint64_t	 index;
	uint64_t	 last_contact_ms;
	uint8_t		 known_leader;
	uint8_t		 found;
	uint8_t		 consistency;	/* enum kv_consistency served */
	uint8_t		 filtered;	/* ACLs hid some results */
	uint8_t		 pad[4];
	char		 error[192];	/* "" or a 500 reason */
};

/* What a descriptor passed with IMSG_CTL_SOCKET is. */
enum imsg_socket_kind {
	SOCKET_PEER,		/* socketpair end; peer = enum proc_id */
	SOCKET_HTTP,		/* listening TCP or unix stream socket */
	SOCKET_HTTPS,
	SOCKET_DNS_UDP,
	SOCKET_DNS_TCP,
	SOCKET_SERF_LAN_UDP,
	SOCKET_SERF_LAN_TCP,
	SOCKET_SERF_WAN_UDP,
	SOCKET_SERF_WAN_TCP,
	SOCKET_SERVER_RPC,
	SOCKET_KIND_MAX
};

struct imsg_socket {
	uint32_t	 kind;		/* enum imsg_socket_kind */
	uint32_t	 peer;		/* enum proc_id for SOCKET_PEER */
};

struct imsg_status_leader {
	uint8_t		 known;		/* a leader is known */
	char		 addr[64];	/* "ip:port", NUL-terminated */
};

#endif
