/*
 * dnsd, the DNS child: Consul's DNS interface on :8600 (UDP and TCP).
 * It gets its sockets from the parent and runs chrooted and
 * unprivileged; answering lands with its issue.
 */
#include "config.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"

static struct child	 dnsd_child;

static void
dnsd_dispatch_raftd(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_DNS_BEGIN:
	case IMSG_DNS_NODE:
	case IMSG_DNS_NODE_DEL:
	case IMSG_DNS_END:
		break;	/* the view: kept once dnsd answers */
	default:
		fatalx("dnsd: unexpected type %u from raftd",
		    imsg->hdr.type);
	}
}

int
main(int argc, char *argv[])
{
	struct child	*c = &dnsd_child;

	proc_child_start(c, PROC_DNSD, argc, argv);
	proc_child_peer(c, PROC_RAFTD, dnsd_dispatch_raftd);
	sandbox_enter(PROC_DNSD, PROC_EMPTY_DIR, c->conf->user);
	log_debug("dns: holding %d sockets", c->nsockets);
	proc_child_run(c);
	return 0;
}
