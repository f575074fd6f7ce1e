#!/bin/sh
# Gossip membership between five real agents on 127.0.0.1 .. 127.0.0.5
# (one server, four clients; every one on its own loopback address, so
# they are distinct hosts to each other): all join through retry_join
# (one by a host name) and see five alive; an agent killed with SIGKILL is failed everywhere
# within 10 s; restarted, it is alive again everywhere.
. "$(dirname "$0")/../lib/agent.sh"

pshift=${CONSULD_PORT_SHIFT:-0}
port_http=$((19500 + pshift)) port_dns=$((19600 + pshift)) port_lan=$((19301 + pshift))
port_wan=$((19302 + pshift)) port_rpc=$((19300 + pshift))
printf '{"retry_interval": "1s"}\n' > "$test_tmp/retry.json"
pids=""

# gstart N [alone [flags]]: agent N on 127.0.0.N; 1 is the server the
# others join; "alone": with no retry_join, so only its snapshot helps.
gstart() {
	n=$1
	if [ "${2:-}" = alone ]; then
		role="${3:-}"
	elif [ "$n" -eq 1 ]; then
		role="-server -bootstrap"
	elif [ "$n" -eq 5 ]; then
		role="-retry-join=localhost:$port_lan"
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

# until_seen STATUS SECONDS AGENTS [NODE]: every agent of AGENTS sees
# NODE (g3 by default) with STATUS.
until_seen() {
	want=$1; limit=$(( $2 * 10 )); i=0; node=${4:-g3}
	while [ $i -lt $limit ]; do
		all=1
		for n in $3; do
			members "$n" | grep -qx "$node $want" || all=0
		done
		[ $all -eq 1 ] && { echo $i; return 0; }
		sleep 0.1; i=$((i + 1))
	done
	echo $i
	return 1
}

# seen STATUS SECONDS AGENTS [NODE]: until_seen, quietly.
seen() {
	until_seen "$@" >/dev/null
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
check "a host name in retry_join is resolved" \
    grep -q "retry_join: localhost:$port_lan is 127.0.0.1:$port_lan" \
    "$test_tmp/g5.log"
check "the server is in the WAN pool as g1.dc1" \
    [ "$(curl -s "http://127.0.0.1:$port_http/v1/agent/members?wan=1" |
    jq -r '.[0].Name')" = g1.dc1 ]

sleep 1		# the snapshot of members is written 250 ms after a change
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

# Restarted without any retry_join: the snapshot in its data_dir knows
# whom to join again.
gstart 3 alone
if t=$(until_seen 1 15 "1 2 4 5"); then
	ok "restarted with no join address, it rejoins from its snapshot"
	diag "rejoined everywhere after $((t * 100)) ms"
else
	not_ok "restarted with no join address, it rejoins from its snapshot"
fi
check "its log says so" \
    grep -q "lan: joining the 4 members of the snapshot again" "$test_tmp/g3.log"

# A graceful leave: left everywhere, and a leave is permanent...
out=$("$CONSULCTL" leave -http-addr=127.0.0.4:$port_http 2>&1)
check "consulctl leave says the leave is complete" \
    [ "$out" = "Graceful leave complete" ]
wait "$gpid4"
check "and the agent exits 0" [ $? -eq 0 ]
check "the others see it left" seen 3 10 "1 2 3 5" g4
check "and only it" [ "$(members 1 | grep -c ' 3$')" -eq 1 ]
gstart 4 alone
sleep 3
check "restarted after a leave, it does not rejoin by itself" \
    [ "$(members 4 | grep -c ' 1$')" -eq 1 ]
check "and says why" grep -q "this agent left last time; not rejoining" \
    "$test_tmp/g4.log"
# SIGTERM: the parent waits for its children, so their ports are free
# for the next start (after SIGKILL they linger a moment).
kill -TERM "$gpid4"; wait "$gpid4" 2>/dev/null
# ... unless rejoin_after_leave.
gstart 4 alone -rejoin
if seen 1 15 "1 2 3 5" g4; then
	ok "with -rejoin it joins its old members again"
else
	not_ok "with -rejoin it joins its old members again"
	for n in 1 2 3 5; do diag "g$n sees: $(members $n | tr '\n' ',')"; done
	grep -v "^ " "$test_tmp/g4.log" | tail -12 | sed 's/^/# /'
	sed 's/^/# snapshot: /' "$test_tmp/d4/serf/local.snapshot"
fi

# leave_on_terminate: a client leaves on SIGTERM, a server does not.
kill -TERM "$gpid2"; wait "$gpid2"
check "a client stopped with SIGTERM exits 0" [ $? -eq 0 ]
check "and is seen left, not failed" seen 3 10 "1 3 4 5" g2
gstart 2 alone
sleep 1
"$CONSULCTL" join -http-addr=127.0.0.2:$port_http 127.0.0.3:$port_lan \
    127.0.0.9:$port_lan >"$test_tmp/join.out" 2>&1
check "consulctl join counts the address that answered" \
    grep -qx 'Successfully joined cluster by contacting 1 nodes.' \
    "$test_tmp/join.out"
check "and names the one that did not" \
    grep -q "^Error joining address '127.0.0.9:$port_lan'" "$test_tmp/join.out"
check "and the joined agent is alive everywhere" \
    seen 1 10 "1 3 4 5" g2
kill -TERM "$gpid1"; wait "$gpid1"
check "a server stopped with SIGTERM exits 0" [ $? -eq 0 ]
check "and is not seen left (it did not leave)" \
    sh -c "sleep 1; ! curl -s http://127.0.0.3:$port_http/v1/agent/members |
    jq -e '.[] | select(.Name == \"g1\" and .Status == 3)' >/dev/null"
tap_done
