/*
 * Vivaldi network coordinates (coordinate.h), after the paper: each
 * measured round trip pulls or pushes our coordinate along the line to
 * the peer's, by a step weighted by how sure we are of ours against how
 * sure the peer is of its own.  The height vector model is the paper's:
 * a coordinate is [x, h] with ||[x, h]|| = ||x|| + h, and [x, hx] -
 * [y, hy] = [x - y, hx + hy], so a step moves the height as well as the
 * position.  On top, as Consul does: a median filter over the last few
 * samples of each peer, an adjustment term per node (half the mean of
 * what the Euclidean distance missed over a window of samples) and a
 * weak gravity toward the origin so that the whole system does not
 * drift away over time.
 */
#include <sys/tree.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coordinate.h"
#include "mpack.h"

#define COORD_ZERO		1.0e-6	/* below this, a length is nothing */
#define COORD_NAME_MAX		256

struct peer {
	RB_ENTRY(peer)		 entry;
	char			*name;
	double			 samples[COORD_FILTER_MAX];
	size_t			 nsamples;
	size_t			 next;
	struct coord		 coord;
};

RB_HEAD(coord_peers, peer);

static int
peer_cmp(struct peer *a, struct peer *b)
{
	return strcmp(a->name, b->name);
}

RB_PROTOTYPE(coord_peers, peer, entry, peer_cmp)
RB_GENERATE(coord_peers, peer, entry, peer_cmp)

struct coord_client {
	struct coord_config	 cfg;
	struct coord		 c;
	double			 adj[COORD_WINDOW_MAX];
	size_t			 nadj;
	size_t			 adj_next;
	uint64_t		 rng;
	struct coord_peers	 peers;
	size_t			 npeers;
};

void
coord_init(struct coord *c)
{
	memset(c, 0, sizeof(*c));
	c->error = COORD_ERROR_INIT;
	c->height = COORD_HEIGHT_MIN;
}

static int
bounded(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

int
coord_valid(const struct coord *c)
{
	size_t	 i;

	for (i = 0; i < COORD_DIM; i++)
		if (!bounded(c->vec[i], -COORD_COMPONENT_MAX,
		    COORD_COMPONENT_MAX))
			return 0;
	return bounded(c->error, 0, COORD_ERROR_MAX) &&
	    bounded(c->adjustment, -COORD_COMPONENT_MAX,
	    COORD_COMPONENT_MAX) &&
	    bounded(c->height, 0, COORD_COMPONENT_MAX);
}

static double
vec_dist(const double *a, const double *b)
{
	double	 sum = 0, d;
	size_t	 i;

	for (i = 0; i < COORD_DIM; i++) {
		d = a[i] - b[i];
		sum += d * d;
	}
	return sqrt(sum);
}

/* The distance in the height vector model, without adjustments. */
static double
raw_dist(const struct coord *a, const struct coord *b)
{
	return vec_dist(a->vec, b->vec) + a->height + b->height;
}

/*
 * With the adjustments, unless they would make it nonsense (zero or
 * negative): the model's distance is then the better guess.
 */
double
coord_rtt(const struct coord *a, const struct coord *b)
{
	double	 d = raw_dist(a, b), adj;

	adj = d + a->adjustment + b->adjustment;
	return adj > 0 ? adj : d;
}

void
coord_pack(msgpack_packer *pk, const struct coord *c)
{
	size_t	 i;

	msgpack_pack_array(pk, 4);
	msgpack_pack_array(pk, COORD_DIM);
	for (i = 0; i < COORD_DIM; i++)
		msgpack_pack_double(pk, c->vec[i]);
	msgpack_pack_double(pk, c->error);
	msgpack_pack_double(pk, c->adjustment);
	msgpack_pack_double(pk, c->height);
}

static int
get_num(const msgpack_object *o, double *v)
{
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*v = o->via.f64;
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*v = (double)o->via.u64;
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*v = (double)o->via.i64;
		return 0;
	default:
		return -1;
	}
}

int
coord_unpack(const msgpack_object *o, struct coord *c)
{
	const msgpack_object	*a, *v;
	size_t			 i;

	memset(c, 0, sizeof(*c));
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4)
		return -1;
	a = o->via.array.ptr;
	if (a[0].type != MSGPACK_OBJECT_ARRAY ||
	    a[0].via.array.size != COORD_DIM)
		return -1;
	v = a[0].via.array.ptr;
	for (i = 0; i < COORD_DIM; i++)
		if (get_num(&v[i], &c->vec[i]) == -1)
			return -1;
	if (get_num(&a[1], &c->error) == -1 ||
	    get_num(&a[2], &c->adjustment) == -1 ||
	    get_num(&a[3], &c->height) == -1 || !coord_valid(c))
		return -1;
	return 0;
}

void
coord_entry_pack(msgpack_packer *pk, const char *node, const char *segment,
    const struct coord *c)
{
	msgpack_pack_array(pk, 3);
	mpack_str(pk, node);
	mpack_str(pk, segment);
	coord_pack(pk, c);
}

int
coord_entry_unpack(const msgpack_object *o, char *node, size_t nodelen,
    char *segment, size_t seglen, struct coord *c)
{
	const msgpack_object	*a;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3)
		return -1;
	a = o->via.array.ptr;
	if (mpack_copy_str(&a[0], node, nodelen) == -1 || node[0] == '\0' ||
	    mpack_copy_str(&a[1], segment, seglen) == -1 ||
	    coord_unpack(&a[2], c) == -1)
		return -1;
	return 0;
}

/* A packer writing into a fixed buffer; overflow sticks. */
struct fixbuf {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
	int		 overflow;
};

static int
fixbuf_write(void *data, const char *buf, size_t len)
{
	struct fixbuf	*f = data;

	if (f->overflow || len > f->cap - f->len) {
		f->overflow = 1;
		return -1;
	}
	memcpy(f->p + f->len, buf, len);
	f->len += len;
	return 0;
}

int
coord_encode(const struct coord *c, void *buf, size_t cap, size_t *len)
{
	struct fixbuf	 f = { buf, 0, cap, 0 };
	msgpack_packer	 pk;

	msgpack_packer_init(&pk, &f, fixbuf_write);
	coord_pack(&pk, c);
	*len = f.len;
	return f.overflow ? -1 : 0;
}

int
coord_decode(const void *buf, size_t len, struct coord *c)
{
	msgpack_unpacked	 u;
	int			 rc;

	memset(c, 0, sizeof(*c));
	if (len == 0 || len > COORD_PACKED_MAX || mpack_parse(&u, buf,
	    len) == -1)
		return -1;
	rc = coord_unpack(&u.data, c);
	msgpack_unpacked_destroy(&u);
	return rc;
}

void
coord_config_default(struct coord_config *cfg)
{
	cfg->error_max = COORD_ERROR_INIT;
	cfg->ce = 0.25;
	cfg->cc = 0.25;
	cfg->window = 20;
	cfg->height_min = COORD_HEIGHT_MIN;
	cfg->filter = 3;
	cfg->gravity_rho = 150.0;
	cfg->peers_max = 65536;
}

static int
config_ok(const struct coord_config *cfg)
{
	return bounded(cfg->error_max, COORD_ZERO, COORD_ERROR_MAX) &&
	    bounded(cfg->ce, COORD_ZERO, 1) && bounded(cfg->cc, COORD_ZERO,
	    1) && cfg->window >= 1 && cfg->window <= COORD_WINDOW_MAX &&
	    bounded(cfg->height_min, 0, 1) && cfg->filter >= 1 &&
	    cfg->filter <= COORD_FILTER_MAX &&
	    bounded(cfg->gravity_rho, COORD_ZERO, 1e9) && cfg->peers_max > 0;
}

struct coord_client *
coord_client_new(const struct coord_config *cfg, uint64_t seed)
{
	struct coord_client	*cl;

	if (!config_ok(cfg) || (cl = calloc(1, sizeof(*cl))) == NULL)
		return NULL;
	cl->cfg = *cfg;
	coord_init(&cl->c);
	cl->c.error = cfg->error_max;
	cl->c.height = cfg->height_min;
	cl->rng = seed != 0 ? seed : 0x9e3779b97f4a7c15ULL;
	RB_INIT(&cl->peers);
	return cl;
}

static void
peer_free(struct peer *p)
{
	free(p->name);
	free(p);
}

void
coord_client_free(struct coord_client *cl)
{
	struct peer	*p;

	if (cl == NULL)
		return;
	while ((p = RB_MIN(coord_peers, &cl->peers)) != NULL) {
		RB_REMOVE(coord_peers, &cl->peers, p);
		peer_free(p);
	}
	free(cl);
}

const struct coord *
coord_client_get(const struct coord_client *cl)
{
	return &cl->c;
}

/* xorshift64*: a uniform double in [-1, 1). */
static double
rand_unit(struct coord_client *cl)
{
	uint64_t	 x = cl->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	cl->rng = x;
	return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) /
	    (double)(1ULL << 52) - 1.0;
}

/*
 * Move c by force (seconds; positive: away) along the unit vector from
 * other to c in the height vector model.  Two coordinates at the same
 * place have no line between them: a random direction serves, as the
 * paper says, or they would never come apart.
 */
static void
apply_force(struct coord_client *cl, struct coord *c, double force,
    const struct coord *other)
{
	double	 dir[COORD_DIM], mag, hsum, norm;
	size_t	 i;

	for (i = 0; i < COORD_DIM; i++)
		dir[i] = c->vec[i] - other->vec[i];
	mag = vec_dist(c->vec, other->vec);
	if (mag < COORD_ZERO) {
		do {
			for (i = 0; i < COORD_DIM; i++)
				dir[i] = rand_unit(cl);
			mag = vec_dist(dir, (double[COORD_DIM]){ 0 });
		} while (mag < COORD_ZERO);
		for (i = 0; i < COORD_DIM; i++)
			dir[i] /= mag;
		mag = 1;
	}
	hsum = c->height + other->height;
	norm = mag + hsum;
	for (i = 0; i < COORD_DIM; i++)
		c->vec[i] += force * dir[i] / norm;
	c->height += force * hsum / norm;
	if (c->height < cl->cfg.height_min)
		c->height = cl->cfg.height_min;
}

static struct peer *
peer_find(const struct coord_client *cl, const char *name)
{
	struct peer	 key;

	key.name = (char *)name;
	return RB_FIND(coord_peers, (struct coord_peers *)&cl->peers, &key);
}

static int
dbl_cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of the peer's last samples (the lower of two middles). */
static double
peer_filter(struct coord_client *cl, struct peer *p, double rtt)
{
	double	 s[COORD_FILTER_MAX];

	p->samples[p->next] = rtt;
	p->next = (p->next + 1) % cl->cfg.filter;
	if (p->nsamples < cl->cfg.filter)
		p->nsamples++;
	memcpy(s, p->samples, p->nsamples * sizeof(s[0]));
	qsort(s, p->nsamples, sizeof(s[0]), dbl_cmp);
	return s[(p->nsamples - 1) / 2];
}

static void
vivaldi(struct coord_client *cl, const struct coord *other, double rtt)
{
	struct coord	*c = &cl->c;
	double		 dist, wrong, total, w, force;

	if (rtt < COORD_ZERO)
		rtt = COORD_ZERO;
	dist = raw_dist(c, other);
	wrong = fabs(dist - rtt) / rtt;
	total = c->error + other->error;
	if (total < COORD_ZERO)
		total = COORD_ZERO;
	w = c->error / total;
	c->error = cl->cfg.ce * w * wrong + c->error * (1 - cl->cfg.ce * w);
	if (c->error > cl->cfg.error_max)
		c->error = cl->cfg.error_max;
	force = cl->cfg.cc * w * (rtt - dist);
	apply_force(cl, c, force, other);
}

/* Half the mean of what the model missed over the last samples. */
static void
adjust(struct coord_client *cl, const struct coord *other, double rtt)
{
	double	 sum = 0;
	size_t	 i;

	cl->adj[cl->adj_next] = rtt - raw_dist(&cl->c, other);
	cl->adj_next = (cl->adj_next + 1) % cl->cfg.window;
	if (cl->nadj < cl->cfg.window)
		cl->nadj++;
	for (i = 0; i < cl->nadj; i++)
		sum += cl->adj[i];
	cl->c.adjustment = sum / (2.0 * (double)cl->nadj);
}

/* A pull toward the origin growing with the square of the distance. */
static void
gravity(struct coord_client *cl)
{
	struct coord	*c = &cl->c;
	double		 mag, g;
	size_t		 i;

	mag = vec_dist(c->vec, (double[COORD_DIM]){ 0 });
	if (mag < COORD_ZERO)
		return;
	g = mag / cl->cfg.gravity_rho;
	g *= g;
	for (i = 0; i < COORD_DIM; i++)
		c->vec[i] -= g * c->vec[i] / mag;
}

int
coord_client_update(struct coord_client *cl, const char *name,
    const struct coord *other, double rtt)
{
	struct peer	*p;
	struct coord	 before = cl->c;
	size_t		 len;

	if (name == NULL || (len = strnlen(name, COORD_NAME_MAX)) == 0 ||
	    len == COORD_NAME_MAX || !coord_valid(other) ||
	    !bounded(rtt, 0, COORD_RTT_MAX))
		return -1;
	if ((p = peer_find(cl, name)) == NULL) {
		if (cl->npeers >= cl->cfg.peers_max ||
		    (p = calloc(1, sizeof(*p))) == NULL)
			return -1;
		if ((p->name = strdup(name)) == NULL) {
			free(p);
			return -1;
		}
		RB_INSERT(coord_peers, &cl->peers, p);
		cl->npeers++;
	}
	p->coord = *other;
	rtt = peer_filter(cl, p, rtt);
	vivaldi(cl, other, rtt);
	adjust(cl, other, rtt);
	gravity(cl);
	/*
	 * Bounded inputs keep it in bounds; should it ever leave them,
	 * start again rather than spread nonsense.
	 */
	if (!coord_valid(&cl->c)) {
		cl->c = before;
		if (!coord_valid(&cl->c)) {
			coord_init(&cl->c);
			cl->c.error = cl->cfg.error_max;
			cl->c.height = cl->cfg.height_min;
		}
		return -1;
	}
	return 0;
}

int
coord_client_peer(const struct coord_client *cl, const char *name,
    struct coord *c)
{
	struct peer	*p;

	if (name == NULL || (p = peer_find(cl, name)) == NULL)
		return -1;
	*c = p->coord;
	return 0;
}

void
coord_client_forget(struct coord_client *cl, const char *name)
{
	struct peer	*p;

	if (name == NULL || (p = peer_find(cl, name)) == NULL)
		return;
	RB_REMOVE(coord_peers, &cl->peers, p);
	cl->npeers--;
	peer_free(p);
}

size_t
coord_client_npeers(const struct coord_client *cl)
{
	return cl->npeers;
}
