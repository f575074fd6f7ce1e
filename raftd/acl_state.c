/*
 * ACL objects in the store (acl_state.h).  Everything here runs inside
 * the FSM or reads outside it, so every decision depends only on the
 * state and the command: times come in the command, never from a clock.
 */
#include <stdlib.h>
#include <string.h>

#include "acl_state.h"
#include "catalog_table.h"
#include "log.h"

/* Which table a generic walk or lookup works on. */
struct acl_kind {
	enum cat_kind	 kind;
	const char	*table;
	size_t		 size;		/* of the record */
	size_t		 name_off;	/* of its unique name, if any */
	size_t		 id_off;
};

static const struct acl_kind kind_policy = {
	CAT_ACL_POLICY, ACL_POLICIES_TABLE, sizeof(struct acl_policy),
	offsetof(struct acl_policy, name), offsetof(struct acl_policy, id)
};
static const struct acl_kind kind_role = {
	CAT_ACL_ROLE, ACL_ROLES_TABLE, sizeof(struct acl_role),
	offsetof(struct acl_role, name), offsetof(struct acl_role, id)
};

#define REC_STR(rec, off)	(*(char **)((char *)(rec) + (off)))

static DB *
acl_kind_db(struct store *s, const struct acl_kind *k)
{
	return k->kind == CAT_ACL_POLICY ? s->acl_policies : s->acl_roles;
}

static int
acl_get_by_id(struct store *s, DB_TXN *txn, enum cat_kind kind, DB *db,
    const char *id, void *rec)
{
	struct cat_key	 k;

	memset(rec, 0, kind == CAT_ACL_TOKEN ? sizeof(struct acl_token) :
	    kind == CAT_ACL_POLICY ? sizeof(struct acl_policy) :
	    sizeof(struct acl_role));
	if (id == NULL || tbl_key_make(&k, id, NULL, NULL) == -1)
		return 1;
	return tbl_rec_get(db, txn, kind, &k, rec);
}

/* A walk keeping the record with a name (other than skip's ID). */
struct acl_name_find {
	const struct acl_kind	*k;
	const char		*name;
	const char		*skip;
	void			*found;
	int			 have;
};

static int
acl_name_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct acl_name_find	*f = wk->ctx;
	const char		*name, *id;

	if (tbl_rec_decode(f->k->kind, v->data, v->size, f->found) == -1)
		return -1;
	name = REC_STR(f->found, f->k->name_off);
	id = REC_STR(f->found, f->k->id_off);
	if (name != NULL && strcmp(name, f->name) == 0 &&
	    (f->skip == NULL || strcmp(id, f->skip) != 0)) {
		f->have = 1;
		return 1;
	}
	tbl_rec_free(f->k->kind, f->found);
	return 0;
}

/* 0 found (in rec), 1 not, -1 error. */
static int
acl_find_name(struct store *s, DB_TXN *txn, const struct acl_kind *k,
    const char *name, const char *skip, void *rec)
{
	struct cat_walk		 wk;
	struct acl_name_find	 f = { k, name, skip, rec, 0 };

	memset(rec, 0, k->size);
	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.txn = txn;
	wk.ctx = &f;
	if (tbl_walk(acl_kind_db(s, k), txn, NULL, 0, acl_name_cb, &wk) == -1)
		return -1;
	return f.have ? 0 : 1;
}

/* Each ID in ids must name a record of kind; 0, 1 refused, -1. */
static int
acl_links_exist(struct store *s, DB_TXN *txn, const struct acl_kind *k,
    char *const *ids, size_t n, char *err, size_t errlen)
{
	struct cat_key	 key;
	size_t		 i;
	int		 rc;

	for (i = 0; i < n; i++) {
		if (tbl_key_make(&key, ids[i], NULL, NULL) == -1)
			rc = 1;
		else if ((rc = tbl_key_exists(acl_kind_db(s, k), txn,
		    &key)) == -1)
			return -1;
		if (rc == 1)
			return tbl_refuse(err, errlen, "No such ACL %s with "
			    "ID: %.64s", k->kind == CAT_ACL_POLICY ? "policy" :
			    "role", ids[i]);
	}
	return 0;
}

int
acl_state_token_get(struct store *s, DB_TXN *txn, const char *accessor,
    struct acl_token *t)
{
	return acl_get_by_id(s, txn, CAT_ACL_TOKEN, s->acl_tokens, accessor, t);
}

int
acl_state_token_by_secret(struct store *s, DB_TXN *txn, const char *secret,
    struct acl_token *t)
{
	DBT	 key, v;
	char	 accessor[ACL_STR_MAX + 1];
	int	 rc;

	memset(t, 0, sizeof(*t));
	if (secret == NULL || !tbl_str_ok(secret))
		return 1;
	tbl_dbt_set(&key, secret, strlen(secret));
	memset(&v, 0, sizeof(v));
	v.data = accessor;
	v.ulen = sizeof(accessor) - 1;
	v.flags = DB_DBT_USERMEM;
	if ((rc = s->acl_secrets->get(s->acl_secrets, txn, &key, &v,
	    0)) == DB_NOTFOUND)
		return 1;
	if (rc != 0)
		return tbl_db_fail("get secret", rc);
	accessor[v.size] = '\0';
	if ((rc = acl_state_token_get(s, txn, accessor, t)) != 0)
		return rc;
	/* The index led here; the token itself must agree. */
	if (!acl_secret_equal(t->secret, secret)) {
		acl_token_free(t);
		return 1;
	}
	return 0;
}

static int
acl_secret_put(struct store *s, DB_TXN *txn, const char *secret,
    const char *accessor)
{
	DBT	 key, v;
	int	 rc;

	tbl_dbt_set(&key, secret, strlen(secret));
	tbl_dbt_set(&v, accessor, strlen(accessor));
	if ((rc = s->acl_secrets->put(s->acl_secrets, txn, &key, &v, 0)) != 0)
		return tbl_db_fail("put secret", rc);
	return 0;
}

static int
acl_secret_del(struct store *s, DB_TXN *txn, const char *secret)
{
	DBT	 key;
	int	 rc;

	tbl_dbt_set(&key, secret, strlen(secret));
	rc = s->acl_secrets->del(s->acl_secrets, txn, &key, 0);
	if (rc != 0 && rc != DB_NOTFOUND)
		return tbl_db_fail("del secret", rc);
	return 0;
}

int
acl_state_token_set(struct store *s, DB_TXN *txn, uint64_t index,
    const struct acl_token *in, char *err, size_t errlen)
{
	struct acl_token	 t = *in, old, other;
	struct cat_key		 k;
	int			 rc, have;

	if (!tbl_str_ok(t.accessor) || !tbl_str_ok(t.secret) ||
	    tbl_key_make(&k, t.accessor, NULL, NULL) == -1)
		return tbl_refuse(err, errlen, "Invalid Token: AccessorID "
		    "and SecretID are required");
	if ((rc = acl_state_token_get(s, txn, t.accessor, &old)) == -1)
		return -1;
	have = rc == 0;
	if (have && !acl_secret_equal(old.secret, t.secret)) {
		acl_token_free(&old);
		return tbl_refuse(err, errlen, "Changing a token's SecretID "
		    "is not permitted");
	}
	if (!have) {
		if ((rc = acl_state_token_by_secret(s, txn, t.secret,
		    &other)) == -1)
			return -1;
		if (rc == 0) {
			acl_token_free(&other);
			return tbl_refuse(err, errlen, "Invalid Token: "
			    "SecretID is already in use");
		}
	}
	t.create_index = have ? old.create_index : index;
	t.modify_index = index;
	if (have && t.local != old.local) {
		acl_token_free(&old);
		return tbl_refuse(err, errlen, "Cannot toggle local mode of %s",
		    t.accessor);
	}
	if (have) {
		/* What the token was made with stays, its expiry too. */
		t.create_time = old.create_time;
		t.local = old.local;
		t.expiration_time = old.expiration_time;
		t.expiration_ttl = old.expiration_ttl;
		acl_token_free(&old);
	}
	if ((rc = acl_links_exist(s, txn, &kind_policy, t.policies, t.npolicies,
	    err, errlen)) != 0 ||
	    (rc = acl_links_exist(s, txn, &kind_role, t.roles, t.nroles, err,
	    errlen)) != 0)
		return rc;
	if (tbl_rec_put(s->acl_tokens, txn, CAT_ACL_TOKEN, &k, &t) == -1 ||
	    acl_secret_put(s, txn, t.secret, t.accessor) == -1 ||
	    tbl_index_bump(s, txn, ACL_TOKENS_TABLE, index) == -1)
		return -1;
	return 0;
}

int
acl_state_token_delete(struct store *s, DB_TXN *txn, uint64_t index,
    const char *accessor, char *err, size_t errlen)
{
	struct acl_token	 t;
	struct cat_key		 k;
	int			 rc;

	if (accessor != NULL && strcmp(accessor, ACL_ANONYMOUS_ID) == 0)
		return tbl_refuse(err, errlen, "Delete operation not "
		    "permitted on the anonymous token");
	if ((rc = acl_state_token_get(s, txn, accessor, &t)) == -1)
		return -1;
	if (rc == 1)
		return 0;
	rc = -1;
	if (tbl_key_make(&k, t.accessor, NULL, NULL) == 0 &&
	    tbl_key_del(s->acl_tokens, txn, &k) != -1 &&
	    acl_secret_del(s, txn, t.secret) == 0 &&
	    tbl_index_bump(s, txn, ACL_TOKENS_TABLE, index) == 0)
		rc = 0;
	acl_token_free(&t);
	return rc;
}

struct acl_list_ctx {
	enum cat_kind	 kind;
	int		(*fn)(void *, const void *);
	void		*arg;
	size_t		 size;
};

static int
acl_list_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct acl_list_ctx		*l = wk->ctx;
	union {
		struct acl_token	t;
		struct acl_policy	p;
		struct acl_role		r;
	}			 rec;
	int			 rc;

	memset(&rec, 0, sizeof(rec));
	if (tbl_rec_decode(l->kind, v->data, v->size, &rec) == -1)
		return -1;
	rc = l->fn(l->arg, &rec);
	tbl_rec_free(l->kind, &rec);
	return rc == -1 ? 1 : 0;
}

static int
acl_list_walk(struct store *s, DB *db, enum cat_kind kind, void *fn, void *arg)
{
	struct cat_walk	 wk;
	struct acl_list_ctx	 l;

	memset(&l, 0, sizeof(l));
	l.kind = kind;
	l.fn = (int (*)(void *, const void *))fn;
	l.arg = arg;
	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.ctx = &l;
	return tbl_walk(db, NULL, NULL, 0, acl_list_cb, &wk);
}

int
acl_state_token_list(struct store *s, acl_token_fn fn, void *arg)
{
	return acl_list_walk(s, s->acl_tokens, CAT_ACL_TOKEN, fn, arg);
}

int
acl_state_policy_get(struct store *s, DB_TXN *txn, const char *id,
    struct acl_policy *p)
{
	return acl_get_by_id(s, txn, CAT_ACL_POLICY, s->acl_policies, id, p);
}

int
acl_state_policy_by_name(struct store *s, DB_TXN *txn, const char *name,
    struct acl_policy *p)
{
	return acl_find_name(s, txn, &kind_policy, name, NULL, p);
}

static int
acl_strlist_same(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t	 i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

int
acl_state_policy_set(struct store *s, DB_TXN *txn, uint64_t index,
    const struct acl_policy *in, char *err, size_t errlen)
{
	struct acl_policy	 p = *in, old, other;
	struct cat_key		 k;
	int			 rc, have, same;

	if (!tbl_str_ok(p.id) || !tbl_str_ok(p.name) ||
	    tbl_key_make(&k, p.id, NULL, NULL) == -1)
		return tbl_refuse(err, errlen, "Invalid Policy: ID and Name "
		    "are required");
	if ((rc = acl_state_policy_get(s, txn, p.id, &old)) == -1)
		return -1;
	have = rc == 0;
	if (have && strcmp(p.id, ACL_GLOBAL_MANAGEMENT_ID) == 0) {
		same = strcmp(old.rules ? old.rules : "",
		    p.rules ? p.rules : "") == 0 &&
		    acl_strlist_same(old.dcs, old.ndcs, p.dcs, p.ndcs);
		if (!same) {
			acl_policy_free(&old);
			return tbl_refuse(err, errlen, "Changing the Rules "
			    "or Datacenters of the builtin global-management "
			    "policy is not permitted");
		}
	}
	if ((rc = acl_find_name(s, txn, &kind_policy, p.name, p.id,
	    &other)) == -1) {
		if (have)
			acl_policy_free(&old);
		return -1;
	}
	if (rc == 0) {
		acl_policy_free(&other);
		if (have)
			acl_policy_free(&old);
		return tbl_refuse(err, errlen, "Invalid Policy: A Policy "
		    "with Name \"%.64s\" already exists", p.name);
	}
	p.create_index = have ? old.create_index : index;
	p.modify_index = index;
	if (have)
		acl_policy_free(&old);
	if (tbl_rec_put(s->acl_policies, txn, CAT_ACL_POLICY, &k, &p) == -1 ||
	    tbl_index_bump(s, txn, ACL_POLICIES_TABLE, index) == -1)
		return -1;
	return 0;
}

int
acl_state_policy_delete(struct store *s, DB_TXN *txn, uint64_t index,
    const char *id, char *err, size_t errlen)
{
	struct cat_key	 k;
	int		 rc;

	if (id != NULL && strcmp(id, ACL_GLOBAL_MANAGEMENT_ID) == 0)
		return tbl_refuse(err, errlen, "Delete operation not "
		    "permitted on the builtin global-management policy");
	if (id == NULL || tbl_key_make(&k, id, NULL, NULL) == -1)
		return 0;
	if ((rc = tbl_key_del(s->acl_policies, txn, &k)) == -1)
		return -1;
	if (rc == 1)
		return 0;
	return tbl_index_bump(s, txn, ACL_POLICIES_TABLE, index);
}

int
acl_state_policy_list(struct store *s, acl_policy_fn fn, void *arg)
{
	return acl_list_walk(s, s->acl_policies, CAT_ACL_POLICY, fn, arg);
}

int
acl_state_role_get(struct store *s, DB_TXN *txn, const char *id,
    struct acl_role *r)
{
	return acl_get_by_id(s, txn, CAT_ACL_ROLE, s->acl_roles, id, r);
}

int
acl_state_role_by_name(struct store *s, DB_TXN *txn, const char *name,
    struct acl_role *r)
{
	return acl_find_name(s, txn, &kind_role, name, NULL, r);
}

int
acl_state_role_set(struct store *s, DB_TXN *txn, uint64_t index,
    const struct acl_role *in, char *err, size_t errlen)
{
	struct acl_role	 r = *in, old, other;
	struct cat_key	 k;
	int		 rc, have;

	if (!tbl_str_ok(r.id) || !tbl_str_ok(r.name) ||
	    tbl_key_make(&k, r.id, NULL, NULL) == -1)
		return tbl_refuse(err, errlen, "Invalid Role: ID and Name "
		    "are required");
	if ((rc = acl_find_name(s, txn, &kind_role, r.name, r.id,
	    &other)) == -1)
		return -1;
	if (rc == 0) {
		acl_role_free(&other);
		return tbl_refuse(err, errlen, "Invalid Role: A Role with "
		    "Name \"%.64s\" already exists", r.name);
	}
	if ((rc = acl_links_exist(s, txn, &kind_policy, r.policies, r.npolicies,
	    err, errlen)) != 0)
		return rc;
	if ((rc = acl_state_role_get(s, txn, r.id, &old)) == -1)
		return -1;
	have = rc == 0;
	r.create_index = have ? old.create_index : index;
	r.modify_index = index;
	if (have)
		acl_role_free(&old);
	if (tbl_rec_put(s->acl_roles, txn, CAT_ACL_ROLE, &k, &r) == -1 ||
	    tbl_index_bump(s, txn, ACL_ROLES_TABLE, index) == -1)
		return -1;
	return 0;
}

int
acl_state_role_delete(struct store *s, DB_TXN *txn, uint64_t index,
    const char *id, char *err, size_t errlen)
{
	struct cat_key	 k;
	int		 rc;

	if (id == NULL || tbl_key_make(&k, id, NULL, NULL) == -1)
		return 0;
	if ((rc = tbl_key_del(s->acl_roles, txn, &k)) == -1)
		return -1;
	if (rc == 1)
		return 0;
	return tbl_index_bump(s, txn, ACL_ROLES_TABLE, index);
}

int
acl_state_role_list(struct store *s, acl_role_fn fn, void *arg)
{
	return acl_list_walk(s, s->acl_roles, CAT_ACL_ROLE, fn, arg);
}

int
acl_state_builtins(struct store *s, DB_TXN *txn, uint64_t index,
    uint64_t now_ns)
{
	struct acl_policy	 p;
	struct acl_token	 t;
	char			 err[128];
	int			 rc;

	if ((rc = acl_state_policy_get(s, txn, ACL_GLOBAL_MANAGEMENT_ID,
	    &p)) == -1)
		return -1;
	if (rc == 0)
		acl_policy_free(&p);
	else {
		memset(&p, 0, sizeof(p));
		p.id = ACL_GLOBAL_MANAGEMENT_ID;
		p.name = ACL_GLOBAL_MANAGEMENT_NAME;
		p.description = "Builtin Policy that grants unlimited access";
		p.rules = "";
		if ((rc = acl_state_policy_set(s, txn, index, &p, err,
		    sizeof(err))) != 0) {
			/* Someone took the name: keep theirs, say so. */
			if (rc == 1)
				log_warnx("acl: %s", err);
			if (rc == -1)
				return -1;
		}
	}
	if ((rc = acl_state_token_get(s, txn, ACL_ANONYMOUS_ID, &t)) == -1)
		return -1;
	if (rc == 0) {
		acl_token_free(&t);
		return 0;
	}
	memset(&t, 0, sizeof(t));
	t.accessor = ACL_ANONYMOUS_ID;
	t.secret = ACL_ANONYMOUS_SECRET;
	t.description = "Anonymous Token";
	t.create_time = now_ns;
	if ((rc = acl_state_token_set(s, txn, index, &t, err,
	    sizeof(err))) == 1)
		log_warnx("acl: %s", err);
	return rc == -1 ? -1 : 0;
}

int
acl_state_bootstrap_index(struct store *s, DB_TXN *txn, uint64_t *index)
{
	return store_get_u64(s, s->tables, txn, ACL_BOOTSTRAP_TABLE, index);
}

int
acl_state_bootstrap(struct store *s, DB_TXN *txn, uint64_t index,
    uint64_t reset_index, const struct acl_token *t, char *err,
    size_t errlen)
{
	uint64_t	 done;
	int		 rc;

	if (acl_state_bootstrap_index(s, txn, &done) == -1)
		return -1;
	if (done != 0 && reset_index != done)
		return tbl_refuse(err, errlen, "ACL bootstrap no longer "
		    "allowed (reset index: %llu)", (unsigned long long)done);
	if ((rc = acl_state_token_set(s, txn, index, t, err, errlen)) != 0)
		return rc;
	return tbl_index_bump(s, txn, ACL_BOOTSTRAP_TABLE, index);
}

void
acl_cmd_pack(msgpack_packer *pk, enum acl_op op, const void *arg,
    uint64_t n)
{
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint8(pk, op);
	switch (op) {
	case ACL_OP_BOOTSTRAP:
	case ACL_OP_TOKEN_SET:
		acl_token_pack(pk, arg);
		break;
	case ACL_OP_POLICY_SET:
		acl_policy_pack(pk, arg);
		break;
	case ACL_OP_ROLE_SET:
		acl_role_pack(pk, arg);
		break;
	case ACL_OP_TOKEN_DELETE:
	case ACL_OP_POLICY_DELETE:
	case ACL_OP_ROLE_DELETE:
		mpack_str(pk, arg);
		break;
	case ACL_OP_BUILTINS:
		msgpack_pack_nil(pk);
		break;
	}
	msgpack_pack_uint64(pk, n);
}

int
acl_cmd_check(const msgpack_object *cmd)
{
	const msgpack_object	*a;
	struct acl_token	 t;
	struct acl_policy	 p;
	struct acl_role		 r;
	char			 id[ACL_STR_MAX + 1];
	uint64_t		 op, n;

	if (cmd->type != MSGPACK_OBJECT_ARRAY || cmd->via.array.size != 3)
		return -1;
	a = cmd->via.array.ptr;
	if (mpack_get_uint(&a[0], &op) == -1 ||
	    mpack_get_uint(&a[2], &n) == -1)
		return -1;
	switch (op) {
	case ACL_OP_BUILTINS:
		return a[1].type == MSGPACK_OBJECT_NIL ? 0 : -1;
	case ACL_OP_BOOTSTRAP:
	case ACL_OP_TOKEN_SET:
		if (acl_token_unpack(&a[1], &t) == -1)
			return -1;
		acl_token_free(&t);
		return 0;
	case ACL_OP_POLICY_SET:
		if (acl_policy_unpack(&a[1], &p) == -1)
			return -1;
		acl_policy_free(&p);
		return 0;
	case ACL_OP_ROLE_SET:
		if (acl_role_unpack(&a[1], &r) == -1)
			return -1;
		acl_role_free(&r);
		return 0;
	case ACL_OP_TOKEN_DELETE:
	case ACL_OP_POLICY_DELETE:
	case ACL_OP_ROLE_DELETE:
		return mpack_copy_str(&a[1], id, sizeof(id)) == 0 &&
		    id[0] != '\0' ? 0 : -1;
	}
	return -1;
}

int
acl_state_apply(struct store *s, DB_TXN *txn, uint64_t index,
    const msgpack_object *cmd, char *err, size_t errlen)
{
	const msgpack_object	*a;
	struct acl_token	 t;
	struct acl_policy	 p;
	struct acl_role		 r;
	char			 id[ACL_STR_MAX + 1];
	uint64_t		 op, n;
	int			 rc;

	if (cmd->type != MSGPACK_OBJECT_ARRAY || cmd->via.array.size != 3)
		goto malformed;
	a = cmd->via.array.ptr;
	if (mpack_get_uint(&a[0], &op) == -1 ||
	    mpack_get_uint(&a[2], &n) == -1)
		goto malformed;
	switch (op) {
	case ACL_OP_BUILTINS:
		return acl_state_builtins(s, txn, index, n);
	case ACL_OP_BOOTSTRAP:
	case ACL_OP_TOKEN_SET:
		if (acl_token_unpack(&a[1], &t) == -1)
			goto malformed;
		if (op == ACL_OP_BOOTSTRAP)
			rc = acl_state_bootstrap(s, txn, index, n, &t, err,
			    errlen);
		else
			rc = acl_state_token_set(s, txn, index, &t, err,
			    errlen);
		acl_token_free(&t);
		return rc;
	case ACL_OP_POLICY_SET:
		if (acl_policy_unpack(&a[1], &p) == -1)
			goto malformed;
		rc = acl_state_policy_set(s, txn, index, &p, err, errlen);
		acl_policy_free(&p);
		return rc;
	case ACL_OP_ROLE_SET:
		if (acl_role_unpack(&a[1], &r) == -1)
			goto malformed;
		rc = acl_state_role_set(s, txn, index, &r, err, errlen);
		acl_role_free(&r);
		return rc;
	case ACL_OP_TOKEN_DELETE:
	case ACL_OP_POLICY_DELETE:
	case ACL_OP_ROLE_DELETE:
		if (mpack_copy_str(&a[1], id, sizeof(id)) == -1)
			goto malformed;
		if (op == ACL_OP_TOKEN_DELETE)
			return acl_state_token_delete(s, txn, index, id, err,
			    errlen);
		if (op == ACL_OP_POLICY_DELETE)
			return acl_state_policy_delete(s, txn, index, id, err,
			    errlen);
		return acl_state_role_delete(s, txn, index, id, err, errlen);
	}
 malformed:
	return tbl_refuse(err, errlen, "malformed ACL command") + 1;
}

static int
acl_dump_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	msgpack_packer	*pk = &wk->w->out.pk;
	enum snapshot_record type;
	msgpack_unpacked u;

	switch (wk->kind) {
	case CAT_ACL_TOKEN:
		type = SNAP_REC_ACL_TOKEN;
		break;
	case CAT_ACL_POLICY:
		type = SNAP_REC_ACL_POLICY;
		break;
	default:
		type = SNAP_REC_ACL_ROLE;
		break;
	}
	/* The stored bytes are the record: check them, copy them. */
	if (mpack_parse(&u, v->data, v->size) == -1) {
		log_warnx("acl: damaged record");
		return -1;
	}
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, type);
	msgpack_pack_object(pk, u.data);
	msgpack_unpacked_destroy(&u);
	wk->w->records++;
	return 0;
}

int
acl_state_dump(struct store *s, struct snapshot_writer *w)
{
	struct cat_walk	 wk;
	DB		*dbs[] = { s->acl_policies, s->acl_roles, s->acl_tokens };
	enum cat_kind	 kinds[] = { CAT_ACL_POLICY, CAT_ACL_ROLE,
			    CAT_ACL_TOKEN };
	size_t		 i;

	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		memset(&wk, 0, sizeof(wk));
		wk.s = s;
		wk.w = w;
		wk.kind = kinds[i];
		if (tbl_walk(dbs[i], NULL, NULL, 0, acl_dump_cb, &wk) == -1)
			return -1;
	}
	return 0;
}

int
acl_state_clear(struct store *s, DB_TXN *txn)
{
	DB		*dbs[] = { s->acl_tokens, s->acl_secrets,
			    s->acl_policies, s->acl_roles };
	u_int32_t	 n;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if ((rc = dbs[i]->truncate(dbs[i], txn, &n, 0)) != 0)
			return tbl_db_fail("truncate", rc);
	return 0;
}

/* One record as dumped; -1 if it is malformed. */
int
acl_state_load(struct store *s, DB_TXN *txn, enum snapshot_record type,
    const msgpack_object *rec)
{
	const msgpack_object	*o;
	struct acl_token	 t;
	struct acl_policy	 p;
	struct acl_role		 r;
	struct cat_key		 k;
	int			 rc = -1;

	if (rec->type != MSGPACK_OBJECT_ARRAY || rec->via.array.size != 2)
		return -1;
	o = &rec->via.array.ptr[1];
	switch (type) {
	case SNAP_REC_ACL_TOKEN:
		if (acl_token_unpack(o, &t) == -1)
			return -1;
		if (tbl_key_make(&k, t.accessor, NULL, NULL) == 0 &&
		    tbl_rec_put(s->acl_tokens, txn, CAT_ACL_TOKEN, &k,
		    &t) == 0)
			rc = acl_secret_put(s, txn, t.secret, t.accessor);
		acl_token_free(&t);
		return rc;
	case SNAP_REC_ACL_POLICY:
		if (acl_policy_unpack(o, &p) == -1)
			return -1;
		if (tbl_key_make(&k, p.id, NULL, NULL) == 0)
			rc = tbl_rec_put(s->acl_policies, txn, CAT_ACL_POLICY,
			    &k, &p);
		acl_policy_free(&p);
		return rc;
	case SNAP_REC_ACL_ROLE:
		if (acl_role_unpack(o, &r) == -1)
			return -1;
		if (tbl_key_make(&k, r.id, NULL, NULL) == 0)
			rc = tbl_rec_put(s->acl_roles, txn, CAT_ACL_ROLE, &k,
			    &r);
		acl_role_free(&r);
		return rc;
	default:
		return -1;
	}
}
