#!/bin/sh
# The linearizability checker and the history-recording load client:
# hand-made histories (regress/histories/) that are legal must pass and
# illegal ones must be flagged, malformed lines are refused, a large
# legal history with much concurrency is decided within the budget; then
# kvload runs against a real server and lincheck checks what it recorded,
# including the "set" workload (no acknowledged write lost).
. "$(dirname "$0")/../lib/agent.sh"

lincheck="$CONSULD_BUILD/regress/tools/lincheck"
kvload="$CONSULD_BUILD/regress/tools/kvload"
fixtures="$(cd "$(dirname "$0")/../histories" && pwd)"
out="$test_tmp/out"
err="$test_tmp/err"

# lc EXPECTED_STATUS ARGS...: run lincheck, keep its output in $out and
# $err, succeed when it exits with EXPECTED_STATUS.
lc() {
	want=$1; shift
	"$lincheck" "$@" >"$out" 2>"$err"
	rc=$?
	[ "$rc" -eq "$want" ] && return 0
	diag "lincheck $* exited $rc, not $want"
	sed 's/^/#   /' "$out" "$err"
	return 1
}
has() { grep -q -- "$1" "$out"; }
errhas() { grep -q -- "$1" "$err"; }

for f in "$fixtures"/legal_*.hist; do
	n=$(basename "$f" .hist)
	if lc 0 "$f" && has ": ok [0-9]* ops, [0-9]* keys\$"; then
		ok "$n is linearizable"
	else
		not_ok "$n is linearizable"
	fi
done

# illegal_NAME KEY LINE: the file is flagged, naming KEY and the op on
# LINE as the one that cannot be linearized.
illegal() {
	f="$fixtures/illegal_$1.hist"
	if lc 1 "$f" && has "not linearizable: key $2\$" &&
	    has "line $3: .*cannot be linearized"; then
		ok "illegal_$1 is flagged at key $2, line $3"
	else
		not_ok "illegal_$1 is flagged at key $2, line $3"
	fi
}
illegal stale_read lin/s 6
check "illegal_stale_read: its legal key is not reported" \
    sh -c "! grep -q 'key lin/ok' '$out'"
illegal lost_write lin/l 5
illegal cas_aba lin/c 7
illegal cas_wrong_index lin/w 4
illegal cas_twice lin/t 5
illegal cas_false lin/f 4
illegal never_written lin/n 3
illegal index_backwards lin/i 5
illegal put_index lin/p 4
illegal info_early lin/e 2
illegal absent_after_write lin/z 3

check "several files: all legal exits 0" lc 0 "$fixtures"/legal_*.hist
check "several files: one illegal exits 1" \
    lc 1 "$fixtures/legal_basic.hist" "$fixtures/illegal_lost_write.hist"
check "several files: each gets a verdict" sh -c \
    "grep -q 'legal_basic.hist: ok' '$out' &&
     grep -q 'illegal_lost_write.hist: not linearizable' '$out'"

if lc 0 -stats "$fixtures/legal_marks.hist" &&
    has "^mark usr1: first ok write after 1500 ms$" &&
    has "^mark usr2: no ok write after it$" &&
    has "^get: ok 1, fail 1, info 0$" &&
    has "^put: ok 2, fail 0, info 1$" &&
    has "^cas: ok 1 (true 0, false 1), fail 0, info 0$"; then
	ok "-stats: time to the first write after each mark, totals"
else
	not_ok "-stats: time to the first write after each mark, totals"
fi

check "-set: every acked key present" lc 0 -set "$fixtures/legal.set"
if lc 1 -set "$fixtures/illegal_missing.set" && has "missing set/1-1$" &&
    has "missing set/0-2$" && ! has "missing set/0-1$"; then
	ok "-set: the missing acked keys are listed"
else
	not_ok "-set: the missing acked keys are listed"
fi
printf 'acked a\nlost b\n' >"$test_tmp/bad.set"
check "-set: a bad line is refused" lc 2 -set "$test_tmp/bad.set"

# Malformed lines: exit 2 with file:line and a reason.  Each comes after
# a good line, so the error is on line 2.
good='1 put lin/a v1 -1 10 20 ok'
i=0
while IFS= read -r line; do
	i=$((i + 1))
	printf '%s\n%s\n' "$good" "$line" >"$test_tmp/bad$i.hist"
	if lc 2 "$test_tmp/bad$i.hist" && errhas "bad$i.hist:2: "; then
		ok "malformed line refused: $line"
	else
		not_ok "malformed line refused: $line"
	fi
done <<'EOF'
1 get lin/a - _:0 10 20
1 get lin/a - _:0 10 20 ok extra
1 del lin/a - _:0 10 20 ok
1 get lin/a - _:0 20 10 ok
1 get lin/a - _:0 1x 20 ok
1 get lin/a - _:0 -5 20 ok
1 get lin/a - _:0 10 99999999999999999999 ok
1 get lin/a x _:0 10 20 ok
1 get lin/a - v1 10 20 ok
1 get lin/a - _:5 10 20 ok
1 get lin/a - v1:0 10 20 ok
1 get lin/a - v1:x 10 20 ok
1 put lin/a _ -1 10 20 ok
1 put lin/a v2 0 10 20 ok
1 put lin/a v2 -2 10 20 ok
1 cas lin/a v2 ok:-1 10 20 ok
1 cas lin/a -1:v2 ok:-1 10 20 ok
1 cas lin/a 3:v2 maybe 10 20 ok
1 put lin/a v2 -1 10 20 maybe
# mark soon usr1
EOF
awk 'BEGIN { printf "1 put lin/a v"; for (i = 0; i < 5000; i++)
    printf "x"; print " -1 10 20 ok" }' >"$test_tmp/long.hist"
check "a line over 4096 bytes is refused" lc 2 "$test_tmp/long.hist"
printf '1 put lin/a v\0 -1 10 20 ok\n' >"$test_tmp/nul.hist"
check "a NUL byte is refused" lc 2 "$test_tmp/nul.hist"
check "a missing file is an error" lc 2 "$test_tmp/nonexistent.hist"
check "no file is a usage error" lc 2
check "-t 0 is a usage error" lc 2 -t 0 "$fixtures/legal_basic.hist"
awk 'BEGIN { for (i = 0; i <= 100000; i++)
    print 1, "put", "lin/big", "v" i, -1, i * 10, i * 10 + 5, "ok" }' \
    >"$test_tmp/big.hist"
if lc 2 "$test_tmp/big.hist" && errhas "more than the 100000"; then
	ok "over 100000 ops on one key is refused"
else
	not_ok "over 100000 ops on one key is refused"
fi

# A legal history of 2000 ops on one key: applied one after another at
# 1 us steps, each widened to up to 9 us on either side so that about 20
# clients overlap at any time; 5% of the puts are "info", half of them
# applied.  It must be decided "ok" well within the budget.
awk -v seed=7 -v n=2000 'BEGIN {
	srand(seed); val = ""; idx = 0; g = 0
	for (i = 0; i < n; i++) {
		c = i % 20; t = 1000000 + i * 1000
		call = t - int(rand() * 9000) - 1
		ret = t + int(rand() * 9000) + 1
		r = rand(); g += 1 + int(rand() * 3); v = "c" c "-" i
		if (r < 0.40) {
			out = val == "" ? "_:0" : val ":" idx
			seen[c] = val == "" ? 0 : idx
			print c, "get", "lin/p", "-", out, call, ret, "ok"
		} else if (r < 0.70) {
			val = v; idx = g
			print c, "put", "lin/p", v, -1, call, ret, "ok"
		} else if (r < 0.95) {
			e = (c in seen) ? seen[c] : 0
			if (e == idx) { val = v; idx = g; o = "ok:-1" }
			else o = "fail"
			print c, "cas", "lin/p", e ":" v, o, call, ret, "ok"
		} else {
			if (rand() < 0.5) { val = v; idx = g }
			print c, "put", "lin/p", v, -1, call, ret + 1e8, "info"
		}
	}
}' >"$test_tmp/busy.hist"
t0=$(date +%s%N)
lc 0 -t 20 "$test_tmp/busy.hist"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "2000 concurrent ops with info ops: ok within budget ($ms ms)" \
    [ "$rc" -eq 0 ]
# 40 concurrent puts then a read of a value none wrote: the search must
# try every order of the puts, so a 1 s budget runs out.
awk 'BEGIN { for (i = 0; i < 40; i++) print i, "put", "lin/h", "v" i, -1,
    0, 1000, "ok"; print 99, "get", "lin/h", "-", "zz:-1", 2000, 3000, "ok" }' \
    >"$test_tmp/hard.hist"
t0=$(date +%s%N)
if lc 3 -t 1 "$test_tmp/hard.hist" && has ": unknown: the time budget"; then
	verdict=unknown
else
	verdict=wrong
fi
ms=$((($(date +%s%N) - t0) / 1000000))
check "an exhausted budget is 'unknown', exit 3 ($ms ms)" \
    [ "$verdict" = unknown -a "$ms" -lt 5000 ]

# kvload refuses anything but loopback before it sends a byte.
"$kvload" -a 10.0.0.1:8500 -o "$test_tmp/x.hist" -d 1 >"$out" 2>"$err"
rc=$?
check "kvload refuses a non-loopback address" sh -c \
    "[ $rc -eq 2 ] && grep -q loopback '$err' && [ ! -e '$test_tmp/x.hist' ]"

# End to end: one server, kvload at ~100 ops/s from 4 clients on 4 keys
# for 3 s, with the set workload; SIGUSR1 in the middle writes a mark.
agent_start_server 195 "$test_tmp/agent.log" "$test_tmp/data"
if ! wait_for_log "agent: running" || ! wait_for_log "raft: leader" 10; then
	not_ok "server starts and leads"; cat "$agent_log"; tap_done; exit 1
fi
ok "server starts and leads"
addr="127.0.0.1:$http_port"
h="$test_tmp/run.hist"
"$kvload" -a "$addr" -c 4 -k 4 -r 100 -d 3 -o "$h" -S set \
    >"$test_tmp/kvload.out" 2>"$test_tmp/kvload.err" &
kv_pid=$!
sleep 1.5
kill -USR1 "$kv_pid" 2>/dev/null
wait "$kv_pid"
rc=$?
summary=$(cat "$test_tmp/kvload.out")
diag "$summary"
okops=$(echo "$summary" | sed -n 's/.*(ok \([0-9]*\),.*/\1/p')
check "kvload ran and printed its summary" \
    [ "$rc" -eq 0 -a -n "$okops" ]
check "more than 100 ok operations" [ "${okops:-0}" -gt 100 ]
check "the history is linearizable" lc 0 -stats "$h"
check "the history has every op kind" sh -c \
    "grep -q ' get ' '$h' && grep -q ' put ' '$h' && grep -q ' cas ' '$h' &&
     grep -q ' cas .* ok:-1 ' '$h'"
check "SIGUSR1 wrote a mark, seen by -stats" \
    sh -c "grep -q '^# mark [0-9]* usr1$' '$h' &&
    grep -q '^mark usr1: first ok write after [0-9]* ms$' '$out'"
"$kvload" -L "$addr" -S set -o "$h.set" >"$test_tmp/list.out" 2>&1
rc=$?
check "kvload -L lists the set" sh -c \
    "[ $rc -eq 0 ] && grep -q 'keys present under set/' '$test_tmp/list.out'"
acked=$(grep -c '^acked ' "$h.set")
check "the set workload acked writes ($acked)" [ "$acked" -gt 0 ]
check "no acked write is missing from the listing" lc 0 -set "$h.set"

# A stopped run still leaves its history: SIGTERM ends it early.  The
# checker starts every key absent, so each run takes fresh keys (-p).
"$kvload" -a "$addr" -c 2 -k 2 -r 50 -d 30 -p term/ \
    -o "$test_tmp/term.hist" >"$test_tmp/term.out" 2>&1 &
kv_pid=$!
sleep 1
kill -TERM "$kv_pid"
wait "$kv_pid"
rc=$?
check "SIGTERM ends kvload early with its summary" \
    sh -c "[ $rc -eq 0 ] && grep -q '^kvload: [0-9]* ops' '$test_tmp/term.out'"
check "the history of the stopped run is complete and linearizable" \
    lc 0 "$test_tmp/term.hist"

tap_done
