/*
 * MessagePack codecs of KV pairs and operations.  A pair is the array
 * [key, flags, value|nil, create, modify, lock_index, session|nil]; an
 * operation is [verb, key, value|nil, flags, index, session|nil].  The
 * decoders copy what they keep and check every type and bound.
 */
#include <stdlib.h>
#include <string.h>

#include "kv_codec.h"

static const char *const verb_names[KV_VERB_MAX] = {
	[KV_SET] = "set",
	[KV_CAS] = "cas",
	[KV_LOCK] = "lock",
	[KV_UNLOCK] = "unlock",
	[KV_GET] = "get",
	[KV_GET_TREE] = "get-tree",
	[KV_GET_OR_EMPTY] = "get-or-empty",
	[KV_CHECK_INDEX] = "check-index",
	[KV_CHECK_SESSION] = "check-session",
	[KV_CHECK_NOT_EXISTS] = "check-not-exists",
	[KV_DELETE] = "delete",
	[KV_DELETE_TREE] = "delete-tree",
	[KV_DELETE_CAS] = "delete-cas",
};

const char *
kv_verb_name(enum kv_verb v)
{
	return v < KV_VERB_MAX ? verb_names[v] : "?";
}

int
kv_verb_parse(const char *s, enum kv_verb *v)
{
	int	 i;

	for (i = 0; i < KV_VERB_MAX; i++) {
		if (strcmp(verb_names[i], s) == 0) {
			*v = i;
			return 0;
		}
	}
	return -1;
}

static void
pack_bytes_or_nil(msgpack_packer *pk, const void *p, size_t len)
{
	if (p == NULL)
		msgpack_pack_nil(pk);
	else
		mpack_bin(pk, p, len);
}

/* with_value 0 sends nil for the value, as Consul's write results do. */
void
kv_pair_pack(msgpack_packer *pk, const struct kv_pair *p, int with_value)
{
	msgpack_pack_array(pk, 7);
	mpack_bin(pk, p->key, p->keylen);
	msgpack_pack_uint64(pk, p->flags);
	if (with_value)
		pack_bytes_or_nil(pk, p->value, p->vlen);
	else
		msgpack_pack_nil(pk);
	msgpack_pack_uint64(pk, p->create_index);
	msgpack_pack_uint64(pk, p->modify_index);
	msgpack_pack_uint64(pk, p->lock_index);
	mpack_str(pk, p->session);
}

/* A byte string, copied and NUL-terminated; nil gives NULL. */
static int
get_bytes(const msgpack_object *o, size_t max, void **out, size_t *len,
    int nil_ok)
{
	const char	*p;
	size_t		 n;

	*out = NULL;
	*len = 0;
	if (o->type == MSGPACK_OBJECT_NIL)
		return nil_ok ? 0 : -1;
	if (o->type == MSGPACK_OBJECT_BIN) {
		p = o->via.bin.ptr;
		n = o->via.bin.size;
	} else if (o->type == MSGPACK_OBJECT_STR) {
		p = o->via.str.ptr;
		n = o->via.str.size;
	} else
		return -1;
	if (n > max)
		return -1;
	if ((*out = malloc(n + 1)) == NULL)
		return -1;
	/* A zero-length string may come with no pointer at all. */
	if (n > 0)
		memcpy(*out, p, n);
	((char *)*out)[n] = '\0';
	*len = n;
	return 0;
}

int
kv_pair_unpack(const msgpack_object *o, struct kv_pair *p)
{
	const msgpack_object	*a;

	memset(p, 0, sizeof(*p));
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 7)
		return -1;
	a = o->via.array.ptr;
	if (get_bytes(&a[0], KV_KEY_MAX, (void **)&p->key, &p->keylen,
	    0) == -1 ||
	    mpack_get_uint(&a[1], &p->flags) == -1 ||
	    get_bytes(&a[2], SIZE_MAX, (void **)&p->value, &p->vlen,
	    1) == -1 ||
	    mpack_get_uint(&a[3], &p->create_index) == -1 ||
	    mpack_get_uint(&a[4], &p->modify_index) == -1 ||
	    mpack_get_uint(&a[5], &p->lock_index) == -1 ||
	    mpack_get_str(&a[6], &p->session) == -1) {
		kv_pair_free(p);
		return -1;
	}
	return 0;
}

void
kv_pair_free(struct kv_pair *p)
{
	free(p->key);
	free(p->value);
	free(p->session);
	memset(p, 0, sizeof(*p));
}

void
kv_op_pack(msgpack_packer *pk, const struct kv_op *op)
{
	msgpack_pack_array(pk, 6);
	msgpack_pack_uint8(pk, op->verb);
	mpack_bin(pk, op->key ? op->key : "", op->keylen);
	pack_bytes_or_nil(pk, op->value, op->vlen);
	msgpack_pack_uint64(pk, op->flags);
	msgpack_pack_uint64(pk, op->index);
	mpack_str(pk, op->session);
}

int
kv_op_unpack(const msgpack_object *o, struct kv_op *op)
{
	const msgpack_object	*a;
	uint64_t		 verb;

	memset(op, 0, sizeof(*op));
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 6)
		return -1;
	a = o->via.array.ptr;
	if (mpack_get_uint(&a[0], &verb) == -1 || verb >= KV_VERB_MAX)
		return -1;
	op->verb = verb;
	if (get_bytes(&a[1], KV_KEY_MAX, (void **)&op->key, &op->keylen,
	    0) == -1 ||
	    get_bytes(&a[2], SIZE_MAX, (void **)&op->value, &op->vlen,
	    1) == -1 ||
	    mpack_get_uint(&a[3], &op->flags) == -1 ||
	    mpack_get_uint(&a[4], &op->index) == -1 ||
	    mpack_get_str(&a[5], &op->session) == -1) {
		kv_op_free(op);
		return -1;
	}
	return 0;
}

void
kv_op_free(struct kv_op *op)
{
	free(op->key);
	free(op->value);
	free(op->session);
	memset(op, 0, sizeof(*op));
}
