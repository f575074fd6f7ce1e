/*
 * raftd's catalog tables on a real Berkeley DB environment in a
 * temporary directory: registration and every walk, Consul's index rules
 * (nothing moves when nothing changed), refusals that change nothing,
 * SkipNodeUpdate, renames, deregistration, key order, a snapshot round
 * trip and the store's errors.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#include "../../raftd/store.c"
#include "../../raftd/kv_state.c"
#include "../../raftd/catalog_table.c"
#include "../../raftd/catalog_state.c"
#include "../../raftd/session_state.c"
#include "../../raftd/query_state.c"
#include "../../raftd/raft.c"

#define S(x)		((char *)(x))
#define LONG_NAME	100

#include "store_fixture.h"

/* What the walks saw, as text. */
struct text {
	char	 buf[2048];
	size_t	 len;
	int	 stop_after;	/* > 0: the callback stops after so many */
	int	 calls;
};

static void	text_add(struct text *, const char *, ...)
		    __attribute__((__format__(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(t->buf) - t->len)
		t->len += n;
}

static int
text_stop(struct text *t)
{
	t->calls++;
	return t->stop_after > 0 && t->calls >= t->stop_after ? -1 : 0;
}

static int
node_cb_text(void *arg, const struct cat_node *n)
{
	text_add(arg, "%s,", n->node);
	return text_stop(arg);
}

static int
svc_cb_text(void *arg, const struct cat_service *svc)
{
	text_add(arg, "%s/%s/%s,", svc->service, svc->node, svc->id);
	return text_stop(arg);
}

static int
check_cb_text(void *arg, const struct cat_check *c)
{
	text_add(arg, "%s/%s,", c->node, c->check_id);
	return text_stop(arg);
}

/* A check in full: node/id/status/service id/service name/tags. */
static int
check_cb_full(void *arg, const struct cat_check *c)
{
	size_t	 i;

	text_add(arg, "%s/%s/%s/%s/%s/", c->node, c->check_id, c->status,
	    c->service_id ? c->service_id : "-",
	    c->service_name ? c->service_name : "-");
	for (i = 0; i < c->nservice_tags; i++)
		text_add(arg, "%s%s", i ? "+" : "", c->service_tags[i]);
	text_add(arg, "@%llu:%llu,", (unsigned long long)c->create_index,
	    (unsigned long long)c->modify_index);
	return 0;
}

static const char *
nodes(struct store *s)
{
	static struct text	 t;

	memset(&t, 0, sizeof(t));
	CHECK(cat_state_nodes(s, node_cb_text, &t) == 0);
	return t.buf;
}

static const char *
services(struct store *s)
{
	static struct text	 t;

	memset(&t, 0, sizeof(t));
	CHECK(cat_state_services(s, svc_cb_text, &t) == 0);
	return t.buf;
}

static const char *
instances(struct store *s, const char *name)
{
	static struct text	 t;

	memset(&t, 0, sizeof(t));
	CHECK(cat_state_service_instances(s, name, svc_cb_text, &t) == 0);
	return t.buf;
}

static const char *
node_services(struct store *s, const char *node)
{
	static struct text	 t;

	memset(&t, 0, sizeof(t));
	CHECK(cat_state_node_services(s, node, svc_cb_text, &t) == 0);
	return t.buf;
}

static const char *
node_checks(struct store *s, const char *node)
{
	static struct text	 t;

	memset(&t, 0, sizeof(t));
	CHECK(cat_state_node_checks(s, node, check_cb_full, &t) == 0);
	return t.buf;
}

static const char *
service_checks(struct store *s, const char *name)
{
	static struct text	 t;

	memset(&t, 0, sizeof(t));
	CHECK(cat_state_service_checks(s, name, check_cb_text, &t) == 0);
	return t.buf;
}

static const char *
checks(struct store *s)
{
	static struct text	 t;

	memset(&t, 0, sizeof(t));
	CHECK(cat_state_checks(s, check_cb_text, &t) == 0);
	return t.buf;
}

static uint64_t
idx(struct store *s, const char *table)
{
	return cat_state_index(s, table);
}

/* Every record and table index, packed: equal digests, equal state. */
static int
dig_node(void *arg, const struct cat_node *n)
{
	cat_node_pack(&((struct mpack_out *)arg)->pk, n);
	return 0;
}

static int
dig_service(void *arg, const struct cat_service *svc)
{
	cat_service_pack(&((struct mpack_out *)arg)->pk, svc);
	return 0;
}

static int
dig_check(void *arg, const struct cat_check *c)
{
	cat_check_pack(&((struct mpack_out *)arg)->pk, c);
	return 0;
}

static void
digest(struct store *s, struct mpack_out *out)
{
	DBC	*c;
	DBT	 k, v;

	mpack_out_init(out);
	CHECK(cat_state_nodes(s, dig_node, out) == 0);
	CHECK(cat_state_services(s, dig_service, out) == 0);
	CHECK(cat_state_checks(s, dig_check, out) == 0);
	CHECK(s->tables->cursor(s->tables, NULL, &c, 0) == 0);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.flags = v.flags = DB_DBT_REALLOC;
	while (c->get(c, &k, &v, DB_NEXT) == 0) {
		mpack_bin(&out->pk, k.data, k.size);
		mpack_bin(&out->pk, v.data, v.size);
	}
	free(k.data);
	free(v.data);
	c->close(c);
}

static int
same_state(struct mpack_out *a, struct mpack_out *b)
{
	return a->sbuf.size == b->sbuf.size &&
	    memcmp(a->sbuf.data, b->sbuf.data, a->sbuf.size) == 0;
}

static void
no_change_cb(void *arg, const char *k, size_t len)
{
	(*(int *)arg)++;
}

static struct cat_node
mknode(const char *name, const char *addr)
{
	struct cat_node	 n;

	memset(&n, 0, sizeof(n));
	n.node = S(name);
	n.address = S(addr);
	return n;
}

static struct cat_service
mksvc(const char *id, const char *name, uint64_t port)
{
	struct cat_service	 svc;

	memset(&svc, 0, sizeof(svc));
	svc.id = S(id);
	svc.service = S(name);
	svc.port = port;
	svc.weight_passing = svc.weight_warning = 1;
	return svc;
}

static struct cat_check
mkcheck(const char *cid, const char *sid, const char *status)
{
	struct cat_check	 c;

	memset(&c, 0, sizeof(c));
	c.check_id = S(cid);
	c.name = S(cid);
	c.service_id = S(sid);
	c.status = S(status);
	return c;
}

static struct cat_register
mkreg(const char *node, const char *addr, struct cat_service *svc,
    struct cat_check *c, size_t nc)
{
	struct cat_register	 r;

	memset(&r, 0, sizeof(r));
	r.node = mknode(node, addr);
	r.service = svc;
	r.checks = c;
	r.nchecks = nc;
	return r;
}

/* Apply one registration in its own committed transaction. */
static int
reg(struct store *s, uint64_t index, const struct cat_register *r,
    char *err)
{
	DB_TXN	*txn = store_begin(s);
	int	 rc;

	rc = cat_state_register(s, txn, index, r, err, CAT_ERR_MAX);
	if (rc == -1)
		store_abort(txn);
	else
		CHECK(store_commit(s, txn, 0) == 0);
	return rc;
}

static int
dereg(struct store *s, uint64_t index, const char *node, const char *sid,
    const char *cid)
{
	struct cat_deregister	 d;
	DB_TXN			*txn = store_begin(s);
	char			 err[CAT_ERR_MAX];
	int			 rc;

	d.node = S(node);
	d.service_id = S(sid);
	d.check_id = S(cid);
	rc = cat_state_deregister(s, txn, index, &d, err, sizeof(err));
	if (rc == -1)
		store_abort(txn);
	else
		CHECK(store_commit(s, txn, 0) == 0);
	return rc;
}

static void
test_register_and_read(void)
{
	struct store		 s;
	struct cat_service	 svc = mksvc("web1", "web", 80);
	struct cat_check	 c[2];
	struct cat_register	 r;
	struct cat_node		 n;
	char			*tags[] = { S("primary"), S("v1") };
	char			 err[CAT_ERR_MAX];

	fresh(&s);
	svc.tags = tags;
	svc.ntags = 2;
	c[0] = mkcheck("serfHealth", NULL, CAT_PASSING);
	c[1] = mkcheck("web-check", "web1", NULL);
	r = mkreg("n1", "10.0.0.1", &svc, c, 2);
	r.node.datacenter = S("dc1");
	CHECK(reg(&s, 10, &r, err) == 0);
	CHECK_STR(err, "");

	CHECK(cat_state_node(&s, "n1", &n) == 0);
	CHECK_STR(n.address, "10.0.0.1");
	CHECK_STR(n.datacenter, "dc1");
	CHECK(n.create_index == 10 && n.modify_index == 10);
	cat_node_free(&n);
	CHECK(cat_state_node(&s, "n2", &n) == 1);

	CHECK_STR(nodes(&s), "n1,");
	CHECK_STR(node_services(&s, "n1"), "web/n1/web1,");
	CHECK_STR(node_services(&s, "n2"), "");
	/* The service check took the name and tags; no status: critical. */
	CHECK_STR(node_checks(&s, "n1"),
	    "n1/serfHealth/passing/-/-/@10:10,"
	    "n1/web-check/critical/web1/web/primary+v1@10:10,");
	CHECK_STR(services(&s), "web/n1/web1,");
	CHECK_STR(instances(&s, "web"), "web/n1/web1,");
	CHECK_STR(instances(&s, "we"), "");
	CHECK_STR(service_checks(&s, "web"), "n1/web-check,");
	CHECK_STR(checks(&s), "n1/serfHealth,n1/web-check,");

	CHECK(idx(&s, "nodes") == 10 && idx(&s, "services") == 10 &&
	    idx(&s, "checks") == 10);
	CHECK(cat_state_service_index(&s, "web") == 10);
	CHECK(cat_state_service_index(&s, "nope") == 10);

	/* A later check of the stored service takes its name and tags. */
	c[0] = mkcheck("later", "web1", CAT_WARNING);
	r = mkreg("n1", "10.0.0.1", NULL, c, 1);
	r.node.datacenter = S("dc1");
	CHECK(reg(&s, 11, &r, err) == 0);
	CHECK_STR(node_checks(&s, "n1"),
	    "n1/later/warning/web1/web/primary+v1@11:11,"
	    "n1/serfHealth/passing/-/-/@10:10,"
	    "n1/web-check/critical/web1/web/primary+v1@10:10,");
	CHECK_STR(service_checks(&s, "web"), "n1/later,n1/web-check,");
	CHECK(idx(&s, "nodes") == 10 && idx(&s, "services") == 10 &&
	    idx(&s, "checks") == 11);
	CHECK(cat_state_service_index(&s, "web") == 11);
	done(&s);
}

static void
test_update_indexes(void)
{
	struct store		 s;
	struct cat_service	 svc = mksvc("web1", "web", 80);
	struct cat_check	 c[2];
	struct cat_register	 r;
	struct cat_node		 n;
	struct mpack_out	 d1, d2;
	char			 err[CAT_ERR_MAX];

	fresh(&s);
	c[0] = mkcheck("serfHealth", NULL, CAT_PASSING);
	c[1] = mkcheck("web-check", "web1", CAT_PASSING);
	r = mkreg("n1", "10.0.0.1", &svc, c, 2);
	CHECK(reg(&s, 10, &r, err) == 0);

	/* The same registration again changes nothing at all. */
	digest(&s, &d1);
	CHECK(reg(&s, 11, &r, err) == 0);
	digest(&s, &d2);
	CHECK(same_state(&d1, &d2));
	mpack_out_free(&d1);
	mpack_out_free(&d2);

	/* The service changes: its record, "services" and its name. */
	svc.port = 8080;
	CHECK(reg(&s, 12, &r, err) == 0);
	CHECK_STR(node_checks(&s, "n1"),
	    "n1/serfHealth/passing/-/-/@10:10,"
	    "n1/web-check/passing/web1/web/@10:10,");
	CHECK(idx(&s, "nodes") == 10 && idx(&s, "services") == 12 &&
	    idx(&s, "checks") == 10);
	CHECK(cat_state_service_index(&s, "web") == 12);

	/* The node changes: "nodes" and the names of its services. */
	r.node.address = S("10.0.0.2");
	CHECK(reg(&s, 13, &r, err) == 0);
	CHECK(cat_state_node(&s, "n1", &n) == 0);
	CHECK(n.create_index == 10 && n.modify_index == 13);
	cat_node_free(&n);
	CHECK(idx(&s, "nodes") == 13 && idx(&s, "services") == 12 &&
	    idx(&s, "checks") == 10);
	CHECK(cat_state_service_index(&s, "web") == 13);

	/* A check changes: "checks" and its service's name. */
	c[1].status = S(CAT_WARNING);
	CHECK(reg(&s, 14, &r, err) == 0);
	CHECK_STR(node_checks(&s, "n1"),
	    "n1/serfHealth/passing/-/-/@10:10,"
	    "n1/web-check/warning/web1/web/@10:14,");
	CHECK(idx(&s, "nodes") == 13 && idx(&s, "services") == 12 &&
	    idx(&s, "checks") == 14);
	CHECK(cat_state_service_index(&s, "web") == 14);

	/* A node check shows in every service of the node. */
	c[0].output = S("agent alive");
	CHECK(reg(&s, 15, &r, err) == 0);
	CHECK(idx(&s, "checks") == 15);
	CHECK(cat_state_service_index(&s, "web") == 15);
	CHECK(idx(&s, "services") == 12 && idx(&s, "nodes") == 13);
	done(&s);
}

static void
test_refusals(void)
{
	struct store		 s;
	struct cat_service	 svc = mksvc("web1", "web", 80), bad;
	struct cat_check	 c[2];
	struct cat_register	 r;
	struct mpack_out	 d1, d2;
	char			 err[CAT_ERR_MAX];

	fresh(&s);
	r = mkreg("n1", "10.0.0.1", &svc, NULL, 0);
	CHECK(reg(&s, 10, &r, err) == 0);
	digest(&s, &d1);

	/* A change to the node and a good check come with a bad one. */
	r.node.address = S("10.9.9.9");
	r.service = NULL;
	c[0] = mkcheck("ok", "web1", CAT_PASSING);
	c[1] = mkcheck("c1", "nosuch", CAT_PASSING);
	r.checks = c;
	r.nchecks = 2;
	CHECK(reg(&s, 11, &r, err) == 1);
	CHECK_STR(err, "Unknown service ID \"nosuch\" for check ID \"c1\"");

	/* A service of another node does not count. */
	c[1] = mkcheck("c1", "web1", CAT_PASSING);
	r.node = mknode("n2", "10.0.0.2");
	r.nchecks = 2;
	CHECK(reg(&s, 12, &r, err) == 1);
	CHECK_STR(err, "Unknown service ID \"web1\" for check ID \"ok\"");

	r = mkreg("n1", "", NULL, NULL, 0);
	CHECK(reg(&s, 13, &r, err) == 1);
	CHECK_STR(err, "Must provide address if SkipNodeUpdate is not set");
	r = mkreg("", "10.0.0.1", NULL, NULL, 0);
	CHECK(reg(&s, 13, &r, err) == 1);
	CHECK_STR(err, "Must provide node");
	bad = mksvc("", "web", 80);
	r = mkreg("n1", "10.0.0.1", &bad, NULL, 0);
	CHECK(reg(&s, 13, &r, err) == 1);
	CHECK_STR(err, "Must provide service ID");
	c[0] = mkcheck("c2", NULL, "sleepy");
	r = mkreg("n1", "10.0.0.1", NULL, c, 1);
	CHECK(reg(&s, 13, &r, err) == 1);
	CHECK_STR(err, "Invalid check status \"sleepy\"");
	c[0] = mkcheck("c2", NULL, NULL);
	c[0].node = S("n2");
	CHECK(reg(&s, 13, &r, err) == 1);
	CHECK_STR(err, "check node \"n2\" does not match node \"n1\"");

	digest(&s, &d2);
	CHECK(same_state(&d1, &d2));
	mpack_out_free(&d1);
	mpack_out_free(&d2);
	CHECK(idx(&s, "nodes") == 10 && idx(&s, "checks") == 0);
	done(&s);
}

static void
test_skip_node_update(void)
{
	struct store		 s;
	struct cat_service	 svc = mksvc("db1", "db", 5432);
	struct cat_register	 r;
	struct cat_node		 n;
	char			 err[CAT_ERR_MAX];

	fresh(&s);
	r = mkreg("n1", "10.0.0.1", NULL, NULL, 0);
	CHECK(reg(&s, 10, &r, err) == 0);
	r = mkreg("n1", "10.7.7.7", &svc, NULL, 0);
	r.skip_node_update = 1;
	CHECK(reg(&s, 11, &r, err) == 0);
	CHECK(cat_state_node(&s, "n1", &n) == 0);
	CHECK_STR(n.address, "10.0.0.1");
	CHECK(n.modify_index == 10);
	cat_node_free(&n);
	CHECK(idx(&s, "nodes") == 10 && idx(&s, "services") == 11);
	CHECK_STR(node_services(&s, "n1"), "db/n1/db1,");

	/* An existing node needs no address then; a new one does. */
	r.node.address = NULL;
	CHECK(reg(&s, 12, &r, err) == 0);
	r.node.node = S("n2");
	CHECK(reg(&s, 13, &r, err) == 1);
	CHECK_STR(err, "Must provide address");
	r.node.address = S("10.0.0.2");
	CHECK(reg(&s, 14, &r, err) == 0);
	CHECK(cat_state_node(&s, "n2", &n) == 0);
	CHECK_STR(n.address, "10.0.0.2");
	cat_node_free(&n);
	CHECK(idx(&s, "nodes") == 14);
	done(&s);
}

static void
test_rename(void)
{
	struct store		 s;
	struct cat_service	 s1 = mksvc("s1", "web", 80);
	struct cat_service	 s2 = mksvc("s2", "web", 80);
	struct cat_check	 c = mkcheck("c1", "s1", CAT_PASSING);
	struct cat_register	 r;
	char			 err[CAT_ERR_MAX];

	fresh(&s);
	r = mkreg("n1", "10.0.0.1", &s1, &c, 1);
	CHECK(reg(&s, 10, &r, err) == 0);
	r = mkreg("n2", "10.0.0.2", &s2, NULL, 0);
	CHECK(reg(&s, 10, &r, err) == 0);
	CHECK_STR(instances(&s, "web"), "web/n1/s1,web/n2/s2,");

	/* Only the service: its check keeps the name it was given. */
	s1.service = S("api");
	r = mkreg("n1", "10.0.0.1", &s1, NULL, 0);
	CHECK(reg(&s, 11, &r, err) == 0);
	CHECK_STR(instances(&s, "web"), "web/n2/s2,");
	CHECK_STR(instances(&s, "api"), "api/n1/s1,");
	CHECK_STR(services(&s), "api/n1/s1,web/n2/s2,");
	CHECK_STR(service_checks(&s, "api"), "n1/c1,");
	CHECK_STR(service_checks(&s, "web"), "");
	CHECK(cat_state_service_index(&s, "web") == 11);
	CHECK(cat_state_service_index(&s, "api") == 11);

	/* The last "web" goes: its index stays, moved. */
	s2.service = S("api");
	r = mkreg("n2", "10.0.0.2", &s2, NULL, 0);
	CHECK(reg(&s, 12, &r, err) == 0);
	CHECK_STR(instances(&s, "web"), "");
	CHECK_STR(services(&s), "api/n1/s1,api/n2/s2,");
	CHECK(cat_state_service_index(&s, "web") == 12);
	CHECK(idx(&s, "services") == 12);
	done(&s);
}

static void
test_deregister(void)
{
	struct store		 s;
	struct cat_service	 a = mksvc("a", "web", 1);
	struct cat_service	 b = mksvc("b", "web", 2);
	struct cat_service	 sc = mksvc("c", "db", 3);
	struct cat_service	 sd = mksvc("d", "web", 4);
	struct cat_check	 c[3];
	struct cat_register	 r;
	char			 err[CAT_ERR_MAX];

	fresh(&s);
	r = mkreg("n1", "10.0.0.1", &a, NULL, 0);
	CHECK(reg(&s, 10, &r, err) == 0);
	r.service = &sc;
	CHECK(reg(&s, 10, &r, err) == 0);
	c[0] = mkcheck("node", NULL, CAT_PASSING);
	c[1] = mkcheck("ca", "a", CAT_PASSING);
	c[2] = mkcheck("cb", "b", CAT_PASSING);
	r.service = &b;
	r.checks = c;
	r.nchecks = 3;
	CHECK(reg(&s, 10, &r, err) == 0);
	r = mkreg("n2", "10.0.0.2", &sd, NULL, 0);
	CHECK(reg(&s, 10, &r, err) == 0);

	CHECK(dereg(&s, 20, "n1", NULL, "cb") == 0);
	CHECK_STR(checks(&s), "n1/ca,n1/node,");
	CHECK(idx(&s, "checks") == 20);
	CHECK(cat_state_service_index(&s, "web") == 20);
	CHECK(cat_state_service_index(&s, "db") == 10);
	CHECK(idx(&s, "services") == 10 && idx(&s, "nodes") == 10);

	/* What is not there: no error, no index moves. */
	CHECK(dereg(&s, 21, "n1", NULL, "cb") == 0);
	CHECK(dereg(&s, 21, "n1", "zz", NULL) == 0);
	CHECK(dereg(&s, 21, "n9", NULL, NULL) == 0);
	CHECK(idx(&s, "checks") == 20 && idx(&s, "services") == 10 &&
	    idx(&s, "nodes") == 10);
	CHECK(cat_state_service_index(&s, "web") == 20);

	/* A service goes with its checks, not the node's. */
	CHECK(dereg(&s, 22, "n1", "a", NULL) == 0);
	CHECK_STR(node_services(&s, "n1"), "web/n1/b,db/n1/c,");
	CHECK_STR(checks(&s), "n1/node,");
	CHECK(idx(&s, "checks") == 22 && idx(&s, "services") == 22);
	CHECK(cat_state_service_index(&s, "web") == 22);
	CHECK_STR(instances(&s, "web"), "web/n1/b,web/n2/d,");

	/* A service without checks leaves "checks" alone. */
	CHECK(dereg(&s, 23, "n1", "b", NULL) == 0);
	CHECK(idx(&s, "checks") == 22 && idx(&s, "services") == 23);

	/* The node goes with everything on it. */
	CHECK(dereg(&s, 24, "n1", NULL, NULL) == 0);
	CHECK_STR(nodes(&s), "n2,");
	CHECK_STR(checks(&s), "");
	CHECK_STR(services(&s), "web/n2/d,");
	CHECK(idx(&s, "nodes") == 24 && idx(&s, "services") == 24 &&
	    idx(&s, "checks") == 24);
	/* "db" lost its last instance: its index stays, moved. */
	CHECK(cat_state_service_index(&s, "db") == 24);
	CHECK(cat_state_service_index(&s, "web") == 23);
	CHECK(dereg(&s, 25, "n1", NULL, NULL) == 0);
	CHECK(idx(&s, "nodes") == 24);

	CHECK(dereg(&s, 26, "n2", "d", NULL) == 0);
	CHECK_STR(instances(&s, "web"), "");
	CHECK(cat_state_service_index(&s, "web") == 26);
	CHECK(idx(&s, "services") == 26 && idx(&s, "nodes") == 24);
	done(&s);
}

static void
test_walk_order(void)
{
	struct store		 s;
	struct cat_register	 r;
	struct cat_service	 svc;
	struct cat_check	 c[2];
	struct text		 t;
	const char		*svcs[][3] = {
		{ "b", "c", "api" }, { "a", "z", "web" },
		{ "ab", "k", "web" }, { "a-1", "q", "web" },
		{ "a", "m", "db" }, { "a-1", "p", "web" },
		{ "b", "w", "web2" },
	};
	char			 err[CAT_ERR_MAX];
	size_t			 i;

	fresh(&s);
	for (i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		svc = mksvc(svcs[i][1], svcs[i][2], 80);
		r = mkreg(svcs[i][0], "10.0.0.1", &svc, NULL, 0);
		CHECK(reg(&s, 10 + i, &r, err) == 0);
	}
	c[0] = mkcheck("c2", "z", CAT_PASSING);
	c[1] = mkcheck("c1", NULL, CAT_PASSING);
	r = mkreg("a", "10.0.0.1", NULL, c, 2);
	CHECK(reg(&s, 20, &r, err) == 0);
	c[0] = mkcheck("c0", "k", CAT_PASSING);
	r = mkreg("ab", "10.0.0.1", NULL, c, 1);
	CHECK(reg(&s, 21, &r, err) == 0);

	CHECK_STR(nodes(&s), "a,a-1,ab,b,");
	CHECK_STR(services(&s), "api/b/c,db/a/m,web/a/z,web/a-1/p,web/a-1/q,"
	    "web/ab/k,web2/b/w,");
	CHECK_STR(instances(&s, "web"),
	    "web/a/z,web/a-1/p,web/a-1/q,web/ab/k,");
	CHECK_STR(node_services(&s, "a"), "db/a/m,web/a/z,");
	CHECK_STR(node_services(&s, "a-1"), "web/a-1/p,web/a-1/q,");
	CHECK_STR(checks(&s), "a/c1,a/c2,ab/c0,");
	CHECK_STR(service_checks(&s, "web"), "a/c2,ab/c0,");
	CHECK_STR(service_checks(&s, "db"), "");

	/* A callback's -1 stops a walk, which still succeeds. */
	memset(&t, 0, sizeof(t));
	t.stop_after = 2;
	CHECK(cat_state_nodes(&s, node_cb_text, &t) == 0);
	CHECK_STR(t.buf, "a,a-1,");
	memset(&t, 0, sizeof(t));
	t.stop_after = 1;
	CHECK(cat_state_service_checks(&s, "web", check_cb_text, &t) == 0);
	CHECK_STR(t.buf, "a/c2,");
	done(&s);
}

static int
load_cb(void *arg, enum snapshot_record type, const msgpack_object *rec)
{
	void	**a = arg;

	if (type == SNAP_REC_SESSION)
		return session_state_load(a[0], a[1], rec);
	if (type >= SNAP_REC_CAT_NODE)
		return cat_state_load(a[0], a[1], type, rec);
	return kv_state_load(a[0], a[1], type, rec);
}

/* dump -> parse -> clear -> load gives the same tables and indexes. */
static void
test_snapshot_roundtrip(void)
{
	struct store		 s, t;
	struct cat_service	 svc;
	struct cat_check	 c[2];
	struct cat_register	 r;
	struct snapshot_writer	 w;
	struct snapshot_info	 info;
	struct mpack_out	 d1, d2;
	struct kv_txn_result	 res;
	struct kv_op		 op;
	msgpack_object		 bad, badv[2];
	struct cat_kv		 meta = { S("rack"), S("r1") };
	char			*tags[] = { S("primary") };
	char			 node[16], id[16], err[CAT_ERR_MAX];
	char			 longs[LONG_NAME + 1];
	const char		*why;
	void			*arg[2];
	DB_TXN			*txn;
	int			 i, changes = 0;

	fresh(&s);
	for (i = 0; i < 6; i++) {
		snprintf(node, sizeof(node), "node-%d", i % 3);
		snprintf(id, sizeof(id), "svc-%d", i);
		svc = mksvc(id, i % 2 ? "web" : "db", 8000 + i);
		svc.tags = tags;
		svc.ntags = 1;
		c[0] = mkcheck("serfHealth", NULL, CAT_PASSING);
		c[1] = mkcheck(id, id, CAT_CRITICAL);
		r = mkreg(node, "10.0.0.1", &svc, c, 2);
		r.node.meta = &meta;
		r.node.nmeta = 1;
		CHECK(reg(&s, 10 + i, &r, err) == 0);
	}
	/*
	 * Long names make long keys and a long table name.  Not the longest:
	 * a record over about 1 KB goes to a Berkeley DB overflow page, and
	 * valgrind reports the padding libdb writes with it.
	 */
	memset(longs, 'x', LONG_NAME);
	longs[LONG_NAME] = '\0';
	svc = mksvc(longs, longs, 1);
	c[0] = mkcheck(longs, longs, CAT_PASSING);
	r = mkreg(longs, "10.0.0.1", &svc, c, 1);
	CHECK(reg(&s, 20, &r, err) == 0);
	CHECK(cat_state_service_index(&s, longs) == 20);
	CHECK(dereg(&s, 30, "node-2", "svc-5", NULL) == 0);
	memset(&op, 0, sizeof(op));
	op.verb = KV_SET;
	op.key = S("k");
	op.keylen = 1;
	txn = store_begin(&s);
	CHECK(kv_state_apply(&s, txn, 31, &op, 1, &res, no_change_cb,
	    &changes) == 0);
	CHECK(store_commit(&s, txn, 0) == 0);
	kv_txn_result_free(&res);
	digest(&s, &d1);

	snapshot_begin(&w, 31, 2, 1, "conf", 4);
	CHECK(kv_state_dump(&s, &w) == 0);
	CHECK(cat_state_dump(&s, &w) == 0);
	snapshot_finish(&w);
	CHECK(snapshot_parse(w.out.sbuf.data, w.out.sbuf.size, &info, NULL,
	    NULL, &why) == 0);
	CHECK(info.count[SNAP_REC_CAT_NODE] == 4);
	CHECK(info.count[SNAP_REC_CAT_SERVICE] == 6);
	CHECK(info.count[SNAP_REC_CAT_CHECK] == 9);
	/* kv, nodes, services, checks and three service names */
	CHECK(info.count[SNAP_REC_TABLE] == 7);
	done(&s);

	fresh(&t);
	/* Something to clear first, as a restore does. */
	r = mkreg("old", "10.0.0.9", NULL, NULL, 0);
	CHECK(reg(&t, 5, &r, err) == 0);
	txn = store_begin(&t);
	arg[0] = &t;
	arg[1] = txn;
	CHECK(kv_state_clear(&t, txn) == 0);
	CHECK(cat_state_clear(&t, txn) == 0);
	CHECK(snapshot_parse(w.out.sbuf.data, w.out.sbuf.size, &info, load_cb,
	    arg, &why) == 0);

	/* A record that does not decode is refused. */
	badv[0].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	badv[0].via.u64 = SNAP_REC_CAT_NODE;
	badv[1].type = MSGPACK_OBJECT_STR;
	badv[1].via.str.ptr = "x";
	badv[1].via.str.size = 1;
	bad.type = MSGPACK_OBJECT_ARRAY;
	bad.via.array.size = 2;
	bad.via.array.ptr = badv;
	CHECK(cat_state_load(&t, txn, SNAP_REC_CAT_NODE, &bad) == -1);
	CHECK(cat_state_load(&t, txn, SNAP_REC_KV, &bad) == -1);
	CHECK(store_commit(&t, txn, 1) == 0);

	digest(&t, &d2);
	CHECK(same_state(&d1, &d2));
	CHECK_STR(instances(&t, "web"), "web/node-0/svc-3,web/node-1/svc-1,");
	CHECK_STR(service_checks(&t, "db"),
	    "node-0/svc-0,node-1/svc-4,node-2/svc-2,");
	CHECK(cat_state_service_index(&t, "web") == 30);
	CHECK(cat_state_service_index(&t, longs) == 20);
	mpack_out_free(&d1);
	mpack_out_free(&d2);
	snapshot_writer_free(&w);

	txn = store_begin(&t);
	CHECK(cat_state_clear(&t, txn) == 0);
	CHECK(store_commit(&t, txn, 0) == 0);
	CHECK_STR(nodes(&t), "");
	CHECK_STR(services(&t), "");
	CHECK_STR(checks(&t), "");
	done(&t);
}

/*
 * A lock another transaction holds makes the store fail: -1 with
 * store_errno set, and the caller's abort leaves the state as it was.
 */
static void
test_store_errors(void)
{
	struct store		 s;
	struct cat_service	 svc = mksvc("web1", "web", 80);
	struct cat_register	 r;
	struct cat_node		 n;
	struct cat_deregister	 d;
	DB_TXN			*holder, *txn;
	DBT			 k, v;
	char			 err[CAT_ERR_MAX];

	fresh(&s);
	r = mkreg("n1", "10.0.0.1", &svc, NULL, 0);
	CHECK(reg(&s, 10, &r, err) == 0);

	holder = store_begin(&s);
	r.node.address = S("10.0.0.2");
	CHECK(cat_state_register(&s, holder, 11, &r, err, sizeof(err)) == 0);
	CHECK(s.env->txn_begin(s.env, NULL, &txn, DB_TXN_NOWAIT) == 0);
	store_errno = 0;
	r.node.address = S("10.0.0.3");
	CHECK(cat_state_register(&s, txn, 12, &r, err, sizeof(err)) == -1);
	CHECK(store_errno == DB_LOCK_DEADLOCK ||
	    store_errno == DB_LOCK_NOTGRANTED);
	store_abort(txn);
	CHECK(s.env->txn_begin(s.env, NULL, &txn, DB_TXN_NOWAIT) == 0);
	store_errno = 0;
	memset(&d, 0, sizeof(d));
	d.node = S("n1");
	CHECK(cat_state_deregister(&s, txn, 12, &d, err, sizeof(err)) == -1);
	CHECK(store_errno != 0);
	store_abort(txn);
	store_abort(holder);

	CHECK(cat_state_node(&s, "n1", &n) == 0);
	CHECK_STR(n.address, "10.0.0.1");
	cat_node_free(&n);
	CHECK(idx(&s, "nodes") == 10);

	/* A damaged record fails the reads that meet it. */
	tbl_dbt_set(&k, "bad", 3);
	tbl_dbt_set(&v, "\xc1", 1);
	CHECK(s.cat_nodes->put(s.cat_nodes, NULL, &k, &v, 0) == 0);
	CHECK(cat_state_node(&s, "bad", &n) == -1);
	CHECK(cat_state_nodes(&s, node_cb_text, &(struct text){ 0 }) == -1);
	done(&s);
}

/* Sessions: creation checks, locks held, invalidation, snapshots. */
struct fx_seen {
	char	 keys[256];
	char	 gone[256];
	uint64_t delay;
};

static void
fx_changed(void *arg, const char *k, size_t len)
{
	struct fx_seen	*f = arg;

	strlcat(f->keys, k, sizeof(f->keys));
	strlcat(f->keys, ",", sizeof(f->keys));
}

static void
fx_delay(void *arg, const char *k, size_t len, uint64_t ns)
{
	((struct fx_seen *)arg)->delay = ns;
}

static void
fx_gone(void *arg, const char *id)
{
	struct fx_seen	*f = arg;

	strlcat(f->gone, id, sizeof(f->gone));
	strlcat(f->gone, ",", sizeof(f->gone));
}

static struct cat_session
mksess(const char *id, const char *node, const char *behavior, char **nc,
    size_t n)
{
	struct cat_session	 se;

	memset(&se, 0, sizeof(se));
	se.id = S(id);
	se.node = S(node);
	se.behavior = S(behavior);
	se.ttl = S("");
	se.lock_delay = 90ull * 1000 * 1000 * 1000;
	se.node_checks = nc;
	se.nnode_checks = n;
	return se;
}

/* One KV op in its own transaction: 0 done, 1 failed (err), -1. */
static int
kv_op(struct store *s, uint64_t index, int verb, const char *key,
    const char *session, char *err)
{
	struct kv_txn_result	 res;
	struct kv_op		 op;
	DB_TXN			*txn = store_begin(s);
	int			 n = 0, rc;

	memset(&op, 0, sizeof(op));
	op.verb = verb;
	op.key = S(key);
	op.keylen = strlen(key);
	op.session = S(session);
	CHECK((rc = kv_state_apply(s, txn, index, &op, 1, &res, no_change_cb,
	    &n)) == 0);
	CHECK(store_commit(s, txn, 0) == 0);
	strlcpy(err, res.ok ? "" : res.err, CAT_ERR_MAX);
	rc = res.ok ? 0 : 1;
	kv_txn_result_free(&res);
	return rc;
}

static int
sess_text(void *arg, const struct cat_session *se)
{
	text_add(arg, "%s@%llu,", se->id, (unsigned long long)se->create_index);
	return 0;
}

static void
test_sessions(void)
{
	struct store		 s, t;
	struct cat_check	 c[2];
	struct cat_register	 r;
	struct cat_session	 se, got;
	struct session_effects	 fx = { fx_changed, fx_delay, fx_gone, NULL };
	struct fx_seen		 seen;
	struct snapshot_writer	 w;
	struct snapshot_info	 info;
	struct text		 tx;
	struct kv_pair		 p;
	void			*arg[2];
	char			*serf[] = { S("serfHealth") };
	char			*both[] = { S("serfHealth"), S("app") };
	char			 err[CAT_ERR_MAX];
	const char		*why;
	DB_TXN			*txn;

	fresh(&s);
	memset(&seen, 0, sizeof(seen));
	fx.arg = &seen;
	c[0] = mkcheck("serfHealth", NULL, CAT_PASSING);
	c[1] = mkcheck("app", NULL, CAT_PASSING);
	r = mkreg("n1", "10.0.0.1", NULL, c, 2);
	CHECK(reg(&s, 10, &r, err) == 0);

	/* Creation: the node and checks must be there, none critical. */
	txn = store_begin(&s);
	se = mksess("s-ghost", "ghost", "release", serf, 1);
	CHECK(session_state_create(&s, txn, 11, &se, err, sizeof(err)) == 1);
	CHECK_STR(err, "Missing node registration");
	se = mksess("s-x", "n1", "release", both, 2);
	se.node_checks[1] = S("nope");
	CHECK(session_state_create(&s, txn, 11, &se, err, sizeof(err)) == 1);
	CHECK_STR(err, "Missing check 'nope' registration");
	both[1] = S("app");
	se = mksess("s1", "n1", "release", both, 2);
	CHECK(session_state_create(&s, txn, 11, &se, err, sizeof(err)) == 0);
	CHECK(session_state_create(&s, txn, 11, &se, err, sizeof(err)) == 1);
	CHECK_STR(err, "Session ID already exists");
	se = mksess("s2", "n1", "delete", serf, 1);
	CHECK(session_state_create(&s, txn, 12, &se, err, sizeof(err)) == 0);
	CHECK(store_commit(&s, txn, 0) == 0);
	CHECK(idx(&s, SESSIONS_TABLE) == 12);
	CHECK(session_state_get(&s, NULL, "s1", &got) == 0);
	CHECK(got.create_index == 11 && got.nnode_checks == 2);
	cat_session_free(&got);
	memset(&tx, 0, sizeof(tx));
	CHECK(session_state_node(&s, "n1", sess_text, &tx) == 0);
	CHECK_STR(tx.buf, "s1@11,s2@12,");

	/* Locks: one holder at a time, unknown sessions refused. */
	CHECK(kv_op(&s, 13, KV_LOCK, "a", "s1", err) == 0);
	CHECK(kv_op(&s, 14, KV_LOCK, "a", "s2", err) == 1);
	CHECK_STR(err, "failed to lock key \"a\", lock is already held");
	CHECK(kv_op(&s, 14, KV_LOCK, "b", "nope", err) == 1);
	CHECK_STR(err, "invalid session \"nope\"");
	CHECK(kv_op(&s, 14, KV_UNLOCK, "a", "s2", err) == 1);
	CHECK(kv_op(&s, 15, KV_LOCK, "b", "s2", err) == 0);
	CHECK(kv_op(&s, 16, KV_LOCK, "c", "s1", err) == 0);
	CHECK(kv_op(&s, 17, KV_UNLOCK, "c", "s1", err) == 0);
	CHECK(kv_state_get(&s, NULL, "c", 1, &p) == 0);
	CHECK(p.session == NULL && p.lock_index == 1);
	kv_pair_free(&p);

	/* The app check turning critical invalidates s1: "a" released. */
	c[1] = mkcheck("app", NULL, CAT_CRITICAL);
	r = mkreg("n1", "10.0.0.1", NULL, &c[1], 1);
	txn = store_begin(&s);
	CHECK(cat_state_register(&s, txn, 20, &r, err, sizeof(err)) == 0);
	CHECK(session_state_node_changed(&s, txn, 20, "n1", &fx) == 0);
	CHECK(store_commit(&s, txn, 0) == 0);
	CHECK_STR(seen.gone, "s1,");
	CHECK_STR(seen.keys, "a,");
	CHECK(seen.delay == SESSION_LOCK_DELAY_MAX);
	CHECK(session_state_get(&s, NULL, "s1", &got) == 1);
	CHECK(kv_state_get(&s, NULL, "a", 1, &p) == 0);
	CHECK(p.session == NULL && p.lock_index == 1 && p.modify_index == 20);
	kv_pair_free(&p);

	/* A snapshot carries s2 and its lock (loaded below). */
	snapshot_begin(&w, 20, 2, 1, "conf", 4);
	CHECK(kv_state_dump(&s, &w) == 0);
	CHECK(cat_state_dump(&s, &w) == 0);
	CHECK(session_state_dump(&s, &w) == 0);
	snapshot_finish(&w);
	CHECK(snapshot_parse(w.out.sbuf.data, w.out.sbuf.size, &info, NULL,
	    NULL, &why) == 0);
	CHECK(info.count[SNAP_REC_SESSION] == 1);

	/* Node gone: s2 goes, and with behavior delete its key too. */
	memset(&seen, 0, sizeof(seen));
	txn = store_begin(&s);
	CHECK(cat_state_deregister(&s, txn, 30,
	    &(struct cat_deregister){ S("n1"), NULL, NULL }, err,
	    sizeof(err)) == 0);
	CHECK(session_state_node_changed(&s, txn, 30, "n1", &fx) == 0);
	CHECK(store_commit(&s, txn, 0) == 0);
	CHECK_STR(seen.gone, "s2,");
	CHECK(kv_state_get(&s, NULL, "b", 1, &p) == 1);
	CHECK(idx(&s, SESSIONS_TABLE) == 30);
	memset(&tx, 0, sizeof(tx));
	CHECK(session_state_list(&s, sess_text, &tx) == 0);
	CHECK_STR(tx.buf, "");
	done(&s);

	/* The snapshot: s2 and its hold on "b" come back. */
	fresh(&t);
	txn = store_begin(&t);
	arg[0] = &t;
	arg[1] = txn;
	CHECK(session_state_clear(&t, txn) == 0);
	CHECK(snapshot_parse(w.out.sbuf.data, w.out.sbuf.size, &info, load_cb,
	    arg, &why) == 0);
	CHECK(store_commit(&t, txn, 0) == 0);
	snapshot_writer_free(&w);
	memset(&tx, 0, sizeof(tx));
	CHECK(session_state_list(&t, sess_text, &tx) == 0);
	CHECK_STR(tx.buf, "s2@12,");
	memset(&seen, 0, sizeof(seen));
	txn = store_begin(&t);
	CHECK(session_state_destroy(&t, txn, 40, "s2", &fx) == 0);
	CHECK(session_state_destroy(&t, txn, 40, "s2", &fx) == 0);
	CHECK(store_commit(&t, txn, 0) == 0);
	CHECK_STR(seen.keys, "b,");
	CHECK(kv_state_get(&t, NULL, "b", 1, &p) == 1);
	done(&t);
}

int
main(void)
{
	const struct test_case	 cases[] = {
		TEST_CASE(test_register_and_read),
		TEST_CASE(test_update_indexes),
		TEST_CASE(test_refusals),
		TEST_CASE(test_skip_node_update),
		TEST_CASE(test_rename),
		TEST_CASE(test_deregister),
		TEST_CASE(test_walk_order),
		TEST_CASE(test_snapshot_roundtrip),
		TEST_CASE(test_store_errors),
		TEST_CASE(test_sessions),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
