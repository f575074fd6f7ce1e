#!/bin/sh
# KV benchmark on a single server (`make bench kv`): writes/s and reads/s
# with 100-byte values at 1, 16 and 64 connections, p50 and p99 latency,
# fsyncs per write, and peak resident memory of all processes.  Prints
# numbers; asserts nothing.  Loopback only.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
build=${CONSULD_BUILD:-$top}
secs=${BENCH_SECONDS:-5}
port=17980
data=$(mktemp -d /tmp/consuld-bench.XXXXXX)
chmod 755 "$data"
"$build/consuld/consuld" -d -server -bootstrap -node=bench \
    -data-dir="$data/d" -bind=127.0.0.1 -client=127.0.0.1 \
    -http-port=$port -dns-port=$((port + 1)) -serf-lan-port=$((port + 2)) \
    -serf-wan-port=$((port + 3)) -server-port=$((port + 4)) \
    -log-level=warn >"$data/log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; rm -rf "$data"' EXIT
i=0
until [ "$(curl -s "http://127.0.0.1:$port/v1/status/leader")" != '""' ] &&
    curl -sf -o /dev/null "http://127.0.0.1:$port/v1/status/leader"; do
	i=$((i + 1)); [ $i -gt 300 ] && { echo "no leader"; exit 1; }
	sleep 0.05
done
curl -s -X PUT --data-binary "$(head -c 100 /dev/zero | tr '\0' v)" \
    "http://127.0.0.1:$port/v1/kv/bench/read" >/dev/null

raftd=$(for p in $(pgrep -P $pid); do
	[ "$(cat /proc/$p/comm)" = raftd ] && echo $p; done)

summary() {
	awk -v what="$1" -v c="$2" '
	/Requests\/sec/ { rps = $2 }
	/^ +50%/ { p50 = $2 }
	/^ +99%/ { p99 = $2 }
	END { printf "kv %-5s %2d conns: %9.0f req/s  p50 %-8s p99 %s\n", what, c, rps, p50, p99 }'
}

for c in 1 16 64; do
	t=$([ $c -lt 2 ] && echo 1 || echo 2)
	wrk -t$t -c$c -d${secs}s --latency -s regress/bench/kv_put.lua \
	    "http://127.0.0.1:$port" | summary write $c
	wrk -t$t -c$c -d${secs}s --latency \
	    "http://127.0.0.1:$port/v1/kv/bench/read" | summary read $c
done

# fsyncs per write: count raftd's syncs over a fixed number of writes.
if command -v strace >/dev/null && [ -n "$raftd" ]; then
	strace -f -c -e trace=fsync,fdatasync -p "$raftd" -o "$data/st" &
	st=$!
	sleep 0.5
	wrk -t2 -c16 -d2s -s regress/bench/kv_put.lua \
	    "http://127.0.0.1:$port" > "$data/w"
	kill -INT $st; wait $st
	syncs=$(awk '$NF ~ /sync/ { s += $4 } END { print s + 0 }' "$data/st")
	writes=$(awk '/requests in/ { print $1 }' "$data/w")
	echo "fsyncs per write at 16 conns: $syncs syncs / $writes writes" \
	    "= $(awk -v s=$syncs -v w=$writes 'BEGIN { printf "%.3f", w ? s / w : 0 }')"
fi
rss=0
for p in $pid $(pgrep -P $pid); do
	r=$(awk '/^VmHWM:/ { print $2 }' /proc/$p/status)
	rss=$((rss + r))
done
echo "peak RSS, all 6 processes: $((rss / 1024)) MiB"
