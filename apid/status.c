/*
 * The /v1/status/ endpoints: the Raft leader and peers as raftd sees them.
 */
#include <string.h>

#include "apid.h"
#include "imsg_types.h"
#include "log.h"

static void
status_leader_done(struct request *r, struct imsg *imsg)
{
	struct imsg_status_leader	 sl;

	imsg_need_len(imsg, sizeof(sl), "raftd");
	memcpy(&sl, imsg->data, sizeof(sl));
	if (memchr(sl.addr, '\0', sizeof(sl.addr)) == NULL)
		fatalx("status: unterminated leader address from raftd");
	http_reply_json(r->req, json_string(sl.known ? sl.addr : ""),
	    r->pretty);
}

void
status_leader(struct evhttp_request *req, const char *path)
{
	struct request	*r;

	if ((r = request_new(req, status_leader_done)) == NULL) {
		http_error(req, 500, "out of memory");
		return;
	}
	request_send(r, IMSG_STATUS_LEADER_REQ, NULL, 0);
}
