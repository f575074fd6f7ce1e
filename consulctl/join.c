/*
 * consulctl join, leave and force-leave: the commands that change the
 * local agent's place in the gossip pools, each one PUT to
 * /v1/agent/..., with the messages and exit codes of `consul join`,
 * `consul leave` and `consul force-leave`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

/* The characters Go's url package leaves alone in a path. */
#define JOIN_PATH_KEEP	"$&+,/:;=@"

/*
 * PUT prefix<arg>query with no body.  Returns 0 on a 200 answer, -1
 * with Consul's text in err on any other answer or a failed request,
 * -2 when the HTTP options are unusable.
 */
static int
agent_put(const struct http_opts *o, const char *prefix, const char *arg,
    const char *query, char *err, size_t errlen)
{
	struct http_response	 resp;
	FILE			*f;
	char			*path = NULL;
	size_t			 pathlen;
	int			 rc;

	if ((f = open_memstream(&path, &pathlen)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	fputs(prefix, f);
	if (arg != NULL)
		http_escape(f, arg, JOIN_PATH_KEEP);
	fputs(query, f);
	if (fclose(f) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		free(path);
		return -1;
	}
	rc = http_send(o, "PUT", path, NULL, NULL, 0, &resp, err, errlen);
	free(path);
	if (rc != 0)
		return rc;
	if (resp.status != 200) {
		http_unexpected(&resp, err, errlen);
		rc = -1;
	}
	http_response_free(&resp);
	return rc;
}

int
cmd_join(int argc, char **argv)
{
	struct http_opts	 http;
	char			 err[1024];
	int			 wan = 0, first, i, rc, joins = 0;
	const struct cflag	 flags[] = {
		{ "wan", CFLAG_BOOL, &wan },
	};

	if ((first = cflags_parse("join", flags, 1, &http, argc,
	    argv)) == -1)
		return 1;
	if (first == argc) {
		fprintf(stderr, "At least one address to join must be "
		    "specified.\n\nUsage: consulctl join [options] "
		    "address ...\n");
		return 1;
	}
	for (i = first; i < argc; i++) {
		rc = agent_put(&http, "/v1/agent/join/", argv[i],
		    wan ? "?wan=1" : "", err, sizeof(err));
		if (rc == -2) {
			fprintf(stderr, "Error connecting to Consul agent: "
			    "%s\n", err);
			return 1;
		}
		if (rc != 0)
			fprintf(stderr, "Error joining address '%s': %s\n",
			    argv[i], err);
		else
			joins++;
	}
	if (joins == 0) {
		fprintf(stderr, "Failed to join any nodes.\n");
		return 1;
	}
	printf("Successfully joined cluster by contacting %d nodes.\n", joins);
	return 0;
}

int
cmd_leave(int argc, char **argv)
{
	struct http_opts	 http;
	char			 err[1024];
	int			 first, i, rc;

	if ((first = cflags_parse("leave", NULL, 0, &http, argc,
	    argv)) == -1)
		return 1;
	if (first < argc) {
		/* Go prints the []string with %v: [a b]. */
		fputs("Error found unexpected args: [", stderr);
		for (i = first; i < argc; i++)
			fprintf(stderr, "%s%s", i > first ? " " : "", argv[i]);
		fputs("]\n\nUsage: consulctl leave [options]\n", stderr);
		return 1;
	}
	rc = agent_put(&http, "/v1/agent/leave", NULL, "", err, sizeof(err));
	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "Error leaving: %s\n", err);
		return 1;
	}
	printf("Graceful leave complete\n");
	return 0;
}

int
cmd_force_leave(int argc, char **argv)
{
	struct http_opts	 http;
	const char		*query;
	char			 err[1024];
	int			 prune = 0, wan = 0, first, rc;
	const struct cflag	 flags[] = {
		{ "prune", CFLAG_BOOL, &prune },
		{ "wan", CFLAG_BOOL, &wan },
	};

	if ((first = cflags_parse("force-leave", flags, 2, &http, argc,
	    argv)) == -1)
		return 1;
	if (argc - first != 1) {
		fprintf(stderr, "A single node name must be specified to "
		    "force leave.\n\nUsage: consulctl force-leave [options] "
		    "name\n");
		return 1;
	}
	/* Go's url.Values sorts the parameters by name. */
	if (prune && wan)
		query = "?prune=1&wan=1";
	else if (prune)
		query = "?prune=1";
	else if (wan)
		query = "?wan=1";
	else
		query = "";
	rc = agent_put(&http, "/v1/agent/force-leave/", argv[first], query,
	    err, sizeof(err));
	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "Error force leaving: %s\n", err);
		return 1;
	}
	return 0;
}
