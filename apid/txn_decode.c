/*
 * The body of PUT /v1/txn, decoded as Consul's HTTP handler decodes it:
 * Go's encoding/json into api.TxnOps (keys matched without regard to
 * case, unknown keys ignored, null leaving a field as it was, the first
 * type error reported), then Consul's checks in Consul's order: the size
 * of the body, the number of operations, each value's size, and the
 * pre-apply checks that refuse an operation with a 409.  Only KV
 * operations exist yet.  No evhttp, configuration or logging here: the
 * fuzz target includes this file as it is.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "goquote.h"
#include "txn.h"

/*
 * jansson's integers are int64, while Flags and Index are uint64 and
 * lock helpers fill them to the top bit.  Before parsing, every unsigned
 * integer literal above INT64_MAX becomes a string of a NUL and its
 * digits, which decode_u64() turns back and type_name() still calls a
 * number.  Only a client that sends exactly such a string could tell.
 */
#define BIG_OPEN	"\"\\u0000"
#define BIG_GROWTH	(sizeof(BIG_OPEN) - 1 + 1)
#define INT64_MAX_TEXT	"9223372036854775807"

#define QUOTE_MAX	200		/* bytes of a key in a message */

enum op_kind {
	OP_NONE,			/* null, or no known member */
	OP_KV,
	OP_CATALOG			/* Node, Service or Check */
};

struct op_in {
	enum op_kind	 kind;
	const char	*catalog;	/* which, for OP_CATALOG */
	struct kv_op	 op;
	json_t		*verb;		/* as sent, for messages */
	size_t		 index;		/* in txn.ops, for OP_KV */
};

static int	fail(char *, size_t, int, const char *, ...)
		    __attribute__((__format__(printf, 4, 5)));

static int
fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

static int
in_set(char c, const char *set)
{
	return memchr(set, c, strlen(set)) != NULL;
}

static char *
quote_big_numbers(const char *in, size_t len, size_t *outlen)
{
	char	*out;
	size_t	 i = 0, j, o = 0;
	int	 instr = 0, big;

	/* A literal above INT64_MAX has 19 digits or more. */
	if ((out = malloc(len + (len / 19 + 1) * BIG_GROWTH + 1)) == NULL)
		return NULL;
	while (i < len) {
		if (instr) {
			if (in[i] == '\\' && i + 1 < len) {
				out[o++] = in[i++];
				out[o++] = in[i++];
				continue;
			}
			if (in[i] == '"')
				instr = 0;
			out[o++] = in[i++];
			continue;
		}
		if (in[i] < '0' || in[i] > '9') {
			if (in[i] == '"')
				instr = 1;
			out[o++] = in[i++];
			continue;
		}
		for (j = i; j < len && in[j] >= '0' && in[j] <= '9'; j++)
			;
		/* Not -N, a fraction, an exponent, or a leading zero. */
		big = in[i] != '0' && (i == 0 || !in_set(in[i - 1], "-+.eE")) &&
		    (j == len || !in_set(in[j], ".eE")) && (j - i > 19 ||
		    (j - i == 19 && memcmp(in + i, INT64_MAX_TEXT, 19) > 0));
		if (big) {
			memcpy(out + o, BIG_OPEN, sizeof(BIG_OPEN) - 1);
			o += sizeof(BIG_OPEN) - 1;
		}
		memcpy(out + o, in + i, j - i);
		o += j - i;
		if (big)
			out[o++] = '"';
		i = j;
	}
	*outlen = o;
	return out;
}

static int
is_big(json_t *v)
{
	const char	*s;
	size_t		 n, i;

	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n < 2 || s[0] != '\0')
		return 0;
	for (i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* The JSON type as Go's messages name it. */
static const char *
type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return is_big(v) ? "number" : "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "null";
	}
}

static int
type_error(char *err, size_t errlen, json_t *v, const char *field,
    const char *gotype)
{
	return fail(err, errlen, 400, "Failed to parse body: json: cannot "
	    "unmarshal %s into Go struct field %s of type %s", type_name(v),
	    field, gotype);
}

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Go's base64.StdEncoding.Decode, quantum by quantum: padding required,
 * CR and LF skipped anywhere, nothing after the padding, and the offset
 * of the first bad byte reported as Go reports it.  dst holds at least
 * len / 4 * 3 + 3 bytes.
 */
static int
b64_decode(const unsigned char *src, size_t len, unsigned char *dst,
    size_t *dn, size_t *bad)
{
	unsigned char	 q[4];
	uint32_t	 val;
	size_t		 si = 0, n = 0;
	int		 j, v, dlen;

	while (si < len) {
		memset(q, 0, sizeof(q));
		dlen = 4;
		for (j = 0; j < 4; j++) {
			if (si == len) {
				if (j == 0) {
					*dn = n;
					return 0;
				}
				*bad = si - j;
				return -1;
			}
			if ((v = b64_value(src[si++])) >= 0) {
				q[j] = v;
				continue;
			}
			if (src[si - 1] == '\n' || src[si - 1] == '\r') {
				j--;
				continue;
			}
			if (src[si - 1] != '=' || j < 2) {
				*bad = si - 1;
				return -1;
			}
			if (j == 2) {
				/* "==" is due; the first one is read. */
				while (si < len && (src[si] == '\n' ||
				    src[si] == '\r'))
					si++;
				if (si == len) {
					*bad = len;
					return -1;
				}
				if (src[si] != '=') {
					*bad = si - 1;
					return -1;
				}
				si++;
			}
			while (si < len && (src[si] == '\n' || src[si] == '\r'))
				si++;
			if (si < len) {
				*bad = si;
				return -1;
			}
			dlen = j;
			break;
		}
		val = (uint32_t)q[0] << 18 | (uint32_t)q[1] << 12 |
		    (uint32_t)q[2] << 6 | q[3];
		switch (dlen) {
		case 4:
			dst[n + 2] = val & 0xff;
			/* FALLTHROUGH */
		case 3:
			dst[n + 1] = (val >> 8) & 0xff;
			/* FALLTHROUGH */
		default:
			dst[n] = (val >> 16) & 0xff;
		}
		n += dlen - 1;
	}
	*dn = n;
	return 0;
}

static int
decode_string(json_t *v, const char *field, const char *gotype, char **out,
    size_t *outlen, char *err, size_t errlen)
{
	size_t	 n;

	if (json_is_null(v))
		return 0;
	if (!json_is_string(v) || is_big(v))
		return type_error(err, errlen, v, field, gotype);
	n = json_string_length(v);
	free(*out);
	if ((*out = malloc(n + 1)) == NULL)
		return fail(err, errlen, 500, "out of memory");
	memcpy(*out, json_string_value(v), n);
	(*out)[n] = '\0';
	if (outlen != NULL)
		*outlen = n;
	return 0;
}

static int
decode_u64(json_t *v, const char *field, uint64_t *out, char *err,
    size_t errlen)
{
	char			*end;
	unsigned long long	 n;

	if (json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (is_big(v)) {
		errno = 0;
		n = strtoull(json_string_value(v) + 1, &end, 10);
		if (errno == 0 && *end == '\0') {
			*out = n;
			return 0;
		}
	}
	return type_error(err, errlen, v, field, "uint64");
}

static int
decode_value(json_t *v, struct kv_op *op, char *err, size_t errlen)
{
	const unsigned char	*s;
	unsigned char		*buf;
	size_t			 n, bad, dn;

	if (json_is_null(v))
		return 0;
	if (!json_is_string(v) || is_big(v))
		return type_error(err, errlen, v, "KVTxnOp.KV.Value",
		    "[]uint8");
	s = (const unsigned char *)json_string_value(v);
	n = json_string_length(v);
	if ((buf = malloc(n / 4 * 3 + 3)) == NULL)
		return fail(err, errlen, 500, "out of memory");
	if (b64_decode(s, n, buf, &dn, &bad) == -1) {
		free(buf);
		return fail(err, errlen, 400, "Failed to parse body: illegal "
		    "base64 data at input byte %zu", bad);
	}
	free(op->value);
	op->value = NULL;
	op->vlen = 0;
	if (dn == 0)
		free(buf);
	else {
		op->value = buf;
		op->vlen = dn;
	}
	return 0;
}

/* One "KV" object, merged into op as Go decodes into the same struct. */
static int
decode_kv(json_t *kv, struct op_in *in, char *err, size_t errlen)
{
	struct kv_op	*op = &in->op;
	const char	*name;
	char		*ignored = NULL;
	json_t		*v;
	size_t		 slen;
	int		 code = 0;

	json_object_foreach(kv, name, v) {
		if (strcasecmp(name, "Verb") == 0) {
			if (!json_is_null(v) && (!json_is_string(v) ||
			    is_big(v)))
				return type_error(err, errlen, v,
				    "KVTxnOp.KV.Verb", "api.KVOp");
			if (json_is_string(v))
				in->verb = v;
		} else if (strcasecmp(name, "Key") == 0)
			code = decode_string(v, "KVTxnOp.KV.Key", "string",
			    &op->key, &op->keylen, err, errlen);
		else if (strcasecmp(name, "Value") == 0)
			code = decode_value(v, op, err, errlen);
		else if (strcasecmp(name, "Flags") == 0)
			code = decode_u64(v, "KVTxnOp.KV.Flags", &op->flags,
			    err, errlen);
		else if (strcasecmp(name, "Index") == 0)
			code = decode_u64(v, "KVTxnOp.KV.Index", &op->index,
			    err, errlen);
		else if (strcasecmp(name, "Session") == 0) {
			code = decode_string(v, "KVTxnOp.KV.Session",
			    "string", &op->session, &slen, err, errlen);
			/* raftd keeps sessions as C strings. */
			if (code == 0 && json_is_string(v) &&
			    strlen(op->session) != slen)
				code = fail(err, errlen, 400, "Bad request: "
				    "invalid session");
		}
		else if (strcasecmp(name, "Namespace") == 0 ||
		    strcasecmp(name, "Partition") == 0) {
			/* Enterprise fields: checked, then ignored. */
			code = decode_string(v, strcasecmp(name,
			    "Namespace") == 0 ? "KVTxnOp.KV.Namespace" :
			    "KVTxnOp.KV.Partition", "string", &ignored, NULL,
			    err, errlen);
			free(ignored);
			ignored = NULL;
		}
		if (code != 0)
			return code;
	}
	return 0;
}

static int
decode_op(json_t *el, struct op_in *in, char *err, size_t errlen)
{
	static const char *const catalog[] = { "Node", "Service", "Check" };
	static const char *const gotype[] = { "api.NodeTxnOp",
	    "api.ServiceTxnOp", "api.CheckTxnOp" };
	const char	*name, *other = NULL;
	json_t		*v;
	size_t		 i;
	int		 kv = 0, code;

	if (json_is_null(el))
		return 0;
	if (!json_is_object(el))
		return fail(err, errlen, 400, "Failed to parse body: json: "
		    "cannot unmarshal %s into Go value of type api.TxnOp",
		    type_name(el));
	json_object_foreach(el, name, v) {
		if (strcasecmp(name, "KV") == 0) {
			if (json_is_null(v)) {
				kv_op_free(&in->op);
				in->verb = NULL;
				kv = 0;
				continue;
			}
			if (!json_is_object(v))
				return type_error(err, errlen, v, "TxnOp.KV",
				    "api.KVTxnOp");
			kv = 1;
			if ((code = decode_kv(v, in, err, errlen)) != 0)
				return code;
			continue;
		}
		for (i = 0; i < 3; i++) {
			if (strcasecmp(name, catalog[i]) != 0)
				continue;
			if (!json_is_null(v) && !json_is_object(v))
				return fail(err, errlen, 400, "Failed to parse "
				    "body: json: cannot unmarshal %s into Go "
				    "struct field TxnOp.%s of type %s",
				    type_name(v), catalog[i], gotype[i]);
			if (json_is_object(v))
				other = catalog[i];
			else if (other == catalog[i])
				other = NULL;
		}
	}
	/* Consul looks at KV first, then Node, Service and Check. */
	if (kv)
		in->kind = OP_KV;
	else if (other != NULL) {
		in->kind = OP_CATALOG;
		in->catalog = other;
	}
	return 0;
}

static int
verb_parse(json_t *v, enum kv_verb *verb)
{
	const char	*s;

	if (v == NULL)
		return -1;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return -1;
	return kv_verb_parse(s, verb);
}

static int
verb_writes(enum kv_verb v)
{
	switch (v) {
	case KV_SET:
	case KV_CAS:
	case KV_LOCK:
	case KV_UNLOCK:
	case KV_DELETE:
	case KV_DELETE_TREE:
	case KV_DELETE_CAS:
		return 1;
	default:
		return 0;
	}
}

static void	add_error(struct txn *, size_t, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));

static void
add_error(struct txn *t, size_t op, const char *fmt, ...)
{
	va_list	 ap;

	t->errors[t->nerrors].op = op;
	va_start(ap, fmt);
	vsnprintf(t->errors[t->nerrors].what,
	    sizeof(t->errors[t->nerrors].what), fmt, ap);
	va_end(ap);
	t->nerrors++;
}

/*
 * Consul's value limit, then checks that are ours: raftd keeps keys and
 * sessions as C strings and bounds them, so what it cannot hold stops
 * here.
 */
static int
check_op(struct kv_op *op, uint64_t max_value, char *err, size_t errlen)
{
	char	 q[QUOTE_MAX];

	if (op->vlen > max_value)
		return fail(err, errlen, 413, "Value for key %s is too large "
		    "(%zu > %llu bytes)", go_quote(q, sizeof(q), op->key ?
		    op->key : "", op->keylen), op->vlen,
		    (unsigned long long)max_value);
	if (op->keylen > KV_KEY_MAX || (op->key != NULL &&
	    memchr(op->key, '\0', op->keylen) != NULL))
		return fail(err, errlen, 400, "Bad request: invalid key name");
	if (op->session != NULL && *op->session == '\0') {
		free(op->session);
		op->session = NULL;
	}
	if (op->session != NULL && strlen(op->session) > KV_KEY_MAX)
		return fail(err, errlen, 400, "Bad request: invalid session");
	return 0;
}

/*
 * Decode body into t.  Returns 0 when t holds the operations (and, when
 * t->nerrors > 0, the reasons for a 409), or the HTTP status of the
 * failure with its reason in err.  t is to be freed in both cases.
 */
int
txn_decode(const char *body, size_t len, uint64_t max_body,
    uint64_t max_value, struct txn *t, char *err, size_t errlen)
{
	struct op_in	*in = NULL;
	json_error_t	 jerr;
	json_t		*doc = NULL;
	char		*text, q[QUOTE_MAX];
	size_t		 textlen, n = 0, i, missing;
	int		 code = 0;

	memset(t, 0, sizeof(*t));
	if (len > max_body)
		return fail(err, errlen, 413, "Request body(%zu bytes) too "
		    "large, max size: %llu bytes. See consuld.conf(5), "
		    "limits.txn_max_req_len.", len,
		    (unsigned long long)max_body);
	if ((text = quote_big_numbers(body, len, &textlen)) == NULL)
		return fail(err, errlen, 500, "out of memory");
	doc = json_loadb(text, textlen, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    &jerr);
	free(text);
	if (doc == NULL)
		return fail(err, errlen, 400, "Failed to parse body: %s",
		    jerr.text);
	if (json_is_array(doc))
		n = json_array_size(doc);
	else if (!json_is_null(doc)) {
		code = fail(err, errlen, 400, "Failed to parse body: json: "
		    "cannot unmarshal %s into Go value of type api.TxnOps",
		    type_name(doc));
		goto done;
	}
	if ((in = calloc(n ? n : 1, sizeof(*in))) == NULL) {
		code = fail(err, errlen, 500, "out of memory");
		goto done;
	}
	/* Consul decodes the whole body before it counts the operations. */
	for (i = 0; i < n; i++)
		if ((code = decode_op(json_array_get(doc, i), &in[i], err,
		    errlen)) != 0)
			goto done;
	if (n > KV_TXN_MAX_OPS) {
		code = fail(err, errlen, 413, "Transaction contains too many "
		    "operations (%zu > %d)", n, KV_TXN_MAX_OPS);
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (in[i].kind == OP_CATALOG) {
			code = fail(err, errlen, 400, "Bad request: %s "
			    "operations are not supported yet, only KV",
			    in[i].catalog);
			goto done;
		}
		if (in[i].kind == OP_KV &&
		    (code = check_op(&in[i].op, max_value, err, errlen)) != 0)
			goto done;
	}

	if ((t->ops = calloc(n ? n : 1, sizeof(*t->ops))) == NULL ||
	    (t->errors = calloc(n ? n : 1, sizeof(*t->errors))) == NULL) {
		code = fail(err, errlen, 500, "out of memory");
		goto done;
	}
	t->read_only = 1;
	for (i = 0; i < n; i++) {
		if (in[i].kind != OP_KV)
			continue;	/* Consul drops them too */
		if (verb_parse(in[i].verb, &in[i].op.verb) == -1)
			in[i].op.verb = KV_VERB_MAX;
		else if (verb_writes(in[i].op.verb))
			t->read_only = 0;
		/* Consul's pre-apply check, for every operation at once. */
		if (in[i].op.keylen == 0 && in[i].op.verb != KV_DELETE_TREE)
			add_error(t, t->nops, "Must provide key");
		in[i].index = t->nops;
		t->ops[t->nops++] = in[i].op;
		memset(&in[i].op, 0, sizeof(in[i].op));
	}
	/*
	 * Consul finds an unknown verb only while it applies the
	 * transaction; raftd knows only real verbs, so it is found here.
	 */
	for (i = 0, missing = t->nerrors; missing == 0 && i < n; i++) {
		if (in[i].kind != OP_KV ||
		    t->ops[in[i].index].verb != KV_VERB_MAX)
			continue;
		add_error(t, in[i].index, "unknown KV verb %s",
		    in[i].verb == NULL ? "\"\"" : go_quote(q, sizeof(q),
		    json_string_value(in[i].verb),
		    json_string_length(in[i].verb)));
	}
 done:
	for (i = 0; in != NULL && i < n; i++)
		kv_op_free(&in[i].op);
	free(in);
	json_decref(doc);
	return code;
}

void
txn_free(struct txn *t)
{
	size_t	 i;

	for (i = 0; i < t->nops; i++)
		kv_op_free(&t->ops[i]);
	free(t->ops);
	free(t->errors);
	memset(t, 0, sizeof(*t));
}
