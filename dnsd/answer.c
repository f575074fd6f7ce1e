/*
 * Answers to queries from the view, as Consul's DNS interface gives
 * them: nodes, services (RFC 2782 forms too), addr names, PTR, SOA and
 * NS, with health filtering, shuffling, TTLs and the size rules.  The
 * records of an answer are gathered in preallocated scratch, then
 * written in one pass that keeps as many answers (each with its
 * additional records) as the transport allows.  No allocation happens
 * here unless the view has grown a service larger than any before.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "dns_proto.h"
#include "dnsd.h"

#define UDP_ANSWER_MAX		8	/* Consul's cap on udp_answer_limit */
#define TCP_SRV_MAX		1024
#define TCP_ANSWER_MAX		4096
#define NS_MAX			3

/* What a lookup found, beyond its records. */
#define FOUND			0	/* answers, or NODATA without SOA */
#define NODATA			1	/* NOERROR with the SOA */
#define NXDOMAIN		2
#define SERVFAIL		3
#define RECURSE			4
#define REMOTE			5	/* ask another datacenter first */

/* The kinds of keys in the dedup set. */
#define SEEN_NODE		1
#define SEEN_SRV		2
#define SEEN_GLUE_NODE		3
#define SEEN_GLUE_ADDR		4
#define SEEN_ADDR		5
#define SEEN_SERVICE		6

struct srv_key {
	const void		*node;
	const void		*host;		/* an instance with a name */
	uint16_t		 port;
	uint8_t			 kind;
	uint8_t			 pad[5];
	uint8_t			 addr[16];
};

static const uint8_t in_addr_arpa[] = "\007in-addr\004arpa";
static const uint8_t ip6_arpa[] = "\003ip6\004arpa";

static void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v & 0xffff);
}

static uint32_t
ttl_seconds(int64_t ns)
{
	if (ns <= 0)
		return 0;
	ns /= 1000000000;
	return ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

/* A domain from the config: "consul", "consul." (any case). */
static int
conf_domain(const char *text, uint8_t *out, size_t *len, size_t *labels)
{
	int	 n;
	size_t	 off;

	if (text == NULL || (n = dns_name_from_text(text, out,
	    DNS_NAME_MAX)) <= 1)
		return -1;
	*len = (size_t)n;
	*labels = 0;
	for (off = 0; out[off] != 0; off += 1 + out[off])
		(*labels)++;
	return 0;
}

int
dns_conf_load(struct dns_conf *c, const struct config *conf, char *err,
    size_t errlen)
{
	const struct config_durkv	*kv;
	struct ttl_rule			*r;
	size_t				 i, n;

	memset(c, 0, sizeof(*c));
	if (conf_domain(conf->domain != NULL ? conf->domain : "consul.",
	    c->domain, &c->domain_len, &c->domain_labels) == -1) {
		snprintf(err, errlen, "domain \"%s\" is not a DNS name",
		    conf->domain);
		return -1;
	}
	if (conf->alt_domain != NULL && *conf->alt_domain != '\0' &&
	    conf_domain(conf->alt_domain, c->alt, &c->alt_len,
	    &c->alt_labels) == -1) {
		snprintf(err, errlen, "alt_domain \"%s\" is not a DNS name",
		    conf->alt_domain);
		return -1;
	}
	if ((c->datacenter = strdup(conf->datacenter != NULL ?
	    conf->datacenter : "dc1")) == NULL)
		goto nomem;
	c->node_ttl = ttl_seconds(conf->dns_config.node_ttl);
	n = conf->dns_config.service_ttl.n;
	if (n > 0 && (c->ttl = calloc(n, sizeof(*c->ttl))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		kv = &conf->dns_config.service_ttl.v[i];
		r = &c->ttl[c->nttl++];
		if ((r->name = strdup(kv->key)) == NULL)
			goto nomem;
		r->ttl = ttl_seconds(kv->val);
		if (*r->name != '\0' && r->name[strlen(r->name) - 1] == '*') {
			r->prefix = 1;
			r->name[strlen(r->name) - 1] = '\0';
		}
	}
	c->only_passing = conf->dns_config.only_passing == 1;
	c->enable_truncate = conf->dns_config.enable_truncate == 1;
	c->compress = conf->dns_config.disable_compression != 1;
	c->node_meta_txt =
	    conf->dns_config.enable_additional_node_meta_txt != 0;
	c->udp_answer_limit = conf->dns_config.udp_answer_limit;
	c->a_record_limit = conf->dns_config.a_record_limit;
	c->soa_refresh = (uint32_t)conf->dns_config.soa.refresh;
	c->soa_retry = (uint32_t)conf->dns_config.soa.retry;
	c->soa_expire = (uint32_t)conf->dns_config.soa.expire;
	c->soa_min_ttl = (uint32_t)conf->dns_config.soa.min_ttl;
	c->recursors = conf->recursors.n > 0;
	return 0;
 nomem:
	dns_conf_free(c);
	snprintf(err, errlen, "out of memory");
	return -1;
}

void
dns_conf_free(struct dns_conf *c)
{
	size_t	 i;

	for (i = 0; i < c->nttl; i++)
		free(c->ttl[i].name);
	free(c->ttl);
	free(c->datacenter);
	memset(c, 0, sizeof(*c));
}

/* service_ttl: the exact name, else the longest "prefix*", else 0. */
static uint32_t
service_ttl(const struct dns_conf *c, const char *name)
{
	const struct ttl_rule	*best = NULL;
	size_t			 i, len, bestlen = 0;

	for (i = 0; i < c->nttl; i++)
		if (!c->ttl[i].prefix && strcasecmp(c->ttl[i].name, name) == 0)
			return c->ttl[i].ttl;
	for (i = 0; i < c->nttl; i++) {
		if (!c->ttl[i].prefix)
			continue;
		len = strlen(c->ttl[i].name);
		if (strncasecmp(c->ttl[i].name, name, len) == 0 &&
		    (best == NULL || len > bestlen)) {
			best = &c->ttl[i];
			bestlen = len;
		}
	}
	return best != NULL ? best->ttl : 0;
}

static int
answerer_reserve(struct answerer *a, size_t n)
{
	struct view_inst	**p;
	struct seen_slot	 *s;
	size_t			  cap;

	if (n > a->inst_cap) {
		if ((p = reallocarray(a->inst, n, sizeof(*p))) == NULL)
			return -1;
		a->inst = p;
		a->inst_cap = n;
	}
	for (cap = ANSWER_SEEN_MIN; cap < 4 * a->inst_cap; cap *= 2)
		;
	if (cap > a->seen_cap) {
		if ((s = calloc(cap, sizeof(*s))) == NULL)
			return -1;
		free(a->seen);
		a->seen = s;
		a->seen_cap = cap;
		/*
		 * Every slot is of generation 0, free for any other: the
		 * query under way (callers reserve before they add) goes on
		 * deduplicating.  With 0 here, every slot looked taken.
		 */
		a->gen = 1;
	}
	return 0;
}

struct answerer *
answerer_new(const struct dns_conf *conf, struct feed *feed)
{
	struct answerer	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->conf = conf;
	a->feed = feed;
	a->rng = (uint64_t)arc4random() << 32 | arc4random();
	if (answerer_reserve(a, 64) == -1) {
		answerer_free(a);
		return NULL;
	}
	return a;
}

void
answerer_free(struct answerer *a)
{
	if (a == NULL)
		return;
	free(a->inst);
	free(a->seen);
	free(a);
}

/* Per query: a fresh generation of the dedup set. */
static void
scratch_reset(struct answerer *a)
{
	a->nrr = 0;
	a->nanswer = 0;
	a->used = 0;
	a->full = 0;
	a->dc = a->conf->datacenter;
	if (++a->gen == 0) {
		memset(a->seen, 0, a->seen_cap * sizeof(*a->seen));
		a->gen = 1;
	}
}

/*
 * 1 the first time a key of that kind is seen in this query, else 0.
 * Keys are compared as bytes: callers zero what they do not fill.
 */
static int
seen_add(struct answerer *a, int kind, const void *key, size_t len)
{
	uint8_t		 k[SEEN_KEY_MAX];
	uint64_t	 w, h = 0x9e3779b97f4a7c15ull;
	size_t		 i, probes;

	memset(k, 0, sizeof(k));
	k[0] = (uint8_t)kind;
	memcpy(k + 1, key, len < sizeof(k) - 1 ? len : sizeof(k) - 1);
	/* A word at a time: this runs for every record of an answer. */
	for (i = 0; i < sizeof(k); i += sizeof(w)) {
		memcpy(&w, k + i, sizeof(w));
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	for (probes = 0; probes < a->seen_cap; probes++) {
		i = (h + probes) & (a->seen_cap - 1);
		if (a->seen[i].gen != a->gen) {
			a->seen[i].gen = a->gen;
			memcpy(a->seen[i].key, k, sizeof(k));
			return 1;
		}
		if (memcmp(a->seen[i].key, k, sizeof(k)) == 0)
			return 0;
	}
	return 1;
}

/* Bytes for this query; 8-aligned, since addresses are kept here too. */
static void *
arena(struct answerer *a, size_t n)
{
	void	*p;

	a->used = (a->used + 7) & ~(size_t)7;
	if (a->used > sizeof(a->arena) || n > sizeof(a->arena) - a->used) {
		a->full = 1;
		return NULL;
	}
	p = a->arena + a->used;
	a->used += n;
	return p;
}

/* "text" followed by the labels of suffix, in the arena. */
static int
make_name(struct answerer *a, const char *text, const uint8_t *suffix,
    size_t slen, const uint8_t **out, uint16_t *outlen)
{
	uint8_t	 buf[DNS_NAME_MAX], *p;
	int	 n;

	if ((n = dns_name_from_text(text, buf, sizeof(buf))) <= 1)
		return -1;
	n--;			/* its root label */
	if ((size_t)n + slen > DNS_NAME_MAX || (p = arena(a, (size_t)n +
	    slen)) == NULL)
		return -1;
	memcpy(p, buf, (size_t)n);
	memcpy(p + n, suffix, slen);
	*out = p;
	*outlen = (uint16_t)((size_t)n + slen);
	return 0;
}

static struct answer_rr *
push(struct answerer *a, enum dns_section s, int meta, uint16_t type,
    const uint8_t *owner, size_t owner_len, uint32_t ttl)
{
	struct answer_rr	*r;

	if (a->nrr >= ANSWER_RR_MAX) {
		a->full = 1;
		return NULL;
	}
	r = &a->rr[a->nrr++];
	memset(r, 0, sizeof(*r));
	r->section = s;
	r->meta = meta;
	r->group = s == DNS_S_AR ? (int)a->nanswer - 1 : -1;
	if (s == DNS_S_AN)
		a->nanswer++;
	r->rr.owner = owner;
	r->rr.owner_len = (uint16_t)owner_len;
	r->rr.type = type;
	r->rr.class = DNS_C_IN;
	r->rr.ttl = ttl;
	return r;
}

static int
push_ip(struct answerer *a, enum dns_section s, const uint8_t *owner,
    size_t owner_len, uint32_t ttl, const struct view_ip *ip)
{
	struct answer_rr	*r;
	int			 v4 = ip->family == AF_INET;

	if ((r = push(a, s, 0, v4 ? DNS_T_A : DNS_T_AAAA, owner, owner_len,
	    ttl)) == NULL)
		return -1;
	r->rr.tail = ip->addr;
	r->rr.tail_len = v4 ? 4 : 16;
	return 0;
}

static int
push_target(struct answerer *a, enum dns_section s, uint16_t type,
    const uint8_t *owner, size_t owner_len, uint32_t ttl,
    const uint8_t *target, uint16_t tlen)
{
	struct answer_rr	*r;

	if ((r = push(a, s, 0, type, owner, owner_len, ttl)) == NULL)
		return -1;
	r->rr.name[0] = target;
	r->rr.name_len[0] = tlen;
	return 0;
}

/*
 * A node's meta as TXT (RFC 1464): "key=value", with '`', '=' and
 * spaces in the key escaped by a backquote; a key starting "rfc1035-"
 * gives the raw value.  Long data is split into 255-byte strings.
 */
static int
push_meta(struct answerer *a, enum dns_section s, int meta,
    const uint8_t *owner, size_t owner_len, uint32_t ttl,
    const struct view_node *vn)
{
	struct answer_rr	*r;
	const struct cat_kv	*kv;
	uint8_t			 text[3 * CAT_STR_MAX + 2], *p;
	size_t			 i, j, n, len, chunks;

	for (i = 0; i < vn->node.nmeta; i++) {
		kv = &vn->node.meta[i];
		n = 0;
		if (strncmp(kv->key, "rfc1035-", 8) == 0) {
			len = strlen(kv->value);
			memcpy(text, kv->value, len < CAT_STR_MAX ? len :
			    CAT_STR_MAX);
			n = len < CAT_STR_MAX ? len : CAT_STR_MAX;
		} else {
			for (j = 0; kv->key[j] != '\0' && j < CAT_STR_MAX;
			    j++) {
				if (kv->key[j] == '`' || kv->key[j] == '=' ||
				    kv->key[j] == ' ')
					text[n++] = '`';
				text[n++] = (uint8_t)kv->key[j];
			}
			text[n++] = '=';
			len = strlen(kv->value);
			if (len > CAT_STR_MAX)
				len = CAT_STR_MAX;
			memcpy(text + n, kv->value, len);
			n += len;
		}
		chunks = n == 0 ? 1 : (n + 254) / 255;
		if ((p = arena(a, n + chunks)) == NULL ||
		    (r = push(a, s, meta, DNS_T_TXT, owner, owner_len, ttl)) ==
		    NULL)
			return -1;
		r->rr.tail = p;
		r->rr.tail_len = (uint16_t)(n + chunks);
		for (j = 0; j < chunks; j++) {
			len = n - j * 255 < 255 ? n - j * 255 : 255;
			*p++ = (uint8_t)len;
			memcpy(p, text + j * 255, len);
			p += len;
		}
	}
	return 0;
}

static int
inst_healthy(const struct answerer *a, const struct view_inst *in)
{
	if (in->status == VIEW_CRITICAL)
		return 0;
	return !(a->conf->only_passing && in->status == VIEW_WARNING);
}

/*
 * A number below n, from a splitmix64 sequence seeded once from
 * arc4random: the order of answers needs no cryptographic strength, and
 * arc4random costs a getpid() system call each time (libbsd checks for
 * a fork), several per query.
 */
static uint32_t
answer_random(struct answerer *a, uint32_t n)
{
	uint64_t	 z;

	z = (a->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint32_t)(((z >> 32) * (uint64_t)n) >> 32);
}

static void
shuffle(struct answerer *a, struct view_inst **v, size_t n)
{
	struct view_inst	*t;
	size_t			 i, j;

	for (i = n; i > 1; i--) {
		j = answer_random(a, (uint32_t)i);
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* A node name usable as one label, as Consul asks of NS targets. */
static int
valid_label(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
			return 0;
	return n > 0 && n <= DNS_LABEL_MAX;
}

static int
node_target(struct answerer *a, const struct view_node *vn,
    const uint8_t **t, uint16_t *tlen)
{
	char	 text[DNS_NAME_TEXT_MAX];
	int	 n;

	n = snprintf(text, sizeof(text), "%s.node.%s", vn->node.node, a->dc);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	return make_name(a, text, a->zone, a->zone_len, t, tlen);
}

static int
addr_target(struct answerer *a, const struct view_ip *ip, const uint8_t **t,
    uint16_t *tlen)
{
	char	 text[128];
	size_t	 i, n = ip->family == AF_INET ? 4 : 16, w = 0;

	for (i = 0; i < n; i++)
		w += (size_t)snprintf(text + w, sizeof(text) - w, "%02x",
		    ip->addr[i]);
	snprintf(text + w, sizeof(text) - w, ".addr.%s", a->dc);
	return make_name(a, text, a->zone, a->zone_len, t, tlen);
}

/* Up to three healthy servers: NS records with their addresses as glue. */
static int
nameservers(struct answerer *a, const struct view *v, enum dns_section s)
{
	struct view_service	*svc;
	struct view_inst	*in;
	const uint8_t		*t;
	uint16_t		 tlen;
	size_t			 i, n = 0, added = 0;

	if ((svc = view_service_find(v, "consul")) == NULL)
		return 0;
	if (answerer_reserve(a, svc->n) == -1)
		return -1;
	for (i = 0; i < svc->n; i++) {
		in = svc->inst[i];
		if (inst_healthy(a, in) && valid_label(in->node->node.node) &&
		    seen_add(a, SEEN_NODE, &in->node, sizeof(in->node)))
			a->inst[n++] = in;
	}
	shuffle(a, a->inst, n);
	for (i = 0; i < n && added < NS_MAX; i++) {
		in = a->inst[i];
		if (node_target(a, in->node, &t, &tlen) == -1)
			continue;
		if (push_target(a, s, DNS_T_NS, a->zone, a->zone_len,
		    a->conf->node_ttl, t, tlen) == -1)
			return -1;
		added++;
		if (in->node->ip.family == 0)
			continue;
		if (push_ip(a, DNS_S_AR, t, tlen, a->conf->node_ttl,
		    &in->node->ip) == -1)
			return -1;
		/* Glue of authority records stays with them. */
		if (s == DNS_S_NS)
			a->rr[a->nrr - 1].group = -1;
	}
	return (int)added;
}

static int
push_soa(struct answerer *a, enum dns_section s)
{
	const struct dns_conf	*c = a->conf;
	struct answer_rr	*r;
	const uint8_t		*mname, *rname;
	uint16_t		 mlen, rlen;
	uint8_t			*tail;
	struct timespec		 now;

	if (make_name(a, "ns", a->zone, a->zone_len, &mname, &mlen) == -1 ||
	    make_name(a, "hostmaster", a->zone, a->zone_len, &rname, &rlen) ==
	    -1 || (tail = arena(a, 20)) == NULL)
		return -1;
	if (clock_gettime(CLOCK_REALTIME, &now) == -1)
		now.tv_sec = 0;
	wr32(tail, (uint32_t)now.tv_sec);
	wr32(tail + 4, c->soa_refresh);
	wr32(tail + 8, c->soa_retry);
	wr32(tail + 12, c->soa_expire);
	wr32(tail + 16, c->soa_min_ttl);
	if ((r = push(a, s, 0, DNS_T_SOA, a->zone, a->zone_len,
	    c->soa_min_ttl)) == NULL)
		return -1;
	r->rr.name[0] = mname;
	r->rr.name_len[0] = mlen;
	r->rr.name[1] = rname;
	r->rr.name_len[1] = rlen;
	r->rr.tail = tail;
	r->rr.tail_len = 20;
	return 0;
}

static int
lookup_soa_ns(struct answerer *a, const struct dns_query *q,
    const struct view *v)
{
	int	 n;

	if (q->qtype == DNS_T_SOA) {
		if (push_soa(a, DNS_S_AN) == -1)
			return SERVFAIL;
		if (v != NULL && nameservers(a, v, DNS_S_NS) == -1)
			return SERVFAIL;
		return FOUND;
	}
	if (v == NULL)
		return SERVFAIL;
	if ((n = nameservers(a, v, DNS_S_AN)) == -1)
		return SERVFAIL;
	return n > 0 ? FOUND : NODATA;
}

static int
want_family(uint16_t qtype, int family)
{
	switch (qtype) {
	case DNS_T_A:
		return family == AF_INET;
	case DNS_T_AAAA:
		return family == AF_INET6;
	case DNS_T_ANY:
		return family == AF_INET || family == AF_INET6;
	}
	return 0;
}

/* A host name as a record target; NULL when it is no DNS name. */
static int
host_target(struct answerer *a, const char *host, const uint8_t **t,
    uint16_t *tlen)
{
	static const uint8_t	 root[1] = { 0 };

	return make_name(a, host, root, 1, t, tlen);
}

static int
lookup_node(struct answerer *a, const struct dns_query *q,
    const struct view *v, const char *name)
{
	const struct view_node	*vn;
	const uint8_t		*t;
	uint16_t		 tlen;
	uint32_t		 ttl = a->conf->node_ttl;
	int			 addr = 0;

	if ((vn = view_node_find(v, name)) == NULL)
		return NXDOMAIN;
	switch (q->qtype) {
	case DNS_T_A:
	case DNS_T_AAAA:
	case DNS_T_ANY:
		if (want_family(q->qtype, vn->ip.family)) {
			if (push_ip(a, DNS_S_AN, q->qname, q->qname_len, ttl,
			    &vn->ip) == -1)
				return SERVFAIL;
			addr = 1;
		} else if (vn->ip.family == 0 && host_target(a,
		    vn->node.address, &t, &tlen) == 0) {
			if (push_target(a, DNS_S_AN, DNS_T_CNAME, q->qname,
			    q->qname_len, ttl, t, tlen) == -1)
				return SERVFAIL;
			addr = 1;
		}
		if (q->qtype == DNS_T_ANY) {
			if (push_meta(a, DNS_S_AN, 0, q->qname, q->qname_len,
			    ttl, vn) == -1)
				return SERVFAIL;
		} else if (addr && a->conf->node_meta_txt &&
		    push_meta(a, DNS_S_AR, 1, q->qname, q->qname_len, ttl,
		    vn) == -1)
			return SERVFAIL;
		break;
	case DNS_T_TXT:
		if (push_meta(a, DNS_S_AN, 0, q->qname, q->qname_len, ttl,
		    vn) == -1)
			return SERVFAIL;
		break;
	}
	return FOUND;
}

static int
has_tag(const struct view_inst *in, const char *tag)
{
	size_t	 i;

	for (i = 0; i < in->svc.ntags; i++)
		if (strcasecmp(in->svc.tags[i], tag) == 0)
			return 1;
	return 0;
}

static int
push_srv(struct answerer *a, const struct dns_query *q,
    const struct view_inst *in, uint32_t ttl)
{
	struct answer_rr	*r;
	const struct view_node	*vn = in->node;
	const struct view_ip	*ip = NULL;
	const uint8_t		*t;
	uint16_t		 tlen;
	uint8_t			*head;
	struct srv_key		 key;
	int64_t			 w;
	int			 by_node = 0, has_addr;

	/* One record per node, address and port. */
	has_addr = in->svc.address != NULL && *in->svc.address != '\0';
	memset(&key, 0, sizeof(key));
	key.node = vn;
	key.port = (uint16_t)in->svc.port;
	if (has_addr && in->ip.family != 0)
		memcpy(key.addr, in->ip.addr, sizeof(key.addr));
	else if (has_addr)
		key.host = in;
	key.kind = (uint8_t)(has_addr ? 1 + (in->ip.family != 0) : 0);
	if (!seen_add(a, SEEN_SRV, &key, sizeof(key)))
		return 0;

	if (has_addr) {
		if (in->ip.family != 0) {
			ip = &in->ip;
			if (addr_target(a, ip, &t, &tlen) == -1)
				return 0;
		} else if (host_target(a, in->svc.address, &t, &tlen) == -1)
			return 0;
	} else if (vn->ip.family != 0) {
		ip = &vn->ip;
		by_node = 1;
		if (node_target(a, vn, &t, &tlen) == -1)
			return 0;
	} else if (host_target(a, vn->node.address, &t, &tlen) == -1)
		return 0;

	if ((head = arena(a, 6)) == NULL)
		return -1;
	w = in->status == VIEW_WARNING ? in->svc.weight_warning :
	    in->svc.weight_passing;
	wr16(head, 1);
	wr16(head + 2, (uint16_t)(w < 0 ? 0 : w > 65535 ? 65535 : w));
	wr16(head + 4, (uint16_t)in->svc.port);
	if ((r = push(a, DNS_S_AN, 0, DNS_T_SRV, q->qname, q->qname_len,
	    ttl)) == NULL)
		return -1;
	r->rr.head = head;
	r->rr.head_len = 6;
	r->rr.name[0] = t;
	r->rr.name_len[0] = tlen;
	if (ip == NULL)
		return 0;
	/* The target's address and meta, once per target. */
	if (by_node ? !seen_add(a, SEEN_GLUE_NODE, &vn, sizeof(vn)) :
	    !seen_add(a, SEEN_GLUE_ADDR, ip, sizeof(*ip)))
		return 0;
	if (push_ip(a, DNS_S_AR, t, tlen, ttl, ip) == -1)
		return -1;
	if (by_node && a->conf->node_meta_txt &&
	    push_meta(a, DNS_S_AR, 1, t, tlen, ttl, vn) == -1)
		return -1;
	return 0;
}

static int
lookup_service(struct answerer *a, const struct dns_query *q,
    const struct view *v, const char *name, const char *tag,
    const struct view_query *vq, const char *asked)
{
	struct view_service	*s;
	struct view_inst	*in;
	const struct view_ip	*ip;
	const uint8_t		*t;
	uint16_t		 tlen, qtype = q->qtype;
	uint32_t		 ttl;
	size_t			 i, n = 0;
	int			 ips = 0;

	if ((s = view_service_find(v, name)) == NULL)
		return NXDOMAIN;
	if (answerer_reserve(a, s->n) == -1)
		return SERVFAIL;
	for (i = 0; i < s->n; i++) {
		in = s->inst[i];
		if (inst_healthy(a, in) && (tag == NULL || has_tag(in, tag)) &&
		    (vq == NULL || view_query_match(vq, in, asked)))
			a->inst[n++] = in;
	}
	if (n == 0)
		return NXDOMAIN;
	shuffle(a, a->inst, n);
	ttl = vq != NULL && vq->ttl_set ? vq->ttl : service_ttl(a->conf, name);
	if (qtype == DNS_T_SRV) {
		for (i = 0; i < n && !a->full; i++)
			if (push_srv(a, q, a->inst[i], ttl) == -1)
				break;
		return a->nanswer > 0 ? FOUND : NODATA;
	}
	if (qtype == DNS_T_TXT)
		qtype = DNS_T_ANY;
	if (!want_family(qtype, AF_INET) && !want_family(qtype, AF_INET6))
		return NODATA;
	for (i = 0; i < n && !a->full; i++) {
		in = a->inst[i];
		ip = in->svc.address != NULL && *in->svc.address != '\0' ?
		    &in->ip : &in->node->ip;
		if (!want_family(qtype, ip->family) ||
		    !seen_add(a, SEEN_ADDR, ip, sizeof(*ip)))
			continue;
		if (push_ip(a, DNS_S_AN, q->qname, q->qname_len, ttl, ip) == -1)
			break;
		ips++;
	}
	/* A host name only when no address answers; one CNAME at most. */
	for (i = 0; i < n && ips == 0; i++) {
		in = a->inst[i];
		ip = in->svc.address != NULL && *in->svc.address != '\0' ?
		    &in->ip : &in->node->ip;
		if (ip->family != 0 || host_target(a, ip == &in->ip ?
		    in->svc.address : in->node->node.address, &t, &tlen) == -1)
			continue;
		if (push_target(a, DNS_S_AN, DNS_T_CNAME, q->qname,
		    q->qname_len, ttl, t, tlen) == -1)
			return SERVFAIL;
		break;
	}
	return a->nanswer > 0 ? FOUND : NODATA;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* <8 or 32 hex digits>.addr: the address itself. */
static int
lookup_addr(struct answerer *a, const struct dns_query *q,
    const uint8_t *label, size_t len)
{
	struct view_ip	*ip;
	size_t		 i;
	int		 hi, lo;

	if (len != 8 && len != 32)
		return NXDOMAIN;
	if ((ip = arena(a, sizeof(*ip))) == NULL)
		return SERVFAIL;
	memset(ip, 0, sizeof(*ip));
	ip->family = len == 8 ? AF_INET : AF_INET6;
	for (i = 0; i < len / 2; i++) {
		if ((hi = hexval(label[2 * i])) == -1 ||
		    (lo = hexval(label[2 * i + 1])) == -1)
			return NXDOMAIN;
		ip->addr[i] = (uint8_t)(hi << 4 | lo);
	}
	if (!want_family(q->qtype, ip->family))
		return NODATA;
	if (push_ip(a, DNS_S_AN, q->qname, q->qname_len, a->conf->node_ttl,
	    ip) == -1)
		return SERVFAIL;
	return FOUND;
}

/* Labels [from, to) of the question joined by dots; -1 if odd bytes. */
static int
join_labels(const struct dns_query *q, size_t from, size_t to, char *out,
    size_t cap)
{
	const uint8_t	*l;
	size_t		 i, w = 0;

	for (i = from; i < to; i++) {
		l = q->qname + q->label[i];
		if (memchr(l + 1, '\0', l[0]) != NULL ||
		    memchr(l + 1, '.', l[0]) != NULL || w + l[0] + 2 > cap)
			return -1;
		if (i > from)
			out[w++] = '.';
		memcpy(out + w, l + 1, l[0]);
		w += l[0];
	}
	out[w] = '\0';
	return 0;
}

static int
label_is(const struct dns_query *q, size_t i, const char *s)
{
	const uint8_t	*l = q->qname + q->label[i];

	return dns_label_equal(l + 1, l[0], s);
}

static int
label_underscore(const struct dns_query *q, size_t i)
{
	const uint8_t	*l = q->qname + q->label[i];

	return l[0] > 1 && l[1] == '_';
}

/*
 * The view of another datacenter for a name: 0 with *v, or what to
 * answer: REMOTE (asked for in a->want_*), NXDOMAIN (no such
 * datacenter) or SERVFAIL (it could not be asked).
 */
static int
remote_view(struct answerer *a, const char *dc, int kind, const char *name,
    const struct view **v)
{
	switch (remote_lookup(a->remotes, dc, kind, name, v)) {
	case REMOTE_OK:
		return 0;
	case REMOTE_MISS:
		if (strlcpy(a->want_name, name, sizeof(a->want_name)) >=
		    sizeof(a->want_name))
			return SERVFAIL;
		strlcpy(a->want_dc, dc, sizeof(a->want_dc));
		a->want_kind = kind;
		return REMOTE;
	case REMOTE_NO_DC:
		return NXDOMAIN;
	}
	return SERVFAIL;
}

/* Whether dc is among the n first of v. */
static int
dc_listed(const char *const *v, size_t n, const char *dc)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], dc) == 0)
			return 1;
	return 0;
}

/*
 * A prepared query found no instance here: as /v1/query/<name>/execute
 * does, the NearestN other datacenters nearest first (catalog/
 * datacenters' order, asked of raftd), then Failover.Datacenters in
 * order, each once; the first with an instance answers (one that
 * cannot be reached counts as having none).
 */
static int
query_failover(struct answerer *a, const struct dns_query *q,
    const struct view_query *vq, const char *service, const char *asked)
{
	const char		*order[REMOTE_DCS_MAX + 32 + 1];
	char *const		*dcs;
	const struct view	*rv;
	size_t			 i, n = 0, ndcs = 0, near = 0;
	int			 r;

	order[n++] = a->conf->datacenter;
	if (vq->nearest > 0) {
		r = remote_lookup_dcs(a->remotes, a->conf->datacenter, &dcs,
		    &ndcs);
		if (r == REMOTE_MISS) {
			strlcpy(a->want_dc, a->conf->datacenter,
			    sizeof(a->want_dc));
			a->want_kind = DNS_REMOTE_DCS;
			a->want_name[0] = '\0';
			return REMOTE;
		}
		for (i = 0; i < ndcs && near < vq->nearest; i++)
			if (!dc_listed(order, n, dcs[i])) {
				order[n++] = dcs[i];
				near++;
			}
	}
	for (i = 0; i < vq->nfailover && n < sizeof(order) / sizeof(order[0]);
	    i++)
		if (!dc_listed(order, n, vq->failover[i]))
			order[n++] = vq->failover[i];
	for (i = 1; i < n; i++) {
		r = remote_view(a, order[i], DNS_REMOTE_SERVICE, service, &rv);
		if (r == REMOTE)
			return REMOTE;
		if (r != 0)
			continue;
		strlcpy(a->rdc, order[i], sizeof(a->rdc));
		a->dc = a->rdc;
		if ((r = lookup_service(a, q, rv, service, NULL, vq,
		    asked)) != NXDOMAIN)
			return r;
	}
	a->dc = a->conf->datacenter;
	return NXDOMAIN;
}

/* <query>.query: here, failing over; or in the datacenter asked. */
static int
lookup_query(struct answerer *a, const struct dns_query *q,
    const struct view *v, const char *name, int remote)
{
	char			 svc[DNS_NAME_TEXT_MAX];
	char			 key[DNS_NAME_TEXT_MAX + 64];
	const struct view_query	*vq;
	const struct view	*rv = NULL;
	int			 r;

	if (remote && (r = remote_view(a, a->rdc, DNS_REMOTE_QUERIES, "",
	    &v)) != 0)
		return r;
	if (v == NULL)
		return SERVFAIL;
	if ((vq = view_query_find(v, name)) == NULL ||
	    view_query_expand(vq, vq->service, name, svc, sizeof(svc)) == -1 ||
	    *svc == '\0')
		return NXDOMAIN;
	/*
	 * A query with its own Token: the instances that token may read,
	 * asked of the servers (the view has what the DNS token may).
	 */
	if (vq->has_token) {
		if ((size_t)snprintf(key, sizeof(key), "%s/%s", vq->id,
		    svc) >= sizeof(key))
			return SERVFAIL;
		if ((r = remote_view(a, remote ? a->rdc :
		    a->conf->datacenter, DNS_REMOTE_QUERY_SERVICE, key,
		    &rv)) != 0)
			return r;
		r = lookup_service(a, q, rv, svc, NULL, vq, name);
		if (remote || r != NXDOMAIN || (vq->nfailover == 0 &&
		    vq->nearest == 0))
			return r;
		return query_failover(a, q, vq, svc, name);
	}
	if (remote) {
		if ((r = remote_view(a, a->rdc, DNS_REMOTE_SERVICE, svc,
		    &rv)) != 0)
			return r;
		return lookup_service(a, q, rv, svc, NULL, vq, name);
	}
	r = lookup_service(a, q, v, svc, NULL, vq, name);
	if (r != NXDOMAIN || (vq->nfailover == 0 && vq->nearest == 0))
		return r;
	return query_failover(a, q, vq, svc, name);
}

/*
 * A name in the domain, its n labels before the domain: the last says
 * what is asked, else it is the datacenter (or "<dc>.dc") and the one
 * before says.  A datacenter other than this one is asked through
 * raftd (remote.c), unless the answer is in the cache.
 */
static int
lookup_name(struct answerer *a, const struct dns_query *q,
    const struct view *v, size_t n)
{
	char		 name[DNS_NAME_TEXT_MAX], tag[DNS_NAME_TEXT_MAX];
	const uint8_t	*l;
	size_t		 i;
	int		 dc = 0, rfc2782, remote = 0, r;

	for (;;) {
		if (n == 0)
			return NXDOMAIN;
		if (label_is(q, n - 1, "service") || label_is(q, n - 1, "node") ||
		    label_is(q, n - 1, "addr") || label_is(q, n - 1, "query") ||
		    label_is(q, n - 1, "connect") ||
		    label_is(q, n - 1, "ingress") ||
		    label_is(q, n - 1, "virtual"))
			break;
		if (q->qtype == DNS_T_SRV && label_underscore(q, n - 1))
			break;
		if (dc)
			return NXDOMAIN;
		dc = 1;
		if (n >= 2 && label_is(q, n - 1, "dc"))
			n--;
		if (!label_is(q, n - 1, a->conf->datacenter)) {
			/* Datacenter names are lower case; DNS is not. */
			if (join_labels(q, n - 1, n, a->rdc,
			    sizeof(a->rdc)) == -1)
				return NXDOMAIN;
			for (i = 0; a->rdc[i] != '\0'; i++)
				if (a->rdc[i] >= 'A' && a->rdc[i] <= 'Z')
					a->rdc[i] += 'a' - 'A';
			if (!dc_name_valid(a->rdc))
				return NXDOMAIN;
			remote = 1;
		}
		n--;
	}
	rfc2782 = label_underscore(q, n - 1);
	if (remote)
		a->dc = a->rdc;
	if (label_is(q, n - 1, "node")) {
		if (n < 2 || join_labels(q, 0, n - 1, name, sizeof(name)) == -1)
			return NXDOMAIN;
		if (remote && (r = remote_view(a, a->rdc, DNS_REMOTE_NODE,
		    name, &v)) != 0)
			return r;
		return v == NULL ? SERVFAIL : lookup_node(a, q, v, name);
	}
	if (label_is(q, n - 1, "addr")) {
		if (n != 2)
			return NXDOMAIN;
		/* Only a datacenter that exists has addresses. */
		if (remote && (r = remote_view(a, a->rdc, DNS_REMOTE_QUERIES,
		    "", &v)) != 0)
			return r;
		l = q->qname + q->label[0];
		return lookup_addr(a, q, l + 1, l[0]);
	}
	if (label_is(q, n - 1, "query")) {
		if (n < 2 || join_labels(q, 0, n - 1, name, sizeof(name)) == -1)
			return NXDOMAIN;
		return lookup_query(a, q, v, name, remote);
	}
	if (!rfc2782 && !label_is(q, n - 1, "service"))
		return NXDOMAIN;	/* mesh names */
	if (!rfc2782)
		n--;
	if (n == 0)
		return NXDOMAIN;
	if (n == 2 && label_underscore(q, 0) && label_underscore(q, 1)) {
		if (join_labels(q, 0, 1, name, sizeof(name)) == -1 ||
		    join_labels(q, 1, 2, tag, sizeof(tag)) == -1)
			return NXDOMAIN;
		if (remote && (r = remote_view(a, a->rdc, DNS_REMOTE_SERVICE,
		    name + 1, &v)) != 0)
			return r;
		if (v == NULL)
			return SERVFAIL;
		return lookup_service(a, q, v, name + 1,
		    strcasecmp(tag, "_tcp") == 0 ? NULL : tag + 1, NULL, NULL);
	}
	if (rfc2782 || join_labels(q, n - 1, n, name, sizeof(name)) == -1 ||
	    (n > 1 && join_labels(q, 0, n - 1, tag, sizeof(tag)) == -1))
		return NXDOMAIN;
	if (remote && (r = remote_view(a, a->rdc, DNS_REMOTE_SERVICE, name,
	    &v)) != 0)
		return r;
	if (v == NULL)
		return SERVFAIL;
	return lookup_service(a, q, v, name, n > 1 ? tag : NULL, NULL, NULL);
}

/* The address of an in-addr.arpa or ip6.arpa name, or -1. */
static int
arpa_ip(const struct dns_query *q, size_t n, int v6, struct view_ip *ip)
{
	const uint8_t	*l;
	size_t		 i, j;
	unsigned int	 val;
	int		 h;

	memset(ip, 0, sizeof(*ip));
	if (n != (v6 ? 32u : 4u))
		return -1;
	for (i = 0; i < n; i++) {
		l = q->qname + q->label[n - 1 - i];
		if (v6) {
			if (l[0] != 1 || (h = hexval(l[1])) == -1)
				return -1;
			ip->addr[i / 2] |= (uint8_t)(i % 2 ? h : h << 4);
			continue;
		}
		if (l[0] < 1 || l[0] > 3 || (l[0] > 1 && l[1] == '0'))
			return -1;
		for (val = 0, j = 1; j <= l[0]; j++) {
			if (l[j] < '0' || l[j] > '9')
				return -1;
			val = val * 10 + (l[j] - '0');
		}
		if (val > 255)
			return -1;
		ip->addr[i] = (uint8_t)val;
	}
	ip->family = v6 ? AF_INET6 : AF_INET;
	return 0;
}

static int
lookup_ptr(struct answerer *a, const struct dns_query *q,
    const struct view *v, size_t n, int v6)
{
	struct view_ip		 ip;
	struct view_addr	*e;
	struct view_inst	*in;
	struct view_node	*vn;
	const uint8_t		*t;
	uint16_t		 tlen;
	char			 text[DNS_NAME_TEXT_MAX];
	int			 w;

	if ((q->qtype != DNS_T_PTR && q->qtype != DNS_T_ANY) ||
	    arpa_ip(q, n, v6, &ip) == -1)
		return RECURSE;
	if (v == NULL)
		return SERVFAIL;
	for (e = view_addr_first(v, &ip); e != NULL; e = view_addr_next(v, e)) {
		if (e->is_service) {
			if (a->nanswer > 0)
				break;	/* nodes come first and win */
			in = e->owner;
			if (!seen_add(a, SEEN_SERVICE, &in->service,
			    sizeof(in->service)))
				continue;
			w = snprintf(text, sizeof(text), "%s.service.%s",
			    in->svc.service, a->conf->datacenter);
			if (w < 0 || (size_t)w >= sizeof(text) ||
			    make_name(a, text, a->zone, a->zone_len, &t,
			    &tlen) == -1)
				continue;
		} else {
			vn = e->owner;
			if (node_target(a, vn, &t, &tlen) == -1)
				continue;
		}
		if (push_target(a, DNS_S_AN, DNS_T_PTR, q->qname, q->qname_len,
		    0, t, tlen) == -1)
			break;
	}
	return a->nanswer > 0 ? FOUND : RECURSE;
}

/* Does the question end in the wire name suffix (of that many labels)? */
static int
in_zone(const struct dns_query *q, const uint8_t *suffix, size_t len,
    size_t labels)
{
	size_t	 off;

	if (len == 0 || labels == 0 || q->nlabels < labels)
		return 0;
	off = q->label[q->nlabels - labels];
	return dns_name_equal(q->qname + off, q->qname_len - off, suffix, len);
}

static size_t
rr_bytes(const struct answerer *a, size_t i)
{
	return dns_rr_size(&a->rr[i].rr);
}

/*
 * How many answers fit in max bytes (counted uncompressed, as Consul
 * does, so a reply stays within bounds for whoever decompresses it),
 * each with its additional records; at least one.
 */
static size_t
fit(const struct answerer *a, size_t base, size_t max, size_t keep_max,
    int dropmeta)
{
	size_t	 i, used = base, cost = 0, keep = 0, seen = 0;

	for (i = 0; i < a->nrr; i++) {
		if (a->rr[i].section == DNS_S_NS ||
		    (a->rr[i].section == DNS_S_AR && a->rr[i].group < 0))
			used += rr_bytes(a, i);
	}
	for (i = 0; i <= a->nrr; i++) {
		if (i == a->nrr || a->rr[i].section == DNS_S_AN) {
			if (seen > 0) {
				if (keep > 0 && used + cost > max)
					break;
				used += cost;
				keep++;
			}
			if (i == a->nrr || keep >= keep_max)
				break;
			seen++;
			cost = rr_bytes(a, i);
		} else if (a->rr[i].section == DNS_S_AR &&
		    a->rr[i].group >= 0 && !(dropmeta && a->rr[i].meta))
			cost += rr_bytes(a, i);
	}
	return keep;
}

static size_t
emit(struct answerer *a, const struct dns_query *q, int tcp, int rcode,
    uint8_t *out, size_t cap)
{
	const struct dns_conf	*c = a->conf;
	struct dns_out		 o;
	size_t			 max, keep_max, keep, base, i, avail;
	int			 dropmeta = 0, trimmed = 0, e;
	uint16_t		 flags;

	if (tcp) {
		max = DNS_MSG_MAX;
		keep_max = q->qtype == DNS_T_SRV ? TCP_SRV_MAX : TCP_ANSWER_MAX;
	} else if (q->edns) {
		max = q->edns_size;
		keep_max = a->nanswer;
	} else {
		max = DNS_UDP_MIN;
		keep_max = c->udp_answer_limit < UDP_ANSWER_MAX ?
		    (size_t)c->udp_answer_limit : UDP_ANSWER_MAX;
	}
	/* a_record_limit is a cap, not a trimming: it sets no TC. */
	avail = a->nanswer;
	if (c->a_record_limit > 0 && (q->qtype == DNS_T_A ||
	    q->qtype == DNS_T_AAAA || q->qtype == DNS_T_ANY) &&
	    (size_t)c->a_record_limit < avail)
		avail = (size_t)c->a_record_limit;
	if (avail < keep_max)
		keep_max = avail;
	base = DNS_HDR_LEN + q->qname_len + 4;
	if (q->edns)
		base += 11 + (q->ecs ? 8 + q->ecs_addrlen : 0);
	keep = fit(a, base, max, keep_max, 0);
	if (keep < avail || a->full) {
		dropmeta = trimmed = 1;
		keep = fit(a, base, max, keep_max, 1);
	}

	flags = DNS_F_QR | DNS_F_AA | (q->flags & (DNS_F_RD | DNS_F_OPCODE)) |
	    (rcode & DNS_F_RCODE);
	if (c->recursors)
		flags |= DNS_F_RA;
	if (trimmed && !tcp && c->enable_truncate)
		flags |= DNS_F_TC;
	dns_out_init(&o, out, cap, c->compress);
	if (dns_out_header(&o, q->id, flags) == -1 ||
	    dns_out_question(&o, q->qname, q->qname_len, q->qtype,
	    q->qclass) == -1)
		return 0;
	for (e = 0, i = 0; i < a->nrr; i++) {
		if (a->rr[i].section != DNS_S_AN)
			continue;
		if ((size_t)e++ >= keep ||
		    dns_out_rr(&o, DNS_S_AN, &a->rr[i].rr) == -1)
			break;
	}
	for (i = 0; i < a->nrr; i++)
		if (a->rr[i].section == DNS_S_NS)
			(void)dns_out_rr(&o, DNS_S_NS, &a->rr[i].rr);
	for (i = 0; i < a->nrr; i++) {
		if (a->rr[i].section != DNS_S_AR ||
		    (a->rr[i].group >= 0 && (size_t)a->rr[i].group >= keep) ||
		    (dropmeta && a->rr[i].meta))
			continue;
		(void)dns_out_rr(&o, DNS_S_AR, &a->rr[i].rr);
	}
	if (q->edns)
		(void)dns_out_opt(&o, q->edns_size, 0, q);
	dns_out_finish(&o);
	return o.len;
}

/* A reply with no records: errors, refusals, and SERVFAIL. */
size_t
answer_error(const struct dns_conf *c, const struct dns_query *q, int rcode,
    uint8_t *out, size_t cap)
{
	struct dns_out	 o;
	uint16_t	 flags;

	flags = DNS_F_QR | (q->flags & (DNS_F_RD | DNS_F_OPCODE)) |
	    (rcode & DNS_F_RCODE);
	if (c->recursors)
		flags |= DNS_F_RA;
	dns_out_init(&o, out, cap, 0);
	if (dns_out_header(&o, q->id, flags) == -1)
		return 0;
	if (q->qname_len > 0)
		(void)dns_out_question(&o, q->qname, q->qname_len, q->qtype,
		    q->qclass);
	if (q->edns || rcode == DNS_R_BADVERS)
		(void)dns_out_opt(&o, q->edns_size < DNS_UDP_MIN ? DNS_UDP_MIN :
		    q->edns_size, (uint8_t)(rcode >> 4), q);
	dns_out_finish(&o);
	return o.len;
}

/*
 * Answer the query in pkt into out: ANSWER_REPLY with *outlen bytes,
 * ANSWER_DROP, or ANSWER_RECURSE when the name belongs to the
 * recursors (q then describes it).
 */
enum answer_result
answer_query(struct answerer *a, const uint8_t *pkt, size_t len, int tcp,
    struct dns_query *q, uint8_t *out, size_t cap, size_t *outlen)
{
	const struct dns_conf	*c = a->conf;
	const struct view	*v;
	int			 r, arpa6 = 0;
	size_t			 nl = 0;

	if (dns_parse_query(pkt, len, q) == -1)
		return ANSWER_DROP;
	if (q->rcode != DNS_R_NOERROR) {
		*outlen = answer_error(c, q, q->rcode, out, cap);
		return ANSWER_REPLY;
	}
	if (q->qtype == DNS_T_AXFR || q->qtype == DNS_T_IXFR) {
		*outlen = answer_error(c, q, DNS_R_NOTIMP, out, cap);
		return ANSWER_REPLY;
	}
	if (in_zone(q, c->domain, c->domain_len, c->domain_labels)) {
		a->zone = c->domain;
		a->zone_len = c->domain_len;
		nl = q->nlabels - c->domain_labels;
	} else if (in_zone(q, c->alt, c->alt_len, c->alt_labels)) {
		a->zone = c->alt;
		a->zone_len = c->alt_len;
		nl = q->nlabels - c->alt_labels;
	} else if (in_zone(q, in_addr_arpa, sizeof(in_addr_arpa), 2) ||
	    (arpa6 = in_zone(q, ip6_arpa, sizeof(ip6_arpa), 2))) {
		/* PTR names are answered in the primary domain. */
		a->zone = c->domain;
		a->zone_len = c->domain_len;
		nl = q->nlabels - 2;
		arpa6 = arpa6 ? 2 : 1;
	} else {
		if (c->recursors)
			return ANSWER_RECURSE;
		*outlen = answer_error(c, q, DNS_R_REFUSED, out, cap);
		return ANSWER_REPLY;
	}
	if (q->qclass != DNS_C_IN && q->qclass != DNS_C_ANY) {
		*outlen = answer_error(c, q, DNS_R_NOTIMP, out, cap);
		return ANSWER_REPLY;
	}

	scratch_reset(a);
	v = feed_view(a->feed);
	if (arpa6 != 0)
		r = lookup_ptr(a, q, v, nl, arpa6 == 2);
	else if (q->qtype == DNS_T_SOA || q->qtype == DNS_T_NS)
		r = lookup_soa_ns(a, q, v);
	else
		r = lookup_name(a, q, v, nl);

	switch (r) {
	case REMOTE:
		return ANSWER_REMOTE;
	case RECURSE:
		if (c->recursors)
			return ANSWER_RECURSE;
		r = NXDOMAIN;
		/* FALLTHROUGH */
	case NXDOMAIN:
	case NODATA:
		/* Negative answers carry the SOA and nothing else. */
		a->nrr = a->nanswer = 0;
		a->full = 0;
		if (push_soa(a, DNS_S_NS) == -1)
			goto servfail;
		*outlen = emit(a, q, tcp, r == NXDOMAIN ? DNS_R_NXDOMAIN :
		    DNS_R_NOERROR, out, cap);
		return ANSWER_REPLY;
	case SERVFAIL:
		goto servfail;
	}
	*outlen = emit(a, q, tcp, DNS_R_NOERROR, out, cap);
	return ANSWER_REPLY;
 servfail:
	*outlen = answer_error(c, q, DNS_R_SERVFAIL, out, cap);
	return ANSWER_REPLY;
}
