/*
 * consulctl rtt [-wan] NODE [NODE2]: the round-trip time between two
 * nodes estimated from their network coordinates, as `consul rtt`
 * prints it.  LAN coordinates come from /v1/coordinate/nodes; with -wan
 * the nodes are servers named <node>.<datacenter> and their coordinates
 * come from /v1/coordinate/datacenters.  With one node, the other is
 * this agent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "consulctl.h"
#include "coordinate_json.h"

#define RTT_NAME_MAX	512

/* The agent's node name (and datacenter); -1 after saying why. */
static int
agent_node(const struct http_opts *http, char *node, size_t nodelen,
    char *dc, size_t dclen)
{
	json_t		*self, *cfg;
	const char	*n, *d;
	int		 rc = -1;

	if ((self = http_get_json(http, "/v1/agent/self", "agent info")) ==
	    NULL) {
		fprintf(stderr, "Unable to look up agent info\n");
		return -1;
	}
	cfg = json_object_get(self, "Config");
	n = json_string_value(json_object_get(cfg, "NodeName"));
	d = json_string_value(json_object_get(cfg, "Datacenter"));
	if (n == NULL || d == NULL)
		fprintf(stderr, "Unable to look up agent info: no node name\n");
	else if (strlcpy(node, n, nodelen) < nodelen &&
	    strlcpy(dc, d, dclen) < dclen)
		rc = 0;
	json_decref(self);
	return rc;
}

/* A coordinates endpoint's JSON, or NULL after Consul's message. */
static json_t *
get_coords(const struct http_opts *http, const char *path)
{
	struct http_response	 resp;
	json_error_t		 jerr;
	json_t			*doc = NULL;
	char			 err[1024];

	if (http_request(http, "GET", path, NULL, 0, &resp) == -1)
		return NULL;
	if (resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		fprintf(stderr, "Error getting coordinates: %s\n", err);
	} else if ((doc = json_loadb(resp.body, resp.len, 0, &jerr)) == NULL)
		fprintf(stderr, "Error getting coordinates: %s\n", jerr.text);
	http_response_free(&resp);
	return doc;
}

/* A coordinate from an entry's "Coord"; -1 if it is not a valid one. */
static int
entry_coord(json_t *entry, struct coord *c)
{
	char	 err[256];

	return coord_from_json(json_object_get(entry, "Coord"), c, err,
	    sizeof(err));
}

static int
lan_coords(const struct http_opts *http, char nodes[2][RTT_NAME_MAX],
    struct coord *c)
{
	json_t		*list, *e;
	const char	*name;
	int		 found[2] = { 0, 0 }, k;
	size_t		 i;

	if ((list = get_coords(http, "/v1/coordinate/nodes")) == NULL)
		return -1;
	json_array_foreach(list, i, e) {
		if ((name = json_string_value(json_object_get(e,
		    "Node"))) == NULL)
			continue;
		for (k = 0; k < 2; k++)
			if (!found[k] && strcmp(name, nodes[k]) == 0 &&
			    entry_coord(e, &c[k]) == 0)
				found[k] = 1;
	}
	json_decref(list);
	for (k = 0; k < 2; k++)
		if (!found[k]) {
			fprintf(stderr, "Could not find a coordinate for node "
			    "\"%s\"\n", nodes[k]);
			return -1;
		}
	return 0;
}

static int
wan_coords(const struct http_opts *http, char nodes[2][RTT_NAME_MAX],
    struct coord *c)
{
	json_t		*dcs, *d, *e;
	const char	*dc, *name, *area, *areas[2] = { NULL, NULL };
	char		*dot[2];
	size_t		 i, j;
	int		 k, rc = -1;

	for (k = 0; k < 2; k++)
		if ((dot[k] = strchr(nodes[k], '.')) == NULL ||
		    strchr(dot[k] + 1, '.') != NULL) {
			fprintf(stderr, "Node names must be specified as "
			    "<node name>.<datacenter> with -wan\n");
			return -1;
		}
	if ((dcs = get_coords(http, "/v1/coordinate/datacenters")) == NULL)
		return -1;
	json_array_foreach(dcs, i, d) {
		dc = json_string_value(json_object_get(d, "Datacenter"));
		area = json_string_value(json_object_get(d, "AreaID"));
		if (dc == NULL)
			continue;
		json_array_foreach(json_object_get(d, "Coordinates"), j, e) {
			if ((name = json_string_value(json_object_get(e,
			    "Node"))) == NULL)
				continue;
			for (k = 0; k < 2; k++)
				if (areas[k] == NULL &&
				    strcmp(dc, dot[k] + 1) == 0 &&
				    strlen(name) == (size_t)(dot[k] -
				    nodes[k]) && strncasecmp(name, nodes[k],
				    dot[k] - nodes[k]) == 0 &&
				    entry_coord(e, &c[k]) == 0)
					areas[k] = area != NULL ? area : "";
		}
	}
	for (k = 0; k < 2; k++)
		if (areas[k] == NULL) {
			fprintf(stderr, "Could not find a coordinate for node "
			    "\"%s\"\n", nodes[k]);
			goto done;
		}
	if (strcmp(areas[0], areas[1]) != 0) {
		fprintf(stderr, "Nodes \"%s\" and \"%s\" are not in the same "
		    "area\n", nodes[0], nodes[1]);
		goto done;
	}
	rc = 0;
 done:
	json_decref(dcs);
	return rc;
}

int
cmd_rtt(int argc, char **argv)
{
	struct http_opts	 http;
	struct coord		 c[2];
	char			 nodes[2][RTT_NAME_MAX], node[RTT_NAME_MAX];
	char			 dc[RTT_NAME_MAX];
	int			 wan = 0, first, n, k;
	const struct cflag	 flags[] = {
		{ "wan", CFLAG_BOOL, &wan },
	};

	if ((first = cflags_parse("rtt", flags, 1, &http, argc,
	    argv)) == -1)
		return 1;
	n = argc - first;
	if (n < 1 || n > 2) {
		fprintf(stderr, "One or two node names must be specified\n");
		return 1;
	}
	for (k = 0; k < n; k++)
		if (strlcpy(nodes[k], argv[first + k], sizeof(nodes[k])) >=
		    sizeof(nodes[k])) {
			fprintf(stderr, "Node name too long\n");
			return 1;
		}
	if (n == 1) {
		if (agent_node(&http, node, sizeof(node), dc,
		    sizeof(dc)) == -1)
			return 1;
		strlcpy(nodes[1], node, sizeof(nodes[1]));
		if (wan && (strlcat(nodes[1], ".", sizeof(nodes[1])) >=
		    sizeof(nodes[1]) || strlcat(nodes[1], dc,
		    sizeof(nodes[1])) >= sizeof(nodes[1]))) {
			fprintf(stderr, "Node name too long\n");
			return 1;
		}
	}
	if ((wan ? wan_coords(&http, nodes, c) : lan_coords(&http, nodes,
	    c)) == -1)
		return 1;
	printf("Estimated %s <-> %s rtt: %.3f ms (using %s coordinates)\n",
	    nodes[0], nodes[1], coord_rtt(&c[0], &c[1]) * 1000.0,
	    wan ? "WAN" : "LAN");
	return 0;
}
