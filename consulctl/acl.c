/*
 * consulctl acl: bootstrap, and the create, read, update, delete and
 * list commands of tokens, policies and roles, over /v1/acl, printed
 * in the layout of Consul's pretty formatter.  Links to policies and
 * roles go by ID (-policy-id) or by name (-policy-name); the agent
 * resolves names.  -rules takes text, @file or - (stdin).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

#define ACL_ERRLEN	2048
#define ACL_RULES_MAX	(64 * 1024)

/* Roles answer 404 when absent (tokens and policies 403). */
static int	acl_404_is_absent;

/*
 * One request with a JSON body (taken, may be NULL); the answer's JSON
 * in *out when out is given.  Errors go to stderr as "<what>: <why>".
 * 0, or 1 (the exit status); 2, saying nothing, for a 404 while
 * acl_404_is_absent.
 */
static int
acl_call(const struct http_opts *http, const char *method, const char *path,
    json_t *body, json_t **out, const char *what)
{
	struct http_response	 resp;
	json_error_t		 jerr;
	char			*text = NULL, err[ACL_ERRLEN];
	int			 rc;

	if (out != NULL)
		*out = NULL;
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (text == NULL) {
			fprintf(stderr, "%s: out of memory\n", what);
			return 1;
		}
	}
	rc = http_send(http, method, path, text ? "application/json" : NULL,
	    text, text ? strlen(text) : 0, &resp, err, sizeof(err));
	free(text);
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", what, err);
		return 1;
	}
	/* A role that is not there: 2, for the caller to say so. */
	if (resp.status == 404 && acl_404_is_absent) {
		http_response_free(&resp);
		return 2;
	}
	if (resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		fprintf(stderr, "%s: %s\n", what, err);
		http_response_free(&resp);
		return 1;
	}
	if (out != NULL && (*out = json_loadb(resp.body ? resp.body : "",
	    resp.len, JSON_DECODE_ANY, &jerr)) == NULL) {
		fprintf(stderr, "%s: %s\n", what, jerr.text);
		http_response_free(&resp);
		return 1;
	}
	http_response_free(&resp);
	return 0;
}

/* path with one escaped segment appended; NULL on ENOMEM. */
static char *
acl_path(const char *base, const char *seg)
{
	FILE	*f;
	char	*p = NULL;
	size_t	 len;

	if ((f = open_memstream(&p, &len)) == NULL)
		return NULL;
	fputs(base, f);
	if (seg != NULL)
		http_escape(f, seg, NULL);
	if (fclose(f) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* Go's time.Time.String() of an RFC 3339 UTC time. */
static void
print_time(const char *label, const char *rfc)
{
	char	 date[11], clock[32];
	size_t	 n;

	if (strlen(rfc) < 20 || rfc[10] != 'T') {
		printf("%s%s\n", label, rfc);
		return;
	}
	memcpy(date, rfc, 10);
	date[10] = '\0';
	strlcpy(clock, rfc + 11, sizeof(clock));
	n = strlen(clock);
	if (n > 0 && clock[n - 1] == 'Z')
		clock[n - 1] = '\0';
	printf("%s%s %s +0000 UTC\n", label, date, clock);
}

static void
print_links(const char *indent, const char *title, json_t *a)
{
	json_t	*x;
	size_t	 i;

	if (json_array_size(a) == 0)
		return;
	printf("%s%s:\n", indent, title);
	json_array_foreach(a, i, x)
		printf("%s   %s - %s\n", indent, json_str(x, "ID"),
		    json_str(x, "Name"));
}

static void
print_idents(const char *indent, json_t *o)
{
	json_t	*a, *x, *d;
	size_t	 i, j;

	a = json_object_get(o, "ServiceIdentities");
	if (json_array_size(a) > 0) {
		printf("%sService Identities:\n", indent);
		json_array_foreach(a, i, x) {
			printf("%s   %s (Datacenters: ", indent,
			    json_str(x, "ServiceName"));
			d = json_object_get(x, "Datacenters");
			if (json_array_size(d) == 0)
				printf("all");
			for (j = 0; j < json_array_size(d); j++)
				printf("%s%s", j ? ", " : "", json_string_value(
				    json_array_get(d, j)));
			printf(")\n");
		}
	}
	a = json_object_get(o, "NodeIdentities");
	if (json_array_size(a) > 0) {
		printf("%sNode Identities:\n", indent);
		json_array_foreach(a, i, x)
			printf("%s   %s (Datacenter: %s)\n", indent,
			    json_str(x, "NodeName"), json_str(x, "Datacenter"));
	}
}

static void
print_token(json_t *t)
{
	printf("AccessorID:       %s\n", json_str(t, "AccessorID"));
	printf("SecretID:         %s\n", json_str(t, "SecretID"));
	printf("Description:      %s\n", json_str(t, "Description"));
	printf("Local:            %s\n",
	    json_is_true(json_object_get(t, "Local")) ? "true" : "false");
	print_time("Create Time:      ", json_str(t, "CreateTime"));
	if (*json_str(t, "ExpirationTime") != '\0')
		print_time("Expiration Time:  ", json_str(t, "ExpirationTime"));
	print_links("", "Policies", json_object_get(t, "Policies"));
	print_links("", "Roles", json_object_get(t, "Roles"));
	print_idents("", t);
}

static void
print_dcs(const char *label, json_t *p)
{
	json_t	*d = json_object_get(p, "Datacenters");
	size_t	 j;

	printf("%s", label);
	for (j = 0; j < json_array_size(d); j++)
		printf("%s%s", j ? ", " : "",
		    json_string_value(json_array_get(d, j)));
	printf("\n");
}

static void
print_policy(json_t *p)
{
	printf("ID:           %s\n", json_str(p, "ID"));
	printf("Name:         %s\n", json_str(p, "Name"));
	printf("Description:  %s\n", json_str(p, "Description"));
	print_dcs("Datacenters:  ", p);
	printf("Rules:\n%s\n", json_str(p, "Rules"));
}

static void
print_role(const char *indent, json_t *r, int with_name)
{
	printf("%sID:           %s\n", indent, json_str(r, "ID"));
	if (with_name)
		printf("%sName:         %s\n", indent, json_str(r, "Name"));
	printf("%sDescription:  %s\n", indent, json_str(r, "Description"));
	print_links(indent, "Policies", json_object_get(r, "Policies"));
	print_idents(indent, r);
}

/* Links from -policy-id / -policy-name (or role) flags, appended. */
static void
add_links(json_t *a, const struct cflag_list *ids,
    const struct cflag_list *names)
{
	size_t	 i;

	for (i = 0; i < ids->n; i++)
		json_array_append_new(a, json_pack("{s:s}", "ID", ids->v[i]));
	for (i = 0; i < names->n; i++)
		json_array_append_new(a, json_pack("{s:s}", "Name",
		    names->v[i]));
}

/* -service-identity name[:dc1,dc2] and -node-identity name:dc. */
static int
add_idents(json_t *o, const struct cflag_list *si,
    const struct cflag_list *ni)
{
	json_t		*a, *x, *d;
	char		*s, *colon, *dc, *last;
	size_t		 i;

	if (si->n > 0) {
		a = json_array();
		for (i = 0; i < si->n; i++) {
			if ((s = strdup(si->v[i])) == NULL)
				return -1;
			if ((colon = strchr(s, ':')) != NULL)
				*colon++ = '\0';
			if (*s == '\0') {
				fprintf(stderr, "Malformed -service-identity "
				    "argument: %s\n", si->v[i]);
				free(s);
				json_decref(a);
				return -1;
			}
			x = json_pack("{s:s}", "ServiceName", s);
			if (colon != NULL && *colon != '\0') {
				d = json_array();
				for (dc = strtok_r(colon, ",", &last);
				    dc != NULL; dc = strtok_r(NULL, ",", &last))
					json_array_append_new(d,
					    json_string(dc));
				json_object_set_new(x, "Datacenters", d);
			}
			json_array_append_new(a, x);
			free(s);
		}
		json_object_set_new(o, "ServiceIdentities", a);
	}
	if (ni->n > 0) {
		a = json_array();
		for (i = 0; i < ni->n; i++) {
			if ((colon = strchr(ni->v[i], ':')) == NULL ||
			    colon == ni->v[i] || colon[1] == '\0') {
				fprintf(stderr, "Malformed -node-identity "
				    "argument: %s\n", ni->v[i]);
				json_decref(a);
				return -1;
			}
			json_array_append_new(a, json_pack("{s:s%,s:s}",
			    "NodeName", ni->v[i], (size_t)(colon - ni->v[i]),
			    "Datacenter", colon + 1));
		}
		json_object_set_new(o, "NodeIdentities", a);
	}
	return 0;
}

/* -rules: the text, @file, or - for stdin. */
static char *
rules_arg(const char *v)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if (*v != '@' && strcmp(v, "-") != 0)
		return strdup(v);
	if (strcmp(v, "-") == 0)
		f = stdin;
	else if ((f = fopen(v + 1, "r")) == NULL) {
		fprintf(stderr, "Failed to read rules: %s: %s\n", v + 1,
		    strerror(errno));
		return NULL;
	}
	if ((buf = malloc(ACL_RULES_MAX + 1)) == NULL) {
		if (f != stdin)
			fclose(f);
		return NULL;
	}
	n = fread(buf, 1, ACL_RULES_MAX + 1, f);
	if (f != stdin)
		fclose(f);
	if (n > ACL_RULES_MAX) {
		fprintf(stderr, "Failed to read rules: more than %d bytes\n",
		    ACL_RULES_MAX);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/*
 * read and delete of one object of a kind: by -id, or by -name (its
 * ID looked up first for a delete), or -self for a token's read.
 */
struct acl_kind {
	const char	*noun;		/* "policy" */
	const char	*title;		/* "Policy" */
	const char	*prefix;	/* "/v1/acl/policy/" */
	int		 by_name;	/* -name, else -self */
	void		(*print)(json_t *);
};

static void
print_role_named(json_t *r)
{
	print_role("", r, 1);
}

static const struct acl_kind kind_policy = {
	"policy", "Policy", "/v1/acl/policy/", 1, print_policy
};
static const struct acl_kind kind_token = {
	"token", "Token", "/v1/acl/token/", 0, print_token
};
static const struct acl_kind kind_role = {
	"role", "Role", "/v1/acl/role/", 1, print_role_named
};

static int
acl_one(int argc, char **argv, const struct acl_kind *k, int del)
{
	struct http_opts	 http;
	const char		*id = NULL, *name = NULL;
	char			 cmd[32], base[64], what[256], *path = NULL;
	json_t			*o = NULL;
	int			 self = 0, rc = 1, r;
	struct cflag		 flags[] = {
		{ "id", CFLAG_STRING, &id },
		{ "name", CFLAG_STRING, &name },
	};

	if (!k->by_name) {
		flags[1].name = "self";
		flags[1].kind = CFLAG_BOOL;
		flags[1].dest = &self;
	}
	snprintf(cmd, sizeof(cmd), "acl %s %s", k->noun, del ? "delete" :
	    "read");
	memset(&http, 0, sizeof(http));
	if (cflags_parse_only(cmd, flags, !k->by_name && del ? 1 : 2, &http,
	    argc, argv) == -1)
		return 1;
	if (self)
		id = "self";
	if (id != NULL && *id == '\0')
		id = NULL;
	if (id == NULL && (!k->by_name || name == NULL || *name == '\0')) {
		fprintf(stderr, k->by_name ? "Must specify either the -id or "
		    "-name parameters\n" : "Must specify the -id parameter\n");
		return 1;
	}
	if (id == NULL) {
		snprintf(base, sizeof(base), "%sname/", k->prefix);
		snprintf(what, sizeof(what), "Error reading %s %s", k->noun,
		    name);
		path = acl_path(base, name);
	} else {
		snprintf(what, sizeof(what), "Error reading %s", k->noun);
		path = acl_path(k->prefix, id);
	}
	if (path == NULL)
		return 1;
	acl_404_is_absent = k == &kind_role;
	if ((!del || id == NULL) &&
	    (r = acl_call(&http, "GET", path, NULL, &o, what)) != 0) {
		if (r == 2 && id != NULL)
			fprintf(stderr, "Role not found with ID \"%s\"\n", id);
		else if (r == 2)
			fprintf(stderr, "Role not found with name \"%s\"\n",
			    name);
		goto done;
	}
	if (!del) {
		k->print(o);
		rc = 0;
		goto done;
	}
	if (id == NULL) {
		id = json_str(o, "ID");
		free(path);
		if ((path = acl_path(k->prefix, id)) == NULL)
			goto done;
	}
	snprintf(what, sizeof(what), "Error deleting %s", k->noun);
	if (acl_call(&http, "DELETE", path, NULL, NULL, what) == 0) {
		printf("%s \"%s\" deleted successfully\n", k->title, id);
		rc = 0;
	}
 done:
	json_decref(o);
	free(path);
	return rc;
}

int
cmd_acl_bootstrap(int argc, char **argv)
{
	struct http_opts	 http;
	json_t			*t;

	memset(&http, 0, sizeof(http));
	if (cflags_parse_only("acl bootstrap", NULL, 0, &http, argc,
	    argv) == -1)
		return 1;
	if (acl_call(&http, "PUT", "/v1/acl/bootstrap", NULL, &t,
	    "Failed ACL bootstrapping") != 0)
		return 1;
	print_token(t);
	json_decref(t);
	return 0;
}

/*
 * acl set-agent-token TYPE TOKEN: PUT /v1/agent/token/<type>.  The
 * types are Consul's: default, agent, recovery (or its old names
 * agent_master and master), replication, dns.
 */
int
cmd_acl_set_agent_token(int argc, char **argv)
{
	struct http_opts	 http;
	const char		*type, *kind;
	char			*path;
	json_t			*body;
	int			 i, rc;

	memset(&http, 0, sizeof(http));
	if ((i = cflags_parse("acl set-agent-token", NULL, 0, &http, argc,
	    argv)) < 0)
		return 1;
	if (argc - i != 2) {
		fprintf(stderr, "Missing TYPE and TOKEN arguments\n");
		return 1;
	}
	type = argv[i];
	if (strcmp(type, "recovery") == 0 || strcmp(type, "master") == 0 ||
	    strcmp(type, "agent_master") == 0)
		kind = "agent_recovery";
	else if (strcmp(type, "default") == 0 || strcmp(type, "agent") == 0 ||
	    strcmp(type, "replication") == 0 || strcmp(type, "dns") == 0 ||
	    strcmp(type, "config_file_service_registration") == 0)
		kind = type;
	else {
		fprintf(stderr, "Unknown token type\n");
		return 1;
	}
	if ((body = json_pack("{s:s}", "Token", argv[i + 1])) == NULL ||
	    (path = acl_path("/v1/agent/token/", kind)) == NULL) {
		json_decref(body);
		fprintf(stderr, "Failed setting token: out of memory\n");
		return 1;
	}
	rc = acl_call(&http, "PUT", path, body, NULL,
	    "Failed setting token");
	free(path);
	if (rc == 0)
		printf("ACL token \"%s\" set successfully\n", type);
	return rc;
}

/* Policies. */

static int
policy_write(int argc, char **argv, int update)
{
	struct http_opts	 http;
	struct cflag_list	 dcs = { NULL, 0 };
	const char		*id = NULL, *name = NULL, *desc = NULL,
				*rules = NULL, *cmd = update ?
				"acl policy update" : "acl policy create";
	json_t			*o = NULL, *p, *a;
	char			*text = NULL, *path = NULL;
	size_t			 k;
	int			 rc = 1;
	const struct cflag	 flags[] = {
		{ "id", CFLAG_STRING, &id },
		{ "name", CFLAG_STRING, &name },
		{ "description", CFLAG_STRING, &desc },
		{ "rules", CFLAG_STRING, &rules },
		{ "valid-datacenter", CFLAG_LIST, &dcs },
	};

	memset(&http, 0, sizeof(http));
	if (cflags_parse_only(cmd, flags, sizeof(flags) / sizeof(flags[0]),
	    &http, argc, argv) == -1)
		goto done;
	if (update) {
		if (id == NULL || *id == '\0') {
			fprintf(stderr, "Cannot update a policy without "
			    "specifying the -id parameter\n");
			goto done;
		}
		if ((path = acl_path("/v1/acl/policy/", id)) == NULL ||
		    acl_call(&http, "GET", path, NULL, &o,
		    "Error reading policy") != 0)
			goto done;
	} else {
		if (name == NULL || *name == '\0') {
			fprintf(stderr, "Missing required '-name' flag\n");
			goto done;
		}
		o = json_object();
	}
	if (name != NULL)
		json_object_set_new(o, "Name", json_string(name));
	if (desc != NULL)
		json_object_set_new(o, "Description", json_string(desc));
	if (rules != NULL) {
		if ((text = rules_arg(rules)) == NULL)
			goto done;
		json_object_set_new(o, "Rules", json_string(text));
	}
	if (dcs.n > 0) {
		a = json_array();
		for (k = 0; k < dcs.n; k++)
			json_array_append_new(a, json_string(dcs.v[k]));
		json_object_set_new(o, "Datacenters", a);
	}
	json_object_del(o, "Hash");
	json_object_del(o, "CreateIndex");
	json_object_del(o, "ModifyIndex");
	if (acl_call(&http, "PUT", update ? path : "/v1/acl/policy", o, &p,
	    update ? "Failed to update policy" :
	    "Failed to create new policy") != 0) {
		o = NULL;
		goto done;
	}
	o = NULL;
	print_policy(p);
	json_decref(p);
	rc = 0;
 done:
	json_decref(o);
	free(text);
	free(path);
	cflag_list_free(&dcs);
	return rc;
}

int
cmd_acl_policy_create(int argc, char **argv)
{
	return policy_write(argc, argv, 0);
}

int
cmd_acl_policy_update(int argc, char **argv)
{
	return policy_write(argc, argv, 1);
}

/* read and delete: by -id or -name. */
int
cmd_acl_policy_read(int argc, char **argv)
{
	return acl_one(argc, argv, &kind_policy, 0);
}

int
cmd_acl_policy_delete(int argc, char **argv)
{
	return acl_one(argc, argv, &kind_policy, 1);
}

int
cmd_acl_policy_list(int argc, char **argv)
{
	struct http_opts	 http;
	json_t			*l, *p;
	size_t			 k;

	memset(&http, 0, sizeof(http));
	if (cflags_parse_only("acl policy list", NULL, 0, &http, argc,
	    argv) == -1 ||
	    acl_call(&http, "GET", "/v1/acl/policies", NULL, &l,
	    "Failed to retrieve the policy list") != 0)
		return 1;
	json_array_foreach(l, k, p) {
		printf("%s:\n", json_str(p, "Name"));
		printf("   ID:           %s\n", json_str(p, "ID"));
		printf("   Description:  %s\n", json_str(p, "Description"));
		print_dcs("   Datacenters:  ", p);
	}
	json_decref(l);
	return 0;
}

/* Tokens. */

static int
token_write(int argc, char **argv, int update)
{
	struct http_opts	 http;
	struct cflag_list	 pid = { NULL, 0 }, pname = { NULL, 0 },
				 rid = { NULL, 0 }, rname = { NULL, 0 },
				 si = { NULL, 0 }, ni = { NULL, 0 };
	const char		*id = NULL, *desc = NULL, *ttl = NULL,
				*accessor = NULL, *secret = NULL, *cmd = update ?
				"acl token update" : "acl token create";
	json_t			*o = NULL, *t, *a;
	char			*path = NULL;
	int			 local = 0, rc = 1;
	const struct cflag	 flags[] = {
		{ "id", CFLAG_STRING, &id },
		{ "accessor", CFLAG_STRING, &accessor },
		{ "secret", CFLAG_STRING, &secret },
		{ "description", CFLAG_STRING, &desc },
		{ "policy-id", CFLAG_LIST, &pid },
		{ "policy-name", CFLAG_LIST, &pname },
		{ "role-id", CFLAG_LIST, &rid },
		{ "role-name", CFLAG_LIST, &rname },
		{ "service-identity", CFLAG_LIST, &si },
		{ "node-identity", CFLAG_LIST, &ni },
		{ "local", CFLAG_BOOL, &local },
		{ "expires-ttl", CFLAG_STRING, &ttl },
	};

	memset(&http, 0, sizeof(http));
	if (cflags_parse_only(cmd, flags, sizeof(flags) / sizeof(flags[0]),
	    &http, argc, argv) == -1)
		goto done;
	if (update) {
		if (id == NULL || *id == '\0') {
			fprintf(stderr, "Cannot update a token without "
			    "specifying the -id parameter\n");
			goto done;
		}
		if ((path = acl_path("/v1/acl/token/", id)) == NULL ||
		    acl_call(&http, "GET", path, NULL, &o,
		    "Failed to get token") != 0)
			goto done;
		/* Given links replace the token's; others stay. */
		if (pid.n + pname.n > 0)
			json_object_set_new(o, "Policies", json_array());
		if (rid.n + rname.n > 0)
			json_object_set_new(o, "Roles", json_array());
		if (si.n > 0)
			json_object_del(o, "ServiceIdentities");
		if (ni.n > 0)
			json_object_del(o, "NodeIdentities");
		json_object_del(o, "ExpirationTTL");
		json_object_del(o, "ExpirationTime");
	} else {
		o = json_pack("{s:[],s:[]}", "Policies", "Roles");
		if (accessor != NULL)
			json_object_set_new(o, "AccessorID",
			    json_string(accessor));
		if (secret != NULL)
			json_object_set_new(o, "SecretID",
			    json_string(secret));
		if (local)
			json_object_set_new(o, "Local", json_true());
		if (ttl != NULL)
			json_object_set_new(o, "ExpirationTTL",
			    json_string(ttl));
	}
	if (desc != NULL)
		json_object_set_new(o, "Description", json_string(desc));
	add_links(json_object_get(o, "Policies"), &pid, &pname);
	if ((a = json_object_get(o, "Roles")) == NULL) {
		json_object_set_new(o, "Roles", json_array());
		a = json_object_get(o, "Roles");
	}
	add_links(a, &rid, &rname);
	if (add_idents(o, &si, &ni) == -1)
		goto done;
	json_object_del(o, "Hash");
	json_object_del(o, "CreateTime");
	json_object_del(o, "CreateIndex");
	json_object_del(o, "ModifyIndex");
	if (acl_call(&http, "PUT", update ? path : "/v1/acl/token", o, &t,
	    update ? "Failed to update token" :
	    "Failed to create new token") != 0) {
		o = NULL;
		goto done;
	}
	o = NULL;
	print_token(t);
	json_decref(t);
	rc = 0;
 done:
	json_decref(o);
	free(path);
	cflag_list_free(&pid);
	cflag_list_free(&pname);
	cflag_list_free(&rid);
	cflag_list_free(&rname);
	cflag_list_free(&si);
	cflag_list_free(&ni);
	return rc;
}

int
cmd_acl_token_create(int argc, char **argv)
{
	return token_write(argc, argv, 0);
}

int
cmd_acl_token_update(int argc, char **argv)
{
	return token_write(argc, argv, 1);
}

int
cmd_acl_token_read(int argc, char **argv)
{
	return acl_one(argc, argv, &kind_token, 0);
}

int
cmd_acl_token_delete(int argc, char **argv)
{
	return acl_one(argc, argv, &kind_token, 1);
}

/* A new token with the links of -id, and its Description or ours. */
int
cmd_acl_token_clone(int argc, char **argv)
{
	struct http_opts	 http;
	const char		*id = NULL, *desc = NULL;
	char			*path, *clone;
	json_t			*t;
	int			 rc = 1;
	const struct cflag	 flags[] = {
		{ "id", CFLAG_STRING, &id },
		{ "description", CFLAG_STRING, &desc },
	};

	memset(&http, 0, sizeof(http));
	if (cflags_parse_only("acl token clone", flags, 2, &http, argc,
	    argv) == -1)
		return 1;
	if (id == NULL || *id == '\0') {
		fprintf(stderr, "Cannot clone a token without specifying the "
		    "-id parameter\n");
		return 1;
	}
	if ((path = acl_path("/v1/acl/token/", id)) == NULL ||
	    asprintf(&clone, "%s/clone", path) == -1) {
		free(path);
		return 1;
	}
	free(path);
	if (acl_call(&http, "PUT", clone, desc != NULL ? json_pack("{s:s}",
	    "Description", desc) : NULL, &t, "Failed to clone token") == 0) {
		printf("Token cloned successfully.\n");
		print_token(t);
		json_decref(t);
		rc = 0;
	}
	free(clone);
	return rc;
}

int
cmd_acl_token_list(int argc, char **argv)
{
	struct http_opts	 http;
	json_t			*l, *t;
	size_t			 k;

	memset(&http, 0, sizeof(http));
	if (cflags_parse_only("acl token list", NULL, 0, &http, argc,
	    argv) == -1 ||
	    acl_call(&http, "GET", "/v1/acl/tokens", NULL, &l,
	    "Failed to retrieve the token list") != 0)
		return 1;
	json_array_foreach(l, k, t) {
		if (k > 0)
			printf("\n");
		print_token(t);
	}
	json_decref(l);
	return 0;
}

/* Roles. */

static int
role_write(int argc, char **argv, int update)
{
	struct http_opts	 http;
	struct cflag_list	 pid = { NULL, 0 }, pname = { NULL, 0 },
				 si = { NULL, 0 }, ni = { NULL, 0 };
	const char		*id = NULL, *name = NULL, *desc = NULL,
				*cmd = update ? "acl role update" :
				"acl role create";
	json_t			*o = NULL, *r;
	char			*path = NULL;
	int			 rc = 1;
	const struct cflag	 flags[] = {
		{ "id", CFLAG_STRING, &id },
		{ "name", CFLAG_STRING, &name },
		{ "description", CFLAG_STRING, &desc },
		{ "policy-id", CFLAG_LIST, &pid },
		{ "policy-name", CFLAG_LIST, &pname },
		{ "service-identity", CFLAG_LIST, &si },
		{ "node-identity", CFLAG_LIST, &ni },
	};

	memset(&http, 0, sizeof(http));
	if (cflags_parse_only(cmd, flags, sizeof(flags) / sizeof(flags[0]),
	    &http, argc, argv) == -1)
		goto done;
	if (update) {
		if (id == NULL || *id == '\0') {
			fprintf(stderr, "Cannot update a role without "
			    "specifying the -id parameter\n");
			goto done;
		}
		if ((path = acl_path("/v1/acl/role/", id)) == NULL ||
		    acl_call(&http, "GET", path, NULL, &o,
		    "Error reading role") != 0)
			goto done;
		if (pid.n + pname.n > 0)
			json_object_set_new(o, "Policies", json_array());
		if (si.n > 0)
			json_object_del(o, "ServiceIdentities");
		if (ni.n > 0)
			json_object_del(o, "NodeIdentities");
	} else {
		if (name == NULL || *name == '\0') {
			fprintf(stderr, "Missing required '-name' flag\n");
			goto done;
		}
		o = json_pack("{s:[]}", "Policies");
	}
	if (name != NULL)
		json_object_set_new(o, "Name", json_string(name));
	if (desc != NULL)
		json_object_set_new(o, "Description", json_string(desc));
	add_links(json_object_get(o, "Policies"), &pid, &pname);
	if (add_idents(o, &si, &ni) == -1)
		goto done;
	json_object_del(o, "Hash");
	json_object_del(o, "CreateIndex");
	json_object_del(o, "ModifyIndex");
	if (acl_call(&http, "PUT", update ? path : "/v1/acl/role", o, &r,
	    update ? "Failed to update role" :
	    "Failed to create new role") != 0) {
		o = NULL;
		goto done;
	}
	o = NULL;
	print_role("", r, 1);
	json_decref(r);
	rc = 0;
 done:
	json_decref(o);
	free(path);
	cflag_list_free(&pid);
	cflag_list_free(&pname);
	cflag_list_free(&si);
	cflag_list_free(&ni);
	return rc;
}

int
cmd_acl_role_create(int argc, char **argv)
{
	return role_write(argc, argv, 0);
}

int
cmd_acl_role_update(int argc, char **argv)
{
	return role_write(argc, argv, 1);
}

int
cmd_acl_role_read(int argc, char **argv)
{
	return acl_one(argc, argv, &kind_role, 0);
}

int
cmd_acl_role_delete(int argc, char **argv)
{
	return acl_one(argc, argv, &kind_role, 1);
}

int
cmd_acl_role_list(int argc, char **argv)
{
	struct http_opts	 http;
	json_t			*l, *r;
	size_t			 k;

	memset(&http, 0, sizeof(http));
	if (cflags_parse_only("acl role list", NULL, 0, &http, argc,
	    argv) == -1 ||
	    acl_call(&http, "GET", "/v1/acl/roles", NULL, &l,
	    "Failed to retrieve the role list") != 0)
		return 1;
	json_array_foreach(l, k, r) {
		printf("%s:\n", json_str(r, "Name"));
		print_role("   ", r, 0);
	}
	json_decref(l);
	return 0;
}
