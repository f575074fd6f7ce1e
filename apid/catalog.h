/*
 * What apid/catalog.c and apid/health.c share: catalog reads, their
 * filters, and the JSON shapes of catalog records.
 */
#ifndef CONSULD_APID_CATALOG_H
#define CONSULD_APID_CATALOG_H

#include <jansson.h>

#include "apid.h"
#include "catalog_codec.h"
#include "filter.h"

#define CAT_FILTERS_MAX		64

/* ?tag and ?node-meta=key:value, repeatable: all must match. */
struct cat_filters {
	char		*tags[CAT_FILTERS_MAX];
	size_t		 ntags;
	char		*meta_k[CAT_FILTERS_MAX];
	char		*meta_v[CAT_FILTERS_MAX];
	size_t		 nmeta;
};

/* What a read's request keeps until raftd's answer is in. */
struct cat_req {
	int			 query;		/* enum cat_query */
	struct cat_filters	 f;
	struct filter		*filter;	/* ?filter, or NULL */
	int			 costly;	/* it ran out of budget */
	json_t			*node;		/* CAT_Q_NODE */
	int			 list;		/* node-services: a list */
	int			 passing;	/* health/service?passing */
	char			*near;		/* ?near: sort by RTT from it */
	int			 consistency;
};

void	 cat_read(struct evhttp_request *, struct query *, int,
	    const char *, int);
void	 cat_read_passing(struct evhttp_request *, struct query *, int,
	    const char *, int, int);
int	 node_matches(const struct cat_filters *, const struct cat_node *);
int	 service_matches(const struct cat_filters *,
	    const struct cat_service *);
json_t	*node_json(const struct cat_node *);
json_t	*node_service_json(const struct cat_service *);
json_t	*strs_json(char **, size_t);
int	 query_filter(struct evhttp_request *, struct query *,
	    const struct filter_field *, struct filter **);

/* cat_rpc.c */
#define CAT_WRITE_EMPTY		0x01	/* success is "", not true */
#define CAT_WRITE_REFUSAL_400	0x02	/* a state refusal is the client's */

struct mpack_out;
json_t	*http_body_object(struct evhttp_request *, size_t, int);
json_t	*json_member_ci(json_t *, const char *);
void	 cat_write_send(struct evhttp_request *, int, struct mpack_out *,
	    const char *, int);
void	 cat_read_send(struct request *, int, const char *, uint64_t,
	    uint64_t, int, uint64_t);
void	 cat_read_send_as(struct request *, const char *, int, const char *,
	    uint64_t, uint64_t, int, uint64_t);

/* health.c: one item of a CAT_Q_HEALTH_* answer, or NULL to skip it. */
json_t	*health_item(struct cat_req *, const msgpack_object *);

#endif
