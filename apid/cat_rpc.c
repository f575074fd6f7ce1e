/*
 * Catalog requests to raftd, shared by the API families built on the
 * catalog (catalog, health, sessions, prepared queries, coordinates):
 * the request body as a JSON object, a catalog write and its answer,
 * and the CAT_READ message of a read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "apid.h"
#include "catalog.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"

json_t *
http_body_object(struct evhttp_request *req, size_t max, int empty_ok)
{
	struct evbuffer	*body = evhttp_request_get_input_buffer(req);
	size_t		 len = evbuffer_get_length(body);
	json_error_t	 jerr;
	json_t		*o;
	const char	*text;
	char		 err[256];

	if (len > max) {
		http_error(req, 413, "Request body too large");
		return NULL;
	}
	if (len == 0 && empty_ok)
		return json_object();
	if (len == 0 || (text = (const char *)evbuffer_pullup(body,
	    -1)) == NULL) {
		http_error(req, 400, "Request decode failed: EOF");
		return NULL;
	}
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_object(o)) {
		snprintf(err, sizeof(err), "Request decode failed: %s",
		    o == NULL ? jerr.text : "not an object");
		json_decref(o);
		http_error(req, 400, err);
		return NULL;
	}
	return o;
}

/* What a write's request keeps: the ID to answer with, and its flags. */
struct cat_write {
	char	*id;
	int	 flags;
};

static void
cat_write_free(void *arg)
{
	struct cat_write	*w = arg;

	free(w->id);
	free(w);
}

/*
 * raftd's answer to a write: [ok, error before Raft, ..., ..., refusal
 * of the state machine, ...].  Success is {"ID": id} when there is one.
 */
static void
cat_write_done(struct request *r, struct imsg *imsg)
{
	struct cat_write	*w = r->ctx;
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	char			 err[512];
	int			 ok, code = 500;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size != 6 ||
	    mpack_get_bool(&u.data.via.array.ptr[0], &ok) == -1)
		fatalx("catalog: malformed write result from raftd");
	a = u.data.via.array.ptr;
	if (ok) {
		msgpack_unpacked_destroy(&u);
		if (w->id != NULL)
			http_reply_json(r->req, json_pack("{s:s}", "ID",
			    w->id), r->pretty);
		else if (w->flags & CAT_WRITE_EMPTY)
			http_reply_text(r->req, 200, "application/json", "",
			    0);
		else
			http_reply_text(r->req, 200, "application/json",
			    "true", 4);
		return;
	}
	if (mpack_copy_str(&a[1], err, sizeof(err)) == -1 || err[0] == '\0') {
		/* Not an error before Raft: the state machine refused. */
		if (mpack_copy_str(&a[4], err, sizeof(err)) == -1)
			strlcpy(err, "catalog write failed", sizeof(err));
		if (w->flags & CAT_WRITE_REFUSAL_400)
			code = 400;
	}
	msgpack_unpacked_destroy(&u);
	if (acl_denial(err))
		code = 403;
	http_error(r->req, code, err);
}

void
cat_write_send(struct evhttp_request *req, int op, struct mpack_out *rec,
    const char *reply_id, int flags)
{
	struct request		*r;
	struct cat_write	*w;
	struct mpack_out	 out;
	struct query		 q;
	int			 reg, haveq;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (reply_id != NULL && (w->id = strdup(reply_id)) == NULL)) {
		free(w);
		http_error(req, 500, "out of memory");
		return;
	}
	w->flags = flags;
	if ((r = request_new(req, cat_write_done)) == NULL) {
		cat_write_free(w);
		http_error(req, 500, "out of memory");
		return;
	}
	r->ctx = w;
	r->ctx_free = cat_write_free;
	reg = op == CAT_WRITE_REGISTER || op == CAT_WRITE_DEREGISTER ||
	    op == CAT_WRITE_SESSION_CREATE || op == CAT_WRITE_SESSION_DESTROY ||
	    op == CAT_WRITE_PQUERY_SET || op == CAT_WRITE_PQUERY_DELETE;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, reg ? 3 : 2);
	msgpack_pack_uint8(&out.pk, op);
	msgpack_sbuffer_write(&out.sbuf, rec->sbuf.data, rec->sbuf.size);
	/*
	 * A registration, session or prepared query write carries the
	 * caller's token, which raftd checks.
	 */
	if (reg) {
		haveq = query_parse(req, &q) == 0;
		mpack_str(&out.pk, acl_request_secret(req, haveq ? &q : NULL));
		if (haveq)
			query_free(&q);
	}
	request_send(r, IMSG_CAT_WRITE, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

void
cat_read_send(struct request *r, int query, const char *arg,
    uint64_t min_index, uint64_t wait_ms, int cons, uint64_t max_stale_ms)
{
	cat_read_send_as(r, NULL, query, arg, min_index, wait_ms, cons,
	    max_stale_ms);
}

/* As cat_read_send(), under token when it is not NULL or "". */
void
cat_read_send_as(struct request *r, const char *token, int query,
    const char *arg, uint64_t min_index, uint64_t wait_ms, int cons,
    uint64_t max_stale_ms)
{
	struct mpack_out	 out;
	struct query		 q;
	int			 haveq;

	/* The caller's token goes last: raftd filters what it returns. */
	haveq = query_parse(r->req, &q) == 0;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 7);
	msgpack_pack_uint8(&out.pk, query);
	mpack_str(&out.pk, arg);
	msgpack_pack_uint64(&out.pk, min_index);
	msgpack_pack_uint64(&out.pk, wait_ms);
	msgpack_pack_uint8(&out.pk, cons);
	msgpack_pack_uint64(&out.pk, max_stale_ms);
	mpack_str(&out.pk, token != NULL && *token != '\0' ? token :
	    acl_request_secret(r->req, haveq ? &q : NULL));
	if (haveq)
		query_free(&q);
	request_send(r, IMSG_CAT_READ, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	if (min_index > 0)
		request_blocking(r);
}

/*
 * A member of an object by name as Go's JSON decoder finds it, in any
 * case; NULL when absent or null.
 */
json_t *
json_member_ci(json_t *o, const char *name)
{
	const char	*k;
	json_t		*v;

	if (!json_is_object(o))
		return NULL;
	json_object_foreach(o, k, v)
		if (strcasecmp(k, name) == 0)
			return json_is_null(v) ? NULL : v;
	return NULL;
}
