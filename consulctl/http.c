/*
 * A small blocking HTTP/1.1 client for talking to the local agent: TCP
 * (host:port, http://host:port) or a unix socket (unix:///path), one
 * request per connection, bounded responses.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "consulctl.h"

#define HTTP_MAX_RESPONSE	(64u * 1024 * 1024)

static int
http_connect(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct addrinfo		 hints, *res, *ai;
	char			 host[256], *colon;
	const char		*port;
	int			 fd = -1, error, saved = 0;

	if (strncmp(addr, "unix://", 7) == 0) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(addr + 7) >= sizeof(sun.sun_path)) {
			snprintf(err, errlen, "unix socket path too long");
			return -1;
		}
		strcpy(sun.sun_path, addr + 7);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			snprintf(err, errlen, "dial unix %s: connect: %s",
			    addr + 7, strerror(errno));
			if (fd != -1)
				close(fd);
			return -1;
		}
		return fd;
	}

	if (strlen(addr) >= sizeof(host)) {
		snprintf(err, errlen, "address too long");
		return -1;
	}
	strcpy(host, addr);
	port = "8500";
	if (host[0] == '[') {
		if ((colon = strchr(host, ']')) == NULL) {
			snprintf(err, errlen, "bad address %s", addr);
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
		snprintf(err, errlen, "dial tcp %s: %s", addr,
		    gai_strerror(error));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
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
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, errlen, "dial tcp %s: connect: %s", addr,
		    strerror(saved));
	return fd;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static char *
read_token(const char *path)
{
	char	 buf[512];
	FILE	*f;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "Error loading token file: %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

/* Parse what the server sent: status line, headers, body. */
static int
http_parse(char *raw, size_t len, struct http_response *resp)
{
	char	*hdr_end, *line, *next, *v;
	size_t	 hlen, clen = (size_t)-1;

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
		else if (strcasecmp(line, "X-Consul-Index") == 0)
			resp->index = strdup(v);
		if (next == NULL)
			break;
	}
	if (clen == (size_t)-1 || clen > len - hlen)
		clen = len - hlen;
	if ((resp->body = malloc(clen + 1)) == NULL)
		return -1;
	memcpy(resp->body, raw + hlen, clen);
	resp->body[clen] = '\0';
	resp->len = clen;
	return 0;
}

/*
 * One request; on a transport error prints Consul's kind of message
 * ("Error ...: Get "url": dial ...") itself and returns -1.
 */
int
http_request(const struct http_opts *o, const char *method, const char *path,
    const void *body, size_t bodylen, struct http_response *resp)
{
	const char	*addr = o->addr;
	char		 err[512], *req = NULL, *raw = NULL, *token = NULL;
	size_t		 rawlen = 0, rawsize = 0;
	ssize_t		 n;
	int		 fd, len, rc = -1;

	memset(resp, 0, sizeof(*resp));
	if (strncmp(addr, "http://", 7) == 0)
		addr += 7;
	else if (strncmp(addr, "https://", 8) == 0) {
		fprintf(stderr, "Error querying Consul agent: HTTPS is not "
		    "supported yet (%s)\n", o->addr);
		return -1;
	} else if (strstr(addr, "://") != NULL &&
	    strncmp(addr, "unix://", 7) != 0) {
		fprintf(stderr, "Unknown protocol scheme: %.*s\n",
		    (int)(strstr(addr, "://") - addr), addr);
		return -1;
	}
	if (o->token_file != NULL && *o->token_file != '\0')
		token = read_token(o->token_file);
	else if (o->token != NULL && *o->token != '\0')
		token = strdup(o->token);

	if ((fd = http_connect(addr, err, sizeof(err))) == -1) {
		fprintf(stderr, "Error querying Consul agent: %s "
		    "\"http://%s%s\": %s\n", method[0] == 'G' ? "Get" : "Put",
		    addr, path, err);
		goto done;
	}
	len = asprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: consulctl\r\nConnection: close\r\n"
	    "Content-Length: %zu\r\n%s%s%s\r\n", method, path,
	    strncmp(addr, "unix://", 7) == 0 ? "localhost" : addr, bodylen,
	    token ? "X-Consul-Token: " : "", token ? token : "",
	    token ? "\r\n" : "");
	if (len == -1 || write_all(fd, req, len) == -1 ||
	    (bodylen > 0 && write_all(fd, body, bodylen) == -1)) {
		fprintf(stderr, "Error querying Consul agent: %s\n",
		    strerror(errno));
		goto done;
	}
	for (;;) {
		if (rawlen == rawsize) {
			if (rawsize >= HTTP_MAX_RESPONSE) {
				fprintf(stderr, "Error: response too large\n");
				goto done;
			}
			rawsize = rawsize ? rawsize * 2 : 65536;
			if ((raw = realloc(raw, rawsize)) == NULL)
				goto done;
		}
		n = read(fd, raw + rawlen, rawsize - rawlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "Error reading response: %s\n",
			    strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		rawlen += n;
	}
	if (http_parse(raw, rawlen, resp) == -1) {
		fprintf(stderr, "Error: malformed HTTP response from %s\n",
		    o->addr);
		goto done;
	}
	rc = 0;
 done:
	if (fd != -1)
		close(fd);
	free(req);
	free(raw);
	free(token);
	return rc;
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

	if (http_request(o, "GET", path, NULL, 0, &resp) == -1)
		return NULL;
	if (resp.status != 200) {
		fprintf(stderr, "Error querying %s: Unexpected response "
		    "code: %d (%s)\n", what, resp.status, resp.body);
		http_response_free(&resp);
		return NULL;
	}
	doc = json_loadb(resp.body, resp.len, 0, &jerr);
	if (doc == NULL)
		fprintf(stderr, "Error decoding %s: %s\n", what, jerr.text);
	http_response_free(&resp);
	return doc;
}
