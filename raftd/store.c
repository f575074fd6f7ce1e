/*
 * The Berkeley DB environment and the Raft log and stable store in it.
 * The environment is opened with recovery, so a crash leaves exactly the
 * committed transactions.  Log entries are records keyed by big-endian
 * index (so a cursor walks them in order) holding a MessagePack array
 * [term, type, data].
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mpack.h"
#include "store.h"

int	store_errno;

#define STORE_CACHE_BYTES	(32u * 1024 * 1024)

void
be64_put(unsigned char *p, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

uint64_t
be64_get(const unsigned char *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
store_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
	log_warnx("store: %s", msg);
}

static int
store_db_open(struct store *s, DB **db, const char *name)
{
	int	 rc;

	if ((rc = db_create(db, s->env, 0)) != 0) {
		log_warnx("store: db_create %s: %s", name, db_strerror(rc));
		return -1;
	}
	rc = (*db)->open(*db, NULL, name, NULL, DB_BTREE,
	    DB_CREATE | DB_AUTO_COMMIT, 0600);
	if (rc != 0) {
		log_warnx("store: open %s: %s", name, db_strerror(rc));
		return -1;
	}
	return 0;
}

/* Find the first and last log index with a cursor. */
static int
store_log_bounds(struct store *s)
{
	DBC		*c;
	DBT		 k, v;
	unsigned char	 kb[8];
	int		 rc;

	s->first_index = s->last_index = 0;
	if (s->log->cursor(s->log, NULL, &c, 0) != 0)
		return -1;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = kb;
	k.ulen = sizeof(kb);
	k.flags = DB_DBT_USERMEM;
	v.flags = DB_DBT_PARTIAL;	/* keys only */
	if ((rc = c->get(c, &k, &v, DB_FIRST)) == 0 && k.size == 8) {
		s->first_index = be64_get(kb);
		if ((rc = c->get(c, &k, &v, DB_LAST)) == 0 && k.size == 8)
			s->last_index = be64_get(kb);
	}
	c->close(c);
	if (rc != 0 && rc != DB_NOTFOUND)
		return -1;
	return 0;
}

/*
 * Open (creating when new) the environment in dir, relative to the
 * working directory, which is data_dir.
 */
int
store_open(struct store *s, const char *dir)
{
	int	 rc;

	memset(s, 0, sizeof(*s));
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("store: mkdir %s", dir);
		return -1;
	}
	if ((rc = db_env_create(&s->env, 0)) != 0) {
		log_warnx("store: db_env_create: %s", db_strerror(rc));
		return -1;
	}
	s->env->set_errcall(s->env, store_errcall);
	s->env->set_cachesize(s->env, 0, STORE_CACHE_BYTES, 1);
	s->env->log_set_config(s->env, DB_LOG_AUTO_REMOVE, 1);
	rc = s->env->open(s->env, dir, DB_CREATE | DB_INIT_TXN | DB_INIT_LOG |
	    DB_INIT_LOCK | DB_INIT_MPOOL | DB_RECOVER | DB_PRIVATE, 0600);
	if (rc != 0) {
		log_warnx("store: open environment %s: %s", dir,
		    db_strerror(rc));
		return -1;
	}
	if (store_db_open(s, &s->log, "log.db") == -1 ||
	    store_db_open(s, &s->stable, "stable.db") == -1 ||
	    store_db_open(s, &s->kv, "kv.db") == -1 ||
	    store_db_open(s, &s->kv_tomb, "kv_tomb.db") == -1 ||
	    store_db_open(s, &s->tables, "tables.db") == -1 ||
	    store_db_open(s, &s->cat_nodes, "cat_nodes.db") == -1 ||
	    store_db_open(s, &s->cat_services, "cat_services.db") == -1 ||
	    store_db_open(s, &s->cat_svc_names, "cat_svc_names.db") == -1 ||
	    store_db_open(s, &s->cat_checks, "cat_checks.db") == -1 ||
	    store_db_open(s, &s->sessions, "sessions.db") == -1 ||
	    store_db_open(s, &s->sess_nodes, "sess_nodes.db") == -1 ||
	    store_db_open(s, &s->sess_keys, "sess_keys.db") == -1 ||
	    store_db_open(s, &s->pqueries, "pqueries.db") == -1 ||
	    store_db_open(s, &s->coords, "coords.db") == -1 ||
	    store_db_open(s, &s->acl_tokens, "acl_tokens.db") == -1 ||
	    store_db_open(s, &s->acl_secrets, "acl_secrets.db") == -1 ||
	    store_db_open(s, &s->acl_policies, "acl_policies.db") == -1 ||
	    store_db_open(s, &s->acl_roles, "acl_roles.db") == -1)
		return -1;
	if (store_get_u64(s, s->stable, NULL, "snap_index",
	    &s->snap_index) == -1 ||
	    store_get_u64(s, s->stable, NULL, "snap_term",
	    &s->snap_term) == -1)
		return -1;
	if (store_log_bounds(s) == -1)
		return -1;
	if (s->first_index == 0)
		s->first_index = s->snap_index + 1;
	if (s->last_index == 0)
		s->last_index = s->snap_index;
	log_debug("store: opened %s: log %llu..%llu", dir,
	    (unsigned long long)s->first_index,
	    (unsigned long long)s->last_index);
	return 0;
}

void
store_close(struct store *s)
{
	DB	**dbs[] = { &s->log, &s->stable, &s->kv, &s->kv_tomb,
		    &s->tables, &s->cat_nodes, &s->cat_services,
		    &s->cat_svc_names, &s->cat_checks, &s->sessions,
		    &s->sess_nodes, &s->sess_keys, &s->pqueries,
		    &s->coords, &s->acl_tokens, &s->acl_secrets,
		    &s->acl_policies, &s->acl_roles };
	size_t	 i;

	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		if (*dbs[i] != NULL)
			(*dbs[i])->close(*dbs[i], 0);
		*dbs[i] = NULL;
	}
	if (s->env != NULL)
		s->env->close(s->env, 0);
	s->env = NULL;
}

DB_TXN *
store_begin(struct store *s)
{
	DB_TXN	*txn;
	int	 rc;

	if ((rc = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		fatalx("store: txn_begin: %s", db_strerror(rc));
	return txn;
}

/*
 * Commit; with sync the log is on disk when this returns (the one fsync
 * of a group commit), without it the commit survives a crash of this
 * process but not of the machine.
 */
int
store_commit(struct store *s, DB_TXN *txn, int sync)
{
	int	 rc;

	if ((rc = txn->commit(txn, sync ? 0 : DB_TXN_WRITE_NOSYNC)) != 0) {
		store_errno = rc;
		log_warnx("store: commit: %s", db_strerror(rc));
		return -1;
	}
	return 0;
}

void
store_abort(DB_TXN *txn)
{
	txn->abort(txn);
}

void
store_checkpoint(struct store *s)
{
	int	 rc;

	if ((rc = s->env->txn_checkpoint(s->env, 1024, 0, 0)) != 0)
		log_warnx("store: checkpoint: %s", db_strerror(rc));
}

int
store_get_u64(struct store *s, DB *db, DB_TXN *txn, const char *name,
    uint64_t *out)
{
	DBT		 k, v;
	unsigned char	 buf[8];
	int		 rc;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)name;
	k.size = strlen(name);
	v.data = buf;
	v.ulen = sizeof(buf);
	v.flags = DB_DBT_USERMEM;
	rc = db->get(db, txn, &k, &v, 0);
	if (rc == DB_NOTFOUND) {
		*out = 0;
		return 0;
	}
	if (rc != 0 || v.size != 8) {
		log_warnx("store: get %s: %s", name, rc ? db_strerror(rc) :
		    "bad size");
		return -1;
	}
	*out = be64_get(buf);
	return 0;
}

int
store_put_u64(struct store *s, DB *db, DB_TXN *txn, const char *name,
    uint64_t val)
{
	unsigned char	 buf[8];

	be64_put(buf, val);
	return store_put_blob(s, db, txn, name, buf, sizeof(buf));
}

/*
 * A named value of the stable store: 0 and a malloc'd copy when found,
 * 1 when absent, -1 on an error.
 */
int
store_get_blob(struct store *s, DB *db, const char *name, void **buf,
    size_t *len)
{
	DBT	 k, v;
	int	 rc;

	*buf = NULL;
	*len = 0;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)name;
	k.size = strlen(name);
	v.flags = DB_DBT_MALLOC;
	rc = db->get(db, NULL, &k, &v, 0);
	if (rc == DB_NOTFOUND)
		return 1;
	if (rc != 0) {
		log_warnx("store: get %s: %s", name, db_strerror(rc));
		return -1;
	}
	*buf = v.data;
	*len = v.size;
	return 0;
}

int
store_put_blob(struct store *s, DB *db, DB_TXN *txn, const char *name,
    const void *buf, size_t len)
{
	DBT	 k, v;
	int	 rc;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)name;
	k.size = strlen(name);
	v.data = (void *)buf;
	v.size = len;
	if ((rc = db->put(db, txn, &k, &v, 0)) != 0) {
		store_errno = rc;
		log_warnx("store: put %s: %s", name, db_strerror(rc));
		return -1;
	}
	return 0;
}

/* Hard state: a MessagePack array [term, vote, commit]. */
int
store_hardstate_load(struct store *s, struct raft_hardstate *hs)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	char			*vote = NULL;
	void			*buf;
	size_t			 len;
	int			 rc, ret = -1;

	memset(hs, 0, sizeof(*hs));
	if ((rc = store_get_blob(s, s->stable, "hardstate", &buf, &len)) != 0)
		return rc == 1 ? 0 : -1;
	if (mpack_parse(&u, buf, len) == 0) {
		a = &u.data;
		if (a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size == 3 &&
		    mpack_get_uint(&a->via.array.ptr[0], &hs->term) == 0 &&
		    mpack_get_str(&a->via.array.ptr[1], &vote) == 0 &&
		    mpack_get_uint(&a->via.array.ptr[2], &hs->commit) == 0 &&
		    (vote == NULL || strlen(vote) < sizeof(hs->vote))) {
			if (vote != NULL)
				strlcpy(hs->vote, vote, sizeof(hs->vote));
			ret = 0;
		}
		free(vote);
		msgpack_unpacked_destroy(&u);
	}
	free(buf);
	if (ret == -1)
		log_warnx("store: hard state is damaged");
	return ret;
}

int
store_hardstate_save(struct store *s, DB_TXN *txn,
    const struct raft_hardstate *hs)
{
	struct mpack_out	 out;
	int			 rc;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	msgpack_pack_uint64(&out.pk, hs->term);
	mpack_str(&out.pk, hs->vote);
	msgpack_pack_uint64(&out.pk, hs->commit);
	rc = store_put_blob(s, s->stable, txn, "hardstate", out.sbuf.data,
	    out.sbuf.size);
	mpack_out_free(&out);
	return rc;
}

/*
 * Append entries, first dropping every stored entry at or after the
 * first new index: a follower's conflicting suffix is replaced.
 */
int
store_log_append(struct store *s, DB_TXN *txn, const struct raft_entry *e,
    size_t n)
{
	struct mpack_out	 out;
	DBT			 k, v;
	unsigned char		 kb[8];
	uint64_t		 i;
	size_t			 j;
	int			 rc;

	if (n == 0)
		return 0;
	if (e[0].index < s->first_index || e[0].index > s->last_index + 1) {
		log_warnx("store: append at %llu outside log %llu..%llu",
		    (unsigned long long)e[0].index,
		    (unsigned long long)s->first_index,
		    (unsigned long long)s->last_index);
		return -1;
	}
	memset(&k, 0, sizeof(k));
	k.data = kb;
	k.size = sizeof(kb);
	for (i = e[0].index; i <= s->last_index; i++) {
		be64_put(kb, i);
		rc = s->log->del(s->log, txn, &k, 0);
		if (rc != 0 && rc != DB_NOTFOUND) {
			store_errno = rc;
			return -1;
		}
	}
	for (j = 0; j < n; j++) {
		if (j > 0 && e[j].index != e[j - 1].index + 1)
			return -1;
		mpack_out_init(&out);
		msgpack_pack_array(&out.pk, 3);
		msgpack_pack_uint64(&out.pk, e[j].term);
		msgpack_pack_uint8(&out.pk, e[j].type);
		mpack_bin(&out.pk, e[j].data, e[j].len);
		be64_put(kb, e[j].index);
		memset(&v, 0, sizeof(v));
		v.data = out.sbuf.data;
		v.size = out.sbuf.size;
		rc = s->log->put(s->log, txn, &k, &v, 0);
		mpack_out_free(&out);
		if (rc != 0) {
			store_errno = rc;
			log_warnx("store: log put: %s", db_strerror(rc));
			return -1;
		}
	}
	s->last_index = e[n - 1].index;
	return 0;
}

static int
store_entry_decode(const void *buf, size_t len, uint64_t index,
    struct raft_entry *e)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	uint64_t		 type;
	int			 ret = -1;

	memset(e, 0, sizeof(*e));
	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	a = &u.data;
	if (a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size == 3 &&
	    mpack_get_uint(&a->via.array.ptr[0], &e->term) == 0 &&
	    mpack_get_uint(&a->via.array.ptr[1], &type) == 0 && type <= 255 &&
	    a->via.array.ptr[2].type == MSGPACK_OBJECT_BIN) {
		e->index = index;
		e->type = type;
		e->len = a->via.array.ptr[2].via.bin.size;
		if ((e->data = malloc(e->len ? e->len : 1)) != NULL) {
			if (e->len > 0)
				memcpy(e->data,
				    a->via.array.ptr[2].via.bin.ptr, e->len);
			ret = 0;
		}
	}
	msgpack_unpacked_destroy(&u);
	return ret;
}

int
store_log_get(struct store *s, uint64_t index, struct raft_entry *e)
{
	DBT		 k, v;
	unsigned char	 kb[8];
	int		 rc, ret;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	be64_put(kb, index);
	k.data = kb;
	k.size = sizeof(kb);
	v.flags = DB_DBT_MALLOC;
	if ((rc = s->log->get(s->log, NULL, &k, &v, 0)) != 0)
		return -1;
	ret = store_entry_decode(v.data, v.size, index, e);
	free(v.data);
	if (ret == -1)
		log_warnx("store: log entry %llu is damaged",
		    (unsigned long long)index);
	return ret;
}

void
store_entry_free(struct raft_entry *e)
{
	free(e->data);
	e->data = NULL;
}

int
store_log_term(struct store *s, uint64_t index, uint64_t *term)
{
	struct raft_entry	 e;

	if (index == 0) {
		*term = 0;
		return 0;
	}
	if (index == s->snap_index) {
		*term = s->snap_term;
		return 0;
	}
	if (index < s->first_index || index > s->last_index)
		return -1;
	if (store_log_get(s, index, &e) == -1)
		return -1;
	*term = e.term;
	store_entry_free(&e);
	return 0;
}

/* The configuration of the snapshot the log starts after, if any. */
int
store_snapshot_conf(struct store *s, struct raft_conf *conf)
{
	void	*buf;
	size_t	 len;
	int	 rc;

	memset(conf, 0, sizeof(*conf));
	if ((rc = store_get_blob(s, s->stable, "snap_conf", &buf, &len)) != 0)
		return rc == 1 ? 0 : -1;
	rc = raft_conf_decode(buf, len, conf);
	free(buf);
	return rc;
}

/* The struct raft_storage the core reads the durable log through. */
static uint64_t
rs_first_index(void *arg)
{
	return ((struct store *)arg)->first_index;
}

static uint64_t
rs_last_index(void *arg)
{
	return ((struct store *)arg)->last_index;
}

static int
rs_term(void *arg, uint64_t index, uint64_t *term)
{
	return store_log_term(arg, index, term);
}

static void
rs_free_entries(void *arg, struct raft_entry *e, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		store_entry_free(&e[i]);
	free(e);
}

static int
rs_entries(void *arg, uint64_t lo, uint64_t hi, size_t max_bytes,
    struct raft_entry **out, size_t *n)
{
	struct store		*s = arg;
	struct raft_entry	*e;
	size_t			 bytes = 0, i = 0;

	*out = NULL;
	*n = 0;
	if (lo < s->first_index || hi > s->last_index + 1 || lo >= hi)
		return -1;
	if ((e = calloc(hi - lo, sizeof(*e))) == NULL)
		return -1;
	for (; lo < hi; lo++) {
		if (store_log_get(s, lo, &e[i]) == -1) {
			rs_free_entries(s, e, i);
			return -1;
		}
		bytes += e[i].len;
		i++;
		if (bytes >= max_bytes)
			break;
	}
	*out = e;
	*n = i;
	return 0;
}

const struct raft_storage store_raft_storage = {
	NULL, rs_first_index, rs_last_index, rs_term, rs_entries,
	rs_free_entries
};
