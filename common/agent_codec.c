/*
 * The agent's services and checks in MessagePack (agent_codec.h):
 *
 *	check:   {"c": cat_check, "k": kind, "ttl", "iv", "to", "dr": ms,
 *		  "m": method, "h": [[name, value]...], "b": body,
 *		  "tsv": bool, "a": [args...], "sbp", "fbw", "fbc": uint,
 *		  "cfg": bool}
 *	service: {"s": cat_service, "cfg": bool}
 */
#include <stdlib.h>
#include <string.h>

#include "agent_codec.h"

#define AGENT_MS_MAX	(10LL * 365 * 24 * 3600 * 1000)
#define AGENT_COUNT_MAX	(1 << 20)

static void
pack_str(msgpack_packer *pk, const char *k, const char *v)
{
	mpack_str(pk, k);
	mpack_str(pk, v);
}

void
agent_check_pack(msgpack_packer *pk, const struct agent_check *a)
{
	size_t	 i;

	msgpack_pack_map(pk, 15);
	mpack_str(pk, "c");
	cat_check_pack(pk, &a->c);
	mpack_kv_uint(pk, "k", (uint64_t)a->kind);
	mpack_kv_uint(pk, "ttl", (uint64_t)a->ttl_ms);
	mpack_kv_uint(pk, "iv", (uint64_t)a->interval_ms);
	mpack_kv_uint(pk, "to", (uint64_t)a->timeout_ms);
	mpack_kv_uint(pk, "dr", (uint64_t)a->dereg_after_ms);
	pack_str(pk, "m", a->method);
	mpack_str(pk, "h");
	msgpack_pack_array(pk, a->nheaders);
	for (i = 0; i < a->nheaders; i++) {
		msgpack_pack_array(pk, 2);
		mpack_str(pk, a->headers[i].key);
		mpack_str(pk, a->headers[i].value);
	}
	pack_str(pk, "b", a->body);
	mpack_kv_bool(pk, "tsv", a->tls_skip_verify);
	mpack_str(pk, "a");
	msgpack_pack_array(pk, a->nargs);
	for (i = 0; i < a->nargs; i++)
		mpack_str(pk, a->args[i]);
	mpack_kv_uint(pk, "sbp", (uint64_t)a->success_before_passing);
	mpack_kv_uint(pk, "fbw", (uint64_t)a->failures_before_warning);
	mpack_kv_uint(pk, "fbc", (uint64_t)a->failures_before_critical);
	mpack_kv_bool(pk, "cfg", a->from_config);
}

/* A string or nil, at most max bytes, no NUL; -1 if neither. */
static int
get_opt_str(const msgpack_object *o, size_t max, char **out)
{
	*out = NULL;
	if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > max ||
	    memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
		return -1;
	if ((*out = strndup(o->via.str.ptr, o->via.str.size)) == NULL)
		return -1;
	return 0;
}

static int
get_ms(const msgpack_object *m, const char *k, int64_t max, int64_t *out)
{
	uint64_t	 v;

	if (mpack_map_uint(m, k, &v) == -1 || v > (uint64_t)max)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int
agent_check_unpack(const msgpack_object *m, struct agent_check *a)
{
	const msgpack_object	*h, *args, *e;
	uint64_t		 kind;
	uint32_t		 i;
	int			 b;

	memset(a, 0, sizeof(*a));
	if (m->type != MSGPACK_OBJECT_MAP ||
	    mpack_map_get(m, "c") == NULL ||
	    cat_check_unpack(mpack_map_get(m, "c"), &a->c) == -1)
		return -1;
	if (mpack_map_uint(m, "k", &kind) == -1 || kind < AGENT_CHECK_TTL ||
	    kind > AGENT_CHECK_MAINT)
		goto bad;
	a->kind = (int)kind;
	if (get_ms(m, "ttl", AGENT_MS_MAX, &a->ttl_ms) == -1 ||
	    get_ms(m, "iv", AGENT_MS_MAX, &a->interval_ms) == -1 ||
	    get_ms(m, "to", AGENT_MS_MAX, &a->timeout_ms) == -1 ||
	    get_ms(m, "dr", AGENT_MS_MAX, &a->dereg_after_ms) == -1 ||
	    get_ms(m, "sbp", AGENT_COUNT_MAX,
	    &a->success_before_passing) == -1 ||
	    get_ms(m, "fbw", AGENT_COUNT_MAX,
	    &a->failures_before_warning) == -1 ||
	    get_ms(m, "fbc", AGENT_COUNT_MAX,
	    &a->failures_before_critical) == -1 ||
	    get_opt_str(mpack_map_get(m, "m"), CAT_STR_MAX, &a->method) == -1 ||
	    get_opt_str(mpack_map_get(m, "b"), CAT_OUTPUT_MAX, &a->body) == -1 ||
	    mpack_map_bool(m, "tsv", &a->tls_skip_verify) == -1 ||
	    mpack_map_bool(m, "cfg", &a->from_config) == -1)
		goto bad;
	if ((h = mpack_map_get(m, "h")) == NULL ||
	    h->type != MSGPACK_OBJECT_ARRAY || h->via.array.size > CAT_LIST_MAX)
		goto bad;
	if (h->via.array.size > 0 && (a->headers = calloc(h->via.array.size,
	    sizeof(*a->headers))) == NULL)
		goto bad;
	for (i = 0; i < h->via.array.size; i++) {
		e = &h->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2)
			goto bad;
		a->nheaders++;
		if (get_opt_str(&e->via.array.ptr[0], CAT_STR_MAX,
		    &a->headers[i].key) == -1 || a->headers[i].key == NULL ||
		    get_opt_str(&e->via.array.ptr[1], CAT_STR_MAX,
		    &a->headers[i].value) == -1 || a->headers[i].value == NULL)
			goto bad;
	}
	if ((args = mpack_map_get(m, "a")) == NULL ||
	    args->type != MSGPACK_OBJECT_ARRAY ||
	    args->via.array.size > CAT_LIST_MAX)
		goto bad;
	if (args->via.array.size > 0 && (a->args = calloc(
	    args->via.array.size, sizeof(*a->args))) == NULL)
		goto bad;
	for (i = 0; i < args->via.array.size; i++) {
		a->nargs++;
		if (get_opt_str(&args->via.array.ptr[i], CAT_STR_MAX,
		    &a->args[i]) == -1 || a->args[i] == NULL)
			goto bad;
	}
	/* What each kind needs. */
	b = 0;
	switch (a->kind) {
	case AGENT_CHECK_TTL:
		b = a->ttl_ms > 0;
		break;
	case AGENT_CHECK_HTTP:
		b = a->c.http != NULL && a->interval_ms > 0;
		break;
	case AGENT_CHECK_TCP:
		b = a->c.tcp != NULL && a->interval_ms > 0;
		break;
	case AGENT_CHECK_SCRIPT:
		b = a->nargs > 0 && a->interval_ms > 0;
		break;
	case AGENT_CHECK_MAINT:
		b = 1;
		break;
	}
	if (!b)
		goto bad;
	return 0;
 bad:
	agent_check_free(a);
	return -1;
}

void
agent_check_free(struct agent_check *a)
{
	size_t	 i;

	cat_check_free(&a->c);
	free(a->method);
	for (i = 0; i < a->nheaders; i++) {
		free(a->headers[i].key);
		free(a->headers[i].value);
	}
	free(a->headers);
	free(a->body);
	for (i = 0; i < a->nargs; i++)
		free(a->args[i]);
	free(a->args);
	memset(a, 0, sizeof(*a));
}

void
agent_service_pack(msgpack_packer *pk, const struct agent_service *a)
{
	msgpack_pack_map(pk, 2);
	mpack_str(pk, "s");
	cat_service_pack(pk, &a->s);
	mpack_kv_bool(pk, "cfg", a->from_config);
}

int
agent_service_unpack(const msgpack_object *m, struct agent_service *a)
{
	memset(a, 0, sizeof(*a));
	if (m->type != MSGPACK_OBJECT_MAP || mpack_map_get(m, "s") == NULL ||
	    cat_service_unpack(mpack_map_get(m, "s"), &a->s) == -1)
		return -1;
	if (mpack_map_bool(m, "cfg", &a->from_config) == -1) {
		agent_service_free(a);
		return -1;
	}
	return 0;
}

void
agent_service_free(struct agent_service *a)
{
	cat_service_free(&a->s);
	memset(a, 0, sizeof(*a));
}
