/*
 * ACL replication, run by the leader of a secondary datacenter: the
 * policies, roles and (with acl.enable_token_replication) the global
 * tokens of the primary datacenter are copied into this datacenter's
 * store, so that tokens made there resolve here, and go on resolving
 * while the primary is out of reach.
 *
 * Each of the three kinds is a stream: a blocking list read sent to the
 * primary as any ?dc= request goes (dc_request()), with the replication
 * token and the primary's index of that kind as the blocking index.
 * When the answer comes, what differs from our copy is proposed through
 * our own Raft log: deletions first, then upserts (policies before the
 * roles and tokens that link to them).  Local tokens, ours alone, are
 * never touched.  An error waits before the next try, doubling up to a
 * bound, so an unreachable primary costs one request per period.  A
 * server that is not the leader runs no stream, and one that loses the
 * leadership drops what it had in flight.
 *
 * The answers come back on a socketpair of our own standing for apid,
 * as forward.c's sink does for forwarded requests.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "acl_state.h"
#include "catalog_codec.h"
#include "config.h"
#include "log.h"
#include "mpack.h"
#include "raftd.h"

#define REPL_WAIT_MS		(5 * 60 * 1000)	/* blocking wait */
#define REPL_BACKOFF_MIN	1		/* seconds */
#define REPL_BACKOFF_MAX	30
#define REPL_ITEMS_MAX		(64 * 1024)

enum { REPL_POLICIES, REPL_ROLES, REPL_TOKENS, REPL_NSTREAMS };

struct repl_stream {
	int		 query;		/* CAT_Q_ACL_* list */
	uint32_t	 reqid;		/* in flight; 0 none */
	uint64_t	 index;		/* the primary's, replicated */
	int		 done_once;	/* a first round applied */
	int		 backoff;	/* seconds, 0 none */
	struct event	 retry;
	int		 waiting;	/* retry is armed */
	uint64_t	 pending;	/* our last proposal's index */
	void		**items;	/* of the answer coming */
	size_t		*lens;
	size_t		 nitems;
};

static struct repl_stream	 streams[REPL_NSTREAMS];
static struct imsgev		 repl_out;	/* dc_request() answers here */
static struct imsgev		 repl_back;	/* and we read it here */
static uint32_t			 next_reqid;
static int			 running;
static struct acl_repl_status	 status;

static void	stream_send(struct repl_stream *);
static void	streams_kick(void);

/* Whether this server's datacenter is a secondary one that replicates. */
static int
repl_configured(void)
{
	const struct config	*c = raftd_child.conf;

	return c->acl.enabled && c->server && c->primary_datacenter != NULL &&
	    strcmp(c->primary_datacenter, c->datacenter) != 0 &&
	    *acl_token("replication") != '\0';
}

static void
items_clear(struct repl_stream *s)
{
	size_t	 i;

	for (i = 0; i < s->nitems; i++)
		free(s->items[i]);
	free(s->items);
	free(s->lens);
	s->items = NULL;
	s->lens = NULL;
	s->nitems = 0;
}

static void
stream_fail(struct repl_stream *s, const char *why)
{
	struct timeval	 tv;
	const char	*kind = s->query == CAT_Q_ACL_POLICIES ? "policies" :
			    s->query == CAT_Q_ACL_ROLES ? "roles" : "tokens";

	items_clear(s);
	s->reqid = 0;
	status.last_error = acl_wall_ns();
	strlcpy(status.last_error_msg, why, sizeof(status.last_error_msg));
	/* The first failure in a row is worth a line; the next ones not. */
	if (s->backoff == 0)
		log_warnx("acl: replication of %s from %s: %s", kind,
		    raftd_child.conf->primary_datacenter, why);
	else
		log_debug("acl: replication of %s from %s: %s", kind,
		    raftd_child.conf->primary_datacenter, why);
	s->backoff = s->backoff == 0 ? REPL_BACKOFF_MIN :
	    s->backoff * 2 > REPL_BACKOFF_MAX ? REPL_BACKOFF_MAX :
	    s->backoff * 2;
	if (s->index > 0)
		s->index = 0;	/* next time, a full answer at once */
	s->waiting = 1;
	tv.tv_sec = s->backoff;
	tv.tv_usec = 0;
	evtimer_add(&s->retry, &tv);
}

/* A remote object of the kind, by its key (ID or accessor). */
struct repl_obj {
	const char	*id;
};

/* Whether two packed records are the same bytes; frees both. */
static int
packed_same(struct mpack_out *x, struct mpack_out *y)
{
	int	 same;

	same = x->sbuf.size == y->sbuf.size &&
	    memcmp(x->sbuf.data, y->sbuf.data, x->sbuf.size) == 0;
	mpack_out_free(x);
	mpack_out_free(y);
	return same;
}

/*
 * Whether local and remote records hold the same object, the indexes
 * aside (each datacenter has its own).  A token's CreateTime is aside
 * too: an update keeps the one a token has, and the anonymous token of
 * each datacenter was made at its own time.
 */
static int
token_same(const struct acl_token *a, struct acl_token *b)
{
	struct mpack_out	 x, y;
	struct acl_token	 c = *a;

	c.create_index = c.modify_index = 0;
	c.create_time = b->create_time;
	b->create_index = b->modify_index = 0;
	mpack_out_init(&x);
	mpack_out_init(&y);
	acl_token_pack(&x.pk, &c);
	acl_token_pack(&y.pk, b);
	return packed_same(&x, &y);
}

static int
policy_same(const struct acl_policy *a, struct acl_policy *b)
{
	struct mpack_out	 x, y;
	struct acl_policy	 c = *a;

	c.create_index = c.modify_index = 0;
	b->create_index = b->modify_index = 0;
	mpack_out_init(&x);
	mpack_out_init(&y);
	acl_policy_pack(&x.pk, &c);
	acl_policy_pack(&y.pk, b);
	return packed_same(&x, &y);
}

static int
role_same(const struct acl_role *a, struct acl_role *b)
{
	struct mpack_out	 x, y;
	struct acl_role		 c = *a;

	c.create_index = c.modify_index = 0;
	b->create_index = b->modify_index = 0;
	mpack_out_init(&x);
	mpack_out_init(&y);
	acl_role_pack(&x.pk, &c);
	acl_role_pack(&y.pk, b);
	return packed_same(&x, &y);
}

static void
propose(struct repl_stream *s, enum acl_op op, const void *arg)
{
	struct mpack_out	 rec;
	uint64_t		 idx;

	mpack_out_init(&rec);
	acl_cmd_pack(&rec.pk, op, arg, 0);
	if ((idx = cat_propose(&raftd, CAT_WRITE_ACL, &rec)) != 0)
		s->pending = idx;
	mpack_out_free(&rec);
}

/* The local objects the primary no longer has go. */
struct repl_walk {
	struct repl_stream	*s;
	struct repl_obj		*objs;
	size_t			 nobjs;
	size_t			 changes;
};

static int
remote_has(const struct repl_walk *w, const char *id)
{
	size_t	 i;

	for (i = 0; i < w->nobjs; i++)
		if (strcmp(w->objs[i].id, id) == 0)
			return 1;
	return 0;
}

static int
prune_token(void *arg, const struct acl_token *t)
{
	struct repl_walk	*w = arg;

	if (t->local || strcmp(t->accessor, ACL_ANONYMOUS_ID) == 0 ||
	    remote_has(w, t->accessor))
		return 0;
	propose(w->s, ACL_OP_TOKEN_DELETE, t->accessor);
	w->changes++;
	return 0;
}

static int
prune_policy(void *arg, const struct acl_policy *p)
{
	struct repl_walk	*w = arg;

	if (strcmp(p->id, ACL_GLOBAL_MANAGEMENT_ID) == 0 ||
	    remote_has(w, p->id))
		return 0;
	propose(w->s, ACL_OP_POLICY_DELETE, p->id);
	w->changes++;
	return 0;
}

static int
prune_role(void *arg, const struct acl_role *r)
{
	struct repl_walk	*w = arg;

	if (remote_has(w, r->id))
		return 0;
	propose(w->s, ACL_OP_ROLE_DELETE, r->id);
	w->changes++;
	return 0;
}

/*
 * Apply one answer: the items are checked (they came from another
 * machine), then what differs is proposed.  0, or -1 with why.
 */
static int
stream_apply(struct repl_stream *s, const char **why)
{
	struct repl_walk	 w;
	msgpack_unpacked	*u;
	const msgpack_object	*o;
	struct acl_token	*toks = NULL, lt;
	struct acl_policy	*pols = NULL, lp;
	struct acl_role		*roles = NULL, lr;
	size_t			 i, n = 0;
	int			 rc = -1, have, same;

	memset(&w, 0, sizeof(w));
	w.s = s;
	if ((u = calloc(s->nitems + 1, sizeof(*u))) == NULL ||
	    (w.objs = calloc(s->nitems + 1, sizeof(*w.objs))) == NULL ||
	    (toks = calloc(s->nitems + 1, sizeof(*toks))) == NULL ||
	    (pols = calloc(s->nitems + 1, sizeof(*pols))) == NULL ||
	    (roles = calloc(s->nitems + 1, sizeof(*roles))) == NULL)
		fatal("acl");
	*why = "malformed answer from the primary datacenter";
	for (n = 0; n < s->nitems; n++) {
		if (mpack_parse(&u[n], s->items[n], s->lens[n]) == -1) {
			msgpack_unpacked_init(&u[n]);
			n++;
			goto done;
		}
		o = &u[n].data;
		if (acl_item_valid(o, s->query) == -1)
			goto done_n;
		switch (s->query) {
		case CAT_Q_ACL_POLICIES:
			if (acl_policy_unpack(o, &pols[n]) == -1)
				goto done_n;
			w.objs[n].id = pols[n].id;
			break;
		case CAT_Q_ACL_ROLES:
			if (acl_role_unpack(&o->via.array.ptr[0],
			    &roles[n]) == -1)
				goto done_n;
			w.objs[n].id = roles[n].id;
			break;
		default:
			if (acl_token_unpack(&o->via.array.ptr[0],
			    &toks[n]) == -1)
				goto done_n;
			w.objs[n].id = toks[n].accessor;
			if (toks[n].secret != NULL && strcmp(toks[n].secret,
			    ACL_SECRET_HIDDEN) == 0) {
				*why = "the replication token needs acl write "
				    "to replicate tokens";
				goto done_n;
			}
			break;
		}
		w.nobjs++;
	}
	/* Only global tokens are the primary's to give. */
	if (s->query == CAT_Q_ACL_POLICIES)
		rc = acl_state_policy_list(&raftd.store, prune_policy, &w);
	else if (s->query == CAT_Q_ACL_ROLES)
		rc = acl_state_role_list(&raftd.store, prune_role, &w);
	else
		rc = acl_state_token_list(&raftd.store, prune_token, &w);
	if (rc == -1) {
		*why = "cannot read the ACL tables";
		goto done;
	}
	for (i = 0; i < w.nobjs; i++) {
		same = 0;
		switch (s->query) {
		case CAT_Q_ACL_POLICIES:
			have = acl_state_policy_get(&raftd.store, NULL,
			    pols[i].id, &lp);
			if (have == 0) {
				same = policy_same(&lp, &pols[i]);
				acl_policy_free(&lp);
			}
			break;
		case CAT_Q_ACL_ROLES:
			have = acl_state_role_get(&raftd.store, NULL,
			    roles[i].id, &lr);
			if (have == 0) {
				same = role_same(&lr, &roles[i]);
				acl_role_free(&lr);
			}
			break;
		default:
			if (toks[i].local)
				continue;
			have = acl_state_token_get(&raftd.store, NULL,
			    toks[i].accessor, &lt);
			if (have == 0) {
				same = token_same(&lt, &toks[i]);
				acl_token_free(&lt);
			}
			break;
		}
		if (have == -1) {
			*why = "cannot read the ACL tables";
			rc = -1;
			goto done;
		}
		if (same)
			continue;
		propose(s, s->query == CAT_Q_ACL_POLICIES ? ACL_OP_POLICY_SET :
		    s->query == CAT_Q_ACL_ROLES ? ACL_OP_ROLE_SET :
		    ACL_OP_TOKEN_SET, s->query == CAT_Q_ACL_POLICIES ?
		    (void *)&pols[i] : s->query == CAT_Q_ACL_ROLES ?
		    (void *)&roles[i] : (void *)&toks[i]);
		w.changes++;
	}
	if (w.changes > 0)
		log_debug("acl: replication of %s: %zu changes proposed",
		    s->query == CAT_Q_ACL_POLICIES ? "policies" :
		    s->query == CAT_Q_ACL_ROLES ? "roles" : "tokens",
		    w.changes);
	rc = 0;
	goto done;
 done_n:
	n++;
 done:
	for (i = 0; i < n; i++)
		msgpack_unpacked_destroy(&u[i]);
	for (i = 0; i < s->nitems; i++) {
		acl_token_free(&toks[i]);
		acl_policy_free(&pols[i]);
		acl_role_free(&roles[i]);
	}
	free(u);
	free(w.objs);
	free(toks);
	free(pols);
	free(roles);
	return rc;
}

/* The primary answered a stream's read. */
static void
stream_end(struct repl_stream *s, struct imsg *imsg)
{
	struct imsg_read_end	 end;
	const char		*why;

	if (imsg->len != sizeof(end))
		fatalx("acl: replication: bad end of a read");
	memcpy(&end, imsg->data, sizeof(end));
	end.error[sizeof(end.error) - 1] = '\0';
	s->reqid = 0;
	if (end.error[0] != '\0') {
		stream_fail(s, end.error);
		return;
	}
	if (stream_apply(s, &why) == -1) {
		stream_fail(s, why);
		return;
	}
	items_clear(s);
	/* Index 0 would ask again at once, and again: never below 1. */
	s->index = end.index > 0 ? end.index : 1;
	s->done_once = 1;
	s->backoff = 0;
	status.last_success = acl_wall_ns();
	switch (s->query) {
	case CAT_Q_ACL_POLICIES:
		status.index = end.index;
		break;
	case CAT_Q_ACL_ROLES:
		status.role_index = end.index;
		break;
	default:
		status.token_index = end.index;
		break;
	}
	/* This one again, and those that waited for it. */
	streams_kick();
}

static void
repl_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct repl_stream	*s = NULL;
	void			**v, *copy;
	size_t			*l;
	int			 i;

	for (i = 0; i < REPL_NSTREAMS; i++)
		if (streams[i].reqid != 0 &&
		    streams[i].reqid == imsg->hdr.peerid)
			s = &streams[i];
	if (s == NULL)
		return;		/* of a stream since stopped */
	switch (imsg->hdr.type) {
	case IMSG_CAT_ITEM:
		if (s->nitems >= REPL_ITEMS_MAX) {
			forward_cancel(&repl_out, s->reqid);
			hold_cancel(&repl_out, s->reqid);
			stream_fail(s, "too many objects in the answer");
			return;
		}
		if ((v = reallocarray(s->items, s->nitems + 1,
		    sizeof(*v))) == NULL)
			fatal("acl");
		s->items = v;
		if ((l = reallocarray(s->lens, s->nitems + 1,
		    sizeof(*l))) == NULL)
			fatal("acl");
		s->lens = l;
		if ((copy = malloc(imsg->len > 0 ? imsg->len : 1)) == NULL)
			fatal("acl");
		if (imsg->len > 0)
			memcpy(copy, imsg->data, imsg->len);
		s->items[s->nitems] = copy;
		s->lens[s->nitems++] = imsg->len;
		break;
	case IMSG_READ_END:
		stream_end(s, imsg);
		break;
	default:
		fatalx("acl: replication: unexpected answer %u",
		    imsg->hdr.type);
	}
}

static void
repl_unexpected(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("acl: unexpected message on the replication channel");
}

/*
 * Send a stream's blocking read to the primary, as [dc, IMSG_CAT_READ,
 * bin] in an IMSG_DC_REQ, the way apid sends a ?dc= read.
 */
static void
stream_send(struct repl_stream *s)
{
	const struct config	*c = raftd_child.conf;
	struct mpack_out	 rd, out;
	struct imsg		 imsg;

	/* Links must exist: roles and tokens wait for the policies. */
	if (s->query != CAT_Q_ACL_POLICIES && !streams[REPL_POLICIES].done_once)
		return;
	if (s->query == CAT_Q_ACL_TOKENS && !streams[REPL_ROLES].done_once)
		return;
	/* And for our own proposals to be applied. */
	if (s->pending > raftd.applied)
		return;
	mpack_out_init(&rd);
	cat_read_pack(&rd.pk, s->query, "", s->index,
	    s->index > 0 ? REPL_WAIT_MS : 0, KV_CONS_DEFAULT, 0,
	    acl_token("replication"));
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	mpack_str(&out.pk, c->primary_datacenter);
	msgpack_pack_uint32(&out.pk, IMSG_CAT_READ);
	mpack_bin(&out.pk, rd.sbuf.data, rd.sbuf.size);
	explicit_bzero(rd.sbuf.data, rd.sbuf.size);
	mpack_out_free(&rd);
	s->reqid = imsgev_next_id(&next_reqid);
	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = IMSG_DC_REQ;
	imsg.hdr.peerid = s->reqid;
	imsg.fd = -1;
	imsg.data = out.sbuf.data;
	imsg.len = out.sbuf.size;
	dc_request(&repl_out, &imsg);
	explicit_bzero(out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

static void
stream_retry(int fd, short ev, void *arg)
{
	struct repl_stream	*s = arg;

	s->waiting = 0;
	if (running && s->reqid == 0)
		stream_send(s);
}

static void
repl_stop(void)
{
	int	 i;

	for (i = 0; i < REPL_NSTREAMS; i++) {
		if (streams[i].reqid != 0) {
			forward_cancel(&repl_out, streams[i].reqid);
			hold_cancel(&repl_out, streams[i].reqid);
		}
		streams[i].reqid = 0;
		streams[i].index = 0;
		streams[i].done_once = 0;
		streams[i].backoff = 0;
		streams[i].pending = 0;
		items_clear(&streams[i]);
		if (streams[i].waiting)
			evtimer_del(&streams[i].retry);
		streams[i].waiting = 0;
	}
	running = 0;
	log_info("acl: replication from %s stopped",
	    raftd_child.conf->primary_datacenter);
}

/* Send every stream that is idle: neither in flight nor waiting. */
static void
streams_kick(void)
{
	int	 i, n;

	n = raftd_child.conf->acl.enable_token_replication ? REPL_NSTREAMS :
	    REPL_TOKENS;
	for (i = 0; i < n; i++)
		if (streams[i].reqid == 0 && !streams[i].waiting)
			stream_send(&streams[i]);
}

/*
 * Every second: the leader of a secondary datacenter runs the streams
 * (one that is idle, neither in flight nor waiting, is sent); any
 * other server runs none.
 */
void
acl_replication_tick(struct raftd *r)
{

	if (!repl_configured())
		return;
	if (!node_is_leader(r) || !raft_committed_in_term(r->raft)) {
		if (running)
			repl_stop();
		return;
	}
	if (!running) {
		running = 1;
		log_info("acl: replicating %s from %s",
		    r->child->conf->acl.enable_token_replication ?
		    "policies, roles and tokens" : "policies and roles",
		    r->child->conf->primary_datacenter);
	}
	streams_kick();
}

/* The status GET /v1/acl/replication shows. */
void
acl_replication_status(struct acl_repl_status *out)
{
	const struct config	*c = raftd_child.conf;

	*out = status;
	out->enabled = repl_configured();
	out->running = running;
	strlcpy(out->source_dc, out->enabled ? c->primary_datacenter : "",
	    sizeof(out->source_dc));
	strlcpy(out->type, !out->enabled ? "" :
	    c->acl.enable_token_replication ? "tokens" : "policies",
	    sizeof(out->type));
}

/* Before the sandbox: it allows no socketpair(). */
void
acl_replication_init(struct child *c)
{
	int	 sv[2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		fatal("acl: socketpair");
	imsgev_init(&repl_out, c->base, sv[0], "acl replication",
	    repl_unexpected, NULL);
	imsgev_init(&repl_back, c->base, sv[1], "acl replication",
	    repl_dispatch, NULL);
	streams[REPL_POLICIES].query = CAT_Q_ACL_POLICIES;
	streams[REPL_ROLES].query = CAT_Q_ACL_ROLES;
	streams[REPL_TOKENS].query = CAT_Q_ACL_TOKENS;
	for (i = 0; i < REPL_NSTREAMS; i++)
		evtimer_assign(&streams[i].retry, c->base, stream_retry,
		    &streams[i]);
}
