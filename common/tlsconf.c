/*
 * TLS material: the parent reads and checks the files (a certificate
 * that its key matches, a CA file with certificates in it), the bytes
 * cross to the children in one message, and each child turns them into
 * libtls configurations.  Consul's names of versions and cipher suites
 * map onto libtls' here.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <tls.h>

#include "config.h"
#include "tlsconf.h"

static void
tls_files_clear(struct tls_files *f)
{
	if (f->key != NULL)
		explicit_bzero(f->key, f->key_len);
	free(f->ca);
	free(f->cert);
	free(f->key);
	memset(f, 0, sizeof(*f));
}

void
tls_material_clear(struct tls_material *m)
{
	tls_files_clear(&m->rpc);
	tls_files_clear(&m->https);
}

int
tls_files_have_cert(const struct tls_files *f)
{
	return f->cert != NULL && f->key != NULL;
}

/* Append the whole of path to *buf; -1 with err. */
static int
read_append(const char *key, const char *path, uint8_t **buf, size_t *len,
    char *err, size_t errlen)
{
	struct stat	 st;
	uint8_t		*nb;
	ssize_t		 n;
	size_t		 have = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s \"%s\": cannot read: %s", key, path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || (size_t)st.st_size > TLS_FILE_MAX - *len) {
		snprintf(err, errlen, "%s \"%s\": %s", key, path,
		    !S_ISREG(st.st_mode) ? "not a regular file" :
		    st.st_size <= 0 ? "empty" : "too large");
		close(fd);
		return -1;
	}
	if ((nb = realloc(*buf, *len + st.st_size + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "%s \"%s\": %s", key, path,
		    strerror(errno));
		return -1;
	}
	*buf = nb;
	while (have < (size_t)st.st_size) {
		n = read(fd, nb + *len + have, st.st_size - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s \"%s\": cannot read: %s",
			    key, path, n == 0 ? "short file" :
			    strerror(errno));
			close(fd);
			return -1;
		}
		have += n;
	}
	close(fd);
	*len += have;
	(*buf)[*len] = '\n';	/* PEM blocks stay apart */
	(*len)++;
	return 0;
}

/* The number of certificates in PEM bytes. */
static int
count_certs(const uint8_t *buf, size_t len)
{
	BIO	*bio;
	X509	*x;
	int	 n = 0;

	if ((bio = BIO_new_mem_buf(buf, len)) == NULL)
		return 0;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	ERR_clear_error();
	return n;
}

/* The certificates of a ca_path directory (*.pem, *.crt), in order. */
static int
read_ca_path(const char *path, uint8_t **buf, size_t *len, char *err,
    size_t errlen)
{
	struct dirent	**ents;
	char		 file[4096];
	size_t		 l;
	int		 n, i, rc = 0, found = 0;

	if ((n = scandir(path, &ents, NULL, alphasort)) == -1) {
		snprintf(err, errlen, "ca_path \"%s\": cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		l = strlen(ents[i]->d_name);
		if (rc == 0 && l > 4 &&
		    (strcmp(ents[i]->d_name + l - 4, ".pem") == 0 ||
		    strcmp(ents[i]->d_name + l - 4, ".crt") == 0)) {
			snprintf(file, sizeof(file), "%s/%s", path,
			    ents[i]->d_name);
			rc = read_append("ca_path", file, buf, len, err,
			    errlen);
			found++;
		}
		free(ents[i]);
	}
	free(ents);
	if (rc == 0 && found == 0) {
		snprintf(err, errlen, "ca_path \"%s\": no .pem or .crt file",
		    path);
		rc = -1;
	}
	return rc;
}

/* Read one block's files and check that they fit together. */
static int
tls_files_read(const struct config_tls *t, const char *block,
    struct tls_files *f, char *err, size_t errlen)
{
	BIO		*bio = NULL;
	X509		*x = NULL;
	EVP_PKEY	*pk = NULL;
	int		 rc = -1;

	memset(f, 0, sizeof(*f));
	if ((t->cert_file == NULL) != (t->key_file == NULL)) {
		snprintf(err, errlen, "tls.%s: %s is set but not %s", block,
		    t->cert_file != NULL ? "cert_file" : "key_file",
		    t->cert_file != NULL ? "key_file" : "cert_file");
		return -1;
	}
	if (t->ca_file != NULL) {
		if (read_append("ca_file", t->ca_file, &f->ca, &f->ca_len,
		    err, errlen) == -1)
			goto done;
		if (count_certs(f->ca, f->ca_len) == 0) {
			snprintf(err, errlen, "ca_file \"%s\": no certificate "
			    "in it", t->ca_file);
			goto done;
		}
	}
	if (t->ca_path != NULL) {
		if (read_ca_path(t->ca_path, &f->ca, &f->ca_len, err,
		    errlen) == -1)
			goto done;
		if (count_certs(f->ca, f->ca_len) == 0) {
			snprintf(err, errlen, "ca_path \"%s\": no certificate "
			    "in it", t->ca_path);
			goto done;
		}
	}
	if ((t->verify_incoming == 1 || t->verify_outgoing == 1) &&
	    f->ca == NULL) {
		snprintf(err, errlen, "tls.%s: verify_%s is set, but no "
		    "ca_file or ca_path gives a CA certificate", block,
		    t->verify_incoming == 1 ? "incoming" : "outgoing");
		goto done;
	}
	if (t->cert_file != NULL) {
		if (read_append("cert_file", t->cert_file, &f->cert,
		    &f->cert_len, err, errlen) == -1 ||
		    read_append("key_file", t->key_file, &f->key, &f->key_len,
		    err, errlen) == -1)
			goto done;
		if ((bio = BIO_new_mem_buf(f->cert, f->cert_len)) == NULL ||
		    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
			snprintf(err, errlen, "cert_file \"%s\": no "
			    "certificate in it", t->cert_file);
			goto done;
		}
		BIO_free(bio);
		if ((bio = BIO_new_mem_buf(f->key, f->key_len)) == NULL ||
		    (pk = PEM_read_bio_PrivateKey(bio, NULL, NULL,
		    NULL)) == NULL) {
			snprintf(err, errlen, "key_file \"%s\": no private key "
			    "in it", t->key_file);
			goto done;
		}
		if (X509_check_private_key(x, pk) != 1) {
			snprintf(err, errlen, "key_file \"%s\" does not match "
			    "cert_file \"%s\"", t->key_file, t->cert_file);
			goto done;
		}
	} else if (t->verify_incoming == 1) {
		snprintf(err, errlen, "tls.%s: verify_incoming is set, but no "
		    "cert_file and key_file", block);
		goto done;
	}
	if (t->tls_cipher_suites != NULL) {
		char	 c[1024];

		if (tlsconf_ciphers(t->tls_cipher_suites, c, sizeof(c), err,
		    errlen) == -1)
			goto done;
	}
	rc = 0;
 done:
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	if (rc == -1)
		tls_files_clear(f);
	return rc;
}

int
tls_material_read(const struct config *c, struct tls_material *m,
    char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	if (tls_files_read(&c->tls.internal_rpc, "internal_rpc", &m->rpc, err,
	    errlen) == -1)
		return -1;
	if (c->ports.https > 0) {
		if (tls_files_read(&c->tls.https, "https", &m->https, err,
		    errlen) == -1) {
			tls_material_clear(m);
			return -1;
		}
		if (!tls_files_have_cert(&m->https)) {
			snprintf(err, errlen, "ports.https is %d, but no "
			    "cert_file and key_file are set", c->ports.https);
			tls_material_clear(m);
			return -1;
		}
	}
	return 0;
}

static void
pack_files(msgpack_packer *pk, const struct tls_files *f)
{
	msgpack_pack_array(pk, 3);
	mpack_bin(pk, f->ca, f->ca_len);
	mpack_bin(pk, f->cert, f->cert_len);
	mpack_bin(pk, f->key, f->key_len);
}

/* [rpc, https], each [ca, cert, key] as bin (empty: not set). */
void
tls_material_pack(const struct tls_material *m, struct mpack_out *out)
{
	msgpack_pack_array(&out->pk, 2);
	pack_files(&out->pk, &m->rpc);
	pack_files(&out->pk, &m->https);
}

static int
copy_bin(const msgpack_object *o, uint8_t **buf, size_t *len)
{
	if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size > TLS_FILE_MAX)
		return -1;
	if (o->via.bin.size == 0)
		return 0;
	if ((*buf = malloc(o->via.bin.size)) == NULL)
		return -1;
	memcpy(*buf, o->via.bin.ptr, o->via.bin.size);
	*len = o->via.bin.size;
	return 0;
}

static int
unpack_files(const msgpack_object *o, struct tls_files *f)
{
	const msgpack_object	*a;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3)
		return -1;
	a = o->via.array.ptr;
	if (copy_bin(&a[0], &f->ca, &f->ca_len) == -1 ||
	    copy_bin(&a[1], &f->cert, &f->cert_len) == -1 ||
	    copy_bin(&a[2], &f->key, &f->key_len) == -1)
		return -1;
	return 0;
}

int
tls_material_unpack(const void *buf, size_t len, struct tls_material *m)
{
	msgpack_unpacked	 u;
	const msgpack_object	*o;
	int			 rc = -1;

	memset(m, 0, sizeof(*m));
	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	o = &u.data;
	if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 2 &&
	    unpack_files(&o->via.array.ptr[0], &m->rpc) == 0 &&
	    unpack_files(&o->via.array.ptr[1], &m->https) == 0)
		rc = 0;
	msgpack_unpacked_destroy(&u);
	if (rc == -1)
		tls_material_clear(m);
	return rc;
}

/* Consul's (Go's) names of the TLS 1.2 suites, and OpenSSL's. */
static const struct {
	const char	*go;
	const char	*ossl;
} suites[] = {
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	    "ECDHE-ECDSA-AES128-GCM-SHA256" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	    "ECDHE-ECDSA-AES256-GCM-SHA384" },
	{ "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
	    "ECDHE-ECDSA-CHACHA20-POLY1305" },
	{ "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	    "ECDHE-ECDSA-CHACHA20-POLY1305" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	    "ECDHE-RSA-AES128-GCM-SHA256" },
	{ "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	    "ECDHE-RSA-AES256-GCM-SHA384" },
	{ "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
	    "ECDHE-RSA-CHACHA20-POLY1305" },
	{ "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	    "ECDHE-RSA-CHACHA20-POLY1305" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	    "ECDHE-ECDSA-AES128-SHA" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	    "ECDHE-ECDSA-AES256-SHA" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA" },
	{ "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
	    "ECDHE-ECDSA-AES128-SHA256" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	    "ECDHE-RSA-AES128-SHA256" },
};

/* "A,B" of Go names to OpenSSL's "a:b"; -1 with err for an unknown one. */
int
tlsconf_ciphers(const char *list, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char	*p = list, *e;
	size_t		 i, n;

	out[0] = '\0';
	while (*p != '\0') {
		while (*p == ',' || *p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (e = p; *e != '\0' && *e != ',' && *e != ' '; e++)
			;
		n = e - p;
		for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
			if (strlen(suites[i].go) == n &&
			    strncmp(suites[i].go, p, n) == 0)
				break;
		if (i == sizeof(suites) / sizeof(suites[0])) {
			snprintf(err, errlen, "tls_cipher_suites: unsupported "
			    "cipher suite \"%.*s\"", (int)n, p);
			return -1;
		}
		if (out[0] != '\0')
			strlcat(out, ":", outlen);
		if (strlcat(out, suites[i].ossl, outlen) >= outlen) {
			snprintf(err, errlen, "tls_cipher_suites: too long");
			return -1;
		}
		p = e;
	}
	return 0;
}

static uint32_t
protocols_from(const char *min)
{
	uint32_t	 p = TLS_PROTOCOL_TLSv1_3;

	if (min == NULL || strcmp(min, "TLSv1_2") == 0)
		return p | TLS_PROTOCOL_TLSv1_2;
	if (strcmp(min, "TLSv1_3") == 0)
		return p;
	if (strcmp(min, "TLSv1_1") == 0)
		return p | TLS_PROTOCOL_TLSv1_2 | TLS_PROTOCOL_TLSv1_1;
	return TLS_PROTOCOL_TLSv1;
}

/* What both sides share: versions, suites, CA, our certificate. */
static struct tls_config *
tlsconf_common(const struct config_tls *t, const struct tls_files *f,
    char *err, size_t errlen)
{
	struct tls_config	*cfg;
	char			 ciphers[1024];

	if ((cfg = tls_config_new()) == NULL) {
		snprintf(err, errlen, "tls_config_new failed");
		return NULL;
	}
	if (tls_config_set_protocols(cfg,
	    protocols_from(t->tls_min_version)) == -1)
		goto fail;
	if (t->tls_cipher_suites != NULL) {
		if (tlsconf_ciphers(t->tls_cipher_suites, ciphers,
		    sizeof(ciphers), err, errlen) == -1) {
			tls_config_free(cfg);
			return NULL;
		}
		if (tls_config_set_ciphers(cfg, ciphers) == -1)
			goto fail;
	}
	if (f->ca != NULL &&
	    tls_config_set_ca_mem(cfg, f->ca, f->ca_len) == -1)
		goto fail;
	if (tls_files_have_cert(f) && tls_config_set_keypair_mem(cfg,
	    f->cert, f->cert_len, f->key, f->key_len) == -1)
		goto fail;
	return cfg;
 fail:
	snprintf(err, errlen, "%s", tls_config_error(cfg));
	tls_config_free(cfg);
	return NULL;
}

struct tls_config *
tlsconf_server(const struct config_tls *t, const struct tls_files *f,
    char *err, size_t errlen)
{
	struct tls_config	*cfg;

	if ((cfg = tlsconf_common(t, f, err, errlen)) == NULL)
		return NULL;
	if (t->verify_incoming == 1)
		tls_config_verify_client(cfg);
	else if (f->ca != NULL)
		tls_config_verify_client_optional(cfg);
	return cfg;
}

struct tls_config *
tlsconf_client(const struct config_tls *t, const struct tls_files *f,
    int name_check, char *err, size_t errlen)
{
	struct tls_config	*cfg;

	if ((cfg = tlsconf_common(t, f, err, errlen)) == NULL)
		return NULL;
	if (t->verify_outgoing != 1) {
		tls_config_insecure_noverifycert(cfg);
		tls_config_insecure_noverifyname(cfg);
	} else if (!name_check)
		tls_config_insecure_noverifyname(cfg);
	return cfg;
}
