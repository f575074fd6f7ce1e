/*
 * Record, key and index helpers for the catalog tables (catalog_table.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_table.h"
#include "log.h"

void
tbl_dbt_set(DBT *d, const void *p, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)p;
	d->size = len;
}

int
tbl_db_fail(const char *what, int rc)
{
	store_errno = rc;
	log_warnx("catalog: %s: %s", what, db_strerror(rc));
	return -1;
}

/* The parts (a NULL ends them early) joined by NULs; -1 if too long. */
int
tbl_key_make(struct cat_key *k, const char *a, const char *b, const char *c)
{
	const char	*parts[3] = { a, b, c };
	size_t		 i, n;

	k->len = 0;
	for (i = 0; i < 3 && parts[i] != NULL; i++) {
		if ((n = strnlen(parts[i], CAT_STR_MAX + 1)) > CAT_STR_MAX)
			return -1;
		if (i > 0)
			k->buf[k->len++] = '\0';
		memcpy(k->buf + k->len, parts[i], n);
		k->len += n;
	}
	return 0;
}

int
tbl_str_ok(const char *s)
{
	return s != NULL && *s != '\0' &&
	    strnlen(s, CAT_STR_MAX + 1) <= CAT_STR_MAX;
}

void
tbl_rec_pack(enum cat_kind kind, const void *rec, struct mpack_out *out)
{
	mpack_out_init(out);
	switch (kind) {
	case CAT_NODE:
		cat_node_pack(&out->pk, rec);
		break;
	case CAT_SERVICE:
		cat_service_pack(&out->pk, rec);
		break;
	case CAT_CHECK:
		cat_check_pack(&out->pk, rec);
		break;
	case CAT_SESSION:
		cat_session_pack(&out->pk, rec);
		break;
	case CAT_PQUERY:
		cat_pquery_pack(&out->pk, rec);
		break;
	case CAT_ACL_TOKEN:
		acl_token_pack(&out->pk, rec);
		break;
	case CAT_ACL_POLICY:
		acl_policy_pack(&out->pk, rec);
		break;
	case CAT_ACL_ROLE:
		acl_role_pack(&out->pk, rec);
		break;
	}
}

int
tbl_rec_unpack(enum cat_kind kind, const msgpack_object *o, void *rec)
{
	switch (kind) {
	case CAT_NODE:
		return cat_node_unpack(o, rec);
	case CAT_SERVICE:
		return cat_service_unpack(o, rec);
	case CAT_CHECK:
		return cat_check_unpack(o, rec);
	case CAT_SESSION:
		return cat_session_unpack(o, rec);
	case CAT_PQUERY:
		return cat_pquery_unpack(o, rec);
	case CAT_ACL_TOKEN:
		return acl_token_unpack(o, rec);
	case CAT_ACL_POLICY:
		return acl_policy_unpack(o, rec);
	case CAT_ACL_ROLE:
		return acl_role_unpack(o, rec);
	}
	return -1;
}

void
tbl_rec_free(enum cat_kind kind, void *rec)
{
	switch (kind) {
	case CAT_NODE:
		cat_node_free(rec);
		break;
	case CAT_SERVICE:
		cat_service_free(rec);
		break;
	case CAT_CHECK:
		cat_check_free(rec);
		break;
	case CAT_SESSION:
		cat_session_free(rec);
		break;
	case CAT_PQUERY:
		cat_pquery_free(rec);
		break;
	case CAT_ACL_TOKEN:
		acl_token_free(rec);
		break;
	case CAT_ACL_POLICY:
		acl_policy_free(rec);
		break;
	case CAT_ACL_ROLE:
		acl_role_free(rec);
		break;
	}
}

int
tbl_rec_decode(enum cat_kind kind, const void *p, size_t len, void *rec)
{
	msgpack_unpacked	 u;
	int			 rc;

	if (mpack_parse(&u, p, len) == -1) {
		log_warnx("catalog: damaged record");
		return -1;
	}
	rc = tbl_rec_unpack(kind, &u.data, rec);
	msgpack_unpacked_destroy(&u);
	if (rc == -1)
		log_warnx("catalog: damaged record");
	return rc;
}

/* 0 and the record, 1 if absent, -1 on an error. */
int
tbl_rec_get(DB *db, DB_TXN *txn, enum cat_kind kind, const struct cat_key *k,
    void *rec)
{
	DBT	 key, v;
	int	 rc;

	tbl_dbt_set(&key, k->buf, k->len);
	memset(&v, 0, sizeof(v));
	v.flags = DB_DBT_MALLOC;
	if ((rc = db->get(db, txn, &key, &v, 0)) == DB_NOTFOUND)
		return 1;
	if (rc != 0)
		return tbl_db_fail("get", rc);
	rc = tbl_rec_decode(kind, v.data, v.size, rec);
	free(v.data);
	return rc;
}

/* 0 if the key is there, 1 if not, -1 on an error. */
int
tbl_key_exists(DB *db, DB_TXN *txn, const struct cat_key *k)
{
	DBT	 key, v;
	int	 rc;

	tbl_dbt_set(&key, k->buf, k->len);
	memset(&v, 0, sizeof(v));
	v.flags = DB_DBT_PARTIAL;	/* no data wanted */
	if ((rc = db->get(db, txn, &key, &v, 0)) == DB_NOTFOUND)
		return 1;
	if (rc != 0)
		return tbl_db_fail("get", rc);
	return 0;
}

int
tbl_rec_put(DB *db, DB_TXN *txn, enum cat_kind kind, const struct cat_key *k,
    const void *rec)
{
	struct mpack_out	 out;
	DBT			 key, v;
	int			 rc;

	tbl_rec_pack(kind, rec, &out);
	tbl_dbt_set(&key, k->buf, k->len);
	tbl_dbt_set(&v, out.sbuf.data, out.sbuf.size);
	rc = db->put(db, txn, &key, &v, 0);
	mpack_out_free(&out);
	if (rc != 0)
		return tbl_db_fail("put", rc);
	return 0;
}

int
tbl_key_put(DB *db, DB_TXN *txn, const struct cat_key *k)
{
	DBT	 key, v;
	int	 rc;

	tbl_dbt_set(&key, k->buf, k->len);
	tbl_dbt_set(&v, "", 0);
	if ((rc = db->put(db, txn, &key, &v, 0)) != 0)
		return tbl_db_fail("put", rc);
	return 0;
}

/* 0 deleted, 1 was not there, -1 on an error. */
int
tbl_key_del(DB *db, DB_TXN *txn, const struct cat_key *k)
{
	DBT	 key;
	int	 rc;

	tbl_dbt_set(&key, k->buf, k->len);
	if ((rc = db->del(db, txn, &key, 0)) == DB_NOTFOUND)
		return 1;
	if (rc != 0)
		return tbl_db_fail("del", rc);
	return 0;
}

/* Whether two records pack the same. */
int
tbl_rec_same(enum cat_kind kind, const void *a, const void *b)
{
	struct mpack_out	 pa, pb;
	int			 same;

	tbl_rec_pack(kind, a, &pa);
	tbl_rec_pack(kind, b, &pb);
	same = pa.sbuf.size == pb.sbuf.size &&
	    memcmp(pa.sbuf.data, pb.sbuf.data, pa.sbuf.size) == 0;
	mpack_out_free(&pa);
	mpack_out_free(&pb);
	return same;
}

/*
 * Walk the records of db whose key starts with prefix, in key order.
 * Returns 0, also when fn stopped the walk, or -1.
 */
int
tbl_walk(DB *db, DB_TXN *txn, const void *prefix, size_t plen, walk_fn fn,
    struct cat_walk *wk)
{
	DBC	*c;
	DBT	 k, v;
	int	 rc, ret = 0, flag = plen > 0 ? DB_SET_RANGE : DB_FIRST;

	if ((rc = db->cursor(db, txn, &c, 0)) != 0)
		return tbl_db_fail("cursor", rc);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.flags = v.flags = DB_DBT_REALLOC;
	if ((k.data = malloc(plen + 1)) == NULL) {
		c->close(c);
		return -1;
	}
	if (plen > 0)
		memcpy(k.data, prefix, plen);
	k.size = plen;
	while ((rc = c->get(c, &k, &v, flag)) == 0) {
		flag = DB_NEXT;
		if (k.size < plen ||
		    (plen > 0 && memcmp(k.data, prefix, plen) != 0))
			break;
		if ((ret = fn(wk, c, &k, &v)) != 0)
			break;
	}
	if (rc != 0 && rc != DB_NOTFOUND)
		ret = tbl_db_fail("cursor get", rc);
	free(k.data);
	free(v.data);
	if ((rc = c->close(c)) != 0 && ret >= 0)
		ret = tbl_db_fail("cursor close", rc);
	return ret == -1 ? -1 : 0;
}

/* Move a table index up to index. */
int
tbl_index_bump(struct store *s, DB_TXN *txn, const char *table, uint64_t index)
{
	DBT		 k, v;
	unsigned char	 buf[8];
	int		 rc;

	tbl_dbt_set(&k, table, strlen(table));
	memset(&v, 0, sizeof(v));
	v.data = buf;
	v.ulen = sizeof(buf);
	v.flags = DB_DBT_USERMEM;
	rc = s->tables->get(s->tables, txn, &k, &v, 0);
	if (rc == 0 && v.size == sizeof(buf) && be64_get(buf) >= index)
		return 0;
	if (rc != 0 && rc != DB_NOTFOUND)
		return tbl_db_fail("get index", rc);
	be64_put(buf, index);
	tbl_dbt_set(&v, buf, sizeof(buf));
	if ((rc = s->tables->put(s->tables, txn, &k, &v, 0)) != 0)
		return tbl_db_fail("put index", rc);
	return 0;
}

/* Refuse a change: err says why; returns 1. */
int
tbl_refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return 1;
}
