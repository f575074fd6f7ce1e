/*
 * raftd's ACL tables on a real Berkeley DB environment in a temporary
 * directory, driven through the FSM commands: the built-in policy and
 * anonymous token, policies, roles and tokens with their refusals
 * (names unique, links to what exists, SecretIDs unique and fixed),
 * bootstrap once and its reset, malformed commands, a snapshot
 * round trip that keeps the SecretID index, and token resolution
 * (policies, roles, identities, datacenters, expiry, the cache and
 * its bounds).
 */
#include <sys/stat.h>

#include <ftw.h>
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
#include "../../raftd/acl_state.c"
#include "../../raftd/acl_resolve.c"
#include "../../raftd/raft.c"

#define S(x)	((char *)(x))

#define POL1	"11111111-1111-1111-1111-111111111111"
#define POL2	"22222222-2222-2222-2222-222222222222"
#define ROLE1	"33333333-3333-3333-3333-333333333333"
#define TOK1	"44444444-4444-4444-4444-444444444444"
#define SEC1	"55555555-5555-5555-5555-555555555555"
#define TOK2	"66666666-6666-6666-6666-666666666666"
#define SEC2	"77777777-7777-7777-7777-777777777777"

#include "store_fixture.h"

static char	 err[256];

/* One command through pack, parse and apply, in its own transaction. */
static int
apply(struct store *s, uint64_t index, enum acl_op op, const void *arg,
    uint64_t n)
{
	struct mpack_out	 out;
	msgpack_unpacked	 u;
	DB_TXN			*txn;
	int			 rc;

	mpack_out_init(&out);
	acl_cmd_pack(&out.pk, op, arg, n);
	if (mpack_parse(&u, out.sbuf.data, out.sbuf.size) == -1)
		abort();
	txn = store_begin(s);
	err[0] = '\0';
	rc = acl_state_apply(s, txn, index, &u.data, err, sizeof(err));
	if (rc == -1)
		store_abort(txn);
	else if (store_commit(s, txn, 0) == -1)
		rc = -1;
	msgpack_unpacked_destroy(&u);
	mpack_out_free(&out);
	return rc;
}

static uint64_t
table_index(struct store *s, const char *table)
{
	uint64_t	 v = 0;

	CHECK(store_get_u64(s, s->tables, NULL, table, &v) == 0);
	return v;
}

static struct acl_policy
mkpolicy(const char *id, const char *name, const char *rules)
{
	struct acl_policy	 p;

	memset(&p, 0, sizeof(p));
	p.id = S(id);
	p.name = S(name);
	p.rules = S(rules);
	return p;
}

static struct acl_token
mktoken(const char *accessor, const char *secret, char **policies,
    size_t npolicies)
{
	struct acl_token	 t;

	memset(&t, 0, sizeof(t));
	t.accessor = S(accessor);
	t.secret = S(secret);
	t.policies = policies;
	t.npolicies = npolicies;
	t.create_time = 1000;
	return t;
}

/* Names of what a list walk saw, comma-terminated. */
struct seen {
	char	 buf[512];
};

static int
seen_policy(void *arg, const struct acl_policy *p)
{
	struct seen	*s = arg;

	strlcat(s->buf, p->name, sizeof(s->buf));
	strlcat(s->buf, ",", sizeof(s->buf));
	return 0;
}

static int
seen_token(void *arg, const struct acl_token *t)
{
	struct seen	*s = arg;

	strlcat(s->buf, t->description ? t->description : "-",
	    sizeof(s->buf));
	strlcat(s->buf, ",", sizeof(s->buf));
	return 0;
}

static void
test_builtins(void)
{
	struct store		 s;
	struct acl_policy	 p;
	struct acl_token	 t;

	fresh(&s);
	CHECK(apply(&s, 5, ACL_OP_BUILTINS, NULL, 1234) == 0);
	CHECK(acl_state_policy_get(&s, NULL, ACL_GLOBAL_MANAGEMENT_ID,
	    &p) == 0);
	CHECK_STR(p.name, "global-management");
	CHECK(p.create_index == 5);
	acl_policy_free(&p);
	CHECK(acl_state_policy_by_name(&s, NULL, "global-management",
	    &p) == 0);
	CHECK_STR(p.id, ACL_GLOBAL_MANAGEMENT_ID);
	acl_policy_free(&p);
	CHECK(acl_state_token_by_secret(&s, NULL, "anonymous", &t) == 0);
	CHECK_STR(t.accessor, ACL_ANONYMOUS_ID);
	CHECK(t.create_time == 1234);
	acl_token_free(&t);
	/* A second leader finds them there: nothing moves. */
	CHECK(apply(&s, 9, ACL_OP_BUILTINS, NULL, 5678) == 0);
	CHECK(table_index(&s, ACL_TOKENS_TABLE) == 5);
	CHECK(table_index(&s, ACL_POLICIES_TABLE) == 5);
	/* They stay. */
	CHECK(apply(&s, 10, ACL_OP_TOKEN_DELETE, ACL_ANONYMOUS_ID, 0) == 1);
	CHECK_STR(err, "Delete operation not permitted on the anonymous "
	    "token");
	CHECK(apply(&s, 10, ACL_OP_POLICY_DELETE, ACL_GLOBAL_MANAGEMENT_ID,
	    0) == 1);
	p = mkpolicy(ACL_GLOBAL_MANAGEMENT_ID, "global-management",
	    "key_prefix \"\" { policy = \"read\" }");
	CHECK(apply(&s, 10, ACL_OP_POLICY_SET, &p, 0) == 1);
	CHECK(strstr(err, "global-management policy is not permitted") !=
	    NULL);
	CHECK(table_index(&s, ACL_POLICIES_TABLE) == 5);
	done(&s);
}

static void
test_policies(void)
{
	struct store		 s;
	struct acl_policy	 p, got;
	struct seen		 seen;

	fresh(&s);
	p = mkpolicy(POL1, "kv-read", "key_prefix \"\" { policy = \"read\" }");
	CHECK(apply(&s, 3, ACL_OP_POLICY_SET, &p, 0) == 0);
	p = mkpolicy(POL2, "kv-read", "");
	CHECK(apply(&s, 4, ACL_OP_POLICY_SET, &p, 0) == 1);
	CHECK_STR(err, "Invalid Policy: A Policy with Name \"kv-read\" "
	    "already exists");
	p = mkpolicy(POL2, "kv-write", "");
	CHECK(apply(&s, 4, ACL_OP_POLICY_SET, &p, 0) == 0);
	/* An update keeps CreateIndex and may rename. */
	p = mkpolicy(POL1, "kv-ro", "key_prefix \"\" { policy = \"list\" }");
	CHECK(apply(&s, 6, ACL_OP_POLICY_SET, &p, 0) == 0);
	CHECK(acl_state_policy_get(&s, NULL, POL1, &got) == 0);
	CHECK(got.create_index == 3 && got.modify_index == 6);
	CHECK_STR(got.rules, "key_prefix \"\" { policy = \"list\" }");
	acl_policy_free(&got);
	CHECK(acl_state_policy_by_name(&s, NULL, "kv-read", &got) == 1);
	CHECK(acl_state_policy_by_name(&s, NULL, "kv-ro", &got) == 0);
	acl_policy_free(&got);
	memset(&seen, 0, sizeof(seen));
	CHECK(acl_state_policy_list(&s, seen_policy, &seen) == 0);
	CHECK_STR(seen.buf, "kv-ro,kv-write,");
	CHECK(apply(&s, 7, ACL_OP_POLICY_DELETE, POL2, 0) == 0);
	CHECK(table_index(&s, ACL_POLICIES_TABLE) == 7);
	/* Deleting what is not there is no error and moves nothing. */
	CHECK(apply(&s, 8, ACL_OP_POLICY_DELETE, POL2, 0) == 0);
	CHECK(table_index(&s, ACL_POLICIES_TABLE) == 7);
	p = mkpolicy("", "noid", "");
	CHECK(apply(&s, 9, ACL_OP_POLICY_SET, &p, 0) == 2);
	done(&s);
}

static void
test_tokens_roles(void)
{
	struct store		 s;
	struct acl_policy	 p;
	struct acl_role		 r, got;
	struct acl_token	 t;
	struct seen		 seen;
	char			*pols[] = { S(POL1) }, *bad[] = { S(POL2) };
	char			*roles[] = { S(ROLE1) };

	fresh(&s);
	p = mkpolicy(POL1, "p1", "");
	CHECK(apply(&s, 2, ACL_OP_POLICY_SET, &p, 0) == 0);

	t = mktoken(TOK1, SEC1, bad, 1);
	CHECK(apply(&s, 3, ACL_OP_TOKEN_SET, &t, 0) == 1);
	CHECK_STR(err, "No such ACL policy with ID: " POL2);
	t = mktoken(TOK1, SEC1, pols, 1);
	t.description = S("first");
	CHECK(apply(&s, 3, ACL_OP_TOKEN_SET, &t, 0) == 0);
	/* Another token may not take the same secret. */
	t = mktoken(TOK2, SEC1, NULL, 0);
	CHECK(apply(&s, 4, ACL_OP_TOKEN_SET, &t, 0) == 1);
	CHECK_STR(err, "Invalid Token: SecretID is already in use");
	/* Nor may a token change its own. */
	t = mktoken(TOK1, SEC2, NULL, 0);
	CHECK(apply(&s, 4, ACL_OP_TOKEN_SET, &t, 0) == 1);
	CHECK_STR(err, "Changing a token's SecretID is not permitted");

	memset(&r, 0, sizeof(r));
	r.id = S(ROLE1);
	r.name = S("ops");
	r.policies = bad;
	r.npolicies = 1;
	CHECK(apply(&s, 5, ACL_OP_ROLE_SET, &r, 0) == 1);
	r.policies = pols;
	CHECK(apply(&s, 5, ACL_OP_ROLE_SET, &r, 0) == 0);
	r.id = S(POL2);
	CHECK(apply(&s, 6, ACL_OP_ROLE_SET, &r, 0) == 1);
	CHECK_STR(err, "Invalid Role: A Role with Name \"ops\" already "
	    "exists");
	CHECK(acl_state_role_by_name(&s, NULL, "ops", &got) == 0);
	CHECK_STR(got.id, ROLE1);
	CHECK(got.npolicies == 1 && strcmp(got.policies[0], POL1) == 0);
	acl_role_free(&got);

	t = mktoken(TOK2, SEC2, NULL, 0);
	t.roles = bad;
	t.nroles = 1;
	CHECK(apply(&s, 7, ACL_OP_TOKEN_SET, &t, 0) == 1);
	CHECK_STR(err, "No such ACL role with ID: " POL2);
	t.roles = roles;
	t.description = S("second");
	t.local = 1;
	t.expiration_time = 99;
	CHECK(apply(&s, 7, ACL_OP_TOKEN_SET, &t, 0) == 0);
	/* An update may not toggle Local, as Consul's. */
	t.description = S("second, updated");
	t.local = 0;
	CHECK(apply(&s, 8, ACL_OP_TOKEN_SET, &t, 0) == 1);
	CHECK_STR(err, "Cannot toggle local mode of " TOK2);
	/* An update keeps CreateIndex and CreateTime. */
	t.local = 1;
	t.create_time = 5;
	CHECK(apply(&s, 8, ACL_OP_TOKEN_SET, &t, 0) == 0);
	CHECK(acl_state_token_by_secret(&s, NULL, SEC2, &t) == 0);
	CHECK_STR(t.accessor, TOK2);
	CHECK(t.create_index == 7 && t.modify_index == 8);
	CHECK(t.create_time == 1000 && t.local == 1);
	CHECK(t.expiration_time == 99);
	CHECK(t.nroles == 1 && strcmp(t.roles[0], ROLE1) == 0);
	acl_token_free(&t);
	memset(&seen, 0, sizeof(seen));
	CHECK(acl_state_token_list(&s, seen_token, &seen) == 0);
	CHECK_STR(seen.buf, "first,second, updated,");

	/* A deleted token's secret finds nothing, and may be reused. */
	CHECK(apply(&s, 9, ACL_OP_TOKEN_DELETE, TOK1, 0) == 0);
	CHECK(acl_state_token_by_secret(&s, NULL, SEC1, &t) == 1);
	CHECK(acl_state_token_get(&s, NULL, TOK1, &t) == 1);
	CHECK(table_index(&s, ACL_TOKENS_TABLE) == 9);
	t = mktoken(POL2, SEC1, NULL, 0);
	CHECK(apply(&s, 10, ACL_OP_TOKEN_SET, &t, 0) == 0);
	CHECK(acl_state_token_by_secret(&s, NULL, "nope", &t) == 1);
	CHECK(apply(&s, 11, ACL_OP_ROLE_DELETE, ROLE1, 0) == 0);
	CHECK(acl_state_role_get(&s, NULL, ROLE1, &got) == 1);
	CHECK(table_index(&s, ACL_ROLES_TABLE) == 11);
	done(&s);
}

static void
test_bootstrap(void)
{
	struct store		 s;
	struct acl_token	 t;
	char			*mgmt[] = { S(ACL_GLOBAL_MANAGEMENT_ID) };
	uint64_t		 idx;

	fresh(&s);
	CHECK(apply(&s, 2, ACL_OP_BUILTINS, NULL, 1) == 0);
	CHECK(acl_state_bootstrap_index(&s, NULL, &idx) == 0 && idx == 0);
	t = mktoken(TOK1, SEC1, mgmt, 1);
	CHECK(apply(&s, 4, ACL_OP_BOOTSTRAP, &t, 0) == 0);
	CHECK(acl_state_bootstrap_index(&s, NULL, &idx) == 0 && idx == 4);
	t = mktoken(TOK2, SEC2, mgmt, 1);
	CHECK(apply(&s, 5, ACL_OP_BOOTSTRAP, &t, 0) == 1);
	CHECK_STR(err, "ACL bootstrap no longer allowed (reset index: 4)");
	CHECK(apply(&s, 5, ACL_OP_BOOTSTRAP, &t, 3) == 1);
	/* The operator named the index: one more bootstrap. */
	CHECK(apply(&s, 6, ACL_OP_BOOTSTRAP, &t, 4) == 0);
	CHECK(acl_state_token_by_secret(&s, NULL, SEC2, &t) == 0);
	acl_token_free(&t);
	t = mktoken("88888888-8888-8888-8888-888888888888",
	    "99999999-9999-9999-9999-999999999999", mgmt, 1);
	CHECK(apply(&s, 7, ACL_OP_BOOTSTRAP, &t, 4) == 1);
	CHECK_STR(err, "ACL bootstrap no longer allowed (reset index: 6)");
	done(&s);
}

static void
test_malformed(void)
{
	struct store		 s;
	msgpack_object		 cmd, v[3];
	DB_TXN			*txn;

	fresh(&s);
	memset(v, 0, sizeof(v));
	v[0].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	v[0].via.u64 = 77;
	v[1].type = MSGPACK_OBJECT_NIL;
	v[2].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	cmd.type = MSGPACK_OBJECT_ARRAY;
	cmd.via.array.size = 3;
	cmd.via.array.ptr = v;
	txn = store_begin(&s);
	CHECK(acl_state_apply(&s, txn, 1, &cmd, err, sizeof(err)) == 2);
	CHECK_STR(err, "malformed ACL command");
	v[0].via.u64 = ACL_OP_TOKEN_SET;
	CHECK(acl_state_apply(&s, txn, 1, &cmd, err, sizeof(err)) == 2);
	v[0].via.u64 = ACL_OP_POLICY_DELETE;
	CHECK(acl_state_apply(&s, txn, 1, &cmd, err, sizeof(err)) == 2);
	cmd.via.array.size = 2;
	CHECK(acl_state_apply(&s, txn, 1, &cmd, err, sizeof(err)) == 2);
	CHECK(store_commit(&s, txn, 0) == 0);
	done(&s);
}

static int
load_cb(void *arg, enum snapshot_record type, const msgpack_object *rec)
{
	void	**a = arg;

	return acl_state_load(a[0], a[1], type, rec);
}

static void
test_snapshot(void)
{
	struct store		 s, t;
	struct snapshot_writer	 w;
	struct snapshot_info	 info;
	struct acl_policy	 p;
	struct acl_role		 r;
	struct acl_token	 tok;
	struct acl_svc_ident	 si;
	struct acl_node_ident	 ni;
	struct seen		 a, b;
	char			*pols[] = { S(POL1) }, *dcs[] = { S("dc1") };
	const char		*why;
	void			*arg[2];
	DB_TXN			*txn;

	fresh(&s);
	CHECK(apply(&s, 2, ACL_OP_BUILTINS, NULL, 1) == 0);
	p = mkpolicy(POL1, "p1", "operator = \"read\"");
	p.dcs = dcs;
	p.ndcs = 1;
	CHECK(apply(&s, 3, ACL_OP_POLICY_SET, &p, 0) == 0);
	memset(&r, 0, sizeof(r));
	r.id = S(ROLE1);
	r.name = S("ops");
	r.policies = pols;
	r.npolicies = 1;
	CHECK(apply(&s, 4, ACL_OP_ROLE_SET, &r, 0) == 0);
	tok = mktoken(TOK1, SEC1, pols, 1);
	si.name = S("web");
	si.dcs = dcs;
	si.ndcs = 1;
	ni.name = S("node1");
	ni.dc = S("dc1");
	tok.svc_idents = &si;
	tok.nsvc_idents = 1;
	tok.node_idents = &ni;
	tok.nnode_idents = 1;
	tok.description = S("with identities");
	CHECK(apply(&s, 5, ACL_OP_TOKEN_SET, &tok, 0) == 0);

	snapshot_begin(&w, 5, 1, 1, "conf", 4);
	CHECK(acl_state_dump(&s, &w) == 0);
	snapshot_finish(&w);
	memset(&a, 0, sizeof(a));
	CHECK(acl_state_token_list(&s, seen_token, &a) == 0);
	CHECK(acl_state_policy_list(&s, seen_policy, &a) == 0);
	done(&s);

	fresh(&t);
	CHECK(snapshot_parse(w.out.sbuf.data, w.out.sbuf.size, &info, NULL,
	    NULL, &why) == 0);
	CHECK(info.count[SNAP_REC_ACL_TOKEN] == 2);
	CHECK(info.count[SNAP_REC_ACL_POLICY] == 2);
	CHECK(info.count[SNAP_REC_ACL_ROLE] == 1);
	txn = store_begin(&t);
	CHECK(acl_state_clear(&t, txn) == 0);
	arg[0] = &t;
	arg[1] = txn;
	CHECK(snapshot_parse(w.out.sbuf.data, w.out.sbuf.size, &info, load_cb,
	    arg, &why) == 0);
	CHECK(store_commit(&t, txn, 1) == 0);
	snapshot_writer_free(&w);
	memset(&b, 0, sizeof(b));
	CHECK(acl_state_token_list(&t, seen_token, &b) == 0);
	CHECK(acl_state_policy_list(&t, seen_policy, &b) == 0);
	CHECK_STR(a.buf, b.buf);
	CHECK(acl_state_token_by_secret(&t, NULL, SEC1, &tok) == 0);
	CHECK(tok.nsvc_idents == 1 && strcmp(tok.svc_idents[0].name,
	    "web") == 0 && tok.svc_idents[0].ndcs == 1);
	CHECK(tok.nnode_idents == 1 && strcmp(tok.node_idents[0].dc,
	    "dc1") == 0);
	acl_token_free(&tok);
	CHECK(acl_state_role_get(&t, NULL, ROLE1, &r) == 0);
	acl_role_free(&r);
	done(&t);
}

/* Resolution: what a secret may do, cached, bounded. */
static void
test_resolve(void)
{
	struct store		 s;
	struct acl_policy	 p;
	struct acl_role		 r;
	struct acl_token	 t;
	struct acl_svc_ident	 si;
	struct acl_resolver	*res, *res2;
	const struct acl_authz	*a;
	char			*kv[] = { S(POL1) }, *dc2[] = { S("dc2") };
	char			*mgmt[] = { S(ACL_GLOBAL_MANAGEMENT_ID) };
	char			*roles[] = { S(ROLE1) }, secret[64];
	size_t			 nf, nm, i;
	uint64_t		 ep;

	fresh(&s);
	CHECK(apply(&s, 2, ACL_OP_BUILTINS, NULL, 1) == 0);
	p = mkpolicy(POL1, "kv", "key_prefix \"app/\" { policy = \"write\" }");
	CHECK(apply(&s, 3, ACL_OP_POLICY_SET, &p, 0) == 0);
	p = mkpolicy(POL2, "elsewhere", "operator = \"write\"");
	p.dcs = dc2;
	p.ndcs = 1;
	CHECK(apply(&s, 4, ACL_OP_POLICY_SET, &p, 0) == 0);
	memset(&r, 0, sizeof(r));
	r.id = S(ROLE1);
	r.name = S("ops");
	r.policies = kv;
	r.npolicies = 1;
	CHECK(apply(&s, 5, ACL_OP_ROLE_SET, &r, 0) == 0);
	/* TOK1: the dc2 policy and a role; TOK2: a service identity. */
	t = mktoken(TOK1, SEC1, NULL, 0);
	t.policies = &p.id;
	t.npolicies = 1;
	t.roles = roles;
	t.nroles = 1;
	CHECK(apply(&s, 6, ACL_OP_TOKEN_SET, &t, 0) == 0);
	t = mktoken(TOK2, SEC2, NULL, 0);
	si.name = S("web");
	si.dcs = NULL;
	si.ndcs = 0;
	t.svc_idents = &si;
	t.nsvc_idents = 1;
	t.expiration_time = 5000;
	CHECK(apply(&s, 7, ACL_OP_TOKEN_SET, &t, 0) == 0);
	t = mktoken("88888888-8888-8888-8888-888888888888",
	    "99999999-9999-9999-9999-999999999999", mgmt, 1);
	CHECK(apply(&s, 8, ACL_OP_TOKEN_SET, &t, 0) == 0);

	res = acl_resolver_new(4, 3, 30000, 0);
	CHECK(res != NULL);
	if (res == NULL)
		return;
	ep = acl_epoch(&s);
	CHECK(ep == 8);
	CHECK(acl_resolve(res, &s, "dc1", SEC1, 1000, 0, ep, &a) == 0);
	CHECK(a != NULL && !a->management);
	if (a != NULL) {
		/* Through the role; the dc2 policy does not apply here. */
		CHECK(acl_allowed(a, ACL_RES_KEY, "app/x", ACL_LEVEL_WRITE));
		CHECK(!acl_allowed(a, ACL_RES_KEY, "other", ACL_LEVEL_READ));
		CHECK(!acl_allowed(a, ACL_RES_OPERATOR, NULL,
		    ACL_LEVEL_READ));
		/* Refusals name the token by its AccessorID. */
		CHECK(strcmp(a->accessor, TOK1) == 0);
	}
	/* An agent of dc2 has its own resolver. */
	res2 = acl_resolver_new(4, 3, 30000, 0);
	CHECK(res2 != NULL && acl_resolve(res2, &s, "dc2", SEC1, 1000, 0, ep,
	    &a) == 0);
	CHECK(a != NULL && acl_allowed(a, ACL_RES_OPERATOR, NULL,
	    ACL_LEVEL_WRITE));
	acl_resolver_free(res2);
	/* Expiry: resolves before, not at or after. */
	CHECK(acl_resolve(res, &s, "dc1", SEC2, 4999, 0, ep, &a) == 0);
	CHECK(a != NULL && acl_allowed(a, ACL_RES_SERVICE, "web",
	    ACL_LEVEL_WRITE) && !acl_allowed(a, ACL_RES_SERVICE, "db",
	    ACL_LEVEL_WRITE) && acl_allowed(a, ACL_RES_NODE, "n",
	    ACL_LEVEL_READ));
	CHECK(acl_resolve(res, &s, "dc1", SEC2, 5000, 0, ep + 2, &a) == 1);
	CHECK(a == NULL);
	CHECK(acl_resolve(res, &s, "dc1", "99999999-9999-9999-9999-999999999999",
	    1, 0, ep, &a) == 0);
	CHECK(a != NULL && a->management &&
	    acl_allowed(a, ACL_RES_ACL, NULL, ACL_LEVEL_WRITE));
	/* "" is the anonymous token: no policy, the default denies. */
	CHECK(acl_resolve(res, &s, "dc1", "", 1, 0, ep, &a) == 0);
	CHECK(a != NULL && !acl_allowed(a, ACL_RES_KEY, "k",
	    ACL_LEVEL_READ));

	/* A change of the tables is seen at once, a cached answer kept. */
	CHECK(apply(&s, 9, ACL_OP_ROLE_DELETE, ROLE1, 0) == 0);
	CHECK(acl_resolve(res, &s, "dc1", SEC1, 1000, 1, ep, &a) == 0);
	CHECK(a != NULL && acl_allowed(a, ACL_RES_KEY, "app/x",
	    ACL_LEVEL_WRITE));
	CHECK(acl_resolve(res, &s, "dc1", SEC1, 1000, 1, acl_epoch(&s),
	    &a) == 0);
	CHECK(a != NULL && !acl_allowed(a, ACL_RES_KEY, "app/x",
	    ACL_LEVEL_WRITE));
	/* And the TTL. */
	CHECK(acl_resolve(res, &s, "dc1", SEC1, 1000, 30001, acl_epoch(&s),
	    &a) == 0);

	/* A flood of unknown secrets: the cache stays within its bounds. */
	for (i = 0; i < 1000; i++) {
		snprintf(secret, sizeof(secret), "flood-%zu", i);
		CHECK(acl_resolve(res, &s, "dc1", secret, 1, 2, acl_epoch(&s),
		    &a) == 1);
	}
	acl_resolver_counts(res, &nf, &nm);
	CHECK(nf <= 4 && nm == 3);
	acl_resolver_free(res);
	done(&s);
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_builtins),
		TEST_CASE(test_policies),
		TEST_CASE(test_tokens_roles),
		TEST_CASE(test_bootstrap),
		TEST_CASE(test_malformed),
		TEST_CASE(test_snapshot),
		TEST_CASE(test_resolve),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
