/*
 * consulctl info: the agent's Stats from /v1/agent/self, one section at
 * a time, sections and keys sorted, as `consul info` prints them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

/* The keys of a JSON object, sorted; free() the array only. */
static const char **
sorted_keys(json_t *obj, size_t *n)
{
	const char	**keys;
	const char	 *k;
	json_t		 *v;
	size_t		  i = 0;

	*n = json_object_size(obj);
	if ((keys = calloc(*n + 1, sizeof(*keys))) == NULL)
		return NULL;
	json_object_foreach(obj, k, v)
		keys[i++] = k;
	qsort(keys, *n, sizeof(*keys), str_ptr_cmp);
	return keys;
}

int
cmd_info(int argc, char **argv)
{
	struct http_opts	 http;
	json_t			*self, *stats, *section, *v;
	const char		**sections, **keys;
	size_t			 ns, nk, i, j;
	int			 first;

	first = cflags_parse("info", NULL, 0, &http, argc, argv);
	if (first == -1)
		return 1;
	if (first != argc) {
		fprintf(stderr, "Usage: consulctl info [options]\n");
		return 1;
	}
	if ((self = http_get_json(&http, "/v1/agent/self",
	    "agent info")) == NULL)
		return 1;
	stats = json_object_get(self, "Stats");
	if (!json_is_object(stats)) {
		fprintf(stderr, "Error querying agent: no Stats\n");
		json_decref(self);
		return 1;
	}
	if ((sections = sorted_keys(stats, &ns)) == NULL) {
		json_decref(self);
		return 1;
	}
	for (i = 0; i < ns; i++) {
		section = json_object_get(stats, sections[i]);
		if (!json_is_object(section))
			continue;
		printf("%s:\n", sections[i]);
		if ((keys = sorted_keys(section, &nk)) == NULL)
			break;
		for (j = 0; j < nk; j++) {
			v = json_object_get(section, keys[j]);
			printf("\t%s = %s\n", keys[j],
			    json_is_string(v) ? json_string_value(v) : "");
		}
		free(keys);
	}
	(void)first;
	free(sections);
	json_decref(self);
	return 0;
}
