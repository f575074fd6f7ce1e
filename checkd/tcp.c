/*
 * TCP checks, as Consul runs them: connect to "host:port" within the
 * timeout and close again.  Passing says "TCP connect <target>:
 * Success"; critical gives Go's dial error, e.g. "dial tcp
 * 127.0.0.1:9000: connect: connection refused" or "... i/o timeout".
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkd.h"
#include "log.h"

struct tcp_prep {
	struct check_addr	 addr;
	char			*error;		/* the target is not usable */
};

struct tcp_probe {
	struct check		*check;
	struct conn		 conn;
	struct event		 timer;
};

static void
tcp_prepare(struct check *c)
{
	struct tcp_prep	*tp;
	char		 host[CHECK_TARGET_MAX + 64], port[CHECK_TARGET_MAX];
	char		 why[CHECK_TARGET_MAX + 128];

	if ((tp = calloc(1, sizeof(*tp))) == NULL)
		fatal("check");
	c->prep = tp;
	if (net_hostport_split(c->target, host, sizeof(host), port,
	    sizeof(port)) == -1) {
		if (asprintf(&tp->error, "dial tcp: %s", host) == -1)
			fatal("check");
	} else if (net_resolve(host, port, &tp->addr, why, sizeof(why)) ==
	    -1) {
		if (asprintf(&tp->error, "dial tcp: %s", why) == -1)
			fatal("check");
	}
}

static void
tcp_clear(struct check *c)
{
	struct tcp_prep	*tp = c->prep;

	free(tp->error);
	free(tp);
	c->prep = NULL;
}

static void
tcp_stop(struct check *c)
{
	struct tcp_probe	*p = c->probe;

	evtimer_del(&p->timer);
	conn_close(&p->conn);
	free(p);
	c->probe = NULL;
}

static void
tcp_end(struct tcp_probe *p, enum check_status st, const char *fmt, ...)
{
	struct check	*c = p->check;
	va_list		 ap;
	char		*out;
	int		 n;

	va_start(ap, fmt);
	n = vasprintf(&out, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("check");
	tcp_stop(c);
	check_report(c, st, out, n);
	free(out);
}

static void
tcp_connected(struct tcp_probe *p)
{
	tcp_end(p, CHECK_PASSING, "TCP connect %s: Success", p->check->target);
}

static void
tcp_io(struct conn *conn, void *arg)
{
	struct tcp_probe	*p = arg;
	struct tcp_prep		*tp = p->check->prep;

	if (conn_connected(conn) == -1)
		tcp_end(p, CHECK_CRITICAL, "dial tcp %s: %s", tp->addr.text,
		    conn->err);
	else
		tcp_connected(p);
}

static void
tcp_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_probe	*p = arg;
	struct tcp_prep		*tp = p->check->prep;

	tcp_end(p, CHECK_CRITICAL, "dial tcp %s: i/o timeout", tp->addr.text);
}

static void
tcp_start(struct check *c)
{
	struct tcp_prep		*tp = c->prep;
	struct tcp_probe	*p;
	struct timeval		 tv;

	if (tp->error != NULL) {
		check_report(c, CHECK_CRITICAL, tp->error, strlen(tp->error));
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("check");
	p->check = c;
	conn_init(&p->conn);
	c->probe = p;
	evtimer_assign(&p->timer, check_base(), tcp_timeout, p);
	tv.tv_sec = c->timeout_ms / 1000;
	tv.tv_usec = (c->timeout_ms % 1000) * 1000;
	if (evtimer_add(&p->timer, &tv) == -1)
		fatalx("check: cannot time a probe");
	switch (conn_open(&p->conn, check_base(), &tp->addr, tcp_io, p)) {
	case -1:
		tcp_end(p, CHECK_CRITICAL, "dial tcp %s: %s", tp->addr.text,
		    p->conn.err);
		break;
	case 1:
		tcp_connected(p);
		break;
	}
}

const struct check_ops tcp_ops = {
	tcp_prepare,
	tcp_start,
	tcp_stop,
	tcp_clear
};
