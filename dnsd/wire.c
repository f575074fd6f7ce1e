/*
 * The DNS wire codec (see wire.h).  Every length read from a packet is
 * checked against the bytes that are there before it is used; a
 * compression pointer must point before the start of the run of labels
 * it is found in, so a name is read in at most as many jumps as the
 * packet has bytes and a loop cannot be written at all.
 */
#include <stdio.h>
#include <string.h>

#include "wire.h"

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
set16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * The name at *offp into out (uncompressed, at most DNS_NAME_MAX bytes);
 * *offp moves past the name where it is written, its first pointer
 * included.
 */
int
dns_name_read(const uint8_t *pkt, size_t len, size_t *offp, uint8_t *out,
    size_t *outlen)
{
	size_t	 off = *offp, seg = *offp, w = 0, end = 0, target;
	int	 jumped = 0;
	uint8_t	 c;

	for (;;) {
		if (off >= len)
			return -1;
		c = pkt[off];
		if ((c & 0xc0) == 0xc0) {
			if (off + 1 >= len)
				return -1;
			target = (size_t)(c & 0x3f) << 8 | pkt[off + 1];
			if (target >= seg)
				return -1;
			if (!jumped) {
				end = off + 2;
				jumped = 1;
			}
			seg = off = target;
			continue;
		}
		if (c & 0xc0)
			return -1;	/* the extended label types */
		if (w + 1 + c > DNS_NAME_MAX || off + 1 + c > len)
			return -1;
		memcpy(out + w, pkt + off, 1 + (size_t)c);
		w += 1 + (size_t)c;
		off += 1 + (size_t)c;
		if (c == 0)
			break;
	}
	*offp = jumped ? end : off;
	*outlen = w;
	return 0;
}

int
dns_reader_init(struct dns_reader *r, const uint8_t *pkt, size_t len)
{
	int	 i;

	memset(r, 0, sizeof(*r));
	if (len < DNS_HDR_LEN)
		return -1;
	r->pkt = pkt;
	r->len = len;
	r->off = DNS_HDR_LEN;
	r->id = get16(pkt);
	r->flags = get16(pkt + 2);
	for (i = 0; i < DNS_S_MAX; i++)
		r->count[i] = get16(pkt + 4 + 2 * i);
	r->section = DNS_S_QD;
	r->left = r->count[DNS_S_QD];
	return 0;
}

/* The next record: 1, or 0 at the end, or -1 if it is malformed. */
int
dns_reader_next(struct dns_reader *r, struct dns_rr_in *rr)
{
	while (r->left == 0) {
		if (r->section + 1 >= DNS_S_MAX)
			return 0;
		r->section++;
		r->left = r->count[r->section];
	}
	if (dns_name_read(r->pkt, r->len, &r->off, rr->name, &rr->name_len) ==
	    -1)
		return -1;
	rr->section = r->section;
	if (r->len - r->off < 4)
		return -1;
	rr->type = get16(r->pkt + r->off);
	rr->class = get16(r->pkt + r->off + 2);
	r->off += 4;
	rr->ttl = 0;
	rr->rdoff = r->off;
	rr->rdlen = 0;
	if (r->section != DNS_S_QD) {
		if (r->len - r->off < 6)
			return -1;
		rr->ttl = get32(r->pkt + r->off);
		rr->rdlen = get16(r->pkt + r->off + 4);
		r->off += 6;
		if (r->len - r->off < rr->rdlen)
			return -1;
		rr->rdoff = r->off;
		r->off += rr->rdlen;
	}
	r->left--;
	return 1;
}

/* The options of an OPT record; FORMERR for a malformed one. */
static int
parse_opt(const uint8_t *pkt, const struct dns_rr_in *rr, struct dns_query *q)
{
	const uint8_t	*p = pkt + rr->rdoff;
	size_t		 left = rr->rdlen, olen, alen, max;
	uint16_t	 code;

	if (rr->name_len != 1)
		return DNS_R_FORMERR;
	q->edns = 1;
	q->edns_size = rr->class < DNS_UDP_MIN ? DNS_UDP_MIN : rr->class;
	q->edns_version = (rr->ttl >> 16) & 0xff;
	q->edns_do = (rr->ttl & 0x8000) != 0;
	while (left > 0) {
		if (left < 4)
			return DNS_R_FORMERR;
		code = get16(p);
		olen = get16(p + 2);
		if (left - 4 < olen)
			return DNS_R_FORMERR;
		if (code == DNS_OPT_ECS) {
			if (q->ecs || olen < 4)
				return DNS_R_FORMERR;
			q->ecs_family = get16(p + 4);
			q->ecs_source = p[6];
			if (q->ecs_family == 1)
				max = 32;
			else if (q->ecs_family == 2)
				max = 128;
			else
				return DNS_R_FORMERR;
			alen = olen - 4;
			if (q->ecs_source > max ||
			    alen != ((size_t)q->ecs_source + 7) / 8)
				return DNS_R_FORMERR;
			memcpy(q->ecs_addr, p + 8, alen);
			q->ecs_addrlen = alen;
			q->ecs = 1;
		}
		p += 4 + olen;
		left -= 4 + olen;
	}
	return DNS_R_NOERROR;
}

/*
 * A query: -1 when it is to be dropped (no header, or a response), else
 * 0 with q->rcode saying whether it can be answered.  q->qname_len is 0
 * when even the question could not be read.
 */
int
dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	struct dns_reader	 r;
	struct dns_rr_in	 rr;
	size_t			 off;
	int			 n, rc;

	q->qname_len = 0;
	q->nlabels = 0;
	q->qtype = q->qclass = 0;
	q->edns = q->ecs = q->edns_do = 0;
	q->edns_size = 0;
	q->edns_version = 0;
	q->ecs_addrlen = 0;
	q->rcode = DNS_R_NOERROR;
	if (dns_reader_init(&r, pkt, len) == -1)
		return -1;
	q->id = r.id;
	q->flags = r.flags;
	if (r.flags & DNS_F_QR)
		return -1;
	if (r.count[DNS_S_QD] != 1) {
		q->rcode = DNS_R_FORMERR;
		return 0;
	}
	if ((n = dns_reader_next(&r, &rr)) != 1) {
		q->rcode = DNS_R_FORMERR;
		return 0;
	}
	memcpy(q->qname, rr.name, rr.name_len);
	q->qname_len = rr.name_len;
	q->qtype = rr.type;
	q->qclass = rr.class;
	for (off = 0; q->qname[off] != 0; off += 1 + q->qname[off])
		q->label[q->nlabels++] = off;
	if ((r.flags & DNS_F_OPCODE) != 0) {
		q->rcode = DNS_R_NOTIMP;
		return 0;
	}
	while ((n = dns_reader_next(&r, &rr)) == 1) {
		if (rr.type != DNS_T_OPT)
			continue;
		if (rr.section != DNS_S_AR || q->edns) {
			q->rcode = DNS_R_FORMERR;
			return 0;
		}
		if ((rc = parse_opt(pkt, &rr, q)) != DNS_R_NOERROR) {
			q->rcode = rc;
			return 0;
		}
	}
	if (n == -1)
		q->rcode = DNS_R_FORMERR;
	else if (q->edns && q->edns_version != 0)
		q->rcode = DNS_R_BADVERS;
	return 0;
}

/*
 * "a.b.c" or "a.b.c." into wire form; "" and "." are the root.  Labels
 * are 1 to 63 bytes, taken as they are.  The length, or -1.
 */
int
dns_name_from_text(const char *s, uint8_t *out, size_t cap)
{
	size_t	 w = 0, n;
	const char *dot;

	if (strcmp(s, ".") == 0)
		s = "";
	while (*s != '\0') {
		dot = strchr(s, '.');
		n = dot == NULL ? strlen(s) : (size_t)(dot - s);
		if (n == 0 || n > DNS_LABEL_MAX || w + 1 + n + 1 > cap ||
		    w + 1 + n + 1 > DNS_NAME_MAX)
			return -1;
		out[w++] = (uint8_t)n;
		memcpy(out + w, s, n);
		w += n;
		s += n;
		if (*s == '.')
			s++;
	}
	if (w + 1 > cap)
		return -1;
	out[w++] = 0;
	return (int)w;
}

/* For logs and tests: labels joined by dots, odd bytes as \DDD. */
int
dns_name_to_text(const uint8_t *name, size_t len, char *out, size_t cap)
{
	size_t	 off = 0, w = 0, i;
	uint8_t	 c;
	int	 n;

	if (cap == 0)
		return -1;
	if (len == 0 || name[0] == 0) {
		if (cap < 2)
			return -1;
		memcpy(out, ".", 2);
		return 0;
	}
	while (off < len && name[off] != 0) {
		if (off + 1 + name[off] > len)
			return -1;
		for (i = 0; i < name[off]; i++) {
			c = name[off + 1 + i];
			if (c > ' ' && c < 0x7f && c != '.' && c != '\\') {
				if (w + 1 >= cap)
					return -1;
				out[w++] = (char)c;
				continue;
			}
			n = snprintf(out + w, cap - w, "\\%03u", c);
			if (n < 0 || (size_t)n >= cap - w)
				return -1;
			w += (size_t)n;
		}
		if (w + 1 >= cap)
			return -1;
		out[w++] = '.';
		off += 1 + (size_t)name[off];
	}
	out[w] = '\0';
	return 0;
}

int
dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t	 i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

/* A label's bytes against a string, without regard to ASCII case. */
int
dns_label_equal(const uint8_t *label, size_t len, const char *s)
{
	size_t	 i;

	if (strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (lower(label[i]) != lower((uint8_t)s[i]))
			return 0;
	return 1;
}

size_t
dns_rr_size(const struct dns_rr *rr)
{
	return (size_t)rr->owner_len + 10 + rr->head_len + rr->name_len[0] +
	    rr->name_len[1] + rr->tail_len;
}

void
dns_out_init(struct dns_out *o, uint8_t *buf, size_t cap, int compress)
{
	o->buf = buf;
	o->cap = cap > DNS_MSG_MAX ? DNS_MSG_MAX : cap;
	o->len = 0;
	o->compress = compress;
	o->ncomp = 0;
	memset(o->count, 0, sizeof(o->count));
}

static int
put(struct dns_out *o, const void *p, size_t n)
{
	if (n > o->cap - o->len)
		return -1;
	if (n > 0)
		memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

static int
put16(struct dns_out *o, uint16_t v)
{
	uint8_t	 b[2];

	set16(b, v);
	return put(o, b, 2);
}

static int
put32(struct dns_out *o, uint32_t v)
{
	uint8_t	 b[4];

	b[0] = v >> 24;
	b[1] = (v >> 16) & 0xff;
	b[2] = (v >> 8) & 0xff;
	b[3] = v & 0xff;
	return put(o, b, 4);
}

int
dns_out_header(struct dns_out *o, uint16_t id, uint16_t flags)
{
	uint8_t	 h[DNS_HDR_LEN];

	memset(h, 0, sizeof(h));
	set16(h, id);
	set16(h + 2, flags);
	o->len = 0;
	o->ncomp = 0;
	memset(o->count, 0, sizeof(o->count));
	return put(o, h, sizeof(h));
}

/* Does the name written at off (ours, so well formed) equal name? */
static int
out_name_matches(const struct dns_out *o, size_t off, const uint8_t *name)
{
	size_t	 s = 0, i;
	int	 hops = 0;
	uint8_t	 c;

	for (;;) {
		c = o->buf[off];
		if ((c & 0xc0) == 0xc0) {
			off = (size_t)(c & 0x3f) << 8 | o->buf[off + 1];
			if (++hops > DNS_LABELS_MAX)
				return 0;
			continue;
		}
		if (c != name[s])
			return 0;
		if (c == 0)
			return 1;
		for (i = 1; i <= c; i++)
			if (lower(o->buf[off + i]) != lower(name[s + i]))
				return 0;
		off += 1 + (size_t)c;
		s += 1 + (size_t)c;
	}
}

static int
out_find(const struct dns_out *o, const uint8_t *name)
{
	size_t	 i;

	for (i = 0; i < o->ncomp; i++)
		if (out_name_matches(o, o->comp[i], name))
			return o->comp[i];
	return -1;
}

static void
out_remember(struct dns_out *o, size_t off)
{
	if (o->compress && off < 0x4000 && o->ncomp < DNS_COMP_MAX)
		o->comp[o->ncomp++] = (uint16_t)off;
}

/*
 * A name, ending in a pointer to the longest suffix already written
 * when compress is set; what it writes in full is remembered either way.
 */
static int
put_name(struct dns_out *o, const uint8_t *name, size_t len, int compress)
{
	size_t	 p = 0;
	int	 at;

	while (p < len && name[p] != 0) {
		if (compress && o->compress &&
		    (at = out_find(o, name + p)) != -1)
			return put16(o, 0xc000 | (uint16_t)at);
		if (p + 1 + name[p] > len)
			return -1;
		out_remember(o, o->len);
		if (put(o, name + p, 1 + (size_t)name[p]) == -1)
			return -1;
		p += 1 + (size_t)name[p];
	}
	return put(o, "", 1);
}

int
dns_out_question(struct dns_out *o, const uint8_t *name, size_t len,
    uint16_t type, uint16_t class)
{
	size_t	 mark = o->len, ncomp = o->ncomp;

	if (put_name(o, name, len, 0) == -1 || put16(o, type) == -1 ||
	    put16(o, class) == -1) {
		o->len = mark;
		o->ncomp = ncomp;
		return -1;
	}
	o->count[DNS_S_QD]++;
	return 0;
}

/* A record; -1 and nothing written when it does not fit. */
int
dns_out_rr(struct dns_out *o, enum dns_section s, const struct dns_rr *rr)
{
	size_t	 mark = o->len, ncomp = o->ncomp, rdstart, rdlen;
	int	 compress = rr->type != DNS_T_SRV;
	int	 i;

	if (put_name(o, rr->owner, rr->owner_len, 1) == -1 ||
	    put16(o, rr->type) == -1 || put16(o, rr->class) == -1 ||
	    put32(o, rr->ttl) == -1 || put16(o, 0) == -1)
		goto fail;
	rdstart = o->len;
	if (put(o, rr->head, rr->head_len) == -1)
		goto fail;
	for (i = 0; i < 2; i++) {
		if (rr->name_len[i] > 0 && put_name(o, rr->name[i],
		    rr->name_len[i], compress) == -1)
			goto fail;
	}
	if (put(o, rr->tail, rr->tail_len) == -1)
		goto fail;
	rdlen = o->len - rdstart;
	if (rdlen > 0xffff)
		goto fail;
	set16(o->buf + rdstart - 2, (uint16_t)rdlen);
	o->count[s]++;
	return 0;
 fail:
	o->len = mark;
	o->ncomp = ncomp;
	return -1;
}

/*
 * The OPT of a response: our UDP size, the extended rcode's upper bits,
 * and the client's subnet echoed with scope 0 (RFC 7871).
 */
int
dns_out_opt(struct dns_out *o, uint16_t size, uint8_t ext_rcode,
    const struct dns_query *q)
{
	size_t	 mark = o->len;
	uint16_t rdlen = 0;

	if (q != NULL && q->ecs)
		rdlen = 8 + (uint16_t)q->ecs_addrlen;
	if (put(o, "", 1) == -1 || put16(o, DNS_T_OPT) == -1 ||
	    put16(o, size) == -1 || put32(o, (uint32_t)ext_rcode << 24) ==
	    -1 || put16(o, rdlen) == -1)
		goto fail;
	if (rdlen > 0) {
		if (put16(o, DNS_OPT_ECS) == -1 ||
		    put16(o, rdlen - 4) == -1 ||
		    put16(o, q->ecs_family) == -1 ||
		    put(o, &q->ecs_source, 1) == -1 || put(o, "", 1) == -1 ||
		    put(o, q->ecs_addr, q->ecs_addrlen) == -1)
			goto fail;
	}
	o->count[DNS_S_AR]++;
	return 0;
 fail:
	o->len = mark;
	return -1;
}

void
dns_out_finish(struct dns_out *o)
{
	int	 i;

	if (o->len < DNS_HDR_LEN)
		return;
	for (i = 0; i < DNS_S_MAX; i++)
		set16(o->buf + 4 + 2 * i, o->count[i]);
}
