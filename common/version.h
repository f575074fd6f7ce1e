/*
 * The version we report.  CONSUL_COMPAT is the Consul release whose
 * behaviour we follow; clients that branch on versions see it in
 * /v1/agent/self and in member tags.
 */
#ifndef CONSULD_VERSION_H
#define CONSULD_VERSION_H

#define CONSULD_VERSION		"0.1.0"
#define CONSUL_COMPAT_VERSION	"1.17.0"
#define CONSULD_REVISION	"consuld"
#define CONSULD_BUILD_DATE	"2026-12-01T00:00:00Z"

#endif
