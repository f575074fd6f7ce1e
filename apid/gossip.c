/*
 * The gossip endpoints: PUT /v1/agent/join/<address>, /v1/agent/leave
 * and /v1/agent/force-leave/<node>, and /v1/operator/keyring.  Each is
 * one IMSG_GOSSIP_REQ to gossipd, relayed by raftd, answered by a map
 * whose "error" is empty on success.  The parameters are checked here,
 * with Consul's messages, so gossipd sees only well-formed requests;
 * the answers are shaped here as Consul's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "acl_rules.h"
#include "apid.h"
#include "config.h"
#include "goquote.h"
#include "log.h"

#define JOIN_PREFIX		"/v1/agent/join/"
#define FORCE_LEAVE_PREFIX	"/v1/agent/force-leave/"
#define KEYRING_RELAY_MAX	5
/* {"Key": "<base64 of 32 bytes>"} and room to spare. */
#define KEYRING_BODY_MAX	4096

/*
 * Send the operation in out; the request, or NULL once the client had
 * its error answer.
 */
struct request *
gossip_request(struct evhttp_request *req, request_done_fn done,
    const struct mpack_out *out)
{
	struct request	*r;

	if (out->sbuf.size > IMSG_GOSSIP_MAX) {
		http_error(req, 400, "Bad request: request too large");
		return NULL;
	}
	if ((r = request_new(req, done)) == NULL) {
		http_error(req, 500, "out of memory");
		return NULL;
	}
	request_send(r, IMSG_GOSSIP_REQ, out->sbuf.data, out->sbuf.size);
	return r;
}

/* gossipd's answer, parsed into u; its "error", "" on success. */
static char *
gossip_parse(struct imsg *imsg, msgpack_unpacked *u)
{
	char	*error;

	if (mpack_parse(u, imsg->data, imsg->len) == -1)
		fatalx("gossip: malformed result from raftd");
	if (u->data.type != MSGPACK_OBJECT_MAP ||
	    mpack_map_str(&u->data, "error", &error) == -1 || error == NULL)
		fatalx("gossip: malformed result from raftd");
	return error;
}

/* A failure: 500 with its text, 400 when the request itself was bad. */
static void
gossip_fail(struct request *r, const msgpack_object *m, const char *error)
{
	int	 bad = 0;

	(void)mpack_map_bool(m, "bad", &bad);
	http_error(r->req, bad ? 400 : 500, error);
}

/*
 * gossipd's answer, parsed into u for the caller to read and destroy;
 * or -1 once its failure went to the client.
 */
int
gossip_result(struct request *r, struct imsg *imsg, msgpack_unpacked *u)
{
	char	*error = gossip_parse(imsg, u);

	if (*error == '\0') {
		free(error);
		return 0;
	}
	gossip_fail(r, &u->data, error);
	free(error);
	msgpack_unpacked_destroy(u);
	return -1;
}

/* Join, leave and force-leave answer 200 with no body. */
static void
gossip_done(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;

	if (gossip_result(r, imsg, &u) == -1)
		return;
	msgpack_unpacked_destroy(&u);
	http_reply_text(r->req, 200, NULL, NULL, 0);
}

/* Presence flags in the query string; -1 after a 400. */
static int
gossip_flags(struct evhttp_request *req, int *wan, int *prune)
{
	struct query	 q;

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return -1;
	}
	*wan = query_has(&q, "wan");
	if (prune != NULL)
		*prune = query_has(&q, "prune");
	query_free(&q);
	return 0;
}

/* PUT /v1/agent/join/<address>?wan: answered once the join is done. */
static void
agent_join_run(struct evhttp_request *req, const char *path,
    struct acl_authz *a)
{
	struct mpack_out	 out;
	int			 wan;

	if (gossip_flags(req, &wan, NULL) == -1)
		return;
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 3);
	mpack_kv_str(&out.pk, "op", "join");
	mpack_kv_str(&out.pk, "addr", path + strlen(JOIN_PREFIX));
	mpack_kv_bool(&out.pk, "wan", wan);
	gossip_request(req, gossip_done, &out);
	mpack_out_free(&out);
}

/*
 * PUT /v1/agent/leave: answered once every pool has left; the parent
 * then shuts the agent down.
 */
static void
agent_leave_run(struct evhttp_request *req, const char *path,
    struct acl_authz *a)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 1);
	mpack_kv_str(&out.pk, "op", "leave");
	gossip_request(req, gossip_done, &out);
	mpack_out_free(&out);
}

/* PUT /v1/agent/force-leave/<node>?prune&wan */
static void
agent_force_leave_run(struct evhttp_request *req, const char *path,
    struct acl_authz *a)
{
	struct mpack_out	 out;
	int			 wan, prune;

	if (gossip_flags(req, &wan, &prune) == -1)
		return;
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 4);
	mpack_kv_str(&out.pk, "op", "force-leave");
	mpack_kv_str(&out.pk, "node", path + strlen(FORCE_LEAVE_PREFIX));
	mpack_kv_bool(&out.pk, "prune", prune);
	mpack_kv_bool(&out.pk, "wan", wan);
	gossip_request(req, gossip_done, &out);
	mpack_out_free(&out);
}

/* join and leave: agent:write on this agent; force-leave: operator. */
void
agent_join(struct evhttp_request *req, const char *path)
{
	acl_agent_gate(req, path, ACL_RES_AGENT, apid_child.conf->node_name,
	    ACL_LEVEL_WRITE, agent_join_run);
}

void
agent_leave(struct evhttp_request *req, const char *path)
{
	acl_agent_gate(req, path, ACL_RES_AGENT, apid_child.conf->node_name,
	    ACL_LEVEL_WRITE, agent_leave_run);
}

void
agent_force_leave(struct evhttp_request *req, const char *path)
{
	acl_agent_gate(req, path, ACL_RES_OPERATOR, NULL, ACL_LEVEL_WRITE,
	    agent_force_leave_run);
}

/* A msgpack string's bytes and length (if len), or NULL and 0. */
static const char *
str_bytes(const msgpack_object *o, size_t *len)
{
	if (len != NULL)
		*len = 0;
	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return NULL;
	if (len != NULL)
		*len = o->via.str.size;
	return o->via.str.size > 0 ? o->via.str.ptr : "";
}

/* A map of strings to values of one type, as a pool's are. */
static int
keyring_map_ok(const msgpack_object *m, msgpack_object_type vtype)
{
	uint32_t	 i;

	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return 0;
	for (i = 0; i < m->via.map.size; i++)
		if (m->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR ||
		    m->via.map.ptr[i].val.type != vtype)
			return 0;
	return 1;
}

/* Every pool of an answer has what the contract says, typed. */
static void
keyring_pools_check(const msgpack_object *pools)
{
	const msgpack_object	*p;
	uint32_t		 i;

	if (pools == NULL || pools->type != MSGPACK_OBJECT_ARRAY)
		fatalx("keyring: malformed result from raftd");
	for (i = 0; i < pools->via.array.size; i++) {
		p = &pools->via.array.ptr[i];
		if (p->type != MSGPACK_OBJECT_MAP ||
		    mpack_map_get(p, "wan") == NULL ||
		    mpack_map_get(p, "wan")->type != MSGPACK_OBJECT_BOOLEAN ||
		    str_bytes(mpack_map_get(p, "dc"), NULL) == NULL ||
		    str_bytes(mpack_map_get(p, "error"), NULL) == NULL ||
		    mpack_map_get(p, "num_nodes") == NULL ||
		    mpack_map_get(p, "num_nodes")->type !=
		    MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    !keyring_map_ok(mpack_map_get(p, "keys"),
		    MSGPACK_OBJECT_POSITIVE_INTEGER) ||
		    !keyring_map_ok(mpack_map_get(p, "primary"),
		    MSGPACK_OBJECT_POSITIVE_INTEGER) ||
		    !keyring_map_ok(mpack_map_get(p, "messages"),
		    MSGPACK_OBJECT_STR))
			fatalx("keyring: malformed pool from raftd");
	}
}

/*
 * A pool's {key: nodes} or {node: message} as a JSON object.  Node
 * names come from other agents: one that is not UTF-8 cannot be in
 * JSON and is left out.
 */
static json_t *
keyring_map_json(const msgpack_object *m)
{
	const msgpack_object_kv	*kv;
	const char		*k, *s;
	json_t			*o, *v;
	size_t			 klen, slen;
	uint32_t		 i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < m->via.map.size; i++) {
		kv = &m->via.map.ptr[i];
		k = str_bytes(&kv->key, &klen);
		if ((s = str_bytes(&kv->val, &slen)) != NULL)
			v = json_stringn(s, slen);
		else
			v = json_integer((json_int_t)kv->val.via.u64);
		if (v != NULL)
			(void)json_object_setn_new(o, k, klen, v);
	}
	return o;
}

/* One pool as Consul's KeyringResponse; Error only when there is one. */
static json_t *
keyring_pool_json(const msgpack_object *p)
{
	const char	*dc, *error;
	size_t		 dlen, elen;
	json_t		*o;

	dc = str_bytes(mpack_map_get(p, "dc"), &dlen);
	error = str_bytes(mpack_map_get(p, "error"), &elen);
	o = json_pack("{s:b, s:s%, s:s, s:o, s:o, s:o, s:I}",
	    "WAN", mpack_map_get(p, "wan")->via.boolean,
	    "Datacenter", dc, dlen,
	    "Segment", "",
	    "Messages", keyring_map_json(mpack_map_get(p, "messages")),
	    "Keys", keyring_map_json(mpack_map_get(p, "keys")),
	    "PrimaryKeys", keyring_map_json(mpack_map_get(p, "primary")),
	    "NumNodes", (json_int_t)mpack_map_get(p, "num_nodes")->via.u64);
	if (o != NULL && elen > 0)
		json_object_set_new(o, "Error", json_stringn(error, elen));
	return o;
}

/*
 * The failures of every pool, as Consul's keyringErrorsOrNil words
 * them: "<pool> error: <error>", then "<node>: <message>" for each
 * node that failed; written to f, when given, as go-multierror's
 * points.  Returns how many there are.
 */
static size_t
keyring_failures(const msgpack_object *pools, FILE *f)
{
	const msgpack_object	*p, *m;
	const char		*error, *dc, *k, *v;
	size_t			 n = 0, elen, dlen, klen, vlen;
	uint32_t		 i, j;

	for (i = 0; i < pools->via.array.size; i++) {
		p = &pools->via.array.ptr[i];
		error = str_bytes(mpack_map_get(p, "error"), &elen);
		if (elen == 0)
			continue;
		dc = str_bytes(mpack_map_get(p, "dc"), &dlen);
		if (f != NULL && mpack_map_get(p, "wan")->via.boolean)
			fprintf(f, "\n\t* WAN error: %.*s", (int)elen, error);
		else if (f != NULL)
			fprintf(f, "\n\t* %.*s (LAN) error: %.*s", (int)dlen,
			    dc, (int)elen, error);
		n++;
		m = mpack_map_get(p, "messages");
		for (j = 0; j < m->via.map.size; j++) {
			k = str_bytes(&m->via.map.ptr[j].key, &klen);
			v = str_bytes(&m->via.map.ptr[j].val, &vlen);
			if (f != NULL)
				fprintf(f, "\n\t* %.*s: %.*s", (int)klen, k,
				    (int)vlen, v);
			n++;
		}
	}
	return n;
}

/* A write that some node failed: Consul's 500 with every failure. */
static void
keyring_write_failed(struct request *r, const msgpack_object *pools,
    size_t n)
{
	FILE	*f;
	char	*text = NULL;
	size_t	 len;

	if ((f = open_memstream(&text, &len)) == NULL) {
		http_error(r->req, 500, "out of memory");
		return;
	}
	fprintf(f, "%zu error%s occurred:", n, n == 1 ? "" : "s");
	keyring_failures(pools, f);
	fputs("\n\n", f);
	if (fclose(f) != 0)
		http_error(r->req, 500, "out of memory");
	else
		http_error(r->req, 500, text);
	free(text);
}

static void
keyring_list_reply(struct request *r, const msgpack_object *pools)
{
	json_t		*doc, *pool;
	uint32_t	 i;

	if ((doc = json_array()) == NULL) {
		http_error(r->req, 500, "out of memory");
		return;
	}
	for (i = 0; i < pools->via.array.size; i++)
		if ((pool = keyring_pool_json(&pools->via.array.ptr[i])) != NULL)
			json_array_append_new(doc, pool);
	http_reply_json(r->req, doc, r->pretty);
}

/*
 * A list shows what each pool's members said, failures included, as
 * the pools' Error and Messages.  A write that some member failed is
 * Consul's 500 naming each failure; gossipd's own summary in "error"
 * is for what has no pools to show (the agent has left, say).
 */
static void
keyring_done(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*pools;
	char			*error;
	size_t			 n = 0;
	int			 list;

	list = evhttp_request_get_command(r->req) == EVHTTP_REQ_GET;
	error = gossip_parse(imsg, &u);
	if ((pools = mpack_map_get(&u.data, "pools")) != NULL)
		keyring_pools_check(pools);
	else if (*error == '\0')
		fatalx("keyring: malformed result from raftd");
	if (!list && pools != NULL && (n = keyring_failures(pools, NULL)) > 0)
		keyring_write_failed(r, pools, n);
	else if (*error != '\0')
		gossip_fail(r, &u.data, error);
	else if (list)
		keyring_list_reply(r, pools);
	else
		http_reply_text(r->req, 200, NULL, NULL, 0);
	free(error);
	msgpack_unpacked_destroy(&u);
}

/* Go's names for a JSON value's type, for its decoding errors. */
static const char *
go_json_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return "object";
	case JSON_ARRAY:	return "array";
	case JSON_STRING:	return "string";
	case JSON_TRUE:
	case JSON_FALSE:	return "bool";
	default:		return "number";
	}
}

/*
 * The Key of a write's body, {"Key": "<base64>"} with the name in any
 * case, as Go decodes it into Consul's keyringArgs: 0, or -1 with a
 * reason for a 400.  A missing Key is "", which gossipd refuses as a
 * key of no valid size, as Consul's keyring does.
 */
static int
keyring_body_key(struct evhttp_request *req, char **key, char *msg,
    size_t msglen)
{
	struct evbuffer	*body = evhttp_request_get_input_buffer(req);
	size_t		 len = evbuffer_get_length(body);
	json_error_t	 jerr;
	json_t		*doc, *v;
	const char	*name, *found = "";

	*key = NULL;
	if (len == 0) {
		snprintf(msg, msglen, "Request decode failed: EOF");
		return -1;
	}
	if (len > KEYRING_BODY_MAX) {
		snprintf(msg, msglen, "Request decode failed: the body is "
		    "larger than %d bytes", KEYRING_BODY_MAX);
		return -1;
	}
	if ((doc = json_loadb((const char *)evbuffer_pullup(body, -1), len,
	    JSON_DECODE_ANY, &jerr)) == NULL) {
		snprintf(msg, msglen, "Request decode failed: %s", jerr.text);
		return -1;
	}
	if (!json_is_object(doc) && !json_is_null(doc)) {
		snprintf(msg, msglen, "Request decode failed: json: cannot "
		    "unmarshal %s into Go value of type agent.keyringArgs",
		    go_json_type(doc));
		json_decref(doc);
		return -1;
	}
	json_object_foreach(doc, name, v) {
		if (strcasecmp(name, "Key") != 0 || json_is_null(v))
			continue;
		if (!json_is_string(v)) {
			snprintf(msg, msglen, "Request decode failed: json: "
			    "cannot unmarshal %s into Go struct field "
			    "keyringArgs.Key of type string", go_json_type(v));
			json_decref(doc);
			return -1;
		}
		found = json_string_value(v);
	}
	*key = strdup(found);
	json_decref(doc);
	if (*key == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	return 0;
}

/* Go's strconv.ParseBool; -1 for anything else. */
static int
go_parse_bool(const char *s)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true",
	    "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false",
	    "False" };
	size_t	 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0)
			return 1;
		if (strcmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

/*
 * ?relay-factor and ?local-only, checked in Consul's order and with
 * its words; 0, or -1 with the reason for a 400.
 */
static int
keyring_params(struct query *q, int list, long *relay, int *local,
    char *msg, size_t msglen)
{
	const char	*v;
	char		*end, quoted[80];

	*relay = 0;
	*local = 0;
	if ((v = query_get(q, "relay-factor")) != NULL && *v != '\0') {
		errno = 0;
		*relay = strtol(v, &end, 10);
		/* strtol would also take leading white space. */
		if (*end != '\0' || errno == ERANGE ||
		    !isdigit((unsigned char)v[*v == '+' || *v == '-'])) {
			snprintf(msg, msglen, "Error parsing relay factor: "
			    "strconv.Atoi: parsing %s: %s", go_quote(quoted,
			    sizeof(quoted), v, strlen(v)), errno == ERANGE ?
			    "value out of range" : "invalid syntax");
			return -1;
		}
		if (*relay < 0 || *relay > KEYRING_RELAY_MAX) {
			snprintf(msg, msglen, "Invalid relay-factor: Relay "
			    "factor must be in range: [0, %d]",
			    KEYRING_RELAY_MAX);
			return -1;
		}
	}
	if ((v = query_get(q, "local-only")) != NULL && *v != '\0') {
		if ((*local = go_parse_bool(v)) == -1) {
			snprintf(msg, msglen, "Error parsing local-only: "
			    "strconv.ParseBool: parsing %s: invalid syntax",
			    go_quote(quoted, sizeof(quoted), v, strlen(v)));
			return -1;
		}
		if (*local && !list) {
			snprintf(msg, msglen, "Invalid use of local-only: "
			    "local-only can only be set for list requests");
			return -1;
		}
	}
	return 0;
}

static const char *
keyring_action(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_POST:
		return "install";
	case EVHTTP_REQ_PUT:
		return "use";
	case EVHTTP_REQ_DELETE:
		return "remove";
	default:
		return "list";
	}
}

/*
 * /v1/operator/keyring: GET lists the keys of every pool, POST
 * installs a key, PUT makes it primary, DELETE removes it.
 */
void
operator_keyring(struct evhttp_request *req, const char *path)
{
	struct mpack_out	 out;
	struct query		 q;
	char			 msg[256], *key = NULL;
	long			 relay;
	int			 local, list, rc;

	list = evhttp_request_get_command(req) == EVHTTP_REQ_GET;
	if (!list && keyring_body_key(req, &key, msg, sizeof(msg)) == -1) {
		http_error(req, 400, msg);
		return;
	}
	if (query_parse(req, &q) == -1) {
		free(key);
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	rc = keyring_params(&q, list, &relay, &local, msg, sizeof(msg));
	query_free(&q);
	if (rc == -1) {
		free(key);
		http_error(req, 400, msg);
		return;
	}
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 5);
	mpack_kv_str(&out.pk, "op", "keyring");
	mpack_kv_str(&out.pk, "action",
	    keyring_action(evhttp_request_get_command(req)));
	mpack_kv_str(&out.pk, "key", key != NULL ? key : "");
	mpack_kv_bool(&out.pk, "local_only", local);
	mpack_kv_uint(&out.pk, "relay_factor", (uint64_t)relay);
	gossip_request(req, keyring_done, &out);
	/* The key is a secret: no copy of it is left behind. */
	explicit_bzero(out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	if (key != NULL)
		explicit_bzero(key, strlen(key));
	free(key);
}
