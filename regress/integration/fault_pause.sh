#!/bin/sh
# F7 (TESTING.md section 3): the leader's whole privsep tree is stopped
# (SIGSTOP) for twice the longest election timeout (4 s), under load
# through every server and the client agent, then resumed.  The others
# elect a new leader within 5 s; the resumed node steps down and follows
# it; it answers no stale ?consistent read (the history, in which its
# clients read and write right after the resume, is linearizable); no
# acknowledged write is lost.
. "$(dirname "$0")/../lib/cluster.sh"

if asan_skip "f7: pause of the leader"; then
	cluster_init "51 52 53" 56
	if ! cluster_start; then
		not_ok "f7: the cluster starts and elects a leader"
		tap_done
		exit 1
	fi
	old=$cl_leader
	rest=$(others_than "$old" 51 52 53)
	diag "f7: leader f$old"
	# Clients 0 and 4 on the old leader, 1 and 5 on the client agent.
	set -- $rest
	load_start f7 "$old,56,$1,$2" 14 -c 8 -k 8 -r 100
	sleep 3
	t0=$(now_ms)
	mark
	node_stop "$old"
	new=$(wait_leader 15 "$old" $rest)
	took=$(($(now_ms) - t0))
	check "f7: while f$old is stopped a new leader f$new in $took ms (<= 5000)" \
	    [ -n "$new" -a "$took" -le 5000 ]
	sleep_until "$t0" 4000
	node_cont "$old"
	kill -USR2 "$cl_kv"
	t1=$(now_ms)
	if poll 5 agreed "$old" 51 52 53; then
		ok "f7: resumed, f$old steps down and follows f$cl_leader ($(($(now_ms) - t1)) ms)"
	else
		not_ok "f7: resumed, f$old steps down and follows the new leader (f$old sees '$(leader_num "$old")')"
		cl_keep_logs
	fi
	load_end
	resumed=$(mark_ns usr2 1)
	n=$(ok_from 0,4 "$resumed" 99999999999999999999 | grep -c ' get ')
	diag "f7: $n ?consistent reads answered on f$old after the resume"
	if poll 10 digests_equal 51 52 53; then
		ok "f7: KV digests equal on every server"
	else
		not_ok "f7: KV digests equal on every server ($cl_digests)"
		cl_keep_logs
	fi
	check_history f7 56
	check_alive f7
fi
tap_done
