/*
 * Configuration loading: Consul's example files, JSON quirks (tabs,
 * escapes), YAML, directories and merging, flags, the exact error
 * messages, finalize's checks, and the MessagePack round trip the
 * children depend on.  Files are written to a temporary directory so
 * the test runs from anywhere.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <unistd.h>

#include "config.h"
#include "duration.h"
#include "log.h"
#include "test.h"

#define MAX_MSGS	64

static char	*msgs[MAX_MSGS];
static int	 msg_warning[MAX_MSGS];
static int	 nmsgs;
static char	 tmpdir[] = "/tmp/test_config.XXXXXX";

static void
capture(int warning, const char *msg)
{
	if (nmsgs < MAX_MSGS) {
		msg_warning[nmsgs] = warning;
		msgs[nmsgs++] = strdup(msg);
	}
}

static void
msgs_reset(void)
{
	while (nmsgs > 0)
		free(msgs[--nmsgs]);
}

static int
count(int warning)
{
	int	 i, n = 0;

	for (i = 0; i < nmsgs; i++)
		n += msg_warning[i] == warning;
	return n;
}

/* Is msg among the captured messages of this kind?  Says nothing. */
static int
captured(int warning, const char *msg)
{
	int	 i;

	for (i = 0; i < nmsgs; i++) {
		if (msg_warning[i] == warning && strcmp(msgs[i], msg) == 0)
			return 1;
	}
	return 0;
}

/* The same, listing what was captured when it is not there. */
static int
has(int warning, const char *msg)
{
	int	 i;

	if (captured(warning, msg))
		return 1;
	fprintf(stderr, "# missing %s: %s\n", warning ? "warning" : "error",
	    msg);
	for (i = 0; i < nmsgs; i++)
		fprintf(stderr, "#   have %s: %s\n",
		    msg_warning[i] ? "warning" : "error", msgs[i]);
	return 0;
}

#define HAS_ERROR(m)	CHECK(has(0, (m)))
#define HAS_WARNING(m)	CHECK(has(1, (m)))

static char *
write_file(const char *name, const char *text)
{
	static char	 path[PATH_MAX];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	return path;
}

static int
load(struct config *cfg, const char *name, const char *text)
{
	return config_load_buffer(cfg, name, text, strlen(text));
}

static const char example1[] =
    "{\"datacenter\":\"dc1\",\"data_dir\":\"/consul/data\",\"server\":true,"
    "\"node_name\":\"server1\",\"bind_addr\":\"127.0.0.1\","
    "\"bootstrap_expect\":3,\"addresses\":{\"https\":\"0.0.0.0\"},"
    "\"ports\":{\"https\":8080,\"http\":-1},"
    "\"encrypt\":\"KizkyBSFh+Q03ATW0Nwcgg==\",\"verify_incoming\":true,"
    "\"verify_outgoing\":true,\"ca_file\":\"/consul/certs/ca.pem\","
    "\"cert_file\":\"/consul/certs/server1.pem\","
    "\"key_file\":\"/consul/certs/server1.key\",\"log_level\":\"INFO\"}";

static const char example2[] =
    "{\"service\":{\"name\":\"web\",\"tags\":[\"primary\"],"
    "\"address\":\"127.0.0.1\",\"port\":9000,\"checks\":[{\"http\":"
    "\"http://localhost:9000/health\",\"interval\":\"10s\"}]}}";

static void
test_defaults(void)
{
	struct config	*cfg = config_new(0);

	CHECK_STR(cfg->datacenter, "dc1");
	CHECK(cfg->node_name == NULL);
	CHECK_STR(cfg->bind_addr, "0.0.0.0");
	CHECK_STR(cfg->client_addr, "127.0.0.1");
	CHECK_STR(cfg->domain, "consul.");
	CHECK_STR(cfg->user, "_consul");
	CHECK(cfg->server == 0 && cfg->bootstrap == 0 && cfg->dev == 0);
	CHECK(cfg->ui_enabled == 0);
	CHECK(cfg->log_level == LOG_LVL_INFO);
	CHECK(cfg->ports.dns == 8600 && cfg->ports.http == 8500);
	CHECK(cfg->ports.https == -1 && cfg->ports.grpc == -1);
	CHECK(cfg->ports.serf_lan == 8301 && cfg->ports.serf_wan == 8302);
	CHECK(cfg->ports.server == 8300);
	CHECK(cfg->retry_interval == 30 * DURATION_SEC);
	CHECK(cfg->reconnect_timeout == 72 * DURATION_HOUR);
	CHECK(cfg->encrypt_verify_incoming == 1);
	CHECK(cfg->dns_config.allow_stale == 1);
	CHECK(cfg->dns_config.max_stale == 87600 * DURATION_HOUR);
	CHECK(cfg->dns_config.udp_answer_limit == 3);
	CHECK(cfg->dns_config.soa.expire == 86400);
	CHECK_STR(cfg->dns_config.recursor_strategy, "sequential");
	CHECK_STR(cfg->acl.down_policy, "extend-cache");
	CHECK(cfg->performance.raft_multiplier == 5);
	CHECK(cfg->limits.kv_max_value_size == 524288);
	CHECK(cfg->gossip_lan.probe_interval == 1 * DURATION_SEC);
	CHECK(cfg->gossip_wan.probe_interval == 5 * DURATION_SEC);
	CHECK(cfg->gossip_wan.suspicion_mult == 6);
	CHECK(cfg->check_update_interval == 5 * DURATION_MIN);
	CHECK(cfg->check_output_max_size == 4096);
	CHECK(cfg->disable_remote_exec == 1);
	CHECK_STR(cfg->ui_config.content_path, "/ui/");
	CHECK(cfg->raft_snapshot_threshold == 16384);
	CHECK(cfg->nservices == 0 && cfg->nchecks == 0);
	config_free(cfg);

	cfg = config_new(1);
	CHECK(cfg->dev == 1 && cfg->server == 1 && cfg->bootstrap == 1);
	CHECK(cfg->ui_enabled == 1);
	CHECK_STR(cfg->bind_addr, "127.0.0.1");
	CHECK_STR(cfg->client_addr, "127.0.0.1");
	CHECK(cfg->log_level == LOG_LVL_DEBUG);
	CHECK(cfg->ports.grpc == 8502);
	CHECK(config_finalize(cfg) == 0);	/* no data_dir needed */
	CHECK(cfg->ports.grpc_tls == 8503);
	CHECK_STR(cfg->advertise_addr, "127.0.0.1");
	config_free(cfg);
}

static void
test_example1(void)
{
	struct config	*cfg = config_new(0);

	msgs_reset();
	CHECK(load(cfg, "ex1.json", example1) == 0);
	CHECK(count(0) == 0);
	CHECK_STR(cfg->datacenter, "dc1");
	CHECK_STR(cfg->data_dir, "/consul/data");
	CHECK_STR(cfg->node_name, "server1");
	CHECK_STR(cfg->bind_addr, "127.0.0.1");
	CHECK(cfg->server == 1 && cfg->bootstrap_expect == 3);
	CHECK_STR(cfg->addresses.https, "0.0.0.0");
	CHECK(cfg->ports.https == 8080);
	CHECK(cfg->ports.http == -1);
	CHECK_STR(cfg->encrypt, "KizkyBSFh+Q03ATW0Nwcgg==");
	CHECK(cfg->tls.defaults.verify_incoming == 1);
	CHECK(cfg->tls.defaults.verify_outgoing == 1);
	CHECK_STR(cfg->tls.defaults.ca_file, "/consul/certs/ca.pem");
	CHECK_STR(cfg->tls.defaults.cert_file, "/consul/certs/server1.pem");
	CHECK_STR(cfg->tls.defaults.key_file, "/consul/certs/server1.key");
	CHECK(cfg->log_level == LOG_LVL_INFO);
	/* Implemented keys draw no warning. */
	CHECK(!captured(1, "config: key \"encrypt\" is accepted but not "
	    "implemented yet"));
	CHECK(!captured(1, "config: key \"ports.https\" is accepted but not "
	    "implemented yet"));
	CHECK(!captured(1, "config: key \"verify_incoming\" is accepted but not "
	    "implemented yet"));

	CHECK(config_finalize(cfg) == 0);
	CHECK(count(0) == 0);
	CHECK_STR(cfg->advertise_addr, "127.0.0.1");
	CHECK_STR(cfg->advertise_addr_wan, "127.0.0.1");
	CHECK_STR(cfg->primary_datacenter, "dc1");
	CHECK_STR(cfg->addresses.http, "127.0.0.1");
	CHECK_STR(cfg->addresses.https, "0.0.0.0");
	CHECK(cfg->ports.grpc_tls == 8503);
	CHECK(cfg->leave_on_terminate == 0);
	CHECK(cfg->skip_leave_on_interrupt == 1);
	CHECK(cfg->tls.internal_rpc.verify_incoming == 1);
	CHECK_STR(cfg->tls.https.ca_file, "/consul/certs/ca.pem");
	CHECK_STR(cfg->tls.defaults.tls_min_version, "TLSv1_2");
	config_free(cfg);
}

static void
test_example2(void)
{
	struct config		*cfg = config_new(0);
	struct config_service	*s;
	struct config_check	*c;

	msgs_reset();
	CHECK(load(cfg, "ex2.json", example2) == 0);
	CHECK(count(0) == 0);
	/* Services and checks run: no warning that they do not. */
	CHECK(count(1) == 0);
	CHECK(cfg->nservices == 1);
	if (cfg->nservices != 1)
		goto done;
	s = &cfg->services[0];
	CHECK_STR(s->name, "web");
	CHECK(s->tags.n == 1);
	CHECK_STR(s->tags.v[0], "primary");
	CHECK_STR(s->address, "127.0.0.1");
	CHECK(s->port == 9000);
	CHECK(s->weights.passing == 1 && s->weights.warning == 1);
	CHECK(s->nchecks == 1);
	if (s->nchecks != 1)
		goto done;
	c = &s->checks[0];
	CHECK_STR(c->http, "http://localhost:9000/health");
	CHECK(c->interval == 10 * DURATION_SEC);
	CHECK(c->h2ping_use_tls == 1);

	CHECK(config_set(cfg, "data_dir", "/tmp", "-data-dir") == 0);
	CHECK(config_finalize(cfg) == 0);
	CHECK_STR(s->id, "web");
	CHECK_STR(c->id, "service:web");
	CHECK_STR(c->name, "Service 'web' check");
	CHECK_STR(c->service_id, "web");
	CHECK(c->output_max_size == 4096);
	CHECK(c->failures_before_warning == 0);
done:
	config_free(cfg);
}

static const char services_json[] =
    "{\n"
    "  \"services\": [\n"
    "    {\"id\": \"api1\", \"name\": \"api\", \"port\": 8080,\n"
    "     \"meta\": {\"version\": \"1.2\"},\n"
    "     \"EnableTagOverride\": true,\n"
    "     \"tagged_addresses\": {\"lan\": {\"address\": \"10.0.0.1\",\n"
    "        \"port\": 80}},\n"
    "     \"weights\": {\"passing\": 10, \"warning\": 2},\n"
    "     \"checks\": [\n"
    "       {\"tcp\": \"localhost:8080\", \"interval\": \"5s\",\n"
    "        \"timeout\": 1000000000},\n"
    "       {\"ttl\": \"30s\", \"CheckID\": \"api-ttl\"}\n"
    "     ]},\n"
    "    {\"name\": \"db\", \"check\": {\"ttl\": \"1m\", \"status\": "
    "\"passing\"}}\n"
    "  ],\n"
    "  \"check\": {\"name\": \"mem\", \"args\": [\"/bin/check_mem\", \"-w\"],\n"
    "    \"interval\": \"30s\", \"service_id\": \"api1\"},\n"
    "  \"checks\": [\n"
    "    {\"id\": \"web-ok\", \"name\": \"Web\", \"http\": \"http://x/\",\n"
    "     \"method\": \"POST\", \"header\": {\"X-A\": [\"1\", \"2\"]},\n"
    "     \"interval\": \"10s\", \"tls_skip_verify\": true,\n"
    "     \"deregister_critical_service_after\": \"90m\",\n"
    "     \"failures_before_critical\": 3},\n"
    "    {\"Name\": \"old\", \"ScriptArgs\": [\"true\"], \"Interval\": "
    "\"1s\"}\n"
    "  ],\n"
    "  \"enable_local_script_checks\": true,\n"
    "  \"data_dir\": \"/d\"\n"
    "}\n";

static void
test_services_and_checks(void)
{
	struct config		*cfg = config_new(0);
	struct config_service	*s;
	struct config_check	*c;

	msgs_reset();
	CHECK(load(cfg, "svc.json", services_json) == 0);
	CHECK(count(0) == 0);
	CHECK(cfg->nservices == 2 && cfg->nchecks == 3);
	if (cfg->nservices != 2 || cfg->nchecks != 3)
		goto done;
	s = &cfg->services[0];
	CHECK_STR(s->id, "api1");
	CHECK(s->enable_tag_override == 1);
	CHECK(s->meta.n == 1);
	CHECK_STR(s->meta.v[0].key, "version");
	CHECK_STR(s->meta.v[0].val, "1.2");
	CHECK(s->ntagged_addresses == 1);
	CHECK_STR(s->tagged_addresses[0].key, "lan");
	CHECK_STR(s->tagged_addresses[0].address, "10.0.0.1");
	CHECK(s->tagged_addresses[0].port == 80);
	CHECK(s->weights.passing == 10 && s->weights.warning == 2);
	CHECK(s->nchecks == 2);
	CHECK(s->checks[0].timeout == 1 * DURATION_SEC);
	CHECK_STR(s->checks[1].id, "api-ttl");
	CHECK_STR(cfg->services[1].checks[0].status, "passing");

	c = &cfg->checks[1];
	CHECK_STR(c->method, "POST");
	CHECK(c->nheader == 1);
	CHECK_STR(c->header[0].key, "X-A");
	CHECK(c->header[0].vals.n == 2);
	CHECK_STR(c->header[0].vals.v[1], "2");
	CHECK(c->tls_skip_verify == 1);
	CHECK(c->deregister_critical_service_after == 90 * DURATION_MIN);
	CHECK(cfg->checks[2].args.n == 1);
	CHECK_STR(cfg->checks[0].args.v[1], "-w");

	CHECK(config_finalize(cfg) == 0);
	CHECK(count(0) == 0);
	CHECK_STR(s->checks[0].id, "service:api1:1");
	CHECK_STR(s->checks[0].name, "Service 'api' check");
	CHECK_STR(s->checks[1].id, "api-ttl");
	CHECK_STR(cfg->services[1].id, "db");
	CHECK_STR(cfg->services[1].checks[0].id, "service:db");
	CHECK_STR(cfg->checks[0].id, "mem");
	CHECK_STR(cfg->checks[0].service_id, "api1");
	CHECK_STR(cfg->checks[2].id, "old");
	CHECK(c->failures_before_warning == 3);
done:
	config_free(cfg);
}

static void
test_check_rules(void)
{
	struct config	*cfg;
	char		 arg[1026], text[1200];

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "c.json", "{\"check\": {\"name\": \"x\",\n"
	    "\"ttl\": \"10s\", \"interval\": \"10s\"}}") == -1);
	HAS_ERROR("c.json:1: check: Interval and TTL cannot both be "
	    "specified");
	CHECK(cfg->nchecks == 0);
	config_free(cfg);

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "c.json", "{\"checks\": [{\"name\": \"ok\", "
	    "\"ttl\": \"1s\"},\n{\"http\": \"http://x/\"}]}") == -1);
	HAS_ERROR("c.json:2: checks[1]: missing check name");
	HAS_ERROR("c.json:2: checks[1]: Interval must be > 0 for Script, "
	    "HTTP, H2PING, TCP, UDP or GRPC checks");
	config_free(cfg);

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "c.json", "{\"service\": {\"name\": \"s\", \"check\": "
	    "{\"ttl\": \"1s\", \"status\": \"ok\"}}}") == -1);
	HAS_ERROR("c.json:1: service.check: status must be passing, warning "
	    "or critical, not \"ok\"");
	CHECK(count(0) == 1);
	CHECK(cfg->nservices == 0);
	config_free(cfg);

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "c.json", "{\"service\": {\"port\": 1}}") == -1);
	HAS_ERROR("c.json:1: service: missing service name");
	config_free(cfg);

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "c.json", "{\"data_dir\": \"/d\", \"service\": "
	    "{\"name\": \"s\", \"check\": {\"args\": [\"/bin/true\"], "
	    "\"interval\": \"10s\"}}}") == 0);
	CHECK(config_finalize(cfg) == -1);
	HAS_ERROR("config: check \"service:s\": Scripts are disabled on this "
	    "agent; to enable, configure 'enable_script_checks' or "
	    "'enable_local_script_checks' to true");
	config_free(cfg);

	/* The 0.x "script" runs as args do: /bin/sh -c. */
	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "c.json", "{\"data_dir\": \"/d\", "
	    "\"enable_local_script_checks\": true, \"check\": {\"name\": "
	    "\"s\", \"script\": \"exit 1\", \"interval\": \"10s\"}}") == 0);
	CHECK(config_finalize(cfg) == 0);
	CHECK(cfg->nchecks == 1);
	if (cfg->nchecks == 1) {
		CHECK(cfg->checks[0].args.n == 3);
		if (cfg->checks[0].args.n == 3) {
			CHECK_STR(cfg->checks[0].args.v[0], "/bin/sh");
			CHECK_STR(cfg->checks[0].args.v[1], "-c");
			CHECK_STR(cfg->checks[0].args.v[2], "exit 1");
		}
	}
	config_free(cfg);

	/* What the parent takes from raftd bounds args. */
	msgs_reset();
	cfg = config_new(0);
	memset(arg, 'a', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	snprintf(text, sizeof(text), "{\"check\": {\"name\": \"s\", "
	    "\"args\": [\"%s\"], \"interval\": \"10s\"}}", arg);
	CHECK(load(cfg, "c.json", text) == -1);
	HAS_ERROR("c.json:1: check: args: an argument is longer than 1024 "
	    "bytes");
	config_free(cfg);
}

/* Consul's docs indent with tabs and some tools escape "/" as "\/". */
static const char tabs_json[] =
    "\t{\n"
    "\t\"datacenter\":\t\"east\",\n"
    "\t\"data_dir\": \"\\/var\\/lib\\/consul\",\n"
    "\t\"node_meta\": {\n"
    "\t\t\"rack\": \"r1\\/a\",\n"
    "\t\t\"icon\": \"\\ud83d\\ude00\"\n"
    "\t},\n"
    "\t\"retry_join\": [\n"
    "\t\t\"10.0.0.1\",\n"
    "\t\t\"10.0.0.2\"\n"
    "\t]\n"
    "}\n"
    "\t\n";

static void
test_tabs_and_escapes(void)
{
	struct config	*cfg = config_new(0);

	msgs_reset();
	CHECK(config_load_file(cfg, write_file("tabs.json", tabs_json)) == 0);
	CHECK(count(0) == 0);
	CHECK_STR(cfg->datacenter, "east");
	CHECK_STR(cfg->data_dir, "/var/lib/consul");
	CHECK(cfg->node_meta.n == 2);
	CHECK_STR(cfg->node_meta.v[0].val, "r1/a");
	CHECK_STR(cfg->node_meta.v[1].val, "\xf0\x9f\x98\x80");
	CHECK(cfg->retry_join.n == 2);
	CHECK_STR(cfg->retry_join.v[1], "10.0.0.2");
	config_free(cfg);
}

static const char agent_yaml[] =
    "# an agent in YAML\n"
    "datacenter: west\n"
    "server: true\n"
    "bootstrap_expect: 3\n"
    "data_dir: /var/lib/consuld\n"
    "log_level: warn\n"
    "ports:\n"
    "  http: 8501\n"
    "  dns: -1\n"
    "retry_join:\n"
    "  - 10.0.0.1\n"
    "  - \"10.0.0.2:8301\"\n"
    "dns_config:\n"
    "  service_ttl:\n"
    "    \"*\": 5s\n"
    "    web: 30s\n"
    "  soa: {refresh: 60}\n"
    "limits:\n"
    "  rpc_rate: 12.5\n"
    "watches:\n"
    "  - type: key\n"
    "    key: foo/bar\n"
    "    handler_type: script\n"
    "    args: [\"/bin/echo\", 1, true, null, 2.5]\n"
    "ui_config:\n"
    "  enabled: true\n";

static void
test_yaml(void)
{
	struct config	*cfg = config_new(0);

	msgs_reset();
	CHECK(config_load_file(cfg, write_file("agent.yaml", agent_yaml)) == 0);
	CHECK(count(0) == 0);
	CHECK_STR(cfg->datacenter, "west");
	CHECK(cfg->server == 1 && cfg->bootstrap_expect == 3);
	CHECK(cfg->log_level == LOG_LVL_WARN);
	CHECK(cfg->ports.http == 8501 && cfg->ports.dns == -1);
	CHECK(cfg->retry_join.n == 2);
	CHECK_STR(cfg->retry_join.v[1], "10.0.0.2:8301");
	CHECK(cfg->dns_config.service_ttl.n == 2);
	CHECK_STR(cfg->dns_config.service_ttl.v[0].key, "*");
	CHECK(cfg->dns_config.service_ttl.v[1].val == 30 * DURATION_SEC);
	CHECK(cfg->dns_config.soa.refresh == 60);
	CHECK(cfg->dns_config.soa.retry == 600);
	CHECK(cfg->limits.rpc_rate == 12.5);
	CHECK(cfg->watches.len > 0);
	CHECK(cfg->ui_enabled == 1);
	CHECK(config_finalize(cfg) == 0);
	CHECK(cfg->advertise_addr == NULL);	/* 0.0.0.0: caller decides */
	CHECK(cfg->ports.dns == -1);
	config_free(cfg);
}

static void
test_key_spellings(void)
{
	struct config	*cfg = config_new(0);

	msgs_reset();
	CHECK(load(cfg, "k.json", "{\"Services\": [{\"Name\": \"a\", "
	    "\"enable_tag_override\": true}, {\"name\": \"b\", "
	    "\"EnableTagOverride\": true}, {\"NAME\": \"c\", "
	    "\"enabletagoverride\": true}], \"Node_Name\": \"n\", "
	    "\"PORTS\": {\"SerfLan\": 1, \"http\": 8080.0}, "
	    "\"raft_trailing_logs\": 1e4}") == 0);
	CHECK(count(0) == 0);
	CHECK(cfg->nservices == 3);
	if (cfg->nservices == 3) {
		CHECK(cfg->services[0].enable_tag_override == 1);
		CHECK(cfg->services[1].enable_tag_override == 1);
		CHECK(cfg->services[2].enable_tag_override == 1);
		CHECK_STR(cfg->services[2].name, "c");
	}
	CHECK_STR(cfg->node_name, "n");
	CHECK(cfg->ports.serf_lan == 1);
	CHECK(cfg->ports.http == 8080);		/* Go's float64 numbers */
	CHECK(cfg->raft_trailing_logs == 10000);
	config_free(cfg);
}

static void
test_load_dir(void)
{
	struct config	*cfg = config_new(0);
	char		 dir[128], path[512];

	snprintf(dir, sizeof(dir), "%s/conf.d", tmpdir);
	CHECK(mkdir(dir, 0700) == 0);
	snprintf(path, sizeof(path), "%s/sub.json", dir);
	CHECK(mkdir(path, 0700) == 0);
	write_file("conf.d/20-b.yaml", "datacenter: second\n"
	    "retry_join: [b]\nnode_meta: {k2: v2, k1: over}\n");
	write_file("conf.d/10-a.json", "{\"datacenter\": \"first\", "
	    "\"retry_join\": [\"a\"], \"node_meta\": {\"k1\": \"v1\"}, "
	    "\"node_name\": \"a\"}");
	write_file("conf.d/30-c.yml", "retry_join: [c]\n");
	write_file("conf.d/README", "not config\n");
	write_file("conf.d/old.hcl", "datacenter = \"x\"\n");

	msgs_reset();
	CHECK(config_load_dir(cfg, dir) == 0);
	CHECK(count(0) == 0);
	CHECK_STR(cfg->datacenter, "second");
	CHECK_STR(cfg->node_name, "a");
	CHECK(cfg->retry_join.n == 3);
	if (cfg->retry_join.n == 3) {
		CHECK_STR(cfg->retry_join.v[0], "a");
		CHECK_STR(cfg->retry_join.v[1], "b");
		CHECK_STR(cfg->retry_join.v[2], "c");
	}
	CHECK(cfg->node_meta.n == 2);
	CHECK_STR(cfg->node_meta.v[0].key, "k1");
	CHECK_STR(cfg->node_meta.v[0].val, "over");
	CHECK_STR(cfg->node_meta.v[1].val, "v2");
	snprintf(path, sizeof(path), "config: skipping file %s/README, "
	    "extension must be .json, .yaml or .yml", dir);
	HAS_WARNING(path);
	snprintf(path, sizeof(path), "config: skipping file %s/old.hcl: HCL "
	    "is not supported, use JSON or YAML", dir);
	HAS_WARNING(path);
	/* A pending key warns once, however many files use it. */
	HAS_WARNING("config: key \"node_meta\" is accepted but not "
	    "implemented yet");
	CHECK(count(1) == 3);

	/* Flags come last and win. */
	CHECK(config_set(cfg, "datacenter", "flagged", "-datacenter") == 0);
	CHECK(config_set(cfg, "retry_join", "d", "-retry-join") == 0);
	CHECK_STR(cfg->datacenter, "flagged");
	CHECK(cfg->retry_join.n == 4);
	config_free(cfg);

	msgs_reset();
	cfg = config_new(0);
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	CHECK(config_load_dir(cfg, path) == -1);
	CHECK(count(0) == 1);
	config_free(cfg);
}

static void
test_config_set(void)
{
	struct config	*cfg = config_new(0);

	msgs_reset();
	CHECK(config_set(cfg, "ports.http", "8501", "-http-port") == 0);
	CHECK(cfg->ports.http == 8501);
	CHECK(config_set(cfg, "server", "true", "-server") == 0);
	CHECK(cfg->server == 1);
	CHECK(config_set(cfg, "server", "0", "-server") == 0);
	CHECK(cfg->server == 0);
	CHECK(config_set(cfg, "bootstrap", "1", "-bootstrap") == 0);
	CHECK(cfg->bootstrap == 1);
	CHECK(config_set(cfg, "retry_join", "1.2.3.4", "-retry-join") == 0);
	CHECK(config_set(cfg, "retry_join", "5.6.7.8", "-retry-join") == 0);
	CHECK(cfg->retry_join.n == 2);
	CHECK_STR(cfg->retry_join.v[1], "5.6.7.8");
	CHECK(config_set(cfg, "start_join", "9.9.9.9", "-join") == 0);
	CHECK(cfg->retry_join.n == 3);
	HAS_WARNING("config: key \"start_join\" is deprecated, use "
	    "\"retry_join\" instead");
	CHECK(config_set(cfg, "node_meta", "rack:r2", "-node-meta") == 0);
	CHECK(config_set(cfg, "node_meta", "rack:r3", "-node-meta") == 0);
	CHECK(cfg->node_meta.n == 1);
	CHECK_STR(cfg->node_meta.v[0].val, "r3");
	CHECK(config_set(cfg, "log_level", "trace", "-log-level") == 0);
	CHECK(cfg->log_level == LOG_LVL_TRACE);
	CHECK(config_set(cfg, "retry_interval", "1m30s", "-retry-interval")
	    == 0);
	CHECK(cfg->retry_interval == 90 * DURATION_SEC);
	CHECK(config_set(cfg, "ui_config.enabled", "true", "-ui") == 0);
	CHECK(cfg->ui_enabled == 1);
	CHECK(count(0) == 0);

	CHECK(config_set(cfg, "ports.http", "abc", "-http-port") == -1);
	HAS_ERROR("-http-port: key \"ports.http\": expected an integer, got "
	    "\"abc\"");
	CHECK(config_set(cfg, "ports.http", "70000", "-http-port") == -1);
	HAS_ERROR("-http-port: key \"ports.http\": 70000 is out of range "
	    "-1..65535");
	CHECK(config_set(cfg, "server", "yes", "-server") == -1);
	HAS_ERROR("-server: key \"server\": expected a boolean, got \"yes\"");
	CHECK(config_set(cfg, "ports.nope", "1", "-x") == -1);
	HAS_ERROR("-x: unknown key \"ports.nope\"");
	CHECK(config_set(cfg, "dns_config", "1", "-x") == -1);
	HAS_ERROR("-x: key \"dns_config\" cannot be set from the command "
	    "line");
	CHECK(config_set(cfg, "node_meta", "novalue", "-node-meta") == -1);
	HAS_ERROR("-node-meta: key \"node_meta\": expected key:value, got "
	    "\"novalue\"");
	CHECK(config_set(cfg, "encrypt", "1", NULL) == 0);
	CHECK(config_set(cfg, "retry_interval", "soon", NULL) == -1);
	HAS_ERROR("config: key \"retry_interval\": invalid duration \"soon\"");
	CHECK(cfg->ports.http == 8501 && cfg->retry_join.n == 3);
	config_free(cfg);
}

static void
test_unknown_keys(void)
{
	struct config	*cfg = config_new(0);

	msgs_reset();
	CHECK(load(cfg, "path/file.json", "{\n  \"datacenter\": \"dc1\",\n"
	    "  \"foo\": 1\n}\n") == -1);
	HAS_ERROR("path/file.json:3: unknown key \"foo\"");
	CHECK(count(0) == 1);

	msgs_reset();
	CHECK(load(cfg, "n.json", "{\"ports\": {\n\"http\": 1,\n\"foo\": "
	    "{\"deep\": [1]}}}") == -1);
	HAS_ERROR("n.json:3: unknown key \"ports.foo\"");
	CHECK(count(0) == 1);

	msgs_reset();
	CHECK(load(cfg, "s.json", "{\"services\": [{\"name\": \"a\"}, "
	    "{\"name\": \"b\", \"bogus\": 1}]}") == -1);
	HAS_ERROR("s.json:1: unknown key \"services[1].bogus\"");

	/* Internal keys are not keys to a file. */
	msgs_reset();
	CHECK(load(cfg, "d.json", "{\"dev\": true}") == -1);
	HAS_ERROR("d.json:1: unknown key \"dev\"");
	config_free(cfg);
}

static void
test_wrong_types(void)
{
	struct config	*cfg = config_new(0);

	msgs_reset();
	CHECK(load(cfg, "t.json", "{\"ports\": {\"http\": \"abc\"}}") == -1);
	HAS_ERROR("t.json:1: key \"ports.http\": expected an integer, got "
	    "\"abc\"");

	msgs_reset();
	CHECK(load(cfg, "t.json", "{\n\"retry_interval\": \"10x\"}") == -1);
	HAS_ERROR("t.json:2: key \"retry_interval\": invalid duration "
	    "\"10x\"");

	msgs_reset();
	CHECK(load(cfg, "t.json", "{\"server\": \"true\", \"datacenter\": 1, "
	    "\"retry_join\": \"x\", \"ports\": [1], \"log_level\": \"loud\", "
	    "\"encrypt\": 5, \"session_ttl_min\": 10, "
	    "\"bootstrap_expect\": -1, \"node_meta\": {\"a\": null}, "
	    "\"ports\": {\"dns\": 1.5}, \"retry_join\": [[]]}") == -1);
	HAS_ERROR("t.json:1: key \"server\": expected a boolean, got \"true\"");
	HAS_ERROR("t.json:1: key \"datacenter\": expected a string, got 1");
	HAS_ERROR("t.json:1: key \"retry_join\": expected a list, got \"x\"");
	HAS_ERROR("t.json:1: key \"ports\": expected a mapping, got 1");
	HAS_ERROR("t.json:1: key \"log_level\": invalid log level \"loud\"");
	HAS_ERROR("t.json:1: key \"encrypt\": expected a string, got "
	    "<hidden>");
	HAS_ERROR("t.json:1: key \"session_ttl_min\": expected a duration "
	    "string such as \"10s\", got 10");
	HAS_ERROR("t.json:1: key \"bootstrap_expect\": -1 is out of range "
	    "0..2147483647");
	HAS_ERROR("t.json:1: key \"node_meta.a\": expected a string, got null");
	HAS_ERROR("t.json:1: key \"ports.dns\": expected an integer, got 1.5");
	HAS_ERROR("t.json:1: key \"retry_join[0]\": expected a string, got "
	    "a list");
	CHECK(count(0) == 11);
	CHECK(cfg->retry_join.n == 0 && cfg->node_meta.n == 0);

	/* Durations of checks may be nanoseconds, as in the API. */
	msgs_reset();
	CHECK(load(cfg, "t.json", "{\"check\": {\"name\": \"t\", \"ttl\": "
	    "-5}}") == -1);
	HAS_ERROR("t.json:1: key \"check.ttl\": negative duration -5");
	CHECK(count(0) == 1);
	config_free(cfg);
}

static void
test_syntax_errors(void)
{
	struct config	*cfg = config_new(0);
	char		*big;
	size_t		 i;

	msgs_reset();
	CHECK(load(cfg, "x.json", "{\n\"datacenter\": \"x\",\n"
	    "\"node_name\" \"y\"\n}") == -1);
	HAS_ERROR("x.json:3: did not find expected ',' or '}' while parsing "
	    "a flow mapping");
	CHECK(count(0) == 1);

	msgs_reset();
	CHECK(load(cfg, "x.yaml", "retry_join: [a, b\nnode_name: c\n") == -1);
	CHECK(count(0) == 1);
	HAS_ERROR("x.yaml:2: did not find expected ',' or ']' while parsing "
	    "a flow sequence");

	/* libyaml ends the input with a line break of its own. */
	msgs_reset();
	CHECK(load(cfg, "x.json", "{\"datacenter\": \"a\"") == -1);
	HAS_ERROR("x.json:2: did not find expected ',' or '}' while parsing "
	    "a flow mapping");

	msgs_reset();
	CHECK(load(cfg, "x.yaml", "[1, 2]") == -1);
	HAS_ERROR("x.yaml:1: expected a mapping of keys, got a list");

	msgs_reset();
	CHECK(load(cfg, "x.yaml", "datacenter: a\n---\ndatacenter: b\n") ==
	    -1);
	HAS_ERROR("x.yaml:2: more than one document");

	msgs_reset();
	CHECK(load(cfg, "x.yaml", "a: &x 1\nnode_name: *x\n") == -1);
	CHECK(count(0) == 2);
	HAS_ERROR("x.yaml:2: key \"node_name\": YAML aliases are not "
	    "supported");

	msgs_reset();
	CHECK(load(cfg, "x.json", "{\"datacenter\": \"a\\u0000b\"}") == -1);
	HAS_ERROR("x.json:1: key \"datacenter\": a string with a NUL byte");

	/* Empty files and comments only are empty configurations. */
	msgs_reset();
	CHECK(load(cfg, "e.yaml", "") == 0);
	CHECK(load(cfg, "e.yaml", "# nothing\n") == 0);
	CHECK(load(cfg, "e.yaml", "---\n") == 0);
	CHECK(config_load_buffer(cfg, "e.yaml", NULL, 0) == 0);
	CHECK(nmsgs == 0);

	/* Bounded: depth, size, error count. */
	big = malloc(CONFIG_MAX_FILE + 2);
	memset(big, '[', CONFIG_MAX_FILE + 1);
	big[CONFIG_MAX_FILE + 1] = '\0';
	msgs_reset();
	CHECK(config_load_buffer(cfg, "big", big, CONFIG_MAX_FILE + 1) == -1);
	HAS_ERROR("big: larger than 4194304 bytes");
	msgs_reset();
	CHECK(config_load_buffer(cfg, "deep", big, 100000) == -1);
	HAS_ERROR("deep:1: nested more than 32 levels deep");
	msgs_reset();
	big[0] = '{';
	for (i = 1; i < 100; i++)
		memcpy(big + 1 + (i - 1) * 8, "\"x\": 1, ", 8);
	strcpy(big + 1 + 99 * 8, "\"y\": 2}");
	CHECK(config_load_buffer(cfg, "many", big, strlen(big)) == -1);
	CHECK(count(0) == CONFIG_MAX_ERRORS + 1);
	HAS_ERROR("many: too many errors");
	free(big);

	msgs_reset();
	CHECK(config_load_file(cfg, tmpdir) == -1);
	CHECK(config_load_file(cfg, "/nonexistent/x.json") == -1);
	HAS_ERROR("/nonexistent/x.json: No such file or directory");
	config_free(cfg);
}

static void
test_finalize_errors(void)
{
	struct config	*cfg;

	msgs_reset();
	cfg = config_new(0);
	CHECK(config_finalize(cfg) == -1);
	HAS_ERROR("config: data_dir must be set");
	CHECK(count(0) == 1);
	CHECK(cfg->node_name != NULL);		/* the host name */
	config_free(cfg);

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "f.json", "{\"data_dir\": \"/d\", "
	    "\"bootstrap_expect\": 3}") == 0);
	CHECK(config_finalize(cfg) == -1);
	HAS_ERROR("config: bootstrap_expect needs server mode");
	config_free(cfg);

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "f.json", "{\"data_dir\": \"/d\", \"server\": true, "
	    "\"bootstrap\": true, \"bootstrap_expect\": 3}") == 0);
	CHECK(config_finalize(cfg) == -1);
	HAS_ERROR("config: bootstrap_expect and bootstrap are mutually "
	    "exclusive");
	config_free(cfg);

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "f.json", "{\"data_dir\": \"/d\", \"server\": true, "
	    "\"bootstrap_expect\": 1}") == 0);
	CHECK(config_finalize(cfg) == 0);
	CHECK(cfg->bootstrap == 1 && cfg->bootstrap_expect == 0);
	config_free(cfg);

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "f.json", "{\"data_dir\": \"/d\", \"datacenter\": "
	    "\"DC.1\", \"encrypt\": \"abc\", \"node_id\": \"xyz\", "
	    "\"node_name\": \"\", \"reconnect_timeout\": \"1h\", "
	    "\"tls\": {\"https\": {\"tls_min_version\": \"ssl3\"}}, "
	    "\"node_meta\": {\"consul-x\": \"y\"}}") == 0);
	CHECK(config_finalize(cfg) == -1);
	HAS_ERROR("config: datacenter cannot be \"dc.1\". Please use only "
	    "[a-z0-9-_]");
	HAS_ERROR("config: encrypt must be a base64 key of 16, 24 or 32 "
	    "bytes");
	HAS_ERROR("config: node_name cannot be empty");
	HAS_ERROR("config: reconnect_timeout must be >= 8h");
	HAS_ERROR("config: tls.https.tls_min_version: \"ssl3\" is not one of "
	    "TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3");
	HAS_ERROR("config: node_meta: meta key \"consul-x\": the prefix "
	    "'consul-' is reserved for internal use");
	config_free(cfg);

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "f.json", "{\"data_dir\": \"/d\", \"datacenter\": "
	    "\"DC1\", \"node_name\": \"web_1\", \"node_id\": "
	    "\"ADF4238A-882B-9DDC-4A9D-5B6758E4159E\", \"encrypt\": "
	    "\"pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=\", "
	    "\"ports\": {\"https\": 0}, \"tls_min_version\": \"tls13\", "
	    "\"acl_datacenter\": \"Main\"}") == 0);
	CHECK(config_finalize(cfg) == 0);
	CHECK_STR(cfg->datacenter, "dc1");
	CHECK_STR(cfg->primary_datacenter, "main");
	CHECK_STR(cfg->node_id, "adf4238a-882b-9ddc-4a9d-5b6758e4159e");
	CHECK_STR(cfg->tls.defaults.tls_min_version, "TLSv1_3");
	CHECK(cfg->ports.https == -1);
	CHECK(cfg->ports.grpc_tls == -1);
	CHECK(cfg->leave_on_terminate == 1);
	HAS_WARNING("config: node name \"web_1\" will not be discoverable via "
	    "DNS due to invalid characters. Valid characters include all "
	    "alpha-numerics and dashes.");
	HAS_WARNING("config: key \"acl_datacenter\" is deprecated, use "
	    "\"primary_datacenter\" instead");
	config_free(cfg);
}

/* Everything a file can set, to see it all survive the trip. */
static const char full_json[] =
    "{\"datacenter\": \"dc9\", \"node_name\": \"n1\", \"data_dir\": \"/d\","
    " \"node_id\": \"00000000-0000-0000-0000-000000000001\","
    " \"server\": true, \"bootstrap_expect\": 3, \"log_level\": \"ERR\","
    " \"pid_file\": \"/run/c.pid\", \"user\": \"nobody\","
    " \"node_meta\": {\"a\": \"1\", \"b\": \"2\"},"
    " \"addresses\": {\"http\": \"unix:///tmp/s\"},"
    " \"ports\": {\"http\": 1, \"https\": 2, \"grpc\": 3},"
    " \"retry_join\": [\"x\", \"y\"], \"recursors\": [\"8.8.8.8\"],"
    " \"encrypt\": \"KizkyBSFh+Q03ATW0Nwcgg==\","
    " \"tls\": {\"defaults\": {\"ca_file\": \"/ca\", \"verify_incoming\": "
    "true}, \"internal_rpc\": {\"verify_server_hostname\": true}},"
    " \"acl\": {\"enabled\": true, \"default_policy\": \"deny\","
    " \"tokens\": {\"master\": \"m\", \"agent\": \"a\"}},"
    " \"dns_config\": {\"service_ttl\": {\"*\": \"1s\"}, \"soa\": "
    "{\"min_ttl\": 5}},"
    " \"http_config\": {\"response_headers\": {\"X\": \"y\"}},"
    " \"telemetry\": {\"prefix_filter\": [\"+a\", \"-b\"]},"
    " \"limits\": {\"rpc_rate\": 2.5},"
    " \"connect\": {\"enabled\": true, \"ca_config\": {\"k\": [1, {}]}},"
    " \"watches\": [{\"type\": \"event\", \"args\": [\"a\"]}],"
    " \"services\": [{\"name\": \"s\", \"tags\": [\"t\"], \"port\": 5,"
    " \"meta\": {\"m\": \"v\"}, \"tagged_addresses\": {\"wan\": "
    "{\"address\": \"1.1.1.1\", \"port\": 7}},"
    " \"proxy\": {\"upstreams\": []}, \"connect\": {\"native\": true},"
    " \"checks\": [{\"http\": \"http://h/\", \"interval\": \"10s\","
    " \"header\": {\"H\": [\"v\"]}}, {\"ttl\": \"1m\"}]}],"
    " \"check\": {\"name\": \"c\", \"tcp\": \"h:1\", \"interval\": "
    "\"1s\"}}";

static void
pack_bytes(const struct config *cfg, struct mpack_out *out)
{
	mpack_out_init(out);
	CHECK(config_pack(cfg, out) == 0);
}

/* The UI's keys, their old names, and the path it is served under. */
static void
test_ui_keys(void)
{
	struct config	*cfg;
	int		 i;

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "f.json", "{\"data_dir\": \"/d\", \"ui\": true, "
	    "\"ui_content_path\": \"console\"}") == 0);
	CHECK(cfg->ui_enabled == 1);
	HAS_WARNING("config: key \"ui\" is deprecated, use "
	    "\"ui_config.enabled\" instead");
	HAS_WARNING("config: key \"ui_content_path\" is deprecated, use "
	    "\"ui_config.content_path\" instead");
	for (i = 0; i < nmsgs; i++)
		CHECK(strstr(msgs[i], "not implemented") == NULL);
	CHECK(config_finalize(cfg) == 0);
	CHECK_STR(cfg->ui_config.content_path, "/console/");
	config_free(cfg);

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "f.json", "{\"data_dir\": \"/d\", \"ui_config\": "
	    "{\"enabled\": true, \"content_path\": \"/a/b\"}}") == 0);
	CHECK(count(1) == 0);
	CHECK(config_finalize(cfg) == 0);
	CHECK_STR(cfg->ui_config.content_path, "/a/b/");
	config_free(cfg);

	msgs_reset();
	cfg = config_new(0);
	CHECK(load(cfg, "f.json", "{\"data_dir\": \"/d\", \"ui_config\": "
	    "{\"content_path\": \"/a b/\"}}") == 0);
	CHECK(config_finalize(cfg) == -1);
	HAS_ERROR("config: ui_config.content_path \"/a b/\" is not a valid "
	    "URL path");
	config_free(cfg);

	msgs_reset();
	cfg = config_new(1);
	CHECK(config_finalize(cfg) == 0);
	CHECK(cfg->ui_enabled == 1);
	CHECK_STR(cfg->ui_config.content_path, "/ui/");
	config_free(cfg);
}

static void
test_pack_round_trip(void)
{
	struct config		*cfg = config_new(0), *got;
	struct mpack_out	 a, b;

	msgs_reset();
	CHECK(load(cfg, "full.json", full_json) == 0);
	CHECK(count(0) == 0);
	CHECK(config_finalize(cfg) == 0);
	CHECK(count(0) == 0);

	pack_bytes(cfg, &a);
	got = config_unpack(a.sbuf.data, a.sbuf.size);
	CHECK(got != NULL);
	if (got == NULL) {
		mpack_out_free(&a);
		config_free(cfg);
		return;
	}
	pack_bytes(got, &b);
	CHECK(a.sbuf.size == b.sbuf.size &&
	    memcmp(a.sbuf.data, b.sbuf.data, a.sbuf.size) == 0);

	CHECK_STR(got->datacenter, "dc9");
	CHECK(got->log_level == LOG_LVL_ERR);
	CHECK(got->server == 1 && got->bootstrap_expect == 3);
	CHECK_STR(got->node_meta.v[1].val, "2");
	CHECK(got->ports.http == 1 && got->ports.https == 2);
	CHECK(got->retry_join.n == 2);
	CHECK_STR(got->tls.internal_rpc.ca_file, "/ca");
	CHECK(got->tls.internal_rpc.verify_server_hostname == 1);
	CHECK_STR(got->acl.tokens.initial_management, "m");
	CHECK(got->dns_config.service_ttl.v[0].val == DURATION_SEC);
	CHECK(got->dns_config.soa.min_ttl == 5);
	CHECK(got->limits.rpc_rate == 2.5);
	CHECK(got->connect.ca_config.len == cfg->connect.ca_config.len);
	CHECK(got->watches.len > 0 && memcmp(got->watches.buf,
	    cfg->watches.buf, cfg->watches.len) == 0);
	CHECK(got->nservices == 1 && got->nchecks == 1);
	if (got->nservices == 1 && got->services[0].nchecks == 2) {
		CHECK_STR(got->services[0].checks[0].id, "service:s:1");
		CHECK_STR(got->services[0].checks[0].header[0].vals.v[0], "v");
		CHECK(got->services[0].checks[1].ttl == DURATION_MIN);
		CHECK_STR(got->services[0].tagged_addresses[0].address,
		    "1.1.1.1");
		CHECK(got->services[0].proxy.len > 0);
	} else
		CHECK(0);
	CHECK_STR(got->checks[0].tcp, "h:1");
	CHECK(got->warned.n == 0);
	config_free(got);
	mpack_out_free(&b);
	mpack_out_free(&a);

	/* Defaults, unset tri-states and infinity survive too. */
	config_free(cfg);
	cfg = config_new(0);
	pack_bytes(cfg, &a);
	got = config_unpack(a.sbuf.data, a.sbuf.size);
	CHECK(got != NULL);
	if (got != NULL) {
		CHECK(got->leave_on_terminate == CONFIG_UNSET);
		CHECK(got->ports.grpc_tls == CONFIG_PORT_AUTO);
		CHECK(isinf(got->limits.rpc_rate));
		pack_bytes(got, &b);
		CHECK(a.sbuf.size == b.sbuf.size &&
		    memcmp(a.sbuf.data, b.sbuf.data, a.sbuf.size) == 0);
		mpack_out_free(&b);
		config_free(got);
	}
	mpack_out_free(&a);
	config_free(cfg);
}

static void
test_unpack_garbage(void)
{
	struct config		*cfg = config_new(0), *got;
	struct mpack_out	 a;
	unsigned char		*buf;
	size_t			 i, n;
	unsigned int		 seed = 1;
	static const unsigned char bombs[][6] = {
		{ 0xdd, 0xff, 0xff, 0xff, 0xff },	/* array32 */
		{ 0xdf, 0xff, 0xff, 0xff, 0xff },	/* map32 */
		{ 0xdb, 0xff, 0xff, 0xff, 0xff },	/* str32 */
		{ 0xc6, 0xff, 0xff, 0xff, 0xff },	/* bin32 */
		{ 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01 },	/* ext32 */
		{ 0xc1 },
	};

	CHECK(load(cfg, "full.json", full_json) == 0);
	CHECK(config_finalize(cfg) == 0);
	pack_bytes(cfg, &a);
	n = a.sbuf.size;
	buf = malloc(n);

	/* Every truncation fails. */
	for (i = 0; i < n; i++)
		CHECK(config_unpack(a.sbuf.data, i) == NULL);

	/* Flipped bytes may still decode, but must never crash or leak. */
	for (i = 0; i < 2000; i++) {
		memcpy(buf, a.sbuf.data, n);
		buf[rand_r(&seed) % n] ^= (unsigned char)(1 + rand_r(&seed) %
		    255);
		config_free(config_unpack(buf, n));
	}
	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)rand_r(&seed);
	CHECK(config_unpack(buf, n) == NULL);

	for (i = 0; i < sizeof(bombs) / sizeof(bombs[0]); i++)
		CHECK(config_unpack(bombs[i], sizeof(bombs[i])) == NULL);
	CHECK(config_unpack(NULL, 0) == NULL);
	CHECK(config_unpack("", 0) == NULL);
	CHECK(config_unpack("\x80", 1) == NULL);	/* empty map */

	/* Trailing bytes after a good config. */
	got = config_unpack(a.sbuf.data, n);
	CHECK(got != NULL);
	config_free(got);
	free(buf);
	buf = malloc(n + 1);
	memcpy(buf, a.sbuf.data, n);
	buf[n] = 0xc0;
	CHECK(config_unpack(buf, n + 1) == NULL);
	free(buf);
	mpack_out_free(&a);
	config_free(cfg);
}

static void
test_pending_once(void)
{
	struct config	*cfg = config_new(0);
	int		 i;

	msgs_reset();
	CHECK(load(cfg, "a.json", "{\"acl\": {\"enabled\": true}, "
	    "\"dns_config\": {\"use_cache\": true}, \"ports\": "
	    "{\"grpc\": 1}}") == 0);
	CHECK(load(cfg, "b.json", "{\"acl\": {\"enabled\": false}, "
	    "\"ports\": {\"grpc\": 2}}") == 0);
	CHECK(config_set(cfg, "ports.grpc", "3", "-grpc-port") == 0);
	HAS_WARNING("config: key \"dns_config.use_cache\" is accepted "
	    "but not implemented yet");
	HAS_WARNING("config: key \"ports.grpc\" is accepted but not "
	    "implemented yet");
	CHECK(count(1) == 2);
	CHECK(count(0) == 0);

	/* The ACL keys that are honoured say nothing. */
	msgs_reset();
	CHECK(load(cfg, "d.json", "{\"acl\": {\"enabled\": true, "
	    "\"default_policy\": \"deny\", \"token_ttl\": \"10s\", "
	    "\"tokens\": {\"initial_management\": \"m\", \"default\": "
	    "\"d\", \"master\": \"m\"}}, \"acl_token\": \"d\"}") == 0);
	for (i = 0; i < nmsgs; i++)
		CHECK(strstr(msgs[i], "not implemented") == NULL);
	HAS_WARNING("config: key \"acl.tokens.master\" is deprecated, use "
	    "\"acl.tokens.initial_management\" instead");
	msgs_reset();
	CHECK(load(cfg, "e.json", "{\"acl\": {\"enable_key_list_policy\": "
	    "true}}") == 0);
	HAS_WARNING("config: key \"acl.enable_key_list_policy\" is accepted "
	    "but not implemented yet");

	/* Landed keys say nothing. */
	msgs_reset();
	CHECK(load(cfg, "c.json", "{\"datacenter\": \"d\", \"ports\": "
	    "{\"http\": 1, \"dns\": 2, \"https\": 3}, \"verify_incoming\": true, "
	    "\"tls\": {\"defaults\": {\"ca_file\": \"/c\"}}, "
	    "\"addresses\": {\"http\": \"::1\"}, "
	    "\"user\": \"u\", \"pid_file\": \"/p\"}") == 0);
	CHECK(nmsgs == 0);
	config_free(cfg);
}

/* Within a table no two keys may match the same spelling. */
static void
check_table(const struct config_key *table, int depth)
{
	const struct config_key	*k, *j;

	CHECK(depth < 8);
	for (k = table; k->type != CONFIG_T_END; k++) {
		if (k->name == NULL)
			continue;
		for (j = k + 1; j->type != CONFIG_T_END; j++) {
			if (j->name != NULL &&
			    config_key_match(k->name, j->name,
			    strlen(j->name))) {
				fprintf(stderr, "# %s and %s collide\n",
				    k->name, j->name);
				CHECK(0);
			}
		}
		CHECK(!(k->flags & CFG_DEPRECATED) || k->alias != NULL);
		if (k->sub != NULL && depth < 8)
			check_table(k->sub, depth + 1);
	}
}

static void
test_schema(void)
{
	check_table(config_keys, 0);
	CHECK(config_key_match("enable_tag_override", "EnableTagOverride",
	    17));
	CHECK(config_key_match("enable_tag_override", "enabletagoverride",
	    17));
	CHECK(config_key_match("service_id", "ServiceID", 9));
	CHECK(!config_key_match("service_id", "service", 7));
	CHECK(!config_key_match("http", "https", 5));
	CHECK(!config_key_match("http", "___", 3));
}

static void
cleanup(void)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", tmpdir);
}

int
main(void)
{
	static const struct test_case cases[] = {
		TEST_CASE(test_defaults),
		TEST_CASE(test_example1),
		TEST_CASE(test_example2),
		TEST_CASE(test_services_and_checks),
		TEST_CASE(test_check_rules),
		TEST_CASE(test_tabs_and_escapes),
		TEST_CASE(test_yaml),
		TEST_CASE(test_key_spellings),
		TEST_CASE(test_load_dir),
		TEST_CASE(test_config_set),
		TEST_CASE(test_unknown_keys),
		TEST_CASE(test_wrong_types),
		TEST_CASE(test_syntax_errors),
		TEST_CASE(test_finalize_errors),
		TEST_CASE(test_ui_keys),
		TEST_CASE(test_pack_round_trip),
		TEST_CASE(test_unpack_garbage),
		TEST_CASE(test_pending_once),
		TEST_CASE(test_schema),
	};
	int	 r;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	config_set_reporter(capture);
	r = test_main(cases, sizeof(cases) / sizeof(cases[0]));
	msgs_reset();
	cleanup();
	return r;
}
