/*
 * apid: the HTTP API.  Requests that need state become imsgs to raftd
 * carrying a request id; the answer comes back with the same id and is
 * turned into Consul's JSON here.
 */
#ifndef CONSULD_APID_H
#define CONSULD_APID_H

#include <sys/tree.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "imsg.h"
#include "imsg_types.h"
#include "mpack.h"
#include "proc.h"

struct request;
typedef void (*request_done_fn)(struct request *, struct imsg *);

/* One HTTP request waiting for raftd. */
struct request {
	RB_ENTRY(request)	 entry;
	uint32_t		 id;
	struct evhttp_request	*req;
	request_done_fn		 done;
	request_done_fn		 item;		/* streamed results, or NULL */
	int			 pretty;
	int			 blocking;	/* parked in raftd: cancel on close */
	int			 gone;		/* the client went away */
	/* what the KV handlers accumulate */
	int			 mode;
	int			 raw;		/* ?raw: the bare value */
	int			 empty_ok;	/* no result is [], not 404 */
	json_t			*items;
	struct evbuffer		*rawbuf;
	json_t			*reply;		/* built before the round trip */
	void			*ctx;		/* a handler's own, or NULL */
	char			 dc[64];	/* another datacenter, or "" */
	void			(*ctx_free)(void *);
};

/* The query string, parsed once. */
struct query {
	struct evkeyvalq	 params;
};

typedef void (*route_handler_fn)(struct evhttp_request *, const char *);

struct route {
	const char		*path;		/* exact, or a prefix ending '/' */
	int			 methods;	/* EVHTTP_REQ_* */
	route_handler_fn	 handler;
};

extern struct child	 apid_child;

/* acl.c */
void	 acl_handler(struct evhttp_request *, const char *);
const char *acl_request_secret(struct evhttp_request *, struct query *);
int	 acl_denial(const char *);

/* acl_gate.c */
int	 acl_gate(struct evhttp_request *, const char *, route_handler_fn);
/* acl_agent.c */
struct acl_authz;
typedef void (*acl_agent_fn)(struct evhttp_request *, const char *,
    struct acl_authz *);
void	 acl_agent_gate(struct evhttp_request *, const char *, int,
	    const char *, int, acl_agent_fn);
int	 acl_agent_allowed(const struct acl_authz *, int, const char *,
	    int);
const char *acl_agent_default_token(void);
void	 acl_agent_tokens(struct imsg *);
void	 agent_token_handler(struct evhttp_request *, const char *);

/* http.c */
void	 http_start(struct child *);
void	 https_tls_load(struct child *);
void	 http_error(struct evhttp_request *, int, const char *);
void	 http_route_resume(struct evhttp_request *, const char *,
	    const char *, route_handler_fn);
void	 http_reply_json(struct evhttp_request *, json_t *, int);
void	 http_reply_json_status(struct evhttp_request *, int, json_t *,
	    int);
int	 http_pretty(struct evhttp_request *);
struct request *request_new(struct evhttp_request *, request_done_fn);
void	 request_send(struct request *, uint32_t, const void *, size_t);
void	 request_answered(struct imsg *);
void	 request_item(struct imsg *);
void	 request_free(struct request *);
void	 request_blocking(struct request *);
int	 query_parse(struct evhttp_request *, struct query *);
void	 query_free(struct query *);
const char *query_get(struct query *, const char *);
int	 query_has(struct query *, const char *);
int	 query_u64(struct query *, const char *, uint64_t *);
const char *query_blocking(struct query *, uint64_t *, uint64_t *);
const char *query_consistency(struct query *, int *, uint64_t *);
void	 read_end_get(struct imsg *, struct imsg_read_end *);
void	 http_read_headers(struct evhttp_request *,
	    const struct imsg_read_end *);
void	 http_reply_text(struct evhttp_request *, int, const char *,
	    const void *, size_t);

/* agent.c */
void	 agent_init(void);
void	 agent_self(struct evhttp_request *, const char *);
void	 agent_members(struct evhttp_request *, const char *);
void	 agent_reload(struct evhttp_request *, const char *);

/* status.c */
void	 status_leader(struct evhttp_request *, const char *);
void	 operator_raft_configuration(struct evhttp_request *, const char *);
void	 catalog_handler(struct evhttp_request *, const char *);
void	 agent_local_handler(struct evhttp_request *, const char *);
void	 health_handler(struct evhttp_request *, const char *);
void	 operator_autopilot_health(struct evhttp_request *, const char *);
void	 operator_raft_peer(struct evhttp_request *, const char *);
void	 operator_raft_transfer_leader(struct evhttp_request *, const char *);
void	 status_peers(struct evhttp_request *, const char *);

/* snapshot.c */
void	 snapshot_handler(struct evhttp_request *, const char *);

/* kv.c */
struct kv_pair;
void	 kv_handler(struct evhttp_request *, const char *);
json_t	*kv_pair_json(const struct kv_pair *, int);

/* gossip.c */
struct request *gossip_request(struct evhttp_request *, request_done_fn,
	    const struct mpack_out *);
int	 gossip_result(struct request *, struct imsg *, msgpack_unpacked *);
void	 agent_join(struct evhttp_request *, const char *);
void	 agent_leave(struct evhttp_request *, const char *);
void	 agent_force_leave(struct evhttp_request *, const char *);
void	 operator_keyring(struct evhttp_request *, const char *);

/* event.c */
void	 uuid_v4(char *, size_t);
void	 user_event_fire(struct evhttp_request *, const char *);
void	 user_event_list(struct evhttp_request *, const char *);

/* query.c */
void	 query_handler(struct evhttp_request *, const char *);

/* session.c */
void	 session_handler(struct evhttp_request *, const char *);

/* coordinate.c */
void	 coordinate_handler(struct evhttp_request *, const char *);

/* txn.c */
void	 txn_handler(struct evhttp_request *, const char *);

/* ui.c; ui_assets[] is generated from apid/ui/ by apid/ui/embed.sh. */
struct ui_asset {
	const char		*name;		/* NULL ends the table */
	const char		*type;		/* Content-Type */
	const char		*etag;		/* unquoted */
	const unsigned char	*data;
	size_t			 len;
	const unsigned char	*gz;		/* NULL: gzip would not help */
	size_t			 gzlen;
};
extern const struct ui_asset	 ui_assets[];
int	 ui_route(struct evhttp_request *, const char *);

/* ui_services.c */
void	 ui_internal_handler(struct evhttp_request *, const char *);

#endif
