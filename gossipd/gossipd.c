/*
 * gossipd, the membership child: the shell around the SWIM core
 * (swim.c) for the LAN pool (:8301) and, on servers, the WAN pool
 * (:8302).  It owns the UDP and TCP sockets the parent opened, feeds
 * the core packets, push-pull frames and time, sends what the core
 * says, and reports member changes to raftd.  The core does the rest.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "config.h"
#include "gossipd.h"
#include "log.h"
#include "mpack.h"
#include "proc.h"
#include "sandbox.h"
#include "swim.h"
#include "version.h"

#define STREAM_TIMEOUT_SEC	10
#define TAGS_MAX		32
#define CONNS_MAX		64	/* TCP exchanges at once, per pool */
#define FRAME_BASE		(1024 * 1024)
#define FRAME_PER_MEMBER	4096
#define DROP_LOG_MS		30000

struct child		 gossipd_child;
struct pool		 pools[POOL_MAX];
static struct sockaddr_storage bind_ss;
static socklen_t	 bind_sslen;

static void	keyring_setup(struct pool *);

uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
addr_from_sockaddr(const struct sockaddr *sa, struct swim_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		a->family = AF_INET;
		memcpy(a->ip, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		a->port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		a->family = AF_INET6;
		memcpy(a->ip, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    16);
		a->port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	} else
		return -1;
	return 0;
}

static socklen_t
addr_to_sockaddr(const struct swim_addr *a, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->ip, 4);
		sin->sin_port = htons(a->port);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, a->ip, 16);
	sin6->sin6_port = htons(a->port);
	return sizeof(*sin6);
}

void
addr_ip(const struct swim_addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->family, a->ip, buf, len) == NULL)
		strlcpy(buf, "?", len);
}

/* "ip", "ip:port" or "[ip6]:port"; a hostname is not resolved here. */
int
addr_parse(const char *s, uint16_t defport, struct swim_addr *a)
{
	char		 host[64], *colon;
	const char	*port = NULL;
	long		 p = defport;

	memset(a, 0, sizeof(*a));
	if (strlcpy(host, s, sizeof(host)) >= sizeof(host))
		return -1;
	if (host[0] == '[') {
		if ((colon = strchr(host, ']')) == NULL)
			return -1;
		*colon = '\0';
		if (colon[1] == ':')
			port = colon + 2;
		memmove(host, host + 1, strlen(host + 1) + 1);
	} else if ((colon = strchr(host, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		*colon = '\0';
		port = colon + 1;
	}
	if (port != NULL && ((p = strtol(port, NULL, 10)) <= 0 || p > 65535))
		return -1;
	a->port = p;
	if (inet_pton(AF_INET, host, a->ip) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, host, a->ip) == 1)
		a->family = AF_INET6;
	else
		return -1;
	return 0;
}

/* Tell raftd about a member; status 0 means it was reaped. */
static void
report_member(struct pool *p, const struct swim_member_info *m, int status)
{
	struct mpack_out	 out;
	const char		*k, *v;
	char			 ip[INET6_ADDRSTRLEN];
	size_t			 off = 0, n = 0;

	while (swim_tag_next(m->tags, m->tagslen, &off, &k, &v) == 1)
		n++;
	addr_ip(&m->addr, ip, sizeof(ip));
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 6);
	msgpack_pack_uint8(&out.pk, p->kind);
	mpack_str(&out.pk, m->name);
	mpack_str(&out.pk, ip);
	msgpack_pack_uint16(&out.pk, m->addr.port);
	msgpack_pack_map(&out.pk, n);
	off = 0;
	while (swim_tag_next(m->tags, m->tagslen, &off, &k, &v) == 1)
		mpack_kv_str(&out.pk, k, v);
	msgpack_pack_uint8(&out.pk, status);
	if (imsgev_compose(&gossipd_child.peers[PROC_RAFTD], IMSG_MEMBER, 0,
	    -1, out.sbuf.data, out.sbuf.size) == -1)
		fatal("gossip: compose");
	mpack_out_free(&out);
}

/*
 * Say why messages from a peer are dropped when it is a matter of keys:
 * the usual reason a node cannot join.  At most one line per pool every
 * DROP_LOG_MS; the counts say how many since the last one.
 */
static void
drop_log(struct pool *p, const struct swim_addr *from)
{
	struct swim_stats	 st;
	char			 ip[INET6_ADDRSTRLEN];
	uint64_t		 now = now_ms(), key, plain;

	swim_stats(p->sw, &st);
	key = st.drop_key - p->drops_told[0];
	plain = st.drop_plaintext - p->drops_told[1];
	if ((key == 0 && plain == 0) ||
	    (p->drop_log_at != 0 && now - p->drop_log_at < DROP_LOG_MS))
		return;
	p->drop_log_at = now;
	p->drops_told[0] = st.drop_key;
	p->drops_told[1] = st.drop_plaintext;
	addr_ip(from, ip, sizeof(ip));
	if (key > 0)
		log_warnx("gossip: %s: dropped %llu message%s (latest from "
		    "%s): sealed with a key not in our keyring", p->label,
		    (unsigned long long)key, key == 1 ? "" : "s", ip);
	if (plain > 0)
		log_warnx("gossip: %s: dropped %llu message%s (latest from "
		    "%s): not encrypted, and encrypt_verify_incoming "
		    "requires it", p->label, (unsigned long long)plain,
		    plain == 1 ? "" : "s", ip);
}

/* An API join learns from here whether its push-pull was answered. */
static void
conn_free(struct conn *c)
{
	char	 ip[INET6_ADDRSTRLEN];

	if (c->joining && !c->closing) {
		addr_ip(&c->peer, ip, sizeof(ip));
		log_warnx("gossip: %s: joining through %s:%u failed: no "
		    "answer to the state exchange (not listening there, or "
		    "a different gossip key)", c->pool->label, ip,
		    c->peer.port);
	}
	if (c->join != NULL)
		ops_join_done(c->join, c->closing);
	TAILQ_REMOVE(&c->pool->conns, c, entry);
	c->pool->nconns--;
	bufferevent_free(c->bev);
	free(c);
}

/* The largest frame worth reading: a full state of this pool's size. */
static size_t
frame_max(const struct pool *p)
{
	size_t	 n = FRAME_BASE + swim_member_count(p->sw) * FRAME_PER_MEMBER;

	return n < SWIM_STREAM_MAX ? n : SWIM_STREAM_MAX;
}

static void
conn_write_frame(struct conn *c, const void *data, size_t len)
{
	unsigned char	 hdr[4];

	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
	bufferevent_write(c->bev, hdr, sizeof(hdr));
	bufferevent_write(c->bev, data, len);
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct pool	*p;
	struct evbuffer	*in = bufferevent_get_input(bev);
	unsigned char	 hdr[4], *frame;
	size_t		 len;
	int		 rc;

	if (c->closing || evbuffer_get_length(in) < 4)
		return;
	evbuffer_copyout(in, hdr, 4);
	len = (size_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
	if (len > frame_max(c->pool)) {
		log_debug("gossip: %s: oversize push-pull frame", c->pool->label);
		conn_free(c);
		return;
	}
	if (evbuffer_get_length(in) < 4 + len)
		return;
	evbuffer_drain(in, 4);
	frame = evbuffer_pullup(in, len);
	rc = swim_recv_stream(c->pool->sw, c->id, &c->peer, frame, len,
	    now_ms());
	if (rc == -1) {
		log_debug("gossip: %s: push-pull frame dropped",
		    c->pool->label);
		drop_log(c->pool, &c->peer);
	}
	evbuffer_drain(in, len);
	p = c->pool;
	/*
	 * Our own exchange is complete (a join counts it done only if the
	 * core took the reply); an accepted one awaits its reply, unless
	 * the core dropped what came, and then there is none.
	 */
	c->closing = rc == 0;
	if (c->id == 0 || rc == -1)
		conn_free(c);
	else
		c->closing = 1;
	pool_flush(p);
}

/* The reply went out, or the connection failed or timed out. */
static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) && c->id == 0)
		log_debug("gossip: %s: push-pull failed", c->pool->label);
	conn_free(c);
}

static void
conn_written(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (c->id != 0 && c->closing)
		conn_free(c);
}

static struct conn *
conn_new(struct pool *p, int fd, uint64_t id, const struct swim_addr *peer)
{
	struct conn	*c;
	struct timeval	 tv = { STREAM_TIMEOUT_SEC, 0 };

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("gossip");
	c->pool = p;
	c->id = id;
	c->peer = *peer;
	c->bev = bufferevent_socket_new(gossipd_child.base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatalx("gossip: bufferevent_socket_new");
	bufferevent_setcb(c->bev, conn_read, conn_written, conn_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&p->conns, c, entry);
	p->nconns++;
	return c;
}

static void
pool_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct pool		*p = arg;
	struct swim_addr	 peer;

	if (p->nconns >= CONNS_MAX) {
		log_debug("gossip: %s: %d exchanges at once, refusing one",
		    p->label, CONNS_MAX);
		close(fd);
		return;
	}
	if (addr_from_sockaddr(sa, &peer) == -1) {
		close(fd);
		return;
	}
	conn_new(p, fd, ++p->next_conn, &peer);
}

/* A push-pull of ours: from our bind address to the peer's. */
static void
pool_stream(struct pool *p, const struct swim_out *o)
{
	struct sockaddr_storage	 ss;
	struct conn		*c;
	struct timeval		 tv;
	socklen_t		 len;
	uint64_t		 now;
	int			 fd;

	if (p->nconns >= CONNS_MAX) {
		log_debug("gossip: %s: %d exchanges at once, skipping one",
		    p->label, CONNS_MAX);
		return;
	}
	len = addr_to_sockaddr(&o->to, &ss);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_warn("gossip: socket");
		return;
	}
	if (bind_sslen > 0 && bind_ss.ss_family == ss.ss_family &&
	    bind(fd, (struct sockaddr *)&bind_ss, bind_sslen) == -1)
		log_debug("gossip: bind for push-pull: %s", strerror(errno));
	c = conn_new(p, fd, 0, &o->to);
	c->joining = o->join;
	if (o->join && p->joining != NULL) {
		c->join = p->joining;
		p->joining = NULL;
	}
	/* A fallback probe is worth nothing after its probe period. */
	now = now_ms();
	if (o->deadline > now && o->deadline - now < STREAM_TIMEOUT_SEC *
	    1000) {
		tv.tv_sec = (o->deadline - now) / 1000;
		tv.tv_usec = ((o->deadline - now) % 1000) * 1000;
		bufferevent_set_timeouts(c->bev, &tv, &tv);
	}
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
	    len) == -1) {
		conn_free(c);
		return;
	}
	conn_write_frame(c, o->data, o->len);
}

static void
pool_reply(struct pool *p, const struct swim_out *o)
{
	struct conn	*c;

	TAILQ_FOREACH(c, &p->conns, entry) {
		if (c->id == o->conn) {
			conn_write_frame(c, o->data, o->len);
			return;
		}
	}
}

static void
pool_timer(evutil_socket_t fd, short events, void *arg)
{
	struct pool	*p = arg;

	swim_tick(p->sw, now_ms());
	pool_flush(p);
}

/* A user message, kept until the core takes inputs again. */
struct user_msg {
	struct swim_addr	 from;
	size_t			 len;
	unsigned char		 data[SWIM_USER_MAX];
};

/*
 * Send and report what the core has for us, then rearm the timer.  User
 * messages are handled after swim_advance(): answering them feeds the
 * core, which it refuses in between.
 */
void
pool_flush(struct pool *p)
{
	struct swim_ready	 rd;
	struct sockaddr_storage	 ss;
	struct timeval		 tv;
	struct user_msg		*um = NULL;
	socklen_t		 len;
	uint64_t		 now, next;
	size_t			 i, nu, left;
	int			 status;

	while (swim_has_ready(p->sw)) {
		swim_ready(p->sw, &rd);
		nu = 0;
		left = 0;
		free(um);
		if ((um = calloc(rd.n_events, sizeof(*um))) == NULL &&
		    rd.n_events > 0)
			fatal("gossip");
		for (i = 0; i < rd.n_outs; i++) {
			switch (rd.outs[i].type) {
			case SWIM_OUT_PACKET:
				if (rd.outs[i].probe != 0)
					coord_probe_sent(p, rd.outs[i].probe);
				len = addr_to_sockaddr(&rd.outs[i].to, &ss);
				if (sendto(p->udp, rd.outs[i].data,
				    rd.outs[i].len, 0, (struct sockaddr *)&ss,
				    len) == -1)
					log_debug("gossip: sendto: %s",
					    strerror(errno));
				break;
			case SWIM_OUT_STREAM:
				pool_stream(p, &rd.outs[i]);
				break;
			case SWIM_OUT_REPLY:
				pool_reply(p, &rd.outs[i]);
				break;
			}
		}
		for (i = 0; i < rd.n_events; i++) {
			switch (rd.events[i].type) {
			case SWIM_EV_USER:
				um[nu].from = rd.events[i].other;
				um[nu].len = rd.events[i].len;
				memcpy(um[nu].data, rd.events[i].data,
				    rd.events[i].len);
				nu++;
				continue;
			case SWIM_EV_ACK:
				coord_ack(p, &rd.events[i]);
				continue;
			case SWIM_EV_CONFLICT:
				log_warnx("gossip: %s: member %s claimed by "
				    "another address", p->label,
				    rd.events[i].member.name);
				continue;
			case SWIM_EV_REAP:
				coord_member_gone(p, rd.events[i].member.name);
				status = 0;
				break;
			case SWIM_EV_LEAVE:
				status = SWIM_LEFT;
				if (rd.events[i].member.status == SWIM_LEFT &&
				    strcmp(rd.events[i].member.name,
				    swim_self_name(p->sw)) == 0)
					left = 1;
				break;
			case SWIM_EV_FAILED:
				status = SWIM_FAILED;
				break;
			default:
				status = rd.events[i].member.status;
				break;
			}
			log_info("gossip: %s: %s %s", p->label,
			    rd.events[i].member.name,
			    status == SWIM_ALIVE ? "alive" :
			    status == SWIM_LEFT ? "left" :
			    status == SWIM_FAILED ? "failed" :
			    status == 0 ? "reaped" : "leaving");
			report_member(p, &rd.events[i].member, status);
		}
		swim_advance(p->sw);
		for (i = 0; i < nu; i++)
			serf_recv(p, &um[i].from, um[i].data, um[i].len);
		if (left) {
			p->left = 1;
			ops_pool_left(p);
		}
	}
	free(um);
	if (p->left)
		return;
	now = now_ms();
	next = swim_next_timeout(p->sw);
	next = next > now ? next - now : 0;
	if (next > 1000)
		next = 1000;
	tv.tv_sec = next / 1000;
	tv.tv_usec = (next % 1000) * 1000;
	evtimer_add(p->timer, &tv);
}

static void
pool_udp(evutil_socket_t fd, short events, void *arg)
{
	struct pool		*p = arg;
	static unsigned char	 buf[SWIM_PACKET_MAX];
	struct sockaddr_storage	 ss;
	struct swim_addr	 from;
	socklen_t		 len;
	ssize_t			 n;
	int			 i;

	/* A bounded batch per wakeup, so TCP and timers get their turn. */
	for (i = 0; i < 64; i++) {
		len = sizeof(ss);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss,
		    &len);
		if (n == -1)
			break;
		if (addr_from_sockaddr((struct sockaddr *)&ss, &from) == 0)
			if (swim_recv_packet(p->sw, &from, buf, n,
			    now_ms()) == -1)
				drop_log(p, &from);
	}
	pool_flush(p);
}

/* Join the seeds until some member answers, every retry interval. */
static void
pool_retry(evutil_socket_t fd, short events, void *arg)
{
	struct pool		*p = arg;
	struct swim_stats	 st;
	struct timeval		 tv;

	swim_stats(p->sw, &st);
	if (st.members > 1 || p->nseeds == 0)
		return;
	if (p->retry_max > 0 && p->attempts++ >= p->retry_max)
		fatalx("gossip: %s: could not join after %d attempts "
		    "(retry_max)", p->label, p->retry_max);
	if (swim_join(p->sw, p->seeds, p->nseeds, now_ms()) == -1)
		log_warnx("gossip: %s: join refused", p->label);
	pool_flush(p);
	tv.tv_sec = p->retry_ms / 1000;
	tv.tv_usec = (p->retry_ms % 1000) * 1000;
	evtimer_add(p->retry, &tv);
}

static void
pool_seeds(struct pool *p, const struct config_strlist *list, uint16_t port)
{
	size_t	 i;

	if ((p->seeds = calloc(list->n ? list->n : 1,
	    sizeof(*p->seeds))) == NULL)
		fatal("gossip");
	for (i = 0; i < list->n; i++) {
		if (addr_parse(list->v[i], port, &p->seeds[p->nseeds]) == -1) {
			log_warnx("gossip: %s: cannot join \"%s\": an IP "
			    "address is needed", p->label, list->v[i]);
			continue;
		}
		p->nseeds++;
	}
}

static void
pool_start(struct pool *p, enum pool_kind kind, const char *node_id)
{
	struct config		*c = gossipd_child.conf;
	struct swim_options	 o;
	struct swim_member_info	 m;
	const char		*tags[TAGS_MAX * 2];
	char			 port[16], expect[16], wanport[16];
	size_t			 n = 0, i;
	int			 tcp, udp;
	uint16_t		 gport;

	p->kind = kind;
	p->label = kind == POOL_LAN ? "lan" : "wan";
	p->file = kind == POOL_LAN ? "serf/local.keyring" :
	    "serf/remote.keyring";
	TAILQ_INIT(&p->conns);
	TAILQ_INIT(&p->queries);
	udp = proc_child_socket(&gossipd_child, kind == POOL_LAN ?
	    SOCKET_SERF_LAN_UDP : SOCKET_SERF_WAN_UDP);
	tcp = proc_child_socket(&gossipd_child, kind == POOL_LAN ?
	    SOCKET_SERF_LAN_TCP : SOCKET_SERF_WAN_TCP);
	if (udp == -1 || tcp == -1) {
		if (udp != -1)
			close(udp);
		if (tcp != -1)
			close(tcp);
		return;
	}
	gport = kind == POOL_LAN ? c->ports.serf_lan : c->ports.serf_wan;

	if (kind == POOL_LAN)
		swim_options_lan(&o);
	else
		swim_options_wan(&o);
	if (kind == POOL_LAN)
		strlcpy(o.name, c->node_name, sizeof(o.name));
	else
		snprintf(o.name, sizeof(o.name), "%s.%s", c->node_name,
		    c->datacenter);
	if (addr_parse(c->advertise_addr, gport, &o.addr) == -1)
		fatalx("gossip: advertise address %s is not an IP address",
		    c->advertise_addr);
	o.addr.port = gport;
	arc4random_buf(&o.seed, sizeof(o.seed));
	o.incarnation = (uint32_t)time(NULL);
	if (c->reconnect_timeout > 0)
		o.reconnect_timeout = (kind == POOL_LAN ?
		    c->reconnect_timeout : c->reconnect_timeout_wan) /
		    1000000;

#define TAG(k, v)	do { tags[n++] = (k); tags[n++] = (v); } while (0)
	TAG("role", c->server ? "consul" : "node");
	TAG("dc", c->datacenter);
	TAG("id", node_id);
	TAG("segment", "");
	TAG("vsn", "2");
	TAG("vsn_min", "2");
	TAG("vsn_max", "3");
	TAG("build", CONSUL_COMPAT_VERSION ":" CONSULD_REVISION);
	TAG("acls", c->acl.enabled ? "1" : "0");
	if (c->server) {
		snprintf(port, sizeof(port), "%d", c->ports.server);
		TAG("port", port);
		TAG("raft_vsn", "3");
		if (c->bootstrap)
			TAG("bootstrap", "1");
		else if (c->bootstrap_expect > 0) {
			snprintf(expect, sizeof(expect), "%d",
			    c->bootstrap_expect);
			TAG("expect", expect);
		}
		snprintf(wanport, sizeof(wanport), "%d", c->ports.serf_wan);
		TAG("wan_join_port", wanport);
	}
#undef TAG
	o.tags = tags;
	o.ntags = n / 2;

	keyring_setup(p);
	o.keyring = p->kr;
	if ((p->sw = swim_new(&o, now_ms())) == NULL)
		fatalx("gossip: %s: cannot start the pool", p->label);
	coord_pool_start(p);
	p->udp = udp;
	p->udp_ev = event_new(gossipd_child.base, udp, EV_READ | EV_PERSIST,
	    pool_udp, p);
	p->timer = evtimer_new(gossipd_child.base, pool_timer, p);
	p->retry = evtimer_new(gossipd_child.base, pool_retry, p);
	p->listener = evconnlistener_new(gossipd_child.base, pool_accept, p,
	    LEV_OPT_CLOSE_ON_FREE, 0, tcp);	/* 0: listening already */
	if (p->udp_ev == NULL || p->timer == NULL || p->retry == NULL ||
	    p->listener == NULL || event_add(p->udp_ev, NULL) == -1)
		fatalx("gossip: %s: cannot set up events", p->label);

	/* We are a member of our own pool from the start. */
	for (i = 0; i < swim_member_count(p->sw); i++)
		if (swim_member_at(p->sw, i, &m) == 0)
			report_member(p, &m, m.status);
	pool_seeds(p, kind == POOL_LAN ? &c->retry_join : &c->retry_join_wan,
	    kind == POOL_LAN ? 8301 : 8302);
	p->retry_ms = (kind == POOL_LAN ? c->retry_interval :
	    c->retry_interval_wan) / 1000000;
	p->retry_max = kind == POOL_LAN ? c->retry_max : c->retry_max_wan;
	if (p->retry_ms <= 0)
		p->retry_ms = 30 * 1000;
	pool_retry(-1, 0, p);
	if (p->nrejoin > 0) {
		log_info("gossip: %s: joining the %zu members of the snapshot "
		    "again", p->label, p->nrejoin);
		(void)swim_join(p->sw, p->rejoin, p->nrejoin, now_ms());
	}
	free(p->rejoin);
	p->rejoin = NULL;
	pool_flush(p);
	log_info("gossip: %s: %s serving on port %d, %zu seeds", p->label,
	    o.name, gport, p->nseeds);
}

/* The keyring file raftd read for a pool, kept until the pool starts. */
static void
keyring_init(struct imsgev *iev, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	uint64_t		 kind;
	struct pool		*p;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size != 2)
		fatalx("gossip: malformed keyring from %s", iev->name);
	a = u.data.via.array.ptr;
	if (mpack_get_uint(&a[0], &kind) == -1 || kind >= POOL_MAX ||
	    (a[1].type != MSGPACK_OBJECT_NIL &&
	    (a[1].type != MSGPACK_OBJECT_BIN ||
	    a[1].via.bin.size > KEYRING_FILE_MAX)) ||
	    pools[kind].sw != NULL || pools[kind].keyfile_set)
		fatalx("gossip: malformed keyring from %s", iev->name);
	p = &pools[kind];
	p->keyfile_set = 1;
	if (a[1].type == MSGPACK_OBJECT_BIN) {
		if ((p->keyfile = malloc(a[1].via.bin.size + 1)) == NULL)
			fatal("gossip");
		if (a[1].via.bin.size > 0)
			memcpy(p->keyfile, a[1].via.bin.ptr,
			    a[1].via.bin.size);
		p->keyfilelen = a[1].via.bin.size;
	}
	msgpack_unpacked_destroy(&u);
}

/* The members the snapshot had: joined once, when the pool starts. */
static void
rejoin_init(struct imsgev *iev, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a, *s;
	uint64_t		 kind;
	struct pool		*p;
	char			 addr[128];
	uint32_t		 i;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size != 2)
		fatalx("gossip: malformed rejoin from %s", iev->name);
	a = u.data.via.array.ptr;
	if (mpack_get_uint(&a[0], &kind) == -1 || kind >= POOL_MAX ||
	    a[1].type != MSGPACK_OBJECT_ARRAY || pools[kind].sw != NULL ||
	    pools[kind].rejoin != NULL)
		fatalx("gossip: malformed rejoin from %s", iev->name);
	p = &pools[kind];
	if ((p->rejoin = calloc(a[1].via.array.size + 1,
	    sizeof(*p->rejoin))) == NULL)
		fatal("gossip");
	for (i = 0; i < a[1].via.array.size; i++) {
		s = &a[1].via.array.ptr[i];
		if (mpack_copy_str(s, addr, sizeof(addr)) == -1 ||
		    addr_parse(addr, 0, &p->rejoin[p->nrejoin]) == -1 ||
		    p->rejoin[p->nrejoin].port == 0)
			continue;
		p->nrejoin++;
	}
	msgpack_unpacked_destroy(&u);
}

/* raftd keeps the file: data_dir is beyond our chroot. */
void
keyring_changed(struct pool *p)
{
	struct mpack_out	 out;
	char			 buf[KEYRING_FILE_MAX];
	size_t			 len;

	if (gossipd_child.conf->disable_keyring_file)
		return;
	if (keyring_save(p->kr, buf, sizeof(buf), &len) == -1)
		fatalx("gossip: %s: keyring too large to save", p->label);
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	msgpack_pack_uint8(&out.pk, p->kind);
	mpack_bin(&out.pk, buf, len);
	if (imsgev_compose(&gossipd_child.peers[PROC_RAFTD], IMSG_KEYRING_SAVE,
	    0, -1, out.sbuf.data, out.sbuf.size) == -1)
		fatal("gossip: compose");
	mpack_out_free(&out);
	explicit_bzero(buf, sizeof(buf));
}

/*
 * The pool's keyring, as Consul builds it: the keyring file when there
 * is one (it holds rotations made since `encrypt` was written, so it
 * wins over it), else the `encrypt` key, saved as the first keyring.
 */
static void
keyring_setup(struct pool *p)
{
	struct config	*c = gossipd_child.conf;

	if (p->keyfile != NULL && c->disable_keyring_file) {
		explicit_bzero(p->keyfile, p->keyfilelen);
		free(p->keyfile);
		p->keyfile = NULL;
	}
	if (p->keyfile != NULL) {
		if ((p->kr = keyring_new()) == NULL)
			fatal("gossip");
		if (keyring_load(p->kr, p->keyfile, p->keyfilelen) == -1 ||
		    keyring_count(p->kr) == 0)
			fatalx("gossip: %s: the keyring file %s is not a "
			    "JSON list of base64 keys of 16, 24 or 32 bytes",
			    p->label, p->file);
		if (c->encrypt != NULL)
			log_warnx("gossip: %s: keyring file %s exists: the "
			    "\"encrypt\" key is ignored", p->label, p->file);
		explicit_bzero(p->keyfile, p->keyfilelen);
		free(p->keyfile);
		p->keyfile = NULL;
	} else if (c->encrypt != NULL) {
		if ((p->kr = keyring_new()) == NULL)
			fatal("gossip");
		if (keyring_install(p->kr, c->encrypt) != KEYRING_OK)
			fatalx("gossip: encrypt must be a base64 key of 16, "
			    "24 or 32 bytes");
		keyring_changed(p);
	} else
		return;
	keyring_set_verify(p->kr, c->encrypt_verify_incoming,
	    c->encrypt_verify_outgoing);
	log_info("gossip: %s: encrypted, %zu key%s, verify incoming %s, "
	    "outgoing %s", p->label, keyring_count(p->kr),
	    keyring_count(p->kr) == 1 ? "" : "s",
	    c->encrypt_verify_incoming ? "on" : "off",
	    c->encrypt_verify_outgoing ? "on" : "off");
}

static void
gossipd_dispatch_raftd(struct imsgev *iev, struct imsg *imsg)
{
	const char	*id;

	switch (imsg->hdr.type) {
	case IMSG_KEYRING_INIT:
		keyring_init(iev, imsg);
		break;
	case IMSG_GOSSIP_REQ:
		ops_request(iev, imsg);
		break;
	case IMSG_GOSSIP_REJOIN:
		rejoin_init(iev, imsg);
		break;
	case IMSG_NODE_ID:
		id = imsg->data;
		if (imsg->len < 2 || imsg->len > 64 ||
		    id[imsg->len - 1] != '\0' || pools[POOL_LAN].sw != NULL)
			fatalx("gossip: bad node id from raftd");
		pool_start(&pools[POOL_LAN], POOL_LAN, id);
		if (gossipd_child.conf->server)
			pool_start(&pools[POOL_WAN], POOL_WAN, id);
		break;
	default:
		fatalx("gossipd: unexpected type %u from raftd",
		    imsg->hdr.type);
	}
}

/* Outgoing push-pulls leave from our bind address (see DESIGN.md). */
static void
bind_address(const char *addr)
{
	struct swim_addr	 a;

	bind_sslen = 0;
	if (addr == NULL || addr_parse(addr, 0, &a) == -1)
		return;
	if ((a.family == AF_INET && memcmp(a.ip, "\0\0\0\0", 4) == 0) ||
	    (a.family == AF_INET6 && memcmp(a.ip, &in6addr_any, 16) == 0))
		return;
	bind_sslen = addr_to_sockaddr(&a, &bind_ss);
}

static void
gossipd_parent_msg(struct child *c, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_CTL_LEAVE:
		imsg_need_len(imsg, 0, "parent");
		ops_leave();
		break;
	default:
		fatalx("gossipd: unexpected type %u from parent",
		    imsg->hdr.type);
	}
}

int
main(int argc, char *argv[])
{
	struct child	*c = &gossipd_child;

	proc_child_start(c, PROC_GOSSIPD, argc, argv);
	c->parent_msg = gossipd_parent_msg;
	pools[POOL_LAN].kind = POOL_LAN;
	pools[POOL_WAN].kind = POOL_WAN;
	proc_child_peer(c, PROC_RAFTD, gossipd_dispatch_raftd);
	bind_address(c->conf->bind_addr);
	sandbox_enter(PROC_GOSSIPD, PROC_EMPTY_DIR, c->conf->user);
	proc_child_run(c);
	return 0;
}

