/*
 * ?near=_agent|<node>: a list of nodes' things sorted by the estimated
 * round-trip time from the named node, from the network coordinates of
 * the catalog (apid/near.c).
 */
#ifndef CONSULD_APID_NEAR_H
#define CONSULD_APID_NEAR_H

#include <jansson.h>

#include "apid.h"
#include "coordinate.h"

/* Nodes' LAN coordinates, as /v1/coordinate/nodes lists them. */
struct near_coords {
	struct near_node	*v;
	size_t			 n;
	size_t			 cap;
};

void	 near_coords_free(struct near_coords *);
int	 near_coords_add(struct near_coords *, const char *,
	    const struct coord *);
const struct coord *near_coords_get(const struct near_coords *,
	    const char *);

/*
 * Sort array (of JSON objects) in place by the estimated RTT from node
 * to the node each element names at key_path ("Node", or "Node.Node"
 * for a ServiceEntry).  Elements whose node has no coordinate go last,
 * in their order; without a coordinate for node itself nothing moves.
 */
void	 near_sort(json_t *, const char *, const char *,
	    const struct near_coords *);

/*
 * One catalog read of every node's coordinate in datacenter dc ("" for
 * this one), then done(req, arg, coords); coords is NULL if the read
 * failed (answer unsorted, then).  If the read ends without done (the
 * client went away), arg_free(arg) instead.
 */
typedef void (*near_done_fn)(struct evhttp_request *, void *,
	    const struct near_coords *);
int	 near_fetch(struct evhttp_request *, const char *, int, near_done_fn,
	    void (*)(void *), void *);

#endif
