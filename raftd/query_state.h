/*
 * Prepared queries in raftd's store (/v1/query): records apid defines
 * and reads back, with the two rules the state keeps itself: a name
 * belongs to one query at most, and a query owned by a session goes
 * when that session is invalidated.
 *
 *	pqueries	id -> cat_pquery
 *
 * The "prepared-queries" table index moves with every change.
 */
#ifndef CONSULD_QUERY_STATE_H
#define CONSULD_QUERY_STATE_H

#include "catalog_codec.h"
#include "snapshot_format.h"
#include "store.h"

#define PQUERIES_TABLE	"prepared-queries"

typedef int (*cat_pquery_fn)(void *, const struct cat_pquery *);

/* 0 found, 1 not, -1 store error. */
int	 query_state_get(struct store *, DB_TXN *, const char *,
	    struct cat_pquery *);
/* By ID, else by name. */
int	 query_state_lookup(struct store *, const char *, struct cat_pquery *);
/*
 * Create or update: 0 done, 1 refused (err: the name is taken, the
 * session does not exist, an update of no query), -1 store error.
 */
int	 query_state_set(struct store *, DB_TXN *, uint64_t,
	    const struct cat_pquery *, int, char *, size_t);
int	 query_state_delete(struct store *, DB_TXN *, uint64_t, const char *);
/* The session went: its queries go too. */
int	 query_state_session_gone(struct store *, DB_TXN *, uint64_t,
	    const char *);
int	 query_state_list(struct store *, cat_pquery_fn, void *);

int	 query_state_dump(struct store *, struct snapshot_writer *);
int	 query_state_clear(struct store *, DB_TXN *);
int	 query_state_load(struct store *, DB_TXN *, const msgpack_object *);

#endif
