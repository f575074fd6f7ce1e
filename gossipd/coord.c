/*
 * Network coordinates on gossipd's pools, as Consul keeps them: every
 * ack to a direct probe of ours carries the target's coordinate (the
 * ack payload of the SWIM core), the probe's round trip is timed here
 * from when its packet left to when the ack is handled, and our
 * coordinate for that pool moves by one Vivaldi step (common/
 * coordinate.c).  Our acks carry our latest coordinate in turn.  Each
 * update goes to raftd, which keeps our coordinates (the LAN one goes
 * to the catalog) and the WAN pool's servers' (for
 * /v1/coordinate/datacenters).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coordinate.h"
#include "gossipd.h"
#include "log.h"
#include "mpack.h"

static uint64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
payload_set(struct pool *p)
{
	unsigned char	 buf[COORD_PACKED_MAX];
	size_t		 len;

	if (coord_encode(coord_client_get(p->coord), buf, sizeof(buf),
	    &len) == -1 || swim_set_ack_payload(p->sw, buf, len) == -1)
		fatalx("gossip: %s: cannot encode our coordinate", p->label);
}

/* Once the pool's core exists. */
void
coord_pool_start(struct pool *p)
{
	struct coord_config	 cfg;
	uint64_t		 seed;

	coord_config_default(&cfg);
	cfg.peers_max = SWIM_MEMBERS_MAX;
	arc4random_buf(&seed, sizeof(seed));
	if ((p->coord = coord_client_new(&cfg, seed)) == NULL)
		fatalx("gossip: %s: cannot set up coordinates", p->label);
	payload_set(p);
}

/* The packet of our direct probe with this seq is leaving now. */
void
coord_probe_sent(struct pool *p, uint32_t seq)
{
	p->probe_seq = seq;
	p->probe_sent_us = now_us();
}

static void
report(struct pool *p, const char *peer, const struct coord *pc)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 4);
	msgpack_pack_uint8(&out.pk, p->kind);
	coord_pack(&out.pk, coord_client_get(p->coord));
	mpack_str(&out.pk, peer);
	coord_pack(&out.pk, pc);
	if (imsgev_compose(&gossipd_child.peers[PROC_RAFTD], IMSG_COORD_GOSSIP,
	    0, -1, out.sbuf.data, out.sbuf.size) == -1)
		fatal("gossip: compose");
	mpack_out_free(&out);
}

/*
 * The ack of a probe, with the target's coordinate.  A payload that is
 * not a valid coordinate (another version, or a bad peer) is ignored,
 * as is an ack to a probe other than the one we timed.
 */
void
coord_ack(struct pool *p, const struct swim_event *ev)
{
	struct coord	 pc;
	uint64_t	 now = now_us();
	double		 rtt;

	if (p->coord == NULL || ev->seq == 0 || ev->seq != p->probe_seq ||
	    now < p->probe_sent_us)
		return;
	p->probe_seq = 0;
	if (coord_decode(ev->data, ev->len, &pc) == -1) {
		log_debug("gossip: %s: %s sent an invalid coordinate",
		    p->label, ev->member.name);
		return;
	}
	rtt = (double)(now - p->probe_sent_us) / 1e6;
	if (coord_client_update(p->coord, ev->member.name, &pc, rtt) == -1) {
		log_debug("gossip: %s: coordinate update from %s refused "
		    "(rtt %.6f s)", p->label, ev->member.name, rtt);
		return;
	}
	payload_set(p);
	report(p, ev->member.name, &pc);
}

/* A member was reaped: its samples and coordinate go. */
void
coord_member_gone(struct pool *p, const char *name)
{
	if (p->coord != NULL)
		coord_client_forget(p->coord, name);
}
