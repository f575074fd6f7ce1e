/*
 * The connections checkd's probes make: a target's address (IP literals
 * and localhost only, since checkd runs chrooted without a resolver),
 * a non-blocking connect, and reads and writes in the clear or through
 * libtls, each returning CONN_WANT_READ or CONN_WANT_WRITE instead of
 * blocking, so that one libevent loop drives every probe.  Error texts
 * are Go's (what Consul's checks print): "connect: connection refused",
 * "read tcp 127.0.0.1:40000->127.0.0.1:9000: read: connection reset by
 * peer".
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <tls.h>

#include "checkd.h"
#include "log.h"

/* strerror() as Go spells it: "connection refused". */
static void
net_errno_text(char *buf, size_t len, const char *prefix, int error)
{
	size_t	 plen = strlen(prefix);

	snprintf(buf, len, "%s%s", prefix, strerror(error));
	if (plen + 1 < len)
		buf[plen] = tolower((unsigned char)buf[plen]);
}

/*
 * "host:port" or "[host]:port" into its parts, as Go's
 * net.SplitHostPort; -1 with the reason in host when it is not one.
 */
int
net_hostport_split(const char *hp, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char	*colon, *end;
	const char	*why = NULL;
	size_t		 n;

	if ((colon = strrchr(hp, ':')) == NULL)
		why = "missing port in address";
	else if (hp[0] == '[') {
		if ((end = strchr(hp, ']')) == NULL)
			why = "missing ']' in address";
		else if (end[1] == '\0')
			why = "missing port in address";
		else if (end + 1 != colon)
			why = "too many colons in address";
		else {
			n = end - hp - 1;
			if (n >= hostlen || memchr(hp + 1, '[', n) != NULL)
				why = "unexpected '[' in address";
			else {
				memcpy(host, hp + 1, n);
				host[n] = '\0';
			}
		}
	} else if (memchr(hp, ':', colon - hp) != NULL)
		why = "too many colons in address";
	else if (strchr(hp, '[') != NULL || strchr(hp, ']') != NULL)
		why = "unexpected '[' or ']' in address";
	else if ((size_t)(colon - hp) >= hostlen)
		why = "host too long";
	else {
		memcpy(host, hp, colon - hp);
		host[colon - hp] = '\0';
	}
	if (why == NULL && strlcpy(port, colon + 1, portlen) >= portlen)
		why = "invalid port";
	if (why != NULL) {
		snprintf(host, hostlen, "address %s: %s", hp, why);
		return -1;
	}
	return 0;
}

/*
 * An IP literal, or localhost, and a port into an address.  Other names
 * would need a resolver, which checkd does not have; -1 says why in
 * Go's words after "dial tcp: ".
 */
int
net_resolve(const char *host, const char *port, struct check_addr *a,
    char *why, size_t whylen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&a->ss;
	char			 ip[INET6_ADDRSTRLEN];
	unsigned long		 p;
	char			*end;

	memset(a, 0, sizeof(*a));
	errno = 0;
	p = strtoul(port, &end, 10);
	if (*port == '\0' || !isdigit((unsigned char)*port) || *end != '\0' ||
	    errno != 0 || p > 65535) {
		snprintf(why, whylen, "address %s: invalid port", port);
		return -1;
	}
	if (*host == '\0' || strcasecmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		a->sslen = sizeof(*sin);
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(a->text, sizeof(a->text), "%s:%lu", ip, p);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		a->sslen = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(a->text, sizeof(a->text), "[%s]:%lu", ip, p);
	} else {
		snprintf(why, whylen, "lookup %s: cannot resolve host names in "
		    "checkd yet", host);
		return -1;
	}
	return 0;
}

void
conn_init(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void
conn_event(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	c->ev_set = 0;
	c->cb(c, c->arg);
}

/*
 * Start connecting: 1 when connected at once, 0 when under way (the
 * callback runs once the socket is writable; conn_connected() tells
 * how it went), -1 on failure with c->err set.
 */
int
conn_open(struct conn *c, struct event_base *base, const struct check_addr *a,
    void (*cb)(struct conn *, void *), void *arg)
{
	c->base = base;
	c->addr = a;
	c->cb = cb;
	c->arg = arg;
	if ((c->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		net_errno_text(c->err, sizeof(c->err), "socket: ", errno);
		return -1;
	}
	if (connect(c->fd, (const struct sockaddr *)&a->ss, a->sslen) == 0)
		return 1;
	if (errno == EINPROGRESS || errno == EINTR) {
		conn_wait(c, EV_WRITE);
		return 0;
	}
	net_errno_text(c->err, sizeof(c->err), "connect: ", errno);
	return -1;
}

/* After the socket became writable: 0 connected, -1 with c->err. */
int
conn_connected(struct conn *c)
{
	int		 error = 0;
	socklen_t	 len = sizeof(error);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		error = errno;
	if (error == 0)
		return 0;
	net_errno_text(c->err, sizeof(c->err), "connect: ", error);
	return -1;
}

/* Run the callback once when the socket is readable or writable. */
void
conn_wait(struct conn *c, short what)
{
	if (c->ev_set)
		event_del(&c->ev);
	event_assign(&c->ev, c->base, c->fd, what, conn_event, c);
	if (event_add(&c->ev, NULL) == -1)
		fatalx("check: cannot watch a probe's socket");
	c->ev_set = 1;
}

int
conn_starttls(struct conn *c, struct tls_config *cfg, const char *servername)
{
	if ((c->tls = tls_client()) == NULL) {
		strlcpy(c->err, "tls: cannot allocate a context",
		    sizeof(c->err));
		return -1;
	}
	if (tls_configure(c->tls, cfg) == -1 ||
	    tls_connect_socket(c->tls, c->fd, servername) == -1) {
		snprintf(c->err, sizeof(c->err), "tls: %s",
		    tls_error(c->tls));
		return -1;
	}
	return 0;
}

static void
conn_tls_error(struct conn *c)
{
	const char	*e = tls_error(c->tls);

	snprintf(c->err, sizeof(c->err), "tls: %s",
	    e != NULL ? e : "connection failed");
}

/* 0 when the handshake is done, CONN_WANT_*, or -1 with c->err. */
int
conn_handshake(struct conn *c)
{
	int	 r;

	r = tls_handshake(c->tls);
	if (r == TLS_WANT_POLLIN)
		return CONN_WANT_READ;
	if (r == TLS_WANT_POLLOUT)
		return CONN_WANT_WRITE;
	if (r == -1) {
		conn_tls_error(c);
		return -1;
	}
	return 0;
}

/* "read tcp 127.0.0.1:40000->127.0.0.1:9000: read: ..." */
static void
conn_io_error(struct conn *c, const char *op, int error)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 ip[INET6_ADDRSTRLEN] = "?", local[80];
	char			 what[64];
	size_t			 len;
	int			 port = 0;

	ss.ss_family = AF_UNSPEC;
	if (getsockname(c->fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->
			    sin_addr, ip, sizeof(ip));
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->
			    sin6_addr, ip, sizeof(ip));
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
	}
	snprintf(local, sizeof(local), ss.ss_family == AF_INET6 ?
	    "[%s]:%d" : "%s:%d", ip, port);
	snprintf(what, sizeof(what), "%s: ", op);
	snprintf(c->err, sizeof(c->err), "%s tcp %s->%s: ", op, local,
	    c->addr->text);
	len = strlen(c->err);
	net_errno_text(c->err + len, sizeof(c->err) - len, what, error);
}

/* Bytes read, 0 at the end, CONN_WANT_*, or -1 with c->err. */
ssize_t
conn_read(struct conn *c, void *buf, size_t len)
{
	ssize_t	 n;

	if (c->tls != NULL) {
		n = tls_read(c->tls, buf, len);
		if (n == TLS_WANT_POLLIN)
			return CONN_WANT_READ;
		if (n == TLS_WANT_POLLOUT)
			return CONN_WANT_WRITE;
		if (n == -1)
			conn_tls_error(c);
		return n;
	}
	do {
		n = read(c->fd, buf, len);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return CONN_WANT_READ;
	if (n == -1)
		conn_io_error(c, "read", errno);
	return n;
}

/* Bytes written, CONN_WANT_*, or -1 with c->err. */
ssize_t
conn_write(struct conn *c, const void *buf, size_t len)
{
	ssize_t	 n;

	if (c->tls != NULL) {
		n = tls_write(c->tls, buf, len);
		if (n == TLS_WANT_POLLIN)
			return CONN_WANT_READ;
		if (n == TLS_WANT_POLLOUT)
			return CONN_WANT_WRITE;
		if (n == -1)
			conn_tls_error(c);
		return n;
	}
	do {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return CONN_WANT_WRITE;
	if (n == -1)
		conn_io_error(c, "write", errno);
	return n;
}

/*
 * Close at once: a TLS close_notify goes out if the socket takes it,
 * nobody waits for the peer's.
 */
void
conn_close(struct conn *c)
{
	if (c->ev_set) {
		event_del(&c->ev);
		c->ev_set = 0;
	}
	if (c->tls != NULL) {
		(void)tls_close(c->tls);
		tls_free(c->tls);
		c->tls = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
}
