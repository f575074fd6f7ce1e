/*
 * HTTP checks, as Consul runs them: one HTTP/1.1 request per probe
 * (method, headers and body as given, Consul's User-Agent and Accept
 * unless given, "Connection: close"), over TLS for https://.  2xx is
 * passing, 429 warning, anything else critical, and so is an error, in
 * Go's words: 'Get "http://127.0.0.1:9000/": dial tcp 127.0.0.1:9000:
 * connect: connection refused'.  The output is 'HTTP GET <url>: 200 OK
 * Output: <body>' with the first output_max bytes of the body; the
 * probe stops reading there.
 *
 * The response is parsed as it arrives and never held whole: at most
 * HTTP_HEAD_MAX bytes of status line and headers, output_max bytes of
 * body, and a bounded amount of chunk framing, whatever the server
 * sends.  Redirects are not followed.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <tls.h>

#include "checkd.h"
#include "log.h"

#define HTTP_HEAD_MAX		(64 * 1024)	/* status line and headers */
#define HTTP_INFO_MAX		5	/* 1xx responses before the answer */
#define HTTP_CHUNK_LINE_MAX	1024
#define HTTP_FRAMING_MAX	(1024 * 1024)	/* body bytes not kept */
#define HTTP_READ_SIZE		(16 * 1024)
#define HTTP_USER_AGENT		"Consul Health Check"
#define HTTP_ACCEPT		"text/plain, text/*, */*"
#define HTTP_TIMEOUT_TEXT	"context deadline exceeded (Client.Timeout " \
				"exceeded while awaiting headers)"
#define HTTP_BROKEN		"net/http: HTTP/1.x transport connection " \
				"broken: "

/* What every probe of a check uses, made once when it is set. */
struct http_prep {
	int			 tls;
	char			*servername;
	struct check_addr	 addr;
	char			*request;
	size_t			 reqlen;
	int			 head;		/* a HEAD: no response body */
	char			*error;		/* every probe's output */
	char			*prefix;	/* of errors: 'Get "url": ' */
	struct tls_config	*trust;		/* the CAs it needs, or NULL */
};

enum http_state {
	HTTP_CONNECTING,
	HTTP_HANDSHAKE,
	HTTP_SENDING,
	HTTP_HEAD,
	HTTP_BODY
};

enum http_body {
	BODY_NONE,
	BODY_LENGTH,
	BODY_CHUNKED,
	BODY_EOF
};

enum http_chunk {
	CHUNK_SIZE,
	CHUNK_DATA,
	CHUNK_DATA_END,
	CHUNK_TRAILER
};

struct http_probe {
	struct check		*check;
	struct http_prep	*prep;
	struct conn		 conn;
	struct event		 timer;
	enum http_state		 state;
	int			 own_trust;	/* verifying with prep->trust */
	int			 full_trust;	/* with the whole bundle */
	size_t			 sent;
	char			*head;
	size_t			 headlen;
	size_t			 headcap;
	size_t			 scanned;
	int			 ninfo;		/* 1xx responses skipped */
	int			 code;
	char			*status;	/* "200 OK" */
	enum http_body		 body;
	uint64_t		 left;		/* of the body or chunk */
	enum http_chunk		 chunk;
	char			 line[HTTP_CHUNK_LINE_MAX];
	size_t			 linelen;
	size_t			 trailers;
	char			*out;
	size_t			 outlen;
	uint64_t		 framing;
};

/* A growing buffer for the request. */
struct http_buf {
	char			*p;
	size_t			 len;
	size_t			 cap;
};

static char	 http_rbuf[HTTP_READ_SIZE];

static void	http_send(struct http_probe *);
static void	http_recv(struct http_probe *);
static void	http_dial(struct http_probe *);
static void	http_io(struct conn *, void *);

static void
buf_add(struct http_buf *b, const void *p, size_t len)
{
	size_t	 cap;

	if (len > b->cap - b->len) {
		cap = b->cap > 0 ? b->cap : 512;
		while (cap - b->len < len)
			cap *= 2;
		if ((b->p = realloc(b->p, cap)) == NULL)
			fatal("check");
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

static void
buf_str(struct http_buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void
buf_header(struct http_buf *b, const char *name, const char *value)
{
	buf_str(b, name);
	buf_str(b, ": ");
	buf_str(b, value);
	buf_str(b, "\r\n");
}

/* Go's %q, near enough: "..." with \" \\ and control bytes escaped. */
static void
http_quote(char *dst, size_t size, const char *s)
{
	size_t	 o = 0;
	char	 esc[8];
	int	 n;

	if (size < 3)
		return;
	dst[o++] = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			n = snprintf(esc, sizeof(esc), "\\%c", *s);
		else if (*s == '\n')
			n = snprintf(esc, sizeof(esc), "\\n");
		else if (*s == '\r')
			n = snprintf(esc, sizeof(esc), "\\r");
		else if (*s == '\t')
			n = snprintf(esc, sizeof(esc), "\\t");
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			n = snprintf(esc, sizeof(esc), "\\x%02x",
			    (unsigned char)*s);
		else {
			esc[0] = *s;
			n = 1;
		}
		if (o + n + 2 > size)
			break;
		memcpy(dst + o, esc, n);
		o += n;
	}
	dst[o++] = '"';
	dst[o] = '\0';
}

static int
http_is_tchar(unsigned char ch)
{
	return isalnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) !=
	    NULL);
}

static int
http_is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!http_is_tchar(*s))
			return 0;
	return 1;
}

static int
http_is_value(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

/* Percent-decoding of the user info; a bad escape stays as it is. */
static void
http_unescape(char *s)
{
	char	*o = s;
	int	 hi, lo;

	for (; *s != '\0'; s++) {
		if (*s == '%' && isxdigit((unsigned char)s[1]) &&
		    isxdigit((unsigned char)s[2])) {
			hi = isdigit((unsigned char)s[1]) ? s[1] - '0' :
			    tolower((unsigned char)s[1]) - 'a' + 10;
			lo = isdigit((unsigned char)s[2]) ? s[2] - '0' :
			    tolower((unsigned char)s[2]) - 'a' + 10;
			*o++ = hi << 4 | lo;
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

static void
http_base64(struct http_buf *b, const unsigned char *p, size_t len)
{
	static const char	 tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char			 q[4];
	uint32_t		 v;
	size_t			 i;

	for (i = 0; i < len; i += 3) {
		v = p[i] << 16;
		if (i + 1 < len)
			v |= p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		q[0] = tab[v >> 18 & 63];
		q[1] = tab[v >> 12 & 63];
		q[2] = i + 1 < len ? tab[v >> 6 & 63] : '=';
		q[3] = i + 2 < len ? tab[v & 63] : '=';
		buf_add(b, q, 4);
	}
}

/* The request target, with what may not appear raw escaped. */
static void
http_add_target(struct http_buf *b, const char *s, size_t len)
{
	char	 esc[4];
	size_t	 i;

	if (len == 0 || *s == '?')
		buf_str(b, "/");
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f) {
			snprintf(esc, sizeof(esc), "%%%02X",
			    (unsigned char)s[i]);
			buf_add(b, esc, 3);
		} else
			buf_add(b, s + i, 1);
	}
}

static const struct check_header *
http_header_get(const struct check *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->nheaders; i++)
		if (strcasecmp(c->headers[i].name, name) == 0)
			return &c->headers[i];
	return NULL;
}

/* Headers of ours that the user's do not repeat (as Go's client). */
static int
http_header_ours(const char *name)
{
	return strcasecmp(name, "Host") == 0 ||
	    strcasecmp(name, "User-Agent") == 0 ||
	    strcasecmp(name, "Content-Length") == 0 ||
	    strcasecmp(name, "Transfer-Encoding") == 0 ||
	    strcasecmp(name, "Trailer") == 0 ||
	    strcasecmp(name, "Connection") == 0;
}

static void
http_error(struct http_prep *hp, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("check");
	va_end(ap);
	if (asprintf(&hp->error, "%s%s", hp->prefix, s) == -1)
		fatal("check");
	free(s);
}

/*
 * What Go's url.Error starts with: 'Get "http://127.0.0.1:9000/": ',
 * the method capitalized as Go does and a password shown as ***.
 */
static void
http_set_prefix(struct http_prep *hp, const char *method, const char *url,
    const char *colon, const char *at)
{
	char	*shown = NULL, *quoted, *op;
	size_t	 len, i;

	free(hp->prefix);
	if (colon != NULL && asprintf(&shown, "%.*s***%s",
	    (int)(colon + 1 - url), url, at) == -1)
		fatal("check");
	if (shown != NULL)
		url = shown;
	len = strlen(url) * 4 + 3;
	if ((quoted = malloc(len)) == NULL || (op = strdup(method)) == NULL)
		fatal("check");
	http_quote(quoted, len, url);
	for (i = 1; op[i] != '\0'; i++)
		op[i] = tolower((unsigned char)op[i]);
	if (asprintf(&hp->prefix, "%s %s: ", op, quoted) == -1)
		fatal("check");
	free(op);
	free(quoted);
	free(shown);
}

/*
 * The URL, as far as a check needs it: http or https, user info, host
 * (an IP literal or localhost) and port, path and query; the request
 * line, Host and Authorization go into req.  What makes the URL
 * unusable is the output of every probe, in hp->error.
 */
static void
http_parse_url(struct check *c, struct http_prep *hp, struct http_buf *req,
    const char *method)
{
	const char		*u = c->target, *p, *auth, *end, *at, *hs;
	const char		*colon = NULL;
	char			 scheme[16], host[CHECK_TARGET_MAX];
	char			 port[CHECK_TARGET_MAX], *user = NULL;
	char			 why[CHECK_TARGET_MAX + 128];
	struct http_buf		 a = { NULL, 0, 0 };
	const struct check_header *h;
	size_t			 n, i;

	for (p = u; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			http_set_prefix(hp, "parse", u, NULL, NULL);
			http_error(hp, "net/url: invalid control character in "
			    "URL");
			return;
		}
	}
	/* The scheme, as Go's url.Parse finds it. */
	for (n = 0; isalpha((unsigned char)u[n]) || (n > 0 &&
	    (isdigit((unsigned char)u[n]) || u[n] == '+' || u[n] == '-' ||
	    u[n] == '.')); n++)
		;
	if (u[n] != ':' || n == 0) {
		http_set_prefix(hp, "parse", u, NULL, NULL);
		if (u[n] == ':')
			http_error(hp, "missing protocol scheme");
		else if (memchr(u, ':', strcspn(u, "/")) != NULL)
			http_error(hp, "first path segment in URL cannot "
			    "contain colon");
		else {
			http_set_prefix(hp, method, u, NULL, NULL);
			http_error(hp, "unsupported protocol scheme \"\"");
		}
		return;
	}
	auth = strncmp(u + n, "://", 3) == 0 ? u + n + 3 : u + n + 1;
	end = auth + strcspn(auth, "/?#");
	at = NULL;
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at != NULL) {
		colon = memchr(auth, ':', at - auth);
		if ((user = strndup(auth, at - auth)) == NULL)
			fatal("check");
	}
	http_set_prefix(hp, method, u, colon, at);
	hs = at != NULL ? at + 1 : auth;

	for (i = 0; i < n && i < sizeof(scheme) - 1; i++)
		scheme[i] = tolower((unsigned char)u[i]);
	scheme[i] = '\0';
	if (strcmp(scheme, "https") == 0)
		hp->tls = 1;
	else if (strcmp(scheme, "http") != 0) {
		http_error(hp, "unsupported protocol scheme \"%s\"", scheme);
		goto done;
	}
	if (strncmp(u + n, "://", 3) != 0) {
		http_error(hp, "http: no Host in request URL");
		goto done;
	}

	/* host[:port] or [v6][:port] */
	strlcpy(port, hp->tls ? "443" : "80", sizeof(port));
	n = end - hs;
	if (n == 0) {
		http_error(hp, "http: no Host in request URL");
		goto done;
	}
	if (*hs == '[') {
		if ((p = memchr(hs, ']', n)) == NULL) {
			http_set_prefix(hp, "parse", u, NULL, NULL);
			http_error(hp, "missing ']' in host");
			goto done;
		}
		memcpy(host, hs + 1, p - hs - 1);
		host[p - hs - 1] = '\0';
		p++;
	} else {
		for (p = hs; p < end && *p != ':'; p++)
			;
		memcpy(host, hs, p - hs);
		host[p - hs] = '\0';
	}
	if (p < end && (*p != ':' || strspn(p + 1, "0123456789") !=
	    (size_t)(end - p - 1))) {
		http_set_prefix(hp, "parse", u, NULL, NULL);
		http_error(hp, "invalid port \"%.*s\" after host",
		    (int)(end - p), p);
		goto done;
	}
	if (p < end && end - p > 1) {
		memcpy(port, p + 1, end - p - 1);
		port[end - p - 1] = '\0';
	}
	if (net_resolve(host, port, &hp->addr, why, sizeof(why)) == -1) {
		http_error(hp, "dial tcp: %s", why);
		goto done;
	}
	if ((hp->servername = strdup(host)) == NULL)
		fatal("check");

	/* The request line and Host, which a user's Host header changes. */
	buf_str(req, method);
	buf_str(req, " ");
	http_add_target(req, end, strcspn(end, "#"));
	buf_str(req, " HTTP/1.1\r\nHost: ");
	if ((h = http_header_get(c, "Host")) != NULL)
		buf_str(req, h->value);
	else
		buf_add(req, hs, n);
	buf_str(req, "\r\n");
	if (user != NULL && http_header_get(c, "Authorization") == NULL) {
		http_unescape(user);
		http_base64(&a, (unsigned char *)user, strlen(user));
		buf_str(req, "Authorization: Basic ");
		buf_add(req, a.p, a.len);
		buf_str(req, "\r\n");
		free(a.p);
	}
 done:
	free(user);
}

/* Parse the target and build the request every probe sends. */
static void
http_prepare(struct check *c)
{
	struct http_prep	*hp;
	struct http_buf		 req = { NULL, 0, 0 };
	const struct check_header *h;
	const char		*method;
	char			 quoted[256], num[32];
	size_t			 i;

	if ((hp = calloc(1, sizeof(*hp))) == NULL)
		fatal("check");
	c->prep = hp;
	method = c->method != NULL && *c->method != '\0' ? c->method : "GET";
	if (!http_is_token(method)) {
		http_quote(quoted, sizeof(quoted), method);
		if (asprintf(&hp->error, "net/http: invalid method %s",
		    quoted) == -1)
			fatal("check");
		return;
	}
	hp->head = strcmp(method, "HEAD") == 0;
	http_parse_url(c, hp, &req, method);
	for (i = 0; hp->error == NULL && i < c->nheaders; i++) {
		h = &c->headers[i];
		http_quote(quoted, sizeof(quoted), h->name);
		if (!http_is_token(h->name))
			http_error(hp, "net/http: invalid header field name %s",
			    quoted);
		else if (!http_is_value(h->value))
			http_error(hp, "net/http: invalid header field value "
			    "for %s", quoted);
	}
	if (hp->error != NULL) {
		free(req.p);
		return;
	}

	h = http_header_get(c, "User-Agent");
	buf_header(&req, "User-Agent", h != NULL && *h->value != '\0' ?
	    h->value : HTTP_USER_AGENT);
	if (c->bodylen > 0 || strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
		snprintf(num, sizeof(num), "%zu", c->bodylen);
		buf_header(&req, "Content-Length", num);
	}
	if (http_header_get(c, "Accept") == NULL)
		buf_header(&req, "Accept", HTTP_ACCEPT);
	for (i = 0; i < c->nheaders; i++)
		if (!http_header_ours(c->headers[i].name))
			buf_header(&req, c->headers[i].name,
			    c->headers[i].value);
	buf_str(&req, "Connection: close\r\n\r\n");
	if (c->bodylen > 0)
		buf_add(&req, c->body, c->bodylen);
	hp->request = req.p;
	hp->reqlen = req.len;
}

static void
http_clear(struct check *c)
{
	struct http_prep	*hp = c->prep;

	tls_config_free(hp->trust);
	free(hp->servername);
	free(hp->prefix);
	free(hp->request);
	free(hp->error);
	free(hp);
	c->prep = NULL;
}

static void
http_stop(struct check *c)
{
	struct http_probe	*p = c->probe;

	evtimer_del(&p->timer);
	conn_close(&p->conn);
	free(p->head);
	free(p->status);
	free(p->out);
	free(p);
	c->probe = NULL;
}

/* A probe that got no answer: critical with Go's error. */
static void
http_fail(struct http_probe *p, const char *fmt, ...)
{
	struct check	*c = p->check;
	va_list		 ap;
	char		*s, *out;
	int		 n;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("check");
	va_end(ap);
	if ((n = asprintf(&out, "%s%s", p->prep->prefix, s)) == -1)
		fatal("check");
	free(s);
	http_stop(c);
	check_report(c, CHECK_CRITICAL, out, n);
	free(out);
}

/* An answer, with as much of its body as was kept. */
static void
http_done(struct http_probe *p)
{
	struct check		*c = p->check;
	enum check_status	 st;
	char			*out;
	int			 n;
	size_t			 len;

	if (p->code >= 200 && p->code <= 299)
		st = CHECK_PASSING;
	else if (p->code == 429)
		st = CHECK_WARNING;
	else
		st = CHECK_CRITICAL;
	n = snprintf(NULL, 0, "HTTP %s %s: %s Output: ",
	    c->method != NULL && *c->method != '\0' ? c->method : "GET",
	    c->target, p->status);
	if (n < 0 || (out = malloc(n + p->outlen + 1)) == NULL)
		fatal("check");
	snprintf(out, n + 1, "HTTP %s %s: %s Output: ",
	    c->method != NULL && *c->method != '\0' ? c->method : "GET",
	    c->target, p->status);
	if (p->outlen > 0)
		memcpy(out + n, p->out, p->outlen);
	len = n + p->outlen;
	http_stop(c);
	check_report(c, st, out, len);
	free(out);
}

static void
http_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct http_probe	*p = arg;

	/* Go gives up reading the body and reports what it has. */
	if (p->state == HTTP_BODY)
		http_done(p);
	else
		http_fail(p, "%s", HTTP_TIMEOUT_TEXT);
}

static void
http_keep(struct http_probe *p, const char *d, size_t n)
{
	size_t	 room = p->check->output_max - p->outlen;

	if (n > room)
		n = room;
	memcpy(p->out + p->outlen, d, n);
	p->outlen += n;
}

/* A chunk size line: hex digits, maybe ";extension". */
static int
http_chunk_size(struct http_probe *p, uint64_t *size)
{
	size_t	 i = 0, len = p->linelen;
	int	 d;

	if (len > 0 && p->line[len - 1] == '\r')
		len--;
	*size = 0;
	for (; i < len && isxdigit((unsigned char)p->line[i]); i++) {
		if (*size >> 59 != 0)
			return -1;
		d = isdigit((unsigned char)p->line[i]) ? p->line[i] - '0' :
		    tolower((unsigned char)p->line[i]) - 'a' + 10;
		*size = *size << 4 | d;
	}
	if (i == 0)
		return -1;
	while (i < len && (p->line[i] == ' ' || p->line[i] == '\t'))
		i++;
	return i == len || p->line[i] == ';' ? 0 : -1;
}

/*
 * Body bytes: 1 once the probe is over (the body ended, is broken, or
 * output_max bytes of it are kept), else 0.  A broken body ends it:
 * Consul reports the status with what it read.
 */
static int
http_body_feed(struct http_probe *p, const char *d, size_t n)
{
	size_t		 k;
	uint64_t	 size;

	p->framing += n;
	while (n > 0 && p->outlen < p->check->output_max) {
		switch (p->body) {
		case BODY_NONE:
			n = 0;
			break;
		case BODY_EOF:
			http_keep(p, d, n);
			n = 0;
			break;
		case BODY_LENGTH:
			k = n < p->left ? n : p->left;
			http_keep(p, d, k);
			p->left -= k;
			d += k;
			n -= k;
			if (p->left == 0)
				goto done;
			break;
		case BODY_CHUNKED:
			switch (p->chunk) {
			case CHUNK_DATA:
				k = n < p->left ? n : p->left;
				http_keep(p, d, k);
				p->left -= k;
				d += k;
				n -= k;
				if (p->left == 0)
					p->chunk = CHUNK_DATA_END;
				break;
			case CHUNK_DATA_END:
				if (*d == '\n')
					p->chunk = CHUNK_SIZE;
				else if (*d != '\r')
					goto done;
				d++;
				n--;
				break;
			case CHUNK_SIZE:
				if (*d != '\n') {
					if (p->linelen == sizeof(p->line))
						goto done;
					p->line[p->linelen++] = *d++;
					n--;
					break;
				}
				d++;
				n--;
				if (http_chunk_size(p, &size) == -1)
					goto done;
				p->linelen = 0;
				p->left = size;
				p->chunk = size > 0 ? CHUNK_DATA :
				    CHUNK_TRAILER;
				break;
			case CHUNK_TRAILER:
				/* Lines up to an empty one; none is kept. */
				if (*d == '\n') {
					if (p->linelen == 0)
						goto done;
					p->linelen = 0;
				} else if (*d != '\r')
					p->linelen++;
				if (++p->trailers > HTTP_HEAD_MAX)
					goto done;
				d++;
				n--;
				break;
			}
			break;
		}
	}
	if (p->outlen < p->check->output_max && p->body != BODY_NONE &&
	    p->framing <= p->check->output_max + HTTP_FRAMING_MAX)
		return 0;
 done:
	http_done(p);
	return 1;
}

/* "HTTP/1.1 200 OK": 0, or -1 after the probe failed. */
static int
http_status_line(struct http_probe *p, char *line)
{
	char	 quoted[256], *sp, *st;

	sp = strchr(line, ' ');
	if (strncmp(line, "HTTP/", 5) != 0 || sp == NULL) {
		http_quote(quoted, sizeof(quoted), line);
		http_fail(p, HTTP_BROKEN "malformed HTTP response %s", quoted);
		return -1;
	}
	*sp = '\0';
	if (sp - line != 8 || !isdigit((unsigned char)line[5]) ||
	    line[6] != '.' || !isdigit((unsigned char)line[7])) {
		http_quote(quoted, sizeof(quoted), line);
		http_fail(p, HTTP_BROKEN "malformed HTTP version %s", quoted);
		return -1;
	}
	for (st = sp + 1; *st == ' '; st++)
		;
	if (!isdigit((unsigned char)st[0]) || !isdigit((unsigned char)st[1])
	    || !isdigit((unsigned char)st[2]) ||
	    (st[3] != '\0' && st[3] != ' ')) {
		st[strcspn(st, " ")] = '\0';
		http_quote(quoted, sizeof(quoted), st);
		http_fail(p, HTTP_BROKEN "malformed HTTP status code %s",
		    quoted);
		return -1;
	}
	p->code = (st[0] - '0') * 100 + (st[1] - '0') * 10 + (st[2] - '0');
	free(p->status);
	if ((p->status = strdup(st)) == NULL)
		fatal("check");
	return 0;
}

/*
 * The head in p->head[0, end): 1 for an informational (1xx) response,
 * 0 for the answer, -1 after the probe failed.
 */
static int
http_parse_head(struct http_probe *p, size_t end)
{
	char		*s = p->head, *e = p->head + end, *nl, *line, *colon;
	char		*v, *ve, quoted[256], *cl = NULL, *te = NULL;
	uint64_t	 len = 0, d;
	int		 first = 1, have_len = 0;

	for (; s < e; s = nl + 1) {
		nl = memchr(s, '\n', e - s);
		*nl = '\0';
		if (nl > s && nl[-1] == '\r')
			nl[-1] = '\0';
		line = s;
		if (first) {
			if (http_status_line(p, line) == -1)
				return -1;
			first = 0;
			continue;
		}
		if (*line == '\0')
			break;
		if (*line == ' ' || *line == '\t')
			continue;	/* an obsolete folded line */
		if ((colon = strchr(line, ':')) == NULL || colon == line) {
			http_quote(quoted, sizeof(quoted), line);
			http_fail(p, HTTP_BROKEN "malformed MIME header line: "
			    "%s", quoted);
			return -1;
		}
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (ve = v + strlen(v); ve > v && (ve[-1] == ' ' ||
		    ve[-1] == '\t'); ve--)
			;
		*ve = '\0';
		if (strcasecmp(line, "Content-Length") == 0) {
			if (cl != NULL && strcmp(cl, v) != 0) {
				http_fail(p, HTTP_BROKEN "http: message cannot "
				    "contain multiple Content-Length headers");
				return -1;
			}
			cl = v;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0)
			te = v;
	}
	if (p->code >= 100 && p->code <= 199 && p->code != 101) {
		if (++p->ninfo > HTTP_INFO_MAX) {
			http_fail(p, HTTP_BROKEN "net/http: too many 1xx "
			    "informational responses");
			return -1;
		}
		return 1;
	}
	if (cl != NULL) {
		for (v = cl; isdigit((unsigned char)*v); v++) {
			d = *v - '0';
			if (len > (UINT64_MAX - d) / 10)
				break;
			len = len * 10 + d;
		}
		if (*cl == '\0' || *v != '\0') {
			http_quote(quoted, sizeof(quoted), cl);
			http_fail(p, HTTP_BROKEN "bad Content-Length %s",
			    quoted);
			return -1;
		}
		have_len = 1;
	}
	if (te != NULL && strcasecmp(te, "chunked") != 0 &&
	    strcasecmp(te, "identity") != 0) {
		http_quote(quoted, sizeof(quoted), te);
		http_fail(p, HTTP_BROKEN "unsupported transfer encoding: %s",
		    quoted);
		return -1;
	}
	if (p->prep->head || p->code == 204 || p->code == 304 ||
	    p->code == 101)
		p->body = BODY_NONE;
	else if (te != NULL && strcasecmp(te, "chunked") == 0) {
		p->body = BODY_CHUNKED;
		p->chunk = CHUNK_SIZE;
	} else if (have_len) {
		p->body = len > 0 ? BODY_LENGTH : BODY_NONE;
		p->left = len;
	} else
		p->body = BODY_EOF;
	return 0;
}

/* Where the head ends (after its empty line), or 0 if not yet. */
static size_t
http_head_end(struct http_probe *p)
{
	size_t	 i;

	for (i = p->scanned; i < p->headlen; i++) {
		if (p->head[i] != '\n')
			continue;
		if (i + 1 < p->headlen && p->head[i + 1] == '\n')
			return i + 2;
		if (i + 2 < p->headlen && p->head[i + 1] == '\r' &&
		    p->head[i + 2] == '\n')
			return i + 3;
	}
	p->scanned = p->headlen > 2 ? p->headlen - 2 : 0;
	return 0;
}

/* Bytes from the server: 1 once the probe is over, else 0. */
static int
http_feed(struct http_probe *p, const char *d, size_t n)
{
	size_t	 take, end, cap;
	int	 r;

	while (p->state == HTTP_HEAD) {
		take = HTTP_HEAD_MAX - p->headlen;
		if (take > n)
			take = n;
		if (p->headlen + take + 1 > p->headcap) {
			cap = p->headcap > 0 ? p->headcap : 1024;
			while (cap < p->headlen + take + 1)
				cap *= 2;
			if (cap > HTTP_HEAD_MAX + 1)
				cap = HTTP_HEAD_MAX + 1;
			if ((p->head = realloc(p->head, cap)) == NULL)
				fatal("check");
			p->headcap = cap;
		}
		memcpy(p->head + p->headlen, d, take);
		p->headlen += take;
		d += take;
		n -= take;
		if ((end = http_head_end(p)) == 0) {
			if (p->headlen < HTTP_HEAD_MAX)
				return 0;
			http_fail(p, "net/http: server response headers "
			    "exceeded %d bytes; aborted", HTTP_HEAD_MAX);
			return 1;
		}
		if ((r = http_parse_head(p, end)) == -1)
			return 1;
		memmove(p->head, p->head + end, p->headlen - end);
		p->headlen -= end;
		p->scanned = 0;
		if (r == 1)
			continue;
		p->state = HTTP_BODY;
		if ((p->out = malloc(p->check->output_max)) == NULL)
			fatal("check");
		if (p->body == BODY_NONE) {
			http_done(p);
			return 1;
		}
		if (http_body_feed(p, p->head, p->headlen))
			return 1;
		free(p->head);
		p->head = NULL;
		p->headlen = p->headcap = 0;
	}
	return n > 0 && http_body_feed(p, d, n);
}

static void
http_recv(struct http_probe *p)
{
	ssize_t	 n;

	for (;;) {
		n = conn_read(&p->conn, http_rbuf, sizeof(http_rbuf));
		if (n == CONN_WANT_READ || n == CONN_WANT_WRITE) {
			conn_wait(&p->conn, n == CONN_WANT_READ ? EV_READ :
			    EV_WRITE);
			return;
		}
		if (n <= 0)
			break;
		if (http_feed(p, http_rbuf, n))
			return;
	}
	if (p->state == HTTP_BODY)
		http_done(p);
	else if (n == -1)
		http_fail(p, "%s", p->conn.err);
	else if (p->headlen == 0 && p->ninfo == 0)
		http_fail(p, "EOF");
	else
		http_fail(p, HTTP_BROKEN "unexpected EOF");
}

static void
http_send(struct http_probe *p)
{
	struct http_prep	*hp = p->prep;
	ssize_t			 n;

	while (p->sent < hp->reqlen) {
		n = conn_write(&p->conn, hp->request + p->sent,
		    hp->reqlen - p->sent);
		if (n == CONN_WANT_READ || n == CONN_WANT_WRITE) {
			conn_wait(&p->conn, n == CONN_WANT_READ ? EV_READ :
			    EV_WRITE);
			return;
		}
		if (n <= 0) {
			http_fail(p, "%s", n == -1 ? p->conn.err : "EOF");
			return;
		}
		p->sent += n;
	}
	p->state = HTTP_HEAD;
	http_recv(p);
}

static void
http_handshake(struct http_probe *p)
{
	int	 r;

	r = conn_handshake(&p->conn);
	if (r == CONN_WANT_READ || r == CONN_WANT_WRITE) {
		conn_wait(&p->conn, r == CONN_WANT_READ ? EV_READ : EV_WRITE);
		return;
	}
	if (r == -1 && p->own_trust) {
		/* The server may have changed CA: the whole bundle, now. */
		tls_config_free(p->prep->trust);
		p->prep->trust = NULL;
		p->full_trust = 1;
		http_dial(p);
		return;
	}
	if (r == -1) {
		http_fail(p, "%s", p->conn.err);
		return;
	}
	if (!p->check->tls_skip_verify && p->prep->trust == NULL)
		p->prep->trust = trust_for_peer(p->conn.tls);
	p->state = HTTP_SENDING;
	http_send(p);
}

static void
http_connected(struct http_probe *p)
{
	struct tls_config	*cfg;

	if (!p->prep->tls) {
		p->state = HTTP_SENDING;
		http_send(p);
		return;
	}
	cfg = trust_config(p->check->tls_skip_verify);
	p->own_trust = 0;
	if (!p->check->tls_skip_verify && !p->full_trust &&
	    p->prep->trust != NULL) {
		cfg = p->prep->trust;
		p->own_trust = 1;
	}
	if (conn_starttls(&p->conn, cfg, p->prep->servername) == -1) {
		http_fail(p, "%s", p->conn.err);
		return;
	}
	p->state = HTTP_HANDSHAKE;
	http_handshake(p);
}

/* Connect, again if need be, within the probe's one timeout. */
static void
http_dial(struct http_probe *p)
{
	conn_close(&p->conn);
	conn_init(&p->conn);
	p->state = HTTP_CONNECTING;
	switch (conn_open(&p->conn, check_base(), &p->prep->addr, http_io,
	    p)) {
	case -1:
		http_fail(p, "dial tcp %s: %s", p->prep->addr.text,
		    p->conn.err);
		break;
	case 1:
		http_connected(p);
		break;
	}
}

static void
http_io(struct conn *conn, void *arg)
{
	struct http_probe	*p = arg;

	switch (p->state) {
	case HTTP_CONNECTING:
		if (conn_connected(conn) == -1)
			http_fail(p, "dial tcp %s: %s", p->prep->addr.text,
			    conn->err);
		else
			http_connected(p);
		break;
	case HTTP_HANDSHAKE:
		http_handshake(p);
		break;
	case HTTP_SENDING:
		http_send(p);
		break;
	case HTTP_HEAD:
	case HTTP_BODY:
		http_recv(p);
		break;
	}
}

static void
http_start(struct check *c)
{
	struct http_prep	*hp = c->prep;
	struct http_probe	*p;
	struct timeval		 tv;

	if (hp->error != NULL) {
		check_report(c, CHECK_CRITICAL, hp->error, strlen(hp->error));
		return;
	}
	if (hp->tls && !c->tls_skip_verify && !trust_have_ca()) {
		char	*out;
		int	 n;

		if ((n = asprintf(&out, "%stls: no CA certificates (%s could "
		    "not be read)", hp->prefix, CHECK_CA_FILE)) == -1)
			fatal("check");
		check_report(c, CHECK_CRITICAL, out, n);
		free(out);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("check");
	p->check = c;
	p->prep = hp;
	conn_init(&p->conn);
	c->probe = p;
	evtimer_assign(&p->timer, check_base(), http_timeout, p);
	tv.tv_sec = c->timeout_ms / 1000;
	tv.tv_usec = (c->timeout_ms % 1000) * 1000;
	if (evtimer_add(&p->timer, &tv) == -1)
		fatalx("check: cannot time a probe");
	http_dial(p);
}

const struct check_ops http_ops = {
	http_prepare,
	http_start,
	http_stop,
	http_clear
};
