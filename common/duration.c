/*
 * Go's time.ParseDuration and time.Duration.String in C.  Consul's
 * configuration files, its API ("wait=120000ms") and its output all use
 * Go's notation, so both directions follow Go's code step by step: the
 * same accepted forms, the same overflow limits and the same rounding of
 * fractions, which Go computes in float64 and so do we.
 */
#include <stdint.h>
#include <string.h>

#include "duration.h"

static const struct {
	const char	*name;
	uint64_t	 ns;
} units[] = {
	{ "ns", DURATION_NSEC },
	{ "us", DURATION_USEC },
	{ "\xc2\xb5s", DURATION_USEC },	/* U+00B5 micro sign */
	{ "\xce\xbcs", DURATION_USEC },	/* U+03BC Greek small mu */
	{ "ms", DURATION_MSEC },
	{ "s", DURATION_SEC },
	{ "m", DURATION_MIN },
	{ "h", DURATION_HOUR },
};

#define LIMIT	(1ULL << 63)

static int
isdigit_c(char c)
{
	return c >= '0' && c <= '9';
}

static uint64_t
unit_lookup(const char *u, size_t len)
{
	size_t	 i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].name) == len &&
		    memcmp(units[i].name, u, len) == 0)
			return units[i].ns;
	}
	return 0;
}

/*
 * A possibly signed sequence of decimal numbers, each with an optional
 * fraction and a unit: "300ms", "-1.5h", "2h45m".  A bare "0" is the only
 * number allowed without a unit.  Returns -1 on anything else and on
 * values that do not fit in an int64_t.
 */
int
duration_parse(const char *s, int64_t *out)
{
	uint64_t	 d = 0, v, f, y, unit;
	double		 scale;
	const char	*u;
	int		 neg = 0, pre, post, overflow;

	if (s == NULL)
		return -1;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		if (*s != '.' && !isdigit_c(*s))
			return -1;

		/* The integer part; an overflow here is an error. */
		v = 0;
		pre = 0;
		while (isdigit_c(*s)) {
			if (v > LIMIT / 10)
				return -1;
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > LIMIT)
				return -1;
			s++;
			pre = 1;
		}

		/* The fraction only stops gaining precision on overflow. */
		f = 0;
		scale = 1;
		post = 0;
		if (*s == '.') {
			s++;
			overflow = 0;
			while (isdigit_c(*s)) {
				post = 1;
				if (!overflow) {
					y = f * 10 + (uint64_t)(*s - '0');
					if (f > (LIMIT - 1) / 10 || y > LIMIT)
						overflow = 1;
					else {
						f = y;
						scale *= 10;
					}
				}
				s++;
			}
		}
		if (!pre && !post)
			return -1;

		u = s;
		while (*s != '\0' && *s != '.' && !isdigit_c(*s))
			s++;
		if (s == u || (unit = unit_lookup(u, s - u)) == 0)
			return -1;
		if (v > LIMIT / unit)
			return -1;
		v *= unit;
		if (f > 0) {
			/* f / scale < 1, so this adds less than one unit. */
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > LIMIT)
				return -1;
		}
		if (v > LIMIT - d)
			return -1;
		d += v;
	}
	if (neg) {
		*out = d == LIMIT ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > INT64_MAX)
		return -1;
	*out = (int64_t)d;
	return 0;
}

/*
 * Write the fraction v / 10^prec ending at *w, without trailing zeros
 * and without the point when the fraction is zero; return v / 10^prec.
 */
static uint64_t
fmt_frac(char *buf, size_t *w, uint64_t v, int prec)
{
	int	 i, print = 0;
	char	 digit;

	for (i = 0; i < prec; i++) {
		digit = (char)(v % 10);
		print = print || digit != 0;
		if (print)
			buf[--*w] = digit + '0';
		v /= 10;
	}
	if (print)
		buf[--*w] = '.';
	return v;
}

static void
fmt_int(char *buf, size_t *w, uint64_t v)
{
	if (v == 0) {
		buf[--*w] = '0';
		return;
	}
	while (v > 0) {
		buf[--*w] = (char)(v % 10) + '0';
		v /= 10;
	}
}

/*
 * Go's Duration.String(): "1h0m0s", "1m30s", "1.5s", "500ms", "1.2µs",
 * "10ns", "0s".  The result is truncated to fit len bytes.
 */
char *
duration_format(int64_t ns, char *out, size_t len)
{
	char		 buf[DURATION_BUFSIZE];
	size_t		 w = sizeof(buf) - 1;
	uint64_t	 u;
	int		 prec, neg = ns < 0;

	buf[w] = '\0';
	u = neg ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	if (u < (uint64_t)DURATION_SEC) {
		/* Below a second, use the largest unit that fits. */
		buf[--w] = 's';
		if (u == 0) {
			buf[--w] = '0';
			goto done;
		} else if (u < (uint64_t)DURATION_USEC) {
			prec = 0;
			buf[--w] = 'n';
		} else if (u < (uint64_t)DURATION_MSEC) {
			prec = 3;
			buf[--w] = '\xb5';
			buf[--w] = '\xc2';
		} else {
			prec = 6;
			buf[--w] = 'm';
		}
		u = fmt_frac(buf, &w, u, prec);
		fmt_int(buf, &w, u);
	} else {
		buf[--w] = 's';
		u = fmt_frac(buf, &w, u, 9);
		fmt_int(buf, &w, u % 60);
		u /= 60;
		if (u > 0) {
			buf[--w] = 'm';
			fmt_int(buf, &w, u % 60);
			u /= 60;
			/* Hours are the largest unit: days vary in length. */
			if (u > 0) {
				buf[--w] = 'h';
				fmt_int(buf, &w, u);
			}
		}
	}
	if (neg)
		buf[--w] = '-';
done:
	strlcpy(out, buf + w, len);
	return out;
}
