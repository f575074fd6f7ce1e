/*
 * libFuzzer target for the agent codec, which reads what raftd keeps in
 * data_dir/agent/local.state (a file: anything may be in it) and what
 * apid sends.  The input is parsed as one MessagePack object and read
 * as a service and as a check; whatever is accepted must pack to bytes
 * that are accepted again and pack the same.
 *
 * run.sh links a fixed list of common sources, so the codecs are
 * compiled in here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/catalog_codec.c"
#include "../../common/agent_codec.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same_again(const struct mpack_out *a, int check)
{
	msgpack_unpacked	 u;
	struct agent_check	 c;
	struct agent_service	 s;
	struct mpack_out	 b;

	if (mpack_parse(&u, a->sbuf.data, a->sbuf.size) == -1)
		abort();
	mpack_out_init(&b);
	if (check) {
		if (agent_check_unpack(&u.data, &c) == -1)
			abort();
		agent_check_pack(&b.pk, &c);
		agent_check_free(&c);
	} else {
		if (agent_service_unpack(&u.data, &s) == -1)
			abort();
		agent_service_pack(&b.pk, &s);
		agent_service_free(&s);
	}
	if (b.sbuf.size != a->sbuf.size ||
	    memcmp(b.sbuf.data, a->sbuf.data, a->sbuf.size) != 0)
		abort();
	mpack_out_free(&b);
	msgpack_unpacked_destroy(&u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	msgpack_unpacked	 u;
	struct agent_check	 c;
	struct agent_service	 s;
	struct mpack_out	 out;

	if (mpack_parse(&u, data, len) == -1)
		return 0;
	if (agent_check_unpack(&u.data, &c) == 0) {
		if (c.c.check_id == NULL || c.c.status == NULL ||
		    c.nheaders > CAT_LIST_MAX || c.nargs > CAT_LIST_MAX)
			abort();
		mpack_out_init(&out);
		agent_check_pack(&out.pk, &c);
		same_again(&out, 1);
		mpack_out_free(&out);
		agent_check_free(&c);
	}
	if (agent_service_unpack(&u.data, &s) == 0) {
		if (s.s.id == NULL || s.s.service == NULL)
			abort();
		mpack_out_init(&out);
		agent_service_pack(&out.pk, &s);
		same_again(&out, 0);
		mpack_out_free(&out);
		agent_service_free(&s);
	}
	msgpack_unpacked_destroy(&u);
	return 0;
}
