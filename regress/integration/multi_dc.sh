#!/bin/sh
# Two datacenters of one server each, WAN-joined: both list both
# datacenters; ?dc= sends KV, catalog, health, session and status
# requests to the other datacenter over server RPC (a blocking read
# included), and consulctl -datacenter does too; the agent's own
# endpoints ignore ?dc; a bad or unknown datacenter is an error; with the
# other datacenter down, requests for it fail with "No path to
# datacenter" while local ones go on, and work again once it is back.
# Each server's WAN coordinates list both, and rtt -wan estimates the
# round trip between them.  DNS in dc1 answers names of dc2 (service,
# SRV, node, RFC 2782, query), NXDOMAIN for an unknown datacenter and
# SERVFAIL for dc2 down; a prepared query fails over over DNS as over
# HTTP.  A second server claiming dc2's server's WAN name is ignored.
. "$(dirname "$0")/../lib/agent.sh"

dc1_pid="" dc2_pid="" imp_pid=""
stop_all() {
	for p in $dc1_pid $dc2_pid $imp_pid; do
		kill -KILL "$p" 2>/dev/null
		for c in $(pgrep -P "$p" 2>/dev/null); do
			kill -KILL "$c" 2>/dev/null
		done
	done
}
trap 'stop_all; cleanup' EXIT INT TERM

start_dc() {
	agent_start_server "$1" "$test_tmp/dc$2.log" "$test_tmp/data$2" \
	    -datacenter="dc$2" -node="node$1"
	eval "dc${2}_pid=$agent_pid"
}
start_dc 42 1
start_dc 43 2
agent_ports 42; u1="http://127.0.0.1:$http_port/v1"
agent_ports 43; u2="http://127.0.0.1:$http_port/v1"; wan2=$serf_wan_port
leader() { [ "$(curl -s "$1/status/leader")" != '""' ] &&
    curl -sf -o /dev/null "$1/status/leader"; }
leaders() { poll 15 leader "$u1" && poll 15 leader "$u2"; }
check "both datacenters elect a leader" leaders
curl -s -X PUT "$u1/agent/join/127.0.0.1:$wan2?wan=1" >/dev/null
both() { [ "$(curl -s "$1/catalog/datacenters")" = "$2" ]; }
check "dc1 lists dc1 then dc2" poll 15 both "$u1" '["dc1","dc2"]'
check "dc2 lists dc2 then dc1" poll 15 both "$u2" '["dc2","dc1"]'
check "members -wan shows both servers" [ "$(curl -s "$u1/agent/members?wan=1" |
    jq -r 'map(.Name) | sort | join(" ")')" = "node42.dc1 node43.dc2" ]

# KV
check "a write with ?dc=dc2 from dc1 is true" \
    [ "$(curl -s -X PUT --data-binary there "$u1/kv/where?dc=dc2")" = true ]
check "it lands in dc2" [ "$(curl -s "$u2/kv/where?raw")" = there ]
check "and not in dc1" [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "$u1/kv/where")" = 404 ]
check "?dc=DC2 is the same datacenter" \
    [ "$(curl -s "$u1/kv/where?dc=DC2&raw")" = there ]
idx=$(curl -s -D - -o /dev/null "$u1/kv/where?dc=dc2" |
    sed -n 's/^X-Consul-Index: *//ip' | tr -d '\r')
check "a read through dc1 carries dc2's index" [ "$idx" -gt 0 ]
curl -s -o "$test_tmp/block" "$u1/kv/where?dc=dc2&index=$idx&wait=30s" &
bpid=$!
sleep 1
curl -s -X PUT --data-binary moved "$u2/kv/where" >/dev/null
wait $bpid
check "a blocking read with ?dc=dc2 returns on a write made in dc2" \
    [ "$(jq -r '.[0].Value | @base64d' "$test_tmp/block")" = moved ]
check "consulctl -datacenter=dc2 kv get" [ "$("$CONSULCTL" kv get \
    -http-addr="${u1%/v1}" -datacenter=dc2 where)" = moved ]

# catalog, health, sessions, status
curl -s -X PUT "$u2/catalog/register" -d '{"Node":"ext","Address":"10.9.9.9",
    "Service":{"Service":"only2","Port":9}}' >/dev/null
check "catalog of a service only in dc2, asked from dc1" \
    [ "$(curl -s "$u1/catalog/service/only2?dc=dc2" | jq -r '.[0].Node')" = ext ]
agent_ports 42; dns1=$dns_port
dig1() { dig +short +time=3 +tries=1 @127.0.0.1 -p "$dns1" "$@"; }
dig_status() { dig +time=3 +tries=1 @127.0.0.1 -p "$dns1" "$@" |
    sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
check "DNS: only2.service.dc2.consul from dc1" \
    [ "$(dig1 only2.service.dc2.consul A)" = 10.9.9.9 ]
check "DNS: the SRV target is in dc2" \
    [ "$(dig1 only2.service.dc2.consul SRV)" = "1 1 9 ext.node.dc2.consul." ]
check "DNS: ext.node.dc2.consul from dc1" \
    [ "$(dig1 ext.node.dc2.consul A)" = 10.9.9.9 ]
check "DNS: RFC 2782 form with the datacenter" \
    [ "$(dig1 _only2._tcp.service.dc2.consul SRV | wc -l)" = 1 ]
check "DNS: not in dc1" [ "$(dig_status only2.service.consul A)" = NXDOMAIN ]
check "DNS: an unknown datacenter is NXDOMAIN" \
    [ "$(dig_status only2.service.dc9.consul A)" = NXDOMAIN ]
check "and not in dc1's own catalog" \
    [ "$(curl -s "$u1/catalog/service/only2")" = "[]" ]
check "health of it from dc1" \
    [ "$(curl -s "$u1/health/service/only2?dc=dc2" | jq -r '.[0].Service.Port')" = 9 ]
check "the UI's service summaries of dc2, from dc1" \
    [ "$(curl -s "$u1/internal/ui/services?dc=dc2" | jq -c '.[] |
    select(.Name == "only2") | [.Datacenter, .Nodes, .InstanceCount]')" = \
    '["dc2",["ext"],1]' ]
# A session needs its node in dc2's catalog (with serfHealth) first.
in2() { curl -s "$u2/health/node/node43" | grep -q serfHealth; }
poll 30 in2
sid=$(curl -s -X PUT "$u1/session/create?dc=dc2" -d '{"Node":"node43"}' |
    jq -r .ID)
check "a session created with ?dc=dc2 exists in dc2" \
    [ "$(curl -s "$u2/session/info/$sid" | jq -r '.[0].Node')" = node43 ]
check "status/leader?dc=dc2 names dc2's server" \
    [ "$(curl -s "$u1/status/leader?dc=dc2")" = "\"127.0.0.1:$((18000 + ${CONSULD_PORT_SHIFT:-0} + 430 + 4))\"" ]
check "the agent's own endpoints ignore ?dc" \
    [ "$(curl -s "$u1/agent/self?dc=dc2" | jq -r .Config.Datacenter)" = dc1 ]

# a prepared query failing over to dc2
curl -s -X POST "$u1/query" -d '{"Name":"fo","Service":{"Service":"only2",
    "Failover":{"Datacenters":["dc2"]}}}' >/dev/null
check "a prepared query with no instance here fails over to dc2" \
    [ "$(curl -s "$u1/query/fo/execute" | jq -c '[.Datacenter, .Failovers,
    (.Nodes | map(.Node.Node))]')" = '["dc2",1,["ext"]]' ]
fo_dns() { [ "$(dig1 fo.query.consul A)" = 10.9.9.9 ]; }
check "DNS .query fails over to dc2 the same way" poll 5 fo_dns
curl -s -X PUT "$u1/catalog/register" -d '{"Node":"int","Address":"10.8.8.8",
    "Service":{"Service":"only2","Port":9}}' >/dev/null
check "and answers locally once there is one here" \
    [ "$(curl -s "$u1/query/fo/execute" | jq -c '[.Datacenter, .Failovers,
    (.Nodes | map(.Node.Node))]')" = '["dc1",0,["int"]]' ]
fo_local() { [ "$(dig1 fo.query.consul A)" = 10.8.8.8 ]; }
check "and so does DNS .query" poll 5 fo_local
curl -s -X POST "$u2/query" -d '{"Name":"in2","Service":{"Service":"only2"}}' \
    >/dev/null
check "a query of dc2 executed with ?dc=dc2 from dc1" \
    [ "$(curl -s "$u1/query/in2/execute?dc=dc2" | jq -c '[.Datacenter,
    (.Nodes | map(.Node.Node))]')" = '["dc2",["ext"]]' ]
check "DNS: in2.query.dc2.consul from dc1" \
    [ "$(dig1 in2.query.dc2.consul A)" = 10.9.9.9 ]

# bad input
check "an unknown datacenter is 500 No path to datacenter" \
    [ "$(curl -s -w ' %{http_code}' "$u1/kv/where?dc=dc9")" = \
    "No path to datacenter 500" ]
check "a datacenter name with bad characters: 400 naming ?dc" \
    [ "$(curl -s -w ' %{http_code}' "$u1/kv/where?dc=d%2Fc")" = \
    "Bad request: invalid datacenter name in ?dc 400" ]
check "or ?datacenter, when that was used" \
    [ "$(curl -s -w ' %{http_code}' "$u1/catalog/nodes?datacenter=d%20c")" = \
    "Bad request: invalid datacenter name in ?datacenter 400" ]
check "a name too long for a datacenter: 400" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "$u1/kv/where?dc=$(printf 'a%.0s' $(seq 1 100))")" = 400 ]

# WAN coordinates: each server times its probes of the other.
wan_coords() {
	curl -s "$u1/coordinate/datacenters" | jq -e '
	    [.[].Datacenter] == ["dc1", "dc2"] and all(.[]; .AreaID == "WAN") and
	    [.[0].Coordinates[].Node] == ["node42"] and
	    [.[1].Coordinates[].Node] == ["node43"] and
	    all(.[].Coordinates[]; (.Coord.Vec | length) == 8)' >/dev/null 2>&1
}
check "coordinate/datacenters lists both, each with its server" \
    poll 60 wan_coords
agent_ports 42
out=$(CONSUL_HTTP_ADDR=127.0.0.1:$http_port "$CONSULCTL" rtt -wan \
    node42.dc1 node43.dc2 2>&1)
diag "$out"
ms=$(echo "$out" | sed -n \
    's/^Estimated node42.dc1 <-> node43.dc2 rtt: \([0-9.]*\) ms (using WAN coordinates)$/\1/p')
check "consulctl rtt -wan between the two servers: positive, below 10 ms" \
    awk -v m="${ms:-0}" 'BEGIN { exit !(m > 0 && m < 10) }'

# dc2 down: dc1 answers its own requests, fails dc2's, then recovers.
# The children first: once the parent is gone they are no longer its
# children, and one still holding a port would fail dc2's restart.
dc2_procs=""
stop_kill() {
	dc2_procs="$(pgrep -P "$dc2_pid" 2>/dev/null) $dc2_pid"
	kill -KILL $dc2_procs 2>/dev/null
}
all_gone() {
	for p in $dc2_procs; do alive "$p" && return 1; done
	return 0
}
stop_kill
poll 5 all_gone
check "with dc2 down, ?dc=dc2 fails with No path to datacenter" \
    [ "$(curl -s -m 20 -w ' %{http_code}' "$u1/kv/where?dc=dc2")" = \
    "No path to datacenter 500" ]
t0=$(date +%s%N)
st=$(dig +time=15 +tries=1 @127.0.0.1 -p "$dns1" web9.service.dc2.consul A |
    sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
t1=$(date +%s%N)
diag "DNS for dc2 while down: $st in $(( (t1 - t0) / 1000000 )) ms"
check "DNS for dc2 while it is down: SERVFAIL" [ "$st" = SERVFAIL ]
check "while dc1 answers its own requests" \
    [ "$(curl -s -X PUT --data-binary here "$u1/kv/local")" = true ]
start_dc 43 2
back() { [ "$(curl -s -m 10 "$u1/kv/where?dc=dc2&raw")" = moved ]; }
check "dc2 back: forwarding works again" poll 60 back
dns_back() { [ "$(dig1 only2.service.dc2.consul A)" = 10.9.9.9 ]; }
check "and DNS for dc2 too" poll 10 dns_back

# An impostor: another server of dc2 named node43 joins the WAN pool.
# Last: the refutations it starts can delay how soon dc1 sees the real
# node43 fail or come back.
agent_ports 42; wan1=$serf_wan_port
agent_start_server 80 "$test_tmp/imp.log" "$test_tmp/data80" \
    -datacenter=dc2 -node=node43
imp_pid=$agent_pid
agent_ports 80; u80="http://127.0.0.1:$http_port/v1"
wait_leader_at "$u80"
curl -s -X PUT "$u80/agent/join/127.0.0.1:$wan1?wan=1" >/dev/null
claimed() { grep -q "member node43.dc2 claimed by another address" \
    "$test_tmp/dc1.log"; }
check "a second node43.dc2 at another address is logged by dc1" \
    poll 10 claimed
check "and ignored: the WAN pool keeps the first" \
    [ "$(curl -s "$u1/agent/members?wan=1" | jq -r '.[] |
    select(.Name == "node43.dc2") | .Port')" = "$wan2" ]
real_dc2() {
	for i in 1 2 3 4 5; do
		[ "$(curl -s "$u1/kv/where?dc=dc2&raw")" = moved ] || return 1
	done
}
check "?dc=dc2 still goes to the real dc2" real_dc2
for c in $(pgrep -P "$imp_pid" 2>/dev/null) $imp_pid; do kill -KILL "$c" 2>/dev/null; done

check "no sanitizer report" sh -c "! grep -q 'runtime error\|AddressSanitizer' \
    '$test_tmp/dc1.log' '$test_tmp/dc2.log'"
if [ "$tap_failed" -gt 0 ]; then
	keep="$(cd "$(dirname "$0")/../.." && pwd)/regress/out/logs/multi_dc-${CONSULD_BUILD_LABEL:-normal}-$$"
	mkdir -p "$keep" && cp "$test_tmp"/*.log "$keep"/ 2>/dev/null
	diag "logs kept in regress/out/logs/${keep##*/}"
fi
tap_done
