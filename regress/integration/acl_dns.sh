#!/bin/sh
# DNS and prepared queries under ACLs, on a single server with default
# deny, asked with dig(1) and curl.  The agent's acl.tokens.dns names a
# token that does not exist yet: DNS answers SERVFAIL, as Consul does
# when the token fails its lookups ("ACL not found").  Once
# a token with that secret and a policy exists, DNS shows what the
# policy lets it read (A, SRV, node names, PTR) and still hides the
# rest; a policy edit shows in DNS within seconds.  Prepared queries: a
# named query needs query:write on its name, one without a name does
# not; lists show what the caller may read, a query it may not read is
# a 403, a query's Token is hidden from all but management; execution
# returns what the query's Token, else the caller's, may read; DNS
# .query names run under the query's Token, else the DNS token.  A
# reload that changes acl.tokens.dns changes what DNS shows.
. "$(dirname "$0")/../lib/agent.sh"

n=73
dnstok=5d0c1a2e-73aa-4b1e-9c3d-0123456789ab
cat >"$test_tmp/acl.json" <<EOF
{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny",
  "tokens": {"dns": "$dnstok"}}}
EOF
agent_ports $n
agent_start_server $n "$test_tmp/agent.log" "$test_tmp/data" \
    -config-file="$test_tmp/acl.json"
url="http://127.0.0.1:$http_port/v1"

# req TOKEN METHOD PATH [BODY]: sets code and body.
req() {
	body=$(curl -s -w '\n%{http_code}' -X "$2" ${4:+--data-binary "$4"} \
	    ${1:+-H "X-Consul-Token: $1"} "$url/$3")
	code=$(printf '%s\n' "$body" | tail -n 1)
	body=$(printf '%s\n' "$body" | sed '$d')
}
q() {
	dig +time=2 +tries=1 -p "$dns_port" @127.0.0.1 "$@"
}
status() {
	q "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}
short() {
	q +short "$@" | sort | tr '\n' ' ' | sed 's/ $//'
}
# is WANT CMD...: CMD's output is WANT.
is() {
	local want=$1
	shift
	[ "$("$@")" = "$want" ]
}

booted() { req "" PUT acl/bootstrap; [ "$code" = 200 ]; }
poll 20 booted
mgmt=$(printf '%s\n' "$body" | jq -r .SecretID)
check "bootstrap gives a management token" [ "$code" = 200 ]

reg() { req "$mgmt" PUT catalog/register "$1"; [ "$code" = 200 ]; }
check "register web and admin on n1" reg '{"Node":"n1",
    "Address":"10.73.0.1","Service":{"Service":"web","Port":80}}'
check "register admin on n1" reg '{"Node":"n1","Address":"10.73.0.1",
    "Service":{"Service":"admin","Port":9000}}'
check "register db on n2" reg '{"Node":"n2","Address":"10.73.0.2",
    "Service":{"Service":"db","Port":5432}}'
req "$mgmt" GET catalog/service/web
check "the management token sees web in the catalog" \
    [ "$(printf '%s\n' "$body" | jq -r '.[0].Address')" = 10.73.0.1 ]

# The DNS token does not exist: SERVFAIL, and the log says why.
check "no DNS token yet: web.service is SERVFAIL" \
    poll 5 is SERVFAIL status web.service.consul A
check "no DNS token yet: no SRV for web" \
    is SERVFAIL status web.service.consul SRV
check "no DNS token yet: n1.node is SERVFAIL" \
    is SERVFAIL status n1.node.consul A
check "no DNS token yet: no PTR for n1's address" \
    is SERVFAIL status 1.0.73.10.in-addr.arpa PTR
check "the log says the servers do not know the DNS token" \
    grep -q "dns: the servers do not know the DNS token (ACL not found)" \
    "$test_tmp/agent.log"

rules='node_prefix \"n1\" { policy = \"read\" }\n'
rules="$rules"'service \"web\" { policy = \"read\" }'
req "$mgmt" PUT acl/policy "{\"Name\":\"dns\",\"Rules\":\"$rules\"}"
pol=$(printf '%s\n' "$body" | jq -r .ID)
check "a policy for DNS" [ "$code" = 200 ]
req "$mgmt" PUT acl/token "{\"SecretID\":\"$dnstok\",
    \"Description\":\"dns\",\"Policies\":[{\"Name\":\"dns\"}]}"
check "the DNS token, with the secret the config names" [ "$code" = 200 ]

check "with the DNS token: web.service gives n1's address" \
    poll 10 is 10.73.0.1 short web.service.consul A
check "the log says the DNS token is known again" \
    grep -q "dns: the DNS token is known again" "$test_tmp/agent.log"
check "SRV for web: port 80 on n1" \
    is "1 1 80 n1.node.dc1.consul." short web.service.consul SRV
check "n1.node gives its address" is 10.73.0.1 short n1.node.consul A
check "PTR for n1's address names it" \
    is n1.node.dc1.consul. short 1.0.73.10.in-addr.arpa PTR
check "admin (no service:read) stays NXDOMAIN" \
    is NXDOMAIN status admin.service.consul A
check "db (no service:read, node n2 hidden) stays NXDOMAIN" \
    is NXDOMAIN status db.service.consul SRV
check "n2.node (no node:read) stays NXDOMAIN" \
    is NXDOMAIN status n2.node.consul A
check "no PTR for n2's address" \
    is NXDOMAIN status 2.0.73.10.in-addr.arpa PTR

# A policy edit: db and n2 become readable.
rules2="$rules"'\nnode \"n2\" { policy = \"read\" }\n'
rules2="$rules2"'service \"db\" { policy = \"read\" }'
req "$mgmt" PUT "acl/policy/$pol" "{\"Name\":\"dns\",\"Rules\":\"$rules2\"}"
check "the policy is edited" [ "$code" = 200 ]
t0=$(date +%s%N)
check "after the edit, db.service resolves within 5 s" \
    poll 5 is 10.73.0.2 short db.service.consul A
diag "policy edit visible in DNS after $((($(date +%s%N) - t0) / 1000000)) ms"
check "and n2.node" is 10.73.0.2 short n2.node.consul A
check "admin still hidden" is NXDOMAIN status admin.service.consul A

# Prepared queries.
req "" POST query '{"Name":"webq","Service":{"Service":"web"}}'
check "anonymous cannot create a named query: 403" [ "$code" = 403 ]
qrules='query_prefix \"web\" { policy = \"write\" }\n'
qrules="$qrules"'service \"web\" { policy = \"read\" }\n'
qrules="$qrules"'node_prefix \"\" { policy = \"read\" }'
req "$mgmt" PUT acl/policy "{\"Name\":\"webq\",\"Rules\":\"$qrules\"}"
req "$mgmt" PUT acl/token '{"Policies":[{"Name":"webq"}]}'
qtok=$(printf '%s\n' "$body" | jq -r .SecretID)
check "a token with query:write on web*" [ "$code" = 200 ]
req "$qtok" POST query '{"Name":"webq","Service":{"Service":"web"}}'
webq=$(printf '%s\n' "$body" | jq -r .ID)
check "it creates webq" [ "$code" = 200 ]
req "$qtok" POST query '{"Name":"dbq","Service":{"Service":"db"}}'
check "but not dbq: 403" [ "$code" = 403 ]
req "$mgmt" POST query '{"Name":"adminq","Service":{"Service":"admin"}}'
adminq=$(printf '%s\n' "$body" | jq -r .ID)
check "management creates adminq" [ "$code" = 200 ]
r='service \"db\" { policy = \"read\" } node \"n2\" { policy = \"read\" }'
req "$mgmt" PUT acl/policy "{\"Name\":\"dbread\",\"Rules\":\"$r\"}"
req "$mgmt" PUT acl/token '{"Policies":[{"Name":"dbread"}]}'
dbtok=$(printf '%s\n' "$body" | jq -r .SecretID)
req "$mgmt" POST query "{\"Name\":\"dbq\",\"Token\":\"$dbtok\",
    \"Service\":{\"Service\":\"db\"}}"
dbq=$(printf '%s\n' "$body" | jq -r .ID)
check "management creates dbq, running under a db token" [ "$code" = 200 ]
req "" POST query '{"Service":{"Service":"web"}}'
check "a query without a name needs no query:write" [ "$code" = 200 ]
req "$qtok" PUT "query/$adminq" '{"Name":"webx","Service":{"Service":"web"}}'
check "renaming a query it cannot write: 403" [ "$code" = 403 ]
req "$qtok" DELETE "query/$adminq"
check "deleting it: 403" [ "$code" = 403 ]

req "$qtok" GET query
check "the list shows the caller only webq" \
    [ "$(printf '%s\n' "$body" | jq -r 'map(.Name) | join(" ")')" = webq ]
filtered() {
	curl -s -D - -o /dev/null -H "X-Consul-Token: $qtok" "$url/query" |
	    tr -d '\r' | grep -qx 'X-Consul-Results-Filtered-By-ACLs: true'
}
check "and says it left some out" filtered
req "" GET query
check "anonymous lists none" [ "$(printf '%s\n' "$body" | jq -r length)" = 0 ]
req "$mgmt" GET query
check "management lists all four" \
    [ "$(printf '%s\n' "$body" | jq -r length)" = 4 ]
check "management sees dbq's token" [ "$(echo "$body" |
    jq -r '.[] | select(.Name == "dbq") | .Token')" = "$dbtok" ]
req "$qtok" GET "query/$dbq"
check "reading a query without query:read: 403" [ "$code" = 403 ]
r='query \"dbq\" { policy = \"read\" }'
req "$mgmt" PUT acl/policy "{\"Name\":\"dbqread\",\"Rules\":\"$r\"}"
req "$mgmt" PUT acl/token '{"Policies":[{"Name":"dbqread"}]}'
rtok=$(printf '%s\n' "$body" | jq -r .SecretID)
req "$rtok" GET "query/$dbq"
check "with query:read it reads, the token hidden" \
    [ "$(printf '%s\n' "$body" | jq -r '.[0].Token')" = "<hidden>" ]

nodes() {
	printf '%s\n' "$body" | jq -r '.Nodes | map(.Node.Node) | join(" ")'
}
req "$qtok" GET "query/webq/execute"
check "webq run by a token that reads web: n1" [ "$(nodes)" = n1 ]
req "" GET "query/$webq/execute"
check "webq run by anonymous: nothing" [ "$(nodes)" = "" ]
req "" GET "query/dbq/execute"
check "dbq runs under its own token, even for anonymous: n2" \
    [ "$(nodes)" = n2 ]
req "" GET "query/dbq/explain"
check "explain needs query read: 403 for anonymous" [ "$code" = 403 ]
req "$rtok" GET "query/dbq/explain"
check "with it, explain hides the query's token" \
    [ "$(printf '%s\n' "$body" | jq -r .Query.Token)" = "<hidden>" ]
req "$mgmt" GET "query/dbq/explain"
check "but not from management" \
    [ "$(printf '%s\n' "$body" | jq -r .Query.Token)" = "$dbtok" ]

check "DNS runs webq under the DNS token" \
    poll 5 is 10.73.0.1 short webq.query.consul A
check "adminq's service is hidden from the DNS token: NXDOMAIN" \
    is NXDOMAIN status adminq.query.consul A
r='service \"admin\" { policy = \"read\" } node \"n1\" { policy = \"read\" }'
req "$mgmt" PUT acl/policy "{\"Name\":\"adminread\",\"Rules\":\"$r\"}"
req "$mgmt" PUT acl/token '{"Policies":[{"Name":"adminread"}]}'
admintok=$(printf '%s\n' "$body" | jq -r .SecretID)
req "$mgmt" POST query "{\"Name\":\"adminq2\",\"Token\":\"$admintok\",
    \"Service\":{\"Service\":\"admin\"}}"
check "a query on admin with a token that reads it" [ "$code" = 200 ]
check "DNS runs it under its own token: admin's address" \
    poll 5 is 10.73.0.1 short adminq2.query.consul A
check "SRV too" is "1 1 9000 n1.node.dc1.consul." \
    short adminq2.query.consul SRV
# Another DNS token, by reload: the view follows it within seconds.
cat >"$test_tmp/acl.json" <<EOF
{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny",
  "tokens": {"dns": "$dbtok"}}}
EOF
kill -HUP "$agent_pid"
check "after a reload with a db-only DNS token, web is hidden" \
    poll 10 is NXDOMAIN status web.service.consul A
check "and db resolves" is 10.73.0.2 short db.service.consul A
check "n1.node is hidden" is NXDOMAIN status n1.node.consul A
check "n2.node is not" is 10.73.0.2 short n2.node.consul A
# The DNS token deleted: SERVFAIL again, within seconds.
dbacc=$(curl -s -H "X-Consul-Token: $dbtok" "$url/acl/token/self" |
    jq -r .AccessorID)
req "$mgmt" DELETE "acl/token/$dbacc"
check "the DNS token deleted" [ "$code" = 200 ]
check "then db.service is SERVFAIL" \
    poll 10 is SERVFAIL status db.service.consul A
check "no secret in the log" sh -c "! grep -qe '$dnstok' -e '$mgmt' \
    -e '$qtok' -e '$dbtok' -e '$admintok' '$test_tmp/agent.log'"
tap_done
