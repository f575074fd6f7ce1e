#!/bin/sh
# ACL enforcement on the endpoints beyond KV and the catalog, on one
# server with default deny and a bootstrapped management token, all
# through curl: sessions (create, renew and destroy need session write
# on the node, info/list/node show only what session read allows),
# events (fire needs event write on the name, the list shows only
# readable names), operator (raft configuration and autopilot health
# need operator read, peer removal and leader transfer operator write),
# the keyring (keyring read for GET, write for the others), snapshots
# (management only), coordinates (filtered by node read, updated with
# node write), the UI's service summary (filtered like the catalog)
# and /v1/txn (a get-tree returns only the keys the token may read);
# an over-long token is refused without harm.  Refusals are 403 with
# Consul's detailed text naming the token's AccessorID, the permission
# and the name.
. "$(dirname "$0")/../lib/agent.sh"

n=74
data="$test_tmp/data"
cat >"$test_tmp/acl.json" <<'EOF'
{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny"}}
EOF
agent_ports $n
agent_start_server $n "$test_tmp/agent.log" "$data" \
    -config-file="$test_tmp/acl.json"
api="http://127.0.0.1:$http_port/v1"
anon=00000000-0000-0000-0000-000000000002
node=node$n

# req TOKEN METHOD PATH [BODY]: sets code and body.
req() {
	body=$(curl -s -w '\n%{http_code}' -X "$2" ${4:+--data-binary "$4"} \
	    ${1:+-H "X-Consul-Token: $1"} "$api/$3")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}
# denied WHAT: the detailed refusal for token accessor $acc.
denied() {
	[ "$code" = 403 ] && [ "$body" = "Permission denied: token with \
AccessorID '$acc' lacks permission $1" ]
}
booted() { req "" PUT acl/bootstrap; [ "$code" = 200 ]; }
check "the server bootstraps ACLs" poll 20 booted
mgmt=$(echo "$body" | jq -r .SecretID)
# token NAME RULES: a token with one policy; sets tok and acc.
token() {
	req "$mgmt" PUT acl/policy \
	    "$(jq -cn --arg n "$1" --arg r "$2" '{Name: $n, Rules: $r}')"
	req "$mgmt" PUT acl/token \
	    "$(jq -cn --arg n "$1" '{Policies: [{Name: $n}]}')"
	tok=$(echo "$body" | jq -r .SecretID)
	acc=$(echo "$body" | jq -r .AccessorID)
}
registered() {
	req "$mgmt" GET "catalog/node/$node"
	[ "$(echo "$body" | jq -r .Node.Node)" = "$node" ]
}
poll 20 registered

# Sessions.
acc=$anon
req "" PUT session/create "{\"Node\":\"$node\"}"
check "anonymous may not create a session: 403" \
    denied "'session:write' on \"$node\""
token sess-w "session \"$node\" { policy = \"write\" }"
sw=$tok; sw_acc=$acc
req "$sw" PUT session/create "{\"Node\":\"$node\",\"Name\":\"mine\"}"
sid=$(echo "$body" | jq -r .ID)
check "session write on the node creates one" [ "$code" = 200 ]
token sess-other "session_prefix \"elsewhere\" { policy = \"write\" }"
so=$tok; so_acc=$acc
req "$so" PUT "session/renew/$sid"
check "renewal needs session write on its node" \
    denied "'session:write' on \"$node\""
req "$so" PUT "session/destroy/$sid"
check "and so does destruction" denied "'session:write' on \"$node\""
req "$so" GET session/list
check "a token without session read lists none" [ "$body" = "[]" ]
check "and is told some were hidden" eval 'curl -s -D - -o /dev/null \
    -H "X-Consul-Token: $so" "$api/session/list" | tr -d "\r" |
    grep -qx "X-Consul-Results-Filtered-By-ACLs: true"'
req "$so" GET "session/info/$sid"
check "nor reads its info" eval '[ "$code" = 200 ] && [ "$body" = "[]" ]'
req "$so" GET "session/node/$node"
check "nor finds it by node" [ "$body" = "[]" ]
req "$sw" GET session/list
check "session write on the node lists it" \
    [ "$(echo "$body" | jq -r '.[0].ID')" = "$sid" ]
req "$sw" GET "session/info/$sid"
check "and reads its info" [ "$(echo "$body" | jq -r '.[0].Name')" = mine ]
req "$sw" PUT "session/renew/$sid"
check "and renews it" eval '[ "$code" = 200 ] &&
    [ "$(echo "$body" | jq -r ".[0].ID")" = "$sid" ]'
req "$sw" PUT "session/destroy/$sid"
check "and destroys it" eval '[ "$code" = 200 ] && [ "$body" = true ]'

# Events.
acc=$anon
req "" PUT event/fire/deploy payload
check "anonymous may not fire an event: 403" \
    denied "'event:write' on \"deploy\""
token ev "event_prefix \"deploy\" { policy = \"write\" }"
ev=$tok
req "$ev" PUT event/fire/deploy-web payload
check "event write on the prefix fires it" \
    eval '[ "$code" = 200 ] && [ "$(echo "$body" | jq -r .Name)" = deploy-web ]'
req "$ev" PUT event/fire/restart x
check "but not another name" denied "'event:write' on \"restart\""
req "$mgmt" PUT event/fire/restart x
listed() {
	req "$1" GET event/list
	[ "$(echo "$body" | jq -r '[.[].Name] | sort | join(",")')" = "$2" ]
}
check "the management token lists both events" \
    poll 10 listed "$mgmt" deploy-web,restart
check "event read on deploy lists only deploy-web" \
    listed "$ev" deploy-web
check "anonymous lists none" listed "" ""

# Operator.
acc=$anon
req "" GET operator/raft/configuration
check "anonymous may not read the raft configuration" \
    denied "'operator:read'"
req "" GET operator/autopilot/health
check "nor autopilot health" denied "'operator:read'"
token op-r "operator = \"read\""
opr=$tok
req "$opr" GET operator/raft/configuration
check "operator read reads the raft configuration" \
    eval '[ "$code" = 200 ] &&
    [ "$(echo "$body" | jq -r ".Servers[0].Node")" = "$node" ]'
req "$opr" GET operator/autopilot/health
check "and autopilot health" eval '[ "$code" = 200 ] &&
    [ "$(echo "$body" | jq -r .Healthy)" = true ]'
req "$opr" DELETE "operator/raft/peer?id=nosuch"
check "but may not remove a peer" denied "'operator:write'"
req "$opr" POST operator/raft/transfer-leader
check "nor transfer leadership" denied "'operator:write'"
token op-w "operator = \"write\""
req "$tok" DELETE "operator/raft/peer?id=nosuch"
check "operator write gets past the check to the removal" \
    eval '[ "$code" != 403 ] && [ "$code" != 200 ]'

# Keyring.
acc=$anon
req "" GET operator/keyring
check "anonymous may not list keys" denied "'keyring:read'"
token kr "keyring = \"read\""
kr=$tok; kr_acc=$acc
req "$kr" GET operator/keyring
check "keyring read lists them (past the check)" [ "$code" != 403 ]
key=$(head -c 32 /dev/urandom | base64)
req "$kr" POST operator/keyring "{\"Key\":\"$key\"}"
check "keyring read may not install a key" denied "'keyring:write'"
req "$kr" DELETE operator/keyring "{\"Key\":\"$key\"}"
check "nor remove one" denied "'keyring:write'"

# Snapshots: management only (acl:write).
token almost "operator = \"write\"
keyring = \"write\"
key_prefix \"\" { policy = \"write\" }"
req "$tok" GET snapshot
check "a non-management token may not save a snapshot" denied "'acl:write'"
req "$tok" PUT snapshot x
check "nor restore one" denied "'acl:write'"
curl -s -o "$test_tmp/snap" -w '%{http_code}' -H "X-Consul-Token: $mgmt" \
    "$api/snapshot" >"$test_tmp/snap.code"
check "the management token saves one" \
    eval '[ "$(cat "$test_tmp/snap.code")" = 200 ] &&
    [ "$(head -c 16 "$test_tmp/snap")" = consuld-snapshot ]'

# Coordinates: node read.
req "$mgmt" PUT coordinate/update "{\"Node\":\"$node\",\"Coord\":{\"Vec\":
    [0.1,0,0,0,0,0,0,0],\"Error\":1.5,\"Adjustment\":0,\"Height\":1e-5}}"
has_coord() {
	req "$1" GET coordinate/nodes
	[ "$(echo "$body" | jq -r '[.[].Node] | join(",")')" = "$2" ]
}
check "the management token sees the node's coordinate" \
    poll 15 has_coord "$mgmt" "$node"
check "anonymous sees none" has_coord "" ""
token nr "node \"$node\" { policy = \"read\" }"
nr=$tok
check "node read on it sees it" has_coord "$nr" "$node"
req "" GET "coordinate/node/$node"
check "anonymous: no coordinate for the node (404)" [ "$code" = 404 ]
req "$nr" PUT coordinate/update "{\"Node\":\"$node\",\"Coord\":{\"Vec\":
    [0.2,0,0,0,0,0,0,0],\"Error\":1.5,\"Adjustment\":0,\"Height\":1e-5}}"
check "an update needs node write on the node" \
    denied "'node:write' on \"$node\""

# The UI's service summary, like the catalog.
req "$mgmt" PUT catalog/register '{"Node":"ext1","Address":"127.0.0.9",
    "Service":{"Service":"web"}}'
req "$mgmt" PUT catalog/register '{"Node":"ext1","Address":"127.0.0.9",
    "Service":{"Service":"db"}}'
token web-r 'service "web" { policy = "read" }
node_prefix "" { policy = "read" }'
req "$tok" GET internal/ui/services
check "ui/services shows only the services the token reads" \
    [ "$(echo "$body" | jq -r '[.[].Name] | join(",")')" = web ]
req "$mgmt" GET internal/ui/services
check "the management token sees both" \
    [ "$(echo "$body" | jq -r '[.[].Name] | sort | join(",")')" = \
    consul,db,web ]

# /v1/txn: a get-tree is filtered key by key.
req "$mgmt" PUT kv/t/app/one 1
req "$mgmt" PUT kv/t/app/two 2
req "$mgmt" PUT kv/t/secret/x s
token app-r 'key_prefix "t/app/" { policy = "read" }'
ar=$tok; ar_acc=$acc
txn='[{"KV":{"Verb":"get-tree","Key":"t/"}}]'
req "$ar" PUT txn "$txn"
check "a txn get-tree returns only readable keys" eval '[ "$code" = 200 ] &&
    [ "$(echo "$body" | jq -r "[.Results[].KV.Key] | join(\",\")")" = \
    t/app/one,t/app/two ]'
req "$mgmt" PUT txn "$txn"
check "all of them to the management token" \
    [ "$(echo "$body" | jq -r '[.Results[].KV.Key] | join(",")')" = \
    t/app/one,t/app/two,t/secret/x ]
acc=$ar_acc
req "$ar" PUT txn '[{"KV":{"Verb":"set","Key":"t/app/one","Value":"eA=="}}]'
check "a txn write without key write: the detailed 403" \
    denied "'key:write' on \"t/app/one\""
req "$ar" PUT kv/t/secret/x y
check "KV writes say the same" denied "'key:write' on \"t/secret/x\""

# A token longer than any can be is unknown, and harms nothing.
long=$(head -c 3000 /dev/zero | tr '\0' a)
req "$long" GET catalog/nodes
check "an over-long token: 403 ACL not found" \
    eval '[ "$code" = 403 ] && [ "$body" = "ACL not found" ]'
req "$long" GET event/list
check "on the event list too" [ "$code" = 403 ]
req "$mgmt" GET status/leader
check "and the agent still answers" [ "$code" = 200 ]

check "no secret in the log" eval '! grep -q -e "$mgmt" -e "$sw" -e "$ev" \
    "$test_tmp/agent.log"'
tap_done
