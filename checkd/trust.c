/*
 * Which CAs an https check trusts.  libtls parses the CA certificates
 * of its configuration anew for every connection: with the whole
 * system bundle that is some 50 ms of CPU (OpenSSL 3, 140 CAs), during
 * which every other probe waits.  So the bundle is indexed once, before
 * the sandbox: each CA's PEM and the DER of its subject.  A check's
 * verified connections start with the whole bundle; once one succeeds,
 * the CAs whose subject is the issuer of a certificate the server sent
 * become that check's own, small, configuration, and later probes
 * verify against those.  A probe that fails with them tries again at
 * once with the whole bundle (the server may have changed CA).  OpenSSL
 * does all verification; this only chooses which of the trusted CAs it
 * is shown, never adding one.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <tls.h>

#include "checkd.h"
#include "log.h"

#define PEM_BEGIN	"-----BEGIN CERTIFICATE-----"
#define PEM_END		"-----END CERTIFICATE-----"
#define CHAIN_MAX	16	/* certificates looked at in a chain */

struct trust_ca {
	const uint8_t	*pem;		/* into trust_bundle */
	size_t		 pemlen;
	uint8_t		*subject;	/* DER of the Name */
	size_t		 subjectlen;
};

static struct tls_config	*trust_full;
static struct tls_config	*trust_none;
static uint8_t			*trust_bundle;
static struct trust_ca		*trust_cas;
static size_t			 trust_ncas;

/* One DER TLV at p: its tag, header and content lengths. */
static int
der_tlv(const uint8_t *p, size_t len, uint8_t *tag, size_t *hdr,
    size_t *clen)
{
	size_t	 n, i;

	if (len < 2 || (p[0] & 0x1f) == 0x1f)
		return -1;
	*tag = p[0];
	if (p[1] < 0x80) {
		*hdr = 2;
		*clen = p[1];
	} else {
		n = p[1] & 0x7f;
		if (n == 0 || n > 3 || len < 2 + n)
			return -1;
		for (*clen = 0, i = 0; i < n; i++)
			*clen = *clen << 8 | p[2 + i];
		*hdr = 2 + n;
	}
	return *clen <= len - *hdr ? 0 : -1;
}

/*
 * The issuer and subject Names of a DER certificate: Certificate and
 * tbsCertificate are SEQUENCEs; the version ([0]) is optional, then
 * serial, signature algorithm, issuer, validity, subject.
 */
static int
der_names(const uint8_t *p, size_t len, const uint8_t **iss,
    size_t *isslen, const uint8_t **sub, size_t *sublen)
{
	uint8_t	 tag;
	size_t	 hdr, clen, i;

	for (i = 0; i < 2; i++) {
		if (der_tlv(p, len, &tag, &hdr, &clen) == -1 || tag != 0x30)
			return -1;
		p += hdr;
		len = clen;
	}
	if (der_tlv(p, len, &tag, &hdr, &clen) == -1)
		return -1;
	if (tag == 0xa0) {
		p += hdr + clen;
		len -= hdr + clen;
	}
	for (i = 0; i < 5; i++) {
		if (der_tlv(p, len, &tag, &hdr, &clen) == -1)
			return -1;
		if (i == 2 || i == 4) {
			if (tag != 0x30)
				return -1;
			*(i == 2 ? iss : sub) = p;
			*(i == 2 ? isslen : sublen) = hdr + clen;
		}
		p += hdr + clen;
		len -= hdr + clen;
	}
	return 0;
}

static int
b64_value(uint8_t ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Base64 with line breaks into out (len * 3 / 4 bytes); its length. */
static size_t
b64_decode(const uint8_t *s, size_t len, uint8_t *out)
{
	uint32_t	 acc = 0;
	size_t		 o = 0, i;
	int		 bits = 0, v;

	for (i = 0; i < len; i++) {
		if ((v = b64_value(s[i])) == -1)
			continue;
		acc = acc << 6 | v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = acc >> bits;
		}
	}
	return o;
}

/*
 * The next PEM certificate in p[*off, len): its PEM text and its DER
 * (malloc'd).  0 at the end.
 */
static int
pem_next(const uint8_t *p, size_t len, size_t *off, const uint8_t **pem,
    size_t *pemlen, uint8_t **der, size_t *derlen)
{
	const uint8_t	*b, *body, *e;

	while (*off < len) {
		b = memmem(p + *off, len - *off, PEM_BEGIN, strlen(PEM_BEGIN));
		if (b == NULL)
			break;
		body = b + strlen(PEM_BEGIN);
		e = memmem(body, p + len - body, PEM_END, strlen(PEM_END));
		if (e == NULL)
			break;
		*off = e + strlen(PEM_END) - p;
		*pem = b;
		*pemlen = e + strlen(PEM_END) - b;
		if ((*der = malloc((e - body) * 3 / 4 + 3)) == NULL)
			fatal("check");
		*derlen = b64_decode(body, e - body, *der);
		return 1;
	}
	*off = len;
	return 0;
}

/*
 * The two shared configurations, verifying against the bundle (copied)
 * and verifying nothing, and the index of the bundle.
 */
int
trust_init(const uint8_t *ca, size_t len)
{
	const uint8_t	*pem, *iss, *sub;
	uint8_t		*der;
	size_t		 off = 0, pemlen, derlen, isslen, sublen, n = 0;
	struct trust_ca	*t;

	if (tls_init() == -1 || (trust_full = tls_config_new()) == NULL ||
	    (trust_none = tls_config_new()) == NULL)
		return -1;
	tls_config_insecure_noverifycert(trust_none);
	tls_config_insecure_noverifyname(trust_none);
	tls_config_insecure_noverifytime(trust_none);
	if (ca == NULL || len == 0)
		return 0;
	if (tls_config_set_ca_mem(trust_full, ca, len) == -1)
		return -1;
	if ((trust_bundle = malloc(len)) == NULL)
		fatal("check");
	memcpy(trust_bundle, ca, len);
	while (pem_next(trust_bundle, len, &off, &pem, &pemlen, &der,
	    &derlen) == 1) {
		if (der_names(der, derlen, &iss, &isslen, &sub, &sublen) ==
		    0) {
			if (n == trust_ncas) {
				n = n ? n * 2 : 64;
				t = reallocarray(trust_cas, n, sizeof(*t));
				if (t == NULL)
					fatal("check");
				trust_cas = t;
			}
			t = &trust_cas[trust_ncas++];
			t->pem = pem;
			t->pemlen = pemlen;
			if ((t->subject = malloc(sublen)) == NULL)
				fatal("check");
			memcpy(t->subject, sub, sublen);
			t->subjectlen = sublen;
		}
		free(der);
	}
	log_debug("tls: %zu CA certificates", trust_ncas);
	return 0;
}

void
trust_free(void)
{
	size_t	 i;

	tls_config_free(trust_full);
	tls_config_free(trust_none);
	trust_full = trust_none = NULL;
	for (i = 0; i < trust_ncas; i++)
		free(trust_cas[i].subject);
	free(trust_cas);
	free(trust_bundle);
	trust_cas = NULL;
	trust_bundle = NULL;
	trust_ncas = 0;
}

int
trust_have_ca(void)
{
	return trust_ncas > 0;
}

/* The configuration of a check that verifies nothing, or everything. */
struct tls_config *
trust_config(int skip_verify)
{
	return skip_verify ? trust_none : trust_full;
}

/*
 * The PEM of the CAs that issued certificates of a chain (malloc'd, and
 * its length), or NULL if none did.
 */
static uint8_t *
trust_pick(const uint8_t *chain, size_t len, size_t *memlen)
{
	const uint8_t	*pem, *iss, *sub;
	uint8_t		*der, *mem = NULL, *use;
	size_t		 off = 0, pemlen, derlen, isslen, sublen, i, n = 0;

	*memlen = 0;
	if ((use = calloc(trust_ncas + 1, 1)) == NULL)
		fatal("check");
	while (n++ < CHAIN_MAX && pem_next(chain, len, &off, &pem, &pemlen,
	    &der, &derlen) == 1) {
		if (der_names(der, derlen, &iss, &isslen, &sub, &sublen) == 0)
			for (i = 0; i < trust_ncas; i++)
				if (trust_cas[i].subjectlen == isslen &&
				    memcmp(trust_cas[i].subject, iss,
				    isslen) == 0)
					use[i] = 1;
		free(der);
	}
	for (i = 0; i < trust_ncas; i++) {
		if (!use[i])
			continue;
		if ((mem = realloc(mem, *memlen + trust_cas[i].pemlen + 1)) ==
		    NULL)
			fatal("check");
		memcpy(mem + *memlen, trust_cas[i].pem, trust_cas[i].pemlen);
		*memlen += trust_cas[i].pemlen;
		mem[(*memlen)++] = '\n';
	}
	free(use);
	return mem;
}

/*
 * After a verified handshake: a configuration trusting only the CAs
 * that issued the server's certificates, or NULL if there is none.
 */
struct tls_config *
trust_for_peer(struct tls *ctx)
{
	const uint8_t		*chain;
	uint8_t			*mem;
	size_t			 len, memlen;
	struct tls_config	*cfg;

	if ((chain = tls_peer_cert_chain_pem(ctx, &len)) == NULL ||
	    (mem = trust_pick(chain, len, &memlen)) == NULL)
		return NULL;
	if ((cfg = tls_config_new()) != NULL &&
	    tls_config_set_ca_mem(cfg, mem, memlen) == -1) {
		tls_config_free(cfg);
		cfg = NULL;
	}
	free(mem);
	return cfg;
}
