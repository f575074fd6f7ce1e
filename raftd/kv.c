/*
 * KV requests from apid, or forwarded by another agent (forward.c).
 * Reads that need the leader go to it unless we lead.  The leader
 * answers a default read from its state while its lease holds
 * (node_read_lease()) and a ?consistent one only after a ReadIndex
 * round (readindex.c); ?stale reads are answered by any server that has
 * heard from a leader (within ?max_stale, when given).  Answers go as
 * one IMSG_KV_ITEM per result and an IMSG_READ_END, or are parked by
 * watch.c until the index moves.  Writes are proposed to Raft on the
 * leader and answered once applied.
 */
#include <stdlib.h>
#include <string.h>

#include "acl_codec.h"
#include "acl_rules.h"
#include "catalog_codec.h"
#include "config.h"
#include "log.h"
#include "raftd.h"

#define KV_WAIT_MAX_MS		(600u * 1000)

static void	 read_end_full(struct imsgev *, uint32_t, uint64_t, int,
		    const char *, int, int);

void
kv_read_free(struct kv_read *rd)
{
	free(rd->key);
	free(rd->sep);
	if (rd->token != NULL) {
		explicit_bzero(rd->token, strlen(rd->token));
		free(rd->token);
	}
	memset(rd, 0, sizeof(*rd));
}

int
kv_read_parse(const void *buf, size_t len, struct kv_read *rd)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	const msgpack_object	*k;
	uint64_t		 mode, cons;
	int			 rc = -1;

	memset(rd, 0, sizeof(*rd));
	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	a = &u.data;
	/* Seven elements, then the caller's secret (apid always adds it). */
	if (a->type != MSGPACK_OBJECT_ARRAY || (a->via.array.size != 7 &&
	    a->via.array.size != 8))
		goto done;
	k = &a->via.array.ptr[0];
	if (k->type != MSGPACK_OBJECT_BIN || k->via.bin.size > KV_KEY_MAX ||
	    (k->via.bin.size > 0 &&
	    memchr(k->via.bin.ptr, '\0', k->via.bin.size) != NULL))
		goto done;
	if ((rd->key = malloc(k->via.bin.size + 1)) == NULL)
		goto done;
	if (k->via.bin.size > 0)
		memcpy(rd->key, k->via.bin.ptr, k->via.bin.size);
	rd->key[k->via.bin.size] = '\0';
	rd->keylen = k->via.bin.size;
	if (mpack_get_uint(&a->via.array.ptr[1], &mode) == -1 ||
	    mode > KV_READ_KEYS ||
	    mpack_get_str(&a->via.array.ptr[2], &rd->sep) == -1 ||
	    mpack_get_uint(&a->via.array.ptr[3], &rd->min_index) == -1 ||
	    mpack_get_uint(&a->via.array.ptr[4], &rd->wait_ms) == -1 ||
	    mpack_get_uint(&a->via.array.ptr[5], &cons) == -1 ||
	    cons > KV_CONS_CONSISTENT ||
	    mpack_get_uint(&a->via.array.ptr[6], &rd->max_stale_ms) == -1 ||
	    rd->wait_ms > KV_WAIT_MAX_MS * 2)
		goto done;
	if (a->via.array.size == 8 &&
	    (mpack_get_str(&a->via.array.ptr[7], &rd->token) == -1 ||
	    (rd->token != NULL && strlen(rd->token) > CAT_STR_MAX)))
		goto done;
	rd->mode = mode;
	rd->consistency = cons;
	rc = 0;
 done:
	msgpack_unpacked_destroy(&u);
	if (rc == -1)
		kv_read_free(rd);
	return rc;
}

void
read_end(struct imsgev *iev, uint32_t reqid, uint64_t index, int found,
    const char *error)
{
	read_end_served(iev, reqid, index, found, error, KV_CONS_DEFAULT);
}

void
read_end_served(struct imsgev *iev, uint32_t reqid, uint64_t index,
    int found, const char *error, int consistency)
{
	read_end_full(iev, reqid, index, found, error, consistency, 0);
}

/*
 * Whether a secret is the anonymous token's: Consul tells only other
 * callers that ACLs filtered their results.
 */
int
acl_anonymous(const char *secret)
{
	return secret == NULL || *secret == '\0' ||
	    strcmp(secret, ACL_ANONYMOUS_SECRET) == 0;
}

/* The end of a read whose results ACLs filtered (filtered != 0). */
void
read_end_acl(struct imsgev *iev, uint32_t reqid, uint64_t index,
    int found, int consistency, int filtered)
{
	read_end_full(iev, reqid, index, found, NULL, consistency, filtered);
}

static void
read_end_full(struct imsgev *iev, uint32_t reqid, uint64_t index,
    int found, const char *error, int consistency, int filtered)
{
	struct imsg_read_end	 end;

	memset(&end, 0, sizeof(end));
	end.consistency = consistency;
	end.filtered = filtered != 0;
	/* Consul never reports index 0: clients would spin on it. */
	end.index = index ? index : 1;
	end.known_leader = node_leader_addr(&raftd)[0] != '\0';
	end.last_contact_ms = node_last_contact_ms(&raftd);
	end.found = found;
	if (error != NULL)
		strlcpy(end.error, error, sizeof(end.error));
	if (imsgev_compose(iev, IMSG_READ_END, reqid, -1, &end,
	    sizeof(end)) == -1)
		fatal("kv: compose");
}

struct emit_ctx {
	struct imsgev		*iev;
	uint32_t		 reqid;
	struct kv_read		*rd;
	size_t			 n;
	char			*last;		/* keys mode: last emitted */
	size_t			 lastlen;
	const struct acl_authz	*authz;		/* NULL: ACLs off */
	int			 filtered;	/* something was hidden */
};

/* Whether the reader may see key (len bytes of it). */
static int
emit_readable(struct emit_ctx *e, const char *key, size_t len)
{
	char	*k;
	int	 ok;

	if (e->authz == NULL)
		return 1;
	if ((k = strndup(key, len)) == NULL)
		fatal("kv");
	ok = acl_allowed(e->authz, ACL_RES_KEY, k, ACL_LEVEL_READ);
	free(k);
	if (!ok)
		e->filtered = 1;
	return ok;
}

static void
emit(struct emit_ctx *e, uint32_t type, struct mpack_out *out)
{
	if (imsgev_compose(e->iev, type, e->reqid, -1, out->sbuf.data,
	    out->sbuf.size) == -1)
		fatal("kv: compose");
	e->n++;
}

/*
 * For ?keys with a separator: everything past the prefix up to and
 * including the next separator collapses into one entry.
 */
static int
emit_cb(void *arg, struct kv_pair *p)
{
	struct emit_ctx		*e = arg;
	struct mpack_out	 out;
	const char		*sep, *cut;
	size_t			 len = p->keylen;

	mpack_out_init(&out);
	if (e->rd->mode == KV_READ_KEYS) {
		sep = e->rd->sep;
		if (sep != NULL && *sep != '\0' && (cut = strstr(p->key +
		    e->rd->keylen, sep)) != NULL)
			len = cut - p->key + strlen(sep);
		if ((e->last == NULL || e->lastlen != len ||
		    memcmp(e->last, p->key, len) != 0) &&
		    emit_readable(e, p->key, len)) {
			mpack_bin(&out.pk, p->key, len);
			emit(e, IMSG_KV_ITEM, &out);
			free(e->last);
			if ((e->last = malloc(len)) == NULL)
				fatal("kv");
			memcpy(e->last, p->key, len);
			e->lastlen = len;
		}
	} else if (emit_readable(e, p->key, p->keylen)) {
		kv_pair_pack(&out.pk, p, 1);
		if (out.sbuf.size <= IMSG_MAX_DATA)
			emit(e, IMSG_KV_ITEM, &out);
	}
	mpack_out_free(&out);
	kv_pair_free(p);
	return 0;
}

static uint64_t
kv_read_index(struct kv_read *rd)
{
	if (rd->mode == KV_READ_SINGLE)
		return kv_state_key_index(&raftd.store, rd->key, rd->keylen);
	return kv_state_prefix_index(&raftd.store, rd->key, rd->keylen);
}

/*
 * With ACLs on, the reader's authorizer: 0 and *out (NULL with ACLs
 * off); 1 with err when the token is unknown or may not read the one
 * key asked for.
 */
static int
kv_read_authz(struct kv_read *rd, const struct acl_authz **out, char *err,
    size_t errlen)
{
	*out = NULL;
	if (!acl_enabled())
		return 0;
	if (acl_authz_get(rd->token, out, err, errlen) != 0)
		return 1;
	if (rd->mode == KV_READ_SINGLE &&
	    !acl_allowed(*out, ACL_RES_KEY, rd->key, ACL_LEVEL_READ)) {
		acl_denied(err, errlen, *out, ACL_RES_KEY, rd->key,
		    ACL_LEVEL_READ);
		return 1;
	}
	return 0;
}

/* Answer a read from the current state. */
void
kv_answer(struct imsgev *iev, uint32_t reqid, struct kv_read *rd)
{
	struct emit_ctx		 e;
	struct kv_pair		 p;
	struct imsg_read_end	 end;
	uint64_t		 index = kv_read_index(rd);
	int			 rc;

	memset(&e, 0, sizeof(e));
	e.iev = iev;
	e.reqid = reqid;
	e.rd = rd;
	if (kv_read_authz(rd, &e.authz, end.error, sizeof(end.error)) != 0) {
		read_end_served(iev, reqid, index, 0, end.error,
		    rd->consistency);
		return;
	}
	if (rd->mode == KV_READ_SINGLE) {
		rc = kv_state_get(&raftd.store, NULL, rd->key, rd->keylen, &p);
		if (rc == -1)
			fatalx("kv: cannot read");
		if (rc == 0)
			emit_cb(&e, &p);
	} else if (kv_state_scan(&raftd.store, NULL, rd->key, rd->keylen,
	    emit_cb, &e) == -1)
		fatalx("kv: cannot scan");
	free(e.last);
	read_end_acl(iev, reqid, index, e.n > 0, rd->consistency,
	    e.filtered && !acl_anonymous(rd->token));
}

/*
 * Whether this server may answer a ?stale read itself: it has heard from
 * a leader since it started (a server that never did may hold nothing
 * yet), and not longer ago than ?max_stale.  Otherwise the read goes to
 * the leader as a default one would.
 */
static int
read_stale_ok(uint64_t max_stale_ms)
{
	if (node_is_leader(&raftd))
		return 1;
	if (raftd.raft == NULL || raft_last_contact_ticks(raftd.raft) < 0)
		return 0;
	return max_stale_ms == 0 ||
	    node_last_contact_ms(&raftd) <= max_stale_ms;
}

/*
 * On the leader: 1 if the read may be answered now; 0 if it waits for a
 * ReadIndex round (readindex.c owns a copy of the request); -1 if we
 * cannot lead it (the caller holds or fails it).
 */
static int
read_barrier(struct imsgev *iev, struct imsg *imsg, int consistency)
{
	if (raftd.read_confirmed || consistency == KV_CONS_STALE)
		return 1;
	if (consistency == KV_CONS_DEFAULT && node_read_lease(&raftd))
		return 1;
	return readindex_wait(&raftd, iev, imsg) == 0 ? 0 : -1;
}

/*
 * Where a read (KV or catalog) goes: 1 if it is ours to answer now; 0
 * if it was forwarded, held for want of a leader, failed, or left to
 * wait for a ReadIndex round (readindex.c hands it back later).  mode
 * is what forward.c checks the answers against.
 */
int
read_route(struct imsgev *iev, struct imsg *imsg, int consistency,
    uint64_t max_stale_ms, int mode)
{
	int	 stale, rc;

	if (raftd.read_confirmed)
		return 1;
	stale = consistency == KV_CONS_STALE &&
	    (!raftd_child.conf->server || read_stale_ok(max_stale_ms));
	if (forward_request(iev, imsg, stale, mode))
		return 0;
	if ((!stale && !node_is_leader(&raftd)) ||
	    (rc = read_barrier(iev, imsg, consistency)) == -1) {
		if (hold_request(iev, imsg) == -1)
			read_end(iev, imsg->hdr.peerid, 1, 0,
			    "No cluster leader");
		return 0;
	}
	return rc;
}

void
kv_read_request(struct imsgev *iev, struct imsg *imsg)
{
	struct kv_read		 rd;
	const struct acl_authz	*authz;
	char			 err[ACL_DENIED_MAX];

	if (kv_read_parse(imsg->data, imsg->len, &rd) == -1)
		fatalx("kv: malformed read request from %s", iev->name);
	if (!read_route(iev, imsg, rd.consistency, rd.max_stale_ms,
	    rd.mode) || acl_remote_wait(rd.token, iev, imsg)) {
		kv_read_free(&rd);
		return;
	}
	if (rd.min_index > 0 && kv_read_index(&rd) <= rd.min_index &&
	    kv_read_authz(&rd, &authz, err, sizeof(err)) == 0) {
		watch_add(&raftd, iev, imsg->hdr.peerid, &rd);
		return;		/* the watch owns rd now */
	}
	kv_answer(iev, imsg->hdr.peerid, &rd);
	kv_read_free(&rd);
}

/* The write was refused as an operation fails: no error, just false. */
static void
kv_write_refused(struct imsgev *iev, uint32_t reqid, const char *what)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 6);
	msgpack_pack_false(&out.pk);
	msgpack_pack_nil(&out.pk);
	msgpack_pack_uint64(&out.pk, 0);
	msgpack_pack_uint64(&out.pk, 0);
	mpack_str(&out.pk, what);
	msgpack_pack_array(&out.pk, 0);
	if (imsgev_compose(iev, IMSG_WRITE_RESULT, reqid, -1, out.sbuf.data,
	    out.sbuf.size) == -1)
		fatal("kv: compose");
	mpack_out_free(&out);
}

void
kv_write_error(struct imsgev *iev, uint32_t reqid, const char *error)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 6);
	msgpack_pack_false(&out.pk);
	mpack_str(&out.pk, error);
	msgpack_pack_uint64(&out.pk, 0);
	msgpack_pack_uint64(&out.pk, 0);
	msgpack_pack_nil(&out.pk);
	msgpack_pack_array(&out.pk, 0);
	if (imsgev_compose(iev, IMSG_WRITE_RESULT, reqid, -1, out.sbuf.data,
	    out.sbuf.size) == -1)
		fatal("kv: compose");
	mpack_out_free(&out);
}

void
kv_ops_free(struct kv_op *ops, uint32_t n)
{
	uint32_t	 i;

	for (i = 0; i < n; i++)
		kv_op_free(&ops[i]);
	free(ops);
}

/* The operations of a write request; -1 if they do not decode. */
int
kv_write_decode(const void *buf, size_t len, struct kv_op **opsp,
    uint32_t *np, char *tok, size_t toklen)
{
	msgpack_unpacked	 u;
	const msgpack_object	*last;
	struct kv_op		*ops;
	uint32_t		 i, n;

	if (tok != NULL && toklen > 0)
		*tok = '\0';
	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	if (u.data.type != MSGPACK_OBJECT_ARRAY ||
	    (n = u.data.via.array.size) == 0) {
		msgpack_unpacked_destroy(&u);
		return -1;
	}
	/* The operations, then the caller's secret (apid always adds it). */
	last = &u.data.via.array.ptr[n - 1];
	if (last->type == MSGPACK_OBJECT_STR ||
	    last->type == MSGPACK_OBJECT_NIL) {
		if (last->type == MSGPACK_OBJECT_STR &&
		    last->via.str.size > CAT_STR_MAX) {
			msgpack_unpacked_destroy(&u);
			return -1;
		}
		if (tok != NULL && toklen > 0 &&
		    last->type == MSGPACK_OBJECT_STR)
			(void)mpack_copy_str(last, tok, toklen);
		n--;
	}
	if (n == 0 || n > KV_TXN_MAX_OPS ||
	    (ops = calloc(n, sizeof(*ops))) == NULL) {
		msgpack_unpacked_destroy(&u);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (kv_op_unpack(&u.data.via.array.ptr[i], &ops[i]) == -1) {
			kv_ops_free(ops, i);
			msgpack_unpacked_destroy(&u);
			return -1;
		}
	msgpack_unpacked_destroy(&u);
	*opsp = ops;
	*np = n;
	return 0;
}

/*
 * With ACLs on, whether the secret may do every operation: reads need
 * key read, writes key write, a recursive delete write on every key
 * under its prefix.  0, or 1 with err.
 */
static int
kv_write_check(const struct kv_op *ops, uint32_t n, const char *secret,
    char *err, size_t errlen)
{
	const struct acl_authz	*a;
	enum acl_level		 lvl;
	uint32_t		 i;
	int			 ok;

	if (!acl_enabled())
		return 0;
	if (acl_authz_get(secret, &a, err, errlen) != 0)
		return 1;
	for (i = 0; i < n; i++) {
		lvl = ACL_LEVEL_WRITE;
		switch (ops[i].verb) {
		case KV_DELETE_TREE:
			ok = acl_key_write_prefix_allowed(a, ops[i].key);
			break;
		case KV_GET:
		case KV_GET_TREE:
		case KV_GET_OR_EMPTY:
			/* Filtered on the way out, key by key (fsm.c). */
			ok = 1;
			break;
		case KV_CHECK_INDEX:
		case KV_CHECK_SESSION:
		case KV_CHECK_NOT_EXISTS:
			lvl = ACL_LEVEL_READ;
			ok = acl_allowed(a, ACL_RES_KEY, ops[i].key, lvl);
			break;
		default:
			ok = acl_allowed(a, ACL_RES_KEY, ops[i].key, lvl);
			break;
		}
		if (!ok) {
			acl_denied(err, errlen, a, ACL_RES_KEY, ops[i].key,
			    lvl);
			return 1;
		}
	}
	return 0;
}

/*
 * A write: check that the operations decode (apid built them, and a
 * forwarded one was checked on arrival: a bad one is a bug), then
 * propose them as they came, or forward them to the leader.
 */
void
kv_write_request(struct imsgev *iev, struct imsg *imsg)
{
	struct pending_write	*pw;
	void			*cmd;
	size_t			 cmdlen;
	struct kv_op		*ops;
	uint32_t		 n;
	uint64_t		 idx;
	char			 tok[CAT_STR_MAX + 1], err[ACL_DENIED_MAX];
	uint32_t		 i;
	int			 rc;

	if (kv_write_decode(imsg->data, imsg->len, &ops, &n, tok,
	    sizeof(tok)) == -1)
		fatalx("kv: malformed write request from %s", iev->name);
	if (forward_request(iev, imsg, 0, -1) ||
	    acl_remote_wait(tok, iev, imsg)) {
		kv_ops_free(ops, n);
		return;
	}
	if (!node_is_leader(&raftd)) {
		if (hold_request(iev, imsg) == -1)
			kv_write_error(iev, imsg->hdr.peerid,
			    "No cluster leader");
		goto done;
	}
	/*
	 * A lock lost with its session may not be taken again until its
	 * lock delay passes: Consul's leader answers false without a
	 * proposal.
	 */
	rc = kv_write_check(ops, n, tok, err, sizeof(err));
	if (rc != 0) {
		kv_write_error(iev, imsg->hdr.peerid, err);
		goto done;
	}
	if (n == 1 && ops[0].verb == KV_LOCK &&
	    session_lock_delayed(ops[0].key, ops[0].keylen)) {
		kv_write_refused(iev, imsg->hdr.peerid,
		    "lock delay in effect");
		goto done;
	}
	if (fsm_encode_kv_txn(ops, n, &cmd, &cmdlen) == -1)
		fatal("kv: encode");
	idx = node_propose(&raftd, cmd, cmdlen);
	free(cmd);
	if (idx == 0) {
		kv_write_error(iev, imsg->hdr.peerid, raftd.stalled ?
		    NODE_NO_SPACE : "No cluster leader");
		goto done;
	}
	if ((pw = calloc(1, sizeof(*pw))) == NULL)
		fatal("kv");
	pw->index = idx;
	pw->iev = iev;
	pw->reqid = imsg->hdr.peerid;
	/* What a transaction reads is filtered by the reader's token. */
	for (i = 0; acl_enabled() && pw->token == NULL && i < n; i++)
		if ((ops[i].verb == KV_GET || ops[i].verb == KV_GET_TREE ||
		    ops[i].verb == KV_GET_OR_EMPTY) &&
		    (pw->token = strdup(tok)) == NULL)
			fatal("kv");
	RB_INSERT(pending_tree, &raftd.pending, pw);
 done:
	explicit_bzero(tok, sizeof(tok));
	kv_ops_free(ops, n);
}
