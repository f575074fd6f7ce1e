/*
 * The user event endpoints.  PUT /v1/event/fire/<name> checks the event
 * as Consul does, gives it an ID, has gossipd broadcast it on the LAN
 * pool (through raftd) and answers with it.  GET /v1/event/list returns
 * the events this agent kept, which raftd holds; it blocks as Consul's
 * does, while the list's index equals ?index.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "apid.h"
#include "duration.h"
#include "log.h"

#define FIRE_PREFIX	"/v1/event/fire/"
/* Serf's user event limit in Consul, for the name and payload. */
#define EVENT_SIZE_MAX	512

/* Consul's UserEvent; LTime is 0 until the event has gone round. */
static json_t *
user_event_json(const char *id, const char *name, const void *payload,
    size_t plen, const char *node, const char *service, const char *tag,
    uint64_t ltime)
{
	json_t	*p;
	char	*b;
	size_t	 blen;

	if (plen == 0)
		p = json_null();
	else {
		blen = sodium_base64_ENCODED_LEN(plen,
		    sodium_base64_VARIANT_ORIGINAL);
		if ((b = malloc(blen)) == NULL)
			return NULL;
		sodium_bin2base64(b, blen, payload, plen,
		    sodium_base64_VARIANT_ORIGINAL);
		p = json_string(b);
		free(b);
	}
	return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:i, s:I}",
	    "ID", id,
	    "Name", name,
	    "Payload", p,
	    "NodeFilter", node,
	    "ServiceFilter", service,
	    "TagFilter", tag,
	    "Version", 1,
	    "LTime", (json_int_t)ltime);
}

/* A random version 4 UUID, in lower case as Consul writes them. */
void
uuid_v4(char *buf, size_t len)
{
	unsigned char	 b[16];

	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static const char *
query_str(struct query *q, const char *name)
{
	const char	*v = query_get(q, name);

	return v != NULL ? v : "";
}

/*
 * The node, service and tag filters are regular expressions, matched
 * by raftd with regcomp(3): one it would refuse is refused here, named
 * as Consul names it.  0, or -1 with the reason for a 400.
 */
static int
filters_check(const char *node, const char *service, const char *tag,
    char *msg, size_t msglen)
{
	const char *const	 what[] = { "node", "service", "tag" };
	const char		*re[3];
	regex_t			 r;
	char			 err[128];
	int			 i, rc;

	re[0] = node;
	re[1] = service;
	re[2] = tag;
	for (i = 0; i < 3; i++) {
		if (*re[i] == '\0')
			continue;
		if ((rc = regcomp(&r, re[i], REG_EXTENDED | REG_NOSUB)) != 0) {
			regerror(rc, &r, err, sizeof(err));
			snprintf(msg, msglen, "Invalid %s filter: %s", what[i],
			    err);
			return -1;
		}
		regfree(&r);
	}
	return 0;
}

/* Consul's checks of an event to fire, in its order. */
static int
fire_check(const char *name, size_t plen, const char *node,
    const char *service, const char *tag, char *msg, size_t msglen)
{
	if (*name == '\0') {
		snprintf(msg, msglen, "Missing name");
		return -1;
	}
	/* Consul's own events (_rexec) start with '_'. */
	if (*name == '_') {
		snprintf(msg, msglen, "Bad request: event names starting "
		    "with '_' are reserved");
		return -1;
	}
	if (*tag != '\0' && *service == '\0') {
		snprintf(msg, msglen, "Cannot provide tag filter without "
		    "service filter");
		return -1;
	}
	if (filters_check(node, service, tag, msg, msglen) == -1)
		return -1;
	if (strlen(name) + plen > EVENT_SIZE_MAX) {
		snprintf(msg, msglen, "user event exceeds configured limit "
		    "of %d bytes before encoding", EVENT_SIZE_MAX);
		return -1;
	}
	return 0;
}

/* Broadcast: the event, as it was sent, is the answer. */
static void
fire_done(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;

	if (gossip_result(r, imsg, &u) == -1)
		return;
	msgpack_unpacked_destroy(&u);
	http_reply_json(r->req, json_incref(r->reply), r->pretty);
}

static void
fire_send(struct evhttp_request *req, const char *id, const char *name,
    const void *payload, size_t plen, struct query *q, json_t *doc)
{
	struct mpack_out	 out;
	struct request		*r;

	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 7);
	mpack_kv_str(&out.pk, "op", "event");
	mpack_kv_str(&out.pk, "id", id);
	mpack_kv_str(&out.pk, "name", name);
	mpack_str(&out.pk, "payload");
	if (plen > 0)
		mpack_bin(&out.pk, payload, plen);
	else
		msgpack_pack_nil(&out.pk);
	mpack_kv_str(&out.pk, "node", query_str(q, "node"));
	mpack_kv_str(&out.pk, "service", query_str(q, "service"));
	mpack_kv_str(&out.pk, "tag", query_str(q, "tag"));
	if ((r = gossip_request(req, fire_done, &out)) != NULL)
		r->reply = doc;
	else
		json_decref(doc);
	mpack_out_free(&out);
}

/* PUT /v1/event/fire/<name>?node=&service=&tag=, the payload as body. */
void
user_event_fire(struct evhttp_request *req, const char *path)
{
	struct evbuffer	*body = evhttp_request_get_input_buffer(req);
	struct query	 q;
	const char	*name = path + strlen(FIRE_PREFIX);
	const char	*node, *service, *tag;
	unsigned char	*payload;
	size_t		 plen = evbuffer_get_length(body);
	char		 msg[256], id[37];
	json_t		*doc;

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	node = query_str(&q, "node");
	service = query_str(&q, "service");
	tag = query_str(&q, "tag");
	if (fire_check(name, plen, node, service, tag, msg,
	    sizeof(msg)) == -1) {
		http_error(req, 400, msg);
		goto done;
	}
	payload = plen > 0 ? evbuffer_pullup(body, -1) : NULL;
	uuid_v4(id, sizeof(id));
	/* JSON takes only UTF-8, and the answer is JSON. */
	if ((doc = user_event_json(id, name, payload, plen, node, service,
	    tag, 0)) == NULL) {
		http_error(req, 400, "Bad request: the event name and filters "
		    "must be UTF-8");
		goto done;
	}
	fire_send(req, id, name, payload, plen, &q, doc);
 done:
	query_free(&q);
}

/* One IMSG_USER_EVENT record from raftd, which checked it. */
static void
list_item(struct request *r, struct imsg *imsg)
{
	static const int	 at[] = { 0, 1, 3, 4, 5 };
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	char			*s[5] = { NULL };
	json_t			*e;
	int			 i;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 7)
		fatalx("event: malformed event from raftd");
	a = u.data.via.array.ptr;
	for (i = 0; i < 5; i++)
		if (mpack_get_str(&a[at[i]], &s[i]) == -1 || s[i] == NULL)
			fatalx("event: malformed event from raftd");
	if ((a[2].type != MSGPACK_OBJECT_BIN &&
	    a[2].type != MSGPACK_OBJECT_NIL) ||
	    a[6].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		fatalx("event: malformed event from raftd");
	/* An event from another agent that JSON cannot carry is left out. */
	if ((e = user_event_json(s[0], s[1], a[2].type == MSGPACK_OBJECT_BIN ?
	    a[2].via.bin.ptr : NULL, a[2].type == MSGPACK_OBJECT_BIN ?
	    a[2].via.bin.size : 0, s[2], s[3], s[4], a[6].via.u64)) != NULL)
		json_array_append_new(r->items, e);
	for (i = 0; i < 5; i++)
		free(s[i]);
	msgpack_unpacked_destroy(&u);
}

static void
list_done(struct request *r, struct imsg *imsg)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(r->req);
	struct imsg_read_end	 end;
	char			 buf[32];

	read_end_get(imsg, &end);
	/* Consul sets only the index on this endpoint. */
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)end.index);
	evhttp_add_header(h, "X-Consul-Index", buf);
	if (end.error[0] != '\0') {
		http_error(r->req, acl_denial(end.error) ? 403 : 500,
		    end.error);
		return;
	}
	http_reply_json(r->req, json_incref(r->items), r->pretty);
}

/*
 * ?wait for this endpoint: Consul waits EVENT_WAIT_MAX_MS by default
 * and at most, whatever default_query_time and max_query_time say.
 */
static int
list_wait(struct query *q, uint64_t *wait_ms)
{
	const char	*w;
	int64_t		 ns;

	*wait_ms = EVENT_WAIT_MAX_MS;
	if ((w = query_get(q, "wait")) == NULL)
		return 0;
	if (duration_parse(w, &ns) == -1 || ns < 0)
		return -1;
	if ((uint64_t)ns / 1000000 < *wait_ms)
		*wait_ms = (uint64_t)ns / 1000000;
	return 0;
}

static void
list_send(struct evhttp_request *req, struct query *q, uint64_t index,
    uint64_t wait_ms)
{
	struct mpack_out	 out;
	struct request		*r;
	json_t			*items;

	if ((items = json_array()) == NULL ||
	    (r = request_new(req, list_done)) == NULL) {
		json_decref(items);
		http_error(req, 500, "out of memory");
		return;
	}
	r->items = items;
	r->item = list_item;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 7);
	mpack_str(&out.pk, query_str(q, "name"));
	mpack_str(&out.pk, query_str(q, "node"));
	mpack_str(&out.pk, query_str(q, "service"));
	mpack_str(&out.pk, query_str(q, "tag"));
	msgpack_pack_uint64(&out.pk, index);
	msgpack_pack_uint64(&out.pk, wait_ms);
	/* The caller's token: raftd lists the events it may read. */
	mpack_str(&out.pk, acl_request_secret(req, q));
	request_send(r, IMSG_EVENT_LIST_REQ, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	if (index > 0)
		request_blocking(r);
}

/* GET /v1/event/list?name=&node=&service=&tag=&index=&wait= */
void
user_event_list(struct evhttp_request *req, const char *path)
{
	struct query	 q;
	uint64_t	 index = 0, wait_ms;
	char		 msg[256];

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	if (list_wait(&q, &wait_ms) == -1)
		http_error(req, 400, "Invalid wait time");
	else if (query_u64(&q, "index", &index) == -1)
		http_error(req, 400, "Invalid index");
	else if (filters_check(query_str(&q, "node"),
	    query_str(&q, "service"), query_str(&q, "tag"), msg,
	    sizeof(msg)) == -1)
		http_error(req, 400, msg);
	else
		list_send(req, &q, index, wait_ms);
	query_free(&q);
}
