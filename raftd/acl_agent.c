/*
 * Token resolution for the agent's own endpoints, asynchronously: a
 * caller gives a secret and a callback, which runs once the secret's
 * authorizer is known (at once on a server, which holds the ACL
 * tables; on a client agent after a server answered a forwarded
 * CAT_Q_ACL_RESOLVE read, or from the cache).
 *
 * A client caches what servers answered for acl.token_ttl (or the
 * shorter of policy_ttl and role_ttl: an authorizer folds all three),
 * keyed by keyed BLAKE2b digests of the secrets, never the secrets; a
 * secret is held only while its read is in flight.  Known and unknown
 * secrets are bounded apart, so a flood of random secrets costs fixed
 * memory and does not push out the tokens in use.  When no server
 * answers, acl.down_policy decides: extend-cache (the default) goes on
 * with what the cache had, however old, and denies a secret it never
 * saw; async-cache also answers from a stale entry at once and
 * refreshes it behind the caller's back; allow and deny grant or
 * refuse everything but what is still fresh in the cache.
 *
 * The agent recovery token (acl.tokens.agent_recovery) resolves
 * locally, servers or not, to write on this agent and read on nodes.
 *
 * The servers of a secondary datacenter that does not replicate tokens
 * (acl.enable_token_replication off) use the same cache for the tokens
 * their tables lack: they ask a server of the primary_datacenter (a
 * ?dc= read, CAT_Q_ACL_RESOLVE naming this datacenter, which compiles
 * the token's policies for it and refuses its own local tokens), as
 * Consul does.  A request with such a token is held (hold_token) until
 * the answer is in, then served with it (acl_authz_get finds it here).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "acl_codec.h"
#include "acl_rules.h"
#include "config.h"
#include "log.h"
#include "raftd.h"

#define AA_DIGEST_LEN	32
#define AA_MAX_FOUND	4096
#define AA_MAX_MISSING	1024
/* After a failed read, the next try waits this long (ms) at most. */
#define AA_RETRY_MS	2000

struct aa_waiter {
	TAILQ_ENTRY(aa_waiter)	 entry;
	acl_resolved_fn		 fn;
	void			*arg;
};
TAILQ_HEAD(aa_waiters, aa_waiter);

struct aa_entry {
	RB_ENTRY(aa_entry)	 node;
	TAILQ_ENTRY(aa_entry)	 order;		/* in found or missing */
	unsigned char		 digest[AA_DIGEST_LEN];
	int			 have;		/* a server answered once */
	int			 found;
	struct acl_authz	 authz;
	uint64_t		 expires_ms;
	/* A read in flight. */
	uint32_t		 reqid;
	int			 got_item;
	struct acl_authz	 fresh;
	struct aa_waiters	 waiters;
};
RB_HEAD(aa_tree, aa_entry);
TAILQ_HEAD(aa_order, aa_entry);

int	aa_cmp(struct aa_entry *, struct aa_entry *);
RB_PROTOTYPE(aa_tree, aa_entry, node, aa_cmp)

int
aa_cmp(struct aa_entry *a, struct aa_entry *b)
{
	return memcmp(a->digest, b->digest, AA_DIGEST_LEN);
}
RB_GENERATE(aa_tree, aa_entry, node, aa_cmp)

static struct aa_tree	 entries = RB_INITIALIZER(&entries);
static struct aa_order	 found_lru = TAILQ_HEAD_INITIALIZER(found_lru);
static struct aa_order	 missing_lru = TAILQ_HEAD_INITIALIZER(missing_lru);
static size_t		 nfound, nmissing;
static unsigned char	 aa_key[crypto_generichash_KEYBYTES];
static struct imsgev	 aa_req;	/* the read handlers answer here */
static struct imsgev	 aa_back;	/* and we read it here */
static uint32_t		 next_reqid;

/* Without ACLs every check passes; the down policies' two answers. */
static struct acl_authz	 allow_all = { NULL, 1, 1, "" };
static struct acl_authz	 deny_all = { NULL, 0, 0, "" };
static struct acl_authz	 recovery;

static uint64_t
aa_ttl_ms(void)
{
	const struct config	*c = raftd_child.conf;
	int64_t			 ttl = c->acl.token_ttl;

	if (c->acl.policy_ttl > 0 && c->acl.policy_ttl < ttl)
		ttl = c->acl.policy_ttl;
	if (c->acl.role_ttl > 0 && c->acl.role_ttl < ttl)
		ttl = c->acl.role_ttl;
	return ttl > 0 ? (uint64_t)ttl / 1000000 : 0;
}

static int
down_is(const char *p)
{
	const char	*d = raftd_child.conf->acl.down_policy;

	return strcmp(d != NULL ? d : "extend-cache", p) == 0;
}

/*
 * A server of a secondary datacenter that does not replicate tokens:
 * it asks the primary for those it does not have.
 */
int
acl_remote_mode(void)
{
	const struct config	*c = raftd_child.conf;

	return c->server && acl_enabled() && c->primary_datacenter != NULL &&
	    *c->primary_datacenter != '\0' &&
	    strcmp(c->primary_datacenter, c->datacenter) != 0 &&
	    !c->acl.enable_token_replication;
}

static void
aa_digest(const char *secret, unsigned char *digest)
{
	crypto_generichash(digest, AA_DIGEST_LEN,
	    (const unsigned char *)secret, strlen(secret), aa_key,
	    sizeof(aa_key));
}

static void
entry_list(struct aa_entry *e, int found)
{
	if (found) {
		TAILQ_INSERT_TAIL(&found_lru, e, order);
		nfound++;
	} else {
		TAILQ_INSERT_TAIL(&missing_lru, e, order);
		nmissing++;
	}
}

static void
entry_unlist(struct aa_entry *e)
{
	if (e->have && e->found) {
		TAILQ_REMOVE(&found_lru, e, order);
		nfound--;
	} else {
		TAILQ_REMOVE(&missing_lru, e, order);
		nmissing--;
	}
}

/* Used now: the last of its list to be evicted. */
static void
entry_touch(struct aa_entry *e)
{
	entry_unlist(e);
	entry_list(e, e->have && e->found);
}

static void
entry_free(struct aa_entry *e)
{
	RB_REMOVE(aa_tree, &entries, e);
	entry_unlist(e);
	acl_rules_free(e->authz.rules);
	acl_rules_free(e->fresh.rules);
	free(e);
}

/* The least recently used entry of a list not being read, dropped. */
static int
evict(struct aa_order *lru)
{
	struct aa_entry	*e;

	TAILQ_FOREACH(e, lru, order)
		if (e->reqid == 0) {
			entry_free(e);
			return 0;
		}
	return -1;
}

/* A secret's entry, not yet answered; NULL if too many are. */
static struct aa_entry *
entry_new(const unsigned char *digest)
{
	struct aa_entry	*e;

	if (nmissing >= AA_MAX_MISSING && evict(&missing_lru) == -1)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		fatal("acl");
	memcpy(e->digest, digest, AA_DIGEST_LEN);
	TAILQ_INIT(&e->waiters);
	RB_INSERT(aa_tree, &entries, e);
	entry_list(e, 0);
	return e;
}

/*
 * A stale read of CAT_Q_ACL_RESOLVE, to any server; from a server (in
 * acl_remote_mode), to one of the primary datacenter, for this one.
 */
static void
fetch(struct aa_entry *e, const char *secret)
{
	const struct config	*c = raftd_child.conf;
	struct mpack_out	 out, rd;
	struct imsg		 imsg;

	e->reqid = imsgev_next_id(&next_reqid);
	e->got_item = 0;
	mpack_out_init(&rd);
	cat_read_pack(&rd.pk, CAT_Q_ACL_RESOLVE, c->server ? c->datacenter :
	    "-", 0, 0, KV_CONS_STALE, 0, secret);
	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.peerid = e->reqid;
	imsg.fd = -1;
	if (!c->server) {
		imsg.hdr.type = IMSG_CAT_READ;
		imsg.data = rd.sbuf.data;
		imsg.len = rd.sbuf.size;
		cat_read_request(&aa_req, &imsg);
	} else {
		mpack_out_init(&out);
		msgpack_pack_array(&out.pk, 3);
		mpack_str(&out.pk, c->primary_datacenter);
		msgpack_pack_uint32(&out.pk, IMSG_CAT_READ);
		mpack_bin(&out.pk, rd.sbuf.data, rd.sbuf.size);
		imsg.hdr.type = IMSG_DC_REQ;
		imsg.data = out.sbuf.data;
		imsg.len = out.sbuf.size;
		dc_request(&aa_req, &imsg);
		explicit_bzero(out.sbuf.data, out.sbuf.size);
		mpack_out_free(&out);
	}
	explicit_bzero(rd.sbuf.data, rd.sbuf.size);
	mpack_out_free(&rd);
}

static int
recovery_secret(const char *secret)
{
	const char	*r = acl_token("agent_recovery");

	return *r != '\0' && *secret != '\0' && acl_secret_equal(r, secret);
}

/* agent:write on this agent, node:read everywhere (Consul's). */
static const struct acl_authz *
recovery_authz(void)
{
	const struct config	*c = raftd_child.conf;

	if (recovery.rules == NULL) {
		if ((recovery.rules = acl_rules_new()) == NULL ||
		    acl_rules_add(recovery.rules, ACL_RES_AGENT, 0,
		    c->node_name, ACL_LEVEL_WRITE) == -1 ||
		    acl_rules_add(recovery.rules, ACL_RES_NODE, 1, "",
		    ACL_LEVEL_READ) == -1)
			fatal("acl");
		acl_rules_compile(recovery.rules);
	}
	return &recovery;
}

void
acl_resolve_async(const char *secret, acl_resolved_fn fn, void *arg)
{
	struct aa_entry		 key, *e;
	struct aa_waiter	*w;
	const struct acl_authz	*a;
	char			 err[64];
	uint64_t		 now = node_now_ms();

	if (secret == NULL)
		secret = "";
	if (!acl_enabled()) {
		fn(arg, &allow_all, NULL);
		return;
	}
	if (recovery_secret(secret)) {
		fn(arg, recovery_authz(), NULL);
		return;
	}
	if (raftd_child.conf->server) {
		if (acl_authz_local(secret, &a, err, sizeof(err)) == 0) {
			fn(arg, a, NULL);
			return;
		}
		if (!acl_remote_mode()) {
			fn(arg, NULL, err);
			return;
		}
		/* The primary's, through the cache. */
	}
	aa_digest(secret, key.digest);
	if ((e = RB_FIND(aa_tree, &entries, &key)) != NULL && e->have &&
	    (now < e->expires_ms || (e->found && e->reqid != 0 &&
	    down_is("async-cache")))) {
		entry_touch(e);
		fn(arg, e->found ? &e->authz : NULL, e->found ? NULL :
		    "ACL not found");
		return;
	}
	if (e != NULL && e->have && e->found && down_is("async-cache")) {
		/*
		 * Stale: answer now, refresh behind.  The read goes out
		 * first: the callback may free the secret.
		 */
		entry_touch(e);
		fetch(e, secret);
		fn(arg, &e->authz, NULL);
		return;
	}
	if (e == NULL && (e = entry_new(key.digest)) == NULL) {
		fn(arg, NULL, "Too many ACL resolutions in flight");
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("acl");
	w->fn = fn;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&e->waiters, w, entry);
	if (e->reqid == 0)
		fetch(e, secret);
}

static struct aa_entry *
entry_by_reqid(uint32_t reqid)
{
	struct aa_entry	*e;

	RB_FOREACH(e, aa_tree, &entries)
		if (e->reqid == reqid)
			return e;
	return NULL;
}

/* A read ended: found, not found, or failed (error non-empty). */
static void
fetch_done(struct aa_entry *e, int found, const char *error)
{
	struct aa_waiters	 ws;
	struct aa_waiter	*w;
	const struct acl_authz	*a = NULL;
	const char		*err = NULL;
	uint64_t		 now = node_now_ms(), ttl = aa_ttl_ms();

	e->reqid = 0;
	if (*error != '\0') {
		log_debug("acl: cannot resolve a token: %s", error);
		acl_rules_free(e->fresh.rules);
		e->fresh.rules = NULL;
		if (down_is("allow"))
			a = &allow_all;
		else if (down_is("deny") || !e->have)
			a = &deny_all;
		else if (e->found)
			a = &e->authz;
		else
			err = "ACL not found";
		/* extend-cache: the entry goes on, tried again soon. */
		if (e->have && (down_is("extend-cache") ||
		    down_is("async-cache")))
			e->expires_ms = now + (ttl < AA_RETRY_MS ? ttl :
			    AA_RETRY_MS);
	} else {
		found = found && e->got_item;
		entry_unlist(e);
		acl_rules_free(e->authz.rules);
		e->authz = found ? e->fresh : deny_all;
		memset(&e->fresh, 0, sizeof(e->fresh));
		e->have = 1;
		e->found = found;
		e->expires_ms = now + ttl;
		if (found && nfound >= AA_MAX_FOUND)
			(void)evict(&found_lru);
		entry_list(e, found);
		if (found)
			a = &e->authz;
		else
			err = "ACL not found";
	}
	/* The callbacks may not resolve again before they return. */
	TAILQ_INIT(&ws);
	TAILQ_CONCAT(&ws, &e->waiters, entry);
	while ((w = TAILQ_FIRST(&ws)) != NULL) {
		TAILQ_REMOVE(&ws, w, entry);
		w->fn(w->arg, a, a == NULL ? err : NULL);
		free(w);
	}
	/* A server's requests held for the token go on, with it. */
	if (raftd_child.conf->server)
		hold_token_release(e->digest);
	/* A failed first read leaves nothing worth keeping. */
	if (!e->have)
		entry_free(e);
}

/*
 * What the primary said of a secret this secondary's tables lack: 0
 * and *out, 1 (no such token there), or -1 (not asked yet; or past
 * its TTL, not being asked again, and a down_policy that does not
 * keep what it had).
 */
int
acl_remote_cached(const char *secret, const struct acl_authz **out)
{
	struct aa_entry	 key, *e;

	aa_digest(secret, key.digest);
	if ((e = RB_FIND(aa_tree, &entries, &key)) == NULL || !e->have ||
	    (node_now_ms() >= e->expires_ms && e->reqid == 0 &&
	    !down_is("extend-cache") && !down_is("async-cache")))
		return -1;
	entry_touch(e);
	*out = e->found ? &e->authz : NULL;
	return e->found ? 0 : 1;
}

/*
 * Called by a server's request handlers with the request's token: 1 if
 * the request was held while the primary is asked about the token
 * (acl_remote_mode, a token neither in the tables nor known fresh
 * here), 0 to serve it now.
 */
int
acl_remote_wait(const char *secret, struct imsgev *iev, struct imsg *imsg)
{
	struct aa_entry		 key, *e;
	const struct acl_authz	*a;
	char			 err[64];

	if (secret == NULL || hold_token_settled() || !acl_remote_mode() ||
	    acl_authz_local(secret, &a, err, sizeof(err)) == 0)
		return 0;
	aa_digest(secret, key.digest);
	e = RB_FIND(aa_tree, &entries, &key);
	if (e != NULL && e->have && node_now_ms() < e->expires_ms)
		return 0;
	if (e == NULL && (e = entry_new(key.digest)) == NULL)
		return 0;
	if (hold_token(iev, imsg, e->digest) == -1) {
		if (!e->have && e->reqid == 0)
			entry_free(e);
		return 0;
	}
	if (e->reqid == 0)
		fetch(e, secret);
	return 1;
}

static void
aa_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct imsg_read_end	 end;
	struct aa_entry		*e;
	msgpack_unpacked	 u;

	e = entry_by_reqid(imsg->hdr.peerid);
	switch (imsg->hdr.type) {
	case IMSG_CAT_ITEM:
		if (e == NULL || e->got_item)
			break;
		if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
		    u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != 1 ||
		    acl_authz_unpack(&u.data.via.array.ptr[0],
		    &e->fresh) == -1)
			fatalx("acl: malformed authorizer from a server");
		msgpack_unpacked_destroy(&u);
		e->got_item = 1;
		break;
	case IMSG_READ_END:
		imsg_need_len(imsg, sizeof(end), "acl");
		memcpy(&end, imsg->data, sizeof(end));
		end.error[sizeof(end.error) - 1] = '\0';
		if (e != NULL)
			fetch_done(e, end.found, end.error);
		break;
	default:
		fatalx("acl: unexpected type %u", imsg->hdr.type);
	}
}

static void
aa_unexpected(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("acl: unexpected message on the request channel");
}

/* Before the sandbox: the channel the reads answer on. */
void
acl_agent_init(struct child *c)
{
	int	 sv[2];

	randombytes_buf(aa_key, sizeof(aa_key));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		fatal("acl: socketpair");
	imsgev_init(&aa_req, c->base, sv[0], "acl", aa_unexpected, NULL);
	imsgev_init(&aa_back, c->base, sv[1], "acl", aa_dispatch, NULL);
}

/* IMSG_ACL_AUTHZ_REQ from apid. */
struct aa_ask {
	struct imsgev	*iev;
	uint32_t	 reqid;
};

static void
authz_answer(void *arg, const struct acl_authz *a, const char *err)
{
	struct aa_ask		*ask = arg;
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	if (a != NULL) {
		msgpack_pack_true(&out.pk);
		acl_authz_pack(&out.pk, a);
	} else {
		msgpack_pack_false(&out.pk);
		msgpack_pack_nil(&out.pk);
	}
	if (out.sbuf.size > IMSG_MAX_DATA) {
		mpack_out_free(&out);
		mpack_out_init(&out);
		msgpack_pack_array(&out.pk, 2);
		msgpack_pack_false(&out.pk);
		msgpack_pack_nil(&out.pk);
	}
	if (imsgev_compose(ask->iev, IMSG_ACL_AUTHZ, ask->reqid, -1,
	    out.sbuf.data, out.sbuf.size) == -1)
		fatal("acl: compose");
	mpack_out_free(&out);
	free(ask);
}

void
acl_authz_request(struct imsgev *iev, struct imsg *imsg)
{
	struct aa_ask	*ask;
	char		 secret[ACL_STR_MAX + 1];

	if (imsg->len > ACL_STR_MAX || (imsg->len > 0 &&
	    memchr(imsg->data, '\0', imsg->len) != NULL))
		fatalx("acl: malformed secret from %s", iev->name);
	if (imsg->len > 0)
		memcpy(secret, imsg->data, imsg->len);
	secret[imsg->len] = '\0';
	if ((ask = calloc(1, sizeof(*ask))) == NULL)
		fatal("acl");
	ask->iev = iev;
	ask->reqid = imsg->hdr.peerid;
	acl_resolve_async(secret, authz_answer, ask);
	explicit_bzero(secret, sizeof(secret));
}
