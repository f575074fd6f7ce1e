/*
 * libFuzzer target for dnsd's wire codec and answers: the input is a
 * packet, answered over UDP and over TCP from a small view (nodes,
 * services, meta, a server) fed the messages raftd sends, and from
 * answers of datacenter dc2 in the cache (web, node r1).  Whatever
 * comes back must read back whole with dnsd's own reader, keep the
 * query's ID, and stay within the transport's bounds.
 *
 * run.sh links a fixed list of common sources, so dnsd's files and the
 * catalog codec are compiled in here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mpack.h"

#include "../../common/catalog_codec.c"
#include "../../dnsd/wire.c"
#include "../../dnsd/view.c"
#include "../../dnsd/query.c"
#include "../../dnsd/answer.c"
#include "../../common/imsgev.c"
#include "../../dnsd/remote.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct dns_conf	 conf;
static struct feed	 feed;
static struct answerer	*ans;
static uint8_t		 out[DNS_MSG_MAX];

static void
node(struct feed *f, const char *name, const char *addr, const char *svcaddr,
    const char *status, int meta)
{
	struct mpack_out	 o;
	struct cat_node		 n;
	struct cat_service	 s;
	struct cat_kv		 kv = { "rack", "r1" };
	char			*tags[1] = { "v1" };

	memset(&n, 0, sizeof(n));
	n.node = (char *)name;
	n.address = (char *)addr;
	if (meta) {
		n.meta = &kv;
		n.nmeta = 1;
	}
	memset(&s, 0, sizeof(s));
	s.node = (char *)name;
	s.id = "web";
	s.service = "web";
	s.address = (char *)svcaddr;
	s.port = 80;
	s.tags = tags;
	s.ntags = 1;
	s.weight_passing = s.weight_warning = 1;
	mpack_out_init(&o);
	msgpack_pack_array(&o.pk, 3);
	cat_node_pack(&o.pk, &n);
	mpack_str(&o.pk, "passing");
	msgpack_pack_array(&o.pk, 2);
	msgpack_pack_array(&o.pk, 2);
	cat_service_pack(&o.pk, &s);
	mpack_str(&o.pk, status);
	s.id = s.service = "consul";
	msgpack_pack_array(&o.pk, 2);
	cat_service_pack(&o.pk, &s);
	mpack_str(&o.pk, "passing");
	if (feed_node(f, o.sbuf.data, o.sbuf.size) == -1)
		abort();
	mpack_out_free(&o);
}

/*
 * An answer of datacenter dc2 in the cache for good (remote.c's own
 * structures: it is compiled in), so that its names are answered.
 */
static struct remotes	 rem;

static void
remote_inject(int kind, const char *name)
{
	struct remote_entry	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		abort();
	e->r = &rem;
	e->kind = kind;
	strlcpy(e->dc, "dc2", sizeof(e->dc));
	strlcpy(e->name, name, sizeof(e->name));
	TAILQ_INIT(&e->waits);
	feed_init(&e->feed);
	node(&e->feed, "r1", "10.2.0.1", NULL, "passing", 1);
	node(&e->feed, "r2", "10.2.0.2", "10.2.9.9", "warning", 0);
	if (feed_end(&e->feed, "\x92\x00\xa0", 3) == -1)
		abort();
	e->status = REMOTE_OK;
	e->expires = UINT64_MAX;
	RB_INSERT(remote_tree, &rem.tree, e);
	TAILQ_INSERT_TAIL(&rem.done, e, pend);
	rem.n++;
}

static void
init(void)
{
	struct config		*cfg;
	struct mpack_out	 o;
	char			 err[128];
	int			 i;
	char			 name[16], addr[32];

	cfg = config_new(0);
	cfg->alt_domain = strdup("alt");
	if (dns_conf_load(&conf, cfg, err, sizeof(err)) == -1)
		abort();
	remotes_init(&rem, NULL, NULL, cfg);
	config_free(cfg);
	feed_init(&feed);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		snprintf(addr, sizeof(addr), "10.0.0.%d", i);
		node(&feed, name, addr, i % 3 == 0 ? "10.9.9.9" : i % 3 == 1 ?
		    "fd00::1" : NULL, i % 4 == 0 ? "warning" : "passing", i % 2);
	}
	node(&feed, "h", "host.example", "svc.example", "passing", 1);
	mpack_out_init(&o);
	msgpack_pack_array(&o.pk, 2);
	msgpack_pack_uint64(&o.pk, 1);
	mpack_str(&o.pk, "dc1");
	if (feed_end(&feed, o.sbuf.data, o.sbuf.size) == -1)
		abort();
	mpack_out_free(&o);
	if ((ans = answerer_new(&conf, &feed)) == NULL)
		abort();
	remote_inject(DNS_REMOTE_SERVICE, "web");
	remote_inject(DNS_REMOTE_NODE, "r1");
	ans->remotes = &rem;
}

static void
check(const uint8_t *data, size_t size, const struct dns_query *q,
    size_t len, int tcp)
{
	struct dns_reader	 r;
	struct dns_rr_in	 rr;
	int			 n;

	if (len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		abort();
	if (memcmp(out, data, 2) != 0 || !(out[2] & 0x80))
		abort();
	if (!tcp && !q->edns && q->rcode == DNS_R_NOERROR &&
	    len > DNS_UDP_MIN && out[7] > 1)
		abort();
	if (dns_reader_init(&r, out, len) == -1)
		abort();
	while ((n = dns_reader_next(&r, &rr)) == 1)
		;
	if (n == -1 || r.off != len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query	 q;
	size_t			 len;
	int			 tcp;

	if (ans == NULL)
		init();
	for (tcp = 0; tcp < 2; tcp++) {
		if (answer_query(ans, data, size, tcp, &q, out, sizeof(out),
		    &len) == ANSWER_REPLY)
			check(data, size, &q, len, tcp);
	}
	return 0;
}
