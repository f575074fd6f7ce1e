#!/bin/sh
# ACLs across two datacenters (127.0.0.131 in dc1, the primary, and
# 127.0.0.132-134 in dc2), default deny in both: dc2's leader, and only
# it, replicates policies, roles and global tokens from dc1 with its
# replication token, so a token made in dc1 works for KV in dc2 within
# seconds, and so do its update and its deletion; /v1/acl/replication
# of dc2 (also read from dc1 with ?dc=dc2) shows the replication
# running; a local token of dc1 is refused in dc2 (403), a local token
# made in dc2 stays there, and a policy written in dc2 goes to dc1.
# A leadership transfer in dc2 stops it on the old leader and starts
# it on the new one.
# consulctl acl token clone copies a token; ExpirationTTL is bounded
# (1m to 24h).  With dc1 killed, dc2 goes on resolving what it has.
. "$(dirname "$0")/../lib/multidc.sh"

mgmt=6f0e2a8c-1d2b-4c3e-9f4a-5b6c7d8e9f01
repl=7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
mdc_init 131 "" "132 133 134"
for n in 131 132 133 134; do mkdir -p "$cl_dir/conf$n.d"; done
cat >"$cl_dir/conf131.d/acl.json" <<EOF
{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny",
  "tokens": {"initial_management": "$mgmt"}}}
EOF
for n in 132 133 134; do
	cat >"$cl_dir/conf$n.d/acl.json" <<EOF
{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny",
  "enable_token_replication": true, "tokens": {"replication": "$repl"}}}
EOF
done
u1=$(cl_url 131 /v1)
u2=$(cl_url 132 /v1)

# req URL METHOD TOKEN [BODY]: sets code and body.
req() {
	body=$(curl -s -w '\n%{http_code}' -X "$2" ${4:+--data-binary "$4"} \
	    ${3:+-H "X-Consul-Token: $3"} "$1")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}

# dc1 first, with the replication token, then dc2.
mdc_acl_start "$mgmt" "$repl" 'acl = \"write\"'

req "$u1/acl/policy" PUT "$mgmt" \
    '{"Name":"app-rw","Rules":"key_prefix \"app/\" { policy = \"write\" }"}'
req "$u1/acl/policy" PUT "$mgmt" \
    '{"Name":"app-ro","Rules":"key_prefix \"app/\" { policy = \"read\" }"}'
req "$u1/acl/token" PUT "$mgmt" \
    '{"Description":"app writer","Policies":[{"Name":"app-rw"}]}'
app=$(echo "$body" | jq -r .SecretID)
app_id=$(echo "$body" | jq -r .AccessorID)
check "a policy and a token made in dc1" [ "$code" = 200 ]
kvput() { req "$u2/kv/app/x" PUT "$app" v; [ "$code" = 200 ]; }
t0=$(now_ms)
check "the token writes app/ in dc2 within seconds" poll 15 kvput
diag "a new token worked in dc2 after $(($(now_ms) - t0)) ms"
req "$u2/kv/app/x" PUT "" v
check "no token writes nothing in dc2: 403" [ "$code" = 403 ]
req "$u1/kv/app/x?dc=dc2&raw" GET "$app"
check "dc1 reads dc2's key with it through ?dc=dc2" [ "$body" = v ]

req "$u2/acl/replication" GET ""
check "dc2's replication runs from dc1" [ "$(echo "$body" |
    jq -r '[.Enabled, .Running, .SourceDatacenter, .ReplicationType] |
    join(" ")')" = "true true dc1 tokens" ]
check "its indexes are past 0" [ "$(echo "$body" | jq '.ReplicatedIndex > 0
    and .ReplicatedRoleIndex > 0 and .ReplicatedTokenIndex > 0')" = true ]
check "its last success is an RFC 3339 time" eval 'echo "$body" |
    jq -e ".LastSuccess | test(\"^20[0-9-]+T[0-9:.]+Z$\")" >/dev/null'
anon=00000000-0000-0000-0000-000000000002
anon_mi() {
	curl -s -H "X-Consul-Token: $mgmt" "$u2/acl/token/$anon" |
	    jq -r .ModifyIndex
}
a1=$(anon_mi)
req "$u1/acl/token" PUT "$mgmt" '{"Description":"probe"}'
probe=$(echo "$body" | jq -r .AccessorID)
there() { req "$u2/acl/token/$probe" GET "$mgmt"; [ "$code" = 200 ]; }
poll 15 there
check "a new token in dc1 leaves dc2's anonymous token as it was" \
    eval '[ "$a1" != null ] && [ "$(anon_mi)" = "$a1" ]'
idx1=$(curl -s -D - -o /dev/null -H "X-Consul-Token: $mgmt" \
    "$u1/acl/tokens" | sed -n 's/^X-Consul-Index: *//ip' | tr -d '\r')
same_idx() {
	[ "$(curl -s "$u2/acl/replication" | jq .ReplicatedTokenIndex)" = \
	    "$idx1" ]
}
check "dc2's ReplicatedTokenIndex is dc1's token index" poll 10 same_idx
req "$u1/acl/replication?dc=dc2" GET ""
check "dc1 reads it with ?dc=dc2" \
    [ "$(echo "$body" | jq -r .SourceDatacenter)" = dc1 ]
req "$u1/acl/replication" GET ""
check "the primary replicates nothing" \
    [ "$(echo "$body" | jq -r '[.Enabled, .Running] | join(" ")')" = \
    "false false" ]

req "$u1/acl/token" PUT "$mgmt" \
    '{"Description":"dc1 only","Local":true,"Policies":[{"Name":"app-rw"}]}'
loc1=$(echo "$body" | jq -r .SecretID)
req "$u1/kv/app/y" PUT "$loc1" v
check "a local token of dc1 works in dc1" [ "$code" = 200 ]
sleep 2
req "$u2/kv/app/y" PUT "$loc1" v
check "and is refused in dc2: 403" [ "$code $body" = "403 ACL not found" ]

req "$u2/acl/token" PUT "$mgmt" \
    '{"Description":"dc2 only","Local":true,"Policies":[{"Name":"app-ro"}]}'
loc2=$(echo "$body" | jq -r .AccessorID)
check "a local token made in dc2" \
    [ "$code $(echo "$body" | jq -r .Local)" = "200 true" ]
req "$u1/acl/token/$loc2" GET "$mgmt"
check "stays in dc2 (dc1: 403 ACL not found)" \
    [ "$code $body" = "403 ACL not found" ]
req "$u1/acl/token?dc=dc2" PUT "$mgmt" \
    '{"Description":"dc2 from dc1","Local":true,"Policies":[{"Name":"app-ro"}]}'
loc3=$(echo "$body" | jq -r .AccessorID)
check "a local token made in dc2 from dc1 with ?dc=dc2" [ "$code" = 200 ]
req "$u2/acl/token/$loc3" GET "$mgmt"
check "is dc2's" [ "$code $(echo "$body" | jq -r .Local)" = "200 true" ]
req "$u2/acl/policy" PUT "$mgmt" \
    '{"Name":"from-dc2","Rules":"key \"z\" { policy = \"read\" }"}'
check "a policy written in dc2" [ "$code" = 200 ]
req "$u1/acl/policy/name/from-dc2" GET "$mgmt"
check "is dc1's" [ "$code" = 200 ]

req "$u1/acl/token/$app_id" PUT "$mgmt" '{"Policies":[{"Name":"app-ro"}]}'
ro() { req "$u2/kv/app/x" PUT "$app" w; [ "$code" = 403 ]; }
check "a token updated in dc1 to read only: dc2 refuses its write" \
    poll 15 ro
req "$u2/kv/app/x?raw" GET "$app"
check "and lets it read" [ "$body" = v ]
req "$u1/acl/token/$app_id" DELETE "$mgmt"
deleted() { req "$u2/kv/app/x" GET "$app"; [ "$code" = 403 ]; }
t0=$(now_ms)
check "a token deleted in dc1 is refused in dc2" poll 15 deleted
diag "a deleted token was refused in dc2 after $(($(now_ms) - t0)) ms"

# Only dc2's leader replicates, and a new one takes over.
agreed none 132 133 134
old=$cl_leader
curl -s -X POST -H "X-Consul-Token: $mgmt" \
    "$(cl_url "$old" /v1/operator/raft/transfer-leader)" >/dev/null
moved() { agreed "$old" 132 133 134; }
check "dc2's leadership moves" poll 10 moved
new=$cl_leader
running() {
	[ "$(curl -s "$(cl_url "$1" /v1/acl/replication)?stale" |
	    jq -r .Running)" = "$2" ]
}
check "the old leader stops replicating" poll 5 running "$old" false
check "the new one replicates" poll 5 running "$new" true
req "$u1/acl/token" PUT "$mgmt" \
    '{"Description":"after","Policies":[{"Name":"app-ro"}]}'
after=$(echo "$body" | jq -r .SecretID)
rda() { req "$u2/kv/app/x?raw" GET "$after"; [ "$body" = v ]; }
check "a token made in dc1 then works in dc2" poll 15 rda

# consulctl acl token clone
req "$u1/acl/token" PUT "$mgmt" \
    '{"Description":"reader","Policies":[{"Name":"app-ro"}]}'
rd_id=$(echo "$body" | jq -r .AccessorID)
out=$(CONSUL_HTTP_ADDR=127.0.0.131:$cl_http CONSUL_HTTP_TOKEN=$mgmt \
    "$CONSULCTL" acl token clone -id "$rd_id" -description "reader copy")
check "consulctl acl token clone prints the copy" \
    eval 'echo "$out" | grep -q "^Description:      reader copy$"'
clone_id=$(echo "$out" | sed -n 's/^AccessorID: *//p')
clone=$(echo "$out" | sed -n 's/^SecretID: *//p')
check "with new IDs" eval '[ ${#clone_id} = 36 ] && [ "$clone_id" != "$rd_id" ]'
check "and the same policy" eval 'echo "$out" | grep -q "app-ro"'
rdc() { req "$u2/kv/app/x?raw" GET "$clone"; [ "$body" = v ]; }
check "the clone reads app/ in dc2" poll 15 rdc
req "$u1/acl/token/$rd_id/clone" PUT "$mgmt"
check "the clone API without a body keeps the Description" \
    [ "$(echo "$body" | jq -r .Description)" = reader ]
req "$u1/acl/token/00000000-0000-4000-8000-000000000009/clone" PUT "$mgmt"
check "no such token to clone: 403" [ "$code" = 403 ]

# ExpirationTTL bounds
ttl() {
	req "$u1/acl/token" PUT "$mgmt" "{\"ExpirationTTL\":\"$1\",
	    \"Policies\":[{\"Name\":\"app-ro\"}]}"
}
ttl 30s
check "ExpirationTTL 30s: 400 naming the 1m0s bound" eval '[ "$code" = 400 ] &&
    echo "$body" | grep -q "cannot be less than 1m0s in the future"'
ttl 25h
check "ExpirationTTL 25h: 400 naming the 24h0m0s bound" eval '[ "$code" = 400 ] &&
    echo "$body" | grep -q "cannot be more than 24h0m0s in the future"'
ttl 10m
check "ExpirationTTL 10m is taken" [ "$code" = 200 ]

# dc1 down: dc2 resolves what it has.
req "$u1/acl/token" PUT "$mgmt" \
    '{"Description":"late","Policies":[{"Name":"app-rw"}]}'
late=$(echo "$body" | jq -r .SecretID)
lw() { req "$u2/kv/app/late" PUT "$late" v; [ "$code" = 200 ]; }
check "a last token reaches dc2" poll 15 lw
node_kill 131
req "$u2/kv/app/late?raw" GET "$late"
check "dc1 killed: dc2 still resolves the replicated token" [ "$body" = v ]
req "$u2/kv/app/late" PUT "" w
check "and still denies anonymous" [ "$code" = 403 ]
failed() {
	req "$u2/acl/replication" GET ""
	[ "$(echo "$body" | jq -r .LastErrorMessage)" != "" ]
}
check "its replication reports the error" poll 20 failed
req "$u2/acl/token" PUT "$mgmt" \
    '{"Description":"while down","Local":true,"Policies":[{"Name":"app-ro"}]}'
check "a local token is still made in dc2" [ "$code" = 200 ]
req "$u2/acl/policy" PUT "$mgmt" '{"Name":"while-down"}'
check "a policy, dc1's, is not: 500 No path to datacenter" \
    [ "$code $body" = "500 No path to datacenter" ]
check_alive "dc2 after dc1's end"
cluster_stop
no_secret() {
	local n
	for n in 131 132 133 134; do [ -s "$cl_dir/n$n.log" ] || return 1; done
	! cat "$cl_dir"/n13[1-4].log |
	    grep -q -e "$mgmt" -e "$repl" -e "$late" -e "$after"
}
check "no secret in any log" no_secret
[ "$tap_failed" -eq 0 ] || cl_keep_logs
tap_done
