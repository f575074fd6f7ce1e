/*
 * Snapshots of the state: built for GET /v1/snapshot and for log
 * compaction (a file in data_dir/snapshots, then the Raft log is cut
 * behind it, keeping raft_trailing_logs entries), and restored from
 * PUT /v1/snapshot.  raftd is one thread and builds a snapshot in one
 * go, so what it dumps is the state at one applied index.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acl_state.h"
#include "config.h"
#include "fdio.h"
#include "log.h"
#include "catalog_state.h"
#include "coord_state.h"
#include "raftd.h"
#include "query_state.h"
#include "session_state.h"

#define SNAPSHOT_DIR		"snapshots"
#define SNAPSHOT_KEEP		2
#define SNAPSHOT_DEFAULT_EVERY	16384
#define SNAPSHOT_DEFAULT_TRAIL	10000

/* The state at the applied index, into w (snapshot_writer_free it). */
int
snapshot_build(struct raftd *r, struct snapshot_writer *w, uint64_t *index,
    uint64_t *term)
{
	void	*conf = NULL;
	size_t	 conflen = 0;

	*index = r->applied;
	if (store_log_term(&r->store, r->applied, term) == -1)
		return -1;
	if (raft_conf_encode(raft_config(r->raft), &conf, &conflen) == -1)
		return -1;
	snapshot_begin(w, *index, *term, (uint64_t)time(NULL), conf, conflen);
	free(conf);
	if (kv_state_dump(&r->store, w) == -1 ||
	    cat_state_dump(&r->store, w) == -1 ||
	    session_state_dump(&r->store, w) == -1 ||
	    query_state_dump(&r->store, w) == -1 ||
	    coord_state_dump(&r->store, w) == -1 ||
	    acl_state_dump(&r->store, w) == -1) {
		snapshot_writer_free(w);
		return -1;
	}
	snapshot_finish(w);
	return 0;
}

/* Keep the newest SNAPSHOT_KEEP files; names sort by index. */
static void
snapshot_prune(void)
{
	struct dirent	**list;
	char		  path[PATH_MAX];
	int		  n, i;

	if ((n = scandir(SNAPSHOT_DIR, &list, NULL, alphasort)) == -1)
		return;
	for (i = 0; i < n; i++) {
		if (strlen(list[i]->d_name) > 5 &&
		    strcmp(list[i]->d_name + strlen(list[i]->d_name) - 5,
		    ".snap") == 0 && i < n - SNAPSHOT_KEEP) {
			snprintf(path, sizeof(path), "%s/%s", SNAPSHOT_DIR,
			    list[i]->d_name);
			unlink(path);
		}
		free(list[i]);
	}
	free(list);
}

/* snapshots/<index>-<term>.snap, durably, through a temporary file. */
static int
snapshot_file_write(uint64_t index, uint64_t term, const void *buf,
    size_t len)
{
	char	 path[PATH_MAX], tmp[PATH_MAX + 8];
	int	 fd;

	if (mkdir(SNAPSHOT_DIR, 0700) == -1 && errno != EEXIST) {
		log_warn("snapshot: mkdir %s", SNAPSHOT_DIR);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%020llu-%llu.snap", SNAPSHOT_DIR,
	    (unsigned long long)index, (unsigned long long)term);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		log_warn("snapshot: %s", tmp);
		return -1;
	}
	if (fd_write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		log_warn("snapshot: %s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		log_warn("snapshot: %s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The state changed wholesale: every parked query answers. */
static void
wake_all(struct raftd *r)
{
	struct watch	*w;

	TAILQ_FOREACH(w, &r->watches, entry) {
		if (!w->fired) {
			w->fired = 1;
			r->nfired++;
		}
	}
	watch_deliver(r);
	cat_watch_wake_all();
	session_reset();
}

/* Delete log entries [first, upto] in one transaction. */
static int
log_cut(struct store *s, DB_TXN *txn, uint64_t upto)
{
	DBT		 k;
	unsigned char	 kb[8];
	uint64_t	 i;
	int		 rc;

	memset(&k, 0, sizeof(k));
	k.data = kb;
	k.size = sizeof(kb);
	for (i = s->first_index; i <= upto; i++) {
		be64_put(kb, i);
		rc = s->log->del(s->log, txn, &k, 0);
		if (rc != 0 && rc != DB_NOTFOUND)
			return -1;
	}
	return 0;
}

/*
 * Take a snapshot into data_dir/snapshots and compact the log behind
 * it, when raft_snapshot_threshold entries were applied since the last.
 */
void
snapshot_maybe_compact(struct raftd *r)
{
	struct config			*c = r->child->conf;
	struct snapshot_writer		 w;
	struct raft_snapshot_meta	 meta;
	uint64_t			 every, trail, index, term, cut;
	void				*conf = NULL;
	size_t				 conflen;
	DB_TXN				*txn;

	every = c->raft_snapshot_threshold > 0 ?
	    (uint64_t)c->raft_snapshot_threshold : SNAPSHOT_DEFAULT_EVERY;
	trail = c->raft_trailing_logs >= 0 ?
	    (uint64_t)c->raft_trailing_logs : SNAPSHOT_DEFAULT_TRAIL;
	if (r->applied < r->store.snap_index + every)
		return;
	if (snapshot_build(r, &w, &index, &term) == -1) {
		log_warnx("snapshot: cannot build a snapshot");
		return;
	}
	if (snapshot_file_write(index, term, w.out.sbuf.data,
	    w.out.sbuf.size) == -1) {
		snapshot_writer_free(&w);
		return;
	}
	snapshot_writer_free(&w);

	/* The snapshot is on disk: record it, then cut the log behind it. */
	memset(&meta, 0, sizeof(meta));
	meta.index = index;
	meta.term = term;
	meta.conf = *raft_config(r->raft);
	if (raft_conf_encode(&meta.conf, &conf, &conflen) == -1)
		fatalx("snapshot: cannot encode the configuration");
	cut = index > trail ? index - trail : 0;
	txn = store_begin(&r->store);
	if (store_put_u64(&r->store, r->store.stable, txn, "snap_index",
	    index) == -1 || store_put_u64(&r->store, r->store.stable, txn,
	    "snap_term", term) == -1 ||
	    store_put_blob(&r->store, r->store.stable, txn, "snap_conf", conf,
	    conflen) == -1 ||
	    (cut >= r->store.first_index && log_cut(&r->store, txn,
	    cut) == -1) || store_commit(&r->store, txn, 1) == -1)
		fatalx("snapshot: cannot record the snapshot");
	free(conf);
	r->store.snap_index = index;
	r->store.snap_term = term;
	if (cut >= r->store.first_index)
		r->store.first_index = cut + 1;
	if (raft_snapshot_taken(r->raft, &meta) == -1)
		fatalx("snapshot: raft refused the snapshot at %llu",
		    (unsigned long long)index);
	snapshot_prune();
	log_info("snapshot: took a snapshot at index %llu; log now %llu..%llu",
	    (unsigned long long)index,
	    (unsigned long long)r->store.first_index,
	    (unsigned long long)r->store.last_index);
}

/* The file of the snapshot taken at index/term, read whole; -1: none. */
int
snapshot_read_file(uint64_t index, uint64_t term, void **buf, size_t *len)
{
	struct stat	 sb;
	char		 path[PATH_MAX];
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	snprintf(path, sizeof(path), "%s/%020llu-%llu.snap", SNAPSHOT_DIR,
	    (unsigned long long)index, (unsigned long long)term);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || sb.st_size <= 0 ||
	    (uint64_t)sb.st_size > SNAPSHOT_INSTALL_MAX ||
	    (*buf = malloc(sb.st_size)) == NULL) {
		close(fd);
		return -1;
	}
	while (off < (size_t)sb.st_size) {
		if ((n = read(fd, (char *)*buf + off, sb.st_size - off)) <= 0) {
			free(*buf);
			close(fd);
			return -1;
		}
		off += n;
	}
	close(fd);
	*len = off;
	return 0;
}

static int
restore_record(void *arg, enum snapshot_record type,
    const msgpack_object *rec)
{
	struct raftd	*r = arg;

	if (type == SNAP_REC_CAT_NODE || type == SNAP_REC_CAT_SERVICE ||
	    type == SNAP_REC_CAT_CHECK)
		return cat_state_load(&r->store, r->restore_txn, type, rec);
	if (type == SNAP_REC_SESSION)
		return session_state_load(&r->store, r->restore_txn, rec);
	if (type == SNAP_REC_PQUERY)
		return query_state_load(&r->store, r->restore_txn, rec);
	if (type == SNAP_REC_COORD)
		return coord_state_load(&r->store, r->restore_txn, rec);
	if (type == SNAP_REC_ACL_TOKEN || type == SNAP_REC_ACL_POLICY ||
	    type == SNAP_REC_ACL_ROLE)
		return acl_state_load(&r->store, r->restore_txn, type, rec);
	return kv_state_load(&r->store, r->restore_txn, type, rec);
}

/*
 * Replace the state with a snapshot.  On one server this is local; the
 * multi-server issue routes it through the leader and InstallSnapshot.
 * Returns NULL, or why the snapshot was refused (nothing changed then).
 */
const char *
snapshot_restore(struct raftd *r, const void *buf, size_t len)
{
	struct snapshot_info	 info;
	const char		*why;

	if (snapshot_parse(buf, len, &info, NULL, NULL, &why) == -1)
		return why;
	r->restore_txn = store_begin(&r->store);
	if (kv_state_clear(&r->store, r->restore_txn) == -1 ||
	    cat_state_clear(&r->store, r->restore_txn) == -1 ||
	    session_state_clear(&r->store, r->restore_txn) == -1 ||
	    query_state_clear(&r->store, r->restore_txn) == -1 ||
	    coord_state_clear(&r->store, r->restore_txn) == -1 ||
	    acl_state_clear(&r->store, r->restore_txn) == -1 ||
	    snapshot_parse(buf, len, &info, restore_record, r, &why) == -1) {
		store_abort(r->restore_txn);
		r->restore_txn = NULL;
		return why;
	}
	if (store_commit(&r->store, r->restore_txn, 1) == -1)
		fatalx("snapshot: cannot commit the restore");
	r->restore_txn = NULL;
	log_info("snapshot: restored a snapshot of index %llu (%llu keys)",
	    (unsigned long long)info.index,
	    (unsigned long long)info.count[SNAP_REC_KV]);
	wake_all(r);
	return NULL;
}

/*
 * A leader sent us its snapshot (meta; the bytes came first, checked,
 * in buf): keep the file, make the state and the log what it says, in
 * one transaction, before the core goes on.
 */
void
snapshot_install(struct raftd *r, const struct raft_snapshot_meta *meta,
    const void *buf, size_t len)
{
	struct snapshot_info	 info;
	const char		*why;
	void			*conf = NULL;
	size_t			 conflen;

	if (snapshot_file_write(meta->index, meta->term, buf, len) == -1)
		fatalx("snapshot: cannot keep the leader's snapshot");
	if (raft_conf_encode(&meta->conf, &conf, &conflen) == -1)
		fatalx("snapshot: cannot encode the configuration");
	r->restore_txn = store_begin(&r->store);
	if (kv_state_clear(&r->store, r->restore_txn) == -1 ||
	    cat_state_clear(&r->store, r->restore_txn) == -1 ||
	    session_state_clear(&r->store, r->restore_txn) == -1 ||
	    query_state_clear(&r->store, r->restore_txn) == -1 ||
	    coord_state_clear(&r->store, r->restore_txn) == -1 ||
	    acl_state_clear(&r->store, r->restore_txn) == -1 ||
	    snapshot_parse(buf, len, &info, restore_record, r, &why) == -1 ||
	    store_put_u64(&r->store, r->store.stable, r->restore_txn,
	    "snap_index", meta->index) == -1 ||
	    store_put_u64(&r->store, r->store.stable, r->restore_txn,
	    "snap_term", meta->term) == -1 ||
	    store_put_blob(&r->store, r->store.stable, r->restore_txn,
	    "snap_conf", conf, conflen) == -1 ||
	    (r->store.last_index >= r->store.first_index &&
	    log_cut(&r->store, r->restore_txn, r->store.last_index) == -1) ||
	    store_put_u64(&r->store, r->store.stable, r->restore_txn,
	    "applied", meta->index) == -1 ||
	    store_commit(&r->store, r->restore_txn, 1) == -1)
		fatalx("snapshot: cannot install the snapshot of index %llu",
		    (unsigned long long)meta->index);
	free(conf);
	r->restore_txn = NULL;
	r->store.snap_index = meta->index;
	r->store.snap_term = meta->term;
	r->store.first_index = meta->index + 1;
	r->store.last_index = meta->index;
	r->applied = meta->index;
	snapshot_prune();
	log_info("snapshot: installed the leader's snapshot of index %llu "
	    "(%llu keys)", (unsigned long long)meta->index,
	    (unsigned long long)info.count[SNAP_REC_KV]);
	wake_all(r);
}

/* GET /v1/snapshot: build, then stream it to apid in chunks. */
void
snapshot_request(struct imsgev *iev, struct imsg *imsg)
{
	struct snapshot_writer	 w;
	struct imsg_read_end	 end;
	uint8_t			 stale;
	uint64_t		 index, term;
	size_t			 off, n;

	imsg_need_len(imsg, sizeof(stale), iev->name);
	memcpy(&stale, imsg->data, sizeof(stale));
	memset(&end, 0, sizeof(end));
	end.known_leader = node_leader_addr(&raftd)[0] != '\0';
	if (raftd.raft == NULL)
		strlcpy(end.error, "a client agent holds no state: ask a "
		    "server for a snapshot", sizeof(end.error));
	else if (!stale && !node_is_leader(&raftd))
		strlcpy(end.error, "No cluster leader", sizeof(end.error));
	else if (snapshot_build(&raftd, &w, &index, &term) == -1)
		strlcpy(end.error, "cannot build a snapshot",
		    sizeof(end.error));
	else {
		for (off = 0; off < w.out.sbuf.size; off += n) {
			n = w.out.sbuf.size - off;
			if (n > IMSG_MAX_DATA)
				n = IMSG_MAX_DATA;
			if (imsgev_compose(iev, IMSG_SNAPSHOT_DATA,
			    imsg->hdr.peerid, -1, w.out.sbuf.data + off,
			    n) == -1)
				fatal("snapshot: compose");
		}
		snapshot_writer_free(&w);
		end.index = index ? index : 1;
		end.found = 1;
	}
	if (imsgev_compose(iev, IMSG_READ_END, imsg->hdr.peerid, -1, &end,
	    sizeof(end)) == -1)
		fatal("snapshot: compose");
}

/* A restore being uploaded by apid, one per request. */
struct upload {
	TAILQ_ENTRY(upload)	 entry;
	struct imsgev		*iev;
	uint32_t		 reqid;
	msgpack_sbuffer		 buf;
};
static TAILQ_HEAD(, upload)	 uploads = TAILQ_HEAD_INITIALIZER(uploads);

static struct upload *
upload_find(struct imsgev *iev, uint32_t reqid, int create)
{
	struct upload	*u;

	TAILQ_FOREACH(u, &uploads, entry)
		if (u->iev == iev && u->reqid == reqid)
			return u;
	if (!create)
		return NULL;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		fatal("snapshot");
	u->iev = iev;
	u->reqid = reqid;
	msgpack_sbuffer_init(&u->buf);
	TAILQ_INSERT_TAIL(&uploads, u, entry);
	return u;
}

void
snapshot_data(struct imsgev *iev, struct imsg *imsg)
{
	struct upload	*u = upload_find(iev, imsg->hdr.peerid, 1);

	/* apid bounds the body; a chunk past that is a bug there. */
	if (u->buf.size + imsg->len > SNAPSHOT_UPLOAD_MAX)
		fatalx("snapshot: upload from %s is too large", iev->name);
	msgpack_sbuffer_write(&u->buf, imsg->data, imsg->len);
}

void
snapshot_restore_request(struct imsgev *iev, struct imsg *imsg)
{
	struct upload		*u;
	struct imsg_read_end	 end;
	const char		*why;

	imsg_need_len(imsg, 0, iev->name);
	memset(&end, 0, sizeof(end));
	u = upload_find(iev, imsg->hdr.peerid, 0);
	if (raftd.raft == NULL)
		strlcpy(end.error, "a client agent holds no state: restore "
		    "a snapshot through a server", sizeof(end.error));
	else if (!node_is_leader(&raftd))
		strlcpy(end.error, "No cluster leader", sizeof(end.error));
	else if ((why = snapshot_restore(&raftd, u ? u->buf.data : "",
	    u ? u->buf.size : 0)) != NULL)
		snprintf(end.error, sizeof(end.error), "%s", why);
	end.index = raftd.applied ? raftd.applied : 1;
	end.known_leader = node_leader_addr(&raftd)[0] != '\0';
	if (u != NULL) {
		TAILQ_REMOVE(&uploads, u, entry);
		msgpack_sbuffer_destroy(&u->buf);
		free(u);
	}
	if (imsgev_compose(iev, IMSG_READ_END, imsg->hdr.peerid, -1, &end,
	    sizeof(end)) == -1)
		fatal("snapshot: compose");
}
