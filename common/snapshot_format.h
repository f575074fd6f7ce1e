/*
 * The snapshot file: our own format, versioned and checksummed, written
 * by raftd (GET /v1/snapshot, and the snapshots Raft compacts its log
 * behind) and read by raftd (restore) and consulctl (snapshot inspect).
 *
 *	"consuld-snapshot"		16 bytes of magic
 *	{version, index, term, created, conf}	a MessagePack map
 *	[type, ...]			one MessagePack array per record
 *	[0, count]			the trailer, count = records
 *	SHA-256 of all of the above	32 bytes
 */
#ifndef CONSULD_SNAPSHOT_FORMAT_H
#define CONSULD_SNAPSHOT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "mpack.h"

#define SNAPSHOT_MAGIC		"consuld-snapshot"
#define SNAPSHOT_MAGIC_LEN	16
#define SNAPSHOT_SUM_LEN	32
#define SNAPSHOT_VERSION	1
/* The largest snapshot PUT /v1/snapshot takes. */
#define SNAPSHOT_UPLOAD_MAX	(64u * 1024 * 1024)

enum snapshot_record {
	SNAP_REC_END,		/* [0, count] */
	SNAP_REC_KV,		/* [1, packed kv_pair] */
	SNAP_REC_TOMBSTONE,	/* [2, key, delete index] */
	SNAP_REC_TABLE,		/* [3, table name, max index] */
	SNAP_REC_CAT_NODE,	/* [4, packed cat_node] */
	SNAP_REC_CAT_SERVICE,	/* [5, packed cat_service] */
	SNAP_REC_CAT_CHECK,	/* [6, packed cat_check] */
	SNAP_REC_SESSION,	/* [7, packed cat_session] */
	SNAP_REC_PQUERY,	/* [8, packed cat_pquery] */
	SNAP_REC_COORD,		/* [9, node, segment, coordinate] */
	SNAP_REC_ACL_TOKEN,	/* [10, packed acl_token] */
	SNAP_REC_ACL_POLICY,	/* [11, packed acl_policy] */
	SNAP_REC_ACL_ROLE,	/* [12, packed acl_role] */
	SNAP_REC_MAX
};

struct snapshot_info {
	uint64_t	 version;
	uint64_t	 index;
	uint64_t	 term;
	uint64_t	 created;	/* Unix seconds */
	const void	*conf;		/* raft_conf_encode(), in the buffer */
	size_t		 conflen;
	uint64_t	 count[SNAP_REC_MAX];
	uint64_t	 bytes[SNAP_REC_MAX];
	size_t		 size;
};

struct snapshot_writer {
	struct mpack_out out;
	uint64_t	 records;
};

void	 snapshot_begin(struct snapshot_writer *, uint64_t, uint64_t,
	    uint64_t, const void *, size_t);
void	 snapshot_finish(struct snapshot_writer *);
void	 snapshot_writer_free(struct snapshot_writer *);

typedef int (*snapshot_record_fn)(void *, enum snapshot_record,
	    const msgpack_object *);
int	 snapshot_parse(const void *, size_t, struct snapshot_info *,
	    snapshot_record_fn, void *, const char **);

#endif
