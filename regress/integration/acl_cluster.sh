#!/bin/sh
# The ACL API on 3 servers (127.0.0.111-113) and a client agent (114),
# acl.enabled with default deny: the leader makes the built-ins once;
# a bootstrap sent to a follower goes to the leader and works once;
# the leader's acl-bootstrap-reset allows one more; objects made
# through the client or any server are on every server (?stale reads);
# after kill -9 of the leader the others elect one, still serve every
# token, and take new ones.  Management tokens manage, anonymous ones
# are refused; the operator endpoints' check, through the client, is a
# server's.  DNS on the client, whose view a server filters, shows a
# service to anonymous only once a policy given to the anonymous token
# allows it.
. "$(dirname "$0")/../lib/cluster.sh"

servers="111 112 113"
client=114
acl='{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny"}}'
cluster_init "$servers" "$client" "$acl"
mkdir -p "$cl_dir/conf$client.d"
echo "$acl" >"$cl_dir/conf$client.d/acl.json"
if ! cluster_start; then
	not_ok "the cluster starts and elects a leader"
	cl_keep_logs
	tap_done
	exit 1
fi
leader=$cl_leader
followers=$(others_than "$leader" $servers)
f1=$(echo $followers | cut -d' ' -f1)
f2=$(echo $followers | cut -d' ' -f2)
diag "leader f$leader, followers f$f1 f$f2"
anon=00000000-0000-0000-0000-000000000002

tok=""
# on N PATH: a ?stale read of N's own state, with $tok.
on() {
	curl -s ${tok:+-H "X-Consul-Token: $tok"} \
	    "$(cl_url "$1" "/v1/acl/$2")?stale"
}
# put N PATH [BODY]: sets code and body.
put() {
	body=$(curl -s -w '\n%{http_code}' -X PUT ${3:+--data-binary "$3"} \
	    ${tok:+-H "X-Consul-Token: $tok"} "$(cl_url "$1" "/v1/acl/$2")")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}
# everywhere PATH TEXT: every server has TEXT in its answer to PATH.
everywhere() {
	local n
	for n in $servers; do
		on "$n" "$1" | grep -q "$2" || return 1
	done
}

# The leader makes the built-ins first: bootstrap needs the policy.
booted() { put "$f1" bootstrap; [ "$code" = 200 ]; }
poll 15 booted
boot=$(echo "$body" | jq -r .SecretID)
idx=$(echo "$body" | jq -r .CreateIndex)
both() { [ "$code" = 200 ] && \
    [ ${#boot} = 36 ]; }
check "a bootstrap through a follower works" both
tok=$boot
check "every server has the anonymous token" \
    poll 10 everywhere "token/$anon" anonymous
count=$(on "$leader" tokens | jq "map(select(.AccessorID == \"$anon\")) |
    length")
check "made once" [ "$count" = 1 ]
put "$f2" bootstrap
both() { \
    [ "$code" = 403 ] && echo "$body" | grep -q "(reset index: $idx)"; }
check "a second one, through the other follower, is refused" both
echo "$idx" >"$cl_dir/d$leader/acl-bootstrap-reset"
put "$client" bootstrap
check "the leader's reset file allows one through the client" \
    [ "$code" = 200 ]
code=$(curl -s -o /dev/null -w '%{http_code}' \
    "$(cl_url "$client" /v1/acl/tokens)")
check "anonymous may not list tokens through the client: 403" \
    [ "$code" = 403 ]

put "$client" policy '{"Name":"kv-ro","Rules":"key_prefix \"\" { policy = \"read\" }"}'
pol=$(echo "$body" | jq -r .ID)
check "a policy made through the client" [ "$code" = 200 ]
put "$f2" token '{"Description":"ro","Policies":[{"Name":"kv-ro"}]}'
acc=$(echo "$body" | jq -r .AccessorID)
sec=$(echo "$body" | jq -r .SecretID)
both() { \
    [ "$code" = 200 ] && [ "$(echo "$body" | jq -r '.Policies[0].ID')" = \
    "$pol" ]; }
check "a token made through a follower, linked by name" both
check "both are on every server" \
    poll 10 everywhere "token/$acc" "$pol"
self=$(curl -s -H "X-Consul-Token: $sec" \
    "$(cl_url "$client" /v1/acl/token/self)" | jq -r .AccessorID)
check "the client finds token/self at the servers" [ "$self" = "$acc" ]
# A right checked before the endpoint runs is checked by a server.
opconf() {
	body=$(curl -s -w '\n%{http_code}' ${1:+-H "X-Consul-Token: $1"} \
	    "$(cl_url "$client" /v1/operator/raft/configuration)")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}
opconf "$tok"
check "the raft configuration through the client, with management" \
    [ "$code" = 200 ]
opconf "$sec"
check "refused to a KV token, as the servers say" [ "$body" = \
    "Permission denied: token with AccessorID '$acc' lacks permission 'operator:read'" ]

node_kill "$leader"
new=$(wait_leader 15 "$leader" $followers)
check "after kill -9 of f$leader a new leader f$new" [ -n "$new" ]
serves() {
	curl -s -H "X-Consul-Token: $tok" "$(cl_url "$1" "/v1/acl/token/$acc")" |
	    grep -q "$sec"
}
survivors() { serves "$f1" && serves "$f2"; }
check "the survivors still serve the token" survivors
put "$client" token '{"Description":"after","Policies":[{"ID":"'"$pol"'"}]}'
check "and take new tokens" [ "$code" = 200 ]
put "$f1" bootstrap
check "bootstrap stays refused" [ "$code" = 403 ]

# DNS on the client: its view comes from a server, read under the
# anonymous token (no acl.tokens.dns), which may read nothing yet.
tok=$boot
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
    -H "X-Consul-Token: $boot" \
    --data-binary '{"Node":"ext9","Address":"10.74.0.9",
    "Service":{"Service":"pay","Port":443}}' \
    "$(cl_url "$client" /v1/catalog/register)")
check "a service registered through the client" [ "$code" = 200 ]
cdig() {
	dig +time=2 +tries=1 -p "$cl_dns" "@127.0.0.$client" "$@"
}
cstatus() { cdig "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
check "the client's DNS does not show it to anonymous" \
    [ "$(cstatus pay.service.consul A)" = NXDOMAIN ]
r='service \"pay\" { policy = \"read\" }\n'
r="$r"'node_prefix \"ext\" { policy = \"read\" }'
put "$client" policy "{\"Name\":\"dns-anon\",\"Rules\":\"$r\"}"
put "$client" "token/$anon" '{"Policies":[{"Name":"dns-anon"}]}'
check "a policy given to the anonymous token" [ "$code" = 200 ]
shows() { [ "$(cdig +short pay.service.consul A)" = 10.74.0.9 ]; }
check "then the client's DNS shows the service" poll 10 shows
check "and its node" \
    [ "$(cdig +short ext9.node.consul A)" = 10.74.0.9 ]

cluster_stop
check "no secret in any log" \
    sh -c "! cat '$cl_dir'/n*.log | grep -q -e '$sec' -e '$boot'"
tap_done
