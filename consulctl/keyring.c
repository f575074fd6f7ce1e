/*
 * consulctl keyring: list, install, promote and remove gossip
 * encryption keys through /v1/operator/keyring (GET, POST, PUT,
 * DELETE), with the banners and the per-pool listing of `consul
 * keyring`.  Consul's agent reports nodes that failed an operation as
 * an error answer; a 200 answer whose pools carry an Error is taken as
 * a failure too, so that the exit status says whether every node did
 * what was asked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

#define KEYRING_PATH		"/v1/operator/keyring"
#define KEYRING_MAX_RELAY	5

/* The names of an object's members, sorted; free() the array only. */
static const char **
sorted_names(json_t *obj, size_t *n)
{
	const char	**names, *k;
	json_t		 *v;
	size_t		  i = 0;

	*n = json_is_object(obj) ? json_object_size(obj) : 0;
	if ((names = calloc(*n + 1, sizeof(*names))) == NULL)
		return NULL;
	if (*n > 0) {
		json_object_foreach(obj, k, v)
			names[i++] = k;
	}
	qsort(names, *n, sizeof(*names), str_ptr_cmp);
	return names;
}

static json_int_t
num(json_t *obj, const char *name)
{
	json_t	*v = json_object_get(obj, name);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* "WAN" or "<dc> (LAN)", then " [<segment>]" or " [partition: <p>]". */
static void
pool_name(FILE *f, json_t *pool)
{
	const char	*segment = json_str(pool, "Segment");
	const char	*partition = json_str(pool, "Partition");

	if (json_is_true(json_object_get(pool, "WAN")))
		fputs("WAN", f);
	else
		fprintf(f, "%s (LAN)", json_str(pool, "Datacenter"));
	if (*segment != '\0')
		fprintf(f, " [%s]", segment);
	else if (*partition != '\0' && strcmp(partition, "default") != 0)
		fprintf(f, " [partition: %s]", partition);
}

/*
 * One pool as Consul prints it: an empty line, the pool's name, what
 * single nodes said, then each key with the number of nodes that hold
 * it.  Go prints maps in random order; here they come sorted.
 */
static int
keyring_print_pool(json_t *pool, const char *which)
{
	const char	**names;
	json_t		 *keys, *msgs;
	size_t		  i, n;

	printf("\n");
	pool_name(stdout, pool);
	printf(":\n");
	msgs = json_object_get(pool, "Messages");
	if ((names = sorted_names(msgs, &n)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		printf("  ===> %s: %s\n", names[i], json_str(msgs, names[i]));
	free(names);
	keys = json_object_get(pool, which);
	if ((names = sorted_names(keys, &n)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		printf("  %s [%lld/%lld]\n", names[i],
		    (long long)num(keys, names[i]),
		    (long long)num(pool, "NumNodes"));
	free(names);
	return 0;
}

/*
 * A pool that reports an Error, on stderr as Consul's agent words it
 * when it turns the same report into an error answer.
 */
static int
keyring_print_failure(json_t *pool)
{
	const char	**names;
	json_t		 *msgs;
	size_t		  i, n;

	pool_name(stderr, pool);
	fprintf(stderr, " error: %s\n", json_str(pool, "Error"));
	msgs = json_object_get(pool, "Messages");
	if ((names = sorted_names(msgs, &n)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s: %s\n", names[i], json_str(msgs, names[i]));
	free(names);
	return 0;
}

static int
keyring_list(const struct http_opts *http, const char *query, int primary)
{
	struct http_response	 resp;
	json_error_t		 jerr;
	json_t			*doc, *pool;
	char			 err[1024], *path;
	size_t			 i;
	int			 rc, status = 0;

	printf("==> Gathering installed %sencryption keys...\n",
	    primary ? "primary " : "");
	fflush(stdout);
	if (asprintf(&path, "%s%s", KEYRING_PATH, query) == -1) {
		fprintf(stderr, "error: %s\n", strerror(errno));
		return 1;
	}
	rc = http_send(http, "GET", path, NULL, NULL, 0, &resp, err,
	    sizeof(err));
	free(path);
	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "error: %s\n", err);
		return 1;
	}
	if (resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		fprintf(stderr, "error: %s\n", err);
		http_response_free(&resp);
		return 1;
	}
	doc = json_loadb(resp.body, resp.len, JSON_DECODE_ANY, &jerr);
	http_response_free(&resp);
	if (doc == NULL || (!json_is_array(doc) && !json_is_null(doc))) {
		fprintf(stderr, "error: %s\n", doc == NULL ? jerr.text :
		    "json: cannot unmarshal non-array into Go value of type "
		    "[]*api.KeyringResponse");
		json_decref(doc);
		return 1;
	}
	json_array_foreach(doc, i, pool) {
		if (!json_is_object(pool))
			continue;
		if (keyring_print_pool(pool,
		    primary ? "PrimaryKeys" : "Keys") == -1) {
			fprintf(stderr, "error: %s\n", strerror(errno));
			status = 1;
			break;
		}
	}
	fflush(stdout);
	json_array_foreach(doc, i, pool) {
		if (!json_is_object(pool) || *json_str(pool, "Error") == '\0')
			continue;
		status = 1;
		if (keyring_print_failure(pool) == -1) {
			fprintf(stderr, "error: %s\n", strerror(errno));
			break;
		}
	}
	json_decref(doc);
	return status;
}

/* POST, PUT or DELETE {"Key": key}, as Go's json.Encoder writes it. */
static int
keyring_write(const struct http_opts *http, const char *method,
    const char *key, const char *query)
{
	struct http_response	 resp;
	json_t			*obj;
	char			 err[1024], *json = NULL, *body = NULL;
	char			*path = NULL;
	int			 rc, status = 1;

	/* jansson takes only UTF-8; a base64 key is ASCII anyway. */
	if ((obj = json_pack("{s:s}", "Key", key)) == NULL) {
		fprintf(stderr, "error: the key is not valid UTF-8\n");
		goto done;
	}
	/* json.Encoder ends every value with a newline. */
	if ((json = json_dumps(obj, JSON_COMPACT)) == NULL ||
	    asprintf(&body, "%s\n", json) == -1) {
		body = NULL;
		goto nomem;
	}
	if (asprintf(&path, "%s%s", KEYRING_PATH, query) == -1) {
		path = NULL;
		goto nomem;
	}
	rc = http_send(http, method, path, "application/json", body,
	    strlen(body), &resp, err, sizeof(err));
	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		goto done;
	}
	if (rc != 0) {
		fprintf(stderr, "error: %s\n", err);
		goto done;
	}
	if (resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		fprintf(stderr, "error: %s\n", err);
	} else
		status = 0;
	http_response_free(&resp);
	goto done;
 nomem:
	fprintf(stderr, "error: %s\n", strerror(ENOMEM));
 done:
	json_decref(obj);
	free(json);
	free(body);
	free(path);
	return status;
}

int
cmd_keyring(int argc, char **argv)
{
	struct http_opts	 http;
	const char		*install = "", *use = "", *remove = "";
	char			 query[64];
	int			 list = 0, list_primary = 0, local = 0;
	int			 relay = 0, actions;
	const struct cflag	 flags[] = {
		{ "install", CFLAG_STRING, &install },
		{ "list", CFLAG_BOOL, &list },
		{ "list-primary", CFLAG_BOOL, &list_primary },
		{ "local-only", CFLAG_BOOL, &local },
		{ "relay-factor", CFLAG_INT, &relay },
		{ "remove", CFLAG_STRING, &remove },
		{ "use", CFLAG_STRING, &use },
	};

	if (cflags_parse("keyring", flags, 7, &http, argc, argv) == -1)
		return 1;
	actions = list + list_primary + (*install != '\0') + (*use != '\0') +
	    (*remove != '\0');
	if (actions == 0) {
		fprintf(stderr, "Usage: consulctl keyring [options]\n\n"
		    "  One of -list, -list-primary, -install, -use or "
		    "-remove is required.\n");
		return 1;
	}
	if (actions > 1) {
		fprintf(stderr, "Only a single action is allowed\n");
		return 1;
	}
	if (relay < 0 || relay > KEYRING_MAX_RELAY) {
		fprintf(stderr, "Error parsing relay factor: Relay factor "
		    "must be in range: [0, %d]\n", KEYRING_MAX_RELAY);
		return 1;
	}
	if (local && !list && !list_primary) {
		fprintf(stderr, "Error validating local-only: local-only can "
		    "only be set for list requests\n");
		return 1;
	}

	/* Go's url.Values sorts the parameters by name. */
	if (local && relay > 0)
		snprintf(query, sizeof(query), "?local-only=true&"
		    "relay-factor=%d", relay);
	else if (local)
		snprintf(query, sizeof(query), "?local-only=true");
	else if (relay > 0)
		snprintf(query, sizeof(query), "?relay-factor=%d", relay);
	else
		query[0] = '\0';

	if (list || list_primary)
		return keyring_list(&http, query, list_primary);
	if (*install != '\0') {
		printf("==> Installing new gossip encryption key...\n");
		fflush(stdout);
		return keyring_write(&http, "POST", install, query);
	}
	if (*use != '\0') {
		printf("==> Changing primary gossip encryption key...\n");
		fflush(stdout);
		return keyring_write(&http, "PUT", use, query);
	}
	printf("==> Removing gossip encryption key...\n");
	fflush(stdout);
	return keyring_write(&http, "DELETE", remove, query);
}
