#!/bin/sh
# consulctl members, join, leave, force-leave, event and keyring: the
# exact output, messages and exit codes of their `consul` namesakes, and
# the method, path, query, headers and body of every request they send.
#
# The agent does not serve /v1/agent/members, /v1/agent/join, leave,
# force-leave, /v1/event/fire or /v1/operator/keyring yet (gossip is
# being built), so these commands run against regress/tools/fakeapi, an
# HTTP server on 127.0.0.1 that replays recorded Consul-shaped answers
# and logs what it was sent.  This test must switch to a real agent
# (regress/lib/agent.sh) when /v1/agent/members lands; keep the output
# and exit-code checks, and check what the agent did instead of the log.
. "$(dirname "$0")/../lib/tap.sh"

CONSULCTL="$CONSULD_BUILD/consulctl/consulctl"
FAKEAPI="$CONSULD_BUILD/regress/tools/fakeapi"
export ASAN_OPTIONS="abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
unset CONSUL_HTTP_ADDR CONSUL_HTTP_TOKEN CONSUL_HTTP_TOKEN_FILE

test_tmp=$(mktemp -d /tmp/consuld-test.XXXXXX)
api="$test_tmp/api"
log="$test_tmp/requests"
mkdir "$api"
: >"$log"
fake_pid=""
cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
	rm -rf "$test_tmp"
}
trap cleanup EXIT INT TERM

# fake_start LIFETIME OUT: a fakeapi in the background; sets fake_pid
# and fake_port.
fake_start() {
	: >"$2"
	"$FAKEAPI" -t "$1" "$api" "$log" >"$2" 2>&1 &
	fake_pid=$!
	i=0
	while ! grep -q '^port ' "$2"; do
		i=$((i + 1))
		[ $i -ge 50 ] && return 1
		sleep 0.1
	done
	fake_port=$(sed -n 's/^port //p' "$2")
}

# A port nothing listens on: one that a short-lived fakeapi gave back.
if ! fake_start 1 "$test_tmp/dead"; then
	not_ok "fakeapi starts"; cat "$test_tmp/dead"; tap_done; exit 1
fi
dead=$fake_port
wait "$fake_pid"
if ! fake_start 300 "$test_tmp/port"; then
	not_ok "fakeapi starts"; cat "$test_tmp/port"; tap_done; exit 1
fi
ok "fakeapi starts"
export CONSUL_HTTP_ADDR="127.0.0.1:$fake_port"

# routes: dir/routes from stdin, as fakeapi reads it.
routes() { cat >"$api/routes"; }
# c ARGS...: consulctl; sets rc, out and err.
c() {
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
		diag "want: $3"
		diag "err: $err"
		diag "want: $4"
	fi
}
# sent DESC EXPECTED: the requests logged since the last call.
sent() {
	got=$(cat "$log")
	: >"$log"
	if [ "$got" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "sent: $got"
		diag "want: $2"
	fi
}

"$CONSULCTL" --help >"$test_tmp/help"
for cmd in event force-leave join keyring leave members; do
	check "the command list names $cmd" \
	    grep -q "^    $cmd  *[A-Z]" "$test_tmp/help"
done

# --- members -----------------------------------------------------------
# Recorded from Consul 1.17 agents, reordered; db-1 has no build tag (an
# agent older than 0.3), odd-1 an unknown role, cache-1 an IPv6 address
# and db-1 an IPv4-mapped one.
cat >"$api/members.json" <<'EOF'
[{"Name":"web-1","Addr":"10.0.0.21","Port":8301,"Tags":{"build":"1.17.0:4e3f428b","dc":"dc1","id":"c2f3e9ab-6cc5-4e6b-8b56-3cd1a6f0a8b1","role":"node","segment":"","vsn":"2","vsn_max":"3","vsn_min":"2"},"Status":1,"ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,"DelegateCur":4},
 {"Name":"consul-server-b","Addr":"10.0.0.12","Port":8301,"Tags":{"acls":"0","build":"1.17.0:4e3f428b","dc":"dc1","expect":"3","port":"8300","raft_vsn":"3","role":"consul","segment":"","vsn":"2","vsn_max":"3","vsn_min":"2","wan_join_port":"8302"},"Status":1,"ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,"DelegateCur":4},
 {"Name":"consul-server-a","Addr":"10.0.0.11","Port":8301,"Tags":{"build":"1.17.0:4e3f428b","dc":"dc1","port":"8300","role":"consul","vsn":"2"},"Status":1},
 {"Name":"db-1","Addr":"::ffff:10.0.0.31","Port":8301,"Tags":{"dc":"dc1","role":"node","vsn":"2"},"Status":4},
 {"Name":"cache-1","Addr":"fd00:0:0:0:0:0:0:7","Port":18301,"Tags":{"build":"1.16.2","dc":"dc1","role":"node","vsn":"2"},"Status":3},
 {"Name":"odd-1","Addr":"10.0.0.41","Port":8301,"Tags":{"role":"nomad"},"Status":2}]
EOF
cat >"$api/members-wan.json" <<'EOF'
[{"Name":"consul-server-c.dc2","Addr":"192.0.2.3","Port":8302,"Tags":{"build":"1.17.0:4e3f428b","dc":"dc2","role":"consul","vsn":"2"},"Status":1},
 {"Name":"consul-server-a.dc1","Addr":"10.0.0.11","Port":8302,"Tags":{"build":"1.17.0:4e3f428b","dc":"dc1","role":"consul","vsn":"2"},"Status":1}]
EOF
cat >"$api/members-one.json" <<'EOF'
[{"Name":"consul-server-a","Addr":"10.0.0.11","Port":8301,"Tags":{"build":"1.17.0:4e3f428b","dc":"dc1","role":"consul","segment":"","vsn":"2"},"Status":1},
 {"Name":"web-1","Addr":"10.0.0.21","Port":8301,"Tags":{"build":"1.17.0:4e3f428b","dc":"dc1","role":"node","segment":"alpha","vsn":"2"},"Status":1}]
EOF
echo 'Network segments are not supported in this version of Consul' \
    >"$api/segments.txt"
echo '[{"Name":"x","Port":"8301"}]' >"$api/members-badport.json"
echo '{"Name":"x"}' >"$api/members-object.json"
echo '[] trailing' >"$api/members-garbage.json"
echo '[]' >"$api/empty.json"
routes <<'EOF'
GET /v1/agent/members?segment=_all 200 members.json
GET /v1/agent/members?segment=_all&wan=1 200 members-wan.json
GET /v1/agent/members?segment=alpha 200 members-one.json
GET /v1/agent/members?filter=Name%20%3D%3D%20web-1&segment=_all 200 empty.json
GET /v1/agent/members?segment=nope 500 segments.txt
GET /v1/agent/members?segment=badport 200 members-badport.json
GET /v1/agent/members?segment=object 200 members-object.json
GET /v1/agent/members?segment=garbage 200 members-garbage.json
EOF

c members
is "members: servers first, then by segment and name" 0 \
"Node             Address          Status   Type     Build   Protocol  DC   Partition  Segment
consul-server-a  10.0.0.11:8301   alive    server   1.17.0  2         dc1  default    <all>
consul-server-b  10.0.0.12:8301   alive    server   1.17.0  2         dc1  default    <all>
cache-1          [fd00::7]:18301  left     client   1.16.2  2         dc1  default    <default>
db-1             10.0.0.31:8301   failed   client   < 0.3   2         dc1  default    <default>
odd-1            10.0.0.41:8301   leaving  unknown                                    
web-1            10.0.0.21:8301   alive    client   1.17.0  2         dc1  default    <default>" ""
sent "members asks for every segment" \
    "GET /v1/agent/members?segment=_all"
check "members ends with one newline and pads no last column" \
    [ "$(tail -c 11 "$test_tmp/out" | od -An -c | tr -d ' ')" = '<default>\n' ]

c members -detailed
is "members -detailed: sorted tags, with Consul's ap and segment" 0 \
"Node             Address          Status   Tags
consul-server-a  10.0.0.11:8301   alive    ap=default,build=1.17.0:4e3f428b,dc=dc1,port=8300,role=consul,segment=<all>,vsn=2
consul-server-b  10.0.0.12:8301   alive    acls=0,ap=default,build=1.17.0:4e3f428b,dc=dc1,expect=3,port=8300,raft_vsn=3,role=consul,segment=<all>,vsn=2,vsn_max=3,vsn_min=2,wan_join_port=8302
cache-1          [fd00::7]:18301  left     ap=default,build=1.16.2,dc=dc1,role=node,segment=<default>,vsn=2
db-1             10.0.0.31:8301   failed   ap=default,dc=dc1,role=node,segment=<default>,vsn=2
odd-1            10.0.0.41:8301   leaving  ap=default,role=nomad,segment=<default>
web-1            10.0.0.21:8301   alive    ap=default,build=1.17.0:4e3f428b,dc=dc1,id=c2f3e9ab-6cc5-4e6b-8b56-3cd1a6f0a8b1,role=node,segment=<default>,vsn=2,vsn_max=3,vsn_min=2" ""
sent "members -detailed sends the same request" \
    "GET /v1/agent/members?segment=_all"

c members -status=fail
is "members -status is an unanchored regexp" 0 \
"Node  Address         Status  Type    Build  Protocol  DC   Partition  Segment
db-1  10.0.0.31:8301  failed  client  < 0.3  2         dc1  default    <default>" ""
c members -status='^(left|leaving)$' -detailed
is "members -status with alternation and -detailed" 0 \
"Node     Address          Status   Tags
cache-1  [fd00::7]:18301  left     ap=default,build=1.16.2,dc=dc1,role=node,segment=<default>,vsn=2
odd-1    10.0.0.41:8301   leaving  ap=default,role=nomad,segment=<default>" ""
c members -status=none
is "members: nothing matched exits 2 and prints nothing" 2 "" ""
c members -status='('
check "members: a bad -status regexp exits 1" [ "$rc" = 1 ]
check "members: a bad -status regexp is named" \
    sh -c "printf '%s\n' \"\$1\" | grep -q '^Failed to compile status regexp: '" \
    sh "$err"
sent "members: nothing is sent for a bad regexp" \
"GET /v1/agent/members?segment=_all
GET /v1/agent/members?segment=_all
GET /v1/agent/members?segment=_all"

c members -wan
is "members -wan" 0 \
"Node                 Address         Status  Type    Build   Protocol  DC   Partition  Segment
consul-server-a.dc1  10.0.0.11:8302  alive   server  1.17.0  2         dc1  default    <all>
consul-server-c.dc2  192.0.2.3:8302  alive   server  1.17.0  2         dc2  default    <all>" ""
sent "members -wan adds wan=1" "GET /v1/agent/members?segment=_all&wan=1"

c members -segment=alpha
is "members -segment: servers are no longer <all>" 0 \
"Node             Address         Status  Type    Build   Protocol  DC   Partition  Segment
consul-server-a  10.0.0.11:8301  alive   server  1.17.0  2         dc1  default    <default>
web-1            10.0.0.21:8301  alive   client  1.17.0  2         dc1  default    alpha" ""
sent "members -segment sends the segment" \
    "GET /v1/agent/members?segment=alpha"

c members -filter='Name == web-1' -token=s3cret
is "members: an empty answer exits 2" 2 "" ""
sent "members -filter and -token are sent" \
    "GET /v1/agent/members?filter=Name%20%3D%3D%20web-1&segment=_all token=s3cret"

c members -segment=nope
is "members: an error answer" 1 "" "Error retrieving members: Unexpected \
response code: 500 (Network segments are not supported in this version of \
Consul)"
c members -segment=badport
is "members: a Port that is not a number" 1 "" "Error retrieving members: \
json: cannot unmarshal string into Go struct field AgentMember.Port of type \
uint16"
c members -segment=object
is "members: an answer that is not an array" 1 "" "Error retrieving \
members: json: cannot unmarshal object into Go value of type \
[]*api.AgentMember"
c members -segment=garbage
check "members: an answer that is not JSON" sh -c \
    "[ '$rc' = 1 ] && grep -q '^Error retrieving members: ' '$test_tmp/err'"
: >"$log"
c members -http-addr="127.0.0.1:$dead"
is "members: agent not reachable" 1 "" "Error retrieving members: Get \
\"http://127.0.0.1:$dead/v1/agent/members?segment=_all\": dial tcp \
127.0.0.1:$dead: connect: connection refused"
c members -http-addr=ftp://x
is "members: unknown scheme" 1 "" \
    "Error connecting to Consul agent: Unknown protocol scheme: ftp"
c members -bogus
is "members: unknown flag" 1 "" "flag provided but not defined: -bogus"
check "members -h exits 0" sh -c "'$CONSULCTL' members -h >/dev/null"

# --- join, leave, force-leave --------------------------------------------
printf '1 error occurred:\n\t* Failed to join 10.0.0.99:8301: dial tcp 10.0.0.99:8301: i/o timeout\n\n' \
    >"$api/join-timeout.txt"
echo 'Permission denied' >"$api/denied.txt"
echo "No node found with name 'ghost'" >"$api/ghost.txt"
routes <<'EOF'
PUT /v1/agent/join/10.0.0.99 500 join-timeout.txt
PUT /v1/agent/join/10.0.0.98 403 denied.txt
PUT /v1/agent/join/* 200 -
PUT /v1/agent/leave 200 -
PUT /v1/agent/force-leave/ghost 500 ghost.txt
PUT /v1/agent/force-leave/* 200 -
EOF

c join 10.0.0.11 10.0.0.12:8301
is "join: every address joined" 0 \
    "Successfully joined cluster by contacting 2 nodes." ""
sent "join: one PUT per address" \
"PUT /v1/agent/join/10.0.0.11
PUT /v1/agent/join/10.0.0.12:8301"
c join 10.0.0.11 10.0.0.99
is "join: one of two failed" 0 \
    "Successfully joined cluster by contacting 1 nodes." \
    "$(printf "Error joining address '10.0.0.99': Unexpected response code: 500 (1 error occurred:\n\t* Failed to join 10.0.0.99:8301: dial tcp 10.0.0.99:8301: i/o timeout)")"
c join 10.0.0.99 10.0.0.98
is "join: none joined" 1 "" \
    "$(printf "Error joining address '10.0.0.99': Unexpected response code: 500 (1 error occurred:\n\t* Failed to join 10.0.0.99:8301: dial tcp 10.0.0.99:8301: i/o timeout)\nError joining address '10.0.0.98': Unexpected response code: 403 (Permission denied)\nFailed to join any nodes.")"
: >"$log"
c join -wan '[2001:db8::1]:8302' 'host name'
is "join -wan" 0 "Successfully joined cluster by contacting 2 nodes." ""
sent "join -wan adds wan=1 and escapes the address" \
"PUT /v1/agent/join/%5B2001:db8::1%5D:8302?wan=1
PUT /v1/agent/join/host%20name?wan=1"
c join
is "join: no address" 1 "" "At least one address to join must be \
specified.

Usage: consulctl join [options] address ..."
c join -http-addr="127.0.0.1:$dead" 10.0.0.11
is "join: agent not reachable" 1 "" "Error joining address '10.0.0.11': \
Put \"http://127.0.0.1:$dead/v1/agent/join/10.0.0.11\": dial tcp \
127.0.0.1:$dead: connect: connection refused
Failed to join any nodes."
c join -http-addr=ftp://x 10.0.0.11
is "join: unknown scheme" 1 "" \
    "Error connecting to Consul agent: Unknown protocol scheme: ftp"
sent "join: nothing sent without an address or an agent" ""

c leave
is "leave" 0 "Graceful leave complete" ""
sent "leave PUTs /v1/agent/leave" "PUT /v1/agent/leave"
c leave now please
is "leave: unexpected arguments" 1 "" "Error found unexpected args: \
[now please]

Usage: consulctl leave [options]"
c leave -http-addr="127.0.0.1:$dead"
is "leave: agent not reachable" 1 "" "Error leaving: Put \
\"http://127.0.0.1:$dead/v1/agent/leave\": dial tcp 127.0.0.1:$dead: \
connect: connection refused"

c force-leave node-9
is "force-leave is silent" 0 "" ""
c force-leave -prune node-9
is "force-leave -prune is silent" 0 "" ""
c force-leave -wan node-9.dc2
is "force-leave -wan is silent" 0 "" ""
c force-leave -prune -wan node-9.dc2
is "force-leave -prune -wan is silent" 0 "" ""
sent "force-leave: path and query" \
"PUT /v1/agent/force-leave/node-9
PUT /v1/agent/force-leave/node-9?prune=1
PUT /v1/agent/force-leave/node-9.dc2?wan=1
PUT /v1/agent/force-leave/node-9.dc2?prune=1&wan=1"
c force-leave ghost
is "force-leave: an unknown node" 1 "" "Error force leaving: Unexpected \
response code: 500 (No node found with name 'ghost')"
c force-leave
is "force-leave: no node" 1 "" "A single node name must be specified to \
force leave.

Usage: consulctl force-leave [options] name"
c force-leave a b
is "force-leave: two nodes" 1 "" "A single node name must be specified to \
force leave.

Usage: consulctl force-leave [options] name"

# --- event ---------------------------------------------------------------
cat >"$api/self.json" <<'EOF'
{"Config":{"Datacenter":"dc1","NodeName":"web-1","NodeID":"c2f3e9ab-6cc5-4e6b-8b56-3cd1a6f0a8b1","Server":false}}
EOF
cat >"$api/event.json" <<'EOF'
{"ID":"b54fe110-7af5-cafc-d1fb-afc8ba432b1c","Name":"deploy","Payload":"djEuMi4z","NodeFilter":"^web-","ServiceFilter":"api","TagFilter":"v1","Version":1,"LTime":0}
EOF
echo '{"ID":7}' >"$api/event-badid.json"
routes <<'EOF'
GET /v1/agent/self 200 self.json
PUT /v1/event/fire/forbidden 403 denied.txt
PUT /v1/event/fire/badid 200 event-badid.json
PUT /v1/event/fire/* 200 event.json
EOF
: >"$log"
c event -name=deploy -node='^web-' -service=api -tag=v1 v1.2.3
is "event prints the ID" 0 "Event ID: b54fe110-7af5-cafc-d1fb-afc8ba432b1c" ""
sent "event: agent check, then the filters and payload" \
"GET /v1/agent/self
PUT /v1/event/fire/deploy?node=%5Eweb-&service=api&tag=v1 ct=application/octet-stream body=v1.2.3"
c event -name=restart
is "event without payload or filters" 0 \
    "Event ID: b54fe110-7af5-cafc-d1fb-afc8ba432b1c" ""
sent "event: no query and no body" \
"GET /v1/agent/self
PUT /v1/event/fire/restart ct=application/octet-stream"
c event -name='a b' -service=web 'two
lines'
sent "event: the name escaped, the payload as it is" \
"GET /v1/agent/self
PUT /v1/event/fire/a%20b?service=web ct=application/octet-stream body=two\\nlines"
c event
is "event: no name" 1 "" "Event name must be specified

Usage: consulctl event [options] [payload]"
c event -name=x -tag=v1
is "event: -tag without -service" 1 "" \
    "Cannot provide tag filter without service filter."
c event -name=x a b
is "event: two payloads" 1 "" "Too many command line arguments.

Usage: consulctl event [options] [payload]"
c event -name=x -node='('
check "event: a bad -node regexp" sh -c \
    "[ '$rc' = 1 ] && grep -q '^Failed to compile node filter regexp: ' '$test_tmp/err'"
sent "event: nothing sent for bad arguments" ""
c event -name=forbidden
is "event: an error answer" 1 "" "Error firing event: Unexpected response \
code: 403 (Permission denied)"
c event -name=badid
is "event: an ID that is not a string" 1 "" "Error firing event: json: \
cannot unmarshal non-string into Go struct field UserEvent.ID of type string"
sent "event: the agent is asked before every fire" \
"GET /v1/agent/self
PUT /v1/event/fire/forbidden ct=application/octet-stream
GET /v1/agent/self
PUT /v1/event/fire/badid ct=application/octet-stream"
c event -name=x -http-addr="127.0.0.1:$dead"
is "event: agent not reachable" 1 "" "Error querying Consul agent: Get \
\"http://127.0.0.1:$dead/v1/agent/self\": dial tcp 127.0.0.1:$dead: \
connect: connection refused"

# --- keyring -------------------------------------------------------------
k1='pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s='
k2='HS5lJ+XuTlYKWaeGYyG+/A=='
cat >"$api/keyring.json" <<EOF
[{"WAN":true,"Datacenter":"dc1","Segment":"","Messages":{},"Keys":{"$k1":1,"$k2":3},"PrimaryKeys":{"$k2":3},"NumNodes":3},
 {"WAN":false,"Datacenter":"dc1","Segment":"","Messages":{},"Keys":{"$k2":5},"PrimaryKeys":{"$k2":5},"NumNodes":5},
 {"WAN":false,"Datacenter":"dc1","Segment":"alpha","Messages":null,"Keys":{"$k2":2},"PrimaryKeys":{"$k2":2},"NumNodes":2},
 {"WAN":false,"Datacenter":"dc1","Segment":"","Partition":"part1","Keys":{"$k2":1},"PrimaryKeys":{"$k2":1},"NumNodes":1}]
EOF
cat >"$api/keyring-failed.json" <<EOF
[{"WAN":false,"Datacenter":"dc1","Segment":"","Error":"1/3 nodes reported failure","Messages":{"web-2":"No installed keys could decrypt the message","web-1":"Key not installed"},"Keys":{"$k2":2},"PrimaryKeys":{"$k2":2},"NumNodes":3}]
EOF
printf '2 errors occurred:\n\t* dc1 (LAN) error: 1/3 nodes reported failure\n\t* web-2: Removing the primary key is not allowed\n\n' \
    >"$api/keyring-error.txt"
routes <<'EOF'
GET /v1/operator/keyring?relay-factor=5 200 keyring-failed.json
GET /v1/operator/keyring* 200 keyring.json
POST /v1/operator/keyring 200 -
PUT /v1/operator/keyring 200 -
DELETE /v1/operator/keyring?relay-factor=1 500 keyring-error.txt
DELETE /v1/operator/keyring 200 -
EOF

c keyring -list
is "keyring -list: every pool, keys with node counts" 0 \
"==> Gathering installed encryption keys...

WAN:
  $k2 [3/3]
  $k1 [1/3]

dc1 (LAN):
  $k2 [5/5]

dc1 (LAN) [alpha]:
  $k2 [2/2]

dc1 (LAN) [partition: part1]:
  $k2 [1/1]" ""
sent "keyring -list GETs the keyring" "GET /v1/operator/keyring"
c keyring -list-primary -local-only -relay-factor=2
is "keyring -list-primary" 0 \
"==> Gathering installed primary encryption keys...

WAN:
  $k2 [3/3]

dc1 (LAN):
  $k2 [5/5]

dc1 (LAN) [alpha]:
  $k2 [2/2]

dc1 (LAN) [partition: part1]:
  $k2 [1/1]" ""
sent "keyring -local-only -relay-factor are sent" \
    "GET /v1/operator/keyring?local-only=true&relay-factor=2"
c keyring -list -relay-factor=5
is "keyring -list: failures per pool, exit 1" 1 \
"==> Gathering installed encryption keys...

dc1 (LAN):
  ===> web-1: Key not installed
  ===> web-2: No installed keys could decrypt the message
  $k2 [2/3]" \
"dc1 (LAN) error: 1/3 nodes reported failure
web-1: Key not installed
web-2: No installed keys could decrypt the message"
: >"$log"

c keyring -install="$k1"
is "keyring -install" 0 "==> Installing new gossip encryption key..." ""
c keyring -use="$k1"
is "keyring -use" 0 "==> Changing primary gossip encryption key..." ""
c keyring -remove="$k2"
is "keyring -remove" 0 "==> Removing gossip encryption key..." ""
sent "keyring: POST, PUT and DELETE with the key as JSON" \
"POST /v1/operator/keyring ct=application/json body={\"Key\":\"$k1\"}\\n
PUT /v1/operator/keyring ct=application/json body={\"Key\":\"$k1\"}\\n
DELETE /v1/operator/keyring ct=application/json body={\"Key\":\"$k2\"}\\n"
c keyring -remove="$k2" -relay-factor=1
is "keyring: an error answer lists the failures" 1 \
    "==> Removing gossip encryption key..." \
    "$(printf 'error: Unexpected response code: 500 (2 errors occurred:\n\t* dc1 (LAN) error: 1/3 nodes reported failure\n\t* web-2: Removing the primary key is not allowed)')"
sent "keyring: -relay-factor on a write" \
    "DELETE /v1/operator/keyring?relay-factor=1 ct=application/json body={\"Key\":\"$k2\"}\\n"
c keyring
check "keyring: no action exits 1" [ "$rc" = 1 ]
check "keyring: no action prints the usage" \
    grep -q '^Usage: consulctl keyring' "$test_tmp/err"
c keyring -list -install="$k1"
is "keyring: two actions" 1 "" "Only a single action is allowed"
c keyring -list -relay-factor=6
is "keyring: relay factor out of range" 1 "" "Error parsing relay factor: \
Relay factor must be in range: [0, 5]"
c keyring -install="$k1" -local-only
is "keyring: -local-only on a write" 1 "" "Error validating local-only: \
local-only can only be set for list requests"
sent "keyring: nothing sent for bad arguments" ""
c keyring -list -http-addr="127.0.0.1:$dead"
is "keyring: agent not reachable" 1 \
    "==> Gathering installed encryption keys..." "error: Get \
\"http://127.0.0.1:$dead/v1/operator/keyring\": dial tcp 127.0.0.1:$dead: \
connect: connection refused"

# --- keygen, for -install ------------------------------------------------
c keygen
check "keygen: 32 random bytes in base64" sh -c \
    "[ '$rc' = 0 ] && [ \$(printf '%s' '$out' | base64 -d | wc -c) = 32 ] && [ \${#1} = 44 ]" \
    sh "$out"

# --- no leaks, no invalid accesses ---------------------------------------
if [ "$CONSULD_BUILD_LABEL" = normal ] && command -v valgrind >/dev/null; then
	routes <<'EOF'
GET /v1/agent/members?segment=_all 200 members.json
GET /v1/agent/members?segment=nope 500 segments.txt
GET /v1/agent/members?segment=badport 200 members-badport.json
PUT /v1/agent/join/10.0.0.99 500 join-timeout.txt
PUT /v1/agent/join/* 200 -
PUT /v1/agent/leave 200 -
PUT /v1/agent/force-leave/* 200 -
GET /v1/agent/self 200 self.json
PUT /v1/event/fire/* 200 event.json
GET /v1/operator/keyring?relay-factor=5 200 keyring-failed.json
GET /v1/operator/keyring* 200 keyring.json
POST /v1/operator/keyring 200 -
DELETE /v1/operator/keyring 500 keyring-error.txt
EOF
	for args in "members" "members -detailed -status=a" \
	    "members -segment=nope" "members -segment=badport" \
	    "members -status=none" "join 10.0.0.11 10.0.0.99" "leave" \
	    "force-leave -prune node-9" "event -name=deploy -node=web x" \
	    "keyring -list" "keyring -list -relay-factor=5" \
	    "keyring -install=$k1" "keyring -remove=$k2" \
	    "members -http-addr=127.0.0.1:$dead"; do
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
