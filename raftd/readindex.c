/*
 * Reads that must first know we still lead: ?consistent reads, and
 * default reads when the leader's lease has run out (node_read_lease()).
 * The request's imsg is kept while the core runs a round of heartbeats
 * (raft_read_index()); once a majority answered, and the state machine
 * has applied up to the commit index the round confirmed, the request
 * is handled again with raftd.read_confirmed set and answers from the
 * local state.  Leadership lost before the round completed: it goes
 * again as if just arrived, so it is forwarded to the new leader or
 * held until there is one.  The asker's cancel drops it.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "raftd.h"

struct read_wait {
	TAILQ_ENTRY(read_wait)	 entry;
	struct imsgev		*iev;
	struct imsg		 imsg;		/* data is ours */
	uint64_t		 ctx;
	uint64_t		 index;		/* confirmed commit index */
	int			 state;
#define RW_ASKED	0
#define RW_CONFIRMED	1
#define RW_LOST		2
};

static TAILQ_HEAD(, read_wait)	 waits = TAILQ_HEAD_INITIALIZER(waits);
static size_t			 nwaits;
static uint64_t			 next_ctx;

static void
wait_free(struct read_wait *w)
{
	TAILQ_REMOVE(&waits, w, entry);
	nwaits--;
	free(w->imsg.data);
	free(w);
}

/*
 * Start a round for this request; 0 if it waits, -1 if the core took no
 * more reads (we no longer lead, or too many are under way).
 */
int
readindex_wait(struct raftd *r, struct imsgev *iev, struct imsg *imsg)
{
	struct read_wait	*w;

	if (nwaits >= RAFT_READS_MAX || r->raft == NULL)
		return -1;
	if (raft_read_index(r->raft, next_ctx + 1) == -1)
		return -1;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("readindex");
	w->ctx = ++next_ctx;
	w->iev = iev;
	w->imsg = *imsg;
	w->imsg.fd = -1;
	w->imsg.data = NULL;
	if (imsg->len > 0) {
		if ((w->imsg.data = malloc(imsg->len)) == NULL)
			fatal("readindex");
		memcpy(w->imsg.data, imsg->data, imsg->len);
	}
	TAILQ_INSERT_TAIL(&waits, w, entry);
	nwaits++;
	node_schedule_flush(r);
	return 0;
}

/* The core's answers, from a ready (before raft_advance()). */
void
readindex_states(const struct raft_read_state *rs, size_t n)
{
	struct read_wait	*w;
	size_t			 i;

	for (i = 0; i < n; i++) {
		TAILQ_FOREACH(w, &waits, entry)
			if (w->ctx == rs[i].ctx)
				break;
		if (w == NULL || w->state != RW_ASKED)
			continue;	/* cancelled meanwhile */
		w->index = rs[i].index;
		w->state = rs[i].index == 0 ? RW_LOST : RW_CONFIRMED;
	}
}

/* After raft_advance(): handle again what may go on now, in order. */
void
readindex_release(struct raftd *r)
{
	struct read_wait	*w, *next;
	struct imsgev		*iev;
	struct imsg		 imsg;
	int			 confirmed;

	for (w = TAILQ_FIRST(&waits); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->state == RW_ASKED ||
		    (w->state == RW_CONFIRMED && r->applied < w->index))
			continue;
		confirmed = w->state == RW_CONFIRMED;
		iev = w->iev;
		imsg = w->imsg;
		w->imsg.data = NULL;	/* imsg owns it for the call */
		wait_free(w);
		r->read_confirmed = confirmed;
		switch (imsg.hdr.type) {
		case IMSG_KV_READ:
			kv_read_request(iev, &imsg);
			break;
		case IMSG_CAT_READ:
			cat_read_request(iev, &imsg);
			break;
		case IMSG_RAFT_CONF_REQ:
			raft_conf_request(iev, &imsg);
			break;
		default:
			fatalx("readindex: unexpected request type %u",
			    imsg.hdr.type);
		}
		r->read_confirmed = 0;
		free(imsg.data);
		/* The handler may have added waits and freed others. */
		next = TAILQ_FIRST(&waits);
		while (next != NULL && next->state == RW_ASKED)
			next = TAILQ_NEXT(next, entry);
	}
}

/* The asker went away. */
void
readindex_cancel(struct imsgev *iev, uint32_t reqid)
{
	struct read_wait	*w;

	TAILQ_FOREACH(w, &waits, entry)
		if (w->iev == iev && w->imsg.hdr.peerid == reqid) {
			wait_free(w);
			return;
		}
}
