/*
 * The fields a ?filter selector may name, per kind of result element:
 * those of the JSON catalog.c, health.c and agent_local.c build, under
 * their JSON names, plus the fields Consul's types have and we leave
 * out while they are empty (a proxy's destination, a check's TLS
 * settings), which select their empty value.  Consul checks selectors
 * against its Go types; these tables play that part, so a misspelt
 * field is an error even when no element would be looked at.
 */
#include <stddef.h>

#include "filter.h"

#define END	{ NULL, FILTER_STRING, NULL }

static const struct filter_field f_string = { "", FILTER_STRING, NULL };
static const struct filter_field f_strings = { "", FILTER_LIST, &f_string };

static const struct filter_field weights_fields[] = {
	{ "Passing",		FILTER_INT,	NULL },
	{ "Warning",		FILTER_INT,	NULL },
	END
};

static const struct filter_field taddr_fields[] = {
	{ "Address",		FILTER_STRING,	NULL },
	{ "Port",		FILTER_INT,	NULL },
	END
};
static const struct filter_field f_taddr = { "", FILTER_OBJECT, taddr_fields };

static const struct filter_field gateway_fields[] = {
	{ "Mode",		FILTER_STRING,	NULL },
	END
};

static const struct filter_field expose_fields[] = {
	{ "Checks",		FILTER_BOOL,	NULL },
	END
};

static const struct filter_field proxy_fields[] = {
	{ "Mode",		FILTER_STRING,	NULL },
	{ "DestinationServiceName", FILTER_STRING, NULL },
	{ "DestinationServiceID", FILTER_STRING, NULL },
	{ "LocalServiceAddress", FILTER_STRING,	NULL },
	{ "LocalServicePort",	FILTER_INT,	NULL },
	{ "LocalServiceSocketPath", FILTER_STRING, NULL },
	{ "MeshGateway",	FILTER_OBJECT,	gateway_fields },
	{ "Expose",		FILTER_OBJECT,	expose_fields },
	END
};

static const struct filter_field connect_fields[] = {
	{ "Native",		FILTER_BOOL,	NULL },
	END
};

static const struct filter_field locality_fields[] = {
	{ "Region",		FILTER_STRING,	NULL },
	{ "Zone",		FILTER_STRING,	NULL },
	END
};

static const struct filter_field node_fields[] = {
	{ "ID",			FILTER_STRING,	NULL },
	{ "Node",		FILTER_STRING,	NULL },
	{ "Address",		FILTER_STRING,	NULL },
	{ "Datacenter",		FILTER_STRING,	NULL },
	{ "TaggedAddresses",	FILTER_MAP,	&f_string },
	{ "Meta",		FILTER_MAP,	&f_string },
	{ "PeerName",		FILTER_STRING,	NULL },
	{ "CreateIndex",	FILTER_INT,	NULL },
	{ "ModifyIndex",	FILTER_INT,	NULL },
	END
};
const struct filter_field filter_node = { "", FILTER_OBJECT, node_fields };

static const struct filter_field catalog_service_fields[] = {
	{ "ID",			FILTER_STRING,	NULL },
	{ "Node",		FILTER_STRING,	NULL },
	{ "Address",		FILTER_STRING,	NULL },
	{ "Datacenter",		FILTER_STRING,	NULL },
	{ "TaggedAddresses",	FILTER_MAP,	&f_string },
	{ "NodeMeta",		FILTER_MAP,	&f_string },
	{ "ServiceKind",	FILTER_STRING,	NULL },
	{ "ServiceID",		FILTER_STRING,	NULL },
	{ "ServiceName",	FILTER_STRING,	NULL },
	{ "ServiceTags",	FILTER_LIST,	&f_string },
	{ "ServiceAddress",	FILTER_STRING,	NULL },
	{ "ServiceTaggedAddresses", FILTER_MAP,	&f_taddr },
	{ "ServiceWeights",	FILTER_OBJECT,	weights_fields },
	{ "ServiceMeta",	FILTER_MAP,	&f_string },
	{ "ServicePort",	FILTER_INT,	NULL },
	{ "ServiceSocketPath",	FILTER_STRING,	NULL },
	{ "ServiceEnableTagOverride", FILTER_BOOL, NULL },
	{ "ServiceProxy",	FILTER_OBJECT,	proxy_fields },
	{ "ServiceConnect",	FILTER_OBJECT,	connect_fields },
	{ "ServiceLocality",	FILTER_OBJECT,	locality_fields },
	{ "PeerName",		FILTER_STRING,	NULL },
	{ "CreateIndex",	FILTER_INT,	NULL },
	{ "ModifyIndex",	FILTER_INT,	NULL },
	END
};
const struct filter_field filter_catalog_service = {
	"", FILTER_OBJECT, catalog_service_fields
};

/* NodeService: catalog/node's Services, ServiceEntry's Service. */
static const struct filter_field node_service_fields[] = {
	{ "Kind",		FILTER_STRING,	NULL },
	{ "ID",			FILTER_STRING,	NULL },
	{ "Service",		FILTER_STRING,	NULL },
	{ "Tags",		FILTER_LIST,	&f_string },
	{ "Address",		FILTER_STRING,	NULL },
	{ "TaggedAddresses",	FILTER_MAP,	&f_taddr },
	{ "Meta",		FILTER_MAP,	&f_string },
	{ "Port",		FILTER_INT,	NULL },
	{ "SocketPath",		FILTER_STRING,	NULL },
	{ "Weights",		FILTER_OBJECT,	weights_fields },
	{ "EnableTagOverride",	FILTER_BOOL,	NULL },
	{ "Proxy",		FILTER_OBJECT,	proxy_fields },
	{ "Connect",		FILTER_OBJECT,	connect_fields },
	{ "Locality",		FILTER_OBJECT,	locality_fields },
	{ "PeerName",		FILTER_STRING,	NULL },
	{ "CreateIndex",	FILTER_INT,	NULL },
	{ "ModifyIndex",	FILTER_INT,	NULL },
	END
};
const struct filter_field filter_node_service = {
	"", FILTER_OBJECT, node_service_fields
};

static const struct filter_field agent_service_fields[] = {
	{ "Kind",		FILTER_STRING,	NULL },
	{ "ID",			FILTER_STRING,	NULL },
	{ "Service",		FILTER_STRING,	NULL },
	{ "Tags",		FILTER_LIST,	&f_string },
	{ "Meta",		FILTER_MAP,	&f_string },
	{ "Port",		FILTER_INT,	NULL },
	{ "Address",		FILTER_STRING,	NULL },
	{ "SocketPath",		FILTER_STRING,	NULL },
	{ "TaggedAddresses",	FILTER_MAP,	&f_taddr },
	{ "Weights",		FILTER_OBJECT,	weights_fields },
	{ "EnableTagOverride",	FILTER_BOOL,	NULL },
	{ "ContentHash",	FILTER_STRING,	NULL },
	{ "Proxy",		FILTER_OBJECT,	proxy_fields },
	{ "Connect",		FILTER_OBJECT,	connect_fields },
	{ "Locality",		FILTER_OBJECT,	locality_fields },
	{ "PeerName",		FILTER_STRING,	NULL },
	{ "Datacenter",		FILTER_STRING,	NULL },
	{ "CreateIndex",	FILTER_INT,	NULL },
	{ "ModifyIndex",	FILTER_INT,	NULL },
	END
};
const struct filter_field filter_agent_service = {
	"", FILTER_OBJECT, agent_service_fields
};

static const struct filter_field definition_fields[] = {
	{ "HTTP",		FILTER_STRING,	NULL },
	{ "TCP",		FILTER_STRING,	NULL },
	{ "GRPC",		FILTER_STRING,	NULL },
	{ "Method",		FILTER_STRING,	NULL },
	{ "Body",		FILTER_STRING,	NULL },
	{ "Header",		FILTER_MAP,	&f_strings },
	{ "TLSServerName",	FILTER_STRING,	NULL },
	{ "TLSSkipVerify",	FILTER_BOOL,	NULL },
	{ "Interval",		FILTER_STRING,	NULL },
	{ "Timeout",		FILTER_STRING,	NULL },
	{ "DeregisterCriticalServiceAfter", FILTER_STRING, NULL },
	END
};

static const struct filter_field check_fields[] = {
	{ "Node",		FILTER_STRING,	NULL },
	{ "CheckID",		FILTER_STRING,	NULL },
	{ "Name",		FILTER_STRING,	NULL },
	{ "Status",		FILTER_STRING,	NULL },
	{ "Notes",		FILTER_STRING,	NULL },
	{ "Output",		FILTER_STRING,	NULL },
	{ "ServiceID",		FILTER_STRING,	NULL },
	{ "ServiceName",	FILTER_STRING,	NULL },
	{ "ServiceTags",	FILTER_LIST,	&f_string },
	{ "Type",		FILTER_STRING,	NULL },
	{ "Interval",		FILTER_STRING,	NULL },
	{ "Timeout",		FILTER_STRING,	NULL },
	{ "ExposedPort",	FILTER_INT,	NULL },
	{ "Definition",		FILTER_OBJECT, definition_fields },
	{ "PeerName",		FILTER_STRING,	NULL },
	{ "CreateIndex",	FILTER_INT,	NULL },
	{ "ModifyIndex",	FILTER_INT,	NULL },
	END
};
const struct filter_field filter_check = { "", FILTER_OBJECT, check_fields };

static const struct filter_field service_entry_fields[] = {
	{ "Node",		FILTER_OBJECT,	node_fields },
	{ "Service",		FILTER_OBJECT,	node_service_fields },
	{ "Checks",		FILTER_LIST,	&filter_check },
	END
};
const struct filter_field filter_service_entry = {
	"", FILTER_OBJECT, service_entry_fields
};
