/*
 * Flags as Go's flag package takes them (-name, --name, -name=value,
 * -name value; booleans only with =), parsing stops at the first
 * argument that is not a flag.  A repeatable flag (CFLAG_LIST) collects
 * its values in order.  Every command that talks to the agent also takes
 * Consul's HTTP flags; the environment fills what the flags leave unset.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

static int
parse_bool(const char *cmd, const char *name, const char *v, int *out)
{
	if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
	    strcmp(v, "t") == 0 || strcmp(v, "TRUE") == 0 ||
	    strcmp(v, "True") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
	    strcmp(v, "f") == 0 || strcmp(v, "FALSE") == 0 ||
	    strcmp(v, "False") == 0)
		*out = 0;
	else {
		fprintf(stderr, "invalid boolean value \"%s\" for -%s: "
		    "parse error\n", v, name);
		return -1;
	}
	return 0;
}

static int
cflag_list_add(struct cflag_list *l, const char *value)
{
	const char	**v;

	if ((v = reallocarray(l->v, l->n + 1, sizeof(*v))) == NULL)
		return -1;
	v[l->n++] = value;
	l->v = v;
	return 0;
}

void
cflag_list_free(struct cflag_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* A boolean environment variable as Go's strconv.ParseBool reads it. */
static int
env_bool(const char *name, int def, int *out)
{
	const char	*v = getenv(name);
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true",
	    "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false",
	    "False" };
	size_t		 i;

	*out = def;
	if (v == NULL || *v == '\0')
		return 0;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	fprintf(stderr, "Error: could not parse %s: strconv.ParseBool: "
	    "parsing \"%s\": invalid syntax\n", name, v);
	return -1;
}

/* The TLS settings from the environment, where no flag gave them. */
static int
env_tls(struct http_opts *h)
{
	int	 verify;

	if (h->ca_file == NULL)
		h->ca_file = getenv("CONSUL_CACERT");
	if (h->ca_path == NULL)
		h->ca_path = getenv("CONSUL_CAPATH");
	if (h->client_cert == NULL)
		h->client_cert = getenv("CONSUL_CLIENT_CERT");
	if (h->client_key == NULL)
		h->client_key = getenv("CONSUL_CLIENT_KEY");
	if (h->tls_server_name == NULL)
		h->tls_server_name = getenv("CONSUL_TLS_SERVER_NAME");
	if (env_bool("CONSUL_HTTP_SSL", 0, &h->ssl) == -1 ||
	    env_bool("CONSUL_HTTP_SSL_VERIFY", 1, &verify) == -1)
		return -1;
	h->ssl_noverify = !verify;
	return 0;
}

/*
 * Returns the index of the first argument after the flags, or -1 after
 * printing an error.  http may be NULL for commands that need no agent.
 */
int
cflags_parse(const char *cmd, const struct cflag *flags, size_t nflags,
    struct http_opts *http, int argc, char **argv)
{
	struct cflag	 common[] = {
		{ "http-addr", CFLAG_STRING, NULL },
		{ "token", CFLAG_STRING, NULL },
		{ "token-file", CFLAG_STRING, NULL },
		{ "datacenter", CFLAG_STRING, NULL },
		{ "stale", CFLAG_BOOL, NULL },
		{ "ca-file", CFLAG_STRING, NULL },
		{ "ca-path", CFLAG_STRING, NULL },
		{ "client-cert", CFLAG_STRING, NULL },
		{ "client-key", CFLAG_STRING, NULL },
		{ "tls-server-name", CFLAG_STRING, NULL },
	};
	const size_t	 ncommon = sizeof(common) / sizeof(common[0]);
	const struct cflag *f;
	const char	*arg, *name, *eq, *value;
	char		*end;
	size_t		 namelen, j;
	unsigned long long u;
	long		 n;
	int		 i;

	if (http != NULL) {
		memset(http, 0, sizeof(*http));
		common[0].dest = &http->addr;
		common[1].dest = &http->token;
		common[2].dest = &http->token_file;
		common[3].dest = &http->datacenter;
		common[4].dest = &http->stale;
		common[5].dest = &http->ca_file;
		common[6].dest = &http->ca_path;
		common[7].dest = &http->client_cert;
		common[8].dest = &http->client_key;
		common[9].dest = &http->tls_server_name;
	}
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (arg[0] != '-' || arg[1] == '\0')
			break;
		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		name = arg + 1 + (arg[1] == '-');
		if (strcmp(name, "h") == 0 || strcmp(name, "help") == 0) {
			printf("Usage: consulctl %s [options]\n\nSee "
			    "consulctl(8) for the options.\n", cmd);
			exit(0);
		}
		eq = strchr(name, '=');
		namelen = eq ? (size_t)(eq - name) : strlen(name);
		value = eq ? eq + 1 : NULL;
		f = NULL;
		for (j = 0; j < nflags && f == NULL; j++)
			if (strlen(flags[j].name) == namelen &&
			    strncmp(flags[j].name, name, namelen) == 0)
				f = &flags[j];
		for (j = 0; http != NULL && j < ncommon && f == NULL; j++)
			if (strlen(common[j].name) == namelen &&
			    strncmp(common[j].name, name, namelen) == 0)
				f = &common[j];
		if (f == NULL) {
			fprintf(stderr, "flag provided but not defined: "
			    "-%.*s\n", (int)namelen, name);
			return -1;
		}
		if (f->kind == CFLAG_BOOL) {
			if (parse_bool(cmd, f->name, value, f->dest) == -1)
				return -1;
			continue;
		}
		if (value == NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "flag needs an argument: "
				    "-%s\n", f->name);
				return -1;
			}
			value = argv[++i];
		}
		if (f->kind == CFLAG_STRING) {
			*(const char **)f->dest = value;
			continue;
		}
		if (f->kind == CFLAG_LIST) {
			if (cflag_list_add(f->dest, value) == -1) {
				fprintf(stderr, "%s\n", strerror(errno));
				return -1;
			}
			continue;
		}
		if (f->kind == CFLAG_UINT64) {
			/* Go's ParseUint(s, 0, 64): no sign, no spaces. */
			errno = 0;
			u = isdigit((unsigned char)value[0]) ?
			    strtoull(value, &end, 0) : 0;
			if (!isdigit((unsigned char)value[0]) || *end != '\0' ||
			    errno != 0) {
				fprintf(stderr, "invalid value \"%s\" for flag "
				    "-%s: %s\n", value, f->name,
				    errno == ERANGE ? "value out of range" :
				    "parse error");
				return -1;
			}
			*(uint64_t *)f->dest = u;
			continue;
		}
		n = strtol(value, &end, 0);
		if (*value == '\0' || *end != '\0' || n < -2147483647 ||
		    n > 2147483647) {
			fprintf(stderr, "invalid value \"%s\" for flag -%s: "
			    "parse error\n", value, f->name);
			return -1;
		}
		*(int *)f->dest = (int)n;
	}
	if (http != NULL) {
		if (http->addr == NULL)
			http->addr = getenv("CONSUL_HTTP_ADDR");
		if (http->addr == NULL || *http->addr == '\0')
			http->addr = "127.0.0.1:8500";
		if (http->token == NULL)
			http->token = getenv("CONSUL_HTTP_TOKEN");
		if (http->token_file == NULL)
			http->token_file = getenv("CONSUL_HTTP_TOKEN_FILE");
		if (env_tls(http) == -1)
			return -1;
	}
	return i;
}

/* cflags_parse for a command that takes flags only: 0, or -1 said. */
int
cflags_parse_only(const char *cmd, const struct cflag *flags, size_t nflags,
    struct http_opts *http, int argc, char **argv)
{
	int	first;

	if ((first = cflags_parse(cmd, flags, nflags, http, argc, argv)) == -1)
		return -1;
	if (first != argc) {
		fprintf(stderr, "Too many arguments (expected 0, got %d)\n",
		    argc - first);
		return -1;
	}
	return 0;
}
