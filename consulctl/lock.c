/*
 * consulctl lock: run a command only while holding a lock in the KV
 * store, or with -n N one of the N places of a semaphore, as `consul
 * lock` does and with the keys, flags and JSON of Consul's lock and
 * semaphore helpers, so that both tools can share a prefix.
 *
 * A session (TTL 15s, renewed every half TTL) owns the lock.  A lock is
 * the key <prefix>/.lock acquired with the session; a semaphore is a
 * contender key <prefix>/<session> acquired with the session plus the
 * holders, {"Limit":N,"Holders":{"<session>":true}}, kept in
 * <prefix>/.lock and changed only by check-and-set.  While the child
 * runs, blocking queries on the key tell whether it is still held.
 *
 * One thread does everything: blocking queries end before the next
 * renewal is due, and SIGCHLD, SIGINT and SIGTERM write to a pipe that
 * interrupts whatever request is waiting.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "consulctl.h"
#include "duration.h"

#define LOCK_FLAGS		0x2ddccbc058a50c18ULL
#define SEMAPHORE_FLAGS		0xe0f69a2baa414de0ULL
#define LOCK_KEY		".lock"
#define LOCK_TTL		"15s"
#define LOCK_TTL_MS		15000
#define LOCK_DELAY		"15s"
#define LOCK_RETRY_MS		5000	/* a free key we could not take */
#define LOCK_KILL_GRACE_MS	5000	/* SIGTERM, then SIGKILL */
#define LOCK_MONITOR_PAUSE_MS	1000
#define LOCK_RENEW_RETRY_MS	1000
#define LOCK_RELEASE_TRIES	64
#define LOCK_SESSION_MAX	128
#define LOCK_ERRLEN		2048

enum lock_result {
	LOCK_OK,
	LOCK_ERROR,	/* l->err says why */
	LOCK_LOST,	/* l->err says why */
	LOCK_STOP,	/* SIGINT or SIGTERM */
	LOCK_TIMEOUT,
	LOCK_CHILD	/* the child exited */
};

struct lock {
	struct http_opts	 http;
	struct http_opts	 wait;		/* http, interrupted by signals */
	char			*dir;		/* <prefix>/ */
	char			*key;		/* <prefix>/.lock */
	char			*contender;	/* <prefix>/<session>, n > 1 */
	char			 session[LOCK_SESSION_MAX];
	int			 limit;
	int			 verbose;
	int			 monitor_retries;
	int64_t			 ttl_ms;
	int64_t			 renewed;	/* last renewal that worked */
	int64_t			 next_renew;
	int64_t			 deadline;	/* -timeout; 0: none */
	char			 err[LOCK_ERRLEN];
};

/* What one GET of the lock's keys found. */
struct lock_view {
	json_t			*pairs;		/* array, empty on a 404 */
	uint64_t		 index;		/* X-Consul-Index */
};

static volatile sig_atomic_t	 lock_stop;
static int			 lock_pipe[2] = { -1, -1 };

static void
lock_signal(int sig)
{
	ssize_t	 n;
	int	 saved = errno;

	if (sig != SIGCHLD)
		lock_stop = sig;
	/* If the pipe is full, a wake-up is pending already. */
	n = write(lock_pipe[1], "", 1);
	(void)n;
	errno = saved;
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
lock_drain(void)
{
	char	 buf[64];

	while (read(lock_pipe[0], buf, sizeof(buf)) > 0)
		;
}

/* Sleep up to ms, less when a signal comes. */
static void
lock_pause(int64_t ms)
{
	struct pollfd	 pfd;

	if (ms <= 0)
		return;
	pfd.fd = lock_pipe[0];
	pfd.events = POLLIN;
	(void)poll(&pfd, 1, ms > INT32_MAX ? INT32_MAX : (int)ms);
}

static void
verbose(const struct lock *l, const char *fmt, ...)
{
	va_list	 ap;

	if (!l->verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
lock_fail(struct lock *l, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(l->err, sizeof(l->err), fmt, ap);
	va_end(ap);
}

/* "/v1/kv/<key>" and a query that the caller has escaped. */
static char *
kv_path(const char *key, const char *query)
{
	FILE	*f;
	char	*p = NULL;
	size_t	 len;

	if ((f = open_memstream(&p, &len)) == NULL)
		return NULL;
	fputs("/v1/kv/", f);
	http_escape(f, key, "/");
	if (query != NULL)
		fputs(query, f);
	if (fclose(f) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

/*
 * One request; 0 with the answer (any status), -1 with l->err set
 * (prefixed by what), -3 when a signal ended the wait.
 */
static int
lock_call(struct lock *l, int interruptible, const char *method,
    const char *path, const char *body, struct http_response *resp,
    const char *what)
{
	char	 err[LOCK_ERRLEN];
	int	 rc;

	if (path == NULL) {
		lock_fail(l, "%s: %s", what, strerror(errno));
		return -1;
	}
	rc = http_send(interruptible ? &l->wait : &l->http, method, path,
	    body != NULL ? "application/json" : NULL, body,
	    body != NULL ? strlen(body) : 0, resp, err, sizeof(err));
	if (rc == -3)
		return -3;
	if (rc != 0) {
		lock_fail(l, "%s: %s", what, err);
		return -1;
	}
	return 0;
}

/* A call whose answer must be 200; the body is kept in resp. */
static int
lock_call200(struct lock *l, const char *method, const char *path,
    const char *body, struct http_response *resp, const char *what)
{
	char	 err[LOCK_ERRLEN];
	int	 rc;

	if ((rc = lock_call(l, 0, method, path, body, resp, what)) != 0)
		return rc;
	if (resp->status != 200) {
		http_unexpected(resp, err, sizeof(err));
		lock_fail(l, "%s: %s", what, err);
		http_response_free(resp);
		return -1;
	}
	return 0;
}

/* A PUT whose answer is true or false: 1, 0, or -1 on error. */
static int
lock_put_bool(struct lock *l, const char *path, const char *body,
    const char *what)
{
	struct http_response	 resp;
	int			 yes;

	if (lock_call200(l, "PUT", path, body, &resp, what) != 0)
		return -1;
	yes = resp.body != NULL && memmem(resp.body, resp.len, "true",
	    4) != NULL;
	http_response_free(&resp);
	return yes;
}

static int
lock_delete(struct lock *l, const char *path)
{
	struct http_response	 resp;

	if (lock_call200(l, "DELETE", path, NULL, &resp,
	    "failed to delete key") != 0)
		return -1;
	http_response_free(&resp);
	return 0;
}

/* Session IDs go into paths and key names: keep them plain. */
static int
session_id_ok(const char *id)
{
	size_t	 n = strlen(id), i;

	if (n == 0 || n >= LOCK_SESSION_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (id[i] <= ' ' || id[i] >= 0x7f || id[i] == '/' ||
		    id[i] == '%' || id[i] == '?' || id[i] == '#')
			return 0;
	return 1;
}

static int
session_create(struct lock *l, const char *name)
{
	struct http_response	 resp;
	json_error_t		 jerr;
	json_t			*req, *doc;
	char			*body;
	const char		*id;

	req = json_pack("{s:s%,s:s,s:s,s:s}", "Name", name, strlen(name),
	    "TTL", LOCK_TTL, "Behavior", l->limit > 1 ? "delete" : "release",
	    "LockDelay", LOCK_DELAY);
	if (req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		json_decref(req);
		lock_fail(l, "failed to create session: the session name is "
		    "not valid UTF-8");
		return -1;
	}
	json_decref(req);
	if (lock_call200(l, "PUT", "/v1/session/create", body, &resp,
	    "failed to create session") != 0) {
		free(body);
		return -1;
	}
	free(body);
	doc = json_loadb(resp.body, resp.len, 0, &jerr);
	http_response_free(&resp);
	id = json_str(doc, "ID");
	if (!session_id_ok(id)) {
		lock_fail(l, "failed to create session: %s", doc == NULL ?
		    jerr.text : "no usable ID in the answer");
		json_decref(doc);
		return -1;
	}
	strlcpy(l->session, id, sizeof(l->session));
	json_decref(doc);
	l->ttl_ms = LOCK_TTL_MS;
	l->renewed = now_ms();
	l->next_renew = l->renewed + l->ttl_ms / 2;
	return 0;
}

/*
 * Renew the session when it is due.  Failures to reach the agent are
 * retried until a whole TTL has gone by without a renewal; an agent
 * that no longer knows the session means it is gone.
 */
static int
session_renew(struct lock *l)
{
	struct http_response	 resp;
	json_t			*doc;
	char			*path = NULL, err[LOCK_ERRLEN];
	int64_t			 now = now_ms(), ns;
	int			 rc;

	if (now < l->next_renew)
		return LOCK_OK;
	if (asprintf(&path, "/v1/session/renew/%s", l->session) == -1)
		path = NULL;
	rc = lock_call(l, 0, "PUT", path, NULL, &resp,
	    "failed to renew session");
	free(path);
	if (rc == 0 && resp.status == 404) {
		http_response_free(&resp);
		lock_fail(l, "session %s expired", l->session);
		return LOCK_LOST;
	}
	if (rc == 0 && resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		lock_fail(l, "failed to renew session: %s", err);
		http_response_free(&resp);
		rc = -1;
	}
	now = now_ms();
	if (rc != 0) {
		if (now - l->renewed >= l->ttl_ms)
			return LOCK_LOST;
		l->next_renew = now + LOCK_RENEW_RETRY_MS;
		return LOCK_OK;
	}
	/* The agent may hand back a longer TTL when it is busy. */
	doc = json_loadb(resp.body, resp.len, 0, NULL);
	http_response_free(&resp);
	if (json_is_array(doc) &&
	    duration_parse(json_str(json_array_get(doc, 0), "TTL"), &ns) == 0 &&
	    ns / DURATION_MSEC >= 1000)
		l->ttl_ms = ns / DURATION_MSEC;
	json_decref(doc);
	l->renewed = now;
	l->next_renew = now + l->ttl_ms / 2;
	return LOCK_OK;
}

static void
session_destroy(struct lock *l)
{
	struct http_response	 resp;
	char			*path = NULL;

	if (l->session[0] == '\0')
		return;
	if (asprintf(&path, "/v1/session/destroy/%s", l->session) == -1)
		path = NULL;
	if (lock_call200(l, "PUT", path, NULL, &resp,
	    "failed to destroy session") == 0)
		http_response_free(&resp);
	else
		fprintf(stderr, "Warning: %s\n", l->err);
	free(path);
	l->session[0] = '\0';
}

/*
 * GET key (recurse: everything under key) with ?index, waiting at most
 * until the next renewal or the deadline.  0, -1 or -3 as lock_call().
 */
static int
lock_get(struct lock *l, const char *key, int recurse, uint64_t index,
    struct lock_view *v)
{
	struct http_response	 resp;
	json_error_t		 jerr;
	char			 query[128], err[LOCK_ERRLEN], *path, *end;
	int64_t			 wait;
	int			 rc;

	memset(v, 0, sizeof(*v));
	wait = l->next_renew - now_ms();
	if (l->deadline != 0 && l->deadline - now_ms() < wait)
		wait = l->deadline - now_ms();
	if (wait < 10)
		wait = 10;
	if (index == 0)
		snprintf(query, sizeof(query), "%s", recurse ? "?recurse=" :
		    "");
	else
		snprintf(query, sizeof(query), "?%sindex=%" PRIu64
		    "&wait=%" PRId64 "ms", recurse ? "recurse=&" : "", index,
		    wait);
	path = kv_path(key, query);
	/* Only a query that waits is cut short by a signal. */
	rc = lock_call(l, index > 0, "GET", path, NULL, &resp,
	    "failed to read lock");
	free(path);
	if (rc != 0)
		return rc;
	if (resp.status != 200 && resp.status != 404) {
		http_unexpected(&resp, err, sizeof(err));
		lock_fail(l, "failed to read lock: %s", err);
		http_response_free(&resp);
		return -1;
	}
	if (resp.index != NULL) {
		errno = 0;
		v->index = strtoull(resp.index, &end, 10);
		if (errno != 0 || *end != '\0')
			v->index = 0;
	}
	if (resp.status == 404)
		v->pairs = json_array();
	else if ((v->pairs = kv_json_load(resp.body, resp.len,
	    &jerr)) == NULL || !json_is_array(v->pairs)) {
		lock_fail(l, "failed to read lock: %s", v->pairs == NULL ?
		    jerr.text : "not an array of pairs");
		json_decref(v->pairs);
		v->pairs = NULL;
		http_response_free(&resp);
		return -1;
	}
	http_response_free(&resp);
	return 0;
}

/* The pair of key in the view, or NULL. */
static json_t *
view_pair(const struct lock_view *v, const char *key)
{
	json_t	*p;
	size_t	 i;

	json_array_foreach(v->pairs, i, p)
		if (json_is_object(p) && strcmp(json_str(p, "Key"), key) == 0)
			return p;
	return NULL;
}

static uint64_t
pair_u64(json_t *pair, const char *name)
{
	uint64_t	 v;

	return json_u64(json_object_get(pair, name), &v) == 0 ? v : 0;
}

/* The lock (n = 1). */

static int
lock_acquire(struct lock *l)
{
	struct lock_view	 v;
	json_t			*pair;
	char			*path, query[LOCK_SESSION_MAX + 64];
	uint64_t		 index = 0;
	int			 rc, taken;

	for (;;) {
		lock_drain();
		if (lock_stop)
			return LOCK_STOP;
		if (l->deadline != 0 && now_ms() >= l->deadline)
			return LOCK_TIMEOUT;
		if (session_renew(l) != LOCK_OK)
			return LOCK_ERROR;
		if ((rc = lock_get(l, l->key, 0, index, &v)) == -3)
			continue;
		if (rc != 0)
			return LOCK_ERROR;
		pair = view_pair(&v, l->key);
		if (pair != NULL && pair_u64(pair, "Flags") != LOCK_FLAGS) {
			json_decref(v.pairs);
			lock_fail(l, "Existing key does not match lock use");
			return LOCK_ERROR;
		}
		if (pair != NULL && strcmp(json_str(pair, "Session"),
		    l->session) == 0) {
			json_decref(v.pairs);
			return LOCK_OK;
		}
		if (pair != NULL && *json_str(pair, "Session") != '\0') {
			/* Held by another: wait for the key to change. */
			index = v.index;
			json_decref(v.pairs);
			if (index == 0)
				lock_pause(LOCK_MONITOR_PAUSE_MS);
			continue;
		}
		json_decref(v.pairs);
		snprintf(query, sizeof(query), "?acquire=%s&flags=%llu",
		    l->session, LOCK_FLAGS);
		path = kv_path(l->key, query);
		taken = lock_put_bool(l, path, NULL, "failed to acquire lock");
		free(path);
		if (taken == -1)
			return LOCK_ERROR;
		if (taken)
			return LOCK_OK;
		/*
		 * Someone was quicker, or the key is free but within the
		 * lock-delay of a session that died holding it.
		 */
		if ((rc = lock_get(l, l->key, 0, 0, &v)) == -1)
			return LOCK_ERROR;
		if (rc == 0) {
			pair = view_pair(&v, l->key);
			if (pair != NULL &&
			    *json_str(pair, "Session") != '\0') {
				index = v.index;
				json_decref(v.pairs);
				continue;
			}
			json_decref(v.pairs);
		}
		lock_pause(l->deadline != 0 && l->deadline - now_ms() <
		    LOCK_RETRY_MS ? l->deadline - now_ms() : LOCK_RETRY_MS);
		index = 0;
	}
}

static int
lock_held(const struct lock *l, const struct lock_view *v)
{
	json_t	*pair = view_pair(v, l->key);

	return pair != NULL &&
	    strcmp(json_str(pair, "Session"), l->session) == 0;
}

static int
lock_release(struct lock *l)
{
	char	*path, query[LOCK_SESSION_MAX + 64];
	int	 rc;

	snprintf(query, sizeof(query), "?flags=%llu&release=%s", LOCK_FLAGS,
	    l->session);
	path = kv_path(l->key, query);
	rc = lock_put_bool(l, path, NULL, "failed to release lock");
	free(path);
	return rc == -1 ? -1 : 0;
}

/* Delete the key if nobody holds it: 0, 1 when in use, -1 on error. */
static int
lock_cleanup(struct lock *l)
{
	struct lock_view	 v;
	json_t			*pair;
	char			*path, query[64];
	int			 rc;

	if (lock_get(l, l->key, 0, 0, &v) != 0)
		return -1;
	if ((pair = view_pair(&v, l->key)) == NULL) {
		json_decref(v.pairs);
		return 0;
	}
	if (pair_u64(pair, "Flags") != LOCK_FLAGS) {
		json_decref(v.pairs);
		lock_fail(l, "Existing key does not match lock use");
		return -1;
	}
	if (*json_str(pair, "Session") != '\0') {
		json_decref(v.pairs);
		return 1;
	}
	snprintf(query, sizeof(query), "?cas=%" PRIu64,
	    pair_u64(pair, "ModifyIndex"));
	json_decref(v.pairs);
	path = kv_path(l->key, query);
	rc = lock_delete(l, path);
	free(path);
	return rc;
}

/* The semaphore (n > 1). */

/*
 * The holders recorded in <prefix>/.lock, less those whose contender
 * key is gone (their session died).  *lockpair is the pair, or NULL
 * when there is none yet; *holders is a new object.
 */
static int
sem_state(struct lock *l, const struct lock_view *v, json_t **lockpair,
    json_t **holders, int *limit)
{
	json_error_t	 jerr;
	json_t		*doc, *p, *h, *lim;
	const char	*s, *name;
	unsigned char	*value = NULL;
	char		 err[LOCK_ERRLEN];
	size_t		 len, i;
	void		*tmp;
	int		 alive;

	*holders = NULL;
	*limit = l->limit;
	if ((*lockpair = view_pair(v, l->key)) == NULL) {
		*holders = json_object();
		return 0;
	}
	if (pair_u64(*lockpair, "Flags") != SEMAPHORE_FLAGS) {
		lock_fail(l, "Existing key does not match semaphore use");
		return -1;
	}
	s = json_str(*lockpair, "Value");
	if (b64_decode(s, strlen(s), &value, &len, err, sizeof(err)) == -1) {
		lock_fail(l, "failed to decode semaphore: %s", err);
		return -1;
	}
	doc = json_loadb((const char *)value, len, 0, &jerr);
	free(value);
	lim = json_object_get(doc, "Limit");
	h = json_object_get(doc, "Holders");
	if (!json_is_object(doc) || !json_is_integer(lim) ||
	    json_integer_value(lim) < 1 || json_integer_value(lim) > INT32_MAX ||
	    (h != NULL && !json_is_null(h) && !json_is_object(h))) {
		lock_fail(l, "failed to decode semaphore: %s", doc == NULL ?
		    jerr.text : "not {\"Limit\":n,\"Holders\":{...}}");
		json_decref(doc);
		return -1;
	}
	*limit = (int)json_integer_value(lim);
	*holders = json_is_object(h) ? json_deep_copy(h) : json_object();
	json_decref(doc);
	if (*holders == NULL) {
		lock_fail(l, "%s", strerror(ENOMEM));
		return -1;
	}
	json_object_foreach_safe(*holders, tmp, name, h) {
		alive = 0;
		json_array_foreach(v->pairs, i, p)
			if (strcmp(json_str(p, "Session"), name) == 0)
				alive = 1;
		if (!alive)
			json_object_del(*holders, name);
	}
	return 0;
}

/* {"Limit":n,"Holders":{...}} as Go encodes it: map keys sorted. */
static char *
sem_encode(int limit, json_t *holders)
{
	const char	**names;
	const char	 *name;
	json_t		 *v;
	FILE		 *f;
	char		 *s = NULL, *k;
	size_t		  n = 0, i, len;

	if ((names = calloc(json_object_size(holders) + 1,
	    sizeof(*names))) == NULL)
		return NULL;
	json_object_foreach(holders, name, v)
		names[n++] = name;
	qsort(names, n, sizeof(*names), str_ptr_cmp);
	if ((f = open_memstream(&s, &len)) == NULL) {
		free(names);
		return NULL;
	}
	fprintf(f, "{\"Limit\":%d,\"Holders\":{", limit);
	for (i = 0; i < n; i++) {
		v = json_string(names[i]);
		k = json_dumps(v, JSON_ENCODE_ANY);
		json_decref(v);
		fprintf(f, "%s%s:%s", i > 0 ? "," : "", k != NULL ? k : "\"\"",
		    json_is_true(json_object_get(holders, names[i])) ?
		    "true" : "false");
		free(k);
	}
	fputs("}}", f);
	free(names);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* Add this session to the holders: 1 done, 0 lost the race, -1. */
static int
sem_take(struct lock *l, json_t *lockpair, json_t *holders, int limit)
{
	char	*path, *body, query[128];
	int	 rc;

	json_object_set_new(holders, l->session, json_true());
	if ((body = sem_encode(limit, holders)) == NULL) {
		lock_fail(l, "failed to update semaphore: %s",
		    strerror(ENOMEM));
		return -1;
	}
	snprintf(query, sizeof(query), "?cas=%" PRIu64 "&flags=%llu",
	    lockpair != NULL ? pair_u64(lockpair, "ModifyIndex") : 0,
	    SEMAPHORE_FLAGS);
	path = kv_path(l->key, query);
	rc = lock_put_bool(l, path, body, "failed to update semaphore");
	free(path);
	free(body);
	return rc;
}

static int
sem_acquire(struct lock *l)
{
	struct lock_view	 v;
	json_t			*lockpair, *holders;
	char			*path, query[LOCK_SESSION_MAX + 64];
	uint64_t		 index = 0;
	int			 rc, limit;

	snprintf(query, sizeof(query), "?acquire=%s&flags=%llu", l->session,
	    SEMAPHORE_FLAGS);
	path = kv_path(l->contender, query);
	rc = lock_put_bool(l, path, NULL, "failed to make contender entry");
	free(path);
	if (rc == 0)
		lock_fail(l, "failed to make contender entry");
	if (rc != 1)
		return LOCK_ERROR;

	for (;;) {
		lock_drain();
		if (lock_stop)
			return LOCK_STOP;
		if (l->deadline != 0 && now_ms() >= l->deadline)
			return LOCK_TIMEOUT;
		if (session_renew(l) != LOCK_OK)
			return LOCK_ERROR;
		if ((rc = lock_get(l, l->dir, 1, index, &v)) == -3)
			continue;
		if (rc != 0)
			return LOCK_ERROR;
		if (sem_state(l, &v, &lockpair, &holders, &limit) == -1) {
			json_decref(v.pairs);
			return LOCK_ERROR;
		}
		if (limit != l->limit) {
			lock_fail(l, "semaphore limit conflict (lock: %d, "
			    "local: %d)", limit, l->limit);
			rc = LOCK_ERROR;
		} else if (json_object_get(holders, l->session) != NULL)
			rc = LOCK_OK;
		else if ((int)json_object_size(holders) >= limit) {
			index = v.index;
			if (index == 0)
				lock_pause(LOCK_MONITOR_PAUSE_MS);
			rc = -1;
		} else {
			index = 0;
			rc = sem_take(l, lockpair, holders, limit);
			rc = rc == 1 ? LOCK_OK : rc == 0 ? -1 : LOCK_ERROR;
		}
		json_decref(holders);
		json_decref(v.pairs);
		if (rc != -1)
			return rc;
	}
}

static int
sem_held(struct lock *l, const struct lock_view *v)
{
	json_t	*lockpair, *holders;
	int	 limit, held;

	if (sem_state(l, v, &lockpair, &holders, &limit) == -1)
		return 0;
	held = lockpair != NULL &&
	    json_object_get(holders, l->session) != NULL;
	json_decref(holders);
	return held;
}

/* Leave the holders, then drop the contender key. */
static int
sem_release(struct lock *l)
{
	struct lock_view	 v;
	json_t			*lockpair, *holders, *mine;
	char			*path, *body, query[128];
	int			 tries, limit, rc;

	for (tries = 0; tries < LOCK_RELEASE_TRIES; tries++) {
		if (lock_get(l, l->dir, 1, 0, &v) != 0)
			return -1;
		if (sem_state(l, &v, &lockpair, &holders, &limit) == -1) {
			json_decref(v.pairs);
			return -1;
		}
		mine = json_object_get(holders, l->session);
		if (lockpair == NULL || mine == NULL) {
			json_decref(holders);
			json_decref(v.pairs);
			break;
		}
		json_object_del(holders, l->session);
		body = sem_encode(limit, holders);
		snprintf(query, sizeof(query), "?cas=%" PRIu64 "&flags=%llu",
		    pair_u64(lockpair, "ModifyIndex"), SEMAPHORE_FLAGS);
		json_decref(holders);
		json_decref(v.pairs);
		if (body == NULL) {
			lock_fail(l, "%s", strerror(ENOMEM));
			return -1;
		}
		path = kv_path(l->key, query);
		rc = lock_put_bool(l, path, body, "failed to update semaphore");
		free(path);
		free(body);
		if (rc == -1)
			return -1;
		if (rc == 1)
			break;
	}
	if (tries == LOCK_RELEASE_TRIES) {
		lock_fail(l, "failed to update semaphore: too many conflicting "
		    "writes");
		return -1;
	}
	path = kv_path(l->contender, NULL);
	rc = lock_delete(l, path);
	free(path);
	return rc;
}

/* Delete <prefix>/.lock if it has no holders: 0, 1 in use, -1. */
static int
sem_cleanup(struct lock *l)
{
	struct lock_view	 v;
	json_t			*lockpair, *holders;
	char			*path, query[64];
	int			 limit, rc;

	if (lock_get(l, l->dir, 1, 0, &v) != 0)
		return -1;
	if (sem_state(l, &v, &lockpair, &holders, &limit) == -1) {
		json_decref(v.pairs);
		return -1;
	}
	rc = lockpair == NULL ? 0 : json_object_size(holders) > 0 ? 1 : 2;
	if (rc == 2)
		snprintf(query, sizeof(query), "?cas=%" PRIu64,
		    pair_u64(lockpair, "ModifyIndex"));
	json_decref(holders);
	json_decref(v.pairs);
	if (rc != 2)
		return rc;
	path = kv_path(l->key, query);
	rc = lock_delete(l, path);
	free(path);
	return rc;
}

/* The child. */

/* SIGTERM, and SIGKILL if it is still there after the grace period. */
static void
child_kill(const struct lock *l, pid_t pid, int *status)
{
	int64_t	 deadline;

	verbose(l, "Terminating child pid %d", (int)pid);
	kill(pid, SIGTERM);
	deadline = now_ms() + LOCK_KILL_GRACE_MS;
	while (now_ms() < deadline) {
		lock_drain();
		if (waitpid(pid, status, WNOHANG) == pid)
			return;
		lock_pause(deadline - now_ms());
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) == -1 && errno == EINTR)
		;
}

/*
 * While the child runs, follow the lock with blocking queries; returns
 * why it stopped: the child exited (*status), the lock was lost, or a
 * signal asked to stop.
 */
static int
lock_hold(struct lock *l, pid_t pid, int *status)
{
	struct lock_view	 v;
	uint64_t		 index = 0;
	int			 rc, held, retries = l->monitor_retries;

	for (;;) {
		lock_drain();
		if (waitpid(pid, status, WNOHANG) == pid)
			return LOCK_CHILD;
		if (lock_stop)
			return LOCK_STOP;
		if (session_renew(l) != LOCK_OK)
			return LOCK_LOST;
		rc = lock_get(l, l->limit > 1 ? l->dir : l->key,
		    l->limit > 1, index, &v);
		if (rc == -3)
			continue;
		if (rc == -1) {
			if (retries-- <= 0)
				return LOCK_LOST;
			lock_pause(LOCK_MONITOR_PAUSE_MS);
			continue;
		}
		retries = l->monitor_retries;
		held = l->limit > 1 ? sem_held(l, &v) : lock_held(l, &v);
		json_decref(v.pairs);
		if (!held) {
			lock_fail(l, "lock is no longer held by session %s",
			    l->session);
			return LOCK_LOST;
		}
		/* No index to wait on: do not spin. */
		if (v.index == 0)
			lock_pause(LOCK_MONITOR_PAUSE_MS);
		index = v.index < index ? 0 : v.index;
	}
}

static int
lock_signals(void)
{
	struct sigaction	 sa;

	if (pipe2(lock_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = lock_signal;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGCHLD, &sa, NULL) == -1)
		return -1;
	/* A connection reset must not kill us while the child runs. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void
lock_free(struct lock *l)
{
	free(l->dir);
	free(l->key);
	free(l->contender);
}

int
cmd_lock(int argc, char **argv)
{
	struct lock		 l;
	const char		*name = "", *timeout = "", *prefix;
	char			*cmdline = NULL, *session_name = NULL;
	char			 err[LOCK_ERRLEN];
	int64_t			 timeout_ns = 0;
	pid_t			 pid = -1;
	int			 limit = 1, shell = 1, pass_stdin = 0;
	int			 child_exit_code = 0, verbose_flag = 0;
	int			 monitor_retry = 3, first, rc, status = 1;
	int			 child_status = 0, why;
	const struct cflag	 flags[] = {
		{ "n", CFLAG_INT, &limit },
		{ "name", CFLAG_STRING, &name },
		{ "timeout", CFLAG_STRING, &timeout },
		{ "shell", CFLAG_BOOL, &shell },
		{ "pass-stdin", CFLAG_BOOL, &pass_stdin },
		{ "child-exit-code", CFLAG_BOOL, &child_exit_code },
		{ "verbose", CFLAG_BOOL, &verbose_flag },
		{ "monitor-retry", CFLAG_INT, &monitor_retry },
	};

	memset(&l, 0, sizeof(l));
	if ((first = cflags_parse("lock", flags, 8, &l.http, argc,
	    argv)) == -1)
		return 1;
	if (argc - first < 2) {
		fprintf(stderr, "Key prefix and child command must be "
		    "specified\n");
		return 1;
	}
	if (limit <= 0) {
		fprintf(stderr, "Lock holder limit must be positive\n");
		return 1;
	}
	if (*timeout != '\0' && (duration_parse(timeout, &timeout_ns) == -1 ||
	    timeout_ns < 0)) {
		fprintf(stderr, "invalid value \"%s\" for flag -timeout: parse "
		    "error\n", timeout);
		return 1;
	}
	if (monitor_retry < 0) {
		fprintf(stderr, "invalid value \"%d\" for flag -monitor-retry: "
		    "must not be negative\n", monitor_retry);
		return 1;
	}
	/* Keys cannot start with '/'; Consul drops one for the user. */
	prefix = argv[first];
	if (*prefix == '/')
		prefix++;
	if (*prefix == '\0') {
		fprintf(stderr, "Key prefix must not be empty\n");
		return 1;
	}
	l.limit = limit;
	l.verbose = verbose_flag;
	l.monitor_retries = monitor_retry;
	l.wait = l.http;
	l.wait.cancel_fd = &lock_pipe[0];
	if ((cmdline = child_join(argv + first + 1, argc - first - 1)) ==
	    NULL || asprintf(&l.dir, "%s/", prefix) == -1 ||
	    asprintf(&l.key, "%s/%s", prefix, LOCK_KEY) == -1 ||
	    (*name == '\0' && asprintf(&session_name, "Consul lock for '%s' "
	    "at '%s'", cmdline, prefix) == -1) || lock_signals() == -1) {
		fprintf(stderr, "Error: %s\n", strerror(errno));
		goto done;
	}
	if (*name != '\0')
		session_name = strdup(name);

	if (limit > 1)
		verbose(&l, "Setting up semaphore (limit %d) at prefix: %s",
		    limit, l.dir);
	else
		verbose(&l, "Setting up lock at path: %s", l.key);
	if (session_name == NULL || session_create(&l, session_name) == -1) {
		fprintf(stderr, "Lock acquisition failed: %s\n", l.err);
		goto done;
	}
	if (limit > 1 && asprintf(&l.contender, "%s%s", l.dir,
	    l.session) == -1) {
		l.contender = NULL;
		fprintf(stderr, "Error: %s\n", strerror(errno));
		goto done;
	}
	if (timeout_ns > 0)
		l.deadline = now_ms() + timeout_ns / DURATION_MSEC;
	verbose(&l, "Attempting lock acquisition");
	rc = limit > 1 ? sem_acquire(&l) : lock_acquire(&l);
	if (rc == LOCK_ERROR) {
		fprintf(stderr, "Lock acquisition failed: %s\n", l.err);
		goto done;
	}
	if (rc != LOCK_OK) {
		fprintf(stderr, "Shutdown triggered or timeout during lock "
		    "acquisition\n");
		goto done;
	}

	verbose(&l, "Starting handler");
	pid = child_start(argv + first + 1, argc - first - 1, shell,
	    pass_stdin ? STDIN_FILENO : -1, "CONSUL_LOCK_HELD", "true", 0,
	    err, sizeof(err));
	if (pid == -1) {
		fprintf(stderr, "Error starting handler: %s\n", err);
		why = LOCK_ERROR;
	} else
		why = lock_hold(&l, pid, &child_status);
	switch (why) {
	case LOCK_CHILD:
		verbose(&l, "Child terminated, releasing lock");
		status = 0;
		break;
	case LOCK_LOST:
		fprintf(stderr, "Lock lost, killing child\n");
		if (l.err[0] != '\0')
			verbose(&l, "Lock lost: %s", l.err);
		child_kill(&l, pid, &child_status);
		break;
	case LOCK_STOP:
		fprintf(stderr, "Shutdown triggered, killing child\n");
		child_kill(&l, pid, &child_status);
		break;
	}

	if ((limit > 1 ? sem_release(&l) : lock_release(&l)) == -1) {
		fprintf(stderr, "Lock release failed: %s\n", l.err);
		status = 1;
	} else if ((rc = limit > 1 ? sem_cleanup(&l) : lock_cleanup(&l)) ==
	    -1) {
		fprintf(stderr, "Lock cleanup failed: %s\n", l.err);
		status = 1;
	} else if (rc == 1)
		verbose(&l, "Cleanup aborted, lock in use");
	else
		verbose(&l, "Cleanup succeeded");
	if (status == 0 && child_exit_code && (!WIFEXITED(child_status) ||
	    WEXITSTATUS(child_status) != 0))
		status = 2;
 done:
	/* Destroying the session also drops a semaphore's contender key. */
	session_destroy(&l);
	free(cmdline);
	free(session_name);
	lock_free(&l);
	return status;
}
