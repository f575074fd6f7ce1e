/*
 * The /v1/coordinate/ endpoints, with Consul's JSON:
 *
 *   GET /v1/coordinate/datacenters   each datacenter's servers' WAN
 *                                    coordinates, this one first
 *   GET /v1/coordinate/nodes         every node's LAN coordinate (B)
 *   GET /v1/coordinate/node/<node>   one node's, per segment (B; 404)
 *   PUT /v1/coordinate/update        {"Node", "Segment", "Coord"}
 *
 * Reads are catalog reads (raftd serves them like any other, with ?dc,
 * the consistency modes and blocking); an update goes the way an
 * agent's own periodic one does, to the leader, which batches them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "apid.h"
#include "catalog.h"
#include "catalog_codec.h"
#include "coordinate_json.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"

#define COORD_PREFIX	"/v1/coordinate/"
#define COORD_BODY_MAX	(64 * 1024)

static int
query_of(struct request *r)
{
	return *(int *)r->ctx;
}

static json_t *
entry_json(const char *node, const char *segment, const struct coord *c)
{
	return json_pack("{s:s, s:s, s:o}", "Node", node, "Segment", segment,
	    "Coord", coord_json(c));
}

/* [dc, [[server, coordinate]...]] */
static json_t *
dc_json(const msgpack_object *o)
{
	const msgpack_object	*a, *sv;
	char			 dc[CAT_STR_MAX + 1], node[CAT_STR_MAX + 1];
	struct coord		 c;
	json_t			*list;
	uint32_t		 i;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2)
		return NULL;
	a = o->via.array.ptr;
	if (mpack_copy_str(&a[0], dc, sizeof(dc)) == -1 ||
	    a[1].type != MSGPACK_OBJECT_ARRAY)
		return NULL;
	list = json_array();
	for (i = 0; i < a[1].via.array.size; i++) {
		sv = &a[1].via.array.ptr[i];
		if (sv->type != MSGPACK_OBJECT_ARRAY ||
		    sv->via.array.size != 2 ||
		    mpack_copy_str(&sv->via.array.ptr[0], node,
		    sizeof(node)) == -1 ||
		    coord_unpack(&sv->via.array.ptr[1], &c) == -1) {
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, json_pack("{s:s, s:o}", "Node",
		    node, "Coord", coord_json(&c)));
	}
	return json_pack("{s:s, s:s, s:o}", "Datacenter", dc, "AreaID", "WAN",
	    "Coordinates", list);
}

static void
coord_item(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	char			 node[CAT_STR_MAX + 1], seg[CAT_STR_MAX + 1];
	struct coord		 c;
	json_t			*j;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1)
		fatalx("coordinate: malformed item from raftd");
	if (query_of(r) == CAT_Q_COORD_DCS)
		j = dc_json(&u.data);
	else if (coord_entry_unpack(&u.data, node, sizeof(node), seg,
	    sizeof(seg), &c) == 0)
		j = entry_json(node, seg, &c);
	else
		j = NULL;
	msgpack_unpacked_destroy(&u);
	if (j == NULL)
		fatalx("coordinate: malformed item from raftd");
	json_array_append_new(r->items, j);
}

static void
coord_read_done(struct request *r, struct imsg *imsg)
{
	struct imsg_read_end	 end;

	read_end_get(imsg, &end);
	if (query_of(r) != CAT_Q_COORD_DCS)
		http_read_headers(r->req, &end);
	if (end.error[0] != '\0')
		http_error(r->req, acl_denial(end.error) ? 403 : 500,
		    end.error);
	else if (query_of(r) == CAT_Q_COORD_NODE &&
	    json_array_size(r->items) == 0)
		http_error(r->req, 404, NULL);
	else
		http_reply_json(r->req, json_incref(r->items), r->pretty);
}

static void
coord_read(struct evhttp_request *req, struct query *q, int query,
    const char *arg)
{
	struct request		*r;
	const char		*err;
	uint64_t		 min_index = 0, wait_ms = 0, max_stale_ms;
	int			 cons, *qp;

	if ((err = query_consistency(q, &cons, &max_stale_ms)) != NULL ||
	    (query != CAT_Q_COORD_DCS &&
	    (err = query_blocking(q, &min_index, &wait_ms)) != NULL)) {
		http_error(req, 400, err);
		return;
	}
	if (strlen(arg) > CAT_STR_MAX) {
		http_error(req, 400, "Bad request: name too long");
		return;
	}
	if ((qp = malloc(sizeof(*qp))) == NULL) {
		http_error(req, 500, "out of memory");
		return;
	}
	*qp = query;
	if ((r = request_new(req, coord_read_done)) == NULL ||
	    (r->items = json_array()) == NULL) {
		if (r != NULL)
			request_free(r);
		free(qp);
		http_error(req, 500, "out of memory");
		return;
	}
	r->ctx = qp;
	r->ctx_free = free;
	r->item = coord_item;
	cat_read_send(r, query, arg, min_index, wait_ms, cons, max_stale_ms);
}

static void
update_done(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	char			 err[512];

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 6)
		fatalx("coordinate: malformed write result from raftd");
	a = u.data.via.array.ptr;
	if (a[0].type == MSGPACK_OBJECT_BOOLEAN && a[0].via.boolean) {
		msgpack_unpacked_destroy(&u);
		http_reply_text(r->req, 200, NULL, NULL, 0);
		return;
	}
	if ((mpack_copy_str(&a[1], err, sizeof(err)) == -1 ||
	    err[0] == '\0') && (mpack_copy_str(&a[4], err,
	    sizeof(err)) == -1 || err[0] == '\0'))
		strlcpy(err, "coordinate update failed", sizeof(err));
	msgpack_unpacked_destroy(&u);
	http_error(r->req, acl_denial(err) ? 403 : 500, err);
}

/* A string field, matched whatever its case; NULL if absent or null. */
static int
body_str(json_t *o, const char *name, const char **out, char *err,
    size_t errlen)
{
	const char	*k;
	json_t		*v = NULL, *e;

	json_object_foreach(o, k, e)
		if (strcasecmp(k, name) == 0)
			v = e;
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > CAT_STR_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "Request decode failed: invalid %s",
		    name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static void
coord_update(struct evhttp_request *req)
{
	struct evbuffer		*body = evhttp_request_get_input_buffer(req);
	size_t			 len = evbuffer_get_length(body);
	struct mpack_out	 out;
	struct request		*r;
	struct query		 q;
	struct coord		 c;
	json_error_t		 jerr;
	json_t			*o = NULL, *cj = NULL, *e;
	const char		*text, *node, *seg, *k;
	char			 err[512];
	int			 haveq;

	if (len > COORD_BODY_MAX) {
		http_error(req, 413, "Request body too large");
		return;
	}
	if (len == 0 || (text = (const char *)evbuffer_pullup(body,
	    -1)) == NULL) {
		http_error(req, 400, "Request decode failed: EOF");
		return;
	}
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_object(o)) {
		snprintf(err, sizeof(err), "Request decode failed: %s",
		    o == NULL ? jerr.text : "not an object");
		goto bad;
	}
	if (body_str(o, "Node", &node, err, sizeof(err)) == -1 ||
	    body_str(o, "Segment", &seg, err, sizeof(err)) == -1)
		goto bad;
	if (node == NULL || *node == '\0') {
		strlcpy(err, "Missing node name", sizeof(err));
		goto bad;
	}
	json_object_foreach(o, k, e)
		if (strcasecmp(k, "Coord") == 0)
			cj = e;
	if (cj == NULL || json_is_null(cj)) {
		strlcpy(err, "Missing coordinate", sizeof(err));
		goto bad;
	}
	if (coord_from_json(cj, &c, err, sizeof(err)) == -1)
		goto bad;
	if ((r = request_new(req, update_done)) == NULL) {
		json_decref(o);
		http_error(req, 500, "out of memory");
		return;
	}
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	msgpack_pack_uint8(&out.pk, CAT_WRITE_COORD_BATCH);
	msgpack_pack_array(&out.pk, 1);
	coord_entry_pack(&out.pk, node, seg != NULL ? seg : "", &c);
	/* The caller's token: node write on the node, with ACLs on. */
	haveq = query_parse(req, &q) == 0;
	mpack_str(&out.pk, acl_request_secret(req, haveq ? &q : NULL));
	if (haveq)
		query_free(&q);
	request_send(r, IMSG_CAT_WRITE, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	json_decref(o);
	return;
 bad:
	json_decref(o);
	http_error(req, 400, err);
}

void
coordinate_handler(struct evhttp_request *req, const char *path)
{
	struct query		 q;
	const char		*p = path + strlen(COORD_PREFIX);
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	if (strcmp(p, "update") == 0) {
		if (cmd != EVHTTP_REQ_PUT)
			http_error(req, 405, "method GET not allowed");
		else
			coord_update(req);
		goto done;
	}
	if (cmd != EVHTTP_REQ_GET) {
		http_error(req, 405, "method PUT not allowed");
		goto done;
	}
	if (strcmp(p, "datacenters") == 0)
		coord_read(req, &q, CAT_Q_COORD_DCS, "");
	else if (strcmp(p, "nodes") == 0)
		coord_read(req, &q, CAT_Q_COORD_NODES, "");
	else if (strncmp(p, "node/", 5) == 0 && p[5] != '\0')
		coord_read(req, &q, CAT_Q_COORD_NODE, p + 5);
	else if (strcmp(p, "node/") == 0)
		http_error(req, 400, "Missing node name");
	else
		http_error(req, 404, "Invalid URL path: not a recognized "
		    "HTTP API endpoint");
 done:
	query_free(&q);
}
