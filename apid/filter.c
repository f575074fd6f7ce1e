/*
 * The ?filter expression language: a lexer and a recursive-descent
 * parser that build a tree of or, and, not and match nodes, and an
 * evaluator that walks a jansson value.  The grammar is the one Consul's
 * documentation gives:
 *
 *	expr	= or
 *	or	= and { "or" and }
 *	and	= not { "and" not }
 *	not	= "not" not | "(" or ")" | match
 *	match	= selector ( "==" | "!=" ) value
 *		| selector "is" [ "not" ] "empty"
 *		| selector [ "not" ] ( "contains" | "matches" ) value
 *		| value [ "not" ] "in" selector
 *
 * A selector is a name followed by ".name", ".digits" or ["string"]
 * parts; a value is a "double-quoted" string with Go's escapes, a
 * `raw` string, a number, or a bare selector standing for its own text.
 *
 * The input comes from the network, so everything is bounded: length,
 * nesting, the number of matches and of patterns, and the steps all the
 * patterns of one filter may take over all the elements it is given.
 * Each selector is resolved against the element's schema before any
 * element is seen.  `matches` takes RE2's syntax (filter_re.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "filter_re.h"

#define FILTER_ERR_PREFIX \
	"Failed to create boolean expression evaluator: "

enum tok_type {
	T_END,
	T_LPAREN,
	T_RPAREN,
	T_EQ,
	T_NE,
	T_STRING,
	T_NUMBER,
	T_SELECTOR
};

struct token {
	enum tok_type	 type;
	size_t		 pos;		/* offset in the expression */
	/* STRING: decoded; NUMBER: as is; SELECTOR: parts joined by '.' */
	char		*text;
	char		**parts;	/* SELECTOR */
	size_t		 nparts;
	int		 plain;		/* SELECTOR: one bare name */
};

enum node_type {
	N_OR,
	N_AND,
	N_NOT,
	N_MATCH
};

/* The positive operators; != and the not forms negate them. */
enum match_op {
	M_EQ,
	M_EMPTY,
	M_IN,
	M_MATCHES
};

enum step_type {
	S_KEY,			/* a field of an object, a key of a map */
	S_INDEX,		/* an element of a list */
	S_ANY			/* each element of a list: any may match */
};

struct step {
	enum step_type	 type;
	char		*key;
	size_t		 index;
};

struct node {
	enum node_type	 type;
	struct node	**kids;		/* OR, AND: two or more; NOT: 1 */
	size_t		 nkids;
	/* N_MATCH */
	enum match_op	 op;
	int		 negate;
	struct step	*steps;
	size_t		 nsteps;
	const struct filter_field *leaf;
	char		*value;
	long long	 ival;
	int		 bval;
	struct fre	*re;		/* M_MATCHES */
};

struct filter {
	struct node	*root;
	uint64_t	 budget;	/* steps left for `matches` */
};

struct parser {
	const char		*in;
	size_t			 len;
	size_t			 off;
	struct token		 tok;		/* the lookahead */
	const struct filter_field *schema;
	size_t			 depth;
	size_t			 nmatches;
	size_t			 nregex;
	char			*err;
	size_t			 errlen;
	int			 failed;
};

static void	 node_free(struct node *);

static void
fail(struct parser *p, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 n;

	if (p->failed)
		return;
	p->failed = 1;
	n = strlcpy(p->err, FILTER_ERR_PREFIX, p->errlen);
	if (n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
}

static void
syntax(struct parser *p, size_t pos, const char *what)
{
	fail(p, "syntax error at column %zu: %s", pos + 1, what);
}

static void
tok_clear(struct token *t)
{
	size_t	 i;

	free(t->text);
	for (i = 0; i < t->nparts; i++)
		free(t->parts[i]);
	free(t->parts);
	memset(t, 0, sizeof(*t));
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_ident(int c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '/';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append code point cp as UTF-8; 0 if it is not one. */
static int
put_utf8(char *out, size_t *n, unsigned long cp)
{
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp < 0x80)
		out[(*n)++] = (char)cp;
	else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | cp >> 6);
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | cp >> 12);
		out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | cp >> 18);
		out[(*n)++] = (char)(0x80 | (cp >> 12 & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
	return 1;
}

/*
 * A string literal at p->off (its quote), decoded as Go decodes one: a
 * `raw` string as it is, less carriage returns; a "quoted" one with
 * Go's escapes.  A NUL, which no field of ours holds and C strings
 * cannot, is refused.  NULL after fail().
 */
static char *
lex_string(struct parser *p)
{
	size_t		 start = p->off, n = 0, i, digits, esc;
	char		 quote = p->in[p->off], *out;
	unsigned long	 cp;
	int		 c, h;

	/* Decoded text is never longer than its source. */
	if ((out = malloc(p->len - start + 1)) == NULL) {
		fail(p, "out of memory");
		return NULL;
	}
	p->off++;
	for (;;) {
		if (p->off >= p->len) {
			syntax(p, start, "unterminated string literal");
			goto bad;
		}
		c = (unsigned char)p->in[p->off++];
		if (c == quote)
			break;
		if (quote == '`') {
			if (c != '\r')
				out[n++] = (char)c;
			continue;
		}
		if (c == '\n') {
			syntax(p, p->off - 1, "newline in string literal");
			goto bad;
		}
		if (c != '\\') {
			out[n++] = (char)c;
			continue;
		}
		esc = p->off - 1;
		if (p->off >= p->len) {
			syntax(p, start, "unterminated string literal");
			goto bad;
		}
		c = (unsigned char)p->in[p->off++];
		switch (c) {
		case 'a': out[n++] = '\a'; continue;
		case 'b': out[n++] = '\b'; continue;
		case 'f': out[n++] = '\f'; continue;
		case 'n': out[n++] = '\n'; continue;
		case 'r': out[n++] = '\r'; continue;
		case 't': out[n++] = '\t'; continue;
		case 'v': out[n++] = '\v'; continue;
		case '\\': out[n++] = '\\'; continue;
		case '"': out[n++] = '"'; continue;
		case 'x':
		case 'u':
		case 'U':
			digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			cp = 0;
			for (i = 0; i < digits; i++) {
				if (p->off >= p->len ||
				    (h = hexval((unsigned char)
				    p->in[p->off])) == -1) {
					syntax(p, esc, "invalid escape in "
					    "string literal");
					goto bad;
				}
				cp = cp << 4 | (unsigned long)h;
				p->off++;
			}
			if (c == 'x') {
				out[n++] = (char)cp;
				break;
			}
			if (!put_utf8(out, &n, cp)) {
				syntax(p, esc, "invalid code point in "
				    "string literal");
				goto bad;
			}
			break;
		default:
			if (c < '0' || c > '7') {
				syntax(p, esc, "invalid escape in "
				    "string literal");
				goto bad;
			}
			cp = (unsigned long)(c - '0');
			for (i = 1; i < 3; i++) {
				if (p->off >= p->len || p->in[p->off] < '0' ||
				    p->in[p->off] > '7') {
					syntax(p, esc, "invalid escape in "
					    "string literal");
					goto bad;
				}
				cp = cp << 3 | (unsigned long)(p->in[p->off++] -
				    '0');
			}
			if (cp > 255) {
				syntax(p, esc, "invalid escape in "
				    "string literal");
				goto bad;
			}
			out[n++] = (char)cp;
			break;
		}
	}
	if (memchr(out, '\0', n) != NULL) {
		syntax(p, start, "NUL in string literal");
		goto bad;
	}
	out[n] = '\0';
	return out;
 bad:
	free(out);
	return NULL;
}

static int
add_part(struct parser *p, struct token *t, char *s)
{
	char	**np;

	if (s == NULL)
		return -1;
	if (t->nparts == FILTER_PATH_MAX) {
		free(s);
		fail(p, "selector at column %zu has more than %d parts",
		    t->pos + 1, FILTER_PATH_MAX);
		return -1;
	}
	if ((np = reallocarray(t->parts, t->nparts + 1,
	    sizeof(*np))) == NULL) {
		free(s);
		fail(p, "out of memory");
		return -1;
	}
	t->parts = np;
	t->parts[t->nparts++] = s;
	return 0;
}

static char *
dup_span(struct parser *p, size_t from, size_t to)
{
	char	*s;

	if ((s = strndup(p->in + from, to - from)) == NULL)
		fail(p, "out of memory");
	return s;
}

/* A selector: name { "." name | "." digits | "[" string "]" }. */
static int
lex_selector(struct parser *p, struct token *t)
{
	size_t	 from, total = 1, i;
	char	*s;

	t->type = T_SELECTOR;
	t->plain = 1;
	from = p->off;
	while (p->off < p->len && is_ident((unsigned char)p->in[p->off]))
		p->off++;
	if (add_part(p, t, dup_span(p, from, p->off)) == -1)
		return -1;
	for (;;) {
		if (p->off >= p->len)
			break;
		if (p->in[p->off] == '.') {
			from = ++p->off;
			if (p->off < p->len &&
			    is_alpha((unsigned char)p->in[p->off]))
				while (p->off < p->len && is_ident(
				    (unsigned char)p->in[p->off]))
					p->off++;
			else
				while (p->off < p->len && is_digit(
				    (unsigned char)p->in[p->off]))
					p->off++;
			if (p->off == from) {
				syntax(p, from - 1, "invalid selector");
				return -1;
			}
			if (add_part(p, t, dup_span(p, from, p->off)) == -1)
				return -1;
		} else if (p->in[p->off] == '[') {
			from = p->off++;
			while (p->off < p->len &&
			    is_space((unsigned char)p->in[p->off]))
				p->off++;
			if (p->off >= p->len || (p->in[p->off] != '"' &&
			    p->in[p->off] != '`')) {
				syntax(p, from, "invalid index");
				return -1;
			}
			if ((s = lex_string(p)) == NULL)
				return -1;
			if (add_part(p, t, s) == -1)
				return -1;
			while (p->off < p->len &&
			    is_space((unsigned char)p->in[p->off]))
				p->off++;
			if (p->off >= p->len || p->in[p->off] != ']') {
				syntax(p, from, "unclosed index expression");
				return -1;
			}
			p->off++;
		} else
			break;
		t->plain = 0;
	}
	/* As a value, a selector stands for its parts joined by dots. */
	for (i = 0; i < t->nparts; i++)
		total += strlen(t->parts[i]) + 1;
	if ((t->text = malloc(total)) == NULL) {
		fail(p, "out of memory");
		return -1;
	}
	t->text[0] = '\0';
	for (i = 0; i < t->nparts; i++) {
		if (i > 0)
			strlcat(t->text, ".", total);
		strlcat(t->text, t->parts[i], total);
	}
	return 0;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?, then a space, ")" or the end. */
static int
lex_number(struct parser *p, struct token *t)
{
	size_t	 from = p->off;

	t->type = T_NUMBER;
	if (p->in[p->off] == '-')
		p->off++;
	if (p->off >= p->len || !is_digit((unsigned char)p->in[p->off]))
		goto bad;
	if (p->in[p->off] == '0')
		p->off++;
	else
		while (p->off < p->len &&
		    is_digit((unsigned char)p->in[p->off]))
			p->off++;
	if (p->off < p->len && p->in[p->off] == '.') {
		p->off++;
		if (p->off >= p->len ||
		    !is_digit((unsigned char)p->in[p->off]))
			goto bad;
		while (p->off < p->len &&
		    is_digit((unsigned char)p->in[p->off]))
			p->off++;
	}
	if (p->off < p->len && !is_space((unsigned char)p->in[p->off]) &&
	    p->in[p->off] != ')')
		goto bad;
	if ((t->text = dup_span(p, from, p->off)) == NULL)
		return -1;
	return 0;
 bad:
	syntax(p, from, "invalid number literal");
	return -1;
}

/* The next token into p->tok; -1 after fail(). */
static int
lex(struct parser *p)
{
	struct token	*t = &p->tok;
	char		 what[64];
	int		 c;

	tok_clear(t);
	while (p->off < p->len && is_space((unsigned char)p->in[p->off]))
		p->off++;
	t->pos = p->off;
	if (p->off >= p->len) {
		t->type = T_END;
		return 0;
	}
	c = (unsigned char)p->in[p->off];
	if (c == '(' || c == ')') {
		t->type = c == '(' ? T_LPAREN : T_RPAREN;
		p->off++;
		return 0;
	}
	if ((c == '=' || c == '!') && p->off + 1 < p->len &&
	    p->in[p->off + 1] == '=') {
		t->type = c == '=' ? T_EQ : T_NE;
		p->off += 2;
		return 0;
	}
	if (c == '"' || c == '`') {
		t->type = T_STRING;
		return (t->text = lex_string(p)) == NULL ? -1 : 0;
	}
	if (c == '-' || is_digit(c))
		return lex_number(p, t);
	if (is_alpha(c))
		return lex_selector(p, t);
	if (c >= 0x20 && c < 0x7f)
		snprintf(what, sizeof(what), "unexpected '%c'", c);
	else
		snprintf(what, sizeof(what), "unexpected byte 0x%02x", c);
	syntax(p, p->off, what);
	return -1;
}

static int
is_kw(const struct token *t, const char *kw)
{
	return t->type == T_SELECTOR && t->plain && strcmp(t->text, kw) == 0;
}

static struct node *
node_new(struct parser *p, enum node_type type)
{
	struct node	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		fail(p, "out of memory");
		return NULL;
	}
	n->type = type;
	return n;
}

static int
node_add(struct parser *p, struct node *n, struct node *kid)
{
	struct node	**nk;

	if ((nk = reallocarray(n->kids, n->nkids + 1, sizeof(*nk))) == NULL) {
		fail(p, "out of memory");
		return -1;
	}
	n->kids = nk;
	n->kids[n->nkids++] = kid;
	return 0;
}

static void
node_free(struct node *n)
{
	size_t	 i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	for (i = 0; i < n->nsteps; i++)
		free(n->steps[i].key);
	free(n->steps);
	free(n->value);
	fre_free(n->re);
	free(n);
}

static const char *
kind_name(enum filter_kind k)
{
	switch (k) {
	case FILTER_STRING:
		return "a string";
	case FILTER_INT:
		return "a number";
	case FILTER_BOOL:
		return "a boolean";
	case FILTER_MAP:
		return "a map";
	case FILTER_LIST:
		return "a list";
	default:
		return "an object";
	}
}

static int
add_step(struct parser *p, struct node *m, enum step_type type,
    const char *key, size_t index)
{
	struct step	*ns;

	/* Two steps a part at most, and parts are bounded. */
	if ((ns = reallocarray(m->steps, m->nsteps + 1, sizeof(*ns))) ==
	    NULL) {
		fail(p, "out of memory");
		return -1;
	}
	m->steps = ns;
	ns = &m->steps[m->nsteps];
	memset(ns, 0, sizeof(*ns));
	ns->type = type;
	ns->index = index;
	if (key != NULL && (ns->key = strdup(key)) == NULL) {
		fail(p, "out of memory");
		return -1;
	}
	m->nsteps++;
	return 0;
}

static const struct filter_field *
field_find(const struct filter_field *obj, const char *name)
{
	const struct filter_field	*f;

	for (f = obj->sub; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* A part that indexes a list: digits, no leading zero, in range. */
static int
part_index(const char *s, size_t *out)
{
	size_t	 n = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return 0;
	for (; *s != '\0'; s++) {
		if (!is_digit((unsigned char)*s) || n > (SIZE_MAX - 9) / 10)
			return 0;
		n = n * 10 + (size_t)(*s - '0');
	}
	*out = n;
	return 1;
}

/*
 * The selector's parts as steps through the schema.  Through a list of
 * objects without an index the match applies to each element and holds
 * if it holds for any (Checks.Status == critical).
 */
static int
resolve(struct parser *p, struct node *m, const struct token *sel)
{
	const struct filter_field	*cur = p->schema, *f;
	size_t				 i, idx;

	for (i = 0; i < sel->nparts; i++) {
		switch (cur->kind) {
		case FILTER_OBJECT:
			if ((f = field_find(cur, sel->parts[i])) == NULL)
				goto invalid;
			if (add_step(p, m, S_KEY, sel->parts[i], 0) == -1)
				return -1;
			cur = f;
			break;
		case FILTER_MAP:
			if (add_step(p, m, S_KEY, sel->parts[i], 0) == -1)
				return -1;
			cur = cur->sub;
			break;
		case FILTER_LIST:
			if (part_index(sel->parts[i], &idx)) {
				if (add_step(p, m, S_INDEX, NULL, idx) == -1)
					return -1;
				cur = cur->sub;
				break;
			}
			if (cur->sub->kind != FILTER_OBJECT ||
			    (f = field_find(cur->sub, sel->parts[i])) == NULL)
				goto invalid;
			if (add_step(p, m, S_ANY, NULL, 0) == -1 ||
			    add_step(p, m, S_KEY, sel->parts[i], 0) == -1)
				return -1;
			cur = f;
			break;
		default:
			goto invalid;
		}
	}
	m->leaf = cur;
	return 0;
 invalid:
	fail(p, "Selector \"%s\" is not valid", sel->text);
	return -1;
}

/* 1 if the operator applies to the selected field. */
static int
op_applies(const struct node *m)
{
	switch (m->leaf->kind) {
	case FILTER_STRING:
		return 1;
	case FILTER_INT:
	case FILTER_BOOL:
		return m->op == M_EQ;
	case FILTER_MAP:
		return m->op == M_EMPTY || m->op == M_IN;
	case FILTER_LIST:
		return m->op == M_EMPTY || (m->op == M_IN &&
		    m->leaf->sub->kind == FILTER_STRING);
	default:
		return 0;
	}
}

static const char *
op_name(const struct node *m)
{
	switch (m->op) {
	case M_EQ:
		return m->negate ? "!=" : "==";
	case M_EMPTY:
		return m->negate ? "is not empty" : "is empty";
	case M_IN:
		return m->negate ? "not in" : "in";
	default:
		return m->negate ? "not matches" : "matches";
	}
}

/* Go's strconv.ParseBool. */
static int
parse_bool(const char *s, int *out)
{
	static const char	*yes[] = { "1", "t", "T", "TRUE", "true",
				    "True" };
	static const char	*no[] = { "0", "f", "F", "FALSE", "false",
				    "False" };
	size_t			 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int
parse_int(const char *s, long long *out)
{
	char	*end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

static int
compile_regex(struct parser *p, struct node *m)
{
	char	 why[FILTER_ERR_MAX];

	if (p->nregex == FILTER_REGEX_MAX) {
		fail(p, "more than %d regular expressions", FILTER_REGEX_MAX);
		return -1;
	}
	if (strlen(m->value) > FRE_LEN_MAX) {
		fail(p, "regular expression longer than %d bytes",
		    FRE_LEN_MAX);
		return -1;
	}
	if ((m->re = fre_compile(m->value, why, sizeof(why))) == NULL) {
		fail(p, "Invalid regular expression \"%s\": %s", m->value,
		    why);
		return -1;
	}
	p->nregex++;
	return 0;
}

/* Check and prepare a match node whose selector is sel. */
static int
match_finish(struct parser *p, struct node *m, const struct token *sel)
{
	if (resolve(p, m, sel) == -1)
		return -1;
	if (!op_applies(m)) {
		if (m->leaf->kind == FILTER_OBJECT)
			fail(p, "Selector \"%s\" is an object: select one "
			    "of its fields", sel->text);
		else
			fail(p, "Selector \"%s\" is %s: \"%s\" does not "
			    "apply", sel->text, kind_name(m->leaf->kind),
			    op_name(m));
		return -1;
	}
	if (m->leaf->kind == FILTER_INT && parse_int(m->value,
	    &m->ival) == -1) {
		fail(p, "Value \"%s\" for selector \"%s\" is not an integer",
		    m->value, sel->text);
		return -1;
	}
	if (m->leaf->kind == FILTER_BOOL && parse_bool(m->value,
	    &m->bval) == -1) {
		fail(p, "Value \"%s\" for selector \"%s\" is not a boolean",
		    m->value, sel->text);
		return -1;
	}
	if (m->op == M_MATCHES)
		return compile_regex(p, m);
	return 0;
}

/* Take the lookahead's text as a value; -1 if it is none. */
static int
take_value(struct parser *p, struct node *m)
{
	struct token	*t = &p->tok;

	if (t->type != T_STRING && t->type != T_NUMBER &&
	    t->type != T_SELECTOR) {
		syntax(p, t->pos, "expected a value");
		return -1;
	}
	m->value = t->text;
	t->text = NULL;
	return lex(p);
}

static struct node *
parse_match(struct parser *p)
{
	struct token	 first;
	struct node	*m;
	size_t		 pos;

	if (p->tok.type != T_SELECTOR && p->tok.type != T_STRING &&
	    p->tok.type != T_NUMBER) {
		syntax(p, p->tok.pos, p->tok.type == T_END ?
		    "unexpected end of expression" :
		    "expected a selector, a value or \"(\"");
		return NULL;
	}
	if (++p->nmatches > FILTER_MATCHES_MAX) {
		fail(p, "more than %d match expressions", FILTER_MATCHES_MAX);
		return NULL;
	}
	if ((m = node_new(p, N_MATCH)) == NULL)
		return NULL;
	first = p->tok;
	memset(&p->tok, 0, sizeof(p->tok));
	if (lex(p) == -1)
		goto bad;
	pos = p->tok.pos;
	if (is_kw(&p->tok, "not")) {
		m->negate = 1;
		if (lex(p) == -1)
			goto bad;
		if (!is_kw(&p->tok, "in") && !is_kw(&p->tok, "contains") &&
		    !is_kw(&p->tok, "matches")) {
			syntax(p, p->tok.pos, "expected \"in\", \"contains\" "
			    "or \"matches\" after \"not\"");
			goto bad;
		}
	}
	if (is_kw(&p->tok, "in")) {
		/* value in selector */
		m->op = M_IN;
		m->value = first.text;
		first.text = NULL;
		tok_clear(&first);
		if (lex(p) == -1)
			goto bad;
		if (p->tok.type != T_SELECTOR) {
			syntax(p, p->tok.pos, "expected a selector after "
			    "\"in\"");
			goto bad;
		}
		first = p->tok;
		memset(&p->tok, 0, sizeof(p->tok));
		if (lex(p) == -1 || match_finish(p, m, &first) == -1)
			goto bad;
		tok_clear(&first);
		return m;
	}
	if (first.type != T_SELECTOR) {
		syntax(p, first.pos, "a value must be followed by \"in\" or "
		    "\"not in\"");
		goto bad;
	}
	if (!m->negate && (p->tok.type == T_EQ || p->tok.type == T_NE)) {
		m->op = M_EQ;
		m->negate = p->tok.type == T_NE;
		if (lex(p) == -1 || take_value(p, m) == -1)
			goto bad;
	} else if (!m->negate && is_kw(&p->tok, "is")) {
		m->op = M_EMPTY;
		if (lex(p) == -1)
			goto bad;
		if (is_kw(&p->tok, "not")) {
			m->negate = 1;
			if (lex(p) == -1)
				goto bad;
		}
		if (!is_kw(&p->tok, "empty")) {
			syntax(p, p->tok.pos, "expected \"empty\"");
			goto bad;
		}
		if (lex(p) == -1)
			goto bad;
	} else if (is_kw(&p->tok, "contains") || is_kw(&p->tok, "matches")) {
		m->op = is_kw(&p->tok, "contains") ? M_IN : M_MATCHES;
		if (lex(p) == -1 || take_value(p, m) == -1)
			goto bad;
	} else {
		syntax(p, pos, "expected \"==\", \"!=\", \"is\", \"in\", "
		    "\"contains\" or \"matches\"");
		goto bad;
	}
	if (match_finish(p, m, &first) == -1)
		goto bad;
	tok_clear(&first);
	return m;
 bad:
	tok_clear(&first);
	node_free(m);
	return NULL;
}

static struct node	*parse_or(struct parser *);

static struct node *
parse_not(struct parser *p)
{
	struct node	*n, *kid;
	size_t		 pos = p->tok.pos;

	if (is_kw(&p->tok, "not") || p->tok.type == T_LPAREN) {
		if (++p->depth > FILTER_DEPTH_MAX) {
			fail(p, "expression nested deeper than %d",
			    FILTER_DEPTH_MAX);
			return NULL;
		}
		if (p->tok.type == T_LPAREN) {
			if (lex(p) == -1 || (kid = parse_or(p)) == NULL)
				return NULL;
			if (p->tok.type != T_RPAREN) {
				node_free(kid);
				syntax(p, pos, "unmatched parenthesis");
				return NULL;
			}
			p->depth--;
			if (lex(p) == -1) {
				node_free(kid);
				return NULL;
			}
			return kid;
		}
		if (lex(p) == -1 || (kid = parse_not(p)) == NULL)
			return NULL;
		p->depth--;
		if ((n = node_new(p, N_NOT)) == NULL ||
		    node_add(p, n, kid) == -1) {
			node_free(n);
			node_free(kid);
			return NULL;
		}
		return n;
	}
	return parse_match(p);
}

/* and = not { "and" not }, or = and { "or" and }: one node, n kids. */
static struct node *
parse_list(struct parser *p, enum node_type type)
{
	struct node	*first, *n = NULL, *kid;
	const char	*kw = type == N_AND ? "and" : "or";

	first = type == N_AND ? parse_not(p) : parse_list(p, N_AND);
	if (first == NULL)
		return NULL;
	while (is_kw(&p->tok, kw)) {
		if (n == NULL) {
			if ((n = node_new(p, type)) == NULL ||
			    node_add(p, n, first) == -1) {
				node_free(n);
				node_free(first);
				return NULL;
			}
		}
		if (lex(p) == -1)
			goto bad;
		kid = type == N_AND ? parse_not(p) : parse_list(p, N_AND);
		if (kid == NULL)
			goto bad;
		if (node_add(p, n, kid) == -1) {
			node_free(kid);
			goto bad;
		}
	}
	return n != NULL ? n : first;
 bad:
	node_free(n);
	return NULL;
}

static struct node *
parse_or(struct parser *p)
{
	return parse_list(p, N_OR);
}

struct filter *
filter_parse(const char *expr, const struct filter_field *schema, char *err,
    size_t errlen)
{
	struct parser	 p;
	struct filter	*f = NULL;
	struct node	*root = NULL;

	memset(&p, 0, sizeof(p));
	p.in = expr;
	p.len = strlen(expr);
	p.schema = schema;
	p.err = err;
	p.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	if (p.len > FILTER_LEN_MAX) {
		fail(&p, "expression longer than %d bytes", FILTER_LEN_MAX);
		return NULL;
	}
	if (lex(&p) == -1 || (root = parse_or(&p)) == NULL)
		goto done;
	if (p.tok.type != T_END) {
		syntax(&p, p.tok.pos, p.tok.type == T_RPAREN ?
		    "unmatched parenthesis" : "expected \"and\", \"or\" or "
		    "the end");
		goto done;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		fail(&p, "out of memory");
		goto done;
	}
	f->root = root;
	f->budget = FILTER_STEPS_MAX;
	root = NULL;
 done:
	if (f == NULL && !p.failed)
		fail(&p, "malformed expression");
	node_free(root);
	tok_clear(&p.tok);
	return f;
}

void
filter_free(struct filter *f)
{
	if (f == NULL)
		return;
	node_free(f->root);
	free(f);
}

/*
 * The positive operator on the selected value (NULL: absent); -1 when
 * the budget is spent.
 */
static int
leaf_match(const struct node *m, json_t *v, uint64_t *budget)
{
	json_t		*e;
	const char	*s;
	size_t		 i;

	if (v != NULL && json_is_null(v))
		v = NULL;
	switch (m->leaf->kind) {
	case FILTER_STRING:
		s = json_is_string(v) ? json_string_value(v) : "";
		switch (m->op) {
		case M_EQ:
			return strcmp(s, m->value) == 0;
		case M_EMPTY:
			return *s == '\0';
		case M_IN:
			return strstr(s, m->value) != NULL;
		case M_MATCHES:
			return fre_match(m->re, s, strlen(s), budget);
		}
		return 0;
	case FILTER_INT:
		if (json_is_integer(v))
			return json_integer_value(v) == m->ival;
		if (json_is_real(v))
			return json_real_value(v) == (double)m->ival;
		return m->ival == 0;
	case FILTER_BOOL:
		return json_is_true(v) == m->bval;
	case FILTER_MAP:
		if (m->op == M_EMPTY)
			return !json_is_object(v) || json_object_size(v) == 0;
		return json_is_object(v) &&
		    json_object_get(v, m->value) != NULL;
	case FILTER_LIST:
		if (m->op == M_EMPTY)
			return !json_is_array(v) || json_array_size(v) == 0;
		if (!json_is_array(v))
			return 0;
		json_array_foreach(v, i, e)
			if (json_is_string(e) &&
			    strcmp(json_string_value(e), m->value) == 0)
				return 1;
		return 0;
	default:
		return 0;
	}
}

static int
walk(const struct node *m, json_t *v, size_t i, uint64_t *budget)
{
	const struct step	*st;
	json_t			*e;
	size_t			 j;
	int			 rc;

	if (i == m->nsteps)
		return leaf_match(m, v, budget);
	st = &m->steps[i];
	switch (st->type) {
	case S_KEY:
		return walk(m, json_is_object(v) ? json_object_get(v,
		    st->key) : NULL, i + 1, budget);
	case S_INDEX:
		return walk(m, json_is_array(v) ? json_array_get(v,
		    st->index) : NULL, i + 1, budget);
	case S_ANY:
		if (!json_is_array(v))
			return 0;
		json_array_foreach(v, j, e)
			if ((rc = walk(m, e, i + 1, budget)) != 0)
				return rc;
		return 0;
	}
	return 0;
}

/* 1, 0, or -1 as soon as any part runs out of budget. */
static int
eval(const struct node *n, json_t *v, uint64_t *budget)
{
	size_t	 i;
	int	 rc;

	switch (n->type) {
	case N_OR:
		for (i = 0; i < n->nkids; i++)
			if ((rc = eval(n->kids[i], v, budget)) != 0)
				return rc;
		return 0;
	case N_AND:
		for (i = 0; i < n->nkids; i++)
			if ((rc = eval(n->kids[i], v, budget)) != 1)
				return rc;
		return 1;
	case N_NOT:
		rc = eval(n->kids[0], v, budget);
		return rc == -1 ? -1 : !rc;
	case N_MATCH:
		rc = walk(n, v, 0, budget);
		return rc == -1 ? -1 : rc ^ n->negate;
	}
	return 0;
}

int
filter_match(struct filter *f, json_t *v)
{
	return eval(f->root, v, &f->budget);
}
