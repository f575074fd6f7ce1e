#!/bin/sh
# F2 (TESTING.md section 3): kill -9 of a follower's whole privsep tree
# under load, restarted 5 s later.  Writes through the client agent, the
# leader and the other follower never stop for longer than one request
# timeout (1 s); the follower catches up, by the log or by the leader's
# snapshot (the log is compacted at 100 entries, keeping 20, so five
# seconds of writes are more than the log keeps); the KV digests are
# equal; the history is linearizable and no acknowledged write is lost.
. "$(dirname "$0")/../lib/cluster.sh"

if asan_skip "f2: follower kill -9 and restart"; then
	cluster_init "51 52 53" 56 '{"raft_snapshot_threshold": 100,
	    "raft_snapshot_interval": "1s", "raft_trailing_logs": 20}'
	if ! cluster_start; then
		not_ok "f2: the cluster starts and elects a leader"
		tap_done
		exit 1
	fi
	lead=$cl_leader
	set -- $(others_than "$lead" 51 52 53)
	victim=$1 other=$2
	diag "f2: leader f$lead, killing follower f$victim"
	load_start f2 "56,$lead,$other" 14 -c 6 -k 8 -r 100
	sleep 3
	mark
	node_kill "$victim"
	sleep 5
	node_start "$victim"
	load_end
	from=$(mark_ns usr1 1)
	gap=$(write_gap "$from" "$(hist_end)")
	check "f2: writes never stopped more than 1000 ms from the kill on (longest gap $gap ms)" \
	    [ "${gap:-99999}" -le 1000 ]
	check "f2: the restarted f$victim agrees on leader f$lead" \
	    poll 10 agreed none 51 52 53
	if poll 10 digests_equal 51 52 53; then
		ok "f2: KV digests equal on every server"
	else
		not_ok "f2: KV digests equal on every server ($cl_digests)"
		cl_keep_logs
	fi
	if grep -q "installed the leader's snapshot" "$cl_dir/n$victim.log"; then
		diag "f2: f$victim caught up through the leader's snapshot"
	else
		diag "f2: f$victim caught up through the log"
	fi
	check_history f2 56
	poll 5 node_settled "$victim"
	check_alive f2
fi
tap_done
