/*
 * The state machine: commands in Raft log entries, applied in order
 * inside the store transaction of the group commit.  A command is the
 * MessagePack array [enum fsm_command, payload].  Results for writes
 * this server proposed are kept until the transaction is durable, then
 * sent by fsm_deliver().
 */
#include <stdlib.h>
#include <string.h>

#include "acl_rules.h"
#include "log.h"
#include "raftd.h"

/* A result waiting for the commit of the batch that produced it. */
struct outcome {
	TAILQ_ENTRY(outcome)	 entry;
	struct imsgev		*iev;
	uint32_t		 reqid;
	uint64_t		 index;
	struct kv_txn_result	 res;
	char			*token;		/* reads filtered for it */
};
static TAILQ_HEAD(, outcome)	 outbox = TAILQ_HEAD_INITIALIZER(outbox);

int
fsm_encode_kv_txn(struct kv_op *ops, size_t n, void **buf, size_t *len)
{
	struct mpack_out	 out;
	size_t			 i;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	msgpack_pack_uint8(&out.pk, FSM_KV_TXN);
	msgpack_pack_array(&out.pk, n);
	for (i = 0; i < n; i++)
		kv_op_pack(&out.pk, &ops[i]);
	*len = out.sbuf.size;
	*buf = msgpack_sbuffer_release(&out.sbuf);
	return 0;
}

static int
fsm_apply_kv_txn(struct raftd *r, DB_TXN *txn, uint64_t index,
    const msgpack_object *payload, struct kv_txn_result *res)
{
	struct kv_op	*ops;
	uint32_t	 i, n;
	int		 rc = -1;

	if (payload->type != MSGPACK_OBJECT_ARRAY ||
	    payload->via.array.size > KV_TXN_MAX_OPS)
		return -1;
	n = payload->via.array.size;
	if ((ops = calloc(n ? n : 1, sizeof(*ops))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (kv_op_unpack(&payload->via.array.ptr[i], &ops[i]) == -1)
			goto done;
	rc = kv_state_apply(&r->store, txn, index, ops, n, res,
	    watch_kv_changed, r);
 done:
	for (i = 0; i < n; i++)
		kv_op_free(&ops[i]);
	free(ops);
	return rc;
}

/*
 * Apply one committed entry.  -1 means the store failed or the entry
 * cannot be decoded: both are fatal, since every server must apply
 * every entry the same way.
 */
int
fsm_apply(struct raftd *r, DB_TXN *txn, const struct raft_entry *e)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct pending_write	 key, *pw;
	struct outcome		*o;
	struct kv_txn_result	 res;
	uint64_t		 cmd;
	int			 rc = -1;

	if (e->type != RAFT_ENTRY_NORMAL)
		return 0;	/* no-ops and configurations */
	memset(&res, 0, sizeof(res));
	if (mpack_parse(&u, e->data, e->len) == -1)
		return -1;
	a = &u.data;
	if (a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size == 2 &&
	    mpack_get_uint(&a->via.array.ptr[0], &cmd) == 0) {
		switch (cmd) {
		case FSM_KV_TXN:
			rc = fsm_apply_kv_txn(r, txn, e->index,
			    &a->via.array.ptr[1], &res);
			break;
		case FSM_CATALOG:
			rc = cat_apply(r, txn, e->index,
			    &a->via.array.ptr[1], &res);
			break;
		default:
			log_warnx("fsm: unknown command %llu at %llu",
			    (unsigned long long)cmd,
			    (unsigned long long)e->index);
		}
	}
	msgpack_unpacked_destroy(&u);
	if (rc == -1)
		return -1;

	key.index = e->index;
	if ((pw = RB_FIND(pending_tree, &r->pending, &key)) == NULL) {
		kv_txn_result_free(&res);
		return 0;
	}
	RB_REMOVE(pending_tree, &r->pending, pw);
	if ((o = calloc(1, sizeof(*o))) == NULL)
		fatal("fsm");
	o->iev = pw->iev;
	o->reqid = pw->reqid;
	o->index = e->index;
	o->res = res;
	o->token = pw->token;
	TAILQ_INSERT_TAIL(&outbox, o, entry);
	free(pw);
	return 0;
}

static void
outcome_free(struct outcome *o)
{
	kv_txn_result_free(&o->res);
	if (o->token != NULL) {
		explicit_bzero(o->token, strlen(o->token));
		free(o->token);
	}
	free(o);
}

static void
send_outcome(struct outcome *o)
{
	struct mpack_out	 out;
	msgpack_packer		*pk = &out.pk;
	struct kv_txn_result	*res = &o->res;
	const struct acl_authz	*az = NULL;
	char			 err[ACL_DENIED_MAX];
	size_t			 i, n;
	int			*keep = NULL, hide;

	/*
	 * With ACLs on, a transaction shows only the entries its token
	 * may read, as Consul filters them; a token gone since shows none.
	 */
	if (o->token != NULL && res->npairs > 0) {
		if ((keep = calloc(res->npairs, sizeof(*keep))) == NULL)
			fatal("fsm");
		hide = acl_authz_get(o->token, &az, err, sizeof(err)) != 0;
		for (i = n = 0; i < res->npairs; i++)
			if (!hide && acl_allowed(az, ACL_RES_KEY,
			    res->pairs[i].key, ACL_LEVEL_READ))
				keep[i] = 1;
	}
	for (i = n = 0; i < res->npairs; i++)
		if (keep == NULL || keep[i])
			n++;
	mpack_out_init(&out);
	msgpack_pack_array(pk, 6);
	if (res->ok)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	msgpack_pack_nil(pk);
	msgpack_pack_uint64(pk, o->index);
	msgpack_pack_uint64(pk, res->err_op);
	mpack_str(pk, res->ok ? NULL : res->err);
	msgpack_pack_array(pk, n);
	for (i = 0; i < res->npairs; i++) {
		if (keep != NULL && !keep[i])
			continue;
		msgpack_pack_array(pk, 2);
		kv_pair_pack(pk, &res->pairs[i], res->with_value[i]);
		if (res->with_value[i])
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
	}
	free(keep);
	if (out.sbuf.size > IMSG_MAX_DATA) {
		mpack_out_free(&out);
		kv_write_error(o->iev, o->reqid, "result too large");
		return;
	}
	if (imsgev_compose(o->iev, IMSG_WRITE_RESULT, o->reqid, -1,
	    out.sbuf.data, out.sbuf.size) == -1)
		fatal("fsm: compose");
	mpack_out_free(&out);
}

/* The batch could not be made durable: tell the writers. */
void
fsm_discard(struct raftd *r, const char *why)
{
	struct outcome	*o;

	while ((o = TAILQ_FIRST(&outbox)) != NULL) {
		TAILQ_REMOVE(&outbox, o, entry);
		kv_write_error(o->iev, o->reqid, why);
		outcome_free(o);
	}
}

/* The batch is durable: answer the writers. */
void
fsm_deliver(struct raftd *r)
{
	struct outcome	*o;

	while ((o = TAILQ_FIRST(&outbox)) != NULL) {
		TAILQ_REMOVE(&outbox, o, entry);
		send_outcome(o);
		outcome_free(o);
	}
}
