#!/bin/sh
# Script checks: `args` and the 0.x `script` from a configuration file
# run (exec'd by the parent, as the unprivileged user when the agent is
# root), exit 0/1/other give passing/warning/critical with the combined
# stdout and stderr as output, a script past its timeout is killed with
# all it started, output is cut to check_output_max_size; through the
# API they are refused without enable_script_checks and run with it; a
# file's script check without either switch stops the agent at start.
. "$(dirname "$0")/../lib/agent.sh"

# Unique to this run, to find our scripts' processes among any others.
tag="$$$(date +%N | cut -c1-4)"
if [ "$(id -u)" -eq 0 ]; then
	want_uid=$(id -u _consul 2>/dev/null || echo none)
else
	want_uid=$(id -u)
fi
long=$(printf 'x%.0s' $(seq 1 300))

agent_ports 25
url="http://127.0.0.1:$http_port"
cat >"$test_tmp/checks.json" <<EOF
{"enable_local_script_checks": true, "check_output_max_size": 200,
 "services": [{"name": "web", "port": 8080, "checks": [
   {"id": "pass", "args": ["sh", "-c", "echo out-$tag; echo err-$tag >&2"],
    "interval": "1s"},
   {"id": "warn", "args": ["sh", "-c", "echo slow; exit 1"],
    "interval": "1s", "status": "passing"},
   {"id": "crit", "args": ["sh", "-c", "echo boom; exit 2"],
    "interval": "1s", "status": "passing"},
   {"id": "uid", "args": ["sh", "-c", "id -u"], "interval": "1s"}]}],
 "checks": [
   {"id": "slow", "name": "slow", "args": ["sleep", "60.$tag"],
    "interval": "1h", "timeout": "1s", "status": "passing"},
   {"id": "bg", "name": "bg",
    "args": ["sh", "-c", "sleep 61.$tag & echo started"],
    "interval": "1h"},
   {"id": "legacy", "name": "legacy", "script": "echo legacy-\$((40 + 2))",
    "interval": "1s"},
   {"id": "missing", "name": "missing", "args": ["/nonexistent/prog-$tag"],
    "interval": "1s", "status": "passing"},
   {"id": "big", "name": "big", "args": ["sh", "-c", "printf '$long'; echo END"],
    "interval": "1s"}]}
EOF
agent_start 25 "$test_tmp/agent.log" -config-file="$test_tmp/checks.json"
if ! wait_for_log "agent: running"; then
	not_ok "the agent starts with script checks"; cat "$agent_log"
	tap_done; exit 1
fi
ok "the agent starts with script checks"

# field CHECK FIELD: a field of a check of /v1/agent/checks.
field() {
	curl -s "$url/v1/agent/checks" | jq -r --arg c "$1" ".[\$c].$2"
}
is() { [ "$(field "$1" "$2")" = "$3" ]; }
has() { field "$1" Output | grep -q "$2"; }

check "exit 0 is passing" poll 15 is pass Status passing
check "its stdout is the output" has pass "^out-$tag$"
check "and so is its stderr" has pass "^err-$tag$"
check "the check's type is script" is pass Type script
check "exit 1 is warning" poll 15 is warn Status warning
check "with its output" is warn Output "slow"
check "exit 2 is critical" poll 15 is crit Status critical
check "with its output" is crit Output "boom"
check "the script runs as the unprivileged user ($want_uid)" \
    poll 15 is uid Output "$want_uid"
check "the 0.x script key runs through the shell" \
    poll 15 is legacy Output "legacy-42"
check "a program that cannot be exec'd is critical" \
    poll 15 is missing Status critical
check "and the output says why" \
    has missing "exec /nonexistent/prog-$tag: No such file or directory"
check "a long output keeps its last check_output_max_size bytes" \
    poll 15 has big "^Captured 200 of 304 bytes$"
check "ending with the script's last line" \
    sh -c "curl -s '$url/v1/agent/checks' |
    jq -e '.big.Output | endswith(\"xxEND\\n\")' >/dev/null"

check "a script past its timeout is critical" poll 15 is slow Status critical
check "and says it timed out" is slow Output "Timed out (1s) running check"
check "the timed-out process is gone" \
    poll 10 sh -c "! pgrep -f '^sleep 60.$tag' >/dev/null"
check "a script's output comes even when it leaves a process running" \
    poll 15 is bg Output "started"
check "and what it left running is killed" \
    poll 10 sh -c "! pgrep -f '^sleep 61.$tag' >/dev/null"
check "the agent logs the timeout" grep -q 'script: slow: timed out' \
    "$agent_log"

check "health shows the script checks in the catalog" \
    poll 10 sh -c "[ \"\$(curl -s '$url/v1/health/checks/web' |
    jq -r '.[] | select(.CheckID == \"warn\") | .Status')\" = warning ]"

put() { curl -s -w ' %{http_code}' -X PUT --data-binary "$2" "$url/v1/agent/$1"; }
out_has() { printf '%s\n' "$out" | grep -q "$1"; }
out=$(put check/register '{"Name":"api","Args":["sh","-c","echo api"],"Interval":"1s"}')
check "a script check through the API is a 400 without enable_script_checks" \
    out_has ' 400$'
check "saying why: remote calls may not run scripts" \
    out_has "^Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true 400$"
out=$(put service/register '{"Name":"s","Check":{"Args":["true"],"Interval":"1s"}}')
check "so is one in a service registration" \
    out_has 'Scripts are disabled.* 400$'
check "and neither was registered" \
    sh -c "[ \"\$(curl -s '$url/v1/agent/checks' | jq 'has(\"api\")')\" = false ] &&
    [ \"\$(curl -s '$url/v1/agent/services' | jq 'has(\"s\")')\" = false ]"

kill -TERM "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null
wait "$agent_pid"
check "the agent stops cleanly" [ $? -eq 0 ]
check "and leaves no script running" \
    sh -c "! pgrep -f '^sleep 6[01].$tag' >/dev/null"

# With enable_script_checks the API may register them.
agent_ports 26
url="http://127.0.0.1:$http_port"
echo '{"check_output_max_size": 65536}' >"$test_tmp/api.json"
agent_start 26 "$test_tmp/api.log" -enable-script-checks \
    -config-file="$test_tmp/api.json"
if ! wait_for_log "agent: running"; then
	not_ok "an agent with -enable-script-checks starts"; cat "$agent_log"
	tap_done; exit 1
fi
check "with enable_script_checks an API script check registers" \
    [ "$(put check/register "{\"Name\":\"api\",\"Args\":[\"sh\",\"-c\",
    \"echo api-$tag; exit 1\"],\"Interval\":\"1s\"}")" = ' 200' ]
check "and runs" poll 15 is api Status warning
check "with its output" is api Output "api-$tag"
check "an API script check with an interval under a second is a 400" \
    sh -c "curl -s -w ' %{http_code}' -X PUT --data-binary \
    '{\"Name\":\"fast\",\"Args\":[\"true\"],\"Interval\":\"100ms\"}' \
    '$url/v1/agent/check/register' | grep -q ' 400$'"
check "a service with a script check registers" \
    [ "$(put service/register "{\"Name\":\"svc\",\"Check\":{\"Args\":
    [\"sh\",\"-c\",\"echo svc-$tag\"],\"Interval\":\"1s\"}}")" = ' 200' ]
check "and its check passes" poll 15 is service:svc Output "svc-$tag"
check "a check whose output is more than the catalog holds registers" \
    [ "$(put check/register '{"Name":"huge","Args":["sh","-c",
    "head -c 70000 /dev/zero | tr \\\\0 y"],"Interval":"1s"}')" = ' 200' ]
check "its output is cut to what the catalog holds" \
    poll 15 sh -c "[ \"\$(curl -s '$url/v1/agent/checks' |
    jq '.huge.Output | length')\" = 65536 ]"
check "after saying how much there was" \
    has huge "^Captured 65536 of 70000 bytes$"
check "deregistering the script check" \
    [ "$(curl -s -w '%{http_code}' -X PUT "$url/v1/agent/check/deregister/api")" = 200 ]
check "removes it" is api Status null
kill -TERM "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null
wait "$agent_pid"
check "that agent stops cleanly too" [ $? -eq 0 ]

# A file's script check without either switch: a configuration error.
cat >"$test_tmp/noflag.json" <<EOF
{"check": {"name": "s", "args": ["true"], "interval": "10s"}}
EOF
out=$("$CONSULD" -n -dev -config-file="$test_tmp/noflag.json" 2>&1); rc=$?
check "consuld -n refuses a script check without the switches" [ "$rc" -eq 1 ]
check "naming them" out_has "check \"s\": Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true"
agent_ports 27
agent_start 27 "$test_tmp/noflag.log" -config-file="$test_tmp/noflag.json"
wait_exit "$agent_pid" 100 >/dev/null
wait "$agent_pid"; rc=$?
check "and the agent does not start" [ "$rc" -eq 1 ]
check "saying why" grep -q "Scripts are disabled on this agent" \
    "$test_tmp/noflag.log"
"$CONSULD" -n -dev -config-file="$test_tmp/noflag.json" \
    -enable-local-script-checks >/dev/null 2>&1
check "-enable-local-script-checks allows it" [ $? -eq 0 ]

# An agent that is not root runs scripts as the user it runs as.
if [ "$(id -u)" -ne 0 ]; then
	skip "not root: the agent as another user is not tried"
elif ! command -v setpriv >/dev/null; then
	skip "setpriv is missing"
else
	cat >"$test_tmp/plain.json" <<EOF
{"check": {"id": "who", "name": "who", "args": ["id", "-u"],
  "interval": "1s"}}
EOF
	agent_ports 27
	url="http://127.0.0.1:$http_port"
	agent_log="$test_tmp/plain.log"
	: >"$agent_log"
	(cd "$test_tmp" && exec setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups "$CONSULD" -dev -node=plain -http-port=$http_port \
	    -dns-port=$dns_port -serf-lan-port=$serf_lan_port \
	    -serf-wan-port=$serf_wan_port -server-port=$server_port \
	    -enable-local-script-checks -config-file="$test_tmp/plain.json") \
	    >"$agent_log" 2>&1 &
	agent_pid=$!
	if wait_for_log "agent: running"; then
		check "an agent run by an ordinary user runs scripts as that user" \
		    poll 15 is who Output "$(id -u nobody)"
	else
		not_ok "an agent run by an ordinary user starts"
	fi
	kill -TERM "$agent_pid"
	wait_exit "$agent_pid" 100 >/dev/null
fi
tap_done
