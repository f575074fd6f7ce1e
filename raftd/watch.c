/*
 * Blocking queries.  A read whose index has not passed the client's
 * ?index parks here with a timer for its wait (plus up to wait/16 of
 * jitter, so parked clients do not return in lockstep).  A committed
 * change to a key wakes only the watches on that key or on a prefix of
 * it; the answers go out after the batch is durable.  A parked query
 * costs this struct, its key and a timer: nothing polls.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "raftd.h"

static void	watch_timeout(evutil_socket_t, short, void *);

static void
watch_free(struct raftd *r, struct watch *w)
{
	TAILQ_REMOVE(&r->watches, w, entry);
	if (w->fired)
		r->nfired--;
	event_free(w->timer);
	kv_read_free(&w->read);
	free(w);
}

void
watch_add(struct raftd *r, struct imsgev *iev, uint32_t reqid,
    struct kv_read *rd)
{
	struct watch	*w;
	struct timeval	 tv;
	uint64_t	 ms = rd->wait_ms;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("watch");
	w->read = *rd;
	memset(rd, 0, sizeof(*rd));
	w->iev = iev;
	w->reqid = reqid;
	if (ms / 16 > 0)
		ms += arc4random_uniform(ms / 16 > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)(ms / 16));
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if ((w->timer = evtimer_new(r->child->base, watch_timeout, w)) == NULL ||
	    evtimer_add(w->timer, &tv) == -1)
		fatalx("watch: cannot arm timer");
	TAILQ_INSERT_TAIL(&r->watches, w, entry);
}

static void
watch_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct watch	*w = arg;

	kv_answer(w->iev, w->reqid, &w->read);
	watch_free(&raftd, w);
}

/*
 * The client went away.  apid still waits for the one answer every
 * request gets, so the watch answers now instead of at its timeout.
 */
void
watch_cancel(struct raftd *r, struct imsgev *iev, uint32_t reqid)
{
	struct watch	*w;

	TAILQ_FOREACH(w, &r->watches, entry) {
		if (w->iev == iev && w->reqid == reqid) {
			kv_answer(w->iev, w->reqid, &w->read);
			watch_free(r, w);
			return;
		}
	}
}

/* Called by the state machine for each key it changed. */
void
watch_kv_changed(void *arg, const char *key, size_t keylen)
{
	struct raftd	*r = arg;
	struct watch	*w;

	TAILQ_FOREACH(w, &r->watches, entry) {
		if (w->fired)
			continue;
		if (w->read.mode == KV_READ_SINGLE ?
		    (w->read.keylen == keylen &&
		    memcmp(w->read.key, key, keylen) == 0) :
		    (w->read.keylen <= keylen &&
		    memcmp(w->read.key, key, w->read.keylen) == 0)) {
			w->fired = 1;
			r->nfired++;
		}
	}
}

/* After a durable commit: answer every watch a change woke. */
void
watch_deliver(struct raftd *r)
{
	struct watch	*w, *next;

	if (r->nfired == 0)
		return;
	for (w = TAILQ_FIRST(&r->watches); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (!w->fired)
			continue;
		kv_answer(w->iev, w->reqid, &w->read);
		watch_free(r, w);
	}
}
