/*
 * The schema of the agent configuration: every key Consul's agent
 * accepts that consuld knows of, one line each, with its type, where it
 * lives in struct config, its default and its flags.  config.c walks
 * these tables to parse, check, merge, default, pack, unpack and free.
 *
 * Keys flagged P (CFG_PENDING) load and are type-checked, but nothing
 * uses them yet: the loader warns once per key.  Implementing a key means
 * using the field and dropping the P.  Deprecated names and Consul's old
 * spellings are CFG_ALIAS entries sharing the storage of the new key.
 */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "duration.h"
#include "log.h"

#define C(f)		offsetof(struct config, f)
#define SV(f)		offsetof(struct config_service, f)
#define CK(f)		offsetof(struct config_check, f)
#define TL(f)		offsetof(struct config_tls, f)
#define GS(f)		offsetof(struct config_gossip, f)
#define TA(f)		offsetof(struct config_tagged_addr, f)

#define END		{ .type = CONFIG_T_END }
#define STR(nm, o, d, ...)	{ .name = (nm), .type = CONFIG_T_STR,	\
	.off = (o), .sdef = (d), __VA_ARGS__ }
#define BOOL(nm, o, d, ...)	{ .name = (nm), .type = CONFIG_T_BOOL,	\
	.off = (o), .idef = (d), __VA_ARGS__ }
#define INT(nm, o, d, ...)	{ .name = (nm), .type = CONFIG_T_INT,	\
	.off = (o), .idef = (d), __VA_ARGS__ }
#define INT64(nm, o, d, ...)	{ .name = (nm), .type = CONFIG_T_INT64,	\
	.off = (o), .idef = (d), __VA_ARGS__ }
#define FLOAT(nm, o, d, ...)	{ .name = (nm), .type = CONFIG_T_FLOAT,	\
	.off = (o), .fdef = (d), __VA_ARGS__ }
#define DUR(nm, o, d, ...)	{ .name = (nm), .type = CONFIG_T_DURATION, \
	.off = (o), .idef = (d), __VA_ARGS__ }
#define LOGLEVEL(nm, o, d, ...)	{ .name = (nm), .type = CONFIG_T_LOGLEVEL, \
	.off = (o), .idef = (d), __VA_ARGS__ }
#define RAW(nm, o, ...)		{ .name = (nm), .type = CONFIG_T_RAW,	\
	.off = (o), __VA_ARGS__ }
#define BLOCK(nm, o, t, ...)	{ .name = (nm), .type = CONFIG_T_BLOCK,	\
	.off = (o), .sub = (t), __VA_ARGS__ }
#define LIST(nm, o, no, t, sz, ...) { .name = (nm), .type = CONFIG_T_LIST, \
	.off = (o), .noff = (no), .sub = (t), .size = (sz), __VA_ARGS__ }
#define MAP(nm, o, no, t, sz, ...) { .name = (nm), .type = CONFIG_T_MAP, \
	.off = (o), .noff = (no), .sub = (t), .size = (sz), __VA_ARGS__ }
#define STRLIST(nm, o, ...)	LIST(nm,				\
	(o) + offsetof(struct config_strlist, v),			\
	(o) + offsetof(struct config_strlist, n),			\
	str_elem, sizeof(char *), __VA_ARGS__)
#define STRMAP(nm, o, ...)	MAP(nm,					\
	(o) + offsetof(struct config_strmap, v),			\
	(o) + offsetof(struct config_strmap, n),			\
	strmap_elem, sizeof(struct config_kv), __VA_ARGS__)

#define RANGE(lo, hi)	.min = (lo), .max = (hi)
#define PORT		RANGE(-1, 65535)
#define NONNEG		RANGE(0, INT_MAX)
#define P		.flags = CFG_PENDING
#define PS		.flags = CFG_PENDING | CFG_SECRET
#define SECRET		.flags = CFG_SECRET
#define SAME		.flags = CFG_ALIAS
#define SAMEP		.flags = CFG_ALIAS | CFG_PENDING
#define SAMEPS		.flags = CFG_ALIAS | CFG_PENDING | CFG_SECRET
#define OLD(new)	.flags = CFG_ALIAS | CFG_DEPRECATED | CFG_PENDING, \
	.alias = (new)
/* A deprecated name of an implemented key. */
#define OLDI(new)	.flags = CFG_ALIAS | CFG_DEPRECATED, .alias = (new)
#define OLDIS(new)	.flags = CFG_ALIAS | CFG_DEPRECATED | CFG_SECRET, \
	.alias = (new)
#define OLDS(new)	.flags = CFG_ALIAS | CFG_DEPRECATED | CFG_PENDING | \
	CFG_SECRET, .alias = (new)
#define ND		CFG_NUMDUR

#define SEC		DURATION_SEC
#define MSEC		DURATION_MSEC
#define MIN		DURATION_MIN
#define HOUR		DURATION_HOUR

/* Elements that are one value rather than a mapping. */
static const struct config_key str_elem[] = {
	{ .type = CONFIG_T_STR },
	END
};

static const struct config_key strmap_elem[] = {
	{ .type = CONFIG_T_STR, .off = offsetof(struct config_kv, val) },
	END
};

static const struct config_key durmap_elem[] = {
	{ .type = CONFIG_T_DURATION,
	    .off = offsetof(struct config_durkv, val) },
	END
};

static const struct config_key header_elem[] = {
	STRLIST(NULL, offsetof(struct config_header, vals)),
	END
};

static const struct config_key tagged_addr_keys[] = {
	STR("address", TA(address), NULL),
	INT("port", TA(port), 0, RANGE(0, 65535)),
	END
};

/*
 * A check, standalone or inside a service.  Consul's file aliases
 * (serviceid, scriptargs, ...) need no entry: keys match ignoring case
 * and underscores.
 */
const struct config_key config_check_keys[] = {
	STR("id", CK(id), NULL),
	STR("check_id", CK(id), NULL, SAME),
	STR("name", CK(name), NULL),
	STR("notes", CK(notes), NULL),
	STR("service_id", CK(service_id), NULL),
	STR("token", CK(token), NULL, .flags = CFG_SECRET),
	STR("status", CK(status), NULL),
	STRLIST("args", CK(args)),
	STRLIST("script_args", CK(args), SAME),
	STR("script", CK(script), NULL, .flags = CFG_DEPRECATED,
	    .alias = "args"),
	STR("http", CK(http), NULL),
	STR("method", CK(method), NULL),
	MAP("header", CK(header), CK(nheader), header_elem,
	    sizeof(struct config_header)),
	STR("body", CK(body), NULL),
	BOOL("disable_redirects", CK(disable_redirects), 0),
	STR("tcp", CK(tcp), NULL),
	BOOL("tcp_use_tls", CK(tcp_use_tls), 0),
	STR("udp", CK(udp), NULL),
	STR("grpc", CK(grpc), NULL),
	BOOL("grpc_use_tls", CK(grpc_use_tls), 0),
	STR("h2ping", CK(h2ping), NULL),
	BOOL("h2ping_use_tls", CK(h2ping_use_tls), 1),
	STR("os_service", CK(os_service), NULL),
	STR("docker_container_id", CK(docker_container_id), NULL),
	STR("shell", CK(shell), NULL),
	STR("alias_node", CK(alias_node), NULL),
	STR("alias_service", CK(alias_service), NULL),
	STR("tls_server_name", CK(tls_server_name), NULL),
	BOOL("tls_skip_verify", CK(tls_skip_verify), 0),
	DUR("interval", CK(interval), 0, .flags = ND),
	DUR("timeout", CK(timeout), 0, .flags = ND),
	DUR("ttl", CK(ttl), 0, .flags = ND),
	DUR("deregister_critical_service_after",
	    CK(deregister_critical_service_after), 0, .flags = ND),
	INT("success_before_passing", CK(success_before_passing), 0, NONNEG),
	INT("failures_before_warning", CK(failures_before_warning),
	    CONFIG_UNSET, NONNEG),
	INT("failures_before_critical", CK(failures_before_critical), 0,
	    NONNEG),
	INT("output_max_size", CK(output_max_size), 0, NONNEG),
	END
};

static const struct config_key weights_keys[] = {
	INT("passing", SV(weights.passing), 1, RANGE(1, INT_MAX)),
	INT("warning", SV(weights.warning), 1, NONNEG),
	END
};

const struct config_key config_service_keys[] = {
	STR("id", SV(id), NULL),
	STR("name", SV(name), NULL),
	STR("kind", SV(kind), NULL),
	STRLIST("tags", SV(tags)),
	STR("address", SV(address), NULL),
	INT("port", SV(port), 0, RANGE(0, 65535)),
	STR("socket_path", SV(socket_path), NULL),
	MAP("tagged_addresses", SV(tagged_addresses), SV(ntagged_addresses),
	    tagged_addr_keys, sizeof(struct config_tagged_addr)),
	STRMAP("meta", SV(meta)),
	BOOL("enable_tag_override", SV(enable_tag_override), 0),
	BLOCK("weights", 0, weights_keys),
	STR("token", SV(token), NULL, .flags = CFG_SECRET),
	LIST("checks", SV(checks), SV(nchecks), config_check_keys,
	    sizeof(struct config_check)),
	LIST("check", SV(checks), SV(nchecks), config_check_keys,
	    sizeof(struct config_check), SAME),
	RAW("proxy", SV(proxy)),
	RAW("connect", SV(connect)),
	END
};

static const struct config_key addresses_keys[] = {
	STR("dns", C(addresses.dns), NULL),
	STR("http", C(addresses.http), NULL),
	STR("https", C(addresses.https), NULL),
	STR("grpc", C(addresses.grpc), NULL, P),
	STR("grpc_tls", C(addresses.grpc_tls), NULL, P),
	END
};

static const struct config_key ports_keys[] = {
	INT("dns", C(ports.dns), 8600, PORT),
	INT("http", C(ports.http), 8500, PORT),
	INT("https", C(ports.https), -1, PORT),
	INT("grpc", C(ports.grpc), -1, PORT, P),
	INT("grpc_tls", C(ports.grpc_tls), CONFIG_PORT_AUTO, PORT, P),
	INT("serf_lan", C(ports.serf_lan), 8301, PORT),
	INT("serf_wan", C(ports.serf_wan), 8302, PORT),
	INT("server", C(ports.server), 8300, PORT),
	INT("sidecar_min_port", C(ports.sidecar_min_port), 21000, PORT, P),
	INT("sidecar_max_port", C(ports.sidecar_max_port), 21255, PORT, P),
	INT("expose_min_port", C(ports.expose_min_port), 21500, PORT, P),
	INT("expose_max_port", C(ports.expose_max_port), 21755, PORT, P),
	END
};

static const struct config_key unix_sockets_keys[] = {
	STR("user", C(unix_sockets.user), NULL, P),
	STR("group", C(unix_sockets.group), NULL, P),
	STR("mode", C(unix_sockets.mode), NULL, P),
	END
};

/*
 * tls.defaults and the three blocks that override it.  Booleans start
 * unset so that config_finalize() can tell "inherit" from "false".
 */
static const struct config_key tls_keys[] = {
	STR("ca_file", TL(ca_file), NULL),
	STR("ca_path", TL(ca_path), NULL),
	STR("cert_file", TL(cert_file), NULL),
	STR("key_file", TL(key_file), NULL),
	STR("tls_min_version", TL(tls_min_version), NULL),
	STR("tls_cipher_suites", TL(tls_cipher_suites), NULL),
	BOOL("verify_incoming", TL(verify_incoming), CONFIG_UNSET),
	BOOL("verify_outgoing", TL(verify_outgoing), CONFIG_UNSET),
	BOOL("verify_server_hostname", TL(verify_server_hostname),
	    CONFIG_UNSET),
	BOOL("use_auto_cert", TL(use_auto_cert), CONFIG_UNSET, P),
	END
};

static const struct config_key tls_block_keys[] = {
	BLOCK("defaults", C(tls.defaults), tls_keys),
	BLOCK("internal_rpc", C(tls.internal_rpc), tls_keys),
	BLOCK("https", C(tls.https), tls_keys),
	BLOCK("grpc", C(tls.grpc), tls_keys, P),
	END
};

static const struct config_key auto_encrypt_keys[] = {
	BOOL("tls", C(auto_encrypt.tls), 0, P),
	BOOL("allow_tls", C(auto_encrypt.allow_tls), 0, P),
	STRLIST("dns_san", C(auto_encrypt.dns_san), P),
	STRLIST("ip_san", C(auto_encrypt.ip_san), P),
	END
};

static const struct config_key soa_keys[] = {
	INT64("refresh", C(dns_config.soa.refresh), 3600,
	    RANGE(0, UINT32_MAX)),
	INT64("retry", C(dns_config.soa.retry), 600, RANGE(0, UINT32_MAX)),
	INT64("expire", C(dns_config.soa.expire), 86400,
	    RANGE(0, UINT32_MAX)),
	INT64("min_ttl", C(dns_config.soa.min_ttl), 0, RANGE(0, UINT32_MAX)),
	END
};

static const struct config_key dns_config_keys[] = {
	BOOL("allow_stale", C(dns_config.allow_stale), 1, P),
	DUR("max_stale", C(dns_config.max_stale), 87600 * HOUR),
	DUR("node_ttl", C(dns_config.node_ttl), 0),
	MAP("service_ttl", C(dns_config.service_ttl.v),
	    C(dns_config.service_ttl.n), durmap_elem,
	    sizeof(struct config_durkv)),
	BOOL("enable_truncate", C(dns_config.enable_truncate), 0),
	BOOL("only_passing", C(dns_config.only_passing), 0),
	INT("udp_answer_limit", C(dns_config.udp_answer_limit), 3, NONNEG),
	INT("a_record_limit", C(dns_config.a_record_limit), 0, NONNEG),
	DUR("recursor_timeout", C(dns_config.recursor_timeout), 2 * SEC),
	STR("recursor_strategy", C(dns_config.recursor_strategy),
	    "sequential"),
	BOOL("disable_compression", C(dns_config.disable_compression), 0),
	BOOL("enable_additional_node_meta_txt",
	    C(dns_config.enable_additional_node_meta_txt), 1),
	BLOCK("soa", 0, soa_keys),
	BOOL("use_cache", C(dns_config.use_cache), 0, P),
	DUR("cache_max_age", C(dns_config.cache_max_age), 0, P),
	END
};

static const struct config_key ui_config_keys[] = {
	BOOL("enabled", C(ui_enabled), 0),
	STR("dir", C(ui_config.dir), NULL, P),
	STR("content_path", C(ui_config.content_path), "/ui/"),
	STR("metrics_provider", C(ui_config.metrics_provider), NULL, P),
	STRLIST("metrics_provider_files", C(ui_config.metrics_provider_files),
	    P),
	STR("metrics_provider_options_json",
	    C(ui_config.metrics_provider_options_json), NULL, P),
	RAW("metrics_proxy", C(ui_config.metrics_proxy), P),
	STRMAP("dashboard_url_templates",
	    C(ui_config.dashboard_url_templates), P),
	END
};

static const struct config_key acl_tokens_keys[] = {
	STR("initial_management", C(acl.tokens.initial_management), NULL,
	    SECRET),
	STR("master", C(acl.tokens.initial_management), NULL,
	    OLDIS("acl.tokens.initial_management")),
	STR("agent_recovery", C(acl.tokens.agent_recovery), NULL, SECRET),
	STR("agent_master", C(acl.tokens.agent_recovery), NULL,
	    OLDIS("acl.tokens.agent_recovery")),
	STR("default", C(acl.tokens.default_token), NULL, SECRET),
	STR("agent", C(acl.tokens.agent), NULL, SECRET),
	STR("replication", C(acl.tokens.replication), NULL, SECRET),
	STR("config_file_service_registration",
	    C(acl.tokens.config_file_service_registration), NULL, SECRET),
	STR("dns", C(acl.tokens.dns), NULL, SECRET),
	END
};

static const struct config_key acl_keys[] = {
	BOOL("enabled", C(acl.enabled), 0),
	STR("default_policy", C(acl.default_policy), "allow"),
	STR("down_policy", C(acl.down_policy), "extend-cache"),
	DUR("token_ttl", C(acl.token_ttl), 30 * SEC),
	DUR("policy_ttl", C(acl.policy_ttl), 30 * SEC),
	DUR("role_ttl", C(acl.role_ttl), 30 * SEC),
	BOOL("enable_token_persistence", C(acl.enable_token_persistence), 0),
	BOOL("enable_token_replication", C(acl.enable_token_replication), 0),
	DUR("token_min_expiration_ttl", C(acl.token_min_expiration_ttl),
	    60 * SEC),
	DUR("token_max_expiration_ttl", C(acl.token_max_expiration_ttl),
	    24 * 3600 * SEC),
	BOOL("enable_key_list_policy", C(acl.enable_key_list_policy), 0, P),
	BLOCK("tokens", 0, acl_tokens_keys),
	END
};

static const struct config_key performance_keys[] = {
	INT("raft_multiplier", C(performance.raft_multiplier), 5,
	    RANGE(1, 10), P),
	DUR("leave_drain_time", C(performance.leave_drain_time), 5 * SEC, P),
	DUR("rpc_hold_timeout", C(performance.rpc_hold_timeout), 7 * SEC),
	END
};

static const struct config_key limits_keys[] = {
	INT("http_max_conns_per_client", C(limits.http_max_conns_per_client),
	    200, NONNEG, P),
	INT("rpc_max_conns_per_client", C(limits.rpc_max_conns_per_client),
	    100, NONNEG, P),
	FLOAT("rpc_rate", C(limits.rpc_rate), INFINITY, P),
	INT("rpc_max_burst", C(limits.rpc_max_burst), 1000, NONNEG, P),
	INT64("kv_max_value_size", C(limits.kv_max_value_size), 512 * 1024,
	    RANGE(0, INT64_MAX)),
	INT64("txn_max_req_len", C(limits.txn_max_req_len), 512 * 1024,
	    RANGE(0, INT64_MAX)),
	DUR("https_handshake_timeout", C(limits.https_handshake_timeout),
	    5 * SEC),
	DUR("rpc_handshake_timeout", C(limits.rpc_handshake_timeout), 5 * SEC),
	DUR("rpc_client_timeout", C(limits.rpc_client_timeout), 60 * SEC, P),
	END
};

static const struct config_key http_config_keys[] = {
	STRLIST("block_endpoints", C(http_config.block_endpoints), P),
	STRMAP("response_headers", C(http_config.response_headers), P),
	STRLIST("allow_write_http_from", C(http_config.allow_write_http_from),
	    P),
	BOOL("use_cache", C(http_config.use_cache), 1, P),
	INT("max_header_bytes", C(http_config.max_header_bytes), 1024 * 1024,
	    NONNEG, P),
	END
};

static const struct config_key telemetry_keys[] = {
	STR("metrics_prefix", C(telemetry.metrics_prefix), "consul", P),
	DUR("prometheus_retention_time", C(telemetry.prometheus_retention_time),
	    0, P),
	BOOL("disable_hostname", C(telemetry.disable_hostname), 0, P),
	STR("statsd_address", C(telemetry.statsd_address), NULL, P),
	STR("statsite_address", C(telemetry.statsite_address), NULL, P),
	STR("dogstatsd_addr", C(telemetry.dogstatsd_addr), NULL, P),
	STRLIST("dogstatsd_tags", C(telemetry.dogstatsd_tags), P),
	BOOL("filter_default", C(telemetry.filter_default), 1, P),
	STRLIST("prefix_filter", C(telemetry.prefix_filter), P),
	BOOL("retry_failed_connection", C(telemetry.retry_failed_connection),
	    1, P),
	END
};

static const struct config_key autopilot_keys[] = {
	BOOL("cleanup_dead_servers", C(autopilot.cleanup_dead_servers), 1),
	DUR("last_contact_threshold", C(autopilot.last_contact_threshold),
	    200 * MSEC, P),
	INT("max_trailing_logs", C(autopilot.max_trailing_logs), 250, NONNEG),
	INT("min_quorum", C(autopilot.min_quorum), 0, NONNEG),
	DUR("server_stabilization_time",
	    C(autopilot.server_stabilization_time), 10 * SEC),
	STR("redundancy_zone_tag", C(autopilot.redundancy_zone_tag), NULL, P),
	BOOL("disable_upgrade_migration",
	    C(autopilot.disable_upgrade_migration), 0, P),
	STR("upgrade_version_tag", C(autopilot.upgrade_version_tag), NULL, P),
	END
};

static const struct config_key gossip_lan_keys[] = {
	INT("gossip_nodes", GS(gossip_nodes), 3, NONNEG, P),
	DUR("gossip_interval", GS(gossip_interval), 200 * MSEC, P),
	DUR("probe_interval", GS(probe_interval), 1 * SEC, P),
	DUR("probe_timeout", GS(probe_timeout), 500 * MSEC, P),
	INT("suspicion_mult", GS(suspicion_mult), 4, NONNEG, P),
	INT("retransmit_mult", GS(retransmit_mult), 4, NONNEG, P),
	END
};

static const struct config_key gossip_wan_keys[] = {
	INT("gossip_nodes", GS(gossip_nodes), 3, NONNEG, P),
	DUR("gossip_interval", GS(gossip_interval), 500 * MSEC, P),
	DUR("probe_interval", GS(probe_interval), 5 * SEC, P),
	DUR("probe_timeout", GS(probe_timeout), 3 * SEC, P),
	INT("suspicion_mult", GS(suspicion_mult), 6, NONNEG, P),
	INT("retransmit_mult", GS(retransmit_mult), 4, NONNEG, P),
	END
};

static const struct config_key connect_keys[] = {
	BOOL("enabled", C(connect.enabled), 0, P),
	STR("ca_provider", C(connect.ca_provider), NULL, P),
	RAW("ca_config", C(connect.ca_config), P),
	BOOL("enable_mesh_gateway_wan_federation",
	    C(connect.enable_mesh_gateway_wan_federation), 0, P),
	END
};

static const struct config_key peering_keys[] = {
	BOOL("enabled", C(peering.enabled), 1, P),
	END
};

const struct config_key config_keys[] = {
	BOOL("dev", C(dev), 0, .flags = CFG_INTERNAL),

	/* Identity and mode. */
	STR("datacenter", C(datacenter), "dc1"),
	STR("primary_datacenter", C(primary_datacenter), NULL),
	STR("acl_datacenter", C(primary_datacenter), NULL,
	    OLDI("primary_datacenter")),
	STR("node_name", C(node_name), NULL),
	STR("node_id", C(node_id), NULL),
	STRMAP("node_meta", C(node_meta), P),
	STR("data_dir", C(data_dir), NULL),
	BOOL("server", C(server), 0),
	BOOL("bootstrap", C(bootstrap), 0),
	INT("bootstrap_expect", C(bootstrap_expect), 0, NONNEG),
	STR("user", C(user), "_consul"),
	STR("pid_file", C(pid_file), NULL),
	LOGLEVEL("log_level", C(log_level), LOG_LVL_INFO),
	STR("log_file", C(log_file), NULL, P),
	BOOL("log_json", C(log_json), 0, P),
	DUR("log_rotate_duration", C(log_rotate_duration), 24 * HOUR, P),
	INT("log_rotate_bytes", C(log_rotate_bytes), 0, NONNEG, P),
	INT("log_rotate_max_files", C(log_rotate_max_files), 0,
	    RANGE(-1, INT_MAX), P),
	BOOL("enable_syslog", C(enable_syslog), 0, P),
	STR("syslog_facility", C(syslog_facility), "LOCAL0", P),

	/* Addresses and ports. */
	STR("bind_addr", C(bind_addr), "0.0.0.0"),
	STR("client_addr", C(client_addr), "127.0.0.1"),
	STR("advertise_addr", C(advertise_addr), NULL),
	STR("advertise_addr_ipv4", C(advertise_addr_ipv4), NULL, P),
	STR("advertise_addr_ipv6", C(advertise_addr_ipv6), NULL, P),
	STR("advertise_addr_wan", C(advertise_addr_wan), NULL, P),
	STR("advertise_addr_wan_ipv4", C(advertise_addr_wan_ipv4), NULL, P),
	STR("advertise_addr_wan_ipv6", C(advertise_addr_wan_ipv6), NULL, P),
	STR("serf_lan", C(serf_lan), NULL, P),
	STR("serf_wan", C(serf_wan), NULL, P),
	STRLIST("serf_lan_allowed_cidrs", C(serf_lan_allowed_cidrs), P),
	STRLIST("serf_wan_allowed_cidrs", C(serf_wan_allowed_cidrs), P),
	STRMAP("tagged_addresses", C(tagged_addresses), P),
	BLOCK("addresses", 0, addresses_keys),
	BLOCK("ports", 0, ports_keys),
	BLOCK("unix_sockets", 0, unix_sockets_keys, P),

	/* Joining and leaving. */
	STRLIST("retry_join", C(retry_join)),
	STRLIST("start_join", C(retry_join), OLD("retry_join")),
	STRLIST("retry_join_wan", C(retry_join_wan)),
	STRLIST("start_join_wan", C(retry_join_wan), OLD("retry_join_wan")),
	DUR("retry_interval", C(retry_interval), 30 * SEC),
	DUR("retry_interval_wan", C(retry_interval_wan), 30 * SEC),
	INT("retry_max", C(retry_max), 0, NONNEG),
	INT("retry_max_wan", C(retry_max_wan), 0, NONNEG),
	BOOL("rejoin_after_leave", C(rejoin_after_leave), 0),
	BOOL("leave_on_terminate", C(leave_on_terminate), CONFIG_UNSET),
	BOOL("skip_leave_on_interrupt", C(skip_leave_on_interrupt),
	    CONFIG_UNSET),
	DUR("reconnect_timeout", C(reconnect_timeout), 72 * HOUR),
	DUR("reconnect_timeout_wan", C(reconnect_timeout_wan), 72 * HOUR),
	DUR("advertise_reconnect_timeout", C(advertise_reconnect_timeout), 0,
	    P),
	STRLIST("primary_gateways", C(primary_gateways), P),
	DUR("primary_gateways_interval", C(primary_gateways_interval),
	    30 * SEC, P),
	BOOL("translate_wan_addrs", C(translate_wan_addrs), 0, P),

	/* Encryption. */
	STR("encrypt", C(encrypt), NULL, SECRET),
	BOOL("encrypt_verify_incoming", C(encrypt_verify_incoming), 1),
	BOOL("encrypt_verify_outgoing", C(encrypt_verify_outgoing), 1),
	BOOL("disable_keyring_file", C(disable_keyring_file), 0),
	BLOCK("tls", 0, tls_block_keys),
	STR("ca_file", C(tls.defaults.ca_file), NULL, SAME),
	STR("ca_path", C(tls.defaults.ca_path), NULL, SAME),
	STR("cert_file", C(tls.defaults.cert_file), NULL, SAME),
	STR("key_file", C(tls.defaults.key_file), NULL, SAME),
	STR("tls_min_version", C(tls.defaults.tls_min_version), NULL, SAME),
	STR("tls_cipher_suites", C(tls.defaults.tls_cipher_suites), NULL,
	    SAME),
	BOOL("verify_incoming", C(tls.defaults.verify_incoming), 0, SAME),
	BOOL("verify_incoming_rpc", C(tls.internal_rpc.verify_incoming), 0,
	    SAME),
	BOOL("verify_incoming_https", C(tls.https.verify_incoming), 0, SAME),
	BOOL("verify_outgoing", C(tls.defaults.verify_outgoing), 0, SAME),
	BOOL("verify_server_hostname",
	    C(tls.internal_rpc.verify_server_hostname), 0, SAME),
	BOOL("tls_prefer_server_cipher_suites",
	    C(tls_prefer_server_cipher_suites), 0, P),
	BOOL("enable_agent_tls_for_checks", C(enable_agent_tls_for_checks), 0,
	    P),
	STR("server_name", C(server_name), NULL, P),
	BLOCK("auto_encrypt", 0, auto_encrypt_keys, P),

	/* DNS. */
	STR("domain", C(domain), "consul."),
	STR("alt_domain", C(alt_domain), NULL),
	STRLIST("recursors", C(recursors)),
	BLOCK("dns_config", 0, dns_config_keys),

	/* UI. */
	BLOCK("ui_config", 0, ui_config_keys),
	BOOL("ui", C(ui_enabled), 0, OLDI("ui_config.enabled")),
	STR("ui_dir", C(ui_config.dir), NULL, OLD("ui_config.dir")),
	STR("ui_content_path", C(ui_config.content_path), NULL,
	    OLDI("ui_config.content_path")),

	/* ACLs, with the names from before the acl block. */
	BLOCK("acl", 0, acl_keys),
	STR("acl_default_policy", C(acl.default_policy), NULL,
	    OLDI("acl.default_policy")),
	STR("acl_down_policy", C(acl.down_policy), NULL,
	    OLDI("acl.down_policy")),
	DUR("acl_ttl", C(acl.token_ttl), 0, OLDI("acl.token_ttl")),
	BOOL("acl_enable_key_list_policy", C(acl.enable_key_list_policy), 0,
	    OLD("acl.enable_key_list_policy")),
	BOOL("enable_acl_replication", C(acl.enable_token_replication), 0,
	    OLDI("acl.enable_token_replication")),
	STR("acl_master_token", C(acl.tokens.initial_management), NULL,
	    OLDIS("acl.tokens.initial_management")),
	STR("acl_agent_master_token", C(acl.tokens.agent_recovery), NULL,
	    OLDIS("acl.tokens.agent_recovery")),
	STR("acl_token", C(acl.tokens.default_token), NULL,
	    OLDIS("acl.tokens.default")),
	STR("acl_agent_token", C(acl.tokens.agent), NULL,
	    OLDIS("acl.tokens.agent")),
	STR("acl_replication_token", C(acl.tokens.replication), NULL,
	    OLDIS("acl.tokens.replication")),

	/* Tuning. */
	BLOCK("performance", 0, performance_keys, P),
	BLOCK("limits", 0, limits_keys),
	BLOCK("http_config", 0, http_config_keys, P),
	BLOCK("telemetry", 0, telemetry_keys, P),
	BLOCK("autopilot", 0, autopilot_keys),
	BLOCK("gossip_lan", C(gossip_lan), gossip_lan_keys, P),
	BLOCK("gossip_wan", C(gossip_wan), gossip_wan_keys, P),
	INT("raft_protocol", C(raft_protocol), 3, RANGE(3, 3), P),
	INT("raft_snapshot_threshold", C(raft_snapshot_threshold), 16384,
	    NONNEG),
	DUR("raft_snapshot_interval", C(raft_snapshot_interval), 30 * SEC),
	INT("raft_trailing_logs", C(raft_trailing_logs), 10000, NONNEG),
	DUR("session_ttl_min", C(session_ttl_min), 10 * SEC),
	DUR("default_query_time", C(default_query_time), 300 * SEC),
	DUR("max_query_time", C(max_query_time), 600 * SEC),
	DUR("check_update_interval", C(check_update_interval), 5 * MIN, P),
	INT("check_output_max_size", C(check_output_max_size), 4096,
	    RANGE(1, INT_MAX)),
	BOOL("discard_check_output", C(discard_check_output), 0, P),
	DUR("discovery_max_stale", C(discovery_max_stale), 0, P),

	/* Features and switches. */
	BOOL("enable_script_checks", C(enable_script_checks), 0),
	BOOL("enable_local_script_checks", C(enable_local_script_checks), 0),
	BOOL("enable_central_service_config",
	    C(enable_central_service_config), 1, P),
	BOOL("enable_debug", C(enable_debug), 0, P),
	BOOL("disable_remote_exec", C(disable_remote_exec), 1, P),
	BOOL("disable_update_check", C(disable_update_check), 0, P),
	BOOL("disable_anonymous_signature", C(disable_anonymous_signature), 0,
	    P),
	BOOL("disable_coordinates", C(disable_coordinates), 0),
	FLOAT("sync_coordinate_rate_target", C(sync_coordinate_rate_target),
	    64),
	DUR("sync_coordinate_interval_min", C(sync_coordinate_interval_min),
	    15 * SEC),
	BOOL("disable_host_node_id", C(disable_host_node_id), 1, P),
	BOOL("disable_http_unprintable_char_filter",
	    C(disable_http_unprintable_char_filter), 0, P),
	BOOL("auto_reload_config", C(auto_reload_config), 0, P),
	STRLIST("experiments", C(experiments), P),
	BLOCK("connect", 0, connect_keys, P),
	BLOCK("peering", 0, peering_keys, P),
	RAW("config_entries", C(config_entries), P),
	RAW("watches", C(watches), P),

	/* Services and checks. */
	LIST("services", C(services), C(nservices), config_service_keys,
	    sizeof(struct config_service)),
	LIST("service", C(services), C(nservices), config_service_keys,
	    sizeof(struct config_service), SAME),
	LIST("checks", C(checks), C(nchecks), config_check_keys,
	    sizeof(struct config_check)),
	LIST("check", C(checks), C(nchecks), config_check_keys,
	    sizeof(struct config_check), SAME),
	END
};
