#!/bin/sh
# F5 (TESTING.md section 3): 20% packet loss, TCP and UDP, between every
# two nodes of a 5-server cluster and its client agent (nft numgen rules
# on lo) for 20 s, under load on every node.  The history is
# linearizable, no acknowledged write is lost, at least half of the
# operations sent during the loss succeed, and no gossip member is ever
# marked failed (suspect at most: the Lifeguard criterion), as sampled
# with `consulctl members` on every node every 2 s.
. "$(dirname "$0")/../lib/cluster.sh"

nodes="51 52 53 54 55 56"

# members_sample: one `consulctl members` of every node, appended to
# $cl_dir/members; fails when one lists a member failed.
members_sample() {
	rc=0
	for s in $nodes; do
		"$CONSULCTL" members -http-addr="127.0.0.$s:$cl_http" \
		    >"$cl_dir/members.now" 2>&1
		sed "s/^/f$s: /" "$cl_dir/members.now" >>"$cl_dir/members"
		awk 'NR > 1 && $3 == "failed" { bad = 1 } END { exit bad }' \
		    "$cl_dir/members.now" || rc=1
	done
	return $rc
}

if asan_skip "f5: 20% packet loss" && need_nft "f5: 20% packet loss"; then
	cluster_init "51 52 53 54 55" 56
	if ! cluster_start; then
		not_ok "f5: the cluster starts and elects a leader"
		tap_done
		exit 1
	fi
	diag "f5: leader f$cl_leader"
	load_start f5 "$(echo $nodes | tr ' ' ',')" 60 -c 6 -k 8 -r 100
	sleep 3
	t0=$(now_ms)
	check "f5: the nft loss rules load" loss 20 $nodes
	mark
	failed=0 samples=0
	while [ $samples -lt 12 ] && [ $(($(now_ms) - t0)) -lt 20000 ]; do
		members_sample || failed=$((failed + 1))
		samples=$((samples + 1))
		sleep 2
	done
	sleep_until "$t0" 20000
	kill -USR2 "$cl_kv"
	heal
	members_sample || failed=$((failed + 1))
	if [ $failed -eq 0 ]; then
		ok "f5: no gossip member marked failed ($samples samples on every node)"
	else
		not_ok "f5: no gossip member marked failed ($failed of $((samples + 1)) samples saw one)"
		grep ' failed ' "$cl_dir/members" | head -10 | sed 's/^/#   /'
		cl_keep_logs
	fi
	sleep 3
	kill -TERM "$cl_kv"
	load_end
	set -- $(window_ops "$(mark_ns usr1 1)" "$(mark_ns usr2 1)")
	check "f5: $1 of $2 operations during the loss succeeded (>= 50%)" \
	    [ "$2" -gt 0 -a $(($1 * 2)) -ge "$2" ]
	check "f5: every server follows one leader once healed" \
	    poll 10 agreed none 51 52 53 54 55
	if poll 10 digests_equal 51 52 53 54 55; then
		ok "f5: KV digests equal on every server"
	else
		not_ok "f5: KV digests equal on every server ($cl_digests)"
		cl_keep_logs
	fi
	check_history f5 56
	check_alive f5
fi
tap_done
