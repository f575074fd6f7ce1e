#!/bin/sh
# The ACL API on a single server with acl.enabled and default deny,
# through /v1/acl with curl: the built-in policy and anonymous token
# appear, bootstrap works once and is refused with the reset index,
# the acl-bootstrap-reset file in data_dir allows one more; policies,
# tokens and roles are made, read (by ID, by name, /self, lists with
# ?policy), updated and deleted in Consul's shapes; links by name
# resolve; malformed rules are a 400 naming line and column, unknown
# policy names a 400 naming them; the state survives a restart;
# acl.tokens.initial_management becomes a management token; no
# secret ends up in the log.  consulctl's acl commands do the same.
# The ACL endpoints need acl:read or acl:write (anonymous has neither).
# KV is enforced: anonymous is refused, a read-only token reads and
# cannot write, a key_prefix "app/" write rule (through a role) writes
# under app/ only, recurse and keys hide what the token cannot read,
# a recursive delete needs the whole prefix, a txn every key, and an
# expired token is refused.  Catalog and health hide the services a
# token cannot read (with X-Consul-Results-Filtered-By-ACLs), and a
# service token registers only its own service on its node.
. "$(dirname "$0")/../lib/agent.sh"

n=70
data="$test_tmp/data"
cat >"$test_tmp/acl.json" <<'EOF'
{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny",
  "token_min_expiration_ttl": "1s"}}
EOF
agent_ports $n
agent_start_server $n "$test_tmp/agent.log" "$data" \
    -config-file="$test_tmp/acl.json"
url="http://127.0.0.1:$http_port/v1/acl"
mgmt=00000000-0000-0000-0000-000000000001
anon=00000000-0000-0000-0000-000000000002

# req METHOD PATH [BODY]: sets code and body; with $tok as the token.
tok=""
req() {
	body=$(curl -s -w '\n%{http_code}' -X "$1" ${3:+--data-binary "$3"} \
	    ${tok:+-H "X-Consul-Token: $tok"} "$url/$2")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}

default_deny() {
	curl -s -D - -o /dev/null "$url/policies" | tr -d '\r' | \
	    grep -qx 'X-Consul-Default-ACL-Policy: deny'
}
check "X-Consul-Default-ACL-Policy says deny, from the config" \
    poll 15 default_deny
hdrs=$(curl -s -D - -o /dev/null "$url/../nope" | tr -d '\r')
check "an unknown path is a 404" \
    sh -c "echo '$hdrs' | head -n 1 | grep -q ' 404'"
check "without X-Consul-Default-ACL-Policy, as Consul" \
    sh -c "! echo '$hdrs' | grep -qi '^X-Consul-Default-ACL-Policy'"

# The leader makes the built-ins first: bootstrap needs the policy.
booted() { req PUT bootstrap; [ "$code" = 200 ]; }
poll 15 booted
boot_secret=$(echo "$body" | jq -r .SecretID)
boot_acc=$(echo "$body" | jq -r .AccessorID)
boot_index=$(echo "$body" | jq -r .CreateIndex)
check "bootstrap makes a management token" [ "$code" = 200 ]
check "bootstrap makes a management token (2)" \
    [ "$(echo "$body" | jq -r '.Policies[0].ID')" = $mgmt ]
check "bootstrap makes a management token (3)" \
    [ "$(echo "$body" | jq -r .ID)" = "$boot_secret" ]
req GET "token/$anon"
check "anonymous may not read tokens: 403" [ "$code" = 403 ]
check "anonymous may not read tokens: 403 (2)" \
    [ "$body" = "Permission denied: token with AccessorID '$anon' lacks permission 'acl:read'" ]
req PUT policy '{"Name":"sneaky"}'
check "nor write policies" [ "$code" = 403 ]
tok=99999999-9999-9999-9999-999999999999
req GET tokens
check "an unknown token: 403 ACL not found" [ "$code" = 403 ]
check "an unknown token: 403 ACL not found (2)" \
    [ "$body" = "ACL not found" ]
tok=$boot_secret
req GET "token/$anon"
check "the leader made the anonymous token" \
    [ "$(echo "$body" | jq -r .SecretID)" = anonymous ]
req GET "policy/$mgmt"
check "and the global-management policy" \
    [ "$(echo "$body" | jq -r .Name)" = global-management ]

req PUT bootstrap
check "a second bootstrap is refused naming the reset index" \
    [ "$code" = 403 ]
check "a second bootstrap is refused naming the reset index (2)" \
    [ "$body" = "Permission denied: ACL bootstrap \
no longer allowed (reset index: $boot_index)" ]
echo 1 >"$data/acl-bootstrap-reset"
req PUT bootstrap
check "a reset file with another index changes nothing" [ "$code" = 403 ]
echo "$boot_index" >"$data/acl-bootstrap-reset"
req PUT bootstrap
second_secret=$(echo "$body" | jq -r .SecretID)
check "the reset index allows one more bootstrap" [ "$code" = 200 ]
check "the reset index allows one more bootstrap (2)" \
    [ "$second_secret" != "$boot_secret" ]
req PUT bootstrap
check "and only one" [ "$code" = 403 ]

req PUT policy '{"Name":"kv-ro","Rules":"key_prefix \"\" {\n  policy = \"reed\"\n}"}'
both() { [ "$code" = 400 ] && \
    echo "$body" | grep -q 'line 2, column 12: .*invalid policy "reed"'; }
check "malformed rules: 400 naming line and column" both
req PUT policy '{"Name":"kv-ro","Rules":"{\"key\": {\"a\": {\"policy\": \"read\"}}"}'
both() { [ "$code" = 400 ] && \
    echo "$body" | grep -q 'line 1, column 34'; }
check "unterminated JSON rules: 400 too" both
req PUT policy '{"Name":"bad name!","Rules":""}'
check "a policy name with a space is refused" [ "$code" = 400 ]
req PUT policy '{"Name":"kv-ro","Description":"read all keys",
    "Rules":"key_prefix \"\" { policy = \"read\" }"}'
pol=$(echo "$body" | jq -r .ID)
check "a policy is made" [ "$code" = 200 ]
check "a policy is made (2)" \
    [ "$(echo "$body" | jq -r .Rules)" = 'key_prefix "" { policy = "read" }' ]
req PUT policy '{"Name":"kv-ro","Rules":""}'
both() { [ "$code" = 400 ] && \
    echo "$body" | grep -q 'already exists'; }
check "its name is unique" both
req GET policy/name/kv-ro
check "read by name" [ "$(echo "$body" | jq -r .ID)" = "$pol" ]
req GET policies
check "the list has both, without Rules" \
    \
    [ "$(echo "$body" | jq -r 'map(.Name) | sort | join(",")')" = \
    "global-management,kv-ro" ]
check "the list has both, without Rules (2)" \
    [ "$(echo "$body" | jq 'map(has("Rules")) | any')" = false ]
req PUT "policy/$pol" '{"Name":"kv-read","Rules":"key_prefix \"app/\" { policy = \"write\" }"}'
check "an update renames it and keeps CreateIndex" [ "$code" = 200 ]
check "an update renames it and keeps CreateIndex (2)" \
    [ "$(echo "$body" | jq -r .Name)" = kv-read ]
check "an update renames it and keeps CreateIndex (3)" \
    [ "$(echo "$body" | jq '.ModifyIndex > .CreateIndex')" = true ]
req PUT "policy/$mgmt" '{"Name":"global-management","Rules":"acl = \"read\""}'
check "the built-in policy's rules stay" [ "$code" = 400 ]
req DELETE "policy/$mgmt"
check "and it cannot be deleted" [ "$code" = 400 ]

req PUT token '{"Description":"x","Policies":[{"Name":"nope"}]}'
both() { [ "$code" = 400 ] && \
    echo "$body" | grep -q 'nope'; }
check "an unknown policy name: 400 naming it" both
req PUT token '{"Description":"x","ServiceIdentities":[{"ServiceName":"Web!"}]}'
check "an invalid service identity name: 400" [ "$code" = 400 ]
req PUT token '{"Description":"x","SecretID":"not-a-uuid"}'
check "a SecretID that is no UUID: 400" [ "$code" = 400 ]
req PUT token '{"Description":"reader","Policies":[{"Name":"kv-read"}],
    "ServiceIdentities":[{"ServiceName":"web","Datacenters":["dc1"]}],
    "NodeIdentities":[{"NodeName":"node1","Datacenter":"dc1"}],
    "ExpirationTTL":"1h"}'
acc=$(echo "$body" | jq -r .AccessorID)
sec=$(echo "$body" | jq -r .SecretID)
check "a token is made with new IDs and its links" [ "$code" = 200 ]
check "a token is made with new IDs and its links (2)" [ ${#acc} = 36 ]
check "a token is made with new IDs and its links (3)" [ ${#sec} = 36 ]
check "a token is made with new IDs and its links (4)" \
    [ "$(echo "$body" | jq -r '.Policies[0].ID')" = "$pol" ]
check "a token is made with new IDs and its links (5)" \
    [ "$(echo "$body" | jq -r '.ServiceIdentities[0].Datacenters[0]')" = \
    dc1 ]
check "a token is made with new IDs and its links (6)" \
    [ "$(echo "$body" | jq -r .ExpirationTTL)" = 1h0m0s ]
check "a token is made with new IDs and its links (7)" \
    [ "$(echo "$body" | jq -r '.Hash | length > 10')" = true ]
req PUT token "{\"AccessorID\":\"11111111-2222-3333-4444-555555555555\",
    \"SecretID\":\"$sec\"}"
check "a SecretID in use is refused" [ "$code" = 400 ]
self=$(curl -s -H "X-Consul-Token: $sec" "$url/token/self" | \
    jq -r .AccessorID)
bearer=$(curl -s -H "Authorization: Bearer $sec" "$url/token/self" | \
    jq -r .AccessorID)
query=$(curl -s "$url/token/self?token=$sec" | jq -r .AccessorID)
check "token/self finds it by header, bearer and ?token" \
    \
    [ "$self" = "$acc" ]
check "token/self finds it by header, bearer and ?token (2)" \
    [ "$bearer" = "$acc" ]
check "token/self finds it by header, bearer and ?token (3)" \
    [ "$query" = "$acc" ]
tok=$sec
req GET tokens
check "a token without acl rules may not list tokens" [ "$code" = 403 ]
tok=$boot_secret
req PUT policy '{"Name":"acl-ro","Rules":"acl = \"read\""}'
req PUT token '{"Policies":[{"Name":"acl-ro"}]}'
ro=$(echo "$body" | jq -r .SecretID)
ro_acc=$(echo "$body" | jq -r .AccessorID)
tok=$ro
req GET tokens
list_code=$code
list_body=$body
check "acl = read sees every other token's SecretID as <hidden>" \
    sh -c "echo '$list_body' | jq -e --arg me '$ro_acc' '
    [.[] | select(.AccessorID != \$me) | .SecretID] |
    length > 1 and all(. == \"<hidden>\")' >/dev/null"
req GET "token/$boot_acc"
check "acl = read reads the management token" [ "$code" = 200 ]
check "acl = read reads the management token without its secret" \
    [ "$(echo "$body" | jq -r .SecretID)" = "<hidden>" ]
req GET token/self
check "token/self shows the caller its own secret" \
    [ "$(echo "$body" | jq -r .SecretID)" = "$ro" ]
req PUT policy '{"Name":"by-reader"}'
check "acl = read lists tokens but makes no policy" \
    \
    [ "$list_code" = 200 ]
check "acl = read lists tokens but makes no policy (2)" [ "$code" = 403 ]
tok=$boot_secret
tok=""
req GET token/self
check "token/self without a token is the anonymous one" \
    [ "$(echo "$body" | jq -r .AccessorID)" = $anon ]
tok=$boot_secret
code=$(curl -s -o /dev/null -w '%{http_code}' -H \
    "X-Consul-Token: 99999999-9999-9999-9999-999999999999" "$url/token/self")
check "an unknown secret is 403 ACL not found" [ "$code" = 403 ]

req PUT role '{"Name":"ops","Policies":[{"ID":"'"$pol"'"}]}'
role=$(echo "$body" | jq -r .ID)
check "a role is made" [ "$code" = 200 ]
check "a role is made (2)" \
    [ "$(echo "$body" | jq -r '.Policies[0].Name')" = kv-read ]
req PUT role '{"Name":"ops"}'
check "role names are unique" [ "$code" = 400 ]
req GET role/name/ops
check "read by name" [ "$(echo "$body" | jq -r .ID)" = "$role" ]
req PUT "token/$acc" '{"Description":"reader+ops","Roles":[{"Name":"ops"}]}'
check "an update without SecretID keeps it and links the role" \
    \
    [ "$code" = 200 ]
check "an update without SecretID keeps it and links the role (2)" \
    [ "$(echo "$body" | jq -r .SecretID)" = "$sec" ]
check "an update without SecretID keeps it and links the role (3)" \
    [ "$(echo "$body" | jq -r '.Roles[0].ID')" = "$role" ]
check "an update without SecretID keeps it and links the role (4)" \
    [ "$(echo "$body" | jq -r .ExpirationTTL)" = 1h0m0s ]
req GET "tokens?policy=$mgmt"
check "tokens ?policy lists the two bootstrap tokens" \
    [ "$(echo "$body" | jq length)" = 2 ]
req GET "tokens?role=$role"
check "tokens ?role lists the one" \
    \
    [ "$(echo "$body" | jq -r '.[0].AccessorID')" = "$acc" ]
check "tokens ?role lists the one (2)" [ "$(echo "$body" | jq length)" = 1 ]

req DELETE "role/$role"
check "a role is deleted" [ "$code" = 200 ]
check "a role is deleted (2)" [ "$body" = true ]
req GET "role/$role"
check "a deleted role: 404 with no body, as Consul" [ "$code:$body" = "404:" ]
req GET "role/name/app-role-gone"
check "an unknown role name: 404" [ "$code:$body" = "404:" ]
req GET "policy/00000000-0000-4000-8000-00000000dead"
check "an unknown policy: 403 ACL not found, as Consul" \
    [ "$code $body" = "403 ACL not found" ]
req GET "policy/name/no-such-policy"
check "an unknown policy name: 403 ACL not found" \
    [ "$code $body" = "403 ACL not found" ]
req GET "token/$acc"
check "and the token's link to it goes" \
    [ "$(echo "$body" | jq '.Roles | length')" = 0 ]
req DELETE "token/$anon"
check "the anonymous token stays" [ "$code" = 400 ]

# The same through consulctl.
ctl() {
	"$CONSULCTL" "$@" -http-addr="127.0.0.1:$http_port" -token="$tok"
}
out=$(ctl acl bootstrap 2>&1)
rc=$?
both() { [ $rc = 1 ] && \
    echo "$out" | grep -q "^Failed ACL bootstrapping: Unexpected response \
code: 403 (Permission denied: ACL bootstrap no longer allowed"; }
check "consulctl acl bootstrap: refused, exit 1" both
printf 'key_prefix "app/" {\n  policy = "write"\n}\n' >"$test_tmp/app.hcl"
out=$(ctl acl policy create -name app-write -description "app keys" \
    -rules @"$test_tmp/app.hcl")
rc=$?
both() { [ $rc = 0 ] && \
    echo "$out" | grep -q '^Name:         app-write$' && \
    echo "$out" | grep -q '^key_prefix "app/" {$'; }
check "consulctl acl policy create -rules @file" both
out=$(ctl acl policy create -name broken -rules 'key "x" { policy = 1 }' \
    2>&1)
rc=$?
both() { [ $rc = 1 ] && \
    echo "$out" | grep -q 'line 1, column 20'; }
check "consulctl: bad rules exit 1 with line and column" both
ctl acl role create -name app-role -policy-name app-write >/dev/null
out=$(ctl acl token create -description "web" -policy-name app-write \
    -role-name app-role -service-identity web:dc1 -node-identity n1:dc1)
c_acc=$(echo "$out" | awk '/^AccessorID:/ { print $2 }')
c_sec=$(echo "$out" | awk '/^SecretID:/ { print $2 }')
both() { \
    [ ${#c_sec} = 36 ] && echo "$out" | grep -q ' - app-write$' && \
    echo "$out" | grep -q ' - app-role$' && \
    echo "$out" | grep -q '^   web (Datacenters: dc1)$' && \
    echo "$out" | grep -q '^   n1 (Datacenter: dc1)$'; }
check "consulctl acl token create with names and identities" both
self_env=$(CONSUL_HTTP_TOKEN=$c_sec "$CONSULCTL" acl token read -self \
    -http-addr="127.0.0.1:$http_port" | \
    awk '/^AccessorID:/ { print $2 }')
echo "$c_sec" >"$test_tmp/tokfile"
self_file=$("$CONSULCTL" acl token read -self \
    -http-addr="127.0.0.1:$http_port" -token-file="$test_tmp/tokfile" | \
    awk '/^AccessorID:/ { print $2 }')
check "token read -self with CONSUL_HTTP_TOKEN and -token-file" \
    \
    [ "$self_env" = "$c_acc" ]
check "token read -self with CONSUL_HTTP_TOKEN and -token-file (2)" \
    [ "$self_file" = "$c_acc" ]
out=$(ctl acl token update -id "$c_acc" -description renamed)
check "consulctl acl token update" \
    echo "$out" | grep -q '^Description:      renamed$'
check "consulctl acl token list shows it" \
    sh -c "$CONSULCTL acl token list -http-addr=127.0.0.1:$http_port \
    -token=$tok | \
    grep -q '$c_acc'"
out=$(ctl acl token create -policy-name missing 2>&1)
rc=$?
both() { [ $rc = 1 ] && \
    echo "$out" | grep -q 'missing'; }
check "consulctl: an unknown policy name exits 1 naming it" both
out=$(ctl acl token delete -id "$c_acc")
check "consulctl acl token delete" \
    [ "$out" = "Token \"$c_acc\" deleted successfully" ]
out=$(ctl acl role delete -name app-role)
check "consulctl acl role delete by name" [ $? = 0 ]
out=$(ctl acl role read -name app-role 2>&1)
rc=$?
both() { [ $rc = 1 ] && [ "$out" = 'Role not found with name "app-role"' ]; }
check "consulctl acl role read of a deleted role: not found, exit 1" both
out=$(ctl acl policy delete -name app-write)
rc=$?
both() { [ $rc = 0 ] && \
    ! ctl acl policy list | grep -q app-write; }
check "consulctl acl policy delete by name" both

# KV enforcement.  kvreq TOKEN METHOD PATH [BODY]: sets code and body.
kvreq() {
	body=$(curl -s -w '\n%{http_code}' -X "$2" ${4:+--data-binary "$4"} \
	    ${1:+-H "X-Consul-Token: $1"} "http://127.0.0.1:$http_port/v1/$3")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}
# mktoken BODY: the SecretID of a new token (management makes it).
mktoken() {
	curl -s -X PUT -H "X-Consul-Token: $boot_secret" --data-binary "$1" \
	    "$url/token" | jq -r .SecretID
}
mkpolicy() {
	curl -s -X PUT -H "X-Consul-Token: $boot_secret" \
	    --data-binary "{\"Name\":\"$1\",\"Rules\":\"$2\"}" "$url/policy" | \
	    jq -r .ID
}
kvreq "$boot_secret" PUT kv/app/one 1
kvreq "$boot_secret" PUT kv/app/two 2
kvreq "$boot_secret" PUT kv/secret/x s
check "the management token writes any key" eval '[ "$code" = 200 ] && [ "$body" = true ]'
kvreq "" GET kv/app/one
check "anonymous reads of a key: 403 Permission denied" [ "$code" = 403 ]
check "anonymous reads of a key: 403 Permission denied (2)" \
    [ "$body" = "Permission denied: token with AccessorID '$anon' lacks permission 'key:read' on \"app/one\"" ]
kvreq "" GET "kv/?recurse"
check "anonymous recurse finds nothing: 404" [ "$code" = 404 ]
kvreq "" PUT kv/app/one x
check "anonymous writes: 403" [ "$code" = 403 ]
check "anonymous writes: 403 (2)" \
    [ "$body" = "Permission denied: token with AccessorID '$anon' lacks permission 'key:write' on \"app/one\"" ]
kvreq 99999999-9999-9999-9999-999999999999 GET kv/app/one
check "an unknown token on KV: 403 ACL not found" eval '[ "$code" = 403 ] && [ "$body" = "ACL not found" ]'
mkpolicy kv-app-ro 'key_prefix \"app/\" { policy = \"read\" }' >/dev/null
ro=$(mktoken '{"Description":"ro","Policies":[{"Name":"kv-app-ro"}]}')
kvreq "$ro" GET kv/app/one
v=$(echo "$body" | jq -r '.[0].Value' | base64 -d)
check "a read-only token reads under app/" eval '[ "$code" = 200 ] && [ "$v" = 1 ]'
kvreq "$ro" PUT kv/app/one x
check "and cannot write there" [ "$code" = 403 ]
kvreq "$ro" GET kv/secret/x
check "nor read elsewhere" [ "$code" = 403 ]
ro_keys=$(curl -s -H "Authorization: Bearer $ro" \
    "http://127.0.0.1:$http_port/v1/kv/?recurse" | jq -r 'map(.Key) | join(",")')
ro_hdr=$(curl -s -D - -o /dev/null "http://127.0.0.1:$http_port/v1/kv/?keys&token=$ro" | \
    tr -d '\r' | awk -F': ' '$1 == "X-Consul-Results-Filtered-By-ACLs" { print $2 }')
ro_list=$(curl -s "http://127.0.0.1:$http_port/v1/kv/?keys&token=$ro" | \
    jq -r 'join(",")')
check "recurse and keys (bearer, ?token) return only readable keys" eval '[ "$ro_keys" = app/one,app/two ] && [ "$ro_list" = app/one,app/two ] && [ "$ro_hdr" = true ]'
mkpolicy kv-app-rw 'key_prefix \"app/\" { policy = \"write\" }' >/dev/null
curl -s -X PUT -H "X-Consul-Token: $boot_secret" \
    --data-binary '{"Name":"app-writer","Policies":[{"Name":"kv-app-rw"}]}' \
    "$url/role" >/dev/null
rw=$(mktoken '{"Description":"rw","Roles":[{"Name":"app-writer"}]}')
kvreq "$rw" PUT kv/app/three 3
a=$code
kvreq "$rw" PUT kv/other 3
check "key_prefix app/ write, through a role: writes under app/ only" eval '[ "$a" = 200 ] && [ "$code" = 403 ]'
kvreq "$rw" DELETE "kv/app/?recurse"
a=$code
kvreq "$rw" DELETE "kv/?recurse"
check "a recursive delete needs write on the whole prefix" eval '[ "$a" = 200 ] && [ "$code" = 403 ]'
kvreq "$boot_secret" GET kv/secret/x
check "so the refused one deleted nothing" [ "$code" = 200 ]
kvreq "$rw" PUT txn '[{"KV":{"Verb":"set","Key":"app/t","Value":"eA=="}},
    {"KV":{"Verb":"set","Key":"secret/t","Value":"eA=="}}]'
check "a transaction needs every key: 403" [ "$code" = 403 ]
kvreq "$boot_secret" PUT kv/app/two 2
exp=$(mktoken '{"Description":"short","Policies":[{"Name":"kv-app-ro"}],
    "ExpirationTTL":"2s"}')
kvreq "$exp" GET kv/app/two
a=$code
expired() { kvreq "$exp" GET kv/app/two; [ "$code" = 403 ]; }
check "a token works until it expires, then is refused" eval '[ "$a" = 200 ] && poll 15 expired && [ "$body" = "ACL not found" ]'
tok=$exp
req GET token/self
check "an expired token cannot read itself either (403)" [ "$code" = 403 ]
tok=$boot_secret
req DELETE token/self
check "token/self is GET only: DELETE is 405" [ "$code" = 405 ]
req PUT "token/$ro_acc" '{"Local":true,"Policies":[{"Name":"acl-ro"}]}'
check "an update may not make a global token local (400)" [ "$code" = 400 ]
check "and says so" [ "$body" = "Cannot toggle local mode of $ro_acc" ]

# Catalog and health: reads hide what the token cannot read, writes
# need node write and service write.
api="http://127.0.0.1:$http_port/v1"
for svc in web db; do
	kvreq "$boot_secret" PUT catalog/register "{\"Node\":\"ext1\",
	    \"Address\":\"127.0.0.9\",\"Service\":{\"Service\":\"$svc\"},
	    \"Check\":{\"CheckID\":\"$svc-up\",\"Name\":\"up\",
	    \"ServiceID\":\"$svc\",\"Status\":\"passing\"}}"
done
check "the management token registers anywhere" \
    \
    eval '[ "$code" = 200 ]
check "the management token registers anywhere (2)" [ "$body" = true ]'
mkpolicy web-ro 'service \"web\" { policy = \"read\" }\nnode_prefix \"\" { policy = \"read\" }' >/dev/null
wr=$(mktoken '{"Description":"web reader","Policies":[{"Name":"web-ro"}]}')
# filt TOKEN PATH: the answer's filter header into $hdr, body into $body.
filt() {
	body=$(curl -s -D "$test_tmp/h" -H "X-Consul-Token: $1" "$api/$2")
	hdr=$(tr -d '\r' <"$test_tmp/h" | \
	    awk -F': ' '$1 == "X-Consul-Results-Filtered-By-ACLs" { print $2 }')
}
filt "$wr" catalog/services
check "catalog/services hides db, with the header" \
    \
    eval '[ "$(echo "$body" | jq -c "keys")" = "[\"web\"]" ]
check "catalog/services hides db, with the header (2)" [ "$hdr" = true ]'
filt "$wr" catalog/service/db
check "catalog/service/db is empty for it" \
    eval '[ "$body" = "[]" ]
check "catalog/service/db is empty for it (2)" [ "$hdr" = true ]'
filt "$wr" health/service/web
check "health/service/web shows web with its check" \
    \
    eval '[ "$(echo "$body" | jq -r ".[0].Checks[0].CheckID")" = web-up ]
check "health/service/web shows web with its check (2)" [ -z "$hdr" ]'
filt "$wr" health/state/any
check "health/state/any shows web's check, not db's" \
    \
    eval '[ "$(echo "$body" | jq -r "map(select(.Node == \"ext1\") | .CheckID) | join(\",\")")" = web-up ]
check "health/state/any shows web's check, not db's (2)" [ "$hdr" = true ]'
filt "$boot_secret" catalog/services
check "the management token sees both, unfiltered" \
    \
    eval '[ "$(echo "$body" | jq -c "[.db, .web] | map(type)")" = "[\"array\",\"array\"]" ]
check "the management token sees both, unfiltered (2)" [ -z "$hdr" ]'
kvreq "" GET catalog/nodes
check "anonymous sees no node, no header" \
    eval '[ "$code" = 200 ]
check "anonymous sees no node, no header (2)" [ "$body" = "[]" ]'
mkpolicy api-w 'service \"api\" { policy = \"write\" }\nnode \"ext2\" { policy = \"write\" }' >/dev/null
sw=$(mktoken '{"Description":"api","Policies":[{"Name":"api-w"}]}')
kvreq "$sw" PUT catalog/register '{"Node":"ext2","Address":"127.0.0.8",
    "Service":{"Service":"api"}}'
a=$code
kvreq "$sw" PUT catalog/register '{"Node":"ext2","Address":"127.0.0.8",
    "Service":{"Service":"web"}}'
b=$code
kvreq "$sw" PUT catalog/register '{"Node":"ext1","Address":"127.0.0.9",
    "Service":{"Service":"api"}}'
check "a service token registers its own service on its node only" \
    [ "$a" = 200 ]
check "a service token registers its own service on its node only (2)" \
    [ "$b" = 403 ]
check "a service token registers its own service on its node only (3)" \
    [ "$code" = 403 ]
sw_acc=$(curl -s -H "X-Consul-Token: $sw" "$url/token/self" | jq -r .AccessorID)
check "a service token registers its own service on its node only (4)" \
    [ "$body" = "Permission denied: token with AccessorID '$sw_acc' lacks permission 'node:write' on \"ext1\"" ]
kvreq "$sw" PUT catalog/deregister '{"Node":"ext1","ServiceID":"web"}'
check "and cannot deregister others" [ "$code" = 403 ]

# A restart keeps everything (snapshots of the ACL tables are in
# kv_snapshot.sh's path; here the store itself).
kill -TERM "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null
agent_start_server $n "$test_tmp/agent.log" "$data" \
    -config-file="$test_tmp/acl.json"
has() {
	curl -s -H "X-Consul-Token: $tok" "$url/token/$1" | grep -q "$2"
}
poll 15 has "$acc" "$sec"
req GET "token/$acc"
check "after a restart the token is there" \
    [ "$(echo "$body" | jq -r .SecretID)" = "$sec" ]
req DELETE "token/$acc"
req GET "token/$acc"
check "a deleted token: 403 ACL not found, as Consul" \
    [ "$code $body" = "403 ACL not found" ]

# acl.tokens.initial_management: the leader makes that management token.
init=6b2c0a52-1d4f-4f3c-9a55-3f1e1c7a9e01
jq '.acl.tokens.initial_management = "'$init'"' "$test_tmp/acl.json" \
    >"$test_tmp/acl2.json"
kill -TERM "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null
agent_start_server $n "$test_tmp/agent.log" "$data" \
    -config-file="$test_tmp/acl2.json"
initial() {
	curl -s -H "X-Consul-Token: $init" "$url/token/self" | \
	    grep -q global-management
}
check "acl.tokens.initial_management becomes a management token" \
    poll 15 initial

check "no secret in the log" \
    sh -c "! grep -q -e '$sec' -e '$boot_secret' -e '$second_secret' \
    -e '$c_sec' -e '$init' '$test_tmp/agent.log'"
tap_done
