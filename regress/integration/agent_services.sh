#!/bin/sh
# The agent's own services and checks on a single server: services from
# a configuration file and from /v1/agent/service/register, checks from
# /v1/agent/check/register, TTL checks driven by pass/warn/fail/update
# and expiring, maintenance mode, deregistration, bad input, and
# anti-entropy: what the agent holds shows up in the catalog and health
# endpoints, a service deleted from the catalog behind the agent's back
# comes back, and API registrations survive a restart.
. "$(dirname "$0")/../lib/agent.sh"

agent_ports 14
cat >"$test_tmp/services.json" <<EOF
{"services": [
  {"name": "db", "tags": ["primary"], "address": "127.0.0.1",
   "port": 5432, "checks": [{"ttl": "30s", "status": "passing"}]},
  {"name": "web", "tags": ["primary"], "address": "127.0.0.1",
   "port": $http_port, "checks": [{"http":
   "http://localhost:$http_port/v1/status/leader", "interval": "1s"}]}]}
EOF
agent_start_server 14 "$test_tmp/agent.log" "$test_tmp/data" \
    -config-file="$test_tmp/services.json"
url="http://127.0.0.1:$http_port"
wait_leader_at "$url/v1"

put() { curl -s -w ' %{http_code}' -X PUT --data-binary "$2" "$url/v1/agent/$1"; }
health_is() {
	[ "$(curl -s "$url/v1/health/checks/$1" | jq -r ".[] |
	    select(.CheckID == \"$2\") | .Status")" = "$3" ]
}

svcs=$(curl -s "$url/v1/agent/services")
check "a service from the configuration file" \
    [ "$(echo "$svcs" | jq -c '.db | [.ID, .Service, .Tags, .Port,
    .Address, .Datacenter, .Weights.Passing]')" = \
    '["db","db",["primary"],5432,"127.0.0.1","dc1",1]' ]
check "with tagged addresses for its IP address, as Consul's agent adds" \
    [ "$(echo "$svcs" | jq -r '.db.TaggedAddresses.lan_ipv4.Address')" = 127.0.0.1 ]
check "its check, named as Consul names them" \
    [ "$(curl -s "$url/v1/agent/checks" | jq -c '.["service:db"] |
    [.Name, .Status, .ServiceID, .ServiceName, .Type]')" = \
    "[\"Service 'db' check\",\"passing\",\"db\",\"db\",\"ttl\"]" ]
check "anti-entropy puts it in the catalog" \
    poll 10 sh -c "curl -s '$url/v1/catalog/service/db' | grep -q '\"ServicePort\":5432'"
check "and its check in health" poll 10 health_is db service:db passing

# http and tcp checks, run by checkd against the agent's own API.
check "an http check from the configuration file, in Consul's form, passes" \
    poll 15 health_is web service:web passing
check "with Consul's output" \
    sh -c "curl -s '$url/v1/agent/checks' | jq -r '.[\"service:web\"].Output' |
    grep -q '^HTTP GET http://localhost:$http_port/v1/status/leader: 200 OK Output: \"'"
check "an http check on a URL that answers 404 is critical" \
    [ "$(put check/register "{\"Name\":\"flag\",\"HTTP\":
    \"http://127.0.0.1:$http_port/v1/kv/flag\",\"Interval\":\"1s\"}")" = ' 200' ]
check "critical first" poll 10 sh -c "[ \"\$(curl -s '$url/v1/agent/checks' |
    jq -r '.flag.Status')\" = critical ]"
curl -s -X PUT -d on "$url/v1/kv/flag" >/dev/null
check "and passing once the URL answers 200" \
    poll 10 sh -c "[ \"\$(curl -s '$url/v1/agent/checks' | jq -r '.flag.Status')\" = passing ]"
check "a tcp check on the agent's port passes" \
    sh -c "curl -s -X PUT -d '{\"Name\":\"port\",\"TCP\":\"127.0.0.1:$http_port\",
    \"Interval\":\"1s\"}' '$url/v1/agent/check/register' >/dev/null &&
    for i in \$(seq 1 100); do [ \"\$(curl -s '$url/v1/agent/checks' |
    jq -r '.port.Status')\" = passing ] && exit 0; sleep 0.1; done; exit 1"
check "a tcp check on a closed port is critical, and says why" \
    sh -c "curl -s -X PUT -d '{\"Name\":\"closed\",\"TCP\":\"127.0.0.1:1\",
    \"Interval\":\"1s\",\"Status\":\"passing\"}' '$url/v1/agent/check/register' >/dev/null &&
    for i in \$(seq 1 100); do curl -s '$url/v1/agent/checks' |
    jq -r '.closed | .Status + \" \" + .Output' | grep -q '^critical .*refused' &&
    exit 0; sleep 0.1; done; exit 1"
for c in flag port closed; do
	curl -s -X PUT "$url/v1/agent/check/deregister/$c" >/dev/null
done

check "register a service with a TTL check through the API" \
    [ "$(put service/register '{"Name":"web","ID":"web1","Port":8080,
    "Tags":["v1"],"Meta":{"team":"a"},"Check":{"TTL":"2s","Notes":"n"}}')" = ' 200' ]
check "GET /v1/agent/service/web1" \
    [ "$(curl -s "$url/v1/agent/service/web1" | jq -c '[.ID, .Service, .Meta.team]')" = \
    '["web1","web","a"]' ]
check "an unknown service is 404" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/agent/service/nope")" = 404 ]
check "the new check starts critical" \
    [ "$(curl -s "$url/v1/agent/checks" | jq -r '.["service:web1"].Status')" = critical ]
check "and shows in the catalog" poll 10 health_is web service:web1 critical
check "check/pass with a note" \
    [ "$(curl -s -w '%{http_code}' -X PUT "$url/v1/agent/check/pass/service:web1?note=all+good")" = 200 ]
check "makes it passing with the note as output" \
    poll 10 sh -c "curl -s '$url/v1/health/service/web?passing' |
    jq -e '.[].Checks[] | select(.CheckID == \"service:web1\") |
    select(.Output == \"all good\")' >/dev/null"
check "check/update with a body" \
    [ "$(put check/update/service:web1 '{"Status":"warning","Output":"slow"}')" = ' 200' ]
check "moves it to warning" poll 10 health_is web service:web1 warning
check "a bad status for update is a 400" \
    [ "$(put check/update/service:web1 '{"Status":"fine"}')" = \
    "Invalid check status: 'fine' 400" ]
check "a TTL that runs out makes it critical" \
    poll 10 health_is web service:web1 critical
check "with Consul's output" \
    [ "$(curl -s "$url/v1/agent/checks" | jq -r '.["service:web1"].Output')" = \
    "TTL expired (last output before timeout follows): slow" ]

check "check/register of a node check" \
    [ "$(put check/register '{"Name":"mem","TTL":"60s","Status":"passing"}')" = ' 200' ]
check "is in the catalog" \
    poll 10 sh -c "curl -s '$url/v1/health/node/node14' | grep -q '\"CheckID\":\"mem\"'"
check "check/register for a service that does not exist is a 404" \
    [ "$(put check/register '{"Name":"x","TTL":"5s","ServiceID":"ghost"}')" = \
    'ServiceID "ghost" does not exist 404' ]
check "a check without a name is a 400" \
    [ "$(put check/register '{"TTL":"5s"}')" = "Missing check name 400" ]
check "Interval and TTL together are a 400" \
    [ "$(put check/register '{"Name":"x","TTL":"5s","Interval":"5s","HTTP":"http://127.0.0.1:1/"}')" = \
    "Invalid check: Interval and TTL cannot both be specified 400" ]
check "a check with both HTTP and Args is a 400" \
    [ "$(put check/register '{"Name":"x","HTTP":"http://127.0.0.1/","Args":["true"],"Interval":"10s"}')" = \
    "Invalid check: only one of HTTP, TCP, TTL or Args may be given 400" ]
check "a check of no known type is a 400" \
    [ "$(put check/register '{"Name":"x","Interval":"10s"}')" = \
    "Invalid check: one of HTTP, TCP, TTL or Args must be given 400" ]
check "an http check interval below 1s is a 400" \
    [ "$(put check/register '{"Name":"x","HTTP":"http://127.0.0.1/","Interval":"500ms"}')" = \
    "Interval must be > 1s 400" ]
check "a bad port is a 400 naming it" \
    [ "$(put service/register '{"Name":"x","Port":70000}')" = \
    "Request decode failed: invalid Port 400" ]
check "an unknown field is a 400" \
    [ "$(put service/register '{"Name":"x","Bogus":1}')" = \
    'Request decode failed: json: unknown field "Bogus" 400' ]
check "a service without a name is a 400" \
    [ "$(put service/register '{"Port":1}')" = "Missing service name 400" ]
check "an unspecified address is a 400" \
    [ "$(put service/register '{"Name":"x","Address":"0.0.0.0"}')" = \
    "Invalid service address 400" ]
check "a script check through the API without enable_script_checks is refused" \
    sh -c "put() { curl -s -w ' %{http_code}' -X PUT --data-binary \"\$2\" '$url/v1/agent/'\$1; };
    put check/register '{\"Name\":\"s\",\"Args\":[\"/bin/true\"],\"Interval\":\"10s\"}' |
    grep -q 'Scripts are disabled on this agent from remote calls.* 400$'"
long=$(printf 'x%.0s' $(seq 1 1020))
check "a service ID so long its check's ID would be too long is a 400" \
    [ "$(put service/register "{\"Name\":\"$long\",\"Check\":{\"TTL\":\"5s\"}}" |
    tail -c 4)" = ' 400' ]
check "and the agent is still up" alive "$agent_pid"
check "pass on a check that is not a TTL check is refused" \
    sh -c "curl -s -w ' %{http_code}' -X PUT '$url/v1/agent/check/pass/nope' | grep -q ' 404$'"

# Maintenance.
check "service maintenance on" \
    [ "$(curl -s -w '%{http_code}' -X PUT "$url/v1/agent/service/maintenance/db?enable=true&reason=upgrade")" = 200 ]
check "takes the instance out of ?passing" \
    poll 10 sh -c "[ \"\$(curl -s '$url/v1/health/service/db?passing' | jq length)\" = 0 ]"
check "with a maintenance check saying why" \
    [ "$(curl -s "$url/v1/agent/checks" | jq -r '.["_service_maintenance:db"] |
    [.Status, .Notes] | join(" ")')" = "critical upgrade" ]
check "service maintenance off" \
    [ "$(curl -s -w '%{http_code}' -X PUT "$url/v1/agent/service/maintenance/db?enable=false")" = 200 ]
check "brings it back" \
    poll 10 sh -c "[ \"\$(curl -s '$url/v1/health/service/db?passing' | jq length)\" = 1 ]"
check "node maintenance on takes every instance out" \
    sh -c "curl -s -X PUT '$url/v1/agent/maintenance?enable=true' >/dev/null &&
    sleep 1 && [ \"\$(curl -s '$url/v1/health/service/db?passing' | jq length)\" = 0 ]"
curl -s -X PUT "$url/v1/agent/maintenance?enable=false" >/dev/null
check "maintenance without ?enable is a 400" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$url/v1/agent/maintenance")" = 400 ]

# Anti-entropy repairs what is changed behind the agent's back.
curl -s -X PUT -d '{"Node":"node14","ServiceID":"web1"}' \
    "$url/v1/catalog/deregister" >/dev/null
curl -s -X PUT -d '{"Node":"node14","Address":"127.0.0.1","SkipNodeUpdate":true,
    "Service":{"Service":"stray","ID":"stray"}}' "$url/v1/catalog/register" >/dev/null
put service/register '{"Name":"other"}' >/dev/null
check "anti-entropy puts back a service deleted from the catalog" \
    poll 10 sh -c "curl -s '$url/v1/catalog/service/web' | jq -e '.[] | select(.ServiceID == \"web1\")' >/dev/null"
check "and removes one the agent does not have" \
    poll 10 sh -c "[ \"\$(curl -s '$url/v1/catalog/service/stray')\" = '[]' ]"

check "deregister a service" \
    [ "$(curl -s -w '%{http_code}' -X PUT "$url/v1/agent/service/deregister/other")" = 200 ]
check "an unknown one is a 404" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$url/v1/agent/service/deregister/nope")" = 404 ]
check "it leaves the catalog" \
    poll 10 sh -c "[ \"\$(curl -s '$url/v1/catalog/service/other')\" = '[]' ]"
check "deregister a check" \
    [ "$(curl -s -w '%{http_code}' -X PUT "$url/v1/agent/check/deregister/mem")" = 200 ]
check "it leaves the catalog too" \
    poll 10 sh -c "! curl -s '$url/v1/health/node/node14' | grep -q '\"CheckID\":\"mem\"'"

# A restart keeps what the API registered; the file keeps configured ones.
kill -TERM "$agent_pid"
wait "$agent_pid" 2>/dev/null
agent_start_server 14 "$test_tmp/agent.log" "$test_tmp/data" \
    -config-file="$test_tmp/services.json"
i=0
until curl -sf -o /dev/null "$url/v1/agent/services" || [ $i -gt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
check "after a restart the API's service is still registered" \
    [ "$(curl -s "$url/v1/agent/services" | jq -c 'keys')" = '["db","web","web1"]' ]
check "state kept in data_dir/agent/local.state, mode 0600" \
    [ "$(stat -c %a "$test_tmp/data/agent/local.state")" = 600 ]
tap_done
