/*
 * PUT /v1/txn: up to KV_TXN_MAX_OPS KV operations applied all or none.
 * txn_decode.c checks the body; raftd proposes the operations as one
 * Raft entry and answers with the results or the failed operation,
 * which become Consul's {"Results", "Errors"} document, 200 or 409.  A
 * transaction that only reads carries the QueryMeta fields of Consul's
 * read-only path, though it goes through Raft like a write: on one
 * server that is consistent by construction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "apid.h"
#include "config.h"
#include "kv_codec.h"
#include "log.h"
#include "mpack.h"
#include "txn.h"

/*
 * Send {"Results": results, "Errors": errors}, both consumed, adding
 * what Consul's read-only path adds.
 */
static void
txn_reply(struct evhttp_request *req, int pretty, int read_only, int code,
    json_t *results, json_t *errors, uint64_t index, int known_leader)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	json_t			*doc;

	if (results == NULL || errors == NULL ||
	    (doc = json_object()) == NULL) {
		json_decref(results);
		json_decref(errors);
		http_error(req, 500, "out of memory");
		return;
	}
	json_object_set_new(doc, "Results", results);
	json_object_set_new(doc, "Errors", errors);
	if (read_only) {
		json_object_set_new(doc, "Index",
		    json_integer((json_int_t)index));
		json_object_set_new(doc, "LastContact", json_integer(0));
		json_object_set_new(doc, "KnownLeader",
		    json_boolean(known_leader));
		json_object_set_new(doc, "ConsistencyLevel", json_string(""));
		json_object_set_new(doc, "NotModified", json_false());
		json_object_set_new(doc, "Backend", json_integer(0));
		json_object_set_new(doc, "ResultsFilteredByACLs",
		    json_false());
		evhttp_add_header(h, "X-Consul-LastContact", "0");
		evhttp_add_header(h, "X-Consul-KnownLeader", known_leader ?
		    "true" : "false");
	}
	http_reply_json_status(req, code, doc, pretty);
}

static json_t *
txn_error_json(size_t op, const char *what)
{
	return json_pack("{s:I, s:s}", "OpIndex", (json_int_t)op,
	    "What", what);
}

/* raftd's IMSG_WRITE_RESULT, as Consul's TxnResponse. */
static void
txn_done(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a, *e;
	struct kv_pair		 p;
	json_t			*results, *errors;
	char			*error = NULL, *what = NULL;
	uint64_t		 index, failed;
	uint32_t		 i;
	int			 ok, with_value;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 6)
		fatalx("txn: malformed write result from raftd");
	a = u.data.via.array.ptr;
	if (mpack_get_bool(&a[0], &ok) == -1 ||
	    mpack_get_str(&a[1], &error) == -1 ||
	    mpack_get_uint(&a[2], &index) == -1 ||
	    mpack_get_uint(&a[3], &failed) == -1 ||
	    mpack_get_str(&a[4], &what) == -1 ||
	    a[5].type != MSGPACK_OBJECT_ARRAY)
		fatalx("txn: malformed write result from raftd");
	if (error != NULL) {
		http_error(r->req, acl_denial(error) ? 403 : 500, error);
		goto done;
	}
	if (!ok) {
		errors = json_array();
		json_array_append_new(errors, txn_error_json(failed,
		    what ? what : ""));
		txn_reply(r->req, r->pretty, r->mode, 409, json_null(), errors,
		    index, 1);
		goto done;
	}
	results = json_array();
	for (i = 0; i < a[5].via.array.size; i++) {
		e = &a[5].via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_ARRAY ||
		    e->via.array.size != 2 ||
		    kv_pair_unpack(&e->via.array.ptr[0], &p) == -1)
			fatalx("txn: malformed result from raftd");
		if (mpack_get_bool(&e->via.array.ptr[1], &with_value) == -1)
			fatalx("txn: malformed result from raftd");
		json_array_append_new(results, json_pack("{s:o}", "KV",
		    kv_pair_json(&p, with_value)));
		kv_pair_free(&p);
	}
	if (json_array_size(results) != a[5].via.array.size) {
		json_decref(results);
		results = NULL;
	}
	txn_reply(r->req, r->pretty, r->mode, 200, results, json_null(),
	    index, 1);
 done:
	msgpack_unpacked_destroy(&u);
	free(error);
	free(what);
}

/* An empty transaction: nothing to apply, but a leader to know. */
static void
txn_empty_done(struct request *r, struct imsg *imsg)
{
	struct imsg_status_leader	 sl;

	imsg_need_len(imsg, sizeof(sl), "raftd");
	memcpy(&sl, imsg->data, sizeof(sl));
	if (!sl.known) {
		http_error(r->req, 500, "No cluster leader");
		return;
	}
	txn_reply(r->req, r->pretty, 1, 200, json_array(), json_null(), 1,
	    1);
}

/*
 * Operations Consul refuses before they reach Raft.  On its read-only
 * path that happens before the query metadata is filled in, hence the
 * zero index and unknown leader.
 */
static void
txn_refused(struct evhttp_request *req, struct txn *t)
{
	json_t	*errors;
	size_t	 i;

	errors = json_array();
	for (i = 0; i < t->nerrors; i++)
		json_array_append_new(errors, txn_error_json(t->errors[i].op,
		    t->errors[i].what));
	if (json_array_size(errors) != t->nerrors) {
		json_decref(errors);
		errors = NULL;
	}
	txn_reply(req, http_pretty(req), t->read_only, 409, json_null(),
	    errors, 0, 0);
}

static void
txn_send(struct evhttp_request *req, struct txn *t)
{
	struct mpack_out	 out;
	struct request		*r;
	struct query		 q;
	char			 msg[128];
	size_t			 i;
	int			 haveq;

	haveq = query_parse(req, &q) == 0;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, t->nops + 1);
	for (i = 0; i < t->nops; i++)
		kv_op_pack(&out.pk, &t->ops[i]);
	/* The caller's secret goes last. */
	mpack_str(&out.pk, acl_request_secret(req, haveq ? &q : NULL));
	if (haveq)
		query_free(&q);
	/* Only a txn_max_req_len raised past the imsg bound gets here. */
	if (out.sbuf.size > IMSG_MAX_DATA) {
		snprintf(msg, sizeof(msg), "Transaction too large: %zu bytes "
		    "of operations, at most %zu", (size_t)out.sbuf.size,
		    (size_t)IMSG_MAX_DATA);
		http_error(req, 413, msg);
	} else if ((r = request_new(req, txn_done)) == NULL)
		http_error(req, 500, "out of memory");
	else {
		r->mode = t->read_only;	/* txn_done adds QueryMeta */
		request_send(r, IMSG_KV_WRITE, out.sbuf.data, out.sbuf.size);
	}
	mpack_out_free(&out);
}

void
txn_handler(struct evhttp_request *req, const char *path)
{
	struct evbuffer	*body = evhttp_request_get_input_buffer(req);
	struct config	*c = apid_child.conf;
	struct request	*r;
	struct query	 q;
	struct txn	 t;
	const char	*text = "", *qerr;
	char		 err[TXN_ERR_MAX];
	uint64_t	 max_value, max_body;
	size_t		 len = evbuffer_get_length(body);
	int		 code, cons;

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	/* As in Consul, a body may reach the larger of the two limits. */
	max_value = c->limits.kv_max_value_size > 0 ?
	    (uint64_t)c->limits.kv_max_value_size : KV_VALUE_MAX_DEFAULT;
	max_body = c->limits.txn_max_req_len > 0 ?
	    (uint64_t)c->limits.txn_max_req_len : KV_VALUE_MAX_DEFAULT;
	if (max_body < max_value)
		max_body = max_value;
	if (len > 0 && len <= max_body &&
	    (text = (const char *)evbuffer_pullup(body, -1)) == NULL) {
		http_error(req, 500, "out of memory");
		goto done;
	}
	if ((code = txn_decode(text, len, max_body, max_value, &t, err,
	    sizeof(err))) != 0) {
		http_error(req, code, err);
		goto out;
	}
	/* Only the read-only path parses the consistency flags. */
	if (t.read_only && (qerr = query_consistency(&q, &cons, NULL)) != NULL) {
		http_error(req, 400, qerr);
		goto out;
	}
	if (t.nerrors > 0)
		txn_refused(req, &t);
	else if (t.nops > 0)
		txn_send(req, &t);
	else if ((r = request_new(req, txn_empty_done)) == NULL)
		http_error(req, 500, "out of memory");
	else
		request_send(r, IMSG_STATUS_LEADER_REQ, NULL, 0);
 out:
	txn_free(&t);
 done:
	query_free(&q);
}
