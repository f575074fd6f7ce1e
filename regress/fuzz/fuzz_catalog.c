/*
 * libFuzzer target for the catalog codecs, which read records that
 * other agents forward and that come back out of the Raft log and
 * snapshots.  The input is parsed as one MessagePack object and read as
 * each record type in turn.  Whatever a decoder accepts must pack to
 * bytes that it accepts again and that pack to the same bytes, and must
 * keep the promises of catalog_codec.h: required strings, statuses,
 * ports and list bounds.
 *
 * run.sh links a fixed list of common sources, so the codec is compiled
 * in here, as fuzz_txn.c does with the decoder it tests.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/catalog_codec.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
bounded(const char *s, size_t max, int required)
{
	if (s == NULL) {
		if (required)
			abort();
		return;
	}
	if (strlen(s) > max || (required && *s == '\0'))
		abort();
}

static void
list_ok(const void *p, size_t n)
{
	if (n > CAT_LIST_MAX || (n == 0) != (p == NULL))
		abort();
}

static void
node_ok(const struct cat_node *n)
{
	size_t	 i;

	bounded(n->node, CAT_STR_MAX, 1);
	bounded(n->address, CAT_STR_MAX, 1);
	list_ok(n->tagged, n->ntagged);
	list_ok(n->meta, n->nmeta);
	for (i = 0; i < n->nmeta; i++) {
		bounded(n->meta[i].key, CAT_STR_MAX, 0);
		if (n->meta[i].key == NULL || n->meta[i].value == NULL)
			abort();
	}
}

static void
service_ok(const struct cat_service *s)
{
	size_t	 i;

	bounded(s->node, CAT_STR_MAX, 1);
	bounded(s->id, CAT_STR_MAX, 1);
	bounded(s->service, CAT_STR_MAX, 1);
	list_ok(s->tags, s->ntags);
	list_ok(s->tagged, s->ntagged);
	list_ok(s->meta, s->nmeta);
	for (i = 0; i < s->ntags; i++)
		bounded(s->tags[i], CAT_STR_MAX, 0);
	for (i = 0; i < s->ntagged; i++) {
		if (s->tagged[i].name == NULL || s->tagged[i].port > 65535)
			abort();
	}
	if (s->port > 65535 || s->weight_passing < 0 ||
	    s->weight_passing > CAT_WEIGHT_MAX || s->weight_warning < 0 ||
	    s->weight_warning > CAT_WEIGHT_MAX)
		abort();
}

static void
check_ok(const struct cat_check *c)
{
	bounded(c->node, CAT_STR_MAX, 1);
	bounded(c->check_id, CAT_STR_MAX, 1);
	bounded(c->name, CAT_STR_MAX, 1);
	bounded(c->notes, CAT_NOTES_MAX, 0);
	bounded(c->output, CAT_OUTPUT_MAX, 0);
	list_ok(c->service_tags, c->nservice_tags);
	if (!cat_status_valid(c->status))
		abort();
}

static void
register_ok(const struct cat_register *r)
{
	size_t	 i;

	node_ok(&r->node);
	if (r->service != NULL) {
		service_ok(r->service);
		if (strcmp(r->service->node, r->node.node) != 0)
			abort();
	}
	list_ok(r->checks, r->nchecks);
	for (i = 0; i < r->nchecks; i++) {
		check_ok(&r->checks[i]);
		if (strcmp(r->checks[i].node, r->node.node) != 0)
			abort();
	}
}

static void
deregister_ok(const struct cat_deregister *d)
{
	bounded(d->node, CAT_STR_MAX, 1);
	if (d->service_id != NULL && d->check_id != NULL)
		abort();
}

static void
session_ok(const struct cat_session *se)
{
	size_t	 i;

	bounded(se->id, CAT_STR_MAX, 1);
	bounded(se->node, CAT_STR_MAX, 1);
	if (strcmp(se->behavior, CAT_SESSION_RELEASE) != 0 &&
	    strcmp(se->behavior, CAT_SESSION_DELETE) != 0)
		abort();
	list_ok(se->node_checks, se->nnode_checks);
	list_ok(se->service_checks, se->nservice_checks);
	for (i = 0; i < se->nnode_checks; i++)
		bounded(se->node_checks[i], CAT_STR_MAX, 1);
	for (i = 0; i < se->nservice_checks; i++)
		bounded(se->service_checks[i], CAT_STR_MAX, 1);
}

/*
 * Pack rec, unpack the bytes into a fresh record, pack that: the same
 * bytes, or abort().
 */
#define REPACK(type, rec) do {						\
	struct mpack_out	 a_, b_;				\
	msgpack_unpacked	 u_;					\
	struct cat_##type	 back_;					\
									\
	mpack_out_init(&a_);						\
	mpack_out_init(&b_);						\
	cat_##type##_pack(&a_.pk, (rec));				\
	if (mpack_parse(&u_, a_.sbuf.data, a_.sbuf.size) == -1)		\
		abort();						\
	if (cat_##type##_unpack(&u_.data, &back_) == -1)		\
		abort();						\
	cat_##type##_pack(&b_.pk, &back_);				\
	if (a_.sbuf.size != b_.sbuf.size ||				\
	    memcmp(a_.sbuf.data, b_.sbuf.data, a_.sbuf.size) != 0)	\
		abort();						\
	cat_##type##_free(&back_);					\
	msgpack_unpacked_destroy(&u_);					\
	mpack_out_free(&a_);						\
	mpack_out_free(&b_);						\
} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msgpack_unpacked	 u;
	struct cat_node		 n;
	struct cat_service	 s;
	struct cat_check	 c;
	struct cat_register	 r;
	struct cat_deregister	 d;
	struct cat_session	 se;
	struct cat_pquery	 pq;

	if (mpack_parse(&u, data, size) == -1)
		return 0;
	if (cat_node_unpack(&u.data, &n) == 0) {
		node_ok(&n);
		REPACK(node, &n);
		cat_node_free(&n);
	}
	if (cat_service_unpack(&u.data, &s) == 0) {
		service_ok(&s);
		REPACK(service, &s);
		cat_service_free(&s);
	}
	if (cat_check_unpack(&u.data, &c) == 0) {
		check_ok(&c);
		REPACK(check, &c);
		cat_check_free(&c);
	}
	if (cat_register_unpack(&u.data, &r) == 0) {
		register_ok(&r);
		REPACK(register, &r);
		cat_register_free(&r);
	}
	if (cat_deregister_unpack(&u.data, &d) == 0) {
		deregister_ok(&d);
		REPACK(deregister, &d);
		cat_deregister_free(&d);
	}
	if (cat_session_unpack(&u.data, &se) == 0) {
		session_ok(&se);
		REPACK(session, &se);
		cat_session_free(&se);
	}
	if (cat_pquery_unpack(&u.data, &pq) == 0) {
		bounded(pq.id, CAT_STR_MAX, 1);
		bounded(pq.def, CAT_PQUERY_DEF_MAX, 1);
		REPACK(pquery, &pq);
		cat_pquery_free(&pq);
	}
	msgpack_unpacked_destroy(&u);
	return 0;
}
