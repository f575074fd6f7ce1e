/*
 * dnsd, the DNS child: Consul's DNS interface on :8600 (UDP and TCP).
 * It answers from the view of nodes, services and health that raftd
 * pushes to it (dns_proto.h, view.c), so a query never waits for
 * another process, and forwards other names to the recursors.  Names
 * of other datacenters are asked of raftd (remote.c).  It gets
 * its sockets from the parent and runs chrooted and unprivileged.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "dnsd.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"

static struct child	 dnsd_child;
static struct feed	 dnsd_feed;
static struct dns_conf	 dnsd_conf;
static struct recursors	 dnsd_recursors;
static struct remotes	 dnsd_remotes;
static struct answerer	*dnsd_answerer;
static struct server	*dnsd_server;
static struct event	*dnsd_stale_ev;
static int		 dnsd_serving;

/* No IMSG_DNS_END for max_stale: raftd's view can no longer be trusted. */
static void
dnsd_stale(evutil_socket_t fd, short events, void *arg)
{
	dnsd_feed.stale = 1;
	log_warnx("dns: no current view from raftd within max_stale, "
	    "answering SERVFAIL");
}

static void
dnsd_stale_arm(void)
{
	int64_t		 ns = dnsd_child.conf->dns_config.max_stale;
	struct timeval	 tv;

	if (ns <= 0)
		ns = 87600LL * 3600 * 1000000000LL;
	tv.tv_sec = ns / 1000000000LL;
	tv.tv_usec = (ns % 1000000000LL) / 1000;
	if (evtimer_add(dnsd_stale_ev, &tv) == -1)
		fatalx("dns: evtimer_add");
}

static void
dnsd_dispatch_raftd(struct imsgev *iev, struct imsg *imsg)
{
	int	 r, denied;

	switch (imsg->hdr.type) {
	case IMSG_DNS_BEGIN:
		r = feed_begin(&dnsd_feed, imsg->data, imsg->len);
		break;
	case IMSG_DNS_NODE:
		r = feed_node(&dnsd_feed, imsg->data, imsg->len);
		break;
	case IMSG_DNS_NODE_DEL:
		r = feed_node_del(&dnsd_feed, imsg->data, imsg->len);
		break;
	case IMSG_DNS_QUERY:
		r = feed_query(&dnsd_feed, imsg->data, imsg->len);
		break;
	case IMSG_DNS_QUERY_DEL:
		r = feed_query_del(&dnsd_feed, imsg->data, imsg->len);
		break;
	case IMSG_DNS_REMOTE_ITEM:
		remote_item(&dnsd_remotes, imsg->hdr.peerid, imsg->data,
		    imsg->len);
		r = 0;
		break;
	case IMSG_DNS_REMOTE_END:
		r = remote_end(&dnsd_remotes, imsg->hdr.peerid, imsg->data,
		    imsg->len);
		break;
	case IMSG_DNS_END:
		denied = dnsd_feed.denied;
		if ((r = feed_end(&dnsd_feed, imsg->data, imsg->len)) == -1)
			break;
		dnsd_stale_arm();
		if (dnsd_feed.denied && !denied)
			log_warnx("dns: the servers do not know the DNS token "
			    "(ACL not found): answering SERVFAIL");
		else if (!dnsd_feed.denied && denied)
			log_info("dns: the DNS token is known again");
		if (dnsd_feed.denied)
			break;
		if (!dnsd_serving) {
			dnsd_serving = 1;
			log_info("dns: answering from the catalog as of index "
			    "%llu", (unsigned long long)dnsd_feed.index);
		}
		break;
	default:
		fatalx("dnsd: unexpected type %u from %s", imsg->hdr.type,
		    iev->name);
	}
	if (r == -1)
		fatalx("dnsd: malformed view message %u from %s",
		    imsg->hdr.type, iev->name);
}

/* dns_config, domain and recursors apply on SIGHUP; on error the old stay. */
static void
dnsd_reload(struct child *c, struct config *conf)
{
	static struct dns_conf	 next;
	struct recursors	 rec;
	char			 err[256];

	memset(&rec, 0, sizeof(rec));
	if (dns_conf_load(&next, conf, err, sizeof(err)) == -1) {
		log_warnx("dns: reload: %s; keeping the old settings", err);
		return;
	}
	if (recursors_load(&rec, conf, err, sizeof(err)) == -1) {
		log_warnx("dns: reload: %s; keeping the old settings", err);
		dns_conf_free(&next);
		return;
	}
	dns_conf_free(&dnsd_conf);
	dnsd_conf = next;
	memset(&next, 0, sizeof(next));
	remotes_conf(&dnsd_remotes, conf);
	recursors_free(&dnsd_recursors);
	dnsd_recursors.addr = rec.addr;
	dnsd_recursors.naddr = rec.naddr;
	dnsd_recursors.random = rec.random;
	dnsd_recursors.timeout = rec.timeout;
	dnsd_recursors.bind = rec.bind;
	dnsd_recursors.bindlen = rec.bindlen;
}

int
main(int argc, char *argv[])
{
	struct child	*c = &dnsd_child;
	char		 err[256];
	int		 fd, nudp = 0, ntcp = 0;

	proc_child_start(c, PROC_DNSD, argc, argv);
	proc_child_peer(c, PROC_RAFTD, dnsd_dispatch_raftd);
	c->reload = dnsd_reload;
	feed_init(&dnsd_feed);
	if (dns_conf_load(&dnsd_conf, c->conf, err, sizeof(err)) == -1 ||
	    recursors_load(&dnsd_recursors, c->conf, err, sizeof(err)) == -1)
		fatalx("dns: %s", err);
	dnsd_recursors.base = c->base;
	if ((dnsd_answerer = answerer_new(&dnsd_conf, &dnsd_feed)) == NULL ||
	    (dnsd_server = server_new(c->base, dnsd_answerer,
	    &dnsd_recursors)) == NULL ||
	    (dnsd_stale_ev = evtimer_new(c->base, dnsd_stale, NULL)) == NULL)
		fatalx("dns: out of memory");
	remotes_init(&dnsd_remotes, c->base, &c->peers[PROC_RAFTD], c->conf);
	dnsd_answerer->remotes = &dnsd_remotes;
	while ((fd = proc_child_socket(c, SOCKET_DNS_UDP)) != -1) {
		server_add_udp(dnsd_server, fd);
		nudp++;
	}
	while ((fd = proc_child_socket(c, SOCKET_DNS_TCP)) != -1) {
		server_add_tcp(dnsd_server, fd);
		ntcp++;
	}
	/* jansson (prepared query definitions) seeds its hashes from
	 * /dev/urandom on first use: now, while dnsd may still open it. */
	json_object_seed(0);
	sandbox_enter(PROC_DNSD, PROC_EMPTY_DIR, c->conf->user);
	log_debug("dns: serving on %d udp and %d tcp sockets", nudp, ntcp);
	proc_child_run(c);
	server_free(dnsd_server);
	remotes_free(&dnsd_remotes);
	answerer_free(dnsd_answerer);
	event_free(dnsd_stale_ev);
	recursors_free(&dnsd_recursors);
	dns_conf_free(&dnsd_conf);
	feed_free(&dnsd_feed);
	return 0;
}
