/*
 * consulctl reload: PUT /v1/agent/reload, as `consul reload` does; the
 * agent answers once the new configuration is in force.
 */
#include <stdio.h>

#include "consulctl.h"

int
cmd_reload(int argc, char **argv)
{
	struct http_opts	 http;
	struct http_response	 resp;
	char			 err[1024];
	int			 first, rc;

	if ((first = cflags_parse("reload", NULL, 0, &http, argc,
	    argv)) == -1)
		return 1;
	if (first < argc) {
		fprintf(stderr, "Too many arguments (expected 0, got %d)\n\n"
		    "Usage: consulctl reload [options]\n", argc - first);
		return 1;
	}
	rc = http_send(&http, "PUT", "/v1/agent/reload", NULL, NULL, 0, &resp,
	    err, sizeof(err));
	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	if (rc == 0 && resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		rc = -1;
	}
	http_response_free(&resp);
	if (rc != 0) {
		fprintf(stderr, "Error reloading: %s\n", err);
		return 1;
	}
	printf("Configuration reload triggered\n");
	return 0;
}
