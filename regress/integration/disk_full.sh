#!/bin/sh
# A server whose disk fills up: its data_dir is a small tmpfs.  Writes
# that cannot be made durable are answered with an error, never with
# true; the agent stays up and keeps answering reads; once there is room
# again (the tmpfs grows) writes go through, and every write answered
# true is there, also after a kill -9 and a restart.  Needs root (mount).
. "$(dirname "$0")/../lib/agent.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v mount >/dev/null; then
	skip "disk full: needs root to mount a tmpfs"
	tap_done
	exit 0
fi
mnt="$test_tmp/mnt"
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=12m,mode=755 consuld-full "$mnt"; then
	skip "disk full: cannot mount a tmpfs here"
	tap_done
	exit 0
fi
stop_all() {
	if [ -n "$agent_pid" ]; then
		kill -TERM "$agent_pid" 2>/dev/null
		wait "$agent_pid" 2>/dev/null
	fi
	umount "$mnt" 2>/dev/null || { sleep 1; umount -l "$mnt"; }
	cleanup
}
trap stop_all EXIT INT TERM

agent_start_server 12 "$test_tmp/agent.log" "$mnt/d"
url="http://127.0.0.1:$http_port"
until_leader() {
	i=0
	while [ $i -lt 100 ]; do
		[ "$(curl -s "$url/v1/status/leader")" != '""' ] &&
		    curl -sf -o /dev/null "$url/v1/status/leader" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
check "the server starts on a 12 MiB data_dir" until_leader

head -c 250000 /dev/urandom | base64 -w0 >"$test_tmp/val"
: >"$test_tmp/acked"
first_err="" n=0
while [ $n -lt 100 ]; do
	n=$((n + 1))
	out=$(curl -s -m 10 -X PUT --data-binary @"$test_tmp/val" \
	    "$url/v1/kv/big/$n")
	if [ "$out" = true ]; then
		echo "big/$n" >>"$test_tmp/acked"
	elif [ -z "$first_err" ]; then
		first_err="$out"
		break
	fi
done
diag "first error after $n writes: $first_err"
check "a write that cannot be persisted gets an error" \
    [ "$first_err" = "failed to persist the Raft log: no space left on device" ]
out=$(curl -s -m 10 -w ' %{http_code}' -X PUT -d small "$url/v1/kv/small")
check "and so do the next ones, with a 500" \
    sh -c "echo '$out' | grep -q 'no space left on device 500$'"
check "the log says why" \
    grep -q "node: cannot .*No space left on device; Raft waits" \
    "$test_tmp/agent.log"
check "the agent stays up" alive "$agent_pid"
check "and reads still answer with what was acknowledged" \
    [ "$(curl -s -m 5 "$url/v1/kv/big/?keys&stale" | jq length)" -ge \
    "$(wc -l <"$test_tmp/acked")" ]

mount -o remount,size=64m "$mnt"
i=0
while [ $i -lt 50 ] && [ "$(curl -s -m 10 -X PUT -d again \
    "$url/v1/kv/again")" != true ]; do
	sleep 0.2; i=$((i + 1))
done
check "with room again, writes go through" [ $i -lt 50 ]
check "and the log says the Raft log is written again" \
    grep -q "the Raft log is written again" "$test_tmp/agent.log"
missing=0
while read -r k; do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/kv/$k")" = 200 ] ||
	    missing=$((missing + 1))
done <"$test_tmp/acked"
check "every acknowledged write is there" [ "$missing" -eq 0 ]

# kill -9 and restart on the same data: still all there.
kill -KILL "$agent_pid"
for p in $(pgrep -P "$agent_pid"); do kill -KILL "$p"; done 2>/dev/null
wait "$agent_pid" 2>/dev/null
sleep 1
agent_start_server 12 "$test_tmp/agent.log" "$mnt/d"
check "after kill -9 the server comes back" until_leader
missing=0
while read -r k; do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/kv/$k")" = 200 ] ||
	    missing=$((missing + 1))
done <"$test_tmp/acked"
check "with every acknowledged write" [ "$missing" -eq 0 ]
check "and the write made once there was room" \
    [ "$(curl -s "$url/v1/kv/again?raw")" = again ]
tap_done
