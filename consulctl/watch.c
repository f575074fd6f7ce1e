/*
 * consulctl watch: follow one view of the cluster with blocking queries
 * (?index=N), as `consul watch` does.  Every time the X-Consul-Index of
 * the answer moves and its data differ from the last seen, the handler
 * runs with the data as JSON on its standard input and CONSUL_INDEX in
 * its environment; without a handler the data are printed once.  An
 * index that goes backwards (a snapshot restore, say) starts the
 * watch over from 0; errors are retried with a growing pause.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consulctl.h"

#define WATCH_ERRLEN		2048
#define WATCH_BACKOFF_MAX	30	/* seconds between retries, at most */

/* What to ask for, from -type and its flags. */
struct watch {
	const char	*type;
	char		*path;		/* without ?index */
	int		 query;		/* path has a query string */
	int		 single;	/* key: the first pair, not the array */
	int		 allow404;	/* key, keyprefix: 404 is "no data" */
};

/*
 * The flags that a type does not take; Consul refuses them too.  Returns
 * the name of the first one set, or NULL.
 */
static const char *
watch_extra(const char *type, const char *key, const char *prefix,
    const char *service, const struct cflag_list *tags, int passingonly,
    const char *state)
{
	int	 k = strcmp(type, "key") == 0;
	int	 kp = strcmp(type, "keyprefix") == 0;
	int	 s = strcmp(type, "service") == 0;
	int	 c = strcmp(type, "checks") == 0;

	if (*key != '\0' && !k)
		return "key";
	if (*prefix != '\0' && !kp)
		return "prefix";
	if (*service != '\0' && !s && !c)
		return "service";
	if (tags->n > 0 && !s)
		return "tag";
	if (passingonly && !s)
		return "passingonly";
	if (*state != '\0' && !c)
		return "state";
	return NULL;
}

/* Build w from the flags; -1 after printing what is wrong. */
static int
watch_setup(struct watch *w, const char *type, const char *key,
    const char *prefix, const char *service, const struct cflag_list *tags,
    int passingonly, const char *state)
{
	FILE		*f;
	const char	*extra;
	size_t		 len, i;

	memset(w, 0, sizeof(*w));
	w->type = type;
	if (*type == '\0') {
		fprintf(stderr, "Must specify watch type\n");
		return -1;
	}
	if (strcmp(type, "key") != 0 && strcmp(type, "keyprefix") != 0 &&
	    strcmp(type, "services") != 0 && strcmp(type, "nodes") != 0 &&
	    strcmp(type, "service") != 0 && strcmp(type, "checks") != 0) {
		fprintf(stderr, "Error parsing watch: Unsupported watch type: "
		    "%s\n", type);
		return -1;
	}
	if ((extra = watch_extra(type, key, prefix, service, tags,
	    passingonly, state)) != NULL) {
		fprintf(stderr, "Error parsing watch: Invalid parameters: "
		    "-%s does not apply to -type=%s\n", extra, type);
		return -1;
	}
	if (strcmp(type, "key") == 0 && *key == '\0') {
		fprintf(stderr, "Error parsing watch: Must specify a single "
		    "key to watch\n");
		return -1;
	}
	if (strcmp(type, "keyprefix") == 0 && *prefix == '\0') {
		fprintf(stderr, "Error parsing watch: Must specify a single "
		    "prefix to watch\n");
		return -1;
	}
	if (strcmp(type, "service") == 0 && *service == '\0') {
		fprintf(stderr, "Error parsing watch: Must specify a single "
		    "service to watch\n");
		return -1;
	}
	if (strcmp(type, "checks") == 0 && *service != '\0' &&
	    *state != '\0') {
		fprintf(stderr, "Error parsing watch: Cannot specify service "
		    "and state\n");
		return -1;
	}

	if ((f = open_memstream(&w->path, &len)) == NULL)
		goto syserr;
	if (strcmp(type, "key") == 0) {
		fputs("/v1/kv/", f);
		http_escape(f, *key == '/' ? key + 1 : key, "/");
		w->single = w->allow404 = 1;
	} else if (strcmp(type, "keyprefix") == 0) {
		fputs("/v1/kv/", f);
		http_escape(f, *prefix == '/' ? prefix + 1 : prefix, "/");
		fputs("?recurse=", f);
		w->query = w->allow404 = 1;
	} else if (strcmp(type, "services") == 0)
		fputs("/v1/catalog/services", f);
	else if (strcmp(type, "nodes") == 0)
		fputs("/v1/catalog/nodes", f);
	else if (strcmp(type, "service") == 0) {
		fputs("/v1/health/service/", f);
		http_escape(f, service, NULL);
		for (i = 0; i < tags->n; i++) {
			fprintf(f, "%ctag=", w->query ? '&' : '?');
			http_escape(f, tags->v[i], NULL);
			w->query = 1;
		}
		if (passingonly) {
			fprintf(f, "%cpassing=1", w->query ? '&' : '?');
			w->query = 1;
		}
	} else if (*service != '\0') {
		fputs("/v1/health/checks/", f);
		http_escape(f, service, NULL);
	} else {
		fputs("/v1/health/state/", f);
		http_escape(f, *state != '\0' ? state : "any", NULL);
	}
	if (fclose(f) != 0)
		goto syserr;
	return 0;
 syserr:
	fprintf(stderr, "Error: %s\n", strerror(errno));
	free(w->path);
	w->path = NULL;
	return -1;
}

/*
 * Skip one JSON value that starts at buf[i] (the text is known to be
 * valid); returns the offset after it.
 */
static size_t
json_skip(const char *buf, size_t len, size_t i)
{
	int	 depth = 0, instr = 0;

	for (; i < len; i++) {
		if (instr) {
			if (buf[i] == '\\')
				i++;
			else if (buf[i] == '"') {
				instr = 0;
				if (depth == 0)
					return i + 1;
			}
			continue;
		}
		switch (buf[i]) {
		case '"':
			instr = 1;
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (--depth == 0)
				return i + 1;
			if (depth < 0)
				return i;
			break;
		case ',':
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			if (depth == 0)
				return i;
			break;
		}
	}
	return len;
}

/*
 * The data handed on: the body itself, or for a single key the first
 * pair of the array, "null" when there is none.  The text is checked
 * to be JSON first (with 64-bit flags allowed).
 */
static int
watch_data(const struct watch *w, const struct http_response *resp,
    const char **data, size_t *len, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*doc;
	size_t		 i, end;

	if (resp->status == 404) {
		*data = "null";
		*len = 4;
		return 0;
	}
	if ((doc = kv_json_load(resp->body, resp->len, &jerr)) == NULL) {
		snprintf(err, errlen, "invalid JSON: %s", jerr.text);
		return -1;
	}
	if (w->single && !json_is_array(doc)) {
		snprintf(err, errlen, "json: cannot unmarshal %s into Go value "
		    "of type []*api.KVPair", json_kind(doc));
		json_decref(doc);
		return -1;
	}
	if (w->single && json_array_size(doc) == 0) {
		json_decref(doc);
		*data = "null";
		*len = 4;
		return 0;
	}
	json_decref(doc);
	*data = resp->body;
	*len = resp->len;
	if (!w->single)
		return 0;
	for (i = 0; i < resp->len && resp->body[i] != '['; i++)
		;
	for (i++; i < resp->len && strchr(" \t\r\n", resp->body[i]) != NULL;
	    i++)
		;
	end = json_skip(resp->body, resp->len, i);
	*data = resp->body + i;
	*len = end - i;
	return 0;
}

static void
indent(FILE *f, int pretty, int depth)
{
	if (!pretty)
		return;
	fputc('\n', f);
	while (depth-- > 0)
		fputs("    ", f);
}

/*
 * Valid JSON laid out as Go's json.MarshalIndent(v, "", "    ") lays it
 * out (pretty), or as json.Marshal does, followed by a newline; numbers
 * and strings are copied as they came.
 */
static void
json_print(FILE *f, const char *buf, size_t len, int pretty)
{
	size_t	 i, j;
	int	 depth = 0, instr = 0;

	for (i = 0; i < len; i++) {
		if (instr) {
			fputc(buf[i], f);
			if (buf[i] == '\\' && i + 1 < len)
				fputc(buf[++i], f);
			else if (buf[i] == '"')
				instr = 0;
			continue;
		}
		switch (buf[i]) {
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			break;
		case '"':
			instr = 1;
			fputc('"', f);
			break;
		case '{':
		case '[':
			for (j = i + 1; j < len &&
			    strchr(" \t\r\n", buf[j]) != NULL; j++)
				;
			if (j < len && (buf[j] == '}' || buf[j] == ']')) {
				fputc(buf[i], f);
				fputc(buf[j], f);
				i = j;
				break;
			}
			fputc(buf[i], f);
			indent(f, pretty, ++depth);
			break;
		case '}':
		case ']':
			indent(f, pretty, --depth);
			fputc(buf[i], f);
			break;
		case ',':
			fputc(',', f);
			indent(f, pretty, depth);
			break;
		case ':':
			fputs(pretty ? ": " : ":", f);
			break;
		default:
			fputc(buf[i], f);
			break;
		}
	}
	fputc('\n', f);
}

/*
 * Run the handler with the data on its standard input; 0 when it
 * exited 0, else -1 after saying why.
 */
static int
watch_handler(char **args, int nargs, int shell, const char *data,
    size_t len, uint64_t index)
{
	FILE	*in;
	char	 err[WATCH_ERRLEN], num[24];
	pid_t	 pid;
	int	 status;

	if ((in = tmpfile()) != NULL)
		json_print(in, data, len, 0);
	if (in == NULL || ferror(in) || fflush(in) != 0 ||
	    fseek(in, 0, SEEK_SET) != 0) {
		fprintf(stderr, "Error encoding output: %s\n",
		    strerror(errno));
		if (in != NULL)
			fclose(in);
		return -1;
	}
	snprintf(num, sizeof(num), "%" PRIu64, index);
	pid = child_start(args, nargs, shell, fileno(in), "CONSUL_INDEX", num,
	    0, err, sizeof(err));
	fclose(in);
	if (pid == -1) {
		fprintf(stderr, "Error starting handler: %s\n", err);
		return -1;
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			fprintf(stderr, "Error executing handler: %s\n",
			    strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	child_status(status, err, sizeof(err));
	fprintf(stderr, "Error executing handler: %s\n", err);
	return -1;
}

static void
watch_backoff(const struct watch *w, const char *err, unsigned int *failures)
{
	unsigned int	 pause;

	if (*failures < 31)
		(*failures)++;
	pause = 1u << (*failures - 1);
	if (pause > WATCH_BACKOFF_MAX)
		pause = WATCH_BACKOFF_MAX;
	fprintf(stderr, "Watch (type: %s) errored: %s, retry in %us\n",
	    w->type, err, pause);
	sleep(pause);
}

/* The blocking-query loop; returns the exit status. */
static int
watch_run(const struct http_opts *http, const struct watch *w, char **args,
    int nargs, int shell)
{
	struct http_response	 resp;
	const char		*data;
	char			*path = NULL, *last = NULL, *end;
	char			 err[WATCH_ERRLEN];
	size_t			 len, lastlen = 0;
	uint64_t		 index = 0, got;
	unsigned int		 failures = 0;
	int			 rc, seen = 0, status = 1;

	for (;;) {
		free(path);
		path = NULL;
		if (index > 0 && asprintf(&path, "%s%cindex=%" PRIu64,
		    w->path, w->query ? '&' : '?', index) == -1) {
			path = NULL;
			fprintf(stderr, "Error: %s\n", strerror(errno));
			break;
		}
		rc = http_send(http, "GET", path != NULL ? path : w->path,
		    NULL, NULL, 0, &resp, err, sizeof(err));
		if (rc == -2) {
			fprintf(stderr, "Error connecting to Consul agent: "
			    "%s\n", err);
			break;
		}
		if (rc == -1) {
			watch_backoff(w, err, &failures);
			continue;
		}
		if (resp.status != 200 && !(w->allow404 &&
		    resp.status == 404)) {
			http_unexpected(&resp, err, sizeof(err));
			http_response_free(&resp);
			watch_backoff(w, err, &failures);
			continue;
		}
		errno = 0;
		got = resp.index != NULL ? strtoull(resp.index, &end, 10) : 0;
		if (resp.index == NULL || *resp.index == '\0' || *end != '\0' ||
		    errno != 0 || got == 0) {
			snprintf(err, sizeof(err), "no valid X-Consul-Index in "
			    "the answer");
			http_response_free(&resp);
			watch_backoff(w, err, &failures);
			continue;
		}
		if (watch_data(w, &resp, &data, &len, err,
		    sizeof(err)) == -1) {
			http_response_free(&resp);
			watch_backoff(w, err, &failures);
			continue;
		}
		failures = 0;
		/* The same index: the wait ran out, nothing changed. */
		if (seen && got == index) {
			http_response_free(&resp);
			continue;
		}
		index = got < index ? 0 : got;
		if (seen && len == lastlen && memcmp(data, last, len) == 0) {
			http_response_free(&resp);
			continue;
		}
		free(last);
		if ((last = malloc(len + 1)) == NULL) {
			fprintf(stderr, "Error: %s\n", strerror(errno));
			http_response_free(&resp);
			break;
		}
		memcpy(last, data, len);
		lastlen = len;
		seen = 1;
		http_response_free(&resp);
		if (nargs == 0) {
			json_print(stdout, last, lastlen, 1);
			status = fflush(stdout) == 0 ? 0 : 1;
			break;
		}
		if (watch_handler(args, nargs, shell, last, lastlen,
		    got) == -1)
			break;
	}
	free(path);
	free(last);
	return status;
}

int
cmd_watch(int argc, char **argv)
{
	struct http_opts	 http;
	struct http_response	 resp;
	struct cflag_list	 tags = { NULL, 0 };
	struct watch		 w;
	const char		*type = "", *key = "", *prefix = "";
	const char		*service = "", *state = "";
	char			 err[WATCH_ERRLEN];
	int			 passingonly = 0, shell = 1, first, rc;
	int			 status = 1;
	const struct cflag	 flags[] = {
		{ "type", CFLAG_STRING, &type },
		{ "key", CFLAG_STRING, &key },
		{ "prefix", CFLAG_STRING, &prefix },
		{ "service", CFLAG_STRING, &service },
		{ "tag", CFLAG_LIST, &tags },
		{ "passingonly", CFLAG_BOOL, &passingonly },
		{ "state", CFLAG_STRING, &state },
		{ "shell", CFLAG_BOOL, &shell },
	};

	memset(&w, 0, sizeof(w));
	if ((first = cflags_parse("watch", flags, 8, &http, argc,
	    argv)) == -1)
		goto done;
	if (watch_setup(&w, type, key, prefix, service, &tags, passingonly,
	    state) == -1)
		goto done;

	/* Consul asks for the agent's name first, to see that it is up. */
	rc = http_send(&http, "GET", "/v1/agent/self", NULL, NULL, 0, &resp,
	    err, sizeof(err));
	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		goto done;
	}
	if (rc == 0 && resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		rc = -1;
		http_response_free(&resp);
	} else if (rc == 0)
		http_response_free(&resp);
	if (rc != 0) {
		fprintf(stderr, "Error querying Consul agent: %s\n", err);
		goto done;
	}
	/* A handler that has gone away must not kill the watch. */
	signal(SIGPIPE, SIG_IGN);
	status = watch_run(&http, &w, argv + first, argc - first, shell);
 done:
	free(w.path);
	cflag_list_free(&tags);
	return status;
}
