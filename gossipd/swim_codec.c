/*
 * Encoding and decoding of the gossip messages described in
 * swim_codec.h.  Encoders write through a msgpack_packer (a fixed buffer
 * for packets, an sbuffer for push-pull); decoders run on objects that
 * mpack_parse() produced after its prescan, and copy what they keep into
 * fixed-size fields after checking each type and length.
 */
#include <stdint.h>
#include <string.h>

#include "mpack.h"
#include "swim_codec.h"

static int
wbuf_write(void *data, const char *buf, size_t len)
{
	struct swim_wbuf	*w = data;

	if (w->overflow || len > w->cap - w->len) {
		w->overflow = 1;
		return -1;
	}
	memcpy(w->p + w->len, buf, len);
	w->len += len;
	return 0;
}

void
swim_wbuf_init(struct swim_wbuf *w, msgpack_packer *pk, void *buf,
    size_t cap)
{
	w->p = buf;
	w->len = 0;
	w->cap = cap;
	w->overflow = 0;
	msgpack_packer_init(pk, w, wbuf_write);
}

/* Names show up in logs and in the HTTP API: no control characters. */
static int
name_valid(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len >= SWIM_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
swim_name_valid(const char *s)
{
	return s != NULL && name_valid(s, strnlen(s, SWIM_NAME_MAX));
}

/*
 * The flat form: "key\0value\0" pairs, keys non-empty, valid as names
 * and not repeated, at most SWIM_TAGS_KEYS_MAX of them.
 */
int
swim_tags_valid(const char *t, size_t len)
{
	const char	*k[SWIM_TAGS_KEYS_MAX];
	size_t		 kls[SWIM_TAGS_KEYS_MAX];
	size_t		 off = 0, n = 0, kl, vl, i;

	if (len > SWIM_TAGS_MAX || (len > 0 && t == NULL))
		return 0;
	while (off < len) {
		kl = strnlen(t + off, len - off);
		if (kl == len - off || !name_valid(t + off, kl))
			return 0;
		if (n == SWIM_TAGS_KEYS_MAX)
			return 0;
		for (i = 0; i < n; i++)
			if (kls[i] == kl && memcmp(k[i], t + off, kl) == 0)
				return 0;
		k[n] = t + off;
		kls[n++] = kl;
		off += kl + 1;
		vl = strnlen(t + off, len - off);
		if (vl == len - off)
			return 0;
		off += vl + 1;
	}
	return 1;
}

int
swim_tags_flatten(const char *const *kv, size_t npairs, char *out,
    size_t *outlen)
{
	size_t	 i, off = 0, l;

	*outlen = 0;
	if (npairs > 0 && kv == NULL)
		return -1;
	for (i = 0; i < 2 * npairs; i++) {
		if (kv[i] == NULL)
			return -1;
		l = strlen(kv[i]) + 1;
		if (l > SWIM_TAGS_MAX - off)
			return -1;
		memcpy(out + off, kv[i], l);
		off += l;
	}
	if (!swim_tags_valid(out, off))
		return -1;
	*outlen = off;
	return 0;
}

void
swim_addr_pack(msgpack_packer *pk, const struct swim_addr *a)
{
	mpack_bin(pk, a->ip, a->family == AF_INET6 ? 16 : 4);
	msgpack_pack_uint16(pk, a->port);
}

static void
pack_tags(msgpack_packer *pk, const char *t, size_t len)
{
	size_t	 off, n = 0;

	for (off = 0; off < len; off += strlen(t + off) + 1)
		n++;
	msgpack_pack_map(pk, n / 2);
	for (off = 0; off < len; off += strlen(t + off) + 1)
		mpack_str(pk, t + off);
}

void
swim_msg_pack(msgpack_packer *pk, const struct swim_msg *m)
{
	switch (m->type) {
	case SWIM_MSG_PING:
		msgpack_pack_array(pk, 3);
		msgpack_pack_uint8(pk, m->type);
		msgpack_pack_uint32(pk, m->seq);
		mpack_str(pk, m->node);
		break;
	case SWIM_MSG_INDIRECT:
		msgpack_pack_array(pk, 6);
		msgpack_pack_uint8(pk, m->type);
		msgpack_pack_uint32(pk, m->seq);
		mpack_str(pk, m->node);
		swim_addr_pack(pk, &m->addr);
		if (m->nack)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case SWIM_MSG_ACK:
	case SWIM_MSG_NACK:
		msgpack_pack_array(pk, m->payloadlen > 0 ? 3 : 2);
		msgpack_pack_uint8(pk, m->type);
		msgpack_pack_uint32(pk, m->seq);
		if (m->payloadlen > 0) {
			msgpack_pack_bin(pk, m->payloadlen);
			msgpack_pack_bin_body(pk, m->payload, m->payloadlen);
		}
		break;
	case SWIM_MSG_SUSPECT:
	case SWIM_MSG_DEAD:
		msgpack_pack_array(pk, 4);
		msgpack_pack_uint8(pk, m->type);
		msgpack_pack_uint32(pk, m->incarnation);
		mpack_str(pk, m->node);
		mpack_str(pk, m->from);
		break;
	case SWIM_MSG_ALIVE:
		msgpack_pack_array(pk, 6);
		msgpack_pack_uint8(pk, m->type);
		msgpack_pack_uint32(pk, m->incarnation);
		mpack_str(pk, m->node);
		swim_addr_pack(pk, &m->addr);
		pack_tags(pk, m->tags, m->tagslen);
		break;
	case SWIM_MSG_USER:
		msgpack_pack_array(pk, 2);
		msgpack_pack_uint8(pk, m->type);
		msgpack_pack_bin(pk, m->userlen);
		msgpack_pack_bin_body(pk, m->user, m->userlen);
		break;
	case SWIM_MSG_PUSHPULL:
		/* Not a packet message: see swim_pushpull_pack(). */
		msgpack_pack_nil(pk);
		break;
	}
}

static int
get_u32(const msgpack_object *o, uint32_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    o->via.u64 > UINT32_MAX)
		return -1;
	*v = (uint32_t)o->via.u64;
	return 0;
}

static int
get_name(const msgpack_object *o, char *buf)
{
	if (o->type != MSGPACK_OBJECT_STR ||
	    !name_valid(o->via.str.ptr, o->via.str.size))
		return -1;
	memcpy(buf, o->via.str.ptr, o->via.str.size);
	buf[o->via.str.size] = '\0';
	return 0;
}

int
swim_addr_unpack(const msgpack_object *ip, const msgpack_object *port,
    struct swim_addr *a)
{
	uint32_t	 p;

	memset(a, 0, sizeof(*a));
	if (ip->type != MSGPACK_OBJECT_BIN || get_u32(port, &p) == -1 ||
	    p == 0 || p > UINT16_MAX)
		return -1;
	if (ip->via.bin.size == 4)
		a->family = AF_INET;
	else if (ip->via.bin.size == 16)
		a->family = AF_INET6;
	else
		return -1;
	memcpy(a->ip, ip->via.bin.ptr, ip->via.bin.size);
	a->port = (uint16_t)p;
	return 0;
}

static int
get_bool(const msgpack_object *o, int *v)
{
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	*v = o->via.boolean;
	return 0;
}

/* A map of strings to the flat form, checked as swim_tags_valid(). */
static int
get_tags(const msgpack_object *o, char *out, size_t *outlen)
{
	const msgpack_object_kv	*kv;
	const msgpack_object	*s;
	uint32_t		 i;
	size_t			 off = 0;
	int			 j;

	*outlen = 0;
	if (o->type != MSGPACK_OBJECT_MAP ||
	    o->via.map.size > SWIM_TAGS_KEYS_MAX)
		return -1;
	for (i = 0; i < o->via.map.size; i++) {
		kv = &o->via.map.ptr[i];
		for (j = 0; j < 2; j++) {
			s = j == 0 ? &kv->key : &kv->val;
			if (s->type != MSGPACK_OBJECT_STR ||
			    s->via.str.size >= SWIM_TAGS_MAX - off ||
			    memchr(s->via.str.ptr, '\0', s->via.str.size) !=
			    NULL)
				return -1;
			if (s->via.str.size > 0)
				memcpy(out + off, s->via.str.ptr,
				    s->via.str.size);
			off += s->via.str.size;
			out[off++] = '\0';
		}
	}
	if (!swim_tags_valid(out, off))
		return -1;
	*outlen = off;
	return 0;
}

int
swim_msg_unpack(const msgpack_object *o, struct swim_msg *m)
{
	const msgpack_object	*a;
	uint32_t		 type, n;

	memset(m, 0, offsetof(struct swim_msg, tags));
	m->tagslen = 0;
	if (o->type != MSGPACK_OBJECT_ARRAY || (n = o->via.array.size) < 2)
		return -1;
	a = o->via.array.ptr;
	if (get_u32(&a[0], &type) == -1)
		return -1;
	m->type = (enum swim_msg_type)type;
	switch (type) {
	case SWIM_MSG_PING:
		if (n < 3 || get_u32(&a[1], &m->seq) == -1 ||
		    get_name(&a[2], m->node) == -1)
			return -1;
		return 0;
	case SWIM_MSG_INDIRECT:
		if (n < 6 || get_u32(&a[1], &m->seq) == -1 ||
		    get_name(&a[2], m->node) == -1 ||
		    swim_addr_unpack(&a[3], &a[4], &m->addr) == -1 ||
		    get_bool(&a[5], &m->nack) == -1)
			return -1;
		return 0;
	case SWIM_MSG_ACK:
	case SWIM_MSG_NACK:
		/*
		 * A payload is optional (older peers send none) and opaque
		 * here; one that is not a bin of a sane size is ignored, as
		 * an item a later version might add.
		 */
		if (type == SWIM_MSG_ACK && n >= 3 &&
		    a[2].type == MSGPACK_OBJECT_BIN &&
		    a[2].via.bin.size > 0 &&
		    a[2].via.bin.size <= SWIM_ACK_PAYLOAD_MAX) {
			m->payload = a[2].via.bin.ptr;
			m->payloadlen = a[2].via.bin.size;
		}
		return get_u32(&a[1], &m->seq);
	case SWIM_MSG_SUSPECT:
	case SWIM_MSG_DEAD:
		if (n < 4 || get_u32(&a[1], &m->incarnation) == -1 ||
		    get_name(&a[2], m->node) == -1 ||
		    get_name(&a[3], m->from) == -1)
			return -1;
		return 0;
	case SWIM_MSG_ALIVE:
		if (n < 6 || get_u32(&a[1], &m->incarnation) == -1 ||
		    get_name(&a[2], m->node) == -1 ||
		    swim_addr_unpack(&a[3], &a[4], &m->addr) == -1 ||
		    get_tags(&a[5], m->tags, &m->tagslen) == -1)
			return -1;
		return 0;
	case SWIM_MSG_USER:
		if (a[1].type != MSGPACK_OBJECT_BIN ||
		    a[1].via.bin.size == 0 || a[1].via.bin.size > SWIM_USER_MAX)
			return -1;
		m->user = a[1].via.bin.ptr;
		m->userlen = a[1].via.bin.size;
		return 0;
	}
	return -1;
}

int
swim_packet_parse(msgpack_unpacked *u, const void *buf, size_t len,
    const msgpack_object **msgs, size_t *n)
{
	*msgs = NULL;
	*n = 0;
	if (len == 0 || len > SWIM_PACKET_MAX || mpack_parse(u, buf, len) == -1)
		return -1;
	if (u->data.type != MSGPACK_OBJECT_ARRAY ||
	    u->data.via.array.size == 0 ||
	    u->data.via.array.size > SWIM_PACKET_MSGS_MAX) {
		msgpack_unpacked_destroy(u);
		return -1;
	}
	*msgs = u->data.via.array.ptr;
	*n = u->data.via.array.size;
	return 0;
}

/* An array16 header, whatever n, so the size is known in advance. */
void
swim_packet_header(unsigned char *p, size_t n)
{
	p[0] = 0xdc;
	p[1] = (n >> 8) & 0xff;
	p[2] = n & 0xff;
}

/* Only a hint for dispatch: the decoder of that type checks it all. */
int
swim_stream_type(const void *buf, size_t len)
{
	const unsigned char	*p = buf;

	if (len >= 2 && p[0] >= 0x91 && p[0] <= 0x9f)
		return p[1] <= 0x7f ? p[1] : -1;
	if (len >= 4 && p[0] == 0xdc)
		return p[3] <= 0x7f ? p[3] : -1;
	if (len >= 6 && p[0] == 0xdd)
		return p[5] <= 0x7f ? p[5] : -1;
	return -1;
}

int
swim_single_parse(const void *buf, size_t len, struct swim_msg *m)
{
	msgpack_unpacked	 u;
	int			 rc;

	if (len == 0 || len > SWIM_PACKET_MAX ||
	    mpack_parse(&u, buf, len) == -1)
		return -1;
	rc = swim_msg_unpack(&u.data, m);
	msgpack_unpacked_destroy(&u);
	return rc;
}

void
swim_pushpull_pack(msgpack_packer *pk, int join, int reply, const char *from,
    size_t n)
{
	msgpack_pack_array(pk, 5);
	msgpack_pack_uint8(pk, SWIM_MSG_PUSHPULL);
	if (join)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	if (reply)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	mpack_str(pk, from);
	msgpack_pack_array(pk, n);
}

void
swim_entry_pack(msgpack_packer *pk, const struct swim_msg *e)
{
	msgpack_pack_array(pk, 6);
	mpack_str(pk, e->node);
	swim_addr_pack(pk, &e->addr);
	msgpack_pack_uint32(pk, e->incarnation);
	msgpack_pack_uint8(pk, e->state);
	pack_tags(pk, e->tags, e->tagslen);
}

int
swim_pushpull_parse(msgpack_unpacked *u, const void *buf, size_t len,
    struct swim_pushpull *pp)
{
	const msgpack_object	*a;
	uint32_t		 type;

	memset(pp, 0, sizeof(*pp));
	if (len == 0 || len > SWIM_STREAM_MAX || mpack_parse(u, buf, len) == -1)
		return -1;
	if (u->data.type != MSGPACK_OBJECT_ARRAY ||
	    u->data.via.array.size < 5)
		goto fail;
	a = u->data.via.array.ptr;
	if (get_u32(&a[0], &type) == -1 || type != SWIM_MSG_PUSHPULL ||
	    get_bool(&a[1], &pp->join) == -1 ||
	    get_bool(&a[2], &pp->reply) == -1 ||
	    get_name(&a[3], pp->from) == -1 ||
	    a[4].type != MSGPACK_OBJECT_ARRAY ||
	    a[4].via.array.size > SWIM_MEMBERS_MAX)
		goto fail;
	pp->entries = a[4].via.array.ptr;
	pp->nentries = a[4].via.array.size;
	return 0;
fail:
	msgpack_unpacked_destroy(u);
	memset(pp, 0, sizeof(*pp));
	return -1;
}

int
swim_entry_unpack(const msgpack_object *o, struct swim_msg *e)
{
	const msgpack_object	*a;
	uint32_t		 state;

	memset(e, 0, offsetof(struct swim_msg, tags));
	e->tagslen = 0;
	e->type = SWIM_MSG_ALIVE;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 6)
		return -1;
	a = o->via.array.ptr;
	if (get_name(&a[0], e->node) == -1 ||
	    swim_addr_unpack(&a[1], &a[2], &e->addr) == -1 ||
	    get_u32(&a[3], &e->incarnation) == -1 ||
	    get_u32(&a[4], &state) == -1 || state > SWIM_STATE_LEFT ||
	    get_tags(&a[5], e->tags, &e->tagslen) == -1)
		return -1;
	e->state = (enum swim_state)state;
	return 0;
}
