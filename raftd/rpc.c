/*
 * Server RPC on :8300 (rpc_codec.h has the wire).  Each agent opens one
 * connection to each server it talks to, keyed by address, and says
 * HELLO first.  A server's Raft messages to a peer, and requests any
 * agent forwards to a server (forward.c), go out on the sender's own
 * connection; the answers to forwarded requests come back on it, while
 * Raft answers arrive on the peer's own connection to us.  A peer is
 * known by the id its HELLO gave.
 *
 * A peer that cannot be reached, or whose connection backs up beyond
 * RPC_OUTBUF_MAX, is reported unreachable to the core and its messages
 * are dropped: Raft retransmits what matters.  A peer that sends
 * anything malformed, from another datacenter, or a message in the name
 * of another server, is logged and disconnected; nothing it sent is
 * applied.
 *
 * With TLS (tls.internal_rpc), a server answers TLS on :8300, asks for
 * a client certificate and, with verify_incoming, refuses a peer that
 * has none or speaks plaintext; an agent with verify_outgoing dials
 * TLS and checks the server's certificate against the CA, and with
 * verify_server_hostname that it names server.<datacenter>.<domain>;
 * a server takes Raft only from a peer whose certificate names it so.
 * New connections take the material of the last reload; established
 * ones keep theirs.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include <tls.h>

#include "config.h"
#include "log.h"
#include "mpack.h"
#include "raftd.h"
#include "rpc_codec.h"
#include "snapshot_format.h"
#include "tlsconf.h"

#define RPC_IN_MAX		64	/* accepted connections */
#define RPC_OUTBUF_MAX		(64 * 1024 * 1024)
#define RPC_HELLO_SEC		10	/* to say HELLO */
#define RPC_CONNECT_SEC		2
#define RPC_USER_TIMEOUT_MS	15000	/* unacknowledged data */
#define RPC_HANDSHAKE_SEC	5	/* default limits.rpc_handshake_timeout */
#define RPC_TLS_LOG_SEC		10	/* one line per failing peer, at most */

TAILQ_HEAD(rpc_conn_list, rpc_conn);

static struct rpc_conn_list	 rpc_conns = TAILQ_HEAD_INITIALIZER(rpc_conns);
static size_t			 rpc_nin;
static struct evconnlistener	*rpc_listener;
static uint64_t			 rpc_dropped;
static struct tlsbev_server_ctx	*rpc_tls_server;	/* NULL: no TLS in */
static struct tls_config	*rpc_tls_client;	/* NULL: no TLS out */
static int			 rpc_tls_required;	/* verify_incoming */
static int			 rpc_tls_names;		/* verify_server_hostname */
static char			 rpc_server_name[300];	/* the domain */

static void	rpc_send_state(struct rpc_conn *);
static void	rpc_timeouts(struct rpc_conn *, const struct timeval *,
		    const struct timeval *);
static int	rpc_state_frame(struct rpc_conn *, const msgpack_object *);

static void
rpc_conn_free(struct rpc_conn *c)
{
	free(c->snap);
	forward_conn_gone(c);
	TAILQ_REMOVE(&rpc_conns, c, entry);
	if (!c->out)
		rpc_nin--;
	bufferevent_free(c->bev);
	free(c);
}

/*
 * A refused TLS peer, once per RPC_TLS_LOG_SEC for each address and
 * reason: Raft dials a server that refuses us again and again.
 */
static void
rpc_tls_log(struct rpc_conn *c, const char *why)
{
	static struct {
		char	 key[RAFT_ADDR_MAX + 64];
		time_t	 when;
	}		 seen[32];
	static size_t	 next;
	char		 key[sizeof(seen[0].key)];
	struct timespec	 ts;
	size_t		 i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(key, sizeof(key), "%d %s %s", c->out, c->label, why);
	for (i = 0; i < sizeof(seen) / sizeof(seen[0]); i++) {
		if (strcmp(seen[i].key, key) != 0)
			continue;
		if (ts.tv_sec - seen[i].when < RPC_TLS_LOG_SEC)
			return;
		break;
	}
	if (i == sizeof(seen) / sizeof(seen[0])) {
		i = next;
		next = (next + 1) % (sizeof(seen) / sizeof(seen[0]));
		strlcpy(seen[i].key, key, sizeof(seen[i].key));
	}
	seen[i].when = ts.tv_sec;
	if (c->out)
		log_warnx("rpc: to %s: refused: %s", c->label, why);
	else
		log_warnx("rpc: from %s: refused: %s", c->label, why);
}

/* The peer's connection is gone: Raft learns it cannot send there. */
void
rpc_conn_fail(struct rpc_conn *c, const char *why)
{
	const char	*tlswhy = tlsbev_why(c->bev);

	if (tlswhy != NULL) {
		rpc_tls_log(c, tlswhy);
		if (c->out && raftd.raft != NULL && *c->peer != '\0')
			raft_report_unreachable(raftd.raft, c->peer);
	} else if (c->out) {
		log_debug("rpc: %s: %s", c->addr, why);
		if (raftd.raft != NULL && *c->peer != '\0')
			raft_report_unreachable(raftd.raft, c->peer);
	} else if (why != NULL)
		log_warnx("rpc: from %s: %s", c->label, why);
	rpc_conn_free(c);
}

static void
rpc_write_frame(struct rpc_conn *c, struct mpack_out *out)
{
	unsigned char	 hdr[RPC_HDR];
	size_t		 len = out->sbuf.size;

	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
	bufferevent_write(c->bev, hdr, sizeof(hdr));
	bufferevent_write(c->bev, out->sbuf.data, len);
}

/* A piece of a snapshot: the pieces come in order, from offset 0. */
static int
rpc_snap_frame(struct rpc_conn *c, const msgpack_object *o)
{
	const msgpack_object	*a = o->via.array.ptr;
	uint64_t		 index, term, off, total;

	if (o->via.array.size < 6 || mpack_get_uint(&a[1], &index) == -1 ||
	    mpack_get_uint(&a[2], &term) == -1 ||
	    mpack_get_uint(&a[3], &off) == -1 ||
	    mpack_get_uint(&a[4], &total) == -1 ||
	    total == 0 || total > SNAPSHOT_INSTALL_MAX ||
	    a[5].type != MSGPACK_OBJECT_BIN || a[5].via.bin.size == 0 ||
	    a[5].via.bin.size > total - (off < total ? off : total))
		return -1;
	if (off == 0) {
		free(c->snap);
		c->snap_have = 0;
		c->snap_len = total;
		c->snap_index = index;
		c->snap_term = term;
		if ((c->snap = malloc(total)) == NULL) {
			log_warn("rpc: snapshot of %llu bytes",
			    (unsigned long long)total);
			return -1;
		}
	}
	if (c->snap == NULL || off != c->snap_have || total != c->snap_len ||
	    index != c->snap_index || term != c->snap_term)
		return -1;
	memcpy(c->snap + off, a[5].via.bin.ptr, a[5].via.bin.size);
	c->snap_have += a[5].via.bin.size;
	return 0;
}

/*
 * A snapshot message installs only with all its bytes here, and checked:
 * what the core accepts must install.  They go to the node then.
 */
static int
rpc_snap_ready(struct rpc_conn *c, const struct raft_msg *m)
{
	struct snapshot_info	 info;
	const char		*why;

	if (c->snap == NULL || c->snap_have != c->snap_len ||
	    c->snap_index != m->snapshot.index ||
	    c->snap_term != m->snapshot.term)
		return -1;
	if (snapshot_parse(c->snap, c->snap_len, &info, NULL, NULL,
	    &why) == -1 || info.index != m->snapshot.index) {
		log_warnx("rpc: snapshot from %s refused: %s", c->label,
		    why != NULL ? why : "index mismatch");
		free(c->snap);
		c->snap = NULL;
		return -1;
	}
	free(raftd.incoming);
	raftd.incoming = c->snap;
	raftd.incoming_len = c->snap_len;
	raftd.incoming_index = c->snap_index;
	raftd.incoming_term = c->snap_term;
	c->snap = NULL;
	return 0;
}

/* A RAFT frame from the peer of an accepted connection. */
static int
rpc_raft_frame(struct rpc_conn *c, const msgpack_object *o)
{
	struct raft_msg	 m;

	if (rpc_msg_unpack(o, &m) == -1)
		return -1;
	if (strcmp(m.from, c->peer) != 0) {
		rpc_msg_free(&m);
		return -1;
	}
	if (m.type == RAFT_MSG_SNAPSHOT && rpc_snap_ready(c, &m) == -1) {
		rpc_msg_free(&m);
		return 0;	/* the leader will send it again */
	}
	if (raftd.raft != NULL && raft_step(raftd.raft, &m) == 0)
		node_schedule_flush(&raftd);
	rpc_msg_free(&m);
	return 0;
}

/* The peer's certificate names server.<dc>.<domain>. */
static int
rpc_peer_is_server(struct rpc_conn *c, const char *dc)
{
	char	name[256];

	if ((size_t)snprintf(name, sizeof(name), "server.%s.%s", dc,
	    rpc_server_name) >= sizeof(name))
		return 0;
	return tlsbev_peer_named(c->bev, name);
}

/* 0: taken; -1: the peer is to be dropped. */
static int
rpc_frame(struct rpc_conn *c, const void *buf, size_t len)
{
	msgpack_unpacked	 u;
	struct rpc_hello	 h;
	struct rpc_fwd		 f;
	const char		*dc = raftd_child.conf->datacenter;
	int			 rc = -1, t;

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	t = rpc_frame_type(&u.data);
	/* Only answers come back on our own connections. */
	if (c->out) {
		if (t == RPC_REPLY && rpc_fwd_unpack(&u.data, &f) == 0)
			rc = forward_reply(c, &f);
		else if (t == RPC_STATE)
			rc = rpc_state_frame(c, &u.data);
		msgpack_unpacked_destroy(&u);
		return rc;
	}
	if (c->wan && (t == RPC_RAFT || t == RPC_SNAP || t == RPC_ASK)) {
		log_warnx("rpc: %s is of another datacenter: it may only "
		    "forward requests, not take part in Raft", c->label);
		msgpack_unpacked_destroy(&u);
		return -1;
	}
	if (c->client_only && (t == RPC_RAFT || t == RPC_SNAP ||
	    t == RPC_ASK)) {
		rpc_tls_log(c, "its certificate names no server of this "
		    "datacenter (verify_server_hostname): it may forward "
		    "requests, not take part in Raft");
		msgpack_unpacked_destroy(&u);
		return -1;
	}
	switch (t) {
	case RPC_HELLO:
		if (c->hello || rpc_hello_unpack(&u.data, &h) == -1)
			break;
		/*
		 * A server of another datacenter (WAN federation) may only
		 * forward requests to us, never take part in our Raft.
		 */
		if (strcmp(h.dc, dc) != 0) {
			if (!raftd_child.conf->server || !dc_name_valid(h.dc)) {
				log_warnx("rpc: from %s: %s is of datacenter "
				    "%s, not %s", c->label, h.id, h.dc, dc);
				break;
			}
			c->wan = 1;
		}
		/*
		 * With verify_server_hostname, only a certificate naming
		 * server.<its dc>.<domain> makes a server: a client's may
		 * forward requests, and may not come from another dc.
		 */
		if (rpc_tls_names && tlsbev_is_tls(c->bev) &&
		    !rpc_peer_is_server(c, h.dc)) {
			if (c->wan) {
				rpc_tls_log(c, "its certificate names no "
				    "server of its datacenter "
				    "(verify_server_hostname)");
				break;
			}
			c->client_only = 1;
		}
		c->hello = 1;
		strlcpy(c->peer, h.id, sizeof(c->peer));
		rpc_timeouts(c, NULL, NULL);
		rc = 0;
		break;
	case RPC_RAFT:
		if (c->hello && !c->wan)
			rc = rpc_raft_frame(c, &u.data);
		break;
	case RPC_SNAP:
		if (c->hello && !c->wan)
			rc = rpc_snap_frame(c, &u.data);
		break;
	case RPC_ASK:
		if (c->hello && !c->wan) {
			rpc_send_state(c);
			rc = 0;
		}
		break;
	case RPC_FWD:
	case RPC_CANCEL:
		if (c->hello && rpc_fwd_unpack(&u.data, &f) == 0)
			rc = t == RPC_FWD ? forward_serve(c, &f) :
			    forward_serve_cancel(c, &f);
		break;
	}
	msgpack_unpacked_destroy(&u);
	return rc;
}

static void
rpc_read(struct bufferevent *bev, void *arg)
{
	struct rpc_conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	unsigned char	 hdr[RPC_HDR], *frame;
	size_t		 len;

	while (evbuffer_get_length(in) >= RPC_HDR) {
		evbuffer_copyout(in, hdr, RPC_HDR);
		len = (size_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 |
		    hdr[3];
		if (len == 0 || len > RPC_FRAME_MAX) {
			rpc_conn_fail(c, "oversized or empty frame");
			return;
		}
		if (evbuffer_get_length(in) < RPC_HDR + len)
			return;
		evbuffer_drain(in, RPC_HDR);
		frame = evbuffer_pullup(in, len);
		if (frame == NULL || rpc_frame(c, frame, len) == -1) {
			rpc_conn_fail(c, c->out ? "malformed answer" :
			    c->hello ? "malformed frame, or a message in "
			    "another server's name" : "no valid HELLO first");
			return;
		}
		evbuffer_drain(in, len);
		c->answered = 1;
	}
}

static void
rpc_event(struct bufferevent *bev, short what, void *arg)
{
	struct rpc_conn	*c = arg;
	struct timespec	 ts;

	if (what & BEV_EVENT_CONNECTED) {
		c->connected = 1;
		log_debug("rpc: connected to %s (%s)", c->peer, c->addr);
		return;
	}
	/*
	 * Under TLS 1.3 the server checks our certificate after our side of
	 * the handshake is done: its refusal is a close right away, before
	 * any answer.
	 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (c->out && c->connected && !c->answered && tlsbev_why(bev) == NULL &&
	    tlsbev_is_tls(bev) && ts.tv_sec - c->born <= 1) {
		rpc_tls_log(c, "the server closed the connection after the "
		    "tls handshake: it does not accept our certificate");
		rpc_conn_fail(c, "closed");
		return;
	}
	rpc_conn_fail(c, what & BEV_EVENT_TIMEOUT ? "timed out" :
	    what & BEV_EVENT_EOF ? (c->out ? "closed" : NULL) :
	    "connection failed");
}

/* Timeouts of the socket under the TLS layer, or of the socket. */
static void
rpc_timeouts(struct rpc_conn *c, const struct timeval *rd,
    const struct timeval *wr)
{
	struct bufferevent	*u = bufferevent_get_underlying(c->bev);

	bufferevent_set_timeouts(u != NULL ? u : c->bev, rd, wr);
}

static struct timeval
rpc_handshake_timeout(void)
{
	struct timeval	 tv = { RPC_HANDSHAKE_SEC, 0 };
	int64_t		 ns = raftd_child.conf->limits.rpc_handshake_timeout;

	if (ns > 0) {
		tv.tv_sec = ns / 1000000000;
		tv.tv_usec = ns % 1000000000 / 1000;
	}
	return tv;
}

/* bev: the TLS layer over fd, or NULL for a plain socket. */
static struct rpc_conn *
rpc_conn_new(int fd, int out, struct bufferevent *bev)
{
	struct rpc_conn	*c;
	struct timespec	 ts;
	int		 one = 1, idle = 10, intvl = 3, cnt = 3;
	unsigned int	 user_ms = RPC_USER_TIMEOUT_MS;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("rpc");
	c->out = out;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->born = ts.tv_sec;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/*
	 * A peer that vanished (power off, partition) is noticed within
	 * about 20 s on an idle connection by keepalives, and within
	 * RPC_USER_TIMEOUT_MS when data we sent goes unacknowledged.
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
	    sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms,
	    sizeof(user_ms));
	if ((c->bev = bev) == NULL && (c->bev =
	    bufferevent_socket_new(raftd_child.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("rpc: bufferevent_socket_new");
	bufferevent_setcb(c->bev, rpc_read, NULL, rpc_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&rpc_conns, c, entry);
	if (!out)
		rpc_nin++;
	return c;
}

static void
rpc_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct rpc_conn		*c;
	struct bufferevent	*bev = NULL;
	struct timeval		 tv = { RPC_HELLO_SEC, 0 }, hs;
	char			 ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, ip,
		    sizeof(ip));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    ip, sizeof(ip));
	if (rpc_nin >= RPC_IN_MAX) {
		log_warnx("rpc: %d connections already, refusing %s",
		    RPC_IN_MAX, ip);
		close(fd);
		return;
	}
	if (rpc_tls_server != NULL) {
		hs = rpc_handshake_timeout();
		bev = tlsbev_server(raftd_child.base, rpc_tls_server, fd,
		    rpc_tls_required ? 0 : TLSBEV_ALLOW_PLAIN, &hs);
	}
	c = rpc_conn_new(fd, 0, bev);
	strlcpy(c->label, ip, sizeof(c->label));
	rpc_timeouts(c, &tv, NULL);
}

/* "ip:port" or "[ip6]:port" to a socket address. */
static socklen_t
rpc_sockaddr(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[RAFT_ADDR_MAX], *p;
	long			 port;

	memset(ss, 0, sizeof(*ss));
	if (strlcpy(host, addr, sizeof(host)) >= sizeof(host) ||
	    (p = strrchr(host, ':')) == NULL)
		return 0;
	*p++ = '\0';
	if ((port = strtol(p, NULL, 10)) <= 0 || port > 65535)
		return 0;
	if (host[0] == '[') {
		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) != 1)
			return 0;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return 0;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	return sizeof(*sin);
}

/*
 * A peer's address: from the Raft configuration, or, for a server not
 * in ours yet (we are new, and the leader is talking to us), from
 * gossip.
 */
static const char *
rpc_peer_addr(const char *id)
{
	static char		 buf[RAFT_ADDR_MAX];
	const struct raft_conf	*conf;
	size_t			 i;

	if (raftd.raft == NULL)
		return NULL;
	conf = raft_config(raftd.raft);
	for (i = 0; i < conf->n; i++)
		if (strcmp(conf->servers[i].id, id) == 0)
			return conf->servers[i].addr;
	if (members_server_addr(id, buf, sizeof(buf)) == 0)
		return buf;
	return NULL;
}

/* Our connection to a server at addr, made if needed; NULL if not. */
struct rpc_conn *
rpc_conn_to(const char *addr)
{
	return rpc_conn_to_dc(addr, NULL);
}

/*
 * The same, to a server of datacenter dc (NULL: ours), whose
 * certificate must name server.<dc>.<domain>.
 */
struct rpc_conn *
rpc_conn_to_dc(const char *addr, const char *dc)
{
	char			 name[sizeof(rpc_server_name) + 80];
	struct sockaddr_storage	 ss, self;
	struct rpc_conn		*c;
	struct mpack_out	 out;
	struct timeval		 tv = { RPC_CONNECT_SEC, 0 }, hs;
	struct bufferevent	*bev = NULL, *sock;
	socklen_t		 len, slen;
	int			 fd;

	TAILQ_FOREACH(c, &rpc_conns, entry)
		if (c->out && strcmp(c->addr, addr) == 0)
			return c;
	if ((len = rpc_sockaddr(addr, &ss)) == 0)
		return NULL;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_warn("rpc: socket");
		return NULL;
	}
	/*
	 * From our own address, as the peer knows us (and as a test's
	 * per-address firewall rules on loopback see us); an advertised
	 * address that is not ours (NAT) leaves the choice to the kernel.
	 */
	if ((slen = rpc_sockaddr(raftd.self_addr, &self)) != 0 &&
	    self.ss_family == ss.ss_family) {
		if (self.ss_family == AF_INET)
			((struct sockaddr_in *)&self)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&self)->sin6_port = 0;
		if (bind(fd, (struct sockaddr *)&self, slen) == -1)
			log_debug("rpc: cannot bind to %s: %s",
			    raftd.self_addr, strerror(errno));
	}
	if (rpc_tls_client != NULL) {
		hs = rpc_handshake_timeout();
		if (snprintf(name, sizeof(name), "server.%.64s.%s",
		    dc != NULL ? dc : raftd_child.conf->datacenter,
		    rpc_server_name) >= (int)sizeof(name)) {
			close(fd);
			return NULL;
		}
		bev = tlsbev_client(raftd_child.base, rpc_tls_client, fd,
		    name, &hs);
	}
	c = rpc_conn_new(fd, 1, bev);
	strlcpy(c->addr, addr, sizeof(c->addr));
	strlcpy(c->label, addr, sizeof(c->label));
	rpc_timeouts(c, NULL, &tv);
	if ((sock = bufferevent_get_underlying(c->bev)) == NULL)
		sock = c->bev;
	if (bufferevent_socket_connect(sock, (struct sockaddr *)&ss,
	    len) == -1) {
		rpc_conn_free(c);
		return NULL;
	}
	mpack_out_init(&out);
	rpc_hello_pack(&out.pk, raftd_child.conf->datacenter, raftd_node_id);
	rpc_write_frame(c, &out);
	mpack_out_free(&out);
	return c;
}

/*
 * A message from the core to its peer, after the ready is durable; -1
 * if it was dropped (no address, no connection, or a backlog).
 */
int
rpc_send(const struct raft_msg *m)
{
	struct rpc_conn		*c;
	struct mpack_out	 out;
	const char		*addr;
	int			 rc = -1;

	if ((addr = rpc_peer_addr(m->to)) == NULL ||
	    (c = rpc_conn_to(addr)) == NULL || rpc_backlogged(c)) {
		rpc_dropped++;
		return -1;
	}
	strlcpy(c->peer, m->to, sizeof(c->peer));
	mpack_out_init(&out);
	if (rpc_msg_pack(&out.pk, m) == 0) {
		rpc_write_frame(c, &out);
		rc = 0;
	}
	mpack_out_free(&out);
	return rc;
}

/* Whether we hold Raft state: a configuration or any log. */
static void
rpc_send_state(struct rpc_conn *c)
{
	const struct raft_conf	*conf;
	struct mpack_out	 out;
	size_t			 i;

	if (raftd.raft == NULL)
		return;		/* a client agent: no one should ask */
	conf = raft_config(raftd.raft);
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 4);
	msgpack_pack_uint8(&out.pk, RPC_STATE);
	if (conf->n > 0 || raft_last_index(raftd.raft) > 0)
		msgpack_pack_true(&out.pk);
	else
		msgpack_pack_false(&out.pk);
	msgpack_pack_uint64(&out.pk, raft_last_index(raftd.raft));
	msgpack_pack_array(&out.pk, conf->n);
	for (i = 0; i < conf->n; i++)
		mpack_str(&out.pk, conf->servers[i].id);
	rpc_write_frame(c, &out);
	mpack_out_free(&out);
}

static int
rpc_state_frame(struct rpc_conn *c, const msgpack_object *o)
{
	const msgpack_object	*a = o->via.array.ptr;
	char			 ids[RAFT_SERVERS_MAX][RAFT_ID_MAX];
	uint64_t		 last;
	uint32_t		 i;
	int			 has;

	if (o->via.array.size < 4 || mpack_get_bool(&a[1], &has) == -1 ||
	    mpack_get_uint(&a[2], &last) == -1 ||
	    a[3].type != MSGPACK_OBJECT_ARRAY ||
	    a[3].via.array.size > RAFT_SERVERS_MAX)
		return -1;
	for (i = 0; i < a[3].via.array.size; i++)
		if (mpack_copy_str(&a[3].via.array.ptr[i], ids[i],
		    sizeof(ids[i])) == -1)
			return -1;
	node_expect_answer(&raftd, c->addr, has, last, ids,
	    a[3].via.array.size);
	return 0;
}

/* Ask the server at addr whether it has Raft state; -1 if we cannot. */
int
rpc_ask_state(const char *addr)
{
	struct rpc_conn		*c;
	struct mpack_out	 out;

	if ((c = rpc_conn_to(addr)) == NULL || rpc_backlogged(c))
		return -1;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 1);
	msgpack_pack_uint8(&out.pk, RPC_ASK);
	rpc_write_frame(c, &out);
	mpack_out_free(&out);
	return 0;
}

/* A snapshot message, after the bytes of its snapshot, in pieces. */
int
rpc_send_snapshot(const struct raft_msg *m, const void *buf, size_t len)
{
	struct rpc_conn		*c;
	struct mpack_out	 out;
	const char		*addr;
	size_t			 off, n;

	if ((addr = rpc_peer_addr(m->to)) == NULL ||
	    (c = rpc_conn_to(addr)) == NULL || rpc_backlogged(c))
		return -1;
	for (off = 0; off < len; off += n) {
		n = len - off < RPC_SNAP_CHUNK ? len - off : RPC_SNAP_CHUNK;
		mpack_out_init(&out);
		msgpack_pack_array(&out.pk, 6);
		msgpack_pack_uint8(&out.pk, RPC_SNAP);
		msgpack_pack_uint64(&out.pk, m->snapshot.index);
		msgpack_pack_uint64(&out.pk, m->snapshot.term);
		msgpack_pack_uint64(&out.pk, off);
		msgpack_pack_uint64(&out.pk, len);
		mpack_bin(&out.pk, (const char *)buf + off, n);
		rpc_write_frame(c, &out);
		mpack_out_free(&out);
	}
	log_info("rpc: sent a snapshot of index %llu (%zu bytes) to %s",
	    (unsigned long long)m->snapshot.index, len, addr);
	return rpc_send(m);
}

int
rpc_backlogged(struct rpc_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) >
	    RPC_OUTBUF_MAX;
}

/* A FWD, REPLY or CANCEL frame; the caller checked the backlog. */
void
rpc_send_fwd(struct rpc_conn *c, int frame, const struct rpc_fwd *f)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	rpc_fwd_pack(&out.pk, frame, f);
	rpc_write_frame(c, &out);
	mpack_out_free(&out);
}

/*
 * Build the TLS contexts from the material the parent sent last (at
 * start-up, or before a reload).  A reload whose material libtls
 * refuses keeps the contexts in use.
 */
void
rpc_tls_load(struct child *ch)
{
	const struct config_tls	*t = &ch->conf->tls.internal_rpc;
	struct tls_material	*m;
	struct tls_config	*scfg = NULL, *ccfg = NULL;
	struct tls		*srv = NULL;
	char			 err[512], dom[256];
	size_t			 l;
	int			 starting = rpc_tls_server == NULL &&
				    rpc_tls_client == NULL;

	if ((m = proc_child_take_tls(ch)) == NULL)
		return;
	if (tls_files_have_cert(&m->rpc)) {
		if ((scfg = tlsconf_server(t, &m->rpc, err,
		    sizeof(err))) == NULL)
			goto fail;
		if ((srv = tls_server()) == NULL)
			fatalx("rpc: tls_server");
		if (tls_configure(srv, scfg) == -1) {
			snprintf(err, sizeof(err), "%s", tls_error(srv));
			goto fail;
		}
	}
	if (t->verify_outgoing == 1 && (ccfg = tlsconf_client(t, &m->rpc,
	    t->verify_server_hostname == 1, err, sizeof(err))) == NULL)
		goto fail;
	tlsbev_server_retire(rpc_tls_server);
	tls_config_free(rpc_tls_client);
	rpc_tls_server = srv != NULL ? tlsbev_server_ctx(srv) : NULL;
	rpc_tls_client = ccfg;
	rpc_tls_required = t->verify_incoming == 1;
	rpc_tls_names = t->verify_server_hostname == 1;
	strlcpy(dom, ch->conf->domain, sizeof(dom));
	if ((l = strlen(dom)) > 0 && dom[l - 1] == '.')
		dom[l - 1] = '\0';
	strlcpy(rpc_server_name, dom, sizeof(rpc_server_name));
	if (srv != NULL || ccfg != NULL)
		log_info("rpc: tls: incoming %s, outgoing %s",
		    srv == NULL ? "plaintext" : rpc_tls_required ?
		    "tls required" : "tls or plaintext",
		    ccfg == NULL ? "plaintext" :
		    t->verify_server_hostname == 1 ? "tls, checking the name" :
		    "tls");
	tls_config_free(scfg);
	tls_material_clear(m);
	free(m);
	return;
 fail:
	tls_material_clear(m);
	free(m);
	tls_config_free(scfg);
	tls_free(srv);
	if (starting)
		fatalx("rpc: tls: %s", err);
	log_warnx("rpc: tls: reload: %s; keeping the certificates in use",
	    err);
}

/* Serve :8300; fd is the parent's listening socket, or -1. */
void
rpc_start(int fd)
{
	if (fd == -1)
		return;
	rpc_listener = evconnlistener_new(raftd_child.base, rpc_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (rpc_listener == NULL)
		fatalx("rpc: cannot listen");
}
