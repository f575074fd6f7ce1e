/*
 * Go duration parsing and formatting: the tables follow Go's own tests
 * for time.ParseDuration and Duration.String.
 */
#include <stdint.h>

#include "duration.h"
#include "test.h"

#define NS	DURATION_NSEC
#define US	DURATION_USEC
#define MS	DURATION_MSEC
#define S	DURATION_SEC
#define M	DURATION_MIN
#define H	DURATION_HOUR

static const struct {
	const char	*in;
	int64_t		 want;
} parse_ok[] = {
	{ "0", 0 },
	{ "5s", 5 * S },
	{ "30s", 30 * S },
	{ "1478s", 1478 * S },
	{ "-5s", -5 * S },
	{ "+5s", 5 * S },
	{ "-0", 0 },
	{ "+0", 0 },
	{ "5.0s", 5 * S },
	{ "5.6s", 5 * S + 600 * MS },
	{ "5.s", 5 * S },
	{ ".5s", 500 * MS },
	{ "1.0s", 1 * S },
	{ "1.00s", 1 * S },
	{ "1.004s", 1 * S + 4 * MS },
	{ "1.0040s", 1 * S + 4 * MS },
	{ "100.00100s", 100 * S + 1 * MS },
	{ "10ns", 10 * NS },
	{ "11us", 11 * US },
	{ "12\xc2\xb5s", 12 * US },
	{ "12\xce\xbcs", 12 * US },
	{ "300us", 300 * US },
	{ "300\xc2\xb5s", 300 * US },
	{ "13ms", 13 * MS },
	{ "500ms", 500 * MS },
	{ "14s", 14 * S },
	{ "15m", 15 * M },
	{ "16h", 16 * H },
	{ "1h", 1 * H },
	{ "1.5h", 90 * M },
	{ "1m30s", 90 * S },
	{ "3h30m", 3 * H + 30 * M },
	{ "10.5s4m", 4 * M + 10 * S + 500 * MS },
	{ "-2m3.4s", -(2 * M + 3 * S + 400 * MS) },
	{ "1h2m3s4ms5us6ns", 1 * H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS },
	{ "39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS },
	{ "52763797000ns", 52763797000 * NS },
	{ "0.3333333333333333333h", 20 * M },
	{ "9007199254740993ns", (1LL << 53) + 1 },
	{ "9223372036854775807ns", INT64_MAX },
	{ "9223372036854775.807us", INT64_MAX },
	{ "9223372036s854ms775us807ns", INT64_MAX },
	{ "-9223372036854775808ns", INT64_MIN },
	{ "-9223372036854775.808us", INT64_MIN },
	{ "-9223372036s854ms775us808ns", INT64_MIN },
	{ "-2562047h47m16.854775808s", INT64_MIN },
	{ "0.100000000000000000000h", 6 * M },
	{ "0.830103483285477580700h", 49 * M + 48 * S + 372539827 * NS },
	{ "87600h", 87600 * H },
};

static const char *parse_bad[] = {
	"",
	"3",
	"-",
	"+",
	"s",
	".",
	"-.",
	".s",
	"+.s",
	"1d",
	"10x",
	"1.5",
	"1h 30m",
	" 1s",
	"1s ",
	"1S",
	"1e3s",
	"0x10s",
	"--1s",
	"\x85\x85",
	"\xff\xff",
	"hello \xff\xff world",
	"9223372036854775810ns",
	"9223372036854775808ns",
	"-9223372036854775809ns",
	"9223372036854776us",
	"3000000h",
	"2562048h",
	"9223372036854775807ns1ns",
	"99999999999999999999999999ns",
};

static const struct {
	int64_t		 in;
	const char	*want;
} format_tests[] = {
	{ 0, "0s" },
	{ 1 * NS, "1ns" },
	{ 1100 * NS, "1.1\xc2\xb5s" },
	{ 2200 * US, "2.2ms" },
	{ 3300 * MS, "3.3s" },
	{ 4 * M + 5 * S, "4m5s" },
	{ 4 * M + 5001 * MS, "4m5.001s" },
	{ 5 * H + 6 * M + 7001 * MS, "5h6m7.001s" },
	{ 8 * M + 1 * NS, "8m0.000000001s" },
	{ INT64_MAX, "2562047h47m16.854775807s" },
	{ INT64_MIN, "-2562047h47m16.854775808s" },
	{ 1 * H, "1h0m0s" },
	{ 90 * S, "1m30s" },
	{ 500 * MS, "500ms" },
	{ 10 * S, "10s" },
	{ -10 * S, "-10s" },
	{ -1 * NS, "-1ns" },
	{ 300 * US, "300\xc2\xb5s" },
	{ 72 * H, "72h0m0s" },
};

static void
test_parse_ok(void)
{
	size_t	 i;
	int64_t	 got;

	for (i = 0; i < sizeof(parse_ok) / sizeof(parse_ok[0]); i++) {
		got = 12345;
		if (duration_parse(parse_ok[i].in, &got) != 0 ||
		    got != parse_ok[i].want) {
			fprintf(stderr, "# parse \"%s\": got %lld, want %lld\n",
			    parse_ok[i].in, (long long)got,
			    (long long)parse_ok[i].want);
			CHECK(0);
		}
	}
}

static void
test_parse_bad(void)
{
	size_t	 i;
	int64_t	 got = 0;

	for (i = 0; i < sizeof(parse_bad) / sizeof(parse_bad[0]); i++) {
		if (duration_parse(parse_bad[i], &got) != -1) {
			fprintf(stderr, "# parse \"%s\" should fail, got "
			    "%lld\n", parse_bad[i], (long long)got);
			CHECK(0);
		}
	}
	CHECK(duration_parse(NULL, &got) == -1);
}

static void
test_format(void)
{
	char	 buf[DURATION_BUFSIZE];
	size_t	 i;

	for (i = 0; i < sizeof(format_tests) / sizeof(format_tests[0]); i++)
		CHECK_STR(duration_format(format_tests[i].in, buf, sizeof(buf)),
		    format_tests[i].want);
}

/* What String() prints, ParseDuration reads back. */
static void
test_round_trip(void)
{
	char	 buf[DURATION_BUFSIZE];
	size_t	 i;
	int64_t	 got;

	for (i = 0; i < sizeof(parse_ok) / sizeof(parse_ok[0]); i++) {
		duration_format(parse_ok[i].want, buf, sizeof(buf));
		CHECK(duration_parse(buf, &got) == 0);
		CHECK(got == parse_ok[i].want);
	}
}

static void
test_format_truncates(void)
{
	char	 buf[4];

	CHECK_STR(duration_format(90 * S, buf, sizeof(buf)), "1m3");
	CHECK_STR(duration_format(INT64_MIN, buf, 1), "");
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_parse_ok),
		TEST_CASE(test_parse_bad),
		TEST_CASE(test_format),
		TEST_CASE(test_round_trip),
		TEST_CASE(test_format_truncates),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
