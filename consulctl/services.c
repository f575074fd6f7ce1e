/*
 * consulctl services register and deregister: the agent's own services
 * through PUT /v1/agent/service/register and /v1/agent/service/
 * deregister/<id>, as `consul services` manages them.  A service comes
 * from flags or from definition files, which are read by the agent's own
 * configuration loader (JSON or YAML, the keys of a "service" or
 * "services" block) and sent in the API's form.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "consulctl.h"
#include "duration.h"

#define SERVICES_ERRLEN	2048

/*
 * Problems in a definition file, as `consul services` shows them.  The
 * loader's warnings are about the agent's configuration, which is not
 * what is being loaded here, so they are left out.
 */
static void
services_report(int warning, const char *msg)
{
	if (!warning)
		fprintf(stderr, "Error: %s\n", msg);
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t	 n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Load every file as one configuration.  The defaults are those of
 * -dev, which holds no services of its own, and script checks are let
 * through: whether they are allowed is for the agent to say.
 */
static struct config *
services_load(char **files, int nfiles)
{
	struct config	*conf;
	int		 i, rc = 0;

	config_set_reporter(services_report);
	if ((conf = config_new(1)) == NULL) {
		fprintf(stderr, "Error: %s\n", strerror(errno));
		return NULL;
	}
	for (i = 0; i < nfiles; i++) {
		if (has_suffix(files[i], ".hcl")) {
			fprintf(stderr, "Error: %s: HCL is not supported, use "
			    "JSON or YAML\n", files[i]);
			rc = -1;
		} else if (config_load_file(conf, files[i]) == -1)
			rc = -1;
	}
	if (rc == 0) {
		conf->enable_script_checks = 1;
		rc = config_finalize(conf);
	}
	if (rc == 0 && conf->nservices == 0) {
		fprintf(stderr, "Error: no service definition (\"service\" or "
		    "\"services\") in the given file%s\n", nfiles > 1 ?
		    "s" : "");
		rc = -1;
	}
	if (rc != 0) {
		config_free(conf);
		return NULL;
	}
	return conf;
}

static void
set_str(json_t *o, const char *name, const char *v)
{
	if (v != NULL && *v != '\0')
		json_object_set_new(o, name, json_string(v));
}

static void
set_int(json_t *o, const char *name, int64_t v)
{
	if (v != 0)
		json_object_set_new(o, name, json_integer(v));
}

static void
set_true(json_t *o, const char *name, int v)
{
	if (v > 0)
		json_object_set_new(o, name, json_true());
}

static void
set_dur(json_t *o, const char *name, int64_t ns)
{
	char	 buf[DURATION_BUFSIZE];

	if (ns > 0)
		json_object_set_new(o, name, json_string(duration_format(ns,
		    buf, sizeof(buf))));
}

static json_t *
strlist_json(char **v, size_t n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* A check of a definition file in the API's form (Consul's CheckType). */
static json_t *
check_json(const struct config *conf, const struct config_check *c)
{
	json_t	*o = json_object(), *h;
	size_t	 i;

	set_str(o, "CheckID", c->id);
	set_str(o, "Name", c->name);
	set_str(o, "Notes", c->notes);
	set_str(o, "Status", c->status);
	if (c->args.n > 0)
		json_object_set_new(o, "Args", strlist_json(c->args.v,
		    c->args.n));
	else if (c->script != NULL)
		/* The 0.x "script" key ran its text with sh -c. */
		json_object_set_new(o, "Args", json_pack("[sss]", "/bin/sh",
		    "-c", c->script));
	set_str(o, "HTTP", c->http);
	set_str(o, "Method", c->method);
	if (c->nheader > 0) {
		h = json_object();
		for (i = 0; i < c->nheader; i++)
			json_object_set_new(h, c->header[i].key,
			    strlist_json(c->header[i].vals.v,
			    c->header[i].vals.n));
		json_object_set_new(o, "Header", h);
	}
	set_str(o, "Body", c->body);
	set_true(o, "DisableRedirects", c->disable_redirects);
	set_str(o, "TCP", c->tcp);
	set_true(o, "TCPUseTLS", c->tcp_use_tls);
	set_str(o, "UDP", c->udp);
	set_str(o, "GRPC", c->grpc);
	set_true(o, "GRPCUseTLS", c->grpc_use_tls);
	set_str(o, "H2PING", c->h2ping);
	if (c->h2ping != NULL && !c->h2ping_use_tls)
		json_object_set_new(o, "H2PingUseTLS", json_false());
	set_str(o, "OSService", c->os_service);
	set_str(o, "DockerContainerID", c->docker_container_id);
	set_str(o, "Shell", c->shell);
	set_str(o, "AliasNode", c->alias_node);
	set_str(o, "AliasService", c->alias_service);
	set_str(o, "TLSServerName", c->tls_server_name);
	set_true(o, "TLSSkipVerify", c->tls_skip_verify);
	set_dur(o, "Interval", c->interval);
	set_dur(o, "Timeout", c->timeout);
	set_dur(o, "TTL", c->ttl);
	set_dur(o, "DeregisterCriticalServiceAfter",
	    c->deregister_critical_service_after);
	set_int(o, "SuccessBeforePassing", c->success_before_passing);
	if (c->failures_before_warning != c->failures_before_critical)
		set_int(o, "FailuresBeforeWarning", c->failures_before_warning);
	set_int(o, "FailuresBeforeCritical", c->failures_before_critical);
	if (c->output_max_size != conf->check_output_max_size)
		set_int(o, "OutputMaxSize", c->output_max_size);
	set_str(o, "Token", c->token);
	return o;
}

/*
 * A service of a definition file in the API's form (Consul's
 * AgentServiceRegistration), or NULL after saying why not.
 */
static json_t *
service_json(const struct config *conf, const struct config_service *s)
{
	json_t	*o, *m, *a;
	size_t	 i;

	if (s->proxy.len > 0 || s->connect.len > 0) {
		fprintf(stderr, "Error: service \"%s\": \"proxy\" and "
		    "\"connect\" are not supported yet\n", s->name);
		return NULL;
	}
	o = json_object();
	set_str(o, "ID", s->id);
	set_str(o, "Name", s->name);
	set_str(o, "Kind", s->kind);
	if (s->tags.n > 0)
		json_object_set_new(o, "Tags", strlist_json(s->tags.v,
		    s->tags.n));
	set_str(o, "Address", s->address);
	set_int(o, "Port", s->port);
	set_str(o, "SocketPath", s->socket_path);
	if (s->ntagged_addresses > 0) {
		m = json_object();
		for (i = 0; i < s->ntagged_addresses; i++)
			json_object_set_new(m, s->tagged_addresses[i].key,
			    json_pack("{s:s,s:i}", "Address",
			    s->tagged_addresses[i].address != NULL ?
			    s->tagged_addresses[i].address : "", "Port",
			    s->tagged_addresses[i].port));
		json_object_set_new(o, "TaggedAddresses", m);
	}
	if (s->meta.n > 0) {
		m = json_object();
		for (i = 0; i < s->meta.n; i++)
			json_object_set_new(m, s->meta.v[i].key,
			    json_string(s->meta.v[i].val));
		json_object_set_new(o, "Meta", m);
	}
	set_true(o, "EnableTagOverride", s->enable_tag_override);
	json_object_set_new(o, "Weights", json_pack("{s:i,s:i}", "Passing",
	    s->weights.passing, "Warning", s->weights.warning));
	set_str(o, "Token", s->token);
	if (s->nchecks > 0) {
		a = json_array();
		for (i = 0; i < s->nchecks; i++)
			json_array_append_new(a, check_json(conf,
			    &s->checks[i]));
		json_object_set_new(o, "Checks", a);
	}
	return o;
}

/* A service from the flags; NULL after an error. */
static json_t *
service_from_flags(const char *name, const char *id, const char *address,
    int port, const struct cflag_list *tags, const struct cflag_list *meta)
{
	json_t		*o, *m;
	const char	*eq;
	char		*key;
	size_t		 i;

	for (i = 0; i < meta->n; i++)
		if (strchr(meta->v[i], '=') == NULL) {
			fprintf(stderr, "invalid value \"%s\" for flag -meta: "
			    "Missing \"=\" value in argument: %s\n",
			    meta->v[i], meta->v[i]);
			return NULL;
		}
	o = json_object();
	set_str(o, "ID", id);
	set_str(o, "Name", name);
	set_str(o, "Address", address);
	set_int(o, "Port", port);
	if (tags->n > 0)
		json_object_set_new(o, "Tags", strlist_json((char **)tags->v,
		    tags->n));
	if (meta->n > 0) {
		m = json_object();
		for (i = 0; i < meta->n; i++) {
			eq = strchr(meta->v[i], '=');
			if ((key = strndup(meta->v[i], eq - meta->v[i])) ==
			    NULL) {
				fprintf(stderr, "%s\n", strerror(errno));
				json_decref(m);
				json_decref(o);
				return NULL;
			}
			json_object_set_new(m, key, json_string(eq + 1));
			free(key);
		}
		json_object_set_new(o, "Meta", m);
	}
	return o;
}

/*
 * One PUT; 0 when the agent answered 200, else 1 after printing
 * "<what>: <why>".
 */
static int
services_put(const struct http_opts *http, const char *path,
    const char *body, const char *what)
{
	struct http_response	 resp;
	char			 err[SERVICES_ERRLEN];
	int			 rc;

	rc = http_send(http, "PUT", path, body != NULL ? "application/json" :
	    NULL, body, body != NULL ? strlen(body) : 0, &resp, err,
	    sizeof(err));
	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	if (rc == 0 && resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		rc = -1;
	}
	if (rc == 0 || resp.body != NULL)
		http_response_free(&resp);
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", what, err);
		return 1;
	}
	return 0;
}

static int
services_register_one(const struct http_opts *http, json_t *svc)
{
	json_t		*v = json_object_get(svc, "Name");
	const char	*name = json_is_string(v) ? json_string_value(v) : "";
	char		*body, what[SERVICES_ERRLEN];

	if ((body = json_dumps(svc, JSON_COMPACT)) == NULL) {
		fprintf(stderr, "Error registering service \"%s\": %s\n", name,
		    strerror(ENOMEM));
		return 1;
	}
	snprintf(what, sizeof(what), "Error registering service \"%s\"",
	    name);
	if (services_put(http, "/v1/agent/service/register", body,
	    what) != 0) {
		free(body);
		return 1;
	}
	free(body);
	printf("Registered service: %s\n", name);
	return 0;
}

int
cmd_services_register(int argc, char **argv)
{
	struct http_opts	 http;
	struct cflag_list	 tags = { NULL, 0 }, meta = { NULL, 0 };
	struct config		*conf = NULL;
	json_t			*svc;
	const char		*name = "", *id = "", *address = "";
	size_t			 i;
	int			 port = 0, first, status = 1;
	const struct cflag	 flags[] = {
		{ "name", CFLAG_STRING, &name },
		{ "id", CFLAG_STRING, &id },
		{ "address", CFLAG_STRING, &address },
		{ "port", CFLAG_INT, &port },
		{ "tag", CFLAG_LIST, &tags },
		{ "meta", CFLAG_LIST, &meta },
	};

	if ((first = cflags_parse("services register", flags, 6, &http, argc,
	    argv)) == -1)
		goto done;
	if (first == argc && *name == '\0') {
		fprintf(stderr, "Service registration requires at least one "
		    "argument or flags.\n");
		goto done;
	}
	if (first < argc && *name != '\0') {
		fprintf(stderr, "Service registration requires arguments or "
		    "flags, not both.\n");
		goto done;
	}
	if (first == argc) {
		if ((svc = service_from_flags(name, id, address, port, &tags,
		    &meta)) == NULL)
			goto done;
		status = services_register_one(&http, svc);
		json_decref(svc);
		goto done;
	}
	if ((conf = services_load(argv + first, argc - first)) == NULL)
		goto done;
	status = 0;
	for (i = 0; i < conf->nservices && status == 0; i++) {
		if ((svc = service_json(conf, &conf->services[i])) == NULL) {
			status = 1;
			break;
		}
		status = services_register_one(&http, svc);
		json_decref(svc);
	}
 done:
	config_free(conf);
	cflag_list_free(&tags);
	cflag_list_free(&meta);
	return status;
}

static int
services_deregister_one(const struct http_opts *http, const char *id)
{
	FILE	*f;
	char	*path = NULL, what[SERVICES_ERRLEN];
	size_t	 len;
	int	 rc;

	if ((f = open_memstream(&path, &len)) == NULL) {
		fprintf(stderr, "Error deregistering service \"%s\": %s\n", id,
		    strerror(errno));
		return 1;
	}
	fputs("/v1/agent/service/deregister/", f);
	http_escape(f, id, NULL);
	if (fclose(f) != 0) {
		fprintf(stderr, "Error deregistering service \"%s\": %s\n", id,
		    strerror(errno));
		free(path);
		return 1;
	}
	snprintf(what, sizeof(what), "Error deregistering service \"%s\"",
	    id);
	rc = services_put(http, path, NULL, what);
	free(path);
	if (rc == 0)
		printf("Deregistered service: %s\n", id);
	return rc;
}

int
cmd_services_deregister(int argc, char **argv)
{
	struct http_opts	 http;
	struct config		*conf;
	const char		*id = "";
	size_t			 i;
	int			 first, status = 0;
	const struct cflag	 flags[] = {
		{ "id", CFLAG_STRING, &id },
	};

	if ((first = cflags_parse("services deregister", flags, 1, &http,
	    argc, argv)) == -1)
		return 1;
	if (first == argc && *id == '\0') {
		fprintf(stderr, "Service deregistration requires at least one "
		    "argument or -id.\n");
		return 1;
	}
	if (first < argc && *id != '\0') {
		fprintf(stderr, "Service deregistration requires arguments or "
		    "-id, not both.\n");
		return 1;
	}
	if (first == argc)
		return services_deregister_one(&http, id);
	if ((conf = services_load(argv + first, argc - first)) == NULL)
		return 1;
	for (i = 0; i < conf->nservices && status == 0; i++)
		status = services_deregister_one(&http, conf->services[i].id);
	config_free(conf);
	return status;
}
