/*
 * The catalog's types (nodes, services, checks) as they cross processes
 * (apid <-> raftd imsgs, forwarded between agents) and live in the Raft
 * log and raftd's catalog tables, with their MessagePack codecs.
 *
 * Every string is NUL-terminated and at most CAT_STR_MAX bytes (output
 * CAT_OUTPUT_MAX, notes CAT_NOTES_MAX); lists and maps are bounded by
 * CAT_LIST_MAX entries.  An unpack checks everything (the bytes may come
 * from another machine) and on error leaves nothing allocated.  NULL
 * strings pack as nil and unpack as NULL; an empty list is n == 0 with
 * the pointer NULL.  Fields are packed as maps keyed by short names, so
 * later fields can be added without a new format.
 */
#ifndef CONSULD_CATALOG_CODEC_H
#define CONSULD_CATALOG_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "mpack.h"

#define CAT_STR_MAX		1024		/* names, ids, addresses */
#define CAT_NOTES_MAX		(16 * 1024)
#define CAT_OUTPUT_MAX		(64 * 1024)	/* a check's output */
#define CAT_LIST_MAX		512		/* tags, meta, checks */

/* A string to string map entry: node meta, service meta, tagged addrs. */
struct cat_kv {
	char			*key;
	char			*value;
};

/* A service's tagged address: "lan_ipv4" -> {Address, Port}. */
struct cat_taddr {
	char			*name;
	char			*address;
	uint64_t		 port;
};

struct cat_node {
	char			*node;		/* the name; required */
	char			*id;		/* node id (UUID) or NULL */
	char			*address;	/* required */
	char			*datacenter;
	struct cat_kv		*tagged;	/* TaggedAddresses */
	size_t			 ntagged;
	struct cat_kv		*meta;		/* Meta */
	size_t			 nmeta;
	uint64_t		 create_index;
	uint64_t		 modify_index;
};

struct cat_service {
	char			*node;		/* the node it is on; required */
	char			*id;		/* required */
	char			*service;	/* the name; required */
	char			*kind;		/* "" / NULL for a typical one */
	char			*address;	/* NULL: the node's */
	char		       **tags;
	size_t			 ntags;
	struct cat_taddr	*tagged;
	size_t			 ntagged;
	struct cat_kv		*meta;
	size_t			 nmeta;
	uint64_t		 port;		/* <= 65535 */
	int64_t			 weight_passing;	/* default 1 */
	int64_t			 weight_warning;	/* default 1 */
	int			 enable_tag_override;
	uint64_t		 create_index;
	uint64_t		 modify_index;
};

/* Check statuses, as their names. */
#define CAT_PASSING		"passing"
#define CAT_WARNING		"warning"
#define CAT_CRITICAL		"critical"

struct cat_check {
	char			*node;		/* required */
	char			*check_id;	/* required */
	char			*name;		/* required */
	char			*status;	/* one of the three; required */
	char			*notes;
	char			*output;
	char			*service_id;	/* NULL: a node check */
	char			*service_name;
	char		       **service_tags;
	size_t			 nservice_tags;
	char			*type;		/* "http", "ttl", ... or NULL */
	char			*interval;	/* Go durations, as given */
	char			*timeout;
	char			*http;		/* Definition.HTTP */
	char			*tcp;		/* Definition.TCP */
	uint64_t		 create_index;
	uint64_t		 modify_index;
};

/*
 * PUT /v1/catalog/register: a node, maybe one service on it, and checks
 * (of the node, or of that service, or of another service on the node).
 */
struct cat_register {
	struct cat_node		 node;
	int			 skip_node_update;
	struct cat_service	*service;	/* NULL: none */
	struct cat_check	*checks;
	size_t			 nchecks;
};

/*
 * PUT /v1/catalog/deregister: the node and everything on it, or one of
 * its services (and that service's checks), or one check.
 */
struct cat_deregister {
	char			*node;
	char			*service_id;	/* NULL */
	char			*check_id;	/* NULL */
};

/*
 * A session (/v1/session/create): its checks must stay healthy and its
 * TTL renewed, or it is invalidated and the KV locks it holds are
 * released or their keys deleted (behavior).  LockDelay is kept as
 * given, in nanoseconds; TTL as the duration string given ("" none).
 */
#define CAT_SESSION_RELEASE	"release"
#define CAT_SESSION_DELETE	"delete"

struct cat_session {
	char			*id;		/* UUID; required */
	char			*name;
	char			*node;		/* required */
	char			*behavior;	/* release|delete; required */
	char			*ttl;		/* "" or "30s" */
	uint64_t		 lock_delay;	/* ns */
	char		       **node_checks;
	size_t			 nnode_checks;
	char		       **service_checks;
	size_t			 nservice_checks;
	uint64_t		 create_index;
	uint64_t		 modify_index;
};

/*
 * A prepared query (/v1/query): its definition is kept as the JSON apid
 * made of it (apid parses it again when it reads it); raftd knows its
 * name, unique among queries, and the session that owns it, if any.
 */
#define CAT_PQUERY_DEF_MAX	(64 * 1024)

struct cat_pquery {
	char			*id;		/* UUID; required */
	char			*name;		/* "" or NULL: none */
	char			*session;
	char			*def;		/* JSON; required */
	char			*token;		/* "": the caller's */
	uint64_t		 create_index;
	uint64_t		 modify_index;
};

int	 cat_status_valid(const char *);

void	 cat_node_pack(msgpack_packer *, const struct cat_node *);
int	 cat_node_unpack(const msgpack_object *, struct cat_node *);
void	 cat_node_free(struct cat_node *);

void	 cat_service_pack(msgpack_packer *, const struct cat_service *);
int	 cat_service_unpack(const msgpack_object *, struct cat_service *);
void	 cat_service_free(struct cat_service *);

void	 cat_check_pack(msgpack_packer *, const struct cat_check *);
int	 cat_check_unpack(const msgpack_object *, struct cat_check *);
void	 cat_check_free(struct cat_check *);

void	 cat_register_pack(msgpack_packer *, const struct cat_register *);
int	 cat_register_unpack(const msgpack_object *, struct cat_register *);
void	 cat_register_free(struct cat_register *);

void	 cat_session_pack(msgpack_packer *, const struct cat_session *);
int	 cat_session_unpack(const msgpack_object *, struct cat_session *);
void	 cat_session_free(struct cat_session *);

void	 cat_pquery_pack(msgpack_packer *, const struct cat_pquery *);
int	 cat_pquery_unpack(const msgpack_object *, struct cat_pquery *);
void	 cat_pquery_free(struct cat_pquery *);

void	 cat_deregister_pack(msgpack_packer *, const struct cat_deregister *);
int	 cat_deregister_unpack(const msgpack_object *,
	    struct cat_deregister *);
void	 cat_deregister_free(struct cat_deregister *);

#endif
