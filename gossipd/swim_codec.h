/*
 * The gossip wire format, in MessagePack.  A UDP packet is an array of
 * messages: the first is what the packet is for (a ping, an ack...), the
 * rest are piggy-backed broadcasts.  A message is an array whose first
 * item is its type:
 *
 *   PING      [1, seq, target name]
 *   INDIRECT  [2, seq, target name, target ip, target port, want nack]
 *   ACK       [3, seq] or [3, seq, bin]: the payload (coordinates)
 *   NACK      [4, seq]
 *   SUSPECT   [5, incarnation, node, from]
 *   ALIVE     [6, incarnation, node, ip, port, {tag: value...}]
 *   DEAD      [7, incarnation, node, from]	from == node: it left
 *   USER      [9, bin]	opaque to the core: the daemon's events and queries
 *
 * A stream (TCP) carries one message each way: a push-pull,
 * [8, join, reply, from, [entry...]] with entry [name, ip, port,
 * incarnation, state, {tags}], state 0 alive, 1 suspect, 2 dead, 3 left,
 * answered by another; or a PING, answered by its ACK (the fallback probe
 * when UDP fails).  IPs are 4 or 16 bytes of bin.  Decoders
 * take extra trailing items (a later version may add some) and check
 * every type, length and bound; nothing is trusted.
 */
#ifndef CONSULD_SWIM_CODEC_H
#define CONSULD_SWIM_CODEC_H

#include <msgpack.h>

#include "swim.h"

#define SWIM_PACKET_MSGS_MAX	1024	/* messages in one packet */
#define SWIM_PACKET_HDR		3	/* array16 header of a packet */

enum swim_msg_type {
	SWIM_MSG_PING = 1,
	SWIM_MSG_INDIRECT = 2,
	SWIM_MSG_ACK = 3,
	SWIM_MSG_NACK = 4,
	SWIM_MSG_SUSPECT = 5,
	SWIM_MSG_ALIVE = 6,
	SWIM_MSG_DEAD = 7,
	SWIM_MSG_PUSHPULL = 8,
	SWIM_MSG_USER = 9
};

enum swim_state {
	SWIM_STATE_ALIVE = 0,
	SWIM_STATE_SUSPECT = 1,
	SWIM_STATE_DEAD = 2,
	SWIM_STATE_LEFT = 3
};

/* One message, or one entry of a push-pull state (type ALIVE). */
struct swim_msg {
	enum swim_msg_type	 type;
	uint32_t		 seq;
	uint32_t		 incarnation;
	int			 nack;
	enum swim_state		 state;		/* push-pull entry */
	char			 node[SWIM_NAME_MAX];
	char			 from[SWIM_NAME_MAX];
	struct swim_addr	 addr;
	const void		*user;		/* USER: into the unpacked */
	size_t			 userlen;
	const void		*payload;	/* ACK: into the unpacked */
	size_t			 payloadlen;
	char			 tags[SWIM_TAGS_MAX];
	size_t			 tagslen;
};

/* The head of a decoded push-pull; entries point into the unpacked. */
struct swim_pushpull {
	int			 join;
	int			 reply;
	char			 from[SWIM_NAME_MAX];
	const msgpack_object	*entries;
	size_t			 nentries;
};

/* A msgpack_packer writing into a fixed buffer; overflow sticks. */
struct swim_wbuf {
	unsigned char		*p;
	size_t			 len;
	size_t			 cap;
	int			 overflow;
};

void	 swim_wbuf_init(struct swim_wbuf *, msgpack_packer *, void *,
	    size_t);

int	 swim_name_valid(const char *);
int	 swim_tags_valid(const char *, size_t);
/* key, value pairs to the flat form; -1 if invalid or too long. */
int	 swim_tags_flatten(const char *const *, size_t, char *, size_t *);

/* An address as two items: ip (bin of 4 or 16), port. */
void	 swim_addr_pack(msgpack_packer *, const struct swim_addr *);
int	 swim_addr_unpack(const msgpack_object *, const msgpack_object *,
	    struct swim_addr *);
void	 swim_msg_pack(msgpack_packer *, const struct swim_msg *);
int	 swim_msg_unpack(const msgpack_object *, struct swim_msg *);

/* The messages of a packet; u is the caller's to destroy on success. */
int	 swim_packet_parse(msgpack_unpacked *, const void *, size_t,
	    const msgpack_object **, size_t *);
void	 swim_packet_header(unsigned char *, size_t);

/* The type of a stream message, from its first bytes; -1 if none. */
int	 swim_stream_type(const void *, size_t);
/* A lone message (a PING or ACK on a stream). */
int	 swim_single_parse(const void *, size_t, struct swim_msg *);
void	 swim_pushpull_pack(msgpack_packer *, int, int, const char *,
	    size_t);
void	 swim_entry_pack(msgpack_packer *, const struct swim_msg *);
int	 swim_pushpull_parse(msgpack_unpacked *, const void *, size_t,
	    struct swim_pushpull *);
int	 swim_entry_unpack(const msgpack_object *, struct swim_msg *);

#endif
