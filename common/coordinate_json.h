/*
 * Network coordinates in Consul's JSON: {"Vec": [COORD_DIM numbers],
 * "Error": n, "Adjustment": n, "Height": n}.  Used by apid (answers, and
 * PUT /v1/coordinate/update) and consulctl (rtt).
 */
#ifndef CONSULD_COORDINATE_JSON_H
#define CONSULD_COORDINATE_JSON_H

#include <jansson.h>

#include "coordinate.h"

json_t	*coord_json(const struct coord *);
/*
 * From a JSON object (field names matched whatever their case, absent
 * numbers are 0 as Go leaves them, Vec is required); 0, or -1 with the
 * reason in err.  The result is coord_valid().
 */
int	 coord_from_json(json_t *, struct coord *, char *, size_t);

#endif
