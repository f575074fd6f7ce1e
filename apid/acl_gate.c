/*
 * The endpoints that need one right before they run (event fire,
 * operator, keyring, snapshot): with ACLs on, a server resolves the
 * caller's token against the right (a CAT_Q_ACL_CHECK read, which a
 * client agent forwards), and only then is the route's handler called;
 * a refusal is Consul's 403.  Endpoints
 * whose rights depend on what they touch (KV, catalog, sessions, ...)
 * are checked by raftd on the request itself instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl_rules.h"
#include "apid.h"
#include "catalog.h"
#include "catalog_codec.h"
#include "config.h"
#include "log.h"

/* A route (exact, or a prefix ending '/') and the right it needs. */
struct acl_gate {
	const char		*path;
	int			 methods;
	enum acl_resource	 res;
	enum acl_level		 level;
};

/* Snapshots are management only: Consul asks for acl:write. */
static const struct acl_gate gates[] = {
	{ "/v1/event/fire/", EVHTTP_REQ_PUT, ACL_RES_EVENT, ACL_LEVEL_WRITE },
	{ "/v1/operator/raft/configuration", EVHTTP_REQ_GET,
	    ACL_RES_OPERATOR, ACL_LEVEL_READ },
	{ "/v1/operator/raft/peer", EVHTTP_REQ_DELETE, ACL_RES_OPERATOR,
	    ACL_LEVEL_WRITE },
	{ "/v1/operator/raft/transfer-leader", EVHTTP_REQ_POST,
	    ACL_RES_OPERATOR, ACL_LEVEL_WRITE },
	{ "/v1/operator/autopilot/health", EVHTTP_REQ_GET, ACL_RES_OPERATOR,
	    ACL_LEVEL_READ },
	{ "/v1/operator/keyring", EVHTTP_REQ_GET, ACL_RES_KEYRING,
	    ACL_LEVEL_READ },
	{ "/v1/operator/keyring", EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE, ACL_RES_KEYRING, ACL_LEVEL_WRITE },
	{ "/v1/snapshot", EVHTTP_REQ_GET | EVHTTP_REQ_PUT, ACL_RES_ACL,
	    ACL_LEVEL_WRITE },
};

/* What runs once raftd said yes. */
struct acl_gate_then {
	route_handler_fn	 handler;
	char			*path;
};

static void
acl_gate_then_free(void *arg)
{
	struct acl_gate_then	*t = arg;

	free(t->path);
	free(t);
}

static void
acl_gate_done(struct request *r, struct imsg *imsg)
{
	struct acl_gate_then	*t = r->ctx;
	struct imsg_read_end	 end;

	read_end_get(imsg, &end);
	if (end.error[0] != '\0')
		http_error(r->req, acl_denial(end.error) ? 403 : 500,
		    end.error);
	else
		http_route_resume(r->req, t->path, r->dc, t->handler);
}

/*
 * Whether the route needs a right checked first: 0 to run the handler
 * now, 1 when the check is under way (or the request was answered).
 */
int
acl_gate(struct evhttp_request *req, const char *path,
    route_handler_fn handler)
{
	const struct acl_gate	*g = NULL;
	struct acl_gate_then	*t;
	struct request		*r;
	const char		*name = "";
	char			 arg[CAT_STR_MAX + 1];
	size_t			 i, len;

	if (!apid_child.conf->acl.enabled)
		return 0;
	for (i = 0; i < sizeof(gates) / sizeof(gates[0]); i++) {
		len = strlen(gates[i].path);
		if ((evhttp_request_get_command(req) & gates[i].methods) &&
		    (gates[i].path[len - 1] == '/' ? strncmp(gates[i].path,
		    path, len) == 0 : strcmp(gates[i].path, path) == 0)) {
			g = &gates[i];
			if (gates[i].path[len - 1] == '/')
				name = path + len;
			break;
		}
	}
	if (g == NULL)
		return 0;
	if (strlen(name) > CAT_STR_MAX - 8) {
		http_error(req, 403, "Permission denied");
		return 1;
	}
	snprintf(arg, sizeof(arg), "%d %d %s", (int)g->res, (int)g->level,
	    name);
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->path = strdup(path)) == NULL ||
	    (r = request_new(req, acl_gate_done)) == NULL) {
		if (t != NULL)
			acl_gate_then_free(t);
		http_error(req, 500, "out of memory");
		return 1;
	}
	t->handler = handler;
	r->ctx = t;
	r->ctx_free = acl_gate_then_free;
	cat_read_send(r, CAT_Q_ACL_CHECK, arg, 0, 0, KV_CONS_STALE, 0);
	return 1;
}
