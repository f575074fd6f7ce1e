/*
 * libFuzzer target for the snapshot reader (PUT /v1/snapshot and
 * consulctl snapshot inspect take these from users).  The input is the
 * body of a snapshot; the harness appends its SHA-256 so the parser gets
 * past the checksum and into the header and records, then decodes each
 * KV record as a restore would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "kv_codec.h"
#include "snapshot_format.h"

static int
record(void *arg, enum snapshot_record type, const msgpack_object *rec)
{
	struct kv_pair	 p;

	if (type == SNAP_REC_KV && rec->via.array.size == 2 &&
	    kv_pair_unpack(&rec->via.array.ptr[1], &p) == 0)
		kv_pair_free(&p);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot_info	 info;
	unsigned char		*buf;
	const char		*why;
	size_t			 len = SNAPSHOT_MAGIC_LEN + size +
				    SNAPSHOT_SUM_LEN;

	if ((buf = malloc(len)) == NULL)
		return 0;
	memcpy(buf, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_LEN);
	memcpy(buf + SNAPSHOT_MAGIC_LEN, data, size);
	crypto_hash_sha256(buf + SNAPSHOT_MAGIC_LEN + size, buf,
	    SNAPSHOT_MAGIC_LEN + size);
	(void)snapshot_parse(buf, len, &info, record, NULL, &why);
	/* And as it came, checksum unfixed: must be refused, not crash. */
	(void)snapshot_parse(data, size, &info, record, NULL, &why);
	free(buf);
	return 0;
}
