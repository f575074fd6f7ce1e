#!/bin/sh
# consulctl services register/deregister, maint and watch against a real
# -dev agent: services from flags and from JSON and YAML definition
# files reach the agent and, through anti-entropy, the catalog; bad
# input and agent errors give a message and exit 1; maintenance mode for
# the node and a service shows in the agent's checks and takes instances
# out of ?passing; watch prints a view once, or runs a handler with the
# view on stdin each time it changes.
. "$(dirname "$0")/../lib/agent.sh"

agent_start 20 "$test_tmp/agent.log"
if ! wait_for_log "agent: running"; then
	not_ok "dev agent starts"; cat "$agent_log"; tap_done; exit 1
fi
ok "dev agent starts"
export CONSUL_HTTP_ADDR="127.0.0.1:$http_port"
unset CONSUL_HTTP_TOKEN CONSUL_HTTP_TOKEN_FILE
api="http://127.0.0.1:$http_port/v1"
watch_pid=""
stop_watch() {
	if [ -n "$watch_pid" ]; then
		kill "$watch_pid" 2>/dev/null
		wait "$watch_pid" 2>/dev/null
		watch_pid=""
	fi
}
trap 'stop_watch; cleanup' EXIT INT TERM

check "the agent elects itself" \
    poll 15 sh -c "curl -s '$api/status/leader' | grep -q ':'"

# run ARGS...: sets rc, out and err.
run() {
	"$CONSULCTL" "$@" >"$test_tmp/out" 2>"$test_tmp/err"
	rc=$?
	out=$(cat "$test_tmp/out")
	err=$(cat "$test_tmp/err")
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
# fails DESC PATTERN: the last run exited 1, printed nothing on stdout
# and PATTERN (a case pattern) on stderr.
fails() {
	# shellcheck disable=SC2254
	case $err in
	$2) if [ "$rc" = 1 ] && [ -z "$out" ]; then ok "$1"; return; fi ;;
	esac
	not_ok "$1"
	diag "rc $rc, out: $out"
	diag "err: $err"
}
in_catalog() {
	curl -s "$api/catalog/service/$1" |
	    jq -e ".[] | select(.ServiceID == \"$2\")" >/dev/null
}
not_in_catalog() {
	[ "$(curl -s "$api/catalog/service/$1" |
	    jq "[.[] | select(.ServiceID == \"$2\")] | length")" = 0 ]
}
agent_has() {
	curl -s "$api/agent/services" | jq -e "has(\"$1\")" >/dev/null
}

# services register from flags
run services register -name=web -id=web1 -address=127.0.0.1 -port=8080 \
    -tag=v1 -tag=primary -meta=team=a -meta=tier=front
is "register from flags" 0 "Registered service: web" ""
check "the agent has it, as the flags said" \
    [ "$(curl -s "$api/agent/services" | jq -c '.web1 | [.ID, .Service,
    .Address, .Port, .Tags, .Meta.team, .Meta.tier]')" = \
    '["web1","web","127.0.0.1",8080,["v1","primary"],"a","front"]' ]
check "anti-entropy puts it in the catalog" poll 15 in_catalog web web1
check "with its port and tags" \
    [ "$(curl -s "$api/catalog/service/web" | jq -c '.[] |
    select(.ServiceID == "web1") | [.ServicePort, .ServiceTags]')" = \
    '[8080,["v1","primary"]]' ]
run services register -name=plain
is "register with only a name" 0 "Registered service: plain" ""
check "its ID is its name" agent_has plain

# services register from files
cat >"$test_tmp/svcs.json" <<EOF
{"services": [
  {"name": "db", "port": 5432, "tags": ["primary"],
   "checks": [{"ttl": "300s", "status": "passing"},
              {"tcp": "127.0.0.1:$http_port", "interval": "10s",
               "failures_before_critical": 2}]},
  {"name": "cache", "id": "cache1", "address": "127.0.0.2",
   "weights": {"passing": 3, "warning": 1}}]}
EOF
run services register "$test_tmp/svcs.json"
is "register a JSON file with two services" 0 "Registered service: db
Registered service: cache" ""
check "both are registered" \
    [ "$(curl -s "$api/agent/services" | jq -c '[.db.Port, .db.Tags,
    .cache1.Service, .cache1.Address, .cache1.Weights.Passing]')" = \
    '[5432,["primary"],"cache","127.0.0.2",3]' ]
check "with the file's checks, named as the agent names them" \
    [ "$(curl -s "$api/agent/checks" | jq -c '[.["service:db:1"] |
    .Status, .Type], [.["service:db:2"] | .Type]')" = \
    '["passing","ttl"]
["tcp"]' ]
file_in_catalog() { in_catalog db db && in_catalog cache cache1; }
check "the file's services reach the catalog" poll 15 file_in_catalog
check "with the port of the file" \
    [ "$(curl -s "$api/catalog/service/db" | jq '.[0].ServicePort')" = 5432 ]
printf 'service:\n  name: yml\n  port: 7000\n  tags: [a]\n  check:\n    ttl: 300s\n    status: passing\n' >"$test_tmp/y.yaml"
run services register "$test_tmp/y.yaml"
is "register a YAML file" 0 "Registered service: yml" ""
check "the YAML service is registered" \
    [ "$(curl -s "$api/agent/services" | jq -c '.yml | [.Port, .Tags]')" = \
    '[7000,["a"]]' ]

# services register errors
run services register
is "register with nothing" 1 "" \
    "Service registration requires at least one argument or flags."
run services register -port=80 -tag=x
is "register without a name" 1 "" \
    "Service registration requires at least one argument or flags."
run services register -name=x "$test_tmp/svcs.json"
is "register with a name and a file" 1 "" \
    "Service registration requires arguments or flags, not both."
run services register -name=x -port=abc
is "register with a port that is not a number" 1 "" \
    'invalid value "abc" for flag -port: parse error'
run services register -name=bad -port=70000
is "register with a port out of range: the agent's 400" 1 "" \
    'Error registering service "bad": Unexpected response code: 400 (Request decode failed: invalid Port)'
check "and nothing is registered" sh -c "! curl -s '$api/agent/services' |
    jq -e 'has(\"bad\")' >/dev/null"
run services register -name=x -meta=novalue
is "register with a -meta that has no =" 1 "" \
    'invalid value "novalue" for flag -meta: Missing "=" value in argument: novalue'
run services register "$test_tmp/nonexistent.json"
is "register a file that does not exist" 1 "" \
    "Error: $test_tmp/nonexistent.json: No such file or directory"
echo 'service { name = "h" }' >"$test_tmp/s.hcl"
run services register "$test_tmp/s.hcl"
is "register an HCL file" 1 "" \
    "Error: $test_tmp/s.hcl: HCL is not supported, use JSON or YAML"
echo '{"service": {"name": "u", "bogus": 1}}' >"$test_tmp/unknown.json"
run services register "$test_tmp/unknown.json"
is "register a file with an unknown key" 1 "" \
    "Error: $test_tmp/unknown.json:1: unknown key \"service.bogus\""
echo '{"service": {"port": 1}}' >"$test_tmp/noname.json"
run services register "$test_tmp/noname.json"
fails "register a file whose service has no name" "Error: *missing service name"
echo '{"datacenter": "dc1"}' >"$test_tmp/none.json"
run services register "$test_tmp/none.json"
fails "register a file without a service" "Error: no service definition*"
echo '{"service": {"name": ' >"$test_tmp/broken.json"
run services register "$test_tmp/broken.json"
fails "register a file that is not JSON" "Error: $test_tmp/broken.json:*"
run services register -http-addr=127.0.0.1:1 -name=x
fails "register with no agent" \
    'Error registering service "x": Put "http://127.0.0.1:1/v1/agent/service/register": dial tcp 127.0.0.1:1: connect: connection refused'

# services deregister
run services deregister -id=plain
is "deregister -id" 0 "Deregistered service: plain" ""
check "the agent no longer has it" sh -c "! curl -s '$api/agent/services' |
    jq -e 'has(\"plain\")' >/dev/null"
run services deregister "$test_tmp/svcs.json"
is "deregister the services of a file" 0 "Deregistered service: db
Deregistered service: cache1" ""
check "they leave the catalog" \
    poll 15 sh -c "[ \"\$(curl -s '$api/catalog/service/db')\" = '[]' ] &&
    [ \"\$(curl -s '$api/catalog/service/cache')\" = '[]' ]"
check "and their checks the agent" \
    [ "$(curl -s "$api/agent/checks" | jq -c '[keys[] |
    select(startswith("service:db"))]')" = '[]' ]
run services deregister -id=nope
is "deregister an unknown ID" 1 "" \
    'Error deregistering service "nope": Unexpected response code: 404 (Unknown service ID "nope". Ensure that the service ID is passed, not the service name.)'
run services deregister
is "deregister with nothing" 1 "" \
    "Service deregistration requires at least one argument or -id."
run services deregister -id=x "$test_tmp/y.yaml"
is "deregister with -id and a file" 1 "" \
    "Service deregistration requires arguments or -id, not both."
run services deregister "$test_tmp/nonexistent.json"
is "deregister a file that does not exist" 1 "" \
    "Error: $test_tmp/nonexistent.json: No such file or directory"
check "web1 is still in the catalog" in_catalog web web1

# maint
passing_count() {
	curl -s "$api/health/service/$1?passing" | jq length
}
passing_is() { [ "$(passing_count "$1")" = "$2" ]; }
check "web1 is passing before maintenance" poll 15 passing_is web 1
run maint
is "maint lists nothing when nothing is in maintenance" 0 "" ""
run maint -enable -reason="disk swap"
is "maint -enable" 0 "Node maintenance is now enabled" ""
check "the agent has a critical _node_maintenance check with the reason" \
    [ "$(curl -s "$api/agent/checks" | jq -c '._node_maintenance |
    [.Status, .Notes, .Name]')" = \
    '["critical","disk swap","Node Maintenance Mode"]' ]
check "the node's instances drop out of ?passing" poll 15 passing_is web 0
run maint
is "maint lists the node" 0 "Node:
  Name:   node20
  Reason: disk swap" ""
run maint -disable
is "maint -disable" 0 "Node maintenance is now disabled" ""
check "the check is gone" [ "$(curl -s "$api/agent/checks" |
    jq 'has("_node_maintenance")')" = false ]
check "the instance is back in ?passing" poll 15 passing_is web 1
run maint -enable -service=web1 -reason=upgrade
is "maint -enable -service" 0 \
    'Service maintenance is now enabled for "web1"' ""
check "the agent has a critical _service_maintenance:web1 check" \
    [ "$(curl -s "$api/agent/checks" | jq -c '.["_service_maintenance:web1"] |
    [.Status, .Notes, .ServiceID]')" = '["critical","upgrade","web1"]' ]
check "the service drops out of ?passing" poll 15 passing_is web 0
check "yml, not in maintenance, stays in ?passing" passing_is yml 1
run maint -enable
run maint
is "maint lists the node and the service" 0 "Node:
  Name:   node20
  Reason: Maintenance mode is enabled for this node via the API

Service:
  ID:     web1
  Reason: upgrade" ""
run maint -disable -service=web1
is "maint -disable -service" 0 \
    'Service maintenance is now disabled for "web1"' ""
run maint -disable
check "the service is back in ?passing" poll 15 passing_is web 1
run maint -enable -service=nope
is "maint on an unknown service" 1 "" \
    'Error enabling service maintenance: Unexpected response code: 404 (Unknown service ID "nope")'
run maint -enable -disable
is "maint -enable -disable" 1 "" \
    "Only one of -enable or -disable may be provided"
run maint -reason=x
is "maint -reason without -enable" 1 "" \
    "Reason may only be provided with -enable"
run maint -service=web1
is "maint -service alone" 1 "" \
    "Service requires either -enable or -disable"
run maint extra
is "maint with an argument" 1 "" "Too many arguments (expected 0, got 1)"
run maint -http-addr=127.0.0.1:1
fails "maint with no agent" 'Error querying Consul agent: *connection refused'

# watch without a handler: the view, once
run watch -type=services
check "watch -type=services exits 0" [ "$rc" = 0 ]
check "and prints the catalog's services as JSON" \
    [ "$(jq -c '[has("consul"), .web, .yml]' "$test_tmp/out")" = \
    '[true,["v1","primary"],["a"]]' ]
check "indented with four spaces, as consul prints it" \
    grep -q '^    "web": \[$' "$test_tmp/out"
run watch -type=key -key=w/k
is "watch on a key that does not exist prints null" 0 "null" ""
"$CONSULCTL" kv put w/other x >/dev/null
run watch -type=keyprefix -prefix=w/
check "watch -type=keyprefix prints the pairs" \
    [ "$rc" = 0 -a "$(jq -r '.[].Key' "$test_tmp/out")" = w/other ]
run watch -type=service -service=web -passingonly
check "watch -type=service -passingonly prints the healthy instances" \
    [ "$rc" = 0 -a "$(jq -r '.[].Service.ID' "$test_tmp/out")" = web1 ]
yml_check_in_catalog() {
	[ "$(curl -s "$api/health/checks/yml" | jq -r '.[].CheckID')" = \
	    service:yml ]
}
check "yml's check is in the catalog" poll 15 yml_check_in_catalog
run watch -type=checks -service=yml
check "watch -type=checks -service" \
    [ "$rc" = 0 -a "$(jq -r '.[].CheckID' "$test_tmp/out")" = service:yml ]
run watch -type=checks -state=critical
check "watch -type=checks -state" \
    [ "$rc" = 0 -a "$(jq -r '.[].CheckID' "$test_tmp/out")" = "" ]
run watch -type=nodes
check "watch -type=nodes" \
    [ "$rc" = 0 -a "$(jq -r '.[].Node' "$test_tmp/out")" = node20 ]

# watch with a handler: it runs once at the start, then on each change.
runs() { grep -c '^CONSUL_INDEX=' "$test_tmp/handler.out" 2>/dev/null; }
runs_are() { [ "$(runs)" = "$1" ]; }
"$CONSULCTL" watch -type=key -key=w/k \
    "cat >>'$test_tmp/handler.out'; echo CONSUL_INDEX=\$CONSUL_INDEX >>'$test_tmp/handler.out'" \
    >"$test_tmp/watch.out" 2>"$test_tmp/watch.err" &
watch_pid=$!
check "the handler runs at the start" poll 15 runs_are 1
check "with null for a key that does not exist" \
    [ "$(head -1 "$test_tmp/handler.out")" = null ]
"$CONSULCTL" kv put w/k one >/dev/null
check "a write to the key runs it again" poll 15 runs_are 2
"$CONSULCTL" kv put w/unrelated x >/dev/null
"$CONSULCTL" kv put w/k two >/dev/null
check "a third time for the next write" poll 15 sh -c \
    "tail -2 '$test_tmp/handler.out' | head -1 | jq -r .Value |
    base64 -d | grep -qx two"
check "but not for a write to another key" runs_are 3
check "the handler gets the key's pair as JSON on stdin" \
    [ "$(sed -n 3p "$test_tmp/handler.out" | jq -c '[.Key, .Value]')" = \
    '["w/k","b25l"]' ]
idx=$(curl -s "$api/kv/w/k" | jq '.[0].ModifyIndex')
check "and CONSUL_INDEX in its environment" \
    [ "$(tail -1 "$test_tmp/handler.out")" = "CONSUL_INDEX=$idx" ]
check "the watch keeps running" alive "$watch_pid"
stop_watch
check "and prints nothing itself" [ ! -s "$test_tmp/watch.out" ]

run watch -type=services 'cat >/dev/null; exit 3'
is "a handler that fails ends the watch" 1 "" \
    "Error executing handler: exit status 3"
run watch -type=services -shell=false "$test_tmp/nonexistent"
is "a handler that cannot be run" 1 "" \
    "Error starting handler: exec: \"$test_tmp/nonexistent\": No such file or directory"
run watch -type=services -shell=false sh -c 'jq -r .yml[0] >"$1"; exit 7' \
    sh "$test_tmp/direct.out"
check "-shell=false runs the handler without a shell" \
    [ "$rc" = 1 -a "$(cat "$test_tmp/direct.out")" = a ]
run watch
is "watch without -type" 1 "" "Must specify watch type"
run watch -type=bogus
is "watch with an unknown type" 1 "" \
    "Error parsing watch: Unsupported watch type: bogus"
run watch -type=key
is "watch -type=key without -key" 1 "" \
    "Error parsing watch: Must specify a single key to watch"
run watch -type=service
is "watch -type=service without -service" 1 "" \
    "Error parsing watch: Must specify a single service to watch"
run watch -type=services -key=x
is "watch with a flag its type does not take" 1 "" \
    "Error parsing watch: Invalid parameters: -key does not apply to -type=services"
run watch -type=checks -service=a -state=any
is "watch -type=checks with -service and -state" 1 "" \
    "Error parsing watch: Cannot specify service and state"
run watch -type=services -http-addr=127.0.0.1:1
fails "watch with no agent" 'Error querying Consul agent: *connection refused'

# No leaks, no invalid accesses.
if [ "$CONSULD_BUILD_LABEL" = normal ] && command -v valgrind >/dev/null; then
	for args in "services register $test_tmp/svcs.json" \
	    "services deregister $test_tmp/svcs.json" \
	    "services register -name=vg -tag=a -meta=k=v" \
	    "services register $test_tmp/unknown.json" "maint" \
	    "watch -type=services" "watch -type=key -key=w/k"; do
		# shellcheck disable=SC2086
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
		    --error-exitcode=99 "$CONSULCTL" $args \
		    >/dev/null 2>"$test_tmp/vg"
		check "valgrind: $args" [ $? -ne 99 ]
	done
else
	skip "valgrind runs (not the normal build, or no valgrind)"
fi

tap_done
