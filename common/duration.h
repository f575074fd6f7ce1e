/*
 * Durations in Go's notation ("1m30s", "500ms", "1.5h"), the form Consul
 * uses in its configuration files and its HTTP API.  Values are signed
 * 64-bit nanosecond counts, like Go's time.Duration.
 */
#ifndef CONSULD_DURATION_H
#define CONSULD_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define DURATION_NSEC		1LL
#define DURATION_USEC		(1000 * DURATION_NSEC)
#define DURATION_MSEC		(1000 * DURATION_USEC)
#define DURATION_SEC		(1000 * DURATION_MSEC)
#define DURATION_MIN		(60 * DURATION_SEC)
#define DURATION_HOUR		(60 * DURATION_MIN)

/* Room for the longest formatted value, "-2562047h47m16.854775808s". */
#define DURATION_BUFSIZE	32

int	 duration_parse(const char *, int64_t *);
char	*duration_format(int64_t, char *, size_t);

#endif
