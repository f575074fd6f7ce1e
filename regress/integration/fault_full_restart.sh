#!/bin/sh
# F13 (TESTING.md section 3): kill -9 of every server at once, then all
# restarted together, five times under load through the client agent
# and the servers.  Each time the servers elect a leader within 10 s
# from their own data; no acknowledged write is lost; the history, with
# ?consistent reads sent to each server as soon as it answers again, is
# linearizable (no stale read during start-up); the KV digests are equal
# in the end, and the client agent lives through it all.
. "$(dirname "$0")/../lib/cluster.sh"

loops=5

if asan_skip "f13: kill -9 of every server, restart"; then
	cluster_init "51 52 53" 56
	if ! cluster_start; then
		not_ok "f13: the cluster starts and elects a leader"
		tap_done
		exit 1
	fi
	load_start f13 "56,51,52,53" 60 -c 8 -k 8 -r 100
	t0=$(now_ms)
	i=0 slow="" times=""
	while [ $i -lt $loops ] && [ $(($(now_ms) - t0)) -lt 45000 ]; do
		sleep 1.5
		mark
		nodes_kill 51 52 53
		t1=$(now_ms)
		for n in 51 52 53; do node_start $n; done
		if poll 10 agreed none 51 52 53; then
			times="$times $(($(now_ms) - t1))"
		else
			slow="$slow $i"
		fi
		i=$((i + 1))
	done
	sleep 1.5
	kill -TERM "$cl_kv"
	load_end
	diag "f13: $i full restarts in $(($(now_ms) - t0)) ms; leader after (ms):$times"
	check "f13: after each restart the servers agree on a leader within 10 s" \
	    [ -z "$slow" -a "$i" -eq $loops ]
	if poll 10 digests_equal 51 52 53; then
		ok "f13: KV digests equal on every server"
	else
		not_ok "f13: KV digests equal on every server ($cl_digests)"
		cl_keep_logs
	fi
	check_history f13 56
	"$LINCHECK" -stats "$cl_hist" 2>/dev/null | grep '^mark usr1' |
	    sed 's/^/# f13: /'
	for n in 51 52 53; do poll 5 node_settled $n; done
	check_alive f13
fi
tap_done
