/*
 * Unit tests of the Vivaldi coordinates (common/coordinate.c) and their
 * codecs: convergence on simulated nodes whose round-trip times are
 * known, the bounds every input is held to, and the refusal of what is
 * not a coordinate.
 */
#include <math.h>
#include <stdint.h>

#include "coordinate.h"
#include "coordinate_json.h"
#include "mpack.h"
#include "test.h"

#define SIM_MAX		32

struct sim {
	size_t			 n;
	double			 pos[SIM_MAX][2];	/* seconds */
	double			 height[SIM_MAX];
	struct coord_client	*cl[SIM_MAX];
	char			 name[SIM_MAX][16];
	uint64_t		 rng;
};

static double
sim_rand(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (double)(s->rng >> 11) / (double)(1ULL << 53);
}

static double
sim_rtt(const struct sim *s, size_t i, size_t j)
{
	double	 dx = s->pos[i][0] - s->pos[j][0];
	double	 dy = s->pos[i][1] - s->pos[j][1];

	return sqrt(dx * dx + dy * dy) + s->height[i] + s->height[j];
}

/* n nodes on a plane of side `side` seconds, heights up to hmax. */
static void
sim_init(struct sim *s, size_t n, double side, double hmax, uint64_t seed)
{
	struct coord_config	 cfg;
	size_t			 i;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->rng = seed;
	coord_config_default(&cfg);
	for (i = 0; i < n; i++) {
		s->pos[i][0] = sim_rand(s) * side;
		s->pos[i][1] = sim_rand(s) * side;
		s->height[i] = hmax * sim_rand(s);
		s->cl[i] = coord_client_new(&cfg, seed + i + 1);
		snprintf(s->name[i], sizeof(s->name[i]), "node%zu", i);
	}
}

static void
sim_free(struct sim *s)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		coord_client_free(s->cl[i]);
}

/* Each round, every node probes a random other, with noise of +-noise. */
static void
sim_run(struct sim *s, int rounds, double noise)
{
	struct coord	 other;
	size_t		 i, j;
	double		 rtt;
	int		 r;

	for (r = 0; r < rounds; r++)
		for (i = 0; i < s->n; i++) {
			do {
				j = (size_t)(sim_rand(s) * s->n);
			} while (j == i || j >= s->n);
			rtt = sim_rtt(s, i, j) * (1 + noise *
			    (2 * sim_rand(s) - 1));
			other = *coord_client_get(s->cl[j]);
			CHECK(coord_client_update(s->cl[i], s->name[j], &other,
			    rtt) == 0);
		}
}

/* The mean of |estimate - truth| / truth over every pair. */
static double
sim_error(const struct sim *s)
{
	double	 sum = 0, est, truth;
	size_t	 i, j, n = 0;

	for (i = 0; i < s->n; i++)
		for (j = i + 1; j < s->n; j++) {
			est = coord_rtt(coord_client_get(s->cl[i]),
			    coord_client_get(s->cl[j]));
			truth = sim_rtt(s, i, j);
			sum += fabs(est - truth) / truth;
			n++;
		}
	return sum / n;
}

static void
test_initial(void)
{
	struct coord	 c;
	size_t		 i;

	coord_init(&c);
	for (i = 0; i < COORD_DIM; i++)
		CHECK(c.vec[i] == 0);
	CHECK(c.error == 1.5);
	CHECK(c.adjustment == 0);
	CHECK(c.height == 1e-5);
	CHECK(coord_valid(&c));
	CHECK(fabs(coord_rtt(&c, &c) - 2e-5) < 1e-12);
}

static void
test_rtt_symmetric(void)
{
	struct coord	 a, b;

	coord_init(&a);
	coord_init(&b);
	a.vec[0] = 0.003;
	b.vec[1] = 0.004;
	a.height = 0.001;
	b.height = 0.002;
	/* 5 ms apart in the plane, 3 ms of height. */
	CHECK(fabs(coord_rtt(&a, &b) - 0.008) < 1e-12);
	CHECK(coord_rtt(&a, &b) == coord_rtt(&b, &a));
	/* Adjustments count, unless they make it nonsense. */
	a.adjustment = 0.001;
	CHECK(fabs(coord_rtt(&a, &b) - 0.009) < 1e-12);
	a.adjustment = -1;
	CHECK(fabs(coord_rtt(&a, &b) - 0.008) < 1e-12);
}

/* Twenty nodes on a 100 ms plane: the estimates come within 10 %. */
static void
test_converges_plane(void)
{
	struct sim	 s;
	double		 before, after;
	size_t		 i;

	sim_init(&s, 20, 0.1, 0.005, 42);
	before = sim_error(&s);
	sim_run(&s, 1000, 0);
	after = sim_error(&s);
	fprintf(stderr, "# plane: mean relative error %.3f -> %.3f\n",
	    before, after);
	CHECK(after < 0.10);
	CHECK(after < before);
	for (i = 0; i < s.n; i++) {
		CHECK(coord_valid(coord_client_get(s.cl[i])));
		/* The error estimate fell from its initial 1.5. */
		CHECK(coord_client_get(s.cl[i])->error < 0.5);
	}
	sim_free(&s);
}

/* With 5 % of noise on every sample it still gets close. */
static void
test_converges_noisy(void)
{
	struct sim	 s;
	double		 after;

	sim_init(&s, 16, 0.05, 0.002, 7);
	sim_run(&s, 1500, 0.05);
	after = sim_error(&s);
	fprintf(stderr, "# noisy: mean relative error %.3f\n", after);
	CHECK(after < 0.15);
	sim_free(&s);
}

/* Loopback: every path about 100 us; estimates stay of that order. */
static void
test_converges_loopback(void)
{
	struct sim	 s;
	double		 est;
	size_t		 i, j;

	sim_init(&s, 5, 0.00001, 0.00008, 99);
	sim_run(&s, 300, 0.1);
	for (i = 0; i < s.n; i++)
		for (j = i + 1; j < s.n; j++) {
			est = coord_rtt(coord_client_get(s.cl[i]),
			    coord_client_get(s.cl[j]));
			CHECK(est > 0);
			CHECK(est < 0.001);
			CHECK(fabs(est - sim_rtt(&s, i, j)) <
			    0.5 * sim_rtt(&s, i, j));
		}
	sim_free(&s);
}

/* A lone outlier among steady samples hardly moves us (the filter). */
static void
test_latency_filter(void)
{
	struct coord_config	 cfg;
	struct coord_client	*cl;
	struct coord		 peer, before;
	int			 i;

	coord_config_default(&cfg);
	cl = coord_client_new(&cfg, 1);
	coord_init(&peer);
	peer.vec[0] = 0.005;
	peer.error = 0.1;
	for (i = 0; i < 200; i++)
		CHECK(coord_client_update(cl, "p", &peer, 0.010) == 0);
	before = *coord_client_get(cl);
	CHECK(coord_client_update(cl, "p", &peer, 5.0) == 0);
	CHECK(fabs(coord_rtt(coord_client_get(cl), &peer) -
	    coord_rtt(&before, &peer)) < 0.002);
	CHECK(fabs(coord_rtt(coord_client_get(cl), &peer) - 0.010) < 0.003);
	coord_client_free(cl);
}

/* A system whose RTTs are all the same does not drift off. */
static void
test_gravity(void)
{
	struct sim	 s;
	const struct coord *c;
	double		 mag;
	size_t		 i, k;

	sim_init(&s, 8, 0, 0.01, 3);
	sim_run(&s, 3000, 0.02);
	for (i = 0; i < s.n; i++) {
		c = coord_client_get(s.cl[i]);
		for (mag = 0, k = 0; k < COORD_DIM; k++)
			mag += c->vec[k] * c->vec[k];
		CHECK(sqrt(mag) < 0.1);
	}
	sim_free(&s);
}

static void
test_refuses_bad_input(void)
{
	struct coord_config	 cfg;
	struct coord_client	*cl;
	struct coord		 good, bad, before;
	char			 longname[300];

	coord_config_default(&cfg);
	cl = coord_client_new(&cfg, 5);
	coord_init(&good);
	good.vec[2] = 0.001;
	CHECK(coord_client_update(cl, "a", &good, 0.002) == 0);
	before = *coord_client_get(cl);

	bad = good;
	bad.vec[3] = NAN;
	CHECK(!coord_valid(&bad));
	CHECK(coord_client_update(cl, "a", &bad, 0.002) == -1);
	bad = good;
	bad.vec[0] = INFINITY;
	CHECK(coord_client_update(cl, "a", &bad, 0.002) == -1);
	bad = good;
	bad.error = -1;
	CHECK(coord_client_update(cl, "a", &bad, 0.002) == -1);
	bad = good;
	bad.height = -0.001;
	CHECK(coord_client_update(cl, "a", &bad, 0.002) == -1);
	bad = good;
	bad.adjustment = NAN;
	CHECK(coord_client_update(cl, "a", &bad, 0.002) == -1);
	bad = good;
	bad.vec[7] = 1e6;
	CHECK(coord_client_update(cl, "a", &bad, 0.002) == -1);
	bad = good;
	bad.error = 1e9;
	CHECK(coord_client_update(cl, "a", &bad, 0.002) == -1);
	CHECK(coord_client_update(cl, "a", &good, -0.001) == -1);
	CHECK(coord_client_update(cl, "a", &good, NAN) == -1);
	CHECK(coord_client_update(cl, "a", &good, INFINITY) == -1);
	CHECK(coord_client_update(cl, "a", &good, 11.0) == -1);
	CHECK(coord_client_update(cl, "", &good, 0.002) == -1);
	CHECK(coord_client_update(cl, NULL, &good, 0.002) == -1);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(coord_client_update(cl, longname, &good, 0.002) == -1);
	/* Nothing moved. */
	CHECK(memcmp(&before, coord_client_get(cl), sizeof(before)) == 0);
	CHECK(coord_client_npeers(cl) == 1);
	coord_client_free(cl);

	/* Configurations out of range. */
	cfg.filter = 0;
	CHECK(coord_client_new(&cfg, 1) == NULL);
	coord_config_default(&cfg);
	cfg.window = COORD_WINDOW_MAX + 1;
	CHECK(coord_client_new(&cfg, 1) == NULL);
	coord_config_default(&cfg);
	cfg.cc = NAN;
	CHECK(coord_client_new(&cfg, 1) == NULL);
}

static void
test_peers(void)
{
	struct coord_config	 cfg;
	struct coord_client	*cl;
	struct coord		 a, got;

	coord_config_default(&cfg);
	cfg.peers_max = 2;
	cl = coord_client_new(&cfg, 9);
	coord_init(&a);
	a.vec[1] = 0.002;
	CHECK(coord_client_update(cl, "p1", &a, 0.003) == 0);
	a.vec[1] = 0.004;
	CHECK(coord_client_update(cl, "p1", &a, 0.005) == 0);
	CHECK(coord_client_peer(cl, "p1", &got) == 0);
	CHECK(got.vec[1] == 0.004);
	CHECK(coord_client_peer(cl, "p2", &got) == -1);
	CHECK(coord_client_update(cl, "p2", &a, 0.005) == 0);
	/* The third peer is over the bound. */
	CHECK(coord_client_update(cl, "p3", &a, 0.005) == -1);
	CHECK(coord_client_npeers(cl) == 2);
	coord_client_forget(cl, "p1");
	coord_client_forget(cl, "nobody");
	CHECK(coord_client_npeers(cl) == 1);
	CHECK(coord_client_peer(cl, "p1", &got) == -1);
	CHECK(coord_client_update(cl, "p3", &a, 0.005) == 0);
	coord_client_free(cl);
}

static void
test_msgpack(void)
{
	struct coord		 c, d;
	struct mpack_out	 out;
	msgpack_unpacked	 u;
	unsigned char		 buf[COORD_PACKED_MAX];
	size_t			 len, i;

	coord_init(&c);
	for (i = 0; i < COORD_DIM; i++)
		c.vec[i] = 0.0001 * (double)i - 0.0003;
	c.adjustment = -0.00002;
	CHECK(coord_encode(&c, buf, sizeof(buf), &len) == 0);
	CHECK(len <= COORD_PACKED_MAX);
	CHECK(coord_decode(buf, len, &d) == 0);
	CHECK(memcmp(&c, &d, sizeof(c)) == 0);
	CHECK(coord_encode(&c, buf, 20, &len) == -1);
	/* Truncated, empty, oversized. */
	CHECK(coord_encode(&c, buf, sizeof(buf), &len) == 0);
	CHECK(coord_decode(buf, len - 1, &d) == -1);
	CHECK(coord_decode(buf, 0, &d) == -1);
	CHECK(coord_decode(buf, COORD_PACKED_MAX + 1, &d) == -1);

	/* Integers are numbers too. */
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 4);
	msgpack_pack_array(&out.pk, COORD_DIM);
	for (i = 0; i < COORD_DIM; i++)
		msgpack_pack_int(&out.pk, i % 2 ? -1 : 0);
	msgpack_pack_uint8(&out.pk, 1);
	msgpack_pack_int(&out.pk, 0);
	msgpack_pack_float(&out.pk, 0.5f);
	CHECK(coord_decode(out.sbuf.data, out.sbuf.size, &d) == 0);
	CHECK(d.vec[1] == -1 && d.error == 1 && d.height == 0.5);
	mpack_out_free(&out);

	/* Seven or nine dimensions, a string, NaN, four items short. */
	for (i = 0; i < 5; i++) {
		mpack_out_init(&out);
		msgpack_pack_array(&out.pk, i == 4 ? 3 : 4);
		msgpack_pack_array(&out.pk, i == 0 ? 7 : i == 1 ? 9 :
		    COORD_DIM);
		for (len = 0; len < (i == 0 ? 7u : i == 1 ? 9u : COORD_DIM);
		    len++) {
			if (i == 2 && len == 3)
				mpack_str(&out.pk, "x");
			else if (i == 3 && len == 5)
				msgpack_pack_double(&out.pk, NAN);
			else
				msgpack_pack_double(&out.pk, 0);
		}
		msgpack_pack_double(&out.pk, 1.5);
		msgpack_pack_double(&out.pk, 0);
		if (i != 4)
			msgpack_pack_double(&out.pk, 1e-5);
		CHECK(mpack_parse(&u, out.sbuf.data, out.sbuf.size) == 0);
		CHECK(coord_unpack(&u.data, &d) == -1);
		msgpack_unpacked_destroy(&u);
		mpack_out_free(&out);
	}
}

static void
test_json(void)
{
	struct coord	 c, d;
	json_t		*j;
	json_error_t	 jerr;
	char		 err[256];
	size_t		 i;
	static const char *bad[] = {
		"[]",
		"{}",
		"{\"Vec\":[0,0,0,0,0,0,0]}",
		"{\"Vec\":[0,0,0,0,0,0,0,0,0]}",
		"{\"Vec\":[0,0,0,0,0,0,0,\"0\"]}",
		"{\"Vec\":[0,0,0,0,0,0,0,0],\"Error\":\"1\"}",
		"{\"Vec\":[0,0,0,0,0,0,0,1e300]}",
		"{\"Vec\":[0,0,0,0,0,0,0,0],\"Height\":-1}",
		"{\"Vec\":[0,0,0,0,0,0,0,0],\"Error\":-0.5}",
		"{\"Vec\":null}",
	};

	coord_init(&c);
	c.vec[4] = 0.00123;
	j = coord_json(&c);
	CHECK(j != NULL);
	CHECK(json_array_size(json_object_get(j, "Vec")) == COORD_DIM);
	CHECK(json_real_value(json_object_get(j, "Error")) == 1.5);
	CHECK(json_real_value(json_object_get(j, "Height")) == 1e-5);
	CHECK(json_object_get(j, "Adjustment") != NULL);
	CHECK(coord_from_json(j, &d, err, sizeof(err)) == 0);
	CHECK(memcmp(&c, &d, sizeof(c)) == 0);
	json_decref(j);

	j = json_loads("{\"vec\":[1e-3,0,0,0,0,0,0,0],\"error\":0.2,"
	    "\"height\":2e-5}", 0, &jerr);
	CHECK(coord_from_json(j, &d, err, sizeof(err)) == 0);
	CHECK(d.vec[0] == 1e-3 && d.error == 0.2 && d.adjustment == 0);
	json_decref(j);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		j = json_loads(bad[i], JSON_DECODE_ANY, &jerr);
		CHECK(j != NULL);
		CHECK(coord_from_json(j, &d, err, sizeof(err)) == -1);
		CHECK(strncmp(err, "Invalid coordinate", 18) == 0);
		json_decref(j);
	}
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_initial),
		TEST_CASE(test_rtt_symmetric),
		TEST_CASE(test_converges_plane),
		TEST_CASE(test_converges_noisy),
		TEST_CASE(test_converges_loopback),
		TEST_CASE(test_latency_filter),
		TEST_CASE(test_gravity),
		TEST_CASE(test_refuses_bad_input),
		TEST_CASE(test_peers),
		TEST_CASE(test_msgpack),
		TEST_CASE(test_json),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
