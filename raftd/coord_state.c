/*
 * The coordinates table (coord_state.h).  A batch is checked whole
 * before anything is written, as a registration is; an entry whose node
 * is not in the catalog is skipped, as Consul skips it: a coordinate
 * lives only as long as its node, and its removal is tied to the
 * node's deregistration.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog_table.h"
#include "coord_state.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"

struct coord_walk {
	struct store	*s;
	DB_TXN		*txn;
	coord_state_fn	 fn;
	void		*arg;
	size_t		 deleted;
	struct snapshot_writer *w;
};

static int
coord_put(struct store *s, DB_TXN *txn, const char *node,
    const char *segment, const struct coord *c)
{
	struct mpack_out	 out;
	struct cat_key		 k;
	DBT			 key, v;
	int			 rc;

	if (tbl_key_make(&k, node, segment, NULL) == -1)
		return -1;
	mpack_out_init(&out);
	coord_entry_pack(&out.pk, node, segment, c);
	tbl_dbt_set(&key, k.buf, k.len);
	tbl_dbt_set(&v, out.sbuf.data, out.sbuf.size);
	rc = s->coords->put(s->coords, txn, &key, &v, 0);
	mpack_out_free(&out);
	if (rc != 0)
		return tbl_db_fail("put", rc);
	return 0;
}

int
coord_state_batch(struct store *s, DB_TXN *txn, uint64_t index,
    const msgpack_object *batch)
{
	char		 node[CAT_STR_MAX + 1], seg[CAT_STR_MAX + 1];
	struct coord	 c;
	struct cat_key	 k;
	uint32_t	 i;
	size_t		 written = 0;
	int		 rc;

	if (batch->type != MSGPACK_OBJECT_ARRAY ||
	    batch->via.array.size > COORD_BATCH_MAX)
		return 1;
	for (i = 0; i < batch->via.array.size; i++)
		if (coord_entry_unpack(&batch->via.array.ptr[i], node,
		    sizeof(node), seg, sizeof(seg), &c) == -1)
			return 1;
	for (i = 0; i < batch->via.array.size; i++) {
		(void)coord_entry_unpack(&batch->via.array.ptr[i], node,
		    sizeof(node), seg, sizeof(seg), &c);
		if (tbl_key_make(&k, node, NULL, NULL) == -1)
			continue;
		if ((rc = tbl_key_exists(s->cat_nodes, txn, &k)) == -1)
			return -1;
		if (rc == 1)
			continue;
		if (coord_put(s, txn, node, seg, &c) == -1)
			return -1;
		written++;
	}
	if (written > 0 && tbl_index_bump(s, txn, COORDS_TABLE, index) == -1)
		return -1;
	return 0;
}

static int
coord_del_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct coord_walk	*cw = wk->ctx;
	int			 rc;

	if ((rc = c->del(c, 0)) != 0)
		return tbl_db_fail("del", rc);
	cw->deleted++;
	return 0;
}

int
coord_state_node_gone(struct store *s, DB_TXN *txn, uint64_t index,
    const char *node)
{
	struct cat_walk		 wk;
	struct coord_walk	 cw;
	struct cat_key		 prefix;

	if (node == NULL || tbl_key_make(&prefix, node, "", NULL) == -1)
		return 0;
	memset(&wk, 0, sizeof(wk));
	memset(&cw, 0, sizeof(cw));
	wk.ctx = &cw;
	if (tbl_walk(s->coords, txn, prefix.buf, prefix.len, coord_del_cb,
	    &wk) == -1)
		return -1;
	if (cw.deleted > 0 && tbl_index_bump(s, txn, COORDS_TABLE,
	    index) == -1)
		return -1;
	return 0;
}

/* A stored record, decoded; -1 (logged) if it is damaged. */
static int
coord_rec_decode(const DBT *v, char *node, char *seg, struct coord *c)
{
	msgpack_unpacked	 u;
	int			 rc;

	if (mpack_parse(&u, v->data, v->size) == -1) {
		log_warnx("coordinates: damaged record");
		return -1;
	}
	rc = coord_entry_unpack(&u.data, node, CAT_STR_MAX + 1, seg,
	    CAT_STR_MAX + 1, c);
	msgpack_unpacked_destroy(&u);
	if (rc == -1)
		log_warnx("coordinates: damaged record");
	return rc;
}

static int
coord_walk_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct coord_walk	*cw = wk->ctx;
	char			 node[CAT_STR_MAX + 1], seg[CAT_STR_MAX + 1];
	struct coord		 co;

	if (coord_rec_decode(v, node, seg, &co) == -1)
		return -1;
	return cw->fn(cw->arg, node, seg, &co) != 0;
}

int
coord_state_walk(struct store *s, const char *node, coord_state_fn fn,
    void *arg)
{
	struct cat_walk		 wk;
	struct coord_walk	 cw;
	struct cat_key		 prefix;

	prefix.len = 0;
	if (node != NULL && tbl_key_make(&prefix, node, "", NULL) == -1)
		return 0;
	memset(&wk, 0, sizeof(wk));
	memset(&cw, 0, sizeof(cw));
	cw.fn = fn;
	cw.arg = arg;
	wk.ctx = &cw;
	return tbl_walk(s->coords, NULL, prefix.buf, prefix.len, coord_walk_cb, &wk);
}

static int
coord_dump_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct coord_walk	*cw = wk->ctx;
	char			 node[CAT_STR_MAX + 1], seg[CAT_STR_MAX + 1];
	struct coord		 co;
	msgpack_packer		*pk = &cw->w->out.pk;

	if (coord_rec_decode(v, node, seg, &co) == -1)
		return -1;
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, SNAP_REC_COORD);
	mpack_str(pk, node);
	mpack_str(pk, seg);
	coord_pack(pk, &co);
	cw->w->records++;
	return 0;
}

int
coord_state_dump(struct store *s, struct snapshot_writer *w)
{
	struct cat_walk		 wk;
	struct coord_walk	 cw;

	memset(&wk, 0, sizeof(wk));
	memset(&cw, 0, sizeof(cw));
	cw.w = w;
	wk.ctx = &cw;
	return tbl_walk(s->coords, NULL, NULL, 0, coord_dump_cb, &wk);
}

int
coord_state_clear(struct store *s, DB_TXN *txn)
{
	u_int32_t	 n;
	int		 rc;

	if ((rc = s->coords->truncate(s->coords, txn, &n, 0)) != 0)
		return tbl_db_fail("truncate", rc);
	return 0;
}

/* [SNAP_REC_COORD, node, segment, coordinate]. */
int
coord_state_load(struct store *s, DB_TXN *txn, const msgpack_object *rec)
{
	char		 node[CAT_STR_MAX + 1], seg[CAT_STR_MAX + 1];
	struct coord	 c;

	if (rec->type != MSGPACK_OBJECT_ARRAY || rec->via.array.size != 4 ||
	    mpack_copy_str(&rec->via.array.ptr[1], node, sizeof(node)) == -1 ||
	    node[0] == '\0' ||
	    mpack_copy_str(&rec->via.array.ptr[2], seg, sizeof(seg)) == -1 ||
	    coord_unpack(&rec->via.array.ptr[3], &c) == -1)
		return -1;
	return coord_put(s, txn, node, seg, &c);
}
