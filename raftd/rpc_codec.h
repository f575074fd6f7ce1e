/*
 * The server RPC wire (:8300): a stream of frames, each a 4-byte
 * big-endian length and that many bytes of MessagePack, an array whose
 * first item is the frame's type:
 *
 *   HELLO  [1, version, datacenter, node id]	first, both ways
 *   RAFT   [2, type, from, to, term, log_term, index, commit, reject,
 *	     reject_hint, ctx, transfer, [entry...], snapshot|nil]
 *	    entry [index, term, type, data (bin)]
 *	    snapshot [index, term, conf (bin, raft_conf_encode())]
 *   FWD    [3, fid, imsg type, payload (bin)]	a request, forwarded
 *   REPLY  [4, fid, imsg type, payload (bin)]	one of its answers
 *   CANCEL [5, fid]				its client went away
 *   ASK    [6]			has the server Raft state?  (bootstrap)
 *   STATE  [7, has_state, last_index, [server id...]]
 *				its answer, on the same connection
 *   SNAP   [8, index, term, offset, total, bytes (bin)]
 *				a piece of the leader's snapshot file, sent
 *				before the RAFT frame that installs it
 *
 * RAFT frames go only from a server's own connection to a peer; FWD and
 * CANCEL go the same way, from any agent to a server, and REPLY frames
 * come back on the connection their request took.  The payload of a
 * forwarded request or answer is that of the imsg of the same type
 * between apid and raftd (imsg_types.h), checked again on arrival.
 *
 * A connection carries frames both ways and any number of them in
 * flight; a peer that sends anything malformed, oversized, of another
 * datacenter or before its HELLO is dropped.  Decoders check every
 * type and bound and point into the unpacked frame; nothing is trusted.
 */
#ifndef CONSULD_RPC_CODEC_H
#define CONSULD_RPC_CODEC_H

#include <msgpack.h>

#include "raft.h"

#define RPC_VERSION		1
#define RPC_FRAME_MAX		(RAFT_UNSTABLE_MAX + 1024 * 1024)
#define RPC_HDR			4
#define RPC_DC_MAX		128

enum rpc_frame_type {
	RPC_HELLO = 1,
	RPC_RAFT = 2,
	RPC_FWD = 3,
	RPC_REPLY = 4,
	RPC_CANCEL = 5,
	RPC_ASK = 6,
	RPC_STATE = 7,
	RPC_SNAP = 8
};

#define RPC_SNAP_CHUNK		(1024 * 1024)

/* FWD, REPLY or CANCEL; data points into the unpacked frame. */
struct rpc_fwd {
	uint32_t		 fid;
	uint32_t		 type;
	const void		*data;
	size_t			 len;
};

struct rpc_hello {
	uint32_t		 version;
	char			 dc[RPC_DC_MAX];
	char			 id[RAFT_ID_MAX];
};

/* The frame's type; -1 if it is not one of ours. */
int	 rpc_frame_type(const msgpack_object *);
int	 rpc_hello_unpack(const msgpack_object *, struct rpc_hello *);
void	 rpc_hello_pack(msgpack_packer *, const char *, const char *);
/*
 * A RAFT frame.  The message's entries (an array the caller frees with
 * rpc_msg_free) point into the unpacked object, and so does nothing
 * else; the snapshot's conf is decoded (freed with it too).
 */
int	 rpc_msg_unpack(const msgpack_object *, struct raft_msg *);
void	 rpc_msg_free(struct raft_msg *);
int	 rpc_msg_pack(msgpack_packer *, const struct raft_msg *);
int	 rpc_fwd_unpack(const msgpack_object *, struct rpc_fwd *);
void	 rpc_fwd_pack(msgpack_packer *, int, const struct rpc_fwd *);

#endif
