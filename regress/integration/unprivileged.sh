#!/bin/sh
# Started by an ordinary user, consuld says once that it cannot chroot
# or drop privileges, and still puts every child under seccomp.
. "$(dirname "$0")/../lib/agent.sh"

if [ "$(id -u)" -ne 0 ]; then
	runas=""
elif command -v setpriv >/dev/null; then
	runas="setpriv --reuid=nobody --regid=nogroup --clear-groups"
else
	skip "setpriv is missing"; tap_done; exit 0
fi

cd "$test_tmp" || exit 1
agent_ports 4
$runas "$CONSULD" -dev -node=plain -http-port=$http_port \
    -dns-port=$dns_port -serf-lan-port=$serf_lan_port \
    -serf-wan-port=$serf_wan_port -server-port=$server_port \
    >"$test_tmp/agent.log" 2>&1 &
agent_pid=$!
agent_log="$test_tmp/agent.log"
if ! wait_for_log "agent: running"; then
	not_ok "unprivileged agent starts"; cat "$agent_log"; tap_done; exit 1
fi
ok "unprivileged agent starts"
check "one warning line says there is no chroot or privilege drop" \
    [ "$(grep -c 'not running as root' "$agent_log")" -eq 1 ]
for p in $(pgrep -P "$agent_pid"); do
	c=$(cat /proc/$p/comm)
	check "$c runs under seccomp" \
	    grep -q '^Seccomp:[[:space:]]*2' /proc/$p/status
done
check "GET /v1/agent/self answers" \
    [ "$(curl -sf "http://127.0.0.1:$http_port/v1/agent/self" |
    jq -r .Config.NodeName)" = plain ]
kill -TERM "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null
wait "$agent_pid"
check "SIGTERM exits 0" [ $? -eq 0 ]
tap_done
