/*
 * dnsd's wire codec (dnsd/wire.c, compiled in): queries read strictly
 * (headers, counts, label lengths, name length, compression pointers,
 * EDNS0 and client subnet) and responses written byte for byte, with
 * and without name compression.
 */
#include <stdint.h>
#include <string.h>

#include "test.h"

#include "../../dnsd/wire.c"

/* A query header: id 0x1234, RD, the counts given. */
static size_t
hdr(uint8_t *p, uint16_t flags, int qd, int an, int ns, int ar)
{
	memset(p, 0, DNS_HDR_LEN);
	p[0] = 0x12;
	p[1] = 0x34;
	p[2] = flags >> 8;
	p[3] = flags & 0xff;
	p[5] = (uint8_t)qd;
	p[7] = (uint8_t)an;
	p[9] = (uint8_t)ns;
	p[11] = (uint8_t)ar;
	return DNS_HDR_LEN;
}

static size_t
append(uint8_t *p, size_t off, const void *b, size_t n)
{
	memcpy(p + off, b, n);
	return off + n;
}

static const uint8_t web_q[] = "\003web\007service\006consul\000\000\001\000\001";

static void
test_parse_simple(void)
{
	uint8_t			 p[512];
	struct dns_query	 q;
	size_t			 n;

	n = hdr(p, DNS_F_RD, 1, 0, 0, 0);
	n = append(p, n, web_q, sizeof(web_q) - 1);
	CHECK(dns_parse_query(p, n, &q) == 0);
	CHECK(q.rcode == DNS_R_NOERROR);
	CHECK(q.id == 0x1234);
	CHECK(q.flags == DNS_F_RD);
	CHECK(q.qtype == DNS_T_A && q.qclass == DNS_C_IN);
	CHECK(q.qname_len == 20);
	CHECK(q.nlabels == 3);
	CHECK(q.label[1] == 4 && q.label[2] == 12);
	CHECK(!q.edns);
}

static void
test_parse_drop(void)
{
	uint8_t			 p[512];
	struct dns_query	 q;
	size_t			 n;

	n = hdr(p, DNS_F_RD, 1, 0, 0, 0);
	CHECK(dns_parse_query(p, 0, &q) == -1);
	CHECK(dns_parse_query(p, 11, &q) == -1);
	n = hdr(p, DNS_F_QR, 1, 0, 0, 0);
	n = append(p, n, web_q, sizeof(web_q) - 1);
	CHECK(dns_parse_query(p, n, &q) == -1);
}

static void
test_parse_counts(void)
{
	uint8_t			 p[512];
	struct dns_query	 q;
	size_t			 n;

	n = hdr(p, 0, 0, 0, 0, 0);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	CHECK(q.qname_len == 0);
	n = hdr(p, 0, 2, 0, 0, 0);
	n = append(p, n, web_q, sizeof(web_q) - 1);
	n = append(p, n, web_q, sizeof(web_q) - 1);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	/* Huge QDCOUNT. */
	n = hdr(p, 0, 0, 0, 0, 0);
	p[4] = 0xff;
	p[5] = 0xff;
	n = append(p, n, web_q, sizeof(web_q) - 1);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	/* Records counted but not there. */
	n = hdr(p, 0, 1, 0, 0, 3);
	n = append(p, n, web_q, sizeof(web_q) - 1);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	CHECK(q.qname_len == 20);	/* the question is still echoed */
	/* An opcode other than QUERY. */
	n = hdr(p, 2 << 11, 1, 0, 0, 0);
	n = append(p, n, web_q, sizeof(web_q) - 1);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_NOTIMP);
}

static void
test_parse_bad_names(void)
{
	uint8_t			 p[1024];
	struct dns_query	 q;
	size_t			 n, i;

	/* A label longer than the packet. */
	n = hdr(p, 0, 1, 0, 0, 0);
	n = append(p, n, "\077abc", 4);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	/* No root label, no type. */
	n = hdr(p, 0, 1, 0, 0, 0);
	n = append(p, n, "\003web", 4);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	n = append(p, n, "\000\000\001", 3);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	/* A pointer to itself, forward, and a loop of two. */
	n = hdr(p, 0, 1, 0, 0, 0);
	n = append(p, n, "\300\014\000\001\000\001", 6);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	n = hdr(p, 0, 1, 0, 0, 0);
	n = append(p, n, "\300\016\000\000\001\000\001", 7);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	n = hdr(p, 0, 1, 0, 0, 0);
	n = append(p, n, "\001a\300\014\000\001\000\001", 8);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	/* A pointer cut short. */
	n = hdr(p, 0, 1, 0, 0, 0);
	n = append(p, n, "\300", 1);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	/* The extended label types. */
	n = hdr(p, 0, 1, 0, 0, 0);
	n = append(p, n, "\101a\000\000\001\000\001", 7);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	n = hdr(p, 0, 1, 0, 0, 0);
	n = append(p, n, "\201a\000\000\001\000\001", 7);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	/* 255 bytes is the most; 257 is too many. */
	n = hdr(p, 0, 1, 0, 0, 0);
	for (i = 0; i < 127; i++)
		n = append(p, n, "\001x", 2);
	n = append(p, n, "\000\000\001\000\001", 5);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_NOERROR);
	CHECK(q.qname_len == 255 && q.nlabels == 127);
	n = hdr(p, 0, 1, 0, 0, 0);
	for (i = 0; i < 128; i++)
		n = append(p, n, "\001x", 2);
	n = append(p, n, "\000\000\001\000\001", 5);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
}

/* A backward pointer in a later record is fine. */
static void
test_parse_pointer_back(void)
{
	uint8_t			 p[512];
	struct dns_query	 q;
	struct dns_reader	 r;
	struct dns_rr_in	 rr;
	size_t			 n;

	n = hdr(p, 0, 1, 1, 0, 0);
	n = append(p, n, web_q, sizeof(web_q) - 1);
	n = append(p, n, "\300\020\000\001\000\001\000\000\000\005\000\004"
	    "\012\000\000\001", 16);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_NOERROR);
	CHECK(dns_reader_init(&r, p, n) == 0);
	CHECK(dns_reader_next(&r, &rr) == 1 && rr.section == DNS_S_QD);
	CHECK(dns_reader_next(&r, &rr) == 1 && rr.section == DNS_S_AN);
	CHECK(rr.name_len == 16 && memcmp(rr.name, web_q + 4, 16) == 0);
	CHECK(rr.ttl == 5 && rr.rdlen == 4 && p[rr.rdoff] == 10);
	CHECK(dns_reader_next(&r, &rr) == 0);
	/* rdlength past the end. */
	p[n - 5] = 5;
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
}

static void
test_parse_edns(void)
{
	uint8_t			 p[512];
	struct dns_query	 q;
	size_t			 n, m;
	static const uint8_t	 opt[] = "\000\000\051\020\000\000\000\200\000"
	    "\000\013\000\010\000\007\000\001\030\000\300\000\002";

	n = hdr(p, 0, 1, 0, 0, 1);
	n = append(p, n, web_q, sizeof(web_q) - 1);
	m = n;
	n = append(p, n, opt, sizeof(opt) - 1);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_NOERROR);
	CHECK(q.edns && q.edns_size == 4096 && q.edns_version == 0);
	CHECK(q.edns_do);
	CHECK(q.ecs && q.ecs_family == 1 && q.ecs_source == 24);
	CHECK(q.ecs_addrlen == 3 && q.ecs_addr[0] == 192 &&
	    q.ecs_addr[2] == 2);
	/* A size below 512 reads as 512. */
	p[m + 3] = 0;
	p[m + 4] = 100;
	CHECK(dns_parse_query(p, n, &q) == 0 && q.edns_size == 512);
	/* The subnet's address longer than its prefix says. */
	p[m + 17] = 16;
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	p[m + 17] = 24;
	/* An option running past the record. */
	p[m + 14] = 9;
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	p[m + 14] = 7;
	/* Version 1. */
	p[m + 6] = 1;
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_BADVERS);
	p[m + 6] = 0;
	/* Two OPTs. */
	p[11] = 2;
	n = append(p, n, opt, sizeof(opt) - 1);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	/* An OPT whose owner is not the root. */
	n = hdr(p, 0, 1, 0, 0, 1);
	n = append(p, n, web_q, sizeof(web_q) - 1);
	n = append(p, n, "\001a\000\000\051\020\000\000\000\000\000\000\000",
	    13);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
	/* An OPT outside the additional section. */
	n = hdr(p, 0, 1, 1, 0, 0);
	n = append(p, n, web_q, sizeof(web_q) - 1);
	n = append(p, n, "\000\000\051\020\000\000\000\000\000\000\000", 11);
	CHECK(dns_parse_query(p, n, &q) == 0 && q.rcode == DNS_R_FORMERR);
}

static void
test_names_text(void)
{
	uint8_t	 w[DNS_NAME_MAX];
	char	 t[DNS_NAME_TEXT_MAX], big[300];
	int	 n;

	CHECK(dns_name_from_text("web.service.consul", w, sizeof(w)) == 20);
	CHECK(memcmp(w, web_q, 20) == 0);
	CHECK(dns_name_from_text("web.service.consul.", w, sizeof(w)) == 20);
	CHECK(dns_name_from_text(".", w, sizeof(w)) == 1 && w[0] == 0);
	CHECK(dns_name_from_text("", w, sizeof(w)) == 1);
	CHECK(dns_name_from_text("a..b", w, sizeof(w)) == -1);
	CHECK(dns_name_from_text(".a", w, sizeof(w)) == -1);
	memset(big, 'a', 64);
	big[64] = '\0';
	CHECK(dns_name_from_text(big, w, sizeof(w)) == -1);
	big[63] = '\0';
	CHECK(dns_name_from_text(big, w, sizeof(w)) == 65);
	memset(big, 'a', sizeof(big));
	for (n = 1; n < 299; n += 2)
		big[n] = '.';
	big[253] = '\0';
	CHECK(dns_name_from_text(big, w, sizeof(w)) == 255);
	big[253] = '.';
	big[255] = '\0';
	CHECK(dns_name_from_text(big, w, sizeof(w)) == -1);
	CHECK(dns_name_from_text("a.b", w, 4) == -1);
	CHECK(dns_name_to_text((const uint8_t *)"\003a.b\002C\\\000", 9, t,
	    sizeof(t)) == 0);
	CHECK_STR(t, "a\\046b.C\\092.");
	CHECK(dns_name_to_text((const uint8_t *)"", 1, t, sizeof(t)) == 0);
	CHECK_STR(t, ".");
	CHECK(dns_name_equal(web_q, 20,
	    (const uint8_t *)"\003WEB\007Service\006CONSUL", 20));
	CHECK(!dns_name_equal(web_q, 20,
	    (const uint8_t *)"\003WEB\007Servicf\006CONSUL", 20));
	CHECK(dns_label_equal((const uint8_t *)"NoDe", 4, "node"));
	CHECK(!dns_label_equal((const uint8_t *)"nod", 3, "node"));
	CHECK(!dns_label_equal((const uint8_t *)"nodes", 5, "node"));
}

static struct dns_rr
rr_a(const uint8_t *owner, size_t olen, const uint8_t *ip)
{
	struct dns_rr	 rr;

	memset(&rr, 0, sizeof(rr));
	rr.owner = owner;
	rr.owner_len = (uint16_t)olen;
	rr.type = DNS_T_A;
	rr.class = DNS_C_IN;
	rr.ttl = 30;
	rr.tail = ip;
	rr.tail_len = 4;
	return rr;
}

/* A response, byte for byte: the owners point at the question. */
static void
test_write_compressed(void)
{
	uint8_t		 buf[512];
	struct dns_out	 o;
	struct dns_rr	 rr;
	static const uint8_t ip1[4] = { 10, 0, 0, 1 }, ip2[4] = { 10, 0, 0, 2 };
	static const uint8_t want[] =
	    "\022\064\205\000\000\001\000\002\000\000\000\000"
	    "\003web\007service\006consul\000\000\001\000\001"
	    "\300\014\000\001\000\001\000\000\000\036\000\004\012\000\000\001"
	    "\300\014\000\001\000\001\000\000\000\036\000\004\012\000\000\002";

	dns_out_init(&o, buf, sizeof(buf), 1);
	CHECK(dns_out_header(&o, 0x1234, DNS_F_QR | DNS_F_AA | DNS_F_RD) == 0);
	CHECK(dns_out_question(&o, web_q, 20, DNS_T_A, DNS_C_IN) == 0);
	rr = rr_a((const uint8_t *)"\003WEB\007service\006consul", 20, ip1);
	CHECK(dns_out_rr(&o, DNS_S_AN, &rr) == 0);
	rr = rr_a(web_q, 20, ip2);
	CHECK(dns_out_rr(&o, DNS_S_AN, &rr) == 0);
	dns_out_finish(&o);
	CHECK(o.len == sizeof(want) - 1);
	CHECK(memcmp(buf, want, sizeof(want) - 1) == 0);
}

/* Suffixes compress; SRV targets are written whole, yet others use them. */
static void
test_write_suffix_srv(void)
{
	uint8_t			 buf[512], name[DNS_NAME_MAX];
	struct dns_out		 o;
	struct dns_rr		 rr;
	struct dns_reader	 r;
	struct dns_rr_in	 in;
	size_t			 off, nlen, srv_target;
	static const uint8_t	 head[6] = { 0, 1, 0, 1, 0x1f, 0x90 };
	static const uint8_t	 ip[4] = { 10, 0, 0, 1 };
	static const uint8_t	 target[] = "\002n1\004node\003dc1\006consul";

	dns_out_init(&o, buf, sizeof(buf), 1);
	CHECK(dns_out_header(&o, 1, DNS_F_QR) == 0);
	CHECK(dns_out_question(&o, web_q, 20, DNS_T_SRV, DNS_C_IN) == 0);
	memset(&rr, 0, sizeof(rr));
	rr.owner = web_q;
	rr.owner_len = 20;
	rr.type = DNS_T_SRV;
	rr.class = DNS_C_IN;
	rr.head = head;
	rr.head_len = 6;
	rr.name[0] = target;
	rr.name_len[0] = sizeof(target);
	CHECK(dns_out_rr(&o, DNS_S_AN, &rr) == 0);
	srv_target = o.len - sizeof(target);
	/* Written in full although ".consul" was there to point at. */
	CHECK(memcmp(buf + srv_target, target, sizeof(target)) == 0);
	rr = rr_a(target, sizeof(target), ip);
	CHECK(dns_out_rr(&o, DNS_S_AR, &rr) == 0);
	CHECK(buf[o.len - 16] == (0xc0 | srv_target >> 8) &&
	    buf[o.len - 15] == (srv_target & 0xff));
	dns_out_finish(&o);
	CHECK(dns_reader_init(&r, buf, o.len) == 0);
	CHECK(r.count[DNS_S_QD] == 1 && r.count[DNS_S_AN] == 1 &&
	    r.count[DNS_S_AR] == 1);
	CHECK(dns_reader_next(&r, &in) == 1);
	CHECK(dns_reader_next(&r, &in) == 1 && in.type == DNS_T_SRV);
	off = in.rdoff + 6;
	CHECK(dns_name_read(buf, o.len, &off, name, &nlen) == 0);
	CHECK(nlen == sizeof(target) && memcmp(name, target, nlen) == 0);
	CHECK(dns_reader_next(&r, &in) == 1 && in.section == DNS_S_AR);
	CHECK(in.name_len == sizeof(target) &&
	    memcmp(in.name, target, in.name_len) == 0);
	CHECK(dns_reader_next(&r, &in) == 0);
}

static void
test_write_uncompressed(void)
{
	uint8_t		 buf[512];
	struct dns_out	 o;
	struct dns_rr	 rr;
	static const uint8_t ip[4] = { 10, 0, 0, 1 };

	dns_out_init(&o, buf, sizeof(buf), 0);
	CHECK(dns_out_header(&o, 1, DNS_F_QR) == 0);
	CHECK(dns_out_question(&o, web_q, 20, DNS_T_A, DNS_C_IN) == 0);
	rr = rr_a(web_q, 20, ip);
	CHECK(dns_out_rr(&o, DNS_S_AN, &rr) == 0);
	CHECK(dns_out_rr(&o, DNS_S_AN, &rr) == 0);
	CHECK(o.len == 12 + 24 + 2 * dns_rr_size(&rr));
	CHECK(memchr(buf + 12, 0xc0, o.len - 12) == NULL);
}

static void
test_write_bounds(void)
{
	uint8_t		 buf[60];
	struct dns_out	 o;
	struct dns_rr	 rr;
	struct dns_query q;
	static const uint8_t ip[4] = { 10, 0, 0, 1 };
	size_t		 before;

	dns_out_init(&o, buf, sizeof(buf), 0);
	CHECK(dns_out_header(&o, 1, DNS_F_QR) == 0);
	CHECK(dns_out_question(&o, web_q, 20, DNS_T_A, DNS_C_IN) == 0);
	rr = rr_a(web_q, 20, ip);
	before = o.len;
	CHECK(dns_out_rr(&o, DNS_S_AN, &rr) == -1);
	CHECK(o.len == before && o.count[DNS_S_AN] == 0);
	/* The OPT, with a client subnet echoed at scope 0. */
	memset(&q, 0, sizeof(q));
	q.ecs = 1;
	q.ecs_family = 1;
	q.ecs_source = 24;
	q.ecs_addrlen = 3;
	q.ecs_addr[0] = 192;
	dns_out_init(&o, buf, sizeof(buf), 1);
	CHECK(dns_out_header(&o, 1, DNS_F_QR) == 0);
	CHECK(dns_out_opt(&o, 4096, 1, &q) == 0);
	CHECK(o.len == 12 + 11 + 11);
	CHECK(memcmp(buf + 12, "\000\000\051\020\000\001\000\000\000\000\013"
	    "\000\010\000\007\000\001\030\000\300\000\000", 22) == 0);
	dns_out_init(&o, buf, 20, 1);
	CHECK(dns_out_header(&o, 1, DNS_F_QR) == 0);
	CHECK(dns_out_opt(&o, 4096, 0, NULL) == -1 && o.len == 12);
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_parse_simple),
		TEST_CASE(test_parse_drop),
		TEST_CASE(test_parse_counts),
		TEST_CASE(test_parse_bad_names),
		TEST_CASE(test_parse_pointer_back),
		TEST_CASE(test_parse_edns),
		TEST_CASE(test_names_text),
		TEST_CASE(test_write_compressed),
		TEST_CASE(test_write_suffix_srv),
		TEST_CASE(test_write_uncompressed),
		TEST_CASE(test_write_bounds),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
