/*
 * consulctl's entry point: find the command in the table and run it.
 * A two-word command ("kv get") is found before its group ("kv"); a
 * group alone, with no run function, lists its subcommands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

static const struct command commands[] = {
	{ "acl", "Interact with Consul's ACLs", NULL },
	{ "acl bootstrap", "Bootstrap Consul's ACL system",
	    cmd_acl_bootstrap },
	{ "acl policy", "Manage Consul's ACL policies", NULL },
	{ "acl policy create", "Create an ACL policy",
	    cmd_acl_policy_create },
	{ "acl policy delete", "Delete an ACL policy",
	    cmd_acl_policy_delete },
	{ "acl policy list", "Lists ACL policies", cmd_acl_policy_list },
	{ "acl policy read", "Read an ACL policy", cmd_acl_policy_read },
	{ "acl policy update", "Update an ACL policy",
	    cmd_acl_policy_update },
	{ "acl role", "Manage Consul's ACL roles", NULL },
	{ "acl role create", "Create an ACL role", cmd_acl_role_create },
	{ "acl role delete", "Delete an ACL role", cmd_acl_role_delete },
	{ "acl role list", "Lists ACL roles", cmd_acl_role_list },
	{ "acl role read", "Read an ACL role", cmd_acl_role_read },
	{ "acl role update", "Update an ACL role", cmd_acl_role_update },
	{ "acl set-agent-token", "Assign tokens for the Consul Agent's usage",
	    cmd_acl_set_agent_token },
	{ "acl token", "Manage Consul's ACL tokens", NULL },
	{ "acl token clone", "Clone an ACL token", cmd_acl_token_clone },
	{ "acl token create", "Create an ACL token", cmd_acl_token_create },
	{ "acl token delete", "Delete an ACL token", cmd_acl_token_delete },
	{ "acl token list", "List ACL tokens", cmd_acl_token_list },
	{ "acl token read", "Read an ACL token", cmd_acl_token_read },
	{ "acl token update", "Update an ACL token", cmd_acl_token_update },
	{ "catalog", "Interact with the catalog", NULL },
	{ "catalog datacenters", "Lists all known datacenters",
	    cmd_catalog_datacenters },
	{ "catalog nodes", "Lists all nodes in the given datacenter",
	    cmd_catalog_nodes },
	{ "catalog services", "Lists all registered services in a "
	    "datacenter", cmd_catalog_services },
	{ "event", "Fire a new event", cmd_event },
	{ "force-leave", "Forces a member of the cluster to enter the "
	    "\"left\" state", cmd_force_leave },
	{ "info", "Provides debugging information for operators.",
	    cmd_info },
	{ "join", "Tell Consul agent to join cluster", cmd_join },
	{ "keygen", "Generates a new encryption key", cmd_keygen },
	{ "keyring", "Manages gossip layer encryption keys", cmd_keyring },
	{ "kv", "Interact with the key-value store", NULL },
	{ "kv delete", "Removes data from the KV store", cmd_kv_delete },
	{ "kv export", "Exports a tree from the KV store as JSON",
	    cmd_kv_export },
	{ "kv get", "Retrieves or lists data from the KV store", cmd_kv_get },
	{ "kv import", "Imports a tree stored as JSON to the KV store",
	    cmd_kv_import },
	{ "kv put", "Sets or updates data in the KV store", cmd_kv_put },
	{ "leave", "Gracefully leaves the Consul cluster and shuts down",
	    cmd_leave },
	{ "lock", "Execute a command holding a lock", cmd_lock },
	{ "maint", "Controls node or service maintenance mode", cmd_maint },
	{ "members", "Lists the members of a Consul cluster", cmd_members },
	{ "operator", "Provides cluster-level tools for Consul operators",
	    NULL },
	{ "operator raft", "Provides cluster-level tools for Consul "
	    "operators", NULL },
	{ "operator raft list-peers", "Display the current Raft peer "
	    "configuration", cmd_operator_raft_list_peers },
	{ "operator raft remove-peer", "Remove a Consul server from the Raft "
	    "configuration", cmd_operator_raft_remove_peer },
	{ "operator raft transfer-leader", "Transfer raft leadership to "
	    "another Consul server", cmd_operator_raft_transfer_leader },
	{ "reload", "Triggers the agent to reload configuration files",
	    cmd_reload },
	{ "rtt", "Estimates network round trip time between nodes", cmd_rtt },
	{ "services", "Interact with services", NULL },
	{ "services deregister", "Deregister services with the local agent",
	    cmd_services_deregister },
	{ "services register", "Register services with the local agent",
	    cmd_services_register },
	{ "snapshot", "Saves, restores and inspects snapshots of Consul "
	    "server state", NULL },
	{ "snapshot inspect", "Displays information about a Consul snapshot "
	    "file", cmd_snapshot_inspect },
	{ "snapshot restore", "Restores snapshot of Consul server state",
	    cmd_snapshot_restore },
	{ "snapshot save", "Saves snapshot of Consul server state",
	    cmd_snapshot_save },
	{ "tls", "Builtin helpers for creating CAs and certificates", NULL },
	{ "tls ca", "Helpers for CAs", NULL },
	{ "tls ca create", "Create a new consul CA", cmd_tls_ca_create },
	{ "tls cert", "Helpers for certificates", NULL },
	{ "tls cert create", "Create a new certificate", cmd_tls_cert_create },
	{ "validate", "Validate config files/directories", cmd_validate },
	{ "version", "Prints the Consul version", cmd_version },
	{ "watch", "Watch for changes in Consul", cmd_watch },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "Usage: consulctl [--version] [--help] <command> "
	    "[<args>]\n\nAvailable commands are:\n");
	for (i = 0; i < NCOMMANDS; i++)
		if (strchr(commands[i].name, ' ') == NULL)
			fprintf(f, "    %-18s %s\n", commands[i].name,
			    commands[i].synopsis);
}

/* A group's help, laid out as Consul's CLI library does it. */
static void
group_usage(FILE *f, const struct command *group)
{
	size_t	 i, n = strlen(group->name), longest = 0;

	for (i = 0; i < NCOMMANDS; i++)
		if (strncmp(commands[i].name, group->name, n) == 0 &&
		    commands[i].name[n] == ' ' &&
		    strlen(commands[i].name + n + 1) > longest)
			longest = strlen(commands[i].name + n + 1);
	fprintf(f, "Usage: consulctl %s <subcommand> [options] [args]\n\n"
	    "  %s.\n  See consulctl(8) for the subcommands and their "
	    "options.\n\nSubcommands:\n", group->name, group->synopsis);
	for (i = 0; i < NCOMMANDS; i++)
		if (strncmp(commands[i].name, group->name, n) == 0 &&
		    commands[i].name[n] == ' ')
			fprintf(f, "    %-*s    %s\n", (int)longest,
			    commands[i].name + n + 1, commands[i].synopsis);
}

static int
is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-help") == 0 ||
	    strcmp(arg, "-h") == 0;
}

/* The command named by word, or by "word sub" when sub is not NULL. */
static const struct command *
command_find(const char *word, const char *sub)
{
	size_t	 i, n = strlen(word);

	for (i = 0; i < NCOMMANDS; i++) {
		if (strncmp(commands[i].name, word, n) != 0)
			continue;
		if (sub == NULL && commands[i].name[n] == '\0')
			return &commands[i];
		if (sub != NULL && commands[i].name[n] == ' ' &&
		    strcmp(commands[i].name + n + 1, sub) == 0)
			return &commands[i];
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	const struct command	*c;
	char			 two[128];

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0 ||
	    strcmp(argv[1], "-version") == 0)
		return cmd_version(argc - 1, argv + 1);
	if (is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	/* "operator raft list-peers": the first two words name a group. */
	if (argc >= 4 && snprintf(two, sizeof(two), "%s %s", argv[1],
	    argv[2]) < (int)sizeof(two) &&
	    (c = command_find(two, argv[3])) != NULL && c->run != NULL)
		return c->run(argc - 3, argv + 3);
	if (argc >= 3 && (c = command_find(argv[1], argv[2])) != NULL) {
		if (c->run != NULL)
			return c->run(argc - 2, argv + 2);
		group_usage(argc >= 4 && is_help(argv[3]) ? stdout : stderr,
		    c);
		return argc >= 4 && is_help(argv[3]) ? 0 : 1;
	}
	if ((c = command_find(argv[1], NULL)) == NULL) {
		fprintf(stderr, "Unknown command: \"%s\"\n\n", argv[1]);
		usage(stderr);
		return 127;
	}
	if (c->run != NULL)
		return c->run(argc - 1, argv + 1);
	if (argc >= 3 && is_help(argv[2])) {
		group_usage(stdout, c);
		return 0;
	}
	group_usage(stderr, c);
	return 1;
}
