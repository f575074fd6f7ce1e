/*
 * The catalog tables in raftd's store: nodes, the services on them and
 * the checks of both, as Consul's catalog keeps them, and the
 * application of committed registrations and deregistrations inside
 * the store transaction of the batch.
 *
 *	cat_nodes	node name -> cat_node
 *	cat_services	node NUL service id -> cat_service
 *	cat_svc_names	service name NUL node NUL service id -> ""
 *	cat_checks	node NUL check id -> cat_check
 *
 * Table indexes (for blocking queries) live in the store's "tables"
 * database next to the KV one: "nodes", "services", "checks", and
 * "service/<name>" for each service name (kept when the last instance
 * goes, so a query blocked on that name wakes).  Reads take txn NULL.
 * Callbacks get records the state frees after they return; a callback
 * returning -1 stops the walk (the walk then returns 0).
 */
#ifndef CONSULD_CATALOG_STATE_H
#define CONSULD_CATALOG_STATE_H

#include "catalog_codec.h"
#include "snapshot_format.h"
#include "store.h"

#define CAT_ERR_MAX	256

typedef int (*cat_node_fn)(void *, const struct cat_node *);
typedef int (*cat_service_fn)(void *, const struct cat_service *);
typedef int (*cat_check_fn)(void *, const struct cat_check *);

/*
 * Apply at index: 0 done; 1 refused, with nothing changed and err set
 * (e.g. a check naming a service the node does not have); -1 the store
 * failed.  A registration creates or updates the node (unless
 * skip_node_update and it exists), upserts the service by (node, ID)
 * and each check by (node, CheckID), filling a service check's
 * ServiceName and ServiceTags from the service and an empty Status as
 * critical; CreateIndex is kept and ModifyIndex moves only for records
 * that changed.  A deregistration removes the node with everything on
 * it, or one service with its checks, or one check; what is not there is
 * no error.
 */
int	 cat_state_register(struct store *, DB_TXN *, uint64_t,
	    const struct cat_register *, char *, size_t);
int	 cat_state_deregister(struct store *, DB_TXN *, uint64_t,
	    const struct cat_deregister *, char *, size_t);

/* 0 found, 1 not, -1 error. */
int	 cat_state_node(struct store *, const char *, struct cat_node *);
/* Walks, in key order; 0 or -1 on a store error. */
int	 cat_state_nodes(struct store *, cat_node_fn, void *);
int	 cat_state_node_services(struct store *, const char *, cat_service_fn,
	    void *);
int	 cat_state_node_checks(struct store *, const char *, cat_check_fn,
	    void *);
/* Every service instance, by name, then node, then ID. */
int	 cat_state_services(struct store *, cat_service_fn, void *);
/* The instances of one service name, by node, then ID. */
int	 cat_state_service_instances(struct store *, const char *,
	    cat_service_fn, void *);
/* The checks of the instances of one service name. */
int	 cat_state_service_checks(struct store *, const char *, cat_check_fn,
	    void *);
int	 cat_state_checks(struct store *, cat_check_fn, void *);

/* "nodes", "services", "checks"; 0 if never written. */
uint64_t cat_state_index(struct store *, const char *);
/* A service name's index; the "services" index if it never existed. */
uint64_t cat_state_service_index(struct store *, const char *);

/* Snapshots: every catalog record, SNAP_REC_CAT_*. */
int	 cat_state_dump(struct store *, struct snapshot_writer *);
int	 cat_state_clear(struct store *, DB_TXN *);
int	 cat_state_load(struct store *, DB_TXN *, enum snapshot_record,
	    const msgpack_object *);

#endif
