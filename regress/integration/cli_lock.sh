#!/bin/sh
# consulctl lock against a real -dev agent: a child runs only while its
# lock is held, two contenders for one lock never overlap and the second
# waits for the first, -n 2 lets two holders in but not a third, the
# keys carry Consul's flags and holders JSON, a lost lock or a SIGTERM
# kills the child and releases the lock, and the flags -child-exit-code,
# -shell, -pass-stdin, -timeout and -name do what they say.
. "$(dirname "$0")/../lib/agent.sh"

agent_start 22 "$test_tmp/agent.log"
if ! wait_for_log "agent: running"; then
	not_ok "dev agent starts"; cat "$agent_log"; tap_done; exit 1
fi
ok "dev agent starts"
export CONSUL_HTTP_ADDR="127.0.0.1:$http_port"
unset CONSUL_HTTP_TOKEN CONSUL_HTTP_TOKEN_FILE
api="http://127.0.0.1:$http_port/v1"
t=$test_tmp
bg_pids=""
stop_bg() {
	for p in $bg_pids; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	bg_pids=""
}
trap 'stop_bg; cleanup' EXIT INT TERM

check "the agent elects itself" \
    poll 15 sh -c "'$CONSULCTL' kv put probe x >/dev/null 2>&1"
# A session needs its node in the catalog, with serfHealth: the leader
# registers it shortly after it is elected.
check "the agent's node is in the catalog" \
    poll 15 sh -c "curl -s http://127.0.0.1:$http_port/v1/health/node/node22 |
    grep -q serfHealth"

# run ARGS...: sets rc, out and err.
run() {
	"$CONSULCTL" "$@" >"$t/out" 2>"$t/err"
	rc=$?
	out=$(cat "$t/out")
	err=$(cat "$t/err")
}
# is DESC EXPECTED-RC EXPECTED-OUT EXPECTED-ERR: the last run.
is() {
	if [ "$rc" = "$2" ] && [ "$out" = "$3" ] && [ "$err" = "$4" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "rc $rc (want $2)"
		diag "out: $out"
		diag "err: $err"
	fi
}
# matches DESC RC PATTERN: the last run exited RC with PATTERN on stderr.
matches() {
	# shellcheck disable=SC2254
	case $err in
	$3) if [ "$rc" = "$2" ]; then ok "$1"; return; fi ;;
	esac
	not_ok "$1"
	diag "rc $rc (want $2), out: $out"
	diag "err: $err"
}

# What needs no session.
run lock
is "lock without arguments" 1 "" \
    "Key prefix and child command must be specified"
run lock locks/a
is "lock without a command" 1 "" \
    "Key prefix and child command must be specified"
run lock -n 0 locks/a true
is "lock -n 0" 1 "" "Lock holder limit must be positive"
run lock -timeout=soon locks/a true
is "lock with a bad -timeout" 1 "" \
    'invalid value "soon" for flag -timeout: parse error'
run lock -http-addr=127.0.0.1:1 locks/a "touch '$t/ran'"
matches "lock with no agent" 1 \
    'Lock acquisition failed: failed to create session: Put "http://127.0.0.1:1/v1/session/create": dial tcp 127.0.0.1:1: connect: connection refused'
check "and no child ran" [ ! -e "$t/ran" ]

# valgrind ARGS...: no leaks, no invalid accesses in consulctl lock ARGS.
valgrind_lock() {
	if [ "$CONSULD_BUILD_LABEL" != normal ] ||
	    ! command -v valgrind >/dev/null; then
		skip "valgrind: lock $* (not the normal build, or no valgrind)"
		return
	fi
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
	    --error-exitcode=99 "$CONSULCTL" lock "$@" >/dev/null 2>&1
	check "valgrind: lock $*" [ $? -ne 99 ]
}
valgrind_lock -http-addr=127.0.0.1:1 locks/a true

code=$(curl -s -o "$t/probe" -w '%{http_code}' -X PUT \
    -d '{"Name":"probe","TTL":"15s"}' "$api/session/create")
check "the probe session was created" [ "$code" = 200 ]
curl -s -X PUT "$api/session/destroy/$(jq -r .ID "$t/probe")" >/dev/null

sessions() { curl -s "$api/session/list" | jq length; }
sessions_are() { [ "$(sessions)" = "$1" ]; }
session_named() {
	curl -s "$api/session/list" | jq -r ".[] | select(.Name == \"$1\") | .ID"
}
lock_session() { curl -s "$api/kv/$1" | jq -r '.[0].Session // empty'; }
key_absent() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$api/kv/$1")" = 404 ]
}
key_unheld() { key_absent "$1" || [ -z "$(lock_session "$1")" ]; }

# The basics.
run lock locks/basic "echo \"\$CONSUL_LOCK_HELD\" >'$t/held'; echo from-child"
is "lock runs the child and exits 0" 0 "from-child" ""
check "with CONSUL_LOCK_HELD=true" [ "$(cat "$t/held")" = true ]
check "then deletes the lock key" key_absent locks/basic/.lock
check "and destroys its session" sessions_are 0

# A holder, and a second contender that waits for it.
"$CONSULCTL" lock -name=first-holder locks/one \
    "touch '$t/a.in'; while [ ! -e '$t/a.go' ]; do sleep 0.1; done;
    [ -e '$t/b.in' ] && echo OVERLAP >'$t/overlap'; touch '$t/a.out'" \
    >"$t/a.log" 2>&1 &
a_pid=$!
bg_pids="$bg_pids $a_pid"
check "the first contender gets the lock" poll 15 test -e "$t/a.in"
sid=$(session_named first-holder)
check "under a session named by -name" [ -n "$sid" ]
check "the lock key is held by that session" \
    [ "$(lock_session locks/one/.lock)" = "$sid" ]
# jq reads numbers as doubles: kv get -detailed prints the exact uint64.
flags_of() {
	"$CONSULCTL" kv get -detailed "$1" | sed -n 's/^Flags  *//p'
}
check "and carries Consul's lock flags" \
    [ "$(flags_of locks/one/.lock)" = 3304740253564472344 ]
"$CONSULCTL" lock locks/one "touch '$t/b.in'" >"$t/b.log" 2>&1 &
b_pid=$!
bg_pids="$bg_pids $b_pid"
b_name="Consul lock for 'touch '$t/b.in'' at 'locks/one'"
b_contends() {
	curl -s "$api/session/list" |
	    jq -e --arg n "$b_name" '.[] | select(.Name == $n)' >/dev/null
}
check "the second contender has a session, named as Consul names it" \
    poll 15 b_contends
check "while the first holds the lock, the second does not run" \
    [ ! -e "$t/b.in" ]
check "and still waits" alive "$b_pid"
touch "$t/a.go"
check "once the first is done, the second runs" poll 15 test -e "$t/b.in"
wait "$a_pid"
check "the first exits 0" [ $? = 0 ]
wait "$b_pid"
check "the second exits 0" [ $? = 0 ]
bg_pids=""
check "the two never overlapped" [ ! -e "$t/overlap" -a -e "$t/a.out" ]
check "no session is left" sessions_are 0

# Several contenders at once: one at a time.
for i in 1 2 3 4; do
	"$CONSULCTL" lock locks/many "if [ -e '$t/busy' ]; then
	    echo OVERLAP >>'$t/many'; fi; touch '$t/busy'; echo in >>'$t/many';
	    sleep 0.3; rm '$t/busy'; echo out >>'$t/many'" >/dev/null 2>&1 &
	bg_pids="$bg_pids $!"
done
failed=0
for p in $bg_pids; do wait "$p" || failed=1; done
bg_pids=""
check "four contenders all run and exit 0" [ $failed = 0 ]
check "one after the other, never two at once" \
    [ "$(tr '\n' ' ' <"$t/many")" = "in out in out in out in out " ]

# A semaphore of two.
for i in 1 2 3; do
	"$CONSULCTL" lock -n 2 locks/sem "touch '$t/s.in.$i';
	    while [ ! -e '$t/s.go.$i' ]; do sleep 0.1; done" \
	    >"$t/s.log.$i" 2>&1 &
	bg_pids="$bg_pids $!"
done
ins() { find "$t" -name 's.in.*' | wc -l | tr -d ' '; }
ins_are() { [ "$(ins)" = "$1" ]; }
check "-n 2: two holders get in" poll 15 ins_are 2
check "the third contends with a session of its own" poll 15 sessions_are 3
check "but does not get in" ins_are 2
holders=$("$CONSULCTL" kv get locks/sem/.lock)
check "the holders JSON has the limit and the two holders" \
    [ "$(echo "$holders" | jq -c '[.Limit, (.Holders | length),
    ([.Holders[]] | all)]')" = '[2,2,true]' ]
check "the holders are sessions with contender keys under the prefix" \
    [ "$(echo "$holders" | jq -r '.Holders | keys[]' | while read -r s; do
    [ "$(lock_session "locks/sem/$s")" = "$s" ] && echo y; done |
    wc -l | tr -d ' ')" = 2 ]
check "the holders key carries Consul's semaphore flags" \
    [ "$(flags_of locks/sem/.lock)" = 16210313421097356768 ]
run lock -n 3 locks/sem true
is "a different -n on the same prefix is refused" 1 "" \
    "Lock acquisition failed: semaphore limit conflict (lock: 2, local: 3)"
run lock locks/sem true
is "so is a plain lock on a semaphore's prefix" 1 "" \
    "Lock acquisition failed: Existing key does not match lock use"
first_in=$(find "$t" -name 's.in.*' | head -1 | sed 's/.*\.//')
touch "$t/s.go.$first_in"
check "when one holder leaves, the third gets in" poll 15 ins_are 3
check "and there are still two holders" \
    [ "$("$CONSULCTL" kv get locks/sem/.lock | jq '.Holders | length')" = 2 ]
touch "$t/s.go.1" "$t/s.go.2" "$t/s.go.3"
failed=0
for p in $bg_pids; do wait "$p" || failed=1; done
bg_pids=""
check "all three holders exit 0" [ $failed = 0 ]
check "and leave nothing under the prefix" key_absent "locks/sem/?recurse"
check "nor a session" sessions_are 0
run lock locks/sem true
is "then a plain lock on that prefix works" 0 "" ""

# A lost lock, and a SIGTERM, end the child.
"$CONSULCTL" lock locks/lost "trap 'echo TERM >>\"$t/lost\"; exit 0' TERM;
    echo in >>'$t/lost'; while :; do sleep 0.1; done" \
    >"$t/lost.out" 2>"$t/lost.err" &
l_pid=$!
bg_pids="$l_pid"
check "a holder that runs until told to stop" poll 15 grep -qs in "$t/lost"
curl -s -X PUT "$api/session/destroy/$(lock_session locks/lost/.lock)" \
    >/dev/null
check "losing its session ends it" poll 15 gone "$l_pid"
wait "$l_pid"
check "with exit status 1" [ $? = 1 ]
bg_pids=""
check "saying so" grep -qx "Lock lost, killing child" "$t/lost.err"
check "after a SIGTERM to the child" grep -qx TERM "$t/lost"

"$CONSULCTL" lock locks/term "trap 'echo TERM >>\"$t/term\"; exit 0' TERM;
    echo in >>'$t/term'; while :; do sleep 0.1; done" \
    >"$t/term.out" 2>"$t/term.err" &
l_pid=$!
bg_pids="$l_pid"
check "another holder" poll 15 grep -qs in "$t/term"
kill -TERM "$l_pid"
check "a SIGTERM to consulctl ends it" poll 15 gone "$l_pid"
wait "$l_pid"
check "with exit status 1" [ $? = 1 ]
bg_pids=""
check "saying so" grep -qx "Shutdown triggered, killing child" "$t/term.err"
check "after a SIGTERM to the child" grep -qx TERM "$t/term"
check "and the lock is released" key_unheld locks/term/.lock
check "and its session destroyed" sessions_are 0

# The flags.
run lock locks/x "exit 3"
is "a failing child without -child-exit-code: 0" 0 "" ""
run lock -child-exit-code locks/x "exit 3"
is "with -child-exit-code: 2" 2 "" ""
run lock -child-exit-code locks/x "exit 0"
is "with -child-exit-code and a child that succeeds: 0" 0 "" ""
run lock -shell=false locks/x sh -c 'echo "$CONSUL_LOCK_HELD $1"' sh 'a b'
is "-shell=false runs the command without a shell" 0 "true a b" ""
run lock -shell=false locks/x "$t/nonexistent"
is "a command that cannot be run" 1 "" \
    "Error starting handler: exec: \"$t/nonexistent\": No such file or directory"
check "leaves the lock free" key_absent locks/x/.lock
out=$(echo hello | "$CONSULCTL" lock -pass-stdin locks/x cat)
check "-pass-stdin gives the child our stdin" [ "$out" = hello ]
out=$(echo hello | "$CONSULCTL" lock locks/x cat)
check "without it the child reads nothing" [ -z "$out" ]

"$CONSULCTL" lock locks/busy "touch '$t/busy.in';
    while [ ! -e '$t/busy.go' ]; do sleep 0.1; done" >/dev/null 2>&1 &
bg_pids="$!"
check "a holder of locks/busy" poll 15 test -e "$t/busy.in"
run lock -timeout=1s locks/busy "touch '$t/busy.ran'"
is "-timeout gives up on a held lock" 1 "" \
    "Shutdown triggered or timeout during lock acquisition"
check "without running the child" [ ! -e "$t/busy.ran" ]
touch "$t/busy.go"
wait $bg_pids
bg_pids=""
check "no session is left at the end" sessions_are 0
valgrind_lock locks/vg true
valgrind_lock -n 2 locks/vgs true

tap_done
