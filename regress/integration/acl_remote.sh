#!/bin/sh
# Tokens of the primary datacenter in a secondary that does not
# replicate them (acl.enable_token_replication off, Consul's default):
# 127.0.0.135 is dc1, the primary, 127.0.0.136 dc2, default deny in
# both.  dc2's server asks dc1 for a token its tables lack, holds the
# request meanwhile and serves it with dc1's answer, compiled for dc2
# (a policy limited to dc1 grants nothing there); it caches the answer
# for acl.token_ttl.  A dc1 token works for KV, the catalog and DNS in
# dc2 at its first use; one that does not exist, or a local token of
# dc1, is "ACL not found"; a token deleted in dc1 stops working in dc2
# once the TTL has run out; with dc1 killed, dc2 goes on with the
# tokens it had (extend-cache).
. "$(dirname "$0")/../lib/multidc.sh"

mgmt=5e0f2a8c-1d2b-4c3e-9f4a-5b6c7d8e9f35
repl=6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c36
dnstok=7b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d36
mdc_init 135 "" 136
for n in 135 136; do mkdir -p "$cl_dir/conf$n.d"; done
cat >"$cl_dir/conf135.d/acl.json" <<EOF
{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny",
  "tokens": {"initial_management": "$mgmt"}}}
EOF
cat >"$cl_dir/conf136.d/acl.json" <<EOF
{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny", "token_ttl": "2s",
  "tokens": {"replication": "$repl", "dns": "$dnstok"}}}
EOF
u1=$(cl_url 135 /v1)
u2=$(cl_url 136 /v1)

# req URL METHOD TOKEN [BODY]: sets code and body.
req() {
	body=$(curl -s --max-time 20 -w '\n%{http_code}' -X "$2" \
	    ${4:+--data-binary "$4"} ${3:+-H "X-Consul-Token: $3"} "$1")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}

mdc_acl_start "$mgmt" "$repl" 'acl = \"read\"'
req "$u2/acl/replication" GET ""
check "dc2 replicates policies only" [ "$(echo "$body" |
    jq -r '[.Enabled, .ReplicationType] | join(" ")')" = "true policies" ]

req "$u1/acl/policy" PUT "$mgmt" '{"Name":"app-rw",
    "Rules":"key_prefix \"app/\" { policy = \"write\" }\nservice_prefix \"\" { policy = \"write\" }\nnode_prefix \"\" { policy = \"write\" }"}'
req "$u1/acl/policy" PUT "$mgmt" '{"Name":"dc1-only","Datacenters":["dc1"],
    "Rules":"key_prefix \"only/\" { policy = \"write\" }"}'
req "$u1/acl/token" PUT "$mgmt" \
    '{"Description":"app","Policies":[{"Name":"app-rw"},{"Name":"dc1-only"}]}'
app=$(echo "$body" | jq -r .SecretID)
app_id=$(echo "$body" | jq -r .AccessorID)
check "a token made in dc1" [ "$code" = 200 ]
req "$u2/acl/token/$app_id" GET "$mgmt"
check "dc2's tables do not have it" [ "$code" != 200 ]

t0=$(now_ms)
req "$u2/kv/app/x" PUT "$app" v
check "its first write in dc2 works: dc2 asked dc1" \
    [ "$code $body" = "200 true" ]
diag "first use in dc2 answered in $(($(now_ms) - t0)) ms"
req "$u2/kv/app/x?raw" GET "$app"
check "and it reads the key back there" [ "$code $body" = "200 v" ]
req "$u2/kv/only/x" PUT "$app" v
check "a policy limited to dc1 grants nothing in dc2" [ "$code" = 403 ]
req "$u1/kv/only/x" PUT "$app" v
check "while it does in dc1" [ "$code" = 200 ]
req "$u2/kv/app/x" PUT "" v
check "no token writes nothing in dc2: 403" [ "$code" = 403 ]
req "$u2/catalog/register" PUT "$app" \
    '{"Node":"n9","Address":"10.36.0.9","Service":{"Service":"web","Port":80}}'
check "it registers in dc2's catalog" [ "$code" = 200 ]
req "$u2/catalog/service/web" GET "$app"
check "and reads it back" [ "$(echo "$body" | jq -r '.[0].Node')" = n9 ]
req "$u2/catalog/service/web" GET ""
check "anonymous does not see it" [ "$body" = "[]" ]

req "$u2/kv/app/x" PUT 0a0b0c0d-0000-4000-8000-000000000000 v
check "a token dc1 does not have: 403 ACL not found" \
    [ "$code $body" = "403 ACL not found" ]
req "$u1/acl/token" PUT "$mgmt" \
    '{"Description":"dc1 only","Local":true,"Policies":[{"Name":"app-rw"}]}'
loc=$(echo "$body" | jq -r .SecretID)
req "$u1/kv/app/y" PUT "$loc" v
check "a local token of dc1 writes in dc1" [ "$code" = 200 ]
req "$u2/kv/app/y" PUT "$loc" v
check "and is refused in dc2: 403 ACL not found" \
    [ "$code $body" = "403 ACL not found" ]

# DNS in dc2 under a DNS token that only dc1 has.
r='service_prefix \"\" { policy = \"read\" } node_prefix \"\" { policy = \"read\" }'
req "$u1/acl/policy" PUT "$mgmt" "{\"Name\":\"dns\",\"Rules\":\"$r\"}"
req "$u1/acl/token" PUT "$mgmt" "{\"SecretID\":\"$dnstok\",
    \"Policies\":[{\"Name\":\"dns\"}]}"
check "dc1 has dc2's DNS token" [ "$code" = 200 ]
web() {
	[ "$(dig +time=2 +tries=1 -p "$cl_dns" @127.0.0.136 +short \
	    web.service.consul A)" = 10.36.0.9 ]
}
check "dc2's DNS answers under it" poll 10 web

# Deleted in dc1: refused in dc2 once the TTL has run out.
req "$u1/acl/token/$app_id" DELETE "$mgmt"
check "the token deleted in dc1" [ "$code" = 200 ]
revoked() { req "$u2/kv/app/x" PUT "$app" v; [ "$code" = 403 ]; }
t0=$(now_ms)
check "refused in dc2 within the TTL (2 s)" poll 8 revoked
diag "refused in dc2 after $(($(now_ms) - t0)) ms"

# dc1 down: dc2 keeps what it had.
req "$u1/acl/token" PUT "$mgmt" \
    '{"Description":"app2","Policies":[{"Name":"app-rw"}]}'
app2=$(echo "$body" | jq -r .SecretID)
req "$u2/kv/app/z" PUT "$app2" v
check "another dc1 token writes in dc2" [ "$code" = 200 ]
node_kill 135
sleep 3
req "$u2/kv/app/z?raw" GET "$app2"
check "dc1 killed, past the TTL: dc2 still serves it (extend-cache)" \
    [ "$code $body" = "200 v" ]
req "$u2/kv/app/z" PUT 1a0b0c0d-0000-4000-8000-000000000000 v
check "a token it never saw: refused" [ "$code" = 403 ]

check "no secret in any log" sh -c "! cat '$cl_dir'/n*.log | grep -q \
    -e '$mgmt' -e '$repl' -e '$app' -e '$loc' -e '$app2' -e '$dnstok'"
check_alive "acl remote"
cluster_stop
tap_done
