/*
 * raftd, the state child: the only process that will open the Berkeley
 * DB environment in data_dir.  It is chrooted to data_dir and serves the
 * other children over their channels.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tls.h>

#include "config.h"
#include "log.h"
#include "raftd.h"
#include "sandbox.h"

struct child	 raftd_child;
struct raftd	 raftd;
char		*raftd_node_id;
static int	 rpc_fd = -1;

static void
raftd_dispatch_apid(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_AGENT_SELF_REQ:
		agent_self_request(iev, imsg);
		break;
	case IMSG_STATUS_LEADER_REQ:
		status_leader_request(iev, imsg);
		break;
	case IMSG_STATUS_PEERS_REQ:
		status_peers_request(iev, imsg);
		break;
	case IMSG_MEMBERS_REQ:
		members_request(iev, imsg);
		break;
	case IMSG_KV_READ:
		kv_read_request(iev, imsg);
		break;
	case IMSG_KV_WRITE:
		kv_write_request(iev, imsg);
		break;
	case IMSG_CAT_READ:
		cat_read_request(iev, imsg);
		break;
	case IMSG_CAT_WRITE:
		cat_write_request(iev, imsg);
		break;
	case IMSG_RAFT_CONF_REQ:
		raft_conf_request(iev, imsg);
		break;
	case IMSG_RAFT_OP_REQ:
		raft_op_request(iev, imsg);
		break;
	case IMSG_SNAPSHOT_SAVE:
		snapshot_request(iev, imsg);
		break;
	case IMSG_SNAPSHOT_DATA:
		snapshot_data(iev, imsg);
		break;
	case IMSG_SNAPSHOT_RESTORE:
		snapshot_restore_request(iev, imsg);
		break;
	case IMSG_GOSSIP_REQ:
		gossip_relay_request(iev, imsg);
		break;
	case IMSG_EVENT_LIST_REQ:
		user_event_list_request(iev, imsg);
		break;
	case IMSG_LOCAL_REQ:
		local_request(iev, imsg);
		break;
	case IMSG_DC_REQ:
		dc_request(iev, imsg);
		break;
	case IMSG_ACL_AUTHZ_REQ:
		acl_authz_request(iev, imsg);
		break;
	case IMSG_AGENT_TOKEN_SET:
		acl_token_set_request(iev, imsg);
		break;
	case IMSG_REQ_CANCEL:
		/* Request ids are unique: one of these holds it, or none. */
		imsg_need_len(imsg, 0, iev->name);
		watch_cancel(&raftd, iev, imsg->hdr.peerid);
		forward_cancel(iev, imsg->hdr.peerid);
		hold_cancel(iev, imsg->hdr.peerid);
		readindex_cancel(iev, imsg->hdr.peerid);
		raft_op_cancel(iev, imsg->hdr.peerid);
		cat_watch_cancel(iev, imsg->hdr.peerid);
		user_event_cancel(iev, imsg->hdr.peerid);
		break;
	default:
		fatalx("raftd: unexpected type %u from apid", imsg->hdr.type);
	}
}

static void
raftd_dispatch_gossipd(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_MEMBER:
		member_update(iev, imsg);
		break;
	case IMSG_GOSSIP_RESULT:
		gossip_relay_result(iev, imsg);
		break;
	case IMSG_USER_EVENT:
		user_event_arrived(iev, imsg);
		break;
	case IMSG_KEYRING_SAVE:
		keyring_save(iev, imsg);
		break;
	case IMSG_COORD_GOSSIP:
		coord_gossip(iev, imsg);
		break;
	default:
		fatalx("raftd: unexpected type %u from gossipd",
		    imsg->hdr.type);
	}
}

/* dnsd and checkd have nothing to ask yet. */
static void
raftd_dispatch_checkd(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_CHECK_RESULT:
		local_check_result(iev, imsg);
		break;
	default:
		fatalx("raftd: unexpected type %u from checkd",
		    imsg->hdr.type);
	}
}

static void
raftd_reload(struct child *c, struct config *old)
{
	rpc_tls_load(c);
	local_reload();
}

static void
raftd_dispatch_dnsd(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_DNS_REMOTE_REQ:
		dnsremote_request(iev, imsg);
		break;
	default:
		fatalx("raftd: unexpected type %u from %s", imsg->hdr.type,
		    iev->name);
	}
}

int
main(int argc, char *argv[])
{
	struct child	*c = &raftd_child;

	proc_child_start(c, PROC_RAFTD, argc, argv);
	proc_child_peer(c, PROC_APID, raftd_dispatch_apid);
	proc_child_peer(c, PROC_GOSSIPD, raftd_dispatch_gossipd);
	proc_child_peer(c, PROC_DNSD, raftd_dispatch_dnsd);
	proc_child_peer(c, PROC_CHECKD, raftd_dispatch_checkd);
	/* Server RPC (:8300), on servers. */
	rpc_fd = proc_child_socket(c, SOCKET_SERVER_RPC);

	forward_init(c);
	acl_replication_init(c);
	ae_init(c);
	acl_agent_init(c);
	coord_sync_init(c);
	dnsfeed_init(c);
	dnsremote_init(c);
	/* libtls reads OpenSSL's configuration once, outside the sandbox. */
	if (tls_init() == -1)
		fatalx("raftd: tls_init");
	rpc_tls_load(c);
	if (chdir(c->conf->data_dir) == -1)
		fatal("raftd: data_dir %s", c->conf->data_dir);
	sandbox_enter(PROC_RAFTD, c->conf->data_dir, c->conf->user);
	raftd_node_id = node_id_load(c->conf->node_id);
	log_debug("nodeid: %s, rpc socket %s", raftd_node_id,
	    rpc_fd == -1 ? "none" : "held");
	raftd.child = c;
	snprintf(raftd.self_addr, sizeof(raftd.self_addr), "%s:%d",
	    c->conf->advertise_addr, c->conf->ports.server);
	node_start(&raftd);
	rpc_start(rpc_fd);
	/* Script checks are registered with the parent from the start. */
	proc_child_parent(c);
	c->reload = raftd_reload;
	acl_tokens_load(c);
	local_start();
	ae_start(c);
	coord_sync_start(c);
	session_start();
	dnsfeed_start(c);
	/* gossipd starts its pools on the node id, with these keys. */
	keyring_send_init(c);
	serf_snapshot_rejoin(c);
	/* gossipd names us in gossip with the id we keep. */
	if (imsgev_compose(&c->peers[PROC_GOSSIPD], IMSG_NODE_ID, 0, -1,
	    raftd_node_id, strlen(raftd_node_id) + 1) == -1)
		fatal("raftd: compose");
	proc_child_run(c);
	return 0;
}
