/*
 * Requests that need a leader while none is known, as Consul's
 * rpc_hold_timeout: a server holds them (keeping their imsg) until a
 * leader is elected, then serves or forwards them as if they had just
 * arrived; after performance.rpc_hold_timeout (7 s) they fail with "No
 * cluster leader".  The asker's cancel drops a held request.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "raftd.h"

#define HOLD_MAX	4096

struct held {
	TAILQ_ENTRY(held)	 entry;
	struct imsgev		*iev;
	struct imsg		 imsg;		/* data is ours */
	struct event		*timer;
};

static TAILQ_HEAD(, held)	 helds = TAILQ_HEAD_INITIALIZER(helds);
static size_t			 nhelds;

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
	if (h->imsg.hdr.type == IMSG_KV_WRITE)
		kv_write_error(h->iev, h->imsg.hdr.peerid, "No cluster leader");
	else if (h->imsg.hdr.type == IMSG_RAFT_CONF_REQ)
		raft_conf_error(h->iev, h->imsg.hdr.peerid,
		    "No cluster leader");
	else if (h->imsg.hdr.type == IMSG_RAFT_OP_REQ)
		raft_op_answer(h->iev, h->imsg.hdr.peerid,
		    "No cluster leader", NULL);
	else
		read_end(h->iev, h->imsg.hdr.peerid, 1, 0, "No cluster leader");
	held_free(h);
}

static void
held_timeout(evutil_socket_t fd, short events, void *arg)
{
	held_fail(arg);
}

/*
 * Hold a request that found no leader; 0 if held, -1 if it must fail
 * now (holding is off, or too many are held).
 */
int
hold_request(struct imsgev *iev, struct imsg *imsg)
{
	struct held	*h;
	struct timeval	 tv;
	int64_t		 ms;

	ms = raftd_child.conf->performance.rpc_hold_timeout / 1000000;
	if (ms <= 0 || nhelds >= HOLD_MAX)
		return -1;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatal("hold");
	h->iev = iev;
	h->imsg = *imsg;
	h->imsg.fd = -1;
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
	log_debug("hold: request %u held for want of a leader",
	    imsg->hdr.peerid);
	return 0;
}

/*
 * A leader was elected: every request held so far goes again, in order
 * (one that finds no leader again is held anew, not retried here).
 */
void
hold_release(void)
{
	TAILQ_HEAD(, held)	 now = TAILQ_HEAD_INITIALIZER(now);
	struct held		*h;
	struct imsg		 imsg;
	struct imsgev		*iev;

	if (!TAILQ_EMPTY(&helds))
		log_debug("hold: a leader is known: %zu requests go again",
		    nhelds);
	TAILQ_CONCAT(&now, &helds, entry);
	while ((h = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, h, entry);
		TAILQ_INSERT_HEAD(&helds, h, entry);
		imsg = h->imsg;
		iev = h->iev;
		h->imsg.data = NULL;	/* imsg owns it for the call */
		held_free(h);
		switch (imsg.hdr.type) {
		case IMSG_KV_READ:
			kv_read_request(iev, &imsg);
			break;
		case IMSG_KV_WRITE:
			kv_write_request(iev, &imsg);
			break;
		case IMSG_RAFT_CONF_REQ:
			raft_conf_request(iev, &imsg);
			break;
		case IMSG_RAFT_OP_REQ:
			raft_op_request(iev, &imsg);
			break;
		}
		free(imsg.data);
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
