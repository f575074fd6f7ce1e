/*
 * Go's %q quoting, for messages that must read as Consul's.
 */
#ifndef CONSULD_GOQUOTE_H
#define CONSULD_GOQUOTE_H

#include <stddef.h>

const char	*go_quote(char *, size_t, const char *, size_t);

#endif
