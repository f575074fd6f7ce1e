/*
 * raftd -> dnsd: the health view dnsd answers DNS queries from, pushed
 * as it changes (raftd/dnsfeed.c), so that a query never waits for
 * another process.  A full copy comes first, then only the nodes that
 * changed; every message is MessagePack and uses the catalog codecs
 * (catalog_codec.h):
 *
 * IMSG_DNS_BEGIN	[]: a full copy of the view follows; what dnsd holds
 *			goes once the copy's IMSG_DNS_END arrives (until then
 *			it keeps answering from the old one).
 * IMSG_DNS_NODE	[packed cat_node, node status, [instance...]], an
 *			instance being [packed cat_service, status].  It
 *			replaces the node and every instance on it.  The
 *			node status aggregates the node's own checks (the
 *			serfHealth check among them); an instance's status
 *			aggregates the node's checks and its own: "passing",
 *			"warning" or "critical" (the worst one; "passing"
 *			when there are none).
 * IMSG_DNS_NODE_DEL	str: the node is gone, with its instances.
 * IMSG_DNS_QUERY	packed cat_pquery: a prepared query, new or changed
 *			(its definition is the JSON apid/query.c stores).
 * IMSG_DNS_QUERY_DEL	str: the prepared query with that ID is gone.
 * IMSG_DNS_END		[index, datacenter]: the copy or the batch of
 *			changes is complete, as of the catalog's index.  It
 *			is also sent when nothing changed, each time raftd
 *			has confirmed that its view is current: dnsd may
 *			treat a view whose last IMSG_DNS_END is older than
 *			dns_config.max_stale as unusable (SERVFAIL).
 *			[index, datacenter, true]: the servers do not know
 *			the DNS token ("ACL not found"): the view is
 *			unusable (SERVFAIL, as Consul answers when the
 *			token fails its lookups) until the next
 *			IMSG_DNS_END without it.
 *
 * Every node, service and instance is bounded as catalog_codec.h says;
 * a message is at most IMSG_MAX_DATA bytes (instances beyond that are
 * left out, with a warning in raftd's log).  dnsd answers nothing from
 * the view before the first IMSG_DNS_END.
 *
 * Names of another datacenter (<name>.service.<dc>.<domain> and the
 * like) are not in the view: dnsd asks raftd for them each time its
 * short-lived cache has no answer (dnsd/remote.c).  IMSG_DNS_REMOTE_REQ
 * [datacenter, kind, name] is a ?stale read in that datacenter, over
 * the ?dc= forwarding path (raftd/dnsremote.c):
 *
 * DNS_REMOTE_SERVICE	name: a service.  Items: IMSG_DNS_NODE's
 *			encoding, for each node with an instance of it.
 * DNS_REMOTE_NODE	name: a node.  Item: the node, the same way.
 * DNS_REMOTE_QUERIES	name "": every prepared query, as IMSG_DNS_QUERY.
 * DNS_REMOTE_DCS	datacenter: this one, name "": not read there but
 *			here, catalog/datacenters' list (str items, nearest
 *			first by WAN RTT), for Failover.NearestN.
 * DNS_REMOTE_QUERY_SERVICE	name "<query ID>/<service>": as
 *			DNS_REMOTE_SERVICE, as the query's own Token may
 *			read it (a query whose item in the view has a
 *			Token; the datacenter may be this one).
 *
 * IMSG_DNS_REMOTE_END [outcome, error] ends it: DNS_REMOTE_OK, or
 * DNS_REMOTE_NO_DC (no server of that datacenter was ever seen:
 * NXDOMAIN) or DNS_REMOTE_FAILED (known but not reachable, or the read
 * failed: SERVFAIL).  The items come from another datacenter: dnsd
 * answers SERVFAIL, and drops the answer, for any it cannot use.
 */
#ifndef CONSULD_DNS_PROTO_H
#define CONSULD_DNS_PROTO_H

#define DNS_STATUS_PASSING	"passing"
#define DNS_STATUS_WARNING	"warning"
#define DNS_STATUS_CRITICAL	"critical"

/* A prepared query's Token as dnsd sees it: only that there is one. */
#define DNS_QUERY_HAS_TOKEN	"-"

enum dns_remote_kind {
	DNS_REMOTE_SERVICE,
	DNS_REMOTE_NODE,
	DNS_REMOTE_QUERIES,
	DNS_REMOTE_DCS,
	DNS_REMOTE_QUERY_SERVICE,
	DNS_REMOTE_KIND_MAX
};

enum dns_remote_outcome {
	DNS_REMOTE_OK,
	DNS_REMOTE_NO_DC,
	DNS_REMOTE_FAILED
};

#endif
