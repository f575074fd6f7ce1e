/*
 * Prepared queries under ACLs, as Consul has them.  A query with a Name
 * is guarded by query rules on that name (query_prefix): writing it,
 * and changing or deleting the query that had it, needs query:write;
 * one without a Name is reached by its ID alone, which is the secret.
 * Reading needs query:read on the name; a query without one is shown
 * only to ACL writers (management), and the Token a query runs under
 * is shown to them alone, "<hidden>" to everyone else.  Running a query
 * needs no query right: its results are what the query's Token (else
 * the caller's) may read of the service.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "acl_rules.h"
#include "catalog_codec.h"
#include "log.h"
#include "query_state.h"
#include "raftd.h"

#define QUERY_TOKEN_HIDDEN	"<hidden>"

static int
named(const struct cat_pquery *q)
{
	return q->name != NULL && *q->name != '\0';
}

/*
 * A prepared query write from apid ([op, rec, token]): 0 when the
 * caller may make it, 1 with err.
 */
int
query_acl_check_write(int op, const msgpack_object *rec, const char *secret,
    char *err, size_t errlen)
{
	const struct acl_authz	*az;
	struct cat_pquery	 q, old;
	char			 id[CAT_STR_MAX + 1];
	int			 rc, ok = 1, update = 0;

	if (!acl_enabled())
		return 0;
	if (acl_authz_get(secret, &az, err, errlen) != 0)
		return 1;
	memset(&q, 0, sizeof(q));
	if (op == CAT_WRITE_PQUERY_SET) {
		if (rec->type != MSGPACK_OBJECT_ARRAY ||
		    rec->via.array.size != 2 ||
		    cat_pquery_unpack(&rec->via.array.ptr[1], &q) == -1)
			fatalx("query: malformed prepared query write");
		update = rec->via.array.ptr[0].via.boolean;
		strlcpy(id, q.id, sizeof(id));
		if (named(&q) && !acl_allowed(az, ACL_RES_QUERY, q.name,
		    ACL_LEVEL_WRITE))
			ok = 0;
		cat_pquery_free(&q);
	} else if (mpack_copy_str(rec, id, sizeof(id)) == -1)
		fatalx("query: malformed prepared query delete");
	/* What it replaces or deletes: its name is guarded too. */
	if (ok && (op != CAT_WRITE_PQUERY_SET || update)) {
		if ((rc = query_state_get(&raftd.store, NULL, id,
		    &old)) == -1)
			fatalx("query: cannot read the prepared queries");
		if (rc == 0) {
			if (named(&old) && !acl_allowed(az, ACL_RES_QUERY,
			    old.name, ACL_LEVEL_WRITE))
				ok = 0;
			cat_pquery_free(&old);
		}
	}
	if (!ok) {
		strlcpy(err, "Permission denied", errlen);
		return 1;
	}
	return 0;
}

/*
 * Whether the reader (az; NULL with ACLs off) may see q; its token is
 * hidden when it may not see tokens.
 */
int
query_acl_readable(const struct acl_authz *az, struct cat_pquery *q)
{
	if (az == NULL || acl_allowed(az, ACL_RES_ACL, NULL,
	    ACL_LEVEL_WRITE))
		return 1;
	if (!named(q) || !acl_allowed(az, ACL_RES_QUERY, q->name,
	    ACL_LEVEL_READ))
		return 0;
	if (q->token != NULL && *q->token != '\0') {
		explicit_bzero(q->token, strlen(q->token));
		free(q->token);
		if ((q->token = strdup(QUERY_TOKEN_HIDDEN)) == NULL)
			fatal("query");
	}
	return 1;
}
