/*
 * ACLs in raftd: the reads of the ACL endpoints (served through the catalog's
 * read path, so they forward, hold and block like catalog reads), the
 * leader's part of a bootstrap (the reset index an operator wrote into
 * data_dir/acl-bootstrap-reset), and the built-in policy and anonymous
 * token, which a leader proposes when it finds them missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acl_codec.h"
#include "acl_resolve.h"
#include "acl_state.h"
#include "catalog_state.h"
#include "config.h"
#include "log.h"
#include "raftd.h"

#define ACL_BOOTSTRAP_RESET	"acl-bootstrap-reset"

/* Cached resolutions: bounded, so random secrets cost fixed memory. */
#define ACL_CACHE_TOKENS	4096
#define ACL_CACHE_MISSING	1024

/* The index of the built-ins' entry while it is not yet applied. */
static uint64_t	 builtins_pending;
static struct acl_resolver *resolver;
/* The ACL tables' epoch as of the applied index epoch_applied. */
static uint64_t	 epoch, epoch_applied;
static int	 epoch_known;

uint64_t
acl_query_index(int query)
{
	switch (query) {
	case CAT_Q_ACL_TOKEN:
	case CAT_Q_ACL_TOKEN_SECRET:
	case CAT_Q_ACL_TOKENS:
		return cat_state_index(&raftd.store, ACL_TOKENS_TABLE);
	case CAT_Q_ACL_POLICY:
	case CAT_Q_ACL_POLICY_NAME:
	case CAT_Q_ACL_POLICIES:
		return cat_state_index(&raftd.store, ACL_POLICIES_TABLE);
	default:
		return cat_state_index(&raftd.store, ACL_ROLES_TABLE);
	}
}

int
acl_query_is(int query)
{
	return (query >= CAT_Q_ACL_TOKEN && query <= CAT_Q_ACL_ROLES) ||
	    query == CAT_Q_ACL_REPLICATION;
}

/* [[id, name]...] as pack_links() makes it. */
static int
links_valid(const msgpack_object *o)
{
	const msgpack_object	*l;
	char			 buf[ACL_STR_MAX + 1];
	uint32_t		 i;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size >
	    ACL_LIST_MAX)
		return -1;
	for (i = 0; i < o->via.array.size; i++) {
		l = &o->via.array.ptr[i];
		if (l->type != MSGPACK_OBJECT_ARRAY ||
		    l->via.array.size != 2 ||
		    mpack_copy_str(&l->via.array.ptr[0], buf,
		    sizeof(buf)) == -1 ||
		    mpack_copy_str(&l->via.array.ptr[1], buf,
		    sizeof(buf)) == -1)
			return -1;
	}
	return 0;
}

/* A CAT_Q_ACL_REPLICATION item, as repl_status_pack() makes it. */
static int
repl_status_valid(const msgpack_object *o)
{
	const msgpack_object	*a = o->via.array.ptr;
	char			 buf[192];
	uint64_t		 v;
	int			 b, i;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 10 ||
	    mpack_get_bool(&a[0], &b) == -1 ||
	    mpack_get_bool(&a[1], &b) == -1 ||
	    mpack_copy_str(&a[2], buf, 64) == -1 ||
	    mpack_copy_str(&a[3], buf, 16) == -1 ||
	    mpack_copy_str(&a[9], buf, sizeof(buf)) == -1)
		return -1;
	for (i = 4; i < 9; i++)
		if (mpack_get_uint(&a[i], &v) == -1)
			return -1;
	return 0;
}

static void
repl_status_pack(msgpack_packer *pk)
{
	struct acl_repl_status	 st;

	acl_replication_status(&st);
	msgpack_pack_array(pk, 10);
	if (st.enabled)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	if (st.running)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	mpack_str(pk, st.source_dc);
	mpack_str(pk, st.type);
	msgpack_pack_uint64(pk, st.index);
	msgpack_pack_uint64(pk, st.role_index);
	msgpack_pack_uint64(pk, st.token_index);
	msgpack_pack_uint64(pk, st.last_success);
	msgpack_pack_uint64(pk, st.last_error);
	mpack_str(pk, st.last_error_msg);
}

/*
 * An item of an ACL query forwarded back from a server, checked as
 * apid checks it: 0, or -1.
 */
int
acl_item_valid(const msgpack_object *o, int query)
{
	const msgpack_object	*a = o->via.array.ptr;
	struct acl_token	 t;
	struct acl_policy	 p;
	struct acl_role		 r;

	switch (query) {
	case CAT_Q_ACL_TOKEN:
	case CAT_Q_ACL_TOKEN_SECRET:
	case CAT_Q_ACL_TOKENS:
		if (o->type != MSGPACK_OBJECT_ARRAY ||
		    o->via.array.size != 3 || acl_token_unpack(&a[0], &t) == -1)
			return -1;
		acl_token_free(&t);
		return links_valid(&a[1]) == 0 && links_valid(&a[2]) == 0 ?
		    0 : -1;
	case CAT_Q_ACL_POLICY:
	case CAT_Q_ACL_POLICY_NAME:
	case CAT_Q_ACL_POLICIES:
		if (acl_policy_unpack(o, &p) == -1)
			return -1;
		acl_policy_free(&p);
		return 0;
	case CAT_Q_ACL_ROLE:
	case CAT_Q_ACL_ROLE_NAME:
	case CAT_Q_ACL_ROLES:
		if (o->type != MSGPACK_OBJECT_ARRAY ||
		    o->via.array.size != 2 || acl_role_unpack(&a[0], &r) == -1)
			return -1;
		acl_role_free(&r);
		return links_valid(&a[1]);
	case CAT_Q_ACL_REPLICATION:
		return repl_status_valid(o);
	}
	return -1;
}


int
acl_enabled(void)
{
	return raftd_child.conf->acl.enabled;
}

/*
 * The token DNS answers under: acl.tokens.dns, else acl.tokens.default,
 * else "" (anonymous).  Read at each use: the agent token API may set
 * it while the agent runs.
 */
const char *
acl_dns_token(void)
{
	const char	*v = acl_token("dns");

	return *v != '\0' ? v : acl_token("default");
}

/*
 * The authorizer of a secret ("" or NULL: anonymous) from this
 * datacenter's tables alone, good until the next call: 0 and *out, or
 * 1 with err "ACL not found".
 */
int
acl_authz_local(const char *secret, const struct acl_authz **out,
    char *err, size_t errlen)
{
	const struct config	*c = raftd_child.conf;
	int			 rc;

	if (resolver == NULL && (resolver = acl_resolver_new(
	    ACL_CACHE_TOKENS, ACL_CACHE_MISSING, c->acl.token_ttl / 1000000,
	    c->acl.default_policy != NULL &&
	    strcmp(c->acl.default_policy, "allow") == 0)) == NULL)
		fatal("acl");
	/*
	 * The ACL tables change only by applying entries: their epoch is
	 * read again only once more have been applied.
	 */
	if (!epoch_known || epoch_applied != raftd.applied) {
		epoch = acl_epoch(&raftd.store);
		epoch_applied = raftd.applied;
		epoch_known = 1;
	}
	rc = acl_resolve(resolver, &raftd.store, c->datacenter,
	    secret != NULL ? secret : "", acl_wall_ns(), node_now_ms(), epoch,
	    out);
	if (rc == -1)
		fatalx("acl: cannot read the ACL tables");
	if (rc == 1) {
		strlcpy(err, "ACL not found", errlen);
		return 1;
	}
	return 0;
}

/*
 * The same, and in a secondary datacenter that does not replicate
 * tokens, what the primary said of one this one does not have
 * (acl_agent.c asks it before the request is served).
 */
int
acl_authz_get(const char *secret, const struct acl_authz **out, char *err,
    size_t errlen)
{
	if (acl_authz_local(secret, out, err, errlen) == 0)
		return 0;
	if (acl_remote_mode() && acl_remote_cached(secret != NULL ? secret :
	    "", out) == 0)
		return 0;
	return 1;
}

/*
 * CAT_Q_ACL_RESOLVE, for a client agent (dc "-") or a server of
 * datacenter dc that does not replicate tokens: [packed authorizer] of
 * the secret, or *found cleared; 0, or -1 on a store error.
 */
int
acl_resolve_emit(const char *secret, const char *dc, void (*emit)(void *,
    struct mpack_out *), void *ctx, int *found)
{
	const struct config	*c = raftd_child.conf;
	const struct acl_authz	*a;
	struct acl_authz	 remote;
	struct mpack_out	 out;
	char			 err[64];
	int			 rc;

	static const struct acl_authz	 all = { NULL, 1, 1, "" };

	*found = 0;
	memset(&remote, 0, sizeof(remote));
	if (!acl_enabled())
		a = &all;	/* a client with ACLs, servers without */
	else if (strcmp(dc, "-") != 0 && strcmp(dc, c->datacenter) != 0) {
		/* Not cached: it is compiled for the other datacenter. */
		if ((rc = acl_resolve_for_dc(&raftd.store, dc, secret,
		    acl_wall_ns(), c->acl.default_policy != NULL &&
		    strcmp(c->acl.default_policy, "allow") == 0,
		    &remote)) != 0)
			return rc == 1 ? 0 : -1;
		a = &remote;
	} else if (acl_authz_get(secret, &a, err, sizeof(err)) != 0)
		return 0;
	*found = 1;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 1);
	acl_authz_pack(&out.pk, a);
	emit(ctx, &out);	/* frees out */
	acl_rules_free(remote.rules);
	return 0;
}

/*
 * Whether the caller's secret grants access (level) to the ACL system:
 * 0, or 1 with err (acl_denied's refusal, or "ACL not found").
 */
static int
acl_check(const char *secret, enum acl_level level, char *err,
    size_t errlen)
{
	const struct acl_authz	*a;

	if (acl_authz_get(secret, &a, err, errlen) != 0)
		return 1;
	if (!acl_allowed(a, ACL_RES_ACL, NULL, level)) {
		acl_denied(err, errlen, a, ACL_RES_ACL, NULL, level);
		return 1;
	}
	return 0;
}

/*
 * An ACL read: acl:read, except the token's own (token/self) and the
 * replication status, which tells nothing secret (Consul asks no token
 * for it, so that health checks can read it).
 */
int
acl_check_query(int query, const char *secret, char *err, size_t errlen)
{
	if (query == CAT_Q_ACL_TOKEN_SECRET || query == CAT_Q_ACL_REPLICATION)
		return 0;
	return acl_check(secret, ACL_LEVEL_READ, err, errlen);
}

/* An ACL write: acl:write, except a bootstrap. */
int
acl_check_write(const void *buf, size_t len, const char *secret, char *err,
    size_t errlen)
{
	msgpack_unpacked	 u;
	const msgpack_object	*cmd;
	uint64_t		 op = 0;

	if (mpack_parse(&u, buf, len) == -1)
		return acl_check(secret, ACL_LEVEL_WRITE, err, errlen);
	if (u.data.type == MSGPACK_OBJECT_ARRAY &&
	    u.data.via.array.size >= 2) {
		cmd = &u.data.via.array.ptr[1];
		if (cmd->type == MSGPACK_OBJECT_ARRAY &&
		    cmd->via.array.size == 3)
			(void)mpack_get_uint(&cmd->via.array.ptr[0], &op);
	}
	msgpack_unpacked_destroy(&u);
	if (op == ACL_OP_BOOTSTRAP)
		return 0;
	return acl_check(secret, ACL_LEVEL_WRITE, err, errlen);
}

/*
 * CAT_Q_ACL_CHECK: whether the secret grants the right that arg names,
 * "<resource> <level> <name>"; err is "" or the refusal.
 */
void
acl_check_arg(const char *secret, const char *arg, char *err,
    size_t errlen)
{
	const struct acl_authz	*az;
	unsigned long		 res, level = 0;
	char			*end;

	err[0] = '\0';
	if (!acl_enabled())
		return;
	res = strtoul(arg, &end, 10);
	if (*end == ' ')
		level = strtoul(end + 1, &end, 10);
	if (*end != ' ' || res >= ACL_RES_MAX || level < ACL_LEVEL_READ ||
	    level > ACL_LEVEL_WRITE) {
		strlcpy(err, "Bad request: malformed ACL check", errlen);
		return;
	}
	if (acl_authz_get(secret, &az, err, errlen) == 0 &&
	    !acl_allowed(az, res, end + 1, level))
		acl_denied(err, errlen, az, res, end + 1, level);
}

/* What a read emits with, and where. */
struct acl_emit {
	void	(*emit)(void *, struct mpack_out *);
	void	 *ctx;
	int	  hide;	/* SecretIDs as "<hidden>" */
};

/* [[id, name]...] of the policies (or roles) that still exist. */
static int
pack_links(msgpack_packer *pk, char *const *ids, size_t n, int roles)
{
	struct mpack_out	 l;
	struct acl_policy	 p;
	struct acl_role		 r;
	size_t			 i, have = 0;
	int			 rc;

	mpack_out_init(&l);
	for (i = 0; i < n; i++) {
		rc = roles ? acl_state_role_get(&raftd.store, NULL, ids[i], &r) :
		    acl_state_policy_get(&raftd.store, NULL, ids[i], &p);
		if (rc == -1) {
			mpack_out_free(&l);
			return -1;
		}
		if (rc == 1)
			continue;
		msgpack_pack_array(&l.pk, 2);
		mpack_str(&l.pk, ids[i]);
		mpack_str(&l.pk, roles ? r.name : p.name);
		if (roles)
			acl_role_free(&r);
		else
			acl_policy_free(&p);
		have++;
	}
	msgpack_pack_array(pk, have);
	msgpack_sbuffer_write(pk->data, l.sbuf.data, l.sbuf.size);
	mpack_out_free(&l);
	return 0;
}

static int
emit_token(void *arg, const struct acl_token *t)
{
	struct acl_emit		*e = arg;
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	if (e->hide) {
		struct acl_token	 h = *t;

		h.secret = ACL_SECRET_HIDDEN;
		acl_token_pack(&out.pk, &h);
	} else
		acl_token_pack(&out.pk, t);
	if (pack_links(&out.pk, t->policies, t->npolicies, 0) == -1 ||
	    pack_links(&out.pk, t->roles, t->nroles, 1) == -1) {
		mpack_out_free(&out);
		return -1;
	}
	e->emit(e->ctx, &out);
	return 0;
}

static int
emit_policy(void *arg, const struct acl_policy *p)
{
	struct acl_emit		*e = arg;
	struct mpack_out	 out;

	mpack_out_init(&out);
	acl_policy_pack(&out.pk, p);
	e->emit(e->ctx, &out);
	return 0;
}

static int
emit_role(void *arg, const struct acl_role *r)
{
	struct acl_emit		*e = arg;
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	acl_role_pack(&out.pk, r);
	if (pack_links(&out.pk, r->policies, r->npolicies, 0) == -1) {
		mpack_out_free(&out);
		return -1;
	}
	e->emit(e->ctx, &out);
	return 0;
}

/*
 * Answer an ACL query through emit, which takes and frees each item;
 * *found is cleared when a single object is not there.  0 or -1.
 */
int
acl_read(int query, const char *arg, const char *secret, void (*emit)(void *,
    struct mpack_out *), void *ctx, int *found)
{
	struct acl_emit		 e = { emit, ctx, 0 };
	const struct acl_authz	*az;
	char			 err[ACL_DENIED_MAX];
	struct acl_token	 t;
	struct acl_policy	 p;
	struct acl_role		 r;
	struct store		*s = &raftd.store;
	struct mpack_out	 out;
	int			 rc;

	*found = 1;
	/*
	 * As Consul: a token's SecretID is shown only to acl:write (and to
	 * the token itself, token/self); acl:read sees "<hidden>".
	 */
	if ((query == CAT_Q_ACL_TOKEN || query == CAT_Q_ACL_TOKENS) &&
	    acl_enabled())
		e.hide = acl_authz_get(secret, &az, err, sizeof(err)) != 0 ||
		    !acl_allowed(az, ACL_RES_ACL, NULL, ACL_LEVEL_WRITE);
	switch (query) {
	case CAT_Q_ACL_REPLICATION:
		mpack_out_init(&out);
		repl_status_pack(&out.pk);
		emit(ctx, &out);
		return 0;
	case CAT_Q_ACL_TOKENS:
		return acl_state_token_list(s, emit_token, &e);
	case CAT_Q_ACL_POLICIES:
		return acl_state_policy_list(s, emit_policy, &e);
	case CAT_Q_ACL_ROLES:
		return acl_state_role_list(s, emit_role, &e);
	case CAT_Q_ACL_TOKEN:
	case CAT_Q_ACL_TOKEN_SECRET:
		rc = query == CAT_Q_ACL_TOKEN ?
		    acl_state_token_get(s, NULL, arg, &t) :
		    acl_state_token_by_secret(s, NULL, arg, &t);
		/* An expired token is not the caller's any more. */
		if (rc == 0 && query == CAT_Q_ACL_TOKEN_SECRET &&
		    t.expiration_time != 0 && t.expiration_time <= acl_wall_ns()) {
			acl_token_free(&t);
			rc = 1;
		}
		if (rc == 0) {
			rc = emit_token(&e, &t);
			acl_token_free(&t);
		}
		break;
	case CAT_Q_ACL_POLICY:
	case CAT_Q_ACL_POLICY_NAME:
		rc = query == CAT_Q_ACL_POLICY ?
		    acl_state_policy_get(s, NULL, arg, &p) :
		    acl_state_policy_by_name(s, NULL, arg, &p);
		if (rc == 0) {
			rc = emit_policy(&e, &p);
			acl_policy_free(&p);
		}
		break;
	case CAT_Q_ACL_ROLE:
	case CAT_Q_ACL_ROLE_NAME:
		rc = query == CAT_Q_ACL_ROLE ?
		    acl_state_role_get(s, NULL, arg, &r) :
		    acl_state_role_by_name(s, NULL, arg, &r);
		if (rc == 0) {
			rc = emit_role(&e, &r);
			acl_role_free(&r);
		}
		break;
	default:
		return -1;
	}
	if (rc == 1) {
		*found = 0;
		rc = 0;
	}
	return rc;
}

/*
 * The reset index an operator wrote into data_dir (raftd's working
 * directory), or 0.  Consul's file holds the index as decimal text.
 */
static uint64_t
bootstrap_reset_index(void)
{
	char		 buf[32], *end;
	ssize_t		 n;
	uint64_t	 v;
	int		 fd;

	if ((fd = open(ACL_BOOTSTRAP_RESET, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("acl: %s", ACL_BOOTSTRAP_RESET);
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	while (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t')
		end++;
	if (errno != 0 || end == buf || *end != '\0') {
		log_warnx("acl: %s: not an index", ACL_BOOTSTRAP_RESET);
		return 0;
	}
	return v;
}

/* Appends the IDs of the named policies (or roles) to ids; 0, 1, -1. */
static int
resolve_names(char ***ids, size_t *nids, char **names, size_t nnames,
    int roles, char *err, size_t errlen)
{
	struct acl_policy	 p;
	struct acl_role		 r;
	char			**v, *id;
	size_t			 i;
	int			 rc;

	for (i = 0; i < nnames; i++) {
		rc = roles ? acl_state_role_by_name(&raftd.store, NULL,
		    names[i], &r) : acl_state_policy_by_name(&raftd.store,
		    NULL, names[i], &p);
		if (rc == -1)
			return -1;
		if (rc == 1) {
			snprintf(err, errlen, "No such ACL %s with name: %.64s",
			    roles ? "role" : "policy", names[i]);
			return 1;
		}
		id = roles ? r.id : p.id;
		if (roles)
			r.id = NULL;
		else
			p.id = NULL;
		if (roles)
			acl_role_free(&r);
		else
			acl_policy_free(&p);
		if ((v = reallocarray(*ids, *nids + 1, sizeof(*v))) == NULL)
			fatal("acl");
		*ids = v;
		v[(*nids)++] = id;
	}
	return 0;
}

static void
drop_names(char ***names, size_t *n)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		free((*names)[i]);
	free(*names);
	*names = NULL;
	*n = 0;
}

/* An update that gives no SecretID keeps the one the token has. */
static int
token_prepare(struct acl_token *t, char *err, size_t errlen)
{
	struct acl_token	 old;
	int			 rc;

	if ((rc = resolve_names(&t->policies, &t->npolicies,
	    t->policy_names, t->npolicy_names, 0, err, errlen)) != 0 ||
	    (rc = resolve_names(&t->roles, &t->nroles, t->role_names,
	    t->nrole_names, 1, err, errlen)) != 0)
		return rc;
	drop_names(&t->policy_names, &t->npolicy_names);
	drop_names(&t->role_names, &t->nrole_names);
	if (t->secret != NULL && *t->secret != '\0')
		return 0;
	if ((rc = acl_state_token_get(&raftd.store, NULL, t->accessor,
	    &old)) == -1)
		return -1;
	if (rc == 1) {
		snprintf(err, errlen, "Cannot find token %.64s",
		    t->accessor);
		return 1;
	}
	free(t->secret);
	t->secret = old.secret;
	old.secret = NULL;
	acl_token_free(&old);
	return 0;
}

/*
 * Whether an ACL write (a CAT_WRITE_ACL request) belongs to the primary
 * datacenter: policies, roles and global tokens live there, and a
 * secondary sends their writes on.  A local token stays here; so does
 * the delete of one we have.
 */
int
acl_write_global(const void *buf, size_t len)
{
	msgpack_unpacked	 u;
	const msgpack_object	*cmd;
	struct acl_token	 t;
	char			 id[ACL_STR_MAX + 1];
	uint64_t		 op = 0;
	int			 global = 1, rc;

	if (mpack_parse(&u, buf, len) == -1)
		return 0;
	if (u.data.type != MSGPACK_OBJECT_ARRAY ||
	    u.data.via.array.size < 2 ||
	    (cmd = &u.data.via.array.ptr[1])->type != MSGPACK_OBJECT_ARRAY ||
	    cmd->via.array.size != 3 ||
	    mpack_get_uint(&cmd->via.array.ptr[0], &op) == -1) {
		msgpack_unpacked_destroy(&u);
		return 0;	/* the handler refuses it */
	}
	if (op == ACL_OP_TOKEN_SET &&
	    acl_token_unpack(&cmd->via.array.ptr[1], &t) == 0) {
		global = !t.local;
		acl_token_free(&t);
	} else if (op == ACL_OP_TOKEN_DELETE && mpack_copy_str(
	    &cmd->via.array.ptr[1], id, sizeof(id)) == 0) {
		rc = acl_state_token_get(&raftd.store, NULL, id, &t);
		if (rc == 0) {
			global = !t.local;
			acl_token_free(&t);
		}
	}
	msgpack_unpacked_destroy(&u);
	return global;
}

/*
 * Leader: a CAT_WRITE_ACL about to be proposed.  Links by name become
 * IDs, an update without a SecretID keeps the token's, and a bootstrap
 * gets the reset index.  The command to propose is put in out (the
 * caller frees it).  0; 1 refused, with err; -1 if it does not decode.
 */
int
acl_write_prepare(const void *buf, size_t len, struct mpack_out *out,
    char *err, size_t errlen)
{
	msgpack_unpacked	 u;
	const msgpack_object	*cmd, *a;
	struct acl_token	 t;
	struct acl_role		 r;
	uint64_t		 op, n;
	int			 rc = -1;

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	/* [CAT_WRITE_ACL, cmd] or, from apid, [..., cmd, token]. */
	if (u.data.type != MSGPACK_OBJECT_ARRAY ||
	    (u.data.via.array.size != 2 && u.data.via.array.size != 3))
		goto done;
	cmd = &u.data.via.array.ptr[1];
	if (cmd->type != MSGPACK_OBJECT_ARRAY || cmd->via.array.size != 3)
		goto done;
	a = cmd->via.array.ptr;
	if (mpack_get_uint(&a[0], &op) == -1 ||
	    mpack_get_uint(&a[2], &n) == -1)
		goto done;
	mpack_out_init(out);
	msgpack_pack_array(&out->pk, 2);
	msgpack_pack_uint8(&out->pk, CAT_WRITE_ACL);
	switch (op) {
	case ACL_OP_BOOTSTRAP:
	case ACL_OP_TOKEN_SET:
		if (acl_token_unpack(&a[1], &t) == -1)
			break;
		if ((rc = token_prepare(&t, err, errlen)) == 0)
			acl_cmd_pack(&out->pk, op, &t, op == ACL_OP_BOOTSTRAP ?
			    bootstrap_reset_index() : n);
		acl_token_free(&t);
		break;
	case ACL_OP_ROLE_SET:
		if (acl_role_unpack(&a[1], &r) == -1)
			break;
		if ((rc = resolve_names(&r.policies, &r.npolicies,
		    r.policy_names, r.npolicy_names, 0, err, errlen)) == 0) {
			drop_names(&r.policy_names, &r.npolicy_names);
			acl_cmd_pack(&out->pk, op, &r, n);
		}
		acl_role_free(&r);
		break;
	default:
		msgpack_pack_object(&out->pk, *cmd);
		rc = 0;
		break;
	}
	if (rc != 0)
		mpack_out_free(out);
 done:
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* The wall clock in ns since the epoch, as ACL times are kept. */
uint64_t
acl_wall_ns(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal("clock_gettime");
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * acl.tokens.initial_management (or its old name, master): a management
 * token with that secret, made by the leader when no token has it.
 */
static void
initial_management(struct raftd *r)
{
	struct mpack_out	 rec;
	struct acl_token	 t;
	const char		*secret = r->child->conf->acl.tokens.
				    initial_management;
	char			 accessor[37], *mgmt[] = {
				    (char *)ACL_GLOBAL_MANAGEMENT_ID };
	unsigned char		 b[16];
	uint64_t		 done;
	int			 rc;

	/* Only the primary datacenter makes tokens of its own. */
	if (secret == NULL || *secret == '\0' ||
	    strlen(secret) > ACL_STR_MAX || (r->child->conf->primary_datacenter
	    != NULL && strcmp(r->child->conf->primary_datacenter,
	    r->child->conf->datacenter) != 0))
		return;
	if ((rc = acl_state_token_by_secret(&r->store, NULL, secret,
	    &t)) != 1) {
		if (rc == 0)
			acl_token_free(&t);
		return;
	}
	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(accessor, sizeof(accessor), "%02x%02x%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
	    b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	    b[13], b[14], b[15]);
	memset(&t, 0, sizeof(t));
	t.accessor = accessor;
	t.secret = (char *)secret;
	t.description = "Initial Management Token";
	t.policies = mgmt;
	t.npolicies = 1;
	t.create_time = acl_wall_ns();
	/* As in Consul, it takes the bootstrap if that is still open. */
	if (acl_state_bootstrap_index(&r->store, NULL, &done) == -1)
		return;
	mpack_out_init(&rec);
	acl_cmd_pack(&rec.pk, done == 0 ? ACL_OP_BOOTSTRAP : ACL_OP_TOKEN_SET,
	    &t, 0);
	if ((builtins_pending = cat_propose(r, CAT_WRITE_ACL, &rec)) != 0)
		log_info("acl: creating the initial management token");
	mpack_out_free(&rec);
}

/*
 * Every second on every server: a leader whose state is current and
 * lacks the built-ins, or the initial management token, proposes them
 * (once per entry in flight).
 */
void
acl_leader_check(struct raftd *r)
{
	struct mpack_out	 rec;
	struct acl_policy	 p;
	struct acl_token	 t;
	int			 rp, rt;

	if (!r->child->conf->acl.enabled || !node_is_leader(r) ||
	    r->stalled || !raft_committed_in_term(r->raft) ||
	    r->applied < raft_commit_index(r->raft) ||
	    r->applied < builtins_pending)
		return;
	rp = acl_state_policy_get(&r->store, NULL, ACL_GLOBAL_MANAGEMENT_ID,
	    &p);
	rt = acl_state_token_get(&r->store, NULL, ACL_ANONYMOUS_ID, &t);
	if (rp == 0)
		acl_policy_free(&p);
	if (rt == 0)
		acl_token_free(&t);
	if (rp == -1 || rt == -1)
		return;
	if (rp == 0 && rt == 0) {
		initial_management(r);
		return;
	}
	mpack_out_init(&rec);
	acl_cmd_pack(&rec.pk, ACL_OP_BUILTINS, NULL, acl_wall_ns());
	if ((builtins_pending = cat_propose(r, CAT_WRITE_ACL, &rec)) != 0)
		log_info("acl: creating the built-in policy and anonymous "
		    "token");
	mpack_out_free(&rec);
}

/*
 * Send an ACL write on to the primary datacenter, as apid sends a ?dc=
 * request: [dc, IMSG_CAT_WRITE, bin] in an IMSG_DC_REQ.
 */
void
acl_write_to_primary(struct imsgev *iev, struct imsg *imsg)
{
	struct mpack_out	 out;
	struct imsg		 dc;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	mpack_str(&out.pk, raftd_child.conf->primary_datacenter);
	msgpack_pack_uint32(&out.pk, IMSG_CAT_WRITE);
	mpack_bin(&out.pk, imsg->data, imsg->len);
	dc = *imsg;
	dc.hdr.type = IMSG_DC_REQ;
	dc.data = out.sbuf.data;
	dc.len = out.sbuf.size;
	dc_request(iev, &dc);
	explicit_bzero(out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}
