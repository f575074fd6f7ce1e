#!/bin/sh
# TLS benchmark (`make bench tls`): three consuld servers on loopback
# (127.0.0.101 .. 103), raft_multiplier 1, run twice in the same go:
# plaintext RPC, then mutual TLS on :8300 (verify_incoming,
# verify_outgoing, verify_server_hostname).  Prints KV writes/s and
# p50/p99 at 16 connections to the leader (replication over RPC) and
# through a follower (forwarding over RPC as well), then, on the TLS
# leader's HTTPS port, new HTTPS handshakes per second (openssl s_time)
# and the latency a new connection adds to the first request (curl,
# HTTPS against HTTP, median of BENCH_TRIALS).  Prints numbers; asserts
# nothing.  Loopback only.
#   BENCH_SECONDS   seconds per wrk run (5)
#   BENCH_TRIALS    first requests timed (50)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
build=${CONSULD_BUILD:-$top}
secs=${BENCH_SECONDS:-5}
trials=${BENCH_TRIALS:-50}
servers="101 102 103"
port_http=19880 port_dns=19881 port_lan=19882 port_wan=19883 port_rpc=19884
port_https=19885

for t in wrk curl openssl; do
	command -v $t >/dev/null || { echo "tls bench: $t missing"; exit 1; }
done
tmp=$(mktemp -d /tmp/consuld-tlsbench.XXXXXX)
chmod 755 "$tmp"
pgids=""
stop_all() {
	for g in $pgids; do kill -TERM -"$g" 2>/dev/null; done
	sleep 0.5
	for g in $pgids; do kill -KILL -"$g" 2>/dev/null; done
	wait 2>/dev/null
	pgids=""
}
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

(cd "$tmp" && "$build/consulctl/consulctl" tls ca create >/dev/null &&
    for n in $servers; do
	"$build/consulctl/consulctl" tls cert create -server >/dev/null
    done) || { echo "tls bench: consulctl tls failed"; exit 1; }
ca="$tmp/consul-agent-ca.pem"

leader_of() {
	curl -s -m 2 "http://127.0.0.$1:$port_http/v1/status/leader" |
	    tr -d '"'
}
until_leader() {
	i=0
	while [ $i -lt 600 ]; do
		l=$(leader_of 101)
		if [ -n "$l" ] && [ "$(leader_of 102)" = "$l" ] &&
		    [ "$(leader_of 103)" = "$l" ]; then
			echo "$l"; return 0
		fi
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
summary() {
	awk -v what="$1" '
	/Requests\/sec/ { rps = $2 }
	/^ +50%/ { p50 = $2 }
	/^ +99%/ { p99 = $2 }
	/Non-2xx/ { bad = $NF }
	END {
		printf "%-40s 16 conns: %8.0f req/s  p50 %-8s p99 %-8s", \
		    what, rps, p50, p99
		if (bad) printf "  non-2xx %s", bad
		printf "\n"
	}' "$2"
}

# round NAME TLS(0|1)
round() {
	name=$1 tls=$2
	rm -rf "$tmp"/d1*
	i=0
	for n in $servers; do
		extra=""
		if [ "$tls" = 1 ]; then
			extra=", \"verify_incoming\": true,
 \"verify_outgoing\": true, \"verify_server_hostname\": true,
 \"ca_file\": \"$ca\",
 \"cert_file\": \"$tmp/dc1-server-consul-$i.pem\",
 \"key_file\": \"$tmp/dc1-server-consul-$i-key.pem\",
 \"ports\": {\"https\": $port_https}"
		fi
		cat >"$tmp/s$n.json" <<EOC
{"server": true, "bootstrap_expect": 3, "retry_interval": "1s",
 "retry_join": ["127.0.0.101:$port_lan", "127.0.0.102:$port_lan",
  "127.0.0.103:$port_lan"],
 "performance": {"raft_multiplier": 1},
 "limits": {"http_max_conns_per_client": 1024},
 "log_level": "warn"$extra}
EOC
		setsid "$build/consuld/consuld" -d -node="t$n" \
		    -data-dir="$tmp/d$n" -bind=127.0.0.$n -client=127.0.0.$n \
		    -http-port=$port_http -dns-port=$port_dns \
		    -serf-lan-port=$port_lan -serf-wan-port=$port_wan \
		    -server-port=$port_rpc -config-file="$tmp/s$n.json" \
		    >>"$tmp/c$n.log" 2>&1 &
		pgids="$pgids $!"
		i=$((i + 1))
	done
	leader=$(until_leader) || { echo "$name: no leader"; stop_all;
	    return 1; }
	lip=${leader%:*}
	fip=127.0.0.101
	[ "$lip" = 127.0.0.101 ] && fip=127.0.0.102
	i=0
	until [ "$(curl -s -m 5 -X PUT -d x \
	    "http://$fip:$port_http/v1/kv/bench/x")" = true ]; do
		i=$((i + 1)); [ $i -gt 100 ] && break
		sleep 0.1
	done
	wrk -t2 -c16 -d${secs}s --timeout 10s --latency \
	    -s regress/bench/kv_put.lua "http://$lip:$port_http" >"$tmp/w"
	summary "$name: write to the leader" "$tmp/w"
	wrk -t2 -c16 -d${secs}s --timeout 10s --latency \
	    -s regress/bench/kv_put.lua "http://$fip:$port_http" >"$tmp/w"
	summary "$name: write through a follower" "$tmp/w"
	if [ "$tls" = 1 ]; then
		https_numbers "$lip"
	fi
	stop_all
}

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

https_numbers() {
	ip=$1
	openssl s_time -connect "$ip:$port_https" -new -time "$secs" \
	    -CAfile "$ca" 2>/dev/null | awk '
	    /connections in .* real seconds/ {
		printf "HTTPS handshakes (openssl s_time -new): %.0f/s\n", \
		    $1 / $4 }'
	for scheme in http https; do
		port=$port_http
		[ $scheme = https ] && port=$port_https
		j=0
		while [ $j -lt "$trials" ]; do
			curl -s -o /dev/null --cacert "$ca" \
			    -w '%{time_total}\n' \
			    "$scheme://$ip:$port/v1/status/leader"
			j=$((j + 1))
		done | median >"$tmp/m.$scheme"
	done
	awk -v h="$(cat "$tmp/m.http")" -v s="$(cat "$tmp/m.https")" \
	    'BEGIN { printf "first request on a new connection, median " \
	    "of '"$trials"': http %.2f ms, https %.2f ms, added %.2f ms\n", \
	    h * 1000, s * 1000, (s - h) * 1000 }'
}

echo "== consuld: 3 servers, raft_multiplier 1, ${secs}s per run"
round "rpc plaintext" 0
round "rpc mutual tls" 1
