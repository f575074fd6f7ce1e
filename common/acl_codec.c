/*
 * MessagePack codecs of the ACL objects.  Each is a map keyed by short
 * names, every field always packed (NULL strings as nil):
 *
 *	token	{"a": accessor, "s": secret, "d": description,
 *		 "p": [policy ID...], "r": [role ID...],
 *		 "si": [{"n": service, "dc": [dc...]}...],
 *		 "ni": [{"n": node, "dc": dc}...], "l": local,
 *		 "ct": create time, "et": expiration time,
 *		 "ttl": expiration TTL, "h": hash,
 *		 "pn": [policy name...], "rn": [role name...], "ci", "mi"}
 *	policy	{"id", "n": name, "d": description, "r": rules,
 *		 "dc": [dc...], "h": hash, "ci", "mi"}
 *	role	{"id", "n": name, "d": description, "p": [policy ID...],
 *		 "si", "ni", "h", "pn", "ci", "mi"}
 *
 * As with the catalog's codecs, unknown keys are ignored (a newer peer
 * may add some), a known key twice is refused, and a missing one is
 * NULL, empty or 0.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "acl_codec.h"
#include "acl_rules.h"

enum acl_ftype {
	FT_STR,		/* char * */
	FT_UINT,	/* uint64_t */
	FT_BOOL,	/* int */
	FT_STRLIST,	/* char **, size_t at noff */
	FT_SVCIDS,	/* struct acl_svc_ident *, size_t at noff */
	FT_NODEIDS	/* struct acl_node_ident *, size_t at noff */
};

#define F_REQUIRED	0x01	/* present, and a non-empty string */

struct acl_field {
	const char	*key;
	enum acl_ftype	 type;
	size_t		 off;
	size_t		 noff;
	size_t		 max;
	int		 flags;
};

#define STR(k, t, m, max, fl)	{ k, FT_STR, offsetof(t, m), 0, max, fl }
#define NUM(k, ft, t, m)	{ k, ft, offsetof(t, m), 0, 0, 0 }
#define LIST(k, ft, t, m, n)	{ k, ft, offsetof(t, m), offsetof(t, n), \
				    ACL_STR_MAX, 0 }

static const struct acl_field token_fields[] = {
	STR("a", struct acl_token, accessor, ACL_STR_MAX, F_REQUIRED),
	STR("s", struct acl_token, secret, ACL_STR_MAX, 0),
	STR("d", struct acl_token, description, ACL_DESC_MAX, 0),
	LIST("p", FT_STRLIST, struct acl_token, policies, npolicies),
	LIST("r", FT_STRLIST, struct acl_token, roles, nroles),
	LIST("si", FT_SVCIDS, struct acl_token, svc_idents, nsvc_idents),
	LIST("ni", FT_NODEIDS, struct acl_token, node_idents, nnode_idents),
	NUM("l", FT_BOOL, struct acl_token, local),
	NUM("ct", FT_UINT, struct acl_token, create_time),
	NUM("et", FT_UINT, struct acl_token, expiration_time),
	NUM("ttl", FT_UINT, struct acl_token, expiration_ttl),
	STR("h", struct acl_token, hash, ACL_STR_MAX, 0),
	LIST("pn", FT_STRLIST, struct acl_token, policy_names, npolicy_names),
	LIST("rn", FT_STRLIST, struct acl_token, role_names, nrole_names),
	NUM("ci", FT_UINT, struct acl_token, create_index),
	NUM("mi", FT_UINT, struct acl_token, modify_index),
};

static const struct acl_field policy_fields[] = {
	STR("id", struct acl_policy, id, ACL_STR_MAX, F_REQUIRED),
	STR("n", struct acl_policy, name, ACL_STR_MAX, F_REQUIRED),
	STR("d", struct acl_policy, description, ACL_DESC_MAX, 0),
	STR("r", struct acl_policy, rules, ACL_POLICY_RULES_MAX, 0),
	LIST("dc", FT_STRLIST, struct acl_policy, dcs, ndcs),
	STR("h", struct acl_policy, hash, ACL_STR_MAX, 0),
	NUM("ci", FT_UINT, struct acl_policy, create_index),
	NUM("mi", FT_UINT, struct acl_policy, modify_index),
};

static const struct acl_field role_fields[] = {
	STR("id", struct acl_role, id, ACL_STR_MAX, F_REQUIRED),
	STR("n", struct acl_role, name, ACL_STR_MAX, F_REQUIRED),
	STR("d", struct acl_role, description, ACL_DESC_MAX, 0),
	LIST("p", FT_STRLIST, struct acl_role, policies, npolicies),
	LIST("si", FT_SVCIDS, struct acl_role, svc_idents, nsvc_idents),
	LIST("ni", FT_NODEIDS, struct acl_role, node_idents, nnode_idents),
	STR("h", struct acl_role, hash, ACL_STR_MAX, 0),
	LIST("pn", FT_STRLIST, struct acl_role, policy_names, npolicy_names),
	NUM("ci", FT_UINT, struct acl_role, create_index),
	NUM("mi", FT_UINT, struct acl_role, modify_index),
};

#define nfields(a)	(sizeof(a) / sizeof((a)[0]))

#define FIELD(s, f, type)	((type *)((char *)(s) + (f)->off))
#define CFIELD(s, f, type)	((type const *)((const char *)(s) + (f)->off))
#define COUNT(s, f)		((size_t *)((char *)(s) + (f)->noff))
#define CCOUNT(s, f)		(*(const size_t *)((const char *)(s) + \
				    (f)->noff))

static void
pack_strlist(msgpack_packer *pk, char *const *list, size_t n)
{
	size_t	 i;

	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		mpack_str(pk, list[i] != NULL ? list[i] : "");
}

static void
pack_fields(msgpack_packer *pk, const struct acl_field *fields, size_t nf,
    const void *s)
{
	const struct acl_field		*f;
	const struct acl_svc_ident	*si;
	const struct acl_node_ident	*ni;
	size_t				 i, j, n;

	msgpack_pack_map(pk, nf);
	for (i = 0; i < nf; i++) {
		f = &fields[i];
		mpack_str(pk, f->key);
		switch (f->type) {
		case FT_STR:
			mpack_str(pk, *CFIELD(s, f, char *));
			break;
		case FT_UINT:
			msgpack_pack_uint64(pk, *CFIELD(s, f, uint64_t));
			break;
		case FT_BOOL:
			if (*CFIELD(s, f, int))
				msgpack_pack_true(pk);
			else
				msgpack_pack_false(pk);
			break;
		case FT_STRLIST:
			pack_strlist(pk, *CFIELD(s, f, char **),
			    CCOUNT(s, f));
			break;
		case FT_SVCIDS:
			si = *CFIELD(s, f, struct acl_svc_ident *);
			n = CCOUNT(s, f);
			msgpack_pack_array(pk, n);
			for (j = 0; j < n; j++) {
				msgpack_pack_map(pk, 2);
				mpack_str(pk, "n");
				mpack_str(pk, si[j].name ? si[j].name : "");
				mpack_str(pk, "dc");
				pack_strlist(pk, si[j].dcs, si[j].ndcs);
			}
			break;
		case FT_NODEIDS:
			ni = *CFIELD(s, f, struct acl_node_ident *);
			n = CCOUNT(s, f);
			msgpack_pack_array(pk, n);
			for (j = 0; j < n; j++) {
				msgpack_pack_map(pk, 2);
				mpack_str(pk, "n");
				mpack_str(pk, ni[j].name ? ni[j].name : "");
				mpack_str(pk, "dc");
				mpack_str(pk, ni[j].dc ? ni[j].dc : "");
			}
			break;
		}
	}
}

static void
free_strlist(char **list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void
free_fields(const struct acl_field *fields, size_t nf, void *s)
{
	const struct acl_field	*f;
	struct acl_svc_ident	*si;
	struct acl_node_ident	*ni;
	size_t			 i, j, n;

	for (i = 0; i < nf; i++) {
		f = &fields[i];
		switch (f->type) {
		case FT_STR:
			free(*FIELD(s, f, char *));
			break;
		case FT_STRLIST:
			free_strlist(*FIELD(s, f, char **), *COUNT(s, f));
			break;
		case FT_SVCIDS:
			si = *FIELD(s, f, struct acl_svc_ident *);
			n = *COUNT(s, f);
			for (j = 0; j < n; j++) {
				free(si[j].name);
				free_strlist(si[j].dcs, si[j].ndcs);
			}
			free(si);
			break;
		case FT_NODEIDS:
			ni = *FIELD(s, f, struct acl_node_ident *);
			n = *COUNT(s, f);
			for (j = 0; j < n; j++) {
				free(ni[j].name);
				free(ni[j].dc);
			}
			free(ni);
			break;
		default:
			break;
		}
	}
}

static int
get_str(const msgpack_object *o, size_t max, int nil_ok, char **out)
{
	*out = NULL;
	if (o->type == MSGPACK_OBJECT_NIL)
		return nil_ok ? 0 : -1;
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > max)
		return -1;
	return mpack_get_str(o, out);
}

/* An array of at most ACL_LIST_MAX entries; nil is an empty one. */
static int
list_size(const msgpack_object *o, size_t *n)
{
	*n = 0;
	if (o->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (o->type != MSGPACK_OBJECT_ARRAY ||
	    o->via.array.size > ACL_LIST_MAX)
		return -1;
	*n = o->via.array.size;
	return 0;
}

static int
get_strlist(const msgpack_object *o, size_t max, char ***out, size_t *nout)
{
	char	**list;
	size_t	 i, n;

	if (list_size(o, &n) == -1)
		return -1;
	if (n == 0)
		return 0;
	if ((list = calloc(n, sizeof(*list))) == NULL)
		return -1;
	/* Owned by the record from here, so that its free sees them. */
	*out = list;
	*nout = n;
	for (i = 0; i < n; i++)
		if (get_str(&o->via.array.ptr[i], max, 0, &list[i]) == -1)
			return -1;
	return 0;
}

/* {"n": name, "dc": ...}: a list of datacenters or one. */
static int
get_ident(const msgpack_object *o, char **name, char ***dcs, size_t *ndcs,
    char **dc)
{
	const msgpack_object_kv	*e;
	uint32_t		 i;
	int			 seen = 0;

	if (o->type != MSGPACK_OBJECT_MAP)
		return -1;
	for (i = 0; i < o->via.map.size; i++) {
		e = &o->via.map.ptr[i];
		if (mpack_key_is(&e->key, "n")) {
			if ((seen & 1) ||
			    get_str(&e->val, ACL_STR_MAX, 0, name) == -1)
				return -1;
			seen |= 1;
		} else if (mpack_key_is(&e->key, "dc")) {
			if (seen & 2)
				return -1;
			seen |= 2;
			if (dcs != NULL && get_strlist(&e->val, ACL_STR_MAX,
			    dcs, ndcs) == -1)
				return -1;
			if (dc != NULL && get_str(&e->val, ACL_STR_MAX, 1,
			    dc) == -1)
				return -1;
		}
	}
	return *name != NULL && **name != '\0' ? 0 : -1;
}

static int
get_svcids(const msgpack_object *o, struct acl_svc_ident **out,
    size_t *nout)
{
	struct acl_svc_ident	*si;
	size_t			 i, n;

	if (list_size(o, &n) == -1)
		return -1;
	if (n == 0)
		return 0;
	if ((si = calloc(n, sizeof(*si))) == NULL)
		return -1;
	*out = si;
	*nout = n;
	for (i = 0; i < n; i++)
		if (get_ident(&o->via.array.ptr[i], &si[i].name, &si[i].dcs,
		    &si[i].ndcs, NULL) == -1)
			return -1;
	return 0;
}

static int
get_nodeids(const msgpack_object *o, struct acl_node_ident **out,
    size_t *nout)
{
	struct acl_node_ident	*ni;
	size_t			 i, n;

	if (list_size(o, &n) == -1)
		return -1;
	if (n == 0)
		return 0;
	if ((ni = calloc(n, sizeof(*ni))) == NULL)
		return -1;
	*out = ni;
	*nout = n;
	for (i = 0; i < n; i++)
		if (get_ident(&o->via.array.ptr[i], &ni[i].name, NULL, NULL,
		    &ni[i].dc) == -1)
			return -1;
	return 0;
}

static int
unpack_field(const msgpack_object *v, const struct acl_field *f, void *s)
{
	int	 b;

	switch (f->type) {
	case FT_STR:
		return get_str(v, f->max, 1, FIELD(s, f, char *));
	case FT_UINT:
		return mpack_get_uint(v, FIELD(s, f, uint64_t));
	case FT_BOOL:
		if (mpack_get_bool(v, &b) == -1)
			return -1;
		*FIELD(s, f, int) = b;
		return 0;
	case FT_STRLIST:
		return get_strlist(v, f->max, FIELD(s, f, char **),
		    COUNT(s, f));
	case FT_SVCIDS:
		return get_svcids(v, FIELD(s, f, struct acl_svc_ident *),
		    COUNT(s, f));
	case FT_NODEIDS:
		return get_nodeids(v, FIELD(s, f, struct acl_node_ident *),
		    COUNT(s, f));
	}
	return -1;
}

/* Fill the zeroed s from the map o; on error the caller frees s. */
static int
unpack_fields(const msgpack_object *o, const struct acl_field *fields,
    size_t nf, void *s)
{
	const msgpack_object_kv	*e;
	const struct acl_field	*f;
	uint32_t		 seen = 0, i;
	size_t			 j;

	if (o->type != MSGPACK_OBJECT_MAP)
		return -1;
	for (i = 0; i < o->via.map.size; i++) {
		e = &o->via.map.ptr[i];
		for (j = 0; j < nf; j++)
			if (mpack_key_is(&e->key, fields[j].key))
				break;
		if (j == nf)
			continue;
		if (seen & (1U << j))
			return -1;
		seen |= 1U << j;
		if (unpack_field(&e->val, &fields[j], s) == -1)
			return -1;
	}
	for (j = 0; j < nf; j++) {
		f = &fields[j];
		if ((f->flags & F_REQUIRED) && (*FIELD(s, f, char *) == NULL ||
		    **FIELD(s, f, char *) == '\0'))
			return -1;
	}
	return 0;
}

void
acl_token_pack(msgpack_packer *pk, const struct acl_token *t)
{
	pack_fields(pk, token_fields, nfields(token_fields), t);
}

int
acl_token_unpack(const msgpack_object *o, struct acl_token *t)
{
	memset(t, 0, sizeof(*t));
	if (unpack_fields(o, token_fields, nfields(token_fields), t) == -1) {
		acl_token_free(t);
		return -1;
	}
	return 0;
}

void
acl_token_free(struct acl_token *t)
{
	if (t->secret != NULL)
		explicit_bzero(t->secret, strlen(t->secret));
	free_fields(token_fields, nfields(token_fields), t);
	memset(t, 0, sizeof(*t));
}

void
acl_policy_pack(msgpack_packer *pk, const struct acl_policy *p)
{
	pack_fields(pk, policy_fields, nfields(policy_fields), p);
}

int
acl_policy_unpack(const msgpack_object *o, struct acl_policy *p)
{
	memset(p, 0, sizeof(*p));
	if (unpack_fields(o, policy_fields, nfields(policy_fields), p) == -1) {
		acl_policy_free(p);
		return -1;
	}
	return 0;
}

void
acl_policy_free(struct acl_policy *p)
{
	free_fields(policy_fields, nfields(policy_fields), p);
	memset(p, 0, sizeof(*p));
}

void
acl_role_pack(msgpack_packer *pk, const struct acl_role *r)
{
	pack_fields(pk, role_fields, nfields(role_fields), r);
}

int
acl_role_unpack(const msgpack_object *o, struct acl_role *r)
{
	memset(r, 0, sizeof(*r));
	if (unpack_fields(o, role_fields, nfields(role_fields), r) == -1) {
		acl_role_free(r);
		return -1;
	}
	return 0;
}

void
acl_role_free(struct acl_role *r)
{
	free_fields(role_fields, nfields(role_fields), r);
	memset(r, 0, sizeof(*r));
}

/*
 * Every byte of the longer string is looked at whatever the others
 * are, so the time says nothing about where two secrets differ.
 */
int
acl_secret_equal(const char *a, const char *b)
{
	size_t		 la, lb, i, n;
	unsigned char	 diff;

	if (a == NULL || b == NULL)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	n = la > lb ? la : lb;
	diff = la != lb;
	for (i = 0; i < n; i++)
		diff |= (unsigned char)(i < la ? a[i] : 0) ^
		    (unsigned char)(i < lb ? b[i] : 0);
	return diff == 0;
}

/*
 * An authorizer as it crosses processes (raftd to apid, a server to a
 * client agent): [management, default_allow, [[exact rules], [prefix
 * rules]] per named resource as [[name, level]...], [single levels]].
 */
static void
pack_ruleset(msgpack_packer *pk, const struct acl_ruleset *rs)
{
	size_t	 i;

	msgpack_pack_array(pk, rs->n);
	for (i = 0; i < rs->n; i++) {
		msgpack_pack_array(pk, 2);
		mpack_str(pk, rs->v[i].name);
		msgpack_pack_uint8(pk, rs->v[i].level);
	}
}

void
acl_authz_pack(msgpack_packer *pk, const struct acl_authz *a)
{
	size_t	 i;

	msgpack_pack_array(pk, 5);
	msgpack_pack_uint8(pk, a->management != 0);
	msgpack_pack_uint8(pk, a->default_allow != 0);
	msgpack_pack_array(pk, ACL_RES_NAMED);
	for (i = 0; i < ACL_RES_NAMED; i++) {
		msgpack_pack_array(pk, 2);
		if (a->rules != NULL) {
			pack_ruleset(pk, &a->rules->exact[i]);
			pack_ruleset(pk, &a->rules->prefix[i]);
		} else {
			msgpack_pack_array(pk, 0);
			msgpack_pack_array(pk, 0);
		}
	}
	msgpack_pack_array(pk, ACL_RES_MAX - ACL_RES_NAMED);
	for (i = 0; i < ACL_RES_MAX - ACL_RES_NAMED; i++)
		msgpack_pack_uint8(pk, a->rules != NULL ?
		    a->rules->single[i] : ACL_LEVEL_NONE);
	mpack_str(pk, a->accessor);
}

static int
unpack_ruleset(const msgpack_object *o, struct acl_rules *r,
    enum acl_resource res, int prefix)
{
	const msgpack_object	*e;
	char			 name[ACL_STR_MAX + 1];
	uint64_t		 level;
	uint32_t		 i;

	if (o->type != MSGPACK_OBJECT_ARRAY ||
	    o->via.array.size > ACL_AUTHZ_RULES_MAX)
		return -1;
	for (i = 0; i < o->via.array.size; i++) {
		e = &o->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_ARRAY ||
		    e->via.array.size != 2 ||
		    mpack_copy_str(&e->via.array.ptr[0], name,
		    sizeof(name)) == -1 ||
		    mpack_get_uint(&e->via.array.ptr[1], &level) == -1 ||
		    level > ACL_LEVEL_DENY ||
		    acl_rules_add(r, res, prefix, name, level) == -1)
			return -1;
	}
	return 0;
}

int
acl_authz_unpack(const msgpack_object *o, struct acl_authz *a)
{
	const msgpack_object	*v, *n, *s;
	uint64_t		 m, d, level;
	uint32_t		 i;

	memset(a, 0, sizeof(*a));
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 5)
		return -1;
	v = o->via.array.ptr;
	n = &v[2];
	s = &v[3];
	/* The AccessorID, for the detailed 403; "" for none. */
	if (mpack_copy_str(&v[4], a->accessor, sizeof(a->accessor)) == -1)
		return -1;
	if (mpack_get_uint(&v[0], &m) == -1 || m > 1 ||
	    mpack_get_uint(&v[1], &d) == -1 || d > 1 ||
	    n->type != MSGPACK_OBJECT_ARRAY ||
	    n->via.array.size != ACL_RES_NAMED ||
	    s->type != MSGPACK_OBJECT_ARRAY ||
	    s->via.array.size != ACL_RES_MAX - ACL_RES_NAMED)
		return -1;
	a->management = (int)m;
	a->default_allow = (int)d;
	if ((a->rules = acl_rules_new()) == NULL)
		return -1;
	for (i = 0; i < ACL_RES_NAMED; i++) {
		v = &n->via.array.ptr[i];
		if (v->type != MSGPACK_OBJECT_ARRAY ||
		    v->via.array.size != 2 ||
		    unpack_ruleset(&v->via.array.ptr[0], a->rules, i,
		    0) == -1 ||
		    unpack_ruleset(&v->via.array.ptr[1], a->rules, i,
		    1) == -1)
			goto bad;
	}
	for (i = 0; i < ACL_RES_MAX - ACL_RES_NAMED; i++)
		if (mpack_get_uint(&s->via.array.ptr[i], &level) == -1 ||
		    level > ACL_LEVEL_DENY || acl_rules_add(a->rules,
		    ACL_RES_NAMED + i, 0, NULL, level) == -1)
			goto bad;
	acl_rules_compile(a->rules);
	return 0;
 bad:
	acl_rules_free(a->rules);
	a->rules = NULL;
	return -1;
}
