#!/bin/sh
# Multi-datacenter benchmark (`make bench dc`): two datacenters of one
# server each on loopback, WAN-joined.  Prints the throughput and p50/p99
# latency of a KV read in the local datacenter and of the same read
# forwarded with ?dc= to the other (the ratio is the cost of
# forwarding), the WAN gossip traffic per server per second (the WAN
# pool's UDP and TCP bytes, counted by an nft table of this script's own
# on the WAN ports), and the memory dc1's processes hold per remote
# datacenter (their resident size before and after the join), and DNS
# queries/s and latency for names of dc2 asked in dc1, cached or not,
# against a local name.  Prints numbers; asserts nothing.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
build=${CONSULD_BUILD:-$top}
secs=${BENCH_SECONDS:-5}
base=17800
data=$(mktemp -d /tmp/consuld-bench.XXXXXX)
chmod 755 "$data"
table="benchdc$$"
pids=""

cleanup() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	nft delete table inet "$table" 2>/dev/null
	rm -rf "$data"
}
trap cleanup EXIT INT TERM

# start N DC: a server of datacenter DC on ports base + 10 N ...
start() {
	p=$((base + $1 * 10))
	"$build/consuld/consuld" -d -server -bootstrap -node="bench$1" \
	    -datacenter="$2" -data-dir="$data/d$1" -bind=127.0.0.1 \
	    -client=127.0.0.1 -http-port=$p -dns-port=$((p + 1)) \
	    -serf-lan-port=$((p + 2)) -serf-wan-port=$((p + 3)) \
	    -server-port=$((p + 4)) -log-level=warn >"$data/log$1" 2>&1 &
	pids="$pids $!"
}
url() { echo "http://127.0.0.1:$((base + $1 * 10))"; }
ready() {
	i=0
	until [ "$(curl -s "$(url "$1")/v1/status/leader")" != '""' ] &&
	    curl -sf -o /dev/null "$(url "$1")/v1/status/leader"; do
		i=$((i + 1)); [ $i -gt 300 ] && { echo "no leader"; exit 1; }
		sleep 0.05
	done
}
# rss N: the resident KiB of server N's processes.
rss() {
	p=$(echo $pids | cut -d' ' -f"$1")
	for c in $p $(pgrep -P "$p"); do
		awk '/^VmRSS/ { print $2 }' "/proc/$c/status" 2>/dev/null
	done | awk '{ s += $1 } END { print s + 0 }'
}

start 1 dc1
start 2 dc2
ready 1
ready 2
before=$(rss 1)
# Count the WAN pool's bytes on both servers' WAN ports.
wan1=$((base + 13)) wan2=$((base + 23))
nft -f - <<EOF 2>/dev/null && counting=1 || counting=0
table inet $table {
	counter wan {}
	chain out {
		type filter hook output priority 0; policy accept;
		udp dport { $wan1, $wan2 } counter name wan
		tcp dport { $wan1, $wan2 } counter name wan
		tcp sport { $wan1, $wan2 } counter name wan
	}
}
EOF
curl -s -X PUT "$(url 1)/v1/agent/join/127.0.0.1:$wan2?wan=1" >/dev/null
i=0
until [ "$(curl -s "$(url 1)/v1/catalog/datacenters")" = '["dc1","dc2"]' ]; do
	i=$((i + 1)); [ $i -gt 300 ] && { echo "no WAN join"; exit 1; }
	sleep 0.05
done
curl -s -X PUT --data-binary "$(head -c 100 /dev/zero | tr '\0' v)" \
    "$(url 2)/v1/kv/bench/read" >/dev/null
curl -s -X PUT --data-binary "$(head -c 100 /dev/zero | tr '\0' v)" \
    "$(url 1)/v1/kv/bench/read" >/dev/null

summary() {
	awk -v what="$1" -v c="$2" '
	/Requests\/sec/ { rps = $2 }
	/^ +50%/ { p50 = $2 }
	/^ +99%/ { p99 = $2 }
	END { printf "kv read %-9s %2d conns: %9.0f req/s  p50 %-8s p99 %s\n",
	    what, c, rps, p50, p99; print rps > "/dev/stderr" }'
}
for c in 1 16; do
	t=$([ $c -lt 2 ] && echo 1 || echo 2)
	wrk -t$t -c$c -d${secs}s --latency \
	    "$(url 1)/v1/kv/bench/read" | summary local $c 2>"$data/l"
	wrk -t$t -c$c -d${secs}s --latency \
	    "$(url 1)/v1/kv/bench/read?dc=dc2" | summary "?dc=dc2" $c \
	    2>"$data/r"
	echo "  forwarded / local throughput at $c conns: $(awk -v l="$(cat \
	    "$data/l")" -v r="$(cat "$data/r")" 'BEGIN { printf "%.2f",
	    (l > 0 ? r / l : 0) }')"
done

# DNS in dc1 for names of dc2 (dnsperf): a name dnsd has in its short
# cache of dc2's answers, against the same service of dc1; and names it
# must ask dc2 for each time (a new one each query: the cost of the
# round trip through raftd and the WAN).
if command -v dnsperf >/dev/null 2>&1; then
	dport=$((base + 11))
	for u in "$(url 1)" "$(url 2)"; do
		curl -s -X PUT "$u/v1/catalog/register" -d '{"Node":"web1",
		    "Address":"10.0.0.1","Service":{"Service":"web",
		    "Port":80}}' >/dev/null
	done
	dns() {
		dnsperf -s 127.0.0.1 -p $dport -d "$data/$1" -l "$secs" \
		    -q 20 -t 5 ${2:-} >"$data/perf" 2>&1
		awk -v what="$1" '
		    /Queries per second:/ { qps = $4 }
		    /Queries lost:/ { lost = $3 }
		    /Average Latency/ { lat = $4 * 1000 }
		    END { printf "dns %-12s %9.0f queries/s  mean %.3f ms  " \
			"lost %s\n", what, qps, lat, lost }' "$data/perf"
	}
	echo "web.service.consul A" >"$data/local"
	echo "web.service.dc2.consul A" >"$data/cached"
	i=0
	while [ $i -lt 20000 ]; do
		echo "m$i.service.dc2.consul A"
		i=$((i + 1))
	done >"$data/uncached"
	dig +short -p $dport @127.0.0.1 web.service.dc2.consul >/dev/null
	dns local
	dns cached
	dns uncached "-n 1"
else
	echo "dns: not measured (no dnsperf)"
fi

if [ "$counting" = 1 ]; then
	b0=$(nft list counter inet "$table" wan | awk '/bytes/ { print $NF }')
	sleep 30
	b1=$(nft list counter inet "$table" wan | awk '/bytes/ { print $NF }')
	echo "WAN gossip, 2 servers idle: $(awk -v a="$b0" -v b="$b1" \
	    'BEGIN { printf "%.0f", (b - a) / 30 / 2 }') bytes/s per server"
else
	echo "WAN gossip: not measured (nft unavailable)"
fi
after=$(rss 1)
echo "dc1's server resident memory: $before KiB alone, $after KiB with" \
    "dc2 known and forwarded to: $((after - before)) KiB for one remote" \
    "datacenter"
