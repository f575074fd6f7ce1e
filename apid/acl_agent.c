/*
 * ACLs on the agent's own endpoints.  With ACLs on, a handler first
 * asks raftd for the authorizer of the caller's token (raftd resolves
 * it, on a client agent through a server and its cache), checks the
 * right the endpoint needs, and goes on with the authorizer in hand
 * (for the lists that only show what the token may read).  Also
 * PUT /v1/agent/token/<kind>, which replaces one of the agent's
 * tokens while it runs.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "acl_codec.h"
#include "acl_rules.h"
#include "apid.h"
#include "config.h"
#include "log.h"

#define AGENT_TOKEN_PREFIX	"/v1/agent/token/"
#define AGENT_TOKEN_BODY_MAX	4096

struct gate {
	char			*path;
	int			 res;		/* ACL_RES_MAX: no check */
	char			*name;
	int			 level;
	acl_agent_fn		 cont;
};

/* acl.tokens.default as PUT /v1/agent/token/default set it, or NULL. */
static char	*default_override;

const char *
acl_agent_default_token(void)
{
	const char	*v;

	if (default_override != NULL)
		return default_override;
	v = apid_child.conf->acl.tokens.default_token;
	return v != NULL ? v : "";
}

static void
gate_free(void *arg)
{
	struct gate	*g = arg;

	free(g->path);
	free(g->name);
	free(g);
}

static void
gate_done(struct request *r, struct imsg *imsg)
{
	struct gate		*g = r->ctx;
	struct acl_authz	 a;
	msgpack_unpacked	 u;
	char			 why[ACL_DENIED_MAX];
	int			 found;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size != 2 ||
	    mpack_get_bool(&u.data.via.array.ptr[0], &found) == -1 ||
	    (found && acl_authz_unpack(&u.data.via.array.ptr[1], &a) == -1))
		fatalx("acl: malformed authorizer from raftd");
	msgpack_unpacked_destroy(&u);
	if (!found) {
		http_error(r->req, 403, "ACL not found");
		return;
	}
	if (g->res != ACL_RES_MAX && !acl_allowed(&a, g->res, g->name,
	    g->level)) {
		acl_denied(why, sizeof(why), &a, g->res, g->name, g->level);
		http_error(r->req, 403, why);
	} else
		g->cont(r->req, g->path, &a);
	acl_rules_free(a.rules);
}

/*
 * Go on with cont once the caller's token has the level of access to
 * res (named name) that it needs; cont gets the authorizer, NULL when
 * ACLs are off.
 */
void
acl_agent_gate(struct evhttp_request *req, const char *path, int res,
    const char *name, int level, acl_agent_fn cont)
{
	struct request	*r;
	struct query	 q;
	struct gate	*g;
	const char	*secret;

	if (!apid_child.conf->acl.enabled) {
		cont(req, path, NULL);
		return;
	}
	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	secret = acl_request_secret(req, &q);
	if (strlen(secret) > ACL_STR_MAX) {
		query_free(&q);
		http_error(req, 403, "ACL not found");
		return;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->path = strdup(path)) == NULL ||
	    (name != NULL && (g->name = strdup(name)) == NULL) ||
	    (r = request_new(req, gate_done)) == NULL) {
		if (g != NULL)
			gate_free(g);
		query_free(&q);
		http_error(req, 500, "out of memory");
		return;
	}
	g->res = res;
	g->level = level;
	g->cont = cont;
	r->ctx = g;
	r->ctx_free = gate_free;
	request_send(r, IMSG_ACL_AUTHZ_REQ, secret, strlen(secret));
	query_free(&q);
}

/* Whether a (NULL: ACLs off) allows it. */
int
acl_agent_allowed(const struct acl_authz *a, int res, const char *name,
    int level)
{
	return a == NULL || acl_allowed(a, res, name, level);
}

/* raftd's tokens at start (peerid 0): the persisted default, if any. */
void
acl_agent_tokens(struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*e;
	char			 kind[32], *tok;
	uint32_t		 i;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY)
		fatalx("acl: malformed tokens from raftd");
	for (i = 0; i < u.data.via.array.size; i++) {
		e = &u.data.via.array.ptr[i];
		tok = NULL;
		if (e->type != MSGPACK_OBJECT_ARRAY ||
		    e->via.array.size != 2 ||
		    mpack_copy_str(&e->via.array.ptr[0], kind,
		    sizeof(kind)) == -1 ||
		    mpack_get_str(&e->via.array.ptr[1], &tok) == -1 ||
		    tok == NULL)
			fatalx("acl: malformed tokens from raftd");
		if (strcmp(kind, "default") == 0) {
			if (default_override != NULL)
				freezero(default_override,
				    strlen(default_override));
			default_override = tok;
		} else
			freezero(tok, strlen(tok));
	}
	msgpack_unpacked_destroy(&u);
}

/* PUT /v1/agent/token/<kind>: raftd took it, or says why not. */
struct token_set {
	char	 kind[32];
	char	*token;
};

static void
token_set_free(void *arg)
{
	struct token_set	*ts = arg;

	if (ts->token != NULL)
		freezero(ts->token, strlen(ts->token));
	free(ts);
}

static void
token_set_done(struct request *r, struct imsg *imsg)
{
	struct token_set	*ts = r->ctx;
	msgpack_unpacked	 u;
	char			 err[256];

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_MAP ||
	    mpack_copy_str(mpack_map_get(&u.data, "error"), err,
	    sizeof(err)) == -1)
		fatalx("acl: malformed token answer from raftd");
	msgpack_unpacked_destroy(&u);
	if (err[0] != '\0') {
		http_error(r->req, 500, err);
		return;
	}
	if (strcmp(ts->kind, "default") == 0) {
		if (default_override != NULL)
			freezero(default_override, strlen(default_override));
		default_override = ts->token;
		ts->token = NULL;
	}
	http_reply_text(r->req, 200, NULL, NULL, 0);
}

static int
token_kind(const char *k)
{
	return strcmp(k, "default") == 0 || strcmp(k, "agent") == 0 ||
	    strcmp(k, "agent_recovery") == 0 ||
	    strcmp(k, "agent_master") == 0 ||
	    strcmp(k, "acl_agent_master_token") == 0 ||
	    strcmp(k, "acl_token") == 0 ||
	    strcmp(k, "acl_agent_token") == 0 ||
	    strcmp(k, "replication") == 0 ||
	    strcmp(k, "acl_replication_token") == 0 ||
	    strcmp(k, "dns") == 0 ||
	    strcmp(k, "config_file_service_registration") == 0;
}

/* Consul's legacy names of the kinds, and agent_master. */
static const char *
token_kind_name(const char *k)
{
	if (strcmp(k, "acl_token") == 0)
		return "default";
	if (strcmp(k, "acl_agent_token") == 0)
		return "agent";
	if (strcmp(k, "agent_master") == 0 ||
	    strcmp(k, "acl_agent_master_token") == 0)
		return "agent_recovery";
	if (strcmp(k, "acl_replication_token") == 0)
		return "replication";
	return k;
}

static void
token_put(struct evhttp_request *req, const char *path,
    struct acl_authz *a)
{
	struct evbuffer		*body = evhttp_request_get_input_buffer(req);
	struct token_set	*ts;
	struct request		*r;
	struct mpack_out	 out;
	json_error_t		 jerr;
	json_t			*o, *t;
	const char		*kind = path + strlen(AGENT_TOKEN_PREFIX);
	size_t			 len = evbuffer_get_length(body);

	if (!token_kind(kind)) {
		http_error(req, 404, "Unknown token type");
		return;
	}
	if (len > AGENT_TOKEN_BODY_MAX) {
		http_error(req, 413, "Request body too large");
		return;
	}
	if ((o = json_loadb((const char *)evbuffer_pullup(body, -1), len, 0,
	    &jerr)) == NULL || !json_is_object(o)) {
		json_decref(o);
		http_error(req, 400, "Request decode failed: not a JSON "
		    "object");
		return;
	}
	t = json_object_get(o, "Token");
	if (t != NULL && !json_is_string(t)) {
		json_decref(o);
		http_error(req, 400, "Request decode failed: Token must be a "
		    "string");
		return;
	}
	if ((ts = calloc(1, sizeof(*ts))) == NULL ||
	    (ts->token = strdup(t != NULL ? json_string_value(t) : "")) ==
	    NULL || strlen(ts->token) > ACL_STR_MAX ||
	    (r = request_new(req, token_set_done)) == NULL) {
		json_decref(o);
		if (ts != NULL)
			token_set_free(ts);
		http_error(req, 500, "cannot set the token");
		return;
	}
	json_decref(o);
	strlcpy(ts->kind, token_kind_name(kind), sizeof(ts->kind));
	r->ctx = ts;
	r->ctx_free = token_set_free;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	mpack_str(&out.pk, ts->kind);
	mpack_str(&out.pk, ts->token);
	request_send(r, IMSG_AGENT_TOKEN_SET, out.sbuf.data, out.sbuf.size);
	explicit_bzero(out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

/* PUT /v1/agent/token/<kind> {"Token": ...}: acl:write. */
void
agent_token_handler(struct evhttp_request *req, const char *path)
{
	acl_agent_gate(req, path, ACL_RES_ACL, NULL, ACL_LEVEL_WRITE,
	    token_put);
}
