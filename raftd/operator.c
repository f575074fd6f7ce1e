/*
 * The operator's view of Raft: GET /v1/operator/raft/configuration, the
 * servers of the configuration with their node names (from gossip), who
 * leads, and who votes.  Served by the leader unless ?stale; forwarded
 * like a read otherwise.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mpack.h"
#include "raftd.h"

struct name_find {
	const char	*id;
	const char	*name;
	char		 buf[128];
};

static void
name_find_server(void *arg, const struct member_server *s)
{
	struct name_find	*f = arg;

	if (strcmp(s->id, f->id) == 0) {
		strlcpy(f->buf, s->name, sizeof(f->buf));
		f->name = f->buf;
	}
}

/* An answer with only an error, as forwarding needs one too. */
void
raft_conf_error(struct imsgev *iev, uint32_t reqid, const char *why)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 1);
	mpack_kv_str(&out.pk, "error", why);
	if (imsgev_compose(iev, IMSG_RAFT_CONF, reqid, -1, out.sbuf.data,
	    out.sbuf.size) == -1)
		fatal("operator: compose");
	mpack_out_free(&out);
}

void
raft_conf_request(struct imsgev *iev, struct imsg *imsg)
{
	const struct raft_conf	*conf;
	struct mpack_out	 out;
	struct name_find	 f;
	const char		*leader;
	uint8_t			 stale;
	size_t			 i;

	imsg_need_len(imsg, sizeof(stale), iev->name);
	memcpy(&stale, imsg->data, sizeof(stale));
	if (forward_request(iev, imsg, stale, KV_READ_SINGLE))
		return;
	if (!stale && !node_is_leader(&raftd)) {
		if (hold_request(iev, imsg) == -1)
			raft_conf_error(iev, imsg->hdr.peerid,
			    "No cluster leader");
		return;
	}
	conf = raft_config(raftd.raft);
	leader = raft_leader(raftd.raft);
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 3);
	mpack_kv_str(&out.pk, "error", "");
	mpack_kv_uint(&out.pk, "index", raft_commit_index(raftd.raft));
	mpack_str(&out.pk, "servers");
	msgpack_pack_array(&out.pk, conf->n);
	for (i = 0; i < conf->n; i++) {
		memset(&f, 0, sizeof(f));
		f.id = conf->servers[i].id;
		f.name = "(unknown)";
		members_servers(name_find_server, &f);
		msgpack_pack_array(&out.pk, 5);
		mpack_str(&out.pk, conf->servers[i].id);
		mpack_str(&out.pk, f.name);
		mpack_str(&out.pk, conf->servers[i].addr);
		if (strcmp(conf->servers[i].id, leader) == 0)
			msgpack_pack_true(&out.pk);
		else
			msgpack_pack_false(&out.pk);
		if (conf->servers[i].voter)
			msgpack_pack_true(&out.pk);
		else
			msgpack_pack_false(&out.pk);
	}
	if (imsgev_compose(iev, IMSG_RAFT_CONF, imsg->hdr.peerid, -1,
	    out.sbuf.data, out.sbuf.size) == -1)
		fatal("operator: compose");
	mpack_out_free(&out);
}
