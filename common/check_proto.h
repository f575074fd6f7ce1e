/*
 * raftd <-> checkd: the checks checkd runs (http, tcp and script) and
 * what they find.  raftd owns the agent's checks and their status;
 * checkd only probes, each check on its own interval, and reports every
 * result.
 *
 * IMSG_CHECK_SET (raftd -> checkd for http and tcp, parent -> checkd for
 * script), a msgpack map; a SET for an id that runs replaces it (and
 * probes at once):
 *	"id"		str, the CheckID (at most CHECK_ID_MAX bytes)
 *	"type"		uint, enum check_type
 *	"target"	str: the URL (http), "host:port" (tcp), "" (script)
 *	"method"	str, http only ("GET" when empty)
 *	"headers"	[[name, value]...], http only, at most CHECK_HEADERS_MAX
 *	"body"		str or nil, http only
 *	"tls_skip_verify" bool, https only
 *	"interval_ms"	uint, >= CHECK_INTERVAL_MIN_MS
 *	"timeout_ms"	uint, > 0
 *	"output_max"	uint, bytes of output kept (CHECK_OUTPUT_DEFAULT)
 * IMSG_CHECK_DEL (same senders): msgpack {"id": str}; unknown ids are
 *	ignored, and so is an id that the other sender set: raftd deletes
 *	only http and tcp checks, the parent only script checks.
 * IMSG_CHECK_RESULT (checkd -> raftd): msgpack {"id": str, "status":
 *	"passing" | "warning" | "critical", "output": str}.
 *
 * Script checks are exec'd by the parent, the only process that may,
 * and only what raftd registered with it:
 * IMSG_SCRIPT_SET (raftd -> parent), msgpack map:
 *	"id"		str, the CheckID
 *	"args"		[str...], argv: 1 to SCRIPT_ARGS_MAX strings
 *			of at most SCRIPT_ARG_MAX bytes, no NUL
 *	"local"		bool, the check comes from a configuration file
 *	"interval_ms", "timeout_ms", "output_max"  as for IMSG_CHECK_SET
 *	The parent keeps it and passes the schedule on to checkd as an
 *	IMSG_CHECK_SET of type CHECK_TYPE_SCRIPT.
 * IMSG_SCRIPT_DEL (raftd -> parent): msgpack {"id": str}; passed on to
 *	checkd as IMSG_CHECK_DEL.
 * IMSG_SCRIPT_RUN (checkd -> parent): msgpack {"id": str}; peerid =
 *	checkd's number for this run.
 * IMSG_SCRIPT_RESULT (parent -> checkd): msgpack {"status": "passing" |
 *	"warning" | "critical", "output": str (any bytes, at most
 *	SCRIPT_RESULT_MAX)}; peerid = the run's.
 */
#ifndef CONSULD_CHECK_PROTO_H
#define CONSULD_CHECK_PROTO_H

#define CHECK_ID_MAX		1024
#define CHECK_TARGET_MAX	4096
#define CHECK_HEADERS_MAX	64
#define CHECK_BODY_MAX		(64 * 1024)
#define CHECK_OUTPUT_DEFAULT	4096
#define CHECK_OUTPUT_MAX	(64 * 1024)
#define CHECK_INTERVAL_MIN_MS	100
#define CHECK_TIMEOUT_DEFAULT_MS 10000	/* a check without a timeout */
#define CHECK_RUNNING_MAX	4096	/* checks checkd runs at once */
#define SCRIPT_ARGS_MAX		512
#define SCRIPT_ARG_MAX		1024
/* A script's output and one line about it (timeout, truncation). */
#define SCRIPT_RESULT_MAX	(CHECK_OUTPUT_MAX + 256)

enum check_type {
	CHECK_TYPE_HTTP = 1,
	CHECK_TYPE_TCP,
	CHECK_TYPE_SCRIPT
};

#endif
