/*
 * Blocking descriptor I/O that finishes what it starts.
 */
#ifndef CONSULD_FDIO_H
#define CONSULD_FDIO_H

#include <stddef.h>

int	fd_write_all(int, const void *, size_t);

#endif
