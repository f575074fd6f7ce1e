#!/bin/sh
# Catalog and health benchmark on a single server (`make bench catalog`):
# registrations/s (PUT /v1/catalog/register at 16 connections), health
# queries/s (/v1/health/service/NAME?passing with 1,000 services x 3
# instances registered), the delay from a check going critical to a
# blocking health query returning (median and p99 over BENCH_TRIALS),
# and checkd's CPU time (user + system seconds a minute) running 1,000
# http checks at a 10 s interval against a local HTTP server.  Prints
# numbers; asserts nothing.  Loopback only: the agent on ports
# 17350-17354, the HTTP server on 17360 (below the tests' ports).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
build=${CONSULD_BUILD:-$top}
secs=${BENCH_SECONDS:-5}
cpu_secs=${BENCH_CPU_SECONDS:-60}
trials=${BENCH_TRIALS:-50}
port=17350
web_port=17360
addr=127.0.0.1:$port
url=http://$addr
load="python3 regress/bench/catalog_load.py"
for t in wrk python3 curl jq; do
	command -v $t >/dev/null || { echo "catalog bench: needs $t"; exit 1; }
done
data=$(mktemp -d /tmp/consuld-bench.XXXXXX)
chmod 755 "$data"
mkdir "$data/www"
"$build/consuld/consuld" -d -server -bootstrap -node=bench \
    -data-dir="$data/d" -bind=127.0.0.1 -client=127.0.0.1 \
    -http-port=$port -dns-port=$((port + 1)) -serf-lan-port=$((port + 2)) \
    -serf-wan-port=$((port + 3)) -server-port=$((port + 4)) \
    -log-level=warn >"$data/log" 2>&1 &
pid=$!
web=""
cleanup() {
	[ -n "$web" ] && kill $web 2>/dev/null && wait $web 2>/dev/null
	kill -TERM $pid 2>/dev/null
	wait $pid
	rm -rf "$data"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
i=0
until [ "$(curl -s "$url/v1/status/leader")" != '""' ] &&
    curl -sf -o /dev/null "$url/v1/status/leader"; do
	i=$((i + 1)); [ $i -gt 300 ] && { echo "no leader"; exit 1; }
	sleep 0.05
done
child() {
	for p in $(pgrep -P $pid); do
		[ "$(cat /proc/$p/comm)" = "$1" ] && echo $p
	done
}
# cpu PID: user + system clock ticks so far.
cpu() { awk '{ print $14 + $15 }' /proc/$1/stat; }

summary() {
	awk -v what="$1" '
	/Requests\/sec/ { rps = $2 }
	/^ +50%/ { p50 = $2 }
	/^ +99%/ { p99 = $2 }
	/Non-2xx/ { bad = $NF }
	END { printf "%s: %.0f req/s  p50 %s  p99 %s%s\n", what, rps, p50, p99,
	    bad ? "  (" bad " not 2xx)" : "" }'
}

$load register "$addr" 1000 3 8
n=$(curl -s "$url/v1/health/service/svc-0042?passing" | jq length)
echo "health: svc-0042?passing lists $n instances"
wrk -t2 -c16 -d${secs}s --latency -s regress/bench/catalog_health.lua \
    "$url" | summary "health/service/NAME?passing, 16 conns"
wrk -t2 -c16 -d${secs}s --latency -s regress/bench/catalog_register.lua \
    "$url" | summary "catalog/register, 16 conns"

$load latency "$addr" "$trials"

# checkd with 1,000 http checks against a local server.
(cd "$data/www" && echo ok >index.html &&
    exec python3 -m http.server $web_port --bind 127.0.0.1 \
    >"$data/web.log" 2>&1) &
web=$!
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$web_port/"; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "no http server"; exit 1; }
	sleep 0.1
done
$load checks "$addr" 1000 "http://127.0.0.1:$web_port/"
$load passing "$addr" bench-http- 60
checkd=$(child checkd)
raftd=$(child raftd)
apid=$(child apid)
tck=$(getconf CLK_TCK)
hits() { grep -c '"GET / ' "$data/web.log"; }
c0=$(cpu $checkd); r0=$(cpu $raftd); a0=$(cpu $apid); h0=$(hits)
t0=$(date +%s%N)
sleep "$cpu_secs"
c1=$(cpu $checkd); r1=$(cpu $raftd); a1=$(cpu $apid); h1=$(hits)
t1=$(date +%s%N)
nodes=$(curl -s "$url/v1/catalog/nodes" | jq length)
awk -v c=$((c1 - c0)) -v r=$((r1 - r0)) -v a=$((a1 - a0)) -v hz=$tck \
    -v ns=$((t1 - t0)) -v nodes=$nodes -v h=$((h1 - h0)) 'BEGIN {
	m = ns / 60e9
	printf "checkd CPU, 1000 http checks at 10s: %.2f s a minute " \
	    "(user + system, over %.0f s)\n", c / hz / m, ns / 1e9
	printf "meanwhile raftd %.2f s a minute (with %d catalog nodes " \
	    "to reconcile), apid %.2f\n", r / hz / m, nodes, a / hz / m
	printf "the HTTP server answered %.0f checks a second\n",
	    h / (ns / 1e9) }'
rss=$(awk '/^VmHWM:/ { print $2 }' /proc/$checkd/status)
echo "checkd peak RSS: $((rss / 1024)) MiB"
