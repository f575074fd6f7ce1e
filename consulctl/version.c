/*
 * consulctl version: what we are and which Consul we follow.
 */
#include <stdio.h>

#include "consulctl.h"
#include "version.h"

int
cmd_version(int argc, char **argv)
{
	if (cflags_parse("version", NULL, 0, NULL, argc, argv) != argc) {
		fprintf(stderr, "Usage: consulctl version\n");
		return 1;
	}
	printf("Consul v%s\n", CONSUL_COMPAT_VERSION);
	printf("Revision %s %s\n", CONSULD_REVISION, CONSULD_VERSION);
	printf("Build Date %s\n", CONSULD_BUILD_DATE);
	printf("Protocol 2 spoken by default, understands 2 to 3 (agent "
	    "will automatically use protocol >2 when speaking to compatible "
	    "agents)\n");
	return 0;
}
