/*
 * consulctl catalog datacenters|nodes|services: the catalog from
 * /v1/catalog/, laid out as `consul catalog` prints it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

#define CATALOG_PADDING	2

/* A path with one escaped segment appended. */
static char *
path_with(const char *base, const char *seg)
{
	FILE	*f;
	char	*p = NULL;
	size_t	 len;

	if ((f = open_memstream(&p, &len)) == NULL)
		return NULL;
	fputs(base, f);
	http_escape(f, seg, "");
	if (fclose(f) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

/*
 * Close the memory stream and print what it holds laid out in columns;
 * 0 or 1 (the exit status).
 */
static int
flush_table(FILE *f, char **text, size_t *len)
{
	int	 rc = 0;

	if (fclose(f) != 0 ||
	    tab_print(stdout, *text, *len, CATALOG_PADDING) == -1) {
		fprintf(stderr, "Error: %s\n", strerror(errno));
		rc = 1;
	}
	free(*text);
	*text = NULL;
	return rc;
}

int
cmd_catalog_datacenters(int argc, char **argv)
{
	struct http_opts	 http;
	json_t			*dcs, *v;
	size_t			 i;

	if (cflags_parse_only("catalog datacenters", NULL, 0, &http, argc,
	    argv) == -1)
		return 1;
	if ((dcs = http_get_json(&http, "/v1/catalog/datacenters",
	    "datacenters")) == NULL)
		return 1;
	if (json_array_size(dcs) == 0)
		fprintf(stderr, "No datacenters found\n");
	json_array_foreach(dcs, i, v)
		if (json_is_string(v))
			printf("%s\n", json_string_value(v));
	json_decref(dcs);
	return 0;
}

/* "k=v, k=v", keys sorted; into f. */
static void
print_map(FILE *f, json_t *o)
{
	const char	**keys, *k;
	json_t		 *v;
	size_t		  i, n = 0;

	if (!json_is_object(o) || json_object_size(o) == 0)
		return;
	if ((keys = calloc(json_object_size(o), sizeof(*keys))) == NULL)
		return;
	json_object_foreach(o, k, v)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), str_ptr_cmp);
	for (i = 0; i < n; i++) {
		v = json_object_get(o, keys[i]);
		fprintf(f, "%s%s=%s", i > 0 ? ", " : "", keys[i],
		    json_is_string(v) ? json_string_value(v) : "");
	}
	free(keys);
}

/*
 * catalog/nodes, or catalog/service/<service>, with ?filter and ?near as
 * Consul's api sends them: sorted by name, empty ones left out.
 */
static char *
nodes_path(const char *service, const char *filter, const char *near)
{
	FILE	*f;
	char	*p = NULL, sep = '?';
	size_t	 len;

	if ((f = open_memstream(&p, &len)) == NULL)
		return NULL;
	if (service != NULL) {
		fputs("/v1/catalog/service/", f);
		http_escape(f, service, "");
	} else
		fputs("/v1/catalog/nodes", f);
	if (filter != NULL && *filter != '\0') {
		fprintf(f, "%cfilter=", sep);
		http_escape(f, filter, NULL);
		sep = '&';
	}
	if (near != NULL && *near != '\0') {
		fprintf(f, "%cnear=", sep);
		http_escape(f, near, NULL);
	}
	if (fclose(f) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

int
cmd_catalog_nodes(int argc, char **argv)
{
	struct http_opts	 http;
	json_t			*nodes, *n;
	const char		*service = NULL, *near = NULL, *filter = NULL;
	char			*path, *text = NULL, id[9];
	size_t			 i, len;
	int			 detailed = 0;
	FILE			*f;
	const struct cflag	 flags[] = {
		{ "detailed", CFLAG_BOOL, &detailed },
		{ "service", CFLAG_STRING, &service },
		{ "near", CFLAG_STRING, &near },
		{ "filter", CFLAG_STRING, &filter },
	};

	if (cflags_parse_only("catalog nodes", flags, 4, &http,
	    argc, argv) == -1)
		return 1;
	if ((path = nodes_path(service, filter, near)) == NULL) {
		fprintf(stderr, "Error: %s\n", strerror(errno));
		return 1;
	}
	nodes = http_get_json(&http, path, "nodes");
	free(path);
	if (nodes == NULL)
		return 1;
	if (json_array_size(nodes) == 0) {
		fprintf(stderr, "No nodes match the given query - try "
		    "expanding your search.\n");
		json_decref(nodes);
		return 0;
	}
	if ((f = open_memstream(&text, &len)) == NULL) {
		json_decref(nodes);
		return 1;
	}
	fputs(detailed ? "Node\tID\tAddress\tDC\tTaggedAddresses\tMeta\n" :
	    "Node\tID\tAddress\tDC\n", f);
	json_array_foreach(nodes, i, n) {
		strlcpy(id, json_str(n, "ID"), sizeof(id));
		fprintf(f, "%s\t%s\t%s\t%s", json_str(n, "Node"),
		    detailed ? json_str(n, "ID") : id, json_str(n, "Address"),
		    json_str(n, "Datacenter"));
		if (detailed) {
			fputc('\t', f);
			print_map(f, json_object_get(n, "TaggedAddresses"));
			fputc('\t', f);
			print_map(f, json_object_get(n, service != NULL ?
			    "NodeMeta" : "Meta"));
		}
		fputc('\n', f);
	}
	json_decref(nodes);
	return flush_table(f, &text, &len);
}

int
cmd_catalog_services(int argc, char **argv)
{
	struct http_opts	 http;
	json_t			*doc, *svcs, *v, *t;
	const char		*node = NULL, **names, *k;
	char			*path, *text = NULL;
	size_t			 i, j, n = 0, len;
	int			 tags = 0, rc;
	FILE			*f;
	const struct cflag	 flags[] = {
		{ "tags", CFLAG_BOOL, &tags },
		{ "node", CFLAG_STRING, &node },
	};

	if (cflags_parse_only("catalog services", flags, 2, &http,
	    argc, argv) == -1)
		return 1;
	path = node != NULL ? path_with("/v1/catalog/node/", node) :
	    strdup("/v1/catalog/services");
	if (path == NULL) {
		fprintf(stderr, "Error: %s\n", strerror(errno));
		return 1;
	}
	doc = http_get_json(&http, path, "services");
	free(path);
	if (doc == NULL)
		return 1;
	/* A node's services: by ID, each with its name and tags. */
	svcs = json_object();
	if (node != NULL) {
		json_object_foreach(json_object_get(doc, "Services"), k, v)
			json_object_set(svcs, json_str(v, "Service"),
			    json_object_get(v, "Tags"));
	} else
		json_object_update(svcs, doc);
	json_decref(doc);
	if (json_object_size(svcs) == 0) {
		fprintf(stderr, "No services match the given query - try "
		    "expanding your search.\n");
		json_decref(svcs);
		return 0;
	}
	if ((names = calloc(json_object_size(svcs), sizeof(*names))) ==
	    NULL || (f = open_memstream(&text, &len)) == NULL) {
		free(names);
		json_decref(svcs);
		return 1;
	}
	json_object_foreach(svcs, k, v)
		names[n++] = k;
	qsort(names, n, sizeof(*names), str_ptr_cmp);
	for (i = 0; i < n; i++) {
		fputs(names[i], f);
		if (tags) {
			fputc('\t', f);
			t = json_object_get(svcs, names[i]);
			for (j = 0; j < json_array_size(t); j++)
				fprintf(f, "%s%s", j > 0 ? "," : "",
				    json_is_string(json_array_get(t, j)) ?
				    json_string_value(json_array_get(t, j)) :
				    "");
		}
		fputc('\n', f);
	}
	free(names);
	rc = flush_table(f, &text, &len);
	json_decref(svcs);
	return rc;
}
