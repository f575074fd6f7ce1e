/*
 * raftd's durable state: one Berkeley DB transactional environment in
 * data_dir/raft holding the Raft log, the stable store (hard state,
 * last applied) and the state tables.  Writes happen inside a store
 * transaction; reads may run outside one.
 */
#ifndef CONSULD_STORE_H
#define CONSULD_STORE_H

#include <stdint.h>

#include <db.h>

#include "raft.h"

#define STORE_DIR	"raft"

struct store {
	DB_ENV		*env;
	DB		*log;		/* be64 index -> [term, type, data] */
	DB		*stable;	/* name -> value */
	DB		*kv;		/* key -> kv record (kv_state.c) */
	DB		*kv_tomb;	/* deleted key -> be64 delete index */
	DB		*tables;	/* table name -> be64 max index */
	DB		*cat_nodes;	/* catalog_state.h: node -> cat_node */
	DB		*cat_services;	/* node NUL id -> cat_service */
	DB		*cat_svc_names;	/* name NUL node NUL id -> "" */
	DB		*cat_checks;	/* node NUL check id -> cat_check */
	DB		*sessions;	/* session_state.h: id -> cat_session */
	DB		*sess_nodes;	/* node NUL id -> "" */
	DB		*sess_keys;	/* id NUL held key -> "" */
	DB		*pqueries;	/* query_state.h: id -> cat_pquery */
	DB		*coords;	/* coord_state.h: node NUL segment */
	DB		*acl_tokens;	/* acl_state.h: accessor -> token */
	DB		*acl_secrets;	/* secret -> accessor */
	DB		*acl_policies;	/* id -> acl_policy */
	DB		*acl_roles;	/* id -> acl_role */
	uint64_t	 first_index;	/* first entry in the log, 0 if none */
	uint64_t	 last_index;	/* last entry in the log, 0 if none */
	uint64_t	 snap_index;	/* the log starts after it */
	uint64_t	 snap_term;
};

/* The Berkeley DB error of the last failed write or commit, 0 if none. */
extern int	 store_errno;

int	 store_open(struct store *, const char *);
void	 store_close(struct store *);
DB_TXN	*store_begin(struct store *);
int	 store_commit(struct store *, DB_TXN *, int);
void	 store_abort(DB_TXN *);
void	 store_checkpoint(struct store *);

/* the Raft log */
int	 store_log_append(struct store *, DB_TXN *, const struct raft_entry *,
	    size_t);
int	 store_log_term(struct store *, uint64_t, uint64_t *);
int	 store_log_get(struct store *, uint64_t, struct raft_entry *);
int	 store_snapshot_conf(struct store *, struct raft_conf *);
void	 store_entry_free(struct raft_entry *);
extern const struct raft_storage store_raft_storage;

/* the stable store */
int	 store_hardstate_load(struct store *, struct raft_hardstate *);
int	 store_hardstate_save(struct store *, DB_TXN *,
	    const struct raft_hardstate *);
int	 store_get_blob(struct store *, DB *, const char *, void **,
	    size_t *);
int	 store_put_blob(struct store *, DB *, DB_TXN *, const char *,
	    const void *, size_t);
int	 store_get_u64(struct store *, DB *, DB_TXN *, const char *,
	    uint64_t *);
int	 store_put_u64(struct store *, DB *, DB_TXN *, const char *, uint64_t);

/* byte order of stored integers */
void	 be64_put(unsigned char *, uint64_t);
uint64_t be64_get(const unsigned char *);

#endif
