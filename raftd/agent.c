/*
 * Answers about the local agent: its identity (GET /v1/agent/self), and
 * the Raft leader and peers (GET /v1/status/leader, /v1/status/peers),
 * which a client agent asks a server for.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "coordinate.h"
#include "duration.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"
#include "raftd.h"

static void
kv_num(msgpack_packer *pk, const char *k, uint64_t v)
{
	char	 buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	mpack_kv_str(pk, k, buf);
}

/* consul info's "raft" section, all strings, as Consul's. */
static void
raft_stats(msgpack_packer *pk)
{
	const struct raft_conf	*conf = raft_config(raftd.raft);
	const char		*state;
	char			 buf[32];
	uint64_t		 last_term = 0;
	int64_t			 t;
	size_t			 i, peers = 0;

	for (i = 0; i < conf->n; i++)
		if (conf->servers[i].voter &&
		    strcmp(conf->servers[i].id, raftd_node_id) != 0)
			peers++;
	switch (raft_role(raftd.raft)) {
	case RAFT_LEADER:
		state = "Leader";
		break;
	case RAFT_FOLLOWER:
		state = "Follower";
		break;
	default:
		state = "Candidate";
	}
	if (raftd.storage.term(raftd.storage.arg,
	    raft_last_index(raftd.raft), &last_term) == -1)
		last_term = 0;
	msgpack_pack_map(pk, 11);
	kv_num(pk, "applied_index", raftd.applied);
	kv_num(pk, "commit_index", raft_commit_index(raftd.raft));
	mpack_kv_str(pk, "fsm_pending", "0");
	t = raft_last_contact_ticks(raftd.raft);
	if (t < 0)
		strlcpy(buf, "never", sizeof(buf));
	else if (t == 0)
		strlcpy(buf, "0", sizeof(buf));
	else
		duration_format(t * (int64_t)node_tick_ms() * DURATION_MSEC,
		    buf, sizeof(buf));
	mpack_kv_str(pk, "last_contact", buf);
	kv_num(pk, "last_log_index", raft_last_index(raftd.raft));
	kv_num(pk, "last_log_term", last_term);
	kv_num(pk, "last_snapshot_index", raftd.store.snap_index);
	kv_num(pk, "last_snapshot_term", raftd.store.snap_term);
	kv_num(pk, "num_peers", peers);
	mpack_kv_str(pk, "state", state);
	kv_num(pk, "term", raft_term(raftd.raft));
}

struct serf_count {
	uint64_t	 members, failed, left;
};

static void
serf_count_member(void *arg, const char *name, const char *ip,
    uint64_t port, uint64_t status, const msgpack_object *tags)
{
	struct serf_count	*n = arg;

	n->members++;
	if (status == 4)
		n->failed++;
	else if (status == 3)
		n->left++;
}

/* consul info's "serf_lan" / "serf_wan": what raftd knows of a pool. */
static void
serf_stats(msgpack_packer *pk, uint8_t pool)
{
	struct serf_count	 n;

	memset(&n, 0, sizeof(n));
	members_walk(pool, serf_count_member, &n);
	msgpack_pack_map(pk, 4);
	mpack_kv_str(pk, "encrypted", keyring_in_use(pool) ? "true" :
	    "false");
	kv_num(pk, "failed", n.failed);
	kv_num(pk, "left", n.left);
	kv_num(pk, "members", n.members);
}

void
agent_self_request(struct imsgev *iev, struct imsg *imsg)
{
	struct config		*c = raftd_child.conf;
	struct mpack_out	 out;
	msgpack_packer		*pk = &out.pk;

	imsg_need_len(imsg, 0, iev->name);
	mpack_out_init(&out);
	msgpack_pack_map(pk, 16);
	mpack_kv_str(pk, "node_id", raftd_node_id);
	mpack_kv_str(pk, "node_name", c->node_name);
	mpack_kv_str(pk, "datacenter", c->datacenter);
	mpack_kv_str(pk, "primary_datacenter", c->primary_datacenter);
	mpack_kv_str(pk, "advertise_addr", c->advertise_addr);
	mpack_kv_bool(pk, "server", c->server);
	mpack_kv_bool(pk, "bootstrap", c->bootstrap);
	mpack_kv_int(pk, "bootstrap_expect", c->bootstrap_expect);
	mpack_kv_int(pk, "serf_lan_port", c->ports.serf_lan);
	mpack_kv_int(pk, "serf_wan_port", c->ports.serf_wan);
	mpack_kv_int(pk, "server_port", c->ports.server);
	mpack_kv_bool(pk, "leader_known", node_leader_addr(&raftd)[0] != '\0');
	mpack_kv_str(pk, "leader_addr", node_leader_addr(&raftd));
	mpack_kv_bool(pk, "leader", node_is_leader(&raftd));
	mpack_str(pk, "coord");
	coord_pack(pk, coord_self(0));
	/* Sections of Stats, as consul info prints them. */
	mpack_str(pk, "stats");
	msgpack_pack_map(pk, raftd.raft != NULL ? 3 : 1);
	mpack_str(pk, "serf_lan");
	serf_stats(pk, 0);
	if (raftd.raft != NULL) {
		mpack_str(pk, "serf_wan");
		serf_stats(pk, 1);
		mpack_str(pk, "raft");
		raft_stats(pk);
	}
	if (imsgev_compose(iev, IMSG_AGENT_SELF, imsg->hdr.peerid, -1,
	    out.sbuf.data, out.sbuf.size) == -1)
		fatal("agent: compose");
	mpack_out_free(&out);
}

void
status_leader_request(struct imsgev *iev, struct imsg *imsg)
{
	struct imsg_status_leader	 sl;

	imsg_need_len(imsg, 0, iev->name);
	if (forward_request(iev, imsg, 1, KV_READ_SINGLE))
		return;
	memset(&sl, 0, sizeof(sl));
	strlcpy(sl.addr, node_leader_addr(&raftd), sizeof(sl.addr));
	sl.known = sl.addr[0] != '\0';
	if (imsgev_compose(iev, IMSG_STATUS_LEADER, imsg->hdr.peerid, -1,
	    &sl, sizeof(sl)) == -1)
		fatal("status: compose");
}

/* Every server in the Raft configuration, non-voters included. */
void
status_peers_request(struct imsgev *iev, struct imsg *imsg)
{
	const struct raft_conf	*conf;
	struct mpack_out	 out;
	size_t			 i;

	imsg_need_len(imsg, 0, iev->name);
	if (forward_request(iev, imsg, 1, KV_READ_SINGLE))
		return;
	conf = raft_config(raftd.raft);
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, conf->n);
	for (i = 0; i < conf->n; i++)
		mpack_str(&out.pk, conf->servers[i].addr);
	if (imsgev_compose(iev, IMSG_STATUS_PEERS, imsg->hdr.peerid, -1,
	    out.sbuf.data, out.sbuf.size) == -1)
		fatal("status: compose");
	mpack_out_free(&out);
}
