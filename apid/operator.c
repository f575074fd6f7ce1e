/*
 * GET /v1/operator/raft/configuration: the Raft configuration as
 * Consul's RaftConfigurationResponse, from raftd (the leader's, unless
 * ?stale).
 */
#include <string.h>

#include "apid.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"

static void
raft_conf_done(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*v, *a;
	json_t			*servers, *s;
	char			 err[256], id[64], node[128], addr[64];
	uint64_t		 index;
	uint32_t		 i;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_MAP ||
	    mpack_copy_str(mpack_map_get(&u.data, "error"), err,
	    sizeof(err)) == -1)
		fatalx("operator: malformed configuration from raftd");
	if (err[0] != '\0') {
		msgpack_unpacked_destroy(&u);
		http_error(r->req, 500, err);
		return;
	}
	v = mpack_map_get(&u.data, "servers");
	if (mpack_map_uint(&u.data, "index", &index) == -1 || v == NULL ||
	    v->type != MSGPACK_OBJECT_ARRAY)
		fatalx("operator: malformed configuration from raftd");
	servers = json_array();
	for (i = 0; i < v->via.array.size; i++) {
		a = v->via.array.ptr[i].via.array.ptr;
		if (v->via.array.ptr[i].type != MSGPACK_OBJECT_ARRAY ||
		    v->via.array.ptr[i].via.array.size != 5 ||
		    mpack_copy_str(&a[0], id, sizeof(id)) == -1 ||
		    mpack_copy_str(&a[1], node, sizeof(node)) == -1 ||
		    mpack_copy_str(&a[2], addr, sizeof(addr)) == -1 ||
		    a[3].type != MSGPACK_OBJECT_BOOLEAN ||
		    a[4].type != MSGPACK_OBJECT_BOOLEAN)
			fatalx("operator: malformed server from raftd");
		s = json_pack("{s:s, s:s, s:s, s:b, s:b, s:s}", "ID", id,
		    "Node", node, "Address", addr, "Leader",
		    a[3].via.boolean, "Voter", a[4].via.boolean,
		    "ProtocolVersion", "3");
		if (s != NULL)
			json_array_append_new(servers, s);
	}
	msgpack_unpacked_destroy(&u);
	http_reply_json(r->req, json_pack("{s:o, s:I}", "Servers", servers,
	    "Index", (json_int_t)index), r->pretty);
}

void
operator_raft_configuration(struct evhttp_request *req, const char *path)
{
	struct request	*r;
	struct query	 q;
	const char	*err;
	uint8_t		 stale;
	int		 st;

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	err = query_consistency(&q, &st, NULL);
	query_free(&q);
	if (err != NULL) {
		http_error(req, 400, err);
		return;
	}
	stale = st == KV_CONS_STALE;
	if ((r = request_new(req, raft_conf_done)) == NULL) {
		http_error(req, 500, "out of memory");
		return;
	}
	request_send(r, IMSG_RAFT_CONF_REQ, &stale, sizeof(stale));
}
