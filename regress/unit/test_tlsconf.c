/*
 * The TLS material: what the parent reads and checks (a key that does
 * not match its certificate, a missing file, a CA file with no
 * certificate, verify_* with no CA, HTTPS with no certificate), the
 * message that carries the bytes to the children, Go's cipher suite
 * names, and the libtls configurations built from the bytes.  The
 * certificates are made here with libcrypto.
 */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <tls.h>

#include "config.h"
#include "tlsconf.h"
#include "test.h"
#include "cert_fixture.h"

static char	 dir[] = "/tmp/test_tlsconf.XXXXXX";
static char	 path[8][128];
static char	 bad[128], empty[128];

enum { CERT, KEY, KEY2, GARBAGE, MISSING, CADIR };

static void
write_key(const char *p, EVP_PKEY *pk)
{
	FILE	*f = fopen(p, "w");

	if (f == NULL || PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL,
	    NULL) != 1)
		abort();
	fclose(f);
}

/* A self-signed certificate for server.dc1.consul, and its key. */
static void
make_files(void)
{
	EVP_PKEY	*pk = fixture_key(), *pk2 = fixture_key();
	X509		*x = fixture_cert("server.dc1.consul", pk);
	FILE		*f;
	char		 p[300];
	int		 i;

	if (mkdtemp(dir) == NULL)
		abort();
	for (i = 0; i < 8; i++)
		snprintf(path[i], sizeof(path[i]), "%s/f%d.pem", dir, i % 10);
	snprintf(path[CADIR], sizeof(path[CADIR]), "%s/ca", dir);
	if (mkdir(path[CADIR], 0700) == -1)
		abort();
	if ((f = fopen(path[CERT], "w")) == NULL || PEM_write_X509(f, x) != 1)
		abort();
	fclose(f);
	write_key(path[KEY], pk);
	write_key(path[KEY2], pk2);
	if ((f = fopen(path[GARBAGE], "w")) == NULL)
		abort();
	fputs("-----BEGIN CERTIFICATE-----\nnot base64\n", f);
	fclose(f);
	snprintf(path[7], sizeof(path[7]), "%s/ca/ca.pem", dir);
	if (link(path[CERT], path[7]) == -1)
		abort();
	/* A CA directory with no certificate, and an empty one. */
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	if (mkdir(bad, 0700) == -1 || mkdir(empty, 0700) == -1)
		abort();
	snprintf(p, sizeof(p), "%s/bad/x.crt", dir);
	if (link(path[GARBAGE], p) == -1)
		abort();
	X509_free(x);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(pk2);
}

static void
set(char **field, const char *v)
{
	free(*field);
	*field = v != NULL ? strdup(v) : NULL;
}

/* A config whose internal_rpc block names ca, cert and key. */
static struct config *
conf(const char *ca, const char *cert, const char *key)
{
	struct config	*c = config_new(0);

	set(&c->tls.internal_rpc.ca_file, ca);
	set(&c->tls.internal_rpc.cert_file, cert);
	set(&c->tls.internal_rpc.key_file, key);
	return c;
}

/* The error of reading c, "" if none. */
static const char *
read_err(struct config *c)
{
	static char		 err[1024];
	struct tls_material	 m;

	err[0] = '\0';
	if (tls_material_read(c, &m, err, sizeof(err)) == 0) {
		tls_material_clear(&m);
		err[0] = '\0';
	}
	config_free(c);
	return err;
}

static int
contains(const char *s, const char *sub)
{
	if (strstr(s, sub) != NULL)
		return 1;
	fprintf(stderr, "# \"%s\" lacks \"%s\"\n", s, sub);
	return 0;
}

static void
test_read_and_pack(void)
{
	struct config		*c = conf(path[CERT], path[CERT], path[KEY]);
	struct tls_material	 m, u;
	struct tls_config	*cfg;
	struct mpack_out	 out;
	char			 err[512];

	CHECK(tls_material_read(c, &m, err, sizeof(err)) == 0);
	CHECK(tls_files_have_cert(&m.rpc));
	CHECK(!tls_files_have_cert(&m.https));
	mpack_out_init(&out);
	tls_material_pack(&m, &out);
	CHECK(tls_material_unpack(out.sbuf.data, out.sbuf.size, &u) == 0);
	CHECK(u.rpc.ca_len == m.rpc.ca_len && u.rpc.key_len == m.rpc.key_len &&
	    u.rpc.cert_len == m.rpc.cert_len);
	CHECK(memcmp(u.rpc.key, m.rpc.key, m.rpc.key_len) == 0);
	CHECK(u.https.cert == NULL && u.https.key == NULL);
	tls_material_clear(&u);
	/* Truncated: refused, nothing leaks. */
	CHECK(tls_material_unpack(out.sbuf.data, out.sbuf.size / 2, &u) ==
	    -1);
	mpack_out_free(&out);
	c->tls.internal_rpc.verify_incoming = 1;
	c->tls.internal_rpc.verify_outgoing = 1;
	CHECK((cfg = tlsconf_server(&c->tls.internal_rpc, &m.rpc, err,
	    sizeof(err))) != NULL);
	tls_config_free(cfg);
	CHECK((cfg = tlsconf_client(&c->tls.internal_rpc, &m.rpc, 1, err,
	    sizeof(err))) != NULL);
	tls_config_free(cfg);
	tls_material_clear(&m);
	CHECK(m.rpc.key == NULL);
	config_free(c);

	/* A CA directory. */
	c = conf(NULL, path[CERT], path[KEY]);
	set(&c->tls.internal_rpc.ca_path, path[CADIR]);
	CHECK_STR(read_err(c), "");
}

static void
test_read_errors(void)
{
	struct config	*c;
	char		 want[1024];

	snprintf(want, sizeof(want), "key_file \"%s\" does not match "
	    "cert_file \"%s\"", path[KEY2], path[CERT]);
	CHECK(contains(read_err(conf(NULL, path[CERT], path[KEY2])), want));
	snprintf(want, sizeof(want), "key_file \"%s\": cannot read",
	    path[MISSING]);
	CHECK(contains(read_err(conf(NULL, path[CERT], path[MISSING])),
	    want));
	snprintf(want, sizeof(want), "ca_file \"%s\": no certificate",
	    path[GARBAGE]);
	CHECK(contains(read_err(conf(path[GARBAGE], NULL, NULL)), want));
	snprintf(want, sizeof(want), "cert_file \"%s\": no certificate",
	    path[KEY]);
	CHECK(contains(read_err(conf(NULL, path[KEY], path[KEY])), want));
	snprintf(want, sizeof(want), "key_file \"%s\": no private key",
	    path[CERT]);
	CHECK(contains(read_err(conf(NULL, path[CERT], path[CERT])), want));
	CHECK(contains(read_err(conf(NULL, path[CERT], NULL)),
	    "cert_file is set but not key_file"));
	c = conf(NULL, path[CERT], path[KEY]);
	c->tls.internal_rpc.verify_incoming = 1;
	CHECK(contains(read_err(c), "verify_incoming is set, but no ca_file"));
	c = conf(NULL, NULL, NULL);
	c->ports.https = 8501;
	CHECK(contains(read_err(c), "ports.https is 8501, but no cert_file"));
	c = conf(NULL, path[CERT], path[KEY]);
	set(&c->tls.internal_rpc.tls_cipher_suites, "TLS_RSA_WITH_RC4");
	CHECK(contains(read_err(c), "unsupported cipher suite "
	    "\"TLS_RSA_WITH_RC4\""));
	c = conf(NULL, NULL, NULL);
	set(&c->tls.internal_rpc.ca_path, bad);
	CHECK(contains(read_err(c), "no certificate in it"));
	c = conf(NULL, NULL, NULL);
	set(&c->tls.internal_rpc.ca_path, empty);
	CHECK(contains(read_err(c), "no .pem or .crt file"));
}

static void
test_ciphers(void)
{
	char	 out[256], err[256];

	CHECK(tlsconf_ciphers("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,"
	    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", out, sizeof(out), err,
	    sizeof(err)) == 0);
	CHECK_STR(out, "ECDHE-ECDSA-AES128-GCM-SHA256:"
	    "ECDHE-RSA-CHACHA20-POLY1305");
	CHECK(tlsconf_ciphers("", out, sizeof(out), err, sizeof(err)) == 0);
	CHECK_STR(out, "");
	CHECK(tlsconf_ciphers("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,x",
	    out, sizeof(out), err, sizeof(err)) == -1);
	CHECK_STR(err, "tls_cipher_suites: unsupported cipher suite \"x\"");
	CHECK(tlsconf_ciphers("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", out,
	    8, err, sizeof(err)) == -1);
}

static void
test_unpack_garbage(void)
{
	struct tls_material	 m;
	unsigned char		 buf[64];
	size_t			 i;
	int			 round;

	srandom(11);
	for (round = 0; round < 2000; round++) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = random();
		buf[0] = 0x92;	/* an array of 2, sometimes */
		if (tls_material_unpack(buf, 1 + random() % sizeof(buf),
		    &m) == 0)
			tls_material_clear(&m);
	}
	CHECK(tls_material_unpack("", 0, &m) == -1);
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_read_and_pack),
		TEST_CASE(test_read_errors),
		TEST_CASE(test_ciphers),
		TEST_CASE(test_unpack_garbage),
	};
	int	 rc;
	char	 cmd[300];

	make_files();
	rc = test_main(cases, sizeof(cases) / sizeof(cases[0]));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
