#!/bin/sh
# DNS names of another datacenter under ACLs: two single-server
# datacenters, WAN-joined, each with default deny and its own ACLs.
# dc1's acl.tokens.dns names a secret that dc2 also has, with a policy
# that reads one of dc2's services: asked in dc1, that service of dc2
# resolves (A, SRV) and the other, and its node, do not.
. "$(dirname "$0")/../lib/agent.sh"

dc1_pid="" dc2_pid=""
stop_all() {
	for p in $dc1_pid $dc2_pid; do
		kill -KILL "$p" 2>/dev/null
		for c in $(pgrep -P "$p" 2>/dev/null); do
			kill -KILL "$c" 2>/dev/null
		done
	done
}
trap 'stop_all; cleanup' EXIT INT TERM

dnstok=7e1f2a3b-74aa-4c1e-8d3d-0123456789cd
start_dc() {
	cat >"$test_tmp/acl$2.json" <<EOF
{"primary_datacenter": "dc$2",
 "acl": {"enabled": true, "default_policy": "deny",
  "tokens": {"dns": "$dnstok"}}}
EOF
	agent_start_server "$1" "$test_tmp/dc$2.log" "$test_tmp/data$2" \
	    -datacenter="dc$2" -node="node$1" \
	    -config-file="$test_tmp/acl$2.json"
	eval "dc${2}_pid=$agent_pid"
}
start_dc 74 1
start_dc 75 2
agent_ports 74; u1="http://127.0.0.1:$http_port/v1"; dns1=$dns_port
agent_ports 75; u2="http://127.0.0.1:$http_port/v1"; wan2=$serf_wan_port

boot() {
	b=$(curl -s -X PUT "$1/acl/bootstrap" | jq -r .SecretID 2>/dev/null)
	[ ${#b} = 36 ]
}
poll 20 boot "$u1"; m1=$b
poll 20 boot "$u2"; m2=$b
check "dc1 bootstraps its ACLs" [ ${#m1} = 36 ]
check "dc2 bootstraps its own" [ ${#m2} = 36 ]

# put URL TOKEN PATH BODY: the HTTP status.
put() {
	curl -s -o /dev/null -w '%{http_code}' -X PUT -H "X-Consul-Token: $2" \
	    --data-binary "$4" "$1/$3"
}
put "$u1" "$m1" "agent/join/127.0.0.1:$wan2?wan=1" "" >/dev/null
both() {
	[ "$(curl -s -H "X-Consul-Token: $m1" "$u1/catalog/datacenters")" = \
	    '["dc1","dc2"]' ]
}
check "the datacenters are WAN-joined" poll 15 both

check "api on n5 in dc2" [ "$(put "$u2" "$m2" catalog/register \
    '{"Node":"n5","Address":"10.75.0.5","Service":{"Service":"api",
    "Port":8080}}')" = 200 ]
check "vault on n6 in dc2" [ "$(put "$u2" "$m2" catalog/register \
    '{"Node":"n6","Address":"10.75.0.6","Service":{"Service":"vault",
    "Port":8200}}')" = 200 ]
r='service \"api\" { policy = \"read\" } node \"n5\" { policy = \"read\" }'
check "a policy in dc2 that reads api" [ "$(put "$u2" "$m2" acl/policy \
    "{\"Name\":\"dns\",\"Rules\":\"$r\"}")" = 200 ]
check "dc2 has the DNS token's secret with it" [ "$(put "$u2" "$m2" \
    acl/token "{\"SecretID\":\"$dnstok\",
    \"Policies\":[{\"Name\":\"dns\"}]}")" = 200 ]
check "dc1 has the secret too, with no rights there" [ "$(put "$u1" "$m1" \
    acl/token "{\"SecretID\":\"$dnstok\"}")" = 200 ]

q() {
	dig +time=3 +tries=1 -p "$dns1" @127.0.0.1 "$@"
}
status() {
	q "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}
api() { [ "$(q +short api.service.dc2.consul A)" = 10.75.0.5 ]; }
check "dc1 answers api.service.dc2 under its DNS token" poll 10 api
check "SRV too" [ "$(q +short api.service.dc2.consul SRV)" = \
    "1 1 8080 n5.node.dc2.consul." ]
check "vault.service.dc2 is hidden: NXDOMAIN" \
    [ "$(status vault.service.dc2.consul A)" = NXDOMAIN ]
check "n6.node.dc2 is hidden: NXDOMAIN" \
    [ "$(status n6.node.dc2.consul A)" = NXDOMAIN ]
# dc1's own view: SERVFAIL until its servers know the DNS token (a
# second at most after it was made), then NXDOMAIN.
nx_local() { [ "$(status api.service.consul A)" = NXDOMAIN ]; }
check "api is not in dc1: NXDOMAIN" poll 5 nx_local
check "no secret in the logs" sh -c "! cat '$test_tmp'/dc*.log |
    grep -q -e '$dnstok' -e '$m1' -e '$m2'"
tap_done
