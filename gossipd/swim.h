/*
 * The SWIM core of gossipd: membership and failure detection for one
 * gossip pool (LAN or WAN), with the Lifeguard refinements Consul's
 * memberlist uses.  It is a pure state machine: no I/O, no clock of its
 * own and no randomness but a PRNG seeded through the options, so tests
 * drive thousands of members in one process and replay any run.
 *
 * Inputs: UDP packets (swim_recv_packet), messages read from TCP
 * (swim_recv_stream: push-pull state, and the fallback probe memberlist
 * sends over TCP when UDP fails), time (swim_tick), and local requests
 * (join, leave, force-leave, tags).  Every input carries `now`, a
 * monotonic clock in milliseconds that must never go backwards.  Outputs
 * collect in the core until the daemon takes them with swim_ready(): UDP
 * packets to send, stream messages to send on a new TCP connection or as
 * the reply on an accepted one, and member events.
 *
 * Driving it, in the daemon:
 *   - UDP: for each datagram, swim_recv_packet(sw, &from, buf, n, now).
 *   - TCP, accepted connection: read one frame (4-byte big-endian length,
 *     at most SWIM_STREAM_MAX, then the bytes), give it to
 *     swim_recv_stream() with a connection id of your choosing; a
 *     SWIM_OUT_REPLY output with that id is the frame to write back.
 *     Then close.  Time the connection out like any other.
 *   - SWIM_OUT_STREAM: connect to `to` (from the advertise address),
 *     write the frame, read one reply frame and pass it to
 *     swim_recv_stream() (any conn id: a reply never gets a reply).
 *     Give up at `deadline` (on the same clock as `now`); a failed
 *     exchange is just lost.  swim_join() callers learn success from the
 *     reply arriving.
 *   - Timer: call swim_tick(sw, now) no later than swim_next_timeout(sw);
 *     a one-shot timer rearmed after every call is enough.  Ticking more
 *     often (every 10-50 ms) is harmless.
 *   - SWIM_EV_ACK: the round trip of a direct probe, timed from when the
 *     packet whose `probe` equals the event's seq was sent.
 *   - After every input: if swim_has_ready(), swim_ready(), send and
 *     report everything in it, then swim_advance().  What a ready points
 *     to belongs to the core and stays valid until swim_advance(); copy
 *     what must live longer.  Inputs between the two are refused (-1,
 *     ticks are skipped).
 *
 * Wire: MessagePack (swim_codec.c), each packet or stream message sealed
 * by the keyring when one is configured (keyring.h).
 */
#ifndef CONSULD_SWIM_H
#define CONSULD_SWIM_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define SWIM_NAME_MAX		128	/* node name with its NUL */
#define SWIM_TAGS_MAX		1024	/* "key\0value\0"..., in all */
#define SWIM_TAGS_KEYS_MAX	64
#define SWIM_PACKET_MAX		65536	/* a UDP packet we read */
#define SWIM_STREAM_MAX		(32 * 1024 * 1024) /* a TCP frame */
#define SWIM_MEMBERS_MAX	(1024 * 1024)	/* max_members ceiling */
#define SWIM_USER_MAX		1024	/* a user message, in bytes */
#define SWIM_ACK_PAYLOAD_MAX	256	/* what our acks carry, in bytes */

struct keyring;

/* An IPv4 or IPv6 address and a port, in host order. */
struct swim_addr {
	uint8_t			 family;	/* AF_INET or AF_INET6 */
	uint8_t			 ip[16];	/* AF_INET: the first 4 */
	uint16_t		 port;
};

/* As Consul's AgentMember.Status. */
enum swim_status {
	SWIM_NONE = 0,
	SWIM_ALIVE = 1,
	SWIM_LEAVING = 2,	/* only ever the local node */
	SWIM_LEFT = 3,
	SWIM_FAILED = 4
};

/*
 * A member as the core knows it.  Tags are "key\0value\0" pairs, all of
 * them tagslen bytes (see swim_tag_next/swim_tag_get).  From the member
 * getters the pointers hold until the next input; in an event, until
 * swim_advance().
 */
struct swim_member_info {
	const char		*name;
	struct swim_addr	 addr;
	const char		*tags;
	size_t			 tagslen;
	enum swim_status	 status;
	int			 suspect;	/* alive, under suspicion */
	uint32_t		 incarnation;
	uint64_t		 since;		/* last status change */
};

enum swim_event_type {
	SWIM_EV_JOIN,		/* new, or back from failed or left */
	SWIM_EV_UPDATE,		/* tags or address changed */
	SWIM_EV_LEAVE,		/* left (about us: leave done) */
	SWIM_EV_FAILED,		/* declared dead */
	SWIM_EV_REAP,		/* forgotten after reconnect_timeout */
	SWIM_EV_CONFLICT,	/* another address claims member's name */
	SWIM_EV_USER,		/* a user message arrived (no member) */
	SWIM_EV_ACK		/* our direct probe answered, with a payload */
};

struct swim_event {
	enum swim_event_type	 type;
	struct swim_member_info	 member;
	struct swim_addr	 other;		/* CONFLICT: claimant; USER: from */
	uint32_t		 seq;		/* ACK: the probe's */
	const void		*data;		/* USER: the message; ACK: the */
	size_t			 len;		/*   payload the ack carried */
};

enum swim_out_type {
	SWIM_OUT_PACKET,	/* a UDP datagram to `to` */
	SWIM_OUT_STREAM,	/* connect to `to`, send, read one reply */
	SWIM_OUT_REPLY		/* write on accepted connection `conn` */
};

struct swim_out {
	enum swim_out_type	 type;
	struct swim_addr	 to;
	uint64_t		 conn;
	int			 join;		/* from swim_join() */
	uint32_t		 probe;		/* PACKET: our direct probe, its
						   seq (0: not one) */
	uint64_t		 deadline;	/* STREAM: give up then */
	const void		*data;
	size_t			 len;
};

struct swim_ready {
	struct swim_out		*outs;
	size_t			 n_outs;
	struct swim_event	*events;
	size_t			 n_events;
};

/*
 * Options.  swim_options_lan() and swim_options_wan() fill memberlist's
 * defaults for the two pools; the caller then sets name, addr and tags.
 * Times are in milliseconds.
 */
struct swim_options {
	char			 name[SWIM_NAME_MAX];
	struct swim_addr	 addr;		/* advertised, port too */
	const char *const	*tags;		/* key, value, key... */
	size_t			 ntags;		/* pairs */
	uint32_t		 incarnation;	/* first one to use */
	uint64_t		 seed;		/* of the PRNG */
	struct keyring		*keyring;	/* borrowed; NULL: none */

	uint64_t		 probe_interval;	/* 1 s / 5 s */
	uint64_t		 probe_timeout;		/* 500 ms / 3 s */
	int			 indirect_checks;	/* 3 */
	int			 disable_tcp_pings;	/* 0: TCP too */
	int			 suspicion_mult;	/* 4 / 6 */
	int			 suspicion_max_mult;	/* 6 */
	int			 awareness_max;		/* 8 */
	uint64_t		 gossip_interval;	/* 200 ms / 500 ms */
	int			 gossip_nodes;		/* 3 / 4 */
	uint64_t		 gossip_to_dead;	/* 30 s / 60 s */
	int			 retransmit_mult;	/* 4 */
	uint64_t		 push_pull_interval;	/* 30 s / 60 s */
	uint64_t		 reconnect_interval;	/* 30 s */
	uint64_t		 reconnect_timeout;	/* 72 h */
	uint64_t		 dead_reclaim;		/* 30 s */
	uint64_t		 leave_timeout;		/* 5 s */
	size_t			 packet_size;		/* 1400 B */
	size_t			 max_members;		/* 65536 */
	size_t			 queue_max;		/* 4096 */
};

struct swim_stats {
	uint64_t		 packets_sent;
	uint64_t		 bytes_sent;		/* UDP, as sealed */
	uint64_t		 packets_recv;
	uint64_t		 bytes_recv;
	uint64_t		 streams_sent;		/* TCP messages */
	uint64_t		 stream_bytes_sent;
	uint64_t		 streams_recv;
	uint64_t		 stream_bytes_recv;
	/* Inputs dropped, by reason; each drop changes nothing else. */
	uint64_t		 drop_malformed;	/* bad encoding */
	uint64_t		 drop_key;		/* no key opens it */
	uint64_t		 drop_plaintext;	/* verify_incoming */
	uint64_t		 drop_replay;
	uint64_t		 drop_misdirected;	/* ping: not us */
	uint64_t		 drop_oversize;
	uint64_t		 drop_refused;		/* in ready, left */
	uint64_t		 drop_outputs;		/* not taken */
	/* Limits reached. */
	uint64_t		 drop_members;		/* max_members */
	uint64_t		 drop_broadcasts;	/* queue_max */
	uint64_t		 drop_relays;		/* SWIM_RELAYS */
	uint64_t		 probes;
	uint64_t		 probes_failed;
	uint64_t		 suspicions;		/* begun here */
	uint64_t		 refutes;
	uint64_t		 corrections;		/* stale told */
	uint64_t		 conflicts;
	size_t			 members;		/* us too */
	size_t			 alive;			/* or suspect */
	size_t			 suspect;
	size_t			 failed;
	size_t			 left;
	size_t			 queued;		/* broadcasts */
	int			 health_score;		/* 0: healthy */
	uint32_t		 incarnation;
};

struct swim;

void	 swim_options_lan(struct swim_options *);
void	 swim_options_wan(struct swim_options *);

/* NULL on bad options (the reason is logged at debug level). */
struct swim *swim_new(const struct swim_options *, uint64_t);
void	 swim_free(struct swim *);

/* Push-pull with each address (seeds); -1 if leaving or refused. */
int	 swim_join(struct swim *, const struct swim_addr *, size_t,
	    uint64_t);
/* Start a graceful leave; a LEAVE event about us says it is complete. */
int	 swim_leave(struct swim *, uint64_t);
/* A failed member is marked left (and so reaped sooner by others). */
int	 swim_force_leave(struct swim *, const char *, uint64_t);
/*
 * User messages, opaque to the core, at most SWIM_USER_MAX bytes:
 * broadcast piggy-backs one on gossip like membership news (each member
 * that receives it sees a SWIM_EV_USER event; passing it on again is the
 * caller's business, and so is telling repeats apart); send puts one in
 * a packet to one address.  -1 if too large, or leaving.
 */
int	 swim_user_broadcast(struct swim *, const void *, size_t, uint64_t);
int	 swim_user_send(struct swim *, const struct swim_addr *, const void *,
	    size_t, uint64_t);
/*
 * The payload of the acks we send from now on, when a probe of us
 * arrives (at most SWIM_ACK_PAYLOAD_MAX bytes; 0 bytes: none), as
 * memberlist's ping delegate: Consul's network coordinates travel so.
 * When an ack to a direct probe of ours comes back over UDP with a
 * payload, a SWIM_EV_ACK event gives it with the probe's seq, and the
 * daemon, which saw when the packet marked with that seq (out.probe)
 * left, knows the round-trip time.  -1 if too large.
 */
int	 swim_set_ack_payload(struct swim *, const void *, size_t);
/* New tags for us, gossiped with a higher incarnation. */
int	 swim_set_tags(struct swim *, const char *const *, size_t, uint64_t);

void	 swim_tick(struct swim *, uint64_t);
uint64_t swim_next_timeout(const struct swim *);
/* 0: taken; -1: dropped (counted in the stats). */
int	 swim_recv_packet(struct swim *, const struct swim_addr *,
	    const void *, size_t, uint64_t);
int	 swim_recv_stream(struct swim *, uint64_t, const struct swim_addr *,
	    const void *, size_t, uint64_t);

int	 swim_has_ready(const struct swim *);
void	 swim_ready(struct swim *, struct swim_ready *);
void	 swim_advance(struct swim *);

/* Members, us included, in no particular order. */
size_t	 swim_member_count(const struct swim *);
int	 swim_member_at(const struct swim *, size_t,
	    struct swim_member_info *);
int	 swim_member_get(const struct swim *, const char *,
	    struct swim_member_info *);
void	 swim_stats(const struct swim *, struct swim_stats *);
const char *swim_self_name(const struct swim *);
/* Forget a member that left or failed, at once; -1 if none such. */
int	 swim_prune(struct swim *, const char *, uint64_t);

/* Iterating tags: *off starts at 0; 1 while a pair is returned. */
int	 swim_tag_next(const char *, size_t, size_t *, const char **,
	    const char **);
const char *swim_tag_get(const char *, size_t, const char *);

int	 swim_addr_eq(const struct swim_addr *, const struct swim_addr *);

#endif
