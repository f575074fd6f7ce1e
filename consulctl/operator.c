/*
 * consulctl operator raft list-peers: the Raft configuration from
 * /v1/operator/raft/configuration, with each server's last index from
 * /v1/operator/autopilot/health when the agent offers it ("-" when it
 * does not), in the columns of Consul 1.16+.  remove-peer and
 * transfer-leader: DELETE /v1/operator/raft/peer and POST
 * /v1/operator/raft/transfer-leader.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

#define LIST_PEERS_PADDING	2

/* LastIndex of server id in the autopilot health, or -1. */
static int64_t
health_last_index(json_t *health, const char *id)
{
	json_t	*s;
	size_t	 i;

	json_array_foreach(json_object_get(health, "Servers"), i, s) {
		if (json_is_string(json_object_get(s, "ID")) &&
		    strcmp(json_string_value(json_object_get(s, "ID")),
		    id) == 0 &&
		    json_is_integer(json_object_get(s, "LastIndex")))
			return json_integer_value(json_object_get(s,
			    "LastIndex"));
	}
	return -1;
}

int
cmd_operator_raft_list_peers(int argc, char **argv)
{
	struct http_opts	 http;
	struct http_response	 resp;
	json_error_t		 jerr;
	json_t			*conf = NULL, *health = NULL, *s;
	char			 err[1024], *text = NULL;
	const char		*path;
	size_t			 i, textlen;
	int64_t			 last, leader_last = -1;
	FILE			*f;
	int			 stale = 0, rc, status = 1;
	const struct cflag	 flags[] = {
		{ "stale", CFLAG_BOOL, &stale },
	};

	if (cflags_parse("operator raft list-peers", flags, 1, &http, argc,
	    argv) == -1)
		return 1;
	path = stale ? "/v1/operator/raft/configuration?stale" :
	    "/v1/operator/raft/configuration";
	rc = http_send(&http, "GET", path, NULL, NULL, 0, &resp, err,
	    sizeof(err));
	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	if (rc != 0 || resp.status != 200) {
		if (rc == 0) {
			http_unexpected(&resp, err, sizeof(err));
			http_response_free(&resp);
		}
		fprintf(stderr, "Failed to retrieve raft configuration: %s\n",
		    err);
		return 1;
	}
	conf = json_loadb(resp.body, resp.len, 0, &jerr);
	http_response_free(&resp);
	if (conf == NULL || !json_is_array(json_object_get(conf,
	    "Servers"))) {
		fprintf(stderr, "Failed to retrieve raft configuration: %s\n",
		    conf == NULL ? jerr.text : "no Servers");
		goto done;
	}
	/* Optional: the agent may not serve autopilot health. */
	if (http_send(&http, "GET", "/v1/operator/autopilot/health", NULL,
	    NULL, 0, &resp, err, sizeof(err)) == 0) {
		/* 429: not healthy, the same body. */
		if (resp.status == 200 || resp.status == 429)
			health = json_loadb(resp.body, resp.len, 0, &jerr);
		http_response_free(&resp);
	}
	json_array_foreach(json_object_get(conf, "Servers"), i, s)
		if (json_is_true(json_object_get(s, "Leader")))
			leader_last = health_last_index(health,
			    json_str(s, "ID"));

	if ((f = open_memstream(&text, &textlen)) == NULL) {
		fprintf(stderr, "Error: %s\n", strerror(errno));
		goto done;
	}
	fputs("Node\tID\tAddress\tState\tVoter\tRaftProtocol\tCommit Index\t"
	    "Trails Leader By\n", f);
	json_array_foreach(json_object_get(conf, "Servers"), i, s) {
		last = health_last_index(health, json_str(s, "ID"));
		fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\t", json_str(s, "Node"),
		    json_str(s, "ID"), json_str(s, "Address"),
		    json_is_true(json_object_get(s, "Leader")) ? "leader" :
		    "follower",
		    json_is_true(json_object_get(s, "Voter")) ? "true" :
		    "false", *json_str(s, "ProtocolVersion") != '\0' ?
		    json_str(s, "ProtocolVersion") : "<=1");
		if (last >= 0)
			fprintf(f, "%" PRId64 "\t", last);
		else
			fputs("-\t", f);
		if (json_is_true(json_object_get(s, "Leader")) || last < 0 ||
		    leader_last < 0)
			fputs("-\n", f);
		else
			fprintf(f, "%" PRId64 " commit%s\n",
			    leader_last - last > 0 ? leader_last - last : 0,
			    leader_last - last == 1 ? "" : "s");
	}
	if (fclose(f) != 0 ||
	    tab_print(stdout, text, textlen, LIST_PEERS_PADDING) == -1) {
		fprintf(stderr, "Error: %s\n", strerror(errno));
		goto done;
	}
	status = 0;
 done:
	free(text);
	json_decref(conf);
	json_decref(health);
	return status;
}

/* A path with ?name=value escaped; NULL on allocation failure. */
static char *
op_path(const char *base, const char *name, const char *value)
{
	FILE	*f;
	char	*p = NULL;
	size_t	 len;

	if ((f = open_memstream(&p, &len)) == NULL)
		return NULL;
	fputs(base, f);
	if (value != NULL && *value != '\0') {
		fprintf(f, "?%s=", name);
		http_escape(f, value, "");
	}
	if (fclose(f) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* Run one operator request; 0 on a 200, else prints what went wrong. */
static int
op_send(const struct http_opts *http, const char *method, const char *path,
    const char *what)
{
	struct http_response	 resp;
	char			 err[1024];
	int			 rc;

	rc = http_send(http, method, path, NULL, NULL, 0, &resp, err,
	    sizeof(err));
	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return -1;
	}
	if (rc == 0 && resp.status == 200) {
		http_response_free(&resp);
		return 0;
	}
	if (rc == 0) {
		http_unexpected(&resp, err, sizeof(err));
		http_response_free(&resp);
	}
	fprintf(stderr, "Error %s: %s\n", what, err);
	return -1;
}

int
cmd_operator_raft_remove_peer(int argc, char **argv)
{
	struct http_opts	 http;
	const char		*address = NULL, *id = NULL;
	char			*path;
	int			 status = 1;
	const struct cflag	 flags[] = {
		{ "address", CFLAG_STRING, &address },
		{ "id", CFLAG_STRING, &id },
	};

	if (cflags_parse("operator raft remove-peer", flags, 2, &http, argc,
	    argv) == -1)
		return 1;
	if (address != NULL && *address == '\0')
		address = NULL;
	if (id != NULL && *id == '\0')
		id = NULL;
	if ((address == NULL) == (id == NULL)) {
		fprintf(stderr, "Error removing peer: Must specify either "
		    "-address or -id\n");
		return 1;
	}
	path = id != NULL ? op_path("/v1/operator/raft/peer", "id", id) :
	    op_path("/v1/operator/raft/peer", "address", address);
	if (path == NULL) {
		fprintf(stderr, "Error: %s\n", strerror(errno));
		return 1;
	}
	if (op_send(&http, "DELETE", path, "removing peer") == 0) {
		if (id != NULL)
			printf("Removed peer with id \"%s\"\n", id);
		else
			printf("Removed peer with address \"%s\"\n", address);
		status = 0;
	}
	free(path);
	return status;
}

int
cmd_operator_raft_transfer_leader(int argc, char **argv)
{
	struct http_opts	 http;
	const char		*id = NULL;
	char			*path;
	int			 status = 1;
	const struct cflag	 flags[] = {
		{ "id", CFLAG_STRING, &id },
	};

	if (cflags_parse("operator raft transfer-leader", flags, 1, &http,
	    argc, argv) == -1)
		return 1;
	if ((path = op_path("/v1/operator/raft/transfer-leader", "id",
	    id)) == NULL) {
		fprintf(stderr, "Error: %s\n", strerror(errno));
		return 1;
	}
	if (op_send(&http, "POST", path, "transferring leadership") == 0) {
		printf("Success! Leadership transferred%s%s\n",
		    id != NULL && *id != '\0' ? " to " : ".",
		    id != NULL && *id != '\0' ? id : "");
		status = 0;
	}
	free(path);
	return status;
}
