# Clusters of real consuld agents for the fault scripts
# (regress/integration/fault_*.sh; TESTING.md section 3).  Nodes are
# named by the last octet of their loopback address, 127.0.0.51 ..
# 127.0.0.56, and all use ports 19880-19884, so that the fault scripts
# never clash with other tests run beside them.  Each agent is started
# under setsid: its privsep tree (the parent and its children) is one
# process group, killed, stopped or resumed as a whole.  Partitions and
# packet loss are nft rules on lo, in a table of this script's own; the
# EXIT trap kills every process group recorded and deletes that table.
#
# Usage: . "$(dirname "$0")/../lib/cluster.sh", then cluster_init,
# cluster_start, the fault, the checks, tap_done.
. "$(dirname "$0")/../lib/agent.sh"

KVLOAD="$CONSULD_BUILD/regress/tools/kvload"
LINCHECK="$CONSULD_BUILD/regress/tools/lincheck"
cl_label=${CONSULD_BUILD_LABEL:-normal}
cl_script=$(basename "$0" .sh)
cl_top=$(cd "$(dirname "$0")/../.." && pwd)
cl_hist_dir="$cl_top/regress/out/histories"
cl_log_dir="$cl_top/regress/out/logs"
mkdir -p "$cl_hist_dir"

cl_http=$((19880 + ${CONSULD_PORT_SHIFT:-0}))
cl_dns=$((cl_http + 1)) cl_lan=$((cl_http + 2)) cl_wan=$((cl_http + 3))
cl_rpc=$((cl_http + 4))
cl_table="crt$$"
cl_nft=0
cl_servers=""
cl_client=""		# the client agents, a list
cl_up=""		# nodes started and not killed since
cl_pgids=""		# every process group ever started, for the trap
cl_hold=4		# performance.rpc_hold_timeout, in seconds
cl_gen=0		# bumped by cluster_init: a fresh data dir per cluster
cl_kept=0

command -v nft >/dev/null 2>&1 && cl_nft=1

cl_url() { echo "http://127.0.0.$1:$cl_http$2"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Every helper keeps its variables local: the scripts' own names
# (rest, n, s...) are theirs.

# poll SECONDS CMD...: run CMD every 100 ms until it succeeds, at most
# SECONDS; fails when it never did.
poll() {
	local end
	end=$(($(now_ms) + $1 * 1000)); shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# sleep_until T MS: sleep until MS milliseconds after T (a now_ms).
sleep_until() {
	local left
	left=$(($1 + $2 - $(now_ms)))
	[ "$left" -gt 0 ] || return 0
	sleep "$(echo "$left" | awk '{ printf "%.3f", $1 / 1000 }')"
}

# cluster_init "SERVERS" ["CLIENTS"] [JSON]: the configuration of a
# cluster of the servers listed (bootstrap_expect is their number) and of
# the client agents listed, if any; JSON is merged into the servers'
# configuration (raft_snapshot_threshold, say).  A node N whose directory
# $cl_dir/conf$N.d exists when it starts gets it as its -config-dir (a
# client's service definitions, say).
cluster_init() {
	local extra join n
	cl_servers=$1 cl_client=${2:-} extra=${3:-"{}"}
	cl_gen=$((cl_gen + 1))
	cl_dir="$test_tmp/c$cl_gen"
	mkdir -p "$cl_dir"
	join=""
	for n in $cl_servers; do
		join="$join${join:+, }\"127.0.0.$n:$cl_lan\""
	done
	set -- $cl_servers
	cat >"$cl_dir/base.json" <<EOF
{"server": true, "bootstrap_expect": $#, "retry_interval": "1s",
 "retry_join": [$join],
 "performance": {"raft_multiplier": 1, "rpc_hold_timeout": "${cl_hold}s"},
 "autopilot": {"server_stabilization_time": "1s",
  "cleanup_dead_servers": false}}
EOF
	echo "$extra" >"$cl_dir/extra.json"
	jq -s '.[0] * .[1]' "$cl_dir/base.json" "$cl_dir/extra.json" \
	    >"$cl_dir/server.json" || return 1
	cat >"$cl_dir/client.json" <<EOF
{"retry_interval": "1s", "retry_join": [$join],
 "performance": {"rpc_hold_timeout": "${cl_hold}s"}}
EOF
}

# is_client N: node N is one of the client agents.
is_client() {
	case " $cl_client " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# node_start N: start node N (a server unless it is a client) with its
# data dir, kept across restarts; records its process group.  A node
# with a configuration of its own, $cl_dir/node$N.json, gets that one
# instead (regress/lib/multidc.sh writes them).
node_start() {
	local n=$1 conf=server
	is_client "$n" && conf=client
	[ -f "$cl_dir/node$n.json" ] && conf=node$n
	set --
	[ -d "$cl_dir/conf$n.d" ] && set -- -config-dir="$cl_dir/conf$n.d"
	setsid "$CONSULD" -d -node="f$n" -data-dir="$cl_dir/d$n" \
	    -bind=127.0.0.$n -client=127.0.0.$n -http-port=$cl_http \
	    -dns-port=$cl_dns -serf-lan-port=$cl_lan \
	    -serf-wan-port=$cl_wan -server-port=$cl_rpc \
	    -config-file="$cl_dir/$conf.json" "$@" >>"$cl_dir/n$n.log" 2>&1 &
	eval "cl_pgid_$n=$!"
	eval "cl_procs_$n="
	cl_pgids="$cl_pgids $!"
	cl_up="$cl_up $n"
}

node_pgid() { eval "echo \${cl_pgid_$1:-}"; }

# The live members of a process group (zombies excluded).
pg_members() {
	ps -e -o pid=,pgid=,stat= 2>/dev/null |
	    awk -v g="$1" '$2 == g && $3 !~ /^Z/ { print $1 }'
}

# pg_gone PGID: no live process is left in the group.
pg_gone() { [ -z "$(pg_members "$1")" ]; }

# node_settled N: the tree of N has its six processes (parent, raftd,
# gossipd, apid, dnsd, checkd); records them for node_alive.
node_settled() {
	local n=$1 m
	m=$(pg_members "$(node_pgid "$n")" | tr '\n' ' ')
	set -- $m
	[ $# -ge 6 ] || return 1
	eval "cl_procs_$n=\"$m\""
}

# node_alive N: every process N had once settled is still there.
node_alive() {
	local procs p
	eval "procs=\${cl_procs_$1:-}"
	[ -n "$procs" ] || node_settled "$1" || return 1
	eval "procs=\${cl_procs_$1:-}"
	for p in $procs; do
		alive "$p" || return 1
	done
}

# node_kill N [SIGNAL]: SIGKILL (or SIGNAL) to N's whole tree; with
# SIGKILL, waits until every process of the group is gone.
node_kill() {
	local n=$1 sig=${2:-KILL} g new u
	g=$(node_pgid "$n")
	[ -n "$g" ] || return 1
	kill -"$sig" "-$g" 2>/dev/null
	[ "$sig" = KILL ] || return 0
	poll 5 pg_gone "$g" || return 1
	wait "$g" 2>/dev/null
	new=""
	for u in $cl_up; do [ "$u" = "$n" ] || new="$new $u"; done
	cl_up=$new
}

# nodes_kill NODES...: SIGKILL to every tree listed at once, then wait
# until all are gone.
nodes_kill() {
	local n
	for n in "$@"; do kill -KILL "-$(node_pgid "$n")" 2>/dev/null; done
	for n in "$@"; do node_kill "$n" || return 1; done
}
node_stop() { node_kill "$1" STOP; }
node_cont() { node_kill "$1" CONT; }

# leader_of N: the leader's "ip:port" as node N sees it, or nothing.
leader_of() {
	curl -s --max-time 2 "$(cl_url "$1" /v1/status/leader)" | tr -d '"'
}

# leader_num N: the leader's node number as N sees it, or nothing.
leader_num() {
	local l
	l=$(leader_of "$1")
	l=${l%:*}
	echo "${l##*.}"
}

# agreed NOT NODES...: every node listed names the same leader, not NOT;
# sets $cl_leader to its number.
agreed() {
	local not=$1 first a
	shift
	first=$(leader_num "$1")
	[ -n "$first" ] && [ "$first" != "$not" ] || return 1
	for a in "$@"; do
		[ "$(leader_num "$a")" = "$first" ] || return 1
	done
	cl_leader=$first
}

# wait_leader SECONDS NOT NODES...: until NODES agree on a leader other
# than NOT ("none" for any); prints its number.
wait_leader() {
	local secs=$1
	shift
	cl_leader=""
	poll "$secs" agreed "$@" || return 1
	echo "$cl_leader"
}

# client_ready: every client agent knows the leader the servers know
# (a consistent read answers 404, or 403 under ACLs with default deny).
client_ready() {
	local c
	for c in $cl_client; do
		[ -n "$(leader_num "$c")" ] &&
		    curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		    "$(cl_url "$c" /v1/kv/cluster-ready?consistent)" | \
		    grep -qx '40[34]' || return 1
	done
}

# cluster_start: start every server and client, wait for one leader
# (its number in $cl_leader), for the clients, and for every tree to have
# its processes.  Not in a subshell: it records the process groups.
cluster_start() {
	local n l
	for n in $cl_servers $cl_client; do node_start "$n"; done
	poll 30 agreed none $cl_servers || return 1
	l=$cl_leader
	poll 15 client_ready || return 1
	for n in $cl_servers $cl_client; do
		poll 5 node_settled "$n" || return 1
	done
	cl_leader=$l
}

# others_than N NODES...: NODES without N.
others_than() {
	local x=$1 a
	shift
	for a in "$@"; do [ "$a" = "$x" ] || printf '%s ' "$a"; done
}

# digest N: a hash of node N's whole KV table, read from its own state.
digest() {
	curl -s --max-time 3 "$(cl_url "$1" '/v1/kv/?recurse&stale')" |
	    jq -c 'sort_by(.Key) | .[]' 2>/dev/null | md5sum | cut -c1-32
}

# digests_equal NODES...: every node has the same KV table (sets
# $cl_digests to what each had).
digests_equal() {
	local d0="" same=0 d a
	cl_digests=""
	for a in "$@"; do
		d=$(digest "$a")
		cl_digests="$cl_digests $a=$(echo "$d" | cut -c1-8)"
		[ -z "$d0" ] && d0=$d
		[ "$d" = "$d0" ] || same=1
	done
	return $same
}

# log_clean: no node log tells of a crash.
log_clean() {
	! grep -E -l 'fatal|panic|ERROR: AddressSanitizer|runtime error:|terminated by signal|died, shutting down|killed by the sandbox' \
	    "$cl_dir"/n*.log >/dev/null 2>&1
}

# check_alive: criterion C for every node not killed; names the dead.
check_alive() {
	local dead="" n
	for n in $cl_up; do node_alive "$n" || dead="$dead $n"; done
	if [ -z "$dead" ] && log_clean; then
		ok "$1: every process not killed is alive, no crash logged"
		return 0
	fi
	not_ok "$1: every process not killed is alive, no crash logged"
	[ -n "$dead" ] && diag "process missing in the tree of node(s)$dead"
	grep -E -H 'fatal|panic|ERROR: AddressSanitizer|runtime error:|terminated by signal|died, shutting down|killed by the sandbox' \
	    "$cl_dir"/n*.log 2>/dev/null | head -20 | sed 's/^/#   /'
	cl_keep_logs
	return 1
}

# cl_keep_logs: copy the node logs to regress/out/logs/ (once).
cl_keep_logs() {
	local d
	[ "$cl_kept" = "$cl_gen" ] && return 0
	cl_kept=$cl_gen
	d="$cl_log_dir/$cl_script-$cl_label-$$-c$cl_gen"
	mkdir -p "$d" && cp "$cl_dir"/n*.log "$d"/ 2>/dev/null
	diag "node logs kept in ${d#$cl_top/}"
}

# The nft rules.  Each fault replaces the table; heal deletes it.
# cl_nft_apply FILE: load FILE as the test's table (a fresh one).
cl_nft_apply() {
	nft delete table inet "$cl_table" 2>/dev/null
	nft -f "$1"
}

cl_set() {
	local s="" a
	for a in "$@"; do s="$s${s:+, }127.0.0.$a"; done
	echo "{ $s }"
}

# part "A B|C D|E": drop every packet, TCP and UDP, both ways, between
# the nodes of different groups.
part() {
	local f="$cl_dir/part.nft" g rest
	[ "$cl_nft" = 1 ] || return 1
	{
		echo "table inet $cl_table {"
		echo "  chain input {"
		echo "    type filter hook input priority 0; policy accept;"
		# One group a line, its blanks squeezed.
		echo "$1" | tr '|' '\n' | awk 'NF { $1 = $1; print }' \
		    >"$cl_dir/groups"
		while read -r g; do
			rest=$(grep -vx "$g" "$cl_dir/groups" | tr '\n' ' ')
			[ -n "$rest" ] || continue
			echo "    iifname \"lo\" ip saddr $(cl_set $g)" \
			    "ip daddr $(cl_set $rest) drop"
		done <"$cl_dir/groups"
		echo "  }"
		echo "}"
	} >"$f"
	cl_nft_apply "$f"
}

# loss PCT NODES...: drop PCT% of the packets, TCP and UDP, between any
# two different nodes listed.
loss() {
	local pct=$1 f="$cl_dir/loss.nft" a
	[ "$cl_nft" = 1 ] || return 1
	shift
	{
		echo "table inet $cl_table {"
		echo "  chain input {"
		echo "    type filter hook input priority 0; policy accept;"
		for a in "$@"; do
			echo "    iifname \"lo\" ip saddr 127.0.0.$a" \
			    "ip daddr $(cl_set $(others_than "$a" "$@"))" \
			    "numgen random mod 100 < $pct drop"
		done
		echo "  }"
		echo "}"
	} >"$f"
	cl_nft_apply "$f"
}

heal() {
	[ "$cl_nft" = 1 ] || return 0
	nft delete table inet "$cl_table" 2>/dev/null
	return 0
}

# need_nft DESCRIPTION: false, after a skip line, when nft is missing.
need_nft() {
	[ "$cl_nft" = 1 ] && return 0
	ok "$1 # SKIP no nft"
	return 1
}

# asan_skip DESCRIPTION: false, after a skip line, under the ASan build.
asan_skip() {
	[ "$cl_label" = san ] || return 0
	ok "$1 # SKIP asan build: run with the normal build"
	return 1
}

# cluster_stop: kill every tree started (the next cluster_init starts
# afresh); the data of this one stays until the script ends.
cluster_stop() {
	local g
	[ -n "${CLUSTER_KEEP_LOGS:-}" ] && cl_keep_logs
	heal
	for g in $cl_pgids; do kill -KILL "-$g" 2>/dev/null; done
	for g in $cl_pgids; do poll 5 pg_gone "$g"; done
	for g in $cl_pgids; do wait "$g" 2>/dev/null; done
	cl_pgids="" cl_up=""
}

# The history files of one scenario: $cl_hist (and $cl_hist.set).
# Its kvload and checker outputs go to $cl_work.* in the test's tmp dir.
hist_name() {
	cl_hist="$cl_hist_dir/$cl_script-$cl_label-$1-$$.hist"
	cl_work="$cl_dir/$1"
	rm -f "$cl_hist" "$cl_hist.set"
}

# load_start SCENARIO ADDRS SECONDS [kvload flags...]: kvload in the
# background on ADDRS (node numbers, comma separated) for SECONDS, with
# the set workload; its pid in $cl_kv.
load_start() {
	local addrs="" secs=$3 a
	hist_name "$1"
	cl_scen=$1
	for a in $(echo "$2" | tr ',' ' '); do
		addrs="$addrs${addrs:+,}127.0.0.$a:$cl_http"
	done
	shift 3
	"$KVLOAD" -a "$addrs" -o "$cl_hist" -d "$secs" -p "$cl_scen-$$/" \
	    -S "set-$cl_scen-$$" "$@" >"$cl_work.kvload" 2>&1 &
	cl_kv=$!
}

# mark: a usr1 mark in the running history, right at the fault.
mark() { kill -USR1 "$cl_kv" 2>/dev/null; }

# load_end: wait for kvload; prints its summary as a diag.
load_end() {
	local rc
	wait "$cl_kv"
	rc=$?
	diag "$(tail -1 "$cl_work.kvload")"
	return $rc
}

# The history's own times are kvload's CLOCK_MONOTONIC: the script
# places its events in them with marks (usr1 at the fault, usr2 for the
# other events of the scenario) and reads them back from the file.

# mark_ns LABEL N: the time of the Nth mark LABEL of the history.
mark_ns() {
	awk -v l="$1" -v n="$2" '$1 == "#" && $2 == "mark" && $4 == l &&
	    ++i == n { print $3; exit }' "$cl_hist"
}

# write_gap FROM TO: the longest time in ms, between FROM and TO (ns),
# without a write answered 200 (a put or a CAS, true or false).
write_gap() {
	awk -v from="$1" -v to="$2" '$1 != "#" && $8 == "ok" &&
	    ($2 == "put" || $2 == "cas") && $7 >= from && $7 <= to {
		print $7 }' "$cl_hist" | sort -n | awk -v from="$1" -v to="$2" '
	BEGIN { last = from; max = 0 }
	{ if ($1 - last > max) max = $1 - last; last = $1 }
	END { if (to - last > max) max = to - last; printf "%d\n", max / 1e6 }'
}

# hist_end: the time of the last answer of the history.
hist_end() {
	awk '$1 != "#" && $7 > m { m = $7 } END { printf "%d\n", m }' \
	    "$cl_hist"
}

# window_ops FROM TO: "OK TOTAL" of the operations called between FROM
# and TO (ns).
window_ops() {
	awk -v from="$1" -v to="$2" '$1 != "#" && $6 >= from && $6 <= to {
		t++; if ($8 == "ok") o++ }
	END { printf "%d %d\n", o, t }' "$cl_hist"
}

# ok_from CLIENTS FROM TO: the operations of the kvload clients listed
# (ids, comma separated) that were answered 200 between FROM and TO
# (ns), as history lines.
ok_from() {
	awk -v c=",$1," -v from="$2" -v to="$3" '$1 != "#" &&
	    index(c, "," $1 ",") && $8 == "ok" && $7 > from && $7 < to' \
	    "$cl_hist"
}

# check_history WHAT LISTNODE: criteria L and D for the last load, the
# set listed through node LISTNODE; prints the recovery time of the
# mark.
check_history() {
	local what=$1 out="$cl_work.check" rc lrc src acked m
	"$LINCHECK" -stats -t 30 "$cl_hist" >"$out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$what: the history is linearizable"
	else
		not_ok "$what: the history is linearizable (lincheck exit $rc)"
		sed 's/^/#   /' "$out" | head -20
		diag "history kept: ${cl_hist#$cl_top/}"
		cl_keep_logs
	fi
	m=$(sed -n 's/^mark usr1: //p' "$out" | head -1)
	[ -n "$m" ] && diag "$what: mark to $m"
	cl_mark_ms=$(sed -n 's/^mark usr1: first ok write after \([0-9]*\) ms$/\1/p' "$out" | head -1)
	"$KVLOAD" -L "127.0.0.$2:$cl_http" -S "set-$cl_scen-$$" \
	    -t 3000 -o "$cl_hist.set" >"$out.list" 2>&1
	lrc=$?
	"$LINCHECK" -set "$cl_hist.set" >"$out.set" 2>&1
	src=$?
	acked=$(grep -c '^acked ' "$cl_hist.set")
	if [ $lrc -eq 0 ] && [ $src -eq 0 ] && [ "$acked" -gt 0 ]; then
		ok "$what: no acked write lost ($acked acked)"
	else
		not_ok "$what: no acked write lost ($acked acked, list exit $lrc, check exit $src)"
		sed 's/^/#   /' "$out.list" "$out.set" | head -20
		diag "set kept: ${cl_hist#$cl_top/}.set"
		cl_keep_logs
	fi
	[ $rc -eq 0 ] && [ $lrc -eq 0 ] && [ $src -eq 0 ]
}

cluster_cleanup() {
	local g
	{ [ "$tap_failed" -gt 0 ] || [ -n "${CLUSTER_KEEP_LOGS:-}" ]; } &&
	    [ -n "${cl_dir:-}" ] && cl_keep_logs
	heal
	for g in $cl_pgids; do kill -KILL "-$g" 2>/dev/null; done
	[ -n "${cl_kv:-}" ] && kill -KILL "$cl_kv" 2>/dev/null
	for g in $cl_pgids; do poll 5 pg_gone "$g"; done
	cleanup
}
trap cluster_cleanup EXIT
trap 'exit 1' INT TERM
