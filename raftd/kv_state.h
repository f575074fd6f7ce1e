/*
 * The kv table: reads, and the application of committed KV operations
 * (one atomic transaction of up to KV_TXN_MAX_OPS operations) inside the
 * store transaction that also records the applied index.
 */
#ifndef CONSULD_KV_STATE_H
#define CONSULD_KV_STATE_H

#include "kv_codec.h"
#include "snapshot_format.h"
#include "store.h"

#define KV_ERR_MAX	256
/* The longest table name: "service/" and a service name. */
#define KV_TABLE_NAME_MAX	(16 + 1024 + 1)

struct kv_txn_result {
	int		 ok;
	struct kv_pair	*pairs;		/* results, in op order */
	int		*with_value;	/* per result: value is reported */
	size_t		 npairs;
	size_t		 err_op;	/* failed op, when !ok */
	char		 err[KV_ERR_MAX];
};

typedef void (*kv_changed_fn)(void *, const char *, size_t);
typedef int (*kv_scan_fn)(void *, struct kv_pair *);

int	 kv_state_get(struct store *, DB_TXN *, const char *, size_t,
	    struct kv_pair *);
int	 kv_state_scan(struct store *, DB_TXN *, const char *, size_t,
	    kv_scan_fn, void *);
uint64_t kv_state_table_index(struct store *);
uint64_t kv_state_key_index(struct store *, const char *, size_t);
uint64_t kv_state_prefix_index(struct store *, const char *, size_t);
int	 kv_state_apply(struct store *, DB_TXN *, uint64_t, struct kv_op *,
	    size_t, struct kv_txn_result *, kv_changed_fn, void *);
int	 kv_state_release(struct store *, DB_TXN *, uint64_t, const char *,
	    size_t, const char *, int);
void	 kv_txn_result_free(struct kv_txn_result *);
int	 kv_state_dump(struct store *, struct snapshot_writer *);
int	 kv_state_clear(struct store *, DB_TXN *);
int	 kv_state_load(struct store *, DB_TXN *, enum snapshot_record,
	    const msgpack_object *);

#endif
