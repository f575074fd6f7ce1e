#!/bin/sh
# PUT /v1/agent/reload and `consulctl reload`, as SIGHUP: services and
# checks added to, changed in or removed from the configuration files
# are in the agent's local state once the request is answered, checkd
# runs the new checks, what the API registered stays, and a broken
# configuration is answered 500 with the reason while the running one
# stays in force.
. "$(dirname "$0")/../lib/agent.sh"

tag="$$$(date +%N | cut -c1-4)"
agent_ports 28
url="http://127.0.0.1:$http_port"
conf="$test_tmp/consul.d"
mkdir -p "$conf"
cat >"$conf/a.json" <<EOF
{"enable_local_script_checks": true,
 "service": {"name": "alpha", "port": 1000}}
EOF
agent_start 28 "$test_tmp/agent.log" -config-dir="$conf"
if ! wait_for_log "agent: running"; then
	not_ok "the agent starts"; cat "$agent_log"; tap_done; exit 1
fi
ok "the agent starts"

services() { curl -s "$url/v1/agent/services" | jq -c 'keys'; }
checks() { curl -s "$url/v1/agent/checks" | jq -c 'keys'; }
check_field() {
	curl -s "$url/v1/agent/checks" | jq -r --arg c "$1" ".[\$c].$2"
}
reload() { curl -s -w ' %{http_code}' -X PUT "$url/v1/agent/reload"; }

check "the file's service is registered" [ "$(services)" = '["alpha"]' ]
check "a service registered through the API" \
    [ "$(curl -s -w '%{http_code}' -X PUT -d '{"Name":"api","Check":{"TTL":"1h"}}' \
    "$url/v1/agent/service/register")" = 200 ]

# A second file: a service with a script check, and a node check.
cat >"$conf/b.json" <<EOF
{"service": {"name": "beta", "port": 2000,
  "check": {"args": ["sh", "-c", "echo first-$tag"], "interval": "1s"}},
 "check": {"id": "node-ttl", "name": "node ttl", "ttl": "1h",
  "status": "passing"}}
EOF
check "PUT /v1/agent/reload answers 200 with no body" [ "$(reload)" = ' 200' ]
check "the new service is registered when it answers" \
    [ "$(services)" = '["alpha","api","beta"]' ]
check "and the new checks" \
    [ "$(checks)" = '["node-ttl","service:api","service:beta"]' ]
check "the new node check has its initial status" \
    [ "$(check_field node-ttl Status)" = passing ]
check "checkd runs the new script check" \
    poll 15 sh -c "[ \"\$(curl -s '$url/v1/agent/checks' |
    jq -r '.[\"service:beta\"].Output')\" = 'first-$tag' ]"
check "anti-entropy puts the new service in the catalog" \
    poll 15 sh -c "[ \"\$(curl -s '$url/v1/catalog/service/beta' |
    jq '.[0].ServicePort')\" = 2000 ]"
check "the agent logged the reload" \
    grep -q 'agent: reload through the API, reloading configuration' \
    "$agent_log"

# Changes: alpha's port, beta's script.
sed -i 's/1000/1001/' "$conf/a.json"
sed -i "s/first-$tag/second-$tag/" "$conf/b.json"
check "consulctl reload" \
    [ "$("$CONSULCTL" reload -http-addr="127.0.0.1:$http_port")" = \
    "Configuration reload triggered" ]
check "a changed service is updated" \
    [ "$(curl -s "$url/v1/agent/services" | jq .alpha.Port)" = 1001 ]
check "a changed script check runs what the file now says" \
    poll 15 sh -c "[ \"\$(curl -s '$url/v1/agent/checks' |
    jq -r '.[\"service:beta\"].Output')\" = 'second-$tag' ]"

# A removed file: its service, with its check, and its node check go.
rm "$conf/b.json"
check "reload after removing a file" [ "$(reload)" = ' 200' ]
check "its service is gone, the API's stays" \
    [ "$(services)" = '["alpha","api"]' ]
check "its checks are gone" [ "$(checks)" = '["service:api"]' ]
check "and leave the catalog" \
    poll 15 sh -c "[ \"\$(curl -s '$url/v1/catalog/service/beta')\" = '[]' ]"

# A broken file: 500 with the reason, the running configuration stays.
printf '{"service": {"name": "gamma", "port": "nope"}}\n' >"$conf/c.json"
out=$(reload)
check "a reload with a broken file is a 500" \
    sh -c "printf '%s\n' \"\$1\" | grep -q ' 500$'" sh "$out"
check "naming the file and what is wrong" \
    sh -c "printf '%s\n' \"\$1\" | grep -q '^Failed to reload configs: .*c.json.*port'" \
    sh "$out"
check "the services stay as they were" [ "$(services)" = '["alpha","api"]' ]
"$CONSULCTL" reload -http-addr="127.0.0.1:$http_port" >"$test_tmp/out" \
    2>"$test_tmp/err"
check "consulctl reload then exits 1" [ $? -eq 1 ]
check "with Consul's message" \
    grep -q '^Error reloading: Unexpected response code: 500 (Failed to reload configs' \
    "$test_tmp/err"
check "the agent still answers" \
    [ "$(curl -s "$url/v1/agent/services" | jq .alpha.Port)" = 1001 ]

# Fixed, by SIGHUP this time.
printf '{"service": {"name": "gamma", "port": 3000}}\n' >"$conf/c.json"
kill -HUP "$agent_pid"
check "SIGHUP picks up the fixed file" \
    poll 15 sh -c "[ \"\$(curl -s '$url/v1/agent/services' | jq -c keys)\" = \
    '[\"alpha\",\"api\",\"gamma\"]' ]"

kill -TERM "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null
wait "$agent_pid"
check "the agent stops cleanly" [ $? -eq 0 ]
tap_done
