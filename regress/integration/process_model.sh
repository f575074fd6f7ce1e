#!/bin/sh
# The process model of a -dev agent: six processes, children chrooted,
# unprivileged and under seccomp, the first API answers travelling
# apid -> raftd -> apid, SIGHUP relayed to every child, SIGTERM a clean
# exit, and a child killed with SIGKILL taking the suite down.
. "$(dirname "$0")/../lib/agent.sh"

children="raftd gossipd apid dnsd checkd"
[ "$(id -u)" -eq 0 ] && root=1 || root=0

agent_start 1 "$test_tmp/agent.log" -log-level=debug
if wait_for_log "agent: running"; then
	ok "dev agent starts"
else
	not_ok "dev agent starts"; cat "$test_tmp/agent.log"; tap_done; exit 1
fi

n=$(pgrep -P "$agent_pid" | wc -l)
check "parent has 5 children (6 processes)" [ "$n" -eq 5 ]

data_dir=$(sed -n 's/.*dev mode, data in \([^ ]*\) .*/\1/p' \
    "$test_tmp/agent.log")
for c in $children; do
	pid=$(child_pid "$c")
	if [ -z "$pid" ]; then not_ok "$c is running"; continue; fi
	check "$c runs under seccomp" \
	    grep -q '^Seccomp:[[:space:]]*2' /proc/$pid/status
	if [ $root -eq 1 ]; then
		uid=$(awk '/^Uid:/ { print $2 }' /proc/$pid/status)
		check "$c runs as _consul" [ "$uid" = "$(id -u _consul)" ]
		root_dir=$(readlink /proc/$pid/root)
		if [ "$c" = raftd ]; then
			check "raftd is chrooted to data_dir" \
			    [ "$root_dir" = "$data_dir" ]
		else
			check "$c is chrooted to the empty dir" \
			    [ "$root_dir" = /run/consuld/empty ]
		fi
	else
		skip "$c uid and chroot (not root)"
	fi
done

self=$(curl -sf "http://127.0.0.1:$http_port/v1/agent/self")
check "GET /v1/agent/self answers" [ -n "$self" ]
check "agent/self Config.NodeName" \
    [ "$(echo "$self" | jq -r .Config.NodeName)" = node1 ]
check "agent/self Config.Datacenter" \
    [ "$(echo "$self" | jq -r .Config.Datacenter)" = dc1 ]
check "agent/self Config.Server" \
    [ "$(echo "$self" | jq -r .Config.Server)" = true ]
node_id=$(echo "$self" | jq -r .Config.NodeID)
check "agent/self NodeID is the one raftd persisted" \
    [ "$node_id" = "$(cat "$data_dir/node-id")" ]
check "agent/self Member fields" \
    [ "$(echo "$self" | jq -r '[.Member.Name, .Member.Port,
    .Member.Tags.role, .Member.Tags.dc, .Member.Tags.id,
    .Member.Status] | join(" ")')" = \
    "node1 $serf_lan_port consul dc1 $node_id 1" ]
check "agent/self Member.Tags.port is the server port" \
    [ "$(echo "$self" | jq -r .Member.Tags.port)" = "$server_port" ]

leader=$(curl -s -D "$test_tmp/h" "http://127.0.0.1:$http_port/v1/status/leader")
check "GET /v1/status/leader is a JSON string" \
    [ "$(echo "$leader" | jq -r 'type')" = string ]
check "responses carry X-Consul-Default-ACL-Policy" \
    grep -qi '^X-Consul-Default-ACL-Policy: allow' "$test_tmp/h"

code=$(curl -s -o "$test_tmp/body" -w '%{http_code}' \
    "http://127.0.0.1:$http_port/v1/no/such/endpoint")
check "an unknown endpoint is 404 with a reason" \
    [ "$code" = 404 -a -s "$test_tmp/body" ]
code=$(curl -s -o "$test_tmp/body" -w '%{http_code}' -X PUT \
    "http://127.0.0.1:$http_port/v1/agent/self")
check "PUT on a GET route is 405" \
    [ "$code" = 405 -a "$(cat "$test_tmp/body")" = "method PUT not allowed" ]
code=$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$http_port/v1/agent/%0aself")
check "a control character in the path is 400" [ "$code" = 400 ]
out=$("$CONSULCTL" info -http-addr="127.0.0.1:$http_port")
check "consulctl info prints the build section" \
    sh -c "echo '$out' | grep -q '^build:'"

kill -HUP "$agent_pid"
for c in $children; do
	if wait_for_log "\] $c: reload: configuration reloaded" 5; then
		ok "$c logs the SIGHUP reload"
	else
		not_ok "$c logs the SIGHUP reload"
	fi
done
check "agent still answers after SIGHUP" \
    curl -sf -o /dev/null "http://127.0.0.1:$http_port/v1/agent/self"

pids="$agent_pid $(pgrep -P "$agent_pid" | tr '\n' ' ')"
kill -TERM "$agent_pid"
if t=$(wait_exit "$agent_pid" 100); then
	wait "$agent_pid"; rc=$?
	check "SIGTERM: parent exits 0" [ "$rc" -eq 0 ]
	diag "SIGTERM shutdown took $((t * 100)) ms"
else
	not_ok "SIGTERM: parent exits"
fi
left=0
for p in $pids; do gone "$p" || left=$((left + 1)); done
check "SIGTERM leaves no process behind" [ "$left" -eq 0 ]
check "dev data dir removed at exit" [ ! -e "$data_dir" ]

# A child killed with SIGKILL: the parent names it and exits non-zero.
for victim in dnsd raftd; do
	agent_start 1 "$test_tmp/kill-$victim.log"
	if ! wait_for_log "agent: running"; then
		not_ok "agent starts for the $victim kill test"; continue
	fi
	pids="$agent_pid $(pgrep -P "$agent_pid" | tr '\n' ' ')"
	vpid=$(child_pid $victim)
	kill -KILL "$vpid"
	limit=10
	[ "$CONSULD_BUILD_LABEL" != normal ] && limit=30
	if t=$(wait_exit "$agent_pid" $limit); then
		wait "$agent_pid"; rc=$?
		check "kill -9 $victim: parent exits non-zero" [ "$rc" -ne 0 ]
		diag "kill -9 $victim: parent gone after $((t * 100)) ms"
	else
		not_ok "kill -9 $victim: parent exits within $((limit / 10)) s"
	fi
	check "kill -9 $victim: the log names it and the signal" \
	    grep -q "$victim (pid $vpid) terminated by signal 9" \
	    "$agent_log"
	left=0
	for p in $pids; do gone "$p" || left=$((left + 1)); done
	check "kill -9 $victim: no process left behind" [ "$left" -eq 0 ]
done

tap_done
