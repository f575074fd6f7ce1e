#!/bin/sh
# F4 (TESTING.md section 3): majority loss.  Every server is cut off
# from the two others (nft rules on lo; the client agent still reaches
# all of them) for about 7 s, under load.  A write and a ?consistent
# read sent to the old leader at the partition fail with a 5xx within
# the hold timeout (performance.rpc_hold_timeout, 4 s here) plus the
# longest election timeout it may take to see its quorum gone; every
# server loses its leader; then a write or a ?consistent read on any
# server, or through the client agent, fails with a 5xx within the hold
# timeout, never a 200; a ?stale read still answers, with
# X-Consul-KnownLeader: false.  Once healed, the servers elect a leader
# within 5 s; the history is linearizable and no acknowledged write is
# lost.
. "$(dirname "$0")/../lib/cluster.sh"

# probe TAG N METHOD QUERY: a request to node N on key f4probe, in the
# background; "code seconds" goes to $cl_dir/probe-TAG-N-METHOD, the
# body to the same name with .body.
probe() {
	data=""
	[ "$3" = PUT ] && data="-d x"
	curl -s -X "$3" $data --max-time 15 \
	    -o "$cl_dir/probe-$1-$2-$3.body" -w '%{http_code} %{time_total}\n' \
	    "$(cl_url "$2" "/v1/kv/f4probe$4")" >"$cl_dir/probe-$1-$2-$3" &
}

# probes_done TAG NODES...: both probes of each node have answered.
probes_done() {
	tag=$1; shift
	for s in "$@"; do
		for m in PUT GET; do
			[ -s "$cl_dir/probe-$tag-$s-$m" ] || return 1
		done
	done
}

# no_leader_anywhere: no server names a leader.
no_leader_anywhere() {
	for s in 51 52 53; do [ -z "$(leader_of $s)" ] || return 1; done
}

# failed_in_time TAG N METHOD MS: the probe got a 5xx within MS.
failed_in_time() {
	f="$cl_dir/probe-$1-$2-$3"
	read -r code secs <"$f" || return 1
	ms=$(echo "$secs" | awk '{ printf "%d", $1 * 1000 }')
	diag "f4: $3 on f$2: $code after $ms ms: $(head -c 60 "$f.body")"
	[ "$code" -ge 500 ] && [ "$code" -le 599 ] && [ "$ms" -le "$4" ]
}

if asan_skip "f4: majority loss" && need_nft "f4: majority loss"; then
	cluster_init "51 52 53" 56
	if ! cluster_start; then
		not_ok "f4: the cluster starts and elects a leader"
		tap_done
		exit 1
	fi
	curl -s -X PUT -d before "$(cl_url 56 /v1/kv/f4probe)" >/dev/null
	load_start f4 "56,51,52,53" 60 -c 8 -k 8 -r 100
	sleep 3
	t0=$(now_ms)
	check "f4: the nft rules that isolate every server load" \
	    part "51|52|53"
	mark
	# On the old leader at once: it may take an election timeout to see
	# it lost its quorum, then holds the request.
	old=$cl_leader
	probe early $old PUT ""
	probe early $old GET "?consistent"
	if poll 10 no_leader_anywhere; then
		ok "f4: every server loses its leader ($(($(now_ms) - t0)) ms)"
	else
		not_ok "f4: every server loses its leader within 10 s"
		for s in 51 52 53; do diag "f4: f$s names '$(leader_of $s)'"; done
	fi
	for s in 51 52 53 56; do
		probe late $s PUT ""
		probe late $s GET "?consistent"
	done
	poll 16 probes_done early $old
	poll 16 probes_done late 51 52 53 56
	early=$((cl_hold * 1000 + 2000 + 500))
	check "f4: a write on the old leader f$old at the partition fails with a 5xx within $early ms" \
	    failed_in_time early $old PUT $early
	check "f4: a ?consistent read on it fails with a 5xx within $early ms" \
	    failed_in_time early $old GET $early
	late=$((cl_hold * 1000 + 500))
	for s in 51 52 53 56; do
		check "f4: then a write on f$s fails with a 5xx within $late ms" \
		    failed_in_time late $s PUT $late
		check "f4: a ?consistent read on f$s fails with a 5xx within $late ms" \
		    failed_in_time late $s GET $late
	done
	for s in 51 52 53; do
		h=$(curl -s -D - -o "$cl_dir/stale-$s" --max-time 3 \
		    "$(cl_url $s '/v1/kv/f4probe?stale')" | tr -d '\r')
		check "f4: a ?stale read on f$s answers, with X-Consul-KnownLeader: false" \
		    sh -c "echo '$h' | head -1 | grep -q ' 200 ' &&
		    echo '$h' | grep -qix 'X-Consul-KnownLeader: false'"
	done
	kill -USR2 "$cl_kv"
	heal
	t1=$(now_ms)
	l=$(wait_leader 10 none 51 52 53)
	took=$(($(now_ms) - t1))
	check "f4: healed, the servers elect f$l in $took ms (<= 5000)" \
	    [ -n "$l" -a "$took" -le 5000 ]
	sleep 3
	kill -TERM "$cl_kv"
	load_end
	if poll 10 digests_equal 51 52 53; then
		ok "f4: KV digests equal on every server"
	else
		not_ok "f4: KV digests equal on every server ($cl_digests)"
		cl_keep_logs
	fi
	check_history f4 56
	check_alive f4
fi
tap_done
