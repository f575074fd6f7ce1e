/*
 * ?filter: a boolean expression in the grammar Consul documents for its
 * listing endpoints, parsed once per request into a tree and evaluated
 * against each result element as the JSON apid is about to send.
 * Selectors are checked when the expression is parsed, against a
 * description of the element's fields (filter_schema.c), so that a
 * misspelt field is an error whether or not anything would match.
 */
#ifndef CONSULD_APID_FILTER_H
#define CONSULD_APID_FILTER_H

#include <stddef.h>

#include <jansson.h>

#define FILTER_LEN_MAX		4096	/* bytes in one expression */
#define FILTER_DEPTH_MAX	32	/* nested parentheses and nots */
#define FILTER_MATCHES_MAX	128	/* match expressions in one */
#define FILTER_REGEX_MAX	8	/* of which `matches` */
/* Steps (an automaton state at a byte) all a request's `matches` take. */
#define FILTER_STEPS_MAX	(32ULL * 1000 * 1000)
#define FILTER_PATH_MAX		16	/* names in one selector */
#define FILTER_ERR_MAX		512	/* room for an error message */
#define FILTER_COSTLY	"Failed to evaluate the filter: its regular " \
	"expressions took too long over these results"

enum filter_kind {
	FILTER_STRING,
	FILTER_INT,
	FILTER_BOOL,
	FILTER_OBJECT,		/* fixed fields, listed in `sub` */
	FILTER_MAP,		/* any key, each value a `sub` */
	FILTER_LIST		/* each element a `sub` */
};

/*
 * One field of a result element.  For FILTER_OBJECT, `sub` is an array
 * of fields ended by one with a NULL name; for FILTER_MAP and
 * FILTER_LIST it is the one description every value or element has.
 */
struct filter_field {
	const char			*name;
	enum filter_kind		 kind;
	const struct filter_field	*sub;
};

/* filter_schema.c: the elements of each endpoint that takes ?filter. */
extern const struct filter_field filter_node;		/* Node */
extern const struct filter_field filter_catalog_service; /* CatalogService */
extern const struct filter_field filter_node_service;	/* NodeService */
extern const struct filter_field filter_agent_service;	/* AgentService */
extern const struct filter_field filter_check;		/* HealthCheck */
extern const struct filter_field filter_service_entry;	/* ServiceEntry */

struct filter;

/*
 * The expression, NUL-terminated, for elements described by `schema` (a
 * FILTER_OBJECT).  NULL with a one-line message in err (Consul's text:
 * "Failed to create boolean expression evaluator: ...") when it is too
 * long, malformed, names a field the elements do not have, applies an
 * operator the field's type has not, or has a pattern filter_re.c
 * refuses.
 */
struct filter	*filter_parse(const char *, const struct filter_field *,
		    char *, size_t);
/*
 * 1 if the element matches, else 0; -1 once the `matches` of this
 * filter have taken FILTER_STEPS_MAX steps over all the elements it
 * was given: the request costs too much to finish.
 */
int		 filter_match(struct filter *, json_t *);
void		 filter_free(struct filter *);

#endif
