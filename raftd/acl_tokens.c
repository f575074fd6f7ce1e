/*
 * The agent's own tokens (acl.tokens.default, agent, agent_recovery,
 * replication, dns, config_file_service_registration): what the configuration says, unless PUT
 * /v1/agent/token/<kind> replaced one while the agent runs.  Such a
 * value wins over the configuration, across reloads too; with
 * acl.enable_token_persistence it is also saved in data_dir/acl-tokens
 * (mode 0600, msgpack {kind: token}) and taken back at start, as
 * Consul's acl-tokens.json.  Everything in raftd reads the tokens
 * through acl_token().
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl_codec.h"
#include "config.h"
#include "fdio.h"
#include "log.h"
#include "raftd.h"

#define ACL_TOKENS_FILE		"acl-tokens"
#define ACL_TOKENS_FILE_MAX	(64 * 1024)

static const char *const kinds[] = {
	"default", "agent", "agent_recovery", "replication", "dns",
	"config_file_service_registration"
};
#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))

static char	*set[NKINDS];		/* NULL: the configuration's */

static int
kind_index(const char *kind)
{
	size_t	 i;

	for (i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i], kind) == 0)
			return (int)i;
	return -1;
}

static const char *
configured(int i)
{
	const struct config	*c = raftd_child.conf;

	switch (i) {
	case 0:
		return c->acl.tokens.default_token;
	case 1:
		return c->acl.tokens.agent;
	case 2:
		return c->acl.tokens.agent_recovery;
	case 3:
		return c->acl.tokens.replication;
	case 4:
		return c->acl.tokens.dns;
	default:
		return c->acl.tokens.config_file_service_registration;
	}
}

/* A token of the agent by kind, "" if none. */
const char *
acl_token(const char *kind)
{
	const char	*v;
	int		 i;

	if ((i = kind_index(kind)) == -1)
		return "";
	v = set[i] != NULL ? set[i] : configured(i);
	return v != NULL ? v : "";
}

/* The agent token, else the default one: anti-entropy's. */
const char *
acl_token_agent(void)
{
	const char	*v = acl_token("agent");

	return *v != '\0' ? v : acl_token("default");
}

static void
take(int i, const char *v)
{
	if (set[i] != NULL)
		freezero(set[i], strlen(set[i]));
	if ((set[i] = strdup(v)) == NULL)
		fatal("acl");
}

static void
pack_set(struct mpack_out *out, int array)
{
	size_t	 i, n = 0;

	for (i = 0; i < NKINDS; i++)
		n += set[i] != NULL;
	if (array)
		msgpack_pack_array(&out->pk, n);
	else
		msgpack_pack_map(&out->pk, n);
	for (i = 0; i < NKINDS; i++)
		if (set[i] != NULL) {
			if (array)
				msgpack_pack_array(&out->pk, 2);
			mpack_str(&out->pk, kinds[i]);
			mpack_str(&out->pk, set[i]);
		}
}

/* 0, or -1 (logged, without the tokens). */
static int
save(void)
{
	struct mpack_out	 out;
	const char		*tmp = ACL_TOKENS_FILE ".tmp";
	int			 fd, rc = 0;

	mpack_out_init(&out);
	pack_set(&out, 0);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || fd_write_all(fd, out.sbuf.data,
	    out.sbuf.size) == -1 || fsync(fd) == -1 || close(fd) == -1 ||
	    rename(tmp, ACL_TOKENS_FILE) == -1) {
		log_warn("acl: cannot write %s", ACL_TOKENS_FILE);
		rc = -1;
	}
	explicit_bzero(out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	return rc;
}

/* At start, after the sandbox (raftd's directory is data_dir). */
void
acl_tokens_load(struct child *c)
{
	struct mpack_out	 out;
	msgpack_unpacked	 u;
	const msgpack_object	*m;
	unsigned char		 buf[ACL_TOKENS_FILE_MAX];
	char			 kind[32], tok[ACL_STR_MAX + 1];
	ssize_t			 n;
	uint32_t		 k;
	int			 fd, i;

	if (!c->conf->acl.enable_token_persistence)
		return;
	if ((fd = open(ACL_TOKENS_FILE, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("acl: %s", ACL_TOKENS_FILE);
		return;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || mpack_parse(&u, buf, (size_t)n) == -1) {
		log_warnx("acl: %s is damaged; ignoring it", ACL_TOKENS_FILE);
		explicit_bzero(buf, sizeof(buf));
		return;
	}
	m = &u.data;
	for (k = 0; m->type == MSGPACK_OBJECT_MAP && k < m->via.map.size;
	    k++)
		if (mpack_copy_str(&m->via.map.ptr[k].key, kind,
		    sizeof(kind)) == 0 && (i = kind_index(kind)) != -1 &&
		    mpack_copy_str(&m->via.map.ptr[k].val, tok,
		    sizeof(tok)) == 0)
			take(i, tok);
	msgpack_unpacked_destroy(&u);
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(tok, sizeof(tok));
	log_info("acl: loaded the agent's tokens from %s", ACL_TOKENS_FILE);
	/* apid needs the default token for the callers without one. */
	mpack_out_init(&out);
	pack_set(&out, 1);
	if (imsgev_compose(&c->peers[PROC_APID], IMSG_AGENT_TOKEN, 0, -1,
	    out.sbuf.data, out.sbuf.size) == -1)
		fatal("acl: compose");
	explicit_bzero(out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

/* IMSG_AGENT_TOKEN_SET from apid: [kind, token]. */
void
acl_token_set_request(struct imsgev *iev, struct imsg *imsg)
{
	struct mpack_out	 out;
	msgpack_unpacked	 u;
	char			 kind[32], tok[ACL_STR_MAX + 1];
	const char		*err = "";
	int			 i;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size != 2 ||
	    mpack_copy_str(&u.data.via.array.ptr[0], kind,
	    sizeof(kind)) == -1 ||
	    mpack_copy_str(&u.data.via.array.ptr[1], tok, sizeof(tok)) == -1 ||
	    (i = kind_index(kind)) == -1)
		fatalx("acl: malformed token from %s", iev->name);
	msgpack_unpacked_destroy(&u);
	take(i, tok);
	explicit_bzero(tok, sizeof(tok));
	if (raftd_child.conf->acl.enable_token_persistence && save() == -1)
		err = "Failed to persist the token";
	log_info("acl: the agent's \"%s\" token was updated", kind);
	/* The agent token signs anti-entropy's writes: sync again. */
	if (i == 1 || i == 0)
		ae_schedule();
	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 1);
	mpack_kv_str(&out.pk, "error", err);
	if (imsgev_compose(iev, IMSG_AGENT_TOKEN, imsg->hdr.peerid, -1,
	    out.sbuf.data, out.sbuf.size) == -1)
		fatal("acl: compose");
	mpack_out_free(&out);
}
