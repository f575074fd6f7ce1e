/*
 * libFuzzer target for apid's ?filter parser and evaluator, which take
 * their expression straight from a request's query string.  The first
 * byte picks the element schema; the expression runs to the first NUL
 * byte; whatever follows it, if it is JSON, is an element to evaluate
 * against, as well as a few fixed elements of the right shape.  A
 * refused expression must say why with Consul's prefix; an accepted
 * one must evaluate to 0 or 1, the same twice (or -1 once its budget
 * for patterns is spent, and from then on), and free cleanly.
 *
 * run.sh links a fixed list of common sources, so filter.c and its
 * schema tables are compiled in here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../apid/filter.c"
#include "../../apid/filter_re.c"
#include "../../apid/filter_schema.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct filter_field *schemas[] = {
	&filter_node, &filter_catalog_service, &filter_node_service,
	&filter_agent_service, &filter_check, &filter_service_entry
};

static const char *elements[] = {
	"{\"Node\":\"n1\",\"Address\":\"10.0.0.1\",\"Meta\":{\"rack\":\"r1\"},"
	"\"TaggedAddresses\":{},\"CreateIndex\":3}",
	"{\"ServiceName\":\"web\",\"ServiceTags\":[\"a\",\"b\"],"
	"\"ServicePort\":80,\"ServiceMeta\":{\"k\":\"v\"},"
	"\"ServiceTaggedAddresses\":{\"lan\":{\"Address\":\"x\","
	"\"Port\":1}},\"ServiceEnableTagOverride\":true}",
	"{\"Node\":{\"Node\":\"n\"},\"Service\":{\"Service\":\"s\","
	"\"Tags\":[\"t\"]},\"Checks\":[{\"Status\":\"passing\"},"
	"{\"Status\":\"critical\",\"Output\":\"bad\"}]}",
	"{\"Status\":\"warning\",\"ServiceTags\":null,\"Definition\":{},"
	"\"ExposedPort\":1.5}",
	"[]",
	"null"
};

/* The same answer twice, unless the budget ran out in between. */
static void
evaluate(struct filter *f, json_t *j)
{
	int	 a, b;

	a = filter_match(f, j);
	b = filter_match(f, j);
	if (a < -1 || a > 1 || b < -1 || b > 1 || (a == -1 && b != -1) ||
	    (b != -1 && a != b))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct filter_field	*schema;
	struct filter			*f;
	json_t				*j;
	char				*expr, err[FILTER_ERR_MAX];
	size_t				 len, i;

	if (size < 1)
		return 0;
	schema = schemas[data[0] % (sizeof(schemas) / sizeof(schemas[0]))];
	data++;
	size--;
	len = strnlen((const char *)data, size);
	if ((expr = malloc(len + 1)) == NULL)
		return 0;
	memcpy(expr, data, len);
	expr[len] = '\0';
	memset(err, 'x', sizeof(err));
	f = filter_parse(expr, schema, err, sizeof(err));
	free(expr);
	if (f == NULL) {
		if (memchr(err, '\0', sizeof(err)) == NULL ||
		    strncmp(err, FILTER_ERR_PREFIX,
		    strlen(FILTER_ERR_PREFIX)) != 0)
			abort();
		return 0;
	}
	for (i = 0; i < sizeof(elements) / sizeof(elements[0]); i++) {
		if ((j = json_loads(elements[i], JSON_DECODE_ANY, NULL)) ==
		    NULL)
			abort();
		evaluate(f, j);
		json_decref(j);
	}
	if (len + 1 < size && (j = json_loadb((const char *)data + len + 1,
	    size - len - 1, JSON_DECODE_ANY, NULL)) != NULL) {
		evaluate(f, j);
		json_decref(j);
	}
	filter_free(f);
	return 0;
}
