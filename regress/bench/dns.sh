#!/bin/sh
# DNS benchmark (`make bench dns`): dnsd against NSD, in the same run,
# on the same records.  A dev agent gets SERVICES services of 3
# instances each (every instance on its own catalog node, 3 services a
# node); NSD serves the same A and SRV records (the SRV targets' A in
# its zone too) as a static zone generated here.  dnsperf sends the
# same query file to both, an even mix of <svc>.service.consul A and
# SRV:
#   - throughput: ROUNDS rounds of BENCH_SECONDS each, dnsd then NSD,
#     as fast as dnsperf can (-q outstanding queries, one thread):
#     queries/s, lost queries, dnsperf's mean latency;
#   - latency: a run at a fixed rate (LAT_QPS) with dnsperf -v, whose
#     per-response latencies give p50 and p99.
# Prints the figures and the ratio dnsd/NSD (the issue's goal is
# >= 80%); asserts nothing.  Loopback only: the agent's DNS on
# 127.0.0.80, NSD on 127.0.0.81, both on port $port+1.
set -u
export LC_ALL=C
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
build=${CONSULD_BUILD:-$top}
secs=${BENCH_SECONDS:-10}
rounds=${ROUNDS:-2}
nsvc=${SERVICES:-100}
lat_qps=${LAT_QPS:-20000}
outstanding=${OUTSTANDING:-100}
port=17960
dport=$((port + 1))
dns_addr=127.0.0.80
nsd_addr=127.0.0.81
for t in dnsperf nsd curl dig; do
	command -v $t >/dev/null 2>&1 || { echo "dns bench: $t missing"; exit 1; }
done
data=$(mktemp -d /tmp/consuld-bench-dns.XXXXXX)
chmod 755 "$data"
pid="" nsd_pid=""
stop() {
	[ -n "$nsd_pid" ] && kill -TERM "-$nsd_pid" 2>/dev/null
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	[ -n "$nsd_pid" ] && wait "$nsd_pid" 2>/dev/null
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	rm -rf "$data"
}
trap stop EXIT
trap 'exit 1' INT TERM

"$build/consuld/consuld" -dev -node=bench -client=$dns_addr \
    -http-port=$port -dns-port=$dport -serf-lan-port=$((port + 2)) \
    -serf-wan-port=$((port + 3)) -server-port=$((port + 4)) \
    -log-level=warn >"$data/agent.log" 2>&1 &
pid=$!
api="http://$dns_addr:$port"
i=0
until [ "$(curl -s "$api/v1/status/leader")" != '""' ] &&
    curl -sf -o /dev/null "$api/v1/status/leader"; do
	i=$((i + 1)); [ $i -gt 300 ] && { echo "dns bench: no leader"; exit 1; }
	sleep 0.05
done

# The records: node n<j> at 10.20.<j/250>.<j%250+1>; service s<k> on
# nodes k, k+1, k+2 (mod SERVICES), port 20000+k.
awk -v n="$nsvc" 'BEGIN {
	for (k = 0; k < n; k++)
		for (d = 0; d < 3; d++) {
			j = (k + d) % n
			printf "n%03d 10.20.%d.%d s%03d %d\n", j, int(j / 250),
			    j % 250 + 1, k, 20000 + k
		}
}' >"$data/instances"
start=$(date +%s%N)
awk -v api="$api" '{
	printf "{\"Node\":\"%s\",\"Address\":\"%s\",\"Service\":{\"Service\":\"%s\",\"ID\":\"%s\",\"Port\":%d}}\n",
	    $1, $2, $3, $3, $4
}' "$data/instances" >"$data/bodies"
split -l 1 -a 4 "$data/bodies" "$data/body."
ls "$data"/body.* | xargs -P 4 -I{} curl -s -o /dev/null -X PUT \
    --data-binary @{} "$api/v1/catalog/register"
rm -f "$data"/body.*
ninst=$(wc -l <"$data/instances")
last=$(printf 's%03d' $((nsvc - 1)))
i=0
until [ "$(dig +short +time=1 +tries=1 -p $dport @$dns_addr \
    $last.service.consul A | wc -l)" = 3 ]; do
	i=$((i + 1)); [ $i -gt 300 ] && { echo "dns bench: $last not answered"; exit 1; }
	sleep 0.1
done
echo "dns bench: $nsvc services, $ninst instances on $nsvc nodes registered and answered in $((($(date +%s%N) - start) / 1000000)) ms"

# The same records as a zone for NSD.
mkdir -p "$data/nsd"
{
	echo '$ORIGIN consul.'
	echo '$TTL 0'
	echo '@ IN SOA ns.consul. hostmaster.consul. 1 3600 600 86400 0'
	echo '@ IN NS bench.node.dc1.consul.'
	echo "bench.node.dc1 IN A $dns_addr"
	awk '!seen[$1]++ { printf "%s.node.dc1 IN A %s\n", $1, $2 }
	    { printf "%s.service IN A %s\n", $3, $2
	      printf "%s.service IN SRV 1 1 %d %s.node.dc1.consul.\n", $3, $4, $1 }' \
	    "$data/instances"
} >"$data/nsd/consul.zone"
cat >"$data/nsd/nsd.conf" <<EOF
server:
	ip-address: $nsd_addr@$dport
	do-ip6: no
	server-count: 1
	username: ""
	chroot: ""
	zonesdir: "$data/nsd"
	database: ""
	zonelistfile: "$data/nsd/zone.list"
	xfrdfile: "$data/nsd/xfrd.state"
	pidfile: "$data/nsd/nsd.pid"
	logfile: "$data/nsd/log"
	verbosity: 1
	# Debian's NSD limits responses per source (RRL): not for a benchmark.
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: "consul."
	zonefile: "consul.zone"
EOF
# In a session of its own: its processes (main, xfrd, the server) are
# the process group $nsd_pid, stopped and measured as a whole.
setsid nsd -d -c "$data/nsd/nsd.conf" >"$data/nsd/out" 2>&1 &
nsd_pid=$!
i=0
until [ "$(dig +short +time=1 +tries=1 -p $dport @$nsd_addr \
    $last.service.consul A | wc -l)" = 3 ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "dns bench: nsd does not answer"; cat "$data/nsd/log" "$data/nsd/out"; exit 1; }
	sleep 0.1
done

dnsd_pid=$(for p in $(pgrep -P $pid); do
	[ "$(cat /proc/$p/comm)" = dnsd ] && echo $p; done)
[ -n "$dnsd_pid" ] || { echo "dns bench: no dnsd"; exit 1; }

# The query file: every service, A then SRV.
awk '!seen[$3]++ { printf "%s.service.consul A\n%s.service.consul SRV\n", $3, $3 }' \
    "$data/instances" >"$data/queries"
nq=$(wc -l <"$data/queries")

# What each answers, for one query of each type.
for q in "s000.service.consul A" "s000.service.consul SRV"; do
	for s in dnsd nsd; do
		a=$dns_addr; [ $s = nsd ] && a=$nsd_addr
		# shellcheck disable=SC2086
		dig +time=1 +tries=1 +noedns -p $dport @$a $q >"$data/one"
		printf 'dns bench: %-4s %-22s %s answers, %s additional, %s bytes\n' \
		    $s "$q" \
		    "$(sed -n 's/.*ANSWER: \([0-9]*\),.*/\1/p' "$data/one")" \
		    "$(sed -n 's/.*ADDITIONAL: \([0-9]*\).*/\1/p' "$data/one")" \
		    "$(sed -n 's/.*MSG SIZE  rcvd: \([0-9]*\).*/\1/p' "$data/one")"
	done
done

# ticks PIDS: the CPU time (user + system, clock ticks) of the processes.
ticks() {
	local p t=0
	for p in "$@"; do
		[ -r /proc/$p/stat ] || continue
		t=$((t + $(sed 's/.*) //' /proc/$p/stat | awk '{ print $12 + $13 }')))
	done
	echo $t
}
hz=$(getconf CLK_TCK)
# run ADDR PIDS: one throughput run; prints "qps lost mean_ms cpu_us",
# cpu_us the CPU time the server's processes (PIDS) took per answer: a
# figure other load on the machine does not change much, unlike qps.
run() {
	local a=$1 t0 t1
	shift
	t0=$(ticks "$@")
	dnsperf -s "$a" -p $dport -d "$data/queries" -l "$secs" \
	    -q "$outstanding" -t 2 >"$data/perf" 2>&1
	t1=$(ticks "$@")
	awk -v t=$((t1 - t0)) -v hz="$hz" '
	    /Queries per second:/ { qps = $4 }
	    /Queries lost:/ { lost = $3 }
	    /Queries completed:/ { done = $3 }
	    /Average Latency/ { lat = $4 * 1000 }
	    END { printf "%.0f %s %.3f %.2f\n", qps, lost, lat,
		done ? t * 1e6 / hz / done : 0 }' "$data/perf"
}
# BENCH_PERF=1: where dnsd's time goes, with perf(1), during one run.
if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null 2>&1 &&
    [ -n "$dnsd_pid" ]; then
	perf record -q -F 1999 -g -p "$dnsd_pid" -o "$data/perf.data" \
	    -- sleep "$secs" >/dev/null 2>&1 &
	pp=$!
	set -- $(run $dns_addr $dnsd_pid)
	wait $pp
	echo "dns bench: under perf, dnsd: $1 queries/s"
	perf report -i "$data/perf.data" --stdio --no-children \
	    --sort dso -g none 2>/dev/null | grep -v '^#' |
	    grep -v '^$' | head -8 | sed 's/^/dns bench: perf: /'
	perf report -i "$data/perf.data" --stdio --no-children \
	    --percent-limit 0.7 -g none 2>/dev/null | grep -v '^#' |
	    grep -v '^$' | head -50 | sed 's/^/dns bench: perf: /'
fi
nsd_pids=$(ps -e -o pid= -o pgid= | awk -v g="$nsd_pid" '$2 == g { print $1 }' |
    tr '\n' ' ')
dnsd_best=0 nsd_best=0 dnsd_cpu="" nsd_cpu=""
r=1
while [ $r -le "$rounds" ]; do
	set -- $(run $dns_addr $dnsd_pid)
	echo "dns bench: round $r dnsd: $1 queries/s, lost $2, mean latency $3 ms, $4 us CPU/query"
	dnsd_cpu="$dnsd_cpu $4"
	[ "${1%.*}" -gt "$dnsd_best" ] && dnsd_best=${1%.*}
	set -- $(run $nsd_addr $nsd_pids)
	echo "dns bench: round $r nsd:  $1 queries/s, lost $2, mean latency $3 ms, $4 us CPU/query"
	nsd_cpu="$nsd_cpu $4"
	[ "${1%.*}" -gt "$nsd_best" ] && nsd_best=${1%.*}
	r=$((r + 1))
done

# lat ADDR: p50 and p99 in ms of the responses at LAT_QPS.
lat() {
	dnsperf -s "$1" -p $dport -d "$data/queries" -l 5 -Q "$lat_qps" \
	    -q "$outstanding" -t 2 -v >"$data/lat" 2>&1
	awk '$1 == ">" && $2 != "T" && $2 != "I" { print $NF * 1000 }' \
	    "$data/lat" | sort -n >"$data/lat.sorted"
	awk '{ v[NR] = $1 }
	    END { if (NR == 0) { print "- - 0"; exit }
		i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
		i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
		printf "%.3f %.3f %d\n", v[i50], v[i99], NR }' "$data/lat.sorted"
}
set -- $(lat $dns_addr)
echo "dns bench: dnsd at $lat_qps queries/s: p50 $1 ms, p99 $2 ms ($3 responses)"
set -- $(lat $nsd_addr)
echo "dns bench: nsd  at $lat_qps queries/s: p50 $1 ms, p99 $2 ms ($3 responses)"

echo "dns bench: best of $rounds: dnsd $dnsd_best queries/s, nsd $nsd_best queries/s," \
    "dnsd/nsd = $(awk -v a=$dnsd_best -v b=$nsd_best 'BEGIN { printf "%.0f%%", b ? 100 * a / b : 0 }')" \
    "(goal: >= 80%; $nq queries in the file, A and SRV)"
min() { echo "$@" | tr ' ' '\n' | awk 'NF' | sort -n | head -1; }
dc=$(min $dnsd_cpu) nc=$(min $nsd_cpu)
echo "dns bench: CPU per answer (least of $rounds): dnsd $dc us, nsd $nc us," \
    "nsd/dnsd = $(awk -v a="$dc" -v b="$nc" 'BEGIN { printf "%.0f%%", a ? 100 * b / a : 0 }')" \
    "(the rate ratio dnsd would reach with a core of its own)"
[ -n "$dnsd_pid" ] &&
    echo "dns bench: dnsd peak RSS $(awk '/^VmHWM:/ { print $2 }' /proc/$dnsd_pid/status) KiB"
exit 0
