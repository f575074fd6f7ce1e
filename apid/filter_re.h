/*
 * The regular expressions of ?filter's `matches`: RE2's syntax (Consul
 * uses Go's regexp) on bytes, compiled to a small automaton and run in
 * time linear in the text times the pattern, whatever either holds.
 */
#ifndef CONSULD_APID_FILTER_RE_H
#define CONSULD_APID_FILTER_RE_H

#include <stddef.h>
#include <stdint.h>

#define FRE_LEN_MAX		512	/* bytes in a pattern */
#define FRE_PROG_MAX		512	/* automaton states, repeats expanded */
#define FRE_DEPTH_MAX		32	/* nested groups */

struct fre;

/* NULL with the reason in err when the pattern is not one we take. */
struct fre	*fre_compile(const char *, char *, size_t);
/*
 * 1 if the pattern matches anywhere in the text, else 0; -1 if that
 * would take more than *budget steps (a state at a byte each), which
 * the search takes off *budget as it goes.
 */
int		 fre_match(const struct fre *, const char *, size_t,
		    uint64_t *);
void		 fre_free(struct fre *);

#endif
