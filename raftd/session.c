/*
 * What raftd keeps in memory about sessions, as Consul does:
 *
 *  - on the leader, a timer per session with a TTL.  A session not
 *    renewed within twice its TTL is destroyed through Raft.  A new
 *    leader starts every timer afresh, so a leader change never makes
 *    sessions lapse early.
 *  - on every server, the lock delay of each key whose session was
 *    invalidated: until it passes, the leader refuses to let another
 *    session acquire the key (kv.c).  Recorded as the invalidation is
 *    applied, so whichever server leads next knows it too.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "duration.h"
#include "log.h"
#include "raftd.h"
#include "session_state.h"

#define SESSION_TICK_MS		500
/* A destroy proposed for a lapsed session is proposed again after. */
#define SESSION_RETRY_MS	5000
#define SESSION_TIMERS_MAX	(1024 * 1024)
#define LOCK_DELAYS_MAX		(1024 * 1024)

struct sess_timer {
	RB_ENTRY(sess_timer)	 entry;
	char			*id;
	uint64_t		 ttl_ms;
	uint64_t		 deadline;	/* node_now_ms() */
};

int	sess_timer_cmp(struct sess_timer *, struct sess_timer *);

int
sess_timer_cmp(struct sess_timer *a, struct sess_timer *b)
{
	return strcmp(a->id, b->id);
}

RB_HEAD(sess_timers, sess_timer);
RB_PROTOTYPE(sess_timers, sess_timer, entry, sess_timer_cmp)
RB_GENERATE(sess_timers, sess_timer, entry, sess_timer_cmp)

struct lock_delay {
	RB_ENTRY(lock_delay)	 entry;
	char			*key;
	size_t			 keylen;
	uint64_t		 until;		/* node_now_ms() */
};

int	lock_delay_cmp(struct lock_delay *, struct lock_delay *);

int
lock_delay_cmp(struct lock_delay *a, struct lock_delay *b)
{
	size_t	 n = a->keylen < b->keylen ? a->keylen : b->keylen;
	int	 c;

	if ((c = memcmp(a->key, b->key, n)) != 0)
		return c;
	return a->keylen < b->keylen ? -1 : a->keylen > b->keylen;
}

RB_HEAD(lock_delays, lock_delay);
RB_PROTOTYPE(lock_delays, lock_delay, entry, lock_delay_cmp)
RB_GENERATE(lock_delays, lock_delay, entry, lock_delay_cmp)

static struct sess_timers	 timers = RB_INITIALIZER(&timers);
static size_t			 ntimers;
static int			 timers_on;	/* this term's leader */
static uint64_t			 timers_term;
static struct lock_delays	 delays = RB_INITIALIZER(&delays);
static size_t			 ndelays;
static struct event		*tick_ev;

/* A session's TTL in ms; 0 for none (or one that does not parse). */
static uint64_t
ttl_ms(const char *ttl)
{
	int64_t	 ns;

	if (ttl == NULL || *ttl == '\0' || duration_parse(ttl, &ns) == -1 ||
	    ns <= 0)
		return 0;
	return (uint64_t)ns / DURATION_MSEC;
}

static void
timer_free(struct sess_timer *t)
{
	RB_REMOVE(sess_timers, &timers, t);
	ntimers--;
	free(t->id);
	free(t);
}

static void
timers_clear(void)
{
	struct sess_timer	*t;

	while ((t = RB_MIN(sess_timers, &timers)) != NULL)
		timer_free(t);
	timers_on = 0;
}

/* (Re)start the session's timer: twice its TTL from now. */
static void
timer_set(const char *id, uint64_t ms)
{
	struct sess_timer	 key, *t;

	if (ms == 0)
		return;
	key.id = (char *)id;
	if ((t = RB_FIND(sess_timers, &timers, &key)) == NULL) {
		if (ntimers >= SESSION_TIMERS_MAX)
			return;
		if ((t = calloc(1, sizeof(*t))) == NULL ||
		    (t->id = strdup(id)) == NULL)
			fatal("session");
		RB_INSERT(sess_timers, &timers, t);
		ntimers++;
	}
	t->ttl_ms = ms;
	t->deadline = node_now_ms() + 2 * ms;
}

static int
timer_init_cb(void *arg, const struct cat_session *se)
{
	timer_set(se->id, ttl_ms(se->ttl));
	return 0;
}

/*
 * The timers follow leadership: a new leader (or a new term of the same
 * one) starts every TTL session's timer afresh; a follower keeps none.
 */
static void
timers_sync(void)
{
	uint64_t	 term = raft_term(raftd.raft);

	if (!node_is_leader(&raftd)) {
		if (timers_on || ntimers > 0)
			timers_clear();
		return;
	}
	if (timers_on && timers_term == term)
		return;
	timers_clear();
	if (session_state_list(&raftd.store, timer_init_cb, NULL) == -1)
		fatalx("session: cannot read the sessions");
	timers_on = 1;
	timers_term = term;
}

static void
propose_destroy(struct sess_timer *t)
{
	struct mpack_out	 rec;

	mpack_out_init(&rec);
	mpack_str(&rec.pk, t->id);
	if (cat_propose(&raftd, CAT_WRITE_SESSION_DESTROY, &rec) != 0)
		log_info("session: %s lapsed (TTL %llu ms), destroying it",
		    t->id, (unsigned long long)t->ttl_ms);
	mpack_out_free(&rec);
	/* Applied, it goes (session_gone); else it is tried again. */
	t->deadline = node_now_ms() + SESSION_RETRY_MS;
}

static void
delays_prune(uint64_t now)
{
	struct lock_delay	*d, *next;

	for (d = RB_MIN(lock_delays, &delays); d != NULL; d = next) {
		next = RB_NEXT(lock_delays, &delays, d);
		if (d->until > now)
			continue;
		RB_REMOVE(lock_delays, &delays, d);
		ndelays--;
		free(d->key);
		free(d);
	}
}

static void
session_tick(evutil_socket_t fd, short events, void *arg)
{
	struct sess_timer	*t, *next;
	struct timeval		 tv = { 0, SESSION_TICK_MS * 1000 };
	uint64_t		 now = node_now_ms();

	timers_sync();
	for (t = RB_MIN(sess_timers, &timers); t != NULL; t = next) {
		next = RB_NEXT(sess_timers, &timers, t);
		if (t->deadline <= now)
			propose_destroy(t);
	}
	delays_prune(now);
	evtimer_add(tick_ev, &tv);
}

void
session_start(void)
{
	struct timeval	 tv = { 0, SESSION_TICK_MS * 1000 };

	if (!raftd_child.conf->server)
		return;
	if ((tick_ev = evtimer_new(raftd_child.base, session_tick,
	    NULL)) == NULL || evtimer_add(tick_ev, &tv) == -1)
		fatalx("session: cannot arm the timer");
}

/* A session was created (applied): the leader starts its timer. */
void
session_created(const struct cat_session *se)
{
	if (timers_on && node_is_leader(&raftd))
		timer_set(se->id, ttl_ms(se->ttl));
}

/* session_effects.gone: it was destroyed or invalidated. */
void
session_gone(void *arg, const char *id)
{
	struct sess_timer	 key, *t;

	key.id = (char *)id;
	if ((t = RB_FIND(sess_timers, &timers, &key)) != NULL)
		timer_free(t);
}

/* The leader renews a session; its TTL in ms (0: none). */
uint64_t
session_renew(const struct cat_session *se)
{
	uint64_t	 ms = ttl_ms(se->ttl);

	timers_sync();
	if (timers_on)
		timer_set(se->id, ms);
	return ms;
}

/* session_effects.delay: key may not be acquired for ns from now. */
void
session_lock_delay(void *arg, const char *key, size_t keylen, uint64_t ns)
{
	struct lock_delay	 find, *d;
	uint64_t		 until = node_now_ms() + ns / 1000000;

	find.key = (char *)key;
	find.keylen = keylen;
	if ((d = RB_FIND(lock_delays, &delays, &find)) == NULL) {
		if (ndelays >= LOCK_DELAYS_MAX)
			delays_prune(node_now_ms());
		if (ndelays >= LOCK_DELAYS_MAX)
			return;
		if ((d = calloc(1, sizeof(*d))) == NULL ||
		    (d->key = malloc(keylen ? keylen : 1)) == NULL)
			fatal("session");
		memcpy(d->key, key, keylen);
		d->keylen = keylen;
		RB_INSERT(lock_delays, &delays, d);
		ndelays++;
	}
	if (until > d->until)
		d->until = until;
}

/* Whether the key is still within the lock delay of a lost lock. */
int
session_lock_delayed(const char *key, size_t keylen)
{
	struct lock_delay	 find, *d;

	find.key = (char *)key;
	find.keylen = keylen;
	if ((d = RB_FIND(lock_delays, &delays, &find)) == NULL)
		return 0;
	return d->until > node_now_ms();
}

/* A restore replaced the state: the leader starts its timers anew. */
void
session_reset(void)
{
	timers_clear();
}
