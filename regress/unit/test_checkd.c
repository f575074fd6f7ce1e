/*
 * checkd's engine (check.c, net.c, trust.c, http.c, tcp.c, compiled in)
 * against real servers in this process on 127.0.0.1 ephemeral ports,
 * all driven by the one event base the checks use: servers that answer,
 * answer slowly, never answer, never stop talking, or speak TLS with a
 * certificate made by openssl(1) at run time.  Checks are set and
 * deleted through the same msgpack messages raftd sends.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <tls.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND	0
#endif

#include "test.h"
#include "sandbox.h"
#include "../../checkd/check.c"
#include "../../checkd/net.c"
#include "../../checkd/trust.c"
#include "../../checkd/tcp.c"
#include "../../checkd/http.c"
#include "../../checkd/script.c"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static struct event_base	*base;

/* ---- results ---- */

struct result {
	char			*id;
	enum check_status	 st;
	char			*out;
	uint64_t		 at;
};

static struct result	*results;
static size_t		 nresults, results_cap;

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_result(const char *id, enum check_status st, const char *out, size_t len,
    void *arg)
{
	struct result	*r;

	if (nresults == results_cap) {
		results_cap = results_cap ? results_cap * 2 : 64;
		results = realloc(results, results_cap * sizeof(*results));
		if (results == NULL)
			abort();
	}
	r = &results[nresults++];
	r->id = strdup(id);
	r->st = st;
	r->out = strndup(out, len);
	r->at = now_ms();
	CHECK(strlen(r->out) == len);
}

static size_t
count_results(const char *id)
{
	size_t	 i, n = 0;

	for (i = 0; i < nresults; i++)
		n += strcmp(results[i].id, id) == 0;
	return n;
}

static struct result *
last_result(const char *id)
{
	size_t	 i;

	for (i = nresults; i > 0; i--)
		if (strcmp(results[i - 1].id, id) == 0)
			return &results[i - 1];
	return NULL;
}

static void
results_clear(void)
{
	size_t	 i;

	for (i = 0; i < nresults; i++) {
		free(results[i].id);
		free(results[i].out);
	}
	free(results);
	results = NULL;
	nresults = results_cap = 0;
}

/* ---- the loop ---- */

static void
tick(evutil_socket_t fd, short what, void *arg)
{
}

/* Run the loop until cond(arg) holds or ms pass; returns cond. */
static int
run_until(int (*cond)(const void *), const void *arg, int ms)
{
	struct event	*t;
	struct timeval	 tv = { 0, 5000 };
	uint64_t	 end = now_ms() + ms;
	int		 ok;

	t = event_new(base, -1, EV_PERSIST, tick, NULL);
	event_add(t, &tv);
	while (!(ok = cond == NULL ? 0 : cond(arg)) && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return ok;
}

static void
run_for(int ms)
{
	run_until(NULL, NULL, ms);
}

static int
has_result(const void *id)
{
	return count_results(id) > 0;
}

static struct result *
wait_result(const char *id, int ms)
{
	run_until(has_result, id, ms);
	return last_result(id);
}

/* ---- setting checks ---- */

struct spec {
	const char		*id;
	int			 type;
	const char		*target;
	const char		*method;
	const char *const	*headers;	/* name, value, ..., NULL */
	const char		*body;
	int			 skip_verify;
	uint64_t		 interval;
	uint64_t		 timeout;
	uint64_t		 output_max;
};

static void
pack_spec(struct mpack_out *out, const struct spec *s)
{
	size_t	 n = 0;

	mpack_out_init(out);
	msgpack_pack_map(&out->pk, 10);
	mpack_kv_str(&out->pk, "id", s->id);
	mpack_kv_uint(&out->pk, "type", s->type ? s->type : CHECK_TYPE_HTTP);
	mpack_kv_str(&out->pk, "target", s->target);
	mpack_kv_str(&out->pk, "method", s->method);
	mpack_str(&out->pk, "headers");
	while (s->headers != NULL && s->headers[n] != NULL)
		n += 2;
	msgpack_pack_array(&out->pk, n / 2);
	for (n = 0; s->headers != NULL && s->headers[n] != NULL; n += 2) {
		msgpack_pack_array(&out->pk, 2);
		mpack_str(&out->pk, s->headers[n]);
		mpack_str(&out->pk, s->headers[n + 1]);
	}
	mpack_kv_str(&out->pk, "body", s->body);
	mpack_kv_bool(&out->pk, "tls_skip_verify", s->skip_verify);
	mpack_kv_uint(&out->pk, "interval_ms", s->interval ? s->interval :
	    10000);
	mpack_kv_uint(&out->pk, "timeout_ms", s->timeout ? s->timeout : 2000);
	mpack_kv_uint(&out->pk, "output_max", s->output_max);
}

/* As raftd sets http and tcp checks and the parent script checks. */
static void
set_check(const struct spec *s)
{
	struct mpack_out	 out;

	pack_spec(&out, s);
	CHECK(check_set_msg(out.sbuf.data, out.sbuf.size,
	    s->type == CHECK_TYPE_SCRIPT ? CHECK_FROM_PARENT :
	    CHECK_FROM_RAFTD) == 0);
	mpack_out_free(&out);
}

static int
del_check_from(const char *id, enum check_source from)
{
	struct mpack_out	 out;
	int			 rc;

	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 1);
	mpack_kv_str(&out.pk, "id", id);
	rc = check_del_msg(out.sbuf.data, out.sbuf.size, from);
	mpack_out_free(&out);
	return rc;
}

static int
del_check(const char *id)
{
	return del_check_from(id, CHECK_FROM_RAFTD);
}

/* ---- servers ---- */

enum srv_mode {
	SRV_RESPOND,		/* the response, then close */
	SRV_DRIBBLE,		/* the response a byte every 2 ms */
	SRV_SILENT,		/* reads, never answers */
	SRV_ENDLESS_BODY,	/* 200, then body bytes forever */
	SRV_ENDLESS_HEAD	/* 200, then header lines forever */
};

struct srv;

struct sconn {
	TAILQ_ENTRY(sconn)	 entry;
	struct srv		*srv;
	int			 fd;
	struct tls		*tls;
	int			 shaken;
	struct event		*ev;
	struct event		*timer;
	char			 in[16384];
	size_t			 inlen;
	int			 req_done;
	size_t			 off;
};

struct srv {
	TAILQ_ENTRY(srv)	 entry;
	int			 fd;
	int			 port;
	enum srv_mode		 mode;
	const char		*response;
	size_t			 resplen;	/* 0: strlen(response) */
	struct tls		*tls;
	struct event		*ev;
	TAILQ_HEAD(, sconn)	 conns;
	size_t			 accepted;
	size_t			 open;
	size_t			 max_open;
	char			 req[16384];	/* the last request */
	size_t			 reqlen;
};

static TAILQ_HEAD(, srv)	 servers = TAILQ_HEAD_INITIALIZER(servers);

static void	sconn_io(evutil_socket_t, short, void *);

static void
sconn_free(struct sconn *sc)
{
	TAILQ_REMOVE(&sc->srv->conns, sc, entry);
	sc->srv->open--;
	event_free(sc->ev);
	if (sc->timer != NULL)
		event_free(sc->timer);
	if (sc->tls != NULL) {
		(void)tls_close(sc->tls);
		tls_free(sc->tls);
	}
	close(sc->fd);
	free(sc);
}

static void
sconn_want(struct sconn *sc, short what)
{
	event_del(sc->ev);
	event_assign(sc->ev, base, sc->fd, what | EV_PERSIST, sconn_io, sc);
	event_add(sc->ev, NULL);
}

static ssize_t
sconn_read(struct sconn *sc, void *buf, size_t len)
{
	ssize_t	 n;

	if (sc->tls == NULL) {
		n = read(sc->fd, buf, len);
		return n == -1 && errno == EAGAIN ? TLS_WANT_POLLIN : n;
	}
	return tls_read(sc->tls, buf, len);
}

static ssize_t
sconn_write(struct sconn *sc, const void *buf, size_t len)
{
	ssize_t	 n;

	if (sc->tls == NULL) {
		n = send(sc->fd, buf, len, MSG_NOSIGNAL);
		return n == -1 && errno == EAGAIN ? TLS_WANT_POLLOUT : n;
	}
	return tls_write(sc->tls, buf, len);
}

/* A whole request: head and Content-Length bytes of body. */
static int
sconn_request_done(struct sconn *sc)
{
	char	*end, *cl;
	size_t	 head, len = 0;

	sc->in[sc->inlen] = '\0';
	if ((end = strstr(sc->in, "\r\n\r\n")) == NULL)
		return 0;
	head = end + 4 - sc->in;
	if ((cl = strcasestr(sc->in, "\r\nContent-Length: ")) != NULL &&
	    cl < end)
		len = strtoul(cl + 18, NULL, 10);
	return sc->inlen >= head + len;
}

static void
sconn_dribble(evutil_socket_t fd, short what, void *arg)
{
	struct sconn	*sc = arg;
	const char	*r = sc->srv->response;

	if (sconn_write(sc, r + sc->off, 1) == 1)
		sc->off++;
	if (r[sc->off] == '\0')
		sconn_free(sc);
}

static void
sconn_output(struct sconn *sc)
{
	static char	 junk[16384];
	const char	*r = sc->srv->response;
	size_t		 len;
	ssize_t		 n;

	switch (sc->srv->mode) {
	case SRV_RESPOND:
		len = sc->srv->resplen > 0 ? sc->srv->resplen : strlen(r);
		n = len > sc->off ? sconn_write(sc, r + sc->off,
		    len - sc->off) : 0;
		if (n > 0)
			sc->off += n;
		if (n == -1 || sc->off == len)
			sconn_free(sc);
		return;
	case SRV_ENDLESS_BODY:
	case SRV_ENDLESS_HEAD:
		if (sc->off == 0) {
			r = "HTTP/1.1 200 OK\r\n";
			if (sc->srv->mode == SRV_ENDLESS_BODY)
				r = "HTTP/1.1 200 OK\r\nContent-Type: "
				    "text/plain\r\n\r\n";
			if (sconn_write(sc, r, strlen(r)) == (ssize_t)strlen(r))
				sc->off = 1;
			return;
		}
		memset(junk, sc->srv->mode == SRV_ENDLESS_BODY ? 'x' : 'h',
		    sizeof(junk));
		for (len = 0; sc->srv->mode == SRV_ENDLESS_HEAD &&
		    len < sizeof(junk); len += 64) {
			memcpy(junk + len, "X-Junk: ", 8);
			memcpy(junk + len + 62, "\r\n", 2);
		}
		n = sconn_write(sc, junk, sizeof(junk));
		if (n == -1 || n == 0)
			sconn_free(sc);
		return;
	default:
		return;
	}
}

static void
sconn_io(evutil_socket_t fd, short what, void *arg)
{
	struct sconn	*sc = arg;
	struct srv	*srv = sc->srv;
	char		 sink[4096];
	ssize_t		 n;
	int		 r;

	if (sc->tls != NULL && !sc->shaken) {
		r = tls_handshake(sc->tls);
		if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
			sconn_want(sc, r == TLS_WANT_POLLIN ? EV_READ :
			    EV_WRITE);
			return;
		}
		if (r == -1) {
			sconn_free(sc);
			return;
		}
		sc->shaken = 1;
		sconn_want(sc, EV_READ);
	}
	if (!sc->req_done) {
		n = sconn_read(sc, sc->in + sc->inlen,
		    sizeof(sc->in) - 1 - sc->inlen);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT)
			return;
		if (n <= 0) {
			sconn_free(sc);
			return;
		}
		sc->inlen += n;
		if (!sconn_request_done(sc))
			return;
		sc->req_done = 1;
		memcpy(srv->req, sc->in, sc->inlen + 1);
		srv->reqlen = sc->inlen;
		if (srv->mode == SRV_DRIBBLE) {
			sc->timer = event_new(base, -1, EV_PERSIST,
			    sconn_dribble, sc);
			event_add(sc->timer, &(struct timeval){ 0, 2000 });
			return;
		}
		if (srv->mode != SRV_SILENT)
			sconn_want(sc, EV_WRITE);
		return;
	}
	if (srv->mode == SRV_SILENT || srv->mode == SRV_DRIBBLE) {
		/* Wait for the client to go. */
		n = sconn_read(sc, sink, sizeof(sink));
		if (n == 0 || n == -1)
			sconn_free(sc);
		return;
	}
	sconn_output(sc);
}

static void
srv_accept(evutil_socket_t fd, short what, void *arg)
{
	struct srv	*srv = arg;
	struct sconn	*sc;
	int		 s;

	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) == -1)
		return;
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		abort();
	sc->srv = srv;
	sc->fd = s;
	if (srv->tls != NULL && tls_accept_socket(srv->tls, &sc->tls, s) ==
	    -1)
		abort();
	sc->ev = event_new(base, s, EV_READ | EV_PERSIST, sconn_io, sc);
	event_add(sc->ev, NULL);
	TAILQ_INSERT_TAIL(&srv->conns, sc, entry);
	srv->accepted++;
	if (++srv->open > srv->max_open)
		srv->max_open = srv->open;
}

/* A listening socket on 127.0.0.1 (or ::1) and an ephemeral port. */
static int
listen_socket_af(int af, int backlog, int *port)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len = sizeof(ss);
	int			 fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = af;
	if (af == AF_INET)
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		sin6->sin6_addr = in6addr_loopback;
	if ((fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || bind(fd, (struct sockaddr *)&ss, af == AF_INET ?
	    sizeof(*sin) : sizeof(*sin6)) == -1 || listen(fd, backlog) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(af == AF_INET ? sin->sin_port : sin6->sin6_port);
	return fd;
}

static int
listen_socket(int backlog, int *port)
{
	int	 fd;

	if ((fd = listen_socket_af(AF_INET, backlog, port)) == -1)
		abort();
	return fd;
}

static struct srv *
srv_new(enum srv_mode mode, const char *response, struct tls *tls)
{
	struct srv	*srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		abort();
	srv->mode = mode;
	srv->response = response;
	srv->tls = tls;
	TAILQ_INIT(&srv->conns);
	srv->fd = listen_socket(1024, &srv->port);
	srv->ev = event_new(base, srv->fd, EV_READ | EV_PERSIST, srv_accept,
	    srv);
	event_add(srv->ev, NULL);
	TAILQ_INSERT_TAIL(&servers, srv, entry);
	return srv;
}

static void
srv_free(struct srv *srv)
{
	struct sconn	*sc;

	while ((sc = TAILQ_FIRST(&srv->conns)) != NULL)
		sconn_free(sc);
	TAILQ_REMOVE(&servers, srv, entry);
	event_free(srv->ev);
	close(srv->fd);
	free(srv);
}

static int
srv_idle(const void *arg)
{
	const struct srv	*srv = arg;

	return srv->open == 0;
}

/* A port nothing listens on. */
static int
closed_port(void)
{
	int	 port, fd;

	fd = listen_socket(1, &port);
	close(fd);
	return port;
}

/* ---- per test ---- */

static int
probing(const void *arg)
{
	return checks_probing() == *(const size_t *)arg;
}

static void
wait_probing(size_t n)
{
	CHECK(run_until(probing, &n, 2000));
}

/*
 * First probes come within 20 ms, not within CHECK_STAGGER_MAX_MS, to
 * keep the tests short; test_many uses the real spread.
 */
static void
setup(void)
{
	if ((base = event_base_new()) == NULL)
		abort();
	checks_init(base, on_result, NULL);
	checks_stagger_max = 20;
}

/* Checks, then this test's servers, then the loop. */
static void
teardown(void)
{
	struct srv	*srv;

	checks_free();
	CHECK(checks_count() == 0);
	while ((srv = TAILQ_FIRST(&servers)) != NULL)
		srv_free(srv);
	event_base_free(base);
	base = NULL;
	results_clear();
}

static const char ok_11[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world";

/* ---- tests ---- */

static void
test_http_passing(void)
{
	struct srv	*srv;
	struct result	*r;
	char		 url[64], want[256], host[64];

	setup();
	srv = srv_new(SRV_RESPOND, ok_11, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", srv->port);
	set_check(&(struct spec){ .id = "web", .target = url });
	r = wait_result("web", 2000);
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK(r->st == CHECK_PASSING);
		snprintf(want, sizeof(want), "HTTP GET %s: 200 OK Output: "
		    "hello world", url);
		CHECK_STR(r->out, want);
	}
	CHECK(strncmp(srv->req, "GET /health HTTP/1.1\r\n", 22) == 0);
	snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%d\r\n", srv->port);
	CHECK(strstr(srv->req, host) != NULL);
	CHECK(strstr(srv->req, "\r\nUser-Agent: Consul Health Check\r\n") !=
	    NULL);
	CHECK(strstr(srv->req, "\r\nAccept: text/plain, text/*, */*\r\n") !=
	    NULL);
	CHECK(strstr(srv->req, "\r\nConnection: close\r\n") != NULL);
	CHECK(strstr(srv->req, "Content-Length") == NULL);

	/* localhost is 127.0.0.1; the output keeps the URL as given. */
	snprintf(url, sizeof(url), "http://localhost:%d", srv->port);
	set_check(&(struct spec){ .id = "local", .target = url });
	r = wait_result("local", 2000);
	CHECK(r != NULL && r->st == CHECK_PASSING);
	snprintf(want, sizeof(want), "HTTP GET %s: 200 OK Output: hello world",
	    url);
	CHECK(r != NULL && strcmp(r->out, want) == 0);
	CHECK(strncmp(srv->req, "GET / HTTP/1.1\r\n", 16) == 0);
	teardown();
}

static void
test_http_truncated(void)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n"
	    "\r\n0123456789abcdefghijklmnopqrstuvwxyzABCD";
	static const char eof[] = "HTTP/1.0 200 OK\r\n\r\n"
	    "0123456789abcdefghijklmnopqrstuvwxyzABCD";
	struct srv	*srv, *srv2;
	struct result	*r;
	char		 url[64], url2[64], want[256];

	setup();
	srv = srv_new(SRV_RESPOND, resp, NULL);
	srv2 = srv_new(SRV_RESPOND, eof, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv->port);
	snprintf(url2, sizeof(url2), "http://127.0.0.1:%d/", srv2->port);
	set_check(&(struct spec){ .id = "t", .target = url,
	    .output_max = 10 });
	set_check(&(struct spec){ .id = "eof", .target = url2,
	    .output_max = 12 });
	r = wait_result("t", 2000);
	snprintf(want, sizeof(want), "HTTP GET %s: 200 OK Output: 0123456789",
	    url);
	CHECK(r != NULL && r->st == CHECK_PASSING);
	CHECK(r != NULL && strcmp(r->out, want) == 0);
	r = wait_result("eof", 2000);
	snprintf(want, sizeof(want), "HTTP GET %s: 200 OK Output: "
	    "0123456789ab", url2);
	CHECK(r != NULL && r->st == CHECK_PASSING);
	CHECK(r != NULL && strcmp(r->out, want) == 0);
	teardown();
}

static void
test_http_status(void)
{
	static const struct {
		const char		*resp;
		enum check_status	 st;
		const char		*status;
	} cases[] = {
		{ "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 4\r\n\r\n"
		    "slow", CHECK_WARNING, "429 Too Many Requests" },
		{ "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n"
		    "\r\noops", CHECK_CRITICAL, "500 Internal Server Error" },
		{ "HTTP/1.1 204 No Content\r\n\r\n", CHECK_PASSING,
		    "204 No Content" },
		{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
		    "Content-Length: 2\r\n\r\nok", CHECK_PASSING,
		    "201 Created" },
		{ "HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n"
		    "Content-Length: 0\r\n\r\n", CHECK_CRITICAL,
		    "301 Moved Permanently" },
		{ "HTTP/1.1 299\r\n\r\n", CHECK_PASSING, "299" },
	};
	struct srv	*srv[nitems(cases)];
	struct result	*r;
	char		 id[32], url[64], want[256];
	size_t		 i;

	setup();
	for (i = 0; i < nitems(cases); i++) {
		srv[i] = srv_new(SRV_RESPOND, cases[i].resp, NULL);
		snprintf(id, sizeof(id), "s%zu", i);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/",
		    srv[i]->port);
		set_check(&(struct spec){ .id = id, .target = url });
	}
	for (i = 0; i < nitems(cases); i++) {
		snprintf(id, sizeof(id), "s%zu", i);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/",
		    srv[i]->port);
		r = wait_result(id, 2000);
		CHECK(r != NULL && r->st == cases[i].st);
		snprintf(want, sizeof(want), "HTTP GET %s: %s Output: ", url,
		    cases[i].status);
		CHECK(r != NULL && strncmp(r->out, want, strlen(want)) == 0);
		if (r != NULL && strncmp(r->out, want, strlen(want)) != 0)
			fprintf(stderr, "# got %s\n", r->out);
	}
	teardown();
}

static void
test_http_refused(void)
{
	struct result	*r;
	char		 url[64], want[256];
	int		 port = closed_port();

	setup();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	set_check(&(struct spec){ .id = "down", .target = url });
	r = wait_result("down", 2000);
	snprintf(want, sizeof(want), "Get \"%s\": dial tcp 127.0.0.1:%d: "
	    "connect: connection refused", url, port);
	CHECK(r != NULL && r->st == CHECK_CRITICAL);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	teardown();
}

/* Malformed answers and URLs that cannot be probed. */
static void
test_http_errors(void)
{
	static const struct {
		const char	*resp;
		const char	*err;
	} cases[] = {
		{ "", "EOF" },
		{ "garbage\r\n\r\n", "net/http: HTTP/1.x transport connection "
		    "broken: malformed HTTP response \"garbage\"" },
		{ "HTTP/1.1 2000 OK\r\n\r\n", "net/http: HTTP/1.x transport "
		    "connection broken: malformed HTTP status code \"2000\"" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "net/http: "
		    "HTTP/1.x transport connection broken: bad Content-Length "
		    "\"x\"" },
		{ "HTTP/1.1 200 OK\r\nConte", "net/http: HTTP/1.x transport "
		    "connection broken: unexpected EOF" },
	};
	static const struct {
		const char	*url;
		const char	*method;
		const char	*out;
	} urls[] = {
		{ "http://web:9000/", NULL, "Get \"http://web:9000/\": dial "
		    "tcp: lookup web: cannot resolve host names in checkd "
		    "yet" },
		{ "ftp://127.0.0.1/", NULL, "Get \"ftp://127.0.0.1/\": "
		    "unsupported protocol scheme \"ftp\"" },
		{ "127.0.0.1:80/", NULL, "parse \"127.0.0.1:80/\": first path "
		    "segment in URL cannot contain colon" },
		{ "localhost:80/x", NULL, "Get \"localhost:80/x\": unsupported "
		    "protocol scheme \"localhost\"" },
		{ "/health", NULL, "Get \"/health\": unsupported protocol "
		    "scheme \"\"" },
		{ "http://[::1/", NULL, "parse \"http://[::1/\": missing ']' "
		    "in host" },
		{ "http://127.0.0.1:8x/", NULL, "parse "
		    "\"http://127.0.0.1:8x/\": invalid port \":8x\" after "
		    "host" },
		{ "http://127.0.0.1:99999/", "PUT", "Put "
		    "\"http://127.0.0.1:99999/\": dial tcp: address 99999: "
		    "invalid port" },
		{ "http:///x", NULL, "Get \"http:///x\": http: no Host in "
		    "request URL" },
		{ "http://127.0.0.1/a\tb", NULL, "parse \"http://127.0.0.1/a"
		    "\\tb\": net/url: invalid control character in URL" },
		{ "http://127.0.0.1/", "G T", "net/http: invalid method "
		    "\"G T\"" },
		{ "http://u:secret@web/", NULL, "Get \"http://u:***@web/\": "
		    "dial tcp: lookup web: cannot resolve host names in checkd "
		    "yet" },
	};
	static const char *const bad_hdr[] = { "X-Bad", "a\r\nb", NULL };
	struct srv	*srv[nitems(cases)];
	struct result	*r;
	char		 id[32], url[64], want[512];
	size_t		 i;

	setup();
	for (i = 0; i < nitems(cases); i++) {
		srv[i] = srv_new(SRV_RESPOND, cases[i].resp, NULL);
		snprintf(id, sizeof(id), "e%zu", i);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/",
		    srv[i]->port);
		set_check(&(struct spec){ .id = id, .target = url });
	}
	for (i = 0; i < nitems(urls); i++) {
		snprintf(id, sizeof(id), "u%zu", i);
		set_check(&(struct spec){ .id = id, .target = urls[i].url,
		    .method = urls[i].method });
	}
	set_check(&(struct spec){ .id = "hdr", .target = "http://127.0.0.1/",
	    .headers = bad_hdr });
	for (i = 0; i < nitems(cases); i++) {
		snprintf(id, sizeof(id), "e%zu", i);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/",
		    srv[i]->port);
		snprintf(want, sizeof(want), "Get \"%s\": %s", url,
		    cases[i].err);
		r = wait_result(id, 2000);
		CHECK(r != NULL && r->st == CHECK_CRITICAL);
		CHECK_STR(r != NULL ? r->out : NULL, want);
	}
	for (i = 0; i < nitems(urls); i++) {
		snprintf(id, sizeof(id), "u%zu", i);
		r = wait_result(id, 2000);
		CHECK(r != NULL && r->st == CHECK_CRITICAL);
		CHECK_STR(r != NULL ? r->out : NULL, urls[i].out);
	}
	r = wait_result("hdr", 2000);
	CHECK_STR(r != NULL ? r->out : NULL, "Get \"http://127.0.0.1/\": "
	    "net/http: invalid header field value for \"X-Bad\"");
	teardown();
}

/*
 * A server that never answers: critical after timeout_ms, and the loop
 * went on meanwhile (another check completed several times).
 */
static void
test_http_timeout(void)
{
	struct srv	*silent, *fast;
	struct result	*r;
	char		 url[64], url2[64], want[256];
	uint64_t	 t0;
	size_t		 i, before = 0;

	setup();
	silent = srv_new(SRV_SILENT, NULL, NULL);
	fast = srv_new(SRV_RESPOND, ok_11, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", silent->port);
	snprintf(url2, sizeof(url2), "http://127.0.0.1:%d/", fast->port);
	t0 = now_ms();
	set_check(&(struct spec){ .id = "slow", .target = url,
	    .timeout = 400 });
	set_check(&(struct spec){ .id = "fast", .target = url2,
	    .interval = 100, .timeout = 1000 });
	r = wait_result("slow", 3000);
	CHECK(r != NULL && r->st == CHECK_CRITICAL);
	snprintf(want, sizeof(want), "Get \"%s\": context deadline exceeded "
	    "(Client.Timeout exceeded while awaiting headers)", url);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	if (r != NULL) {
		CHECK(r->at - t0 >= 390);
		CHECK(r->at - t0 < 2000);
		for (i = 0; i < nresults; i++)
			if (strcmp(results[i].id, "fast") == 0 &&
			    results[i].at < r->at &&
			    results[i].st == CHECK_PASSING)
				before++;
		CHECK(before >= 2);
	}
	/* checkd closed its side. */
	CHECK(run_until(srv_idle, silent, 2000));
	teardown();
}

/* A probe due while the last one still runs is not started twice. */
static void
test_http_no_overlap(void)
{
	struct srv	*silent;
	char		 url[64];

	setup();
	silent = srv_new(SRV_SILENT, NULL, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", silent->port);
	set_check(&(struct spec){ .id = "o", .target = url, .interval = 100,
	    .timeout = 350 });
	run_for(1000);
	CHECK(silent->max_open == 1);
	CHECK(silent->accepted >= 2 && silent->accepted <= 3);
	CHECK(count_results("o") >= 2 && count_results("o") <= 3);
	CHECK(checks_probing() <= 1);
	checks_free();
	CHECK(run_until(srv_idle, silent, 1000));
	teardown();
}

/* Hostile servers: bounded reads, a result all the same. */
static void
test_http_endless(void)
{
	struct srv	*body, *head;
	struct result	*r;
	char		 url[64], url2[64], want[256];
	const char	*o;
	size_t		 i;

	setup();
	body = srv_new(SRV_ENDLESS_BODY, NULL, NULL);
	head = srv_new(SRV_ENDLESS_HEAD, NULL, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", body->port);
	snprintf(url2, sizeof(url2), "http://127.0.0.1:%d/", head->port);
	set_check(&(struct spec){ .id = "body", .target = url,
	    .output_max = 1000, .timeout = 5000 });
	set_check(&(struct spec){ .id = "head", .target = url2,
	    .timeout = 5000 });
	r = wait_result("body", 6000);
	snprintf(want, sizeof(want), "HTTP GET %s: 200 OK Output: ", url);
	CHECK(r != NULL && r->st == CHECK_PASSING);
	if (r != NULL) {
		CHECK(strncmp(r->out, want, strlen(want)) == 0);
		o = r->out + strlen(want);
		CHECK(strlen(o) == 1000);
		for (i = 0; i < strlen(o); i++)
			if (o[i] != 'x')
				break;
		CHECK(i == 1000);
	}
	r = wait_result("head", 6000);
	snprintf(want, sizeof(want), "Get \"%s\": net/http: server response "
	    "headers exceeded 65536 bytes; aborted", url2);
	CHECK(r != NULL && r->st == CHECK_CRITICAL);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	/* Both stopped reading long before their timeout. */
	CHECK(checks_probing() == 0);
	checks_free();
	run_until(srv_idle, body, 1000);
	run_until(srv_idle, head, 1000);
	teardown();
}

/* Chunked, arriving a byte at a time. */
static void
test_http_chunked(void)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\nA \r\n"
	    "0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
	struct srv	*srv, *fast;
	struct result	*r;
	char		 url[64], url2[64], want[256];

	setup();
	srv = srv_new(SRV_DRIBBLE, resp, NULL);
	fast = srv_new(SRV_RESPOND, resp, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv->port);
	snprintf(url2, sizeof(url2), "http://127.0.0.1:%d/", fast->port);
	set_check(&(struct spec){ .id = "c", .target = url });
	set_check(&(struct spec){ .id = "c7", .target = url2,
	    .output_max = 7 });
	r = wait_result("c", 5000);
	snprintf(want, sizeof(want), "HTTP GET %s: 200 OK Output: hello, "
	    "world0123456789", url);
	CHECK(r != NULL && r->st == CHECK_PASSING);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	r = wait_result("c7", 2000);
	snprintf(want, sizeof(want), "HTTP GET %s: 200 OK Output: hello, ",
	    url2);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	teardown();
}

/* Method, headers (a name twice) and body reach the server. */
static void
test_http_request(void)
{
	static const char *const hdrs[] = {
		"X-Test", "one",
		"X-Test", "two",
		"Accept", "application/json",
		"Host", "example.com",
		"user-agent", "probe/1",
		"Connection", "keep-alive",
		NULL
	};
	struct srv	*srv;
	struct result	*r;
	char		 url[80], want[256];
	const char	*q = NULL;

	setup();
	srv = srv_new(SRV_RESPOND, ok_11, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/submit?x=1 2#frag",
	    srv->port);
	set_check(&(struct spec){ .id = "post", .target = url,
	    .method = "POST", .headers = hdrs, .body = "payload=1" });
	r = wait_result("post", 2000);
	snprintf(want, sizeof(want), "HTTP POST %s: 200 OK Output: hello world",
	    url);
	CHECK(r != NULL && r->st == CHECK_PASSING);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	CHECK(strncmp(srv->req, "POST /submit?x=1%202 HTTP/1.1\r\n", 31) == 0);
	CHECK(strstr(srv->req, "\r\nHost: example.com\r\n") != NULL);
	CHECK(strstr(srv->req, "127.0.0.1") == NULL);
	CHECK(strstr(srv->req, "\r\nUser-Agent: probe/1\r\n") != NULL);
	CHECK(strstr(srv->req, "Consul Health Check") == NULL);
	CHECK(strstr(srv->req, "\r\nX-Test: one\r\nX-Test: two\r\n") != NULL);
	CHECK(strstr(srv->req, "\r\nAccept: application/json\r\n") != NULL);
	CHECK(strstr(srv->req, "text/plain") == NULL);
	CHECK(strstr(srv->req, "keep-alive") == NULL);
	CHECK(strstr(srv->req, "\r\nContent-Length: 9\r\n") != NULL);
	if (srv->reqlen > 13)
		q = srv->req + srv->reqlen - 13;
	CHECK(q != NULL && strcmp(q, "\r\n\r\npayload=1") == 0);

	/* User info becomes Basic authorization. */
	snprintf(url, sizeof(url), "http://al%%40x:pw@127.0.0.1:%d/",
	    srv->port);
	set_check(&(struct spec){ .id = "auth", .target = url,
	    .method = "HEAD" });
	r = wait_result("auth", 2000);
	CHECK(r != NULL && r->st == CHECK_PASSING);
	CHECK(strncmp(srv->req, "HEAD / HTTP/1.1\r\n", 17) == 0);
	/* base64("al@x:pw") */
	CHECK(strstr(srv->req, "\r\nAuthorization: Basic YWxAeDpwdw==\r\n") !=
	    NULL);
	teardown();
}

static char	 tls_dir[64];
static uint8_t	*tls_cert, *tls_key;
static size_t	 tls_certlen, tls_keylen;

/* A self-signed certificate for 127.0.0.1, made by openssl(1). */
static int
tls_make_cert(void)
{
	char	 cmd[512], path[128];

	strlcpy(tls_dir, "/tmp/test_checkd.XXXXXX", sizeof(tls_dir));
	if (mkdtemp(tls_dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 "
	    "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem "
	    "-out %s/cert.pem >/dev/null 2>&1", tls_dir, tls_dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/cert.pem", tls_dir);
	tls_cert = tls_load_file(path, &tls_certlen, NULL);
	unlink(path);
	snprintf(path, sizeof(path), "%s/key.pem", tls_dir);
	tls_key = tls_load_file(path, &tls_keylen, NULL);
	unlink(path);
	rmdir(tls_dir);
	return tls_cert != NULL && tls_key != NULL ? 0 : -1;
}

static struct tls *
tls_server_new(struct tls_config **cfg)
{
	struct tls	*t;

	if ((*cfg = tls_config_new()) == NULL ||
	    tls_config_set_keypair_mem(*cfg, tls_cert, tls_certlen, tls_key,
	    tls_keylen) == -1 || (t = tls_server()) == NULL ||
	    tls_configure(t, *cfg) == -1)
		abort();
	return t;
}

static void
load_system_ca(void)
{
	uint8_t	*ca;
	size_t	 len = 0;

	ca = tls_load_file(CHECK_CA_FILE, &len, NULL);
	CHECK(trust_init(ca, len) == 0);
	if (ca != NULL)
		tls_unload_file(ca, len);
}

static struct http_prep *
http_prep_of(const char *id)
{
	struct check	 key, *c;

	key.id = (char *)id;
	c = RB_FIND(check_tree, &checks, &key);
	return c != NULL ? c->prep : NULL;
}

static int
n_results_of(const char *id, const size_t *n)
{
	return count_results(id) >= *n;
}

static int
n_results(const void *arg)
{
	return n_results_of("ca", arg);
}

/*
 * https: verification fails for a self-signed certificate, passes with
 * tls_skip_verify, and passes when the certificate is among the CAs;
 * then the check keeps only that CA, and goes back to the whole bundle
 * when its own CAs fail.  Timeouts are long: a connection with the
 * whole bundle takes seconds of CPU under valgrind.
 */
static void
test_https(void)
{
	static const char resp[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure";
	struct tls_config	*cfg, *wrong;
	struct tls		*t;
	struct srv		*srv;
	struct result		*r;
	struct http_prep	*hp;
	char			 url[64], want[256];
	uint8_t			*ca, *mem;
	size_t			 len = 0, n, accepted, memlen;

	if (tls_cert == NULL) {
		fprintf(stderr, "# no openssl(1): https not tested\n");
		return;
	}
	setup();
	t = tls_server_new(&cfg);
	srv = srv_new(SRV_RESPOND, resp, t);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", srv->port);
	set_check(&(struct spec){ .id = "verify", .target = url,
	    .timeout = 30000 });
	set_check(&(struct spec){ .id = "skip", .target = url,
	    .skip_verify = 1, .timeout = 30000 });
	r = wait_result("verify", 30000);
	snprintf(want, sizeof(want), "Get \"%s\": tls: ", url);
	CHECK(r != NULL && r->st == CHECK_CRITICAL);
	CHECK(r != NULL && strncmp(r->out, want, strlen(want)) == 0);
	if (r != NULL)
		fprintf(stderr, "# %s\n", r->out);
	CHECK(http_prep_of("verify")->trust == NULL);
	r = wait_result("skip", 30000);
	snprintf(want, sizeof(want), "HTTP GET %s: 200 OK Output: secure", url);
	CHECK(r != NULL && r->st == CHECK_PASSING);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	CHECK(http_prep_of("skip")->trust == NULL);
	checks_free();

	/* The system's CAs and ours. */
	ca = tls_load_file(CHECK_CA_FILE, &len, NULL);
	if ((ca = realloc(ca, len + tls_certlen)) == NULL)
		abort();
	memcpy(ca + len, tls_cert, tls_certlen);
	trust_free();
	CHECK(trust_init(ca, len + tls_certlen) == 0);
	free(ca);
	/* Of all the CAs, the chain (our certificate) picks ours alone. */
	CHECK(trust_ncas >= 1);
	mem = trust_pick(tls_cert, tls_certlen, &memlen);
	CHECK(mem != NULL && memlen == tls_certlen &&
	    memcmp(mem, tls_cert, tls_certlen) == 0);
	free(mem);
	mem = trust_pick((const uint8_t *)"junk", 4, &memlen);
	CHECK(mem == NULL && memlen == 0);
	set_check(&(struct spec){ .id = "ca", .target = url,
	    .interval = 200, .timeout = 30000 });
	n = 1;
	CHECK(run_until(n_results, &n, 30000));
	hp = http_prep_of("ca");
	CHECK(hp != NULL && hp->trust != NULL);
	n = 3;
	CHECK(run_until(n_results, &n, 30000));
	CHECK(last_result("ca")->st == CHECK_PASSING);
	CHECK_STR(last_result("ca")->out, want);

	/* Its own CA no longer verifies: the whole bundle, same probe. */
	if ((wrong = tls_config_new()) == NULL ||
	    tls_config_set_ca_mem(wrong, trust_cas[0].pem,
	    trust_cas[0].pemlen) == -1)
		abort();
	tls_config_free(hp->trust);
	hp->trust = wrong;
	accepted = srv->accepted;
	n = count_results("ca") + 1;
	CHECK(run_until(n_results, &n, 30000));
	CHECK(last_result("ca")->st == CHECK_PASSING);
	CHECK(srv->accepted == accepted + 2);
	CHECK(hp->trust != NULL && hp->trust != wrong);
	trust_free();
	load_system_ca();

	teardown();
	tls_free(t);
	tls_config_free(cfg);
}

static void
test_tcp(void)
{
	struct srv	*srv;
	struct result	*r;
	char		 target[64], want[256];
	int		 port = closed_port(), fd, filler, bport;
	struct sockaddr_in sin;

	setup();
	srv = srv_new(SRV_SILENT, NULL, NULL);
	snprintf(target, sizeof(target), "127.0.0.1:%d", srv->port);
	set_check(&(struct spec){ .id = "up", .type = CHECK_TYPE_TCP,
	    .target = target });
	snprintf(target, sizeof(target), "localhost:%d", port);
	set_check(&(struct spec){ .id = "down", .type = CHECK_TYPE_TCP,
	    .target = target });
	set_check(&(struct spec){ .id = "noport", .type = CHECK_TYPE_TCP,
	    .target = "127.0.0.1" });
	set_check(&(struct spec){ .id = "name", .type = CHECK_TYPE_TCP,
	    .target = "db:5432" });

	/* A full accept queue drops the SYN: the connect times out. */
	fd = listen_socket(0, &bport);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(bport);
	filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	(void)connect(filler, (struct sockaddr *)&sin, sizeof(sin));
	run_for(50);
	snprintf(target, sizeof(target), "127.0.0.1:%d", bport);
	set_check(&(struct spec){ .id = "hang", .type = CHECK_TYPE_TCP,
	    .target = target, .timeout = 300 });

	r = wait_result("up", 2000);
	snprintf(want, sizeof(want), "TCP connect 127.0.0.1:%d: Success",
	    srv->port);
	CHECK(r != NULL && r->st == CHECK_PASSING);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	r = wait_result("down", 2000);
	snprintf(want, sizeof(want), "dial tcp 127.0.0.1:%d: connect: "
	    "connection refused", port);
	CHECK(r != NULL && r->st == CHECK_CRITICAL);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	r = wait_result("noport", 2000);
	CHECK_STR(r != NULL ? r->out : NULL, "dial tcp: address 127.0.0.1: "
	    "missing port in address");
	r = wait_result("name", 2000);
	CHECK_STR(r != NULL ? r->out : NULL, "dial tcp: lookup db: cannot "
	    "resolve host names in checkd yet");
	r = wait_result("hang", 2000);
	snprintf(want, sizeof(want), "dial tcp 127.0.0.1:%d: i/o timeout",
	    bport);
	CHECK(r != NULL && r->st == CHECK_CRITICAL);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	checks_free();
	close(filler);
	close(fd);
	CHECK(run_until(srv_idle, srv, 1000));
	teardown();
}

/* [::1] in URLs and host:port, when the host has IPv6 loopback. */
static void
test_ipv6(void)
{
	struct srv	*srv;
	struct result	*r;
	char		 url[64], target[64], want[256];
	int		 fd, port;

	if ((fd = listen_socket_af(AF_INET6, 16, &port)) == -1) {
		fprintf(stderr, "# no IPv6 loopback: not tested\n");
		return;
	}
	setup();
	srv = srv_new(SRV_RESPOND, ok_11, NULL);
	event_free(srv->ev);
	close(srv->fd);
	srv->fd = fd;
	srv->port = port;
	srv->ev = event_new(base, fd, EV_READ | EV_PERSIST, srv_accept, srv);
	event_add(srv->ev, NULL);
	snprintf(url, sizeof(url), "http://[::1]:%d/v6", port);
	snprintf(target, sizeof(target), "[::1]:%d", port);
	set_check(&(struct spec){ .id = "h6", .target = url });
	set_check(&(struct spec){ .id = "t6", .target = target,
	    .type = CHECK_TYPE_TCP });
	r = wait_result("h6", 2000);
	snprintf(want, sizeof(want), "HTTP GET %s: 200 OK Output: hello world",
	    url);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	snprintf(want, sizeof(want), "\r\nHost: [::1]:%d\r\n", port);
	CHECK(strstr(srv->req, want) != NULL);
	r = wait_result("t6", 2000);
	snprintf(want, sizeof(want), "TCP connect [::1]:%d: Success", port);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	teardown();
}

/* A SET for a running check replaces it at once; its probe is gone. */
static void
test_set_replaces(void)
{
	struct srv	*silent, *fast;
	struct result	*r;
	char		 url[64], url2[64];
	uint64_t	 t0;

	setup();
	silent = srv_new(SRV_SILENT, NULL, NULL);
	fast = srv_new(SRV_RESPOND, ok_11, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", silent->port);
	snprintf(url2, sizeof(url2), "http://127.0.0.1:%d/", fast->port);
	set_check(&(struct spec){ .id = "r", .target = url,
	    .timeout = 5000 });
	wait_probing(1);
	run_for(50);
	CHECK(silent->open == 1);
	t0 = now_ms();
	set_check(&(struct spec){ .id = "r", .target = url2 });
	CHECK(checks_count() == 1);
	r = wait_result("r", 2000);
	CHECK(r != NULL && r->st == CHECK_PASSING);
	CHECK(r != NULL && r->at - t0 < 1000);
	CHECK(count_results("r") == 1);
	CHECK(run_until(srv_idle, silent, 1000));
	teardown();
}

static void
test_del(void)
{
	struct srv	*silent, *fast;
	char		 url[64], url2[64];
	size_t		 n;

	setup();
	silent = srv_new(SRV_SILENT, NULL, NULL);
	fast = srv_new(SRV_RESPOND, ok_11, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", silent->port);
	snprintf(url2, sizeof(url2), "http://127.0.0.1:%d/", fast->port);

	/* Deleted while its probe runs: no result, connection closed. */
	set_check(&(struct spec){ .id = "d", .target = url, .timeout = 300 });
	wait_probing(1);
	run_for(50);
	CHECK(silent->open == 1);
	CHECK(del_check("d") == 0);
	CHECK(checks_count() == 0);
	run_for(400);
	CHECK(count_results("d") == 0);
	CHECK(silent->open == 0);

	/* A periodic check stops. */
	set_check(&(struct spec){ .id = "p", .target = url2,
	    .interval = 100 });
	CHECK(wait_result("p", 2000) != NULL);
	CHECK(del_check("p") == 0);
	n = count_results("p");
	run_for(350);
	CHECK(count_results("p") == n);
	CHECK(del_check("unknown") == 0);
	teardown();
}

static int
all_reported(const void *arg)
{
	const size_t	*n = arg;
	char		 id[32];
	size_t		 i;

	for (i = 0; i < *n; i++) {
		snprintf(id, sizeof(id), "m%zu", i);
		if (count_results(id) == 0)
			return 0;
	}
	return 1;
}

static void
test_many(void)
{
	struct srv	*srv;
	struct result	*r;
	char		 id[32], url[64];
	size_t		 i, n = 300, passing = 0;

	setup();
	checks_stagger_max = CHECK_STAGGER_MAX_MS;
	srv = srv_new(SRV_RESPOND, ok_11, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv->port);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "m%zu", i);
		set_check(&(struct spec){ .id = id, .target = url,
		    .interval = 1000, .timeout = 5000 });
	}
	CHECK(checks_count() == n);
	CHECK(run_until(all_reported, &n, 8000));
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "m%zu", i);
		r = last_result(id);
		passing += r != NULL && r->st == CHECK_PASSING;
	}
	CHECK(passing == n);
	checks_free();
	run_until(srv_idle, srv, 1000);
	teardown();
}

/* What raftd must never send is refused; bounds are checked. */
static void
test_decode(void)
{
	struct mpack_out	 out;
	struct spec		 s;
	char			*big;
	const char		*hdrs[2 * (CHECK_HEADERS_MAX + 1) + 1];
	size_t			 i;
	int			 rc;

	setup();
	if ((big = malloc(CHECK_BODY_MAX + 2)) == NULL)
		abort();
	memset(big, 'a', CHECK_BODY_MAX + 1);
	big[CHECK_BODY_MAX + 1] = '\0';
	for (i = 0; i < 2 * (CHECK_HEADERS_MAX + 1); i++)
		hdrs[i] = "X-A";
	hdrs[2 * (CHECK_HEADERS_MAX + 1)] = NULL;

#define REFUSED(field, val) do {					\
	s = (struct spec){ .id = "x", .target = "127.0.0.1:1",		\
	    .type = CHECK_TYPE_TCP };					\
	s.field = val;							\
	pack_spec(&out, &s);						\
	rc = check_set_msg(out.sbuf.data, out.sbuf.size,		\
	    CHECK_FROM_RAFTD);						\
	mpack_out_free(&out);						\
	CHECK(rc == -1);						\
} while (0)
	REFUSED(id, "");
	big[CHECK_ID_MAX + 1] = '\0';
	REFUSED(id, big);
	big[CHECK_ID_MAX + 1] = 'a';
	big[CHECK_TARGET_MAX + 1] = '\0';
	REFUSED(target, big);
	big[CHECK_TARGET_MAX + 1] = 'a';
	REFUSED(body, big);
	REFUSED(type, 3);
	REFUSED(interval, CHECK_INTERVAL_MIN_MS - 1);
	REFUSED(output_max, CHECK_OUTPUT_MAX + 1);
	REFUSED(headers, hdrs);
#undef REFUSED
	CHECK(checks_count() == 0);

	/* At the bounds: accepted. */
	big[CHECK_ID_MAX] = '\0';
	set_check(&(struct spec){ .id = big, .type = CHECK_TYPE_TCP,
	    .target = "127.0.0.1:1", .interval = CHECK_INTERVAL_MIN_MS,
	    .output_max = CHECK_OUTPUT_MAX });
	big[CHECK_ID_MAX] = 'a';
	big[CHECK_BODY_MAX] = '\0';
	hdrs[2 * CHECK_HEADERS_MAX] = NULL;
	set_check(&(struct spec){ .id = "b", .target = "http://127.0.0.1:1/",
	    .body = big, .headers = hdrs });
	CHECK(checks_count() == 2);
	free(big);

	/* Hand-made: wrong types, missing fields, trailing bytes. */
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 5);
	mpack_kv_str(&out.pk, "id", "y");
	mpack_kv_uint(&out.pk, "type", CHECK_TYPE_TCP);
	mpack_kv_str(&out.pk, "target", "127.0.0.1:1");
	mpack_kv_uint(&out.pk, "interval_ms", 1000);
	mpack_kv_uint(&out.pk, "timeout_ms", 0);
	CHECK(check_set_msg(out.sbuf.data, out.sbuf.size,
	    CHECK_FROM_RAFTD) == -1);
	CHECK(check_set_msg(out.sbuf.data, out.sbuf.size - 1,
	    CHECK_FROM_RAFTD) == -1);
	mpack_out_free(&out);
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 5);
	mpack_kv_str(&out.pk, "id", "y");
	mpack_kv_uint(&out.pk, "type", CHECK_TYPE_TCP);
	mpack_kv_str(&out.pk, "target", "127.0.0.1:1");
	mpack_kv_uint(&out.pk, "interval_ms", 1000);
	mpack_kv_str(&out.pk, "timeout_ms", "1s");
	CHECK(check_set_msg(out.sbuf.data, out.sbuf.size,
	    CHECK_FROM_RAFTD) == -1);
	mpack_out_free(&out);
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 6);
	mpack_kv_str(&out.pk, "id", "y");
	mpack_kv_uint(&out.pk, "type", CHECK_TYPE_HTTP);
	mpack_kv_str(&out.pk, "target", "http://127.0.0.1:1/");
	mpack_kv_uint(&out.pk, "interval_ms", 1000);
	mpack_kv_uint(&out.pk, "timeout_ms", 1000);
	mpack_kv_uint(&out.pk, "tls_skip_verify", 1);
	CHECK(check_set_msg(out.sbuf.data, out.sbuf.size,
	    CHECK_FROM_RAFTD) == -1);
	mpack_out_free(&out);
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 4);
	mpack_kv_str(&out.pk, "id", "y");
	mpack_kv_uint(&out.pk, "type", CHECK_TYPE_TCP);
	mpack_kv_uint(&out.pk, "interval_ms", 1000);
	mpack_kv_uint(&out.pk, "timeout_ms", 1000);
	CHECK(check_set_msg(out.sbuf.data, out.sbuf.size,
	    CHECK_FROM_RAFTD) == -1);
	msgpack_pack_nil(&out.pk);
	CHECK(check_set_msg(out.sbuf.data, out.sbuf.size,
	    CHECK_FROM_RAFTD) == -1);
	mpack_out_free(&out);
	CHECK(check_set_msg(NULL, 0, CHECK_FROM_RAFTD) == -1);
	CHECK(check_set_msg("\x93\x01\x02\x03", 4, CHECK_FROM_RAFTD) == -1);
	CHECK(check_del_msg("\x81\xa2id\x01", 5, CHECK_FROM_RAFTD) == -1);
	CHECK(check_del_msg("\x80", 1, CHECK_FROM_RAFTD) == -1);
	CHECK(check_del_msg(NULL, 0, CHECK_FROM_RAFTD) == -1);
	CHECK(checks_count() == 2);
	teardown();
}

/* ---- script checks: the runs checkd asks the parent for ---- */

struct run_ask {
	uint32_t	 run;
	char		 id[32];
};

static struct run_ask	 runs_asked[64];
static size_t		 nruns_asked;

static void
on_run(uint32_t run, const char *id, void *arg)
{
	if (nruns_asked == nitems(runs_asked))
		abort();
	runs_asked[nruns_asked].run = run;
	snprintf(runs_asked[nruns_asked].id, sizeof(runs_asked[0].id), "%s",
	    id);
	nruns_asked++;
}

static int
runs_asked_at_least(const void *arg)
{
	return nruns_asked >= *(const size_t *)arg;
}

/* The parent's answer to a run. */
static int
answer_run(uint32_t run, const char *status, const char *output)
{
	struct mpack_out	 out;
	int			 rc;

	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 2);
	mpack_kv_str(&out.pk, "status", status);
	mpack_kv_str(&out.pk, "output", output);
	rc = script_result_msg(run, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	return rc;
}

/*
 * A script check is scheduled like the others, but its probe is a run
 * asked of the parent: the answer is the result, no second run starts
 * while one is out, an answer for a run of a check replaced or deleted
 * is dropped, and only the parent may set or delete script checks.
 */
static void
test_script(void)
{
	struct mpack_out	 out;
	struct spec		 sp;
	struct result		*r;
	size_t			 want;
	uint32_t		 first;

	setup();
	nruns_asked = 0;
	script_init(on_run, NULL);

	/* Only the parent sets script checks, and raftd the others. */
	sp = (struct spec){ .id = "s", .target = "",
	    .type = CHECK_TYPE_SCRIPT, .interval = 100, .timeout = 1000 };
	pack_spec(&out, &sp);
	CHECK(check_set_msg(out.sbuf.data, out.sbuf.size,
	    CHECK_FROM_RAFTD) == -1);
	mpack_out_free(&out);
	pack_spec(&out, &(struct spec){ .id = "h",
	    .target = "http://127.0.0.1:1/" });
	CHECK(check_set_msg(out.sbuf.data, out.sbuf.size,
	    CHECK_FROM_PARENT) == -1);
	mpack_out_free(&out);
	CHECK(checks_count() == 0);

	set_check(&sp);
	want = 1;
	CHECK(run_until(runs_asked_at_least, &want, 2000));
	CHECK(nruns_asked == 1 && strcmp(runs_asked[0].id, "s") == 0);
	CHECK(script_runs() == 1 && checks_probing() == 1);
	/* Due again twice over: the run is still out, none is asked. */
	run_for(250);
	CHECK(nruns_asked == 1);
	CHECK(answer_run(runs_asked[0].run, "warning", "slow\n") == 0);
	r = last_result("s");
	CHECK(r != NULL && r->st == CHECK_WARNING);
	CHECK_STR(r != NULL ? r->out : NULL, "slow\n");
	CHECK(script_runs() == 0);
	/* An answer twice, or for no run, is dropped. */
	CHECK(answer_run(runs_asked[0].run, "passing", "") == 0);
	CHECK(answer_run(12345, "passing", "") == 0);
	CHECK(count_results("s") == 1);

	/* Replaced while a run is out: its answer is dropped. */
	want = 2;
	CHECK(run_until(runs_asked_at_least, &want, 2000));
	first = runs_asked[1].run;
	set_check(&sp);
	CHECK(script_runs() == 0);
	want = 3;
	CHECK(run_until(runs_asked_at_least, &want, 2000));
	CHECK(runs_asked[2].run != first);
	CHECK(answer_run(first, "critical", "old") == 0);
	CHECK(count_results("s") == 1);
	CHECK(answer_run(runs_asked[2].run, "passing", "") == 0);
	CHECK(count_results("s") == 2 && last_result("s")->st ==
	    CHECK_PASSING);

	/* Malformed answers. */
	CHECK(script_result_msg(1, NULL, 0) == -1);
	CHECK(answer_run(1, "fine", "") == -1);

	/* raftd's deletion does not touch it; the parent's does. */
	CHECK(del_check_from("s", CHECK_FROM_RAFTD) == 0);
	CHECK(checks_count() == 1);
	CHECK(del_check_from("s", CHECK_FROM_PARENT) == 0);
	CHECK(checks_count() == 0);
	CHECK(script_runs() == 0);
	teardown();
	script_init(NULL, NULL);
}

/* The results raftd gets are valid UTF-8 without NULs. */
static void
test_output_utf8(void)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n"
	    "\r\na\0b\xff\xc3\xa9\xe2\x82";
	static const char clean[] = "a\xef\xbf\xbd" "b\xef\xbf\xbd\xc3\xa9"
	    "\xef\xbf\xbd\xef\xbf\xbd";
	unsigned char	 buf[64];
	struct srv	*srv;
	struct result	*r;
	char		 url[64], want[256];
	size_t		 n;

	n = check_utf8((const unsigned char *)"a\0b\xff\xc3\xa9\xe2\x82", 8,
	    buf);
	buf[n] = '\0';
	CHECK_STR((char *)buf, clean);
	/* A surrogate, beyond U+10FFFF, overlong: each byte replaced. */
	n = check_utf8((const unsigned char *)"\xed\xa0\x80\xf4\x90\x80\x80"
	    "\xc0\xaf", 9, buf);
	CHECK(n == 9 * 3);

	setup();
	srv = srv_new(SRV_RESPOND, resp, NULL);
	srv->resplen = sizeof(resp) - 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv->port);
	set_check(&(struct spec){ .id = "u", .target = url });
	r = wait_result("u", 2000);
	snprintf(want, sizeof(want), "HTTP GET %s: 200 OK Output: %s", url,
	    clean);
	CHECK(r != NULL && r->st == CHECK_PASSING);
	CHECK_STR(r != NULL ? r->out : NULL, want);
	teardown();
}

static const char *
status_of(const char *id)
{
	struct result	*r = last_result(id);

	return r != NULL ? check_status_name(r->st) : "none";
}

static int
sandbox_done(const void *arg)
{
	size_t	 n = 2;

	return has_result("h") && has_result("t") && (tls_cert == NULL ||
	    (has_result("s") && has_result("x") && n_results_of("v", &n)));
}

/*
 * The engine inside checkd's seccomp filter (in a child): http, tcp,
 * and https with and without verification, with the whole bundle and
 * then a check's own CAs, need nothing the filter does not allow.
 * Valgrind cannot run code under a filter.
 */
static void
test_sandboxed(void)
{
	static const char resp[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct tls_config	*cfg = NULL;
	struct tls		*t = NULL;
	struct srv		*srv, *tsrv = NULL;
	struct http_prep	*hp;
	char			 url[64], turl[64], xurl[64], target[64];
	char			 got[256];
	int			 p[2], status;
	ssize_t			 n;
	pid_t			 pid;
	size_t			 len = 0;
	uint8_t			*ca;

	if (RUNNING_ON_VALGRIND) {
		fprintf(stderr, "# under valgrind: sandbox not tested\n");
		return;
	}
	setup();
	srv = srv_new(SRV_RESPOND, resp, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv->port);
	snprintf(target, sizeof(target), "127.0.0.1:%d", srv->port);
	if (tls_cert != NULL) {
		t = tls_server_new(&cfg);
		tsrv = srv_new(SRV_RESPOND, resp, t);
		snprintf(turl, sizeof(turl), "https://127.0.0.1:%d/",
		    tsrv->port);
		/* The certificate is for 127.0.0.1 only. */
		snprintf(xurl, sizeof(xurl), "https://localhost:%d/",
		    tsrv->port);
	}
	if (pipe(p) == -1)
		abort();
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		close(p[0]);
		if ((base = event_base_new()) == NULL)
			_exit(2);
		checks_init(base, on_result, NULL);
		nresults = results_cap = 0;
		results = NULL;
		if (tls_cert != NULL) {
			ca = tls_load_file(CHECK_CA_FILE, &len, NULL);
			if ((ca = realloc(ca, len + tls_certlen)) == NULL)
				_exit(2);
			memcpy(ca + len, tls_cert, tls_certlen);
			trust_free();
			if (trust_init(ca, len + tls_certlen) == -1)
				_exit(2);
		}
		sandbox_filter(PROC_CHECKD);
		set_check(&(struct spec){ .id = "h", .target = url });
		set_check(&(struct spec){ .id = "t", .target = target,
		    .type = CHECK_TYPE_TCP });
		if (t != NULL) {
			set_check(&(struct spec){ .id = "s", .target = turl,
			    .skip_verify = 1 });
			set_check(&(struct spec){ .id = "v", .target = turl,
			    .interval = 200 });
			set_check(&(struct spec){ .id = "x", .target = xurl });
		}
		run_until(sandbox_done, NULL, 5000);
		hp = t != NULL ? http_prep_of("v") : NULL;
		n = snprintf(got, sizeof(got), "%s %s %s %s %s %s",
		    status_of("h"), status_of("t"), status_of("s"),
		    status_of("v"), status_of("x"),
		    hp != NULL && hp->trust != NULL ? "own-CAs" : "-");
		(void)write(p[1], got, n);
		_exit(0);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		run_for(20);
		n = read(p[0], got + len, sizeof(got) - 1 - len);
		if (n == 0)
			break;
		if (n > 0)
			len += n;
	}
	got[len] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (t != NULL)
		CHECK_STR(got, "passing passing passing passing critical "
		    "own-CAs");
	else
		CHECK_STR(got, "passing passing none none none -");
	teardown();
	if (t != NULL) {
		tls_free(t);
		tls_config_free(cfg);
	}
}

int
main(void)
{
	const struct test_case	 cases[] = {
		TEST_CASE(test_http_passing),
		TEST_CASE(test_http_truncated),
		TEST_CASE(test_http_status),
		TEST_CASE(test_http_refused),
		TEST_CASE(test_http_errors),
		TEST_CASE(test_http_timeout),
		TEST_CASE(test_http_no_overlap),
		TEST_CASE(test_http_endless),
		TEST_CASE(test_http_chunked),
		TEST_CASE(test_http_request),
		TEST_CASE(test_https),
		TEST_CASE(test_tcp),
		TEST_CASE(test_ipv6),
		TEST_CASE(test_set_replaces),
		TEST_CASE(test_del),
		TEST_CASE(test_many),
		TEST_CASE(test_decode),
		TEST_CASE(test_output_utf8),
		TEST_CASE(test_script),
		TEST_CASE(test_sandboxed),
	};
	int	 rc;

	signal(SIGPIPE, SIG_IGN);
	if (tls_make_cert() == -1) {
		free(tls_cert);
		free(tls_key);
		tls_cert = tls_key = NULL;
	}
	load_system_ca();
	rc = test_main(cases, nitems(cases));
	trust_free();
	if (tls_cert != NULL)
		tls_unload_file(tls_cert, tls_certlen);
	if (tls_key != NULL)
		tls_unload_file(tls_key, tls_keylen);
	return rc;
}
