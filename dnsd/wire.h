/*
 * The DNS wire format (RFC 1035, EDNS0 from RFC 6891, client subnet from
 * RFC 7871), as dnsd reads and writes it: a strict reader of queries and
 * of whole messages, and a writer of responses into a buffer the caller
 * owns, with name compression.  Nothing here allocates.
 *
 * Names cross this interface in wire form, uncompressed: a sequence of
 * length-prefixed labels ending with the zero-length root label, at most
 * DNS_NAME_MAX bytes in all.
 */
#ifndef DNSD_WIRE_H
#define DNSD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN		12
#define DNS_NAME_MAX		255	/* wire form, root label included */
#define DNS_LABEL_MAX		63
#define DNS_LABELS_MAX		128
#define DNS_NAME_TEXT_MAX	(4 * DNS_NAME_MAX + 1)	/* \DDD escapes */
#define DNS_UDP_MIN		512
#define DNS_MSG_MAX		65535
#define DNS_COMP_MAX		256	/* names remembered for compression */

#define DNS_T_A			1
#define DNS_T_NS		2
#define DNS_T_CNAME		5
#define DNS_T_SOA		6
#define DNS_T_PTR		12
#define DNS_T_TXT		16
#define DNS_T_AAAA		28
#define DNS_T_SRV		33
#define DNS_T_OPT		41
#define DNS_T_IXFR		251
#define DNS_T_AXFR		252
#define DNS_T_ANY		255

#define DNS_C_IN		1
#define DNS_C_ANY		255

#define DNS_F_QR		0x8000
#define DNS_F_OPCODE		0x7800
#define DNS_F_AA		0x0400
#define DNS_F_TC		0x0200
#define DNS_F_RD		0x0100
#define DNS_F_RA		0x0080
#define DNS_F_CD		0x0010
#define DNS_F_RCODE		0x000f

#define DNS_R_NOERROR		0
#define DNS_R_FORMERR		1
#define DNS_R_SERVFAIL		2
#define DNS_R_NXDOMAIN		3
#define DNS_R_NOTIMP		4
#define DNS_R_REFUSED		5
#define DNS_R_BADVERS		16	/* extended: upper bits in the OPT */

#define DNS_OPT_ECS		8	/* EDNS client subnet */

enum dns_section {
	DNS_S_QD,
	DNS_S_AN,
	DNS_S_NS,
	DNS_S_AR,
	DNS_S_MAX
};

/* A query as dnsd needs it: the one question, the OPT if any. */
struct dns_query {
	uint16_t	 id;
	uint16_t	 flags;
	uint8_t		 qname[DNS_NAME_MAX];
	size_t		 qname_len;
	uint8_t		 label[DNS_LABELS_MAX];	/* offsets into qname */
	size_t		 nlabels;		/* the root not counted */
	uint16_t	 qtype;
	uint16_t	 qclass;
	int		 edns;			/* an OPT came */
	uint16_t	 edns_size;		/* its UDP payload size */
	uint8_t		 edns_version;
	int		 edns_do;
	int		 ecs;			/* a client subnet option */
	uint16_t	 ecs_family;
	uint8_t		 ecs_source;
	uint8_t		 ecs_addr[16];
	size_t		 ecs_addrlen;
	/*
	 * What to answer: DNS_R_NOERROR when the query is well formed,
	 * else FORMERR, NOTIMP (an opcode other than QUERY) or BADVERS.
	 */
	int		 rcode;
};

/* One record of a message being read. */
struct dns_rr_in {
	enum dns_section section;
	uint8_t		 name[DNS_NAME_MAX];
	size_t		 name_len;
	uint16_t	 type;
	uint16_t	 class;
	uint32_t	 ttl;		/* 0 in the question section */
	size_t		 rdoff;		/* into the message */
	uint16_t	 rdlen;
};

struct dns_reader {
	const uint8_t	*pkt;
	size_t		 len;
	size_t		 off;
	uint16_t	 id;
	uint16_t	 flags;
	uint16_t	 count[DNS_S_MAX];
	enum dns_section section;
	uint16_t	 left;		/* records left in section */
};

/*
 * One record to write.  Its data is fixed bytes, then up to two names
 * (the targets of NS, CNAME, PTR, SRV, the two names of an SOA), then
 * more bytes: that is every type dnsd writes.  Names are compressed in
 * NS, CNAME, PTR and SOA data, never in SRV data (RFC 2782).
 */
struct dns_rr {
	const uint8_t	*owner;
	uint16_t	 owner_len;
	uint16_t	 type;
	uint16_t	 class;
	uint32_t	 ttl;
	const uint8_t	*head;
	uint16_t	 head_len;
	const uint8_t	*name[2];
	uint16_t	 name_len[2];
	const uint8_t	*tail;
	uint16_t	 tail_len;
};

struct dns_out {
	uint8_t		*buf;
	size_t		 cap;
	size_t		 len;
	int		 compress;
	uint16_t	 comp[DNS_COMP_MAX];	/* offsets of written labels */
	size_t		 ncomp;
	uint16_t	 count[DNS_S_MAX];
};

/* Reading. */
int	 dns_parse_query(const uint8_t *, size_t, struct dns_query *);
int	 dns_reader_init(struct dns_reader *, const uint8_t *, size_t);
int	 dns_reader_next(struct dns_reader *, struct dns_rr_in *);
int	 dns_name_read(const uint8_t *, size_t, size_t *, uint8_t *,
	    size_t *);

/* Names. */
int	 dns_name_from_text(const char *, uint8_t *, size_t);
int	 dns_name_to_text(const uint8_t *, size_t, char *, size_t);
int	 dns_name_equal(const uint8_t *, size_t, const uint8_t *, size_t);
int	 dns_label_equal(const uint8_t *, size_t, const char *);
size_t	 dns_rr_size(const struct dns_rr *);

/* Writing. */
void	 dns_out_init(struct dns_out *, uint8_t *, size_t, int);
int	 dns_out_header(struct dns_out *, uint16_t, uint16_t);
int	 dns_out_question(struct dns_out *, const uint8_t *, size_t, uint16_t,
	    uint16_t);
int	 dns_out_rr(struct dns_out *, enum dns_section, const struct dns_rr *);
int	 dns_out_opt(struct dns_out *, uint16_t, uint8_t, const
	    struct dns_query *);
void	 dns_out_finish(struct dns_out *);

#endif
