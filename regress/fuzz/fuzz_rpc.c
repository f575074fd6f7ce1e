/*
 * libFuzzer target for the server RPC frame decoders (raftd/rpc_codec.c):
 * the input is taken as a frame's MessagePack and must never crash them;
 * a HELLO, RAFT, FWD, REPLY or CANCEL frame they accept encodes back to
 * one that decodes to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../raftd/raft.c"
#include "../../raftd/rpc_codec.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same_msg(const struct raft_msg *a, const struct raft_msg *b)
{
	size_t	 i;

	if (a->type != b->type || strcmp(a->from, b->from) != 0 ||
	    strcmp(a->to, b->to) != 0 || a->term != b->term ||
	    a->log_term != b->log_term || a->index != b->index ||
	    a->commit != b->commit || a->reject != b->reject ||
	    a->reject_hint != b->reject_hint || a->ctx != b->ctx ||
	    a->transfer != b->transfer || a->n_entries != b->n_entries)
		abort();
	for (i = 0; i < a->n_entries; i++)
		if (a->entries[i].index != b->entries[i].index ||
		    a->entries[i].term != b->entries[i].term ||
		    a->entries[i].type != b->entries[i].type ||
		    a->entries[i].len != b->entries[i].len ||
		    (a->entries[i].len > 0 && memcmp(a->entries[i].data,
		    b->entries[i].data, a->entries[i].len) != 0))
			abort();
	if (a->type == RAFT_MSG_SNAPSHOT &&
	    (a->snapshot.index != b->snapshot.index ||
	    a->snapshot.term != b->snapshot.term ||
	    a->snapshot.conf.n != b->snapshot.conf.n))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msgpack_unpacked	 u, v;
	struct mpack_out	 out;
	struct rpc_hello	 h, h2;
	struct raft_msg		 m, back;
	struct rpc_fwd		 f, f2;

	if (mpack_parse(&u, data, size) == -1)
		return 0;
	switch (rpc_frame_type(&u.data)) {
	case RPC_HELLO:
		if (rpc_hello_unpack(&u.data, &h) == -1)
			break;
		mpack_out_init(&out);
		rpc_hello_pack(&out.pk, h.dc, h.id);
		if (mpack_parse(&v, out.sbuf.data, out.sbuf.size) == -1 ||
		    rpc_hello_unpack(&v.data, &h2) == -1 ||
		    strcmp(h.dc, h2.dc) != 0 || strcmp(h.id, h2.id) != 0)
			abort();
		msgpack_unpacked_destroy(&v);
		mpack_out_free(&out);
		break;
	case RPC_FWD:
	case RPC_REPLY:
	case RPC_CANCEL:
		if (rpc_fwd_unpack(&u.data, &f) == -1)
			break;
		mpack_out_init(&out);
		rpc_fwd_pack(&out.pk, rpc_frame_type(&u.data), &f);
		if (mpack_parse(&v, out.sbuf.data, out.sbuf.size) == -1 ||
		    rpc_fwd_unpack(&v.data, &f2) == -1 || f.fid != f2.fid ||
		    f.type != f2.type || f.len != f2.len ||
		    (f.len > 0 && memcmp(f.data, f2.data, f.len) != 0))
			abort();
		msgpack_unpacked_destroy(&v);
		mpack_out_free(&out);
		break;
	case RPC_RAFT:
		if (rpc_msg_unpack(&u.data, &m) == -1)
			break;
		mpack_out_init(&out);
		if (rpc_msg_pack(&out.pk, &m) == -1 ||
		    mpack_parse(&v, out.sbuf.data, out.sbuf.size) == -1 ||
		    rpc_msg_unpack(&v.data, &back) == -1)
			abort();
		same_msg(&m, &back);
		rpc_msg_free(&back);
		rpc_msg_free(&m);
		msgpack_unpacked_destroy(&v);
		mpack_out_free(&out);
		break;
	}
	msgpack_unpacked_destroy(&u);
	return 0;
}
