/*
 * Forwarding, as Consul does it: any agent takes any request, and one
 * this agent cannot serve goes over RPC to a server that can.  A client
 * agent (no Raft state) sends every KV request to one of the servers it
 * knows from gossip; a follower sends what needs the leader (writes,
 * and reads that are not ?stale) to the leader.  The server serving it
 * may forward it once more (a client's write reaching a follower).
 *
 * Sending side: the request keeps its apid imsg payload, goes out as a
 * FWD frame on our connection to the server with a forward id, and
 * each REPLY frame that comes back with that id is checked as apid
 * would check it (the server is another machine) and handed to apid as
 * if answered here.  A request that could not be delivered (no
 * connection, or one that never connected) and a read on a lost
 * connection are held to go again shortly (hold.c), to whichever
 * server is the one to ask by then, within rpc_hold_timeout of their
 * arrival; a write on a lost connection may or may not have been
 * applied and is answered with an error, as Consul does.  apid's cancel
 * (its client left) goes on as a CANCEL frame.
 *
 * Serving side: a FWD frame's payload is checked like any input from
 * the network, then given to the same request handlers apid's requests
 * go to, with a channel of our own (a socketpair, "sink") standing for
 * apid: what they answer on it, tagged with the forward id, is read
 * back and sent as REPLY frames on the connection the request came on.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl_codec.h"
#include "acl_rules.h"
#include "config.h"
#include "log.h"
#include "mpack.h"
#include "catalog_codec.h"
#include "coord_state.h"
#include "raftd.h"
#include "rpc_codec.h"

#define FWD_MAX		65536	/* requests in flight, each way */
#define FWD_KEEP_MAX	(64 * 1024)	/* payloads kept to send again */

/* A request of ours, at a server. */
struct fwd_out {
	TAILQ_ENTRY(fwd_out)	 entry;
	uint32_t		 fid;
	struct imsgev		*iev;		/* who asked */
	uint32_t		 reqid;
	uint32_t		 type;
	int			 mode;		/* KV_READ_*; -1 writes */
	struct rpc_conn		*conn;
	uint32_t		 rtype;		/* IMSG_DC_REQ: data wraps */
	void			*data;		/* to send again */
	size_t			 len;
	int			 keep;		/* data is kept */
	uint64_t		 deadline;	/* for hold_retry() */
};

/* A request we serve for another agent. */
struct fwd_in {
	TAILQ_ENTRY(fwd_in)	 entry;
	uint32_t		 gid;		/* on the sink */
	uint32_t		 fid;		/* the sender's */
	uint32_t		 type;
	struct rpc_conn		*conn;		/* NULL: sender gone */
};

static TAILQ_HEAD(, fwd_out)	 outs = TAILQ_HEAD_INITIALIZER(outs);
static TAILQ_HEAD(, fwd_in)	 ins = TAILQ_HEAD_INITIALIZER(ins);
static size_t			 nouts, nins;
static uint32_t			 next_fid, next_gid;
static struct imsgev		 sink;		/* the handlers answer here */
static struct imsgev		 sink_back;	/* and we read it here */

/* The answer that ends a request of this type. */
static int
final_type(uint32_t type)
{
	return type == IMSG_READ_END || type == IMSG_WRITE_RESULT ||
	    type == IMSG_RAFT_CONF || type == IMSG_RAFT_OP ||
	    type == IMSG_STATUS_LEADER || type == IMSG_STATUS_PEERS;
}

/* An error answer in the shape the request's asker expects. */
void
forward_fail(struct imsgev *iev, uint32_t reqid, uint32_t type,
    const char *why)
{
	struct imsg_status_leader	 sl;

	if (type == IMSG_KV_WRITE || type == IMSG_CAT_WRITE)
		kv_write_error(iev, reqid, why);
	else if (type == IMSG_RAFT_CONF_REQ)
		raft_conf_error(iev, reqid, why);
	else if (type == IMSG_RAFT_OP_REQ)
		raft_op_answer(iev, reqid, why, NULL);
	else if (type == IMSG_STATUS_LEADER_REQ) {
		/* No server to ask: no leader known, as Consul's "". */
		memset(&sl, 0, sizeof(sl));
		if (imsgev_compose(iev, IMSG_STATUS_LEADER, reqid, -1, &sl,
		    sizeof(sl)) == -1)
			fatal("forward: compose");
	} else if (type == IMSG_STATUS_PEERS_REQ) {
		if (imsgev_compose(iev, IMSG_STATUS_PEERS, reqid, -1, "\x90",
		    1) == -1)
			fatal("forward: compose");
	} else
		read_end(iev, reqid, 1, 0, why);
}

/* A server of this datacenter known from gossip, picked at random. */
struct server_pick {
	char			 addr[RAFT_ADDR_MAX];
	size_t			 seen;
};

static void
pick_server(void *arg, const struct member_server *s)
{
	struct server_pick	*p = arg;

	/* Reservoir sampling: each alive server equally likely. */
	if (s->status == 1 && arc4random_uniform(++p->seen) == 0)
		strlcpy(p->addr, s->addr, sizeof(p->addr));
}

/*
 * Called by a request handler first: 1 if the request was forwarded
 * (or answered with why it could not be), 0 if it is ours to serve.
 * stale: a read that any server may answer; mode: the read's mode, or
 * -1 for a write.
 */
static void	send_out(struct imsgev *, struct imsg *, const char *,
		    const char *, uint32_t, int, const void *, size_t, int);

int
forward_request(struct imsgev *iev, struct imsg *imsg, int stale, int mode)
{
	struct server_pick	 pick;
	const char		*addr;

	if (raftd_child.conf->server) {
		if ((stale && mode != -1) || node_is_leader(&raftd))
			return 0;
		addr = node_leader_addr(&raftd);
		if (*addr == '\0')
			return 0;	/* the handler says "No cluster leader" */
	} else {
		memset(&pick, 0, sizeof(pick));
		members_servers(pick_server, &pick);
		if (pick.seen == 0) {
			forward_fail(iev, imsg->hdr.peerid, imsg->hdr.type,
			    "No known Consul servers");
			return 1;
		}
		addr = pick.addr;
	}
	send_out(iev, imsg, addr, NULL, imsg->hdr.type, mode, NULL, 0, 0);
	return 1;
}

/*
 * Send a request to the server at addr as a FWD frame of type (with the
 * payload data, or the imsg's); an imsg of type IMSG_DC_REQ is what is
 * held and sent again.  why: the error when it cannot be delivered.
 */
static void
send_out(struct imsgev *iev, struct imsg *imsg, const char *addr,
    const char *peer_dc, uint32_t type, int mode, const void *data,
    size_t len, int dc)
{
	struct fwd_out		*f;
	struct rpc_fwd		 rf;
	struct rpc_conn		*conn;
	const char		*why = dc ? "No path to datacenter" :
				    "rpc error: cannot reach the server";

	if (data == NULL) {
		data = imsg->data;
		len = imsg->len;
	}
	if (nouts >= FWD_MAX || (conn = rpc_conn_to_dc(addr, peer_dc)) == NULL ||
	    rpc_backlogged(conn)) {
		if (nouts >= FWD_MAX ||
		    hold_retry(iev, imsg, hold_deadline()) == -1)
			forward_fail(iev, imsg->hdr.peerid, type, why);
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		fatal("forward");
	if (imsg->hdr.type == IMSG_DC_REQ)
		f->rtype = IMSG_DC_REQ;
	f->deadline = hold_deadline();
	if (imsg->len <= FWD_KEEP_MAX) {
		if (imsg->len > 0 && (f->data = malloc(imsg->len)) == NULL)
			fatal("forward");
		if (imsg->len > 0)
			memcpy(f->data, imsg->data, imsg->len);
		f->len = imsg->len;
		f->keep = 1;
	}
	do {
		f->fid = ++next_fid;
	} while (f->fid == 0);
	f->iev = iev;
	f->reqid = imsg->hdr.peerid;
	f->type = type;
	f->mode = mode;
	f->conn = conn;
	TAILQ_INSERT_TAIL(&outs, f, entry);
	nouts++;
	memset(&rf, 0, sizeof(rf));
	rf.fid = f->fid;
	/* To a server of ours a DC request goes as is; to the DC, inside. */
	rf.type = dc == 1 ? IMSG_DC_REQ : type;
	rf.data = dc == 1 ? imsg->data : data;
	rf.len = dc == 1 ? imsg->len : len;
	rpc_send_fwd(conn, RPC_FWD, &rf);
}

/*
 * Requests for another datacenter.  A client agent hands them, as they
 * are, to a server of its own datacenter; a server sends the request
 * inside to a server of that datacenter known from WAN gossip, which
 * serves it as any forwarded request (through its leader if need be).
 */
struct dc_req {
	char			 dc[RPC_DC_MAX];
	uint32_t		 type;
	const void		*data;
	size_t			 len;
};

/* [dc, type, bin]; data points into buf.  -1 if malformed. */
static int
dc_req_parse(const void *buf, size_t len, struct dc_req *r)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	uint64_t		 t;
	const char		*p;
	size_t			 off;
	int			 rc = -1;

	memset(r, 0, sizeof(*r));
	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	a = u.data.via.array.ptr;
	if (u.data.type == MSGPACK_OBJECT_ARRAY &&
	    u.data.via.array.size == 3 &&
	    mpack_copy_str(&a[0], r->dc, sizeof(r->dc)) == 0 &&
	    dc_name_valid(r->dc) && mpack_get_uint(&a[1], &t) == 0 &&
	    t != IMSG_DC_REQ && t < IMSG_TYPE_MAX &&
	    a[2].type == MSGPACK_OBJECT_BIN) {
		/* The bin's bytes are in buf: find them there. */
		p = a[2].via.bin.ptr;
		off = (size_t)(p - (const char *)buf);
		if (p >= (const char *)buf && off <= len &&
		    a[2].via.bin.size <= len - off) {
			r->type = t;
			r->data = p;
			r->len = a[2].via.bin.size;
			rc = 0;
		}
	}
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* The type of the request inside a DC request (0 if malformed). */
uint32_t
dc_request_type(const void *buf, size_t len)
{
	struct dc_req	 r;

	return dc_req_parse(buf, len, &r) == 0 ? r.type : 0;
}

struct dc_pick {
	const char		*dc;
	char			 addr[RAFT_ADDR_MAX];
	size_t			 known, seen;
};

static void
dc_pick_member(void *arg, const char *name, const char *ip, uint64_t port,
    uint64_t status, const msgpack_object *tags)
{
	struct dc_pick	*p = arg;
	char		 role[16], dc[RPC_DC_MAX], rport[8];

	if (mpack_copy_str(mpack_map_get(tags, "role"), role,
	    sizeof(role)) == -1 || strcmp(role, "consul") != 0 ||
	    mpack_copy_str(mpack_map_get(tags, "dc"), dc, sizeof(dc)) == -1 ||
	    strcmp(dc, p->dc) != 0 ||
	    mpack_copy_str(mpack_map_get(tags, "port"), rport,
	    sizeof(rport)) == -1)
		return;
	p->known++;
	if (status == 1 && arc4random_uniform(++p->seen) == 0)
		snprintf(p->addr, sizeof(p->addr), strchr(ip, ':') != NULL ?
		    "[%s]:%s" : "%s:%s", ip, rport);
}

/* The mode forward_reply() checks a request's answers with. */
static int
request_mode(uint32_t type, const void *data, size_t len)
{
	struct kv_read		 rd;
	struct cat_read_args	 cra;
	int			 mode = -1;

	if (type == IMSG_KV_READ) {
		if (kv_read_parse(data, len, &rd) == -1)
			return -2;
		mode = rd.mode;
		kv_read_free(&rd);
	} else if (type == IMSG_CAT_READ) {
		if (cat_read_parse(data, len, &cra) == -1)
			return -2;
		mode = cra.query;
	}
	return mode;
}

void
dc_request(struct imsgev *iev, struct imsg *imsg)
{
	struct dc_req		 r;
	struct server_pick	 pick;
	struct dc_pick		 dp;
	struct imsg		 inner;
	int			 mode;

	if (dc_req_parse(imsg->data, imsg->len, &r) == -1 ||
	    (mode = request_mode(r.type, r.data, r.len)) == -2)
		fatalx("forward: malformed datacenter request from %s",
		    iev->name);
	if (strcmp(r.dc, raftd_child.conf->datacenter) == 0) {
		inner = *imsg;
		inner.hdr.type = r.type;
		inner.data = (void *)r.data;
		inner.len = r.len;
		request_dispatch(iev, &inner);
		return;
	}
	if (!raftd_child.conf->server) {
		memset(&pick, 0, sizeof(pick));
		members_servers(pick_server, &pick);
		if (pick.seen == 0) {
			forward_fail(iev, imsg->hdr.peerid, r.type,
			    "No known Consul servers");
			return;
		}
		send_out(iev, imsg, pick.addr, NULL, r.type, mode, NULL, 0, 1);
		return;
	}
	memset(&dp, 0, sizeof(dp));
	dp.dc = r.dc;
	members_walk(1, dc_pick_member, &dp);
	if (dp.seen == 0) {
		if (dp.known > 0)
			log_debug("forward: no server of datacenter %s is "
			    "alive", r.dc);
		forward_fail(iev, imsg->hdr.peerid, r.type,
		    "No path to datacenter");
		return;
	}
	send_out(iev, imsg, dp.addr, r.dc, r.type, mode, r.data, r.len, 2);
}

static void
fwd_out_free(struct fwd_out *f)
{
	TAILQ_REMOVE(&outs, f, entry);
	nouts--;
	free(f->data);
	free(f);
}

/* apid's client went away: tell the server, forget the request. */
void
forward_cancel(struct imsgev *iev, uint32_t reqid)
{
	struct fwd_out	*f;
	struct rpc_fwd	 rf;

	TAILQ_FOREACH(f, &outs, entry)
		if (f->iev == iev && f->reqid == reqid)
			break;
	if (f == NULL)
		return;
	memset(&rf, 0, sizeof(rf));
	rf.fid = f->fid;
	if (!rpc_backlogged(f->conn))
		rpc_send_fwd(f->conn, RPC_CANCEL, &rf);
	fwd_out_free(f);
}

/* A write's result: what apid/kv.c and apid/txn.c read, checked. */
static int
write_result_valid(const void *buf, size_t len)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a, *e;
	struct kv_pair		 p;
	uint64_t		 v;
	uint32_t		 i;
	char			*s = NULL, *w = NULL;
	int			 b, rc = -1;

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	a = u.data.via.array.ptr;
	if (u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 6 ||
	    mpack_get_bool(&a[0], &b) == -1 || mpack_get_str(&a[1], &s) == -1 ||
	    mpack_get_uint(&a[2], &v) == -1 ||
	    mpack_get_uint(&a[3], &v) == -1 || mpack_get_str(&a[4], &w) == -1 ||
	    a[5].type != MSGPACK_OBJECT_ARRAY)
		goto done;
	for (i = 0; i < a[5].via.array.size; i++) {
		e = &a[5].via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2 ||
		    mpack_get_bool(&e->via.array.ptr[1], &b) == -1 ||
		    kv_pair_unpack(&e->via.array.ptr[0], &p) == -1)
			goto done;
		kv_pair_free(&p);
	}
	rc = 0;
 done:
	free(s);
	free(w);
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* The configuration answer: what apid/operator.c reads, checked. */
static int
raft_conf_valid(const void *buf, size_t len)
{
	msgpack_unpacked	 u;
	const msgpack_object	*v, *sv;
	char			 s[RAFT_ADDR_MAX + 128];
	uint64_t		 n;
	uint32_t		 i, j;
	int			 b, rc = -1;

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	if (u.data.type != MSGPACK_OBJECT_MAP ||
	    mpack_copy_str(mpack_map_get(&u.data, "error"), s,
	    sizeof(s)) == -1)
		goto done;
	if (s[0] != '\0') {
		rc = 0;
		goto done;
	}
	v = mpack_map_get(&u.data, "servers");
	if (mpack_map_uint(&u.data, "index", &n) == -1 ||
	    mpack_map_uint(&u.data, "term", &n) == -1 || v == NULL ||
	    v->type != MSGPACK_OBJECT_ARRAY ||
	    v->via.array.size > RAFT_SERVERS_MAX)
		goto done;
	for (i = 0; i < v->via.array.size; i++) {
		sv = &v->via.array.ptr[i];
		if (sv->type != MSGPACK_OBJECT_ARRAY ||
		    sv->via.array.size != 10)
			goto done;
		for (j = 0; j < 3; j++)
			if (mpack_copy_str(&sv->via.array.ptr[j], s,
			    sizeof(s)) == -1)
				goto done;
		if (mpack_get_bool(&sv->via.array.ptr[3], &b) == -1 ||
		    mpack_get_bool(&sv->via.array.ptr[4], &b) == -1 ||
		    mpack_get_uint(&sv->via.array.ptr[5], &n) == -1 ||
		    (sv->via.array.ptr[6].type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    sv->via.array.ptr[6].type != MSGPACK_OBJECT_NEGATIVE_INTEGER) ||
		    mpack_copy_str(&sv->via.array.ptr[7], s, sizeof(s)) == -1 ||
		    mpack_get_bool(&sv->via.array.ptr[8], &b) == -1 ||
		    (sv->via.array.ptr[9].type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    sv->via.array.ptr[9].type != MSGPACK_OBJECT_NEGATIVE_INTEGER))
			goto done;
	}
	rc = 0;
 done:
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* An item of a read: a key (keys mode) or a pair. */
static int
item_valid(const void *buf, size_t len, int mode)
{
	msgpack_unpacked	 u;
	struct kv_pair		 p;
	int			 rc = -1;

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	if (mode == KV_READ_KEYS)
		rc = u.data.type == MSGPACK_OBJECT_BIN ? 0 : -1;
	else if (kv_pair_unpack(&u.data, &p) == 0) {
		kv_pair_free(&p);
		rc = 0;
	}
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* An IMSG_CAT_ITEM of a catalog query, as apid/catalog.c reads it. */
static int
cat_item_valid(const void *buf, size_t len, int query)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct cat_node		 n;
	struct cat_service	 s;
	struct cat_check	 c;
	struct cat_session	 se;
	struct cat_pquery	 pq;
	struct acl_authz	 az;
	struct coord		 co;
	char			 str[CAT_STR_MAX + 1], seg[CAT_STR_MAX + 1];
	uint32_t		 i;
	int			 rc = -1;

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	a = u.data.via.array.ptr;
	if (acl_query_is(query)) {
		rc = acl_item_valid(&u.data, query);
		msgpack_unpacked_destroy(&u);
		return rc;
	}
	switch (query) {
	case CAT_Q_NODES:
		if (cat_node_unpack(&u.data, &n) == 0) {
			cat_node_free(&n);
			rc = 0;
		}
		break;
	case CAT_Q_NODE:
		if (u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != 2 ||
		    a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			break;
		if (a[0].via.u64 == 0 && cat_node_unpack(&a[1], &n) == 0) {
			cat_node_free(&n);
			rc = 0;
		} else if (a[0].via.u64 == 1 &&
		    cat_service_unpack(&a[1], &s) == 0) {
			cat_service_free(&s);
			rc = 0;
		}
		break;
	case CAT_Q_SERVICES:
		if (u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != 2 ||
		    mpack_copy_str(&a[0], str, sizeof(str)) == -1 ||
		    a[1].type != MSGPACK_OBJECT_ARRAY ||
		    a[1].via.array.size > CAT_LIST_MAX)
			break;
		for (i = 0; i < a[1].via.array.size; i++)
			if (mpack_copy_str(&a[1].via.array.ptr[i], str,
			    sizeof(str)) == -1)
				break;
		if (i == a[1].via.array.size)
			rc = 0;
		break;
	case CAT_Q_SERVICE:
	case CAT_Q_INSTANCES:
	case CAT_Q_HEALTH_SERVICE:
	case CAT_Q_HEALTH_DUMP:
		if (u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != (query == CAT_Q_HEALTH_SERVICE ||
		    query == CAT_Q_HEALTH_DUMP ? 3 : 2) ||
		    cat_node_unpack(&a[0], &n) == -1)
			break;
		cat_node_free(&n);
		if (cat_service_unpack(&a[1], &s) == -1)
			break;
		cat_service_free(&s);
		if (query != CAT_Q_HEALTH_SERVICE &&
		    query != CAT_Q_HEALTH_DUMP) {
			rc = 0;
			break;
		}
		if (a[2].type != MSGPACK_OBJECT_ARRAY ||
		    a[2].via.array.size > CAT_LIST_MAX)
			break;
		for (i = 0; i < a[2].via.array.size; i++) {
			if (cat_check_unpack(&a[2].via.array.ptr[i], &c) == -1)
				break;
			cat_check_free(&c);
		}
		if (i == a[2].via.array.size)
			rc = 0;
		break;
	case CAT_Q_HEALTH_NODE:
	case CAT_Q_HEALTH_CHECKS:
	case CAT_Q_HEALTH_STATE:
		if (cat_check_unpack(&u.data, &c) == 0) {
			cat_check_free(&c);
			rc = 0;
		}
		break;
	case CAT_Q_DATACENTERS:
		if (mpack_copy_str(&u.data, str, sizeof(str)) == 0 &&
		    dc_name_valid(str))
			rc = 0;
		break;
	case CAT_Q_COORD_NODES:
	case CAT_Q_COORD_NODE:
		if (coord_entry_unpack(&u.data, str, sizeof(str), seg,
		    sizeof(seg), &co) == 0)
			rc = 0;
		break;
	case CAT_Q_COORD_DCS:
		if (u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != 2 ||
		    mpack_copy_str(&a[0], str, sizeof(str)) == -1 ||
		    !dc_name_valid(str) || a[1].type != MSGPACK_OBJECT_ARRAY ||
		    a[1].via.array.size > CAT_LIST_MAX)
			break;
		for (i = 0; i < a[1].via.array.size; i++) {
			const msgpack_object	*sv = &a[1].via.array.ptr[i];

			if (sv->type != MSGPACK_OBJECT_ARRAY ||
			    sv->via.array.size != 2 ||
			    mpack_copy_str(&sv->via.array.ptr[0], seg,
			    sizeof(seg)) == -1 || seg[0] == '\0' ||
			    coord_unpack(&sv->via.array.ptr[1], &co) == -1)
				break;
		}
		if (i == a[1].via.array.size)
			rc = 0;
		break;
	case CAT_Q_DNS_VIEW:
	case CAT_Q_DNS_SERVICE:
	case CAT_Q_DNS_NODE:
	case CAT_Q_DNS_QUERY:
		if (query == CAT_Q_DNS_VIEW &&
		    u.data.type == MSGPACK_OBJECT_ARRAY &&
		    u.data.via.array.size == 2 &&
		    mpack_copy_str(&a[0], str, sizeof(str)) == 0 &&
		    strcmp(str, "q") == 0) {
			if (cat_pquery_unpack(&a[1], &pq) == 0) {
				cat_pquery_free(&pq);
				rc = 0;
			}
			break;
		}
		if (u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != 3 ||
		    mpack_copy_str(&a[1], str, sizeof(str)) == -1 ||
		    !cat_status_valid(str) ||
		    a[2].type != MSGPACK_OBJECT_ARRAY ||
		    cat_node_unpack(&a[0], &n) == -1)
			break;
		cat_node_free(&n);
		for (i = 0; i < a[2].via.array.size; i++) {
			const msgpack_object	*in = &a[2].via.array.ptr[i];

			if (in->type != MSGPACK_OBJECT_ARRAY ||
			    in->via.array.size != 2 ||
			    mpack_copy_str(&in->via.array.ptr[1], str,
			    sizeof(str)) == -1 || !cat_status_valid(str) ||
			    cat_service_unpack(&in->via.array.ptr[0], &s) == -1)
				break;
			cat_service_free(&s);
		}
		if (i == a[2].via.array.size)
			rc = 0;
		break;
	case CAT_Q_PQUERY_LIST:
	case CAT_Q_PQUERY_GET:
	case CAT_Q_PQUERY_LOOKUP:
	case CAT_Q_PQUERY_ALL:
		if (cat_pquery_unpack(&u.data, &pq) == 0) {
			cat_pquery_free(&pq);
			rc = 0;
		}
		break;
	case CAT_Q_ACL_RESOLVE:
		if (u.data.type == MSGPACK_OBJECT_ARRAY &&
		    u.data.via.array.size == 1 &&
		    acl_authz_unpack(&u.data.via.array.ptr[0], &az) == 0) {
			acl_rules_free(az.rules);
			rc = 0;
		}
		break;
	case CAT_Q_SESSION_INFO:
	case CAT_Q_SESSION_NODE:
	case CAT_Q_SESSION_LIST:
	case CAT_Q_SESSION_RENEW:
		if (cat_session_unpack(&u.data, &se) == 0) {
			cat_session_free(&se);
			rc = 0;
		}
		break;
	}
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* An IMSG_STATUS_PEERS answer: an array of "ip:port" strings. */
static int
peers_valid(const void *buf, size_t len)
{
	msgpack_unpacked	 u;
	char			 s[RAFT_ADDR_MAX];
	uint32_t		 i;
	int			 rc = -1;

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	if (u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size > RAFT_SERVERS_MAX)
		goto done;
	for (i = 0; i < u.data.via.array.size; i++)
		if (mpack_copy_str(&u.data.via.array.ptr[i], s,
		    sizeof(s)) == -1)
			goto done;
	rc = 0;
 done:
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* An IMSG_RAFT_OP answer: {"error": str, "id": str}. */
static int
raft_op_valid(const void *buf, size_t len)
{
	msgpack_unpacked	 u;
	char			 s[256];
	int			 rc = -1;

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	if (u.data.type == MSGPACK_OBJECT_MAP &&
	    mpack_copy_str(mpack_map_get(&u.data, "error"), s,
	    sizeof(s)) == 0 &&
	    mpack_copy_str(mpack_map_get(&u.data, "id"), s, sizeof(s)) == 0)
		rc = 0;
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* A REPLY frame on one of our connections; -1 drops the server. */
int
forward_reply(struct rpc_conn *conn, const struct rpc_fwd *rf)
{
	struct imsg_status_leader sl;
	struct imsg_read_end	 end;
	struct fwd_out		*f;
	const void		*data = rf->data;

	TAILQ_FOREACH(f, &outs, entry)
		if (f->fid == rf->fid && f->conn == conn)
			break;
	if (f == NULL)
		return 0;	/* cancelled meanwhile */
	switch (rf->type) {
	case IMSG_KV_ITEM:
		if (f->type != IMSG_KV_READ ||
		    item_valid(rf->data, rf->len, f->mode) == -1)
			return -1;
		break;
	case IMSG_CAT_ITEM:
		if (f->type != IMSG_CAT_READ ||
		    cat_item_valid(rf->data, rf->len, f->mode) == -1)
			return -1;
		break;
	case IMSG_READ_END:
		if ((f->type != IMSG_KV_READ && f->type != IMSG_CAT_READ) ||
		    rf->len != sizeof(end))
			return -1;
		memcpy(&end, rf->data, sizeof(end));
		end.error[sizeof(end.error) - 1] = '\0';
		data = &end;
		break;
	case IMSG_WRITE_RESULT:
		if ((f->type != IMSG_KV_WRITE && f->type != IMSG_CAT_WRITE) ||
		    write_result_valid(rf->data, rf->len) == -1)
			return -1;
		break;
	case IMSG_RAFT_CONF:
		if (f->type != IMSG_RAFT_CONF_REQ ||
		    raft_conf_valid(rf->data, rf->len) == -1)
			return -1;
		break;
	case IMSG_RAFT_OP:
		if (f->type != IMSG_RAFT_OP_REQ ||
		    raft_op_valid(rf->data, rf->len) == -1)
			return -1;
		break;
	case IMSG_STATUS_LEADER:
		if (f->type != IMSG_STATUS_LEADER_REQ ||
		    rf->len != sizeof(sl))
			return -1;
		memcpy(&sl, rf->data, sizeof(sl));
		sl.addr[sizeof(sl.addr) - 1] = '\0';
		data = &sl;
		break;
	case IMSG_STATUS_PEERS:
		if (f->type != IMSG_STATUS_PEERS_REQ ||
		    peers_valid(rf->data, rf->len) == -1)
			return -1;
		break;
	default:
		return -1;
	}
	if (imsgev_compose(f->iev, rf->type, f->reqid, -1, data,
	    rf->len) == -1)
		fatal("forward: compose");
	if (final_type(rf->type))
		fwd_out_free(f);
	return 0;
}

/* Serving. */

static void
fwd_in_free(struct fwd_in *f)
{
	TAILQ_REMOVE(&ins, f, entry);
	nins--;
	free(f);
}

/* A FWD frame from another agent; -1 drops it. */
int
forward_serve(struct rpc_conn *conn, const struct rpc_fwd *rf)
{
	struct imsg	 imsg;
	struct kv_read	 rd;
	struct kv_op	*ops;
	struct raft_op	 op;
	struct cat_read_args cra;
	struct dc_req	 dr;
	struct fwd_in	*f;
	uint32_t	 n;
	int		 cop;

	/* Checked here as input from the network; the handlers trust. */
	if (conn->wan && (rf->type == IMSG_DC_REQ ||
	    rf->type == IMSG_RAFT_OP_REQ)) {
		log_warnx("rpc: %s of another datacenter sent a request "
		    "it may not (imsg %u)", conn->label, rf->type);
		return -1;
	}
	switch (rf->type) {
	case IMSG_DC_REQ:
		if (dc_req_parse(rf->data, rf->len, &dr) == -1 ||
		    request_mode(dr.type, dr.data, dr.len) == -2)
			return -1;
		break;
	case IMSG_KV_READ:
		if (kv_read_parse(rf->data, rf->len, &rd) == -1)
			return -1;
		kv_read_free(&rd);
		break;
	case IMSG_KV_WRITE:
		if (kv_write_decode(rf->data, rf->len, &ops, &n, NULL,
		    0) == -1)
			return -1;
		kv_ops_free(ops, n);
		break;
	case IMSG_RAFT_CONF_REQ:
		if (rf->len != 1)
			return -1;
		break;
	case IMSG_RAFT_OP_REQ:
		if (raft_op_parse(rf->data, rf->len, &op) == -1)
			return -1;
		break;
	case IMSG_STATUS_LEADER_REQ:
	case IMSG_STATUS_PEERS_REQ:
		if (rf->len != 0)
			return -1;
		break;
	case IMSG_CAT_READ:
		if (cat_read_parse(rf->data, rf->len, &cra) == -1)
			return -1;
		break;
	case IMSG_CAT_WRITE:
		if (cat_write_parse(rf->data, rf->len, &cop) == -1)
			return -1;
		break;
	default:
		return -1;
	}
	if (nins >= FWD_MAX) {
		log_warnx("rpc: %zu forwarded requests in flight, refusing "
		    "more from %s", nins, conn->label);
		return -1;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		fatal("forward");
	do {
		f->gid = ++next_gid;
	} while (f->gid == 0);
	f->fid = rf->fid;
	f->type = rf->type;
	f->conn = conn;
	TAILQ_INSERT_TAIL(&ins, f, entry);
	nins++;

	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = rf->type;
	imsg.hdr.peerid = f->gid;
	imsg.fd = -1;
	imsg.data = (void *)rf->data;
	imsg.len = rf->len;
	if (rf->type == IMSG_KV_READ)
		kv_read_request(&sink, &imsg);
	else if (rf->type == IMSG_KV_WRITE)
		kv_write_request(&sink, &imsg);
	else if (rf->type == IMSG_RAFT_OP_REQ)
		raft_op_request(&sink, &imsg);
	else if (rf->type == IMSG_CAT_READ)
		cat_read_request(&sink, &imsg);
	else if (rf->type == IMSG_CAT_WRITE)
		cat_write_request(&sink, &imsg);
	else if (rf->type == IMSG_STATUS_LEADER_REQ)
		status_leader_request(&sink, &imsg);
	else if (rf->type == IMSG_STATUS_PEERS_REQ)
		status_peers_request(&sink, &imsg);
	else if (rf->type == IMSG_DC_REQ)
		dc_request(&sink, &imsg);
	else
		raft_conf_request(&sink, &imsg);
	return 0;
}

static void
fwd_in_cancel(struct fwd_in *f)
{
	watch_cancel(&raftd, &sink, f->gid);
	forward_cancel(&sink, f->gid);
	hold_cancel(&sink, f->gid);
	readindex_cancel(&sink, f->gid);
	raft_op_cancel(&sink, f->gid);
	cat_watch_cancel(&sink, f->gid);
	fwd_in_free(f);
}

int
forward_serve_cancel(struct rpc_conn *conn, const struct rpc_fwd *rf)
{
	struct fwd_in	*f;

	TAILQ_FOREACH(f, &ins, entry)
		if (f->conn == conn && f->fid == rf->fid)
			break;
	if (f != NULL)
		fwd_in_cancel(f);
	return 0;
}

/*
 * A connection is gone.  Our requests on it are answered with an error.
 * Reads served for its agent are cancelled; writes run to their end
 * (they are in the log) and their answers are dropped.
 */
void
forward_conn_gone(struct rpc_conn *conn)
{
	struct fwd_out	*o, *onext;
	struct fwd_in	*i, *inext;
	struct imsg	 imsg;

	for (o = TAILQ_FIRST(&outs); o != NULL; o = onext) {
		onext = TAILQ_NEXT(o, entry);
		if (o->conn != conn)
			continue;
		memset(&imsg, 0, sizeof(imsg));
		imsg.hdr.type = o->rtype ? o->rtype : o->type;
		imsg.hdr.peerid = o->reqid;
		imsg.fd = -1;
		imsg.data = o->data;
		imsg.len = o->len;
		/* A write on a connection that was up may have been applied. */
		if (!o->keep || (o->mode == -1 && conn->connected) ||
		    hold_retry(o->iev, &imsg, o->deadline) == -1)
			forward_fail(o->iev, o->reqid, o->type, o->rtype ?
			    "No path to datacenter" :
			    "rpc error: lost the connection to the server");
		fwd_out_free(o);
	}
	for (i = TAILQ_FIRST(&ins); i != NULL; i = inext) {
		inext = TAILQ_NEXT(i, entry);
		if (i->conn != conn)
			continue;
		if (i->type != IMSG_KV_WRITE && i->type != IMSG_CAT_WRITE)
			fwd_in_cancel(i);
		else
			i->conn = NULL;
	}
}

/* What a handler answered on the sink goes back as a REPLY frame. */
static void
sink_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct fwd_in	*f;
	struct rpc_fwd	 rf;
	int		 read;

	TAILQ_FOREACH(f, &ins, entry)
		if (f->gid == imsg->hdr.peerid)
			break;
	if (f == NULL)
		return;
	/* An agent that does not read its answers is cut off. */
	if (f->conn != NULL && rpc_backlogged(f->conn)) {
		read = f->type != IMSG_KV_WRITE && f->type != IMSG_CAT_WRITE;
		rpc_conn_fail(f->conn, "not reading its answers");
		if (read)
			return;		/* f went with the connection */
	}
	if (f->conn != NULL) {
		memset(&rf, 0, sizeof(rf));
		rf.fid = f->fid;
		rf.type = imsg->hdr.type;
		rf.data = imsg->data;
		rf.len = imsg->len;
		rpc_send_fwd(f->conn, RPC_REPLY, &rf);
	}
	if (final_type(imsg->hdr.type))
		fwd_in_free(f);
}

static void
sink_unexpected(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("forward: unexpected message on the sink");
}

/* Before the sandbox: it allows no socketpair(). */
void
forward_init(struct child *c)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		fatal("forward: socketpair");
	imsgev_init(&sink, c->base, sv[0], "forward", sink_unexpected, NULL);
	imsgev_init(&sink_back, c->base, sv[1], "forward", sink_dispatch,
	    NULL);
}
