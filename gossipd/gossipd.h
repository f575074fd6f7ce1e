/*
 * gossipd's shared declarations: the pools (gossipd.c), the user message
 * layer on top of them (serf.c) and the operations the HTTP API asks
 * for (ops.c).
 */
#ifndef CONSULD_GOSSIPD_H
#define CONSULD_GOSSIPD_H

#include <sys/queue.h>

#include <stdint.h>

#include <event2/event.h>

#include "keyring.h"
#include "proc.h"
#include "serf_codec.h"
#include "swim.h"

enum pool_kind {
	POOL_LAN,
	POOL_WAN,
	POOL_MAX
};

struct pool;
struct op;

/* A TCP exchange (push-pull or fallback probe), accepted or ours. */
struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct pool		*pool;
	struct bufferevent	*bev;
	uint64_t		 id;		/* 0: ours, a reply is coming */
	struct swim_addr	 peer;
	int			 closing;
	int			 joining;	/* a join's exchange */
	struct op		*join;		/* an API join waiting on it */
};

struct query;
TAILQ_HEAD(query_list, query);

struct pool {
	enum pool_kind		 kind;
	const char		*label;		/* "lan", "wan" */
	const char		*file;		/* of the keyring */
	struct swim		*sw;
	struct keyring		*kr;		/* NULL: no encryption */
	char			*keyfile;	/* from raftd, until start */
	size_t			 keyfilelen;
	int			 keyfile_set;
	int			 udp;
	struct event		*udp_ev;
	struct evconnlistener	*listener;
	struct event		*timer;
	struct event		*retry;
	TAILQ_HEAD(, conn)	 conns;
	size_t			 nconns;
	uint64_t		 next_conn;
	struct swim_addr	*seeds;
	size_t			 nseeds;
	struct swim_addr	*rejoin;	/* from the snapshot */
	size_t			 nrejoin;
	int64_t			 retry_ms;
	int			 retry_max;	/* join attempts; 0: forever */
	int			 attempts;
	struct op		*joining;	/* tags the next join stream */
	int			 left;		/* our leave is complete */
	uint64_t		 drops_told[2];	/* key, plaintext */
	uint64_t		 drop_log_at;

	/* coord.c */
	struct coord_client	*coord;
	uint32_t		 probe_seq;	/* the probe being timed */
	uint64_t		 probe_sent_us;

	/* serf.c */
	uint64_t		 clock;		/* Lamport */
	uint32_t		 next_qid;
	struct query_list	 queries;
};

extern struct child	 gossipd_child;
extern struct pool	 pools[POOL_MAX];

/* gossipd.c */
uint64_t now_ms(void);
void	 pool_flush(struct pool *);
int	 addr_parse(const char *, uint16_t, struct swim_addr *);
void	 addr_ip(const struct swim_addr *, char *, size_t);
void	 keyring_changed(struct pool *);

/* coord.c: network coordinates from probe round trips. */
struct coord_client;
void	 coord_pool_start(struct pool *);
void	 coord_probe_sent(struct pool *, uint32_t);
void	 coord_ack(struct pool *, const struct swim_event *);
void	 coord_member_gone(struct pool *, const char *);

/* serf.c: events, queries, relays and prunes on a pool. */
struct key_count {
	char			 key[KEYRING_B64_MAX];
	size_t			 n;
	size_t			 primary;
};

struct node_msg {
	char			 node[SWIM_NAME_MAX];
	char			 msg[128];
};

/* What a keyring query over one pool gathered. */
struct keyop_result {
	struct pool		*pool;
	size_t			 num_nodes;
	size_t			 num_resp;
	size_t			 num_err;
	struct key_count	*keys;
	size_t			 nkeys;
	struct node_msg		*msgs;
	size_t			 nmsgs;
	char			 error[128];	/* the pool could not ask */
};

typedef void	(*keyring_done_cb)(struct op *, struct keyop_result *);

void	 serf_recv(struct pool *, const struct swim_addr *, const void *,
	    size_t);
int	 serf_event_fire(struct pool *, const char *, const char *,
	    const void *, size_t, int, const char *const *, char *, size_t);
void	 serf_keyring_query(struct pool *, const char *, const char *,
	    unsigned int, struct op *, keyring_done_cb);
int	 serf_prune(struct pool *, const char *);
void	 keyop_result_free(struct keyop_result *);

/* ops.c: the HTTP API's requests, through raftd. */
void	 ops_request(struct imsgev *, struct imsg *);
void	 ops_join_done(struct op *, int);
void	 ops_pool_left(struct pool *);
void	 ops_leave(void);

#endif
