#!/bin/sh
# ACLs on the server RPC port of a cluster: three servers (127.0.0.141
# .. 143) and a client (144), acl.enabled, default deny.  A peer speaks
# the RPC wire itself (regress/lib/rpc_send.py) and asks a follower and
# the leader to remove a server or hand leadership over, without a
# token and with a KV-only one: the leader checks operator:write itself
# and refuses (Permission denied), and the Raft configuration and the
# leader stay as they were.  A management token element gets past the
# ACL.  Coordinates: with sync_coordinate_interval_min 1s no agent has
# an agent token, so /v1/coordinate/nodes stays empty; once consulctl
# acl set-agent-token gives the client a token with node write, the
# client's coordinate comes through its server and appears (read with
# a node read token), and only the client's.  No secret in the logs.
. "$(dirname "$0")/../lib/cluster.sh"

rpc_py="$(dirname "$0")/../lib/rpc_send.py"
src="$(dirname "$0")/../.."
IMSG_RAFT_OP_REQ=$(python3 "$rpc_py" -c "$src/common/imsg_types.h" \
    IMSG_RAFT_OP_REQ)
OP_REMOVE=$(python3 "$rpc_py" -c "$src/raftd/raftd.h" RAFT_OP_REMOVE)
OP_TRANSFER=$(python3 "$rpc_py" -c "$src/raftd/raftd.h" RAFT_OP_TRANSFER)

servers="141 142 143"
client=144
acl='{"primary_datacenter": "dc1", "sync_coordinate_interval_min": "1s",
 "acl": {"enabled": true, "default_policy": "deny"}}'
cluster_init "$servers" "$client" "$acl"
mkdir -p "$cl_dir/conf$client.d"
echo "$acl" >"$cl_dir/conf$client.d/acl.json"
if ! cluster_start; then
	not_ok "the cluster starts and elects a leader"
	cl_keep_logs
	tap_done
	exit 1
fi
leader=$cl_leader
follower=$(others_than "$leader" $servers | cut -d' ' -f1)

tok=""
# req N METHOD PATH [BODY]: sets code and body; with $tok as the token.
req() {
	body=$(curl -s --max-time 10 -w '\n%{http_code}' -X "$2" \
	    ${4:+--data-binary "$4"} ${tok:+-H "X-Consul-Token: $tok"} \
	    "$(cl_url "$1" "/v1/$3")")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}
# rpc N TYPE JSON: one forwarded request on node N's RPC port.
rpc() {
	out=$(python3 "$rpc_py" "127.0.0.$1:$cl_rpc" "$2" "$3" 2>&1)
}
has() { case $out in *"$1"*) ;; *) false ;; esac; }
anon=00000000-0000-0000-0000-000000000002
denied() {
	case $(echo "$out" | jq -r .error) in
	"Permission denied"*) ;; *) false ;; esac
}
anon_denied() { denied && has "AccessorID '$anon'"; }

booted() { req "$leader" PUT acl/bootstrap; [ "$code" = 200 ]; }
poll 15 booted
mgmt=$(echo "$body" | jq -r .SecretID)
check "bootstrap on the leader" [ ${#mgmt} = 36 ]
tok=$mgmt
req "$leader" PUT acl/policy \
    '{"Name":"kv","Rules":"key_prefix \"\" { policy = \"write\" }"}'
req "$leader" PUT acl/token '{"Policies":[{"Name":"kv"}]}'
kvtok=$(echo "$body" | jq -r .SecretID)
req "$leader" PUT acl/policy \
    '{"Name":"nodew","Rules":"node_prefix \"\" { policy = \"write\" }"}'
req "$leader" PUT acl/token '{"Policies":[{"Name":"nodew"}]}'
agtok=$(echo "$body" | jq -r .SecretID)
req "$leader" PUT acl/policy \
    '{"Name":"noder","Rules":"node_prefix \"\" { policy = \"read\" }"}'
req "$leader" PUT acl/token '{"Policies":[{"Name":"noder"}]}'
rdtok=$(echo "$body" | jq -r .SecretID)
check "tokens for KV, node write and node read" \
    [ ${#kvtok} = 36 -a ${#agtok} = 36 -a ${#rdtok} = 36 ]

# confsig: the Raft configuration, leader and voters, as the leader has
# it (in $body); prints it in short.
confsig() {
	req "$leader" GET operator/raft/configuration
	echo "$body" | jq -c '[.Servers[] | .ID, .Node, .Leader, .Voter]'
}
conf0=$(confsig)
req "$leader" GET operator/raft/configuration
check "the Raft configuration has three voters" \
    [ "$(echo "$body" | jq '[.Servers[] | select(.Voter)] | length')" = 3 ]
fid=$(echo "$body" |
    jq -r ".Servers[] | select(.Node == \"f$follower\") | .ID")
check "and names the follower" [ ${#fid} -gt 0 ]

rpc "$follower" $IMSG_RAFT_OP_REQ "[$OP_REMOVE,\"$fid\",\"\"]"
check "a removal without a token, to a follower: refused as anonymous" \
    anon_denied
rpc "$leader" $IMSG_RAFT_OP_REQ "[$OP_REMOVE,\"$fid\",\"\"]"
check "to the leader: refused as anonymous" anon_denied
rpc "$follower" $IMSG_RAFT_OP_REQ "[$OP_REMOVE,\"$fid\",\"\",\"$kvtok\"]"
check "a removal with a KV-only token: refused" denied
rpc "$leader" $IMSG_RAFT_OP_REQ "[$OP_TRANSFER,\"$fid\",\"\"]"
check "a leadership transfer without a token: refused as anonymous" \
    anon_denied
rpc "$follower" $IMSG_RAFT_OP_REQ "[$OP_TRANSFER,\"\",\"\",\"$kvtok\"]"
check "with a KV-only token, through a follower: refused" denied
sleep 1
check "the Raft configuration and the leader are unchanged" \
    [ "$(confsig)" = "$conf0" ]
check "the Raft configuration and the leader are unchanged (2)" \
    [ "$(leader_num "$follower")" = "$leader" ]
rpc "$follower" $IMSG_RAFT_OP_REQ "[$OP_REMOVE,\"nosuch\",\"\",\"$mgmt\"]"
check "a management token element gets past the ACL" \
    has 'id \"nosuch\" was not found'

# Coordinates: no agent has an agent token yet.
sleep 3
tok=$rdtok
req "$leader" GET coordinate/nodes
check "without agent tokens no coordinate reaches the catalog" \
    [ "$code" = 200 -a "$(echo "$body" | jq length)" = 0 ]
out=$(CONSUL_HTTP_ADDR="127.0.0.$client:$cl_http" "$CONSULCTL" acl \
    set-agent-token -token="$mgmt" agent "$agtok" 2>&1)
check "consulctl acl set-agent-token agent on the client" \
    [ "$out" = 'ACL token "agent" set successfully' ]
client_coord() {
	req "$leader" GET coordinate/nodes
	[ "$(echo "$body" | jq -r '[.[].Node] | join(",")')" = "f$client" ] &&
	    [ "$(echo "$body" | jq '.[0].Coord.Vec | length')" = 8 ]
}
check "then the client's coordinate appears, and only the client's" \
    poll 10 client_coord

check_alive "at the end"
check "no secret in the logs" \
    sh -c "! cat '$cl_dir'/n*.log | grep -q -e '$mgmt' -e '$kvtok' \
    -e '$agtok' -e '$rdtok'"
tap_done
