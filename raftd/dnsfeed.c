/*
 * The health view dnsd answers from (dns_proto.h).  A blocking catalog
 * read of the whole view (CAT_Q_DNS_VIEW: every node with its health and
 * its instances) goes out on an internal channel to the same handlers
 * apid's reads go to, so that on a client agent it is forwarded to a
 * server, and on a server it is answered from the local state, stale as
 * dns_config allows.  Each answer is compared, node by node, with the
 * last one: dnsd gets a full copy first, then only the nodes that
 * changed or went, and an IMSG_DNS_END each time the view was confirmed
 * current (at the latest when the read's wait runs out).
 *
 * With ACLs on, the read carries the DNS token (acl_dns_token(), read
 * each time) and the server leaves out what that token cannot read:
 * nodes without node:read, instances without service:read.  The view's
 * index moves with the ACL tables too, so a policy edit wakes the read.
 * The token itself may be changed while the agent runs: a fingerprint
 * of the one the read went out with is checked every second, and a
 * read under a token no longer current is given up and asked anew.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "catalog_codec.h"
#include "config.h"
#include "dns_proto.h"
#include "log.h"
#include "raftd.h"

#define FEED_WAIT_MS		(60 * 1000)
#define FEED_RETRY_MS		1000
#define FEED_TOKEN_CHECK_MS	1000

/* A node of the view, as the item that carried it. */
struct feed_node {
	RB_ENTRY(feed_node)	 entry;
	char			*name;
	void			*item;
	size_t			 len;
	int			 seen;		/* in the answer being read */
};

int	feed_node_cmp(struct feed_node *, struct feed_node *);
RB_HEAD(feed_tree, feed_node);
RB_PROTOTYPE(feed_tree, feed_node, entry, feed_node_cmp)
RB_GENERATE(feed_tree, feed_node, entry, feed_node_cmp)

int
feed_node_cmp(struct feed_node *a, struct feed_node *b)
{
	return strcmp(a->name, b->name);
}

static struct imsgev	 feed_req;	/* the handlers answer here */
static struct imsgev	 feed_back;	/* and we read it here */
static struct event	*feed_timer;
static struct event	*feed_tok_timer;
static uint64_t		 feed_tok_print;	/* of the token in use */
static struct feed_tree	 sent = RB_INITIALIZER(&sent);	/* what dnsd has */
static struct feed_tree	 incoming = RB_INITIALIZER(&incoming);
/* The prepared queries, by ID, the same way. */
static struct feed_tree	 sent_q = RB_INITIALIZER(&sent_q);
static struct feed_tree	 incoming_q = RB_INITIALIZER(&incoming_q);
static uint64_t		 feed_index;
static uint32_t		 feed_reqid;
static int		 feed_reading;
static int		 feed_full;	/* next answer is a full copy */

static void
feed_node_free(struct feed_tree *t, struct feed_node *n)
{
	RB_REMOVE(feed_tree, t, n);
	free(n->name);
	free(n->item);
	free(n);
}

static void
feed_tree_clear(struct feed_tree *t)
{
	struct feed_node	*n;

	while ((n = RB_MIN(feed_tree, t)) != NULL)
		feed_node_free(t, n);
}

static void
to_dnsd(uint32_t type, const void *data, size_t len)
{
	if (imsgev_compose(&raftd_child.peers[PROC_DNSD], type, 0, -1, data,
	    len) == -1)
		fatal("dnsfeed: compose");
}

static void
timer_arm(struct event *ev, uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (evtimer_add(ev, &tv) == -1)
		fatalx("dnsfeed: evtimer_add");
}

static void
feed_arm(uint64_t ms)
{
	timer_arm(feed_timer, ms);
}

/* FNV-1a of the token: tells a change without keeping a copy. */
static uint64_t
token_print(const char *s)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Ask for the view, blocking until it moves past what dnsd has. */
static void
feed_read(evutil_socket_t fd, short events, void *arg)
{
	struct config		*c = raftd_child.conf;
	struct mpack_out	 out;
	struct imsg		 imsg;
	int			 stale = c->dns_config.allow_stale;

	if (feed_reading)
		return;
	feed_reading = 1;
	imsgev_next_id(&feed_reqid);
	feed_tok_print = token_print(acl_dns_token());
	mpack_out_init(&out);
	cat_read_pack(&out.pk, CAT_Q_DNS_VIEW, "", feed_full ? 0 : feed_index,
	    FEED_WAIT_MS, stale ? KV_CONS_STALE : KV_CONS_DEFAULT,
	    stale && c->dns_config.max_stale > 0 ?
	    (uint64_t)c->dns_config.max_stale / 1000000 : 0, acl_dns_token());
	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = IMSG_CAT_READ;
	imsg.hdr.peerid = feed_reqid;
	imsg.fd = -1;
	imsg.data = out.sbuf.data;
	imsg.len = out.sbuf.size;
	cat_read_request(&feed_req, &imsg);
	mpack_out_free(&out);
}

/*
 * One node (or prepared query) of the answer being read: kept until the
 * answer is whole.  A query is kept as the packed query alone, which is
 * what dnsd gets.
 */
static void
feed_item(struct imsg *imsg)
{
	msgpack_unpacked	 u;
	struct cat_node		 cn;
	struct cat_pquery	 pq;
	struct feed_node	*n;
	struct feed_tree	*t = &incoming;
	struct mpack_out	 out;
	const msgpack_object	*a;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		fatal("dnsfeed");
	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY)
		fatalx("dnsfeed: malformed view item");
	a = u.data.via.array.ptr;
	if (u.data.via.array.size == 2) {
		if (cat_pquery_unpack(&a[1], &pq) == -1)
			fatalx("dnsfeed: malformed view query");
		mpack_out_init(&out);
		cat_pquery_pack(&out.pk, &pq);
		n->len = out.sbuf.size;
		n->item = msgpack_sbuffer_release(&out.sbuf);
		n->name = pq.id;
		pq.id = NULL;
		cat_pquery_free(&pq);
		t = &incoming_q;
	} else {
		if (u.data.via.array.size != 3 ||
		    cat_node_unpack(&a[0], &cn) == -1)
			fatalx("dnsfeed: malformed view item");
		if ((n->item = malloc(imsg->len)) == NULL)
			fatal("dnsfeed");
		n->name = cn.node;
		cn.node = NULL;
		cat_node_free(&cn);
		memcpy(n->item, imsg->data, imsg->len);
		n->len = imsg->len;
	}
	msgpack_unpacked_destroy(&u);
	if (RB_INSERT(feed_tree, t, n) != NULL) {
		log_warnx("dnsfeed: node %s twice in the view", n->name);
		free(n->name);
		free(n->item);
		free(n);
	}
}

/* Send dnsd what differs between what it has and the new answer. */
static void
feed_diff(struct feed_tree *had, struct feed_tree *now, uint32_t set,
    uint32_t del, size_t *changed, size_t *gone)
{
	struct mpack_out	 out;
	struct feed_node	*n, *o;

	RB_FOREACH(n, feed_tree, now) {
		o = RB_FIND(feed_tree, had, n);
		if (!feed_full && o != NULL && o->len == n->len &&
		    memcmp(o->item, n->item, n->len) == 0)
			continue;
		to_dnsd(set, n->item, n->len);
		(*changed)++;
	}
	if (feed_full)
		return;
	RB_FOREACH(o, feed_tree, had) {
		if (RB_FIND(feed_tree, now, o) != NULL)
			continue;
		mpack_out_init(&out);
		mpack_str(&out.pk, o->name);
		to_dnsd(del, out.sbuf.data, out.sbuf.size);
		mpack_out_free(&out);
		(*gone)++;
	}
}

/* The new answer is what dnsd has now. */
static void
feed_keep(struct feed_tree *had, struct feed_tree *now)
{
	struct feed_node	*n, *next;

	feed_tree_clear(had);
	for (n = RB_MIN(feed_tree, now); n != NULL; n = next) {
		next = RB_NEXT(feed_tree, now, n);
		RB_REMOVE(feed_tree, now, n);
		RB_INSERT(feed_tree, had, n);
	}
}

/*
 * The answer is whole: send dnsd what changed (everything after a
 * reset), then END; what was sent becomes the answer.
 */
static void
feed_apply(uint64_t index)
{
	struct mpack_out	 out;
	size_t			 changed = 0, gone = 0;

	if (feed_full)
		to_dnsd(IMSG_DNS_BEGIN, "\x90", 1);
	feed_diff(&sent, &incoming, IMSG_DNS_NODE, IMSG_DNS_NODE_DEL,
	    &changed, &gone);
	feed_diff(&sent_q, &incoming_q, IMSG_DNS_QUERY, IMSG_DNS_QUERY_DEL,
	    &changed, &gone);
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	msgpack_pack_uint64(&out.pk, index);
	mpack_str(&out.pk, raftd_child.conf->datacenter);
	to_dnsd(IMSG_DNS_END, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	if (changed > 0 || gone > 0 || feed_full)
		log_debug("dnsfeed: index %llu: %zu nodes sent, %zu gone%s",
		    (unsigned long long)index, changed, gone,
		    feed_full ? " (full copy)" : "");
	feed_keep(&sent, &incoming);
	feed_keep(&sent_q, &incoming_q);
	feed_full = 0;
}

/* The servers do not know the DNS token: the view is not to be used. */
static void
feed_denied(void)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	msgpack_pack_uint64(&out.pk, feed_index);
	mpack_str(&out.pk, raftd_child.conf->datacenter);
	msgpack_pack_true(&out.pk);
	to_dnsd(IMSG_DNS_END, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

/*
 * The DNS token changed (the agent token API): give up the read under
 * the old one and ask at once, without waiting for the view to move.
 */
void
dnsfeed_token_changed(void)
{
	uint32_t	 old = feed_reqid;

	if (feed_timer == NULL)
		return;
	if (feed_reading) {
		feed_reading = 0;
		feed_tree_clear(&incoming);
		feed_tree_clear(&incoming_q);
		/* Its answer, if one still comes, is ignored. */
		forward_cancel(&feed_req, old);
		hold_cancel(&feed_req, old);
		readindex_cancel(&feed_req, old);
		cat_watch_cancel(&feed_req, old);
	}
	feed_index = 0;
	if (evtimer_pending(feed_timer, NULL))
		evtimer_del(feed_timer);
	feed_arm(0);
}

static void
feed_token_check(evutil_socket_t fd, short events, void *arg)
{
	if (feed_reading && token_print(acl_dns_token()) != feed_tok_print) {
		log_debug("dnsfeed: the DNS token changed: reading anew");
		dnsfeed_token_changed();
	}
	timer_arm(feed_tok_timer, FEED_TOKEN_CHECK_MS);
}

static void
feed_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct imsg_read_end	 end;

	if (imsg->hdr.peerid != feed_reqid || !feed_reading)
		return;		/* an answer to a read given up */
	switch (imsg->hdr.type) {
	case IMSG_CAT_ITEM:
		feed_item(imsg);
		break;
	case IMSG_READ_END:
		imsg_need_len(imsg, sizeof(end), "dnsfeed");
		memcpy(&end, imsg->data, sizeof(end));
		end.error[sizeof(end.error) - 1] = '\0';
		feed_reading = 0;
		if (end.error[0] != '\0') {
			log_debug("dnsfeed: cannot read the view: %s",
			    end.error);
			feed_tree_clear(&incoming);
			feed_tree_clear(&incoming_q);
			/*
			 * A DNS token that is not (or no longer) known:
			 * dnsd answers SERVFAIL, as Consul does, until a
			 * read under it works again.
			 */
			if (strcmp(end.error, "ACL not found") == 0)
				feed_denied();
			feed_arm(FEED_RETRY_MS);
			break;
		}
		/* The state went back (a restore): start over. */
		if (end.index < feed_index)
			feed_full = 1;
		feed_apply(end.index);
		feed_index = end.index;
		feed_arm(0);
		break;
	default:
		log_warnx("dnsfeed: unexpected imsg %u", imsg->hdr.type);
	}
}

static void
feed_unexpected(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("dnsfeed: unexpected imsg %u on the request side",
	    imsg->hdr.type);
}

/* Before the sandbox: the internal channel. */
void
dnsfeed_init(struct child *c)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		fatal("dnsfeed: socketpair");
	imsgev_init(&feed_req, c->base, sv[0], "dnsfeed", feed_unexpected,
	    NULL);
	imsgev_init(&feed_back, c->base, sv[1], "dnsfeed", feed_dispatch,
	    NULL);
}

void
dnsfeed_start(struct child *c)
{
	if ((feed_timer = evtimer_new(c->base, feed_read, NULL)) == NULL)
		fatalx("dnsfeed: cannot set up its timer");
	if ((feed_tok_timer = evtimer_new(c->base, feed_token_check,
	    NULL)) == NULL)
		fatalx("dnsfeed: cannot set up its timer");
	feed_full = 1;
	feed_arm(0);
	timer_arm(feed_tok_timer, FEED_TOKEN_CHECK_MS);
}
