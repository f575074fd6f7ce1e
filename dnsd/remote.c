/*
 * Names of other datacenters (dns_proto.h).  They are not in the view
 * raftd pushes: a query for one asks raftd, which reads it in that
 * datacenter, and is answered when the reply is here, without holding
 * up any other query.  Each reply becomes a small view of its own (the
 * nodes of one service, one node, or the prepared queries), kept in a
 * cache for a few seconds, never longer than dns_config.max_stale, so
 * that a burst of the same question costs one round trip; questions
 * asked again while one is under way wait for the same reply.  A
 * failure is kept a second at most; a reply that never comes counts
 * as a failure rpc_hold_timeout (plus a margin for raftd's own
 * attempt) after the question.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "dns_proto.h"
#include "dnsd.h"
#include "log.h"
#include "mpack.h"
#include "proc.h"

#define REMOTE_TIMEOUT_SLACK_MS	2000

struct remote_wait {
	TAILQ_ENTRY(remote_wait) entry;
	struct remotes		*r;
	struct remote_entry	*e;
	remote_done_fn		 done;
	void			*arg;
};

struct remote_entry {
	RB_ENTRY(remote_entry)	 entry;
	TAILQ_ENTRY(remote_entry) pend;		/* pending, or done */
	struct remotes		*r;
	int			 kind;		/* enum dns_remote_kind */
	char			 dc[DNS_LABEL_MAX + 1];
	char			 name[DNS_NAME_TEXT_MAX];
	int			 pending;
	int			 status;	/* enum remote_status */
	int			 bad;		/* an item was unusable */
	uint32_t		 id;
	uint64_t		 expires;	/* monotonic ms */
	struct feed		 feed;
	char		       **dcs;		/* DNS_REMOTE_DCS */
	size_t			 ndcs;
	struct event		*timer;
	TAILQ_HEAD(, remote_wait) waits;
};

static int
remote_cmp(struct remote_entry *a, struct remote_entry *b)
{
	int	 c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if ((c = strcmp(a->dc, b->dc)) != 0)
		return c;
	return strcasecmp(a->name, b->name);
}

RB_GENERATE(remote_tree, remote_entry, entry, remote_cmp)

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("dns: clock_gettime");
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
remotes_init(struct remotes *r, struct event_base *base, struct imsgev *raftd,
    const struct config *conf)
{
	memset(r, 0, sizeof(*r));
	r->base = base;
	r->raftd = raftd;
	RB_INIT(&r->tree);
	TAILQ_INIT(&r->pending);
	TAILQ_INIT(&r->done);
	remotes_conf(r, conf);
}

/* How long answers are kept, and waited for (on start and SIGHUP). */
void
remotes_conf(struct remotes *r, const struct config *conf)
{
	int64_t	 ms = conf->dns_config.max_stale / 1000000;

	r->cache_ms = REMOTE_CACHE_MS;
	if (ms > 0 && (uint64_t)ms < r->cache_ms)
		r->cache_ms = (uint64_t)ms;
	ms = conf->performance.rpc_hold_timeout / 1000000;
	r->timeout_ms = (ms > 0 ? (uint64_t)ms : 0) + REMOTE_TIMEOUT_SLACK_MS;
}

static void
dcs_free(struct remote_entry *e)
{
	size_t	 i;

	for (i = 0; i < e->ndcs; i++)
		free(e->dcs[i]);
	free(e->dcs);
	e->dcs = NULL;
	e->ndcs = 0;
}

static void
entry_free(struct remote_entry *e)
{
	struct remotes		*r = e->r;
	struct remote_wait	*w;

	while ((w = TAILQ_FIRST(&e->waits)) != NULL) {
		TAILQ_REMOVE(&e->waits, w, entry);
		r->nwait--;
		free(w);
	}
	if (e->pending)
		TAILQ_REMOVE(&r->pending, e, pend);
	else
		TAILQ_REMOVE(&r->done, e, pend);
	RB_REMOVE(remote_tree, &r->tree, e);
	r->n--;
	if (e->timer != NULL)
		event_free(e->timer);
	feed_free(&e->feed);
	dcs_free(e);
	free(e);
}

void
remotes_free(struct remotes *r)
{
	struct remote_entry	*e;

	while ((e = RB_MIN(remote_tree, &r->tree)) != NULL)
		entry_free(e);
}

static struct remote_entry *
entry_find(struct remotes *r, const char *dc, int kind, const char *name)
{
	/* The key is large: kept off the stack, dnsd has one thread. */
	static struct remote_entry	 key;

	key.kind = kind;
	if (strlcpy(key.dc, dc, sizeof(key.dc)) >= sizeof(key.dc) ||
	    strlcpy(key.name, name, sizeof(key.name)) >= sizeof(key.name))
		return NULL;
	return RB_FIND(remote_tree, &r->tree, &key);
}

/*
 * What the cache says of a name of another datacenter: REMOTE_OK with
 * its view, REMOTE_NO_DC, REMOTE_FAILED, or REMOTE_MISS (ask).  The
 * reply being delivered counts as current however short the cache.
 */
int
remote_lookup(struct remotes *r, const char *dc, int kind, const char *name,
    const struct view **v)
{
	struct remote_entry	*e;

	*v = NULL;
	if (r == NULL)
		return REMOTE_FAILED;
	if ((e = entry_find(r, dc, kind, name)) == NULL)
		return REMOTE_MISS;
	if (e != r->fresh) {
		if (e->pending)
			return REMOTE_MISS;
		if (now_ms() >= e->expires) {
			entry_free(e);
			return REMOTE_MISS;
		}
	}
	if (e->status == REMOTE_OK && (*v = feed_view(&e->feed)) == NULL)
		return REMOTE_FAILED;
	return e->status;
}

/* The same for the datacenters known here, nearest first. */
int
remote_lookup_dcs(struct remotes *r, const char *local, char *const **dcs,
    size_t *n)
{
	struct remote_entry	*e;
	int			 st;

	*dcs = NULL;
	*n = 0;
	if (r == NULL)
		return REMOTE_FAILED;
	if ((e = entry_find(r, local, DNS_REMOTE_DCS, "")) == NULL)
		return REMOTE_MISS;
	if (e != r->fresh) {
		if (e->pending)
			return REMOTE_MISS;
		if (now_ms() >= e->expires) {
			entry_free(e);
			return REMOTE_MISS;
		}
	}
	if ((st = e->status) == REMOTE_OK) {
		*dcs = e->dcs;
		*n = e->ndcs;
	}
	return st;
}

/*
 * Make room in the cache: what has expired goes, else the oldest
 * answer.  Questions under way are fewer than the cache holds.
 */
static void
cache_prune(struct remotes *r)
{
	struct remote_entry	*e, *next;
	uint64_t		 now = now_ms();

	for (e = TAILQ_FIRST(&r->done); e != NULL; e = next) {
		next = TAILQ_NEXT(e, pend);
		if (e != r->fresh && now >= e->expires)
			entry_free(e);
	}
	for (e = TAILQ_FIRST(&r->done); e != NULL && r->n >= REMOTE_CACHE_MAX;
	    e = next) {
		next = TAILQ_NEXT(e, pend);
		if (e != r->fresh)
			entry_free(e);
	}
}

static void	entry_complete(struct remote_entry *, int);

static void
entry_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct remote_entry	*e = arg;

	log_debug("dns: no answer from datacenter %s in time", e->dc);
	entry_complete(e, REMOTE_FAILED);
}

static int
entry_ask(struct remotes *r, struct remote_entry *e)
{
	struct mpack_out	 out;
	struct timeval		 tv;
	int			 rc;

	do {
		e->id = ++r->next_id;
	} while (e->id == 0);
	tv.tv_sec = r->timeout_ms / 1000;
	tv.tv_usec = (r->timeout_ms % 1000) * 1000;
	if ((e->timer = evtimer_new(r->base, entry_timeout, e)) == NULL ||
	    evtimer_add(e->timer, &tv) == -1)
		return -1;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	mpack_str(&out.pk, e->dc);
	msgpack_pack_uint8(&out.pk, (uint8_t)e->kind);
	mpack_str(&out.pk, e->name);
	rc = imsgev_compose(r->raftd, IMSG_DNS_REMOTE_REQ, e->id, -1,
	    out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	return rc;
}

/*
 * Wait for the reply to a question (asking it if it is not under way):
 * done(arg) is called once when it is here, unless remote_cancel()
 * comes first.  NULL: too many questions at once (answer SERVFAIL).
 */
struct remote_wait *
remote_start(struct remotes *r, const char *dc, int kind, const char *name,
    remote_done_fn done, void *arg)
{
	struct remote_entry	*e;
	struct remote_wait	*w;

	if (r == NULL || r->raftd == NULL || r->nwait >= REMOTE_WAIT_MAX)
		return NULL;
	if ((e = entry_find(r, dc, kind, name)) != NULL && !e->pending) {
		if (e == r->fresh)
			return NULL;
		entry_free(e);
		e = NULL;
	}
	if (e == NULL) {
		if (r->n >= REMOTE_CACHE_MAX)
			cache_prune(r);
		if (r->n >= REMOTE_CACHE_MAX || (e = calloc(1,
		    sizeof(*e))) == NULL)
			return NULL;
		e->r = r;
		e->kind = kind;
		if (strlcpy(e->dc, dc, sizeof(e->dc)) >= sizeof(e->dc) ||
		    strlcpy(e->name, name, sizeof(e->name)) >=
		    sizeof(e->name)) {
			free(e);
			return NULL;
		}
		TAILQ_INIT(&e->waits);
		feed_init(&e->feed);
		e->pending = 1;
		RB_INSERT(remote_tree, &r->tree, e);
		TAILQ_INSERT_TAIL(&r->pending, e, pend);
		r->n++;
		if (entry_ask(r, e) == -1) {
			entry_free(e);
			return NULL;
		}
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->r = r;
	w->e = e;
	w->done = done;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&e->waits, w, entry);
	r->nwait++;
	return w;
}

/* The asker went away; the reply, when it comes, is still kept. */
void
remote_cancel(struct remote_wait *w)
{
	TAILQ_REMOVE(&w->e->waits, w, entry);
	w->r->nwait--;
	free(w);
}

/* The reply is whole (or will not come): keep it, wake who waits. */
static void
entry_complete(struct remote_entry *e, int status)
{
	struct remotes		*r = e->r;
	struct remote_wait	*w;
	remote_done_fn		 done;
	void			*arg;
	uint64_t		 keep = r->cache_ms;

	if (status == REMOTE_OK && (e->bad || (e->kind != DNS_REMOTE_DCS &&
	    feed_end(&e->feed, "\x92\x00\xa0", 3) == -1))) {
		log_warnx("dns: unusable answer from datacenter %s", e->dc);
		status = REMOTE_FAILED;
	}
	if (status == REMOTE_FAILED && keep > REMOTE_FAIL_MS)
		keep = REMOTE_FAIL_MS;
	e->status = status;
	e->pending = 0;
	TAILQ_REMOVE(&r->pending, e, pend);
	TAILQ_INSERT_TAIL(&r->done, e, pend);
	event_free(e->timer);
	e->timer = NULL;
	e->expires = now_ms() + keep;
	if (status != REMOTE_OK) {
		feed_free(&e->feed);
		dcs_free(e);
	}
	r->fresh = e;
	while ((w = TAILQ_FIRST(&e->waits)) != NULL) {
		TAILQ_REMOVE(&e->waits, w, entry);
		r->nwait--;
		done = w->done;
		arg = w->arg;
		free(w);
		done(arg);
	}
	r->fresh = NULL;
}

static struct remote_entry *
pending_find(struct remotes *r, uint32_t id)
{
	struct remote_entry	*e;

	TAILQ_FOREACH(e, &r->pending, pend)
		if (e->id == id)
			return e;
	return NULL;
}

/* A datacenter's name, for DNS_REMOTE_DCS. */
static int
dcs_add(struct remote_entry *e, const void *data, size_t len)
{
	msgpack_unpacked	 u;
	char			 dc[DNS_LABEL_MAX + 1], **p;
	int			 rc;

	if (mpack_parse(&u, data, len) == -1)
		return -1;
	rc = mpack_copy_str(&u.data, dc, sizeof(dc));
	msgpack_unpacked_destroy(&u);
	if (rc == -1 || !dc_name_valid(dc) || e->ndcs >= REMOTE_DCS_MAX ||
	    (p = reallocarray(e->dcs, e->ndcs + 1, sizeof(*p))) == NULL)
		return -1;
	e->dcs = p;
	if ((e->dcs[e->ndcs] = strdup(dc)) == NULL)
		return -1;
	e->ndcs++;
	return 0;
}

/* IMSG_DNS_REMOTE_ITEM: one node, one prepared query, or a name. */
void
remote_item(struct remotes *r, uint32_t id, const void *data, size_t len)
{
	struct remote_entry	*e;
	int			 rc;

	if ((e = pending_find(r, id)) == NULL || e->bad)
		return;		/* given up on */
	if (e->kind == DNS_REMOTE_DCS)
		rc = dcs_add(e, data, len);
	else if (e->kind == DNS_REMOTE_QUERIES)
		rc = feed_query(&e->feed, data, len);
	else
		rc = feed_node(&e->feed, data, len);
	if (rc == -1)
		e->bad = 1;
}

/* IMSG_DNS_REMOTE_END [outcome, error]; -1 if malformed. */
int
remote_end(struct remotes *r, uint32_t id, const void *data, size_t len)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct remote_entry	*e;
	uint64_t		 outcome;
	char			 error[256];
	int			 ok;

	if (mpack_parse(&u, data, len) == -1)
		return -1;
	a = u.data.via.array.ptr;
	ok = u.data.type == MSGPACK_OBJECT_ARRAY &&
	    u.data.via.array.size == 2 &&
	    mpack_get_uint(&a[0], &outcome) == 0 &&
	    outcome <= DNS_REMOTE_FAILED &&
	    mpack_copy_str(&a[1], error, sizeof(error)) == 0;
	msgpack_unpacked_destroy(&u);
	if (!ok)
		return -1;
	if ((e = pending_find(r, id)) == NULL)
		return 0;
	if (outcome == DNS_REMOTE_FAILED)
		log_debug("dns: datacenter %s: %s", e->dc, error);
	entry_complete(e, outcome == DNS_REMOTE_OK ? REMOTE_OK :
	    outcome == DNS_REMOTE_NO_DC ? REMOTE_NO_DC : REMOTE_FAILED);
	return 0;
}
