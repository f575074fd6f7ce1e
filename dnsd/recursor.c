/*
 * Names outside the domains go to the configured recursors, in order or
 * in a random order per query (recursor_strategy), each given
 * recursor_timeout.  The query goes as the client sent it, under an ID
 * of our own, over the client's transport; a UDP reply with TC set is
 * asked again over TCP.  NOERROR and NXDOMAIN replies go back to the
 * client; any other reply, a timeout or an error moves on to the next
 * recursor, and when none is left the client gets SERVFAIL.  Each
 * forwarded query holds one socket at a time.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dnsd.h"
#include "log.h"

#define TCP_MSG		(2 + DNS_MSG_MAX)

enum rec_phase {
	REC_IDLE,
	REC_UDP,
	REC_TCP_CONNECT,
	REC_TCP_WRITE,
	REC_TCP_READ
};

struct recursion {
	struct recursors	*r;
	recursion_done_fn	 done;
	void			*arg;
	struct recursor_addr	*addr;		/* the order to try them */
	size_t			 naddr;
	size_t			 next;
	struct recursor_addr	*cur;
	int			 client_tcp;
	size_t			 client_max;	/* a UDP client's size */
	uint16_t		 client_id;
	uint16_t		 id;
	uint8_t			 qname[DNS_NAME_MAX];
	size_t			 qname_len;
	uint16_t		 qtype;
	uint16_t		 qclass;
	enum rec_phase		 phase;
	int			 fd;
	struct event		*ev;
	uint8_t			*query;		/* length-prefixed */
	size_t			 qlen;
	size_t			 off;
	uint8_t			*buf;		/* the reply, length-prefixed */
	size_t			 blen;
	uint8_t			*tc;		/* a UDP reply with TC set */
	size_t			 tclen;
};

static void	rec_next(struct recursion *);
static void	rec_event(evutil_socket_t, short, void *);

/* "ip", "ip:port", "[ip6]:port" or "ip6"; port 53 by default. */
static int
parse_addr(const char *s, struct recursor_addr *ra)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ra->ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ra->ss;
	char			 host[INET6_ADDRSTRLEN + 2];
	const char		*port = NULL, *colon;
	char			*end;
	unsigned long		 p = 53;
	size_t			 n;

	memset(ra, 0, sizeof(*ra));
	if (*s == '[') {
		if ((colon = strchr(s, ']')) == NULL)
			return -1;
		n = (size_t)(colon - s - 1);
		if (colon[1] == ':')
			port = colon + 2;
		else if (colon[1] != '\0')
			return -1;
		s++;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		n = (size_t)(colon - s);
		port = colon + 1;
	} else
		n = strlen(s);
	if (n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (port != NULL) {
		errno = 0;
		p = strtoul(port, &end, 10);
		if (*port == '\0' || *end != '\0' || errno != 0 || p == 0 ||
		    p > 65535)
			return -1;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		ra->sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		ra->sslen = sizeof(*sin6);
	} else
		return -1;
	snprintf(ra->text, sizeof(ra->text), "%s%s%s:%lu",
	    ra->ss.ss_family == AF_INET6 ? "[" : "", host,
	    ra->ss.ss_family == AF_INET6 ? "]" : "", p);
	return 0;
}

int
recursors_load(struct recursors *r, const struct config *conf, char *err,
    size_t errlen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&r->bind;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&r->bind;
	const char		*strategy = conf->dns_config.recursor_strategy;
	int64_t			 t = conf->dns_config.recursor_timeout;
	size_t			 i;

	r->naddr = 0;
	r->addr = NULL;
	if (conf->recursors.n > 0 && (r->addr = calloc(conf->recursors.n,
	    sizeof(*r->addr))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < conf->recursors.n; i++) {
		if (parse_addr(conf->recursors.v[i], &r->addr[i]) == -1) {
			snprintf(err, errlen, "recursor \"%s\" is not an "
			    "address (ip or ip:port)", conf->recursors.v[i]);
			recursors_free(r);
			return -1;
		}
		r->naddr++;
	}
	if (strategy == NULL || strcmp(strategy, "sequential") == 0)
		r->random = 0;
	else if (strcmp(strategy, "random") == 0)
		r->random = 1;
	else {
		snprintf(err, errlen, "recursor_strategy \"%s\" is neither "
		    "sequential nor random", strategy);
		recursors_free(r);
		return -1;
	}
	if (t <= 0)
		t = 2000000000LL;
	r->timeout.tv_sec = t / 1000000000LL;
	r->timeout.tv_usec = (t % 1000000000LL) / 1000;
	/* Outgoing sockets leave from the agent's bind address. */
	memset(&r->bind, 0, sizeof(r->bind));
	r->bindlen = 0;
	if (conf->bind_addr != NULL) {
		if (inet_pton(AF_INET, conf->bind_addr, &sin->sin_addr) == 1 &&
		    sin->sin_addr.s_addr != htonl(INADDR_ANY)) {
			sin->sin_family = AF_INET;
			r->bindlen = sizeof(*sin);
		} else if (inet_pton(AF_INET6, conf->bind_addr,
		    &sin6->sin6_addr) == 1 &&
		    !IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) {
			sin6->sin6_family = AF_INET6;
			r->bindlen = sizeof(*sin6);
		} else
			memset(&r->bind, 0, sizeof(r->bind));
	}
	return 0;
}

void
recursors_free(struct recursors *r)
{
	free(r->addr);
	r->addr = NULL;
	r->naddr = 0;
}

static void
rec_close(struct recursion *rc)
{
	if (rc->ev != NULL) {
		event_free(rc->ev);
		rc->ev = NULL;
	}
	if (rc->fd != -1) {
		close(rc->fd);
		rc->fd = -1;
	}
	rc->phase = REC_IDLE;
}

static void
rec_free(struct recursion *rc)
{
	rec_close(rc);
	rc->r->inflight--;
	free(rc->addr);
	free(rc->query);
	free(rc->buf);
	free(rc->tc);
	free(rc);
}

/* The reply (or NULL) to the client, under the client's ID. */
static void
rec_finish(struct recursion *rc, uint8_t *reply, size_t len)
{
	if (reply != NULL) {
		reply[0] = rc->client_id >> 8;
		reply[1] = rc->client_id & 0xff;
	}
	rc->done(rc->arg, reply, len);
	rec_free(rc);
}

void
recursion_cancel(struct recursion *rc)
{
	rec_free(rc);
}

static int
rec_wait(struct recursion *rc, short what)
{
	if (rc->ev != NULL)
		event_free(rc->ev);
	rc->ev = event_new(rc->r->base, rc->fd, what, rec_event, rc);
	if (rc->ev == NULL || event_add(rc->ev, &rc->r->timeout) == -1)
		return -1;
	return 0;
}

static int
rec_socket(struct recursion *rc, int type)
{
	struct recursors	*r = rc->r;
	int			 fd;

	fd = socket(rc->cur->ss.ss_family, type | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (r->bindlen > 0 && r->bind.ss_family == rc->cur->ss.ss_family &&
	    bind(fd, (struct sockaddr *)&r->bind, r->bindlen) == -1) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&rc->cur->ss, rc->cur->sslen) ==
	    -1 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	rc->fd = fd;
	return 0;
}

static int
rec_udp(struct recursion *rc)
{
	if (rec_socket(rc, SOCK_DGRAM) == -1 ||
	    send(rc->fd, rc->query + 2, rc->qlen, 0) == -1)
		return -1;
	rc->phase = REC_UDP;
	return rec_wait(rc, EV_READ | EV_PERSIST);
}

static int
rec_tcp(struct recursion *rc)
{
	if (rec_socket(rc, SOCK_STREAM) == -1)
		return -1;
	rc->phase = REC_TCP_CONNECT;
	rc->off = 0;
	rc->blen = 0;
	return rec_wait(rc, EV_WRITE | EV_PERSIST);
}

/*
 * Is this the reply to our query?  Then 1, with its rcode; 0 for
 * anything else (which is ignored, as a stray datagram would be).
 */
static int
rec_is_reply(struct recursion *rc, const uint8_t *p, size_t len, int *rcode)
{
	struct dns_reader	 rd;
	struct dns_rr_in	 q;

	if (dns_reader_init(&rd, p, len) == -1 || rd.id != rc->id ||
	    !(rd.flags & DNS_F_QR) || rd.count[DNS_S_QD] != 1 ||
	    dns_reader_next(&rd, &q) != 1 || q.type != rc->qtype ||
	    q.class != rc->qclass ||
	    !dns_name_equal(q.name, q.name_len, rc->qname, rc->qname_len))
		return 0;
	*rcode = rd.flags & DNS_F_RCODE;
	return 1;
}

static void
rec_reply(struct recursion *rc, uint8_t *p, size_t len, int tcp)
{
	int	 rcode;

	if (!rec_is_reply(rc, p, len, &rcode)) {
		if (tcp)
			rec_next(rc);
		return;
	}
	if (rcode != DNS_R_NOERROR && rcode != DNS_R_NXDOMAIN) {
		log_debug("dns: recursor %s answered rcode %d", rc->cur->text,
		    rcode);
		rec_next(rc);
		return;
	}
	if (!tcp && (p[2] & (DNS_F_TC >> 8))) {
		/* Keep it for a UDP client, ask again over TCP. */
		free(rc->tc);
		if ((rc->tc = malloc(len)) != NULL) {
			memcpy(rc->tc, p, len);
			rc->tclen = len;
		}
		rec_close(rc);
		if (rec_tcp(rc) == -1)
			rec_next(rc);
		return;
	}
	if (tcp && !rc->client_tcp && len > rc->client_max) {
		if (rc->tc != NULL) {
			rec_finish(rc, rc->tc, rc->tclen);
			return;
		}
		rec_next(rc);
		return;
	}
	rec_finish(rc, p, len);
}

static void
rec_event(evutil_socket_t fd, short events, void *arg)
{
	struct recursion	*rc = arg;
	ssize_t			 n;
	size_t			 need;
	int			 soerr = 0;
	socklen_t		 slen = sizeof(soerr);

	if (rc->phase == REC_IDLE) {
		/* The first attempt, scheduled by recursion_start(). */
		rec_next(rc);
		return;
	}
	if (events & EV_TIMEOUT) {
		log_debug("dns: recursor %s timed out", rc->cur->text);
		rec_next(rc);
		return;
	}
	switch (rc->phase) {
	case REC_UDP:
		n = recv(fd, rc->buf, DNS_MSG_MAX, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1) {
			log_debug("dns: recursor %s: %s", rc->cur->text,
			    strerror(errno));
			rec_next(rc);
			return;
		}
		rec_reply(rc, rc->buf, (size_t)n, 0);
		return;
	case REC_TCP_CONNECT:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) == -1 ||
		    soerr != 0) {
			log_debug("dns: recursor %s: tcp: %s", rc->cur->text,
			    strerror(soerr != 0 ? soerr : errno));
			rec_next(rc);
			return;
		}
		rc->phase = REC_TCP_WRITE;
		/* FALLTHROUGH */
	case REC_TCP_WRITE:
		n = write(fd, rc->query + rc->off, rc->qlen + 2 - rc->off);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			rec_next(rc);
			return;
		}
		rc->off += (size_t)n;
		if (rc->off < rc->qlen + 2)
			return;
		rc->phase = REC_TCP_READ;
		if (rec_wait(rc, EV_READ | EV_PERSIST) == -1)
			rec_next(rc);
		return;
	case REC_TCP_READ:
		n = read(fd, rc->buf + rc->blen, TCP_MSG - rc->blen);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			rec_next(rc);
			return;
		}
		rc->blen += (size_t)n;
		if (rc->blen < 2)
			return;
		need = (size_t)rc->buf[0] << 8 | rc->buf[1];
		if (rc->blen < 2 + need)
			return;
		rec_reply(rc, rc->buf + 2, need, 1);
		return;
	case REC_IDLE:
		break;
	}
}

/* The next recursor, or SERVFAIL when none is left. */
static void
rec_next(struct recursion *rc)
{
	rec_close(rc);
	while (rc->next < rc->naddr) {
		rc->cur = &rc->addr[rc->next++];
		free(rc->tc);
		rc->tc = NULL;
		if ((rc->client_tcp ? rec_tcp(rc) : rec_udp(rc)) == 0)
			return;
		log_debug("dns: recursor %s: %s", rc->cur->text,
		    strerror(errno));
		rec_close(rc);
	}
	rec_finish(rc, NULL, 0);
}

/*
 * Forward the query in pkt.  NULL when too many are in flight (the
 * caller answers SERVFAIL); otherwise done() is called later, never
 * from within this call.
 */
struct recursion *
recursion_start(struct recursors *r, const uint8_t *pkt, size_t len,
    const struct dns_query *q, int tcp, recursion_done_fn done, void *arg)
{
	struct recursion	*rc;
	struct recursor_addr	 t;
	struct timeval		 now = { 0, 0 };
	size_t			 i, j;

	if (r->inflight >= RECURSION_MAX || r->naddr == 0 ||
	    len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		return NULL;
	if ((rc = calloc(1, sizeof(*rc))) == NULL ||
	    (rc->addr = calloc(r->naddr, sizeof(*rc->addr))) == NULL ||
	    (rc->query = malloc(len + 2)) == NULL ||
	    (rc->buf = malloc(TCP_MSG)) == NULL) {
		if (rc != NULL) {
			free(rc->addr);
			free(rc->query);
		}
		free(rc);
		return NULL;
	}
	r->inflight++;
	rc->r = r;
	rc->fd = -1;
	rc->done = done;
	rc->arg = arg;
	/* A copy: a reload may change the list under a running query. */
	memcpy(rc->addr, r->addr, r->naddr * sizeof(*rc->addr));
	rc->naddr = r->naddr;
	if (r->random) {
		for (i = rc->naddr; i > 1; i--) {
			j = arc4random_uniform((uint32_t)i);
			t = rc->addr[i - 1];
			rc->addr[i - 1] = rc->addr[j];
			rc->addr[j] = t;
		}
	}
	rc->client_tcp = tcp;
	rc->client_max = q->edns ? q->edns_size : DNS_UDP_MIN;
	rc->client_id = q->id;
	rc->id = (uint16_t)arc4random_uniform(65536);
	memcpy(rc->qname, q->qname, q->qname_len);
	rc->qname_len = q->qname_len;
	rc->qtype = q->qtype;
	rc->qclass = q->qclass;
	rc->query[0] = len >> 8;
	rc->query[1] = len & 0xff;
	memcpy(rc->query + 2, pkt, len);
	rc->query[2] = rc->id >> 8;
	rc->query[3] = rc->id & 0xff;
	rc->qlen = len;
	rc->phase = REC_IDLE;
	if ((rc->ev = evtimer_new(r->base, rec_event, rc)) == NULL ||
	    evtimer_add(rc->ev, &now) == -1) {
		rec_free(rc);
		return NULL;
	}
	return rc;
}
