/*
 * A small blocking HTTP/1.1 client for talking to the local agent: TCP
 * (host:port, http://host:port[/prefix]) or a unix socket
 * (unix:///path), one request per connection, bounded responses, bodies
 * framed by Content-Length, chunks or the end of the connection, over
 * TLS (libtls) for https:// or CONSUL_HTTP_SSL.  Errors
 * read as those of Consul's Go client, so that the commands can print
 * them the way `consul` does.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <tls.h>

#include "consulctl.h"
#include "fdio.h"

#define HTTP_MAX_RESPONSE	(64u * 1024 * 1024)
#define HTTP_MAX_TOKEN		4096

/* Where a request goes, taken apart from -http-addr. */
struct http_target {
	char	*host;		/* host[:port], or the socket path */
	char	*prefix;	/* "/prefix" of a reverse proxy, or "" */
	int	 unix_socket;
	int	 tls;		/* https:// */
};

/* One connection: the socket, and libtls over it for HTTPS. */
struct http_conn {
	int		 fd;
	struct tls	*tls;
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
			t->tls = 1;
			addr = sep + 3;
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
 * Wait for the answer (or, out, for room to write) or for cancel_fd
 * (-1: none) to become readable; 1 when cancelled, 0 when the socket is
 * ready, -1 on error.
 */
static int
http_wait(int fd, int cancel_fd, int out)
{
	struct pollfd	 pfd[2];

	pfd[0].fd = fd;
	pfd[0].events = out ? POLLOUT : POLLIN;
	pfd[1].fd = cancel_fd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (cancel_fd != -1 && pfd[1].revents != 0)
			return 1;
		return 0;
	}
}

/* The host part of host[:port] or [ip6]:port, for the TLS server name. */
static void
http_host_only(const char *hostport, char *buf, size_t len)
{
	char	*p;

	strlcpy(buf, hostport, len);
	if (buf[0] == '[') {
		if ((p = strchr(buf, ']')) != NULL)
			*p = '\0';
		memmove(buf, buf + 1, strlen(buf + 1) + 1);
	} else if ((p = strrchr(buf, ':')) != NULL)
		*p = '\0';
}

/*
 * The certificates of -ca-file and of every .pem or .crt file in
 * -ca-path, as Consul reads a CA directory (no hashed names needed).
 */
static int
http_ca_load(const struct http_opts *o, struct tls_config *cfg, char *err,
    size_t errlen)
{
	struct dirent	**ents = NULL;
	FILE		*mem, *f;
	char		*buf = NULL, path[4096], chunk[8192];
	size_t		 len = 0, l, n;
	int		 i, nents = 0, rc = -1;

	if ((mem = open_memstream(&buf, &len)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (o->ca_path != NULL && *o->ca_path != '\0' &&
	    (nents = scandir(o->ca_path, &ents, NULL, alphasort)) == -1) {
		snprintf(err, errlen, "tls: ca path %s: %s", o->ca_path,
		    strerror(errno));
		nents = 0;
		goto done;
	}
	for (i = -1; i < nents; i++) {
		if (i == -1) {
			if (o->ca_file == NULL || *o->ca_file == '\0')
				continue;
			strlcpy(path, o->ca_file, sizeof(path));
		} else {
			l = strlen(ents[i]->d_name);
			if (l < 5 || (strcmp(ents[i]->d_name + l - 4,
			    ".pem") != 0 && strcmp(ents[i]->d_name + l - 4,
			    ".crt") != 0))
				continue;
			snprintf(path, sizeof(path), "%s/%s", o->ca_path,
			    ents[i]->d_name);
		}
		if ((f = fopen(path, "r")) == NULL) {
			snprintf(err, errlen, "tls: %.300s: %s", path,
			    strerror(errno));
			goto done;
		}
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, mem);
		fputc('\n', mem);
		fclose(f);
	}
	rc = 0;
 done:
	for (i = 0; i < nents; i++)
		free(ents[i]);
	free(ents);
	if (fclose(mem) != 0)
		rc = -1;
	if (rc == 0 && len > 0 &&
	    tls_config_set_ca_mem(cfg, (uint8_t *)buf, len) == -1) {
		snprintf(err, errlen, "tls: %s", tls_config_error(cfg));
		rc = -1;
	}
	free(buf);
	return rc;
}

/* TLS over the connected socket; -1 with err (libtls' words). */
static int
http_tls_start(const struct http_opts *o, const struct http_target *t,
    struct http_conn *c, char *err, size_t errlen)
{
	struct tls_config	*cfg;
	char			 name[256];
	int			 r, flags;

	if ((cfg = tls_config_new()) == NULL ||
	    (c->tls = tls_client()) == NULL) {
		snprintf(err, errlen, "tls: out of memory");
		tls_config_free(cfg);
		return -1;
	}
	if (http_ca_load(o, cfg, err, errlen) == -1) {
		tls_config_free(cfg);
		return -1;
	}
	if ((o->client_cert != NULL && *o->client_cert != '\0' &&
	    tls_config_set_keypair_file(cfg, o->client_cert,
	    o->client_key != NULL ? o->client_key : "") == -1)) {
		snprintf(err, errlen, "tls: %s", tls_config_error(cfg));
		tls_config_free(cfg);
		return -1;
	}
	if (o->ssl_noverify) {
		tls_config_insecure_noverifycert(cfg);
		tls_config_insecure_noverifyname(cfg);
	}
	if (o->tls_server_name != NULL && *o->tls_server_name != '\0')
		strlcpy(name, o->tls_server_name, sizeof(name));
	else
		http_host_only(t->host, name, sizeof(name));
	if (tls_configure(c->tls, cfg) == -1 ||
	    tls_connect_socket(c->tls, c->fd, name) == -1) {
		snprintf(err, errlen, "tls: %s", tls_error(c->tls));
		tls_config_free(cfg);
		return -1;
	}
	tls_config_free(cfg);
	/* Non-blocking, so that a cancel_fd is heard during a read. */
	if ((flags = fcntl(c->fd, F_GETFL)) == -1 ||
	    fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		return -1;
	}
	while ((r = tls_handshake(c->tls)) != 0) {
		if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
			if (http_wait(c->fd, -1, r == TLS_WANT_POLLOUT) == -1)
				return -1;
			continue;
		}
		snprintf(err, errlen, "tls: %s", tls_error(c->tls));
		return -1;
	}
	return 0;
}

static int
conn_write_all(struct http_conn *c, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	if (c->tls == NULL)
		return fd_write_all(c->fd, buf, len);
	while (len > 0) {
		n = tls_write(c->tls, p, len);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
			if (http_wait(c->fd, -1, n == TLS_WANT_POLLOUT) == -1)
				return -1;
			continue;
		}
		if (n < 0) {
			errno = EPROTO;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Like read(2); -3 when cancel_fd (-1: none) became readable first. */
static ssize_t
conn_read(struct http_conn *c, void *buf, size_t len, int cancel_fd)
{
	ssize_t	 n;
	int	 w;

	if (c->tls == NULL) {
		if (cancel_fd != -1 &&
		    (w = http_wait(c->fd, cancel_fd, 0)) != 0)
			return w == 1 ? -3 : -1;
		return read(c->fd, buf, len);
	}
	for (;;) {
		n = tls_read(c->tls, buf, len);
		if (n != TLS_WANT_POLLIN && n != TLS_WANT_POLLOUT)
			break;
		if ((w = http_wait(c->fd, cancel_fd,
		    n == TLS_WANT_POLLOUT)) != 0)
			return w == 1 ? -3 : -1;
	}
	/*
	 * A server that closes without a close_notify (Go's and evhttp's
	 * habit after "Connection: close") ends the body like a plain EOF.
	 */
	if (n == -1 && tls_error(c->tls) != NULL &&
	    strstr(tls_error(c->tls), "unexpected eof") != NULL)
		return 0;
	if (n < 0)
		errno = EPROTO;
	return n;
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
	struct http_conn	 conn = { -1, NULL };
	FILE			*f;
	const char		*scheme;
	char			 op[16], why[128], dial[512];
	char			*url = NULL, *uhost = NULL, *req = NULL;
	char			*raw = NULL, *token = NULL;
	size_t			 urllen, uhostlen, rawlen = 0, rawsize = 0, i;
	ssize_t			 n;
	int			 fd = -1, reqlen = -1, rc = -1, query;

	memset(resp, 0, sizeof(*resp));
	if (target_parse(o->addr, &t, err, errlen) == -1)
		return -2;
	if (o->ssl && !t.unix_socket)
		t.tls = 1;
	scheme = t.tls ? "https" : "http";
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
		snprintf(err, errlen, "%s \"%s://%s%s\": %s", op, scheme,
		    uhost, url, dial);
		goto done;
	}
	conn.fd = fd;
	if (t.tls && http_tls_start(o, &t, &conn, dial, sizeof(dial)) == -1) {
		snprintf(err, errlen, "%s \"%s://%s%s\": %s", op, scheme,
		    uhost, url, dial);
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
	if (conn_write_all(&conn, req, reqlen) == -1 ||
	    (bodylen > 0 && conn_write_all(&conn, body, bodylen) == -1)) {
		go_strerror(why, sizeof(why), errno);
		snprintf(err, errlen, "%s \"%s://%s%s\": write: %s", op,
		    scheme, uhost, url, conn.tls != NULL &&
		    tls_error(conn.tls) != NULL ? tls_error(conn.tls) : why);
		goto done;
	}
	for (;;) {
		if (rawlen == rawsize) {
			if (rawsize >= HTTP_MAX_RESPONSE) {
				snprintf(err, errlen, "%s \"%s://%s%s\": "
				    "response larger than %u bytes", op,
				    scheme, uhost, url, HTTP_MAX_RESPONSE);
				goto done;
			}
			rawsize = rawsize ? rawsize * 2 : 65536;
			if ((raw = realloc(raw, rawsize)) == NULL)
				goto syserr;
		}
		n = conn_read(&conn, raw + rawlen, rawsize - rawlen,
		    o->cancel_fd != NULL ? *o->cancel_fd : -1);
		if (n == -3) {
			snprintf(err, errlen, "%s \"%s://%s%s\": "
			    "interrupted", op, scheme, uhost, url);
			rc = -3;
			goto done;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0) {
			go_strerror(why, sizeof(why), errno);
			snprintf(err, errlen, "%s \"%s://%s%s\": read: %s",
			    op, scheme, uhost, url, conn.tls != NULL &&
			    tls_error(conn.tls) != NULL ?
			    tls_error(conn.tls) : why);
			goto done;
		}
		if (n == 0)
			break;
		rawlen += n;
	}
	if (rawlen == 0) {
		snprintf(err, errlen, "%s \"%s://%s%s\": EOF", op, scheme,
		    uhost, url);
		goto done;
	}
	if (http_parse(raw, rawlen, resp) == -1) {
		http_response_free(resp);
		snprintf(err, errlen, "%s \"%s://%s%s\": malformed HTTP "
		    "response", op, scheme, uhost, url);
		goto done;
	}
	rc = 0;
	goto done;
 syserr:
	snprintf(err, errlen, "%s", strerror(errno));
 done:
	if (conn.tls != NULL) {
		(void)tls_close(conn.tls);
		tls_free(conn.tls);
	}
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
