/*
 * apid's ?filter language (filter.c and filter_schema.c, compiled in):
 * the grammar, precedence, each operator on each kind of field, the
 * value forms, selectors through maps and lists, and the errors and
 * bounds that keep input from the network harmless.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "../../apid/filter.c"
#include "../../apid/filter_re.c"
#include "../../apid/filter_schema.c"

#define PREFIX	"Failed to create boolean expression evaluator: "

static json_t *
load(const char *text)
{
	json_error_t	 e;
	json_t		*j;

	if ((j = json_loads(text, 0, &e)) == NULL) {
		fprintf(stderr, "# bad test JSON: %s\n", e.text);
		abort();
	}
	return j;
}

/* A CatalogService, as catalog.c builds one. */
static const char *svc_text =
    "{\"ID\":\"\",\"Node\":\"n1\",\"Address\":\"10.0.0.1\","
    "\"Datacenter\":\"dc1\",\"TaggedAddresses\":{\"lan\":\"10.0.0.1\"},"
    "\"NodeMeta\":{\"rack\":\"r1\",\"a-b\":\"x\"},\"ServiceKind\":\"\","
    "\"ServiceID\":\"web-1\",\"ServiceName\":\"web\","
    "\"ServiceTags\":[\"primary\",\"v1\"],\"ServiceAddress\":\"\","
    "\"ServiceTaggedAddresses\":{\"lan\":{\"Address\":\"10.0.0.1\","
    "\"Port\":80}},\"ServiceWeights\":{\"Passing\":1,\"Warning\":1},"
    "\"ServiceMeta\":{\"version\":\"2\",\"team-name\":\"core\"},"
    "\"ServicePort\":8080,\"ServiceSocketPath\":\"\","
    "\"ServiceEnableTagOverride\":false,\"ServiceProxy\":{\"Mode\":\"\","
    "\"MeshGateway\":{},\"Expose\":{}},\"ServiceConnect\":{},"
    "\"ServiceLocality\":null,\"CreateIndex\":12,\"ModifyIndex\":14}";

/* A ServiceEntry with a passing node check and a critical one. */
static const char *entry_text =
    "{\"Node\":{\"Node\":\"n2\",\"Meta\":{\"rack\":\"r2\"}},"
    "\"Service\":{\"ID\":\"api\",\"Service\":\"api\",\"Tags\":[],"
    "\"Meta\":null,\"Port\":9000},"
    "\"Checks\":[{\"CheckID\":\"serfHealth\",\"Status\":\"passing\"},"
    "{\"CheckID\":\"service:api\",\"Status\":\"critical\","
    "\"Output\":\"HTTP GET http://x/: 500 Internal Server Error\"}]}";

/* 1 match, 0 no match, -1 a parse error (its text in err). */
static int
run(const char *expr, const struct filter_field *schema, const char *json,
    char *err, size_t errlen)
{
	struct filter	*f;
	json_t		*j;
	int		 rc;

	if ((f = filter_parse(expr, schema, err, errlen)) == NULL)
		return -1;
	j = load(json);
	rc = filter_match(f, j);
	json_decref(j);
	filter_free(f);
	return rc;
}

static int
svc(const char *expr)
{
	char	 err[FILTER_ERR_MAX];
	int	 rc;

	if ((rc = run(expr, &filter_catalog_service, svc_text, err,
	    sizeof(err))) == -1)
		fprintf(stderr, "# %s: %s\n", expr, err);
	return rc;
}

static int
entry(const char *expr)
{
	char	 err[FILTER_ERR_MAX];
	int	 rc;

	if ((rc = run(expr, &filter_service_entry, entry_text, err,
	    sizeof(err))) == -1)
		fprintf(stderr, "# %s: %s\n", expr, err);
	return rc;
}

/* The error text for expr, the prefix checked and stripped. */
static const char *
error_of(const char *expr, const struct filter_field *schema)
{
	static char	 err[FILTER_ERR_MAX];
	struct filter	*f;

	if ((f = filter_parse(expr, schema, err, sizeof(err))) != NULL) {
		filter_free(f);
		return "(parsed)";
	}
	if (strncmp(err, PREFIX, strlen(PREFIX)) != 0)
		return "(no prefix)";
	return err + strlen(PREFIX);
}

static void
test_equality(void)
{
	CHECK(svc("ServiceName == web") == 1);
	CHECK(svc("ServiceName == \"web\"") == 1);
	CHECK(svc("ServiceName == `web`") == 1);
	CHECK(svc("ServiceName == Web") == 0);
	CHECK(svc("ServiceName != web") == 0);
	CHECK(svc("ServiceName != db") == 1);
	CHECK(svc("ServiceName==web") == 1);
	CHECK(svc("  ServiceName  ==  web  ") == 1);
	CHECK(svc("Node == n1") == 1);
}

static void
test_numbers_and_bools(void)
{
	CHECK(svc("ServicePort == 8080") == 1);
	CHECK(svc("ServicePort == \"8080\"") == 1);
	CHECK(svc("ServicePort != 8080") == 0);
	CHECK(svc("ServicePort == 80") == 0);
	CHECK(svc("CreateIndex == 12") == 1);
	CHECK(svc("ServiceWeights.Passing == 1") == 1);
	CHECK(svc("ServiceEnableTagOverride == false") == 1);
	CHECK(svc("ServiceEnableTagOverride == true") == 0);
	CHECK(svc("ServiceEnableTagOverride != True") == 1);
	CHECK(svc("ServiceEnableTagOverride == 0") == 1);
	/* A number compared with a string field is its text. */
	CHECK(svc("ServiceMeta.version == 2") == 1);
	CHECK(svc("ServiceMeta.version == 2.0") == 0);
	/* An absent number is zero. */
	CHECK(svc("ServiceProxy.LocalServicePort == 0") == 1);
	CHECK(svc("ServiceTaggedAddresses.lan.Port == 80") == 1);
	CHECK(svc("ServiceTaggedAddresses.wan.Port == 0") == 1);
}

static void
test_empty(void)
{
	CHECK(svc("ServiceKind is empty") == 1);
	CHECK(svc("ServiceName is empty") == 0);
	CHECK(svc("ServiceName is not empty") == 1);
	CHECK(svc("ServiceTags is not empty") == 1);
	CHECK(svc("ServiceMeta is empty") == 0);
	CHECK(svc("ServiceMeta.missing is empty") == 1);
	CHECK(svc("ServiceProxy.DestinationServiceName is empty") == 1);
	CHECK(svc("ServiceConnect.Native == false") == 1);
	CHECK(svc("ServiceLocality.Region is empty") == 1);
	CHECK(entry("Service.Tags is empty") == 1);
	CHECK(entry("Service.Meta is empty") == 1);
	CHECK(entry("Checks is not empty") == 1);
}

static void
test_in_contains(void)
{
	CHECK(svc("primary in ServiceTags") == 1);
	CHECK(svc("\"v1\" in ServiceTags") == 1);
	CHECK(svc("prim in ServiceTags") == 0);
	CHECK(svc("secondary not in ServiceTags") == 1);
	CHECK(svc("primary not in ServiceTags") == 0);
	CHECK(svc("ServiceTags contains primary") == 1);
	CHECK(svc("ServiceTags not contains primary") == 0);
	/* On strings: a substring. */
	CHECK(svc("eb in ServiceName") == 1);
	CHECK(svc("ServiceName contains we") == 1);
	CHECK(svc("ServiceName not contains db") == 1);
	CHECK(svc("\"\" in ServiceName") == 1);
	/* On maps: a key. */
	CHECK(svc("rack in NodeMeta") == 1);
	CHECK(svc("r1 in NodeMeta") == 0);
	CHECK(svc("NodeMeta contains \"a-b\"") == 1);
	CHECK(svc("lan in ServiceTaggedAddresses") == 1);
	CHECK(svc("wan not in ServiceTaggedAddresses") == 1);
}

static void
test_matches(void)
{
	CHECK(svc("ServiceName matches \"^w.b$\"") == 1);
	CHECK(svc("ServiceName matches \"^db\"") == 0);
	CHECK(svc("ServiceName not matches \"^db\"") == 1);
	CHECK(svc("ServiceID matches `^web-\\d+$`") == 1);
	CHECK(svc("ServiceID matches `^web-\\D+$`") == 0);
	CHECK(svc("ServiceID matches `^[\\w]+-[\\d]$`") == 1);
	CHECK(svc("ServiceName matches \"(?i)^WEB$\"") == 1);
	CHECK(svc("ServiceName matches \"^WEB$\"") == 0);
	CHECK(svc("ServiceName matches \"^(?:w|x)eb$\"") == 1);
	CHECK(svc("Address matches `^10\\.0\\.`") == 1);
	CHECK(svc("ServiceMeta[\"team-name\"] matches \"^co(re|de)$\"") == 1);
	CHECK(svc("ServiceName matches \"[[:alpha:]]{3}\"") == 1);
	/* Lazy quantifiers match what greedy ones do. */
	CHECK(svc("ServiceID matches \"^w.*?-1+?$\"") == 1);
	CHECK(svc("ServiceID matches `^web-?\\d{1,2}?$`") == 1);
	CHECK(svc("ServiceID matches \"^web(-[0-9]+)?$\"") == 1);
	CHECK(svc("ServiceID matches \"^(w|e|b|-|1)+$\"") == 1);
	CHECK(svc("ServiceName matches \"^(a*b)*web$\"") == 1);
}

/* fre_match(pattern, text): 1, 0, or -1 if it does not compile. */
static int
re(const char *pattern, const char *text)
{
	struct fre	*r;
	char		 err[256];
	uint64_t	 budget = UINT64_MAX;
	int		 rc;

	if ((r = fre_compile(pattern, err, sizeof(err))) == NULL) {
		fprintf(stderr, "# %s: %s\n", pattern, err);
		return -1;
	}
	rc = fre_match(r, text, strlen(text), &budget);
	fre_free(r);
	return rc;
}

static const char *
re_error(const char *pattern)
{
	static char	 err[256];
	struct fre	*r;

	if ((r = fre_compile(pattern, err, sizeof(err))) != NULL) {
		fre_free(r);
		return "(compiled)";
	}
	return err;
}

/* filter_re.c: RE2's syntax, searched anywhere in the text. */
static void
test_regex(void)
{
	char	*big;

	CHECK(re("", "") == 1);
	CHECK(re("", "abc") == 1);
	CHECK(re("b", "abc") == 1);
	CHECK(re("^b", "abc") == 0);
	CHECK(re("c$", "abc") == 1);
	CHECK(re("^$", "") == 1);
	CHECK(re("^abc$", "abc\n") == 0);
	CHECK(re("(?m)^b$", "a\nb\nc") == 1);
	CHECK(re("^b$", "a\nb\nc") == 0);
	CHECK(re("\\Aa.c\\z", "abc") == 1);
	CHECK(re("a.c", "a\nc") == 0);
	CHECK(re("(?s)a.c", "a\nc") == 1);
	CHECK(re("(?i)AbC", "aBc") == 1);
	CHECK(re("(?i:A)b", "ab") == 1);
	CHECK(re("(?i:A)b", "aB") == 0);
	CHECK(re("a(?i)b|c", "aB") == 1);
	CHECK(re("(?i)a(?-i)b", "Ab") == 1);
	CHECK(re("(?i)a(?-i)b", "AB") == 0);
	CHECK(re("(?i)[a-c]+", "ABC") == 1);
	CHECK(re("^(ab|cd)+$", "abcdab") == 1);
	CHECK(re("^(ab|cd)+$", "abca") == 0);
	CHECK(re("^a|b$", "xxb") == 1);
	CHECK(re("^(a|)$", "") == 1);
	CHECK(re("^a{2,3}$", "aa") == 1);
	CHECK(re("^a{2,3}$", "aaaa") == 0);
	CHECK(re("^a{2}$", "aa") == 1);
	CHECK(re("^a{2,}$", "aaaaa") == 1);
	CHECK(re("^a{2,}$", "a") == 0);
	CHECK(re("^a{0}b$", "b") == 1);
	CHECK(re("^a{,2}$", "a{,2}") == 1);
	CHECK(re("^x{$", "x{") == 1);
	CHECK(re("{2}", "a{2}") == 1);
	CHECK(re("^a*?b+?c??$", "aabbc") == 1);
	CHECK(re("^[^abc]+$", "xyz\n") == 1);
	CHECK(re("^[]a]+$", "]a") == 1);
	CHECK(re("^[a-]+$", "a-") == 1);
	CHECK(re("^[\\]\\-]+$", "]-") == 1);
	CHECK(re("^[[:digit:][:upper:]]+$", "A1") == 1);
	CHECK(re("^[[:^digit:]]+$", "ab") == 1);
	CHECK(re("^[[:^digit:]]+$", "a1") == 0);
	CHECK(re("^\\d\\D\\w\\W\\s\\S$", "1a_ \tx") == 1);
	CHECK(re("\\bfoo\\b", "a foo b") == 1);
	CHECK(re("\\bfoo\\b", "afoob") == 0);
	CHECK(re("\\Bfoo\\B", "afoob") == 1);
	CHECK(re("^\\x41\\x{42}\\103\\t$", "ABC\t") == 1);
	CHECK(re("^\\x{e9}$", "\xc3\xa9") == 1);
	CHECK(re("^\\Q.*+\\E$", ".*+") == 1);
	CHECK(re("^\\Q.*+\\E$", "abc") == 0);
	CHECK(re("^\\.\\$\\ $", ".$ ") == 1);
	CHECK(re("^(?P<n>a)(?<m>b)$", "ab") == 1);
	CHECK(re("(a*)*b", "aaaa") == 0);
	CHECK(re("(a*)*b", "aaab") == 1);
	CHECK(re("((a|)+)+$", "aaa") == 1);
	CHECK(re("(^)*x", "x") == 1);
	CHECK(re("^(((){1000}){1000}){1000}$", "") == 1);
	CHECK(re("^((a{0}){1000}){1000}b$", "b") == 1);

	CHECK_STR(re_error("a**"), "invalid nested repetition operator: *");
	CHECK_STR(re_error("a+*"), "invalid nested repetition operator: *");
	CHECK_STR(re_error("*a"), "missing argument to repetition operator: *");
	CHECK_STR(re_error("(?i)+"),
	    "missing argument to repetition operator: +");
	CHECK_STR(re_error("(a"), "missing closing )");
	CHECK_STR(re_error("a)"), "unexpected )");
	CHECK_STR(re_error("[a"), "missing closing ]: [a");
	CHECK_STR(re_error("[]"), "missing closing ]: []");
	CHECK_STR(re_error("[z-a]"), "invalid character class range");
	CHECK_STR(re_error("[[:bogus:]]"), "invalid character class range");
	CHECK_STR(re_error("a{1001}"), "invalid repeat count: {1001}");
	CHECK_STR(re_error("a{3,2}"), "invalid repeat count: {3,2}");
	CHECK_STR(re_error("\\1"), "invalid escape sequence: \\1");
	CHECK_STR(re_error("\\y"), "invalid escape sequence: \\y");
	CHECK_STR(re_error("[\\777]"), "invalid escape sequence: \\7");
	CHECK(re("^[\\101-\\103]\\377$", "B\xc3\xbf") == 1);
	CHECK_STR(re_error("\\x{110000}"), "invalid escape sequence: \\x");
	CHECK_STR(re_error("a\\"), "trailing backslash at end of expression");
	CHECK_STR(re_error("\\pL"), "Unicode classes are not supported");
	CHECK_STR(re_error("(?x)a"), "invalid or unsupported Perl syntax");
	CHECK_STR(re_error("(?P<>a)"), "invalid named capture");
	CHECK_STR(re_error("((a{100}){100}){100}"), "more than 512 states "
	    "once its repetitions are expanded");
	CHECK_STR(re_error("a{500}b{12}"), "more than 512 states once its "
	    "repetitions are expanded");
	CHECK_STR(re_error("a{500}b{11}"), "(compiled)");

	/* Whatever the pattern, a pass over the text: no blow-up. */
	big = malloc(65537);
	memset(big, 'a', 65536);
	big[65536] = '\0';
	CHECK(re("(a*)*(b|)*c", big) == 0);
	CHECK(re("(.*.*.*.*)*x", big) == 0);
	CHECK(re("((a?){10}){10}b", big) == 0);
	CHECK(re("(.?){200}$", big) == 1);
	free(big);
}

/* The steps `matches` may take over a whole request are bounded. */
static void
test_budget(void)
{
	struct filter	*f;
	struct fre	*r;
	json_t		*j;
	char		 err[FILTER_ERR_MAX], *big;
	uint64_t	 budget;

	r = fre_compile("a+b", err, sizeof(err));
	CHECK(r != NULL);
	budget = 100;
	CHECK(fre_match(r, "aab", 3, &budget) == 1 && budget < 100);
	budget = 1;
	CHECK(fre_match(r, "aab", 3, &budget) == -1);
	fre_free(r);

	big = malloc(65537);
	memset(big, 'a', 65536);
	big[65536] = '\0';
	j = json_pack("{s:s, s:s}", "Node", "n1", "Output", big);
	free(big);
	f = filter_parse("Output matches \"(.?){200}x\"", &filter_check, err,
	    sizeof(err));
	CHECK(f != NULL);
	/* About 13 million steps each: the third runs out, for good. */
	CHECK(filter_match(f, j) == 0);
	CHECK(filter_match(f, j) == 0);
	CHECK(filter_match(f, j) == -1);
	CHECK(filter_match(f, j) == -1);
	filter_free(f);
	/* No pattern, no budget to spend. */
	f = filter_parse("Output contains x or Node == n1", &filter_check,
	    err, sizeof(err));
	CHECK(filter_match(f, j) == 1);
	filter_free(f);
	json_decref(j);
}

static void
test_selectors(void)
{
	CHECK(svc("NodeMeta.rack == r1") == 1);
	CHECK(svc("NodeMeta[\"rack\"] == r1") == 1);
	CHECK(svc("NodeMeta[ `a-b` ] == x") == 1);
	CHECK(svc("ServiceMeta[\"team-name\"] == core") == 1);
	CHECK(svc("ServiceTags.0 == primary") == 1);
	CHECK(svc("ServiceTags.1 == v1") == 1);
	CHECK(svc("ServiceTags.7 is empty") == 1);
	CHECK(svc("ServiceTaggedAddresses.lan.Address == \"10.0.0.1\"") == 1);
	CHECK(entry("Node.Meta.rack == r2") == 1);
	CHECK(entry("Service.Port == 9000") == 1);
	/* Through a list of objects: any element. */
	CHECK(entry("Checks.Status == critical") == 1);
	CHECK(entry("Checks.Status == warning") == 0);
	CHECK(entry("Checks.Status != warning") == 1);
	CHECK(entry("Checks.CheckID == serfHealth") == 1);
	CHECK(entry("Checks.Output contains \"500\"") == 1);
	CHECK(entry("Checks.1.Status == critical") == 1);
	CHECK(entry("Checks.0.Status == critical") == 0);
}

static void
test_values(void)
{
	CHECK(svc("ServiceName == \"w\\x65b\"") == 1);
	CHECK(svc("ServiceName == \"w\\u0065b\"") == 1);
	CHECK(svc("ServiceName == \"w\\145b\"") == 1);
	CHECK_STR(error_of("NodeMeta.a-b == x", &filter_catalog_service),
	    "syntax error at column 11: invalid number literal");
	CHECK(svc("Address == \"10.0.0.1\"") == 1);
	CHECK_STR(error_of("Address == 10.0.0.1", &filter_catalog_service),
	    "syntax error at column 12: invalid number literal");
	/* A bare selector as a value is its text. */
	CHECK(svc("ServiceMeta.version != v1.2") == 1);
	CHECK(svc("ServicePort == -1") == 0);
	CHECK(svc("ServiceName == `a\"b`") == 0);
}

static void
test_logic(void)
{
	CHECK(svc("ServiceName == web and ServicePort == 8080") == 1);
	CHECK(svc("ServiceName == web and ServicePort == 1") == 0);
	CHECK(svc("ServiceName == db or ServicePort == 8080") == 1);
	CHECK(svc("not ServiceName == db") == 1);
	CHECK(svc("not not ServiceName == web") == 1);
	/* not binds tighter than and, and tighter than or. */
	CHECK(svc("ServiceName == db and ServicePort == 1 or "
	    "Node == n1") == 1);
	CHECK(svc("ServiceName == db and (ServicePort == 1 or "
	    "Node == n1)") == 0);
	CHECK(svc("Node == n1 or ServiceName == db and "
	    "ServicePort == 1") == 1);
	CHECK(svc("not ServiceName == web or Node == n1") == 1);
	CHECK(svc("not (ServiceName == web or Node == n1)") == 0);
	CHECK(svc("not ServiceName == web and Node == n1") == 0);
	CHECK(svc("(ServiceName == web)") == 1);
	CHECK(svc("((ServiceName == web) and (((Node == n1))))") == 1);
	CHECK(svc("a1 in ServiceTags or v1 in ServiceTags or "
	    "b1 in ServiceTags") == 1);
}

static void
test_errors(void)
{
	CHECK_STR(error_of("Foo == bar", &filter_catalog_service),
	    "Selector \"Foo\" is not valid");
	CHECK_STR(error_of("ServiceWeights.Critical == 1",
	    &filter_catalog_service),
	    "Selector \"ServiceWeights.Critical\" is not valid");
	CHECK_STR(error_of("Checks.Bogus == 1", &filter_service_entry),
	    "Selector \"Checks.Bogus\" is not valid");
	CHECK_STR(error_of("ServiceName.x == 1", &filter_catalog_service),
	    "Selector \"ServiceName.x\" is not valid");
	CHECK_STR(error_of("ServiceTags == x", &filter_catalog_service),
	    "Selector \"ServiceTags\" is a list: \"==\" does not apply");
	CHECK_STR(error_of("ServicePort contains 1", &filter_catalog_service),
	    "Selector \"ServicePort\" is a number: \"in\" does not apply");
	CHECK_STR(error_of("ServiceWeights is empty",
	    &filter_catalog_service),
	    "Selector \"ServiceWeights\" is an object: select one of its "
	    "fields");
	CHECK_STR(error_of("ServicePort == abc", &filter_catalog_service),
	    "Value \"abc\" for selector \"ServicePort\" is not an integer");
	CHECK_STR(error_of("ServiceEnableTagOverride == yes",
	    &filter_catalog_service),
	    "Value \"yes\" for selector \"ServiceEnableTagOverride\" is not "
	    "a boolean");
	CHECK_STR(error_of("", &filter_node),
	    "syntax error at column 1: unexpected end of expression");
	CHECK_STR(error_of("Node ==", &filter_node),
	    "syntax error at column 8: expected a value");
	CHECK_STR(error_of("Node = x", &filter_node),
	    "syntax error at column 6: unexpected '='");
	CHECK_STR(error_of("Node == \"x", &filter_node),
	    "syntax error at column 9: unterminated string literal");
	CHECK_STR(error_of("(Node == x", &filter_node),
	    "syntax error at column 1: unmatched parenthesis");
	CHECK_STR(error_of("Node == x)", &filter_node),
	    "syntax error at column 10: unmatched parenthesis");
	CHECK_STR(error_of("Node == x y", &filter_node),
	    "syntax error at column 11: expected \"and\", \"or\" or the end");
	CHECK_STR(error_of("Node is full", &filter_node),
	    "syntax error at column 9: expected \"empty\"");
	CHECK_STR(error_of("Node not == x", &filter_node),
	    "syntax error at column 10: expected \"in\", \"contains\" or "
	    "\"matches\" after \"not\"");
	CHECK_STR(error_of("\"x\" == Node", &filter_node),
	    "syntax error at column 1: a value must be followed by \"in\" or "
	    "\"not in\"");
	CHECK_STR(error_of("x in \"Meta\"", &filter_node),
	    "syntax error at column 6: expected a selector after \"in\"");
	CHECK_STR(error_of("Node == 012", &filter_node),
	    "syntax error at column 9: invalid number literal");
	CHECK_STR(error_of("Meta[rack] == x", &filter_node),
	    "syntax error at column 5: invalid index");
	CHECK_STR(error_of("Meta[\"rack\" == x", &filter_node),
	    "syntax error at column 5: unclosed index expression");
	CHECK_STR(error_of("Meta. == x", &filter_node),
	    "syntax error at column 5: invalid selector");
	CHECK_STR(error_of("Node == \"a\\qb\"", &filter_node),
	    "syntax error at column 11: invalid escape in string literal");
	CHECK_STR(error_of("Node == \"\\x00\"", &filter_node),
	    "syntax error at column 9: NUL in string literal");
	CHECK_STR(error_of("Node == \"\\ud800\"", &filter_node),
	    "syntax error at column 10: invalid code point in string "
	    "literal");
	CHECK_STR(error_of("Node == \"a\nb\"", &filter_node),
	    "syntax error at column 11: newline in string literal");
	CHECK_STR(error_of("Node \x01", &filter_node),
	    "syntax error at column 6: unexpected byte 0x01");
	CHECK_STR(error_of("Node matches \"(\"", &filter_node),
	    "Invalid regular expression \"(\": missing closing )");
	CHECK_STR(error_of("Node matches `(a)\\1`", &filter_node),
	    "Invalid regular expression \"(a)\\1\": invalid escape sequence: "
	    "\\1");
}

static void
test_bounds(void)
{
	char	*s;
	size_t	 i, n;

	/* Length. */
	n = FILTER_LEN_MAX + 1;
	s = malloc(n + 1);
	memset(s, ' ', n);
	memcpy(s, "Node == x", 9);
	s[n] = '\0';
	CHECK_STR(error_of(s, &filter_node),
	    "expression longer than 4096 bytes");
	s[n - 1] = '\0';
	CHECK_STR(error_of(s, &filter_node), "(parsed)");
	free(s);

	/* Nesting: parentheses and nots count alike. */
	s = malloc(1024);
	s[0] = '\0';
	for (i = 0; i < FILTER_DEPTH_MAX; i++)
		strlcat(s, i % 2 ? "(" : "not ", 1024);
	strlcat(s, "Node == x", 1024);
	for (i = 0; i < FILTER_DEPTH_MAX / 2; i++)
		strlcat(s, ")", 1024);
	CHECK_STR(error_of(s, &filter_node), "(parsed)");
	s[0] = '\0';
	for (i = 0; i <= FILTER_DEPTH_MAX; i++)
		strlcat(s, "(", 1024);
	strlcat(s, "Node == x", 1024);
	for (i = 0; i <= FILTER_DEPTH_MAX; i++)
		strlcat(s, ")", 1024);
	CHECK_STR(error_of(s, &filter_node),
	    "expression nested deeper than 32");
	free(s);

	/* Matches and patterns. */
	s = malloc(FILTER_LEN_MAX + 1);
	s[0] = '\0';
	for (i = 0; i < FILTER_MATCHES_MAX + 1; i++)
		strlcat(s, i ? " or a==b" : "a==b", FILTER_LEN_MAX + 1);
	CHECK(strlen(s) < FILTER_LEN_MAX);
	CHECK_STR(error_of(s, &filter_node), "Selector \"a\" is not valid");
	s[0] = '\0';
	for (i = 0; i < FILTER_MATCHES_MAX + 1; i++)
		strlcat(s, i ? " or Node==b" : "Node==b", FILTER_LEN_MAX + 1);
	CHECK_STR(error_of(s, &filter_node), "more than 128 match "
	    "expressions");
	s[0] = '\0';
	for (i = 0; i < FILTER_REGEX_MAX + 1; i++)
		strlcat(s, i ? " or Node matches b" : "Node matches b",
		    FILTER_LEN_MAX + 1);
	CHECK_STR(error_of(s, &filter_node), "more than 8 regular "
	    "expressions");
	memset(s, 'a', FRE_LEN_MAX + 20);
	memcpy(s, "Node matches `", 14);
	s[FRE_LEN_MAX + 15] = '`';
	s[FRE_LEN_MAX + 16] = '\0';
	CHECK_STR(error_of(s, &filter_node), "regular expression longer "
	    "than 512 bytes");
	free(s);

	CHECK_STR(error_of("Meta.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p == x",
	    &filter_node), "selector at column 1 has more than 16 parts");
}

/* Keywords are names too where a name is wanted. */
static void
test_keywords(void)
{
	CHECK(svc("ServiceName != empty") == 1);
	CHECK(svc("ServiceName != and") == 1);
	CHECK(svc("ServiceName is not empty and ServiceName != or") == 1);
	CHECK(svc("ServiceName == web and not ServiceName == not") == 1);
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_equality),
		TEST_CASE(test_numbers_and_bools),
		TEST_CASE(test_empty),
		TEST_CASE(test_in_contains),
		TEST_CASE(test_matches),
		TEST_CASE(test_regex),
		TEST_CASE(test_budget),
		TEST_CASE(test_selectors),
		TEST_CASE(test_values),
		TEST_CASE(test_logic),
		TEST_CASE(test_errors),
		TEST_CASE(test_bounds),
		TEST_CASE(test_keywords),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
