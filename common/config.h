/*
 * The agent configuration: Consul's keys (JSON or YAML files, command-line
 * flags) loaded into one typed struct.  The parent loads and merges every
 * source, calls config_finalize() and sends the result to each child as
 * MessagePack (config_pack/config_unpack).  One schema table per block
 * (config_keys.c) drives parsing, type checks, merging, defaults, packing
 * and freeing, so a new key is one line in a table and one field here.
 */
#ifndef CONSULD_CONFIG_H
#define CONSULD_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "mpack.h"

#define CONFIG_MAX_FILE		(4 * 1024 * 1024)
#define CONFIG_MAX_DEPTH	32
#define CONFIG_MAX_DIR_FILES	4096
#define CONFIG_MAX_MAP		1024	/* entries in one map */
#define CONFIG_MAX_LIST		65536	/* items in one list */
#define CONFIG_MAX_ERRORS	20	/* per load, then it stops */

/* A boolean or integer not set yet; config_finalize() decides. */
#define CONFIG_UNSET		(-1)
#define CONFIG_PORT_AUTO	INT_MIN

struct config_strlist {
	char			**v;
	size_t			  n;
};

struct config_kv {
	char			*key;
	char			*val;
};

struct config_strmap {
	struct config_kv	*v;
	size_t			 n;
};

struct config_durkv {
	char			*key;
	int64_t			 val;	/* nanoseconds */
};

struct config_durmap {
	struct config_durkv	*v;
	size_t			 n;
};

/* A value kept as it was written: one MessagePack object, or len 0. */
struct config_raw {
	void			*buf;
	size_t			 len;
};

struct config_header {
	char			*key;
	struct config_strlist	 vals;
};

struct config_tagged_addr {
	char			*key;	/* lan, wan, lan_ipv4, ... */
	char			*address;
	int			 port;
};

/*
 * A check from a file.  Durations are nanoseconds, 0 when not given;
 * booleans are 0 or 1.  config_finalize() fills id, name and service_id
 * the way Consul does and sets failures_before_warning (CONFIG_UNSET until
 * then) and output_max_size (0 until then).
 */
struct config_check {
	char			*id;
	char			*name;
	char			*notes;
	char			*service_id;
	char			*token;
	char			*status;
	struct config_strlist	 args;
	char			*script;	/* 0.x "sh -c", deprecated */
	char			*http;
	char			*method;
	struct config_header	*header;
	size_t			 nheader;
	char			*body;
	int			 disable_redirects;
	char			*tcp;
	int			 tcp_use_tls;
	char			*udp;
	char			*grpc;
	int			 grpc_use_tls;
	char			*h2ping;
	int			 h2ping_use_tls;
	char			*os_service;
	char			*docker_container_id;
	char			*shell;
	char			*alias_node;
	char			*alias_service;
	char			*tls_server_name;
	int			 tls_skip_verify;
	int64_t			 interval;
	int64_t			 timeout;
	int64_t			 ttl;
	int64_t			 deregister_critical_service_after;
	int			 success_before_passing;
	int			 failures_before_warning;
	int			 failures_before_critical;
	int			 output_max_size;
};

struct config_service {
	char			*id;
	char			*name;
	char			*kind;
	struct config_strlist	 tags;
	char			*address;
	int			 port;
	char			*socket_path;
	struct config_tagged_addr *tagged_addresses;
	size_t			 ntagged_addresses;
	struct config_strmap	 meta;
	int			 enable_tag_override;
	struct {
		int		 passing;
		int		 warning;
	}			 weights;
	char			*token;
	struct config_check	*checks;	/* "check" and "checks" */
	size_t			 nchecks;
	struct config_raw	 proxy;
	struct config_raw	 connect;
};

/* tls.defaults, tls.internal_rpc, tls.https, tls.grpc */
struct config_tls {
	char			*ca_file;
	char			*ca_path;
	char			*cert_file;
	char			*key_file;
	char			*tls_min_version;
	char			*tls_cipher_suites;
	int			 verify_incoming;
	int			 verify_outgoing;
	int			 verify_server_hostname; /* internal_rpc */
	int			 use_auto_cert;		/* grpc */
};

struct config_gossip {
	int			 gossip_nodes;
	int64_t			 gossip_interval;
	int64_t			 probe_interval;
	int64_t			 probe_timeout;
	int			 suspicion_mult;
	int			 retransmit_mult;
};

/*
 * Durations are int64_t nanoseconds.  Ports <= 0 read as -1 (disabled)
 * after config_finalize().  log_level holds an enum log_level.
 */
struct config {
	int			 dev;		/* -dev, not a file key */

	char			*datacenter;
	char			*primary_datacenter;
	char			*node_name;
	char			*node_id;
	struct config_strmap	 node_meta;
	char			*data_dir;
	int			 server;
	int			 bootstrap;
	int			 bootstrap_expect;
	char			*user;		/* ours: the user to run as */
	char			*pid_file;
	int			 log_level;
	char			*log_file;
	int			 log_json;
	int64_t			 log_rotate_duration;
	int			 log_rotate_bytes;
	int			 log_rotate_max_files;
	int			 enable_syslog;
	char			*syslog_facility;

	char			*bind_addr;
	char			*client_addr;
	char			*advertise_addr;
	char			*advertise_addr_ipv4;
	char			*advertise_addr_ipv6;
	char			*advertise_addr_wan;
	char			*advertise_addr_wan_ipv4;
	char			*advertise_addr_wan_ipv6;
	char			*serf_lan;
	char			*serf_wan;
	struct config_strlist	 serf_lan_allowed_cidrs;
	struct config_strlist	 serf_wan_allowed_cidrs;
	struct config_strmap	 tagged_addresses;
	struct {
		char		*dns;
		char		*http;
		char		*https;
		char		*grpc;
		char		*grpc_tls;
	}			 addresses;
	struct {
		int		 dns;
		int		 http;
		int		 https;
		int		 grpc;
		int		 grpc_tls;
		int		 serf_lan;
		int		 serf_wan;
		int		 server;
		int		 sidecar_min_port;
		int		 sidecar_max_port;
		int		 expose_min_port;
		int		 expose_max_port;
	}			 ports;
	struct {
		char		*user;
		char		*group;
		char		*mode;
	}			 unix_sockets;

	struct config_strlist	 retry_join;
	struct config_strlist	 retry_join_wan;
	int64_t			 retry_interval;
	int64_t			 retry_interval_wan;
	int			 retry_max;
	int			 retry_max_wan;
	int			 rejoin_after_leave;
	/* CONFIG_UNSET until config_finalize() decides by mode. */
	int			 leave_on_terminate;
	int			 skip_leave_on_interrupt;
	int64_t			 reconnect_timeout;
	int64_t			 reconnect_timeout_wan;
	int64_t			 advertise_reconnect_timeout;
	struct config_strlist	 primary_gateways;
	int64_t			 primary_gateways_interval;
	int			 translate_wan_addrs;

	char			*encrypt;
	int			 encrypt_verify_incoming;
	int			 encrypt_verify_outgoing;
	int			 disable_keyring_file;
	struct {
		struct config_tls defaults;
		struct config_tls internal_rpc;
		struct config_tls https;
		struct config_tls grpc;
	}			 tls;
	int			 tls_prefer_server_cipher_suites;
	int			 enable_agent_tls_for_checks;
	char			*server_name;
	struct {
		int		 tls;
		int		 allow_tls;
		struct config_strlist dns_san;
		struct config_strlist ip_san;
	}			 auto_encrypt;

	char			*domain;
	char			*alt_domain;
	struct config_strlist	 recursors;
	struct {
		int		 allow_stale;
		int64_t		 max_stale;
		int64_t		 node_ttl;
		struct config_durmap service_ttl;
		int		 enable_truncate;
		int		 only_passing;
		int		 udp_answer_limit;
		int		 a_record_limit;
		int64_t		 recursor_timeout;
		char		*recursor_strategy;
		int		 disable_compression;
		int		 enable_additional_node_meta_txt;
		struct {
			int64_t	 refresh;
			int64_t	 retry;
			int64_t	 expire;
			int64_t	 min_ttl;
		}		 soa;
		int		 use_cache;
		int64_t		 cache_max_age;
	}			 dns_config;

	int			 ui_enabled;	/* ui_config.enabled, or "ui" */
	struct {
		char		*dir;
		char		*content_path;
		char		*metrics_provider;
		struct config_strlist metrics_provider_files;
		char		*metrics_provider_options_json;
		struct config_raw metrics_proxy;
		struct config_strmap dashboard_url_templates;
	}			 ui_config;

	struct {
		int		 enabled;
		char		*default_policy;
		char		*down_policy;
		int64_t		 token_ttl;
		int64_t		 policy_ttl;
		int64_t		 role_ttl;
		int		 enable_token_persistence;
		int		 enable_token_replication;
		int64_t		 token_min_expiration_ttl;
		int64_t		 token_max_expiration_ttl;
		int		 enable_key_list_policy;
		struct {
			char	*initial_management;
			char	*agent_recovery;
			char	*default_token;		/* "default" */
			char	*agent;
			char	*replication;
			char	*config_file_service_registration;
			char	*dns;
		}		 tokens;
	}			 acl;

	struct {
		int		 raft_multiplier;
		int64_t		 leave_drain_time;
		int64_t		 rpc_hold_timeout;
	}			 performance;
	struct {
		int		 http_max_conns_per_client;
		int		 rpc_max_conns_per_client;
		double		 rpc_rate;
		int		 rpc_max_burst;
		int64_t		 kv_max_value_size;
		int64_t		 txn_max_req_len;
		int64_t		 https_handshake_timeout;
		int64_t		 rpc_handshake_timeout;
		int64_t		 rpc_client_timeout;
	}			 limits;
	struct {
		struct config_strlist block_endpoints;
		struct config_strmap response_headers;
		struct config_strlist allow_write_http_from;
		int		 use_cache;
		int		 max_header_bytes;
	}			 http_config;
	struct {
		char		*metrics_prefix;
		int64_t		 prometheus_retention_time;
		int		 disable_hostname;
		char		*statsd_address;
		char		*statsite_address;
		char		*dogstatsd_addr;
		struct config_strlist dogstatsd_tags;
		int		 filter_default;
		struct config_strlist prefix_filter;
		int		 retry_failed_connection;
	}			 telemetry;
	struct {
		int		 cleanup_dead_servers;
		int64_t		 last_contact_threshold;
		int		 max_trailing_logs;
		int		 min_quorum;
		int64_t		 server_stabilization_time;
		char		*redundancy_zone_tag;
		int		 disable_upgrade_migration;
		char		*upgrade_version_tag;
	}			 autopilot;
	struct config_gossip	 gossip_lan;
	struct config_gossip	 gossip_wan;

	int			 raft_protocol;
	int			 raft_snapshot_threshold;
	int64_t			 raft_snapshot_interval;
	int			 raft_trailing_logs;
	int64_t			 session_ttl_min;
	int64_t			 default_query_time;
	int64_t			 max_query_time;
	int64_t			 check_update_interval;
	int			 check_output_max_size;
	int			 discard_check_output;
	int64_t			 discovery_max_stale;
	int			 enable_script_checks;
	int			 enable_local_script_checks;
	int			 enable_central_service_config;
	int			 enable_debug;
	int			 disable_remote_exec;
	int			 disable_update_check;
	int			 disable_anonymous_signature;
	int			 disable_coordinates;
	double			 sync_coordinate_rate_target;
	int64_t			 sync_coordinate_interval_min;
	int			 disable_host_node_id;
	int			 disable_http_unprintable_char_filter;
	int			 auto_reload_config;
	struct config_strlist	 experiments;
	struct {
		int		 enabled;
		char		*ca_provider;
		struct config_raw ca_config;
		int		 enable_mesh_gateway_wan_federation;
	}			 connect;
	struct {
		int		 enabled;
	}			 peering;
	struct config_raw	 config_entries;
	struct config_raw	 watches;

	struct config_service	*services;	/* "service" and "services" */
	size_t			 nservices;
	struct config_check	*checks;	/* "check" and "checks" */
	size_t			 nchecks;

	/* Bookkeeping of the loader, never packed. */
	struct config_strlist	 warned;	/* keys already warned about */
};

/*
 * config_new(dev) gives the defaults, or those of -dev.  The loaders and
 * config_set() merge over what is there, in call order, and return 0,
 * or -1 once every error has gone to the reporter as "file:line: ..."
 * (or "<origin>: ..." for config_set); the caller then drops the whole
 * struct.  config_finalize() derives the defaults that depend on other
 * keys and checks the merged whole, reporting "config: ...".
 * config_unpack() returns NULL for anything but config_pack()'s output.
 * The reporter gets (warning, message); the default logs the message.
 */
struct config	*config_new(int);
int		 config_load_file(struct config *, const char *);
int		 config_load_buffer(struct config *, const char *, const char *,
		    size_t);
int		 config_load_dir(struct config *, const char *);
int		 config_set(struct config *, const char *, const char *,
		    const char *);
int		 config_finalize(struct config *);
void		 config_free(struct config *);
int		 config_pack(const struct config *, struct mpack_out *);
struct config	*config_unpack(const void *, size_t);
void		 config_set_reporter(void (*)(int, const char *));

/*
 * The schema.  It is public so that code parsing the same shapes from
 * elsewhere (service and check registration over HTTP) and the tests can
 * walk it.
 */
enum config_type {
	CONFIG_T_END,		/* terminates a table */
	CONFIG_T_STR,		/* char * */
	CONFIG_T_BOOL,		/* int: 0, 1, or CONFIG_UNSET */
	CONFIG_T_INT,		/* int */
	CONFIG_T_INT64,		/* int64_t */
	CONFIG_T_FLOAT,		/* double */
	CONFIG_T_DURATION,	/* int64_t nanoseconds, Go notation */
	CONFIG_T_LOGLEVEL,	/* int holding an enum log_level */
	CONFIG_T_RAW,		/* struct config_raw: any value */
	CONFIG_T_BLOCK,		/* nested mapping: sub at base + off */
	CONFIG_T_LIST,		/* array at off, count at noff, of sub */
	CONFIG_T_MAP		/* like LIST; elements start with char *key */
};

#define CFG_PENDING	0x01	/* accepted, warned about, not used yet */
#define CFG_ALIAS	0x02	/* another name for storage in the table */
#define CFG_DEPRECATED	0x04	/* warn, naming "alias" as the new key */
#define CFG_INTERNAL	0x08	/* packed, but no file or flag sets it */
#define CFG_NUMDUR	0x10	/* a duration may be a number of ns */
#define CFG_SECRET	0x20	/* never echo the value in messages */

/*
 * One key.  For BLOCK, the sub table's offsets are relative to base +
 * off (off 0 lets a block write fields of its parent).  For LIST and
 * MAP, sub describes one element of "size" bytes: a table of keys for a
 * mapping, or one unnamed entry for a single value.  min and max, unless
 * both are 0, bound INT and INT64 values.  The defaults are used by
 * config_new() and for each new list or map element.
 */
struct config_key {
	const char		*name;
	enum config_type	 type;
	int			 flags;
	size_t			 off;
	const struct config_key	*sub;
	size_t			 size;
	size_t			 noff;
	int64_t			 min;
	int64_t			 max;
	int64_t			 idef;
	double			 fdef;
	const char		*sdef;
	const char		*alias;
};

extern const struct config_key config_keys[];
extern const struct config_key config_service_keys[];
extern const struct config_key config_check_keys[];

int		 config_key_match(const char *, const char *, size_t);

int	 dc_name_valid(const char *);

#endif
