/*
 * raftd <-> checkd: the checks checkd runs (http and tcp) and what they
 * find.  raftd owns the agent's checks and their status; checkd only
 * probes, each check on its own interval, and reports every result.
 *
 * IMSG_CHECK_SET (raftd -> checkd), a msgpack map; a SET for an id that
 * runs replaces it (and probes at once):
 *	"id"		str, the CheckID (at most CHECK_ID_MAX bytes)
 *	"type"		uint, enum check_type
 *	"target"	str: the URL (http) or "host:port" (tcp)
 *	"method"	str, http only ("GET" when empty)
 *	"headers"	[[name, value]...], http only, at most CHECK_HEADERS_MAX
 *	"body"		str or nil, http only
 *	"tls_skip_verify" bool, https only
 *	"interval_ms"	uint, >= CHECK_INTERVAL_MIN_MS
 *	"timeout_ms"	uint, > 0
 *	"output_max"	uint, bytes of output kept (CHECK_OUTPUT_DEFAULT)
 * IMSG_CHECK_DEL (raftd -> checkd): msgpack {"id": str}; unknown ids
 *	are ignored.
 * IMSG_CHECK_RESULT (checkd -> raftd): msgpack {"id": str, "status":
 *	"passing" | "warning" | "critical", "output": str}.
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
#define CHECK_RUNNING_MAX	4096	/* checks checkd runs at once */

enum check_type {
	CHECK_TYPE_HTTP = 1,
	CHECK_TYPE_TCP
};

#endif
