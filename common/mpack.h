/*
 * MessagePack helpers on top of msgpack-c: the encoding of structured
 * imsg payloads, and later of RPC frames, Raft entries and snapshots.
 * Decoders never trust a type or a length: each getter checks both.
 */
#ifndef CONSULD_MPACK_H
#define CONSULD_MPACK_H

#include <msgpack.h>
#include <stdint.h>

struct mpack_out {
	msgpack_sbuffer	 sbuf;
	msgpack_packer	 pk;
};

void	 mpack_out_init(struct mpack_out *);
void	 mpack_out_free(struct mpack_out *);

void	 mpack_str(msgpack_packer *, const char *);
void	 mpack_bin(msgpack_packer *, const void *, size_t);
void	 mpack_kv_str(msgpack_packer *, const char *, const char *);
void	 mpack_kv_int(msgpack_packer *, const char *, int64_t);
void	 mpack_kv_uint(msgpack_packer *, const char *, uint64_t);
void	 mpack_kv_bool(msgpack_packer *, const char *, int);

int	 mpack_prescan(const unsigned char *, size_t);
int	 mpack_parse(msgpack_unpacked *, const void *, size_t);
int	 mpack_next(msgpack_unpacked *, const void *, size_t, size_t *);
const msgpack_object *mpack_map_get(const msgpack_object *, const char *);
int	 mpack_key_is(const msgpack_object *, const char *);
int	 mpack_get_str(const msgpack_object *, char **);
/* A string without NUL into buf, NUL-terminated; -1 if it does not fit. */
int	 mpack_copy_str(const msgpack_object *, char *, size_t);
int	 mpack_get_int(const msgpack_object *, int64_t *);
int	 mpack_get_uint(const msgpack_object *, uint64_t *);
int	 mpack_get_bool(const msgpack_object *, int *);
int	 mpack_map_str(const msgpack_object *, const char *, char **);
int	 mpack_map_int(const msgpack_object *, const char *, int64_t *);
int	 mpack_map_uint(const msgpack_object *, const char *, uint64_t *);
int	 mpack_map_bool(const msgpack_object *, const char *, int *);

#endif
