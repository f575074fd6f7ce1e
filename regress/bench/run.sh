#!/bin/sh
# Benchmarks: numbers printed, nothing asserted.  Talks to loopback only.
#   imsg throughput (regress/bench/bench_imsg)
#   the SWIM core at 100 to 1,000 simulated members (regress/bench/bench_swim)
#   dev agent start-up time (until /v1/agent/self answers)
#   GET /v1/agent/self through apid -> raftd -> apid with wrk, if present
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
build=${CONSULD_BUILD:-$top}
pkgs="libevent libbsd-overlay msgpack"
mkdir -p build/bench
cc -O2 -D_GNU_SOURCE -I common $(pkg-config --cflags $pkgs) \
    -o build/bench/bench_imsg regress/bench/bench_imsg.c \
    common/imsg.c common/log.c || exit 1
./build/bench/bench_imsg
spkgs="msgpack libsodium jansson libbsd-overlay"
cc -O2 -D_GNU_SOURCE -I common $(pkg-config --cflags $spkgs) \
    -o build/bench/bench_swim regress/bench/bench_swim.c common/log.c \
    common/mpack.c $(pkg-config --libs $spkgs) -lm || exit 1
./build/bench/bench_swim

port=17990
log=$(mktemp)
start=$(date +%s%N)
"$build/consuld/consuld" -dev -http-port=$port -dns-port=$((port + 1)) \
    -serf-lan-port=$((port + 2)) -serf-wan-port=$((port + 3)) \
    -server-port=$((port + 4)) -log-level=warn >"$log" 2>&1 &
pid=$!
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$port/v1/agent/self"; do
	i=$((i + 1)); [ $i -gt 500 ] && break; sleep 0.01
done
end=$(date +%s%N)
echo "agent start-up until /v1/agent/self answers: $(( (end - start) / 1000000 )) ms"
rss=0
for p in $pid $(pgrep -P $pid); do
	r=$(awk '/^VmRSS:/ { print $2 }' /proc/$p/status)
	rss=$((rss + r))
done
echo "agent resident memory, 6 processes: $((rss / 1024)) MiB ($rss KiB)"
if command -v wrk >/dev/null; then
	wrk -t2 -c32 -d5s "http://127.0.0.1:$port/v1/agent/self" |
	    sed -n 's/^Requests\/sec: */GET \/v1\/agent\/self: req\/s /p;
	    s/^ *Latency */GET \/v1\/agent\/self latency (avg, stdev, max): /p'
else
	echo "wrk not installed: skipping the HTTP load (apt-get install wrk)"
fi
kill -TERM $pid; wait $pid
rm -f "$log"
