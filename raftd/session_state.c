/*
 * Sessions in the store (session_state.h), applied inside the store
 * transaction of the batch like every other state change, so that every
 * server creates and invalidates the same sessions at the same index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_table.h"
#include "log.h"
#include "query_state.h"
#include "session_state.h"

/* The most of a check ID a message shows. */
#define QUOTE_ID	112

int
session_state_get(struct store *s, DB_TXN *txn, const char *id,
    struct cat_session *se)
{
	struct cat_key	 k;

	memset(se, 0, sizeof(*se));
	if (tbl_key_make(&k, id, NULL, NULL) == -1)
		return 1;
	return tbl_rec_get(s->sessions, txn, CAT_SESSION, &k, se);
}

/*
 * Whether the check is there and not critical: 0 yes, 1 no (err says
 * which), -1 on a store error.
 */
static int
check_usable(struct store *s, DB_TXN *txn, const char *node, const char *cid,
    char *err, size_t errlen)
{
	struct cat_check	 ck;
	struct cat_key		 k;
	int			 rc, critical, n = QUOTE_ID;

	if (tbl_key_make(&k, node, cid, NULL) == -1)
		return tbl_refuse(err, errlen,
		    "Missing check '%.*s' registration", n, cid);
	if ((rc = tbl_rec_get(s->cat_checks, txn, CAT_CHECK, &k, &ck)) == -1)
		return -1;
	if (rc == 1)
		return tbl_refuse(err, errlen,
		    "Missing check '%.*s' registration", n, cid);
	critical = strcmp(ck.status, CAT_CRITICAL) == 0;
	cat_check_free(&ck);
	if (critical)
		return tbl_refuse(err, errlen,
		    "Check '%.*s' is in critical state", n, cid);
	return 0;
}

/* The session's node and checks are all there and healthy: 0, 1, -1. */
static int
session_usable(struct store *s, DB_TXN *txn, const struct cat_session *se,
    char *err, size_t errlen)
{
	struct cat_key	 k;
	size_t		 i;
	int		 rc;

	if (tbl_key_make(&k, se->node, NULL, NULL) == -1 ||
	    (rc = tbl_key_exists(s->cat_nodes, txn, &k)) == 1)
		return tbl_refuse(err, errlen, "Missing node registration");
	if (rc == -1)
		return -1;
	for (i = 0; i < se->nnode_checks; i++)
		if ((rc = check_usable(s, txn, se->node, se->node_checks[i],
		    err, errlen)) != 0)
			return rc;
	for (i = 0; i < se->nservice_checks; i++)
		if ((rc = check_usable(s, txn, se->node,
		    se->service_checks[i], err, errlen)) != 0)
			return rc;
	return 0;
}

int
session_state_create(struct store *s, DB_TXN *txn, uint64_t index,
    const struct cat_session *in, char *err, size_t errlen)
{
	struct cat_session	 se = *in;
	struct cat_key		 k, nk;
	int			 rc;

	if (errlen > 0)
		err[0] = '\0';
	if (tbl_key_make(&k, se.id, NULL, NULL) == -1 ||
	    tbl_key_make(&nk, se.node, se.id, NULL) == -1)
		return tbl_refuse(err, errlen, "Session ID is too long");
	if ((rc = tbl_key_exists(s->sessions, txn, &k)) == -1)
		return -1;
	if (rc == 0)
		return tbl_refuse(err, errlen, "Session ID already exists");
	if ((rc = session_usable(s, txn, &se, err, errlen)) != 0)
		return rc;
	se.create_index = se.modify_index = index;
	if (tbl_rec_put(s->sessions, txn, CAT_SESSION, &k, &se) == -1 ||
	    tbl_key_put(s->sess_nodes, txn, &nk) == -1 ||
	    tbl_index_bump(s, txn, SESSIONS_TABLE, index) == -1)
		return -1;
	return 0;
}

/* The keys a session holds, gathered before any of them changes. */
struct held {
	char		**keys;
	size_t		 *lens;
	size_t		  n;
};

static int
sess_held_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct held	*h = wk->ctx;
	size_t		 off = strlen(wk->name) + 1, len;
	char		**nk;
	size_t		 *nl;
	int		  rc;

	if (k->size < off)
		return 0;
	len = k->size - off;
	if ((nk = reallocarray(h->keys, h->n + 1, sizeof(*nk))) == NULL)
		return -1;
	h->keys = nk;
	if ((nl = reallocarray(h->lens, h->n + 1, sizeof(*nl))) == NULL)
		return -1;
	h->lens = nl;
	if ((h->keys[h->n] = malloc(len + 1)) == NULL)
		return -1;
	memcpy(h->keys[h->n], (const char *)k->data + off, len);
	h->keys[h->n][len] = '\0';
	h->lens[h->n] = len;
	h->n++;
	if ((rc = c->del(c, 0)) != 0)
		return tbl_db_fail("del", rc);
	return 0;
}

static void
held_free(struct held *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		free(h->keys[i]);
	free(h->keys);
	free(h->lens);
}

int
session_state_destroy(struct store *s, DB_TXN *txn, uint64_t index,
    const char *id, const struct session_effects *fx)
{
	struct cat_session	 se;
	struct cat_walk		 wk;
	struct cat_key		 k, nk, prefix;
	struct held		 h;
	uint64_t		 delay;
	size_t			 i;
	int			 rc, del, ret = -1;

	if ((rc = session_state_get(s, txn, id, &se)) != 0)
		return rc == 1 ? 0 : -1;
	memset(&h, 0, sizeof(h));
	if (tbl_key_make(&k, se.id, NULL, NULL) == -1 ||
	    tbl_key_make(&nk, se.node, se.id, NULL) == -1 ||
	    tbl_key_make(&prefix, se.id, "", NULL) == -1)
		goto done;
	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.txn = txn;
	wk.name = se.id;
	wk.ctx = &h;
	if (tbl_walk(s->sess_keys, txn, prefix.buf, prefix.len, sess_held_cb,
	    &wk) == -1)
		goto done;
	del = strcmp(se.behavior, CAT_SESSION_DELETE) == 0;
	delay = se.lock_delay > SESSION_LOCK_DELAY_MAX ?
	    SESSION_LOCK_DELAY_MAX : se.lock_delay;
	for (i = 0; i < h.n; i++) {
		if (kv_state_release(s, txn, index, h.keys[i], h.lens[i], id,
		    del) == -1)
			goto done;
		if (fx != NULL && fx->changed != NULL)
			fx->changed(fx->arg, h.keys[i], h.lens[i]);
		if (fx != NULL && fx->delay != NULL && delay > 0)
			fx->delay(fx->arg, h.keys[i], h.lens[i], delay);
	}
	if (tbl_key_del(s->sessions, txn, &k) == -1 ||
	    tbl_key_del(s->sess_nodes, txn, &nk) == -1 ||
	    tbl_index_bump(s, txn, SESSIONS_TABLE, index) == -1 ||
	    query_state_session_gone(s, txn, index, se.id) == -1)
		goto done;
	if (fx != NULL && fx->gone != NULL)
		fx->gone(fx->arg, se.id);
	ret = 0;
 done:
	held_free(&h);
	cat_session_free(&se);
	return ret;
}

/* A node's session IDs. */
struct ids {
	char		**ids;
	size_t		  n;
};

static int
sess_node_ids_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct ids	*ids = wk->ctx;
	size_t		 off = strlen(wk->node) + 1;
	char		**n;

	if (k->size <= off)
		return 0;
	if ((n = reallocarray(ids->ids, ids->n + 1, sizeof(*n))) == NULL ||
	    (n[ids->n] = strndup((const char *)k->data + off,
	    k->size - off)) == NULL) {
		if (n != NULL)
			ids->ids = n;
		return -1;
	}
	ids->ids = n;
	ids->n++;
	return 0;
}

static int
node_ids(struct store *s, DB_TXN *txn, const char *node, struct ids *ids)
{
	struct cat_walk	 wk;
	struct cat_key	 prefix;

	memset(ids, 0, sizeof(*ids));
	if (tbl_key_make(&prefix, node, "", NULL) == -1)
		return 0;
	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.txn = txn;
	strlcpy(wk.node, node, sizeof(wk.node));
	wk.ctx = ids;
	return tbl_walk(s->sess_nodes, txn, prefix.buf, prefix.len,
	    sess_node_ids_cb, &wk);
}

static void
ids_free(struct ids *ids)
{
	size_t	 i;

	for (i = 0; i < ids->n; i++)
		free(ids->ids[i]);
	free(ids->ids);
}

int
session_state_node_changed(struct store *s, DB_TXN *txn, uint64_t index,
    const char *node, const struct session_effects *fx)
{
	struct cat_session	 se;
	struct ids		 ids;
	char			 why[CAT_ERR_MAX];
	size_t			 i;
	int			 rc, ret = -1;

	if (node_ids(s, txn, node, &ids) == -1)
		goto done;
	for (i = 0; i < ids.n; i++) {
		if ((rc = session_state_get(s, txn, ids.ids[i], &se)) == -1)
			goto done;
		if (rc == 1)
			continue;
		rc = session_usable(s, txn, &se, why, sizeof(why));
		cat_session_free(&se);
		if (rc == -1)
			goto done;
		if (rc == 0)
			continue;
		log_info("session: %s invalidated: %s", ids.ids[i], why);
		if (session_state_destroy(s, txn, index, ids.ids[i],
		    fx) == -1)
			goto done;
	}
	ret = 0;
 done:
	ids_free(&ids);
	return ret;
}

int
session_state_key(struct store *s, DB_TXN *txn, const char *id,
    const char *key, size_t keylen, int held)
{
	struct cat_key	 k;
	size_t		 idlen = strlen(id);

	if (idlen > CAT_STR_MAX || idlen + 1 + keylen > sizeof(k.buf))
		return -1;	/* checked before: cannot be */
	memcpy(k.buf, id, idlen);
	k.buf[idlen] = '\0';
	memcpy(k.buf + idlen + 1, key, keylen);
	k.len = idlen + 1 + keylen;
	if (held)
		return tbl_key_put(s->sess_keys, txn, &k);
	return tbl_key_del(s->sess_keys, txn, &k) == -1 ? -1 : 0;
}

struct list_ctx {
	cat_session_fn	 fn;
	void		*arg;
	int		 stopped;
};

static int
sess_list_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct list_ctx		*l = wk->ctx;
	struct cat_session	 se;
	int			 rc;

	if (tbl_rec_decode(CAT_SESSION, v->data, v->size, &se) == -1)
		return -1;
	rc = l->fn(l->arg, &se);
	cat_session_free(&se);
	return rc == -1 ? 1 : 0;
}

int
session_state_list(struct store *s, cat_session_fn fn, void *arg)
{
	struct cat_walk	 wk;
	struct list_ctx	 l = { fn, arg, 0 };

	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.ctx = &l;
	return tbl_walk(s->sessions, NULL, NULL, 0, sess_list_cb, &wk);
}

int
session_state_node(struct store *s, const char *node, cat_session_fn fn,
    void *arg)
{
	struct cat_session	 se;
	struct ids		 ids;
	size_t			 i;
	int			 rc, ret = -1;

	if (node_ids(s, NULL, node, &ids) == -1)
		goto done;
	for (i = 0; i < ids.n; i++) {
		if ((rc = session_state_get(s, NULL, ids.ids[i], &se)) == -1)
			goto done;
		if (rc == 1)
			continue;
		rc = fn(arg, &se);
		cat_session_free(&se);
		if (rc == -1)
			break;
	}
	ret = 0;
 done:
	ids_free(&ids);
	return ret;
}

static int
sess_dump_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct cat_session	 se;
	msgpack_packer		*pk = &wk->w->out.pk;

	if (tbl_rec_decode(CAT_SESSION, v->data, v->size, &se) == -1)
		return -1;
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, SNAP_REC_SESSION);
	cat_session_pack(pk, &se);
	cat_session_free(&se);
	wk->w->records++;
	return 0;
}

int
session_state_dump(struct store *s, struct snapshot_writer *w)
{
	struct cat_walk	 wk;

	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.w = w;
	return tbl_walk(s->sessions, NULL, NULL, 0, sess_dump_cb, &wk);
}

int
session_state_clear(struct store *s, DB_TXN *txn)
{
	DB		*dbs[] = { s->sessions, s->sess_nodes, s->sess_keys };
	u_int32_t	 n;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if ((rc = dbs[i]->truncate(dbs[i], txn, &n, 0)) != 0)
			return tbl_db_fail("truncate", rc);
	return 0;
}

/* One SNAP_REC_SESSION record; -1 if it is malformed. */
int
session_state_load(struct store *s, DB_TXN *txn, const msgpack_object *rec)
{
	struct cat_session	 se;
	struct cat_key		 k, nk;
	int			 rc = -1;

	if (rec->type != MSGPACK_OBJECT_ARRAY || rec->via.array.size != 2 ||
	    cat_session_unpack(&rec->via.array.ptr[1], &se) == -1)
		return -1;
	if (tbl_key_make(&k, se.id, NULL, NULL) == 0 &&
	    tbl_key_make(&nk, se.node, se.id, NULL) == 0 &&
	    tbl_rec_put(s->sessions, txn, CAT_SESSION, &k, &se) == 0)
		rc = tbl_key_put(s->sess_nodes, txn, &nk);
	cat_session_free(&se);
	return rc;
}
