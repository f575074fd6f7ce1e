/*
 * libtls under libevent: a filter bufferevent over a socket one.  The
 * socket bufferevent carries the records; libtls reads them from its
 * input and writes them to its output through callbacks, so it never
 * touches the socket and the handshake runs inside the event loop.  The
 * user of the filter sees plain bytes and the usual events; a failed
 * handshake reaches it as BEV_EVENT_ERROR, with tlsbev_why() saying
 * which check failed.  A server-side handshake must finish within its
 * timeout, and only so many may be in progress at once: more are
 * refused at once, so garbage or a stalled peer costs one slot for a
 * bounded time.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netdb.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <tls.h>

#include "log.h"
#include "tlsconf.h"

#define TLSBEV_READ_CHUNK	16384
#define TLS_RECORD_HANDSHAKE	0x16

enum tlsbev_state {
	TLSBEV_SNIFF,		/* server: the first byte decides */
	TLSBEV_HANDSHAKE,
	TLSBEV_OPEN,
	TLSBEV_PLAIN,		/* a plaintext peer let through */
	TLSBEV_FAILED
};

struct tlsbev_server_ctx {
	struct tls		*tls;
	size_t			 conns;
	int			 retired;
};

struct tlsbev {
	TAILQ_ENTRY(tlsbev)	 entry;
	struct tlsbev_server_ctx *srv;	/* server side: where it came from */
	struct bufferevent	*bev;		/* the filter */
	struct bufferevent	*under;		/* the socket */
	struct tls		*tls;
	enum tlsbev_state	 state;
	int			 server;
	int			 allow_plain;
	int			 log;		/* TLSBEV_LOG */
	int			 counted;	/* in tlsbev_npending */
	int			 kick_held;	/* a reference for the kick */
	int			 flush;		/* kick: push output */
	int			 owe_write;	/* records wait in the socket */
	int			 call_write;	/* kick: they went out */
	struct event		*kick;
	struct evbuffer_cb_entry *sent_cb;
	struct event		*timer;		/* handshake deadline */
	char			 why[256];
};

static TAILQ_HEAD(, tlsbev)	 tlsbevs = TAILQ_HEAD_INITIALIZER(tlsbevs);
static size_t			 tlsbev_npending;
static size_t			 tlsbev_max_pending = 256;

void
tlsbev_set_max_pending(size_t n)
{
	tlsbev_max_pending = n;
}

size_t
tlsbev_pending(void)
{
	return tlsbev_npending;
}

struct tlsbev_server_ctx *
tlsbev_server_ctx(struct tls *tls)
{
	struct tlsbev_server_ctx	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("tls");
	s->tls = tls;
	return s;
}

static void
tlsbev_server_unref(struct tlsbev_server_ctx *s)
{
	if (s->conns == 0 && s->retired) {
		tls_free(s->tls);
		free(s);
	}
}

/* No new connection will use s; it goes with the last one it has. */
void
tlsbev_server_retire(struct tlsbev_server_ctx *s)
{
	if (s == NULL)
		return;
	s->retired = 1;
	tlsbev_server_unref(s);
}

static void
tlsbev_uncount(struct tlsbev *t)
{
	if (t->counted) {
		t->counted = 0;
		tlsbev_npending--;
	}
	if (t->timer != NULL)
		evtimer_del(t->timer);
}

/* Wake the user from the event loop, never from inside the filter. */
static void
tlsbev_kick(struct tlsbev *t)
{
	if (!t->kick_held) {
		t->kick_held = 1;
		bufferevent_incref(t->bev);
	}
	event_active(t->kick, 0, 0);
}

static void
tlsbev_fail(struct tlsbev *t, const char *fmt, const char *detail)
{
	if (t->state == TLSBEV_FAILED)
		return;
	snprintf(t->why, sizeof(t->why), fmt, detail != NULL ? detail : "");
	t->state = TLSBEV_FAILED;
	tlsbev_uncount(t);
	tlsbev_kick(t);
}

/* A refusal, with the peer's address, for users that cannot say it. */
static void
tlsbev_log(struct tlsbev *t)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 host[NI_MAXHOST] = "?";
	int			 fd = bufferevent_getfd(t->under);

	if (fd != -1 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		(void)getnameinfo((struct sockaddr *)&ss, len, host,
		    sizeof(host), NULL, 0, NI_NUMERICHOST);
	log_warnx("tls: from %s: refused: %s", host, t->why);
	t->log = 0;
}

static void
tlsbev_kick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct tlsbev		*t = arg;
	struct bufferevent	*bev = t->bev;
	bufferevent_event_cb	 eventcb;
	bufferevent_data_cb	 writecb;
	void			*cbarg;

	t->kick_held = 0;
	if (t->state == TLSBEV_FAILED && t->log)
		tlsbev_log(t);
	if (t->state == TLSBEV_FAILED) {
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		bufferevent_getcb(bev, NULL, NULL, &eventcb, &cbarg);
		if (eventcb != NULL)
			eventcb(bev, BEV_EVENT_ERROR, cbarg);
	} else {
		if (t->flush) {
			t->flush = 0;
			bufferevent_flush(bev, EV_WRITE, BEV_NORMAL);
		}
		if (t->call_write) {
			t->call_write = 0;
			bufferevent_getcb(bev, NULL, &writecb, NULL, &cbarg);
			if (writecb != NULL &&
			    (bufferevent_get_enabled(bev) & EV_WRITE) &&
			    evbuffer_get_length(bufferevent_get_output(bev)) ==
			    0)
				writecb(bev, cbarg);
		}
	}
	/* The last thing: this may free the bufferevent, and t with it. */
	bufferevent_decref(bev);
}

static void
tlsbev_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct tlsbev	*t = arg;

	if (t->state == TLSBEV_SNIFF || t->state == TLSBEV_HANDSHAKE)
		tlsbev_fail(t, "tls handshake timed out%s", NULL);
}

static ssize_t
tlsbev_read_cb(struct tls *ctx, void *buf, size_t len, void *arg)
{
	struct tlsbev	*t = arg;
	int		 n;

	n = evbuffer_remove(bufferevent_get_input(t->under), buf, len);
	if (n <= 0)
		return TLS_WANT_POLLIN;
	return n;
}

static ssize_t
tlsbev_write_cb(struct tls *ctx, const void *buf, size_t len, void *arg)
{
	struct tlsbev	*t = arg;

	if (evbuffer_add(bufferevent_get_output(t->under), buf, len) == -1)
		return -1;
	return len;
}

/* Why libtls failed, with what it says of the certificate. */
static void
tlsbev_tls_failed(struct tlsbev *t, const char *when)
{
	const char	*e = tls_error(t->tls);
	char		 msg[200];

	snprintf(msg, sizeof(msg), "%s: %s", when,
	    e != NULL ? e : "unknown error");
	tlsbev_fail(t, "%s", msg);
}

/* 0 when open, 1 while it goes on, -1 when it failed. */
static int
tlsbev_handshake(struct tlsbev *t)
{
	int	 r;

	r = tls_handshake(t->tls);
	if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT)
		return 1;
	if (r == -1) {
		tlsbev_tls_failed(t, "tls handshake failed");
		return -1;
	}
	t->state = TLSBEV_OPEN;
	tlsbev_uncount(t);
	/* What the user wrote during the handshake can go now. */
	if (evbuffer_get_length(bufferevent_get_output(t->bev)) > 0) {
		t->flush = 1;
		tlsbev_kick(t);
	}
	return 0;
}

static enum bufferevent_filter_result
tlsbev_in(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct tlsbev	*t = arg;
	unsigned char	 buf[TLSBEV_READ_CHUNK], first;
	size_t		 left;
	ssize_t		 n;
	int		 got = 0;

	switch (t->state) {
	case TLSBEV_FAILED:
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_ERROR;
	case TLSBEV_PLAIN:
		evbuffer_add_buffer(dst, src);
		return BEV_OK;
	case TLSBEV_SNIFF:
		if (evbuffer_copyout(src, &first, 1) != 1)
			return BEV_NEED_MORE;
		if (first != TLS_RECORD_HANDSHAKE) {
			if (t->allow_plain) {
				t->state = TLSBEV_PLAIN;
				tlsbev_uncount(t);
				evbuffer_add_buffer(dst, src);
				return BEV_OK;
			}
			tlsbev_fail(t, "%sa plaintext peer: not a TLS "
			    "handshake, and TLS is required", NULL);
			return BEV_ERROR;
		}
		t->state = TLSBEV_HANDSHAKE;
		/* FALLTHROUGH */
	case TLSBEV_HANDSHAKE:
		if (tlsbev_handshake(t) != 0)
			return t->state == TLSBEV_FAILED ? BEV_ERROR :
			    BEV_NEED_MORE;
		/* FALLTHROUGH */
	case TLSBEV_OPEN:
		break;
	}
	for (;;) {
		left = evbuffer_get_length(src);
		n = tls_read(t->tls, buf, sizeof(buf));
		/*
		 * libtls asks for more after a record that carried no data
		 * (a TLS 1.3 session ticket, a key update) even when more
		 * records are here already: go on while it takes bytes, or
		 * the data behind the ticket waits for the peer's next
		 * record, which may never come.
		 */
		if ((n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) &&
		    evbuffer_get_length(src) > 0 &&
		    evbuffer_get_length(src) < left)
			continue;
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT)
			break;
		if (n == -1) {
			tlsbev_tls_failed(t, "tls read");
			return BEV_ERROR;
		}
		if (n == 0)
			break;		/* close_notify: the EOF follows */
		/*
		 * No stop at the limit: what libtls holds decrypted would
		 * wait for the next record from the socket.
		 */
		evbuffer_add(dst, buf, n);
		got = 1;
	}
	return got ? BEV_OK : BEV_NEED_MORE;
}

static enum bufferevent_filter_result
tlsbev_out(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct tlsbev	*t = arg;
	unsigned char	*p;
	size_t		 len;
	ssize_t		 n;
	int		 sent = 0;

	switch (t->state) {
	case TLSBEV_FAILED:
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_ERROR;
	case TLSBEV_PLAIN:
		evbuffer_add_buffer(dst, src);
		return BEV_OK;
	case TLSBEV_SNIFF:
		return BEV_NEED_MORE;
	case TLSBEV_HANDSHAKE:
		if (tlsbev_handshake(t) != 0)
			return t->state == TLSBEV_FAILED ? BEV_ERROR :
			    BEV_NEED_MORE;
		break;
	case TLSBEV_OPEN:
		break;
	}
	while ((len = evbuffer_get_length(src)) > 0) {
		if (len > TLSBEV_READ_CHUNK)
			len = TLSBEV_READ_CHUNK;
		if ((p = evbuffer_pullup(src, len)) == NULL)
			return BEV_ERROR;
		n = tls_write(t->tls, p, len);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT)
			break;
		if (n <= 0) {
			tlsbev_tls_failed(t, "tls write");
			return BEV_ERROR;
		}
		evbuffer_drain(src, n);
		sent = 1;
	}
	/*
	 * The user's write callback says "all sent" (evhttp closes the
	 * connection on it): it is called once the socket took the
	 * records, by tlsbev_sent(), not now.
	 */
	if (sent && evbuffer_get_length(dst) > 0) {
		t->owe_write = 1;
		return BEV_NEED_MORE;
	}
	return sent ? BEV_OK : BEV_NEED_MORE;
}

/* The socket took what was queued: the owed write callback, if any. */
static void
tlsbev_sent(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct tlsbev	*t = arg;

	if (t->owe_write && info->n_deleted > 0 &&
	    evbuffer_get_length(buf) == 0 && t->state != TLSBEV_FAILED) {
		t->owe_write = 0;
		t->call_write = 1;
		tlsbev_kick(t);
	}
}

static void
tlsbev_free(void *arg)
{
	struct tlsbev	*t = arg;

	tlsbev_uncount(t);
	evbuffer_remove_cb_entry(bufferevent_get_output(t->under), t->sent_cb);
	TAILQ_REMOVE(&tlsbevs, t, entry);
	if (t->timer != NULL)
		event_free(t->timer);
	event_free(t->kick);
	tls_free(t->tls);
	if (t->srv != NULL) {
		t->srv->conns--;
		tlsbev_server_unref(t->srv);
	}
	free(t);
}

/*
 * Bytes written while writing is disabled (evhttp enables it only after
 * it has queued a response) are not taken by the filter when writing is
 * enabled again: push them from the loop.
 */
static void
tlsbev_outbuf_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct tlsbev	*t = arg;

	if (info->n_added > 0 && t->state != TLSBEV_FAILED &&
	    (bufferevent_get_enabled(t->bev) & EV_WRITE) == 0) {
		t->flush = 1;
		tlsbev_kick(t);
	}
}

static struct bufferevent *
tlsbev_wrap(struct event_base *base, struct tlsbev *t, int fd)
{
	if ((t->under = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("tls: bufferevent_socket_new");
	if ((t->sent_cb = evbuffer_add_cb(bufferevent_get_output(t->under),
	    tlsbev_sent, t)) == NULL)
		fatalx("tls: evbuffer_add_cb");
	/* Plain bytes wait above while the socket backs up. */
	bufferevent_setwatermark(t->under, EV_WRITE, 0, 256 * 1024);
	if ((t->kick = event_new(base, -1, 0, tlsbev_kick_cb, t)) == NULL)
		fatalx("tls: event_new");
	t->bev = bufferevent_filter_new(t->under, tlsbev_in, tlsbev_out,
	    BEV_OPT_CLOSE_ON_FREE, tlsbev_free, t);
	if (t->bev == NULL)
		fatalx("tls: bufferevent_filter_new");
	if (evbuffer_add_cb(bufferevent_get_output(t->bev), tlsbev_outbuf_cb,
	    t) == NULL)
		fatalx("tls: evbuffer_add_cb");
	TAILQ_INSERT_TAIL(&tlsbevs, t, entry);
	return t->bev;
}

/*
 * The server side of a connection on fd (-1: set later by the user, as
 * evhttp does), from the configured server context srv.
 */
struct bufferevent *
tlsbev_server(struct event_base *base, struct tlsbev_server_ctx *sc, int fd,
    int flags, const struct timeval *timeout)
{
	struct tlsbev	*t;
	struct tls	*srv = sc->tls;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		fatal("tls");
	t->srv = sc;
	sc->conns++;
	t->server = 1;
	t->allow_plain = (flags & TLSBEV_ALLOW_PLAIN) != 0;
	t->log = (flags & TLSBEV_LOG) != 0;
	t->state = TLSBEV_SNIFF;
	tlsbev_wrap(base, t, fd);
	if (tlsbev_npending >= tlsbev_max_pending) {
		snprintf(t->why, sizeof(t->why), "%zu tls handshakes in "
		    "progress already", tlsbev_npending);
		t->state = TLSBEV_FAILED;
		tlsbev_kick(t);
		return t->bev;
	}
	if (tls_accept_cbs(srv, &t->tls, tlsbev_read_cb, tlsbev_write_cb,
	    t) == -1) {
		snprintf(t->why, sizeof(t->why), "tls accept: %s",
		    tls_error(srv));
		t->state = TLSBEV_FAILED;
		tlsbev_kick(t);
		return t->bev;
	}
	t->counted = 1;
	tlsbev_npending++;
	if ((t->timer = evtimer_new(base, tlsbev_timeout, t)) == NULL ||
	    evtimer_add(t->timer, timeout) == -1)
		fatalx("tls: evtimer");
	return t->bev;
}

/* The client side, to a server that must be servername if checked. */
struct bufferevent *
tlsbev_client(struct event_base *base, struct tls_config *cfg, int fd,
    const char *servername, const struct timeval *timeout)
{
	struct tlsbev	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		fatal("tls");
	t->state = TLSBEV_HANDSHAKE;
	tlsbev_wrap(base, t, fd);
	if ((t->tls = tls_client()) == NULL)
		fatalx("tls: tls_client");
	if (tls_configure(t->tls, cfg) == -1 || tls_connect_cbs(t->tls,
	    tlsbev_read_cb, tlsbev_write_cb, t, servername) == -1) {
		tlsbev_tls_failed(t, "tls connect");
		return t->bev;
	}
	if ((t->timer = evtimer_new(base, tlsbev_timeout, t)) == NULL ||
	    evtimer_add(t->timer, timeout) == -1)
		fatalx("tls: evtimer");
	return t->bev;
}

static struct tlsbev *
tlsbev_find(struct bufferevent *bev)
{
	struct tlsbev	*t;

	TAILQ_FOREACH(t, &tlsbevs, entry)
		if (t->bev == bev)
			return t;
	return NULL;
}

/* Why the connection failed, or NULL if TLS did not fail it. */
const char *
tlsbev_why(struct bufferevent *bev)
{
	struct tlsbev	*t = tlsbev_find(bev);

	if (t == NULL || t->state != TLSBEV_FAILED)
		return NULL;
	return t->why;
}

/* Whether bev's peer, over TLS, presented a certificate naming name. */
int
tlsbev_peer_named(struct bufferevent *bev, const char *name)
{
	struct tlsbev	*t = tlsbev_find(bev);

	if (t == NULL || t->state != TLSBEV_OPEN || t->tls == NULL)
		return 0;
	return tls_peer_cert_provided(t->tls) == 1 &&
	    tls_peer_cert_contains_name(t->tls, name) == 1;
}

/* Whether bev runs TLS (not a plaintext peer let through). */
int
tlsbev_is_tls(struct bufferevent *bev)
{
	struct tlsbev	*t = tlsbev_find(bev);

	return t != NULL && t->state != TLSBEV_PLAIN;
}
