#!/bin/sh
# F1 (TESTING.md section 3): kill -9 of the leader's whole privsep tree
# under load, on 3 servers and once on 5.  The others elect a new leader
# within 5 s (3x the election timeout of raft_multiplier 1), writes
# resume within that window, the old leader restarted 5 s after the kill
# catches up (equal KV digests on every server within 10 s), the history
# is linearizable and no acknowledged write is lost.
. "$(dirname "$0")/../lib/cluster.sh"

# f1 NAME "SERVERS": the scenario on a fresh cluster of SERVERS and the
# client agent 56.
f1() {
	name=$1 servers=$2
	cluster_init "$servers" 56
	if ! cluster_start; then
		not_ok "$name: the cluster starts and elects a leader"
		cl_keep_logs
		cluster_stop
		return 1
	fi
	old=$cl_leader
	rest=$(others_than "$old" $servers)
	diag "$name: leader f$old"
	load_start "$name" "56,$(echo $servers | tr ' ' ',')" 16 \
	    -c 8 -k 8 -r 100
	sleep 3
	t0=$(now_ms)
	mark
	node_kill "$old"
	new=$(wait_leader 15 "$old" $rest)
	took=$(($(now_ms) - t0))
	check "$name: after kill -9 of leader f$old a new leader f$new in $took ms (<= 5000)" \
	    [ -n "$new" -a "$took" -le 5000 ]
	sleep_until "$t0" 5000
	node_start "$old"
	load_end
	check "$name: the restarted f$old agrees on the leader" \
	    poll 10 agreed none $servers
	if poll 10 digests_equal $servers; then
		ok "$name: KV digests equal on every server"
	else
		not_ok "$name: KV digests equal on every server ($cl_digests)"
		cl_keep_logs
	fi
	check_history "$name" 56
	if [ -n "$cl_mark_ms" ] && [ "$cl_mark_ms" -le 5000 ]; then
		ok "$name: writes resumed ${cl_mark_ms} ms after the kill (<= 5000)"
	else
		not_ok "$name: writes resumed ${cl_mark_ms:-never} ms after the kill (<= 5000)"
	fi
	poll 5 node_settled "$old"
	check_alive "$name"
	cluster_stop
}

t=$(now_ms)
f1 f1-3 "51 52 53"
diag "f1-3 took $(($(now_ms) - t)) ms"
t=$(now_ms)
f1 f1-5 "51 52 53 54 55"
diag "f1-5 took $(($(now_ms) - t)) ms"
tap_done
