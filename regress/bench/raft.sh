#!/bin/sh
# Raft benchmark (`make bench raft`): three consuld servers on loopback
# (127.0.0.41 .. 43), raft_multiplier 1, fsync on: writes/s with p50/p99
# latency at 1, 16, 64 and 256 connections (100-byte values, against the
# leader), default and ?consistent reads/s, and the leader failover time
# (kill -9 of the leader's process group until the first write through a
# survivor answers `true`), median of 10.  Then the same load on three
# etcd members (127.0.0.44 .. 46, Debian's etcd-server) through its JSON
# gateway, and the ratios.  Prints numbers; asserts nothing.  Loopback
# only.
#   BENCH_SECONDS      seconds per wrk run (5)
#   BENCH_FAILOVERS    failovers to time (10)
#   BENCH_CONNS        connection counts (1 16 64 256)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
build=${CONSULD_BUILD:-$top}
secs=${BENCH_SECONDS:-5}
nfail=${BENCH_FAILOVERS:-10}
conns=${BENCH_CONNS:-1 16 64 256}
servers="41 42 43"
members="44 45 46"
port_http=19960 port_dns=19961 port_lan=19962 port_wan=19963 port_rpc=19964
eport=19970 eport_peer=19971

for t in wrk curl jq; do
	command -v $t >/dev/null || { echo "raft bench: $t missing"; exit 1; }
done
[ -x "$build/consuld/consuld" ] ||
    { echo "raft bench: no $build/consuld/consuld"; exit 1; }

tmp=$(mktemp -d /tmp/consuld-raftbench.XXXXXX)
chmod 755 "$tmp"
pgids=""

# Every server and member runs in its own session (setsid), so that its
# whole process tree is one process group: kill -KILL -PGID.
stop_all() {
	for g in $pgids; do kill -TERM -"$g" 2>/dev/null; done
	i=0
	while [ $i -lt 50 ]; do
		alive=0
		for g in $pgids; do
			kill -0 -"$g" 2>/dev/null && alive=1
		done
		[ $alive -eq 0 ] && break
		sleep 0.1; i=$((i + 1))
	done
	for g in $pgids; do kill -KILL -"$g" 2>/dev/null; done
	wait 2>/dev/null
	pgids=""
}
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

# ---------------------------------------------------------------- consuld

cat >"$tmp/server.json" <<EOF
{"server": true, "bootstrap_expect": 3, "retry_interval": "1s",
 "retry_join": ["127.0.0.41:$port_lan", "127.0.0.42:$port_lan",
  "127.0.0.43:$port_lan"],
 "performance": {"raft_multiplier": 1},
 "limits": {"http_max_conns_per_client": 1024},
 "log_level": "warn"}
EOF

cstart() {
	n=$1
	setsid "$build/consuld/consuld" -d -node="b$n" -data-dir="$tmp/d$n" \
	    -bind=127.0.0.$n -client=127.0.0.$n -http-port=$port_http \
	    -dns-port=$port_dns -serf-lan-port=$port_lan \
	    -serf-wan-port=$port_wan -server-port=$port_rpc \
	    -config-file="$tmp/server.json" >>"$tmp/c$n.log" 2>&1 &
	eval "cpid$n=$!"
	pgids="$pgids $!"
}

leader_of() {
	curl -s -m 2 "http://127.0.0.$1:$port_http/v1/status/leader" |
	    tr -d '"'
}

# until_leader SECONDS NOT SERVERS...: all agree on a leader other than
# NOT; prints it.
until_leader() {
	limit=$(($1 * 20)) i=0 not=$2; shift 2
	while [ $i -lt $limit ]; do
		l=$(leader_of "$1")
		same=1
		[ -z "$l" ] || [ "$l" = "$not" ] && same=0
		for n in "$@"; do
			[ $same -eq 1 ] && [ "$(leader_of "$n")" = "$l" ] ||
			    same=0
		done
		[ $same -eq 1 ] && { echo "$l"; return 0; }
		sleep 0.05; i=$((i + 1))
	done
	return 1
}

# wrk_run CONNS OUT ARGS...: one wrk run, its output in OUT.
wrk_run() {
	c=$1 out=$2; shift 2
	t=$([ "$c" -lt 2 ] && echo 1 || echo 2)
	wrk -t$t -c$c -d${secs}s --timeout 10s --latency "$@" >"$out" 2>&1
}

# summary NAME CONNS OUT: prints a line, and keeps the req/s in
# $tmp/rps.NAME.CONNS.
summary() {
	awk -v what="$1" -v c="$2" -v keep="$tmp/rps.$(echo "$1" |
	    tr ' ()' '_..').$2" '
	/Requests\/sec/ { rps = $2 }
	/^ +50%/ { p50 = $2 }
	/^ +99%/ { p99 = $2 }
	/Non-2xx/ { bad = $NF }
	/Socket errors/ { err = $0; sub(/^ *Socket errors: */, "", err) }
	END {
		printf "%-28s %3d conns: %8.0f req/s  p50 %-8s p99 %-8s", \
		    what, c, rps, p50, p99
		if (bad) printf "  non-2xx %s", bad
		if (err) printf "  errors: %s", err
		printf "\n"
		printf "%s\n", rps + 0 > keep
	}' "$3"
}

rss_of() {
	kb=0
	for g in $pgids; do
		for p in $(pgrep -g "$g"); do
			r=$(awk '/^VmRSS:/ { print $2 }' /proc/$p/status \
			    2>/dev/null)
			kb=$((kb + ${r:-0}))
		done
	done
	echo "$1 resident memory, all processes of 3 after the load:" \
	    "$((kb / 1024)) MiB"
}

echo "== consuld: 3 servers, raft_multiplier 1, fsync on, ${secs}s per run"
for n in $servers; do cstart $n; done
leader=$(until_leader 60 none $servers) ||
    { echo "consuld: no leader after 60 s"; tail -5 "$tmp"/c4?.log; exit 1; }
lip=${leader%:*}
lurl="http://$lip:$port_http"
echo "consuld leader: $leader"
i=0
until [ "$(curl -s -m 5 -X PUT --data-binary "$(head -c 100 /dev/zero |
    tr '\0' v)" "$lurl/v1/kv/bench/read")" = true ]; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "consuld: no write"; exit 1; }
	sleep 0.1
done

for c in $conns; do
	wrk_run $c "$tmp/w" -s regress/bench/kv_put.lua "$lurl"
	summary "consuld write" $c "$tmp/w"
done
for c in $conns; do
	wrk_run $c "$tmp/w" "$lurl/v1/kv/bench/read"
	summary "consuld read (default)" $c "$tmp/w"
	wrk_run $c "$tmp/w" "$lurl/v1/kv/bench/read?consistent"
	summary "consuld read (consistent)" $c "$tmp/w"
done
rss_of consuld

# fsyncs per write at 64 connections, on the leader's raftd and on a
# follower's: counted with strace over a short run (which slows them).
raftd_of() {
	for p in $(pgrep -P "$1"); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = raftd ] && echo $p
	done
}
lnum=${lip##*.}
fnum=41; [ "$lnum" = 41 ] && fnum=42
if command -v strace >/dev/null; then
	eval "lr=\$(raftd_of \$cpid$lnum) fr=\$(raftd_of \$cpid$fnum)"
	if [ -n "$lr" ] && [ -n "$fr" ]; then
		strace -f -c -e trace=fsync,fdatasync -p "$lr" \
		    -o "$tmp/st.l" 2>/dev/null &
		s1=$!
		strace -f -c -e trace=fsync,fdatasync -p "$fr" \
		    -o "$tmp/st.f" 2>/dev/null &
		s2=$!
		sleep 0.5
		wrk -t2 -c64 -d2s -s regress/bench/kv_put.lua "$lurl" >"$tmp/w"
		kill -INT $s1 $s2; wait $s1 $s2
		w=$(awk '/requests in/ { print $1 }' "$tmp/w")
		for f in l f; do
			awk -v w="$w" -v who=$([ $f = l ] && echo leader ||
			    echo follower) '$NF ~ /sync/ { s += $4 }
			END { printf "consuld fsyncs per write at 64 conns, " \
			    "%s raftd: %d / %d = %.3f\n", who, s, w,
			    w ? s / w : 0 }' "$tmp/st.$f"
		done
	fi
fi
now=$(leader_of 41)
[ "$now" = "$leader" ] || echo "consuld: the leader changed under load:" \
    "$leader -> $now"

# Failover: kill -9 the leader's process group; time until a write
# through a survivor is committed; restart it, wait until it follows the
# leader and has the write.
echo "consuld failover (kill -9 of the leader until the first committed write):"
times=""
k=1
while [ $k -le "$nfail" ]; do
	leader=$(until_leader 60 none $servers) ||
	    { echo "  no leader before failover $k"; break; }
	lip=${leader%:*} lnum=${leader%:*}; lnum=${lnum##*.}
	surv=""
	for n in $servers; do [ "$n" = "$lnum" ] || surv="$surv $n"; done
	s1=${surv# }; s1=${s1%% *}
	start=$(date +%s%N)
	eval "kill -KILL -\$cpid$lnum"
	tries=0
	: >"$tmp/fails"
	until out=$(curl -s -m 10 -w ' %{http_code}' -X PUT -d "f$k" \
	    "http://127.0.0.$s1:$port_http/v1/kv/bench/failover") &&
	    [ "$out" = "true 200" ]; do
		echo "${out:-curl error $?}" >>"$tmp/fails"
		tries=$((tries + 1))
		[ $(( ($(date +%s%N) - start) / 1000000000 )) -ge 60 ] && break
		sleep 0.01
	done
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	eval "wait \$cpid$lnum" 2>/dev/null
	new=$(leader_of "$s1")
	if [ "$out" = "true 200" ]; then
		echo "  failover $k: $ms ms (killed $leader, new leader $new," \
		    "$tries failed tries: $(sort "$tmp/fails" | uniq -c |
		    awk '{ $1 = $1 "x" } 1' | paste -sd, - | sed 's/,/, /g'))"
		times="$times $ms"
	else
		echo "  failover $k: no committed write after $ms ms" \
		    "(last answer: $out)"
	fi
	pgids=$(for g in $pgids; do eval "[ \$cpid$lnum = $g ]" ||
	    echo $g; done)
	rs=$(date +%s%N)
	cstart "$lnum"
	i=0
	until [ "$(curl -s -m 2 \
	    "http://127.0.0.$lnum:$port_http/v1/kv/bench/failover?raw&stale")" = "f$k" ] &&
	    [ "$(leader_of "$lnum")" = "$new" ]; do
		i=$((i + 1)); [ $i -gt 600 ] && break; sleep 0.05
	done
	[ $i -gt 600 ] && echo "  restarted $lnum did not catch up in 30 s"
	echo "    restarted b$lnum caught up in" \
	    "$(( ($(date +%s%N) - rs) / 1000000 )) ms"
	k=$((k + 1))
done
if [ -n "$times" ]; then
	echo $times | tr ' ' '\n' | sort -n | awk '
	{ a[NR] = $1 }
	END {
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "consuld failover median of %d: %d ms (min %d, max %d)\n",
		    NR, m, a[1], a[NR]
	}'
fi
grep -hiE 'fatal|panic|assert|error' "$tmp"/c4?.log | sort | uniq -c |
    sort -rn | head -10 | sed 's/^/consuld log: /'
stop_all

# ------------------------------------------------------------------- etcd

if ! command -v etcd >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server \
	    >/dev/null 2>&1
fi
if ! command -v etcd >/dev/null; then
	echo "etcd not installed (apt-get install etcd-server): no comparison"
	exit 0
fi

cluster=""
for n in $members; do
	cluster="$cluster${cluster:+,}e$n=http://127.0.0.$n:$eport_peer"
done
estart() {
	n=$1
	setsid etcd --name "e$n" --data-dir "$tmp/e$n" \
	    --listen-client-urls "http://127.0.0.$n:$eport" \
	    --advertise-client-urls "http://127.0.0.$n:$eport" \
	    --listen-peer-urls "http://127.0.0.$n:$eport_peer" \
	    --initial-advertise-peer-urls "http://127.0.0.$n:$eport_peer" \
	    --initial-cluster "$cluster" --initial-cluster-state new \
	    --initial-cluster-token consuld-bench \
	    >>"$tmp/e$n.log" 2>&1 &
	eval "epid$n=$!"
	pgids="$pgids $!"
}
# estatus N: "MEMBER LEADER" of member N.
estatus() {
	curl -s -m 2 -X POST -d '{}' \
	    "http://127.0.0.$1:$eport/v3/maintenance/status" |
	    jq -r '"\(.header.member_id // "") \(.leader // "")"' 2>/dev/null
}
# eleader: the number of the member that is the leader.
eleader() {
	for n in $members; do
		set -- $(estatus $n)
		[ $# -eq 2 ] && [ "$1" = "$2" ] && { echo $n; return 0; }
	done
	return 1
}

echo "== etcd $(etcd --version | sed -n 's/^etcd Version: //p'):" \
    "3 members, defaults (fsync on), ${secs}s per run"
for n in $members; do estart $n; done
i=0
until enum=$(eleader); do
	i=$((i + 1))
	[ $i -gt 600 ] && { echo "etcd: no leader"; tail -5 "$tmp"/e4?.log;
	    exit 1; }
	sleep 0.05
done
eurl="http://127.0.0.$enum:$eport"
echo "etcd leader: 127.0.0.$enum"
val=$(head -c 100 /dev/zero | tr '\0' v | base64 -w0)
i=0
until curl -s -m 5 -X POST -d "{\"key\":\"YmVuY2gvcmVhZA==\",\"value\":\"$val\"}" \
    "$eurl/v3/kv/put" | grep -q '"revision"'; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "etcd: no write"; exit 1; }
	sleep 0.1
done
for c in $conns; do
	wrk_run $c "$tmp/w" -s regress/bench/etcd_put.lua "$eurl"
	summary "etcd write" $c "$tmp/w"
done
for c in $conns; do
	wrk_run $c "$tmp/w" -s regress/bench/etcd_range.lua "$eurl"
	summary "etcd read (linearizable)" $c "$tmp/w"
	wrk_run $c "$tmp/w" -s regress/bench/etcd_range.lua "$eurl" \
	    -- serializable
	summary "etcd read (serializable)" $c "$tmp/w"
done
rss_of etcd
now=$(eleader)
[ "$now" = "$enum" ] || echo "etcd: the leader changed under load:" \
    "$enum -> $now"
stop_all

# ----------------------------------------------------------------- ratios

rps() { cat "$tmp/rps.$1.$2" 2>/dev/null || echo 0; }
ratio() {
	awk -v a="$(rps "$2" "$4")" -v b="$(rps "$3" "$4")" -v w="$1" \
	    -v c="$4" 'BEGIN {
		if (b > 0) printf "ratio consuld/etcd %s@%s: %.2fx\n", w, c, a / b
		else printf "ratio consuld/etcd %s@%s: n/a\n", w, c }'
}
for c in $conns; do
	ratio write consuld_write etcd_write $c
done
for c in $conns; do
	ratio "read(consistent) vs etcd linearizable" \
	    consuld_read_.consistent. etcd_read_.linearizable. $c
	ratio "read(default) vs etcd linearizable" \
	    consuld_read_.default. etcd_read_.linearizable. $c
done
