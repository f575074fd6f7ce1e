/*
 * The sandbox each child enters once it has opened what it needs:
 * chroot, drop to the unprivileged user, then a seccomp filter that
 * allows only the system calls that process uses (pledge's stand-in).
 */
#ifndef CONSULD_SANDBOX_H
#define CONSULD_SANDBOX_H

#include "proc.h"

/* A line a child writes just before the sandbox kills it. */
#define SANDBOX_VIOLATION	"sandbox: violation: syscall "

void	sandbox_enter(enum proc_id, const char *, const char *);
void	sandbox_filter(enum proc_id);

#endif
