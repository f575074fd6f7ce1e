#!/bin/sh
# ?filter and ?near on a single server: each endpoint that takes a
# filter keeps only the elements it matches (catalog nodes, services,
# service, node; health node, checks, service, state; agent services
# and checks), errors are 400 with Consul's text, every field the
# answers carry is a valid selector, blocking queries keep their index,
# and ?near sorts by the estimated round-trip time from the named node.
. "$(dirname "$0")/../lib/agent.sh"

agent_start_server 30 "$test_tmp/agent.log" "$test_tmp/data"
url="http://127.0.0.1:$http_port"
wait_leader_at "$url/v1"

put() { curl -s -X PUT --data-binary "$2" "$url/v1/$1"; }
# f PATH EXPR: GET PATH with ?filter=EXPR.
f() { curl -s -G --data-urlencode "filter=$2" "$url/v1/$1"; }
# fcode PATH EXPR: the status code and the body on one line.
fcode() {
	curl -s -G -w ' %{http_code}' --data-urlencode "filter=$2" "$url/v1/$1"
}

i=0
until [ "$(curl -s "$url/v1/catalog/service/consul" | jq length)" = 1 ] ||
    [ $i -gt 50 ]; do
	sleep 0.1; i=$((i + 1))
done

check "register n1 with web-1, passing" \
    [ "$(put catalog/register '{"Node":"n1","Address":"10.1.0.1",
    "NodeMeta":{"rack":"r1","a-b":"x"},"Service":{"Service":"web","ID":"web-1",
    "Tags":["primary","v1"],"Port":8080,"Meta":{"version":"1"}},
    "Check":{"Name":"web alive","CheckID":"service:web-1","ServiceID":"web-1",
    "Status":"passing","Definition":{"HTTP":"http://10.1.0.1:8080/",
    "Interval":"10s","Timeout":"1s"}}}')" = true ]
check "register n2 with web-2, warning, and a critical node check" \
    [ "$(put catalog/register '{"Node":"n2","Address":"10.1.0.2",
    "NodeMeta":{"rack":"r2"},"Service":{"Service":"web","ID":"web-2",
    "Tags":["v2"],"Port":8081,"Meta":{"version":"2"}},
    "Checks":[{"Name":"disk","Status":"critical","Output":"disk full"},
    {"Name":"web slow","CheckID":"service:web-2","ServiceID":"web-2",
    "Status":"warning","Output":"slow"}]}')" = true ]
check "register n3 with db" \
    [ "$(put catalog/register '{"Node":"n3","Address":"10.1.0.3",
    "NodeMeta":{"rack":"r1"},"Service":{"Service":"db","Tags":["primary"],
    "Port":5432}}')" = true ]
check "register api on the agent, with a TTL check" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary \
    '{"Name":"api","Tags":["a"],"Port":9000,"Address":"127.0.0.1",
    "Meta":{"team":"core"},"Check":{"CheckID":"api-ttl","TTL":"300s"}}' \
    "$url/v1/agent/service/register")" = 200 ]
check "and cache" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary \
    '{"Name":"cache","Port":6379}' "$url/v1/agent/service/register")" = 200 ]

# Catalog.
check "catalog/nodes: Meta.rack == r1" \
    [ "$(f catalog/nodes 'Meta.rack == r1' | jq -c '[.[].Node]')" = \
    '["n1","n3"]' ]
check "catalog/nodes: a map key in brackets" \
    [ "$(f catalog/nodes 'Meta["a-b"] == x' | jq -c '[.[].Node]')" = '["n1"]' ]
check "catalog/nodes: not, and, or, parentheses" \
    [ "$(f catalog/nodes 'not (Node == n1 or Node == n2) and
    Address matches "^10\\."' | jq -c '[.[].Node]')" = '["n3"]' ]
check "catalog/service/web: ServiceMeta.version == 2" \
    [ "$(f catalog/service/web 'ServiceMeta.version == 2' |
    jq -c '[.[].ServiceID]')" = '["web-2"]' ]
check "catalog/service/web: a tag and a node meta" \
    [ "$(f catalog/service/web 'primary in ServiceTags and NodeMeta.rack == r1' |
    jq -c '[.[].ServiceID]')" = '["web-1"]' ]
check "catalog/service/web: numbers compare as numbers" \
    [ "$(f catalog/service/web 'ServicePort == 8081' |
    jq -c '[.[].ServiceID]')" = '["web-2"]' ]
check "catalog/service/web: with ?tag too" \
    [ "$(curl -s -G --data-urlencode 'filter=ServicePort != 0' \
    "$url/v1/catalog/service/web?tag=v2" | jq -c '[.[].ServiceID]')" = \
    '["web-2"]' ]
check "catalog/services: names and tags of the instances that match" \
    [ "$(f catalog/services 'ServiceTags contains primary' | jq -c .)" = \
    '{"db":["primary"],"web":["primary","v1"]}' ]
check "catalog/services: ServiceName == web" \
    [ "$(f catalog/services 'ServiceName == web' | jq -c '.web | sort')" = \
    '["primary","v1","v2"]' ]
check "catalog/services: ?node-meta on the instances as well" \
    [ "$(curl -s "$url/v1/catalog/services?node-meta=rack:r2" | jq -c .)" = \
    '{"web":["v2"]}' ]
check "catalog/node/n1: on each service" \
    [ "$(f catalog/node/n1 'Service == db' | jq -c '[.Node.Node, .Services]')" = \
    '["n1",{}]' ]
check "catalog/node/n3: Port == 5432" \
    [ "$(f catalog/node/n3 'Port == 5432' | jq -c '.Services | keys')" = \
    '["db"]' ]
check "catalog/node-services/n1" \
    [ "$(f catalog/node-services/n1 'v1 in Tags' | jq -c '[.Services[].ID]')" = \
    '["web-1"]' ]

# Health.
check "health/node/n2: Status == critical" \
    [ "$(f health/node/n2 'Status == critical' | jq -c '[.[].CheckID]')" = \
    '["disk"]' ]
check "health/checks/web: Status == passing" \
    [ "$(f health/checks/web 'Status == passing' | jq -c '[.[].CheckID]')" = \
    '["service:web-1"]' ]
check "health/checks/web: Definition.HTTP" \
    [ "$(f health/checks/web 'Definition.HTTP contains "10.1.0.1"' |
    jq -c '[.[].CheckID]')" = '["service:web-1"]' ]
check "health/service/web: any check critical" \
    [ "$(f health/service/web 'Checks.Status == critical' |
    jq -c '[.[].Service.ID]')" = '["web-2"]' ]
check "health/service/web: no check critical" \
    [ "$(f health/service/web 'Checks.Status != critical' |
    jq -c '[.[].Service.ID]')" = '["web-1"]' ]
check "health/service/web: Service and Node fields" \
    [ "$(f health/service/web 'Service.Port == 8080 and Node.Meta.rack == r1' |
    jq -c '[.[].Service.ID]')" = '["web-1"]' ]
check "health/service/web: with ?passing" \
    [ "$(curl -s -G --data-urlencode 'filter=Service.Tags is not empty' \
    "$url/v1/health/service/web?passing" | jq -c '[.[].Service.ID]')" = \
    '["web-1"]' ]
check "health/state/any: Node == n2" \
    [ "$(f health/state/any 'Node == n2' | jq -c '[.[].CheckID]')" = \
    '["disk","service:web-2"]' ]
check "health/state/any: Output matches" \
    [ "$(f health/state/any 'Output matches "(?i)^DISK"' |
    jq -c '[.[].CheckID]')" = '["disk"]' ]

# The agent's own.
check "agent/services: Service == api" \
    [ "$(f agent/services 'Service == api' | jq -c 'keys')" = '["api"]' ]
check "agent/services: Meta and TaggedAddresses" \
    [ "$(f agent/services 'Meta.team == core and
    TaggedAddresses.lan_ipv4.Port == 9000' | jq -c 'keys')" = '["api"]' ]
check "agent/services: Tags is empty" \
    [ "$(f agent/services 'Tags is empty' | jq -c 'keys')" = '["cache"]' ]
check "agent/checks: ServiceName == api" \
    [ "$(f agent/checks 'ServiceName == api and Type == ttl' |
    jq -c 'keys')" = '["api-ttl"]' ]
check "agent/service/api takes no filter: it is not a list" \
    [ "$(curl -s -G --data-urlencode 'filter=Service == nope' \
    "$url/v1/agent/service/api" | jq -r .ID)" = api ]

# Errors.
prefix="Failed to create boolean expression evaluator:"
check "an unknown selector: 400 with Consul's text" \
    [ "$(fcode catalog/nodes 'Bogus == 1')" = \
    "$prefix Selector \"Bogus\" is not valid 400" ]
check "even where nothing would be matched" \
    [ "$(fcode catalog/service/nope 'ServiceNme == web')" = \
    "$prefix Selector \"ServiceNme\" is not valid 400" ]
check "a field of another endpoint's elements" \
    [ "$(fcode health/service/web 'ServiceName == web')" = \
    "$prefix Selector \"ServiceName\" is not valid 400" ]
check "agent/checks: an unknown selector" \
    [ "$(fcode agent/checks 'Checks.Status == x')" = \
    "$prefix Selector \"Checks.Status\" is not valid 400" ]
check "a syntax error: 400" \
    [ "$(fcode health/state/any 'Status ==')" = \
    "$prefix syntax error at column 10: expected a value 400" ]
check "an operator the field has not: 400" \
    [ "$(fcode catalog/service/web 'ServiceTags == x')" = \
    "$prefix Selector \"ServiceTags\" is a list: \"==\" does not apply 400" ]
check "a bad regular expression: 400" \
    sh -c "curl -s -G -w ' %{http_code}' --data-urlencode 'filter=Node matches \"(\"' \
    '$url/v1/catalog/nodes' | grep -q '^$prefix Invalid regular expression .* 400\$'"
long=$(head -c 5000 /dev/zero | tr '\0' ' ')
check "an expression too long: 400" \
    [ "$(fcode catalog/nodes "Node == x$long")" = \
    "$prefix expression longer than 4096 bytes 400" ]
deep=$(printf '%040d' 0 | tr 0 '(')Node==x$(printf '%040d' 0 | tr 0 ')')
check "nested too deep: 400" \
    [ "$(fcode catalog/nodes "$deep")" = \
    "$prefix expression nested deeper than 32 400" ]
big=$(head -c 60000 /dev/zero | tr '\0' a)
for n in 1 2 3; do
	put catalog/register "{\"Node\":\"big$n\",\"Address\":\"10.2.0.$n\",
	    \"Check\":{\"Name\":\"big\",\"Status\":\"passing\",
	    \"Output\":\"$big\"}}" >/dev/null
done
check "patterns that take too long over the results: 400" \
    [ "$(fcode health/state/passing 'Output matches "(.?){200}x"')" = \
    "Failed to evaluate the filter: its regular expressions took too long over these results 400" ]
check "the same pattern over fewer results is fine" \
    [ "$(f health/node/big1 'Output matches "(.?){200}x"')" = '[]' ]
for n in 1 2 3; do
	put catalog/deregister "{\"Node\":\"big$n\"}" >/dev/null
done
check "an empty filter is no filter" \
    [ "$(curl -s "$url/v1/catalog/nodes?filter=" | jq length)" = 4 ]

# Every field of every answer is a selector its endpoint accepts.
# leaves PATH JQ: "type<TAB>selector" for each scalar (and empty list)
# in the elements that JQ picks out of PATH's answer.
leaves() {
	curl -s "$url/v1/$1" | jq -r "$2"' | paths(type == "string" or
	    type == "number" or type == "boolean" or
	    (type == "array" and length == 0)) as $p |
	    [(getpath($p) | type), ($p | map(if type == "number" then
	    ".\(.)" elif test("^[A-Za-z][A-Za-z0-9_/]*$") then ".\(.)"
	    else "[\"\(.)\"]" end) | join("") | ltrimstr("."))] | @tsv' | sort -u
}
# selectors_ok PATH JQ: each leaf's selector passes the parser.
selectors_ok() {
	leaves "$1" "$2" >"$test_tmp/leaves"
	[ -s "$test_tmp/leaves" ] || return 1
	bad=0
	while IFS='	' read -r type sel; do
		case $type in
		number) e="$sel == 0 or $sel != 0" ;;
		boolean) e="$sel == true or $sel == false" ;;
		*) e="$sel is empty or $sel is not empty" ;;
		esac
		c=$(curl -s -o "$test_tmp/body" -w '%{http_code}' -G \
		    --data-urlencode "filter=$e" "$url/v1/$1")
		if [ "$c" != 200 ]; then
			diag "$1: $e: $c $(cat "$test_tmp/body")"
			bad=1
		fi
	done <"$test_tmp/leaves"
	[ $bad = 0 ]
}
check "every field of catalog/nodes is a selector" \
    selectors_ok catalog/nodes '.[]'
check "every field of catalog/service is a selector" \
    selectors_ok catalog/service/web '.[]'
check "every field of catalog/node's services is a selector" \
    selectors_ok catalog/node/n1 '.Services[]'
check "every field of health/checks is a selector" \
    selectors_ok health/checks/web '.[]'
check "every field of health/service is a selector" \
    selectors_ok health/service/web '.[]'
check "every field of agent/services is a selector" \
    selectors_ok agent/services '.[]'
check "every field of agent/checks is a selector" \
    selectors_ok agent/checks '.[]'

# Blocking queries: the index is the same with and without a filter,
# and a filtered query blocks and wakes on the data it filters.
index() {
	curl -s -D - -o /dev/null -G ${2:+--data-urlencode "filter=$2"} \
	    "$url/v1/$1" | tr -d '\r' | sed -n 's/^X-Consul-Index: //Ip'
}
check "catalog/services: the same X-Consul-Index with a filter" \
    [ "$(index catalog/services 'ServiceName == web')" = \
    "$(index catalog/services)" ]
check "health/service/web: the same X-Consul-Index with a filter" \
    [ "$(index health/service/web 'Checks.Status == critical')" = \
    "$(index health/service/web)" ]
idx=$(index health/service/web)
curl -s -G --data-urlencode 'filter=Checks.Status == critical' \
    "$url/v1/health/service/web?index=$idx&wait=30s" >"$test_tmp/blocked" &
bpid=$!
sleep 0.5
put catalog/register '{"Node":"n2","Address":"10.1.0.2","SkipNodeUpdate":true,
    "Check":{"Name":"disk","Status":"passing"}}' >/dev/null
wait $bpid
check "a filtered blocking query wakes on a change and filters it" \
    [ "$(jq -c '[.[].Service.ID]' "$test_tmp/blocked")" = '[]' ]

# ?near sorts by the round-trip time the coordinates estimate: put the
# nodes on a line, node30 at 0 and n1, n2, n3 1, 2 and 3 ms from it.
for n in node30:0 n1:0.001 n2:0.002 n3:0.003; do
	put coordinate/update '{"Node":"'"${n%%:*}"'","Segment":"","Coord":
	    {"Vec":['"${n#*:}"',0,0,0,0,0,0,0],"Error":0.2,"Adjustment":0,
	    "Height":0.00001}}' >/dev/null
done
coords_in() {
	[ "$(curl -s "$url/v1/coordinate/nodes" | jq -c '[.[] |
	    select(.Node != "node30") | .Coord.Vec[0]] | sort')" = \
	    '[0.001,0.002,0.003]' ]
}
check "the coordinates are in the catalog" poll 30 coords_in
check "catalog/nodes?near=_agent: this agent's node first" \
    [ "$(curl -s "$url/v1/catalog/nodes?near=_agent" | jq -c '[.[].Node]')" = \
    '["node30","n1","n2","n3"]' ]
check "catalog/nodes?near=n3" \
    [ "$(curl -s "$url/v1/catalog/nodes?near=n3" | jq -c '[.[].Node]')" = \
    '["n3","n2","n1","node30"]' ]
check "catalog/nodes?near=an unknown node: the usual order" \
    [ "$(curl -s "$url/v1/catalog/nodes?near=nobody" | jq -c '[.[].Node]')" = \
    '["n1","n2","n3","node30"]' ]
check "catalog/service/web?near=n2" \
    [ "$(curl -s "$url/v1/catalog/service/web?near=n2" |
    jq -c '[.[].ServiceID]')" = '["web-2","web-1"]' ]
check "health/service/web?near=n2" \
    [ "$(curl -s "$url/v1/health/service/web?near=n2" |
    jq -c '[.[].Service.ID]')" = '["web-2","web-1"]' ]
check "health/checks/web?near=n2" \
    [ "$(curl -s "$url/v1/health/checks/web?near=n2" |
    jq -c '[.[].Node]')" = '["n2","n1"]' ]
check "health/state/any?near=n2" \
    [ "$(curl -s "$url/v1/health/state/any?near=n2" | jq -r '.[0].Node')" = n2 ]
check "?near with ?filter" \
    [ "$(curl -s -G --data-urlencode 'filter=Node != n1' \
    "$url/v1/catalog/nodes?near=n3" | jq -c '[.[].Node]')" = \
    '["n3","n2","node30"]' ]

# consulctl passes -filter and -near through.
ctl() { "$CONSULCTL" catalog nodes -http-addr=127.0.0.1:$http_port "$@"; }
check "consulctl catalog nodes -filter" \
    [ "$(ctl -filter='Meta.rack == r1' | awk 'NR > 1 { print $1 }' |
    tr '\n' ' ')" = "n1 n3 " ]
check "consulctl catalog nodes -service -filter" \
    [ "$(ctl -service=web -filter='ServicePort == 8081' |
    awk 'NR > 1 { print $1 }')" = n2 ]
check "consulctl catalog nodes -near" \
    [ "$(ctl -near=n2 | awk 'NR == 2 { print $1 }')" = n2 ]
out=$(ctl -filter='Nope == 1' 2>&1)
rc=$?
diag "consulctl: $out"
check "consulctl catalog nodes -filter: the agent's error, status 1" \
    sh -c '[ "$1" = 1 ] && echo "$2" | grep -q "Selector \"Nope\" is not valid"' \
    sh "$rc" "$out"

check "the agent is still up" alive "$agent_pid"
tap_done
