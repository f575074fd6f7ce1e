/*
 * DNS over UDP and TCP on the sockets the parent opened.  UDP queries
 * are read in batches with one recvmmsg(2) and their replies sent with
 * one sendmmsg(2), each query and reply in buffers preallocated for its
 * slot of the batch, replying from the address each query was sent to
 * (the socket may be bound to a wildcard address).  TCP connections are bounded in number,
 * closed when idle, and answer their queries in order, one at a time;
 * each holds a read and a write buffer of the largest message.  Names
 * for the recursors leave here and come back through a callback; so do
 * names of other datacenters (remote.c), whose query is answered again
 * once the reply it waited for is in the cache.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsd.h"
#include "log.h"

#define TCP_BUF		(2 + DNS_MSG_MAX)
#define LISTEN_MAX	32
/* A UDP query longer than this is dropped: a question and EDNS fit. */
#define UDP_QUERY_MAX	4096

union udp_cmsg {
	struct cmsghdr	 hdr;
	uint8_t		 buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

/* One slot of a UDP batch: a query in, its reply out. */
struct udp_slot {
	struct sockaddr_storage	 ss;
	union {
		struct cmsghdr	 hdr;
		uint8_t		 buf[256];
	}			 cin;
	union udp_cmsg		 cout;
	struct iovec		 iin;
	struct iovec		 iout;
	uint8_t			 in[UDP_QUERY_MAX];
	uint8_t			 out[DNS_MSG_MAX];
};

struct tcp_conn;

struct listener {
	struct server		*s;
	struct event		*ev;
	int			 fd;
};

/* Where a UDP query came from, kept while the recursors work on it. */
struct udp_client {
	struct server		*s;
	int			 fd;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	union udp_cmsg		 cmsg;
	size_t			 cmsglen;
	struct dns_query	 q;
	/* Waiting for another datacenter: the query, to answer again. */
	TAILQ_ENTRY(udp_client)	 entry;
	struct remote_wait	*wait;
	uint8_t			*pkt;
	size_t			 len;
	int			 rounds;
};

struct tcp_conn {
	TAILQ_ENTRY(tcp_conn)	 entry;
	struct server		*s;
	int			 fd;
	struct event		*rev;
	struct event		*wev;
	uint8_t			*rbuf;
	size_t			 rlen;
	uint8_t			*wbuf;
	size_t			 wlen;
	size_t			 woff;
	struct recursion	*rec;
	struct remote_wait	*wait;
	uint8_t			*pkt;		/* the query waiting */
	size_t			 pktlen;
	int			 rounds;
	struct dns_query	 q;
};

struct server {
	struct event_base	*base;
	struct answerer		*a;
	struct recursors	*rec;
	struct listener		 udp[LISTEN_MAX];
	size_t			 nudp;
	struct listener		 tcp[LISTEN_MAX];
	size_t			 ntcp;
	TAILQ_HEAD(, tcp_conn)	 conns;
	size_t			 nconns;
	TAILQ_HEAD(, udp_client) waiting;
	struct dns_query	 q;
	uint8_t			 out[DNS_MSG_MAX];
	struct udp_slot		*slot;		/* SERVER_UDP_BATCH of them */
	struct mmsghdr		 rmsg[SERVER_UDP_BATCH];
	struct mmsghdr		 smsg[SERVER_UDP_BATCH];
};

static void	tcp_work(struct tcp_conn *);

struct server *
server_new(struct event_base *base, struct answerer *a, struct recursors *r)
{
	struct server	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	/* Untouched pages of the large reply buffers cost no memory. */
	if ((s->slot = calloc(SERVER_UDP_BATCH, sizeof(*s->slot))) == NULL) {
		free(s);
		return NULL;
	}
	s->base = base;
	s->a = a;
	s->rec = r;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->waiting);
	return s;
}

void
server_set(struct server *s, struct answerer *a, struct recursors *r)
{
	s->a = a;
	s->rec = r;
}

/* SERVFAIL for a query the recursors could not answer. */
static size_t
servfail(struct server *s, const struct dns_query *q, uint8_t *out,
    size_t cap)
{
	return answer_error(s->a->conf, q, DNS_R_SERVFAIL, out, cap);
}

static void
udp_send(int fd, const void *buf, size_t len, struct sockaddr_storage *ss,
    socklen_t sslen, void *cmsg, size_t cmsglen)
{
	struct msghdr	 msg;
	struct iovec	 iov;

	if (len == 0)
		return;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	msg.msg_name = ss;
	msg.msg_namelen = sslen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsglen > 0 ? cmsg : NULL;
	msg.msg_controllen = cmsglen;
	if (sendmsg(fd, &msg, 0) == -1 && errno != EAGAIN)
		log_debug("dns: udp reply: %s", strerror(errno));
}

/*
 * The destination address of a query, as the source of its reply: the
 * kernel's packet info, reduced to the address alone.
 */
static size_t
udp_reply_cmsg(struct msghdr *msg, void *out, size_t cap)
{
	struct cmsghdr		*c, *o;
	struct in_pktinfo	 pi;
	struct in6_pktinfo	 pi6;

	memset(out, 0, cap);
	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		o = out;
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(pi))) {
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(pi6))) {
			memcpy(&pi6, CMSG_DATA(c), sizeof(pi6));
			pi6.ipi6_ifindex = 0;
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi6));
			memcpy(CMSG_DATA(o), &pi6, sizeof(pi6));
			return CMSG_SPACE(sizeof(pi6));
		}
	}
	return 0;
}

static void
udp_recursion_done(void *arg, const uint8_t *reply, size_t len)
{
	struct udp_client	*u = arg;
	struct server		*s = u->s;

	if (reply == NULL) {
		len = servfail(s, &u->q, s->out, sizeof(s->out));
		reply = s->out;
	}
	udp_send(u->fd, reply, len, &u->ss, u->sslen, u->cmsg.buf,
	    u->cmsglen);
	free(u);
}

static void
udp_recurse(struct server *s, int fd, const uint8_t *pkt, size_t len,
    struct sockaddr_storage *ss, socklen_t sslen, void *cmsg, size_t cmsglen)
{
	struct udp_client	*u;
	size_t			 n;

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		log_warn("dns: recursion");
		goto fail;
	}
	u->s = s;
	u->fd = fd;
	memcpy(&u->ss, ss, sslen);
	u->sslen = sslen;
	memcpy(u->cmsg.buf, cmsg, cmsglen);
	u->cmsglen = cmsglen;
	u->q = s->q;
	if (recursion_start(s->rec, pkt, len, &s->q, 0, udp_recursion_done,
	    u) != NULL)
		return;
	free(u);
 fail:
	n = servfail(s, &s->q, s->out, sizeof(s->out));
	udp_send(fd, s->out, n, ss, sslen, cmsg, cmsglen);
}

static void
udp_remote_free(struct udp_client *u)
{
	if (u->wait != NULL)
		remote_cancel(u->wait);
	TAILQ_REMOVE(&u->s->waiting, u, entry);
	free(u->pkt);
	free(u);
}

static void	udp_remote_done(void *);

/* Wait for what the answerer asked for; 0, or -1 (answer SERVFAIL). */
static int
udp_remote_wait(struct udp_client *u)
{
	struct answerer	*a = u->s->a;

	if (++u->rounds > REMOTE_ROUNDS_MAX)
		return -1;
	u->wait = remote_start(a->remotes, a->want_dc, a->want_kind,
	    a->want_name, udp_remote_done, u);
	return u->wait != NULL ? 0 : -1;
}

/* The reply is in the cache: answer the query again. */
static void
udp_remote_done(void *arg)
{
	struct udp_client	*u = arg;
	struct server		*s = u->s;
	size_t			 len = 0;

	u->wait = NULL;
	switch (answer_query(s->a, u->pkt, u->len, 0, &u->q, s->out,
	    sizeof(s->out), &len)) {
	case ANSWER_REPLY:
		break;
	case ANSWER_REMOTE:
		if (udp_remote_wait(u) == 0)
			return;
		len = servfail(s, &u->q, s->out, sizeof(s->out));
		break;
	case ANSWER_RECURSE:
		s->q = u->q;
		udp_recurse(s, u->fd, u->pkt, u->len, &u->ss, u->sslen,
		    u->cmsg.buf, u->cmsglen);
		udp_remote_free(u);
		return;
	case ANSWER_DROP:
		udp_remote_free(u);
		return;
	}
	udp_send(u->fd, s->out, len, &u->ss, u->sslen, u->cmsg.buf,
	    u->cmsglen);
	udp_remote_free(u);
}

static void
udp_remote(struct server *s, int fd, const uint8_t *pkt, size_t len,
    struct sockaddr_storage *ss, socklen_t sslen, void *cmsg, size_t cmsglen)
{
	struct udp_client	*u;
	size_t			 n;

	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->pkt = malloc(len)) == NULL) {
		log_warn("dns: query for another datacenter");
		free(u);
		goto fail;
	}
	u->s = s;
	u->fd = fd;
	memcpy(&u->ss, ss, sslen);
	u->sslen = sslen;
	memcpy(u->cmsg.buf, cmsg, cmsglen);
	u->cmsglen = cmsglen;
	u->q = s->q;
	memcpy(u->pkt, pkt, len);
	u->len = len;
	TAILQ_INSERT_TAIL(&s->waiting, u, entry);
	if (udp_remote_wait(u) == 0)
		return;
	udp_remote_free(u);
 fail:
	n = servfail(s, &s->q, s->out, sizeof(s->out));
	udp_send(fd, s->out, n, ss, sslen, cmsg, cmsglen);
}

/*
 * Up to SERVER_UDP_BATCH queries with one call, answered in order; the
 * replies go out together.  The socket stays readable (level-triggered)
 * while more wait.
 */
static void
udp_read(evutil_socket_t fd, short events, void *arg)
{
	struct listener		*l = arg;
	struct server		*s = l->s;
	struct udp_slot		*u;
	struct msghdr		*m, *o;
	size_t			 outlen, cmsglen;
	int			 i, n, nout = 0, sent, r;

	for (i = 0; i < SERVER_UDP_BATCH; i++) {
		u = &s->slot[i];
		m = &s->rmsg[i].msg_hdr;
		memset(m, 0, sizeof(*m));
		u->iin.iov_base = u->in;
		u->iin.iov_len = sizeof(u->in);
		m->msg_name = &u->ss;
		m->msg_namelen = sizeof(u->ss);
		m->msg_iov = &u->iin;
		m->msg_iovlen = 1;
		m->msg_control = u->cin.buf;
		m->msg_controllen = sizeof(u->cin.buf);
	}
	if ((n = recvmmsg(fd, s->rmsg, SERVER_UDP_BATCH, MSG_DONTWAIT,
	    NULL)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("dns: udp read");
		return;
	}
	for (i = 0; i < n; i++) {
		u = &s->slot[i];
		m = &s->rmsg[i].msg_hdr;
		if (m->msg_flags & MSG_TRUNC)
			continue;	/* no query is that long */
		cmsglen = udp_reply_cmsg(m, u->cout.buf, sizeof(u->cout.buf));
		switch (answer_query(s->a, u->in, s->rmsg[i].msg_len, 0, &s->q,
		    u->out, sizeof(u->out), &outlen)) {
		case ANSWER_REPLY:
			if (outlen == 0)
				break;
			o = &s->smsg[nout++].msg_hdr;
			memset(o, 0, sizeof(*o));
			u->iout.iov_base = u->out;
			u->iout.iov_len = outlen;
			o->msg_name = &u->ss;
			o->msg_namelen = m->msg_namelen;
			o->msg_iov = &u->iout;
			o->msg_iovlen = 1;
			o->msg_control = cmsglen > 0 ? u->cout.buf : NULL;
			o->msg_controllen = cmsglen;
			break;
		case ANSWER_RECURSE:
			udp_recurse(s, fd, u->in, s->rmsg[i].msg_len, &u->ss,
			    m->msg_namelen, u->cout.buf, cmsglen);
			break;
		case ANSWER_REMOTE:
			udp_remote(s, fd, u->in, s->rmsg[i].msg_len, &u->ss,
			    m->msg_namelen, u->cout.buf, cmsglen);
			break;
		case ANSWER_DROP:
			break;
		}
	}
	/* A reply that cannot go is dropped, as a lost datagram would be. */
	for (sent = 0; sent < nout; ) {
		if ((r = sendmmsg(fd, &s->smsg[sent], (unsigned int)(nout -
		    sent), 0)) > 0) {
			sent += r;
			continue;
		}
		if (errno == EAGAIN)
			break;
		if (errno != EINTR) {
			log_debug("dns: udp reply: %s", strerror(errno));
			sent++;
		}
	}
}

void
server_add_udp(struct server *s, int fd)
{
	struct listener	*l;
	int		 on = 1;

	if (s->nudp >= LISTEN_MAX)
		fatalx("dns: too many udp sockets");
	/* One of the two fails: the socket has one family. */
	(void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
	l = &s->udp[s->nudp++];
	l->s = s;
	l->fd = fd;
	if ((l->ev = event_new(s->base, fd, EV_READ | EV_PERSIST, udp_read,
	    l)) == NULL || event_add(l->ev, NULL) == -1)
		fatalx("dns: udp event");
}

static void
tcp_close(struct tcp_conn *c)
{
	struct server	*s = c->s;

	if (c->rec != NULL)
		recursion_cancel(c->rec);
	if (c->wait != NULL)
		remote_cancel(c->wait);
	free(c->pkt);
	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	free(c->rbuf);
	free(c->wbuf);
	TAILQ_REMOVE(&s->conns, c, entry);
	s->nconns--;
	free(c);
}

/* Read while there is room; write while there is output. */
static void
tcp_update(struct tcp_conn *c)
{
	struct timeval	 tv = { SERVER_TCP_IDLE, 0 };

	if (c->rlen < TCP_BUF)
		event_add(c->rev, &tv);
	else
		event_del(c->rev);
	if (c->woff < c->wlen)
		event_add(c->wev, &tv);
	else
		event_del(c->wev);
}

/* 0 when all is written (or waits for the socket), -1 when it failed. */
static int
tcp_flush(struct tcp_conn *c)
{
	ssize_t	 n;

	while (c->woff < c->wlen) {
		n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		c->woff += (size_t)n;
	}
	c->woff = c->wlen = 0;
	return 0;
}

static void
tcp_recursion_done(void *arg, const uint8_t *reply, size_t len)
{
	struct tcp_conn	*c = arg;

	c->rec = NULL;
	if (reply == NULL)
		len = servfail(c->s, &c->q, c->wbuf + 2, TCP_BUF - 2);
	else if (len <= TCP_BUF - 2)
		memmove(c->wbuf + 2, reply, len);
	else
		len = servfail(c->s, &c->q, c->wbuf + 2, TCP_BUF - 2);
	c->wbuf[0] = len >> 8;
	c->wbuf[1] = len & 0xff;
	c->wlen = len + 2;
	c->woff = 0;
	if (tcp_flush(c) == -1) {
		tcp_close(c);
		return;
	}
	tcp_work(c);
}

static void
tcp_reply_len(struct tcp_conn *c, size_t len)
{
	c->wbuf[0] = len >> 8;
	c->wbuf[1] = len & 0xff;
	c->wlen = len + 2;
	c->woff = 0;
}

static void	tcp_remote_done(void *);

/*
 * Wait for what the answerer asked for; the query is kept to be
 * answered again.  -1: SERVFAIL is in the write buffer.
 */
static int
tcp_remote_wait(struct tcp_conn *c, const uint8_t *pkt, size_t len)
{
	struct server	*s = c->s;
	struct answerer	*a = s->a;

	if (c->pkt == NULL) {
		if ((c->pkt = malloc(len)) == NULL)
			goto fail;
		memcpy(c->pkt, pkt, len);
		c->pktlen = len;
		c->rounds = 0;
	}
	if (++c->rounds <= REMOTE_ROUNDS_MAX &&
	    (c->wait = remote_start(a->remotes, a->want_dc, a->want_kind,
	    a->want_name, tcp_remote_done, c)) != NULL)
		return 0;
 fail:
	free(c->pkt);
	c->pkt = NULL;
	tcp_reply_len(c, servfail(s, &c->q, c->wbuf + 2, TCP_BUF - 2));
	return -1;
}

static void
tcp_remote_done(void *arg)
{
	struct tcp_conn	*c = arg;
	struct server	*s = c->s;
	size_t		 outlen;

	c->wait = NULL;
	switch (answer_query(s->a, c->pkt, c->pktlen, 1, &c->q, c->wbuf + 2,
	    TCP_BUF - 2, &outlen)) {
	case ANSWER_REPLY:
		tcp_reply_len(c, outlen);
		break;
	case ANSWER_REMOTE:
		if (tcp_remote_wait(c, c->pkt, c->pktlen) == 0)
			return;
		break;
	case ANSWER_RECURSE:
		if ((c->rec = recursion_start(s->rec, c->pkt, c->pktlen, &c->q,
		    1, tcp_recursion_done, c)) == NULL)
			tcp_reply_len(c, servfail(s, &c->q, c->wbuf + 2,
			    TCP_BUF - 2));
		break;
	case ANSWER_DROP:
		break;
	}
	free(c->pkt);
	c->pkt = NULL;
	if (tcp_flush(c) == -1) {
		tcp_close(c);
		return;
	}
	tcp_work(c);
}

/* Answer the complete queries in the buffer, in order, one at a time. */
static void
tcp_work(struct tcp_conn *c)
{
	struct server	*s = c->s;
	size_t		 mlen, outlen;

	while (c->rec == NULL && c->wait == NULL && c->woff == c->wlen &&
	    c->rlen >= 2) {
		mlen = (size_t)c->rbuf[0] << 8 | c->rbuf[1];
		if (c->rlen < 2 + mlen)
			break;
		switch (answer_query(s->a, c->rbuf + 2, mlen, 1, &c->q,
		    c->wbuf + 2, TCP_BUF - 2, &outlen)) {
		case ANSWER_REPLY:
			c->wbuf[0] = outlen >> 8;
			c->wbuf[1] = outlen & 0xff;
			c->wlen = outlen + 2;
			c->woff = 0;
			break;
		case ANSWER_RECURSE:
			c->rec = recursion_start(s->rec, c->rbuf + 2, mlen, &c->q,
			    1, tcp_recursion_done, c);
			if (c->rec == NULL) {
				outlen = servfail(s, &c->q, c->wbuf + 2,
				    TCP_BUF - 2);
				c->wbuf[0] = outlen >> 8;
				c->wbuf[1] = outlen & 0xff;
				c->wlen = outlen + 2;
				c->woff = 0;
			}
			break;
		case ANSWER_REMOTE:
			(void)tcp_remote_wait(c, c->rbuf + 2, mlen);
			break;
		case ANSWER_DROP:
			break;
		}
		memmove(c->rbuf, c->rbuf + 2 + mlen, c->rlen - 2 - mlen);
		c->rlen -= 2 + mlen;
		if (tcp_flush(c) == -1) {
			tcp_close(c);
			return;
		}
	}
	tcp_update(c);
}

static void
tcp_read(evutil_socket_t fd, short events, void *arg)
{
	struct tcp_conn	*c = arg;
	ssize_t		 n;

	if (events & EV_TIMEOUT) {
		tcp_close(c);
		return;
	}
	n = read(fd, c->rbuf + c->rlen, TCP_BUF - c->rlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		tcp_close(c);
		return;
	}
	c->rlen += (size_t)n;
	tcp_work(c);
}

static void
tcp_write(evutil_socket_t fd, short events, void *arg)
{
	struct tcp_conn	*c = arg;

	if ((events & EV_TIMEOUT) || tcp_flush(c) == -1) {
		tcp_close(c);
		return;
	}
	tcp_work(c);
}

static void
tcp_accept(evutil_socket_t lfd, short events, void *arg)
{
	struct listener	*l = arg;
	struct server	*s = l->s;
	struct tcp_conn	*c;
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("dns: accept");
		return;
	}
	if (s->nconns >= SERVER_TCP_MAX) {
		log_debug("dns: %d tcp connections, closing a new one",
		    SERVER_TCP_MAX);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->rbuf = malloc(TCP_BUF)) == NULL ||
	    (c->wbuf = malloc(TCP_BUF)) == NULL) {
		log_warn("dns: tcp connection");
		if (c != NULL)
			free(c->rbuf);
		free(c);
		close(fd);
		return;
	}
	c->s = s;
	c->fd = fd;
	if ((c->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, tcp_read,
	    c)) == NULL || (c->wev = event_new(s->base, fd,
	    EV_WRITE | EV_PERSIST, tcp_write, c)) == NULL)
		fatalx("dns: tcp event");
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	s->nconns++;
	tcp_update(c);
}

void
server_add_tcp(struct server *s, int fd)
{
	struct listener	*l;

	if (s->ntcp >= LISTEN_MAX)
		fatalx("dns: too many tcp sockets");
	l = &s->tcp[s->ntcp++];
	l->s = s;
	l->fd = fd;
	if ((l->ev = event_new(s->base, fd, EV_READ | EV_PERSIST, tcp_accept,
	    l)) == NULL || event_add(l->ev, NULL) == -1)
		fatalx("dns: tcp event");
}

void
server_free(struct server *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	while (!TAILQ_EMPTY(&s->conns))
		tcp_close(TAILQ_FIRST(&s->conns));
	while (!TAILQ_EMPTY(&s->waiting))
		udp_remote_free(TAILQ_FIRST(&s->waiting));
	for (i = 0; i < s->nudp; i++) {
		event_free(s->udp[i].ev);
		close(s->udp[i].fd);
	}
	for (i = 0; i < s->ntcp; i++) {
		event_free(s->tcp[i].ev);
		close(s->tcp[i].fd);
	}
	free(s->slot);
	free(s);
}
