/*
 * consulctl members: the gossip pool as the agent sees it, read from
 * /v1/agent/members and laid out as `consul members` lays it out.  The
 * tags are completed first as Consul completes them (partition
 * "default", segment "<all>" for servers and "<default>" for clients),
 * so that sorting, the Partition and Segment columns and the -detailed
 * tag list all see the same values that `consul` shows.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

#define MEMBERS_PADDING		2	/* columnize's glue */
#define MEMBERS_ALL_SEGMENTS	"_all"	/* api.AllSegments */

/* One member of the answer, checked and completed. */
struct member {
	const char	*name;
	const char	*status;
	json_t		*tags;		/* in the answer */
	char		 addr[64];
};

/* serf.MemberStatus.String(); Consul panics on other values. */
static const char *
member_status(json_int_t status)
{
	static const char *const names[] = {
		"none", "alive", "leaving", "left", "failed"
	};

	if (status < 0 || status > 4)
		return "unknown";
	return names[status];
}

/*
 * An IPv6 address as Go's net.IP String() writes it: the first longest
 * run of two or more zero groups as "::", groups in lower-case hex
 * without leading zeros, and no dotted quad at the end.
 */
static void
ip6_string(const unsigned char *p, char *buf, size_t len)
{
	FILE	*f;
	char	*out = NULL;
	size_t	 outlen;
	int	 i, j, e0 = -1, e1 = -1;

	for (i = 0; i < 16; i += 2) {
		for (j = i; j < 16 && p[j] == 0 && p[j + 1] == 0; j += 2)
			;
		if (j > i && j - i > e1 - e0) {
			e0 = i;
			e1 = j;
			i = j;
		}
	}
	if (e1 - e0 <= 2)
		e0 = e1 = -1;
	if ((f = open_memstream(&out, &outlen)) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	for (i = 0; i < 16; i += 2) {
		if (i == e0) {
			fputs("::", f);
			i = e1;
			if (i >= 16)
				break;
		} else if (i > 0)
			fputc(':', f);
		fprintf(f, "%x", (unsigned)(p[i] << 8 | p[i + 1]));
	}
	if (fclose(f) != 0)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s", out);
	free(out);
}

/*
 * net.TCPAddr{IP: net.ParseIP(addr), Port: port}.String(): "ip:port",
 * "[ip6]:port", an IPv4-mapped address as IPv4, and ":port" when addr
 * is no IP address at all.
 */
static void
member_addr(const char *addr, long port, char *buf, size_t len)
{
	struct in_addr	 in4;
	struct in6_addr	 in6;
	char		 ip[INET6_ADDRSTRLEN];
	const unsigned char *p = in6.s6_addr;

	if (inet_pton(AF_INET, addr, &in4) == 1) {
		inet_ntop(AF_INET, &in4, ip, sizeof(ip));
		snprintf(buf, len, "%s:%ld", ip, port);
	} else if (inet_pton(AF_INET6, addr, &in6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&in6))
			snprintf(buf, len, "%u.%u.%u.%u:%ld", p[12], p[13],
			    p[14], p[15], port);
		else {
			ip6_string(p, ip, sizeof(ip));
			snprintf(buf, len, "[%s]:%ld", ip, port);
		}
	} else
		snprintf(buf, len, ":%ld", port);
}

/*
 * Check one AgentMember as Go's decoder would and complete its tags;
 * a null member or field reads as Go's zero value.  Returns -1 with
 * err set when a field has the wrong type.
 */
static int
member_decode(json_t *obj, const char *segment, struct member *m,
    char *err, size_t errlen)
{
	json_t		*v, *tags;
	const char	*field, *k, *want, *addr;
	json_int_t	 port = 0, status = 0;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "json: cannot unmarshal %s into Go "
		    "value of type api.AgentMember", json_kind(obj));
		return -1;
	}
	field = "Name";
	want = "string";
	v = json_object_get(obj, "Name");
	if (v != NULL && !json_is_null(v) && !json_is_string(v))
		goto badtype;
	m->name = json_is_string(v) ? json_string_value(v) : "";
	field = "Addr";
	v = json_object_get(obj, "Addr");
	if (v != NULL && !json_is_null(v) && !json_is_string(v))
		goto badtype;
	addr = json_is_string(v) ? json_string_value(v) : "";
	field = "Port";
	want = "uint16";
	v = json_object_get(obj, "Port");
	if (v != NULL && !json_is_null(v) && (!json_is_integer(v) ||
	    json_integer_value(v) < 0 || json_integer_value(v) > 65535))
		goto badtype;
	port = json_is_integer(v) ? json_integer_value(v) : 0;
	field = "Status";
	want = "int";
	v = json_object_get(obj, "Status");
	if (v != NULL && !json_is_null(v) && !json_is_integer(v))
		goto badtype;
	status = json_is_integer(v) ? json_integer_value(v) : 0;
	member_addr(addr, (long)port, m->addr, sizeof(m->addr));
	m->status = member_status(status);

	field = "Tags";
	want = "map[string]string";
	v = tags = json_object_get(obj, "Tags");
	if (tags != NULL && !json_is_null(tags) && !json_is_object(tags))
		goto badtype;
	if (!json_is_object(tags)) {
		if ((tags = json_object()) == NULL ||
		    json_object_set_new(obj, "Tags", tags) == -1)
			goto nomem;
	}
	want = "string";
	json_object_foreach(tags, k, v)
		if (!json_is_string(v) && !json_is_null(v)) {
			field = "Tags";
			goto badtype;
		}
	m->tags = tags;

	if (*json_str(tags, "ap") == '\0' &&
	    json_object_set_new(tags, "ap", json_string("default")) == -1)
		goto nomem;
	if (strcmp(json_str(tags, "ap"), "default") == 0) {
		if (strcmp(segment, MEMBERS_ALL_SEGMENTS) == 0 &&
		    strcmp(json_str(tags, "role"), "consul") == 0) {
			if (json_object_set_new(tags, "segment",
			    json_string("<all>")) == -1)
				goto nomem;
		} else if (*json_str(tags, "segment") == '\0' &&
		    json_object_set_new(tags, "segment",
		    json_string("<default>")) == -1)
			goto nomem;
	} else if (json_object_set_new(tags, "segment",
	    json_string("")) == -1)
		goto nomem;
	return 0;
 badtype:
	snprintf(err, errlen, "json: cannot unmarshal %s into Go struct "
	    "field AgentMember.%s of type %s", json_kind(v), field, want);
	return -1;
 nomem:
	snprintf(err, errlen, "%s", strerror(ENOMEM));
	return -1;
}

static int
is_default_partition(const char *p)
{
	return *p == '\0' || strcmp(p, "default") == 0;
}

/* Servers first, then the default partition, segment, partition, name. */
static int
member_cmp(const void *a, const void *b)
{
	const struct member	*x = a, *y = b;
	int			 xs, ys, xd, yd, c;

	xs = strcmp(json_str(x->tags, "role"), "consul") == 0;
	ys = strcmp(json_str(y->tags, "role"), "consul") == 0;
	if (xs != ys)
		return ys - xs;
	xd = is_default_partition(json_str(x->tags, "ap"));
	yd = is_default_partition(json_str(y->tags, "ap"));
	if (xd != yd)
		return yd - xd;
	if ((c = strcmp(json_str(x->tags, "segment"),
	    json_str(y->tags, "segment"))) != 0)
		return c;
	if ((c = strcmp(json_str(x->tags, "ap"), json_str(y->tags, "ap"))) != 0)
		return c;
	return strcmp(x->name, y->name);
}

/*
 * One cell of n bytes: columnize trims the spaces around every field
 * before it measures it.
 */
static void
cell_n(FILE *f, const char *s, size_t n, int last)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	fwrite(s, 1, n, f);
	fputc(last ? '\n' : '\t', f);
}

static void
cell(FILE *f, const char *s, int last)
{
	cell_n(f, s, strlen(s), last);
}

static void
member_row(FILE *f, const struct member *m)
{
	const char	*role = json_str(m->tags, "role"), *build, *colon;
	const char	*type;
	int		 known = 1;

	if (strcmp(role, "consul") == 0)
		type = "server";
	else if (strcmp(role, "node") == 0)
		type = "client";
	else {
		type = "unknown";
		known = 0;
	}
	cell(f, m->name, 0);
	cell(f, m->addr, 0);
	cell(f, m->status, 0);
	cell(f, type, 0);
	if (!known) {
		fputs("\t\t\t\t\n", f);
		return;
	}
	build = json_str(m->tags, "build");
	if (*build == '\0')
		cell(f, "< 0.3", 0);
	else if ((colon = strchr(build, ':')) != NULL)
		cell_n(f, build, colon - build, 0);
	else
		cell(f, build, 0);
	cell(f, json_str(m->tags, "vsn"), 0);
	cell(f, json_str(m->tags, "dc"), 0);
	cell(f, json_str(m->tags, "ap"), 0);
	cell(f, json_str(m->tags, "segment"), 1);
}

/* -detailed: the tags sorted by name as k=v,k=v. */
static int
member_detailed_row(FILE *f, const struct member *m)
{
	const char	**keys, *k;
	json_t		 *v;
	size_t		  i = 0, n = json_object_size(m->tags);
	char		 *tags = NULL;
	size_t		  tagslen;
	FILE		 *t;

	if ((keys = calloc(n + 1, sizeof(*keys))) == NULL)
		return -1;
	json_object_foreach(m->tags, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), str_ptr_cmp);
	if ((t = open_memstream(&tags, &tagslen)) == NULL) {
		free(keys);
		return -1;
	}
	for (i = 0; i < n; i++)
		fprintf(t, "%s%s=%s", i > 0 ? "," : "", keys[i],
		    json_str(m->tags, keys[i]));
	free(keys);
	if (fclose(t) != 0) {
		free(tags);
		return -1;
	}
	cell(f, m->name, 0);
	cell(f, m->addr, 0);
	cell(f, m->status, 0);
	cell(f, tags, 1);
	free(tags);
	return 0;
}

/* GET /v1/agent/members with the parameters that Consul's api sends. */
static json_t *
members_get(const struct http_opts *http, const char *filter,
    const char *segment, int wan)
{
	struct http_response	 resp;
	json_error_t		 jerr;
	json_t			*doc = NULL;
	FILE			*f;
	char			*path = NULL, err[1024];
	size_t			 pathlen;
	int			 rc;

	if ((f = open_memstream(&path, &pathlen)) == NULL) {
		fprintf(stderr, "Error retrieving members: %s\n",
		    strerror(errno));
		return NULL;
	}
	/* Go's url.Values sorts the parameters by name. */
	fputs("/v1/agent/members?", f);
	if (*filter != '\0') {
		fputs("filter=", f);
		http_escape(f, filter, NULL);
		fputc('&', f);
	}
	fputs("segment=", f);
	http_escape(f, segment, NULL);
	if (wan)
		fputs("&wan=1", f);
	if (fclose(f) != 0) {
		fprintf(stderr, "Error retrieving members: %s\n",
		    strerror(errno));
		free(path);
		return NULL;
	}
	rc = http_send(http, "GET", path, NULL, NULL, 0, &resp, err,
	    sizeof(err));
	free(path);
	if (rc == -2) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return NULL;
	}
	if (rc != 0) {
		fprintf(stderr, "Error retrieving members: %s\n", err);
		return NULL;
	}
	if (resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		fprintf(stderr, "Error retrieving members: %s\n", err);
		http_response_free(&resp);
		return NULL;
	}
	doc = json_loadb(resp.body, resp.len, JSON_DECODE_ANY, &jerr);
	http_response_free(&resp);
	if (doc == NULL)
		fprintf(stderr, "Error retrieving members: %s\n", jerr.text);
	else if (!json_is_array(doc) && !json_is_null(doc)) {
		fprintf(stderr, "Error retrieving members: json: cannot "
		    "unmarshal %s into Go value of type []*api.AgentMember\n",
		    json_kind(doc));
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

int
cmd_members(int argc, char **argv)
{
	struct http_opts	 http;
	struct member		*members = NULL;
	regex_t			 re;
	json_t			*doc, *obj;
	const char		*status_re = ".*", *filter = "";
	const char		*segment = MEMBERS_ALL_SEGMENTS;
	char			 err[1024], *text = NULL;
	size_t			 i, n = 0, textlen;
	FILE			*f;
	int			 detailed = 0, wan = 0, rc, status = 1;
	const struct cflag	 flags[] = {
		{ "detailed", CFLAG_BOOL, &detailed },
		{ "filter", CFLAG_STRING, &filter },
		{ "segment", CFLAG_STRING, &segment },
		{ "status", CFLAG_STRING, &status_re },
		{ "wan", CFLAG_BOOL, &wan },
	};

	if (cflags_parse("members", flags, 5, &http, argc, argv) == -1)
		return 1;
	if ((rc = regcomp(&re, status_re, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &re, err, sizeof(err));
		fprintf(stderr, "Failed to compile status regexp: %s\n", err);
		return 1;
	}
	if ((doc = members_get(&http, filter, segment, wan)) == NULL)
		goto done;
	if ((members = calloc(json_array_size(doc) + 1,
	    sizeof(*members))) == NULL) {
		fprintf(stderr, "Error retrieving members: %s\n",
		    strerror(errno));
		goto done;
	}
	json_array_foreach(doc, i, obj) {
		if (json_is_null(obj))
			continue;
		if (member_decode(obj, segment, &members[n], err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "Error retrieving members: %s\n", err);
			goto done;
		}
		if (regexec(&re, members[n].status, 0, NULL, 0) == 0)
			n++;
	}
	if (n == 0) {
		status = 2;
		goto done;
	}
	qsort(members, n, sizeof(*members), member_cmp);

	if ((f = open_memstream(&text, &textlen)) == NULL) {
		fprintf(stderr, "Error: %s\n", strerror(errno));
		goto done;
	}
	if (detailed)
		fputs("Node\tAddress\tStatus\tTags\n", f);
	else
		fputs("Node\tAddress\tStatus\tType\tBuild\tProtocol\tDC\t"
		    "Partition\tSegment\n", f);
	rc = 0;
	for (i = 0; i < n && rc == 0; i++) {
		if (detailed)
			rc = member_detailed_row(f, &members[i]);
		else
			member_row(f, &members[i]);
	}
	if (fclose(f) != 0 || rc == -1 ||
	    tab_print(stdout, text, textlen, MEMBERS_PADDING) == -1) {
		fprintf(stderr, "Error: %s\n", strerror(errno));
		goto done;
	}
	status = 0;
 done:
	regfree(&re);
	free(members);
	free(text);
	json_decref(doc);
	return status;
}
