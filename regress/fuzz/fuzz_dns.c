/*
 * libFuzzer target for dnsd's wire codec and answers: the input is a
 * packet, answered over UDP and over TCP from a small view (nodes,
 * services, meta, a server) fed the messages raftd sends.  Whatever
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

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct dns_conf	 conf;
static struct feed	 feed;
static struct answerer	*ans;
static uint8_t		 out[DNS_MSG_MAX];

static void
node(const char *name, const char *addr, const char *svcaddr,
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
	if (feed_node(&feed, o.sbuf.data, o.sbuf.size) == -1)
		abort();
	mpack_out_free(&o);
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
	config_free(cfg);
	feed_init(&feed);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		snprintf(addr, sizeof(addr), "10.0.0.%d", i);
		node(name, addr, i % 3 == 0 ? "10.9.9.9" : i % 3 == 1 ?
		    "fd00::1" : NULL, i % 4 == 0 ? "warning" : "passing", i % 2);
	}
	node("h", "host.example", "svc.example", "passing", 1);
	mpack_out_init(&o);
	msgpack_pack_array(&o.pk, 2);
	msgpack_pack_uint64(&o.pk, 1);
	mpack_str(&o.pk, "dc1");
	if (feed_end(&feed, o.sbuf.data, o.sbuf.size) == -1)
		abort();
	mpack_out_free(&o);
	if ((ans = answerer_new(&conf, &feed)) == NULL)
		abort();
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
