/*
 * Requests that need a leader while none is known, as Consul's
 * rpc_hold_timeout: a server holds them (keeping their imsg) until a
 * leader is elected, then serves or forwards them as if they had just
 * arrived; after performance.rpc_hold_timeout (7 s) they fail with "No
 * cluster leader".  The asker's cancel drops a held request.
 *
 * forward.c also holds a request it could not deliver (no connection
 * to the server, or one lost before the server had a chance to take
 * it): that one goes again after HOLD_RETRY_MS, to the leader known
 * then or another server, until the same deadline.  A request keeps the
 * deadline of its first hold however often it goes again.
 *
 * acl_agent.c holds a request whose token a server of a secondary
 * datacenter must ask the primary about (hold_token): it goes again
 * once the answer is in (hold_token_release), or at the deadline,
 * "settled" either way: it is not held for its token twice.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "raftd.h"

#define HOLD_MAX	4096
#define HOLD_RETRY_MS	200
#define HOLD_DIGEST_LEN	32

struct held {
	TAILQ_ENTRY(held)	 entry;
	struct imsgev		*iev;
	struct imsg		 imsg;		/* data is ours */
	struct event		*timer;
	uint64_t		 deadline;	/* node_now_ms() */
	int			 retry;
	int			 token;		/* waits for its token */
	unsigned char		 digest[HOLD_DIGEST_LEN];
};

TAILQ_HEAD(held_list, held);
static struct held_list		 helds = TAILQ_HEAD_INITIALIZER(helds);
static size_t			 nhelds;
static uint64_t			 again_deadline;	/* see hold_again() */
static int			 token_settled;	/* see token_again() */

static void
held_free(struct held *h)
{
	TAILQ_REMOVE(&helds, h, entry);
	nhelds--;
	event_free(h->timer);
	free(h->imsg.data);
	free(h);
}

static void
held_fail(struct held *h)
{
	if (h->imsg.hdr.type == IMSG_DC_REQ)
		forward_fail(h->iev, h->imsg.hdr.peerid,
		    dc_request_type(h->imsg.data, h->imsg.len),
		    "No path to datacenter");
	else
		forward_fail(h->iev, h->imsg.hdr.peerid, h->imsg.hdr.type,
		    "No cluster leader");
	held_free(h);
}

/* The deadline a request handled now must keep: its first hold's. */
uint64_t
hold_deadline(void)
{
	int64_t	 ms;

	if (again_deadline != 0)
		return again_deadline;
	ms = raftd_child.conf->performance.rpc_hold_timeout / 1000000;
	return node_now_ms() + (ms > 0 ? (uint64_t)ms : 0);
}

/* A request to its handler: from apid, held, or for a datacenter. */
void
request_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_KV_READ:
		kv_read_request(iev, imsg);
		break;
	case IMSG_KV_WRITE:
		kv_write_request(iev, imsg);
		break;
	case IMSG_CAT_READ:
		cat_read_request(iev, imsg);
		break;
	case IMSG_CAT_WRITE:
		cat_write_request(iev, imsg);
		break;
	case IMSG_RAFT_CONF_REQ:
		raft_conf_request(iev, imsg);
		break;
	case IMSG_RAFT_OP_REQ:
		raft_op_request(iev, imsg);
		break;
	case IMSG_STATUS_LEADER_REQ:
		status_leader_request(iev, imsg);
		break;
	case IMSG_STATUS_PEERS_REQ:
		status_peers_request(iev, imsg);
		break;
	case IMSG_DC_REQ:
		dc_request(iev, imsg);
		break;
	default:
		fatalx("hold: no handler for imsg %u", imsg->hdr.type);
	}
}

/* Hand a held request to its handler again, as if just arrived. */
static void
hold_again(struct held *h)
{
	struct imsg	 imsg = h->imsg;
	struct imsgev	*iev = h->iev;
	uint64_t	 deadline = h->deadline;

	h->imsg.data = NULL;	/* imsg owns it for the call */
	held_free(h);
	again_deadline = deadline;
	request_dispatch(iev, &imsg);
	again_deadline = 0;
	free(imsg.data);
}

/* A request held for its token goes again, not to be held for it twice. */
static void
token_again(struct held *h)
{
	token_settled = 1;
	hold_again(h);
	token_settled = 0;
}

static void
held_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct held	*h = arg;

	if (h->token)
		token_again(h);
	else if (h->retry && node_now_ms() < h->deadline)
		hold_again(h);
	else
		held_fail(h);
}

static struct held *
hold_add(struct imsgev *iev, struct imsg *imsg, uint64_t deadline, int retry)
{
	struct held	*h;
	struct timeval	 tv;
	uint64_t	 now = node_now_ms(), ms;

	if (raftd_child.conf->performance.rpc_hold_timeout <= 0 ||
	    nhelds >= HOLD_MAX || now >= deadline)
		return NULL;
	ms = deadline - now;
	if (retry && ms > HOLD_RETRY_MS)
		ms = HOLD_RETRY_MS;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatal("hold");
	h->iev = iev;
	h->imsg = *imsg;
	h->imsg.fd = -1;
	h->imsg.data = NULL;
	h->deadline = deadline;
	h->retry = retry;
	if (imsg->len > 0) {
		if ((h->imsg.data = malloc(imsg->len)) == NULL)
			fatal("hold");
		memcpy(h->imsg.data, imsg->data, imsg->len);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if ((h->timer = evtimer_new(raftd_child.base, held_timeout,
	    h)) == NULL || evtimer_add(h->timer, &tv) == -1)
		fatalx("hold: evtimer");
	TAILQ_INSERT_TAIL(&helds, h, entry);
	nhelds++;
	return h;
}

/*
 * Hold a request that found no leader; 0 if held, -1 if it must fail
 * now (holding is off, too many are held, or its time is up).
 */
int
hold_request(struct imsgev *iev, struct imsg *imsg)
{
	if (hold_add(iev, imsg, hold_deadline(), 0) == NULL)
		return -1;
	log_debug("hold: request %u held for want of a leader",
	    imsg->hdr.peerid);
	return 0;
}

/* Send it again shortly, until deadline; -1 as hold_request(). */
int
hold_retry(struct imsgev *iev, struct imsg *imsg, uint64_t deadline)
{
	if (hold_add(iev, imsg, deadline, 1) == NULL)
		return -1;
	log_debug("hold: request %u held to go again", imsg->hdr.peerid);
	return 0;
}

/*
 * Hold a request until its token (digest: acl_agent.c's key of it) is
 * resolved; -1 as hold_request(), or when it went again for it once.
 */
int
hold_token(struct imsgev *iev, struct imsg *imsg, const unsigned char *digest)
{
	struct held	*h;

	if (token_settled ||
	    (h = hold_add(iev, imsg, hold_deadline(), 0)) == NULL)
		return -1;
	h->token = 1;
	memcpy(h->digest, digest, HOLD_DIGEST_LEN);
	log_debug("hold: request %u held for its token", imsg->hdr.peerid);
	return 0;
}

/*
 * Move to now, in order, the requests waiting for the token with this
 * digest, or with digest NULL those waiting for a leader or a retry.
 */
static void
hold_take(struct held_list *now, const unsigned char *digest)
{
	struct held	*h, *next;

	for (h = TAILQ_FIRST(&helds); h != NULL; h = next) {
		next = TAILQ_NEXT(h, entry);
		if (digest == NULL ? h->token : !h->token ||
		    memcmp(h->digest, digest, HOLD_DIGEST_LEN) != 0)
			continue;
		TAILQ_REMOVE(&helds, h, entry);
		TAILQ_INSERT_TAIL(now, h, entry);
	}
}

/* Whether the request being handled went again after its token's hold. */
int
hold_token_settled(void)
{
	return token_settled;
}

/* The token with this digest is resolved: its requests go again. */
void
hold_token_release(const unsigned char *digest)
{
	struct held_list	 now = TAILQ_HEAD_INITIALIZER(now);
	struct held		*h;

	hold_take(&now, digest);
	while ((h = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, h, entry);
		TAILQ_INSERT_HEAD(&helds, h, entry);
		token_again(h);
	}
}

/*
 * A leader was elected: every request held so far goes again, in order
 * (one that finds no leader again is held anew, not retried here).
 */
void
hold_release(void)
{
	struct held_list	 now = TAILQ_HEAD_INITIALIZER(now);
	struct held		*h;

	if (!TAILQ_EMPTY(&helds))
		log_debug("hold: a leader is known: %zu requests go again",
		    nhelds);
	/* Those waiting for their token go on waiting. */
	hold_take(&now, NULL);
	while ((h = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, h, entry);
		TAILQ_INSERT_HEAD(&helds, h, entry);
		hold_again(h);
	}
}

/* The asker went away. */
void
hold_cancel(struct imsgev *iev, uint32_t reqid)
{
	struct held	*h;

	TAILQ_FOREACH(h, &helds, entry)
		if (h->iev == iev && h->imsg.hdr.peerid == reqid) {
			held_free(h);
			return;
		}
}
