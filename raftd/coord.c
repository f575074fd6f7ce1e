/*
 * Network coordinates in raftd, as Consul's agent and servers handle
 * them.  gossipd reports our coordinate in each pool after every timed
 * probe (and the WAN pool's servers' coordinates, kept here for
 * /v1/coordinate/datacenters and the order of /v1/catalog/datacenters).
 *
 * Every agent sends its LAN coordinate to the servers periodically:
 * every sync_coordinate_interval_min, or longer in a large cluster so
 * that the servers see about sync_coordinate_rate_target updates a
 * second, plus a random stagger of up to as much again.  It goes as a
 * CAT_WRITE_COORD_BATCH of one entry through the catalog write path,
 * so it is forwarded to the leader as any write is (PUT
 * /v1/coordinate/update arrives the same way).  The leader does not
 * write each one: it queues them (the latest per node and segment, at
 * most COORD_BATCH_MAX) and answers at once; every COORD_FLUSH_MS it
 * proposes what is queued as one Raft entry.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "acl_rules.h"
#include "catalog_codec.h"
#include "config.h"
#include "coord_state.h"
#include "log.h"
#include "raftd.h"

#define COORD_FLUSH_MS		5000
#define COORD_WAN_MAX		(64 * 1024)	/* WAN members remembered */

struct wan_coord {
	TAILQ_ENTRY(wan_coord)	 entry;
	char			*name;
	struct coord		 c;
};

struct queued {
	char			*node;
	char			*segment;
	struct coord		 c;
};

static struct coord		 self[2];	/* LAN, WAN */
static int			 have_self[2];
static TAILQ_HEAD(, wan_coord)	 wan = TAILQ_HEAD_INITIALIZER(wan);
static size_t			 nwan;
static struct queued		 queue[COORD_BATCH_MAX];
static size_t			 nqueue;
static struct imsgev		 coord_req;	/* the handlers answer here */
static struct imsgev		 coord_back;	/* and we read it here */
static struct event		*sync_ev, *flush_ev;
static uint32_t			 next_reqid;

const struct coord *
coord_self(int pool)
{
	if (!have_self[pool != 0]) {
		coord_init(&self[pool != 0]);
		have_self[pool != 0] = 1;
	}
	return &self[pool != 0];
}

int
coord_wan_get(const char *name, struct coord *c)
{
	struct wan_coord	*w;

	TAILQ_FOREACH(w, &wan, entry)
		if (strcmp(w->name, name) == 0) {
			*c = w->c;
			return 0;
		}
	return -1;
}

/* gossipd: [pool, our coordinate, peer, peer's coordinate]. */
void
coord_gossip(struct imsgev *iev, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct wan_coord	*w;
	struct coord		 mine, peer;
	char			 name[CAT_STR_MAX + 1];
	uint64_t		 pool;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size != 4)
		fatalx("coordinates: malformed update from %s", iev->name);
	a = u.data.via.array.ptr;
	if (mpack_get_uint(&a[0], &pool) == -1 || pool > 1 ||
	    coord_unpack(&a[1], &mine) == -1 ||
	    mpack_copy_str(&a[2], name, sizeof(name)) == -1 ||
	    name[0] == '\0' || coord_unpack(&a[3], &peer) == -1)
		fatalx("coordinates: malformed update from %s", iev->name);
	msgpack_unpacked_destroy(&u);
	self[pool] = mine;
	have_self[pool] = 1;
	if (pool == 0)
		return;
	TAILQ_FOREACH(w, &wan, entry)
		if (strcmp(w->name, name) == 0)
			break;
	if (w == NULL) {
		if (nwan >= COORD_WAN_MAX)
			return;
		if ((w = calloc(1, sizeof(*w))) == NULL ||
		    (w->name = strdup(name)) == NULL)
			fatal("coordinates");
		TAILQ_INSERT_TAIL(&wan, w, entry);
		nwan++;
	}
	w->c = peer;
}

/* A member was reaped: a WAN one's coordinate goes with it. */
void
coord_member_gone(uint8_t pool, const char *name)
{
	struct wan_coord	*w;

	if (pool != 1)
		return;
	TAILQ_FOREACH(w, &wan, entry)
		if (strcmp(w->name, name) == 0) {
			TAILQ_REMOVE(&wan, w, entry);
			nwan--;
			free(w->name);
			free(w);
			return;
		}
}

static void
write_answer(struct imsgev *iev, uint32_t reqid, int ok, const char *why)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 6);
	if (ok)
		msgpack_pack_true(&out.pk);
	else
		msgpack_pack_false(&out.pk);
	mpack_str(&out.pk, why);
	msgpack_pack_uint64(&out.pk, 0);
	msgpack_pack_uint64(&out.pk, 0);
	msgpack_pack_nil(&out.pk);
	msgpack_pack_array(&out.pk, 0);
	if (imsgev_compose(iev, IMSG_WRITE_RESULT, reqid, -1, out.sbuf.data,
	    out.sbuf.size) == -1)
		fatal("coordinates: compose");
	mpack_out_free(&out);
}

static int
enqueue(const char *node, const char *segment, const struct coord *c)
{
	size_t	 i;

	for (i = 0; i < nqueue; i++)
		if (strcmp(queue[i].node, node) == 0 &&
		    strcmp(queue[i].segment, segment) == 0) {
			queue[i].c = *c;
			return 0;
		}
	if (nqueue == COORD_BATCH_MAX)
		return -1;
	if ((queue[nqueue].node = strdup(node)) == NULL ||
	    (queue[nqueue].segment = strdup(segment)) == NULL)
		fatal("coordinates");
	queue[nqueue++].c = *c;
	return 0;
}

/*
 * The leader: a CAT_WRITE_COORD_BATCH (checked by cat_write_parse()),
 * queued for the next flush and answered now, as Consul's leader does.
 */
void
coord_batch_request(struct imsgev *iev, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*b;
	char			 node[CAT_STR_MAX + 1], seg[CAT_STR_MAX + 1];
	char			 tok[CAT_STR_MAX + 1], err[ACL_DENIED_MAX];
	const struct acl_authz	*az;
	struct coord		 c;
	uint32_t		 i;
	int			 full = 0, rc;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1)
		fatalx("coordinates: malformed batch from %s", iev->name);
	b = &u.data.via.array.ptr[1];
	/*
	 * Node write on each node, for the token the update carries (the
	 * caller's through the API, the agent token from an agent); one
	 * without a token is the anonymous token's.
	 */
	if (acl_enabled()) {
		tok[0] = '\0';
		if (u.data.via.array.size == 3 &&
		    mpack_copy_str(&u.data.via.array.ptr[2], tok,
		    sizeof(tok)) == -1)
			fatalx("coordinates: malformed batch from %s",
			    iev->name);
		rc = acl_authz_get(tok, &az, err, sizeof(err));
		explicit_bzero(tok, sizeof(tok));
		for (i = 0; rc == 0 && i < b->via.array.size; i++) {
			if (coord_entry_unpack(&b->via.array.ptr[i], node,
			    sizeof(node), seg, sizeof(seg), &c) == -1)
				fatalx("coordinates: malformed batch from %s",
				    iev->name);
			if (!acl_allowed(az, ACL_RES_NODE, node,
			    ACL_LEVEL_WRITE)) {
				acl_denied(err, sizeof(err), az, ACL_RES_NODE,
				    node, ACL_LEVEL_WRITE);
				rc = 1;
			}
		}
		if (rc != 0) {
			msgpack_unpacked_destroy(&u);
			write_answer(iev, imsg->hdr.peerid, 0, err);
			return;
		}
	}
	for (i = 0; i < b->via.array.size; i++) {
		if (coord_entry_unpack(&b->via.array.ptr[i], node,
		    sizeof(node), seg, sizeof(seg), &c) == -1)
			fatalx("coordinates: malformed batch from %s",
			    iev->name);
		if (enqueue(node, seg, &c) == -1)
			full = 1;
	}
	msgpack_unpacked_destroy(&u);
	if (full)
		write_answer(iev, imsg->hdr.peerid, 0,
		    "Coordinate update queue is full");
	else
		write_answer(iev, imsg->hdr.peerid, 1, NULL);
}

static void
queue_clear(void)
{
	size_t	 i;

	for (i = 0; i < nqueue; i++) {
		free(queue[i].node);
		free(queue[i].segment);
	}
	nqueue = 0;
}

/* One Raft entry for everything queued since the last flush. */
static void
coord_flush(evutil_socket_t fd, short events, void *arg)
{
	struct mpack_out	 rec;
	size_t			 i;

	if (nqueue == 0)
		return;
	if (!node_is_leader(&raftd)) {
		queue_clear();
		return;
	}
	mpack_out_init(&rec);
	msgpack_pack_array(&rec.pk, nqueue);
	for (i = 0; i < nqueue; i++) {
		coord_entry_pack(&rec.pk, queue[i].node, queue[i].segment,
		    &queue[i].c);
	}
	if (cat_propose(&raftd, CAT_WRITE_COORD_BATCH, &rec) == 0)
		log_debug("coordinates: %zu updates lost: not proposed",
		    nqueue);
	mpack_out_free(&rec);
	queue_clear();
}

static void
count_member(void *arg, const char *name, const char *ip, uint64_t port,
    uint64_t status, const msgpack_object *tags)
{
	(*(size_t *)arg)++;
}

/* Consul's rate-scaled interval, with a stagger of up to as much. */
static void
sync_arm(void)
{
	struct config	*c = raftd_child.conf;
	struct timeval	 tv;
	uint64_t	 ms, min_ms;
	double		 rate;
	size_t		 n = 0;

	members_walk(0, count_member, &n);
	min_ms = c->sync_coordinate_interval_min > 0 ?
	    (uint64_t)c->sync_coordinate_interval_min / 1000000 : 15000;
	if (min_ms == 0)
		min_ms = 1;
	rate = c->sync_coordinate_rate_target > 0 ?
	    c->sync_coordinate_rate_target : 64;
	ms = (uint64_t)((double)n / rate * 1000);
	if (ms < min_ms)
		ms = min_ms;
	if (ms > 3600 * 1000)
		ms = 3600 * 1000;
	ms += arc4random_uniform((uint32_t)ms);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (evtimer_add(sync_ev, &tv) == -1)
		fatalx("coordinates: evtimer_add");
}

/* Our LAN coordinate to the servers, through the write path. */
static void
coord_sync(evutil_socket_t fd, short events, void *arg)
{
	struct mpack_out	 out;
	struct imsg		 imsg;

	sync_arm();
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	msgpack_pack_uint8(&out.pk, CAT_WRITE_COORD_BATCH);
	msgpack_pack_array(&out.pk, 1);
	coord_entry_pack(&out.pk, raftd_child.conf->node_name, "",
	    coord_self(0));
	mpack_str(&out.pk, acl_token_agent());
	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = IMSG_CAT_WRITE;
	imsg.hdr.peerid = imsgev_next_id(&next_reqid);
	imsg.fd = -1;
	imsg.data = out.sbuf.data;
	imsg.len = out.sbuf.size;
	cat_write_request(&coord_req, &imsg);
	mpack_out_free(&out);
}

static void
coord_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	char			 err[256];

	if (imsg->hdr.type != IMSG_WRITE_RESULT)
		fatalx("coordinates: unexpected type %u", imsg->hdr.type);
	if (mpack_parse(&u, imsg->data, imsg->len) == -1)
		return;
	a = u.data.via.array.ptr;
	if (u.data.type == MSGPACK_OBJECT_ARRAY &&
	    u.data.via.array.size == 6 &&
	    (a[0].type != MSGPACK_OBJECT_BOOLEAN || !a[0].via.boolean) &&
	    mpack_copy_str(&a[1], err, sizeof(err)) == 0)
		log_debug("coordinates: update not sent: %s", err);
	msgpack_unpacked_destroy(&u);
}

static void
coord_unexpected(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("coordinates: unexpected message on the request channel");
}

/* Before the sandbox: the channel.  After: coord_sync_start(). */
void
coord_sync_init(struct child *c)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		fatal("coordinates: socketpair");
	imsgev_init(&coord_req, c->base, sv[0], "coordinates",
	    coord_unexpected, NULL);
	imsgev_init(&coord_back, c->base, sv[1], "coordinates",
	    coord_dispatch, NULL);
}

void
coord_sync_start(struct child *c)
{
	struct timeval	 tv = { COORD_FLUSH_MS / 1000,
			    (COORD_FLUSH_MS % 1000) * 1000 };

	if ((flush_ev = event_new(c->base, -1, EV_PERSIST, coord_flush,
	    NULL)) == NULL || event_add(flush_ev, &tv) == -1 ||
	    (sync_ev = evtimer_new(c->base, coord_sync, NULL)) == NULL)
		fatalx("coordinates: cannot set up timers");
	if (!c->conf->disable_coordinates)
		sync_arm();
}
