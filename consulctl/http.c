/*
 * A small blocking HTTP/1.1 client for talking to the local agent: TCP
 * (host:port, http://host:port[/prefix]) or a unix socket
 * (unix:///path), one request per connection, bounded responses, bodies
 * framed by Content-Length, chunks or the end of the connection.  Errors
 * read as those of Consul's Go client, so that the commands can print
 * them the way `consul` does.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "consulctl.h"
#include "fdio.h"

#define HTTP_MAX_RESPONSE	(64u * 1024 * 1024)
#define HTTP_MAX_TOKEN		4096

/* Where a request goes, taken apart from -http-addr. */
struct http_target {
	char	*host;		/* host[:port], or the socket path */
	char	*prefix;	/* "/prefix" of a reverse proxy, or "" */
	int	 unix_socket;
};

/* Go's error texts from syscalls are strerror() in lower case. */
static void
go_strerror(char *buf, size_t len, int error)
{
	snprintf(buf, len, "%s", strerror(error));
	if (buf[0] != '\0' && isupper((unsigned char)buf[0]) &&
	    !isupper((unsigned char)buf[1]))
		buf[0] = tolower((unsigned char)buf[0]);
}

/* Escape every byte of s that is neither unreserved nor in keep. */
void
http_escape(FILE *f, const char *s, const char *keep)
{
	unsigned char	 c;

	for (; *s != '\0'; s++) {
		c = *s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~' || (keep != NULL && strchr(keep, c) != NULL))
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

static void
target_free(struct http_target *t)
{
	free(t->host);
	free(t->prefix);
	memset(t, 0, sizeof(*t));
}

/* Split an address as Consul's api.NewClient does. */
static int
target_parse(const char *addr, struct http_target *t, char *err,
    size_t errlen)
{
	const char	*sep, *slash;

	memset(t, 0, sizeof(*t));
	if ((sep = strstr(addr, "://")) != NULL) {
		if (sep - addr == 4 && strncmp(addr, "http", 4) == 0)
			addr = sep + 3;
		else if (sep - addr == 5 && strncmp(addr, "https", 5) == 0) {
			snprintf(err, errlen, "HTTPS is not supported yet "
			    "(%s); use http:// or unix://", addr);
			return -1;
		} else if (sep - addr == 4 && strncmp(addr, "unix", 4) == 0) {
			t->unix_socket = 1;
			if ((t->host = strdup(sep + 3)) == NULL ||
			    (t->prefix = strdup("")) == NULL)
				goto fail;
			return 0;
		} else {
			snprintf(err, errlen, "Unknown protocol scheme: %.*s",
			    (int)(sep - addr), addr);
			return -1;
		}
	}
	if ((slash = strchr(addr, '/')) != NULL) {
		t->host = strndup(addr, slash - addr);
		t->prefix = strdup(slash);
	} else {
		t->host = strdup(addr);
		t->prefix = strdup("");
	}
	if (t->host == NULL || t->prefix == NULL)
		goto fail;
	return 0;
 fail:
	snprintf(err, errlen, "%s", strerror(errno));
	target_free(t);
	return -1;
}

/* Connect; on failure err holds Go's "dial tcp ...: connect: ..." text. */
static int
http_connect(const struct http_target *t, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct addrinfo		 hints, *res, *ai;
	char			 host[256], *colon, why[128];
	char			 nhost[NI_MAXHOST], nport[NI_MAXSERV];
	const char		*port;
	int			 fd = -1, error, saved = 0;

	if (t->unix_socket) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlcpy(sun.sun_path, t->host, sizeof(sun.sun_path)) >=
		    sizeof(sun.sun_path)) {
			snprintf(err, errlen, "dial unix %s: socket path too "
			    "long", t->host);
			return -1;
		}
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			go_strerror(why, sizeof(why), errno);
			snprintf(err, errlen, "dial unix %s: connect: %s",
			    t->host, why);
			if (fd != -1)
				close(fd);
			return -1;
		}
		return fd;
	}

	if (strlcpy(host, t->host, sizeof(host)) >= sizeof(host)) {
		snprintf(err, errlen, "dial tcp %s: address too long",
		    t->host);
		return -1;
	}
	port = "8500";
	if (host[0] == '[') {
		if ((colon = strchr(host, ']')) == NULL) {
			snprintf(err, errlen, "dial tcp %s: missing ']' in "
			    "address", t->host);
			return -1;
		}
		*colon = '\0';
		if (colon[1] == ':')
			port = colon + 2;
		memmove(host, host + 1, strlen(host + 1) + 1);
	} else if ((colon = strrchr(host, ':')) != NULL) {
		*colon = '\0';
		port = colon + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "dial tcp: lookup %s: %s", host,
		    error == EAI_NONAME ? "no such host" :
		    gai_strerror(error));
		return -1;
	}
	nhost[0] = nport[0] = '\0';
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, nhost,
		    sizeof(nhost), nport, sizeof(nport),
		    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			nhost[0] = nport[0] = '\0';
		if ((fd = socket(ai->ai_family, ai->ai_socktype, 0)) == -1) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		go_strerror(why, sizeof(why), saved);
		snprintf(err, errlen, "dial tcp %s%s%s%s: connect: %s",
		    strchr(nhost, ':') ? "[" : "", nhost,
		    strchr(nhost, ':') ? "]:" : ":", nport, why);
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * Wait for the answer or for cancel_fd to become readable; 1 when
 * cancelled, 0 when there is something to read, -1 on error.
 */
static int
http_wait(int fd, int cancel_fd)
{
	struct pollfd	 pfd[2];

	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = cancel_fd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd[1].revents != 0)
			return 1;
		return 0;
	}
}

/* The first line of a token file, as the token. */
static char *
read_token(const char *path, char *err, size_t errlen)
{
	char	 buf[HTTP_MAX_TOKEN], why[128];
	FILE	*f;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL) {
		go_strerror(why, sizeof(why), errno);
		snprintf(err, errlen, "Error loading token file: open %s: %s",
		    path, why);
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

/*
 * Undo chunked transfer coding in place; returns the body length or
 * (size_t)-1 when the chunks do not add up.
 */
static size_t
dechunk(char *body, size_t len)
{
	char		*end;
	size_t		 in = 0, out = 0, eol;
	unsigned long	 n;

	for (;;) {
		if (in >= len || !isxdigit((unsigned char)body[in]))
			return (size_t)-1;
		errno = 0;
		n = strtoul(body + in, &end, 16);
		if (errno != 0 || n > len)
			return (size_t)-1;
		/* Skip chunk extensions up to the end of the size line. */
		for (eol = end - body; eol + 1 < len; eol++)
			if (body[eol] == '\r' && body[eol + 1] == '\n')
				break;
		if (eol + 1 >= len)
			return (size_t)-1;
		in = eol + 2;
		if (n == 0)
			return out;
		if (n > len - in || len - in - n < 2 ||
		    body[in + n] != '\r' || body[in + n + 1] != '\n')
			return (size_t)-1;
		memmove(body + out, body + in, n);
		out += n;
		in += n + 2;
	}
}

/* Parse what the server sent: status line, headers, body. */
static int
http_parse(char *raw, size_t len, struct http_response *resp)
{
	char	*hdr_end, *line, *next, *v;
	size_t	 hlen, clen = (size_t)-1;
	int	 chunked = 0;

	if ((hdr_end = memmem(raw, len, "\r\n\r\n", 4)) == NULL)
		return -1;
	*hdr_end = '\0';
	hlen = hdr_end + 4 - raw;
	if (sscanf(raw, "HTTP/1.%*d %d", &resp->status) != 1)
		return -1;
	for (line = strstr(raw, "\r\n"); line != NULL; line = next) {
		line += 2;
		next = strstr(line, "\r\n");
		if (next != NULL)
			*next = '\0';
		if ((v = strchr(line, ':')) == NULL)
			continue;
		*v++ = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		if (strcasecmp(line, "Content-Length") == 0)
			clen = strtoull(v, NULL, 10);
		else if (strcasecmp(line, "Transfer-Encoding") == 0 &&
		    strcasestr(v, "chunked") != NULL)
			chunked = 1;
		else if (strcasecmp(line, "X-Consul-Index") == 0 &&
		    resp->index == NULL)
			resp->index = strdup(v);
		if (next == NULL)
			break;
	}
	if (chunked) {
		if ((clen = dechunk(raw + hlen, len - hlen)) == (size_t)-1)
			return -1;
	} else if (clen == (size_t)-1 || clen > len - hlen)
		clen = len - hlen;
	if ((resp->body = malloc(clen + 1)) == NULL)
		return -1;
	memcpy(resp->body, raw + hlen, clen);
	resp->body[clen] = '\0';
	resp->len = clen;
	return 0;
}

/*
 * One request.  ctype, when not NULL, is the Content-Type of the body.
 * The -datacenter option becomes ?dc= on every request and -stale
 * becomes ?stale on reads, as in Consul's client.  Returns 0 with the
 * response (whatever its status), -1 when the agent could not be asked
 * (err: Go's text, `Get "http://...": dial tcp ...`), -2 when the
 * options are unusable (err: `Unknown protocol scheme: ftp`), or -3 when
 * o->cancel_fd became readable while waiting for the answer.
 */
int
http_send(const struct http_opts *o, const char *method, const char *path,
    const char *ctype, const void *body, size_t bodylen,
    struct http_response *resp, char *err, size_t errlen)
{
	struct http_target	 t;
	FILE			*f;
	char			 op[16], why[128], dial[512];
	char			*url = NULL, *uhost = NULL, *req = NULL;
	char			*raw = NULL, *token = NULL;
	size_t			 urllen, uhostlen, rawlen = 0, rawsize = 0, i;
	ssize_t			 n;
	int			 fd = -1, reqlen = -1, rc = -1, query;

	memset(resp, 0, sizeof(*resp));
	if (target_parse(o->addr, &t, err, errlen) == -1)
		return -2;
	if (o->token_file != NULL && *o->token_file != '\0') {
		if ((token = read_token(o->token_file, err, errlen)) == NULL) {
			target_free(&t);
			return -2;
		}
	} else if (o->token != NULL && *o->token != '\0')
		token = strdup(o->token);

	/* The request target: prefix, path, then the common parameters. */
	if ((f = open_memstream(&url, &urllen)) == NULL)
		goto syserr;
	fprintf(f, "%s%s", t.prefix, path);
	query = strchr(path, '?') != NULL;
	if (o->datacenter != NULL && *o->datacenter != '\0') {
		fputs(query ? "&dc=" : "?dc=", f);
		http_escape(f, o->datacenter, NULL);
		query = 1;
	}
	if (o->stale && strcmp(method, "GET") == 0)
		fputs(query ? "&stale=" : "?stale=", f);
	if (fclose(f) != 0)
		goto syserr;

	/* Go names the request in errors: Get "http://host/path". */
	snprintf(op, sizeof(op), "%s", method);
	for (i = 1; op[i] != '\0'; i++)
		op[i] = tolower((unsigned char)op[i]);
	if ((f = open_memstream(&uhost, &uhostlen)) == NULL)
		goto syserr;
	if (t.unix_socket)
		http_escape(f, t.host, NULL);
	else
		fputs(t.host, f);
	if (fclose(f) != 0)
		goto syserr;

	if ((fd = http_connect(&t, dial, sizeof(dial))) == -1) {
		snprintf(err, errlen, "%s \"http://%s%s\": %s", op, uhost, url,
		    dial);
		goto done;
	}
	reqlen = asprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: consulctl\r\nConnection: close\r\n"
	    "Content-Length: %zu\r\n%s%s%s%s%s%s\r\n", method, url,
	    t.unix_socket ? "localhost" : t.host, bodylen,
	    ctype ? "Content-Type: " : "", ctype ? ctype : "",
	    ctype ? "\r\n" : "",
	    token ? "X-Consul-Token: " : "", token ? token : "",
	    token ? "\r\n" : "");
	if (reqlen == -1) {
		req = NULL;
		goto syserr;
	}
	if (fd_write_all(fd, req, reqlen) == -1 ||
	    (bodylen > 0 && fd_write_all(fd, body, bodylen) == -1)) {
		go_strerror(why, sizeof(why), errno);
		snprintf(err, errlen, "%s \"http://%s%s\": write: %s", op,
		    uhost, url, why);
		goto done;
	}
	for (;;) {
		if (rawlen == rawsize) {
			if (rawsize >= HTTP_MAX_RESPONSE) {
				snprintf(err, errlen, "%s \"http://%s%s\": "
				    "response larger than %u bytes", op, uhost,
				    url, HTTP_MAX_RESPONSE);
				goto done;
			}
			rawsize = rawsize ? rawsize * 2 : 65536;
			if ((raw = realloc(raw, rawsize)) == NULL)
				goto syserr;
		}
		if (o->cancel_fd != NULL) {
			n = http_wait(fd, *o->cancel_fd);
			if (n == 1) {
				snprintf(err, errlen, "%s \"http://%s%s\": "
				    "interrupted", op, uhost, url);
				rc = -3;
				goto done;
			}
			if (n == -1) {
				go_strerror(why, sizeof(why), errno);
				snprintf(err, errlen, "%s \"http://%s%s\": "
				    "poll: %s", op, uhost, url, why);
				goto done;
			}
		}
		n = read(fd, raw + rawlen, rawsize - rawlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			go_strerror(why, sizeof(why), errno);
			snprintf(err, errlen, "%s \"http://%s%s\": read: %s",
			    op, uhost, url, why);
			goto done;
		}
		if (n == 0)
			break;
		rawlen += n;
	}
	if (rawlen == 0) {
		snprintf(err, errlen, "%s \"http://%s%s\": EOF", op, uhost,
		    url);
		goto done;
	}
	if (http_parse(raw, rawlen, resp) == -1) {
		http_response_free(resp);
		snprintf(err, errlen, "%s \"http://%s%s\": malformed HTTP "
		    "response", op, uhost, url);
		goto done;
	}
	rc = 0;
	goto done;
 syserr:
	snprintf(err, errlen, "%s", strerror(errno));
 done:
	if (fd != -1)
		close(fd);
	if (req != NULL && reqlen > 0)
		explicit_bzero(req, reqlen);	/* it holds the token */
	if (token != NULL)
		explicit_bzero(token, strlen(token));
	target_free(&t);
	free(token);
	free(url);
	free(uhost);
	free(req);
	free(raw);
	return rc;
}

/*
 * One request, errors printed as every command but kv prints them:
 * transport errors as "Error querying Consul agent: ...".
 */
int
http_request(const struct http_opts *o, const char *method, const char *path,
    const void *body, size_t bodylen, struct http_response *resp)
{
	char	 err[1024];
	int	 rc;

	if ((rc = http_send(o, method, path, NULL, body, bodylen, resp, err,
	    sizeof(err))) == 0)
		return 0;
	fprintf(stderr, "%s: %s\n", rc == -2 ? "Error connecting to Consul "
	    "agent" : "Error querying Consul agent", err);
	return -1;
}

/* Consul's text for a status it did not expect; the body trimmed. */
void
http_unexpected(const struct http_response *resp, char *err, size_t errlen)
{
	const char	*b = resp->body ? resp->body : "";
	size_t		 len = resp->body ? resp->len : 0;

	while (len > 0 && isspace((unsigned char)*b)) {
		b++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)b[len - 1]))
		len--;
	snprintf(err, errlen, "Unexpected response code: %d (%.*s)",
	    resp->status, (int)len, b);
}

void
http_response_free(struct http_response *resp)
{
	free(resp->body);
	free(resp->index);
	memset(resp, 0, sizeof(resp[0]));
}

/*
 * GET a JSON document.  what names the request in errors ("agent
 * info"); a non-200 answer is printed as Consul prints it.
 */
json_t *
http_get_json(const struct http_opts *o, const char *path, const char *what)
{
	struct http_response	 resp;
	json_error_t		 jerr;
	json_t			*doc;
	char			 err[1024];

	if (http_request(o, "GET", path, NULL, 0, &resp) == -1)
		return NULL;
	if (resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		fprintf(stderr, "Error querying %s: %s\n", what, err);
		http_response_free(&resp);
		return NULL;
	}
	doc = json_loadb(resp.body, resp.len, 0, &jerr);
	if (doc == NULL)
		fprintf(stderr, "Error decoding %s: %s\n", what, jerr.text);
	http_response_free(&resp);
	return doc;
}

/* Go's name for the JSON type of v, as its decoder's errors give it. */
const char *
json_kind(json_t *v)
{
	if (json_is_object(v))
		return "object";
	if (json_is_array(v))
		return "array";
	if (json_is_string(v))
		return "string";
	if (json_is_boolean(v))
		return "bool";
	return "number";
}

/* Member k of object o when it is a string, else "". */
const char *
json_str(json_t *o, const char *k)
{
	json_t	*v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "";
}

/* qsort(3) order of an array of strings. */
int
str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}
