/*
 * The /v1/kv/ endpoints: GET (one key, ?recurse, ?keys with ?separator,
 * ?raw, blocking with ?index and ?wait), PUT (?flags, ?cas, ?acquire,
 * ?release) and DELETE (?recurse, ?cas), with Consul's JSON, status
 * codes and messages.  raftd does the work; this file is the edge:
 * every parameter is checked here, so raftd only sees well-formed
 * requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "acl_rules.h"
#include "apid.h"
#include "config.h"
#include "kv_codec.h"
#include "log.h"
#include "mpack.h"

#define KV_PREFIX	"/v1/kv/"

/* Valid UTF-8, so the key can go into JSON as it is. */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t	 i = 0, n, j;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static json_t *
base64_value(const unsigned char *v, size_t len)
{
	json_t	*j;
	char	*b;
	size_t	 blen;

	if (v == NULL || len == 0)
		return json_null();
	blen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	if ((b = malloc(blen)) == NULL)
		return NULL;
	sodium_bin2base64(b, blen, v, len, sodium_base64_VARIANT_ORIGINAL);
	j = json_string(b);
	free(b);
	return j;
}

/* A KVPair in Consul's field order; Session only when held. */
json_t *
kv_pair_json(const struct kv_pair *p, int with_value)
{
	json_t	*o;

	o = json_pack("{s:I, s:s%, s:I, s:o}",
	    "LockIndex", (json_int_t)p->lock_index,
	    "Key", p->key, p->keylen,
	    "Flags", (json_int_t)p->flags,
	    "Value", with_value ? base64_value(p->value, p->vlen) :
	    json_null());
	if (o == NULL)
		return NULL;
	if (p->session != NULL)
		json_object_set_new(o, "Session", json_string(p->session));
	json_object_set_new(o, "CreateIndex",
	    json_integer((json_int_t)p->create_index));
	json_object_set_new(o, "ModifyIndex",
	    json_integer((json_int_t)p->modify_index));
	return o;
}

static void
kv_item(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	struct kv_pair		 p;
	json_t			*j;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1)
		fatalx("kv: malformed item from raftd");
	if (r->mode == KV_READ_KEYS) {
		if (u.data.type != MSGPACK_OBJECT_BIN)
			fatalx("kv: malformed key from raftd");
		j = json_stringn(u.data.via.bin.ptr, u.data.via.bin.size);
	} else {
		if (kv_pair_unpack(&u.data, &p) == -1)
			fatalx("kv: malformed pair from raftd");
		if (r->raw) {
			if (p.vlen > 0)
				evbuffer_add(r->rawbuf, p.value, p.vlen);
			j = NULL;
		} else
			j = kv_pair_json(&p, 1);
		kv_pair_free(&p);
	}
	msgpack_unpacked_destroy(&u);
	if (j != NULL)
		json_array_append_new(r->items, j);
}

static void
kv_read_done(struct request *r, struct imsg *imsg)
{
	struct imsg_read_end	 end;
	struct evkeyvalq	*h = evhttp_request_get_output_headers(r->req);
	unsigned char		*body;
	size_t			 len;

	read_end_get(imsg, &end);
	http_read_headers(r->req, &end);
	if (end.error[0] != '\0') {
		http_error(r->req, acl_denial(end.error) ? 403 : 500,
		    end.error);
		return;
	}
	if (!end.found && !r->empty_ok) {
		http_reply_text(r->req, 404, NULL, NULL, 0);
		return;
	}
	if (r->raw) {
		evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
		evhttp_add_header(h, "Content-Security-Policy", "sandbox");
		len = evbuffer_get_length(r->rawbuf);
		body = evbuffer_pullup(r->rawbuf, -1);
		http_reply_text(r->req, 200, "text/plain", body, len);
		return;
	}
	http_reply_json(r->req, json_incref(r->items), r->pretty);
}

static void
kv_get(struct evhttp_request *req, const char *key, size_t keylen,
    struct query *q)
{
	struct mpack_out	 out;
	struct request		*r;
	const char		*err, *sep;
	uint64_t		 min_index, wait_ms, max_stale_ms;
	int			 cons, mode = KV_READ_SINGLE;

	if ((err = query_consistency(q, &cons, &max_stale_ms)) != NULL ||
	    (err = query_blocking(q, &min_index, &wait_ms)) != NULL) {
		http_error(req, 400, err);
		return;
	}
	if (query_has(q, "keys"))
		mode = KV_READ_KEYS;
	else if (query_has(q, "recurse"))
		mode = KV_READ_RECURSE;
	if ((sep = query_get(q, "separator")) == NULL)
		sep = query_get(q, "seperator");
	if ((r = request_new(req, kv_read_done)) == NULL ||
	    (r->items = json_array()) == NULL ||
	    (r->rawbuf = evbuffer_new()) == NULL) {
		if (r != NULL)
			request_free(r);
		http_error(req, 500, "out of memory");
		return;
	}
	r->item = kv_item;
	r->mode = mode;
	if (mode == KV_READ_SINGLE && query_has(q, "raw"))
		r->raw = 1;
	/* An empty ?keys listing of the whole store is [], not 404. */
	if (mode == KV_READ_KEYS && keylen == 0)
		r->empty_ok = 1;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 8);
	mpack_bin(&out.pk, key, keylen);
	msgpack_pack_uint8(&out.pk, mode);
	mpack_str(&out.pk, mode == KV_READ_KEYS ? (sep ? sep : "") : NULL);
	msgpack_pack_uint64(&out.pk, min_index);
	msgpack_pack_uint64(&out.pk, wait_ms);
	msgpack_pack_uint8(&out.pk, cons);
	msgpack_pack_uint64(&out.pk, max_stale_ms);
	mpack_str(&out.pk, acl_request_secret(req, q));
	request_send(r, IMSG_KV_READ, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	if (min_index > 0)
		request_blocking(r);
}

/* The answer to a PUT or DELETE: true or false, or a 500. */
static void
kv_write_done(struct request *r, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	char			*error = NULL, *what = NULL;
	int			 ok;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 6)
		fatalx("kv: malformed write result from raftd");
	a = u.data.via.array.ptr;
	if (mpack_get_bool(&a[0], &ok) == -1 ||
	    mpack_get_str(&a[1], &error) == -1 ||
	    mpack_get_str(&a[4], &what) == -1)
		fatalx("kv: malformed write result from raftd");
	msgpack_unpacked_destroy(&u);
	if (error != NULL)
		http_error(r->req, acl_denial(error) ? 403 : 500, error);
	else if (!ok && what != NULL && strncmp(what, "invalid session",
	    15) == 0)
		http_error(r->req, 500, what);
	else
		http_reply_json(r->req, json_boolean(ok), r->pretty);
	free(error);
	free(what);
}

/* Whether raftd's error is an ACL refusal: a 403 with its text. */
int
acl_denial(const char *error)
{
	return acl_is_denial(error);
}

static void
kv_write(struct evhttp_request *req, struct kv_op *op, struct query *q)
{
	struct mpack_out	 out;
	struct request		*r;

	if ((r = request_new(req, kv_write_done)) == NULL) {
		http_error(req, 500, "out of memory");
		return;
	}
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	kv_op_pack(&out.pk, op);
	mpack_str(&out.pk, acl_request_secret(req, q));
	request_send(r, IMSG_KV_WRITE, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

static int
bad_number(struct evhttp_request *req, struct query *q, const char *name,
    uint64_t *out)
{
	char	 msg[128];

	if (query_u64(q, name, out) != -1)
		return 0;
	snprintf(msg, sizeof(msg), "Bad request: invalid ?%s: must be an "
	    "unsigned integer", name);
	http_error(req, 400, msg);
	return 1;
}

static void
kv_put(struct evhttp_request *req, const char *key, size_t keylen,
    struct query *q)
{
	struct evbuffer	*body = evhttp_request_get_input_buffer(req);
	struct kv_op	 op;
	uint64_t	 max = apid_child.conf->limits.kv_max_value_size;
	size_t		 len = evbuffer_get_length(body);
	char		 msg[256];
	const char	*acquire, *release;
	int		 cas, nset;

	memset(&op, 0, sizeof(op));
	if (max == 0)
		max = KV_VALUE_MAX_DEFAULT;
	acquire = query_get(q, "acquire");
	release = query_get(q, "release");
	if (bad_number(req, q, "flags", &op.flags) ||
	    bad_number(req, q, "cas", &op.index))
		return;
	cas = query_has(q, "cas");
	nset = cas + (acquire != NULL) + (release != NULL);
	if (nset > 1) {
		snprintf(msg, sizeof(msg), "Conflicting flags: %s",
		    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req)));
		http_error(req, 400, msg);
		return;
	}
	if (len > max) {
		snprintf(msg, sizeof(msg), "Request body(%zu bytes) too large, "
		    "max size: %llu bytes. See consuld.conf(5), "
		    "limits.kv_max_value_size.", len, (unsigned long long)max);
		http_error(req, 413, msg);
		return;
	}
	if ((acquire != NULL && *acquire == '\0') ||
	    (release != NULL && *release == '\0')) {
		http_error(req, 500, "missing session");
		return;
	}
	op.verb = cas ? KV_CAS : acquire ? KV_LOCK : release ? KV_UNLOCK :
	    KV_SET;
	op.key = (char *)key;
	op.keylen = keylen;
	op.session = (char *)(acquire ? acquire : release);
	op.vlen = len;
	op.value = len ? evbuffer_pullup(body, -1) : NULL;
	kv_write(req, &op, q);
}

static void
kv_delete(struct evhttp_request *req, const char *key, size_t keylen,
    struct query *q)
{
	struct kv_op	 op;
	int		 recurse = query_has(q, "recurse");

	memset(&op, 0, sizeof(op));
	if (bad_number(req, q, "cas", &op.index))
		return;
	if (recurse && query_has(q, "cas")) {
		http_error(req, 400, "Conflicting flags: cas=, recurse=");
		return;
	}
	if (!recurse && keylen == 0) {
		http_error(req, 400, "Missing key name");
		return;
	}
	op.verb = recurse ? KV_DELETE_TREE : query_has(q, "cas") ?
	    KV_DELETE_CAS : KV_DELETE;
	op.key = (char *)key;
	op.keylen = keylen;
	kv_write(req, &op, q);
}

void
kv_handler(struct evhttp_request *req, const char *path)
{
	struct query		 q;
	const char		*key = path + strlen(KV_PREFIX);
	size_t			 keylen = strlen(key);
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	if (keylen > KV_KEY_MAX || !utf8_valid((const unsigned char *)key,
	    keylen)) {
		http_error(req, 400, "Bad request: invalid key name");
		goto done;
	}
	switch (cmd) {
	case EVHTTP_REQ_GET:
		if (keylen == 0 && !query_has(&q, "recurse") &&
		    !query_has(&q, "keys")) {
			http_error(req, 400, "Missing key name");
			break;
		}
		kv_get(req, key, keylen, &q);
		break;
	case EVHTTP_REQ_PUT:
		if (keylen == 0) {
			http_error(req, 400, "Missing key name");
			break;
		}
		if (key[0] == '/') {
			http_error(req, 400, "Bad request: key must not begin "
			    "with a '/'");
			break;
		}
		kv_put(req, key, keylen, &q);
		break;
	default:
		kv_delete(req, key, keylen, &q);
		break;
	}
 done:
	query_free(&q);
}
