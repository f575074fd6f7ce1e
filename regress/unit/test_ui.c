/*
 * apid/ui.c, compiled in: the Accept-Encoding and If-None-Match parsers
 * that decide between gzip and plain and between 304 and 200, on what
 * clients send and on garbage, and which paths the UI leaves to the API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "../../apid/ui.c"

struct child		 apid_child;
const struct ui_asset	 ui_assets[] = {
	{ "app.js", "text/javascript", "0123", (const unsigned char *)"x", 1,
	    NULL, 0 },
	{ NULL, NULL, NULL, NULL, 0, NULL, 0 }
};

void
http_error(struct evhttp_request *req, int code, const char *reason)
{
	fprintf(stderr, "# unexpected reply %d %s\n", code, reason);
	abort();
}

static struct evhttp_request *
request(const char *name, const char *value)
{
	struct evhttp_request	*req;

	if ((req = evhttp_request_new(NULL, NULL)) == NULL)
		abort();
	if (name != NULL && evhttp_add_header(
	    evhttp_request_get_input_headers(req), name, value) != 0)
		abort();
	return req;
}

static int
gzip_for(const char *accept)
{
	struct evhttp_request	*req = request(accept ? "Accept-Encoding" :
				    NULL, accept);
	int			 r = accepts_gzip(req);

	evhttp_request_free(req);
	return r;
}

static int
match(const char *inm, const char *tag)
{
	struct evhttp_request	*req = request(inm ? "If-None-Match" : NULL,
				    inm);
	int			 r = etag_matches(req, tag);

	evhttp_request_free(req);
	return r;
}

static void
test_accept_encoding(void)
{
	char	 big[8192];

	CHECK(gzip_for(NULL) == 0);
	CHECK(gzip_for("") == 0);
	CHECK(gzip_for("gzip") == 1);
	CHECK(gzip_for("GZip") == 1);
	CHECK(gzip_for("x-gzip") == 1);
	CHECK(gzip_for("*") == 1);
	CHECK(gzip_for("gzip, deflate, br") == 1);
	CHECK(gzip_for("br , gzip") == 1);
	CHECK(gzip_for("br;q=1.0, gzip;q=0.8, *;q=0.1") == 1);
	CHECK(gzip_for("gzip;q=0.5") == 1);
	CHECK(gzip_for("gzip; q=0.001") == 1);
	CHECK(gzip_for("gzip;q=") == 1);
	CHECK(gzip_for("gzip;q=0") == 0);
	CHECK(gzip_for("gzip;q=0.0") == 0);
	CHECK(gzip_for("gzip ; Q=0.000") == 0);
	CHECK(gzip_for("identity, gzip;q=0, br") == 0);
	CHECK(gzip_for("deflate, br") == 0);
	CHECK(gzip_for("gzipx") == 0);
	CHECK(gzip_for("gzi") == 0);
	CHECK(gzip_for(",,, ;;;") == 0);
	CHECK(gzip_for("averyveryverylongcodingname, gzip") == 1);
	memset(big, 'g', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(gzip_for(big) == 0);
}

static void
test_if_none_match(void)
{
	CHECK(match(NULL, "\"0123\"") == 0);
	CHECK(match("", "\"0123\"") == 0);
	CHECK(match("\"0123\"", "\"0123\"") == 1);
	CHECK(match("W/\"0123\"", "\"0123\"") == 1);
	CHECK(match("\"aa\", \"0123\"", "\"0123\"") == 1);
	CHECK(match("*", "\"0123\"") == 1);
	CHECK(match("\"0123-gz\"", "\"0123\"") == 0);
	CHECK(match("\"012\"", "\"0123\"") == 0);
	CHECK(match("0123", "\"0123\"") == 0);
	CHECK(match("W/", "\"0123\"") == 0);
	CHECK(match(", ,", "\"0123\"") == 0);
}

/* Paths that are not the UI's come back untouched (0, no reply). */
static void
test_not_ours(void)
{
	struct config		 conf;
	struct evhttp_request	*req = request(NULL, NULL);

	memset(&conf, 0, sizeof(conf));
	apid_child.conf = &conf;
	conf.ui_config.content_path = "/ui/";
	CHECK(ui_route(req, "/ui/") == 0);		/* disabled */
	CHECK(ui_route(req, "/") == 0);
	conf.ui_enabled = 1;
	CHECK(ui_route(req, "/v1/kv/x") == 0);
	CHECK(ui_route(req, "/other/") == 0);
	CHECK(ui_route(req, "/uix") == 0);
	CHECK(ui_route(req, "/u") == 0);
	conf.ui_config.content_path = "/";
	CHECK(ui_route(req, "/v1/nonesuch") == 0);
	evhttp_request_free(req);
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_accept_encoding),
		TEST_CASE(test_if_none_match),
		TEST_CASE(test_not_ours),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
