/*
 * ACL rules: the HCL and JSON parser (forms, errors with line and
 * column) and the authorizer's precedence (exact over prefix, longest
 * prefix, deny first within one level, default policy, management,
 * recursive key writes, service and node identities).
 */
#include <string.h>

#include "acl_codec.h"
#include "acl_rules.h"
#include "test.h"

static struct acl_rules *
parse(const char *text)
{
	struct acl_rules	*r;
	char			 err[ACL_RULES_ERR_MAX];

	if ((r = acl_rules_new()) == NULL)
		return NULL;
	if (acl_rules_parse(r, text, strlen(text), err, sizeof(err)) == -1) {
		fprintf(stderr, "# parse failed: %s\n", err);
		acl_rules_free(r);
		return NULL;
	}
	return r;
}

/* The error for text, or NULL when it parses. */
static const char *
parse_error(const char *text)
{
	static char		 err[ACL_RULES_ERR_MAX];
	struct acl_rules	*r;
	int			 rc;

	if ((r = acl_rules_new()) == NULL)
		return NULL;
	rc = acl_rules_parse(r, text, strlen(text), err, sizeof(err));
	acl_rules_free(r);
	return rc == -1 ? err : NULL;
}

static int
allowed(struct acl_rules *r, int default_allow, enum acl_resource res,
    const char *name, enum acl_level access)
{
	struct acl_authz	 a = { r, 0, default_allow, "" };

	return acl_allowed(&a, res, name, access);
}

static void
test_hcl_basic(void)
{
	struct acl_rules	*r;

	r = parse(
	    "# a comment\n"
	    "key \"config/db\" {\n"
	    "  policy = \"read\"\n"
	    "}\n"
	    "key_prefix \"app/\" { policy = \"write\" }\n"
	    "node_prefix \"\" { policy = \"read\" } // trailing\n"
	    "service \"web\" { policy = \"write\" intentions = \"read\" }\n"
	    "/* block\n comment */ session_prefix \"\" { policy = \"write\" }\n"
	    "event_prefix \"deploy\" { policy = \"write\" }\n"
	    "query_prefix \"\" { policy = \"read\" }\n"
	    "agent \"n1\" { policy = \"read\" }\n"
	    "agent_prefix \"\" { policy = \"deny\" }\n"
	    "operator = \"read\"\n"
	    "keyring = \"write\"\n"
	    "acl = \"deny\"\n");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(acl_rules_lookup(r, ACL_RES_KEY, "config/db") == ACL_LEVEL_READ);
	CHECK(acl_rules_lookup(r, ACL_RES_KEY, "config/dbx") ==
	    ACL_LEVEL_NONE);
	CHECK(acl_rules_lookup(r, ACL_RES_KEY, "app/x") == ACL_LEVEL_WRITE);
	CHECK(acl_rules_lookup(r, ACL_RES_KEY, "app/") == ACL_LEVEL_WRITE);
	CHECK(acl_rules_lookup(r, ACL_RES_KEY, "app") == ACL_LEVEL_NONE);
	CHECK(acl_rules_lookup(r, ACL_RES_NODE, "anything") ==
	    ACL_LEVEL_READ);
	CHECK(acl_rules_lookup(r, ACL_RES_SERVICE, "web") == ACL_LEVEL_WRITE);
	CHECK(acl_rules_lookup(r, ACL_RES_SERVICE, "web2") == ACL_LEVEL_NONE);
	CHECK(acl_rules_lookup(r, ACL_RES_SESSION, "n") == ACL_LEVEL_WRITE);
	CHECK(acl_rules_lookup(r, ACL_RES_EVENT, "deploy-x") ==
	    ACL_LEVEL_WRITE);
	CHECK(acl_rules_lookup(r, ACL_RES_EVENT, "other") == ACL_LEVEL_NONE);
	CHECK(acl_rules_lookup(r, ACL_RES_QUERY, "q") == ACL_LEVEL_READ);
	CHECK(acl_rules_lookup(r, ACL_RES_AGENT, "n1") == ACL_LEVEL_READ);
	CHECK(acl_rules_lookup(r, ACL_RES_AGENT, "n2") == ACL_LEVEL_DENY);
	CHECK(acl_rules_lookup(r, ACL_RES_OPERATOR, NULL) == ACL_LEVEL_READ);
	CHECK(acl_rules_lookup(r, ACL_RES_KEYRING, NULL) == ACL_LEVEL_WRITE);
	CHECK(acl_rules_lookup(r, ACL_RES_ACL, NULL) == ACL_LEVEL_DENY);
	acl_rules_free(r);
}

static void
test_json_forms(void)
{
	struct acl_rules	*r;

	r = parse(
	    "{\n"
	    "  \"key\": {\"config/db\": {\"policy\": \"read\"}},\n"
	    "  \"key_prefix\": {\n"
	    "    \"app/\": {\"policy\": \"write\"},\n"
	    "    \"app/secret/\": {\"policy\": \"deny\"}\n"
	    "  },\n"
	    "  \"service_prefix\": [{\"\": {\"policy\": \"read\"}}],\n"
	    "  \"node\": {\"n\\u00e9\": {\"policy\": \"write\"}},\n"
	    "  \"operator\": \"write\"\n"
	    "}\n");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(acl_rules_lookup(r, ACL_RES_KEY, "config/db") == ACL_LEVEL_READ);
	CHECK(acl_rules_lookup(r, ACL_RES_KEY, "app/a") == ACL_LEVEL_WRITE);
	CHECK(acl_rules_lookup(r, ACL_RES_KEY, "app/secret/a") ==
	    ACL_LEVEL_DENY);
	CHECK(acl_rules_lookup(r, ACL_RES_SERVICE, "x") == ACL_LEVEL_READ);
	CHECK(acl_rules_lookup(r, ACL_RES_NODE, "n\xc3\xa9") ==
	    ACL_LEVEL_WRITE);
	CHECK(acl_rules_lookup(r, ACL_RES_OPERATOR, NULL) == ACL_LEVEL_WRITE);
	acl_rules_free(r);

	/* HCL's other spellings of the same blocks. */
	CHECK_STR(parse_error("service \"s\" \"nested\" {}\n"),
	    "line 1, column 13: service \"s\": unknown attribute \"nested\"");
	r = parse(
	    "key_prefix { \"a/\" { policy = \"read\" } }\n"
	    "key = { \"b\" = { policy = \"write\", }, }\n"
	    "session = { n1 = { policy = \"read\" } }\n");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(acl_rules_lookup(r, ACL_RES_KEY, "a/x") == ACL_LEVEL_READ);
	CHECK(acl_rules_lookup(r, ACL_RES_KEY, "b") == ACL_LEVEL_WRITE);
	CHECK(acl_rules_lookup(r, ACL_RES_SESSION, "n1") == ACL_LEVEL_READ);
	acl_rules_free(r);

	/* Nothing at all is a valid, empty policy. */
	r = parse("  # only a comment\n");
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK(acl_rules_lookup(r, ACL_RES_KEY, "x") == ACL_LEVEL_NONE);
		acl_rules_free(r);
	}
	r = parse("{}");
	CHECK(r != NULL);
	acl_rules_free(r);
}

static void
test_precedence(void)
{
	struct acl_rules	*r;

	r = parse(
	    "key_prefix \"\" { policy = \"read\" }\n"
	    "key_prefix \"app/\" { policy = \"write\" }\n"
	    "key_prefix \"app/secret/\" { policy = \"deny\" }\n"
	    "key \"app/secret/public\" { policy = \"read\" }\n"
	    "key \"app/locked\" { policy = \"read\" }\n");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	/* The longest prefix wins. */
	CHECK(allowed(r, 0, ACL_RES_KEY, "other", ACL_LEVEL_READ));
	CHECK(!allowed(r, 0, ACL_RES_KEY, "other", ACL_LEVEL_WRITE));
	CHECK(allowed(r, 0, ACL_RES_KEY, "app/x", ACL_LEVEL_WRITE));
	CHECK(!allowed(r, 0, ACL_RES_KEY, "app/secret/x", ACL_LEVEL_READ));
	/* An exact rule beats any prefix rule, in both directions. */
	CHECK(allowed(r, 0, ACL_RES_KEY, "app/secret/public", ACL_LEVEL_READ));
	CHECK(!allowed(r, 0, ACL_RES_KEY, "app/locked", ACL_LEVEL_WRITE));
	CHECK(allowed(r, 0, ACL_RES_KEY, "app/locked2", ACL_LEVEL_WRITE));
	/* A matching rule decides; the default is not consulted. */
	CHECK(!allowed(r, 1, ACL_RES_KEY, "app/secret/x", ACL_LEVEL_READ));
	CHECK(!allowed(r, 1, ACL_RES_KEY, "other", ACL_LEVEL_WRITE));
	acl_rules_free(r);

	/* Within one level of specificity, deny > write > list > read. */
	r = parse(
	    "key_prefix \"x/\" { policy = \"write\" }\n"
	    "key_prefix \"x/\" { policy = \"deny\" }\n"
	    "key_prefix \"x/\" { policy = \"read\" }\n"
	    "key \"y\" { policy = \"read\" }\n"
	    "key \"y\" { policy = \"list\" }\n"
	    "service \"s\" { policy = \"write\" }\n"
	    "service \"s\" { policy = \"read\" }\n");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(acl_rules_lookup(r, ACL_RES_KEY, "x/a") == ACL_LEVEL_DENY);
	CHECK(acl_rules_lookup(r, ACL_RES_KEY, "y") == ACL_LEVEL_LIST);
	CHECK(acl_rules_lookup(r, ACL_RES_SERVICE, "s") == ACL_LEVEL_WRITE);
	acl_rules_free(r);
}

static void
test_levels(void)
{
	struct acl_rules	*r;

	r = parse(
	    "key \"r\" { policy = \"read\" }\n"
	    "key \"l\" { policy = \"list\" }\n"
	    "key \"w\" { policy = \"write\" }\n"
	    "key \"d\" { policy = \"deny\" }\n");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(allowed(r, 0, ACL_RES_KEY, "r", ACL_LEVEL_READ));
	CHECK(!allowed(r, 0, ACL_RES_KEY, "r", ACL_LEVEL_LIST));
	CHECK(!allowed(r, 0, ACL_RES_KEY, "r", ACL_LEVEL_WRITE));
	CHECK(allowed(r, 0, ACL_RES_KEY, "l", ACL_LEVEL_READ));
	CHECK(allowed(r, 0, ACL_RES_KEY, "l", ACL_LEVEL_LIST));
	CHECK(!allowed(r, 0, ACL_RES_KEY, "l", ACL_LEVEL_WRITE));
	CHECK(allowed(r, 0, ACL_RES_KEY, "w", ACL_LEVEL_READ));
	CHECK(allowed(r, 0, ACL_RES_KEY, "w", ACL_LEVEL_LIST));
	CHECK(allowed(r, 0, ACL_RES_KEY, "w", ACL_LEVEL_WRITE));
	CHECK(!allowed(r, 1, ACL_RES_KEY, "d", ACL_LEVEL_READ));
	acl_rules_free(r);
}

static void
test_defaults(void)
{
	struct acl_rules	*r;
	struct acl_authz	 mgmt = { NULL, 1, 0, "" };
	struct acl_authz	 none_deny = { NULL, 0, 0, "" };
	struct acl_authz	 none_allow = { NULL, 0, 1, "" };

	r = parse("operator = \"read\"\n");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(!allowed(r, 0, ACL_RES_KEY, "k", ACL_LEVEL_READ));
	CHECK(allowed(r, 1, ACL_RES_KEY, "k", ACL_LEVEL_WRITE));
	CHECK(allowed(r, 0, ACL_RES_OPERATOR, NULL, ACL_LEVEL_READ));
	CHECK(!allowed(r, 1, ACL_RES_OPERATOR, NULL, ACL_LEVEL_WRITE));
	CHECK(allowed(r, 1, ACL_RES_KEYRING, NULL, ACL_LEVEL_WRITE));
	/* A default of allow never grants ACL management. */
	CHECK(!allowed(r, 1, ACL_RES_ACL, NULL, ACL_LEVEL_READ));
	acl_rules_free(r);

	CHECK(acl_allowed(&mgmt, ACL_RES_ACL, NULL, ACL_LEVEL_WRITE));
	CHECK(acl_allowed(&mgmt, ACL_RES_KEY, "x", ACL_LEVEL_WRITE));
	CHECK(acl_key_write_prefix_allowed(&mgmt, ""));
	CHECK(!acl_allowed(&none_deny, ACL_RES_SERVICE, "x", ACL_LEVEL_READ));
	CHECK(acl_allowed(&none_allow, ACL_RES_SERVICE, "x", ACL_LEVEL_WRITE));
	CHECK(!acl_key_write_prefix_allowed(&none_deny, "a/"));
	CHECK(acl_key_write_prefix_allowed(&none_allow, "a/"));
}

static void
test_write_prefix(void)
{
	struct acl_rules	*r;
	struct acl_authz	 a = { NULL, 0, 0, "" };

	r = parse(
	    "key_prefix \"app/\" { policy = \"write\" }\n"
	    "key_prefix \"app/ro/\" { policy = \"read\" }\n"
	    "key \"app/x/pinned\" { policy = \"read\" }\n"
	    "key_prefix \"tmp/\" { policy = \"write\" }\n"
	    "key \"tmp/ok\" { policy = \"write\" }\n");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	a.rules = r;
	CHECK(acl_key_write_prefix_allowed(&a, "app/y/"));
	CHECK(acl_key_write_prefix_allowed(&a, "tmp/"));
	CHECK(!acl_key_write_prefix_allowed(&a, "tmp"));
	/* A rule inside the prefix that does not grant write. */
	CHECK(!acl_key_write_prefix_allowed(&a, "app/"));
	CHECK(!acl_key_write_prefix_allowed(&a, "app/x/"));
	CHECK(!acl_key_write_prefix_allowed(&a, "app/ro/z"));
	/* No rule covers it: the default decides. */
	CHECK(!acl_key_write_prefix_allowed(&a, "other/"));
	CHECK(!acl_key_write_prefix_allowed(&a, ""));
	a.default_allow = 1;
	CHECK(acl_key_write_prefix_allowed(&a, "other/"));
	CHECK(!acl_key_write_prefix_allowed(&a, ""));
	acl_rules_free(r);
}

static void
test_identities(void)
{
	struct acl_rules	*r, *p;

	r = acl_rules_new();
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(acl_rules_service_identity(r, "web") == 0);
	CHECK(acl_rules_node_identity(r, "node1") == 0);
	p = parse("service \"web-sidecar-proxy\" { policy = \"deny\" }\n");
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK(acl_rules_merge(r, p) == 0);
		acl_rules_free(p);
	}
	acl_rules_compile(r);
	CHECK(allowed(r, 0, ACL_RES_SERVICE, "web", ACL_LEVEL_WRITE));
	CHECK(allowed(r, 0, ACL_RES_SERVICE, "api", ACL_LEVEL_READ));
	CHECK(!allowed(r, 0, ACL_RES_SERVICE, "api", ACL_LEVEL_WRITE));
	CHECK(!allowed(r, 0, ACL_RES_SERVICE, "web-sidecar-proxy",
	    ACL_LEVEL_READ));
	CHECK(allowed(r, 0, ACL_RES_NODE, "node1", ACL_LEVEL_WRITE));
	CHECK(allowed(r, 0, ACL_RES_NODE, "node2", ACL_LEVEL_READ));
	CHECK(!allowed(r, 0, ACL_RES_NODE, "node2", ACL_LEVEL_WRITE));
	CHECK(!allowed(r, 0, ACL_RES_KEY, "k", ACL_LEVEL_READ));
	acl_rules_free(r);
}

static void
test_errors(void)
{
	static const struct {
		const char	*text;
		const char	*err;
	} cases[] = {
		{ "key \"a\" { policy = \"reed\" }",
		  "line 1, column 20: key \"a\": invalid policy \"reed\"" },
		{ "\n\nkeys \"a\" { policy = \"read\" }",
		  "line 3, column 1: unknown rule type \"keys\"" },
		{ "key_prefix \"a\" {\n  policy = \"read\"\n  pol = 1\n}",
		  "line 3, column 3: key_prefix \"a\": unknown attribute "
		  "\"pol\"" },
		{ "service \"a\" { policy = \"list\" }",
		  "line 1, column 24: service \"a\": invalid policy \"list\"" },
		{ "operator = \"list\"",
		  "line 1, column 12: operator: invalid policy \"list\"" },
		{ "operator_prefix \"\" { policy = \"read\" }",
		  "line 1, column 1: unknown rule type \"operator_prefix\"" },
		{ "key \"a\" {\n}",
		  "line 1, column 5: key \"a\": missing policy" },
		{ "key \"a\" { policy = \"read }",
		  "line 1, column 20: string not terminated" },
		{ "key \"a\" { policy = read }",
		  "line 1, column 20: key \"a\": policy must be a string" },
		{ "key \"a\" { policy = \"read\" ",
		  "line 1, column 27: expected a name, found end of input" },
		{ "key \"a\" { policy = \"read\" } }",
		  "line 1, column 29: expected a name, found '}'" },
		{ "key \"a\" ; ",
		  "line 1, column 9: unexpected character ';'" },
		{ "/* open\n comment",
		  "line 1, column 1: comment not terminated" },
		{ "key \"a\" { policy = \"\\q\" }",
		  "line 1, column 21: invalid escape sequence in string" },
		{ "key \"\\u0000\" { policy = \"read\" }",
		  "line 1, column 6: NUL character in string" },
		{ "operator",
		  "line 1, column 9: expected '=' or '{' after \"operator\", "
		  "found end of input" },
		{ "key = \"a\"",
		  "line 1, column 7: key: expected a name and a block" },
		{ "{\n \"key\": {\"a\": {\"policy\": \"read\"}}\n \"acl\" \"x\"\n}",
		  "line 4, column 1: expected '=' or '{' after \"acl\", "
		  "found '}'" },
		{ "{\"acl\": \"write\"} x",
		  "line 1, column 18: unexpected a name after the rules" },
		{ "{\"key\": [1, 2}",
		  "line 1, column 14: expected ',' or ']', found '}'" },
		{ "acl = \"write\"\n\xff",
		  "line 2, column 1: unexpected byte 0xff" },
	};
	char		 deep[200];
	const char	*e;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = parse_error(cases[i].text);
		CHECK_STR(e, cases[i].err);
	}
	for (i = 0; i + 2 < sizeof(deep); i += 2)
		memcpy(deep + i, "a{", 2);
	deep[i] = '\0';
	e = parse_error(deep);
	CHECK(e != NULL && strstr(e, "nested too deeply") != NULL);
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	deep[0] = 'a';
	deep[1] = '=';
	e = parse_error(deep);
	CHECK(e != NULL && strstr(e, "nested too deeply") != NULL);
}

/* Consul's detailed refusal, with and without a name, cut to fit. */
static void
test_denied(void)
{
	struct acl_authz	 a = { NULL, 0, 0,
	    "6a1253d2-1785-24fd-91c2-f8e78c745511" };
	char			 buf[ACL_DENIED_MAX], longname[400];

	acl_denied(buf, sizeof(buf), &a, ACL_RES_KEY, "foo/\"x",
	    ACL_LEVEL_WRITE);
	CHECK(strcmp(buf, "Permission denied: token with AccessorID "
	    "'6a1253d2-1785-24fd-91c2-f8e78c745511' lacks permission "
	    "'key:write' on \"foo/\\\"x\"") == 0);
	acl_denied(buf, sizeof(buf), &a, ACL_RES_OPERATOR, NULL,
	    ACL_LEVEL_READ);
	CHECK(strcmp(buf, "Permission denied: token with AccessorID "
	    "'6a1253d2-1785-24fd-91c2-f8e78c745511' lacks permission "
	    "'operator:read'") == 0);
	memset(longname, 'k', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	acl_denied(buf, sizeof(buf), &a, ACL_RES_SERVICE, longname,
	    ACL_LEVEL_READ);
	CHECK(strlen(buf) < sizeof(buf) && buf[strlen(buf) - 1] == '"');
	CHECK(acl_is_denial(buf));
	CHECK(acl_is_denial("Permission denied"));
	CHECK(acl_is_denial("ACL not found"));
	CHECK(!acl_is_denial("No cluster leader"));
}

/* An authorizer packed (raftd to apid, server to client) and back. */
static void
test_authz_codec(void)
{
	struct acl_authz	 a = { NULL, 0, 0, "" }, b;
	struct mpack_out	 out;
	msgpack_unpacked	 u;

	a.rules = parse("key_prefix \"app/\" { policy = \"write\" }\n"
	    "key \"app/secret\" { policy = \"deny\" }\n"
	    "service_prefix \"web\" { policy = \"read\" }\n"
	    "operator = \"write\"\n");
	CHECK(a.rules != NULL);
	acl_rules_compile(a.rules);
	mpack_out_init(&out);
	acl_authz_pack(&out.pk, &a);
	CHECK(mpack_parse(&u, out.sbuf.data, out.sbuf.size) == 0);
	CHECK(acl_authz_unpack(&u.data, &b) == 0);
	CHECK(!b.management && !b.default_allow);
	CHECK(acl_allowed(&b, ACL_RES_KEY, "app/x", ACL_LEVEL_WRITE));
	CHECK(!acl_allowed(&b, ACL_RES_KEY, "app/secret", ACL_LEVEL_READ));
	CHECK(!acl_allowed(&b, ACL_RES_KEY, "other", ACL_LEVEL_READ));
	CHECK(acl_allowed(&b, ACL_RES_SERVICE, "web-1", ACL_LEVEL_READ));
	CHECK(!acl_allowed(&b, ACL_RES_SERVICE, "web-1", ACL_LEVEL_WRITE));
	CHECK(acl_allowed(&b, ACL_RES_OPERATOR, NULL, ACL_LEVEL_WRITE));
	CHECK(!acl_allowed(&b, ACL_RES_ACL, NULL, ACL_LEVEL_READ));
	acl_rules_free(b.rules);
	msgpack_unpacked_destroy(&u);
	mpack_out_free(&out);

	/* Management, no rules; garbage is refused. */
	acl_rules_free(a.rules);
	a.rules = NULL;
	a.management = 1;
	mpack_out_init(&out);
	acl_authz_pack(&out.pk, &a);
	CHECK(mpack_parse(&u, out.sbuf.data, out.sbuf.size) == 0);
	CHECK(acl_authz_unpack(&u.data, &b) == 0);
	CHECK(acl_allowed(&b, ACL_RES_ACL, NULL, ACL_LEVEL_WRITE));
	acl_rules_free(b.rules);
	msgpack_unpacked_destroy(&u);
	mpack_out_free(&out);
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 4);
	msgpack_pack_uint8(&out.pk, 0);
	msgpack_pack_uint8(&out.pk, 0);
	msgpack_pack_array(&out.pk, 1);
	msgpack_pack_array(&out.pk, 0);
	msgpack_pack_array(&out.pk, 0);
	CHECK(mpack_parse(&u, out.sbuf.data, out.sbuf.size) == 0);
	CHECK(acl_authz_unpack(&u.data, &b) == -1);
	msgpack_unpacked_destroy(&u);
	mpack_out_free(&out);
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_hcl_basic),
		TEST_CASE(test_json_forms),
		TEST_CASE(test_precedence),
		TEST_CASE(test_levels),
		TEST_CASE(test_defaults),
		TEST_CASE(test_write_prefix),
		TEST_CASE(test_identities),
		TEST_CASE(test_errors),
		TEST_CASE(test_denied),
		TEST_CASE(test_authz_codec),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
