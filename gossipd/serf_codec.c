/*
 * Encoding and decoding of the user messages described in serf_codec.h.
 */
#include <stdint.h>
#include <string.h>

#include "mpack.h"
#include "serf_codec.h"
#include "swim_codec.h"

int
serf_msg_pack(const struct serf_msg *m, void *buf, size_t cap, size_t *len)
{
	struct swim_wbuf	 w;
	msgpack_packer		 pk;
	int			 i;

	swim_wbuf_init(&w, &pk, buf, cap);
	switch (m->type) {
	case SERF_EVENT:
		msgpack_pack_array(&pk, 8);
		msgpack_pack_uint8(&pk, m->type);
		msgpack_pack_uint64(&pk, m->ltime);
		mpack_str(&pk, m->id);
		mpack_str(&pk, m->name);
		if (m->has_payload)
			mpack_bin(&pk, m->payload, m->payloadlen);
		else
			msgpack_pack_nil(&pk);
		for (i = 0; i < SERF_FILTERS; i++)
			mpack_str(&pk, m->filter[i]);
		break;
	case SERF_QUERY:
		msgpack_pack_array(&pk, 9);
		msgpack_pack_uint8(&pk, m->type);
		msgpack_pack_uint64(&pk, m->ltime);
		msgpack_pack_uint32(&pk, m->qid);
		mpack_str(&pk, m->node);
		swim_addr_pack(&pk, &m->addr);
		msgpack_pack_uint32(&pk, m->timeout_ms);
		mpack_str(&pk, m->name);
		mpack_bin(&pk, m->payload, m->payloadlen);
		break;
	case SERF_RESPONSE:
		msgpack_pack_array(&pk, 5);
		msgpack_pack_uint8(&pk, m->type);
		msgpack_pack_uint64(&pk, m->ltime);
		msgpack_pack_uint32(&pk, m->qid);
		mpack_str(&pk, m->node);
		mpack_bin(&pk, m->payload, m->payloadlen);
		break;
	case SERF_RELAY:
		msgpack_pack_array(&pk, 4);
		msgpack_pack_uint8(&pk, m->type);
		swim_addr_pack(&pk, &m->addr);
		mpack_bin(&pk, m->payload, m->payloadlen);
		break;
	case SERF_PRUNE:
		msgpack_pack_array(&pk, 3);
		msgpack_pack_uint8(&pk, m->type);
		msgpack_pack_uint64(&pk, m->ltime);
		mpack_str(&pk, m->node);
		break;
	default:
		return -1;
	}
	*len = w.len;
	return w.overflow ? -1 : 0;
}

static int
u64_get(const msgpack_object *o, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*v = o->via.u64;
	return 0;
}

static int
u32_get(const msgpack_object *o, uint32_t *v)
{
	uint64_t	 u;

	if (u64_get(o, &u) == -1 || u > UINT32_MAX)
		return -1;
	*v = (uint32_t)u;
	return 0;
}

/* A string without NUL or control characters; empty when allowed. */
static int
str_get(const msgpack_object *o, char *buf, size_t size, int empty)
{
	size_t	 i;

	if (mpack_copy_str(o, buf, size) == -1 || (!empty && buf[0] == '\0'))
		return -1;
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return -1;
	return 0;
}

static int
bin_get(const msgpack_object *o, struct serf_msg *m)
{
	if (o->type != MSGPACK_OBJECT_BIN ||
	    o->via.bin.size > SERF_PAYLOAD_MAX)
		return -1;
	m->payload = o->via.bin.ptr;
	m->payloadlen = o->via.bin.size;
	m->has_payload = 1;
	return 0;
}

static int
serf_unpack(const msgpack_object *o, struct serf_msg *m)
{
	const msgpack_object	*a;
	uint32_t		 n, type;
	int			 i;

	memset(m, 0, sizeof(*m));
	if (o->type != MSGPACK_OBJECT_ARRAY || (n = o->via.array.size) < 3)
		return -1;
	a = o->via.array.ptr;
	if (u32_get(&a[0], &type) == -1)
		return -1;
	m->type = (enum serf_type)type;
	switch (type) {
	case SERF_EVENT:
		if (n < 8 || u64_get(&a[1], &m->ltime) == -1 ||
		    str_get(&a[2], m->id, sizeof(m->id), 0) == -1 ||
		    str_get(&a[3], m->name, sizeof(m->name), 0) == -1 ||
		    (a[4].type != MSGPACK_OBJECT_NIL && bin_get(&a[4], m) == -1))
			return -1;
		for (i = 0; i < SERF_FILTERS; i++)
			if (str_get(&a[5 + i], m->filter[i],
			    sizeof(m->filter[i]), 1) == -1)
				return -1;
		return 0;
	case SERF_QUERY:
		if (n < 9 || u64_get(&a[1], &m->ltime) == -1 ||
		    u32_get(&a[2], &m->qid) == -1 ||
		    str_get(&a[3], m->node, sizeof(m->node), 0) == -1 ||
		    swim_addr_unpack(&a[4], &a[5], &m->addr) == -1 ||
		    u32_get(&a[6], &m->timeout_ms) == -1 ||
		    str_get(&a[7], m->name, sizeof(m->name), 0) == -1 ||
		    bin_get(&a[8], m) == -1)
			return -1;
		return 0;
	case SERF_RESPONSE:
		if (n < 5 || u64_get(&a[1], &m->ltime) == -1 ||
		    u32_get(&a[2], &m->qid) == -1 ||
		    str_get(&a[3], m->node, sizeof(m->node), 0) == -1 ||
		    bin_get(&a[4], m) == -1)
			return -1;
		return 0;
	case SERF_RELAY:
		if (n < 4 || swim_addr_unpack(&a[1], &a[2], &m->addr) == -1 ||
		    bin_get(&a[3], m) == -1 || m->payloadlen == 0)
			return -1;
		return 0;
	case SERF_PRUNE:
		if (u64_get(&a[1], &m->ltime) == -1 ||
		    str_get(&a[2], m->node, sizeof(m->node), 0) == -1)
			return -1;
		return 0;
	}
	return -1;
}

int
serf_msg_unpack(msgpack_unpacked *u, const void *buf, size_t len,
    struct serf_msg *m)
{
	if (mpack_parse(u, buf, len) == -1)
		return -1;
	if (serf_unpack(&u->data, m) == -1) {
		msgpack_unpacked_destroy(u);
		return -1;
	}
	return 0;
}
