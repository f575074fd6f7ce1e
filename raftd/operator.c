/*
 * The operator's view of Raft and its two levers.
 *
 * GET /v1/operator/raft/configuration and /v1/operator/autopilot/health
 * share one answer: the servers of the configuration with their node
 * names and gossip status, who leads and who votes, and as far as the
 * leader knows each one's log index, when it last answered, and whether
 * autopilot counts it healthy (alive in gossip, heard from within
 * autopilot.last_contact_threshold or two heartbeats, whichever is
 * longer, and trailing by at most autopilot.max_trailing_logs).  Served
 * by the leader unless ?stale; forwarded like a read otherwise.
 *
 * DELETE /v1/operator/raft/peer and POST
 * /v1/operator/raft/transfer-leader run on the leader: a configuration
 * change answered once it is committed, and a leadership transfer
 * answered once another server leads (or failed after two election
 * timeouts).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acl_rules.h"
#include "config.h"
#include "log.h"
#include "mpack.h"
#include "raftd.h"

#define OP_HEALTH_MAX		RAFT_SERVERS_MAX

struct name_find {
	const char	*id;
	const char	*name;
	uint64_t	 status;
	char		 buf[128];
};

/* Since when each server has been healthy or not, for StableSince. */
static struct {
	char			 id[RAFT_ID_MAX];
	int			 healthy;
	time_t			 since;
}			 op_health[OP_HEALTH_MAX];
static size_t		 op_nhealth;

/* A change or transfer under way on the leader, answered later. */
struct op_wait {
	TAILQ_ENTRY(op_wait)	 entry;
	struct imsgev		*iev;
	uint32_t		 reqid;
	int			 op;
	uint64_t		 index;		/* OP_REMOVE: the CONF entry */
	uint64_t		 term;
	char			 target[RAFT_ID_MAX];
	struct event		*timer;		/* OP_TRANSFER */
};
static TAILQ_HEAD(, op_wait)	 op_waits =
    TAILQ_HEAD_INITIALIZER(op_waits);

static void
name_find_server(void *arg, const struct member_server *s)
{
	struct name_find	*f = arg;

	if (strcmp(s->id, f->id) == 0) {
		strlcpy(f->buf, s->name, sizeof(f->buf));
		f->name = f->buf;
		f->status = s->status;
	}
}

static const char *
serf_status_name(uint64_t status)
{
	switch (status) {
	case 1:
		return "alive";
	case 2:
		return "leaving";
	case 3:
		return "left";
	case 4:
		return "failed";
	default:
		return "none";
	}
}

static time_t
health_since(const char *id, int healthy)
{
	size_t	 i;

	for (i = 0; i < op_nhealth; i++)
		if (strcmp(op_health[i].id, id) == 0)
			break;
	if (i == op_nhealth) {
		if (op_nhealth == OP_HEALTH_MAX)
			return time(NULL);
		op_nhealth++;
		strlcpy(op_health[i].id, id, sizeof(op_health[i].id));
		op_health[i].healthy = -1;
	}
	if (op_health[i].healthy != healthy) {
		op_health[i].healthy = healthy;
		op_health[i].since = time(NULL);
	}
	return op_health[i].since;
}

/* An answer with only an error, as forwarding needs one too. */
void
raft_conf_error(struct imsgev *iev, uint32_t reqid, const char *why)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 1);
	mpack_kv_str(&out.pk, "error", why);
	if (imsgev_compose(iev, IMSG_RAFT_CONF, reqid, -1, out.sbuf.data,
	    out.sbuf.size) == -1)
		fatal("operator: compose");
	mpack_out_free(&out);
}

static void
pack_bool(msgpack_packer *pk, int b)
{
	if (b)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

void
raft_conf_request(struct imsgev *iev, struct imsg *imsg)
{
	struct config		*c = raftd_child.conf;
	const struct raft_conf	*conf;
	struct mpack_out	 out;
	struct name_find	 f;
	const char		*leader, *id;
	uint64_t		 last, match, ago, lead_last, threshold;
	int64_t			 contact;
	uint8_t			 stale;
	size_t			 i;
	int			 self, lead, healthy;

	imsg_need_len(imsg, sizeof(stale), iev->name);
	memcpy(&stale, imsg->data, sizeof(stale));
	if (forward_request(iev, imsg, stale, KV_READ_SINGLE))
		return;
	if (!stale && !node_is_leader(&raftd)) {
		if (hold_request(iev, imsg) == -1)
			raft_conf_error(iev, imsg->hdr.peerid,
			    "No cluster leader");
		return;
	}
	conf = raft_config(raftd.raft);
	leader = raft_leader(raftd.raft);
	lead = node_is_leader(&raftd);
	lead_last = raft_last_index(raftd.raft);
	threshold = c->autopilot.last_contact_threshold > 0 ?
	    (uint64_t)c->autopilot.last_contact_threshold / 1000000 : 200;
	if (threshold < 2 * node_heartbeat_ms(&raftd))
		threshold = 2 * node_heartbeat_ms(&raftd);
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 4);
	mpack_kv_str(&out.pk, "error", "");
	mpack_kv_uint(&out.pk, "index", raft_commit_index(raftd.raft));
	mpack_kv_uint(&out.pk, "term", raft_term(raftd.raft));
	mpack_str(&out.pk, "servers");
	msgpack_pack_array(&out.pk, conf->n);
	for (i = 0; i < conf->n; i++) {
		id = conf->servers[i].id;
		self = strcmp(id, raftd_node_id) == 0;
		memset(&f, 0, sizeof(f));
		f.id = id;
		f.name = "(unknown)";
		members_servers(name_find_server, &f);
		if (self) {
			last = raft_last_index(raftd.raft);
			contact = lead ? 0 : (int64_t)node_last_contact_ms(
			    &raftd);
		} else if (lead &&
		    raft_match_index(raftd.raft, id, &match) == 0 &&
		    raft_peer_heard(raftd.raft, id, &ago) == 0) {
			last = match;
			contact = (int64_t)(ago * node_tick_ms());
		} else {
			last = 0;
			contact = -1;
		}
		healthy = f.status == 1 && contact >= 0 &&
		    (uint64_t)contact <= threshold && last > 0 &&
		    last + (uint64_t)c->autopilot.max_trailing_logs >=
		    lead_last;
		msgpack_pack_array(&out.pk, 10);
		mpack_str(&out.pk, id);
		mpack_str(&out.pk, f.name);
		mpack_str(&out.pk, conf->servers[i].addr);
		pack_bool(&out.pk, strcmp(id, leader) == 0);
		pack_bool(&out.pk, conf->servers[i].voter);
		msgpack_pack_uint64(&out.pk, last);
		msgpack_pack_int64(&out.pk, contact);
		mpack_str(&out.pk, serf_status_name(f.status));
		pack_bool(&out.pk, healthy);
		msgpack_pack_int64(&out.pk, lead ?
		    (int64_t)health_since(id, healthy) : 0);
	}
	if (imsgev_compose(iev, IMSG_RAFT_CONF, imsg->hdr.peerid, -1,
	    out.sbuf.data, out.sbuf.size) == -1)
		fatal("operator: compose");
	mpack_out_free(&out);
}

/* Changing the configuration and who leads. */

void
raft_op_answer(struct imsgev *iev, uint32_t reqid, const char *error,
    const char *id)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 2);
	mpack_kv_str(&out.pk, "error", error != NULL ? error : "");
	mpack_kv_str(&out.pk, "id", id != NULL ? id : "");
	if (imsgev_compose(iev, IMSG_RAFT_OP, reqid, -1, out.sbuf.data,
	    out.sbuf.size) == -1)
		fatal("operator: compose");
	mpack_out_free(&out);
}

/* [op, id, address]; -1 if it does not decode. */
int
raft_op_parse(const void *buf, size_t len, struct raft_op *op)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	uint64_t		 n;
	int			 rc = -1;

	memset(op, 0, sizeof(*op));
	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	a = u.data.via.array.ptr;
	/* [op, id, address] and the caller's token, which may be left out */
	if (u.data.type == MSGPACK_OBJECT_ARRAY &&
	    (u.data.via.array.size == 3 || u.data.via.array.size == 4) &&
	    mpack_get_uint(&a[0], &n) == 0 &&
	    (n == RAFT_OP_REMOVE || n == RAFT_OP_TRANSFER) &&
	    mpack_copy_str(&a[1], op->id, sizeof(op->id)) == 0 &&
	    mpack_copy_str(&a[2], op->addr, sizeof(op->addr)) == 0 &&
	    (u.data.via.array.size == 3 || mpack_copy_str(&a[3], op->token,
	    sizeof(op->token)) == 0)) {
		op->op = n;
		rc = 0;
	}
	msgpack_unpacked_destroy(&u);
	return rc;
}

static void
op_wait_free(struct op_wait *w)
{
	TAILQ_REMOVE(&op_waits, w, entry);
	if (w->timer != NULL)
		event_free(w->timer);
	free(w);
}

static void
op_transfer_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct op_wait	*w = arg;

	raft_op_answer(w->iev, w->reqid, "leadership transfer timed out",
	    NULL);
	op_wait_free(w);
}

static struct op_wait *
op_wait_new(struct imsgev *iev, uint32_t reqid, int op, const char *target)
{
	struct op_wait	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("operator");
	w->iev = iev;
	w->reqid = reqid;
	w->op = op;
	w->term = raft_term(raftd.raft);
	strlcpy(w->target, target, sizeof(w->target));
	TAILQ_INSERT_TAIL(&op_waits, w, entry);
	return w;
}

static void
op_remove(struct imsgev *iev, uint32_t reqid, const struct raft_op *op)
{
	const struct raft_conf	*cur = raft_config(raftd.raft);
	struct raft_conf	 next;
	struct raft_server	 gone;
	struct op_wait		*w;
	char			 why[256];
	uint64_t		 index;
	size_t			 i;

	for (i = 0; i < cur->n; i++)
		if ((*op->id != '\0' && strcmp(cur->servers[i].id,
		    op->id) == 0) || (*op->id == '\0' &&
		    strcmp(cur->servers[i].addr, op->addr) == 0))
			break;
	if (i == cur->n) {
		if (*op->id != '\0')
			snprintf(why, sizeof(why), "id \"%s\" was not found "
			    "in the Raft configuration", op->id);
		else
			snprintf(why, sizeof(why), "address \"%s\" was not "
			    "found in the Raft configuration", op->addr);
		raft_op_answer(iev, reqid, why, NULL);
		return;
	}
	gone = cur->servers[i];	/* cur changes once a change is proposed */
	if ((next.servers = calloc(cur->n, sizeof(*next.servers))) == NULL)
		fatal("operator");
	memcpy(next.servers, cur->servers, i * sizeof(*cur->servers));
	memcpy(next.servers + i, cur->servers + i + 1,
	    (cur->n - i - 1) * sizeof(*cur->servers));
	next.n = cur->n - 1;
	index = next.n > 0 ? raft_propose_conf(raftd.raft, &next) : 0;
	free(next.servers);
	if (index == 0) {
		raft_op_answer(iev, reqid, next.n == 0 ?
		    "cannot remove the last server" :
		    "a configuration change is already in progress; "
		    "try again", NULL);
		return;
	}
	log_info("operator: removing server %s (%s) from the Raft "
	    "configuration", gone.id, gone.addr);
	w = op_wait_new(iev, reqid, RAFT_OP_REMOVE, gone.id);
	w->index = index;
	node_schedule_flush(&raftd);
}

/* The voter whose log is furthest along, other than us. */
static int
op_transfer_target(char *id, size_t len)
{
	const struct raft_conf	*cur = raft_config(raftd.raft);
	uint64_t		 match, best = 0;
	size_t			 i;
	int			 found = 0;

	for (i = 0; i < cur->n; i++) {
		if (!cur->servers[i].voter ||
		    strcmp(cur->servers[i].id, raftd_node_id) == 0 ||
		    raft_match_index(raftd.raft, cur->servers[i].id,
		    &match) == -1)
			continue;
		if (!found || match > best) {
			strlcpy(id, cur->servers[i].id, len);
			best = match;
			found = 1;
		}
	}
	return found ? 0 : -1;
}

static void
op_transfer(struct imsgev *iev, uint32_t reqid, const struct raft_op *op)
{
	struct op_wait	*w;
	struct timeval	 tv;
	char		 target[RAFT_ID_MAX], why[256];
	uint64_t	 ms;

	if (*op->id != '\0')
		strlcpy(target, op->id, sizeof(target));
	else if (op_transfer_target(target, sizeof(target)) == -1) {
		raft_op_answer(iev, reqid, "cannot find a voter to transfer "
		    "leadership to", NULL);
		return;
	}
	if (strcmp(target, raftd_node_id) == 0) {
		raft_op_answer(iev, reqid, "cannot transfer leadership to "
		    "the current leader", NULL);
		return;
	}
	if (raft_transfer_leader(raftd.raft, target) == -1) {
		snprintf(why, sizeof(why), "cannot transfer leadership to "
		    "\"%s\": not a voter in the Raft configuration, or a "
		    "transfer is under way", target);
		raft_op_answer(iev, reqid, why, NULL);
		return;
	}
	log_info("operator: transferring leadership to %s", target);
	w = op_wait_new(iev, reqid, RAFT_OP_TRANSFER, target);
	ms = 2 * (uint64_t)raftd.election_ticks * node_tick_ms();
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if ((w->timer = evtimer_new(raftd_child.base, op_transfer_timeout,
	    w)) == NULL || evtimer_add(w->timer, &tv) == -1)
		fatalx("operator: evtimer");
	node_schedule_flush(&raftd);
}

void
raft_op_request(struct imsgev *iev, struct imsg *imsg)
{
	struct raft_op		 op;
	const struct acl_authz	*az;
	char			 err[ACL_DENIED_MAX];
	int			 rc;

	if (raft_op_parse(imsg->data, imsg->len, &op) == -1)
		fatalx("operator: malformed request from %s", iev->name);
	if (forward_request(iev, imsg, 0, -1))
		return;
	if (!node_is_leader(&raftd)) {
		if (hold_request(iev, imsg) == -1)
			raft_op_answer(iev, imsg->hdr.peerid,
			    "No cluster leader", NULL);
		return;
	}
	if (acl_remote_wait(op.token, iev, imsg)) {
		explicit_bzero(op.token, sizeof(op.token));
		return;
	}
	/*
	 * Operator write, checked here as well as by apid: a request that
	 * came over the network may carry any token, or none (anonymous).
	 */
	if (acl_enabled()) {
		rc = acl_authz_get(op.token, &az, err, sizeof(err));
		if (rc == 0 && !acl_allowed(az, ACL_RES_OPERATOR, NULL,
		    ACL_LEVEL_WRITE)) {
			acl_denied(err, sizeof(err), az, ACL_RES_OPERATOR,
			    NULL, ACL_LEVEL_WRITE);
			rc = 1;
		}
		explicit_bzero(op.token, sizeof(op.token));
		if (rc != 0) {
			raft_op_answer(iev, imsg->hdr.peerid, err, NULL);
			return;
		}
	}
	explicit_bzero(op.token, sizeof(op.token));
	if (op.op == RAFT_OP_REMOVE)
		op_remove(iev, imsg->hdr.peerid, &op);
	else
		op_transfer(iev, imsg->hdr.peerid, &op);
}

/* After each ready: answer what has come about, or can no longer. */
void
raft_op_progress(struct raftd *r)
{
	struct op_wait	*w, *next;

	for (w = TAILQ_FIRST(&op_waits); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->op == RAFT_OP_REMOVE) {
			if (raft_commit_index(r->raft) >= w->index &&
			    raft_term(r->raft) == w->term)
				raft_op_answer(w->iev, w->reqid, NULL,
				    w->target);
			else if (!node_is_leader(r) ||
			    raft_term(r->raft) != w->term)
				raft_op_answer(w->iev, w->reqid, "leadership "
				    "lost while committing log", NULL);
			else
				continue;
		} else {
			if (node_is_leader(r))
				continue;
			raft_op_answer(w->iev, w->reqid, NULL,
			    raft_leader(r->raft));
		}
		op_wait_free(w);
	}
}

/* The asker went away. */
void
raft_op_cancel(struct imsgev *iev, uint32_t reqid)
{
	struct op_wait	*w;

	TAILQ_FOREACH(w, &op_waits, entry)
		if (w->iev == iev && w->reqid == reqid) {
			op_wait_free(w);
			return;
		}
}

