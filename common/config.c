/*
 * Loading the agent configuration.  Files are YAML, which JSON nearly is:
 * libyaml's event parser reads both, and each event is matched against
 * the schema tables of config_keys.c as it arrives, so the struct fills
 * in one pass, merging over what earlier files and the defaults left
 * (scalars replace, lists append, maps merge).  Errors name the file and
 * line; the loader goes on to report more of them, up to a limit, and the
 * caller gives up on the whole configuration.
 *
 * config_pack() and config_unpack() walk the same tables: the parent
 * sends the finished struct to each child as one MessagePack map laid
 * out exactly like the tables, which the child checks key by key.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "check_proto.h"
#include "config.h"
#include "duration.h"
#include "log.h"
#include "mpack.h"

#define CONFIG_PATH_MAX	512	/* a key path in messages */
#define QUOTE_MAX	48	/* input bytes shown in a message */
#define QUOTE_BUFSIZE	(QUOTE_MAX * 4 + 4)
#define ERR_BUFSIZE	(QUOTE_BUFSIZE + 128)

/* The kinds of scalar a value can be. */
enum kind {
	K_NULL,
	K_BOOL,
	K_INT,
	K_FLOAT,
	K_STR,
	K_FLAG		/* from the command line: any type, by its text */
};

struct parse {
	yaml_parser_t	 yp;
	struct config	*cfg;
	const char	*name;
	char		 path[CONFIG_PATH_MAX];	/* key being parsed */
	size_t		 pathlen;
	int		 depth;
	int		 pending;	/* inside a pending key: quiet */
	int		 nerr;
	int		 fatal;		/* stop reading */
};

static void	 default_reporter(int, const char *);
static void	 report(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 parse_error(struct parse *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 warn_once(struct config *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 parse_mapping(struct parse *, const struct config_key *,
		    char *);
static int	 parse_value(struct parse *, const struct config_key *,
		    char *, yaml_event_t *);
static void	 free_table(const struct config_key *, char *);
static void	 apply_defaults(const struct config_key *, char *);
static int	 unpack_table(const struct config_key *, char *,
		    const msgpack_object *);

static void	(*reporter)(int, const char *) = default_reporter;

/*
 * Messages.
 */

static void
default_reporter(int warning, const char *msg)
{
	if (warning)
		log_warnx("%s", msg);
	else
		log_errorx("%s", msg);
}

void
config_set_reporter(void (*fn)(int, const char *))
{
	reporter = fn != NULL ? fn : default_reporter;
}

static void
report(int warning, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reporter(warning, msg);
}

/* Input text made printable and short, for quoting in a message. */
static const char *
quote(char *buf, const char *s, size_t len)
{
	size_t		 i, w = 0;
	unsigned char	 c;

	for (i = 0; i < len && i < QUOTE_MAX; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf[w++] = '\\';
			buf[w++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f)
			buf[w++] = (char)c;
		else
			w += (size_t)snprintf(buf + w, 5, "\\x%02x", c);
	}
	if (len > QUOTE_MAX) {
		memcpy(buf + w, "...", 3);
		w += 3;
	}
	buf[w] = '\0';
	return buf;
}

static void
parse_error(struct parse *p, size_t line, const char *fmt, ...)
{
	char	 msg[ERR_BUFSIZE + CONFIG_PATH_MAX];
	va_list	 ap;

	if (p->fatal)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(0, "%s:%zu: %s", p->name, line, msg);
	if (++p->nerr >= CONFIG_MAX_ERRORS) {
		report(0, "%s: too many errors", p->name);
		p->fatal = 1;
	}
}

/*
 * Memory.  Allocation failures end the process, as everywhere in the
 * daemons: every size here is bounded, so running out is not the input's
 * fault.
 */

static void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		fatal("config: calloc");
	return p;
}

static char *
xstrndup(const char *s, size_t len)
{
	char	*p;

	if ((p = strndup(s, len)) == NULL)
		fatal("config: strndup");
	return p;
}

static char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

static char *
xprintf(const char *fmt, ...)
{
	char	*s;
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r == -1)
		fatal("config: vasprintf");
	return s;
}

static void
set_str(char **sp, const char *s)
{
	free(*sp);
	*sp = s != NULL ? xstrdup(s) : NULL;
}

/* Remember a warning in cfg and give it only the first time. */
static void
warn_once(struct config *cfg, const char *fmt, ...)
{
	char	 msg[CONFIG_PATH_MAX + 128];
	char	**v;
	size_t	 i;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (i = 0; i < cfg->warned.n; i++) {
		if (strcmp(cfg->warned.v[i], msg) == 0)
			return;
	}
	v = reallocarray(cfg->warned.v, cfg->warned.n + 1, sizeof(*v));
	if (v == NULL)
		fatal("config: reallocarray");
	cfg->warned.v = v;
	cfg->warned.v[cfg->warned.n++] = xstrdup(msg);
	reporter(1, msg);
}

/*
 * Warnings about a key being used: deprecated names always, pending keys
 * unless an enclosing key was pending already.  List indices are left
 * out so that a key warns once however many services use it.
 */
static void
note_key(struct config *cfg, const char *path, const struct config_key *k,
    int inpending)
{
	char		 key[CONFIG_PATH_MAX];
	size_t		 w = 0;
	int		 skip = 0;

	for (; *path != '\0' && w < sizeof(key) - 1; path++) {
		if (*path == '[')
			skip = 1;
		else if (*path == ']')
			skip = 0;
		else if (!skip)
			key[w++] = *path;
	}
	key[w] = '\0';
	if (k->flags & CFG_DEPRECATED)
		warn_once(cfg, "config: key \"%s\" is deprecated, use \"%s\" "
		    "instead", key, k->alias);
	if ((k->flags & CFG_PENDING) && !inpending)
		warn_once(cfg, "config: key \"%s\" is accepted but not "
		    "implemented yet", key);
}

/*
 * The schema.
 */

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
ascii_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Consul's keys are snake_case, its API's are Pascal case and clients
 * send either; ignoring case and underscores makes one spelling of all
 * of them, Consul's own aliases (serviceid, scriptargs) included.
 */
int
config_key_match(const char *name, const char *s, size_t len)
{
	size_t	 i = 0;

	for (;;) {
		while (*name == '_')
			name++;
		while (i < len && s[i] == '_')
			i++;
		if (*name == '\0' || i == len)
			return *name == '\0' && i == len;
		if (ascii_lower(*name) != ascii_lower(s[i]))
			return 0;
		name++;
		i++;
	}
}

static const struct config_key *
lookup(const struct config_key *table, const char *s, size_t len)
{
	const struct config_key	*k;

	for (k = table; k->type != CONFIG_T_END; k++) {
		if (k->name != NULL && !(k->flags & CFG_INTERNAL) &&
		    config_key_match(k->name, s, len))
			return k;
	}
	return NULL;
}

/* A list or map element that is one value rather than a mapping. */
static int
elem_is_value(const struct config_key *k)
{
	return k->sub[0].name == NULL;
}

static char *
elem_array(const char *base, const struct config_key *k)
{
	char	*v;

	memcpy(&v, base + k->off, sizeof(v));
	return v;
}

static size_t *
elem_count(char *base, const struct config_key *k)
{
	return (size_t *)(base + k->noff);
}

static size_t
elem_max(const struct config_key *k)
{
	return k->type == CONFIG_T_MAP ? CONFIG_MAX_MAP : CONFIG_MAX_LIST;
}

static void
free_elem(const struct config_key *k, char *item)
{
	char	*key;

	if (k->type == CONFIG_T_MAP) {
		memcpy(&key, item, sizeof(key));
		free(key);
	}
	free_table(k->sub, item);
}

/*
 * A new element, zeroed and given its defaults, or NULL when the list is
 * full.  Arrays grow to the next power of two, so the capacity follows
 * from the count and needs no field of its own.
 */
static char *
elem_append(char *base, const struct config_key *k)
{
	size_t	*np = elem_count(base, k), n = *np;
	char	*v = elem_array(base, k), *item;

	if (n >= elem_max(k))
		return NULL;
	if ((n & (n - 1)) == 0) {
		if ((v = reallocarray(v, n == 0 ? 1 : n * 2, k->size)) == NULL)
			fatal("config: reallocarray");
		memcpy(base + k->off, &v, sizeof(v));
	}
	item = v + n * k->size;
	memset(item, 0, k->size);
	apply_defaults(k->sub, item);
	*np = n + 1;
	return item;
}

/* Drop the last element, one that failed to parse. */
static void
elem_pop(char *base, const struct config_key *k)
{
	size_t	*np = elem_count(base, k);

	free_elem(k, elem_array(base, k) + (*np - 1) * k->size);
	(*np)--;
}

static char *
map_find(char *base, const struct config_key *k, const char *key)
{
	char	*v = elem_array(base, k), *item, *ikey;
	size_t	 i, n = *elem_count(base, k);

	for (i = 0; i < n; i++) {
		item = v + i * k->size;
		memcpy(&ikey, item, sizeof(ikey));
		if (strcmp(ikey, key) == 0)
			return item;
	}
	return NULL;
}

static void
apply_defaults(const struct config_key *table, char *base)
{
	const struct config_key	*k;

	for (k = table; k->type != CONFIG_T_END; k++) {
		if (k->flags & CFG_ALIAS)
			continue;
		switch (k->type) {
		case CONFIG_T_STR:
			if (k->sdef != NULL)
				set_str((char **)(base + k->off), k->sdef);
			break;
		case CONFIG_T_BOOL:
		case CONFIG_T_INT:
		case CONFIG_T_LOGLEVEL:
			*(int *)(base + k->off) = (int)k->idef;
			break;
		case CONFIG_T_INT64:
		case CONFIG_T_DURATION:
			*(int64_t *)(base + k->off) = k->idef;
			break;
		case CONFIG_T_FLOAT:
			*(double *)(base + k->off) = k->fdef;
			break;
		case CONFIG_T_BLOCK:
			apply_defaults(k->sub, base + k->off);
			break;
		default:
			break;
		}
	}
}

static void
free_table(const struct config_key *table, char *base)
{
	const struct config_key	*k;
	struct config_raw	*raw;
	char			*v;
	size_t			 i, n;

	for (k = table; k->type != CONFIG_T_END; k++) {
		if (k->flags & CFG_ALIAS)
			continue;
		switch (k->type) {
		case CONFIG_T_STR:
			free(*(char **)(base + k->off));
			*(char **)(base + k->off) = NULL;
			break;
		case CONFIG_T_RAW:
			raw = (struct config_raw *)(base + k->off);
			free(raw->buf);
			raw->buf = NULL;
			raw->len = 0;
			break;
		case CONFIG_T_BLOCK:
			free_table(k->sub, base + k->off);
			break;
		case CONFIG_T_LIST:
		case CONFIG_T_MAP:
			v = elem_array(base, k);
			n = *elem_count(base, k);
			for (i = 0; i < n; i++)
				free_elem(k, v + i * k->size);
			free(v);
			v = NULL;
			memcpy(base + k->off, &v, sizeof(v));
			*elem_count(base, k) = 0;
			break;
		default:
			break;
		}
	}
}

/*
 * Scalars, from a file or a flag.
 */

/* [-+]?digits(.digits)?([eE][-+]?digits)?, with *isint if neither. */
static int
is_number(const char *s, size_t len, int *isint)
{
	size_t	 i = 0, digits = 0;
	int	 frac = 0, exp = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	for (; i < len && ascii_digit(s[i]); i++)
		digits++;
	if (i < len && s[i] == '.') {
		frac = 1;
		for (i++; i < len && ascii_digit(s[i]); i++)
			digits++;
	}
	if (digits == 0)
		return 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		exp = 1;
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		if (i == len || !ascii_digit(s[i]))
			return 0;
		while (i < len && ascii_digit(s[i]))
			i++;
	}
	if (i != len)
		return 0;
	*isint = !frac && !exp;
	return 1;
}

/* What a YAML scalar is: quoted ones are strings, plain ones by form. */
static enum kind
resolve(const yaml_event_t *ev)
{
	const char	*v = (const char *)ev->data.scalar.value;
	size_t		 len = ev->data.scalar.length;
	int		 isint;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return K_STR;
	if (len == 0 || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0)
		return K_NULL;
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "false") == 0)
		return K_BOOL;
	if (is_number(v, len, &isint))
		return isint ? K_INT : K_FLOAT;
	return K_STR;
}

static int
parse_int64(const char *s, size_t len, int64_t *out)
{
	char		*end;
	long long	 v;
	int		 isint;

	if (!is_number(s, len, &isint) || !isint)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end != s + len)
		return -1;
	*out = v;
	return 0;
}

/*
 * Go reads every JSON number as a float64 and Consul takes 8500.0 for
 * 8500; so do we, when the number is whole.
 */
static int
float_int(const char *v, int64_t *out)
{
	double	 d = strtod(v, NULL);

	if (!(d > -9.2e18 && d < 9.2e18) || (double)(int64_t)d != d)
		return -1;
	*out = (int64_t)d;
	return 0;
}

static const char *
type_name(const struct config_key *k)
{
	switch (k->type) {
	case CONFIG_T_STR:
		return "a string";
	case CONFIG_T_BOOL:
		return "a boolean";
	case CONFIG_T_INT:
	case CONFIG_T_INT64:
		return "an integer";
	case CONFIG_T_FLOAT:
		return "a number";
	case CONFIG_T_DURATION:
		return (k->flags & CFG_NUMDUR) ? "a duration" :
		    "a duration string such as \"10s\"";
	case CONFIG_T_LOGLEVEL:
		return "a log level";
	case CONFIG_T_LIST:
		return "a list";
	default:
		return "a mapping";
	}
}

/* "got ..." for a wrong value: numbers bare, text quoted, secrets not. */
static const char *
shown(char *buf, const struct config_key *k, const char *v, size_t len,
    enum kind kind)
{
	char	 q[QUOTE_BUFSIZE];

	if (k->flags & CFG_SECRET)
		return "<hidden>";
	if (kind == K_STR || kind == K_FLAG)
		snprintf(buf, QUOTE_BUFSIZE + 2, "\"%s\"", quote(q, v, len));
	else
		quote(buf, v, len);
	return buf;
}

/*
 * Store the scalar v (len bytes, NUL-terminated) of the given kind into
 * key k at base, replacing what was there.  On error write why to err.
 */
static int
set_scalar(const struct config_key *k, char *base, const char *v,
    size_t len, enum kind kind, char *err, size_t errlen)
{
	char		 buf[QUOTE_BUFSIZE + 2];
	void		*dst = base + k->off;
	int64_t		 i = 0;
	enum log_level	 level;
	int		 isint;

	switch (k->type) {
	case CONFIG_T_STR:
		if (kind != K_STR && kind != K_FLAG)
			goto type;
		if (strlen(v) != len) {
			snprintf(err, errlen, "a string with a NUL byte");
			return -1;
		}
		set_str(dst, v);
		return 0;
	case CONFIG_T_BOOL:
		if (kind == K_BOOL || (kind == K_FLAG &&
		    (strcasecmp(v, "true") == 0 ||
		    strcasecmp(v, "false") == 0)))
			*(int *)dst = strcasecmp(v, "true") == 0;
		else if (kind == K_FLAG && (strcmp(v, "1") == 0 ||
		    strcmp(v, "0") == 0))
			*(int *)dst = v[0] == '1';
		else
			goto type;
		return 0;
	case CONFIG_T_INT:
	case CONFIG_T_INT64:
		if (kind == K_FLOAT && float_int(v, &i) == 0)
			kind = K_INT;
		else if ((kind != K_INT && kind != K_FLAG) ||
		    !is_number(v, len, &isint) || !isint)
			goto type;
		else if (parse_int64(v, len, &i) == -1) {
			snprintf(err, errlen, "%s is out of range",
			    shown(buf, k, v, len, K_INT));
			return -1;
		}
		if ((k->type == CONFIG_T_INT && (i < INT_MIN || i > INT_MAX)) ||
		    ((k->min != 0 || k->max != 0) && (i < k->min ||
		    i > k->max))) {
			if (k->min != 0 || k->max != 0)
				snprintf(err, errlen, "%s is out of range "
				    "%lld..%lld", shown(buf, k, v, len, K_INT),
				    (long long)k->min, (long long)k->max);
			else
				snprintf(err, errlen, "%s is out of range",
				    shown(buf, k, v, len, K_INT));
			return -1;
		}
		if (k->type == CONFIG_T_INT)
			*(int *)dst = (int)i;
		else
			*(int64_t *)dst = i;
		return 0;
	case CONFIG_T_FLOAT:
		if ((kind != K_INT && kind != K_FLOAT && kind != K_FLAG) ||
		    !is_number(v, len, &isint))
			goto type;
		*(double *)dst = strtod(v, NULL);
		if (!isfinite(*(double *)dst)) {
			snprintf(err, errlen, "%s is out of range",
			    shown(buf, k, v, len, K_FLOAT));
			return -1;
		}
		return 0;
	case CONFIG_T_DURATION:
		if (kind == K_INT && (k->flags & CFG_NUMDUR)) {
			if (parse_int64(v, len, &i) == -1 || i < 0) {
				snprintf(err, errlen, "%s duration %s",
				    i < 0 ? "negative" : "invalid",
				    shown(buf, k, v, len, K_INT));
				return -1;
			}
			*(int64_t *)dst = i;
			return 0;
		}
		if (kind != K_STR && kind != K_FLAG)
			goto type;
		if (strlen(v) != len || duration_parse(v, &i) == -1) {
			snprintf(err, errlen, "invalid duration %s",
			    shown(buf, k, v, len, K_STR));
			return -1;
		}
		if (i < 0) {
			snprintf(err, errlen, "negative duration %s",
			    shown(buf, k, v, len, K_STR));
			return -1;
		}
		*(int64_t *)dst = i;
		return 0;
	case CONFIG_T_LOGLEVEL:
		if (kind != K_STR && kind != K_FLAG)
			goto type;
		if (strlen(v) != len || log_parse_level(v, &level) == -1) {
			snprintf(err, errlen, "invalid log level %s",
			    shown(buf, k, v, len, K_STR));
			return -1;
		}
		*(int *)dst = (int)level;
		return 0;
	default:
		break;
	}
type:
	snprintf(err, errlen, "expected %s, got %s", type_name(k),
	    shown(buf, k, v, len, kind));
	return -1;
}

/*
 * Reading YAML events.
 */

static void
syntax_error(struct parse *p)
{
	yaml_parser_t	*yp = &p->yp;
	size_t		 line;

	if (yp->error == YAML_READER_ERROR || yp->error == YAML_MEMORY_ERROR)
		line = yp->mark.line + 1;
	else
		line = yp->problem_mark.line + 1;
	if (yp->context != NULL)
		report(0, "%s:%zu: %s %s", p->name, line,
		    yp->problem != NULL ? yp->problem : "syntax error",
		    yp->context);
	else
		report(0, "%s:%zu: %s", p->name, line,
		    yp->problem != NULL ? yp->problem : "syntax error");
}

/* The next event; keeps count of the nesting, which it bounds. */
static int
next(struct parse *p, yaml_event_t *ev)
{
	if (p->fatal)
		return -1;
	if (!yaml_parser_parse(&p->yp, ev)) {
		syntax_error(p);
		p->nerr++;
		p->fatal = 1;
		return -1;
	}
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		if (++p->depth > CONFIG_MAX_DEPTH) {
			report(0, "%s:%zu: nested more than %d levels deep",
			    p->name, ev->start_mark.line + 1,
			    CONFIG_MAX_DEPTH);
			yaml_event_delete(ev);
			p->nerr++;
			p->fatal = 1;
			return -1;
		}
		break;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		p->depth--;
		break;
	default:
		break;
	}
	return 0;
}

static int
is_start(const yaml_event_t *ev)
{
	return ev->type == YAML_MAPPING_START_EVENT ||
	    ev->type == YAML_SEQUENCE_START_EVENT;
}

static int
is_null(const yaml_event_t *ev)
{
	return ev->type == YAML_SCALAR_EVENT && resolve(ev) == K_NULL;
}

/* Read on until the nesting is back at depth. */
static int
resync(struct parse *p, int depth)
{
	yaml_event_t	 ev;

	while (p->depth > depth) {
		if (next(p, &ev) == -1)
			return -1;
		yaml_event_delete(&ev);
	}
	return p->fatal ? -1 : 0;
}

/* Pass over the value that starts with ev. */
static int
skip(struct parse *p, yaml_event_t *ev)
{
	int	 depth = p->depth - (is_start(ev) ? 1 : 0);

	yaml_event_delete(ev);
	return resync(p, depth);
}

static size_t
path_push(struct parse *p, const char *fmt, ...)
{
	size_t	 old = p->pathlen, room = sizeof(p->path) - old;
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(p->path + old, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		p->pathlen = sizeof(p->path) - 1;
	else
		p->pathlen = old + (size_t)n;
	return old;
}

static void
path_pop(struct parse *p, size_t old)
{
	p->pathlen = old;
	p->path[old] = '\0';
}

static const char *
shape(char *buf, const struct config_key *k, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_SCALAR_EVENT:
		return shown(buf, k, (const char *)ev->data.scalar.value,
		    ev->data.scalar.length, resolve(ev));
	default:
		return "an alias";
	}
}

/* Consul's limits on node and service meta: the first broken one. */
static int
meta_error(const struct config_strmap *m, char *err, size_t errlen)
{
	char		 q[QUOTE_BUFSIZE];
	const char	*key, *s;
	size_t		 i;

	if (m->n > 64) {
		snprintf(err, errlen, "more than 64 meta entries");
		return -1;
	}
	for (i = 0; i < m->n; i++) {
		key = m->v[i].key;
		for (s = key; *s != '\0'; s++) {
			if (!ascii_digit(*s) && *s != '_' && *s != '-' &&
			    !(ascii_lower(*s) >= 'a' && ascii_lower(*s) <= 'z'))
				break;
		}
		quote(q, key, strlen(key));
		if (*key == '\0' || *s != '\0' || strlen(key) > 128) {
			snprintf(err, errlen, "invalid meta key \"%s\": use "
			    "up to 128 letters, digits, '-' and '_'", q);
			return -1;
		}
		if (strncmp(key, "consul-", 7) == 0) {
			snprintf(err, errlen, "meta key \"%s\": the prefix "
			    "'consul-' is reserved for internal use", q);
			return -1;
		}
		if (strlen(m->v[i].val) > 512) {
			snprintf(err, errlen, "meta value for \"%s\" is "
			    "longer than 512 bytes", q);
			return -1;
		}
	}
	return 0;
}

/* Consul's rules for one check, those that need no other key. */
static void
validate_check(struct parse *p, size_t line, const struct config_check *c,
    int standalone)
{
	char	 q[QUOTE_BUFSIZE];
	size_t	 i;
	int	 timed, alias;

	timed = c->args.n > 0 || c->script != NULL || c->http != NULL ||
	    c->tcp != NULL || c->udp != NULL || c->grpc != NULL ||
	    c->h2ping != NULL || c->os_service != NULL ||
	    c->docker_container_id != NULL;
	alias = c->alias_node != NULL || c->alias_service != NULL;

	if (standalone && c->name == NULL)
		parse_error(p, line, "%s: missing check name", p->path);
	if (c->status != NULL && strcmp(c->status, "passing") != 0 &&
	    strcmp(c->status, "warning") != 0 &&
	    strcmp(c->status, "critical") != 0)
		parse_error(p, line, "%s: status must be passing, warning or "
		    "critical, not \"%s\"", p->path,
		    quote(q, c->status, strlen(c->status)));
	/* What the agent passes to the process that runs scripts. */
	if (c->args.n > SCRIPT_ARGS_MAX)
		parse_error(p, line, "%s: args: more than %d arguments",
		    p->path, SCRIPT_ARGS_MAX);
	for (i = 0; i < c->args.n; i++)
		if (strlen(c->args.v[i]) > SCRIPT_ARG_MAX)
			parse_error(p, line, "%s: args: an argument is longer "
			    "than %d bytes", p->path, SCRIPT_ARG_MAX);
	if (c->script != NULL && strlen(c->script) > SCRIPT_ARG_MAX)
		parse_error(p, line, "%s: script: longer than %d bytes",
		    p->path, SCRIPT_ARG_MAX);
	if (c->interval > 0 && c->ttl > 0)
		parse_error(p, line, "%s: Interval and TTL cannot both be "
		    "specified", p->path);
	else if (timed && c->interval <= 0)
		parse_error(p, line, "%s: Interval must be > 0 for Script, "
		    "HTTP, H2PING, TCP, UDP or GRPC checks", p->path);
	else if (timed && alias)
		parse_error(p, line, "%s: Interval cannot be set for Alias "
		    "checks", p->path);
	else if (alias && c->ttl > 0)
		parse_error(p, line, "%s: TTL must be not be set for Alias "
		    "checks", p->path);
	else if (!timed && !alias && c->ttl <= 0)
		parse_error(p, line, "%s: TTL must be > 0 for TTL checks",
		    p->path);
}

/* Checks on a whole service or check once its mapping is read. */
static void
validate_elem(struct parse *p, size_t line, const struct config_key *k,
    char *base, char *item)
{
	const struct config_service	*s;
	char				 err[ERR_BUFSIZE];

	if (k->sub == config_service_keys) {
		s = (const struct config_service *)item;
		if (s->name == NULL)
			parse_error(p, line, "%s: missing service name",
			    p->path);
		if (meta_error(&s->meta, err, sizeof(err)) == -1)
			parse_error(p, line, "%s: %s", p->path, err);
	} else if (k->sub == config_check_keys)
		validate_check(p, line, (const struct config_check *)item,
		    base == (char *)p->cfg);
}

/* One element of a list (index idx, or -1 for a lone mapping). */
static int
parse_elem(struct parse *p, const struct config_key *k, char *base,
    yaml_event_t *ev, long idx)
{
	char	 buf[QUOTE_BUFSIZE + 2];
	char	*item;
	size_t	 old, line = ev->start_mark.line + 1;
	int	 nerr = p->nerr;

	old = idx >= 0 ? path_push(p, "[%ld]", idx) : p->pathlen;
	if (is_null(ev) && elem_is_value(k)) {
		parse_error(p, line, "key \"%s\": expected %s, got null",
		    p->path, type_name(&k->sub[0]));
		yaml_event_delete(ev);
	} else if (!elem_is_value(k) && ev->type != YAML_MAPPING_START_EVENT &&
	    !is_null(ev)) {
		parse_error(p, line, "key \"%s\": expected a mapping, got %s",
		    p->path, shape(buf, k, ev));
		skip(p, ev);
	} else if ((item = elem_append(base, k)) == NULL) {
		parse_error(p, line, "key \"%s\": more than %zu items",
		    p->path, elem_max(k));
		p->fatal = 1;
		yaml_event_delete(ev);
	} else {
		if (elem_is_value(k))
			parse_value(p, &k->sub[0], item, ev);
		else {
			if (ev->type == YAML_MAPPING_START_EVENT) {
				yaml_event_delete(ev);
				parse_mapping(p, k->sub, item);
			} else
				yaml_event_delete(ev);
			/* Rules on the whole make sense if its keys did. */
			if (p->nerr == nerr)
				validate_elem(p, line, k, base, item);
		}
		if (p->nerr != nerr)
			elem_pop(base, k);
	}
	path_pop(p, old);
	return p->fatal ? -1 : 0;
}

static int
parse_list(struct parse *p, const struct config_key *k, char *base)
{
	yaml_event_t	 ev;
	long		 i;

	for (i = 0;; i++) {
		if (next(p, &ev) == -1)
			return -1;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (parse_elem(p, k, base, &ev, i) == -1)
			return -1;
	}
}

static int
parse_map(struct parse *p, const struct config_key *k, char *base)
{
	yaml_event_t	 kev, vev;
	char		 q[QUOTE_BUFSIZE], buf[QUOTE_BUFSIZE + 2];
	char		*item;
	size_t		 old, line, keylen;
	int		 nerr, isnew;

	for (;;) {
		if (next(p, &kev) == -1)
			return -1;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return 0;
		}
		line = kev.start_mark.line + 1;
		if (kev.type != YAML_SCALAR_EVENT ||
		    strlen((char *)kev.data.scalar.value) !=
		    kev.data.scalar.length) {
			parse_error(p, line, "key \"%s\": map keys must be "
			    "strings", p->path);
			if (skip(p, &kev) == -1 || next(p, &vev) == -1 ||
			    skip(p, &vev) == -1)
				return -1;
			continue;
		}
		keylen = kev.data.scalar.length;
		old = path_push(p, ".%s",
		    quote(q, (char *)kev.data.scalar.value, keylen));
		if (next(p, &vev) == -1) {
			yaml_event_delete(&kev);
			return -1;
		}
		nerr = p->nerr;
		item = map_find(base, k, (char *)kev.data.scalar.value);
		isnew = item == NULL;
		if (!elem_is_value(k) && !is_null(&vev) &&
		    vev.type != YAML_MAPPING_START_EVENT) {
			parse_error(p, line, "key \"%s\": expected a mapping, "
			    "got %s", p->path, shape(buf, k, &vev));
			skip(p, &vev);
		} else if (elem_is_value(k) && is_null(&vev)) {
			parse_error(p, line, "key \"%s\": expected %s, got "
			    "null", p->path, type_name(&k->sub[0]));
			yaml_event_delete(&vev);
		} else if (isnew && (item = elem_append(base, k)) == NULL) {
			parse_error(p, line, "key \"%s\": more than %zu "
			    "entries", p->path, elem_max(k));
			p->fatal = 1;
			yaml_event_delete(&vev);
		} else {
			if (isnew) {
				char	*key = xstrndup(
				    (char *)kev.data.scalar.value, keylen);

				memcpy(item, &key, sizeof(key));
			}
			if (elem_is_value(k))
				parse_value(p, &k->sub[0], item, &vev);
			else if (vev.type == YAML_MAPPING_START_EVENT) {
				yaml_event_delete(&vev);
				parse_mapping(p, k->sub, item);
			} else
				yaml_event_delete(&vev);
			if (isnew && p->nerr != nerr)
				elem_pop(base, k);
		}
		yaml_event_delete(&kev);
		path_pop(p, old);
		if (p->fatal)
			return -1;
	}
}

/* A plain scalar in a raw value keeps the type its form gives it. */
static void
raw_scalar(const yaml_event_t *ev, msgpack_packer *pk)
{
	const char	*v = (const char *)ev->data.scalar.value;
	size_t		 len = ev->data.scalar.length;
	int64_t		 i;

	switch (resolve(ev)) {
	case K_NULL:
		msgpack_pack_nil(pk);
		return;
	case K_BOOL:
		if (strcasecmp(v, "true") == 0)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		return;
	case K_INT:
		if (parse_int64(v, len, &i) == 0) {
			msgpack_pack_int64(pk, i);
			return;
		}
		break;
	case K_FLOAT:
		msgpack_pack_double(pk, strtod(v, NULL));
		return;
	default:
		break;
	}
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, v, len);
}

/*
 * Any value as MessagePack.  A container's count comes before its items
 * but is known only after them, so each container is built in a buffer
 * of its own and copied into its parent's.
 */
static int
raw_value(struct parse *p, yaml_event_t *ev, msgpack_packer *pk)
{
	struct mpack_out	 sub;
	yaml_event_t		 e;
	size_t			 n = 0, line = ev->start_mark.line + 1;
	int			 map, r = 0;

	if (ev->type == YAML_SCALAR_EVENT) {
		raw_scalar(ev, pk);
		yaml_event_delete(ev);
		return 0;
	}
	if (!is_start(ev)) {
		parse_error(p, line, "key \"%s\": YAML aliases are not "
		    "supported", p->path);
		yaml_event_delete(ev);
		return -1;
	}
	map = ev->type == YAML_MAPPING_START_EVENT;
	yaml_event_delete(ev);
	mpack_out_init(&sub);
	for (;;) {
		if (next(p, &e) == -1) {
			r = -1;
			break;
		}
		line = e.start_mark.line + 1;
		if (e.type == YAML_SEQUENCE_END_EVENT ||
		    e.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&e);
			break;
		}
		if (n == CONFIG_MAX_LIST) {
			parse_error(p, line, "key \"%s\": more than %d items",
			    p->path, CONFIG_MAX_LIST);
			yaml_event_delete(&e);
			r = -1;
			break;
		}
		if (map) {
			if (e.type != YAML_SCALAR_EVENT) {
				parse_error(p, line, "key \"%s\": map keys "
				    "must be strings", p->path);
				yaml_event_delete(&e);
				r = -1;
				break;
			}
			msgpack_pack_str(&sub.pk, e.data.scalar.length);
			msgpack_pack_str_body(&sub.pk, e.data.scalar.value,
			    e.data.scalar.length);
			yaml_event_delete(&e);
			if (next(p, &e) == -1) {
				r = -1;
				break;
			}
		}
		if (raw_value(p, &e, &sub.pk) == -1) {
			r = -1;
			break;
		}
		n++;
	}
	if (r == 0) {
		if (map)
			msgpack_pack_map(pk, n);
		else
			msgpack_pack_array(pk, n);
		if (sub.sbuf.size > 0)
			pk->callback(pk->data, sub.sbuf.data, sub.sbuf.size);
	}
	mpack_out_free(&sub);
	return r;
}

static int
parse_raw(struct parse *p, const struct config_key *k, char *base,
    yaml_event_t *ev)
{
	struct config_raw	*raw = (struct config_raw *)(base + k->off);
	struct mpack_out	 out;
	int			 depth = p->depth - (is_start(ev) ? 1 : 0);

	mpack_out_init(&out);
	if (raw_value(p, ev, &out.pk) == -1) {
		mpack_out_free(&out);
		return resync(p, depth);
	}
	free(raw->buf);
	raw->len = out.sbuf.size;
	raw->buf = msgpack_sbuffer_release(&out.sbuf);
	mpack_out_free(&out);
	return 0;
}

/* The value of key k, which starts with ev. */
static int
parse_value(struct parse *p, const struct config_key *k, char *base,
    yaml_event_t *ev)
{
	char	 err[ERR_BUFSIZE], buf[QUOTE_BUFSIZE + 2];
	size_t	 line = ev->start_mark.line + 1;

	if (ev->type == YAML_ALIAS_EVENT) {
		parse_error(p, line, "key \"%s\": YAML aliases are not "
		    "supported", p->path);
		yaml_event_delete(ev);
		return p->fatal ? -1 : 0;
	}
	/* A null leaves the key as it was, as in Consul. */
	if (is_null(ev)) {
		yaml_event_delete(ev);
		return 0;
	}
	switch (k->type) {
	case CONFIG_T_BLOCK:
		if (ev->type == YAML_MAPPING_START_EVENT) {
			yaml_event_delete(ev);
			return parse_mapping(p, k->sub, base + k->off);
		}
		/* HCL's blocks are lists: Consul takes those in JSON too. */
		if (ev->type == YAML_SEQUENCE_START_EVENT) {
			yaml_event_delete(ev);
			for (;;) {
				if (next(p, ev) == -1)
					return -1;
				if (ev->type == YAML_SEQUENCE_END_EVENT) {
					yaml_event_delete(ev);
					return 0;
				}
				if (parse_value(p, k, base, ev) == -1)
					return -1;
			}
		}
		break;
	case CONFIG_T_LIST:
		if (ev->type == YAML_SEQUENCE_START_EVENT) {
			yaml_event_delete(ev);
			return parse_list(p, k, base);
		}
		/* "service": {...} is a list of one. */
		if (ev->type == YAML_MAPPING_START_EVENT && !elem_is_value(k))
			return parse_elem(p, k, base, ev, -1);
		break;
	case CONFIG_T_MAP:
		if (ev->type == YAML_MAPPING_START_EVENT) {
			yaml_event_delete(ev);
			return parse_map(p, k, base);
		}
		break;
	case CONFIG_T_RAW:
		return parse_raw(p, k, base, ev);
	default:
		if (ev->type != YAML_SCALAR_EVENT)
			break;
		if (set_scalar(k, base, (const char *)ev->data.scalar.value,
		    ev->data.scalar.length, resolve(ev), err,
		    sizeof(err)) == -1)
			parse_error(p, line, "key \"%s\": %s", p->path, err);
		yaml_event_delete(ev);
		return p->fatal ? -1 : 0;
	}
	parse_error(p, line, "key \"%s\": expected %s, got %s", p->path,
	    type_name(k), shape(buf, k, ev));
	return skip(p, ev);
}

/* The keys of a mapping whose start event has been read. */
static int
parse_mapping(struct parse *p, const struct config_key *table, char *base)
{
	const struct config_key	*k;
	yaml_event_t		 kev, vev;
	char			 q[QUOTE_BUFSIZE];
	size_t			 old, line;
	int			 r;

	for (;;) {
		if (next(p, &kev) == -1)
			return -1;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return 0;
		}
		line = kev.start_mark.line + 1;
		if (kev.type != YAML_SCALAR_EVENT) {
			parse_error(p, line, "%s%skeys must be strings",
			    p->path, p->pathlen > 0 ? ": " : "");
			if (skip(p, &kev) == -1 || next(p, &vev) == -1 ||
			    skip(p, &vev) == -1)
				return -1;
			continue;
		}
		k = lookup(table, (const char *)kev.data.scalar.value,
		    kev.data.scalar.length);
		if (k == NULL) {
			parse_error(p, line, "unknown key \"%s%s%s\"", p->path,
			    p->pathlen > 0 ? "." : "",
			    quote(q, (const char *)kev.data.scalar.value,
			    kev.data.scalar.length));
			yaml_event_delete(&kev);
			if (next(p, &vev) == -1 || skip(p, &vev) == -1)
				return -1;
			continue;
		}
		yaml_event_delete(&kev);
		old = path_push(p, p->pathlen > 0 ? ".%s" : "%s", k->name);
		note_key(p->cfg, p->path, k, p->pending);
		if (k->flags & CFG_PENDING)
			p->pending++;
		r = next(p, &vev);
		if (r == 0)
			r = parse_value(p, k, base, &vev);
		if (k->flags & CFG_PENDING)
			p->pending--;
		path_pop(p, old);
		if (r == -1 || p->fatal)
			return -1;
	}
}

/*
 * libyaml reads JSON as YAML but for two things: a tab where a token may
 * start outside any bracket (before the first "{", on a trailing line)
 * is an error in YAML, and YAML has no UTF-16 surrogate escapes.  When
 * the text looks like JSON, a copy is made with tabs outside strings
 * turned into spaces and "\ud83d\ude00" pairs into "\U0001f600", which
 * is shorter, so the copy never grows.  Single-quoted strings, which
 * JSON lacks, are left alone in case the text is YAML in flow style.
 * NULL when it is not JSON.
 */
static int
hex4(const char *s, unsigned int *v)
{
	int	 i;
	char	 c;

	*v = 0;
	for (i = 0; i < 4; i++) {
		c = ascii_lower(s[i]);
		if (ascii_digit(c))
			*v = *v * 16 + (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v = *v * 16 + (unsigned int)(c - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

static char *
json_fixup(const char *buf, size_t len, size_t *outlen)
{
	char		*out;
	size_t		 i = 0, w = 0;
	unsigned int	 hi, lo;
	char		 inq = 0;	/* the quote of the string we are in */

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
	    buf[i] == '\n'))
		i++;
	if (i == len || buf[i] != '{')
		return NULL;
	if ((out = malloc(len)) == NULL)
		fatal("config: malloc");
	for (i = 0; i < len; i++) {
		if (inq == 0) {
			if (buf[i] == '"' || buf[i] == '\'')
				inq = buf[i];
			out[w++] = buf[i] == '\t' ? ' ' : buf[i];
		} else if (buf[i] == inq) {
			inq = 0;
			out[w++] = buf[i];
		} else if (inq == '"' && buf[i] == '\\' && i + 1 < len) {
			if (buf[i + 1] == 'u' && len - i >= 12 &&
			    hex4(buf + i + 2, &hi) == 0 &&
			    hi >= 0xd800 && hi <= 0xdbff &&
			    buf[i + 6] == '\\' && buf[i + 7] == 'u' &&
			    hex4(buf + i + 8, &lo) == 0 &&
			    lo >= 0xdc00 && lo <= 0xdfff) {
				w += (size_t)snprintf(out + w, 11, "\\U%08x",
				    0x10000 + ((hi - 0xd800) << 10) +
				    (lo - 0xdc00));
				i += 11;
			} else {
				out[w++] = buf[i++];
				out[w++] = buf[i];
			}
		} else
			out[w++] = buf[i];
	}
	*outlen = w;
	return out;
}

/*
 * Loading.
 */

int
config_load_buffer(struct config *cfg, const char *name, const char *buf,
    size_t len)
{
	struct parse	 p;
	yaml_event_t	 ev;
	char		*fixed;
	size_t		 fixedlen, line;

	if (name == NULL)
		name = "config";
	if (buf == NULL)
		buf = "";
	if (len > CONFIG_MAX_FILE) {
		report(0, "%s: larger than %d bytes", name, CONFIG_MAX_FILE);
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.name = name;
	if (!yaml_parser_initialize(&p.yp))
		fatalx("config: yaml_parser_initialize");
	if ((fixed = json_fixup(buf, len, &fixedlen)) != NULL)
		yaml_parser_set_input_string(&p.yp,
		    (const unsigned char *)fixed, fixedlen);
	else
		yaml_parser_set_input_string(&p.yp,
		    (const unsigned char *)buf, len);

	/* Stream start, then a document or nothing at all. */
	if (next(&p, &ev) == -1)
		goto done;
	yaml_event_delete(&ev);
	if (next(&p, &ev) == -1)
		goto done;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		goto done;
	}
	yaml_event_delete(&ev);

	if (next(&p, &ev) == -1)
		goto done;
	line = ev.start_mark.line + 1;
	if (ev.type == YAML_MAPPING_START_EVENT) {
		yaml_event_delete(&ev);
		if (parse_mapping(&p, config_keys, (char *)cfg) == -1)
			goto done;
	} else if (is_null(&ev))
		yaml_event_delete(&ev);
	else {
		parse_error(&p, line, "expected a mapping of keys, got %s",
		    ev.type == YAML_SEQUENCE_START_EVENT ? "a list" :
		    "a scalar");
		skip(&p, &ev);
		goto done;
	}

	/* Document end, then the stream must end. */
	if (next(&p, &ev) == -1)
		goto done;
	yaml_event_delete(&ev);
	if (next(&p, &ev) == -1)
		goto done;
	if (ev.type != YAML_STREAM_END_EVENT)
		parse_error(&p, ev.start_mark.line + 1, "more than one "
		    "document");
	yaml_event_delete(&ev);
done:
	yaml_parser_delete(&p.yp);
	free(fixed);
	return p.nerr > 0 ? -1 : 0;
}

int
config_load_file(struct config *cfg, const char *path)
{
	struct stat	 st;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		report(0, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		report(0, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		report(0, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > CONFIG_MAX_FILE) {
		report(0, "%s: larger than %d bytes", path, CONFIG_MAX_FILE);
		close(fd);
		return -1;
	}
	/* One byte more than fstat said, to notice a file that grew. */
	buf = xcalloc(1, (size_t)st.st_size + 1);
	while (len <= (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			report(0, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > (size_t)st.st_size) {
		report(0, "%s: file changed while being read", path);
		free(buf);
		return -1;
	}
	r = config_load_buffer(cfg, path, buf, len);
	free(buf);
	return r;
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t	 len = strlen(s), slen = strlen(suffix);

	return len > slen && strcmp(s + len - slen, suffix) == 0;
}

/* Byte order, as Go's sort.Strings, whatever the locale. */
static int
name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int
config_load_dir(struct config *cfg, const char *dir)
{
	struct dirent	**names;
	struct stat	  st;
	char		  path[PATH_MAX];
	const char	 *name;
	int		  i, n, r = 0, ok;

	if ((n = scandir(dir, &names, NULL, name_cmp)) == -1) {
		report(0, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (n > CONFIG_MAX_DIR_FILES + 2) {
		report(0, "%s: more than %d files", dir, CONFIG_MAX_DIR_FILES);
		r = -1;
		goto done;
	}
	for (i = 0; i < n; i++) {
		name = names[i]->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    sizeof(path)) {
			report(0, "%s/%s: path too long", dir, name);
			r = -1;
			continue;
		}
		ok = has_suffix(name, ".json") || has_suffix(name, ".yaml") ||
		    has_suffix(name, ".yml");
		if (stat(path, &st) == -1) {
			if (ok) {
				report(0, "%s: %s", path, strerror(errno));
				r = -1;
			}
			continue;
		}
		if (S_ISDIR(st.st_mode))
			continue;
		if (!ok) {
			if (has_suffix(name, ".hcl"))
				report(1, "config: skipping file %s: HCL is "
				    "not supported, use JSON or YAML", path);
			else
				report(1, "config: skipping file %s, extension "
				    "must be .json, .yaml or .yml", path);
			continue;
		}
		if (config_load_file(cfg, path) == -1)
			r = -1;
	}
done:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

/*
 * A key set from the command line: "ports.http" = "8501".  Lists get
 * the value appended; maps take "key:value", like -node-meta.
 */
int
config_set(struct config *cfg, const char *keypath, const char *value,
    const char *origin)
{
	const struct config_key	*table = config_keys, *k;
	char			 path[CONFIG_PATH_MAX] = "";
	char			 err[ERR_BUFSIZE], q[QUOTE_BUFSIZE];
	char			*base = (char *)cfg, *item, *key;
	const char		*s = keypath, *dot, *colon;
	size_t			 len, w = 0;
	int			 pending = 0;

	if (origin == NULL)
		origin = "config";
	for (;;) {
		dot = strchr(s, '.');
		len = dot != NULL ? (size_t)(dot - s) : strlen(s);
		k = lookup(table, s, len);
		if (k == NULL || (dot != NULL && k->type != CONFIG_T_BLOCK)) {
			report(0, "%s: unknown key \"%s\"", origin,
			    quote(q, keypath, strlen(keypath)));
			return -1;
		}
		w += (size_t)snprintf(path + w, sizeof(path) - w, "%s%s",
		    w > 0 ? "." : "", k->name);
		if (w >= sizeof(path))
			w = sizeof(path) - 1;
		note_key(cfg, path, k, pending);
		pending |= k->flags & CFG_PENDING;
		if (dot == NULL)
			break;
		base += k->off;
		table = k->sub;
		s = dot + 1;
	}

	switch (k->type) {
	case CONFIG_T_BLOCK:
	case CONFIG_T_RAW:
		break;
	case CONFIG_T_LIST:
		if (!elem_is_value(k))
			break;
		if ((item = elem_append(base, k)) == NULL) {
			snprintf(err, sizeof(err), "more than %zu items",
			    elem_max(k));
			goto bad;
		}
		if (set_scalar(&k->sub[0], item, value, strlen(value), K_FLAG,
		    err, sizeof(err)) == -1) {
			elem_pop(base, k);
			goto bad;
		}
		return 0;
	case CONFIG_T_MAP:
		if (!elem_is_value(k))
			break;
		if ((colon = strchr(value, ':')) == NULL) {
			snprintf(err, sizeof(err), "expected key:value, got "
			    "\"%s\"", quote(q, value, strlen(value)));
			goto bad;
		}
		key = xstrndup(value, (size_t)(colon - value));
		if ((item = map_find(base, k, key)) != NULL) {
			free(key);
			if (set_scalar(&k->sub[0], item, colon + 1,
			    strlen(colon + 1), K_FLAG, err, sizeof(err)) == -1)
				goto bad;
			return 0;
		}
		if ((item = elem_append(base, k)) == NULL) {
			free(key);
			snprintf(err, sizeof(err), "more than %zu entries",
			    elem_max(k));
			goto bad;
		}
		memcpy(item, &key, sizeof(key));
		if (set_scalar(&k->sub[0], item, colon + 1, strlen(colon + 1),
		    K_FLAG, err, sizeof(err)) == -1) {
			elem_pop(base, k);
			goto bad;
		}
		return 0;
	default:
		if (set_scalar(k, base, value, strlen(value), K_FLAG, err,
		    sizeof(err)) == -1)
			goto bad;
		return 0;
	}
	report(0, "%s: key \"%s\" cannot be set from the command line",
	    origin, path);
	return -1;
bad:
	report(0, "%s: key \"%s\": %s", origin, path, err);
	return -1;
}

struct config *
config_new(int dev)
{
	struct config	*cfg;

	cfg = xcalloc(1, sizeof(*cfg));
	apply_defaults(config_keys, (char *)cfg);
	if (dev) {
		/* Consul's -dev: one in-memory server on loopback. */
		cfg->dev = 1;
		cfg->server = 1;
		cfg->bootstrap = 1;
		cfg->ui_enabled = 1;
		set_str(&cfg->bind_addr, "127.0.0.1");
		set_str(&cfg->client_addr, "127.0.0.1");
		cfg->log_level = LOG_LVL_DEBUG;
		cfg->ports.grpc = 8502;
		cfg->performance.raft_multiplier = 1;
		cfg->connect.enabled = 1;
		cfg->disable_keyring_file = 1;
	}
	return cfg;
}

void
config_free(struct config *cfg)
{
	size_t	 i;

	if (cfg == NULL)
		return;
	free_table(config_keys, (char *)cfg);
	for (i = 0; i < cfg->warned.n; i++)
		free(cfg->warned.v[i]);
	free(cfg->warned.v);
	free(cfg);
}

/*
 * Finishing: defaults that depend on other keys, and the checks that
 * need the whole merged configuration.
 */

static void	 fail(int *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* An error of the merged configuration: no file, no line. */
static void
fail(int *nerr, const char *fmt, ...)
{
	char	 msg[768];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(0, "config: %s", msg);
	(*nerr)++;
}

/* A DNS label in Consul's sense: [a-z0-9_-]+ once lowered. */
static int
dns_label_lower(char *s)
{
	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		*s = ascii_lower(*s);
		if (!ascii_digit(*s) && !(*s >= 'a' && *s <= 'z') &&
		    *s != '-' && *s != '_')
			return -1;
	}
	return 0;
}

/* A datacenter name as config and ?dc= allow: [a-z0-9-_], a DNS label. */
int
dc_name_valid(const char *s)
{
	size_t	 n = 0;

	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++, n++)
		if (n >= 63 || (!ascii_digit(*s) && !(*s >= 'a' && *s <= 'z') &&
		    *s != '-' && *s != '_'))
			return 0;
	return 1;
}

static int
uuid_lower(char *s)
{
	size_t	 i;

	if (strlen(s) != 36)
		return -1;
	for (i = 0; i < 36; i++) {
		s[i] = ascii_lower(s[i]);
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
		} else if (!ascii_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return -1;
	}
	return 0;
}

/* The length of the key that s encodes in strict base64, or -1. */
static int
base64_len(const char *s)
{
	size_t	 i, len = strlen(s), pad = 0;
	char	 c;

	if (len == 0 || len % 4 != 0 || len > 1024)
		return -1;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '=') {
			if (len - i > 2)
				return -1;
			pad++;
		} else if (pad > 0 || !(ascii_digit(c) || c == '+' ||
		    c == '/' || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z')))
			return -1;
	}
	return (int)(len / 4 * 3 - pad);
}

static void
tls_inherit(struct config_tls *t, const struct config_tls *d)
{
	if (t->ca_file == NULL)
		set_str(&t->ca_file, d->ca_file);
	if (t->ca_path == NULL)
		set_str(&t->ca_path, d->ca_path);
	if (t->cert_file == NULL)
		set_str(&t->cert_file, d->cert_file);
	if (t->key_file == NULL)
		set_str(&t->key_file, d->key_file);
	if (t->tls_min_version == NULL)
		set_str(&t->tls_min_version, d->tls_min_version);
	if (t->tls_cipher_suites == NULL)
		set_str(&t->tls_cipher_suites, d->tls_cipher_suites);
	if (t->verify_incoming == CONFIG_UNSET)
		t->verify_incoming = d->verify_incoming;
	if (t->verify_outgoing == CONFIG_UNSET)
		t->verify_outgoing = d->verify_outgoing;
	if (t->verify_server_hostname == CONFIG_UNSET)
		t->verify_server_hostname = d->verify_server_hostname;
	if (t->use_auto_cert == CONFIG_UNSET)
		t->use_auto_cert = d->use_auto_cert;
}

/* Consul's names, and the old "tls12" ones turned into them. */
static void
tls_version(char **v, const char *block, int *nerr)
{
	static const char	*names[] = {
	    "TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"
	};
	static const char	*old[] = { "tls10", "tls11", "tls12", "tls13" };
	char			 q[QUOTE_BUFSIZE];
	size_t			 i;

	if (*v == NULL)
		return;
	for (i = 0; i < 4; i++) {
		if (strcmp(*v, names[i]) == 0)
			return;
		if (strcmp(*v, old[i]) == 0) {
			set_str(v, names[i]);
			return;
		}
	}
	fail(nerr, "tls.%s.tls_min_version: \"%s\" is not one of TLSv1_0, "
	    "TLSv1_1, TLSv1_2, TLSv1_3", block, quote(q, *v, strlen(*v)));
}

static void
finalize_tls(struct config *cfg, int *nerr)
{
	struct config_tls	*d = &cfg->tls.defaults;

	if (d->verify_incoming == CONFIG_UNSET)
		d->verify_incoming = 0;
	if (d->verify_outgoing == CONFIG_UNSET)
		d->verify_outgoing = 0;
	if (d->verify_server_hostname == CONFIG_UNSET)
		d->verify_server_hostname = 0;
	if (d->use_auto_cert == CONFIG_UNSET)
		d->use_auto_cert = 0;
	if (d->tls_min_version == NULL)
		set_str(&d->tls_min_version, "TLSv1_2");
	tls_version(&d->tls_min_version, "defaults", nerr);
	tls_version(&cfg->tls.internal_rpc.tls_min_version, "internal_rpc",
	    nerr);
	tls_version(&cfg->tls.https.tls_min_version, "https", nerr);
	tls_version(&cfg->tls.grpc.tls_min_version, "grpc", nerr);
	tls_inherit(&cfg->tls.internal_rpc, d);
	tls_inherit(&cfg->tls.https, d);
	tls_inherit(&cfg->tls.grpc, d);
}

/* The part of a check's defaults and rules that needs the agent's. */
static void
finalize_check(struct config *cfg, struct config_check *c, int *nerr)
{
	if (c->failures_before_warning == CONFIG_UNSET)
		c->failures_before_warning = c->failures_before_critical;
	if (c->output_max_size == 0)
		c->output_max_size = cfg->check_output_max_size;
	if ((c->args.n > 0 || c->script != NULL) &&
	    !cfg->enable_script_checks && !cfg->enable_local_script_checks)
		fail(nerr, "check \"%s\": Scripts are disabled on this agent; "
		    "to enable, configure 'enable_script_checks' or "
		    "'enable_local_script_checks' to true", c->id);
	/* The 0.x "script", a command for the shell, runs as args do. */
	if (c->args.n == 0 && c->script != NULL) {
		if ((c->args.v = calloc(3, sizeof(*c->args.v))) == NULL)
			fatal("config");
		c->args.v[0] = xstrdup("/bin/sh");
		c->args.v[1] = xstrdup("-c");
		c->args.v[2] = xstrdup(c->script);
		c->args.n = 3;
	}
}

/*
 * IDs and names as Consul's agent gives them: a service's ID is its
 * name; its checks are "service:<id>", or "service:<id>:<n>" when there
 * are several, named "Service '<name>' check"; a standalone check's ID
 * is its name.
 */
/*
 * ui_config.content_path: a URL path that begins and ends with '/', as
 * Consul makes it, of characters that need no escaping in a Location.
 */
static void
finalize_ui(struct config *cfg, int *nerr)
{
	char		 q[QUOTE_BUFSIZE];
	const char	*p = cfg->ui_config.content_path, *c;
	size_t		 len;

	if (p == NULL || *p == '\0')
		p = "/";
	len = strlen(p);
	for (c = p; *c != '\0'; c++)
		if (*c <= ' ' || *c >= 0x7f || strchr("\"#%<>?\\^`{|}",
		    *c) != NULL)
			break;
	if (*c != '\0' || len > 256) {
		fail(nerr, "ui_config.content_path \"%s\" is not a valid "
		    "URL path", quote(q, p, len));
		return;
	}
	if (p[0] != '/' || p[len - 1] != '/') {
		p = xprintf("%s%s%s", p[0] == '/' ? "" : "/", p,
		    p[len - 1] == '/' ? "" : "/");
		free(cfg->ui_config.content_path);
		cfg->ui_config.content_path = (char *)p;
	} else if (cfg->ui_config.content_path == NULL ||
	    *cfg->ui_config.content_path == '\0')
		set_str(&cfg->ui_config.content_path, "/");
}

static void
finalize_services(struct config *cfg, int *nerr)
{
	struct config_service	*s;
	struct config_check	*c;
	size_t			 i, j;

	for (i = 0; i < cfg->nservices; i++) {
		s = &cfg->services[i];
		if (s->name == NULL) {
			fail(nerr, "services[%zu]: missing service name", i);
			continue;
		}
		if (s->id == NULL)
			s->id = xstrdup(s->name);
		for (j = 0; j < s->nchecks; j++) {
			c = &s->checks[j];
			if (c->service_id == NULL)
				c->service_id = xstrdup(s->id);
			if (c->id == NULL && s->nchecks > 1)
				c->id = xprintf("service:%s:%zu", s->id, j + 1);
			else if (c->id == NULL)
				c->id = xprintf("service:%s", s->id);
			if (c->name == NULL)
				c->name = xprintf("Service '%s' check",
				    s->name);
			finalize_check(cfg, c, nerr);
		}
	}
	for (i = 0; i < cfg->nchecks; i++) {
		c = &cfg->checks[i];
		if (c->name == NULL) {
			fail(nerr, "checks[%zu]: missing check name", i);
			continue;
		}
		if (c->id == NULL)
			c->id = xstrdup(c->name);
		finalize_check(cfg, c, nerr);
	}
}

static void
finalize_ports(struct config *cfg, int *nerr)
{
	int	*ports[] = {
		&cfg->ports.dns, &cfg->ports.http, &cfg->ports.https,
		&cfg->ports.grpc, &cfg->ports.grpc_tls, &cfg->ports.serf_lan,
		&cfg->ports.serf_wan, &cfg->ports.server
	};
	size_t	 i;

	if (cfg->ports.grpc_tls == CONFIG_PORT_AUTO)
		cfg->ports.grpc_tls = cfg->server ? 8503 : -1;
	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		if (*ports[i] <= 0)
			*ports[i] = -1;
		else if (*ports[i] > 65535)
			fail(nerr, "invalid port %d", *ports[i]);
	}
}

static void
finalize_node(struct config *cfg, int *nerr)
{
	char	 host[HOST_NAME_MAX + 1], q[QUOTE_BUFSIZE];
	char	*s;

	if (cfg->node_name == NULL) {
		if (gethostname(host, sizeof(host)) == -1) {
			fail(nerr, "node_name must be set: %s",
			    strerror(errno));
			return;
		}
		host[sizeof(host) - 1] = '\0';
		cfg->node_name = xstrdup(host);
	}
	if (*cfg->node_name == '\0') {
		fail(nerr, "node_name cannot be empty");
		return;
	}
	for (s = cfg->node_name; *s != '\0'; s++) {
		if (!ascii_digit(*s) && *s != '-' &&
		    !(ascii_lower(*s) >= 'a' && ascii_lower(*s) <= 'z'))
			break;
	}
	quote(q, cfg->node_name, strlen(cfg->node_name));
	if (*s != '\0')
		report(1, "config: node name \"%s\" will not be discoverable "
		    "via DNS due to invalid characters. Valid characters "
		    "include all alpha-numerics and dashes.", q);
	else if (strlen(cfg->node_name) > 63)
		report(1, "config: node name \"%s\" will not be discoverable "
		    "via DNS due to it being too long. Valid lengths are "
		    "between 1 and 63 bytes.", q);
	if (cfg->node_id != NULL && uuid_lower(cfg->node_id) == -1)
		fail(nerr, "node_id \"%s\" is not a valid UUID",
		    quote(q, cfg->node_id, strlen(cfg->node_id)));
}

static int
is_any_addr(const char *a)
{
	return strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0 ||
	    strcmp(a, "[::]") == 0;
}

int
config_finalize(struct config *cfg)
{
	char	 q[QUOTE_BUFSIZE], err[ERR_BUFSIZE];
	int	 len, errors = 0, *nerr = &errors;

	if (dns_label_lower(cfg->datacenter) == -1)
		fail(nerr, "datacenter cannot be \"%s\". Please use only "
		    "[a-z0-9-_]", cfg->datacenter == NULL ? "" :
		    quote(q, cfg->datacenter, strlen(cfg->datacenter)));
	if (cfg->primary_datacenter == NULL && cfg->datacenter != NULL)
		cfg->primary_datacenter = xstrdup(cfg->datacenter);
	if (cfg->primary_datacenter != NULL &&
	    dns_label_lower(cfg->primary_datacenter) == -1)
		fail(nerr, "primary_datacenter cannot be \"%s\". Please use "
		    "only [a-z0-9-_]", quote(q, cfg->primary_datacenter,
		    strlen(cfg->primary_datacenter)));
	if (cfg->acl.token_min_expiration_ttl <= 0 ||
	    cfg->acl.token_min_expiration_ttl >
	    cfg->acl.token_max_expiration_ttl)
		fail(nerr, "acl.token_min_expiration_ttl must be positive and "
		    "at most acl.token_max_expiration_ttl");
	finalize_node(cfg, nerr);
	if (meta_error(&cfg->node_meta, err, sizeof(err)) == -1)
		fail(nerr, "node_meta: %s", err);

	if (!cfg->dev && (cfg->data_dir == NULL || *cfg->data_dir == '\0'))
		fail(nerr, "data_dir must be set");
	if (cfg->bootstrap_expect == 1 && cfg->server && !cfg->bootstrap) {
		report(1, "config: bootstrap_expect = 1 is the same as "
		    "bootstrap mode");
		cfg->bootstrap = 1;
		cfg->bootstrap_expect = 0;
	}
	if (cfg->bootstrap_expect > 0 && !cfg->server)
		fail(nerr, "bootstrap_expect needs server mode");
	else if (cfg->bootstrap_expect > 0 && cfg->bootstrap)
		fail(nerr, "bootstrap_expect and bootstrap are mutually "
		    "exclusive");
	if (cfg->bootstrap && !cfg->server)
		fail(nerr, "bootstrap needs server mode");

	finalize_ports(cfg, nerr);
	if (cfg->client_addr != NULL) {
		if (cfg->addresses.dns == NULL)
			cfg->addresses.dns = xstrdup(cfg->client_addr);
		if (cfg->addresses.http == NULL)
			cfg->addresses.http = xstrdup(cfg->client_addr);
		if (cfg->addresses.https == NULL)
			cfg->addresses.https = xstrdup(cfg->client_addr);
		if (cfg->addresses.grpc == NULL)
			cfg->addresses.grpc = xstrdup(cfg->client_addr);
		if (cfg->addresses.grpc_tls == NULL)
			cfg->addresses.grpc_tls = xstrdup(cfg->client_addr);
	}
	/* With a wildcard bind the caller picks the address to advertise. */
	if (cfg->advertise_addr == NULL && cfg->bind_addr != NULL &&
	    !is_any_addr(cfg->bind_addr))
		cfg->advertise_addr = xstrdup(cfg->bind_addr);
	if (cfg->advertise_addr_wan == NULL && cfg->advertise_addr != NULL)
		cfg->advertise_addr_wan = xstrdup(cfg->advertise_addr);
	if (cfg->leave_on_terminate == CONFIG_UNSET)
		cfg->leave_on_terminate = !cfg->server;
	if (cfg->skip_leave_on_interrupt == CONFIG_UNSET)
		cfg->skip_leave_on_interrupt = cfg->server;

	if (cfg->encrypt != NULL && (len = base64_len(cfg->encrypt),
	    len != 16 && len != 24 && len != 32))
		fail(nerr, "encrypt must be a base64 key of 16, 24 or 32 "
		    "bytes");
	finalize_tls(cfg, nerr);
	if (cfg->reconnect_timeout < 8 * DURATION_HOUR)
		fail(nerr, "reconnect_timeout must be >= 8h");
	if (cfg->reconnect_timeout_wan < 8 * DURATION_HOUR)
		fail(nerr, "reconnect_timeout_wan must be >= 8h");
	if (cfg->acl.default_policy == NULL ||
	    (strcmp(cfg->acl.default_policy, "allow") != 0 &&
	    strcmp(cfg->acl.default_policy, "deny") != 0))
		fail(nerr, "acl.default_policy must be \"allow\" or \"deny\"");
	if (cfg->acl.down_policy == NULL ||
	    (strcmp(cfg->acl.down_policy, "allow") != 0 &&
	    strcmp(cfg->acl.down_policy, "deny") != 0 &&
	    strcmp(cfg->acl.down_policy, "extend-cache") != 0 &&
	    strcmp(cfg->acl.down_policy, "async-cache") != 0))
		fail(nerr, "acl.down_policy must be one of allow, deny, "
		    "extend-cache, async-cache");
	if (cfg->log_level < LOG_LVL_TRACE || cfg->log_level > LOG_LVL_ERR)
		fail(nerr, "invalid log_level");
	finalize_ui(cfg, nerr);
	finalize_services(cfg, nerr);
	return errors > 0 ? -1 : 0;
}

/*
 * MessagePack.  The map of each table has its keys in table order,
 * aliases left out; config_unpack() insists on exactly that layout.
 */

static void	 pack_table(const struct config_key *, const char *,
		    msgpack_packer *);

static void
pack_value(const struct config_key *k, const char *base, msgpack_packer *pk)
{
	const struct config_raw	*raw;
	const char		*v, *item, *key;
	size_t			 i, n;
	int			 b;

	switch (k->type) {
	case CONFIG_T_STR:
		mpack_str(pk, *(char * const *)(base + k->off));
		break;
	case CONFIG_T_BOOL:
		b = *(const int *)(base + k->off);
		if (b == CONFIG_UNSET)
			msgpack_pack_nil(pk);
		else if (b)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case CONFIG_T_INT:
	case CONFIG_T_LOGLEVEL:
		msgpack_pack_int64(pk, *(const int *)(base + k->off));
		break;
	case CONFIG_T_INT64:
	case CONFIG_T_DURATION:
		msgpack_pack_int64(pk, *(const int64_t *)(base + k->off));
		break;
	case CONFIG_T_FLOAT:
		msgpack_pack_double(pk, *(const double *)(base + k->off));
		break;
	case CONFIG_T_RAW:
		raw = (const struct config_raw *)(base + k->off);
		if (raw->len == 0)
			msgpack_pack_nil(pk);
		else
			mpack_bin(pk, raw->buf, raw->len);
		break;
	case CONFIG_T_BLOCK:
		pack_table(k->sub, base + k->off, pk);
		break;
	case CONFIG_T_LIST:
	case CONFIG_T_MAP:
		v = elem_array(base, k);
		n = *elem_count((char *)base, k);
		if (k->type == CONFIG_T_LIST)
			msgpack_pack_array(pk, n);
		else
			msgpack_pack_map(pk, n);
		for (i = 0; i < n; i++) {
			item = v + i * k->size;
			if (k->type == CONFIG_T_MAP) {
				memcpy(&key, item, sizeof(key));
				mpack_str(pk, key);
			}
			if (elem_is_value(k))
				pack_value(&k->sub[0], item, pk);
			else
				pack_table(k->sub, item, pk);
		}
		break;
	default:
		break;
	}
}

static size_t
table_size(const struct config_key *table)
{
	const struct config_key	*k;
	size_t			 n = 0;

	for (k = table; k->type != CONFIG_T_END; k++) {
		if (!(k->flags & CFG_ALIAS))
			n++;
	}
	return n;
}

static void
pack_table(const struct config_key *table, const char *base,
    msgpack_packer *pk)
{
	const struct config_key	*k;

	msgpack_pack_map(pk, table_size(table));
	for (k = table; k->type != CONFIG_T_END; k++) {
		if (k->flags & CFG_ALIAS)
			continue;
		mpack_str(pk, k->name);
		pack_value(k, base, pk);
	}
}

int
config_pack(const struct config *cfg, struct mpack_out *out)
{
	pack_table(config_keys, (const char *)cfg, &out->pk);
	return 0;
}

static int
unpack_value(const struct config_key *k, char *base, const msgpack_object *o)
{
	struct config_raw	*raw;
	const msgpack_object	*e;
	char			*item, *s;
	int64_t			 i;
	uint32_t		 j, n;

	switch (k->type) {
	case CONFIG_T_STR:
		if (mpack_get_str(o, &s) == -1)
			return -1;
		free(*(char **)(base + k->off));
		*(char **)(base + k->off) = s;
		return 0;
	case CONFIG_T_BOOL:
		if (o->type == MSGPACK_OBJECT_NIL)
			*(int *)(base + k->off) = CONFIG_UNSET;
		else if (o->type == MSGPACK_OBJECT_BOOLEAN)
			*(int *)(base + k->off) = o->via.boolean;
		else
			return -1;
		return 0;
	case CONFIG_T_INT:
	case CONFIG_T_LOGLEVEL:
		if (mpack_get_int(o, &i) == -1 || i < INT_MIN || i > INT_MAX ||
		    (k->type == CONFIG_T_LOGLEVEL && (i < LOG_LVL_TRACE ||
		    i > LOG_LVL_ERR)))
			return -1;
		*(int *)(base + k->off) = (int)i;
		return 0;
	case CONFIG_T_INT64:
	case CONFIG_T_DURATION:
		return mpack_get_int(o, (int64_t *)(base + k->off));
	case CONFIG_T_FLOAT:
		if (o->type != MSGPACK_OBJECT_FLOAT64 &&
		    o->type != MSGPACK_OBJECT_FLOAT32)
			return -1;
		*(double *)(base + k->off) = o->via.f64;
		return 0;
	case CONFIG_T_RAW:
		raw = (struct config_raw *)(base + k->off);
		free(raw->buf);
		raw->buf = NULL;
		raw->len = 0;
		if (o->type == MSGPACK_OBJECT_NIL)
			return 0;
		if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size == 0)
			return -1;
		if ((raw->buf = malloc(o->via.bin.size)) == NULL)
			fatal("config: malloc");
		memcpy(raw->buf, o->via.bin.ptr, o->via.bin.size);
		raw->len = o->via.bin.size;
		return 0;
	case CONFIG_T_BLOCK:
		return unpack_table(k->sub, base + k->off, o);
	case CONFIG_T_LIST:
	case CONFIG_T_MAP:
		if (k->type == CONFIG_T_LIST &&
		    o->type != MSGPACK_OBJECT_ARRAY)
			return -1;
		if (k->type == CONFIG_T_MAP && o->type != MSGPACK_OBJECT_MAP)
			return -1;
		n = k->type == CONFIG_T_LIST ? o->via.array.size :
		    o->via.map.size;
		for (j = 0; j < n; j++) {
			s = NULL;
			if (k->type == CONFIG_T_MAP &&
			    (mpack_get_str(&o->via.map.ptr[j].key, &s) == -1 ||
			    s == NULL || map_find(base, k, s) != NULL)) {
				free(s);
				return -1;
			}
			if ((item = elem_append(base, k)) == NULL) {
				free(s);
				return -1;
			}
			if (k->type == CONFIG_T_MAP) {
				memcpy(item, &s, sizeof(s));
				e = &o->via.map.ptr[j].val;
			} else
				e = &o->via.array.ptr[j];
			if (elem_is_value(k)) {
				if (unpack_value(&k->sub[0], item, e) == -1)
					return -1;
				/* Strings in lists and maps are never NULL. */
				if (k->sub[0].type == CONFIG_T_STR &&
				    *(char **)(item + k->sub[0].off) == NULL)
					return -1;
			} else if (unpack_table(k->sub, item, e) == -1)
				return -1;
		}
		return 0;
	default:
		return -1;
	}
}

static int
unpack_table(const struct config_key *table, char *base,
    const msgpack_object *o)
{
	const struct config_key	*k;
	uint32_t		 i = 0;

	if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size !=
	    table_size(table))
		return -1;
	for (k = table; k->type != CONFIG_T_END; k++) {
		if (k->flags & CFG_ALIAS)
			continue;
		if (!mpack_key_is(&o->via.map.ptr[i].key, k->name) ||
		    unpack_value(k, base, &o->via.map.ptr[i].val) == -1)
			return -1;
		i++;
	}
	return 0;
}

struct config *
config_unpack(const void *buf, size_t len)
{
	struct config		*cfg;
	msgpack_unpacked	 u;

	if (buf == NULL || mpack_prescan(buf, len) == -1 ||
	    mpack_parse(&u, buf, len) == -1)
		return NULL;
	cfg = xcalloc(1, sizeof(*cfg));
	if (unpack_table(config_keys, (char *)cfg, &u.data) == -1) {
		config_free(cfg);
		cfg = NULL;
	}
	msgpack_unpacked_destroy(&u);
	return cfg;
}
