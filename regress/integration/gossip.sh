#!/bin/sh
# Gossip membership between five real agents on 127.0.0.1 .. 127.0.0.5
# (one server, four clients; every one on its own loopback address, so
# they are distinct hosts to each other): all join through retry_join
# and see five alive; an agent killed with SIGKILL is failed everywhere
# within 10 s; restarted, it is alive again everywhere.
. "$(dirname "$0")/../lib/agent.sh"

port_http=19500 port_dns=19600 port_lan=19301 port_wan=19302 port_rpc=19300
printf '{"retry_interval": "1s"}\n' > "$test_tmp/retry.json"
pids=""

# gstart N: agent N on 127.0.0.N; 1 is the server the others join.
gstart() {
	n=$1
	if [ "$n" -eq 1 ]; then
		role="-server -bootstrap"
	else
		role="-retry-join=127.0.0.1:$port_lan"
	fi
	"$CONSULD" -d $role -node="g$n" -data-dir="$test_tmp/d$n" \
	    -bind=127.0.0.$n -client=127.0.0.$n -http-port=$port_http \
	    -dns-port=$port_dns -serf-lan-port=$port_lan \
	    -serf-wan-port=$port_wan -server-port=$port_rpc \
	    -config-file="$test_tmp/retry.json" \
	    >>"$test_tmp/g$n.log" 2>&1 &
	eval "gpid$n=$!"
	pids="$pids $!"
}

# members N: "name status" lines as agent N sees the LAN pool.
members() {
	curl -s "http://127.0.0.$1:$port_http/v1/agent/members" |
	    jq -r '.[] | "\(.Name) \(.Status)"' 2>/dev/null | sort
}

# until_all STATUS-OF-G3 SECONDS: every other agent sees g3 so.
until_seen() {
	want=$1; limit=$(( $2 * 10 )); i=0
	while [ $i -lt $limit ]; do
		all=1
		for n in $3; do
			members "$n" | grep -qx "g3 $want" || all=0
		done
		[ $all -eq 1 ] && { echo $i; return 0; }
		sleep 0.1; i=$((i + 1))
	done
	echo $i
	return 1
}

stop_all() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
}
trap 'stop_all; cleanup' EXIT INT TERM

for n in 1 2 3 4 5; do gstart $n; done
i=0; ok5=0
while [ $i -lt 150 ]; do
	ok5=1
	for n in 1 2 3 4 5; do
		[ "$(members $n | grep -c ' 1$')" -eq 5 ] || ok5=0
	done
	[ $ok5 -eq 1 ] && break
	sleep 0.1; i=$((i + 1))
done
check "all five agents see five alive members" [ $ok5 -eq 1 ]
diag "converged after $((i * 100)) ms"
out=$("$CONSULCTL" members -http-addr=127.0.0.2:$port_http)
check "consulctl members on a client lists the server first" \
    sh -c "echo '$out' | sed -n 2p | grep -q '^g1  *127.0.0.1:$port_lan  *alive  *server'"
check "and the clients as clients" \
    [ "$(echo "$out" | grep -c ' alive  *client ')" -eq 4 ]
check "the server is in the WAN pool as g1.dc1" \
    [ "$(curl -s "http://127.0.0.1:$port_http/v1/agent/members?wan=1" |
    jq -r '.[0].Name')" = g1.dc1 ]

kill -KILL "$gpid3"
wait "$gpid3" 2>/dev/null
if t=$(until_seen 4 10 "1 2 4 5"); then
	ok "a killed agent is failed everywhere within 10 s"
	diag "failure detected everywhere after $((t * 100)) ms"
else
	not_ok "a killed agent is failed everywhere within 10 s"
	for n in 1 2 4 5; do diag "g$n sees: $(members $n | tr '\n' ',')"; done
fi
check "nobody else is failed" \
    [ "$(members 1 | grep -c ' 4$')" -eq 1 ]

gstart 3
if t=$(until_seen 1 15 "1 2 4 5"); then
	ok "restarted, it is alive again everywhere"
	diag "rejoined everywhere after $((t * 100)) ms"
else
	not_ok "restarted, it is alive again everywhere"
fi
tap_done
