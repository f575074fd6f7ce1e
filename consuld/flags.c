/*
 * consuld's command line, in Consul's habits (Go's flag package: -flag,
 * --flag, -flag=value, -flag value; booleans take =true or =false) plus
 * OpenBSD's -d and -n.  Flags that set a configuration key are kept as
 * settings applied after every file, so they win; -config-file and
 * -config-dir are kept as sources in command-line order.
 */
#include <err.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consuld.h"

enum flag_kind {
	FLAG_BOOL,		/* sets a boolean key */
	FLAG_VALUE,		/* sets a key from the value */
	FLAG_SOURCE_FILE,
	FLAG_SOURCE_DIR,
	FLAG_DEV,
	FLAG_FOREGROUND,
	FLAG_CONFIGTEST,
	FLAG_HELP
};

struct flag {
	const char	*name;
	enum flag_kind	 kind;
	const char	*key;
};

static const struct flag flags[] = {
	{ "d",			FLAG_FOREGROUND,	NULL },
	{ "n",			FLAG_CONFIGTEST,	NULL },
	{ "h",			FLAG_HELP,		NULL },
	{ "help",		FLAG_HELP,		NULL },
	{ "dev",		FLAG_DEV,		NULL },
	{ "config-file",	FLAG_SOURCE_FILE,	NULL },
	{ "config-dir",		FLAG_SOURCE_DIR,	NULL },
	{ "server",		FLAG_BOOL,		"server" },
	{ "bootstrap",		FLAG_BOOL,		"bootstrap" },
	{ "ui",			FLAG_BOOL,		"ui_config.enabled" },
	{ "bootstrap-expect",	FLAG_VALUE,		"bootstrap_expect" },
	{ "data-dir",		FLAG_VALUE,		"data_dir" },
	{ "node",		FLAG_VALUE,		"node_name" },
	{ "node-id",		FLAG_VALUE,		"node_id" },
	{ "datacenter",		FLAG_VALUE,		"datacenter" },
	{ "bind",		FLAG_VALUE,		"bind_addr" },
	{ "advertise",		FLAG_VALUE,		"advertise_addr" },
	{ "advertise-wan",	FLAG_VALUE,		"advertise_addr_wan" },
	{ "client",		FLAG_VALUE,		"client_addr" },
	{ "join",		FLAG_VALUE,		"retry_join" },
	{ "retry-join",		FLAG_VALUE,		"retry_join" },
	{ "join-wan",		FLAG_VALUE,		"retry_join_wan" },
	{ "retry-join-wan",	FLAG_VALUE,		"retry_join_wan" },
	{ "retry-interval",	FLAG_VALUE,		"retry_interval" },
	{ "retry-interval-wan",	FLAG_VALUE,		"retry_interval_wan" },
	{ "retry-max",		FLAG_VALUE,		"retry_max" },
	{ "retry-max-wan",	FLAG_VALUE,		"retry_max_wan" },
	{ "rejoin",		FLAG_BOOL,		"rejoin_after_leave" },
	{ "enable-script-checks", FLAG_BOOL,	"enable_script_checks" },
	{ "enable-local-script-checks", FLAG_BOOL,
				"enable_local_script_checks" },
	{ "encrypt",		FLAG_VALUE,		"encrypt" },
	{ "log-level",		FLAG_VALUE,		"log_level" },
	{ "http-port",		FLAG_VALUE,		"ports.http" },
	{ "https-port",		FLAG_VALUE,		"ports.https" },
	{ "dns-port",		FLAG_VALUE,		"ports.dns" },
	{ "serf-lan-port",	FLAG_VALUE,		"ports.serf_lan" },
	{ "serf-wan-port",	FLAG_VALUE,		"ports.serf_wan" },
	{ "server-port",	FLAG_VALUE,		"ports.server" },
	{ "domain",		FLAG_VALUE,		"domain" },
	{ "alt-domain",		FLAG_VALUE,		"alt_domain" },
	{ "recursor",		FLAG_VALUE,		"recursors" },
	{ "pid-file",		FLAG_VALUE,		"pid_file" },
	{ "user",		FLAG_VALUE,		"user" },
};

void
flags_usage(void)
{
	fprintf(stderr,
	    "usage: consuld [-d] [-n] [-dev] [-server] [-bootstrap]\n"
	    "               [-bootstrap-expect=N] [-config-file=FILE]...\n"
	    "               [-config-dir=DIR]... [-data-dir=DIR] [-node=NAME]\n"
	    "               [-datacenter=DC] [-bind=ADDR] [-advertise=ADDR]\n"
	    "               [-client=ADDR] [-join=ADDR]... [-retry-join=ADDR]...\n"
	    "               [-join-wan=ADDR]... [-retry-interval=DUR]\n"
	    "               [-retry-max=N] [-rejoin] [-encrypt=KEY] [-ui]\n"
	    "               [-log-level=LEVEL] [-http-port=N] [-dns-port=N]\n"
	    "               [-serf-lan-port=N] [-serf-wan-port=N]\n"
	    "               [-server-port=N]\n"
	    "see consuld(8) for every flag\n");
	exit(1);
}

static const struct flag *
flag_find(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strlen(flags[i].name) == len &&
		    strncmp(flags[i].name, name, len) == 0)
			return &flags[i];
	}
	return NULL;
}

static int
flag_bool(const char *name, const char *value)
{
	if (value == NULL || strcmp(value, "true") == 0 ||
	    strcmp(value, "1") == 0)
		return 1;
	if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
		return 0;
	errx(1, "invalid boolean value \"%s\" for -%s", value, name);
}

/*
 * Sources are read again on SIGHUP, when a daemon's working directory is
 * "/": keep them absolute.
 */
char *
absolute_path(const char *path)
{
	char	 cwd[PATH_MAX], *abs;

	if (path[0] == '/') {
		if ((abs = strdup(path)) == NULL)
			err(1, NULL);
		return abs;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		err(1, "getcwd");
	if (asprintf(&abs, "%s/%s", cwd, path) == -1)
		err(1, NULL);
	return abs;
}

static void
add_source(struct options *o, enum source_kind kind, const char *path)
{
	o->sources = reallocarray(o->sources, o->nsources + 1,
	    sizeof(*o->sources));
	if (o->sources == NULL)
		err(1, NULL);
	o->sources[o->nsources].kind = kind;
	o->sources[o->nsources].path = absolute_path(path);
	o->nsources++;
}

static void
add_setting(struct options *o, const char *key, const char *value,
    const char *origin)
{
	o->settings = reallocarray(o->settings, o->nsettings + 1,
	    sizeof(*o->settings));
	if (o->settings == NULL)
		err(1, NULL);
	o->settings[o->nsettings].key = key;
	o->settings[o->nsettings].value = value;
	o->settings[o->nsettings].origin = origin;
	o->nsettings++;
}

void
flags_parse(struct options *o, int argc, char **argv)
{
	const struct flag	*f;
	const char		*arg, *name, *eq, *value;
	size_t			 namelen;
	int			 i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (arg[0] != '-' || arg[1] == '\0')
			errx(1, "unexpected argument \"%s\"", arg);
		if (strcmp(arg, "--") == 0) {
			if (i + 1 < argc)
				errx(1, "unexpected argument \"%s\"",
				    argv[i + 1]);
			break;
		}
		name = arg + 1;
		if (*name == '-')
			name++;
		eq = strchr(name, '=');
		namelen = eq ? (size_t)(eq - name) : strlen(name);
		value = eq ? eq + 1 : NULL;
		if ((f = flag_find(name, namelen)) == NULL)
			errx(1, "flag provided but not defined: -%.*s",
			    (int)namelen, name);

		if (f->kind != FLAG_BOOL && f->kind != FLAG_DEV &&
		    f->kind != FLAG_FOREGROUND && f->kind != FLAG_CONFIGTEST &&
		    f->kind != FLAG_HELP && value == NULL) {
			if (i + 1 >= argc)
				errx(1, "flag needs an argument: -%s",
				    f->name);
			value = argv[++i];
		}

		switch (f->kind) {
		case FLAG_BOOL:
			add_setting(o, f->key,
			    flag_bool(f->name, value) ? "true" : "false",
			    arg);
			break;
		case FLAG_VALUE:
			add_setting(o, f->key, value, arg);
			break;
		case FLAG_SOURCE_FILE:
			add_source(o, SOURCE_FILE, value);
			break;
		case FLAG_SOURCE_DIR:
			add_source(o, SOURCE_DIR, value);
			break;
		case FLAG_DEV:
			o->dev = flag_bool(f->name, value);
			break;
		case FLAG_FOREGROUND:
			o->foreground = flag_bool(f->name, value);
			break;
		case FLAG_CONFIGTEST:
			o->configtest = flag_bool(f->name, value);
			break;
		case FLAG_HELP:
			flags_usage();
		}
	}
	/* Like `consul agent -dev`, a dev agent stays in the foreground. */
	if (o->dev)
		o->foreground = 1;
}
