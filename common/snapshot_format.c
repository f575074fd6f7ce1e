/*
 * Writing and checking snapshot files (format in snapshot_format.h).
 * The parser checks the checksum before it looks at anything else, then
 * every object and record type, so a damaged or hostile file is refused
 * with a reason and nothing is restored from it.
 */
#include <string.h>

#include <sodium.h>

#include "snapshot_format.h"

void
snapshot_begin(struct snapshot_writer *w, uint64_t index, uint64_t term,
    uint64_t created, const void *conf, size_t conflen)
{
	msgpack_packer	*pk = &w->out.pk;

	mpack_out_init(&w->out);
	w->records = 0;
	msgpack_sbuffer_write(&w->out.sbuf, SNAPSHOT_MAGIC,
	    SNAPSHOT_MAGIC_LEN);
	msgpack_pack_map(pk, 5);
	mpack_kv_uint(pk, "version", SNAPSHOT_VERSION);
	mpack_kv_uint(pk, "index", index);
	mpack_kv_uint(pk, "term", term);
	mpack_kv_uint(pk, "created", created);
	mpack_str(pk, "conf");
	mpack_bin(pk, conf, conflen);
}

void
snapshot_finish(struct snapshot_writer *w)
{
	unsigned char	 sum[SNAPSHOT_SUM_LEN];

	msgpack_pack_array(&w->out.pk, 2);
	msgpack_pack_uint8(&w->out.pk, SNAP_REC_END);
	msgpack_pack_uint64(&w->out.pk, w->records);
	crypto_hash_sha256(sum, (unsigned char *)w->out.sbuf.data,
	    w->out.sbuf.size);
	msgpack_sbuffer_write(&w->out.sbuf, (char *)sum, sizeof(sum));
}

void
snapshot_writer_free(struct snapshot_writer *w)
{
	mpack_out_free(&w->out);
}

static int
parse_header(const msgpack_object *h, struct snapshot_info *info)
{
	const msgpack_object	*conf;

	if (mpack_map_uint(h, "version", &info->version) == -1 ||
	    mpack_map_uint(h, "index", &info->index) == -1 ||
	    mpack_map_uint(h, "term", &info->term) == -1 ||
	    mpack_map_uint(h, "created", &info->created) == -1 ||
	    (conf = mpack_map_get(h, "conf")) == NULL ||
	    conf->type != MSGPACK_OBJECT_BIN)
		return -1;
	info->conf = conf->via.bin.ptr;
	info->conflen = conf->via.bin.size;
	return 0;
}

/*
 * Check a whole snapshot in buf and hand each record to fn (which may be
 * NULL to count only).  On failure *why says what is wrong.  info->conf
 * points into buf.
 */
int
snapshot_parse(const void *buf, size_t len, struct snapshot_info *info,
    snapshot_record_fn fn, void *arg, const char **why)
{
	const unsigned char	*p = buf;
	unsigned char		 sum[SNAPSHOT_SUM_LEN];
	msgpack_unpacked	 u;
	const msgpack_object	*rec;
	size_t			 off, body, before;
	uint64_t		 type, n = 0, declared;
	int			 rc, ended = 0;

	memset(info, 0, sizeof(*info));
	info->size = len;
	*why = "not a consuld snapshot";
	if (len < SNAPSHOT_MAGIC_LEN + SNAPSHOT_SUM_LEN ||
	    memcmp(p, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_LEN) != 0)
		return -1;
	body = len - SNAPSHOT_SUM_LEN;
	crypto_hash_sha256(sum, p, body);
	*why = "checksum mismatch: the snapshot is damaged";
	if (sodium_memcmp(sum, p + body, SNAPSHOT_SUM_LEN) != 0)
		return -1;

	*why = "malformed snapshot header";
	off = SNAPSHOT_MAGIC_LEN;
	if (mpack_next(&u, p, body, &off) != 1)
		return -1;
	rc = parse_header(&u.data, info);
	if (rc == 0 && info->version != SNAPSHOT_VERSION) {
		*why = "unsupported snapshot version";
		rc = -1;
	}
	msgpack_unpacked_destroy(&u);
	if (rc == -1)
		return -1;
	/* msgpack-c refers to binary data in place: it lives in buf. */
	if (info->conflen > 0 && ((const unsigned char *)info->conf < p ||
	    (const unsigned char *)info->conf + info->conflen > p + off))
		return -1;

	*why = "malformed snapshot record";
	while (!ended) {
		before = off;
		if (mpack_next(&u, p, body, &off) != 1)
			return -1;
		rec = &u.data;
		rc = -1;
		if (rec->type == MSGPACK_OBJECT_ARRAY &&
		    rec->via.array.size >= 2 &&
		    mpack_get_uint(&rec->via.array.ptr[0], &type) == 0 &&
		    type < SNAP_REC_MAX) {
			if (type == SNAP_REC_END) {
				if (rec->via.array.size == 2 &&
				    mpack_get_uint(&rec->via.array.ptr[1],
				    &declared) == 0 && declared == n) {
					ended = 1;
					rc = 0;
				}
			} else {
				info->count[type]++;
				info->bytes[type] += off - before;
				n++;
				rc = fn ? fn(arg, type, rec) : 0;
				if (rc != 0)
					*why = "snapshot record refused";
			}
		}
		msgpack_unpacked_destroy(&u);
		if (rc != 0)
			return -1;
	}
	if (off != body) {
		*why = "data after the snapshot trailer";
		return -1;
	}
	return 0;
}
