/*
 * raftd's store and kv table on a real Berkeley DB environment in a
 * temporary directory: the log (append, replace a suffix, terms, reopen),
 * the hard state, and every KV operation with Consul's index rules,
 * transaction rollback and persistence across a reopen.
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
#include "../../raftd/raft.c"

#include "store_fixture.h"

static void
reopen(struct store *s)
{
	store_close(s);
	CHECK(store_open(s, STORE_DIR) == 0);
}

static void
no_change(void *arg, const char *k, size_t l)
{
	int	*n = arg;

	(*n)++;
}

/* Apply one transaction as the state machine would, committed. */
static int
apply(struct store *s, uint64_t index, struct kv_op *ops, size_t n,
    struct kv_txn_result *r)
{
	DB_TXN	*txn = store_begin(s);
	int	 changes = 0;

	CHECK(kv_state_apply(s, txn, index, ops, n, r, no_change,
	    &changes) == 0);
	CHECK(store_commit(s, txn, 1) == 0);
	return changes;
}

static struct kv_op
op(enum kv_verb verb, const char *key, const char *value, uint64_t index)
{
	struct kv_op	 o;

	memset(&o, 0, sizeof(o));
	o.verb = verb;
	o.key = (char *)key;
	o.keylen = strlen(key);
	o.value = (unsigned char *)value;
	o.vlen = value ? strlen(value) : 0;
	o.index = index;
	return o;
}

static void
test_log(void)
{
	struct store		 s;
	struct raft_entry	 e[3], got;
	struct raft_hardstate	 hs, hs2;
	uint64_t		 t;
	DB_TXN			*txn;
	int			 i;

	fresh(&s);
	CHECK(s.first_index == 1 && s.last_index == 0);
	for (i = 0; i < 3; i++) {
		e[i].index = i + 1;
		e[i].term = 1;
		e[i].type = RAFT_ENTRY_NORMAL;
		e[i].data = "abc";
		e[i].len = 3;
	}
	txn = store_begin(&s);
	CHECK(store_log_append(&s, txn, e, 3) == 0);
	memset(&hs, 0, sizeof(hs));
	hs.term = 7;
	strlcpy(hs.vote, "node-a", sizeof(hs.vote));
	hs.commit = 3;
	CHECK(store_hardstate_save(&s, txn, &hs) == 0);
	CHECK(store_commit(&s, txn, 1) == 0);
	CHECK(s.last_index == 3);

	/* A follower's conflicting suffix is replaced. */
	e[0].index = 2;
	e[0].term = 2;
	e[0].data = "x";
	e[0].len = 1;
	txn = store_begin(&s);
	CHECK(store_log_append(&s, txn, e, 1) == 0);
	CHECK(store_commit(&s, txn, 1) == 0);
	CHECK(s.last_index == 2);

	/* Appending past the end would leave a hole. */
	e[0].index = 9;
	txn = store_begin(&s);
	CHECK(store_log_append(&s, txn, e, 1) == -1);
	store_abort(txn);

	reopen(&s);
	CHECK(s.first_index == 1 && s.last_index == 2);
	CHECK(store_log_term(&s, 2, &t) == 0 && t == 2);
	CHECK(store_log_term(&s, 3, &t) == -1);
	CHECK(store_log_get(&s, 2, &got) == 0);
	CHECK(got.len == 1 && memcmp(got.data, "x", 1) == 0);
	store_entry_free(&got);
	CHECK(store_hardstate_load(&s, &hs2) == 0);
	CHECK(hs2.term == 7 && hs2.commit == 3 &&
	    strcmp(hs2.vote, "node-a") == 0);
	done(&s);
}

static void
test_set_get_cas(void)
{
	struct store		 s;
	struct kv_txn_result	 r;
	struct kv_pair		 p;
	struct kv_op		 o;

	fresh(&s);
	o = op(KV_SET, "a/b", "v1", 0);
	o.flags = 42;
	CHECK(apply(&s, 5, &o, 1, &r) == 1);
	CHECK(r.ok && r.npairs == 1 && r.pairs[0].modify_index == 5);
	kv_txn_result_free(&r);
	CHECK(kv_state_get(&s, NULL, "a/b", 3, &p) == 0);
	CHECK(p.create_index == 5 && p.modify_index == 5 && p.flags == 42);
	CHECK(p.vlen == 2 && memcmp(p.value, "v1", 2) == 0);
	kv_pair_free(&p);
	CHECK(kv_state_table_index(&s) == 5);

	/* cas=0 is create-only. */
	o = op(KV_CAS, "a/b", "v2", 0);
	apply(&s, 6, &o, 1, &r);
	CHECK(!r.ok && strstr(r.err, "index is stale") != NULL);
	kv_txn_result_free(&r);
	o = op(KV_CAS, "a/b", "v2", 4);
	apply(&s, 6, &o, 1, &r);
	CHECK(!r.ok);
	kv_txn_result_free(&r);
	o = op(KV_CAS, "a/b", "v2", 5);
	apply(&s, 7, &o, 1, &r);
	CHECK(r.ok);
	kv_txn_result_free(&r);
	CHECK(kv_state_get(&s, NULL, "a/b", 3, &p) == 0);
	CHECK(p.create_index == 5 && p.modify_index == 7);
	kv_pair_free(&p);
	CHECK(kv_state_key_index(&s, "a/b", 3) == 7);
	/* An absent key reports the table index. */
	CHECK(kv_state_key_index(&s, "nope", 4) == 7);
	done(&s);
}

static void
test_delete_and_tombstones(void)
{
	struct store		 s;
	struct kv_txn_result	 r;
	struct kv_op		 o;
	struct kv_pair		 p;

	fresh(&s);
	o = op(KV_SET, "x/1", "a", 0);
	apply(&s, 2, &o, 1, &r);
	kv_txn_result_free(&r);
	o = op(KV_SET, "x/2", "b", 0);
	apply(&s, 3, &o, 1, &r);
	kv_txn_result_free(&r);
	o = op(KV_SET, "y", "c", 0);
	apply(&s, 4, &o, 1, &r);
	kv_txn_result_free(&r);
	CHECK(kv_state_prefix_index(&s, "x/", 2) == 3);

	o = op(KV_DELETE, "x/2", NULL, 0);
	CHECK(apply(&s, 9, &o, 1, &r) == 1);
	kv_txn_result_free(&r);
	/* The tombstone keeps the prefix's index moving. */
	CHECK(kv_state_prefix_index(&s, "x/", 2) == 9);
	CHECK(kv_state_get(&s, NULL, "x/2", 3, &p) == 1);

	/* delete-cas: absent is success, a stale index is not. */
	o = op(KV_DELETE_CAS, "x/2", NULL, 77);
	apply(&s, 10, &o, 1, &r);
	CHECK(r.ok);
	kv_txn_result_free(&r);
	o = op(KV_DELETE_CAS, "x/1", NULL, 3);
	apply(&s, 10, &o, 1, &r);
	CHECK(!r.ok);
	kv_txn_result_free(&r);

	o = op(KV_DELETE_TREE, "x/", NULL, 0);
	CHECK(apply(&s, 11, &o, 1, &r) == 1);
	kv_txn_result_free(&r);
	CHECK(kv_state_get(&s, NULL, "x/1", 3, &p) == 1);
	CHECK(kv_state_get(&s, NULL, "y", 1, &p) == 0);
	kv_pair_free(&p);
	CHECK(kv_state_table_index(&s) == 11);
	done(&s);
}

static void
test_txn_rollback(void)
{
	struct store		 s;
	struct kv_txn_result	 r;
	struct kv_op		 o[3];
	struct kv_pair		 p;

	fresh(&s);
	o[0] = op(KV_SET, "t/a", "1", 0);
	o[1] = op(KV_SET, "t/b", "2", 0);
	o[2] = op(KV_CHECK_NOT_EXISTS, "t/a", NULL, 0);
	apply(&s, 3, o, 3, &r);
	CHECK(!r.ok && r.err_op == 2 && r.npairs == 0);
	CHECK(strcmp(r.err, "key \"t/a\" exists") == 0);
	kv_txn_result_free(&r);
	CHECK(kv_state_get(&s, NULL, "t/a", 3, &p) == 1);
	CHECK(kv_state_table_index(&s) == 0);

	o[2] = op(KV_GET, "t/a", NULL, 0);
	apply(&s, 4, o, 3, &r);
	CHECK(r.ok && r.npairs == 3);
	CHECK(r.with_value[2] && r.pairs[2].vlen == 1);
	kv_txn_result_free(&r);

	o[0] = op(KV_CHECK_INDEX, "t/a", NULL, 3);
	apply(&s, 5, o, 1, &r);
	CHECK(!r.ok && strstr(r.err, "current modify index 4 != 3"));
	kv_txn_result_free(&r);
	o[0] = op(KV_GET_TREE, "t/", NULL, 0);
	apply(&s, 5, o, 1, &r);
	CHECK(r.ok && r.npairs == 2);
	kv_txn_result_free(&r);
	o[0] = op(KV_LOCK, "t/a", "", 0);
	o[0].session = "0d2f3b6a-0000-0000-0000-000000000000";
	apply(&s, 6, o, 1, &r);
	CHECK(!r.ok && strncmp(r.err, "invalid session", 15) == 0);
	kv_txn_result_free(&r);

	reopen(&s);
	CHECK(kv_state_get(&s, NULL, "t/b", 3, &p) == 0);
	CHECK(p.modify_index == 4);
	kv_pair_free(&p);
	done(&s);
}

static int
count_cb(void *arg, struct kv_pair *p)
{
	int	*n = arg;

	(*n)++;
	kv_pair_free(p);
	return 0;
}

static void
test_scan_order(void)
{
	struct store		 s;
	struct kv_txn_result	 r;
	struct kv_op		 o;
	const char		*keys[] = { "b", "a/2", "a/1", "a", "ab" };
	size_t			 i;
	int			 n = 0;

	fresh(&s);
	for (i = 0; i < 5; i++) {
		o = op(KV_SET, keys[i], "v", 0);
		apply(&s, i + 1, &o, 1, &r);
		kv_txn_result_free(&r);
	}
	CHECK(kv_state_scan(&s, NULL, "a", 1, count_cb, &n) == 0 && n == 4);
	n = 0;
	CHECK(kv_state_scan(&s, NULL, "a/", 2, count_cb, &n) == 0 && n == 2);
	n = 0;
	CHECK(kv_state_scan(&s, NULL, "", 0, count_cb, &n) == 0 && n == 5);
	done(&s);
}

static int
load_cb(void *arg, enum snapshot_record type, const msgpack_object *rec)
{
	struct store	*s = arg;
	DB_TXN		*txn = store_begin(s);
	int		 rc;

	rc = kv_state_load(s, txn, type, rec);
	CHECK(store_commit(s, txn, 0) == 0);
	return rc;
}

/* dump -> parse -> load into an empty store gives the same tables. */
static void
test_snapshot_roundtrip(void)
{
	struct store		 s, t;
	struct kv_txn_result	 r;
	struct kv_op		 o;
	struct snapshot_writer	 w;
	struct snapshot_info	 info;
	struct kv_pair		 p;
	const char		*why;
	char			 key[32], val[32];
	int			 i, n = 0;

	fresh(&s);
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "snap/%02d", i);
		snprintf(val, sizeof(val), "value %d", i);
		o = op(KV_SET, key, val, 0);
		o.flags = 0xe0f69a2baa414de0ULL;
		apply(&s, i + 1, &o, 1, &r);
		kv_txn_result_free(&r);
	}
	o = op(KV_DELETE, "snap/07", NULL, 0);
	apply(&s, 60, &o, 1, &r);
	kv_txn_result_free(&r);

	snapshot_begin(&w, 60, 3, 1, "conf", 4);
	CHECK(kv_state_dump(&s, &w) == 0);
	snapshot_finish(&w);
	CHECK(snapshot_parse(w.out.sbuf.data, w.out.sbuf.size, &info, NULL,
	    NULL, &why) == 0);
	CHECK(info.index == 60 && info.term == 3 && info.conflen == 4);
	CHECK(info.count[SNAP_REC_KV] == 49);
	CHECK(info.count[SNAP_REC_TOMBSTONE] == 1);
	CHECK(info.count[SNAP_REC_TABLE] == 1);

	/* A flipped byte anywhere is caught by the checksum. */
	w.out.sbuf.data[w.out.sbuf.size / 2] ^= 1;
	CHECK(snapshot_parse(w.out.sbuf.data, w.out.sbuf.size, &info, NULL,
	    NULL, &why) == -1);
	CHECK(strstr(why, "checksum") != NULL);
	w.out.sbuf.data[w.out.sbuf.size / 2] ^= 1;

	/* Stores use relative paths: one open at a time. */
	done(&s);
	fresh(&t);
	CHECK(snapshot_parse(w.out.sbuf.data, w.out.sbuf.size, &info, load_cb,
	    &t, &why) == 0);
	CHECK(kv_state_scan(&t, NULL, "snap/", 5, count_cb, &n) == 0);
	CHECK(n == 49);
	CHECK(kv_state_get(&t, NULL, "snap/42", 7, &p) == 0);
	CHECK(p.flags == 0xe0f69a2baa414de0ULL && p.modify_index == 43);
	CHECK(p.vlen == 8 && memcmp(p.value, "value 42", 8) == 0);
	kv_pair_free(&p);
	CHECK(kv_state_table_index(&t) == 60);
	CHECK(kv_state_prefix_index(&t, "snap/0", 6) == 60);
	snapshot_writer_free(&w);
	done(&t);
}

int
main(void)
{
	const struct test_case	 cases[] = {
		TEST_CASE(test_log),
		TEST_CASE(test_set_get_cas),
		TEST_CASE(test_delete_and_tombstones),
		TEST_CASE(test_txn_rollback),
		TEST_CASE(test_scan_order),
		TEST_CASE(test_snapshot_roundtrip),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
