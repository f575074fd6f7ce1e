/*
 * lincheck: decide whether KV histories recorded by kvload (the line
 * format of TESTING.md section 1) are linearizable.
 *   lincheck [-stats] [-t seconds] file ...
 *   lincheck -set file ...
 * Each key is a register holding a value and Consul's ModifyIndex.  The
 * history is split per key and every part is searched with the Wing &
 * Gong algorithm, memoising the (set of linearized operations, model
 * state) pairs already explored, as Lowe does, so that no pair is
 * searched twice.  A plain PUT does not tell the client the index it got,
 * so the model keeps "unknown, at least m, none of E" until a read or a
 * CAS reveals it.  Operations with status "info" may take effect at any
 * time after their call, or never; "fail" ones are dropped.
 *
 * Three rules, each argued where it is applied, keep the search small
 * without changing its answer: a read the state allows unchanged is
 * taken at once and alone; a pair is as good as explored when the memo
 * holds one with the same definite ops, fewer open ones and a wider
 * state; a put never directly follows an open op.
 *
 * For a history that is not linearizable, the smallest failing prefix
 * (the history cut at the return of some operation, with the operations
 * still running at the cut treated as "info") is found by bisection and
 * its operations around the cut are printed.  -stats also prints how
 * long after each "# mark" line the first write succeeded, and totals.
 * -set checks the "acked KEY" lines of a set workload file against its
 * "present KEY" lines.
 *
 * The search has -t seconds (60 by default) for all the files together
 * and 2 GiB of tables for any one key; a file may hold at most 100,000
 * operations on one key.  Exit status: 0 all linearizable, 1 some
 * history is not (or a set has lost keys), 2 usage or malformed input,
 * 3 the time or memory budget ran out before an answer ("unknown").
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_NOTLIN		1
#define EXIT_MALFORMED		2
#define EXIT_UNKNOWN		3

#define LINE_MAX_LEN		4096
#define OPS_PER_KEY_MAX		100000
#define OPS_MAX			4000000
#define MARKS_MAX		100000
#define SET_KEYS_MAX		1000000
#define SEARCH_BYTES_MAX	((size_t)2 << 30)
#define REPORT_OPS_MAX		40
#define REPORT_BEFORE		6
#define STEPS_PER_CLOCK		1024
/* Indexes stay far from overflow however many writes follow them. */
#define INDEX_MAX		((int64_t)1 << 62)

enum op_kind	{ OP_GET, OP_PUT, OP_CAS };
enum op_status	{ ST_OK, ST_FAIL, ST_INFO };
enum verdict	{ LIN_OK, LIN_FAIL, LIN_UNKNOWN, LIN_REJECT };

/* One history line.  Values and names are ids in the history's tables. */
struct op {
	int64_t		 call;
	int64_t		 ret;
	int64_t		 in_idx;	/* cas: the expected index */
	int64_t		 out_idx;	/* the index seen; -1 unknown */
	uint32_t	 val;		/* written, or read (0: absent) */
	uint32_t	 client;
	uint32_t	 key;
	size_t		 line;
	uint8_t		 kind;
	uint8_t		 status;
	uint8_t		 cas_ok;	/* cas answered true */
	uint8_t		 has_out;	/* out was given (not "-") */
};

struct mark {
	int64_t		 ns;
	uint32_t	 label;
};

/* Interned strings; id 0 is reserved (the absent value, "_"). */
struct strtab {
	char		*buf;
	size_t		 buflen;
	size_t		 bufcap;
	size_t		*off;
	uint32_t	 n;
	uint32_t	 cap;
	uint32_t	*slot;		/* id, 0 for an empty slot */
	uint32_t	 nslot;		/* a power of two */
};

struct history {
	const char	*path;
	struct op	*ops;
	size_t		 nops;
	size_t		 capops;
	struct mark	*marks;
	size_t		 nmarks;
	size_t		 capmarks;
	struct strtab	 keys;
	struct strtab	 strs;
};

/*
 * A model state: the value and its ModifyIndex.  When the index is not
 * known, idx is the least it can be and excl[] (sorted, all > idx) lists
 * values a failed CAS has ruled out.  States are interned so that the
 * memo compares them by id.
 */
struct mstate {
	int64_t		 idx;
	size_t		 excl;		/* offset in the exclusion arena */
	uint32_t	 nexcl;
	uint32_t	 val;
	uint8_t		 known;
};

/* A list node: the call or return of a definite op, or an open op. */
struct node {
	struct node	*prev;
	struct node	*next;
	struct node	*match;		/* call -> return; NULL for open ops */
	int64_t		 time;
	uint32_t	 sop;
	uint8_t		 is_call;
};

/* An operation as the search sees it. */
struct sop {
	const struct op	*op;
	uint64_t	 zobrist;
	uint8_t		 open;		/* may take effect after call, or not */
};

struct frame {
	struct node	*node;
	int64_t		 limit;		/* an open op: the first return then */
	uint32_t	 state;		/* the state before the op */
	uint8_t		 open;
	uint8_t		 forced;	/* no other choice was possible */
};

/*
 * A memo entry: a configuration the search entered.  The bitmap of the
 * definite ops is stored without its leading all-ones words (ops
 * linearized long ago) and trailing zero words (ops not called yet):
 * words [lo, lo + len) at wordoff in cbits; the bitmap of the open ops
 * follows in full.
 */
struct centry {
	uint64_t	 hash;		/* of the definite ops and the value */
	size_t		 wordoff;
	uint32_t	 state;
	uint32_t	 next;		/* entry + 1, 0 ends the chain */
	uint32_t	 lo;
	uint32_t	 len;
};

struct search {
	struct sop	*sops;
	struct node	*nodes;
	struct node	**order;
	struct frame	*stack;
	size_t		 sp;
	size_t		 nmain;		/* definite ops not linearized yet */
	uint32_t	 state;
	size_t		 ndef;		/* sops[0..ndef) are definite */
	uint64_t	*bits;		/* the definite ops linearized */
	size_t		 words;
	size_t		 lo;		/* the first word not all ones */
	size_t		 hi;		/* after the last word not zero */
	uint64_t	 zhash;		/* Zobrist hash of bits */
	uint64_t	*obits;		/* the open ops linearized */
	size_t		 owords;

	struct mstate	*st;
	uint32_t	 nst;
	uint32_t	 capst;
	uint32_t	*stslot;
	uint32_t	 nstslot;
	int64_t		*excl;
	size_t		 nexcl;
	size_t		 capexcl;
	int64_t		*scratch;	/* a state being built */
	size_t		 capscratch;

	struct centry	*ce;
	uint32_t	 nce;
	uint32_t	 capce;
	uint32_t	*bucket;
	uint32_t	 nbucket;
	uint64_t	*cbits;
	size_t		 ncbits;
	size_t		 capcbits;

	int		 nomem;
};

static int64_t	 deadline_ns;
static uint64_t	 steps;
static int	 out_of_time;

static void
usage(void)
{
	fprintf(stderr, "usage: lincheck [-stats] [-t seconds] file ...\n"
	    "       lincheck -set file ...\n");
	exit(EXIT_MALFORMED);
}

static int64_t
now_ns(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		err(EXIT_UNKNOWN, "clock_gettime");
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Allocation failures of the input tables cannot be decided on: 3. */
static void *
xreallocarray(void *p, size_t n, size_t size)
{
	void	*q;

	if ((q = reallocarray(p, n, size)) == NULL)
		err(EXIT_UNKNOWN, "out of memory");
	return q;
}

static uint64_t
hash_bytes(const void *p, size_t len, uint64_t h)
{
	const unsigned char	*s = p;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void
strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
	t->nslot = 64;
	t->slot = xreallocarray(NULL, t->nslot, sizeof(*t->slot));
	memset(t->slot, 0, t->nslot * sizeof(*t->slot));
	t->cap = 64;
	t->off = xreallocarray(NULL, t->cap, sizeof(*t->off));
	t->off[0] = 0;
	t->bufcap = 1024;
	t->buf = xreallocarray(NULL, t->bufcap, 1);
	t->buf[0] = '\0';
	t->buflen = 1;
	t->n = 1;
}

static void
strtab_free(struct strtab *t)
{
	free(t->buf);
	free(t->off);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static const char *
strtab_get(const struct strtab *t, uint32_t id)
{
	return t->buf + t->off[id];
}

/* The slot holding s, or the empty slot where it belongs. */
static uint32_t
strtab_slot(const struct strtab *t, const char *s, size_t len)
{
	uint32_t	 i, id;

	i = hash_bytes(s, len, 0xcbf29ce484222325ULL) & (t->nslot - 1);
	while ((id = t->slot[i]) != 0) {
		if (strncmp(strtab_get(t, id), s, len) == 0 &&
		    strtab_get(t, id)[len] == '\0')
			break;
		i = (i + 1) & (t->nslot - 1);
	}
	return i;
}

static uint32_t
strtab_find(const struct strtab *t, const char *s)
{
	return t->slot[strtab_slot(t, s, strlen(s))];
}

static uint32_t
strtab_intern(struct strtab *t, const char *s, size_t len)
{
	uint32_t	*old, oldn, i, j;

	i = strtab_slot(t, s, len);
	if (t->slot[i] != 0)
		return t->slot[i];
	if (t->n == UINT32_MAX / 4)
		errx(EXIT_UNKNOWN, "too many distinct strings");
	if ((t->n + 1) * 2 > t->nslot) {
		old = t->slot;
		oldn = t->nslot;
		t->nslot *= 2;
		t->slot = xreallocarray(NULL, t->nslot, sizeof(*t->slot));
		memset(t->slot, 0, t->nslot * sizeof(*t->slot));
		for (j = 0; j < oldn; j++) {
			if (old[j] == 0)
				continue;
			t->slot[strtab_slot(t, strtab_get(t, old[j]),
			    strlen(strtab_get(t, old[j])))] = old[j];
		}
		free(old);
		i = strtab_slot(t, s, len);
	}
	if (t->n == t->cap) {
		t->cap *= 2;
		t->off = xreallocarray(t->off, t->cap, sizeof(*t->off));
	}
	while (t->bufcap - t->buflen < len + 1) {
		if (t->bufcap > SIZE_MAX / 2)
			errx(EXIT_UNKNOWN, "string table too large");
		t->bufcap *= 2;
		t->buf = xreallocarray(t->buf, t->bufcap, 1);
	}
	memcpy(t->buf + t->buflen, s, len);
	t->buf[t->buflen + len] = '\0';
	t->off[t->n] = t->buflen;
	t->buflen += len + 1;
	t->slot[i] = t->n;
	return t->n++;
}

/*
 * Read one line into buf (size LINE_MAX_LEN + 1) without its newline.
 * Returns 1 for a line, 0 at the end of the file, -1 for a line that is
 * too long or holds a NUL byte (the rest of it is skipped).
 */
static int
read_line(FILE *fp, char *buf, size_t *lenp)
{
	size_t	 len = 0;
	int	 c, bad = 0;

	while ((c = getc(fp)) != EOF && c != '\n') {
		if (c == '\0')
			bad = 1;
		if (len < LINE_MAX_LEN)
			buf[len++] = c;
		else
			bad = 1;
	}
	if (c == EOF && len == 0 && !bad)
		return 0;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	*lenp = len;
	return bad ? -1 : 1;
}

/* Split at blanks into at most max fields: how many, max + 1 if more. */
static int
split(char *s, char **f, int max)
{
	int	 n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			return n;
		if (n == max)
			return max + 1;
		f[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

/* A decimal integer in [min, max], the whole of s. */
static int
parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char		*end;
	long long	 v;

	if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' &&
	    s[1] <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* An index as in an "out" field: -1 (unknown) or a Raft index >= 1. */
static int
parse_index(const char *s, int64_t *out)
{
	if (parse_int(s, -1, INDEX_MAX, out) == -1 || *out == 0)
		return -1;
	return 0;
}

static const char *
parse_value(struct history *h, const char *s, size_t len, uint32_t *id)
{
	if (len == 0)
		return "empty value";
	if (len == 1 && s[0] == '_')
		return "the value \"_\" means absent and cannot be written";
	*id = strtab_intern(&h->strs, s, len);
	return NULL;
}

/* Parse the "out" field of op; returns an error text or NULL. */
static const char *
parse_out(struct history *h, struct op *op, char *out)
{
	char	*colon;

	op->out_idx = -1;
	op->has_out = 0;
	/* Unknown outcomes need no answer. */
	if (op->status != ST_OK && (strcmp(out, "-") == 0 ||
	    strcmp(out, "-1") == 0))
		return NULL;
	op->has_out = 1;
	switch (op->kind) {
	case OP_GET:
		if ((colon = strrchr(out, ':')) == NULL)
			return "get output is not value:index";
		*colon = '\0';
		if (parse_int(colon + 1, -1, INDEX_MAX, &op->out_idx) == -1)
			return "bad index in get output";
		if (strcmp(out, "_") == 0) {
			op->val = 0;
			if (op->out_idx > 0)
				return "an absent key has index 0 or -1";
			return NULL;
		}
		if (op->out_idx == 0)
			return "a present key has an index >= 1 or -1";
		return parse_value(h, out, colon - out, &op->val);
	case OP_PUT:
		if (parse_index(out, &op->out_idx) == -1)
			return "put output is not an index (>= 1, or -1)";
		return NULL;
	case OP_CAS:
		if (strcmp(out, "fail") == 0) {
			op->cas_ok = 0;
			return NULL;
		}
		if (strncmp(out, "ok:", 3) != 0 ||
		    parse_index(out + 3, &op->out_idx) == -1)
			return "cas output is not ok:index or fail";
		op->cas_ok = 1;
		return NULL;
	}
	return "unknown op";
}

/* Parse one history line into op; returns an error text or NULL. */
static const char *
parse_op(struct history *h, char *line, struct op *op)
{
	char		*f[8], *colon;
	const char	*e;

	memset(op, 0, sizeof(*op));
	if (split(line, f, 8) != 8)
		return "expected 8 fields: client op key in out call_ns ret_ns "
		    "status";
	if (strcmp(f[1], "get") == 0)
		op->kind = OP_GET;
	else if (strcmp(f[1], "put") == 0)
		op->kind = OP_PUT;
	else if (strcmp(f[1], "cas") == 0)
		op->kind = OP_CAS;
	else
		return "op is not get, put or cas";
	if (strcmp(f[7], "ok") == 0)
		op->status = ST_OK;
	else if (strcmp(f[7], "fail") == 0)
		op->status = ST_FAIL;
	else if (strcmp(f[7], "info") == 0)
		op->status = ST_INFO;
	else
		return "status is not ok, fail or info";
	if (parse_int(f[5], 0, INT64_MAX - 1, &op->call) == -1)
		return "bad call_ns";
	if (parse_int(f[6], 0, INT64_MAX - 1, &op->ret) == -1)
		return "bad ret_ns";
	if (op->ret < op->call)
		return "ret_ns is before call_ns";
	switch (op->kind) {
	case OP_GET:
		if (strcmp(f[3], "-") != 0)
			return "get input is not \"-\"";
		break;
	case OP_PUT:
		if ((e = parse_value(h, f[3], strlen(f[3]), &op->val)) != NULL)
			return e;
		break;
	case OP_CAS:
		if ((colon = strchr(f[3], ':')) == NULL)
			return "cas input is not index:value";
		*colon = '\0';
		if (parse_int(f[3], 0, INDEX_MAX, &op->in_idx) == -1)
			return "bad index in cas input";
		if ((e = parse_value(h, colon + 1, strlen(colon + 1),
		    &op->val)) != NULL)
			return e;
		break;
	}
	if ((e = parse_out(h, op, f[4])) != NULL)
		return e;
	op->client = strtab_intern(&h->strs, f[0], strlen(f[0]));
	op->key = strtab_intern(&h->keys, f[2], strlen(f[2]));
	return NULL;
}

/* "# mark <ns> <label>"; returns an error text or NULL. */
static const char *
parse_mark(struct history *h, char *line)
{
	char		*f[4];
	int64_t		 ns;

	if (split(line, f, 4) != 4)
		return "mark is not \"# mark <ns> <label>\"";
	if (parse_int(f[2], 0, INT64_MAX - 1, &ns) == -1)
		return "bad mark time";
	if (h->nmarks == MARKS_MAX)
		return "too many marks";
	if (h->nmarks == h->capmarks) {
		h->capmarks = h->capmarks ? h->capmarks * 2 : 16;
		h->marks = xreallocarray(h->marks, h->capmarks,
		    sizeof(*h->marks));
	}
	h->marks[h->nmarks].ns = ns;
	h->marks[h->nmarks].label = strtab_intern(&h->strs, f[3],
	    strlen(f[3]));
	h->nmarks++;
	return NULL;
}

static void
history_free(struct history *h)
{
	free(h->ops);
	free(h->marks);
	strtab_free(&h->keys);
	strtab_free(&h->strs);
	memset(h, 0, sizeof(*h));
}

/* Read a history; on a bad line prints file:line and returns -1. */
static int
history_read(struct history *h, const char *path)
{
	FILE		*fp;
	char		 buf[LINE_MAX_LEN + 1];
	const char	*e;
	size_t		 len, lineno = 0;
	int		 r;

	memset(h, 0, sizeof(*h));
	h->path = path;
	strtab_init(&h->keys);
	strtab_init(&h->strs);
	if ((fp = fopen(path, "r")) == NULL) {
		warn("%s", path);
		return -1;
	}
	while ((r = read_line(fp, buf, &len)) != 0) {
		e = NULL;
		lineno++;
		if (r == -1)
			e = "line too long or holds a NUL byte";
		else if (buf[0] == '#') {
			if (strncmp(buf, "# mark ", 7) == 0)
				e = parse_mark(h, buf);
		} else if (strspn(buf, " \t") == len)
			continue;
		else if (h->nops == OPS_MAX)
			e = "too many operations in one file";
		else {
			if (h->nops == h->capops) {
				h->capops = h->capops ? h->capops * 2 : 1024;
				h->ops = xreallocarray(h->ops, h->capops,
				    sizeof(*h->ops));
			}
			if ((e = parse_op(h, buf, &h->ops[h->nops])) == NULL)
				h->ops[h->nops++].line = lineno;
		}
		if (e != NULL) {
			fprintf(stderr, "%s:%zu: %s\n", path, lineno, e);
			fclose(fp);
			return -1;
		}
	}
	if (ferror(fp)) {
		warn("%s", path);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	return 0;
}

static const char *
op_name(const struct op *op)
{
	static const char	*names[] = { "get", "put", "cas" };

	return names[op->kind];
}

static const char *
status_name(const struct op *op)
{
	static const char	*names[] = { "ok", "fail", "info" };

	return names[op->status];
}

/* Print op as its history line (rebuilt from the parsed fields). */
static void
op_print(const struct history *h, const struct op *op, const char *note)
{
	const char	*val = op->val ? strtab_get(&h->strs, op->val) : "_";

	printf("    line %zu: %s %s %s ", op->line,
	    strtab_get(&h->strs, op->client), op_name(op),
	    strtab_get(&h->keys, op->key));
	switch (op->kind) {
	case OP_GET:
		if (op->has_out)
			printf("- %s:%" PRId64, val, op->out_idx);
		else
			printf("- -");
		break;
	case OP_PUT:
		printf("%s %" PRId64, val, op->out_idx);
		break;
	case OP_CAS:
		printf("%" PRId64 ":%s ", op->in_idx, val);
		if (!op->has_out)
			printf("-1");
		else if (op->cas_ok)
			printf("ok:%" PRId64, op->out_idx);
		else
			printf("fail");
		break;
	}
	printf(" %" PRId64 " %" PRId64 " %s%s\n", op->call, op->ret,
	    status_name(op), note);
}

static void
search_free(struct search *s)
{
	free(s->sops);
	free(s->nodes);
	free(s->order);
	free(s->stack);
	free(s->bits);
	free(s->obits);
	free(s->st);
	free(s->stslot);
	free(s->excl);
	free(s->scratch);
	free(s->ce);
	free(s->bucket);
	free(s->cbits);
	memset(s, 0, sizeof(*s));
}

/* What the search tables hold, to keep them within SEARCH_BYTES_MAX. */
static size_t
search_bytes(const struct search *s)
{
	return (size_t)s->capst * sizeof(*s->st) +
	    (size_t)s->nstslot * sizeof(*s->stslot) +
	    s->capexcl * sizeof(*s->excl) + s->capscratch *
	    sizeof(*s->scratch) +
	    (size_t)s->capce * sizeof(*s->ce) +
	    (size_t)s->nbucket * sizeof(*s->bucket) +
	    s->capcbits * sizeof(*s->cbits);
}

/* Grow *p (n elements of size) to hold want, within the budget. */
static int
grow(struct search *s, void **p, size_t *cap, size_t want, size_t size)
{
	size_t	 ncap = *cap ? *cap : 16;
	void	*q;

	if (want <= *cap)
		return 0;
	while (ncap < want)
		ncap *= 2;
	if (ncap > UINT32_MAX || search_bytes(s) + (ncap - *cap) * size >
	    SEARCH_BYTES_MAX || (q = reallocarray(*p, ncap, size)) == NULL) {
		s->nomem = 1;
		return -1;
	}
	*p = q;
	*cap = ncap;
	return 0;
}

static uint64_t
state_hash(const struct mstate *m, const int64_t *excl)
{
	uint64_t	 h;

	h = mix64(((uint64_t)m->val << 1) | m->known);
	h = mix64(h ^ (uint64_t)m->idx);
	return hash_bytes(excl, m->nexcl * sizeof(*excl), h);
}

static int
state_equal(const struct search *s, uint32_t id, const struct mstate *m,
    const int64_t *excl)
{
	const struct mstate	*o = &s->st[id];

	return o->val == m->val && o->known == m->known &&
	    o->idx == m->idx && o->nexcl == m->nexcl &&
	    (m->nexcl == 0 || memcmp(s->excl + o->excl, excl,
	    m->nexcl * sizeof(*excl)) == 0);
}

/* The id of state m (exclusions in excl); UINT32_MAX when out of memory. */
static uint32_t
state_intern(struct search *s, struct mstate *m, const int64_t *excl)
{
	uint32_t	*old, oldn, i, j, id;
	size_t		 cap;

	i = state_hash(m, excl) & (s->nstslot - 1);
	while ((id = s->stslot[i]) != 0) {
		if (state_equal(s, id - 1, m, excl))
			return id - 1;
		i = (i + 1) & (s->nstslot - 1);
	}
	cap = s->capst;
	if (grow(s, (void **)&s->st, &cap, (size_t)s->nst + 1,
	    sizeof(*s->st)) == -1)
		return UINT32_MAX;
	s->capst = cap;
	if (grow(s, (void **)&s->excl, &s->capexcl, s->nexcl + m->nexcl,
	    sizeof(*s->excl)) == -1)
		return UINT32_MAX;
	if ((s->nst + 1) * 2 > s->nstslot) {
		if (search_bytes(s) + s->nstslot * 2 * sizeof(*s->stslot) >
		    SEARCH_BYTES_MAX || (old = calloc((size_t)s->nstslot * 2,
		    sizeof(*old))) == NULL) {
			s->nomem = 1;
			return UINT32_MAX;
		}
		oldn = s->nstslot;
		s->nstslot *= 2;
		for (j = 0; j < oldn; j++) {
			if ((id = s->stslot[j]) == 0)
				continue;
			i = state_hash(&s->st[id - 1], s->excl +
			    s->st[id - 1].excl) & (s->nstslot - 1);
			while (old[i] != 0)
				i = (i + 1) & (s->nstslot - 1);
			old[i] = id;
		}
		free(s->stslot);
		s->stslot = old;
		i = state_hash(m, excl) & (s->nstslot - 1);
		while (s->stslot[i] != 0)
			i = (i + 1) & (s->nstslot - 1);
	}
	m->excl = s->nexcl;
	if (m->nexcl > 0)
		memcpy(s->excl + s->nexcl, excl, m->nexcl * sizeof(*excl));
	s->nexcl += m->nexcl;
	s->st[s->nst] = *m;
	s->stslot[i] = s->nst + 1;
	return s->nst++;
}

static int
excluded(const struct search *s, const struct mstate *m, int64_t idx)
{
	uint32_t	 i;

	for (i = 0; i < m->nexcl; i++)
		if (s->excl[m->excl + i] == idx)
			return 1;
	return 0;
}

/*
 * Apply op to state cur.  Returns 1 and the new state's id in *next when
 * the op may take effect there, 0 when it may not, -1 out of memory.
 */
static int
model_step(struct search *s, uint32_t cur, const struct sop *so,
    uint32_t *next)
{
	const struct op	*op = so->op;
	struct mstate	 c = s->st[cur], n;
	int64_t		 e = op->in_idx, v;
	uint32_t	 i, k;
	size_t		 cap;

	memset(&n, 0, sizeof(n));
	switch (op->kind) {
	case OP_GET:
		if (op->val != c.val)
			return 0;
		if (op->val == 0 || op->out_idx == -1) {
			*next = cur;
			return 1;
		}
		if (c.known) {
			if (op->out_idx != c.idx)
				return 0;
			*next = cur;
			return 1;
		}
		if (op->out_idx < c.idx || excluded(s, &c, op->out_idx))
			return 0;
		n.val = c.val;
		n.known = 1;
		n.idx = op->out_idx;
		break;
	case OP_PUT:
		n.val = op->val;
		if (so->open || op->out_idx == -1) {
			n.idx = c.idx + 1;
		} else {
			/* The new index is above the old, known or not. */
			if (op->out_idx <= c.idx)
				return 0;
			n.known = 1;
			n.idx = op->out_idx;
		}
		break;
	case OP_CAS:
		if (so->open || op->cas_ok) {
			if (c.known ? (c.idx != e) : (e < c.idx ||
			    excluded(s, &c, e)))
				return 0;
			n.val = op->val;
			if (so->open || op->out_idx == -1)
				n.idx = e + 1;
			else if (op->out_idx <= e)
				return 0;
			else {
				n.known = 1;
				n.idx = op->out_idx;
			}
			break;
		}
		/* An answered "false": the index is not e. */
		if (c.known) {
			if (c.idx == e)
				return 0;
			*next = cur;
			return 1;
		}
		if (e < c.idx || excluded(s, &c, e)) {
			*next = cur;
			return 1;
		}
		cap = s->capscratch;
		if (grow(s, (void **)&s->scratch, &cap, (size_t)c.nexcl + 1,
		    sizeof(*s->scratch)) == -1)
			return -1;
		s->capscratch = cap;
		n = c;
		k = 0;
		if (e == c.idx) {
			/* The least possible index moves past e. */
			for (v = e + 1, i = 0; i < c.nexcl &&
			    s->excl[c.excl + i] == v; i++)
				v++;
			n.idx = v;
			for (; i < c.nexcl; i++)
				s->scratch[k++] = s->excl[c.excl + i];
		} else {
			for (i = 0; i < c.nexcl && s->excl[c.excl + i] < e;
			    i++)
				s->scratch[k++] = s->excl[c.excl + i];
			s->scratch[k++] = e;
			for (; i < c.nexcl; i++)
				s->scratch[k++] = s->excl[c.excl + i];
		}
		n.nexcl = k;
		if ((*next = state_intern(s, &n, s->scratch)) == UINT32_MAX)
			return -1;
		return 1;
	}
	if ((*next = state_intern(s, &n, NULL)) == UINT32_MAX)
		return -1;
	return 1;
}

static void
bit_set(struct search *s, uint32_t i)
{
	size_t	 w;

	if (i >= s->ndef) {
		i -= s->ndef;
		s->obits[i / 64] |= 1ULL << (i % 64);
		return;
	}
	w = i / 64;
	s->bits[w] |= 1ULL << (i % 64);
	s->zhash ^= s->sops[i].zobrist;
	while (s->lo < s->words && s->bits[s->lo] == ~0ULL)
		s->lo++;
	if (w >= s->hi)
		s->hi = w + 1;
}

static void
bit_clear(struct search *s, uint32_t i)
{
	size_t	 w;

	if (i >= s->ndef) {
		i -= s->ndef;
		s->obits[i / 64] &= ~(1ULL << (i % 64));
		return;
	}
	w = i / 64;
	s->bits[w] &= ~(1ULL << (i % 64));
	s->zhash ^= s->sops[i].zobrist;
	if (w < s->lo)
		s->lo = w;
	while (s->hi > 0 && s->bits[s->hi - 1] == 0)
		s->hi--;
}

/* Every concrete state (value, index) of a is one of b's. */
static int
state_within(const struct search *s, uint32_t ia, uint32_t ib)
{
	const struct mstate	*a = &s->st[ia], *b = &s->st[ib];
	uint32_t		 i;
	int64_t			 e;

	if (ia == ib)
		return 1;
	if (a->val != b->val || b->known)
		return 0;
	if (a->known)
		return a->idx >= b->idx && !excluded(s, b, a->idx);
	if (a->idx < b->idx)
		return 0;
	for (i = 0; i < b->nexcl; i++) {
		e = s->excl[b->excl + i];
		if (e >= a->idx && !excluded(s, a, e))
			return 0;
	}
	return 1;
}

/*
 * Add the configuration (linearized ops, state) to the memo.  A
 * configuration is as good as explored already when the memo holds one
 * with the same definite ops linearized, a subset of its open ops and a
 * state that includes its state: any way to finish from it would finish
 * from that one too (every op only asks for some concrete state to
 * allow it), and an open op left out never has to be used.  Returns 1
 * for such a configuration, 0 when added, -1 out of memory.
 */
static int
memo_add(struct search *s, uint32_t state)
{
	struct centry	*c;
	const uint64_t	*ob;
	uint32_t	*nb, nnb, i, b, len;
	uint64_t	 h = s->zhash ^ mix64(s->st[state].val);
	size_t		 cap, w;

	len = s->hi > s->lo ? s->hi - s->lo : 0;
	if (s->nbucket != 0) {
		for (i = s->bucket[h & (s->nbucket - 1)]; i != 0;
		    i = c->next) {
			c = &s->ce[i - 1];
			if (c->hash != h || c->lo != s->lo || c->len != len ||
			    s->st[c->state].val != s->st[state].val ||
			    memcmp(s->cbits + c->wordoff, s->bits + s->lo,
			    len * sizeof(*s->bits)) != 0)
				continue;
			ob = s->cbits + c->wordoff + len;
			for (w = 0; w < s->owords; w++)
				if ((ob[w] & ~s->obits[w]) != 0)
					break;
			if (w == s->owords && state_within(s, state, c->state))
				return 1;
		}
	}
	cap = s->capce;
	if (grow(s, (void **)&s->ce, &cap, (size_t)s->nce + 1,
	    sizeof(*s->ce)) == -1)
		return -1;
	s->capce = cap;
	if (grow(s, (void **)&s->cbits, &s->capcbits, s->ncbits + len +
	    s->owords, sizeof(*s->cbits)) == -1)
		return -1;
	if (s->nce >= s->nbucket) {
		nnb = s->nbucket ? s->nbucket * 2 : 1024;
		if (search_bytes(s) + (size_t)nnb * sizeof(*nb) >
		    SEARCH_BYTES_MAX || (nb = calloc(nnb, sizeof(*nb))) ==
		    NULL) {
			s->nomem = 1;
			return -1;
		}
		for (i = 0; i < s->nce; i++) {
			b = s->ce[i].hash & (nnb - 1);
			s->ce[i].next = nb[b];
			nb[b] = i + 1;
		}
		free(s->bucket);
		s->bucket = nb;
		s->nbucket = nnb;
	}
	c = &s->ce[s->nce];
	c->hash = h;
	c->state = state;
	c->lo = s->lo;
	c->len = len;
	c->wordoff = s->ncbits;
	memcpy(s->cbits + s->ncbits, s->bits + s->lo, len * sizeof(*s->bits));
	memcpy(s->cbits + s->ncbits + len, s->obits,
	    s->owords * sizeof(*s->obits));
	s->ncbits += len + s->owords;
	b = h & (s->nbucket - 1);
	c->next = s->bucket[b];
	s->bucket[b] = ++s->nce;
	return 0;
}

static int
node_cmp(const void *a, const void *b)
{
	const struct node	*x = *(struct node * const *)a;
	const struct node	*y = *(struct node * const *)b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	/* At equal times a call goes first: the ops overlap. */
	if (x->is_call != y->is_call)
		return x->is_call ? -1 : 1;
	if (x->sop != y->sop)
		return x->sop < y->sop ? -1 : 1;
	return 0;
}

static void
lift(struct node *n)
{
	n->prev->next = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	if (n->match != NULL) {
		n->match->prev->next = n->match->next;
		if (n->match->next != NULL)
			n->match->next->prev = n->match->prev;
	}
}

static void
unlift(struct node *n)
{
	if (n->match != NULL) {
		n->match->prev->next = n->match;
		if (n->match->next != NULL)
			n->match->next->prev = n->match;
	}
	n->prev->next = n;
	if (n->next != NULL)
		n->next->prev = n;
}

/* Link the nodes in order[0..n) after head, sorted. */
static void
link_sorted(struct node *head, struct node **order, size_t n)
{
	struct node	*prev = head;
	size_t		 i;

	qsort(order, n, sizeof(*order), node_cmp);
	head->prev = NULL;
	for (i = 0; i < n; i++) {
		order[i]->prev = prev;
		prev->next = order[i];
		prev = order[i];
	}
	prev->next = NULL;
}

/*
 * The ops of one key, cut at time cut: ops called after it are left out,
 * ops that return after it become open (their outcome is not known yet),
 * as are "info" ops; "fail" ops and reads without an answer are dropped.
 */
static int
search_setup(struct search *s, struct op **kops, size_t n, int64_t cut)
{
	const struct op	*op;
	struct node	*nd;
	size_t		 i, m = 0, ndef, k, pass;
	int		 open;

	memset(s, 0, sizeof(*s));
	if ((s->sops = calloc(n + 1, sizeof(*s->sops))) == NULL)
		return -1;
	/* The definite ops first, then the open ones. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			op = kops[i];
			if (op->status == ST_FAIL || op->call > cut)
				continue;
			open = op->status == ST_INFO || op->ret > cut;
			if ((op->kind == OP_GET && open) || open != (int)pass)
				continue;
			s->sops[m].op = op;
			s->sops[m].open = open;
			s->sops[m].zobrist = mix64(m * 0x2545f4914f6cdd1dULL +
			    1);
			m++;
		}
		if (pass == 0)
			s->ndef = m;
	}
	ndef = s->ndef;
	s->words = ndef / 64 + 1;
	s->owords = (m - ndef) / 64 + 1;
	if ((s->nodes = calloc(ndef + m + 2, sizeof(*s->nodes))) == NULL ||
	    (s->order = calloc(ndef + m + 1, sizeof(*s->order))) == NULL ||
	    (s->stack = calloc(m + 1, sizeof(*s->stack))) == NULL ||
	    (s->bits = calloc(s->words, sizeof(*s->bits))) == NULL ||
	    (s->obits = calloc(s->owords, sizeof(*s->obits))) == NULL ||
	    (s->stslot = calloc(64, sizeof(*s->stslot))) == NULL)
		return -1;
	s->nstslot = 64;
	/*
	 * nodes[0] heads the list of calls and returns of the definite ops,
	 * nodes[1] the list of calls of the open ones.
	 */
	for (i = 0, k = 0; i < m; i++) {
		nd = &s->nodes[2 + k];
		nd->time = s->sops[i].op->call;
		nd->is_call = 1;
		nd->sop = i;
		s->order[k++] = nd;
		if (i >= ndef)
			continue;
		nd->match = nd + 1;
		nd[1].time = s->sops[i].op->ret;
		nd[1].sop = i;
		s->order[k++] = nd + 1;
	}
	link_sorted(&s->nodes[0], s->order, 2 * ndef);
	link_sorted(&s->nodes[1], s->order + 2 * ndef, m - ndef);
	s->nmain = ndef;
	return 0;
}

static int
budget_spent(void)
{
	if (++steps % STEPS_PER_CLOCK != 0)
		return out_of_time;
	if (now_ns() > deadline_ns)
		out_of_time = 1;
	return out_of_time;
}

/*
 * Linearize cand next, moving to state next.  Returns 0 when done, 1 if
 * the search was there before (and failed), -1 out of memory.
 */
static int
search_push(struct search *s, struct node *cand, uint32_t next,
    int64_t limit, int forced)
{
	struct frame	*f;
	int		 r;

	bit_set(s, cand->sop);
	if ((r = memo_add(s, next)) != 0) {
		bit_clear(s, cand->sop);
		return r;
	}
	f = &s->stack[s->sp++];
	f->node = cand;
	f->state = s->state;
	f->limit = limit;
	f->open = s->sops[cand->sop].open;
	f->forced = forced;
	lift(cand);
	if (!f->open)
		s->nmain--;
	s->state = next;
	return 0;
}

static struct frame *
search_pop(struct search *s)
{
	struct frame	*f = &s->stack[--s->sp];

	unlift(f->node);
	bit_clear(s, f->node->sop);
	s->state = f->state;
	if (!f->open)
		s->nmain++;
	return f;
}

/*
 * A read, or a CAS answered false, that the state allows without change
 * may go first: ops of that kind only ever narrow the state, so any
 * linearization from here can be reordered to begin with it.  Taking it
 * is forced, and no other op need be tried in its place.  Returns 1 and
 * the op in *candp, 0 if there is none, -1 out of memory.
 */
static int
find_forced(struct search *s, struct node *mhead, struct node **candp)
{
	struct node	*c;
	const struct op	*op;
	uint32_t	 next;
	int		 r;

	for (c = mhead->next; c != NULL && c->is_call; c = c->next) {
		op = s->sops[c->sop].op;
		if (op->kind != OP_GET && (op->kind != OP_CAS || op->cas_ok))
			continue;
		if ((r = model_step(s, s->state, &s->sops[c->sop], &next)) ==
		    -1)
			return -1;
		if (r == 1 && next == s->state) {
			*candp = c;
			return 1;
		}
	}
	return 0;
}

/*
 * Try cand as the next op.  Returns 1 when it was linearized, 0 when it
 * cannot go next or leads where the search has been, -1 out of memory.
 */
static int
search_try(struct search *s, struct node *cand, int64_t limit)
{
	uint32_t	 next;
	int		 r;

	/*
	 * A put right after an open op: the put alone leads to a state that
	 * includes this one with the open op still unused, and it is tried
	 * at the level above, where the open op was (an open op is never
	 * forced, so every op was tried there).
	 */
	if (s->sops[cand->sop].op->kind == OP_PUT && s->sp > 0 &&
	    s->stack[s->sp - 1].open)
		return 0;
	if ((r = model_step(s, s->state, &s->sops[cand->sop], &next)) != 1)
		return r;
	if ((r = search_push(s, cand, next, limit, 0)) == 0)
		return 1;
	return r == 1 ? 0 : -1;
}

/*
 * Wing & Gong: repeatedly linearize an op called before the first return
 * still pending, backtrack when none fits.  Open ops have no return and
 * are tried after the definite ones at each step, so that the common
 * case (a legal history, most open ops without effect) is found first.
 */
static enum verdict
search_run(struct op **kops, size_t n, int64_t cut)
{
	struct search	 s;
	struct mstate	 absent;
	struct node	*mhead, *ohead, *cur = NULL, *ocur = NULL, *cand;
	struct frame	*f;
	enum verdict	 v;
	int64_t		 limit = 0;
	int		 in_open = 0, scan = 1, back = 0, r;

	if (search_setup(&s, kops, n, cut) == -1) {
		search_free(&s);
		warnx("out of memory");
		return LIN_UNKNOWN;
	}
	memset(&absent, 0, sizeof(absent));
	absent.known = 1;
	s.state = state_intern(&s, &absent, NULL);
	mhead = &s.nodes[0];
	ohead = &s.nodes[1];
	for (;;) {
		if (s.nmain == 0) {
			v = LIN_OK;
			break;
		}
		if (s.nomem || s.state == UINT32_MAX || budget_spent()) {
			v = LIN_UNKNOWN;
			break;
		}
		if (scan) {
			/* A new level: take a forced op, or try them all. */
			scan = 0;
			in_open = 0;
			cur = mhead->next;
			if ((r = find_forced(&s, mhead, &cand)) == 1 &&
			    (r = search_push(&s, cand, s.state, 0, 1)) == 0)
				scan = 1;
			else if (r == 1)
				back = 1;
			continue;
		}
		if (!back && !in_open && !cur->is_call) {
			limit = cur->time;
			in_open = 1;
			ocur = ohead->next;
			continue;
		}
		if (back || (in_open && (ocur == NULL || ocur->time > limit))) {
			back = 0;
			do {
				if (s.sp == 0) {
					v = LIN_FAIL;
					goto done;
				}
				f = search_pop(&s);
			} while (f->forced);
			in_open = f->open;
			if (in_open) {
				ocur = f->node->next;
				limit = f->limit;
			} else
				cur = f->node->next;
			continue;
		}
		cand = in_open ? ocur : cur;
		if ((r = search_try(&s, cand, limit)) == 1) {
			scan = 1;
			continue;
		}
		if (r == -1)
			continue;
		if (in_open)
			ocur = ocur->next;
		else
			cur = cur->next;
	}
done:
	if (s.nomem)
		warnx("the search for one key outgrew %zu MiB",
		    SEARCH_BYTES_MAX >> 20);
	search_free(&s);
	return v;
}

static int
time_cmp(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
op_call_cmp(const void *a, const void *b)
{
	const struct op	*x = *(struct op * const *)a;
	const struct op	*y = *(struct op * const *)b;

	if (x->call != y->call)
		return x->call < y->call ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* The op takes part in a search of the history cut at cut. */
static int
op_in_prefix(const struct op *op, int64_t cut)
{
	if (op->status == ST_FAIL || op->call > cut)
		return 0;
	return op->kind != OP_GET || (op->status == ST_OK && op->ret <= cut);
}

/*
 * The smallest failing prefix, by bisection over the returns of definite
 * ops: a prefix of a linearizable history is linearizable, so failure is
 * monotone in the cut.  INT64_MAX when the budget ran out first.
 */
static int64_t
smallest_cut(struct op **kops, size_t n)
{
	int64_t		*cuts, cut = INT64_MAX;
	size_t		 ncut = 0, i, lo, hi, mid;
	enum verdict	 v = LIN_OK;

	if ((cuts = calloc(n + 1, sizeof(*cuts))) == NULL)
		return INT64_MAX;
	for (i = 0; i < n; i++)
		if (kops[i]->status == ST_OK)
			cuts[ncut++] = kops[i]->ret;
	if (ncut == 0) {
		free(cuts);
		return INT64_MAX;
	}
	qsort(cuts, ncut, sizeof(*cuts), time_cmp);
	lo = 0;
	hi = ncut - 1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((v = search_run(kops, n, cuts[mid])) == LIN_UNKNOWN)
			break;
		if (v == LIN_FAIL)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (v != LIN_UNKNOWN)
		cut = cuts[lo];
	free(cuts);
	return cut;
}

/*
 * Print the smallest failing prefix and its ops around the cut: those
 * that return at the cut (one of them cannot be linearized), those that
 * overlap them or are still open, and the last few completed before.
 */
static void
report_failure(const struct history *h, struct op **kops, size_t n)
{
	struct op	**show;
	const struct op	*op;
	int64_t		 cut, xcall = INT64_MAX, end;
	size_t		 i, nshow = 0, nearly = 0, rank = 0, printed = 0, skip;
	const char	*note;

	cut = smallest_cut(kops, n);
	if ((show = calloc(n + 1, sizeof(*show))) == NULL)
		err(EXIT_UNKNOWN, "out of memory");
	for (i = 0; i < n; i++) {
		if (!op_in_prefix(kops[i], cut))
			continue;
		show[nshow++] = kops[i];
		if (kops[i]->status == ST_OK && kops[i]->ret == cut &&
		    kops[i]->call < xcall)
			xcall = kops[i]->call;
	}
	qsort(show, nshow, sizeof(*show), op_call_cmp);
	if (cut == INT64_MAX) {
		printf("  (no budget left to find the smallest failing "
		    "prefix: the first of all %zu operations follow)\n",
		    nshow);
		xcall = INT64_MIN;
	} else
		printf("  smallest failing prefix: %zu operations, cut at "
		    "%" PRId64 " ns\n", nshow, cut);
	for (i = 0; i < nshow; i++) {
		op = show[i];
		end = op->status == ST_OK ? op->ret : INT64_MAX;
		if (end < xcall)
			nearly++;
	}
	skip = nearly > REPORT_BEFORE ? nearly - REPORT_BEFORE : 0;
	printf("  operations involved, by call time:\n");
	for (i = 0; i < nshow; i++) {
		op = show[i];
		end = op->status == ST_OK ? op->ret : INT64_MAX;
		if (end < xcall && rank++ < skip)
			continue;
		if (printed++ == REPORT_OPS_MAX) {
			printf("    ... and %zu more\n", nshow - i);
			break;
		}
		note = "";
		if (op->status == ST_OK && op->ret == cut)
			note = "    <- cannot be linearized";
		else if (op->status == ST_OK && op->ret > cut)
			note = "    (open at the cut)";
		op_print(h, op, note);
	}
	free(show);
}

/* Check one history; prints its verdict. */
static enum verdict
check_history(const struct history *h)
{
	struct op	**byk;
	size_t		*start, *fill, i, k, nkeys;
	enum verdict	 v = LIN_OK, kv;
	int		 failed = 0;

	nkeys = h->keys.n - 1;
	if ((byk = calloc(h->nops + 1, sizeof(*byk))) == NULL ||
	    (start = calloc(nkeys + 2, sizeof(*start))) == NULL ||
	    (fill = calloc(nkeys + 2, sizeof(*fill))) == NULL)
		err(EXIT_UNKNOWN, "out of memory");
	for (i = 0; i < h->nops; i++)
		start[h->ops[i].key + 1]++;
	for (k = 1; k <= nkeys; k++) {
		if (start[k + 1] > OPS_PER_KEY_MAX) {
			fprintf(stderr, "%s: key %s has %zu operations, more "
			    "than the %d this checker takes: split the "
			    "history\n", h->path, strtab_get(&h->keys, k),
			    start[k + 1], OPS_PER_KEY_MAX);
			v = LIN_REJECT;
			goto done;
		}
	}
	for (k = 1; k <= nkeys + 1; k++)
		start[k] += start[k - 1];
	for (i = 0; i < h->nops; i++) {
		k = h->ops[i].key;
		byk[start[k] + fill[k]++] = &h->ops[i];
	}
	for (k = 1; k <= nkeys; k++) {
		kv = search_run(byk + start[k], start[k + 1] - start[k],
		    INT64_MAX);
		if (kv == LIN_UNKNOWN) {
			printf("%s: unknown: the %s budget ran out at key %s\n",
			    h->path, out_of_time ? "time" : "memory",
			    strtab_get(&h->keys, k));
			v = LIN_UNKNOWN;
			break;
		}
		if (kv == LIN_FAIL) {
			printf("%s: not linearizable: key %s\n", h->path,
			    strtab_get(&h->keys, k));
			report_failure(h, byk + start[k],
			    start[k + 1] - start[k]);
			failed = 1;
		}
	}
	/* A definite failure outranks running out of budget later. */
	if (failed)
		v = LIN_FAIL;
	else if (v == LIN_OK)
		printf("%s: ok %zu ops, %zu keys\n", h->path, h->nops, nkeys);
done:
	free(byk);
	free(start);
	free(fill);
	return v;
}

static int
write_call_cmp(const void *a, const void *b)
{
	const struct op	*x = *(struct op * const *)a;
	const struct op	*y = *(struct op * const *)b;

	return x->call < y->call ? -1 : x->call > y->call;
}

/*
 * For each mark, the first return of an ok write called at or after it
 * (how long writes stopped after a fault), then totals per op and status.
 */
static void
print_stats(const struct history *h)
{
	static const char *names[] = { "get", "put", "cas" };
	const struct op	**w;
	const struct op	*op;
	int64_t		*minret, ns;
	size_t		 i, nw = 0, lo, hi, mid, count[3][3];
	size_t		 cas_true = 0, cas_false = 0;

	if ((w = calloc(h->nops + 1, sizeof(*w))) == NULL ||
	    (minret = calloc(h->nops + 1, sizeof(*minret))) == NULL)
		err(EXIT_UNKNOWN, "out of memory");
	for (i = 0; i < h->nops; i++) {
		op = &h->ops[i];
		if (op->status == ST_OK && (op->kind == OP_PUT ||
		    (op->kind == OP_CAS && op->cas_ok)))
			w[nw++] = op;
	}
	qsort(w, nw, sizeof(*w), write_call_cmp);
	minret[nw] = INT64_MAX;
	for (i = nw; i > 0; i--)
		minret[i - 1] = w[i - 1]->ret < minret[i] ?
		    w[i - 1]->ret : minret[i];
	for (i = 0; i < h->nmarks; i++) {
		ns = h->marks[i].ns;
		for (lo = 0, hi = nw; lo < hi; ) {
			mid = lo + (hi - lo) / 2;
			if (w[mid]->call < ns)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (minret[lo] == INT64_MAX)
			printf("mark %s: no ok write after it\n",
			    strtab_get(&h->strs, h->marks[i].label));
		else
			printf("mark %s: first ok write after %" PRId64
			    " ms\n", strtab_get(&h->strs, h->marks[i].label),
			    (minret[lo] - ns) / 1000000);
	}
	memset(count, 0, sizeof(count));
	for (i = 0; i < h->nops; i++) {
		op = &h->ops[i];
		count[op->kind][op->status]++;
		if (op->kind == OP_CAS && op->status == ST_OK) {
			if (op->cas_ok)
				cas_true++;
			else
				cas_false++;
		}
	}
	for (i = 0; i < 3; i++) {
		printf("%s: ok %zu", names[i], count[i][ST_OK]);
		if (i == OP_CAS)
			printf(" (true %zu, false %zu)", cas_true, cas_false);
		printf(", fail %zu, info %zu\n", count[i][ST_FAIL],
		    count[i][ST_INFO]);
	}
	free(w);
	free(minret);
}

/* Criterion D: every "acked KEY" has a "present KEY" line. */
static int
check_set(const char *path)
{
	FILE		*fp;
	struct strtab	 acked, present;
	char		 buf[LINE_MAX_LEN + 1], *f[3];
	size_t		 len, missing = 0, lineno = 0;
	uint32_t	 id;
	int		 r, nf;
	const char	*e;

	if ((fp = fopen(path, "r")) == NULL) {
		warn("%s", path);
		return EXIT_MALFORMED;
	}
	strtab_init(&acked);
	strtab_init(&present);
	while ((r = read_line(fp, buf, &len)) != 0) {
		e = NULL;
		lineno++;
		if (r == -1)
			e = "line too long or holds a NUL byte";
		else if (buf[0] == '#' || (nf = split(buf, f, 2)) == 0)
			continue;
		else if (nf != 2)
			e = "expected \"acked KEY\" or \"present KEY\"";
		else if (acked.n + present.n > SET_KEYS_MAX)
			e = "too many keys";
		else if (strcmp(f[0], "acked") == 0)
			strtab_intern(&acked, f[1], strlen(f[1]));
		else if (strcmp(f[0], "present") == 0)
			strtab_intern(&present, f[1], strlen(f[1]));
		else
			e = "expected \"acked KEY\" or \"present KEY\"";
		if (e != NULL) {
			fprintf(stderr, "%s:%zu: %s\n", path, lineno, e);
			fclose(fp);
			strtab_free(&acked);
			strtab_free(&present);
			return EXIT_MALFORMED;
		}
	}
	r = ferror(fp);
	fclose(fp);
	if (r) {
		warnx("%s: read error", path);
		strtab_free(&acked);
		strtab_free(&present);
		return EXIT_MALFORMED;
	}
	for (id = 1; id < acked.n; id++) {
		if (strtab_find(&present, strtab_get(&acked, id)) != 0)
			continue;
		printf("%s: missing %s\n", path, strtab_get(&acked, id));
		missing++;
	}
	if (missing > 0)
		printf("%s: set lost %zu of %u acked keys\n", path, missing,
		    acked.n - 1);
	else
		printf("%s: set ok: %u acked keys, all among %u present\n",
		    path, acked.n - 1, present.n - 1);
	strtab_free(&acked);
	strtab_free(&present);
	return missing > 0 ? EXIT_NOTLIN : 0;
}

int
main(int argc, char *argv[])
{
	struct history	 h;
	int64_t		 seconds = 60;
	int		 i, stats = 0, set = 0, rv = 0, r;
	int		 any_fail = 0, any_unknown = 0, any_bad = 0;
	enum verdict	 v;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-stats") == 0)
			stats = 1;
		else if (strcmp(argv[i], "-set") == 0)
			set = 1;
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			if (parse_int(argv[++i], 1, 86400, &seconds) == -1)
				errx(EXIT_MALFORMED, "-t: seconds must be "
				    "1..86400");
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			usage();
	}
	if (i == argc || (stats && set))
		usage();
	deadline_ns = now_ns() + seconds * 1000000000;
	for (; i < argc; i++) {
		if (set) {
			r = check_set(argv[i]);
			if (r == EXIT_NOTLIN)
				any_fail = 1;
			else if (r != 0)
				any_bad = 1;
			continue;
		}
		if (history_read(&h, argv[i]) == -1) {
			history_free(&h);
			any_bad = 1;
			continue;
		}
		v = check_history(&h);
		if (stats && v != LIN_REJECT)
			print_stats(&h);
		history_free(&h);
		if (v == LIN_REJECT)
			any_bad = 1;
		else if (v == LIN_FAIL)
			any_fail = 1;
		else if (v == LIN_UNKNOWN) {
			any_unknown = 1;
			break;
		}
	}
	if (any_bad)
		rv = EXIT_MALFORMED;
	else if (any_fail)
		rv = EXIT_NOTLIN;
	else if (any_unknown)
		rv = EXIT_UNKNOWN;
	return rv;
}
