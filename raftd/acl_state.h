/*
 * ACL objects in raftd's store: tokens (found by AccessorID, and by
 * SecretID through an index), policies and roles (by ID; names are
 * unique and found by a walk, the tables being small), and the index
 * of the bootstrap, which allows one bootstrap until an operator
 * names that index in data_dir/acl-bootstrap-reset.
 *
 *	acl_tokens	accessor -> acl_token
 *	acl_secrets	secret -> accessor
 *	acl_policies	id -> acl_policy
 *	acl_roles	id -> acl_role
 *
 * The "acl-tokens", "acl-policies" and "acl-roles" table indexes move
 * with every change; "acl-token-bootstrap" holds the bootstrap's.
 */
#ifndef CONSULD_ACL_STATE_H
#define CONSULD_ACL_STATE_H

#include "acl_codec.h"
#include "snapshot_format.h"
#include "store.h"

#define ACL_TOKENS_TABLE	"acl-tokens"
#define ACL_POLICIES_TABLE	"acl-policies"
#define ACL_ROLES_TABLE		"acl-roles"
#define ACL_BOOTSTRAP_TABLE	"acl-token-bootstrap"

/*
 * The FSM command of an ACL change, [op, arg, n]: arg is the object
 * (a token for BOOTSTRAP) or the ID to delete, nil for BUILTINS; n is
 * the reset index of a BOOTSTRAP, the leader's wall clock (unix ns)
 * for BUILTINS, else 0.
 */
enum acl_op {
	ACL_OP_BUILTINS = 1,
	ACL_OP_BOOTSTRAP,
	ACL_OP_TOKEN_SET,
	ACL_OP_TOKEN_DELETE,
	ACL_OP_POLICY_SET,
	ACL_OP_POLICY_DELETE,
	ACL_OP_ROLE_SET,
	ACL_OP_ROLE_DELETE
};

typedef int (*acl_token_fn)(void *, const struct acl_token *);
typedef int (*acl_policy_fn)(void *, const struct acl_policy *);
typedef int (*acl_role_fn)(void *, const struct acl_role *);

/*
 * Reads: 0 and the object (the caller frees it), 1 if there is none,
 * -1 on a store error.  Writes: 0 done, 1 refused with err set
 * (Consul's messages), -1 on a store error.  Lists: the callback
 * returns -1 to stop; 0 or -1.
 */
int	 acl_state_token_get(struct store *, DB_TXN *, const char *,
	    struct acl_token *);
int	 acl_state_token_by_secret(struct store *, DB_TXN *, const char *,
	    struct acl_token *);
int	 acl_state_token_set(struct store *, DB_TXN *, uint64_t,
	    const struct acl_token *, char *, size_t);
int	 acl_state_token_delete(struct store *, DB_TXN *, uint64_t,
	    const char *, char *, size_t);
int	 acl_state_token_list(struct store *, acl_token_fn, void *);

int	 acl_state_policy_get(struct store *, DB_TXN *, const char *,
	    struct acl_policy *);
int	 acl_state_policy_by_name(struct store *, DB_TXN *, const char *,
	    struct acl_policy *);
int	 acl_state_policy_set(struct store *, DB_TXN *, uint64_t,
	    const struct acl_policy *, char *, size_t);
int	 acl_state_policy_delete(struct store *, DB_TXN *, uint64_t,
	    const char *, char *, size_t);
int	 acl_state_policy_list(struct store *, acl_policy_fn, void *);

int	 acl_state_role_get(struct store *, DB_TXN *, const char *,
	    struct acl_role *);
int	 acl_state_role_by_name(struct store *, DB_TXN *, const char *,
	    struct acl_role *);
int	 acl_state_role_set(struct store *, DB_TXN *, uint64_t,
	    const struct acl_role *, char *, size_t);
int	 acl_state_role_delete(struct store *, DB_TXN *, uint64_t,
	    const char *, char *, size_t);
int	 acl_state_role_list(struct store *, acl_role_fn, void *);

/*
 * The built-in global-management policy and anonymous token, made if
 * missing (the leader proposes this when it takes office); 0 or -1.
 */
int	 acl_state_builtins(struct store *, DB_TXN *, uint64_t, uint64_t);
/*
 * Bootstrap: store the token (which must hold global-management) if no
 * bootstrap happened yet, or if reset_index names the last one.
 */
int	 acl_state_bootstrap(struct store *, DB_TXN *, uint64_t, uint64_t,
	    const struct acl_token *, char *, size_t);
int	 acl_state_bootstrap_index(struct store *, DB_TXN *, uint64_t *);

void	 acl_cmd_pack(msgpack_packer *, enum acl_op, const void *, uint64_t);
/* Whether a command decodes: 0, or -1. */
int	 acl_cmd_check(const msgpack_object *);
/*
 * Apply one command: 0 done, 1 refused, 2 malformed (err says why both
 * times), -1 on a store error.
 */
int	 acl_state_apply(struct store *, DB_TXN *, uint64_t,
	    const msgpack_object *, char *, size_t);

/* Snapshots: SNAP_REC_ACL_TOKEN, _POLICY and _ROLE records. */
int	 acl_state_dump(struct store *, struct snapshot_writer *);
int	 acl_state_clear(struct store *, DB_TXN *);
int	 acl_state_load(struct store *, DB_TXN *, enum snapshot_record,
	    const msgpack_object *);

#endif
