/*
 * MessagePack helpers.  Encoding appends to an sbuffer; decoding parses a
 * whole buffer that must hold exactly one object, then reads fields with
 * getters that return -1 on a missing field or a field of another type.
 */
#include <stdlib.h>
#include <string.h>

#include "mpack.h"

void
mpack_out_init(struct mpack_out *out)
{
	msgpack_sbuffer_init(&out->sbuf);
	msgpack_packer_init(&out->pk, &out->sbuf, msgpack_sbuffer_write);
}

void
mpack_out_free(struct mpack_out *out)
{
	msgpack_sbuffer_destroy(&out->sbuf);
}

void
mpack_str(msgpack_packer *pk, const char *s)
{
	size_t	 len;

	if (s == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	len = strlen(s);
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

void
mpack_bin(msgpack_packer *pk, const void *p, size_t len)
{
	msgpack_pack_bin(pk, len);
	msgpack_pack_bin_body(pk, p, len);
}

void
mpack_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
	mpack_str(pk, key);
	mpack_str(pk, val);
}

void
mpack_kv_int(msgpack_packer *pk, const char *key, int64_t val)
{
	mpack_str(pk, key);
	msgpack_pack_int64(pk, val);
}

void
mpack_kv_uint(msgpack_packer *pk, const char *key, uint64_t val)
{
	mpack_str(pk, key);
	msgpack_pack_uint64(pk, val);
}

void
mpack_kv_bool(msgpack_packer *pk, const char *key, int val)
{
	mpack_str(pk, key);
	if (val)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

/*
 * msgpack-c allocates the items of an array or map as soon as it reads
 * the count, before it knows the bytes are there: five bytes could ask
 * for gigabytes.  Walk the encoding first and check that each count and
 * length fits in what is left, every item taking at least one byte.
 */
static int
prescan_one(const unsigned char *p, size_t len, size_t *used)
{
	size_t		 off = 0, need = 1, hdr, lenbytes, body, items;
	uint64_t	 v;
	unsigned char	 c;
	size_t		 i;

	while (need > 0) {
		if (off >= len)
			return -1;
		need--;
		c = p[off];
		hdr = 1;
		lenbytes = 0;
		body = 0;
		items = 0;
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 ||
		    c == 0xc3)
			;
		else if (c <= 0x8f)
			items = 2 * (size_t)(c & 0x0f);
		else if (c <= 0x9f)
			items = c & 0x0f;
		else if (c <= 0xbf)
			body = c & 0x1f;
		else if (c == 0xc4 || c == 0xd9)
			lenbytes = 1;
		else if (c == 0xc5 || c == 0xda || c == 0xdc || c == 0xde)
			lenbytes = 2;
		else if (c == 0xc6 || c == 0xdb || c == 0xdd || c == 0xdf)
			lenbytes = 4;
		else if (c >= 0xc7 && c <= 0xc9)
			lenbytes = (size_t)1 << (c - 0xc7);
		else if (c == 0xca)
			hdr = 5;
		else if (c == 0xcb)
			hdr = 9;
		else if (c >= 0xcc && c <= 0xcf)
			hdr = 1 + ((size_t)1 << (c - 0xcc));
		else if (c >= 0xd0 && c <= 0xd3)
			hdr = 1 + ((size_t)1 << (c - 0xd0));
		else if (c >= 0xd4 && c <= 0xd8)
			hdr = 2 + ((size_t)1 << (c - 0xd4));
		else
			return -1;	/* 0xc1, never used */
		if (hdr + lenbytes > len - off)
			return -1;
		for (v = 0, i = 0; i < lenbytes; i++)
			v = v << 8 | p[off + hdr + i];
		off += hdr + lenbytes;
		if (c == 0xdc || c == 0xdd)
			items = v;
		else if (c == 0xde || c == 0xdf)
			items = 2 * v;
		else if (c >= 0xc7 && c <= 0xc9)
			body = v + 1;	/* and the type byte */
		else if (lenbytes > 0)
			body = v;
		if (body > len - off)
			return -1;
		off += body;
		if (items > len - off || need + items > len - off)
			return -1;
		need += items;
	}
	*used = off;
	return 0;
}

/* buf holds exactly one well-formed object. */
int
mpack_prescan(const unsigned char *p, size_t len)
{
	size_t	 used;

	return prescan_one(p, len, &used) == 0 && used == len ? 0 : -1;
}

/*
 * The next object of a stream of objects at *off, checked like
 * mpack_parse(); 1 when one was read, 0 at the end, -1 when malformed.
 */
int
mpack_next(msgpack_unpacked *u, const void *buf, size_t len, size_t *off)
{
	size_t	 used, at = *off;

	if (at == len)
		return 0;
	if (at > len || prescan_one((const unsigned char *)buf + at,
	    len - at, &used) == -1)
		return -1;
	msgpack_unpacked_init(u);
	if (msgpack_unpack_next(u, buf, at + used, off) !=
	    MSGPACK_UNPACK_SUCCESS || *off != at + used) {
		msgpack_unpacked_destroy(u);
		return -1;
	}
	return 1;
}

/*
 * Parse buf, which must hold one complete object and nothing more; the
 * prescan comes first, so input from a peer cannot make msgpack-c
 * reserve memory the bytes do not back.
 */
int
mpack_parse(msgpack_unpacked *u, const void *buf, size_t len)
{
	size_t			 off = 0;
	msgpack_unpack_return	 ret;

	if (mpack_prescan(buf, len) == -1)
		return -1;
	msgpack_unpacked_init(u);
	ret = msgpack_unpack_next(u, buf, len, &off);
	if (ret != MSGPACK_UNPACK_SUCCESS || off != len) {
		msgpack_unpacked_destroy(u);
		return -1;
	}
	return 0;
}

int
mpack_key_is(const msgpack_object *o, const char *key)
{
	size_t	 len = strlen(key);

	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == len &&
	    memcmp(o->via.str.ptr, key, len) == 0;
}

const msgpack_object *
mpack_map_get(const msgpack_object *map, const char *key)
{
	uint32_t	 i;

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (i = 0; i < map->via.map.size; i++) {
		if (mpack_key_is(&map->via.map.ptr[i].key, key))
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}

/* A string (or nil, giving NULL) as a fresh C string without NULs. */
int
mpack_get_str(const msgpack_object *o, char **out)
{
	if (o == NULL)
		return -1;
	if (o->type == MSGPACK_OBJECT_NIL) {
		*out = NULL;
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_STR || (o->via.str.size > 0 &&
	    memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL))
		return -1;
	/* An empty string may come with no pointer at all. */
	if ((*out = o->via.str.size > 0 ? strndup(o->via.str.ptr,
	    o->via.str.size) : strdup("")) == NULL)
		return -1;
	return 0;
}

int
mpack_get_int(const msgpack_object *o, int64_t *out)
{
	if (o == NULL)
		return -1;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*out = o->via.i64;
	else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= INT64_MAX)
		*out = (int64_t)o->via.u64;
	else
		return -1;
	return 0;
}

int
mpack_get_uint(const msgpack_object *o, uint64_t *out)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*out = o->via.u64;
	return 0;
}

int
mpack_copy_str(const msgpack_object *o, char *buf, size_t size)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
	    o->via.str.size >= size || (o->via.str.size > 0 &&
	    memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL))
		return -1;
	/* An empty string may come with no pointer at all. */
	if (o->via.str.size > 0)
		memcpy(buf, o->via.str.ptr, o->via.str.size);
	buf[o->via.str.size] = '\0';
	return 0;
}

int
mpack_get_bool(const msgpack_object *o, int *out)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	*out = o->via.boolean;
	return 0;
}

int
mpack_map_str(const msgpack_object *map, const char *key, char **out)
{
	return mpack_get_str(mpack_map_get(map, key), out);
}

int
mpack_map_int(const msgpack_object *map, const char *key, int64_t *out)
{
	return mpack_get_int(mpack_map_get(map, key), out);
}

int
mpack_map_uint(const msgpack_object *map, const char *key, uint64_t *out)
{
	return mpack_get_uint(mpack_map_get(map, key), out);
}

int
mpack_map_bool(const msgpack_object *map, const char *key, int *out)
{
	return mpack_get_bool(mpack_map_get(map, key), out);
}
