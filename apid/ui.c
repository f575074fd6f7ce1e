/*
 * The web UI: plain HTML, CSS and JavaScript from apid/ui/, compiled
 * into apid at build time by apid/ui/embed.sh (the chroot holds no
 * files), served under ui_config.content_path when the UI is enabled.
 * Each asset goes out with its type, a strong ETag (304 when the client
 * has it), a gzip copy for clients that take one, and a
 * Content-Security-Policy that lets the page load, run and connect to
 * nothing but this agent.  The page routes with the URL's fragment, so
 * Consul-style deep links (/ui/dc1/services/web) are redirected to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "apid.h"
#include "config.h"
#include "log.h"

#define UI_CSP	"default-src 'none'; script-src 'self'; style-src 'self'; " \
	"img-src 'self'; connect-src 'self'; base-uri 'none'; " \
	"form-action 'self'; frame-ancestors 'none'"

/* The next comma-separated element of a header, trimmed; NULL at end. */
static const char *
header_item(const char **sp, size_t *len)
{
	const char	*s = *sp, *start;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (*s == '\0')
		return NULL;
	start = s;
	while (*s != '\0' && *s != ',')
		s++;
	*sp = s;
	while (s > start && (s[-1] == ' ' || s[-1] == '\t'))
		s--;
	*len = s - start;
	return start;
}

/*
 * Accept-Encoding names gzip (or x-gzip, or *) with a q that is not 0.
 * A coding's parameters follow ';'; only q matters.
 */
static int
accepts_gzip(struct evhttp_request *req)
{
	const char	*h, *item, *semi, *q;
	char		 name[16];
	size_t		 len, nlen;

	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Accept-Encoding");
	if (h == NULL)
		return 0;
	while ((item = header_item(&h, &len)) != NULL) {
		if ((semi = memchr(item, ';', len)) == NULL)
			semi = item + len;
		nlen = semi - item;
		while (nlen > 0 && (item[nlen - 1] == ' ' ||
		    item[nlen - 1] == '\t'))
			nlen--;
		if (nlen == 0 || nlen >= sizeof(name))
			continue;
		memcpy(name, item, nlen);
		name[nlen] = '\0';
		if (strcasecmp(name, "gzip") != 0 &&
		    strcasecmp(name, "x-gzip") != 0 && strcmp(name, "*") != 0)
			continue;
		/* q=0, q=0.0, q=0.000: refused. */
		for (q = semi; q < item + len; q++)
			if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
				break;
		if (q < item + len && q[2] == '0' &&
		    strspn(q + 3, ".0") == (size_t)(item + len - q - 3))
			continue;
		return 1;
	}
	return 0;
}

/* If-None-Match lists the tag (quoted, maybe weak), or is "*". */
static int
etag_matches(struct evhttp_request *req, const char *tag)
{
	const char	*h, *item;
	size_t		 len;

	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "If-None-Match");
	if (h == NULL)
		return 0;
	while ((item = header_item(&h, &len)) != NULL) {
		if (len == 1 && item[0] == '*')
			return 1;
		if (len > 2 && item[0] == 'W' && item[1] == '/') {
			item += 2;
			len -= 2;
		}
		if (len == strlen(tag) && memcmp(item, tag, len) == 0)
			return 1;
	}
	return 0;
}

static void
ui_headers(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Security-Policy", UI_CSP);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
}

/*
 * The names are not versioned, so a client revalidates each time and
 * mostly gets a 304: the ETag of the gzip copy differs from the plain
 * one's, as two representations' must.
 */
static void
ui_send(struct evhttp_request *req, const struct ui_asset *a)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf;
	char			 tag[64], gztag[64];
	int			 gz;

	snprintf(tag, sizeof(tag), "\"%s\"", a->etag);
	snprintf(gztag, sizeof(gztag), "\"%s-gz\"", a->etag);
	gz = a->gz != NULL && accepts_gzip(req);
	ui_headers(req);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "Vary", "Accept-Encoding");
	evhttp_add_header(h, "ETag", gz ? gztag : tag);
	if (etag_matches(req, tag) || etag_matches(req, gztag)) {
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	if ((buf = evbuffer_new()) == NULL)
		fatalx("ui: evbuffer_new");
	evhttp_add_header(h, "Content-Type", a->type);
	if (gz) {
		evhttp_add_header(h, "Content-Encoding", "gzip");
		evbuffer_add_reference(buf, a->gz, a->gzlen, NULL, NULL);
	} else
		evbuffer_add_reference(buf, a->data, a->len, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}

static void
ui_redirect(struct evhttp_request *req, int code, const char *prefix,
    const char *fragment)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	char			*loc;

	if (asprintf(&loc, "%s%s%s", prefix, fragment != NULL ? "#/" : "",
	    fragment != NULL ? fragment : "") == -1) {
		http_error(req, 500, "out of memory");
		return;
	}
	evhttp_add_header(h, "Location", loc);
	free(loc);
	http_error(req, code, code == 301 ? "Moved Permanently" : "Found");
}

/*
 * The UI's paths: 1 when answered, 0 when the path is not the UI's.
 * path is decoded; a deep link keeps its raw (still encoded) rest.
 */
int
ui_route(struct evhttp_request *req, const char *path)
{
	const char		*prefix = apid_child.conf->ui_config.content_path;
	const char		*raw, *rest;
	const struct ui_asset	*a;
	size_t			 plen;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);

	if (!apid_child.conf->ui_enabled || prefix == NULL)
		return 0;
	plen = strlen(prefix);
	if (strcmp(path, "/") == 0 && plen > 1) {
		ui_redirect(req, 301, prefix, NULL);
		return 1;
	}
	if (plen > 1 && strlen(path) == plen - 1 &&
	    strncmp(path, prefix, plen - 1) == 0) {
		ui_redirect(req, 301, prefix, NULL);
		return 1;
	}
	if (strncmp(path, prefix, plen) != 0 || strncmp(path, "/v1/", 4) == 0)
		return 0;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		http_error(req, 405, "method not allowed");
		return 1;
	}
	rest = path + plen;
	if (*rest == '\0')
		rest = "index.html";
	for (a = ui_assets; a->name != NULL; a++)
		if (strcmp(rest, a->name) == 0) {
			ui_send(req, a);
			return 1;
		}
	/* A view's path: the page shows it from the fragment. */
	raw = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (raw == NULL || strncmp(raw, prefix, plen) != 0)
		raw = prefix;
	ui_headers(req);
	ui_redirect(req, 302, prefix, raw + plen);
	return 1;
}
