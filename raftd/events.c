/*
 * User events, for GET /v1/event/list.  gossipd hands over each event
 * once, ours included; an event whose filters select this agent is kept
 * in a ring of the last EVENT_RING_MAX, as the record gossipd sent.  As
 * in Consul, the index of a listing is no Raft index: it is made from
 * the ID of the last event listed (1 when there is none), so a blocking
 * listing whose index has not moved parks here until an event arrives
 * that changes it, or its wait runs out.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "acl_rules.h"
#include "config.h"
#include "goquote.h"
#include "log.h"
#include "mpack.h"
#include "raftd.h"

/* The fields of a record that raftd looks at. */
struct user_event_fields {
	char			*id;
	char			*name;
	char			*node;
	char			*service;
	char			*tag;
	char			*token;		/* a listing's, or NULL */
};

struct user_event {
	TAILQ_ENTRY(user_event)	 entry;
	char			*name;
	uint64_t		 index;		/* from the ID */
	void			*rec;		/* as gossipd sent it */
	size_t			 len;
};

/* A listing parked until the index moves or the wait runs out. */
struct user_event_wait {
	TAILQ_ENTRY(user_event_wait) entry;
	struct imsgev		*iev;
	uint32_t		 reqid;
	struct user_event_fields q;	/* name and filters; no id */
	uint64_t		 index;
	struct event		*timer;
};

static TAILQ_HEAD(, user_event)		ring = TAILQ_HEAD_INITIALIZER(ring);
static size_t				nring;
static TAILQ_HEAD(, user_event_wait)	waits =
					    TAILQ_HEAD_INITIALIZER(waits);

static void
fields_free(struct user_event_fields *f)
{
	free(f->id);
	free(f->name);
	free(f->node);
	free(f->service);
	free(f->tag);
	if (f->token != NULL) {
		explicit_bzero(f->token, strlen(f->token));
		free(f->token);
	}
	memset(f, 0, sizeof(*f));
}

/* An unanchored POSIX extended expression; one that is bad matches none. */
static int
regex_matches(const char *re, const char *s)
{
	regex_t	 r;
	int	 match;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	match = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return match;
}

/*
 * Whether filters select this agent, as Consul's
 * shouldProcessUserEvent decides: the node filter is matched against
 * the node name; a service filter must match one of the agent's
 * services, and the tag filter, which only counts with it, one of that
 * service's tags.  Agents have no local services yet, so no service
 * filter can match: an event with one is not for us.  The catalog's
 * issue extends this when local services exist.
 */
static int
user_event_selects(const struct user_event_fields *f)
{
	if (*f->node != '\0' &&
	    !regex_matches(f->node, raftd_child.conf->node_name))
		return 0;
	if (*f->service != '\0')
		return 0;
	return 1;
}

/*
 * Consul's uuidToUint64: the two 64-bit halves of the ID, XORed.  An
 * index of 0 means "do not block" to clients, so it becomes 1.
 */
static int
user_event_index(const char *id, uint64_t *index)
{
	uint64_t	 half[2] = { 0, 0 };
	int		 n = 0, v;

	if (!node_id_valid(id))
		return -1;
	for (; *id != '\0'; id++) {
		if (*id == '-')
			continue;
		v = *id <= '9' ? *id - '0' : (*id | 0x20) - 'a' + 10;
		half[n / 16] = half[n / 16] << 4 | (uint64_t)v;
		n++;
	}
	*index = half[0] ^ half[1];
	if (*index == 0)
		*index = 1;
	return 0;
}

/*
 * The fields of a record.  gossipd built the record, so a wrong shape
 * is fatal; the strings came from another agent, so a bad one (a NUL,
 * an ID that is no UUID) only drops the event.
 */
static int
user_event_decode(struct imsgev *iev, const void *buf, size_t len,
    struct user_event_fields *f)
{
	static const int	 at[] = { 0, 1, 3, 4, 5 };
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	char			**s[5];
	size_t			 i;
	int			 rc = -1;

	memset(f, 0, sizeof(*f));
	s[0] = &f->id;
	s[1] = &f->name;
	s[2] = &f->node;
	s[3] = &f->service;
	s[4] = &f->tag;
	if (mpack_parse(&u, buf, len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 7)
		fatalx("events: malformed event from %s", iev->name);
	a = u.data.via.array.ptr;
	for (i = 0; i < 5; i++)
		if (a[at[i]].type != MSGPACK_OBJECT_STR)
			fatalx("events: malformed event from %s", iev->name);
	if ((a[2].type != MSGPACK_OBJECT_BIN &&
	    a[2].type != MSGPACK_OBJECT_NIL) ||
	    a[6].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		fatalx("events: malformed event from %s", iev->name);
	for (i = 0; i < 5; i++)
		if (mpack_get_str(&a[at[i]], s[i]) == -1)
			goto done;
	rc = 0;
 done:
	msgpack_unpacked_destroy(&u);
	if (rc == -1)
		fields_free(f);
	return rc;
}

/*
 * Whether a listing for q shows e: its ?name, and with ACLs on, event
 * read on its name for the reader (an unknown token reads none).
 */
static int
user_event_listed(const struct user_event *e,
    const struct user_event_fields *q)
{
	const struct acl_authz	*az;
	char			 err[ACL_DENIED_MAX];

	if (*q->name != '\0' && strcmp(q->name, e->name) != 0)
		return 0;
	if (q->token == NULL || !acl_enabled())
		return 1;
	return acl_authz_get(q->token, &az, err, sizeof(err)) == 0 &&
	    acl_allowed(az, ACL_RES_EVENT, e->name, ACL_LEVEL_READ);
}

/* The index of what q lists now. */
static uint64_t
user_event_list_index(const struct user_event_fields *q)
{
	struct user_event	*e;
	uint64_t		 index = 1;

	if (!user_event_selects(q))
		return 1;
	TAILQ_FOREACH(e, &ring, entry)
		if (user_event_listed(e, q))
			index = e->index;
	return index;
}

/* The listing, oldest first, then its end. */
static void
user_event_answer(struct imsgev *iev, uint32_t reqid,
    const struct user_event_fields *q)
{
	struct imsg_read_end	 end;
	struct user_event	*e;
	int			 selected = user_event_selects(q);

	memset(&end, 0, sizeof(end));
	end.index = 1;
	TAILQ_FOREACH(e, &ring, entry) {
		if (!selected || !user_event_listed(e, q))
			continue;
		if (imsgev_compose(iev, IMSG_USER_EVENT, reqid, -1, e->rec,
		    e->len) == -1)
			fatal("events: compose");
		end.index = e->index;
	}
	end.found = 1;
	end.known_leader = node_leader_addr(&raftd)[0] != '\0';
	if (imsgev_compose(iev, IMSG_READ_END, reqid, -1, &end,
	    sizeof(end)) == -1)
		fatal("events: compose");
}

static void
user_event_wait_done(struct user_event_wait *w)
{
	user_event_answer(w->iev, w->reqid, &w->q);
	TAILQ_REMOVE(&waits, w, entry);
	event_free(w->timer);
	fields_free(&w->q);
	free(w);
}

static void
user_event_wait_timeout(evutil_socket_t fd, short events, void *arg)
{
	user_event_wait_done(arg);
}

/* gossipd: an event arrived; keep it if it is for us. */
void
user_event_arrived(struct imsgev *iev, struct imsg *imsg)
{
	struct user_event_fields f;
	struct user_event_wait	*w, *next;
	struct user_event	*e;
	uint64_t		 index;
	char			 name[128];

	imsg_need_len_between(imsg, 1, IMSG_GOSSIP_MAX, iev->name);
	if (user_event_decode(iev, imsg->data, imsg->len, &f) == -1) {
		log_warnx("events: an event with a malformed field, dropped");
		return;
	}
	go_quote(name, sizeof(name), f.name, strlen(f.name));
	if (user_event_index(f.id, &index) == -1) {
		log_warnx("events: event %s has no UUID for an ID, dropped",
		    name);
		goto done;
	}
	if (!user_event_selects(&f)) {
		log_debug("events: event %s %s is not for this agent", name,
		    f.id);
		goto done;
	}
	log_debug("events: new event %s %s", name, f.id);
	if (nring == EVENT_RING_MAX) {
		e = TAILQ_FIRST(&ring);
		TAILQ_REMOVE(&ring, e, entry);
		free(e->name);
		free(e->rec);
	} else {
		if ((e = malloc(sizeof(*e))) == NULL)
			fatal("events");
		nring++;
	}
	if ((e->rec = malloc(imsg->len)) == NULL)
		fatal("events");
	memcpy(e->rec, imsg->data, imsg->len);
	e->len = imsg->len;
	e->name = f.name;
	f.name = NULL;
	e->index = index;
	TAILQ_INSERT_TAIL(&ring, e, entry);

	for (w = TAILQ_FIRST(&waits); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (user_event_list_index(&w->q) != w->index)
			user_event_wait_done(w);
	}
 done:
	fields_free(&f);
}

/* Check a listing request; fills q (name and filters) and the rest. */
static void
user_event_list_decode(struct imsgev *iev, struct imsg *imsg,
    struct user_event_fields *q, uint64_t *index, uint64_t *wait_ms)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;

	memset(q, 0, sizeof(*q));
	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 7)
		fatalx("events: malformed list request from %s", iev->name);
	a = u.data.via.array.ptr;
	if (mpack_get_str(&a[0], &q->name) == -1 || q->name == NULL ||
	    mpack_get_str(&a[1], &q->node) == -1 || q->node == NULL ||
	    mpack_get_str(&a[2], &q->service) == -1 || q->service == NULL ||
	    mpack_get_str(&a[3], &q->tag) == -1 || q->tag == NULL ||
	    mpack_get_uint(&a[4], index) == -1 ||
	    mpack_get_uint(&a[5], wait_ms) == -1 ||
	    mpack_get_str(&a[6], &q->token) == -1 || q->token == NULL)
		fatalx("events: malformed list request from %s", iev->name);
	msgpack_unpacked_destroy(&u);
}

/*
 * apid: GET /v1/event/list.  Consul blocks only while the index equals
 * ?index (not "is at most"), for at most EVENT_WAIT_MAX_MS, no jitter.
 */
void
user_event_list_request(struct imsgev *iev, struct imsg *imsg)
{
	struct user_event_fields q;
	struct user_event_wait	*w;
	struct imsg_read_end	 end;
	const struct acl_authz	*az;
	struct timeval		 tv;
	uint64_t		 index, wait_ms;

	memset(&end, 0, sizeof(end));
	user_event_list_decode(iev, imsg, &q, &index, &wait_ms);
	if (acl_enabled() && acl_authz_get(q.token, &az, end.error,
	    sizeof(end.error)) != 0) {
		fields_free(&q);
		end.index = 1;
		if (imsgev_compose(iev, IMSG_READ_END, imsg->hdr.peerid, -1,
		    &end, sizeof(end)) == -1)
			fatal("events: compose");
		return;
	}
	if (index == 0 || index != user_event_list_index(&q)) {
		user_event_answer(iev, imsg->hdr.peerid, &q);
		fields_free(&q);
		return;
	}
	if (wait_ms > EVENT_WAIT_MAX_MS)
		wait_ms = EVENT_WAIT_MAX_MS;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("events");
	w->iev = iev;
	w->reqid = imsg->hdr.peerid;
	w->q = q;
	w->index = index;
	tv.tv_sec = wait_ms / 1000;
	tv.tv_usec = (wait_ms % 1000) * 1000;
	if ((w->timer = evtimer_new(raftd_child.base, user_event_wait_timeout,
	    w)) == NULL || evtimer_add(w->timer, &tv) == -1)
		fatalx("events: cannot arm timer");
	TAILQ_INSERT_TAIL(&waits, w, entry);
}

/*
 * The client of a parked listing went away.  apid still waits for the
 * one answer every request gets, so it is answered now.
 */
void
user_event_cancel(struct imsgev *iev, uint32_t reqid)
{
	struct user_event_wait	*w;

	TAILQ_FOREACH(w, &waits, entry) {
		if (w->iev == iev && w->reqid == reqid) {
			user_event_wait_done(w);
			return;
		}
	}
}
