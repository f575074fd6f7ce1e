#!/bin/sh
# Two datacenters as Consul runs them: dc1 of three servers and a client
# agent (127.0.0.121-124), dc2 of three servers (127.0.0.125-127), all
# six servers in the WAN pool.  Both list both datacenters; the client
# sends KV (a blocking read too), catalog, health and DNS requests for
# dc2 there and nowhere else; a prepared query fails over to dc2 and
# back, over HTTP and DNS; with all of dc2 killed -9, dc1 goes on
# answering its own requests at once while requests for dc2 fail with
# "No path to datacenter" (DNS: SERVFAIL) within rpc_hold_timeout, and
# forwarding works again once dc2 is back; LAN coordinates give a round
# trip between two agents of dc1.
. "$(dirname "$0")/../lib/multidc.sh"

cl_hold=3
c=124				# dc1's client agent
u1=$(cl_url $c /v1) u2=$(cl_url 125 /v1)
dig_at() {
	local at=$1
	shift
	dig +time=6 +tries=1 @127.0.0.$at -p $cl_dns "$@"
}
dig_short() { dig_at $c +short "$@"; }
dig_status() { dig_at $c "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
ms_since() { echo $(($(now_ms) - $1)); }

mdc_init "121 122 123" "$c" "125 126 127"
check "dc1 (3 servers, 1 client) and dc2 (3 servers) elect their leaders" \
    mdc_start

dcs() { [ "$(curl -s "$(cl_url $1 /v1/catalog/datacenters)")" = "$2" ]; }
check "dc1's client lists dc1, then dc2" poll 20 dcs $c '["dc1","dc2"]'
check "a server of dc2 lists dc2, then dc1" poll 20 dcs 126 '["dc2","dc1"]'
wan6() {
	[ "$(CONSUL_HTTP_ADDR=127.0.0.121:$cl_http "$CONSULCTL" members -wan |
	    awk 'NR > 1 && $3 == "alive"' | wc -l)" = 6 ]
}
check "consulctl members -wan shows the 6 servers alive" poll 20 wan6
diag "$(CONSUL_HTTP_ADDR=127.0.0.121:$cl_http "$CONSULCTL" members -wan |
    awk '{ print $1, $3 }' | tr '\n' ' ')"

# KV
check "a KV write with ?dc=dc2 from dc1's client" \
    [ "$(curl -s -X PUT --data-binary there "$u1/kv/where?dc=dc2")" = true ]
check "lands in dc2" [ "$(curl -s "$u2/kv/where?raw")" = there ]
check "and not in dc1" [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "$(cl_url 121 /v1/kv/where)")" = 404 ]
idx=$(curl -s -D - -o /dev/null "$u1/kv/where?dc=dc2" |
    sed -n 's/^X-Consul-Index: *//ip' | tr -d '\r')
t0=$(now_ms)
curl -s -o "$cl_dir/block" "$u1/kv/where?dc=dc2&index=$idx&wait=20s" &
bpid=$!
sleep 1
curl -s -X PUT --data-binary moved "$(cl_url 126 /v1/kv/where)" >/dev/null
wait $bpid
took=$(ms_since $t0)
diag "the blocking read returned after $took ms"
blocked_ok() {
	[ "$(jq -r '.[0].Value | @base64d' "$cl_dir/block")" = moved ] &&
	    [ "$took" -lt 10000 ]
}
check "a blocking read ?dc=dc2 returns on a write made in dc2" blocked_ok

# catalog, health and DNS of a service registered only in dc2
curl -s -X PUT "$u2/catalog/register" -d '{"Node":"ext2",
    "Address":"10.2.0.1","Service":{"Service":"web","Port":80,
    "Tags":["v2"]}}' >/dev/null
check "catalog of web in dc2, from dc1's client" \
    [ "$(curl -s "$u1/catalog/service/web?dc=dc2" | jq -r '.[0].Node')" = ext2 ]
check "health of web in dc2, from dc1's client" \
    [ "$(curl -s "$u1/health/service/web?dc=dc2" |
    jq -r '.[0].Service.Port')" = 80 ]
check "web.service.dc2.consul from dc1's client" \
    [ "$(dig_short web.service.dc2.consul A)" = 10.2.0.1 ]
check "v2.web.service.dc2.consul SRV names a node of dc2" \
    [ "$(dig_short v2.web.service.dc2.consul SRV)" = "1 1 80 ext2.node.dc2.consul." ]
check "_web._tcp.service.dc2.consul SRV" \
    [ "$(dig_short _web._tcp.service.dc2.consul SRV | wc -l)" = 1 ]
check "ext2.node.dc2.consul" [ "$(dig_short ext2.node.dc2.consul A)" = 10.2.0.1 ]
check "web is no service of dc1" \
    [ "$(dig_status web.service.consul A)" = NXDOMAIN ]
check "dc9 is no datacenter: NXDOMAIN" \
    [ "$(dig_status web.service.dc9.consul A)" = NXDOMAIN ]

# a prepared query failing over to dc2, and back
reg1() {
	curl -s -X PUT "$(cl_url 121 /v1/catalog/register)" -d '{"Node":"ext1",
	    "Address":"10.1.0.1","Service":{"ID":"web","Service":"web",
	    "Port":80},"Check":{"CheckID":"web-up","Name":"web up",
	    "ServiceID":"web","Status":"'"$1"'"}}' >/dev/null
}
reg1 critical
curl -s -X POST "$u1/query" -d '{"Name":"webq","Service":{"Service":"web",
    "Failover":{"Datacenters":["dc2"]}}}' >/dev/null
exec_is() {
	[ "$(curl -s "$u1/query/webq/execute" | jq -c '[.Datacenter,
	    .Failovers, (.Nodes | map(.Node.Node))]')" = "$1" ]
}
dns_is() { [ "$(dig_short webq.query.consul A)" = "$1" ]; }
check "dc1's instance critical: the query fails over to dc2 (Failovers 1)" \
    poll 5 exec_is '["dc2",1,["ext2"]]'
check "webq.query.consul gives dc2's instance too" poll 5 dns_is 10.2.0.1
reg1 passing
check "dc1's instance passing: the query answers from dc1" \
    poll 5 exec_is '["dc1",0,["ext1"]]'
check "and so does webq.query.consul" poll 5 dns_is 10.1.0.1

# coordinates: the agents of dc1 have timed each other by now or soon
rtt_ms() {
	CONSUL_HTTP_ADDR=127.0.0.$c:$cl_http "$CONSULCTL" rtt f121 f$c 2>&1 |
	    sed -n 's/^Estimated f121 <-> f'$c' rtt: \([0-9.]*\) ms (using LAN coordinates)$/\1/p'
}
rtt_ok() {
	awk -v m="$(rtt_ms)" 'BEGIN { exit !(m > 0 && m < 10) }'
}
check "consulctl rtt between two agents of dc1: positive, below 10 ms" \
    poll 30 rtt_ok
diag "rtt f121 <-> f$c: $(rtt_ms) ms"

# Near: the instance of the node named (or of the agent) comes first.
for n in 123 $c; do
	curl -s -X PUT "$(cl_url $n /v1/agent/service/register)" \
	    -d '{"Name":"nearsvc","Port":81}' >/dev/null
done
curl -s -X POST "$u1/query" -d '{"Name":"nearq","Service":{
    "Service":"nearsvc","Near":"_agent"}}' >/dev/null
first_of() {
	curl -s "$u1/query/nearq/execute$1" | jq -r '.Nodes[0].Node.Node'
}
two() { [ "$(curl -s "$u1/query/nearq/execute" | jq '.Nodes | length')" = 2 ]; }
poll 10 two
near_first() {
	for i in 1 2 3 4 5 6; do
		[ "$(first_of "$1")" = "$2" ] || return 1
	done
}
# Sorting needs the nodes' coordinates in the catalog (batched writes).
check "Near _agent: the agent's own instance first, every time" \
    poll 15 near_first "" f$c
check "?near=f123 of the request wins: f123's first" \
    poll 15 near_first "?near=f123" f123

# NearestN: the nearest other datacenter, with no list given.
curl -s -X POST "$u1/query" -d '{"Name":"nearestq","Service":{
    "Service":"web","Failover":{"NearestN":1}}}' >/dev/null
reg1 critical
nearest_is() {
	[ "$(curl -s "$u1/query/nearestq/execute" | jq -c '[.Datacenter,
	    .Failovers, (.Nodes | map(.Node.Node))]')" = "$1" ]
}
check "NearestN 1: the query fails over to dc2" \
    poll 5 nearest_is '["dc2",1,["ext2"]]'
dns_nearest() { [ "$(dig_short nearestq.query.consul A)" = 10.2.0.1 ]; }
check "and nearestq.query.consul too" poll 5 dns_nearest
reg1 passing

# all of dc2 killed -9
local_ms() {
	local t
	t=$(now_ms)
	curl -s -o /dev/null "$u1/kv/where" || return 1
	ms_since $t
}
before=$(local_ms)
check "all of dc2 killed -9" nodes_kill 125 126 127
t0=$(now_ms)
curl -s -m 20 -o "$cl_dir/nopath" -w '%{http_code}' \
    "$u1/kv/where?dc=dc2" >"$cl_dir/nopath.code" &
fpid=$!
(
	t=$(now_ms)
	# A name not in dnsd's cache of dc2's answers (web may be).
	dig_at $c api.service.dc2.consul A >"$cl_dir/dig2"
	ms_since $t >"$cl_dir/dig2.ms"
) &
dpid=$!
sleep 0.2
during=$(local_ms)
t1=$(now_ms)
check "meanwhile dc1 answers a local write" \
    [ "$(curl -s -X PUT --data-binary here "$u1/kv/local")" = true ]
lw=$(ms_since $t1)
t1=$(now_ms)
check "and a local DNS name" \
    [ "$(dig_short ext1.node.consul A)" = 10.1.0.1 ]
ld=$(ms_since $t1)
diag "local read $before ms before, $during ms during; write $lw ms, dns $ld ms"
fast() { [ "$during" -lt 1000 ] && [ "$lw" -lt 1000 ] && [ "$ld" -lt 1000 ]; }
check "with no added latency (local read, write and DNS each under 1 s)" fast
wait $fpid
took=$(ms_since $t0)
diag "?dc=dc2 failed after $took ms: $(cat "$cl_dir/nopath")"
check "?dc=dc2 fails: 500 No path to datacenter" \
    [ "$(cat "$cl_dir/nopath") $(cat "$cl_dir/nopath.code")" = \
    "No path to datacenter 500" ]
check "within rpc_hold_timeout ($cl_hold s) and a margin" \
    [ "$took" -le $((cl_hold * 1000 + 1500)) ]
wait $dpid
diag "api.service.dc2.consul answered after $(cat "$cl_dir/dig2.ms") ms"
servfail_in_time() {
	grep -q 'status: SERVFAIL' "$cl_dir/dig2" &&
	    [ "$(cat "$cl_dir/dig2.ms")" -le $((cl_hold * 1000 + 1500)) ]
}
check "api.service.dc2.consul: SERVFAIL, within the same bound" \
    servfail_in_time

# dc2 back
for n in 125 126 127; do node_start $n; done
check "dc2 restarted elects a leader" poll 30 agreed none 125 126 127
back() { [ "$(curl -s -m 5 "$u1/kv/where?dc=dc2&raw")" = moved ]; }
check "forwarding to dc2 works again" poll 30 back
dns_back() { [ "$(dig_short web.service.dc2.consul A)" = 10.2.0.1 ]; }
check "and DNS for dc2" poll 10 dns_back

check_alive "the end"
tap_done
