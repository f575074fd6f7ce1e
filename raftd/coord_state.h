/*
 * Network coordinates in raftd's store, as Consul's catalog keeps them:
 * the latest LAN coordinate of each node (and network segment), written
 * in batches (CAT_WRITE_COORD_BATCH) and removed with the node.
 *
 *	coords		node NUL segment -> [node, segment, coordinate]
 *
 * The "coordinates" table index moves with every batch that wrote one
 * and every node deregistration that removed one.
 */
#ifndef CONSULD_COORD_STATE_H
#define CONSULD_COORD_STATE_H

#include "catalog_codec.h"
#include "coordinate.h"
#include "snapshot_format.h"
#include "store.h"

#define COORDS_TABLE	"coordinates"

typedef int (*coord_state_fn)(void *, const char *, const char *,
	    const struct coord *);

/*
 * Apply a batch (an array of entries) at index: entries of nodes the
 * catalog does not have are skipped.  0 done, 1 refused (malformed:
 * nothing written), -1 on a store error.
 */
int	 coord_state_batch(struct store *, DB_TXN *, uint64_t,
	    const msgpack_object *);
/* The node was deregistered: its coordinates go.  0 or -1. */
int	 coord_state_node_gone(struct store *, DB_TXN *, uint64_t,
	    const char *);
/* Every coordinate (node NULL) or one node's, in key order; 0 or -1. */
int	 coord_state_walk(struct store *, const char *, coord_state_fn,
	    void *);

int	 coord_state_dump(struct store *, struct snapshot_writer *);
int	 coord_state_clear(struct store *, DB_TXN *);
/* A SNAP_REC_COORD record; -1 if it is malformed. */
int	 coord_state_load(struct store *, DB_TXN *, const msgpack_object *);

#endif
