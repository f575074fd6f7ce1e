/*
 * dnsd's view and answers (dnsd/view.c, answer.c, wire.c compiled in):
 * the view is fed the very messages raftd sends (dns_proto.h, built with
 * the catalog codecs), queries are built and answers read back with the
 * wire codec, and every record of an answer is checked as text.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#include "config.h"
#include "dns_proto.h"
#include "imsgev.h"
#include "mpack.h"

#include "../../dnsd/wire.c"
#include "../../dnsd/view.c"
#include "../../dnsd/query.c"
#include "../../dnsd/answer.c"
#include "../../dnsd/remote.c"

#define ROWS_MAX	128

struct resp {
	int		 result;	/* enum answer_result */
	int		 rcode;
	uint16_t	 flags;
	uint16_t	 count[DNS_S_MAX];
	size_t		 len;
	char		 row[ROWS_MAX][5 * DNS_NAME_TEXT_MAX];
	size_t		 nrow;
};

struct tinst {
	const char	*id;
	const char	*service;
	const char	*address;
	int		 port;
	const char	*tag;
	const char	*status;
	int		 wp;
	int		 ww;
};

static struct config	*cfg;
static struct dns_conf	 dc;
static struct feed	 feed;
static struct answerer	*ans;
static struct resp	 R;
static uint8_t		 outbuf[DNS_MSG_MAX];
/* Set: msg_node() packs the node here instead of feeding it. */
static struct mpack_out	*node_out;

static void
setup(void (*tweak)(struct config *))
{
	char	 err[128];

	cfg = config_new(0);
	if (tweak != NULL)
		tweak(cfg);
	if (dns_conf_load(&dc, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "# %s\n", err);
		abort();
	}
	feed_init(&feed);
	ans = answerer_new(&dc, &feed);
}

static void
teardown(void)
{
	answerer_free(ans);
	feed_free(&feed);
	dns_conf_free(&dc);
	config_free(cfg);
}

static int
msg_begin(void)
{
	struct mpack_out	 o;
	int			 r;

	mpack_out_init(&o);
	msgpack_pack_array(&o.pk, 0);
	r = feed_begin(&feed, o.sbuf.data, o.sbuf.size);
	mpack_out_free(&o);
	return r;
}

/* The end of a batch; denied: the servers did not know the DNS token. */
static int
msg_end_denied(uint64_t index, int denied)
{
	struct mpack_out	 o;
	int			 r;

	mpack_out_init(&o);
	msgpack_pack_array(&o.pk, denied ? 3 : 2);
	msgpack_pack_uint64(&o.pk, index);
	mpack_str(&o.pk, "dc1");
	if (denied)
		msgpack_pack_true(&o.pk);
	r = feed_end(&feed, o.sbuf.data, o.sbuf.size);
	mpack_out_free(&o);
	return r;
}

static int
msg_end(uint64_t index)
{
	return msg_end_denied(index, 0);
}

static int
msg_end_junk(void)
{
	struct mpack_out	 o;
	int			 r;

	/* A third element that is not a boolean. */
	mpack_out_init(&o);
	msgpack_pack_array(&o.pk, 3);
	msgpack_pack_uint64(&o.pk, 9);
	mpack_str(&o.pk, "dc1");
	mpack_str(&o.pk, "yes");
	r = feed_end(&feed, o.sbuf.data, o.sbuf.size);
	mpack_out_free(&o);
	return r;
}

static int
msg_del(const char *name)
{
	struct mpack_out	 o;
	int			 r;

	mpack_out_init(&o);
	mpack_str(&o.pk, name);
	r = feed_node_del(&feed, o.sbuf.data, o.sbuf.size);
	mpack_out_free(&o);
	return r;
}

/* IMSG_DNS_NODE; meta is "k", "v", ... NULL. */
static int
msg_node(const char *name, const char *addr, const char *const *meta,
    const char *status, const struct tinst *in, size_t n)
{
	struct mpack_out	 o;
	struct cat_node		 node;
	struct cat_service	 svc;
	struct cat_kv		 kv[8];
	char			*tags[1];
	size_t			 i;
	int			 r;

	memset(&node, 0, sizeof(node));
	node.node = (char *)name;
	node.address = (char *)addr;
	node.datacenter = "dc1";
	for (i = 0; meta != NULL && meta[2 * i] != NULL && i < 8; i++) {
		kv[i].key = (char *)meta[2 * i];
		kv[i].value = (char *)meta[2 * i + 1];
	}
	node.meta = i > 0 ? kv : NULL;
	node.nmeta = i;
	mpack_out_init(&o);
	msgpack_pack_array(&o.pk, 3);
	cat_node_pack(&o.pk, &node);
	mpack_str(&o.pk, status);
	msgpack_pack_array(&o.pk, n);
	for (i = 0; i < n; i++) {
		memset(&svc, 0, sizeof(svc));
		svc.node = (char *)name;
		svc.id = (char *)in[i].id;
		svc.service = (char *)in[i].service;
		svc.address = (char *)in[i].address;
		svc.port = (uint64_t)in[i].port;
		svc.weight_passing = in[i].wp ? in[i].wp : 1;
		svc.weight_warning = in[i].ww ? in[i].ww : 1;
		if (in[i].tag != NULL) {
			tags[0] = (char *)in[i].tag;
			svc.tags = tags;
			svc.ntags = 1;
		}
		msgpack_pack_array(&o.pk, 2);
		cat_service_pack(&o.pk, &svc);
		mpack_str(&o.pk, in[i].status != NULL ? in[i].status :
		    "passing");
	}
	if (node_out != NULL) {
		msgpack_sbuffer_write(&node_out->sbuf, o.sbuf.data,
		    o.sbuf.size);
		r = 0;
	} else
		r = feed_node(&feed, o.sbuf.data, o.sbuf.size);
	mpack_out_free(&o);
	return r;
}

static const char *
type_name(uint16_t t)
{
	switch (t) {
	case DNS_T_A:		return "A";
	case DNS_T_NS:		return "NS";
	case DNS_T_CNAME:	return "CNAME";
	case DNS_T_SOA:		return "SOA";
	case DNS_T_PTR:		return "PTR";
	case DNS_T_TXT:		return "TXT";
	case DNS_T_AAAA:	return "AAAA";
	case DNS_T_SRV:		return "SRV";
	case DNS_T_OPT:		return "OPT";
	}
	return "?";
}

/* One record as "SEC owner ttl TYPE data". */
static void
row(const uint8_t *p, size_t len, const struct dns_rr_in *rr, char *out,
    size_t cap)
{
	static const char *const sec[] = { "QD", "AN", "NS", "AR" };
	char		 owner[DNS_NAME_TEXT_MAX], a[DNS_NAME_TEXT_MAX];
	char		 b[DNS_NAME_TEXT_MAX], data[3 * DNS_NAME_TEXT_MAX];
	uint8_t		 name[DNS_NAME_MAX];
	const uint8_t	*d = p + rr->rdoff;
	size_t		 off, nlen, i, w;

	dns_name_to_text(rr->name, rr->name_len, owner, sizeof(owner));
	data[0] = '\0';
	switch (rr->type) {
	case DNS_T_A:
		inet_ntop(AF_INET, d, data, sizeof(data));
		break;
	case DNS_T_AAAA:
		inet_ntop(AF_INET6, d, data, sizeof(data));
		break;
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		off = rr->rdoff;
		if (dns_name_read(p, len, &off, name, &nlen) == 0)
			dns_name_to_text(name, nlen, data, sizeof(data));
		break;
	case DNS_T_SRV:
		off = rr->rdoff + 6;
		if (dns_name_read(p, len, &off, name, &nlen) == 0)
			dns_name_to_text(name, nlen, a, sizeof(a));
		snprintf(data, sizeof(data), "%u %u %u %s", d[0] << 8 | d[1],
		    d[2] << 8 | d[3], d[4] << 8 | d[5], a);
		break;
	case DNS_T_SOA:
		off = rr->rdoff;
		if (dns_name_read(p, len, &off, name, &nlen) == 0)
			dns_name_to_text(name, nlen, a, sizeof(a));
		if (dns_name_read(p, len, &off, name, &nlen) == 0)
			dns_name_to_text(name, nlen, b, sizeof(b));
		snprintf(data, sizeof(data), "%s %s %u %u %u %u", a, b,
		    (unsigned)get32(p + off + 4), (unsigned)get32(p + off + 8),
		    (unsigned)get32(p + off + 12),
		    (unsigned)get32(p + off + 16));
		break;
	case DNS_T_TXT:
		for (i = 0, w = 0; i < rr->rdlen && w < sizeof(data) - 2;
		    i += 1 + d[i]) {
			w += (size_t)snprintf(data + w, sizeof(data) - w,
			    "%s\"%.*s\"", i > 0 ? " " : "", d[i],
			    (const char *)d + i + 1);
		}
		break;
	case DNS_T_OPT:
		snprintf(data, sizeof(data), "%u ext=%u len=%u", rr->class,
		    (unsigned)(rr->ttl >> 24), rr->rdlen);
		break;
	}
	snprintf(out, cap, "%s %s %u %s %s", sec[rr->section], owner,
	    rr->section == DNS_S_AR && rr->type == DNS_T_OPT ? 0 :
	    (unsigned)rr->ttl, type_name(rr->type), data);
}

static void
parse_resp(const uint8_t *p, size_t len)
{
	struct dns_reader	 r;
	struct dns_rr_in	 rr;
	int			 n;

	R.len = len;
	if (dns_reader_init(&r, p, len) == -1) {
		R.rcode = -1;
		return;
	}
	R.flags = r.flags;
	R.rcode = r.flags & DNS_F_RCODE;
	memcpy(R.count, r.count, sizeof(R.count));
	while ((n = dns_reader_next(&r, &rr)) == 1) {
		if (rr.section == DNS_S_QD || R.nrow >= ROWS_MAX)
			continue;
		row(p, len, &rr, R.row[R.nrow++], sizeof(R.row[0]));
	}
	if (n == -1 || r.off != len)
		R.rcode = -2;	/* our own output must read back whole */
}

#define UDP		0
#define TCP		1

/* Ask name/qtype over udp or tcp, with EDNS when edns > 0. */
static struct resp *
ask_full(const char *name, uint16_t qtype, uint16_t qclass, int tcp,
    int edns)
{
	uint8_t		 q[DNS_MSG_MAX], wname[DNS_NAME_MAX];
	struct dns_out	 o;
	struct dns_query dq;
	size_t		 outlen = 0;
	int		 n;

	memset(&R, 0, sizeof(R));
	n = dns_name_from_text(name, wname, sizeof(wname));
	dns_out_init(&o, q, sizeof(q), 0);
	if (n == -1 || dns_out_header(&o, 0x4242, DNS_F_RD) == -1 ||
	    dns_out_question(&o, wname, (size_t)n, qtype, qclass) == -1 ||
	    (edns > 0 && dns_out_opt(&o, (uint16_t)edns, 0, NULL) == -1))
		abort();
	dns_out_finish(&o);
	R.result = answer_query(ans, q, o.len, tcp, &dq, outbuf,
	    sizeof(outbuf), &outlen);
	if (R.result == ANSWER_REPLY)
		parse_resp(outbuf, outlen);
	return &R;
}

static struct resp *
ask(const char *name, uint16_t qtype)
{
	return ask_full(name, qtype, DNS_C_IN, UDP, 0);
}

static int
has(const char *want)
{
	size_t	 i;

	for (i = 0; i < R.nrow; i++)
		if (strcmp(R.row[i], want) == 0)
			return 1;
	fprintf(stderr, "# no row \"%s\" among %zu:\n", want, R.nrow);
	for (i = 0; i < R.nrow; i++)
		fprintf(stderr, "#   %s\n", R.row[i]);
	return 0;
}

static const struct tinst web3[] = {
	{ "web", "web", NULL, 80, "v1", NULL, 0, 0 },
};

/* Three nodes, a server, web on two, one critical; db with an address. */
static void
load_basic(void)
{
	static const char *const meta1[] = { "rack", "r1", "a=b", "c",
	    "rfc1035-x", "raw", NULL };
	static const struct tinst n1[] = {
		{ "web", "web", NULL, 80, "v1", "passing", 5, 2 },
		{ "db", "db", "10.9.9.9", 5432, NULL, "passing", 0, 0 },
	};
	static const struct tinst n2[] = {
		{ "web", "web", NULL, 81, "v2", "warning", 5, 2 },
	};
	static const struct tinst n3[] = {
		{ "web", "web", NULL, 82, "v1", "critical", 0, 0 },
	};
	static const struct tinst srv[] = {
		{ "consul", "consul", NULL, 8300, NULL, NULL, 0, 0 },
	};

	CHECK(msg_begin() == 0);
	CHECK(msg_node("n1", "10.0.0.1", meta1, "passing", n1, 2) == 0);
	CHECK(msg_node("n2", "fd00::2", NULL, "passing", n2, 1) == 0);
	CHECK(msg_node("n3", "10.0.0.3", NULL, "critical", n3, 1) == 0);
	CHECK(msg_node("server1", "10.0.0.10", NULL, "passing", srv, 1) ==
	    0);
	CHECK(msg_node("hosty", "host.example.", NULL, "passing", NULL, 0) ==
	    0);
	CHECK(msg_end(42) == 0);
}

static void
test_no_view(void)
{
	setup(NULL);
	ask("web.service.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_SERVFAIL);
	ask("n1.node.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_SERVFAIL);
	ask("consul", DNS_T_NS);
	CHECK(R.rcode == DNS_R_SERVFAIL);
	/* Neither SOA nor addr need the view. */
	ask("consul", DNS_T_SOA);
	CHECK(R.rcode == DNS_R_NOERROR && (R.flags & DNS_F_AA));
	CHECK(R.count[DNS_S_AN] == 1 && R.count[DNS_S_NS] == 0);
	CHECK(strncmp(R.row[0], "AN consul. 0 SOA ns.consul. hostmaster."
	    "consul. 3600 600 86400 0", 80) == 0);
	ask("0a000001.addr.dc1.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NOERROR && has("AN 0a000001.addr.dc1.consul. "
	    "0 A 10.0.0.1"));
	/* Nodes that arrive before any IMSG_DNS_END are not answered yet. */
	CHECK(msg_node("n1", "10.0.0.1", NULL, "passing", web3, 1) == 0);
	ask("n1.node.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_SERVFAIL);
	CHECK(msg_end(1) == 0);
	ask("n1.node.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NOERROR && has("AN n1.node.consul. 0 A "
	    "10.0.0.1"));
	teardown();
}

static void
test_node(void)
{
	setup(NULL);
	load_basic();
	ask("n1.node.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NOERROR && (R.flags & DNS_F_AA));
	CHECK(!(R.flags & DNS_F_RA));
	CHECK(R.count[DNS_S_AN] == 1 && R.count[DNS_S_NS] == 0);
	CHECK(has("AN n1.node.consul. 0 A 10.0.0.1"));
	/* Node meta in the additional section, RFC 1464. */
	CHECK(R.count[DNS_S_AR] == 3);
	CHECK(has("AR n1.node.consul. 0 TXT \"rack=r1\""));
	CHECK(has("AR n1.node.consul. 0 TXT \"a`=b=c\""));
	CHECK(has("AR n1.node.consul. 0 TXT \"raw\""));
	/* Any case, the datacenter, "<dc>.dc", a trailing dot or not. */
	ask("N1.NODE.DC1.Consul.", DNS_T_A);
	CHECK(R.rcode == DNS_R_NOERROR && has("AN N1.NODE.DC1.Consul. 0 A "
	    "10.0.0.1"));
	ask("n1.node.dc1.dc.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 1);
	/* Another datacenter: none can be asked here (test_remote_dc). */
	ask("n1.node.dc2.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_SERVFAIL);
	/* No record of the type: NOERROR and no SOA, for nodes. */
	ask("n1.node.consul", DNS_T_AAAA);
	CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 0 &&
	    R.count[DNS_S_NS] == 0);
	ask("n1.node.consul", 15);
	CHECK(R.rcode == DNS_R_NOERROR && R.nrow == 0);
	ask("n2.node.consul", DNS_T_AAAA);
	CHECK(has("AN n2.node.consul. 0 AAAA fd00::2"));
	ask("n1.node.consul", DNS_T_TXT);
	CHECK(R.count[DNS_S_AN] == 3 && has("AN n1.node.consul. 0 TXT "
	    "\"rack=r1\""));
	/* Four records: over plain UDP only udp_answer_limit of them. */
	ask("n1.node.consul", DNS_T_ANY);
	CHECK(R.count[DNS_S_AN] == 3);
	ask_full("n1.node.consul", DNS_T_ANY, DNS_C_IN, TCP, 0);
	CHECK(R.count[DNS_S_AN] == 4 && has("AN n1.node.consul. 0 A "
	    "10.0.0.1"));
	ask("hosty.node.consul", DNS_T_A);
	CHECK(has("AN hosty.node.consul. 0 CNAME host.example."));
	/* Unknown: NXDOMAIN with the SOA. */
	ask("nope.node.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NXDOMAIN && R.count[DNS_S_NS] == 1);
	CHECK(strncmp(R.row[0], "NS consul. 0 SOA ns.consul. ", 28) == 0);
	ask("node.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	ask("whatever.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	ask("x.query.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	teardown();
}

static void
test_service(void)
{
	size_t	 i;
	int	 first_n1 = 0, first_other = 0;

	setup(NULL);
	load_basic();
	/* n3's instance is critical: gone; n2's warning stays. */
	ask("web.service.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 1);
	CHECK(has("AN web.service.consul. 0 A 10.0.0.1"));
	CHECK(R.count[DNS_S_AR] == 0);	/* no meta TXT for services */
	ask("web.service.consul", DNS_T_AAAA);
	CHECK(R.count[DNS_S_AN] == 1 && has("AN web.service.consul. 0 AAAA "
	    "fd00::2"));
	ask("web.service.consul", DNS_T_ANY);
	CHECK(R.count[DNS_S_AN] == 2);
	ask("web.service.consul", DNS_T_TXT);
	CHECK(R.count[DNS_S_AN] == 2);
	/* Tags. */
	ask("v2.web.service.consul", DNS_T_AAAA);
	CHECK(R.count[DNS_S_AN] == 1);
	ask("V1.web.service.dc1.consul", DNS_T_A);
	CHECK(R.count[DNS_S_AN] == 1);
	ask("v3.web.service.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	/* The service's own address; NODATA with the SOA for AAAA. */
	ask("db.service.consul", DNS_T_A);
	CHECK(has("AN db.service.consul. 0 A 10.9.9.9"));
	ask("db.service.consul", DNS_T_AAAA);
	CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 0 &&
	    R.count[DNS_S_NS] == 1);
	ask("nope.service.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NXDOMAIN && R.count[DNS_S_NS] == 1);
	/* Shuffled per response. */
	for (i = 0; i < 60; i++) {
		ask("web.service.consul", DNS_T_ANY);
		if (strstr(R.row[0], "10.0.0.1") != NULL)
			first_n1++;
		else
			first_other++;
	}
	CHECK(first_n1 > 0 && first_other > 0);
	teardown();
}

static void
test_srv(void)
{
	setup(NULL);
	load_basic();
	ask("web.service.consul", DNS_T_SRV);
	CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 2);
	CHECK(has("AN web.service.consul. 0 SRV 1 5 80 "
	    "n1.node.dc1.consul."));
	CHECK(has("AN web.service.consul. 0 SRV 1 2 81 "
	    "n2.node.dc1.consul."));
	CHECK(has("AR n1.node.dc1.consul. 0 A 10.0.0.1"));
	CHECK(has("AR n2.node.dc1.consul. 0 AAAA fd00::2"));
	CHECK(has("AR n1.node.dc1.consul. 0 TXT \"rack=r1\""));
	CHECK(R.count[DNS_S_AR] == 5);
	/* An IP service address: an addr target. */
	ask("db.service.consul", DNS_T_SRV);
	CHECK(has("AN db.service.consul. 0 SRV 1 1 5432 "
	    "0a090909.addr.dc1.consul."));
	CHECK(has("AR 0a090909.addr.dc1.consul. 0 A 10.9.9.9"));
	CHECK(R.count[DNS_S_AR] == 1);
	/* RFC 2782 forms, and the implied "service". */
	ask("_web._tcp.service.consul", DNS_T_SRV);
	CHECK(R.count[DNS_S_AN] == 2);
	ask("_web._v2.service.consul", DNS_T_SRV);
	CHECK(R.count[DNS_S_AN] == 1 && has("AN _web._v2.service.consul. 0 "
	    "SRV 1 2 81 n2.node.dc1.consul."));
	ask("_web._tcp.consul", DNS_T_SRV);
	CHECK(R.count[DNS_S_AN] == 2);
	ask("_web._tcp.dc1.consul", DNS_T_SRV);
	CHECK(R.count[DNS_S_AN] == 2);
	ask("_web._tcp.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	teardown();
}

static void
only_passing(struct config *c)
{
	c->dns_config.only_passing = 1;
	c->dns_config.enable_additional_node_meta_txt = 0;
}

static void
test_only_passing(void)
{
	setup(only_passing);
	load_basic();
	ask("web.service.consul", DNS_T_SRV);
	CHECK(R.count[DNS_S_AN] == 1 && has("AN web.service.consul. 0 SRV "
	    "1 5 80 n1.node.dc1.consul."));
	CHECK(R.count[DNS_S_AR] == 1);	/* no meta TXT */
	ask("v2.web.service.consul", DNS_T_AAAA);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	ask("n1.node.consul", DNS_T_A);
	CHECK(R.count[DNS_S_AR] == 0);
	teardown();
}

static void
test_soa_ns(void)
{
	setup(NULL);
	load_basic();
	ask("consul", DNS_T_NS);
	CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 1);
	CHECK(has("AN consul. 0 NS server1.node.dc1.consul."));
	CHECK(has("AR server1.node.dc1.consul. 0 A 10.0.0.10"));
	ask("nosuch.service.consul", DNS_T_SOA);
	CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 1 &&
	    R.count[DNS_S_NS] == 1 && R.count[DNS_S_AR] == 1);
	CHECK(has("NS consul. 0 NS server1.node.dc1.consul."));
	CHECK(has("AR server1.node.dc1.consul. 0 A 10.0.0.10"));
	ask("web.service.consul", DNS_T_NS);
	CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 1);
	teardown();
}

static void
test_ptr(void)
{
	setup(NULL);
	load_basic();
	ask("1.0.0.10.in-addr.arpa", DNS_T_PTR);
	CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 1);
	CHECK(has("AN 1.0.0.10.in-addr.arpa. 0 PTR n1.node.dc1.consul."));
	ask("9.9.9.10.in-addr.arpa", DNS_T_PTR);
	CHECK(has("AN 9.9.9.10.in-addr.arpa. 0 PTR db.service.dc1.consul."));
	ask("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f."
	    "ip6.arpa", DNS_T_PTR);
	CHECK(R.count[DNS_S_AN] == 1 && strstr(R.row[0],
	    "PTR n2.node.dc1.consul.") != NULL);
	ask("7.7.7.7.in-addr.arpa", DNS_T_PTR);
	CHECK(R.rcode == DNS_R_NXDOMAIN && R.count[DNS_S_NS] == 1);
	ask("01.0.0.10.in-addr.arpa", DNS_T_PTR);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	ask("0.10.in-addr.arpa", DNS_T_PTR);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	teardown();
}

static void
ttls(struct config *c)
{
	static struct config_durkv	 kv[3] = {
		{ "web", 5000000000LL },
		{ "d*", 7000000000LL },
		{ "*", 9000000000LL },
	};

	c->dns_config.node_ttl = 3000000000LL;
	c->dns_config.service_ttl.v = kv;
	c->dns_config.service_ttl.n = 3;
}

static void
test_ttl(void)
{
	setup(ttls);
	/* The table belongs to this test, not to the config. */
	cfg->dns_config.service_ttl.v = NULL;
	cfg->dns_config.service_ttl.n = 0;
	load_basic();
	ask("n1.node.consul", DNS_T_A);
	CHECK(has("AN n1.node.consul. 3 A 10.0.0.1"));
	ask("WEB.service.consul", DNS_T_A);
	CHECK(has("AN WEB.service.consul. 5 A 10.0.0.1"));
	ask("db.service.consul", DNS_T_A);
	CHECK(has("AN db.service.consul. 7 A 10.9.9.9"));
	ask("consul.service.consul", DNS_T_A);
	CHECK(has("AN consul.service.consul. 9 A 10.0.0.10"));
	ask("1.0.0.10.in-addr.arpa", DNS_T_PTR);
	CHECK(has("AN 1.0.0.10.in-addr.arpa. 0 PTR n1.node.dc1.consul."));
	ask("consul", DNS_T_NS);
	CHECK(has("AN consul. 3 NS server1.node.dc1.consul."));
	teardown();
}

/* many instances of "big", on nodes b0..b(n-1) at 10.1.0.x. */
static void
load_big(int n)
{
	static const struct tinst big[] = {
		{ "big", "big", NULL, 9000, NULL, NULL, 0, 0 },
	};
	static const char *const meta[] = { "k", "v", NULL };
	char	 name[32], addr[32];
	int	 i;

	CHECK(msg_begin() == 0);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		snprintf(addr, sizeof(addr), "10.1.%d.%d", i / 200, i % 200);
		CHECK(msg_node(name, addr, meta, "passing", big, 1) == 0);
	}
	CHECK(msg_end(7) == 0);
}

static void
test_sizes(void)
{
	setup(NULL);
	load_big(40);
	/* Plain UDP: udp_answer_limit (3), silently. */
	ask("big.service.consul", DNS_T_A);
	CHECK(R.count[DNS_S_AN] == 3 && !(R.flags & DNS_F_TC));
	ask("big.service.consul", DNS_T_SRV);
	CHECK(R.count[DNS_S_AN] == 3 && !(R.flags & DNS_F_TC));
	/* Trimmed: the meta TXT go, the addresses stay with their SRV. */
	CHECK(R.count[DNS_S_AR] == 3);
	CHECK(R.len <= 512);
	/* EDNS: up to the size the client gives. */
	ask_full("big.service.consul", DNS_T_A, DNS_C_IN, UDP, 4096);
	CHECK(R.count[DNS_S_AN] == 40 && R.count[DNS_S_AR] == 1);
	CHECK(has("AR . 0 OPT 4096 ext=0 len=0"));
	ask_full("big.service.consul", DNS_T_SRV, DNS_C_IN, UDP, 1232);
	CHECK(R.count[DNS_S_AN] > 3 && R.count[DNS_S_AN] < 40);
	CHECK(R.len <= 1232);
	CHECK(R.count[DNS_S_AR] == R.count[DNS_S_AN] + 1);
	/* TCP: everything, meta too. */
	ask_full("big.service.consul", DNS_T_SRV, DNS_C_IN, TCP, 0);
	CHECK(R.count[DNS_S_AN] == 40 && R.count[DNS_S_AR] == 80);
	CHECK(!(R.flags & DNS_F_TC));
	teardown();
}

/*
 * A service larger than any before grows the dedup set in the middle
 * of a query: that query must still dedup.  300 instances on 300 nodes
 * share one service address: one A record, the first time too.
 */
static void
test_dedup_after_growth(void)
{
	static const struct tinst dup[] = {
		{ "dup", "dup", "10.5.5.5", 9000, NULL, NULL, 0, 0 },
	};
	char	 name[32], addr[32];
	int	 i;

	setup(NULL);
	CHECK(msg_begin() == 0);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		snprintf(addr, sizeof(addr), "10.2.%d.%d", i / 200, i % 200);
		CHECK(msg_node(name, addr, NULL, "passing", dup, 1) == 0);
	}
	CHECK(msg_end(9) == 0);
	ask_full("dup.service.consul", DNS_T_A, DNS_C_IN, TCP, 0);
	CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 1);
	CHECK(has("AN dup.service.consul. 0 A 10.5.5.5"));
	ask_full("dup.service.consul", DNS_T_A, DNS_C_IN, TCP, 0);
	CHECK(R.count[DNS_S_AN] == 1);
	teardown();
}

static void
truncating(struct config *c)
{
	c->dns_config.enable_truncate = 1;
	c->dns_config.a_record_limit = 5;
	c->dns_config.udp_answer_limit = 20;
	c->dns_config.disable_compression = 1;
}

static void
test_truncate(void)
{
	setup(truncating);
	load_big(40);
	/* udp_answer_limit is capped at 8. */
	ask("big.service.consul", DNS_T_SRV);
	CHECK(R.count[DNS_S_AN] <= 8 && (R.flags & DNS_F_TC));
	CHECK(R.len <= 512);
	/* a_record_limit caps A answers; no TC for that. */
	ask_full("big.service.consul", DNS_T_A, DNS_C_IN, UDP, 4096);
	CHECK(R.count[DNS_S_AN] == 5 && !(R.flags & DNS_F_TC));
	ask_full("big.service.consul", DNS_T_A, DNS_C_IN, TCP, 0);
	CHECK(R.count[DNS_S_AN] == 5);
	ask_full("big.service.consul", DNS_T_SRV, DNS_C_IN, TCP, 0);
	CHECK(R.count[DNS_S_AN] == 40 && !(R.flags & DNS_F_TC));
	teardown();
}

static void
test_compression(void)
{
	size_t	 with, without;

	setup(NULL);
	load_big(10);
	ask_full("big.service.consul", DNS_T_SRV, DNS_C_IN, TCP, 0);
	with = R.len;
	CHECK(R.count[DNS_S_AN] == 10);
	teardown();
	setup(truncating);
	load_big(10);
	ask_full("big.service.consul", DNS_T_SRV, DNS_C_IN, TCP, 0);
	without = R.len;
	CHECK(R.count[DNS_S_AN] == 10 && R.count[DNS_S_AR] == 20);
	CHECK(with < without);
	teardown();
}

static void
test_updates(void)
{
	static const struct tinst crit[] = {
		{ "web", "web", NULL, 80, "v1", "critical", 0, 0 },
	};

	setup(NULL);
	load_basic();
	/* A node outside a copy replaces that node at once. */
	CHECK(msg_node("n1", "10.0.0.1", NULL, "passing", crit, 1) == 0);
	ask("web.service.consul", DNS_T_ANY);
	CHECK(R.count[DNS_S_AN] == 1 && has("AN web.service.consul. 0 AAAA "
	    "fd00::2"));
	ask("v1.web.service.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	ask("db.service.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NXDOMAIN);	/* gone with its node's list */
	ask("n1.node.consul", DNS_T_A);
	CHECK(R.count[DNS_S_AR] == 0);		/* the new node has no meta */
	ask("9.9.9.10.in-addr.arpa", DNS_T_PTR);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	CHECK(msg_del("N2") == 0);
	ask("n2.node.consul", DNS_T_AAAA);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	CHECK(msg_del("never") == 0);
	/* During a copy the old view answers; at its end the copy does. */
	CHECK(msg_begin() == 0);
	CHECK(msg_node("fresh", "10.5.5.5", NULL, "passing", web3, 1) == 0);
	ask("fresh.node.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	ask("n3.node.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 1);
	CHECK(msg_end(50) == 0);
	ask("fresh.node.consul", DNS_T_A);
	CHECK(has("AN fresh.node.consul. 0 A 10.5.5.5"));
	ask("n3.node.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	ask("web.service.consul", DNS_T_A);
	CHECK(has("AN web.service.consul. 0 A 10.5.5.5"));
	/* Too old: SERVFAIL until the next IMSG_DNS_END. */
	feed.stale = 1;
	ask("web.service.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_SERVFAIL);
	CHECK(msg_end(51) == 0);
	ask("web.service.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_NOERROR);
	/* The DNS token unknown: SERVFAIL; known again: the same view. */
	CHECK(msg_end_denied(51, 1) == 0);
	ask("web.service.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_SERVFAIL);
	ask("fresh.node.consul", DNS_T_A);
	CHECK(R.rcode == DNS_R_SERVFAIL);
	CHECK(msg_end(52) == 0);
	ask("web.service.consul", DNS_T_A);
	CHECK(has("AN web.service.consul. 0 A 10.5.5.5"));
	teardown();
}

static void
test_malformed_feed(void)
{
	static const uint8_t junk[] = { 0x93, 0x01, 0x02 };
	static const uint8_t str[] = { 0xa1, 'x' };

	setup(NULL);
	CHECK(feed_node(&feed, junk, sizeof(junk)) == -1);
	CHECK(feed_node(&feed, str, sizeof(str)) == -1);
	CHECK(feed_node_del(&feed, junk, sizeof(junk)) == -1);
	CHECK(feed_end(&feed, str, sizeof(str)) == -1);
	CHECK(msg_end_junk() == -1);
	CHECK(feed_begin(&feed, str, sizeof(str)) == -1);
	CHECK(msg_node("n", "10.0.0.1", NULL, "sick", NULL, 0) == -1);
	CHECK(msg_node("", "10.0.0.1", NULL, "passing", NULL, 0) == -1);
	teardown();
}

static void
domains(struct config *c)
{
	free(c->domain);
	c->domain = strdup("Example.Test");
	c->alt_domain = strdup("alt.");
	c->recursors.v = calloc(1, sizeof(char *));
	c->recursors.v[0] = strdup("127.0.0.71:5353");
	c->recursors.n = 1;
}

static void
test_domains(void)
{
	setup(domains);
	load_basic();
	ask("n1.node.example.test", DNS_T_A);
	CHECK(has("AN n1.node.example.test. 0 A 10.0.0.1"));
	CHECK(R.flags & DNS_F_RA);
	ask("web.service.alt", DNS_T_SRV);
	CHECK(has("AN web.service.alt. 0 SRV 1 5 80 n1.node.dc1.alt."));
	ask("nope.node.alt", DNS_T_A);
	CHECK(R.rcode == DNS_R_NXDOMAIN && strncmp(R.row[0], "NS alt. 0 SOA "
	    "ns.alt. hostmaster.alt. ", 35) == 0);
	/* PTR answers are in the primary domain. */
	ask("1.0.0.10.in-addr.arpa", DNS_T_PTR);
	CHECK(has("AN 1.0.0.10.in-addr.arpa. 0 PTR "
	    "n1.node.dc1.Example.Test."));
	/* With recursors, other names and unknown PTRs go to them. */
	ask("n1.node.consul", DNS_T_A);
	CHECK(R.result == ANSWER_RECURSE);
	ask("7.7.7.7.in-addr.arpa", DNS_T_PTR);
	CHECK(R.result == ANSWER_RECURSE);
	teardown();
}

static void
test_refused_and_errors(void)
{
	struct dns_query	 q;
	uint8_t			 bad[12] = { 0x12, 0x34, 0x01, 0x00, 0, 2 };
	size_t			 outlen = 0;

	setup(NULL);
	load_basic();
	ask("example.com", DNS_T_A);
	CHECK(R.rcode == DNS_R_REFUSED && !(R.flags & DNS_F_AA));
	CHECK(R.count[DNS_S_QD] == 1 && R.count[DNS_S_AN] == 0);
	ask_full("n1.node.consul", DNS_T_A, 3, UDP, 0);
	CHECK(R.rcode == DNS_R_NOTIMP);
	ask_full("n1.node.consul", DNS_T_A, DNS_C_ANY, UDP, 0);
	CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 1);
	ask("consul", DNS_T_AXFR);
	CHECK(R.rcode == DNS_R_NOTIMP);
	CHECK(answer_query(ans, bad, sizeof(bad), 0, &q, outbuf,
	    sizeof(outbuf), &outlen) == ANSWER_REPLY);
	parse_resp(outbuf, outlen);
	CHECK(R.rcode == DNS_R_FORMERR && R.count[DNS_S_QD] == 0);
	CHECK(outbuf[0] == 0x12 && outbuf[1] == 0x34);
	CHECK(answer_query(ans, bad, 5, 0, &q, outbuf, sizeof(outbuf),
	    &outlen) == ANSWER_DROP);
	/* EDNS echoed with the client's size. */
	ask_full("n1.node.consul", DNS_T_A, DNS_C_IN, UDP, 1400);
	CHECK(has("AR . 0 OPT 1400 ext=0 len=0"));
	ask_full("nope.node.consul", DNS_T_A, DNS_C_IN, UDP, 1400);
	CHECK(R.rcode == DNS_R_NXDOMAIN && R.count[DNS_S_AR] == 1);
	teardown();
}

static int	 remote_calls;
static char	 remote_name[64];

/* A query answered again once the reply it waited for is here. */
static void
remote_again(void *arg)
{
	remote_calls++;
	ask(remote_name, *(uint16_t *)arg);
}

/* Ask name, get ANSWER_REMOTE, deliver items and the end, answer. */
static void
remote_round(const char *name, uint16_t qtype, int kind, const char *want,
    const char *node, const struct tinst *in, size_t nin, const char *end)
{
	static uint16_t		 t;
	struct mpack_out	 o;
	int			 calls = remote_calls;

	strlcpy(remote_name, name, sizeof(remote_name));
	t = qtype;
	ask(name, qtype);
	CHECK(R.result == ANSWER_REMOTE);
	CHECK(ans->want_kind == kind && strcmp(ans->want_name, want) == 0);
	CHECK(remote_start(ans->remotes, ans->want_dc, ans->want_kind,
	    ans->want_name, remote_again, &t) != NULL);
	if (node != NULL) {
		mpack_out_init(&o);
		node_out = &o;
		CHECK(msg_node(node, "10.0.2.9", NULL, "passing", in, nin) ==
		    0);
		node_out = NULL;
		remote_item(ans->remotes, ans->remotes->next_id, o.sbuf.data,
		    o.sbuf.size);
		mpack_out_free(&o);
	}
	CHECK(remote_end(ans->remotes, ans->remotes->next_id, end, 3) == 0);
	CHECK(remote_calls == calls + 1);
}

static void
remote_nothing(void *arg)
{
	(*(int *)arg)++;
}

static void
test_remote_dc(void)
{
	static const struct tinst web[] = {
		{ "web", "web", NULL, 8080, "v1", "passing", 0, 0 },
	};
	struct event_base	*base;
	struct imsgev		 iev;
	struct remotes		 rem;
	int			 sv[2];

	setup(NULL);
	load_basic();
	CHECK((base = event_base_new()) != NULL);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	imsgev_init(&iev, base, sv[0], "raftd", NULL, NULL);
	remotes_init(&rem, base, &iev, cfg);
	ans->remotes = &rem;

	/* A node there; its answer is then in the cache. */
	remote_round("n9.node.dc2.consul", DNS_T_A, DNS_REMOTE_NODE, "n9",
	    "n9", NULL, 0, "\x92\x00\xa0");
	CHECK(R.rcode == DNS_R_NOERROR &&
	    has("AN n9.node.dc2.consul. 0 A 10.0.2.9"));
	CHECK(strcmp(ans->want_dc, "dc2") == 0);
	ask("N9.node.DC2.consul", DNS_T_A);
	CHECK(R.result == ANSWER_REPLY &&
	    has("AN N9.node.DC2.consul. 0 A 10.0.2.9"));
	/* Local names never ask. */
	ask("n1.node.dc1.consul", DNS_T_A);
	CHECK(R.result == ANSWER_REPLY && R.rcode == DNS_R_NOERROR);

	/* A service, with SRV targets in that datacenter. */
	remote_round("web.service.dc2.consul", DNS_T_SRV, DNS_REMOTE_SERVICE,
	    "web", "n9", web, 1, "\x92\x00\xa0");
	CHECK(R.rcode == DNS_R_NOERROR &&
	    has("AN web.service.dc2.consul. 0 SRV 1 1 8080 "
	    "n9.node.dc2.consul."));
	CHECK(has("AR n9.node.dc2.consul. 0 A 10.0.2.9"));
	/* The cached reply serves the tag and RFC 2782 forms too. */
	ask("v1.web.service.dc2.consul", DNS_T_A);
	CHECK(R.result == ANSWER_REPLY &&
	    has("AN v1.web.service.dc2.consul. 0 A 10.0.2.9"));
	ask("v2.web.service.dc2.consul", DNS_T_A);
	CHECK(R.result == ANSWER_REPLY && R.rcode == DNS_R_NXDOMAIN);
	ask("_web._tcp.service.dc2.consul", DNS_T_SRV);
	CHECK(R.result == ANSWER_REPLY && R.count[DNS_S_AN] == 1);
	/* No such service there. */
	remote_round("nope.service.dc2.consul", DNS_T_A, DNS_REMOTE_SERVICE,
	    "nope", NULL, NULL, 0, "\x92\x00\xa0");
	CHECK(R.rcode == DNS_R_NXDOMAIN && R.count[DNS_S_NS] == 1);

	/* Unknown datacenter: NXDOMAIN; unreachable: SERVFAIL. */
	remote_round("web.service.dc7.consul", DNS_T_A, DNS_REMOTE_SERVICE,
	    "web", NULL, NULL, 0, "\x92\x01\xa0");
	CHECK(R.rcode == DNS_R_NXDOMAIN);
	remote_round("web.service.dc8.consul", DNS_T_A, DNS_REMOTE_SERVICE,
	    "web", NULL, NULL, 0, "\x92\x02\xa0");
	CHECK(R.rcode == DNS_R_SERVFAIL);
	/* Not a datacenter name: NXDOMAIN without asking. */
	ask("web.service.d$c.consul", DNS_T_A);
	CHECK(R.result == ANSWER_REPLY && R.rcode == DNS_R_NXDOMAIN);
	/* An item that is no node: the answer is not used. */
	ask("web.service.dc9.consul", DNS_T_A);
	CHECK(R.result == ANSWER_REMOTE);
	strlcpy(remote_name, "web.service.dc9.consul", sizeof(remote_name));
	{
		static uint16_t	 t = DNS_T_A;

		CHECK(remote_start(&rem, "dc9", DNS_REMOTE_SERVICE, "web",
		    remote_again, &t) != NULL);
		remote_item(&rem, rem.next_id, "\x93\x01\x02\x03", 4);
		CHECK(remote_end(&rem, rem.next_id, "\x92\x00\xa0", 3) == 0);
	}
	CHECK(R.rcode == DNS_R_SERVFAIL);
	/* A malformed end from raftd is refused. */
	CHECK(remote_end(&rem, rem.next_id, "\x91\x00", 2) == -1);
	/* A late reply to nothing asked is ignored. */
	CHECK(remote_end(&rem, 999, "\x92\x00\xa0", 3) == 0);

	/*
	 * A prepared query of ours: NearestN 1, then dc3, then dc2.  With
	 * web's only instance here critical, dnsd asks for the nearest
	 * datacenters (dc4, dc3 here), then dc4's web, then dc3's.
	 */
	{
		static uint16_t		 t = DNS_T_A;
		static const struct tinst crit[] = {
			{ "web2", "web2", NULL, 80, NULL, "critical", 0, 0 },
		};
		static const struct tinst web2[] = {
			{ "web2", "web2", NULL, 80, NULL, "passing", 0, 0 },
		};
		struct mpack_out	 o;
		struct cat_pquery	 pq;

		CHECK(msg_node("n5", "10.0.0.5", NULL, "passing", crit, 1) ==
		    0);
		memset(&pq, 0, sizeof(pq));
		pq.id = "11111111-2222-3333-4444-555555555555";
		pq.name = "fo";
		pq.def = "{\"Service\": {\"Service\": \"web2\", \"Failover\": "
		    "{\"NearestN\": 1, \"Datacenters\": [\"dc3\", \"dc2\"]}}}";
		mpack_out_init(&o);
		cat_pquery_pack(&o.pk, &pq);
		CHECK(feed_query(&feed, o.sbuf.data, o.sbuf.size) == 0);
		mpack_out_free(&o);
		strlcpy(remote_name, "fo.query.consul", sizeof(remote_name));
		ask("fo.query.consul", DNS_T_A);
		CHECK(R.result == ANSWER_REMOTE &&
		    ans->want_kind == DNS_REMOTE_DCS);
		CHECK(remote_start(&rem, ans->want_dc, ans->want_kind,
		    ans->want_name, remote_again, &t) != NULL);
		mpack_out_init(&o);
		mpack_str(&o.pk, "dc1");
		remote_item(&rem, rem.next_id, o.sbuf.data, o.sbuf.size);
		mpack_out_free(&o);
		mpack_out_init(&o);
		mpack_str(&o.pk, "dc4");
		remote_item(&rem, rem.next_id, o.sbuf.data, o.sbuf.size);
		mpack_out_free(&o);
		CHECK(remote_end(&rem, rem.next_id, "\x92\x00\xa0", 3) == 0);
		/* Answered again: now dc4's web2 is asked for. */
		CHECK(R.result == ANSWER_REMOTE &&
		    ans->want_kind == DNS_REMOTE_SERVICE &&
		    strcmp(ans->want_dc, "dc4") == 0 &&
		    strcmp(ans->want_name, "web2") == 0);
		CHECK(remote_start(&rem, ans->want_dc, ans->want_kind,
		    ans->want_name, remote_again, &t) != NULL);
		/* dc4 cannot be reached: on to dc3. */
		CHECK(remote_end(&rem, rem.next_id, "\x92\x02\xa0", 3) == 0);
		CHECK(R.result == ANSWER_REMOTE &&
		    strcmp(ans->want_dc, "dc3") == 0);
		CHECK(remote_start(&rem, ans->want_dc, ans->want_kind,
		    ans->want_name, remote_again, &t) != NULL);
		mpack_out_init(&o);
		node_out = &o;
		CHECK(msg_node("n33", "10.0.3.3", NULL, "passing", web2, 1) ==
		    0);
		node_out = NULL;
		remote_item(&rem, rem.next_id, o.sbuf.data, o.sbuf.size);
		mpack_out_free(&o);
		CHECK(remote_end(&rem, rem.next_id, "\x92\x00\xa0", 3) == 0);
		CHECK(R.result == ANSWER_REPLY && R.rcode == DNS_R_NOERROR &&
		    has("AN fo.query.consul. 0 A 10.0.3.3"));
		/* SRV targets name the datacenter that answered. */
		ask("fo.query.consul", DNS_T_SRV);
		CHECK(R.result == ANSWER_REPLY &&
		    has("AN fo.query.consul. 0 SRV 1 1 80 "
		    "n33.node.dc3.consul."));
		/* Healthy here again: the local instance, no question. */
		CHECK(msg_node("n5", "10.0.0.5", NULL, "passing", web2, 1) ==
		    0);
		ask("fo.query.consul", DNS_T_A);
		CHECK(R.result == ANSWER_REPLY &&
		    has("AN fo.query.consul. 0 A 10.0.0.5"));
	}

	/*
	 * A prepared query with its own Token (marked in the view): what
	 * it may read is asked of the servers, here, by ID and service,
	 * even with an instance in the view.
	 */
	{
		static const struct tinst w8[] = {
			{ "web", "web", NULL, 80, NULL, "passing", 0, 0 },
		};
		struct mpack_out	 o;
		struct cat_pquery	 pq;

		memset(&pq, 0, sizeof(pq));
		pq.id = "22222222-2222-3333-4444-555555555555";
		pq.name = "tq";
		pq.token = DNS_QUERY_HAS_TOKEN;
		pq.def = "{\"Service\": {\"Service\": \"web\"}}";
		mpack_out_init(&o);
		cat_pquery_pack(&o.pk, &pq);
		CHECK(feed_query(&feed, o.sbuf.data, o.sbuf.size) == 0);
		mpack_out_free(&o);
		remote_round("tq.query.consul", DNS_T_A,
		    DNS_REMOTE_QUERY_SERVICE,
		    "22222222-2222-3333-4444-555555555555/web", "n8", w8, 1,
		    "\x92\x00\xa0");
		CHECK(strcmp(ans->want_dc, "dc1") == 0);
		/* Only what came back, not the view's instances. */
		CHECK(R.rcode == DNS_R_NOERROR && R.count[DNS_S_AN] == 1 &&
		    has("AN tq.query.consul. 0 A 10.0.2.9"));
	}

	/* More names than the cache holds: the oldest answers make room. */
	{
		char	 name[32];
		int	 i, done = 0, refused = 0;

		for (i = 0; i < REMOTE_CACHE_MAX + 100; i++) {
			snprintf(name, sizeof(name), "s%d", i);
			if (remote_start(&rem, "dc2", DNS_REMOTE_SERVICE, name,
			    remote_nothing, &done) == NULL) {
				refused++;
				continue;
			}
			CHECK(remote_end(&rem, rem.next_id, "\x92\x00\xa0",
			    3) == 0);
		}
		CHECK(refused == 0 && done == REMOTE_CACHE_MAX + 100);
		CHECK(rem.n <= REMOTE_CACHE_MAX);
		CHECK(remote_lookup(&rem, "dc2", DNS_REMOTE_SERVICE, "s0",
		    &(const struct view *){ NULL }) == REMOTE_MISS);
	}

	remotes_free(&rem);
	imsgev_clear(&iev);
	close(sv[0]);
	close(sv[1]);
	event_base_free(base);
	teardown();
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_no_view),
		TEST_CASE(test_node),
		TEST_CASE(test_service),
		TEST_CASE(test_srv),
		TEST_CASE(test_only_passing),
		TEST_CASE(test_soa_ns),
		TEST_CASE(test_ptr),
		TEST_CASE(test_ttl),
		TEST_CASE(test_sizes),
		TEST_CASE(test_dedup_after_growth),
		TEST_CASE(test_truncate),
		TEST_CASE(test_compression),
		TEST_CASE(test_updates),
		TEST_CASE(test_malformed_feed),
		TEST_CASE(test_domains),
		TEST_CASE(test_refused_and_errors),
		TEST_CASE(test_remote_dc),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
