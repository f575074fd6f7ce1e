/*
 * Coordinates to and from Consul's JSON (coordinate_json.h).  What comes
 * in is checked as coord_unpack() checks MessagePack: COORD_DIM finite
 * numbers and the bounds of coord_valid().
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "coordinate_json.h"

json_t *
coord_json(const struct coord *c)
{
	json_t	*vec;
	size_t	 i;

	if ((vec = json_array()) == NULL)
		return NULL;
	for (i = 0; i < COORD_DIM; i++)
		if (json_array_append_new(vec, json_real(c->vec[i])) == -1) {
			json_decref(vec);
			return NULL;
		}
	return json_pack("{s:o, s:f, s:f, s:f}", "Vec", vec, "Error",
	    c->error, "Adjustment", c->adjustment, "Height", c->height);
}

static json_t *
field(json_t *o, const char *name)
{
	const char	*k;
	json_t		*v;

	if ((v = json_object_get(o, name)) != NULL)
		return v;
	json_object_foreach(o, k, v)
		if (strcasecmp(k, name) == 0)
			return v;
	return NULL;
}

/* An absent or null number is 0; -1 if it is not a number. */
static int
number(json_t *o, const char *name, double *out, char *err, size_t errlen)
{
	json_t	*v = field(o, name);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_number(v)) {
		snprintf(err, errlen, "Invalid coordinate: %s is not a "
		    "number", name);
		return -1;
	}
	*out = json_number_value(v);
	return 0;
}

int
coord_from_json(json_t *o, struct coord *c, char *err, size_t errlen)
{
	json_t	*vec, *e;
	size_t	 i;

	memset(c, 0, sizeof(*c));
	if (!json_is_object(o)) {
		snprintf(err, errlen, "Invalid coordinate: not an object");
		return -1;
	}
	vec = field(o, "Vec");
	if (!json_is_array(vec) || json_array_size(vec) != COORD_DIM) {
		snprintf(err, errlen, "Invalid coordinate: Vec must be an "
		    "array of %d numbers", COORD_DIM);
		return -1;
	}
	json_array_foreach(vec, i, e) {
		if (!json_is_number(e)) {
			snprintf(err, errlen, "Invalid coordinate: Vec must "
			    "be an array of %d numbers", COORD_DIM);
			return -1;
		}
		c->vec[i] = json_number_value(e);
	}
	if (number(o, "Error", &c->error, err, errlen) == -1 ||
	    number(o, "Adjustment", &c->adjustment, err, errlen) == -1 ||
	    number(o, "Height", &c->height, err, errlen) == -1)
		return -1;
	if (!coord_valid(c)) {
		snprintf(err, errlen, "Invalid coordinate: a component is out "
		    "of range (|Vec|, |Adjustment| and Height at most %g, "
		    "Error at most %g, Height and Error not negative)",
		    COORD_COMPONENT_MAX, COORD_ERROR_MAX);
		return -1;
	}
	return 0;
}
