/*
 * The kv table in Berkeley DB.  A record is a packed kv_pair keyed by
 * the key's bytes; deletions leave a tombstone (key -> delete index) so
 * a blocking query on a deleted key or prefix sees the index move, as
 * Consul's does.  Operations follow Consul's KV transaction semantics
 * and messages; a transaction is applied in a child BDB transaction and
 * rolled back whole when one operation fails.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goquote.h"
#include "kv_state.h"
#include "log.h"
#include "session_state.h"

#define KV_TABLE	"kv"

static void
dbt_init(DBT *d, const void *p, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)p;
	d->size = len;
}

/* 0 found, 1 absent, -1 storage error. */
int
kv_state_get(struct store *s, DB_TXN *txn, const char *key, size_t keylen,
    struct kv_pair *p)
{
	msgpack_unpacked	 u;
	DBT			 k, v;
	int			 rc;

	memset(p, 0, sizeof(*p));
	dbt_init(&k, key, keylen);
	memset(&v, 0, sizeof(v));
	v.flags = DB_DBT_MALLOC;
	rc = s->kv->get(s->kv, txn, &k, &v, 0);
	if (rc == DB_NOTFOUND)
		return 1;
	if (rc != 0) {
		log_warnx("kv: get: %s", db_strerror(rc));
		return -1;
	}
	rc = -1;
	if (mpack_parse(&u, v.data, v.size) == 0) {
		rc = kv_pair_unpack(&u.data, p);
		msgpack_unpacked_destroy(&u);
	}
	free(v.data);
	if (rc == -1)
		log_warnx("kv: damaged record");
	return rc;
}

static int
kv_state_put(struct store *s, DB_TXN *txn, const struct kv_pair *p)
{
	struct mpack_out	 out;
	DBT			 k, v;
	int			 rc;

	mpack_out_init(&out);
	kv_pair_pack(&out.pk, p, 1);
	dbt_init(&k, p->key, p->keylen);
	dbt_init(&v, out.sbuf.data, out.sbuf.size);
	rc = s->kv->put(s->kv, txn, &k, &v, 0);
	mpack_out_free(&out);
	if (rc == 0) {
		rc = s->kv_tomb->del(s->kv_tomb, txn, &k, 0);
		if (rc == DB_NOTFOUND)
			rc = 0;
	}
	if (rc != 0) {
		store_errno = rc;
		log_warnx("kv: put: %s", db_strerror(rc));
		return -1;
	}
	return 0;
}

static int
kv_state_del(struct store *s, DB_TXN *txn, const char *key, size_t keylen,
    uint64_t index)
{
	DBT		 k, v;
	unsigned char	 ib[8];
	int		 rc;

	dbt_init(&k, key, keylen);
	if ((rc = s->kv->del(s->kv, txn, &k, 0)) != 0) {
		store_errno = rc;
		log_warnx("kv: del: %s", db_strerror(rc));
		return -1;
	}
	be64_put(ib, index);
	dbt_init(&v, ib, sizeof(ib));
	if ((rc = s->kv_tomb->put(s->kv_tomb, txn, &k, &v, 0)) != 0) {
		store_errno = rc;
		log_warnx("kv: tombstone: %s", db_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * Walk the pairs whose key starts with prefix, in key order.  fn owns
 * the pair it is given; returning non-zero stops the walk.
 */
int
kv_state_scan(struct store *s, DB_TXN *txn, const char *prefix,
    size_t plen, kv_scan_fn fn, void *arg)
{
	msgpack_unpacked	 u;
	struct kv_pair		 p;
	DBC			*c;
	DBT			 k, v;
	int			 rc, flag = DB_SET_RANGE, ret = 0;

	if (s->kv->cursor(s->kv, txn, &c, 0) != 0)
		return -1;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.flags = DB_DBT_REALLOC;
	v.flags = DB_DBT_REALLOC;
	if ((k.data = malloc(plen + 1)) == NULL) {
		c->close(c);
		return -1;
	}
	memcpy(k.data, prefix, plen);
	k.size = plen;
	if (plen == 0)
		flag = DB_FIRST;
	while ((rc = c->get(c, &k, &v, flag)) == 0) {
		flag = DB_NEXT;
		if (k.size < plen || memcmp(k.data, prefix, plen) != 0)
			break;
		if (mpack_parse(&u, v.data, v.size) == -1) {
			ret = -1;
			break;
		}
		rc = kv_pair_unpack(&u.data, &p);
		msgpack_unpacked_destroy(&u);
		if (rc == -1) {
			ret = -1;
			break;
		}
		if (fn(arg, &p) != 0)
			break;
	}
	if (rc != 0 && rc != DB_NOTFOUND)
		ret = -1;
	free(k.data);
	free(v.data);
	c->close(c);
	return ret;
}

uint64_t
kv_state_table_index(struct store *s)
{
	uint64_t	 idx = 0;

	if (store_get_u64(s, s->tables, NULL, KV_TABLE, &idx) == -1)
		fatalx("kv: cannot read the table index");
	return idx;
}

/* A key's ModifyIndex, or the table's index when it does not exist. */
uint64_t
kv_state_key_index(struct store *s, const char *key, size_t keylen)
{
	struct kv_pair	 p;
	uint64_t	 idx;
	int		 rc;

	if ((rc = kv_state_get(s, NULL, key, keylen, &p)) == -1)
		fatalx("kv: cannot read");
	if (rc == 1)
		return kv_state_table_index(s);
	idx = p.modify_index;
	kv_pair_free(&p);
	return idx;
}

static int
max_index_cb(void *arg, struct kv_pair *p)
{
	uint64_t	*max = arg;

	if (p->modify_index > *max)
		*max = p->modify_index;
	kv_pair_free(p);
	return 0;
}

/* The highest index under a prefix, tombstones included. */
uint64_t
kv_state_prefix_index(struct store *s, const char *prefix, size_t plen)
{
	DBC		*c;
	DBT		 k, v;
	uint64_t	 max = 0, t;
	int		 rc, flag = plen ? DB_SET_RANGE : DB_FIRST;

	if (kv_state_scan(s, NULL, prefix, plen, max_index_cb, &max) == -1)
		fatalx("kv: cannot scan");
	if (s->kv_tomb->cursor(s->kv_tomb, NULL, &c, 0) != 0)
		fatalx("kv: cursor");
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.flags = v.flags = DB_DBT_REALLOC;
	if ((k.data = malloc(plen + 1)) == NULL)
		fatal("kv");
	memcpy(k.data, prefix, plen);
	k.size = plen;
	while ((rc = c->get(c, &k, &v, flag)) == 0) {
		flag = DB_NEXT;
		if (k.size < plen || memcmp(k.data, prefix, plen) != 0)
			break;
		if (v.size == 8 && (t = be64_get(v.data)) > max)
			max = t;
	}
	free(k.data);
	free(v.data);
	c->close(c);
	if (max == 0)
		max = kv_state_table_index(s);
	return max;
}

static int
result_add(struct kv_txn_result *r, struct kv_pair *p, int with_value)
{
	struct kv_pair	*np;
	int		*nw;

	np = reallocarray(r->pairs, r->npairs + 1, sizeof(*np));
	if (np == NULL)
		return -1;
	r->pairs = np;
	nw = reallocarray(r->with_value, r->npairs + 1, sizeof(*nw));
	if (nw == NULL)
		return -1;
	r->with_value = nw;
	r->pairs[r->npairs] = *p;
	r->with_value[r->npairs] = with_value;
	r->npairs++;
	memset(p, 0, sizeof(*p));
	return 0;
}

void
kv_txn_result_free(struct kv_txn_result *r)
{
	size_t	 i;

	for (i = 0; i < r->npairs; i++)
		kv_pair_free(&r->pairs[i]);
	free(r->pairs);
	free(r->with_value);
	memset(r, 0, sizeof(*r));
}

struct tree_ctx {
	struct kv_txn_result	*res;
	struct kv_pair		*pairs;
	size_t			 n;
	int			 error;
};

static int
collect_cb(void *arg, struct kv_pair *p)
{
	struct tree_ctx	*t = arg;
	struct kv_pair	*np;

	if ((np = reallocarray(t->pairs, t->n + 1, sizeof(*np))) == NULL) {
		kv_pair_free(p);
		t->error = 1;
		return 1;
	}
	t->pairs = np;
	t->pairs[t->n++] = *p;
	return 0;
}

/*
 * Buffers for the quoted strings of one message, sized so that the
 * longest message (a session check: a key and two sessions) fits
 * KV_ERR_MAX and is never cut by snprintf in the middle of a character.
 */
#define QUOTE_KEY	112
#define QUOTE_SESSION	48

static void	op_error(struct kv_txn_result *, size_t, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));

/* Operation i failed: the transaction rolls back with this message. */
static void
op_error(struct kv_txn_result *r, size_t i, const char *fmt, ...)
{
	va_list	 ap;

	r->ok = 0;
	r->err_op = i;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

/*
 * One operation; returns -1 on a storage error, 1 when the operation
 * failed (r->err says why), 0 when it succeeded.
 */
static int
apply_op(struct store *s, DB_TXN *txn, uint64_t index, struct kv_op *op,
    size_t i, struct kv_txn_result *r, kv_changed_fn changed, void *arg,
    int *touched)
{
	struct kv_pair	 cur, np, res;
	struct cat_session se;
	struct tree_ctx	 t;
	char		 q[QUOTE_KEY], s1[QUOTE_SESSION], s2[QUOTE_SESSION];
	size_t		 j;
	int		 found, rc;

	if ((found = kv_state_get(s, txn, op->key, op->keylen, &cur)) == -1)
		return -1;
	found = !found;
	memset(&np, 0, sizeof(np));

	switch (op->verb) {
	case KV_CAS:
		if ((op->index == 0 && found) || (op->index != 0 &&
		    (!found || cur.modify_index != op->index))) {
			op_error(r, i, "failed to set key %s, index is stale",
			    go_quote(q, sizeof(q), op->key, op->keylen));
			goto fail;
		}
		/* FALLTHROUGH */
	case KV_SET:
		np.lock_index = found ? cur.lock_index : 0;
		np.session = found ? cur.session : NULL;
		goto put;
	case KV_LOCK:
		if (op->session == NULL || *op->session == '\0') {
			op_error(r, i, "missing session");
			goto fail;
		}
		if ((rc = session_state_get(s, txn, op->session, &se)) == -1)
			goto error;
		if (rc == 1) {
			op_error(r, i, "invalid session %s", go_quote(s1,
			    sizeof(s1), op->session, strlen(op->session)));
			goto fail;
		}
		cat_session_free(&se);
		np.lock_index = found ? cur.lock_index : 0;
		if (found && cur.session != NULL &&
		    strcmp(cur.session, op->session) == 0) {
			/* The holder may rewrite the value. */
			np.session = cur.session;
			goto put;
		}
		if (found && cur.session != NULL) {
			op_error(r, i, "failed to lock key %s, lock is already "
			    "held", go_quote(q, sizeof(q), op->key,
			    op->keylen));
			goto fail;
		}
		np.lock_index++;
		np.session = op->session;
		if (session_state_key(s, txn, op->session, op->key,
		    op->keylen, 1) == -1)
			goto error;
		goto put;
	case KV_UNLOCK:
		if (op->session == NULL || *op->session == '\0') {
			op_error(r, i, "missing session");
			goto fail;
		}
		if (!found || cur.session == NULL ||
		    strcmp(cur.session, op->session) != 0) {
			op_error(r, i, "failed to unlock key %s, lock isn't "
			    "held, or is held by another session",
			    go_quote(q, sizeof(q), op->key, op->keylen));
			goto fail;
		}
		if (session_state_key(s, txn, op->session, op->key,
		    op->keylen, 0) == -1)
			goto error;
		np.lock_index = cur.lock_index;
		np.session = NULL;
	put:
		np.key = op->key;
		np.keylen = op->keylen;
		np.value = op->value;
		np.vlen = op->vlen;
		np.flags = op->flags;
		np.create_index = found ? cur.create_index : index;
		np.modify_index = index;
		if (kv_state_put(s, txn, &np) == -1)
			goto error;
		*touched = 1;
		changed(arg, op->key, op->keylen);
		/* The result names the key; the value is not repeated. */
		memset(&res, 0, sizeof(res));
		if ((res.key = strdup(op->key)) == NULL ||
		    (np.session && (res.session = strdup(np.session)) ==
		    NULL)) {
			kv_pair_free(&res);
			goto error;
		}
		res.keylen = op->keylen;
		res.flags = np.flags;
		res.create_index = np.create_index;
		res.modify_index = np.modify_index;
		res.lock_index = np.lock_index;
		if (found)
			kv_pair_free(&cur);
		if (result_add(r, &res, 0) == -1) {
			kv_pair_free(&res);
			return -1;
		}
		return 0;
	case KV_GET:
		if (!found) {
			op_error(r, i, "key %s doesn't exist",
			    go_quote(q, sizeof(q), op->key, op->keylen));
			goto fail;
		}
		if (result_add(r, &cur, 1) == -1)
			goto error;
		return 0;
	case KV_GET_OR_EMPTY:
		if (!found) {
			/* Consul answers with the operation's own fields. */
			found = 1;
			memset(&cur, 0, sizeof(cur));
			if ((cur.key = strdup(op->key)) == NULL ||
			    (op->session != NULL && *op->session != '\0' &&
			    (cur.session = strdup(op->session)) == NULL))
				goto error;
			cur.keylen = op->keylen;
			cur.flags = op->flags;
			cur.modify_index = op->index;
		}
		if (result_add(r, &cur, 1) == -1)
			goto error;
		return 0;
	case KV_GET_TREE:
		if (found)
			kv_pair_free(&cur);
		memset(&t, 0, sizeof(t));
		if (kv_state_scan(s, txn, op->key, op->keylen, collect_cb,
		    &t) == -1 || t.error)
			goto tree_error;
		for (j = 0; j < t.n; j++)
			if (result_add(r, &t.pairs[j], 1) == -1)
				goto tree_error;
		free(t.pairs);
		return 0;
	tree_error:
		for (j = 0; j < t.n; j++)
			kv_pair_free(&t.pairs[j]);
		free(t.pairs);
		return -1;
	case KV_CHECK_INDEX:
		if (!found) {
			op_error(r, i, "failed to check index, key %s "
			    "doesn't exist", go_quote(q, sizeof(q), op->key,
			    op->keylen));
			goto fail;
		}
		if (cur.modify_index != op->index) {
			op_error(r, i, "failed index check for key %s, current "
			    "modify index %llu != %llu",
			    go_quote(q, sizeof(q), op->key, op->keylen),
			    (unsigned long long)cur.modify_index,
			    (unsigned long long)op->index);
			goto fail;
		}
		if (result_add(r, &cur, 0) == -1)
			goto error;
		return 0;
	case KV_CHECK_SESSION:
		if (!found) {
			op_error(r, i, "failed to check session, key %s "
			    "doesn't exist", go_quote(q, sizeof(q), op->key,
			    op->keylen));
			goto fail;
		}
		if (strcmp(cur.session ? cur.session : "",
		    op->session ? op->session : "") != 0) {
			op_error(r, i, "failed session check for key %s, "
			    "current session %s != %s",
			    go_quote(q, sizeof(q), op->key, op->keylen),
			    go_quote(s1, sizeof(s1), cur.session ?
			    cur.session : "", cur.session ?
			    strlen(cur.session) : 0),
			    go_quote(s2, sizeof(s2), op->session ?
			    op->session : "", op->session ?
			    strlen(op->session) : 0));
			goto fail;
		}
		if (result_add(r, &cur, 0) == -1)
			goto error;
		return 0;
	case KV_CHECK_NOT_EXISTS:
		if (found) {
			op_error(r, i, "key %s exists",
			    go_quote(q, sizeof(q), op->key, op->keylen));
			goto fail;
		}
		return 0;
	case KV_DELETE_CAS:
		if (found && cur.modify_index != op->index) {
			op_error(r, i, "failed to delete key %s, index is "
			    "stale", go_quote(q, sizeof(q), op->key,
			    op->keylen));
			goto fail;
		}
		/* FALLTHROUGH */
	case KV_DELETE:
		if (found) {
			if (kv_state_del(s, txn, op->key, op->keylen,
			    index) == -1 || (cur.session != NULL &&
			    session_state_key(s, txn, cur.session, op->key,
			    op->keylen, 0) == -1))
				goto error;
			*touched = 1;
			changed(arg, op->key, op->keylen);
			kv_pair_free(&cur);
		}
		return 0;
	case KV_DELETE_TREE:
		if (found)
			kv_pair_free(&cur);
		memset(&t, 0, sizeof(t));
		if (kv_state_scan(s, txn, op->key, op->keylen, collect_cb,
		    &t) == -1 || t.error)
			goto tree_error;
		rc = 0;
		for (j = 0; j < t.n; j++) {
			if (rc == 0 && kv_state_del(s, txn, t.pairs[j].key,
			    t.pairs[j].keylen, index) == -1)
				rc = -1;
			if (rc == 0 && t.pairs[j].session != NULL &&
			    session_state_key(s, txn, t.pairs[j].session,
			    t.pairs[j].key, t.pairs[j].keylen, 0) == -1)
				rc = -1;
			if (rc == 0)
				changed(arg, t.pairs[j].key,
				    t.pairs[j].keylen);
			kv_pair_free(&t.pairs[j]);
		}
		if (t.n > 0)
			*touched = 1;
		free(t.pairs);
		return rc;
	default:
		op_error(r, i, "unknown KV verb %s", go_quote(q, sizeof(q),
		    kv_verb_name(op->verb), strlen(kv_verb_name(op->verb))));
		goto fail;
	}
 fail:
	if (found)
		kv_pair_free(&cur);
	return 1;
 error:
	if (found)
		kv_pair_free(&cur);
	return -1;
}

/*
 * A session that held key was invalidated (session_state.c, which keeps
 * its index of held keys): the lock is released, or the key deleted.  A
 * key another session holds by now is left alone.  0 or -1.
 */
int
kv_state_release(struct store *s, DB_TXN *txn, uint64_t index,
    const char *key, size_t keylen, const char *id, int del)
{
	struct kv_pair	 p;
	int		 rc;

	if ((rc = kv_state_get(s, txn, key, keylen, &p)) != 0)
		return rc == 1 ? 0 : -1;
	if (p.session == NULL || strcmp(p.session, id) != 0) {
		kv_pair_free(&p);
		return 0;
	}
	if (del)
		rc = kv_state_del(s, txn, key, keylen, index);
	else {
		free(p.session);
		p.session = NULL;
		p.modify_index = index;
		rc = kv_state_put(s, txn, &p);
	}
	kv_pair_free(&p);
	if (rc == 0)
		rc = store_put_u64(s, s->tables, txn, KV_TABLE, index);
	return rc;
}

/*
 * Apply a committed transaction at Raft index `index`.  Returns -1 only
 * when storage failed (the caller aborts the whole batch); a failed
 * operation is a result (r->ok == 0) with nothing changed.
 */
int
kv_state_apply(struct store *s, DB_TXN *parent, uint64_t index,
    struct kv_op *ops, size_t n, struct kv_txn_result *r,
    kv_changed_fn changed, void *arg)
{
	DB_TXN	*child;
	size_t	 i;
	int	 rc = 0, touched = 0;

	memset(r, 0, sizeof(*r));
	r->ok = 1;
	if (s->env->txn_begin(s->env, parent, &child, 0) != 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = apply_op(s, child, index, &ops[i], i, r, changed, arg,
		    &touched);
	if (rc == 0 && touched &&
	    store_put_u64(s, s->tables, child, KV_TABLE, index) == -1)
		rc = -1;
	if (rc != 0) {
		child->abort(child);
		/* Results of a rolled back transaction are not reported. */
		for (i = 0; i < r->npairs; i++)
			kv_pair_free(&r->pairs[i]);
		r->npairs = 0;
		return rc == -1 ? -1 : 0;
	}
	if (child->commit(child, 0) != 0)
		return -1;
	return 0;
}

struct dump_ctx {
	struct snapshot_writer	*w;
	int			 error;
};

static int
dump_pair_cb(void *arg, struct kv_pair *p)
{
	struct dump_ctx	*d = arg;

	msgpack_pack_array(&d->w->out.pk, 2);
	msgpack_pack_uint8(&d->w->out.pk, SNAP_REC_KV);
	kv_pair_pack(&d->w->out.pk, p, 1);
	d->w->records++;
	kv_pair_free(p);
	return 0;
}

/* Every record of a name -> be64 index table, as [type, name, index]. */
static int
dump_index_table(DB *db, struct snapshot_writer *w, enum snapshot_record t)
{
	DBC	*c;
	DBT	 k, v;
	int	 rc;

	if (db->cursor(db, NULL, &c, 0) != 0)
		return -1;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.flags = v.flags = DB_DBT_REALLOC;
	while ((rc = c->get(c, &k, &v, DB_NEXT)) == 0) {
		if (v.size != 8)
			break;
		msgpack_pack_array(&w->out.pk, 3);
		msgpack_pack_uint8(&w->out.pk, t);
		if (t == SNAP_REC_TABLE) {
			msgpack_pack_str(&w->out.pk, k.size);
			msgpack_pack_str_body(&w->out.pk, k.data, k.size);
		} else
			mpack_bin(&w->out.pk, k.data, k.size);
		msgpack_pack_uint64(&w->out.pk, be64_get(v.data));
		w->records++;
	}
	free(k.data);
	free(v.data);
	c->close(c);
	return rc == DB_NOTFOUND ? 0 : -1;
}

/* The kv tables into a snapshot, as they are now. */
int
kv_state_dump(struct store *s, struct snapshot_writer *w)
{
	struct dump_ctx	 d;

	memset(&d, 0, sizeof(d));
	d.w = w;
	if (kv_state_scan(s, NULL, "", 0, dump_pair_cb, &d) == -1 ||
	    d.error ||
	    dump_index_table(s->kv_tomb, w, SNAP_REC_TOMBSTONE) == -1 ||
	    dump_index_table(s->tables, w, SNAP_REC_TABLE) == -1)
		return -1;
	return 0;
}

/* Empty the kv tables, before a restore. */
int
kv_state_clear(struct store *s, DB_TXN *txn)
{
	DB		*dbs[] = { s->kv, s->kv_tomb, s->tables };
	u_int32_t	 n;
	size_t		 i;

	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (dbs[i]->truncate(dbs[i], txn, &n, 0) != 0)
			return -1;
	return 0;
}

/* One snapshot record back into its table; -1 if it is malformed. */
int
kv_state_load(struct store *s, DB_TXN *txn, enum snapshot_record type,
    const msgpack_object *rec)
{
	const msgpack_object	*a = rec->via.array.ptr;
	struct kv_pair		 p;
	DBT			 k, v;
	unsigned char		 ib[8];
	char			 name[KV_TABLE_NAME_MAX];
	uint64_t		 idx;
	DB			*db;
	int			 rc;

	switch (type) {
	case SNAP_REC_KV:
		if (rec->via.array.size != 2 || kv_pair_unpack(&a[1], &p) == -1)
			return -1;
		rc = kv_state_put(s, txn, &p);
		if (rc == 0 && p.session != NULL)
			rc = session_state_key(s, txn, p.session, p.key,
			    p.keylen, 1);
		kv_pair_free(&p);
		return rc;
	case SNAP_REC_TOMBSTONE:
	case SNAP_REC_TABLE:
		if (rec->via.array.size != 3 ||
		    mpack_get_uint(&a[2], &idx) == -1)
			return -1;
		if (type == SNAP_REC_TOMBSTONE) {
			if (a[1].type != MSGPACK_OBJECT_BIN ||
			    a[1].via.bin.size > KV_KEY_MAX)
				return -1;
			dbt_init(&k, a[1].via.bin.ptr, a[1].via.bin.size);
			db = s->kv_tomb;
		} else {
			if (a[1].type != MSGPACK_OBJECT_STR ||
			    a[1].via.str.size >= sizeof(name))
				return -1;
			dbt_init(&k, a[1].via.str.ptr, a[1].via.str.size);
			db = s->tables;
		}
		be64_put(ib, idx);
		dbt_init(&v, ib, sizeof(ib));
		return db->put(db, txn, &k, &v, 0) == 0 ? 0 : -1;
	default:
		return -1;
	}
}
