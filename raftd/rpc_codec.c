/*
 * Encoding and decoding of the server RPC frames described in
 * rpc_codec.h.
 */
#include <stdlib.h>
#include <string.h>

#include "imsg.h"
#include "mpack.h"
#include "rpc_codec.h"

int
rpc_frame_type(const msgpack_object *o)
{
	uint64_t	 t;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1 ||
	    mpack_get_uint(&o->via.array.ptr[0], &t) == -1 ||
	    t < RPC_HELLO || t > RPC_SNAP)
		return -1;
	return (int)t;
}

void
rpc_hello_pack(msgpack_packer *pk, const char *dc, const char *id)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, RPC_HELLO);
	msgpack_pack_uint32(pk, RPC_VERSION);
	mpack_str(pk, dc);
	mpack_str(pk, id);
}

int
rpc_hello_unpack(const msgpack_object *o, struct rpc_hello *h)
{
	const msgpack_object	*a = o->via.array.ptr;
	uint64_t		 v;

	memset(h, 0, sizeof(*h));
	if (rpc_frame_type(o) != RPC_HELLO || o->via.array.size < 4 ||
	    mpack_get_uint(&a[1], &v) == -1 || v == 0 || v > UINT32_MAX ||
	    mpack_copy_str(&a[2], h->dc, sizeof(h->dc)) == -1 ||
	    mpack_copy_str(&a[3], h->id, sizeof(h->id)) == -1 ||
	    h->id[0] == '\0')
		return -1;
	h->version = (uint32_t)v;
	return 0;
}

static void
pack_bool(msgpack_packer *pk, int b)
{
	if (b)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

int
rpc_msg_pack(msgpack_packer *pk, const struct raft_msg *m)
{
	const struct raft_entry	*e;
	void			*conf = NULL;
	size_t			 i, conflen = 0;

	if (m->type == RAFT_MSG_SNAPSHOT &&
	    raft_conf_encode(&m->snapshot.conf, &conf, &conflen) == -1)
		return -1;
	msgpack_pack_array(pk, 14);
	msgpack_pack_uint8(pk, RPC_RAFT);
	msgpack_pack_uint8(pk, m->type);
	mpack_str(pk, m->from);
	mpack_str(pk, m->to);
	msgpack_pack_uint64(pk, m->term);
	msgpack_pack_uint64(pk, m->log_term);
	msgpack_pack_uint64(pk, m->index);
	msgpack_pack_uint64(pk, m->commit);
	pack_bool(pk, m->reject);
	msgpack_pack_uint64(pk, m->reject_hint);
	msgpack_pack_uint64(pk, m->ctx);
	pack_bool(pk, m->transfer);
	msgpack_pack_array(pk, m->n_entries);
	for (i = 0; i < m->n_entries; i++) {
		e = &m->entries[i];
		msgpack_pack_array(pk, 4);
		msgpack_pack_uint64(pk, e->index);
		msgpack_pack_uint64(pk, e->term);
		msgpack_pack_uint8(pk, e->type);
		mpack_bin(pk, e->data, e->len);
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		msgpack_pack_array(pk, 3);
		msgpack_pack_uint64(pk, m->snapshot.index);
		msgpack_pack_uint64(pk, m->snapshot.term);
		mpack_bin(pk, conf, conflen);
	} else
		msgpack_pack_nil(pk);
	free(conf);
	return 0;
}

void
rpc_msg_free(struct raft_msg *m)
{
	free(m->entries);
	m->entries = NULL;
	m->n_entries = 0;
	raft_conf_free(&m->snapshot.conf);
}

int
rpc_msg_unpack(const msgpack_object *o, struct raft_msg *m)
{
	const msgpack_object	*a = o->via.array.ptr, *ents, *e, *s;
	uint64_t		 type, etype;
	uint32_t		 i;

	memset(m, 0, sizeof(*m));
	if (rpc_frame_type(o) != RPC_RAFT || o->via.array.size < 14 ||
	    mpack_get_uint(&a[1], &type) == -1 || type >= RAFT_MSG_TYPE_MAX ||
	    mpack_copy_str(&a[2], m->from, sizeof(m->from)) == -1 ||
	    mpack_copy_str(&a[3], m->to, sizeof(m->to)) == -1 ||
	    mpack_get_uint(&a[4], &m->term) == -1 ||
	    mpack_get_uint(&a[5], &m->log_term) == -1 ||
	    mpack_get_uint(&a[6], &m->index) == -1 ||
	    mpack_get_uint(&a[7], &m->commit) == -1 ||
	    mpack_get_bool(&a[8], &m->reject) == -1 ||
	    mpack_get_uint(&a[9], &m->reject_hint) == -1 ||
	    mpack_get_uint(&a[10], &m->ctx) == -1 ||
	    mpack_get_bool(&a[11], &m->transfer) == -1)
		return -1;
	m->type = (enum raft_msg_type)type;
	ents = &a[12];
	if (ents->type != MSGPACK_OBJECT_ARRAY ||
	    ents->via.array.size > RAFT_MSG_ENTRIES_MAX)
		return -1;
	if (ents->via.array.size > 0) {
		if ((m->entries = calloc(ents->via.array.size,
		    sizeof(*m->entries))) == NULL)
			return -1;
		m->n_entries = ents->via.array.size;
	}
	for (i = 0; i < ents->via.array.size; i++) {
		e = &ents->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size < 4 ||
		    mpack_get_uint(&e->via.array.ptr[0],
		    &m->entries[i].index) == -1 ||
		    mpack_get_uint(&e->via.array.ptr[1],
		    &m->entries[i].term) == -1 ||
		    mpack_get_uint(&e->via.array.ptr[2], &etype) == -1 ||
		    etype > RAFT_ENTRY_CONF ||
		    e->via.array.ptr[3].type != MSGPACK_OBJECT_BIN ||
		    e->via.array.ptr[3].via.bin.size > RAFT_ENTRY_MAX)
			goto fail;
		m->entries[i].type = (uint8_t)etype;
		m->entries[i].len = e->via.array.ptr[3].via.bin.size;
		m->entries[i].data = m->entries[i].len > 0 ?
		    (void *)e->via.array.ptr[3].via.bin.ptr : NULL;
	}
	s = &a[13];
	if (m->type == RAFT_MSG_SNAPSHOT) {
		if (s->type != MSGPACK_OBJECT_ARRAY || s->via.array.size < 3 ||
		    mpack_get_uint(&s->via.array.ptr[0],
		    &m->snapshot.index) == -1 ||
		    mpack_get_uint(&s->via.array.ptr[1],
		    &m->snapshot.term) == -1 ||
		    s->via.array.ptr[2].type != MSGPACK_OBJECT_BIN ||
		    raft_conf_decode(s->via.array.ptr[2].via.bin.ptr,
		    s->via.array.ptr[2].via.bin.size, &m->snapshot.conf) == -1)
			goto fail;
	} else if (s->type != MSGPACK_OBJECT_NIL)
		goto fail;
	return 0;
 fail:
	rpc_msg_free(m);
	return -1;
}

void
rpc_fwd_pack(msgpack_packer *pk, int frame, const struct rpc_fwd *f)
{
	msgpack_pack_array(pk, frame == RPC_CANCEL ? 2 : 4);
	msgpack_pack_uint8(pk, frame);
	msgpack_pack_uint32(pk, f->fid);
	if (frame == RPC_CANCEL)
		return;
	msgpack_pack_uint32(pk, f->type);
	mpack_bin(pk, f->data, f->len);
}

int
rpc_fwd_unpack(const msgpack_object *o, struct rpc_fwd *f)
{
	const msgpack_object	*a = o->via.array.ptr;
	uint64_t		 v;
	int			 t;

	memset(f, 0, sizeof(*f));
	if ((t = rpc_frame_type(o)) != RPC_FWD && t != RPC_REPLY &&
	    t != RPC_CANCEL)
		return -1;
	if (o->via.array.size < (t == RPC_CANCEL ? 2u : 4u) ||
	    mpack_get_uint(&a[1], &v) == -1 || v == 0 || v > UINT32_MAX)
		return -1;
	f->fid = (uint32_t)v;
	if (t == RPC_CANCEL)
		return 0;
	if (mpack_get_uint(&a[2], &v) == -1 || v == 0 || v > UINT32_MAX ||
	    a[3].type != MSGPACK_OBJECT_BIN ||
	    a[3].via.bin.size > IMSG_MAX_DATA)
		return -1;
	f->type = (uint32_t)v;
	f->data = a[3].via.bin.ptr;
	f->len = a[3].via.bin.size;
	return 0;
}
