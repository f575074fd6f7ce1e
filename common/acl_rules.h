/*
 * ACL rules: a parser for the HCL subset (and its JSON form) that
 * Consul policies are written in, and the authorizer that turns the
 * rules of a token's policies and identities into allow or deny
 * decisions with Consul's precedence: an exact rule beats a prefix
 * rule, the longest prefix wins, and among rules for the same name at
 * the same level of specificity deny beats write beats list beats read.
 */
#ifndef CONSULD_ACL_RULES_H
#define CONSULD_ACL_RULES_H

#include <stddef.h>

/*
 * Access levels, in merge order: when two rules name the same thing
 * with the same specificity, the higher value wins.  A request asks
 * for READ, LIST or WRITE.
 */
enum acl_level {
	ACL_LEVEL_NONE = 0,
	ACL_LEVEL_READ,
	ACL_LEVEL_LIST,
	ACL_LEVEL_WRITE,
	ACL_LEVEL_DENY
};

/* Resources named by a segment, then the three single-valued ones. */
enum acl_resource {
	ACL_RES_KEY = 0,
	ACL_RES_NODE,
	ACL_RES_SERVICE,
	ACL_RES_SESSION,
	ACL_RES_EVENT,
	ACL_RES_QUERY,
	ACL_RES_AGENT,
	ACL_RES_OPERATOR,
	ACL_RES_KEYRING,
	ACL_RES_ACL,
	ACL_RES_MAX
};
#define ACL_RES_NAMED	ACL_RES_OPERATOR	/* count of named kinds */

/* Room for "line N, column N: " plus a message naming a rule. */
#define ACL_RULES_ERR_MAX	256

/* Deepest nesting of braces and brackets a rules text may use. */
#define ACL_RULES_MAX_DEPTH	32

struct acl_rule {
	char		*name;
	size_t		 len;
	enum acl_level	 level;
};

struct acl_ruleset {
	struct acl_rule	*v;
	size_t		 n;
	size_t		 cap;
};

struct acl_rules {
	struct acl_ruleset	 exact[ACL_RES_NAMED];
	struct acl_ruleset	 prefix[ACL_RES_NAMED];
	enum acl_level		 single[ACL_RES_MAX - ACL_RES_NAMED];
	int			 compiled;
};

/* A token's rights: its merged rules, or everything. */
struct acl_authz {
	struct acl_rules	*rules;
	int			 management;
	int			 default_allow;
	char			 accessor[37];	/* its AccessorID, or "" */
};

/* Room for a refusal (acl_denied): what a read's end carries. */
#define ACL_DENIED_MAX	192

struct acl_rules	*acl_rules_new(void);
void			 acl_rules_free(struct acl_rules *);
int			 acl_rules_parse(struct acl_rules *, const char *,
			    size_t, char *, size_t);
int			 acl_rules_add(struct acl_rules *, enum acl_resource,
			    int, const char *, enum acl_level);
int			 acl_rules_merge(struct acl_rules *,
			    const struct acl_rules *);
int			 acl_rules_service_identity(struct acl_rules *,
			    const char *);
int			 acl_rules_node_identity(struct acl_rules *,
			    const char *);
void			 acl_rules_compile(struct acl_rules *);
enum acl_level		 acl_rules_lookup(const struct acl_rules *,
			    enum acl_resource, const char *);

int			 acl_allowed(const struct acl_authz *,
			    enum acl_resource, const char *, enum acl_level);
int			 acl_key_write_prefix_allowed(const struct acl_authz *,
			    const char *);

void			 acl_denied(char *, size_t,
			    const struct acl_authz *, enum acl_resource,
			    const char *, enum acl_level);
int			 acl_is_denial(const char *);

const char		*acl_level_name(enum acl_level);
const char		*acl_resource_name(enum acl_resource);

#endif
