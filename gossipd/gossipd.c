/*
 * gossipd, the membership child: SWIM gossip on the LAN pool (:8301) and,
 * on servers, the WAN pool (:8302).  It gets its sockets from the parent
 * and runs chrooted and unprivileged; the protocol lands with its issue.
 */
#include "config.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"

static struct child	 gossipd_child;

static void
gossipd_dispatch_raftd(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("gossipd: unexpected type %u from raftd", imsg->hdr.type);
}

int
main(int argc, char *argv[])
{
	struct child	*c = &gossipd_child;

	proc_child_start(c, PROC_GOSSIPD, argc, argv);
	proc_child_peer(c, PROC_RAFTD, gossipd_dispatch_raftd);
	sandbox_enter(PROC_GOSSIPD, PROC_EMPTY_DIR, c->conf->user);
	log_debug("gossip: holding %d sockets", c->nsockets);
	proc_child_run(c);
	return 0;
}
