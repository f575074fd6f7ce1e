#!/bin/sh
# F12 (TESTING.md section 3): kill -9 of a server while it takes
# snapshots.  The servers snapshot every 40 entries, checked every
# second, under about 90 writes a second; eight times a server (taken in
# turn, the leader too) is killed at a random 0-500 ms offset in the
# half second around its next snapshot (750-1250 ms after one is logged)
# and restarted at once.  Each restart restores its state
# without error and catches up; in the end the KV digests are equal on
# every server, the history is linearizable and no acknowledged write is
# lost.
. "$(dirname "$0")/../lib/cluster.sh"

rounds=8

# snaps N: how many snapshots node N has logged.
snaps() { grep -c 'snapshot: took a snapshot' "$cl_dir/n$1.log"; }
more_snaps() { [ "$(snaps "$1")" -gt "$2" ]; }

if asan_skip "f12: kill -9 during snapshots"; then
	cluster_init "51 52 53" 56 '{"raft_snapshot_threshold": 40,
	    "raft_snapshot_interval": "1s", "raft_trailing_logs": 20}'
	if ! cluster_start; then
		not_ok "f12: the cluster starts and elects a leader"
		tap_done
		exit 1
	fi
	seed=$$
	diag "f12: leader f$cl_leader, random seed $seed"
	load_start f12 "56,51,52,53" 60 -c 8 -k 8 -r 150
	sleep 2
	t0=$(now_ms)
	i=0 killed=0 slow=""
	while [ $i -lt $rounds ] && [ $(($(now_ms) - t0)) -lt 40000 ]; do
		victim=$((51 + i % 3))
		before=$(snaps $victim)
		poll 3 more_snaps $victim "$before"
		ms=$(awk -v s=$((seed + i)) 'BEGIN { srand(s); print 750 + int(rand() * 500) }')
		sleep "$(echo "$ms" | awk '{ printf "%.3f", $1 / 1000 }')"
		[ $i -eq 0 ] && mark
		node_kill $victim
		killed=$((killed + 1))
		node_start $victim
		if ! poll 10 agreed none 51 52 53; then
			slow="$slow f$victim"
		fi
		i=$((i + 1))
	done
	kill -TERM "$cl_kv"
	load_end
	diag "f12: $killed kills in $(($(now_ms) - t0)) ms"
	check "f12: after each restart the servers agree on a leader within 10 s" \
	    [ -z "$slow" ]
	[ -n "$slow" ] && diag "f12: no leader agreed after the restart of$slow"
	check "f12: every restart restored its state without error" \
	    sh -c "! grep -E -h 'failed to restore|cannot restore|no file for the snapshot|no data for the snapshot|cannot install|cannot open the store|cannot read the raft state|cannot start raft|refused the snapshot' '$cl_dir'/n5[123].log"
	diag "f12: $(cat "$cl_dir"/n5[123].log | grep -c 'snapshot: took a snapshot') snapshots taken"
	if poll 10 digests_equal 51 52 53; then
		ok "f12: KV digests equal on every server"
	else
		not_ok "f12: KV digests equal on every server ($cl_digests)"
		cl_keep_logs
	fi
	check_history f12 56
	for n in 51 52 53; do poll 5 node_settled $n; done
	check_alive f12
fi
tap_done
