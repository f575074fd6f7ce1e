/*
 * libFuzzer target for the gossip decoders and the open() path.  The
 * input is taken as a UDP packet, as a push-pull message and as a sealed
 * message, and must never crash any of them:
 *   - every message the packet decoder accepts encodes back to one that
 *     decodes to the same fields;
 *   - a SWIM core fed the input (plaintext, as packet and as stream)
 *     keeps consistent counts, within its bounds;
 *   - opening with a fixed key fails cleanly, and the input sealed with
 *     that key opens back to itself, once;
 *   - a user message (event, query, response, relay, prune) the Serf
 *     layer's decoder accepts encodes back to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../gossipd/keyring.c"
#include "../../gossipd/swim_codec.c"
#include "../../gossipd/swim.c"
#include "../../gossipd/serf_codec.c"

#define FUZZ_MEMBERS	8

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char fuzz_key[] = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=";

static void
same_msg(const struct swim_msg *a, const struct swim_msg *b)
{
	if (a->type != b->type || a->seq != b->seq ||
	    a->incarnation != b->incarnation || a->nack != b->nack ||
	    a->state != b->state || strcmp(a->node, b->node) != 0 ||
	    strcmp(a->from, b->from) != 0 || a->tagslen != b->tagslen ||
	    memcmp(a->tags, b->tags, a->tagslen) != 0)
		abort();
	if ((a->type == SWIM_MSG_ALIVE || a->type == SWIM_MSG_INDIRECT) &&
	    !swim_addr_eq(&a->addr, &b->addr))
		abort();
	if (a->type == SWIM_MSG_USER && (a->userlen != b->userlen ||
	    a->userlen == 0 || memcmp(a->user, b->user, a->userlen) != 0))
		abort();
}

static void
serf(const uint8_t *data, size_t size)
{
	static unsigned char	 buf[SWIM_PACKET_MAX];
	msgpack_unpacked	 u, v;
	struct serf_msg		 m, back;
	size_t			 len;
	int			 i;

	if (serf_msg_unpack(&u, data, size, &m) == -1)
		return;
	if (serf_msg_pack(&m, buf, sizeof(buf), &len) == -1 ||
	    serf_msg_unpack(&v, buf, len, &back) == -1)
		abort();
	if (m.type != back.type || m.ltime != back.ltime ||
	    m.qid != back.qid || m.timeout_ms != back.timeout_ms ||
	    strcmp(m.node, back.node) != 0 || strcmp(m.id, back.id) != 0 ||
	    strcmp(m.name, back.name) != 0 ||
	    m.has_payload != back.has_payload ||
	    m.payloadlen != back.payloadlen ||
	    (m.payloadlen > 0 &&
	    memcmp(m.payload, back.payload, m.payloadlen) != 0))
		abort();
	if ((m.type == SERF_QUERY || m.type == SERF_RELAY) &&
	    !swim_addr_eq(&m.addr, &back.addr))
		abort();
	for (i = 0; i < SERF_FILTERS; i++)
		if (strcmp(m.filter[i], back.filter[i]) != 0)
			abort();
	msgpack_unpacked_destroy(&v);
	msgpack_unpacked_destroy(&u);
}

static void
roundtrip_msg(const struct swim_msg *m)
{
	unsigned char		 buf[SWIM_PACKET_MAX];
	struct swim_wbuf	 w;
	msgpack_packer		 pk;
	msgpack_unpacked	 u;
	struct swim_msg		 back;

	swim_wbuf_init(&w, &pk, buf, sizeof(buf));
	swim_msg_pack(&pk, m);
	if (w.overflow || mpack_parse(&u, buf, w.len) == -1)
		abort();
	if (swim_msg_unpack(&u.data, &back) == -1)
		abort();
	same_msg(m, &back);
	msgpack_unpacked_destroy(&u);
}

static void
roundtrip_entry(const struct swim_msg *e)
{
	struct mpack_out	 out;
	msgpack_unpacked	 u;
	struct swim_msg		 back;

	mpack_out_init(&out);
	swim_entry_pack(&out.pk, e);
	if (mpack_parse(&u, out.sbuf.data, out.sbuf.size) == -1 ||
	    swim_entry_unpack(&u.data, &back) == -1)
		abort();
	same_msg(e, &back);
	msgpack_unpacked_destroy(&u);
	mpack_out_free(&out);
}

static void
decoders(const uint8_t *data, size_t size)
{
	msgpack_unpacked	 u;
	const msgpack_object	*msgs;
	struct swim_pushpull	 pp;
	struct swim_msg		 m;
	size_t			 n, i;

	if (swim_packet_parse(&u, data, size, &msgs, &n) == 0) {
		if (n == 0 || n > SWIM_PACKET_MSGS_MAX)
			abort();
		for (i = 0; i < n; i++)
			if (swim_msg_unpack(&msgs[i], &m) == 0)
				roundtrip_msg(&m);
		msgpack_unpacked_destroy(&u);
	}
	if (swim_pushpull_parse(&u, data, size, &pp) == 0) {
		if (!swim_name_valid(pp.from))
			abort();
		for (i = 0; i < pp.nentries; i++)
			if (swim_entry_unpack(&pp.entries[i], &m) == 0)
				roundtrip_entry(&m);
		msgpack_unpacked_destroy(&u);
	}
}

static void
core(const uint8_t *data, size_t size)
{
	struct swim_options	 o;
	struct swim_stats	 st;
	struct swim_member_info	 info;
	struct swim_ready	 rd;
	struct swim		*sw;
	struct swim_addr	 from;
	size_t			 i;

	swim_options_lan(&o);
	strlcpy(o.name, "n1", sizeof(o.name));
	o.addr.family = AF_INET;
	o.addr.ip[0] = 10;
	o.addr.ip[3] = 1;
	o.addr.port = 8301;
	o.max_members = FUZZ_MEMBERS;
	o.queue_max = 4;
	from = o.addr;
	from.ip[3] = 2;
	if ((sw = swim_new(&o, 0)) == NULL)
		abort();
	swim_recv_packet(sw, &from, data, size, 10);
	swim_tick(sw, 5000);
	swim_recv_stream(sw, 7, &from, data, size, 6000);
	swim_tick(sw, 100000);
	swim_stats(sw, &st);
	if (st.members > FUZZ_MEMBERS || st.members == 0 ||
	    st.alive + st.failed + st.left != st.members ||
	    st.suspect > st.alive || st.queued > 4)
		abort();
	for (i = 0; i < swim_member_count(sw); i++) {
		if (swim_member_at(sw, i, &info) == -1 ||
		    !swim_name_valid(info.name) ||
		    !swim_tags_valid(info.tags, info.tagslen))
			abort();
	}
	if (swim_has_ready(sw)) {
		swim_ready(sw, &rd);
		for (i = 0; i < rd.n_outs; i++)
			if (rd.outs[i].len == 0 || rd.outs[i].data == NULL)
				abort();
		swim_advance(sw);
	}
	swim_free(sw);
}

static void
crypto(const uint8_t *data, size_t size)
{
	static unsigned char	 out[SWIM_PACKET_MAX + KEYRING_OVERHEAD];
	static unsigned char	 back[SWIM_PACKET_MAX + KEYRING_OVERHEAD];
	struct keyring		*kr;
	size_t			 olen, blen;
	int			 rc;

	if ((kr = keyring_new()) == NULL || keyring_install(kr, fuzz_key) != 0)
		abort();
	rc = keyring_open(kr, KEYRING_PACKET, data, size, out, sizeof(out),
	    &olen);
	if (rc != KEYRING_EFORMAT && rc != KEYRING_EKEY)
		abort();	/* nobody can forge the tag */
	keyring_set_verify(kr, 0, 0);
	rc = keyring_unwrap(kr, KEYRING_STREAM, data, size, out, sizeof(out),
	    &olen);
	if (rc == KEYRING_OK && (olen != size || memcmp(out, data, size)))
		abort();
	if (size <= SWIM_PACKET_MAX) {
		if (keyring_seal(kr, KEYRING_PACKET, data, size, out,
		    sizeof(out), &olen) != 0 ||
		    keyring_open(kr, KEYRING_PACKET, out, olen, back,
		    sizeof(back), &blen) != 0 || blen != size ||
		    (size > 0 && memcmp(back, data, size) != 0) ||
		    keyring_open(kr, KEYRING_PACKET, out, olen, back,
		    sizeof(back), &blen) != KEYRING_EREPLAY)
			abort();
	}
	keyring_free(kr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decoders(data, size);
	serf(data, size);
	core(data, size);
	crypto(data, size);
	return 0;
}
