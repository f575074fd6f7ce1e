/*
 * The checks checkd runs, by id: raftd sets and deletes them, the
 * parent its script checks (check_proto.h), each runs on its own timer,
 * and every probe's result goes back through the function checks_init()
 * was given.  A probe
 * still running when its check is next due is left alone, not started
 * twice; a check that is replaced or deleted has its probe stopped
 * without a result.
 */
#include <sys/types.h>
#include <sys/tree.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkd.h"
#include "imsg.h"
#include "log.h"
#include "mpack.h"

RB_HEAD(check_tree, check);

static struct check_tree	 checks = RB_INITIALIZER(&checks);
static size_t			 nchecks;
static struct event_base	*checks_base;
static check_result_fn		 checks_result;
static void			*checks_arg;
/* The unit test shortens the first pause. */
static uint64_t			 checks_stagger_max = CHECK_STAGGER_MAX_MS;

static int
check_cmp(struct check *a, struct check *b)
{
	return strcmp(a->id, b->id);
}

RB_GENERATE(check_tree, check, entry, check_cmp)

void
checks_init(struct event_base *base, check_result_fn fn, void *arg)
{
	checks_base = base;
	checks_result = fn;
	checks_arg = arg;
}

struct event_base *
check_base(void)
{
	return checks_base;
}

const char *
check_status_name(enum check_status st)
{
	switch (st) {
	case CHECK_PASSING:
		return "passing";
	case CHECK_WARNING:
		return "warning";
	default:
		return "critical";
	}
}

static void
check_free(struct check *c)
{
	size_t	 i;

	free(c->id);
	free(c->target);
	free(c->method);
	for (i = 0; i < c->nheaders; i++) {
		free(c->headers[i].name);
		free(c->headers[i].value);
	}
	free(c->headers);
	free(c->body);
	free(c);
}

/* Out of the table: no timer, no probe, nothing of its type left. */
static void
check_remove(struct check *c)
{
	RB_REMOVE(check_tree, &checks, c);
	nchecks--;
	evtimer_del(&c->tick);
	if (c->probe != NULL)
		c->ops->stop(c);
	c->ops->clear(c);
	check_free(c);
}

void
checks_free(void)
{
	struct check	*c;

	while ((c = RB_MIN(check_tree, &checks)) != NULL)
		check_remove(c);
}

size_t
checks_count(void)
{
	return nchecks;
}

size_t
checks_probing(void)
{
	struct check	*c;
	size_t		 n = 0;

	RB_FOREACH(c, check_tree, &checks)
		n += c->probe != NULL;
	return n;
}

/*
 * A string the user wrote (target, method, a header) as a C string.  A
 * NUL inside becomes DEL, a control character that the URL and header
 * checks refuse: the check reports critical instead of being cut short.
 */
static int
check_user_str(const msgpack_object *o, size_t max, char **out)
{
	size_t	 i;

	if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
	    o->via.str.size > max)
		return -1;
	if ((*out = malloc(o->via.str.size + 1)) == NULL)
		fatal("check");
	if (o->via.str.size > 0)
		memcpy(*out, o->via.str.ptr, o->via.str.size);
	(*out)[o->via.str.size] = '\0';
	for (i = 0; i < o->via.str.size; i++)
		if ((*out)[i] == '\0')
			(*out)[i] = 0x7f;
	return 0;
}

/* An optional field: NULL when missing or nil. */
static const msgpack_object *
check_opt(const msgpack_object *m, const char *key)
{
	const msgpack_object	*o = mpack_map_get(m, key);

	return o == NULL || o->type == MSGPACK_OBJECT_NIL ? NULL : o;
}

static int
check_decode_headers(const msgpack_object *o, struct check *c)
{
	const msgpack_object	*h;
	uint32_t		 i;

	if (o == NULL)
		return 0;
	if (o->type != MSGPACK_OBJECT_ARRAY ||
	    o->via.array.size > CHECK_HEADERS_MAX)
		return -1;
	if (o->via.array.size == 0)
		return 0;
	if ((c->headers = calloc(o->via.array.size,
	    sizeof(*c->headers))) == NULL)
		fatal("check");
	for (i = 0; i < o->via.array.size; i++) {
		h = &o->via.array.ptr[i];
		if (h->type != MSGPACK_OBJECT_ARRAY || h->via.array.size != 2)
			return -1;
		if (check_user_str(&h->via.array.ptr[0], IMSG_MAX_DATA,
		    &c->headers[i].name) == -1) {
			c->nheaders = i;
			return -1;
		}
		c->nheaders = i + 1;
		if (check_user_str(&h->via.array.ptr[1], IMSG_MAX_DATA,
		    &c->headers[i].value) == -1)
			return -1;
	}
	return 0;
}

static int
check_decode_time(const msgpack_object *m, const char *key, uint64_t min,
    uint64_t *ms)
{
	if (mpack_map_uint(m, key, ms) == -1 || *ms < min)
		return -1;
	if (*ms > CHECK_TIME_MAX_MS)
		*ms = CHECK_TIME_MAX_MS;
	return 0;
}

/*
 * IMSG_CHECK_SET's map into c.  Every bound of check_proto.h is checked;
 * the fields only http checks use, and output_max, may be missing or
 * nil.
 */
static int
check_decode(const msgpack_object *m, struct check *c)
{
	const msgpack_object	*o;
	uint64_t		 u;

	if (m->type != MSGPACK_OBJECT_MAP)
		return -1;
	o = mpack_map_get(m, "id");
	if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
	    o->via.str.size == 0 || o->via.str.size > CHECK_ID_MAX ||
	    mpack_get_str(o, &c->id) == -1)
		return -1;
	if (mpack_map_uint(m, "type", &u) == -1)
		return -1;
	switch (u) {
	case CHECK_TYPE_HTTP:
		c->ops = &http_ops;
		break;
	case CHECK_TYPE_TCP:
		c->ops = &tcp_ops;
		break;
	case CHECK_TYPE_SCRIPT:
		c->ops = &script_ops;
		break;
	default:
		return -1;
	}
	c->type = u;
	if (check_user_str(mpack_map_get(m, "target"), CHECK_TARGET_MAX,
	    &c->target) == -1)
		return -1;
	o = check_opt(m, "method");
	if (o != NULL && check_user_str(o, IMSG_MAX_DATA, &c->method) == -1)
		return -1;
	if (check_decode_headers(check_opt(m, "headers"), c) == -1)
		return -1;
	if ((o = check_opt(m, "body")) != NULL) {
		if (o->type != MSGPACK_OBJECT_STR ||
		    o->via.str.size > CHECK_BODY_MAX)
			return -1;
		/* Any bytes at all: it is sent as it is. */
		if ((c->body = malloc(o->via.str.size + 1)) == NULL)
			fatal("check");
		if (o->via.str.size > 0)
			memcpy(c->body, o->via.str.ptr, o->via.str.size);
		c->bodylen = o->via.str.size;
	}
	o = check_opt(m, "tls_skip_verify");
	if (o != NULL && mpack_get_bool(o, &c->tls_skip_verify) == -1)
		return -1;
	if (check_decode_time(m, "interval_ms", CHECK_INTERVAL_MIN_MS,
	    &c->interval_ms) == -1 ||
	    check_decode_time(m, "timeout_ms", 1, &c->timeout_ms) == -1)
		return -1;
	u = 0;
	o = check_opt(m, "output_max");
	if (o != NULL && (mpack_get_uint(o, &u) == -1 ||
	    u > CHECK_OUTPUT_MAX))
		return -1;
	c->output_max = u > 0 ? u : CHECK_OUTPUT_DEFAULT;
	return 0;
}

static void
check_schedule(struct check *c, uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (evtimer_add(&c->tick, &tv) == -1)
		fatalx("check: cannot schedule check %s", c->id);
}

static void
check_tick(evutil_socket_t fd, short what, void *arg)
{
	struct check	*c = arg;

	check_schedule(c, c->interval_ms);
	if (c->probe != NULL) {
		log_debug("check: %s: the last probe still runs, not starting "
		    "another", c->id);
		return;
	}
	c->ops->start(c);
}

/* Script checks are the parent's to set and delete, the others raftd's. */
static int
check_source_may(enum check_source from, enum check_type type)
{
	return (from == CHECK_FROM_PARENT) == (type == CHECK_TYPE_SCRIPT);
}

/*
 * IMSG_CHECK_SET from raftd or the parent: -1 when malformed or not
 * that sender's type (check_proto.h).  A new check's first probe comes
 * after a random pause of up to interval/8 (at most
 * CHECK_STAGGER_MAX_MS), so that checks set together do not probe in
 * lockstep ever after; a replaced check probes at once.
 */
int
check_set_msg(const void *buf, size_t len, enum check_source from)
{
	msgpack_unpacked	 u;
	struct check		*c, *old;
	uint64_t		 delay = 0, spread;
	char			 why[64];
	int			 rc, n;

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("check");
	rc = check_decode(&u.data, c);
	msgpack_unpacked_destroy(&u);
	if (rc == -1 || !check_source_may(from, c->type)) {
		check_free(c);
		return -1;
	}
	if ((old = RB_FIND(check_tree, &checks, c)) != NULL)
		check_remove(old);
	else if (nchecks >= CHECK_RUNNING_MAX) {
		log_warnx("check: %s: already running %d checks, not this "
		    "one", c->id, CHECK_RUNNING_MAX);
		n = snprintf(why, sizeof(why), "checkd runs at most %d "
		    "checks", CHECK_RUNNING_MAX);
		check_report(c, CHECK_CRITICAL, why, n);
		check_free(c);
		return 0;
	} else {
		spread = c->interval_ms / 8;
		if (spread > checks_stagger_max)
			spread = checks_stagger_max;
		delay = arc4random_uniform(spread + 1);
	}
	RB_INSERT(check_tree, &checks, c);
	nchecks++;
	evtimer_assign(&c->tick, checks_base, check_tick, c);
	c->ops->prepare(c);
	check_schedule(c, delay);
	log_debug("check: %s: every %llu ms, first in %llu ms", c->id,
	    (unsigned long long)c->interval_ms, (unsigned long long)delay);
	return 0;
}

/*
 * IMSG_CHECK_DEL: -1 when malformed; an unknown id is no error, nor is
 * one the other sender set: when a check changes between script and
 * another type, the deletion from one sender and the new check from
 * the other may arrive in either order.
 */
int
check_del_msg(const void *buf, size_t len, enum check_source from)
{
	msgpack_unpacked	 u;
	const msgpack_object	*o;
	struct check		 key, *c;
	char			 id[CHECK_ID_MAX + 1];

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	o = mpack_map_get(&u.data, "id");
	if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
	    o->via.str.size == 0 ||
	    mpack_copy_str(o, id, sizeof(id)) == -1) {
		msgpack_unpacked_destroy(&u);
		return -1;
	}
	msgpack_unpacked_destroy(&u);
	key.id = id;
	if ((c = RB_FIND(check_tree, &checks, &key)) != NULL &&
	    check_source_may(from, c->type)) {
		log_debug("check: %s: deleted", c->id);
		check_remove(c);
	}
	return 0;
}

/*
 * Valid UTF-8 without NULs, as raftd's decoder and the JSON of the API
 * want it: a bad byte or a NUL becomes U+FFFD, as Go's encoder does.
 */
static size_t
check_utf8(const unsigned char *s, size_t len, unsigned char *out)
{
	size_t		 i = 0, o = 0, n, k;
	uint32_t	 cp, min;

	while (i < len) {
		if (s[i] != 0 && s[i] < 0x80) {
			out[o++] = s[i++];
			continue;
		}
		n = 0;
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 2;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 3;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 4;
			cp = s[i] & 0x07;
			min = 0x10000;
		}
		for (k = 1; n > 0 && k < n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (n > 0 && (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)))
			n = 0;
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	return o;
}

/* A probe's result, to raftd. */
void
check_report(struct check *c, enum check_status st, const char *out,
    size_t len)
{
	unsigned char	*buf;

	if (len > CHECK_RESULT_MAX)
		len = CHECK_RESULT_MAX;
	if ((buf = malloc(len * 3 + 1)) == NULL)
		fatal("check");
	len = check_utf8((const unsigned char *)out, len, buf);
	buf[len] = '\0';
	log_debug("check: %s: %s", c->id, check_status_name(st));
	checks_result(c->id, st, (const char *)buf, len, checks_arg);
	free(buf);
}
