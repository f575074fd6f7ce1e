/*
 * The agent's own services and checks (what /v1/agent/service/register
 * and /v1/agent/check/register take, and the service and check blocks
 * of the configuration) as they go from apid to raftd and into raftd's
 * data_dir/agent/local.state: a catalog record plus how to run it.
 * Packed as MessagePack maps; unpack checks everything and leaves
 * nothing allocated on error.
 */
#ifndef CONSULD_AGENT_CODEC_H
#define CONSULD_AGENT_CODEC_H

#include "catalog_codec.h"

/* What kind of check: how its status comes about. */
enum agent_check_kind {
	AGENT_CHECK_TTL = 1,	/* pushed by pass/warn/fail/update */
	AGENT_CHECK_HTTP,
	AGENT_CHECK_TCP,
	AGENT_CHECK_SCRIPT,
	AGENT_CHECK_MAINT	/* maintenance mode: critical while set */
};

struct agent_check {
	/* node, service_name and the indexes are not used here. */
	struct cat_check	 c;
	int			 kind;		/* enum agent_check_kind */
	int64_t			 ttl_ms;
	int64_t			 interval_ms;
	int64_t			 timeout_ms;
	int64_t			 dereg_after_ms;	/* 0: never */
	char			*method;
	struct cat_kv		*headers;
	size_t			 nheaders;
	char			*body;
	int			 tls_skip_verify;
	char		       **args;		/* script checks */
	size_t			 nargs;
	int64_t			 success_before_passing;
	int64_t			 failures_before_warning;
	int64_t			 failures_before_critical;
	int			 from_config;
};

struct agent_service {
	/* node and the indexes are not used here. */
	struct cat_service	 s;
	int			 from_config;
};

void	 agent_check_pack(msgpack_packer *, const struct agent_check *);
int	 agent_check_unpack(const msgpack_object *, struct agent_check *);
void	 agent_check_free(struct agent_check *);

void	 agent_service_pack(msgpack_packer *, const struct agent_service *);
int	 agent_service_unpack(const msgpack_object *, struct agent_service *);
void	 agent_service_free(struct agent_service *);

#endif
