/*
 * The key/value types that cross processes (apid <-> raftd imsgs) and
 * live in the Raft log and the kv table, with their MessagePack codecs.
 * Keys and values are byte strings; keys are bounded by KV_KEY_MAX.
 */
#ifndef CONSULD_KV_CODEC_H
#define CONSULD_KV_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "mpack.h"

#define KV_KEY_MAX		(64 * 1024)
#define KV_VALUE_MAX_DEFAULT	524288
#define KV_TXN_MAX_OPS		128

enum kv_verb {
	KV_SET,
	KV_CAS,
	KV_LOCK,
	KV_UNLOCK,
	KV_GET,
	KV_GET_TREE,
	KV_GET_OR_EMPTY,
	KV_CHECK_INDEX,
	KV_CHECK_SESSION,
	KV_CHECK_NOT_EXISTS,
	KV_DELETE,
	KV_DELETE_TREE,
	KV_DELETE_CAS,
	KV_VERB_MAX
};

struct kv_pair {
	char		*key;		/* NUL-terminated, keylen bytes */
	size_t		 keylen;
	unsigned char	*value;		/* NULL when empty */
	size_t		 vlen;
	uint64_t	 flags;
	uint64_t	 create_index;
	uint64_t	 modify_index;
	uint64_t	 lock_index;
	char		*session;	/* NULL when none */
};

struct kv_op {
	enum kv_verb	 verb;
	char		*key;
	size_t		 keylen;
	unsigned char	*value;
	size_t		 vlen;
	uint64_t	 flags;
	uint64_t	 index;
	char		*session;
};

const char	*kv_verb_name(enum kv_verb);
int		 kv_verb_parse(const char *, enum kv_verb *);

void	 kv_pair_pack(msgpack_packer *, const struct kv_pair *, int);
int	 kv_pair_unpack(const msgpack_object *, struct kv_pair *);
void	 kv_pair_free(struct kv_pair *);

void	 kv_op_pack(msgpack_packer *, const struct kv_op *);
int	 kv_op_unpack(const msgpack_object *, struct kv_op *);
void	 kv_op_free(struct kv_op *);

#endif
