/*
 * The gossip keyring: the keys a gossip pool seals and opens its packets
 * and push-pull streams with, as Consul's `encrypt` and local.keyring.
 * Keys are 16, 24 or 32 random bytes written in standard base64; the
 * first key is the primary, which seals, and any installed key may open.
 * The AEAD is libsodium's XChaCha20-Poly1305; 16 and 24-byte keys are
 * stretched to 32 with BLAKE2b.  This is not Consul's wire format: only
 * the key text and the keyring file are compatible.
 *
 * A sealed message is: version (1 byte), nonce (24), ciphertext, tag (16).
 * The nonce begins with a random id the sender picked at start-up and a
 * counter, both authenticated, which lets a receiver refuse replays: it
 * remembers, per sender id, the highest counter and which of the 256
 * before it were seen.  See keyring.c for what that does not cover.
 *
 * No I/O here: the keyring file is read and written through buffers;
 * raftd keeps the file (gossipd cannot reach data_dir).
 */
#ifndef CONSULD_KEYRING_H
#define CONSULD_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#define KEYRING_KEYS_MAX	32
#define KEYRING_B64_MAX		48	/* base64 of 32 bytes, and NUL */
#define KEYRING_VERSION		1	/* first byte when sealed */
#define KEYRING_NONCE		24
#define KEYRING_TAG		16
#define KEYRING_OVERHEAD	(1 + KEYRING_NONCE + KEYRING_TAG)
#define KEYRING_FILE_MAX	(64 * 1024)	/* bytes of a keyring file */

/* Sealed messages are bound to the channel they were sent on. */
enum keyring_chan {
	KEYRING_PACKET,		/* a UDP packet */
	KEYRING_STREAM		/* a message on a TCP stream */
};

enum keyring_result {
	KEYRING_OK = 0,
	KEYRING_EFORMAT = -1,	/* too short, or an unknown version */
	KEYRING_EKEY = -2,	/* sealed, and no installed key opens it */
	KEYRING_EREPLAY = -3,	/* opened, but seen before or too old */
	KEYRING_EPLAIN = -4,	/* plaintext refused: verify_incoming */
	KEYRING_ESPACE = -5,	/* the output buffer is too small */
	KEYRING_EINVAL = -6	/* bad key text, or an operation refused */
};

struct keyring;

/* An empty ring: plaintext only until a key is installed. */
struct keyring	*keyring_new(void);
void		 keyring_free(struct keyring *);

/*
 * Key management with Consul's rules: the first key installed becomes
 * primary; installing a key already there is not an error; use makes an
 * installed key primary; the primary cannot be removed.
 */
int		 keyring_install(struct keyring *, const char *);
int		 keyring_use(struct keyring *, const char *);
int		 keyring_remove(struct keyring *, const char *);
size_t		 keyring_count(const struct keyring *);
/* The i-th key as base64; 0 is the primary. */
int		 keyring_key(const struct keyring *, size_t, char *, size_t);

/*
 * encrypt_verify_incoming: refuse plaintext.  encrypt_verify_outgoing:
 * seal what is sent.  Both matter only once the ring has a key; a new
 * ring has both on, as Consul's defaults.
 */
void		 keyring_set_verify(struct keyring *, int, int);
int		 keyring_verify_incoming(const struct keyring *);
int		 keyring_verify_outgoing(const struct keyring *);

/*
 * The keyring file: a JSON array of base64 keys, primary first.  load
 * replaces every key, or changes nothing and returns -1.  save writes
 * the JSON (no NUL) and gives its length; -1 if size is too small.
 */
int		 keyring_load(struct keyring *, const char *, size_t);
int		 keyring_save(const struct keyring *, char *, size_t,
		    size_t *);

/* Sealing under the primary, and opening with any key. */
int		 keyring_seal(struct keyring *, enum keyring_chan,
		    const void *, size_t, void *, size_t, size_t *);
int		 keyring_open(struct keyring *, enum keyring_chan,
		    const void *, size_t, void *, size_t, size_t *);

/*
 * What the SWIM core calls.  wrap: the bytes to send, sealed when the
 * ring has keys and verify_outgoing is on, else a copy.  unwrap: the
 * message in received bytes, which are sealed when they start with
 * KEYRING_VERSION (a MessagePack message never does) and plaintext
 * otherwise, and plaintext is refused under verify_incoming.  Both
 * return a keyring_result; out may not overlap in.
 */
int		 keyring_wrap(struct keyring *, enum keyring_chan,
		    const void *, size_t, void *, size_t, size_t *);
int		 keyring_unwrap(struct keyring *, enum keyring_chan,
		    const void *, size_t, void *, size_t, size_t *);

const char	*keyring_strerror(int);

#endif
