#!/bin/sh
# The parent trusts no child: a child that sends an unknown message, an
# oversize or a short frame, says "ready" twice or reports a leave, which
# only gossipd may, is killed, the log says so, and the whole suite goes
# down with a non-zero exit; one that makes a forbidden system call is
# reported with that call's name.
. "$(dirname "$0")/../lib/agent.sh"

evil="$CONSULD_BUILD/regress/tools/evil_child"
if [ ! -x "$evil" ]; then
	not_ok "evil_child is built"; tap_done; exit 1
fi

# A build tree whose apid is the evil child; the rest are the real ones.
tree="$test_tmp/tree"
mkdir -p "$tree/consuld"
cp "$CONSULD" "$tree/consuld/consuld"
for c in raftd gossipd dnsd checkd; do
	mkdir -p "$tree/$c"; ln -s "$CONSULD_BUILD/$c/$c" "$tree/$c/$c"
done
mkdir -p "$tree/apid"; ln -s "$evil" "$tree/apid/apid"
CONSULD="$tree/consuld/consuld"

for mode in type oversize short ready left; do
	EVIL_MODE=$mode agent_start 3 "$test_tmp/$mode.log"
	sleep 0.1
	pids="$agent_pid $(pgrep -P "$agent_pid" | tr '\n' ' ')"
	if wait_exit "$agent_pid" 100 >/dev/null; then
		wait "$agent_pid"; rc=$?
		check "$mode: parent exits non-zero" [ "$rc" -ne 0 ]
	else
		not_ok "$mode: parent exits"
	fi
	check "$mode: the evil child ran" grep -q "evil: sending $mode" \
	    "$agent_log"
	check "$mode: the log names apid and says it was killed" \
	    grep -q "from apid (pid [0-9]*), killing it" "$agent_log"
	sleep 0.2
	left=0
	for p in $pids; do gone "$p" || left=$((left + 1)); done
	check "$mode: no process left behind" [ "$left" -eq 0 ]
done

# A child that breaks out of its system call list: the parent names the
# call that killed it.
EVIL_MODE=syscall agent_start 3 "$test_tmp/syscall.log"
if wait_exit "$agent_pid" 100 >/dev/null; then
	wait "$agent_pid"; rc=$?
	check "syscall: parent exits non-zero" [ "$rc" -ne 0 ]
else
	not_ok "syscall: parent exits"
fi
check "syscall: the log names the process and the system call" \
    grep -q "apid (pid [0-9]*) killed by the sandbox: syscall [0-9]* (socket)" \
    "$agent_log"

tap_done
