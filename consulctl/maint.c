/*
 * consulctl maint: put the agent's node, or one of its services, in or
 * out of maintenance mode (PUT /v1/agent/maintenance and
 * /v1/agent/service/maintenance/<id>), or list what is in maintenance
 * now: the agent marks it with critical checks named _node_maintenance
 * and _service_maintenance:<id>, whose notes hold the reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

#define MAINT_NODE_CHECK	"_node_maintenance"
#define MAINT_SERVICE_PREFIX	"_service_maintenance:"
#define MAINT_ERRLEN		2048

/* Node and service blocks, node first, services by check ID. */
static int
maint_list(const struct http_opts *http, const char *node)
{
	json_t		*checks, *c;
	const char	*id, **ids;
	size_t		 n = 0, i;

	if ((checks = http_get_json(http, "/v1/agent/checks",
	    "checks")) == NULL)
		return 1;
	if (!json_is_object(checks)) {
		fprintf(stderr, "Error getting checks: json: cannot unmarshal "
		    "%s into Go value of type map[string]*api.AgentCheck\n",
		    json_kind(checks));
		json_decref(checks);
		return 1;
	}
	if ((ids = calloc(json_object_size(checks) + 1, sizeof(*ids))) ==
	    NULL) {
		fprintf(stderr, "Error getting checks: %s\n", strerror(errno));
		json_decref(checks);
		return 1;
	}
	json_object_foreach(checks, id, c)
		ids[n++] = id;
	qsort(ids, n, sizeof(*ids), str_ptr_cmp);
	for (i = 0; i < n; i++) {
		c = json_object_get(checks, ids[i]);
		if (!json_is_object(c))
			continue;
		id = json_str(c, "CheckID");
		if (strcmp(id, MAINT_NODE_CHECK) == 0)
			printf("Node:\n  Name:   %s\n  Reason: %s\n\n", node,
			    json_str(c, "Notes"));
		else if (strncmp(id, MAINT_SERVICE_PREFIX,
		    strlen(MAINT_SERVICE_PREFIX)) == 0)
			printf("Service:\n  ID:     %s\n  Reason: %s\n\n",
			    json_str(c, "ServiceID"), json_str(c, "Notes"));
	}
	free(ids);
	json_decref(checks);
	return 0;
}

/* Switch maintenance on or off; service NULL for the node. */
static int
maint_set(const struct http_opts *http, const char *service, int enable,
    const char *reason)
{
	struct http_response	 resp;
	FILE			*f;
	char			*path = NULL, err[MAINT_ERRLEN];
	size_t			 len;
	int			 rc;

	if ((f = open_memstream(&path, &len)) == NULL) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		rc = -1;
		goto done;
	}
	if (service == NULL)
		fputs("/v1/agent/maintenance", f);
	else {
		fputs("/v1/agent/service/maintenance/", f);
		http_escape(f, service, NULL);
	}
	/* As Consul's client sends it: a reason only when enabling. */
	fprintf(f, "?enable=%s", enable ? "true" : "false");
	if (enable) {
		fputs("&reason=", f);
		http_escape(f, reason, NULL);
	}
	if (fclose(f) != 0) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		rc = -1;
		goto done;
	}
	rc = http_send(http, "PUT", path, NULL, NULL, 0, &resp, err,
	    sizeof(err));
	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		free(path);
		return 1;
	}
	if (rc == 0) {
		if (resp.status != 200) {
			http_unexpected(&resp, err, sizeof(err));
			rc = -1;
		}
		http_response_free(&resp);
	}
 done:
	free(path);
	if (rc != 0) {
		fprintf(stderr, "Error %s %s maintenance: %s\n",
		    enable ? "enabling" : "disabling",
		    service == NULL ? "node" : "service", err);
		return 1;
	}
	if (service == NULL)
		printf("Node maintenance is now %s\n", enable ? "enabled" :
		    "disabled");
	else
		printf("Service maintenance is now %s for \"%s\"\n",
		    enable ? "enabled" : "disabled", service);
	return 0;
}

int
cmd_maint(int argc, char **argv)
{
	struct http_opts	 http;
	json_t			*self, *cfg;
	const char		*reason = "", *service = "";
	char			*node = NULL;
	int			 enable = 0, disable = 0, status;
	const struct cflag	 flags[] = {
		{ "enable", CFLAG_BOOL, &enable },
		{ "disable", CFLAG_BOOL, &disable },
		{ "reason", CFLAG_STRING, &reason },
		{ "service", CFLAG_STRING, &service },
	};

	if (cflags_parse_only("maint", flags, 4, &http,
	    argc, argv) == -1)
		return 1;
	if (enable && disable) {
		fprintf(stderr, "Only one of -enable or -disable may be "
		    "provided\n");
		return 1;
	}
	if (!enable && *reason != '\0') {
		fprintf(stderr, "Reason may only be provided with -enable\n");
		return 1;
	}
	if (!enable && !disable && *service != '\0') {
		fprintf(stderr, "Service requires either -enable or "
		    "-disable\n");
		return 1;
	}

	/* Consul asks for the node's name first, to see that it is up. */
	if ((self = http_get_json(&http, "/v1/agent/self",
	    "Consul agent")) == NULL)
		return 1;
	cfg = json_object_get(self, "Config");
	if ((node = strdup(json_str(cfg, "NodeName"))) == NULL) {
		fprintf(stderr, "Error querying Consul agent: %s\n",
		    strerror(errno));
		json_decref(self);
		return 1;
	}
	json_decref(self);

	if (!enable && !disable)
		status = maint_list(&http, node);
	else
		status = maint_set(&http, *service != '\0' ? service : NULL,
		    enable, reason);
	free(node);
	return status;
}
