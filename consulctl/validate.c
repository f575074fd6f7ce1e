/*
 * consulctl validate: load configuration files and directories exactly
 * as the agent would, without starting anything.
 */
#include <sys/stat.h>

#include <stdio.h>

#include "config.h"
#include "consulctl.h"

static int	 validate_quiet;

static void
validate_report(int warning, const char *msg)
{
	if (warning && validate_quiet)
		return;
	fprintf(stderr, "%s%s\n", warning ? "Warning: " : "", msg);
}

int
cmd_validate(int argc, char **argv)
{
	const struct cflag	 flags[] = {
		{ "quiet", CFLAG_BOOL, &validate_quiet },
	};
	struct config		*conf;
	struct stat		 sb;
	int			 i, first, rc = 0;

	first = cflags_parse("validate", flags, 1, NULL, argc, argv);
	if (first == -1)
		return 1;
	if (first == argc) {
		fprintf(stderr, "Must specify at least one config file or "
		    "directory\n");
		return 1;
	}
	config_set_reporter(validate_report);
	if ((conf = config_new(0)) == NULL)
		return 1;
	for (i = first; i < argc && rc == 0; i++) {
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			rc = config_load_dir(conf, argv[i]);
		else
			rc = config_load_file(conf, argv[i]);
	}
	if (rc == 0)
		rc = config_finalize(conf);
	config_free(conf);
	if (rc != 0) {
		fprintf(stderr, "Config validation failed: see the errors "
		    "above\n");
		return 1;
	}
	if (!validate_quiet)
		printf("Configuration is valid!\n");
	return 0;
}
