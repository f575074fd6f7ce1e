/*
 * Sessions in raftd's store, as Consul keeps them: a session belongs to
 * a node and lists checks of that node (serfHealth by default); it is
 * invalidated when it is destroyed, its TTL lapses (the leader proposes
 * the destroy, session.c), the node goes, or one of its checks goes or
 * turns critical.  Invalidation releases the KV locks the session holds
 * (behavior "release": the key stays, its Session is cleared) or deletes
 * those keys ("delete"), and starts the lock delay of each key.
 *
 *	sessions	id -> cat_session
 *	sess_nodes	node NUL id -> ""
 *	sess_keys	id NUL key -> ""	(the keys the session holds)
 *
 * The "sessions" table index moves with every create and destroy.
 */
#ifndef CONSULD_SESSION_STATE_H
#define CONSULD_SESSION_STATE_H

#include "catalog_codec.h"
#include "kv_state.h"
#include "snapshot_format.h"
#include "store.h"

#define SESSIONS_TABLE		"sessions"
/* Consul caps the lock delay it applies at 60 s. */
#define SESSION_LOCK_DELAY_MAX	(60ull * 1000 * 1000 * 1000)

typedef int (*cat_session_fn)(void *, const struct cat_session *);

/*
 * What invalidating a session does besides the store: the keys that
 * changed (for blocking queries), the lock delay each released key now
 * has (ns, already capped), and the session that went.  Any may be NULL.
 */
struct session_effects {
	kv_changed_fn	  changed;
	void		(*delay)(void *, const char *, size_t, uint64_t);
	void		(*gone)(void *, const char *);
	void		 *arg;
};

/* 0 and the session, 1 if there is none, -1 on a store error. */
int	 session_state_get(struct store *, DB_TXN *, const char *,
	    struct cat_session *);

/*
 * Create: 0 done; 1 refused with err set (Consul's messages: the node or
 * a check is missing, a check is critical, the ID is taken); -1 on a
 * store error.
 */
int	 session_state_create(struct store *, DB_TXN *, uint64_t,
	    const struct cat_session *, char *, size_t);
/* Destroy (invalidate) one session; none is no error.  0 or -1. */
int	 session_state_destroy(struct store *, DB_TXN *, uint64_t,
	    const char *, const struct session_effects *);
/*
 * The catalog of node changed: invalidate its sessions whose node is
 * gone or whose checks are gone or critical.  0 or -1.
 */
int	 session_state_node_changed(struct store *, DB_TXN *, uint64_t,
	    const char *, const struct session_effects *);

/* kv_state.c: the session now holds (held) or no longer holds the key. */
int	 session_state_key(struct store *, DB_TXN *, const char *,
	    const char *, size_t, int);

/* Walks: every session (by ID), or a node's; 0 or -1. */
int	 session_state_list(struct store *, cat_session_fn, void *);
int	 session_state_node(struct store *, const char *, cat_session_fn,
	    void *);

/* Snapshots: SNAP_REC_SESSION records; sess_keys comes from the KV. */
int	 session_state_dump(struct store *, struct snapshot_writer *);
int	 session_state_clear(struct store *, DB_TXN *);
int	 session_state_load(struct store *, DB_TXN *, const msgpack_object *);

#endif
