/*
 * The catalog tables in Berkeley DB (layout in catalog_state.h): each
 * record is the cat_*_pack() encoding of its struct, keyed so that a
 * cursor walks a node's services and checks in ID order and a service
 * name's instances by node, then ID.  Writes follow Consul's state
 * store: a registration is checked whole before anything is written,
 * a record is written (and its ModifyIndex and the table indexes moved)
 * only when it changed, and a blocking query on a service name wakes on
 * any change to its instances, their nodes or their checks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_table.h"
#include "goquote.h"
#include "log.h"

#define NODES_TABLE	"nodes"
#define SERVICES_TABLE	"services"
#define CHECKS_TABLE	"checks"
#define SERVICE_TABLE	"service/"	/* + the service name */

#define TABLE_KEY_MAX	(sizeof(SERVICE_TABLE) + CAT_STR_MAX)

/*
 * A quoted ID in a message: two of them and the words around them fit
 * CAT_ERR_MAX, and go_quote() cuts between characters.
 */
#define QUOTE_ID	112

static int
service_index_bump(struct store *s, DB_TXN *txn, const char *name,
    uint64_t index)
{
	char	 table[TABLE_KEY_MAX];

	if (!tbl_str_ok(name))
		return 0;
	snprintf(table, sizeof(table), "%s%s", SERVICE_TABLE, name);
	return tbl_index_bump(s, txn, table, index);
}

static int
bump_service_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct cat_service	 svc;
	int			 rc;

	if (tbl_rec_decode(CAT_SERVICE, v->data, v->size, &svc) == -1)
		return -1;
	rc = service_index_bump(wk->s, wk->txn, svc.service, wk->index);
	cat_service_free(&svc);
	return rc;
}

/*
 * What a node carries shows in its services' queries (their instances
 * come with the node and its checks): move each one's index.
 */
static int
bump_node_services(struct store *s, DB_TXN *txn, const char *node,
    uint64_t index)
{
	struct cat_walk	 wk;
	struct cat_key	 prefix;

	if (tbl_key_make(&prefix, node, "", NULL) == -1)
		return 0;
	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.txn = txn;
	wk.index = index;
	return tbl_walk(s->cat_services, txn, prefix.buf, prefix.len,
	    bump_service_cb, &wk);
}

/* An ID as Go's %q prints it, cut to fit a message. */
static const char *
quote(char *buf, const char *s)
{
	return go_quote(buf, QUOTE_ID, s, strlen(s));
}

/*
 * Check a registration whole against the state: 0 when it may be
 * applied, 1 refused (err says why), -1 on a store error.
 */
static int
register_check(struct store *s, DB_TXN *txn, const struct cat_register *r,
    int node_exists, char *err, size_t errlen)
{
	const struct cat_check	*ck;
	const struct cat_service *svc = r->service;
	struct cat_key		 k;
	char			 qa[QUOTE_ID], qb[QUOTE_ID];
	size_t			 i;
	int			 rc;

	if ((!node_exists || !r->skip_node_update) &&
	    (r->node.address == NULL || *r->node.address == '\0'))
		return tbl_refuse(err, errlen, "Must provide address%s",
		    r->skip_node_update ? "" :
		    " if SkipNodeUpdate is not set");
	if (svc != NULL) {
		if (svc->id == NULL || *svc->id == '\0')
			return tbl_refuse(err, errlen,
			    "Must provide service ID");
		if (svc->service == NULL || *svc->service == '\0')
			return tbl_refuse(err, errlen,
			    "Must provide service name with ID");
		if (!tbl_str_ok(svc->id) || !tbl_str_ok(svc->service))
			return tbl_refuse(err, errlen,
			    "Service ID or name is too long");
	}
	for (i = 0; i < r->nchecks; i++) {
		ck = &r->checks[i];
		if (ck->check_id == NULL || *ck->check_id == '\0')
			return tbl_refuse(err, errlen, "Must provide check ID");
		if (!tbl_str_ok(ck->check_id))
			return tbl_refuse(err, errlen, "Check ID is too long");
		if (ck->name == NULL || *ck->name == '\0')
			return tbl_refuse(err, errlen, "Must provide a name "
			    "for check ID %s", quote(qa, ck->check_id));
		if (ck->node != NULL && *ck->node != '\0' &&
		    strcmp(ck->node, r->node.node) != 0)
			return tbl_refuse(err, errlen, "check node %s does not "
			    "match node %s", quote(qa, ck->node),
			    quote(qb, r->node.node));
		if (ck->status != NULL && *ck->status != '\0' &&
		    !cat_status_valid(ck->status))
			return tbl_refuse(err, errlen,
			    "Invalid check status %s", quote(qa, ck->status));
		if (ck->service_id == NULL || *ck->service_id == '\0')
			continue;
		if (svc != NULL && strcmp(ck->service_id, svc->id) == 0)
			continue;
		if (tbl_key_make(&k, r->node.node, ck->service_id, NULL) == -1)
			rc = 1;
		else if ((rc = tbl_key_exists(s->cat_services, txn, &k)) == -1)
			return -1;
		if (rc == 1)
			return tbl_refuse(err, errlen, "Unknown service ID %s "
			    "for check ID %s", quote(qa, ck->service_id),
			    quote(qb, ck->check_id));
	}
	return 0;
}

static int
register_node(struct store *s, DB_TXN *txn, uint64_t index,
    const struct cat_register *r, const struct cat_key *k,
    struct cat_node *old, int exists)
{
	struct cat_node	 n = r->node;

	if (exists && r->skip_node_update)
		return 0;
	n.create_index = exists ? old->create_index : index;
	n.modify_index = exists ? old->modify_index : index;
	if (exists && tbl_rec_same(CAT_NODE, &n, old))
		return 0;
	n.modify_index = index;
	if (tbl_rec_put(s->cat_nodes, txn, CAT_NODE, k, &n) == -1 ||
	    tbl_index_bump(s, txn, NODES_TABLE, index) == -1)
		return -1;
	if (exists && bump_node_services(s, txn, n.node, index) == -1)
		return -1;
	return 0;
}

static int
register_service(struct store *s, DB_TXN *txn, uint64_t index,
    const struct cat_register *r)
{
	struct cat_service	 svc = *r->service, old;
	struct cat_key		 k, nk, ok;
	int			 rc, ret = -1;

	svc.node = r->node.node;
	if (tbl_key_make(&k, svc.node, svc.id, NULL) == -1 ||
	    tbl_key_make(&nk, svc.service, svc.node, svc.id) == -1)
		return -1;
	if ((rc = tbl_rec_get(s->cat_services, txn, CAT_SERVICE, &k,
	    &old)) == -1)
		return -1;
	svc.create_index = rc == 0 ? old.create_index : index;
	svc.modify_index = rc == 0 ? old.modify_index : index;
	if (rc == 0 && tbl_rec_same(CAT_SERVICE, &svc, &old)) {
		cat_service_free(&old);
		return 0;
	}
	svc.modify_index = index;
	if (tbl_rec_put(s->cat_services, txn, CAT_SERVICE, &k, &svc) == -1)
		goto done;
	/* Renamed: the instance leaves its old name. */
	if (rc == 0 && strcmp(old.service, svc.service) != 0 &&
	    (tbl_key_make(&ok, old.service, svc.node, svc.id) == -1 ||
	    tbl_key_del(s->cat_svc_names, txn, &ok) == -1 ||
	    service_index_bump(s, txn, old.service, index) == -1))
		goto done;
	if (tbl_key_put(s->cat_svc_names, txn, &nk) == -1 ||
	    tbl_index_bump(s, txn, SERVICES_TABLE, index) == -1 ||
	    service_index_bump(s, txn, svc.service, index) == -1)
		goto done;
	ret = 0;
 done:
	if (rc == 0)
		cat_service_free(&old);
	return ret;
}

static int
register_check_one(struct store *s, DB_TXN *txn, uint64_t index,
    const struct cat_register *r, const struct cat_check *in)
{
	struct cat_check	 ck = *in, old;
	struct cat_service	 stored;
	struct cat_key		 k;
	int			 have_stored = 0, have_old = 0, rc, ret = -1;

	ck.node = r->node.node;
	if (ck.status == NULL || *ck.status == '\0')
		ck.status = CAT_CRITICAL;
	if (ck.service_id != NULL && *ck.service_id == '\0')
		ck.service_id = NULL;
	ck.service_name = NULL;
	ck.service_tags = NULL;
	ck.nservice_tags = 0;
	if (ck.service_id != NULL && r->service != NULL &&
	    strcmp(ck.service_id, r->service->id) == 0) {
		ck.service_name = r->service->service;
		ck.service_tags = r->service->tags;
		ck.nservice_tags = r->service->ntags;
	} else if (ck.service_id != NULL) {
		if (tbl_key_make(&k, ck.node, ck.service_id, NULL) == -1 ||
		    (rc = tbl_rec_get(s->cat_services, txn, CAT_SERVICE, &k,
		    &stored)) == -1)
			return -1;
		if (rc == 1) {
			/* register_check() found it in this transaction. */
			log_warnx("catalog: the service of a check vanished");
			return -1;
		}
		have_stored = 1;
		ck.service_name = stored.service;
		ck.service_tags = stored.tags;
		ck.nservice_tags = stored.ntags;
	}

	if (tbl_key_make(&k, ck.node, ck.check_id, NULL) == -1 ||
	    (rc = tbl_rec_get(s->cat_checks, txn, CAT_CHECK, &k, &old)) == -1)
		goto done;
	have_old = rc == 0;
	ck.create_index = have_old ? old.create_index : index;
	ck.modify_index = have_old ? old.modify_index : index;
	if (have_old && tbl_rec_same(CAT_CHECK, &ck, &old)) {
		ret = 0;
		goto done;
	}
	ck.modify_index = index;
	if (tbl_rec_put(s->cat_checks, txn, CAT_CHECK, &k, &ck) == -1 ||
	    tbl_index_bump(s, txn, CHECKS_TABLE, index) == -1)
		goto done;
	/* A service check shows in its service; a node check in all. */
	if (ck.service_id != NULL)
		ret = service_index_bump(s, txn, ck.service_name, index);
	else
		ret = bump_node_services(s, txn, ck.node, index);
 done:
	if (have_old)
		cat_check_free(&old);
	if (have_stored)
		cat_service_free(&stored);
	return ret;
}

int
cat_state_register(struct store *s, DB_TXN *txn, uint64_t index,
    const struct cat_register *r, char *err, size_t errlen)
{
	struct cat_node	 old;
	struct cat_key	 k;
	size_t		 i;
	int		 rc, ret = -1;

	if (errlen > 0)
		err[0] = '\0';
	if (r->node.node == NULL || *r->node.node == '\0')
		return tbl_refuse(err, errlen, "Must provide node");
	if (tbl_key_make(&k, r->node.node, NULL, NULL) == -1)
		return tbl_refuse(err, errlen, "Node name is too long");
	if ((rc = tbl_rec_get(s->cat_nodes, txn, CAT_NODE, &k, &old)) == -1)
		return -1;
	if ((ret = register_check(s, txn, r, rc == 0, err, errlen)) != 0)
		goto done;
	ret = -1;
	if (register_node(s, txn, index, r, &k, &old, rc == 0) == -1)
		goto done;
	if (r->service != NULL &&
	    register_service(s, txn, index, r) == -1)
		goto done;
	for (i = 0; i < r->nchecks; i++)
		if (register_check_one(s, txn, index, r, &r->checks[i]) == -1)
			goto done;
	ret = 0;
 done:
	if (rc == 0)
		cat_node_free(&old);
	return ret;
}

/* Deregistering a node: each of its services goes, and its name key. */
static int
del_node_service_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct cat_service	 svc;
	struct cat_key		 nk;
	int			 rc, ret = -1;

	if (tbl_rec_decode(CAT_SERVICE, v->data, v->size, &svc) == -1)
		return -1;
	if (tbl_key_make(&nk, svc.service, svc.node, svc.id) == -1 ||
	    tbl_key_del(wk->s->cat_svc_names, wk->txn, &nk) == -1 ||
	    service_index_bump(wk->s, wk->txn, svc.service, wk->index) == -1)
		goto done;
	if ((rc = c->del(c, 0)) != 0) {
		tbl_db_fail("del", rc);
		goto done;
	}
	wk->deleted++;
	ret = 0;
 done:
	cat_service_free(&svc);
	return ret;
}

/* Deregistering a node (sid NULL) or one service: their checks go. */
static int
del_check_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct cat_check	 ck;
	int			 rc, match = 1;

	if (wk->sid != NULL) {
		if (tbl_rec_decode(CAT_CHECK, v->data, v->size, &ck) == -1)
			return -1;
		match = ck.service_id != NULL &&
		    strcmp(ck.service_id, wk->sid) == 0;
		cat_check_free(&ck);
	}
	if (!match)
		return 0;
	if ((rc = c->del(c, 0)) != 0)
		return tbl_db_fail("del", rc);
	wk->deleted++;
	return 0;
}

static int
deregister_node(struct store *s, DB_TXN *txn, uint64_t index,
    const char *node)
{
	struct cat_walk	 wk;
	struct cat_key	 k, prefix;
	int		 rc;

	if (tbl_key_make(&k, node, NULL, NULL) == -1 ||
	    tbl_key_make(&prefix, node, "", NULL) == -1)
		return 0;
	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.txn = txn;
	wk.index = index;
	if (tbl_walk(s->cat_services, txn, prefix.buf, prefix.len,
	    del_node_service_cb, &wk) == -1)
		return -1;
	if (wk.deleted > 0 &&
	    tbl_index_bump(s, txn, SERVICES_TABLE, index) == -1)
		return -1;
	wk.deleted = 0;
	if (tbl_walk(s->cat_checks, txn, prefix.buf, prefix.len, del_check_cb,
	    &wk) == -1)
		return -1;
	if (wk.deleted > 0 && tbl_index_bump(s, txn, CHECKS_TABLE, index) == -1)
		return -1;
	if ((rc = tbl_key_del(s->cat_nodes, txn, &k)) != 0)
		return rc == 1 ? 0 : -1;
	return tbl_index_bump(s, txn, NODES_TABLE, index);
}

static int
deregister_service(struct store *s, DB_TXN *txn, uint64_t index,
    const char *node, const char *sid)
{
	struct cat_service	 svc;
	struct cat_walk		 wk;
	struct cat_key		 k, nk, prefix;
	int			 rc, ret = -1;

	if (tbl_key_make(&k, node, sid, NULL) == -1 ||
	    tbl_key_make(&prefix, node, "", NULL) == -1)
		return 0;
	if ((rc = tbl_rec_get(s->cat_services, txn, CAT_SERVICE, &k,
	    &svc)) != 0)
		return rc == 1 ? 0 : -1;
	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.txn = txn;
	wk.index = index;
	wk.sid = sid;
	if (tbl_walk(s->cat_checks, txn, prefix.buf, prefix.len, del_check_cb,
	    &wk) == -1)
		goto done;
	if (wk.deleted > 0 && tbl_index_bump(s, txn, CHECKS_TABLE, index) == -1)
		goto done;
	/*
	 * The name's index moves even when this was its last instance, so
	 * that a query blocked on the name sees it go.
	 */
	if (tbl_key_make(&nk, svc.service, node, sid) == -1 ||
	    tbl_key_del(s->cat_svc_names, txn, &nk) == -1 ||
	    tbl_key_del(s->cat_services, txn, &k) == -1 ||
	    tbl_index_bump(s, txn, SERVICES_TABLE, index) == -1 ||
	    service_index_bump(s, txn, svc.service, index) == -1)
		goto done;
	ret = 0;
 done:
	cat_service_free(&svc);
	return ret;
}

static int
deregister_check(struct store *s, DB_TXN *txn, uint64_t index,
    const char *node, const char *cid)
{
	struct cat_check	 ck;
	struct cat_service	 svc;
	struct cat_key		 k;
	int			 rc, ret = -1;

	if (tbl_key_make(&k, node, cid, NULL) == -1)
		return 0;
	if ((rc = tbl_rec_get(s->cat_checks, txn, CAT_CHECK, &k, &ck)) != 0)
		return rc == 1 ? 0 : -1;
	if (tbl_key_del(s->cat_checks, txn, &k) == -1 ||
	    tbl_index_bump(s, txn, CHECKS_TABLE, index) == -1)
		goto done;
	if (ck.service_id == NULL) {
		ret = bump_node_services(s, txn, node, index);
		goto done;
	}
	/* The service's name now: the check's copy may be older. */
	if (tbl_key_make(&k, node, ck.service_id, NULL) == -1 ||
	    (rc = tbl_rec_get(s->cat_services, txn, CAT_SERVICE, &k,
	    &svc)) == -1)
		goto done;
	if (rc == 0) {
		ret = service_index_bump(s, txn, svc.service, index);
		cat_service_free(&svc);
	} else
		ret = service_index_bump(s, txn, ck.service_name, index);
 done:
	cat_check_free(&ck);
	return ret;
}

int
cat_state_deregister(struct store *s, DB_TXN *txn, uint64_t index,
    const struct cat_deregister *d, char *err, size_t errlen)
{
	if (errlen > 0)
		err[0] = '\0';
	if (d->node == NULL || *d->node == '\0')
		return tbl_refuse(err, errlen, "Must provide node");
	if (d->service_id != NULL && *d->service_id != '\0')
		return deregister_service(s, txn, index, d->node,
		    d->service_id);
	if (d->check_id != NULL && *d->check_id != '\0')
		return deregister_check(s, txn, index, d->node, d->check_id);
	return deregister_node(s, txn, index, d->node);
}

int
cat_state_node(struct store *s, const char *name, struct cat_node *n)
{
	struct cat_key	 k;

	memset(n, 0, sizeof(*n));
	if (name == NULL || tbl_key_make(&k, name, NULL, NULL) == -1)
		return 1;
	return tbl_rec_get(s->cat_nodes, NULL, CAT_NODE, &k, n);
}

static int
node_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct cat_node	 n;
	int		 rc;

	if (tbl_rec_decode(CAT_NODE, v->data, v->size, &n) == -1)
		return -1;
	rc = wk->node_fn(wk->arg, &n);
	cat_node_free(&n);
	return rc != 0;
}

static int
service_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct cat_service	 svc;
	int			 rc;

	if (tbl_rec_decode(CAT_SERVICE, v->data, v->size, &svc) == -1)
		return -1;
	rc = wk->service_fn(wk->arg, &svc);
	cat_service_free(&svc);
	return rc != 0;
}

static int
check_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct cat_check	 ck;
	int			 rc;

	if (tbl_rec_decode(CAT_CHECK, v->data, v->size, &ck) == -1)
		return -1;
	rc = wk->check_fn(wk->arg, &ck);
	cat_check_free(&ck);
	return rc != 0;
}

/*
 * A name index key, name NUL node NUL id: where the services key (node
 * NUL id) starts in it, and the node's length; -1 if it is damaged.
 */
static int
name_key_split(const DBT *k, size_t *svc_off, size_t *node_len)
{
	const char	*p = k->data, *a, *b;

	if ((a = memchr(p, '\0', k->size)) == NULL)
		goto bad;
	*svc_off = a + 1 - p;
	if ((b = memchr(a + 1, '\0', k->size - *svc_off)) == NULL)
		goto bad;
	*node_len = b - (a + 1);
	if (*node_len == 0 || *node_len > CAT_STR_MAX ||
	    k->size - *svc_off > CAT_KEY_MAX)
		goto bad;
	return 0;
 bad:
	log_warnx("catalog: damaged service name index");
	return -1;
}

/* From the name index to the service it names. */
static int
instance_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct cat_service	 svc;
	struct cat_key		 sk;
	size_t			 off, nlen;
	int			 rc;

	if (name_key_split(k, &off, &nlen) == -1)
		return -1;
	sk.len = k->size - off;
	memcpy(sk.buf, (const char *)k->data + off, sk.len);
	if ((rc = tbl_rec_get(wk->s->cat_services, NULL, CAT_SERVICE, &sk,
	    &svc)) != 0) {
		if (rc == 1)
			log_warnx("catalog: service name index names a "
			    "missing service");
		return -1;
	}
	rc = wk->service_fn(wk->arg, &svc);
	cat_service_free(&svc);
	return rc != 0;
}

int
cat_state_nodes(struct store *s, cat_node_fn fn, void *arg)
{
	struct cat_walk	 wk;

	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.node_fn = fn;
	wk.arg = arg;
	return tbl_walk(s->cat_nodes, NULL, NULL, 0, node_cb, &wk);
}

int
cat_state_node_services(struct store *s, const char *node,
    cat_service_fn fn, void *arg)
{
	struct cat_walk	 wk;
	struct cat_key	 prefix;

	if (node == NULL || tbl_key_make(&prefix, node, "", NULL) == -1)
		return 0;
	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.service_fn = fn;
	wk.arg = arg;
	return tbl_walk(s->cat_services, NULL, prefix.buf, prefix.len,
	    service_cb, &wk);
}

int
cat_state_node_checks(struct store *s, const char *node, cat_check_fn fn,
    void *arg)
{
	struct cat_walk	 wk;
	struct cat_key	 prefix;

	if (node == NULL || tbl_key_make(&prefix, node, "", NULL) == -1)
		return 0;
	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.check_fn = fn;
	wk.arg = arg;
	return tbl_walk(s->cat_checks, NULL, prefix.buf, prefix.len, check_cb,
	    &wk);
}

int
cat_state_services(struct store *s, cat_service_fn fn, void *arg)
{
	struct cat_walk	 wk;

	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.service_fn = fn;
	wk.arg = arg;
	return tbl_walk(s->cat_svc_names, NULL, NULL, 0, instance_cb, &wk);
}

int
cat_state_service_instances(struct store *s, const char *name,
    cat_service_fn fn, void *arg)
{
	struct cat_walk	 wk;
	struct cat_key	 prefix;

	if (name == NULL || tbl_key_make(&prefix, name, "", NULL) == -1)
		return 0;
	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.service_fn = fn;
	wk.arg = arg;
	return tbl_walk(s->cat_svc_names, NULL, prefix.buf, prefix.len,
	    instance_cb, &wk);
}

/* A check of wk->node passes when its service is an instance of name. */
static int
service_check_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct cat_check	 ck;
	struct cat_key		 nk;
	int			 rc = 0;

	if (tbl_rec_decode(CAT_CHECK, v->data, v->size, &ck) == -1)
		return -1;
	if (ck.service_id != NULL &&
	    tbl_key_make(&nk, wk->name, wk->node, ck.service_id) == 0 &&
	    (rc = tbl_key_exists(wk->s->cat_svc_names, NULL, &nk)) == 0) {
		if (wk->check_fn(wk->arg, &ck) != 0) {
			wk->stopped = 1;
			rc = 1;
		}
	} else if (rc == 1)
		rc = 0;
	cat_check_free(&ck);
	return rc;
}

/* Each node with instances of the name: its checks, once. */
static int
service_node_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	struct cat_key	 prefix;
	size_t		 off, nlen;

	if (name_key_split(k, &off, &nlen) == -1)
		return -1;
	if (strlen(wk->node) == nlen &&
	    memcmp(wk->node, (const char *)k->data + off, nlen) == 0)
		return 0;
	memcpy(wk->node, (const char *)k->data + off, nlen);
	wk->node[nlen] = '\0';
	if (tbl_key_make(&prefix, wk->node, "", NULL) == -1 ||
	    tbl_walk(wk->s->cat_checks, NULL, prefix.buf, prefix.len,
	    service_check_cb, wk) == -1)
		return -1;
	return wk->stopped;
}

int
cat_state_service_checks(struct store *s, const char *name,
    cat_check_fn fn, void *arg)
{
	struct cat_walk	 wk;
	struct cat_key	 prefix;

	if (name == NULL || tbl_key_make(&prefix, name, "", NULL) == -1)
		return 0;
	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.check_fn = fn;
	wk.arg = arg;
	wk.name = name;
	return tbl_walk(s->cat_svc_names, NULL, prefix.buf, prefix.len,
	    service_node_cb, &wk);
}

int
cat_state_checks(struct store *s, cat_check_fn fn, void *arg)
{
	struct cat_walk	 wk;

	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.check_fn = fn;
	wk.arg = arg;
	return tbl_walk(s->cat_checks, NULL, NULL, 0, check_cb, &wk);
}

uint64_t
cat_state_index(struct store *s, const char *table)
{
	uint64_t	 idx = 0;

	if (store_get_u64(s, s->tables, NULL, table, &idx) == -1)
		fatalx("catalog: cannot read the table index");
	return idx;
}

uint64_t
cat_state_service_index(struct store *s, const char *name)
{
	char		 table[TABLE_KEY_MAX];
	uint64_t	 idx = 0;

	if (tbl_str_ok(name)) {
		snprintf(table, sizeof(table), "%s%s", SERVICE_TABLE, name);
		idx = cat_state_index(s, table);
	}
	return idx != 0 ? idx : cat_state_index(s, SERVICES_TABLE);
}

static int
dump_cb(struct cat_walk *wk, DBC *c, const DBT *k, const DBT *v)
{
	union {
		struct cat_node		 n;
		struct cat_service	 svc;
		struct cat_check	 ck;
	}			 rec;
	msgpack_packer		*pk = &wk->w->out.pk;

	if (tbl_rec_decode(wk->kind, v->data, v->size, &rec) == -1)
		return -1;
	msgpack_pack_array(pk, 2);
	switch (wk->kind) {
	case CAT_NODE:
		msgpack_pack_uint8(pk, SNAP_REC_CAT_NODE);
		cat_node_pack(pk, &rec.n);
		break;
	case CAT_SERVICE:
		msgpack_pack_uint8(pk, SNAP_REC_CAT_SERVICE);
		cat_service_pack(pk, &rec.svc);
		break;
	case CAT_CHECK:
		msgpack_pack_uint8(pk, SNAP_REC_CAT_CHECK);
		cat_check_pack(pk, &rec.ck);
		break;
	case CAT_SESSION:	/* session_state.c dumps those */
	case CAT_PQUERY:	/* query_state.c these */
	case CAT_ACL_TOKEN:	/* and acl_state.c the rest */
	case CAT_ACL_POLICY:
	case CAT_ACL_ROLE:
		fatalx("catalog: a session among the catalog records");
	}
	tbl_rec_free(wk->kind, &rec);
	wk->w->records++;
	return 0;
}

/*
 * Every node, service and check.  The name index is rebuilt by the
 * load; the table indexes are in the "tables" database, which
 * kv_state_dump() writes.
 */
int
cat_state_dump(struct store *s, struct snapshot_writer *w)
{
	struct cat_walk	 wk;

	memset(&wk, 0, sizeof(wk));
	wk.s = s;
	wk.w = w;
	wk.kind = CAT_NODE;
	if (tbl_walk(s->cat_nodes, NULL, NULL, 0, dump_cb, &wk) == -1)
		return -1;
	wk.kind = CAT_SERVICE;
	if (tbl_walk(s->cat_services, NULL, NULL, 0, dump_cb, &wk) == -1)
		return -1;
	wk.kind = CAT_CHECK;
	return tbl_walk(s->cat_checks, NULL, NULL, 0, dump_cb, &wk);
}

int
cat_state_clear(struct store *s, DB_TXN *txn)
{
	DB		*dbs[] = { s->cat_nodes, s->cat_services,
			    s->cat_svc_names, s->cat_checks };
	u_int32_t	 n;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if ((rc = dbs[i]->truncate(dbs[i], txn, &n, 0)) != 0)
			return tbl_db_fail("truncate", rc);
	return 0;
}

/* One snapshot record back into its table; -1 if it is malformed. */
int
cat_state_load(struct store *s, DB_TXN *txn, enum snapshot_record type,
    const msgpack_object *rec)
{
	union {
		struct cat_node		 n;
		struct cat_service	 svc;
		struct cat_check	 ck;
	}		 r;
	struct cat_key	 k, nk;
	enum cat_kind	 kind;
	DB		*db;
	int		 rc = -1;

	switch (type) {
	case SNAP_REC_CAT_NODE:
		kind = CAT_NODE;
		db = s->cat_nodes;
		break;
	case SNAP_REC_CAT_SERVICE:
		kind = CAT_SERVICE;
		db = s->cat_services;
		break;
	case SNAP_REC_CAT_CHECK:
		kind = CAT_CHECK;
		db = s->cat_checks;
		break;
	default:
		return -1;
	}
	if (rec->type != MSGPACK_OBJECT_ARRAY || rec->via.array.size != 2 ||
	    tbl_rec_unpack(kind, &rec->via.array.ptr[1], &r) == -1)
		return -1;
	switch (kind) {
	case CAT_NODE:
		if (tbl_key_make(&k, r.n.node, NULL, NULL) == 0)
			rc = tbl_rec_put(db, txn, kind, &k, &r.n);
		break;
	case CAT_SERVICE:
		if (tbl_key_make(&k, r.svc.node, r.svc.id, NULL) == 0 &&
		    tbl_key_make(&nk, r.svc.service, r.svc.node,
		    r.svc.id) == 0 &&
		    (rc = tbl_rec_put(db, txn, kind, &k, &r.svc)) == 0)
			rc = tbl_key_put(s->cat_svc_names, txn, &nk);
		break;
	case CAT_CHECK:
		if (tbl_key_make(&k, r.ck.node, r.ck.check_id, NULL) == 0)
			rc = tbl_rec_put(db, txn, kind, &k, &r.ck);
		break;
	case CAT_SESSION:	/* not from the switch above */
	case CAT_PQUERY:
	case CAT_ACL_TOKEN:
	case CAT_ACL_POLICY:
	case CAT_ACL_ROLE:
		break;
	}
	tbl_rec_free(kind, &r);
	return rc;
}
