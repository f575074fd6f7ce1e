/*
 * Answers about the local agent: its identity (GET /v1/agent/self), and
 * the Raft leader and peers (GET /v1/status/leader, /v1/status/peers),
 * which a client agent asks a server for.
 */
#include <string.h>

#include "config.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"
#include "raftd.h"

void
agent_self_request(struct imsgev *iev, struct imsg *imsg)
{
	struct config		*c = raftd_child.conf;
	struct mpack_out	 out;
	msgpack_packer		*pk = &out.pk;

	imsg_need_len(imsg, 0, iev->name);
	mpack_out_init(&out);
	msgpack_pack_map(pk, 14);
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
