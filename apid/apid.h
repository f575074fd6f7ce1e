/*
 * apid: the HTTP API.  Requests that need state become imsgs to raftd
 * carrying a request id; the answer comes back with the same id and is
 * turned into Consul's JSON here.
 */
#ifndef CONSULD_APID_H
#define CONSULD_APID_H

#include <sys/tree.h>

#include <event2/http.h>
#include <jansson.h>

#include "imsg.h"
#include "proc.h"

struct request;
typedef void (*request_done_fn)(struct request *, struct imsg *);

/* One HTTP request waiting for raftd. */
struct request {
	RB_ENTRY(request)	 entry;
	uint32_t		 id;
	struct evhttp_request	*req;
	request_done_fn		 done;
	int			 pretty;
};

struct route {
	const char		*path;		/* exact, or prefix with '*' */
	int			 methods;	/* EVHTTP_REQ_* */
	void			(*handler)(struct evhttp_request *,
				    const char *);
};

extern struct child	 apid_child;

/* http.c */
void	 http_start(struct child *);
void	 http_error(struct evhttp_request *, int, const char *);
void	 http_reply_json(struct evhttp_request *, json_t *, int);
int	 http_pretty(struct evhttp_request *);
struct request *request_new(struct evhttp_request *, request_done_fn);
void	 request_send(struct request *, uint32_t, const void *, size_t);
void	 request_answered(struct imsg *);

/* agent.c */
void	 agent_init(void);
void	 agent_self(struct evhttp_request *, const char *);

/* status.c */
void	 status_leader(struct evhttp_request *, const char *);

#endif
