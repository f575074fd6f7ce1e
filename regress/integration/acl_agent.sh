#!/bin/sh
# ACLs on the agent's own endpoints, on a single server with default
# deny: without a token /v1/agent/self, reload, join, leave,
# force-leave, maintenance and every service and check endpoint are a
# 403 and the members, services and checks lists are empty; a
# management token may do all of it.  A service token (service_prefix
# "web" write) registers web through /v1/agent/service/register and
# consulctl services register, and not db; it sees web and not db in
# the lists, gets a 403 for service/db, cannot deregister db nor put
# db or the node in maintenance; a check of web with it works, a node
# check or a script check does not (those need node:write).
# Anti-entropy puts web in the catalog with the token it was
# registered with.  PUT /v1/agent/token/default (consulctl acl
# set-agent-token) needs acl:write, takes effect at once and, with
# enable_token_persistence, survives a restart; the files that hold
# tokens are 0600 and the log shows no secret.
. "$(dirname "$0")/../lib/agent.sh"

n=71
data="$test_tmp/data"
cat >"$test_tmp/acl.json" <<'EOF'
{"primary_datacenter": "dc1", "enable_script_checks": true,
 "acl": {"enabled": true, "default_policy": "deny",
         "enable_token_persistence": true}}
EOF
agent_ports $n
agent_start_server $n "$test_tmp/agent.log" "$data" \
    -config-file="$test_tmp/acl.json"
url="http://127.0.0.1:$http_port/v1"
export CONSUL_HTTP_ADDR="127.0.0.1:$http_port"

# req METHOD PATH [BODY]: sets code and body; with $tok as the token.
tok=""
req() {
	body=$(curl -s -w '\n%{http_code}' -X "$1" ${3:+--data-binary "$3"} \
	    ${tok:+-H "X-Consul-Token: $tok"} "$url/$2")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}
denied() { [ "$code" = 403 ] && case $body in "Permission denied: token with AccessorID"*) ;; *) false ;; esac; }

booted() { req PUT acl/bootstrap; [ "$code" = 200 ]; }
poll 20 booted
mgmt=$(echo "$body" | jq -r .SecretID)
check "bootstrap" [ ${#mgmt} = 36 ]

# Anonymous (no token, no default token).
tok=""
req GET agent/self
check "self without a token: 403" denied
req GET agent/members
both() { \
    [ "$code" = 200 ] && [ "$body" = "[]" ]; }
check "members without a token: 200, none shown" both
req PUT agent/reload
check "reload: 403" denied
req PUT "agent/join/127.0.0.1:$serf_lan_port"
check "join: 403" denied
req PUT agent/leave
check "leave: 403" denied
req PUT agent/force-leave/nobody
check "force-leave: 403" denied
req PUT "agent/maintenance?enable=true"
check "node maintenance: 403" denied
req PUT agent/service/register '{"Name":"web","Port":80}'
check "service register: 403" denied
req PUT agent/check/register '{"Name":"n1","TTL":"30s"}'
check "check register: 403" denied
req PUT agent/token/default '{"Token":"x"}'
check "agent/token: 403" denied
tok=99999999-9999-9999-9999-999999999999
req GET agent/self
both() { \
    [ "$code" = 403 ] && [ "$body" = "ACL not found" ]; }
check "an unknown token: 403 ACL not found" both

# The management token.
tok=$mgmt
req GET agent/self
both() { \
    [ "$code" = 200 ] && [ "$(echo "$body" | jq -r .Config.NodeName)" = \
    "node$n" ]; }
check "self with the management token" both
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/agent/self?token=$mgmt")
check "?token= works too" [ "$code" = 200 ]
code=$(curl -s -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $mgmt" "$url/agent/self")
check "and Authorization: Bearer" [ "$code" = 200 ]
req GET agent/members
check "members with it" [ "$(echo "$body" | jq length)" = 1 ]
req PUT agent/reload
check "reload with it" [ "$code" = 200 ]
req PUT "agent/join/127.0.0.1:$serf_lan_port"
check "join with it" [ "$code" = 200 ]
req PUT agent/force-leave/nobody
check "force-leave with it is not refused by ACLs" [ "$code" != 403 ]
req PUT "agent/maintenance?enable=true"
check "node maintenance with it" [ "$code" = 200 ]
req GET agent/checks
check "the maintenance check shows to it" \
    [ "$(echo "$body" | jq -r 'has("_node_maintenance")')" = true ]
tok=""
req GET agent/checks
check "not to anonymous" [ "$body" = "{}" ]
tok=$mgmt
req PUT "agent/maintenance?enable=false"
req PUT agent/service/register '{"Name":"db","Port":5432}'
check "the management token registers db" [ "$code" = 200 ]

# A service token.
req PUT acl/policy '{"Name":"web","Rules":"service_prefix \"web\" { policy = \"write\" }"}'
req PUT acl/token '{"Policies":[{"Name":"web"}]}'
web=$(echo "$body" | jq -r .SecretID)
req PUT acl/policy '{"Name":"nodew","Rules":"node_prefix \"\" { policy = \"write\" }\nservice_prefix \"\" { policy = \"write\" }"}'
req PUT acl/token '{"Policies":[{"Name":"nodew"}]}'
nodew=$(echo "$body" | jq -r .SecretID)
req PUT acl/policy '{"Name":"ro","Rules":"service_prefix \"\" { policy = \"read\" }\nnode_prefix \"\" { policy = \"read\" }"}'
req PUT acl/token '{"Policies":[{"Name":"ro"}]}'
ro=$(echo "$body" | jq -r .SecretID)
both() { [ ${#web} = 36 ] && [ ${#nodew} = 36 ] && \
    [ ${#ro} = 36 ]; }
check "tokens made" both

tok=$web
req PUT agent/service/register '{"Name":"web","Port":80,"Check":{"TTL":"60s"}}'
check "the web token registers web" [ "$code" = 200 ]
req PUT agent/service/register '{"Name":"db2","Port":1}'
check "and not db2" denied
req PUT agent/service/register '{"Name":"webx","ID":"db","Port":1}'
check "nor take over db's ID" denied
req GET agent/services
check "it sees web and not db" \
    [ "$(echo "$body" | jq -r 'keys | join(",")')" = web ]
req GET agent/service/db
check "service/db: 403" denied
req GET agent/service/web
check "service/web: 200" [ "$code" = 200 ]
req PUT agent/service/deregister/db
check "it cannot deregister db" denied
req PUT "agent/service/maintenance/db?enable=true"
check "nor put db in maintenance" denied
req PUT "agent/service/maintenance/web?enable=true"
check "web, yes" [ "$code" = 200 ]
req PUT "agent/service/maintenance/web?enable=false"
req PUT agent/check/pass/service:web
check "it passes web's check" [ "$code" = 200 ]
req PUT agent/check/register '{"Name":"w2","ServiceID":"web","TTL":"30s"}'
check "it registers a check of web" [ "$code" = 200 ]
req PUT agent/check/register '{"Name":"n1","TTL":"30s"}'
check "not a node check" denied
req PUT agent/check/register '{"Name":"s1","ServiceID":"web","Args":["/bin/true"],"Interval":"10s"}'
check "nor a script check (node:write)" denied
tok=$nodew
req PUT agent/check/register '{"Name":"s1","ServiceID":"web","Args":["/bin/true"],"Interval":"10s"}'
check "which a node-write token registers" [ "$code" = 200 ]
req PUT agent/check/register '{"Name":"n1","TTL":"30s"}'
tok=$web
req PUT agent/check/pass/n1
check "the web token cannot pass the node check" denied
req PUT agent/check/deregister/n1
check "nor deregister it" denied
req GET agent/checks
both() { [ "$(echo "$body" | jq -r 'has("n1")')" = false ] && \
    [ "$(echo "$body" | jq -r 'has("w2")')" = true ]; }
check "nor see it" both
out=$("$CONSULCTL" services register -token="$web" -name=web-api -port=81 \
    2>&1)
has() { echo "$out" | grep -q "$1"; }
check "consulctl services register with it: web-api" \
    has "Registered service: web-api"
out=$("$CONSULCTL" services register -token="$web" -name=cache -port=82 \
    2>&1)
check "and not cache" has "Permission denied"

# Anti-entropy registers web with the token it was registered with.
in_catalog() {
	[ "$(curl -s -H "X-Consul-Token: $ro" "$url/catalog/service/$1" |
	    jq -r '.[0].ServiceName' 2>/dev/null)" = "$1" ]
}
check "anti-entropy puts web in the catalog" poll 15 in_catalog web
check "and web-api" poll 10 in_catalog web-api

# The agent's tokens.
out=$("$CONSULCTL" acl set-agent-token -token="$web" default "$ro" 2>&1)
check "set-agent-token needs acl:write" has "Permission denied"
out=$("$CONSULCTL" acl set-agent-token -token="$mgmt" default "$ro" 2>&1)
check "set-agent-token default: Consul's message" \
    [ "$out" = 'ACL token "default" set successfully' ]
tok=""
req GET agent/services
check "the default token serves callers without one, at once" \
    [ "$(echo "$body" | jq -r 'keys | join(",")')" = "db,web,web-api" ]
req GET agent/self
check "and only what it allows" denied
tok=$mgmt
req PUT agent/token/agent "{\"Token\":\"$ro\"}"
check "PUT agent/token/agent" [ "$code" = 200 ]
req PUT agent/token/nonsense '{"Token":"x"}'
check "an unknown kind: 404" [ "$code" = 404 ]
mode() { stat -c %a "$1"; }
check "acl-tokens is 0600" [ "$(mode "$data/acl-tokens")" = 600 ]
check "local.state is 0600" [ "$(mode "$data/agent/local.state")" = 600 ]

kill "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null
agent_start_server $n "$test_tmp/agent.log" "$data" \
    -config-file="$test_tmp/acl.json"
tok=""
persisted() {
	req GET agent/services
	[ "$(echo "$body" | jq -r 'keys | join(",")' 2>/dev/null)" = \
	    "db,web,web-api" ]
}
check "after a restart the persisted default token still serves" \
    poll 20 persisted
tok=$web
req PUT agent/service/register '{"Name":"db3","Port":1}'
check "and the web token is still refused db3" denied
# web leaves the catalog; a local change has anti-entropy sync, which
# can put it back only with web's own token (the agent token reads).
tok=$mgmt
req PUT catalog/deregister "{\"Node\":\"node$n\",\"ServiceID\":\"web\"}"
check "web deregistered from the catalog" \
    poll 5 sh -c "! curl -s -H 'X-Consul-Token: $ro' \
    '$url/catalog/service/web' | grep -q web"
req PUT agent/service/register '{"Name":"other","Port":7}'
check "the registrations kept their tokens: anti-entropy puts web back" \
    poll 10 in_catalog web

kill "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null
check "no secret in the log" \
    sh -c "! grep -q -e '$mgmt' -e '$web' -e '$nodew' -e '$ro' \
    '$test_tmp/agent.log'"
tap_done
