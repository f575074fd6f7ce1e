/*
 * The /v1/status/ endpoints: the Raft leader and peers as raftd sees them.
 */
#include <string.h>

#include "apid.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"

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

static void
status_peers_done(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	json_t			*peers;
	uint32_t		 i;
	const msgpack_object	*o;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY)
		fatalx("status: malformed peers from raftd");
	peers = json_array();
	for (i = 0; i < u.data.via.array.size; i++) {
		o = &u.data.via.array.ptr[i];
		if (o->type != MSGPACK_OBJECT_STR)
			fatalx("status: malformed peer from raftd");
		json_array_append_new(peers, json_stringn(o->via.str.ptr,
		    o->via.str.size));
	}
	msgpack_unpacked_destroy(&u);
	http_reply_json(r->req, peers, r->pretty);
}

void
status_peers(struct evhttp_request *req, const char *path)
{
	struct request	*r;

	if ((r = request_new(req, status_peers_done)) == NULL) {
		http_error(req, 500, "out of memory");
		return;
	}
	request_send(r, IMSG_STATUS_PEERS_REQ, NULL, 0);
}
