/*
 * The view dnsd answers from: the nodes, their service instances and
 * their health, as raftd pushes them (dns_proto.h).  Three indexes, all
 * without regard to case: node name to node, service name to its
 * instances, address to the nodes and instances that have it (PTR).
 * A full copy is built aside and replaces the view at its IMSG_DNS_END;
 * a node outside a copy replaces that node at once.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns_proto.h"
#include "dnsd.h"
#include "mpack.h"

static int
node_cmp(struct view_node *a, struct view_node *b)
{
	return strcasecmp(a->node.node, b->node.node);
}

static int
service_cmp(struct view_service *a, struct view_service *b)
{
	return strcasecmp(a->name, b->name);
}

static int
addr_cmp(struct view_addr *a, struct view_addr *b)
{
	int	 r;

	if (a->ip.family != b->ip.family)
		return a->ip.family < b->ip.family ? -1 : 1;
	if ((r = memcmp(a->ip.addr, b->ip.addr, sizeof(a->ip.addr))) != 0)
		return r;
	if (a->is_service != b->is_service)
		return a->is_service < b->is_service ? -1 : 1;
	if (a->owner == b->owner)
		return 0;
	return (uintptr_t)a->owner < (uintptr_t)b->owner ? -1 : 1;
}

RB_GENERATE(view_nodes, view_node, entry, node_cmp)
RB_GENERATE(view_services, view_service, entry, service_cmp)
RB_GENERATE(view_addrs, view_addr, entry, addr_cmp)

/* An IPv4 or IPv6 literal, or family 0 for a host name. */
int
view_ip_parse(const char *s, struct view_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (s == NULL || *s == '\0')
		return -1;
	if (inet_pton(AF_INET, s, ip->addr) == 1)
		ip->family = AF_INET;
	else if (inet_pton(AF_INET6, s, ip->addr) == 1)
		ip->family = AF_INET6;
	return 0;
}

static struct view *
view_new(void)
{
	struct view	*v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	RB_INIT(&v->nodes);
	RB_INIT(&v->services);
	RB_INIT(&v->addrs);
	RB_INIT(&v->queries);
	return v;
}

static void
node_free(struct view_node *vn)
{
	size_t	 i;

	for (i = 0; i < vn->ninst; i++)
		cat_service_free(&vn->inst[i].svc);
	free(vn->inst);
	cat_node_free(&vn->node);
	free(vn);
}

static void
addr_link(struct view *v, struct view_addr *a, const struct view_ip *ip,
    int is_service, void *owner)
{
	a->linked = 0;
	if (ip->family == 0)
		return;
	a->ip = *ip;
	a->is_service = is_service;
	a->owner = owner;
	if (RB_INSERT(view_addrs, &v->addrs, a) == NULL)
		a->linked = 1;
}

static void
addr_unlink(struct view *v, struct view_addr *a)
{
	if (a->linked)
		RB_REMOVE(view_addrs, &v->addrs, a);
	a->linked = 0;
}

static void
view_remove(struct view *v, struct view_node *vn)
{
	struct view_service	*s;
	size_t			 i, j;

	RB_REMOVE(view_nodes, &v->nodes, vn);
	addr_unlink(v, &vn->aentry);
	for (i = 0; i < vn->ninst; i++) {
		addr_unlink(v, &vn->inst[i].aentry);
		if ((s = vn->inst[i].service) == NULL)
			continue;
		for (j = 0; j < s->n; j++) {
			if (s->inst[j] == &vn->inst[i]) {
				s->inst[j] = s->inst[--s->n];
				break;
			}
		}
		if (s->n == 0) {
			RB_REMOVE(view_services, &v->services, s);
			free(s->inst);
			free(s->name);
			free(s);
		}
	}
	node_free(vn);
}

/* Put a node in, in place of the one of that name; -1: out of memory. */
static int
view_insert(struct view *v, struct view_node *vn)
{
	struct view_node	*old;
	struct view_service	 key, *s;
	struct view_inst	*in, **p;
	size_t			 i, ncap;

	if ((old = RB_FIND(view_nodes, &v->nodes, vn)) != NULL)
		view_remove(v, old);
	RB_INSERT(view_nodes, &v->nodes, vn);
	addr_link(v, &vn->aentry, &vn->ip, 0, vn);
	for (i = 0; i < vn->ninst; i++) {
		in = &vn->inst[i];
		in->node = vn;
		in->service = NULL;
		key.name = in->svc.service;
		if ((s = RB_FIND(view_services, &v->services, &key)) == NULL) {
			if ((s = calloc(1, sizeof(*s))) == NULL ||
			    (s->name = strdup(in->svc.service)) == NULL) {
				free(s);
				return -1;
			}
			RB_INSERT(view_services, &v->services, s);
		}
		if (s->n == s->cap) {
			ncap = s->cap == 0 ? 4 : s->cap * 2;
			if ((p = reallocarray(s->inst, ncap, sizeof(*p))) ==
			    NULL)
				return -1;
			s->inst = p;
			s->cap = ncap;
		}
		s->inst[s->n++] = in;
		in->service = s;
		if (s->n > v->max_inst)
			v->max_inst = s->n;
		if (in->svc.address != NULL && *in->svc.address != '\0')
			addr_link(v, &in->aentry, &in->ip, 1, in);
	}
	return 0;
}

static void
view_free(struct view *v)
{
	struct view_node	*vn;
	struct view_query	*vq;

	if (v == NULL)
		return;
	while ((vn = RB_MIN(view_nodes, &v->nodes)) != NULL)
		view_remove(v, vn);
	while ((vq = RB_MIN(view_queries, &v->queries)) != NULL) {
		RB_REMOVE(view_queries, &v->queries, vq);
		view_query_free(vq);
	}
	free(v);
}

static int
status_parse(const msgpack_object *o, enum view_status *st)
{
	char	 s[16];

	if (mpack_copy_str(o, s, sizeof(s)) == -1)
		return -1;
	if (strcmp(s, DNS_STATUS_PASSING) == 0)
		*st = VIEW_PASSING;
	else if (strcmp(s, DNS_STATUS_WARNING) == 0)
		*st = VIEW_WARNING;
	else if (strcmp(s, DNS_STATUS_CRITICAL) == 0)
		*st = VIEW_CRITICAL;
	else
		return -1;
	return 0;
}

/* [packed cat_node, status, [[packed cat_service, status]...]] */
static struct view_node *
node_unpack(const void *data, size_t len)
{
	msgpack_unpacked	 u;
	const msgpack_object	*o, *list, *it;
	struct view_node	*vn = NULL;
	struct view_inst	*in;
	size_t			 i, n;

	if (mpack_parse(&u, data, len) == -1)
		return NULL;
	o = &u.data;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3)
		goto fail;
	list = &o->via.array.ptr[2];
	if (list->type != MSGPACK_OBJECT_ARRAY)
		goto fail;
	n = list->via.array.size;
	if ((vn = calloc(1, sizeof(*vn))) == NULL)
		goto fail;
	if (cat_node_unpack(&o->via.array.ptr[0], &vn->node) == -1) {
		free(vn);
		vn = NULL;
		goto fail;
	}
	if (n > 0 && (vn->inst = calloc(n, sizeof(*vn->inst))) == NULL)
		goto fail;
	if (status_parse(&o->via.array.ptr[1], &vn->status) == -1 ||
	    view_ip_parse(vn->node.address, &vn->ip) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		it = &list->via.array.ptr[i];
		in = &vn->inst[i];
		if (it->type != MSGPACK_OBJECT_ARRAY ||
		    it->via.array.size != 2 ||
		    cat_service_unpack(&it->via.array.ptr[0], &in->svc) == -1)
			goto fail;
		vn->ninst++;
		if (status_parse(&it->via.array.ptr[1], &in->status) == -1)
			goto fail;
		if (in->svc.address != NULL && *in->svc.address != '\0')
			(void)view_ip_parse(in->svc.address, &in->ip);
	}
	msgpack_unpacked_destroy(&u);
	return vn;
 fail:
	if (vn != NULL)
		node_free(vn);
	msgpack_unpacked_destroy(&u);
	return NULL;
}

struct view_node *
view_node_find(const struct view *v, const char *name)
{
	struct view_node	 key;

	key.node.node = (char *)name;
	return RB_FIND(view_nodes, (struct view_nodes *)&v->nodes, &key);
}

struct view_service *
view_service_find(const struct view *v, const char *name)
{
	struct view_service	 key;

	key.name = (char *)name;
	return RB_FIND(view_services, (struct view_services *)&v->services,
	    &key);
}

/* The first node (then instance) entry with that address, or NULL. */
struct view_addr *
view_addr_first(const struct view *v, const struct view_ip *ip)
{
	struct view_addr	 key, *a;

	memset(&key, 0, sizeof(key));
	key.ip = *ip;
	a = RB_NFIND(view_addrs, (struct view_addrs *)&v->addrs, &key);
	if (a == NULL || a->ip.family != ip->family ||
	    memcmp(a->ip.addr, ip->addr, sizeof(ip->addr)) != 0)
		return NULL;
	return a;
}

struct view_addr *
view_addr_next(const struct view *v, struct view_addr *a)
{
	struct view_addr	*n;

	n = RB_NEXT(view_addrs, (struct view_addrs *)&v->addrs, a);
	if (n == NULL || n->ip.family != a->ip.family ||
	    memcmp(n->ip.addr, a->ip.addr, sizeof(a->ip.addr)) != 0)
		return NULL;
	return n;
}

void
feed_init(struct feed *f)
{
	memset(f, 0, sizeof(*f));
}

void
feed_free(struct feed *f)
{
	view_free(f->cur);
	view_free(f->next);
	memset(f, 0, sizeof(*f));
}

/* The view to answer from, or NULL: none yet, or too old. */
const struct view *
feed_view(const struct feed *f)
{
	return f->stale || f->denied ? NULL : f->cur;
}

int
feed_begin(struct feed *f, const void *data, size_t len)
{
	msgpack_unpacked	 u;
	int			 ok;

	if (mpack_parse(&u, data, len) == -1)
		return -1;
	ok = u.data.type == MSGPACK_OBJECT_ARRAY;
	msgpack_unpacked_destroy(&u);
	if (!ok)
		return -1;
	view_free(f->next);
	if ((f->next = view_new()) == NULL)
		return -1;
	f->in_copy = 1;
	return 0;
}

/*
 * Nodes outside a copy change the view at once; before there is any
 * view they gather aside until an IMSG_DNS_END, as a copy would.
 */
static struct view *
feed_target(struct feed *f)
{
	if (f->in_copy || f->cur == NULL) {
		if (f->next == NULL)
			f->next = view_new();
		return f->next;
	}
	return f->cur;
}

int
feed_node(struct feed *f, const void *data, size_t len)
{
	struct view_node	*vn;
	struct view		*v;

	if ((vn = node_unpack(data, len)) == NULL)
		return -1;
	if ((v = feed_target(f)) == NULL || view_insert(v, vn) == -1)
		return -1;
	return 0;
}

int
feed_node_del(struct feed *f, const void *data, size_t len)
{
	msgpack_unpacked	 u;
	struct view_node	*vn;
	struct view		*v;
	char			 name[CAT_STR_MAX + 1];
	int			 r;

	if (mpack_parse(&u, data, len) == -1)
		return -1;
	r = mpack_copy_str(&u.data, name, sizeof(name));
	msgpack_unpacked_destroy(&u);
	if (r == -1)
		return -1;
	if ((v = feed_target(f)) == NULL)
		return -1;
	if ((vn = view_node_find(v, name)) != NULL)
		view_remove(v, vn);
	return 0;
}

/* A prepared query, in place of the one with its ID. */
int
feed_query(struct feed *f, const void *data, size_t len)
{
	struct view_query	*vq, *old;
	struct view		*v;

	if ((vq = view_query_unpack(data, len)) == NULL)
		return -1;
	if ((v = feed_target(f)) == NULL) {
		view_query_free(vq);
		return -1;
	}
	if ((old = RB_FIND(view_queries, &v->queries, vq)) != NULL) {
		RB_REMOVE(view_queries, &v->queries, old);
		view_query_free(old);
	}
	RB_INSERT(view_queries, &v->queries, vq);
	return 0;
}

int
feed_query_del(struct feed *f, const void *data, size_t len)
{
	msgpack_unpacked	 u;
	struct view_query	 key, *vq;
	struct view		*v;
	char			 id[CAT_STR_MAX + 1];
	int			 r;

	if (mpack_parse(&u, data, len) == -1)
		return -1;
	r = mpack_copy_str(&u.data, id, sizeof(id));
	msgpack_unpacked_destroy(&u);
	if (r == -1 || (v = feed_target(f)) == NULL)
		return -1;
	key.id = id;
	if ((vq = RB_FIND(view_queries, &v->queries, &key)) != NULL) {
		RB_REMOVE(view_queries, &v->queries, vq);
		view_query_free(vq);
	}
	return 0;
}

/* [index, datacenter] or [index, datacenter, denied] */
int
feed_end(struct feed *f, const void *data, size_t len)
{
	msgpack_unpacked	 u;
	const msgpack_object	*o, *e;
	uint64_t		 index;
	char			 dc[CAT_STR_MAX + 1];
	int			 r = -1, denied = 0;

	if (mpack_parse(&u, data, len) == -1)
		return -1;
	o = &u.data;
	if (o->type == MSGPACK_OBJECT_ARRAY && (o->via.array.size == 2 ||
	    o->via.array.size == 3)) {
		e = o->via.array.ptr;
		if (mpack_get_uint(&e[0], &index) == 0 &&
		    mpack_copy_str(&e[1], dc, sizeof(dc)) == 0 &&
		    (o->via.array.size == 2 ||
		    e[2].type == MSGPACK_OBJECT_BOOLEAN)) {
			denied = o->via.array.size == 3 && e[2].via.boolean;
			r = 0;
		}
	}
	msgpack_unpacked_destroy(&u);
	if (r == -1)
		return -1;
	f->denied = denied;
	if (denied) {
		/* The view stays as it was, for when the token is known. */
		f->stale = 0;
		return 0;
	}
	if (f->next != NULL) {
		view_free(f->cur);
		f->cur = f->next;
		f->next = NULL;
	}
	f->in_copy = 0;
	f->stale = 0;
	f->index = index;
	if (f->cur == NULL && (f->cur = view_new()) == NULL)
		return -1;
	f->cur->index = index;
	return 0;
}
