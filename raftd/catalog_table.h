/*
 * The tables of raftd's catalog state (catalog_state.c, session_state.c):
 * records keyed by up to three NUL-joined strings, packed with the
 * catalog codecs, walked in key order, and the per-table indexes that
 * blocking queries wait on.  Everything takes the store transaction of
 * the batch, or NULL to read outside one.
 */
#ifndef CONSULD_CATALOG_TABLE_H
#define CONSULD_CATALOG_TABLE_H

#include "acl_codec.h"
#include "catalog_state.h"

/* Up to three strings of CAT_STR_MAX bytes, NUL-separated. */
#define CAT_KEY_MAX	(3 * (CAT_STR_MAX + 1))

enum cat_kind {
	CAT_NODE,
	CAT_SERVICE,
	CAT_CHECK,
	CAT_SESSION,
	CAT_PQUERY,
	CAT_ACL_TOKEN,
	CAT_ACL_POLICY,
	CAT_ACL_ROLE
};

struct cat_key {
	char		 buf[CAT_KEY_MAX];
	size_t		 len;
};

/* What a cursor walk hands its callbacks. */
struct cat_walk {
	struct store	*s;
	DB_TXN		*txn;
	uint64_t	 index;
	cat_node_fn	 node_fn;
	cat_service_fn	 service_fn;
	cat_check_fn	 check_fn;
	void		*arg;
	const char	*name;		/* service_checks: the name */
	const char	*sid;		/* deregister: the service ID */
	char		 node[CAT_STR_MAX + 1];
	int		 stopped;	/* the caller's callback said stop */
	size_t		 deleted;
	enum cat_kind	 kind;		/* dump: what db holds */
	struct snapshot_writer *w;
	void			*ctx;	/* a walk's own */
};

/* 0 to go on, 1 to stop the walk, -1 on an error. */
typedef int (*walk_fn)(struct cat_walk *, DBC *, const DBT *, const DBT *);

void	 tbl_dbt_set(DBT *, const void *, size_t);
int	 tbl_db_fail(const char *, int);
/* The parts (a NULL ends them early) joined by NULs; -1 if too long. */
int	 tbl_key_make(struct cat_key *, const char *, const char *,
	    const char *);
int	 tbl_str_ok(const char *);
void	 tbl_rec_pack(enum cat_kind, const void *, struct mpack_out *);
int	 tbl_rec_unpack(enum cat_kind, const msgpack_object *, void *);
void	 tbl_rec_free(enum cat_kind, void *);
int	 tbl_rec_decode(enum cat_kind, const void *, size_t, void *);
/* 0 and the record, 1 if absent, -1 on an error. */
int	 tbl_rec_get(DB *, DB_TXN *, enum cat_kind, const struct cat_key *,
	    void *);
int	 tbl_key_exists(DB *, DB_TXN *, const struct cat_key *);
int	 tbl_rec_put(DB *, DB_TXN *, enum cat_kind, const struct cat_key *,
	    const void *);
int	 tbl_key_put(DB *, DB_TXN *, const struct cat_key *);
/* 0 deleted, 1 was not there, -1 on an error. */
int	 tbl_key_del(DB *, DB_TXN *, const struct cat_key *);
int	 tbl_rec_same(enum cat_kind, const void *, const void *);
int	 tbl_walk(DB *, DB_TXN *, const void *, size_t, walk_fn,
	    struct cat_walk *);
int	 tbl_refuse(char *, size_t, const char *, ...)
	    __attribute__((__format__(printf, 3, 4)));
/* Move a table index up to index. */
int	 tbl_index_bump(struct store *, DB_TXN *, const char *, uint64_t);

#endif
