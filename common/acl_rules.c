/*
 * ACL rules.  The text of a policy is read in two passes: a small
 * tokenizer and recursive-descent parser turn HCL (version 1, the
 * flavour Consul policies use) or JSON into a tree of objects, lists
 * and strings that remembers where each piece began; then the tree is
 * walked for the rule blocks Consul knows.  Both passes report the
 * first error as "line L, column C: what".  JSON needs no parser of
 * its own: with ':' read as '=' and ',' as an optional separator it is
 * an HCL object.
 *
 * Compiled rules are sorted arrays per resource kind, deduplicated
 * with the merge order of enum acl_level, so a lookup is a binary
 * search for the exact rule and a scan for the longest prefix.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl_rules.h"
#include "goquote.h"

enum tok_type {
	TOK_EOF,
	TOK_IDENT,
	TOK_STRING,
	TOK_NUMBER,
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_LBRACK,
	TOK_RBRACK,
	TOK_ASSIGN,
	TOK_COMMA
};

struct tok {
	enum tok_type	 type;
	int		 line;
	int		 col;
	char		*text;		/* IDENT, STRING, NUMBER; owned */
};

enum node_type {
	NODE_STRING,
	NODE_OTHER,		/* a number or a bool: never valid here */
	NODE_OBJECT,
	NODE_LIST
};

struct node;

struct item {
	char		*key;
	int		 line;
	int		 col;
	struct node	*val;
};

struct node {
	enum node_type	 type;
	int		 line;
	int		 col;
	char		*str;
	struct item	*items;		/* OBJECT */
	size_t		 nitems;
	struct node	**elems;	/* LIST */
	size_t		 nelems;
};

struct parser {
	const char	*p;
	const char	*end;
	int		 line;
	int		 col;
	struct tok	 tok;		/* the current token */
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static const char *const resource_names[ACL_RES_MAX] = {
	"key", "node", "service", "session", "event", "query", "agent",
	"operator", "keyring", "acl"
};

static void
perror_at(struct parser *ps, int line, int col, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (ps->failed)
		return;
	ps->failed = 1;
	if (ps->errlen == 0)
		return;
	n = snprintf(ps->err, ps->errlen, "line %d, column %d: ", line, col);
	if (n < 0 || (size_t)n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
}

static void
advance(struct parser *ps, size_t n)
{
	while (n-- > 0 && ps->p < ps->end) {
		if (*ps->p == '\n') {
			ps->line++;
			ps->col = 1;
		} else
			ps->col++;
		ps->p++;
	}
}

/* Skips blanks and the three comment forms; -1 on an open comment. */
static int
skip_space(struct parser *ps)
{
	int	 line, col;

	while (ps->p < ps->end) {
		if (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' ||
		    *ps->p == '\n')
			advance(ps, 1);
		else if (*ps->p == '#' || (*ps->p == '/' &&
		    ps->p + 1 < ps->end && ps->p[1] == '/')) {
			while (ps->p < ps->end && *ps->p != '\n')
				advance(ps, 1);
		} else if (*ps->p == '/' && ps->p + 1 < ps->end &&
		    ps->p[1] == '*') {
			line = ps->line;
			col = ps->col;
			advance(ps, 2);
			for (;;) {
				if (ps->p + 1 >= ps->end) {
					perror_at(ps, line, col,
					    "comment not terminated");
					return -1;
				}
				if (ps->p[0] == '*' && ps->p[1] == '/')
					break;
				advance(ps, 1);
			}
			advance(ps, 2);
		} else
			break;
	}
	return 0;
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

/* Appends the UTF-8 form of code point cp; out has room for 4 bytes. */
static size_t
put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = 0xc0 | (cp >> 6);
		out[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = 0xe0 | (cp >> 12);
		out[1] = 0x80 | ((cp >> 6) & 0x3f);
		out[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	out[0] = 0xf0 | (cp >> 18);
	out[1] = 0x80 | ((cp >> 12) & 0x3f);
	out[2] = 0x80 | ((cp >> 6) & 0x3f);
	out[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* Reads four hex digits after "\u"; -1 when they are not there. */
static long
read_u4(struct parser *ps)
{
	long	 v = 0;
	int	 i, h;

	if (ps->end - ps->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if ((h = hexval((unsigned char)ps->p[i])) < 0)
			return -1;
		v = v * 16 + h;
	}
	advance(ps, 4);
	return v;
}

/* A double-quoted string; the opening quote is at ps->p. */
static char *
lex_string(struct parser *ps)
{
	char		*out;
	size_t		 n = 0;
	long		 cp, lo;
	int		 line, col, sline, scol, c;

	/* Escapes only shrink, \u at most doubles six bytes to four. */
	if ((out = malloc(ps->end - ps->p + 1)) == NULL) {
		perror_at(ps, ps->line, ps->col, "out of memory");
		return NULL;
	}
	sline = ps->line;
	scol = ps->col;
	advance(ps, 1);
	for (;;) {
		if (ps->p >= ps->end || *ps->p == '\n') {
			perror_at(ps, sline, scol, "string not terminated");
			goto fail;
		}
		c = (unsigned char)*ps->p;
		if (c == '"') {
			advance(ps, 1);
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			perror_at(ps, ps->line, ps->col,
			    "control character in string");
			goto fail;
		}
		if (c != '\\') {
			out[n++] = c;
			advance(ps, 1);
			continue;
		}
		line = ps->line;
		col = ps->col;
		advance(ps, 1);
		if (ps->p >= ps->end) {
			perror_at(ps, sline, scol, "string not terminated");
			goto fail;
		}
		c = (unsigned char)*ps->p;
		advance(ps, 1);
		switch (c) {
		case '"':
		case '\\':
		case '/':
			out[n++] = c;
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 'b':
			out[n++] = '\b';
			break;
		case 'f':
			out[n++] = '\f';
			break;
		case 'u':
			if ((cp = read_u4(ps)) < 0)
				goto badesc;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (ps->end - ps->p < 6 || ps->p[0] != '\\' ||
				    ps->p[1] != 'u')
					goto badesc;
				advance(ps, 2);
				if ((lo = read_u4(ps)) < 0xdc00 || lo > 0xdfff)
					goto badesc;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000)
				goto badesc;
			if (cp == 0) {
				perror_at(ps, line, col,
				    "NUL character in string");
				goto fail;
			}
			n += put_utf8(out + n, cp);
			break;
		default:
			goto badesc;
		}
	}
	out[n] = '\0';
	return out;
 badesc:
	perror_at(ps, line, col, "invalid escape sequence in string");
 fail:
	free(out);
	return NULL;
}

static char *
lex_span(struct parser *ps, const char *start)
{
	char	*s;

	if ((s = strndup(start, ps->p - start)) == NULL)
		perror_at(ps, ps->line, ps->col, "out of memory");
	return s;
}

/* Moves to the next token; on error ps->failed is set. */
static void
next(struct parser *ps)
{
	const char	*start;
	int		 c;

	free(ps->tok.text);
	ps->tok.text = NULL;
	if (skip_space(ps) == -1) {
		ps->tok.type = TOK_EOF;
		return;
	}
	ps->tok.line = ps->line;
	ps->tok.col = ps->col;
	if (ps->p >= ps->end) {
		ps->tok.type = TOK_EOF;
		return;
	}
	c = (unsigned char)*ps->p;
	switch (c) {
	case '{':
		ps->tok.type = TOK_LBRACE;
		advance(ps, 1);
		return;
	case '}':
		ps->tok.type = TOK_RBRACE;
		advance(ps, 1);
		return;
	case '[':
		ps->tok.type = TOK_LBRACK;
		advance(ps, 1);
		return;
	case ']':
		ps->tok.type = TOK_RBRACK;
		advance(ps, 1);
		return;
	case '=':
	case ':':
		ps->tok.type = TOK_ASSIGN;
		advance(ps, 1);
		return;
	case ',':
		ps->tok.type = TOK_COMMA;
		advance(ps, 1);
		return;
	case '"':
		ps->tok.type = TOK_STRING;
		ps->tok.text = lex_string(ps);
		if (ps->tok.text == NULL)
			ps->tok.type = TOK_EOF;
		return;
	}
	start = ps->p;
	if (isalpha(c) || c == '_') {
		while (ps->p < ps->end && (isalnum((unsigned char)*ps->p) ||
		    *ps->p == '_' || *ps->p == '-' || *ps->p == '.'))
			advance(ps, 1);
		ps->tok.type = TOK_IDENT;
	} else if (isdigit(c) || c == '-' || c == '+') {
		advance(ps, 1);
		while (ps->p < ps->end && (isalnum((unsigned char)*ps->p) ||
		    *ps->p == '.' || *ps->p == '-' || *ps->p == '+'))
			advance(ps, 1);
		ps->tok.type = TOK_NUMBER;
	} else {
		if (isprint(c))
			perror_at(ps, ps->line, ps->col,
			    "unexpected character '%c'", c);
		else
			perror_at(ps, ps->line, ps->col,
			    "unexpected byte 0x%02x", c);
		ps->tok.type = TOK_EOF;
		return;
	}
	if ((ps->tok.text = lex_span(ps, start)) == NULL)
		ps->tok.type = TOK_EOF;
}

static const char *
tok_desc(const struct tok *t)
{
	switch (t->type) {
	case TOK_EOF:
		return "end of input";
	case TOK_IDENT:
		return "a name";
	case TOK_STRING:
		return "a string";
	case TOK_NUMBER:
		return "a number";
	case TOK_LBRACE:
		return "'{'";
	case TOK_RBRACE:
		return "'}'";
	case TOK_LBRACK:
		return "'['";
	case TOK_RBRACK:
		return "']'";
	case TOK_ASSIGN:
		return "'='";
	case TOK_COMMA:
		return "','";
	}
	return "?";
}

static void
node_free(struct node *n)
{
	size_t	 i;

	if (n == NULL)
		return;
	free(n->str);
	for (i = 0; i < n->nitems; i++) {
		free(n->items[i].key);
		node_free(n->items[i].val);
	}
	free(n->items);
	for (i = 0; i < n->nelems; i++)
		node_free(n->elems[i]);
	free(n->elems);
	free(n);
}

static struct node *
node_new(struct parser *ps, enum node_type type, int line, int col)
{
	struct node	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		perror_at(ps, line, col, "out of memory");
		return NULL;
	}
	n->type = type;
	n->line = line;
	n->col = col;
	return n;
}

static int
object_add(struct parser *ps, struct node *obj, char *key, int line,
    int col, struct node *val)
{
	struct item	*items;

	items = reallocarray(obj->items, obj->nitems + 1, sizeof(*items));
	if (items == NULL) {
		perror_at(ps, line, col, "out of memory");
		free(key);
		node_free(val);
		return -1;
	}
	obj->items = items;
	items[obj->nitems].key = key;
	items[obj->nitems].line = line;
	items[obj->nitems].col = col;
	items[obj->nitems].val = val;
	obj->nitems++;
	return 0;
}

static struct node	*parse_value(struct parser *, int);
static int		 parse_body(struct parser *, struct node *, int,
			    enum tok_type);

/* '{' body '}'; the current token is the '{'. */
static struct node *
parse_object(struct parser *ps, int depth)
{
	struct node	*obj;

	if (depth > ACL_RULES_MAX_DEPTH) {
		perror_at(ps, ps->tok.line, ps->tok.col, "nested too deeply");
		return NULL;
	}
	if ((obj = node_new(ps, NODE_OBJECT, ps->tok.line,
	    ps->tok.col)) == NULL)
		return NULL;
	next(ps);
	if (parse_body(ps, obj, depth, TOK_RBRACE) == -1) {
		node_free(obj);
		return NULL;
	}
	next(ps);
	return obj;
}

/* '[' value (',' value)* [','] ']'; the current token is the '['. */
static struct node *
parse_list(struct parser *ps, int depth)
{
	struct node	*list, *v, **elems;

	if (depth > ACL_RULES_MAX_DEPTH) {
		perror_at(ps, ps->tok.line, ps->tok.col, "nested too deeply");
		return NULL;
	}
	if ((list = node_new(ps, NODE_LIST, ps->tok.line,
	    ps->tok.col)) == NULL)
		return NULL;
	next(ps);
	while (!ps->failed && ps->tok.type != TOK_RBRACK) {
		if ((v = parse_value(ps, depth + 1)) == NULL)
			goto fail;
		elems = reallocarray(list->elems, list->nelems + 1,
		    sizeof(*elems));
		if (elems == NULL) {
			node_free(v);
			perror_at(ps, ps->tok.line, ps->tok.col,
			    "out of memory");
			goto fail;
		}
		list->elems = elems;
		elems[list->nelems++] = v;
		if (ps->tok.type == TOK_COMMA)
			next(ps);
		else if (ps->tok.type != TOK_RBRACK && !ps->failed) {
			perror_at(ps, ps->tok.line, ps->tok.col,
			    "expected ',' or ']', found %s",
			    tok_desc(&ps->tok));
			goto fail;
		}
	}
	if (ps->failed)
		goto fail;
	next(ps);
	return list;
 fail:
	node_free(list);
	return NULL;
}

static struct node *
parse_value(struct parser *ps, int depth)
{
	struct node	*n;

	switch (ps->tok.type) {
	case TOK_LBRACE:
		return parse_object(ps, depth + 1);
	case TOK_LBRACK:
		return parse_list(ps, depth + 1);
	case TOK_STRING:
		if ((n = node_new(ps, NODE_STRING, ps->tok.line,
		    ps->tok.col)) == NULL)
			return NULL;
		n->str = ps->tok.text;
		ps->tok.text = NULL;
		next(ps);
		return n;
	case TOK_NUMBER:
	case TOK_IDENT:
		/* true, false, null and numbers: kept only for errors. */
		if ((n = node_new(ps, NODE_OTHER, ps->tok.line,
		    ps->tok.col)) == NULL)
			return NULL;
		next(ps);
		return n;
	default:
		if (!ps->failed)
			perror_at(ps, ps->tok.line, ps->tok.col,
			    "expected a value, found %s", tok_desc(&ps->tok));
		return NULL;
	}
}

/*
 * One item: key label* ['='] value.  Labels nest as one-item objects,
 * so `key "a" { ... }` reads like `key = { "a" = { ... } }`.
 */
static int
parse_item(struct parser *ps, struct node *obj, int depth)
{
	struct node	*val, *wrap;
	char		*key, **labels = NULL, **l;
	int		*pos = NULL, *p, line, col;
	size_t		 nlabels = 0, i;

	line = ps->tok.line;
	col = ps->tok.col;
	key = ps->tok.text;
	ps->tok.text = NULL;
	next(ps);
	while (!ps->failed && (ps->tok.type == TOK_STRING ||
	    ps->tok.type == TOK_IDENT)) {
		l = reallocarray(labels, nlabels + 1, sizeof(*labels));
		if (l != NULL)
			labels = l;
		p = reallocarray(pos, 2 * (nlabels + 1), sizeof(*pos));
		if (p != NULL)
			pos = p;
		if (l == NULL || p == NULL) {
			perror_at(ps, ps->tok.line, ps->tok.col,
			    "out of memory");
			goto fail;
		}
		labels[nlabels] = ps->tok.text;
		ps->tok.text = NULL;
		pos[2 * nlabels] = ps->tok.line;
		pos[2 * nlabels + 1] = ps->tok.col;
		nlabels++;
		if (nlabels > ACL_RULES_MAX_DEPTH) {
			perror_at(ps, ps->tok.line, ps->tok.col,
			    "too many labels");
			goto fail;
		}
		next(ps);
	}
	if (ps->failed)
		goto fail;
	if (ps->tok.type == TOK_ASSIGN)
		next(ps);
	else if (ps->tok.type != TOK_LBRACE) {
		perror_at(ps, ps->tok.line, ps->tok.col,
		    "expected '=' or '{' after \"%s\", found %s", key,
		    tok_desc(&ps->tok));
		goto fail;
	}
	if (ps->failed || (val = parse_value(ps, depth + nlabels)) == NULL)
		goto fail;
	for (i = nlabels; i > 0; i--) {
		if ((wrap = node_new(ps, NODE_OBJECT, pos[2 * (i - 1)],
		    pos[2 * (i - 1) + 1])) == NULL) {
			node_free(val);
			goto fail;
		}
		if (object_add(ps, wrap, labels[i - 1], pos[2 * (i - 1)],
		    pos[2 * (i - 1) + 1], val) == -1) {
			labels[i - 1] = NULL;
			node_free(wrap);
			goto fail;
		}
		labels[i - 1] = NULL;
		val = wrap;
	}
	free(labels);
	free(pos);
	return object_add(ps, obj, key, line, col, val);
 fail:
	for (i = 0; i < nlabels; i++)
		free(labels[i]);
	free(labels);
	free(pos);
	free(key);
	return -1;
}

/* Items up to the closing token, which is left current. */
static int
parse_body(struct parser *ps, struct node *obj, int depth,
    enum tok_type close)
{
	while (!ps->failed && ps->tok.type != close) {
		if (ps->tok.type != TOK_IDENT && ps->tok.type != TOK_STRING) {
			perror_at(ps, ps->tok.line, ps->tok.col,
			    "expected a name, found %s", tok_desc(&ps->tok));
			return -1;
		}
		if (parse_item(ps, obj, depth) == -1)
			return -1;
		if (ps->tok.type == TOK_COMMA)
			next(ps);
	}
	return ps->failed ? -1 : 0;
}

/* Either a JSON document `{...}` or an HCL body; both give an object. */
static struct node *
parse_document(struct parser *ps)
{
	struct node	*doc;

	next(ps);
	if (ps->failed)
		return NULL;
	if (ps->tok.type == TOK_LBRACE) {
		if ((doc = parse_object(ps, 0)) == NULL)
			return NULL;
	} else {
		if ((doc = node_new(ps, NODE_OBJECT, 1, 1)) == NULL)
			return NULL;
		if (parse_body(ps, doc, 0, TOK_EOF) == -1) {
			node_free(doc);
			return NULL;
		}
	}
	if (ps->tok.type != TOK_EOF || ps->failed) {
		perror_at(ps, ps->tok.line, ps->tok.col,
		    "unexpected %s after the rules", tok_desc(&ps->tok));
		node_free(doc);
		return NULL;
	}
	return doc;
}

/* Rule sets. */

static int
ruleset_add(struct acl_ruleset *rs, const char *name, enum acl_level level)
{
	struct acl_rule	*v;
	size_t		 cap;

	if (rs->n == rs->cap) {
		cap = rs->cap ? rs->cap * 2 : 4;
		if ((v = reallocarray(rs->v, cap, sizeof(*v))) == NULL)
			return -1;
		rs->v = v;
		rs->cap = cap;
	}
	if ((rs->v[rs->n].name = strdup(name)) == NULL)
		return -1;
	rs->v[rs->n].len = strlen(name);
	rs->v[rs->n].level = level;
	rs->n++;
	return 0;
}

static int
rule_cmp(const void *a, const void *b)
{
	const struct acl_rule	*ra = a, *rb = b;

	return strcmp(ra->name, rb->name);
}

/* Sorts and folds rules for the same name into the one that wins. */
static void
ruleset_compile(struct acl_ruleset *rs)
{
	size_t	 i, o;

	if (rs->n == 0)
		return;
	qsort(rs->v, rs->n, sizeof(rs->v[0]), rule_cmp);
	for (i = 1, o = 0; i < rs->n; i++) {
		if (strcmp(rs->v[i].name, rs->v[o].name) == 0) {
			if (rs->v[i].level > rs->v[o].level)
				rs->v[o].level = rs->v[i].level;
			free(rs->v[i].name);
		} else
			rs->v[++o] = rs->v[i];
	}
	rs->n = o + 1;
}

struct acl_rules *
acl_rules_new(void)
{
	return calloc(1, sizeof(struct acl_rules));
}

void
acl_rules_free(struct acl_rules *r)
{
	size_t	 i, j;

	if (r == NULL)
		return;
	for (i = 0; i < ACL_RES_NAMED; i++) {
		for (j = 0; j < r->exact[i].n; j++)
			free(r->exact[i].v[j].name);
		free(r->exact[i].v);
		for (j = 0; j < r->prefix[i].n; j++)
			free(r->prefix[i].v[j].name);
		free(r->prefix[i].v);
	}
	free(r);
}

int
acl_rules_add(struct acl_rules *r, enum acl_resource res, int prefix,
    const char *name, enum acl_level level)
{
	size_t	 i;

	if (level == ACL_LEVEL_NONE)
		return 0;
	r->compiled = 0;
	if (res >= ACL_RES_NAMED) {
		i = res - ACL_RES_NAMED;
		if (level > r->single[i])
			r->single[i] = level;
		return 0;
	}
	return ruleset_add(prefix ? &r->prefix[res] : &r->exact[res], name,
	    level);
}

int
acl_rules_merge(struct acl_rules *dst, const struct acl_rules *src)
{
	size_t	 i, j;

	for (i = 0; i < ACL_RES_NAMED; i++) {
		for (j = 0; j < src->exact[i].n; j++)
			if (acl_rules_add(dst, i, 0, src->exact[i].v[j].name,
			    src->exact[i].v[j].level) == -1)
				return -1;
		for (j = 0; j < src->prefix[i].n; j++)
			if (acl_rules_add(dst, i, 1, src->prefix[i].v[j].name,
			    src->prefix[i].v[j].level) == -1)
				return -1;
	}
	for (i = ACL_RES_NAMED; i < ACL_RES_MAX; i++)
		if (acl_rules_add(dst, i, 0, NULL,
		    src->single[i - ACL_RES_NAMED]) == -1)
			return -1;
	return 0;
}

/*
 * A service identity: write on the service and its sidecar proxy, and
 * read on every service and node, which discovery needs.
 */
int
acl_rules_service_identity(struct acl_rules *r, const char *service)
{
	char	 sidecar[512];
	int	 n;

	n = snprintf(sidecar, sizeof(sidecar), "%s-sidecar-proxy", service);
	if (n < 0 || (size_t)n >= sizeof(sidecar))
		return -1;
	if (acl_rules_add(r, ACL_RES_SERVICE, 0, service,
	    ACL_LEVEL_WRITE) == -1 ||
	    acl_rules_add(r, ACL_RES_SERVICE, 0, sidecar,
	    ACL_LEVEL_WRITE) == -1 ||
	    acl_rules_add(r, ACL_RES_SERVICE, 1, "", ACL_LEVEL_READ) == -1 ||
	    acl_rules_add(r, ACL_RES_NODE, 1, "", ACL_LEVEL_READ) == -1)
		return -1;
	return 0;
}

/* A node identity: write on the node, read on every service. */
int
acl_rules_node_identity(struct acl_rules *r, const char *node)
{
	if (acl_rules_add(r, ACL_RES_NODE, 0, node, ACL_LEVEL_WRITE) == -1 ||
	    acl_rules_add(r, ACL_RES_SERVICE, 1, "", ACL_LEVEL_READ) == -1)
		return -1;
	return 0;
}

void
acl_rules_compile(struct acl_rules *r)
{
	size_t	 i;

	for (i = 0; i < ACL_RES_NAMED; i++) {
		ruleset_compile(&r->exact[i]);
		ruleset_compile(&r->prefix[i]);
	}
	r->compiled = 1;
}

/* The level of the rule that governs name, ACL_LEVEL_NONE if none. */
enum acl_level
acl_rules_lookup(const struct acl_rules *r, enum acl_resource res,
    const char *name)
{
	const struct acl_ruleset	*rs;
	const struct acl_rule		*hit, *best;
	struct acl_rule			 key;
	size_t				 i;

	if (res >= ACL_RES_MAX)
		return ACL_LEVEL_NONE;
	if (res >= ACL_RES_NAMED)
		return r->single[res - ACL_RES_NAMED];
	key.name = (char *)name;
	rs = &r->exact[res];
	if (rs->n > 0 && (hit = bsearch(&key, rs->v, rs->n, sizeof(*rs->v),
	    rule_cmp)) != NULL)
		return hit->level;
	rs = &r->prefix[res];
	best = NULL;
	for (i = 0; i < rs->n; i++)
		if ((best == NULL || rs->v[i].len > best->len) &&
		    strncmp(name, rs->v[i].name, rs->v[i].len) == 0)
			best = &rs->v[i];
	return best ? best->level : ACL_LEVEL_NONE;
}

/* Whether a rule at level grants access; write grants list and read. */
static int
grants(enum acl_level level, enum acl_level access)
{
	if (level == ACL_LEVEL_DENY)
		return 0;
	return level >= access;
}

static int
default_allows(const struct acl_authz *a, enum acl_resource res)
{
	/* Default allow never reaches ACL management. */
	return a->default_allow && res != ACL_RES_ACL;
}

int
acl_allowed(const struct acl_authz *a, enum acl_resource res,
    const char *name, enum acl_level access)
{
	enum acl_level	 level;

	if (a->management)
		return 1;
	if (a->rules == NULL || (level = acl_rules_lookup(a->rules, res,
	    name != NULL ? name : "")) == ACL_LEVEL_NONE)
		return default_allows(a, res);
	return grants(level, access);
}

/*
 * Consul's detailed refusal in buf: the token's AccessorID, the
 * permission asked for and, for a named resource, the name as Go's %q
 * writes it (cut to fit).  Operator, keyring and acl have no name.
 */
void
acl_denied(char *buf, size_t len, const struct acl_authz *a,
    enum acl_resource res, const char *name, enum acl_level access)
{
	char	 q[ACL_DENIED_MAX];
	int	 n;

	n = snprintf(buf, len, "Permission denied: token with AccessorID "
	    "'%s' lacks permission '%s:%s'", a != NULL ? a->accessor : "",
	    acl_resource_name(res), acl_level_name(access));
	if (res >= ACL_RES_NAMED || n < 0 || (size_t)n + 6 >= len)
		return;
	if (name == NULL)
		name = "";
	go_quote(q, len - n - 4 < sizeof(q) ? len - n - 4 : sizeof(q), name,
	    strlen(name));
	snprintf(buf + n, len - n, " on %s", q);
}

/* Whether an error is an ACL refusal: 403 (either form, or no token). */
int
acl_is_denial(const char *err)
{
	return strncmp(err, "Permission denied", 17) == 0 ||
	    strcmp(err, "ACL not found") == 0;
}

/*
 * A recursive delete of prefix: the longest prefix rule that covers it
 * must grant write (or, without one, the default must), and no rule
 * inside the prefix may grant less than write.
 */
int
acl_key_write_prefix_allowed(const struct acl_authz *a, const char *prefix)
{
	const struct acl_ruleset	*rs;
	const struct acl_rule		*best = NULL;
	size_t				 i, plen;

	if (a->management)
		return 1;
	if (a->rules == NULL)
		return default_allows(a, ACL_RES_KEY);
	plen = strlen(prefix);
	rs = &a->rules->prefix[ACL_RES_KEY];
	for (i = 0; i < rs->n; i++) {
		if (strncmp(rs->v[i].name, prefix, plen) == 0 &&
		    rs->v[i].level != ACL_LEVEL_WRITE)
			return 0;
		if ((best == NULL || rs->v[i].len > best->len) &&
		    strncmp(prefix, rs->v[i].name, rs->v[i].len) == 0)
			best = &rs->v[i];
	}
	rs = &a->rules->exact[ACL_RES_KEY];
	for (i = 0; i < rs->n; i++)
		if (strncmp(rs->v[i].name, prefix, plen) == 0 &&
		    rs->v[i].level != ACL_LEVEL_WRITE)
			return 0;
	if (best != NULL)
		return best->level == ACL_LEVEL_WRITE;
	return default_allows(a, ACL_RES_KEY);
}

const char *
acl_level_name(enum acl_level level)
{
	switch (level) {
	case ACL_LEVEL_READ:
		return "read";
	case ACL_LEVEL_LIST:
		return "list";
	case ACL_LEVEL_WRITE:
		return "write";
	case ACL_LEVEL_DENY:
		return "deny";
	default:
		return "";
	}
}

const char *
acl_resource_name(enum acl_resource res)
{
	return res < ACL_RES_MAX ? resource_names[res] : "";
}

/* The second pass: rule blocks from the tree. */

static int
parse_level(struct parser *ps, const struct node *v, const char *what,
    int allow_list, enum acl_level *out)
{
	if (v->type != NODE_STRING) {
		perror_at(ps, v->line, v->col,
		    "%s: policy must be a string", what);
		return -1;
	}
	if (strcmp(v->str, "read") == 0)
		*out = ACL_LEVEL_READ;
	else if (strcmp(v->str, "write") == 0)
		*out = ACL_LEVEL_WRITE;
	else if (strcmp(v->str, "deny") == 0)
		*out = ACL_LEVEL_DENY;
	else if (allow_list && strcmp(v->str, "list") == 0)
		*out = ACL_LEVEL_LIST;
	else {
		perror_at(ps, v->line, v->col, "%s: invalid policy \"%.64s\"",
		    what, v->str);
		return -1;
	}
	return 0;
}

/* The body of one rule: { policy = "..." [intentions = "..."] }. */
static int
rule_body(struct parser *ps, struct acl_rules *r, enum acl_resource res,
    int prefix, const char *name, const struct node *body, int bline,
    int bcol)
{
	const struct item	*it;
	enum acl_level		 level = ACL_LEVEL_NONE, ilevel;
	char			 what[128];
	size_t			 i;
	int			 have_policy = 0, have_intentions = 0;

	snprintf(what, sizeof(what), "%s%s \"%.64s\"",
	    resource_names[res], prefix ? "_prefix" : "", name);
	if (body->type == NODE_LIST) {
		for (i = 0; i < body->nelems; i++)
			if (rule_body(ps, r, res, prefix, name, body->elems[i],
			    bline, bcol) == -1)
				return -1;
		return 0;
	}
	if (body->type != NODE_OBJECT) {
		perror_at(ps, body->line, body->col,
		    "%s: expected a block { policy = ... }", what);
		return -1;
	}
	for (i = 0; i < body->nitems; i++) {
		it = &body->items[i];
		if (strcmp(it->key, "policy") == 0) {
			if (parse_level(ps, it->val, what,
			    res == ACL_RES_KEY, &level) == -1)
				return -1;
			have_policy = 1;
		} else if (strcmp(it->key, "intentions") == 0 &&
		    res == ACL_RES_SERVICE) {
			/* Accepted for compatibility; there is no mesh. */
			if (parse_level(ps, it->val, what, 0, &ilevel) == -1)
				return -1;
			have_intentions = 1;
		} else {
			perror_at(ps, it->line, it->col,
			    "%s: unknown attribute \"%.64s\"", what, it->key);
			return -1;
		}
	}
	if (!have_policy && !have_intentions) {
		perror_at(ps, bline, bcol, "%s: missing policy", what);
		return -1;
	}
	if (have_policy && acl_rules_add(r, res, prefix, name, level) == -1) {
		perror_at(ps, bline, bcol, "out of memory");
		return -1;
	}
	return 0;
}

/* The value of `key_prefix = { "a/" = {...} ... }` (or a list of them). */
static int
rule_block(struct parser *ps, struct acl_rules *r, enum acl_resource res,
    int prefix, const struct node *v)
{
	const struct item	*it;
	size_t			 i;

	if (v->type == NODE_LIST) {
		for (i = 0; i < v->nelems; i++)
			if (rule_block(ps, r, res, prefix, v->elems[i]) == -1)
				return -1;
		return 0;
	}
	if (v->type != NODE_OBJECT) {
		perror_at(ps, v->line, v->col,
		    "%s%s: expected a name and a block", resource_names[res],
		    prefix ? "_prefix" : "");
		return -1;
	}
	for (i = 0; i < v->nitems; i++) {
		it = &v->items[i];
		if (rule_body(ps, r, res, prefix, it->key, it->val, it->line,
		    it->col) == -1)
			return -1;
	}
	return 0;
}

static int
rules_from_tree(struct parser *ps, struct acl_rules *r,
    const struct node *doc)
{
	const struct item	*it;
	enum acl_level		 level;
	size_t			 i, j, klen;
	int			 prefix;

	for (i = 0; i < doc->nitems; i++) {
		it = &doc->items[i];
		klen = strlen(it->key);
		prefix = klen > 7 &&
		    strcmp(it->key + klen - 7, "_prefix") == 0;
		if (prefix)
			klen -= 7;
		for (j = 0; j < ACL_RES_MAX; j++)
			if (strlen(resource_names[j]) == klen &&
			    strncmp(it->key, resource_names[j], klen) == 0)
				break;
		if (j == ACL_RES_MAX || (prefix && j >= ACL_RES_NAMED)) {
			perror_at(ps, it->line, it->col,
			    "unknown rule type \"%.64s\"", it->key);
			return -1;
		}
		if (j < ACL_RES_NAMED) {
			if (rule_block(ps, r, j, prefix, it->val) == -1)
				return -1;
			continue;
		}
		if (parse_level(ps, it->val, resource_names[j], 0,
		    &level) == -1)
			return -1;
		if (acl_rules_add(r, j, 0, NULL, level) == -1) {
			perror_at(ps, it->line, it->col, "out of memory");
			return -1;
		}
	}
	return 0;
}

/*
 * Adds the rules in text (HCL or JSON, len bytes, no NUL needed) to r.
 * On failure, err holds "line L, column C: reason" and r may hold some
 * of the rules; the caller frees it.
 */
int
acl_rules_parse(struct acl_rules *r, const char *text, size_t len,
    char *err, size_t errlen)
{
	struct parser	 ps;
	struct node	*doc;
	int		 rc;

	memset(&ps, 0, sizeof(ps));
	ps.p = text;
	ps.end = text + len;
	ps.line = 1;
	ps.col = 1;
	ps.err = err;
	ps.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	doc = parse_document(&ps);
	free(ps.tok.text);
	if (doc == NULL)
		return -1;
	rc = rules_from_tree(&ps, r, doc);
	node_free(doc);
	if (rc == 0)
		acl_rules_compile(r);
	return rc;
}
