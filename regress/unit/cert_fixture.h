/*
 * A self-signed certificate for the TLS unit tests, made with libcrypto
 * (include after test.h): a P-256 key and a certificate naming cn as
 * its subject and issuer, good from a minute ago for an hour.  abort()s
 * on any failure.
 */
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

static X509 *
fixture_cert(const char *cn, EVP_PKEY *pk)
{
	X509		*x = X509_new();
	X509_NAME	*name;

	if (x == NULL)
		abort();
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, pk, EVP_sha256()) == 0)
		abort();
	return x;
}

static EVP_PKEY *
fixture_key(void)
{
	EVP_PKEY	*pk = EVP_EC_gen("P-256");

	if (pk == NULL)
		abort();
	return pk;
}
