/*
 * The gossip keyring: key management, sealing and opening with
 * XChaCha20-Poly1305, replay refusal, and the JSON of the keyring file.
 *
 * Replays.  The nonce of a sealed message is sender id (8 bytes, random
 * per keyring), counter (8, one more for every message sealed) and 8
 * random bytes, so it is unique without coordination and the AEAD
 * authenticates the id and counter.  A receiver keeps, per sender id and
 * channel, the highest counter opened and a bitmap of the 256 counters
 * below it, as DTLS does: a repeat is refused, and so is anything older
 * than the window.  The table holds KEYRING_PEERS senders, four-way set
 * associative with least recently used eviction, so its memory does not
 * depend on the traffic.
 *
 * What that leaves open: a message from a sender id the receiver does not
 * remember (first contact, evicted from a full table, or recorded before
 * the receiver restarted) is taken once.  We accept this instead of a
 * timestamp window, which would need clocks in step across the cluster.
 * The damage a lone replay can do to SWIM is small: alive, suspect and
 * dead messages are ordered by incarnation, so an old one is ignored and
 * a current suspicion is refuted by its subject; an ack counts only when
 * its sequence number is one the prober is waiting for right now; and a
 * replayed push-pull merges state that the newer state overrides.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "keyring.h"

#define KEYRING_SUBKEY	crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define KEYRING_WINDOW		256	/* counters remembered */
#define KEYRING_WORDS		(KEYRING_WINDOW / 64)
#define KEYRING_WAYS		4
#define KEYRING_SETS		256
#define KEYRING_PEERS		(KEYRING_WAYS * KEYRING_SETS)

/* Stretching 16 and 24-byte keys: BLAKE2b keyed with the key, of this. */
static const char keyring_label[] = "consuld gossip key v1";

struct keyring_key {
	unsigned char		 raw[32];
	size_t			 len;
	unsigned char		 sub[KEYRING_SUBKEY];
};

struct keyring_peer {
	uint64_t		 id;
	uint64_t		 top;		/* highest opened */
	uint64_t		 seen[KEYRING_WORDS]; /* bit i: top - i */
	uint64_t		 used;		/* LRU stamp; 0: free */
	uint8_t			 chan;
};

struct keyring {
	struct keyring_key	 keys[KEYRING_KEYS_MAX]; /* [0]: primary */
	size_t			 nkeys;
	int			 verify_incoming;
	int			 verify_outgoing;
	uint64_t		 id;
	uint64_t		 counter;
	uint64_t		 clock;
	struct keyring_peer	 peers[KEYRING_PEERS];
};

struct keyring *
keyring_new(void)
{
	struct keyring	*kr;

	if (sodium_init() < 0)
		return NULL;
	if ((kr = calloc(1, sizeof(*kr))) == NULL)
		return NULL;
	kr->verify_incoming = 1;
	kr->verify_outgoing = 1;
	randombytes_buf(&kr->id, sizeof(kr->id));
	return kr;
}

void
keyring_free(struct keyring *kr)
{
	if (kr == NULL)
		return;
	sodium_memzero(kr->keys, sizeof(kr->keys));
	free(kr);
}

/* Base64 key text to a key; -1 unless it is 16, 24 or 32 bytes. */
static int
key_parse(const char *b64, struct keyring_key *k)
{
	unsigned char	 buf[64];
	const char	*end;
	size_t		 len, blen;

	if (b64 == NULL || (blen = strlen(b64)) == 0 || blen >= 64)
		return -1;
	if (sodium_base642bin(buf, sizeof(buf), b64, blen, NULL, &len, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != b64 + blen ||
	    (len != 16 && len != 24 && len != 32)) {
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	memset(k, 0, sizeof(*k));
	memcpy(k->raw, buf, len);
	k->len = len;
	sodium_memzero(buf, sizeof(buf));
	if (len == KEYRING_SUBKEY)
		memcpy(k->sub, k->raw, len);
	else if (crypto_generichash(k->sub, sizeof(k->sub),
	    (const unsigned char *)keyring_label, sizeof(keyring_label) - 1,
	    k->raw, k->len) != 0)
		return -1;
	return 0;
}

static int
key_find(const struct keyring_key *keys, size_t n,
    const struct keyring_key *k)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (keys[i].len == k->len &&
		    sodium_memcmp(keys[i].raw, k->raw, k->len) == 0)
			return (int)i;
	return -1;
}

int
keyring_install(struct keyring *kr, const char *b64)
{
	struct keyring_key	 k;
	int			 rc = KEYRING_EINVAL;

	if (key_parse(b64, &k) == -1)
		goto out;
	if (key_find(kr->keys, kr->nkeys, &k) != -1) {
		rc = KEYRING_OK;
		goto out;
	}
	if (kr->nkeys == KEYRING_KEYS_MAX)
		goto out;
	kr->keys[kr->nkeys++] = k;
	rc = KEYRING_OK;
out:
	sodium_memzero(&k, sizeof(k));
	return rc;
}

int
keyring_use(struct keyring *kr, const char *b64)
{
	struct keyring_key	 k, tmp;
	int			 i;

	if (key_parse(b64, &k) == -1 ||
	    (i = key_find(kr->keys, kr->nkeys, &k)) == -1) {
		sodium_memzero(&k, sizeof(k));
		return KEYRING_EINVAL;
	}
	tmp = kr->keys[0];
	kr->keys[0] = kr->keys[i];
	kr->keys[i] = tmp;
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(&tmp, sizeof(tmp));
	return KEYRING_OK;
}

int
keyring_remove(struct keyring *kr, const char *b64)
{
	struct keyring_key	 k;
	int			 i;

	i = key_parse(b64, &k) == -1 ? -1 : key_find(kr->keys, kr->nkeys, &k);
	sodium_memzero(&k, sizeof(k));
	if (i <= 0)	/* unknown, or the primary */
		return KEYRING_EINVAL;
	memmove(&kr->keys[i], &kr->keys[i + 1],
	    (kr->nkeys - (size_t)i - 1) * sizeof(kr->keys[0]));
	kr->nkeys--;
	sodium_memzero(&kr->keys[kr->nkeys], sizeof(kr->keys[0]));
	return KEYRING_OK;
}

size_t
keyring_count(const struct keyring *kr)
{
	return kr->nkeys;
}

int
keyring_key(const struct keyring *kr, size_t i, char *buf, size_t size)
{
	const struct keyring_key	*k;

	if (i >= kr->nkeys)
		return -1;
	k = &kr->keys[i];
	if (size < sodium_base64_ENCODED_LEN(k->len,
	    sodium_base64_VARIANT_ORIGINAL))
		return -1;
	sodium_bin2base64(buf, size, k->raw, k->len,
	    sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

void
keyring_set_verify(struct keyring *kr, int incoming, int outgoing)
{
	kr->verify_incoming = incoming != 0;
	kr->verify_outgoing = outgoing != 0;
}

int
keyring_verify_incoming(const struct keyring *kr)
{
	return kr->verify_incoming;
}

int
keyring_verify_outgoing(const struct keyring *kr)
{
	return kr->verify_outgoing;
}

int
keyring_load(struct keyring *kr, const char *buf, size_t len)
{
	struct keyring_key	 keys[KEYRING_KEYS_MAX], k;
	json_t			*a, *v;
	json_error_t		 jerr;
	size_t			 i, n, nkeys = 0;
	int			 rc = -1;

	if (buf == NULL || len == 0 || len > KEYRING_FILE_MAX)
		return -1;
	if ((a = json_loadb(buf, len, 0, &jerr)) == NULL)
		return -1;
	if (!json_is_array(a) || (n = json_array_size(a)) == 0 ||
	    n > KEYRING_KEYS_MAX)
		goto out;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) ||
		    key_parse(json_string_value(v), &k) == -1)
			goto out;
		/* A key listed twice is kept once, where it came first. */
		if (key_find(keys, nkeys, &k) == -1)
			keys[nkeys++] = k;
	}
	memcpy(kr->keys, keys, nkeys * sizeof(keys[0]));
	if (nkeys < KEYRING_KEYS_MAX)
		sodium_memzero(&kr->keys[nkeys],
		    (KEYRING_KEYS_MAX - nkeys) * sizeof(kr->keys[0]));
	kr->nkeys = nkeys;
	rc = 0;
out:
	json_decref(a);
	sodium_memzero(keys, sizeof(keys));
	sodium_memzero(&k, sizeof(k));
	return rc;
}

int
keyring_save(const struct keyring *kr, char *buf, size_t size, size_t *len)
{
	char	 b64[KEYRING_B64_MAX];
	size_t	 i, off = 0, n;

	*len = 0;
	if (size < 2)
		return -1;
	buf[off++] = '[';
	for (i = 0; i < kr->nkeys; i++) {
		if (keyring_key(kr, i, b64, sizeof(b64)) == -1)
			return -1;
		n = strlen(b64);
		if (size - off < n + 4)
			return -1;
		if (i > 0)
			buf[off++] = ',';
		buf[off++] = '"';
		memcpy(buf + off, b64, n);
		off += n;
		buf[off++] = '"';
	}
	if (off >= size)
		return -1;
	buf[off++] = ']';
	*len = off;
	sodium_memzero(b64, sizeof(b64));
	return 0;
}

static void
put64(unsigned char *p, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int
keyring_seal(struct keyring *kr, enum keyring_chan chan, const void *in,
    size_t len, void *out, size_t size, size_t *outlen)
{
	unsigned char		*p = out;
	unsigned char		 ad[2];
	unsigned long long	 clen;

	*outlen = 0;
	if (kr->nkeys == 0)
		return KEYRING_EKEY;
	if (len > SIZE_MAX - KEYRING_OVERHEAD || size < len + KEYRING_OVERHEAD)
		return KEYRING_ESPACE;
	p[0] = KEYRING_VERSION;
	put64(p + 1, kr->id);
	put64(p + 9, ++kr->counter);
	randombytes_buf(p + 17, KEYRING_NONCE - 16);
	ad[0] = KEYRING_VERSION;
	ad[1] = (unsigned char)chan;
	crypto_aead_xchacha20poly1305_ietf_encrypt(p + 1 + KEYRING_NONCE,
	    &clen, in, len, ad, sizeof(ad), NULL, p + 1, kr->keys[0].sub);
	*outlen = 1 + KEYRING_NONCE + (size_t)clen;
	return KEYRING_OK;
}

static void
window_shift(uint64_t *w, uint64_t by)
{
	uint64_t	 words = by / 64, bits = by % 64;
	int		 i;

	if (by >= KEYRING_WINDOW) {
		memset(w, 0, KEYRING_WORDS * sizeof(*w));
		return;
	}
	for (i = KEYRING_WORDS - 1; i >= 0; i--) {
		uint64_t	 hi = 0, lo = 0;

		if ((uint64_t)i >= words)
			hi = w[i - words] << bits;
		if (bits > 0 && (uint64_t)i >= words + 1)
			lo = w[i - words - 1] >> (64 - bits);
		w[i] = hi | lo;
	}
}

/* Record (id, counter) as seen; -1 if it was, or is older than the window. */
static int
replay_check(struct keyring *kr, enum keyring_chan chan, uint64_t id,
    uint64_t ctr)
{
	struct keyring_peer	*set, *p = NULL, *victim;
	uint64_t		 h, d;
	int			 i;

	h = (id ^ (uint64_t)chan * 0x9e3779b97f4a7c15ULL) *
	    0xff51afd7ed558ccdULL;
	set = &kr->peers[(h >> 56) % KEYRING_SETS * KEYRING_WAYS];
	victim = &set[0];
	for (i = 0; i < KEYRING_WAYS; i++) {
		if (set[i].used != 0 && set[i].id == id &&
		    set[i].chan == chan) {
			p = &set[i];
			break;
		}
		if (set[i].used < victim->used)
			victim = &set[i];
	}
	kr->clock++;
	if (p == NULL) {
		p = victim;
		memset(p, 0, sizeof(*p));
		p->id = id;
		p->chan = (uint8_t)chan;
		p->top = ctr;
		p->seen[0] = 1;
		p->used = kr->clock;
		return 0;
	}
	if (ctr > p->top) {
		window_shift(p->seen, ctr - p->top);
		p->top = ctr;
		p->seen[0] |= 1;
	} else {
		d = p->top - ctr;
		if (d >= KEYRING_WINDOW ||
		    (p->seen[d / 64] & (1ULL << (d % 64))) != 0)
			return -1;
		p->seen[d / 64] |= 1ULL << (d % 64);
	}
	p->used = kr->clock;
	return 0;
}

int
keyring_open(struct keyring *kr, enum keyring_chan chan, const void *in,
    size_t len, void *out, size_t size, size_t *outlen)
{
	const unsigned char	*p = in;
	unsigned char		 ad[2];
	unsigned long long	 mlen;
	size_t			 i;

	*outlen = 0;
	if (len < KEYRING_OVERHEAD || p[0] != KEYRING_VERSION)
		return KEYRING_EFORMAT;
	if (size < len - KEYRING_OVERHEAD)
		return KEYRING_ESPACE;
	ad[0] = KEYRING_VERSION;
	ad[1] = (unsigned char)chan;
	for (i = 0; i < kr->nkeys; i++) {
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen,
		    NULL, p + 1 + KEYRING_NONCE, len - 1 - KEYRING_NONCE, ad,
		    sizeof(ad), p + 1, kr->keys[i].sub) == 0)
			break;
	}
	if (i == kr->nkeys)
		return KEYRING_EKEY;
	if (replay_check(kr, chan, get64(p + 1), get64(p + 9)) == -1) {
		sodium_memzero(out, (size_t)mlen);
		return KEYRING_EREPLAY;
	}
	*outlen = (size_t)mlen;
	return KEYRING_OK;
}

int
keyring_wrap(struct keyring *kr, enum keyring_chan chan, const void *in,
    size_t len, void *out, size_t size, size_t *outlen)
{
	*outlen = 0;
	if (kr != NULL && kr->nkeys > 0 && kr->verify_outgoing)
		return keyring_seal(kr, chan, in, len, out, size, outlen);
	if (size < len)
		return KEYRING_ESPACE;
	memcpy(out, in, len);
	*outlen = len;
	return KEYRING_OK;
}

int
keyring_unwrap(struct keyring *kr, enum keyring_chan chan, const void *in,
    size_t len, void *out, size_t size, size_t *outlen)
{
	const unsigned char	*p = in;

	*outlen = 0;
	if (len == 0)
		return KEYRING_EFORMAT;
	if (p[0] == KEYRING_VERSION) {
		if (kr == NULL)
			return KEYRING_EKEY;
		return keyring_open(kr, chan, in, len, out, size, outlen);
	}
	if (kr != NULL && kr->nkeys > 0 && kr->verify_incoming)
		return KEYRING_EPLAIN;
	if (size < len)
		return KEYRING_ESPACE;
	memcpy(out, in, len);
	*outlen = len;
	return KEYRING_OK;
}

const char *
keyring_strerror(int rc)
{
	switch (rc) {
	case KEYRING_OK:
		return "ok";
	case KEYRING_EFORMAT:
		return "not a sealed message";
	case KEYRING_EKEY:
		return "no installed key opens it";
	case KEYRING_EREPLAY:
		return "replayed";
	case KEYRING_EPLAIN:
		return "plaintext refused";
	case KEYRING_ESPACE:
		return "no room";
	case KEYRING_EINVAL:
		return "invalid key or operation";
	}
	return "unknown";
}
