#!/bin/sh
# Bad configuration never starts anything; -n checks and says where.
. "$(dirname "$0")/../lib/agent.sh"

printf '{\n  "datacenter": "dc1",\n  "bogus_key": 1\n}\n' > "$test_tmp/bad.json"
out=$("$CONSULD" -n -config-file="$test_tmp/bad.json" 2>&1); rc=$?
check "consuld -n: unknown key exits 1" [ "$rc" -eq 1 ]
check "consuld -n: unknown key is reported as file:line" \
    sh -c "echo '$out' | grep -q '$test_tmp/bad.json:3: unknown key \"bogus_key\"'"

printf '{"ports": {"http": "abc"}}\n' > "$test_tmp/type.json"
"$CONSULD" -n -config-file="$test_tmp/type.json" >/dev/null 2>&1
check "consuld -n: wrong type exits 1" [ $? -eq 1 ]

printf '{"datacenter": "dc1",\n"data_dir": "/x", "retry_interval": "10x"}\n' \
    > "$test_tmp/dur.json"
out=$("$CONSULD" -n -config-file="$test_tmp/dur.json" 2>&1); rc=$?
check "consuld -n: bad duration exits 1 naming line 2" \
    sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'dur.json:2:'"

printf '{"datacenter": "dc1",\n' > "$test_tmp/syntax.json"
"$CONSULD" -n -config-file="$test_tmp/syntax.json" >/dev/null 2>&1
check "consuld -n: syntax error exits 1" [ $? -eq 1 ]

agent_ports 2
agent_start 2 "$test_tmp/agent.log" -config-file="$test_tmp/bad.json"
t=$(wait_exit "$agent_pid" 50)
wait "$agent_pid"; rc=$?
check "consuld -dev with a bad file exits 1" [ "$rc" -eq 1 ]
check "consuld -dev with a bad file started no listener" \
    sh -c "! curl -s -o /dev/null 127.0.0.1:$http_port/v1/agent/self"

# The shipped examples: agents alone, and each with the service file.
for f in etc/consul.d/server.json etc/consul.d/client.json; do
	"$CONSULD" -n -config-file="$f" >"$test_tmp/out" 2>&1
	check "example $f passes consuld -n" [ $? -eq 0 ]
	"$CONSULD" -n -config-file="$f" -config-file=etc/consul.d/web.json \
	    >"$test_tmp/out" 2>&1
	check "example $f with web.json passes consuld -n" [ $? -eq 0 ]
	"$CONSULCTL" validate -quiet "$f" etc/consul.d/web.json \
	    >/dev/null 2>&1
	check "example $f with web.json passes consulctl validate" [ $? -eq 0 ]
done
"$CONSULD" -n -config-dir=etc/consul.d >"$test_tmp/out" 2>&1
check "etc/consul.d as a -config-dir loads" [ $? -eq 0 ]

out=$("$CONSULD_BUILD/raftd/raftd" 2>&1); rc=$?
check "a child started by hand exits 1" [ "$rc" -eq 1 ]
check "a child started by hand says who starts it" \
    sh -c "echo '$out' | grep -q 'started by consuld'"

"$CONSULD" -no-such-flag >/dev/null 2>&1
check "an unknown flag exits 1" [ $? -eq 1 ]

tap_done
