/*
 * consulctl event: fire a user event through PUT /v1/event/fire/<name>,
 * the payload as the body and the node, service and tag filters as
 * regular expressions in the query, as `consul event` does, including
 * its check that the agent answers before anything is sent.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

#define EVENT_USAGE	"Usage: consulctl event [options] [payload]"

/* The filters are checked here with the engine the agent uses. */
static int
event_check_re(const char *what, const char *re)
{
	regex_t	 r;
	char	 err[256];
	int	 rc;

	if (*re == '\0')
		return 0;
	if ((rc = regcomp(&r, re, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &r, err, sizeof(err));
		fprintf(stderr, "Failed to compile %s filter regexp: %s\n",
		    what, err);
		return -1;
	}
	regfree(&r);
	return 0;
}

static void
event_param(FILE *f, int *first, const char *name, const char *value)
{
	if (*value == '\0')
		return;
	fprintf(f, "%c%s=", *first ? '?' : '&', name);
	http_escape(f, value, NULL);
	*first = 0;
}

/* The ID of the UserEvent the agent answers with. */
static int
event_id(const struct http_response *resp, char *id, size_t idlen,
    char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*doc, *v;

	if ((doc = json_loadb(resp->body, resp->len, JSON_DECODE_ANY,
	    &jerr)) == NULL) {
		snprintf(err, errlen, "%s", jerr.text);
		return -1;
	}
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "json: cannot unmarshal non-object into "
		    "Go value of type api.UserEvent");
		json_decref(doc);
		return -1;
	}
	v = json_object_get(doc, "ID");
	if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
		snprintf(err, errlen, "json: cannot unmarshal non-string into "
		    "Go struct field UserEvent.ID of type string");
		json_decref(doc);
		return -1;
	}
	snprintf(id, idlen, "%s", json_is_string(v) ? json_string_value(v) :
	    "");
	json_decref(doc);
	return 0;
}

int
cmd_event(int argc, char **argv)
{
	struct http_opts	 http;
	struct http_response	 resp;
	const char		*name = "", *node = "", *service = "";
	const char		*tag = "", *payload = NULL;
	char			 err[1024], id[256], *path = NULL;
	size_t			 pathlen;
	FILE			*f;
	int			 first, rc, p = 1;
	const struct cflag	 flags[] = {
		{ "name", CFLAG_STRING, &name },
		{ "node", CFLAG_STRING, &node },
		{ "service", CFLAG_STRING, &service },
		{ "tag", CFLAG_STRING, &tag },
	};

	if ((first = cflags_parse("event", flags, 4, &http, argc,
	    argv)) == -1)
		return 1;
	if (*name == '\0') {
		fprintf(stderr, "Event name must be specified\n\n"
		    EVENT_USAGE "\n");
		return 1;
	}
	if (event_check_re("node", node) == -1 ||
	    event_check_re("service", service) == -1 ||
	    event_check_re("tag", tag) == -1)
		return 1;
	if (*tag != '\0' && *service == '\0') {
		fprintf(stderr, "Cannot provide tag filter without service "
		    "filter.\n");
		return 1;
	}
	switch (argc - first) {
	case 0:
		break;
	case 1:
		payload = argv[first];
		break;
	default:
		fprintf(stderr, "Too many command line arguments.\n\n"
		    EVENT_USAGE "\n");
		return 1;
	}

	/* Consul asks for the agent's name first, to see that it is up. */
	rc = http_send(&http, "GET", "/v1/agent/self", NULL, NULL, 0, &resp,
	    err, sizeof(err));
	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	if (rc == 0 && resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		rc = -1;
	}
	if (rc == 0)
		http_response_free(&resp);
	if (rc != 0) {
		fprintf(stderr, "Error querying Consul agent: %s\n", err);
		return 1;
	}

	if ((f = open_memstream(&path, &pathlen)) == NULL) {
		fprintf(stderr, "Error firing event: %s\n", strerror(errno));
		return 1;
	}
	fputs("/v1/event/fire/", f);
	http_escape(f, name, "$&+,/:;=@");
	event_param(f, &p, "node", node);
	event_param(f, &p, "service", service);
	event_param(f, &p, "tag", tag);
	if (fclose(f) != 0) {
		fprintf(stderr, "Error firing event: %s\n", strerror(errno));
		free(path);
		return 1;
	}
	rc = http_send(&http, "PUT", path, "application/octet-stream",
	    payload, payload != NULL ? strlen(payload) : 0, &resp, err,
	    sizeof(err));
	free(path);
	if (rc == 0 && resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		http_response_free(&resp);
		rc = -1;
	}
	if (rc == 0) {
		rc = event_id(&resp, id, sizeof(id), err, sizeof(err));
		http_response_free(&resp);
	}
	if (rc != 0) {
		fprintf(stderr, "Error firing event: %s\n", err);
		return 1;
	}
	printf("Event ID: %s\n", id);
	return 0;
}
