/*
 * The catalog codecs: nodes, services, checks, registrations and
 * deregistrations packed and read back, full and minimal; defaults and
 * unknown keys; and every kind of malformed record refused, with
 * nothing left allocated (the test runs under valgrind).  Malformed
 * records are built as msgpack_object trees, a valid one with one entry
 * replaced, removed or added, so each case changes exactly one thing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "catalog_codec.h"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define MAXKV		32

/* msgpack_object constructors; the objects point into their arguments. */
static msgpack_object
onil(void)
{
	msgpack_object	 o;

	memset(&o, 0, sizeof(o));
	o.type = MSGPACK_OBJECT_NIL;
	return o;
}

static msgpack_object
ostrn(const char *s, size_t len)
{
	msgpack_object	 o = onil();

	o.type = MSGPACK_OBJECT_STR;
	o.via.str.ptr = s;
	o.via.str.size = len;
	return o;
}

static msgpack_object
ostr(const char *s)
{
	return ostrn(s, strlen(s));
}

static msgpack_object
obin(const char *s)
{
	msgpack_object	 o = onil();

	o.type = MSGPACK_OBJECT_BIN;
	o.via.bin.ptr = s;
	o.via.bin.size = strlen(s);
	return o;
}

static msgpack_object
ouint(uint64_t v)
{
	msgpack_object	 o = onil();

	o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	o.via.u64 = v;
	return o;
}

static msgpack_object
oint(int64_t v)
{
	msgpack_object	 o = onil();

	if (v >= 0)
		return ouint(v);
	o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
	o.via.i64 = v;
	return o;
}

static msgpack_object
obool(int v)
{
	msgpack_object	 o = onil();

	o.type = MSGPACK_OBJECT_BOOLEAN;
	o.via.boolean = v;
	return o;
}

static msgpack_object
ofloat(double v)
{
	msgpack_object	 o = onil();

	o.type = MSGPACK_OBJECT_FLOAT64;
	o.via.f64 = v;
	return o;
}

static msgpack_object
oarr(msgpack_object *items, size_t n)
{
	msgpack_object	 o = onil();

	o.type = MSGPACK_OBJECT_ARRAY;
	o.via.array.ptr = items;
	o.via.array.size = n;
	return o;
}

static msgpack_object
omap(msgpack_object_kv *kv, size_t n)
{
	msgpack_object	 o = onil();

	o.type = MSGPACK_OBJECT_MAP;
	o.via.map.ptr = kv;
	o.via.map.size = n;
	return o;
}

/*
 * A copy of the map base in out, with key's value set to *val (added if
 * key is not there), or key removed when val is NULL.
 */
static msgpack_object
edit(const msgpack_object *base, msgpack_object_kv *out, const char *key,
    const msgpack_object *val)
{
	size_t	 i, n = 0;
	int	 found = 0;

	for (i = 0; i < base->via.map.size && n < MAXKV - 1; i++) {
		if (mpack_key_is(&base->via.map.ptr[i].key, key)) {
			found = 1;
			if (val == NULL)
				continue;
			out[n].key = base->via.map.ptr[i].key;
			out[n++].val = *val;
		} else
			out[n++] = base->via.map.ptr[i];
	}
	if (!found && val != NULL) {
		out[n].key = ostr(key);
		out[n++].val = *val;
	}
	return omap(out, n);
}

/* Unpack as each type, freeing on success: the return of the unpack. */
static int
try_node(const msgpack_object *o)
{
	struct cat_node	 n;

	if (cat_node_unpack(o, &n) == -1)
		return -1;
	cat_node_free(&n);
	return 0;
}

static int
try_service(const msgpack_object *o)
{
	struct cat_service	 s;

	if (cat_service_unpack(o, &s) == -1)
		return -1;
	cat_service_free(&s);
	return 0;
}

static int
try_check(const msgpack_object *o)
{
	struct cat_check	 c;

	if (cat_check_unpack(o, &c) == -1)
		return -1;
	cat_check_free(&c);
	return 0;
}

static int
try_register(const msgpack_object *o)
{
	struct cat_register	 r;

	if (cat_register_unpack(o, &r) == -1)
		return -1;
	cat_register_free(&r);
	return 0;
}

static int
try_deregister(const msgpack_object *o)
{
	struct cat_deregister	 d;

	if (cat_deregister_unpack(o, &d) == -1)
		return -1;
	cat_deregister_free(&d);
	return 0;
}

/* try(base with key set to val) */
static int
try_with(int (*try)(const msgpack_object *), const msgpack_object *base,
    const char *key, const msgpack_object *val)
{
	msgpack_object_kv	 kv[MAXKV];
	msgpack_object		 o;

	o = edit(base, kv, key, val);
	return try(&o);
}

static int
try_without(int (*try)(const msgpack_object *), const msgpack_object *base,
    const char *key)
{
	return try_with(try, base, key, NULL);
}

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
same_kv(const struct cat_kv *a, size_t na, const struct cat_kv *b,
    size_t nb)
{
	size_t	 i;

	if (na != nb)
		return 0;
	if (na == 0)
		return a == NULL && b == NULL;
	for (i = 0; i < na; i++) {
		if (!same_str(a[i].key, b[i].key) ||
		    !same_str(a[i].value, b[i].value))
			return 0;
	}
	return 1;
}

static int
same_list(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t	 i;

	if (na != nb)
		return 0;
	if (na == 0)
		return a == NULL && b == NULL;
	for (i = 0; i < na; i++) {
		if (!same_str(a[i], b[i]))
			return 0;
	}
	return 1;
}

static int
same_node(const struct cat_node *a, const struct cat_node *b)
{
	return same_str(a->node, b->node) && same_str(a->id, b->id) &&
	    same_str(a->address, b->address) &&
	    same_str(a->datacenter, b->datacenter) &&
	    same_kv(a->tagged, a->ntagged, b->tagged, b->ntagged) &&
	    same_kv(a->meta, a->nmeta, b->meta, b->nmeta) &&
	    a->create_index == b->create_index &&
	    a->modify_index == b->modify_index;
}

static int
same_service(const struct cat_service *a, const struct cat_service *b)
{
	size_t	 i;

	if (a->ntagged != b->ntagged)
		return 0;
	for (i = 0; i < a->ntagged; i++) {
		if (!same_str(a->tagged[i].name, b->tagged[i].name) ||
		    !same_str(a->tagged[i].address, b->tagged[i].address) ||
		    a->tagged[i].port != b->tagged[i].port)
			return 0;
	}
	return same_str(a->node, b->node) && same_str(a->id, b->id) &&
	    same_str(a->service, b->service) && same_str(a->kind, b->kind) &&
	    same_str(a->address, b->address) &&
	    same_list(a->tags, a->ntags, b->tags, b->ntags) &&
	    (a->ntagged > 0 || (a->tagged == NULL && b->tagged == NULL)) &&
	    same_kv(a->meta, a->nmeta, b->meta, b->nmeta) &&
	    a->port == b->port && a->weight_passing == b->weight_passing &&
	    a->weight_warning == b->weight_warning &&
	    !a->enable_tag_override == !b->enable_tag_override &&
	    a->create_index == b->create_index &&
	    a->modify_index == b->modify_index;
}

static int
same_check(const struct cat_check *a, const struct cat_check *b)
{
	return same_str(a->node, b->node) &&
	    same_str(a->check_id, b->check_id) &&
	    same_str(a->name, b->name) && same_str(a->status, b->status) &&
	    same_str(a->notes, b->notes) && same_str(a->output, b->output) &&
	    same_str(a->service_id, b->service_id) &&
	    same_str(a->service_name, b->service_name) &&
	    same_list(a->service_tags, a->nservice_tags, b->service_tags,
	    b->nservice_tags) &&
	    same_str(a->type, b->type) && same_str(a->interval, b->interval) &&
	    same_str(a->timeout, b->timeout) && same_str(a->http, b->http) &&
	    same_str(a->tcp, b->tcp) && a->create_index == b->create_index &&
	    a->modify_index == b->modify_index;
}

/* Records to pack; the codecs only read them. */
static struct cat_kv node_tagged[] = {
	{ "lan", "10.0.0.1" }, { "wan", "203.0.113.1" },
	{ "lan_ipv4", "" },
};
static struct cat_kv node_meta[] = {
	{ "rack", "r1" }, { "consul-network-segment", "" },
};
static struct cat_node full_node = {
	.node = "node1", .id = "2ba3d8b8-7a9d-4f0b-9e5e-4f7f3f5a8c31",
	.address = "10.0.0.1", .datacenter = "dc1",
	.tagged = node_tagged, .ntagged = nitems(node_tagged),
	.meta = node_meta, .nmeta = nitems(node_meta),
	.create_index = 5, .modify_index = UINT64_MAX,
};
static struct cat_node min_node = { .node = "n", .address = "a" };

static char *svc_tags[] = { "primary", "v1", "", "primary" };
static struct cat_taddr svc_tagged[] = {
	{ "lan_ipv4", "10.0.0.1", 8080 }, { "wan", NULL, 0 },
	{ "wan_ipv6", "2001:db8::1", 65535 },
};
static struct cat_kv svc_meta[] = { { "version", "1.2.3" } };
static struct cat_service full_service = {
	.node = "node1", .id = "web-1", .service = "web",
	.kind = "connect-proxy", .address = "10.0.0.2",
	.tags = svc_tags, .ntags = nitems(svc_tags),
	.tagged = svc_tagged, .ntagged = nitems(svc_tagged),
	.meta = svc_meta, .nmeta = nitems(svc_meta),
	.port = 65535, .weight_passing = (int64_t)1 << 31,
	.weight_warning = 0, .enable_tag_override = 1,
	.create_index = 7, .modify_index = 9,
};
static struct cat_service min_service = {
	.node = "n", .id = "i", .service = "s", .weight_passing = 1,
	.weight_warning = 1,
};

static char *chk_tags[] = { "primary", "v1" };
static struct cat_check full_check = {
	.node = "node1", .check_id = "service:web-1", .name = "web alive",
	.status = CAT_WARNING, .notes = "a note", .output = "HTTP 429\n",
	.service_id = "web-1", .service_name = "web",
	.service_tags = chk_tags, .nservice_tags = nitems(chk_tags),
	.type = "http", .interval = "10s", .timeout = "1s",
	.http = "http://localhost:8080/health", .tcp = "",
	.create_index = 11, .modify_index = 12,
};
static struct cat_check min_check = {
	.node = "n", .check_id = "c", .name = "x", .status = CAT_CRITICAL,
};

/* Pack with fn, parse the bytes, unpack into out: 0 or -1. */
#define ROUNDTRIP(type, rec, out, ok) do {				\
	struct mpack_out	 rt_a_, rt_b_;				\
	msgpack_unpacked	 rt_u_;					\
									\
	(ok) = 0;							\
	mpack_out_init(&rt_a_);						\
	mpack_out_init(&rt_b_);						\
	cat_##type##_pack(&rt_a_.pk, (rec));				\
	if (mpack_parse(&rt_u_, rt_a_.sbuf.data, rt_a_.sbuf.size) == 0) { \
		if (cat_##type##_unpack(&rt_u_.data, (out)) == 0) {	\
			cat_##type##_pack(&rt_b_.pk, (out));		\
			(ok) = rt_a_.sbuf.size == rt_b_.sbuf.size &&	\
			    memcmp(rt_a_.sbuf.data, rt_b_.sbuf.data,	\
			    rt_a_.sbuf.size) == 0;			\
			if (!(ok))					\
				cat_##type##_free(out);			\
		}							\
		msgpack_unpacked_destroy(&rt_u_);			\
	}								\
	mpack_out_free(&rt_a_);						\
	mpack_out_free(&rt_b_);						\
} while (0)

static void
test_status_valid(void)
{
	CHECK(cat_status_valid("passing"));
	CHECK(cat_status_valid("warning"));
	CHECK(cat_status_valid("critical"));
	CHECK(!cat_status_valid(""));
	CHECK(!cat_status_valid("Passing"));
	CHECK(!cat_status_valid("maintenance"));
	CHECK(!cat_status_valid("passing "));
	CHECK(!cat_status_valid(NULL));
}

static void
test_node_roundtrip(void)
{
	struct cat_node	 n;
	int		 ok;

	ROUNDTRIP(node, &full_node, &n, ok);
	CHECK(ok);
	if (ok) {
		CHECK(same_node(&n, &full_node));
		cat_node_free(&n);
	}
	ROUNDTRIP(node, &min_node, &n, ok);
	CHECK(ok);
	if (ok) {
		CHECK(same_node(&n, &min_node));
		CHECK(n.id == NULL && n.datacenter == NULL);
		CHECK(n.tagged == NULL && n.ntagged == 0);
		CHECK(n.meta == NULL && n.nmeta == 0);
		cat_node_free(&n);
	}
}

static void
test_service_roundtrip(void)
{
	struct cat_service	 s;
	int			 ok;

	ROUNDTRIP(service, &full_service, &s, ok);
	CHECK(ok);
	if (ok) {
		CHECK(same_service(&s, &full_service));
		CHECK(s.tagged[1].address == NULL);
		cat_service_free(&s);
	}
	ROUNDTRIP(service, &min_service, &s, ok);
	CHECK(ok);
	if (ok) {
		CHECK(same_service(&s, &min_service));
		CHECK(s.tags == NULL && s.tagged == NULL && s.meta == NULL);
		CHECK(s.kind == NULL && s.address == NULL);
		cat_service_free(&s);
	}
}

static void
test_check_roundtrip(void)
{
	struct cat_check	 c;
	int			 ok;

	ROUNDTRIP(check, &full_check, &c, ok);
	CHECK(ok);
	if (ok) {
		CHECK(same_check(&c, &full_check));
		CHECK_STR(c.tcp, "");
		cat_check_free(&c);
	}
	ROUNDTRIP(check, &min_check, &c, ok);
	CHECK(ok);
	if (ok) {
		CHECK(same_check(&c, &min_check));
		CHECK(c.notes == NULL && c.service_tags == NULL);
		cat_check_free(&c);
	}
}

static void
test_register_roundtrip(void)
{
	struct cat_check	 checks[2];
	struct cat_register	 full, min, r;
	int			 ok;
	size_t			 i;

	checks[0] = full_check;
	checks[1] = full_check;
	checks[1].check_id = "serfHealth";
	checks[1].service_id = NULL;
	checks[1].service_tags = NULL;
	checks[1].nservice_tags = 0;
	memset(&full, 0, sizeof(full));
	full.node = full_node;
	full.skip_node_update = 1;
	full.service = &full_service;
	full.checks = checks;
	full.nchecks = nitems(checks);
	ROUNDTRIP(register, &full, &r, ok);
	CHECK(ok);
	if (ok) {
		CHECK(same_node(&r.node, &full_node));
		CHECK(r.skip_node_update == 1);
		CHECK(r.service != NULL &&
		    same_service(r.service, &full_service));
		CHECK(r.nchecks == 2);
		for (i = 0; i < r.nchecks && i < 2; i++)
			CHECK(same_check(&r.checks[i], &checks[i]));
		cat_register_free(&r);
		CHECK(r.service == NULL && r.checks == NULL &&
		    r.node.node == NULL);
	}

	memset(&min, 0, sizeof(min));
	min.node = min_node;
	ROUNDTRIP(register, &min, &r, ok);
	CHECK(ok);
	if (ok) {
		CHECK(same_node(&r.node, &min_node));
		CHECK(r.skip_node_update == 0 && r.service == NULL &&
		    r.checks == NULL && r.nchecks == 0);
		cat_register_free(&r);
	}
}

static void
test_deregister_roundtrip(void)
{
	struct cat_deregister	 d, node = { "node1", NULL, NULL },
				 svc = { "node1", "web-1", NULL },
				 chk = { "node1", NULL, "serfHealth" };
	int			 ok;

	ROUNDTRIP(deregister, &node, &d, ok);
	CHECK(ok);
	if (ok) {
		CHECK_STR(d.node, "node1");
		CHECK(d.service_id == NULL && d.check_id == NULL);
		cat_deregister_free(&d);
	}
	ROUNDTRIP(deregister, &svc, &d, ok);
	CHECK(ok);
	if (ok) {
		CHECK_STR(d.service_id, "web-1");
		CHECK(d.check_id == NULL);
		cat_deregister_free(&d);
	}
	ROUNDTRIP(deregister, &chk, &d, ok);
	CHECK(ok);
	if (ok) {
		CHECK_STR(d.check_id, "serfHealth");
		CHECK(d.service_id == NULL);
		cat_deregister_free(&d);
	}
}

/* A prepared query keeps the token it runs under; old records have none. */
static void
test_pquery_token(void)
{
	struct cat_pquery	 q, out, old;
	int			 ok;

	memset(&q, 0, sizeof(q));
	q.id = "6a1e0c52-0000-4000-8000-000000000001";
	q.name = "web";
	q.def = "{}";
	q.token = "3f0b2c1d-0000-4000-8000-000000000002";
	ROUNDTRIP(pquery, &q, &out, ok);
	CHECK(ok);
	if (ok) {
		CHECK_STR(out.token, q.token);
		CHECK_STR(out.name, "web");
		cat_pquery_free(&out);
	}
	memset(&old, 0, sizeof(old));
	old.id = q.id;
	old.def = q.def;
	ROUNDTRIP(pquery, &old, &out, ok);
	CHECK(ok);
	if (ok) {
		CHECK(out.token == NULL || *out.token == '\0');
		cat_pquery_free(&out);
	}
}

static void
test_free_zeroed(void)
{
	struct cat_node		 n;
	struct cat_service	 s;
	struct cat_check	 c;
	struct cat_register	 r;
	struct cat_deregister	 d;

	memset(&n, 0, sizeof(n));
	memset(&s, 0, sizeof(s));
	memset(&c, 0, sizeof(c));
	memset(&r, 0, sizeof(r));
	memset(&d, 0, sizeof(d));
	cat_node_free(&n);
	cat_service_free(&s);
	cat_check_free(&c);
	cat_register_free(&r);
	cat_deregister_free(&d);
	/* And twice: a free leaves the struct zeroed. */
	cat_node_free(&n);
	cat_register_free(&r);
	CHECK(n.node == NULL && r.checks == NULL);
}

/* Valid records as objects, for the rejection tests to edit. */
static msgpack_object_kv node_kv[3];
static msgpack_object_kv svc_kv[4];
static msgpack_object_kv chk_kv[5];
static msgpack_object_kv reg_kv[4];
static msgpack_object_kv dereg_kv[2];
static msgpack_object_kv meta_kv[2];
static msgpack_object	 tags_items[2];
static msgpack_object_kv reg_node_kv[2];
static msgpack_object_kv reg_svc_kv[3];
static msgpack_object_kv reg_chk_kv[4];
static msgpack_object	 reg_checks[1];
static msgpack_object	 onode, osvc, ochk, oreg, odereg;

static void
build_objects(void)
{
	node_kv[0].key = ostr("n");
	node_kv[0].val = ostr("node1");
	node_kv[1].key = ostr("a");
	node_kv[1].val = ostr("10.0.0.1");
	meta_kv[0].key = ostr("rack");
	meta_kv[0].val = ostr("r1");
	meta_kv[1].key = ostr("zone");
	meta_kv[1].val = ostr("z1");
	node_kv[2].key = ostr("m");
	node_kv[2].val = omap(meta_kv, 2);
	onode = omap(node_kv, 3);

	tags_items[0] = ostr("primary");
	tags_items[1] = ostr("v1");
	svc_kv[0].key = ostr("n");
	svc_kv[0].val = ostr("node1");
	svc_kv[1].key = ostr("id");
	svc_kv[1].val = ostr("web-1");
	svc_kv[2].key = ostr("s");
	svc_kv[2].val = ostr("web");
	svc_kv[3].key = ostr("t");
	svc_kv[3].val = oarr(tags_items, 2);
	osvc = omap(svc_kv, 4);

	chk_kv[0].key = ostr("n");
	chk_kv[0].val = ostr("node1");
	chk_kv[1].key = ostr("id");
	chk_kv[1].val = ostr("serfHealth");
	chk_kv[2].key = ostr("nm");
	chk_kv[2].val = ostr("Serf Health Status");
	chk_kv[3].key = ostr("s");
	chk_kv[3].val = ostr("passing");
	chk_kv[4].key = ostr("stg");
	chk_kv[4].val = oarr(tags_items, 2);
	ochk = omap(chk_kv, 5);

	reg_node_kv[0] = node_kv[0];
	reg_node_kv[1] = node_kv[1];
	reg_svc_kv[0] = svc_kv[0];
	reg_svc_kv[1] = svc_kv[1];
	reg_svc_kv[2] = svc_kv[2];
	reg_chk_kv[0] = chk_kv[0];
	reg_chk_kv[1] = chk_kv[1];
	reg_chk_kv[2] = chk_kv[2];
	reg_chk_kv[3] = chk_kv[3];
	reg_checks[0] = omap(reg_chk_kv, 4);
	reg_kv[0].key = ostr("node");
	reg_kv[0].val = omap(reg_node_kv, 2);
	reg_kv[1].key = ostr("skip");
	reg_kv[1].val = obool(0);
	reg_kv[2].key = ostr("svc");
	reg_kv[2].val = omap(reg_svc_kv, 3);
	reg_kv[3].key = ostr("checks");
	reg_kv[3].val = oarr(reg_checks, 1);
	oreg = omap(reg_kv, 4);

	dereg_kv[0].key = ostr("node");
	dereg_kv[0].val = ostr("node1");
	dereg_kv[1].key = ostr("sid");
	dereg_kv[1].val = ostr("web-1");
	odereg = omap(dereg_kv, 2);
}

/* Refused wherever a string goes: types, NUL, nil if required. */
static void
check_bad_strings(int (*try)(const msgpack_object *),
    const msgpack_object *base, const char *key, int required)
{
	msgpack_object	 v;

	v = obin("x");
	CHECK(try_with(try, base, key, &v) == -1);
	v = ouint(1);
	CHECK(try_with(try, base, key, &v) == -1);
	v = obool(1);
	CHECK(try_with(try, base, key, &v) == -1);
	v = ofloat(1.5);
	CHECK(try_with(try, base, key, &v) == -1);
	v = oarr(NULL, 0);
	CHECK(try_with(try, base, key, &v) == -1);
	v = omap(NULL, 0);
	CHECK(try_with(try, base, key, &v) == -1);
	v = ostrn("a\0b", 3);
	CHECK(try_with(try, base, key, &v) == -1);
	v = ostrn("ab\0", 3);
	CHECK(try_with(try, base, key, &v) == -1);
	v = onil();
	CHECK(try_with(try, base, key, &v) == (required ? -1 : 0));
	v = ostr("");
	CHECK(try_with(try, base, key, &v) == (required ? -1 : 0));
	CHECK(try_without(try, base, key) == (required ? -1 : 0));
}

/* A string of exactly max is taken, one of max + 1 refused. */
static void
check_str_bound(int (*try)(const msgpack_object *),
    const msgpack_object *base, const char *key, size_t max)
{
	msgpack_object	 v;
	char		*buf;

	if ((buf = malloc(max + 1)) == NULL) {
		CHECK(buf != NULL);
		return;
	}
	memset(buf, 'x', max + 1);
	v = ostrn(buf, max);
	CHECK(try_with(try, base, key, &v) == 0);
	v = ostrn(buf, max + 1);
	CHECK(try_with(try, base, key, &v) == -1);
	free(buf);
}

/* Refused where a number goes. */
static void
check_bad_numbers(int (*try)(const msgpack_object *),
    const msgpack_object *base, const char *key)
{
	msgpack_object	 v;

	v = ostr("1");
	CHECK(try_with(try, base, key, &v) == -1);
	v = onil();
	CHECK(try_with(try, base, key, &v) == -1);
	v = ofloat(1.0);
	CHECK(try_with(try, base, key, &v) == -1);
	v = obool(1);
	CHECK(try_with(try, base, key, &v) == -1);
	v = oint(-1);
	CHECK(try_with(try, base, key, &v) == -1);
	v = ouint(0);
	CHECK(try_with(try, base, key, &v) == 0);
}

/* Lists of strings: bounds on count and items, item types. */
static void
check_bad_strlist(int (*try)(const msgpack_object *),
    const msgpack_object *base, const char *key)
{
	msgpack_object	*items, v;
	char		 long_str[CAT_STR_MAX + 1];
	size_t		 i;

	if ((items = calloc(CAT_LIST_MAX + 1, sizeof(*items))) == NULL) {
		CHECK(items != NULL);
		return;
	}
	for (i = 0; i <= CAT_LIST_MAX; i++)
		items[i] = ostr("t");
	v = oarr(items, CAT_LIST_MAX);
	CHECK(try_with(try, base, key, &v) == 0);
	v = oarr(items, CAT_LIST_MAX + 1);
	CHECK(try_with(try, base, key, &v) == -1);
	v = oarr(NULL, 0);
	CHECK(try_with(try, base, key, &v) == 0);
	v = onil();
	CHECK(try_with(try, base, key, &v) == 0);
	v = ostr("t");
	CHECK(try_with(try, base, key, &v) == -1);
	v = omap(NULL, 0);
	CHECK(try_with(try, base, key, &v) == -1);
	/* A bad item after good ones, so they must be freed. */
	memset(long_str, 'x', sizeof(long_str));
	items[3] = ostrn(long_str, sizeof(long_str));
	v = oarr(items, 5);
	CHECK(try_with(try, base, key, &v) == -1);
	items[3] = ostrn(long_str, CAT_STR_MAX);
	CHECK(try_with(try, base, key, &v) == 0);
	items[3] = onil();
	CHECK(try_with(try, base, key, &v) == -1);
	items[3] = obin("t");
	CHECK(try_with(try, base, key, &v) == -1);
	items[3] = ouint(3);
	CHECK(try_with(try, base, key, &v) == -1);
	items[3] = ostrn("t\0", 2);
	CHECK(try_with(try, base, key, &v) == -1);
	free(items);
}

/* String maps: bounds, types, duplicate keys. */
static void
check_bad_kvmap(int (*try)(const msgpack_object *),
    const msgpack_object *base, const char *key)
{
	msgpack_object_kv	*kv;
	msgpack_object		 v;
	char			(*names)[8];
	size_t			 i;

	kv = calloc(CAT_LIST_MAX + 1, sizeof(*kv));
	names = calloc(CAT_LIST_MAX + 1, sizeof(*names));
	if (kv == NULL || names == NULL) {
		CHECK(kv != NULL && names != NULL);
		free(kv);
		free(names);
		return;
	}
	for (i = 0; i <= CAT_LIST_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "k%zu", i);
		kv[i].key = ostr(names[i]);
		kv[i].val = ostr("v");
	}
	v = omap(kv, CAT_LIST_MAX);
	CHECK(try_with(try, base, key, &v) == 0);
	v = omap(kv, CAT_LIST_MAX + 1);
	CHECK(try_with(try, base, key, &v) == -1);
	v = onil();
	CHECK(try_with(try, base, key, &v) == 0);
	v = oarr(NULL, 0);
	CHECK(try_with(try, base, key, &v) == -1);
	v = ostr("k=v");
	CHECK(try_with(try, base, key, &v) == -1);

	v = omap(kv, 4);
	kv[3].key = ostr("k1");			/* a duplicate */
	CHECK(try_with(try, base, key, &v) == -1);
	kv[3].key = ostr("k10");
	CHECK(try_with(try, base, key, &v) == 0);
	kv[3].key = ostrn("k1\0x", 4);
	CHECK(try_with(try, base, key, &v) == -1);
	kv[3].key = obin("k3");
	CHECK(try_with(try, base, key, &v) == -1);
	kv[3].key = ouint(3);
	CHECK(try_with(try, base, key, &v) == -1);
	kv[3].key = onil();
	CHECK(try_with(try, base, key, &v) == -1);
	kv[3].key = ostr("k3");
	kv[3].val = onil();
	CHECK(try_with(try, base, key, &v) == -1);
	kv[3].val = obin("v");
	CHECK(try_with(try, base, key, &v) == -1);
	kv[3].val = ouint(1);
	CHECK(try_with(try, base, key, &v) == -1);
	kv[3].val = ostrn("v\0", 2);
	CHECK(try_with(try, base, key, &v) == -1);
	kv[3].val = ostr("");
	CHECK(try_with(try, base, key, &v) == 0);
	free(kv);
	free(names);
}

static void
test_not_a_map(void)
{
	static int (*const tries[])(const msgpack_object *) = {
		try_node, try_service, try_check, try_register,
		try_deregister,
	};
	msgpack_object	 items[1], v[6];
	size_t		 i, j;

	items[0] = ostr("node1");
	v[0] = onil();
	v[1] = ostr("node1");
	v[2] = oarr(items, 1);
	v[3] = ouint(1);
	v[4] = omap(NULL, 0);
	v[5] = obin("x");
	for (i = 0; i < nitems(tries); i++)
		for (j = 0; j < nitems(v); j++)
			CHECK(tries[i](&v[j]) == -1);
	CHECK(try_node(&onode) == 0);
	CHECK(try_service(&osvc) == 0);
	CHECK(try_check(&ochk) == 0);
	CHECK(try_register(&oreg) == 0);
	CHECK(try_deregister(&odereg) == 0);
}

static void
test_node_reject(void)
{
	check_bad_strings(try_node, &onode, "n", 1);
	check_bad_strings(try_node, &onode, "a", 1);
	check_bad_strings(try_node, &onode, "id", 0);
	check_bad_strings(try_node, &onode, "dc", 0);
	check_str_bound(try_node, &onode, "n", CAT_STR_MAX);
	check_str_bound(try_node, &onode, "a", CAT_STR_MAX);
	check_str_bound(try_node, &onode, "dc", CAT_STR_MAX);
	check_bad_kvmap(try_node, &onode, "m");
	check_bad_kvmap(try_node, &onode, "ta");
	check_bad_numbers(try_node, &onode, "ci");
	check_bad_numbers(try_node, &onode, "mi");
}

/* The value of a service's tagged addresses. */
static void
check_bad_taddr(void)
{
	msgpack_object_kv	 ta[2], a[3];
	msgpack_object		 v;

	a[0].key = ostr("a");
	a[0].val = ostr("10.0.0.1");
	a[1].key = ostr("p");
	a[1].val = ouint(8080);
	a[2].key = ostr("zz");			/* unknown: ignored */
	a[2].val = ofloat(1);
	ta[0].key = ostr("lan");
	ta[0].val = omap(a, 3);
	ta[1].key = ostr("wan");
	ta[1].val = omap(a, 2);
	v = omap(ta, 2);
	CHECK(try_with(try_service, &osvc, "ta", &v) == 0);
	ta[1].key = ostr("lan");
	CHECK(try_with(try_service, &osvc, "ta", &v) == -1);
	ta[1].key = ouint(1);
	CHECK(try_with(try_service, &osvc, "ta", &v) == -1);
	ta[1].key = ostr("wan");
	ta[1].val = ostr("10.0.0.1");
	CHECK(try_with(try_service, &osvc, "ta", &v) == -1);
	ta[1].val = onil();
	CHECK(try_with(try_service, &osvc, "ta", &v) == -1);
	ta[1].val = omap(a, 2);
	a[1].val = ouint(65536);
	CHECK(try_with(try_service, &osvc, "ta", &v) == -1);
	a[1].val = oint(-1);
	CHECK(try_with(try_service, &osvc, "ta", &v) == -1);
	a[1].val = ouint(1);
	a[0].val = obin("10.0.0.1");
	CHECK(try_with(try_service, &osvc, "ta", &v) == -1);
	a[0].val = ostrn("10.0\0", 5);
	CHECK(try_with(try_service, &osvc, "ta", &v) == -1);
	a[0].val = ouint(1);
	a[0].key = ostr("p");			/* "p" twice */
	CHECK(try_with(try_service, &osvc, "ta", &v) == -1);
	v = oarr(NULL, 0);
	CHECK(try_with(try_service, &osvc, "ta", &v) == -1);
}

static void
test_service_reject(void)
{
	msgpack_object	 v;

	check_bad_strings(try_service, &osvc, "n", 1);
	check_bad_strings(try_service, &osvc, "id", 1);
	check_bad_strings(try_service, &osvc, "s", 1);
	check_bad_strings(try_service, &osvc, "k", 0);
	check_bad_strings(try_service, &osvc, "a", 0);
	check_str_bound(try_service, &osvc, "id", CAT_STR_MAX);
	check_str_bound(try_service, &osvc, "s", CAT_STR_MAX);
	check_bad_strlist(try_service, &osvc, "t");
	check_bad_kvmap(try_service, &osvc, "m");
	check_bad_taddr();
	check_bad_numbers(try_service, &osvc, "p");
	check_bad_numbers(try_service, &osvc, "ci");
	check_bad_numbers(try_service, &osvc, "wp");
	check_bad_numbers(try_service, &osvc, "ww");
	v = ouint(65535);
	CHECK(try_with(try_service, &osvc, "p", &v) == 0);
	v = ouint(65536);
	CHECK(try_with(try_service, &osvc, "p", &v) == -1);
	v = ouint(70000);
	CHECK(try_with(try_service, &osvc, "p", &v) == -1);
	v = ouint(UINT64_MAX);
	CHECK(try_with(try_service, &osvc, "p", &v) == -1);
	v = ouint((uint64_t)1 << 31);
	CHECK(try_with(try_service, &osvc, "wp", &v) == 0);
	v = ouint(((uint64_t)1 << 31) + 1);
	CHECK(try_with(try_service, &osvc, "wp", &v) == -1);
	CHECK(try_with(try_service, &osvc, "ww", &v) == -1);
	v = ouint(UINT64_MAX);
	CHECK(try_with(try_service, &osvc, "ww", &v) == -1);
	v = oint(INT64_MIN);
	CHECK(try_with(try_service, &osvc, "wp", &v) == -1);
	v = ouint(1);
	CHECK(try_with(try_service, &osvc, "eto", &v) == -1);
	v = onil();
	CHECK(try_with(try_service, &osvc, "eto", &v) == -1);
	v = obool(1);
	CHECK(try_with(try_service, &osvc, "eto", &v) == 0);
}

static void
test_check_reject(void)
{
	static const char *const bad_status[] = {
		"", "Passing", "PASSING", "ok", "maintenance", "passing ",
		"critica", "warningx",
	};
	msgpack_object	 v;
	size_t		 i;

	check_bad_strings(try_check, &ochk, "n", 1);
	check_bad_strings(try_check, &ochk, "id", 1);
	check_bad_strings(try_check, &ochk, "nm", 1);
	check_bad_strings(try_check, &ochk, "s", 1);
	check_bad_strings(try_check, &ochk, "no", 0);
	check_bad_strings(try_check, &ochk, "o", 0);
	check_bad_strings(try_check, &ochk, "si", 0);
	check_bad_strings(try_check, &ochk, "sn", 0);
	check_bad_strings(try_check, &ochk, "t", 0);
	check_bad_strings(try_check, &ochk, "iv", 0);
	check_bad_strings(try_check, &ochk, "to", 0);
	check_bad_strings(try_check, &ochk, "h", 0);
	check_bad_strings(try_check, &ochk, "tcp", 0);
	check_str_bound(try_check, &ochk, "id", CAT_STR_MAX);
	check_str_bound(try_check, &ochk, "h", CAT_STR_MAX);
	check_str_bound(try_check, &ochk, "no", CAT_NOTES_MAX);
	check_str_bound(try_check, &ochk, "o", CAT_OUTPUT_MAX);
	check_bad_strlist(try_check, &ochk, "stg");
	check_bad_numbers(try_check, &ochk, "mi");
	for (i = 0; i < nitems(bad_status); i++) {
		v = ostr(bad_status[i]);
		CHECK(try_with(try_check, &ochk, "s", &v) == -1);
	}
	v = ostr("critical");
	CHECK(try_with(try_check, &ochk, "s", &v) == 0);
	v = ostr("warning");
	CHECK(try_with(try_check, &ochk, "s", &v) == 0);
}

static void
test_register_reject(void)
{
	msgpack_object_kv	 nkv[MAXKV], skv[MAXKV], ckv[MAXKV];
	msgpack_object		*checks, v, other, bad;
	size_t			 i;

	/* The node, service and checks are each checked. */
	v = omap(node_kv, 1);			/* no address */
	CHECK(try_with(try_register, &oreg, "node", &v) == -1);
	CHECK(try_without(try_register, &oreg, "node") == -1);
	v = onil();
	CHECK(try_with(try_register, &oreg, "node", &v) == -1);
	v = ostr("node1");
	CHECK(try_with(try_register, &oreg, "node", &v) == -1);
	v = ouint(1);
	CHECK(try_with(try_register, &oreg, "skip", &v) == -1);
	v = onil();
	CHECK(try_with(try_register, &oreg, "skip", &v) == -1);
	CHECK(try_without(try_register, &oreg, "skip") == 0);
	v = onil();
	CHECK(try_with(try_register, &oreg, "svc", &v) == 0);
	CHECK(try_without(try_register, &oreg, "svc") == 0);
	v = ostr("web");
	CHECK(try_with(try_register, &oreg, "svc", &v) == -1);
	v = oarr(NULL, 0);
	CHECK(try_with(try_register, &oreg, "svc", &v) == -1);
	other = ouint(70000);
	v = edit(&reg_kv[2].val, skv, "p", &other);
	CHECK(try_with(try_register, &oreg, "svc", &v) == -1);
	v = onil();
	CHECK(try_with(try_register, &oreg, "checks", &v) == 0);
	CHECK(try_without(try_register, &oreg, "checks") == 0);
	v = reg_checks[0];
	CHECK(try_with(try_register, &oreg, "checks", &v) == -1);

	/* Another node's service or check. */
	other = ostr("node2");
	v = edit(&reg_kv[2].val, skv, "n", &other);
	CHECK(try_with(try_register, &oreg, "svc", &v) == -1);
	other = ostr("node1 ");
	v = edit(&reg_kv[2].val, skv, "n", &other);
	CHECK(try_with(try_register, &oreg, "svc", &v) == -1);
	other = ostr("Node1");
	v = edit(&reg_checks[0], ckv, "n", &other);
	bad = oarr(&v, 1);
	CHECK(try_with(try_register, &oreg, "checks", &bad) == -1);
	other = ostr("node2");
	v = edit(&reg_kv[0].val, nkv, "n", &other);
	CHECK(try_with(try_register, &oreg, "node", &v) == -1);

	/* Up to CAT_LIST_MAX checks; a bad one last frees the rest. */
	if ((checks = calloc(CAT_LIST_MAX + 1, sizeof(*checks))) == NULL) {
		CHECK(checks != NULL);
		return;
	}
	for (i = 0; i <= CAT_LIST_MAX; i++)
		checks[i] = reg_checks[0];
	v = oarr(checks, CAT_LIST_MAX);
	CHECK(try_with(try_register, &oreg, "checks", &v) == 0);
	v = oarr(checks, CAT_LIST_MAX + 1);
	CHECK(try_with(try_register, &oreg, "checks", &v) == -1);
	other = ostr("failing");
	checks[9] = edit(&reg_checks[0], ckv, "s", &other);
	v = oarr(checks, 10);
	CHECK(try_with(try_register, &oreg, "checks", &v) == -1);
	checks[9] = ostr("check");
	CHECK(try_with(try_register, &oreg, "checks", &v) == -1);
	free(checks);
}

static void
test_deregister_reject(void)
{
	msgpack_object	 v;

	check_bad_strings(try_deregister, &odereg, "node", 1);
	check_str_bound(try_deregister, &odereg, "node", CAT_STR_MAX);
	check_str_bound(try_deregister, &odereg, "sid", CAT_STR_MAX);
	v = ostr("serfHealth");
	CHECK(try_with(try_deregister, &odereg, "cid", &v) == -1);
	CHECK(try_with(try_deregister, &odereg, "sid", &v) == 0);
	v = onil();
	CHECK(try_with(try_deregister, &odereg, "sid", &v) == 0);
	v = ostr("");
	CHECK(try_with(try_deregister, &odereg, "sid", &v) == -1);
	CHECK(try_with(try_deregister, &odereg, "cid", &v) == -1);
	v = obin("web-1");
	CHECK(try_with(try_deregister, &odereg, "sid", &v) == -1);
	v = ostrn("web\0-1", 6);
	CHECK(try_with(try_deregister, &odereg, "sid", &v) == -1);
	v = ouint(1);
	CHECK(try_with(try_deregister, &odereg, "cid", &v) == -1);
}

/* Unknown keys are skipped; known ones given twice are not. */
static void
test_unknown_and_duplicate_keys(void)
{
	msgpack_object_kv	 kv[MAXKV], extra[2];
	msgpack_object		 v, o;
	struct cat_service	 s;

	extra[0].key = ostr("x");
	extra[0].val = ofloat(2.5);
	extra[1].key = ouint(7);		/* not even a string */
	extra[1].val = onil();
	v = omap(extra, 2);
	CHECK(try_with(try_node, &onode, "future", &v) == 0);
	CHECK(try_with(try_service, &osvc, "future", &v) == 0);
	CHECK(try_with(try_check, &ochk, "future", &v) == 0);
	CHECK(try_with(try_register, &oreg, "future", &v) == 0);
	CHECK(try_with(try_deregister, &odereg, "future", &v) == 0);
	CHECK(try_with(try_node, &onode, "N", &v) == 0);

	/* Defaults when absent. */
	if (cat_service_unpack(&osvc, &s) == 0) {
		CHECK(s.weight_passing == 1 && s.weight_warning == 1);
		CHECK(s.port == 0 && s.enable_tag_override == 0);
		CHECK(s.ntags == 2);
		CHECK_STR(s.tags[1], "v1");
		cat_service_free(&s);
	} else
		CHECK(!"service unpacks");

	/* "n" twice, same value or not. */
	o = edit(&onode, kv, "zz", &node_kv[0].val);
	kv[o.via.map.size - 1].key = ostr("n");
	CHECK(try_node(&o) == -1);
	o = edit(&osvc, kv, "zz", &svc_kv[3].val);
	kv[o.via.map.size - 1].key = ostr("t");
	CHECK(try_service(&o) == -1);
	o = edit(&oreg, kv, "zz", &reg_kv[3].val);
	kv[o.via.map.size - 1].key = ostr("checks");
	CHECK(try_register(&o) == -1);
	o = edit(&odereg, kv, "zz", &dereg_kv[0].val);
	kv[o.via.map.size - 1].key = ostr("node");
	CHECK(try_deregister(&o) == -1);
}

/* Bytes off the wire: mpack_parse() before any unpack. */
static void
test_wire(void)
{
	static const unsigned char garbage[][8] = {
		{ 0xc1 },				/* never used */
		{ 0x81, 0xa1, 0x6e },			/* value missing */
		{ 0xdf, 0xff, 0xff, 0xff, 0xff },	/* huge map */
		{ 0xdb, 0x00, 0x00, 0x10, 0x00, 'x' },	/* long str */
		{ 0x82, 0xa1, 0x6e, 0xa1, 0x6e, 0x80 },	/* short map */
	};
	static const size_t garbage_len[] = { 1, 3, 5, 6, 6 };
	struct mpack_out	 out;
	msgpack_unpacked	 u;
	struct cat_register	 r;
	struct cat_check	 checks[3];
	size_t			 i, cut;
	int			 parsed;

	for (i = 0; i < nitems(garbage); i++)
		CHECK(mpack_parse(&u, garbage[i], garbage_len[i]) == -1);

	memset(&r, 0, sizeof(r));
	r.node = full_node;
	r.service = &full_service;
	for (i = 0; i < nitems(checks); i++)
		checks[i] = full_check;
	r.checks = checks;
	r.nchecks = nitems(checks);
	mpack_out_init(&out);
	cat_register_pack(&out.pk, &r);
	/* Every truncation is refused by the parser. */
	for (cut = 0; cut < out.sbuf.size; cut++) {
		parsed = mpack_parse(&u, out.sbuf.data, cut) == 0;
		CHECK(!parsed);
		if (parsed)
			msgpack_unpacked_destroy(&u);
	}
	/* As is a byte too many. */
	msgpack_pack_nil(&out.pk);
	CHECK(mpack_parse(&u, out.sbuf.data, out.sbuf.size) == -1);
	/* Whole, it is a registration and nothing else. */
	CHECK(mpack_parse(&u, out.sbuf.data, out.sbuf.size - 1) == 0);
	CHECK(try_register(&u.data) == 0);
	CHECK(try_node(&u.data) == -1);
	CHECK(try_service(&u.data) == -1);
	CHECK(try_check(&u.data) == -1);
	CHECK(try_deregister(&u.data) == -1);
	msgpack_unpacked_destroy(&u);
	mpack_out_free(&out);
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_status_valid),
		TEST_CASE(test_node_roundtrip),
		TEST_CASE(test_service_roundtrip),
		TEST_CASE(test_check_roundtrip),
		TEST_CASE(test_register_roundtrip),
		TEST_CASE(test_deregister_roundtrip),
		TEST_CASE(test_pquery_token),
		TEST_CASE(test_free_zeroed),
		TEST_CASE(test_not_a_map),
		TEST_CASE(test_node_reject),
		TEST_CASE(test_service_reject),
		TEST_CASE(test_check_reject),
		TEST_CASE(test_register_reject),
		TEST_CASE(test_deregister_reject),
		TEST_CASE(test_unknown_and_duplicate_keys),
		TEST_CASE(test_wire),
	};

	build_objects();
	return test_main(cases, nitems(cases));
}
