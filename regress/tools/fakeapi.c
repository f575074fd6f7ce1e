/*
 * fakeapi: a tiny HTTP server that answers from canned files, for
 * testing consulctl commands whose agent endpoints do not exist yet.
 *   fakeapi [-p port] [-t seconds] dir log
 * listens on 127.0.0.1:port (0, the default, picks a free port), prints
 * "port N" once it listens, and serves one request per connection until
 * it is killed or the -t lifetime (120 s by default) runs out.
 *
 * Each request is answered from the first line of dir/routes (read
 * again for every request, so that a test can change the answers) of
 * the form
 *	METHOD TARGET STATUS FILE
 * where TARGET is the path and query exactly as sent, or a prefix of
 * them followed by '*', and FILE, relative to dir, is the body ("-" for
 * none; a name ending in .json is sent as application/json).  Requests
 * that match no line get 404.  Every request is appended to log as one
 * line: "METHOD TARGET", then " ct=<Content-Type>", " token=<token>"
 * and " body=<body>" when present, the body with C escapes.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fdio.h"

#define FAKEAPI_MAX_HEADER	65536
#define FAKEAPI_MAX_BODY	(1024 * 1024)
#define FAKEAPI_MAX_FILE	(4 * 1024 * 1024)

struct request {
	char	 method[16];
	char	 target[4096];
	char	 ctype[256];
	char	 token[256];
	char	*body;
	size_t	 bodylen;
};

/* The lifetime is over: leave quietly, as after a normal run. */
static void
lifetime_over(int sig)
{
	_exit(0);
}

static void
usage(void)
{
	fprintf(stderr, "usage: fakeapi [-p port] [-t seconds] dir log\n");
	exit(2);
}

/* A header's value, copied into out; "" when the header is absent. */
static void
header(const char *headers, const char *name, char *out, size_t outlen)
{
	const char	*line, *v, *end;
	size_t		 n = strlen(name);

	out[0] = '\0';
	for (line = strstr(headers, "\r\n"); line != NULL;
	    line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, name, n) != 0 || line[n] != ':')
			continue;
		for (v = line + n + 1; *v == ' ' || *v == '\t'; v++)
			;
		if ((end = strstr(v, "\r\n")) == NULL)
			end = v + strlen(v);
		snprintf(out, outlen, "%.*s", (int)(end - v), v);
		return;
	}
}

/* Read one request: head up to the blank line, then Content-Length. */
static int
read_request(int fd, struct request *r)
{
	char	*buf, *end, clen[32];
	size_t	 len = 0, head, want;
	ssize_t	 n;

	memset(r, 0, sizeof(*r));
	if ((buf = malloc(FAKEAPI_MAX_HEADER + FAKEAPI_MAX_BODY + 1)) == NULL)
		return -1;
	for (;;) {
		if (len == FAKEAPI_MAX_HEADER)
			goto fail;
		n = read(fd, buf + len, FAKEAPI_MAX_HEADER - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		len += n;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	end[2] = '\0';
	head = end + 4 - buf;
	if (sscanf(buf, "%15s %4095s HTTP/1.", r->method, r->target) != 2)
		goto fail;
	header(buf, "Content-Type", r->ctype, sizeof(r->ctype));
	header(buf, "X-Consul-Token", r->token, sizeof(r->token));
	header(buf, "Content-Length", clen, sizeof(clen));
	want = strtoul(clen, NULL, 10);
	if (want > FAKEAPI_MAX_BODY)
		goto fail;
	while (len - head < want) {
		n = read(fd, buf + len, head + want - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		len += n;
	}
	r->bodylen = want;
	if ((r->body = malloc(want + 1)) == NULL)
		goto fail;
	memcpy(r->body, buf + head, want);
	r->body[want] = '\0';
	free(buf);
	return 0;
 fail:
	free(buf);
	return -1;
}

static void
log_escaped(FILE *f, const char *s, size_t len)
{
	unsigned char	 c;
	size_t		 i;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\\')
			fputs("\\\\", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static void
log_request(const char *path, const struct request *r)
{
	FILE	*f;

	if ((f = fopen(path, "a")) == NULL)
		return;
	fprintf(f, "%s %s", r->method, r->target);
	if (r->ctype[0] != '\0')
		fprintf(f, " ct=%s", r->ctype);
	if (r->token[0] != '\0')
		fprintf(f, " token=%s", r->token);
	if (r->bodylen > 0) {
		fputs(" body=", f);
		log_escaped(f, r->body, r->bodylen);
	}
	fputc('\n', f);
	fclose(f);
}

/* The route for r: status and file name, or -1 when none matches. */
static int
route(const char *dir, const struct request *r, int *status, char *file,
    size_t filelen)
{
	FILE	*f;
	char	 path[4096], line[8192], method[16], target[4096];
	char	 name[1024];
	size_t	 n;
	int	 st;

	snprintf(path, sizeof(path), "%s/routes", dir);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' ||
		    sscanf(line, "%15s %4095s %d %1023s", method, target, &st,
		    name) != 4)
			continue;
		if (strcmp(method, r->method) != 0)
			continue;
		n = strlen(target);
		if (n > 0 && target[n - 1] == '*') {
			if (strncmp(target, r->target, n - 1) != 0)
				continue;
		} else if (strcmp(target, r->target) != 0)
			continue;
		fclose(f);
		*status = st;
		snprintf(file, filelen, "%s", name);
		return 0;
	}
	fclose(f);
	return -1;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 500:
		return "Internal Server Error";
	default:
		return "Status";
	}
}

static void
respond(int fd, const char *dir, const struct request *r)
{
	FILE	*f;
	char	 file[1024], path[4096], head[512], *body = NULL;
	const char *ctype = "text/plain; charset=utf-8";
	size_t	 len = 0, n;
	int	 status;

	if (route(dir, r, &status, file, sizeof(file)) == -1) {
		status = 404;
		body = strdup("fakeapi: no route\n");
		len = body != NULL ? strlen(body) : 0;
	} else if (strcmp(file, "-") != 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		n = strlen(file);
		if (n > 5 && strcmp(file + n - 5, ".json") == 0)
			ctype = "application/json";
		if ((f = fopen(path, "rb")) == NULL) {
			status = 500;
			ctype = "text/plain; charset=utf-8";
			len = asprintf(&body, "fakeapi: cannot read %s\n",
			    file);
			if (len == (size_t)-1) {
				body = NULL;
				len = 0;
			}
		} else {
			if ((body = malloc(FAKEAPI_MAX_FILE)) != NULL)
				len = fread(body, 1, FAKEAPI_MAX_FILE, f);
			fclose(f);
		}
	}
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", status, reason(status), ctype, len);
	if (fd_write_all(fd, head, n) == 0 && len > 0)
		(void)fd_write_all(fd, body, len);
	free(body);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	struct timeval		 tv;
	struct request		 r;
	socklen_t		 slen;
	const char		*dir, *log;
	int			 ch, s, c, port = 0, lifetime = 120, one = 1;

	while ((ch = getopt(argc, argv, "p:t:")) != -1) {
		switch (ch) {
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			lifetime = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || port < 0 || port > 65535 || lifetime <= 0)
		usage();
	dir = argv[optind];
	log = argv[optind + 1];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(s, 16) == -1) {
		perror("fakeapi: listen");
		return 1;
	}
	slen = sizeof(sin);
	if (getsockname(s, (struct sockaddr *)&sin, &slen) == -1) {
		perror("fakeapi: getsockname");
		return 1;
	}
	printf("port %d\n", ntohs(sin.sin_port));
	fflush(stdout);
	/* Never outlive a test that forgot to stop it. */
	signal(SIGALRM, lifetime_over);
	alarm(lifetime);

	for (;;) {
		if ((c = accept(s, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			perror("fakeapi: accept");
			return 1;
		}
		tv.tv_sec = 5;
		tv.tv_usec = 0;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (read_request(c, &r) == 0) {
			log_request(log, &r);
			respond(c, dir, &r);
			free(r.body);
		}
		close(c);
	}
}
