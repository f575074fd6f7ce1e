/*
 * checkd, the health check child: http, tcp and ttl checks run here;
 * script checks are exec'd by the parent on checkd's request.  It runs
 * chrooted and unprivileged; the checks land with their issue.
 */
#include "config.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"

static struct child	 checkd_child;

static void
checkd_dispatch_raftd(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("checkd: unexpected type %u from raftd", imsg->hdr.type);
}

int
main(int argc, char *argv[])
{
	struct child	*c = &checkd_child;

	proc_child_start(c, PROC_CHECKD, argc, argv);
	proc_child_peer(c, PROC_RAFTD, checkd_dispatch_raftd);
	sandbox_enter(PROC_CHECKD, PROC_EMPTY_DIR, c->conf->user);
	proc_child_run(c);
	return 0;
}
