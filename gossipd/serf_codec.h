/*
 * What gossipd carries in the SWIM core's user messages, as Serf does on
 * memberlist: user events, queries and their responses, relayed
 * responses, and prune intents.  Each is one MessagePack array whose
 * first item is its type:
 *
 *   EVENT     [1, ltime, id, name, payload (bin|nil), node, service, tag]
 *   QUERY     [2, ltime, qid, origin, ip, port, timeout_ms, name, payload]
 *   RESPONSE  [3, ltime, qid, from, payload]
 *   RELAY     [4, ip, port, message (bin)]	send message on to ip:port
 *   PRUNE     [5, ltime, node]			forget a member that left
 *
 * ltime is the sender's Lamport clock; ip is bin of 4 or 16 bytes;
 * payloads are bin.  Decoders take extra trailing items and check
 * every type and bound; nothing is trusted.
 */
#ifndef CONSULD_SERF_CODEC_H
#define CONSULD_SERF_CODEC_H

#include <msgpack.h>

#include "swim.h"

#define SERF_NAME_MAX		256	/* an event or query name, NUL */
#define SERF_FILTER_MAX		256	/* an event's filter, NUL */
#define SERF_ID_MAX		40	/* an event id, NUL */
#define SERF_PAYLOAD_MAX	SWIM_USER_MAX

enum serf_type {
	SERF_EVENT = 1,
	SERF_QUERY = 2,
	SERF_RESPONSE = 3,
	SERF_RELAY = 4,
	SERF_PRUNE = 5
};

enum serf_filter {
	SERF_FILTER_NODE,
	SERF_FILTER_SERVICE,
	SERF_FILTER_TAG,
	SERF_FILTERS
};

struct serf_msg {
	enum serf_type		 type;
	uint64_t		 ltime;
	uint32_t		 qid;		/* QUERY, RESPONSE */
	uint32_t		 timeout_ms;	/* QUERY */
	struct swim_addr	 addr;		/* QUERY origin, RELAY to */
	char			 node[SWIM_NAME_MAX]; /* origin, from, pruned */
	char			 id[SERF_ID_MAX];		/* EVENT */
	char			 name[SERF_NAME_MAX];	/* EVENT, QUERY */
	char			 filter[SERF_FILTERS][SERF_FILTER_MAX];
	/* Into the unpacked message, or the caller's buffer to pack. */
	const void		*payload;
	size_t			 payloadlen;
	int			 has_payload;	/* EVENT: not nil */
};

/* -1 if the message does not fit in cap; else its length. */
int	 serf_msg_pack(const struct serf_msg *, void *, size_t, size_t *);
/* u is the caller's to destroy when this returns 0. */
int	 serf_msg_unpack(msgpack_unpacked *, const void *, size_t,
	    struct serf_msg *);

#endif
