#!/bin/sh
# Prepared queries on a single server, through /v1/query with curl:
# create, list, read, update, delete with Consul's shapes; execution
# filters instances as the query says (critical ones never, warning ones
# with OnlyPassing, Tags with "!" exclusions, NodeMeta, ServiceMeta,
# ?limit); templates (name_prefix_match, regexp with ${match(N)}) and
# /explain; a query owned by a session goes with it; bad definitions are
# 400s naming the field.  Failover to another datacenter is in
# multi_dc.sh.
. "$(dirname "$0")/../lib/agent.sh"

agent_ports 44
agent_start_server 44 "$test_tmp/agent.log" "$test_tmp/data"
url="http://127.0.0.1:$http_port/v1"
wait_node_at "$url" node44

reg() { curl -s -X PUT --data-binary "$1" "$url/catalog/register" >/dev/null; }
reg '{"Node":"a","Address":"10.0.0.1","NodeMeta":{"rack":"r1"},
    "Service":{"Service":"redis","Tags":["primary"],"Port":6379,
    "Meta":{"env":"prod"}}}'
reg '{"Node":"b","Address":"10.0.0.2","NodeMeta":{"rack":"r2"},
    "Service":{"Service":"redis","Tags":["replica"],"Port":6379,
    "Meta":{"env":"prod"}}}'
reg '{"Node":"c","Address":"10.0.0.3","Service":{"Service":"redis",
    "Tags":["replica"],"Port":6379},"Check":{"CheckID":"w","Name":"w",
    "ServiceID":"redis","Status":"warning"}}'
reg '{"Node":"d","Address":"10.0.0.4","Service":{"Service":"redis",
    "Port":6379},"Check":{"CheckID":"x","Name":"x","ServiceID":"redis",
    "Status":"critical"}}'

post() {
	body=$(curl -s -w '\n%{http_code}' -X "${3:-POST}" --data-binary "$2" \
	    "$url/$1")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}
nodes() { curl -s "$url/query/$1/execute$2" |
    jq -r '.Nodes | map(.Node.Node) | sort | join(" ")'; }

post query '{"Name":"redis","Service":{"Service":"redis"},"DNS":{"TTL":"10s"}}'
id=$(echo "$body" | jq -r .ID)
check "create answers an ID" [ "$code" = 200 -a -n "$id" ]
check "list has it, in Consul's shape" [ "$(curl -s "$url/query" | jq -c \
    '.[0] | [.ID == "'"$id"'", .Name, .Service.Service, .DNS.TTL,
    (.Service.Failover | keys), has("CreateIndex"), has("ModifyIndex")]')" = \
    '[true,"redis","redis","10s",["Datacenters","NearestN"],true,true]' ]
check "read by ID" [ "$(curl -s "$url/query/$id" | jq -r '.[0].Name')" = redis ]
check "an unknown ID is 404" [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "$url/query/00000000-0000-4000-8000-000000000000")" = 404 ]
check "execute by name: every instance but the critical one" \
    [ "$(nodes redis)" = "a b c" ]
check "execute by ID, the same" [ "$(nodes "$id")" = "a b c" ]
check "the answer's shape" [ "$(curl -s "$url/query/redis/execute" | jq -c \
    '[.Service, .Datacenter, .Failovers, .DNS.TTL, (.Nodes[0] | keys)]')" = \
    '["redis","dc1",0,"10s",["Checks","Node","Service"]]' ]
check "?limit=1" [ "$(curl -s "$url/query/redis/execute?limit=1" |
    jq '.Nodes | length')" = 1 ]
post "query/$id" '{"Name":"redis","Service":{"Service":"redis",
    "OnlyPassing":true,"Tags":["!primary"]}}' PUT
check "update is 200" [ "$code" = 200 ]
check "OnlyPassing drops warning, !primary excludes a" [ "$(nodes redis)" = b ]
post "query/$id" '{"Name":"redis","Service":{"Service":"redis",
    "NodeMeta":{"rack":"r1"},"ServiceMeta":{"env":"prod"}}}' PUT
check "NodeMeta and ServiceMeta" [ "$(nodes redis)" = a ]
check "an unknown query is 404 Query not found" \
    [ "$(curl -s -w ' %{http_code}' "$url/query/nope/execute")" = \
    "Query not found 404" ]

# templates
post query '{"Name":"geo-","Template":{"Type":"name_prefix_match"},
    "Service":{"Service":"${name.suffix}"}}'
check "a name_prefix_match template" [ "$(nodes geo-redis)" = "a b c" ]
post query '{"Name":"re-","Template":{"Type":"regexp",
    "Regexp":"^re-([a-z]+)-([a-z]+)$"},"Service":{"Service":"${match(1)}",
    "Tags":["${match(2)}"]}}'
check 'a regexp template with ${match(N)}' [ "$(nodes re-redis-replica)" = \
    "b c" ]
check "explain shows the query as it runs" [ "$(curl -s \
    "$url/query/re-redis-primary/explain" | jq -c '.Query.Service |
    [.Service, .Tags]')" = '["redis",["primary"]]' ]

# a query owned by a session
sid=$(curl -s -X PUT "$url/session/create" | jq -r .ID)
post query '{"Name":"owned","Session":"'"$sid"'","Service":{"Service":"redis"}}'
check "a query with a session" [ "$code" = 200 ]
curl -s -X PUT "$url/session/destroy/$sid" >/dev/null
check "goes with its session" [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "$url/query/owned/execute")" = 404 ]

# bad input
post query '{"Name":"x","Service":{}}'
check "no service: 400" [ "$code $body" = \
    "400 Must provide a Service name to query" ]
post query '{"Name":"redis","Service":{"Service":"redis"}}'
check "a name taken: 400" [ "$code $body" = \
    "400 Name 'redis' aliases an existing query name" ]
post query '{"Name":"y","Service":{"Service":"s"},"Bogus":1}'
check "an unknown field: 400 naming it" [ "$code $body" = \
    '400 Request decode failed: unknown field "Bogus" in the query' ]
post query '{"Name":"z","Template":{"Type":"regexp","Regexp":"("},
    "Service":{"Service":"s"}}'
check "an invalid regexp: 400" [ "$code" = 400 ]
post query '{"Name":"t","Service":{"Service":"s"},"DNS":{"TTL":"soon"}}'
check "a bad DNS TTL: 400" [ "$code $body" = "400 Bad DNS TTL 'soon'" ]
post query '{"Name":"s","Session":"nope","Service":{"Service":"s"}}'
check "an unknown session: 400" [ "$code" = 400 ]
post "query/$id" '' DELETE
check "delete is 200" [ "$code" = 200 ]
check "and it is gone" [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "$url/query/$id")" = 404 ]
check "no sanitizer report" sh -c "! grep -q 'runtime error\|AddressSanitizer' \
    '$test_tmp/agent.log'"
tap_done
