/*
 * Network coordinates, as Consul keeps them: Vivaldi (Dabek, Cox,
 * Kaashoek and Morris, SIGCOMM 2004) in a Euclidean space of
 * COORD_DIM dimensions plus a height (the access link every path from
 * a node crosses), an adjustment (what the Euclidean model cannot say
 * about a node, learnt from recent samples) and an error estimate.
 * Coordinates are in seconds; the estimated round-trip time between
 * two nodes is the distance between their coordinates.
 *
 * A coord_client is one node's view: its own coordinate, updated from
 * each measured round trip to a peer and that peer's coordinate, and
 * per peer a few recent samples (a median filter against outliers) and
 * the peer's latest coordinate.  It does no I/O and reads no clock;
 * randomness comes from a seeded PRNG, so tests replay exactly.
 *
 * Every coordinate from outside (gossip, RPC, HTTP, the store) goes
 * through coord_valid(): COORD_DIM finite components, each bounded.
 */
#ifndef CONSULD_COORDINATE_H
#define CONSULD_COORDINATE_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define COORD_DIM		8
#define COORD_ERROR_INIT	1.5
#define COORD_HEIGHT_MIN	1.0e-5		/* 10 us */
/* Bounds of a valid coordinate, in seconds (RTTs beyond are refused). */
#define COORD_COMPONENT_MAX	1000.0
#define COORD_ERROR_MAX		1000.0
#define COORD_RTT_MAX		10.0		/* a sample beyond: refused */
#define COORD_WINDOW_MAX	64		/* adjustment samples */
#define COORD_FILTER_MAX	16		/* latency samples per peer */
/* The largest coord_pack() encoding. */
#define COORD_PACKED_MAX	128

struct coord {
	double		 vec[COORD_DIM];
	double		 error;
	double		 adjustment;
	double		 height;
};

/* The tuning of coord_client; coord_config_default() gives Consul's. */
struct coord_config {
	double		 error_max;	/* 1.5: the error starts there */
	double		 ce;		/* 0.25: error weight of a sample */
	double		 cc;		/* 0.25: step of a sample */
	size_t		 window;	/* 20 adjustment samples */
	double		 height_min;	/* 10 us */
	size_t		 filter;	/* 3 latency samples per peer */
	double		 gravity_rho;	/* 150 s */
	size_t		 peers_max;	/* peers remembered */
};

struct coord_client;

/* The origin with the initial error and height. */
void	 coord_init(struct coord *);
/* Finite, within the bounds above, height and error not negative. */
int	 coord_valid(const struct coord *);
/* The estimated round-trip time between two coordinates, in seconds. */
double	 coord_rtt(const struct coord *, const struct coord *);

/*
 * MessagePack: [[vec...], error, adjustment, height], floats; the
 * decoder takes integers too and refuses what coord_valid() refuses.
 */
void	 coord_pack(msgpack_packer *, const struct coord *);
int	 coord_unpack(const msgpack_object *, struct coord *);
/* The same in a buffer (gossip ack payload); -1 if it does not fit. */
int	 coord_encode(const struct coord *, void *, size_t, size_t *);
int	 coord_decode(const void *, size_t, struct coord *);

/*
 * An entry of the catalog's coordinates, [node, segment, coordinate]:
 * a batch update, a stored record, a read's item.  Unpack: node and
 * segment into the buffers (node not empty), -1 if anything is amiss.
 */
void	 coord_entry_pack(msgpack_packer *, const char *, const char *,
	    const struct coord *);
int	 coord_entry_unpack(const msgpack_object *, char *, size_t, char *,
	    size_t, struct coord *);

void	 coord_config_default(struct coord_config *);
/* NULL on a bad configuration. */
struct coord_client *coord_client_new(const struct coord_config *,
	    uint64_t);
void	 coord_client_free(struct coord_client *);
const struct coord *coord_client_get(const struct coord_client *);
/*
 * A round trip of rtt seconds to the named peer, whose coordinate is
 * given: 0 when our coordinate moved, -1 when the input was refused
 * (invalid coordinate, rtt out of range, name empty or too long, too
 * many peers) and nothing changed.
 */
int	 coord_client_update(struct coord_client *, const char *,
	    const struct coord *, double);
/* The named peer's latest coordinate: 0, or -1 if none. */
int	 coord_client_peer(const struct coord_client *, const char *,
	    struct coord *);
/* Forget a peer (it was reaped). */
void	 coord_client_forget(struct coord_client *, const char *);
size_t	 coord_client_npeers(const struct coord_client *);

#endif
