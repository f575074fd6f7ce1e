/*
 * Prepared queries in the store (query_state.h).  The table is small
 * (queries are defined by operators), so names are found by a walk.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog_table.h"
#include "log.h"
#include "query_state.h"
#include "session_state.h"

int
query_state_get(struct store *s, DB_TXN *txn, const char *id,
    struct cat_pquery *q)
{
	struct cat_key	 k;

	memset(q, 0, sizeof(*q));
	if (tbl_key_make(&k, id, NULL, NULL) == -1)
		return 1;
	return tbl_rec_get(s->pqueries, txn, CAT_PQUERY, &k, q);
}

/* A walk that keeps the first query matching name (and not skip). */
struct pq_find {
	const char		*name;
	const char		*session;	/* or this session's */
	const char		*skip;		/* an ID */
	struct cat_pquery	 found;
	int			 have;
	char		       **ids;		/* session: all of them */
	size_t			 nids;
};

static int
pq_find_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct pq_find		*f = wk->ctx;
	struct cat_pquery	 q;
	char			**n;
	int			 match;

	if (tbl_rec_decode(CAT_PQUERY, v->data, v->size, &q) == -1)
		return -1;
	if (f->session != NULL) {
		if (q.session != NULL && strcmp(q.session, f->session) == 0) {
			if ((n = reallocarray(f->ids, f->nids + 1,
			    sizeof(*n))) == NULL) {
				cat_pquery_free(&q);
				return -1;
			}
			f->ids = n;
			f->ids[f->nids++] = q.id;
			q.id = NULL;
		}
		cat_pquery_free(&q);
		return 0;
	}
	match = q.name != NULL && *q.name != '\0' &&
	    strcmp(q.name, f->name) == 0 &&
	    (f->skip == NULL || strcmp(q.id, f->skip) != 0);
	if (!match) {
		cat_pquery_free(&q);
		return 0;
	}
	f->found = q;
	f->have = 1;
	return 1;
}

static int
pq_walk(struct store *s, DB_TXN *txn, struct pq_find *f)
{
	struct cat_walk	 wk;

	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.txn = txn;
	wk.ctx = f;
	return tbl_walk(s->pqueries, txn, NULL, 0, pq_find_cb, &wk);
}

int
query_state_lookup(struct store *s, const char *idname,
    struct cat_pquery *q)
{
	struct pq_find	 f;
	int		 rc;

	if ((rc = query_state_get(s, NULL, idname, q)) != 1)
		return rc;
	memset(&f, 0, sizeof(f));
	f.name = idname;
	if (pq_walk(s, NULL, &f) == -1)
		return -1;
	if (!f.have)
		return 1;
	*q = f.found;
	return 0;
}

int
query_state_set(struct store *s, DB_TXN *txn, uint64_t index,
    const struct cat_pquery *in, int update, char *err, size_t errlen)
{
	struct cat_pquery	 q = *in, old;
	struct cat_session	 se;
	struct pq_find		 f;
	struct cat_key		 k;
	int			 rc, have;

	if (tbl_key_make(&k, q.id, NULL, NULL) == -1)
		return tbl_refuse(err, errlen, "Query ID is too long");
	if ((rc = query_state_get(s, txn, q.id, &old)) == -1)
		return -1;
	have = rc == 0;
	if (update && !have)
		return tbl_refuse(err, errlen, "Cannot modify non-existent "
		    "prepared query: '%.64s'", q.id);
	if (!update && have) {
		cat_pquery_free(&old);
		return tbl_refuse(err, errlen, "Query ID already exists");
	}
	q.create_index = have ? old.create_index : index;
	q.modify_index = index;
	if (have)
		cat_pquery_free(&old);
	if (q.name != NULL && *q.name != '\0') {
		memset(&f, 0, sizeof(f));
		f.name = q.name;
		f.skip = q.id;
		if (pq_walk(s, txn, &f) == -1)
			return -1;
		if (f.have) {
			cat_pquery_free(&f.found);
			return tbl_refuse(err, errlen, "Name '%.64s' aliases "
			    "an existing query name", q.name);
		}
	}
	if (q.session != NULL && *q.session != '\0') {
		if ((rc = session_state_get(s, txn, q.session, &se)) == -1)
			return -1;
		if (rc == 1)
			return tbl_refuse(err, errlen, "Invalid session "
			    "%.64s", q.session);
		cat_session_free(&se);
	}
	if (tbl_rec_put(s->pqueries, txn, CAT_PQUERY, &k, &q) == -1 ||
	    tbl_index_bump(s, txn, PQUERIES_TABLE, index) == -1)
		return -1;
	return 0;
}

int
query_state_delete(struct store *s, DB_TXN *txn, uint64_t index,
    const char *id)
{
	struct cat_key	 k;
	int		 rc;

	if (tbl_key_make(&k, id, NULL, NULL) == -1)
		return 0;
	if ((rc = tbl_key_del(s->pqueries, txn, &k)) == -1)
		return -1;
	if (rc == 1)
		return 0;
	return tbl_index_bump(s, txn, PQUERIES_TABLE, index);
}

int
query_state_session_gone(struct store *s, DB_TXN *txn, uint64_t index,
    const char *session)
{
	struct pq_find	 f;
	size_t		 i;
	int		 rc = 0;

	memset(&f, 0, sizeof(f));
	f.session = session;
	if (pq_walk(s, txn, &f) == -1)
		rc = -1;
	for (i = 0; i < f.nids; i++) {
		if (rc == 0 && query_state_delete(s, txn, index,
		    f.ids[i]) == -1)
			rc = -1;
		free(f.ids[i]);
	}
	free(f.ids);
	return rc;
}

struct pq_list {
	cat_pquery_fn	 fn;
	void		*arg;
};

static int
pq_list_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct pq_list		*l = wk->ctx;
	struct cat_pquery	 q;
	int			 rc;

	if (tbl_rec_decode(CAT_PQUERY, v->data, v->size, &q) == -1)
		return -1;
	rc = l->fn(l->arg, &q);
	cat_pquery_free(&q);
	return rc == -1 ? 1 : 0;
}

int
query_state_list(struct store *s, cat_pquery_fn fn, void *arg)
{
	struct cat_walk	 wk;
	struct pq_list	 l = { fn, arg };

	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.ctx = &l;
	return tbl_walk(s->pqueries, NULL, NULL, 0, pq_list_cb, &wk);
}

static int
pq_dump_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct cat_pquery	 q;
	msgpack_packer		*pk = &wk->w->out.pk;

	if (tbl_rec_decode(CAT_PQUERY, v->data, v->size, &q) == -1)
		return -1;
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, SNAP_REC_PQUERY);
	cat_pquery_pack(pk, &q);
	cat_pquery_free(&q);
	wk->w->records++;
	return 0;
}

int
query_state_dump(struct store *s, struct snapshot_writer *w)
{
	struct cat_walk	 wk;

	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.w = w;
	return tbl_walk(s->pqueries, NULL, NULL, 0, pq_dump_cb, &wk);
}

int
query_state_clear(struct store *s, DB_TXN *txn)
{
	u_int32_t	 n;
	int		 rc;

	if ((rc = s->pqueries->truncate(s->pqueries, txn, &n, 0)) != 0)
		return tbl_db_fail("truncate", rc);
	return 0;
}

int
query_state_load(struct store *s, DB_TXN *txn, const msgpack_object *rec)
{
	struct cat_pquery	 q;
	struct cat_key		 k;
	int			 rc = -1;

	if (rec->type != MSGPACK_OBJECT_ARRAY || rec->via.array.size != 2 ||
	    cat_pquery_unpack(&rec->via.array.ptr[1], &q) == -1)
		return -1;
	if (tbl_key_make(&k, q.id, NULL, NULL) == 0)
		rc = tbl_rec_put(s->pqueries, txn, CAT_PQUERY, &k, &q);
	cat_pquery_free(&q);
	return rc;
}
