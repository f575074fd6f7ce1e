/*
 * consulctl kv get, put, delete, export and import: the key-value store
 * through /v1/kv, with the flags, messages, output and exit codes of
 * `consul kv`.  What Consul's Go code does implicitly is done here on
 * purpose: values are raw bytes (base64 on the wire), flags are 64-bit
 * unsigned, -detailed is laid out by Go's tabwriter rules and export is
 * Go's json.MarshalIndent, byte for byte.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "consulctl.h"

/* DATA from a file or stdin; the agent takes 512 KiB by default. */
#define KV_MAX_DATA	(64u * 1024 * 1024)
#define KV_TAB_PADDING	6	/* tabwriter.NewWriter(w, 0, 2, 6, ' ', 0) */
#define KV_ERRLEN	2048

struct kv_param {
	const char	*name;
	const char	*value;		/* NULL: empty */
};

/* One KVPair of a GET answer, decoded. */
struct kv_entry {
	const char	*key;
	const char	*session;	/* "" when none */
	uint64_t	 flags;
	uint64_t	 create_index;
	uint64_t	 modify_index;
	uint64_t	 lock_index;
	unsigned char	*value;
	size_t		 vlen;
};

/*
 * Errors of a failed call: a broken option (rc -2) reads as Consul's
 * APIClient() failure, anything else as fmt followed by ": err".
 */
static int
kv_error(int rc, const char *err, const char *fmt, ...)
{
	va_list	 ap;

	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", err);
	return 1;
}

/*
 * One call to /v1/kv/<key>.  Returns 0 when the agent answered 200 (or
 * 404 with allow404), -1 with Consul's text in err for every other
 * answer or a transport failure, -2 when the options are unusable.
 */
static int
kv_call(const struct http_opts *o, const char *method, const char *key,
    const struct kv_param *params, size_t nparams, const void *body,
    size_t len, int allow404, struct http_response *resp, char *err)
{
	FILE	*f;
	char	*path = NULL;
	size_t	 pathlen, i;
	int	 rc;

	memset(resp, 0, sizeof(*resp));
	if ((f = open_memstream(&path, &pathlen)) == NULL) {
		snprintf(err, KV_ERRLEN, "%s", strerror(errno));
		return -1;
	}
	fputs("/v1/kv/", f);
	http_escape(f, key, "/");
	for (i = 0; i < nparams; i++) {
		fputc(i == 0 ? '?' : '&', f);
		/* "recurse=", as Go's url.Values encodes a flag. */
		http_escape(f, params[i].name, NULL);
		fputc('=', f);
		if (params[i].value != NULL)
			http_escape(f, params[i].value, NULL);
	}
	if (fclose(f) != 0) {
		snprintf(err, KV_ERRLEN, "%s", strerror(errno));
		free(path);
		return -1;
	}
	rc = http_send(o, method, path,
	    strcmp(method, "PUT") == 0 ? "application/octet-stream" : NULL,
	    body, len, resp, err, KV_ERRLEN);
	free(path);
	if (rc != 0)
		return rc;
	if (resp->status == 200 || (allow404 && resp->status == 404))
		return 0;
	http_unexpected(resp, err, KV_ERRLEN);
	http_response_free(resp);
	return -1;
}

/*
 * Parse JSON whose integers may not fit jansson's int64: Flags are
 * uint64 (lock semaphores use 0xe0f69a2baa414de0), so such numbers are
 * turned into strings first and read back with json_u64().
 */
json_t *
kv_json_load(const char *buf, size_t len, json_error_t *jerr)
{
	FILE	*f;
	char	*copy = NULL;
	size_t	 copylen, i = 0, j, k;
	int	 instr = 0, big;
	json_t	*doc;

	if ((f = open_memstream(&copy, &copylen)) == NULL) {
		snprintf(jerr->text, sizeof(jerr->text), "%s", strerror(errno));
		return NULL;
	}
	while (i < len) {
		if (instr) {
			if (buf[i] == '\\' && i + 1 < len) {
				fwrite(buf + i, 1, 2, f);
				i += 2;
				continue;
			}
			if (buf[i] == '"')
				instr = 0;
			fputc(buf[i++], f);
			continue;
		}
		if (buf[i] == '"') {
			instr = 1;
			fputc(buf[i++], f);
			continue;
		}
		if (!isdigit((unsigned char)buf[i])) {
			fputc(buf[i++], f);
			continue;
		}
		for (j = i; j < len && isdigit((unsigned char)buf[j]); j++)
			;
		big = 0;
		/* Only whole unsigned numbers: not -1, 1.5, 1e5 or 2e10. */
		if ((j == len || strchr(".eE", buf[j]) == NULL) &&
		    (i == 0 || strchr("-+.eE", buf[i - 1]) == NULL)) {
			/* More than INT64_MAX: 19 digits above it, or 20+. */
			for (k = i; k < j - 1 && buf[k] == '0'; k++)
				;
			big = j - k > 19 || (j - k == 19 &&
			    memcmp(buf + k, "9223372036854775807", 19) > 0);
		}
		if (big)
			fputc('"', f);
		fwrite(buf + i, 1, j - i, f);
		if (big)
			fputc('"', f);
		i = j;
	}
	if (fclose(f) != 0) {
		snprintf(jerr->text, sizeof(jerr->text), "%s", strerror(errno));
		free(copy);
		return NULL;
	}
	doc = json_loadb(copy, copylen, JSON_DECODE_ANY, jerr);
	free(copy);
	return doc;
}

int
json_u64(json_t *v, uint64_t *out)
{
	const char	*s;
	char		*end;

	if (v == NULL || json_is_null(v)) {
		*out = 0;
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	*out = strtoull(s, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : 0;
}

/*
 * Base64 as Go's base64.StdEncoding: padding required, CR and LF
 * ignored.  The result is NUL-terminated for convenience.
 */
int
b64_decode(const char *in, size_t inlen, unsigned char **out, size_t *outlen,
    char *err, size_t errlen)
{
	const char	*end = NULL;

	if ((*out = malloc(inlen / 4 * 3 + 4)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (sodium_base642bin(*out, inlen / 4 * 3 + 3, in, inlen, "\r\n",
	    outlen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != in + inlen) {
		snprintf(err, errlen, "illegal base64 data at input byte %zu",
		    end != NULL && end < in + inlen ? (size_t)(end - in) :
		    inlen);
		free(*out);
		*out = NULL;
		return -1;
	}
	(*out)[*outlen] = '\0';
	return 0;
}

char *
b64_encode(const unsigned char *in, size_t len)
{
	size_t	 n = sodium_base64_ENCODED_LEN(len,
		    sodium_base64_VARIANT_ORIGINAL);
	char	*out;

	if ((out = malloc(n)) == NULL)
		return NULL;
	return sodium_bin2base64(out, n, in, len,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* A uint64 member of a KVPair, or Go's complaint about it. */
static int
kv_field_u64(json_t *pair, const char *name, uint64_t *out, char *err)
{
	json_t	*v = json_object_get(pair, name);
	char	*text;

	if (json_u64(v, out) == 0)
		return 0;
	text = json_dumps(v, JSON_ENCODE_ANY);
	snprintf(err, KV_ERRLEN, "json: cannot unmarshal %s%s%s into Go "
	    "struct field KVPair.%s of type uint64", json_kind(v),
	    json_is_number(v) && text != NULL ? " " : "",
	    json_is_number(v) && text != NULL ? text : "", name);
	free(text);
	return -1;
}

/* Fill e from one element of a KVPair array; e->value is malloc'd. */
static int
kv_entry_decode(json_t *pair, struct kv_entry *e, char *err)
{
	json_t	*v;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(pair)) {
		snprintf(err, KV_ERRLEN, "json: cannot unmarshal %s into Go "
		    "value of type api.KVPair", json_kind(pair));
		return -1;
	}
	v = json_object_get(pair, "Key");
	e->key = json_is_string(v) ? json_string_value(v) : "";
	v = json_object_get(pair, "Session");
	e->session = json_is_string(v) ? json_string_value(v) : "";
	if (kv_field_u64(pair, "Flags", &e->flags, err) == -1 ||
	    kv_field_u64(pair, "CreateIndex", &e->create_index, err) == -1 ||
	    kv_field_u64(pair, "ModifyIndex", &e->modify_index, err) == -1 ||
	    kv_field_u64(pair, "LockIndex", &e->lock_index, err) == -1)
		return -1;
	v = json_object_get(pair, "Value");
	if (json_is_string(v))
		return b64_decode(json_string_value(v), json_string_length(v),
		    &e->value, &e->vlen, err, KV_ERRLEN);
	if (v != NULL && !json_is_null(v)) {
		snprintf(err, KV_ERRLEN, "json: cannot unmarshal Value of "
		    "key %s into []uint8", e->key);
		return -1;
	}
	return 0;
}

/* GET a KVPair array: NULL and *n 0 on a 404. */
static json_t *
kv_get_pairs(const struct http_opts *o, const char *key, int recurse,
    size_t *n, int *rc, char *err)
{
	const struct kv_param	 p = { "recurse", NULL };
	struct http_response	 resp;
	json_error_t		 jerr;
	json_t			*doc;

	*n = 0;
	if ((*rc = kv_call(o, "GET", key, &p, recurse, NULL, 0, 1, &resp,
	    err)) != 0)
		return NULL;
	if (resp.status == 404) {
		http_response_free(&resp);
		return NULL;
	}
	doc = kv_json_load(resp.body, resp.len, &jerr);
	http_response_free(&resp);
	if (doc == NULL || (!json_is_array(doc) && !json_is_null(doc))) {
		snprintf(err, KV_ERRLEN, "%s", doc == NULL ? jerr.text :
		    "json: cannot unmarshal object into Go value of type "
		    "[]*api.KVPair");
		json_decref(doc);
		*rc = -1;
		return NULL;
	}
	*n = json_array_size(doc);
	return doc;
}

/* `consul kv get -detailed`: one block of rows per pair. */
static int
kv_print_detailed(const struct kv_entry *e, int b64, int keys_only)
{
	FILE	*f;
	char	*text = NULL, *enc = NULL;
	size_t	 len;
	int	 rc;

	if ((f = open_memstream(&text, &len)) == NULL)
		return -1;
	fprintf(f, "CreateIndex\t%" PRIu64 "\nFlags\t%" PRIu64 "\nKey\t%s\n"
	    "LockIndex\t%" PRIu64 "\nModifyIndex\t%" PRIu64 "\n"
	    "Session\t%s\n", e->create_index, e->flags, e->key,
	    e->lock_index, e->modify_index,
	    *e->session != '\0' ? e->session : "-");
	if (!keys_only) {
		fputs("Value\t", f);
		if (b64) {
			if ((enc = b64_encode(e->value, e->vlen)) == NULL) {
				fclose(f);
				free(text);
				return -1;
			}
			fputs(enc, f);
			free(enc);
		} else if (e->vlen > 0)
			fwrite(e->value, 1, e->vlen, f);
	}
	if (fclose(f) != 0) {
		free(text);
		return -1;
	}
	rc = tab_print(stdout, text, len, KV_TAB_PADDING);
	putchar('\n');
	free(text);
	return rc;
}

static void
kv_print_value(const struct kv_entry *e, int b64)
{
	char	*enc;

	if (b64) {
		if ((enc = b64_encode(e->value, e->vlen)) != NULL)
			fputs(enc, stdout);
		free(enc);
	} else if (e->vlen > 0)
		fwrite(e->value, 1, e->vlen, stdout);
	putchar('\n');
}

/* GET ?keys: one key per line. */
static int
kv_get_keys(const struct http_opts *o, const char *key, const char *sep)
{
	struct kv_param		 p[2] = { { "keys", NULL },
				    { "separator", sep } };
	struct http_response	 resp;
	json_error_t		 jerr;
	json_t			*doc, *v;
	char			 err[KV_ERRLEN];
	size_t			 i;
	int			 rc;

	if ((rc = kv_call(o, "GET", key, p, *sep != '\0' ? 2 : 1, NULL, 0,
	    1, &resp, err)) != 0)
		return kv_error(rc, err, "Error querying Consul agent");
	if (resp.status == 404) {
		http_response_free(&resp);
		return 0;
	}
	doc = json_loadb(resp.body, resp.len, JSON_DECODE_ANY, &jerr);
	http_response_free(&resp);
	if (doc == NULL) {
		fprintf(stderr, "Error querying Consul agent: %s\n",
		    jerr.text);
		return 1;
	}
	if (!json_is_array(doc) && !json_is_null(doc)) {
		fprintf(stderr, "Error querying Consul agent: json: cannot "
		    "unmarshal %s into Go value of type []string\n",
		    json_kind(doc));
		json_decref(doc);
		return 1;
	}
	json_array_foreach(doc, i, v)
		if (json_is_string(v)) {
			fwrite(json_string_value(v), 1, json_string_length(v),
			    stdout);
			putchar('\n');
		}
	json_decref(doc);
	return 0;
}

int
cmd_kv_get(int argc, char **argv)
{
	struct http_opts	 http;
	struct kv_entry		 e;
	json_t			*doc, *pair;
	const char		*key = "", *separator = "/";
	char			 err[KV_ERRLEN];
	size_t			 n, i;
	int			 b64 = 0, detailed = 0, keys = 0, recurse = 0;
	int			 first, rc, status = 0;
	const struct cflag	 flags[] = {
		{ "base64", CFLAG_BOOL, &b64 },
		{ "detailed", CFLAG_BOOL, &detailed },
		{ "keys", CFLAG_BOOL, &keys },
		{ "recurse", CFLAG_BOOL, &recurse },
		{ "separator", CFLAG_STRING, &separator },
	};

	if ((first = cflags_parse("kv get", flags, 5, &http, argc,
	    argv)) == -1)
		return 1;
	if (argc - first > 1) {
		fprintf(stderr, "Too many arguments (expected 1, got %d)\n",
		    argc - first);
		return 1;
	}
	if (argc - first == 1)
		key = argv[first];
	/* Keys cannot start with '/'; Consul drops one for the user. */
	if (*key == '/')
		key++;
	if (*key == '\0' && !recurse && !keys) {
		fprintf(stderr, "Error! Missing KEY argument\n");
		return 1;
	}

	if (keys && !recurse)
		return kv_get_keys(&http, key, separator);
	doc = kv_get_pairs(&http, key, recurse || keys, &n, &rc, err);
	if (rc != 0)
		return kv_error(rc, err, "Error querying Consul agent");
	if (!recurse && !keys && n == 0) {
		fprintf(stderr, "Error! No key exists at: %s\n", key);
		json_decref(doc);
		return 1;
	}
	json_array_foreach(doc, i, pair) {
		if (kv_entry_decode(pair, &e, err) == -1) {
			fprintf(stderr, "Error querying Consul agent: %s\n",
			    err);
			status = 1;
			break;
		}
		if (detailed) {
			if (kv_print_detailed(&e, b64, keys) == -1) {
				fprintf(stderr, "Error rendering KV pair: "
				    "%s\n", strerror(errno));
				status = 1;
			} else if (recurse && i + 1 < n)
				putchar('\n');
		} else if (keys)
			printf("%s\n", e.key);
		else {
			if (recurse)
				printf("%s:", e.key);
			kv_print_value(&e, b64);
		}
		free(e.value);
		if (status != 0 || !recurse)
			break;
	}
	json_decref(doc);
	return status;
}

/*
 * DATA as Consul's helpers.LoadDataSource reads it: @file, a bare "-"
 * for stdin, anything else (including "-x") literally.
 */
static int
kv_read_fd(int fd, char **out, size_t *len, int *error)
{
	char	*buf = NULL, *nbuf;
	size_t	 size = 0;
	ssize_t	 n;

	*len = 0;
	for (;;) {
		if (*len == size) {
			if (size >= KV_MAX_DATA) {
				*error = EFBIG;
				goto fail;
			}
			size = size ? size * 2 : 8192;
			if ((nbuf = realloc(buf, size + 1)) == NULL) {
				*error = errno;
				goto fail;
			}
			buf = nbuf;
		}
		if ((n = read(fd, buf + *len, size - *len)) == -1) {
			if (errno == EINTR)
				continue;
			*error = errno;
			goto fail;
		}
		if (n == 0)
			break;
		*len += n;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		*error = errno;
		return -1;
	}
	buf[*len] = '\0';
	*out = buf;
	return 0;
 fail:
	free(buf);
	return -1;
}

static int
kv_load_data(const char *arg, char **out, size_t *len, char *err)
{
	char	 why[128];
	int	 fd, error = 0;

	if (arg[0] == '@') {
		if ((fd = open(arg + 1, O_RDONLY)) == -1) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
			why[0] = tolower((unsigned char)why[0]);
			snprintf(err, KV_ERRLEN, "Failed to read file: "
			    "open %s: %s", arg + 1, why);
			return -1;
		}
		if (kv_read_fd(fd, out, len, &error) == -1) {
			snprintf(why, sizeof(why), "%s", strerror(error));
			why[0] = tolower((unsigned char)why[0]);
			snprintf(err, KV_ERRLEN, "Failed to read file: "
			    "read %s: %s", arg + 1, why);
			close(fd);
			return -1;
		}
		close(fd);
		return 0;
	}
	if (strcmp(arg, "-") == 0) {
		if (kv_read_fd(STDIN_FILENO, out, len, &error) == -1) {
			snprintf(why, sizeof(why), "%s", strerror(error));
			why[0] = tolower((unsigned char)why[0]);
			snprintf(err, KV_ERRLEN, "Failed to read stdin: read "
			    "/dev/stdin: %s", why);
			return -1;
		}
		return 0;
	}
	*len = strlen(arg);
	if ((*out = strdup(arg)) == NULL) {
		snprintf(err, KV_ERRLEN, "%s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The answer of a PUT or DELETE: Consul only looks for "true". */
static int
kv_true(const struct http_response *resp)
{
	return resp->body != NULL &&
	    memmem(resp->body, resp->len, "true", 4) != NULL;
}

int
cmd_kv_put(int argc, char **argv)
{
	struct http_opts	 http;
	struct http_response	 resp;
	struct kv_param		 p[2];
	const char		*key, *session = "";
	char			 err[KV_ERRLEN], num[2][24];
	char			*data = NULL;
	unsigned char		*bin = NULL;
	const void		*body;
	size_t			 len, binlen, np = 0;
	uint64_t		 kvflags = 0, modify_index = 0;
	int			 b64 = 0, cas = 0, acquire = 0, release = 0;
	int			 first, rc, status = 1;
	const struct cflag	 flags[] = {
		{ "acquire", CFLAG_BOOL, &acquire },
		{ "base64", CFLAG_BOOL, &b64 },
		{ "cas", CFLAG_BOOL, &cas },
		{ "flags", CFLAG_UINT64, &kvflags },
		{ "modify-index", CFLAG_UINT64, &modify_index },
		{ "release", CFLAG_BOOL, &release },
		{ "session", CFLAG_STRING, &session },
	};

	if ((first = cflags_parse("kv put", flags, 7, &http, argc,
	    argv)) == -1)
		return 1;
	switch (argc - first) {
	case 0:
		fprintf(stderr, "Error! Missing KEY argument\n");
		return 1;
	case 1:
	case 2:
		break;
	default:
		fprintf(stderr, "Error! Too many arguments (expected 1 or 2, "
		    "got %d)\n", argc - first);
		return 1;
	}
	key = argv[first];
	if (kv_load_data(argc - first == 2 ? argv[first + 1] : "", &data,
	    &len, err) == -1) {
		fprintf(stderr, "Error! %s\n", err);
		return 1;
	}
	body = data;
	if (b64) {
		/*
		 * Consul prints this and goes on to write whatever part
		 * decoded; a half-written value helps nobody, so stop.
		 */
		if (b64_decode(data, len, &bin, &binlen, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "Error! Cannot base 64 decode data: "
			    "%s\n", err);
			goto done;
		}
		body = bin;
		len = binlen;
	}
	if ((release || acquire) && *session == '\0') {
		fprintf(stderr, "Error! Missing -session (required with "
		    "-acquire and -release)\n");
		goto done;
	}
	if (cas && modify_index == 0) {
		fprintf(stderr, "Must specify -modify-index with -cas!\n");
		goto done;
	}

	/* Consul's api sorts the parameters; flags only when not 0. */
	if (acquire && !cas) {
		p[np].name = "acquire";
		p[np++].value = session;
	}
	if (cas) {
		snprintf(num[0], sizeof(num[0]), "%" PRIu64, modify_index);
		p[np].name = "cas";
		p[np++].value = num[0];
	}
	if (kvflags != 0) {
		snprintf(num[1], sizeof(num[1]), "%" PRIu64, kvflags);
		p[np].name = "flags";
		p[np++].value = num[1];
	}
	if (release && !cas && !acquire) {
		p[np].name = "release";
		p[np++].value = session;
	}
	rc = kv_call(&http, "PUT", key, p, np, body, len, 0, &resp, err);
	if (cas) {
		if (rc != 0)
			kv_error(rc, err, "Error! Did not write to %s", key);
		else if (!kv_true(&resp))
			fprintf(stderr, "Error! Did not write to %s: CAS "
			    "failed\n", key);
		else {
			printf("Success! Data written to: %s\n", key);
			status = 0;
		}
	} else if (acquire || release) {
		if (rc != 0)
			kv_error(rc, err, "Error! Failed writing data");
		else if (!kv_true(&resp))
			fprintf(stderr, "Error! Did not %s lock\n",
			    acquire ? "acquire" : "release");
		else {
			printf("Success! Lock %s on: %s\n",
			    acquire ? "acquired" : "released", key);
			status = 0;
		}
	} else if (rc != 0)
		kv_error(rc, err, "Error! Failed writing data");
	else {
		printf("Success! Data written to: %s\n", key);
		status = 0;
	}
	if (rc == 0)
		http_response_free(&resp);
 done:
	free(data);
	free(bin);
	return status;
}

int
cmd_kv_delete(int argc, char **argv)
{
	struct http_opts	 http;
	struct http_response	 resp;
	struct kv_param		 p = { "recurse", NULL };
	const char		*key = "";
	char			 err[KV_ERRLEN], num[24];
	uint64_t		 modify_index = 0;
	int			 cas = 0, recurse = 0, first, rc, status = 0;
	const struct cflag	 flags[] = {
		{ "cas", CFLAG_BOOL, &cas },
		{ "modify-index", CFLAG_UINT64, &modify_index },
		{ "recurse", CFLAG_BOOL, &recurse },
	};

	if ((first = cflags_parse("kv delete", flags, 3, &http, argc,
	    argv)) == -1)
		return 1;
	if (argc - first > 1) {
		fprintf(stderr, "Too many arguments (expected 1, got %d)\n",
		    argc - first);
		return 1;
	}
	if (argc - first == 1)
		key = argv[first];
	if (*key == '/')
		key++;
	if (*key == '\0' && !recurse) {
		fprintf(stderr, "Error! Missing KEY argument\n");
		return 1;
	}
	if (cas && modify_index == 0) {
		fprintf(stderr, "Cannot delete a key that does not exist. "
		    "Provide a -modify-index greater than than 0.\n");
		return 1;
	}
	if (modify_index != 0 && !cas) {
		fprintf(stderr, "Cannot specify -modify-index without -cas!\n");
		return 1;
	}
	if (recurse && cas) {
		fprintf(stderr, "Cannot specify both -cas and -recurse!\n");
		return 1;
	}

	if (cas) {
		snprintf(num, sizeof(num), "%" PRIu64, modify_index);
		p.name = "cas";
		p.value = num;
	}
	rc = kv_call(&http, "DELETE", key, &p, recurse || cas, NULL, 0, 0,
	    &resp, err);
	if (recurse) {
		if (rc != 0)
			return kv_error(rc, err, "Error! Did not delete prefix "
			    "%s", key);
		printf("Success! Deleted keys with prefix: %s\n", key);
	} else if (cas) {
		if (rc != 0)
			return kv_error(rc, err, "Error! Did not delete key %s",
			    key);
		if (kv_true(&resp))
			printf("Success! Deleted key: %s\n", key);
		else {
			fprintf(stderr, "Error! Did not delete key %s: CAS "
			    "failed\n", key);
			status = 1;
		}
	} else {
		if (rc != 0)
			return kv_error(rc, err, "Error deleting key %s", key);
		printf("Success! Deleted key: %s\n", key);
	}
	http_response_free(&resp);
	return status;
}

/* A JSON string as Go's encoding/json writes it (HTML-safe). */
static void
json_go_string(FILE *f, const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 n = strlen(str), i = 0, l;

	fputc('"', f);
	while (i < n) {
		if (s[i] < 0x80) {
			if (s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' &&
			    s[i] != '<' && s[i] != '>' && s[i] != '&')
				fputc(s[i], f);
			else if (s[i] == '"' || s[i] == '\\')
				fprintf(f, "\\%c", s[i]);
			else if (s[i] == '\n')
				fputs("\\n", f);
			else if (s[i] == '\r')
				fputs("\\r", f);
			else if (s[i] == '\t')
				fputs("\\t", f);
			else
				fprintf(f, "\\u%04x", s[i]);
			i++;
			continue;
		}
		if ((l = utf8_len(s + i, n - i)) == 0) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		if (l == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 &&
		    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
			fprintf(f, "\\u202%c", s[i + 2] == 0xa8 ? '8' : '9');
		else
			fwrite(s + i, 1, l, f);
		i += l;
	}
	fputc('"', f);
}

int
cmd_kv_export(int argc, char **argv)
{
	struct http_opts	 http;
	struct kv_entry		 e;
	json_t			*doc, *pair;
	const char		*key = "";
	char			 err[KV_ERRLEN], *enc;
	size_t			 n, i;
	int			 first, rc;

	if ((first = cflags_parse("kv export", NULL, 0, &http, argc,
	    argv)) == -1)
		return 1;
	if (argc - first > 1) {
		fprintf(stderr, "Too many arguments (expected 1, got %d)\n",
		    argc - first);
		return 1;
	}
	if (argc - first == 1)
		key = argv[first];
	if (*key == '/')
		key++;
	doc = kv_get_pairs(&http, key, 1, &n, &rc, err);
	if (rc != 0)
		return kv_error(rc, err, "Error querying Consul agent");

	/* Check every pair first: Consul prints all or nothing. */
	json_array_foreach(doc, i, pair) {
		if (kv_entry_decode(pair, &e, err) == -1) {
			fprintf(stderr, "Error querying Consul agent: %s\n",
			    err);
			json_decref(doc);
			return 1;
		}
		free(e.value);
	}
	fputs(n == 0 ? "[]" : "[\n", stdout);
	json_array_foreach(doc, i, pair) {
		if (kv_entry_decode(pair, &e, err) == -1 ||
		    (enc = b64_encode(e.value, e.vlen)) == NULL) {
			free(e.value);
			json_decref(doc);
			fprintf(stderr, "Error exporting KV data: %s\n",
			    strerror(errno));
			return 1;
		}
		fputs("\t{\n\t\t\"key\": ", stdout);
		json_go_string(stdout, e.key);
		printf(",\n\t\t\"flags\": %" PRIu64 ",\n\t\t\"value\": \"%s\"\n"
		    "\t}%s\n", e.flags, enc, i + 1 < n ? "," : "");
		free(enc);
		free(e.value);
	}
	fputs(n == 0 ? "\n" : "]\n", stdout);
	json_decref(doc);
	return 0;
}

/*
 * Go's path.Clean, for import -prefix: "" becomes ".", duplicate and
 * trailing slashes go, "." and ".." are resolved lexically.
 */
static char *
path_clean(const char *path)
{
	size_t	 n = strlen(path), r = 0, w = 0, dotdot = 0;
	int	 rooted = path[0] == '/';
	char	*out;

	if ((out = malloc(n + 2)) == NULL)
		return NULL;
	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (path[r] == '/')
			r++;
		else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/'))
			r++;
		else if (path[r] == '.' && path[r + 1] == '.' &&
		    (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && path[r] != '/'; r++)
				out[w++] = path[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

/*
 * The key an entry is imported under: path.Join(prefix, key), with a
 * trailing '/' kept, as Consul has done since 1.12.
 */
static char *
kv_import_key(const char *prefix, const char *key)
{
	char	*joined, *clean, *out;
	size_t	 n = strlen(key);

	if (*prefix == '\0' && *key == '\0')
		return strdup("");
	if (asprintf(&joined, "%s%s%s", prefix,
	    *prefix != '\0' && *key != '\0' ? "/" : "", key) == -1)
		return NULL;
	clean = path_clean(joined);
	free(joined);
	if (clean == NULL || n == 0 || key[n - 1] != '/')
		return clean;
	if (asprintf(&out, "%s/", clean) == -1)
		out = NULL;
	free(clean);
	return out;
}

/*
 * An entry of the export format: the names matched without regard to
 * case, as Go's json.Unmarshal does.  Returns -1 with err set.
 */
static int
kv_import_entry(json_t *obj, const char **key, uint64_t *flags,
    const char **value, size_t *vlen, char *err)
{
	const char	*name;
	json_t		*v;

	*key = *value = "";
	*vlen = 0;
	*flags = 0;
	if (!json_is_object(obj)) {
		snprintf(err, KV_ERRLEN, "json: cannot unmarshal %s into Go "
		    "value of type impexp.Entry", json_kind(obj));
		return -1;
	}
	json_object_foreach(obj, name, v) {
		if (json_is_null(v))
			continue;
		if (strcasecmp(name, "key") == 0) {
			if (!json_is_string(v))
				goto badtype;
			*key = json_string_value(v);
		} else if (strcasecmp(name, "value") == 0) {
			if (!json_is_string(v))
				goto badtype;
			*value = json_string_value(v);
			*vlen = json_string_length(v);
		} else if (strcasecmp(name, "flags") == 0) {
			if (json_u64(v, flags) == -1)
				goto badtype;
		}
	}
	return 0;
 badtype:
	snprintf(err, KV_ERRLEN, "json: cannot unmarshal %s into Go struct "
	    "field Entry.%s of type %s", json_kind(v), name,
	    strcasecmp(name, "flags") == 0 ? "uint64" : "string");
	return -1;
}

int
cmd_kv_import(int argc, char **argv)
{
	struct http_opts	 http;
	struct http_response	 resp;
	struct kv_param		 p = { "flags", NULL };
	json_error_t		 jerr;
	json_t			*doc = NULL, *entry;
	const char		*prefix = "", *ekey, *evalue;
	char			 err[KV_ERRLEN], num[24], *data = NULL;
	char			*key = NULL;
	unsigned char		*value = NULL;
	size_t			 len, elen, vlen, i;
	uint64_t		 eflags;
	int			 first, rc, status = 1;
	const struct cflag	 flags[] = {
		{ "prefix", CFLAG_STRING, &prefix },
	};

	if ((first = cflags_parse("kv import", flags, 1, &http, argc,
	    argv)) == -1)
		return 1;
	if (argc - first == 0) {
		fprintf(stderr, "Error! Missing DATA argument\n");
		return 1;
	}
	if (argc - first > 1) {
		fprintf(stderr, "Error! Too many arguments (expected 1, got "
		    "%d)\n", argc - first);
		return 1;
	}
	if (*argv[first] == '\0') {
		fprintf(stderr, "Error! Empty DATA argument\n");
		return 1;
	}
	if (kv_load_data(argv[first], &data, &len, err) == -1) {
		fprintf(stderr, "Error! %s\n", err);
		return 1;
	}
	if ((doc = kv_json_load(data, len, &jerr)) == NULL) {
		fprintf(stderr, "Cannot unmarshal data: %s\n", jerr.text);
		goto done;
	}
	if (!json_is_array(doc) && !json_is_null(doc)) {
		fprintf(stderr, "Cannot unmarshal data: json: cannot unmarshal "
		    "%s into Go value of type []*impexp.Entry\n",
		    json_kind(doc));
		goto done;
	}
	/* Go decodes the whole document before the first write. */
	json_array_foreach(doc, i, entry) {
		if (!json_is_null(entry) && kv_import_entry(entry, &ekey,
		    &eflags, &evalue, &elen, err) == -1) {
			fprintf(stderr, "Cannot unmarshal data: %s\n", err);
			goto done;
		}
	}
	json_array_foreach(doc, i, entry) {
		if (json_is_null(entry))
			continue;
		(void)kv_import_entry(entry, &ekey, &eflags, &evalue, &elen,
		    err);
		if (b64_decode(evalue, elen, &value, &vlen, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "Error base 64 decoding value for key "
			    "%s: %s\n", ekey, err);
			goto done;
		}
		if ((key = kv_import_key(prefix, ekey)) == NULL) {
			fprintf(stderr, "Error! %s\n", strerror(errno));
			goto done;
		}
		snprintf(num, sizeof(num), "%" PRIu64, eflags);
		p.value = num;
		if ((rc = kv_call(&http, "PUT", key, &p, eflags != 0, value,
		    vlen, 0, &resp, err)) != 0) {
			kv_error(rc, err, "Error! Failed writing data for key "
			    "%s", key);
			goto done;
		}
		http_response_free(&resp);
		printf("Imported: %s\n", key);
		free(key);
		free(value);
		key = NULL;
		value = NULL;
	}
	status = 0;
 done:
	json_decref(doc);
	free(data);
	free(key);
	free(value);
	return status;
}
