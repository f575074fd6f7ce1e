/*
 * kvload: a KV load client that records every operation it makes, for
 * the linearizability checker (regress/tools/lincheck.c; the line format
 * of TESTING.md section 1).
 *   kvload -a addr[,addr...] -o file [-c clients] [-k keys] [-r rate]
 *	[-d seconds] [-p prefix] [-t timeout_ms] [-m mode] [-S setprefix]
 *   kvload -L addr -S setprefix -o file [-t timeout_ms]
 * Each client is a thread bound to one address (round-robin over -a) with
 * one keep-alive HTTP/1.1 connection, reopened after any error.  It does
 * gets, puts of unique values and CAS with the index it last saw, on
 * random keys <prefix>k0 ... <prefix>k<keys-1> (prefix "lin/" unless -p
 * says otherwise), all clients together at about rate operations a
 * second, for the given seconds.  A write that gets no 200 answer in time
 * is "info" (it may or may not have happened) unless it could not even be
 * sent; a read that fails is "fail".  Lines are written as operations
 * complete.  SIGUSR1 and SIGUSR2 write "# mark <ns> usr1" (or usr2)
 * lines; SIGTERM and SIGINT end the run early.
 *
 * With -S, a fifth of the operations write unique keys
 * setprefix/<client>-<seq> instead, and every one answered "true" is
 * appended to file.set as "acked KEY".  -L lists the keys under
 * setprefix/ with a consistent read and appends "present KEY" lines to
 * file, so that "lincheck -set" can check that no acknowledged write was
 * lost.
 *
 * The checker starts every key absent: give each run keys of its own
 * (-p) when the cluster has served an earlier one.  Only loopback
 * addresses are accepted: numeric 127.0.0.0/8 or ::1.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#define ADDRS_MAX		64
#define CLIENTS_MAX		256
#define KEYS_MAX		10000
#define PREFIX_MAX		200
#define RESP_MAX		(64 * 1024)
#define LIST_RESP_MAX		(16 * 1024 * 1024)
#define REQ_MAX			1024
#define VALUE_MAX		256
#define LIST_TRIES		5
#define SET_SHARE		20	/* percent of ops that write the set */

enum op_status { ST_OK, ST_FAIL, ST_INFO };

struct addr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 host[96];	/* for the Host header */
};

struct conn {
	int		 fd;
	const struct addr *addr;
	char		*buf;
	size_t		 bufmax;
};

struct resp {
	int		 status;
	char		*body;		/* NUL-terminated, inside conn's buf */
	size_t		 bodylen;
};

struct worker {
	pthread_t	 thread;
	int		 id;
	struct conn	 conn;
	uint64_t	 rng;
	uint64_t	 seq;
	int64_t		*seen;		/* per key: the last index seen */
	uint64_t	 count[3];
	uint64_t	 set_tried;
	uint64_t	 set_acked;
};

static struct addr	 addrs[ADDRS_MAX];
static int		 naddrs;
static int		 nkeys = 4;
static int64_t		 timeout_ns = 1000 * 1000000LL;
static const char	*prefix = "lin/";
static const char	*setprefix;
static const char	*read_arg = "?consistent";

static FILE		*hist;
static FILE		*setf;
static pthread_mutex_t	 out_mtx = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t	 rate_mtx = PTHREAD_MUTEX_INITIALIZER;
static int64_t		 next_slot;
static int64_t		 interval_ns;
static int64_t		 end_ns;
static atomic_int	 stopping;

static void
usage(void)
{
	fprintf(stderr, "usage: kvload -a addr[,addr...] -o file "
	    "[-c clients] [-k keys] [-r rate]\n"
	    "\t[-d seconds] [-p prefix] [-t timeout_ms] "
	    "[-m consistent|default|stale]\n\t[-S setprefix]\n"
	    "       kvload -L addr -S setprefix -o file [-t timeout_ms]\n");
	exit(2);
}

static int64_t
now_ns(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		err(1, "clock_gettime");
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long long
number(const char *s, long long min, long long max, const char *what)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		errx(2, "%s is %s: %s", what, errstr, s);
	return v;
}

/* Keys go into URLs unescaped: keep them to a plain alphabet. */
static void
check_prefix(const char *p, const char *what)
{
	size_t	 i, len = strlen(p);

	if (len == 0 || len > PREFIX_MAX || p[0] == '/')
		errx(2, "%s must be 1 to %d characters, not starting with /",
		    what, PREFIX_MAX);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)p[i]) &&
		    strchr("/_.-", p[i]) == NULL)
			errx(2, "%s may hold only letters, digits and /_.-",
			    what);
}

/* "127.0.0.1:8500" or "[::1]:8500", loopback only. */
static void
parse_addr(const char *s, struct addr *a)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&a->ss;
	char			 host[64];
	const char		*colon;
	size_t			 hlen;
	int			 port;

	memset(a, 0, sizeof(*a));
	if ((colon = strrchr(s, ':')) == NULL)
		errx(2, "%s: expected HOST:PORT", s);
	port = number(colon + 1, 1, 65535, "port");
	hlen = colon - s;
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		s++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		errx(2, "%s: bad host", s);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			errx(2, "%s: loopback addresses only (127/8, ::1)",
			    host);
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		a->len = sizeof(*sin);
		snprintf(a->host, sizeof(a->host), "%s:%d", host, port);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			errx(2, "%s: loopback addresses only (127/8, ::1)",
			    host);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		a->len = sizeof(*sin6);
		snprintf(a->host, sizeof(a->host), "[%s]:%d", host, port);
	} else
		errx(2, "%s: not a numeric IPv4 or IPv6 address", host);
}

static void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/* Wait for events on the connection until deadline: 0 ready, -1 not. */
static int
conn_wait(struct conn *c, short events, int64_t deadline)
{
	struct pollfd	 pfd;
	int64_t		 left;
	int		 r;

	for (;;) {
		if ((left = deadline - now_ns()) <= 0)
			return -1;
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)((left + 999999) / 1000000));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 1)
			return 0;
	}
}

/*
 * Make sure the connection is open: an idle keep-alive connection that
 * the server closed (or that has stray data) is reopened first, so that
 * a write is never sent into a connection already known to be dead.
 */
static int
conn_open(struct conn *c, int64_t deadline)
{
	struct pollfd	 pfd;
	socklen_t	 elen = sizeof(int);
	int		 e = 0, one = 1;

	if (c->fd != -1) {
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) == 0)
			return 0;
		conn_close(c);
	}
	if ((c->fd = socket(c->addr->ss.ss_family, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&c->addr->ss,
	    c->addr->len) == 0)
		return 0;
	if (errno != EINPROGRESS || conn_wait(c, POLLOUT, deadline) == -1 ||
	    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1 ||
	    e != 0) {
		conn_close(c);
		return -1;
	}
	return 0;
}

static int
conn_send(struct conn *c, const char *p, size_t len, int64_t deadline)
{
	ssize_t	 n;

	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (conn_wait(c, POLLOUT, deadline) == -1)
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* The value of header name in the header block hdr, or NULL. */
static const char *
header_find(const char *hdr, const char *name, size_t *lenp)
{
	const char	*line, *v, *end;
	size_t		 n = strlen(name);

	for (line = strstr(hdr, "\r\n"); line != NULL;
	    line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, name, n) != 0 || line[n] != ':')
			continue;
		for (v = line + n + 1; *v == ' ' || *v == '\t'; v++)
			;
		if ((end = strstr(v, "\r\n")) == NULL)
			end = v + strlen(v);
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*lenp = end - v;
		return v;
	}
	return NULL;
}

/*
 * A chunked body: buf[0..len) holds what came after the headers.
 * Returns 1 when it is complete, having decoded it in place (its length
 * in *bodylen), 0 when more is needed, -1 when it is malformed.
 */
static int
dechunk(char *buf, size_t len, size_t *bodylen)
{
	size_t		 in, out, size, i;
	const char	*crlf;
	int		 pass, d;

	/* Pass 0 only checks that it is all there, pass 1 decodes. */
	for (pass = 0; pass < 2; pass++) {
		for (in = 0, out = 0; ; ) {
			if ((crlf = memmem(buf + in, len - in, "\r\n", 2)) ==
			    NULL)
				return len - in > 32 ? -1 : 0;
			size = 0;
			for (i = in; buf + i < crlf && buf[i] != ';'; i++) {
				if (!isxdigit((unsigned char)buf[i]) ||
				    size > RESP_MAX * 256)
					return -1;
				d = isdigit((unsigned char)buf[i]) ?
				    buf[i] - '0' :
				    tolower((unsigned char)buf[i]) - 'a' + 10;
				size = size * 16 + d;
			}
			if (i == in)
				return -1;
			in = crlf - buf + 2;
			if (size == 0)
				break;
			if (len - in < size + 2)
				return 0;
			if (buf[in + size] != '\r' || buf[in + size + 1] !=
			    '\n')
				return -1;
			if (pass == 1)
				memmove(buf + out, buf + in, size);
			out += size;
			in += size + 2;
		}
		/* No trailers are expected: just the final CRLF. */
		if (len - in < 2)
			return 0;
		if (buf[in] != '\r' || buf[in + 1] != '\n')
			return -1;
		*bodylen = out;
	}
	return 1;
}

/*
 * One request and its answer within deadline.  Returns 0 with the
 * answer in r, -1 on any error (and the connection is closed); *sent
 * tells whether the whole request was handed to the kernel (if not, the
 * server cannot have acted on it).
 */
static int
http_exchange(struct conn *c, const char *method, const char *target,
    const char *body, size_t bodylen, int64_t deadline, struct resp *r,
    int *sent)
{
	char		 req[REQ_MAX], *hend = NULL, *b;
	const char	*v;
	size_t		 have = 0, hlen, vlen, clen = 0;
	ssize_t		 n;
	int		 chunked = 0, close_after = 0, until_eof = 0, len, done;

	*sent = 0;
	len = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "Content-Length: %zu\r\n\r\n", method, target, c->addr->host,
	    bodylen);
	if (len < 0 || (size_t)len >= sizeof(req))
		return -1;
	if (conn_open(c, deadline) == -1 ||
	    conn_send(c, req, len, deadline) == -1 ||
	    (bodylen > 0 && conn_send(c, body, bodylen, deadline) == -1))
		goto fail;
	*sent = 1;
	for (;;) {
		if (have == c->bufmax)
			goto fail;
		n = recv(c->fd, c->buf + have, c->bufmax - have, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (conn_wait(c, POLLIN, deadline) == -1)
				goto fail;
			continue;
		}
		if (n == -1 || (n == 0 && !until_eof))
			goto fail;
		have += n;
		c->buf[have] = '\0';
		if (hend == NULL) {
			if ((hend = strstr(c->buf, "\r\n\r\n")) == NULL)
				continue;
			hend += 2;
			*hend = '\0';
			hlen = hend - c->buf + 2;
			if (hlen < 16 || strncmp(c->buf, "HTTP/1.", 7) != 0 ||
			    !isdigit((unsigned char)c->buf[9]) ||
			    !isdigit((unsigned char)c->buf[10]) ||
			    !isdigit((unsigned char)c->buf[11]))
				goto fail;
			r->status = (c->buf[9] - '0') * 100 +
			    (c->buf[10] - '0') * 10 + (c->buf[11] - '0');
			if ((v = header_find(c->buf, "Connection",
			    &vlen)) != NULL && vlen == 5 &&
			    strncasecmp(v, "close", 5) == 0)
				close_after = 1;
			if (c->buf[7] == '0')
				close_after = 1;
			if ((v = header_find(c->buf, "Transfer-Encoding",
			    &vlen)) != NULL) {
				if (vlen != 7 || strncasecmp(v, "chunked", 7))
					goto fail;
				chunked = 1;
			} else if ((v = header_find(c->buf, "Content-Length",
			    &vlen)) != NULL) {
				if (vlen == 0 || vlen > 9 ||
				    strspn(v, "0123456789") < vlen)
					goto fail;
				clen = strtoul(v, NULL, 10);
			} else {
				until_eof = 1;
				close_after = 1;
			}
			b = c->buf + hlen;
			have -= hlen;
			memmove(c->buf, b, have);
			c->buf[have] = '\0';
			hend = c->buf;
		}
		if (n == 0) {
			clen = have;
			break;
		}
		if (chunked) {
			if ((done = dechunk(c->buf, have, &clen)) == -1)
				goto fail;
			if (done == 1)
				break;
		} else if (!until_eof && have >= clen)
			break;
	}
	if (clen > have)
		goto fail;
	if (!chunked && have > clen)
		/* Stray bytes after the answer: the stream is out of step. */
		close_after = 1;
	c->buf[clen] = '\0';
	r->body = c->buf;
	r->bodylen = clen;
	if (close_after)
		conn_close(c);
	return 0;
fail:
	conn_close(c);
	return -1;
}

/*
 * A value as a history field: printable bytes other than '%' as they
 * are, others as %XX; an empty value is "%", the value "_" is "%5F".
 */
static void
value_field(const unsigned char *v, size_t len, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 i, o = 0;

	if (len == 0) {
		strlcpy(out, "%", outlen);
		return;
	}
	if (len == 1 && v[0] == '_') {
		strlcpy(out, "%5F", outlen);
		return;
	}
	for (i = 0; i < len && o + 3 < outlen; i++) {
		if (v[i] > 0x20 && v[i] < 0x7f && v[i] != '%')
			out[o++] = v[i];
		else {
			out[o++] = '%';
			out[o++] = hex[v[i] >> 4];
			out[o++] = hex[v[i] & 15];
		}
	}
	out[o] = '\0';
}

/*
 * The value and ModifyIndex of a GET answer's first KVPair.  Returns -1
 * when the body is not what Consul sends.
 */
static int
parse_kvpair(const struct resp *r, char *val, size_t vallen, int64_t *idx)
{
	json_t		*doc, *pair, *v, *mi;
	json_error_t	 jerr;
	unsigned char	 bin[VALUE_MAX];
	const char	*b64;
	size_t		 binlen = 0;
	int		 rv = -1;

	if ((doc = json_loadb(r->body, r->bodylen, 0, &jerr)) == NULL)
		return -1;
	if (!json_is_array(doc) || (pair = json_array_get(doc, 0)) == NULL ||
	    !json_is_object(pair) ||
	    (mi = json_object_get(pair, "ModifyIndex")) == NULL ||
	    !json_is_integer(mi) || json_integer_value(mi) < 1)
		goto done;
	*idx = json_integer_value(mi);
	v = json_object_get(pair, "Value");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			goto done;
		b64 = json_string_value(v);
		if (sodium_base642bin(bin, sizeof(bin), b64, strlen(b64),
		    NULL, &binlen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
			goto done;
	}
	value_field(bin, binlen, val, vallen);
	rv = 0;
done:
	json_decref(doc);
	return rv;
}

static int
body_is(const struct resp *r, const char *s)
{
	size_t	 n = r->bodylen;

	while (n > 0 && isspace((unsigned char)r->body[n - 1]))
		n--;
	return n == strlen(s) && memcmp(r->body, s, n) == 0;
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t	 x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void
record(struct worker *w, const char *op, const char *key, const char *in,
    const char *out, int64_t call, int64_t ret, enum op_status st)
{
	static const char	*names[] = { "ok", "fail", "info" };

	w->count[st]++;
	pthread_mutex_lock(&out_mtx);
	fprintf(hist, "%d %s %s %s %s %" PRId64 " %" PRId64 " %s\n", w->id,
	    op, key, in, out, call, ret, names[st]);
	pthread_mutex_unlock(&out_mtx);
}

static void
do_get(struct worker *w, int k, const char *key)
{
	struct resp	 r;
	char		 target[REQ_MAX], val[VALUE_MAX * 3 + 1];
	char		 out[sizeof(val) + 32];
	int64_t		 call, ret, idx;
	int		 sent;

	snprintf(target, sizeof(target), "/v1/kv/%s%s", key, read_arg);
	call = now_ns();
	if (http_exchange(&w->conn, "GET", target, NULL, 0,
	    call + timeout_ns, &r, &sent) == -1) {
		record(w, "get", key, "-", "-1", call, now_ns(), ST_FAIL);
		return;
	}
	ret = now_ns();
	if (r.status == 404) {
		w->seen[k] = 0;
		record(w, "get", key, "-", "_:0", call, ret, ST_OK);
		return;
	}
	if (r.status != 200 || parse_kvpair(&r, val, sizeof(val), &idx) ==
	    -1) {
		record(w, "get", key, "-", "-1", call, ret, ST_FAIL);
		return;
	}
	w->seen[k] = idx;
	snprintf(out, sizeof(out), "%s:%" PRId64, val, idx);
	record(w, "get", key, "-", out, call, ret, ST_OK);
}

/*
 * A put, or a CAS when cas >= 0.  Unless the server answered 200, its
 * outcome is unknown ("info"): it may apply the write later even after
 * an error or a timeout.  Only a request that was never sent in full
 * (no connection, say) has certainly not happened.
 */
static void
do_write(struct worker *w, const char *key, int64_t cas)
{
	struct resp	 r;
	char		 target[REQ_MAX], val[64], in[96];
	int64_t		 call, ret;
	int		 sent;

	snprintf(val, sizeof(val), "c%d-%" PRIu64, w->id, ++w->seq);
	if (cas >= 0) {
		snprintf(target, sizeof(target), "/v1/kv/%s?cas=%" PRId64,
		    key, cas);
		snprintf(in, sizeof(in), "%" PRId64 ":%s", cas, val);
	} else {
		snprintf(target, sizeof(target), "/v1/kv/%s", key);
		strlcpy(in, val, sizeof(in));
	}
	call = now_ns();
	if (http_exchange(&w->conn, "PUT", target, val, strlen(val),
	    call + timeout_ns, &r, &sent) == -1 || r.status != 200 ||
	    (!body_is(&r, "true") && !body_is(&r, "false"))) {
		record(w, cas >= 0 ? "cas" : "put", key, in, "-1", call,
		    now_ns(), sent ? ST_INFO : ST_FAIL);
		return;
	}
	ret = now_ns();
	if (cas >= 0)
		record(w, "cas", key, in, body_is(&r, "true") ? "ok:-1" :
		    "fail", call, ret, ST_OK);
	else
		/* A plain put answered false was not applied. */
		record(w, "put", key, in, "-1", call, ret,
		    body_is(&r, "true") ? ST_OK : ST_FAIL);
}

static void
do_set_write(struct worker *w)
{
	struct resp	 r;
	char		 key[PREFIX_MAX + 64], target[REQ_MAX], val[64];
	uint64_t	 seq = ++w->seq;
	int		 sent;

	snprintf(key, sizeof(key), "%s/%d-%" PRIu64, setprefix, w->id, seq);
	snprintf(target, sizeof(target), "/v1/kv/%s", key);
	snprintf(val, sizeof(val), "s%d-%" PRIu64, w->id, seq);
	w->set_tried++;
	if (http_exchange(&w->conn, "PUT", target, val, strlen(val),
	    now_ns() + timeout_ns, &r, &sent) == -1 || r.status != 200 ||
	    !body_is(&r, "true"))
		return;
	w->set_acked++;
	pthread_mutex_lock(&out_mtx);
	fprintf(setf, "acked %s\n", key);
	pthread_mutex_unlock(&out_mtx);
}

/* Wait for this worker's next slot of the shared rate: 0, or -1 to stop. */
static int
rate_wait(void)
{
	struct timespec	 ts;
	int64_t		 slot, now = now_ns(), d;

	pthread_mutex_lock(&rate_mtx);
	slot = next_slot > now ? next_slot : now;
	next_slot = slot + interval_ns;
	pthread_mutex_unlock(&rate_mtx);
	if (slot >= end_ns)
		return -1;
	while (!atomic_load(&stopping) && (d = slot - now_ns()) > 0) {
		if (d > 100000000)
			d = 100000000;
		ts.tv_sec = d / 1000000000;
		ts.tv_nsec = d % 1000000000;
		nanosleep(&ts, NULL);
	}
	return atomic_load(&stopping) ? -1 : 0;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	char		 key[PREFIX_MAX + 32];
	uint64_t	 x;
	int		 k;

	while (rate_wait() == 0) {
		x = rng_next(&w->rng);
		if (setprefix != NULL && x % 100 < SET_SHARE) {
			do_set_write(w);
			continue;
		}
		x /= 100;
		k = x % nkeys;
		snprintf(key, sizeof(key), "%sk%d", prefix, k);
		switch ((x / nkeys) % 4) {
		case 0:
		case 1:
			do_get(w, k, key);
			break;
		case 2:
			do_write(w, key, -1);
			break;
		default:
			do_write(w, key, w->seen[k]);
			break;
		}
	}
	conn_close(&w->conn);
	return NULL;
}

static void
mark(const char *label)
{
	pthread_mutex_lock(&out_mtx);
	fprintf(hist, "# mark %" PRId64 " %s\n", now_ns(), label);
	fflush(hist);
	pthread_mutex_unlock(&out_mtx);
}

/* -L: append "present KEY" for every key under setprefix/. */
static int
list_set(const char *path)
{
	struct conn	 c;
	struct resp	 r;
	json_t		*doc = NULL, *k;
	json_error_t	 jerr;
	FILE		*fp;
	char		 target[REQ_MAX], field[PREFIX_MAX * 3 + 256];
	const char	*s;
	size_t		 i, n = 0;
	int		 try, sent;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.addr = &addrs[0];
	c.bufmax = LIST_RESP_MAX;
	if ((c.buf = malloc(c.bufmax + 1)) == NULL)
		err(1, NULL);
	snprintf(target, sizeof(target), "/v1/kv/%s/?keys&consistent",
	    setprefix);
	/* Right after a fault the cluster may still be electing. */
	for (try = 1; ; try++) {
		if (http_exchange(&c, "GET", target, NULL, 0,
		    now_ns() + timeout_ns, &r, &sent) == 0 &&
		    (r.status == 200 || r.status == 404))
			break;
		if (try == LIST_TRIES)
			errx(1, "listing %s/ failed %d times", setprefix,
			    LIST_TRIES);
		warnx("listing %s/ failed, again in 500 ms", setprefix);
		usleep(500000);
	}
	if (r.status == 200) {
		if ((doc = json_loadb(r.body, r.bodylen, 0, &jerr)) == NULL ||
		    !json_is_array(doc))
			errx(1, "listing %s/: not a JSON array", setprefix);
	}
	if ((fp = fopen(path, "a")) == NULL)
		err(1, "%s", path);
	for (i = 0; doc != NULL && i < json_array_size(doc); i++) {
		k = json_array_get(doc, i);
		if ((s = json_string_value(k)) == NULL)
			errx(1, "listing %s/: a key is not a string",
			    setprefix);
		value_field((const unsigned char *)s, strlen(s), field,
		    sizeof(field));
		fprintf(fp, "present %s\n", field);
		n++;
	}
	if (fclose(fp) == EOF)
		err(1, "%s", path);
	json_decref(doc);
	conn_close(&c);
	free(c.buf);
	printf("kvload: %zu keys present under %s/\n", n, setprefix);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct worker	*w;
	struct timespec	 ts;
	sigset_t	 sigs;
	siginfo_t	 si;
	char		*list = NULL, *alist = NULL, *a, *setpath;
	const char	*out = NULL, *mode = "consistent";
	int64_t		 start, d, last_flush, rate = 100, seconds = 10;
	uint64_t	 total[3] = { 0, 0, 0 }, set_tried = 0, set_acked = 0;
	int		 ch, i, nclients = 4, sig, rv = 0;

	while ((ch = getopt(argc, argv, "a:c:d:k:L:m:o:p:r:S:t:")) != -1) {
		switch (ch) {
		case 'a':
			alist = optarg;
			break;
		case 'c':
			nclients = number(optarg, 1, CLIENTS_MAX, "-c");
			break;
		case 'd':
			seconds = number(optarg, 1, 86400, "-d");
			break;
		case 'k':
			nkeys = number(optarg, 1, KEYS_MAX, "-k");
			break;
		case 'L':
			list = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'r':
			rate = number(optarg, 1, 100000, "-r");
			break;
		case 'S':
			setprefix = optarg;
			break;
		case 't':
			timeout_ns = number(optarg, 1, 600000, "-t") *
			    1000000LL;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || out == NULL || (list == NULL) == (alist == NULL))
		usage();
	if (sodium_init() == -1)
		errx(1, "sodium_init");
	json_object_seed(0);
	if (setprefix != NULL)
		check_prefix(setprefix, "-S");
	if (list != NULL) {
		if (setprefix == NULL)
			usage();
		parse_addr(list, &addrs[0]);
		naddrs = 1;
		return list_set(out);
	}
	check_prefix(prefix, "-p");
	if (strcmp(mode, "consistent") == 0)
		read_arg = "?consistent";
	else if (strcmp(mode, "default") == 0)
		read_arg = "";
	else if (strcmp(mode, "stale") == 0)
		read_arg = "?stale";
	else
		errx(2, "-m: consistent, default or stale");
	for (a = strtok(alist, ","); a != NULL; a = strtok(NULL, ",")) {
		if (naddrs == ADDRS_MAX)
			errx(2, "-a: at most %d addresses", ADDRS_MAX);
		parse_addr(a, &addrs[naddrs++]);
	}
	if (naddrs == 0)
		usage();

	if ((hist = fopen(out, "w")) == NULL)
		err(1, "%s", out);
	setvbuf(hist, NULL, _IOFBF, 1 << 20);
	if (setprefix != NULL) {
		if (asprintf(&setpath, "%s.set", out) == -1)
			err(1, NULL);
		if ((setf = fopen(setpath, "w")) == NULL)
			err(1, "%s", setpath);
		free(setpath);
	}
	if ((w = calloc(nclients, sizeof(*w))) == NULL)
		err(1, NULL);

	/* Signals go to this thread only, through sigtimedwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0)
		errx(1, "pthread_sigmask");

	start = now_ns();
	end_ns = start + seconds * 1000000000;
	next_slot = start;
	interval_ns = 1000000000 / rate;
	for (i = 0; i < nclients; i++) {
		w[i].id = i;
		w[i].conn.fd = -1;
		w[i].conn.addr = &addrs[i % naddrs];
		w[i].conn.bufmax = RESP_MAX;
		w[i].rng = (uint64_t)start ^ ((uint64_t)(i + 1) *
		    0x9e3779b97f4a7c15ULL);
		if (w[i].rng == 0)
			w[i].rng = 1;
		if ((w[i].conn.buf = malloc(RESP_MAX + 1)) == NULL ||
		    (w[i].seen = calloc(nkeys, sizeof(*w[i].seen))) == NULL)
			err(1, NULL);
		if ((errno = pthread_create(&w[i].thread, NULL, worker_main,
		    &w[i])) != 0)
			err(1, "pthread_create");
	}
	last_flush = start;
	while (!atomic_load(&stopping) && (d = end_ns - now_ns()) > 0) {
		if (d > 200000000)
			d = 200000000;
		ts.tv_sec = d / 1000000000;
		ts.tv_nsec = d % 1000000000;
		sig = sigtimedwait(&sigs, &si, &ts);
		if (sig == SIGUSR1)
			mark("usr1");
		else if (sig == SIGUSR2)
			mark("usr2");
		else if (sig == SIGTERM || sig == SIGINT)
			atomic_store(&stopping, 1);
		if (now_ns() - last_flush > 1000000000) {
			pthread_mutex_lock(&out_mtx);
			fflush(hist);
			if (setf != NULL)
				fflush(setf);
			pthread_mutex_unlock(&out_mtx);
			last_flush = now_ns();
		}
	}
	atomic_store(&stopping, 1);
	for (i = 0; i < nclients; i++) {
		pthread_join(w[i].thread, NULL);
		total[ST_OK] += w[i].count[ST_OK];
		total[ST_FAIL] += w[i].count[ST_FAIL];
		total[ST_INFO] += w[i].count[ST_INFO];
		set_tried += w[i].set_tried;
		set_acked += w[i].set_acked;
		free(w[i].conn.buf);
		free(w[i].seen);
	}
	free(w);
	if (fclose(hist) == EOF) {
		warn("%s", out);
		rv = 1;
	}
	if (setf != NULL && fclose(setf) == EOF) {
		warn("%s.set", out);
		rv = 1;
	}
	printf("kvload: %" PRIu64 " ops (ok %" PRIu64 ", fail %" PRIu64
	    ", info %" PRIu64 ") in %.1f s", total[0] + total[1] + total[2],
	    total[ST_OK], total[ST_FAIL], total[ST_INFO],
	    (now_ns() - start) / 1e9);
	if (setprefix != NULL)
		printf(", set: %" PRIu64 " of %" PRIu64 " acked", set_acked,
		    set_tried);
	printf("\n");
	return rv;
}
