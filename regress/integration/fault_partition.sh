#!/bin/sh
# F3 (TESTING.md section 3): a minority partition with the old leader in
# the minority: leader | the two other servers, nft rules on lo, held
# 8 s, then healed, under load on every server and the client agent
# (which stays connected to all).  The majority elects within 5 s; from
# the moment the majority has its new leader until the heal, the old
# leader acks no write and answers no ?consistent read; after the heal
# every server follows one leader and has the same KV table (the old
# leader dropped what it never committed); the history is linearizable
# and no acknowledged write is lost.
. "$(dirname "$0")/../lib/cluster.sh"

if need_nft "f3: minority partition with the old leader in it"; then
	cluster_init "51 52 53" 56
	if ! cluster_start; then
		not_ok "f3: the cluster starts and elects a leader"
		tap_done
		exit 1
	fi
	old=$cl_leader
	rest=$(others_than "$old" 51 52 53)
	diag "f3: leader f$old, partitioned from f$(echo $rest | sed 's/ / and f/')"
	# Clients 0 and 4 on the old leader.
	set -- $rest
	load_start f3 "$old,$1,$2,56" 60 -c 8 -k 8 -r 100
	sleep 3
	t0=$(now_ms)
	check "f3: the partition's nft rules load" part "$old|$rest"
	mark
	new=$(wait_leader 10 "$old" $rest)
	kill -USR2 "$cl_kv"
	took=$(($(now_ms) - t0))
	check "f3: the majority elects f$new in $took ms (<= 5000)" \
	    [ -n "$new" -a "$took" -le 5000 ]
	diag "f3: during the partition f$old names the leader '$(leader_num "$old")'"
	sleep_until "$t0" 8000
	kill -USR2 "$cl_kv"
	heal
	t1=$(now_ms)
	if poll 10 agreed none 51 52 53; then
		ok "f3: healed, every server follows f$cl_leader ($(($(now_ms) - t1)) ms)"
	else
		not_ok "f3: healed, every server follows one leader within 10 s"
		cl_keep_logs
	fi
	sleep 3
	kill -TERM "$cl_kv"
	load_end
	from=$(mark_ns usr2 1)
	to=$(mark_ns usr2 2)
	ok_from 0,4 "$from" "$to" >"$cl_work.stale"
	if [ -n "$from" ] && [ -n "$to" ] && [ ! -s "$cl_work.stale" ]; then
		ok "f3: the old leader f$old acked nothing once f$new led"
	else
		not_ok "f3: the old leader f$old acked nothing once f$new led"
		diag "answered 200 on f$old between the new leader and the heal:"
		head -10 "$cl_work.stale" | sed 's/^/#   /'
		diag "history kept: ${cl_hist#$cl_top/}"
		cl_keep_logs
	fi
	if poll 10 digests_equal 51 52 53; then
		ok "f3: KV digests equal on every server"
	else
		not_ok "f3: KV digests equal on every server ($cl_digests)"
		cl_keep_logs
	fi
	check_history f3 56
	check_alive f3
fi
tap_done
