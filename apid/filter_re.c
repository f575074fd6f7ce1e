/*
 * Regular expressions for ?filter's `matches`, in RE2's syntax as Go's
 * regexp (and so Consul) takes it, on bytes rather than characters:
 * literals and escapes, ., [classes] with ranges, [:posix:] names and
 * \d \w \s, ^ $ \A \z \b \B, groups (capturing, (?:...), (?P<name>...)),
 * flags (?i) (?s) (?m) (?U) alone or as (?i:...), alternation, and the
 * repetitions * + ? {n} {n,} {n,m}, greedy or lazy (the same texts match
 * either way).  Backreferences and Unicode classes are refused, as RE2
 * refuses the first.
 *
 * A pattern is parsed into a tree, its counted repetitions expanded
 * into at most FRE_PROG_MAX states of a Thompson automaton, and a
 * search runs every live state in step over the text: time linear in
 * the text times the states, within a budget the caller gives, no
 * recursion, memory on the stack.  glibc's
 * regcomp, which this replaces, can spend minutes compiling a two
 * hundred byte pattern and more than linear time matching one.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter_re.h"

#define RE_INF		-1
#define RE_REPEAT_MAX	1000	/* RE2's bound on {n,m} */

enum re_type {
	R_EMPTY,
	R_BYTE,
	R_CLASS,
	R_ASSERT,
	R_CAT,
	R_ALT,
	R_REPEAT
};

enum re_assert {
	A_BOT,			/* \A, or ^ */
	A_EOT,			/* \z, or $ */
	A_BOL,			/* ^ with (?m) */
	A_EOL,			/* $ with (?m) */
	A_WORD,			/* \b */
	A_NOTWORD		/* \B */
};

enum re_flag {
	F_I = 1,		/* case-insensitive (ASCII) */
	F_S = 2,		/* . matches \n */
	F_M = 4			/* ^ and $ at line breaks */
};

struct re_node {
	enum re_type	 type;
	int		 arg;		/* BYTE: the byte; CLASS: its index;
					   ASSERT: enum re_assert */
	int		 min, max;	/* REPEAT; max RE_INF: no bound */
	struct re_node	*a, *b;
};

struct re_class {
	uint8_t		 bits[32];
};

enum inst_op {
	I_BYTE,
	I_CLASS,
	I_ASSERT,
	I_SPLIT,		/* go on at x and at y */
	I_JMP,			/* go on at x */
	I_MATCH
};

struct inst {
	uint8_t		 op;
	uint8_t		 arg;		/* BYTE, ASSERT */
	uint16_t	 x, y;		/* SPLIT, JMP; CLASS: x its index */
};

struct fre {
	struct inst	*prog;
	size_t		 n;
	struct re_class	*cls;
	size_t		 ncls;
};

struct re_parser {
	const char	*s;
	size_t		 len;
	size_t		 off;
	int		 depth;
	struct re_class	*cls;
	size_t		 ncls;
	size_t		 clsroom;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static struct re_node	*parse_alt(struct re_parser *, int *);

static void
re_fail(struct re_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
re_fail(struct re_parser *p, const char *fmt, ...)
{
	va_list	 ap;

	if (p->failed)
		return;
	p->failed = 1;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
}

static void
re_node_free(struct re_node *n)
{
	if (n == NULL)
		return;
	re_node_free(n->a);
	re_node_free(n->b);
	free(n);
}

static struct re_node *
re_node_new(struct re_parser *p, enum re_type type, struct re_node *a,
    struct re_node *b)
{
	struct re_node	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		re_node_free(a);
		re_node_free(b);
		re_fail(p, "out of memory");
		return NULL;
	}
	n->type = type;
	n->a = a;
	n->b = b;
	return n;
}

static int
is_word(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '_';
}

static int
re_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
set_bit(struct re_class *c, int b)
{
	c->bits[b >> 3] |= 1 << (b & 7);
}

static int
has_bit(const struct re_class *c, int b)
{
	return c->bits[b >> 3] & (1 << (b & 7));
}

static void
set_range(struct re_class *c, int lo, int hi)
{
	for (; lo <= hi; lo++)
		set_bit(c, lo);
}

/* The Perl classes \d \w \s and their complements; 0 if not one. */
static int
perl_class(int e, struct re_class *c)
{
	struct re_class	 t;
	size_t		 i;

	memset(&t, 0, sizeof(t));
	switch (e) {
	case 'd':
	case 'D':
		set_range(&t, '0', '9');
		break;
	case 'w':
	case 'W':
		set_range(&t, '0', '9');
		set_range(&t, 'A', 'Z');
		set_range(&t, 'a', 'z');
		set_bit(&t, '_');
		break;
	case 's':
	case 'S':
		set_bit(&t, '\t');
		set_bit(&t, '\n');
		set_bit(&t, '\f');
		set_bit(&t, '\r');
		set_bit(&t, ' ');
		break;
	default:
		return 0;
	}
	for (i = 0; i < sizeof(t.bits); i++)
		c->bits[i] |= e >= 'a' ? t.bits[i] : (uint8_t)~t.bits[i];
	return 1;
}

/* [:name:] inside brackets; 0 if the name is not one. */
static int
posix_class(const char *name, size_t len, struct re_class *c)
{
	static const struct {
		const char	*name;
		const char	*ranges;	/* pairs lo, hi */
	} table[] = {
		{ "alnum", "09AZaz" },
		{ "alpha", "AZaz" },
		{ "ascii", "\x01\x7f" },
		{ "blank", "\t\t  " },
		{ "cntrl", "\x01\x1f\x7f\x7f" },
		{ "digit", "09" },
		{ "graph", "!~" },
		{ "lower", "az" },
		{ "print", " ~" },
		{ "punct", "!/:@[`{~" },
		{ "space", "\t\r  " },
		{ "upper", "AZ" },
		{ "word", "09AZaz__" },
		{ "xdigit", "09AFaf" },
	};
	struct re_class	 t;
	size_t		 i, j;
	int		 neg = 0;

	if (len > 0 && name[0] == '^') {
		neg = 1;
		name++;
		len--;
	}
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strlen(table[i].name) != len ||
		    memcmp(table[i].name, name, len) != 0)
			continue;
		memset(&t, 0, sizeof(t));
		for (j = 0; table[i].ranges[j] != '\0'; j += 2)
			set_range(&t, (unsigned char)table[i].ranges[j],
			    (unsigned char)table[i].ranges[j + 1]);
		/* NUL is in cntrl and ascii; a C string cannot say it. */
		if (strcmp(table[i].name, "cntrl") == 0 ||
		    strcmp(table[i].name, "ascii") == 0)
			set_bit(&t, 0);
		for (j = 0; j < sizeof(t.bits); j++)
			c->bits[j] |= neg ? (uint8_t)~t.bits[j] : t.bits[j];
		return 1;
	}
	return 0;
}

static void
fold_case(struct re_class *c)
{
	int	 b;

	for (b = 'A'; b <= 'Z'; b++) {
		if (has_bit(c, b))
			set_bit(c, b + 'a' - 'A');
		if (has_bit(c, b + 'a' - 'A'))
			set_bit(c, b);
	}
}

/* A new class node for c (copied into the table). */
static struct re_node *
class_node(struct re_parser *p, const struct re_class *c)
{
	struct re_class	*nc;
	struct re_node	*n;

	/* One at most per byte of the pattern. */
	if (p->ncls >= FRE_LEN_MAX) {
		re_fail(p, "too many classes");
		return NULL;
	}
	if (p->ncls == p->clsroom) {
		if ((nc = reallocarray(p->cls, p->clsroom ? p->clsroom * 2 :
		    8, sizeof(*nc))) == NULL) {
			re_fail(p, "out of memory");
			return NULL;
		}
		p->cls = nc;
		p->clsroom = p->clsroom ? p->clsroom * 2 : 8;
	}
	p->cls[p->ncls] = *c;
	if ((n = re_node_new(p, R_CLASS, NULL, NULL)) == NULL)
		return NULL;
	n->arg = (int)p->ncls++;
	return n;
}

/* A literal byte, both cases of a letter under (?i). */
static struct re_node *
literal(struct re_parser *p, int b, int flags)
{
	struct re_class	 c;
	struct re_node	*n;

	if ((flags & F_I) && ((b >= 'a' && b <= 'z') ||
	    (b >= 'A' && b <= 'Z'))) {
		memset(&c, 0, sizeof(c));
		set_bit(&c, b);
		fold_case(&c);
		return class_node(p, &c);
	}
	if ((n = re_node_new(p, R_BYTE, NULL, NULL)) != NULL)
		n->arg = b;
	return n;
}

static struct re_node *
assertion(struct re_parser *p, enum re_assert a)
{
	struct re_node	*n;

	if ((n = re_node_new(p, R_ASSERT, NULL, NULL)) != NULL)
		n->arg = a;
	return n;
}

static struct re_node *
cat(struct re_parser *p, struct re_node *a, struct re_node *b)
{
	if (a == NULL || b == NULL) {
		re_node_free(a);
		re_node_free(b);
		return NULL;
	}
	if (a->type == R_EMPTY) {
		free(a);
		return b;
	}
	if (b->type == R_EMPTY) {
		free(b);
		return a;
	}
	return re_node_new(p, R_CAT, a, b);
}

/*
 * The code point of \x.. at p->off (past the x): \xHH or \x{H...}.
 * -1 after re_fail().
 */
static long
hex_escape(struct re_parser *p)
{
	long	 cp = 0;
	int	 h, i;

	if (p->off < p->len && p->s[p->off] == '{') {
		p->off++;
		for (i = 0; p->off < p->len && p->s[p->off] != '}'; i++) {
			h = re_hexval((unsigned char)p->s[p->off]);
			if (h == -1 || i == 8)
				goto bad;
			cp = cp * 16 + h;
			p->off++;
		}
		if (i == 0 || p->off >= p->len || cp > 0x10ffff)
			goto bad;
		p->off++;
		return cp;
	}
	for (i = 0; i < 2; i++) {
		if (p->off >= p->len ||
		    (h = re_hexval((unsigned char)p->s[p->off])) == -1)
			goto bad;
		cp = cp * 16 + h;
		p->off++;
	}
	return cp;
 bad:
	re_fail(p, "invalid escape sequence: \\x");
	return -1;
}

/*
 * An escape that stands for one byte, at p->off (past the backslash):
 * the byte, or -1 after re_fail().  Octal as Go has it: \0 and up to two
 * more digits, or 1-7 followed by at least one more (\1 alone would be
 * a backreference), at most \377.
 */
static long
byte_escape(struct re_parser *p, int in_class)
{
	int	 e = (unsigned char)p->s[p->off++];
	long	 v;
	int	 i;

	switch (e) {
	case 'a': return 7;
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'v': return '\v';
	case 'x':
		if ((v = hex_escape(p)) == -1)
			return -1;
		if (v > 0xff && in_class) {
			re_fail(p, "a character above \\xff in a class is not "
			    "supported");
			return -1;
		}
		return v;
	}
	if (e >= '0' && e <= '7') {
		if (e != '0' && (p->off >= p->len || p->s[p->off] < '0' ||
		    p->s[p->off] > '7'))
			goto bad;
		v = e - '0';
		for (i = 0; i < 2 && p->off < p->len && p->s[p->off] >= '0' &&
		    p->s[p->off] <= '7'; i++)
			v = v * 8 + (p->s[p->off++] - '0');
		if (v > 0xff)
			goto bad;
		return v;
	}
	if (e < 0x80 && !is_word(e))
		return e;		/* escaped punctuation */
 bad:
	re_fail(p, "invalid escape sequence: \\%c", e);
	return -1;
}

/* A code point as its UTF-8 bytes, one literal each. */
static struct re_node *
code_point(struct re_parser *p, long cp, int flags)
{
	struct re_node	*n;
	uint8_t		 b[4];
	int		 i, len;

	if (cp < 0x80)
		return literal(p, (int)cp, flags);
	if (cp < 0x800) {
		b[0] = 0xc0 | cp >> 6;
		len = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | cp >> 12;
		len = 3;
	} else {
		b[0] = 0xf0 | cp >> 18;
		len = 4;
	}
	for (i = 1; i < len; i++)
		b[i] = 0x80 | ((cp >> (6 * (len - 1 - i))) & 0x3f);
	if ((n = re_node_new(p, R_EMPTY, NULL, NULL)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		n = cat(p, n, literal(p, b[i], 0));
	return n;
}

/* [...] at p->off. */
static struct re_node *
parse_class(struct re_parser *p, int flags)
{
	struct re_class	 c;
	const char	*end;
	size_t		 i, start = p->off;
	long		 lo, hi;
	int		 neg = 0, first = 1;

	memset(&c, 0, sizeof(c));
	p->off++;
	if (p->off < p->len && p->s[p->off] == '^') {
		neg = 1;
		p->off++;
	}
	for (;;) {
		if (p->off >= p->len) {
			re_fail(p, "missing closing ]: %.*s",
			    (int)(p->len - start), p->s + start);
			return NULL;
		}
		if (p->s[p->off] == ']' && !first) {
			p->off++;
			break;
		}
		first = 0;
		if (p->s[p->off] == '[' && p->off + 1 < p->len &&
		    p->s[p->off + 1] == ':') {
			end = memmem(p->s + p->off + 2, p->len - p->off - 2,
			    ":]", 2);
			if (end == NULL || !posix_class(p->s + p->off + 2,
			    (size_t)(end - (p->s + p->off + 2)), &c)) {
				re_fail(p, "invalid character class range");
				return NULL;
			}
			p->off = (size_t)(end - p->s) + 2;
			continue;
		}
		if (p->s[p->off] == '\\') {
			if (++p->off >= p->len) {
				re_fail(p, "trailing backslash at end of "
				    "expression");
				return NULL;
			}
			if (perl_class((unsigned char)p->s[p->off], &c)) {
				p->off++;
				continue;
			}
			if ((lo = byte_escape(p, 1)) == -1)
				return NULL;
		} else
			lo = (unsigned char)p->s[p->off++];
		hi = lo;
		if (p->off + 1 < p->len && p->s[p->off] == '-' &&
		    p->s[p->off + 1] != ']') {
			p->off++;
			if (p->s[p->off] == '\\') {
				if (++p->off >= p->len) {
					re_fail(p, "trailing backslash at end "
					    "of expression");
					return NULL;
				}
				if ((hi = byte_escape(p, 1)) == -1)
					return NULL;
			} else
				hi = (unsigned char)p->s[p->off++];
			if (hi < lo) {
				re_fail(p, "invalid character class range");
				return NULL;
			}
		}
		set_range(&c, (int)lo, (int)hi);
	}
	if (flags & F_I)
		fold_case(&c);
	if (neg)
		for (i = 0; i < sizeof(c.bits); i++)
			c.bits[i] = ~c.bits[i];
	return class_node(p, &c);
}

/*
 * (?flags) or (?flags: at p->off (past "(?"): the new flags in *out; 1
 * if a group follows (':'), 0 if not, -1 after re_fail().
 */
static int
parse_flags(struct re_parser *p, int flags, int *out)
{
	int	 neg = 0, f, any = 0;

	for (; p->off < p->len; p->off++) {
		switch (p->s[p->off]) {
		case 'i': f = F_I; break;
		case 's': f = F_S; break;
		case 'm': f = F_M; break;
		case 'U': f = 0; break;		/* laziness: no matter */
		case '-':
			if (neg)
				goto bad;
			neg = 1;
			any = 0;
			continue;
		case ':':
		case ')':
			if (!any && (neg || p->s[p->off] == ')'))
				goto bad;
			*out = flags;
			return p->s[p->off++] == ':';
		default:
			goto bad;
		}
		any = 1;
		flags = neg ? flags & ~f : flags | f;
	}
 bad:
	re_fail(p, "invalid or unsupported Perl syntax");
	return -1;
}

/* (...) at p->off; *flags_only when it was (?i) and no group. */
static struct re_node *
parse_group(struct re_parser *p, int *flags, int *flags_only)
{
	struct re_node	*n;
	int		 inner = *flags, rc;

	*flags_only = 0;
	if (++p->depth > FRE_DEPTH_MAX) {
		re_fail(p, "groups nested deeper than %d", FRE_DEPTH_MAX);
		return NULL;
	}
	p->off++;
	if (p->off < p->len && p->s[p->off] == '?') {
		p->off++;
		if (p->off < p->len && (p->s[p->off] == 'P' ||
		    p->s[p->off] == '<')) {
			/* (?P<name>...) and (?<name>...): capture names. */
			if (p->s[p->off] == 'P')
				p->off++;
			if (p->off >= p->len || p->s[p->off] != '<')
				goto badname;
			for (p->off++; p->off < p->len &&
			    is_word((unsigned char)p->s[p->off]); p->off++)
				;
			if (p->off >= p->len || p->s[p->off] != '>' ||
			    p->s[p->off - 1] == '<')
				goto badname;
			p->off++;
		} else if ((rc = parse_flags(p, *flags, &inner)) == -1)
			return NULL;
		else if (rc == 0) {
			/* (?i): for the rest of the enclosing group. */
			*flags = inner;
			*flags_only = 1;
			p->depth--;
			return re_node_new(p, R_EMPTY, NULL, NULL);
		}
	}
	if ((n = parse_alt(p, &inner)) == NULL)
		return NULL;
	if (p->off >= p->len || p->s[p->off] != ')') {
		re_node_free(n);
		re_fail(p, "missing closing )");
		return NULL;
	}
	p->off++;
	p->depth--;
	return n;
 badname:
	re_fail(p, "invalid named capture");
	return NULL;
}

/* \Q...\E, at p->off past the Q: the text up to \E, as it is. */
static struct re_node *
quoted(struct re_parser *p, int flags)
{
	struct re_node	*n;

	if ((n = re_node_new(p, R_EMPTY, NULL, NULL)) == NULL)
		return NULL;
	for (; n != NULL && p->off < p->len; p->off++) {
		if (p->s[p->off] == '\\' && p->off + 1 < p->len &&
		    p->s[p->off + 1] == 'E') {
			p->off += 2;
			break;
		}
		n = cat(p, n, literal(p, (unsigned char)p->s[p->off], flags));
	}
	return n;
}

static struct re_node *
parse_atom(struct re_parser *p, int *flags, int *flags_only)
{
	struct re_class	 c;
	long		 v;
	int		 ch = (unsigned char)p->s[p->off];

	*flags_only = 0;
	switch (ch) {
	case '(':
		return parse_group(p, flags, flags_only);
	case '[':
		return parse_class(p, *flags);
	case '.':
		p->off++;
		memset(&c, 0xff, sizeof(c));
		if (!(*flags & F_S))
			c.bits['\n' >> 3] &= ~(1 << ('\n' & 7));
		return class_node(p, &c);
	case '^':
		p->off++;
		return assertion(p, *flags & F_M ? A_BOL : A_BOT);
	case '$':
		p->off++;
		return assertion(p, *flags & F_M ? A_EOL : A_EOT);
	case '*':
	case '+':
	case '?':
		re_fail(p, "missing argument to repetition operator: %c", ch);
		return NULL;
	case '\\':
		break;
	default:
		p->off++;
		return literal(p, ch, *flags);
	}
	if (++p->off >= p->len) {
		re_fail(p, "trailing backslash at end of expression");
		return NULL;
	}
	ch = (unsigned char)p->s[p->off];
	memset(&c, 0, sizeof(c));
	if (perl_class(ch, &c)) {
		p->off++;
		return class_node(p, &c);
	}
	switch (ch) {
	case 'A':
	case 'z':
	case 'b':
	case 'B':
		p->off++;
		return assertion(p, ch == 'A' ? A_BOT : ch == 'z' ? A_EOT :
		    ch == 'b' ? A_WORD : A_NOTWORD);
	case 'Q':
		p->off++;
		return quoted(p, *flags);
	case 'p':
	case 'P':
		re_fail(p, "Unicode classes are not supported");
		return NULL;
	}
	if ((v = byte_escape(p, 0)) == -1)
		return NULL;
	return code_point(p, v, *flags);
}

/* {n}, {n,} or {n,m} at p->off: 1 with the counts, 0 if not one. */
static int
parse_counts(struct re_parser *p, int *min, int *max)
{
	size_t	 off = p->off + 1;
	long	 lo = 0, hi;
	int	 digits = 0;

	for (; off < p->len && p->s[off] >= '0' && p->s[off] <= '9';
	    off++, digits++)
		if ((lo = lo * 10 + (p->s[off] - '0')) > 100000)
			lo = 100000;
	if (digits == 0 || off >= p->len)
		return 0;
	hi = lo;
	if (p->s[off] == ',') {
		off++;
		digits = 0;
		hi = 0;
		for (; off < p->len && p->s[off] >= '0' && p->s[off] <= '9';
		    off++, digits++)
			if ((hi = hi * 10 + (p->s[off] - '0')) > 100000)
				hi = 100000;
		if (digits == 0)
			hi = RE_INF;
	}
	if (off >= p->len || p->s[off] != '}')
		return 0;
	p->off = off + 1;
	*min = (int)lo;
	*max = (int)hi;
	return 1;
}

/* An atom and its repetitions. */
static struct re_node *
parse_repeat(struct re_parser *p, int *flags)
{
	struct re_node	*n, *r;
	size_t		 at;
	int		 min, max, flags_only, repeated = 0;

	if ((n = parse_atom(p, flags, &flags_only)) == NULL)
		return NULL;
	while (p->off < p->len) {
		at = p->off;
		switch (p->s[p->off]) {
		case '*':
			min = 0;
			max = RE_INF;
			p->off++;
			break;
		case '+':
			min = 1;
			max = RE_INF;
			p->off++;
			break;
		case '?':
			min = 0;
			max = 1;
			p->off++;
			break;
		case '{':
			if (!parse_counts(p, &min, &max))
				return n;	/* a literal '{' */
			if (min > RE_REPEAT_MAX || max > RE_REPEAT_MAX ||
			    (max != RE_INF && max < min)) {
				re_node_free(n);
				re_fail(p, "invalid repeat count: %.*s",
				    (int)(p->off - at), p->s + at);
				return NULL;
			}
			break;
		default:
			return n;
		}
		if (flags_only || repeated) {
			re_node_free(n);
			re_fail(p, flags_only ? "missing argument to "
			    "repetition operator: %.*s" : "invalid nested "
			    "repetition operator: %.*s", (int)(p->off - at),
			    p->s + at);
			return NULL;
		}
		/* Lazy or greedy: the same texts match. */
		if (p->off < p->len && p->s[p->off] == '?')
			p->off++;
		repeated = 1;
		/*
		 * Nothing to repeat, or no copy of it: the empty string.
		 * So that every node emits a state, and the work of
		 * emitting is bounded by the states: ((){999}){999} is
		 * not a million calls.
		 */
		if (n->type == R_EMPTY || max == 0) {
			re_node_free(n);
			if ((n = re_node_new(p, R_EMPTY, NULL, NULL)) == NULL)
				return NULL;
			continue;
		}
		if ((r = re_node_new(p, R_REPEAT, n, NULL)) == NULL)
			return NULL;
		r->min = min;
		r->max = max;
		n = r;
	}
	return n;
}

static struct re_node *
parse_concat(struct re_parser *p, int *flags)
{
	struct re_node	*n;

	if ((n = re_node_new(p, R_EMPTY, NULL, NULL)) == NULL)
		return NULL;
	while (n != NULL && p->off < p->len && p->s[p->off] != '|' &&
	    p->s[p->off] != ')')
		n = cat(p, n, parse_repeat(p, flags));
	return n;
}

static struct re_node *
parse_alt(struct re_parser *p, int *flags)
{
	struct re_node	*n, *b;

	if ((n = parse_concat(p, flags)) == NULL)
		return NULL;
	while (p->off < p->len && p->s[p->off] == '|') {
		p->off++;
		if ((b = parse_concat(p, flags)) == NULL) {
			re_node_free(n);
			return NULL;
		}
		if ((n = re_node_new(p, R_ALT, n, b)) == NULL)
			return NULL;
	}
	return n;
}

static size_t
sat_add(size_t a, size_t b)
{
	return a + b > FRE_PROG_MAX ? FRE_PROG_MAX + 1 : a + b;
}

/* States the tree compiles to, FRE_PROG_MAX + 1 when too many. */
static size_t
prog_size(const struct re_node *n)
{
	size_t	 s;

	switch (n->type) {
	case R_EMPTY:
		return 0;
	case R_BYTE:
	case R_CLASS:
	case R_ASSERT:
		return 1;
	case R_CAT:
		return sat_add(prog_size(n->a), prog_size(n->b));
	case R_ALT:
		return sat_add(sat_add(prog_size(n->a), prog_size(n->b)), 2);
	case R_REPEAT:
		s = prog_size(n->a);
		if (n->max == RE_INF)
			/* min - 1 copies and a plus, or a star. */
			return n->min == 0 ? sat_add(s, 2) :
			    sat_add((size_t)n->min * s, 1);
		return sat_add((size_t)n->min * s,
		    (size_t)(n->max - n->min) * (s + 1));
	}
	return FRE_PROG_MAX + 1;
}

static size_t
inst_add(struct fre *re, enum inst_op op, int arg)
{
	struct inst	*in = &re->prog[re->n];

	memset(in, 0, sizeof(*in));
	in->op = op;
	if (op == I_CLASS)
		in->x = (uint16_t)arg;
	else
		in->arg = (uint8_t)arg;
	return re->n++;
}

static void
emit(struct fre *re, const struct re_node *n)
{
	size_t	 l, j;
	int	 i;

	switch (n->type) {
	case R_EMPTY:
		break;
	case R_BYTE:
		inst_add(re, I_BYTE, n->arg);
		break;
	case R_CLASS:
		inst_add(re, I_CLASS, n->arg);
		break;
	case R_ASSERT:
		inst_add(re, I_ASSERT, n->arg);
		break;
	case R_CAT:
		emit(re, n->a);
		emit(re, n->b);
		break;
	case R_ALT:
		l = inst_add(re, I_SPLIT, 0);
		emit(re, n->a);
		j = inst_add(re, I_JMP, 0);
		re->prog[l].x = (uint16_t)(l + 1);
		re->prog[l].y = (uint16_t)re->n;
		emit(re, n->b);
		re->prog[j].x = (uint16_t)re->n;
		break;
	case R_REPEAT:
		if (n->max == RE_INF && n->min == 0) {
			l = inst_add(re, I_SPLIT, 0);
			emit(re, n->a);
			j = inst_add(re, I_JMP, 0);
			re->prog[j].x = (uint16_t)l;
			re->prog[l].x = (uint16_t)(l + 1);
			re->prog[l].y = (uint16_t)re->n;
			break;
		}
		for (i = 0; i < n->min - (n->max == RE_INF); i++)
			emit(re, n->a);
		if (n->max == RE_INF) {
			l = re->n;
			emit(re, n->a);
			j = inst_add(re, I_SPLIT, 0);
			re->prog[j].x = (uint16_t)l;
			re->prog[j].y = (uint16_t)re->n;
			break;
		}
		for (i = n->min; i < n->max; i++) {
			l = inst_add(re, I_SPLIT, 0);
			emit(re, n->a);
			re->prog[l].x = (uint16_t)(l + 1);
			re->prog[l].y = (uint16_t)re->n;
		}
		break;
	}
}

struct fre *
fre_compile(const char *pattern, char *err, size_t errlen)
{
	struct re_parser	 p;
	struct re_node		*root;
	struct fre		*re = NULL;
	size_t			 size;
	int			 flags = 0;

	memset(&p, 0, sizeof(p));
	p.s = pattern;
	p.len = strlen(pattern);
	p.err = err;
	p.errlen = errlen;
	if (p.len > FRE_LEN_MAX) {
		snprintf(err, errlen, "longer than %d bytes", FRE_LEN_MAX);
		return NULL;
	}
	if ((root = parse_alt(&p, &flags)) == NULL)
		goto done;
	if (p.off < p.len) {
		re_fail(&p, "unexpected )");
		goto done;
	}
	if ((size = prog_size(root)) >= FRE_PROG_MAX) {
		re_fail(&p, "more than %d states once its repetitions are "
		    "expanded", FRE_PROG_MAX);
		goto done;
	}
	if ((re = calloc(1, sizeof(*re))) == NULL ||
	    (re->prog = calloc(size + 1, sizeof(*re->prog))) == NULL) {
		fre_free(re);
		re = NULL;
		re_fail(&p, "out of memory");
		goto done;
	}
	emit(re, root);
	inst_add(re, I_MATCH, 0);
	re->cls = p.cls;
	re->ncls = p.ncls;
	p.cls = NULL;
 done:
	if (re == NULL && !p.failed)
		re_fail(&p, "out of memory");
	re_node_free(root);
	free(p.cls);
	return re;
}

void
fre_free(struct fre *re)
{
	if (re == NULL)
		return;
	free(re->prog);
	free(re->cls);
	free(re);
}

static int
assert_holds(int kind, const unsigned char *s, size_t len, size_t i)
{
	int	 before = i > 0 && is_word(s[i - 1]);
	int	 after = i < len && is_word(s[i]);

	switch (kind) {
	case A_BOT:
		return i == 0;
	case A_EOT:
		return i == len;
	case A_BOL:
		return i == 0 || s[i - 1] == '\n';
	case A_EOL:
		return i == len || s[i] == '\n';
	case A_WORD:
		return before != after;
	default:
		return before == after;
	}
}

struct vm {
	const struct fre	*re;
	const unsigned char	*s;
	size_t			 len;
	size_t			 gen;
	size_t			 mark[FRE_PROG_MAX];
	uint16_t		 stack[2 * FRE_PROG_MAX + 1];
};

/*
 * Add the state pc and those its empty moves reach, at text position i,
 * to list: each state once per step (gen), which also ends empty loops.
 * 1 if the match state is among them.
 */
static int
vm_add(struct vm *vm, uint16_t *list, size_t *n, uint16_t pc, size_t i)
{
	const struct inst	*in;
	size_t			 sp = 0;
	int			 matched = 0;

	/* A state pushes at most two, and only the first time: bounded. */
	vm->stack[sp++] = pc;
	while (sp > 0) {
		pc = vm->stack[--sp];
		if (vm->mark[pc] == vm->gen)
			continue;
		vm->mark[pc] = vm->gen;
		in = &vm->re->prog[pc];
		switch (in->op) {
		case I_JMP:
			vm->stack[sp++] = in->x;
			break;
		case I_SPLIT:
			vm->stack[sp++] = in->y;
			vm->stack[sp++] = in->x;
			break;
		case I_ASSERT:
			if (assert_holds(in->arg, vm->s, vm->len, i))
				vm->stack[sp++] = pc + 1;
			break;
		case I_MATCH:
			matched = 1;
			break;
		default:
			list[(*n)++] = pc;
			break;
		}
	}
	return matched;
}

int
fre_match(const struct fre *re, const char *text, size_t len,
    uint64_t *budget)
{
	struct vm		 vm;
	uint16_t		 lists[2][FRE_PROG_MAX], *cur, *next, *t;
	const struct inst	*in;
	size_t			 i, k, nc = 0, nn;
	int			 c;

	memset(&vm, 0, sizeof(vm));
	vm.re = re;
	vm.s = (const unsigned char *)text;
	vm.len = len;
	vm.gen = 1;
	cur = lists[0];
	next = lists[1];
	/* A search: a thread starts at every position. */
	if (vm_add(&vm, cur, &nc, 0, 0))
		return 1;
	for (i = 0; i < len; i++) {
		if (*budget < nc + 1)
			return -1;
		*budget -= nc + 1;
		c = vm.s[i];
		vm.gen++;
		nn = 0;
		for (k = 0; k < nc; k++) {
			in = &re->prog[cur[k]];
			if ((in->op == I_BYTE && in->arg == c) ||
			    (in->op == I_CLASS && has_bit(&re->cls[in->x], c)))
				if (vm_add(&vm, next, &nn, cur[k] + 1, i + 1))
					return 1;
		}
		if (vm_add(&vm, next, &nn, 0, i + 1))
			return 1;
		t = cur;
		cur = next;
		next = t;
		nc = nn;
	}
	return 0;
}
