/*
 * dnsd's internal types: the view of nodes, services and health that
 * raftd pushes (view.c), the answering of queries from it (answer.c),
 * the UDP and TCP service (server.c) and the forwarding of other names
 * to the recursors (recursor.c).
 */
#ifndef DNSD_DNSD_H
#define DNSD_DNSD_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <regex.h>

#include <event2/event.h>

#include "catalog_codec.h"
#include "wire.h"

struct config;
struct imsgev;

enum view_status {
	VIEW_PASSING,
	VIEW_WARNING,
	VIEW_CRITICAL
};

/* An address as the catalog gives it, parsed once. */
struct view_ip {
	int			 family;	/* AF_INET, AF_INET6, 0: a name */
	uint8_t			 addr[16];
};

/* An entry of the index from addresses to nodes and services (PTR). */
struct view_addr {
	RB_ENTRY(view_addr)	 entry;
	struct view_ip		 ip;
	int			 is_service;
	void			*owner;		/* view_node or view_inst */
	int			 linked;
};

struct view_node;
struct view_service;

struct view_inst {
	struct view_node	*node;
	struct cat_service	 svc;
	enum view_status	 status;
	struct view_ip		 ip;		/* of svc.address, if set */
	struct view_addr	 aentry;
	struct view_service	*service;
};

struct view_node {
	RB_ENTRY(view_node)	 entry;
	struct cat_node		 node;
	enum view_status	 status;
	struct view_ip		 ip;
	struct view_addr	 aentry;
	struct view_inst	*inst;
	size_t			 ninst;
};

/* The instances of one service name, across nodes. */
struct view_service {
	RB_ENTRY(view_service)	 entry;
	char			*name;
	struct view_inst	**inst;
	size_t			 n;
	size_t			 cap;
};

/* A prepared query, as query.c parsed its definition. */
enum vq_template {
	VQ_NONE,
	VQ_PREFIX,
	VQ_REGEXP
};

struct view_query {
	RB_ENTRY(view_query)	 entry;
	char			*id;
	char			*name;		/* "" if none */
	char			*service;
	char		       **tags;		/* "!tag" excludes */
	size_t			 ntags;
	struct cat_kv		*nmeta;
	size_t			 nnmeta;
	struct cat_kv		*smeta;
	size_t			 nsmeta;
	int			 only_passing;
	uint32_t		 ttl;
	int			 ttl_set;
	enum vq_template	 template;
	regex_t			 rx;
	char		       **failover;	/* Failover.Datacenters */
	size_t			 nfailover;
	size_t			 nearest;	/* Failover.NearestN */
	int			 has_token;	/* runs under its own */
};

RB_HEAD(view_nodes, view_node);
RB_HEAD(view_queries, view_query);
RB_HEAD(view_services, view_service);
RB_HEAD(view_addrs, view_addr);
RB_PROTOTYPE(view_nodes, view_node, entry, node_cmp)
RB_PROTOTYPE(view_services, view_service, entry, service_cmp)
RB_PROTOTYPE(view_addrs, view_addr, entry, addr_cmp)
RB_PROTOTYPE(view_queries, view_query, entry, vq_cmp)

struct view {
	struct view_nodes	 nodes;
	struct view_services	 services;
	struct view_addrs	 addrs;
	struct view_queries	 queries;
	size_t			 max_inst;	/* the most of one service */
	uint64_t		 index;
};

/*
 * What raftd's messages build: the view answered from (NULL until the
 * first IMSG_DNS_END) and the full copy being received.
 */
struct feed {
	struct view		*cur;
	struct view		*next;
	int			 in_copy;
	int			 stale;		/* max_stale passed */
	int			 denied;	/* the DNS token is unknown */
	uint64_t		 index;
};

void	 feed_init(struct feed *);
void	 feed_free(struct feed *);
int	 feed_begin(struct feed *, const void *, size_t);
int	 feed_node(struct feed *, const void *, size_t);
int	 feed_node_del(struct feed *, const void *, size_t);
int	 feed_end(struct feed *, const void *, size_t);
int	 feed_query(struct feed *, const void *, size_t);
int	 feed_query_del(struct feed *, const void *, size_t);

/* query.c */
struct view_query *view_query_unpack(const void *, size_t);
void	 view_query_free(struct view_query *);
const struct view_query *view_query_find(const struct view *, const char *);
int	 view_query_expand(const struct view_query *, const char *,
	    const char *, char *, size_t);
int	 view_query_match(const struct view_query *, const struct view_inst *,
	    const char *);
const struct view *feed_view(const struct feed *);

int	 view_ip_parse(const char *, struct view_ip *);
struct view_node *view_node_find(const struct view *, const char *);
struct view_service *view_service_find(const struct view *, const char *);
struct view_addr *view_addr_first(const struct view *, const struct view_ip *);
struct view_addr *view_addr_next(const struct view *, struct view_addr *);

/* dns_config and the names, as the answering code needs them. */
struct ttl_rule {
	char			*name;		/* without the '*' */
	int			 prefix;
	uint32_t		 ttl;
};

struct dns_conf {
	uint8_t			 domain[DNS_NAME_MAX];
	size_t			 domain_len;
	size_t			 domain_labels;
	uint8_t			 alt[DNS_NAME_MAX];
	size_t			 alt_len;	/* 0: no alt_domain */
	size_t			 alt_labels;
	char			*datacenter;
	uint32_t		 node_ttl;
	struct ttl_rule		*ttl;
	size_t			 nttl;
	int			 only_passing;
	int			 enable_truncate;
	int			 compress;
	int			 node_meta_txt;
	int			 udp_answer_limit;
	int			 a_record_limit;
	uint32_t		 soa_refresh;
	uint32_t		 soa_retry;
	uint32_t		 soa_expire;
	uint32_t		 soa_min_ttl;
	int			 recursors;	/* how many */
};

int	 dns_conf_load(struct dns_conf *, const struct config *, char *,
	    size_t);
void	 dns_conf_free(struct dns_conf *);

/* Preallocated scratch: records, their bytes, a set for dedup. */
#define ANSWER_RR_MAX		8192
#define ANSWER_ARENA		(256 * 1024)
#define ANSWER_SEEN_MIN		1024

struct answer_rr {
	struct dns_rr		 rr;
	enum dns_section	 section;
	int			 group;		/* the answer it goes with */
	int			 meta;		/* node meta TXT, first to go */
};

#define SEEN_KEY_MAX		48

struct seen_slot {
	uint32_t		 gen;
	uint8_t			 key[SEEN_KEY_MAX];
};

struct remotes;

struct answerer {
	const struct dns_conf	*conf;
	struct feed		*feed;
	struct remotes		*remotes;	/* NULL: none asked */
	const char		*dc;		/* of the names answered */
	char			 rdc[DNS_LABEL_MAX + 1];
	/* ANSWER_REMOTE: what to ask another datacenter for. */
	char			 want_dc[DNS_LABEL_MAX + 1];
	int			 want_kind;	/* enum dns_remote_kind */
	char			 want_name[DNS_NAME_TEXT_MAX];
	struct answer_rr	 rr[ANSWER_RR_MAX];
	size_t			 nrr;
	size_t			 nanswer;
	int			 full;		/* scratch ran out */
	_Alignas(8) uint8_t	 arena[ANSWER_ARENA];
	size_t			 used;
	struct view_inst	**inst;
	size_t			 inst_cap;
	struct seen_slot	*seen;
	size_t			 seen_cap;	/* a power of two */
	uint32_t		 gen;
	uint64_t		 rng;		/* answer_random() */
	const uint8_t		*zone;		/* the domain asked in */
	size_t			 zone_len;
};

enum answer_result {
	ANSWER_REPLY,
	ANSWER_DROP,
	ANSWER_RECURSE,
	ANSWER_REMOTE		/* ask want_*, then answer again */
};

struct answerer *answerer_new(const struct dns_conf *, struct feed *);
void	 answerer_free(struct answerer *);
enum answer_result answer_query(struct answerer *, const uint8_t *, size_t,
	    int, struct dns_query *, uint8_t *, size_t, size_t *);
size_t	 answer_error(const struct dns_conf *, const struct dns_query *,
	    int, uint8_t *, size_t);

/* recursor.c */
struct recursor_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 text[64];
};

struct recursion;
struct server;

struct recursors {
	struct event_base	*base;
	struct recursor_addr	*addr;
	size_t			 naddr;
	int			 random;
	struct timeval		 timeout;
	struct sockaddr_storage	 bind;		/* family 0: none */
	socklen_t		 bindlen;
	size_t			 inflight;
	const struct dns_conf	*conf;
};

int	 recursors_load(struct recursors *, const struct config *, char *,
	    size_t);
void	 recursors_free(struct recursors *);
/*
 * Forward a query; done() is called exactly once with the reply (or
 * NULL: answer SERVFAIL), unless recursion_cancel() comes first.
 */
typedef void (*recursion_done_fn)(void *, const uint8_t *, size_t);
struct recursion *recursion_start(struct recursors *, const uint8_t *,
	    size_t, const struct dns_query *, int, recursion_done_fn, void *);
void	 recursion_cancel(struct recursion *);
#define RECURSION_MAX		512

/* remote.c: names of other datacenters */
#define REMOTE_WAIT_MAX		512	/* queries waiting at once */
#define REMOTE_CACHE_MAX	1024	/* answers kept */
#define REMOTE_CACHE_MS		3000	/* at most, and max_stale */
#define REMOTE_FAIL_MS		1000	/* a failure, at most */
#define REMOTE_DCS_MAX		256	/* datacenters listed */
/* Questions one query may ask in turn (prepared query failover). */
#define REMOTE_ROUNDS_MAX	40

enum remote_status {
	REMOTE_MISS,
	REMOTE_OK,
	REMOTE_NO_DC,
	REMOTE_FAILED
};

struct remote_entry;
struct remote_wait;
RB_HEAD(remote_tree, remote_entry);
RB_PROTOTYPE(remote_tree, remote_entry, entry, remote_cmp)

struct remotes {
	struct event_base	*base;
	struct imsgev		*raftd;
	struct remote_tree	 tree;
	TAILQ_HEAD(, remote_entry) pending;
	TAILQ_HEAD(, remote_entry) done;	/* oldest first */
	size_t			 n;
	size_t			 nwait;
	uint32_t		 next_id;
	uint64_t		 cache_ms;
	uint64_t		 timeout_ms;
	struct remote_entry	*fresh;		/* being delivered */
};

typedef void (*remote_done_fn)(void *);
void	 remotes_init(struct remotes *, struct event_base *, struct imsgev *,
	    const struct config *);
void	 remotes_conf(struct remotes *, const struct config *);
void	 remotes_free(struct remotes *);
int	 remote_lookup(struct remotes *, const char *, int, const char *,
	    const struct view **);
int	 remote_lookup_dcs(struct remotes *, const char *, char *const **,
	    size_t *);
struct remote_wait *remote_start(struct remotes *, const char *, int,
	    const char *, remote_done_fn, void *);
void	 remote_cancel(struct remote_wait *);
void	 remote_item(struct remotes *, uint32_t, const void *, size_t);
int	 remote_end(struct remotes *, uint32_t, const void *, size_t);

/* server.c */
#define SERVER_TCP_MAX		256
#define SERVER_TCP_IDLE		10	/* seconds */
#define SERVER_UDP_BATCH	64

struct server	*server_new(struct event_base *, struct answerer *,
		    struct recursors *);
void		 server_add_udp(struct server *, int);
void		 server_add_tcp(struct server *, int);
void		 server_set(struct server *, struct answerer *,
		    struct recursors *);
void		 server_free(struct server *);

#endif
