/*
 * The operator's Raft endpoints, from raftd's description of the
 * configuration (the leader's, unless ?stale):
 *
 *   GET /v1/operator/raft/configuration   Consul's RaftConfigurationResponse
 *   GET /v1/operator/autopilot/health     OperatorHealthReply (429 when
 *                                         the cluster is not healthy)
 *   DELETE /v1/operator/raft/peer         ?id= or ?address=
 *   POST /v1/operator/raft/transfer-leader  ?id= (optional)
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "acl_rules.h"
#include "apid.h"
#include "duration.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"
#include "version.h"

#define OP_CONF_SERVERS_MAX	256

struct op_server {
	char		 id[64];
	char		 node[128];
	char		 addr[64];
	char		 serf[16];
	int		 leader;
	int		 voter;
	int		 healthy;
	uint64_t	 last_index;
	int64_t		 contact_ms;
	int64_t		 since;
};

struct op_conf {
	uint64_t		 index;
	uint64_t		 term;
	size_t			 n;
	struct op_server	 s[OP_CONF_SERVERS_MAX];
};

static int
get_int(const msgpack_object *o, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= INT64_MAX)
		*v = (int64_t)o->via.u64;
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*v = o->via.i64;
	else
		return -1;
	return 0;
}

/*
 * raftd's answer, checked (raftd checked a forwarded one already); an
 * error answers the request here and returns -1.
 */
static int
op_conf_parse(struct request *r, struct imsg *imsg, struct op_conf *c)
{
	msgpack_unpacked	 u;
	const msgpack_object	*v, *a;
	struct op_server	*s;
	char			 err[256];
	uint32_t		 i;

	memset(c, 0, sizeof(*c));
	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_MAP ||
	    mpack_copy_str(mpack_map_get(&u.data, "error"), err,
	    sizeof(err)) == -1)
		fatalx("operator: malformed configuration from raftd");
	if (err[0] != '\0') {
		msgpack_unpacked_destroy(&u);
		http_error(r->req, 500, err);
		return -1;
	}
	v = mpack_map_get(&u.data, "servers");
	if (mpack_map_uint(&u.data, "index", &c->index) == -1 ||
	    mpack_map_uint(&u.data, "term", &c->term) == -1 || v == NULL ||
	    v->type != MSGPACK_OBJECT_ARRAY ||
	    v->via.array.size > OP_CONF_SERVERS_MAX)
		fatalx("operator: malformed configuration from raftd");
	for (i = 0; i < v->via.array.size; i++) {
		s = &c->s[c->n++];
		a = v->via.array.ptr[i].via.array.ptr;
		if (v->via.array.ptr[i].type != MSGPACK_OBJECT_ARRAY ||
		    v->via.array.ptr[i].via.array.size != 10 ||
		    mpack_copy_str(&a[0], s->id, sizeof(s->id)) == -1 ||
		    mpack_copy_str(&a[1], s->node, sizeof(s->node)) == -1 ||
		    mpack_copy_str(&a[2], s->addr, sizeof(s->addr)) == -1 ||
		    mpack_get_bool(&a[3], &s->leader) == -1 ||
		    mpack_get_bool(&a[4], &s->voter) == -1 ||
		    mpack_get_uint(&a[5], &s->last_index) == -1 ||
		    get_int(&a[6], &s->contact_ms) == -1 ||
		    mpack_copy_str(&a[7], s->serf, sizeof(s->serf)) == -1 ||
		    mpack_get_bool(&a[8], &s->healthy) == -1 ||
		    get_int(&a[9], &s->since) == -1)
			fatalx("operator: malformed server from raftd");
	}
	msgpack_unpacked_destroy(&u);
	return 0;
}

static void
raft_conf_done(struct request *r, struct imsg *imsg)
{
	struct op_conf	*c;
	json_t		*servers, *s;
	size_t		 i;

	if ((c = malloc(sizeof(*c))) == NULL) {
		http_error(r->req, 500, "out of memory");
		return;
	}
	if (op_conf_parse(r, imsg, c) == -1) {
		free(c);
		return;
	}
	servers = json_array();
	for (i = 0; i < c->n; i++) {
		s = json_pack("{s:s, s:s, s:s, s:b, s:b, s:s}", "ID",
		    c->s[i].id, "Node", c->s[i].node, "Address",
		    c->s[i].addr, "Leader", c->s[i].leader, "Voter",
		    c->s[i].voter, "ProtocolVersion", "3");
		if (s != NULL)
			json_array_append_new(servers, s);
	}
	http_reply_json(r->req, json_pack("{s:o, s:I}", "Servers", servers,
	    "Index", (json_int_t)c->index), r->pretty);
	free(c);
}

static void
rfc3339(int64_t t, char *buf, size_t len)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		strlcpy(buf, "0001-01-01T00:00:00Z", len);
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Consul's OperatorHealthReply.  FailureTolerance: how many healthy
 * voters could fail with a quorum of the voters left healthy.
 */
static void
autopilot_health_done(struct request *r, struct imsg *imsg)
{
	struct op_conf	*c;
	json_t		*servers, *s;
	char		 contact[32], since[32];
	size_t		 i, voters = 0, healthy_voters = 0;
	int		 healthy = 1, tolerance;

	if ((c = malloc(sizeof(*c))) == NULL) {
		http_error(r->req, 500, "out of memory");
		return;
	}
	if (op_conf_parse(r, imsg, c) == -1) {
		free(c);
		return;
	}
	servers = json_array();
	for (i = 0; i < c->n; i++) {
		if (c->s[i].voter) {
			voters++;
			if (c->s[i].healthy)
				healthy_voters++;
		}
		if (!c->s[i].healthy)
			healthy = 0;
		if (c->s[i].contact_ms >= 0)
			duration_format(c->s[i].contact_ms * DURATION_MSEC,
			    contact, sizeof(contact));
		else
			strlcpy(contact, "0s", sizeof(contact));
		rfc3339(c->s[i].since, since, sizeof(since));
		s = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:I, s:I, "
		    "s:b, s:b, s:s}", "ID", c->s[i].id, "Name", c->s[i].node,
		    "Address", c->s[i].addr, "SerfStatus", c->s[i].serf,
		    "Version", CONSUL_COMPAT_VERSION, "Leader", c->s[i].leader,
		    "LastContact", contact, "LastTerm", (json_int_t)c->term,
		    "LastIndex", (json_int_t)c->s[i].last_index, "Healthy",
		    c->s[i].healthy, "Voter", c->s[i].voter, "StableSince",
		    since);
		if (s != NULL)
			json_array_append_new(servers, s);
	}
	tolerance = (int)healthy_voters - (int)(voters / 2 + 1);
	if (tolerance < 0)
		tolerance = 0;
	http_reply_json_status(r->req, healthy ? 200 : 429, json_pack(
	    "{s:b, s:i, s:o}", "Healthy", healthy, "FailureTolerance",
	    tolerance, "Servers", servers), r->pretty);
	free(c);
}

static void
raft_conf_send(struct evhttp_request *req, request_done_fn done)
{
	struct request	*r;
	struct query	 q;
	const char	*err;
	uint8_t		 stale;
	int		 st;

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	err = query_consistency(&q, &st, NULL);
	query_free(&q);
	if (err != NULL) {
		http_error(req, 400, err);
		return;
	}
	stale = st == KV_CONS_STALE;
	if ((r = request_new(req, done)) == NULL) {
		http_error(req, 500, "out of memory");
		return;
	}
	request_send(r, IMSG_RAFT_CONF_REQ, &stale, sizeof(stale));
}

void
operator_raft_configuration(struct evhttp_request *req, const char *path)
{
	raft_conf_send(req, raft_conf_done);
}

void
operator_autopilot_health(struct evhttp_request *req, const char *path)
{
	raft_conf_send(req, autopilot_health_done);
}

/* The answer to a remove or a transfer: {"error", "id"}. */
static int
raft_op_result(struct request *r, struct imsg *imsg, char *id, size_t len)
{
	msgpack_unpacked	 u;
	char			 err[ACL_DENIED_MAX];

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_MAP ||
	    mpack_copy_str(mpack_map_get(&u.data, "error"), err,
	    sizeof(err)) == -1 ||
	    mpack_copy_str(mpack_map_get(&u.data, "id"), id, len) == -1)
		fatalx("operator: malformed answer from raftd");
	msgpack_unpacked_destroy(&u);
	if (err[0] != '\0') {
		http_error(r->req, acl_denial(err) ? 403 : 500, err);
		return -1;
	}
	return 0;
}

static void
raft_peer_done(struct request *r, struct imsg *imsg)
{
	char	 id[64];

	if (raft_op_result(r, imsg, id, sizeof(id)) == 0)
		http_reply_text(r->req, 200, "text/plain", "", 0);
}

static void
raft_transfer_done(struct request *r, struct imsg *imsg)
{
	char	 id[64];

	if (raft_op_result(r, imsg, id, sizeof(id)) == 0)
		http_reply_json(r->req, json_pack("{s:b}", "Success", 1),
		    r->pretty);
}

static void
raft_op_send(struct evhttp_request *req, int op, const char *id,
    const char *addr, request_done_fn done)
{
	struct request		*r;
	struct mpack_out	 out;
	struct query		 q;
	int			 haveq;

	if ((r = request_new(req, done)) == NULL) {
		http_error(req, 500, "out of memory");
		return;
	}
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 4);
	msgpack_pack_uint8(&out.pk, op);
	mpack_str(&out.pk, id);
	mpack_str(&out.pk, addr);
	/* The caller's token: the leader checks operator write too. */
	haveq = query_parse(req, &q) == 0;
	mpack_str(&out.pk, acl_request_secret(req, haveq ? &q : NULL));
	if (haveq)
		query_free(&q);
	request_send(r, IMSG_RAFT_OP_REQ, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

void
operator_raft_peer(struct evhttp_request *req, const char *path)
{
	struct query	 q;
	const char	*id, *addr;

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	id = query_get(&q, "id");
	addr = query_get(&q, "address");
	if ((id == NULL || *id == '\0') == (addr == NULL || *addr == '\0'))
		http_error(req, 400, "Must specify either ?id with the "
		    "server's ID or ?address with IP:port of peer to remove");
	else if ((id != NULL && strlen(id) >= 64) ||
	    (addr != NULL && strlen(addr) >= 64))
		http_error(req, 400, "Bad request: id or address too long");
	else
		raft_op_send(req, 1, id != NULL ? id : "",
		    addr != NULL ? addr : "", raft_peer_done);
	query_free(&q);
}

void
operator_raft_transfer_leader(struct evhttp_request *req, const char *path)
{
	struct query	 q;
	const char	*id;

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	if ((id = query_get(&q, "id")) != NULL && strlen(id) >= 64)
		http_error(req, 400, "Bad request: id too long");
	else
		raft_op_send(req, 2, id != NULL ? id : "", "",
		    raft_transfer_done);
	query_free(&q);
}
