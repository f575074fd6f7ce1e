/*
 * libFuzzer target for the decoder of PUT /v1/txn bodies.  Whatever the
 * input, the decoder must answer with a status and a reason, or with
 * operations raftd would accept: verbs it knows (unless the answer is a
 * 409), keys and values within their bounds, and an encoding that
 * kv_op_unpack() reads back to the same operations.  Every 409 reason
 * must be valid UTF-8, since it goes into a JSON string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../apid/txn_decode.c"

#define FUZZ_MAX_BODY	65536
/* A small value limit, so that its 413 is reachable. */
#define FUZZ_MAX_VALUE	1024

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
same_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return 0;
	return alen == 0 || memcmp(a, b, alen) == 0;
}

static void
check_roundtrip(const struct kv_op *op)
{
	struct mpack_out	 out;
	msgpack_unpacked	 u;
	struct kv_op		 back;

	mpack_out_init(&out);
	kv_op_pack(&out.pk, op);
	if (mpack_parse(&u, out.sbuf.data, out.sbuf.size) == -1 ||
	    kv_op_unpack(&u.data, &back) == -1)
		abort();
	if (back.verb != op->verb || back.flags != op->flags ||
	    back.index != op->index ||
	    !same_bytes(back.key, back.keylen, op->key, op->keylen) ||
	    !same_bytes(back.value, back.vlen, op->value, op->vlen) ||
	    (back.session == NULL) != (op->session == NULL) ||
	    (op->session != NULL && strcmp(back.session, op->session) != 0))
		abort();
	kv_op_free(&back);
	msgpack_unpacked_destroy(&u);
	mpack_out_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct txn		 t;
	const struct kv_op	*op;
	char			 err[TXN_ERR_MAX];
	json_t			*s;
	size_t			 i;
	int			 code;

	err[0] = '\0';
	code = txn_decode((const char *)data, size, FUZZ_MAX_BODY,
	    FUZZ_MAX_VALUE, &t, err, sizeof(err));
	if (code != 0) {
		if ((code != 400 && code != 413) || err[0] == '\0')
			abort();
		txn_free(&t);
		return 0;
	}
	if (t.nops > KV_TXN_MAX_OPS || t.nerrors > t.nops)
		abort();
	for (i = 0; i < t.nerrors; i++) {
		if (t.errors[i].op >= t.nops ||
		    (s = json_string(t.errors[i].what)) == NULL)
			abort();
		json_decref(s);
	}
	for (i = 0; i < t.nops; i++) {
		op = &t.ops[i];
		if (op->keylen > KV_KEY_MAX || op->vlen > FUZZ_MAX_VALUE ||
		    (op->value == NULL) != (op->vlen == 0) ||
		    (op->key != NULL && memchr(op->key, '\0',
		    op->keylen) != NULL) ||
		    (op->session != NULL && *op->session == '\0'))
			abort();
		if (t.nerrors > 0)
			continue;
		if (op->verb >= KV_VERB_MAX || (op->keylen == 0 &&
		    op->verb != KV_DELETE_TREE))
			abort();
		check_roundtrip(op);
	}
	txn_free(&t);
	return 0;
}
