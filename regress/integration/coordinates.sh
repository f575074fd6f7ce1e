#!/bin/sh
# Network coordinates with three real agents on 127.0.0.80 .. 127.0.0.82
# (one server, two clients, one LAN pool): after convergence every node
# has an 8-dimensional coordinate in /v1/coordinate/nodes, `consulctl
# rtt` between two is positive and below 10 ms, ?near sorts by it, a
# bad update is refused with 400, a deregistered node loses its
# coordinate, and malformed coordinates from the network change nothing.
# Polls are bounded; no timing is asserted.
. "$(dirname "$0")/../lib/agent.sh"

unset CONSUL_HTTP_ADDR CONSUL_HTTP_TOKEN CONSUL_HTTP_TOKEN_FILE
# Agents send their coordinate every second here, not every 15 s.
printf '{"retry_interval": "1s", "sync_coordinate_interval_min": "1s"}\n' \
    > "$test_tmp/fast.json"
pids=""

# cstart N: agent c$N on 127.0.0.$((79 + N)) with agent index 49 + N; 1 is
# the server the others join.
cstart() {
	n=$1
	agent_ports $((49 + n))
	if [ "$n" -eq 1 ]; then
		role="-server -bootstrap"
	else
		role="-retry-join=127.0.0.80:$c1_serf"
	fi
	"$CONSULD" -d $role -node="c$n" -datacenter=dc1 \
	    -data-dir="$test_tmp/d$n" -bind=127.0.0.$((79 + n)) \
	    -client=127.0.0.$((79 + n)) -http-port=$http_port \
	    -dns-port=$dns_port -serf-lan-port=$serf_lan_port \
	    -serf-wan-port=$serf_wan_port -server-port=$server_port \
	    -config-file="$test_tmp/fast.json" \
	    >>"$test_tmp/c$n.log" 2>&1 &
	eval "cpid$n=$!"
	pids="$pids $!"
}

stop_all() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
}
trap 'stop_all; cleanup' EXIT INT TERM

# c1's ports (agent index 50), shifted as agent.sh shifts them.
agent_ports 50
c1_http=$http_port
c1_serf=$serf_lan_port
url=http://127.0.0.80:$c1_http
ctl() { CONSUL_HTTP_ADDR=127.0.0.80:$c1_http "$CONSULCTL" "$@"; }

# until_ok SECONDS CMD...: CMD succeeds within SECONDS (polled 10/s).
until_ok() {
	limit=$(( $1 * 10 )); shift; i=0
	while [ $i -lt $limit ]; do
		"$@" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

alive3() {
	[ "$(curl -s "$url/v1/agent/members" | jq '[.[] | select(.Status == 1)] |
	    length' 2>/dev/null)" = 3 ]
}

# Every node listed once, 8 dimensions, and moved by gossip (an error
# below the initial 1.5).
converged() {
	curl -s "$url/v1/coordinate/nodes" | jq -e '
	    ([.[].Node] | sort) == ["c1", "c2", "c3"] and
	    all(.[]; (.Coord.Vec | length) == 8 and .Coord.Error < 1.5 and
	    .Segment == "")' >/dev/null 2>&1
}

for n in 1 2 3; do cstart $n; done
check "three agents see three alive members" until_ok 30 alive3
check "after convergence /v1/coordinate/nodes lists the three with 8-dim \
vectors moved by gossip" until_ok 90 converged

out=$(ctl rtt c2 c3 2>&1)
diag "$out"
check "consulctl rtt prints Consul's line" sh -c "echo '$out' |
    grep -Eq '^Estimated c2 <-> c3 rtt: [0-9]+\.[0-9]{3} ms \(using LAN coordinates\)$'"
ms=$(echo "$out" | sed -n 's/.* rtt: \([0-9.]*\) ms.*/\1/p')
check "the estimate is positive and below 10 ms" \
    awk -v m="${ms:-0}" 'BEGIN { exit !(m > 0 && m < 10) }'
out=$(ctl rtt c3 2>&1)
check "with one node, the other is the agent asked" \
    sh -c "echo '$out' | grep -q '^Estimated c3 <-> c1 rtt: '"
out=$(ctl rtt c2 nosuch 2>&1); rc=$?
check "a node with no coordinate: Consul's message, exit 1" \
    [ "$rc" -eq 1 -a "$out" = 'Could not find a coordinate for node "nosuch"' ]
out=$(ctl rtt 2>&1); rc=$?
check "no node: exit 1" \
    [ "$rc" -eq 1 -a "$out" = "One or two node names must be specified" ]
out=$(ctl rtt -wan c1.dc1 2>&1)
check "rtt -wan between servers, from the WAN pool" \
    sh -c "echo '$out' | grep -Eq '^Estimated c1.dc1 <-> c1.dc1 rtt: [0-9.]+ ms \(using WAN coordinates\)$'"
out=$(ctl rtt -wan c1 2>&1); rc=$?
check "rtt -wan wants <node>.<datacenter>" [ "$rc" -eq 1 -a \
    "$out" = "Node names must be specified as <node name>.<datacenter> with -wan" ]

check "coordinate/datacenters: dc1 with its server's WAN coordinate" \
    sh -c "curl -s '$url/v1/coordinate/datacenters' | jq -e '
    .[0].Datacenter == \"dc1\" and .[0].AreaID == \"WAN\" and
    .[0].Coordinates[0].Node == \"c1\" and
    (.[0].Coordinates[0].Coord.Vec | length) == 8' >/dev/null"
check "coordinate/node/c2 from a client agent (forwarded)" \
    sh -c "curl -s http://127.0.0.82:$((18520 + ${CONSULD_PORT_SHIFT:-0}))/v1/coordinate/node/c2 | jq -e '
    length == 1 and .[0].Node == \"c2\"' >/dev/null"
code=$(curl -s -o /dev/null -D "$test_tmp/h" -w '%{http_code}' \
    "$url/v1/coordinate/node/nosuch")
check "coordinate/node of a node with none: 404 with X-Consul-Index" \
    sh -c "[ $code = 404 ] && grep -qi '^X-Consul-Index: [1-9]' '$test_tmp/h'"
check "agent/self carries the agent's coordinate" \
    sh -c "curl -s '$url/v1/agent/self' | jq -e '(.Coord.Vec | length) == 8' \
    >/dev/null"

# ?near sorts by estimated RTT from the named node: itself first.
check "catalog/nodes?near=c3: c3 first" \
    [ "$(curl -s "$url/v1/catalog/nodes?near=c3" | jq -r '.[0].Node')" = c3 ]
check "catalog/nodes?near=_agent: the agent's node first" \
    [ "$(curl -s "$url/v1/catalog/nodes?near=_agent" | jq -r '.[0].Node')" = c1 ]
check "health/service/consul?near=c1" \
    [ "$(curl -s "$url/v1/health/service/consul?near=c1" |
    jq -r '.[0].Node.Node')" = c1 ]

# Bad updates: 400 with the reason.
bad() {
	code=$(curl -s -o "$test_tmp/body" -w '%{http_code}' -X PUT \
	    --data-binary "$1" "$url/v1/coordinate/update")
	[ "$code" = 400 ] && grep -q "$2" "$test_tmp/body"
}
v7='[0,0,0,0,0,0,0]'
check "update with no body: 400" bad '' 'Request decode failed'
check "update that is not JSON: 400" bad '{"Node":' 'Request decode failed'
check "update with no node: 400" bad '{"Coord":{"Vec":[0,0,0,0,0,0,0,0]}}' \
    'Missing node name'
check "update with no coordinate: 400" bad '{"Node":"c2"}' \
    'Missing coordinate'
check "update with 7 dimensions: 400" bad "{\"Node\":\"c2\",\"Coord\":{\"Vec\":$v7}}" \
    'Vec must be an array of 8'
check "update with a huge component: 400" \
    bad '{"Node":"c2","Coord":{"Vec":[0,0,0,0,0,0,0,1e300]}}' 'out of range'
check "update with a negative height: 400" \
    bad '{"Node":"c2","Coord":{"Vec":[0,0,0,0,0,0,0,0],"Height":-1}}' \
    'out of range'
check "update with a string component: 400" \
    bad '{"Node":"c2","Coord":{"Vec":[0,0,0,0,0,0,0,"0"]}}' 'Vec must be'
check "GET on update: 405" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/coordinate/update")" = 405 ]

# A node registered through the API, its coordinate put, then the node
# deregistered: the coordinate goes with it.
curl -s -X PUT -d '{"Node":"ext1","Address":"10.1.2.3"}' \
    "$url/v1/catalog/register" >/dev/null
idx=$(curl -s -D - -o /dev/null "$url/v1/coordinate/nodes" |
    tr -d '\r' | sed -n 's/^X-Consul-Index: //Ip')
curl -s -o "$test_tmp/blocked" \
    "$url/v1/coordinate/nodes?index=$idx&wait=60s" &
bpid=$!
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d '{"Node":"ext1",
    "Segment":"","Coord":{"Vec":[0.002,0,0,0,0,0,0,0],"Error":0.3,
    "Adjustment":0,"Height":0.0001}}' "$url/v1/coordinate/update")
check "a valid update: 200" [ "$code" = 200 ]
has_ext1() {
	curl -s "$url/v1/coordinate/node/ext1" | jq -e '.[0].Coord.Vec[0] ==
	    0.002' >/dev/null 2>&1
}
check "it is applied (batched by the leader)" until_ok 30 has_ext1
wait "$bpid"
check "a blocking coordinate/nodes returned with it" \
    sh -c "jq -e 'any(.[]; .Node == \"ext1\")' '$test_tmp/blocked' >/dev/null"
out=$(ctl rtt ext1 c1 2>&1)
diag "$out"
ms=$(echo "$out" | sed -n 's/.* rtt: \([0-9.]*\) ms.*/\1/p')
check "rtt to it: about 2 ms of distance and 0.1 ms of height" \
    awk -v m="${ms:-0}" 'BEGIN { exit !(m > 1.5 && m < 3) }'
curl -s -X PUT -d '{"Node":"ext1"}' "$url/v1/catalog/deregister" >/dev/null
gone_ext1() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' \
	    "$url/v1/coordinate/node/ext1")" = 404 ]
}
check "deregistered, the node loses its coordinate" until_ok 10 gone_ext1
check "and is not in coordinate/nodes" \
    sh -c "curl -s '$url/v1/coordinate/nodes' | jq -e 'all(.[]; .Node != \"ext1\")' >/dev/null"
curl -s -X PUT -d '{"Node":"ghost","Coord":{"Vec":[0,0,0,0,0,0,0,0]}}' \
    "$url/v1/coordinate/update" >/dev/null
sleep 6		# past a flush of the leader's batch
check "an update for a node not in the catalog is not stored" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "$url/v1/coordinate/node/ghost")" = 404 ]

# Coordinates are in snapshots.
ctl snapshot save "$test_tmp/snap" >/dev/null 2>&1
check "a snapshot holds the coordinates" \
    sh -c "'$CONSULCTL' snapshot inspect '$test_tmp/snap' | grep -q '^ *Coordinate  *3 '"

# Acks with payloads that are not coordinates (NaN, 7 dimensions,
# garbage), sent at the server's gossip port: dropped, nothing breaks.
python3 - "$c1_serf" <<'PY'
import socket, struct, sys
SERF = int(sys.argv[1])
z = b"\xcb" + struct.pack(">d", 0.0)
nan = b"\xcb" + struct.pack(">d", float("nan"))
bad = [b"\x94\x98" + nan + z * 7 + z * 3, b"\x94\x97" + z * 7 + z * 3,
    b"\xff\xff\xff"]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for seq in range(1, 50):
    for p in bad:
        pkt = b"\xdc\x00\x01\x93\x03" + bytes([seq]) + b"\xc4" + \
            bytes([len(p)]) + p
        s.sendto(pkt, ("127.0.0.80", SERF))
PY
sleep 1
check "the server is still up" alive "$cpid1"
valid() {
	curl -s "$url/v1/coordinate/nodes" | jq -e '
	    ([.[].Node] | sort) == ["c1", "c2", "c3"] and
	    all(.[]; (.Coord.Vec | length) == 8 and
	    all(.Coord.Vec[], .Coord.Error, .Coord.Height,
	    .Coord.Adjustment; type == "number"))' >/dev/null 2>&1
}
check "and its coordinates are all still valid" valid
check "no sanitizer report" sh -c "! grep -q 'runtime error\|AddressSanitizer' \
    '$test_tmp/c1.log' '$test_tmp/c2.log' '$test_tmp/c3.log'"

tap_done
