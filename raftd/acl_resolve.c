/*
 * Token resolution and its cache (acl_resolve.h).
 */
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "acl_resolve.h"
#include "acl_state.h"
#include "log.h"

#define DIGEST_LEN	32

struct acl_entry {
	RB_ENTRY(acl_entry)	 node;
	TAILQ_ENTRY(acl_entry)	 order;
	unsigned char		 digest[DIGEST_LEN];
	struct acl_authz	 authz;
	int			 found;
	uint64_t		 epoch;
	uint64_t		 expires_ms;
};

RB_HEAD(acl_entries, acl_entry);
TAILQ_HEAD(acl_order, acl_entry);

int	acl_entry_cmp(struct acl_entry *, struct acl_entry *);
RB_PROTOTYPE(acl_entries, acl_entry, node, acl_entry_cmp)

int
acl_entry_cmp(struct acl_entry *a, struct acl_entry *b)
{
	return memcmp(a->digest, b->digest, DIGEST_LEN);
}
RB_GENERATE(acl_entries, acl_entry, node, acl_entry_cmp)

struct acl_resolver {
	struct acl_entries	 entries;
	struct acl_order	 found;		/* oldest first */
	struct acl_order	 missing;
	size_t			 nfound, nmissing;
	size_t			 max_found, max_missing;
	uint64_t		 ttl_ms;
	int			 default_allow;
	unsigned char		 key[crypto_generichash_KEYBYTES];
};

struct acl_resolver *
acl_resolver_new(size_t max_found, size_t max_missing, uint64_t ttl_ms,
    int default_allow)
{
	struct acl_resolver	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	RB_INIT(&r->entries);
	TAILQ_INIT(&r->found);
	TAILQ_INIT(&r->missing);
	r->max_found = max_found > 0 ? max_found : 1;
	r->max_missing = max_missing > 0 ? max_missing : 1;
	r->ttl_ms = ttl_ms;
	r->default_allow = default_allow;
	randombytes_buf(r->key, sizeof(r->key));
	return r;
}

static void
entry_drop(struct acl_resolver *r, struct acl_entry *e)
{
	RB_REMOVE(acl_entries, &r->entries, e);
	if (e->found) {
		TAILQ_REMOVE(&r->found, e, order);
		r->nfound--;
	} else {
		TAILQ_REMOVE(&r->missing, e, order);
		r->nmissing--;
	}
	acl_rules_free(e->authz.rules);
	free(e);
}

void
acl_resolver_free(struct acl_resolver *r)
{
	struct acl_entry	*e;

	if (r == NULL)
		return;
	while ((e = RB_MIN(acl_entries, &r->entries)) != NULL)
		entry_drop(r, e);
	explicit_bzero(r->key, sizeof(r->key));
	free(r);
}

void
acl_resolver_counts(const struct acl_resolver *r, size_t *found,
    size_t *missing)
{
	*found = r->nfound;
	*missing = r->nmissing;
}

uint64_t
acl_epoch(struct store *s)
{
	const char	*tables[] = { ACL_TOKENS_TABLE, ACL_POLICIES_TABLE,
			    ACL_ROLES_TABLE };
	uint64_t	 v, max = 0;
	size_t		 i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (store_get_u64(s, s->tables, NULL, tables[i], &v) == 0 &&
		    v > max)
			max = v;
	return max;
}

static int
dc_listed(char *const *dcs, size_t n, const char *dc)
{
	size_t	 i;

	if (n == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (strcmp(dcs[i], dc) == 0)
			return 1;
	return 0;
}

/* Adds the policies with these IDs that apply in dc; 0 or -1. */
static int
add_policies(struct store *s, struct acl_authz *a, char *const *ids,
    size_t n, const char *dc)
{
	struct acl_policy	 p;
	char			 err[ACL_RULES_ERR_MAX];
	size_t			 i;
	int			 rc;

	for (i = 0; i < n; i++) {
		if ((rc = acl_state_policy_get(s, NULL, ids[i], &p)) == -1)
			return -1;
		if (rc == 1)
			continue;	/* deleted: the link no longer counts */
		if (dc_listed(p.dcs, p.ndcs, dc)) {
			if (strcmp(p.id, ACL_GLOBAL_MANAGEMENT_ID) == 0)
				a->management = 1;
			else if (p.rules != NULL && acl_rules_parse(a->rules,
			    p.rules, strlen(p.rules), err,
			    sizeof(err)) == -1)
				log_warnx("acl: policy %s: %s", p.id, err);
		}
		acl_policy_free(&p);
	}
	return 0;
}

static int
add_idents(struct acl_authz *a, const struct acl_svc_ident *si, size_t nsi,
    const struct acl_node_ident *ni, size_t nni, const char *dc)
{
	size_t	 i;

	for (i = 0; i < nsi; i++)
		if (dc_listed(si[i].dcs, si[i].ndcs, dc) &&
		    acl_rules_service_identity(a->rules, si[i].name) == -1)
			return -1;
	for (i = 0; i < nni; i++)
		if (ni[i].dc != NULL && strcmp(ni[i].dc, dc) == 0 &&
		    acl_rules_node_identity(a->rules, ni[i].name) == -1)
			return -1;
	return 0;
}

/* The authorizer of a token; 0, or -1 on a store error. */
static int
compile(struct store *s, const struct acl_token *t, const char *dc,
    struct acl_authz *a)
{
	struct acl_role	 role;
	size_t		 i;
	int		 rc;

	if ((a->rules = acl_rules_new()) == NULL)
		fatal("acl");
	if (add_policies(s, a, t->policies, t->npolicies, dc) == -1 ||
	    add_idents(a, t->svc_idents, t->nsvc_idents, t->node_idents,
	    t->nnode_idents, dc) == -1)
		return -1;
	for (i = 0; i < t->nroles; i++) {
		if ((rc = acl_state_role_get(s, NULL, t->roles[i],
		    &role)) == -1)
			return -1;
		if (rc == 1)
			continue;
		rc = add_policies(s, a, role.policies, role.npolicies, dc);
		if (rc == 0)
			rc = add_idents(a, role.svc_idents, role.nsvc_idents,
			    role.node_idents, role.nnode_idents, dc);
		acl_role_free(&role);
		if (rc == -1)
			return -1;
	}
	acl_rules_compile(a->rules);
	return 0;
}

int
acl_resolve_for_dc(struct store *s, const char *dc, const char *secret,
    uint64_t now_ns, int default_allow, struct acl_authz *out)
{
	struct acl_token	 t;
	int			 rc;

	memset(out, 0, sizeof(*out));
	out->default_allow = default_allow;
	if (*secret == '\0')
		rc = acl_state_token_get(s, NULL, ACL_ANONYMOUS_ID, &t);
	else
		rc = acl_state_token_by_secret(s, NULL, secret, &t);
	if (rc != 0)
		return rc;
	if (t.local || (t.expiration_time != 0 &&
	    t.expiration_time <= now_ns)) {
		acl_token_free(&t);
		return 1;
	}
	strlcpy(out->accessor, t.accessor, sizeof(out->accessor));
	rc = compile(s, &t, dc, out);
	acl_token_free(&t);
	if (rc == -1) {
		acl_rules_free(out->rules);
		out->rules = NULL;
	}
	return rc;
}

int
acl_resolve(struct acl_resolver *r, struct store *s, const char *dc,
    const char *secret, uint64_t now_ns, uint64_t now_ms, uint64_t epoch,
    const struct acl_authz **out)
{
	struct acl_entry	 key, *e;
	struct acl_token	 t;
	int			 rc;

	*out = NULL;
	crypto_generichash(key.digest, DIGEST_LEN,
	    (const unsigned char *)secret, strlen(secret), r->key,
	    sizeof(r->key));
	if ((e = RB_FIND(acl_entries, &r->entries, &key)) != NULL) {
		if (e->epoch == epoch && now_ms < e->expires_ms) {
			*out = e->found ? &e->authz : NULL;
			return e->found ? 0 : 1;
		}
		entry_drop(r, e);
	}
	if (*secret == '\0')
		rc = acl_state_token_get(s, NULL, ACL_ANONYMOUS_ID, &t);
	else
		rc = acl_state_token_by_secret(s, NULL, secret, &t);
	if (rc == -1)
		return -1;
	if (rc == 0 && t.expiration_time != 0 &&
	    t.expiration_time <= now_ns) {
		acl_token_free(&t);
		rc = 1;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		fatal("acl");
	memcpy(e->digest, key.digest, DIGEST_LEN);
	e->epoch = epoch;
	e->expires_ms = now_ms + r->ttl_ms;
	e->authz.default_allow = r->default_allow;
	if (rc == 0) {
		e->found = 1;
		/* An expiring token is not kept past its expiry. */
		if (t.expiration_time != 0 && (t.expiration_time - now_ns) /
		    1000000 < r->ttl_ms)
			e->expires_ms = now_ms + (t.expiration_time - now_ns) /
			    1000000;
		strlcpy(e->authz.accessor, t.accessor,
		    sizeof(e->authz.accessor));
		rc = compile(s, &t, dc, &e->authz);
		acl_token_free(&t);
		if (rc == -1) {
			acl_rules_free(e->authz.rules);
			free(e);
			return -1;
		}
		if (r->nfound >= r->max_found)
			entry_drop(r, TAILQ_FIRST(&r->found));
		TAILQ_INSERT_TAIL(&r->found, e, order);
		r->nfound++;
	} else {
		if (r->nmissing >= r->max_missing)
			entry_drop(r, TAILQ_FIRST(&r->missing));
		TAILQ_INSERT_TAIL(&r->missing, e, order);
		r->nmissing++;
	}
	RB_INSERT(acl_entries, &r->entries, e);
	*out = e->found ? &e->authz : NULL;
	return e->found ? 0 : 1;
}
