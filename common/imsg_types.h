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
	 * wait_ms, stale].  Answered by IMSG_KV_ITEMs and one
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

	IMSG_TYPE_MAX
};

enum kv_read_mode {
	KV_READ_SINGLE,
	KV_READ_RECURSE,
	KV_READ_KEYS
};

/* The metadata of every read answer: X-Consul-* and errors. */
struct imsg_read_end {
	uint64_t	 index;
	uint64_t	 last_contact_ms;
	uint8_t		 known_leader;
	uint8_t		 found;
	uint8_t		 pad[6];
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
