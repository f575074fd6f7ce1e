/*
 * libFuzzer target for network coordinates, which arrive in gossip acks
 * (coord_decode), in forwarded catalog writes and reads, Raft entries
 * and snapshots (coord_entry_unpack) and in PUT /v1/coordinate/update
 * (coord_from_json).  Whatever a decoder accepts must be coord_valid(),
 * pack to bytes it accepts again with the same value, and feed the
 * Vivaldi update without making our coordinate invalid or the estimate
 * not finite.
 *
 * run.sh links a fixed list of common sources, so the coordinate code
 * is compiled in here.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/coordinate.c"
#include "../../common/coordinate_json.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct coord_client	*cl;

static void
accepted(const struct coord *c)
{
	unsigned char	 buf[COORD_PACKED_MAX];
	struct coord	 back;
	size_t		 len;
	double		 rtt;

	if (!coord_valid(c))
		abort();
	if (coord_encode(c, buf, sizeof(buf), &len) == -1 ||
	    coord_decode(buf, len, &back) == -1 ||
	    memcmp(c, &back, sizeof(back)) != 0)
		abort();
	rtt = coord_rtt(c, c);
	if (!isfinite(rtt) || rtt < 0)
		abort();
	(void)coord_client_update(cl, "peer", c, 0.001);
	if (!coord_valid(coord_client_get(cl)) ||
	    !isfinite(coord_rtt(coord_client_get(cl), c)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coord_config	 cfg;
	msgpack_unpacked	 u;
	struct coord		 c;
	char			 node[64], seg[64], err[256];
	json_error_t		 jerr;
	json_t			*j;

	if (cl == NULL) {
		coord_config_default(&cfg);
		if ((cl = coord_client_new(&cfg, 1)) == NULL)
			abort();
	}
	if (coord_decode(data, size, &c) == 0)
		accepted(&c);
	if (size > 0 && size < 65536 && mpack_parse(&u, data, size) == 0) {
		if (coord_entry_unpack(&u.data, node, sizeof(node), seg,
		    sizeof(seg), &c) == 0) {
			if (node[0] == '\0' || strlen(node) >= sizeof(node))
				abort();
			accepted(&c);
		}
		msgpack_unpacked_destroy(&u);
	}
	if ((j = json_loadb((const char *)data, size, JSON_DECODE_ANY,
	    &jerr)) != NULL) {
		if (coord_from_json(j, &c, err, sizeof(err)) == 0)
			accepted(&c);
		json_decref(j);
	}
	return 0;
}
