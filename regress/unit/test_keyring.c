/*
 * The gossip keyring: key text and Consul's rules for install, use and
 * remove; sealing and opening with every key size; tampering, wrong
 * keys, channels and replays; the verify_incoming/outgoing modes that
 * move a cluster from plaintext to encrypted; the keyring file's JSON.
 * (raftd writes the file itself: regress/integration/gossip_encrypt.sh.)
 *
 * keyring.c is compiled into the test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "../../gossipd/keyring.c"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* 16, 24 and 32 bytes, as `consul keygen` and older versions print. */
static const char k16[] = "H3/9gBxcKKlk1fVvOrQO9w==";
static const char k24[] = "4le4OsLo7JmZYJBQ3IJFq04UjbkZdeN8";
static const char k32[] = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=";

static void
test_keys(void)
{
	struct keyring	*kr;
	char		 b64[KEYRING_B64_MAX];
	static const char *const bad[] = {
		"", "abc", "H3/9gBxcKKlk1fVvOrQO9w",	/* no padding */
		"H3/9gBxcKKlk1fVvOrQO",			/* 15 bytes */
		"H3/9gBxcKKlk1fVvOrQO9w==x",
		"H3/9gBxcKKlk1fVvOrQO9w==\n",
		"H3/9gBxcKKlk1fVvOrQO9w!=",
		"pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s5Zg==",	/* 34 */
	};
	size_t		 i;

	CHECK((kr = keyring_new()) != NULL);
	if (kr == NULL)
		return;
	CHECK(keyring_count(kr) == 0);
	CHECK(keyring_verify_incoming(kr) && keyring_verify_outgoing(kr));
	for (i = 0; i < nitems(bad); i++)
		CHECK(keyring_install(kr, bad[i]) == KEYRING_EINVAL);
	CHECK(keyring_install(kr, NULL) == KEYRING_EINVAL);
	CHECK(keyring_install(kr, k32) == KEYRING_OK);
	CHECK(keyring_install(kr, k16) == KEYRING_OK);
	CHECK(keyring_install(kr, k24) == KEYRING_OK);
	CHECK(keyring_install(kr, k16) == KEYRING_OK);	/* already there */
	CHECK(keyring_count(kr) == 3);
	CHECK(keyring_key(kr, 0, b64, sizeof(b64)) == 0);
	CHECK_STR(b64, k32);				/* the first is primary */
	CHECK(keyring_key(kr, 3, b64, sizeof(b64)) == -1);
	CHECK(keyring_key(kr, 0, b64, 10) == -1);
	CHECK(keyring_use(kr, "H3/9gBxcKKlk1fVvOrQOAA==") == KEYRING_EINVAL);
	CHECK(keyring_use(kr, k16) == KEYRING_OK);
	CHECK(keyring_key(kr, 0, b64, sizeof(b64)) == 0);
	CHECK_STR(b64, k16);
	CHECK(keyring_remove(kr, k16) == KEYRING_EINVAL);	/* primary */
	CHECK(keyring_remove(kr, k24) == KEYRING_OK);
	CHECK(keyring_remove(kr, k24) == KEYRING_EINVAL);	/* gone */
	CHECK(keyring_count(kr) == 2);
	CHECK(keyring_key(kr, 1, b64, sizeof(b64)) == 0);
	CHECK_STR(b64, k32);
	for (i = 0; i < KEYRING_KEYS_MAX; i++) {
		unsigned char	 raw[16];

		memset(raw, (int)i + 1, sizeof(raw));
		sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
		    sodium_base64_VARIANT_ORIGINAL);
		keyring_install(kr, b64);
	}
	CHECK(keyring_count(kr) == KEYRING_KEYS_MAX);	/* bounded */
	keyring_free(kr);
}

static void
test_seal_open(void)
{
	struct keyring		*a, *b;
	static const char	 msg[] = "\x92\x91\x03\x2a";
	const char		*keys[] = { k16, k24, k32 };
	unsigned char		 sealed[256], out[256];
	size_t			 slen, olen, i, j;

	a = keyring_new();
	b = keyring_new();
	if (a == NULL || b == NULL) {
		CHECK(0);
		return;
	}
	CHECK(keyring_seal(a, KEYRING_PACKET, msg, 4, sealed, sizeof(sealed),
	    &slen) == KEYRING_EKEY);		/* nothing to seal with */
	for (i = 0; i < nitems(keys); i++) {
		CHECK(keyring_install(a, keys[i]) == 0);
		CHECK(keyring_use(a, keys[i]) == 0);
		/* b holds the key, but not as its primary. */
		CHECK(keyring_install(b, keys[nitems(keys) - 1 - i]) == 0);
		CHECK(keyring_install(b, keys[i]) == 0);
		CHECK(keyring_seal(a, KEYRING_PACKET, msg, 4, sealed,
		    sizeof(sealed), &slen) == 0);
		CHECK(slen == 4 + KEYRING_OVERHEAD);
		CHECK(sealed[0] == KEYRING_VERSION);
		CHECK(keyring_open(b, KEYRING_PACKET, sealed, slen, out,
		    sizeof(out), &olen) == 0);
		CHECK(olen == 4 && memcmp(out, msg, 4) == 0);
		/* Any byte changed, and it does not open. */
		for (j = 1; j < slen; j++) {
			sealed[j] ^= 0x40;
			CHECK(keyring_open(b, KEYRING_PACKET, sealed, slen,
			    out, sizeof(out), &olen) == KEYRING_EKEY);
			sealed[j] ^= 0x40;
		}
		sealed[0] = 2;
		CHECK(keyring_open(b, KEYRING_PACKET, sealed, slen, out,
		    sizeof(out), &olen) == KEYRING_EFORMAT);
		sealed[0] = KEYRING_VERSION;
		for (j = 0; j < KEYRING_OVERHEAD; j++)
			CHECK(keyring_open(b, KEYRING_PACKET, sealed, j, out,
			    sizeof(out), &olen) == KEYRING_EFORMAT);
		CHECK(keyring_open(b, KEYRING_PACKET, sealed, slen - 1, out,
		    sizeof(out), &olen) == KEYRING_EKEY);
		/* Bound to its channel. */
		CHECK(keyring_open(b, KEYRING_STREAM, sealed, slen, out,
		    sizeof(out), &olen) == KEYRING_EKEY);
		CHECK(keyring_open(b, KEYRING_PACKET, sealed, slen, out, 2,
		    &olen) == KEYRING_ESPACE);
		CHECK(keyring_seal(a, KEYRING_PACKET, msg, 4, sealed, 10,
		    &slen) == KEYRING_ESPACE);
	}
	/* A ring without the key. */
	keyring_free(b);
	b = keyring_new();
	CHECK(keyring_install(b, "H3/9gBxcKKlk1fVvOrQOAA==") == 0);
	CHECK(keyring_seal(a, KEYRING_STREAM, msg, 4, sealed, sizeof(sealed),
	    &slen) == 0);
	CHECK(keyring_open(b, KEYRING_STREAM, sealed, slen, out, sizeof(out),
	    &olen) == KEYRING_EKEY);
	keyring_free(a);
	keyring_free(b);
}

static void
test_replay(void)
{
	struct keyring	*a, *b;
	unsigned char	 sealed[400][64], out[64];
	size_t		 slen[400], olen, i;
	uint64_t	 id;

	a = keyring_new();
	b = keyring_new();
	if (a == NULL || b == NULL) {
		CHECK(0);
		return;
	}
	CHECK(keyring_install(a, k32) == 0 && keyring_install(b, k32) == 0);
	for (i = 0; i < nitems(sealed); i++)
		CHECK(keyring_seal(a, KEYRING_PACKET, "\x90", 1, sealed[i],
		    sizeof(sealed[i]), &slen[i]) == 0);
	CHECK(keyring_open(b, KEYRING_PACKET, sealed[0], slen[0], out,
	    sizeof(out), &olen) == 0);
	CHECK(keyring_open(b, KEYRING_PACKET, sealed[0], slen[0], out,
	    sizeof(out), &olen) == KEYRING_EREPLAY);
	/* Out of order within the window is fine, once. */
	CHECK(keyring_open(b, KEYRING_PACKET, sealed[9], slen[9], out,
	    sizeof(out), &olen) == 0);
	CHECK(keyring_open(b, KEYRING_PACKET, sealed[5], slen[5], out,
	    sizeof(out), &olen) == 0);
	CHECK(keyring_open(b, KEYRING_PACKET, sealed[5], slen[5], out,
	    sizeof(out), &olen) == KEYRING_EREPLAY);
	CHECK(keyring_open(b, KEYRING_PACKET, sealed[9], slen[9], out,
	    sizeof(out), &olen) == KEYRING_EREPLAY);
	/* Far ahead: what is more than 256 behind is refused. */
	CHECK(keyring_open(b, KEYRING_PACKET, sealed[399], slen[399], out,
	    sizeof(out), &olen) == 0);
	CHECK(keyring_open(b, KEYRING_PACKET, sealed[100], slen[100], out,
	    sizeof(out), &olen) == KEYRING_EREPLAY);
	CHECK(keyring_open(b, KEYRING_PACKET, sealed[200], slen[200], out,
	    sizeof(out), &olen) == 0);
	CHECK(keyring_open(b, KEYRING_PACKET, sealed[200], slen[200], out,
	    sizeof(out), &olen) == KEYRING_EREPLAY);
	CHECK(keyring_open(b, KEYRING_PACKET, sealed[398], slen[398], out,
	    sizeof(out), &olen) == 0);
	/* The window shifts by whole words and by odd amounts. */
	for (i = 0; i < nitems(sealed); i++) {
		unsigned char	 s2[64];
		size_t		 l2;
		int		 rc;

		CHECK(keyring_seal(a, KEYRING_PACKET, "\x90", 1, s2,
		    sizeof(s2), &l2) == 0);
		if (i % 3 == 0)
			continue;
		rc = keyring_open(b, KEYRING_PACKET, s2, l2, out,
		    sizeof(out), &olen);
		CHECK(rc == 0);
		CHECK(keyring_open(b, KEYRING_PACKET, s2, l2, out,
		    sizeof(out), &olen) == KEYRING_EREPLAY);
	}
	/*
	 * Thousands of senders: the table is bounded, and a sender it
	 * still remembers cannot be replayed.
	 */
	id = a->id;
	for (i = 0; i < 5000; i++) {
		a->id = 0x1000 + i;
		CHECK(keyring_seal(a, KEYRING_PACKET, "\x90", 1, sealed[0],
		    sizeof(sealed[0]), &slen[0]) == 0);
		CHECK(keyring_open(b, KEYRING_PACKET, sealed[0], slen[0], out,
		    sizeof(out), &olen) == 0);
		CHECK(keyring_open(b, KEYRING_PACKET, sealed[0], slen[0], out,
		    sizeof(out), &olen) == KEYRING_EREPLAY);
	}
	a->id = id;
	keyring_free(a);
	keyring_free(b);
}

static void
test_modes(void)
{
	struct keyring	*kr, *plain;
	unsigned char	 buf[128], out[128];
	size_t		 len, olen;

	kr = keyring_new();
	plain = keyring_new();
	if (kr == NULL || plain == NULL) {
		CHECK(0);
		return;
	}
	/* No key: plaintext both ways, and sealed input cannot open. */
	CHECK(keyring_wrap(plain, KEYRING_PACKET, "\x90", 1, buf, sizeof(buf),
	    &len) == 0 && len == 1 && buf[0] == 0x90);
	CHECK(keyring_unwrap(plain, KEYRING_PACKET, buf, len, out, sizeof(out),
	    &olen) == 0 && olen == 1);
	CHECK(keyring_unwrap(NULL, KEYRING_PACKET, buf, len, out, sizeof(out),
	    &olen) == 0 && olen == 1);
	CHECK(keyring_unwrap(plain, KEYRING_PACKET, buf, 0, out, sizeof(out),
	    &olen) == KEYRING_EFORMAT);
	CHECK(keyring_install(kr, k16) == 0);
	CHECK(keyring_wrap(kr, KEYRING_PACKET, "\x90", 1, buf, sizeof(buf),
	    &len) == 0 && len == 1 + KEYRING_OVERHEAD);
	CHECK(keyring_unwrap(plain, KEYRING_PACKET, buf, len, out, sizeof(out),
	    &olen) == KEYRING_EKEY);
	CHECK(keyring_unwrap(NULL, KEYRING_PACKET, buf, len, out, sizeof(out),
	    &olen) == KEYRING_EKEY);
	/* A key, verifying nothing: plaintext out, both kinds in. */
	keyring_set_verify(kr, 0, 0);
	CHECK(keyring_unwrap(kr, KEYRING_PACKET, buf, len, out, sizeof(out),
	    &olen) == 0 && olen == 1 && out[0] == 0x90);
	CHECK(keyring_wrap(kr, KEYRING_PACKET, "\x90", 1, buf, sizeof(buf),
	    &len) == 0 && len == 1);
	CHECK(keyring_unwrap(kr, KEYRING_PACKET, buf, len, out, sizeof(out),
	    &olen) == 0 && olen == 1);
	/* verify_outgoing: sealed out, both in. */
	keyring_set_verify(kr, 0, 1);
	CHECK(keyring_wrap(kr, KEYRING_PACKET, "\x90", 1, buf, sizeof(buf),
	    &len) == 0 && len == 1 + KEYRING_OVERHEAD);
	CHECK(keyring_unwrap(kr, KEYRING_PACKET, "\x90", 1, out, sizeof(out),
	    &olen) == 0);
	/* verify_incoming: plaintext refused. */
	keyring_set_verify(kr, 1, 1);
	CHECK(keyring_unwrap(kr, KEYRING_PACKET, "\x90", 1, out, sizeof(out),
	    &olen) == KEYRING_EPLAIN);
	CHECK(keyring_unwrap(kr, KEYRING_PACKET, buf, len, out, sizeof(out),
	    &olen) == 0);
	CHECK(keyring_wrap(plain, KEYRING_PACKET, "\x90\x90", 2, buf, 1,
	    &len) == KEYRING_ESPACE);
	CHECK(strcmp(keyring_strerror(KEYRING_EREPLAY), "replayed") == 0);
	keyring_free(kr);
	keyring_free(plain);
}

static void
test_file_format(void)
{
	struct keyring	*kr, *back;
	char		 buf[1024], b64[KEYRING_B64_MAX];
	size_t		 len;
	static const char *const bad[] = {
		"", "[]", "{}", "\"x\"", "[1]", "[\"abc\"]", "[\"" "H3/9gBxc"
		"KKlk1fVvOrQO9w==\",]", "[\"H3/9gBxcKKlk1fVvOrQO9w==\"",
		"[null]",
	};
	static const char consul[] =
	    "[\n  \"pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=\",\n"
	    "  \"H3/9gBxcKKlk1fVvOrQO9w==\",\n"
	    "  \"H3/9gBxcKKlk1fVvOrQO9w==\"\n]\n";
	size_t		 i;

	kr = keyring_new();
	back = keyring_new();
	if (kr == NULL || back == NULL) {
		CHECK(0);
		return;
	}
	CHECK(keyring_load(kr, consul, strlen(consul)) == 0);
	CHECK(keyring_count(kr) == 2);		/* the repeat kept once */
	CHECK(keyring_key(kr, 0, b64, sizeof(b64)) == 0);
	CHECK_STR(b64, k32);
	for (i = 0; i < nitems(bad); i++)
		CHECK(keyring_load(kr, bad[i], strlen(bad[i])) == -1);
	CHECK(keyring_load(kr, NULL, 0) == -1);
	CHECK(keyring_count(kr) == 2);		/* failures change nothing */
	CHECK(keyring_use(kr, k16) == 0);
	CHECK(keyring_save(kr, buf, sizeof(buf), &len) == 0);
	CHECK(len == strlen("[\"\",\"\"]") + strlen(k16) + strlen(k32));
	CHECK(memcmp(buf, "[\"H3/9gBxcKKlk1fVvOrQO9w==\",\"pUqJ", 32) == 0);
	CHECK(keyring_load(back, buf, len) == 0);
	CHECK(keyring_count(back) == 2);
	CHECK(keyring_key(back, 0, b64, sizeof(b64)) == 0);
	CHECK_STR(b64, k16);
	CHECK(keyring_save(kr, buf, 20, &len) == -1);
	keyring_free(back);
	back = keyring_new();
	CHECK(keyring_save(back, buf, sizeof(buf), &len) == 0 && len == 2);
	keyring_free(kr);
	keyring_free(back);
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_keys),
		TEST_CASE(test_seal_open),
		TEST_CASE(test_replay),
		TEST_CASE(test_modes),
		TEST_CASE(test_file_format),
	};

	return test_main(cases, nitems(cases));
}
