/*
 * consulctl tls ca create and tls cert create: the certificate authority
 * and the agent certificates for TLS between agents, made with libcrypto
 * the way Consul's own tooling makes them (ECDSA P-256 keys, random
 * 128-bit serials, the same subjects, extensions, file names and
 * messages), so that a walkthrough written for `consul tls` works as is.
 * Nothing here talks to an agent.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "consulctl.h"

#define TLS_FILE_MAX	(1024 * 1024)	/* a CA or key file read back */
#define TLS_INDEX_MAX	10000		/* the last file index Consul tries */
#define TLS_SERIAL_BITS	128
#define TLS_KEYID_LEN	32		/* SHA-256 of the public key */

/* Bits of the X.509 key usage extension. */
#define BIT_DIGITAL_SIGNATURE	0
#define BIT_KEY_ENCIPHERMENT	2
#define BIT_CERT_SIGN		5
#define BIT_CRL_SIGN		6

enum tls_kind {
	TLS_SERVER,
	TLS_CLIENT,
	TLS_CLI
};

struct tls_ip {
	unsigned char	 addr[16];
	int		 len;		/* 4 or 16 */
};

/* What goes into an agent certificate besides its key. */
struct tls_leaf {
	enum tls_kind	 kind;
	const char	*name;		/* CN, and the name verified */
	const char	**dns;
	size_t		 ndns;
	struct tls_ip	*ips;
	size_t		 nips;
	int		 days;
};

/* Errors go to stderr after what was already said on stdout. */
static void
tls_error(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* An errno as Go spells it, which is the C text in lower case. */
static const char *
errno_text(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' &&
	    !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] += 'a' - 'A';
	return buf;
}

/* Consul counts a path as taken unless stat says it does not exist. */
static int
file_taken(const char *path)
{
	struct stat	 sb;

	return stat(path, &sb) == 0 || errno != ENOENT;
}

/*
 * Read a whole small file into a NUL-terminated buffer.  The caller
 * wipes and frees it (it may hold a private key).
 */
static int
file_read(const char *path, const char *what, char **out, size_t *outlen)
{
	struct stat	 sb;
	char		 e[128], *buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		tls_error("Error reading %s: open %s: %s", what, path,
		    errno_text(errno, e, sizeof(e)));
		return -1;
	}
	if (fstat(fd, &sb) == -1)
		goto fail;
	if (S_ISDIR(sb.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if (sb.st_size > TLS_FILE_MAX) {
		errno = EFBIG;
		goto fail;
	}
	if ((buf = malloc(TLS_FILE_MAX + 1)) == NULL)
		goto fail;
	while (len < TLS_FILE_MAX &&
	    (n = read(fd, buf + len, TLS_FILE_MAX - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		len += n;
	}
	if (len == TLS_FILE_MAX) {
		errno = EFBIG;
		goto fail;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
 fail:
	tls_error("Error reading %s: read %s: %s", what, path,
	    errno_text(errno, e, sizeof(e)));
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	close(fd);
	return -1;
}

/*
 * Write a new file whole or not at all: a temporary file beside it,
 * synced, then linked to its name, which fails rather than replace a
 * file that appeared meanwhile.
 */
static int
file_write_new(const char *path, BIO *data, mode_t mode)
{
	char		 tmp[PATH_MAX], e[128];
	char		*p;
	long		 len;
	mode_t		 mask;
	int		 fd, saved;

	if ((len = BIO_get_mem_data(data, &p)) <= 0) {
		tls_error("error encoding %s", path);
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    (int)sizeof(tmp)) {
		tls_error("open %s: %s", path,
		    errno_text(ENAMETOOLONG, e, sizeof(e)));
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		tls_error("open %s: %s", tmp, errno_text(errno, e, sizeof(e)));
		return -1;
	}
	mask = umask(0);
	umask(mask);
	errno = EIO;	/* what a short write leaves unexplained */
	if (fchmod(fd, mode & ~mask) == -1 ||
	    write(fd, p, len) != len || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		tls_error("write %s: %s", tmp, errno_text(saved, e, sizeof(e)));
		return -1;
	}
	if (close(fd) == -1 || link(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		if (saved == EEXIST)
			tls_error("%s already exists.", path);
		else
			tls_error("link %s %s: %s", tmp, path,
			    errno_text(saved, e, sizeof(e)));
		return -1;
	}
	unlink(tmp);
	return 0;
}

/* A DNS name as -domain takes it: dot-separated labels, no final dot. */
static int
domain_valid(const char *s)
{
	size_t	 label = 0, total = 0;

	for (; *s != '\0'; s++, total++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && total <= 253;
}

/* A name that can go into a certificate as a dNSName (an IA5String). */
static int
ia5_valid(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s > 0x7f)
			return 0;
	return 1;
}

/* As Go, trim the white space around a repeated flag's value. */
static char *
trim(const char *s)
{
	size_t	 n;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
	    *s == '\v' || *s == '\f')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\v' ||
	    s[n - 1] == '\f'))
		n--;
	return strndup(s, n);
}

/* An IPv4 address is 4 bytes in a certificate, even written as IPv6. */
static int
ip_parse(const char *s, struct tls_ip *ip)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (inet_pton(AF_INET, s, ip->addr) == 1) {
		ip->len = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->addr) != 1)
		return -1;
	ip->len = 16;
	if (memcmp(ip->addr, mapped, sizeof(mapped)) == 0) {
		memmove(ip->addr, ip->addr + 12, 4);
		ip->len = 4;
	}
	return 0;
}

/*
 * Add one attribute to a name, as a PrintableString when its characters
 * allow (as Go encodes them), else as UTF-8.
 */
static int
name_add(X509_NAME *name, int nid, const char *value)
{
	const char	*p;
	int		 type = V_ASN1_PRINTABLESTRING;

	for (p = value; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(" '()+,-./:=?", *p)))
			type = MBSTRING_UTF8;
	return X509_NAME_add_entry_by_NID(name, nid, type,
	    (const unsigned char *)value, -1, -1, 0) == 1 ? 0 : -1;
}

/* The key identifier Consul uses: SHA-256 of the DER public key. */
static int
key_id(EVP_PKEY *key, unsigned char id[TLS_KEYID_LEN])
{
	unsigned char	*der = NULL;
	unsigned int	 idlen = TLS_KEYID_LEN;
	int		 len, rc;

	if ((len = i2d_PUBKEY(key, &der)) <= 0)
		return -1;
	rc = EVP_Digest(der, len, id, &idlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return rc == 1 && idlen == TLS_KEYID_LEN ? 0 : -1;
}

/*
 * Version, a random 128-bit serial (returned in decimal when dec is not
 * NULL), validity from now for days, and the public key.
 */
static int
cert_init(X509 *x, EVP_PKEY *key, int days, char **dec)
{
	BIGNUM		*bn;
	ASN1_INTEGER	*serial = NULL;
	int		 rc = -1;

	if ((bn = BN_new()) == NULL)
		return -1;
	do {
		if (BN_rand(bn, TLS_SERIAL_BITS, BN_RAND_TOP_ANY,
		    BN_RAND_BOTTOM_ANY) != 1)
			goto fail;
	} while (BN_is_zero(bn));
	if ((serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_set_serialNumber(x, serial) != 1 ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;
	if (dec != NULL && (*dec = BN_bn2dec(bn)) == NULL)
		goto fail;
	rc = 0;
 fail:
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return rc;
}

static int
ext_key_usage(X509 *x, int bit1, int bit2, int bit3)
{
	ASN1_BIT_STRING	*bs;
	int		 rc;

	if ((bs = ASN1_BIT_STRING_new()) == NULL)
		return -1;
	rc = ASN1_BIT_STRING_set_bit(bs, bit1, 1) == 1 &&
	    ASN1_BIT_STRING_set_bit(bs, bit2, 1) == 1 &&
	    (bit3 == -1 || ASN1_BIT_STRING_set_bit(bs, bit3, 1) == 1) &&
	    X509_add1_ext_i2d(x, NID_key_usage, bs, 1, X509V3_ADD_DEFAULT) ==
	    1 ? 0 : -1;
	ASN1_BIT_STRING_free(bs);
	return rc;
}

static int
ext_basic_constraints(X509 *x, int ca)
{
	BASIC_CONSTRAINTS	*bc;
	int			 rc;

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL)
		return -1;
	bc->ca = ca ? 0xff : 0;
	rc = X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1,
	    X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

static int
ext_key_ids(X509 *x, const unsigned char *ski, const unsigned char *aki,
    int akilen)
{
	ASN1_OCTET_STRING	*os;
	AUTHORITY_KEYID		*akid;
	int			 rc;

	if ((os = ASN1_OCTET_STRING_new()) == NULL)
		return -1;
	rc = ASN1_OCTET_STRING_set(os, ski, TLS_KEYID_LEN) == 1 &&
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0,
	    X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
	ASN1_OCTET_STRING_free(os);
	if (rc == -1 || aki == NULL)
		return rc;
	if ((akid = AUTHORITY_KEYID_new()) == NULL)
		return -1;
	rc = (akid->keyid = ASN1_OCTET_STRING_new()) != NULL &&
	    ASN1_OCTET_STRING_set(akid->keyid, aki, akilen) == 1 &&
	    X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0,
	    X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static GENERAL_NAME *
dns_name(const char *s)
{
	GENERAL_NAME	*gn;
	ASN1_IA5STRING	*ia5;

	if ((ia5 = ASN1_IA5STRING_new()) == NULL)
		return NULL;
	if (ASN1_STRING_set(ia5, s, -1) != 1 ||
	    (gn = GENERAL_NAME_new()) == NULL) {
		ASN1_IA5STRING_free(ia5);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	return gn;
}

/* The permitted DNS subtrees of a constrained CA, marked critical. */
static int
ext_name_constraints(X509 *x, const char **names, size_t n)
{
	NAME_CONSTRAINTS	*nc;
	GENERAL_SUBTREE		*st;
	size_t			 i;
	int			 rc = -1;

	if ((nc = NAME_CONSTRAINTS_new()) == NULL)
		return -1;
	if ((nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null()) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((st = GENERAL_SUBTREE_new()) == NULL)
			goto fail;
		GENERAL_NAME_free(st->base);
		if ((st->base = dns_name(names[i])) == NULL ||
		    sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, st) == 0) {
			GENERAL_SUBTREE_free(st);
			goto fail;
		}
	}
	if (X509_add1_ext_i2d(x, NID_name_constraints, nc, 1,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
 fail:
	NAME_CONSTRAINTS_free(nc);
	return rc;
}

/* Extended key usage, in the order given: a list of NIDs ending in 0. */
static int
ext_ext_key_usage(X509 *x, const int *nids)
{
	EXTENDED_KEY_USAGE	*eku;
	ASN1_OBJECT		*obj;
	int			 rc = -1;

	if ((eku = sk_ASN1_OBJECT_new_null()) == NULL)
		return -1;
	for (; *nids != 0; nids++)
		if ((obj = OBJ_nid2obj(*nids)) == NULL ||
		    sk_ASN1_OBJECT_push(eku, obj) == 0)
			goto fail;
	if (X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
 fail:
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return rc;
}

/* Subject alternative names: every DNS name, then every address. */
static int
ext_alt_names(X509 *x, const struct tls_leaf *leaf)
{
	GENERAL_NAMES		*gens;
	GENERAL_NAME		*gn;
	ASN1_OCTET_STRING	*os;
	size_t			 i;
	int			 rc = -1;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		return -1;
	for (i = 0; i < leaf->ndns; i++)
		if ((gn = dns_name(leaf->dns[i])) == NULL ||
		    sk_GENERAL_NAME_push(gens, gn) == 0) {
			GENERAL_NAME_free(gn);
			goto fail;
		}
	for (i = 0; i < leaf->nips; i++) {
		if ((os = ASN1_OCTET_STRING_new()) == NULL)
			goto fail;
		if (ASN1_OCTET_STRING_set(os, leaf->ips[i].addr,
		    leaf->ips[i].len) != 1 || (gn = GENERAL_NAME_new()) ==
		    NULL) {
			ASN1_OCTET_STRING_free(os);
			goto fail;
		}
		GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
		if (sk_GENERAL_NAME_push(gens, gn) == 0) {
			GENERAL_NAME_free(gn);
			goto fail;
		}
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
 fail:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* A validity of days from now that X.509 can write: before 10000 AD. */
static int
days_fit(int days)
{
	ASN1_TIME	*t;

	if ((t = X509_time_adj_ex(NULL, days, 0, NULL)) == NULL) {
		ERR_clear_error();
		tls_error("-days %d is too large: the certificate would end "
		    "after the year 9999", days);
		return 0;
	}
	ASN1_TIME_free(t);
	return 1;
}

/* ECDSA signatures with SHA-256, as Go makes them for P-256 keys. */
static int
cert_sign(X509 *x, EVP_PKEY *key)
{
	return X509_sign(x, key, EVP_sha256()) > 0 ? 0 : -1;
}

/* The text of the newest libcrypto error, for messages. */
static const char *
crypto_error(void)
{
	static char	 buf[256];
	unsigned long	 e;

	if ((e = ERR_peek_last_error()) == 0)
		return "unknown error";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

static EVP_PKEY *
key_generate(void)
{
	EVP_PKEY	*key;

	if ((key = EVP_EC_gen("P-256")) == NULL)
		tls_error("error generating private key: %s", crypto_error());
	return key;
}

static BIO *
pem_cert(X509 *x)
{
	BIO	*b;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_X509(b, x) != 1) {
		BIO_free(b);
		return NULL;
	}
	return b;
}

/* The key as "EC PRIVATE KEY", in memory that is wiped when freed. */
static BIO *
pem_key(EVP_PKEY *key)
{
	BIO	*b;

	if ((b = BIO_new(BIO_s_secmem())) == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey_traditional(b, key, NULL, NULL, 0, NULL,
	    NULL) != 1) {
		BIO_free(b);
		return NULL;
	}
	return b;
}

/*
 * Write the certificate, then its key (0600), each followed by the
 * ==> Saved line.  A key that cannot be written takes its certificate
 * with it.
 */
static int
save_pair(const char *certfile, X509 *x, const char *keyfile, EVP_PKEY *key)
{
	BIO	*cb = NULL, *kb = NULL;
	int	 rc = -1;

	if ((cb = pem_cert(x)) == NULL || (kb = pem_key(key)) == NULL) {
		tls_error("error encoding certificate: %s", crypto_error());
		goto fail;
	}
	if (file_write_new(certfile, cb, 0666) == -1)
		goto fail;
	printf("==> Saved %s\n", certfile);
	if (file_write_new(keyfile, kb, 0600) == -1) {
		unlink(certfile);
		goto fail;
	}
	printf("==> Saved %s\n", keyfile);
	rc = 0;
 fail:
	BIO_free(cb);
	BIO_free(kb);
	return rc;
}

static X509 *
ca_build(EVP_PKEY *key, int days, const char *cn, const char **nc,
    size_t nnc)
{
	X509		*x;
	X509_NAME	*name;
	unsigned char	 id[TLS_KEYID_LEN];
	char		*serial = NULL, *defcn = NULL;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (cert_init(x, key, days, &serial) == -1 ||
	    key_id(key, id) == -1)
		goto fail;
	if (cn == NULL || *cn == '\0') {
		if (asprintf(&defcn, "Consul Agent CA %s", serial) == -1) {
			defcn = NULL;
			goto fail;
		}
		cn = defcn;
	}
	name = X509_get_subject_name(x);
	if (name_add(name, NID_countryName, "US") == -1 ||
	    name_add(name, NID_stateOrProvinceName, "CA") == -1 ||
	    name_add(name, NID_localityName, "San Francisco") == -1 ||
	    name_add(name, NID_streetAddress, "101 Second Street") == -1 ||
	    name_add(name, NID_postalCode, "94105") == -1 ||
	    name_add(name, NID_organizationName, "HashiCorp Inc.") == -1 ||
	    name_add(name, NID_commonName, cn) == -1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto fail;
	if (ext_key_usage(x, BIT_DIGITAL_SIGNATURE, BIT_CERT_SIGN,
	    BIT_CRL_SIGN) == -1 || ext_basic_constraints(x, 1) == -1 ||
	    ext_key_ids(x, id, id, sizeof(id)) == -1 ||
	    (nnc > 0 && ext_name_constraints(x, nc, nnc) == -1) ||
	    cert_sign(x, key) == -1)
		goto fail;
	OPENSSL_free(serial);
	free(defcn);
	return x;
 fail:
	OPENSSL_free(serial);
	free(defcn);
	X509_free(x);
	return NULL;
}

int
cmd_tls_ca_create(int argc, char **argv)
{
	struct cflag_list	 more = { NULL, 0 };
	const char		*domain = "consul", *cn = NULL;
	const char		**nc = NULL;
	char			 certfile[PATH_MAX], keyfile[PATH_MAX];
	int			 days = 1825, constrain = 0, i, rc = 1;
	size_t			 j, nnc = 0;
	EVP_PKEY		*key = NULL;
	X509			*ca = NULL;
	struct cflag		 flags[] = {
		{ "days", CFLAG_INT, &days },
		{ "domain", CFLAG_STRING, &domain },
		{ "name-constraint", CFLAG_BOOL, &constrain },
		{ "common-name", CFLAG_STRING, &cn },
		{ "additional-name-constraint", CFLAG_LIST, &more },
	};

	if ((i = cflags_parse("tls ca create", flags,
	    sizeof(flags) / sizeof(flags[0]), NULL, argc, argv)) == -1)
		goto done;
	if (i != argc) {
		tls_error("Too many arguments (expected 0, got %d)", argc - i);
		goto done;
	}
	if (!domain_valid(domain)) {
		tls_error("domain cannot be \"%s\". Please use a DNS name "
		    "such as consul", domain);
		goto done;
	}
	/* Consul takes 0 for its default of a year. */
	if (days < 0) {
		tls_error("-days must not be negative");
		goto done;
	}
	if (days == 0)
		days = 365;
	if (!days_fit(days))
		goto done;
	if (constrain) {
		if ((nc = reallocarray(NULL, more.n + 2, sizeof(*nc))) ==
		    NULL) {
			tls_error("%s", strerror(errno));
			goto done;
		}
		for (j = 0; j < more.n; j++) {
			if (*more.v[j] == '\0' || !ia5_valid(more.v[j])) {
				tls_error("invalid name constraint \"%s\"",
				    more.v[j]);
				goto done;
			}
			nc[nnc++] = more.v[j];
		}
		nc[nnc++] = domain;
		nc[nnc++] = "localhost";
	}
	snprintf(certfile, sizeof(certfile), "%s-agent-ca.pem", domain);
	snprintf(keyfile, sizeof(keyfile), "%s-agent-ca-key.pem", domain);
	if (file_taken(certfile)) {
		tls_error("%s already exists.", certfile);
		goto done;
	}
	if (file_taken(keyfile)) {
		tls_error("%s already exists.", keyfile);
		goto done;
	}
	if ((key = key_generate()) == NULL)
		goto done;
	if ((ca = ca_build(key, days, cn, nc, nnc)) == NULL) {
		tls_error("error generating CA certificate: %s",
		    crypto_error());
		goto done;
	}
	if (save_pair(certfile, ca, keyfile, key) == -1)
		goto done;
	rc = 0;
 done:
	ERR_clear_error();
	X509_free(ca);
	EVP_PKEY_free(key);
	free(nc);
	cflag_list_free(&more);
	return rc;
}

/*
 * The first PEM block of pem: its type and DER bytes (free both with
 * pem_block_free); -1 after saying so, with what in front.
 */
static int
pem_block(const char *pem, size_t len, const char *what, char **type,
    unsigned char **data, long *dlen)
{
	BIO	*b;
	char	*header = NULL;
	int	 rc = -1;

	*type = NULL;
	*data = NULL;
	*dlen = 0;
	if ((b = BIO_new_mem_buf(pem, len)) == NULL) {
		tls_error("%s", crypto_error());
		return -1;
	}
	if (PEM_read_bio(b, type, &header, data, dlen) != 1)
		tls_error("%sno PEM-encoded data found", what);
	else
		rc = 0;
	ERR_clear_error();
	BIO_free(b);
	OPENSSL_free(header);
	return rc;
}

/* DER bytes may be a key: wiped on the way out. */
static void
pem_block_free(char *type, unsigned char *data, long dlen)
{
	OPENSSL_free(type);
	if (data != NULL)
		OPENSSL_clear_free(data, dlen);
}

/* The first PEM block of a CA key, of a type Consul takes. */
static EVP_PKEY *
key_parse(const char *pem, size_t len)
{
	EVP_PKEY		*key = NULL;
	char			*type;
	unsigned char		*data;
	const unsigned char	*p;
	long			 dlen;

	if (pem_block(pem, len, "", &type, &data, &dlen) == -1)
		return NULL;
	if (strcmp(type, "EC PRIVATE KEY") != 0 &&
	    strcmp(type, "RSA PRIVATE KEY") != 0 &&
	    strcmp(type, "PRIVATE KEY") != 0)
		tls_error("unknown PEM block type for signing key: %s", type);
	else {
		p = data;
		if ((key = d2i_AutoPrivateKey(NULL, &p, dlen)) == NULL)
			tls_error("x509: failed to parse private key");
	}
	ERR_clear_error();
	pem_block_free(type, data, dlen);
	return key;
}

/* The first PEM block of the CA file, which must be a certificate. */
static X509 *
ca_parse(const char *pem, size_t len)
{
	X509			*x = NULL;
	char			*type;
	unsigned char		*data;
	const unsigned char	*p;
	long			 dlen;

	if (pem_block(pem, len, "failed to parse CA: ", &type, &data,
	    &dlen) == -1)
		return NULL;
	if (strcmp(type, "CERTIFICATE") != 0)
		tls_error("failed to parse CA: first PEM-block should be "
		    "CERTIFICATE type");
	else {
		p = data;
		if ((x = d2i_X509(NULL, &p, dlen)) == NULL)
			tls_error("failed to parse CA: x509: malformed "
			    "certificate");
	}
	ERR_clear_error();
	pem_block_free(type, data, dlen);
	return x;
}

static X509 *
leaf_build(X509 *ca, EVP_PKEY *cakey, EVP_PKEY *key,
    const struct tls_leaf *leaf)
{
	static const int		 server_eku[] = {
		NID_server_auth, NID_client_auth, 0
	};
	static const int		 client_eku[] = {
		NID_client_auth, NID_server_auth, 0
	};
	X509				*x;
	const ASN1_OCTET_STRING		*caid;
	unsigned char			 id[TLS_KEYID_LEN];

	if ((x = X509_new()) == NULL)
		return NULL;
	if (cert_init(x, key, leaf->days, NULL) == -1 ||
	    key_id(key, id) == -1 ||
	    name_add(X509_get_subject_name(x), NID_commonName,
	    leaf->name) == -1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1)
		goto fail;
	/* Consul gives cli certificates no extended key usage at all. */
	caid = X509_get0_subject_key_id(ca);
	if (ext_key_usage(x, BIT_DIGITAL_SIGNATURE, BIT_KEY_ENCIPHERMENT,
	    -1) == -1 ||
	    (leaf->kind != TLS_CLI && ext_ext_key_usage(x,
	    leaf->kind == TLS_SERVER ? server_eku : client_eku) == -1) ||
	    ext_basic_constraints(x, 0) == -1 ||
	    ext_key_ids(x, id, caid == NULL ? NULL :
	    ASN1_STRING_get0_data(caid), caid == NULL ? 0 :
	    ASN1_STRING_length(caid)) == -1 ||
	    ext_alt_names(x, leaf) == -1 || cert_sign(x, cakey) == -1)
		goto fail;
	return x;
 fail:
	X509_free(x);
	return NULL;
}

/*
 * Go's rule for a permitted DNS subtree: the name itself and the names
 * under it; one written with a leading dot only the names under it.
 */
static int
dns_matches(const char *name, const char *c)
{
	size_t	 nl = strlen(name), cl = strlen(c);

	if (cl == 0)
		return 1;
	if (c[0] == '.')
		return nl > cl && strcasecmp(name + nl - cl, c) == 0;
	if (nl == cl)
		return strcasecmp(name, c) == 0;
	return nl > cl && name[nl - cl - 1] == '.' &&
	    strcasecmp(name + nl - cl, c) == 0;
}

/* The first DNS name of leaf that the CA's name constraints refuse. */
static const char *
dns_not_permitted(X509 *ca, const struct tls_leaf *leaf)
{
	NAME_CONSTRAINTS	*nc;
	GENERAL_SUBTREE		*st;
	const char		*bad = NULL;
	size_t			 i;
	int			 j, any, ok;

	if ((nc = X509_get_ext_d2i(ca, NID_name_constraints, NULL,
	    NULL)) == NULL)
		return NULL;
	for (i = 0; i < leaf->ndns && bad == NULL; i++) {
		any = ok = 0;
		for (j = 0; j < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees);
		    j++) {
			st = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, j);
			if (st->base->type != GEN_DNS)
				continue;
			any = 1;
			if (dns_matches(leaf->dns[i], (const char *)
			    ASN1_STRING_get0_data(st->base->d.dNSName)))
				ok = 1;
		}
		if (any && !ok)
			bad = leaf->dns[i];
	}
	NAME_CONSTRAINTS_free(nc);
	return bad;
}

/*
 * Check the new certificate against the CA for its own name before it
 * is written, as Consul does; a name outside the CA's name constraints
 * is the usual failure.
 */
static int
leaf_verify(X509 *ca, X509 *x, const struct tls_leaf *leaf)
{
	X509_STORE	*store;
	X509_STORE_CTX	*ctx = NULL;
	const char	*bad;
	int		 rc = -1, e;

	if ((store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, ca) != 1 ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, x, NULL) != 1 ||
	    X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx),
	    leaf->name, 0) != 1) {
		tls_error("%s", crypto_error());
		goto done;
	}
	if (X509_verify_cert(ctx) == 1) {
		rc = 0;
		goto done;
	}
	e = X509_STORE_CTX_get_error(ctx);
	if (e == X509_V_ERR_PERMITTED_VIOLATION &&
	    (bad = dns_not_permitted(ca, leaf)) != NULL)
		tls_error("x509: a root or intermediate certificate is not "
		    "authorized to sign for this name: DNS name \"%s\" is not "
		    "permitted by any constraint", bad);
	else
		tls_error("x509: %s", X509_verify_cert_error_string(e));
 done:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/* -ca and -key may say #DOMAIN#, which stands for -domain. */
static char *
domain_subst(const char *path, const char *domain)
{
	const char	*p;
	char		*out;

	if ((p = strstr(path, "#DOMAIN#")) == NULL)
		return strdup(path);
	if (asprintf(&out, "%.*s%s%s", (int)(p - path), path, domain,
	    p + strlen("#DOMAIN#")) == -1)
		return NULL;
	return out;
}

/*
 * The names of leaf as Consul lists them: the additional DNS names,
 * <node>.server.<dc>.<domain>, the certificate's own name and localhost
 * (a cli certificate has only the last two), then the additional
 * addresses and 127.0.0.1 (none for cli).  Each name in dns is
 * allocated.  Errors are reported here.
 */
static int
leaf_names(struct tls_leaf *leaf, char **dns, const struct cflag_list *dnsf,
    const struct cflag_list *ipf, const char *node, const char *dc,
    const char *domain)
{
	char	*s;
	size_t	 i;

	for (i = 0; leaf->kind != TLS_CLI && i < dnsf->n; i++) {
		if ((s = trim(dnsf->v[i])) == NULL)
			goto nomem;
		if (*s == '\0')
			free(s);
		else
			dns[leaf->ndns++] = s;
	}
	if (*node != '\0') {
		if (asprintf(&s, "%s.server.%s.%s", node, dc, domain) == -1)
			goto nomem;
		dns[leaf->ndns++] = s;
	}
	if ((dns[leaf->ndns] = strdup(leaf->name)) == NULL)
		goto nomem;
	leaf->ndns++;
	if ((dns[leaf->ndns] = strdup("localhost")) == NULL)
		goto nomem;
	leaf->ndns++;
	for (i = 0; i < leaf->ndns; i++)
		if (!ia5_valid(dns[i])) {
			tls_error("failed to create certificate: x509: \"%s\" "
			    "cannot be encoded as an IA5String", dns[i]);
			return -1;
		}

	for (i = 0; i < ipf->n; i++) {
		if ((s = trim(ipf->v[i])) == NULL)
			goto nomem;
		if (*s != '\0' && ip_parse(s, &leaf->ips[leaf->nips++]) ==
		    -1) {
			tls_error("\"%s\" is not a valid IP address for "
			    "-additional-ipaddress", s);
			free(s);
			return -1;
		}
		free(s);
	}
	if (leaf->kind != TLS_CLI)
		ip_parse("127.0.0.1", &leaf->ips[leaf->nips++]);
	return 0;
 nomem:
	tls_error("%s", strerror(ENOMEM));
	return -1;
}

int
cmd_tls_cert_create(int argc, char **argv)
{
	static const char	*kinds[] = { "server", "client", "cli" };
	struct cflag_list	 dnsf = { NULL, 0 }, ipf = { NULL, 0 };
	struct tls_leaf		 leaf;
	const char		*ca = "#DOMAIN#-agent-ca.pem";
	const char		*cakey = "#DOMAIN#-agent-ca-key.pem";
	const char		*dc = "dc1", *domain = "consul", *node = "";
	char			 certout[PATH_MAX], keyout[PATH_MAX];
	char			*name = NULL, *cafile = NULL, *keyfile = NULL;
	char			*capem = NULL, *keypem = NULL, **dns = NULL;
	size_t			 capemlen = 0, keypemlen = 0, j;
	int			 server = 0, client = 0, cli = 0, days = 365;
	int			 i, n, rc = 1;
	EVP_PKEY		*signer = NULL, *key = NULL;
	X509			*cacert = NULL, *x = NULL;
	struct cflag		 flags[] = {
		{ "ca", CFLAG_STRING, &ca },
		{ "key", CFLAG_STRING, &cakey },
		{ "server", CFLAG_BOOL, &server },
		{ "client", CFLAG_BOOL, &client },
		{ "cli", CFLAG_BOOL, &cli },
		{ "node", CFLAG_STRING, &node },
		{ "days", CFLAG_INT, &days },
		{ "dc", CFLAG_STRING, &dc },
		{ "domain", CFLAG_STRING, &domain },
		{ "additional-dnsname", CFLAG_LIST, &dnsf },
		{ "additional-ipaddress", CFLAG_LIST, &ipf },
	};

	memset(&leaf, 0, sizeof(leaf));
	if ((i = cflags_parse("tls cert create", flags,
	    sizeof(flags) / sizeof(flags[0]), NULL, argc, argv)) == -1)
		goto done;
	if (i != argc) {
		tls_error("Too many arguments (expected 0, got %d)", argc - i);
		goto done;
	}
	if (*ca == '\0') {
		tls_error("Please provide the ca");
		goto done;
	}
	if (*cakey == '\0') {
		tls_error("Please provide the key");
		goto done;
	}
	if ((server != 0) + (client != 0) + (cli != 0) != 1) {
		tls_error("Please provide either -server, -client, or -cli");
		goto done;
	}
	if (*node != '\0' && !server) {
		tls_error("-node requires -server");
		goto done;
	}
	if (!dc_name_valid(dc)) {
		tls_error("datacenter cannot be \"%s\". Please use only "
		    "[a-z0-9-_]", dc);
		goto done;
	}
	if (!domain_valid(domain)) {
		tls_error("domain cannot be \"%s\". Please use a DNS name "
		    "such as consul", domain);
		goto done;
	}
	if (days < 1) {
		tls_error("-days must be greater than 0");
		goto done;
	}
	if (!days_fit(days))
		goto done;

	leaf.kind = server ? TLS_SERVER : client ? TLS_CLIENT : TLS_CLI;
	leaf.days = days;
	if (asprintf(&name, "%s.%s.%s", kinds[leaf.kind], dc, domain) == -1) {
		name = NULL;
		goto nomem;
	}
	leaf.name = name;
	if ((dns = calloc(dnsf.n + 3, sizeof(*dns))) == NULL ||
	    (leaf.ips = calloc(ipf.n + 1, sizeof(*leaf.ips))) == NULL)
		goto nomem;
	leaf.dns = (const char **)dns;
	if (leaf_names(&leaf, dns, &dnsf, &ipf, node, dc, domain) == -1)
		goto done;

	/* The first index free for both files, as Consul counts. */
	for (n = 0; n <= TLS_INDEX_MAX; n++) {
		snprintf(certout, sizeof(certout), "%s-%s-%s-%d.pem", dc,
		    kinds[leaf.kind], domain, n);
		snprintf(keyout, sizeof(keyout), "%s-%s-%s-%d-key.pem", dc,
		    kinds[leaf.kind], domain, n);
		if (!file_taken(certout) && !file_taken(keyout))
			break;
	}
	if (n > TLS_INDEX_MAX) {
		tls_error("Could not find a filename that doesn't already "
		    "exist");
		goto done;
	}

	if ((cafile = domain_subst(ca, domain)) == NULL ||
	    (keyfile = domain_subst(cakey, domain)) == NULL)
		goto nomem;
	if (file_read(cafile, "CA", &capem, &capemlen) == -1 ||
	    file_read(keyfile, "CA key", &keypem, &keypemlen) == -1)
		goto done;
	if (leaf.kind == TLS_SERVER)
		printf("==> WARNING: Server Certificates grants authority "
		    "to become a\n"
		    "    server and access all state in the cluster "
		    "including root keys\n"
		    "    and all ACL tokens. Do not distribute them to "
		    "production hosts\n"
		    "    that are not server nodes. Store them as securely "
		    "as CA keys.\n");
	printf("==> Using %s and %s\n", cafile, keyfile);

	if ((signer = key_parse(keypem, keypemlen)) == NULL ||
	    (cacert = ca_parse(capem, capemlen)) == NULL)
		goto done;
	if (X509_check_private_key(cacert, signer) != 1) {
		ERR_clear_error();
		tls_error("failed to create certificate: x509: provided "
		    "PrivateKey doesn't match parent's PublicKey");
		goto done;
	}
	if ((key = key_generate()) == NULL)
		goto done;
	if ((x = leaf_build(cacert, signer, key, &leaf)) == NULL) {
		tls_error("failed to create certificate: %s", crypto_error());
		goto done;
	}
	if (leaf_verify(cacert, x, &leaf) == -1 ||
	    save_pair(certout, x, keyout, key) == -1)
		goto done;
	rc = 0;
	goto done;
 nomem:
	tls_error("%s", strerror(ENOMEM));
 done:
	ERR_clear_error();
	X509_free(x);
	X509_free(cacert);
	EVP_PKEY_free(key);
	EVP_PKEY_free(signer);
	if (keypem != NULL) {
		explicit_bzero(keypem, keypemlen);
		free(keypem);
	}
	free(capem);
	free(cafile);
	free(keyfile);
	for (j = 0; dns != NULL && j < leaf.ndns; j++)
		free(dns[j]);
	free(dns);
	free(leaf.ips);
	free(name);
	cflag_list_free(&dnsf);
	cflag_list_free(&ipf);
	return rc;
}
