/*
 * consulctl's entry point: find the command in the table and run it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consulctl.h"

static const struct command commands[] = {
	{ "info", "Provides debugging information for operators.",
	    cmd_info },
	{ "keygen", "Generates a new encryption key", cmd_keygen },
	{ "validate", "Validate config files/directories", cmd_validate },
	{ "version", "Prints the Consul version", cmd_version },
};

static void
usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "Usage: consulctl [--version] [--help] <command> "
	    "[<args>]\n\nAvailable commands are:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "    %-18s %s\n", commands[i].name,
		    commands[i].synopsis);
}

int
main(int argc, char *argv[])
{
	size_t	 i;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0 ||
	    strcmp(argv[1], "-version") == 0)
		return cmd_version(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "-help") == 0) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, argv[1]) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "Unknown command: \"%s\"\n\n", argv[1]);
	usage(stderr);
	return 127;
}
