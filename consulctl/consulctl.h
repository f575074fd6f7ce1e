/*
 * consulctl: the command-line client, in the habits of `consul`: one
 * file per command family, a table of commands, Go-style flags
 * (-flag=value), Consul's messages and exit codes.
 */
#ifndef CONSULD_CONSULCTL_H
#define CONSULD_CONSULCTL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Where and how to reach the agent: flags, then the environment. */
struct http_opts {
	const char	*addr;
	const char	*token;
	const char	*token_file;
	const char	*datacenter;
	int		 stale;
	const int	*cancel_fd;	/* readable: give up waiting (-3) */
	/* HTTPS: -ca-file and friends, or CONSUL_CACERT and friends. */
	const char	*ca_file;
	const char	*ca_path;
	const char	*client_cert;
	const char	*client_key;
	const char	*tls_server_name;
	int		 ssl;		/* CONSUL_HTTP_SSL */
	int		 ssl_noverify;	/* CONSUL_HTTP_SSL_VERIFY=false */
};

struct http_response {
	int		 status;
	char		*body;
	size_t		 len;
	char		*index;		/* X-Consul-Index, or NULL */
};

enum cflag_kind {
	CFLAG_BOOL,
	CFLAG_STRING,
	CFLAG_INT,
	CFLAG_UINT64,
	CFLAG_LIST		/* repeatable string: struct cflag_list */
};

/* The values of a repeatable flag, in command-line order. */
struct cflag_list {
	const char	**v;
	size_t		  n;
};

struct cflag {
	const char	*name;
	enum cflag_kind	 kind;
	void		*dest;	/* int *, uint64_t *, const char ** or list */
};

struct command {
	const char	*name;		/* "kv get" for a two-word command */
	const char	*synopsis;
	int		(*run)(int, char **);
};

/* child.c */
char	*child_join(char **, int);
pid_t	 child_start(char **, int, int, int, const char *, const char *, int,
	    char *, size_t);
void	 child_status(int, char *, size_t);

/* flags.c */
int	 cflags_parse(const char *, const struct cflag *, size_t,
	    struct http_opts *, int, char **);
int	 cflags_parse_only(const char *, const struct cflag *, size_t,
	    struct http_opts *, int, char **);
void	 cflag_list_free(struct cflag_list *);

/* http.c */
int	 http_send(const struct http_opts *, const char *, const char *,
	    const char *, const void *, size_t, struct http_response *,
	    char *, size_t);
int	 http_request(const struct http_opts *, const char *, const char *,
	    const void *, size_t, struct http_response *);
void	 http_unexpected(const struct http_response *, char *, size_t);
void	 http_escape(FILE *, const char *, const char *);
void	 http_response_free(struct http_response *);
json_t	*http_get_json(const struct http_opts *, const char *, const char *);
const char *json_kind(json_t *);
const char *json_str(json_t *, const char *);
int	 str_ptr_cmp(const void *, const void *);

/* kv.c */
json_t	*kv_json_load(const char *, size_t, json_error_t *);
int	 json_u64(json_t *, uint64_t *);
int	 b64_decode(const char *, size_t, unsigned char **, size_t *, char *,
	    size_t);
char	*b64_encode(const unsigned char *, size_t);

/* tabwriter.c */
int	 tab_print(FILE *, const char *, size_t, long);
size_t	 utf8_len(const unsigned char *, size_t);

/* commands */
int	 cmd_acl_bootstrap(int, char **);
int	 cmd_acl_policy_create(int, char **);
int	 cmd_acl_policy_delete(int, char **);
int	 cmd_acl_policy_list(int, char **);
int	 cmd_acl_policy_read(int, char **);
int	 cmd_acl_policy_update(int, char **);
int	 cmd_acl_role_create(int, char **);
int	 cmd_acl_role_delete(int, char **);
int	 cmd_acl_role_list(int, char **);
int	 cmd_acl_role_read(int, char **);
int	 cmd_acl_role_update(int, char **);
int	 cmd_acl_token_clone(int, char **);
int	 cmd_acl_set_agent_token(int, char **);
int	 cmd_acl_token_create(int, char **);
int	 cmd_acl_token_delete(int, char **);
int	 cmd_acl_token_list(int, char **);
int	 cmd_acl_token_read(int, char **);
int	 cmd_acl_token_update(int, char **);
int	 cmd_catalog_datacenters(int, char **);
int	 cmd_catalog_nodes(int, char **);
int	 cmd_catalog_services(int, char **);
int	 cmd_event(int, char **);
int	 cmd_force_leave(int, char **);
int	 cmd_join(int, char **);
int	 cmd_keyring(int, char **);
int	 cmd_leave(int, char **);
int	 cmd_lock(int, char **);
int	 cmd_maint(int, char **);
int	 cmd_members(int, char **);
int	 cmd_operator_raft_list_peers(int, char **);
int	 cmd_operator_raft_remove_peer(int, char **);
int	 cmd_operator_raft_transfer_leader(int, char **);
int	 cmd_reload(int, char **);
int	 cmd_rtt(int, char **);
int	 cmd_services_deregister(int, char **);
int	 cmd_services_register(int, char **);
int	 cmd_snapshot_save(int, char **);
int	 cmd_snapshot_restore(int, char **);
int	 cmd_snapshot_inspect(int, char **);
int	 cmd_tls_ca_create(int, char **);
int	 cmd_tls_cert_create(int, char **);
int	 cmd_version(int, char **);
int	 cmd_watch(int, char **);
int	 cmd_keygen(int, char **);
int	 cmd_validate(int, char **);
int	 cmd_info(int, char **);
int	 cmd_kv_delete(int, char **);
int	 cmd_kv_export(int, char **);
int	 cmd_kv_get(int, char **);
int	 cmd_kv_import(int, char **);
int	 cmd_kv_put(int, char **);

#endif
