#!/bin/sh
# Sessions and locks on a single agent, through the HTTP API with curl:
# create, info, node, list, renew and destroy with Consul's shapes and
# errors; KV ?acquire / ?release with LockIndex; the lock delay after a
# lost lock; invalidation by a check going critical and by a lapsed TTL
# (release and delete behaviors); blocking session reads; and sessions
# and their locks kept across a restart.
. "$(dirname "$0")/../lib/agent.sh"

agent_ports 40
agent_start_server 40 "$test_tmp/agent.log" "$test_tmp/data"
url="http://127.0.0.1:$http_port/v1"
wait_leader_at "$url"
# The leader registers this node (and its serfHealth) shortly after.
wait_node_at "$url" node40

# put PATH [BODY]: sets code and body.
put() {
	body=$(curl -s -w '\n%{http_code}' -X PUT --data-binary "${2:-}" \
	    "$url/$1")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}
get() {
	body=$(curl -s -w '\n%{http_code}' "$url/$1")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}

# --- create, read, renew, destroy --------------------------------------
put session/create '{"Name":"web-lock","TTL":"30s","LockDelay":"5s"}'
s1=$(echo "$body" | jq -r .ID)
check "create answers 200 with an ID" [ "$code" = 200 ]
check "the ID is a UUID" sh -c "echo '$s1' | grep -Eq \
'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'"
get "session/info/$s1"
shape='.[0] | [keys_unsorted, .Name, .Node, .LockDelay, .Behavior, .TTL,
    .NodeChecks, .ServiceChecks]'
check "info is an array of one Session in Consul's shape" [ "$code $(echo \
    "$body" | jq -c "$shape")" = '200 [["ID","Name","Node","LockDelay",'\
'"Behavior","TTL","NodeChecks","ServiceChecks","CreateIndex",'\
'"ModifyIndex"],"web-lock","node40",5000000000,"release","30s",'\
'["serfHealth"],null]' ]
check "info carries X-Consul-Index" sh -c "curl -s -D - -o /dev/null \
    '$url/session/info/$s1' | grep -qi '^X-Consul-Index: [1-9]'"
put session/create '{"Node":"node40","Behavior":"delete","LockDelay":0,
    "NodeChecks":[]}'
s2=$(echo "$body" | jq -r .ID)
get "session/info/$s2"
check "an empty NodeChecks means none; LockDelay 0 stays 0" [ "$(echo \
    "$body" | jq -c '.[0] | [.NodeChecks, .LockDelay, .Behavior, .TTL]')" \
    = '[null,0,"delete",""]' ]
put session/create '{"LockDelay":7}'
get "session/info/$(echo "$body" | jq -r .ID)"
check "a LockDelay number below 1000 is seconds" \
    [ "$(echo "$body" | jq '.[0].LockDelay')" = 7000000000 ]
put "session/destroy/$(echo "$body" | jq -r '.[0].ID')"
get session/list
check "list holds both sessions" [ "$code $(echo "$body" | jq length)" \
    = "200 2" ]
get session/node/node40
check "node lists the node's sessions" [ "$(echo "$body" | jq -r \
    'map(.ID) | sort | join(" ")')" = "$(printf '%s\n%s\n' "$s1" "$s2" | \
    sort | tr '\n' ' ' | sed 's/ $//')" ]
get session/node/nosuchnode
check "node of an unknown node is []" [ "$code $body" = "200 []" ]
get session/info/00000000-0000-0000-0000-000000000000
check "info of an unknown ID is []" [ "$code $body" = "200 []" ]
put "session/renew/$s1"
check "renew answers the session" [ "$code $(echo "$body" | \
    jq -r '.[0].ID')" = "200 $s1" ]
put session/renew/00000000-0000-0000-0000-000000000000
check "renew of an unknown ID is 404" [ "$code $body" = "404 Session id \
'00000000-0000-0000-0000-000000000000' not found" ]

# --- bad input -----------------------------------------------------------
put session/create '{"TTL":"5s"}'
check "a TTL below 10s is 500 with Consul's message" [ "$code $body" = \
    "500 Invalid Session TTL '5000000000', must be between [10s=24h0m0s]" ]
put session/create '{"TTL":"25h"}'
check "a TTL above 24h is refused" [ "$code" = 500 ]
put session/create '{"TTL":"soon"}'
check "a TTL that is no duration is refused" [ "$code" = 500 ]
put session/create '{"Behavior":"keep"}'
check "an unknown Behavior is 500" [ "$code $body" = \
    "500 Invalid Behavior setting 'keep'" ]
put session/create '{"Node":"ghost"}'
check "a node not in the catalog is 500 Missing node registration" \
    [ "$code $body" = "500 Missing node registration" ]
put session/create '{"NodeChecks":["serfHealth","nope"]}'
check "an unknown check is 500 Missing check registration" \
    [ "$code $body" = "500 Missing check 'nope' registration" ]
put session/create '{"Name":'
check "a body that is no JSON is 400 Request decode failed" \
    sh -c "[ '$code' = 400 ] && echo '$body' | grep -q '^Request decode failed'"
put session/create '{"NodeChecks":"serfHealth"}'
check "NodeChecks that is no list is 400" [ "$code" = 400 ]
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/session/create")
check "GET /v1/session/create is 405" [ "$code" = 405 ]

# --- locks ---------------------------------------------------------------
put "kv/svc/leader?acquire=$s1" one
check "acquire a free key is true" [ "$code $body" = "200 true" ]
get kv/svc/leader
check "the pair names the holder, LockIndex 1" [ "$(echo "$body" | \
    jq -r '.[0] | "\(.Session) \(.LockIndex)"')" = "$s1 1" ]
put "kv/svc/leader?acquire=$s1" again
check "the holder may acquire again and rewrite the value" \
    [ "$body $(curl -s "$url/kv/svc/leader?raw") $(curl -s \
    "$url/kv/svc/leader" | jq .[0].LockIndex)" = "true again 1" ]
put "kv/svc/leader?acquire=$s2" two
check "another session cannot acquire a held key" [ "$code $body" = \
    "200 false" ]
put "kv/svc/leader?release=$s2" two
check "nor release it" [ "$code $body" = "200 false" ]
put "kv/svc/leader?acquire=11111111-2222-4333-8444-555555555555" x
check "acquire with an unknown session is 500 invalid session" \
    [ "$code $body" = '500 invalid session "11111111-2222-4333-8444-555555555555"' ]
put "kv/svc/leader?acquire=" x
check "acquire= with no session is 500 missing session" \
    [ "$code $body" = "500 missing session" ]
put "kv/svc/leader" plain
check "a plain PUT on a held key is true and keeps the holder" \
    [ "$body $(curl -s "$url/kv/svc/leader" | jq -r .[0].Session)" = \
    "true $s1" ]
put "kv/svc/leader?release=$s1" released
get kv/svc/leader
check "release clears Session and keeps LockIndex" [ "$(echo "$body" | \
    jq -c '.[0] | [has("Session"), .LockIndex]')" = '[false,1]' ]
put "kv/svc/leader?acquire=$s2" two
check "a released key can be taken by another session" [ "$body" = true ]
get kv/svc/leader
check "which moves LockIndex to 2" [ "$(echo "$body" | jq .[0].LockIndex)" = 2 ]
put "kv/svc/leader?release=$s2" x

# Lock delay: destroying the holder keeps the key from others for 5s.
put "kv/svc/delay?acquire=$s1" held
put "session/destroy/$s1"
check "destroy is true" [ "$code $body" = "200 true" ]
put "session/destroy/$s1"
check "destroy again is still true" [ "$code $body" = "200 true" ]
get kv/svc/delay
check "the destroyed session's lock is released" \
    [ "$(echo "$body" | jq -c '.[0] | [has("Session"), .LockIndex]')" = \
    '[false,1]' ]
put "kv/svc/delay?acquire=$s2" mine
check "within the lock delay another session cannot acquire" \
    [ "$code $body" = "200 false" ]
acquired() {
	put "kv/svc/delay?acquire=$s2" mine
	[ "$body" = true ]
}
check "once the lock delay passes it can" poll 30 acquired

# Behavior delete: destroying the session deletes the keys it holds.
put "session/destroy/$s2"
check "a delete session's keys go with it" [ "$(curl -s -o /dev/null \
    -w '%{http_code}' "$url/kv/svc/delay")" = 404 ]

# --- invalidation ----------------------------------------------------------
put agent/check/register '{"Name":"guard","TTL":"5m","Status":"passing"}'
in_catalog() { curl -s "$url/health/node/node40" | grep -q '"guard"'; }
poll 20 in_catalog
put session/create '{"NodeChecks":["serfHealth","guard"]}'
s3=$(echo "$body" | jq -r .ID)
check "a session on a passing check" [ "$code" = 200 ]
put "kv/guarded?acquire=$s3" x
put agent/check/fail/guard
gone() { [ "$(curl -s "$url/session/info/$s3")" = "[]" ]; }
check "a check turning critical invalidates the session" poll 20 gone
check "and releases its lock" [ "$(curl -s "$url/kv/guarded" | \
    jq -c '.[0] | has("Session")')" = false ]
put session/create '{"NodeChecks":["guard"]}'
check "a session on a critical check is refused" [ "$code $body" = \
    "500 Check 'guard' is in critical state" ]

# Blocking: info on the sessions index wakes when a session goes.
put session/create '{"TTL":"10s","Behavior":"delete"}'
s4=$(echo "$body" | jq -r .ID)
put "kv/ttl/key?acquire=$s4" x
idx=$(curl -s -D - -o /dev/null "$url/session/info/$s4" | \
    sed -n 's/^X-Consul-Index: *//ip' | tr -d '\r')
curl -s -o "$test_tmp/block" "$url/session/info/$s4?index=$idx&wait=60s" &
bpid=$!
lapsed() { [ "$(curl -s "$url/session/info/$s4")" = "[]" ]; }
check "a session not renewed lapses (within twice its TTL)" poll 40 lapsed
check "and deleted its key" [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "$url/kv/ttl/key")" = 404 ]
wait $bpid
check "a blocked info query returned once the sessions changed" \
    [ -s "$test_tmp/block" ]

# --- a restart keeps sessions and locks --------------------------------------
put session/create '{"Name":"kept"}'
s5=$(echo "$body" | jq -r .ID)
put "kv/kept?acquire=$s5" x
kill -TERM "$agent_pid"
i=0; while alive "$agent_pid" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
agent_start_server 40 "$test_tmp/agent.log" "$test_tmp/data"
wait_leader_at "$url"
get "session/info/$s5"
check "a session survives a restart" [ "$(echo "$body" | jq -r .[0].Name)" \
    = kept ]
put "kv/kept?acquire=$s2" y
check "and so does its lock" [ "$(curl -s "$url/kv/kept" | \
    jq -r .[0].Session)" = "$s5" ]

check "no sanitizer report" sh -c "! grep -q 'runtime error\|AddressSanitizer' \
    '$test_tmp/agent.log'"
tap_done
