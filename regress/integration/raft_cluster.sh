#!/bin/sh
# Raft across three real servers on 127.0.0.31 .. 127.0.0.33, each with
# its own data_dir, started with bootstrap_expect=3 and joined through
# gossip, and a client agent on 127.0.0.34: the servers bootstrap one
# cluster and elect one leader; a write on the leader, on a follower or
# on the client is on every server; reads and blocking queries through
# the client; kill -9 of the leader elects another among the two left,
# which takes writes (also through the client); the old leader,
# restarted, catches up as a follower.
. "$(dirname "$0")/../lib/agent.sh"

pshift=${CONSULD_PORT_SHIFT:-0}
port_http=$((19810 + pshift)) port_dns=$((19811 + pshift)) port_lan=$((19812 + pshift))
port_wan=$((19813 + pshift)) port_rpc=$((19814 + pshift))
pids=""
cat >"$test_tmp/server.json" <<EOF
{"server": true, "bootstrap_expect": 3, "retry_interval": "1s",
 "retry_join": ["127.0.0.31:$port_lan", "127.0.0.32:$port_lan",
  "127.0.0.33:$port_lan"],
 "performance": {"raft_multiplier": 1, "rpc_hold_timeout": "8s"},
 "autopilot": {"server_stabilization_time": "1s",
  "cleanup_dead_servers": false},
 "raft_snapshot_threshold": 40, "raft_snapshot_interval": "1s",
 "raft_trailing_logs": 10}
EOF

cat >"$test_tmp/client.json" <<EOF
{"retry_interval": "1s", "retry_join": ["127.0.0.31:$port_lan"]}
EOF

rstart() {
	n=$1 conf=${2:-server}
	"$CONSULD" -d -node="r$n" -data-dir="$test_tmp/d$n" \
	    -bind=127.0.0.$n -client=127.0.0.$n -http-port=$port_http \
	    -dns-port=$port_dns -serf-lan-port=$port_lan \
	    -serf-wan-port=$port_wan -server-port=$port_rpc \
	    -config-file="$test_tmp/$conf.json" >>"$test_tmp/r$n.log" 2>&1 &
	eval "rpid$n=$!"
	pids="$pids $!"
}

leader_of() {
	curl -s "http://127.0.0.$1:$port_http/v1/status/leader" | tr -d '"'
}

# until_leader SECONDS NOT AGENTS...: all agree on a leader other than
# NOT; prints it.
until_leader() {
	limit=$(($1 * 10)) i=0 not=$2; shift 2
	while [ $i -lt $limit ]; do
		l=$(leader_of "$1")
		same=1
		[ "$l" = "$not" ] && same=0
		for n in "$@"; do
			[ -n "$l" ] && [ "$(leader_of "$n")" = "$l" ] || same=0
		done
		if [ $same -eq 1 ]; then
			echo "$l"
			return 0
		fi
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# stale N KEY: the raw value of KEY on server N, from its own state.
stale() {
	curl -s "http://127.0.0.$1:$port_http/v1/kv/$2?raw&stale"
}

# until_value SECONDS KEY VALUE AGENTS...
until_value() {
	limit=$(($1 * 10)) i=0 key=$2 want=$3; shift 3
	while [ $i -lt $limit ]; do
		all=1
		for n in "$@"; do
			[ "$(stale "$n" "$key")" = "$want" ] || all=0
		done
		[ $all -eq 1 ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

stop_all() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
}
trap 'stop_all; cleanup' EXIT INT TERM

for n in 31 32 33; do rstart $n; done
leader=$(until_leader 30 none 31 32 33)
check "three servers with bootstrap_expect=3 agree on one leader" \
    [ -n "$leader" ]
diag "leader: $leader"
if [ -z "$leader" ]; then
	for n in 31 32 33; do tail -5 "$test_tmp/r$n.log" | sed 's/^/# /'; done
	tap_done
	exit 1
fi
check "each logged its bootstrap" \
    [ "$(grep -l 'bootstrapping a new cluster of 3 servers' \
    "$test_tmp"/r3[123].log | wc -l)" -eq 3 ]
check "status/peers lists the three on every server" \
    [ "$(curl -s http://127.0.0.32:$port_http/v1/status/peers |
    jq -r '.[]' | sort | tr '\n' ' ')" = \
    "127.0.0.31:$port_rpc 127.0.0.32:$port_rpc 127.0.0.33:$port_rpc " ]
lip=${leader%:*}
lnum=${lip##*.}
conf=$(curl -s "http://127.0.0.31:$port_http/v1/operator/raft/configuration")
check "operator/raft/configuration lists three voters" \
    [ "$(echo "$conf" | jq '[.Servers[] | select(.Voter)] | length')" = 3 ]
check "with the leader marked, by node name" \
    [ "$(echo "$conf" | jq -r '.Servers[] | select(.Leader) |
    "\(.Node) \(.Address) \(.ProtocolVersion)"')" = \
    "r$lnum $leader 3" ]
check "and an index" [ "$(echo "$conf" | jq '.Index > 0')" = true ]
"$CONSULCTL" operator raft list-peers -http-addr=127.0.0.32:$port_http \
    >"$test_tmp/peers" 2>&1
check "consulctl operator raft list-peers prints Consul's columns" \
    sh -c "head -1 '$test_tmp/peers' | grep -q '^Node  *ID  *Address  *State  *Voter  *RaftProtocol  *Commit Index  *Trails Leader By$'"
check "one leader and two followers, all voters" \
    sh -c "[ \$(grep -c ' leader  *true  *3 ' '$test_tmp/peers') = 1 ] &&
    [ \$(grep -c ' follower  *true  *3 ' '$test_tmp/peers') = 2 ]"
check "a write on the leader succeeds" \
    [ "$(curl -s -X PUT -d one "http://$lip:$port_http/v1/kv/k")" = true ]
check "and is on every server" until_value 10 k one 31 32 33
follower=31
[ "$lnum" = 31 ] && follower=32
check "a write on a follower goes to the leader" \
    [ "$(curl -s -X PUT -d x "http://127.0.0.$follower:$port_http/v1/kv/k2")" = true ]
check "and is read back on the leader" \
    [ "$(curl -s "http://$lip:$port_http/v1/kv/k2?raw")" = x ]
check "a default read on a follower is answered by the leader" \
    [ "$(curl -s "http://127.0.0.$follower:$port_http/v1/kv/k2?raw")" = x ]
hdrs=$(curl -s -o /dev/null -D - \
    "http://127.0.0.$follower:$port_http/v1/kv/k2?stale" | tr -d '\r')
lc=$(echo "$hdrs" | sed -n 's/^X-Consul-Lastcontact: //Ip')
check "a stale read on a follower says how long since the leader spoke" \
    sh -c "[ -n '$lc' ] && [ '$lc' -lt 1000 ]"
check "and that it knows a leader" \
    sh -c "echo '$hdrs' | grep -qix 'X-Consul-KnownLeader: true'"
check "it says the read was stale" \
    sh -c "echo '$hdrs' | grep -qix 'X-Consul-Effective-Consistency: stale'"
hdrs=$(curl -s -D - \
    "http://127.0.0.$follower:$port_http/v1/kv/k2?consistent&raw" |
    tr -d '\r')
check "a ?consistent read on a follower is confirmed by the leader" \
    sh -c "echo '$hdrs' | grep -qix 'X-Consul-Effective-Consistency: consistent' &&
    [ \"\$(echo '$hdrs' | tail -1)\" = x ]"
check "a ?consistent read on the leader answers too" \
    [ "$(curl -s "http://$lip:$port_http/v1/kv/k2?consistent&raw")" = x ]
check "a default read says the leader answered" \
    sh -c "curl -s -D - -o /dev/null 'http://127.0.0.$follower:$port_http/v1/kv/k2' |
    tr -d '\r' | grep -qix 'X-Consul-Effective-Consistency: leader'"
check "?max_stale implies a stale read" \
    sh -c "curl -s -D - -o /dev/null 'http://127.0.0.$follower:$port_http/v1/kv/k2?max_stale=10s' |
    tr -d '\r' | grep -qix 'X-Consul-Effective-Consistency: stale'"
check "a bad ?max_stale is a 400" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.$follower:$port_http/v1/kv/k2?max_stale=soon")" = 400 ]
check "?max_stale with ?consistent is a 400" \
    [ "$(curl -s "http://127.0.0.$follower:$port_http/v1/kv/k2?max_stale=1s&consistent")" = \
    "Cannot specify ?stale with ?consistent, conflicting semantics." ]
check "a CAS on a follower with a stale index fails" \
    [ "$(curl -s -X PUT -d y "http://127.0.0.$follower:$port_http/v1/kv/k2?cas=1")" = false ]

# A client agent: no Raft of its own, everything goes to a server.
rstart 34 client
i=0
while [ $i -lt 100 ] && [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.34:$port_http/v1/kv/k2")" != 200 ]; do
	sleep 0.1; i=$((i + 1))
done
check "a read on the client is answered by the servers" \
    [ "$(curl -s "http://127.0.0.34:$port_http/v1/kv/k2?raw")" = x ]
check "the client agent holds no Raft state" \
    sh -c "[ ! -e '$test_tmp/d34/raft' ] && [ -d '$test_tmp/d31/raft' ]"
check "status/leader on the client names the servers' leader" \
    [ "$(leader_of 34)" = "$leader" ]
check "status/peers on the client lists the three servers" \
    [ "$(curl -s http://127.0.0.34:$port_http/v1/status/peers | jq length)" = 3 ]
check "a snapshot through the client is refused with a reason" \
    sh -c "curl -s 'http://127.0.0.34:$port_http/v1/snapshot?stale' |
    grep -q 'client agent holds no state'"
# serf_status SECONDS NODE STATUS: the node's serfHealth has STATUS.
serf_status() {
	limit=$(($1 * 10)) i=0
	while [ $i -lt $limit ]; do
		[ "$(curl -s -m 2 "http://127.0.0.34:$port_http/v1/health/node/$2?stale" |
		    jq -r '.[] | select(.CheckID == "serfHealth") | .Status')" = "$3" ] &&
		    return 0
		sleep 0.2; i=$((i + 2))
	done
	return 1
}
all_passing() {
	for n in r31 r32 r33 r34; do
		serf_status 10 $n passing || return 1
	done
}
check "the leader puts every agent in the catalog, passing" all_passing
check "and the consul service on the three servers" \
    [ "$(curl -s "http://127.0.0.34:$port_http/v1/catalog/service/consul" |
    jq -c '[[.[] | .ServicePort] | unique, length]')" = "[[$port_rpc],3]" ]
check "a catalog registration through the client" \
    [ "$(curl -s -X PUT -d '{"Node":"ext","Address":"10.9.0.1",
    "Service":{"Service":"db","Port":5432}}' \
    "http://127.0.0.34:$port_http/v1/catalog/register")" = true ]
check "is read back through a follower and the client" \
    sh -c "[ \"\$(curl -s http://127.0.0.$follower:$port_http/v1/catalog/service/db |
    jq -r '.[0].Node')\" = ext ] &&
    [ \"\$(curl -s 'http://127.0.0.34:$port_http/v1/health/service/db?consistent' |
    jq -r '.[0].Service.Port')\" = 5432 ]"
check "a ?consistent read through the client" \
    [ "$(curl -s "http://127.0.0.34:$port_http/v1/kv/k2?raw&consistent")" = x ]
check "a write on the client is taken" \
    [ "$(curl -s -X PUT -d fromclient "http://127.0.0.34:$port_http/v1/kv/c")" = true ]
check "and is on every server" until_value 10 c fromclient 31 32 33
idx=$(curl -s -o /dev/null -D - "http://127.0.0.34:$port_http/v1/kv/c" |
    tr -d '\r' | sed -n 's/^X-Consul-Index: //p')
( sleep 1; curl -s -X PUT -d woken "http://127.0.0.$follower:$port_http/v1/kv/c" \
    >/dev/null ) &
out=$(curl -s --max-time 20 \
    "http://127.0.0.34:$port_http/v1/kv/c?raw&index=$idx&wait=15s")
check "a blocking query through the client is woken by a write elsewhere" \
    [ "$out" = woken ]
check "operator/raft/configuration through the client" \
    [ "$(curl -s "http://127.0.0.34:$port_http/v1/operator/raft/configuration" |
    jq '.Servers | length')" = 3 ]
check "a missing key through the client is 404" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.34:$port_http/v1/kv/nope")" = 404 ]
"$CONSULCTL" kv put -http-addr=127.0.0.34:$port_http cli/a 1 >/dev/null
check "consulctl kv through the client" \
    [ "$("$CONSULCTL" kv get -http-addr=127.0.0.34:$port_http cli/a)" = 1 ]
i=0
while [ $i -lt 50 ]; do
	curl -s -X PUT -d "v$i" "http://$lip:$port_http/v1/kv/many/$i" \
	    >/dev/null
	i=$((i + 1))
done
check "50 more writes are on every server" until_value 10 many/49 v49 31 32 33

health=$(curl -s -w '\n%{http_code}' \
    "http://127.0.0.$follower:$port_http/v1/operator/autopilot/health")
check "autopilot/health: healthy, tolerating one failure" \
    [ "$(echo "$health" | head -1 | jq -c '[.Healthy, .FailureTolerance,
    (.Servers | length)]')" = '[true,1,3]' ]
check "with 200" [ "$(echo "$health" | tail -1)" = 200 ]
check "every server alive, with its last index and contact" \
    [ "$(echo "$health" | head -1 | jq '[.Servers[] |
    select(.SerfStatus == "alive" and .LastIndex > 50 and .Healthy and
    (.LastContact | test("^[0-9.]+(ms|s|µs)$")))] | length')" = 3 ]
"$CONSULCTL" operator raft list-peers -http-addr=127.0.0.32:$port_http \
    >"$test_tmp/peers" 2>&1
check "list-peers fills Commit Index and Trails Leader By" \
    sh -c "grep ' leader ' '$test_tmp/peers' | grep -Eq ' [1-9][0-9]+ +-\$' &&
    [ \$(grep -Ec ' follower .* [1-9][0-9]+ +[0-9]+ commits?\$' '$test_tmp/peers') = 2 ]"

"$CONSULCTL" info -http-addr=127.0.0.$follower:$port_http >"$test_tmp/info"
check "consulctl info on a follower has a raft section" \
    sh -c "grep -qx '	state = Follower' '$test_tmp/info' &&
    grep -qx '	num_peers = 2' '$test_tmp/info' &&
    grep -Eqx '	applied_index = [1-9][0-9]*' '$test_tmp/info'"
check "and serf_lan counts the members, unencrypted" \
    sh -c "sed -n '/^serf_lan:/,/^serf_wan:/p' '$test_tmp/info' |
    grep -qx '	members = 4' && sed -n '/^serf_lan:/,/^serf_wan:/p' \
    '$test_tmp/info' | grep -qx '	encrypted = false'"
check "and a client agent none" \
    sh -c "! '$CONSULCTL' info -http-addr=127.0.0.34:$port_http | grep -q '^raft:'"

# Leadership handed over on request, then back.
"$CONSULCTL" operator raft transfer-leader \
    -http-addr=127.0.0.$follower:$port_http >"$test_tmp/tl" 2>&1
check "consulctl operator raft transfer-leader succeeds" \
    grep -q "^Success! Leadership transferred" "$test_tmp/tl"
moved=$(until_leader 10 "$leader" 31 32 33)
check "and another server leads" [ -n "$moved" ]
mnum=${moved%:*}; mnum=${mnum##*.}
check "transfer-leader to a named server" \
    [ "$(curl -s -X POST "http://127.0.0.$follower:$port_http/v1/operator/raft/transfer-leader?id=$(
    curl -s "http://127.0.0.31:$port_http/v1/operator/raft/configuration" |
    jq -r ".Servers[] | select(.Address == \"$leader\") | .ID")" |
    jq -c .)" = '{"Success":true}' ]
back=$(until_leader 10 "$moved" 31 32 33)
check "to the server named" [ "$back" = "$leader" ]
"$CONSULCTL" operator raft transfer-leader -id=nope \
    -http-addr=127.0.0.$follower:$port_http >"$test_tmp/tl" 2>&1
rc=$?
check "transfer-leader to an unknown server fails and says why" \
    sh -c "[ $rc -eq 1 ] && grep -q 'not a voter' '$test_tmp/tl'"
"$CONSULCTL" operator raft remove-peer -address=127.0.0.99:1 \
    -http-addr=127.0.0.$follower:$port_http >"$test_tmp/rp" 2>&1
rc=$?
check "remove-peer of an unknown address fails" \
    sh -c "[ $rc -eq 1 ] && grep -q 'address \"127.0.0.99:1\" was not found in the Raft configuration' '$test_tmp/rp'"
check "DELETE /v1/operator/raft/peer without ?id or ?address is a 400" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE \
    "http://127.0.0.$follower:$port_http/v1/operator/raft/peer")" = 400 ]

# until_peers SECONDS COUNT: the leader's configuration has COUNT servers.
until_peers() {
	limit=$(($1 * 10)) i=0
	while [ $i -lt $limit ]; do
		[ "$(curl -s "http://$lip:$port_http/v1/status/peers" |
		    jq length)" = "$2" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
# A fourth server joins later: autopilot adds it, then makes it a voter.
rstart 35
check "a server that joins later is added to the configuration" \
    until_peers 20 4
check "as a non-voter first, then a voter" \
    sh -c "sleep 2; grep -q 'autopilot: adding non-voter r35' '$test_tmp'/r3[123].log &&
    grep -q 'autopilot: promoting to voter r35' '$test_tmp'/r3[123].log"
check "it has the data" until_value 10 many/49 v49 35
"$CONSULCTL" leave -http-addr=127.0.0.35:$port_http >/dev/null
check "when it leaves, autopilot removes it" until_peers 20 3
check "and says so" \
    grep -q 'autopilot: removing left server r35' "$test_tmp"/r3[123].log
i=0
while [ $i -lt 100 ] && [ "$(curl -s "http://$lip:$port_http/v1/catalog/node/r35")" != null ]; do
	sleep 0.1; i=$((i + 1))
done
check "and it leaves the catalog" [ $i -lt 100 ]

# The leader dies: the two others elect one of themselves.
eval "kill -KILL \$rpid$lnum"
eval "wait \$rpid$lnum" 2>/dev/null
rest=""
for n in 31 32 33; do [ "$n" = "$lnum" ] || rest="$rest $n"; done
start=$(date +%s%N)
new=$(until_leader 30 "$leader" $rest)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "after kill -9 of the leader the others elect a new one" \
    sh -c "[ -n '$new' ] && [ '$new' != '$leader' ]"
diag "new leader $new after $ms ms"
nip=${new%:*}
check "the new leader takes writes" \
    [ "$(curl -s -X PUT -d two "http://$nip:$port_http/v1/kv/k")" = true ]
check "and the old writes are all there" until_value 5 many/0 v0 $rest
i=0
while [ $i -lt 100 ] && [ "$(curl -s -X PUT -d afterkill \
    "http://127.0.0.34:$port_http/v1/kv/c")" != true ]; do
	sleep 0.1; i=$((i + 1))
done
check "the client writes again once a leader is elected" [ $i -lt 100 ]
diag "the client's first write after the kill took $((i * 100)) ms of retries"
check "the dead server's serfHealth turns critical" \
    serf_status 30 "r$lnum" critical
"$CONSULCTL" operator raft remove-peer -address="$leader" \
    -http-addr=127.0.0.34:$port_http >"$test_tmp/rp" 2>&1
check "remove-peer takes the dead leader out of the configuration" \
    grep -qx "Removed peer with address \"$leader\"" "$test_tmp/rp"
check "leaving two peers" \
    [ "$(curl -s "http://$nip:$port_http/v1/status/peers" | jq length)" = 2 ]

# The old leader comes back and catches up as a follower.
rstart "$lnum"
check "the old leader, restarted, catches up" until_value 20 k two $lnum
check "and its serfHealth is passing again" serf_status 30 "r$lnum" passing
# voters SECONDS N: the leader's configuration has N voters.
voters() {
	limit=$(($1 * 10)) i=0
	while [ $i -lt $limit ]; do
		[ "$(curl -s -m 2 "http://$nip:$port_http/v1/operator/raft/configuration" |
		    jq '[.Servers[] | select(.Voter)] | length')" = "$2" ] &&
		    return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
check "autopilot adds the removed server back, as a voter once caught up" \
    voters 20 3
check "and follows the new leader" \
    sh -c "[ \"\$(curl -s http://$lip:$port_http/v1/status/leader |
    tr -d '\"')\" = '$new' ]"
# A follower misses more than the leader keeps of its log: it is sent
# the leader's snapshot, and installs it.
nip=${new%:*}
nnum=${nip##*.}
victim=31
[ "$nnum" = 31 ] && victim=32
eval "kill -KILL \$rpid$victim"
eval "wait \$rpid$victim" 2>/dev/null
i=0
while [ $i -lt 120 ]; do
	curl -s -m 10 -X PUT -d "s$i" "http://$nip:$port_http/v1/kv/snap/$i" \
	    >/dev/null
	i=$((i + 1))
done
sleep 3
check "the leader compacted its log behind a snapshot" \
    grep -q "snapshot: took a snapshot" "$test_tmp/r$nnum.log"
rstart "$victim"
check "a follower far behind catches up" until_value 20 snap/119 s119 $victim
check "through the leader's snapshot" \
    grep -q "installed the leader's snapshot" "$test_tmp/r$victim.log"
check "with the keys from before it too" until_value 5 many/0 v0 $victim

# Quorum lost: a request that needs the leader waits for one (up to
# rpc_hold_timeout) and goes through once one is elected, or fails then.
survivor=$nnum
others=""
for n in 31 32 33; do [ "$n" = "$survivor" ] || others="$others $n"; done
for n in $others; do eval "kill -KILL \$rpid$n"; eval "wait \$rpid$n"; done 2>/dev/null
i=0
while [ $i -lt 200 ] && [ -n "$(leader_of $survivor)" ]; do
	sleep 0.1; i=$((i + 1))
done
check "a server alone loses its leader" [ -z "$(leader_of $survivor)" ]
curl -s -w " %{time_total}" -X PUT -d held \
    "http://127.0.0.$survivor:$port_http/v1/kv/held" >"$test_tmp/held.out" &
held=$!
sleep 1
first=${others# }; first=${first%% *}
rstart "$first"
wait $held
diag "the held write answered after $(cut -d" " -f2 "$test_tmp/held.out") s"
check "a write held without a leader goes through once one is elected" \
    grep -q "^true " "$test_tmp/held.out"
eval "kill -KILL \$rpid$first"; eval "wait \$rpid$first" 2>/dev/null
i=0
while [ $i -lt 200 ] && [ -n "$(leader_of $survivor)" ]; do
	sleep 0.1; i=$((i + 1))
done
start=$(date +%s)
out=$(curl -s -w ' %{http_code}' -X PUT -d x \
    "http://127.0.0.$survivor:$port_http/v1/kv/nope")
took=$(($(date +%s) - start))
check "with no leader coming, it fails after rpc_hold_timeout" \
    sh -c "[ '$out' = 'No cluster leader 500' ] && [ $took -ge 6 ]"
check "a stale read is still served at once" \
    [ "$(stale $survivor held)" = held ]

# A HELLO from datacenter dc9, as a frame: length, then [1, 1, "dc9", id],
# then a Raft frame [2, nil]: a server of another datacenter may forward
# requests (WAN federation), never speak Raft.
perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.'$survivor:$port_rpc'")
	    or exit 1;
	my $f = "\x94\x01\x01\xa3dc9\xafnot-a-real-node";
	my $r = "\x92\x02\xc0";
	print $s pack("N", length($f)) . $f . pack("N", length($r)) . $r;
	sleep 1;' 2>/dev/null
check "a server of another datacenter may not speak Raft on :8300" \
    grep -q "is of another datacenter: it may only forward requests" \
    "$test_tmp/r$survivor.log"
tap_done
