/*
 * Prepared queries in dnsd's view (IMSG_DNS_QUERY): each definition
 * (the JSON apid/query.c makes) is parsed once as it arrives, so that
 * answering <query>.query.<domain> is a lookup and a filter over the
 * service's instances in the view, as /v1/query/<name>/execute does for
 * this datacenter: no critical instance, no warning one with
 * OnlyPassing, the query's tags ("!tag" excludes), NodeMeta and
 * ServiceMeta; the TTL is the query's DNS.TTL.  A name that is no
 * query's ID or name runs the template with the longest name that
 * prefixes it.  When no instance is left here, the NearestN nearest
 * other datacenters, then those of Failover.Datacenters, are asked in
 * turn (answer.c, remote.c).
 */
#include <sys/types.h>

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "config.h"
#include "dnsd.h"
#include "duration.h"
#include "mpack.h"

#define VQ_TAGS_MAX	64
#define VQ_META_MAX	64
#define VQ_FAILOVER_MAX	32

static int
vq_cmp(struct view_query *a, struct view_query *b)
{
	return strcmp(a->id, b->id);
}

RB_GENERATE(view_queries, view_query, entry, vq_cmp)

void
view_query_free(struct view_query *vq)
{
	size_t	 i;

	free(vq->id);
	free(vq->name);
	free(vq->service);
	for (i = 0; i < vq->ntags; i++)
		free(vq->tags[i]);
	free(vq->tags);
	for (i = 0; i < vq->nnmeta; i++) {
		free(vq->nmeta[i].key);
		free(vq->nmeta[i].value);
	}
	free(vq->nmeta);
	for (i = 0; i < vq->nsmeta; i++) {
		free(vq->smeta[i].key);
		free(vq->smeta[i].value);
	}
	free(vq->smeta);
	for (i = 0; i < vq->nfailover; i++)
		free(vq->failover[i]);
	free(vq->failover);
	if (vq->template == VQ_REGEXP)
		regfree(&vq->rx);
	free(vq);
}

static char *
jstrdup(json_t *o, const char *k)
{
	const char	*s = json_string_value(json_object_get(o, k));

	return strdup(s != NULL ? s : "");
}

static int
meta_copy(json_t *m, struct cat_kv **out, size_t *n)
{
	const char	*k;
	json_t		*v;

	*out = NULL;
	*n = 0;
	if (!json_is_object(m) || json_object_size(m) == 0)
		return 0;
	if (json_object_size(m) > VQ_META_MAX ||
	    (*out = calloc(json_object_size(m), sizeof(**out))) == NULL)
		return -1;
	json_object_foreach(m, k, v) {
		if (!json_is_string(v))
			return -1;
		if (((*out)[*n].key = strdup(k)) == NULL ||
		    ((*out)[*n].value = strdup(json_string_value(v))) == NULL)
			return -1;
		(*n)++;
	}
	return 0;
}

/* A packed cat_pquery as the view keeps it; NULL if malformed. */
struct view_query *
view_query_unpack(const void *data, size_t len)
{
	msgpack_unpacked	 u;
	struct cat_pquery	 q;
	struct view_query	*vq = NULL;
	json_error_t		 jerr;
	json_t			*def = NULL, *svc, *tags, *t, *tpl, *dcs;
	const char		*s;
	int64_t			 ns;
	size_t			 i;

	if (mpack_parse(&u, data, len) == -1)
		return NULL;
	if (cat_pquery_unpack(&u.data, &q) == -1) {
		msgpack_unpacked_destroy(&u);
		return NULL;
	}
	msgpack_unpacked_destroy(&u);
	if ((def = json_loads(q.def, 0, &jerr)) == NULL ||
	    !json_is_object(def) || (vq = calloc(1, sizeof(*vq))) == NULL)
		goto fail;
	vq->id = q.id;
	q.id = NULL;
	vq->has_token = q.token != NULL && *q.token != '\0';
	if ((vq->name = strdup(q.name != NULL ? q.name : "")) == NULL)
		goto fail;
	svc = json_object_get(def, "Service");
	if ((vq->service = jstrdup(svc, "Service")) == NULL ||
	    *vq->service == '\0')
		goto fail;
	vq->only_passing = json_is_true(json_object_get(svc, "OnlyPassing"));
	tags = json_object_get(svc, "Tags");
	if (json_is_array(tags) && json_array_size(tags) > 0) {
		if (json_array_size(tags) > VQ_TAGS_MAX ||
		    (vq->tags = calloc(json_array_size(tags),
		    sizeof(char *))) == NULL)
			goto fail;
		json_array_foreach(tags, i, t) {
			if (!json_is_string(t) || (vq->tags[vq->ntags] =
			    strdup(json_string_value(t))) == NULL)
				goto fail;
			vq->ntags++;
		}
	}
	t = json_object_get(json_object_get(svc, "Failover"), "NearestN");
	if (json_is_integer(t) && json_integer_value(t) > 0)
		vq->nearest = json_integer_value(t) > VQ_FAILOVER_MAX ?
		    VQ_FAILOVER_MAX : (size_t)json_integer_value(t);
	dcs = json_object_get(json_object_get(svc, "Failover"),
	    "Datacenters");
	if (json_is_array(dcs) && json_array_size(dcs) > 0) {
		if (json_array_size(dcs) > VQ_FAILOVER_MAX ||
		    (vq->failover = calloc(json_array_size(dcs),
		    sizeof(char *))) == NULL)
			goto fail;
		json_array_foreach(dcs, i, t) {
			if (!json_is_string(t) ||
			    !dc_name_valid(json_string_value(t)))
				continue;
			if ((vq->failover[vq->nfailover] =
			    strdup(json_string_value(t))) == NULL)
				goto fail;
			vq->nfailover++;
		}
	}
	if (meta_copy(json_object_get(svc, "NodeMeta"), &vq->nmeta,
	    &vq->nnmeta) == -1 ||
	    meta_copy(json_object_get(svc, "ServiceMeta"), &vq->smeta,
	    &vq->nsmeta) == -1)
		goto fail;
	s = json_string_value(json_object_get(json_object_get(def, "DNS"),
	    "TTL"));
	if (s != NULL && *s != '\0' && duration_parse(s, &ns) == 0 &&
	    ns >= 0) {
		vq->ttl = ns / 1000000000LL > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)(ns / 1000000000LL);
		vq->ttl_set = 1;
	}
	tpl = json_object_get(def, "Template");
	s = json_string_value(json_object_get(tpl, "Type"));
	if (s != NULL && strcmp(s, "name_prefix_match") == 0)
		vq->template = VQ_PREFIX;
	else if (s != NULL && strcmp(s, "regexp") == 0) {
		s = json_string_value(json_object_get(tpl, "Regexp"));
		if (s == NULL || regcomp(&vq->rx, s, REG_EXTENDED) != 0)
			goto fail;
		vq->template = VQ_REGEXP;
	}
	json_decref(def);
	cat_pquery_free(&q);
	return vq;
 fail:
	json_decref(def);
	cat_pquery_free(&q);
	if (vq != NULL)
		view_query_free(vq);
	return NULL;
}

/*
 * The query for name: by ID, by name (any case), else the template
 * with the longest name that prefixes it.  NULL if none.
 */
const struct view_query *
view_query_find(const struct view *v, const char *name)
{
	struct view_query	 key, *q, *best = NULL;
	size_t			 len, bestlen = 0;

	key.id = (char *)name;
	if ((q = RB_FIND(view_queries, (struct view_queries *)&v->queries,
	    &key)) != NULL)
		return q;
	RB_FOREACH(q, view_queries, (struct view_queries *)&v->queries)
		if (q->template == VQ_NONE && *q->name != '\0' &&
		    strcasecmp(q->name, name) == 0)
			return q;
	RB_FOREACH(q, view_queries, (struct view_queries *)&v->queries) {
		if (q->template == VQ_NONE)
			continue;
		len = strlen(q->name);
		if (strncasecmp(q->name, name, len) == 0 &&
		    (best == NULL || len > bestlen)) {
			best = q;
			bestlen = len;
		}
	}
	return best;
}

/*
 * A string of a template with ${name.full}, ${name.prefix},
 * ${name.suffix} and ${match(N)} replaced, into buf; -1 if too long.
 */
int
view_query_expand(const struct view_query *q, const char *s,
    const char *name, char *buf, size_t len)
{
	regmatch_t	 m[10];
	const char	*v;
	size_t		 o = 0, n, k, vlen;
	int		 matched = 0;

	if (q->template == VQ_REGEXP)
		matched = regexec(&q->rx, name, 10, m, 0) == 0;
	while (*s != '\0') {
		v = NULL;
		n = 1;
		vlen = 0;
		if (strncmp(s, "${name.full}", 12) == 0) {
			v = name;
			n = 12;
		} else if (strncmp(s, "${name.prefix}", 14) == 0) {
			v = q->name;
			n = 14;
		} else if (strncmp(s, "${name.suffix}", 14) == 0) {
			v = strlen(name) >= strlen(q->name) ?
			    name + strlen(q->name) : "";
			n = 14;
		} else if (strncmp(s, "${match(", 8) == 0 && s[8] >= '0' &&
		    s[8] <= '9' && strncmp(s + 9, ")}", 2) == 0) {
			k = s[8] - '0';
			n = 11;
			v = "";
			if (matched && m[k].rm_so >= 0) {
				v = name + m[k].rm_so;
				vlen = m[k].rm_eo - m[k].rm_so;
			}
		}
		if (v == NULL) {
			v = s;
			vlen = 1;
		} else if (vlen == 0 && strncmp(s, "${match(", 8) != 0)
			vlen = strlen(v);
		if (o + vlen + 1 > len)
			return -1;
		memcpy(buf + o, v, vlen);
		o += vlen;
		s += n;
	}
	buf[o] = '\0';
	return 0;
}

static int
inst_has_tag(const struct view_inst *in, const char *tag)
{
	size_t	 i;

	for (i = 0; i < in->svc.ntags; i++)
		if (strcasecmp(in->svc.tags[i], tag) == 0)
			return 1;
	return 0;
}

static int
meta_ok(const struct cat_kv *have, size_t nhave, const struct cat_kv *want,
    size_t nwant)
{
	size_t	 i, j;

	for (i = 0; i < nwant; i++) {
		for (j = 0; j < nhave; j++)
			if (strcmp(have[j].key, want[i].key) == 0 &&
			    strcmp(have[j].value, want[i].value) == 0)
				break;
		if (j == nhave)
			return 0;
	}
	return 1;
}

/* Whether an instance passes the query's filters (health aside). */
int
view_query_match(const struct view_query *q, const struct view_inst *in,
    const char *name)
{
	char	 tag[256];
	size_t	 i;

	if (q->only_passing && in->status != VIEW_PASSING)
		return 0;
	for (i = 0; i < q->ntags; i++) {
		if (view_query_expand(q, q->tags[i], name, tag,
		    sizeof(tag)) == -1 || *tag == '\0')
			continue;
		if (tag[0] == '!' ? inst_has_tag(in, tag + 1) :
		    !inst_has_tag(in, tag))
			return 0;
	}
	return meta_ok(in->node->node.meta, in->node->node.nmeta, q->nmeta,
	    q->nnmeta) && meta_ok(in->svc.meta, in->svc.nmeta, q->smeta,
	    q->nsmeta);
}
