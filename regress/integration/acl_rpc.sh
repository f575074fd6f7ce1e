#!/bin/sh
# ACLs on the server RPC port: one server, acl.enabled, default deny.
# A peer speaks the RPC wire to :8300 itself (regress/lib/rpc_send.py)
# and forwards writes with no token element, as an agent of old or a
# hostile one would: a catalog registration and deregistration, a
# session create and destroy, a coordinate batch, and Raft peer
# removal and leadership transfer are each refused as the anonymous
# token's (Permission denied), and nothing changes, read back through
# curl with the management token; the same requests with a management
# token element do reach the catalog or Raft, so the refusals are the
# ACLs'.  A KV-only token is refused them too; so are a KV write and an
# ACL policy write without a token, and a second bootstrap; a malformed
# request costs its sender the connection.
# Coordinates under ACLs: with sync_coordinate_interval_min 1s the
# server's own coordinate stays out of /v1/coordinate/nodes while it
# has no agent token, and appears once consulctl acl set-agent-token
# gives it one with node write.  The server stays up; no secret is
# logged.
. "$(dirname "$0")/../lib/agent.sh"

rpc_py="$(dirname "$0")/../lib/rpc_send.py"
src="$(dirname "$0")/../.."
# const FILE NAME: a constant of the sources (a message type, an op).
const() { python3 "$rpc_py" -c "$src/$1" "$2"; }
for c in IMSG_KV_WRITE IMSG_CAT_WRITE IMSG_RAFT_OP_REQ CAT_WRITE_REGISTER \
    CAT_WRITE_DEREGISTER CAT_WRITE_SESSION_CREATE CAT_WRITE_SESSION_DESTROY \
    CAT_WRITE_COORD_BATCH CAT_WRITE_ACL; do
	eval "$c=\$(const common/imsg_types.h $c)"
done
for c in RAFT_OP_REMOVE RAFT_OP_TRANSFER; do
	eval "$c=\$(const raftd/raftd.h $c)"
done
for c in ACL_OP_BOOTSTRAP ACL_OP_POLICY_SET; do
	eval "$c=\$(const raftd/acl_state.h $c)"
done
W_REGISTER=$CAT_WRITE_REGISTER W_DEREGISTER=$CAT_WRITE_DEREGISTER
W_SESSION_CREATE=$CAT_WRITE_SESSION_CREATE
W_SESSION_DESTROY=$CAT_WRITE_SESSION_DESTROY
W_COORD_BATCH=$CAT_WRITE_COORD_BATCH W_ACL=$CAT_WRITE_ACL
OP_REMOVE=$RAFT_OP_REMOVE OP_TRANSFER=$RAFT_OP_TRANSFER

n=76
node=node$n
data="$test_tmp/data"
cat >"$test_tmp/acl.json" <<'JSON'
{"primary_datacenter": "dc1", "sync_coordinate_interval_min": "1s",
 "acl": {"enabled": true, "default_policy": "deny"}}
JSON
agent_start_server $n "$test_tmp/agent.log" "$data" \
    -config-file="$test_tmp/acl.json"
url="http://127.0.0.1:$http_port/v1"
export CONSUL_HTTP_ADDR=127.0.0.1:$http_port
unset CONSUL_HTTP_TOKEN CONSUL_HTTP_TOKEN_FILE

tok=""
# req METHOD PATH [BODY]: sets code and body; with $tok as the token.
req() {
	body=$(curl -s --max-time 10 -w '\n%{http_code}' -X "$1" \
	    ${3:+--data-binary "$3"} ${tok:+-H "X-Consul-Token: $tok"} \
	    "$url/$2")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}
# rpc TYPE JSON: one forwarded request on the RPC port; sets out.
rpc() {
	out=$(python3 "$rpc_py" "$server_port" "$1" "$2" 2>&1)
}
has() { case $out in *"$1"*) ;; *) false ;; esac; }
# A write's answer is [ok, error, ...]; a Raft op's {"error", "id"}.
wrote() { [ "$(echo "$out" | jq -r '.[0]')" = true ]; }
refused() {
	[ "$(echo "$out" | jq -r '.[0]')" = false ] && has "Permission denied"
}
op_refused() {
	case $(echo "$out" | jq -r .error) in
	"Permission denied"*) ;; *) false ;; esac
}
# Refused, and as the anonymous token's.
anon=00000000-0000-0000-0000-000000000002
anon_refused() { refused && has "AccessorID '$anon'"; }
anon_op_refused() { op_refused && has "AccessorID '$anon'"; }

booted() { req PUT acl/bootstrap; [ "$code" = 200 ]; }
poll 15 booted
mgmt=$(echo "$body" | jq -r .SecretID)
check "bootstrap gives a management token" [ "$code" = 200 ]
tok=$mgmt
registered() {
	req GET "health/node/$node"
	echo "$body" | grep -q serfHealth
}
check "the leader registers itself" poll 15 registered
req PUT acl/policy \
    '{"Name":"kv","Rules":"key_prefix \"\" { policy = \"write\" }"}'
req PUT acl/token '{"Policies":[{"Name":"kv"}]}'
kvtok=$(echo "$body" | jq -r .SecretID)
req PUT acl/policy \
    '{"Name":"nodew","Rules":"node_prefix \"\" { policy = \"write\" }"}'
req PUT acl/token '{"Policies":[{"Name":"nodew"}]}'
agtok=$(echo "$body" | jq -r .SecretID)
req PUT acl/policy \
    '{"Name":"noder","Rules":"node_prefix \"\" { policy = \"read\" }"}'
req PUT acl/token '{"Policies":[{"Name":"noder"}]}'
rdtok=$(echo "$body" | jq -r .SecretID)
check "tokens for KV, node write and node read" \
    [ ${#kvtok} = 36 -a ${#agtok} = 36 -a ${#rdtok} = 36 ]

# Catalog register and deregister.
reg='{"node":{"n":"evil","a":"10.0.0.9"},"skip":false,"svc":null,"checks":[]}'
rpc $IMSG_CAT_WRITE "[$W_REGISTER,$reg]"
check "a registration without a token is refused" anon_refused
req GET catalog/node/evil
check "and registers nothing" [ "$body" = null ]
rpc $IMSG_CAT_WRITE "[$W_REGISTER,$reg,\"$kvtok\"]"
check "nor with a KV token" refused
reg2='{"node":{"n":"good","a":"10.0.0.8"},"skip":false,"svc":null,"checks":[]}'
rpc $IMSG_CAT_WRITE "[$W_REGISTER,$reg2,\"$mgmt\"]"
check "a registration with a management token element works" wrote
req GET catalog/node/good
check "a registration with a management token element works (2)" \
    [ "$(echo "$body" | jq -r .Node.Address)" = 10.0.0.8 ]
rpc $IMSG_CAT_WRITE "[$W_DEREGISTER,{\"node\":\"good\"}]"
check "a deregistration without a token is refused" anon_refused
req GET catalog/node/good
check "and the node stays" [ "$(echo "$body" | jq -r .Node.Node)" = good ]

# Sessions.
req PUT session/create "{\"Node\":\"$node\"}"
sess=$(echo "$body" | jq -r .ID)
check "a session is made through the API" [ "$code" = 200 ]
rpc $IMSG_CAT_WRITE "[$W_SESSION_DESTROY,\"$sess\"]"
check "a session destroy without a token is refused" anon_refused
req GET "session/info/$sess"
check "and the session stays" [ "$(echo "$body" | jq -r '.[0].ID')" = "$sess" ]
fake=11111111-2222-3333-4444-555555555555
se="{\"id\":\"$fake\",\"n\":\"$node\",\"b\":\"release\"}"
rpc $IMSG_CAT_WRITE "[$W_SESSION_CREATE,$se]"
check "a session create without a token is refused" anon_refused
req GET "session/info/$fake"
check "and makes no session" [ "$(echo "$body" | jq length)" = 0 ]
rpc $IMSG_CAT_WRITE "[$W_SESSION_DESTROY,\"$sess\",\"$mgmt\"]"
check "a destroy with a management token element works" wrote
req GET "session/info/$sess"
check "a destroy with a management token element works (2)" \
    [ "$(echo "$body" | jq length)" = 0 ]

# Raft: the leader checks operator:write itself.
req GET operator/raft/configuration
conf0=$(echo "$body" | jq -c '[.Servers[] | .ID, .Leader, .Voter]')
sid=$(echo "$body" | jq -r '.Servers[0].ID')
check "the Raft configuration names the server" [ ${#sid} = 36 ]
rpc $IMSG_RAFT_OP_REQ "[$OP_REMOVE,\"$sid\",\"\"]"
check "a peer removal without a token is refused" anon_op_refused
rpc $IMSG_RAFT_OP_REQ "[$OP_REMOVE,\"$sid\",\"\",\"$kvtok\"]"
check "nor with a KV-only token" op_refused
rpc $IMSG_RAFT_OP_REQ "[$OP_TRANSFER,\"\",\"\"]"
check "a leadership transfer without a token is refused" anon_op_refused
rpc $IMSG_RAFT_OP_REQ "[$OP_TRANSFER,\"$sid\",\"\",\"$kvtok\"]"
check "nor with a KV-only token" op_refused
req GET operator/raft/configuration
check "the Raft configuration is unchanged" \
    [ "$(echo "$body" | jq -c '[.Servers[] | .ID, .Leader, .Voter]')" = \
    "$conf0" ]
rpc $IMSG_RAFT_OP_REQ "[$OP_REMOVE,\"nosuch\",\"\",\"$mgmt\"]"
check "a management token element gets past the ACL" \
    has 'id \"nosuch\" was not found'

# KV and ACL writes, for good measure: anonymous may do neither, and
# bootstrap is done.
rpc $IMSG_KV_WRITE '[[0,"rpc/x","v",0,0,""]]'
check "a KV write without a token is refused" anon_refused
req GET kv/rpc/x
check "and writes nothing" [ "$code" = 404 ]
pol='{"id":"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa","n":"sneaky","r":""}'
rpc $IMSG_CAT_WRITE "[$W_ACL,[$ACL_OP_POLICY_SET,$pol,0]]"
check "an ACL policy write without a token is refused" anon_refused
req GET acl/policies
check "and makes no policy" [ "$code" = 200 -a \
    "$(echo "$body" | jq '[.[] | select(.Name == "sneaky")] | length')" = 0 ]
boot='{"a":"bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb",
 "s":"cccccccc-cccc-cccc-cccc-cccccccccccc",
 "p":["00000000-0000-0000-0000-000000000001"]}'
rpc $IMSG_CAT_WRITE "[$W_ACL,[$ACL_OP_BOOTSTRAP,$boot,0]]"
check "a second bootstrap over RPC is refused" \
    has 'ACL bootstrap no longer allowed'
tok=cccccccc-cccc-cccc-cccc-cccccccccccc
req GET acl/token/self
check "and its token does not exist" [ "$code" = 403 ]
tok=$mgmt

# Coordinates.  The server has no agent token yet: its own syncs (every
# 1-2 s) are the anonymous token's and refused, as is a batch sent here.
coord='[[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5],1.5,0.0,0.001]'
rpc $IMSG_CAT_WRITE "[$W_COORD_BATCH,[[\"$node\",\"\",$coord]]]"
check "a coordinate batch without a token is refused" anon_refused
rpc $IMSG_CAT_WRITE "[$W_COORD_BATCH,[[\"$node\",\"\",$coord]],\"$kvtok\"]"
check "nor with a KV token" refused
sleep 4
tok=$rdtok
req GET coordinate/nodes
check "without an agent token the server's coordinate stays out" \
    [ "$code" = 200 -a "$(echo "$body" | jq length)" = 0 ]
out=$("$CONSULCTL" acl set-agent-token -token="$mgmt" agent "$agtok" 2>&1)
check "consulctl acl set-agent-token agent" \
    [ "$out" = 'ACL token "agent" set successfully' ]
has_coord() {
	req GET coordinate/nodes
	[ "$(echo "$body" | jq -r '.[0].Node')" = "$node" ] &&
	    [ "$(echo "$body" | jq '.[0].Coord.Vec | length')" = 8 ]
}
check "with the agent token its coordinate appears" poll 10 has_coord
tok=""
req GET coordinate/nodes
check "anonymous does not see it" [ "$(echo "$body" | jq length)" = 0 ]

rpc $IMSG_CAT_WRITE "[$W_REGISTER]"
check "a malformed write costs its sender the connection" [ "$out" = closed ]
rpc $IMSG_RAFT_OP_REQ "[$OP_TRANSFER,\"\"]"
check "so does a malformed Raft op" [ "$out" = closed ]
check "the server is still up" alive "$agent_pid"
check "no crash logged" sh -c "! grep -E \
    'fatal|AddressSanitizer|runtime error:|terminated by signal' \
    '$test_tmp/agent.log'"
tok=$mgmt
req GET status/leader
check "and has a leader" [ "$code" = 200 -a "$body" != '""' ]
check "no secret in the log" \
    sh -c "! grep -q -e '$mgmt' -e '$kvtok' -e '$agtok' -e '$rdtok' \
    '$test_tmp/agent.log'"
tap_done
