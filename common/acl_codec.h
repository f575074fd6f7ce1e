/*
 * ACL objects (tokens, policies, roles) as they cross processes and
 * live in the Raft log, raftd's tables and snapshots, with their
 * MessagePack codecs.  Tokens and roles link policies and roles by ID
 * only; names are looked up when an object is shown, so a rename needs
 * no rewrite of what links to it.
 *
 * Strings are NUL-terminated and bounded (ACL_STR_MAX, descriptions
 * ACL_DESC_MAX, rules ACL_POLICY_RULES_MAX), lists by ACL_LIST_MAX.  An
 * unpack checks everything and on error leaves nothing allocated.
 */
#ifndef CONSULD_ACL_CODEC_H
#define CONSULD_ACL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "mpack.h"

#define ACL_STR_MAX		1024
#define ACL_DESC_MAX		(8 * 1024)
#define ACL_POLICY_RULES_MAX	(64 * 1024)
#define ACL_LIST_MAX		512

/* The built-in objects every cluster has. */
#define ACL_GLOBAL_MANAGEMENT_ID	"00000000-0000-0000-0000-000000000001"
#define ACL_GLOBAL_MANAGEMENT_NAME	"global-management"
#define ACL_ANONYMOUS_ID		"00000000-0000-0000-0000-000000000002"
#define ACL_ANONYMOUS_SECRET		"anonymous"
/* A SecretID shown to a reader without acl:write. */
#define ACL_SECRET_HIDDEN		"<hidden>"

/* A service identity: ServiceName, and where it applies (all if none). */
struct acl_svc_ident {
	char		 *name;
	char		**dcs;
	size_t		  ndcs;
};

/* A node identity: NodeName in one Datacenter. */
struct acl_node_ident {
	char		*name;
	char		*dc;
};

struct acl_token {
	char			 *accessor;	/* UUID; required */
	char			 *secret;	/* UUID; "" in an update */
	char			 *description;
	char			**policies;	/* policy IDs */
	size_t			  npolicies;
	char			**roles;	/* role IDs */
	size_t			  nroles;
	struct acl_svc_ident	 *svc_idents;
	size_t			  nsvc_idents;
	struct acl_node_ident	 *node_idents;
	size_t			  nnode_idents;
	int			  local;
	uint64_t		  create_time;		/* unix ns */
	uint64_t		  expiration_time;	/* unix ns, 0 never */
	uint64_t		  expiration_ttl;	/* ns, as given */
	char			 *hash;		/* base64 */
	/*
	 * In a write from apid only: links by name, which the leader
	 * turns into IDs before the change goes into the log.
	 */
	char			**policy_names;
	size_t			  npolicy_names;
	char			**role_names;
	size_t			  nrole_names;
	uint64_t		  create_index;
	uint64_t		  modify_index;
};

struct acl_policy {
	char		 *id;		/* UUID; required */
	char		 *name;		/* unique; required */
	char		 *description;
	char		 *rules;	/* HCL or JSON, as given */
	char		**dcs;		/* Datacenters; all if none */
	size_t		  ndcs;
	char		 *hash;
	uint64_t	  create_index;
	uint64_t	  modify_index;
};

struct acl_role {
	char			 *id;		/* UUID; required */
	char			 *name;		/* unique; required */
	char			 *description;
	char			**policies;	/* policy IDs */
	size_t			  npolicies;
	struct acl_svc_ident	 *svc_idents;
	size_t			  nsvc_idents;
	struct acl_node_ident	 *node_idents;
	size_t			  nnode_idents;
	char			 *hash;
	char			**policy_names;	/* as in acl_token */
	size_t			  npolicy_names;
	uint64_t		  create_index;
	uint64_t		  modify_index;
};

void	 acl_token_pack(msgpack_packer *, const struct acl_token *);
int	 acl_token_unpack(const msgpack_object *, struct acl_token *);
void	 acl_token_free(struct acl_token *);

void	 acl_policy_pack(msgpack_packer *, const struct acl_policy *);
int	 acl_policy_unpack(const msgpack_object *, struct acl_policy *);
void	 acl_policy_free(struct acl_policy *);

void	 acl_role_pack(msgpack_packer *, const struct acl_role *);
int	 acl_role_unpack(const msgpack_object *, struct acl_role *);
void	 acl_role_free(struct acl_role *);

/* Constant-time equality of two secrets (lengths may leak, not bytes). */
int	 acl_secret_equal(const char *, const char *);

/*
 * An authorizer (acl_rules.h) packed as it crosses processes; unpack
 * gives a compiled one whose rules the caller frees (acl_rules_free).
 */
#define ACL_AUTHZ_RULES_MAX	8192	/* per resource and kind */
struct acl_authz;
void	 acl_authz_pack(msgpack_packer *, const struct acl_authz *);
int	 acl_authz_unpack(const msgpack_object *, struct acl_authz *);

#endif
