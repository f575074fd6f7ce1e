#!/bin/sh
# The catalog through its HTTP API on a single server: register nodes,
# services and checks, read them back in Consul's shapes with ?tag and
# ?node-meta filters, block on ?index, deregister, bad input, and the
# catalog kept across a snapshot restore and a restart.
. "$(dirname "$0")/../lib/agent.sh"

agent_start_server 13 "$test_tmp/agent.log" "$test_tmp/data"
url="http://127.0.0.1:$http_port"
wait_leader_at "$url/v1"

put() { curl -s -X PUT --data-binary "$2" "$url/v1/catalog/$1"; }
get() { curl -s "$url/v1/catalog/$1"; }

# The leader puts the server itself in the catalog, from gossip.
i=0
until [ "$(get service/consul | jq length)" = 1 ] || [ $i -gt 50 ]; do
	sleep 0.1; i=$((i + 1))
done
check "the server is in the catalog with the consul service on its RPC port" \
    [ "$(get service/consul | jq -c '.[0] | [.Node, .Address, .ServicePort,
    .NodeMeta["consul-network-segment"], .TaggedAddresses.lan_ipv4]')" = \
    "[\"node13\",\"127.0.0.1\",$server_port,\"\",\"127.0.0.1\"]" ]
check "and a passing serfHealth check" \
    [ "$(curl -s "$url/v1/health/node/node13" | jq -c '.[] | [.CheckID,
    .Name, .Status, .Output]')" = \
    '["serfHealth","Serf Health Status","passing","Agent alive and reachable"]' ]
code() {
	curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "$2" \
	    "$url/v1/catalog/$1"
}

check "register a node with a service and a check" \
    [ "$(put register '{"Node":"n1","Address":"10.1.0.1",
    "NodeMeta":{"rack":"r1"},"TaggedAddresses":{"wan":"192.0.2.1"},
    "Service":{"Service":"web","Tags":["primary","v1"],"Port":8080,
    "Meta":{"version":"1"}},
    "Check":{"Name":"web alive","ServiceID":"web","Status":"passing",
    "Definition":{"HTTP":"http://10.1.0.1:8080/health","Interval":"10s"}}}')" = true ]
check "field names in any case, as Go decodes them" \
    [ "$(put register '{"node":"n2","address":"10.1.0.2",
    "service":{"service":"web","id":"web2","tags":["v2"],"port":8081}}')" = true ]
check "a node with no service" \
    [ "$(put register '{"Node":"n3","Address":"10.1.0.3"}')" = true ]

nodes=$(get nodes)
check "catalog/nodes lists the nodes by name, the server's own too" \
    [ "$(echo "$nodes" | jq -c '[.[].Node]')" = '["n1","n2","n3","node13"]' ]
check "in Consul's Node shape" \
    [ "$(echo "$nodes" | jq -c '.[0] | [.Address, .Datacenter, .Meta.rack,
    .TaggedAddresses.wan, (.CreateIndex > 0), (.ModifyIndex > 0)]')" = \
    '["10.1.0.1","dc1","r1","192.0.2.1",true,true]' ]
check "?node-meta filters nodes" \
    [ "$(get 'nodes?node-meta=rack:r1' | jq -c '[.[].Node]')" = '["n1"]' ]
check "catalog/services: each name with the union of its tags" \
    [ "$(get services | jq -c '{web: (.web | sort)}')" = \
    '{"web":["primary","v1","v2"]}' ]
svc=$(get service/web)
check "catalog/service/web lists both instances" \
    [ "$(echo "$svc" | jq -c '[.[] | [.Node, .ServiceID, .ServicePort]]')" = \
    '[["n1","web",8080],["n2","web2",8081]]' ]
check "in Consul's flat CatalogService shape" \
    [ "$(echo "$svc" | jq -c '.[0] | [.Address, .ServiceName, .ServiceTags,
    .ServiceMeta.version, .NodeMeta.rack, .ServiceWeights.Passing,
    .ServiceAddress, .ServiceProxy.Mode, .ServiceConnect]')" = \
    '["10.1.0.1","web",["primary","v1"],"1","r1",1,"","",{}]' ]
check "?tag filters instances (without regard to case)" \
    [ "$(get 'service/web?tag=PRIMARY' | jq -c '[.[].ServiceID]')" = '["web"]' ]
check "?tag twice: all must match" \
    [ "$(get 'service/web?tag=primary&tag=v2' | jq length)" = 0 ]
check "an unknown service is [] with 200" \
    [ "$(curl -s -w ' %{http_code}' "$url/v1/catalog/service/nope")" = '[] 200' ]
node=$(get node/n1)
check "catalog/node/n1: the node and its services by ID" \
    [ "$(echo "$node" | jq -c '[.Node.Node, (.Services | keys),
    .Services.web.Port, .Services.web.Tags]')" = \
    '["n1",["web"],8080,["primary","v1"]]' ]
check "catalog/node-services/n1: the services as a list" \
    [ "$(get node-services/n1 | jq -c '[.Services[].ID]')" = '["web"]' ]
check "an unknown node is null with 200" \
    [ "$(curl -s -w ' %{http_code}' "$url/v1/catalog/node/nope")" = 'null 200' ]
check "catalog/datacenters" [ "$(get datacenters)" = '["dc1"]' ]
ctl() { "$CONSULCTL" catalog "$@" -http-addr=127.0.0.1:$http_port; }
check "consulctl catalog datacenters" [ "$(ctl datacenters)" = dc1 ]
check "consulctl catalog services: one name a line, sorted" \
    [ "$(ctl services | tr '\n' ' ')" = "consul web " ]
check "consulctl catalog services -tags" \
    sh -c "$(printf '%s' "'$CONSULCTL' catalog services -tags -http-addr=127.0.0.1:$http_port") |
    grep -Eq '^web +(primary,v1,v2|v1,primary,v2|primary,v2,v1|v2,primary,v1|v1,v2,primary|v2,v1,primary)\$'"
check "consulctl catalog services -node" \
    [ "$(ctl services -node=n1)" = web ]
ctl nodes >"$test_tmp/nodes"
check "consulctl catalog nodes: Node, ID cut to 8, Address, DC" \
    sh -c "head -1 '$test_tmp/nodes' | grep -Eq '^Node +ID +Address +DC\$' &&
    grep -Eq '^node13 +[0-9a-f]{8} +127.0.0.1 +dc1\$' '$test_tmp/nodes' &&
    grep -Eq '^n1 +10.1.0.1 +dc1\$' '$test_tmp/nodes'"
check "consulctl catalog nodes -service=web -detailed" \
    sh -c "'$CONSULCTL' catalog nodes -service=web -detailed -http-addr=127.0.0.1:$http_port |
    grep -Eq '^n1 +10.1.0.1 +dc1 +wan=192.0.2.1 +rack=r1\$'"
hdrs=$(curl -s -D - -o /dev/null "$url/v1/catalog/service/web" | tr -d '\r')
idx=$(echo "$hdrs" | sed -n 's/^X-Consul-Index: //Ip')
check "reads carry X-Consul-Index" [ -n "$idx" ]

# A blocking query on the service wakes when an instance is added.
start=$(date +%s%N)
curl -s "$url/v1/catalog/service/web?index=$idx&wait=10s" >"$test_tmp/blocked" &
bpid=$!
sleep 0.5
put register '{"Node":"n3","Address":"10.1.0.3",
    "Service":{"Service":"web","ID":"web3"}}' >/dev/null
wait $bpid
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "a blocking query on catalog/service wakes on a new instance" \
    sh -c "[ \$(jq length '$test_tmp/blocked') = 3 ] && [ $ms -lt 5000 ]"
idx2=$(curl -s -D - -o /dev/null "$url/v1/catalog/nodes" | tr -d '\r' |
    sed -n 's/^X-Consul-Index: //Ip')
out=$(curl -s -w ' %{http_code}' "$url/v1/catalog/nodes?index=$idx2&wait=1s")
check "and one on nothing that changes returns after its wait" \
    sh -c "echo '$out' | grep -q ' 200$'"

# Health.
health() { curl -s "$url/v1/health/$1"; }
check "health/node/n1: the node's checks, in Consul's HealthCheck shape" \
    [ "$(health node/n1 | jq -c '[.[] | [.Node, .CheckID, .Name, .Status,
    .ServiceID, .ServiceName, .ServiceTags, .Definition.HTTP]]')" = \
    '[["n1","web alive","web alive","passing","web","web",["primary","v1"],"http://10.1.0.1:8080/health"]]' ]
check "health/checks/web: the checks of the service's instances" \
    [ "$(health checks/web | jq -c '[.[].CheckID]')" = '["web alive"]' ]
check "health/service/web: an entry per instance with node and checks" \
    [ "$(health service/web | jq -c '[.[] | [.Node.Node, .Service.ID,
    (.Checks | length)]]')" = '[["n1","web",1],["n2","web2",0],["n3","web3",0]]' ]
check "a node check that is critical" \
    [ "$(put register '{"Node":"n2","Address":"10.1.0.2","SkipNodeUpdate":true,
    "Check":{"Name":"disk","Status":"critical","Output":"full"}}')" = true ]
check "counts for each instance on that node" \
    [ "$(health service/web | jq -c '[.[] | select(.Node.Node == "n2") |
    .Checks[].CheckID]')" = '["disk"]' ]
check "?passing drops the instances with a check not passing" \
    [ "$(health 'service/web?passing' | jq -c '[.[].Service.ID]')" = \
    '["web","web3"]' ]
check "?passing=false keeps them" \
    [ "$(health 'service/web?passing=false' | jq length)" = 3 ]
check "?tag on health/service" \
    [ "$(health 'service/web?tag=v2' | jq -c '[.[].Service.ID]')" = '["web2"]' ]
check "health/state/critical" \
    [ "$(health state/critical | jq -c '[.[] | [.Node, .CheckID, .Output]]')" = \
    '[["n2","disk","full"]]' ]
check "health/state/any" [ "$(health state/any | jq length)" = 3 ]
check "an unknown state is []" [ "$(health state/bogus)" = '[]' ]
check "no state is a 400" \
    [ "$(curl -s "$url/v1/health/state/")" = "Missing check state" ]
hidx=$(curl -s -D - -o /dev/null "$url/v1/health/service/web" | tr -d '\r' |
    sed -n 's/^X-Consul-Index: //Ip')
curl -s "$url/v1/health/service/web?passing&index=$hidx&wait=10s" \
    >"$test_tmp/hblocked" &
bpid=$!
sleep 0.5
put register '{"Node":"n2","Address":"10.1.0.2","SkipNodeUpdate":true,
    "Check":{"Name":"disk","Status":"passing"}}' >/dev/null
wait $bpid
check "a blocking health query wakes when a node check turns passing" \
    [ "$(jq length "$test_tmp/hblocked")" = 3 ]

# Deregistration.
check "deregister one service" \
    [ "$(put deregister '{"Node":"n3","ServiceID":"web3"}')" = true ]
check "it is gone from the service" \
    [ "$(get service/web | jq -c '[.[].ServiceID]')" = '["web","web2"]' ]
check "deregister a check" \
    [ "$(put deregister '{"Node":"n1","CheckID":"web alive"}')" = true ]
check "deregister a node with everything on it" \
    [ "$(put deregister '{"Node":"n2"}')" = true ]
check "its service instance goes with it" \
    [ "$(get service/web | jq -c '[.[].ServiceID]')" = '["web"]' ]
check "deregistering what is not there is fine" \
    [ "$(put deregister '{"Node":"nobody"}')" = true ]

# Bad input.
check "no node: 400" [ "$(code register '{"Address":"10.0.0.1"}')" = 400 ]
check "with the reason" \
    [ "$(put register '{"Address":"10.0.0.1"}')" = "Must provide node and address" ]
check "no address: 400" [ "$(code register '{"Node":"x"}')" = 400 ]
check "a service without a name: 400" \
    [ "$(put register '{"Node":"x","Address":"10.0.0.9","Service":{"Port":1}}')" = \
    "Must provide service name" ]
check "a bad port: 400" \
    [ "$(code register '{"Node":"x","Address":"10.0.0.9","Service":{"Service":"s","Port":70000}}')" = 400 ]
check "a bad check status: 400" \
    [ "$(put register '{"Node":"x","Address":"10.0.0.9","Check":{"Name":"c","Status":"fine"}}')" = \
    "Bad check status" ]
out=$(curl -s -w ' %{http_code}' -X PUT --data-binary \
    '{"Node":"x","Address":"10.0.0.9","Check":{"Name":"c","ServiceID":"ghost"}}' \
    "$url/v1/catalog/register")
check "a check of a service the node does not have is refused" \
    sh -c "echo '$out' | grep -q 'ghost.* 500$'"
check "and changes nothing" [ "$(get node/x)" = null ]
check "not JSON: 400" [ "$(code register '{"Node":')" = 400 ]
check "deregister without a node: 400" [ "$(code deregister '{}')" = 400 ]
check "an unknown datacenter: 500" \
    [ "$(curl -s "$url/v1/catalog/nodes?dc=dc9")" = "No path to datacenter" ]
check "POST is not allowed" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' \
    "$url/v1/catalog/register")" = 405 ]

# Snapshots and restarts keep the catalog.
curl -s "$url/v1/snapshot" -o "$test_tmp/snap"
put register '{"Node":"later","Address":"10.1.0.9"}' >/dev/null
check "a snapshot restore brings back the catalog as it was" \
    sh -c "curl -s -X PUT --data-binary @'$test_tmp/snap' '$url/v1/snapshot' >/dev/null &&
    [ \"\$(curl -s '$url/v1/catalog/nodes' | jq -c '[.[].Node]')\" = '[\"n1\",\"n3\",\"node13\"]' ]"
kill -TERM "$agent_pid"
wait "$agent_pid" 2>/dev/null
agent_start_server 13 "$test_tmp/agent.log" "$test_tmp/data"
wait_leader_at "$url/v1"
check "after a restart the catalog is still there" \
    [ "$(get service/web | jq -c '[.[].ServiceID]')" = '["web"]' ]
check "consulctl snapshot inspect counts the catalog records" \
    sh -c "'$CONSULCTL' snapshot inspect '$test_tmp/snap' | grep -q '^ *Node'"
tap_done
