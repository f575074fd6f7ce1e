/*
 * GET /v1/internal/ui/services: what the web UI's service list shows,
 * one summary per service name as Consul's UI endpoint gives it (Name,
 * Datacenter, Tags, Nodes, InstanceCount and the counts of passing,
 * warning and critical checks over its instances, the checks of their
 * nodes included), built here from one read of every instance with its
 * checks (CAT_Q_HEALTH_DUMP).  It blocks on ?index like the health
 * endpoints, so the list follows check changes as they happen.
 */
#include <stdlib.h>
#include <string.h>

#include "apid.h"
#include "catalog_codec.h"
#include "config.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"

#define UI_PREFIX	"/v1/internal/ui/"

/* The summaries in name order, and what each has seen so far. */
struct ui_summaries {
	json_t		*list;
	json_t		*seen;		/* name -> {"s", "nodes", "tags"} */
	char		 dc[64];
};

static void
summaries_free(void *arg)
{
	struct ui_summaries	*us = arg;

	json_decref(us->list);
	json_decref(us->seen);
	free(us);
}

/* Append s to the array unless the set has it already. */
static void
add_once(json_t *array, json_t *set, const char *s)
{
	if (json_object_get(set, s) != NULL)
		return;
	json_object_set_new(set, s, json_true());
	json_array_append_new(array, json_string(s));
}

static void
count(json_t *sum, const char *field)
{
	json_object_set_new(sum, field, json_integer(
	    json_integer_value(json_object_get(sum, field)) + 1));
}

static json_t *
summary_new(struct ui_summaries *us, const struct cat_service *s)
{
	json_t	*sum, *seen;

	sum = json_pack("{s:s, s:s, s:[], s:[], s:i, s:i, s:i, s:i}",
	    "Name", s->service, "Datacenter", us->dc, "Tags", "Nodes",
	    "InstanceCount", 0, "ChecksPassing", 0, "ChecksWarning", 0,
	    "ChecksCritical", 0);
	if (sum == NULL)
		fatalx("ui: cannot build a summary");
	if (s->kind != NULL && *s->kind != '\0')
		json_object_set_new(sum, "Kind", json_string(s->kind));
	seen = json_pack("{s:O, s:{}, s:{}}", "s", sum, "nodes", "tags");
	if (seen == NULL)
		fatalx("ui: cannot build a summary");
	json_object_set_new(us->seen, s->service, seen);
	json_array_append_new(us->list, sum);
	return seen;
}

static void
summary_item(struct request *r, struct imsg *imsg)
{
	struct ui_summaries	*us = r->ctx;
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct cat_node		 n;
	struct cat_service	 s;
	struct cat_check	 c;
	json_t			*seen, *sum;
	uint32_t		 i;
	size_t			 t;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1)
		fatalx("ui: malformed item from raftd");
	a = u.data.via.array.ptr;
	if (u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 3 ||
	    a[2].type != MSGPACK_OBJECT_ARRAY ||
	    cat_node_unpack(&a[0], &n) == -1)
		fatalx("ui: malformed instance from raftd");
	if (cat_service_unpack(&a[1], &s) == -1)
		fatalx("ui: malformed service from raftd");
	if ((seen = json_object_get(us->seen, s.service)) == NULL)
		seen = summary_new(us, &s);
	sum = json_object_get(seen, "s");
	add_once(json_object_get(sum, "Nodes"), json_object_get(seen, "nodes"),
	    n.node);
	for (t = 0; t < s.ntags; t++)
		add_once(json_object_get(sum, "Tags"),
		    json_object_get(seen, "tags"), s.tags[t]);
	count(sum, "InstanceCount");
	for (i = 0; i < a[2].via.array.size; i++) {
		if (cat_check_unpack(&a[2].via.array.ptr[i], &c) == -1)
			fatalx("ui: malformed check from raftd");
		if (strcmp(c.status, CAT_PASSING) == 0)
			count(sum, "ChecksPassing");
		else if (strcmp(c.status, CAT_WARNING) == 0)
			count(sum, "ChecksWarning");
		else
			count(sum, "ChecksCritical");
		cat_check_free(&c);
	}
	cat_node_free(&n);
	cat_service_free(&s);
	msgpack_unpacked_destroy(&u);
}

static int
summary_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a,
	    "Name")), json_string_value(json_object_get(*(json_t *const *)b,
	    "Name")));
}

/* The instances came node by node: the summaries go out by name. */
static void
summary_done(struct request *r, struct imsg *imsg)
{
	struct ui_summaries	*us = r->ctx;
	struct imsg_read_end	 end;
	json_t			**v, *sorted;
	size_t			 i, n = json_array_size(us->list);

	read_end_get(imsg, &end);
	http_read_headers(r->req, &end);
	if (end.error[0] != '\0') {
		http_error(r->req, acl_denial(end.error) ? 403 : 500,
		    end.error);
		return;
	}
	if ((v = calloc(n + 1, sizeof(*v))) == NULL ||
	    (sorted = json_array()) == NULL) {
		free(v);
		http_error(r->req, 500, "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(us->list, i);
	qsort(v, n, sizeof(*v), summary_cmp);
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	http_reply_json(r->req, sorted, r->pretty);
}

static void
ui_services(struct evhttp_request *req, struct query *q)
{
	struct mpack_out	 out;
	struct request		*r;
	struct ui_summaries	*us;
	const char		*err;
	uint64_t		 min_index, wait_ms, max_stale_ms;
	int			 cons;

	if ((err = query_consistency(q, &cons, &max_stale_ms)) != NULL ||
	    (err = query_blocking(q, &min_index, &wait_ms)) != NULL) {
		http_error(req, 400, err);
		return;
	}
	if ((us = calloc(1, sizeof(*us))) == NULL ||
	    (us->list = json_array()) == NULL ||
	    (us->seen = json_object()) == NULL ||
	    (r = request_new(req, summary_done)) == NULL) {
		if (us != NULL)
			summaries_free(us);
		http_error(req, 500, "out of memory");
		return;
	}
	strlcpy(us->dc, r->dc[0] != '\0' ? r->dc :
	    apid_child.conf->datacenter, sizeof(us->dc));
	r->ctx = us;
	r->ctx_free = summaries_free;
	r->item = summary_item;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 7);
	msgpack_pack_uint8(&out.pk, CAT_Q_HEALTH_DUMP);
	mpack_str(&out.pk, "");
	msgpack_pack_uint64(&out.pk, min_index);
	msgpack_pack_uint64(&out.pk, wait_ms);
	msgpack_pack_uint8(&out.pk, cons);
	msgpack_pack_uint64(&out.pk, max_stale_ms);
	/* The caller's token: raftd hides what it may not read. */
	mpack_str(&out.pk, acl_request_secret(req, q));
	request_send(r, IMSG_CAT_READ, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	if (min_index > 0)
		request_blocking(r);
}

void
ui_internal_handler(struct evhttp_request *req, const char *path)
{
	struct query	 q;
	const char	*p = path + strlen(UI_PREFIX);

	if (query_parse(req, &q) == -1) {
		http_error(req, 400, "Bad request: malformed query string");
		return;
	}
	if (strcmp(p, "services") == 0)
		ui_services(req, &q);
	else
		http_error(req, 404, "Invalid URL path: not a recognized "
		    "HTTP API endpoint");
	query_free(&q);
}
