# Two datacenters of real consuld agents on 127.0.0.x, WAN-joined, for
# the multi-datacenter scripts: the nodes, ports, process groups and
# helpers of cluster.sh, with a configuration per node (its datacenter,
# its own servers to join on the LAN, every server of both on the WAN).
#
# Usage: . "$(dirname "$0")/../lib/multidc.sh", then
# mdc_init "DC1 SERVERS" "DC1 CLIENTS" "DC2 SERVERS", mdc_start, the
# checks, tap_done.  $mdc_s1 and $mdc_s2 are the servers of each.
. "$(dirname "$0")/../lib/cluster.sh"

mdc_s1="" mdc_s2="" mdc_wan=""

# mdc_list PORT NODES: "127.0.0.N:PORT", ... as JSON strings.
mdc_list() {
	local s="" a
	for a in $2; do s="$s${s:+, }\"127.0.0.$a:$1\""; done
	echo "$s"
}

# mdc_server_conf N DC SERVERS: node N's configuration, a server of DC
# with the servers listed; the WAN pool is $mdc_wan.
mdc_server_conf() {
	local n=$1 dc=$2 count
	count=$(echo $3 | wc -w)
	cat >"$cl_dir/node$n.json" <<JSON
{"server": true, "datacenter": "$dc", "bootstrap_expect": $count,
 "retry_interval": "1s", "retry_interval_wan": "1s",
 "retry_join": [$(mdc_list "$cl_lan" "$3")],
 "retry_join_wan": [$(mdc_list "$cl_wan" "$mdc_wan")],
 "performance": {"raft_multiplier": 1, "rpc_hold_timeout": "${cl_hold}s"},
 "autopilot": {"server_stabilization_time": "1s",
  "cleanup_dead_servers": false}}
JSON
}

# mdc_init "DC1 SERVERS" "DC1 CLIENTS" "DC2 SERVERS"
mdc_init() {
	local n
	cluster_init "$1 $3" "$2" || return 1
	mdc_s1=$1 mdc_s2=$3 mdc_wan="$1 $3"
	for n in $1; do mdc_server_conf "$n" dc1 "$1"; done
	for n in $3; do mdc_server_conf "$n" dc2 "$3"; done
	for n in $2; do
		cat >"$cl_dir/node$n.json" <<JSON
{"datacenter": "dc1", "retry_interval": "1s",
 "retry_join": [$(mdc_list "$cl_lan" "$1")],
 "performance": {"rpc_hold_timeout": "${cl_hold}s"}}
JSON
	done
}

# mdc_ready: each datacenter has one leader, the clients know it.
mdc_ready() {
	agreed none $mdc_s1 && agreed none $mdc_s2 && client_ready
}

# mdc_start: start every node, wait for both leaders and the clients,
# and for every tree to have its processes.
mdc_start() {
	local n
	for n in $mdc_s1 $mdc_s2 $cl_client; do node_start "$n"; done
	poll 40 mdc_ready || return 1
	for n in $mdc_s1 $mdc_s2 $cl_client; do
		poll 5 node_settled "$n" || return 1
	done
}

# mdc_acl_start MGMT REPL RULES: ACLs across the two datacenters.  Start
# dc1 (its configuration makes MGMT the initial management token), give
# it the replication token REPL with a policy of RULES, then start dc2
# and wait for both; checks each step, and ends the script when a
# datacenter does not come up.
mdc_acl_start() {
	local n u1
	u1=$(cl_url "${mdc_s1%% *}" /v1)
	for n in $mdc_s1; do node_start "$n"; done
	if ! poll 20 agreed none $mdc_s1; then
		not_ok "dc1 elects a leader"
		cl_keep_logs
		tap_done
		exit 1
	fi
	mdc_mkrepl() {
		curl -sf -X PUT -H "X-Consul-Token: $1" --data-binary \
		    "{\"Name\":\"replication\",\"Rules\":\"$3\"}" \
		    "$u1/acl/policy" >/dev/null &&
		    curl -sf -X PUT -H "X-Consul-Token: $1" --data-binary \
		    "{\"SecretID\":\"$2\",\"Description\":\"replication\",
		    \"Policies\":[{\"Name\":\"replication\"}]}" \
		    "$u1/acl/token" >/dev/null
	}
	check "dc1 takes the replication token" poll 10 mdc_mkrepl "$@"
	for n in $mdc_s2; do node_start "$n"; done
	for n in $mdc_s1 $mdc_s2; do
		poll 30 mdc_ready && poll 5 node_settled "$n" && continue
		not_ok "dc2 elects a leader and joins dc1 over the WAN"
		cl_keep_logs
		tap_done
		exit 1
	done
}
