/*
 * Sorting by network distance (near.h), as Consul does for ?near: the
 * estimated round-trip time from the named node's coordinate to each
 * element's node, nearest first (the node itself before any other,
 * whatever its height and adjustment say); elements of nodes with no
 * coordinate
 * keep their order after the others; if the named node has none,
 * nothing moves.  The coordinates come from one more catalog read,
 * made after the read being answered (so a blocking query blocks on
 * its own data, not on coordinates).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_codec.h"
#include "imsg_types.h"
#include "log.h"
#include "mpack.h"
#include "near.h"

#define NEAR_PATH_MAX	4	/* components of a key path */

struct near_node {
	char		*node;
	struct coord	 c;
};

struct near_elem {
	json_t		*v;
	double		 rtt;		/* INFINITY: no coordinate */
	size_t		 i;
};

struct near_fetch {
	struct near_coords	 coords;
	near_done_fn		 done;
	void			(*arg_free)(void *);
	void			*arg;		/* NULL once done ran */
};

void
near_coords_free(struct near_coords *nc)
{
	size_t	 i;

	for (i = 0; i < nc->n; i++)
		free(nc->v[i].node);
	free(nc->v);
	memset(nc, 0, sizeof(*nc));
}

int
near_coords_add(struct near_coords *nc, const char *node,
    const struct coord *c)
{
	struct near_node	*v;

	if (nc->n == nc->cap) {
		if ((v = reallocarray(nc->v, nc->cap ? nc->cap * 2 : 64,
		    sizeof(*v))) == NULL)
			return -1;
		nc->v = v;
		nc->cap = nc->cap ? nc->cap * 2 : 64;
	}
	if ((nc->v[nc->n].node = strdup(node)) == NULL)
		return -1;
	nc->v[nc->n++].c = *c;
	return 0;
}

/* The first one of a node (its default segment sorts first). */
const struct coord *
near_coords_get(const struct near_coords *nc, const char *node)
{
	size_t	 i;

	for (i = 0; i < nc->n; i++)
		if (strcmp(nc->v[i].node, node) == 0)
			return &nc->v[i].c;
	return NULL;
}

/* The string at a dotted key path, or NULL. */
static const char *
path_str(json_t *v, const char *path)
{
	char	 buf[64], *p, *part;
	int	 n = 0;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf))
		return NULL;
	p = buf;
	while ((part = strsep(&p, ".")) != NULL && v != NULL &&
	    n++ < NEAR_PATH_MAX)
		v = json_object_get(v, part);
	return json_string_value(v);
}

static int
elem_cmp(const void *a, const void *b)
{
	const struct near_elem	*x = a, *y = b;

	if (x->rtt != y->rtt)
		return x->rtt < y->rtt ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

void
near_sort(json_t *array, const char *key_path, const char *node,
    const struct near_coords *nc)
{
	const struct coord	*from, *to;
	struct near_elem	*e;
	const char		*name;
	size_t			 i, n;

	if (!json_is_array(array) || (n = json_array_size(array)) < 2 ||
	    node == NULL || (from = near_coords_get(nc, node)) == NULL)
		return;
	if ((e = calloc(n, sizeof(*e))) == NULL)
		return;		/* unsorted is still an answer */
	for (i = 0; i < n; i++) {
		e[i].v = json_incref(json_array_get(array, i));
		e[i].i = i;
		e[i].rtt = INFINITY;
		/* Nothing is nearer a node than itself. */
		if ((name = path_str(e[i].v, key_path)) != NULL &&
		    strcmp(name, node) == 0)
			e[i].rtt = 0;
		else if (name != NULL &&
		    (to = near_coords_get(nc, name)) != NULL)
			e[i].rtt = coord_rtt(from, to);
	}
	qsort(e, n, sizeof(*e), elem_cmp);
	json_array_clear(array);
	for (i = 0; i < n; i++)
		json_array_append_new(array, e[i].v);
	free(e);
}

static void
fetch_free(void *arg)
{
	struct near_fetch	*f = arg;

	if (f->arg != NULL)
		f->arg_free(f->arg);
	near_coords_free(&f->coords);
	free(f);
}

static void
fetch_item(struct request *r, struct imsg *imsg)
{
	struct near_fetch	*f = r->ctx;
	msgpack_unpacked	 u;
	char			 node[CAT_STR_MAX + 1], seg[CAT_STR_MAX + 1];
	struct coord		 c;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    coord_entry_unpack(&u.data, node, sizeof(node), seg,
	    sizeof(seg), &c) == -1)
		fatalx("near: malformed coordinate from raftd");
	msgpack_unpacked_destroy(&u);
	if (near_coords_add(&f->coords, node, &c) == -1)
		fatal("near");
}

static void
fetch_done(struct request *r, struct imsg *imsg)
{
	struct near_fetch	*f = r->ctx;
	struct imsg_read_end	 end;

	read_end_get(imsg, &end);
	f->done(r->req, f->arg, end.error[0] == '\0' ? &f->coords : NULL);
	f->arg = NULL;
}

int
near_fetch(struct evhttp_request *req, const char *dc, int consistency,
    near_done_fn done, void (*arg_free)(void *), void *arg)
{
	struct near_fetch	*f;
	struct request		*r;
	struct mpack_out	 out;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	if ((r = request_new(req, fetch_done)) == NULL) {
		free(f);
		return -1;
	}
	f->done = done;
	f->arg_free = arg_free;
	f->arg = arg;
	strlcpy(r->dc, dc, sizeof(r->dc));
	r->ctx = f;
	r->ctx_free = fetch_free;
	r->item = fetch_item;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 6);
	msgpack_pack_uint8(&out.pk, CAT_Q_COORD_NODES);
	mpack_str(&out.pk, "");
	msgpack_pack_uint64(&out.pk, 0);
	msgpack_pack_uint64(&out.pk, 0);
	msgpack_pack_uint8(&out.pk, consistency);
	msgpack_pack_uint64(&out.pk, 0);
	request_send(r, IMSG_CAT_READ, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	return 0;
}
