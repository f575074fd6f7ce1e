/*
 * apid, the HTTP API child.  It gets its listening sockets from the
 * parent, chroots to an empty directory, drops privileges, and talks to
 * nothing but its clients, the parent and raftd.
 */
#include <stdlib.h>

#include <tls.h>

#include "apid.h"
#include "config.h"
#include "log.h"
#include "sandbox.h"

struct child	 apid_child;

static void
apid_dispatch_raftd(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_AGENT_SELF:
	case IMSG_STATUS_LEADER:
	case IMSG_STATUS_PEERS:
	case IMSG_READ_END:
	case IMSG_WRITE_RESULT:
	case IMSG_GOSSIP_RESULT:
	case IMSG_RAFT_CONF:
	case IMSG_RAFT_OP:
	case IMSG_LOCAL_RESULT:
	case IMSG_ACL_AUTHZ:
		request_answered(imsg);
		break;
	case IMSG_AGENT_TOKEN:
		if (imsg->hdr.peerid == 0)
			acl_agent_tokens(imsg);
		else
			request_answered(imsg);
		break;
	case IMSG_KV_ITEM:
	case IMSG_CAT_ITEM:
	case IMSG_SNAPSHOT_DATA:
	case IMSG_MEMBER:
	case IMSG_USER_EVENT:
		request_item(imsg);
		break;
	default:
		fatalx("apid: unexpected type %u from raftd", imsg->hdr.type);
	}
}

/* The parent answers what only it can do: a reload. */
static void
apid_dispatch_parent(struct child *c, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_AGENT_RELOADED:
		request_answered(imsg);
		break;
	default:
		fatalx("apid: unexpected type %u from parent", imsg->hdr.type);
	}
}

static void
apid_reload(struct child *c, struct config *old)
{
	https_tls_load(c);
}

int
main(int argc, char *argv[])
{
	struct child	*c = &apid_child;

	proc_child_start(c, PROC_APID, argc, argv);
	proc_child_peer(c, PROC_RAFTD, apid_dispatch_raftd);
	/* jansson seeds its hash tables from /dev/urandom: do it now. */
	json_object_seed(0);
	agent_init();
	/* libtls reads OpenSSL's configuration once, outside the sandbox. */
	if (tls_init() == -1)
		fatalx("apid: tls_init");
	http_start(c);
	c->parent_msg = apid_dispatch_parent;
	c->reload = apid_reload;
	sandbox_enter(PROC_APID, PROC_EMPTY_DIR, c->conf->user);
	log_debug("http: serving");
	proc_child_run(c);
	return 0;
}
