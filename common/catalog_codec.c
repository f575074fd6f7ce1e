/*
 * MessagePack codecs of the catalog's records.  Each record is a map
 * keyed by short names; every field is always packed, NULL strings as
 * nil, empty lists and maps as empty ones:
 *
 *	node		{"n": node, "id": id, "a": address, "dc": datacenter,
 *			 "ta": {name: address...}, "m": {key: value...},
 *			 "ci": create_index, "mi": modify_index}
 *	service		{"n": node, "id": id, "s": service, "k": kind,
 *			 "a": address, "t": [tag...],
 *			 "ta": {name: {"a": address, "p": port}...},
 *			 "m": {key: value...}, "p": port,
 *			 "wp": weight_passing, "ww": weight_warning,
 *			 "eto": enable_tag_override, "ci": .., "mi": ..}
 *	check		{"n": node, "id": check_id, "nm": name, "s": status,
 *			 "no": notes, "o": output, "si": service_id,
 *			 "sn": service_name, "stg": [service tag...],
 *			 "t": type, "iv": interval, "to": timeout,
 *			 "h": http, "tcp": tcp, "ci": .., "mi": ..}
 *	register	{"node": node, "skip": skip_node_update,
 *			 "svc": service or nil, "checks": [check...]}
 *	deregister	{"node": node, "sid": service_id, "cid": check_id}
 *	pquery		{"id", "nm": name, "s": session, "d": definition,
 *			 "ci", "mi"}
 *	session		{"id", "nm": name, "n": node, "b": behavior, "ttl",
 *			 "ld": lock delay, "nc": [node checks],
 *			 "sc": [service checks], "ci", "mi"}
 *
 * The decoders are strict about what they know and ignore keys they do
 * not, so that a newer peer can add fields.  A known key given twice is
 * refused rather than resolved, as is a key repeated in a meta or tagged
 * address map.  A missing optional string is NULL, a missing list or map
 * empty, a missing number or bool 0 (the weights 1); nil is taken for a
 * missing string, list, map or service, but not for a number.  Tags, map
 * keys and map values are always strings, so that a consumer never finds
 * a NULL among them; NULL ones pack as "".
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_codec.h"

/* Consul keeps weights in an int; 2^31 is where its JSON stops. */
#define CAT_WEIGHT_MAX	((int64_t)1 << 31)
#define CAT_PORT_MAX	65535

enum cat_ftype {
	FT_STR,		/* char *, nil for NULL */
	FT_UINT,	/* uint64_t */
	FT_PORT,	/* uint64_t, at most CAT_PORT_MAX */
	FT_WEIGHT,	/* int64_t, 0 to CAT_WEIGHT_MAX, default 1 */
	FT_BOOL,	/* int */
	FT_STRLIST,	/* char **, size_t at noff */
	FT_KVMAP,	/* struct cat_kv *, size_t at noff */
	FT_TADDRMAP	/* struct cat_taddr *, size_t at noff */
};

#define F_REQUIRED	0x01	/* present, and a non-empty string */

/* A table has at most 32 fields: unpack_fields() marks them in a word. */
struct cat_field {
	const char	*key;
	enum cat_ftype	 type;
	size_t		 off;
	size_t		 noff;
	size_t		 max;	/* of a string */
	int		 flags;
};

#define STR(k, t, m, max, fl)	{ k, FT_STR, offsetof(t, m), 0, max, fl }
#define NUM(k, ft, t, m)	{ k, ft, offsetof(t, m), 0, 0, 0 }
#define LIST(k, ft, t, m, n)	{ k, ft, offsetof(t, m), offsetof(t, n), \
				    CAT_STR_MAX, 0 }

static const struct cat_field node_fields[] = {
	STR("n", struct cat_node, node, CAT_STR_MAX, F_REQUIRED),
	STR("id", struct cat_node, id, CAT_STR_MAX, 0),
	STR("a", struct cat_node, address, CAT_STR_MAX, F_REQUIRED),
	STR("dc", struct cat_node, datacenter, CAT_STR_MAX, 0),
	LIST("ta", FT_KVMAP, struct cat_node, tagged, ntagged),
	LIST("m", FT_KVMAP, struct cat_node, meta, nmeta),
	NUM("ci", FT_UINT, struct cat_node, create_index),
	NUM("mi", FT_UINT, struct cat_node, modify_index),
};

static const struct cat_field service_fields[] = {
	STR("n", struct cat_service, node, CAT_STR_MAX, F_REQUIRED),
	STR("id", struct cat_service, id, CAT_STR_MAX, F_REQUIRED),
	STR("s", struct cat_service, service, CAT_STR_MAX, F_REQUIRED),
	STR("k", struct cat_service, kind, CAT_STR_MAX, 0),
	STR("a", struct cat_service, address, CAT_STR_MAX, 0),
	LIST("t", FT_STRLIST, struct cat_service, tags, ntags),
	LIST("ta", FT_TADDRMAP, struct cat_service, tagged, ntagged),
	LIST("m", FT_KVMAP, struct cat_service, meta, nmeta),
	NUM("p", FT_PORT, struct cat_service, port),
	NUM("wp", FT_WEIGHT, struct cat_service, weight_passing),
	NUM("ww", FT_WEIGHT, struct cat_service, weight_warning),
	NUM("eto", FT_BOOL, struct cat_service, enable_tag_override),
	NUM("ci", FT_UINT, struct cat_service, create_index),
	NUM("mi", FT_UINT, struct cat_service, modify_index),
};

static const struct cat_field check_fields[] = {
	STR("n", struct cat_check, node, CAT_STR_MAX, F_REQUIRED),
	STR("id", struct cat_check, check_id, CAT_STR_MAX, F_REQUIRED),
	STR("nm", struct cat_check, name, CAT_STR_MAX, F_REQUIRED),
	STR("s", struct cat_check, status, CAT_STR_MAX, F_REQUIRED),
	STR("no", struct cat_check, notes, CAT_NOTES_MAX, 0),
	STR("o", struct cat_check, output, CAT_OUTPUT_MAX, 0),
	STR("si", struct cat_check, service_id, CAT_STR_MAX, 0),
	STR("sn", struct cat_check, service_name, CAT_STR_MAX, 0),
	LIST("stg", FT_STRLIST, struct cat_check, service_tags,
	    nservice_tags),
	STR("t", struct cat_check, type, CAT_STR_MAX, 0),
	STR("iv", struct cat_check, interval, CAT_STR_MAX, 0),
	STR("to", struct cat_check, timeout, CAT_STR_MAX, 0),
	STR("h", struct cat_check, http, CAT_STR_MAX, 0),
	STR("tcp", struct cat_check, tcp, CAT_STR_MAX, 0),
	NUM("ci", FT_UINT, struct cat_check, create_index),
	NUM("mi", FT_UINT, struct cat_check, modify_index),
};

/* The value of a service's tagged address, keyed by its name. */
static const struct cat_field taddr_fields[] = {
	STR("a", struct cat_taddr, address, CAT_STR_MAX, 0),
	NUM("p", FT_PORT, struct cat_taddr, port),
};

static const struct cat_field session_fields[] = {
	STR("id", struct cat_session, id, CAT_STR_MAX, F_REQUIRED),
	STR("nm", struct cat_session, name, CAT_STR_MAX, 0),
	STR("n", struct cat_session, node, CAT_STR_MAX, F_REQUIRED),
	STR("b", struct cat_session, behavior, CAT_STR_MAX, F_REQUIRED),
	STR("ttl", struct cat_session, ttl, CAT_STR_MAX, 0),
	NUM("ld", FT_UINT, struct cat_session, lock_delay),
	LIST("nc", FT_STRLIST, struct cat_session, node_checks,
	    nnode_checks),
	LIST("sc", FT_STRLIST, struct cat_session, service_checks,
	    nservice_checks),
	NUM("ci", FT_UINT, struct cat_session, create_index),
	NUM("mi", FT_UINT, struct cat_session, modify_index),
};

static const struct cat_field pquery_fields[] = {
	STR("id", struct cat_pquery, id, CAT_STR_MAX, F_REQUIRED),
	STR("nm", struct cat_pquery, name, CAT_STR_MAX, 0),
	STR("s", struct cat_pquery, session, CAT_STR_MAX, 0),
	STR("d", struct cat_pquery, def, CAT_PQUERY_DEF_MAX, F_REQUIRED),
	STR("tk", struct cat_pquery, token, CAT_STR_MAX, 0),
	NUM("ci", FT_UINT, struct cat_pquery, create_index),
	NUM("mi", FT_UINT, struct cat_pquery, modify_index),
};

static const struct cat_field deregister_fields[] = {
	STR("node", struct cat_deregister, node, CAT_STR_MAX, F_REQUIRED),
	STR("sid", struct cat_deregister, service_id, CAT_STR_MAX, 0),
	STR("cid", struct cat_deregister, check_id, CAT_STR_MAX, 0),
};

#define nfields(a)	(sizeof(a) / sizeof((a)[0]))

#define FIELD(s, f, type)	((type *)((char *)(s) + (f)->off))
#define CFIELD(s, f, type)	((type const *)((const char *)(s) + (f)->off))
#define COUNT(s, f)		((size_t *)((char *)(s) + (f)->noff))
#define CCOUNT(s, f)		(*(const size_t *)((const char *)(s) + \
				    (f)->noff))

int
cat_status_valid(const char *s)
{
	return s != NULL && (strcmp(s, CAT_PASSING) == 0 ||
	    strcmp(s, CAT_WARNING) == 0 || strcmp(s, CAT_CRITICAL) == 0);
}

static void
pack_str_or_empty(msgpack_packer *pk, const char *s)
{
	mpack_str(pk, s != NULL ? s : "");
}

static void
pack_fields(msgpack_packer *pk, const struct cat_field *fields, size_t nf,
    const void *s)
{
	const struct cat_field	*f;
	const struct cat_kv	*kv;
	const struct cat_taddr	*ta;
	char *const		*list;
	size_t			 i, j, n;

	msgpack_pack_map(pk, nf);
	for (i = 0; i < nf; i++) {
		f = &fields[i];
		mpack_str(pk, f->key);
		switch (f->type) {
		case FT_STR:
			mpack_str(pk, *CFIELD(s, f, char *));
			break;
		case FT_UINT:
		case FT_PORT:
			msgpack_pack_uint64(pk, *CFIELD(s, f, uint64_t));
			break;
		case FT_WEIGHT:
			msgpack_pack_int64(pk, *CFIELD(s, f, int64_t));
			break;
		case FT_BOOL:
			if (*CFIELD(s, f, int))
				msgpack_pack_true(pk);
			else
				msgpack_pack_false(pk);
			break;
		case FT_STRLIST:
			list = *CFIELD(s, f, char **);
			n = CCOUNT(s, f);
			msgpack_pack_array(pk, n);
			for (j = 0; j < n; j++)
				pack_str_or_empty(pk, list[j]);
			break;
		case FT_KVMAP:
			kv = *CFIELD(s, f, struct cat_kv *);
			n = CCOUNT(s, f);
			msgpack_pack_map(pk, n);
			for (j = 0; j < n; j++) {
				pack_str_or_empty(pk, kv[j].key);
				pack_str_or_empty(pk, kv[j].value);
			}
			break;
		case FT_TADDRMAP:
			ta = *CFIELD(s, f, struct cat_taddr *);
			n = CCOUNT(s, f);
			msgpack_pack_map(pk, n);
			for (j = 0; j < n; j++) {
				pack_str_or_empty(pk, ta[j].name);
				pack_fields(pk, taddr_fields,
				    nfields(taddr_fields), &ta[j]);
			}
			break;
		}
	}
}

static void
free_fields(const struct cat_field *fields, size_t nf, void *s)
{
	const struct cat_field	*f;
	struct cat_kv		*kv;
	struct cat_taddr	*ta;
	char			**list;
	size_t			 i, j, n;

	for (i = 0; i < nf; i++) {
		f = &fields[i];
		switch (f->type) {
		case FT_STR:
			free(*FIELD(s, f, char *));
			break;
		case FT_STRLIST:
			list = *FIELD(s, f, char **);
			n = *COUNT(s, f);
			for (j = 0; j < n; j++)
				free(list[j]);
			free(list);
			break;
		case FT_KVMAP:
			kv = *FIELD(s, f, struct cat_kv *);
			n = *COUNT(s, f);
			for (j = 0; j < n; j++) {
				free(kv[j].key);
				free(kv[j].value);
			}
			free(kv);
			break;
		case FT_TADDRMAP:
			ta = *FIELD(s, f, struct cat_taddr *);
			n = *COUNT(s, f);
			for (j = 0; j < n; j++) {
				free(ta[j].name);
				free(ta[j].address);
			}
			free(ta);
			break;
		default:
			break;
		}
	}
}

/* A string of at most max bytes, or nil for NULL when nil_ok. */
static int
get_str(const msgpack_object *o, size_t max, int nil_ok, char **out)
{
	*out = NULL;
	if (o->type == MSGPACK_OBJECT_NIL)
		return nil_ok ? 0 : -1;
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > max)
		return -1;
	return mpack_get_str(o, out);
}

static int
get_port(const msgpack_object *o, uint64_t *out)
{
	if (mpack_get_uint(o, out) == -1 || *out > CAT_PORT_MAX)
		return -1;
	return 0;
}

/*
 * The entry count of a list or map, bounded by CAT_LIST_MAX; nil is an
 * empty one.
 */
static int
list_size(const msgpack_object *o, msgpack_object_type type, size_t *n)
{
	*n = 0;
	if (o->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (o->type != type)
		return -1;
	*n = type == MSGPACK_OBJECT_ARRAY ? o->via.array.size :
	    o->via.map.size;
	return *n <= CAT_LIST_MAX ? 0 : -1;
}

static int
get_strlist(const msgpack_object *o, size_t max, char ***out, size_t *nout)
{
	char	**list;
	size_t	 i, n;

	if (list_size(o, MSGPACK_OBJECT_ARRAY, &n) == -1)
		return -1;
	if (n == 0)
		return 0;
	if ((list = calloc(n, sizeof(*list))) == NULL)
		return -1;
	/* Owned by the record from here, so that its free sees them. */
	*out = list;
	*nout = n;
	for (i = 0; i < n; i++) {
		if (get_str(&o->via.array.ptr[i], max, 0, &list[i]) == -1)
			return -1;
	}
	return 0;
}

/*
 * A map key: a string, unlike the nprev keys before it.  Those are the
 * first member of each entry of the array base (struct cat_kv's key,
 * struct cat_taddr's name).
 */
static int
get_key(const msgpack_object *o, size_t max, char **out,
    const void *base, size_t stride, size_t nprev)
{
	const char	*prev;
	size_t		 i;

	if (get_str(o, max, 0, out) == -1)
		return -1;
	for (i = 0; i < nprev; i++) {
		prev = *(char *const *)((const char *)base + i * stride);
		if (strcmp(prev, *out) == 0)
			return -1;
	}
	return 0;
}

static int
get_kvmap(const msgpack_object *o, size_t max, struct cat_kv **out,
    size_t *nout)
{
	const msgpack_object_kv	*e;
	struct cat_kv		*kv;
	size_t			 i, n;

	if (list_size(o, MSGPACK_OBJECT_MAP, &n) == -1)
		return -1;
	if (n == 0)
		return 0;
	if ((kv = calloc(n, sizeof(*kv))) == NULL)
		return -1;
	*out = kv;
	*nout = n;
	for (i = 0; i < n; i++) {
		e = &o->via.map.ptr[i];
		if (get_key(&e->key, max, &kv[i].key, kv, sizeof(*kv),
		    i) == -1 ||
		    get_str(&e->val, max, 0, &kv[i].value) == -1)
			return -1;
	}
	return 0;
}

static int	unpack_fields(const msgpack_object *, const struct cat_field *,
		    size_t, void *);

static int
get_taddrmap(const msgpack_object *o, size_t max, struct cat_taddr **out,
    size_t *nout)
{
	const msgpack_object_kv	*e;
	struct cat_taddr	*ta;
	size_t			 i, n;

	if (list_size(o, MSGPACK_OBJECT_MAP, &n) == -1)
		return -1;
	if (n == 0)
		return 0;
	if ((ta = calloc(n, sizeof(*ta))) == NULL)
		return -1;
	*out = ta;
	*nout = n;
	for (i = 0; i < n; i++) {
		e = &o->via.map.ptr[i];
		if (get_key(&e->key, max, &ta[i].name, ta, sizeof(*ta),
		    i) == -1 ||
		    unpack_fields(&e->val, taddr_fields,
		    nfields(taddr_fields), &ta[i]) == -1)
			return -1;
	}
	return 0;
}

static int
unpack_field(const msgpack_object *v, const struct cat_field *f, void *s)
{
	int64_t		 w;
	int		 b;

	switch (f->type) {
	case FT_STR:
		return get_str(v, f->max, 1, FIELD(s, f, char *));
	case FT_UINT:
		return mpack_get_uint(v, FIELD(s, f, uint64_t));
	case FT_PORT:
		return get_port(v, FIELD(s, f, uint64_t));
	case FT_WEIGHT:
		if (mpack_get_int(v, &w) == -1 || w < 0 || w > CAT_WEIGHT_MAX)
			return -1;
		*FIELD(s, f, int64_t) = w;
		return 0;
	case FT_BOOL:
		if (mpack_get_bool(v, &b) == -1)
			return -1;
		*FIELD(s, f, int) = b;
		return 0;
	case FT_STRLIST:
		return get_strlist(v, f->max, FIELD(s, f, char **),
		    COUNT(s, f));
	case FT_KVMAP:
		return get_kvmap(v, f->max, FIELD(s, f, struct cat_kv *),
		    COUNT(s, f));
	case FT_TADDRMAP:
		return get_taddrmap(v, f->max,
		    FIELD(s, f, struct cat_taddr *), COUNT(s, f));
	}
	return -1;
}

/*
 * Fill the zeroed s from the map o, one pass over its entries.  On error
 * what was allocated stays in s for the caller's free.
 */
static int
unpack_fields(const msgpack_object *o, const struct cat_field *fields,
    size_t nf, void *s)
{
	const msgpack_object_kv	*e;
	const struct cat_field	*f;
	uint32_t		 seen = 0;
	uint32_t		 i;
	size_t			 j;

	if (o->type != MSGPACK_OBJECT_MAP)
		return -1;
	for (i = 0; i < o->via.map.size; i++) {
		e = &o->via.map.ptr[i];
		for (j = 0; j < nf; j++) {
			if (mpack_key_is(&e->key, fields[j].key))
				break;
		}
		if (j == nf)
			continue;
		if (seen & (1U << j))
			return -1;
		seen |= 1U << j;
		if (unpack_field(&e->val, &fields[j], s) == -1)
			return -1;
	}
	for (j = 0; j < nf; j++) {
		f = &fields[j];
		if ((f->flags & F_REQUIRED) && (*FIELD(s, f, char *) == NULL ||
		    **FIELD(s, f, char *) == '\0'))
			return -1;
		if (f->type == FT_WEIGHT && !(seen & (1U << j)))
			*FIELD(s, f, int64_t) = 1;
	}
	return 0;
}

void
cat_node_pack(msgpack_packer *pk, const struct cat_node *n)
{
	pack_fields(pk, node_fields, nfields(node_fields), n);
}

int
cat_node_unpack(const msgpack_object *o, struct cat_node *n)
{
	memset(n, 0, sizeof(*n));
	if (unpack_fields(o, node_fields, nfields(node_fields), n) == -1) {
		cat_node_free(n);
		return -1;
	}
	return 0;
}

void
cat_node_free(struct cat_node *n)
{
	free_fields(node_fields, nfields(node_fields), n);
	memset(n, 0, sizeof(*n));
}

void
cat_service_pack(msgpack_packer *pk, const struct cat_service *svc)
{
	pack_fields(pk, service_fields, nfields(service_fields), svc);
}

int
cat_service_unpack(const msgpack_object *o, struct cat_service *svc)
{
	memset(svc, 0, sizeof(*svc));
	if (unpack_fields(o, service_fields, nfields(service_fields),
	    svc) == -1) {
		cat_service_free(svc);
		return -1;
	}
	return 0;
}

void
cat_service_free(struct cat_service *svc)
{
	free_fields(service_fields, nfields(service_fields), svc);
	memset(svc, 0, sizeof(*svc));
}

void
cat_check_pack(msgpack_packer *pk, const struct cat_check *c)
{
	pack_fields(pk, check_fields, nfields(check_fields), c);
}

int
cat_check_unpack(const msgpack_object *o, struct cat_check *c)
{
	memset(c, 0, sizeof(*c));
	if (unpack_fields(o, check_fields, nfields(check_fields), c) == -1 ||
	    !cat_status_valid(c->status)) {
		cat_check_free(c);
		return -1;
	}
	return 0;
}

void
cat_check_free(struct cat_check *c)
{
	free_fields(check_fields, nfields(check_fields), c);
	memset(c, 0, sizeof(*c));
}

void
cat_register_pack(msgpack_packer *pk, const struct cat_register *r)
{
	size_t	 i;

	msgpack_pack_map(pk, 4);
	mpack_str(pk, "node");
	cat_node_pack(pk, &r->node);
	mpack_kv_bool(pk, "skip", r->skip_node_update);
	mpack_str(pk, "svc");
	if (r->service != NULL)
		cat_service_pack(pk, r->service);
	else
		msgpack_pack_nil(pk);
	mpack_str(pk, "checks");
	msgpack_pack_array(pk, r->nchecks);
	for (i = 0; i < r->nchecks; i++)
		cat_check_pack(pk, &r->checks[i]);
}

/* A known key of the register map, refused when it comes twice. */
static int
register_get(const msgpack_object *o, const char *key,
    const msgpack_object **out)
{
	uint32_t	 i;

	*out = NULL;
	for (i = 0; i < o->via.map.size; i++) {
		if (!mpack_key_is(&o->via.map.ptr[i].key, key))
			continue;
		if (*out != NULL)
			return -1;
		*out = &o->via.map.ptr[i].val;
	}
	return 0;
}

int
cat_register_unpack(const msgpack_object *o, struct cat_register *r)
{
	const msgpack_object	*node, *skip, *svc, *checks;
	size_t			 i, n;

	memset(r, 0, sizeof(*r));
	if (o->type != MSGPACK_OBJECT_MAP ||
	    register_get(o, "node", &node) == -1 ||
	    register_get(o, "skip", &skip) == -1 ||
	    register_get(o, "svc", &svc) == -1 ||
	    register_get(o, "checks", &checks) == -1 || node == NULL)
		return -1;
	if (cat_node_unpack(node, &r->node) == -1)
		goto fail;
	if (skip != NULL && mpack_get_bool(skip, &r->skip_node_update) == -1)
		goto fail;
	if (svc != NULL && svc->type != MSGPACK_OBJECT_NIL) {
		if ((r->service = calloc(1, sizeof(*r->service))) == NULL ||
		    cat_service_unpack(svc, r->service) == -1 ||
		    strcmp(r->service->node, r->node.node) != 0)
			goto fail;
	}
	if (checks != NULL) {
		if (list_size(checks, MSGPACK_OBJECT_ARRAY, &n) == -1)
			goto fail;
		if (n > 0) {
			if ((r->checks = calloc(n, sizeof(*r->checks))) ==
			    NULL)
				goto fail;
			r->nchecks = n;
		}
		for (i = 0; i < n; i++) {
			if (cat_check_unpack(&checks->via.array.ptr[i],
			    &r->checks[i]) == -1 ||
			    strcmp(r->checks[i].node, r->node.node) != 0)
				goto fail;
		}
	}
	return 0;
 fail:
	cat_register_free(r);
	return -1;
}

void
cat_register_free(struct cat_register *r)
{
	size_t	 i;

	cat_node_free(&r->node);
	if (r->service != NULL) {
		cat_service_free(r->service);
		free(r->service);
	}
	for (i = 0; i < r->nchecks; i++)
		cat_check_free(&r->checks[i]);
	free(r->checks);
	memset(r, 0, sizeof(*r));
}

void
cat_deregister_pack(msgpack_packer *pk, const struct cat_deregister *d)
{
	pack_fields(pk, deregister_fields, nfields(deregister_fields), d);
}

/* An ID, when given, is not empty; a deregistration names one thing. */
int
cat_deregister_unpack(const msgpack_object *o, struct cat_deregister *d)
{
	memset(d, 0, sizeof(*d));
	if (unpack_fields(o, deregister_fields, nfields(deregister_fields),
	    d) == -1 ||
	    (d->service_id != NULL && d->service_id[0] == '\0') ||
	    (d->check_id != NULL && d->check_id[0] == '\0') ||
	    (d->service_id != NULL && d->check_id != NULL)) {
		cat_deregister_free(d);
		return -1;
	}
	return 0;
}

void
cat_deregister_free(struct cat_deregister *d)
{
	free_fields(deregister_fields, nfields(deregister_fields), d);
	memset(d, 0, sizeof(*d));
}

void
cat_session_pack(msgpack_packer *pk, const struct cat_session *se)
{
	pack_fields(pk, session_fields, nfields(session_fields), se);
}

/* The behavior is one of the two; a check ID is never empty. */
int
cat_session_unpack(const msgpack_object *o, struct cat_session *se)
{
	size_t	 i;

	memset(se, 0, sizeof(*se));
	if (unpack_fields(o, session_fields, nfields(session_fields),
	    se) == -1 ||
	    (strcmp(se->behavior, CAT_SESSION_RELEASE) != 0 &&
	    strcmp(se->behavior, CAT_SESSION_DELETE) != 0))
		goto fail;
	for (i = 0; i < se->nnode_checks; i++)
		if (se->node_checks[i][0] == '\0')
			goto fail;
	for (i = 0; i < se->nservice_checks; i++)
		if (se->service_checks[i][0] == '\0')
			goto fail;
	return 0;
 fail:
	cat_session_free(se);
	return -1;
}

void
cat_session_free(struct cat_session *se)
{
	free_fields(session_fields, nfields(session_fields), se);
	memset(se, 0, sizeof(*se));
}

void
cat_pquery_pack(msgpack_packer *pk, const struct cat_pquery *q)
{
	pack_fields(pk, pquery_fields, nfields(pquery_fields), q);
}

int
cat_pquery_unpack(const msgpack_object *o, struct cat_pquery *q)
{
	memset(q, 0, sizeof(*q));
	if (unpack_fields(o, pquery_fields, nfields(pquery_fields), q) == -1) {
		cat_pquery_free(q);
		return -1;
	}
	return 0;
}

void
cat_pquery_free(struct cat_pquery *q)
{
	if (q->token != NULL)
		explicit_bzero(q->token, strlen(q->token));
	free_fields(pquery_fields, nfields(pquery_fields), q);
	memset(q, 0, sizeof(*q));
}
