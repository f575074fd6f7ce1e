/*
 * raftd's coordinates table on a real Berkeley DB environment in a
 * temporary directory: batches (nodes not in the catalog skipped, a
 * malformed batch refused whole), the table index, removal with the
 * node, and a snapshot round trip.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#include "../../raftd/store.c"
#include "../../raftd/kv_state.c"
#include "../../raftd/catalog_table.c"
#include "../../raftd/catalog_state.c"
#include "../../raftd/session_state.c"
#include "../../raftd/query_state.c"
#include "../../raftd/coord_state.c"
#include "../../raftd/raft.c"

#include "store_fixture.h"

static void
add_node(struct store *s, uint64_t index, const char *name)
{
	struct cat_register	 r;
	char			 err[CAT_ERR_MAX];
	DB_TXN			*txn;

	memset(&r, 0, sizeof(r));
	r.node.node = (char *)name;
	r.node.address = (char *)"10.0.0.1";
	txn = store_begin(s);
	CHECK(cat_state_register(s, txn, index, &r, err, sizeof(err)) == 0);
	CHECK(store_commit(s, txn, 0) == 0);
}

static void
coord_x(struct coord *c, double x)
{
	coord_init(c);
	c->vec[0] = x;
}

/* Apply a batch packed in out; the state's answer. */
static int
apply(struct store *s, uint64_t index, struct mpack_out *out)
{
	msgpack_unpacked	 u;
	DB_TXN			*txn;
	int			 rc;

	CHECK(mpack_parse(&u, out->sbuf.data, out->sbuf.size) == 0);
	txn = store_begin(s);
	rc = coord_state_batch(s, txn, index, &u.data);
	CHECK(store_commit(s, txn, 0) == 0);
	msgpack_unpacked_destroy(&u);
	mpack_out_free(out);
	return rc;
}

struct seen {
	char	 text[512];
	size_t	 len;
};

static int
seen_cb(void *arg, const char *node, const char *seg, const struct coord *c)
{
	struct seen	*sn = arg;
	int		 n;

	n = snprintf(sn->text + sn->len, sizeof(sn->text) - sn->len,
	    "%s/%s=%g ", node, seg, c->vec[0]);
	if (n > 0 && (size_t)n < sizeof(sn->text) - sn->len)
		sn->len += n;
	return 0;
}

static const char *
walk(struct store *s, const char *node)
{
	static struct seen	 sn;

	memset(&sn, 0, sizeof(sn));
	CHECK(coord_state_walk(s, node, seen_cb, &sn) == 0);
	return sn.text;
}

static void
test_batch(void)
{
	struct store		 s;
	struct mpack_out	 out;
	struct coord		 c;
	size_t			 i;

	fresh(&s);
	add_node(&s, 2, "n1");
	add_node(&s, 3, "n2");
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 4);
	coord_x(&c, 0.001);
	coord_entry_pack(&out.pk, "n1", "", &c);
	coord_x(&c, 0.002);
	coord_entry_pack(&out.pk, "ghost", "", &c);
	coord_x(&c, 0.003);
	coord_entry_pack(&out.pk, "n2", "", &c);
	coord_x(&c, 0.004);
	coord_entry_pack(&out.pk, "n2", "seg", &c);
	CHECK(apply(&s, 5, &out) == 0);
	CHECK_STR(walk(&s, NULL), "n1/=0.001 n2/=0.003 n2/seg=0.004 ");
	CHECK_STR(walk(&s, "n2"), "n2/=0.003 n2/seg=0.004 ");
	CHECK_STR(walk(&s, "n"), "");
	CHECK(cat_state_index(&s, COORDS_TABLE) == 5);

	/* Only unknown nodes: nothing written, the index stays. */
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 1);
	coord_entry_pack(&out.pk, "ghost", "", &c);
	CHECK(apply(&s, 6, &out) == 0);
	CHECK(cat_state_index(&s, COORDS_TABLE) == 5);

	/* One bad entry (7 dimensions): the batch is refused whole. */
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	coord_x(&c, 0.009);
	coord_entry_pack(&out.pk, "n1", "", &c);
	msgpack_pack_array(&out.pk, 3);
	mpack_str(&out.pk, "n2");
	mpack_str(&out.pk, "");
	msgpack_pack_array(&out.pk, 4);
	msgpack_pack_array(&out.pk, 7);
	for (i = 0; i < 7; i++)
		msgpack_pack_double(&out.pk, 0);
	msgpack_pack_double(&out.pk, 1.5);
	msgpack_pack_double(&out.pk, 0);
	msgpack_pack_double(&out.pk, 1e-5);
	CHECK(apply(&s, 7, &out) == 1);
	CHECK_STR(walk(&s, "n1"), "n1/=0.001 ");

	/* Not an array; too many entries; an empty node name. */
	mpack_out_init(&out);
	mpack_str(&out.pk, "x");
	CHECK(apply(&s, 8, &out) == 1);
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, COORD_BATCH_MAX + 1);
	for (i = 0; i < COORD_BATCH_MAX + 1; i++)
		coord_entry_pack(&out.pk, "n1", "", &c);
	CHECK(apply(&s, 8, &out) == 1);
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 1);
	coord_entry_pack(&out.pk, "", "", &c);
	CHECK(apply(&s, 8, &out) == 1);
	CHECK(cat_state_index(&s, COORDS_TABLE) == 5);
	done(&s);
}

static void
test_node_gone(void)
{
	struct store		 s;
	struct mpack_out	 out;
	struct coord		 c;
	DB_TXN			*txn;

	fresh(&s);
	add_node(&s, 2, "n1");
	add_node(&s, 3, "n10");
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	coord_x(&c, 0.001);
	coord_entry_pack(&out.pk, "n1", "", &c);
	coord_entry_pack(&out.pk, "n1", "a", &c);
	coord_entry_pack(&out.pk, "n10", "", &c);
	CHECK(apply(&s, 4, &out) == 0);
	txn = store_begin(&s);
	CHECK(coord_state_node_gone(&s, txn, 9, "n1") == 0);
	CHECK(coord_state_node_gone(&s, txn, 10, "nobody") == 0);
	CHECK(store_commit(&s, txn, 0) == 0);
	/* n1's go, both segments; n10 (n1 is a prefix of it) stays. */
	CHECK_STR(walk(&s, NULL), "n10/=0.001 ");
	CHECK(cat_state_index(&s, COORDS_TABLE) == 9);
	done(&s);
}

static int
load_cb(void *arg, enum snapshot_record type, const msgpack_object *rec)
{
	struct store	*s = arg;

	if (type != SNAP_REC_COORD)
		return 0;
	return coord_state_load(s, NULL, rec);
}

static void
test_snapshot(void)
{
	struct store		 s;
	struct mpack_out	 out;
	struct snapshot_writer	 w;
	struct snapshot_info	 info;
	struct coord		 c;
	msgpack_object		 bad;
	const char		*why;
	DB_TXN			*txn;

	fresh(&s);
	add_node(&s, 2, "a");
	add_node(&s, 3, "b");
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	coord_x(&c, -0.25);
	coord_entry_pack(&out.pk, "a", "", &c);
	coord_x(&c, 0.5);
	coord_entry_pack(&out.pk, "b", "", &c);
	CHECK(apply(&s, 4, &out) == 0);
	snapshot_begin(&w, 4, 1, 0, NULL, 0);
	CHECK(coord_state_dump(&s, &w) == 0);
	snapshot_finish(&w);
	CHECK(snapshot_parse(w.out.sbuf.data, w.out.sbuf.size, &info, NULL,
	    NULL, &why) == 0);
	CHECK(info.count[SNAP_REC_COORD] == 2);
	txn = store_begin(&s);
	CHECK(coord_state_clear(&s, txn) == 0);
	CHECK(store_commit(&s, txn, 0) == 0);
	CHECK_STR(walk(&s, NULL), "");
	CHECK(snapshot_parse(w.out.sbuf.data, w.out.sbuf.size, &info, load_cb,
	    &s, &why) == 0);
	CHECK_STR(walk(&s, NULL), "a/=-0.25 b/=0.5 ");
	snapshot_writer_free(&w);
	/* A malformed record is refused. */
	memset(&bad, 0, sizeof(bad));
	bad.type = MSGPACK_OBJECT_NIL;
	CHECK(coord_state_load(&s, NULL, &bad) == -1);
	done(&s);
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_batch),
		TEST_CASE(test_node_gone),
		TEST_CASE(test_snapshot),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
