#!/bin/sh
# The gossip operations of the HTTP API between two real agents on
# 127.0.0.1, a server (ops20) and a client (ops21), both started with a
# gossip encryption key: join; user events (fire, list on both agents,
# ?name, filters, blocking, Consul's 400s); force-leave; the keyring
# (list, install, use, remove, kept in data_dir/serf and used again
# after a restart with the old `encrypt`); a leave on SIGTERM and one
# through PUT /v1/agent/leave.  consulctl drives keyring and event.
. "$(dirname "$0")/../lib/agent.sh"

unset CONSUL_HTTP_ADDR CONSUL_HTTP_TOKEN CONSUL_HTTP_TOKEN_FILE
A=20
B=21
uuid_re='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
key1=$("$CONSULCTL" keygen)
key2=$("$CONSULCTL" keygen)
pids=""

# ops_start N [flags...]: agent opsN, data in $test_tmp/dN, log in
# $test_tmp/aN.log; sets pidN.
ops_start() {
	n=$1; shift
	agent_ports "$n"
	"$CONSULD" -d -node="ops$n" -datacenter=dc1 -data-dir="$test_tmp/d$n" \
	    -bind=127.0.0.1 -client=127.0.0.1 -http-port=$http_port \
	    -dns-port=$dns_port -serf-lan-port=$serf_lan_port \
	    -serf-wan-port=$serf_wan_port -server-port=$server_port \
	    -encrypt="$key1" "$@" >>"$test_tmp/a$n.log" 2>&1 &
	eval "pid$n=$!"
	pids="$pids $!"
}

stop_all() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
}
trap 'stop_all; cleanup' EXIT INT TERM

# within SECONDS CMD...: until CMD succeeds, trying every 100 ms.
within() {
	limit=$(( $1 * 10 )); shift; i=0
	while [ $i -lt $limit ]; do
		"$@" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

api() { agent_ports "$1"; echo "http://127.0.0.1:$http_port/v1"; }
addr() { agent_ports "$1"; echo "127.0.0.1:$http_port"; }
serf() { agent_ports "$1"; echo "127.0.0.1:$serf_lan_port"; }
running() { grep -q "agent: running" "$test_tmp/a$1.log"; }

# req N METHOD PATH [curl args...]: sets code and body; headers in
# $test_tmp/h.
req() {
	n=$1; m=$2; p=$3; shift 3
	code=$(curl -s -m 30 -o "$test_tmp/b" -D "$test_tmp/h" \
	    -w '%{http_code}' -X "$m" "$@" "$(api "$n")$p")
	body=$(cat "$test_tmp/b")
}
hdr() { sed -n "s/^$1: *//ip" "$2" | tr -d '\r'; }
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"; diag "got:  $2"; diag "want: $3"
	fi
}
is_uuid() { printf '%s\n' "$1" | grep -Eq "$uuid_re"; }
starts() { case $1 in "$2"*) return 0 ;; esac; return 1; }
# lacks TEXT STRING: STRING is nowhere in TEXT.
lacks() { ! printf '%s\n' "$1" | grep -qF -- "$2"; }
has_line() { printf '%s\n' "$1" | grep -qxF -- "$2"; }
jqt() { jq -e "$@" >/dev/null 2>&1; }

# members N: "name status" lines as agent N sees the LAN pool.
members() {
	curl -s "$(api "$1")/agent/members" |
	    jq -r '.[] | "\(.Name) \(.Status)"' 2>/dev/null | sort
}
sees() { members "$1" | grep -qx "$2"; }
both_alive() {
	[ "$(members $A | grep -c ' 1$')" -eq 2 ] &&
	    [ "$(members $B | grep -c ' 1$')" -eq 2 ]
}

# listed N ID [QUERY]: agent N lists the event ID.
listed() {
	curl -s "$(api "$1")/event/list$3" |
	    jq -e --arg id "$2" 'any(.[]; .ID == $id)' >/dev/null 2>&1
}
not_listed() { ! listed "$@"; }
# fire N NAME [curl args...]: fire on agent N; sets code, body, id.
fire() {
	n=$1; name=$2; shift 2
	req "$n" PUT "/event/fire/$name" "$@"
	id=$(echo "$body" | jq -r .ID 2>/dev/null)
}

# kr N ARGS...: consulctl keyring against agent N; sets rc and out.
kr() {
	n=$1; shift
	out=$("$CONSULCTL" keyring -http-addr="$(addr "$n")" "$@" 2>&1)
	rc=$?
}
# lan_has OUTPUT LINE: the LINE is in the "dc1 (LAN):" block.
lan_has() {
	printf '%s\n' "$1" | sed -n '/^dc1 (LAN):$/,/^$/p' | grep -qxF "$2"
}

# --- start, join ---------------------------------------------------------
ops_start $A -server -bootstrap
ops_start $B
if ! within 15 running $A || ! within 15 running $B; then
	not_ok "both agents start"
	tail -20 "$test_tmp/a$A.log" "$test_tmp/a$B.log" | sed 's/^/# /'
	tap_done; exit 1
fi
ok "both agents start"

req $A GET /event/list
is "a fresh agent lists no events" "$body" "[]"
is "and its event index is 1" "$(hdr X-Consul-Index "$test_tmp/h")" 1

req $A GET "/agent/join/$(serf $B)"
is "GET /v1/agent/join is 405" "$code" 405
req $A PUT "/agent/join/$(serf $B)"
is "PUT /v1/agent/join/<the client's serf address> is 200" "$code" 200
is "with an empty body" "$body" ""
check "both agents see two alive members within 10 s" within 10 both_alive
req $A PUT /agent/join/127.0.0.1:1
is "a join nobody answers is 500" "$code" 500
check "with the reason" [ -n "$body" ]

# --- user events ---------------------------------------------------------
fire $A deploy --data-binary v1.2.3
is "event fire is 200" "$code" 200
check "the ID is a version 4 UUID" is_uuid "$id"
is "the reply is Consul's UserEvent" \
    "$(echo "$body" | jq -c 'del(.ID)')" \
    '{"Name":"deploy","Payload":"djEuMi4z","NodeFilter":"","ServiceFilter":"","TagFilter":"","Version":1,"LTime":0}'
deploy=$id
check "the firing agent lists it within 10 s" within 10 listed $A "$deploy"
check "the other agent lists it within 10 s" within 10 listed $B "$deploy"
req $B GET /event/list
is "listed with its name and payload" \
    "$(echo "$body" | jq -r --arg id "$deploy" \
    '.[] | select(.ID == $id) | "\(.Name) \(.Payload) \(.Version)"')" \
    "deploy djEuMi4z 1"
check "and an LTime from gossip" \
    jqt '.[0].LTime | type == "number"' "$test_tmp/b"

fire $A restart
is "an event with no body has a null Payload" \
    "$(echo "$body" | jq -c .Payload)" null
restart=$id
check "it is listed too" within 10 listed $B "$restart"
req $B GET /event/list
is "the list is oldest first" "$(echo "$body" | jq -r '.[].Name' | tr '\n' ' ')" \
    "deploy restart "
req $B GET "/event/list?name=deploy"
is "?name lists only that name" "$(echo "$body" | jq -r '.[].Name')" deploy
req $B GET "/event/list?name=nothing"
is "?name with no match lists nothing" "$body" "[]"
is "with index 1" "$(hdr X-Consul-Index "$test_tmp/h")" 1

out=$("$CONSULCTL" event -http-addr="$(addr $A)" -name=cli payload)
check "consulctl event prints the ID" is_uuid "${out#Event ID: }"
check "and the event reaches the other agent" within 10 listed $B \
    "${out#Event ID: }"

# A blocking list returns when an event changes its index.
req $B GET /event/list
idx=$(hdr X-Consul-Index "$test_tmp/h")
check "the index is not 1 once there are events" [ "$idx" != 1 ]
curl -s -m 30 -D "$test_tmp/bh" -o "$test_tmp/bb" \
    "$(api $B)/event/list?index=$idx&wait=20s" &
bpid=$!
sleep 1
check "a list with the current ?index blocks" alive $bpid
fire $A wake
wake=$id
check "it returns within 10 s of a new event" within 10 gone $bpid
wait $bpid
check "with the new event" \
    jqt --arg id "$wake" 'any(.[]; .ID == $id)' "$test_tmp/bb"
check "and another index" [ "$(hdr X-Consul-Index "$test_tmp/bh")" != "$idx" ]
t0=$(date +%s%N)
curl -s -m 30 -o /dev/null "$(api $B)/event/list?name=nothing&index=1&wait=2s" &
npid=$!
sleep 0.5
fire $A wake
wait $npid
t1=$(date +%s%N)
check "an event of another name does not wake a ?name list" \
    [ $(( (t1 - t0) / 1000000 )) -ge 1900 ]
req $B GET /event/list
idx=$(hdr X-Consul-Index "$test_tmp/h")
t0=$(date +%s%N)
req $B GET "/event/list?index=$idx&wait=1s"
t1=$(date +%s%N)
check "a blocking list returns after ?wait" \
    [ $(( (t1 - t0) / 1000000 )) -ge 900 -a $(( (t1 - t0) / 1000000 )) -lt 5000 ]
is "with the same index" "$(hdr X-Consul-Index "$test_tmp/h")" "$idx"

# Filters: an event for ops21 only; a service filter no agent passes.
fire $A "only-b?node=%5Eops21%24"
onlyb=$id
is "fire ?node= answers with the filter" \
    "$(echo "$body" | jq -r .NodeFilter)" '^ops21$'
fire $A "service?service=web&tag=v1"
service=$id
fire $A marker
check "ops21 lists the event its node filter selects" \
    within 10 listed $B "$onlyb"
check "ops20 lists a later event" within 10 listed $A "$id"
check "but not the one whose node filter is not its name" \
    not_listed $A "$onlyb"
check "ops21 lists the marker" within 10 listed $B "$id"
check "no agent has a service for a service filter" \
    not_listed $B "$service"
req $A GET "/event/list?node=%5Enobody%24"
is "a list whose ?node does not match this agent is empty" "$body" "[]"

# Consul's 400s, and no event for them.
req $A PUT /event/fire/
is "fire with no name is 400" "$code $body" "400 Missing name"
req $A PUT /event/fire/_rexec
is "a name starting with _ is reserved: 400" "$code" 400
req $A PUT "/event/fire/x?node=%28"
is "a node filter that does not compile is 400" "$code" 400
check "naming the filter" starts "$body" "Invalid node filter: "
req $A PUT "/event/fire/x?service=%5B"
is "a bad service filter is 400" "$code" 400
check "and named" starts "$body" "Invalid service filter: "
req $A PUT "/event/fire/x?tag=v1"
is "a tag filter needs a service filter" "$code $body" \
    "400 Cannot provide tag filter without service filter"
head -c 600 /dev/zero | tr '\0' x >"$test_tmp/big"
req $A PUT /event/fire/x --data-binary @"$test_tmp/big"
is "a name and payload over 512 bytes are 400" "$code $body" \
    "400 user event exceeds configured limit of 512 bytes before encoding"
req $A GET /event/fire/x
is "GET /v1/event/fire is 405" "$code" 405
req $A GET "/event/list?index=x"
is "list ?index=x is 400" "$code $body" "400 Invalid index"
req $A GET "/event/list?wait=soon"
is "list ?wait=soon is 400" "$code $body" "400 Invalid wait time"
req $A GET "/event/list?tag=%28"
is "a list filter that does not compile is 400" "$code" 400

# --- force-leave ---------------------------------------------------------
req $A PUT /agent/force-leave/ghost
is "force-leave of an unknown node is 500" "$code" 500
"$CONSULCTL" force-leave -http-addr="$(addr $A)" ghost >/dev/null 2>&1
is "consulctl force-leave of it exits 1" "$?" 1

# --- keyring -------------------------------------------------------------
kr $A -list
is "keyring -list exits 0" "$rc" 0
check "the LAN pool has the encrypt key on both nodes" \
    lan_has "$out" "  $key1 [2/2]"
check "the server lists a WAN pool too" has_line "$out" "WAN:"
kr $A -install="$key2"
is "keyring -install exits 0" "$rc" 0
kr $B -list
check "the new key is on both nodes, asked from the client" \
    lan_has "$out" "  $key2 [2/2]"
kr $A -use="$key2"
is "keyring -use exits 0" "$rc" 0
kr $B -list-primary
check "it is primary on both nodes" lan_has "$out" "  $key2 [2/2]"
req $A DELETE /operator/keyring --data-binary "{\"Key\":\"$key2\"}"
is "removing the primary key is 500" "$code" 500
kr $A -remove="$key1"
is "keyring -remove exits 0" "$rc" 0
kr $A -list
check "the old key is gone" lacks "$out" "$key1"
check "the new one is there" lan_has "$out" "  $key2 [2/2]"
req $A POST /operator/keyring
is "POST with no body is 400" "$code $body" "400 Request decode failed: EOF"
req $A GET "/operator/keyring?relay-factor=6"
is "relay-factor 6 is 400" "$code $body" \
    "400 Invalid relay-factor: Relay factor must be in range: [0, 5]"
req $A POST "/operator/keyring?local-only=true" --data-binary \
    "{\"Key\":\"$key2\"}"
is "local-only on a write is 400" "$code $body" "400 Invalid use of \
local-only: local-only can only be set for list requests"
req $A PATCH /operator/keyring
is "PATCH is 405" "$code" 405
req $A GET "/operator/keyring?local-only=1"
is "a local-only list is 200" "$code" 200
for n in $A $B; do
	f="$test_tmp/d$n/serf/local.keyring"
	check "ops$n keeps the LAN keyring in data_dir/serf" \
	    sh -c "[ -f '$f' ] && [ \$(stat -c %a '$f') = 600 ]"
	check "ops$n's file has the new key and not the old" \
	    sh -c "grep -qF '$key2' '$f' && ! grep -qF '$key1' '$f'"
done

# --- leave on SIGTERM, restart with the keyring file ---------------------
kill -TERM "$pid21"
if t=$(wait_exit "$pid21" 100); then
	wait "$pid21"
	is "a client leaves and exits 0 on SIGTERM" "$?" 0
	diag "it took $((t * 100)) ms"
else
	not_ok "a client leaves and exits 0 on SIGTERM"
fi
check "the log says the leave completed" \
    grep -q "graceful leave complete" "$test_tmp/a$B.log"
check "ops20 sees ops21 left (status 3) within 10 s" \
    within 10 sees $A "ops21 3"

ops_start $B
if ! within 15 sh -c "[ \$(grep -c 'agent: running' '$test_tmp/a$B.log') -ge 2 ]"; then
	not_ok "ops21 restarts"; tail -20 "$test_tmp/a$B.log" | sed 's/^/# /'
else
	ok "ops21 restarts"
fi
req $B PUT "/agent/join/$(serf $A)"
is "restarted with the old encrypt key, it joins with the file's key" \
    "$code" 200
check "both see two alive members again" within 10 both_alive
kr $B -list-primary
check "the new key is still primary" lan_has "$out" "  $key2 [2/2]"
check "and the old key is not back" lacks "$out" "$key1"

# --- PUT /v1/agent/leave -------------------------------------------------
req $B PUT /agent/leave
is "PUT /v1/agent/leave is 200" "$code" 200
if wait_exit "$pid21" 100 >/dev/null; then
	wait "$pid21"
	is "and the agent exits 0" "$?" 0
else
	not_ok "and the agent exits 0"
fi
check "ops20 sees ops21 left within 10 s" within 10 sees $A "ops21 3"

kill -TERM "$pid20"
if wait_exit "$pid20" 60 >/dev/null; then
	wait "$pid20"
	is "a server exits 0 on SIGTERM" "$?" 0
else
	not_ok "a server exits 0 on SIGTERM"
fi
tap_done
