/*
 * Token resolution: a secret becomes an authorizer (common/acl_rules.h)
 * from the token's policies, its roles' policies and its service and
 * node identities, as they apply in this datacenter.  Results are
 * cached for a TTL and until the ACL tables change (their epoch, the
 * highest of their indexes, moves); secrets that resolve to nothing
 * are cached too, in a bounded table, so that a flood of random
 * secrets costs a fixed amount of memory.  Cache keys are keyed
 * BLAKE2b digests of the secrets, never the secrets.
 */
#ifndef CONSULD_ACL_RESOLVE_H
#define CONSULD_ACL_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "acl_rules.h"
#include "store.h"

struct acl_resolver;

struct acl_resolver *acl_resolver_new(size_t, size_t, uint64_t, int);
void	 acl_resolver_free(struct acl_resolver *);
/*
 * Resolve secret ("" is the anonymous token) in datacenter dc at wall
 * clock now_ns (for expiry) and monotonic now_ms (for the cache), with
 * the ACL tables at epoch.  0 and *out (owned by the resolver, good
 * until its next call); 1 when there is no such token or it expired
 * ("ACL not found"); -1 on a store error.
 */
int	 acl_resolve(struct acl_resolver *, struct store *, const char *,
	    const char *, uint64_t, uint64_t, uint64_t,
	    const struct acl_authz **);
/*
 * For a server of datacenter dc that does not replicate tokens: the
 * same, not cached, into *out (the caller frees out->rules); 1 also
 * for a token local to this datacenter.
 */
int	 acl_resolve_for_dc(struct store *, const char *, const char *,
	    uint64_t, int, struct acl_authz *);
/* The ACL tables' epoch: the highest of their indexes. */
uint64_t acl_epoch(struct store *);
/* How many resolved and unresolved secrets the cache holds. */
void	 acl_resolver_counts(const struct acl_resolver *, size_t *,
	    size_t *);

#endif
