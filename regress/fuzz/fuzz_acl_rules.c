/*
 * libFuzzer target for the ACL rules parser, which reads policy text
 * from HTTP request bodies and from the replicated state.  A refused
 * text must say where with "line L, column C: "; an accepted one must
 * answer lookups for the names it mentions and for a few fixed ones,
 * the same after merging into an empty set, and free cleanly.
 *
 * run.sh links a fixed list of common sources, so acl_rules.c is
 * compiled in here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/acl_rules.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *names[] = { "", "a", "app/", "app/x", "web", "n1" };

static void
check_same(const struct acl_rules *a, const struct acl_rules *b)
{
	struct acl_authz	 za = { (struct acl_rules *)a, 0, 0, "" };
	struct acl_authz	 zb = { (struct acl_rules *)b, 0, 1, "" };
	size_t			 i, j, k;
	int			 ra, rb;

	for (i = 0; i < ACL_RES_MAX; i++) {
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			if (acl_rules_lookup(a, i, names[j]) !=
			    acl_rules_lookup(b, i, names[j]))
				abort();
			ra = acl_allowed(&za, i, names[j], ACL_LEVEL_READ);
			rb = acl_allowed(&zb, i, names[j], ACL_LEVEL_READ);
			if (acl_rules_lookup(a, i, names[j]) !=
			    ACL_LEVEL_NONE && ra != rb)
				abort();
		}
		if (i >= ACL_RES_NAMED)
			continue;
		for (k = 0; k < a->exact[i].n; k++)
			if (acl_rules_lookup(b, i, a->exact[i].v[k].name) !=
			    a->exact[i].v[k].level)
				abort();
	}
	(void)acl_key_write_prefix_allowed(&za, "app/");
	(void)acl_key_write_prefix_allowed(&zb, "");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acl_rules	*r, *m;
	char			 err[ACL_RULES_ERR_MAX];

	if ((r = acl_rules_new()) == NULL)
		return 0;
	memset(err, 'x', sizeof(err));
	if (acl_rules_parse(r, (const char *)data, size, err,
	    sizeof(err)) == -1) {
		if (memchr(err, '\0', sizeof(err)) == NULL ||
		    strncmp(err, "line ", 5) != 0 ||
		    strstr(err, ", column ") == NULL)
			abort();
		acl_rules_free(r);
		return 0;
	}
	if ((m = acl_rules_new()) != NULL) {
		if (acl_rules_merge(m, r) == 0) {
			acl_rules_compile(m);
			check_same(r, m);
		}
		acl_rules_free(m);
	}
	acl_rules_free(r);
	return 0;
}
